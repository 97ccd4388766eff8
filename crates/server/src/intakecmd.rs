//! `banso ocr` and `banso intake`: Tesseract (`vie`) over image files, PDF pages or a SANE scan, pages in
//! parallel, with word boxes and confidences; and the intake's report and decision on them. (The intake at
//! issuance is banso-intake's `DocumentIntake` adapter, `banso_intake::port`.)

use anyhow::{anyhow, Result};
use banso_intake::input::{self, Page, Progress, ScanRequest};
use banso_intake::ocr::OcrPage;
use serde_json::json;
use std::path::PathBuf;

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
    let mut progress = |done: usize, total: usize| eprintln!("OCR {done}/{total}");
    Ok(banso_intake::port::recognize(pages, language, &mut progress)?)
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
    let jpeg = banso_intake::port::jpeg_flags(&pages, files);
    let (_, report) = banso_intake::port::assess_pages(
        &pages,
        &jpeg,
        holder.as_ref(),
        &config.language,
        &config.policy,
        &[],
    )?;
    let report = &report;
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
