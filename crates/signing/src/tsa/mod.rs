//! RFC 3161 timestamps: an in-process timestamp authority (server side), the client side (request and
//! response checks), a reader of timestamp tokens for verifiers, and the [`TimestampSource`] seam through
//! which signing obtains tokens. No networking here: the server implements [`TimestampSource`] for
//! remote TSAs over HTTP.
//!
//! Encoding and decoding go through der, cms, x509-cert and x509-tsp. A few structures are declared here
//! instead of taken from x509-tsp 0.1, each saying why.
use crate::cert::{CertView, HashAlg};
use crate::certgen;
use crate::{Signer, SigningError};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignedData, SignerIdentifier, SignerInfo,
    SignerInfos,
};
use const_oid::db::rfc5911;
use der::asn1::{
    AnyRef, BitString, GeneralizedTime, Int, ObjectIdentifier, OctetString, OctetStringRef, SetOfVec, Uint,
    Utf8StringRef,
};
use der::{
    Any, Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence, SliceReader,
    Tag, Tagged, Writer,
};
use spki::AlgorithmIdentifierOwned;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::ext::Extensions;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TspVersion};

mod authority;
mod client;
mod der_types;
mod token;

pub use authority::{parse_request, rejection, TimestampRequest};
pub use client::{build_request, parse_response, random_nonce};
use der_types::*;
pub use token::{read_token, verify_token, TstInfo};
#[allow(unused_imports)]
use {authority::*, client::*, token::*};

/// Where signatures get their RFC 3161 timestamp tokens.
pub trait TimestampSource: Send + Sync {
    /// A DER TimeStampToken (CMS ContentInfo) over `sha256_digest`.
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, SigningError>;
    /// Each authority behind it and its state, for the health check.
    fn health(&self) -> Vec<(String, String)> {
        vec![("built-in".into(), "ok".into())]
    }
    /// Whether a timestamp may be had now (false: every authority is cut off for a while).
    fn ready(&self) -> bool {
        true
    }
}

/// The accuracy a TSA declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accuracy {
    pub seconds: u32,
    /// 0..=999; 0 means absent.
    pub millis: u16,
}

/// A development / in-process timestamp authority.
pub struct TimestampAuthority {
    signer: Arc<dyn Signer>,
    policy: PolicyId,
    serial: AtomicU64,
    accuracy: Option<Accuracy>,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("policy", &self.policy.to_dotted())
            .field("accuracy", &self.accuracy)
            .finish_non_exhaustive()
    }
}

/// PKIFailureInfo bits (RFC 3161 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FailureInfo {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    TimeNotAvailable = 14,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    AddInfoNotAvailable = 17,
    SystemFailure = 25,
}

/// The default policy OID of the development TSA (under the example arc 2.999).
pub const DEV_POLICY: &str = "2.999.84.1.1";

fn bad(what: &str) -> SigningError {
    SigningError::Encoding(format!("timestamp: {what}"))
}

fn der_error(e: der::Error) -> SigningError {
    bad(&e.to_string())
}

/// The hash algorithms accepted in message imprints.
fn imprint_hash(oid: &ObjectIdentifier) -> Option<HashAlg> {
    HashAlg::from_oid(oid.as_bytes())
}

fn hash_len(alg: HashAlg) -> usize {
    match alg {
        HashAlg::Sha256 => 32,
        HashAlg::Sha384 => 48,
        HashAlg::Sha512 => 64,
    }
}

/// A non-negative INTEGER from big-endian unsigned bytes (leading zeros dropped, a sign octet added when
/// needed).
fn unsigned_int(bytes: &[u8]) -> der::Result<Int> {
    Ok(Int::from(Uint::new(bytes)?))
}

/// The DER ESS SigningCertificateV2 attribute value for the DER certificate `cert_der` (SHA-256, with
/// issuerSerial).
pub fn signing_certificate_v2(cert_der: &[u8]) -> Result<Vec<u8>, SigningError> {
    let cert = CertView::parse(cert_der).ok_or_else(|| bad("the TSA certificate does not parse"))?;
    crate::ess::to_der(&crate::ess::signing_certificate_v2(&cert)?)
}

/// Whether a certificate's extendedKeyUsage lists id-kp-timeStamping; with `only_critical`, it must also be
/// critical and list nothing else.
fn for_timestamping(cert: &CertView<'_>, only_critical: bool) -> bool {
    certgen::extended_key_usages(cert).is_some_and(|(critical, usages)| {
        let listed = usages.contains(&crate::oid::KP_TIME_STAMPING);
        listed && (!only_critical || (critical && usages.len() == 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Hierarchy, PkiNames};

    fn tsa() -> (Hierarchy, TimestampAuthority) {
        let names = PkiNames {
            country: "VN".into(),
            organization: "Org".into(),
            root_cn: "R".into(),
            issuing_cn: "I".into(),
            seal_cn: "S".into(),
        };
        let h = Hierarchy::generate(&names, &[], "http://x", time::OffsetDateTime::now_utc()).unwrap();
        let signer = Arc::new(h.signer(&h.tsa).unwrap());
        let tsa = TimestampAuthority::new(signer, DEV_POLICY).unwrap();
        (h, tsa)
    }

    /// An INTEGER's content bytes as a number, if it is a small non-negative one.
    fn small_uint(content: &[u8]) -> Option<u64> {
        u64::from_der(&Int::new(content).ok()?.to_der().ok()?).ok()
    }

    #[test]
    fn request_response_round_trip() {
        let (h, tsa) = tsa();
        let digest = [7u8; 32];
        let now = time::OffsetDateTime::now_utc();
        let req = build_request(&digest, Some(0x1234_5678_9abc));
        let resp = tsa.respond(&req, now);
        let token = parse_response(&resp, &digest, Some(0x1234_5678_9abc)).unwrap();
        let info = verify_token(&token, &[]).unwrap();
        assert_eq!(info.tsa_cert.as_deref(), Some(h.tsa.cert_der.as_slice()));
        assert_eq!(info.gen_time, now.unix_timestamp());
        assert_eq!(info.policy, DEV_POLICY);
        assert_eq!(info.accuracy_millis, Some(1000));
        assert!(parse_response(&resp, &[8u8; 32], Some(0x1234_5678_9abc)).is_err());
        assert!(parse_response(&resp, &digest, Some(1)).is_err());
        // Serials increase.
        let second = read_token(&tsa.stamp(HashAlg::Sha256, &digest, None, false, now).unwrap()).unwrap();
        assert!(small_uint(&second.serial) > small_uint(&info.serial));
        // A token without certificates verifies with the certificate supplied.
        let bare = tsa.stamp(HashAlg::Sha256, &digest, None, false, now).unwrap();
        assert!(verify_token(&bare, &[]).is_err());
        assert!(verify_token(&bare, std::slice::from_ref(&h.tsa.cert_der)).is_ok());
        // Tampering is detected.
        let mut tampered = token.clone();
        let at = tampered.windows(32).position(|w| w == digest).unwrap();
        tampered[at] ^= 1;
        assert!(verify_token(&tampered, &[]).is_err());
    }

    #[test]
    fn gen_time_fractions_and_policy_oids() {
        let unix = |s: &str| GenTime(s.as_bytes().to_vec()).unix().ok();
        assert_eq!(unix("20240101120000Z"), Some(1_704_110_400));
        assert_eq!(unix("20240101120000.5Z"), Some(1_704_110_400));
        assert_eq!(unix("20240101120000.123456Z"), Some(1_704_110_400));
        for bad in [
            "20240101120000.Z",
            "20240101120000.1aZ",
            "20240101120000.1",
            "2024010112000Z",
            "",
            ".Z",
        ] {
            assert_eq!(unix(bad), None, "{bad}");
        }
        for dotted in [
            DEV_POLICY,
            "1.2.3.4.1",
            "0.4.0.2023.1.1",
            "2.16.840.1.101.3.4.2.1",
        ] {
            let policy = PolicyId::from_dotted(dotted).unwrap();
            assert_eq!(policy.to_dotted(), dotted);
            if let Ok(oid) = ObjectIdentifier::new(dotted) {
                assert_eq!(oid.as_bytes(), policy.0.as_slice());
            }
        }
        for bad in ["", "1", "3.1", "1.40", "1.2.", "1.+2", "1.2.18446744073709551616"] {
            assert!(PolicyId::from_dotted(bad).is_none(), "{bad}");
        }
        assert!(!PolicyId::well_formed(&[0x2a, 0x80, 0x01]));
        assert!(!PolicyId::well_formed(&[0x2a, 0x81]));
    }

    #[test]
    fn bad_requests_are_rejected() {
        let (_, tsa) = tsa();
        let now = time::OffsetDateTime::now_utc();
        let status = |resp: &[u8]| {
            let status = TimeStampRespDer::from_der(resp).unwrap().status;
            let bits = status
                .fail_info
                .map(|b| [&[b.unused_bits()][..], b.raw_bytes()].concat());
            (status.status, bits)
        };
        assert_eq!(
            status(&tsa.respond(b"\x30\x03\x02\x01", now)),
            (2, Some(vec![2, 0x04]))
        );
        let request = |oid: ObjectIdentifier, imprint: &[u8]| {
            TimeStampReqDer {
                version: 1,
                message_imprint: MessageImprint {
                    hash_algorithm: certgen::digest_algorithm(oid),
                    hashed_message: OctetString::new(imprint).unwrap(),
                },
                req_policy: None,
                nonce: None,
                cert_req: false,
                extensions: None,
            }
            .to_der()
            .unwrap()
        };
        // MD5 imprint.
        let md5 = request(ObjectIdentifier::new_unwrap("1.2.840.113549.2.5"), &[0u8; 16]);
        assert_eq!(status(&tsa.respond(&md5, now)), (2, Some(vec![7, 0x80])));
        // Wrong imprint length.
        let short = request(crate::oid::SHA256, &[0u8; 20]);
        assert_eq!(status(&tsa.respond(&short, now)).0, 2);
        assert_eq!(
            fail_info(16).unwrap().to_der().unwrap(),
            vec![3, 4, 7, 0, 0, 0x80]
        );
        assert_eq!(
            fail_info(25).unwrap().to_der().unwrap(),
            vec![3, 5, 6, 0, 0, 0, 0x40]
        );
    }
}
