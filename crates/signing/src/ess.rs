//! ESS signing-certificate-v2 (RFC 5035): the attribute that binds a CMS signature to its signer's
//! certificate, used by PAdES signatures and by timestamp tokens. The RustCrypto formats have no type
//! for it, so it is declared here with `der`'s derive.
use crate::cert::CertView;
use crate::certgen::der_error;
use crate::oid;
use crate::SigningError;
use der::asn1::OctetString;
use der::Sequence;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies ... OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<der::Any>,
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }`. DER
/// leaves a DEFAULT value out, so SHA-256 is written as `None`; [`EssCertIdV2::hash`] reads it back.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: Vec<GeneralName>,
    pub serial_number: SerialNumber,
}

impl EssCertIdV2 {
    /// The hash algorithm, SHA-256 when absent.
    pub fn hash(&self) -> oid::Oid {
        self.hash_algorithm.as_ref().map_or(oid::SHA256, |a| a.oid)
    }
}

/// The signing-certificate-v2 value for `cert`: its SHA-256 and its issuer and serial.
pub fn signing_certificate_v2(cert: &CertView<'_>) -> Result<SigningCertificateV2, SigningError> {
    let tbs = &cert.certificate().tbs_certificate;
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(crate::cert::HashAlg::Sha256.digest(cert.raw)).map_err(der_error)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer.clone())],
                serial_number: tbs.serial_number.clone(),
            }),
        }],
        policies: None,
    })
}

/// Checks a signing-certificate-v2 attribute value against the certificate that verified the signature:
/// the first ESSCertIDv2 must carry its hash and, if present, its issuer and serial.
pub fn check_signing_certificate_v2(value: &der::Any, signer: &CertView<'_>) -> Result<(), String> {
    let value: SigningCertificateV2 = value
        .decode_as()
        .map_err(|e| format!("malformed signing-certificate-v2 attribute: {e}"))?;
    let first = value
        .certs
        .first()
        .ok_or("the signing-certificate-v2 attribute lists no certificate")?;
    let hash =
        crate::cert::HashAlg::from_id(&first.hash()).ok_or("unsupported hash in signing-certificate-v2")?;
    if first.cert_hash.as_bytes() != hash.digest(signer.raw).as_slice() {
        return Err("the signing-certificate-v2 hash names another certificate".into());
    }
    if let Some(issuer_serial) = &first.issuer_serial {
        let tbs = &signer.certificate().tbs_certificate;
        if issuer_serial.serial_number != tbs.serial_number {
            return Err("the signing-certificate-v2 serial number names another certificate".into());
        }
        let other_issuer = issuer_serial
            .issuer
            .iter()
            .any(|n| matches!(n, GeneralName::DirectoryName(name) if *name != tbs.issuer));
        if other_issuer {
            return Err("the signing-certificate-v2 issuer names another certificate".into());
        }
    }
    Ok(())
}

/// The DER of `value`, as a signing error on failure.
pub fn to_der(value: &impl der::Encode) -> Result<Vec<u8>, SigningError> {
    value.to_der().map_err(der_error)
}
