//! Objects (page files, signed PDFs) in a local folder or an S3-compatible bucket, through `object_store`.

use async_trait::async_trait;
use banso_core::ports::{Blobs, StoreError, StoredObject};
use futures::TryStreamExt;
use object_store::{path::Path as ObjectPath, ObjectStore, PutPayload};
use std::sync::Arc;

/// Connection settings of an S3-compatible store.
#[derive(Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// Any `object_store` backend as banso's [`Blobs`].
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
    /// The folder of a local store: listed directly, so the staging files of writes a crash cut short
    /// (`NAME#N`, which `object_store` hides) are found too.
    local_root: Option<std::path::PathBuf>,
}

fn err(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => StoreError::Other(format!("object store: {other}")),
    }
}

/// Objects under a local folder (created if missing).
pub fn local_blobs(dir: &std::path::Path) -> Result<ObjectBlobs, StoreError> {
    std::fs::create_dir_all(dir).map_err(|e| StoreError::Other(format!("{}: {e}", dir.display())))?;
    let store = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(err)?;
    Ok(ObjectBlobs {
        store: Arc::new(store),
        local_root: Some(dir.to_path_buf()),
    })
}

/// Objects in an S3-compatible bucket.
pub fn s3_blobs(s: &S3Settings) -> Result<ObjectBlobs, StoreError> {
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&s.endpoint)
        .with_bucket_name(&s.bucket)
        .with_region(&s.region)
        .with_access_key_id(&s.access_key_id)
        .with_secret_access_key(&s.secret_access_key)
        .with_virtual_hosted_style_request(false)
        // A store that is down fails the request within seconds (two retries, at most 10 s) instead of
        // holding it for the library's default three minutes; the caller answers 503 and cleans up.
        .with_retry(object_store::RetryConfig {
            backoff: object_store::BackoffConfig::default(),
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(10),
        })
        .with_client_options(
            object_store::ClientOptions::new()
                .with_connect_timeout(std::time::Duration::from_secs(3))
                .with_timeout(std::time::Duration::from_secs(60)),
        )
        // After the client options: allow_http is one of them, and setting the options replaces it.
        .with_allow_http(s.allow_http)
        .build()
        .map_err(err)?;
    Ok(ObjectBlobs {
        store: Arc::new(store),
        local_root: None,
    })
}

#[async_trait]
impl Blobs for ObjectBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(bytes))
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let got = self.store.get(&ObjectPath::from(key)).await.map_err(err)?;
        Ok(got.bytes().await.map_err(err)?.to_vec())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(err(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StoreError> {
        if let Some(root) = self.local_root.clone() {
            let prefix = prefix.to_string();
            return tokio::task::spawn_blocking(move || {
                let mut out = Vec::new();
                walk(&root, &root.join(prefix.trim_end_matches('/')), &mut out)
                    .map_err(|e| StoreError::Other(format!("listing {}: {e}", root.display())))?;
                Ok(out)
            })
            .await
            .map_err(|e| StoreError::Other(format!("listing task: {e}")))?;
        }
        let listed: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&ObjectPath::from(prefix.trim_end_matches('/'))))
            .try_collect()
            .await
            .map_err(err)?;
        Ok(listed
            .into_iter()
            .map(|m| StoredObject {
                key: m.location.to_string(),
                modified: time::OffsetDateTime::from_unix_timestamp(m.last_modified.timestamp())
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
                size: m.size,
                partial: false,
            })
            .collect())
    }

    async fn remove_listed(&self, object: &StoredObject) -> Result<(), StoreError> {
        match &self.local_root {
            Some(root) if object.partial => match std::fs::remove_file(root.join(&object.key)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StoreError::Other(format!("removing {}: {e}", object.key))),
            },
            _ => self.delete(&object.key).await,
        }
    }
}

/// Whether a local file name is an `object_store` staging file (`NAME#DIGITS`).
fn is_staging(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Every file under `dir` (recursively), with its key relative to `root`.
fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<StoredObject>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        let key = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"))
            .unwrap_or_default();
        let modified = meta
            .modified()
            .map(time::OffsetDateTime::from)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        out.push(StoredObject {
            partial: is_staging(&key),
            key,
            modified,
            size: meta.len(),
        });
    }
    Ok(())
}
