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

/// An OBJECT IDENTIFIER kept as its content octets. const-oid 0.9 refuses a second arc above 39 (such as
/// the example arc 2.999 of [`DEV_POLICY`]), so TSA policies are not `ObjectIdentifier`s here.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PolicyId(Vec<u8>);

impl PolicyId {
    /// From a dotted OID (`"2.999.84.1.1"`).
    fn from_dotted(dotted: &str) -> Option<Self> {
        let mut arcs = dotted.split('.').map(|arc| {
            (!arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
                .then(|| arc.parse::<u64>().ok())
                .flatten()
        });
        let first = arcs.next().flatten()?;
        let second = arcs.next().flatten()?;
        if first > 2 || (first < 2 && second > 39) {
            return None;
        }
        let mut out = Vec::new();
        push_base128(&mut out, first.checked_mul(40)?.checked_add(second)?);
        for arc in arcs {
            push_base128(&mut out, arc?);
        }
        Self::well_formed(&out).then_some(Self(out))
    }

    /// Base-128 arcs of at most 9 octets (63 bits), none starting with 0x80, the last one complete.
    fn well_formed(bytes: &[u8]) -> bool {
        let mut arc_len = 0usize;
        for &b in bytes {
            if arc_len == 0 && b == 0x80 {
                return false;
            }
            arc_len += 1;
            if arc_len > 9 {
                return false;
            }
            if b & 0x80 == 0 {
                arc_len = 0;
            }
        }
        !bytes.is_empty() && arc_len == 0
    }

    fn to_dotted(&self) -> String {
        let mut arcs = Vec::new();
        let mut v: u64 = 0;
        for &b in &self.0 {
            v = (v << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                arcs.push(v);
                v = 0;
            }
        }
        let mut parts = Vec::new();
        if let Some((&first, rest)) = arcs.split_first() {
            let (a, b) = if first < 80 {
                (first / 40, first % 40)
            } else {
                (2, first - 80)
            };
            parts.push(a.to_string());
            parts.push(b.to_string());
            parts.extend(rest.iter().map(u64::to_string));
        }
        parts.join(".")
    }
}

fn push_base128(out: &mut Vec<u8>, mut arc: u64) {
    let mut chunk = vec![(arc & 0x7f) as u8];
    arc >>= 7;
    while arc > 0 {
        chunk.push((arc & 0x7f) as u8 | 0x80);
        arc >>= 7;
    }
    chunk.reverse();
    out.extend(chunk);
}

impl FixedTag for PolicyId {
    const TAG: Tag = Tag::ObjectIdentifier;
}

impl<'a> DecodeValue<'a> for PolicyId {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        if !Self::well_formed(&bytes) {
            return Err(Tag::ObjectIdentifier.value_error());
        }
        Ok(Self(bytes))
    }
}

impl EncodeValue for PolicyId {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

/// genTime (RFC 3161 §2.4.2): GeneralizedTime `YYYYMMDDhhmmss[.s+]Z`. der's `GeneralizedTime` refuses the
/// fraction of a second that TSAs may add, so the value octets are kept and the whole seconds are read
/// through it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GenTime(Vec<u8>);

impl GenTime {
    fn from_unix(seconds: u64) -> der::Result<Self> {
        let mut value = Vec::new();
        GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))?
            .encode_value(&mut value)?;
        Ok(Self(value))
    }

    /// Whole seconds since the Unix epoch.
    fn unix(&self) -> der::Result<u64> {
        let invalid = || Tag::GeneralizedTime.value_error();
        let (&zone, body) = self.0.split_last().ok_or_else(invalid)?;
        if zone != b'Z' {
            return Err(invalid());
        }
        let whole = match body.iter().position(|&b| b == b'.') {
            Some(dot) => {
                let (whole, fraction) = body.split_at(dot);
                let digits = fraction.get(1..).unwrap_or_default();
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(invalid());
                }
                whole
            }
            None => body,
        };
        let mut value = whole.to_vec();
        value.push(b'Z');
        let header = Header::new(Tag::GeneralizedTime, value.len())?;
        let time = GeneralizedTime::decode_value(&mut SliceReader::new(&value)?, header)?;
        Ok(time.to_unix_duration().as_secs())
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl<'a> DecodeValue<'a> for GenTime {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let time = Self(reader.read_vec(header.length)?);
        time.unix()?;
        Ok(time)
    }
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

/// TimeStampReq (RFC 3161 §2.4.1) as `x509_tsp::TimeStampReq`, but with any policy OID (see [`PolicyId`])
/// and the version read as a number, so that another version is badRequest rather than badDataFormat.
#[derive(Sequence)]
struct TimeStampReqDer {
    version: u64,
    message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    req_policy: Option<PolicyId>,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// TSTInfo (RFC 3161 §2.4.2) as `x509_tsp::TstInfo`, but with any policy OID (see [`PolicyId`]) and a
/// genTime that may carry fractional seconds (see [`GenTime`]).
#[derive(Sequence)]
struct TstInfoDer {
    version: TspVersion,
    policy: PolicyId,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: GenTime,
    #[asn1(optional = "true")]
    accuracy: Option<x509_tsp::Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// PKIStatusInfo (RFC 3161 §2.4.2). x509-tsp takes it from cmpv2 0.2, whose PKIFailureInfo flags are not
/// bit positions and stop at 16 bits, so it is declared here.
#[derive(Sequence)]
struct PkiStatusInfo<'a> {
    status: u64,
    #[asn1(optional = "true")]
    status_string: Option<Vec<Utf8StringRef<'a>>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// TimeStampResp (RFC 3161 §2.4.2) with the [`PkiStatusInfo`] above; the token is kept as its bytes.
#[derive(Sequence)]
struct TimeStampRespDer<'a> {
    status: PkiStatusInfo<'a>,
    #[asn1(optional = "true")]
    time_stamp_token: Option<AnyRef<'a>>,
}

/// The content octets of a SET whose original bytes matter; decoded further where needed.
#[derive(Debug, Clone, Copy)]
struct RawSet<'a>(&'a [u8]);

impl FixedTag for RawSet<'_> {
    const TAG: Tag = Tag::Set;
}

impl<'a> DecodeValue<'a> for RawSet<'a> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_slice(header.length).map(Self)
    }
}

impl EncodeValue for RawSet<'_> {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(self.0)
    }
}

/// SignedData (RFC 5652 §5.1) as `cms::signed_data::SignedData`, for reading tokens, but with the
/// certificates and signer infos kept as their bytes: der sorts a SET OF and drops DEFAULT values it
/// decodes, so re-encoding could change the bytes that were signed (the signed attributes, the
/// certificates).
#[derive(Sequence)]
struct TokenSignedData<'a> {
    version: CmsVersion,
    digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
    encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<RawSet<'a>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<RawSet<'a>>,
    signer_infos: RawSet<'a>,
}

/// SignerInfo (RFC 5652 §5.3) as `cms::signed_data::SignerInfo`, with the attributes kept as their bytes
/// (see [`TokenSignedData`]).
#[derive(Sequence)]
struct TokenSignerInfo<'a> {
    version: CmsVersion,
    sid: SignerIdentifier,
    digest_alg: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    signed_attrs: Option<RawSet<'a>>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: OctetStringRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    unsigned_attrs: Option<RawSet<'a>>,
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
    crate::bounds::check(der).map_err(|e| {
        (
            FailureInfo::BadDataFormat,
            format!("the request is refused unread: {e:?}"),
        )
    })?;
    let request = TimeStampReqDer::from_der(der).map_err(|e| {
        (
            FailureInfo::BadDataFormat,
            format!("the request is not a DER TimeStampReq: {e}"),
        )
    })?;
    if request.version != 1 {
        return Err((FailureInfo::BadRequest, "unsupported version".into()));
    }
    let alg = &request.message_imprint.hash_algorithm.oid;
    let hash = imprint_hash(alg)
        .ok_or_else(|| (FailureInfo::BadAlg, format!("unsupported hash algorithm {alg}")))?;
    let imprint = request.message_imprint.hashed_message.as_bytes();
    if imprint.len() != hash_len(hash) {
        return Err((
            FailureInfo::BadDataFormat,
            "the imprint length does not fit the hash algorithm".into(),
        ));
    }
    if request.extensions.is_some() {
        return Err((
            FailureInfo::UnacceptedExtension,
            "extensions are not supported".into(),
        ));
    }
    Ok(TimestampRequest {
        hash,
        imprint: imprint.to_vec(),
        policy: request.req_policy.map(|p| p.0),
        nonce: request.nonce.map(|n| n.as_bytes().to_vec()),
        cert_req: request.cert_req,
    })
}

/// PKIFailureInfo with one bit set: a named-bit BIT STRING, so without trailing zero bits.
fn fail_info(bit: u8) -> der::Result<BitString> {
    let mut bytes = vec![0u8; usize::from(bit / 8) + 1];
    if let Some(last) = bytes.last_mut() {
        *last = 0x80 >> (bit % 8);
    }
    BitString::new(7 - bit % 8, bytes)
}

/// A TimeStampResp with status rejection (2), a text and a failure bit.
pub fn rejection(fail: FailureInfo, text: &str) -> Vec<u8> {
    let encode = || {
        TimeStampRespDer {
            status: PkiStatusInfo {
                status: 2,
                status_string: Some(vec![Utf8StringRef::new(text)?]),
                fail_info: Some(fail_info(fail as u8)?),
            },
            time_stamp_token: None,
        }
        .to_der()
    };
    // Fails only for a text beyond der's length limit; an empty answer is then the best left.
    encode().unwrap_or_default()
}

fn signed_attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
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

impl TimestampAuthority {
    /// A TSA signing with `signer` (whose first certificate must carry extKeyUsage id-kp-timeStamping)
    /// under policy `policy` (dotted OID). Serials start at a random 48-bit value and increase.
    pub fn new(signer: Arc<dyn Signer>, policy: &str) -> Result<Self, SigningError> {
        use rand::RngCore as _;
        let policy = PolicyId::from_dotted(policy).ok_or_else(|| bad("invalid policy OID"))?;
        let cert = signer
            .chain()
            .first()
            .ok_or_else(|| SigningError::Certificate("the TSA signer has no certificate".into()))?;
        let is_tsa = CertView::parse(cert).is_some_and(|c| for_timestamping(&c, true));
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
        if request.policy.as_ref().is_some_and(|p| *p != self.policy.0) {
            return rejection(
                FailureInfo::UnacceptedPolicy,
                "the requested policy is not offered",
            );
        }
        let granted = self
            .stamp(
                request.hash,
                &request.imprint,
                request.nonce.as_deref(),
                request.cert_req,
                now,
            )
            .and_then(|token| {
                TimeStampRespDer {
                    status: PkiStatusInfo {
                        status: 0,
                        status_string: None,
                        fail_info: None,
                    },
                    time_stamp_token: Some(AnyRef::from_der(&token).map_err(der_error)?),
                }
                .to_der()
                .map_err(der_error)
            });
        granted.unwrap_or_else(|_| rejection(FailureInfo::SystemFailure, "signing failed"))
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
        let tsa = Certificate::from_der(tsa_der)
            .map_err(|e| SigningError::Certificate(format!("the TSA certificate does not parse: {e}")))?;
        let serial = self.serial.fetch_add(1, Ordering::Relaxed);
        let gen_time = u64::try_from(now.unix_timestamp())
            .map_err(|_| bad("the time is before 1970"))
            .and_then(|t| GenTime::from_unix(t).map_err(der_error))?;
        let tst_info = TstInfoDer {
            version: TspVersion::V1,
            policy: self.policy.clone(),
            message_imprint: MessageImprint {
                hash_algorithm: certgen::digest_algorithm(hash_alg.id()),
                hashed_message: OctetString::new(imprint).map_err(der_error)?,
            },
            serial_number: unsigned_int(&serial.to_be_bytes()).map_err(der_error)?,
            gen_time,
            accuracy: self.accuracy.map(|a| x509_tsp::Accuracy {
                seconds: (a.seconds > 0).then_some(u64::from(a.seconds)),
                millis: (a.millis > 0)
                    .then(|| i16::try_from(a.millis.min(999)).ok())
                    .flatten(),
                micros: None,
            }),
            ordering: false,
            nonce: nonce.map(unsigned_int).transpose().map_err(der_error)?,
            tsa: Some(GeneralName::DirectoryName(tsa.tbs_certificate.subject.clone())),
            extensions: None,
        }
        .to_der()
        .map_err(der_error)?;

        let ess = signing_certificate_v2(tsa_der)?;
        let signed_attrs: SignedAttributes = (|| {
            SetOfVec::try_from(vec![
                signed_attribute(
                    rfc5911::ID_CONTENT_TYPE,
                    Any::encode_from(&crate::oid::CT_TST_INFO)?,
                )?,
                signed_attribute(
                    rfc5911::ID_MESSAGE_DIGEST,
                    Any::new(Tag::OctetString, HashAlg::Sha256.digest(&tst_info))?,
                )?,
                signed_attribute(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, Any::from_der(&ess)?)?,
            ])
        })()
        .map_err(der_error)?;
        // Signed as a DER SET OF (RFC 5652 §5.4), stored below as [0] IMPLICIT with the same content.
        let signature = self.signer.sign(&signed_attrs.to_der().map_err(der_error)?)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tsa.tbs_certificate.issuer.clone(),
                serial_number: tsa.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: certgen::digest_algorithm(crate::oid::SHA256),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: certgen::algorithm_id(self.signer.algorithm()),
            signature: OctetString::new(signature).map_err(der_error)?,
            unsigned_attrs: None,
        };
        let certificates = if cert_req {
            let certs = chain
                .iter()
                .map(|c| Certificate::from_der(c).map(CertificateChoices::Certificate))
                .collect::<der::Result<Vec<_>>>()
                .map_err(|e| {
                    SigningError::Certificate(format!("a TSA chain certificate does not parse: {e}"))
                })?;
            Some(CertificateSet(SetOfVec::try_from(certs).map_err(der_error)?))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![certgen::digest_algorithm(crate::oid::SHA256)])
                .map_err(der_error)?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: crate::oid::CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info).map_err(der_error)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(der_error)?),
        };
        ContentInfo {
            content_type: rfc5911::ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).map_err(der_error)?,
        }
        .to_der()
        .map_err(der_error)
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
    let encode = || {
        TimeStampReqDer {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: certgen::digest_algorithm(crate::oid::SHA256),
                hashed_message: OctetString::new(sha256_digest.as_slice())?,
            },
            req_policy: None,
            nonce: nonce.map(|n| unsigned_int(&n.to_be_bytes())).transpose()?,
            cert_req: true,
            extensions: None,
        }
        .to_der()
    };
    // Nothing here can exceed der's limits.
    encode().unwrap_or_default()
}

/// Checks a DER TimeStampResp for a request made with [`build_request`]: granted status, a token whose
/// signature verifies with its certificate, the SHA-256 imprint and the nonce. Returns the token DER.
pub fn parse_response(
    der: &[u8],
    expected_digest: &[u8; 32],
    expected_nonce: Option<u64>,
) -> Result<Vec<u8>, SigningError> {
    crate::bounds::check(der).map_err(|e| bad(&format!("the response is refused unread: {e:?}")))?;
    let response =
        TimeStampRespDer::from_der(der).map_err(|e| bad(&format!("the response does not parse: {e}")))?;
    let code = response.status.status;
    if code > 1 {
        let text = response
            .status
            .status_string
            .as_ref()
            .and_then(|texts| texts.first())
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        return Err(bad(&format!("the TSA refused (status {code}): {text}")));
    }
    let token = response
        .time_stamp_token
        .filter(|t| t.tag() == Tag::Sequence)
        .ok_or_else(|| bad("no token in a granted response"))?
        .to_der()
        .map_err(der_error)?;
    let info = verify_token(&token, &[])?;
    if info.hash != Some(HashAlg::Sha256) || info.imprint != expected_digest {
        return Err(bad("the token covers another message imprint"));
    }
    let expected = expected_nonce
        .map(|n| unsigned_int(&n.to_be_bytes()))
        .transpose()
        .map_err(der_error)?;
    if expected.as_ref().map(Int::as_bytes) != info.nonce.as_deref() {
        return Err(bad("the nonce does not match the request"));
    }
    Ok(token)
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

struct ParsedToken {
    info: TstInfo,
    /// The eContent octets (the DER TSTInfo the message digest covers).
    tst_info_der: Vec<u8>,
    /// The signed attributes as signed: a SET OF with the original content octets.
    signed_attrs: Option<Vec<u8>>,
    digest_alg: ObjectIdentifier,
    sig_alg: ObjectIdentifier,
    signature: Vec<u8>,
    sid: SignerIdentifier,
}

/// The elements of a SET's content octets, each as its original bytes.
fn set_elements(content: &[u8]) -> der::Result<Vec<AnyRef<'_>>> {
    let mut reader = SliceReader::new(content)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader)?);
    }
    Ok(out)
}

/// Reads a token: a DER ContentInfo, optionally followed by zero octets (a PDF's padded /Contents).
fn parse_token(token: &[u8]) -> Result<ParsedToken, SigningError> {
    let malformed = |e: der::Error| bad(&format!("the token does not parse: {e}"));
    let element = crate::verify::first_element(token).ok_or_else(|| bad("the token is not DER"))?;
    crate::bounds::check(element).map_err(|e| bad(&format!("the token is refused unread: {e:?}")))?;
    let mut reader = SliceReader::new(token).map_err(malformed)?;
    let content_info = ContentInfo::decode(&mut reader).map_err(malformed)?;
    let padding = reader.read_slice(reader.remaining_len()).map_err(malformed)?;
    if padding.iter().any(|&b| b != 0) {
        return Err(bad("the token is followed by other data"));
    }
    if content_info.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(bad("the token is not SignedData"));
    }
    let signed_data: TokenSignedData<'_> = content_info.content.decode_as().map_err(malformed)?;
    let encap = &signed_data.encap_content_info;
    if encap.econtent_type != crate::oid::CT_TST_INFO {
        return Err(bad("the token does not hold a TSTInfo"));
    }
    let tst_info_der = encap
        .econtent
        .as_ref()
        .filter(|c| c.tag() == Tag::OctetString)
        .map(|c| c.value())
        .ok_or_else(|| bad("the token has no TSTInfo content"))?;
    let tst = TstInfoDer::from_der(tst_info_der).map_err(malformed)?;
    let certs = match signed_data.certificates {
        Some(set) => set_elements(set.0)
            .map_err(malformed)?
            .into_iter()
            .filter(|c| c.tag() == Tag::Sequence)
            .map(|c| c.to_der())
            .collect::<der::Result<Vec<_>>>()
            .map_err(malformed)?,
        None => Vec::new(),
    };
    // RFC 3161 §2.4.2: the token carries the TSA's signature only.
    let signer_info = TokenSignerInfo::from_der(signed_data.signer_infos.0).map_err(|e| {
        bad(&format!(
            "the token does not have exactly one readable SignerInfo: {e}"
        ))
    })?;
    let signed_attrs = signer_info
        .signed_attrs
        .map(|attrs| AnyRef::new(Tag::Set, attrs.0).and_then(|set| set.to_der()))
        .transpose()
        .map_err(malformed)?;
    let accuracy_millis = match &tst.accuracy {
        Some(a) => {
            let millis = u64::try_from(a.millis.unwrap_or(0)).map_err(|_| bad("negative accuracy"))?;
            Some(a.seconds.unwrap_or(0).saturating_mul(1000).saturating_add(millis))
        }
        None => None,
    };
    let gen_time = tst
        .gen_time
        .unix()
        .ok()
        .and_then(|t| i64::try_from(t).ok())
        .ok_or_else(|| bad("bad genTime"))?;
    Ok(ParsedToken {
        info: TstInfo {
            policy: tst.policy.to_dotted(),
            hash: imprint_hash(&tst.message_imprint.hash_algorithm.oid),
            imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
            serial: tst.serial_number.as_bytes().to_vec(),
            gen_time,
            accuracy_millis,
            nonce: tst.nonce.map(|n| n.as_bytes().to_vec()),
            tsa_cert: None,
            certs,
        },
        tst_info_der: tst_info_der.to_vec(),
        signed_attrs,
        digest_alg: signer_info.digest_alg.oid,
        sig_alg: signer_info.signature_algorithm.oid,
        signature: signer_info.signature.as_bytes().to_vec(),
        sid: signer_info.sid,
    })
}

/// Reads a timestamp token without checking its signature.
pub fn read_token(token_der: &[u8]) -> Result<TstInfo, SigningError> {
    parse_token(token_der).map(|p| p.info)
}

/// Whether `cert` is the one `sid` names.
fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = &cert.tbs_certificate;
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            tbs.issuer == id.issuer && tbs.serial_number == id.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            matches!(tbs.get::<SubjectKeyIdentifier>(), Ok(Some((_, own))) if own == *ski)
        }
    }
}

/// The single value of the attribute `oid`, when it occurs once with one value.
fn single_value<'a>(attrs: &'a SignedAttributes, oid: &ObjectIdentifier) -> Option<&'a Any> {
    let mut found = attrs.iter().filter(|a| a.oid == *oid);
    let attr = found.next()?;
    if found.next().is_some() || attr.values.len() != 1 {
        return None;
    }
    attr.values.get(0)
}

/// Reads a timestamp token and checks its integrity: the signer certificate (from the token or
/// `extra_certs`, matched by issuer and serial) signed the signed attributes, whose message digest is
/// the TSTInfo's and whose content type is id-ct-TSTInfo; the ESS signing certificate, when present,
/// names that certificate; the certificate is for timestamping. Chain trust is the caller's business.
pub fn verify_token(token_der: &[u8], extra_certs: &[Vec<u8>]) -> Result<TstInfo, SigningError> {
    let p = parse_token(token_der)?;
    let mut info = p.info;
    let signed = p
        .signed_attrs
        .ok_or_else(|| bad("the token has no signed attributes"))?;
    let digest_alg = imprint_hash(&p.digest_alg).ok_or_else(|| bad("unsupported digest algorithm"))?;
    let signer = info
        .certs
        .iter()
        .chain(extra_certs.iter())
        .find(|der| Certificate::from_der(der).is_ok_and(|c| identifies(&p.sid, &c)))
        .cloned()
        .ok_or_else(|| bad("the TSA certificate is not available"))?;
    let cert = CertView::parse(&signer).ok_or_else(|| bad("the TSA certificate does not parse"))?;

    // Read from the bytes as signed; der may sort them, which changes no attribute.
    let attrs = SignedAttributes::from_der(&signed).map_err(|_| bad("bad attribute"))?;
    let content_type_ok = single_value(&attrs, &rfc5911::ID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        == Some(crate::oid::CT_TST_INFO);
    let digest_ok = single_value(&attrs, &rfc5911::ID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetStringRef<'_>>().ok())
        .is_some_and(|d| d.as_bytes() == digest_alg.digest(&p.tst_info_der).as_slice());
    if !content_type_ok || !digest_ok {
        return Err(bad("the signed attributes do not match the TSTInfo"));
    }
    let ess_ok = attrs
        .iter()
        .filter(|a| a.oid == rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2)
        .all(|a| {
            a.values
                .get(0)
                .is_some_and(|v| crate::ess::check_signing_certificate_v2(v, &cert).is_ok())
        });
    if !ess_ok {
        return Err(bad(
            "the ESS signing certificate does not name the TSA certificate",
        ));
    }
    let key = cert
        .public_key()
        .ok_or_else(|| bad("the TSA key does not parse"))?;
    let sig_alg = p.sig_alg.as_bytes();
    let hash = crate::cert::hash_of_signature_alg(sig_alg).unwrap_or(digest_alg);
    if !key.verify(sig_alg, hash, &signed, &p.signature) {
        return Err(bad("the token signature does not verify"));
    }
    if !for_timestamping(&cert, false) {
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
