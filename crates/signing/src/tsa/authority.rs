//! The timestamp authority (server side): reading requests, answering with tokens or rejections.
use super::*;

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
pub(super) fn fail_info(bit: u8) -> der::Result<BitString> {
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

pub(super) fn signed_attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
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
