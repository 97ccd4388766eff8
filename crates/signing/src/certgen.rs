//! Building X.509 certificates with x509-cert, signed through any key (a [`Signer`] or a plain signing
//! function), plus the pieces shared by CRLs, OCSP and timestamps: times, algorithm identifiers, key
//! identifiers and extension values.
use crate::asn1::{self, Reader};
use crate::cert::CertView;
use crate::oid::{self, Oid};
use crate::{SignatureAlgorithm, Signer, SigningError};
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, UtcTime};
use der::{Decode as _, Encode as _};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// A DER encoding or decoding failure while building, as a certificate error.
pub fn der_error(e: der::Error) -> SigningError {
    SigningError::Certificate(format!("DER: {e}"))
}

/// `GeneralizedTime` in UTC, whole seconds.
pub fn gen_time(t: time::OffsetDateTime) -> Result<GeneralizedTime, SigningError> {
    GeneralizedTime::from_unix_duration(unix_duration(t)?).map_err(der_error)
}

fn unix_duration(t: time::OffsetDateTime) -> Result<std::time::Duration, SigningError> {
    u64::try_from(t.unix_timestamp())
        .map(std::time::Duration::from_secs)
        .map_err(|_| SigningError::Certificate("a time before 1970".into()))
}

/// A certificate or CRL `Time`: `UTCTime` up to 2049, `GeneralizedTime` from 2050 (RFC 5280 §4.1.2.5).
pub fn cert_time(t: time::OffsetDateTime) -> Result<Time, SigningError> {
    if t.to_offset(time::UtcOffset::UTC).year() < 2050 {
        UtcTime::from_unix_duration(unix_duration(t)?)
            .map(Time::UtcTime)
            .map_err(der_error)
    } else {
        gen_time(t).map(Time::GeneralTime)
    }
}

/// The `AlgorithmIdentifier` of signatures made by `alg` (RSA with NULL parameters, ECDSA without).
pub fn algorithm_id(alg: SignatureAlgorithm) -> AlgorithmIdentifierOwned {
    match alg {
        SignatureAlgorithm::EcdsaP256Sha256 => AlgorithmIdentifierOwned {
            oid: oid::ECDSA_WITH_SHA256,
            parameters: None,
        },
        SignatureAlgorithm::RsaPkcs1Sha256 => AlgorithmIdentifierOwned {
            oid: oid::SHA256_WITH_RSA,
            parameters: Some(der::asn1::Null.into()),
        },
    }
}

/// A digest `AlgorithmIdentifier` (no parameters).
pub fn digest_algorithm(id: Oid) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: id,
        parameters: None,
    }
}

/// A BIT STRING holding a signature value.
pub fn signature_bits(signature: &[u8]) -> Result<BitString, SigningError> {
    BitString::from_bytes(signature).map_err(der_error)
}

/// An extension whose value is the DER of `value`.
pub fn extension(id: Oid, critical: bool, value: &impl der::Encode) -> Result<Extension, SigningError> {
    Ok(Extension {
        extn_id: id,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(der_error)?).map_err(der_error)?,
    })
}

/// Object identifiers of the trust services (content bytes of their DER encoding).
pub mod oids {
    /// id-kp-timeStamping 1.3.6.1.5.5.7.3.8
    pub const KP_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
    /// id-kp-OCSPSigning 1.3.6.1.5.5.7.3.9
    pub const KP_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
    /// id-pkix-ocsp-nocheck 1.3.6.1.5.5.7.48.1.5
    pub const OCSP_NOCHECK: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05];
    /// extKeyUsage 2.5.29.37
    pub const EXT_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    /// cRLDistributionPoints 2.5.29.31
    pub const EXT_CRL_DP: &[u8] = &[0x55, 0x1d, 0x1f];
    /// authorityInfoAccess 1.3.6.1.5.5.7.1.1
    pub const EXT_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
    /// id-ad-ocsp 1.3.6.1.5.5.7.48.1
    pub const AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    /// id-ad-caIssuers 1.3.6.1.5.5.7.48.2
    pub const AD_CA_ISSUERS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    /// cRLNumber 2.5.29.20
    pub const EXT_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
    /// reasonCode 2.5.29.21
    pub const EXT_REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
    /// id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1
    pub const OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
    /// id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2
    pub const OCSP_NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
    /// id-sha1 1.3.14.3.2.26
    pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
    /// id-ct-TSTInfo 1.2.840.113549.1.9.16.1.4
    pub const CT_TST_INFO: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04];
    /// id-aa-signatureTimeStampToken 1.2.840.113549.1.9.16.2.14
    pub const ATTR_SIGNATURE_TIME_STAMP: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e];
}

/// ENUMERATED tag.
pub const TAG_ENUMERATED: u8 = 0x0a;

/// Encodes a dotted object identifier (`"1.2.3"`) as OID content bytes.
pub fn oid_from_dotted(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    let (&first, rest) = arcs.split_first()?;
    let (&second, rest) = rest.split_first()?;
    if first > 2 || (first < 2 && second >= 40) {
        return None;
    }
    let mut all = vec![first.checked_mul(40)?.checked_add(second)?];
    all.extend_from_slice(rest);
    let mut out = Vec::new();
    for arc in all {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            chunk.push(((v & 0x7f) as u8) | 0x80);
            v >>= 7;
        }
        chunk.reverse();
        out.extend(chunk);
    }
    Some(out)
}

/// Dotted form of OID content bytes.
pub fn oid_to_dotted(bytes: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut v: u64 = 0;
    for &b in bytes {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let mut out = String::new();
    if let Some((&first, rest)) = arcs.split_first() {
        let (a, b) = if first < 80 {
            (first / 40, first % 40)
        } else {
            (2, first - 80)
        };
        out = format!("{a}.{b}");
        for arc in rest {
            out.push('.');
            out.push_str(&arc.to_string());
        }
    }
    out
}

/// `GeneralizedTime` (`YYYYMMDDHHMMSSZ`, UTC, whole seconds).
pub fn generalized_time(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    asn1::tlv(asn1::TAG_GENERALIZED_TIME, s.as_bytes())
}

/// A certificate or CRL `Time`: `UTCTime` up to 2049, `GeneralizedTime` from 2050 (RFC 5280).
pub fn x509_time(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    if (1950..2050).contains(&t.year()) {
        let s = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        asn1::tlv(asn1::TAG_UTC_TIME, s.as_bytes())
    } else {
        generalized_time(t)
    }
}

/// The `AlgorithmIdentifier` of signatures made by `alg`.
pub fn signature_algorithm_id(alg: SignatureAlgorithm) -> Vec<u8> {
    match alg {
        SignatureAlgorithm::EcdsaP256Sha256 => asn1::algorithm(oid::ECDSA_WITH_SHA256.as_bytes()),
        SignatureAlgorithm::RsaPkcs1Sha256 => asn1::algorithm_null(oid::SHA256_WITH_RSA.as_bytes()),
    }
}

/// An `INTEGER` from big-endian unsigned bytes (a leading zero added when needed, leading zeros trimmed).
pub fn uint_bytes(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    let mut content = Vec::with_capacity(significant.len() + 1);
    if significant.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(significant);
    asn1::tlv(asn1::TAG_INTEGER, &content)
}

/// A random positive 128-bit serial number (INTEGER content bytes, 16 octets, no leading zero).
pub fn random_serial() -> Vec<u8> {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    bytes.to_vec()
}

/// SHA-1 (for key identifiers and OCSP CertIDs only).
pub fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// RFC 5280 key identifier (method 1): SHA-1 of the subjectPublicKey bits of a DER `SubjectPublicKeyInfo`.
pub fn key_identifier(spki: &[u8]) -> Option<Vec<u8>> {
    let info = spki::SubjectPublicKeyInfoRef::from_der(spki).ok()?;
    info.subject_public_key.as_bytes().map(sha1)
}

/// The DER `SubjectPublicKeyInfo` of an uncompressed P-256 point.
pub fn p256_spki(point: &[u8]) -> Result<Vec<u8>, SigningError> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::EC_PUBLIC_KEY,
            parameters: Some(oid::CURVE_P256.into()),
        },
        subject_public_key: BitString::from_bytes(point).map_err(der_error)?,
    }
    .to_der()
    .map_err(der_error)
}

/// One extension of a certificate (or CRL entry list): `(critical, extnValue content)`.
pub fn find_extension<'a>(extensions_seq_content: &'a [u8], id: &[u8]) -> Option<(bool, &'a [u8])> {
    let mut list = Reader::new(extensions_seq_content);
    while !list.is_empty() {
        let ext = list.expect(asn1::TAG_SEQUENCE)?;
        let mut e = Reader::new(ext.value);
        let ext_id = e.expect(asn1::TAG_OID)?.value;
        let critical = e
            .optional(asn1::TAG_BOOLEAN)
            .is_some_and(|b| b.value.first().is_some_and(|&x| x != 0));
        let value = e.expect(asn1::TAG_OCTET_STRING)?.value;
        if ext_id == id {
            return Some((critical, value));
        }
    }
    None
}

/// What a certificate is for; decides basicConstraints, keyUsage and extKeyUsage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProfile {
    /// A self-signed root CA (keyCertSign, cRLSign; no path length limit).
    RootCa,
    /// A subordinate CA with an optional path length constraint.
    SubCa { path_len: Option<u8> },
    /// A signing certificate (seal, officer): digitalSignature + nonRepudiation.
    Signing,
    /// A timestamping unit: digitalSignature, critical extKeyUsage id-kp-timeStamping.
    TimeStamping,
    /// An OCSP responder: digitalSignature, extKeyUsage id-kp-OCSPSigning, id-pkix-ocsp-nocheck.
    OcspResponder,
}

/// Where relying parties find revocation data and the issuer's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointers {
    pub crl_url: Option<String>,
    pub ocsp_url: Option<String>,
    pub ca_issuers_url: Option<String>,
}

/// What to certify.
#[derive(Debug, Clone)]
pub struct CertTemplate {
    /// The DER `Name` of the subject (see [`encode_name`]).
    pub subject: Vec<u8>,
    /// The DER `SubjectPublicKeyInfo` to certify.
    pub spki: Vec<u8>,
    pub profile: CertProfile,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
    /// Serial INTEGER content bytes; random when `None`.
    pub serial: Option<Vec<u8>>,
    pub pointers: Pointers,
}

/// A DER `Name`: C (PrintableString), O, then CN (UTF8String); empty parts are left out.
pub fn encode_name(country: &str, organization: &str, common_name: &str) -> Result<Vec<u8>, SigningError> {
    use der::asn1::{PrintableStringRef, SetOfVec, Utf8StringRef};
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::RelativeDistinguishedName;
    let rdn = |id: Oid, value: der::Any| -> Result<RelativeDistinguishedName, SigningError> {
        let atv = AttributeTypeAndValue { oid: id, value };
        Ok(RelativeDistinguishedName(
            SetOfVec::try_from(vec![atv]).map_err(der_error)?,
        ))
    };
    let utf8 = |s: &str| {
        Utf8StringRef::new(s)
            .and_then(|v| der::Any::encode_from(&v))
            .map_err(der_error)
    };
    let mut rdns = Vec::new();
    if !country.is_empty() {
        let value = PrintableStringRef::new(country)
            .and_then(|v| der::Any::encode_from(&v))
            .map_err(der_error)?;
        rdns.push(rdn(oid::AT_COUNTRY, value)?);
    }
    if !organization.is_empty() {
        rdns.push(rdn(oid::AT_ORGANIZATION, utf8(organization)?)?);
    }
    if !common_name.is_empty() {
        rdns.push(rdn(oid::AT_COMMON_NAME, utf8(common_name)?)?);
    }
    x509_cert::name::RdnSequence(rdns).to_der().map_err(der_error)
}

fn uri(url: &str) -> Result<GeneralName, SigningError> {
    Ia5String::new(url)
        .map(GeneralName::UniformResourceIdentifier)
        .map_err(der_error)
}

/// The extensions of a certificate made from `template`.
fn certificate_extension_list(
    template: &CertTemplate,
    issuer_key_id: Option<&[u8]>,
) -> Result<Vec<Extension>, SigningError> {
    use KeyUsages::{CRLSign, DigitalSignature, KeyCertSign, NonRepudiation};
    type Usage = (bool, Option<u8>, KeyUsage, Option<(Oid, bool)>);
    let (ca, path_len, ku, eku): Usage = match template.profile {
        CertProfile::RootCa => (true, None, KeyUsage(KeyCertSign | CRLSign), None),
        CertProfile::SubCa { path_len } => (true, path_len, KeyUsage(KeyCertSign | CRLSign), None),
        CertProfile::Signing => (false, None, KeyUsage(DigitalSignature | NonRepudiation), None),
        CertProfile::TimeStamping => (
            false,
            None,
            KeyUsage(DigitalSignature.into()),
            Some((oid::KP_TIME_STAMPING, true)),
        ),
        CertProfile::OcspResponder => (
            false,
            None,
            KeyUsage(DigitalSignature.into()),
            Some((oid::KP_OCSP_SIGNING, false)),
        ),
    };
    let basic = BasicConstraints {
        ca,
        path_len_constraint: path_len,
    };
    let mut exts = vec![
        extension(oid::EXT_BASIC_CONSTRAINTS, true, &basic)?,
        extension(oid::EXT_KEY_USAGE, true, &ku)?,
    ];
    if let Some((purpose, critical)) = eku {
        exts.push(extension(
            oid::EXT_EXT_KEY_USAGE,
            critical,
            &ExtendedKeyUsage(vec![purpose]),
        )?);
    }
    let ski = key_identifier(&template.spki)
        .ok_or_else(|| SigningError::Certificate("the subject public key does not parse".into()))?;
    let ski = SubjectKeyIdentifier(OctetString::new(ski).map_err(der_error)?);
    exts.push(extension(oid::EXT_SUBJECT_KEY_ID, false, &ski)?);
    if let Some(aki) = issuer_key_id {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(aki).map_err(der_error)?),
            ..Default::default()
        };
        exts.push(extension(oid::EXT_AUTHORITY_KEY_ID, false, &aki)?);
    }
    if let Some(url) = &template.pointers.crl_url {
        let point = x509_cert::ext::pkix::crl::dp::DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
            reasons: None,
            crl_issuer: None,
        };
        exts.push(extension(
            oid::EXT_CRL_DP,
            false,
            &CrlDistributionPoints(vec![point]),
        )?);
    }
    let mut access = Vec::new();
    if let Some(url) = &template.pointers.ocsp_url {
        access.push(AccessDescription {
            access_method: oid::AD_OCSP,
            access_location: uri(url)?,
        });
    }
    if let Some(url) = &template.pointers.ca_issuers_url {
        access.push(AccessDescription {
            access_method: oid::AD_CA_ISSUERS,
            access_location: uri(url)?,
        });
    }
    if !access.is_empty() {
        exts.push(extension(
            oid::EXT_AIA,
            false,
            &AuthorityInfoAccessSyntax(access),
        )?);
    }
    if template.profile == CertProfile::OcspResponder {
        exts.push(extension(oid::OCSP_NOCHECK, false, &der::asn1::Null)?);
    }
    Ok(exts)
}

/// Signs a to-be-signed structure with an issuer key, returning the signature value.
pub type SignFn<'a> = dyn Fn(&[u8]) -> Result<Vec<u8>, SigningError> + 'a;

/// Builds and signs a certificate. `issuer_name` is the issuer's subject DER (the template's own subject
/// for a self-signed root), `issuer_key_id` its subject key identifier, `sign` signs the TBS with the
/// issuer's key using `alg`.
pub fn build_certificate(
    template: &CertTemplate,
    issuer_name: &[u8],
    issuer_key_id: Option<&[u8]>,
    alg: SignatureAlgorithm,
    sign: &SignFn<'_>,
) -> Result<Vec<u8>, SigningError> {
    let serial = template.serial.clone().unwrap_or_else(random_serial);
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial).map_err(der_error)?,
        signature: algorithm_id(alg),
        issuer: Name::from_der(issuer_name).map_err(der_error)?,
        validity: Validity {
            not_before: cert_time(template.not_before)?,
            not_after: cert_time(template.not_after)?,
        },
        subject: Name::from_der(&template.subject).map_err(der_error)?,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&template.spki).map_err(der_error)?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(certificate_extension_list(template, issuer_key_id)?),
    };
    let signature = sign(&tbs.to_der().map_err(der_error)?)?;
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm_id(alg),
        signature: signature_bits(&signature)?,
    }
    .to_der()
    .map_err(der_error)
}

/// Issues a certificate with a CA key behind the [`Signer`] seam (software or HSM): the issuer name and
/// key identifier come from the CA certificate (`ca.chain()[0]`); the subject key is any SPKI (for
/// example the public key of an HSM key).
pub fn issue_certificate(ca: &dyn Signer, template: &CertTemplate) -> Result<Vec<u8>, SigningError> {
    let ca_der = ca
        .chain()
        .first()
        .ok_or_else(|| SigningError::Certificate("the CA signer has no certificate".into()))?;
    let ca_cert = CertView::parse(ca_der)
        .ok_or_else(|| SigningError::Certificate("the CA certificate does not parse".into()))?;
    if !ca_cert.is_ca {
        return Err(SigningError::Certificate("the issuer is not a CA".into()));
    }
    let key_id = ca_key_id(&ca_cert)?;
    let issuer = ca_cert.subject().to_der().map_err(der_error)?;
    build_certificate(template, &issuer, Some(&key_id), ca.algorithm(), &|tbs| {
        ca.sign(tbs)
    })
}

/// A CA's key identifier: its subjectKeyIdentifier, or else the SHA-1 of its key (RFC 5280 method 1).
pub fn ca_key_id(ca_cert: &CertView<'_>) -> Result<Vec<u8>, SigningError> {
    match (&ca_cert.subject_key_id, ca_cert.public_key_bits()) {
        (Some(k), _) => Ok(k.clone()),
        (None, Some(bits)) => Ok(sha1(bits)),
        (None, None) => Err(SigningError::Certificate(
            "the CA public key does not parse".into(),
        )),
    }
}

/// Verifies a signed structure (`tbs`, signature algorithm OID content bytes, signature) with the key
/// of `cert_der`.
pub fn verify_with_cert(cert_der: &[u8], tbs: &[u8], sig_alg: &[u8], signature: &[u8]) -> bool {
    let Some(cert) = CertView::parse(cert_der) else {
        return false;
    };
    let (Some(key), Some(hash)) = (cert.public_key(), crate::cert::hash_of_signature_alg(sig_alg)) else {
        return false;
    };
    key.verify(sig_alg, hash, tbs, signature)
}

/// The extended key usages of a certificate and whether that extension is critical; `None` without
/// one, or if it is malformed or repeated.
pub fn extended_key_usages(cert: &CertView<'_>) -> Option<(bool, Vec<Oid>)> {
    let (critical, eku) = cert
        .certificate()
        .tbs_certificate
        .get::<ExtendedKeyUsage>()
        .ok()??;
    Some((critical, eku.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = time::macros::datetime!(2025-03-04 05:06:07 UTC);
        assert_eq!(
            cert_time(t).unwrap().to_der().unwrap(),
            [&[0x17, 13][..], b"250304050607Z"].concat()
        );
        assert_eq!(
            gen_time(t).unwrap().to_der().unwrap(),
            [&[0x18, 15][..], b"20250304050607Z"].concat()
        );
        let late = time::macros::datetime!(2051-01-01 00:00:00 UTC);
        assert_eq!(
            cert_time(late).unwrap().to_der().unwrap(),
            [&[0x18, 15][..], b"20510101000000Z"].concat()
        );
    }

    #[test]
    fn key_usage_is_a_minimal_bit_string() {
        use KeyUsages::{DigitalSignature, NonRepudiation};
        let ku = KeyUsage(DigitalSignature | NonRepudiation);
        assert_eq!(ku.to_der().unwrap(), vec![3, 2, 6, 0xc0]);
        let ca = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        assert_eq!(ca.to_der().unwrap(), vec![3, 2, 1, 0x06]);
    }

    #[test]
    fn a_name_in_the_order_given() {
        let name = Name::from_der(&encode_name("VN", "Sở Tư pháp", "Dấu").unwrap()).unwrap();
        assert_eq!(crate::cert::name_to_string(&name), "CN=Dấu, O=Sở Tư pháp, C=VN");
        assert!(
            encode_name("V_N", "", "").is_err(),
            "a country is a PrintableString"
        );
    }
}
