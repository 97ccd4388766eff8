//! The [`Signer`] over a token key, and the rcgen traits for token keys.
use crate::token::{KeyKind, TokenKey};
use crate::{HsmError, KeyRef, Pin, Token};
use banso_signing::{SignatureAlgorithm, Signer, SigningError};
use std::path::Path;

/// A [`Signer`] whose private key lives in a PKCS#11 token. Clones share the token's session pool.
#[derive(Clone)]
pub struct Pkcs11Signer {
    key: TokenKey,
    chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("key", &self.key)
            .field("chain_len", &self.chain.len())
            .finish()
    }
}

impl Pkcs11Signer {
    /// Opens `module`, logs in to the token labelled `token_label` with `pin`, and finds the private
    /// key labelled `key_label`. `chain_der` is the certificate chain, signer first; its first
    /// certificate must certify the token key.
    pub fn new(
        module: impl AsRef<Path>,
        token_label: &str,
        pin: Pin,
        key_label: &str,
        chain_der: Vec<Vec<u8>>,
    ) -> Result<Self, HsmError> {
        let token = Token::open(module, token_label, &pin)?;
        let key = token.find_key(&KeyRef::Label(key_label.to_string()))?;
        Self::from_key(key, chain_der)
    }

    /// A signer over a key already found. The first certificate of `chain_der` must hold the key's
    /// public key.
    pub fn from_key(key: TokenKey, chain_der: Vec<Vec<u8>>) -> Result<Self, HsmError> {
        use x509_cert::der::{Decode as _, Encode as _};
        let first = chain_der
            .first()
            .ok_or_else(|| HsmError::Certificate("the chain is empty".into()))?;
        for (i, der) in chain_der.iter().enumerate() {
            x509_cert::Certificate::from_der(der).map_err(|e| {
                HsmError::Certificate(format!("certificate {i} of the chain does not parse: {e}"))
            })?;
        }
        let cert = x509_cert::Certificate::from_der(first)
            .map_err(|e| HsmError::Certificate(format!("the signer certificate: {e}")))?;
        let cert_spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| HsmError::Certificate(format!("the signer certificate key: {e}")))?;
        if !spki_equal(&cert_spki, key.spki_der()) {
            return Err(HsmError::Certificate(format!(
                "the signer certificate does not certify token key {:?}",
                key.label()
            )));
        }
        Ok(Self {
            key,
            chain: chain_der,
        })
    }

    pub fn key(&self) -> &TokenKey {
        &self.key
    }
}

/// Compares two SubjectPublicKeyInfo encodings. For EC keys the algorithm parameters are the named
/// curve in both; for RSA the NULL parameters may be present or absent, so RSA keys compare by key.
fn spki_equal(a: &[u8], b: &[u8]) -> bool {
    use x509_cert::der::Decode as _;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    match (
        SubjectPublicKeyInfoOwned::from_der(a),
        SubjectPublicKeyInfoOwned::from_der(b),
    ) {
        (Ok(a), Ok(b)) => {
            a.algorithm.oid == b.algorithm.oid
                && a.subject_public_key.raw_bytes() == b.subject_public_key.raw_bytes()
                && (a.algorithm.oid == banso_signing::oid::RSA_ENCRYPTION
                    || a.algorithm.parameters == b.algorithm.parameters)
        }
        _ => false,
    }
}

impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.key.algorithm()
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.key.sign(message).map_err(SigningError::from)
    }
}

impl TokenKey {
    fn rcgen_algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self.kind() {
            KeyKind::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// An rcgen key pair that signs inside the token: a CA whose key is in the HSM issues
    /// certificates with it (`CertificateParams::self_signed` / `signed_by`).
    pub fn rcgen_key_pair(&self) -> Result<rcgen::KeyPair, HsmError> {
        rcgen::KeyPair::from_remote(Box::new(self.clone()))
            .map_err(|e| HsmError::Certificate(format!("rcgen: {e}")))
    }
}

/// The public key, the way rcgen wants it when a certificate is issued for a token key
/// (`CertificateParams::signed_by(&token_key, ...)`).
impl rcgen::PublicKeyData for TokenKey {
    fn der_bytes(&self) -> &[u8] {
        self.public_raw()
    }

    fn algorithm(&self) -> &rcgen::SignatureAlgorithm {
        self.rcgen_algorithm()
    }
}

impl rcgen::RemoteKeyPair for TokenKey {
    fn public_key(&self) -> &[u8] {
        self.public_raw()
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        // rcgen's error carries no detail; the HSM error is not lost for callers of TokenKey::sign.
        TokenKey::sign(self, msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.rcgen_algorithm()
    }
}
