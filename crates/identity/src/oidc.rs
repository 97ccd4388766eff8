//! National ID app login over OpenID Connect with the device authorization grant
//! (RFC 8628): the kiosk asks the provider for a device code, shows a QR of
//! `verification_uri_complete`, the citizen approves on the phone, and the kiosk
//! polls the token endpoint until it gets an ID token.
//!
//! The ID token is verified here (JWS RS256 / PS256 / ES256 against the provider's
//! JWKS, then `iss`, `aud`/`azp`, `exp`, `iat`, `nonce`) and mapped to an
//! [`OidcIdentity`]. Everything from the network is untrusted: nothing here
//! panics, every failure is a typed [`OidcError`].

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use signature::Verifier as _;

/// Default polling interval when the provider sends none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// How much a `slow_down` answer adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What the kiosk knows about the provider before talking to it.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer identifier, e.g. `https://id.example.vn`.
    pub issuer: String,
    /// ID token claim that carries the 12-digit citizen ID number.
    pub id_number_claim: String,
    /// ID token claim that carries a level of assurance, looked at before `acr`.
    pub loa_claim: String,
    /// `loa` / `acr` values and the level each means. Matched exactly.
    pub assurance_levels: Vec<(String, AssuranceLevel)>,
    /// Clock skew tolerated on `exp` and `iat`.
    pub leeway: Duration,
    /// Timeout of every HTTP request.
    pub http_timeout: Duration,
    /// Algorithms accepted on ID tokens; never `none` or HMAC.
    pub allowed_algs: Vec<JwsAlg>,
}

impl OidcConfig {
    pub fn new(issuer: impl Into<String>) -> Self {
        let levels = [
            ("1", AssuranceLevel::Low),
            ("2", AssuranceLevel::Substantial),
            ("3", AssuranceLevel::High),
            ("low", AssuranceLevel::Low),
            ("substantial", AssuranceLevel::Substantial),
            ("high", AssuranceLevel::High),
            ("http://eidas.europa.eu/LoA/low", AssuranceLevel::Low),
            (
                "http://eidas.europa.eu/LoA/substantial",
                AssuranceLevel::Substantial,
            ),
            ("http://eidas.europa.eu/LoA/high", AssuranceLevel::High),
            ("urn:banso:loa:low", AssuranceLevel::Low),
            ("urn:banso:loa:substantial", AssuranceLevel::Substantial),
            ("urn:banso:loa:high", AssuranceLevel::High),
        ];
        Self {
            issuer: issuer.into(),
            id_number_claim: "id_number".to_owned(),
            loa_claim: "loa".to_owned(),
            assurance_levels: levels.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            leeway: Duration::from_secs(60),
            http_timeout: Duration::from_secs(10),
            allowed_algs: vec![JwsAlg::Rs256, JwsAlg::Ps256, JwsAlg::Es256],
        }
    }
}

/// Signature algorithms this module verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwsAlg {
    Rs256,
    Ps256,
    Es256,
}

impl JwsAlg {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }
}

/// Level of assurance of the citizen's login, from the `loa` claim or `acr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssuranceLevel {
    Low,
    Substantial,
    High,
    /// A value not in [`OidcConfig::assurance_levels`]; see [`Assurance::raw`].
    Unrecognized,
}

/// Where the assurance came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssuranceSource {
    Loa,
    Acr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    pub level: AssuranceLevel,
    pub source: AssuranceSource,
    /// The claim value as sent.
    pub raw: String,
}

/// The citizen as the provider vouches for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcIdentity {
    pub subject: String,
    pub id_number: String,
    pub name: Option<String>,
    /// As sent (OIDC: `YYYY-MM-DD`, `0000-MM-DD` or `YYYY`).
    pub birthdate: Option<String>,
    pub assurance: Option<Assurance>,
}

/// The provider's answer to the device authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    pub client_id: String,
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub expires_in: Duration,
    pub interval: Duration,
    /// The nonce sent with the request, checked against the ID token.
    pub nonce: Option<String>,
}

impl DeviceAuthorization {
    /// What the kiosk encodes in the QR: the complete URI when the provider gave one.
    pub fn qr_uri(&self) -> &str {
        self.verification_uri_complete
            .as_deref()
            .unwrap_or(&self.verification_uri)
    }
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub id_token: String,
    pub expires_in: Option<u64>,
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidTokenReason {
    Malformed(String),
    UnsupportedAlgorithm(String),
    UnknownKey(Option<String>),
    BadSignature,
    WrongIssuer { expected: String, found: String },
    WrongAudience { expected: String, found: Vec<String> },
    WrongAuthorizedParty,
    Expired,
    IssuedInFuture,
    NonceMismatch,
    MissingClaim(String),
}

impl std::fmt::Display for InvalidTokenReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed: {m}"),
            Self::UnsupportedAlgorithm(a) => write!(f, "algorithm {a:?} not accepted"),
            Self::UnknownKey(kid) => write!(f, "no JWKS key for kid {kid:?}"),
            Self::BadSignature => f.write_str("signature does not verify"),
            Self::WrongIssuer { expected, found } => {
                write!(f, "iss {found:?}, expected {expected:?}")
            }
            Self::WrongAudience { expected, found } => {
                write!(f, "aud {found:?} does not contain {expected:?}")
            }
            Self::WrongAuthorizedParty => f.write_str("azp is not this client"),
            Self::Expired => f.write_str("expired (exp)"),
            Self::IssuedInFuture => f.write_str("iat is in the future"),
            Self::NonceMismatch => f.write_str("nonce does not match"),
            Self::MissingClaim(c) => write!(f, "missing claim {c}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The citizen declined on the phone (`access_denied`).
    #[error("the citizen denied the login")]
    Denied,
    /// The device code expired before the citizen approved (`expired_token`).
    #[error("the device code expired")]
    Expired,
    #[error("network error: {0}")]
    Network(String),
    /// A refused configuration or endpoint URL.
    #[error("configuration: {0}")]
    Config(String),
    /// The provider answered with something this client cannot use.
    #[error("invalid provider response: {0}")]
    InvalidResponse(String),
    /// An OAuth error code other than the ones above.
    #[error("provider error {error}: {description}")]
    Provider { error: String, description: String },
    #[error("invalid ID token: {0}")]
    InvalidToken(InvalidTokenReason),
    #[error("internal: {0}")]
    Internal(String),
}

fn invalid(reason: InvalidTokenReason) -> OidcError {
    OidcError::InvalidToken(reason)
}

/// Time source and sleeper, so tests need not wait on real intervals.
pub trait Clock {
    fn now(&self) -> SystemTime;
    fn sleep(&self, d: Duration);
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// The parts of the discovery document this client uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub device_authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

#[derive(Debug, Clone)]
enum PublicKey {
    Rsa(Box<rsa::RsaPublicKey>),
    P256(p256::ecdsa::VerifyingKey),
}

#[derive(Debug, Clone)]
struct Jwk {
    kid: Option<String>,
    alg: Option<String>,
    key: PublicKey,
}

/// An OIDC client bound to one provider.
pub struct OidcClient {
    config: OidcConfig,
    metadata: ProviderMetadata,
    http: reqwest::blocking::Client,
    jwks: Mutex<Vec<Jwk>>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("config", &self.config)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// `https`, or plain `http` to the loopback only (tests, a local provider).
fn check_url(url: &str) -> Result<(), OidcError> {
    if url.starts_with("https://") {
        return Ok(());
    }
    if let Some(rest) = url.strip_prefix("http://") {
        let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = if host_port.starts_with('[') {
            host_port.split(']').next().map(|h| format!("{h}]"))
        } else {
            host_port.split(':').next().map(str::to_owned)
        };
        if matches!(
            host.as_deref(),
            Some("127.0.0.1") | Some("localhost") | Some("[::1]")
        ) {
            return Ok(());
        }
    }
    Err(OidcError::Config(format!(
        "{url:?} is neither https nor loopback http"
    )))
}

fn net(e: reqwest::Error) -> OidcError {
    OidcError::Network(e.to_string())
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, OidcError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|e| invalid(InvalidTokenReason::Malformed(format!("{what}: {e}"))))
}

fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn seconds_field(obj: &Map<String, Value>, key: &str) -> Option<u64> {
    obj.get(key).and_then(Value::as_u64)
}

fn parse_jwks(body: &Value) -> Vec<Jwk> {
    let keys = body
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    keys.iter()
        .filter_map(Value::as_object)
        .filter(|k| str_field(k, "use").is_none_or(|u| u == "sig"))
        .filter_map(|k| {
            let decode = |f: &str| str_field(k, f).and_then(|s| URL_SAFE_NO_PAD.decode(s.as_bytes()).ok());
            let key = match str_field(k, "kty").as_deref() {
                Some("RSA") => {
                    let n = rsa::BigUint::from_bytes_be(&decode("n")?);
                    let e = rsa::BigUint::from_bytes_be(&decode("e")?);
                    PublicKey::Rsa(Box::new(rsa::RsaPublicKey::new(n, e).ok()?))
                }
                Some("EC") if str_field(k, "crv").as_deref() == Some("P-256") => {
                    let (x, y) = (decode("x")?, decode("y")?);
                    if x.len() != 32 || y.len() != 32 {
                        return None;
                    }
                    let mut sec1 = Vec::with_capacity(65);
                    sec1.push(0x04);
                    sec1.extend_from_slice(&x);
                    sec1.extend_from_slice(&y);
                    PublicKey::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()?)
                }
                _ => return None,
            };
            Some(Jwk {
                kid: str_field(k, "kid"),
                alg: str_field(k, "alg"),
                key,
            })
        })
        .collect()
}

fn verify_with(key: &PublicKey, alg: JwsAlg, msg: &[u8], sig: &[u8]) -> bool {
    match (alg, key) {
        (JwsAlg::Rs256, PublicKey::Rsa(k)) => {
            let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new((**k).clone());
            rsa::pkcs1v15::Signature::try_from(sig)
                .map(|s| vk.verify(msg, &s).is_ok())
                .unwrap_or(false)
        }
        (JwsAlg::Ps256, PublicKey::Rsa(k)) => {
            let vk = rsa::pss::VerifyingKey::<sha2::Sha256>::new((**k).clone());
            rsa::pss::Signature::try_from(sig)
                .map(|s| vk.verify(msg, &s).is_ok())
                .unwrap_or(false)
        }
        (JwsAlg::Es256, PublicKey::P256(k)) => p256::ecdsa::Signature::from_slice(sig)
            .map(|s| k.verify(msg, &s).is_ok())
            .unwrap_or(false),
        _ => false,
    }
}

fn unix_seconds(t: SystemTime) -> Result<u64, OidcError> {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| OidcError::Internal("clock before 1970".to_owned()))
}

impl OidcClient {
    /// Fetches `{issuer}/.well-known/openid-configuration` and the JWKS.
    pub fn discover(config: OidcConfig) -> Result<Self, OidcError> {
        check_url(&config.issuer)?;
        let http = reqwest::blocking::Client::builder()
            .timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(net)?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let resp = http.get(&url).send().map_err(net)?;
        if !resp.status().is_success() {
            return Err(OidcError::InvalidResponse(format!(
                "discovery answered HTTP {}",
                resp.status()
            )));
        }
        let metadata: ProviderMetadata = resp
            .json()
            .map_err(|e| OidcError::InvalidResponse(format!("discovery document: {e}")))?;
        // OIDC Discovery §4.3: the issuer in the document must be the one asked.
        if metadata.issuer != config.issuer {
            return Err(OidcError::InvalidResponse(format!(
                "discovery issuer {:?} is not {:?}",
                metadata.issuer, config.issuer
            )));
        }
        for u in [
            &metadata.device_authorization_endpoint,
            &metadata.token_endpoint,
            &metadata.jwks_uri,
        ] {
            check_url(u)?;
        }
        let client = Self {
            config,
            metadata,
            http,
            jwks: Mutex::new(Vec::new()),
        };
        client.refresh_jwks()?;
        Ok(client)
    }

    /// A client from metadata and a JWKS document already at hand (cached, or
    /// configured offline); the JWKS is fetched again only for an unknown `kid`.
    pub fn from_parts(
        config: OidcConfig,
        metadata: ProviderMetadata,
        jwks: &Value,
    ) -> Result<Self, OidcError> {
        check_url(&config.issuer)?;
        if metadata.issuer != config.issuer {
            return Err(OidcError::Config(format!(
                "metadata issuer {:?} is not {:?}",
                metadata.issuer, config.issuer
            )));
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(net)?;
        Ok(Self {
            config,
            metadata,
            http,
            jwks: Mutex::new(parse_jwks(jwks)),
        })
    }

    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    fn refresh_jwks(&self) -> Result<(), OidcError> {
        let resp = self.http.get(&self.metadata.jwks_uri).send().map_err(net)?;
        if !resp.status().is_success() {
            return Err(OidcError::InvalidResponse(format!(
                "JWKS answered HTTP {}",
                resp.status()
            )));
        }
        let body: Value = resp
            .json()
            .map_err(|e| OidcError::InvalidResponse(format!("JWKS: {e}")))?;
        let keys = parse_jwks(&body);
        let mut guard = self
            .jwks
            .lock()
            .map_err(|_| OidcError::Internal("JWKS lock poisoned".to_owned()))?;
        *guard = keys;
        Ok(())
    }

    /// Device authorization request (RFC 8628 §3.1) without a nonce.
    pub fn start(&self, client_id: &str, scope: &str) -> Result<DeviceAuthorization, OidcError> {
        self.start_with_nonce(client_id, scope, None)
    }

    /// Device authorization request that also sends `nonce`; the ID token must echo it.
    pub fn start_with_nonce(
        &self,
        client_id: &str,
        scope: &str,
        nonce: Option<&str>,
    ) -> Result<DeviceAuthorization, OidcError> {
        let mut form = vec![("client_id", client_id), ("scope", scope)];
        if let Some(n) = nonce {
            form.push(("nonce", n));
        }
        let (ok, obj) = self.post_form(
            &self.metadata.device_authorization_endpoint,
            &form,
            "device authorization",
        )?;
        let obj = &obj;
        if !ok {
            return Err(provider_error(obj));
        }
        let need = |k: &str| {
            str_field(obj, k)
                .ok_or_else(|| OidcError::InvalidResponse(format!("device authorization: no {k}")))
        };
        let auth = DeviceAuthorization {
            client_id: client_id.to_owned(),
            device_code: need("device_code")?,
            user_code: need("user_code")?,
            verification_uri: need("verification_uri")?,
            verification_uri_complete: str_field(obj, "verification_uri_complete"),
            expires_in: Duration::from_secs(seconds_field(obj, "expires_in").ok_or_else(|| {
                OidcError::InvalidResponse("device authorization: no expires_in".to_owned())
            })?),
            interval: seconds_field(obj, "interval")
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_INTERVAL)
                .max(Duration::from_secs(1)),
            nonce: nonce.map(str::to_owned),
        };
        check_url(&auth.verification_uri)?;
        if let Some(u) = &auth.verification_uri_complete {
            check_url(u)?;
        }
        Ok(auth)
    }

    /// Polls the token endpoint until the citizen approves, denies or the code
    /// expires, then validates the ID token and maps its claims.
    pub fn poll(&self, auth: &DeviceAuthorization, clock: &dyn Clock) -> Result<OidcIdentity, OidcError> {
        let tokens = self.poll_tokens(auth, clock)?;
        self.validate_id_token(
            &tokens.id_token,
            &auth.client_id,
            auth.nonce.as_deref(),
            clock.now(),
        )
    }

    /// One token request (RFC 8628 §3.4): `None` while the citizen has not answered (pending, or asked to
    /// slow down: the caller waits `interval` longer), else the validated identity.
    pub fn poll_once(
        &self,
        auth: &DeviceAuthorization,
        now: SystemTime,
    ) -> Result<Option<OidcIdentity>, OidcError> {
        match self.token_request(auth)? {
            TokenAnswer::Pending | TokenAnswer::SlowDown => Ok(None),
            TokenAnswer::Tokens(t) => self
                .validate_id_token(&t.id_token, &auth.client_id, auth.nonce.as_deref(), now)
                .map(Some),
        }
    }

    /// The polling loop alone (RFC 8628 §3.4–3.5); returns the raw tokens.
    pub fn poll_tokens(
        &self,
        auth: &DeviceAuthorization,
        clock: &dyn Clock,
    ) -> Result<TokenResponse, OidcError> {
        let deadline = clock.now() + auth.expires_in;
        let mut interval = auth.interval;
        loop {
            clock.sleep(interval);
            match self.token_request(auth)? {
                TokenAnswer::Tokens(t) => return Ok(t),
                TokenAnswer::Pending => {}
                TokenAnswer::SlowDown => interval += SLOW_DOWN_STEP,
            }
            if clock.now() >= deadline {
                return Err(OidcError::Expired);
            }
        }
    }

    /// POSTs a form and reads the JSON object answered: (HTTP success, the object). `what` names the
    /// exchange in errors.
    fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<(bool, serde_json::Map<String, Value>), OidcError> {
        let resp = self.http.post(url).form(form).send().map_err(net)?;
        let ok = resp.status().is_success();
        let body: Value = resp
            .json()
            .map_err(|e| OidcError::InvalidResponse(format!("{what}: {e}")))?;
        match body {
            Value::Object(obj) => Ok((ok, obj)),
            _ => Err(OidcError::InvalidResponse(format!("{what}: not an object"))),
        }
    }

    fn token_request(&self, auth: &DeviceAuthorization) -> Result<TokenAnswer, OidcError> {
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", auth.device_code.as_str()),
            ("client_id", auth.client_id.as_str()),
        ];
        let (ok, obj) = self.post_form(&self.metadata.token_endpoint, &form, "token response")?;
        let obj = &obj;
        if !ok {
            return match str_field(obj, "error").as_deref() {
                Some("authorization_pending") => Ok(TokenAnswer::Pending),
                Some("slow_down") => Ok(TokenAnswer::SlowDown),
                Some("access_denied") => Err(OidcError::Denied),
                Some("expired_token") => Err(OidcError::Expired),
                _ => Err(provider_error(obj)),
            };
        }
        let need = |k: &str| {
            str_field(obj, k).ok_or_else(|| OidcError::InvalidResponse(format!("token response: no {k}")))
        };
        Ok(TokenAnswer::Tokens(TokenResponse {
            access_token: need("access_token")?,
            token_type: need("token_type")?,
            id_token: need("id_token")?,
            expires_in: seconds_field(obj, "expires_in"),
        }))
    }

    /// Verifies an ID token's signature and claims and maps it to an identity.
    pub fn validate_id_token(
        &self,
        id_token: &str,
        client_id: &str,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> Result<OidcIdentity, OidcError> {
        let claims = self.verify_signature(id_token)?;
        self.check_claims(&claims, client_id, nonce, now)?;
        self.map_identity(&claims)
    }

    fn verify_signature(&self, jwt: &str) -> Result<Map<String, Value>, OidcError> {
        let mut parts = jwt.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(InvalidTokenReason::Malformed(
                "not three dot-separated parts".to_owned(),
            )));
        };
        let header: Value = serde_json::from_slice(&b64(h, "header")?)
            .map_err(|e| invalid(InvalidTokenReason::Malformed(format!("header: {e}"))))?;
        let header = header
            .as_object()
            .ok_or_else(|| invalid(InvalidTokenReason::Malformed("header".to_owned())))?;
        let alg_name = str_field(header, "alg").unwrap_or_default();
        let alg = JwsAlg::parse(&alg_name)
            .filter(|a| self.config.allowed_algs.contains(a))
            .ok_or_else(|| invalid(InvalidTokenReason::UnsupportedAlgorithm(alg_name.clone())))?;
        if header.contains_key("crit") {
            return Err(invalid(InvalidTokenReason::Malformed(
                "crit header not supported".to_owned(),
            )));
        }
        let kid = str_field(header, "kid");
        let sig = b64(s, "signature")?;
        let signing_input = format!("{h}.{p}");

        let mut refreshed = false;
        loop {
            let candidates: Vec<Jwk> = {
                let keys = self
                    .jwks
                    .lock()
                    .map_err(|_| OidcError::Internal("JWKS lock poisoned".to_owned()))?;
                keys.iter()
                    .filter(|k| kid.is_none() || k.kid == kid)
                    .filter(|k| k.alg.as_deref().is_none_or(|a| a == alg_name))
                    .filter(|k| {
                        matches!(
                            (alg, &k.key),
                            (JwsAlg::Rs256 | JwsAlg::Ps256, PublicKey::Rsa(_))
                                | (JwsAlg::Es256, PublicKey::P256(_))
                        )
                    })
                    .cloned()
                    .collect()
            };
            if candidates.is_empty() {
                // Maybe the provider rotated its keys: look once more.
                if !refreshed {
                    refreshed = true;
                    self.refresh_jwks()?;
                    continue;
                }
                return Err(invalid(InvalidTokenReason::UnknownKey(kid)));
            }
            if candidates
                .iter()
                .any(|k| verify_with(&k.key, alg, signing_input.as_bytes(), &sig))
            {
                break;
            }
            return Err(invalid(InvalidTokenReason::BadSignature));
        }

        let payload: Value = serde_json::from_slice(&b64(p, "payload")?)
            .map_err(|e| invalid(InvalidTokenReason::Malformed(format!("payload: {e}"))))?;
        match payload {
            Value::Object(m) => Ok(m),
            _ => Err(invalid(InvalidTokenReason::Malformed(
                "payload is not an object".to_owned(),
            ))),
        }
    }

    fn check_claims(
        &self,
        claims: &Map<String, Value>,
        client_id: &str,
        nonce: Option<&str>,
        now: SystemTime,
    ) -> Result<(), OidcError> {
        let missing = |c: &str| invalid(InvalidTokenReason::MissingClaim(c.to_owned()));
        let iss = str_field(claims, "iss").ok_or_else(|| missing("iss"))?;
        if iss != self.metadata.issuer {
            return Err(invalid(InvalidTokenReason::WrongIssuer {
                expected: self.metadata.issuer.clone(),
                found: iss,
            }));
        }
        let aud: Vec<String> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => return Err(missing("aud")),
        };
        if !aud.iter().any(|a| a == client_id) {
            return Err(invalid(InvalidTokenReason::WrongAudience {
                expected: client_id.to_owned(),
                found: aud,
            }));
        }
        // OIDC Core §3.1.3.7: with several audiences, azp must be this client.
        if let Some(azp) = str_field(claims, "azp") {
            if azp != client_id {
                return Err(invalid(InvalidTokenReason::WrongAuthorizedParty));
            }
        } else if aud.len() > 1 {
            return Err(missing("azp"));
        }
        let now = unix_seconds(now)?;
        let leeway = self.config.leeway.as_secs();
        let exp = seconds_field(claims, "exp").ok_or_else(|| missing("exp"))?;
        if now > exp.saturating_add(leeway) {
            return Err(invalid(InvalidTokenReason::Expired));
        }
        let iat = seconds_field(claims, "iat").ok_or_else(|| missing("iat"))?;
        if iat > now.saturating_add(leeway) {
            return Err(invalid(InvalidTokenReason::IssuedInFuture));
        }
        match (nonce, str_field(claims, "nonce")) {
            (None, _) => {}
            (Some(expected), Some(found)) if expected == found => {}
            (Some(_), _) => return Err(invalid(InvalidTokenReason::NonceMismatch)),
        }
        Ok(())
    }

    fn map_identity(&self, claims: &Map<String, Value>) -> Result<OidcIdentity, OidcError> {
        let missing = |c: &str| invalid(InvalidTokenReason::MissingClaim(c.to_owned()));
        let subject = str_field(claims, "sub")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("sub"))?;
        let id_number = str_field(claims, &self.config.id_number_claim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing(&self.config.id_number_claim))?;
        let raw_loa = match claims.get(&self.config.loa_claim) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let assurance = raw_loa
            .map(|raw| (raw, AssuranceSource::Loa))
            .or_else(|| str_field(claims, "acr").map(|raw| (raw, AssuranceSource::Acr)))
            .map(|(raw, source)| Assurance {
                level: self
                    .config
                    .assurance_levels
                    .iter()
                    .find(|(k, _)| *k == raw)
                    .map(|(_, l)| *l)
                    .unwrap_or(AssuranceLevel::Unrecognized),
                source,
                raw,
            });
        Ok(OidcIdentity {
            subject,
            id_number,
            name: str_field(claims, "name"),
            birthdate: str_field(claims, "birthdate"),
            assurance,
        })
    }
}

enum TokenAnswer {
    Tokens(TokenResponse),
    Pending,
    SlowDown,
}

fn provider_error(obj: &Map<String, Value>) -> OidcError {
    match str_field(obj, "error") {
        Some(error) => OidcError::Provider {
            error,
            description: str_field(obj, "error_description").unwrap_or_default(),
        },
        None => OidcError::InvalidResponse("error answer without an error code".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_or_loopback() {
        assert!(check_url("https://id.example.vn").is_ok());
        assert!(check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(check_url("http://localhost/").is_ok());
        assert!(check_url("http://[::1]:9/").is_ok());
        assert!(check_url("http://127.0.0.1.evil.example/").is_err());
        assert!(check_url("http://id.example.vn/").is_err());
        assert!(check_url("ftp://127.0.0.1/").is_err());
    }

    const ISS: &str = "https://id.example.vn";

    fn client_and_key() -> (OidcClient, p256::ecdsa::SigningKey) {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let point = sk.verifying_key().to_encoded_point(false);
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }]});
        let metadata = ProviderMetadata {
            issuer: ISS.to_owned(),
            device_authorization_endpoint: format!("{ISS}/device/auth"),
            token_endpoint: format!("{ISS}/token"),
            jwks_uri: format!("{ISS}/jwks"),
            id_token_signing_alg_values_supported: vec!["ES256".to_owned()],
        };
        let client = OidcClient::from_parts(OidcConfig::new(ISS), metadata, &jwks).unwrap();
        (client, sk)
    }

    fn sign(sk: &p256::ecdsa::SigningKey, claims: &Value) -> String {
        use signature::Signer as _;
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","kid":"k1"}"#);
        let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
        let sig: p256::ecdsa::Signature = sk.sign(format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn claims(extra: Value) -> Value {
        let now = unix_seconds(SystemTime::now()).unwrap();
        let mut c = serde_json::json!({
            "iss": ISS, "aud": "kiosk", "sub": "s1", "iat": now, "exp": now + 300,
            "id_number": "001099012345", "acr": "urn:banso:loa:substantial",
        });
        if let (Some(c), Some(e)) = (c.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        c
    }

    #[test]
    fn nonce_loa_and_azp() {
        let (client, sk) = client_and_key();
        let now = SystemTime::now();
        let with_nonce = sign(&sk, &claims(serde_json::json!({"nonce": "n-1", "loa": 3})));
        let id = client
            .validate_id_token(&with_nonce, "kiosk", Some("n-1"), now)
            .unwrap();
        let a = id.assurance.unwrap();
        assert_eq!(
            (a.level, a.source, a.raw.as_str()),
            (AssuranceLevel::High, AssuranceSource::Loa, "3")
        );
        assert_eq!(
            client.validate_id_token(&with_nonce, "kiosk", Some("n-2"), now),
            Err(invalid(InvalidTokenReason::NonceMismatch))
        );

        let acr_only = sign(&sk, &claims(serde_json::json!({})));
        let a = client
            .validate_id_token(&acr_only, "kiosk", None, now)
            .unwrap()
            .assurance
            .unwrap();
        assert_eq!(
            (a.level, a.source),
            (AssuranceLevel::Substantial, AssuranceSource::Acr)
        );

        let odd = sign(&sk, &claims(serde_json::json!({"acr": "urn:x:gold"})));
        let a = client
            .validate_id_token(&odd, "kiosk", None, now)
            .unwrap()
            .assurance
            .unwrap();
        assert_eq!(a.level, AssuranceLevel::Unrecognized);

        let multi = sign(&sk, &claims(serde_json::json!({"aud": ["kiosk", "other"]})));
        assert_eq!(
            client.validate_id_token(&multi, "kiosk", None, now),
            Err(invalid(InvalidTokenReason::MissingClaim("azp".to_owned())))
        );
        let wrong_azp = sign(
            &sk,
            &claims(serde_json::json!({"aud": ["kiosk", "other"], "azp": "other"})),
        );
        assert_eq!(
            client.validate_id_token(&wrong_azp, "kiosk", None, now),
            Err(invalid(InvalidTokenReason::WrongAuthorizedParty))
        );
        let wrong_iss = sign(&sk, &claims(serde_json::json!({"iss": "https://evil.example"})));
        assert!(matches!(
            client.validate_id_token(&wrong_iss, "kiosk", None, now),
            Err(OidcError::InvalidToken(InvalidTokenReason::WrongIssuer { .. }))
        ));
        assert!(matches!(
            client.validate_id_token("a.b", "kiosk", None, now),
            Err(OidcError::InvalidToken(InvalidTokenReason::Malformed(_)))
        ));
    }
}
