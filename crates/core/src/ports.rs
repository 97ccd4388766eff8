//! What the use cases need from the outside world. Implementations live in other crates
//! (store: database and objects; server: composition with render + signing, clock, randomness).

use crate::error::Result;
use crate::model::{CopyRecord, CopyStatus, IntakeDecision, IntakeRow, TokenRecord};
use async_trait::async_trait;
use time::OffsetDateTime;

/// Storage failures, mapped at the boundary so driver types never reach the domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

impl From<StoreError> for crate::error::Error {
    fn from(e: StoreError) -> Self {
        use crate::error::{Code, Error};
        match e {
            StoreError::NotFound => Error::new(Code::Ver0003NotFound, "no copy has this code"),
            StoreError::Conflict(m) => Error::new(Code::Sys0001Storage, format!("storage conflict: {m}")),
            StoreError::Other(m) => Error::new(Code::Sys0001Storage, format!("storage failed: {m}")),
        }
    }
}

/// A record to append to the transparency log (see [`crate::transparency`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub code: String,
    /// "issued", or the new status.
    pub event: String,
    /// The canonical text; the leaf is its SHA-256.
    pub record: String,
}

/// A stored log leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub index: u64,
    pub code: String,
    pub event: String,
    pub record: String,
    /// SHA-256(0x00 ‖ SHA-256(record)) as stored.
    pub leaf_hash: crate::merkle::Hash,
}

/// What the log audit needs of each registry row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub code: String,
    pub sha256: String,
    pub status: CopyStatus,
}

/// The registry of copies and API tokens.
#[async_trait]
pub trait Registry: Send + Sync {
    /// Takes the next certification number of `year`/`suffix` and writes its line in the book as pending, at
    /// once: no lock stays held while the copies are composed, signed and stored. The reservation then either
    /// commits (the line is used, with its records) or is voided with a reason, as a paper book voids a line;
    /// numbers are distinct, and every number up to the last is used, voided or still pending.
    async fn reserve_number(
        &self,
        year: i32,
        suffix: &str,
        at: OffsetDateTime,
    ) -> Result<Box<dyn NumberReservation>, StoreError>;
    /// Voids the pending lines reserved before `before` (issuances that never finished: a crash, a lost
    /// connection); how many.
    async fn void_stale_numbers(&self, before: OffsetDateTime, reason: &str) -> Result<u64, StoreError>;
    /// The lines of the book `year`/`suffix`, in number order.
    async fn book_lines(&self, year: i32, suffix: &str) -> Result<Vec<BookLine>, StoreError>;
    async fn copy(&self, code: &str) -> Result<Option<CopyRecord>, StoreError>;
    async fn copy_by_sha256(&self, sha256: &str) -> Result<Option<CopyRecord>, StoreError>;
    /// Copies issued under an idempotency key, in copy order.
    async fn copies_by_request_key(&self, key: &str) -> Result<Vec<CopyRecord>, StoreError>;
    /// The copies issued to the holder `holder_id`, newest first, at most `limit` (the citizen's wallet).
    async fn copies_by_holder(&self, holder_id: &str, limit: u32) -> Result<Vec<CopyRecord>, StoreError>;
    /// The intake decisions recorded at or after `since`, the oldest first, at most `limit` (for the dashboards:
    /// without their reports).
    async fn intake_since(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<IntakeBrief>, StoreError>;
    /// The copies of one book (year and suffix), by number then copy.
    async fn book_copies(&self, year: i32, suffix: &str) -> Result<Vec<CopyRecord>, StoreError>;
    /// Moves a `Valid` copy to `status` and appends `log` to the transparency log, atomically; `Conflict` if
    /// the copy is not valid any more, `NotFound` if unknown.
    async fn change_status(
        &self,
        code: &str,
        status: CopyStatus,
        reason: &str,
        decision_number: Option<&str>,
        at: OffsetDateTime,
        log: &LogRecord,
    ) -> Result<CopyRecord, StoreError>;
    /// Appends records to the transparency log in one transaction (events without a registry change of
    /// their own, and bulk loads).
    async fn append_log(&self, records: &[LogRecord]) -> Result<(), StoreError>;
    /// Up to `limit` log leaves from index `from`, in order.
    async fn log_entries(&self, from: u64, limit: u64) -> Result<Vec<LogEntry>, StoreError>;
    /// Every copy's code, SHA-256 and status, for the log audit.
    async fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError>;
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Whether any copy was issued from the request `request_id` (whose originals live under
    /// `originals/{request_id}/`).
    async fn request_exists(&self, request_id: &str) -> Result<bool, StoreError>;
    /// Records `fingerprint` as the installation's when the registry has none yet, and returns the one it
    /// holds (the first node's): nodes sharing a registry must share their keys and public address.
    async fn claim_installation(&self, fingerprint: &str) -> Result<String, StoreError>;
    /// Records `base_url` as the installation's public address when the registry has none yet (`None` records
    /// nothing), and returns the one it holds: the log's origin and every QR code's address come from it, so
    /// the nodes sharing a registry must name the same.
    async fn claim_public_address(&self, base_url: Option<&str>) -> Result<Option<String>, StoreError>;
    /// Every token, newest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    /// Marks a token revoked at `at`; false when no unrevoked token has this id.
    async fn revoke_token(&self, id: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Records that a token was accepted at `at`.
    async fn touch_token(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    /// Number of copies (for metrics and health).
    async fn count_copies(&self) -> Result<u64, StoreError>;
    /// Counts one more e-mail of the copy `code`, atomically across nodes, unless it was sent `max` times
    /// already (false; nothing counted, also for an unknown code).
    async fn count_email(&self, code: &str, max: u32) -> Result<bool, StoreError>;
    /// Keeps an intake decision (with its report) for officers and auditors.
    async fn insert_intake(&self, row: &IntakeRow) -> Result<(), StoreError>;
    /// Records how the request of an intake decision ended; with `issued`, the fingerprints of its pages are
    /// kept beside it (one transaction) for the duplicate check of later requests.
    async fn finish_intake(
        &self,
        id: &str,
        outcome: &str,
        codes: &[String],
        fingerprints: &[PageFingerprint],
    ) -> Result<(), StoreError>;
    async fn intake(&self, id: &str) -> Result<Option<IntakeRow>, StoreError>;
    /// The fingerprints of the most recently certified pages, newest first, at most `limit` (read from their own
    /// indexed table, not from the reports).
    async fn previous_pages(&self, limit: u32) -> Result<Vec<PreviousPage>, StoreError>;
    /// The certificates this installation's CA revoked (kept here, not beside the keys, so every server that
    /// shares the registry answers OCSP and CRLs alike), oldest first.
    async fn ca_revocations(&self) -> Result<Vec<CaRevocation>, StoreError>;
    /// Records a revocation; false when the serial was revoked already (the first revocation stands).
    async fn add_ca_revocation(&self, revocation: &CaRevocation) -> Result<bool, StoreError>;
    /// Records a citizen's satisfaction rating (1 very dissatisfied … 5 very satisfied) given at kiosk `device`.
    async fn add_rating(&self, device: &str, score: u8, at: OffsetDateTime) -> Result<(), StoreError>;
    /// How many ratings of each score (index 0: score 1) were given since `since`.
    async fn rating_counts(&self, since: OffsetDateTime) -> Result<[u64; 5], StoreError>;
    /// Records a fee payment a kiosk's request waits for (status `pending`).
    async fn insert_payment(&self, payment: &PaymentRow) -> Result<(), StoreError>;
    async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, StoreError>;
    /// Records the gateway's result of a pending payment (`paid` or `failed`), once: false when the payment
    /// was not pending (unknown, or settled before).
    async fn settle_payment(
        &self,
        reference: &str,
        paid: bool,
        gateway_ref: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Spends a paid payment on the request `request_key`, once; true also when that same request spent it
    /// before (a retry), false otherwise.
    async fn use_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError>;
    /// Gives back a payment `request_key` spent and then could not use (its dossier was not filed): paid
    /// again; false when that key had not spent it.
    async fn release_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError>;
    /// Points the copy `code` at the object `new_key` instead of `expected_key`, which stays listed as an
    /// earlier version, atomically; `Conflict` when the copy's object is not `expected_key` any more.
    async fn replace_pdf(
        &self,
        code: &str,
        expected_key: &str,
        new_key: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The objects that held earlier versions of the copy `code`, oldest first.
    async fn earlier_pdfs(&self, code: &str) -> Result<Vec<String>, StoreError>;
}

/// A fee payment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    /// The reference the gateway is given (`vnp_TxnRef`): capital letters and digits.
    pub reference: String,
    /// The kiosk (its token id) whose request it pays for.
    pub device: String,
    /// The request it pays for ([`crate::service::request_digest`]).
    pub request_digest: String,
    pub holder_id: String,
    pub amount_vnd: u64,
    /// `pending`, `paid`, `failed` or `used`.
    pub status: String,
    pub created_at: OffsetDateTime,
    pub settled_at: Option<OffsetDateTime>,
    /// The gateway's transaction number.
    pub gateway_ref: Option<String>,
    /// The request key of the issuance that spent it.
    pub used_by: Option<String>,
}

/// A certificate the installation's own CA revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRevocation {
    /// The serial number, lower-case hex without separators or leading zeros.
    pub serial: String,
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 CRLReason code.
    pub reason: u8,
}

impl CaRevocation {
    /// A serial as an operator types it (upper or lower case, with colons or spaces, a `0x`, leading zeros) in
    /// the stored form; `None` when it is not a hexadecimal number (a revocation of it would match nothing).
    pub fn normalise_serial(serial: &str) -> Option<String> {
        let hex: String = serial
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        let hex = hex.strip_prefix("0x").unwrap_or(&hex);
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let trimmed = hex.trim_start_matches('0');
        Some(if trimmed.is_empty() {
            "0".to_string()
        } else {
            trimmed.to_string()
        })
    }
}

/// A reserved certification number, written in the book as pending; see [`Registry::reserve_number`].
#[async_trait]
pub trait NumberReservation: Send + Sync {
    fn sequence(&self) -> u32;
    /// Writes the records and their log leaves and marks the line used, atomically. `Conflict` when a record
    /// with the same request key exists (a concurrent duplicate of an idempotent request), or when the line is
    /// no longer pending (voided as stale meanwhile); nothing is written then.
    async fn commit(&self, copies: &[CopyRecord], log: &[LogRecord]) -> Result<(), StoreError>;
    /// Voids the line (only while it is pending: a committed line stays used).
    async fn void(&self, reason: &str) -> Result<(), StoreError>;
}

/// How a line of the certification book stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BookLineStatus {
    /// Reserved by an issuance still running (or one that never finished, until it is voided as stale).
    Pending,
    Used,
    Voided,
}

impl BookLineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookLineStatus::Pending => "pending",
            BookLineStatus::Used => "used",
            BookLineStatus::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(BookLineStatus::Pending),
            "used" => Some(BookLineStatus::Used),
            "voided" => Some(BookLineStatus::Voided),
            _ => None,
        }
    }
}

/// One line of a certification book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookLine {
    pub sequence: u32,
    pub status: BookLineStatus,
    pub reserved_at: OffsetDateTime,
    /// Why the line was voided.
    pub void_reason: Option<String>,
}

/// An object as listed by [`Blobs::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    pub modified: OffsetDateTime,
    pub size: u64,
    /// A write that never finished (a local store's staging file); never named by a registry row.
    pub partial: bool,
}

/// Object storage for page files and signed PDFs.
#[async_trait]
pub trait Blobs: Send + Sync {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError>;
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every object under `prefix`, including writes that never finished.
    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StoreError>;
    /// Removes a listed object (a partial one too).
    async fn remove_listed(&self, object: &StoredObject) -> Result<(), StoreError>;
}

/// The text of the certification page, already in its legal wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationText {
    pub statement: String,
    pub number_line: String,
    pub date_line: String,
    pub place: String,
    pub issuing_body: String,
    pub signer_name: String,
    pub signer_title: String,
    pub document_type: String,
    pub holder_name: String,
    pub original_pages: u32,
    pub fee_line: String,
    pub english_lines: Vec<String>,
}

/// Recognised text of one original page, for the copy's invisible text layer (boxes in the page image's pixels).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageText {
    pub width: u32,
    pub height: u32,
    pub words: Vec<PageWord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWord {
    pub text: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What to compose into one signed copy.
#[derive(Debug, Clone)]
pub struct ComposeRequest {
    pub files: std::sync::Arc<Vec<Vec<u8>>>,
    pub code_display: String,
    pub qr_url: String,
    pub title: String,
    pub certification: CertificationText,
    pub issued_at: OffsetDateTime,
    /// The officer who approved and signs beside the organisation seal, if any.
    pub officer: Option<String>,
    /// OCR text per original page (empty: no text layer).
    pub text_layers: std::sync::Arc<Vec<Option<PageText>>>,
}

/// A signed copy.
#[derive(Debug, Clone)]
pub struct ComposedCopy {
    pub pdf: Vec<u8>,
    pub sha256: [u8; 32],
    pub pdf_pages: u32,
}

/// What the duplicate check keeps of a certified page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageFingerprint {
    /// The page's position in its request, from 0.
    pub page: u32,
    /// Perceptual hash, hex.
    pub dhash: String,
    /// Hash of the type and key fields read on the page, hex; `None` when none was read.
    pub content: Option<String>,
}

/// A page certified before, as the duplicate check is given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousPage {
    /// The copies' codes and the page ("CODE1,CODE2 page 2").
    pub reference: String,
    pub fingerprint: PageFingerprint,
}

/// An original as the intake is asked to check it: the page files and what the request claims about them.
#[derive(Debug, Clone)]
pub struct OriginalToCheck {
    pub files: std::sync::Arc<Vec<Vec<u8>>>,
    pub holder_id: String,
    pub holder_name: String,
    /// The document type the request names (free text, e.g. "Giấy khai sinh").
    pub claimed_type: String,
}

/// The intake's verdict on an original.
#[derive(Debug, Clone)]
pub struct IntakeVerdict {
    pub decision: IntakeDecision,
    /// The Art. 22 ground of a refusal, or why an officer must look; empty for a clean auto-issue.
    pub reason: String,
    /// The whole report (document type, fields, checks with evidence), JSON.
    pub report_json: String,
    /// Recognised words per page, for the copies' text layer.
    pub text_layers: Vec<Option<PageText>>,
    /// The document type recognised on the pages (the intake's stable name), when it knows it.
    pub recognised_type: Option<String>,
    /// Whether the claimed type names the recognised one; `None` when the intake cannot tell (either unknown).
    pub claim_matches: Option<bool>,
    /// One per page, kept once the request is issued.
    pub fingerprints: Vec<PageFingerprint>,
}

/// The checks on an original before it is certified (banso-intake behind it: OCR, recognition, the Art. 22
/// grounds, forensics, duplicates). Every issuance goes through one; an installation that runs no checks wires
/// [`crate::service::IntakeOff`], which sends every original to an officer.
#[async_trait]
pub trait DocumentIntake: Send + Sync {
    /// How many of the most recently certified pages the duplicate check compares with (0: it does not).
    fn duplicate_window(&self) -> u32;
    /// Reads and checks the original. `Err` only when the check itself failed (not for a bad original: that is
    /// a verdict).
    async fn check(&self, original: OriginalToCheck, previous: Vec<PreviousPage>) -> Result<IntakeVerdict>;
}

/// Renders and signs copies (banso-render + banso-signing behind it). Errors carry domain codes.
#[async_trait]
pub trait Composer: Send + Sync {
    /// Validates one page file; returns how many pages it holds.
    fn inspect(&self, file: &[u8]) -> Result<u32>;
    /// Whether a text the certification page prints (a name, a document type) can be printed; `Err`
    /// (ISS-0007) names the character that cannot.
    fn printable(&self, text: &str) -> Result<()>;
    async fn compose(&self, request: ComposeRequest) -> Result<ComposedCopy>;
    /// Who signs (the seal, and the officer if any), for the registry; `Err` for an unknown officer.
    fn signer_names(&self, officer: Option<&str>) -> Result<String>;
}

/// One signature's checks, from the PDF verifier.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckOutcome {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub detail: String,
}

impl CheckOutcome {
    pub fn pass(detail: impl Into<String>) -> Self {
        Self {
            ok: true,
            reason: None,
            detail: detail.into(),
        }
    }

    pub fn fail(reason: &str, detail: impl Into<String>) -> Self {
        Self {
            ok: false,
            reason: Some(reason.to_string()),
            detail: detail.into(),
        }
    }
}

/// The cryptographic part of a file verification.
#[derive(Debug, Clone)]
pub struct PdfFindings {
    pub sha256: [u8; 32],
    /// SHA-256 of the file as it was at each signed revision (earlier versions of the same copy: a copy
    /// extended with validation data and archive timestamps still matches the registry by these).
    pub revision_hashes: Vec<[u8; 32]>,
    pub signatures: Vec<SignatureFindings>,
    /// ETSI EN 319 102-1 style overall indication: TOTAL-PASSED, INDETERMINATE or TOTAL-FAILED.
    pub indication: String,
    pub sub_indication: Option<String>,
    /// The verifier's one verdict on the file's signatures (integrity, chain, coverage, changes, revocation
    /// against the installation's current CRLs), with its reason.
    pub verdict: CheckOutcome,
    /// The time the verdict was judged at.
    pub judged_at: OffsetDateTime,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SignatureFindings {
    /// "signature" or "document_timestamp".
    pub kind: String,
    pub signer: Option<String>,
    pub signing_time: Option<String>,
    pub integrity: CheckOutcome,
    pub chain: CheckOutcome,
    pub coverage: CheckOutcome,
    pub modifications: CheckOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<CheckOutcome>,
    pub revocation: CheckOutcome,
    pub indication: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_indication: Option<String>,
    /// The PAdES baseline level reached (signatures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

/// Checks signatures in a PDF against the configured trust store (CPU work: implementations run it off the
/// async threads).
#[async_trait]
pub trait PdfVerifier: Send + Sync {
    /// `Err` only when the bytes are not a PDF at all.
    async fn verify(&self, pdf: Vec<u8>, now: OffsetDateTime) -> Result<PdfFindings>;
}

/// The rule a holder's ID number must follow (a citizen ID number's structure, a passport number's form).
/// Implemented outside the core by the identity rules, so issuance and `banso id cccd` judge alike.
pub trait HolderIds: Send + Sync {
    /// `Err` holds a plain-language reason.
    fn check(&self, holder_id: &str, now: OffsetDateTime) -> Result<(), String>;
}

/// Time, injected so tests control it.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// Cryptographic randomness, injected so tests control it.
pub trait Entropy: Send + Sync {
    fn fill(&self, buf: &mut [u8]);
}

/// Adapts an [`Entropy`] to `rand::RngCore` for the code generator.
pub struct EntropyRng<'a>(pub &'a dyn Entropy);

impl rand::RngCore for EntropyRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> std::result::Result<(), rand::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

/// Dossiers, their timelines and ratings, and the deliveries their events owe (banso-store behind it: SQLite or
/// PostgreSQL). A dossier's change, its event and its deliveries are written in one transaction.
#[async_trait]
pub trait DossierStore: Send + Sync {
    /// The next number for dossier codes starting with `prefix` (a counter per prefix: a number taken by a
    /// submission that then failed is not used again).
    async fn next_dossier_number(&self, prefix: &str) -> Result<u32, StoreError>;
    /// A new dossier with its first event and the deliveries it owes.
    async fn insert_dossier(
        &self,
        dossier: &crate::dossier::Dossier,
        event: &crate::dossier::Event,
        deliveries: &[crate::dossier::Delivery],
    ) -> Result<(), StoreError>;
    async fn dossier(&self, code: &str) -> Result<Option<crate::dossier::Dossier>, StoreError>;
    /// Counts a wrong lookup code tried on the dossier `code`, atomically across nodes, in the window that began
    /// with its first wrong code (counted again from 1 when that began before `window_start`); the count now, 0
    /// for no such dossier.
    async fn wrong_lookup(
        &self,
        code: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError>;
    /// The wrong lookup codes counted on the dossier `code` in a window that began after `window_start`.
    async fn wrong_lookups(&self, code: &str, window_start: OffsetDateTime) -> Result<u32, StoreError>;
    /// The code of the dossier filed with the submission key `key` ([`crate::dossier::Dossier::key`]); the key
    /// is taken in the dossier's insert, and a second dossier with it is refused ([`StoreError::Conflict`]).
    async fn dossier_by_key(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes `dossier` over the stored one if that is still at `read_version` (else `false`: another change
    /// came first, and nothing is written), with its event and deliveries.
    async fn update_dossier(
        &self,
        dossier: &crate::dossier::Dossier,
        read_version: u64,
        event: &crate::dossier::Event,
        deliveries: &[crate::dossier::Delivery],
    ) -> Result<bool, StoreError>;
    /// A dossier's timeline, in order.
    async fn dossier_events(&self, code: &str) -> Result<Vec<crate::dossier::Event>, StoreError>;
    /// Every dossier's events after `after` in their global order, at most `limit` (the pull API's feed).
    async fn events_after(&self, after: u64, limit: u32) -> Result<Vec<crate::dossier::Event>, StoreError>;
    /// A holder's dossiers, newest first.
    async fn dossiers_by_holder(
        &self,
        holder_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::dossier::Dossier>, StoreError>;
    /// Dossiers not closed (neither returned nor refused), oldest received first, at most `limit`.
    async fn open_dossiers(&self, limit: u32) -> Result<Vec<crate::dossier::Dossier>, StoreError>;
    /// How many dossiers each procedure has (its code, the count).
    async fn procedure_counts(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Keeps a rating; `false` when this step of the dossier was rated already.
    async fn add_dossier_rating(&self, rating: &crate::dossier::Rating) -> Result<bool, StoreError>;
    async fn dossier_ratings(&self, code: &str) -> Result<Vec<crate::dossier::Rating>, StoreError>;
    /// Deliveries owed by something other than a dossier's change (a held request's outcome mailed to its
    /// citizen), written together.
    async fn insert_deliveries(&self, deliveries: &[crate::dossier::Delivery]) -> Result<(), StoreError>;
    /// The dossiers received at or after `since`, the oldest first, at most `limit`, as the dashboard counts
    /// them.
    async fn dossiers_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<DossierBrief>, StoreError>;
    /// Every dossier's ratings given at or after `since`, the oldest first, at most `limit`.
    async fn ratings_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::dossier::Rating>, StoreError>;
    /// Claims pending deliveries whose time has come (at most `limit`, oldest first): their next try is moved
    /// to `lease_until`, so that no other worker (on this node or another) takes them meanwhile, and a worker
    /// that dies holding them leaves them to be tried again then.
    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::dossier::Delivery>, StoreError>;
    /// Records an attempt at a delivery: its new state (`pending` for another try at `next_at`, `delivered`,
    /// `dead`), the attempts so far and the last error.
    async fn record_attempt(
        &self,
        id: &str,
        state: &str,
        attempts: u32,
        next_at: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Deliveries in a state (`dead`: the dead-letter list), newest first.
    async fn deliveries_in(
        &self,
        state: &str,
        limit: u32,
    ) -> Result<Vec<crate::dossier::Delivery>, StoreError>;
}

/// A one-page notice the service issues and signs with the organisation seal (the appointment slip; later
/// refusal notices): the text already laid out in lines by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The issuing body, upper left (e.g. "UBND PHƯỜNG VIỆT HƯNG").
    pub issuer: String,
    /// The form's number in its regulation (e.g. "Mẫu số 01"), upper right.
    pub form: String,
    pub title: String,
    /// Label and value lines.
    pub rows: Vec<(String, String)>,
    /// Free paragraphs after the rows.
    pub paragraphs: Vec<String>,
    /// A QR code of this text (an address), with a caption.
    pub qr: Option<(String, String)>,
    /// e.g. "Hà Nội, ngày 03 tháng 12 năm 2026".
    pub date_line: String,
    pub signer_title: String,
    pub signer_name: String,
    pub issued_at: OffsetDateTime,
    /// Document title for the PDF's metadata.
    pub doc_title: String,
}

/// An intake decision as the dashboards count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeBrief {
    pub recorded_at: OffsetDateTime,
    pub request_key: Option<String>,
    /// The kiosk (its token id) the request came from; none at the counter.
    pub device: Option<String>,
    pub decision: crate::model::IntakeDecision,
    pub reason: String,
    /// How its request ended (`issued`, `held`, `refused`, `approved`, …).
    pub outcome: String,
    /// The copies issued for it.
    pub copies: u32,
}

/// A dossier as the dashboard counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DossierBrief {
    /// The procedure's id in the catalogue.
    pub procedure: String,
    /// The kiosk (its token id) or `web` it came from; none for a dossier kept before channels were.
    pub channel: Option<String>,
    pub received_at: OffsetDateTime,
}

/// A book the body keeps (the certification book of a year), as a table over as many pages as it needs.
#[derive(Debug, Clone)]
pub struct Book {
    pub issuer: String,
    pub title: String,
    pub subtitle: Vec<String>,
    /// Column heads and their shares of the width (summing to 1).
    pub columns: Vec<(String, f32)>,
    pub rows: Vec<Vec<String>>,
    pub closing: Vec<String>,
    pub date_line: String,
    pub signer_title: String,
    pub signer_name: String,
    pub issued_at: OffsetDateTime,
    pub doc_title: String,
}

/// Makes and seals notices and results (banso-render + banso-signing behind it).
#[async_trait]
pub trait Notices: Send + Sync {
    /// The notice as a PDF signed with the organisation seal (with a signature timestamp).
    async fn notice(&self, notice: Notice) -> Result<Vec<u8>>;
    /// A PDF an officer made (a procedure's result), sealed in a new revision; its pages unchanged.
    async fn seal(&self, pdf: Vec<u8>, reason: &str, at: OffsetDateTime) -> Result<Vec<u8>>;
    /// The book as a PDF/A signed with the organisation seal (with a signature timestamp).
    async fn book(&self, book: Book) -> Result<Vec<u8>>;
}

/// Requests one node let through its per-client rate limits in a moment: so many of one kind from one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admits {
    /// The kind of request (`lookup`, `verify`, `timestamp`).
    pub kind: String,
    /// The client (an address or an IPv6 prefix, as the edge writes it).
    pub client: String,
    pub count: u32,
}

/// What the nodes of one deployment let through their rate limits, so that each node's limit of a client
/// also counts what the others admitted (banso-store: PostgreSQL; a SQLite registry has one node).
#[async_trait]
pub trait AdmitLog: Send + Sync {
    /// Appends the admits of `node` since its last call (one transaction, in one order with every other node's),
    /// forgets entries written before `forget_before`, and gives back the other nodes' entries written after
    /// position `after` — at most `max` of them — with the position to ask from next time.
    async fn exchange_admits(
        &self,
        node: &str,
        after: i64,
        mine: &[Admits],
        now: OffsetDateTime,
        forget_before: OffsetDateTime,
        max: u32,
    ) -> Result<(i64, Vec<Admits>), StoreError>;
}

/// A stored identity session (see [`crate::identity`]): known by the hash of its id, its stage sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 of the session's secret id, hex.
    pub key: String,
    /// `kiosk` or `web`: each pool is bounded on its own.
    pub pool: String,
    /// The kiosk (its token id) the session is bound to, or `web:…` for a browser's.
    pub device: String,
    pub started_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// Moves on with every change (the compare-and-set of [`SessionStore::advance_session`]).
    pub version: i64,
    /// The stage, sealed under a key only the id gives.
    pub sealed: String,
}

/// Live identity sessions, in the database every node shares (banso-store: SQLite or PostgreSQL).
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Adds `s` (at version 0), atomically against other nodes: removes the sessions of its pool that expired
    /// by `now`, and the device's oldest so that it keeps `per_device` with the new one; then false, writing
    /// nothing, when the pool already holds `max` live sessions.
    async fn insert_session(
        &self,
        s: &StoredSession,
        per_device: u32,
        max: u32,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// The session `key`, if it has not expired at `now`.
    async fn session(&self, key: &str, now: OffsetDateTime) -> Result<Option<StoredSession>, StoreError>;
    /// Replaces the sealed stage of the device's session `key`, and moves its version on, only when its version
    /// is still `version` and it has not expired at `now`; false otherwise.
    async fn advance_session(
        &self,
        key: &str,
        device: &str,
        version: i64,
        sealed: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Ends the device's session `key`; false when there was none.
    async fn delete_session(&self, key: &str, device: &str) -> Result<bool, StoreError>;
    /// The sessions of `pool` live at `now`.
    async fn live_sessions(&self, pool: &str, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Officers' accounts, their sessions and the audit log of the back office (banso-store behind it: SQLite or
/// PostgreSQL).
#[async_trait]
pub trait OfficeStore: Send + Sync {
    /// A new account; `Conflict` when the username is taken.
    async fn insert_officer(&self, officer: &crate::office::Officer) -> Result<(), StoreError>;
    async fn officer(&self, username: &str) -> Result<Option<crate::office::Officer>, StoreError>;
    /// Every account of `body`, by username.
    async fn officers_of(&self, body: &str) -> Result<Vec<crate::office::Officer>, StoreError>;
    /// Counts a login attempt against the account, atomically: its failures in a row (counted again from 1
    /// when a lock ended before `now`), locking it until `lock_until` when they reach `max`; the count now (0
    /// for an unknown username). Counted before the attempt is checked, so concurrent attempts cannot all slip
    /// in before the lock.
    async fn login_failed(
        &self,
        username: &str,
        max: u32,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<u32, StoreError>;
    /// A good login: the failures back to 0 and the lock lifted.
    async fn login_succeeded(&self, username: &str) -> Result<(), StoreError>;
    /// Takes the TOTP step `step` for `username` if it is later than the last one taken (false: taken already,
    /// by this login or a concurrent one).
    async fn take_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError>;
    async fn insert_office_session(&self, session: &crate::office::OfficeSession) -> Result<(), StoreError>;
    async fn office_session(&self, id: &str) -> Result<Option<crate::office::OfficeSession>, StoreError>;
    /// Moves a session's last use to `at`.
    async fn touch_office_session(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    async fn delete_office_session(&self, id: &str) -> Result<(), StoreError>;
    /// Appends an entry to the audit log, chained to the last one ([`crate::office::audit_hash`]) under the
    /// store's own lock, so that concurrent appends chain in one line; the entry as written.
    async fn append_audit(
        &self,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        target: &str,
        from: &str,
    ) -> Result<crate::office::AuditEntry, StoreError>;
    /// Entries after `after`, in order, at most `limit`.
    async fn audit_entries(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crate::office::AuditEntry>, StoreError>;
    /// A one-time enrolment code (its SHA-256) for a kiosk to be named `name`, valid until `expires_at`.
    async fn insert_enrolment(
        &self,
        code_hash: &str,
        name: &str,
        created_by: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Uses an enrolment code, atomically and once, if it has not expired at `now`: the kiosk's name.
    async fn take_enrolment(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError>;
    /// A kiosk's heartbeat (or its enrolment, `state` `{}`): made known, or its last sight and state moved.
    async fn device_seen(
        &self,
        token_id: &str,
        name: &str,
        now: OffsetDateTime,
        state: &str,
    ) -> Result<(), StoreError>;
    async fn devices(&self) -> Result<Vec<crate::office::Device>, StoreError>;
    /// A passkey registered by its officer; `Conflict` when its credential id is taken.
    async fn insert_passkey(&self, key: &crate::office::Passkey) -> Result<(), StoreError>;
    async fn passkeys_of(&self, username: &str) -> Result<Vec<crate::office::Passkey>, StoreError>;
    /// Moves a passkey's signature counter to `count`, atomically, only forward (or 0 to 0 for authenticators
    /// that keep none); false when it would not move so (a replayed or copied key).
    async fn advance_passkey(&self, id: &str, count: u32) -> Result<bool, StoreError>;
    /// A request the intake held, for the review queue; `Conflict` when its id is taken.
    async fn insert_review(&self, review: &crate::office::Review) -> Result<(), StoreError>;
    /// Keeps the address the citizen wants a held request's outcome mailed to: while it waits, or once after it
    /// was decided without one. Its state then; none when nothing was written (no such request, or decided and
    /// given an address already).
    async fn notify_review(
        &self,
        id: &str,
        address: &str,
    ) -> Result<Option<crate::office::ReviewState>, StoreError>;
    async fn review(&self, id: &str) -> Result<Option<crate::office::Review>, StoreError>;
    /// The requests waiting for an officer, the oldest first, at most `limit`.
    async fn waiting_reviews(&self, limit: u32) -> Result<Vec<crate::office::Review>, StoreError>;
    /// The requests held at or after `since`, whatever their state, the oldest first, at most `limit`.
    async fn reviews_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<crate::office::Review>, StoreError>;
    /// The decided requests of one holder, the newest first, at most `limit`.
    async fn holder_reviews(
        &self,
        holder_id: &str,
        limit: u32,
    ) -> Result<Vec<crate::office::Review>, StoreError>;
    /// Claims a waiting request for `officer` at `now`, atomically, unless another officer's claim made at or
    /// after `lapsed_before` holds it; true when `officer` holds it now.
    async fn claim_review(
        &self,
        id: &str,
        officer: &str,
        now: OffsetDateTime,
        lapsed_before: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Ends a waiting request `officer` holds by a claim made at or after `lapsed_before`, atomically: its new
    /// state and the request as it ended. False when it is not so (decided already, or claimed by another).
    async fn finish_review(
        &self,
        id: &str,
        officer: &str,
        state: crate::office::ReviewState,
        request: &crate::office::HeldRequest,
        now: OffsetDateTime,
        lapsed_before: OffsetDateTime,
    ) -> Result<bool, StoreError>;
}

/// Runs a CPU-heavy check (an officer's password against its Argon2id hash) off the async threads, so that
/// sign-ins never stall other requests (tokio's blocking pool behind it in `banso serve`).
#[async_trait]
pub trait CpuWork: Send + Sync {
    async fn check(&self, job: Box<dyn FnOnce() -> bool + Send>) -> bool;
}
