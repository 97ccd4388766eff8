//! Incremental updates (second signature, DSS, document timestamps) checked with this crate's verifier
//! and with independent tools: pyHanko (`sign validate`, `sign adesverify`) and qpdf.
mod common;

use banso_signing::crl::{build_crl, RevokedEntry};
use banso_signing::incremental::{self, SignatureMeta};
use banso_signing::ltv::add_dss;
use banso_signing::ocsp::{response_for, CertStatus};
use banso_signing::pades::sign_prepared;
use banso_signing::pki::slug;
use banso_signing::pki::Hierarchy;
use banso_signing::tsa::{TimestampAuthority, TimestampSource, DEV_POLICY};
use banso_signing::verify::{verify_pdf, PdfReport};
use banso_signing::verify::{Indication, Level, SignatureKind};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// A hierarchy whose CRL distribution points are served over HTTP on loopback (pyHanko fetches them
/// for `sign validate`); `revoked_seal` lists the seal certificate in the issuing CA's CRL.
/// Certificates, CRLs and OCSP responses, DER.
type ValidationData = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<Vec<u8>>);

struct Pki {
    h: Hierarchy,
    dir: tempfile::TempDir,
    server: Option<Child>,
    crls: Vec<Vec<u8>>,
}

impl Drop for Pki {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Pki {
    fn new(revoked_seal: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let h = Hierarchy::generate(
            &banso_signing::testkit::test_names(),
            &["Nguyễn Văn An"],
            &base,
            now(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let crl_dir = dir.path().join("www/pki/crl");
        std::fs::create_dir_all(&crl_dir).unwrap();
        let t = now() - time::Duration::minutes(5);
        let next = t + time::Duration::days(7);
        let root_crl = build_crl(&h.root_signer().unwrap(), t, next, 1, &[]).unwrap();
        let revoked: Vec<RevokedEntry> = if revoked_seal {
            let seal = banso_signing::cert::CertView::parse(&h.seal.cert_der).unwrap();
            vec![RevokedEntry {
                serial: seal.serial().to_vec(),
                revoked_at: t,
                reason: None,
            }]
        } else {
            Vec::new()
        };
        let issuing_crl = build_crl(&h.issuing_signer().unwrap(), t, next, 1, &revoked).unwrap();
        std::fs::write(
            crl_dir.join(format!(
                "{}.crl",
                slug(&banso_signing::testkit::test_names().root_cn)
            )),
            &root_crl,
        )
        .unwrap();
        std::fs::write(
            crl_dir.join(format!(
                "{}.crl",
                slug(&banso_signing::testkit::test_names().issuing_cn)
            )),
            &issuing_crl,
        )
        .unwrap();
        let mut pki = Pki {
            h,
            dir,
            server: None,
            crls: vec![root_crl, issuing_crl],
        };
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(pki.dir.path().join("www"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        pki.server = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        pki
    }

    /// Stops the CRL server: later validations must rely on the embedded data.
    fn stop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn tsa(&self) -> TimestampAuthority {
        TimestampAuthority::new(Arc::new(self.h.signer(&self.h.tsa).unwrap()), DEV_POLICY).unwrap()
    }

    /// Chain certificates, CRLs and OCSP responses (signed by the delegated responder) for the seal, the
    /// officer and the TSA.
    fn validation_data(&self) -> ValidationData {
        let h = &self.h;
        let certs = vec![
            h.root.cert_der.clone(),
            h.issuing.cert_der.clone(),
            h.seal.cert_der.clone(),
            h.tsa.cert_der.clone(),
            h.ocsp.cert_der.clone(),
        ];
        let responder = h.signer(&h.ocsp).unwrap();
        let officer = h.officer("Nguyễn Văn An").unwrap();
        let ocsps = [&h.seal, &h.tsa, officer]
            .iter()
            .map(|e| {
                response_for(
                    &responder,
                    &e.cert_der,
                    &h.issuing.cert_der,
                    CertStatus::Good,
                    now() - time::Duration::minutes(1),
                    time::Duration::days(1),
                )
                .unwrap()
            })
            .collect();
        (certs, self.crls.clone(), ocsps)
    }
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (missing tool is a failure)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn qpdf_check(dir: &Path, pdf: &[u8], name: &str) {
    let f = dir.join(name);
    std::fs::write(&f, pdf).unwrap();
    let (ok, text) = run(Command::new("qpdf").arg("--check").arg(&f));
    assert!(ok, "qpdf --check {name}:\n{text}");
}

fn pyhanko_validate(dir: &Path, h: &Hierarchy, pdf: &[u8], name: &str) -> (bool, String) {
    let root = dir.join("root.pem");
    std::fs::write(&root, h.root.cert_pem()).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, pdf).unwrap();
    run(Command::new("pyhanko")
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(&root)
        .arg(&f))
}

/// The first signature (organisation seal) in the one-revision file, as banso-render lays it out.
fn first_signed(h: &Hierarchy) -> Vec<u8> {
    let mut p = common::prepared_pdf(2000, false);
    let seal = h.signer(&h.seal).unwrap();
    sign_prepared(&mut p.pdf, p.byte_range, p.contents_hex.clone(), &seal).unwrap();
    p.pdf
}

fn officer_meta() -> SignatureMeta {
    SignatureMeta {
        name: Some("Nguyễn Văn An".into()),
        reason: Some("Chứng thực bản sao".into()),
        location: Some("Hà Nội".into()),
        signing_time: Some(now()),
    }
}

fn add_officer(h: &Hierarchy, one: &[u8]) -> Vec<u8> {
    let officer = h.signer(h.officer("Nguyễn Văn An").unwrap()).unwrap();
    incremental::add_signature(one, "Officer", 16384, &officer_meta(), &officer).unwrap()
}

fn report(h: &Hierarchy, pdf: &[u8]) -> PdfReport {
    verify_pdf(pdf, &h.trust_store().unwrap(), now())
}

/// Adds a signature timestamp (unsigned attribute id-aa-signatureTimeStampToken) to the CMS in the
/// /Contents placeholder of a signed file (what PAdES B-T signing does).
fn add_signature_timestamp(pdf: &mut [u8], contents_hex: std::ops::Range<usize>, tsa: &dyn TimestampSource) {
    use cms::content_info::ContentInfo;
    use cms::signed_data::{SignedData, SignerInfos};
    use der::{Decode as _, Encode as _};
    use sha2::Digest as _;
    let der = hex::decode(&pdf[contents_hex.clone()]).unwrap();
    let info = ContentInfo::from_der(banso_signing::verify::first_element(&der).unwrap()).unwrap();
    let mut signed: SignedData = info.content.decode_as().unwrap();
    let mut signer = signed.signer_infos.0.iter().next().unwrap().clone();
    let token = tsa
        .timestamp(&sha2::Sha256::digest(signer.signature.as_bytes()).into())
        .unwrap();
    let attr = x509_cert::attr::Attribute {
        oid: banso_signing::oid::ATTR_SIGNATURE_TIME_STAMP,
        values: der::asn1::SetOfVec::try_from(vec![der::Any::from_der(&token).unwrap()]).unwrap(),
    };
    signer.unsigned_attrs = Some(der::asn1::SetOfVec::try_from(vec![attr]).unwrap());
    signed.signer_infos = SignerInfos(der::asn1::SetOfVec::try_from(vec![signer]).unwrap());
    let cms = ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&signed).unwrap(),
    }
    .to_der()
    .unwrap();
    let hex = hex::encode_upper(&cms);
    assert!(hex.len() <= contents_hex.len(), "placeholder too small for B-T");
    let area = &mut pdf[contents_hex];
    area.fill(b'0');
    area[..hex.len()].copy_from_slice(hex.as_bytes());
}

/// Seal B-T in the first revision, officer B-T by incremental update.
fn two_bt_signatures(pki: &Pki) -> Vec<u8> {
    let h = &pki.h;
    let tsa = pki.tsa();
    let mut p = common::prepared_pdf_with(2000, false, 16384);
    let seal = h.signer(&h.seal).unwrap();
    sign_prepared(&mut p.pdf, p.byte_range, p.contents_hex.clone(), &seal).unwrap();
    add_signature_timestamp(&mut p.pdf, p.contents_hex.clone(), &tsa);
    let officer = h.signer(h.officer("Nguyễn Văn An").unwrap()).unwrap();
    let mut q = incremental::prepare_signature(&p.pdf, "Officer", 16384, &officer_meta()).unwrap();
    sign_prepared(&mut q.bytes, q.byte_range, q.contents_hex.clone(), &officer).unwrap();
    add_signature_timestamp(&mut q.bytes, q.contents_hex.clone(), &tsa);
    q.bytes
}

/// DSS (chain, CRLs, OCSP) then a document timestamp.
fn lta_round(pki: &Pki, pdf: &[u8]) -> Vec<u8> {
    let (certs, crls, ocsps) = pki.validation_data();
    let with_dss = add_dss(pdf, &certs, &crls, &ocsps).unwrap();
    let tsa = pki.tsa();
    incremental::add_document_timestamp(&with_dss, 16384, &tsa).unwrap()
}

fn adesverify(dir: &Path, pki: &Pki, pdf: &[u8], name: &str) -> (bool, String) {
    let root = dir.join("root.pem");
    std::fs::write(&root, pki.h.root.cert_pem()).unwrap();
    let f = dir.join(name);
    std::fs::write(&f, pdf).unwrap();
    run(Command::new("pyhanko")
        .args([
            "sign",
            "adesverify",
            "--executive-summary",
            "--trust-replace",
            "--trust",
        ])
        .arg(&root)
        .arg(&f))
}

#[test]
fn second_signature_by_incremental_update() {
    let pki = Pki::new(false);
    let h = &pki.h;
    let one = first_signed(h);
    let two = add_officer(h, &one);
    assert!(two.starts_with(&one), "earlier bytes are untouched");
    let dir = tempfile::tempdir().unwrap();
    qpdf_check(dir.path(), &two, "two.pdf");
    let (ok, text) = pyhanko_validate(dir.path(), h, &two, "two.pdf");
    assert!(ok, "pyhanko:\n{text}");
    assert_eq!(text.matches("INTACT:TRUSTED").count(), 2, "pyhanko:\n{text}");
    let r = report(h, &two);
    assert_eq!(r.signatures.len(), 2, "{r:#?}");
    for s in &r.signatures {
        assert!(s.is_valid(), "{s:#?}");
    }
    assert_eq!(r.signatures[1].field_name.as_deref(), Some("Officer"));
}

#[test]
fn b_lta_with_dss_and_document_timestamps() {
    let mut pki = Pki::new(false);
    let dir = tempfile::tempdir().unwrap();
    let two = two_bt_signatures(&pki);
    let r = report(&pki.h, &two);
    assert_eq!(r.signatures.len(), 2);
    for s in &r.signatures {
        assert_eq!(s.level, Some(Level::BT), "{s:#?}");
        assert!(s.timestamp.as_ref().unwrap().ok, "{s:#?}");
        // No revocation data embedded yet.
        assert_eq!(s.indication, Indication::Indeterminate, "{s:#?}");
        assert_eq!(s.sub_indication.as_deref(), Some("TRY_LATER"));
        assert_eq!(s.revocation.reason.as_deref(), Some("no_revocation_data"));
    }

    let t0 = std::time::Instant::now();
    let lta = lta_round(&pki, &two);
    let lta_time = t0.elapsed();
    assert!(lta.starts_with(&two));
    qpdf_check(dir.path(), &lta, "lta.pdf");
    let r = report(&pki.h, &lta);
    assert_eq!(r.signatures.len(), 3, "{r:#?}");
    let sigs: Vec<_> = r
        .signatures
        .iter()
        .filter(|s| s.kind == SignatureKind::Signature)
        .collect();
    assert_eq!(sigs.len(), 2);
    for s in &sigs {
        assert!(s.is_valid(), "{s:#?}");
        assert!(s.revocation.ok, "{s:#?}");
        assert_eq!(s.level, Some(Level::BLTA), "{s:#?}");
        assert_eq!(s.indication, Indication::TotalPassed, "{s:#?}");
    }
    let ts: Vec<_> = r
        .signatures
        .iter()
        .filter(|s| s.kind == SignatureKind::DocumentTimestamp)
        .collect();
    assert_eq!(ts.len(), 1);
    assert!(ts[0].is_valid() && ts[0].timestamp_time.is_some(), "{:#?}", ts[0]);
    assert_eq!(r.indication, Indication::TotalPassed, "{r:#?}");

    let (ok, text) = pyhanko_validate(dir.path(), &pki.h, &lta, "lta.pdf");
    assert!(ok, "pyhanko validate:\n{text}");
    // pyHanko lists the signatures (with their timestamp tokens), not the document timestamps.
    assert_eq!(
        text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
            .count(),
        2,
        "pyhanko:\n{text}"
    );
    assert!(text.contains("EXTENDED_WITH_LTA_UPDATES"), "pyhanko:\n{text}");

    // Second round: archive timestamp renewal.
    let renewed = lta_round(&pki, &lta);
    qpdf_check(dir.path(), &renewed, "renewed.pdf");
    let r = report(&pki.h, &renewed);
    assert_eq!(r.signatures.len(), 4, "{r:#?}");
    assert_eq!(r.indication, Indication::TotalPassed, "{r:#?}");
    let (ok, text) = pyhanko_validate(dir.path(), &pki.h, &renewed, "renewed.pdf");
    assert!(ok, "pyhanko validate (renewed):\n{text}");
    assert_eq!(
        text.matches("INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>")
            .count(),
        2,
        "pyhanko:\n{text}"
    );
    // The seal's worst change is the officer's signature field (form filling); the officer's are LTA updates.
    assert!(text.contains("EXTENDED_WITH_LTA_UPDATES"), "pyhanko:\n{text}");

    // From here on nothing may be fetched: adesverify must use the embedded data.
    pki.stop();
    let (ok, text) = adesverify(dir.path(), &pki, &lta, "lta.pdf");
    println!("pyhanko adesverify (B-LTA file):\n{text}");
    assert!(ok, "adesverify:\n{text}");
    assert_eq!(text.matches(":VALID").count(), 2, "{text}");
    // The same through pyHanko's API: PAdES-LTA validation (ades_lta_validation) with CRL-or-OCSP
    // required for end-entity and intermediate certificates, local (embedded) data only.
    let script = dir.path().join("lta.py");
    std::fs::write(&script, LTA_SCRIPT).unwrap();
    let (ok, text) = run(Command::new("python3")
        .arg(&script)
        .arg(dir.path().join("root.pem"))
        .arg(dir.path().join("lta.pdf")));
    println!("pyhanko ades_lta_validation:\n{text}");
    assert!(ok, "{text}");
    assert_eq!(text.matches("AdESPassed.OK").count(), 2, "{text}");
    let (ok, text) = adesverify(dir.path(), &pki, &renewed, "renewed.pdf");
    println!("pyhanko adesverify (renewed file):\n{text}");
    assert!(ok, "adesverify renewed:\n{text}");
    println!("B-LT + B-LTA round (DSS + document timestamp) took {lta_time:?}");
}

#[test]
fn content_changed_after_signing_is_detected() {
    let pki = Pki::new(false);
    let h = &pki.h;
    let one = first_signed(h);
    // An incremental update rewriting the page content stream (object 6).
    let doc = incremental::PdfDoc::parse(&one).unwrap();
    let mut up = incremental::Update::new(&doc);
    let text = b"BT /F1 24 Tf 72 720 Td (Forged content) Tj ET".to_vec();
    up.put(6, &incremental::Obj::Stream(incremental::Dict::new(), text));
    let (forged, _) = up.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    qpdf_check(dir.path(), &forged, "forged.pdf");
    let r = report(h, &forged);
    let s = &r.signatures[0];
    assert_eq!(
        s.modifications.reason.as_deref(),
        Some("modified_after_signing"),
        "{s:#?}"
    );
    assert_eq!(s.indication, Indication::TotalFailed);
    let (ok, text) = pyhanko_validate(dir.path(), h, &forged, "forged.pdf");
    assert!(!text.contains("UNTOUCHED"), "pyhanko:\n{text}");
    assert!(
        !ok || !text.contains("ACCEPTABLE_MODIFICATIONS"),
        "pyhanko:\n{text}"
    );

    // Plain appended bytes, no revision.
    let mut appended = add_officer(h, &one);
    appended.extend_from_slice(b"garbage that is not a revision\n");
    let r = report(h, &appended);
    for s in &r.signatures {
        assert_eq!(
            s.modifications.reason.as_deref(),
            Some("modified_after_signing"),
            "{s:#?}"
        );
    }
}

#[test]
fn revoked_signer_is_total_failed_and_missing_data_indeterminate() {
    let pki = Pki::new(true);
    let h = &pki.h;
    let one = first_signed(h);
    let r = report(h, &one);
    assert_eq!(r.signatures[0].indication, Indication::Indeterminate, "{r:#?}");
    assert_eq!(
        r.signatures[0].revocation.reason.as_deref(),
        Some("no_revocation_data")
    );
    let (certs, crls, _) = pki.validation_data();
    let with_dss = add_dss(&one, &certs, &crls, &[]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    qpdf_check(dir.path(), &with_dss, "revoked.pdf");
    let r = report(h, &with_dss);
    let s = &r.signatures[0];
    assert!(s.modifications.ok, "{s:#?}");
    assert_eq!(s.revocation.reason.as_deref(), Some("revoked"), "{s:#?}");
    assert_eq!(s.indication, Indication::TotalFailed);
    assert_eq!(s.sub_indication.as_deref(), Some("REVOKED"));
    assert_eq!(r.indication, Indication::TotalFailed);
}

#[test]
fn expired_signer_with_earlier_timestamp_passes() {
    let pki = Pki::new(false);
    let two = two_bt_signatures(&pki);
    let lta = lta_round(&pki, &two);
    let later = now() + time::Duration::days(4 * 365);
    let r = verify_pdf(&lta, &pki.h.trust_store().unwrap(), later);
    let s = &r.signatures[0];
    assert!(s.chain.ok, "{s:#?}");
    assert!(s.validation_time < now() + time::Duration::minutes(5));
    // Without a timestamp, the same time gives OUT_OF_BOUNDS_NO_POE.
    let one = first_signed(&pki.h);
    let r = verify_pdf(&one, &pki.h.trust_store().unwrap(), later);
    assert_eq!(
        r.signatures[0].sub_indication.as_deref(),
        Some("OUT_OF_BOUNDS_NO_POE")
    );
}

#[test]
fn reads_cross_reference_streams_and_object_streams() {
    // qpdf rewrites our signed file with object streams and a cross-reference stream; we must still find
    // the catalog, the AcroForm and the pages, and add a signature to it.
    let pki = Pki::new(false);
    let one = first_signed(&pki.h);
    let dir = tempfile::tempdir().unwrap();
    let inp = dir.path().join("in.pdf");
    let out = dir.path().join("objstm.pdf");
    std::fs::write(&inp, &one).unwrap();
    let (ok, text) = run(Command::new("qpdf")
        .args(["--object-streams=generate", "--compress-streams=y"])
        .arg(&inp)
        .arg(&out));
    assert!(ok, "{text}");
    let objstm = std::fs::read(&out).unwrap();
    let doc = incremental::PdfDoc::parse(&objstm).unwrap();
    assert!(doc.sections.iter().any(|s| s.is_stream));
    assert_eq!(doc.pages().unwrap().len(), 1);
    let officer = pki.h.signer(pki.h.officer("Nguyễn Văn An").unwrap()).unwrap();
    let signed = incremental::add_signature(&objstm, "Officer", 16384, &officer_meta(), &officer).unwrap();
    qpdf_check(dir.path(), &signed, "objstm-signed.pdf");
    let r = report(&pki.h, &signed);
    let s = r
        .signatures
        .iter()
        .find(|s| s.field_name.as_deref() == Some("Officer"))
        .unwrap();
    assert!(s.is_valid(), "{s:#?}");
    let (ok, text) = pyhanko_validate(dir.path(), &pki.h, &signed, "objstm-signed.pdf");
    assert!(
        text.contains("Officer") && text.contains("INTACT:TRUSTED"),
        "{ok} {text}"
    );
}

const LTA_SCRIPT: &str = r#"
import asyncio, sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import ades
from pyhanko.sign.validation.policy_decl import (PdfSignatureValidationSpec, SignatureValidationSpec,
    RevocationInfoGatheringSpec, RevinfoOnlineFetchingRule)
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy, RevocationCheckingRule
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.registry import SimpleTrustManager
from pyhanko.keys import load_cert_from_pemder
root = load_cert_from_pemder(sys.argv[1])
req = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
rev = RevocationCheckingPolicy(ee_certificate_rule=req, intermediate_ca_cert_rule=req)
spec = PdfSignatureValidationSpec(SignatureValidationSpec(
    cert_validation_policy=CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(trust_roots=[root]), revinfo_policy=CertRevTrustPolicy(rev)),
    revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))
r = PdfFileReader(open(sys.argv[2], 'rb'))
for s in r.embedded_regular_signatures:
    res = asyncio.run(ades.ades_lta_validation(s, spec))
    print(s.field_name, res.ades_subindic, res.api_status.summary())
"#;
