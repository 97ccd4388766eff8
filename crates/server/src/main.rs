//! `banso`: the service and its command line.
//!
//! Exit codes: 0 ok / valid, 1 invalid / refused, 2 usage or operational error.

mod app;
mod bench;
mod config;
mod edgebench;
mod facecmd;
mod http;
mod idcmd;
mod intakecmd;
mod longterm;
mod output;
mod translog;
mod trust;

use anyhow::{Context, Result};
use app::App;
use banso_core::error::Error;
use banso_core::model::Role;
use banso_core::service::IssueRequest;
use clap::{Args, Parser, Subcommand};
use config::{Config, Overrides};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "banso",
    version,
    about = "Certified electronic copies for public-service kiosks"
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// Configuration file (TOML). Default: BANSO_CONFIG, else DATA_DIR/banso.toml if present.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data folder (SQLite, objects, development PKI). Env: BANSO_DATA_DIR. Default: ./banso-data
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (API, verification portal, health, metrics).
    Serve {
        /// Address to listen on. Env: BANSO_LISTEN. Default: 127.0.0.1:8080
        #[arg(long)]
        listen: Option<String>,
    },
    /// Certify copies of an original from its page files (PNG, JPEG or PDF).
    Issue {
        #[arg(long)]
        holder_id: String,
        #[arg(long)]
        holder_name: String,
        #[arg(long)]
        doc_type: String,
        #[arg(long, default_value_t = 1)]
        copies: u32,
        /// Where to write the PDF (further copies get -2, -3 … before the extension). Default: CODE.pdf
        #[arg(long)]
        out: Option<PathBuf>,
        /// Idempotency key: issuing again with the same key returns the first result.
        #[arg(long)]
        request_key: Option<String>,
        /// The approving officer, who signs beside the organisation seal (needs an officer certificate).
        #[arg(long)]
        officer: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(required = false)]
        pages: Vec<PathBuf>,
    },
    /// Verify a copy: a PDF file, or a verification code.
    Verify {
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a copy, or cancel it by decision with --decision.
    Revoke {
        code: String,
        #[arg(long)]
        reason: String,
        /// Number of the People's Committee chair's decision: the status becomes cancelled_by_decision.
        #[arg(long)]
        decision: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The development PKI.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Identity documents: MRZ and citizen-ID number checks.
    Id {
        #[command(subcommand)]
        command: IdCommand,
    },
    /// Upkeep jobs.
    Maintain {
        #[command(subcommand)]
        command: MaintainCommand,
    },
    /// The transparency log: signed checkpoints and audits.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Read pages with Tesseract (Vietnamese): image files (PNG, JPEG, TIFF), PDF pages, or a SANE scanner.
    Ocr {
        files: Vec<PathBuf>,
        /// Scan from this SANE device instead (e.g. `test`), through its document feeder.
        #[arg(long)]
        scanner: Option<String>,
        /// Pages to scan (default: until the feeder is empty).
        #[arg(long)]
        pages: Option<usize>,
        #[arg(long, default_value = "vie")]
        lang: String,
        #[arg(long)]
        json: bool,
    },
    /// The intake checks on page files: document type, fields, every check with its evidence, and the decision.
    /// Exit 0 auto-issue, 1 refuse (with the Decree 23 Art. 22 ground), 3 officer review, 2 error.
    Intake {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The verified identity to check the document against.
        #[arg(long)]
        holder_name: Option<String>,
        /// Birth date, YYYY-MM-DD or DD/MM/YYYY.
        #[arg(long)]
        holder_dob: Option<String>,
        #[arg(long)]
        holder_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks that print their figures.
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once and stored only as its SHA-256.
    Create {
        #[arg(long, value_parser = ["officer", "kiosk"])]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
        /// The token stops working this many days from now (default: it does not expire).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// List the tokens: id, role, name, created, expires, last used, revoked (never the token itself).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id; it stops working at once. Exit 1 when no unrevoked token has this id.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum IdCommand {
    /// Read a chip ID card through PC/SC (BAC or PACE), then passive, chip and active authentication.
    /// Exit 0 verified, 1 access denied or rejected, 2 no reader or other error.
    Read {
        /// Part of the reader's name (default: the first reader with a card).
        #[arg(long, default_value = "")]
        reader: String,
        /// The MRZ printed on the card (or its MRZ information: number, birth date, expiry with check digits).
        #[arg(long)]
        mrz: String,
        /// CSCA trust list: PEM/DER certificate files or folders (repeatable).
        #[arg(long, required = true)]
        csca: Vec<PathBuf>,
        /// Access control: bac, pace, or auto (PACE when the card offers it).
        #[arg(long, default_value = "auto", value_parser = ["bac", "pace", "auto"])]
        access: String,
        #[arg(long)]
        json: bool,
        /// Write the face image from DG2 here.
        #[arg(long)]
        photo: Option<PathBuf>,
    },
    /// Serve the project's virtual test card to vpcd (demos and tests), writing its CSCA and MRZ to --out.
    TestCard {
        #[arg(long, default_value_t = 35963)]
        vpcd_port: u16,
        #[arg(long)]
        out: PathBuf,
        /// A negative card: tampered, unknown-csca or clone.
        #[arg(long)]
        negative: Option<String>,
        /// Put this portrait (JPEG or JPEG 2000) into DG2 instead of the synthetic one.
        #[arg(long)]
        face: Option<PathBuf>,
    },
    /// Parse a machine-readable zone (TD1: 3 lines of 30; TD3: 2 of 44; lines separated by newlines) and check
    /// every check digit. Exit 0 when all pass, 1 when one fails or the text is not an MRZ.
    Mrz {
        text: String,
        #[arg(long)]
        json: bool,
    },
    /// National-ID login by QR (OpenID Connect device authorization grant): show the QR, wait for the citizen to
    /// approve on the phone, validate the ID token. Exit 0 signed in, 1 denied/expired/invalid token, 2 error.
    Login {
        /// The provider's issuer URL (discovery at /.well-known/openid-configuration).
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        #[arg(long, default_value = "openid profile")]
        scope: String,
        /// Also write the QR as a PNG here (for a kiosk screen).
        #[arg(long)]
        qr_png: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List the faces found in images: box, score, landmarks and the yaw cue used by the liveness check.
    FaceDetect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// 1:1 match of the largest face in A (e.g. a live capture) against the largest face in B (e.g. the chip's
    /// DG2 photo). Exit 0 match, 1 no match, 2 no face found or another error.
    FaceMatch {
        a: PathBuf,
        b: PathBuf,
        /// Override the measured default threshold (cosine similarity).
        #[arg(long)]
        threshold: Option<f32>,
        #[arg(long)]
        json: bool,
    },
    /// Measure false-accept and false-reject rates on labelled pairs (CSV: a,b,label[,kind]; label 1 = same person;
    /// paths relative to the CSV) and propose the threshold for a target false-accept rate.
    FaceEval {
        pairs: PathBuf,
        /// Target false-accept rate (0.001 = 0.1 %).
        #[arg(long, default_value_t = 0.001)]
        target_far: f64,
        #[arg(long)]
        json: bool,
    },
    /// Liveness: check that camera frames (in order, not mirrored) show one live face following the challenge
    /// (turns such as left,right; each followed by a return to the centre). Exit 0 live, 1 not live, 2 error.
    Liveness {
        #[arg(long)]
        challenge: String,
        #[arg(required = true)]
        frames: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Check a 12-digit citizen ID number against a birth date and sex (province, century/sex, year).
    Cccd {
        number: String,
        /// Birth date, YYYY-MM-DD.
        #[arg(long)]
        dob: String,
        /// M or F.
        #[arg(long)]
        sex: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum MaintainCommand {
    /// Extend valid copies to PAdES B-LTA and renew archive timestamps before their TSA certificate expires.
    Lta {
        /// Renew when the TSA certificate of the newest archive timestamp expires within this many days.
        #[arg(long, default_value_t = 365)]
        renew_within_days: i64,
        /// Renew every copy now.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove stored objects no registry row names (left by an issuance a crash cut short) that are older
    /// than the grace period; report what was removed. `banso serve` also does this periodically.
    Sweep {
        /// Leave objects younger than this many minutes (an issuance may still be writing them).
        #[arg(long)]
        grace_minutes: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Print a signed checkpoint (JSON) of the log's current head; keep it to audit later.
    Checkpoint,
    /// Check that the log only grew since a checkpoint and that every registry row is in it.
    Audit {
        /// A checkpoint printed earlier by `banso log checkpoint` or the API.
        #[arg(long)]
        from: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PkiCommand {
    /// Print the root certificate (PEM) to trust in validators.
    ExportRoot,
    /// Create the hierarchy: root CA, issuing CA, organisation seal, officers, TSA and OCSP responder. The
    /// root's statements (its CRL, its OCSP answer on the issuing CA) are signed ahead; then move
    /// `pki/root.key` to offline storage: `serve` never reads it.
    Init {
        /// An officer who signs copies they approve (repeatable).
        #[arg(long)]
        officer: Vec<String>,
        /// The URL the certificates' CRL and OCSP pointers use (default: the public base URL).
        #[arg(long)]
        base_url: Option<String>,
        /// Keep the organisation seal's key in a PKCS#11 token: it is created there and never leaves it.
        #[command(flatten)]
        pkcs11: trust::Pkcs11Args,
    },
    /// Import an externally issued chain (root, issuing CA, seal certificate and its key).
    Import {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        issuing: PathBuf,
        #[arg(long)]
        seal_cert: PathBuf,
        /// The seal's private key (PEM). Or give a key already in a token with --pkcs11-module.
        #[arg(long)]
        seal_key: Option<PathBuf>,
        #[command(flatten)]
        pkcs11: trust::Pkcs11Args,
    },
    /// The offline ceremony: sign the root's CRL and its OCSP answer on the issuing CA again (before they
    /// expire, or after revoking the issuing CA) with the root key brought from offline storage.
    RootStatus {
        /// The root CA's private key (PEM).
        #[arg(long)]
        root_key: PathBuf,
        /// How long the statements stay valid (1 to 3650 days).
        #[arg(long, default_value_t = trust::ROOT_STATUS_DAYS, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
    },
    /// Revoke one of this CA's certificates (by hex serial): its CRL and OCSP answers say so from now on.
    RevokeCert {
        serial: String,
        /// RFC 5280 reason code (1 key compromise, 4 superseded, 5 cessation of operation …).
        #[arg(long, default_value_t = 0)]
        reason: u8,
    },
}

/// An error with the exit code it deserves.
struct Failure {
    code: u8,
    error: anyhow::Error,
    json: bool,
    domain: Option<Error>,
}

impl Failure {
    fn domain(e: Error, json: bool) -> Self {
        Self {
            code: output::exit_code(e.kind()),
            error: anyhow::anyhow!("{e}"),
            json,
            domain: Some(e),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self {
            code: 2,
            error,
            json: false,
            domain: None,
        }
    }
}

fn main() -> ExitCode {
    // Files and folders banso creates are the service user's alone (scans, copies, keys, the registry).
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    // libgomp (loaded with libtesseract) reads OMP_THREAD_LIMIT once, at process start: without it, start again
    // with it (OCR runs one thread per page, pages in parallel).
    if let Err(e) = banso_intake::ocr::reexec_with_omp_thread_limit() {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BANSO_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            match (&f.domain, f.json) {
                (Some(e), true) => println!("{}", output::error_json(e)),
                (Some(e), false) => eprintln!("error {}: {}", e.code.as_str(), e.message),
                (None, _) => eprintln!("error: {:#}", f.error),
            }
            ExitCode::from(f.code)
        }
    }
}

fn overrides(common: &Common, listen: Option<String>) -> Overrides {
    Overrides {
        config_file: common.config.clone(),
        data_dir: common.data_dir.clone(),
        listen,
    }
}

async fn open(common: &Common) -> Result<App> {
    App::open(Config::load(&overrides(common, None))?).await
}

fn out_path(base: &Option<PathBuf>, code: &str, index: usize) -> PathBuf {
    match base {
        None => PathBuf::from(format!("{code}.pdf")),
        Some(p) if index == 0 => p.clone(),
        Some(p) => {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = p
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_default();
            p.with_file_name(format!("{stem}-{}{ext}", index + 1))
        }
    }
}

async fn run(cli: Cli) -> Result<u8, Failure> {
    let common = cli.common;
    match cli.command {
        Command::Serve { listen } => {
            let config = Config::load(&overrides(&common, listen))?;
            serve(config).await?;
            Ok(0)
        }
        Command::Issue {
            holder_id,
            holder_name,
            doc_type,
            copies,
            out,
            request_key,
            officer,
            json,
            pages,
        } => {
            let app = open(&common).await?;
            let mut files = Vec::with_capacity(pages.len());
            for p in &pages {
                let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
                if meta.len() as usize > app.config.max_upload_bytes {
                    return Err(Failure::domain(
                        Error::new(
                            banso_core::Code::Iss0004TooLarge,
                            format!(
                                "{} is larger than the limit of {} bytes",
                                p.display(),
                                app.config.max_upload_bytes
                            ),
                        ),
                        json,
                    ));
                }
                files.push(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?);
            }
            // The operator at the console is staff: an original the intake sends to an officer is certified on
            // their word (named by --officer, else as the operator).
            let request = IssueRequest {
                holder_id,
                holder_name,
                document_type: doc_type,
                copies,
                files,
                request_key,
                reviewed_by: Some(
                    officer
                        .clone()
                        .unwrap_or_else(|| "operator (command line)".to_string()),
                ),
                officer,
            };
            let issuance = match app
                .service
                .issue(request)
                .await
                .map_err(|e| Failure::domain(e, json))?
            {
                banso_core::service::IssueOutcome::Issued(issuance) => issuance,
                banso_core::service::IssueOutcome::Held(held) => {
                    if json {
                        println!("{}", output::held_json(&held));
                    } else {
                        println!("{}", held.message());
                    }
                    return Ok(3);
                }
            };
            let mut written = Vec::new();
            for (i, copy) in issuance.copies.iter().enumerate() {
                let path = out_path(&out, &copy.record.code, i);
                let pdf = app
                    .service
                    .blobs
                    .get(&copy.record.pdf_key)
                    .await
                    .map_err(|e| Failure::domain(e.into(), json))?;
                std::fs::write(&path, pdf).with_context(|| format!("writing {}", path.display()))?;
                written.push(path.display().to_string());
            }
            let base = app.config.public_base_url();
            if json {
                println!("{}", output::issuance_json(&issuance, &written, &base));
            } else {
                for (copy, path) in issuance.copies.iter().zip(&written) {
                    println!(
                        "{}  {}  {}  {}",
                        copy.record.number().label(),
                        banso_core::code::VerificationCode::parse(&copy.record.code)
                            .map(|c| c.display_grouped())
                            .unwrap_or_default(),
                        path,
                        copy.qr_url
                    );
                }
                println!(
                    "Lệ phí / fee: {}",
                    banso_core::rules::format_vnd(issuance.fee_total_vnd)
                );
            }
            Ok(0)
        }
        Command::Verify { target, json } => {
            let app = open(&common).await?;
            let path = PathBuf::from(&target);
            if path.is_file() {
                let pdf = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let report = app
                    .service
                    .verify_file(pdf)
                    .await
                    .map_err(|e| Failure::domain(e, json))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
                } else {
                    let line = |name: &str, c: &banso_core::ports::CheckOutcome| {
                        println!("{name:<12} {}  {}", if c.ok { "OK  " } else { "FAIL" }, c.detail);
                    };
                    line("signature", &report.signature);
                    for s in &report.signatures {
                        line("  integrity", &s.integrity);
                        line("  chain", &s.chain);
                        line("  coverage", &s.coverage);
                        line("  changes", &s.modifications);
                    }
                    line("registry", &report.registry);
                    line("status", &report.status);
                    println!("{}", if report.valid { "VALID" } else { "INVALID" });
                }
                Ok(if report.valid { 0 } else { 1 })
            } else {
                let copy = app
                    .service
                    .public_copy(&target)
                    .await
                    .map_err(|e| Failure::domain(e, json))?;
                let valid = copy.status == banso_core::model::CopyStatus::Valid;
                if json {
                    let log = app
                        .service
                        .inclusion(&target)
                        .await
                        .map_err(|e| Failure::domain(e, json))?;
                    println!(
                        "{}",
                        serde_json::json!({ "valid": valid, "copy": copy, "log": log })
                    );
                } else {
                    println!(
                        "{} {} — {} / {}",
                        copy.code,
                        copy.document_type,
                        copy.status.label_vi(),
                        copy.status.label_en()
                    );
                    println!("{}", if valid { "VALID" } else { "INVALID" });
                }
                Ok(if valid { 0 } else { 1 })
            }
        }
        Command::Revoke {
            code,
            reason,
            decision,
            json,
        } => {
            let app = open(&common).await?;
            let record = app
                .service
                .revoke(&code, &reason, decision.as_deref())
                .await
                .map_err(|e| Failure::domain(e, json))?;
            let copy = banso_core::service::PublicCopy::from_record(&record);
            if json {
                println!("{}", serde_json::to_string(&copy).context("JSON")?);
            } else {
                println!(
                    "{} — {} / {}",
                    copy.code,
                    copy.status.label_vi(),
                    copy.status.label_en()
                );
            }
            Ok(0)
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    role,
                    name,
                    expires_in_days,
                    json,
                },
        } => {
            let app = open(&common).await?;
            let role = Role::parse(&role).context("role")?;
            let expires_at =
                expires_in_days.map(|d| time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(d)));
            let (record, token) = app
                .service
                .create_token(role, &name, expires_at)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                let mut out = output::token_json(&record);
                out["token"] = serde_json::Value::String(token);
                println!("{out}");
            } else {
                println!("{token}");
            }
            Ok(0)
        }
        Command::Token {
            command: TokenCommand::List { json },
        } => {
            let app = open(&common).await?;
            let tokens = app.service.tokens().await.map_err(|e| Failure::domain(e, json))?;
            if json {
                let list: Vec<_> = tokens.iter().map(output::token_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in &tokens {
                    let j = output::token_json(t);
                    println!(
                        "{}  {:8} {:20} created {}  expires {}  last used {}{}",
                        t.id,
                        t.role.as_str(),
                        t.name,
                        j["created_at"].as_str().unwrap_or(""),
                        j["expires_at"].as_str().unwrap_or("never"),
                        j["last_used_at"].as_str().unwrap_or("never"),
                        if t.revoked { "  REVOKED" } else { "" }
                    );
                }
            }
            Ok(0)
        }
        Command::Token {
            command: TokenCommand::Revoke { id, json },
        } => {
            let app = open(&common).await?;
            app.service
                .revoke_token(&id)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::json!({ "id": id.trim(), "revoked": true }));
            } else {
                println!("token {} revoked", id.trim());
            }
            Ok(0)
        }
        Command::Pki {
            command:
                PkiCommand::Init {
                    officer,
                    base_url,
                    pkcs11,
                },
        } => {
            let config = Config::load(&overrides(&common, None))?;
            let base = base_url.unwrap_or_else(|| config.public_base_url());
            trust::init(&config.pki_dir(), &config.trust_settings(), &officer, &base)?;
            if let Some(hsm) = pkcs11.seal() {
                trust::init_hsm_seal(&config.pki_dir(), &config.trust_settings(), &hsm)?;
                println!(
                    "the organisation seal key lives in token {:?} as {:?}",
                    hsm.token, hsm.key_label
                );
            }
            println!(
                "PKI created in {} (pointers at {base}); move root.key to offline storage: `banso pki root-status \
                 --root-key FILE` renews the root's statements within {} days",
                config.pki_dir().display(),
                trust::ROOT_STATUS_DAYS
            );
            Ok(0)
        }
        Command::Pki {
            command: PkiCommand::RootStatus { root_key, days },
        } => {
            let config = Config::load(&overrides(&common, None))?;
            let registry = open_registry(&config).await?;
            let revoked = registry
                .ca_revocations()
                .await
                .map_err(|e| Failure::domain(e.into(), false))?;
            trust::RootStatus::sign(
                &config.pki_dir(),
                &root_key,
                time::OffsetDateTime::now_utc(),
                days,
                &revoked,
            )?;
            println!(
                "the root's CRL and its OCSP answer on the issuing CA are signed, valid {days} days ({})",
                config.pki_dir().join("root-status").display()
            );
            Ok(0)
        }
        Command::Pki {
            command: PkiCommand::RevokeCert { serial, reason },
        } => {
            let config = Config::load(&overrides(&common, None))?;
            let registry = open_registry(&config).await?;
            let revocation = banso_core::ports::CaRevocation {
                serial: banso_core::ports::CaRevocation::normalise_serial(&serial),
                revoked_at: time::OffsetDateTime::now_utc(),
                reason,
            };
            let new = registry
                .add_ca_revocation(&revocation)
                .await
                .map_err(|e| Failure::domain(e.into(), false))?;
            // Every server on this registry answers it from its next OCSP or CRL request; the issuing CA's own
            // revocation reaches the root's statements at the next ceremony (`pki root-status`).
            if new {
                println!("revoked {}", revocation.serial);
            } else {
                println!("{} was revoked already", revocation.serial);
            }
            Ok(0)
        }
        Command::Pki {
            command:
                PkiCommand::Import {
                    root,
                    issuing,
                    seal_cert,
                    seal_key,
                    pkcs11,
                },
        } => {
            let config = Config::load(&overrides(&common, None))?;
            let hsm = pkcs11.seal();
            trust::import(
                &config.pki_dir(),
                &root,
                &issuing,
                &seal_cert,
                seal_key.as_deref(),
                hsm.as_ref(),
            )?;
            println!("imported the chain into {}", config.pki_dir().display());
            Ok(0)
        }
        Command::Pki {
            command: PkiCommand::ExportRoot,
        } => {
            let config = Config::load(&overrides(&common, None))?;
            std::fs::create_dir_all(&config.data_dir).context("creating the data folder")?;
            let trust = trust::TrustServices::open(
                &config.pki_dir(),
                &config.trust_settings(),
                &config.public_base_url(),
            )?;
            print!("{}", trust.root_pem());
            Ok(0)
        }
        Command::Log {
            command: LogCommand::Checkpoint,
        } => {
            let app = open(&common).await?;
            let cp = app.log_key.checkpoint(&app.service).await?;
            println!("{}", serde_json::to_string_pretty(&cp).context("JSON")?);
            Ok(0)
        }
        Command::Log {
            command: LogCommand::Audit { from, json },
        } => {
            let app = open(&common).await?;
            let trusted = match &from {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let cp: translog::Checkpoint = serde_json::from_str(&text).context("not a checkpoint")?;
                    Some(app.log_key.verify(&cp)?)
                }
                None => None,
            };
            let report = banso_core::transparency::audit(app.service.registry.as_ref(), trusted)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                println!(
                    "log size {}, root {}, {} copies checked",
                    report.tree_size, report.root_hash, report.copies_checked
                );
                for p in &report.problems {
                    println!("PROBLEM: {p}");
                }
                println!("{}", if report.ok { "AUDIT OK" } else { "AUDIT FAILED" });
            }
            Ok(if report.ok { 0 } else { 1 })
        }
        Command::Id {
            command:
                IdCommand::Read {
                    reader,
                    mrz,
                    csca,
                    access,
                    json,
                    photo,
                },
        } => {
            let access = match access.as_str() {
                "bac" => banso_identity::emrtd::reader::BacOrPace::Bac,
                "pace" => banso_identity::emrtd::reader::BacOrPace::Pace,
                _ => banso_identity::emrtd::reader::BacOrPace::PreferPace,
            };
            Ok(idcmd::read(&reader, &mrz, &csca, access, json, photo.as_deref())?)
        }
        Command::Id {
            command:
                IdCommand::TestCard {
                    vpcd_port,
                    out,
                    negative,
                    face,
                },
        } => Ok(idcmd::test_card(
            vpcd_port,
            &out,
            negative.as_deref(),
            face.as_deref(),
        )?),
        Command::Id {
            command:
                IdCommand::Login {
                    issuer,
                    client_id,
                    scope,
                    qr_png,
                    json,
                },
        } => {
            // The OIDC client is blocking (reqwest::blocking owns a runtime of its own): off the async runtime.
            let run = move || idcmd::login(&issuer, &client_id, &scope, qr_png.as_deref(), json);
            Ok(tokio::task::spawn_blocking(run).await.context("login task")??)
        }
        Command::Id {
            command: IdCommand::FaceDetect { files, json },
        } => Ok(facecmd::detect(&files, json)?),
        Command::Id {
            command:
                IdCommand::FaceMatch {
                    a,
                    b,
                    threshold,
                    json,
                },
        } => Ok(facecmd::face_match(&a, &b, threshold, json)?),
        Command::Id {
            command:
                IdCommand::FaceEval {
                    pairs,
                    target_far,
                    json,
                },
        } => Ok(facecmd::face_eval(&pairs, target_far, json)?),
        Command::Id {
            command:
                IdCommand::Liveness {
                    challenge,
                    frames,
                    json,
                },
        } => Ok(facecmd::liveness_check(&challenge, &frames, json)?),
        Command::Id {
            command: IdCommand::Mrz { text, json },
        } => match banso_identity::mrz::Mrz::parse(&text) {
            Ok(mrz) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&mrz).context("JSON")?);
                } else {
                    println!(
                        "{:?} {} {} — {}",
                        mrz.format,
                        mrz.document_code,
                        mrz.document_number,
                        mrz.full_name()
                    );
                    for c in &mrz.checks {
                        println!(
                            "{:<16} {}  expected {} found {}",
                            c.name,
                            if c.ok { "OK  " } else { "FAIL" },
                            c.expected,
                            c.found
                        );
                    }
                }
                Ok(if mrz.all_checks_ok() { 0 } else { 1 })
            }
            Err(e) => Ok(output::fail(
                json,
                &Error::new(banso_core::Code::Id0001BadMrz, e.to_string()),
            )),
        },
        Command::Id {
            command:
                IdCommand::Cccd {
                    number,
                    dob,
                    sex,
                    json,
                },
        } => {
            let dob = banso_identity::cccd::parse_iso_date(&dob)
                .ok_or_else(|| anyhow::anyhow!("--dob must be a date written YYYY-MM-DD"))?;
            let sex: banso_identity::cccd::Sex =
                sex.parse().map_err(|_| anyhow::anyhow!("--sex must be M or F"))?;
            let report = banso_identity::cccd::check_number(&number, dob, sex);
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                print!("{report}");
            }
            Ok(if report.ok { 0 } else { 1 })
        }
        Command::Maintain {
            command:
                MaintainCommand::Lta {
                    renew_within_days,
                    force,
                    json,
                },
        } => {
            let app = open(&common).await?;
            let report = longterm::maintain(
                &app.service,
                &app.trust,
                time::Duration::days(renew_within_days),
                force,
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                println!(
                    "examined {}, extended to B-LTA {}, renewed {}, up to date {}, failed {}",
                    report.examined,
                    report.extended,
                    report.renewed,
                    report.up_to_date,
                    report.failed.len()
                );
                for f in &report.failed {
                    println!("FAILED: {f}");
                }
            }
            Ok(if report.failed.is_empty() { 0 } else { 1 })
        }
        Command::Maintain {
            command: MaintainCommand::Sweep { grace_minutes, json },
        } => {
            let app = open(&common).await?;
            let grace = grace_minutes.unwrap_or(app.config.orphan_grace_minutes);
            let report = app
                .service
                .sweep_orphans(time::Duration::minutes(grace as i64))
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                println!(
                    "examined {}, kept {}, younger than {grace} min {}, removed {} ({} bytes), unknown {}; \
                     book numbers voided (issuance never finished) {}",
                    report.examined,
                    report.kept,
                    report.too_recent,
                    report.removed.len(),
                    report.removed_bytes,
                    report.unknown.len(),
                    report.voided_numbers
                );
                for key in &report.removed {
                    println!("removed {key}");
                }
            }
            Ok(0)
        }
        Command::Ocr {
            files,
            scanner,
            pages,
            lang,
            json,
        } => Ok(intakecmd::ocr(&files, scanner.as_deref(), pages, &lang, json)?),
        Command::Intake {
            files,
            holder_name,
            holder_dob,
            holder_id,
            json,
        } => {
            let config = Config::load(&overrides(&common, None))?;
            let given = holder_name.is_some() || holder_dob.is_some() || holder_id.is_some();
            let holder = given.then_some(banso_intake::checks::Holder {
                name: holder_name,
                birth_date: holder_dob,
                id_number: holder_id,
            });
            Ok(intakecmd::intake(&files, holder, &config.intake, json)?)
        }
        Command::Bench { command } => Ok(bench::run(command, &common.data_dir).await?),
    }
}

async fn serve(mut config: Config) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    // With port 0 the real port is known only now; links and QR codes must carry it.
    config
        .public_base_url
        .get_or_insert_with(|| format!("http://{local}"));
    let app = App::open(config).await?;
    let base = app.config.public_base_url();
    let state = http::AppState {
        service: app.service.clone(),
        metrics: Default::default(),
        log_key: app.log_key.clone(),
        trust: app.trust.clone(),
        edge: std::sync::Arc::new(http::edge::Edge::new(
            app.config.limits.clone(),
            app.config.max_upload_bytes,
        )),
        base_url: base.trim_end_matches('/').to_string(),
    };
    println!("banso {} listening on http://{local}", env!("CARGO_PKG_VERSION"));
    println!("  verification portal  {base}/");
    println!("  API                  {base}/api/v1/   (OpenAPI: {base}/api/openapi.json)");
    println!("  health / metrics     {base}/healthz   {base}/metrics");
    println!("  kiosk, back office   not part of this release yet");
    println!(
        "  PKI services         {}/pki/ (TSA, OCSP, CRLs)",
        app.trust.base_url
    );
    println!("  data folder          {}", app.config.data_dir.display());
    println!(
        "  database             {}",
        config::redact_url(&app.config.database_url())
    );
    if app.config.sweep_every_minutes > 0 {
        spawn_sweeper(
            app.service.clone(),
            app.config.orphan_grace_minutes,
            app.config.sweep_every_minutes,
        );
    }
    let metrics = state.metrics.clone();
    http::edge::serve(
        listener,
        http::router(state),
        &app.config.limits,
        metrics,
        shutdown_signal(),
    )
    .await?;
    Ok(())
}

/// Removes orphaned objects at start and then every `every` minutes, logging what it removed.
fn spawn_sweeper(service: banso_core::service::Service, grace_minutes: u64, every_minutes: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(every_minutes * 60));
        loop {
            tick.tick().await;
            match service
                .sweep_orphans(time::Duration::minutes(grace_minutes as i64))
                .await
            {
                Ok(r) if r.voided_numbers > 0 || !r.removed.is_empty() => tracing::warn!(
                    voided_numbers = r.voided_numbers,
                    removed = r.removed.len(),
                    bytes = r.removed_bytes,
                    keys = ?r.removed,
                    "voided book numbers and removed objects left by interrupted issuances"
                ),
                Ok(r) => tracing::debug!(examined = r.examined, "no orphaned objects"),
                Err(e) => tracing::error!(error = %e, "orphan sweep failed"),
            }
        }
    });
}

/// Ctrl-C or SIGTERM: stop accepting, let requests in flight finish.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(t) => t,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The registry alone (for commands that need nothing else).
async fn open_registry(config: &Config) -> anyhow::Result<std::sync::Arc<dyn banso_core::ports::Registry>> {
    banso_store::open_registry_with(&config.database_url(), config.database_ca_file.as_deref())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "opening the registry {}: {e}",
                config::redact_url(&config.database_url())
            )
        })
}
