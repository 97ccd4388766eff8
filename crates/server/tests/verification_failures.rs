//! Each way a file can fail verification fails with its own reason, and the independent validator agrees
//! where it can judge.

mod common;

use common::*;
use serde_json::Value;

fn issue_pdf(_backend: &Backend, server: &Server, token: &str, seed: u64) -> (String, Vec<u8>) {
    let (issued, pdf) = server.issue_and_fetch(token, &[sample_page("jpeg", 100, seed)]);
    (issued["code"].as_str().unwrap().to_string(), pdf)
}

fn sig(report: &Value) -> &Value {
    assert_eq!(report["signatures"].as_array().map(Vec::len), Some(1), "{report}");
    &report["signatures"][0]
}

#[test]
fn five_ways_to_fail_each_with_its_own_reason() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let a = Backend::local(&dir.join("a"));
    let server = a.serve();
    let token = a.token("officer");
    let root = a.root_pem();
    let (_, good) = issue_pdf(&a, &server, &token, 1);

    // 1. Bytes changed inside the signed range.
    let mut changed = good.clone();
    let at = changed.len() / 3;
    changed[at] ^= 0x01;
    let (_, r) = server.verify_pdf(&changed);
    assert_eq!(r["valid"], false);
    assert_eq!(sig(&r)["integrity"]["reason"], "digest_mismatch", "{r}");
    assert_eq!(sig(&r)["chain"]["ok"], true);
    assert_eq!(r["signature"]["reason"], "digest_mismatch");
    let (ok, out) = pyhanko_validate(dir, &root, &changed);
    assert!(
        !ok || !pyhanko_accepts_bt(&out),
        "pyHanko must reject it too: {out}"
    );

    // 2. Anything appended after signing.
    let mut appended = good.clone();
    appended.extend_from_slice(b"\n1 0 obj\n<< /Injected true >>\nendobj\n%%EOF\n");
    let (_, r) = server.verify_pdf(&appended);
    assert_eq!(r["valid"], false);
    assert_eq!(
        sig(&r)["integrity"]["ok"],
        true,
        "the signed bytes themselves are intact"
    );
    assert_eq!(
        sig(&r)["modifications"]["reason"],
        "modified_after_signing",
        "{r}"
    );
    assert_eq!(r["signature"]["reason"], "modified_after_signing");

    // 3. Signed by a key outside the trust store (another installation's own development PKI).
    let stranger = Backend::local(&dir.join("stranger"));
    let stranger_server = stranger.serve();
    let stranger_token = stranger.token("officer");
    let (_, foreign) = issue_pdf(&stranger, &stranger_server, &stranger_token, 2);
    let (_, r) = server.verify_pdf(&foreign);
    assert_eq!(r["valid"], false);
    assert_eq!(sig(&r)["integrity"]["ok"], true);
    assert_eq!(sig(&r)["chain"]["reason"], "untrusted_chain", "{r}");
    let (ok, out) = pyhanko_validate(dir, &root, &foreign);
    assert!(
        !ok && !out.contains(":TRUSTED"),
        "pyHanko with our root must not trust it: {out}"
    );

    // 4. A revoked copy.
    let (code, revoked_pdf) = issue_pdf(&a, &server, &token, 3);
    let out = a.cli(&["revoke", &code, "--reason", "Bản chính bị tẩy xóa"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, r) = server.verify_pdf(&revoked_pdf);
    assert_eq!(r["valid"], false);
    assert_eq!(r["signature"]["ok"], true);
    assert_eq!(r["registry"]["ok"], true);
    assert_eq!(r["status"]["reason"], "revoked", "{r}");

    // 5. A valid, trusted PDF that this registry never issued: a second installation sharing the PKI.
    let twin = Backend::local(&dir.join("twin"));
    std::fs::create_dir_all(&twin.data_dir).unwrap();
    let copy = std::process::Command::new("cp")
        .arg("-a")
        .arg(a.data_dir.join("pki"))
        .arg(twin.data_dir.join("pki"))
        .status()
        .unwrap();
    assert!(copy.success());
    let twin_server = twin.serve();
    let twin_token = twin.token("officer");
    let (_, unregistered) = issue_pdf(&twin, &twin_server, &twin_token, 4);
    let (_, r) = server.verify_pdf(&unregistered);
    assert_eq!(r["valid"], false);
    assert_eq!(r["signature"]["ok"], true, "{r}");
    assert_eq!(sig(&r)["chain"]["ok"], true);
    assert_eq!(r["registry"]["reason"], "not_in_registry", "{r}");

    // And the good file is still valid; the CLI gives exit 1 for each failure.
    let (_, r) = server.verify_pdf(&good);
    assert_eq!(r["valid"], true, "{r}");
    for (name, bytes) in [
        ("changed", &changed),
        ("appended", &appended),
        ("foreign", &foreign),
        ("revoked", &revoked_pdf),
        ("unregistered", &unregistered),
    ] {
        let f = dir.join(format!("{name}.pdf"));
        std::fs::write(&f, bytes).unwrap();
        let out = a.cli(&["verify", f.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let not_pdf = dir.join("not.pdf");
    std::fs::write(&not_pdf, b"hello").unwrap();
    let (rc, err) = a.cli_json(&["verify", not_pdf.to_str().unwrap(), "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(err["error"]["code"], "VER-0004");
}

/// What a revoked seal means (ARCHITECTURE.md, "Verifying a copy"): the copies it sealed before the revocation,
/// proved by their timestamps, stay valid; a copy sealed after it is invalid, reason `revoked`. The verifier
/// learns of the revocation from the installation's own current CRL, not from anything in the file.
#[test]
fn a_revoked_seal_leaves_earlier_copies_valid_and_makes_later_ones_invalid() {
    let tmp = tempfile::TempDir::new().unwrap();
    let a = Backend::local(tmp.path());
    let server = a.serve();
    let token = a.token("officer");
    let (_, before) = issue_pdf(&a, &server, &token, 1);
    let (_, r) = server.verify_pdf(&before);
    assert_eq!(r["valid"], true, "{r}");
    assert!(r["judged_at"].is_string(), "{r}");

    // Revocation times and timestamps are whole seconds: let the revocation fall in a later second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let seal_pem = std::fs::read_to_string(a.data_dir.join("pki/seal.pem")).unwrap();
    let seal_der = banso_signing::pem::decode_certificates(&seal_pem)
        .unwrap()
        .remove(0);
    let serial = hex::encode(banso_signing::cert::CertView::parse(&seal_der).unwrap().serial());
    let out = a.cli(&["pki", "revoke-cert", &serial, "--reason", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Sealed before: still valid, its signature's revocation check says why.
    let (_, r) = server.verify_pdf(&before);
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(r["signature"]["ok"], true, "{r}");

    // Sealed after (the operator has not replaced the seal yet): invalid, because of the revocation.
    let (_, after) = issue_pdf(&a, &server, &token, 2);
    let (_, r) = server.verify_pdf(&after);
    assert_eq!(r["valid"], false, "{r}");
    assert_eq!(r["signature"]["reason"], "revoked", "{r}");
    assert_eq!(sig(&r)["revocation"]["reason"], "revoked", "{r}");
    assert_eq!(sig(&r)["integrity"]["ok"], true, "{r}");
}
