//! SecurityInfos (ICAO 9303 Part 11 §9.2): the `SET OF SecurityInfo` stored in
//! EF.CardAccess (PACE) and DG14 (chip and active authentication), with a parser and a
//! builder, plus small EC helpers shared by PACE, chip authentication and the virtual card.
//!
//! Only NIST P-256 is supported for ECDH/ECDSA (standardized domain parameter 12, or a
//! named-curve SubjectPublicKeyInfo). brainpoolP256r1 (parameter 13) is **not** supported:
//! no brainpool crate is available to this workspace.

use const_oid::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use p256::elliptic_curve::ops::Reduce;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{AffinePoint, EncodedPoint, FieldBytes, NonZeroScalar, ProjectivePoint, Scalar, U256};

use super::crypto::Cipher;
use super::lds::{expect_tlv, parse_all, LdsError, Tlv};

/// id-PACE (0.4.0.127.0.7.2.2.4).
pub const ID_PACE: &str = "0.4.0.127.0.7.2.2.4";
/// id-PACE-ECDH-GM-3DES.
pub const ID_PACE_ECDH_GM_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.1");
/// id-PACE-ECDH-GM-AES-CBC-CMAC-128.
pub const ID_PACE_ECDH_GM_AES_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");
/// id-PACE-ECDH-GM-AES-CBC-CMAC-192.
pub const ID_PACE_ECDH_GM_AES_192: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.3");
/// id-PACE-ECDH-GM-AES-CBC-CMAC-256.
pub const ID_PACE_ECDH_GM_AES_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.4");
/// id-CA-ECDH-3DES-CBC-CBC.
pub const ID_CA_ECDH_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3.2.1");
/// id-CA-ECDH-AES-CBC-CMAC-128.
pub const ID_CA_ECDH_AES_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3.2.2");
/// id-CA-ECDH-AES-CBC-CMAC-192.
pub const ID_CA_ECDH_AES_192: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3.2.3");
/// id-CA-ECDH-AES-CBC-CMAC-256.
pub const ID_CA_ECDH_AES_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3.2.4");
/// id-PK-ECDH: the protocol of ChipAuthenticationPublicKeyInfo for ECDH keys.
pub const ID_PK_ECDH: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.1.2");
/// id-AA: ActiveAuthenticationInfo.
pub const ID_AA: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.5");
/// ecdsa-plain-SHA256 (BSI TR-03111): ECDSA with SHA-256, signature as r ‖ s.
pub const ECDSA_PLAIN_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
/// Standardized domain parameter id of NIST P-256 (secp256r1).
pub const PARAM_ID_P256: u32 = 12;

/// The block cipher named by a PACE or CA protocol OID (ECDH variants only).
pub fn cipher_of(protocol: &ObjectIdentifier) -> Option<Cipher> {
    Some(match *protocol {
        ID_PACE_ECDH_GM_3DES | ID_CA_ECDH_3DES => Cipher::ThreeDes,
        ID_PACE_ECDH_GM_AES_128 | ID_CA_ECDH_AES_128 => Cipher::Aes128,
        ID_PACE_ECDH_GM_AES_192 | ID_CA_ECDH_AES_192 => Cipher::Aes192,
        ID_PACE_ECDH_GM_AES_256 | ID_CA_ECDH_AES_256 => Cipher::Aes256,
        _ => return None,
    })
}

/// One SecurityInfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityInfo {
    /// PACEInfo: protocol, version (2), standardized domain parameter id.
    Pace {
        /// id-PACE-… protocol.
        protocol: ObjectIdentifier,
        /// Version, 2.
        version: u32,
        /// Standardized domain parameters (12 = P-256), when given.
        parameter_id: Option<u32>,
    },
    /// ChipAuthenticationInfo.
    ChipAuthentication {
        /// id-CA-… protocol.
        protocol: ObjectIdentifier,
        /// Version (1 or 2).
        version: u32,
        /// Key identifier, when the chip has several keys.
        key_id: Option<u32>,
    },
    /// ChipAuthenticationPublicKeyInfo.
    ChipAuthenticationPublicKey {
        /// id-PK-ECDH or id-PK-DH.
        protocol: ObjectIdentifier,
        /// SubjectPublicKeyInfo DER.
        public_key: Vec<u8>,
        /// Key identifier.
        key_id: Option<u32>,
    },
    /// ActiveAuthenticationInfo (in DG14 when AA uses ECDSA).
    ActiveAuthentication {
        /// Version (1).
        version: u32,
        /// Signature algorithm, e.g. ecdsa-plain-SHA256.
        signature_algorithm: ObjectIdentifier,
    },
    /// Anything else, kept as raw DER.
    Other {
        /// The protocol OID.
        protocol: ObjectIdentifier,
        /// The whole SecurityInfo DER.
        raw: Vec<u8>,
    },
}

/// A BER-TLV data object (ISO/IEC 7816-4) with a tag of one or more bytes: the wrappers of the data groups
/// (`6E`, `6F`, `77`) and the data objects of PACE and chip authentication commands (`7F49`, `7C`, `80`, ...).
/// The `der` crate writes only ASN.1 tags numbered below 31, so these few bytes are written here.
pub(crate) fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    let n = value.len();
    if n < 0x80 {
        out.push(n as u8);
    } else if n <= 0xFF {
        out.extend([0x81, n as u8]);
    } else if n <= 0xFFFF {
        out.push(0x82);
        out.extend((n as u16).to_be_bytes());
    } else {
        out.push(0x83);
        out.extend((n as u32).to_be_bytes().get(1..).unwrap_or_default());
    }
    out.extend_from_slice(value);
    out
}

/// Every SecurityInfo has this shape (ICAO 9303-11 §9.2): the protocol names what the data mean.
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
struct SecurityInfoDer {
    protocol: ObjectIdentifier,
    required_data: der::Any,
    #[asn1(optional = "true")]
    optional_data: Option<der::Any>,
}

fn malformed(_: der::Error) -> LdsError {
    LdsError::Tlv("malformed SecurityInfo")
}

fn any_of<T: der::Tagged + der::EncodeValue>(value: &T) -> Result<der::Any, LdsError> {
    der::Any::encode_from(value).map_err(malformed)
}

fn is_under(oid: &ObjectIdentifier, arc: &str) -> bool {
    let s = oid.to_string();
    s.strip_prefix(arc).is_some_and(|r| r.starts_with('.'))
}

impl SecurityInfo {
    /// Parses one SecurityInfo SEQUENCE.
    pub fn parse(t: &Tlv<'_>) -> Result<Self, LdsError> {
        if t.tag != 0x30 {
            return Err(LdsError::UnexpectedTag {
                expected: 0x30,
                found: t.tag,
            });
        }
        let info = SecurityInfoDer::from_der(t.raw).map_err(malformed)?;
        let protocol = info.protocol;
        let version = || info.required_data.decode_as::<u32>().map_err(malformed);
        let optional_uint = || {
            info.optional_data
                .as_ref()
                .map(|d| d.decode_as::<u32>())
                .transpose()
                .map_err(malformed)
        };
        // Domain-parameter infos share the PACE/CA arcs but carry no INTEGER version:
        // anything that does not fit the typed shape is kept as `Other`.
        let typed = if is_under(&protocol, ID_PACE) {
            version().and_then(|version| {
                Ok(SecurityInfo::Pace {
                    protocol,
                    version,
                    parameter_id: optional_uint()?,
                })
            })
        } else if is_under(&protocol, "0.4.0.127.0.7.2.2.3") {
            version().and_then(|version| {
                Ok(SecurityInfo::ChipAuthentication {
                    protocol,
                    version,
                    key_id: optional_uint()?,
                })
            })
        } else if is_under(&protocol, "0.4.0.127.0.7.2.2.1") {
            info.required_data
                .to_der()
                .map_err(malformed)
                .and_then(|public_key| {
                    Ok(SecurityInfo::ChipAuthenticationPublicKey {
                        protocol,
                        public_key,
                        key_id: optional_uint()?,
                    })
                })
        } else if protocol == ID_AA {
            version().and_then(|version| {
                let algorithm = info
                    .optional_data
                    .as_ref()
                    .ok_or(LdsError::Missing("AA signature algorithm"))?;
                Ok(SecurityInfo::ActiveAuthentication {
                    version,
                    signature_algorithm: algorithm.decode_as().map_err(malformed)?,
                })
            })
        } else {
            Err(LdsError::Tlv("another protocol"))
        };
        Ok(typed.unwrap_or_else(|_| SecurityInfo::Other {
            protocol,
            raw: t.raw.to_vec(),
        }))
    }

    /// DER encoding of this SecurityInfo.
    pub fn to_der(&self) -> Result<Vec<u8>, LdsError> {
        let info = match self {
            SecurityInfo::Pace {
                protocol,
                version,
                parameter_id: optional,
            }
            | SecurityInfo::ChipAuthentication {
                protocol,
                version,
                key_id: optional,
            } => SecurityInfoDer {
                protocol: *protocol,
                required_data: any_of(version)?,
                optional_data: optional.as_ref().map(any_of).transpose()?,
            },
            SecurityInfo::ChipAuthenticationPublicKey {
                protocol,
                public_key,
                key_id,
            } => SecurityInfoDer {
                protocol: *protocol,
                required_data: der::Any::from_der(public_key).map_err(malformed)?,
                optional_data: key_id.as_ref().map(any_of).transpose()?,
            },
            SecurityInfo::ActiveAuthentication {
                version,
                signature_algorithm,
            } => SecurityInfoDer {
                protocol: ID_AA,
                required_data: any_of(version)?,
                optional_data: Some(any_of(signature_algorithm)?),
            },
            SecurityInfo::Other { raw, .. } => return Ok(raw.clone()),
        };
        info.to_der().map_err(malformed)
    }
}

/// Parses a DER `SET OF SecurityInfo` (tag `31`), e.g. EF.CardAccess.
pub fn parse_security_infos(bytes: &[u8]) -> Result<Vec<SecurityInfo>, LdsError> {
    let set = expect_tlv(bytes, 0x31)?;
    parse_all(set.value)?.iter().map(SecurityInfo::parse).collect()
}

/// Encodes a `SET OF SecurityInfo` with the elements in DER (sorted) order.
pub fn build_security_infos(infos: &[SecurityInfo]) -> Result<Vec<u8>, LdsError> {
    let mut parts = infos
        .iter()
        .map(SecurityInfo::to_der)
        .collect::<Result<Vec<_>, _>>()?;
    parts.sort();
    Ok(tlv(&[0x31], &parts.concat()))
}

/// Parses DG14 (tag `6E` around a SET OF SecurityInfo).
pub fn parse_dg14(bytes: &[u8]) -> Result<Vec<SecurityInfo>, LdsError> {
    let dg = expect_tlv(bytes, 0x6E)?;
    parse_security_infos(dg.value)
}

/// Builds DG14.
pub fn build_dg14(infos: &[SecurityInfo]) -> Result<Vec<u8>, LdsError> {
    Ok(tlv(&[0x6E], &build_security_infos(infos)?))
}

/// Parses DG15 (tag `6F` around the active authentication SubjectPublicKeyInfo DER).
pub fn parse_dg15(bytes: &[u8]) -> Result<Vec<u8>, LdsError> {
    Ok(expect_tlv(bytes, 0x6F)?.value.to_vec())
}

/// Builds DG15 from a SubjectPublicKeyInfo DER.
pub fn build_dg15(spki_der: &[u8]) -> Vec<u8> {
    tlv(&[0x6F], spki_der)
}

// ----------------------------------------------------------------------------------------
// P-256 helpers.

/// Errors of EC point handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EcError {
    /// Not an uncompressed point on P-256, or the point at infinity.
    #[error("invalid P-256 point")]
    InvalidPoint,
}

/// A fresh random non-zero scalar.
pub fn random_scalar() -> NonZeroScalar {
    NonZeroScalar::random(&mut rand::rngs::OsRng)
}

/// Uncompressed SEC1 encoding (65 bytes).
pub fn encode_point(p: &AffinePoint) -> Vec<u8> {
    p.to_encoded_point(false).as_bytes().to_vec()
}

/// Decodes an uncompressed SEC1 point, rejecting the identity and off-curve points.
pub fn decode_point(bytes: &[u8]) -> Result<AffinePoint, EcError> {
    if bytes.first() != Some(&0x04) {
        return Err(EcError::InvalidPoint);
    }
    let ep = EncodedPoint::from_bytes(bytes).map_err(|_| EcError::InvalidPoint)?;
    Option::from(AffinePoint::from_encoded_point(&ep)).ok_or(EcError::InvalidPoint)
}

/// `k · P` as an affine point, refusing the identity.
pub fn mul(p: &AffinePoint, k: &Scalar) -> Result<AffinePoint, EcError> {
    let r = (ProjectivePoint::from(*p) * k).to_affine();
    if r.to_encoded_point(false).is_identity() {
        return Err(EcError::InvalidPoint);
    }
    Ok(r)
}

/// The x coordinate of `k · P` (ECDH shared secret).
pub fn ecdh_x(k: &Scalar, p: &AffinePoint) -> Result<Vec<u8>, EcError> {
    Ok(mul(p, k)?.x().to_vec())
}

/// `k · G`.
pub fn public_of(k: &Scalar) -> AffinePoint {
    (ProjectivePoint::GENERATOR * k).to_affine()
}

/// Generic mapping: `G' = s·G + H`, refusing the identity.
pub fn gm_map(s: &Scalar, h: &AffinePoint) -> Result<AffinePoint, EcError> {
    let g = (ProjectivePoint::GENERATOR * s + ProjectivePoint::from(*h)).to_affine();
    if g.to_encoded_point(false).is_identity() {
        return Err(EcError::InvalidPoint);
    }
    Ok(g)
}

/// A nonce (big-endian, at most 32 bytes) as a scalar modulo the group order.
pub fn scalar_from_bytes(bytes: &[u8]) -> Scalar {
    let mut fb = FieldBytes::default();
    let n = bytes.len().min(32);
    let tail = bytes.get(bytes.len() - n..).unwrap_or_default();
    if let Some(dst) = fb.get_mut(32 - n..) {
        dst.copy_from_slice(tail);
    }
    <Scalar as Reduce<U256>>::reduce_bytes(&fb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_infos_roundtrip() {
        let infos = vec![
            SecurityInfo::Pace {
                protocol: ID_PACE_ECDH_GM_AES_128,
                version: 2,
                parameter_id: Some(PARAM_ID_P256),
            },
            SecurityInfo::ChipAuthentication {
                protocol: ID_CA_ECDH_AES_128,
                version: 1,
                key_id: None,
            },
            SecurityInfo::ActiveAuthentication {
                version: 1,
                signature_algorithm: ECDSA_PLAIN_SHA256,
            },
        ];
        let der = build_security_infos(&infos).unwrap();
        let mut back = parse_security_infos(&der).unwrap();
        back.sort_by_key(|i| i.to_der().unwrap());
        let mut want = infos.clone();
        want.sort_by_key(|i| i.to_der().unwrap());
        assert_eq!(back, want);
        // INTEGERs in DER: 128 takes a leading zero, 0 one octet.
        let pace = SecurityInfo::Pace {
            protocol: ID_PACE_ECDH_GM_AES_128,
            version: 128,
            parameter_id: Some(0),
        };
        assert!(pace.to_der().unwrap().ends_with(&[2, 2, 0, 128, 2, 1, 0]));
    }
}
