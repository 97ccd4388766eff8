//! The registry's records.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a copy stands. Only `Valid` copies verify as valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CopyStatus {
    Valid,
    /// Withdrawn by the issuing body, with a reason.
    Revoked,
    /// Cancelled by decision of the People's Committee chair (Decree 23 Art. 11), with the decision number.
    CancelledByDecision,
    /// Replaced by a later copy.
    Superseded,
}

impl CopyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyStatus::Valid => "valid",
            CopyStatus::Revoked => "revoked",
            CopyStatus::CancelledByDecision => "cancelled_by_decision",
            CopyStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "valid" => CopyStatus::Valid,
            "revoked" => CopyStatus::Revoked,
            "cancelled_by_decision" => CopyStatus::CancelledByDecision,
            "superseded" => CopyStatus::Superseded,
            _ => return None,
        })
    }

    /// Vietnamese label for people.
    pub fn label_vi(self) -> &'static str {
        match self {
            CopyStatus::Valid => "Có hiệu lực",
            CopyStatus::Revoked => "Đã thu hồi",
            CopyStatus::CancelledByDecision => "Đã hủy theo quyết định",
            CopyStatus::Superseded => "Đã được thay thế",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CopyStatus::Valid => "Valid",
            CopyStatus::Revoked => "Revoked",
            CopyStatus::CancelledByDecision => "Cancelled by decision",
            CopyStatus::Superseded => "Superseded",
        }
    }
}

/// One issued copy as the registry keeps it.
///
/// Holds personal data (`holder_id`, `holder_name`): never shown by public endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRecord {
    /// Canonical verification code (20 symbols, no separators); the primary key.
    pub code: String,
    /// Groups the copies made from one original in one request.
    pub request_id: String,
    /// Position among the copies of the request, from 1.
    pub copy_index: u32,
    /// Client-supplied idempotency key of the request, if any.
    pub request_key: Option<String>,
    pub sequence: u32,
    pub book: u32,
    pub year: i32,
    pub suffix: String,
    pub holder_id: String,
    pub holder_name: String,
    pub document_type: String,
    /// Pages of the original.
    pub original_pages: u32,
    /// Pages of the PDF (original pages and the certification page).
    pub pdf_pages: u32,
    /// Lower-case hex SHA-256 of the signed PDF.
    pub sha256: String,
    pub fee_vnd: u64,
    pub issuing_body: String,
    pub signer: String,
    pub status: CopyStatus,
    pub status_reason: Option<String>,
    pub decision_number: Option<String>,
    /// Object-store key of the signed PDF.
    pub pdf_key: String,
    /// Object-store keys of the original page files.
    pub original_keys: Vec<String>,
    pub issued_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// SHA-256 (hex) of what the request asked for (holder, type, copies, every page file), kept with its
    /// idempotency key so that the key reused with another request is a conflict, not a replay.
    pub request_digest: Option<String>,
}

impl CopyRecord {
    pub fn number(&self) -> crate::rules::CertificationNumber {
        crate::rules::CertificationNumber {
            sequence: self.sequence,
            book: self.book,
            year: self.year,
            suffix: self.suffix.clone(),
        }
    }
}

/// API roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Judicial or one-stop officer: issues, revokes, cancels.
    Officer,
    /// A kiosk device: submits issuance requests only.
    Kiosk,
    /// Another agency's system: reads the dossier feed and pulls documents by URI, changes nothing.
    Agency,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Kiosk => "kiosk",
            Role::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "officer" => Some(Role::Officer),
            "kiosk" => Some(Role::Kiosk),
            "agency" => Some(Role::Agency),
            _ => None,
        }
    }
}

/// An API token as stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub token_hash: String,
    pub created_at: OffsetDateTime,
    pub revoked: bool,
    /// After this the token no longer opens anything (none: it does not expire).
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last accepted (to the minute).
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// What the intake checks (banso-intake, run by the server before issuing) decided about the originals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakeDecision {
    AutoIssue,
    OfficerReview,
    Refuse,
}

impl IntakeDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            IntakeDecision::AutoIssue => "auto_issue",
            IntakeDecision::OfficerReview => "officer_review",
            IntakeDecision::Refuse => "refuse",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto_issue" => Some(IntakeDecision::AutoIssue),
            "officer_review" => Some(IntakeDecision::OfficerReview),
            "refuse" => Some(IntakeDecision::Refuse),
            _ => None,
        }
    }
}

/// An intake decision as kept for officers and auditors, with how the request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeRow {
    pub id: String,
    pub recorded_at: OffsetDateTime,
    pub request_key: Option<String>,
    pub holder_id: String,
    /// The document type the request named.
    pub claimed_type: String,
    /// The type the intake recognised on the pages (its stable name), when it knew it.
    pub recognised_type: Option<String>,
    /// The kiosk (its token id) the request came from; none at the counter.
    pub device: Option<String>,
    pub decision: IntakeDecision,
    /// The Art. 22 ground of a refusal, or why an officer must look; empty for a clean auto-issue.
    pub reason: String,
    /// The whole report (document type, fields, every check with its evidence), JSON.
    pub report: String,
    /// `pending`, `issued`, `refused`, `held` or `failed`.
    pub outcome: String,
    /// Codes of the copies issued (empty unless issued).
    pub codes: Vec<String>,
}
