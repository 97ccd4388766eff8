//! The DER structures of RFC 3161 declared here rather than taken from x509-tsp, each for a reason said at it:
//! policy OIDs const-oid 0.9 cannot hold, genTime with fractions of a second, the status info, and the token's
//! SignedData with its signed parts kept as received.
use super::*;

/// An OBJECT IDENTIFIER kept as its content octets. const-oid 0.9 refuses a second arc above 39 (such as
/// the example arc 2.999 of [`DEV_POLICY`]), so TSA policies are not `ObjectIdentifier`s here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PolicyId(pub(super) Vec<u8>);

impl PolicyId {
    /// From a dotted OID (`"2.999.84.1.1"`).
    pub(super) fn from_dotted(dotted: &str) -> Option<Self> {
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
    pub(super) fn well_formed(bytes: &[u8]) -> bool {
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

    pub(super) fn to_dotted(&self) -> String {
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

pub(super) fn push_base128(out: &mut Vec<u8>, mut arc: u64) {
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
pub(super) struct GenTime(pub(super) Vec<u8>);

impl GenTime {
    pub(super) fn from_unix(seconds: u64) -> der::Result<Self> {
        let mut value = Vec::new();
        GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))?
            .encode_value(&mut value)?;
        Ok(Self(value))
    }

    /// Whole seconds since the Unix epoch.
    pub(super) fn unix(&self) -> der::Result<u64> {
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
pub(super) struct TimeStampReqDer {
    pub(super) version: u64,
    pub(super) message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub(super) req_policy: Option<PolicyId>,
    #[asn1(optional = "true")]
    pub(super) nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub(super) cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) extensions: Option<Extensions>,
}

/// TSTInfo (RFC 3161 §2.4.2) as `x509_tsp::TstInfo`, but with any policy OID (see [`PolicyId`]) and a
/// genTime that may carry fractional seconds (see [`GenTime`]).
#[derive(Sequence)]
pub(super) struct TstInfoDer {
    pub(super) version: TspVersion,
    pub(super) policy: PolicyId,
    pub(super) message_imprint: MessageImprint,
    pub(super) serial_number: Int,
    pub(super) gen_time: GenTime,
    #[asn1(optional = "true")]
    pub(super) accuracy: Option<x509_tsp::Accuracy>,
    #[asn1(default = "Default::default")]
    pub(super) ordering: bool,
    #[asn1(optional = "true")]
    pub(super) nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(super) tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) extensions: Option<Extensions>,
}

/// PKIStatusInfo (RFC 3161 §2.4.2). x509-tsp takes it from cmpv2 0.2, whose PKIFailureInfo flags are not
/// bit positions and stop at 16 bits, so it is declared here.
#[derive(Sequence)]
pub(super) struct PkiStatusInfo<'a> {
    pub(super) status: u64,
    #[asn1(optional = "true")]
    pub(super) status_string: Option<Vec<Utf8StringRef<'a>>>,
    #[asn1(optional = "true")]
    pub(super) fail_info: Option<BitString>,
}

/// TimeStampResp (RFC 3161 §2.4.2) with the [`PkiStatusInfo`] above; the token is kept as its bytes.
#[derive(Sequence)]
pub(super) struct TimeStampRespDer<'a> {
    pub(super) status: PkiStatusInfo<'a>,
    #[asn1(optional = "true")]
    pub(super) time_stamp_token: Option<AnyRef<'a>>,
}

/// The content octets of a SET whose original bytes matter; decoded further where needed.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawSet<'a>(pub(super) &'a [u8]);

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
pub(super) struct TokenSignedData<'a> {
    pub(super) version: CmsVersion,
    pub(super) digest_algorithms: SetOfVec<AlgorithmIdentifierOwned>,
    pub(super) encap_content_info: EncapsulatedContentInfo,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) certificates: Option<RawSet<'a>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) crls: Option<RawSet<'a>>,
    pub(super) signer_infos: RawSet<'a>,
}

/// SignerInfo (RFC 5652 §5.3) as `cms::signed_data::SignerInfo`, with the attributes kept as their bytes
/// (see [`TokenSignedData`]).
#[derive(Sequence)]
pub(super) struct TokenSignerInfo<'a> {
    pub(super) version: CmsVersion,
    pub(super) sid: SignerIdentifier,
    pub(super) digest_alg: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) signed_attrs: Option<RawSet<'a>>,
    pub(super) signature_algorithm: AlgorithmIdentifierOwned,
    pub(super) signature: OctetStringRef<'a>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(super) unsigned_attrs: Option<RawSet<'a>>,
}
