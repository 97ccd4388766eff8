//! The registry in PostgreSQL, for deployments that carry a city's or a country's volume.
//!
//! A number is reserved in a short transaction of its own (the `book_sequences` row is locked only while the
//! next number is taken and its pending line written), so concurrent issuances in one book compose and sign
//! side by side; each then commits its records with the line marked used, or voids the line.

use crate::schema;
use crate::schema::{copy_col, intake_col, token_col};
use crate::schema::{
    create_statements, leaf_hash_hex, not_valid, parse_hash, CHANGE_STATUS, COPY_COLUMNS, INSERT_COPY,
    INSERT_LEAF, NEXT_LOG_INDEX, NEXT_SEQUENCE, SELECT_AUDIT_ROWS, SELECT_LEAVES,
};
use async_trait::async_trait;
use banso_core::model::{CopyRecord, CopyStatus, IntakeRow, Role, TokenRecord};
use banso_core::ports::{
    AuditRow, BookLine, CaRevocation, LogEntry, LogRecord, NumberReservation, PageFingerprint, PaymentRow,
    PreviousPage, Registry, StoreError,
};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use time::OffsetDateTime;
use tokio_postgres::{NoTls, Row};

pub struct PgRegistry {
    pub(crate) pool: Pool,
}

pub(crate) fn err(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION => {
            StoreError::Conflict(db.message().to_string())
        }
        // The server's own words (kept for the log; the API answers SYS-0001 without them).
        Some(db) => StoreError::Other(format!("postgres: {} ({})", db.message(), db.code().code())),
        None => StoreError::Other(format!("postgres: {e}")),
    }
}

pub(crate) fn pool_err(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Other(format!("postgres pool: {e}"))
}

fn copy_from_row(row: &Row) -> Result<CopyRecord, StoreError> {
    let g = |e: tokio_postgres::Error| StoreError::Other(format!("postgres row: {e}"));
    let status: String = row.try_get(copy_col::STATUS).map_err(g)?;
    let keys: String = row.try_get(copy_col::ORIGINAL_KEYS).map_err(g)?;
    Ok(CopyRecord {
        code: row.try_get(copy_col::CODE).map_err(g)?,
        request_id: row.try_get(copy_col::REQUEST_ID).map_err(g)?,
        copy_index: row.try_get::<_, i32>(copy_col::COPY_INDEX).map_err(g)? as u32,
        request_key: row.try_get(copy_col::REQUEST_KEY).map_err(g)?,
        sequence: row.try_get::<_, i32>(copy_col::SEQUENCE).map_err(g)? as u32,
        book: row.try_get::<_, i32>(copy_col::BOOK).map_err(g)? as u32,
        year: row.try_get(copy_col::YEAR).map_err(g)?,
        suffix: row.try_get(copy_col::SUFFIX).map_err(g)?,
        holder_id: row.try_get(copy_col::HOLDER_ID).map_err(g)?,
        holder_name: row.try_get(copy_col::HOLDER_NAME).map_err(g)?,
        document_type: row.try_get(copy_col::DOCUMENT_TYPE).map_err(g)?,
        original_pages: row.try_get::<_, i32>(copy_col::ORIGINAL_PAGES).map_err(g)? as u32,
        pdf_pages: row.try_get::<_, i32>(copy_col::PDF_PAGES).map_err(g)? as u32,
        sha256: row.try_get(copy_col::SHA256).map_err(g)?,
        fee_vnd: row.try_get::<_, i64>(copy_col::FEE_VND).map_err(g)? as u64,
        issuing_body: row.try_get(copy_col::ISSUING_BODY).map_err(g)?,
        signer: row.try_get(copy_col::SIGNER).map_err(g)?,
        status: CopyStatus::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown status {status}")))?,
        status_reason: row.try_get(copy_col::STATUS_REASON).map_err(g)?,
        decision_number: row.try_get(copy_col::DECISION_NUMBER).map_err(g)?,
        pdf_key: row.try_get(copy_col::PDF_KEY).map_err(g)?,
        original_keys: serde_json::from_str(&keys).unwrap_or_default(),
        issued_at: row.try_get(copy_col::ISSUED_AT).map_err(g)?,
        updated_at: row.try_get(copy_col::UPDATED_AT).map_err(g)?,
        request_digest: row.try_get(copy_col::REQUEST_DIGEST).map_err(g)?,
    })
}

fn token_from_row(row: &Row) -> Result<TokenRecord, StoreError> {
    let role: String = row.try_get(token_col::ROLE).map_err(err)?;
    Ok(TokenRecord {
        id: row.try_get(token_col::ID).map_err(err)?,
        name: row.try_get(token_col::NAME).map_err(err)?,
        role: Role::parse(&role).unwrap_or(Role::Kiosk),
        token_hash: row.try_get(token_col::TOKEN_HASH).map_err(err)?,
        created_at: row.try_get(token_col::CREATED_AT).map_err(err)?,
        revoked: row.try_get(token_col::REVOKED).map_err(err)?,
        expires_at: row.try_get(token_col::EXPIRES_AT).map_err(err)?,
        last_used_at: row.try_get(token_col::LAST_USED_AT).map_err(err)?,
        revoked_at: row.try_get(token_col::REVOKED_AT).map_err(err)?,
    })
}

impl PgRegistry {
    /// Connects and creates the schema if needed. The connection is TLS when the URL asks for it
    /// (`sslmode=require`) or a CA is given, the server's certificate checked against `ca_file` (PEM) or else
    /// the system's roots; otherwise it is plain, for a database on the same host or a private network.
    pub async fn connect(url: &str, ca_file: Option<&std::path::Path>) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Other(format!("database URL: {e}")))?;
        // A CA was configured: TLS it is, never a silent fall-back to plain text.
        if ca_file.is_some() {
            config.ssl_mode(tokio_postgres::config::SslMode::Require);
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            Manager::from_config(config, tls(ca_file)?, manager_config)
        } else {
            Manager::from_config(config, NoTls, manager_config)
        };
        // A database that is down or restarting fails a request within seconds (no connection made or handed
        // over in time); the pool makes new connections once it is back, without a restart.
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(5)))
            .recycle_timeout(Some(std::time::Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let client = pool.get().await.map_err(pool_err)?;
        // Nodes starting together on an empty database set it up one at a time: concurrent `CREATE … IF NOT
        // EXISTS` can still collide in PostgreSQL's catalogue. The lock is the session's; on failure the
        // connection is closed, which rolls the migration back and releases it.
        client
            .batch_execute(&format!("SELECT pg_advisory_lock({SETUP_LOCK})"))
            .await
            .map_err(err)?;
        let setup = async {
            for stmt in create_statements("TIMESTAMPTZ", "BIGSERIAL PRIMARY KEY")
                .into_iter()
                .chain(schema::dossier_statements("BIGSERIAL PRIMARY KEY"))
                .chain(schema::office_statements("BIGINT PRIMARY KEY"))
                .chain(schema::session_statements())
                .chain([schema::RATE_ADMITS_TABLE.to_string()])
            {
                client.batch_execute(&stmt).await?;
            }
            for (table, column, kind) in schema::ADDED_COLUMNS {
                let kind = kind.replace("TIMESTAMP", "TIMESTAMPTZ");
                client
                    .batch_execute(&format!(
                        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}"
                    ))
                    .await?;
            }
            migrate(&client).await?;
            client
                .batch_execute(&format!("SELECT pg_advisory_unlock({SETUP_LOCK})"))
                .await
        }
        .await;
        if let Err(e) = setup {
            drop(Object::take(client));
            return Err(err(e));
        }
        drop(client);
        Ok(Self { pool })
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(pool_err)
    }

    async fn query_copies(&self, sql: &str, param: &str) -> Result<Vec<CopyRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(err)?;
        client
            .query(&stmt, &[&param])
            .await
            .map_err(err)?
            .iter()
            .map(copy_from_row)
            .collect()
    }
}

/// The rustls connector: the roots of `ca_file` (PEM certificates) or the system's.
fn tls(ca_file: Option<&std::path::Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let bad = |m: String| StoreError::Other(format!("database TLS: {m}"));
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            for cert in certs {
                roots
                    .add(cert.map_err(|e| bad(format!("{}: {e}", path.display())))?)
                    .map_err(|e| bad(format!("{}: {e}", path.display())))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(bad(
            "no trusted root certificate to check the server's against".into()
        ));
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Whether this connection to the server is encrypted (for operators and tests).
pub async fn connection_is_encrypted(registry: &PgRegistry) -> Result<bool, StoreError> {
    let client = registry.client().await?;
    let row = client
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .map_err(err)?;
    row.try_get(0).map_err(err)
}

/// The advisory lock under which a node creates and migrates the schema (any number, the same on every node).
const SETUP_LOCK: i64 = 0x0062_616e_736f;

/// Brings a registry written by an earlier version to [`schema::SCHEMA_VERSION`], in one transaction that holds
/// the version row, so servers starting together migrate once.
async fn migrate(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client.batch_execute("BEGIN").await?;
    let version: i32 = client
        .query_one(&format!("{} FOR UPDATE", schema::SELECT_SCHEMA_VERSION), &[])
        .await?
        .try_get(0)?;
    if i64::from(version) < 2 {
        for row in client.query(schema::ISSUED_INTAKE_REPORTS, &[]).await? {
            let id: String = row.try_get(0)?;
            let codes: String = row.try_get(1)?;
            let report: String = row.try_get(2)?;
            for fp in schema::fingerprints_in_report(&report) {
                client
                    .execute(
                        schema::INSERT_FINGERPRINT,
                        &[&id, &(fp.page as i32), &codes, &fp.dhash, &fp.content],
                    )
                    .await?;
            }
        }
    }
    if i64::from(version) < 3 {
        client.execute(schema::BOOK_LINES_FROM_COPIES, &[]).await?;
    }
    if i64::from(version) < schema::SCHEMA_VERSION {
        client
            .execute(schema::SET_SCHEMA_VERSION, &[&(schema::SCHEMA_VERSION as i32)])
            .await?;
    }
    client.batch_execute("COMMIT").await
}

/// Appends a leaf inside the caller's transaction; the head row stays locked until it ends, so indexes
/// are handed out in commit order without gaps.
async fn append_leaf<C: tokio_postgres::GenericClient>(
    client: &C,
    l: &LogRecord,
) -> Result<(), tokio_postgres::Error> {
    let row = client.query_one(NEXT_LOG_INDEX, &[]).await?;
    let index: i64 = row.try_get(0)?;
    client
        .execute(
            INSERT_LEAF,
            &[&index, &l.code, &l.event, &l.record, &leaf_hash_hex(&l.record)],
        )
        .await?;
    Ok(())
}

/// Runs `work` in one transaction on `client`: committed when it returns `Ok`; on an error the connection is
/// discarded, which makes the server roll the transaction back.
pub(crate) async fn in_transaction<T>(
    client: Object,
    work: impl AsyncFnOnce(&deadpool_postgres::ClientWrapper) -> Result<T, tokio_postgres::Error>,
) -> Result<T, StoreError> {
    let result = async {
        client.batch_execute("BEGIN").await?;
        let value = work(&client).await?;
        client.batch_execute("COMMIT").await?;
        Ok(value)
    }
    .await;
    result.map_err(|e| {
        drop(Object::take(client));
        err(e)
    })
}

/// A number written in the book as pending; a pooled connection is taken again only to commit or void it.
struct PgReservation {
    pool: Pool,
    year: i32,
    suffix: String,
    sequence: u32,
}

#[async_trait]
impl NumberReservation for PgReservation {
    fn sequence(&self) -> u32 {
        self.sequence
    }

    async fn commit(&self, copies: &[CopyRecord], log: &[LogRecord]) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let sequence = self.sequence as i32;
        // A line no longer pending changes no row: nothing is written, and the empty transaction commits.
        let used = in_transaction(client, async |client| {
            let plain: &tokio_postgres::Client = client;
            let used = plain
                .execute(schema::USE_BOOK_LINE, &[&self.year, &self.suffix, &sequence])
                .await?;
            if used != 1 {
                return Ok(false);
            }
            let stmt = client.prepare_cached(INSERT_COPY).await?;
            for r in copies {
                let keys = serde_json::to_string(&r.original_keys).unwrap_or_else(|_| "[]".into());
                plain
                    .execute(
                        &stmt,
                        &[
                            &r.code,
                            &r.request_id,
                            &(r.copy_index as i32),
                            &r.request_key,
                            &(r.sequence as i32),
                            &(r.book as i32),
                            &r.year,
                            &r.suffix,
                            &r.holder_id,
                            &r.holder_name,
                            &r.document_type,
                            &(r.original_pages as i32),
                            &(r.pdf_pages as i32),
                            &r.sha256,
                            &(r.fee_vnd as i64),
                            &r.issuing_body,
                            &r.signer,
                            &r.status.as_str(),
                            &r.status_reason,
                            &r.decision_number,
                            &r.pdf_key,
                            &keys,
                            &r.issued_at,
                            &r.updated_at,
                            &r.request_digest,
                        ],
                    )
                    .await?;
            }
            for l in log {
                append_leaf(plain, l).await?;
            }
            Ok(true)
        })
        .await?;
        if used {
            Ok(())
        } else {
            Err(schema::line_not_pending(self.sequence))
        }
    }

    async fn void(&self, reason: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::VOID_BOOK_LINE,
                &[&reason, &self.year, &self.suffix, &(self.sequence as i32)],
            )
            .await
            .map_err(err)?;
        Ok(())
    }
}

#[async_trait]
impl Registry for PgRegistry {
    async fn reserve_number(
        &self,
        year: i32,
        suffix: &str,
        at: OffsetDateTime,
    ) -> Result<Box<dyn NumberReservation>, StoreError> {
        let last = in_transaction(self.client().await?, async |client| {
            let last: i32 = client
                .query_one(NEXT_SEQUENCE, &[&year, &suffix])
                .await?
                .try_get(0)?;
            client
                .execute(schema::INSERT_BOOK_LINE, &[&year, &suffix, &last, &at])
                .await?;
            Ok(last)
        })
        .await?;
        Ok(Box::new(PgReservation {
            pool: self.pool.clone(),
            year,
            suffix: suffix.to_string(),
            sequence: schema::book_number(i64::from(last))?,
        }))
    }

    async fn void_stale_numbers(&self, before: OffsetDateTime, reason: &str) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute(schema::VOID_STALE_LINES, &[&reason, &before])
            .await
            .map_err(err)
    }

    async fn book_lines(&self, year: i32, suffix: &str) -> Result<Vec<BookLine>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::SELECT_BOOK_LINES, &[&year, &suffix])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let sequence: i32 = r.try_get(0).map_err(err)?;
                let status: String = r.try_get(1).map_err(err)?;
                Ok(BookLine {
                    sequence: sequence as u32,
                    status: schema::parse_line_status(&status)?,
                    reserved_at: r.try_get(2).map_err(err)?,
                    void_reason: r.try_get(3).map_err(err)?,
                })
            })
            .collect()
    }

    async fn copy(&self, code: &str) -> Result<Option<CopyRecord>, StoreError> {
        Ok(self
            .query_copies(
                &format!("SELECT {COPY_COLUMNS} FROM copies WHERE code = $1"),
                code,
            )
            .await?
            .into_iter()
            .next())
    }

    async fn copy_by_sha256(&self, sha256: &str) -> Result<Option<CopyRecord>, StoreError> {
        Ok(self
            .query_copies(
                &format!("SELECT {COPY_COLUMNS} FROM copies WHERE sha256 = $1 LIMIT 1"),
                sha256,
            )
            .await?
            .into_iter()
            .next())
    }

    async fn copies_by_request_key(&self, key: &str) -> Result<Vec<CopyRecord>, StoreError> {
        self.query_copies(
            &format!("SELECT {COPY_COLUMNS} FROM copies WHERE request_key = $1 ORDER BY copy_index"),
            key,
        )
        .await
    }

    async fn intake_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<banso_core::ports::IntakeBrief>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::INTAKE_SINCE, &[&since, &i64::from(limit)])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let decision: String = r.try_get(1).map_err(err)?;
                let codes: String = r.try_get(4).map_err(err)?;
                Ok(banso_core::ports::IntakeBrief {
                    recorded_at: r.try_get(0).map_err(err)?,
                    request_key: r.try_get(5).map_err(err)?,
                    device: r.try_get(6).map_err(err)?,
                    decision: schema::parse_decision(&decision)?,
                    reason: r.try_get(2).map_err(err)?,
                    outcome: r.try_get(3).map_err(err)?,
                    copies: schema::split_codes(&codes).len() as u32,
                })
            })
            .collect()
    }

    async fn book_copies(&self, year: i32, suffix: &str) -> Result<Vec<CopyRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::SELECT_BOOK_COPIES.as_str(), &[&year, &suffix])
            .await
            .map_err(err)?;
        rows.iter().map(copy_from_row).collect()
    }

    async fn copies_by_holder(&self, holder_id: &str, limit: u32) -> Result<Vec<CopyRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COPY_COLUMNS} FROM copies WHERE holder_id = $1 \
                     ORDER BY issued_at DESC, code LIMIT $2"
                ),
                &[&holder_id, &i64::from(limit)],
            )
            .await
            .map_err(err)?;
        rows.iter().map(copy_from_row).collect()
    }

    async fn change_status(
        &self,
        code: &str,
        status: CopyStatus,
        reason: &str,
        decision_number: Option<&str>,
        at: OffsetDateTime,
        log: &LogRecord,
    ) -> Result<CopyRecord, StoreError> {
        let changed = in_transaction(self.client().await?, async |client| {
            let plain: &tokio_postgres::Client = client;
            let changed = plain
                .execute(
                    CHANGE_STATUS,
                    &[&status.as_str(), &reason, &decision_number, &at, &code],
                )
                .await?;
            if changed == 1 {
                append_leaf(plain, log).await?;
            }
            Ok(changed)
        })
        .await?;
        let record = self.copy(code).await?.ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(not_valid(&record));
        }
        Ok(record)
    }

    async fn append_log(&self, records: &[LogRecord]) -> Result<(), StoreError> {
        in_transaction(self.client().await?, async |client| {
            for l in records {
                append_leaf(&**client, l).await?;
            }
            Ok(())
        })
        .await
    }

    async fn log_entries(&self, from: u64, limit: u64) -> Result<Vec<LogEntry>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(SELECT_LEAVES).await.map_err(err)?;
        let rows = client
            .query(&stmt, &[&(from as i64), &(limit as i64)])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let hash: String = r.try_get(4).map_err(err)?;
                Ok(LogEntry {
                    index: r.try_get::<_, i64>(0).map_err(err)? as u64,
                    code: r.try_get(1).map_err(err)?,
                    event: r.try_get(2).map_err(err)?,
                    record: r.try_get(3).map_err(err)?,
                    leaf_hash: parse_hash(&hash)?,
                })
            })
            .collect()
    }

    async fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        let client = self.client().await?;
        let rows = client.query(SELECT_AUDIT_ROWS, &[]).await.map_err(err)?;
        rows.iter()
            .map(|r| {
                let code: String = r.try_get(0).map_err(err)?;
                let status: String = r.try_get(2).map_err(err)?;
                let status = CopyStatus::parse(&status).ok_or_else(|| {
                    StoreError::Other(format!("copy {code} has an unknown status {status}"))
                })?;
                Ok(AuditRow {
                    sha256: r.try_get(1).map_err(err)?,
                    code,
                    status,
                })
            })
            .collect()
    }

    async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                schema::INSERT_TOKEN,
                &[
                    &t.id,
                    &t.name,
                    &t.role.as_str(),
                    &t.token_hash,
                    &t.created_at,
                    &t.revoked,
                    &t.expires_at,
                    &t.last_used_at,
                    &t.revoked_at,
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {} FROM api_tokens WHERE token_hash = $1",
                schema::TOKEN_COLUMNS
            ))
            .await
            .map_err(err)?;
        client
            .query_opt(&stmt, &[&hash])
            .await
            .map_err(err)?
            .map(|row| token_from_row(&row))
            .transpose()
    }

    async fn request_exists(&self, request_id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query_opt(schema::REQUEST_EXISTS, &[&request_id])
            .await
            .map_err(err)?
            .is_some())
    }

    async fn claim_installation(&self, fingerprint: &str) -> Result<String, StoreError> {
        let client = self.client().await?;
        client
            .execute(schema::CLAIM_INSTALLATION, &[&fingerprint])
            .await
            .map_err(err)?;
        let row = client
            .query_one(schema::SELECT_INSTALLATION, &[])
            .await
            .map_err(err)?;
        Ok(row.get(0))
    }

    async fn claim_public_address(&self, base_url: Option<&str>) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        if let Some(url) = base_url {
            client
                .execute(schema::CLAIM_PUBLIC_ADDRESS, &[&url])
                .await
                .map_err(err)?;
        }
        let row = client
            .query_opt(schema::SELECT_PUBLIC_ADDRESS, &[])
            .await
            .map_err(err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM api_tokens ORDER BY created_at DESC, id",
                    schema::TOKEN_COLUMNS
                ),
                &[],
            )
            .await
            .map_err(err)?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(schema::REVOKE_TOKEN, &[&at, &id])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn touch_token(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(schema::TOUCH_TOKEN, &[&at, &id])
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn count_copies(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT COUNT(*) FROM copies", &[])
            .await
            .map_err(err)?;
        Ok(row.try_get::<_, i64>(0).map_err(err)? as u64)
    }

    async fn count_email(&self, code: &str, max: u32) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(schema::COUNT_EMAIL, &[&code, &i64::from(max)])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn insert_intake(&self, r: &IntakeRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                schema::INSERT_INTAKE,
                &[
                    &r.id,
                    &r.recorded_at,
                    &r.request_key,
                    &r.holder_id,
                    &r.decision.as_str(),
                    &r.reason,
                    &r.report,
                    &r.outcome,
                    &r.codes.join(" "),
                    &r.claimed_type,
                    &r.recognised_type,
                    &r.device,
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn finish_intake(
        &self,
        id: &str,
        outcome: &str,
        codes: &[String],
        fingerprints: &[PageFingerprint],
    ) -> Result<(), StoreError> {
        let codes = codes.join(" ");
        in_transaction(self.client().await?, async |client| {
            client
                .execute(schema::FINISH_INTAKE, &[&outcome, &codes, &id])
                .await?;
            for fp in fingerprints {
                client
                    .execute(
                        schema::INSERT_FINGERPRINT,
                        &[&id, &(fp.page as i32), &codes, &fp.dhash, &fp.content],
                    )
                    .await?;
            }
            Ok(())
        })
        .await
    }

    async fn previous_pages(&self, limit: u32) -> Result<Vec<PreviousPage>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::PREVIOUS_PAGES, &[&i64::from(limit)])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let codes: String = r.try_get(0).map_err(err)?;
                let page: i32 = r.try_get(1).map_err(err)?;
                Ok(schema::previous_page(
                    &codes,
                    i64::from(page),
                    r.try_get(2).map_err(err)?,
                    r.try_get(3).map_err(err)?,
                ))
            })
            .collect()
    }

    async fn replace_pdf(
        &self,
        code: &str,
        expected_key: &str,
        new_key: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // A copy that holds another object changes no row: nothing is written, and the empty transaction commits.
        let changed = in_transaction(self.client().await?, async |client| {
            let changed = client
                .execute(schema::SWAP_PDF_KEY, &[&new_key, &at, &code, &expected_key])
                .await?;
            if changed == 1 {
                client
                    .execute(schema::INSERT_COPY_VERSION, &[&code, &expected_key, &at])
                    .await?;
            }
            Ok(changed)
        })
        .await?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "the copy {code} does not hold {expected_key} any more"
            )))
        }
    }

    async fn earlier_pdfs(&self, code: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::SELECT_COPY_VERSIONS, &[&code])
            .await
            .map_err(err)?;
        rows.iter().map(|r| r.try_get(0).map_err(err)).collect()
    }

    async fn ca_revocations(&self) -> Result<Vec<CaRevocation>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::SELECT_CA_REVOCATIONS, &[])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                let reason: i32 = r.try_get(2).map_err(err)?;
                Ok(CaRevocation {
                    serial: r.try_get(0).map_err(err)?,
                    revoked_at: r.try_get(1).map_err(err)?,
                    reason: u8::try_from(reason).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn add_ca_revocation(&self, r: &CaRevocation) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                schema::INSERT_CA_REVOCATION,
                &[&r.serial, &r.revoked_at, &i32::from(r.reason)],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn add_rating(&self, device: &str, score: u8, at: OffsetDateTime) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(schema::INSERT_RATING, &[&device, &i32::from(score), &at])
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn rating_counts(&self, since: OffsetDateTime) -> Result<[u64; 5], StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(schema::RATING_COUNTS, &[&since])
            .await
            .map_err(err)?;
        let rows: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| {
                Ok((
                    i64::from(r.try_get::<_, i32>(0).map_err(err)?),
                    r.try_get::<_, i64>(1).map_err(err)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(crate::schema::rating_counts(&rows))
    }

    async fn insert_payment(&self, p: &PaymentRow) -> Result<(), StoreError> {
        let client = self.client().await?;
        let amount = i64::try_from(p.amount_vnd).map_err(|_| StoreError::Other("amount".into()))?;
        client
            .execute(
                schema::INSERT_PAYMENT,
                &[
                    &p.reference,
                    &p.device,
                    &p.request_digest,
                    &p.holder_id,
                    &amount,
                    &p.created_at,
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, StoreError> {
        let client = self.client().await?;
        let Some(r) = client
            .query_opt(schema::SELECT_PAYMENT, &[&reference])
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let amount: i64 = r.try_get(4).map_err(err)?;
        Ok(Some(PaymentRow {
            reference: r.try_get(0).map_err(err)?,
            device: r.try_get(1).map_err(err)?,
            request_digest: r.try_get(2).map_err(err)?,
            holder_id: r.try_get(3).map_err(err)?,
            amount_vnd: u64::try_from(amount).unwrap_or(0),
            status: r.try_get(5).map_err(err)?,
            created_at: r.try_get(6).map_err(err)?,
            settled_at: r.try_get(7).map_err(err)?,
            gateway_ref: r.try_get(8).map_err(err)?,
            used_by: r.try_get(9).map_err(err)?,
        }))
    }

    async fn settle_payment(
        &self,
        reference: &str,
        paid: bool,
        gateway_ref: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let status = if paid { "paid" } else { "failed" };
        let n = client
            .execute(schema::SETTLE_PAYMENT, &[&status, &at, &gateway_ref, &reference])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn use_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(schema::USE_PAYMENT, &[&request_key, &reference, &request_key])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn release_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(schema::RELEASE_PAYMENT, &[&reference, &request_key])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn intake(&self, id: &str) -> Result<Option<IntakeRow>, StoreError> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(schema::SELECT_INTAKE, &[&id])
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        let decision: String = row.try_get(intake_col::DECISION).map_err(err)?;
        let codes: String = row.try_get(intake_col::CODES).map_err(err)?;
        Ok(Some(IntakeRow {
            id: row.try_get(intake_col::ID).map_err(err)?,
            recorded_at: row.try_get(intake_col::RECORDED_AT).map_err(err)?,
            request_key: row.try_get(intake_col::REQUEST_KEY).map_err(err)?,
            holder_id: row.try_get(intake_col::HOLDER_ID).map_err(err)?,
            claimed_type: row
                .try_get::<_, Option<String>>(9)
                .map_err(err)?
                .unwrap_or_default(),
            recognised_type: row.try_get(intake_col::RECOGNISED_TYPE).map_err(err)?,
            device: row.try_get(intake_col::DEVICE).map_err(err)?,
            decision: schema::parse_decision(&decision)?,
            reason: row.try_get(intake_col::REASON).map_err(err)?,
            report: row.try_get(intake_col::REPORT).map_err(err)?,
            outcome: row.try_get(intake_col::OUTCOME).map_err(err)?,
            codes: schema::split_codes(&codes),
        }))
    }
}
