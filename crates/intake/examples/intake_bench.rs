//! OCR benchmark: this crate's Tesseract pool against the Tesseract CLI on the same generated pages, in the
//! same run, with the same number of parallel workers; CER on clean and degraded pages.
//!
//! `cargo run --release --example intake_bench -- [--per-type N] [--seed S] [--threads T] [--keep DIR]`

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use banso_intake::corpus::{corpus_specs, Generator, GroundTruth, VariantKind};
use banso_intake::error::IntakeError;
use banso_intake::eval::{cli_ocr, parallel_map};
use banso_intake::metrics::{cer_count, CerCount};
use banso_intake::ocr::{reexec_with_omp_thread_limit, OcrConfig, OcrPool, PageImage};

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), AnyError> {
    reexec_with_omp_thread_limit()?;
    let mut args = std::env::args().skip(1);
    let (mut per_type, mut seed) = (2u32, 2025u64);
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut keep: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--per-type" => per_type = args.next().ok_or("--per-type N")?.parse()?,
            "--seed" => seed = args.next().ok_or("--seed S")?.parse()?,
            "--threads" => threads = args.next().ok_or("--threads T")?.parse()?,
            "--keep" => keep = Some(PathBuf::from(args.next().ok_or("--keep DIR")?)),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let tmp = tempfile::tempdir()?;
    let dir = keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    let generator = Generator::new()?;
    let specs = corpus_specs(seed, per_type, &[VariantKind::Clean, VariantKind::Degraded]);
    let t = Instant::now();
    let mut pages: Vec<(PathBuf, GroundTruth)> = Vec::new();
    for spec in &specs {
        let page = generator.generate(spec)?;
        let path = page.write(&dir)?;
        pages.push((path, page.truth));
    }
    println!(
        "generated {} pages ({} per type × 11 types × clean+degraded) in {:.1} s",
        pages.len(),
        per_type,
        t.elapsed().as_secs_f64()
    );

    // This crate: decode + OCR, pages in parallel on `threads` workers (engines started beforehand,
    // as a server keeps them).
    let t = Instant::now();
    let pool = OcrPool::new(&OcrConfig::default(), Some(threads))?;
    let init = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let grays = parallel_map(&pages, threads, |_, (path, _)| {
        let img = image::open(path)
            .map_err(|e| IntakeError::InvalidImage(format!("{}: {e}", path.display())))?
            .to_rgb8();
        Ok(Arc::new(PageImage::Rgb(img)))
    })?;
    let ocr = pool.recognize(grays, 300, &mut |_, _| {})?;
    let crate_secs = t.elapsed().as_secs_f64();

    // Tesseract CLI: one process per page, the same number of parallel workers.
    let t = Instant::now();
    let cli = parallel_map(&pages, threads, |_, (path, _)| cli_ocr(path))?;
    let cli_secs = t.elapsed().as_secs_f64();

    let n = pages.len() as f64;
    let (crate_rate, cli_rate) = (n / crate_secs, n / cli_secs);
    println!("workers: {threads} (one Tesseract engine / one CLI process each, OMP_THREAD_LIMIT=1)");
    println!(
        "crate OCR:     {crate_rate:.3} pages/s ({:.3} pages/s per worker; engine start {init:.2} s, not counted)",
        crate_rate / threads as f64
    );
    println!(
        "tesseract CLI: {cli_rate:.3} pages/s ({:.3} pages/s per worker)",
        cli_rate / threads as f64
    );
    println!("ratio crate/CLI: {:.3} (target ≥ 0.95)", crate_rate / cli_rate);

    let mut by_kind: BTreeMap<(&str, &str), (CerCount, CerCount)> = BTreeMap::new();
    let mut by_type: BTreeMap<(String, &str), CerCount> = BTreeMap::new();
    for (i, (_, truth)) in pages.iter().enumerate() {
        let kind = if i % (2 * per_type as usize) < per_type as usize {
            "clean"
        } else {
            "degraded"
        };
        let reference = truth.text();
        let a = cer_count(&reference, &ocr[i].text);
        let b = cer_count(&reference, &cli[i]);
        let e = by_kind.entry((kind, "")).or_default();
        e.0.add(a);
        e.1.add(b);
        by_type
            .entry((truth.doc_type.name().to_string(), kind))
            .or_default()
            .add(a);
    }
    for ((kind, _), (a, b)) in &by_kind {
        let target = if *kind == "clean" { 1.5 } else { 3.0 };
        println!(
            "CER {kind:9} crate {:.2} %  CLI {:.2} %  (target ≤ {target} %; {} reference chars)",
            a.rate() * 100.0,
            b.rate() * 100.0,
            a.reference_chars
        );
    }
    println!("CER by type (crate):");
    for ((t, kind), c) in &by_type {
        println!("  {t:28} {kind:9} {:.2} %", c.rate() * 100.0);
    }
    if keep.is_some() {
        for (i, (path, _)) in pages.iter().enumerate() {
            std::fs::write(path.with_extension("ocr.txt"), &ocr[i].text)?;
        }
    }
    Ok(())
}
