//! The intake benchmark on a generated corpus: CER, field F1, classification accuracy, tamper recall and false
//! alarms, Art. 22 detection per ground, and pages/s of the whole intake next to the Tesseract CLI.
//!
//! [`evaluate`] generates the pages (clean, degraded, tampered, Art. 22; `per_type` of each per type), writes
//! them to a temporary directory, then times the whole intake as a server runs it: decode the file, OCR
//! (one engine per worker), recognition and every check. The Tesseract CLI reads the same files with the same
//! number of parallel workers in the same run. Nothing here asserts a target: the report states them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::checks::{Ground, Outcome};
use crate::corpus::{
    split_specs, Art22Case, Generator, GroundTruth, Split, TamperKind, Variant, VariantKind,
};
use crate::decision::{assess_page, Action, IntakePolicy, PageInput, PageReport};
use crate::error::IntakeError;
use crate::metrics::{cer_count, field_score, CerCount, FieldScore};
use crate::ocr::{OcrConfig, OcrPage, OcrPool, PageImage};
use crate::recognise::{DocClass, FieldSource};
use crate::text::fold;

mod documents;
mod evaluate;

use documents::*;
pub use evaluate::*;

/// What to run.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub seed: u64,
    /// Pages per type and per variant kind.
    pub per_type: u32,
    pub kinds: Vec<VariantKind>,
    /// Parallel workers (OCR engines, CLI processes, check threads).
    pub threads: usize,
    /// Also run the Tesseract CLI on the same pages.
    pub compare_cli: bool,
    pub policy: IntakePolicy,
    /// Keep pages, truth and OCR JSON here (and reuse OCR found here: then OCR time is not measured).
    pub keep_dir: Option<PathBuf>,
    pub reuse_ocr: bool,
    /// Documents of several pages and papers the page corpus lacks ([`crate::corpus::documents`]), per kind.
    pub documents: u32,
    /// The generator settings the corpus is drawn from: the thresholds were fitted on `Fitting`; `HeldOut`
    /// sets pages in typefaces and layouts the fitting never saw.
    pub split: Split,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            seed: 2025,
            per_type: 2,
            kinds: VariantKind::ALL.to_vec(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            compare_cli: true,
            policy: IntakePolicy::default(),
            keep_dir: None,
            reuse_ocr: false,
            documents: 4,
            split: Split::HeldOut,
        }
    }
}

/// A rate with its counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub hits: usize,
    pub total: usize,
}

impl Rate {
    pub fn rate(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.hits as f64 / self.total as f64
        }
    }
    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
    }
}

/// The benchmark's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EvalReport {
    /// `fitting` or `held_out` ([`Split`]).
    pub split: String,
    pub pages: usize,
    pub threads: usize,
    pub cer_clean: CerCount,
    pub cer_degraded: CerCount,
    pub cli_cer_clean: Option<CerCount>,
    pub cli_cer_degraded: Option<CerCount>,
    /// Fields on clean and degraded pages, values compared after NFC and whitespace collapsing.
    pub fields_clean: FieldScore,
    pub fields_degraded: FieldScore,
    /// Per field name (clean + degraded).
    pub fields_by_name: BTreeMap<String, FieldScore>,
    /// The same, with names read from an MRZ compared without diacritics (an MRZ cannot carry them).
    pub fields_mrz_names_folded: FieldScore,
    /// Type correct, over every page generated.
    pub classification: Rate,
    pub classification_by_kind: BTreeMap<String, Rate>,
    /// Tampered pages flagged by any forensic check.
    pub tamper_recall: Rate,
    /// Tampered pages against their untampered twins (same spec and seed, no alteration): held for an officer
    /// (or refused) while the twin is auto-issued; decided more strictly than the twin; with a forensic
    /// finding the twin lacks.
    pub tampered_held_while_twin_issued: Rate,
    pub tampered_stricter_than_twin: Rate,
    pub tampered_finding_twin_lacks: Rate,
    pub tamper_recall_by_kind: BTreeMap<String, Rate>,
    /// Tampered pages flagged by a forensic check whose region overlaps the altered region.
    pub tamper_localised: Rate,
    /// Tampered pages on which any failed check (forensic, identity, number structure…) shows the officer a
    /// region on the altered spot.
    pub tamper_shown_at_spot: Rate,
    /// Clean and degraded pages flagged by any forensic check.
    pub false_alarms: Rate,
    pub false_alarms_by_check: BTreeMap<String, usize>,
    /// Art. 22 pages decided right, per ground: refused with the ground where it is unambiguous (secrecy and
    /// do-not-copy marks), sent to an officer with the ground suggested otherwise (seal not found on an
    /// official paper, foreign paper without legalisation).
    pub art22_by_ground: BTreeMap<String, Rate>,
    /// Art. 22 pages auto-issued (must be 0).
    pub art22_auto_issued: Rate,
    /// Marked pages (secrecy / do-not-copy marks placed, turned and scanned as real papers show them) refused
    /// with the right ground, by placement, by scan mode and by turn.
    pub marks_by_placement: BTreeMap<String, Rate>,
    pub marks_by_scan: BTreeMap<String, Rate>,
    pub marks_by_turn: BTreeMap<String, Rate>,
    /// Marked pages auto-issued (must be 0).
    pub marks_auto_issued: Rate,
    /// Clean and degraded pages refused (any ground): wrongful refusals.
    pub wrongful_refusals: Rate,
    /// Legitimate pages captured at 200 dpi or with a phone: refused (must be 0), flagged by forensics, and
    /// CER by capture mode (their auto-issue rates are in `auto_issued_by_scan`).
    pub capture_wrongful_refusals: Rate,
    pub capture_false_alarms: Rate,
    pub cer_by_capture: BTreeMap<String, CerCount>,
    /// Clean and degraded pages auto-issued, by scan (clean: colour PNG; degraded: JPEG, turned, blurred,
    /// noisy), by document type and by typeface.
    pub auto_issued_by_scan: BTreeMap<String, Rate>,
    pub auto_issued_by_type: BTreeMap<String, Rate>,
    pub auto_issued_by_typeface: BTreeMap<String, Rate>,
    /// Forensic false alarms and tamper recall (flagged, localised) by typeface.
    pub false_alarms_by_typeface: BTreeMap<String, Rate>,
    pub tamper_localised_by_typeface: BTreeMap<String, Rate>,
    /// CER of clean pages by typeface.
    pub cer_clean_by_typeface: BTreeMap<String, CerCount>,
    /// Documents auto-issued although a check that concerns them could not run (`unchecked`): must be 0.
    pub issued_with_unchecked: Rate,
    /// Which checks could not run, over all documents.
    pub unchecked_by_check: BTreeMap<String, usize>,
    /// Decisions per variant kind.
    pub decisions: BTreeMap<String, BTreeMap<String, usize>>,
    /// Documents (several pages, persons' papers, legalisation pages, unread official papers): decisions and
    /// whether each was decided as it should be, per document kind.
    pub documents: usize,
    pub document_decisions: BTreeMap<String, BTreeMap<String, usize>>,
    pub documents_right: BTreeMap<String, Rate>,
    /// Legitimate documents of known types refused (must be 0), and auto-issued, by scan mode.
    pub document_wrongful_refusals: Rate,
    pub documents_auto_issued_by_scan: BTreeMap<String, Rate>,
    /// Whole intake (decode + OCR + checks), wall clock, all workers.
    pub intake_secs: f64,
    pub intake_pages_per_sec: f64,
    /// Seconds per page on one core (wall × workers / pages).
    pub intake_secs_per_page_per_core: f64,
    /// Recognition + checks alone, mean per page (ms).
    pub assess_ms_mean: f64,
    pub ocr_reused: bool,
    pub cli_pages_per_sec: Option<f64>,
    /// What went wrong, page by page (misclassified, missed, false alarms, wrong fields).
    pub notes: Vec<String>,
}

/// `key value, key value, …` over a figure map.
fn each<V>(map: &BTreeMap<String, V>, value: impl Fn(&V) -> String) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {}", value(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn tamper_name(k: TamperKind) -> &'static str {
    match k {
        TamperKind::AlteredDigit => "altered_digit",
        TamperKind::PastedRegion => "pasted_region",
        TamperKind::ErasedArea => "erased_area",
    }
}

fn art22_ground(c: &Art22Case) -> (Ground, &'static str) {
    match c {
        Art22Case::SecrecyStamp { .. } => (Ground::SecrecyMark, "secrecy_mark"),
        Art22Case::NoCopyMark { .. } => (Ground::NoCopyMark, "no_copy_mark"),
        Art22Case::MissingSeal => (Ground::NoSeal, "no_seal"),
        Art22Case::ForeignNotLegalised => (Ground::ForeignNotLegalised, "foreign_not_legalised"),
    }
}

/// Whether the policy refuses this case without an officer (a mark shown by its region) or sends it to an
/// officer with the ground suggested (an official paper's seal not found, a foreign paper).
fn art22_unambiguous(c: &Art22Case) -> bool {
    matches!(c, Art22Case::SecrecyStamp { .. } | Art22Case::NoCopyMark { .. })
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), IntakeError> {
    let body = serde_json::to_vec(value).map_err(|e| IntakeError::Encode(e.to_string()))?;
    std::fs::write(path, body).map_err(|e| IntakeError::io(path, e))
}

/// Maps `f` (given each item's index) over `items` on `threads` threads, keeping the order.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(usize, &T) -> Result<R, IntakeError> + Sync,
) -> Result<Vec<R>, IntakeError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<R, IntakeError>>>> =
        Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(i, item);
                if let Ok(mut g) = results.lock() {
                    g[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .map_err(|_| IntakeError::PoolClosed)?
        .into_iter()
        .map(|r| r.ok_or(IntakeError::PoolClosed)?)
        .collect()
}

/// The Tesseract CLI's text for one page (`vie`, one OpenMP thread): the comparison the benchmarks print.
pub fn cli_ocr(path: &Path) -> Result<String, IntakeError> {
    let out = std::process::Command::new("tesseract")
        .arg(path)
        .arg("-")
        .arg("-l")
        .arg("vie")
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .map_err(|_| IntakeError::ProgramMissing {
            program: "tesseract",
            hint: "apt install tesseract-ocr tesseract-ocr-vie",
        })?;
    if !out.status.success() {
        return Err(IntakeError::ProgramFailed {
            program: "tesseract",
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::AutoIssue => "auto_issue",
        Action::OfficerReview => "officer_review",
        Action::Refuse => "refuse",
    }
}

impl EvalReport {
    /// The figures as lines of text, with the targets.
    pub fn lines(&self) -> Vec<String> {
        let pct = |c: &CerCount| c.rate() * 100.0;
        let mut out = vec![format!(
            "split: {} ({})",
            self.split,
            if self.split == "held_out" {
                "typefaces Liberation, FreeFont, Noto and layouts the thresholds were never fitted on"
            } else {
                "DejaVu, the standard layout: the settings the thresholds were fitted on"
            }
        )];
        out.push(format!(
            "pages: {} on {} worker(s){}",
            self.pages,
            self.threads,
            if self.ocr_reused {
                " (OCR reused from disk: intake time excludes OCR)"
            } else {
                ""
            }
        ));
        out.push(format!(
            "whole intake: {:.2} pages/s; {:.2} s per page per core (target ≤ 1.0 s); checks alone {:.0} ms/page",
            self.intake_pages_per_sec, self.intake_secs_per_page_per_core, self.assess_ms_mean
        ));
        if let Some(c) = self.cli_pages_per_sec {
            out.push(format!("tesseract CLI (OCR only): {c:.2} pages/s"));
        }
        let cli = |c: &Option<CerCount>| {
            c.as_ref()
                .map_or(String::new(), |c| format!("  CLI {:.2} %", c.rate() * 100.0))
        };
        out.push(format!(
            "CER clean     {:.2} %{} (target ≤ 1.5 %)",
            pct(&self.cer_clean),
            cli(&self.cli_cer_clean)
        ));
        out.push(format!(
            "CER degraded  {:.2} %{} (target ≤ 3 %)",
            pct(&self.cer_degraded),
            cli(&self.cli_cer_degraded)
        ));
        out.push(format!(
            "field F1: clean {:.3}, degraded {:.3} (target ≥ 0.95); MRZ names folded {:.3}",
            self.fields_clean.f1(),
            self.fields_degraded.f1(),
            self.fields_mrz_names_folded.f1()
        ));
        for (k, s) in &self.fields_by_name {
            out.push(format!(
                "  {k:16} F1 {:.3} (P {:.3} R {:.3})",
                s.f1(),
                s.precision(),
                s.recall()
            ));
        }
        out.push(format!(
            "classification: {:.3} ({}/{}) (target ≥ 0.95)",
            self.classification.rate(),
            self.classification.hits,
            self.classification.total
        ));
        for (k, c) in &self.classification_by_kind {
            out.push(format!("  {k:9} {:.3} ({}/{})", c.rate(), c.hits, c.total));
        }
        out.push(format!(
            "tamper recall (a forensic finding): {:.3} ({}/{}) (target ≥ 0.9); localised {:.3}",
            self.tamper_recall.rate(),
            self.tamper_recall.hits,
            self.tamper_recall.total,
            self.tamper_localised.rate()
        ));
        out.push(format!(
            "tampered pages where a failed check (any) shows the altered spot: {:.3} ({}/{}) (target ≥ 0.8)",
            self.tamper_shown_at_spot.rate(),
            self.tamper_shown_at_spot.hits,
            self.tamper_shown_at_spot.total
        ));
        for (k, c) in &self.tamper_recall_by_kind {
            out.push(format!("  {k:14} {:.3} ({}/{})", c.rate(), c.hits, c.total));
        }
        if self.tampered_held_while_twin_issued.total > 0 {
            out.push(format!(
                "tampered pages held for an officer while their untampered twin is issued: {:.3} ({}/{}) (target ≥ 0.9); stricter than the twin {}/{}; with a finding the twin lacks {}/{}",
                self.tampered_held_while_twin_issued.rate(),
                self.tampered_held_while_twin_issued.hits,
                self.tampered_held_while_twin_issued.total,
                self.tampered_stricter_than_twin.hits,
                self.tampered_stricter_than_twin.total,
                self.tampered_finding_twin_lacks.hits,
                self.tampered_finding_twin_lacks.total
            ));
        }
        out.push(format!(
            "false alarms (clean + degraded flagged by forensics): {:.3} ({}/{}) (target ≤ 0.05) {:?}",
            self.false_alarms.rate(),
            self.false_alarms.hits,
            self.false_alarms.total,
            self.false_alarms_by_check
        ));
        for (k, c) in &self.art22_by_ground {
            let how = if matches!(k.as_str(), "secrecy_mark" | "no_copy_mark") {
                "refused with the ground"
            } else {
                "to an officer, ground suggested"
            };
            out.push(format!(
                "Art. 22 {k:22} {how} {:.3} ({}/{})",
                c.rate(),
                c.hits,
                c.total
            ));
        }
        out.push(format!(
            "Art. 22 pages auto-issued: {}/{} (must be 0)",
            self.art22_auto_issued.hits, self.art22_auto_issued.total
        ));
        out.push(format!(
            "wrongful refusals (clean + degraded): {}/{}",
            self.wrongful_refusals.hits, self.wrongful_refusals.total
        ));
        let rate = |r: &Rate| format!("{:.3} ({}/{})", r.rate(), r.hits, r.total);
        for (what, map) in [
            ("scan", &self.auto_issued_by_scan),
            ("typeface", &self.auto_issued_by_typeface),
            ("type", &self.auto_issued_by_type),
        ] {
            out.push(format!(
                "legitimate pages auto-issued by {what} (target ≥ 0.8{}): {}",
                if what == "scan" { "; phone ≥ 0.5" } else { "" },
                each(map, rate)
            ));
        }
        if self.capture_wrongful_refusals.total > 0 {
            out.push(format!(
                "captures (200-dpi scans, phone photographs): wrongly refused {}/{} (target 0); flagged by forensics {}; CER {}",
                self.capture_wrongful_refusals.hits,
                self.capture_wrongful_refusals.total,
                rate(&self.capture_false_alarms),
                each(&self.cer_by_capture, |c| format!("{:.2} %", pct(c)))
            ));
        }
        out.push(format!(
            "by typeface: false alarms {}; tamper localised {}; CER clean {}",
            each(&self.false_alarms_by_typeface, rate),
            each(&self.tamper_localised_by_typeface, rate),
            each(&self.cer_clean_by_typeface, |c| format!("{:.2} %", pct(c)))
        ));
        for (what, map) in [
            ("placement", &self.marks_by_placement),
            ("scan", &self.marks_by_scan),
            ("turn", &self.marks_by_turn),
        ] {
            if !map.is_empty() {
                out.push(format!(
                    "secrecy/do-not-copy marks refused with the right ground, by {what}: {}",
                    each(map, |v| format!("{}/{}", v.hits, v.total))
                ));
            }
        }
        if self.marks_auto_issued.total > 0 {
            out.push(format!(
                "marked pages auto-issued: {}/{} (target 0)",
                self.marks_auto_issued.hits, self.marks_auto_issued.total
            ));
        }
        out.push(format!(
            "issued with a required check not run: {} (of {} documents; target 0)",
            self.issued_with_unchecked.hits, self.issued_with_unchecked.total
        ));
        if !self.unchecked_by_check.is_empty() {
            out.push(format!(
                "checks that could not run (documents sent to an officer for it): {:?}",
                self.unchecked_by_check
            ));
        }
        for (k, d) in &self.decisions {
            out.push(format!("decisions {k:9} {d:?}"));
        }
        if self.documents > 0 {
            out.push(format!(
                "documents ({}; several pages, persons' papers, legalisation pages, unread official papers):",
                self.documents
            ));
            for (k, rate) in &self.documents_right {
                out.push(format!(
                    "  {k:21} decided as expected {:.3} ({}/{}) {:?}",
                    rate.rate(),
                    rate.hits,
                    rate.total,
                    self.document_decisions.get(k).cloned().unwrap_or_default()
                ));
            }
            out.push(format!(
                "  legitimate documents wrongly refused: {}/{} (target 0)",
                self.document_wrongful_refusals.hits, self.document_wrongful_refusals.total
            ));
            for (k, rate) in &self.documents_auto_issued_by_scan {
                out.push(format!(
                    "  legitimate documents auto-issued, {k}: {:.3} ({}/{})",
                    rate.rate(),
                    rate.hits,
                    rate.total
                ));
            }
        }
        out
    }
}
