//! Signatures are found through the form (`/AcroForm /Fields`, `/Kids`) of every revision, and a signature
//! dictionary's ByteRange must leave out exactly its own `/Contents` string, written in the file. Each test
//! is an attack on that rule, built by hand and signed with a trusted key.
mod common;

use banso_signing::incremental::{PdfDoc, Update};
use banso_signing::pades::sign_prepared;
use banso_signing::pki::DevPki;
use banso_signing::verify::{verify_pdf, verify_pdf_within, Indication, Limits, PdfReport, TrustStore};
use banso_signing::SoftwareSigner;

/// Bytes reserved for each CMS.
const PLACEHOLDER: usize = 8192;
/// Room for the four ByteRange numbers.
const SLOT: &str = "/ByteRange [                                            ]";

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn placeholder() -> String {
    format!("<{}>", "0".repeat(2 * PLACEHOLDER))
}

/// A signature dictionary with a ByteRange slot and a /Contents placeholder; `extra` goes before them.
fn sig_dict(extra: &str) -> String {
    format!(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached {extra} {SLOT} /Contents {} \
/M (D:20250101120000+07'00') >>",
        placeholder()
    )
}

/// The usual objects 1-6: catalog listing `fields`, pages, page, field 4 (named `Signature1`, value 5),
/// signature dictionary 5 (`sig`), page content 6.
fn objects(fields: &str, sig: &str) -> Vec<String> {
    vec![
        format!("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [{fields}] /SigFlags 3 >> >>"),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R >>".into(),
        "<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 5 0 R /F 132 /Rect [0 0 0 0] /P 3 0 R >>"
            .into(),
        sig.to_string(),
        "<< /Length 44 >>\nstream\nBT /F1 24 Tf 72 720 Td (Hello, signed) Tj ET\nendstream".into(),
    ]
}

/// A one-revision PDF with a classic cross-reference table; object `i + 1` is `objects[i]`, 1 the catalog.
fn build(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn positions(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Signs `pdf` over everything but its `gap`-th /Contents placeholder, writing the ByteRange into its
/// `slot`-th ByteRange slot.
fn sign(pdf: &mut [u8], gap: usize, slot: usize, signer: &SoftwareSigner) {
    let open = positions(pdf, placeholder().as_bytes())[gap];
    let close = open + 1 + 2 * PLACEHOLDER;
    let byte_range = [0, open, close + 1, pdf.len() - close - 1];
    let values = format!("0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    let at = positions(pdf, SLOT.as_bytes())[slot] + "/ByteRange [".len();
    pdf[at..at + values.len()].copy_from_slice(values.as_bytes());
    sign_prepared(pdf, byte_range, open + 1..close, signer).unwrap();
}

struct Kit {
    pki: DevPki,
    signer: SoftwareSigner,
    trust: TrustStore,
}

fn kit() -> Kit {
    let pki = DevPki::generate(&banso_signing::testkit::test_names(), now()).unwrap();
    let signer = pki.seal_signer().unwrap();
    let trust = pki.trust_store().unwrap();
    Kit { pki, signer, trust }
}

/// The usual file, signed.
fn signed(k: &Kit) -> Vec<u8> {
    let mut pdf = build(&objects("4 0 R", &sig_dict("")));
    sign(&mut pdf, 0, 0, &k.signer);
    pdf
}

fn reason(c: &banso_signing::verify::Check) -> Option<&str> {
    c.reason.as_deref()
}

fn named<'r>(r: &'r PdfReport, name: &str) -> &'r banso_signing::verify::SignatureReport {
    r.signatures
        .iter()
        .find(|s| s.field_name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no signature {name}: {r:#?}"))
}

/// The bytes of object `num` (`N 0 obj … endobj`) in a file written by [`build`].
fn object_body(pdf: &[u8], num: u32) -> Vec<u8> {
    let head = format!("\n{num} 0 obj\n");
    let start = positions(pdf, head.as_bytes())[0] + head.len();
    let end = start + positions(&pdf[start..], b"\nendobj")[0];
    pdf[start..end].to_vec()
}

#[test]
fn the_hand_made_file_verifies() {
    let k = kit();
    let pdf = signed(&k);
    let r = verify_pdf(&pdf, &k.trust, now());
    assert_eq!(r.signatures.len(), 1, "{r:#?}");
    assert!(r.signatures[0].is_valid(), "{r:#?}");
    assert_eq!(r.signatures[0].field_name.as_deref(), Some("Signature1"));
}

#[test]
fn a_signature_dictionary_no_form_lists_is_not_a_signature() {
    let k = kit();
    // A genuine, well-placed signature whose field the form does not list (in the signed revision itself).
    let mut pdf = build(&objects("", &sig_dict("")));
    sign(&mut pdf, 0, 0, &k.signer);
    let r = verify_pdf(&pdf, &k.trust, now());
    assert!(r.signatures.is_empty(), "{r:#?}");
    assert_eq!(r.indication, Indication::Indeterminate);
    assert_eq!(r.sub_indication.as_deref(), Some("SIGNED_DATA_NOT_FOUND"));
}

#[test]
fn an_update_that_drops_the_field_does_not_hide_its_signature() {
    let k = kit();
    let pdf = signed(&k);
    // A forger changes the page and replaces the form by one without the signed field...
    let doc = PdfDoc::parse(&pdf).unwrap();
    let mut up = Update::new(&doc);
    up.put_raw(1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 7 0 R >>".to_vec());
    up.put_raw(7, b"<< /Fields [] >>".to_vec());
    up.put_raw(
        6,
        b"<< /Length 44 >>\nstream\nBT /F1 24 Tf 72 720 Td (Hello, forged) Tj ET\nendstream".to_vec(),
    );
    let (forged, _) = up.finish().unwrap();
    // ...then signs the result with a key of their own that is trusted too.
    let officer = k.pki.seal_signer().unwrap();
    let meta = banso_signing::incremental::SignatureMeta::default();
    let both =
        banso_signing::incremental::add_signature(&forged, "Officer", PLACEHOLDER, &meta, &officer).unwrap();
    let r = verify_pdf(&both, &k.trust, now());
    assert_eq!(r.signatures.len(), 2, "{r:#?}");
    let first = named(&r, "Signature1");
    assert!(first.integrity.ok && first.coverage.ok, "{first:#?}");
    assert_eq!(
        reason(&first.modifications),
        Some("modified_after_signing"),
        "{first:#?}"
    );
    assert!(named(&r, "Officer").is_valid());
    assert_eq!(r.indication, Indication::TotalFailed);
    // The first signature is listed once and judged on the revision it signed.
    assert_eq!(first.signed_end, pdf.len() as u64);
}

#[test]
fn a_contents_key_inside_a_string_is_not_the_contents() {
    let k = kit();
    // The ByteRange leaves out a `/Contents <…>` written inside the /Reason string.
    let sig = sig_dict(&format!("/Reason (see /Contents {})", placeholder()));
    let mut pdf = build(&objects("4 0 R", &sig));
    sign(&mut pdf, 0, 0, &k.signer);
    let r = verify_pdf(&pdf, &k.trust, now());
    assert_eq!(r.signatures.len(), 1, "{r:#?}");
    let s = &r.signatures[0];
    assert_eq!(reason(&s.coverage), Some("incomplete_byte_range"), "{s:#?}");
    assert!(!s.is_valid());
    assert_eq!(r.indication, Indication::TotalFailed);
    // Leaving out the real /Contents is fine.
    let mut pdf = build(&objects("4 0 R", &sig));
    sign(&mut pdf, 1, 0, &k.signer);
    let r = verify_pdf(&pdf, &k.trust, now());
    assert!(r.signatures[0].is_valid(), "{r:#?}");
}

#[test]
fn a_byte_range_leaving_out_another_dictionarys_contents_fails_coverage() {
    let k = kit();
    let pdf = signed(&k);
    // A later update adds an invisible signature field whose dictionary copies the genuine one's
    // ByteRange and CMS: its ByteRange leaves out the genuine dictionary's /Contents, not its own.
    let genuine = object_body(&pdf, 5);
    let doc = PdfDoc::parse(&pdf).unwrap();
    let mut up = Update::new(&doc);
    up.put_raw(
        1,
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 7 0 R] /SigFlags 3 >> >>".to_vec(),
    );
    up.put_raw(
        7,
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Copy) /V 8 0 R /F 132 /Rect [0 0 0 0] >>".to_vec(),
    );
    up.put_raw(8, genuine);
    let (copied, _) = up.finish().unwrap();
    let r = verify_pdf(&copied, &k.trust, now());
    assert_eq!(r.signatures.len(), 2, "{r:#?}");
    assert!(named(&r, "Signature1").is_valid(), "{r:#?}");
    let copy = named(&r, "Copy");
    assert!(
        copy.integrity.ok,
        "the copied CMS does sign those bytes: {copy:#?}"
    );
    assert_eq!(reason(&copy.coverage), Some("incomplete_byte_range"), "{copy:#?}");
    assert_eq!(r.indication, Indication::TotalFailed);
}

#[test]
fn two_fields_sharing_one_dictionary_are_refused() {
    let k = kit();
    let pdf = signed(&k);
    let doc = PdfDoc::parse(&pdf).unwrap();
    let mut up = Update::new(&doc);
    up.put_raw(
        1,
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R 7 0 R] /SigFlags 3 >> >>".to_vec(),
    );
    up.put_raw(
        7,
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Twin) /V 5 0 R /F 132 /Rect [0 0 0 0] >>".to_vec(),
    );
    let (twins, _) = up.finish().unwrap();
    let err = verify_pdf_within(&twins, &k.trust, now(), Limits::default()).unwrap_err();
    assert!(err.0.contains("share one signature dictionary"), "{err}");
    let r = verify_pdf(&twins, &k.trust, now());
    assert!(r.signatures.is_empty());
    assert_eq!(r.indication, Indication::TotalFailed);
}

#[test]
fn a_replaced_signature_dictionary_leaves_the_original_judged() {
    let k = kit();
    let pdf = signed(&k);
    // An update redefines object 5 with another /Reason, keeping ByteRange and CMS.
    let genuine = String::from_utf8(object_body(&pdf, 5)).unwrap();
    let changed = genuine.replace("/Type /Sig", "/Type /Sig /Reason (changed)");
    let doc = PdfDoc::parse(&pdf).unwrap();
    let mut up = Update::new(&doc);
    up.put_raw(5, changed.into_bytes());
    let (replaced, _) = up.finish().unwrap();
    let r = verify_pdf(&replaced, &k.trust, now());
    assert_eq!(r.signatures.len(), 2, "{r:#?}");
    let original = &r.signatures[0];
    assert!(original.integrity.ok && original.coverage.ok, "{original:#?}");
    assert_eq!(reason(&original.modifications), Some("modified_after_signing"));
    assert_eq!(reason(&r.signatures[1].coverage), Some("incomplete_byte_range"));
    assert_eq!(r.indication, Indication::TotalFailed);
}

/// The usual file with the signature dictionary (object 5) inside an uncompressed object stream (object 7),
/// and a cross-reference stream (object 8).
fn with_object_stream(sig: &str) -> Vec<u8> {
    let objs = objects("4 0 R", sig);
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = [0usize; 9];
    for (i, body) in objs.iter().enumerate() {
        let n = i + 1;
        if n == 5 {
            continue;
        }
        offsets[n] = out.len();
        out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    let header = "5 0 ";
    let data = format!("{header}{sig}");
    offsets[7] = out.len();
    out.extend_from_slice(
        format!(
            "7 0 obj\n<< /Type /ObjStm /N 1 /First {} /Length {} >>\nstream\n{data}\nendstream\nendobj\n",
            header.len(),
            data.len()
        )
        .as_bytes(),
    );
    offsets[8] = out.len();
    let mut rows = Vec::new();
    for n in 0..9u32 {
        let (kind, a, b): (u8, u32, u16) = match n {
            0 => (0, 0, 65535),
            5 => (2, 7, 0),
            n => (1, offsets[n as usize] as u32, 0),
        };
        rows.push(kind);
        rows.extend_from_slice(&a.to_be_bytes());
        rows.extend_from_slice(&b.to_be_bytes());
    }
    out.extend_from_slice(
        format!(
            "8 0 obj\n<< /Type /XRef /Size 9 /W [1 4 2] /Root 1 0 R /Length {} >>\nstream\n",
            rows.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&rows);
    out.extend_from_slice(format!("\nendstream\nendobj\nstartxref\n{}\n%%EOF\n", offsets[8]).as_bytes());
    out
}

#[test]
fn a_signature_dictionary_in_an_object_stream_fails_coverage() {
    let k = kit();
    // The object stream is not compressed, so its /Contents placeholder is in the file and can be signed
    // around; still, a signature dictionary must be an object of its own.
    let mut pdf = with_object_stream(&sig_dict(""));
    sign(&mut pdf, 0, 0, &k.signer);
    let doc = PdfDoc::parse(&pdf).unwrap();
    assert!(doc.sections.iter().all(|s| s.is_stream));
    let r = verify_pdf(&pdf, &k.trust, now());
    assert_eq!(r.signatures.len(), 1, "{r:#?}");
    let s = &r.signatures[0];
    assert_eq!(s.field_name.as_deref(), Some("Signature1"));
    assert!(s.integrity.ok && s.chain.ok, "{s:#?}");
    assert_eq!(reason(&s.coverage), Some("incomplete_byte_range"), "{s:#?}");
    assert!(s.coverage.detail.contains("object stream"), "{s:#?}");
    assert_eq!(r.indication, Indication::TotalFailed);
}

#[test]
fn nested_fields_are_named_in_full() {
    let k = kit();
    let mut objs = objects("7 0 R", &sig_dict(""));
    objs[3] = "<< /Type /Annot /Subtype /Widget /Parent 7 0 R /T <FEFF0043006800ED> /V 5 0 R /F 132 \
/Rect [0 0 0 0] >>"
        .into();
    // The parent gives the field type; an unsigned signature field beside it is not reported.
    objs.push("<< /FT /Sig /T (Seals) /Kids [4 0 R 8 0 R 7 0 R] >>".into());
    objs.push("<< /Parent 7 0 R /T (Empty) /Rect [0 0 0 0] >>".into());
    let mut pdf = build(&objs);
    sign(&mut pdf, 0, 0, &k.signer);
    let r = verify_pdf(&pdf, &k.trust, now());
    assert_eq!(r.signatures.len(), 1, "{r:#?}");
    assert_eq!(r.signatures[0].field_name.as_deref(), Some("Seals.Chí"));
    assert!(r.signatures[0].is_valid(), "{r:#?}");
}

#[test]
fn hostile_forms_are_refused_not_followed() {
    let k = kit();
    // Seventeen signature fields, one more than the limit.
    let mut objs = objects("", &sig_dict(""));
    let mut fields = Vec::new();
    for i in 0..17 {
        let n = objs.len() + 1;
        fields.push(format!("{n} 0 R"));
        objs.push(format!("<< /FT /Sig /T (S{i}) /V {} 0 R >>", n + 1));
        objs.push("<< /Type /Sig /ByteRange [0 1 2 3] /Contents <30> >>".into());
    }
    objs[0] = format!(
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [{}] >> >>",
        fields.join(" ")
    );
    let many = build(&objs);
    let err = verify_pdf_within(&many, &k.trust, now(), Limits::default()).unwrap_err();
    assert!(err.0.contains("more than 16 signature dictionaries"), "{err}");

    // A field tree 100 levels deep.
    let mut objs = objects("7 0 R", &sig_dict(""));
    for i in 0..100 {
        let n = objs.len() + 1;
        objs.push(format!("<< /T (L{i}) /Kids [{} 0 R] >>", n + 1));
    }
    objs.push("<< /T (Leaf) >>".into());
    let deep = build(&objs);
    let err = verify_pdf_within(&deep, &k.trust, now(), Limits::default()).unwrap_err();
    assert!(err.0.contains("too deep"), "{err}");

    // Objects nested in each other's strings: reading each one reads the rest of the file.
    let n = 2000;
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let fields: Vec<String> = (2..n + 2).map(|i| format!("{i} 0 R")).collect();
    let mut offsets = vec![pdf.len()];
    pdf.extend_from_slice(
        format!(
            "1 0 obj\n<< /Type /Catalog /AcroForm << /Fields [{}] >> >>\nendobj\n",
            fields.join(" ")
        )
        .as_bytes(),
    );
    for i in 2..n + 2 {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{i} 0 obj\n(").as_bytes());
        pdf.extend_from_slice(&[b'a'; 2048]);
    }
    pdf.extend_from_slice(&vec![b')'; n]);
    pdf.extend_from_slice(b"\nendobj\n");
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", n + 2).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            n + 2
        )
        .as_bytes(),
    );
    let started = std::time::Instant::now();
    let err = verify_pdf_within(&pdf, &k.trust, now(), Limits::default()).unwrap_err();
    assert!(err.0.contains("MiB"), "{err}");
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());

    // A field that is its own kid is visited once.
    let mut objs = objects("7 0 R", &sig_dict(""));
    objs[3] = "<< /Parent 7 0 R /T (S) /V 5 0 R >>".into();
    objs.push("<< /FT /Sig /T (Loop) /Kids [7 0 R 4 0 R] >>".into());
    let mut looped = build(&objs);
    sign(&mut looped, 0, 0, &k.signer);
    let r = verify_pdf(&looped, &k.trust, now());
    assert_eq!(r.signatures.len(), 1, "{r:#?}");
    assert!(r.signatures[0].is_valid(), "{r:#?}");
    assert_eq!(r.signatures[0].field_name.as_deref(), Some("Loop.S"));
}
