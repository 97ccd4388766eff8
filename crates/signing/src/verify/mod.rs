//! Verification of signed PDFs, trusting only the anchors given.
//!
//! Signatures are found the way a PDF reader finds them: through the form (`/AcroForm /Fields`, following
//! `/Kids`) of every revision, read with [`crate::incremental::PdfDoc`], so a later update that drops a field
//! does not hide its signature. Nothing here panics on hostile input.
use crate::cert::{hash_of_signature_alg, CertView, HashAlg, KU_KEY_CERT_SIGN};
use crate::incremental::{Dict, FoundSignature, Obj, PdfDoc, Place};
use crate::oid::{self, Oid};
use crate::SigningError;
use cms::cert::CertificateChoices;
use cms::revocation::RevocationInfoChoice;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::{Decode as _, Encode as _, Tagged as _};
use sha2::Digest as _;
use std::ops::Range;
use x509_cert::attr::Attributes;

mod chain;
mod indication;
mod locate;
mod revocation;
mod signed;
mod timestamp;

use chain::*;
use indication::*;
use locate::*;
use revocation::*;
use signed::*;
pub use signed::{cms_certificates, first_element};
use timestamp::*;

/// Stable machine reasons used in [`Check::reason`].
pub mod reason {
    /// The /Contents value is not a CMS SignedData this verifier can read.
    pub const MALFORMED_SIGNATURE: &str = "malformed_signature";
    /// A digest or signature algorithm that is not supported (e.g. SHA-1).
    pub const UNSUPPORTED_ALGORITHM: &str = "unsupported_algorithm";
    /// The signed message digest differs from the digest of the ByteRange.
    pub const DIGEST_MISMATCH: &str = "digest_mismatch";
    /// The signature value does not verify with the signer certificate's key.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// The signing-certificate-v2 attribute names another certificate.
    pub const SIGNING_CERTIFICATE_MISMATCH: &str = "signing_certificate_mismatch";
    /// No path from the signer to a trust anchor.
    pub const UNTRUSTED_CHAIN: &str = "untrusted_chain";
    /// A certificate of the path is expired or not yet valid at the verification time.
    pub const EXPIRED_CERTIFICATE: &str = "expired_certificate";
    /// A certificate's signature does not verify with its issuer's key.
    pub const BAD_CERTIFICATE_SIGNATURE: &str = "bad_certificate_signature";
    /// The ByteRange does not cover the whole signed revision except the /Contents string.
    pub const INCOMPLETE_BYTE_RANGE: &str = "incomplete_byte_range";
    /// Bytes were added after the end of the signed revision.
    pub const MODIFIED_AFTER_SIGNING: &str = crate::diff::MODIFIED;
    /// A later revision adds or changes an annotation or widget that can paint over a page.
    pub const OVERLAY_AFTER_SIGNING: &str = crate::diff::OVERLAY;
    /// No CRL or OCSP response covers a certificate of the chain.
    pub const NO_REVOCATION_DATA: &str = "no_revocation_data";
    /// A certificate of the chain is revoked.
    pub const REVOKED: &str = "revoked";
    /// The timestamp token does not verify, or does not cover this signature.
    pub const BAD_TIMESTAMP: &str = "bad_timestamp";
    /// The timestamp's TSA certificate does not lead to a trusted root or is not a TSA certificate.
    pub const UNTRUSTED_TIMESTAMP: &str = "untrusted_timestamp";
}

/// One check's outcome with a stable machine reason when it fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    /// Stable, e.g. "digest_mismatch", "untrusted_chain", "incomplete_byte_range", "modified_after_signing".
    pub reason: Option<String>,
    /// Plain English detail for people.
    pub detail: String,
}

impl Check {
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
    /// A signature or a document timestamp.
    pub kind: SignatureKind,
    /// The signature timestamp (for a document timestamp: the token itself), `None` when there is none.
    pub timestamp: Option<Check>,
    /// The timestamp's genTime when the token could be read.
    pub timestamp_time: Option<time::OffsetDateTime>,
    /// Revocation status of the signer's and the TSA's chains from embedded data (DSS, CMS).
    pub revocation: Check,
    /// ETSI EN 319 102-1 style conclusion.
    pub indication: Indication,
    /// Why it is not TOTAL-PASSED (see [`sub_indication`]).
    pub sub_indication: Option<String>,
    /// The time at which the certificate chain was validated: the best proof of existence (a valid
    /// signature or document timestamp) or the verification time.
    pub validation_time: time::OffsetDateTime,
    /// PAdES baseline level reached (signatures only).
    pub level: Option<Level>,
    /// Where the revision this signature covers ends (`ByteRange[2] + ByteRange[3]`): the length of the
    /// file as it was when signed.
    pub signed_end: u64,
}

/// What a signature dictionary holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    Signature,
    DocumentTimestamp,
}

/// ETSI EN 319 102-1 main indication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indication {
    TotalPassed,
    Indeterminate,
    TotalFailed,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TotalPassed => "TOTAL-PASSED",
            Self::Indeterminate => "INDETERMINATE",
            Self::TotalFailed => "TOTAL-FAILED",
        }
    }
}

/// PAdES baseline levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    BB,
    BT,
    BLT,
    BLTA,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BB => "B-B",
            Self::BT => "B-T",
            Self::BLT => "B-LT",
            Self::BLTA => "B-LTA",
        }
    }
}

/// ETSI EN 319 102-1 sub-indications used in [`SignatureReport::sub_indication`].
pub mod sub_indication {
    pub const HASH_FAILURE: &str = "HASH_FAILURE";
    pub const SIG_CRYPTO_FAILURE: &str = "SIG_CRYPTO_FAILURE";
    pub const FORMAT_FAILURE: &str = "FORMAT_FAILURE";
    pub const REVOKED: &str = "REVOKED";
    pub const NO_CERTIFICATE_CHAIN_FOUND: &str = "NO_CERTIFICATE_CHAIN_FOUND";
    pub const CERTIFICATE_CHAIN_GENERAL_FAILURE: &str = "CERTIFICATE_CHAIN_GENERAL_FAILURE";
    pub const NO_SIGNING_CERTIFICATE_FOUND: &str = "NO_SIGNING_CERTIFICATE_FOUND";
    pub const CRYPTO_CONSTRAINTS_FAILURE: &str = "CRYPTO_CONSTRAINTS_FAILURE";
    pub const OUT_OF_BOUNDS_NO_POE: &str = "OUT_OF_BOUNDS_NO_POE";
    /// Revocation data is missing (an online check later could complete the validation).
    pub const TRY_LATER: &str = "TRY_LATER";
    pub const SIGNED_DATA_NOT_FOUND: &str = "SIGNED_DATA_NOT_FOUND";
}

impl SignatureReport {
    /// All four checks passed.
    pub fn is_valid(&self) -> bool {
        self.integrity.ok && self.chain.ok && self.coverage.ok && self.modifications.ok
    }
}

/// The report of a whole file.
#[derive(Debug, Clone)]
pub struct PdfReport {
    pub sha256: [u8; 32],
    pub signatures: Vec<SignatureReport>,
    /// The worst indication over all signatures and document timestamps (INDETERMINATE without any).
    pub indication: Indication,
    pub sub_indication: Option<String>,
    /// The one answer for the file, from the checks above.
    pub verdict: Verdict,
}

/// The one verdict on a file's signatures, with its reason and the time it was judged at.
///
/// The file is valid when it carries at least one signature, every signature and document timestamp is intact
/// (integrity), chains to a trust anchor, covers its whole revision, is followed by no disallowed change, and
/// none of their certificates was revoked before the signature's proof of existence. A revocation after that
/// proof (a signature timestamp, or a document timestamp over the signed revision) does not count: a seal
/// revoked today leaves the copies it sealed earlier valid, and makes every copy it seals from now on
/// invalid. Without such a proof, the time judged at is the proof, so any revocation counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub valid: bool,
    /// The stable reason of the failing check ([`reason`]), or `no_signature`.
    pub reason: Option<String>,
    pub detail: String,
    pub judged_at: time::OffsetDateTime,
}

/// [`Verdict::reason`] of a file that carries no signature.
pub const NO_SIGNATURE: &str = "no_signature";

impl Verdict {
    fn of(signatures: &[SignatureReport], now: time::OffsetDateTime) -> Self {
        let fail = |reason: &str, detail: String| Verdict {
            valid: false,
            reason: Some(reason.to_string()),
            detail,
            judged_at: now,
        };
        if signatures.is_empty() {
            return fail(NO_SIGNATURE, "the file carries no signature".into());
        }
        for s in signatures {
            let broken = [&s.integrity, &s.chain, &s.coverage, &s.modifications]
                .into_iter()
                .chain((s.revocation.reason.as_deref() == Some(reason::REVOKED)).then_some(&s.revocation))
                .find(|c| !c.ok);
            if let Some(check) = broken {
                return fail(check.reason.as_deref().unwrap_or("invalid"), check.detail.clone());
            }
        }
        Verdict {
            valid: true,
            reason: None,
            detail: format!("{} signature(s) valid", signatures.len()),
            judged_at: now,
        }
    }
}

/// Where verification learns of revocations beyond what the file carries: for banso, the current CRLs of the
/// installation's own CAs, so a copy is judged against what its CA knows now, not only against the data
/// embedded when it was sealed.
pub trait RevocationSource {
    /// CRLs (DER) to consult beside the embedded ones; each is used only if its issuer's key signed it.
    fn crls(&self) -> Vec<Vec<u8>>;
}

/// No revocation data beyond the file's own.
impl RevocationSource for () {
    fn crls(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// A fixed set of CRLs.
impl RevocationSource for Vec<Vec<u8>> {
    fn crls(&self) -> Vec<Vec<u8>> {
        self.clone()
    }
}

/// Trust anchors: DER root certificates. Only these are trusted; never the OS store.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    pub roots: Vec<Vec<u8>>,
}

impl TrustStore {
    /// Every certificate in a PEM text (one or more blocks). Fails on an unreadable certificate.
    pub fn from_pem(pem_text: &str) -> Result<Self, SigningError> {
        let roots = crate::pem::decode_certificates(pem_text).map_err(SigningError::Certificate)?;
        if roots.is_empty() {
            return Err(SigningError::Certificate(
                "no CERTIFICATE block in the trust PEM".into(),
            ));
        }
        for (i, der) in roots.iter().enumerate() {
            if CertView::parse(der).is_none() {
                return Err(SigningError::Certificate(format!(
                    "trust anchor {i} does not parse"
                )));
            }
        }
        Ok(Self { roots })
    }

    /// Adds the certificates of a PEM text.
    pub fn add_pem(&mut self, pem_text: &str) -> Result<(), SigningError> {
        let more = Self::from_pem(pem_text)?;
        self.roots.extend(more.roots);
        Ok(())
    }
}

/// Bounds on the work one file may cost (a crafted file must not buy seconds of CPU): each answers a
/// threat written down in docs/design/edge-limits.md. A file beyond any of them is refused as a whole with
/// [`TooComplex`]; none is anywhere near what banso issues (one or two signatures, a document timestamp per
/// renewal, a handful of certificates).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Signature dictionaries and document timestamps per file.
    pub max_signatures: usize,
    /// Certificates in one CMS SignedData (a signature's or a timestamp token's).
    pub max_cms_certificates: usize,
    /// Certificates, CRLs and OCSP answers in the DSS, each.
    pub max_dss_items: usize,
    /// Public-key operations (certificate, CRL, OCSP and signature verifications) per file.
    pub max_key_operations: u32,
    /// Issuer candidates with the right name tried per step of a chain.
    pub max_issuer_candidates: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_signatures: 16,
            max_cms_certificates: 32,
            max_dss_items: 512,
            max_key_operations: 1_000,
            max_issuer_candidates: 4,
        }
    }
}

/// A file refused because verifying it would cost more than [`Limits`] allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the file is too complex to verify: {0}")]
pub struct TooComplex(pub String);

/// The work spent on one file, against its [`Limits`].
struct Work {
    limits: Limits,
    key_operations: std::cell::Cell<u32>,
    exceeded: std::cell::RefCell<Option<String>>,
}

impl Work {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            key_operations: std::cell::Cell::new(0),
            exceeded: std::cell::RefCell::new(None),
        }
    }

    /// Accounts for one public-key operation; false (and the file refused) once the budget is spent.
    fn spend(&self) -> bool {
        let n = self.key_operations.get().saturating_add(1);
        self.key_operations.set(n);
        if n > self.limits.max_key_operations {
            self.exceed(format!(
                "more than {} public-key operations",
                self.limits.max_key_operations
            ));
            return false;
        }
        true
    }

    fn exceed(&self, what: String) {
        self.exceeded.borrow_mut().get_or_insert(what);
    }
}

/// Verifies every signature and document timestamp in `pdf` at time `now` within the default [`Limits`];
/// a file beyond them gets a report with no signature and the sub-indication FORMAT_FAILURE.
pub fn verify_pdf(pdf: &[u8], trust: &TrustStore, now: time::OffsetDateTime) -> PdfReport {
    verify_pdf_within(pdf, trust, now, Limits::default()).unwrap_or_else(|e| PdfReport {
        sha256: sha2::Sha256::digest(pdf).into(),
        signatures: Vec::new(),
        indication: Indication::TotalFailed,
        sub_indication: Some(sub_indication::FORMAT_FAILURE.to_string()),
        verdict: Verdict {
            valid: false,
            reason: Some(sub_indication::FORMAT_FAILURE.to_string()),
            detail: e.to_string(),
            judged_at: now,
        },
    })
}

/// Verifies every signature and document timestamp in `pdf` at time `now`, refusing the file as a whole
/// when it would cost more than `limits`.
pub fn verify_pdf_within(
    pdf: &[u8],
    trust: &TrustStore,
    now: time::OffsetDateTime,
    limits: Limits,
) -> Result<PdfReport, TooComplex> {
    verify_pdf_with(pdf, trust, now, limits, &())
}

/// As [`verify_pdf_within`], also consulting `revocations` (e.g. the installation's own current CRLs).
pub fn verify_pdf_with(
    pdf: &[u8],
    trust: &TrustStore,
    now: time::OffsetDateTime,
    limits: Limits,
    revocations: &dyn RevocationSource,
) -> Result<PdfReport, TooComplex> {
    let work = Work::new(limits);
    let roots: Vec<CertView<'_>> = trust.roots.iter().filter_map(|r| CertView::parse(r)).collect();
    let now_unix = now.unix_timestamp();
    let doc = PdfDoc::parse(pdf).ok();
    let dicts = match &doc {
        Some(doc) => find_signatures(doc, &limits)?,
        None => Vec::new(),
    };
    for dict in &dicts {
        let Some(der) = first_element(&dict.contents) else {
            continue;
        };
        let certs = crate::bounds::cms_certificate_elements(der).map_or(0, |c| c.len());
        if certs > limits.max_cms_certificates {
            return Err(TooComplex(format!(
                "a signature carries {certs} certificates (at most {})",
                limits.max_cms_certificates
            )));
        }
        if let Err(crate::bounds::Refused::LargeSet(n)) = crate::bounds::check(der) {
            return Err(TooComplex(format!(
                "a signature holds a set of {n} elements (at most {})",
                crate::bounds::MAX_SET_ELEMENTS
            )));
        }
    }
    let dss = doc.as_ref().map(crate::ltv::read_dss_doc).unwrap_or_default();
    for (what, n) in [
        ("certificates", dss.certs.len()),
        ("CRLs", dss.crls.len()),
        ("OCSP answers", dss.ocsps.len()),
    ] {
        if n > limits.max_dss_items {
            return Err(TooComplex(format!(
                "the validation data holds {n} {what} (at most {})",
                limits.max_dss_items
            )));
        }
    }

    // Document timestamps first, latest first: each is validated at the time of the next valid one.
    let mut order: Vec<usize> = (0..dicts.len()).collect();
    order.sort_by_key(|&i| {
        dicts
            .get(i)
            .map_or(0, |d| d.byte_range[2].saturating_add(d.byte_range[3]))
    });
    let mut doc_ts: Vec<DocTs> = Vec::new();
    let mut reports: Vec<Option<SignatureReport>> = vec![None; dicts.len()];
    let mut whole: Option<[u8; 32]> = None;
    let online_crls = revocations.crls();
    let ctx = Ctx {
        pdf,
        doc: doc.as_ref(),
        roots: &roots,
        now: now_unix,
        dss: &dss,
        online_crls: &online_crls,
        work: &work,
    };
    for &i in order.iter().rev() {
        let Some(dict) = dicts.get(i) else { continue };
        if dict.kind != SignatureKind::DocumentTimestamp {
            continue;
        }
        let (report, poe) = verify_doc_timestamp(&ctx, dict, &doc_ts);
        if let Some(t) = poe {
            doc_ts.push(DocTs {
                end: dict_end(dict),
                time: t,
            });
        }
        if let Some(slot) = reports.get_mut(i) {
            *slot = Some(report);
        }
    }
    for (i, dict) in dicts.iter().enumerate() {
        if dict.kind != SignatureKind::Signature {
            continue;
        }
        let (report, file_hash) = verify_one(&ctx, dict, &doc_ts, whole.is_none());
        if whole.is_none() {
            whole = file_hash;
        }
        if let Some(slot) = reports.get_mut(i) {
            *slot = Some(report);
        }
    }
    if let Some(what) = work.exceeded.borrow_mut().take() {
        return Err(TooComplex(what));
    }
    if doc.as_ref().is_some_and(PdfDoc::decode_budget_spent) {
        return Err(TooComplex(
            "the file's compressed streams decode to more than 256 MiB".into(),
        ));
    }
    let signatures: Vec<SignatureReport> = reports.into_iter().flatten().collect();
    let sha256 = whole.unwrap_or_else(|| sha2::Sha256::digest(pdf).into());
    let worst = signatures.iter().max_by_key(|s| s.indication);
    let (indication, sub_indication) = match worst {
        Some(w) => (w.indication, w.sub_indication.clone()),
        None => (
            Indication::Indeterminate,
            Some(sub_indication::SIGNED_DATA_NOT_FOUND.to_string()),
        ),
    };
    Ok(PdfReport {
        sha256,
        verdict: Verdict::of(&signatures, now),
        signatures,
        indication,
        sub_indication,
    })
}

/// A valid document timestamp: the end of the revision it covers and its genTime.
#[derive(Debug, Clone, Copy)]
struct DocTs {
    end: u64,
    time: i64,
}

/// What every signature's verification shares.
struct Ctx<'p, 'r> {
    pdf: &'p [u8],
    doc: Option<&'p crate::incremental::PdfDoc<'p>>,
    roots: &'r [CertView<'r>],
    now: i64,
    dss: &'p crate::ltv::DssData,
    /// CRLs from the [`RevocationSource`], consulted with the embedded ones.
    online_crls: &'p [Vec<u8>],
    work: &'p Work,
}

fn dict_end(dict: &SigDict) -> u64 {
    dict.byte_range[2].saturating_add(dict.byte_range[3])
}

fn unix_to_time(t: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn fmt_time(t: i64) -> String {
    unix_to_time(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Verifies one signature dictionary. With `share_file_hash`, also returns the SHA-256 of the whole file,
/// computed sharing the hashing of the first range.
fn verify_one(
    ctx: &Ctx<'_, '_>,
    dict: &SigDict,
    doc_ts: &[DocTs],
    share_file_hash: bool,
) -> (SignatureReport, Option<[u8; 32]>) {
    let pdf = ctx.pdf;
    let [b0, b1, b2, b3] = dict.byte_range;
    let claimed_signing_time = dict.claimed_signing_time.clone();
    let field_name = dict.field_name.clone();
    let end = b2.saturating_add(b3);
    let (coverage, modifications) = coverage_and_modifications(ctx, dict);

    let Some(cms) = parse_cms(&dict.contents) else {
        let fail = Check::fail(
            reason::MALFORMED_SIGNATURE,
            "the /Contents value is not a readable CMS SignedData",
        );
        let chain = Check::fail(reason::UNTRUSTED_CHAIN, "no signer certificate could be read");
        let (indication, sub_indication) = conclude(&fail, &chain, &coverage, &modifications, None);
        let report = SignatureReport {
            signed_end: dict.byte_range[2].saturating_add(dict.byte_range[3]),
            field_name,
            signer_subject: None,
            claimed_signing_time,
            integrity: fail,
            chain,
            coverage,
            modifications,
            kind: SignatureKind::Signature,
            timestamp: None,
            timestamp_time: None,
            revocation: Check::fail(reason::NO_REVOCATION_DATA, "no signer certificate"),
            indication,
            sub_indication,
            validation_time: unix_to_time(ctx.now),
            level: None,
        };
        return (report, None);
    };
    let certs: Vec<CertView<'_>> = cms
        .certificates
        .iter()
        .filter_map(|c| CertView::parse(c))
        .collect();
    let signer = find_signer(&cms, &certs);
    let signer_subject = signer.as_ref().map(CertView::subject_string);

    // Digest of the signed ranges.
    let ranges = usize::try_from(b1)
        .ok()
        .zip(usize::try_from(b2).ok())
        .zip(usize::try_from(end).ok())
        .and_then(|((a, b), e)| Some((pdf.get(..a)?, pdf.get(b..e)?, pdf.get(a..)?)));
    let digest_alg = HashAlg::from_id(&cms.info.digest_alg.oid);
    let mut file_hash = None;
    let content_digest = match (ranges, digest_alg) {
        (Some((first, second, from_gap)), Some(HashAlg::Sha256)) if b0 == 0 => {
            let mut h = sha2::Sha256::new();
            h.update(first);
            if share_file_hash {
                let mut whole = h.clone();
                whole.update(from_gap);
                file_hash = Some(whole.finalize().into());
            }
            h.update(second);
            Some(h.finalize().to_vec())
        }
        (Some((first, second, _)), Some(alg)) if b0 == 0 => Some(alg.digest_parts(&[first, second])),
        _ => None,
    };

    let integrity = check_integrity(&cms, signer.as_ref(), digest_alg, content_digest.as_deref());

    // Proofs of existence: document timestamps over a later revision, then the signature timestamp.
    let doc_ts_poe = doc_ts.iter().filter(|d| d.end > end).map(|d| d.time).min();
    let token = cms
        .info
        .unsigned_attrs
        .as_ref()
        .and_then(|attrs| attribute(attrs, oid::ATTR_SIGNATURE_TIME_STAMP))
        .and_then(|t| t.to_der().ok());
    let ts = token.map(|t| {
        check_token(
            ctx,
            &t,
            &[cms.signature()],
            &cms.certificates,
            doc_ts_poe.unwrap_or(ctx.now),
        )
    });
    let sig_ts_poe = ts.as_ref().filter(|t| t.check.ok).and_then(|t| t.gen_time);
    let poe = match (sig_ts_poe, doc_ts_poe) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let validation_time = poe.unwrap_or(ctx.now);

    let (chain, path) = match &signer {
        Some(s) => {
            let mut pool = certs.clone();
            let dss_certs: Vec<CertView<'_>> =
                ctx.dss.certs.iter().filter_map(|c| CertView::parse(c)).collect();
            pool.extend(dss_certs);
            check_chain_path(ctx.work, s, &pool, ctx.roots, validation_time)
        }
        None => (
            Check::fail(
                reason::UNTRUSTED_CHAIN,
                "the signer certificate is not in the signature",
            ),
            Vec::new(),
        ),
    };

    let revocation = if path.is_empty() {
        Check::fail(reason::NO_REVOCATION_DATA, "no trusted signer chain to check")
    } else {
        let cms_crls: Vec<&[u8]> = cms.crls.iter().map(Vec::as_slice).collect();
        let signer_rev = check_revocation(ctx, &path, &cms_crls, validation_time);
        // The TSA's revocation is checked whatever the signer's says, and a revocation on either side wins.
        let tsa_rev = ts
            .as_ref()
            .filter(|t| t.check.ok)
            .map(|t| check_revocation(ctx, &t.path, &cms_crls, t.gen_time.unwrap_or(ctx.now)));
        let revoked = |c: &Check| c.reason.as_deref() == Some(reason::REVOKED);
        match tsa_rev {
            Some(tsa_rev) if revoked(&tsa_rev) || (signer_rev.ok && !tsa_rev.ok) => Check {
                ok: false,
                reason: tsa_rev.reason,
                detail: format!("TSA: {}", tsa_rev.detail),
            },
            Some(tsa_rev) if signer_rev.ok => {
                Check::pass(format!("signer: {}; TSA: {}", signer_rev.detail, tsa_rev.detail))
            }
            _ => signer_rev,
        }
    };
    let (indication, sub_indication) =
        conclude(&integrity, &chain, &coverage, &modifications, Some(&revocation));

    let level = integrity.ok.then(|| {
        let bt = sig_ts_poe.is_some();
        let has_dss_revocation = !ctx.dss.crls.is_empty() || !ctx.dss.ocsps.is_empty();
        let blt = bt && revocation.ok && has_dss_revocation;
        let blta = blt
            && doc_ts
                .iter()
                .any(|d| d.end > end && ctx.doc.is_some_and(|doc| dss_in_revision(doc, d.end)));
        if blta {
            Level::BLTA
        } else if blt {
            Level::BLT
        } else if bt {
            Level::BT
        } else {
            Level::BB
        }
    });

    let report = SignatureReport {
        signed_end: dict.byte_range[2].saturating_add(dict.byte_range[3]),
        field_name,
        signer_subject,
        claimed_signing_time,
        integrity,
        chain,
        coverage,
        modifications,
        kind: SignatureKind::Signature,
        timestamp: ts.as_ref().map(|t| t.check.clone()),
        timestamp_time: ts.as_ref().and_then(|t| t.gen_time).map(unix_to_time),
        revocation,
        indication,
        sub_indication,
        validation_time: unix_to_time(validation_time),
        level,
    };
    (report, file_hash)
}

/// Whether the catalog of the revision ending at `end` has a /DSS.
fn dss_in_revision(doc: &crate::incremental::PdfDoc<'_>, end: u64) -> bool {
    let Ok(end) = usize::try_from(end) else {
        return false;
    };
    let k = crate::diff::revisions_before(doc, end);
    let table = doc.table_upto(k);
    let root = doc
        .sections
        .get(k.saturating_sub(1))
        .and_then(|s| s.trailer.get("Root"))
        .and_then(crate::incremental::Obj::as_ref_id);
    root.and_then(|r| doc.load_with(&table, r.0))
        .and_then(|c| c.as_dict().map(|d| d.get("DSS").is_some()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-revision PDF of the object bodies `objects` (object 1 first), catalog 1.
    fn pdf_of(objects: &[&str]) -> Vec<u8> {
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    #[test]
    fn byte_ranges() {
        let read = |text: &str| {
            let pdf = pdf_of(&[text]);
            let doc = PdfDoc::parse(&pdf).unwrap();
            let Some(Obj::Dict(d)) = doc.load(1) else {
                panic!("no dictionary")
            };
            byte_range_of(&d)
        };
        assert_eq!(read("<< /ByteRange [0 10 20 30] >>"), Some([0, 10, 20, 30]));
        assert_eq!(
            read("<< /ByteRange [ 0\n10  20 30          ] >>"),
            Some([0, 10, 20, 30])
        );
        assert_eq!(read("<< /ByteRange [0 10 20] >>"), None);
        assert_eq!(read("<< /ByteRange [0 10 20 -1] >>"), None);
        assert_eq!(read("<< /ByteRange [0 10 20 3.0] >>"), None);
        assert_eq!(read("<< /ByteRange [0 1 2 99999999999999999999999] >>"), None);
        assert_eq!(read("<< /ByteRange 5 0 R >>"), None);
    }

    #[test]
    fn text_strings() {
        assert_eq!(pdf_text(b"\xfe\xff\x00T\x001"), "T1");
        assert_eq!(pdf_text(b"Ch\xeang"), "Ch\u{ea}ng");
        assert_eq!(pdf_text("Chứng".as_bytes()), "Chứng");
    }

    #[test]
    fn no_signatures_and_garbage() {
        let trust = TrustStore::default();
        let now = time::OffsetDateTime::now_utc();
        assert!(verify_pdf(b"", &trust, now).signatures.is_empty());
        assert!(verify_pdf(b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF", &trust, now)
            .signatures
            .is_empty());
        // A signature dictionary no form lists is not a signature.
        let bogus = b"1 0 obj << /ByteRange [0 5 9 2] /Contents <3000> >> endobj";
        assert!(verify_pdf(bogus, &trust, now).signatures.is_empty());
        let orphan = pdf_of(&[
            "<< /Type /Catalog >>",
            "<< /Type /Sig /ByteRange [0 5 9 2] /Contents <3000> >>",
        ]);
        let report = verify_pdf(&orphan, &trust, now);
        assert!(report.signatures.is_empty());
        assert_eq!(report.indication, Indication::Indeterminate);
        // Listed by the form, it is judged: and fails.
        let listed = pdf_of(&[
            "<< /Type /Catalog /AcroForm << /Fields [3 0 R] >> >>",
            "<< /Type /Sig /ByteRange [0 5 9 2] /Contents <3000> >>",
            "<< /FT /Sig /T (S) /V 2 0 R >>",
        ]);
        let report = verify_pdf(&listed, &trust, now);
        assert_eq!(report.signatures.len(), 1);
        let sig = &report.signatures[0];
        assert!(!sig.integrity.ok && !sig.coverage.ok);
        assert_eq!(sig.field_name.as_deref(), Some("S"));
        assert_eq!(report.indication, Indication::TotalFailed);
    }

    #[test]
    fn unreadable_values_are_failed_signatures() {
        let trust = TrustStore::default();
        let now = time::OffsetDateTime::now_utc();
        for value in [
            // Not a dictionary.
            "(not a dictionary)",
            // No ByteRange, an indirect one, a literal /Contents, two /Contents.
            "<< /Type /Sig /Contents <3000> >>",
            "<< /Type /Sig /ByteRange 4 0 R /Contents <3000> >>",
            "<< /Type /Sig /ByteRange [0 1 2 3] /Contents (0) >>",
            "<< /Type /Sig /ByteRange [0 1 2 3] /Contents <30> /Contents <31> >>",
        ] {
            let pdf = pdf_of(&[
                "<< /Type /Catalog /AcroForm << /Fields [3 0 R] >> >>",
                value,
                "<< /FT /Sig /T (S) /V 2 0 R >>",
                "[0 1 2 3]",
            ]);
            let report = verify_pdf(&pdf, &trust, now);
            assert_eq!(report.signatures.len(), 1, "{value}");
            let sig = &report.signatures[0];
            assert_eq!(
                sig.coverage.reason.as_deref(),
                Some(reason::INCOMPLETE_BYTE_RANGE),
                "{value}"
            );
            assert_eq!(report.indication, Indication::TotalFailed, "{value}");
        }
        // A /V naming no object leaves the field unsigned.
        let pdf = pdf_of(&[
            "<< /Type /Catalog /AcroForm << /Fields [2 0 R] >> >>",
            "<< /FT /Sig /T (S) /V 9 0 R >>",
        ]);
        assert!(verify_pdf(&pdf, &trust, now).signatures.is_empty());
    }
}
