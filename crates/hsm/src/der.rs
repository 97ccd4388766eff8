//! The few DER structures this crate writes: SubjectPublicKeyInfo for P-256 and RSA keys, PKCS#1
//! RSAPublicKey, and ECDSA-Sig-Value (RFC 3279) from the raw `r || s` a PKCS#11 token returns.
use crate::HsmError;

/// DER of the OID id-ecPublicKey (1.2.840.10045.2.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// DER of the OID prime256v1 / secp256r1 (1.2.840.10045.3.1.7): also the value of CKA_EC_PARAMS.
pub(crate) const OID_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the OID rsaEncryption (1.2.840.113549.1.1.1).
const OID_RSA_ENCRYPTION: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const DER_NULL: &[u8] = &[0x05, 0x00];

const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_SEQUENCE: u8 = 0x30;

/// Length in bytes of an uncompressed P-256 point (0x04 || X || Y).
pub(crate) const P256_POINT_LEN: usize = 65;

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        // Fits in the short form.
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

/// One tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &parts.concat())
}

/// An unsigned big-endian integer as a DER INTEGER (minimal, non-negative).
fn unsigned_integer(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|b| **b == 0).count();
    let digits = be.get(skip..).unwrap_or_default();
    let mut content = Vec::with_capacity(digits.len() + 1);
    match digits.first() {
        None => content.push(0),
        Some(first) if first & 0x80 != 0 => {
            content.push(0);
            content.extend_from_slice(digits);
        }
        Some(_) => content.extend_from_slice(digits),
    }
    tlv(TAG_INTEGER, &content)
}

fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0); // no unused bits
    content.extend_from_slice(bytes);
    tlv(TAG_BIT_STRING, &content)
}

/// Converts the PKCS#11 ECDSA signature (`r || s`, each half the length) to a DER ECDSA-Sig-Value.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, HsmError> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(HsmError::Encoding(format!(
            "an ECDSA signature from the token has odd or zero length {}",
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    if r.iter().all(|b| *b == 0) || s.iter().all(|b| *b == 0) {
        return Err(HsmError::Encoding(
            "an ECDSA signature from the token has a zero component".into(),
        ));
    }
    Ok(sequence(&[&unsigned_integer(r), &unsigned_integer(s)]))
}

/// The point from a CKA_EC_POINT value: PKCS#11 says it is a DER OCTET STRING, but some modules
/// return the bare point. Only uncompressed P-256 points are accepted.
pub(crate) fn p256_point_from_attribute(value: &[u8]) -> Result<Vec<u8>, HsmError> {
    let point = match value.len() {
        P256_POINT_LEN => value,
        // 0x04 0x41 || point
        n if n == P256_POINT_LEN + 2
            && value.first() == Some(&TAG_OCTET_STRING)
            && value.get(1) == Some(&(P256_POINT_LEN as u8)) =>
        {
            value.get(2..).unwrap_or_default()
        }
        n => {
            return Err(HsmError::UnsupportedKey(format!(
                "CKA_EC_POINT of {n} bytes is not an uncompressed P-256 point"
            )))
        }
    };
    if point.first() != Some(&0x04) {
        return Err(HsmError::UnsupportedKey(
            "CKA_EC_POINT is not an uncompressed point".into(),
        ));
    }
    Ok(point.to_vec())
}

/// SubjectPublicKeyInfo of a P-256 key from its uncompressed point.
pub fn p256_spki(point: &[u8]) -> Vec<u8> {
    let algorithm = sequence(&[OID_EC_PUBLIC_KEY, OID_P256]);
    sequence(&[&algorithm, &bit_string(point)])
}

/// PKCS#1 RSAPublicKey from the big-endian modulus and public exponent.
pub fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    sequence(&[&unsigned_integer(modulus), &unsigned_integer(exponent)])
}

/// SubjectPublicKeyInfo of an RSA key from its big-endian modulus and public exponent.
pub fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let algorithm = sequence(&[OID_RSA_ENCRYPTION, DER_NULL]);
    sequence(&[&algorithm, &bit_string(&rsa_public_key(modulus, exponent))])
}

/// PEM of a SubjectPublicKeyInfo (`PUBLIC KEY`), as OpenSSL reads it.
pub fn spki_pem(spki_der: &[u8]) -> String {
    let encoded = base64_encode(spki_der);
    let mut out = String::from("-----BEGIN PUBLIC KEY-----\n");
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END PUBLIC KEY-----\n");
    out
}

fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |v: u32| char::from(ALPHABET.get((v & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let v = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(symbol(v >> 18));
        out.push(symbol(v >> 12));
        out.push(if chunk.len() > 1 { symbol(v >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { symbol(v) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_der_minimal_integers() {
        let mut raw = vec![0u8; 64];
        raw[31] = 1; // r = 1
        raw[32] = 0x80; // s has its high bit set: needs a leading zero
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(&der[..5], &[0x30, 3 + 35, 0x02, 0x01, 0x01]);
        assert_eq!(&der[5..8], &[0x02, 33, 0x00]);
        assert_eq!(der.len(), 2 + 3 + 35);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_err());
        assert!(ecdsa_raw_to_der(&[0u8; 64]).is_err());
    }

    #[test]
    fn long_lengths() {
        let der = tlv(0x04, &[7u8; 300]);
        assert_eq!(&der[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let der = tlv(0x04, &[7u8; 200]);
        assert_eq!(&der[..3], &[0x04, 0x81, 200]);
    }

    #[test]
    fn point_forms() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[9u8; 64]);
        assert_eq!(p256_point_from_attribute(&point).unwrap(), point);
        let wrapped = tlv(TAG_OCTET_STRING, &point);
        assert_eq!(p256_point_from_attribute(&wrapped).unwrap(), point);
        assert!(p256_point_from_attribute(&point[..33]).is_err());
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn rsa_spki_parses() {
        use pkcs8::DecodePublicKey as _;
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        use rsa::traits::PublicKeyParts as _;
        let spki = rsa_spki(&key.n().to_bytes_be(), &key.e().to_bytes_be());
        let parsed = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
        assert_eq!(parsed, key.to_public_key());
    }
}
