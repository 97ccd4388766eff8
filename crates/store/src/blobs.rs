//! Objects (page files, signed PDFs) in a local folder or an S3-compatible bucket, through `object_store`.

use async_trait::async_trait;
use banso_core::ports::{Blobs, StoreError};
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
        .with_allow_http(s.allow_http)
        .with_virtual_hosted_style_request(false)
        .build()
        .map_err(err)?;
    Ok(ObjectBlobs {
        store: Arc::new(store),
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
}
