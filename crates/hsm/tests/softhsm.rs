//! Against a real SoftHSM2 token (created in a temporary directory for this test binary): key
//! generation inside the token, signatures checked by RustCrypto and by `openssl`, login and
//! look-up errors, concurrent signing, certificates for token keys, and PAdES signatures through
//! the token checked by pyHanko.
mod common;

use banso_hsm::testkit::{FRESH_TOKEN, TEST_TOKEN, TEST_USER_PIN};
use banso_hsm::{HsmError, KeyKind, KeyRef, Pin, Pkcs11Signer, SignatureAlgorithm, Signer, Token};
use common::{kit, run, scratch, token, verify_openssl, verify_rustcrypto};
use std::process::Command;

fn label(key: &str) -> KeyRef {
    KeyRef::Label(key.to_string())
}

/// Signs a few messages and checks each with RustCrypto and with openssl.
fn sign_and_verify_both_ways(key_label: &str, spki: &[u8], kind: KeyKind) {
    let key = token().find_key(&label(key_label)).unwrap();
    assert_eq!(key.kind(), kind);
    assert_eq!(
        key.spki_der(),
        spki,
        "the found key reports the generated public key"
    );
    let dir = scratch(key_label);
    for (i, msg) in [&b""[..], b"certified copy", &[0xa5u8; 10_000][..]]
        .into_iter()
        .enumerate()
    {
        let sig = key.sign(msg).unwrap();
        assert!(
            verify_rustcrypto(kind, spki, msg, &sig),
            "RustCrypto rejects signature {i}"
        );
        let (ok, text) = verify_openssl(&dir, spki, msg, &sig);
        assert!(
            ok && text.contains("Verified OK"),
            "openssl rejects signature {i}: {text}"
        );
        let mut other = msg.to_vec();
        other.push(0);
        assert!(
            !verify_rustcrypto(kind, spki, &other, &sig),
            "a signature verifies another message"
        );
    }
}

#[test]
fn ec_p256_key_generated_in_token_signs_der_ecdsa() {
    let spki = token().generate_ec_p256("ec-basic").unwrap();
    sign_and_verify_both_ways("ec-basic", &spki, KeyKind::EcP256);
    let key = token().find_key(&label("ec-basic")).unwrap();
    assert_eq!(key.algorithm(), SignatureAlgorithm::EcdsaP256Sha256);
    // ECDSA signatures are DER SEQUENCEs of two INTEGERs, randomised.
    let a = key.sign(b"m").unwrap();
    let b = key.sign(b"m").unwrap();
    assert_eq!(a[0], 0x30);
    assert_ne!(a, b);
    // The same key is found by its CKA_ID.
    let by_id = token().find_key(&KeyRef::Id(key.id().to_vec())).unwrap();
    assert_eq!(by_id.spki_der(), key.spki_der());
    // A second key with the same label is refused.
    assert!(matches!(
        token().generate_ec_p256("ec-basic"),
        Err(HsmError::KeyExists { .. })
    ));
}

#[test]
fn rsa_2048_and_3072_keys_generated_in_token_sign_pkcs1_sha256() {
    for bits in [2048u32, 3072] {
        let name = format!("rsa-{bits}");
        let spki = token().generate_rsa(&name, bits).unwrap();
        sign_and_verify_both_ways(&name, &spki, KeyKind::Rsa { bits });
        let key = token().find_key(&label(&name)).unwrap();
        assert_eq!(key.algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
        assert_eq!(key.sign(b"x").unwrap().len(), bits as usize / 8);
        // PKCS#1 v1.5 is deterministic.
        assert_eq!(key.sign(b"x").unwrap(), key.sign(b"x").unwrap());
    }
    assert!(matches!(
        token().generate_rsa("rsa-1024", 1024),
        Err(HsmError::UnsupportedKey(_))
    ));
}

#[test]
fn generated_private_keys_are_sensitive_and_never_extractable() {
    token().generate_ec_p256("attr-ec").unwrap();
    token().generate_rsa("attr-rsa", 2048).unwrap();
    // Asked of the token by an independent PKCS#11 client (OpenSC's pkcs11-tool).
    let (ok, text) = run(Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", kit().conf())
        .arg("--module")
        .arg(kit().module())
        .args(["--token-label", TEST_TOKEN, "--login", "--pin", TEST_USER_PIN])
        .args(["--list-objects", "--type", "privkey"]));
    assert!(ok, "pkcs11-tool failed: {text}");
    for name in ["attr-ec", "attr-rsa"] {
        let block = text
            .split("Private Key Object")
            .find(|b| b.contains(&format!("label:      {name}\n")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
        assert!(block.contains("sensitive"), "{block}");
        assert!(block.contains("never extractable"), "{block}");
        assert!(block.contains("local"), "{block}");
    }
}

#[test]
fn wrong_pin_is_a_clear_error_on_a_token_never_logged_in() {
    let err = Token::open(kit().module(), FRESH_TOKEN, &Pin::new("0000")).unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("the PIN for token \"{FRESH_TOKEN}\" is incorrect")
    );
    // The right PIN from a file with a trailing newline works.
    let pin_file = kit().write_pin_file("fresh.pin", TEST_USER_PIN).unwrap();
    let token = Token::open(kit().module(), FRESH_TOKEN, &Pin::from_file(&pin_file).unwrap()).unwrap();
    assert!(
        !format!("{token:?}").contains(TEST_USER_PIN),
        "Debug shows the PIN: {token:?}"
    );
}

#[test]
fn wrong_pin_is_refused_even_while_the_process_is_logged_in() {
    let _logged_in = token();
    let err = Token::open(kit().module(), TEST_TOKEN, &Pin::new("9999")).unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect { .. }), "{err:?}");
    let err = Pkcs11Signer::new(kit().module(), TEST_TOKEN, Pin::new("9999"), "any", vec![]).unwrap_err();
    assert!(matches!(err, HsmError::PinIncorrect { .. }), "{err:?}");
}

#[test]
fn missing_key_token_and_module_are_clear_errors() {
    let err = token().find_key(&label("no-such-key")).unwrap_err();
    assert!(matches!(err, HsmError::KeyNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("no private key with label \"no-such-key\" on token \"{TEST_TOKEN}\"")
    );
    let err = Pkcs11Signer::new(
        kit().module(),
        TEST_TOKEN,
        Pin::new(TEST_USER_PIN),
        "no-such-key",
        vec![],
    )
    .unwrap_err();
    assert!(matches!(err, HsmError::KeyNotFound { .. }), "{err:?}");

    let err = Token::open(kit().module(), "no-such-token", &Pin::new(TEST_USER_PIN)).unwrap_err();
    match &err {
        HsmError::TokenNotFound { available, .. } => {
            assert!(available.iter().any(|l| l == TEST_TOKEN), "{err}")
        }
        other => panic!("{other:?}"),
    }
    let err = Token::open("/nonexistent/libpkcs11.so", TEST_TOKEN, &Pin::new("1")).unwrap_err();
    assert!(matches!(err, HsmError::Module { .. }), "{err:?}");
}

#[test]
fn a_chain_that_does_not_certify_the_key_is_refused() {
    let spki = token().generate_ec_p256("chain-check").unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["x".into()])
        .unwrap()
        .self_signed(&other)
        .unwrap();
    let key = token().find_key(&label("chain-check")).unwrap();
    let err = Pkcs11Signer::from_key(key.clone(), vec![cert.der().to_vec()]).unwrap_err();
    assert!(matches!(err, HsmError::Certificate(_)), "{err:?}");
    assert!(Pkcs11Signer::from_key(key.clone(), vec![]).is_err());
    // A certificate for the token key itself is accepted.
    let own = rcgen::CertificateParams::new(vec!["x".into()])
        .unwrap()
        .signed_by(&key, &cert, &other)
        .unwrap();
    let signer = Pkcs11Signer::from_key(key, vec![own.der().to_vec()]).unwrap();
    assert_eq!(signer.key().spki_der(), spki);
}

#[test]
fn eight_threads_sign_two_hundred_times_each_and_every_signature_verifies() {
    let spki = token().generate_ec_p256("concurrent-ec").unwrap();
    // A token of its own so that the pool size is known.
    let pool = Token::open_with_pool(kit().module(), TEST_TOKEN, &Pin::new(TEST_USER_PIN), 4).unwrap();
    let key = pool.find_key(&label("concurrent-ec")).unwrap();
    let signer = Pkcs11Signer::from_key(key, vec![self_signed_for(&pool, "concurrent-ec")]).unwrap();
    let results: Vec<(Vec<u8>, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let signer = &signer;
                s.spawn(move || {
                    (0..200)
                        .map(|i| {
                            let msg = format!("thread {t} message {i}").into_bytes();
                            let sig = Signer::sign(signer, &msg).unwrap();
                            (msg, sig)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.len(), 1600);
    for (msg, sig) in &results {
        assert!(
            verify_rustcrypto(KeyKind::EcP256, &spki, msg, sig),
            "a signature does not verify"
        );
    }
    let open = pool.sessions_open();
    assert!((1..=4).contains(&open), "{open} sessions open, at most 4 allowed");

    // RSA through the shared token's pool at the same time as EC, fewer rounds.
    let rsa_spki = token().generate_rsa("concurrent-rsa", 2048).unwrap();
    let rsa = token().find_key(&label("concurrent-rsa")).unwrap();
    let ec = token().find_key(&label("concurrent-ec")).unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (rsa, ec, rsa_spki, spki) = (&rsa, &ec, &rsa_spki, &spki);
            s.spawn(move || {
                for i in 0..25 {
                    let msg = format!("mixed {t} {i}").into_bytes();
                    let sig = rsa.sign(&msg).unwrap();
                    assert!(verify_rustcrypto(rsa.kind(), rsa_spki, &msg, &sig));
                    let sig = ec.sign(&msg).unwrap();
                    assert!(verify_rustcrypto(KeyKind::EcP256, spki, &msg, &sig));
                }
            });
        }
    });
}

/// A self-signed certificate for a token key, signed inside the token (rcgen RemoteKeyPair).
fn self_signed_for(token: &Token, key_label: &str) -> Vec<u8> {
    let key = token.find_key(&label(key_label)).unwrap();
    let key_pair = key.rcgen_key_pair().unwrap();
    rcgen::CertificateParams::new(vec![key_label.to_string()])
        .unwrap()
        .self_signed(&key_pair)
        .unwrap()
        .der()
        .to_vec()
}

// ---------------------------------------------------------------------------------------------
// Certificates and PDF signatures.

fn names() -> banso_signing::pki::PkiNames {
    banso_signing::pki::PkiNames {
        country: "VN".into(),
        organization: "Sở Tư pháp Thành phố Hà Nội".into(),
        root_cn: "Banso Dev Root CA".into(),
        issuing_cn: "Banso Dev Issuing CA".into(),
        seal_cn: "Trung tâm Phục vụ hành chính công".into(),
    }
}

fn dn(cn: &str) -> rcgen::DistinguishedName {
    use rcgen::{DnType, DnValue};
    let names = names();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString(names.country.as_str().try_into().unwrap()),
    );
    dn.push(DnType::OrganizationName, DnValue::Utf8String(names.organization));
    dn.push(DnType::CommonName, DnValue::Utf8String(cn.to_string()));
    dn
}

fn seal_params(cn: &str) -> rcgen::CertificateParams {
    let now = time::OffsetDateTime::now_utc();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = dn(cn);
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365);
    let mut serial = rand::random::<[u8; 16]>();
    serial[0] = (serial[0] & 0x7f) | 0x40; // positive, full length
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    params.use_authority_key_identifier_extension = true;
    params
}

fn ca_params(cn: &str, path_len: Option<u8>) -> rcgen::CertificateParams {
    let mut params = seal_params(cn);
    params.is_ca = rcgen::IsCa::Ca(match path_len {
        Some(n) => rcgen::BasicConstraints::Constrained(n),
        None => rcgen::BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params
}

fn pem_cert(der: &[u8]) -> String {
    let pem = banso_hsm::der::spki_pem(der).unwrap();
    pem.replace("PUBLIC KEY", "CERTIFICATE")
}

/// Signs a prepared PDF with `signer`, checks it with banso-signing's verifier and with pyHanko
/// against `root_pem` only.
fn sign_pdf_and_validate(signer: &Pkcs11Signer, root_pem: &str, name: &str) {
    let mut prepared = common::pdf::prepared_pdf(3000, false);
    banso_signing::pades::sign_prepared(
        &mut prepared.pdf,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        signer,
    )
    .unwrap();

    let trust = banso_signing::verify::TrustStore::from_pem(root_pem).unwrap();
    let report = banso_signing::verify::verify_pdf(&prepared.pdf, &trust, time::OffsetDateTime::now_utc());
    assert_eq!(report.signatures.len(), 1);
    assert!(report.signatures[0].is_valid(), "{:?}", report.signatures[0]);

    let dir = scratch(name);
    let root = dir.join("root.pem");
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&root, root_pem).unwrap();
    std::fs::write(&file, &prepared.pdf).unwrap();
    let (ok, text) = run(Command::new("pyhanko")
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(&root)
        .arg(&file));
    assert!(ok, "pyhanko failed:\n{text}");
    assert!(text.contains("INTACT:TRUSTED,UNTOUCHED"), "pyhanko:\n{text}");
}

#[test]
fn pdf_signed_with_a_token_seal_key_certified_by_the_dev_pki_validates_in_pyhanko() {
    let pki = banso_signing::pki::DevPki::generate(&names(), time::OffsetDateTime::now_utc()).unwrap();
    token().generate_ec_p256("pdf-seal-ec").unwrap();
    let key = token().find_key(&label("pdf-seal-ec")).unwrap();

    // The DevPki issuing CA signs a certificate for the token's public key. rcgen needs the issuer
    // as a Certificate: the same name and key give the same issuer name and key identifier.
    let issuing_key = rcgen::KeyPair::from_pem(&pki.issuing_key_pem).unwrap();
    let issuer = ca_params(&names().issuing_cn, Some(0))
        .self_signed(&issuing_key)
        .unwrap();
    let seal = seal_params("Trung tâm Phục vụ hành chính công (HSM)")
        .signed_by(&key, &issuer, &issuing_key)
        .unwrap();
    let issuing_der = banso_signing::pem::decode_certificates(&pki.issuing_cert_pem).unwrap();
    let chain = vec![
        seal.der().to_vec(),
        issuing_der[0].clone(),
        pki.root_cert_der().unwrap(),
    ];
    let signer = Pkcs11Signer::new(
        kit().module(),
        TEST_TOKEN,
        Pin::from_file(kit().write_pin_file("seal.pin", TEST_USER_PIN).unwrap()).unwrap(),
        "pdf-seal-ec",
        chain,
    )
    .unwrap();
    assert_eq!(signer.algorithm(), SignatureAlgorithm::EcdsaP256Sha256);
    sign_pdf_and_validate(&signer, &pki.root_cert_pem, "pdf-ec");
}

#[test]
fn a_ca_key_inside_the_token_issues_an_rsa_seal_certificate_and_the_pdf_validates() {
    // Root CA in the token (EC, rcgen RemoteKeyPair), seal key in the token (RSA-3072).
    token().generate_ec_p256("hsm-root-ca").unwrap();
    let root_key = token().find_key(&label("hsm-root-ca")).unwrap();
    let root_pair = root_key.rcgen_key_pair().unwrap();
    let root = ca_params("Banso HSM Root CA", None)
        .self_signed(&root_pair)
        .unwrap();
    let root_pem = pem_cert(root.der());

    token().generate_rsa("pdf-seal-rsa", 3072).unwrap();
    let seal_key = token().find_key(&label("pdf-seal-rsa")).unwrap();
    let seal = seal_params("Con dấu HSM RSA")
        .signed_by(&seal_key, &root, &root_pair)
        .unwrap();

    // openssl agrees that the token-signed chain holds.
    let dir = scratch("hsm-ca");
    std::fs::write(dir.join("root.pem"), &root_pem).unwrap();
    std::fs::write(dir.join("seal.pem"), pem_cert(seal.der())).unwrap();
    let (ok, text) = run(Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .arg(dir.join("seal.pem")));
    assert!(ok, "openssl verify: {text}");

    let signer = Pkcs11Signer::from_key(seal_key, vec![seal.der().to_vec(), root.der().to_vec()]).unwrap();
    assert_eq!(signer.algorithm(), SignatureAlgorithm::RsaPkcs1Sha256);
    sign_pdf_and_validate(&signer, &root_pem, "pdf-rsa");
}
