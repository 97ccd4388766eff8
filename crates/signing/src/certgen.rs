//! Building X.509 certificates with x509-cert, signed through any key (a [`Signer`] or a plain signing
//! function), plus the pieces shared by CRLs, OCSP and timestamps: times, algorithm identifiers, key
//! identifiers and extension values.
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
