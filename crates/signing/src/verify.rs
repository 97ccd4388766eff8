//! Verification of signed PDFs, trusting only the anchors given.

/// One check's outcome with a stable machine reason when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    /// Stable, e.g. "digest_mismatch", "untrusted_chain", "incomplete_byte_range", "modified_after_signing".
    pub reason: Option<String>,
    /// Plain English detail for people.
    pub detail: String,
}

/// The report of one signature.
#[derive(Debug, Clone)]
pub struct SignatureReport {
    pub field_name: Option<String>,
    pub signer_subject: Option<String>,
    /// The /M entry of the signature dictionary if present.
    pub claimed_signing_time: Option<String>,
    pub integrity: Check,
    pub chain: Check,
    pub coverage: Check,
    pub modifications: Check,
}

/// The report of a whole file.
#[derive(Debug, Clone)]
pub struct PdfReport {
    pub sha256: [u8; 32],
    pub signatures: Vec<SignatureReport>,
}

/// Trust anchors: DER root certificates. Only these are trusted; never the OS store.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    pub roots: Vec<Vec<u8>>,
}

/// Verifies every signature in `pdf` at time `now`.
pub fn verify_pdf(_pdf: &[u8], _trust: &TrustStore, _now: time::OffsetDateTime) -> PdfReport {
    unimplemented!("helper: signing crate")
}
