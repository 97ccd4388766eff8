//! The trust services (PKI hierarchy, CRL, OCSP, RFC 3161 timestamps, PAdES B-T) checked against
//! independent implementations: the openssl command line and pyHanko. A missing tool is a failure.
mod common;

use banso_signing::certgen::CertProfile;
use banso_signing::pki::{Hierarchy, PkiNames};
use std::path::{Path, PathBuf};
use std::process::Command;

fn names() -> PkiNames {
    PkiNames {
        country: "VN".into(),
        organization: "Sở Tư pháp Thành phố Hà Nội".into(),
        root_cn: "Banso Test Root CA".into(),
        issuing_cn: "Banso Test Issuing CA".into(),
        seal_cn: "Trung tâm Phục vụ hành chính công".into(),
    }
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn hierarchy() -> Hierarchy {
    Hierarchy::generate(&names(), &["Nguyễn Văn An"], "https://banso.example.vn/", now()).unwrap()
}

fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is not installed; run scripts/setup.sh");
}

/// Runs a command, returning (success, stdout + stderr).
fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn openssl(args: &[&str]) -> (bool, String) {
    require("openssl");
    run(Command::new("openssl").args(args))
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn hierarchy_certificates_pass_openssl() {
    let h = hierarchy();
    let dir = tempfile::tempdir().unwrap();
    let root = write(dir.path(), "root.pem", h.root.cert_pem());
    let issuing = write(dir.path(), "issuing.pem", h.issuing.cert_pem());
    let officer = h.officer("Nguyễn Văn An").unwrap();
    for (label, cert) in [
        ("seal", &h.seal),
        ("officer", officer),
        ("tsa", &h.tsa),
        ("ocsp", &h.ocsp),
    ] {
        let path = write(dir.path(), &format!("{label}.pem"), cert.cert_pem());
        let (ok, out) = openssl(&["verify", "-CAfile", s(&root), "-untrusted", s(&issuing), s(&path)]);
        assert!(ok && out.contains(": OK"), "{label}: {out}");
        let (ok, text) = openssl(&["x509", "-in", s(&path), "-noout", "-text"]);
        assert!(ok, "{text}");
        assert!(
            text.contains("URI:https://banso.example.vn/pki/crl/banso-test-issuing-ca.crl"),
            "{label}: {text}"
        );
        assert!(
            text.contains("OCSP - URI:https://banso.example.vn/pki/ocsp"),
            "{text}"
        );
        assert!(
            text.contains("CA Issuers - URI:https://banso.example.vn/pki/ca/banso-test-issuing-ca.cer"),
            "{text}"
        );
        match label {
            "tsa" => {
                assert!(text.contains("X509v3 Extended Key Usage: critical"), "{text}");
                assert!(text.contains("Time Stamping"), "{text}");
                assert!(text.contains("Digital Signature"), "{text}");
            }
            "ocsp" => {
                assert!(text.contains("OCSP Signing"), "{text}");
                assert!(text.contains("OCSP No Check"), "{text}");
            }
            _ => {
                assert!(text.contains("Digital Signature, Non Repudiation"), "{text}");
            }
        }
        if label == "officer" {
            let (_, subject) = openssl(&["x509", "-in", s(&path), "-noout", "-subject", "-nameopt", "utf8"]);
            assert!(
                subject.contains("CN=Nguyễn Văn An") || subject.contains("CN = Nguyễn Văn An"),
                "{subject}"
            );
        }
    }
    // Purpose checks by openssl itself: the TSA certificate is fit for timestamping.
    let tsa = write(dir.path(), "tsa2.pem", h.tsa.cert_pem());
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "timestampsign",
        "-CAfile",
        s(&root),
        "-untrusted",
        s(&issuing),
        s(&tsa),
    ]);
    assert!(ok, "{out}");
    let (ok, text) = openssl(&["x509", "-in", s(&issuing), "-noout", "-text"]);
    assert!(ok && text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("pki/crl/banso-test-root-ca.crl"), "{text}");
    let (ok, text) = openssl(&["x509", "-in", s(&root), "-noout", "-text"]);
    assert!(ok && text.contains("CA:TRUE"), "{text}");
}

#[test]
fn certificate_for_a_foreign_public_key() {
    let h = hierarchy();
    // A key that lives elsewhere: only its SPKI is known here.
    let other = Hierarchy::generate(&names(), &[], "https://x.example", now()).unwrap();
    let spki = banso_signing::cert::CertView::parse(&other.seal.cert_der)
        .unwrap()
        .spki_der()
        .unwrap();
    let cert = h
        .issue_for_public_key("Cán bộ HSM", &spki, CertProfile::Signing, now())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = write(dir.path(), "root.pem", h.root.cert_pem());
    let issuing = write(dir.path(), "issuing.pem", h.issuing.cert_pem());
    let path = write(
        dir.path(),
        "hsm.pem",
        banso_signing::pem::encode("CERTIFICATE", &cert),
    );
    let (ok, out) = openssl(&["verify", "-CAfile", s(&root), "-untrusted", s(&issuing), s(&path)]);
    assert!(ok, "{out}");
    // The foreign key signs with that certificate.
    let signer = banso_signing::SoftwareSigner::from_pkcs8_der(
        &other.seal.key_pkcs8_der,
        vec![cert, h.issuing.cert_der.clone(), h.root.cert_der.clone()],
    );
    assert!(signer.is_ok());
}

#[test]
fn crl_passes_openssl() {
    use banso_signing::crl::{build_crl, parse_crl, RevocationReason, RevokedEntry};
    let h = hierarchy();
    let ca = h.issuing_signer().unwrap();
    let officer = banso_signing::cert::CertView::parse(&h.officer("Nguyễn Văn An").unwrap().cert_der)
        .unwrap()
        .serial()
        .to_vec();
    let t = now();
    let crl = build_crl(
        &ca,
        t,
        t + time::Duration::days(2),
        7,
        &[RevokedEntry {
            serial: officer.clone(),
            revoked_at: t - time::Duration::minutes(5),
            reason: Some(RevocationReason::KeyCompromise),
        }],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let chain = write(dir.path(), "chain.pem", h.ca_chain_pem());
    let crl_path = write(dir.path(), "issuing.crl", &crl);
    let (ok, out) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&crl_path),
        "-CAfile",
        s(&chain),
        "-noout",
    ]);
    assert!(ok && out.contains("verify OK"), "{out}");
    let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", s(&crl_path), "-noout", "-text"]);
    assert!(ok, "{text}");
    let serial_hex: String = officer.iter().map(|b| format!("{b:02X}")).collect();
    assert!(text.contains(&serial_hex), "{serial_hex} not in {text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("X509v3 CRL Number"), "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    // A CRL made by a different key is refused by openssl and by the parser.
    let other = Hierarchy::generate(&names(), &[], "http://x", now()).unwrap();
    let forged = build_crl(
        &other.issuing_signer().unwrap(),
        t,
        t + time::Duration::days(2),
        7,
        &[],
    )
    .unwrap();
    let forged_path = write(dir.path(), "forged.crl", &forged);
    let (ok, out) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&forged_path),
        "-CAfile",
        s(&chain),
        "-noout",
    ]);
    assert!(!ok || !out.contains("verify OK"), "{out}");
    assert!(!parse_crl(&forged).unwrap().verify_signature(&h.issuing.cert_der));
    let info = parse_crl(&crl).unwrap();
    assert!(info.verify_signature(&h.issuing.cert_der));
    assert_eq!(info.revoked.len(), 1);
    // The root's CRL over the issuing CA (empty) verifies too.
    let root_crl = build_crl(&h.root_signer().unwrap(), t, t + time::Duration::days(30), 1, &[]).unwrap();
    let root_crl_path = write(dir.path(), "root.crl", &root_crl);
    let (ok, out) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        s(&root_crl_path),
        "-CAfile",
        s(&chain),
        "-noout",
    ]);
    assert!(ok && out.contains("verify OK"), "{out}");
}

#[test]
fn ocsp_interoperates_with_openssl() {
    use banso_signing::cert::CertView;
    use banso_signing::crl::RevocationReason;
    use banso_signing::ocsp::{self, CertStatus, ParsedStatus};
    let h = hierarchy();
    let dir = tempfile::tempdir().unwrap();
    let issuing = write(dir.path(), "issuing.pem", h.issuing.cert_pem());
    let chain = write(dir.path(), "chain.pem", h.ca_chain_pem());
    let seal = write(dir.path(), "seal.pem", h.seal.cert_pem());
    let officer_cert = h.officer("Nguyễn Văn An").unwrap();
    let officer = write(dir.path(), "officer.pem", officer_cert.cert_pem());
    let officer_serial = CertView::parse(&officer_cert.cert_der).unwrap().serial().to_vec();
    let req = dir.path().join("req.der");
    // A request made by openssl (SHA-1 CertIDs, with a nonce), for two certificates.
    let (ok, out) = openssl(&[
        "ocsp",
        "-issuer",
        s(&issuing),
        "-cert",
        s(&seal),
        "-cert",
        s(&officer),
        "-reqout",
        s(&req),
    ]);
    assert!(ok, "{out}");
    let request = ocsp::parse_request(&std::fs::read(&req).unwrap()).unwrap();
    assert_eq!(request.cert_ids.len(), 2);
    assert!(request.nonce.is_some());
    assert!(request
        .cert_ids
        .iter()
        .all(|id| id.has_issuer(&h.issuing.cert_der)));
    let revoked_at = now() - time::Duration::hours(3);
    let responder = h.signer(&h.ocsp).unwrap();
    let response = ocsp::respond(
        &responder,
        &std::fs::read(&req).unwrap(),
        now(),
        time::Duration::hours(24),
        &|id| {
            if id.serial == officer_serial {
                CertStatus::Revoked {
                    at: revoked_at,
                    reason: Some(RevocationReason::KeyCompromise),
                }
            } else {
                CertStatus::Good
            }
        },
    );
    let resp = write(dir.path(), "resp.der", &response);
    // openssl checks the signature, the responder's delegation, the nonce and the statuses.
    let (ok, out) = openssl(&[
        "ocsp",
        "-reqin",
        s(&req),
        "-respin",
        s(&resp),
        "-issuer",
        s(&issuing),
        "-CAfile",
        s(&chain),
        "-resp_text",
    ]);
    assert!(ok && out.contains("Response verify OK"), "{out}");
    assert!(out.contains("Cert Status: good"), "{out}");
    assert!(out.contains("Cert Status: revoked"), "{out}");
    assert!(
        out.contains("Key Compromise") || out.contains("keyCompromise"),
        "{out}"
    );
    assert!(out.contains("OCSP Nonce"), "{out}");
    // Per-certificate status with openssl's own lookup.
    let (ok, out) = openssl(&[
        "ocsp",
        "-respin",
        s(&resp),
        "-issuer",
        s(&issuing),
        "-CAfile",
        s(&chain),
        "-cert",
        s(&officer),
        "-no_nonce",
    ]);
    assert!(ok && out.contains(": revoked"), "{out}");
    // A response made directly for the DSS, read back by openssl and by the parser.
    let direct = ocsp::response_for(
        &responder,
        &h.seal.cert_der,
        &h.issuing.cert_der,
        CertStatus::Good,
        now(),
        time::Duration::hours(24),
    )
    .unwrap();
    let direct_path = write(dir.path(), "direct.der", &direct);
    let (ok, out) = openssl(&[
        "ocsp",
        "-respin",
        s(&direct_path),
        "-issuer",
        s(&issuing),
        "-CAfile",
        s(&chain),
        "-cert",
        s(&seal),
        "-no_nonce",
        "-resp_text",
    ]);
    assert!(
        ok && out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    let info = ocsp::parse_response(&response).unwrap();
    assert_eq!(info.verify(&h.issuing.cert_der).unwrap(), h.ocsp.cert_der);
    assert_eq!(info.nonce, request.nonce);
    assert_eq!(
        info.status_of(&officer_serial, &h.issuing.cert_der)
            .unwrap()
            .status,
        ParsedStatus::Revoked {
            at: revoked_at.unix_timestamp(),
            reason: Some(1)
        }
    );
    // A SHA-256 CertID request from openssl is answered too.
    let req256 = dir.path().join("req256.der");
    let (ok, out) = openssl(&[
        "ocsp",
        "-sha256",
        "-issuer",
        s(&issuing),
        "-cert",
        s(&seal),
        "-reqout",
        s(&req256),
    ]);
    assert!(ok, "{out}");
    let response = ocsp::respond(
        &responder,
        &std::fs::read(&req256).unwrap(),
        now(),
        time::Duration::hours(24),
        &|_| CertStatus::Unknown,
    );
    let resp256 = write(dir.path(), "resp256.der", &response);
    let (ok, out) = openssl(&[
        "ocsp",
        "-reqin",
        s(&req256),
        "-respin",
        s(&resp256),
        "-issuer",
        s(&issuing),
        "-CAfile",
        s(&chain),
        "-resp_text",
    ]);
    assert!(
        ok && out.contains("Response verify OK") && out.contains("Cert Status: unknown"),
        "{out}"
    );
}

fn tsa_of(h: &Hierarchy) -> banso_signing::tsa::TimestampAuthority {
    let signer = std::sync::Arc::new(h.signer(&h.tsa).unwrap());
    banso_signing::tsa::TimestampAuthority::new(signer, banso_signing::tsa::DEV_POLICY).unwrap()
}

#[test]
fn our_tsa_is_accepted_by_openssl_ts_verify() {
    let h = hierarchy();
    let tsa = tsa_of(&h);
    let dir = tempfile::tempdir().unwrap();
    let data = write(
        dir.path(),
        "data.bin",
        b"the signature value of a certified copy".repeat(10),
    );
    let chain = write(dir.path(), "chain.pem", h.ca_chain_pem());
    // A request made by openssl, with a nonce and certReq.
    let req = dir.path().join("req.tsq");
    let (ok, out) = openssl(&[
        "ts",
        "-query",
        "-data",
        s(&data),
        "-sha256",
        "-cert",
        "-out",
        s(&req),
    ]);
    assert!(ok, "{out}");
    let resp = tsa.respond(&std::fs::read(&req).unwrap(), now());
    let resp_path = write(dir.path(), "resp.tsr", &resp);
    let (ok, out) = openssl(&[
        "ts",
        "-verify",
        "-in",
        s(&resp_path),
        "-data",
        s(&data),
        "-CAfile",
        s(&chain),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (ok, out) = openssl(&[
        "ts",
        "-verify",
        "-in",
        s(&resp_path),
        "-queryfile",
        s(&req),
        "-CAfile",
        s(&chain),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (ok, text) = openssl(&["ts", "-reply", "-in", s(&resp_path), "-text"]);
    assert!(
        ok && text.contains("Status: Granted") && text.contains("Policy OID: 2.999.84.1.1"),
        "{text}"
    );
    // Other data does not verify.
    let other = write(dir.path(), "other.bin", b"something else");
    let (ok, out) = openssl(&[
        "ts",
        "-verify",
        "-in",
        s(&resp_path),
        "-data",
        s(&other),
        "-CAfile",
        s(&chain),
    ]);
    assert!(!ok || !out.contains("Verification: OK"), "{out}");
    // A SHA-1 request is rejected with badAlg, and openssl reads the rejection.
    let req1 = dir.path().join("req1.tsq");
    let (ok, out) = openssl(&["ts", "-query", "-data", s(&data), "-sha1", "-out", s(&req1)]);
    assert!(ok, "{out}");
    let rejected = write(
        dir.path(),
        "rej.tsr",
        tsa.respond(&std::fs::read(&req1).unwrap(), now()),
    );
    let (ok, text) = openssl(&["ts", "-reply", "-in", s(&rejected), "-text"]);
    assert!(
        ok && text.contains("Status: Rejected")
            && text.contains("unrecognized or unsupported algorithm identifier"),
        "{text}"
    );
    // The token alone (no response wrapper) verifies too.
    let token = banso_signing::tsa::parse_response(
        &resp,
        &{
            use sha2::Digest as _;
            sha2::Sha256::digest(std::fs::read(&data).unwrap()).into()
        },
        None,
    );
    assert!(
        token.is_err(),
        "openssl's request carried a nonce, so expecting none must fail"
    );
}

#[test]
fn our_client_accepts_openssl_ts_reply() {
    let h = hierarchy();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "tsa.pem", h.tsa.cert_pem());
    write(d, "tsa.key", h.tsa.key_pem());
    let chain = write(d, "chain.pem", h.ca_chain_pem());
    write(d, "serial", "01\n");
    let config = write(
        d,
        "tsa.cnf",
        format!(
            "[ tsa ]\ndefault_tsa = tsa_config1\n\n[ tsa_config1 ]\ndir = {dir}\nserial = $dir/serial\n\
crypto_device = builtin\nsigner_cert = $dir/tsa.pem\ncerts = $dir/chain.pem\nsigner_key = $dir/tsa.key\n\
signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\n\
accuracy = secs:1, millisecs:500\nclock_precision_digits = 3\nordering = no\ntsa_name = yes\n\
ess_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            dir = d.display()
        ),
    );
    let digest: [u8; 32] = {
        use sha2::Digest as _;
        sha2::Sha256::digest(b"signature value").into()
    };
    let nonce = banso_signing::tsa::random_nonce();
    let req = write(
        d,
        "req.tsq",
        banso_signing::tsa::build_request(&digest, Some(nonce)),
    );
    // openssl understands our request.
    let (ok, text) = openssl(&["ts", "-query", "-in", s(&req), "-text"]);
    assert!(ok && text.contains("Certificate required: yes"), "{text}");
    let resp = d.join("resp.tsr");
    let (ok, out) = openssl(&[
        "ts",
        "-reply",
        "-config",
        s(&config),
        "-queryfile",
        s(&req),
        "-out",
        s(&resp),
    ]);
    assert!(ok, "{out}");
    let resp_der = std::fs::read(&resp).unwrap();
    let token = banso_signing::tsa::parse_response(&resp_der, &digest, Some(nonce)).unwrap();
    let info = banso_signing::tsa::verify_token(&token, &[]).unwrap();
    assert_eq!(info.policy, "1.2.3.4.1");
    assert_eq!(info.tsa_cert.as_deref(), Some(h.tsa.cert_der.as_slice()));
    assert_eq!(info.accuracy_millis, Some(1500));
    assert!((info.gen_time - now().unix_timestamp()).abs() < 60);
    // Wrong digest or nonce is refused.
    assert!(banso_signing::tsa::parse_response(&resp_der, &[0u8; 32], Some(nonce)).is_err());
    assert!(banso_signing::tsa::parse_response(&resp_der, &digest, Some(nonce ^ 1)).is_err());
    // openssl agrees the token is valid for this request.
    let (ok, out) = openssl(&[
        "ts",
        "-verify",
        "-in",
        s(&resp),
        "-queryfile",
        s(&req),
        "-CAfile",
        s(&chain),
    ]);
    assert!(ok && out.contains("Verification: OK"), "{out}");
}

fn pyhanko(dir: &Path, root_pem: &str, pdf: &[u8], pretty: bool) -> (bool, String) {
    require("pyhanko");
    let root = write(dir, "root-trust.pem", root_pem);
    let file = write(dir, "signed-bt.pdf", pdf);
    let mut cmd = Command::new("pyhanko");
    cmd.args(["sign", "validate"]);
    if pretty {
        cmd.arg("--pretty-print");
    }
    cmd.args(["--trust-replace", "--trust"]).arg(&root).arg(&file);
    run(&mut cmd)
}

/// A tiny HTTP server on loopback publishing what the certificates point at: the CRLs of both CAs,
/// the CA certificates, and the OCSP responder (root answers for the issuing CA, the delegated
/// responder for end entities). Runs until the test process ends.
fn serve_revocation(listener: std::net::TcpListener, h: Hierarchy) {
    use banso_signing::ocsp::{self, CertStatus};
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let t = now();
    let issuing_crl = banso_signing::crl::build_crl(
        &h.issuing_signer().unwrap(),
        t - time::Duration::minutes(5),
        t + time::Duration::days(1),
        1,
        &[],
    )
    .unwrap();
    let root_crl = banso_signing::crl::build_crl(
        &h.root_signer().unwrap(),
        t - time::Duration::minutes(5),
        t + time::Duration::days(30),
        1,
        &[],
    )
    .unwrap();
    let issuing_slug = banso_signing::pki::slug(&h.names.issuing_cn);
    let root_slug = banso_signing::pki::slug(&h.names.root_cn);
    let responder = h.signer(&h.ocsp).unwrap();
    let root_signer = h.root_signer().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            eprintln!("revocation server: {}", request_line.trim());
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or("");
            let path = parts.next().unwrap_or("");
            let (status, kind, payload): (&str, &str, Vec<u8>) = if method == "POST" && path == "/pki/ocsp" {
                let now = now();
                let answer = if ocsp::parse_request(&body)
                    .is_ok_and(|r| r.cert_ids.iter().all(|id| id.has_issuer(&h.root.cert_der)))
                {
                    ocsp::respond(&root_signer, &body, now, time::Duration::hours(12), &|_| {
                        CertStatus::Good
                    })
                } else {
                    ocsp::respond(&responder, &body, now, time::Duration::hours(12), &|id| {
                        if id.has_issuer(&h.issuing.cert_der) {
                            CertStatus::Good
                        } else {
                            CertStatus::Unknown
                        }
                    })
                };
                ("200 OK", "application/ocsp-response", answer)
            } else if path == format!("/pki/crl/{issuing_slug}.crl") {
                ("200 OK", "application/pkix-crl", issuing_crl.clone())
            } else if path == format!("/pki/crl/{root_slug}.crl") {
                ("200 OK", "application/pkix-crl", root_crl.clone())
            } else if path == format!("/pki/ca/{issuing_slug}.cer") {
                ("200 OK", "application/pkix-cert", h.issuing.cert_der.clone())
            } else if path == format!("/pki/ca/{root_slug}.cer") {
                ("200 OK", "application/pkix-cert", h.root.cert_der.clone())
            } else {
                ("404 Not Found", "text/plain", b"not found".to_vec())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&payload);
        }
    });
}

#[test]
fn pades_bt_validates_in_pyhanko() {
    use banso_signing::pades::{sign_prepared_with, DEFAULT_PLACEHOLDER};
    use banso_signing::verify::verify_pdf;
    // pyHanko checks revocation (hard-fail) through the URLs in the certificates: publish them on loopback.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let h = Hierarchy::generate(&names(), &["Nguyễn Văn An"], &base, now()).unwrap();
    serve_revocation(listener, h.clone());
    let tsa = tsa_of(&h);
    let seal = h.signer(&h.seal).unwrap();
    let mut prepared = common::prepared_pdf_with(2000, false, DEFAULT_PLACEHOLDER);
    sign_prepared_with(
        &mut prepared.pdf,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        &seal,
        Some(&tsa),
    )
    .unwrap();
    // How much of the placeholder a B-T signature uses.
    let hex = &prepared.pdf[prepared.contents_hex.clone()];
    let used = hex.len() - hex.iter().rev().take_while(|&&b| b == b'0').count();
    eprintln!(
        "B-T CMS: about {} of {} bytes",
        used.div_ceil(2),
        DEFAULT_PLACEHOLDER
    );
    assert!(
        used / 2 < DEFAULT_PLACEHOLDER / 2,
        "the B-T CMS uses more than half the placeholder"
    );

    let report = verify_pdf(&prepared.pdf, &h.trust_store().unwrap(), now());
    assert_eq!(report.signatures.len(), 1, "{report:#?}");
    assert!(report.signatures[0].is_valid(), "{report:#?}");

    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = pyhanko(dir.path(), &h.root.cert_pem(), &prepared.pdf, false);
    assert!(ok, "{out}");
    eprintln!("{out}");
    // pyHanko's summary for a B-T signature: INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED.
    assert!(out.contains(":INTACT:TRUSTED,"), "{out}");
    assert!(out.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"), "{out}");
    assert!(out.trim_end().ends_with("UNTOUCHED"), "{out}");
    let (ok, out) = pyhanko(dir.path(), &h.root.cert_pem(), &prepared.pdf, true);
    assert!(ok, "{out}");
    assert!(out.contains("Signature timestamp token:"), "{out}");
    assert!(
        out.contains("The timestamp token is cryptographically sound."),
        "{out}"
    );
    assert!(out.contains("The TSA certificate is trusted."), "{out}");
    assert!(out.contains("The signature is judged VALID."), "{out}");
}
