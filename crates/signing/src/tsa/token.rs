//! Reading and verifying timestamp tokens (for verifiers and for the client).
use super::*;

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

pub(super) struct ParsedToken {
    pub(super) info: TstInfo,
    /// The eContent octets (the DER TSTInfo the message digest covers).
    pub(super) tst_info_der: Vec<u8>,
    /// The signed attributes as signed: a SET OF with the original content octets.
    pub(super) signed_attrs: Option<Vec<u8>>,
    pub(super) digest_alg: ObjectIdentifier,
    pub(super) sig_alg: ObjectIdentifier,
    pub(super) signature: Vec<u8>,
    pub(super) sid: SignerIdentifier,
}

/// The elements of a SET's content octets, each as its original bytes.
pub(super) fn set_elements(content: &[u8]) -> der::Result<Vec<AnyRef<'_>>> {
    let mut reader = SliceReader::new(content)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        out.push(AnyRef::decode(&mut reader)?);
    }
    Ok(out)
}

/// Reads a token: a DER ContentInfo, optionally followed by zero octets (a PDF's padded /Contents).
pub(super) fn parse_token(token: &[u8]) -> Result<ParsedToken, SigningError> {
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
pub(super) fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
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
pub(super) fn single_value<'a>(attrs: &'a SignedAttributes, oid: &ObjectIdentifier) -> Option<&'a Any> {
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
