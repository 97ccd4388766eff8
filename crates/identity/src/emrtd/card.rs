//! The transport between the terminal logic and a chip: one APDU in, one response out.
//!
//! Implemented by [`super::vcard::VirtualCard`] (an in-process card for tests and for the
//! vpcd bridge) and by real PC/SC readers.

/// Transport failures (the card never answered, or the reader is gone). Status words
/// other than 9000 are *not* transport errors: they come back in the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// No card in the reader, or it was removed.
    #[error("no card present")]
    NoCard,
    /// The reader or the transport failed.
    #[error("transport failure: {0}")]
    Transport(String),
    /// The command could not be encoded or was rejected before reaching the card.
    #[error("invalid command: {0}")]
    InvalidCommand(String),
}

/// A contactless (or contact) chip reachable through APDUs.
pub trait Card {
    /// Sends one command APDU and returns the response data followed by SW1 SW2.
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError>;
}

impl<C: Card + ?Sized> Card for &mut C {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}

impl<C: Card + ?Sized> Card for Box<C> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        (**self).transmit(apdu)
    }
}

use super::sm::{Apdu, Response, SecureChannel, SmError};

/// Failure to exchange one APDU: transport or secure messaging.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    /// The transport failed.
    #[error(transparent)]
    Card(#[from] CardError),
    /// Encoding, or secure messaging protection/verification failed.
    #[error(transparent)]
    Sm(#[from] SmError),
}

/// Sends `cmd`, protected by `sm` when given, and returns the (unprotected) response.
pub fn transceive(
    card: &mut dyn Card,
    sm: Option<&mut SecureChannel>,
    cmd: &Apdu,
) -> Result<Response, ApduError> {
    match sm {
        None => {
            let raw = card.transmit(&cmd.to_bytes()?)?;
            Ok(Response::from_bytes(&raw)?)
        }
        Some(ch) => {
            let protected = ch.protect(cmd)?.to_bytes()?;
            let raw = card.transmit(&protected)?;
            Ok(ch.unprotect(&raw)?)
        }
    }
}
