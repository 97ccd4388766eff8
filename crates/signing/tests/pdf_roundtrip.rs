//! Sign a hand-made PDF with a fresh development PKI, verify it with this crate and with independent
//! validators (pyHanko, poppler's pdfsig), and check that tampering is reported with the right reason.
mod common;

use banso_signing::pades::sign_prepared;
use banso_signing::pki::DevPki;
use banso_signing::verify::{verify_pdf, SignatureReport, TrustStore};
use banso_signing::Signer as _;
use std::path::Path;
use std::process::Command;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn signed_pdf(pki: &DevPki, contents_first: bool) -> (Vec<u8>, [u8; 32]) {
    let mut prepared = common::prepared_pdf(2000, contents_first);
    let signer = pki.seal_signer().unwrap();
    let hash = sign_prepared(
        &mut prepared.pdf,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        &signer,
    )
    .unwrap();
    (prepared.pdf, hash)
}

fn only(report: &banso_signing::verify::PdfReport) -> &SignatureReport {
    assert_eq!(report.signatures.len(), 1, "{report:#?}");
    &report.signatures[0]
}

fn reason(check: &banso_signing::verify::Check) -> Option<&str> {
    check.reason.as_deref()
}

fn tool(name: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success());
    // An independent validator that is missing is a failure, never a skip: scripts/setup.sh installs it.
    assert!(found, "{name} is not installed; run scripts/setup.sh");
    found
}

fn pyhanko(dir: &Path, root_pem: &str, pdf: &[u8], name: &str) -> (bool, String) {
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pyhanko")
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(&root)
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pdfsig(dir: &Path, root_pem: &str, pdf: &[u8]) -> String {
    let db = dir.join("nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem).unwrap();
    let nss = format!("sql:{}", db.display());
    let st = Command::new("certutil")
        .args(["-N", "-d", &nss, "--empty-password"])
        .status()
        .unwrap();
    assert!(st.success());
    let st = Command::new("certutil")
        .args(["-A", "-d", &nss, "-n", "root", "-t", "CT,C,C", "-i"])
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    let file = dir.join("signed.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdfsig")
        .args(["-nssdir", &nss])
        .arg(&file)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn signed_pdf_verifies_with_all_checks() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    for contents_first in [false, true] {
        let (pdf, hash) = signed_pdf(&pki, contents_first);
        let report = verify_pdf(&pdf, &trust, now());
        let sig = only(&report);
        assert!(sig.is_valid(), "{sig:#?}");
        assert_eq!(report.sha256, hash);
        use sha2::Digest as _;
        assert_eq!(report.sha256, <[u8; 32]>::from(sha2::Sha256::digest(&pdf)));
        assert_eq!(sig.field_name.as_deref(), Some("Signature1"));
        assert_eq!(
            sig.signer_subject.as_deref(),
            Some("CN=Trung tâm Phục vụ hành chính công, O=Sở Tư pháp Thành phố Hà Nội, C=VN")
        );
        assert_eq!(
            sig.claimed_signing_time.as_deref(),
            Some("D:20250101120000+07'00'")
        );
    }
}

#[test]
fn independent_validators_accept_the_signature() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let (pdf, _) = signed_pdf(&pki, false);
    let dir = tempfile::tempdir().unwrap();
    if tool("pyhanko") {
        let (ok, text) = pyhanko(dir.path(), &pki.root_cert_pem, &pdf, "signed.pdf");
        assert!(ok, "pyhanko failed:\n{text}");
        assert!(text.contains("INTACT:TRUSTED,UNTOUCHED"), "pyhanko:\n{text}");
    }
    if tool("pdfsig") && tool("certutil") {
        let text = pdfsig(dir.path(), &pki.root_cert_pem, &pdf);
        assert!(text.contains("Signature is Valid"), "pdfsig:\n{text}");
        assert!(!text.contains("Digest Mismatch"), "pdfsig:\n{text}");
    }
}

#[test]
fn a_changed_byte_is_a_digest_mismatch() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    let (mut pdf, _) = signed_pdf(&pki, false);
    let at = pdf.windows(5).position(|w| w == b"Hello").unwrap();
    pdf[at] = b'J';
    let report = verify_pdf(&pdf, &trust, now());
    let sig = only(&report);
    assert!(!sig.integrity.ok);
    assert_eq!(reason(&sig.integrity), Some("digest_mismatch"));
    assert!(
        sig.chain.ok && sig.coverage.ok && sig.modifications.ok,
        "{sig:#?}"
    );

    if tool("pyhanko") {
        let dir = tempfile::tempdir().unwrap();
        let (ok, text) = pyhanko(dir.path(), &pki.root_cert_pem, &pdf, "tampered.pdf");
        assert!(
            !ok || !text.contains("INTACT"),
            "pyhanko accepted a tampered file:\n{text}"
        );
    }
}

#[test]
fn appended_bytes_are_modifications_after_signing() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    let (mut pdf, _) = signed_pdf(&pki, false);
    pdf.extend_from_slice(b"% appended\n");
    let report = verify_pdf(&pdf, &trust, now());
    let sig = only(&report);
    assert!(sig.integrity.ok && sig.chain.ok && sig.coverage.ok, "{sig:#?}");
    assert!(!sig.modifications.ok);
    assert_eq!(reason(&sig.modifications), Some("modified_after_signing"));
    assert!(
        sig.modifications.detail.contains("11 bytes"),
        "{}",
        sig.modifications.detail
    );
}

#[test]
fn another_pki_is_untrusted() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let stranger = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let (pdf, _) = signed_pdf(&stranger, false);
    let report = verify_pdf(&pdf, &pki.trust_store().unwrap(), now());
    let sig = only(&report);
    assert!(
        sig.integrity.ok && sig.coverage.ok && sig.modifications.ok,
        "{sig:#?}"
    );
    assert!(!sig.chain.ok);
    assert_eq!(reason(&sig.chain), Some("untrusted_chain"));
    // No trust anchors at all: untrusted too.
    let report = verify_pdf(&pdf, &TrustStore::default(), now());
    assert_eq!(reason(&only(&report).chain), Some("untrusted_chain"));
}

#[test]
fn expired_certificates_are_reported() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let (pdf, _) = signed_pdf(&pki, false);
    let later = now() + time::Duration::days(4 * 365);
    let report = verify_pdf(&pdf, &pki.trust_store().unwrap(), later);
    assert_eq!(reason(&only(&report).chain), Some("expired_certificate"));
    let earlier = now() - time::Duration::days(1);
    let report = verify_pdf(&pdf, &pki.trust_store().unwrap(), earlier);
    assert_eq!(reason(&only(&report).chain), Some("expired_certificate"));
}

#[test]
fn a_tampered_certificate_is_a_bad_certificate_signature() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    let (mut pdf, _) = signed_pdf(&pki, false);
    // Change one letter of the seal certificate's common name inside the embedded CMS.
    let cn_hex = hex::encode_upper("Trung tâm".as_bytes());
    let at = pdf
        .windows(cn_hex.len())
        .position(|w| w == cn_hex.as_bytes())
        .unwrap();
    pdf[at + 1] = if pdf[at + 1] == b'4' { b'5' } else { b'4' };
    let report = verify_pdf(&pdf, &trust, now());
    let sig = only(&report);
    assert_eq!(reason(&sig.chain), Some("bad_certificate_signature"), "{sig:#?}");
    assert_eq!(
        reason(&sig.integrity),
        Some("signing_certificate_mismatch"),
        "{sig:#?}"
    );
    assert!(sig.coverage.ok && sig.modifications.ok);
}

#[test]
fn replaced_signature_value_is_bad_signature() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    let mut prepared = common::prepared_pdf(100, false);
    // Sign once to learn the layout, then flip a byte inside the ECDSA signature's hex.
    let signer = pki.seal_signer().unwrap();
    sign_prepared(
        &mut prepared.pdf,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        &signer,
    )
    .unwrap();
    // The signature OCTET STRING is at the end of the CMS; its last byte sits at hex position 2*len-1.
    let hex_at = |i: usize| prepared.contents_hex.start + i;
    let report = verify_pdf(&prepared.pdf, &trust, now());
    assert!(only(&report).is_valid());
    let mut der_len = 0;
    // Find the CMS length from its header (30 82 hi lo).
    let h = &prepared.pdf[prepared.contents_hex.clone()];
    let hexbyte =
        |i: usize| u8::from_str_radix(std::str::from_utf8(&h[2 * i..2 * i + 2]).unwrap(), 16).unwrap();
    if hexbyte(1) == 0x82 {
        der_len = 4 + ((hexbyte(2) as usize) << 8 | hexbyte(3) as usize);
    }
    assert!(der_len > 0);
    let pos = hex_at(2 * (der_len - 3));
    prepared.pdf[pos] = if prepared.pdf[pos] == b'1' { b'2' } else { b'1' };
    let report = verify_pdf(&prepared.pdf, &trust, now());
    assert_eq!(
        reason(&only(&report).integrity),
        Some("bad_signature"),
        "{report:#?}"
    );
}

#[test]
fn hostile_input_never_panics() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    let (pdf, _) = signed_pdf(&pki, false);
    for cut in (0..pdf.len()).step_by(97).chain([pdf.len() - 1, pdf.len() - 20]) {
        let _ = verify_pdf(&pdf[..cut], &trust, now());
    }
    let mut x: u64 = 42;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..300 {
        let mut copy = pdf.clone();
        for _ in 0..4 {
            let i = (rnd() as usize) % copy.len();
            copy[i] = rnd() as u8;
        }
        let _ = verify_pdf(&copy, &trust, now());
    }
    // Mutations concentrated in the CMS (hex digits only, so the dictionary stays findable).
    let start = pdf.windows(11).position(|w| w == b"/Contents <").unwrap() + 11;
    for _ in 0..500 {
        let mut copy = pdf.clone();
        let i = start + (rnd() as usize) % 3000;
        copy[i] = b"0123456789ABCDEF"[(rnd() % 16) as usize];
        let report = verify_pdf(&copy, &trust, now());
        assert_eq!(report.signatures.len(), 1);
    }
    let random: Vec<u8> = (0..100_000).map(|_| rnd() as u8).collect();
    assert!(verify_pdf(&random, &trust, now()).signatures.is_empty());
    let mut many = Vec::new();
    for _ in 0..1000 {
        many.extend_from_slice(b"/ByteRange [0 1 2 3] /Contents <30> ");
    }
    assert!(verify_pdf(&many, &trust, now()).signatures.len() <= 64);
}

#[test]
fn placeholder_and_byte_range_are_checked() {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let signer = pki.seal_signer().unwrap();
    let mut p = common::prepared_pdf(10, false);
    let mut wrong = p.byte_range;
    wrong[3] += 1;
    assert!(sign_prepared(&mut p.pdf, wrong, p.contents_hex.clone(), &signer).is_err());
    let small = p.contents_hex.start..p.contents_hex.start + 200;
    let err = sign_prepared(&mut p.pdf, p.byte_range, small, &signer).unwrap_err();
    assert!(matches!(err, banso_signing::SigningError::Prepared(_)), "{err}");
    let n = p.pdf.len();
    assert!(sign_prepared(&mut p.pdf, p.byte_range, 0..n + 4, &signer).is_err());

    let mut small = common::prepared_pdf_with(10, false, 500);
    let before = small.pdf.clone();
    let err = sign_prepared(
        &mut small.pdf,
        small.byte_range,
        small.contents_hex.clone(),
        &signer,
    )
    .unwrap_err();
    match err {
        banso_signing::SigningError::PlaceholderTooSmall { needed, available } => {
            assert_eq!(available, 500);
            assert!(needed > 500);
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(small.pdf, before, "a failed signing leaves the file untouched");
}

#[test]
fn a_signature_added_by_pyhanko_is_found_and_verified() {
    assert!(tool("pyhanko"));
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let trust = pki.trust_store().unwrap();
    let (pdf, _) = signed_pdf(&pki, false);
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("in.pdf"), &pdf).unwrap();
    std::fs::write(p("key.pem"), &pki.seal_key_pem).unwrap();
    std::fs::write(p("cert.pem"), &pki.seal_cert_pem).unwrap();
    std::fs::write(
        p("chain.pem"),
        format!("{}{}", pki.issuing_cert_pem, pki.root_cert_pem),
    )
    .unwrap();
    let out = Command::new("pyhanko")
        .args([
            "sign",
            "addsig",
            "--field",
            "1/100,100,200,150/Sig2",
            "--use-pades",
            "pemder",
            "--no-pass",
        ])
        .arg("--key")
        .arg(p("key.pem"))
        .arg("--cert")
        .arg(p("cert.pem"))
        .arg("--chain")
        .arg(p("chain.pem"))
        .arg(p("in.pdf"))
        .arg(p("out.pdf"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let both = std::fs::read(p("out.pdf")).unwrap();
    let report = verify_pdf(&both, &trust, now());
    assert_eq!(report.signatures.len(), 2, "{report:#?}");
    let ours = &report.signatures[0];
    assert!(
        ours.integrity.ok && ours.chain.ok && ours.coverage.ok,
        "{ours:#?}"
    );
    // pyHanko's signature has a visible widget (100,100)-(200,150) on page 1: it paints over the signed page.
    assert_eq!(reason(&ours.modifications), Some("overlay_after_signing"));
    let theirs = &report.signatures[1];
    assert!(theirs.is_valid(), "{theirs:#?}");
    assert_eq!(theirs.field_name.as_deref(), Some("Sig2"), "{theirs:#?}");
}

#[test]
fn rsa_software_signer_signs_verifiable_pdfs() {
    use pkcs8::EncodePrivateKey as _;
    let rsa_key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
    let key_pem = rsa_key.to_pkcs8_pem(pkcs8::LineEnding::LF).unwrap().to_string();
    let key_pair = rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.not_before = now() - time::Duration::hours(1);
    params.not_after = now() + time::Duration::days(30);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "RSA test signer");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::ContentCommitment,
    ];
    let cert = params.self_signed(&key_pair).unwrap();

    let signer = banso_signing::SoftwareSigner::from_pem(&key_pem, &cert.pem()).unwrap();
    assert_eq!(
        signer.algorithm(),
        banso_signing::SignatureAlgorithm::RsaPkcs1Sha256
    );
    let mut prepared = common::prepared_pdf(1000, false);
    sign_prepared(
        &mut prepared.pdf,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        &signer,
    )
    .unwrap();
    let trust = TrustStore::from_pem(&cert.pem()).unwrap();
    let report = verify_pdf(&prepared.pdf, &trust, now());
    let sig = only(&report);
    assert!(sig.is_valid(), "{sig:#?}");
    assert_eq!(sig.signer_subject.as_deref(), Some("CN=RSA test signer"));

    // The same file with one changed byte.
    let at = prepared.pdf.windows(5).position(|w| w == b"Hello").unwrap();
    prepared.pdf[at + 1] = b'a';
    let report = verify_pdf(&prepared.pdf, &trust, now());
    assert_eq!(reason(&only(&report).integrity), Some("digest_mismatch"));
}

/// The `der` crate sorts a SET OF by insertion when decoding it; a signature whose CMS carries a large set in
/// reverse order must be refused from a linear walk, before any decoder spends quadratic time on it.
#[test]
fn a_cms_with_a_huge_set_is_refused_before_decoding() {
    use der::Encode as _;
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let mut prepared = common::prepared_pdf(0, false);
    // A ContentInfo whose SignedData has 3,000 signer infos, written in descending order.
    let header = |tag: der::Tag, body: &[u8]| {
        let mut out = der::Header::new(tag, der::Length::try_from(body.len()).unwrap())
            .unwrap()
            .to_der()
            .unwrap();
        out.extend_from_slice(body);
        out
    };
    let mut infos = Vec::new();
    for i in (0u16..3000).rev() {
        infos.extend(header(der::Tag::OctetString, &i.to_be_bytes()));
    }
    let signed_data = header(
        der::Tag::Sequence,
        &[
            der::asn1::Uint::new(&[1]).unwrap().to_der().unwrap(),
            header(der::Tag::Set, &[]),
            header(der::Tag::Sequence, &banso_signing::oid::DATA.to_der().unwrap()),
            header(der::Tag::Set, &infos),
        ]
        .concat(),
    );
    let explicit = header(
        der::Tag::ContextSpecific {
            constructed: true,
            number: der::TagNumber::N0,
        },
        &signed_data,
    );
    let cms = header(
        der::Tag::Sequence,
        &[banso_signing::oid::SIGNED_DATA.to_der().unwrap(), explicit].concat(),
    );
    let hex = hex::encode_upper(&cms);
    let range = prepared.contents_hex.clone();
    assert!(hex.len() <= range.len());
    prepared.pdf[range.start..range.start + hex.len()].copy_from_slice(hex.as_bytes());
    let refused = banso_signing::verify::verify_pdf_within(
        &prepared.pdf,
        &pki.trust_store().unwrap(),
        now(),
        banso_signing::verify::Limits::default(),
    )
    .unwrap_err();
    // Only the linear walk names the set: the decoders never saw it.
    assert!(refused.0.contains("a set of 3000 elements"), "{refused}");
}
