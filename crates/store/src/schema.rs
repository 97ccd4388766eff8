//! The registry schema, shared by both databases where the SQL is the same.

use banso_core::ports::StoreError;
use time::OffsetDateTime;

/// The column names of a column list, or of the list between `SELECT` and `FROM` of a query (for the tests
/// that hold the named places below to their lists).
#[cfg(test)]
pub(crate) fn column_names(sql: &str) -> Vec<&str> {
    let list = sql.strip_prefix("SELECT ").unwrap_or(sql);
    let list = list.split(" FROM ").next().unwrap_or(list);
    list.split(',').map(str::trim).collect()
}

/// Column list of `copies`, in the order both backends read rows.
pub const COPY_COLUMNS: &str = "code, request_id, copy_index, request_key, sequence, book, year, suffix, \
    holder_id, holder_name, document_type, original_pages, pdf_pages, sha256, fee_vnd, issuing_body, signer, \
    status, status_reason, decision_number, pdf_key, original_keys, issued_at, updated_at, request_digest";

/// Where each column of [`COPY_COLUMNS`] is in a row, by name: rows are read through these, never through bare
/// numbers (a test holds them to the list, so the two cannot drift apart).
pub mod copy_col {
    pub const CODE: usize = 0;
    pub const REQUEST_ID: usize = 1;
    pub const COPY_INDEX: usize = 2;
    pub const REQUEST_KEY: usize = 3;
    pub const SEQUENCE: usize = 4;
    pub const BOOK: usize = 5;
    pub const YEAR: usize = 6;
    pub const SUFFIX: usize = 7;
    pub const HOLDER_ID: usize = 8;
    pub const HOLDER_NAME: usize = 9;
    pub const DOCUMENT_TYPE: usize = 10;
    pub const ORIGINAL_PAGES: usize = 11;
    pub const PDF_PAGES: usize = 12;
    pub const SHA256: usize = 13;
    pub const FEE_VND: usize = 14;
    pub const ISSUING_BODY: usize = 15;
    pub const SIGNER: usize = 16;
    pub const STATUS: usize = 17;
    pub const STATUS_REASON: usize = 18;
    pub const DECISION_NUMBER: usize = 19;
    pub const PDF_KEY: usize = 20;
    pub const ORIGINAL_KEYS: usize = 21;
    pub const ISSUED_AT: usize = 22;
    pub const UPDATED_AT: usize = 23;
    pub const REQUEST_DIGEST: usize = 24;

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_name_is_at_its_place_in_the_column_list() {
            let names = crate::schema::column_names(super::super::COPY_COLUMNS);
            let named = [
                ("code", CODE),
                ("request_id", REQUEST_ID),
                ("copy_index", COPY_INDEX),
                ("request_key", REQUEST_KEY),
                ("sequence", SEQUENCE),
                ("book", BOOK),
                ("year", YEAR),
                ("suffix", SUFFIX),
                ("holder_id", HOLDER_ID),
                ("holder_name", HOLDER_NAME),
                ("document_type", DOCUMENT_TYPE),
                ("original_pages", ORIGINAL_PAGES),
                ("pdf_pages", PDF_PAGES),
                ("sha256", SHA256),
                ("fee_vnd", FEE_VND),
                ("issuing_body", ISSUING_BODY),
                ("signer", SIGNER),
                ("status", STATUS),
                ("status_reason", STATUS_REASON),
                ("decision_number", DECISION_NUMBER),
                ("pdf_key", PDF_KEY),
                ("original_keys", ORIGINAL_KEYS),
                ("issued_at", ISSUED_AT),
                ("updated_at", UPDATED_AT),
                ("request_digest", REQUEST_DIGEST),
            ];
            assert_eq!(named.len(), names.len(), "a column has no name here");
            for (name, index) in named {
                assert_eq!(names.get(index), Some(&name), "{name}");
            }
        }
    }
}

/// Inserts one `copies` row; parameters in [`COPY_COLUMNS`] order.
pub const INSERT_COPY: &str = "INSERT INTO copies (code, request_id, copy_index, request_key, sequence, book, year, \
    suffix, holder_id, holder_name, document_type, original_pages, pdf_pages, sha256, fee_vnd, issuing_body, signer, \
    status, status_reason, decision_number, pdf_key, original_keys, issued_at, updated_at, request_digest) VALUES ($1, \
    $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)";

/// Columns added after the first release, as (table, column, type; `TIMESTAMP` replaced per backend). Each
/// backend adds the ones a database lacks when it opens it, so a registry made by an earlier version opens
/// as it is.
pub const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("copies", "request_digest", "TEXT"),
    ("api_tokens", "expires_at", "TIMESTAMP"),
    ("api_tokens", "last_used_at", "TIMESTAMP"),
    ("api_tokens", "revoked_at", "TIMESTAMP"),
    ("intake_records", "claimed_type", "TEXT"),
    ("intake_records", "recognised_type", "TEXT"),
    ("intake_records", "device", "TEXT"),
    ("dossiers", "channel", "TEXT"),
    ("reviews", "notify", "TEXT"),
    ("copies", "emails_sent", "BIGINT"),
    ("dossiers", "wrong_lookups", "BIGINT"),
    ("dossiers", "wrong_since", "BIGINT"),
];
/// `$1`: the window's start, `$2`: now (Unix seconds), `$3`: the dossier. A window that began before `$1` starts
/// again at 1. (SQLite numbers `$N` parameters in their order of first appearance: they appear in order here.)
pub const WRONG_LOOKUP: &str = "UPDATE dossiers SET \
    wrong_lookups = CASE WHEN wrong_since IS NULL OR wrong_since < $1 THEN 1 ELSE wrong_lookups + 1 END, \
    wrong_since = CASE WHEN wrong_since IS NULL OR wrong_since < $1 THEN $2 ELSE wrong_since END \
    WHERE code = $3 RETURNING wrong_lookups";
/// `$1`: the dossier, `$2`: the window's start.
pub const WRONG_LOOKUPS: &str =
    "SELECT wrong_lookups FROM dossiers WHERE code = $1 AND wrong_since IS NOT NULL AND wrong_since >= $2";
/// `$1`: the code, `$2`: at most.
pub const COUNT_EMAIL: &str = "UPDATE copies SET emails_sent = COALESCE(emails_sent, 0) + 1 \
    WHERE code = $1 AND COALESCE(emails_sent, 0) < $2";

/// Columns of `api_tokens`, in the order both backends read rows.
pub const TOKEN_COLUMNS: &str =
    "id, name, role, token_hash, created_at, revoked, expires_at, last_used_at, revoked_at";

/// Where each column of [`TOKEN_COLUMNS`] is in a row, by name.
pub mod token_col {
    pub const ID: usize = 0;
    pub const NAME: usize = 1;
    pub const ROLE: usize = 2;
    pub const TOKEN_HASH: usize = 3;
    pub const CREATED_AT: usize = 4;
    pub const REVOKED: usize = 5;
    pub const EXPIRES_AT: usize = 6;
    pub const LAST_USED_AT: usize = 7;
    pub const REVOKED_AT: usize = 8;

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_name_is_at_its_place() {
            let names = crate::schema::column_names(super::super::TOKEN_COLUMNS);
            let named = [
                ("id", ID),
                ("name", NAME),
                ("role", ROLE),
                ("token_hash", TOKEN_HASH),
                ("created_at", CREATED_AT),
                ("revoked", REVOKED),
                ("expires_at", EXPIRES_AT),
                ("last_used_at", LAST_USED_AT),
                ("revoked_at", REVOKED_AT),
            ];
            assert_eq!(named.len(), names.len(), "a column has no name here");
            for (name, index) in named {
                assert_eq!(names.get(index), Some(&name), "{name}");
            }
        }
    }
}

pub const INSERT_TOKEN: &str = "INSERT INTO api_tokens (id, name, role, token_hash, created_at, revoked, \
    expires_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

pub const CLAIM_INSTALLATION: &str =
    "INSERT INTO installation (id, fingerprint) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";
pub const SELECT_INSTALLATION: &str = "SELECT fingerprint FROM installation WHERE id = 1";
pub const CLAIM_PUBLIC_ADDRESS: &str =
    "INSERT INTO public_address (id, base_url) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";
pub const SELECT_PUBLIC_ADDRESS: &str = "SELECT base_url FROM public_address WHERE id = 1";
pub const REQUEST_EXISTS: &str = "SELECT 1 FROM copies WHERE request_id = $1 LIMIT 1";

pub const REVOKE_TOKEN: &str =
    "UPDATE api_tokens SET revoked = TRUE, revoked_at = $1 WHERE id = $2 AND revoked = FALSE";

pub const TOUCH_TOKEN: &str = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";

/// Moves a valid copy to another status (the `WHERE` makes a second change a conflict, not an overwrite).
pub const CHANGE_STATUS: &str = "UPDATE copies SET status = $1, status_reason = $2, decision_number = $3, \
    updated_at = $4 WHERE code = $5 AND status = 'valid'";

/// Takes the next log index (and, in PostgreSQL, the lock that orders appends until commit).
pub const NEXT_LOG_INDEX: &str = "UPDATE log_head SET size = size + 1 WHERE id = 1 RETURNING size - 1";

pub const INSERT_LEAF: &str =
    "INSERT INTO log_leaves (idx, code, event, record, leaf_hash) VALUES ($1, $2, $3, $4, $5)";

pub const SELECT_LEAVES: &str =
    "SELECT idx, code, event, record, leaf_hash FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2";

pub const SELECT_AUDIT_ROWS: &str = "SELECT code, sha256, status FROM copies";

/// The leaf hash of a record, hex, as stored.
pub fn leaf_hash_hex(record: &str) -> String {
    hex_encode(&banso_core::transparency::leaf_of(record).1)
}

pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a stored hex leaf hash.
pub fn parse_hash(hex: &str) -> Result<banso_core::merkle::Hash, banso_core::ports::StoreError> {
    let bad = || banso_core::ports::StoreError::Other(format!("stored leaf hash is not 32 hex bytes: {hex}"));
    if hex.len() != 64 {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The conflict reported when a copy is not valid any more.
pub fn not_valid(record: &banso_core::model::CopyRecord) -> banso_core::ports::StoreError {
    banso_core::ports::StoreError::Conflict(format!(
        "the copy is already {}",
        record.status.label_en().to_lowercase()
    ))
}

/// Next number of a book: the row is created at 1 or incremented, and stays locked until the transaction ends.
pub const NEXT_SEQUENCE: &str = "INSERT INTO book_sequences (year, suffix, last) VALUES ($1, $2, 1) \
    ON CONFLICT (year, suffix) DO UPDATE SET last = book_sequences.last + 1 RETURNING last";

/// `CREATE` statements; `timestamp` and `serial` (an auto-numbered key column) are given per backend.
pub fn create_statements(timestamp: &str, serial: &str) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS book_sequences (year INTEGER NOT NULL, suffix TEXT NOT NULL, \
         last INTEGER NOT NULL, PRIMARY KEY (year, suffix))"
            .to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS copies (
            code TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            copy_index INTEGER NOT NULL,
            request_key TEXT,
            sequence INTEGER NOT NULL,
            book INTEGER NOT NULL,
            year INTEGER NOT NULL,
            suffix TEXT NOT NULL,
            holder_id TEXT NOT NULL,
            holder_name TEXT NOT NULL,
            document_type TEXT NOT NULL,
            original_pages INTEGER NOT NULL,
            pdf_pages INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            fee_vnd BIGINT NOT NULL,
            issuing_body TEXT NOT NULL,
            signer TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            decision_number TEXT,
            pdf_key TEXT NOT NULL,
            original_keys TEXT NOT NULL,
            issued_at {timestamp} NOT NULL,
            updated_at {timestamp} NOT NULL,
            UNIQUE (year, suffix, sequence, copy_index),
            UNIQUE (request_key, copy_index)
        )"
        ),
        "CREATE INDEX IF NOT EXISTS copies_sha256 ON copies (sha256)".to_string(),
        "CREATE INDEX IF NOT EXISTS copies_request_id ON copies (request_id)".to_string(),
        // The citizen's wallet: their copies, newest first.
        "CREATE INDEX IF NOT EXISTS copies_holder ON copies (holder_id, issued_at)".to_string(),
        // The transparency log: one row per leaf, and a head row whose lock orders appends.
        "CREATE TABLE IF NOT EXISTS log_leaves (idx BIGINT PRIMARY KEY, code TEXT NOT NULL, event TEXT NOT NULL, \
         record TEXT NOT NULL, leaf_hash TEXT NOT NULL)"
            .to_string(),
        "CREATE INDEX IF NOT EXISTS log_leaves_code ON log_leaves (code)".to_string(),
        "CREATE TABLE IF NOT EXISTS log_head (id INTEGER PRIMARY KEY, size BIGINT NOT NULL)".to_string(),
        "INSERT INTO log_head (id, size) VALUES (1, 0) ON CONFLICT (id) DO NOTHING".to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS api_tokens (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            created_at {timestamp} NOT NULL,
            revoked BOOLEAN NOT NULL DEFAULT FALSE
        )"
        ),
        // Intake decisions with their reports and how each request ended (codes: space-separated).
        format!(
            "CREATE TABLE IF NOT EXISTS intake_records (
            id TEXT PRIMARY KEY,
            recorded_at {timestamp} NOT NULL,
            request_key TEXT,
            holder_id TEXT NOT NULL,
            decision TEXT NOT NULL,
            reason TEXT NOT NULL,
            report TEXT NOT NULL,
            outcome TEXT NOT NULL,
            codes TEXT NOT NULL
        )"
        ),
        // The fingerprints of certified pages, newest last, for the duplicate check (read by `seq`, never by
        // parsing reports).
        format!(
            "CREATE TABLE IF NOT EXISTS page_fingerprints (
            seq {serial},
            intake_id TEXT NOT NULL,
            page INTEGER NOT NULL,
            codes TEXT NOT NULL,
            dhash TEXT NOT NULL,
            content TEXT,
            UNIQUE (intake_id, page)
        )"
        ),
        // The certification book, line by line: pending while its issuance runs, then used or voided.
        format!(
            "CREATE TABLE IF NOT EXISTS book_lines (
            year INTEGER NOT NULL,
            suffix TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            status TEXT NOT NULL,
            reserved_at {timestamp} NOT NULL,
            void_reason TEXT,
            PRIMARY KEY (year, suffix, sequence)
        )"
        ),
        "CREATE INDEX IF NOT EXISTS book_lines_pending ON book_lines (status, reserved_at)".to_string(),
        // Earlier versions of copies' PDFs (before an LTA extension or renewal), kept and named.
        format!(
            "CREATE TABLE IF NOT EXISTS copy_versions (
            code TEXT NOT NULL,
            pdf_key TEXT NOT NULL,
            replaced_at {timestamp} NOT NULL,
            PRIMARY KEY (code, pdf_key)
        )"
        ),
        // Certificates this installation's CA revoked (shared by every server on the registry).
        format!(
            "CREATE TABLE IF NOT EXISTS ca_revocations (
            serial TEXT PRIMARY KEY,
            revoked_at {timestamp} NOT NULL,
            reason INTEGER NOT NULL
        )"
        ),
        // Citizens' satisfaction ratings at kiosks (no citizen named).
        format!(
            "CREATE TABLE IF NOT EXISTS ratings (
            seq {serial},
            device TEXT NOT NULL,
            score INTEGER NOT NULL,
            rated_at {timestamp} NOT NULL
        )"
        ),
        // Fees kiosks' requests wait for, and what the payment gateway said of them.
        format!(
            "CREATE TABLE IF NOT EXISTS payments (
            reference TEXT PRIMARY KEY,
            device TEXT NOT NULL,
            request_digest TEXT NOT NULL,
            holder_id TEXT NOT NULL,
            amount_vnd BIGINT NOT NULL,
            status TEXT NOT NULL,
            created_at {timestamp} NOT NULL,
            settled_at {timestamp},
            gateway_ref TEXT,
            used_by TEXT
        )"
        ),
        "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)".to_string(),
        "INSERT INTO schema_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING".to_string(),
        // The fingerprint of the keys of the installation that first used this registry (one row): a node with
        // other keys is refused rather than signing another log or other QR keys.
        "CREATE TABLE IF NOT EXISTS installation (id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL)".to_string(),
        // The public address the first node that named one gave (one row): the log's origin and the QR codes'
        // address, the same on every node.
        "CREATE TABLE IF NOT EXISTS public_address (id INTEGER PRIMARY KEY, base_url TEXT NOT NULL)".to_string(),
    ]
}

/// The schema version this code writes. 2: page fingerprints in their own table (filled from the kept reports
/// of issued requests when a version-1 registry is opened). 3: the book's lines (every number an earlier
/// version used is a used line; it voided none).
pub const SCHEMA_VERSION: i64 = 3;

/// The version-3 migration: a used line for every number the copies carry.
pub const BOOK_LINES_FROM_COPIES: &str = "INSERT INTO book_lines (year, suffix, sequence, status, reserved_at) \
    SELECT year, suffix, sequence, 'used', MIN(issued_at) FROM copies WHERE 1 = 1 GROUP BY year, suffix, sequence \
    ON CONFLICT (year, suffix, sequence) DO NOTHING";

/// Points a copy at a new object (no row changed: it holds another object now).
pub const SWAP_PDF_KEY: &str =
    "UPDATE copies SET pdf_key = $1, updated_at = $2 WHERE code = $3 AND pdf_key = $4";

pub const INSERT_COPY_VERSION: &str =
    "INSERT INTO copy_versions (code, pdf_key, replaced_at) VALUES ($1, $2, $3) \
    ON CONFLICT (code, pdf_key) DO NOTHING";

pub const SELECT_COPY_VERSIONS: &str =
    "SELECT pdf_key FROM copy_versions WHERE code = $1 ORDER BY replaced_at, pdf_key";

pub const SELECT_CA_REVOCATIONS: &str =
    "SELECT serial, revoked_at, reason FROM ca_revocations ORDER BY revoked_at, serial";

pub const INSERT_CA_REVOCATION: &str =
    "INSERT INTO ca_revocations (serial, revoked_at, reason) VALUES ($1, $2, $3) \
    ON CONFLICT (serial) DO NOTHING";

pub const INSERT_RATING: &str = "INSERT INTO ratings (device, score, rated_at) VALUES ($1, $2, $3)";

pub const RATING_COUNTS: &str =
    "SELECT score, COUNT(*) FROM ratings WHERE rated_at >= $1 GROUP BY score ORDER BY score";

pub const INSERT_PAYMENT: &str = "INSERT INTO payments (reference, device, request_digest, holder_id, \
    amount_vnd, status, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6)";

pub const SELECT_PAYMENT: &str = "SELECT reference, device, request_digest, holder_id, amount_vnd, status, \
    created_at, settled_at, gateway_ref, used_by FROM payments WHERE reference = $1";

/// The gateway's result, once (no row changed: the payment was not pending).
pub const SETTLE_PAYMENT: &str = "UPDATE payments SET status = $1, settled_at = $2, gateway_ref = $3 \
    WHERE reference = $4 AND status = 'pending'";

/// Spends a paid payment; the same request key may spend it again (a retry). `$1` and `$3` are the same key.
pub const USE_PAYMENT: &str = "UPDATE payments SET status = 'used', used_by = $1 \
    WHERE reference = $2 AND (status = 'paid' OR (status = 'used' AND used_by = $3))";

/// Gives back a payment its spender could not use.
pub const RELEASE_PAYMENT: &str = "UPDATE payments SET status = 'paid', used_by = NULL \
    WHERE reference = $1 AND status = 'used' AND used_by = $2";

pub const INSERT_BOOK_LINE: &str = "INSERT INTO book_lines (year, suffix, sequence, status, reserved_at) \
    VALUES ($1, $2, $3, 'pending', $4)";

/// Marks a pending line used (no row changed: it is not pending any more).
pub const USE_BOOK_LINE: &str = "UPDATE book_lines SET status = 'used' \
    WHERE year = $1 AND suffix = $2 AND sequence = $3 AND status = 'pending'";

// (SQLite numbers `$N` parameters in the order they first appear: each statement names them in order.)
pub const VOID_BOOK_LINE: &str = "UPDATE book_lines SET status = 'voided', void_reason = $1 \
    WHERE year = $2 AND suffix = $3 AND sequence = $4 AND status = 'pending'";

pub const VOID_STALE_LINES: &str =
    "UPDATE book_lines SET status = 'voided', void_reason = $1 WHERE status = 'pending' AND reserved_at < $2";

pub const SELECT_BOOK_LINES: &str = "SELECT sequence, status, reserved_at, void_reason FROM book_lines \
    WHERE year = $1 AND suffix = $2 ORDER BY sequence";

/// Intake decisions since `$1`, at most `$2`, without their reports.
pub const INTAKE_SINCE: &str =
    "SELECT recorded_at, decision, reason, outcome, codes, request_key, device FROM intake_records \
    WHERE recorded_at >= $1 ORDER BY recorded_at LIMIT $2";

/// The copies of one book, by number then copy.
pub static SELECT_BOOK_COPIES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {COPY_COLUMNS} FROM copies WHERE year = $1 AND suffix = $2 ORDER BY sequence, copy_index")
});

/// A stored line status back to the type.
pub fn parse_line_status(
    s: &str,
) -> Result<banso_core::ports::BookLineStatus, banso_core::ports::StoreError> {
    banso_core::ports::BookLineStatus::parse(s)
        .ok_or_else(|| banso_core::ports::StoreError::Other(format!("unknown book line status {s}")))
}

/// A book number as the database returned it.
pub fn book_number(last: i64) -> Result<u32, banso_core::ports::StoreError> {
    u32::try_from(last).map_err(|_| banso_core::ports::StoreError::Other(format!("book number {last}")))
}

/// The conflict of a commit whose line is no longer pending.
pub fn line_not_pending(sequence: u32) -> banso_core::ports::StoreError {
    banso_core::ports::StoreError::Conflict(format!(
        "number {sequence} is no longer pending (voided as stale): nothing was written"
    ))
}

pub const SELECT_SCHEMA_VERSION: &str = "SELECT version FROM schema_version WHERE id = 1";
pub const SET_SCHEMA_VERSION: &str = "UPDATE schema_version SET version = $1 WHERE id = 1";

pub const INSERT_FINGERPRINT: &str =
    "INSERT INTO page_fingerprints (intake_id, page, codes, dhash, content) VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (intake_id, page) DO NOTHING";

pub const PREVIOUS_PAGES: &str =
    "SELECT codes, page, dhash, content FROM page_fingerprints ORDER BY seq DESC LIMIT $1";

/// Issued requests' reports, oldest first, for the version-2 migration.
pub const ISSUED_INTAKE_REPORTS: &str =
    "SELECT id, codes, report FROM intake_records WHERE outcome = 'issued' ORDER BY recorded_at";

/// The page fingerprints a kept intake report holds (`pages[].page`, `pages[].fingerprint`); none for a report
/// of another shape.
pub fn fingerprints_in_report(report: &str) -> Vec<banso_core::ports::PageFingerprint> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(report) else {
        return Vec::new();
    };
    let Some(pages) = v.get("pages").and_then(|p| p.as_array()) else {
        return Vec::new();
    };
    pages
        .iter()
        .filter_map(|p| {
            let fp = p.get("fingerprint")?;
            Some(banso_core::ports::PageFingerprint {
                page: u32::try_from(p.get("page")?.as_u64()?).ok()?,
                dhash: fp.get("dhash")?.as_str()?.to_string(),
                content: fp.get("content").and_then(|c| c.as_str()).map(str::to_string),
            })
        })
        .collect()
}

/// A stored fingerprint row back to what the duplicate check is given.
pub fn previous_page(
    codes: &str,
    page: i64,
    dhash: String,
    content: Option<String>,
) -> banso_core::ports::PreviousPage {
    banso_core::ports::PreviousPage {
        reference: format!("{} page {}", split_codes(codes).join(","), page + 1),
        fingerprint: banso_core::ports::PageFingerprint {
            page: u32::try_from(page).unwrap_or(0),
            dhash,
            content,
        },
    }
}

pub const INSERT_INTAKE: &str =
    "INSERT INTO intake_records (id, recorded_at, request_key, holder_id, decision, \
    reason, report, outcome, codes, claimed_type, recognised_type, device) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
    $10, $11, $12)";

pub const FINISH_INTAKE: &str = "UPDATE intake_records SET outcome = $1, codes = $2 WHERE id = $3";

/// Where each column of [`SELECT_INTAKE`] is in a row, by name.
pub mod intake_col {
    pub const ID: usize = 0;
    pub const RECORDED_AT: usize = 1;
    pub const REQUEST_KEY: usize = 2;
    pub const HOLDER_ID: usize = 3;
    pub const DECISION: usize = 4;
    pub const REASON: usize = 5;
    pub const REPORT: usize = 6;
    pub const OUTCOME: usize = 7;
    pub const CODES: usize = 8;
    pub const CLAIMED_TYPE: usize = 9;
    pub const RECOGNISED_TYPE: usize = 10;
    pub const DEVICE: usize = 11;

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn every_name_is_at_its_place() {
            let names = crate::schema::column_names(super::super::SELECT_INTAKE);
            let named = [
                ("id", ID),
                ("recorded_at", RECORDED_AT),
                ("request_key", REQUEST_KEY),
                ("holder_id", HOLDER_ID),
                ("decision", DECISION),
                ("reason", REASON),
                ("report", REPORT),
                ("outcome", OUTCOME),
                ("codes", CODES),
                ("claimed_type", CLAIMED_TYPE),
                ("recognised_type", RECOGNISED_TYPE),
                ("device", DEVICE),
            ];
            assert_eq!(named.len(), names.len(), "a column has no name here");
            for (name, index) in named {
                assert_eq!(names.get(index), Some(&name), "{name}");
            }
        }
    }
}

pub const SELECT_INTAKE: &str =
    "SELECT id, recorded_at, request_key, holder_id, decision, reason, report, outcome, \
    codes, claimed_type, recognised_type, device FROM intake_records WHERE id = $1";

/// A stored decision name back to the type.
pub fn parse_decision(s: &str) -> Result<banso_core::model::IntakeDecision, banso_core::ports::StoreError> {
    banso_core::model::IntakeDecision::parse(s)
        .ok_or_else(|| banso_core::ports::StoreError::Other(format!("unknown intake decision {s}")))
}

pub fn split_codes(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// (score, count) rows as counts by score (index 0: score 1); scores outside 1–5 are not counted.
pub fn rating_counts(rows: &[(i64, i64)]) -> [u64; 5] {
    let mut out = [0u64; 5];
    for (score, n) in rows {
        if let Some(slot) = usize::try_from(*score - 1).ok().and_then(|i| out.get_mut(i)) {
            *slot = u64::try_from(*n).unwrap_or(0);
        }
    }
    out
}

/// Dossiers (one row each: the indexed columns beside the whole dossier as JSON), their timeline, their ratings,
/// the counters their codes are numbered from, and the deliveries (webhooks, e-mails) their events owe. Times
/// here are Unix seconds, compared as numbers by both databases.
pub fn dossier_statements(serial: &str) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS dossier_counters (prefix TEXT PRIMARY KEY, n BIGINT NOT NULL)"
            .to_string(),
        "CREATE TABLE IF NOT EXISTS dossiers (
            code TEXT PRIMARY KEY,
            holder_id TEXT NOT NULL,
            procedure TEXT NOT NULL,
            status TEXT NOT NULL,
            received_at BIGINT NOT NULL,
            version BIGINT NOT NULL,
            data TEXT NOT NULL
        )"
        .to_string(),
        "CREATE INDEX IF NOT EXISTS dossiers_holder ON dossiers (holder_id, received_at)".to_string(),
        "CREATE INDEX IF NOT EXISTS dossiers_received ON dossiers (received_at)".to_string(),
        // A submission's idempotency key, taken in the dossier's own transaction: a second dossier with it is
        // refused whichever node files it.
        "CREATE TABLE IF NOT EXISTS dossier_keys (key TEXT PRIMARY KEY, dossier TEXT NOT NULL)".to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS dossier_events (
            seq {serial},
            dossier TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            note TEXT NOT NULL
        )"
        ),
        "CREATE INDEX IF NOT EXISTS dossier_events_dossier ON dossier_events (dossier, seq)".to_string(),
        "CREATE TABLE IF NOT EXISTS dossier_ratings (
            dossier TEXT NOT NULL,
            step TEXT NOT NULL,
            level TEXT NOT NULL,
            reasons TEXT NOT NULL,
            comment TEXT NOT NULL,
            officer TEXT,
            procedure TEXT NOT NULL,
            rated_at BIGINT NOT NULL,
            PRIMARY KEY (dossier, step)
        )"
        .to_string(),
        "CREATE TABLE IF NOT EXISTS deliveries (
            id TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            body TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_at BIGINT NOT NULL,
            state TEXT NOT NULL,
            last_error TEXT,
            created_at BIGINT NOT NULL
        )"
        .to_string(),
        "CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_at)".to_string(),
    ]
}

pub const NEXT_DOSSIER_NUMBER: &str = "INSERT INTO dossier_counters (prefix, n) VALUES ($1, 1) \
    ON CONFLICT (prefix) DO UPDATE SET n = dossier_counters.n + 1 RETURNING n";

pub const INSERT_DOSSIER: &str = "INSERT INTO dossiers (code, holder_id, procedure, status, received_at, \
    version, data, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Dossiers received since `$1` (Unix seconds), oldest first, at most `$2`: procedure, channel, when.
pub const DOSSIERS_SINCE: &str =
    "SELECT procedure, channel, received_at FROM dossiers WHERE received_at >= $1 \
    ORDER BY received_at LIMIT $2";

pub const SELECT_DOSSIER: &str = "SELECT data FROM dossiers WHERE code = $1";

pub const INSERT_DOSSIER_KEY: &str = "INSERT INTO dossier_keys (key, dossier) VALUES ($1, $2)";
pub const DOSSIER_BY_KEY: &str = "SELECT dossier FROM dossier_keys WHERE key = $1";

/// Writes a dossier over the version it was read at (no row changed: another change came first).
pub const UPDATE_DOSSIER: &str =
    "UPDATE dossiers SET status = $1, version = $2, data = $3 WHERE code = $4 AND version = $5";

pub const OPEN_DOSSIERS: &str = "SELECT data FROM dossiers WHERE status NOT IN ('returned', 'refused') \
    ORDER BY received_at, code LIMIT $1";
pub const DOSSIERS_BY_HOLDER: &str =
    "SELECT data FROM dossiers WHERE holder_id = $1 ORDER BY received_at DESC, code DESC LIMIT $2";

pub const PROCEDURE_COUNTS: &str =
    "SELECT procedure, COUNT(*) FROM dossiers GROUP BY procedure ORDER BY procedure";

pub const INSERT_DOSSIER_EVENT: &str =
    "INSERT INTO dossier_events (dossier, kind, status, at, actor, note) VALUES ($1, $2, $3, $4, $5, $6)";

const EVENT_COLUMNS: &str = "seq, dossier, kind, status, at, actor, note";

pub fn select_events(filter: &str) -> String {
    format!("SELECT {EVENT_COLUMNS} FROM dossier_events WHERE {filter} ORDER BY seq")
}

pub const INSERT_DOSSIER_RATING: &str = "INSERT INTO dossier_ratings (dossier, step, level, reasons, comment, \
    officer, procedure, rated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dossier, step) DO NOTHING";

pub const RATINGS_SINCE: &str = "SELECT dossier, step, level, reasons, comment, officer, procedure, \
    rated_at FROM dossier_ratings WHERE rated_at >= $1 ORDER BY rated_at, dossier, step LIMIT $2";

pub const SELECT_DOSSIER_RATINGS: &str =
    "SELECT dossier, step, level, reasons, comment, officer, procedure, \
    rated_at FROM dossier_ratings WHERE dossier = $1 ORDER BY rated_at, step";

pub const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, target, body, attempts, next_at, state, \
    last_error, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

const DELIVERY_COLUMNS: &str = "id, target, body, attempts, next_at, state, last_error, created_at";

/// Claims due deliveries: `$1` the lease's end, `$2` now, `$3` how many; `lock` is PostgreSQL's
/// `FOR UPDATE SKIP LOCKED` (SQLite has one writer and needs none).
pub fn claim_deliveries(lock: &str) -> String {
    format!(
        "UPDATE deliveries SET next_at = $1 WHERE id IN (SELECT id FROM deliveries \
         WHERE state = 'pending' AND next_at <= $2 ORDER BY next_at, created_at, id LIMIT $3 {lock}) \
         RETURNING {DELIVERY_COLUMNS}"
    )
}

pub const RECORD_ATTEMPT: &str =
    "UPDATE deliveries SET state = $1, attempts = $2, next_at = $3, last_error = $4 WHERE id = $5";

pub fn deliveries_in() -> String {
    format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE state = $1 ORDER BY created_at DESC, id LIMIT $2"
    )
}

/// Unix seconds to a time (0 for one out of range, which no stored row holds).
pub fn from_unix(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A stored dossier back to the type.
pub fn dossier_from_json(data: &str) -> Result<banso_core::dossier::Dossier, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Other(format!("a stored dossier does not read: {e}")))
}

pub fn dossier_json(d: &banso_core::dossier::Dossier) -> Result<String, StoreError> {
    serde_json::to_string(d).map_err(|e| StoreError::Other(format!("a dossier does not write: {e}")))
}

/// An event row (seq, dossier, kind, status, at, actor, note) back to the type.
pub fn event_from_row(
    (seq, dossier, kind, status, at, actor, note): (i64, String, String, String, i64, String, String),
) -> Result<banso_core::dossier::Event, StoreError> {
    Ok(banso_core::dossier::Event {
        seq: seq as u64,
        dossier,
        kind,
        status: banso_core::dossier::Status::parse(&status)
            .ok_or_else(|| StoreError::Other(format!("unknown dossier status {status}")))?,
        at: from_unix(at),
        actor,
        note,
    })
}

/// The type on a row of a rating (dossier, step, level, reasons as JSON, comment, officer, procedure, rated_at).
#[allow(clippy::type_complexity)]
pub fn rating_from_row(
    (dossier, step, level, reasons, comment, officer, procedure, at): (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        i64,
    ),
) -> Result<banso_core::dossier::Rating, StoreError> {
    Ok(banso_core::dossier::Rating {
        dossier,
        step,
        level: banso_core::dossier::Satisfaction::parse(&level)
            .ok_or_else(|| StoreError::Other(format!("unknown satisfaction {level}")))?,
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        comment,
        officer,
        procedure,
        at: from_unix(at),
    })
}

/// A delivery row (id, target, body, attempts, next_at, state, last_error, created_at) back to the type.
#[allow(clippy::type_complexity)]
pub fn delivery_from_row(
    (id, target, body, attempts, next_at, state, last_error, created_at): (
        String,
        String,
        String,
        i64,
        i64,
        String,
        Option<String>,
        i64,
    ),
) -> banso_core::dossier::Delivery {
    banso_core::dossier::Delivery {
        id,
        target,
        body,
        attempts: attempts.max(0) as u32,
        next_at: from_unix(next_at),
        state,
        last_error,
        created_at: from_unix(created_at),
    }
}

/// Live identity sessions of kiosks and citizens' browsers (`banso_core::identity`): keyed by the SHA-256 of
/// the session's secret id, the stage sealed under a key the id gives. Times are Unix nanoseconds, so that a
/// device's sessions started in one second still have an order.
pub fn session_statements() -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS identity_sessions (
            id_hash TEXT PRIMARY KEY,
            pool TEXT NOT NULL,
            device TEXT NOT NULL,
            started_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            version BIGINT NOT NULL,
            sealed TEXT NOT NULL
        )"
        .to_string(),
        "CREATE INDEX IF NOT EXISTS identity_sessions_by_device ON identity_sessions (device, started_at)"
            .to_string(),
        "CREATE INDEX IF NOT EXISTS identity_sessions_by_pool ON identity_sessions (pool, expires_at)"
            .to_string(),
    ]
}

/// What each node let through its rate limits (PostgreSQL only: a SQLite registry has one node), kept for
/// seconds. Written under one advisory lock, so positions are committed in their order.
pub const RATE_ADMITS_TABLE: &str = "CREATE TABLE IF NOT EXISTS rate_admits (
    seq BIGSERIAL PRIMARY KEY,
    node TEXT NOT NULL,
    kind TEXT NOT NULL,
    client TEXT NOT NULL,
    n BIGINT NOT NULL,
    at BIGINT NOT NULL
)";
/// `$1`: the node, `$2`: kinds, `$3`: clients, `$4`: counts, `$5`: now.
pub const INSERT_ADMITS: &str = "INSERT INTO rate_admits (node, kind, client, n, at) \
    SELECT $1, k, c, n, $5 FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(k, c, n)";
/// `$1`: before when.
pub const FORGET_ADMITS: &str = "DELETE FROM rate_admits WHERE at < $1";
/// `$1`: after which position, `$2`: the asking node, `$3`: at most.
pub const OTHERS_ADMITS: &str = "SELECT seq, kind, client, n FROM rate_admits WHERE seq > $1 AND node <> $2 \
    ORDER BY seq LIMIT $3";

/// `$1`: the pool, `$2`: now.
pub const DELETE_EXPIRED_SESSIONS: &str =
    "DELETE FROM identity_sessions WHERE pool = $1 AND expires_at <= $2";
/// `$1`: the device, `$2`: how many of its newest sessions stay.
pub const DELETE_OLDEST_SESSIONS: &str = "DELETE FROM identity_sessions WHERE device = $1 AND id_hash NOT IN \
    (SELECT id_hash FROM identity_sessions WHERE device = $1 ORDER BY started_at DESC, id_hash DESC LIMIT $2)";
/// `$1`: the pool, `$2`: now.
pub const LIVE_SESSIONS: &str = "SELECT COUNT(*) FROM identity_sessions WHERE pool = $1 AND expires_at > $2";
pub const INSERT_SESSION: &str = "INSERT INTO identity_sessions \
    (id_hash, pool, device, started_at, expires_at, version, sealed) VALUES ($1, $2, $3, $4, $5, 0, $6)";
/// `$1`: the key, `$2`: now.
pub const SELECT_SESSION: &str = "SELECT id_hash, pool, device, started_at, expires_at, version, sealed \
    FROM identity_sessions WHERE id_hash = $1 AND expires_at > $2";
/// `$1`: the new sealed stage, `$2`: the key, `$3`: the device, `$4`: the version read, `$5`: now.
pub const ADVANCE_SESSION: &str = "UPDATE identity_sessions SET sealed = $1, version = version + 1 \
    WHERE id_hash = $2 AND device = $3 AND version = $4 AND expires_at > $5";
pub const DELETE_SESSION: &str = "DELETE FROM identity_sessions WHERE id_hash = $1 AND device = $2";

/// A time as stored in `identity_sessions` (Unix nanoseconds; within i64 until 2262).
pub fn unix_nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

/// A session's row back to the type.
pub fn session_from(
    (key, pool, device, started_at, expires_at, version, sealed): (
        String,
        String,
        String,
        i64,
        i64,
        i64,
        String,
    ),
) -> Result<banso_core::ports::StoredSession, StoreError> {
    let when = |n: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(n))
            .map_err(|e| StoreError::Other(format!("a stored time: {e}")))
    };
    Ok(banso_core::ports::StoredSession {
        key,
        pool,
        device,
        started_at: when(started_at)?,
        expires_at: when(expires_at)?,
        version,
        sealed,
    })
}

/// The back office: officers' accounts, their sessions (stored by the SHA-256 of the cookie's secret) and the
/// audit log, each entry chained to the one before. Times are Unix seconds; an audit entry's time is kept in
/// nanoseconds, as its hash covers it.
pub fn office_statements(serial: &str) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS officers (
            username TEXT PRIMARY KEY,
            full_name TEXT NOT NULL,
            role TEXT NOT NULL,
            body TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            totp_secret TEXT NOT NULL,
            totp_last_step BIGINT NOT NULL,
            failures BIGINT NOT NULL,
            locked_until BIGINT,
            created_at BIGINT NOT NULL,
            disabled BIGINT NOT NULL
        )"
        .to_string(),
        "CREATE TABLE IF NOT EXISTS office_sessions (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            verified BIGINT NOT NULL
        )"
        .to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS audit_log (
            seq {serial},
            at_ns TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            origin TEXT NOT NULL,
            prev TEXT NOT NULL,
            hash TEXT NOT NULL
        )"
        ),
        // Requests the intake held for an officer: the claim and the decision in columns (the updates that
        // race are conditions on them); what the request asked for, and how it ended, as JSON.
        "CREATE TABLE IF NOT EXISTS reviews (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            held_at BIGINT NOT NULL,
            holder_id TEXT NOT NULL,
            claimed_by TEXT,
            claimed_at BIGINT,
            decided_by TEXT,
            decided_at BIGINT,
            request TEXT NOT NULL
        )"
        .to_string(),
        "CREATE INDEX IF NOT EXISTS reviews_by_state ON reviews (state, held_at)".to_string(),
        "CREATE TABLE IF NOT EXISTS enrolments (
            code_hash TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_by TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            used_at BIGINT
        )"
        .to_string(),
        "CREATE TABLE IF NOT EXISTS devices (
            token_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            enrolled_at BIGINT NOT NULL,
            last_seen BIGINT,
            state TEXT NOT NULL
        )"
        .to_string(),
        "CREATE TABLE IF NOT EXISTS passkeys (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL,
            public_key TEXT NOT NULL,
            sign_count BIGINT NOT NULL,
            label TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )"
        .to_string(),
        "CREATE INDEX IF NOT EXISTS reviews_by_holder ON reviews (holder_id, held_at)".to_string(),
    ]
}

pub const INSERT_REVIEW: &str =
    "INSERT INTO reviews (id, state, held_at, holder_id, claimed_by, claimed_at, \
    decided_by, decided_at, request) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/// The columns [`review_from`] reads, in its order.
macro_rules! review_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, state, held_at, claimed_by, claimed_at, decided_by, decided_at, request, notify \
             FROM reviews ",
            $rest
        )
    };
}
pub const SELECT_REVIEW: &str = review_select!("WHERE id = $1");
pub const WAITING_REVIEWS: &str = review_select!("WHERE state = 'waiting' ORDER BY held_at, id LIMIT $1");
pub const REVIEWS_SINCE: &str = review_select!("WHERE held_at >= $1 ORDER BY held_at, id LIMIT $2");
pub const HOLDER_REVIEWS: &str =
    review_select!("WHERE holder_id = $1 AND state <> 'waiting' ORDER BY held_at DESC LIMIT $2");
/// `$1`: the officer, `$2`: now, `$3`: the request, `$4`: claims made before this have lapsed.
pub const CLAIM_REVIEW: &str = "UPDATE reviews SET claimed_by = $1, claimed_at = $2 WHERE id = $3 \
    AND state = 'waiting' AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_at < $4)";
/// `$1`: the new state, `$2`: the officer, `$3`: now, `$4`: the request's JSON, `$5`: its id, `$6`: the claim
/// must have been made at or after this.
pub const FINISH_REVIEW: &str =
    "UPDATE reviews SET state = $1, decided_by = $2, decided_at = $3, request = $4 \
    WHERE id = $5 AND state = 'waiting' AND claimed_by = $2 AND claimed_at >= $6";

/// `$1`: the address, `$2`: the request's id: while it waits, or once after it was decided without one; its
/// state then.
pub const NOTIFY_REVIEW: &str = "UPDATE reviews SET notify = $1 WHERE id = $2 \
    AND (state = 'waiting' OR notify IS NULL) RETURNING state";

pub const INSERT_ENROLMENT: &str =
    "INSERT INTO enrolments (code_hash, name, created_by, expires_at, used_at) VALUES ($1, $2, $3, $4, NULL)";
/// `$1`: now, `$2`: the code's hash.
pub const TAKE_ENROLMENT: &str =
    "UPDATE enrolments SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
    AND expires_at > $1 RETURNING name";
/// `$1`: the token, `$2`: its name, `$3`: now, `$4`: the state.
pub const DEVICE_SEEN: &str = "INSERT INTO devices (token_id, name, enrolled_at, last_seen, state) \
    VALUES ($1, $2, $3, $3, $4) ON CONFLICT (token_id) DO UPDATE SET last_seen = $3, state = $4";
pub const SELECT_DEVICES: &str =
    "SELECT token_id, name, enrolled_at, last_seen, state FROM devices ORDER BY name, token_id";

/// A device's row back to the type.
pub fn device_from(
    (token_id, name, enrolled, seen, state): (String, String, i64, Option<i64>, String),
) -> Result<banso_core::office::Device, StoreError> {
    let when = |s: i64| {
        OffsetDateTime::from_unix_timestamp(s).map_err(|e| StoreError::Other(format!("a stored time: {e}")))
    };
    Ok(banso_core::office::Device {
        token_id,
        name,
        enrolled_at: when(enrolled)?,
        last_seen: seen.map(when).transpose()?,
        state,
    })
}

pub const INSERT_PASSKEY: &str =
    "INSERT INTO passkeys (id, username, public_key, sign_count, label, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";
pub const PASSKEYS_OF: &str = "SELECT id, username, public_key, sign_count, label, created_at FROM passkeys \
    WHERE username = $1 ORDER BY created_at, id";
/// `$1`: the new count, `$2`: the key.
pub const ADVANCE_PASSKEY: &str = "UPDATE passkeys SET sign_count = $1 WHERE id = $2 \
    AND (sign_count < $1 OR ($1 = 0 AND sign_count = 0))";

/// A passkey's row back to the type: (id, username, key hex, count, label, created at).
pub fn passkey_from(
    (id, username, key, count, label, at): (String, String, String, i64, String, i64),
) -> Result<banso_core::office::Passkey, StoreError> {
    Ok(banso_core::office::Passkey {
        id,
        username,
        public_key: hex::decode(&key).map_err(|e| StoreError::Other(format!("a stored passkey: {e}")))?,
        sign_count: u32::try_from(count).unwrap_or(u32::MAX),
        label,
        created_at: OffsetDateTime::from_unix_timestamp(at)
            .map_err(|e| StoreError::Other(format!("a stored time: {e}")))?,
    })
}

/// A review's row as both databases read it: (id, state, held at, claimed by, claimed at, decided by, decided
/// at, request JSON, the address to notify).
pub type ReviewRow = (
    String,
    String,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    Option<String>,
);

/// A review's row back to the type.
pub fn review_from(r: ReviewRow) -> Result<banso_core::office::Review, StoreError> {
    let when = |s: i64| {
        OffsetDateTime::from_unix_timestamp(s).map_err(|e| StoreError::Other(format!("a stored time: {e}")))
    };
    Ok(banso_core::office::Review {
        state: banso_core::office::ReviewState::parse(&r.1)
            .ok_or_else(|| StoreError::Other(format!("a stored review's state {}", r.1)))?,
        id: r.0,
        held_at: when(r.2)?,
        claimed_by: r.3,
        claimed_at: r.4.map(when).transpose()?,
        decided_by: r.5,
        decided_at: r.6.map(when).transpose()?,
        request: serde_json::from_str(&r.7)
            .map_err(|e| StoreError::Other(format!("a stored held request does not read: {e}")))?,
        notify: r.8,
    })
}

/// A held request as its row stores it.
pub fn held_json(request: &banso_core::office::HeldRequest) -> Result<String, StoreError> {
    serde_json::to_string(request)
        .map_err(|e| StoreError::Other(format!("a held request does not write: {e}")))
}

pub const INSERT_OFFICER: &str = "INSERT INTO officers (username, full_name, role, body, password_hash, totp_secret, \
    totp_last_step, failures, locked_until, created_at, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
pub const SELECT_OFFICER: &str = "SELECT username, full_name, role, body, password_hash, totp_secret, \
    totp_last_step, failures, locked_until, created_at, disabled FROM officers WHERE username = $1";
// Parameters appear in the order of their numbers: SQLite numbers `$N` by first appearance.
pub const SELECT_OFFICERS_OF: &str = "SELECT username, full_name, role, body, password_hash, totp_secret, \
    totp_last_step, failures, locked_until, created_at, disabled FROM officers WHERE body = $1 ORDER BY username";
/// `$1`: now, `$2`: the failures that lock, `$3`: until when, `$4`: the username. A lock that ended before now
/// starts the count again.
pub const LOGIN_FAILED: &str = "UPDATE officers SET \
    failures = CASE WHEN locked_until IS NOT NULL AND locked_until <= $1 THEN 1 ELSE failures + 1 END, \
    locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= $1 THEN NULL \
    WHEN failures + 1 >= $2 THEN $3 ELSE locked_until END \
    WHERE username = $4 RETURNING failures";
pub const LOGIN_SUCCEEDED: &str = "UPDATE officers SET failures = 0, locked_until = NULL WHERE username = $1";
/// `$1`: the step, `$2`: the username.
pub const TAKE_TOTP_STEP: &str =
    "UPDATE officers SET totp_last_step = $1 WHERE username = $2 AND totp_last_step < $1";
pub const INSERT_OFFICE_SESSION: &str = "INSERT INTO office_sessions (id, username, csrf, created_at, \
    last_seen, verified) VALUES ($1, $2, $3, $4, $5, $6)";
pub const SELECT_OFFICE_SESSION: &str =
    "SELECT id, username, csrf, created_at, last_seen, verified FROM office_sessions WHERE id = $1";
/// `$1`: when, `$2`: the session.
pub const TOUCH_OFFICE_SESSION: &str = "UPDATE office_sessions SET last_seen = $1 WHERE id = $2";
pub const DELETE_OFFICE_SESSION: &str = "DELETE FROM office_sessions WHERE id = $1";
pub const LAST_AUDIT: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
pub const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (seq, at_ns, actor, action, target, origin, prev, hash) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub const SELECT_AUDIT: &str = "SELECT seq, at_ns, actor, action, target, origin, prev, hash FROM audit_log \
    WHERE seq > $1 ORDER BY seq LIMIT $2";

/// An officer's row as both databases read it: (username, full name, role, body, hash, secret (hex), last
/// step, failures, locked until, created at, disabled).
pub type OfficerRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
);

/// An officer's row back to the type.
pub fn officer_from(r: OfficerRow) -> Result<banso_core::office::Officer, StoreError> {
    let when = |s: i64| {
        OffsetDateTime::from_unix_timestamp(s).map_err(|e| StoreError::Other(format!("a stored time: {e}")))
    };
    Ok(banso_core::office::Officer {
        role: banso_core::office::OfficeRole::parse(&r.2)
            .ok_or_else(|| StoreError::Other(format!("a stored officer's role {}", r.2)))?,
        totp_secret: hex::decode(&r.5)
            .map_err(|e| StoreError::Other(format!("a stored TOTP secret: {e}")))?,
        totp_last_step: r.6,
        failures: u32::try_from(r.7).unwrap_or(u32::MAX),
        locked_until: r.8.map(when).transpose()?,
        created_at: when(r.9)?,
        disabled: r.10 != 0,
        username: r.0,
        full_name: r.1,
        body: r.3,
        password_hash: r.4,
    })
}

/// A session's row back to the type.
pub fn office_session_from(
    r: (String, String, String, i64, i64, i64),
) -> Result<banso_core::office::OfficeSession, StoreError> {
    let when = |s: i64| {
        OffsetDateTime::from_unix_timestamp(s).map_err(|e| StoreError::Other(format!("a stored time: {e}")))
    };
    Ok(banso_core::office::OfficeSession {
        id: r.0,
        username: r.1,
        csrf: r.2,
        created_at: when(r.3)?,
        last_seen: when(r.4)?,
        verified: r.5 != 0,
    })
}

/// An audit row back to the type.
pub fn audit_from(
    r: (i64, String, String, String, String, String, String, String),
) -> Result<banso_core::office::AuditEntry, StoreError> {
    let ns: i128 =
        r.1.parse()
            .map_err(|e| StoreError::Other(format!("a stored audit time: {e}")))?;
    Ok(banso_core::office::AuditEntry {
        seq: u64::try_from(r.0).unwrap_or(0),
        at: OffsetDateTime::from_unix_timestamp_nanos(ns)
            .map_err(|e| StoreError::Other(format!("a stored audit time: {e}")))?,
        actor: r.2,
        action: r.3,
        target: r.4,
        from: r.5,
        prev: r.6,
        hash: r.7,
    })
}

/// The next audit entry after the last one (`None`: the log is empty).
pub fn next_audit(
    last: Option<(i64, String)>,
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    target: &str,
    from: &str,
) -> banso_core::office::AuditEntry {
    let (seq, prev) = match last {
        Some((seq, hash)) => (u64::try_from(seq).unwrap_or(0) + 1, hash),
        None => (1, banso_core::office::AUDIT_GENESIS.to_string()),
    };
    banso_core::office::AuditEntry {
        hash: banso_core::office::audit_hash(&prev, seq, at, actor, action, target, from),
        seq,
        at,
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        from: from.into(),
        prev,
    }
}
