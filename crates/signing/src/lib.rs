//! Signing and verification of certified copies (PAdES over CMS), and the development PKI.
//!
//! Security boundary: this crate denies `unwrap`, `expect`, `panic` and slice indexing outside tests.
//!
//! INTERFACE CONTRACT (the server relies on these names and meanings):
//! - [`Signer`] is the seam every key sits behind (a software key here, a PKCS#11 key in banso-hsm). It signs a
//!   message (the DER of the CMS signed attributes) and gives its certificate chain.
//! - [`pades::sign_prepared`] fills the `/Contents` placeholder of a prepared PDF (from banso-render) with a
//!   detached CMS (PAdES baseline B-B: content-type, message-digest, signing-certificate-v2; no
//!   signing-time attribute) over the `/ByteRange`.
//! - [`verify::verify_pdf`] finds every signature in any PDF through the form of each revision (with
//!   [`incremental::PdfDoc`], the reader signing uses) and reports, separately: integrity (digest and
//!   signature value), chain trust (to the given trust anchors only), coverage (the signed revision is
//!   complete: ByteRange starts at 0 and its only gap is that dictionary's /Contents string), and modifications after
//!   signing (bytes after the end of the signed revision).
//! - [`pki::DevPki::generate`] makes root CA → issuing CA → organisation seal certificate (ECDSA P-256).
//!
//! Additions: [`SoftwareSigner::from_pkcs8_der`]; [`pki::DevPki::seal_signer`], `seal_chain_pem`,
//! `trust_store`, `root_cert_der`, `seal_cert_der`; [`verify::TrustStore::from_pem`] / `add_pem`;
//! [`verify::SignatureReport::is_valid`]; [`verify::reason`] (the stable reason strings);
//! [`pades::build_cms`]; [`pem`] (PEM decode/encode); [`cert`] (certificate view: subject, common name,
//! validity, keys).
//!
//! Trust services: [`pki::Hierarchy`] (root → issuing CA → seal, officers, TSA, OCSP responder, with CRL
//! and AIA pointers) and [`pki::issue_end_entity`] (certify a foreign public key, e.g. an HSM key);
//! [`certgen`] (certificate building behind the [`Signer`] seam); [`crl`] (build/parse/verify CRLs);
//! [`ocsp`] (parse requests, build/parse/verify responses); [`tsa`] (RFC 3161 authority, client,
//! token reader, and the [`tsa::TimestampSource`] seam); [`pades::sign_prepared_with`] (PAdES B-T).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod bounds;
pub mod cert;
pub mod certgen;
pub mod crl;
pub mod diff;
pub mod ess;
pub mod incremental;
pub mod ltv;
pub mod ocsp;
pub mod oid;
pub mod pades;
pub mod pem;
pub mod pki;
pub mod testkit;
pub mod tsa;
pub mod verify;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("key: {0}")]
    Key(String),
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("the signature does not fit the reserved space ({needed} > {available} bytes)")]
    PlaceholderTooSmall { needed: usize, available: usize },
    #[error("the prepared PDF is malformed: {0}")]
    Prepared(String),
    #[error("encoding: {0}")]
    Encoding(String),
    /// No timestamp authority answered; try again after `retry_after_secs`.
    #[error("no timestamp authority answered ({detail}); retry in {retry_after_secs} s")]
    TimestampsDown { retry_after_secs: u32, detail: String },
}

/// The signature algorithm a [`Signer`] produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    EcdsaP256Sha256,
    RsaPkcs1Sha256,
}

/// A key that signs, with its certificate chain (signer first, then issuers; the root may be omitted).
///
/// Security invariant: the private key never leaves the implementation; callers only get signatures.
pub trait Signer: Send + Sync {
    fn algorithm(&self) -> SignatureAlgorithm;
    /// DER certificates, signer's first.
    fn chain(&self) -> &[Vec<u8>];
    /// Signs `message` (hashing it as the algorithm says). ECDSA signatures are DER-encoded.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError>;
}

/// A software key held in memory (the development default): ECDSA P-256, or RSA (PKCS#1 v1.5, SHA-256).
pub struct SoftwareSigner {
    key: SoftwareKey,
    algorithm: SignatureAlgorithm,
    chain: Vec<Vec<u8>>,
}

enum SoftwareKey {
    /// The RustCrypto key identifies the public key; ring's signs (several times faster).
    P256(p256::ecdsa::SigningKey, Box<ring::signature::EcdsaKeyPair>),
    Rsa(Box<rsa::RsaPrivateKey>),
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("algorithm", &self.algorithm)
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// From a PKCS#8 PEM private key and PEM certificates (signer first).
    ///
    /// Accepts P-256 keys (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`) and RSA keys (PKCS#8 or
    /// `RSA PRIVATE KEY`). Fails unless the key is the one certified by the first certificate.
    pub fn from_pem(key_pem: &str, chain_pem: &str) -> Result<Self, SigningError> {
        let blocks = pem::decode_all(key_pem).map_err(SigningError::Key)?;
        let block = blocks
            .iter()
            .find(|b| b.label.ends_with("PRIVATE KEY"))
            .ok_or_else(|| SigningError::Key("no PRIVATE KEY block in the key PEM".into()))?;
        let key = Self::decode_key(&block.label, &block.der)?;
        let chain = pem::decode_certificates(chain_pem).map_err(SigningError::Certificate)?;
        Self::from_parts(key, chain)
    }

    /// From a DER PKCS#8 private key and DER certificates (signer first).
    pub fn from_pkcs8_der(key_der: &[u8], chain: Vec<Vec<u8>>) -> Result<Self, SigningError> {
        let key = Self::decode_key("PRIVATE KEY", key_der)?;
        Self::from_parts(key, chain)
    }

    fn decode_key(label: &str, der: &[u8]) -> Result<SoftwareKey, SigningError> {
        use pkcs8::DecodePrivateKey as _;
        match label {
            "PRIVATE KEY" => {
                if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_der(der) {
                    return Self::p256_key(k);
                }
                rsa::RsaPrivateKey::from_pkcs8_der(der)
                    .map(|k| SoftwareKey::Rsa(Box::new(k)))
                    .map_err(|e| SigningError::Key(format!("unsupported or invalid PKCS#8 key: {e}")))
            }
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(der)
                .map_err(|e| SigningError::Key(format!("invalid SEC1 P-256 key: {e}")))
                .and_then(|k| Self::p256_key(k.into())),
            "RSA PRIVATE KEY" => {
                use rsa::pkcs1::DecodeRsaPrivateKey as _;
                rsa::RsaPrivateKey::from_pkcs1_der(der)
                    .map(|k| SoftwareKey::Rsa(Box::new(k)))
                    .map_err(|e| SigningError::Key(format!("invalid PKCS#1 RSA key: {e}")))
            }
            other => Err(SigningError::Key(format!("unsupported key block {other}"))),
        }
    }

    fn p256_key(key: p256::ecdsa::SigningKey) -> Result<SoftwareKey, SigningError> {
        use pkcs8::EncodePrivateKey as _;
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| SigningError::Key(format!("P-256 key: {e}")))?;
        let ring_key = ring::signature::EcdsaKeyPair::from_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_bytes(),
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|e| SigningError::Key(format!("P-256 key: {e}")))?;
        Ok(SoftwareKey::P256(key, Box::new(ring_key)))
    }

    fn from_parts(key: SoftwareKey, chain: Vec<Vec<u8>>) -> Result<Self, SigningError> {
        let first = chain
            .first()
            .ok_or_else(|| SigningError::Certificate("the chain is empty".into()))?;
        for (i, der) in chain.iter().enumerate() {
            if cert::CertView::parse(der).is_none() {
                return Err(SigningError::Certificate(format!(
                    "certificate {i} of the chain does not parse"
                )));
            }
        }
        let view = cert::CertView::parse(first)
            .ok_or_else(|| SigningError::Certificate("the signer certificate does not parse".into()))?;
        let cert_key = view.public_key();
        let (matches, algorithm) = match (&key, cert_key) {
            (SoftwareKey::P256(k, _), Some(c)) => (
                c.p256().is_some_and(|c| &c == k.verifying_key()),
                SignatureAlgorithm::EcdsaP256Sha256,
            ),
            (SoftwareKey::Rsa(k), Some(c)) => (
                c.rsa().is_some_and(|c| c == k.to_public_key()),
                SignatureAlgorithm::RsaPkcs1Sha256,
            ),
            _ => (false, SignatureAlgorithm::EcdsaP256Sha256),
        };
        if !matches {
            return Err(SigningError::Key(
                "the private key does not match the signer certificate".into(),
            ));
        }
        Ok(Self {
            key,
            algorithm,
            chain,
        })
    }
}

impl Signer for SoftwareSigner {
    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SigningError> {
        match &self.key {
            SoftwareKey::P256(_, k) => k
                .sign(&ring::rand::SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|e| SigningError::Key(format!("ECDSA signing failed: {e}"))),
            SoftwareKey::Rsa(k) => {
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(message);
                k.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
                    .map_err(|e| SigningError::Key(format!("RSA signing failed: {e}")))
            }
        }
    }
}
