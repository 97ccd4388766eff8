//! `banso`: the service and its command line.
//!
//! Exit codes: 0 ok / valid, 1 invalid / refused, 2 usage or operational error, 3 held for an officer
//! (`output::exit_code`).

mod app;
mod bench;
mod cli;
mod config;
mod deliveries;
mod edgebench;
mod facecmd;
mod http;
mod idcmd;
mod intakecmd;
mod kiosk;
mod loadbench;
mod longterm;
mod mail;
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
    /// Run the kiosk agent: the touch screens for a local browser, the card reader and the scanner, and the
    /// calls to the central service with this kiosk's credential.
    Kiosk {
        /// The central service's base URL.
        #[arg(long)]
        server: String,
        /// A file holding the kiosk's API token (`banso token create --role kiosk`).
        #[arg(long)]
        device_credential: PathBuf,
        /// Loopback address the screens are served on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// The scanner: a SANE device name (e.g. `test`) or `file:DIR` (page images fed in name order).
        #[arg(long, default_value = "test")]
        scanner: String,
        /// The chip card reader's PC/SC name, or part of it.
        #[arg(long, default_value = "")]
        card_reader: String,
        /// Seconds without a touch before the screen warns that the visit will end.
        #[arg(long, default_value_t = 90)]
        idle_secs: u64,
        /// The printer queue copies are printed on, `ipp://HOST:PORT/printers/NAME` (CUPS).
        #[arg(long)]
        printer: Option<String>,
        /// A one-time enrolment code from the back office's fleet page: exchanged for the credential (written
        /// to --device-credential) when that file is empty or missing.
        #[arg(long)]
        enrol_code: Option<String>,
        /// Seconds between heartbeats to the central service (and tries of the offline queue).
        #[arg(long, default_value_t = 30)]
        heartbeat_secs: u64,
        /// The offline queue's folder: procedure submissions kept while the central service cannot be reached.
        /// Default: `<device credential>.queue`.
        #[arg(long)]
        queue: Option<PathBuf>,
        /// The camera's device node, whose presence the heartbeat reports.
        #[arg(long, default_value = "/dev/video0")]
        camera: PathBuf,
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
    /// Dossier webhooks: check a received one as its receiver would.
    Webhook {
        #[command(subcommand)]
        command: cli::webhook::WebhookCommand,
    },
    /// Back-office accounts, and the check of the audit log.
    Officer {
        #[command(subcommand)]
        command: cli::officer::OfficerCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: cli::token::TokenCommand,
    },
    /// The development PKI.
    Pki {
        #[command(subcommand)]
        command: cli::pki::PkiCommand,
    },
    /// Identity documents: MRZ and citizen-ID number checks.
    Id {
        #[command(subcommand)]
        command: cli::id::IdCommand,
    },
    /// Việt Nam's working days: the days off of a year, and due dates counted in working days.
    Calendar {
        #[command(subcommand)]
        command: cli::calendar::CalendarCommand,
    },
    /// Upkeep jobs.
    Maintain {
        #[command(subcommand)]
        command: cli::maintain::MaintainCommand,
    },
    /// The catalogue of administrative procedures: list, search, show.
    Procedures {
        #[command(subcommand)]
        command: cli::procedures::ProceduresCommand,
    },
    /// The transparency log: signed checkpoints and audits.
    Log {
        #[command(subcommand)]
        command: cli::log::LogCommand,
    },
    /// Copy the installation while it serves: the registry at one instant (SQLite or pg_dump), then every
    /// object, the keys (never the offline root's) and the configuration, with a manifest of SHA-256 digests.
    Backup {
        /// A new (or empty) folder to write the backup into.
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Make a new installation from a backup: into an empty data folder, database and object store (as the
    /// configuration names them); every file is checked against the manifest first.
    Restore {
        /// The backup's folder.
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        json: bool,
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
        Command::Kiosk {
            server,
            device_credential,
            listen,
            scanner,
            card_reader,
            idle_secs,
            printer,
            enrol_code,
            heartbeat_secs,
            queue,
            camera,
        } => {
            kiosk::run(kiosk::KioskOptions {
                printer,
                server,
                device_credential,
                listen,
                scanner,
                card_reader,
                idle: std::time::Duration::from_secs(idle_secs.max(5)),
                enrol_code,
                heartbeat: std::time::Duration::from_secs(heartbeat_secs.max(1)),
                queue,
                camera: Some(camera),
            })
            .await?;
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
                pay_by: None,
            };
            let issuance = match app
                .service
                .issue(request)
                .await
                .map_err(|e| Failure::domain(e, json))?
            {
                banso_core::service::IssueOutcome::Issued(issuance) => issuance,
                // The command line names no kiosk: nothing it sends waits for a fee.
                banso_core::service::IssueOutcome::PaymentDue(_) => {
                    return Err(anyhow::anyhow!("a fee is due for a request the command line sent").into())
                }
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
                let (_, pdf) = app
                    .service
                    .stored_pdf(&copy.record.code)
                    .await
                    .map_err(|e| Failure::domain(e, json))?;
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
        Command::Token { command } => cli::token::run(command, &common).await,
        Command::Officer { command } => cli::officer::run(command, &common).await,
        Command::Pki { command } => cli::pki::run(command, &common).await,
        Command::Calendar { command } => cli::calendar::run(command),
        Command::Log { command } => cli::log::run(command, &common).await,
        Command::Backup { out, json } => cli::backup::backup(&common, &out, json).await,
        Command::Restore { from, json } => cli::backup::restore(&common, &from, json).await,
        Command::Id { command } => cli::id::run(command).await,
        Command::Maintain { command } => cli::maintain::run(command, &common).await,
        Command::Procedures { command } => cli::procedures::run(command),
        Command::Webhook { command } => cli::webhook::run(command).await,
    }
}

async fn serve(mut config: Config) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let local = listener.local_addr()?;
    // With port 0 the real port is known only now; links and QR codes of a node that names no public address
    // (and, on a shared registry, finds none recorded) must carry it.
    config.listen = local.to_string();
    let app = App::open(config).await?;
    let base = app.config.public_base_url();
    let mailer = match &app.config.delivery.smtp_url {
        Some(url) => Some(std::sync::Arc::new(mail::Mailer::new(
            url,
            app.config
                .delivery
                .mail_from
                .as_deref()
                .unwrap_or("Banso <no-reply@banso.invalid>"),
        )?)),
        None => None,
    };
    let state = http::AppState::new(
        app.service.clone(),
        app.trust.clone(),
        app.log_key.clone(),
        http::edge::Edge::new(app.config.limits.clone(), app.config.max_upload_bytes),
        &base,
    )
    .with_mailer(mailer.clone());
    if let Some(log) = app.admits.clone() {
        // A name for this node's entries in the admit log: its own each start.
        let mut node = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut node);
        tokio::spawn(http::ratelimit::share(
            state.edge(),
            log,
            hex::encode(node),
            state.metrics(),
        ));
    }
    deliveries::Worker::new(
        app.service.clone(),
        app.webhooks.clone(),
        mailer,
        time::Duration::seconds(app.config.dossiers.retry_base_secs as i64),
        app.config.dossiers.max_attempts,
    )?
    .spawn();
    println!("banso {} listening on http://{local}", env!("CARGO_PKG_VERSION"));
    println!("  verification portal  {base}/");
    println!("  API                  {base}/api/v1/   (OpenAPI: {base}/api/openapi.json)");
    println!("  health / metrics     {base}/healthz   {base}/readyz   {base}/metrics");
    println!("  back office          {base}/office   (kiosks: banso kiosk --server {base})");
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
    let metrics = state.metrics();
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
