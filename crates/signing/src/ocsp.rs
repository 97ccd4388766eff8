//! OCSP (RFC 6960): reading requests, building signed BasicOCSPResponses (for the HTTP responder and for
//! embedding in a PDF's DSS), and reading and verifying responses.
use crate::asn1::{self, oid, Reader};
use crate::cert::CertView;
use crate::certgen::{self, oids, TAG_ENUMERATED};
use crate::crl::RevocationReason;
use crate::{Signer, SigningError};

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
            Self::Sha256 => crate::cert::HashAlg::Sha256.digest(data),
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Self::Sha1 => oids::SHA1,
            Self::Sha256 => oid::SHA256,
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

impl CertId {
    /// The CertID of `cert_der` issued by `issuer_der`.
    pub fn new(hash: CertIdHash, cert_der: &[u8], issuer_der: &[u8]) -> Result<Self, SigningError> {
        let cert = CertView::parse(cert_der)
            .ok_or_else(|| SigningError::Certificate("the certificate does not parse".into()))?;
        let mut id = Self::for_serial(hash, cert.serial(), issuer_der)?;
        id.serial = cert.serial().to_vec();
        Ok(id)
    }

    /// The CertID of serial `serial` (INTEGER content bytes) issued by `issuer_der`.
    pub fn for_serial(hash: CertIdHash, serial: &[u8], issuer_der: &[u8]) -> Result<Self, SigningError> {
        let issuer = CertView::parse(issuer_der)
            .ok_or_else(|| SigningError::Certificate("the issuer certificate does not parse".into()))?;
        let key = issuer
            .public_key_bits()
            .ok_or_else(|| SigningError::Certificate("the issuer key does not parse".into()))?;
        Ok(Self {
            hash,
            issuer_name_hash: hash.digest(&issuer.subject_der().unwrap_or_default()),
            issuer_key_hash: hash.digest(key),
            serial: serial.to_vec(),
        })
    }

    /// Whether this CertID names `issuer_der` as the issuer.
    pub fn has_issuer(&self, issuer_der: &[u8]) -> bool {
        CertView::parse(issuer_der).is_some_and(|issuer| {
            issuer.public_key_bits().is_some_and(|key| {
                self.hash.digest(&issuer.subject_der().unwrap_or_default()) == self.issuer_name_hash
                    && self.hash.digest(key) == self.issuer_key_hash
            })
        })
    }

    pub fn to_der(&self) -> Vec<u8> {
        let alg = match self.hash {
            // SHA-1 AlgorithmIdentifiers traditionally carry NULL parameters.
            CertIdHash::Sha1 => asn1::algorithm_null(self.hash.oid()),
            CertIdHash::Sha256 => asn1::algorithm(self.hash.oid()),
        };
        asn1::sequence(&[
            &alg,
            &asn1::tlv(asn1::TAG_OCTET_STRING, &self.issuer_name_hash),
            &asn1::tlv(asn1::TAG_OCTET_STRING, &self.issuer_key_hash),
            &certgen::uint_bytes(&self.serial),
        ])
    }

    fn parse(value: &[u8]) -> Option<Self> {
        let mut r = Reader::new(value);
        let alg = r.expect(asn1::TAG_SEQUENCE)?;
        let alg_oid = Reader::new(alg.value).expect(asn1::TAG_OID)?.value;
        let hash = match alg_oid {
            oids::SHA1 => CertIdHash::Sha1,
            oid::SHA256 => CertIdHash::Sha256,
            _ => return None,
        };
        let name_hash = r.expect(asn1::TAG_OCTET_STRING)?.value.to_vec();
        let key_hash = r.expect(asn1::TAG_OCTET_STRING)?.value.to_vec();
        let serial = r.expect(asn1::TAG_INTEGER)?.value.to_vec();
        Some(Self {
            hash,
            issuer_name_hash: name_hash,
            issuer_key_hash: key_hash,
            serial,
        })
    }
}

/// A parsed OCSPRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    pub cert_ids: Vec<CertId>,
    /// The nonce octets (the inner OCTET STRING of the nonce extension when it has one).
    pub nonce: Option<Vec<u8>>,
    /// The whole nonce extension as received, echoed in the response.
    pub nonce_extension: Option<Vec<u8>>,
}

fn bad(what: &str) -> SigningError {
    SigningError::Encoding(format!("OCSP: {what}"))
}

/// Parses a DER OCSPRequest. A CertID with a hash other than SHA-1/SHA-256 is an error.
pub fn parse_request(der: &[u8]) -> Result<OcspRequest, SigningError> {
    let (outer, rest) = asn1::read_tlv(der).ok_or_else(|| bad("request is not DER"))?;
    if outer.tag != asn1::TAG_SEQUENCE || !rest.is_empty() {
        return Err(bad("request is not one SEQUENCE"));
    }
    let tbs = Reader::new(outer.value)
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("no tbsRequest"))?;
    let mut t = Reader::new(tbs.value);
    let _version = t.optional(asn1::ctx_cons(0));
    let _requestor = t.optional(asn1::ctx_cons(1));
    let list = t
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("no requestList"))?;
    let mut cert_ids = Vec::new();
    let mut l = Reader::new(list.value);
    while !l.is_empty() {
        let request = l.expect(asn1::TAG_SEQUENCE).ok_or_else(|| bad("bad Request"))?;
        let cert_id = Reader::new(request.value)
            .expect(asn1::TAG_SEQUENCE)
            .ok_or_else(|| bad("no CertID"))?;
        cert_ids.push(CertId::parse(cert_id.value).ok_or_else(|| bad("bad or unsupported CertID"))?);
    }
    if cert_ids.is_empty() {
        return Err(bad("empty requestList"));
    }
    let mut nonce = None;
    let mut nonce_extension = None;
    if let Some(exts) = t.optional(asn1::ctx_cons(2)) {
        let seq = Reader::new(exts.value)
            .expect(asn1::TAG_SEQUENCE)
            .ok_or_else(|| bad("bad requestExtensions"))?;
        let mut e = Reader::new(seq.value);
        while !e.is_empty() {
            let ext = e.expect(asn1::TAG_SEQUENCE).ok_or_else(|| bad("bad extension"))?;
            if Reader::new(ext.value).expect(asn1::TAG_OID).map(|o| o.value) == Some(oids::OCSP_NONCE) {
                let (_, value) = certgen::find_extension(ext.raw, oids::OCSP_NONCE)
                    .ok_or_else(|| bad("bad nonce extension"))?;
                // RFC 8954: the value is an OCTET STRING; older clients put raw octets.
                nonce = Some(match asn1::read_tlv(value) {
                    Some((inner, [])) if inner.tag == asn1::TAG_OCTET_STRING => inner.value.to_vec(),
                    _ => value.to_vec(),
                });
                nonce_extension = Some(ext.raw.to_vec());
            }
        }
    }
    Ok(OcspRequest {
        cert_ids,
        nonce,
        nonce_extension,
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
    asn1::sequence(&[&asn1::tlv(TAG_ENUMERATED, &[status as u8])])
}

/// Builds a successful OCSPResponse with a BasicOCSPResponse signed by `responder` (its chain's first
/// certificate is the responder certificate; the whole chain is included), the responder identified by
/// key hash, and the nonce extension echoed when given.
pub fn build_response(
    responder: &dyn Signer,
    responses: &[SingleStatus],
    produced_at: time::OffsetDateTime,
    nonce_extension: Option<&[u8]>,
) -> Result<Vec<u8>, SigningError> {
    let responder_der = responder
        .chain()
        .first()
        .ok_or_else(|| SigningError::Certificate("the responder has no certificate".into()))?;
    let responder_cert = CertView::parse(responder_der)
        .ok_or_else(|| SigningError::Certificate("the responder certificate does not parse".into()))?;
    let key_hash = certgen::sha1(
        responder_cert
            .public_key_bits()
            .ok_or_else(|| SigningError::Certificate("the responder key does not parse".into()))?,
    );
    let singles: Vec<Vec<u8>> = responses
        .iter()
        .map(|r| {
            let status = match r.status {
                CertStatus::Good => asn1::tlv(asn1::ctx_prim(0), &[]),
                CertStatus::Revoked { at, reason } => {
                    let reason = reason
                        .map(|x| {
                            asn1::tlv(
                                asn1::ctx_cons(0),
                                &der::Encode::to_der(&x.crl_reason()).unwrap_or_default(),
                            )
                        })
                        .unwrap_or_default();
                    asn1::constructed(asn1::ctx_cons(1), &[&certgen::generalized_time(at), &reason])
                }
                CertStatus::Unknown => asn1::tlv(asn1::ctx_prim(2), &[]),
            };
            let next = r
                .next_update
                .map(|n| asn1::tlv(asn1::ctx_cons(0), &certgen::generalized_time(n)))
                .unwrap_or_default();
            asn1::sequence(&[
                &r.cert_id.to_der(),
                &status,
                &certgen::generalized_time(r.this_update),
                &next,
            ])
        })
        .collect();
    let extensions = nonce_extension
        .map(|e| asn1::tlv(asn1::ctx_cons(1), &asn1::sequence(&[e])))
        .unwrap_or_default();
    let tbs = asn1::sequence(&[
        &asn1::tlv(asn1::ctx_cons(2), &asn1::tlv(asn1::TAG_OCTET_STRING, &key_hash)),
        &certgen::generalized_time(produced_at),
        &asn1::tlv(asn1::TAG_SEQUENCE, &singles.concat()),
        &extensions,
    ]);
    let sig_alg = certgen::signature_algorithm_id(responder.algorithm());
    let signature = responder.sign(&tbs)?;
    let mut bits = vec![0u8];
    bits.extend_from_slice(&signature);
    let certs = asn1::tlv(
        asn1::ctx_cons(0),
        &asn1::tlv(asn1::TAG_SEQUENCE, &responder.chain().concat()),
    );
    let basic = asn1::sequence(&[&tbs, &sig_alg, &asn1::tlv(asn1::TAG_BIT_STRING, &bits), &certs]);
    let response_bytes = asn1::sequence(&[
        &asn1::oid_tlv(oids::OCSP_BASIC),
        &asn1::tlv(asn1::TAG_OCTET_STRING, &basic),
    ]);
    Ok(asn1::sequence(&[
        &asn1::tlv(TAG_ENUMERATED, &[0]),
        &asn1::tlv(asn1::ctx_cons(0), &response_bytes),
    ]))
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
    responder_by_name: Option<Vec<u8>>,
    responder_key_hash: Option<Vec<u8>>,
    tbs: Vec<u8>,
    sig_alg: Vec<u8>,
    signature: Vec<u8>,
}

fn parse_generalized(tlv: Option<asn1::Tlv<'_>>) -> Option<i64> {
    tlv.filter(|t| t.tag == asn1::TAG_GENERALIZED_TIME)
        .and_then(crate::asn1::parse_time)
}

/// Parses a DER OCSPResponse; an unsuccessful status is an error naming it.
pub fn parse_response(der: &[u8]) -> Result<OcspResponseInfo, SigningError> {
    let (outer, _) = asn1::read_tlv(der).ok_or_else(|| bad("response is not DER"))?;
    let mut r = Reader::new(outer.value);
    let status = r.expect(TAG_ENUMERATED).ok_or_else(|| bad("no responseStatus"))?;
    if status.value != [0] {
        return Err(bad(&format!("unsuccessful response status {:?}", status.value)));
    }
    let bytes = r
        .expect(asn1::ctx_cons(0))
        .ok_or_else(|| bad("no responseBytes"))?;
    let rb = Reader::new(bytes.value)
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("bad responseBytes"))?;
    let mut rb = Reader::new(rb.value);
    if rb.expect(asn1::TAG_OID).map(|o| o.value) != Some(oids::OCSP_BASIC) {
        return Err(bad("not a basic response"));
    }
    let basic = rb
        .expect(asn1::TAG_OCTET_STRING)
        .ok_or_else(|| bad("no response"))?;
    let basic = Reader::new(basic.value)
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("bad BasicOCSPResponse"))?;
    let mut b = Reader::new(basic.value);
    let tbs = b
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("no tbsResponseData"))?;
    let alg = b.expect(asn1::TAG_SEQUENCE).ok_or_else(|| bad("no algorithm"))?;
    let sig_alg = Reader::new(alg.value)
        .expect(asn1::TAG_OID)
        .ok_or_else(|| bad("bad algorithm"))?
        .value
        .to_vec();
    let sig = b
        .expect(asn1::TAG_BIT_STRING)
        .ok_or_else(|| bad("no signature"))?;
    let signature = sig.value.get(1..).ok_or_else(|| bad("empty signature"))?.to_vec();
    let mut certs = Vec::new();
    if let Some(list) = b.optional(asn1::ctx_cons(0)) {
        let seq = Reader::new(list.value)
            .expect(asn1::TAG_SEQUENCE)
            .ok_or_else(|| bad("bad certs"))?;
        let mut c = Reader::new(seq.value);
        while !c.is_empty() {
            certs.push(
                c.expect(asn1::TAG_SEQUENCE)
                    .ok_or_else(|| bad("bad cert"))?
                    .raw
                    .to_vec(),
            );
        }
    }

    let mut t = Reader::new(tbs.value);
    let _version = t.optional(asn1::ctx_cons(0));
    let mut responder_by_name = None;
    let mut responder_key_hash = None;
    if let Some(by_name) = t.optional(asn1::ctx_cons(1)) {
        responder_by_name = Some(by_name.value.to_vec());
    } else if let Some(by_key) = t.optional(asn1::ctx_cons(2)) {
        responder_key_hash = Some(
            Reader::new(by_key.value)
                .expect(asn1::TAG_OCTET_STRING)
                .ok_or_else(|| bad("bad responder key hash"))?
                .value
                .to_vec(),
        );
    } else {
        return Err(bad("no responderID"));
    }
    let produced_at = parse_generalized(t.any()).ok_or_else(|| bad("bad producedAt"))?;
    let list = t.expect(asn1::TAG_SEQUENCE).ok_or_else(|| bad("no responses"))?;
    let mut responses = Vec::new();
    let mut l = Reader::new(list.value);
    while !l.is_empty() {
        let single = l
            .expect(asn1::TAG_SEQUENCE)
            .ok_or_else(|| bad("bad SingleResponse"))?;
        let mut s = Reader::new(single.value);
        let id = s.expect(asn1::TAG_SEQUENCE).ok_or_else(|| bad("no CertID"))?;
        let cert_id = CertId::parse(id.value).ok_or_else(|| bad("bad CertID"))?;
        let status_tlv = s.any().ok_or_else(|| bad("no certStatus"))?;
        let status = match status_tlv.tag {
            0x80 => ParsedStatus::Good,
            0x82 => ParsedStatus::Unknown,
            0xa1 => {
                let mut ri = Reader::new(status_tlv.value);
                let at = parse_generalized(ri.any()).ok_or_else(|| bad("bad revocationTime"))?;
                let reason = ri
                    .optional(asn1::ctx_cons(0))
                    .and_then(|r| Reader::new(r.value).expect(TAG_ENUMERATED))
                    .and_then(|e| e.value.first().copied());
                ParsedStatus::Revoked { at, reason }
            }
            _ => return Err(bad("bad certStatus")),
        };
        let this_update = parse_generalized(s.any()).ok_or_else(|| bad("bad thisUpdate"))?;
        let next_update = match s.optional(asn1::ctx_cons(0)) {
            Some(n) => {
                Some(parse_generalized(Reader::new(n.value).any()).ok_or_else(|| bad("bad nextUpdate"))?)
            }
            None => None,
        };
        responses.push(SingleResponseInfo {
            cert_id,
            status,
            this_update,
            next_update,
        });
    }
    let mut nonce = None;
    if let Some(exts) = t.optional(asn1::ctx_cons(1)) {
        if let Some(seq) = Reader::new(exts.value).expect(asn1::TAG_SEQUENCE) {
            if let Some((_, value)) = certgen::find_extension(seq.value, oids::OCSP_NONCE) {
                nonce = Some(match asn1::read_tlv(value) {
                    Some((inner, [])) if inner.tag == asn1::TAG_OCTET_STRING => inner.value.to_vec(),
                    _ => value.to_vec(),
                });
            }
        }
    }
    Ok(OcspResponseInfo {
        produced_at,
        responses,
        certs,
        nonce,
        responder_by_name,
        responder_key_hash,
        tbs: tbs.raw.to_vec(),
        sig_alg,
        signature,
    })
}

impl OcspResponseInfo {
    fn names_responder(&self, cert_der: &[u8]) -> bool {
        let Some(cert) = CertView::parse(cert_der) else {
            return false;
        };
        if let Some(name) = &self.responder_by_name {
            return cert.subject_der().is_some_and(|s| s == name.as_slice());
        }
        match (&self.responder_key_hash, cert.public_key_bits()) {
            (Some(hash), Some(bits)) => certgen::sha1(bits) == *hash,
            _ => false,
        }
    }

    /// Verifies the response for certificates of `issuer_der`: the signer is the issuer itself, or a
    /// certificate in the response issued and signed by the issuer with extKeyUsage id-kp-OCSPSigning,
    /// and its key signed the response. Returns the responder certificate.
    pub fn verify(&self, issuer_der: &[u8]) -> Result<Vec<u8>, SigningError> {
        let issuer = CertView::parse(issuer_der)
            .ok_or_else(|| SigningError::Certificate("the issuer certificate does not parse".into()))?;
        let issuer_key = issuer
            .public_key()
            .ok_or_else(|| SigningError::Certificate("the issuer key does not parse".into()))?;
        let mut candidates: Vec<&[u8]> = vec![issuer_der];
        candidates.extend(self.certs.iter().map(Vec::as_slice));
        let responder = candidates
            .into_iter()
            .find(|c| self.names_responder(c))
            .ok_or_else(|| bad("the responder certificate is not in the response"))?;
        if responder != issuer_der {
            let cert =
                CertView::parse(responder).ok_or_else(|| bad("the responder certificate does not parse"))?;
            if cert.issuer() != issuer.subject() || !cert.signed_by(&issuer_key) {
                return Err(bad(
                    "the responder certificate is not issued by the certificate's issuer",
                ));
            }
            let delegated = certgen::extended_key_usages(&cert)
                .is_some_and(|(_, ekus)| ekus.contains(&crate::oid::KP_OCSP_SIGNING));
            if !delegated {
                return Err(bad("the responder certificate lacks id-kp-OCSPSigning"));
            }
        }
        if !certgen::verify_with_cert(responder, &self.tbs, &self.sig_alg, &self.signature) {
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
        let serial = CertView::parse(&h.seal.cert_der).unwrap().serial().to_vec();
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
}
