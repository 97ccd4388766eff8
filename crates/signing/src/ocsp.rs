//! OCSP (RFC 6960): reading requests, building signed BasicOCSPResponses (for the HTTP responder and for
//! embedding in a PDF's DSS), and reading and verifying responses, on x509-ocsp's types.
use crate::cert::{hash_of_signature_alg, CertView, HashAlg};
use crate::certgen;
use crate::crl::RevocationReason;
use crate::{Signer, SigningError};
use const_oid::db::{rfc5912, rfc6960};
use const_oid::AssociatedOid as _;
use der::asn1::{Any, BitString, ObjectIdentifier, OctetString};
use der::{Decode as _, Encode as _};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Certificate;
use x509_ocsp::{
    BasicOcspResponse, OcspGeneralizedTime, OcspResponse, OcspResponseStatus, ResponderId, ResponseData,
    SingleResponse,
};

/// The hash of a CertID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdHash {
    Sha1,
    Sha256,
}

impl CertIdHash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => certgen::sha1(data),
            Self::Sha256 => HashAlg::Sha256.digest(data),
        }
    }

    fn algorithm(self) -> AlgorithmIdentifierOwned {
        match self {
            // SHA-1 AlgorithmIdentifiers traditionally carry NULL parameters.
            Self::Sha1 => AlgorithmIdentifierOwned {
                oid: rfc5912::ID_SHA_1,
                parameters: Some(Any::null()),
            },
            Self::Sha256 => AlgorithmIdentifierOwned {
                oid: rfc5912::ID_SHA_256,
                parameters: None,
            },
        }
    }

    fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            rfc5912::ID_SHA_1 => Some(Self::Sha1),
            rfc5912::ID_SHA_256 => Some(Self::Sha256),
            _ => None,
        }
    }
}

/// A CertID: which certificate of which issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    pub hash: CertIdHash,
    pub issuer_name_hash: Vec<u8>,
    pub issuer_key_hash: Vec<u8>,
    /// Serial INTEGER content bytes.
    pub serial: Vec<u8>,
}

/// The DER subject Name and the subjectPublicKey bits of a certificate: what a CertID hashes.
fn issuer_name_and_key(issuer_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), SigningError> {
    let issuer = CertView::parse(issuer_der)
        .ok_or_else(|| SigningError::Certificate("the issuer certificate does not parse".into()))?;
    let name = issuer
        .subject_der()
        .ok_or_else(|| SigningError::Certificate("the issuer name does not encode".into()))?;
    let key = issuer
        .public_key_bits()
        .ok_or_else(|| SigningError::Certificate("the issuer key does not parse".into()))?;
    Ok((name, key.to_vec()))
}

/// A serial number from big-endian unsigned bytes (such as INTEGER content bytes with their sign octet).
fn serial_number(bytes: &[u8]) -> Result<SerialNumber, der::Error> {
    // Through a DER INTEGER: decoding allows the 21-octet serials that `SerialNumber::new` refuses.
    SerialNumber::from_der(&der::asn1::Uint::new(bytes)?.to_der()?)
}

impl CertId {
    /// The CertID of `cert_der` issued by `issuer_der`.
    pub fn new(hash: CertIdHash, cert_der: &[u8], issuer_der: &[u8]) -> Result<Self, SigningError> {
        let cert = Certificate::from_der(cert_der)
            .map_err(|_| SigningError::Certificate("the certificate does not parse".into()))?;
        Self::for_serial(hash, cert.tbs_certificate.serial_number.as_bytes(), issuer_der)
    }

    /// The CertID of serial `serial` (INTEGER content bytes) issued by `issuer_der`.
    pub fn for_serial(hash: CertIdHash, serial: &[u8], issuer_der: &[u8]) -> Result<Self, SigningError> {
        let (name, key) = issuer_name_and_key(issuer_der)?;
        Ok(Self {
            hash,
            issuer_name_hash: hash.digest(&name),
            issuer_key_hash: hash.digest(&key),
            serial: serial.to_vec(),
        })
    }

    /// Whether this CertID names `issuer_der` as the issuer.
    pub fn has_issuer(&self, issuer_der: &[u8]) -> bool {
        issuer_name_and_key(issuer_der).is_ok_and(|(name, key)| {
            self.hash.digest(&name) == self.issuer_name_hash && self.hash.digest(&key) == self.issuer_key_hash
        })
    }

    fn to_ocsp(&self) -> Result<x509_ocsp::CertId, SigningError> {
        let octets = |b: &[u8]| OctetString::new(b).map_err(|e| bad(&format!("CertID: {e}")));
        Ok(x509_ocsp::CertId {
            hash_algorithm: self.hash.algorithm(),
            issuer_name_hash: octets(&self.issuer_name_hash)?,
            issuer_key_hash: octets(&self.issuer_key_hash)?,
            serial_number: serial_number(&self.serial).map_err(|e| bad(&format!("CertID serial: {e}")))?,
        })
    }

    /// The DER CertID.
    pub fn to_der(&self) -> Result<Vec<u8>, SigningError> {
        self.to_ocsp()?.to_der().map_err(|e| bad(&format!("CertID: {e}")))
    }

    /// `None` for a hash other than SHA-1/SHA-256.
    fn from_ocsp(id: &x509_ocsp::CertId) -> Option<Self> {
        Some(Self {
            hash: CertIdHash::from_oid(&id.hash_algorithm.oid)?,
            issuer_name_hash: id.issuer_name_hash.as_bytes().to_vec(),
            issuer_key_hash: id.issuer_key_hash.as_bytes().to_vec(),
            serial: id.serial_number.as_bytes().to_vec(),
        })
    }
}

/// A parsed OCSPRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    pub cert_ids: Vec<CertId>,
    /// The nonce octets (the inner OCTET STRING of the nonce extension when it has one).
    pub nonce: Option<Vec<u8>>,
    /// The whole nonce extension (DER), echoed in the response.
    pub nonce_extension: Option<Vec<u8>>,
}

fn bad(what: &str) -> SigningError {
    SigningError::Encoding(format!("OCSP: {what}"))
}

/// The first nonce extension of a list.
fn find_nonce(extensions: Option<&Vec<Extension>>) -> Option<&Extension> {
    extensions?
        .iter()
        .find(|e| e.extn_id == rfc6960::ID_PKIX_OCSP_NONCE)
}

/// The octets of a nonce extension: its value's OCTET STRING (RFC 8954), or the raw value older clients send.
fn nonce_octets(extension: &Extension) -> Vec<u8> {
    let value = extension.extn_value.as_bytes();
    OctetString::from_der(value)
        .map(OctetString::into_bytes)
        .unwrap_or_else(|_| value.to_vec())
}

/// Parses a DER OCSPRequest. A CertID with a hash other than SHA-1/SHA-256 is an error.
/// CertIDs answered in one request: clients ask for one; an anonymous request for thousands would buy that
/// many look-ups and a response as long.
pub const MAX_CERT_IDS: usize = 16;

pub fn parse_request(der: &[u8]) -> Result<OcspRequest, SigningError> {
    crate::bounds::check(der).map_err(|e| bad(&format!("the request is refused unread: {e:?}")))?;
    let request =
        x509_ocsp::OcspRequest::from_der(der).map_err(|e| bad(&format!("the request is not DER: {e}")))?;
    let tbs = &request.tbs_request;
    if tbs.request_list.is_empty() {
        return Err(bad("empty requestList"));
    }
    if tbs.request_list.len() > MAX_CERT_IDS {
        return Err(bad(&format!(
            "{} CertIDs in one request (at most {MAX_CERT_IDS})",
            tbs.request_list.len()
        )));
    }
    let cert_ids = tbs
        .request_list
        .iter()
        .map(|r| CertId::from_ocsp(&r.req_cert).ok_or_else(|| bad("bad or unsupported CertID")))
        .collect::<Result<Vec<_>, _>>()?;
    let nonce = find_nonce(tbs.request_extensions.as_ref());
    Ok(OcspRequest {
        cert_ids,
        nonce: nonce.map(nonce_octets),
        nonce_extension: nonce
            .map(|e| e.to_der().map_err(|e| bad(&format!("nonce: {e}"))))
            .transpose()?,
    })
}

/// A certificate's status as an OCSP responder states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    Revoked {
        at: time::OffsetDateTime,
        reason: Option<RevocationReason>,
    },
    Unknown,
}

/// One answer of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleStatus {
    pub cert_id: CertId,
    pub status: CertStatus,
    pub this_update: time::OffsetDateTime,
    pub next_update: Option<time::OffsetDateTime>,
}

/// OCSPResponseStatus values for unsuccessful responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ResponseStatus {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// An OCSPResponse carrying only an error status.
pub fn error_response(status: ResponseStatus) -> Vec<u8> {
    let response_status = match status {
        ResponseStatus::Successful => OcspResponseStatus::Successful,
        ResponseStatus::MalformedRequest => OcspResponseStatus::MalformedRequest,
        ResponseStatus::InternalError => OcspResponseStatus::InternalError,
        ResponseStatus::TryLater => OcspResponseStatus::TryLater,
        ResponseStatus::SigRequired => OcspResponseStatus::SigRequired,
        ResponseStatus::Unauthorized => OcspResponseStatus::Unauthorized,
    };
    // Encoding a lone ENUMERATED cannot fail.
    OcspResponse {
        response_status,
        response_bytes: None,
    }
    .to_der()
    .unwrap_or_default()
}

/// A GeneralizedTime in whole seconds (any fraction dropped).
fn ocsp_time(t: time::OffsetDateTime) -> Result<OcspGeneralizedTime, SigningError> {
    certgen::gen_time(t).map(OcspGeneralizedTime)
}

fn unix_seconds(t: &OcspGeneralizedTime) -> Option<i64> {
    i64::try_from(t.0.to_unix_duration().as_secs()).ok()
}

/// A certificate decoded strictly: `None` unless it re-encodes to `der` (so its to-be-signed part re-encodes to
/// the bytes its issuer signed, and it can be embedded re-encoded).
fn strict_certificate(der: &[u8]) -> Option<Certificate> {
    let cert = Certificate::from_der(der).ok()?;
    (cert.to_der().ok()? == der).then_some(cert)
}

fn single_response(single: &SingleStatus) -> Result<SingleResponse, SigningError> {
    let cert_status = match single.status {
        CertStatus::Good => x509_ocsp::CertStatus::good(),
        CertStatus::Revoked { at, reason } => x509_ocsp::CertStatus::revoked(x509_ocsp::RevokedInfo {
            revocation_time: ocsp_time(at)?,
            revocation_reason: reason.map(RevocationReason::crl_reason),
        }),
        CertStatus::Unknown => x509_ocsp::CertStatus::unknown(),
    };
    Ok(SingleResponse {
        cert_id: single.cert_id.to_ocsp()?,
        cert_status,
        this_update: ocsp_time(single.this_update)?,
        next_update: single.next_update.map(ocsp_time).transpose()?,
        single_extensions: None,
    })
}

/// Builds a successful OCSPResponse with a BasicOCSPResponse signed by `responder` (its chain's first
/// certificate is the responder certificate; the whole chain is included), the responder identified by
/// key hash, and the nonce extension (DER) echoed when given.
pub fn build_response(
    responder: &dyn Signer,
    responses: &[SingleStatus],
    produced_at: time::OffsetDateTime,
    nonce_extension: Option<&[u8]>,
) -> Result<Vec<u8>, SigningError> {
    let encoding = |e: der::Error| bad(&e.to_string());
    let chain = responder.chain();
    let responder_der = chain
        .first()
        .ok_or_else(|| SigningError::Certificate("the responder has no certificate".into()))?;
    let responder_cert = CertView::parse(responder_der)
        .ok_or_else(|| SigningError::Certificate("the responder certificate does not parse".into()))?;
    let key_hash = certgen::sha1(
        responder_cert
            .public_key_bits()
            .ok_or_else(|| SigningError::Certificate("the responder key does not parse".into()))?,
    );
    let certs = chain
        .iter()
        .map(|c| {
            strict_certificate(c).ok_or_else(|| {
                SigningError::Certificate("a certificate of the responder chain is not DER".into())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tbs_response_data = ResponseData {
        version: x509_ocsp::Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_hash).map_err(encoding)?),
        produced_at: ocsp_time(produced_at)?,
        responses: responses
            .iter()
            .map(single_response)
            .collect::<Result<Vec<_>, _>>()?,
        response_extensions: nonce_extension
            .map(|e| Extension::from_der(e).map(|e| vec![e]))
            .transpose()
            .map_err(|e| bad(&format!("nonce extension: {e}")))?,
    };
    let tbs = tbs_response_data.to_der().map_err(encoding)?;
    let signature = responder.sign(&tbs)?;
    let basic = BasicOcspResponse {
        tbs_response_data,
        signature_algorithm: certgen::algorithm_id(responder.algorithm()),
        signature: BitString::from_bytes(&signature).map_err(encoding)?,
        certs: Some(certs),
    };
    OcspResponse::successful(basic)
        .and_then(|r| r.to_der())
        .map_err(encoding)
}

/// Answers a DER OCSPRequest: `lookup` gives each CertID's status; answers are valid from `now` for
/// `validity`. Never fails: a malformed request gets a `malformedRequest` response, a signing failure
/// an `internalError` one.
pub fn respond(
    responder: &dyn Signer,
    request_der: &[u8],
    now: time::OffsetDateTime,
    validity: time::Duration,
    lookup: &dyn Fn(&CertId) -> CertStatus,
) -> Vec<u8> {
    let Ok(request) = parse_request(request_der) else {
        return error_response(ResponseStatus::MalformedRequest);
    };
    let singles: Vec<SingleStatus> = request
        .cert_ids
        .iter()
        .map(|id| SingleStatus {
            cert_id: id.clone(),
            status: lookup(id),
            this_update: now,
            next_update: Some(now + validity),
        })
        .collect();
    build_response(responder, &singles, now, request.nonce_extension.as_deref())
        .unwrap_or_else(|_| error_response(ResponseStatus::InternalError))
}

/// A response for one certificate, made directly (e.g. to embed in a PDF's DSS without HTTP).
/// The CertID uses SHA-1, as most validators expect.
pub fn response_for(
    responder: &dyn Signer,
    cert_der: &[u8],
    issuer_der: &[u8],
    status: CertStatus,
    now: time::OffsetDateTime,
    validity: time::Duration,
) -> Result<Vec<u8>, SigningError> {
    let cert_id = CertId::new(CertIdHash::Sha1, cert_der, issuer_der)?;
    build_response(
        responder,
        &[SingleStatus {
            cert_id,
            status,
            this_update: now,
            next_update: Some(now + validity),
        }],
        now,
        None,
    )
}

/// A parsed status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedStatus {
    Good,
    /// Unix seconds and the reason code if given.
    Revoked {
        at: i64,
        reason: Option<u8>,
    },
    Unknown,
}

/// One answer of a parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleResponseInfo {
    pub cert_id: CertId,
    pub status: ParsedStatus,
    pub this_update: i64,
    pub next_update: Option<i64>,
}

/// A parsed successful OCSP response.
#[derive(Debug, Clone)]
pub struct OcspResponseInfo {
    pub produced_at: i64,
    pub responses: Vec<SingleResponseInfo>,
    /// Certificates included by the responder.
    pub certs: Vec<Vec<u8>>,
    /// The nonce octets, if any.
    pub nonce: Option<Vec<u8>>,
    responder: ResponderId,
    /// The DER `tbsResponseData`, as signed.
    tbs: Vec<u8>,
    sig_alg: ObjectIdentifier,
    signature: Vec<u8>,
}

fn single_response_info(single: &SingleResponse) -> Result<SingleResponseInfo, SigningError> {
    let status = match &single.cert_status {
        x509_ocsp::CertStatus::Good(_) => ParsedStatus::Good,
        x509_ocsp::CertStatus::Unknown(_) => ParsedStatus::Unknown,
        x509_ocsp::CertStatus::Revoked(info) => ParsedStatus::Revoked {
            at: unix_seconds(&info.revocation_time).ok_or_else(|| bad("bad revocationTime"))?,
            reason: info.revocation_reason.map(|r| r as u8),
        },
    };
    Ok(SingleResponseInfo {
        cert_id: CertId::from_ocsp(&single.cert_id).ok_or_else(|| bad("bad CertID"))?,
        status,
        this_update: unix_seconds(&single.this_update).ok_or_else(|| bad("bad thisUpdate"))?,
        next_update: match &single.next_update {
            Some(t) => Some(unix_seconds(t).ok_or_else(|| bad("bad nextUpdate"))?),
            None => None,
        },
    })
}

/// Parses a DER OCSPResponse; an unsuccessful status is an error naming it.
pub fn parse_response(der: &[u8]) -> Result<OcspResponseInfo, SigningError> {
    let encoding = |e: der::Error| bad(&e.to_string());
    crate::bounds::check(der).map_err(|e| bad(&format!("the response is refused unread: {e:?}")))?;
    let response = OcspResponse::from_der(der).map_err(|e| bad(&format!("the response is not DER: {e}")))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(bad(&format!(
            "unsuccessful response status {:?}",
            response.response_status
        )));
    }
    let bytes = response.response_bytes.ok_or_else(|| bad("no responseBytes"))?;
    if bytes.response_type != BasicOcspResponse::OID {
        return Err(bad("not a basic response"));
    }
    let encoded = bytes.response.as_bytes();
    let basic =
        BasicOcspResponse::from_der(encoded).map_err(|e| bad(&format!("bad BasicOCSPResponse: {e}")))?;
    // The signature covers tbsResponseData as received, and the certificates are kept re-encoded: both are
    // the received bytes only if the response is DER (decoding sorts a SET OF, for one), as checked here.
    if basic.to_der().map_err(encoding)? != encoded {
        return Err(bad("the BasicOCSPResponse is not DER"));
    }
    let data = &basic.tbs_response_data;
    Ok(OcspResponseInfo {
        produced_at: unix_seconds(&data.produced_at).ok_or_else(|| bad("bad producedAt"))?,
        responses: data
            .responses
            .iter()
            .map(single_response_info)
            .collect::<Result<Vec<_>, _>>()?,
        certs: basic
            .certs
            .iter()
            .flatten()
            .map(|c| c.to_der())
            .collect::<Result<Vec<_>, _>>()
            .map_err(encoding)?,
        nonce: find_nonce(data.response_extensions.as_ref()).map(nonce_octets),
        responder: data.responder_id.clone(),
        tbs: data.to_der().map_err(encoding)?,
        sig_alg: basic.signature_algorithm.oid,
        signature: basic
            .signature
            .as_bytes()
            .ok_or_else(|| bad("a signature with unused bits"))?
            .to_vec(),
    })
}

impl OcspResponseInfo {
    fn names_responder(&self, cert_der: &[u8]) -> bool {
        let Ok(cert) = Certificate::from_der(cert_der) else {
            return false;
        };
        match &self.responder {
            ResponderId::ByName(name) => *name == cert.tbs_certificate.subject,
            ResponderId::ByKey(hash) => cert
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .as_bytes()
                .is_some_and(|bits| certgen::sha1(bits) == hash.as_bytes()),
        }
    }

    /// Verifies the response for certificates of `issuer_der`: the signer is the issuer itself, or a
    /// certificate in the response issued and signed by the issuer with extKeyUsage id-kp-OCSPSigning,
    /// and its key signed the response. Returns the responder certificate.
    pub fn verify(&self, issuer_der: &[u8]) -> Result<Vec<u8>, SigningError> {
        let not_parsed = || SigningError::Certificate("the issuer certificate does not parse".into());
        let issuer_view = CertView::parse(issuer_der).ok_or_else(not_parsed)?;
        let issuer_key = issuer_view
            .public_key()
            .ok_or_else(|| SigningError::Certificate("the issuer key does not parse".into()))?;
        let mut candidates: Vec<&[u8]> = vec![issuer_der];
        candidates.extend(self.certs.iter().map(Vec::as_slice));
        let responder = candidates
            .into_iter()
            .find(|c| self.names_responder(c))
            .ok_or_else(|| bad("the responder certificate is not in the response"))?;
        let responder_view =
            CertView::parse(responder).ok_or_else(|| bad("the responder certificate does not parse"))?;
        if responder != issuer_der {
            if !responder_view.names_issuer(&issuer_view) || !responder_view.signed_by(&issuer_key) {
                return Err(bad(
                    "the responder certificate is not issued by the certificate's issuer",
                ));
            }
            let delegated = certgen::extended_key_usages(&responder_view)
                .is_some_and(|(_, ekus)| ekus.contains(&crate::oid::KP_OCSP_SIGNING));
            if !delegated {
                return Err(bad("the responder certificate lacks id-kp-OCSPSigning"));
            }
        }
        let sig_alg = self.sig_alg.as_bytes();
        let verified = responder_view
            .public_key()
            .zip(hash_of_signature_alg(sig_alg))
            .is_some_and(|(key, hash)| key.verify(sig_alg, hash, &self.tbs, &self.signature));
        if !verified {
            return Err(bad("the response signature does not verify"));
        }
        if !self.responses.iter().all(|r| r.cert_id.has_issuer(issuer_der)) {
            return Err(bad("the response covers certificates of another issuer"));
        }
        Ok(responder.to_vec())
    }

    /// The answer for serial `serial` (INTEGER content bytes) of `issuer_der`.
    pub fn status_of(&self, serial: &[u8], issuer_der: &[u8]) -> Option<&SingleResponseInfo> {
        self.responses
            .iter()
            .find(|r| r.cert_id.serial == serial && r.cert_id.has_issuer(issuer_der))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Hierarchy, PkiNames};

    fn hierarchy() -> Hierarchy {
        let names = PkiNames {
            country: "VN".into(),
            organization: "Org".into(),
            root_cn: "R".into(),
            issuing_cn: "I".into(),
            seal_cn: "S".into(),
        };
        Hierarchy::generate(&names, &[], "http://x", time::OffsetDateTime::now_utc()).unwrap()
    }

    #[test]
    fn a_request_for_too_many_certificates_is_malformed() {
        let h = hierarchy();
        let id = CertId::new(CertIdHash::Sha256, &h.seal.cert_der, &h.issuing.cert_der)
            .unwrap()
            .to_ocsp()
            .unwrap();
        let request = |n: usize| {
            x509_ocsp::OcspRequest {
                tbs_request: x509_ocsp::TbsRequest {
                    version: x509_ocsp::Version::V1,
                    requestor_name: None,
                    request_list: vec![
                        x509_ocsp::Request {
                            req_cert: id.clone(),
                            single_request_extensions: None,
                        };
                        n
                    ],
                    request_extensions: None,
                },
                optional_signature: None,
            }
            .to_der()
            .unwrap()
        };
        assert_eq!(
            parse_request(&request(MAX_CERT_IDS)).unwrap().cert_ids.len(),
            MAX_CERT_IDS
        );
        assert!(parse_request(&request(MAX_CERT_IDS + 1)).is_err());
        let responder = h.signer(&h.ocsp).unwrap();
        let answer = respond(
            &responder,
            &request(MAX_CERT_IDS + 1),
            time::OffsetDateTime::now_utc(),
            time::Duration::hours(1),
            &|_| CertStatus::Good,
        );
        assert_eq!(answer, error_response(ResponseStatus::MalformedRequest));
    }

    #[test]
    fn round_trip() {
        let h = hierarchy();
        let now = time::OffsetDateTime::now_utc();
        let responder = h.signer(&h.ocsp).unwrap();
        let at = now - time::Duration::days(1);
        let der = response_for(
            &responder,
            &h.seal.cert_der,
            &h.issuing.cert_der,
            CertStatus::Revoked {
                at,
                reason: Some(RevocationReason::Superseded),
            },
            now,
            time::Duration::hours(12),
        )
        .unwrap();
        let info = parse_response(&der).unwrap();
        assert_eq!(info.verify(&h.issuing.cert_der).unwrap(), h.ocsp.cert_der);
        let serial = Certificate::from_der(&h.seal.cert_der)
            .unwrap()
            .tbs_certificate
            .serial_number
            .as_bytes()
            .to_vec();
        let single = info.status_of(&serial, &h.issuing.cert_der).unwrap();
        assert_eq!(
            single.status,
            ParsedStatus::Revoked {
                at: at.unix_timestamp(),
                reason: Some(4)
            }
        );
        assert!(info.verify(&h.root.cert_der).is_err());
        // The seal cannot answer for its own issuer.
        let forged = response_for(
            &h.signer(&h.seal).unwrap(),
            &h.seal.cert_der,
            &h.issuing.cert_der,
            CertStatus::Good,
            now,
            time::Duration::hours(12),
        )
        .unwrap();
        assert!(parse_response(&forged)
            .unwrap()
            .verify(&h.issuing.cert_der)
            .is_err());
        // The issuing CA may answer itself.
        let direct = response_for(
            &h.issuing_signer().unwrap(),
            &h.seal.cert_der,
            &h.issuing.cert_der,
            CertStatus::Good,
            now,
            time::Duration::hours(12),
        )
        .unwrap();
        assert!(parse_response(&direct)
            .unwrap()
            .verify(&h.issuing.cert_der)
            .is_ok());
        assert_eq!(
            respond(&responder, b"junk", now, time::Duration::hours(1), &|_| {
                CertStatus::Good
            }),
            error_response(ResponseStatus::MalformedRequest)
        );
    }

    /// A response signed as received but not DER (its DEFAULT version written out) is refused: the parsed
    /// structure would re-encode to other bytes than those signed.
    #[test]
    fn refuses_a_response_that_is_not_der() {
        use der::asn1::{AnyRef, ContextSpecific};
        use der::{Tag, TagMode, TagNumber};
        let h = hierarchy();
        let now = time::OffsetDateTime::now_utc();
        let responder = h.signer(&h.ocsp).unwrap();
        let good = response_for(
            &responder,
            &h.seal.cert_der,
            &h.issuing.cert_der,
            CertStatus::Good,
            now,
            time::Duration::hours(1),
        )
        .unwrap();
        let bytes = OcspResponse::from_der(&good).unwrap().response_bytes.unwrap();
        let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
        let resign = |prefix: &[u8]| {
            let tbs = basic.tbs_response_data.to_der().unwrap();
            let content = [prefix, AnyRef::from_der(&tbs).unwrap().value()].concat();
            let tbs = AnyRef::new(Tag::Sequence, &content).unwrap().to_der().unwrap();
            let signature = BitString::from_bytes(&responder.sign(&tbs).unwrap()).unwrap();
            let certs = ContextSpecific {
                tag_number: TagNumber::N0,
                tag_mode: TagMode::Explicit,
                value: basic.certs.clone().unwrap(),
            };
            let parts = [
                tbs,
                basic.signature_algorithm.to_der().unwrap(),
                signature.to_der().unwrap(),
                certs.to_der().unwrap(),
            ]
            .concat();
            let basic = AnyRef::new(Tag::Sequence, &parts).unwrap().to_der().unwrap();
            OcspResponse {
                response_status: OcspResponseStatus::Successful,
                response_bytes: Some(x509_ocsp::ResponseBytes {
                    response_type: BasicOcspResponse::OID,
                    response: OctetString::new(basic).unwrap(),
                }),
            }
            .to_der()
            .unwrap()
        };
        let same = resign(&[]);
        assert!(parse_response(&same).unwrap().verify(&h.issuing.cert_der).is_ok());
        let explicit_version = resign(&[0xa0, 0x03, 0x02, 0x01, 0x00]);
        let err = parse_response(&explicit_version).unwrap_err().to_string();
        assert!(err.contains("BasicOCSPResponse is not DER"), "{err}");
    }
}
