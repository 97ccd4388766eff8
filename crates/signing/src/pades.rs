//! PAdES signing of a prepared PDF.
use crate::cert::CertView;
use crate::certgen::{algorithm_id, der_error, digest_algorithm};
use crate::ess::to_der;
use crate::oid::{self, Oid};
use crate::tsa::TimestampSource;
use crate::{Signer, SigningError};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::Decode as _;
use sha2::Digest as _;
use std::ops::Range;
use x509_cert::attr::Attribute;

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

    let signed_attrs = signed_attributes(content_digest, &cert)?;
    // The signature covers the DER of the signed attributes as a SET OF (RFC 5652 §5.4).
    let signature = signer.sign(&to_der(&signed_attrs)?)?;

    let unsigned_attrs = match timestamps {
        Some(source) => {
            let imprint: [u8; 32] = sha2::Sha256::digest(&signature).into();
            let token = der::Any::from_der(&source.timestamp(&imprint)?).map_err(der_error)?;
            Some(set_of(vec![attribute(oid::ATTR_SIGNATURE_TIME_STAMP, token)?])?)
        }
        None => None,
    };
    let tbs = &cert.certificate().tbs_certificate;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: digest_algorithm(oid::SHA256),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm_id(signer.algorithm()),
        signature: OctetString::new(signature).map_err(der_error)?,
        unsigned_attrs,
    };
    let certificates = chain
        .iter()
        .map(|c| x509_cert::Certificate::from_der(c).map(CertificateChoices::Certificate))
        .collect::<Result<Vec<_>, _>>()
        .map_err(der_error)?;
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: set_of(vec![digest_algorithm(oid::SHA256)])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid::DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(set_of(certificates)?)),
        crls: None,
        signer_infos: SignerInfos(set_of(vec![signer_info])?),
    };
    to_der(&ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: der::Any::encode_from(&signed_data).map_err(der_error)?,
    })
}

/// A DER `SET OF`, sorted.
fn set_of<T: der::DerOrd>(items: Vec<T>) -> Result<SetOfVec<T>, SigningError> {
    SetOfVec::try_from(items).map_err(der_error)
}

fn any<T: der::Tagged + der::EncodeValue>(value: &T) -> Result<der::Any, SigningError> {
    der::Any::encode_from(value).map_err(der_error)
}

/// An attribute with one value.
fn attribute(id: Oid, value: der::Any) -> Result<Attribute, SigningError> {
    Ok(Attribute {
        oid: id,
        values: set_of(vec![value])?,
    })
}

/// The signed attributes: content-type, message-digest, signing-certificate-v2.
fn signed_attributes(
    content_digest: &[u8; 32],
    cert: &CertView<'_>,
) -> Result<SetOfVec<Attribute>, SigningError> {
    set_of(vec![
        attribute(oid::ATTR_CONTENT_TYPE, any(&oid::DATA)?)?,
        attribute(
            oid::ATTR_MESSAGE_DIGEST,
            any(&OctetString::new(content_digest.as_slice()).map_err(der_error)?)?,
        )?,
        attribute(
            oid::ATTR_SIGNING_CERTIFICATE_V2,
            any(&crate::ess::signing_certificate_v2(cert)?)?,
        )?,
    ])
}
