//! `banso id read` against the project's virtual chip card served through the real pcscd + vpcd (in private
//! network and mount namespaces, scripts/pcscd-vpcd.sh): a genuine card verifies with high assurance; a wrong
//! MRZ, a data group changed after signing, an unknown CSCA and a clone without the active-authentication key
//! are each refused with their own reason.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Serves a test card (optionally negative) and reads it with `banso id read --json`; returns (exit, JSON).
fn read_card(negative: Option<&str>, mrz_override: Option<&str>) -> (i32, Value) {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().display().to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pcscd-vpcd.sh");
    let negative = negative.map(|n| format!("--negative {n}")).unwrap_or_default();
    let mrz = match mrz_override {
        Some(m) => format!("'{m}'"),
        None => format!("\"$(cat {dir}/mrz.txt)\""),
    };
    let inner = format!(
        "{BIN} id test-card --out {dir} {negative} >/dev/null 2>&1 & \
         for i in $(seq 1 50); do [ -f {dir}/mrz.txt ] && break; sleep 0.1; done; \
         {BIN} id read --mrz {mrz} --csca {dir}/csca.pem --json --photo {dir}/photo.jpg; rc=$?; kill %1; exit $rc"
    );
    let out = Command::new("bash")
        .arg(script)
        .args(["run", "bash", "-c", &inner])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = stdout
        .find('{')
        .and_then(|i| serde_json::from_str(&stdout[i..]).ok())
        .unwrap_or_else(|| panic!("no JSON: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    if negative.is_empty() && mrz_override.is_none() {
        let photo = std::fs::read(tmp.path().join("photo.jpg")).unwrap();
        assert_eq!(
            photo,
            std::fs::read(tmp.path().join("face.jpg")).unwrap(),
            "the DG2 face image, byte for byte"
        );
    }
    (out.status.code().unwrap_or(-1), json)
}

#[test]
fn a_genuine_card_verifies_with_high_assurance() {
    let (rc, id) = read_card(None, None);
    assert_eq!(rc, 0, "{id}");
    assert_eq!(id["verified"], true);
    assert_eq!(id["assurance"], "high");
    assert_eq!(id["id_number"], "001080012345");
    assert!(
        id["checks"].as_array().unwrap().iter().all(|c| c["ok"] == true),
        "{id}"
    );
    println!(
        "read {} ms, verify {} ms through pcscd",
        id["read_ms"], id["verify_ms"]
    );
}

#[test]
fn bad_cards_are_refused_each_with_its_own_reason() {
    let cases = [
        (Some("tampered"), "hash"),
        (Some("unknown-csca"), "chain"),
        (Some("clone"), "active authentication"),
    ];
    for (negative, reason) in cases {
        let (rc, r) = read_card(negative, None);
        assert_eq!(rc, 1, "{negative:?}: {r}");
        assert_eq!(r["verified"], false);
        assert_eq!(r["error"]["code"], "ID-0003");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(reason),
            "{negative:?}: expected '{reason}' in {message}"
        );
    }
    // The wrong MRZ (another document number): access is denied before anything is read.
    let wrong =
        "IDVNM0800123450001080012345<<<\n8001014M3001012VNM<<<<<<<<<<<4\nNGUYEN<<VAN<ANH<<<<<<<<<<<<<<<";
    let (rc, r) = read_card(None, Some(wrong));
    assert_eq!(rc, 1, "{r}");
    assert_eq!(r["error"]["code"], "ID-0002", "{r}");
    let message = r["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains("denied"), "the card refused the keys: {message}");
}
