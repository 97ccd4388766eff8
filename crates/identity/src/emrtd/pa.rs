//! Passive authentication (ICAO 9303 Part 11 §5.1, Part 12): the data groups match the
//! hashes in EF.SOD, EF.SOD is signed by its Document Signer certificate, and that
//! certificate chains to a trusted country signing CA (CSCA).
//!
//! Each check is reported separately with its own failure reason; [`PassiveAuthReport::passed`]
//! is true only when all three pass. Revocation (CRL) checking is not done here.

use std::time::SystemTime;

use cms::cert::CertificateChoices;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode, Sequence};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use signature::hazmat::PrehashVerifier;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;

use super::lds::{dg_tag, parse_sod, read_data_group, Sod, ID_LDS_SECURITY_OBJECT};

/// Outcome of one named check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    /// The check succeeded.
    Passed,
    /// The check failed, with the reason.
    Failed(String),
    /// The check could not run because an earlier step failed.
    NotRun(String),
}

impl CheckStatus {
    /// `true` for [`CheckStatus::Passed`].
    pub fn is_passed(&self) -> bool {
        matches!(self, CheckStatus::Passed)
    }
}

/// The hash comparison for one data group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataGroupCheck {
    /// Data group number.
    pub dg: u8,
    /// Result for this data group.
    pub status: CheckStatus,
}

/// Passive authentication result, one named check at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveAuthReport {
    /// EF.SOD could be parsed as SignedData over an LDSSecurityObject.
    pub sod_parsed: CheckStatus,
    /// (a) Every supplied data group hashes to the value in the SOD.
    pub data_group_hashes: CheckStatus,
    /// Per data group details of (a).
    pub data_groups: Vec<DataGroupCheck>,
    /// (b) The CMS signature verifies with the Document Signer certificate.
    pub sod_signature: CheckStatus,
    /// (c) The Document Signer certificate is signed by a CSCA root and both are valid now.
    pub certificate_chain: CheckStatus,
    /// Subject of the Document Signer certificate, when found.
    pub document_signer: Option<String>,
    /// Subject of the CSCA that issued it, when found.
    pub csca: Option<String>,
}

impl PassiveAuthReport {
    /// `true` when all checks passed.
    pub fn passed(&self) -> bool {
        self.sod_parsed.is_passed()
            && self.data_group_hashes.is_passed()
            && self.sod_signature.is_passed()
            && self.certificate_chain.is_passed()
    }
}

/// Hash algorithms allowed in LDS security objects and signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1 (legacy documents).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.4");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ECDSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
const OID_ECDSA_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.1");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");

const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const OID_MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const OID_RSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_RSA_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.14");

const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

impl HashAlg {
    /// Maps a digest algorithm OID.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            OID_SHA1 => HashAlg::Sha1,
            OID_SHA224 => HashAlg::Sha224,
            OID_SHA256 => HashAlg::Sha256,
            OID_SHA384 => HashAlg::Sha384,
            OID_SHA512 => HashAlg::Sha512,
            _ => return None,
        })
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlg::Sha1 => Sha1::digest(data).to_vec(),
            HashAlg::Sha224 => Sha224::digest(data).to_vec(),
            HashAlg::Sha256 => Sha256::digest(data).to_vec(),
            HashAlg::Sha384 => Sha384::digest(data).to_vec(),
            HashAlg::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// `RSASSA-PSS-params` (RFC 4055).
#[derive(Debug, Clone, Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

/// The signature scheme named by a signature AlgorithmIdentifier.
enum Scheme {
    Ecdsa(HashAlg),
    RsaPkcs1(HashAlg),
    RsaPss { hash: HashAlg, salt_len: usize },
}

fn scheme_of(alg: &AlgorithmIdentifierOwned, fallback: Option<HashAlg>) -> Result<Scheme, String> {
    let need = |h: Option<HashAlg>| h.ok_or_else(|| "no digest algorithm for signature".to_owned());
    Ok(match alg.oid {
        OID_ECDSA_SHA1 => Scheme::Ecdsa(HashAlg::Sha1),
        OID_ECDSA_SHA224 => Scheme::Ecdsa(HashAlg::Sha224),
        OID_ECDSA_SHA256 => Scheme::Ecdsa(HashAlg::Sha256),
        OID_ECDSA_SHA384 => Scheme::Ecdsa(HashAlg::Sha384),
        OID_ECDSA_SHA512 => Scheme::Ecdsa(HashAlg::Sha512),
        // Some SODs name the key type instead of the signature algorithm.
        OID_EC_PUBLIC_KEY => Scheme::Ecdsa(need(fallback)?),
        OID_RSA => Scheme::RsaPkcs1(need(fallback)?),
        OID_RSA_SHA1 => Scheme::RsaPkcs1(HashAlg::Sha1),
        OID_RSA_SHA224 => Scheme::RsaPkcs1(HashAlg::Sha224),
        OID_RSA_SHA256 => Scheme::RsaPkcs1(HashAlg::Sha256),
        OID_RSA_SHA384 => Scheme::RsaPkcs1(HashAlg::Sha384),
        OID_RSA_SHA512 => Scheme::RsaPkcs1(HashAlg::Sha512),
        OID_RSA_PSS => {
            let params: PssParams = match &alg.parameters {
                Some(p) => p.decode_as().map_err(|e| format!("RSASSA-PSS parameters: {e}"))?,
                None => return Err("RSASSA-PSS without parameters".into()),
            };
            let hash = match &params.hash {
                Some(h) => {
                    HashAlg::from_oid(&h.oid).ok_or_else(|| format!("unsupported PSS hash {}", h.oid))?
                }
                None => HashAlg::Sha1,
            };
            if let Some(mgf) = &params.mask_gen {
                let mgf_hash = mgf
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                    .and_then(|a| HashAlg::from_oid(&a.oid));
                if mgf.oid != OID_MGF1 || mgf_hash != Some(hash) {
                    return Err("PSS mask generation other than MGF1 with the same hash".into());
                }
            }
            if params.trailer_field.is_some_and(|t| t != 1) {
                return Err("PSS trailer field other than 1".into());
            }
            let salt_len = usize::try_from(params.salt_length.unwrap_or(20))
                .map_err(|_| "PSS salt length".to_owned())?;
            Scheme::RsaPss { hash, salt_len }
        }
        ref other => return Err(format!("unsupported signature algorithm {other}")),
    })
}

fn pkcs1_sign(hash: HashAlg) -> rsa::Pkcs1v15Sign {
    match hash {
        HashAlg::Sha1 => rsa::Pkcs1v15Sign {
            hash_len: Some(20),
            prefix: Box::new([
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
            ]),
        },
        HashAlg::Sha224 => rsa::Pkcs1v15Sign::new::<Sha224>(),
        HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<Sha256>(),
        HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<Sha384>(),
        HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<Sha512>(),
    }
}

fn pss(hash: HashAlg, salt_len: usize) -> rsa::Pss {
    match hash {
        HashAlg::Sha1 => rsa::Pss::new_with_salt::<Sha1>(salt_len),
        HashAlg::Sha224 => rsa::Pss::new_with_salt::<Sha224>(salt_len),
        HashAlg::Sha256 => rsa::Pss::new_with_salt::<Sha256>(salt_len),
        HashAlg::Sha384 => rsa::Pss::new_with_salt::<Sha384>(salt_len),
        HashAlg::Sha512 => rsa::Pss::new_with_salt::<Sha512>(salt_len),
    }
}

/// Verifies `signature` over `message` with the public key in `spki`, using the signature
/// algorithm `alg` (and `fallback` digest when `alg` names only the key type).
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    fallback: Option<HashAlg>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let scheme = scheme_of(alg, fallback)?;
    let key_bytes = spki.subject_public_key.raw_bytes();
    match scheme {
        Scheme::Ecdsa(hash) => {
            if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
                return Err("ECDSA signature but the key is not an EC key".into());
            }
            let curve: ObjectIdentifier = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok())
                .ok_or("EC key without a named curve")?;
            let digest = hash.digest(message);
            match curve {
                OID_P256 => {
                    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map_err(|e| format!("P-256 key: {e}"))?;
                    let sig = p256::ecdsa::Signature::from_der(signature)
                        .map_err(|e| format!("ECDSA signature encoding: {e}"))?;
                    vk.verify_prehash(&digest, &sig)
                        .map_err(|_| "ECDSA P-256 signature does not verify".to_owned())
                }
                OID_P384 => {
                    let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map_err(|e| format!("P-384 key: {e}"))?;
                    let sig = p384::ecdsa::Signature::from_der(signature)
                        .map_err(|e| format!("ECDSA signature encoding: {e}"))?;
                    vk.verify_prehash(&digest, &sig)
                        .map_err(|_| "ECDSA P-384 signature does not verify".to_owned())
                }
                other => Err(format!("unsupported curve {other} (brainpool is not supported)")),
            }
        }
        Scheme::RsaPkcs1(hash) | Scheme::RsaPss { hash, .. } => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            if spki.algorithm.oid != OID_RSA && spki.algorithm.oid != OID_RSA_PSS {
                return Err("RSA signature but the key is not an RSA key".into());
            }
            let key = rsa::RsaPublicKey::from_pkcs1_der(key_bytes).map_err(|e| format!("RSA key: {e}"))?;
            let digest = hash.digest(message);
            let res = match scheme {
                Scheme::RsaPss { salt_len, .. } => key.verify(pss(hash, salt_len), &digest, signature),
                _ => key.verify(pkcs1_sign(hash), &digest, signature),
            };
            res.map_err(|_| "RSA signature does not verify".to_owned())
        }
    }
}

fn check_validity(cert: &Certificate, now: SystemTime, what: &str) -> Result<(), String> {
    let v = &cert.tbs_certificate.validity;
    if now < v.not_before.to_system_time() {
        return Err(format!("{what} certificate is not yet valid"));
    }
    if now > v.not_after.to_system_time() {
        return Err(format!("{what} certificate has expired"));
    }
    Ok(())
}

fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == OID_SKI)?;
    let inner = OctetString::from_der(ext.extn_value.as_bytes()).ok()?;
    Some(inner.as_bytes().to_vec())
}

/// Finds the Document Signer certificate named by the signer identifier.
fn find_signer_cert(sod: &Sod, si: &SignerInfo) -> Result<Certificate, String> {
    let certs: Vec<&Certificate> = sod
        .signed_data
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|c| match c {
                    CertificateChoices::Certificate(c) => Some(c),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let found = certs.into_iter().find(|c| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => subject_key_id(c).as_deref() == Some(ski.0.as_bytes()),
    });
    found
        .cloned()
        .ok_or_else(|| "the Document Signer certificate is not in the SOD".to_owned())
}

/// (b): the SignerInfo's signed attributes (content type, message digest) and signature.
fn check_sod_signature(sod: &Sod, si: &SignerInfo, ds: &Certificate) -> Result<(), String> {
    let digest_alg = HashAlg::from_oid(&si.digest_alg.oid)
        .ok_or_else(|| format!("unsupported digest algorithm {}", si.digest_alg.oid))?;
    let signed_message = match &si.signed_attrs {
        Some(attrs) => {
            let mut content_type_ok = false;
            let mut digest_ok = false;
            for attr in attrs.iter() {
                let mut values = attr.values.iter();
                let (Some(value), None) = (values.next(), values.next()) else {
                    return Err("signed attribute without exactly one value".into());
                };
                if attr.oid == OID_CONTENT_TYPE {
                    let oid: ObjectIdentifier = value
                        .decode_as()
                        .map_err(|e| format!("content-type attribute: {e}"))?;
                    content_type_ok = oid == ID_LDS_SECURITY_OBJECT;
                } else if attr.oid == OID_MESSAGE_DIGEST {
                    let md: OctetString = value
                        .decode_as()
                        .map_err(|e| format!("message-digest attribute: {e}"))?;
                    digest_ok = md.as_bytes() == digest_alg.digest(&sod.econtent).as_slice();
                }
            }
            if !content_type_ok {
                return Err("content-type attribute is missing or not ldsSecurityObject".into());
            }
            if !digest_ok {
                return Err("message-digest attribute is missing or does not match the content".into());
            }
            attrs
                .to_der()
                .map_err(|e| format!("re-encoding signed attributes: {e}"))?
        }
        None => sod.econtent.clone(),
    };
    verify_signature(
        &ds.tbs_certificate.subject_public_key_info,
        &si.signature_algorithm,
        Some(digest_alg),
        &signed_message,
        si.signature.as_bytes(),
    )
    .map_err(|e| format!("SOD signature: {e}"))
}

/// (c): the DS certificate is issued and signed by one of the CSCA roots; both valid at `now`.
fn check_chain(ds: &Certificate, csca_roots: &[Vec<u8>], now: SystemTime) -> Result<String, String> {
    let tbs = ds
        .tbs_certificate
        .to_der()
        .map_err(|e| format!("re-encoding the DS certificate: {e}"))?;
    let mut reasons = Vec::new();
    for root_der in csca_roots {
        let Ok(root) = Certificate::from_der(root_der) else {
            reasons.push("a CSCA root is not a valid certificate".to_owned());
            continue;
        };
        if root.tbs_certificate.subject != ds.tbs_certificate.issuer {
            continue;
        }
        let verified = verify_signature(
            &root.tbs_certificate.subject_public_key_info,
            &ds.signature_algorithm,
            None,
            &tbs,
            ds.signature.raw_bytes(),
        )
        .and_then(|()| check_validity(ds, now, "Document Signer"))
        .and_then(|()| check_validity(&root, now, "CSCA"));
        match verified {
            Ok(()) => return Ok(root.tbs_certificate.subject.to_string()),
            Err(e) => reasons.push(e),
        }
    }
    if reasons.is_empty() {
        Err(format!(
            "no CSCA root named {} in the trust list",
            ds.tbs_certificate.issuer
        ))
    } else {
        Err(reasons.join("; "))
    }
}

/// (a): every supplied data group hashes to the SOD value and carries its own tag.
fn check_hashes(sod: &Sod, data_groups: &[(u8, Vec<u8>)]) -> (CheckStatus, Vec<DataGroupCheck>) {
    let Some(alg) = HashAlg::from_oid(&sod.lds.hash_algorithm.oid) else {
        let reason = format!("unsupported hash algorithm {}", sod.lds.hash_algorithm.oid);
        return (CheckStatus::Failed(reason), Vec::new());
    };
    if data_groups.is_empty() {
        return (CheckStatus::Failed("no data groups supplied".into()), Vec::new());
    }
    let details: Vec<DataGroupCheck> = data_groups
        .iter()
        .map(|(dg, bytes)| {
            let status = match sod.hash_of(*dg) {
                None => CheckStatus::Failed(format!("DG{dg} has no hash in the SOD")),
                Some(expected) => {
                    let tag_ok = read_data_group(bytes)
                        .map(|raw| Some(raw.tag) == dg_tag(*dg))
                        .unwrap_or(false);
                    if alg.digest(bytes) != expected {
                        CheckStatus::Failed(format!("DG{dg} hash does not match the SOD"))
                    } else if !tag_ok {
                        CheckStatus::Failed(format!("DG{dg} content does not carry the DG{dg} tag"))
                    } else {
                        CheckStatus::Passed
                    }
                }
            };
            DataGroupCheck { dg: *dg, status }
        })
        .collect();
    let failed: Vec<String> = details
        .iter()
        .filter_map(|d| match &d.status {
            CheckStatus::Failed(r) => Some(r.clone()),
            _ => None,
        })
        .collect();
    let overall = if failed.is_empty() {
        CheckStatus::Passed
    } else {
        CheckStatus::Failed(failed.join("; "))
    };
    (overall, details)
}

/// Passive authentication at the current time. `sod` is EF.SOD as read (tag `77`),
/// `data_groups` are (number, full file bytes) pairs, `csca_roots` are DER certificates.
pub fn passive_authentication(
    sod: &[u8],
    data_groups: &[(u8, Vec<u8>)],
    csca_roots: &[Vec<u8>],
) -> PassiveAuthReport {
    passive_authentication_at(sod, data_groups, csca_roots, SystemTime::now())
}

/// [`passive_authentication`] with an explicit time for the validity checks.
pub fn passive_authentication_at(
    sod: &[u8],
    data_groups: &[(u8, Vec<u8>)],
    csca_roots: &[Vec<u8>],
    now: SystemTime,
) -> PassiveAuthReport {
    let not_run = |why: &str| CheckStatus::NotRun(why.to_owned());
    let mut report = PassiveAuthReport {
        sod_parsed: CheckStatus::Passed,
        data_group_hashes: not_run("EF.SOD not parsed"),
        data_groups: Vec::new(),
        sod_signature: not_run("EF.SOD not parsed"),
        certificate_chain: not_run("EF.SOD not parsed"),
        document_signer: None,
        csca: None,
    };
    let sod = match parse_sod(sod) {
        Ok(s) => s,
        Err(e) => {
            report.sod_parsed = CheckStatus::Failed(e.to_string());
            return report;
        }
    };
    let (hashes, details) = check_hashes(&sod, data_groups);
    report.data_group_hashes = hashes;
    report.data_groups = details;

    let mut signers = sod.signed_data.signer_infos.0.iter();
    let si = match (signers.next(), signers.next()) {
        (Some(si), None) => si,
        _ => {
            report.sod_signature = CheckStatus::Failed("EF.SOD must have exactly one SignerInfo".into());
            report.certificate_chain = not_run("no single signer");
            return report;
        }
    };
    let ds = match find_signer_cert(&sod, si) {
        Ok(c) => c,
        Err(e) => {
            report.sod_signature = CheckStatus::Failed(e);
            report.certificate_chain = not_run("no Document Signer certificate");
            return report;
        }
    };
    report.document_signer = Some(ds.tbs_certificate.subject.to_string());
    report.sod_signature = match check_sod_signature(&sod, si, &ds) {
        Ok(()) => CheckStatus::Passed,
        Err(e) => CheckStatus::Failed(e),
    };
    report.certificate_chain = match check_chain(&ds, csca_roots, now) {
        Ok(csca) => {
            report.csca = Some(csca);
            CheckStatus::Passed
        }
        Err(e) => CheckStatus::Failed(e),
    };
    report
}
