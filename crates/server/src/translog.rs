//! Signed checkpoints of the transparency log, and the log key that signs them.
//!
//! A checkpoint is the tree size, root hash and time in a small text body (C2SP signed-note style), signed
//! with the log's ECDSA P-256 key (`DATA_DIR/secrets/log-key.pem`, 0600, created once). Auditors keep
//! checkpoints and later ask for consistency proofs, or run `banso log audit --from FILE`.

use crate::config::write_private;
use anyhow::{anyhow, bail, Context, Result};
use banso_core::merkle::Hash;
use banso_core::service::Service;
use banso_core::transparency::checkpoint_body;
use base64::Engine;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use serde::{Deserialize, Serialize};
use std::path::Path;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The key that signs checkpoints.
pub struct LogKey {
    signing: SigningKey,
    pub origin: String,
}

/// A signed checkpoint as served and as kept by auditors.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    /// Hex SHA-256 root of the first `tree_size` leaves.
    pub root_hash: String,
    pub timestamp: String,
    /// The signed text.
    pub body: String,
    /// Base64 DER ECDSA-SHA256 signature over `body`.
    pub signature: String,
    /// Base64 DER SubjectPublicKeyInfo of the log key.
    pub public_key: String,
}

impl LogKey {
    /// Loads the log key from the data folder, creating it on first use.
    pub fn open(data_dir: &Path, origin: String) -> Result<Self> {
        let dir = data_dir.join("secrets");
        let path = dir.join("log-key.pem");
        if !path.exists() {
            std::fs::create_dir_all(&dir)?;
            let key = SigningKey::random(&mut rand::rngs::OsRng);
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| anyhow!("log key: {e}"))?;
            let tmp = dir.join(format!(".log-key-{}", std::process::id()));
            write_private(&tmp, pem.as_bytes())?;
            // Never replaces an existing key: checkpoints already handed out must stay verifiable.
            if std::fs::hard_link(&tmp, &path).is_err() && !path.exists() {
                bail!("could not create {}", path.display());
            }
            let _ = std::fs::remove_file(&tmp);
        }
        let pem = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let signing = SigningKey::from_pkcs8_pem(&pem).map_err(|e| anyhow!("log key: {e}"))?;
        Ok(Self { signing, origin })
    }

    pub fn public_key_der(&self) -> Result<Vec<u8>> {
        Ok(VerifyingKey::from(&self.signing)
            .to_public_key_der()
            .map_err(|e| anyhow!("{e}"))?
            .into_vec())
    }

    /// Signs the current head of the log.
    pub async fn checkpoint(&self, service: &Service) -> Result<Checkpoint> {
        let (size, root) = service.log_head().await.map_err(|e| anyhow!("{e}"))?;
        let now = service.now();
        let body = checkpoint_body(&self.origin, size, &root, now);
        let signature: DerSignature = self.signing.sign(body.as_bytes());
        Ok(Checkpoint {
            origin: self.origin.clone(),
            tree_size: size,
            root_hash: hex::encode(root),
            timestamp: body.lines().nth(3).unwrap_or_default().to_string(),
            signature: B64.encode(signature.as_bytes()),
            public_key: B64.encode(self.public_key_der()?),
            body,
        })
    }

    /// Checks that `cp` was signed by this log's key and that its fields match its body; returns (size, root).
    pub fn verify(&self, cp: &Checkpoint) -> Result<(u64, Hash)> {
        if B64.decode(&cp.public_key).ok() != Some(self.public_key_der()?) {
            bail!("the checkpoint was signed by another log key");
        }
        let sig = DerSignature::from_bytes(&B64.decode(&cp.signature).context("signature is not base64")?)
            .map_err(|e| anyhow!("signature: {e}"))?;
        VerifyingKey::from(&self.signing)
            .verify(cp.body.as_bytes(), &sig)
            .map_err(|_| anyhow!("the checkpoint's signature does not verify"))?;
        let mut lines = cp.body.lines();
        let (origin, size, root_b64) = (lines.next(), lines.next(), lines.next());
        let root: Hash = B64
            .decode(root_b64.unwrap_or_default())
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| anyhow!("the checkpoint body has no root hash"))?;
        let size: u64 = size
            .unwrap_or_default()
            .parse()
            .context("the checkpoint body has no size")?;
        if origin != Some(cp.origin.as_str()) || size != cp.tree_size || hex::encode(root) != cp.root_hash {
            bail!("the checkpoint's fields do not match its signed body");
        }
        Ok((size, root))
    }
}
