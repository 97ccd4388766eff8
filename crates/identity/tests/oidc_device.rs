//! End-to-end test of the device authorization grant client against a real
//! `oidc-provider` (tests/oidc/provider.js) on the loopback, with headless
//! Chromium driven by playwright-core (tests/oidc/approve.js) as the phone.
//!
//! Needs node, npm and /usr/bin/chromium; a missing tool fails the test.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use banso_identity::oidc::{
    AssuranceLevel, AssuranceSource, Clock, InvalidTokenReason, OidcClient, OidcConfig, OidcError,
    SystemClock,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

const CHROMIUM: &str = "/usr/bin/chromium";
const SCOPE: &str = "openid profile citizen";

fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Installs the node packages once (if node_modules is missing) and checks the tools.
fn ensure_tools() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        for tool in ["node", "npm"] {
            let ok = Command::new(tool)
                .arg("--version")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if !ok {
                return Err(format!("{tool} is missing: install Debian's nodejs and npm"));
            }
        }
        if !std::path::Path::new(CHROMIUM).exists() {
            return Err(format!(
                "{CHROMIUM} is missing: apt-get -o DPkg::Lock::Timeout=600 install -y chromium"
            ));
        }
        let dir = oidc_dir();
        if !dir.join("node_modules/oidc-provider").exists()
            || !dir.join("node_modules/playwright-core").exists()
        {
            let out = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .map_err(|e| format!("npm install: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "npm install failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        Ok(())
    });
    if let Err(e) = ready {
        panic!("{e}");
    }
}

/// The test provider; killed on drop.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start(device_ttl: u64) -> Self {
        ensure_tools();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free loopback port")
            .port();
        let mut child = Command::new("node")
            .arg("provider.js")
            .arg(port.to_string())
            .arg(format!("--device-ttl={device_ttl}"))
            .current_dir(oidc_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node provider.js");
        let stdout = child.stdout.take().expect("provider stdout");
        let mut lines = BufReader::new(stdout).lines();
        let issuer = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(issuer) = line.strip_prefix("READY ") {
                        break issuer.trim().to_owned();
                    }
                }
                other => {
                    let _ = child.kill();
                    panic!("provider.js exited before READY: {other:?}");
                }
            }
        };
        // Keep draining stdout so the provider never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, issuer }
    }

    fn client(&self) -> OidcClient {
        OidcClient::discover(OidcConfig::new(self.issuer.clone())).expect("discovery")
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Virtual time: every sleep advances the clock by what was asked, but really
/// waits at most `real_cap`. Records the requested sleeps.
struct FastClock {
    now: Mutex<SystemTime>,
    real_cap: Duration,
    sleeps: Mutex<Vec<Duration>>,
}

impl FastClock {
    fn new(real_cap: Duration) -> Self {
        Self {
            now: Mutex::new(SystemTime::now()),
            real_cap,
            sleeps: Mutex::new(Vec::new()),
        }
    }
    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for FastClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d.min(self.real_cap));
        *self.now.lock().unwrap() += d;
        self.sleeps.lock().unwrap().push(d);
    }
}

/// A clock that never moves, so only the provider can say the code expired.
struct FrozenClock {
    at: SystemTime,
    real_cap: Duration,
}

impl Clock for FrozenClock {
    fn now(&self) -> SystemTime {
        self.at
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d.min(self.real_cap));
    }
}

fn spawn_phone(uri: &str, decision: &str) -> std::thread::JoinHandle<Output> {
    let uri = uri.to_owned();
    let decision = decision.to_owned();
    std::thread::spawn(move || {
        Command::new("node")
            .arg("approve.js")
            .arg(&uri)
            .arg(&decision)
            .current_dir(oidc_dir())
            .stdin(Stdio::null())
            .output()
            .expect("spawn node approve.js")
    })
}

fn phone_said(out: &Output, expected: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(expected),
        "approve.js: status {:?}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_test_citizen(id: &banso_identity::oidc::OidcIdentity) {
    assert_eq!(id.subject, "vneid-7f3a9c21");
    assert_eq!(id.id_number, "001099012345");
    assert_eq!(id.name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(id.birthdate.as_deref(), Some("1999-03-15"));
    let assurance = id.assurance.as_ref().expect("acr present");
    assert_eq!(assurance.level, AssuranceLevel::High);
    assert_eq!(assurance.source, AssuranceSource::Acr);
    assert_eq!(assurance.raw, "urn:banso:loa:high");
}

fn flip_signature_byte(jwt: &str) -> String {
    let (signed, sig) = jwt.rsplit_once('.').expect("three parts");
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).expect("b64 signature");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn replace_payload(jwt: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut parts: Vec<&str> = jwt.split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    edit(&mut payload);
    let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    parts[1] = &encoded;
    parts.join(".")
}

fn invalid_reason(r: Result<banso_identity::oidc::OidcIdentity, OidcError>) -> InvalidTokenReason {
    match r {
        Err(OidcError::InvalidToken(reason)) => reason,
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

#[test]
fn approve_on_phone_yields_validated_identity_rs256_and_tampering_is_refused() {
    let provider = Provider::start(600);
    let client = provider.client();
    assert_eq!(client.metadata().issuer, provider.issuer);

    let auth = client.start("banso-kiosk", SCOPE).expect("device authorization");
    assert!(!auth.device_code.is_empty());
    assert_eq!(auth.user_code.len(), 9, "mask ****-****: {}", auth.user_code);
    assert_eq!(auth.verification_uri, format!("{}/device", provider.issuer));
    assert_eq!(auth.qr_uri(), auth.verification_uri_complete.as_deref().unwrap());
    assert!(auth.qr_uri().contains(&auth.user_code));
    assert_eq!(auth.interval, Duration::from_secs(5));

    let phone = spawn_phone(auth.qr_uri(), "approve");
    let clock = FastClock::new(Duration::from_millis(300));
    let tokens = client.poll_tokens(&auth, &clock).expect("tokens after approval");
    phone_said(&phone.join().unwrap(), "RESULT approved");
    assert!(clock.sleeps().iter().all(|d| *d == Duration::from_secs(5)));

    let now = SystemTime::now();
    let header = URL_SAFE_NO_PAD
        .decode(tokens.id_token.split('.').next().unwrap())
        .unwrap();
    assert!(String::from_utf8_lossy(&header).contains("\"RS256\""));
    let id = client
        .validate_id_token(&tokens.id_token, "banso-kiosk", None, now)
        .expect("valid ID token");
    assert_test_citizen(&id);

    // A flipped signature byte.
    let reason = invalid_reason(client.validate_id_token(
        &flip_signature_byte(&tokens.id_token),
        "banso-kiosk",
        None,
        now,
    ));
    assert_eq!(reason, InvalidTokenReason::BadSignature);

    // Another ID number under the original signature.
    let forged = replace_payload(&tokens.id_token, |p| {
        p["id_number"] = "079099999999".into();
    });
    let reason = invalid_reason(client.validate_id_token(&forged, "banso-kiosk", None, now));
    assert_eq!(reason, InvalidTokenReason::BadSignature);

    // A token for another client.
    let reason = invalid_reason(client.validate_id_token(&tokens.id_token, "some-other-kiosk", None, now));
    assert_eq!(
        reason,
        InvalidTokenReason::WrongAudience {
            expected: "some-other-kiosk".to_owned(),
            found: vec!["banso-kiosk".to_owned()],
        }
    );

    // Expired: one hour later (the provider's ID token TTL is 300 s, leeway 60 s).
    let reason = invalid_reason(client.validate_id_token(
        &tokens.id_token,
        "banso-kiosk",
        None,
        now + Duration::from_secs(3600),
    ));
    assert_eq!(reason, InvalidTokenReason::Expired);

    // Issued in the future: validating as of an hour ago.
    let reason = invalid_reason(client.validate_id_token(
        &tokens.id_token,
        "banso-kiosk",
        None,
        now - Duration::from_secs(3600),
    ));
    assert_eq!(reason, InvalidTokenReason::IssuedInFuture);

    // A nonce was expected but the token carries none.
    let reason =
        invalid_reason(client.validate_id_token(&tokens.id_token, "banso-kiosk", Some("kiosk-nonce"), now));
    assert_eq!(reason, InvalidTokenReason::NonceMismatch);

    // alg=none with the signature stripped.
    let unsigned = {
        let mut parts = tokens.id_token.split('.');
        let _ = parts.next();
        let payload = parts.next().unwrap();
        format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#))
    };
    let reason = invalid_reason(client.validate_id_token(&unsigned, "banso-kiosk", None, now));
    assert_eq!(
        reason,
        InvalidTokenReason::UnsupportedAlgorithm("none".to_owned())
    );

    // An unknown kid (the JWKS is fetched again, then refused).
    let unknown_kid = {
        let (_, rest) = tokens.id_token.split_once('.').unwrap();
        format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"rotated-away"}"#)
        )
    };
    let reason = invalid_reason(client.validate_id_token(&unknown_kid, "banso-kiosk", None, now));
    assert_eq!(
        reason,
        InvalidTokenReason::UnknownKey(Some("rotated-away".to_owned()))
    );

    // A custom ID number claim name that the provider does not send.
    let mut config = OidcConfig::new(provider.issuer.clone());
    config.id_number_claim = "so_dinh_danh".to_owned();
    let strict = OidcClient::discover(config).unwrap();
    let reason = invalid_reason(strict.validate_id_token(&tokens.id_token, "banso-kiosk", None, now));
    assert_eq!(
        reason,
        InvalidTokenReason::MissingClaim("so_dinh_danh".to_owned())
    );
}

#[test]
fn es256_client_with_slow_down_gets_identity_via_poll() {
    let provider = Provider::start(600);
    let client = provider.client();
    // banso-kiosk-slow signs ID tokens with ES256 and gets one injected slow_down.
    let auth = client
        .start("banso-kiosk-slow", SCOPE)
        .expect("device authorization");
    let phone = spawn_phone(auth.qr_uri(), "approve");
    let clock = FastClock::new(Duration::from_millis(300));
    let id = client.poll(&auth, &clock).expect("identity after approval");
    phone_said(&phone.join().unwrap(), "RESULT approved");
    assert_test_citizen(&id);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.first(), Some(&Duration::from_secs(5)));
    assert!(
        sleeps.iter().skip(1).all(|d| *d == Duration::from_secs(10)),
        "after slow_down the interval grows by 5 s: {sleeps:?}"
    );
    assert!(sleeps.len() >= 2, "{sleeps:?}");
}

#[test]
fn es256_plain_client_validates() {
    let provider = Provider::start(600);
    let client = provider.client();
    let auth = client.start("banso-kiosk-es256", SCOPE).unwrap();
    let phone = spawn_phone(auth.qr_uri(), "approve");
    let clock = FastClock::new(Duration::from_millis(300));
    let tokens = client.poll_tokens(&auth, &clock).unwrap();
    phone_said(&phone.join().unwrap(), "RESULT approved");
    let header = URL_SAFE_NO_PAD
        .decode(tokens.id_token.split('.').next().unwrap())
        .unwrap();
    assert!(String::from_utf8_lossy(&header).contains("\"ES256\""));
    let now = SystemTime::now();
    let id = client
        .validate_id_token(&tokens.id_token, "banso-kiosk-es256", None, now)
        .unwrap();
    assert_test_citizen(&id);
    let reason = invalid_reason(client.validate_id_token(
        &flip_signature_byte(&tokens.id_token),
        "banso-kiosk-es256",
        None,
        now,
    ));
    assert_eq!(reason, InvalidTokenReason::BadSignature);
}

#[test]
fn deny_on_phone_is_denied() {
    let provider = Provider::start(600);
    let client = provider.client();
    let auth = client.start("banso-kiosk", SCOPE).unwrap();
    let phone = spawn_phone(auth.qr_uri(), "deny");
    let clock = FastClock::new(Duration::from_millis(300));
    let result = client.poll(&auth, &clock);
    phone_said(&phone.join().unwrap(), "RESULT denied");
    assert_eq!(result, Err(OidcError::Denied));
}

#[test]
fn nobody_approves_provider_says_expired() {
    // Device code lives 2 s; the frozen clock never reaches the local deadline,
    // so the Expired comes from the provider's expired_token.
    let provider = Provider::start(2);
    let client = provider.client();
    let auth = client.start("banso-kiosk", SCOPE).unwrap();
    assert_eq!(auth.expires_in, Duration::from_secs(2));
    let clock = FrozenClock {
        at: SystemTime::now(),
        real_cap: Duration::from_millis(700),
    };
    let started = Instant::now();
    assert_eq!(client.poll(&auth, &clock), Err(OidcError::Expired));
    // The provider counts whole seconds, so a 2 s code can expire after just over 1 s.
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn nobody_approves_local_deadline_says_expired() {
    let provider = Provider::start(600);
    let client = provider.client();
    let auth = client.start("banso-kiosk", SCOPE).unwrap();
    // 600 s of virtual time in 5 s steps, 10 ms of real time each.
    let clock = FastClock::new(Duration::from_millis(10));
    assert_eq!(client.poll(&auth, &clock), Err(OidcError::Expired));
    assert_eq!(clock.sleeps().len(), 120);
}

#[test]
fn unknown_client_is_a_provider_error_and_system_clock_is_usable() {
    let provider = Provider::start(600);
    let client = provider.client();
    match client.start("no-such-kiosk", SCOPE) {
        Err(OidcError::Provider { error, .. }) => assert_eq!(error, "invalid_client"),
        other => panic!("expected invalid_client, got {other:?}"),
    }
    assert!(SystemClock.now() > SystemTime::UNIX_EPOCH);
}
