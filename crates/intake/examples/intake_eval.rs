//! The intake benchmark: CER, field F1, classification, tamper recall and false alarms, Art. 22 detection per
//! ground, pages/s of the whole intake next to the Tesseract CLI (see `banso_intake::eval`).
//!
//! `cargo run --release --example intake_eval -- [--per-type N] [--seed S] [--threads T] [--no-cli]
//!  [--keep DIR [--reuse-ocr]] [--notes] [--json]`

use std::path::PathBuf;

use banso_intake::corpus::VariantKind;
use banso_intake::eval::{evaluate, EvalOptions};
use banso_intake::ocr::reexec_with_omp_thread_limit;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    reexec_with_omp_thread_limit()?;
    let mut o = EvalOptions::default();
    let (mut notes, mut json) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--per-type" => o.per_type = args.next().ok_or("--per-type N")?.parse()?,
            "--seed" => o.seed = args.next().ok_or("--seed S")?.parse()?,
            "--threads" => o.threads = args.next().ok_or("--threads T")?.parse()?,
            "--no-cli" => o.compare_cli = false,
            "--keep" => o.keep_dir = Some(PathBuf::from(args.next().ok_or("--keep DIR")?)),
            "--reuse-ocr" => o.reuse_ocr = true,
            "--kinds" => {
                let list = args.next().ok_or("--kinds LIST")?;
                o.kinds = list
                    .split(',')
                    .map(|k| {
                        VariantKind::ALL
                            .into_iter()
                            .find(|v| v.name() == k)
                            .ok_or_else(|| format!("unknown kind {k}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--notes" => notes = true,
            "--json" => json = true,
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let report = evaluate(&o, &mut |line| eprintln!("{line}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for l in report.lines() {
        println!("{l}");
    }
    if notes {
        for n in &report.notes {
            println!("note: {n}");
        }
    }
    Ok(())
}
