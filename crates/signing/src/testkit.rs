//! Test support shared by this crate's tests and other crates' (the HSM signer's): a tiny hand-made PDF with
//! a signature field and a prepared signature dictionary, laid out the way banso-render writes one
//! (`/ByteRange` with final values padded with spaces, `/Contents <000…>`). Not used by production code.
// A fixed layout under this module's control; the panics are in test helpers only.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::ops::Range;

pub struct Prepared {
    pub pdf: Vec<u8>,
    pub byte_range: [usize; 4],
    pub contents_hex: Range<usize>,
}

/// `filler` bytes of pseudo-random data go into an extra stream (to make big files).
/// With `contents_first`, the signature dictionary has /Contents before /ByteRange (as pyHanko writes).
pub fn prepared_pdf(filler: usize, contents_first: bool) -> Prepared {
    prepared_pdf_with(filler, contents_first, crate::pades::DEFAULT_PLACEHOLDER)
}

/// As [`prepared_pdf`], reserving `placeholder` bytes (twice as many hex digits) for the CMS.
pub fn prepared_pdf_with(filler: usize, contents_first: bool, placeholder: usize) -> Prepared {
    let mut out: Vec<u8> = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = [0usize; 9];
    let mut obj = |out: &mut Vec<u8>, n: usize, body: &[u8]| {
        offsets[n] = out.len();
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    obj(
        &mut out,
        1,
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>",
    );
    obj(&mut out, 2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    obj(
        &mut out,
        3,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 6 0 R \
/Resources << /Font << /F1 7 0 R >> >> /Annots [4 0 R] >>",
    );
    obj(
        &mut out,
        4,
        b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V 5 0 R /F 132 \
/Rect [0 0 0 0] /P 3 0 R >>",
    );
    let text = b"BT /F1 24 Tf 72 720 Td (Hello, certified copy) Tj ET";
    let mut stream = format!("<< /Length {} >>\nstream\n", text.len()).into_bytes();
    stream.extend_from_slice(text);
    stream.extend_from_slice(b"\nendstream");
    obj(&mut out, 6, &stream);
    obj(
        &mut out,
        7,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    );
    let mut data = Vec::with_capacity(filler);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while data.len() < filler {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(filler);
    let mut stream = format!("<< /Length {} >>\nstream\n", data.len()).into_bytes();
    stream.extend_from_slice(&data);
    stream.extend_from_slice(b"\nendstream");
    obj(&mut out, 8, &stream);

    // The signature dictionary, last, as a renderer would write it.
    let byte_range_placeholder = format!("/ByteRange [{}]", " ".repeat(40));
    let contents = format!("/Contents <{}>", "0".repeat(2 * placeholder));
    let (first, second) = if contents_first {
        (contents.clone(), byte_range_placeholder.clone())
    } else {
        (byte_range_placeholder.clone(), contents.clone())
    };
    let sig = format!(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached {first} {second} \
/M (D:20250101120000+07'00') /Reason (Ch\\352ng th\\361c) >>"
    );
    obj(&mut out, 5, sig.as_bytes());

    let xref = out.len();
    out.extend_from_slice(b"xref\n0 9\n0000000000 65535 f \n");
    for off in offsets.iter().skip(1) {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size 9 /Root 1 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> \
<0123456789ABCDEF0123456789ABCDEF>] >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );

    let sig_at = offsets[5];
    let find = |needle: &[u8]| {
        sig_at
            + out[sig_at..]
                .windows(needle.len())
                .position(|w| w == needle)
                .unwrap()
    };
    let open = find(b"/Contents <") + b"/Contents ".len();
    let close = open + 1 + 2 * placeholder;
    assert_eq!(out[close], b'>');
    let byte_range = [0, open, close + 1, out.len() - close - 1];
    let values = format!("0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    let slot = find(b"/ByteRange [") + b"/ByteRange [".len();
    assert!(values.len() <= 40);
    out[slot..slot + values.len()].copy_from_slice(values.as_bytes());
    Prepared {
        pdf: out,
        byte_range,
        contents_hex: open + 1..close,
    }
}

/// The names of the development PKI the tests generate.
pub fn test_names() -> crate::pki::PkiNames {
    crate::pki::PkiNames {
        country: "VN".into(),
        organization: "Sở Tư pháp Thành phố Hà Nội".into(),
        root_cn: "Banso Dev Root CA".into(),
        issuing_cn: "Banso Dev Issuing CA".into(),
        seal_cn: "Trung tâm Phục vụ hành chính công".into(),
    }
}

/// A signature's CMS (`/Contents`, padding allowed) with `decoys` more certificates for attack benchmarks:
/// copies of its own certificates (the issuing CA's among them) with altered signature bytes, each named
/// like the real one and failing only once its signature is checked.
pub fn cms_with_decoys(contents: &[u8], decoys: usize) -> Result<Vec<u8>, crate::SigningError> {
    use cms::cert::CertificateChoices;
    use cms::content_info::ContentInfo;
    use cms::signed_data::{CertificateSet, SignedData};
    use der::{Decode as _, Encode as _};
    let bad = |e: der::Error| crate::SigningError::Encoding(format!("CMS: {e}"));
    let first = crate::verify::first_element(contents)
        .ok_or_else(|| crate::SigningError::Encoding("CMS: not DER".into()))?;
    let info = ContentInfo::from_der(first).map_err(bad)?;
    let mut signed: SignedData = info.content.decode_as().map_err(bad)?;
    let originals: Vec<Vec<u8>> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| c.to_der().ok())
        .collect();
    if originals.is_empty() {
        return Err(crate::SigningError::Encoding(
            "the CMS carries no certificates".into(),
        ));
    }
    let mut all = Vec::with_capacity(originals.len() + decoys);
    for der in &originals {
        all.push(CertificateChoices::from_der(der).map_err(bad)?);
    }
    for i in 0..decoys {
        let mut d = originals[i % originals.len()].clone();
        let k = i / originals.len();
        // A byte of the signature value, near the end: the certificate still parses.
        let pos = d.len() - 1 - (k % 20);
        d[pos] ^= (k / 20 % 255 + 1) as u8;
        all.push(CertificateChoices::from_der(&d).map_err(bad)?);
    }
    signed.certificates = Some(CertificateSet(der::asn1::SetOfVec::try_from(all).map_err(bad)?));
    ContentInfo {
        content_type: info.content_type,
        content: der::Any::encode_from(&signed).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}
