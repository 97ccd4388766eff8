//! Trust that lasts: an officer and the organisation seal sign a copy, both with signature timestamps; the
//! copy carries validation data and an archive timestamp (B-LTA) that pyHanko accepts, also as AdES; the
//! archive timestamp is renewed; an external TSA (OpenSSL) and a seal key inside an HSM (SoftHSM2) work.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const OFFICER: &str = "Nguyễn Thị Thủy";

fn signature_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| l.contains(":INTACT:") || l.contains(":VALID") || l.contains(":INVALID"))
        .collect()
}

#[test]
fn officer_and_seal_with_b_lta_renewed_and_still_valid() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let backend = Backend::local(dir).with_env("BANSO_SIGNATURE_LEVEL", "B-LTA");
    let out = backend.cli(&["pki", "init", "--officer", OFFICER, "--base-url", &base]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The root key goes to offline storage: the server runs, signs and extends copies without it.
    let offline = dir.join("offline");
    std::fs::create_dir_all(&offline).unwrap();
    std::fs::rename(backend.data_dir.join("pki/root.key"), offline.join("root.key")).unwrap();
    let server = backend.serve_at(&format!("127.0.0.1:{port}"));
    let root = backend.root_pem();
    let token = backend.cli(&["token", "create", "--role", "officer", "--name", OFFICER]);
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let (status, issued) = server.issue(
        &token,
        &[
            ("holder_id", "001099012345"),
            ("holder_name", "Hoàng Văn Nam"),
            ("document_type", "Bằng đại học"),
        ],
        &[sample_page("jpeg", 100, 1)],
    );
    assert_eq!(status, 201, "{issued}");
    let pdf = server.fetch_pdf(&issued);

    // pyHanko: two signatures (officer, seal), each intact, trusted and timestamped.
    let (ok, out) = pyhanko_validate(dir, &root, &pdf);
    let lines = signature_lines(&out);
    assert!(ok, "pyHanko: {out}");
    assert_eq!(lines.len(), 2, "officer and seal: {out}");
    for l in &lines {
        assert!(
            l.contains(":INTACT:TRUSTED,") && l.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>"),
            "{out}"
        );
    }
    // pyHanko's AdES validation with the embedded revocation data.
    let (ok, out) = pyhanko_adesverify(dir, &root, &pdf);
    assert!(ok, "adesverify: {out}");
    assert_eq!(
        out.lines().filter(|l| l.trim_end().ends_with(":VALID")).count(),
        2,
        "{out}"
    );

    // banso's own report: TOTAL-PASSED at B-LTA, the officer's signature first, then the seal's.
    let (_, report) = server.verify_pdf(&pdf);
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["indication"], "TOTAL-PASSED", "{report}");
    let sigs = report["signatures"].as_array().unwrap();
    let signatures: Vec<&Value> = sigs.iter().filter(|s| s["kind"] == "signature").collect();
    assert_eq!(signatures.len(), 2);
    assert!(
        signatures[0]["signer"].as_str().unwrap().contains(OFFICER),
        "{report}"
    );
    for s in &signatures {
        assert_eq!(s["level"], "B-LTA", "{report}");
        assert_eq!(s["timestamp"]["ok"], true);
        assert_eq!(s["revocation"]["ok"], true);
    }
    assert!(sigs.iter().any(|s| s["kind"] == "document_timestamp"));

    // Renewal of the archive timestamp: the stored copy grows, stays valid, still matches the registry.
    let (rc, renewed) = backend.cli_json(&["maintain", "lta", "--force", "--json"]);
    assert_eq!(rc, 0, "{renewed}");
    assert_eq!(renewed["renewed"], 1, "{renewed}");
    let later = server.fetch_pdf(&issued);
    assert!(
        later.len() > pdf.len() && later.starts_with(&pdf),
        "an incremental update of the issued file"
    );
    // Stored as a new object, the issued one kept beside it; the sweeper removes neither.
    let code = issued["code"].as_str().unwrap().replace('-', "");
    let versions = || -> Vec<Vec<u8>> {
        let mut files: Vec<_> = std::fs::read_dir(backend.data_dir.join("objects/copies"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&code))
            .map(|e| std::fs::read(e.path()).unwrap())
            .collect();
        files.sort_by_key(Vec::len);
        files
    };
    assert_eq!(versions(), vec![pdf.clone(), later.clone()]);
    let (rc, swept) = backend.cli_json(&["maintain", "sweep", "--grace-minutes", "0", "--json"]);
    assert_eq!(rc, 0, "{swept}");
    assert_eq!(swept["removed"].as_array().unwrap().len(), 0, "{swept}");
    assert_eq!(versions().len(), 2, "both versions kept");
    let (_, report) = server.verify_pdf(&later);
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["registry"]["ok"], true);
    let doc_timestamps = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "document_timestamp")
        .count();
    assert_eq!(doc_timestamps, 2);
    let (ok, out) = pyhanko_validate(dir, &root, &later);
    assert!(
        ok && out.contains("EXTENDED_WITH_LTA_UPDATES"),
        "pyHanko after renewal: {out}"
    );
    let (ok, out) = pyhanko_adesverify(dir, &root, &later);
    assert!(ok, "adesverify after renewal: {out}");
    // The original file a citizen downloaded earlier still verifies too.
    let (_, report) = server.verify_pdf(&pdf);
    assert_eq!(report["valid"], true);

    // The built-in TSA answers RFC 3161 requests made by OpenSSL.
    let data = dir.join("data.txt");
    std::fs::write(&data, b"banso").unwrap();
    let tsq = dir.join("q.tsq");
    let q = Command::new("openssl")
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(&data)
        .arg("-out")
        .arg(&tsq)
        .output()
        .unwrap();
    assert!(q.status.success());
    let reply = server
        .http
        .post(server.url("/api/v1/tsa"))
        .header("content-type", "application/timestamp-query")
        .body(std::fs::read(&tsq).unwrap())
        .send()
        .unwrap();
    assert_eq!(reply.headers()["content-type"], "application/timestamp-reply");
    let tsr = dir.join("r.tsr");
    std::fs::write(&tsr, reply.bytes().unwrap()).unwrap();
    let chain = dir.join("chain.pem");
    std::fs::write(
        &chain,
        root.clone() + &std::fs::read_to_string(backend.data_dir.join("pki/issuing.pem")).unwrap(),
    )
    .unwrap();
    let v = Command::new("openssl")
        .args(["ts", "-verify", "-in"])
        .arg(&tsr)
        .arg("-data")
        .arg(&data)
        .arg("-CAfile")
        .arg(&chain)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&v.stdout).contains("Verification: OK"),
        "{}",
        String::from_utf8_lossy(&v.stderr)
    );
    let (rc, audit) = backend.cli_json(&["log", "audit", "--json"]);
    assert_eq!(rc, 0, "{audit}");

    // What the root vouches for was signed ahead, and OpenSSL accepts it: the root's CRL, and its OCSP answer
    // on the issuing CA.
    let root_pem = dir.join("root.pem");
    std::fs::write(&root_pem, &root).unwrap();
    let issuing_pem = backend.data_dir.join("pki/issuing.pem");
    let root_crl = || {
        let text = openssl_text(
            dir,
            &["x509", "-noout", "-text", "-in", issuing_pem.to_str().unwrap()],
        );
        let path = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix("URI:").filter(|u| u.ends_with(".crl")))
            .expect("the issuing CA names the root's CRL")
            .trim_start_matches(&base)
            .to_string();
        let crl = server.http.get(server.url(&path)).send().unwrap();
        assert_eq!(crl.status().as_u16(), 200, "{path}");
        let file = dir.join("root.crl");
        std::fs::write(&file, crl.bytes().unwrap()).unwrap();
        let check = Command::new("openssl")
            .args(["crl", "-inform", "DER", "-noout", "-nextupdate", "-CAfile"])
            .arg(&root_pem)
            .arg("-in")
            .arg(&file)
            .output()
            .unwrap();
        let out =
            String::from_utf8_lossy(&check.stdout).to_string() + &String::from_utf8_lossy(&check.stderr);
        assert!(check.status.success() && out.contains("verify OK"), "{out}");
        out
    };
    let before = root_crl();
    let ocsp = Command::new("openssl")
        .args(["ocsp", "-no_nonce", "-issuer"])
        .arg(&root_pem)
        .arg("-cert")
        .arg(&issuing_pem)
        .arg("-CAfile")
        .arg(&root_pem)
        .arg("-url")
        .arg(server.url("/pki/ocsp"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&ocsp.stdout).to_string() + &String::from_utf8_lossy(&ocsp.stderr);
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );

    // The offline ceremony signs them again with the root key brought back; the server serves the new ones.
    // Another key is refused.
    let wrong = backend.cli(&[
        "pki",
        "root-status",
        "--root-key",
        backend.data_dir.join("pki/seal.key").to_str().unwrap(),
    ]);
    assert_eq!(
        wrong.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let renewed = backend.cli(&[
        "pki",
        "root-status",
        "--root-key",
        offline.join("root.key").to_str().unwrap(),
        "--days",
        "30",
    ]);
    assert!(
        renewed.status.success(),
        "{}",
        String::from_utf8_lossy(&renewed.stderr)
    );
    let after = root_crl();
    assert_ne!(before, after, "a new next update: {before} / {after}");
    assert!(
        !backend.data_dir.join("pki/root.key").exists(),
        "the root key never came back into the data folder"
    );
}

/// `openssl ARGS` in `dir`; its standard output.
fn openssl_text(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_external_tsa_and_a_seal_key_in_an_hsm() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    // A SoftHSM2 token in a throwaway folder.
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "banso",
            "--so-pin",
            "1234",
            "--pin",
            "5678",
        ])
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let pin = dir.join("pin");
    std::fs::write(&pin, "5678\n").unwrap();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let backend = Backend::local(dir).with_env("SOFTHSM2_CONF", conf.to_str().unwrap());
    let out = backend.cli(&[
        "pki",
        "init",
        "--base-url",
        &base,
        "--pkcs11-module",
        "/usr/lib/softhsm/libsofthsm2.so",
        "--token",
        "banso",
        "--pin-file",
        pin.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !backend.data_dir.join("pki/seal.key").exists(),
        "the seal key must not exist outside the token"
    );
    let root = backend.root_pem();

    // OpenSSL's TSA on loopback, with this installation's TSA certificate.
    let tsa_port = free_port();
    let log = dir.join("tsa.log");
    let pki = backend.data_dir.join("pki");
    let tsa_chain = dir.join("tsa-chain.pem");
    std::fs::write(
        &tsa_chain,
        std::fs::read_to_string(pki.join("issuing.pem")).unwrap() + &root,
    )
    .unwrap();
    let tsa = OpensslTsa::start(
        tsa_port,
        &pki.join("tsa.pem"),
        &pki.join("tsa.key"),
        &tsa_chain,
        &log,
    );
    let backend = backend.with_env("BANSO_TSA_URL", &format!("http://127.0.0.1:{tsa_port}/"));
    let server = backend.serve_at(&format!("127.0.0.1:{port}"));
    let token = backend.token("officer");
    let (status, issued) = server.issue(
        &token,
        &[
            ("holder_id", "001099012345"),
            ("holder_name", "Lý Thị Hoa"),
            ("document_type", "Giấy khai sinh"),
        ],
        &[sample_page("png", 100, 2)],
    );
    drop(tsa);
    assert_eq!(status, 201, "{issued}\n{}", server.log());
    assert!(
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("stamped"),
        "OpenSSL made the timestamp"
    );
    let pdf = server.fetch_pdf(&issued);
    let (ok, out) = pyhanko_validate(dir, &root, &pdf);
    assert!(ok && pyhanko_accepts_bt(&out), "pyHanko: {out}");
    let (_, report) = server.verify_pdf(&pdf);
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["signatures"][0]["timestamp"]["ok"], true, "{report}");
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An externally issued chain made by OpenSSL: root → issuing CA → seal and TSA certificates.
fn external_chain(dir: &Path) {
    for k in ["root", "issuing", "seal", "tsa"] {
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &format!("{k}.key"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "root.key",
            "-subj",
            "/C=VN/O=External CA/CN=External Root",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "root.pem",
        ],
    );
    let issue = |name: &str, issuer: &str, subject: &str, ext: &str| {
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &format!("{name}.key"),
                "-subj",
                subject,
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                "1000",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    };
    issue(
        "issuing",
        "root",
        "/C=VN/O=External CA/CN=External Issuing CA",
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    issue(
        "seal",
        "issuing",
        "/C=VN/O=UBND phuong Viet Hung/CN=Con dau dien tu",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    issue(
        "tsa",
        "issuing",
        "/C=VN/O=External CA/CN=External TSA",
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
}

#[test]
fn an_imported_external_chain_signs_with_an_external_tsa() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let ext = dir.join("external");
    std::fs::create_dir_all(&ext).unwrap();
    external_chain(&ext);
    let backend = Backend::local(dir);
    let p = |n: &str| ext.join(n).to_str().unwrap().to_string();
    let out = backend.cli(&[
        "pki",
        "import",
        "--root",
        &p("root.pem"),
        "--issuing",
        &p("issuing.pem"),
        "--seal-cert",
        &p("seal.pem"),
        "--seal-key",
        &p("seal.key"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A chain that does not link is refused.
    let other = Backend::local(&dir.join("other"));
    let out = other.cli(&[
        "pki",
        "import",
        "--root",
        &p("issuing.pem"),
        "--issuing",
        &p("root.pem"),
        "--seal-cert",
        &p("seal.pem"),
        "--seal-key",
        &p("seal.key"),
    ]);
    assert_eq!(out.status.code(), Some(2));

    let tsa_port = free_port();
    let log = dir.join("tsa.log");
    std::fs::write(
        dir.join("tsa-chain.pem"),
        std::fs::read_to_string(ext.join("issuing.pem")).unwrap(),
    )
    .unwrap();
    let tsa = OpensslTsa::start(
        tsa_port,
        &ext.join("tsa.pem"),
        &ext.join("tsa.key"),
        &dir.join("tsa-chain.pem"),
        &log,
    );
    let backend = backend.with_env("BANSO_TSA_URL", &format!("http://127.0.0.1:{tsa_port}/"));
    let server = backend.serve();
    let token = backend.token("officer");
    let (status, issued) = server.issue(
        &token,
        &[
            ("holder_id", "001099012345"),
            ("holder_name", "Phan Thị Mai"),
            ("document_type", "Giấy khai sinh"),
        ],
        &[sample_page("jpeg", 100, 4)],
    );
    drop(tsa);
    assert_eq!(status, 201, "{issued}\n{}", server.log());
    let pdf = server.fetch_pdf(&issued);
    let root = std::fs::read_to_string(ext.join("root.pem")).unwrap();
    assert_eq!(
        backend.root_pem().trim(),
        root.trim(),
        "the imported root is the trust anchor"
    );
    let (ok, out) = pyhanko_validate(dir, &root, &pdf);
    assert!(ok && pyhanko_accepts_bt(&out), "pyHanko: {out}");
    let (_, report) = server.verify_pdf(&pdf);
    assert_eq!(report["valid"], true, "{report}");
    // This installation runs no CA services for an imported chain.
    assert_eq!(
        server
            .http
            .post(server.url("/api/v1/tsa"))
            .body(vec![0u8])
            .send()
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}

/// The CA's revocations live in the registry: a certificate revoked with the CLI is answered as revoked by
/// every server on the registry at once (OCSP and the issuing CA's CRL, checked with OpenSSL), with no restart;
/// a `revoked.json` an earlier version left beside the keys is moved into the registry at start.
#[test]
fn revocations_are_shared_by_every_server_on_the_registry() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let backend = Backend::postgres_s3(dir);
    let second = "Trần Thị Bình";
    let out = backend.cli(&["pki", "init", "--officer", OFFICER, "--officer", second]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pki = backend.data_dir.join("pki");
    let cert_of = |name: &str| {
        let slug: String = banso_signing::pki::slug(name);
        pki.join("officers").join(format!("{slug}.pem"))
    };
    let serial_of = |cert: &Path| {
        let text = openssl_text(dir, &["x509", "-noout", "-serial", "-in", cert.to_str().unwrap()]);
        text.trim().trim_start_matches("serial=").to_string()
    };
    // An earlier version's list, naming the second officer.
    std::fs::write(
        pki.join("revoked.json"),
        format!(
            r#"[{{"serial": "{}", "revoked_at": "2026-12-01T00:00:00Z", "reason": 4}}]"#,
            serial_of(&cert_of(second)).to_lowercase()
        ),
    )
    .unwrap();
    let a = backend.serve();
    let b = backend.serve();
    assert!(
        !pki.join("revoked.json").exists() && pki.join("revoked.json.imported").exists(),
        "the earlier list was moved into the registry"
    );
    let chain = dir.join("chain.pem");
    std::fs::write(
        &chain,
        std::fs::read_to_string(pki.join("root.pem")).unwrap()
            + &std::fs::read_to_string(pki.join("issuing.pem")).unwrap(),
    )
    .unwrap();
    let status = |server: &Server, cert: &Path| {
        let out = Command::new("openssl")
            .args(["ocsp", "-no_nonce", "-issuer"])
            .arg(pki.join("issuing.pem"))
            .arg("-cert")
            .arg(cert)
            .arg("-CAfile")
            .arg(&chain)
            .arg("-url")
            .arg(server.url("/pki/ocsp"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("Response verify OK"), "{text}");
        if text.contains(": revoked") {
            "revoked"
        } else if text.contains(": good") {
            "good"
        } else {
            panic!("{text}")
        }
    };
    let first = cert_of(OFFICER);
    for server in [&a, &b] {
        assert_eq!(status(server, &cert_of(second)), "revoked", "imported");
        assert_eq!(status(server, &first), "good");
    }

    // Revoked through one registry: both servers answer it from the next request.
    let serial = serial_of(&first);
    let out = backend.cli(&["pki", "revoke-cert", &serial, "--reason", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for server in [&a, &b] {
        assert_eq!(status(server, &first), "revoked");
    }
    let crl_path = {
        let text = openssl_text(dir, &["x509", "-noout", "-text", "-in", first.to_str().unwrap()]);
        text.split_whitespace()
            .find_map(|w| w.strip_prefix("URI:").filter(|u| u.ends_with(".crl")))
            .map(|u| u[u.find("/pki/").unwrap()..].to_string())
            .expect("the officer's certificate names its CRL")
    };
    let crl = b.http.get(b.url(&crl_path)).send().unwrap().bytes().unwrap();
    let crl_file = dir.join("issuing.crl");
    std::fs::write(&crl_file, &crl).unwrap();
    let text = openssl_text(
        dir,
        &[
            "crl",
            "-inform",
            "DER",
            "-noout",
            "-text",
            "-in",
            crl_file.to_str().unwrap(),
        ],
    );
    let listed = text.to_uppercase().replace(':', "");
    assert!(
        listed.contains(&serial.to_uppercase().trim_start_matches('0').to_string()),
        "{text}"
    );
    let bad = backend.cli(&["pki", "revoke-cert", "not-a-serial"]);
    assert_eq!(
        bad.status.code(),
        Some(1),
        "a serial that is not hexadecimal is refused"
    );
    let again = backend.cli(&["pki", "revoke-cert", &serial.to_lowercase()]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("revoked already"));
}
