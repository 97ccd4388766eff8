//! The client side: a request for a digest and the checks of the answer.
use super::*;

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
