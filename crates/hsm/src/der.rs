//! The few DER structures this crate writes — SubjectPublicKeyInfo for P-256 and RSA keys, PKCS#1
//! RSAPublicKey, and ECDSA-Sig-Value (RFC 3279) from the raw `r || s` a PKCS#11 token returns — built with the
//! RustCrypto formats (`der`, `spki`, `p256`), not by hand.
use crate::HsmError;
use der::asn1::{BitString, ObjectIdentifier, OctetStringRef, UintRef};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use banso_signing::oid::{CURVE_P256 as SECP256R1, EC_PUBLIC_KEY as ID_EC_PUBLIC_KEY, RSA_ENCRYPTION};

/// Length in bytes of an uncompressed P-256 point (0x04 || X || Y).
pub(crate) const P256_POINT_LEN: usize = 65;

fn encoding(what: &str, e: der::Error) -> HsmError {
    HsmError::Encoding(format!("{what}: {e}"))
}

/// The DER of the P-256 curve's OID: the value of CKA_EC_PARAMS for a P-256 key.
pub(crate) fn p256_params() -> Vec<u8> {
    // An OID's encoding cannot fail.
    SECP256R1.to_der().unwrap_or_default()
}

/// Converts the PKCS#11 ECDSA signature (`r || s`, 32 bytes each for P-256) to a DER ECDSA-Sig-Value.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, HsmError> {
    let signature = p256::ecdsa::Signature::from_slice(raw).map_err(|e| {
        HsmError::Encoding(format!(
            "the token's ECDSA signature ({} bytes) is not a P-256 r || s: {e}",
            raw.len()
        ))
    })?;
    Ok(signature.to_der().as_bytes().to_vec())
}

/// The point from a CKA_EC_POINT value: PKCS#11 says it is a DER OCTET STRING, but some modules
/// return the bare point. Only uncompressed P-256 points are accepted.
pub(crate) fn p256_point_from_attribute(value: &[u8]) -> Result<Vec<u8>, HsmError> {
    let point = if value.len() == P256_POINT_LEN {
        value
    } else {
        OctetStringRef::from_der(value)
            .map(|o| o.as_bytes())
            .map_err(|_| {
                HsmError::UnsupportedKey(format!(
                    "CKA_EC_POINT of {} bytes is not an uncompressed P-256 point",
                    value.len()
                ))
            })?
    };
    if point.len() != P256_POINT_LEN || point.first() != Some(&0x04) {
        return Err(HsmError::UnsupportedKey(
            "CKA_EC_POINT is not an uncompressed P-256 point".into(),
        ));
    }
    Ok(point.to_vec())
}

fn spki(algorithm: ObjectIdentifier, parameters: der::Any, key: &[u8]) -> Result<Vec<u8>, HsmError> {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: algorithm,
            parameters: Some(parameters),
        },
        subject_public_key: BitString::from_bytes(key).map_err(|e| encoding("public key bits", e))?,
    }
    .to_der()
    .map_err(|e| encoding("SubjectPublicKeyInfo", e))
}

/// SubjectPublicKeyInfo of a P-256 key from its uncompressed point.
pub fn p256_spki(point: &[u8]) -> Result<Vec<u8>, HsmError> {
    let curve = der::Any::encode_from(&SECP256R1).map_err(|e| encoding("curve", e))?;
    spki(ID_EC_PUBLIC_KEY, curve, point)
}

/// PKCS#1 RSAPublicKey (RFC 8017 A.1.1).
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// PKCS#1 RSAPublicKey from the big-endian modulus and public exponent.
pub fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, HsmError> {
    RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(|e| encoding("modulus", e))?,
        public_exponent: UintRef::new(exponent).map_err(|e| encoding("exponent", e))?,
    }
    .to_der()
    .map_err(|e| encoding("RSAPublicKey", e))
}

/// SubjectPublicKeyInfo of an RSA key from its big-endian modulus and public exponent.
pub fn rsa_spki(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, HsmError> {
    spki(
        RSA_ENCRYPTION,
        der::Any::null(),
        &rsa_public_key(modulus, exponent)?,
    )
}

/// PEM of a SubjectPublicKeyInfo (`PUBLIC KEY`), as OpenSSL reads it.
pub fn spki_pem(spki_der: &[u8]) -> Result<String, HsmError> {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, spki_der)
        .map_err(|e| HsmError::Encoding(format!("PEM: {e}")))
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
    fn point_forms() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[9u8; 64]);
        assert_eq!(p256_point_from_attribute(&point).unwrap(), point);
        let wrapped = OctetStringRef::new(&point).unwrap().to_der().unwrap();
        assert_eq!(p256_point_from_attribute(&wrapped).unwrap(), point);
        assert!(p256_point_from_attribute(&point[..33]).is_err());
    }

    #[test]
    fn the_curve_parameters_are_the_p256_oid() {
        assert_eq!(
            p256_params(),
            [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
        );
    }

    #[test]
    fn p256_spki_parses_as_the_key() {
        use p256::pkcs8::DecodePublicKey as _;
        let key = p256::SecretKey::random(&mut rand::thread_rng()).public_key();
        let point = p256::EncodedPoint::from(key);
        let spki = p256_spki(point.as_bytes()).unwrap();
        assert_eq!(p256::PublicKey::from_public_key_der(&spki).unwrap(), key);
        let pem = spki_pem(&spki).unwrap();
        assert_eq!(p256::PublicKey::from_public_key_pem(&pem).unwrap(), key);
    }

    #[test]
    fn rsa_spki_parses() {
        use pkcs8::DecodePublicKey as _;
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
        use rsa::traits::PublicKeyParts as _;
        let spki = rsa_spki(&key.n().to_bytes_be(), &key.e().to_bytes_be()).unwrap();
        let parsed = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
        assert_eq!(parsed, key.to_public_key());
    }
}
