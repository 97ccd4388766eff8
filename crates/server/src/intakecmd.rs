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
