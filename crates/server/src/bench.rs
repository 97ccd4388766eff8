//! Benchmarks that print their figures (never timed assertions): issuance end to end, and signing and
//! verification side by side with pyHanko on the same PDF in the same run.

use crate::app::{render_copy, sign_prepared, App};
use crate::config::Config;
use anyhow::{bail, Context, Result};
use banso_core::ports::{CertificationText, ComposeRequest};
use banso_core::service::IssueRequest;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Issuance, verification uploads and code look-ups together against running nodes (`--target`, one or
    /// more, requests spread over them) for `--seconds`: answers, throughput, p50/p95/p99 and errors per kind,
    /// and each `--pid`'s resident memory over time. Loopback; bounded by its workers and its time.
    Load(crate::loadbench::LoadPlan),
    /// A bounded load test of the HTTP edge on loopback (under 60 s): server memory under 20 stalled
    /// anonymous uploads, an honest verification's latency under 4 clients sending crafted files, and how
    /// long 250 idle connections stay open.
    Edge,
    /// Write a crafted file (DICTS signature fields sharing one signature dictionary whose CMS carries
    /// DECOYS extra certificates named like those of GENUINE's signature) to OUT.
    CraftedPdf {
        genuine: PathBuf,
        out: PathBuf,
        #[arg(long, default_value_t = 64)]
        dicts: usize,
        #[arg(long, default_value_t = 2000)]
        decoys: usize,
    },
    /// Issue N copies of a 2-page 300-dpi document (JPEG and PNG scans) with the intake off, then a one-page
    /// birth certificate NI times with the intake (the default) beside without; copies/s, p50, p95, ratios.
    Issue {
        #[arg(long, default_value_t = 100)]
        n: usize,
        /// Issuances per side of the intake comparison (each runs OCR and every check).
        #[arg(long, default_value_t = 12)]
        ni: usize,
    },
    /// Sign and verify the same copy N times with banso and with pyHanko; print times and ratios.
    Sign {
        #[arg(long, default_value_t = 50)]
        n: usize,
        /// The pyHanko side of the comparison.
        #[arg(long, default_value = "scripts/pyhanko_bench.py")]
        pyhanko_script: PathBuf,
    },
    /// Signing throughput by PAdES level, software key and (optionally) a key in a PKCS#11 token.
    Trust {
        #[arg(long, default_value_t = 100)]
        n: usize,
        /// A token to benchmark a key in (a fresh key is generated, labelled after --seal-key-label).
        #[command(flatten)]
        pkcs11: crate::trust::Pkcs11Args,
    },
    /// Transparency-log appends, proofs on a large tree, and the audit.
    Log {
        #[arg(long, default_value_t = 1_000_000)]
        leaves: u64,
        #[arg(long, default_value_t = 5_000)]
        appends: usize,
    },
    /// Chip card read + verification through pcscd/vpcd (run inside scripts/pcscd-vpcd.sh run).
    Card {
        #[arg(long, default_value_t = 20)]
        n: usize,
        #[arg(long, default_value_t = 35963)]
        vpcd_port: u16,
    },
    /// Face match per pair (detect + align + embed both images, cosine) on one thread, next to OpenCV's
    /// YuNet/SFace pipeline on the same files: a 640×480 camera frame against a DG2-style portrait.
    Face {
        #[arg(long, default_value_t = 30)]
        n: usize,
        /// The live capture (default: a 640×480 frame made from the test fixture).
        #[arg(long)]
        live: Option<PathBuf>,
        /// The chip portrait (default: a 240×320 JPEG made from the test fixture).
        #[arg(long)]
        portrait: Option<PathBuf>,
        #[arg(long, default_value = "scripts/face_opencv.py")]
        opencv_script: PathBuf,
    },
    /// The intake on the generated corpus: CER (clean, degraded), field F1, classification accuracy, tamper
    /// recall and false alarms, Art. 22 detection per ground, and pages/s next to the Tesseract CLI on the same
    /// pages in the same run.
    Intake {
        /// Pages per document type and variant kind.
        #[arg(long, default_value_t = 2)]
        per_type: u32,
        #[arg(long, default_value_t = 2025)]
        seed: u64,
        /// Skip the Tesseract CLI comparison.
        #[arg(long)]
        no_cli: bool,
        /// Variant kinds: clean, degraded, tampered, art22, marks, capture (comma-separated).
        #[arg(long, default_value = "clean,degraded,tampered,art22,marks,capture")]
        kinds: String,
        /// Documents per document kind (several pages, persons' papers, legalisation pages, unread official
        /// papers), judged as whole requests; 0 skips them.
        #[arg(long, default_value_t = 4)]
        documents: u32,
        /// Generator settings: `held-out` (typefaces and layouts the thresholds were never fitted on; the
        /// figures of record) or `fitting` (DejaVu, the standard layout).
        #[arg(long, value_parser = ["held-out", "fitting"], default_value = "held-out")]
        split: String,
        #[arg(long)]
        json: bool,
        /// Keep the pages, their ground truth and OCR output in DIR (for looking at a failure).
        #[arg(long)]
        keep: Option<PathBuf>,
        /// With --keep: read the OCR output kept there by an earlier run instead of running OCR (the figures
        /// then time the checks alone; for working on checks, never figures of record).
        #[arg(long, requires = "keep")]
        reuse_ocr: bool,
    },
    /// N working-day due dates over receipts spread across ten years, by banso (cold and warm) and by the
    /// Python `holidays` package in the same run; totals and the ratio.
    Calendar {
        #[arg(long, default_value_t = 1000)]
        n: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// The Python side of the comparison.
        #[arg(long, default_value = "scripts/calendar_oracle.py")]
        oracle_script: PathBuf,
    },
    /// Write the synthetic labelled corpus of Vietnamese documents (page images + ground-truth JSON) into OUT.
    Corpus {
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Pages per document type and variant kind.
        #[arg(long, default_value_t = 1)]
        per_type: u32,
        /// Variant kinds: clean, degraded, tampered, art22, marks, capture (comma-separated).
        #[arg(long, default_value = "clean,degraded,tampered,art22")]
        kinds: String,
        /// Generator settings: `fitting` (DejaVu, the standard layout) or `held-out`.
        #[arg(long, value_parser = ["held-out", "fitting"], default_value = "fitting")]
        split: String,
    },
    /// Write a synthetic scanned A4 page (for tests, demos and benchmarks).
    SamplePage {
        #[arg(long, value_parser = ["jpeg", "png"], default_value = "jpeg")]
        format: String,
        #[arg(long, default_value_t = 300)]
        dpi: u16,
        /// Draw this number large on the page so pages differ.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write a clean birth certificate from the intake's corpus instead (at 300 dpi), one the intake
        /// issues, and print its holder (`{"holder_name", "birth_date", "id_number"}`) as JSON.
        #[arg(long)]
        certificate: bool,
        #[arg(long)]
        out: PathBuf,
    },
}

/// A clean birth certificate from the intake corpus (the `seed`th of the fitting split), encoded as `format`,
/// with its holder's fields.
pub fn sample_certificate(format: &str, seed: u64) -> Result<(Vec<u8>, serde_json::Value)> {
    use banso_intake::corpus::{corpus_specs, encode_jpeg, encode_png, DocType, Generator, VariantKind};
    let spec = corpus_specs(seed, 1, &[VariantKind::Clean])
        .into_iter()
        .find(|s| s.doc_type == DocType::BirthCertificate)
        .context("no birth certificate in the corpus")?;
    let page = Generator::new()?.generate(&spec)?;
    let bytes = if format == "png" {
        encode_png(&page.image)?
    } else {
        encode_jpeg(&page.image, 92)?
    };
    let f = &page.truth.fields;
    Ok((
        bytes,
        serde_json::json!({"holder_name": f.holder_name, "birth_date": f.birth_date, "id_number": f.id_number}),
    ))
}

/// A small deterministic generator (xorshift64) seeded by `seed`: the benchmarks' made-up inputs.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// A synthetic scan: off-white paper with grain, dark lines of "text" and a red seal, at `dpi` on A4.
pub fn sample_page(format: &str, dpi: u16, seed: u64) -> Result<Vec<u8>> {
    let w = (8.27 * dpi as f64) as usize;
    let h = (11.69 * dpi as f64) as usize;
    let mut rnd = xorshift(seed);
    let mut px = vec![0u8; w * h * 3];
    for p in px.chunks_exact_mut(3) {
        let g = 240 + (rnd() % 4) as u8;
        p.copy_from_slice(&[g, g, g.saturating_sub(4)]);
    }
    let margin = w / 10;
    let line_h = dpi as usize / 12;
    let mut y = h / 8;
    while y + line_h < h - h / 6 {
        let mut x = margin;
        while x < w - margin {
            let word = (dpi as usize / 10) + (rnd() as usize % (dpi as usize / 3));
            let end = (x + word).min(w - margin);
            for yy in y..y + line_h * 2 / 3 {
                for xx in x..end {
                    if !rnd().is_multiple_of(5) {
                        let i = (yy * w + xx) * 3;
                        px[i..i + 3].copy_from_slice(&[30, 30, 40]);
                    }
                }
            }
            x = end + dpi as usize / 20;
        }
        y += line_h * 2;
    }
    let (cx, cy, r) = (w * 3 / 4, h * 5 / 6, dpi as usize / 2);
    for yy in cy - r..cy + r {
        for xx in cx - r..cx + r {
            let d2 = (xx as i64 - cx as i64).pow(2) + (yy as i64 - cy as i64).pow(2);
            if d2 < (r * r) as i64 && d2 > ((r - r / 8) * (r - r / 8)) as i64 {
                let i = (yy * w + xx) * 3;
                px[i..i + 3].copy_from_slice(&[200, 30, 30]);
            }
        }
    }
    let mut out = Vec::new();
    match format {
        "jpeg" => {
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
            enc.set_density(jpeg_encoder::Density::Inch { x: dpi, y: dpi });
            enc.encode(&px, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
                .context("JPEG")?;
        }
        "png" => {
            let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Fast);
            let ppm = (dpi as f64 / 0.0254).round() as u32;
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: ppm,
                yppu: ppm,
                unit: png::Unit::Meter,
            }));
            let mut writer = enc.write_header().context("PNG")?;
            writer.write_image_data(&px).context("PNG")?;
            writer.finish().context("PNG")?;
        }
        other => bail!("unknown format {other}"),
    }
    Ok(out)
}

/// The value at fraction `p` of `sorted` (nearest rank; 0 when empty).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(label: &str, mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let total: f64 = ms.iter().sum();
    let per_s = if total > 0.0 {
        ms.len() as f64 * 1000.0 / total
    } else {
        0.0
    };
    let (p50, p95) = (percentile(&ms, 0.5), percentile(&ms, 0.95));
    println!(
        "{label:<34} {:>5} runs  {per_s:>8.1}/s  p50 {p50:>8.2} ms  p95 {p95:>8.2} ms",
        ms.len()
    );
    (per_s, p50, p95)
}

async fn temp_app(dir: &Path, intake: bool) -> Result<App> {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.intake.enabled = intake;
    App::open(config).await
}

pub async fn run(command: BenchCommand, data_dir: &Option<PathBuf>) -> Result<u8> {
    match command {
        BenchCommand::Edge => crate::edgebench::run(),
        BenchCommand::Load(plan) => tokio::task::block_in_place(|| crate::loadbench::run(plan)),
        BenchCommand::Calendar {
            n,
            seed,
            oracle_script,
        } => crate::cli::calendar::bench(n, seed, &oracle_script),
        BenchCommand::CraftedPdf {
            genuine,
            out,
            dicts,
            decoys,
        } => crate::edgebench::write_crafted(&genuine, &out, dicts, decoys),
        BenchCommand::SamplePage {
            format,
            dpi,
            seed,
            certificate,
            out,
        } => {
            let bytes = if certificate {
                let (bytes, holder) = sample_certificate(&format, seed)?;
                println!("{}", serde_json::to_string(&holder)?);
                bytes
            } else {
                sample_page(&format, dpi, seed)?
            };
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
            Ok(0)
        }
        BenchCommand::Issue { n, ni } => {
            let tmp = tempfile::TempDir::new()?;
            let dir = data_dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
            // Two services on two data folders, alike but for the intake port.
            let with_intake = temp_app(&dir.join("with-intake"), true).await?;
            let without = temp_app(&dir.join("without-intake"), false).await?;
            println!(
                "banso bench issue: each timer covers Service::issue (checks, intake if on, render + sign + store + \
                 register); data in {}",
                dir.display()
            );
            println!("intake off, 2-page A4 300-dpi synthetic scans:");
            for format in ["jpeg", "png"] {
                let pages = vec![sample_page(format, 300, 1)?, sample_page(format, 300, 2)?];
                let size: usize = pages.iter().map(Vec::len).sum();
                let holder = Holder::default();
                // Warm up (font subset, caches, first database write).
                for _ in 0..3 {
                    issue_once(&without, &holder, &pages).await?;
                }
                let ms = time_issues(&without, &holder, &pages, n).await?;
                summary(&format!("issue {format} ({:.1} MB input)", size as f64 / 1e6), ms);
            }
            println!(
                "a one-page birth certificate (the corpus' clean page, its holder named), the intake on (the \
                 default) beside off, {ni} each:"
            );
            for format in ["jpeg", "png"] {
                let (page, fields) = sample_certificate(format, 7)?;
                let holder = Holder {
                    id: fields["id_number"].as_str().unwrap_or_default().to_string(),
                    name: fields["holder_name"].as_str().unwrap_or_default().to_string(),
                };
                let pages = vec![page];
                issue_once(&with_intake, &holder, &pages).await?;
                issue_once(&without, &holder, &pages).await?;
                let on = time_issues(&with_intake, &holder, &pages, ni).await?;
                let off = time_issues(&without, &holder, &pages, ni).await?;
                let (_, p50_on, _) = summary(&format!("issue {format}, intake on"), on);
                let (_, p50_off, _) = summary(&format!("issue {format}, intake off"), off);
                println!(
                    "  the intake costs {:.0} ms at p50 ({:.1}× the issuance without it)",
                    p50_on - p50_off,
                    p50_on / p50_off.max(f64::EPSILON)
                );
            }
            Ok(0)
        }
        BenchCommand::Sign { n, pyhanko_script } => bench_sign(n, &pyhanko_script, data_dir).await,
        BenchCommand::Trust { n, pkcs11 } => bench_trust(n, pkcs11.seal()).await,
        BenchCommand::Log { leaves, appends } => bench_log(leaves, appends).await,
        BenchCommand::Card { n, vpcd_port } => bench_card(n, vpcd_port),
        BenchCommand::Intake {
            per_type,
            seed,
            no_cli,
            kinds,
            documents,
            split,
            json,
            keep,
            reuse_ocr,
        } => {
            let options = banso_intake::eval::EvalOptions {
                per_type,
                seed,
                compare_cli: !no_cli,
                kinds: parse_kinds(&kinds)?,
                documents,
                split: parse_split(&split),
                keep_dir: keep,
                reuse_ocr,
                ..Default::default()
            };
            let report = banso_intake::eval::evaluate(&options, &mut |line| eprintln!("{line}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "banso bench intake (seed {seed}, {per_type} page(s) per type and variant, {split} split, {documents} document(s) per kind)"
                );
                for line in report.lines() {
                    println!("{line}");
                }
            }
            Ok(0)
        }
        BenchCommand::Corpus {
            out,
            seed,
            per_type,
            kinds,
            split,
        } => write_corpus(&out, seed, per_type, &kinds, parse_split(&split)),
        BenchCommand::Face {
            n,
            live,
            portrait,
            opencv_script,
        } => bench_face(n, live, portrait, &opencv_script),
    }
}

/// Who the bench issues for (a valid citizen ID number by default).
struct Holder {
    id: String,
    name: String,
}

impl Default for Holder {
    fn default() -> Self {
        Self {
            id: "001099012345".into(),
            name: "Nguyễn Văn An".into(),
        }
    }
}

async fn issue_once(app: &App, holder: &Holder, pages: &[Vec<u8>]) -> Result<()> {
    app.service
        .issue(IssueRequest {
            holder_id: holder.id.clone(),
            holder_name: holder.name.clone(),
            document_type: "Giấy khai sinh".into(),
            copies: 1,
            files: pages.to_vec(),
            request_key: None,
            officer: None,
            // The bench stands in for an officer: an original the intake flags (the same page certified again
            // is a duplicate) is issued on the officer's word, so every run does the whole issuance.
            reviewed_by: Some("bench".into()),
            pay_by: None,
        })
        .await
        .and_then(|outcome| outcome.issued())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// Milliseconds of `n` issuances, one after another.
async fn time_issues(app: &App, holder: &Holder, pages: &[Vec<u8>], n: usize) -> Result<Vec<f64>> {
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        issue_once(app, holder, pages).await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(ms)
}

async fn bench_sign(n: usize, script: &Path, data_dir: &Option<PathBuf>) -> Result<u8> {
    let tmp = tempfile::TempDir::new()?;
    let dir = data_dir.clone().unwrap_or_else(|| tmp.path().join("data"));
    let config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    std::fs::create_dir_all(&dir)?;
    let trust = crate::trust::TrustServices::open(
        &config.pki_dir(),
        &config.trust_settings(),
        &config.public_base_url(),
    )?;
    let signer = trust.seal.clone();
    let read = |name: &str| std::fs::read_to_string(config.pki_dir().join(name));
    let now = time::OffsetDateTime::now_utc();
    let request = sample_request(now)?;
    let prepared = render_copy(&request, 300.0).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut signed = prepared.clone();
    sign_prepared(&mut signed, signer.as_ref(), None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let work = tmp.path();
    std::fs::write(work.join("signed.pdf"), &signed.bytes)?;
    println!(
        "banso bench sign: the same {:.2} MB signed copy, {n} runs each, banso in-process vs pyHanko in-process",
        signed.bytes.len() as f64 / 1e6
    );

    let mut sign_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let mut p = prepared.clone();
        let t = Instant::now();
        sign_prepared(&mut p, signer.as_ref(), None).map_err(|e| anyhow::anyhow!("{e}"))?;
        sign_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // The same work pyHanko's loop does: parse the signed copy, add a signature field and its dictionary as an
    // incremental update, hash and sign.
    let meta = banso_signing::incremental::SignatureMeta {
        name: Some("Bench".into()),
        reason: None,
        location: None,
        signing_time: Some(now),
    };
    let mut counter_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let mut second = banso_signing::incremental::prepare_signature(
            &signed.bytes,
            "Bench",
            banso_signing::pades::DEFAULT_PLACEHOLDER,
            &meta,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        banso_signing::pades::sign_prepared_with(
            &mut second.bytes,
            second.byte_range,
            second.contents_hex.clone(),
            signer.as_ref(),
            None,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        std::hint::black_box(&second.bytes);
        counter_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut bt_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let mut p = prepared.clone();
        let t = Instant::now();
        sign_prepared(&mut p, signer.as_ref(), Some(trust.timestamps.as_ref()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        bt_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let trust_store = banso_signing::verify::TrustStore {
        roots: vec![trust.root_der.clone()],
    };
    let mut verify_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let report = banso_signing::verify::verify_pdf(&signed.bytes, &trust_store, now);
        verify_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        if report.signatures.len() != 1
            || !report.signatures[0].integrity.ok
            || !report.signatures[0].chain.ok
        {
            bail!("banso's own verification failed during the benchmark");
        }
    }
    let mut hash_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(&signed.bytes));
        hash_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    summary("SHA-256 of the file (the floor)", hash_ms);
    summary("banso sign (fill the placeholder, B-B)", sign_ms);
    let (_, banso_sign, _) = summary("banso add a signature (B-B)", counter_ms);
    summary("banso sign (PAdES B-T, built-in TSA)", bt_ms);
    let (_, banso_verify, _) = summary("banso verify", verify_ms);

    std::fs::write(work.join("root.pem"), trust.root_pem())?;
    std::fs::write(work.join("key.pem"), read("seal.key")?)?;
    std::fs::write(work.join("chain.pem"), read("seal.pem")? + &read("issuing.pem")?)?;
    let script = std::fs::canonicalize(script)
        .with_context(|| format!("{} (run from the repository)", script.display()))?;
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args([
            "--signed",
            "signed.pdf",
            "--key",
            "key.pem",
            "--chain",
            "chain.pem",
        ])
        .args(["--root", "root.pem", "--n", &n.to_string()])
        .current_dir(work)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "the pyHanko benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let figures: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("pyHanko benchmark output")?;
    let py_sign = figures["sign_p50_ms"].as_f64().unwrap_or(f64::NAN);
    let py_verify = figures["verify_p50_ms"].as_f64().unwrap_or(f64::NAN);
    println!(
        "{:<34} {:>5} runs  p50 {py_sign:>8.2} ms",
        "pyHanko add a signature (B-B)", figures["n"]
    );
    println!(
        "{:<34} {:>5} runs  p50 {py_verify:>8.2} ms",
        "pyHanko validate (same signed file)", figures["n"]
    );
    println!(
        "ratio add a signature pyHanko/banso {:>6.1}x (equal work: the signed copy in, a new field and an \
         incremental update out, p50 each)",
        py_sign / banso_sign
    );
    println!("ratio verify pyHanko/banso  {:>8.1}x", py_verify / banso_verify);
    Ok(0)
}

/// Signing throughput by level (B-B, B-T, B-LT, B-LTA) with the software seal key and, when a token is
/// given, with a key inside a PKCS#11 token (SoftHSM in the benchmark script).
pub async fn bench_trust(n: usize, hsm: Option<crate::trust::HsmSeal>) -> Result<u8> {
    use crate::longterm::{extend, Level};
    let tmp = tempfile::TempDir::new()?;
    let config = Config {
        data_dir: tmp.path().join("data"),
        ..Config::default()
    };
    std::fs::create_dir_all(&config.data_dir)?;
    let trust = crate::trust::TrustServices::open(
        &config.pki_dir(),
        &config.trust_settings(),
        &config.public_base_url(),
    )?;
    let now = time::OffsetDateTime::now_utc();
    let prepared = render_copy(&sample_request(now)?, 300.0).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "banso bench trust: signing the same {:.2} MB copy {n} times per row (one thread; SHA-256 of the file is included)",
        prepared.bytes.len() as f64 / 1e6
    );
    let mut signers: Vec<(&str, Arc<dyn banso_signing::Signer>)> =
        vec![("software P-256", trust.seal.clone())];
    if let Some(h) = &hsm {
        let pin = banso_hsm::Pin::from_file(&h.pin_file).map_err(|e| anyhow::anyhow!("{e}"))?;
        let token = banso_hsm::Token::open(&h.module, &h.token, &pin).map_err(|e| anyhow::anyhow!("{e}"))?;
        let label = format!("{}-bench-{}", h.key_label, std::process::id());
        let spki = token
            .generate_ec_p256(&label)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let cert = crate::trust::certify_for_bench(&config.trust_settings(), &trust, &spki)?;
        let key = token
            .find_key(&banso_hsm::KeyRef::Label(label.clone()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let signer = banso_hsm::Pkcs11Signer::from_key(key, vec![cert, trust.issuing_der.clone()])
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        signers.push(("SoftHSM P-256", Arc::new(signer)));
    }
    for (name, signer) in &signers {
        for level in [Level::BB, Level::BT, Level::BLT, Level::BLTA] {
            let mut ms = Vec::with_capacity(n);
            for _ in 0..n {
                let mut p = prepared.clone();
                let t = Instant::now();
                let ts = (level >= Level::BT).then_some(trust.timestamps.as_ref());
                sign_prepared(&mut p, signer.as_ref(), ts).map_err(|e| anyhow::anyhow!("{e}"))?;
                let out = extend(&p.bytes, level, &trust, trust.timestamps.as_ref(), now)?;
                std::hint::black_box(out);
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            summary(&format!("{name} {}", level.as_str()), ms);
        }
    }
    Ok(0)
}

fn sample_request(now: time::OffsetDateTime) -> Result<ComposeRequest> {
    Ok(ComposeRequest {
        files: Arc::new(vec![sample_page("jpeg", 300, 1)?, sample_page("jpeg", 300, 2)?]),
        code_display: "7Q2K-9M4X-ABCD-EFGH-JKMN".into(),
        qr_url: "http://127.0.0.1:8080/v/7Q2K9M4XABCDEFGHJKMN?k=abcdefghjkmnpqrstvwxyz012".into(),
        title: "benchmark".into(),
        certification: CertificationText {
            statement: banso_core::service::STATEMENT.into(),
            number_line: "Số: 01, Quyển số: 01/2026-SCT/BS".into(),
            date_line: banso_core::rules::vietnamese_date(now),
            place: "Hà Nội".into(),
            issuing_body: "Ủy ban nhân dân phường Việt Hưng".into(),
            signer_name: "Nguyễn Thị Thủy".into(),
            signer_title: "Phó Chủ tịch".into(),
            document_type: "Giấy khai sinh".into(),
            holder_name: "Nguyễn Văn An".into(),
            original_pages: 2,
            fee_line: "Lệ phí: 4.000 đồng".into(),
            english_lines: vec![],
        },
        issued_at: now,
        officer: None,
        text_layers: Arc::default(),
    })
}

/// Transparency-log throughput: appends (one transaction each), a bulk load to `leaves`, inclusion and
/// consistency proofs on that tree, and a full audit.
pub async fn bench_log(leaves: u64, appends: usize) -> Result<u8> {
    use banso_core::ports::LogRecord;
    let tmp = tempfile::TempDir::new()?;
    let registry = banso_store::open_registry(&format!("sqlite:{}", tmp.path().join("log.db").display()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let record = |i: u64| LogRecord {
        code: format!("BENCH{i:015}"),
        event: "bench".into(),
        record: format!("banso-log/v1\nevent: bench\ncode: BENCH{i:015}\nat: 2026-11-21T00:00:00Z\n"),
    };
    println!("banso bench log: SQLite in {}", tmp.path().display());
    let t = Instant::now();
    for i in 0..appends as u64 {
        registry
            .append_log(&[record(i)])
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{:<34} {appends:>8} appends  {:>10.0}/s  (one transaction each)",
        "log append",
        appends as f64 / secs
    );
    let t = Instant::now();
    let mut next = appends as u64;
    while next < leaves {
        let batch: Vec<LogRecord> = (next..(next + 10_000).min(leaves)).map(record).collect();
        next += batch.len() as u64;
        registry
            .append_log(&batch)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    println!(
        "{:<34} {leaves:>8} leaves  {:>10.1} s",
        "bulk load (batches of 10,000)",
        t.elapsed().as_secs_f64()
    );
    let log = banso_core::transparency::TransparencyLog::new();
    let t = Instant::now();
    log.sync(registry.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{:<34} {leaves:>8} leaves  {:>10.1} s",
        "load the tree into memory",
        t.elapsed().as_secs_f64()
    );
    let mut tree = banso_core::merkle::MerkleTree::new();
    let mut from = 0;
    loop {
        let batch = registry
            .log_entries(from, 100_000)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            tree.push(e.leaf_hash);
        }
        from += batch.len() as u64;
    }
    let proofs = 100_000u64;
    let t = Instant::now();
    for i in 0..proofs {
        std::hint::black_box(tree.inclusion_proof((i * 7919) % leaves, leaves));
    }
    println!(
        "{:<34} {proofs:>8} proofs  {:>10.0}/s",
        "inclusion proofs (in memory)",
        proofs as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for i in 1..=proofs {
        std::hint::black_box(tree.consistency_proof((i * 7919) % leaves + 1, leaves));
    }
    println!(
        "{:<34} {proofs:>8} proofs  {:>10.0}/s",
        "consistency proofs (in memory)",
        proofs as f64 / t.elapsed().as_secs_f64()
    );
    let served = 20_000u64;
    let t = Instant::now();
    for i in 1..=served {
        std::hint::black_box(
            log.consistency(registry.as_ref(), (i * 7919) % leaves + 1, leaves)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    println!(
        "{:<34} {served:>8} proofs  {:>10.0}/s",
        "consistency proofs (service, + sync)",
        served as f64 / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let report = banso_core::transparency::audit(registry.as_ref(), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{:<34} {:>8} leaves  {:>10.1} s  ({})",
        "audit (re-hash every record)",
        report.tree_size,
        t.elapsed().as_secs_f64(),
        if report.ok { "OK" } else { "PROBLEMS" }
    );
    Ok(0)
}

/// Chip card read (BAC or PACE, all data groups, chip and active authentication) and verification, through
/// the real pcscd and vpcd: run it inside `scripts/pcscd-vpcd.sh run`.
pub fn bench_card(n: usize, port: u16) -> Result<u8> {
    use banso_identity::emrtd::reader::{read_chip, verify, BacOrPace};
    use banso_identity::emrtd::testkit::TestCardParams;
    use banso_identity::emrtd::vcard::VirtualCard;
    let (card, pki) =
        VirtualCard::issue_test_card(TestCardParams::default()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let _server = banso_identity::vpcd::serve(
        banso_identity::vpcd::CardIcc::new(card).with_reset(VirtualCard::reset),
        ("127.0.0.1", port),
    )?;
    let mut reader = banso_identity::pcsc_transport::PcscCard::wait("", std::time::Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("card reader: {e}"))?;
    println!(
        "banso bench card: virtual CCCD through pcscd + vpcd, DG2 {} bytes, {n} reads per row",
        pki.face_jpeg.len()
    );
    for (name, access) in [("BAC", BacOrPace::Bac), ("PACE", BacOrPace::Pace)] {
        let mut ms = Vec::with_capacity(n);
        for i in 0..n {
            let nonce = (i as u64).to_be_bytes();
            let t = Instant::now();
            let chip =
                read_chip(&mut reader, &pki.mrz_text, access, nonce).map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = verify(chip, std::slice::from_ref(&pki.csca_der), nonce)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            std::hint::black_box(id);
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        summary(&format!("read + verify ({name}, CA + AA)"), ms);
    }
    Ok(0)
}

/// The fixture the face benchmark derives its default inputs from (scikit-image's astronaut, public domain).
const FACE_FIXTURE: &[u8] = include_bytes!("../../face/tests/fixtures/astronaut.jpg");

fn bench_face(
    n: usize,
    live: Option<PathBuf>,
    portrait: Option<PathBuf>,
    opencv_script: &Path,
) -> Result<u8> {
    let tmp = tempfile::TempDir::new()?;
    let source = banso_face::decode_image(FACE_FIXTURE)?;
    let live = match live {
        Some(p) => p,
        None => {
            // A 640×480 camera frame: the portrait placed on a darker background, slightly smaller.
            let mut frame = image::RgbImage::from_pixel(640, 480, image::Rgb([60, 64, 70]));
            let face = image::imageops::resize(&source, 400, 400, image::imageops::FilterType::Triangle);
            image::imageops::overlay(&mut frame, &face, 120, 40);
            let p = tmp.path().join("live.jpg");
            frame.save(&p)?;
            p
        }
    };
    let portrait = match portrait {
        Some(p) => p,
        None => {
            // A DG2-style portrait: 240×320, heavily compressed.
            let crop = image::imageops::crop_imm(&source, 96, 0, 320, 427).to_image();
            let small = image::imageops::resize(&crop, 240, 320, image::imageops::FilterType::Triangle);
            let p = tmp.path().join("portrait.jpg");
            let mut out = std::fs::File::create(&p)?;
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 35).encode_image(&small)?;
            p
        }
    };
    let models = banso_face::FaceModels::load_default()?;
    let (a, b) = (std::fs::read(&live)?, std::fs::read(&portrait)?);
    let pair = || -> Result<f32> {
        let (ia, ib) = (banso_face::decode_image(&a)?, banso_face::decode_image(&b)?);
        Ok(models.compare(&ia, &ib, ["live", "portrait"])?.score)
    };
    let score = pair()?; // warm-up
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        pair()?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "banso bench face: {} ({}×{}) vs {} ({}×{}), one thread, decode included; similarity {score:.3}",
        live.display(),
        image::image_dimensions(&live)?.0,
        image::image_dimensions(&live)?.1,
        portrait.display(),
        image::image_dimensions(&portrait)?.0,
        image::image_dimensions(&portrait)?.1
    );
    let (_, p50, _) = summary("banso face match per pair", ms);
    let out = std::process::Command::new("python3")
        .arg(opencv_script)
        .arg("bench")
        .arg(&live)
        .arg(&portrait)
        .arg(n.to_string())
        .output()
        .with_context(|| format!("running {}", opencv_script.display()))?;
    if !out.status.success() {
        bail!(
            "{}: {}",
            opencv_script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let timing = String::from_utf8_lossy(&out.stdout);
    let parsed: Vec<f64> = timing
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("OpenCV timing")?;
    let [cv_p50, cv_p95] = parsed[..] else {
        bail!("OpenCV timing: expected p50 and p95, got {timing:?}");
    };
    println!(
        "{:<34} {n:>5} runs            p50 {cv_p50:>8.2} ms  p95 {cv_p95:>8.2} ms",
        "OpenCV 5 FaceDetectorYN+SF"
    );
    println!(
        "ratio (OpenCV p50 / banso p50, both decoding both files per pair): {:.2}×   target: ≤ 150 ms per pair on one core",
        cv_p50 / p50
    );
    Ok(0)
}

/// Variant kinds by name, comma-separated.
fn parse_kinds(kinds: &str) -> Result<Vec<banso_intake::corpus::VariantKind>> {
    use banso_intake::corpus::VariantKind;
    kinds
        .split(',')
        .map(|k| {
            VariantKind::ALL
                .into_iter()
                .find(|v| v.name() == k.trim())
                .with_context(|| {
                    format!("unknown variant kind {k:?} (clean, degraded, tampered, art22, marks, capture)")
                })
        })
        .collect()
}

fn parse_split(s: &str) -> banso_intake::corpus::Split {
    if s == "fitting" {
        banso_intake::corpus::Split::Fitting
    } else {
        banso_intake::corpus::Split::HeldOut
    }
}

fn write_corpus(
    out: &Path,
    seed: u64,
    per_type: u32,
    kinds: &str,
    split: banso_intake::corpus::Split,
) -> Result<u8> {
    use banso_intake::corpus::{split_specs, Generator};
    let kinds = parse_kinds(kinds)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let generator = Generator::for_split(split)?;
    let specs = split_specs(seed, per_type, &kinds, split);
    for spec in &specs {
        generator.generate(spec)?.write(out)?;
    }
    println!("{} pages → {}", specs.len(), out.display());
    Ok(0)
}
