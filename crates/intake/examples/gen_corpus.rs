//! Writes a synthetic labelled corpus: page images and ground-truth JSON.
//!
//! `cargo run --release --example gen_corpus -- OUT_DIR [--seed N] [--per-type K] [--kinds clean,degraded,tampered,art22]`

use std::path::PathBuf;
use std::time::Instant;

use banso_intake::corpus::{corpus_specs, Generator, VariantKind};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let (mut seed, mut per_type) = (1u64, 2u32);
    let mut kinds = VariantKind::ALL.to_vec();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seed" => seed = args.next().ok_or("--seed N")?.parse()?,
            "--per-type" => per_type = args.next().ok_or("--per-type K")?.parse()?,
            "--kinds" => {
                let list = args.next().ok_or("--kinds LIST")?;
                kinds = list
                    .split(',')
                    .map(|k| {
                        VariantKind::ALL
                            .into_iter()
                            .find(|v| v.name() == k)
                            .ok_or_else(|| format!("unknown kind {k}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ if out.is_none() => out = Some(PathBuf::from(a)),
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let out = out.ok_or(
        "usage: gen_corpus OUT_DIR [--seed N] [--per-type K] [--kinds clean,degraded,tampered,art22]",
    )?;
    std::fs::create_dir_all(&out)?;
    let generator = Generator::new()?;
    let specs = corpus_specs(seed, per_type, &kinds);
    let started = Instant::now();
    for spec in &specs {
        let page = generator.generate(spec)?;
        page.write(&out)?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} pages in {:.1} s ({:.2} s/page) → {}",
        specs.len(),
        secs,
        secs / specs.len().max(1) as f64,
        out.display()
    );
    Ok(())
}
