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

mod access;
mod dossier;
pub use dossier::{
    email_address, retry_delay, AttachmentView, DossierSettings, DossierView, Filing, FoundProcedure,
    NewAttachment, NewSource, OfficerAction, PublicStatus, PulledDocument, Submission, Submitted,
    TimelineEntry,
};
mod identity;
pub use identity::{blocking, WalletEntry, WALLET_SIZE};
mod office;
pub use office::{
    CreatedOfficer, NewOfficer, OfficeSettings, PasskeyAssertion, SecondFactor, SignedIn, AUDIT_PAGE,
    PASSWORD_CHECKS,
};
mod issue;
mod lookup;
mod payment;
pub use payment::{PaymentDue, PaymentSettings, PaymentView};
mod books;
pub use books::{csv_cell, YearBook, BOOK_COLUMNS, BOOK_CSV_HEADER};
mod dashboard;
pub use dashboard::{
    ChannelFigures, Dashboard, DayFigures, OfficerFigures, Satisfied, AT_THE_COUNTER, COPY_PROCEDURE,
    DASHBOARD_DAYS,
};
mod fleet;
pub use fleet::{FleetEntry, ENROLMENT_VALID, HEARTBEAT_BYTES};
mod registry;
pub use registry::{RegistryQuery, REGISTRY_PAGE};
mod review;
pub use review::{Decided, ReviewDecision, ReviewView, REVIEW_QUEUE};
mod upkeep;

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
    /// A kiosk's request pays its fee first: the kiosk, and the payment it made (none yet: the answer says
    /// what to pay). A counter's request (none) is paid at the counter.
    pub pay_by: Option<PayBy>,
}

/// Who pays a request's fee through the payment gateway, and with which payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayBy {
    /// The kiosk (its token id).
    pub device: String,
    /// The payment made for this request, when it was made.
    pub reference: Option<String>,
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
    /// The intake lets the original through, and the fee is due first: nothing was issued; the request, sent
    /// again naming the payment once the gateway confirmed it, is issued.
    PaymentDue(PaymentDue),
}

impl IssueOutcome {
    /// The issuance, or `ISS-0009` for a held request (for callers that only ever issue, such as benchmarks).
    pub fn issued(self) -> Result<Issuance> {
        match self {
            IssueOutcome::Issued(i) => Ok(i),
            IssueOutcome::Held(h) => Err(Error::new(Code::Iss0009NeedsReview, h.message())),
            IssueOutcome::PaymentDue(d) => Err(Error::new(
                Code::Pay0001Due,
                format!(
                    "{} to pay first (payment {})",
                    format_vnd(d.amount_vnd),
                    d.reference
                ),
            )),
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
    /// The ways a citizen may prove who they are at a kiosk (none by default).
    identity: crate::identity::IdentityPorts,
    /// The live identity sessions of kiosks and of citizens' browsers, shared by every node.
    sessions: Arc<dyn crate::ports::SessionStore>,
    /// The payment gateway kiosks' fees are paid through (none: kiosks' requests issue without a fee).
    payments: Option<Arc<PaymentSettings>>,
    /// Dossiers of administrative procedures (none: not kept by this service).
    dossiers: Option<Arc<DossierSettings>>,
    /// The back office's accounts, sessions and audit log (none: no back office on this service).
    office: Option<Arc<OfficeSettings>>,
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
    pub sessions: Arc<dyn crate::ports::SessionStore>,
}

/// What [`Service::check_copies`] found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CopyCheck {
    pub checked: u64,
    /// The file verifies and the copy is valid.
    pub valid: u64,
    /// The file verifies; the copy was revoked or cancelled.
    pub not_valid: u64,
    /// Files missing, or not verifying as their copy.
    pub failed_count: u64,
    /// The first [`CopyCheck::LISTED`] of them, with why.
    pub failed: Vec<String>,
}

impl CopyCheck {
    pub const LISTED: usize = 100;
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
            sessions,
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
            identity: Default::default(),
            sessions,
            payments: None,
            dossiers: None,
            office: None,
        }
    }

    /// The same service taking kiosks' fees through this payment gateway.
    pub fn with_payments(mut self, payments: PaymentSettings) -> Self {
        self.payments = Some(Arc::new(payments));
        self
    }

    /// The same service offering these ways of identifying a citizen at a kiosk.
    pub fn with_identity(mut self, identity: crate::identity::IdentityPorts) -> Self {
        self.identity = identity;
        self
    }

    /// The service's time (the injected clock).
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Number of copies issued (health and metrics).
    pub async fn count_copies(&self) -> Result<u64> {
        Ok(self.registry.count_copies().await?)
    }

    /// Whether the object store takes a write, gives it back and removes it (the readiness check): a small
    /// probe object under `health/`, its own name each time so that nodes checking at once do not meet.
    pub async fn check_objects(&self) -> Result<()> {
        let key = format!(
            "health/{}",
            random_secret(&mut EntropyRng(self.entropy.as_ref()), 8)
        );
        let probe = key.as_bytes().to_vec();
        self.blobs.put(&key, probe.clone()).await?;
        let back = self.blobs.get(&key).await;
        self.blobs.delete(&key).await?;
        if back? != probe {
            return Err(Error::new(
                Code::Sys0001Storage,
                "the object store gave back other bytes than were written",
            ));
        }
        Ok(())
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

    /// Reads every copy's stored PDF back and verifies it as an uploaded file is verified (its signatures, that
    /// the registry issued this very file under this code, its status), `concurrency` at a time: after a restore,
    /// a copy that does not verify is a copy lost. Revoked and cancelled copies count as intact when their file
    /// verifies.
    pub async fn check_copies(&self, concurrency: usize) -> Result<CopyCheck> {
        let rows = self.registry.audit_rows().await?;
        let mut report = CopyCheck::default();
        let mut running = tokio::task::JoinSet::new();
        let mut rows = rows.into_iter();
        loop {
            while running.len() < concurrency.max(1) {
                let Some(row) = rows.next() else { break };
                let service = self.clone();
                running.spawn(async move {
                    let outcome = service.check_copy(&row.code).await;
                    (row.code, outcome)
                });
            }
            let Some(done) = running.join_next().await else {
                break;
            };
            let (code, outcome) =
                done.map_err(|e| Error::new(Code::Sys0003Internal, format!("a copy check failed: {e}")))?;
            report.checked += 1;
            match outcome {
                Ok(true) => report.valid += 1,
                Ok(false) => report.not_valid += 1,
                Err(why) => {
                    report.failed_count += 1;
                    if report.failed.len() < CopyCheck::LISTED {
                        report.failed.push(format!("{code}: {why}"));
                    }
                }
            }
        }
        Ok(report)
    }

    /// One copy of [`Service::check_copies`]: Ok(valid now) when its file verifies as this copy; Err(why) not.
    async fn check_copy(&self, code: &str) -> std::result::Result<bool, String> {
        let (record, pdf) = self.stored_pdf(code).await.map_err(|e| e.message)?;
        let report = self.verify_file(pdf).await.map_err(|e| e.message)?;
        if !report.signature.ok {
            return Err(format!("signature: {}", report.signature.detail));
        }
        match &report.copy {
            Some(c) if VerificationCode::parse(&c.code).is_ok_and(|v| v.as_str() == record.code) => {}
            _ => return Err(format!("registry: {}", report.registry.detail)),
        }
        Ok(report.status.ok)
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
