//! The registry in SQLite: one file, WAL mode, one writer connection and a few readers.
//!
//! Reads are primary-key look-ups of microseconds and run inline (a hop to the blocking pool would cost more than
//! the read). Writes run marked as blocking (`block_in_place`), so waiting on SQLite's lock or on the disk does
//! not stall the other tasks of an async worker, each in a short transaction: a number is reserved (its line written as pending) in one, and committed
//! with its records (or voided) in another, so issuances compose and sign side by side. Other processes (the CLI
//! beside a running server) wait on SQLite's busy timeout.

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
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::path::Path;
use std::sync::{Arc, Mutex};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::Mutex as AsyncMutex;

const READERS: usize = 4;

pub struct SqliteRegistry {
    pub(crate) writer: Arc<AsyncMutex<Connection>>,
    readers: Vec<Mutex<Connection>>,
}

pub(crate) fn err(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, m) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(m.unwrap_or_else(|| "constraint violated".into()))
        }
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        other => StoreError::Other(format!("sqlite: {other}")),
    }
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn parse_ts(s: &str) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(err)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
        .map_err(err)?;
    Ok(conn)
}

/// Brings a registry written by an earlier version to [`schema::SCHEMA_VERSION`], in one transaction.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row(schema::SELECT_SCHEMA_VERSION, [], |r| r.get(0))
        .map_err(err)?;
    if version >= schema::SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.unchecked_transaction().map_err(err)?;
    if version < 2 {
        let issued: Vec<(String, String, String)> = tx
            .prepare(schema::ISSUED_INTAKE_REPORTS)
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .map_err(err)?;
        for (id, codes, report) in issued {
            for fp in schema::fingerprints_in_report(&report) {
                tx.execute(
                    schema::INSERT_FINGERPRINT,
                    params![id, fp.page, codes, fp.dhash, fp.content],
                )
                .map_err(err)?;
            }
        }
    }
    if version < 3 {
        tx.execute(schema::BOOK_LINES_FROM_COPIES, []).map_err(err)?;
    }
    tx.execute(schema::SET_SCHEMA_VERSION, params![schema::SCHEMA_VERSION])
        .map_err(err)?;
    tx.commit().map_err(err)
}

impl SqliteRegistry {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Other(format!("{}: {e}", dir.display())))?;
            }
        }
        let writer = open_connection(path)?;
        for stmt in create_statements("TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT")
            .into_iter()
            .chain(schema::dossier_statements("INTEGER PRIMARY KEY AUTOINCREMENT"))
            .chain(schema::office_statements("INTEGER PRIMARY KEY"))
            .chain(schema::session_statements())
        {
            writer.execute_batch(&stmt).map_err(err)?;
        }
        for (table, column, kind) in schema::ADDED_COLUMNS {
            let present = writer
                .prepare(&format!(
                    "SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"
                ))
                .and_then(|mut s| s.exists(params![column]))
                .map_err(err)?;
            if !present {
                let kind = kind.replace("TIMESTAMP", "TEXT");
                writer
                    .execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                    .map_err(err)?;
            }
        }
        migrate(&writer)?;
        let readers = (0..READERS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            writer: Arc::new(AsyncMutex::new(writer)),
            readers,
        })
    }

    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let guard = self
            .readers
            .iter()
            .find_map(|m| m.try_lock().ok())
            .unwrap_or_else(|| self.readers[0].lock().unwrap_or_else(|p| p.into_inner()));
        f(&guard).map_err(err)
    }
}

pub(crate) fn copy_from_row(row: &Row<'_>) -> rusqlite::Result<CopyRecord> {
    let status: String = row.get(copy_col::STATUS)?;
    let keys: String = row.get(copy_col::ORIGINAL_KEYS)?;
    Ok(CopyRecord {
        code: row.get(copy_col::CODE)?,
        request_id: row.get(copy_col::REQUEST_ID)?,
        copy_index: row.get(copy_col::COPY_INDEX)?,
        request_key: row.get(copy_col::REQUEST_KEY)?,
        sequence: row.get(copy_col::SEQUENCE)?,
        book: row.get(copy_col::BOOK)?,
        year: row.get(copy_col::YEAR)?,
        suffix: row.get(copy_col::SUFFIX)?,
        holder_id: row.get(copy_col::HOLDER_ID)?,
        holder_name: row.get(copy_col::HOLDER_NAME)?,
        document_type: row.get(copy_col::DOCUMENT_TYPE)?,
        original_pages: row.get(copy_col::ORIGINAL_PAGES)?,
        pdf_pages: row.get(copy_col::PDF_PAGES)?,
        sha256: row.get(copy_col::SHA256)?,
        fee_vnd: row.get::<_, i64>(copy_col::FEE_VND)? as u64,
        issuing_body: row.get(copy_col::ISSUING_BODY)?,
        signer: row.get(copy_col::SIGNER)?,
        status: CopyStatus::parse(&status).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                copy_col::STATUS,
                rusqlite::types::Type::Text,
                format!("status {status}").into(),
            )
        })?,
        status_reason: row.get(copy_col::STATUS_REASON)?,
        decision_number: row.get(copy_col::DECISION_NUMBER)?,
        pdf_key: row.get(copy_col::PDF_KEY)?,
        original_keys: serde_json::from_str(&keys).unwrap_or_default(),
        issued_at: parse_ts(&row.get::<_, String>(copy_col::ISSUED_AT)?)?,
        updated_at: parse_ts(&row.get::<_, String>(copy_col::UPDATED_AT)?)?,
        request_digest: row.get(copy_col::REQUEST_DIGEST)?,
    })
}

fn opt_ts(v: Option<String>) -> rusqlite::Result<Option<OffsetDateTime>> {
    v.map(|t| parse_ts(&t)).transpose()
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let role: String = row.get(token_col::ROLE)?;
    Ok(TokenRecord {
        id: row.get(token_col::ID)?,
        name: row.get(token_col::NAME)?,
        role: Role::parse(&role).unwrap_or(Role::Kiosk),
        token_hash: row.get(token_col::TOKEN_HASH)?,
        created_at: parse_ts(&row.get::<_, String>(token_col::CREATED_AT)?)?,
        revoked: row.get(token_col::REVOKED)?,
        expires_at: opt_ts(row.get(token_col::EXPIRES_AT)?)?,
        last_used_at: opt_ts(row.get(token_col::LAST_USED_AT)?)?,
        revoked_at: opt_ts(row.get(token_col::REVOKED_AT)?)?,
    })
}

fn insert_copy(conn: &Connection, r: &CopyRecord) -> rusqlite::Result<usize> {
    conn.execute(
        INSERT_COPY,
        params![
            r.code,
            r.request_id,
            r.copy_index,
            r.request_key,
            r.sequence,
            r.book,
            r.year,
            r.suffix,
            r.holder_id,
            r.holder_name,
            r.document_type,
            r.original_pages,
            r.pdf_pages,
            r.sha256,
            r.fee_vnd as i64,
            r.issuing_body,
            r.signer,
            r.status.as_str(),
            r.status_reason,
            r.decision_number,
            r.pdf_key,
            serde_json::to_string(&r.original_keys).unwrap_or_else(|_| "[]".into()),
            ts(r.issued_at),
            ts(r.updated_at),
            r.request_digest,
        ],
    )
}

/// Appends a leaf inside the caller's write transaction.
fn append_leaf(conn: &Connection, l: &LogRecord) -> rusqlite::Result<()> {
    let index: i64 = conn.prepare_cached(NEXT_LOG_INDEX)?.query_row([], |r| r.get(0))?;
    conn.prepare_cached(INSERT_LEAF)?.execute(params![
        index,
        l.code,
        l.event,
        l.record,
        leaf_hash_hex(&l.record)
    ])?;
    Ok(())
}

/// Runs `f` on the writer connection. On a multi-threaded runtime it runs in place but marked as blocking
/// (`block_in_place`), so the runtime moves its other tasks to another worker while this one waits on SQLite's
/// lock or on the disk; elsewhere (a single-threaded runtime: tests, the CLI) it runs inline.
pub(crate) async fn write<T: Send + 'static>(
    writer: &Arc<AsyncMutex<Connection>>,
    f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let conn = writer.lock().await;
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| f(&conn)),
        _ => f(&conn),
    }
}

/// A number written in the book as pending; the writer is taken again only to commit or void it.
struct SqliteReservation {
    writer: Arc<AsyncMutex<Connection>>,
    year: i32,
    suffix: String,
    sequence: u32,
}

#[async_trait]
impl NumberReservation for SqliteReservation {
    fn sequence(&self) -> u32 {
        self.sequence
    }

    async fn commit(&self, copies: &[CopyRecord], log: &[LogRecord]) -> Result<(), StoreError> {
        let (copies, log) = (copies.to_vec(), log.to_vec());
        let (year, suffix, sequence) = (self.year, self.suffix.clone(), self.sequence);
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            let used = tx
                .prepare_cached(schema::USE_BOOK_LINE)
                .and_then(|mut st| st.execute(params![year, suffix, sequence]))
                .map_err(err)?;
            if used != 1 {
                return Err(schema::line_not_pending(sequence));
            }
            for r in &copies {
                insert_copy(&tx, r).map_err(err)?;
            }
            for l in &log {
                append_leaf(&tx, l).map_err(err)?;
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn void(&self, reason: &str) -> Result<(), StoreError> {
        let (reason, year, suffix, sequence) =
            (reason.to_string(), self.year, self.suffix.clone(), self.sequence);
        write(&self.writer, move |conn| {
            conn.execute(schema::VOID_BOOK_LINE, params![reason, year, suffix, sequence])
                .map_err(err)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl Registry for SqliteRegistry {
    async fn reserve_number(
        &self,
        year: i32,
        suffix: &str,
        at: OffsetDateTime,
    ) -> Result<Box<dyn NumberReservation>, StoreError> {
        let owned = suffix.to_string();
        let last = write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            let last: i64 = tx
                .query_row(NEXT_SEQUENCE, params![year, owned], |r| r.get(0))
                .map_err(err)?;
            tx.execute(schema::INSERT_BOOK_LINE, params![year, owned, last, ts(at)])
                .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(last)
        })
        .await?;
        Ok(Box::new(SqliteReservation {
            writer: self.writer.clone(),
            year,
            suffix: suffix.to_string(),
            sequence: schema::book_number(last)?,
        }))
    }

    async fn void_stale_numbers(&self, before: OffsetDateTime, reason: &str) -> Result<u64, StoreError> {
        let reason = reason.to_string();
        write(&self.writer, move |conn| {
            let n = conn
                .execute(schema::VOID_STALE_LINES, params![reason, ts(before)])
                .map_err(err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn book_lines(&self, year: i32, suffix: &str) -> Result<Vec<BookLine>, StoreError> {
        let rows: Vec<(u32, String, String, Option<String>)> = self.read(|c| {
            c.prepare_cached(schema::SELECT_BOOK_LINES)?
                .query_map(params![year, suffix], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
        })?;
        rows.into_iter()
            .map(|(sequence, status, reserved_at, void_reason)| {
                Ok(BookLine {
                    sequence,
                    status: schema::parse_line_status(&status)?,
                    reserved_at: parse_ts(&reserved_at).map_err(err)?,
                    void_reason,
                })
            })
            .collect()
    }

    async fn copy(&self, code: &str) -> Result<Option<CopyRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE code = $1"))?
                .query_row(params![code], copy_from_row)
                .optional()
        })
    }

    async fn copy_by_sha256(&self, sha256: &str) -> Result<Option<CopyRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {COPY_COLUMNS} FROM copies WHERE sha256 = $1 LIMIT 1"
            ))?
            .query_row(params![sha256], copy_from_row)
            .optional()
        })
    }

    async fn copies_by_request_key(&self, key: &str) -> Result<Vec<CopyRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {COPY_COLUMNS} FROM copies WHERE request_key = $1 ORDER BY copy_index"
            ))?
            .query_map(params![key], copy_from_row)?
            .collect()
        })
    }

    async fn intake_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<banso_core::ports::IntakeBrief>, StoreError> {
        #[allow(clippy::type_complexity)]
        let rows: Vec<(
            OffsetDateTime,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        )> = self.read(|c| {
            c.prepare_cached(schema::INTAKE_SINCE)?
                .query_map(params![ts(since), i64::from(limit)], |r| {
                    Ok((
                        parse_ts(&r.get::<_, String>(0)?)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })?
                .collect()
        })?;
        rows.into_iter()
            .map(
                |(recorded_at, decision, reason, outcome, codes, request_key, device)| {
                    Ok(banso_core::ports::IntakeBrief {
                        recorded_at,
                        request_key,
                        device,
                        decision: schema::parse_decision(&decision)?,
                        reason,
                        outcome,
                        copies: schema::split_codes(&codes).len() as u32,
                    })
                },
            )
            .collect()
    }

    async fn book_copies(&self, year: i32, suffix: &str) -> Result<Vec<CopyRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&schema::SELECT_BOOK_COPIES)?
                .query_map(params![year, suffix], copy_from_row)?
                .collect()
        })
    }

    async fn copies_by_holder(&self, holder_id: &str, limit: u32) -> Result<Vec<CopyRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {COPY_COLUMNS} FROM copies WHERE holder_id = $1 \
                 ORDER BY issued_at DESC, code LIMIT $2"
            ))?
            .query_map(params![holder_id, limit], copy_from_row)?
            .collect()
        })
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
        let (code, reason) = (code.to_string(), reason.to_string());
        let (decision_number, log) = (decision_number.map(str::to_string), log.clone());
        let (changed, record) = write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            let changed = tx
                .execute(
                    CHANGE_STATUS,
                    params![status.as_str(), reason, decision_number, ts(at), code],
                )
                .map_err(err)?;
            if changed == 1 {
                append_leaf(&tx, &log).map_err(err)?;
            }
            let record = tx
                .query_row(
                    &format!("SELECT {COPY_COLUMNS} FROM copies WHERE code = $1"),
                    params![code],
                    copy_from_row,
                )
                .optional()
                .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok((changed, record))
        })
        .await?;
        let record = record.ok_or(StoreError::NotFound)?;
        if changed == 0 {
            return Err(not_valid(&record));
        }
        Ok(record)
    }

    async fn append_log(&self, records: &[LogRecord]) -> Result<(), StoreError> {
        let records = records.to_vec();
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            for l in &records {
                append_leaf(&tx, l).map_err(err)?;
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn log_entries(&self, from: u64, limit: u64) -> Result<Vec<LogEntry>, StoreError> {
        let rows: Vec<(i64, String, String, String, String)> = self.read(|c| {
            c.prepare_cached(SELECT_LEAVES)?
                .query_map(params![from as i64, limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
        })?;
        rows.into_iter()
            .map(|(index, code, event, record, hash)| {
                Ok(LogEntry {
                    index: index as u64,
                    code,
                    event,
                    record,
                    leaf_hash: parse_hash(&hash)?,
                })
            })
            .collect()
    }

    async fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        let rows: Vec<(String, String, String)> = self.read(|c| {
            c.prepare_cached(SELECT_AUDIT_ROWS)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(code, sha256, status)| {
                let status = CopyStatus::parse(&status).ok_or_else(|| {
                    StoreError::Other(format!("copy {code} has an unknown status {status}"))
                })?;
                Ok(AuditRow { code, sha256, status })
            })
            .collect()
    }

    async fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let t = t.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_TOKEN,
                params![
                    t.id,
                    t.name,
                    t.role.as_str(),
                    t.token_hash,
                    ts(t.created_at),
                    t.revoked,
                    t.expires_at.map(ts),
                    t.last_used_at.map(ts),
                    t.revoked_at.map(ts)
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM api_tokens WHERE token_hash = $1",
                schema::TOKEN_COLUMNS
            ))?
            .query_row(params![hash], token_from_row)
            .optional()
        })
    }

    async fn request_exists(&self, request_id: &str) -> Result<bool, StoreError> {
        self.read(|c| {
            c.prepare_cached(schema::REQUEST_EXISTS)?
                .exists(params![request_id])
        })
    }

    async fn claim_installation(&self, fingerprint: &str) -> Result<String, StoreError> {
        let fingerprint = fingerprint.to_string();
        write(&self.writer, move |conn| {
            conn.execute(schema::CLAIM_INSTALLATION, params![fingerprint])
                .map_err(err)?;
            conn.query_row(schema::SELECT_INSTALLATION, [], |r| r.get(0))
                .map_err(err)
        })
        .await
    }

    async fn claim_public_address(&self, base_url: Option<&str>) -> Result<Option<String>, StoreError> {
        let base_url = base_url.map(str::to_string);
        write(&self.writer, move |conn| {
            if let Some(url) = base_url {
                conn.execute(schema::CLAIM_PUBLIC_ADDRESS, params![url])
                    .map_err(err)?;
            }
            conn.query_row(schema::SELECT_PUBLIC_ADDRESS, [], |r| r.get(0))
                .optional()
                .map_err(err)
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {} FROM api_tokens ORDER BY created_at DESC, id",
                schema::TOKEN_COLUMNS
            ))?
            .query_map([], token_from_row)?
            .collect()
        })
    }

    async fn revoke_token(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError> {
        let id = id.to_string();
        write(&self.writer, move |conn| {
            let n = conn
                .execute(schema::REVOKE_TOKEN, params![ts(at), id])
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn touch_token(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let id = id.to_string();
        write(&self.writer, move |conn| {
            conn.execute(schema::TOUCH_TOKEN, params![ts(at), id])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn count_copies(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM copies", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
        })
    }

    async fn count_email(&self, code: &str, max: u32) -> Result<bool, StoreError> {
        let code = code.to_string();
        write(&self.writer, move |conn| {
            Ok(conn
                .execute(schema::COUNT_EMAIL, params![code, i64::from(max)])
                .map_err(err)?
                == 1)
        })
        .await
    }

    async fn insert_intake(&self, r: &IntakeRow) -> Result<(), StoreError> {
        let r = r.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_INTAKE,
                params![
                    r.id,
                    ts(r.recorded_at),
                    r.request_key,
                    r.holder_id,
                    r.decision.as_str(),
                    r.reason,
                    r.report,
                    r.outcome,
                    r.codes.join(" "),
                    r.claimed_type,
                    r.recognised_type,
                    r.device
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn finish_intake(
        &self,
        id: &str,
        outcome: &str,
        codes: &[String],
        fingerprints: &[PageFingerprint],
    ) -> Result<(), StoreError> {
        let (id, outcome, codes) = (id.to_string(), outcome.to_string(), codes.join(" "));
        let fingerprints = fingerprints.to_vec();
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            tx.execute(schema::FINISH_INTAKE, params![outcome, codes, id])
                .map_err(err)?;
            for fp in &fingerprints {
                tx.execute(
                    schema::INSERT_FINGERPRINT,
                    params![id, fp.page, codes, fp.dhash, fp.content],
                )
                .map_err(err)?;
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn previous_pages(&self, limit: u32) -> Result<Vec<PreviousPage>, StoreError> {
        self.read(|c| {
            c.prepare_cached(schema::PREVIOUS_PAGES)?
                .query_map(params![limit], |row| {
                    Ok(schema::previous_page(
                        &row.get::<_, String>(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                    ))
                })?
                .collect()
        })
    }

    async fn replace_pdf(
        &self,
        code: &str,
        expected_key: &str,
        new_key: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (code, expected_key, new_key) = (code.to_string(), expected_key.to_string(), new_key.to_string());
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            let changed = tx
                .execute(schema::SWAP_PDF_KEY, params![new_key, ts(at), code, expected_key])
                .map_err(err)?;
            if changed != 1 {
                return Err(StoreError::Conflict(format!(
                    "the copy {code} does not hold {expected_key} any more"
                )));
            }
            tx.execute(schema::INSERT_COPY_VERSION, params![code, expected_key, ts(at)])
                .map_err(err)?;
            tx.commit().map_err(err)
        })
        .await
    }

    async fn earlier_pdfs(&self, code: &str) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached(schema::SELECT_COPY_VERSIONS)?
                .query_map(params![code], |r| r.get(0))?
                .collect()
        })
    }

    async fn ca_revocations(&self) -> Result<Vec<CaRevocation>, StoreError> {
        let rows: Vec<(String, String, i64)> = self.read(|c| {
            c.prepare_cached(schema::SELECT_CA_REVOCATIONS)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(serial, at, reason)| {
                Ok(CaRevocation {
                    serial,
                    revoked_at: parse_ts(&at).map_err(err)?,
                    reason: u8::try_from(reason).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn add_ca_revocation(&self, r: &CaRevocation) -> Result<bool, StoreError> {
        let r = r.clone();
        write(&self.writer, move |conn| {
            let n = conn
                .execute(
                    schema::INSERT_CA_REVOCATION,
                    params![r.serial, ts(r.revoked_at), i64::from(r.reason)],
                )
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn add_rating(&self, device: &str, score: u8, at: OffsetDateTime) -> Result<(), StoreError> {
        let device = device.to_string();
        write(&self.writer, move |conn| {
            conn.execute(schema::INSERT_RATING, params![device, i64::from(score), ts(at)])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn rating_counts(&self, since: OffsetDateTime) -> Result<[u64; 5], StoreError> {
        let rows: Vec<(i64, i64)> = self.read(|c| {
            c.prepare_cached(schema::RATING_COUNTS)?
                .query_map(params![ts(since)], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        Ok(crate::schema::rating_counts(&rows))
    }

    async fn insert_payment(&self, p: &PaymentRow) -> Result<(), StoreError> {
        let p = p.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_PAYMENT,
                params![
                    p.reference,
                    p.device,
                    p.request_digest,
                    p.holder_id,
                    i64::try_from(p.amount_vnd).map_err(|_| StoreError::Other("amount".into()))?,
                    ts(p.created_at)
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(schema::SELECT_PAYMENT)?
                .query_row(params![reference], |r| {
                    Ok(PaymentRow {
                        reference: r.get(0)?,
                        device: r.get(1)?,
                        request_digest: r.get(2)?,
                        holder_id: r.get(3)?,
                        amount_vnd: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                        status: r.get(5)?,
                        created_at: parse_ts(&r.get::<_, String>(6)?)?,
                        settled_at: r.get::<_, Option<String>>(7)?.map(|t| parse_ts(&t)).transpose()?,
                        gateway_ref: r.get(8)?,
                        used_by: r.get(9)?,
                    })
                })
                .optional()
        })
    }

    async fn settle_payment(
        &self,
        reference: &str,
        paid: bool,
        gateway_ref: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (reference, gateway_ref) = (reference.to_string(), gateway_ref.to_string());
        write(&self.writer, move |conn| {
            let status = if paid { "paid" } else { "failed" };
            let n = conn
                .execute(
                    schema::SETTLE_PAYMENT,
                    params![status, ts(at), gateway_ref, reference],
                )
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn use_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError> {
        let (reference, key) = (reference.to_string(), request_key.to_string());
        write(&self.writer, move |conn| {
            let n = conn
                .execute(schema::USE_PAYMENT, params![key, reference, key])
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn release_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError> {
        let (reference, key) = (reference.to_string(), request_key.to_string());
        write(&self.writer, move |conn| {
            let n = conn
                .execute(schema::RELEASE_PAYMENT, params![reference, key])
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn intake(&self, id: &str) -> Result<Option<IntakeRow>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(schema::SELECT_INTAKE)?
                .query_row(params![id], |row| {
                    Ok((
                        row.get::<_, String>(intake_col::ID)?,
                        parse_ts(&row.get::<_, String>(intake_col::RECORDED_AT)?)?,
                        row.get::<_, Option<String>>(intake_col::REQUEST_KEY)?,
                        row.get::<_, String>(intake_col::HOLDER_ID)?,
                        row.get::<_, String>(intake_col::DECISION)?,
                        row.get::<_, String>(intake_col::REASON)?,
                        row.get::<_, String>(intake_col::REPORT)?,
                        row.get::<_, String>(intake_col::OUTCOME)?,
                        row.get::<_, String>(intake_col::CODES)?,
                        (
                            row.get::<_, Option<String>>(intake_col::CLAIMED_TYPE)?,
                            row.get::<_, Option<String>>(intake_col::RECOGNISED_TYPE)?,
                            row.get::<_, Option<String>>(intake_col::DEVICE)?,
                        ),
                    ))
                })
                .optional()
        })?;
        let Some((
            id,
            recorded_at,
            request_key,
            holder_id,
            decision,
            reason,
            report,
            outcome,
            codes,
            (claimed_type, recognised_type, device),
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(IntakeRow {
            id,
            recorded_at,
            request_key,
            holder_id,
            claimed_type: claimed_type.unwrap_or_default(),
            recognised_type,
            device,
            decision: schema::parse_decision(&decision)?,
            reason,
            report,
            outcome,
            codes: schema::split_codes(&codes),
        }))
    }
}
