//! `banso id login`: the national-ID login by QR against a real OpenID provider (npm oidc-provider on the loopback,
//! crates/identity/tests/oidc/provider.js). The QR the command shows is read back with zbarimg (an independent
//! decoder) and opened by headless Chromium playing the citizen's phone (approve.js), which approves or denies.

mod common;

use common::oidc::*;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `banso id login`, waits for its QR PNG, decodes it with zbarimg and lets the phone answer `decision`
/// (approve, deny, or none to let the code expire). Returns (exit code, stdout JSON, decoded QR).
fn login(issuer: &str, decision: Option<&str>) -> (i32, serde_json::Value, String) {
    let tmp = tempfile::TempDir::new().unwrap();
    let png = tmp.path().join("qr.png");
    let child = Command::new(BIN)
        .args([
            "id",
            "login",
            "--json",
            "--client-id",
            "banso-kiosk",
            "--scope",
            "openid profile citizen",
        ])
        .args(["--issuer", issuer, "--qr-png"])
        .arg(&png)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let started = Instant::now();
    while !png.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "banso id login ended ({status}) before writing the QR:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no QR written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let z = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(&png)
        .output()
        .expect("zbarimg");
    assert!(z.status.success(), "zbarimg could not read the QR");
    let uri = String::from_utf8_lossy(&z.stdout).trim().to_string();
    assert!(uri.starts_with(issuer), "{uri}");
    if let Some(decision) = decision {
        phone(&uri, decision);
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json, uri)
}

#[test]
fn the_citizen_approves_on_the_phone_and_the_kiosk_gets_a_verified_identity() {
    let p = provider(600);
    let (rc, id, uri) = login(&p.1, Some("approve"));
    assert_eq!(rc, 0, "{id}");
    assert!(
        uri.contains("user_code="),
        "the QR carries verification_uri_complete: {uri}"
    );
    assert_eq!(id["id_number"], "001099012345");
    assert_eq!(id["name"], "Nguyễn Văn An");
    assert_eq!(id["assurance"], "high");
}

#[test]
fn a_denial_and_an_expired_code_are_refusals() {
    let p = provider(600);
    let (rc, e, _) = login(&p.1, Some("deny"));
    assert_eq!(rc, 1, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("denied"), "{e}");

    let p = provider(3);
    let (rc, e, _) = login(&p.1, None);
    assert_eq!(rc, 1, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("expired"), "{e}");

    // No provider at all: an operational error, exit 2.
    let (rc, e) = {
        let out = Command::new(BIN)
            .args([
                "id",
                "login",
                "--json",
                "--client-id",
                "x",
                "--issuer",
                "http://127.0.0.1:9",
            ])
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        )
    };
    assert_eq!(rc, 2, "{e}");
    assert_eq!(e["error"]["code"], "AUTH-0101");
}
