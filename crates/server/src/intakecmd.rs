//! `banso ocr`: Tesseract (`vie`) over image files, PDF pages or a SANE scan, pages in parallel, with word boxes
//! and confidences.

use anyhow::{anyhow, Result};
use banso_intake::input::{self, Page, Progress, ScanRequest};
use banso_intake::ocr::{OcrConfig, OcrPage, OcrPool, PageImage};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// Loads the pages of `files`, or scans `scan_pages` pages from the SANE device `scanner`; progress on stderr.
pub fn load_pages(files: &[PathBuf], scanner: Option<&str>, scan_pages: Option<usize>) -> Result<Vec<Page>> {
    let mut progress = |p: &Progress| match p.total {
        Some(t) => eprintln!("đã đọc trang / page read {}/{t}", p.done),
        None => eprintln!("đã đọc trang / page read {}", p.done),
    };
    let pages = match scanner {
        Some(device) => input::scan(&ScanRequest::feeder(device, scan_pages), &mut progress)?,
        None => input::load_files(files, &mut progress)?,
    };
    if pages.is_empty() {
        return Err(anyhow!("no pages to read"));
    }
    Ok(pages)
}

/// OCR of loaded pages, in parallel across the cores.
pub fn recognize(pages: &[Page], language: &str) -> Result<Vec<OcrPage>> {
    let config = OcrConfig {
        language: language.to_string(),
        ..OcrConfig::default()
    };
    let pool = OcrPool::new(&config, None)?;
    let dpi = pages
        .first()
        .and_then(|p| p.dpi)
        .map_or(300, |d| d.round().clamp(70.0, 1200.0) as u32);
    let images = pages
        .iter()
        .map(|p| Arc::new(PageImage::Rgb(p.image.clone())))
        .collect();
    let mut progress = |done: usize, total: usize| eprintln!("OCR {done}/{total}");
    Ok(pool.recognize(images, dpi, &mut progress)?)
}

pub fn ocr(
    files: &[PathBuf],
    scanner: Option<&str>,
    scan_pages: Option<usize>,
    language: &str,
    json: bool,
) -> Result<u8> {
    if files.is_empty() && scanner.is_none() {
        return Err(anyhow!("give files to read, or --scanner DEVICE"));
    }
    let pages = load_pages(files, scanner, scan_pages)?;
    let read = recognize(&pages, language)?;
    if json {
        let out: Vec<_> = pages
            .iter()
            .zip(&read)
            .map(|(p, o)| {
                json!({
                    "source": p.source,
                    "width": o.width,
                    "height": o.height,
                    "dpi": o.dpi,
                    "text": o.text,
                    "mean_confidence": o.mean_confidence,
                    "words": o.words.iter().map(|w| json!({
                        "text": w.text,
                        "confidence": w.confidence,
                        "box": [w.bbox.x, w.bbox.y, w.bbox.w, w.bbox.h],
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "pages": out }))?);
    } else {
        for (i, o) in read.iter().enumerate() {
            println!(
                "== trang / page {} ({} words, mean confidence {:.1})",
                i + 1,
                o.words.len(),
                o.mean_confidence
            );
            println!("{}", o.text.trim_end());
        }
    }
    Ok(0)
}

/// Loads, reads and assesses pages; the recognised text and the report.
pub struct Assessed {
    pub ocr: Vec<OcrPage>,
    pub report: banso_intake::decision::IntakeReport,
}

/// Runs the whole intake over loaded pages. `jpeg[i]`: page i came from a JPEG file (error-level analysis).
pub fn assess_pages(
    pages: &[Page],
    jpeg: &[bool],
    holder: Option<&banso_intake::checks::Holder>,
    language: &str,
    policy: &banso_intake::decision::IntakePolicy,
    previous: &[banso_intake::checks::hash::PreviousPage],
) -> Result<Assessed> {
    let ocr = recognize(pages, language)?;
    let inputs: Vec<banso_intake::decision::PageInput<'_>> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| banso_intake::decision::PageInput {
            image: &p.image,
            dpi: p.dpi,
            jpeg: jpeg.get(i).copied().unwrap_or(false),
        })
        .collect();
    let report = banso_intake::decision::assess(&inputs, &ocr, holder, policy, previous)?;
    Ok(Assessed { ocr, report })
}

/// Whether each page came from one of `jpeg_files` (the JPEG files among the inputs, told by content).
fn jpeg_flags(pages: &[Page], jpeg_files: &[&PathBuf]) -> Vec<bool> {
    pages
        .iter()
        .map(|p| matches!(&p.source, input::PageSource::Image { path, .. } if jpeg_files.contains(&path)))
        .collect()
}

fn is_jpeg(bytes: &[u8]) -> bool {
    input::sniff_format(bytes) == Some(input::FileFormat::Jpeg)
}

/// `banso intake`: document type, fields, checks and decision. Exit 0 auto-issue, 1 refuse, 3 officer review.
pub fn intake(
    files: &[PathBuf],
    holder: Option<banso_intake::checks::Holder>,
    config: &crate::config::IntakeConfig,
    json: bool,
) -> Result<u8> {
    if files.is_empty() {
        return Err(anyhow!("give the page files to assess"));
    }
    let pages = load_pages(files, None, None)?;
    let jpeg_files: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            let mut head = [0u8; 16];
            std::fs::File::open(f)
                .and_then(|mut file| std::io::Read::read(&mut file, &mut head))
                .is_ok_and(|n| is_jpeg(&head[..n]))
        })
        .collect();
    let jpeg = jpeg_flags(&pages, &jpeg_files);
    let assessed = assess_pages(
        &pages,
        &jpeg,
        holder.as_ref(),
        &config.language,
        &config.policy,
        &[],
    )?;
    let report = &assessed.report;
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        for p in &report.pages {
            println!("== trang / page {}: {:?}", p.page + 1, p.doc_type);
            for (name, f) in &p.fields {
                println!("  {name:<16} {}", f.value);
            }
            for c in &p.checks {
                println!(
                    "  {:<28} {:<14} {}",
                    c.name,
                    format!("{:?}", c.outcome),
                    c.message
                );
            }
        }
        println!("QUYẾT ĐỊNH / DECISION: {}", report.decision.summary);
    }
    Ok(report.exit_code() as u8)
}

/// The intake at issuance: page files as uploaded → the outcome the core keeps and enforces, with the OCR words
/// as the copies' text layer.
pub fn for_issuance(
    files: &[Vec<u8>],
    holder: &banso_intake::checks::Holder,
    config: &crate::config::IntakeConfig,
    previous: &[banso_intake::checks::hash::PreviousPage],
) -> Result<banso_core::service::IntakeOutcome> {
    let dir = tempfile::TempDir::new()?;
    let mut paths = Vec::with_capacity(files.len());
    for (i, bytes) in files.iter().enumerate() {
        let p = dir.path().join(format!("page-{i:03}"));
        std::fs::write(&p, bytes)?;
        paths.push(p);
    }
    let pages = input::load_files(&paths, &mut |_| {})?;
    let jpeg_files: Vec<&PathBuf> = paths
        .iter()
        .zip(files)
        .filter(|(_, bytes)| is_jpeg(bytes))
        .map(|(p, _)| p)
        .collect();
    let jpeg = jpeg_flags(&pages, &jpeg_files);
    let assessed = assess_pages(
        &pages,
        &jpeg,
        Some(holder),
        &config.language,
        &config.policy,
        previous,
    )?;
    let decision = match assessed.report.decision.action {
        banso_intake::decision::Action::AutoIssue => banso_core::model::IntakeDecision::AutoIssue,
        banso_intake::decision::Action::OfficerReview => banso_core::model::IntakeDecision::OfficerReview,
        banso_intake::decision::Action::Refuse => banso_core::model::IntakeDecision::Refuse,
    };
    let text_layers = assessed
        .ocr
        .iter()
        .map(|o| {
            Some(banso_core::ports::PageText {
                width: o.width,
                height: o.height,
                words: o
                    .words
                    .iter()
                    .map(|w| banso_core::ports::PageWord {
                        text: w.text.clone(),
                        x: w.bbox.x,
                        y: w.bbox.y,
                        w: w.bbox.w,
                        h: w.bbox.h,
                    })
                    .collect(),
            })
        })
        .collect();
    Ok(banso_core::service::IntakeOutcome {
        decision,
        reason: assessed.report.decision.summary.clone(),
        report_json: serde_json::to_string(&assessed.report)?,
        text_layers,
    })
}

/// Runs the intake (when enabled) on an issuance request before the core sees it: the page files are checked
/// first (bad files get their own `ISS-000x`), then read, recognised and checked off the async threads.
pub async fn attach_to(
    service: &banso_core::service::Service,
    config: Option<Arc<crate::config::IntakeConfig>>,
    request: &mut banso_core::service::IssueRequest,
) -> std::result::Result<(), banso_core::Error> {
    use banso_core::{Code, Error};
    let Some(config) = config else {
        return Ok(());
    };
    service.check_files(&request.files)?;
    let previous = previous_pages(service).await?;
    let files = request.files.clone();
    let holder = banso_intake::checks::Holder {
        name: Some(request.holder_name.trim().to_string()).filter(|n| !n.is_empty()),
        birth_date: None,
        id_number: Some(request.holder_id.trim().to_string()).filter(|n| !n.is_empty()),
    };
    let outcome = tokio::task::spawn_blocking(move || for_issuance(&files, &holder, &config, &previous))
        .await
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("intake task: {e}")))?
        .map_err(|e| {
            Error::new(
                Code::Sys0003Internal,
                format!("the intake could not read the pages: {e:#}"),
            )
        })?;
    request.intake = Some(outcome);
    Ok(())
}

/// How many earlier issued requests the duplicate check compares with.
const DUPLICATE_WINDOW: u32 = 10_000;

/// Fingerprints of the pages certified before (from the kept intake reports), for the duplicate check.
async fn previous_pages(
    service: &banso_core::service::Service,
) -> std::result::Result<Vec<banso_intake::checks::hash::PreviousPage>, banso_core::Error> {
    let mut out = Vec::new();
    for (codes, report) in service.issued_intake_reports(DUPLICATE_WINDOW).await? {
        let Ok(report) = serde_json::from_str::<banso_intake::decision::IntakeReport>(&report) else {
            continue;
        };
        for p in report.pages {
            out.push(banso_intake::checks::hash::PreviousPage {
                reference: format!("{} page {}", codes.join(","), p.page + 1),
                fingerprint: p.fingerprint,
            });
        }
    }
    Ok(out)
}
