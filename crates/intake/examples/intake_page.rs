//! Assesses page images the way `banso intake` does: OCR, recognition, checks, decision. Prints the report
//! (`--json`: the whole `IntakeReport`) and exits 0 auto-issue, 1 refuse, 3 officer review, 2 error.
//!
//! `cargo run --example intake_page -- FILE... [--holder-name N] [--holder-dob D] [--holder-id I]
//!  [--ocr-json F]... [--check NAME] [--json]`

use std::path::PathBuf;
use std::sync::Arc;

use banso_intake::checks::Holder;
use banso_intake::decision::{assess, IntakePolicy, PageInput};
use banso_intake::ocr::{reexec_with_omp_thread_limit, OcrConfig, OcrPage, OcrPool, PageImage};

fn run() -> Result<i32, Box<dyn std::error::Error>> {
    reexec_with_omp_thread_limit()?;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut ocr_json: Vec<PathBuf> = Vec::new();
    let mut holder = Holder::default();
    let (mut json, mut only): (bool, Option<String>) = (false, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--holder-name" => holder.name = Some(args.next().ok_or("--holder-name N")?),
            "--holder-dob" => holder.birth_date = Some(args.next().ok_or("--holder-dob D")?),
            "--holder-id" => holder.id_number = Some(args.next().ok_or("--holder-id I")?),
            "--ocr-json" => ocr_json.push(PathBuf::from(args.next().ok_or("--ocr-json F")?)),
            "--check" => only = Some(args.next().ok_or("--check NAME")?),
            "--json" => json = true,
            _ => files.push(PathBuf::from(a)),
        }
    }
    let mut images = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)?;
        let jpeg = bytes.starts_with(&[0xFF, 0xD8]);
        images.push((image::load_from_memory(&bytes)?.to_rgb8(), jpeg));
    }
    let ocr: Vec<OcrPage> = if ocr_json.len() == files.len() {
        ocr_json
            .iter()
            .map(|p| Ok(serde_json::from_slice(&std::fs::read(p)?)?))
            .collect::<Result<_, Box<dyn std::error::Error>>>()?
    } else {
        let pool = OcrPool::new(&OcrConfig::default(), None)?;
        let frames = images
            .iter()
            .map(|(i, _)| Arc::new(PageImage::Rgb(i.clone())))
            .collect();
        pool.recognize(frames, 300, &mut |_, _| {})?
    };
    let inputs: Vec<PageInput<'_>> = images
        .iter()
        .map(|(i, jpeg)| PageInput {
            image: i,
            dpi: None,
            jpeg: *jpeg,
        })
        .collect();
    let has_holder = holder.name.is_some() || holder.birth_date.is_some() || holder.id_number.is_some();
    let report = assess(
        &inputs,
        &ocr,
        has_holder.then_some(&holder),
        &IntakePolicy::default(),
        &[],
    )?;
    if let Some(name) = only {
        for p in &report.pages {
            for c in p.checks.iter().filter(|c| c.name == name) {
                println!("{}", serde_json::to_string_pretty(c)?);
            }
        }
    } else if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.pages {
            println!(
                "page {}: {} (confidence {:.2})",
                p.page + 1,
                p.doc_type.name(),
                p.classification.confidence
            );
            for (k, f) in &p.fields {
                println!("  {k:16} {} ({:.2})", f.value, f.confidence);
            }
            for c in &p.checks {
                println!("  [{:?}] {}: {}", c.outcome, c.name, c.message);
            }
        }
        println!(
            "decision: {:?}: {}",
            report.decision.action, report.decision.summary
        );
    }
    Ok(report.exit_code())
}

fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
