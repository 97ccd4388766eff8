//! The use cases: issue, look up, open, revoke/cancel, verify. Every edge (CLI, HTTP API, pages, jobs)
//! calls these; none re-implements a rule.

use crate::code::{random_secret, VerificationCode};
use crate::error::{Code, Error, Result};
use crate::model::{CopyRecord, CopyStatus, IntakeDecision, IntakeRow};
use crate::ports::{
    Blobs, CertificationText, CheckOutcome, Clock, ComposeRequest, Composer, DocumentIntake, Entropy,
    EntropyRng, IntakeVerdict, OriginalToCheck, PageFingerprint, PdfVerifier, PreviousPage, Registry,
    SignatureFindings, StoreError,
};
use crate::rules::{
    format_vnd, legal_year, vietnamese_date, CertificationNumber, FeeSchedule, NumberingPolicy,
};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// A reserved number is voided as stale only after this long, even when the objects' grace period is shorter
/// (`maintain sweep --grace-minutes 0`): no issuance runs an hour, and voiding a running one's line makes its
/// commit fail.
pub const STALE_NUMBER_FLOOR: time::Duration = time::Duration::HOUR;

/// The legal statement of Decree 23/2015 Art. 20.
pub const STATEMENT: &str = "Chứng thực bản sao đúng với bản chính.";
/// The watermark every page carries.
pub const WATERMARK: &str = "TTPVHCC";

/// Settings of the issuing body and the service.
#[derive(Clone)]
pub struct Settings {
    pub issuing_body: String,
    pub place: String,
    pub signer_name: String,
    pub signer_title: String,
    pub numbering: NumberingPolicy,
    pub fees: FeeSchedule,
    /// Base URL of the public verification portal used in QR codes, without a trailing slash.
    pub public_base_url: String,
    pub max_copies: u32,
    /// Secret from which capability keys are derived (HMAC-SHA256 of the code). Never logged.
    pub capability_secret: Vec<u8>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuing_body", &self.issuing_body)
            .field("place", &self.place)
            .field("numbering", &self.numbering)
            .field("fees", &self.fees)
            .field("public_base_url", &self.public_base_url)
            .field("capability_secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A request to certify copies of one original.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub holder_id: String,
    pub holder_name: String,
    pub document_type: String,
    pub copies: u32,
    /// Page files (JPEG, PNG, PDF) in order.
    pub files: Vec<Vec<u8>>,
    /// Idempotency key: the same key returns the copies issued the first time.
    pub request_key: Option<String>,
    /// The officer who approved the request and co-signs the copies (with the organisation seal).
    pub officer: Option<String>,
    /// The staff member who sent the request (an officer's own request is the review of a flagged original).
    /// A request without one (a kiosk's) issues only what the intake lets through on its own.
    pub reviewed_by: Option<String>,
}

/// An original the service's [`DocumentIntake`] checked, with its kept intake record. Copies are made only
/// from one, and only [`Service`] makes one: its fields are private, so no edge can hand the issuance a verdict
/// of its own.
///
/// Outside the core a checked original can be read but not made up: with every field given its right type,
/// the literal is refused for the fields' privacy alone (were they public, this would compile and the test fail).
///
/// ```compile_fail
/// use banso_core::model::IntakeDecision;
/// use std::sync::Arc;
/// let forged = banso_core::service::CheckedOriginal {
///     intake_id: String::new(),
///     decision: IntakeDecision::AutoIssue,
///     reason: String::new(),
///     files: Arc::new(vec![b"page".to_vec()]),
///     pages: 1,
///     text_layers: Arc::new(vec![None]),
///     fingerprints: Vec::new(),
/// };
/// ```
///
/// ```
/// fn shown(original: &banso_core::service::CheckedOriginal) -> (&str, u32) {
///     (original.intake_id(), original.pages())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct CheckedOriginal {
    intake_id: String,
    decision: IntakeDecision,
    reason: String,
    /// The very bytes the intake read: the copies are made of these.
    files: Arc<Vec<Vec<u8>>>,
    pages: u32,
    text_layers: Arc<Vec<Option<crate::ports::PageText>>>,
    fingerprints: Vec<PageFingerprint>,
}

impl CheckedOriginal {
    /// The kept intake record's id.
    pub fn intake_id(&self) -> &str {
        &self.intake_id
    }
    pub fn decision(&self) -> IntakeDecision {
        self.decision
    }
    /// Why an officer must look (empty for a clean auto-issue).
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// Pages of the original.
    pub fn pages(&self) -> u32 {
        self.pages
    }
}

/// The intake switched off, as an explicit adapter: it checks nothing, so nothing passes on its word. Every
/// original goes to an officer; a request an officer sends or approves is certified on the officer's review.
pub struct IntakeOff;

#[async_trait::async_trait]
impl DocumentIntake for IntakeOff {
    fn duplicate_window(&self) -> u32 {
        0
    }

    async fn check(&self, original: OriginalToCheck, _previous: Vec<PreviousPage>) -> Result<IntakeVerdict> {
        Ok(IntakeVerdict {
            decision: IntakeDecision::OfficerReview,
            reason: "the intake checks are off in this installation: an officer must look at every original"
                .to_string(),
            report_json: r#"{"intake":"off"}"#.to_string(),
            text_layers: vec![None; original.files.len()],
            recognised_type: None,
            claim_matches: None,
            fingerprints: Vec::new(),
        })
    }
}

/// One issued copy with the capability key its QR carries (the key is derived, never stored).
#[derive(Debug, Clone)]
pub struct IssuedCopy {
    pub record: CopyRecord,
    pub capability_key: String,
    pub qr_url: String,
}

/// The result of an issuance.
#[derive(Debug, Clone)]
pub struct Issuance {
    pub copies: Vec<IssuedCopy>,
    pub number: CertificationNumber,
    pub fee_total_vnd: u64,
    /// True when an idempotent request was replayed and nothing new was issued.
    pub replayed: bool,
    /// The kept intake decision, when the request carried one.
    pub intake_id: Option<String>,
}

/// How an issuance request ended when it did not fail.
#[derive(Debug, Clone)]
pub enum IssueOutcome {
    Issued(Issuance),
    /// The intake asked for an officer and none sent or approved the request: nothing was issued, the request
    /// waits in its kept intake record. Not an error: the request was taken, and an officer will see it.
    Held(HeldForReview),
}

impl IssueOutcome {
    /// The issuance, or `ISS-0009` for a held request (for callers that only ever issue, such as benchmarks).
    pub fn issued(self) -> Result<Issuance> {
        match self {
            IssueOutcome::Issued(i) => Ok(i),
            IssueOutcome::Held(h) => Err(Error::new(Code::Iss0009NeedsReview, h.message())),
        }
    }
}

/// A request held for an officer's review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldForReview {
    /// The kept intake record, where the officer finds it.
    pub intake_id: String,
    /// Why an officer must look.
    pub reason: String,
}

impl HeldForReview {
    /// The stable code of a held request.
    pub const CODE: Code = Code::Iss0009NeedsReview;

    pub fn message(&self) -> String {
        format!(
            "an officer must review this original first: {} (intake record {})",
            self.reason, self.intake_id
        )
    }
}

/// What anyone may see of a copy from its code alone: no personal data.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublicCopy {
    pub code: String,
    pub status: CopyStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_number: Option<String>,
    pub document_type: String,
    pub issuing_body: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub pages: u32,
    pub sha256: String,
}

impl PublicCopy {
    pub fn from_record(r: &CopyRecord) -> Self {
        Self {
            code: VerificationCode::parse(&r.code)
                .map(|c| c.display_grouped())
                .unwrap_or_else(|_| r.code.clone()),
            status: r.status,
            status_reason: r.status_reason.clone(),
            decision_number: r.decision_number.clone(),
            document_type: r.document_type.clone(),
            issuing_body: r.issuing_body.clone(),
            issued_at: r.issued_at,
            pages: r.pdf_pages,
            sha256: r.sha256.clone(),
        }
    }
}

/// The report of a file verification: each check separate, with its own reason.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// True when every check passed.
    pub valid: bool,
    pub sha256: String,
    /// Overall ETSI-style indication of the signatures (TOTAL-PASSED / INDETERMINATE / TOTAL-FAILED).
    pub indication: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_indication: Option<String>,
    pub signatures: Vec<SignatureFindings>,
    /// The verifier's verdict on the signatures: at least one, all intact, trusted, covering their revision,
    /// unchanged since, and none of their certificates revoked before it was proved to exist.
    pub signature: CheckOutcome,
    /// When the file was judged (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub judged_at: OffsetDateTime,
    /// The file is a copy the registry issued (same SHA-256).
    pub registry: CheckOutcome,
    /// The registered copy is valid (not revoked, cancelled or superseded).
    pub status: CheckOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<PublicCopy>,
    /// The inclusion proof of the copy's issuance in the transparency log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<crate::transparency::InclusionProof>,
}

/// Everything the use cases need.
#[derive(Clone)]
pub struct Service {
    registry: Arc<dyn Registry>,
    blobs: Arc<dyn Blobs>,
    composer: Arc<dyn Composer>,
    verifier: Arc<dyn PdfVerifier>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    settings: Arc<Settings>,
    /// The transparency log's tree, kept in step with the database.
    log: Arc<crate::transparency::TransparencyLog>,
    /// The rule holders' ID numbers follow.
    holder_ids: Arc<dyn crate::ports::HolderIds>,
    /// The checks every original goes through before it is certified ([`IntakeOff`] when none run).
    intake: Arc<dyn DocumentIntake>,
}

/// The adapters a [`Service`] is built from (the composition root fills it; the edges then reach them only
/// through the use cases).
pub struct Ports {
    pub registry: Arc<dyn Registry>,
    pub blobs: Arc<dyn Blobs>,
    pub composer: Arc<dyn Composer>,
    pub verifier: Arc<dyn PdfVerifier>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub holder_ids: Arc<dyn crate::ports::HolderIds>,
    pub intake: Arc<dyn DocumentIntake>,
}

/// What [`Service::sweep_orphans`] found and did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: u64,
    /// Named by a registry row: kept.
    pub kept: u64,
    /// Newer than the grace period: left for now (an issuance may still be running).
    pub too_recent: u64,
    /// Keys of objects removed.
    pub removed: Vec<String>,
    pub removed_bytes: u64,
    /// Keys of a shape the sweeper does not know: left alone.
    pub unknown: Vec<String>,
    /// Book lines left pending longer than the grace period by issuances that never finished, now voided.
    pub voided_numbers: u64,
}

/// The SHA-256 (hex) of what an issuance request asks for: holder, document type, number of copies and
/// every page file, each part length-prefixed so no two requests share a digest by shifting bytes.
pub fn request_digest(request: &IssueRequest) -> String {
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    part(request.holder_id.trim().as_bytes());
    part(request.holder_name.trim().as_bytes());
    part(request.document_type.trim().as_bytes());
    part(&request.copies.to_be_bytes());
    for file in &request.files {
        part(&Sha256::digest(file));
    }
    hex::encode(h.finalize())
}

/// The capability key of the copy `code` under `secret`: the first 128 bits of HMAC-SHA256(secret, code), in
/// base32 without look-alike letters. Printed in every copy's QR URL: it must never change for a given secret.
fn capability_key_for(secret: &[u8], code: &str) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstvwxyz0123456789";
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(code.as_bytes());
    let mac = mac.finalize().into_bytes();
    let mut out = String::new();
    let mut acc: u32 = 0;
    let mut bits = 0;
    for b in &mac[..16] {
        acc = (acc << 8) | *b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn check_field(name: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("{name} is required"),
        ));
    }
    if value.chars().count() > max {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("{name} is longer than {max} characters"),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("{name} contains control characters"),
        ));
    }
    Ok(())
}

impl Service {
    pub fn new(ports: Ports, settings: Settings) -> Self {
        let Ports {
            registry,
            blobs,
            composer,
            verifier,
            clock,
            entropy,
            holder_ids,
            intake,
        } = ports;
        Self {
            registry,
            blobs,
            composer,
            verifier,
            clock,
            entropy,
            settings: Arc::new(settings),
            log: Arc::new(crate::transparency::TransparencyLog::new()),
            holder_ids,
            intake,
        }
    }

    /// The service's time (the injected clock).
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Number of copies issued (health and metrics).
    pub async fn count_copies(&self) -> Result<u64> {
        Ok(self.registry.count_copies().await?)
    }

    /// The certificates the installation's CA revoked (for its OCSP answers, CRLs and validation data).
    pub async fn ca_revocations(&self) -> Result<Vec<crate::ports::CaRevocation>> {
        Ok(self.registry.ca_revocations().await?)
    }

    /// The log's size and root, brought in step with the registry first (for signed checkpoints).
    pub async fn log_head(&self) -> Result<(u64, crate::merkle::Hash)> {
        self.log.sync(self.registry.as_ref()).await?;
        self.log.head()
    }

    /// A consistency proof between two sizes of the log.
    pub async fn log_consistency(
        &self,
        first: u64,
        second: u64,
    ) -> Result<crate::transparency::ConsistencyProof> {
        self.log.consistency(self.registry.as_ref(), first, second).await
    }

    /// Re-reads the whole log and checks it against the registry (and a trusted earlier head, if given).
    pub async fn audit_log(
        &self,
        trusted: Option<(u64, crate::merkle::Hash)>,
    ) -> Result<crate::transparency::AuditReport> {
        crate::transparency::audit(self.registry.as_ref(), trusted).await
    }

    /// Codes of the copies that are valid now (for long-term upkeep).
    pub async fn valid_codes(&self) -> Result<Vec<String>> {
        Ok(self
            .registry
            .audit_rows()
            .await?
            .into_iter()
            .filter(|r| r.status == CopyStatus::Valid)
            .map(|r| r.code)
            .collect())
    }

    /// A copy and its stored PDF, for the operator's own tools (the CLI writing an issued copy out, upkeep);
    /// anyone else opens a PDF with its capability key ([`Service::open_pdf`]).
    pub async fn stored_pdf(&self, code: &str) -> Result<(CopyRecord, Vec<u8>)> {
        let record = self.record(code).await?;
        let pdf = self.blobs.get(&record.pdf_key).await?;
        Ok((record, pdf))
    }

    /// The capability key of a copy: 128 bits of HMAC-SHA256(secret, code), base32.
    pub fn capability_key(&self, code: &VerificationCode) -> String {
        capability_key_for(&self.settings.capability_secret, code.as_str())
    }

    fn key_opens(&self, code: &VerificationCode, key: &str) -> bool {
        self.capability_key(code)
            .as_bytes()
            .ct_eq(key.trim().as_bytes())
            .into()
    }

    /// The QR URL of a copy: the public verification page with the capability key.
    pub fn qr_url(&self, code: &VerificationCode) -> String {
        format!(
            "{}/v/{}?k={}",
            self.settings.public_base_url,
            code.as_str(),
            self.capability_key(code)
        )
    }

    /// The copies issued earlier under the request's idempotency key — when the request is the same one.
    /// The same key with another request is a conflict: answering it with the first holder's copies and
    /// capability keys would hand them to whoever guessed or reused the key.
    fn replay(&self, existing: Vec<CopyRecord>, request: &IssueRequest) -> Result<Issuance> {
        let digest = request_digest(request);
        if existing
            .iter()
            .any(|r| r.request_digest.as_deref().is_some_and(|d| d != digest))
        {
            return Err(Error::new(
                Code::Iss0011IdempotencyConflict,
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        self.issued(existing, true)
    }

    fn issued(&self, records: Vec<CopyRecord>, replayed: bool) -> Result<Issuance> {
        let first = records
            .first()
            .ok_or_else(|| Error::new(Code::Sys0003Internal, "no copies"))?;
        let number = first.number();
        let fee_total_vnd = records.iter().map(|r| r.fee_vnd).sum();
        let copies = records
            .into_iter()
            .map(|record| {
                let code = VerificationCode::parse(&record.code)?;
                Ok(IssuedCopy {
                    capability_key: self.capability_key(&code),
                    qr_url: self.qr_url(&code),
                    record,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Issuance {
            copies,
            number,
            fee_total_vnd,
            replayed,
            intake_id: None,
        })
    }

    /// Certifies `request.copies` copies of one original. All or nothing: on any failure no registry row,
    /// no certification number and no stored object remains. The original goes through the service's intake
    /// first; its decision is kept, and a refusal or a hold issues nothing.
    pub async fn issue(&self, request: IssueRequest) -> Result<IssueOutcome> {
        check_field("holder ID", &request.holder_id, 64)?;
        self.holder_ids
            .check(request.holder_id.trim(), self.clock.now())
            .map_err(|why| Error::new(Code::Iss0010HolderId, why))?;
        check_field("holder name", &request.holder_name, 200)?;
        check_field("document type", &request.document_type, 200)?;
        // Printed on the certification page: refused now, before any work, object or number.
        for (name, text) in [
            ("holder name", &request.holder_name),
            ("document type", &request.document_type),
        ] {
            self.composer
                .printable(text.trim())
                .map_err(|e| Error::new(e.code, format!("the {name}: {}", e.message)))?;
        }
        if request.copies == 0 || request.copies > self.settings.max_copies {
            return Err(Error::new(
                Code::Iss0006TooManyCopies,
                format!(
                    "between 1 and {} copies can be certified at once",
                    self.settings.max_copies
                ),
            ));
        }
        if request.files.is_empty() {
            return Err(Error::new(Code::Iss0001NoPages, "no page was given"));
        }
        if let Some(key) = &request.request_key {
            check_field("request key", key, 200)?;
            let existing = self.registry.copies_by_request_key(key).await?;
            if !existing.is_empty() {
                return self.replay(existing, &request).map(IssueOutcome::Issued);
            }
        }
        let original = match self.check_original(&request).await? {
            Ok(original) => original,
            Err(held) => return Ok(IssueOutcome::Held(held)),
        };
        let intake_id = original.intake_id.clone();
        let fingerprints = original.fingerprints.clone();
        let result = self.issue_checked(&request, original).await;
        // An issued request's pages are kept for the duplicate check of later ones; a failed one's are not.
        let (outcome, codes, kept) = match &result {
            Ok(i) => (
                "issued",
                i.copies.iter().map(|c| c.record.code.clone()).collect(),
                fingerprints.as_slice(),
            ),
            Err(_) => ("failed", Vec::new(), &[][..]),
        };
        if let Err(e) = self
            .registry
            .finish_intake(&intake_id, outcome, &codes, kept)
            .await
        {
            tracing::warn!(intake = %intake_id, outcome, error = %e, "could not record how the request ended");
        }
        result.map(|mut i| {
            i.intake_id = Some(intake_id);
            IssueOutcome::Issued(i)
        })
    }

    /// A kept intake decision with its report and how its request ended (for officers and auditors).
    pub async fn intake_record(&self, id: &str) -> Result<IntakeRow> {
        self.registry
            .intake(id.trim())
            .await?
            .ok_or_else(|| Error::new(Code::Req0002NoSuchEndpoint, "no intake record has this id"))
    }

    /// Checks that every page file is a readable JPEG, PNG or PDF (cheaply, by its structure); the page count.
    pub fn check_files(&self, files: &[Vec<u8>]) -> Result<u32> {
        if files.is_empty() {
            return Err(Error::new(Code::Iss0001NoPages, "no page was given"));
        }
        let mut original_pages = 0u32;
        for (i, file) in files.iter().enumerate() {
            original_pages += self
                .composer
                .inspect(file)
                .map_err(|e| Error::new(e.code, format!("page file {}: {}", i + 1, e.message)))?;
        }
        if original_pages == 0 {
            return Err(Error::new(Code::Iss0001NoPages, "the files hold no page"));
        }
        Ok(original_pages)
    }

    /// Runs the intake over the request's original and keeps its decision; refuses or holds the request when
    /// the decision says so. The recognised document type is kept beside the claimed one, and a type the
    /// intake recognised that the request does not name sends the original to an officer.
    async fn check_original(
        &self,
        request: &IssueRequest,
    ) -> Result<std::result::Result<CheckedOriginal, HeldForReview>> {
        let pages = self.check_files(&request.files)?;
        let window = self.intake.duplicate_window();
        let previous = if window > 0 {
            self.registry.previous_pages(window).await?
        } else {
            Vec::new()
        };
        let files = Arc::new(request.files.clone());
        let verdict = self
            .intake
            .check(
                OriginalToCheck {
                    files: files.clone(),
                    holder_id: request.holder_id.trim().to_string(),
                    holder_name: request.holder_name.trim().to_string(),
                    claimed_type: request.document_type.trim().to_string(),
                },
                previous,
            )
            .await?;
        let IntakeVerdict {
            mut decision,
            reason,
            report_json,
            text_layers,
            recognised_type,
            claim_matches,
            fingerprints,
        } = verdict;
        let mut reason = reason.trim().to_string();
        // What the pages read as must be what the request names (and so what the certification page prints);
        // a claim the intake cannot place beside a type it did recognise is not taken on the edge's word.
        if let (Some(recognised), false) = (&recognised_type, claim_matches == Some(true)) {
            let mismatch = match claim_matches {
                Some(_) => format!(
                    "the pages read as {recognised}, which is not the document type the request names ({})",
                    request.document_type.trim()
                ),
                None => format!(
                    "the pages read as {recognised}; the document type the request names ({}) is not one the \
                     intake can match against it",
                    request.document_type.trim()
                ),
            };
            if decision == IntakeDecision::AutoIssue {
                decision = IntakeDecision::OfficerReview;
            }
            reason = if reason.is_empty() {
                mismatch
            } else {
                format!("{reason}; {mismatch}")
            };
        }
        let id = random_secret(&mut EntropyRng(self.entropy.as_ref()), 15);
        let refused = decision == IntakeDecision::Refuse;
        let held = decision == IntakeDecision::OfficerReview
            && request.reviewed_by.is_none()
            && request.officer.is_none();
        let outcome = if refused {
            "refused"
        } else if held {
            "held"
        } else {
            "pending"
        };
        self.registry
            .insert_intake(&IntakeRow {
                id: id.clone(),
                recorded_at: self.clock.now(),
                request_key: request.request_key.clone(),
                holder_id: request.holder_id.trim().to_string(),
                claimed_type: request.document_type.trim().to_string(),
                recognised_type,
                decision,
                reason: reason.clone(),
                report: report_json,
                outcome: outcome.to_string(),
                codes: Vec::new(),
            })
            .await?;
        if refused {
            return Err(Error::new(
                Code::Iss0008Refused,
                format!(
                    "the original cannot be certified (Decree 23, Art. 22): {reason} (intake record {id})"
                ),
            ));
        }
        if held {
            return Ok(Err(HeldForReview {
                intake_id: id,
                reason,
            }));
        }
        Ok(Ok(CheckedOriginal {
            intake_id: id,
            decision,
            reason,
            files,
            pages,
            text_layers: Arc::new(text_layers),
            fingerprints,
        }))
    }

    async fn issue_checked(&self, request: &IssueRequest, original: CheckedOriginal) -> Result<Issuance> {
        let original_pages = original.pages;
        let now = self.clock.now();
        let settings = &self.settings;
        let reservation = self
            .registry
            .reserve_number(legal_year(now), &settings.numbering.suffix, now)
            .await?;
        let number = CertificationNumber::new(reservation.sequence(), legal_year(now), &settings.numbering);
        let fee = settings.fees.per_copy(original_pages);

        let mut written: Vec<String> = Vec::new();
        let outcome = self
            .issue_held(request, &original, &number, fee, now, &mut written)
            .await;
        let records = match outcome {
            Ok(records) => records,
            Err(e) => {
                self.void(
                    reservation.as_ref(),
                    &number,
                    &format!("the issuance failed ({})", e.code.as_str()),
                )
                .await;
                self.remove_all(&written).await;
                return Err(e);
            }
        };
        let log: Vec<_> = records.iter().map(crate::transparency::issued_record).collect();
        match reservation.commit(&records, &log).await {
            Ok(()) => self.issued(records, false),
            Err(e) => {
                // A commit whose answer was lost may still have happened: never delete the objects of
                // copies that are registered. When the registry cannot even be asked, keep the objects and
                // the pending line: the sweeper voids the line and removes the objects later if no row names
                // them.
                if let Some(first) = records.first() {
                    match self.registry.copy(&first.code).await {
                        Ok(Some(_)) => return self.issued(records, false),
                        Ok(None) => {}
                        Err(lookup) => {
                            tracing::warn!(error = %e, lookup = %lookup, "the commit's outcome is unknown; objects kept for the sweeper");
                            return Err(e.into());
                        }
                    }
                }
                self.void(
                    reservation.as_ref(),
                    &number,
                    &format!("the registry did not take the records: {e}"),
                )
                .await;
                self.remove_all(&written).await;
                if let (StoreError::Conflict(_), Some(key)) = (&e, &request.request_key) {
                    let existing = self.registry.copies_by_request_key(key).await?;
                    if !existing.is_empty() {
                        return self.replay(existing, request);
                    }
                }
                Err(e.into())
            }
        }
    }

    /// Voids a reserved number's line in the book; a line left pending (the registry unreachable) is voided
    /// later as stale ([`Service::void_stale_numbers`]).
    async fn void(
        &self,
        reservation: &dyn crate::ports::NumberReservation,
        number: &CertificationNumber,
        reason: &str,
    ) {
        if let Err(e) = reservation.void(reason).await {
            tracing::warn!(number = %number.label(), error = %e, "could not void a reserved number; it stays pending until voided as stale");
        }
    }

    /// Voids the book lines reserved more than `older_than` ago by issuances that never finished.
    pub async fn void_stale_numbers(&self, older_than: time::Duration) -> Result<u64> {
        let before = self.clock.now() - older_than;
        Ok(self
            .registry
            .void_stale_numbers(before, "the issuance did not finish")
            .await?)
    }

    async fn issue_held(
        &self,
        request: &IssueRequest,
        original: &CheckedOriginal,
        number: &CertificationNumber,
        fee: u64,
        now: OffsetDateTime,
        written: &mut Vec<String>,
    ) -> Result<Vec<CopyRecord>> {
        let settings = &self.settings;
        let request_id = random_secret(&mut EntropyRng(self.entropy.as_ref()), 15);
        let original_pages = original.pages;
        let mut original_keys = Vec::with_capacity(original.files.len());
        for (i, file) in original.files.iter().enumerate() {
            let key = format!("originals/{request_id}/{:03}", i + 1);
            self.blobs.put(&key, file.clone()).await?;
            written.push(key.clone());
            original_keys.push(key);
        }
        let files = original.files.clone();
        let digest = request.request_key.as_ref().map(|_| request_digest(request));
        let certification = CertificationText {
            statement: STATEMENT.to_string(),
            number_line: number.label(),
            date_line: vietnamese_date(now),
            place: settings.place.clone(),
            issuing_body: settings.issuing_body.clone(),
            signer_name: settings.signer_name.clone(),
            signer_title: settings.signer_title.clone(),
            document_type: request.document_type.trim().to_string(),
            holder_name: request.holder_name.trim().to_string(),
            original_pages,
            fee_line: format!("Lệ phí: {}", format_vnd(fee)),
            english_lines: vec![
                "Certified to be a true copy of the original.".to_string(),
                format!(
                    "Certification no. {} in book {:02}/{}-{}, issued {} by {}.",
                    number.sequence,
                    number.book,
                    number.year,
                    number.suffix,
                    now.to_offset(crate::rules::VIETNAM).date(),
                    settings.issuing_body
                ),
            ],
        };
        let signer = self.composer.signer_names(request.officer.as_deref())?;
        let text_layers = original.text_layers.clone();
        let mut records = Vec::with_capacity(request.copies as usize);
        for copy_index in 1..=request.copies {
            let code = VerificationCode::generate(&mut EntropyRng(self.entropy.as_ref()));
            let composed = self
                .composer
                .compose(ComposeRequest {
                    files: files.clone(),
                    code_display: code.display_grouped(),
                    qr_url: self.qr_url(&code),
                    title: format!("Bản sao chứng thực điện tử {}", code.display_grouped()),
                    certification: certification.clone(),
                    issued_at: now,
                    officer: request.officer.clone(),
                    text_layers: text_layers.clone(),
                })
                .await?;
            let pdf_key = format!("copies/{}.pdf", code.as_str());
            self.blobs.put(&pdf_key, composed.pdf).await?;
            written.push(pdf_key.clone());
            records.push(CopyRecord {
                code: code.as_str().to_string(),
                request_id: request_id.clone(),
                copy_index,
                request_key: request.request_key.clone(),
                sequence: number.sequence,
                book: number.book,
                year: number.year,
                suffix: number.suffix.clone(),
                holder_id: request.holder_id.trim().to_string(),
                holder_name: request.holder_name.trim().to_string(),
                document_type: request.document_type.trim().to_string(),
                original_pages,
                pdf_pages: composed.pdf_pages,
                sha256: hex::encode(composed.sha256),
                fee_vnd: fee,
                issuing_body: settings.issuing_body.clone(),
                signer: signer.clone(),
                status: CopyStatus::Valid,
                status_reason: None,
                decision_number: None,
                pdf_key,
                original_keys: original_keys.clone(),
                issued_at: now,
                updated_at: now,
                request_digest: digest.clone(),
            });
        }
        Ok(records)
    }

    async fn remove_all(&self, keys: &[String]) {
        for key in keys {
            // Best effort: a failure here leaves an object no row points to; it is reported, not hidden.
            if let Err(e) = self.blobs.delete(key).await {
                warn_not_removed(key, &e);
            }
        }
    }

    /// Creates an API token for `role`, valid until `expires_at` when given. The token is returned once;
    /// only its SHA-256 is stored.
    pub async fn create_token(
        &self,
        role: crate::model::Role,
        name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(crate::model::TokenRecord, String)> {
        let mut rng = EntropyRng(self.entropy.as_ref());
        let token = format!("bnso_{}", random_secret(&mut rng, 20));
        let record = crate::model::TokenRecord {
            id: random_secret(&mut rng, 10),
            name: name.to_string(),
            role,
            token_hash: hex::encode(Sha256::digest(token.as_bytes())),
            created_at: self.clock.now(),
            revoked: false,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.registry.insert_token(&record).await?;
        Ok((record, token))
    }

    /// The caller a presented API token stands for: known, not revoked, not expired. The time of use is
    /// recorded (at most once a minute per token, so checking tokens does not turn every request into a
    /// write).
    pub async fn authenticate(&self, token: &str) -> Result<crate::model::TokenRecord> {
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        let now = self.clock.now();
        let record = self
            .registry
            .token_by_hash(&hash)
            .await?
            .filter(|t| !t.revoked && t.expires_at.is_none_or(|e| now < e))
            .ok_or_else(|| {
                Error::new(
                    Code::Auth0002Invalid,
                    "the API token is unknown, revoked or expired",
                )
            })?;
        if record
            .last_used_at
            .is_none_or(|t| now - t >= time::Duration::minutes(1))
        {
            self.registry.touch_token(&record.id, now).await?;
        }
        Ok(record)
    }

    /// Removes stored objects no registry row names (what an issuance cut short by a crash leaves: scans of
    /// originals, half-written copies) once they are older than `grace`, so an issuance still running is
    /// never touched; an object a row names is never removed, and keys of unknown shape are left alone and
    /// counted. Registry rows are read after the objects are listed, so an issuance that commits meanwhile
    /// keeps its objects.
    pub async fn sweep_orphans(&self, grace: time::Duration) -> Result<SweepReport> {
        let cutoff = self.clock.now() - grace;
        // A book line is voided only when its issuance cannot still be running, whatever the objects' grace.
        let mut report = SweepReport {
            voided_numbers: self.void_stale_numbers(grace.max(STALE_NUMBER_FLOOR)).await?,
            ..SweepReport::default()
        };
        for prefix in ["originals/", "copies/"] {
            for object in self.blobs.list(prefix).await? {
                report.examined += 1;
                if object.modified > cutoff {
                    report.too_recent += 1;
                    continue;
                }
                let named = if object.partial {
                    Some(false)
                } else if let Some(rest) = object.key.strip_prefix("originals/") {
                    match rest.split_once('/') {
                        Some((request_id, _)) => Some(self.registry.request_exists(request_id).await?),
                        None => None,
                    }
                } else if let Some(name) = object
                    .key
                    .strip_prefix("copies/")
                    .and_then(|k| k.strip_suffix(".pdf"))
                {
                    // `copies/{code}.pdf` as issued, `copies/{code}.{version}.pdf` after an extension: named when
                    // the copy holds it now or held it before.
                    let code = name.split('.').next().unwrap_or(name);
                    let held = match self.registry.copy(code).await? {
                        Some(r) if r.pdf_key == object.key => true,
                        Some(_) => self.registry.earlier_pdfs(code).await?.contains(&object.key),
                        None => false,
                    };
                    Some(held)
                } else {
                    None
                };
                match named {
                    Some(true) => report.kept += 1,
                    Some(false) => {
                        self.blobs.remove_listed(&object).await?;
                        report.removed_bytes += object.size;
                        report.removed.push(object.key);
                    }
                    None => report.unknown.push(object.key),
                }
            }
        }
        Ok(report)
    }

    /// Stores `pdf` as the new version of the copy `code` (its long-term validation data or a renewed archive
    /// timestamp): written under a new key, read back and verified as a whole — every signature intact,
    /// trusted, covering and unchanged, and the file still the registered copy through its issued revision —
    /// and only then does the registry point at it. The object it replaces is kept and named as an earlier
    /// version. On any failure the new object is removed and the copy keeps its object. Returns the new key.
    pub async fn replace_copy_pdf(&self, code: &str, pdf: Vec<u8>) -> Result<String> {
        let record = self.record(code).await?;
        let code = VerificationCode::parse(&record.code)?;
        let now = self.clock.now();
        let new_key = format!("copies/{}.{}.pdf", code.as_str(), now.unix_timestamp_nanos());
        self.blobs.put(&new_key, pdf).await?;
        // `Err((error, remove))`: whether the new object is nobody's and may go.
        let outcome: std::result::Result<(), (Error, bool)> = async {
            let stored = self.blobs.get(&new_key).await.map_err(|e| (e.into(), true))?;
            let report = self.verify_file(stored).await.map_err(|e| (e, true))?;
            let same_copy = report
                .copy
                .as_ref()
                .is_some_and(|c| VerificationCode::parse(&c.code).is_ok_and(|c| c == code));
            if !(report.valid && same_copy) {
                return Err((
                    Error::new(
                        Code::Sys0002Signing,
                        format!(
                            "the new version of {} does not verify as that copy ({}: {}); the copy keeps its file",
                            code.display_grouped(),
                            report.indication,
                            [&report.signature, &report.registry, &report.status]
                                .into_iter()
                                .find(|c| !c.ok)
                                .map(|c| c.detail.clone())
                                .unwrap_or_else(|| "another copy".into())
                        ),
                    ),
                    true,
                ));
            }
            match self
                .registry
                .replace_pdf(code.as_str(), &record.pdf_key, &new_key, now)
                .await
            {
                Ok(()) => Ok(()),
                // Refused: the copy holds another object; the new one is nobody's.
                Err(e @ StoreError::Conflict(_)) => Err((e.into(), true)),
                // The answer was lost: the swap may have happened. The object goes only when the copy is known
                // not to hold it (otherwise the sweeper removes it later if no row names it).
                Err(e) => match self.registry.copy(code.as_str()).await {
                    Ok(Some(r)) if r.pdf_key == new_key => Ok(()),
                    Ok(_) => Err((e.into(), true)),
                    Err(_) => Err((e.into(), false)),
                },
            }
        }
        .await;
        if let Err((e, remove)) = outcome {
            if remove {
                if let Err(removal) = self.blobs.delete(&new_key).await {
                    warn_not_removed(&new_key, &removal);
                }
            }
            return Err(e);
        }
        Ok(new_key)
    }

    /// Every API token (never the token itself: it is not stored).
    pub async fn tokens(&self) -> Result<Vec<crate::model::TokenRecord>> {
        Ok(self.registry.list_tokens().await?)
    }

    /// Revokes the token `id` from now on.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        if self.registry.revoke_token(id.trim(), self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::new(
                Code::Auth0004NoSuchToken,
                "no unrevoked token has this id",
            ))
        }
    }

    /// Looks a copy up by a typed or scanned code.
    pub async fn record(&self, typed_code: &str) -> Result<CopyRecord> {
        let code = VerificationCode::parse(typed_code)?;
        self.registry
            .copy(code.as_str())
            .await?
            .ok_or_else(|| Error::new(Code::Ver0003NotFound, "no copy has this code"))
    }

    /// The inclusion proof of a copy's issuance in the transparency log.
    pub async fn inclusion(&self, typed_code: &str) -> Result<crate::transparency::InclusionProof> {
        let code = VerificationCode::parse(typed_code)?;
        self.log.inclusion(self.registry.as_ref(), code.as_str()).await
    }

    /// Minimal public metadata of a copy.
    pub async fn public_copy(&self, typed_code: &str) -> Result<PublicCopy> {
        Ok(PublicCopy::from_record(&self.record(typed_code).await?))
    }

    /// Whether `key` opens the copy `typed_code` (constant-time comparison).
    pub fn capability_opens(&self, typed_code: &str, key: &str) -> Result<bool> {
        Ok(self.key_opens(&VerificationCode::parse(typed_code)?, key))
    }

    /// The signed PDF, for the holder of the capability key.
    pub async fn open_pdf(&self, typed_code: &str, key: &str) -> Result<(CopyRecord, Vec<u8>)> {
        let code = VerificationCode::parse(typed_code)?;
        if !self.key_opens(&code, key) {
            return Err(Error::new(Code::Ver0005BadKey, "this key does not open the copy"));
        }
        let record = self.record(code.as_str()).await?;
        let pdf = self.blobs.get(&record.pdf_key).await?;
        Ok((record, pdf))
    }

    /// Revokes a copy, or cancels it by decision when a decision number is given.
    pub async fn revoke(
        &self,
        typed_code: &str,
        reason: &str,
        decision_number: Option<&str>,
    ) -> Result<CopyRecord> {
        let code = VerificationCode::parse(typed_code)?;
        if reason.trim().is_empty() {
            return Err(Error::new(Code::Rev0002MissingReason, "a reason is required"));
        }
        if let Some(d) = decision_number {
            if d.trim().is_empty() {
                return Err(Error::new(
                    Code::Rev0002MissingReason,
                    "the decision number is empty",
                ));
            }
        }
        let status = if decision_number.is_some() {
            CopyStatus::CancelledByDecision
        } else {
            CopyStatus::Revoked
        };
        let now = self.clock.now();
        let decision = decision_number.map(str::trim);
        let log = crate::transparency::status_record(code.as_str(), status, reason.trim(), decision, now);
        match self
            .registry
            .change_status(code.as_str(), status, reason.trim(), decision, now, &log)
            .await
        {
            Ok(r) => Ok(r),
            Err(StoreError::NotFound) => Err(Error::new(Code::Ver0003NotFound, "no copy has this code")),
            Err(StoreError::Conflict(m)) => Err(Error::new(Code::Rev0001NotValid, m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Verifies a file: its signatures, that the registry issued it, and that it is still valid.
    pub async fn verify_file(&self, pdf: Vec<u8>) -> Result<FileReport> {
        let findings = self.verifier.verify(pdf, self.clock.now()).await?;
        let sha256 = hex::encode(findings.sha256);
        // The signing library's one verdict on the signatures; the core adds the registry and the status.
        let signature = findings.verdict.clone();
        let mut record = self.registry.copy_by_sha256(&sha256).await?;
        for earlier in &findings.revision_hashes {
            if record.is_some() {
                break;
            }
            record = self.registry.copy_by_sha256(&hex::encode(earlier)).await?;
        }
        let (registry, status) = match &record {
            None => (
                CheckOutcome::fail("not_in_registry", "no copy with this file's SHA-256 was issued"),
                CheckOutcome::fail("unknown", "the file is not a registered copy"),
            ),
            Some(r) => (
                CheckOutcome::pass(format!("registered as {}", PublicCopy::from_record(r).code)),
                if r.status == CopyStatus::Valid {
                    CheckOutcome::pass("the copy is valid")
                } else {
                    CheckOutcome::fail(
                        r.status.as_str(),
                        format!(
                            "the copy is {}: {}",
                            r.status.label_en(),
                            r.status_reason.clone().unwrap_or_default()
                        ),
                    )
                },
            ),
        };
        let log = match &record {
            Some(r) => Some(self.log.inclusion(self.registry.as_ref(), &r.code).await?),
            None => None,
        };
        let valid = signature.ok && registry.ok && status.ok;
        Ok(FileReport {
            valid,
            judged_at: findings.judged_at,
            sha256,
            indication: findings.indication,
            sub_indication: findings.sub_indication,
            signatures: findings.signatures,
            signature,
            registry,
            status,
            copy: record.as_ref().map(PublicCopy::from_record),
            log,
        })
    }
}

fn warn_not_removed(key: &str, e: &StoreError) {
    tracing::warn!(object = key, error = %e, "could not remove an object a failed step left; the sweeper will");
}

#[cfg(test)]
mod tests {
    use super::capability_key_for;

    #[test]
    fn capability_keys_match_an_independent_hmac() {
        // Computed with Python's hmac/hashlib (HMAC-SHA256, first 16 bytes, this base32 alphabet): keys already
        // printed on copies must keep opening them.
        assert_eq!(
            capability_key_for(b"banso capability secret", "TTPV-2026-000123"),
            "r1kabptbqndg8h5g3yrwfj5qg6"
        );
        // A secret longer than SHA-256's block is hashed first (RFC 2104).
        assert_eq!(
            capability_key_for(&[b'k'; 100], "TTPV-2026-000123"),
            "2rp8q4hqwtefewq4wa0w0cnqtj"
        );
    }
}
