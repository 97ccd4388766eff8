//! Storage behind banso-core's ports: the registry in SQLite (embedded default) or PostgreSQL (at scale),
//! and objects on the local file system or in an S3-compatible store. Driver errors are mapped to
//! [`banso_core::ports::StoreError`] here so no driver type reaches the domain.

mod blobs;
mod postgres;
mod postgres_dossiers;
mod postgres_office;
mod postgres_sessions;
mod schema;
mod sqlite;
mod sqlite_dossiers;
mod sqlite_office;
mod sqlite_sessions;

pub use blobs::{local_blobs, s3_blobs, ObjectBlobs, S3Settings};
pub use postgres::{connection_is_encrypted, PgRegistry};
pub use sqlite::SqliteRegistry;

use banso_core::ports::{AdmitLog, DossierStore, OfficeStore, Registry, SessionStore, StoreError};
use std::sync::Arc;

/// The registry, the dossiers, the back office and the identity sessions, on one database.
#[derive(Clone)]
pub struct Stores {
    pub registry: Arc<dyn Registry>,
    pub dossiers: Arc<dyn DossierStore>,
    pub office: Arc<dyn OfficeStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// What the nodes let through their rate limits; none on SQLite (one node).
    pub admits: Option<Arc<dyn AdmitLog>>,
}

/// Whether a database URL names a server several nodes may share (PostgreSQL), not a file of one machine.
pub fn is_shared(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The file of a SQLite registry's URL (`sqlite:PATH`, `sqlite://PATH` or a bare path).
pub fn sqlite_path(url: &str) -> std::path::PathBuf {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
        .into()
}

/// Writes a consistent copy of the SQLite registry at `url` to the new file `out` while others use it
/// (`VACUUM INTO`: one read transaction, so the copy is of one instant; writers go on meanwhile).
pub fn sqlite_snapshot(url: &str, out: &std::path::Path) -> Result<(), StoreError> {
    let err = |e: rusqlite::Error| StoreError::Other(format!("sqlite snapshot: {e}"));
    let conn = rusqlite::Connection::open_with_flags(
        sqlite_path(url),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(err)?;
    let out = out
        .to_str()
        .ok_or_else(|| StoreError::Other("the snapshot's path is not UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [out]).map_err(err)?;
    Ok(())
}

/// Opens the registry and the dossiers named by a database URL (see [`open_registry_with`]).
pub async fn open_stores_with(url: &str, ca_file: Option<&std::path::Path>) -> Result<Stores, StoreError> {
    if is_shared(url) {
        let pg = Arc::new(PgRegistry::connect(url, ca_file).await?);
        Ok(Stores {
            registry: pg.clone(),
            dossiers: pg.clone(),
            office: pg.clone(),
            sessions: pg.clone(),
            admits: Some(pg),
        })
    } else {
        let sqlite = Arc::new(SqliteRegistry::open(&sqlite_path(url))?);
        Ok(Stores {
            registry: sqlite.clone(),
            dossiers: sqlite.clone(),
            office: sqlite.clone(),
            sessions: sqlite,
            admits: None,
        })
    }
}

/// Opens the registry named by a database URL: `sqlite:PATH` (or a bare path) or `postgres://…`.
pub async fn open_registry(url: &str) -> Result<Arc<dyn Registry>, StoreError> {
    open_registry_with(url, None).await
}

/// [`open_registry`], with the CA that signed a PostgreSQL server's TLS certificate (used when the URL says
/// `sslmode=require`).
pub async fn open_registry_with(
    url: &str,
    ca_file: Option<&std::path::Path>,
) -> Result<Arc<dyn Registry>, StoreError> {
    Ok(open_stores_with(url, ca_file).await?.registry)
}
