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
        let certs = crate::bounds::cms_certificate_count(der).unwrap_or(0);
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

/// Coverage of the ByteRange and modifications after the signed revision.
fn coverage_and_modifications(ctx: &Ctx<'_, '_>, dict: &SigDict) -> (Check, Check) {
    let len = ctx.pdf.len() as u64;
    let [b0, b1, b2, b3] = dict.byte_range;
    let end = b2.saturating_add(b3);
    let coverage = if b0 != 0 {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            format!("the ByteRange starts at {b0}, not at 0"),
        )
    } else if end > len || b1 > b2 {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            "the ByteRange lies outside the file",
        )
    } else if let Some(problem) = &dict.placement_problem {
        Check::fail(reason::INCOMPLETE_BYTE_RANGE, problem.clone())
    } else if !dict.gap_is_contents {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            format!("bytes {b1}..{b2} left out of the signature are not just the /Contents string"),
        )
    } else {
        Check::pass("the signed range is the whole revision except the signature value")
    };
    let modifications = if end == len {
        Check::pass("no bytes were added after signing")
    } else if end > len {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            format!("the file is {} bytes shorter than the signed revision", end - len),
        )
    } else {
        match (ctx.doc, usize::try_from(end)) {
            (Some(doc), Ok(end)) => match crate::diff::check_after(doc, end) {
                Ok(changes) => Check::pass(format!(
                    "{} later revision(s) only add signatures, document timestamps or validation data",
                    changes.later_revisions
                )),
                Err(d) => Check::fail(d.reason, d.detail),
            },
            _ => Check::fail(
                reason::MODIFIED_AFTER_SIGNING,
                format!("{} bytes were added after the signed revision", len - end),
            ),
        }
    };
    (coverage, modifications)
}

/// A verified timestamp token.
struct TokenCheck {
    check: Check,
    gen_time: Option<i64>,
    /// The TSA path (TSA certificate first) when trusted.
    path: Vec<Vec<u8>>,
    tsa_subject: Option<String>,
}

/// Verifies an RFC 3161 token over `imprint_of` (the bytes whose digest the token must hold, given as
/// parts), its TSA certificate (critical EKU timeStamping) and its chain at `chain_time`.
fn check_token(
    ctx: &Ctx<'_, '_>,
    token: &[u8],
    imprint_parts: &[&[u8]],
    extra_certs: &[Vec<u8>],
    chain_time: i64,
) -> TokenCheck {
    let mut extra: Vec<Vec<u8>> = extra_certs.to_vec();
    extra.extend(ctx.dss.certs.iter().cloned());
    let fail = |reason: &str, detail: String, gen_time: Option<i64>| TokenCheck {
        check: Check::fail(reason, detail),
        gen_time,
        path: Vec::new(),
        tsa_subject: None,
    };
    if !ctx.work.spend() {
        return fail(reason::BAD_TIMESTAMP, "the work budget is spent".into(), None);
    }
    let info = match crate::tsa::verify_token(token, &extra) {
        Ok(info) if info.certs.len() > ctx.work.limits.max_cms_certificates => {
            ctx.work.exceed(format!(
                "a timestamp token carries {} certificates (at most {})",
                info.certs.len(),
                ctx.work.limits.max_cms_certificates
            ));
            return fail(reason::BAD_TIMESTAMP, "too many certificates".into(), None);
        }
        Ok(info) => info,
        Err(e) => {
            return fail(
                reason::BAD_TIMESTAMP,
                format!("the timestamp token does not verify: {e}"),
                None,
            )
        }
    };
    let gen_time = Some(info.gen_time);
    let Some(hash) = info.hash else {
        return fail(
            reason::BAD_TIMESTAMP,
            "the timestamp imprint uses an unsupported hash".into(),
            gen_time,
        );
    };
    if hash.digest_parts(imprint_parts) != info.imprint {
        return fail(
            reason::BAD_TIMESTAMP,
            "the timestamp imprint does not match the timestamped data".into(),
            gen_time,
        );
    }
    let Some(tsa_der) = info.tsa_cert.clone() else {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            "the TSA certificate is missing".into(),
            gen_time,
        );
    };
    let Some(tsa) = CertView::parse(&tsa_der) else {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            "the TSA certificate does not parse".into(),
            gen_time,
        );
    };
    let eku_ok = crate::certgen::extended_key_usages(&tsa)
        .is_some_and(|(critical, ekus)| critical && ekus.contains(&oid::KP_TIME_STAMPING));
    if !eku_ok {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            "the TSA certificate lacks a critical extKeyUsage id-kp-timeStamping".into(),
            gen_time,
        );
    }
    let mut pool_ders: Vec<Vec<u8>> = info.certs.clone();
    pool_ders.extend(extra);
    let pool: Vec<CertView<'_>> = pool_ders.iter().filter_map(|c| CertView::parse(c)).collect();
    let (chain, path) = check_chain_path(ctx.work, &tsa, &pool, ctx.roots, chain_time);
    if !chain.ok {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            format!("the TSA certificate is not trusted: {}", chain.detail),
            gen_time,
        );
    }
    TokenCheck {
        check: Check::pass(format!(
            "timestamp of {} by {}",
            fmt_time(info.gen_time),
            tsa.subject_string()
        )),
        gen_time,
        path,
        tsa_subject: Some(tsa.subject_string()),
    }
}

/// Revocation of every certificate of `path` (leaf first, anchor last, not checked) from the embedded
/// CRLs and OCSP responses and the [`RevocationSource`]'s CRLs. `poe` is the proved time of signing: a
/// revocation after it does not count.
fn check_revocation(ctx: &Ctx<'_, '_>, path: &[Vec<u8>], extra_crls: &[&[u8]], poe: i64) -> Check {
    let crls: Vec<crate::crl::CrlInfo> = ctx
        .dss
        .crls
        .iter()
        .chain(ctx.online_crls.iter())
        .map(Vec::as_slice)
        .chain(extra_crls.iter().copied())
        .filter_map(|c| crate::crl::parse_crl(c).ok())
        .collect();
    let ocsps: Vec<crate::ocsp::OcspResponseInfo> = ctx
        .dss
        .ocsps
        .iter()
        .filter_map(|o| crate::ocsp::parse_response(o).ok())
        .collect();
    let mut covered = 0usize;
    for pair in path.windows(2) {
        let [cert_der, issuer_der] = pair else { continue };
        let Some(cert) = CertView::parse(cert_der) else {
            continue;
        };
        let subject = cert.subject_string();
        let mut good = false;
        for crl in crls
            .iter()
            .filter(|c| c.this_update <= ctx.now && ctx.work.spend() && c.verify_signature(issuer_der))
        {
            match crl.entry(cert.serial()) {
                Some(entry) if entry.revoked_at <= poe => {
                    return Check::fail(
                        reason::REVOKED,
                        format!("{subject} was revoked on {} (CRL)", fmt_time(entry.revoked_at)),
                    );
                }
                Some(_) => good = true,
                None => good = true,
            }
        }
        for resp in &ocsps {
            let Some(single) = resp.status_of(cert.serial(), issuer_der) else {
                continue;
            };
            if single.this_update > ctx.now || !ctx.work.spend() || resp.verify(issuer_der).is_err() {
                continue;
            }
            match single.status {
                crate::ocsp::ParsedStatus::Good => good = true,
                crate::ocsp::ParsedStatus::Revoked { at, .. } if at <= poe => {
                    return Check::fail(
                        reason::REVOKED,
                        format!("{subject} was revoked on {} (OCSP)", fmt_time(at)),
                    );
                }
                crate::ocsp::ParsedStatus::Revoked { .. } => good = true,
                crate::ocsp::ParsedStatus::Unknown => {}
            }
        }
        if !good {
            return Check::fail(
                reason::NO_REVOCATION_DATA,
                format!("no CRL or OCSP response covers {subject}"),
            );
        }
        covered += 1;
    }
    Check::pass(format!(
        "{covered} certificate(s) checked against embedded CRLs and OCSP responses: not revoked"
    ))
}

/// The indication from the checks (in ETSI order: format, hash, crypto, chain, revocation).
fn conclude(
    integrity: &Check,
    chain: &Check,
    coverage: &Check,
    modifications: &Check,
    revocation: Option<&Check>,
) -> (Indication, Option<String>) {
    use sub_indication as si;
    let r = |c: &Check| c.reason.clone().unwrap_or_default();
    let out = |i: Indication, s: &str| (i, Some(s.to_string()));
    if !coverage.ok || !modifications.ok {
        return out(Indication::TotalFailed, si::FORMAT_FAILURE);
    }
    if !integrity.ok {
        return match r(integrity).as_str() {
            reason::DIGEST_MISMATCH => out(Indication::TotalFailed, si::HASH_FAILURE),
            reason::BAD_SIGNATURE => out(Indication::TotalFailed, si::SIG_CRYPTO_FAILURE),
            reason::UNSUPPORTED_ALGORITHM => out(Indication::Indeterminate, si::CRYPTO_CONSTRAINTS_FAILURE),
            reason::SIGNING_CERTIFICATE_MISMATCH => {
                out(Indication::Indeterminate, si::NO_SIGNING_CERTIFICATE_FOUND)
            }
            _ => out(Indication::TotalFailed, si::FORMAT_FAILURE),
        };
    }
    if let Some(rev) = revocation {
        if rev.reason.as_deref() == Some(reason::REVOKED) {
            return out(Indication::TotalFailed, si::REVOKED);
        }
    }
    if !chain.ok {
        return match r(chain).as_str() {
            reason::EXPIRED_CERTIFICATE => out(Indication::Indeterminate, si::OUT_OF_BOUNDS_NO_POE),
            reason::BAD_CERTIFICATE_SIGNATURE => {
                out(Indication::Indeterminate, si::CERTIFICATE_CHAIN_GENERAL_FAILURE)
            }
            _ => out(Indication::Indeterminate, si::NO_CERTIFICATE_CHAIN_FOUND),
        };
    }
    if let Some(rev) = revocation {
        if !rev.ok {
            return out(Indication::Indeterminate, si::TRY_LATER);
        }
    }
    (Indication::TotalPassed, None)
}

/// Verifies a document timestamp; returns its report and its genTime when it is valid.
fn verify_doc_timestamp(
    ctx: &Ctx<'_, '_>,
    dict: &SigDict,
    later: &[DocTs],
) -> (SignatureReport, Option<i64>) {
    let pdf = ctx.pdf;
    let field_name = dict.field_name.clone();
    let (coverage, modifications) = coverage_and_modifications(ctx, dict);
    let [_, b1, b2, b3] = dict.byte_range;
    let end = b2.saturating_add(b3);
    // Validated at the time of the next valid document timestamp, if any, else now.
    let chain_time = later.iter().filter(|d| d.end > end).map(|d| d.time).min();
    let is_latest = chain_time.is_none();
    let chain_time = chain_time.unwrap_or(ctx.now);
    let token = first_element(&dict.contents)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let parts = usize::try_from(b1)
        .ok()
        .zip(usize::try_from(b2).ok())
        .zip(usize::try_from(end).ok())
        .and_then(|((a, b), e)| Some([pdf.get(..a)?, pdf.get(b..e)?]));
    let tc = match parts {
        Some(parts) => check_token(ctx, &token, &parts, &[], chain_time),
        None => TokenCheck {
            check: Check::fail(
                reason::DIGEST_MISMATCH,
                "the ByteRange cannot be read from this file",
            ),
            gen_time: None,
            path: Vec::new(),
            tsa_subject: None,
        },
    };
    let integrity = match tc.check.reason.as_deref() {
        Some(reason::BAD_TIMESTAMP) if tc.check.detail.contains("imprint does not match") => {
            Check::fail(reason::DIGEST_MISMATCH, tc.check.detail.clone())
        }
        Some(reason::BAD_TIMESTAMP) => Check::fail(reason::BAD_SIGNATURE, tc.check.detail.clone()),
        _ => Check::pass("the timestamp token covers the signed bytes and its signature verifies"),
    };
    let chain = match tc.check.reason.as_deref() {
        Some(reason::UNTRUSTED_TIMESTAMP) => Check::fail(reason::UNTRUSTED_CHAIN, tc.check.detail.clone()),
        Some(_) => Check::fail(
            reason::UNTRUSTED_CHAIN,
            "the TSA certificate could not be checked",
        ),
        None => Check::pass("the TSA certificate chains to a trusted root"),
    };
    let revocation = if tc.path.is_empty() {
        Check::fail(reason::NO_REVOCATION_DATA, "no TSA chain to check")
    } else {
        check_revocation(ctx, &tc.path, &[], tc.gen_time.unwrap_or(ctx.now))
    };
    // The newest document timestamp cannot carry its own revocation data yet (it comes with the next
    // renewal); a missing one does not lower its indication.
    let rev_for_indication = if is_latest && revocation.reason.as_deref() == Some(reason::NO_REVOCATION_DATA)
    {
        None
    } else {
        Some(&revocation)
    };
    let (indication, sub) = conclude(&integrity, &chain, &coverage, &modifications, rev_for_indication);
    let valid = indication == Indication::TotalPassed
        || (integrity.ok && chain.ok && coverage.ok && indication != Indication::TotalFailed);
    let report = SignatureReport {
        signed_end: dict.byte_range[2].saturating_add(dict.byte_range[3]),
        field_name,
        signer_subject: tc.tsa_subject.clone(),
        claimed_signing_time: None,
        integrity,
        chain,
        coverage,
        modifications,
        kind: SignatureKind::DocumentTimestamp,
        timestamp: Some(tc.check.clone()),
        timestamp_time: tc.gen_time.map(unix_to_time),
        revocation,
        indication,
        sub_indication: sub,
        validation_time: unix_to_time(chain_time),
        level: None,
    };
    (report, if valid { tc.gen_time } else { None })
}

/// A signature field's value dictionary, read through the form.
#[derive(Debug, Clone)]
struct SigDict {
    /// `[0 0 0 0]` when the dictionary has no readable /ByteRange (then `placement_problem` says so).
    byte_range: [u64; 4],
    /// The decoded /Contents string (empty when there is none).
    contents: Vec<u8>,
    /// Where the /Contents hex string, brackets included, is written in the file.
    contents_span: Option<Range<usize>>,
    /// Whether the ByteRange gap is exactly this dictionary's /Contents string.
    gap_is_contents: bool,
    /// Why the ByteRange cannot leave out this dictionary's /Contents string, if it cannot.
    placement_problem: Option<String>,
    kind: SignatureKind,
    field_name: Option<String>,
    /// The /M entry.
    claimed_signing_time: Option<String>,
}

/// The four non-negative integers of a /ByteRange.
fn byte_range_of(dict: &Dict) -> Option<[u64; 4]> {
    let items = dict.get("ByteRange")?.as_array()?;
    let values = items
        .iter()
        .map(|o| o.as_int().and_then(|v| u64::try_from(v).ok()))
        .collect::<Option<Vec<u64>>>()?;
    <[u64; 4]>::try_from(values).ok()
}

/// What one signature field's value is, and where its ByteRange gap must be.
fn sig_dict(pdf: &[u8], found: &FoundSignature) -> SigDict {
    let empty = Dict::new();
    let dict = found.dict.as_ref().unwrap_or(&empty);
    let byte_range = byte_range_of(dict);
    let contents = match dict.get("Contents") {
        Some(Obj::Str(s)) => s.clone(),
        _ => Vec::new(),
    };
    // The /Contents value as written: a hex string, and the only /Contents of the dictionary.
    let contents_span = found
        .span_of("Contents")
        .filter(|r| pdf.get(r.start) == Some(&b'<') && matches!(dict.get("Contents"), Some(Obj::Str(_))));
    let placement_problem = match (&found.place, &found.dict) {
        (_, None) => Some("the signature field's value cannot be read as a dictionary"),
        (Place::InStream { .. }, _) => Some(
            "the signature dictionary is stored in an object stream, so its /Contents is not in the file's bytes",
        ),
        (Place::Inline { .. }, _) => Some("the signature dictionary is not an indirect object"),
        (Place::Object { .. }, _) if byte_range.is_none() || found.span_of("ByteRange").is_none() => {
            Some("the signature dictionary has no single /ByteRange of four non-negative integers")
        }
        (Place::Object { .. }, _) if contents_span.is_none() => {
            Some("the signature dictionary has no single /Contents hex string")
        }
        (Place::Object { .. }, _) => None,
    }
    .map(str::to_string);
    let byte_range = byte_range.unwrap_or_default();
    let gap = usize::try_from(byte_range[0].saturating_add(byte_range[1]))
        .ok()
        .zip(usize::try_from(byte_range[2]).ok())
        .map(|(a, b)| a..b);
    let gap_is_contents = contents_span.is_some() && gap == contents_span;
    let doc_ts = dict.name_is("Type", "DocTimeStamp") || dict.name_is("SubFilter", "ETSI.RFC3161");
    let text = |key: &str| match dict.get(key) {
        Some(Obj::Str(s)) => Some(pdf_text(s)),
        _ => None,
    };
    SigDict {
        byte_range,
        contents,
        contents_span,
        gap_is_contents,
        placement_problem,
        kind: if doc_ts {
            SignatureKind::DocumentTimestamp
        } else {
            SignatureKind::Signature
        },
        field_name: (!found.field_name.is_empty()).then(|| {
            let parts: Vec<String> = found.field_name.iter().map(|t| pdf_text(t)).collect();
            parts.join(".")
        }),
        claimed_signing_time: text("M"),
    }
}

/// The signatures and document timestamps of `doc`, in file order, found through the form of every
/// revision; refuses a file beyond `limits` or whose fields share a signature value.
fn find_signatures(doc: &PdfDoc<'_>, limits: &Limits) -> Result<Vec<SigDict>, TooComplex> {
    let max = limits.max_signatures;
    let form = crate::incremental::signature_fields(doc, true, max).map_err(|e| match e {
        SigningError::Prepared(what) => TooComplex(what),
        other => TooComplex(other.to_string()),
    })?;
    if form.most_in_one_revision > max || form.found.len() > max {
        return Err(TooComplex(format!(
            "more than {max} signature dictionaries in the form's signature fields"
        )));
    }
    if form.shared_value {
        return Err(TooComplex(
            "two signature fields share one signature dictionary".into(),
        ));
    }
    let mut found = form.found;
    found.sort_by_key(|f| f.position);
    let dicts: Vec<SigDict> = found.iter().map(|f| sig_dict(doc.bytes, f)).collect();
    let mut spans: Vec<&Range<usize>> = dicts.iter().filter_map(|d| d.contents_span.as_ref()).collect();
    spans.sort_by_key(|r| (r.start, r.end));
    if spans.windows(2).any(|w| matches!(w, [a, b] if b.start < a.end)) {
        return Err(TooComplex(
            "two signature dictionaries share one signature value".into(),
        ));
    }
    Ok(dicts)
}

/// PDF text string bytes to text: UTF-16BE with BOM, UTF-8 with BOM or valid UTF-8, else Latin-1.
fn pdf_text(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .filter_map(|c| <[u8; 2]>::try_from(c).ok())
            .map(u16::from_be_bytes)
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// A CMS SignedData read with the `cms` crate: its first SignerInfo, and the certificates and CRLs it
/// carries as DER.
struct Cms {
    signed: SignedData,
    info: SignerInfo,
    certificates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

impl Cms {
    fn sig_alg(&self) -> &[u8] {
        self.info.signature_algorithm.oid.as_bytes()
    }

    fn signature(&self) -> &[u8] {
        self.info.signature.as_bytes()
    }
}

/// The first DER element of `bytes`: a /Contents value is zero-padded after its CMS.
pub fn first_element(bytes: &[u8]) -> Option<&[u8]> {
    use der::Reader as _;
    der::SliceReader::new(bytes).ok()?.tlv_bytes().ok()
}

/// The certificates a CMS SignedData carries (e.g. a signature's /Contents, padding allowed).
pub fn cms_certificates(der: &[u8]) -> Vec<Vec<u8>> {
    parse_cms(der).map(|cms| cms.certificates).unwrap_or_default()
}

fn parse_cms(padded: &[u8]) -> Option<Cms> {
    let der = first_element(padded)?;
    crate::bounds::check(der).ok()?;
    let content_info = cms::content_info::ContentInfo::from_der(der).ok()?;
    if content_info.content_type != oid::SIGNED_DATA {
        return None;
    }
    let signed: SignedData = content_info.content.decode_as().ok()?;
    let info = signed.signer_infos.0.iter().next()?.clone();
    let certificates = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => cert.to_der().ok(),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let crls = signed
        .crls
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            RevocationInfoChoice::Crl(crl) => crl.to_der().ok(),
            RevocationInfoChoice::Other(_) => None,
        })
        .collect();
    Some(Cms {
        signed,
        info,
        certificates,
        crls,
    })
}

/// The first value of attribute `id`.
fn attribute(attrs: &Attributes, id: Oid) -> Option<&der::Any> {
    attrs.iter().find(|a| a.oid == id)?.values.iter().next()
}

fn find_signer<'a>(cms: &Cms, certs: &[CertView<'a>]) -> Option<CertView<'a>> {
    let found = match &cms.info.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            let serial = id.serial_number.as_bytes();
            certs
                .iter()
                .find(|c| *c.issuer() == id.issuer && c.serial() == serial)
                .or_else(|| certs.iter().find(|c| c.serial() == serial))
        }
        SignerIdentifier::SubjectKeyIdentifier(id) => certs
            .iter()
            .find(|c| c.subject_key_id.as_deref() == Some(id.0.as_bytes())),
    };
    found.cloned()
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
        match ts.as_ref().filter(|t| t.check.ok) {
            Some(t) if signer_rev.ok => {
                let tsa_rev = check_revocation(ctx, &t.path, &cms_crls, t.gen_time.unwrap_or(ctx.now));
                if tsa_rev.ok {
                    Check::pass(format!("signer: {}; TSA: {}", signer_rev.detail, tsa_rev.detail))
                } else {
                    Check {
                        ok: false,
                        reason: tsa_rev.reason,
                        detail: format!("TSA: {}", tsa_rev.detail),
                    }
                }
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

fn check_integrity(
    cms: &Cms,
    signer: Option<&CertView<'_>>,
    digest_alg: Option<HashAlg>,
    content_digest: Option<&[u8]>,
) -> Check {
    let Some(digest_alg) = digest_alg else {
        return Check::fail(
            reason::UNSUPPORTED_ALGORITHM,
            "the digest algorithm is not supported",
        );
    };
    if cms.signed.encap_content_info.econtent.is_some() {
        return Check::fail(
            reason::UNSUPPORTED_ALGORITHM,
            "the signature encapsulates its content (not detached)",
        );
    }
    let Some(content_digest) = content_digest else {
        return Check::fail(
            reason::DIGEST_MISMATCH,
            "the ByteRange cannot be read from this file",
        );
    };
    let Some(signer) = signer else {
        return Check::fail(
            reason::BAD_SIGNATURE,
            "the signer certificate is not in the signature",
        );
    };
    let Some(key) = signer.public_key() else {
        return Check::fail(
            reason::UNSUPPORTED_ALGORITHM,
            "the signer's public key type is not supported",
        );
    };
    let sig_hash = hash_of_signature_alg(cms.sig_alg()).unwrap_or(digest_alg);
    match &cms.info.signed_attrs {
        Some(attrs) => {
            let Some(md) = attribute(attrs, oid::ATTR_MESSAGE_DIGEST) else {
                return Check::fail(
                    reason::MALFORMED_SIGNATURE,
                    "the message-digest attribute is missing",
                );
            };
            if md.tag() != der::Tag::OctetString || md.value() != content_digest {
                return Check::fail(
                    reason::DIGEST_MISMATCH,
                    "the signed digest differs from the digest of the signed bytes: the file was changed",
                );
            }
            // The signature covers the DER of the attributes as a SET OF, not with their [0] tag
            // (RFC 5652 §5.4). DER has one encoding per value, so re-encoding gives the signed octets;
            // attributes sent in another encoding fail the check below.
            let Ok(to_verify) = attrs.to_der() else {
                return Check::fail(reason::MALFORMED_SIGNATURE, "the signed attributes do not encode");
            };
            if !key.verify(cms.sig_alg(), sig_hash, &to_verify, cms.signature()) {
                return Check::fail(
                    reason::BAD_SIGNATURE,
                    "the signature value does not verify with the signer's key",
                );
            }
            if let Some(v2) = attribute(attrs, oid::ATTR_SIGNING_CERTIFICATE_V2) {
                if let Err(detail) = crate::ess::check_signing_certificate_v2(v2, signer) {
                    return Check::fail(reason::SIGNING_CERTIFICATE_MISMATCH, detail);
                }
            }
        }
        None => {
            if sig_hash != digest_alg
                || !key.verify_prehashed(cms.sig_alg(), sig_hash, content_digest, cms.signature())
            {
                return Check::fail(
                    reason::BAD_SIGNATURE,
                    "the signature value does not verify with the signer's key",
                );
            }
        }
    }
    Check::pass("the signed bytes are unchanged and the signature value verifies")
}

/// Whether `cert` names `issuer` by key identifier (strong evidence that `issuer` is the real issuer, so a
/// signature that fails to verify means a damaged or forged certificate rather than a stranger CA).
fn same_key_id(cert: &CertView<'_>, issuer: &CertView<'_>) -> bool {
    matches!((&cert.authority_key_id, &issuer.subject_key_id), (Some(a), Some(s)) if a == s)
}

/// Builds a path from `signer` through `pool` to one of `roots` and checks it at `now`; also returns the
/// path (signer first, anchor last) when it is trusted.
fn check_chain_path(
    work: &Work,
    signer: &CertView<'_>,
    pool: &[CertView<'_>],
    roots: &[CertView<'_>],
    now: i64,
) -> (Check, Vec<Vec<u8>>) {
    let check = check_chain_steps(work, signer, pool, roots, now);
    let path = match &check {
        (c, p) if c.ok => p.iter().map(|x| x.raw.to_vec()).collect(),
        _ => Vec::new(),
    };
    (check.0, path)
}

fn check_chain_steps<'a>(
    work: &Work,
    signer: &CertView<'a>,
    pool: &[CertView<'a>],
    roots: &[CertView<'a>],
    now: i64,
) -> (Check, Vec<CertView<'a>>) {
    const MAX_DEPTH: usize = 8;
    let mut path: Vec<CertView<'_>> = vec![signer.clone()];
    let mut bad_signature_seen = false;
    let mut anchored = false;
    for _ in 0..MAX_DEPTH {
        let Some(current) = path.last().cloned() else {
            break;
        };
        if roots.iter().any(|r| r.raw == current.raw) {
            anchored = true;
            break;
        }
        // A self-signed certificate that is not an anchor ends the path.
        let signed_by = |issuer: &CertView<'_>| {
            work.spend() && issuer.public_key().is_some_and(|k| current.signed_by(&k))
        };
        if current.is_self_issued() && signed_by(&current) {
            break;
        }
        let mut next = None;
        for root in roots.iter().filter(|r| current.names_issuer(r)) {
            if signed_by(root) {
                next = Some((root.clone(), true));
                break;
            }
            bad_signature_seen |= same_key_id(&current, root);
        }
        if next.is_none() {
            let candidates = pool
                .iter()
                .filter(|c| current.names_issuer(c) && !path.iter().any(|p| p.raw == c.raw))
                .take(work.limits.max_issuer_candidates);
            for candidate in candidates {
                if signed_by(candidate) {
                    next = Some((candidate.clone(), false));
                    break;
                }
                bad_signature_seen |= same_key_id(&current, candidate);
            }
        }
        match next {
            Some((cert, is_root)) => {
                path.push(cert);
                if is_root {
                    anchored = true;
                    break;
                }
            }
            None => break,
        }
    }
    if !anchored {
        let c = if bad_signature_seen {
            Check::fail(
                reason::BAD_CERTIFICATE_SIGNATURE,
                "a certificate's signature does not verify with its issuer's key",
            )
        } else {
            Check::fail(
                reason::UNTRUSTED_CHAIN,
                "the signer's certificate does not lead to a trusted root",
            )
        };
        return (c, path);
    }
    for cert in &path {
        if !cert.valid_at(now) {
            let when = if now < cert.not_before {
                "is not yet valid"
            } else {
                "has expired"
            };
            let c = Check::fail(
                reason::EXPIRED_CERTIFICATE,
                format!("the certificate {} {when}", cert.subject_string()),
            );
            return (c, path.clone());
        }
    }
    for (depth, issuer) in path.iter().enumerate().skip(1) {
        let ku_ok = issuer.key_usage.is_none_or(|ku| ku & KU_KEY_CERT_SIGN != 0);
        if !issuer.is_ca || !ku_ok {
            let c = Check::fail(
                reason::UNTRUSTED_CHAIN,
                format!(
                    "the issuer {} is not a certification authority",
                    issuer.subject_string()
                ),
            );
            return (c, path.clone());
        }
        // CA certificates between this issuer and the signer.
        let below = depth.saturating_sub(1) as u64;
        if issuer.path_len.is_some_and(|limit| below > limit) {
            let c = Check::fail(
                reason::UNTRUSTED_CHAIN,
                format!("the path is longer than {} allows", issuer.subject_string()),
            );
            return (c, path.clone());
        }
    }
    let root = path.last().map(CertView::subject_string).unwrap_or_default();
    let c = Check::pass(format!(
        "the signer's certificate chains to the trusted root {root}"
    ));
    (c, path)
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
