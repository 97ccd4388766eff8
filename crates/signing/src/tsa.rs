//! RFC 3161 timestamps: an in-process timestamp authority (server side), the client side (request and
//! response checks), a reader of timestamp tokens for verifiers, and the [`TimestampSource`] seam through
//! which signing obtains tokens. No networking here: the server implements [`TimestampSource`] for
//! remote TSAs over HTTP.
use crate::asn1::{self, oid, Reader};
use crate::cert::{CertView, HashAlg};
use crate::certgen::{self, oids};
use crate::{Signer, SigningError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where signatures get their RFC 3161 timestamp tokens.
pub trait TimestampSource: Send + Sync {
    /// A DER TimeStampToken (CMS ContentInfo) over `sha256_digest`.
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, SigningError>;
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
    policy: Vec<u8>,
    serial: AtomicU64,
    accuracy: Option<Accuracy>,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("policy", &certgen::oid_to_dotted(&self.policy))
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

/// The hash algorithms accepted in message imprints.
fn imprint_hash(oid_bytes: &[u8]) -> Option<HashAlg> {
    HashAlg::from_oid(oid_bytes)
}

fn hash_len(alg: HashAlg) -> usize {
    match alg {
        HashAlg::Sha256 => 32,
        HashAlg::Sha384 => 48,
        HashAlg::Sha512 => 64,
    }
}

fn hash_oid(alg: HashAlg) -> &'static [u8] {
    match alg {
        HashAlg::Sha256 => oid::SHA256,
        HashAlg::Sha384 => oid::SHA384,
        HashAlg::Sha512 => oid::SHA512,
    }
}

/// A parsed TimeStampReq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    pub hash: HashAlg,
    pub imprint: Vec<u8>,
    /// Requested policy (OID content bytes).
    pub policy: Option<Vec<u8>>,
    /// Nonce INTEGER content bytes.
    pub nonce: Option<Vec<u8>>,
    pub cert_req: bool,
}

/// Parses a DER TimeStampReq; the error is the failure to report.
pub fn parse_request(der: &[u8]) -> Result<TimestampRequest, (FailureInfo, String)> {
    let malformed = |w: &str| (FailureInfo::BadDataFormat, w.to_string());
    let (outer, rest) = asn1::read_tlv(der).ok_or_else(|| malformed("the request is not DER"))?;
    if outer.tag != asn1::TAG_SEQUENCE || !rest.is_empty() {
        return Err(malformed("the request is not one SEQUENCE"));
    }
    let mut r = Reader::new(outer.value);
    let version = r
        .expect(asn1::TAG_INTEGER)
        .ok_or_else(|| malformed("no version"))?;
    if version.value != [1] {
        return Err((FailureInfo::BadRequest, "unsupported version".into()));
    }
    let mi = r
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| malformed("no messageImprint"))?;
    let mut m = Reader::new(mi.value);
    let alg = m
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| malformed("no hashAlgorithm"))?;
    let alg_oid = Reader::new(alg.value)
        .expect(asn1::TAG_OID)
        .ok_or_else(|| malformed("bad hashAlgorithm"))?
        .value;
    let imprint = m
        .expect(asn1::TAG_OCTET_STRING)
        .ok_or_else(|| malformed("no hashedMessage"))?;
    let hash = imprint_hash(alg_oid).ok_or_else(|| {
        (
            FailureInfo::BadAlg,
            format!("unsupported hash algorithm {}", certgen::oid_to_dotted(alg_oid)),
        )
    })?;
    if imprint.value.len() != hash_len(hash) {
        return Err(malformed("the imprint length does not fit the hash algorithm"));
    }
    let policy = r.optional(asn1::TAG_OID).map(|p| p.value.to_vec());
    let nonce = r.optional(asn1::TAG_INTEGER).map(|n| n.value.to_vec());
    let cert_req = r
        .optional(asn1::TAG_BOOLEAN)
        .is_some_and(|b| b.value.first().is_some_and(|&x| x != 0));
    if r.optional(asn1::ctx_cons(0)).is_some() {
        return Err((
            FailureInfo::UnacceptedExtension,
            "extensions are not supported".into(),
        ));
    }
    if !r.is_empty() {
        return Err(malformed("trailing data in the request"));
    }
    Ok(TimestampRequest {
        hash,
        imprint: imprint.value.to_vec(),
        policy,
        nonce,
        cert_req,
    })
}

fn fail_info_bits(bit: u8) -> Vec<u8> {
    let byte = usize::from(bit / 8);
    let mut content = vec![0u8; byte + 2];
    if let Some(unused) = content.first_mut() {
        *unused = 7 - bit % 8;
    }
    if let Some(b) = content.get_mut(byte + 1) {
        *b = 0x80 >> (bit % 8);
    }
    asn1::tlv(asn1::TAG_BIT_STRING, &content)
}

/// A TimeStampResp with status rejection (2), a text and a failure bit.
pub fn rejection(fail: FailureInfo, text: &str) -> Vec<u8> {
    let status = asn1::sequence(&[
        &asn1::uint(2),
        &asn1::sequence(&[&asn1::tlv(asn1::TAG_UTF8_STRING, text.as_bytes())]),
        &fail_info_bits(fail as u8),
    ]);
    asn1::sequence(&[&status])
}

fn signed_attribute(id: &[u8], value: Vec<u8>) -> Vec<u8> {
    asn1::sequence(&[&asn1::oid_tlv(id), &asn1::set_of(asn1::TAG_SET, vec![value])])
}

/// ESS signingCertificateV2 attribute value for `cert` (SHA-256, with issuerSerial).
pub fn signing_certificate_v2(cert: &CertView<'_>) -> Vec<u8> {
    let cert_hash = HashAlg::Sha256.digest(cert.raw);
    let issuer_serial = asn1::sequence(&[
        &asn1::sequence(&[&asn1::tlv(
            asn1::ctx_cons(4),
            &cert.issuer_der().unwrap_or_default(),
        )]),
        &cert.serial_der().unwrap_or_default(),
    ]);
    let ess_cert_id = asn1::sequence(&[&asn1::tlv(asn1::TAG_OCTET_STRING, &cert_hash), &issuer_serial]);
    asn1::sequence(&[&asn1::sequence(&[&ess_cert_id])])
}

impl TimestampAuthority {
    /// A TSA signing with `signer` (whose first certificate must carry extKeyUsage id-kp-timeStamping)
    /// under policy `policy` (dotted OID). Serials start at a random 48-bit value and increase.
    pub fn new(signer: Arc<dyn Signer>, policy: &str) -> Result<Self, SigningError> {
        use rand::RngCore as _;
        let policy = certgen::oid_from_dotted(policy).ok_or_else(|| bad("invalid policy OID"))?;
        let cert = signer
            .chain()
            .first()
            .ok_or_else(|| SigningError::Certificate("the TSA signer has no certificate".into()))?;
        let is_tsa = CertView::parse(cert)
            .and_then(|c| certgen::extended_key_usages(&c))
            .is_some_and(|(critical, ekus)| critical && ekus == [crate::oid::KP_TIME_STAMPING]);
        if !is_tsa {
            return Err(SigningError::Certificate(
                "the TSA certificate needs a critical extKeyUsage of only id-kp-timeStamping".into(),
            ));
        }
        let seed = rand::rngs::OsRng.next_u64() >> 16;
        Ok(Self {
            signer,
            policy,
            serial: AtomicU64::new(seed.max(1)),
            accuracy: Some(Accuracy {
                seconds: 1,
                millis: 0,
            }),
        })
    }

    /// Sets the declared accuracy (`None`: not declared).
    pub fn with_accuracy(mut self, accuracy: Option<Accuracy>) -> Self {
        self.accuracy = accuracy;
        self
    }

    /// The TSA's chain (TSA certificate first).
    pub fn chain(&self) -> &[Vec<u8>] {
        self.signer.chain()
    }

    /// Answers a DER TimeStampReq with a DER TimeStampResp: granted with a token, or a rejection with a
    /// failure bit for bad requests (unsupported hash, malformed, other policy, extensions).
    pub fn respond(&self, request_der: &[u8], now: time::OffsetDateTime) -> Vec<u8> {
        let request = match parse_request(request_der) {
            Ok(r) => r,
            Err((fail, text)) => return rejection(fail, &text),
        };
        if request.policy.as_ref().is_some_and(|p| *p != self.policy) {
            return rejection(
                FailureInfo::UnacceptedPolicy,
                "the requested policy is not offered",
            );
        }
        match self.stamp(
            request.hash,
            &request.imprint,
            request.nonce.as_deref(),
            request.cert_req,
            now,
        ) {
            Ok(token) => {
                let status = asn1::sequence(&[&asn1::uint(0)]);
                asn1::sequence(&[&status, &token])
            }
            Err(_) => rejection(FailureInfo::SystemFailure, "signing failed"),
        }
    }

    /// A TimeStampToken over `imprint` (a `hash_alg` digest); `nonce` is INTEGER content bytes; with
    /// `cert_req` the TSA chain is included.
    pub fn stamp(
        &self,
        hash_alg: HashAlg,
        imprint: &[u8],
        nonce: Option<&[u8]>,
        cert_req: bool,
        now: time::OffsetDateTime,
    ) -> Result<Vec<u8>, SigningError> {
        if imprint.len() != hash_len(hash_alg) {
            return Err(bad("the imprint length does not fit the hash algorithm"));
        }
        let chain = self.signer.chain();
        let tsa_der = chain
            .first()
            .ok_or_else(|| SigningError::Certificate("the TSA has no certificate".into()))?;
        let tsa = CertView::parse(tsa_der)
            .ok_or_else(|| SigningError::Certificate("the TSA certificate does not parse".into()))?;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let accuracy = self
            .accuracy
            .map(|a| {
                let seconds = if a.seconds > 0 {
                    asn1::uint(u64::from(a.seconds))
                } else {
                    Vec::new()
                };
                let millis = if a.millis > 0 {
                    // [0] IMPLICIT INTEGER: re-tag the INTEGER encoding.
                    let mut m = asn1::uint(u64::from(a.millis.min(999)));
                    if let Some(tag) = m.first_mut() {
                        *tag = asn1::ctx_prim(0);
                    }
                    m
                } else {
                    Vec::new()
                };
                asn1::sequence(&[&seconds, &millis])
            })
            .unwrap_or_default();
        let nonce = nonce.map(certgen::uint_bytes).unwrap_or_default();
        let tst_info = asn1::sequence(&[
            &asn1::uint(1),
            &asn1::oid_tlv(&self.policy),
            &asn1::sequence(&[
                &asn1::algorithm(hash_oid(hash_alg)),
                &asn1::tlv(asn1::TAG_OCTET_STRING, imprint),
            ]),
            &asn1::uint(serial),
            &certgen::generalized_time(now),
            &accuracy,
            &nonce,
            &asn1::tlv(
                asn1::ctx_cons(0),
                &asn1::tlv(asn1::ctx_cons(4), &tsa.subject_der().unwrap_or_default()),
            ),
        ]);

        let mut attrs = [
            signed_attribute(oid::ATTR_CONTENT_TYPE, asn1::oid_tlv(oids::CT_TST_INFO)),
            signed_attribute(
                oid::ATTR_MESSAGE_DIGEST,
                asn1::tlv(asn1::TAG_OCTET_STRING, &HashAlg::Sha256.digest(&tst_info)),
            ),
            signed_attribute(oid::ATTR_SIGNING_CERTIFICATE_V2, signing_certificate_v2(&tsa)),
        ];
        attrs.sort();
        let attrs = attrs.concat();
        let signature = self.signer.sign(&asn1::tlv(asn1::TAG_SET, &attrs))?;
        let sha256 = asn1::algorithm(oid::SHA256);
        let signer_info = asn1::sequence(&[
            &asn1::uint(1),
            &asn1::sequence(&[
                &tsa.issuer_der().unwrap_or_default(),
                &tsa.serial_der().unwrap_or_default(),
            ]),
            &sha256,
            &asn1::tlv(asn1::ctx_cons(0), &attrs),
            &certgen::signature_algorithm_id(self.signer.algorithm()),
            &asn1::tlv(asn1::TAG_OCTET_STRING, &signature),
        ]);
        let certificates = if cert_req {
            asn1::set_of(asn1::ctx_cons(0), chain.to_vec())
        } else {
            Vec::new()
        };
        let signed_data = asn1::sequence(&[
            &asn1::uint(3),
            &asn1::set_of(asn1::TAG_SET, vec![sha256.clone()]),
            &asn1::sequence(&[
                &asn1::oid_tlv(oids::CT_TST_INFO),
                &asn1::tlv(asn1::ctx_cons(0), &asn1::tlv(asn1::TAG_OCTET_STRING, &tst_info)),
            ]),
            &certificates,
            &asn1::set_of(asn1::TAG_SET, vec![signer_info]),
        ]);
        Ok(asn1::sequence(&[
            &asn1::oid_tlv(oid::SIGNED_DATA),
            &asn1::tlv(asn1::ctx_cons(0), &signed_data),
        ]))
    }
}

impl TimestampSource for TimestampAuthority {
    fn timestamp(&self, sha256_digest: &[u8; 32]) -> Result<Vec<u8>, SigningError> {
        self.stamp(
            HashAlg::Sha256,
            sha256_digest,
            None,
            true,
            time::OffsetDateTime::now_utc(),
        )
    }
}

/// A random 63-bit nonce.
pub fn random_nonce() -> u64 {
    use rand::RngCore as _;
    rand::rngs::OsRng.next_u64() >> 1
}

/// A DER TimeStampReq for a SHA-256 digest, asking for the TSA's certificates.
pub fn build_request(sha256_digest: &[u8; 32], nonce: Option<u64>) -> Vec<u8> {
    asn1::sequence(&[
        &asn1::uint(1),
        &asn1::sequence(&[
            &asn1::algorithm(oid::SHA256),
            &asn1::tlv(asn1::TAG_OCTET_STRING, sha256_digest),
        ]),
        &nonce.map(asn1::uint).unwrap_or_default(),
        &[asn1::TAG_BOOLEAN, 1, 0xff],
    ])
}

/// Checks a DER TimeStampResp for a request made with [`build_request`]: granted status, a token whose
/// signature verifies with its certificate, the SHA-256 imprint and the nonce. Returns the token DER.
pub fn parse_response(
    der: &[u8],
    expected_digest: &[u8; 32],
    expected_nonce: Option<u64>,
) -> Result<Vec<u8>, SigningError> {
    let (outer, _) = asn1::read_tlv(der).ok_or_else(|| bad("the response is not DER"))?;
    let mut r = Reader::new(outer.value);
    let status = r
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("no PKIStatusInfo"))?;
    let mut st = Reader::new(status.value);
    let code = st
        .expect(asn1::TAG_INTEGER)
        .and_then(|i| asn1::small_uint(i.value))
        .ok_or_else(|| bad("bad status"))?;
    if code > 1 {
        let text = st
            .optional(asn1::TAG_SEQUENCE)
            .and_then(|s| Reader::new(s.value).any())
            .map(|t| String::from_utf8_lossy(t.value).into_owned())
            .unwrap_or_default();
        return Err(bad(&format!("the TSA refused (status {code}): {text}")));
    }
    let token = r
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| bad("no token in a granted response"))?;
    let info = verify_token(token.raw, &[])?;
    if info.hash != Some(HashAlg::Sha256) || info.imprint != expected_digest {
        return Err(bad("the token covers another message imprint"));
    }
    let expected = expected_nonce.map(|n| certgen::uint_bytes(&n.to_be_bytes()));
    let got = info.nonce.as_deref().map(certgen::uint_bytes);
    if expected != got {
        return Err(bad("the nonce does not match the request"));
    }
    Ok(token.raw.to_vec())
}

/// The content of a timestamp token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TstInfo {
    /// Dotted policy OID.
    pub policy: String,
    /// The imprint's hash algorithm, when it is one this crate knows.
    pub hash: Option<HashAlg>,
    pub imprint: Vec<u8>,
    /// Serial INTEGER content bytes.
    pub serial: Vec<u8>,
    /// Unix seconds (fractions dropped).
    pub gen_time: i64,
    /// Declared accuracy in milliseconds.
    pub accuracy_millis: Option<u64>,
    /// Nonce INTEGER content bytes.
    pub nonce: Option<Vec<u8>>,
    /// The certificate that signed the token, when it is among the token's certificates (or the extra
    /// certificates given to [`verify_token`]).
    pub tsa_cert: Option<Vec<u8>>,
    /// Every certificate in the token.
    pub certs: Vec<Vec<u8>>,
}

/// GeneralizedTime with optional fractional seconds.
fn parse_gen_time(t: asn1::Tlv<'_>) -> Option<i64> {
    if t.tag != asn1::TAG_GENERALIZED_TIME {
        return None;
    }
    let v = t.value;
    let whole = match v.iter().position(|&b| b == b'.') {
        Some(dot) => {
            let mut w = v.get(..dot)?.to_vec();
            if v.last() != Some(&b'Z') {
                return None;
            }
            w.push(b'Z');
            w
        }
        None => v.to_vec(),
    };
    let enc = asn1::tlv(asn1::TAG_GENERALIZED_TIME, &whole);
    let (tlv, _) = asn1::read_tlv(&enc)?;
    crate::asn1::parse_time(tlv)
}

struct ParsedToken<'a> {
    info: TstInfo,
    tst_info_der: &'a [u8],
    signed_attrs: Option<asn1::Tlv<'a>>,
    digest_alg: &'a [u8],
    sig_alg: &'a [u8],
    signature: &'a [u8],
    sid: asn1::Tlv<'a>,
}

fn parse_token(token: &[u8]) -> Option<ParsedToken<'_>> {
    let (ci, _) = asn1::read_tlv(token)?;
    let mut c = Reader::new(ci.value);
    if c.expect(asn1::TAG_OID)?.value != oid::SIGNED_DATA {
        return None;
    }
    let explicit = c.expect(asn1::ctx_cons(0))?;
    let sd = Reader::new(explicit.value).expect(asn1::TAG_SEQUENCE)?;
    let mut s = Reader::new(sd.value);
    s.expect(asn1::TAG_INTEGER)?;
    s.expect(asn1::TAG_SET)?;
    let encap = s.expect(asn1::TAG_SEQUENCE)?;
    let mut e = Reader::new(encap.value);
    if e.expect(asn1::TAG_OID)?.value != oids::CT_TST_INFO {
        return None;
    }
    let econtent = Reader::new(e.expect(asn1::ctx_cons(0))?.value).expect(asn1::TAG_OCTET_STRING)?;
    let mut certs = Vec::new();
    if let Some(list) = s.optional(asn1::ctx_cons(0)) {
        let mut l = Reader::new(list.value);
        while !l.is_empty() {
            let item = l.any()?;
            if item.tag == asn1::TAG_SEQUENCE {
                certs.push(item.raw.to_vec());
            }
        }
    }
    let _crls = s.optional(asn1::ctx_cons(1));
    let infos = s.expect(asn1::TAG_SET)?;
    let si = Reader::new(infos.value).expect(asn1::TAG_SEQUENCE)?;
    let mut si = Reader::new(si.value);
    si.expect(asn1::TAG_INTEGER)?;
    let sid = si.any()?;
    let digest_alg = Reader::new(si.expect(asn1::TAG_SEQUENCE)?.value)
        .expect(asn1::TAG_OID)?
        .value;
    let signed_attrs = si.optional(asn1::ctx_cons(0));
    let sig_alg = Reader::new(si.expect(asn1::TAG_SEQUENCE)?.value)
        .expect(asn1::TAG_OID)?
        .value;
    let signature = si.expect(asn1::TAG_OCTET_STRING)?.value;

    let (tst, _) = asn1::read_tlv(econtent.value)?;
    let mut t = Reader::new(tst.value);
    t.expect(asn1::TAG_INTEGER)?;
    let policy = certgen::oid_to_dotted(t.expect(asn1::TAG_OID)?.value);
    let mi = t.expect(asn1::TAG_SEQUENCE)?;
    let mut m = Reader::new(mi.value);
    let hash = imprint_hash(
        Reader::new(m.expect(asn1::TAG_SEQUENCE)?.value)
            .expect(asn1::TAG_OID)?
            .value,
    );
    let imprint = m.expect(asn1::TAG_OCTET_STRING)?.value.to_vec();
    let serial = t.expect(asn1::TAG_INTEGER)?.value.to_vec();
    let gen_time = parse_gen_time(t.any()?)?;
    let accuracy_millis = t.optional(asn1::TAG_SEQUENCE).map(|acc| {
        let mut a = Reader::new(acc.value);
        let seconds = a
            .optional(asn1::TAG_INTEGER)
            .and_then(|i| asn1::small_uint(i.value))
            .unwrap_or(0);
        let millis = a
            .optional(asn1::ctx_prim(0))
            .and_then(|i| asn1::small_uint(i.value))
            .unwrap_or(0);
        seconds.saturating_mul(1000).saturating_add(millis)
    });
    let _ordering = t.optional(asn1::TAG_BOOLEAN);
    let nonce = t.optional(asn1::TAG_INTEGER).map(|n| n.value.to_vec());
    Some(ParsedToken {
        info: TstInfo {
            policy,
            hash,
            imprint,
            serial,
            gen_time,
            accuracy_millis,
            nonce,
            tsa_cert: None,
            certs,
        },
        tst_info_der: econtent.value,
        signed_attrs,
        digest_alg,
        sig_alg,
        signature,
        sid,
    })
}

/// Reads a timestamp token without checking its signature.
pub fn read_token(token_der: &[u8]) -> Result<TstInfo, SigningError> {
    parse_token(token_der)
        .map(|p| p.info)
        .ok_or_else(|| bad("the token does not parse"))
}

/// Reads a timestamp token and checks its integrity: the signer certificate (from the token or
/// `extra_certs`, matched by issuer and serial) signed the signed attributes, whose message digest is
/// the TSTInfo's and whose content type is id-ct-TSTInfo; the ESS signing certificate, when present,
/// names that certificate; the certificate is for timestamping. Chain trust is the caller's business.
pub fn verify_token(token_der: &[u8], extra_certs: &[Vec<u8>]) -> Result<TstInfo, SigningError> {
    let p = parse_token(token_der).ok_or_else(|| bad("the token does not parse"))?;
    let mut info = p.info;
    let attrs = p
        .signed_attrs
        .ok_or_else(|| bad("the token has no signed attributes"))?;
    let digest_alg = HashAlg::from_oid(p.digest_alg).ok_or_else(|| bad("unsupported digest algorithm"))?;
    let signer = info
        .certs
        .iter()
        .chain(extra_certs.iter())
        .find(|c| {
            CertView::parse(c).is_some_and(|v| {
                if p.sid.tag == asn1::TAG_SEQUENCE {
                    let mut r = Reader::new(p.sid.value);
                    r.any().map(|t| t.raw.to_vec()) == v.issuer_der()
                        && r.any().map(|t| t.raw.to_vec()) == v.serial_der()
                } else {
                    v.subject_key_id.as_deref() == Some(p.sid.value)
                }
            })
        })
        .cloned()
        .ok_or_else(|| bad("the TSA certificate is not available"))?;
    let cert = CertView::parse(&signer).ok_or_else(|| bad("the TSA certificate does not parse"))?;

    let mut content_type_ok = false;
    let mut digest_ok = false;
    let mut ess_ok = true;
    let mut a = Reader::new(attrs.value);
    while !a.is_empty() {
        let attr = a.expect(asn1::TAG_SEQUENCE).ok_or_else(|| bad("bad attribute"))?;
        let mut r = Reader::new(attr.value);
        let id = r.expect(asn1::TAG_OID).ok_or_else(|| bad("bad attribute"))?.value;
        let values = r.expect(asn1::TAG_SET).ok_or_else(|| bad("bad attribute"))?;
        let first = Reader::new(values.value)
            .any()
            .ok_or_else(|| bad("empty attribute"))?;
        match id {
            oid::ATTR_CONTENT_TYPE => content_type_ok = first.value == oids::CT_TST_INFO,
            oid::ATTR_MESSAGE_DIGEST => {
                digest_ok = first.value == digest_alg.digest(p.tst_info_der).as_slice();
            }
            oid::ATTR_SIGNING_CERTIFICATE_V2 => {
                // SigningCertificateV2 { certs SEQUENCE OF ESSCertIDv2 }: the first names the signer.
                let hash_ok = (|| {
                    let certs = Reader::new(first.value).expect(asn1::TAG_SEQUENCE)?;
                    let id = Reader::new(certs.value).expect(asn1::TAG_SEQUENCE)?;
                    let mut i = Reader::new(id.value);
                    let alg = match i.optional(asn1::TAG_SEQUENCE) {
                        Some(alg) => HashAlg::from_oid(Reader::new(alg.value).expect(asn1::TAG_OID)?.value)?,
                        None => HashAlg::Sha256,
                    };
                    let hash = i.expect(asn1::TAG_OCTET_STRING)?.value;
                    Some(hash == alg.digest(cert.raw).as_slice())
                })();
                ess_ok = hash_ok == Some(true);
            }
            _ => {}
        }
    }
    if !content_type_ok || !digest_ok {
        return Err(bad("the signed attributes do not match the TSTInfo"));
    }
    if !ess_ok {
        return Err(bad(
            "the ESS signing certificate does not name the TSA certificate",
        ));
    }
    let key = cert
        .public_key()
        .ok_or_else(|| bad("the TSA key does not parse"))?;
    let hash = crate::cert::hash_of_signature_alg(p.sig_alg).unwrap_or(digest_alg);
    let mut signed = attrs.raw.to_vec();
    if let Some(tag) = signed.first_mut() {
        *tag = asn1::TAG_SET;
    }
    if !key.verify(p.sig_alg, hash, &signed, p.signature) {
        return Err(bad("the token signature does not verify"));
    }
    let for_timestamping = CertView::parse(&signer)
        .and_then(|c| certgen::extended_key_usages(&c))
        .is_some_and(|(_, ekus)| ekus.contains(&crate::oid::KP_TIME_STAMPING));
    if !for_timestamping {
        return Err(bad("the signer certificate is not for timestamping"));
    }
    info.tsa_cert = Some(signer);
    Ok(info)
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
        assert!(asn1::small_uint(&second.serial) > asn1::small_uint(&info.serial));
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
    fn bad_requests_are_rejected() {
        let (_, tsa) = tsa();
        let now = time::OffsetDateTime::now_utc();
        let status = |resp: &[u8]| {
            let (outer, _) = asn1::read_tlv(resp).unwrap();
            let info = Reader::new(outer.value).expect(asn1::TAG_SEQUENCE).unwrap();
            let mut r = Reader::new(info.value);
            let code = asn1::small_uint(r.expect(asn1::TAG_INTEGER).unwrap().value).unwrap();
            let _text = r.optional(asn1::TAG_SEQUENCE);
            (code, r.expect(asn1::TAG_BIT_STRING).map(|b| b.value.to_vec()))
        };
        assert_eq!(
            status(&tsa.respond(b"\x30\x03\x02\x01", now)),
            (2, Some(vec![2, 0x04]))
        );
        // MD5 imprint.
        let md5 = asn1::sequence(&[
            &asn1::uint(1),
            &asn1::sequence(&[
                &asn1::algorithm(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05]),
                &asn1::tlv(asn1::TAG_OCTET_STRING, &[0u8; 16]),
            ]),
        ]);
        assert_eq!(status(&tsa.respond(&md5, now)), (2, Some(vec![7, 0x80])));
        // Wrong imprint length.
        let short = asn1::sequence(&[
            &asn1::uint(1),
            &asn1::sequence(&[
                &asn1::algorithm(oid::SHA256),
                &asn1::tlv(asn1::TAG_OCTET_STRING, &[0u8; 20]),
            ]),
        ]);
        assert_eq!(status(&tsa.respond(&short, now)).0, 2);
        assert_eq!(fail_info_bits(16), vec![3, 4, 7, 0, 0, 0x80]);
        assert_eq!(fail_info_bits(25), vec![3, 5, 6, 0, 0, 0, 0x40]);
    }
}
