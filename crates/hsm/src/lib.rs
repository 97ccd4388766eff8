//! PKCS#11 keys (an HSM, or SoftHSM2 in development) behind banso-signing's [`Signer`] seam.
//!
//! A separate crate because PKCS#11 modules are native libraries loaded at run time: only the
//! binaries that talk to an HSM link this crate.
//!
//! - [`Token::open`] loads a module (once per process), finds an initialized token by label and
//!   logs in as the user with a [`Pin`] (read with [`Pin::from_file`] for `--pin-file`).
//! - [`Token::find_key`] finds a private key by label or id ([`KeyRef`]); [`TokenKey::sign`] signs
//!   with it: RSA with CKM_SHA256_RSA_PKCS; P-256 with a software SHA-256 and CKM_ECDSA on the
//!   digest, the raw `r || s` re-encoded as a DER ECDSA-Sig-Value.
//! - [`Token::generate_ec_p256`] / [`Token::generate_rsa`] create key pairs inside the token
//!   (private key sensitive and not extractable) and return the public key as SubjectPublicKeyInfo
//!   DER, so a certificate can be issued for it.
//! - [`Pkcs11Signer`] is a [`Signer`] over a token key and its certificate chain.
//! - [`TokenKey`] also implements [`rcgen::RemoteKeyPair`] (a CA key inside the token signs
//!   certificates) and [`rcgen::PublicKeyData`] (a certificate is issued for a token key).
//!
//! Concurrency: a PKCS#11 session runs one operation at a time, so a [`Token`] keeps a pool of
//! logged-in sessions (opened on demand, up to a maximum); a signing thread borrows one.
//!
//! Security: the PIN is never logged (`Debug` redacts it) and is zeroed when dropped; private keys
//! never leave the token.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod der;
mod signer;
#[cfg(feature = "testkit")]
pub mod testkit;
mod token;

pub use banso_signing::{SignatureAlgorithm, Signer, SigningError};
pub use signer::Pkcs11Signer;
pub use token::{KeyKind, Token, TokenKey, DEFAULT_MAX_SESSIONS};

use std::path::{Path, PathBuf};

/// Errors of this crate. None of them carries the PIN.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("cannot load the PKCS#11 module {path}: {reason}")]
    Module { path: PathBuf, reason: String },
    #[error("no initialized token labelled {label:?} (tokens present: {available:?})")]
    TokenNotFound { label: String, available: Vec<String> },
    #[error("more than one token is labelled {0:?}")]
    TokenAmbiguous(String),
    #[error("the PIN for token {token:?} is incorrect")]
    PinIncorrect { token: String },
    #[error("the PIN for token {token:?} is locked")]
    PinLocked { token: String },
    #[error("PIN file {path}: {reason}")]
    PinFile { path: PathBuf, reason: String },
    #[error("no private key with {key} on token {token:?}")]
    KeyNotFound { token: String, key: String },
    #[error("more than one private key with {key} on token {token:?}")]
    KeyAmbiguous { token: String, key: String },
    #[error("a key labelled {label:?} already exists on token {token:?}")]
    KeyExists { token: String, label: String },
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("PKCS#11 {op} failed: {source}")]
    Pkcs11 {
        op: &'static str,
        #[source]
        source: cryptoki::error::Error,
    },
    #[error("encoding: {0}")]
    Encoding(String),
}

impl HsmError {
    pub(crate) fn pkcs11(op: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Self {
        move |source| HsmError::Pkcs11 { op, source }
    }

    /// Whether the session the error came from can no longer be used (it is then discarded).
    pub(crate) fn breaks_session(&self) -> bool {
        use cryptoki::error::{Error, RvError};
        matches!(
            self,
            HsmError::Pkcs11 {
                source: Error::Pkcs11(
                    RvError::SessionHandleInvalid
                        | RvError::SessionClosed
                        | RvError::DeviceRemoved
                        | RvError::DeviceError
                        | RvError::TokenNotPresent
                        | RvError::UserNotLoggedIn,
                    _
                ),
                ..
            }
        )
    }
}

impl From<HsmError> for SigningError {
    fn from(e: HsmError) -> Self {
        SigningError::Key(format!("HSM: {e}"))
    }
}

/// A token user PIN. `Debug` never shows it; the memory is zeroed on drop.
#[derive(Clone)]
pub struct Pin(cryptoki::types::AuthPin);

impl Pin {
    pub fn new(pin: impl Into<String>) -> Self {
        Pin(cryptoki::types::AuthPin::from(pin.into()))
    }

    /// Reads the PIN from a file (`--pin-file`): the whole content minus trailing newlines (`\n`,
    /// `\r\n`). An empty PIN is refused. Errors never quote the content.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, HsmError> {
        let path = path.as_ref();
        let fail = |reason: String| HsmError::PinFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let pin = Pin::from_bytes(bytes).ok_or_else(|| fail("not UTF-8".into()))?;
        if pin.expose().is_empty() {
            return Err(fail("the PIN is empty".into()));
        }
        Ok(pin)
    }

    fn from_bytes(mut bytes: Vec<u8>) -> Option<Self> {
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
        let text = String::from_utf8(bytes).ok()?;
        Some(Pin::new(text))
    }

    pub(crate) fn auth(&self) -> &cryptoki::types::AuthPin {
        &self.0
    }

    fn expose(&self) -> &str {
        use secrecy::ExposeSecret as _;
        self.0.expose_secret()
    }

    /// A digest that tells whether two PINs are equal without keeping a second copy of either.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let mut hasher = sha2::Sha256::new();
        hasher.update(b"banso-hsm pin fingerprint\0");
        hasher.update(self.expose().as_bytes());
        hasher.finalize().into()
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// How a private key is found on a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// CKA_LABEL.
    Label(String),
    /// CKA_ID.
    Id(Vec<u8>),
}

impl std::fmt::Display for KeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRef::Label(label) => write!(f, "label {label:?}"),
            KeyRef::Id(id) => {
                f.write_str("id ")?;
                id.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_file_trims_newlines_and_debug_redacts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "98765\r\n").unwrap();
        let pin = Pin::from_file(&path).unwrap();
        assert_eq!(pin.expose(), "98765");
        assert!(!format!("{pin:?}").contains("98765"));
        std::fs::write(&path, "\n").unwrap();
        let err = Pin::from_file(&path).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = Pin::from_file(dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, HsmError::PinFile { .. }));
        assert_eq!(Pin::new("a").fingerprint(), Pin::new("a").fingerprint());
        assert_ne!(Pin::new("a").fingerprint(), Pin::new("b").fingerprint());
    }

    #[test]
    fn key_ref_display() {
        assert_eq!(KeyRef::Id(vec![0x0a, 0xff]).to_string(), "id 0aff");
        assert_eq!(KeyRef::Label("seal".into()).to_string(), "label \"seal\"");
    }
}
