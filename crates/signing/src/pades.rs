//! PAdES signing of a prepared PDF.
use crate::asn1::{self, oid};
use crate::cert::CertView;
use crate::tsa::TimestampSource;
use crate::{SignatureAlgorithm, Signer, SigningError};
use sha2::Digest as _;
use std::ops::Range;

/// Bytes to reserve for the CMS value: a B-T signature (chain of three certificates plus a timestamp
/// token carrying the TSA's chain of three) takes about 5–6 KB with P-256 keys; the rest is headroom
/// for longer chains, RSA keys and larger TSA tokens.
pub const DEFAULT_PLACEHOLDER: usize = 16384;

/// Computes SHA-256 over the ByteRange of `pdf`, builds the CMS SignedData (detached, PAdES B-B) with
/// `signer`, and writes it hex-encoded into `contents_hex`, padding with `0`. Returns the SHA-256 of
/// the final file.
///
/// `contents_hex` is the range of the hex digits, between `<` and `>`; the ByteRange must be exactly
/// `[0, contents_hex.start - 1, contents_hex.end + 1, pdf.len() - contents_hex.end - 1]`.
pub fn sign_prepared(
    pdf: &mut [u8],
    byte_range: [usize; 4],
    contents_hex: Range<usize>,
    signer: &dyn Signer,
) -> Result<[u8; 32], SigningError> {
    sign_prepared_with(pdf, byte_range, contents_hex, signer, None)
}

/// As [`sign_prepared`]; with a timestamp source the signature is PAdES B-T: a timestamp token over
/// SHA-256 of the signature value is added as the unsigned attribute id-aa-signatureTimeStampToken.
pub fn sign_prepared_with(
    pdf: &mut [u8],
    byte_range: [usize; 4],
    contents_hex: Range<usize>,
    signer: &dyn Signer,
    timestamps: Option<&dyn TimestampSource>,
) -> Result<[u8; 32], SigningError> {
    let len = pdf.len();
    let bad = |what: &str| SigningError::Prepared(what.to_string());
    if contents_hex.start == 0 || contents_hex.start > contents_hex.end || contents_hex.end >= len {
        return Err(bad("the /Contents range lies outside the file"));
    }
    let gap_start = contents_hex.start - 1;
    let gap_end = contents_hex.end + 1;
    let expected = [0, gap_start, gap_end, len - gap_end];
    if byte_range != expected {
        return Err(SigningError::Prepared(format!(
            "ByteRange {byte_range:?} does not match the /Contents placeholder (expected {expected:?})"
        )));
    }
    if pdf.get(gap_start) != Some(&b'<') || pdf.get(contents_hex.end) != Some(&b'>') {
        return Err(bad("the /Contents placeholder is not enclosed in < >"));
    }
    let (head, rest) = pdf.split_at_mut(gap_start);
    let (gap, tail) = rest.split_at_mut(gap_end - gap_start);
    let available = (contents_hex.end - contents_hex.start) / 2;

    let mut hasher = sha2::Sha256::new();
    hasher.update(&*head);
    // The state after the first range is shared with the whole-file hash computed at the end.
    let after_head = hasher.clone();
    hasher.update(&*tail);
    let digest: [u8; 32] = hasher.finalize().into();

    let cms = build_cms_with(&digest, signer, timestamps)?;
    let needed = cms.len();
    if needed > available {
        return Err(SigningError::PlaceholderTooSmall { needed, available });
    }
    let hex_area = gap
        .get_mut(1..gap_end - gap_start - 1)
        .ok_or_else(|| bad("the /Contents placeholder is empty"))?;
    hex_area.fill(b'0');
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (pair, byte) in hex_area.chunks_exact_mut(2).zip(cms.iter()) {
        if let [hi, lo] = pair {
            *hi = HEX.get(usize::from(byte >> 4)).copied().unwrap_or(b'0');
            *lo = HEX.get(usize::from(byte & 0x0f)).copied().unwrap_or(b'0');
        }
    }

    let mut whole = after_head;
    whole.update(&*gap);
    whole.update(&*tail);
    Ok(whole.finalize().into())
}

/// Builds a DER `ContentInfo` holding a detached CMS `SignedData` (PAdES B-B) for content whose
/// SHA-256 is `content_digest`, signed by `signer`.
pub fn build_cms(content_digest: &[u8; 32], signer: &dyn Signer) -> Result<Vec<u8>, SigningError> {
    build_cms_with(content_digest, signer, None)
}

/// As [`build_cms`]; with a timestamp source, the SignerInfo gets the unsigned attribute
/// id-aa-signatureTimeStampToken holding a token over SHA-256 of the signature value (PAdES B-T).
pub fn build_cms_with(
    content_digest: &[u8; 32],
    signer: &dyn Signer,
    timestamps: Option<&dyn TimestampSource>,
) -> Result<Vec<u8>, SigningError> {
    let chain = signer.chain();
    let signer_der = chain
        .first()
        .ok_or_else(|| SigningError::Certificate("the signer has no certificate".into()))?;
    let cert = CertView::parse(signer_der)
        .ok_or_else(|| SigningError::Certificate("the signer certificate does not parse".into()))?;

    let signed_attrs = signed_attributes(content_digest, &cert);
    let to_sign = asn1::tlv(asn1::TAG_SET, &signed_attrs);
    let signature = signer.sign(&to_sign)?;

    let sha256 = asn1::algorithm(oid::SHA256);
    let signature_algorithm = match signer.algorithm() {
        SignatureAlgorithm::EcdsaP256Sha256 => asn1::algorithm(oid::ECDSA_WITH_SHA256),
        SignatureAlgorithm::RsaPkcs1Sha256 => asn1::algorithm_null(oid::SHA256_WITH_RSA),
    };
    let sid = asn1::sequence(&[cert.issuer, cert.serial_tlv]);
    let unsigned_attrs = match timestamps {
        Some(source) => {
            let imprint: [u8; 32] = sha2::Sha256::digest(&signature).into();
            let token = source.timestamp(&imprint)?;
            let attribute = asn1::sequence(&[
                &asn1::oid_tlv(crate::certgen::oids::ATTR_SIGNATURE_TIME_STAMP),
                &asn1::set_of(asn1::TAG_SET, vec![token]),
            ]);
            asn1::tlv(asn1::ctx_cons(1), &attribute)
        }
        None => Vec::new(),
    };
    let signer_info = asn1::sequence(&[
        &asn1::uint(1),
        &sid,
        &sha256,
        &asn1::tlv(asn1::ctx_cons(0), &signed_attrs),
        &signature_algorithm,
        &asn1::tlv(asn1::TAG_OCTET_STRING, &signature),
        &unsigned_attrs,
    ]);
    let signed_data = asn1::sequence(&[
        &asn1::uint(1),
        &asn1::set_of(asn1::TAG_SET, vec![sha256.clone()]),
        &asn1::sequence(&[&asn1::oid_tlv(oid::DATA)]),
        &asn1::set_of(asn1::ctx_cons(0), chain.to_vec()),
        &asn1::set_of(asn1::TAG_SET, vec![signer_info]),
    ]);
    Ok(asn1::sequence(&[
        &asn1::oid_tlv(oid::SIGNED_DATA),
        &asn1::tlv(asn1::ctx_cons(0), &signed_data),
    ]))
}

/// The content of the signed attributes SET (sorted): content-type, message-digest,
/// signing-certificate-v2.
fn signed_attributes(content_digest: &[u8; 32], cert: &CertView<'_>) -> Vec<u8> {
    let attribute = |id: &[u8], value: Vec<u8>| {
        asn1::sequence(&[&asn1::oid_tlv(id), &asn1::set_of(asn1::TAG_SET, vec![value])])
    };
    let content_type = attribute(oid::ATTR_CONTENT_TYPE, asn1::oid_tlv(oid::DATA));
    let message_digest = attribute(
        oid::ATTR_MESSAGE_DIGEST,
        asn1::tlv(asn1::TAG_OCTET_STRING, content_digest),
    );
    let cert_hash = sha2::Sha256::digest(cert.raw);
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }; GeneralName directoryName is [4] EXPLICIT.
    let issuer_serial = asn1::sequence(&[
        &asn1::sequence(&[&asn1::tlv(asn1::ctx_cons(4), cert.issuer)]),
        cert.serial_tlv,
    ]);
    // ESSCertIDv2: hashAlgorithm omitted because sha256 is its DEFAULT.
    let ess_cert_id = asn1::sequence(&[&asn1::tlv(asn1::TAG_OCTET_STRING, &cert_hash), &issuer_serial]);
    let signing_certificate = asn1::sequence(&[&asn1::sequence(&[&ess_cert_id])]);
    let signing_certificate = attribute(oid::ATTR_SIGNING_CERTIFICATE_V2, signing_certificate);
    let mut attrs = [content_type, message_digest, signing_certificate];
    attrs.sort();
    attrs.concat()
}
