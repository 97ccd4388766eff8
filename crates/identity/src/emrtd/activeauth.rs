//! Active Authentication (ICAO 9303 Part 11 §6.1), terminal side.
//!
//! INTERNAL AUTHENTICATE (`00 88 00 00 08 ‖ nonce`) with an 8-byte nonce chosen by the
//! *server* (so a kiosk cannot replay an old answer), and verification of the chip's
//! signature against the DG15 public key. Supported: ECDSA over P-256 with SHA-256 and a
//! plain `r ‖ s` signature (ecdsa-plain-SHA256, BSI TR-03111); a DER-encoded ECDSA
//! signature is also accepted. Not supported: RSA keys with ISO/IEC 9796-2 signatures
//! (reported as unsupported, never as passed), P-384 and brainpool keys.

use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use signature::Verifier;

use super::card::{transceive, ApduError, Card};
use super::sm::{Apdu, SecureChannel};

/// Active authentication failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AaError {
    /// The exchange failed.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// The card answered with an error status.
    #[error("INTERNAL AUTHENTICATE failed with status {0:04X}")]
    Status(u16),
    /// The DG15 key type is not supported.
    #[error("unsupported active authentication key: {0}")]
    Unsupported(String),
    /// The signature does not verify.
    #[error("active authentication signature does not verify against DG15")]
    BadSignature,
}

/// The INTERNAL AUTHENTICATE command for `nonce`.
pub fn internal_authenticate_apdu(nonce: &[u8; 8]) -> Apdu {
    Apdu {
        data: nonce.to_vec(),
        le: Some(256),
        ..Apdu::new(0x00, 0x88, 0x00, 0x00)
    }
}

/// Sends INTERNAL AUTHENTICATE and returns the chip's signature.
pub fn internal_authenticate(
    card: &mut dyn Card,
    sm: Option<&mut SecureChannel>,
    nonce: &[u8; 8],
) -> Result<Vec<u8>, AaError> {
    let r = transceive(card, sm, &internal_authenticate_apdu(nonce))?;
    if !r.is_ok() {
        return Err(AaError::Status(r.sw));
    }
    Ok(r.data)
}

/// Verifies an active authentication signature over `nonce` with the SubjectPublicKeyInfo
/// stored in DG15.
pub fn verify_active_authentication(
    dg15_spki: &[u8],
    nonce: &[u8; 8],
    signature: &[u8],
) -> Result<(), AaError> {
    let vk = VerifyingKey::from_public_key_der(dg15_spki).map_err(|_| {
        AaError::Unsupported(
            "DG15 key is not a named-curve P-256 key (RSA ISO 9796-2 is not implemented)".into(),
        )
    })?;
    let sig = if signature.len() == 64 {
        Signature::from_slice(signature)
    } else {
        Signature::from_der(signature)
    }
    .map_err(|_| AaError::BadSignature)?;
    vk.verify(nonce, &sig).map_err(|_| AaError::BadSignature)
}
