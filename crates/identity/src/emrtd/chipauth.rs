//! Chip Authentication version 1 with ECDH (ICAO 9303 Part 11 §6.2), terminal side.
//!
//! The chip's static key comes from DG14 (ChipAuthenticationPublicKeyInfo). The terminal
//! sends an ephemeral P-256 public key — with MSE:Set KAT (`00 22 41 A6`, DO'91') for the
//! 3DES protocol, or with MSE:Set AT (`00 22 41 A4`) + GENERAL AUTHENTICATE (`7C{80 PK}`)
//! for AES — under the current secure messaging; both sides then restart secure messaging
//! with keys derived from the ECDH x coordinate and SSC = 0. A cloned chip without the
//! private key cannot answer the next protected command: that is the anti-cloning proof,
//! and it only counts if the DG14 key is covered by passive authentication.

use const_oid::ObjectIdentifier;
use p256::pkcs8::DecodePublicKey;
use p256::AffinePoint;

use super::card::{transceive, ApduError, Card};
use super::crypto::Cipher;
use super::pace::{new_channel, session_keys};
use super::secinfo::{
    cipher_of, ecdh_x, encode_point, public_of, random_scalar, tlv, EcError, SecurityInfo, ID_CA_ECDH_3DES,
    ID_PK_ECDH,
};
use super::sm::{Apdu, SecureChannel, SmError};

/// Chip authentication failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaError {
    /// DG14 has no usable chip authentication key.
    #[error("chip authentication not possible: {0}")]
    Unsupported(String),
    /// The exchange failed (including MAC failures after the key change).
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// The card answered with an error status.
    #[error("chip authentication command failed with status {0:04X}")]
    Status(u16),
    /// Point handling failed.
    #[error(transparent)]
    Ec(#[from] EcError),
    /// The new channel could not be built.
    #[error(transparent)]
    Sm(#[from] SmError),
}

/// The chip authentication key and protocol chosen from DG14.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaParams {
    /// id-CA-ECDH-… protocol.
    pub protocol: ObjectIdentifier,
    /// Cipher of the restarted channel.
    pub cipher: Cipher,
    /// Key identifier, when DG14 gives one.
    pub key_id: Option<u32>,
    /// The chip's static P-256 public key.
    pub public_key: AffinePoint,
}

/// Chooses an ECDH P-256 chip authentication key from DG14's SecurityInfos. Without a
/// ChipAuthenticationInfo, CA version 1 with 3DES is implied (Part 11 §9.2.5).
pub fn choose_ca(infos: &[SecurityInfo]) -> Result<CaParams, CaError> {
    let mut why = Vec::new();
    for info in infos {
        let SecurityInfo::ChipAuthenticationPublicKey {
            protocol,
            public_key,
            key_id,
        } = info
        else {
            continue;
        };
        if *protocol != ID_PK_ECDH {
            why.push(format!("key protocol {protocol} is not ECDH"));
            continue;
        }
        let pk = match p256::PublicKey::from_public_key_der(public_key) {
            Ok(pk) => pk,
            Err(e) => {
                why.push(format!("key is not a named-curve P-256 key ({e})"));
                continue;
            }
        };
        let ca_info = infos.iter().find_map(|i| match i {
            SecurityInfo::ChipAuthentication {
                protocol, key_id: k, ..
            } if k.is_none() || key_id.is_none() || k == key_id => Some(*protocol),
            _ => None,
        });
        let protocol = ca_info.unwrap_or(ID_CA_ECDH_3DES);
        let Some(cipher) = cipher_of(&protocol) else {
            why.push(format!("unsupported CA protocol {protocol}"));
            continue;
        };
        return Ok(CaParams {
            protocol,
            cipher,
            key_id: *key_id,
            public_key: *pk.as_affine(),
        });
    }
    Err(CaError::Unsupported(if why.is_empty() {
        "DG14 has no ChipAuthenticationPublicKeyInfo".into()
    } else {
        why.join("; ")
    }))
}

fn key_id_tlv(key_id: Option<u32>) -> Vec<u8> {
    key_id
        .map(|k| {
            let b = k.to_be_bytes();
            let start = b.iter().position(|&x| x != 0).unwrap_or(3);
            tlv(&[0x84], b.get(start..).unwrap_or(&[0]))
        })
        .unwrap_or_default()
}

/// Runs chip authentication over the established channel `sm`, which is replaced by the
/// new channel on success.
pub fn run_chip_authentication(
    card: &mut dyn Card,
    sm: &mut SecureChannel,
    params: &CaParams,
) -> Result<(), CaError> {
    let sk = random_scalar();
    let pk = encode_point(&public_of(&sk));
    let check = |r: super::sm::Response| {
        if r.is_ok() {
            Ok(())
        } else {
            Err(CaError::Status(r.sw))
        }
    };
    if params.cipher == Cipher::ThreeDes {
        let cmd = Apdu {
            data: [tlv(&[0x91], &pk), key_id_tlv(params.key_id)].concat(),
            ..Apdu::new(0x00, 0x22, 0x41, 0xA6)
        };
        check(transceive(card, Some(sm), &cmd)?)?;
    } else {
        let cmd = Apdu {
            data: [
                tlv(&[0x80], params.protocol.as_bytes()),
                key_id_tlv(params.key_id),
            ]
            .concat(),
            ..Apdu::new(0x00, 0x22, 0x41, 0xA4)
        };
        check(transceive(card, Some(sm), &cmd)?)?;
        let ga = Apdu {
            data: tlv(&[0x7C], &tlv(&[0x80], &pk)),
            le: Some(256),
            ..Apdu::new(0x00, 0x86, 0x00, 0x00)
        };
        check(transceive(card, Some(sm), &ga)?)?;
    }
    let shared = ecdh_x(&sk, &params.public_key)?;
    let (enc, mac) = session_keys(params.cipher, &shared);
    *sm = new_channel(params.cipher, enc, mac)?;
    Ok(())
}
