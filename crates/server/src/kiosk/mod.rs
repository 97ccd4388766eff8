//! `banso kiosk`: the agent on a kiosk PC. It serves the touch screens to a local Chromium in kiosk mode,
//! owns the peripherals (the chip card reader through pcscd, the scanner through SANE) and calls the central
//! `banso serve` with the device credential, which never reaches the browser.
//!
//! - It listens on the loopback only and answers only requests addressed to it by a loopback name (a page
//!   elsewhere cannot reach it through DNS rebinding).
//! - The browser holds one cookie naming the kiosk's own record of the citizen's visit (`SameSite=Strict`,
//!   `HttpOnly`); the identity session's id, the scans and the answers stay here.
//! - Every screen says `Cache-Control: no-store`. A visit ends when the citizen says so, or after
//!   [`KioskOptions::idle`] without a touch plus [`GRACE`] (the screen warns by sound and offers more time):
//!   the central identity session is ended, the scans are dropped, and the browser is told to clear what it
//!   kept (`Clear-Site-Data`). Every screen of the visit then leads back to the start.

mod central;
mod devices;
mod identify;
mod pay;
mod printer;
mod procedures;
mod queue;
mod screens;
mod voice;

use anyhow::{bail, Context, Result};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use central::Central;
pub use devices::Scanner;

/// Time the screen gives a citizen to answer the inactivity warning.
pub const GRACE: Duration = Duration::from_secs(25);
/// Visits held at once (one citizen at a time, and one finishing).
pub const MAX_VISITS: usize = 4;
/// Pages one visit may scan.
pub const MAX_PAGES: usize = 20;

/// How `banso kiosk` runs.
pub struct KioskOptions {
    /// The central service, e.g. `https://banso.example.gov.vn`.
    pub server: String,
    /// A file holding the kiosk's API token (`banso token create --role kiosk`).
    pub device_credential: PathBuf,
    /// A loopback address.
    pub listen: String,
    /// `file:DIR` or a SANE device name.
    pub scanner: String,
    /// The PC/SC reader's name, or part of it.
    pub card_reader: String,
    /// Idle time before the warning.
    pub idle: Duration,
    /// The printer queue, `ipp://HOST:PORT/printers/NAME` (none: no printing).
    pub printer: Option<String>,
    /// A one-time enrolment code, exchanged for the credential when the credential file is empty or missing.
    pub enrol_code: Option<String>,
    /// Seconds between heartbeats (and tries of the offline queue).
    pub heartbeat: Duration,
    /// The offline queue's folder (none: `<device credential>.queue` beside it).
    pub queue: Option<PathBuf>,
    /// The camera's device node (e.g. `/dev/video0`).
    pub camera: Option<PathBuf>,
}

/// What the kiosk knows of one citizen's visit.
#[derive(Default)]
pub struct Visit {
    pub english: bool,
    pub consented: bool,
    /// The central identity session and its step (`chip`, `face`, `app`, `verified`).
    pub identity: Option<String>,
    pub identity_step: String,
    pub challenge: Vec<String>,
    pub app_qr: Option<String>,
    pub app_code: Option<String>,
    /// Who the central service proved: (ID number, full name).
    pub holder: Option<(String, String)>,
    pub document_type: Option<String>,
    pub copies: u32,
    pub pages: Vec<Vec<u8>>,
    /// The central service's answer to the request, once sent.
    pub outcome: Option<central::Answer>,
    /// What became of the last e-mail of the copy: (sent, the message to show).
    pub delivered: Option<(bool, String)>,
    /// The fee due before the request is issued: (reference, amount in VND, the gateway's address).
    pub payment: Option<(String, u64, String)>,
    /// Idempotency key of this visit's request.
    pub request_key: String,
    pub officer_called: bool,
    pub last_touch: Option<Instant>,
    /// The visit files a procedure's dossier (the service chosen on the start screen), not a copy.
    pub procedure: Option<procedures::Draft>,
    pub files_procedure: bool,
}

/// The agent's state.
pub struct Kiosk {
    pub central: Central,
    pub scanner: Scanner,
    pub card_reader: String,
    pub idle: Duration,
    pub visits: Mutex<HashMap<String, Visit>>,
    /// The address the agent answers on, for the Host check.
    pub port: u16,
    /// The face models, to tell the citizen when a head turn is far enough (none: the screen times its
    /// captures instead).
    pub faces: Option<Arc<banso_face::FaceModels>>,
    /// The printer, when the kiosk has one.
    pub printer: Option<printer::Printer>,
    /// The camera's device node, whose presence the heartbeat reports (none: not reported as present).
    pub camera: Option<PathBuf>,
    /// Spoken prompts made so far, by (step, English).
    pub voices: Mutex<HashMap<(usize, bool), voice::Wav>>,
    /// Procedure submissions waiting for the link to the centre.
    pub queue: queue::Queue,
    /// Whether the central service answered the last call made to it.
    pub online: AtomicBool,
}

impl Kiosk {
    /// Notes whether the central service answered (any answer, even a refusal) or could not be reached.
    pub fn reached(&self, answered: bool) {
        self.online.store(answered, Ordering::Relaxed);
    }

    pub fn is_online(&self) -> bool {
        self.online.load(Ordering::Relaxed)
    }

    /// One heartbeat, then, if the central service took it, the offline queue sent.
    async fn beat(&self) {
        let state = self.peripherals().await;
        match self.central.heartbeat(&state).await {
            Ok(a) if a.ok() => {
                self.reached(true);
                if self.queue.len() > 0 {
                    let d = self
                        .queue
                        .drain(|q| async move { self.central.submit_queued(&q).await })
                        .await;
                    tracing::info!(
                        filed = d.filed,
                        refused = d.refused,
                        waiting = d.waiting,
                        "offline queue sent"
                    );
                }
            }
            Ok(a) => {
                self.reached(true);
                tracing::warn!(status = a.status, "the central service refused the heartbeat")
            }
            Err(e) => {
                self.reached(false);
                tracing::warn!(error = %e, "no heartbeat: the central service cannot be reached")
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Visit>> {
        self.visits.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends visits idle past the warning and its grace; their central sessions are ended too.
    async fn sweep(&self) {
        let limit = self.idle + GRACE;
        let stale: Vec<(String, Option<String>)> = {
            let mut visits = self.lock();
            let ids: Vec<String> = visits
                .iter()
                .filter(|(_, v)| v.last_touch.is_none_or(|t| t.elapsed() > limit))
                .map(|(k, _)| k.clone())
                .collect();
            ids.into_iter()
                .filter_map(|k| visits.remove(&k).map(|v| (k, v.identity)))
                .collect()
        };
        for (_, identity) in stale {
            if let Some(session) = identity {
                self.end_identity(&session).await;
            }
        }
    }

    async fn end_identity(&self, session: &str) {
        match self
            .central
            .identity(reqwest::Method::DELETE, session, "", None)
            .await
        {
            Ok(a) if a.ok() || a.status == 404 => {}
            Ok(a) => tracing::warn!(
                status = a.status,
                "the central service did not end an identity session"
            ),
            Err(e) => tracing::warn!(error = %e, "the central service did not end an identity session"),
        }
    }
}

/// Refuses requests not addressed to the agent by a loopback name, and marks every answer `no-store`.
async fn guard(State(kiosk): State<Arc<Kiosk>>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let allowed = [
        format!("127.0.0.1:{}", kiosk.port),
        format!("localhost:{}", kiosk.port),
        format!("[::1]:{}", kiosk.port),
    ];
    if !allowed.iter().any(|a| a == host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this kiosk answers its own screen only",
        )
            .into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// Writes the credential for this user alone.
fn write_credential(path: &std::path::Path, token: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(token.as_bytes())?;
    Ok(())
}

impl Kiosk {
    /// What the heartbeat says of each peripheral: `ok`, or what is wrong. The scanner's feed folder or SANE
    /// device name; the printer over IPP (Get-Printer-Attributes: stopped, out of paper, toner low); the card
    /// reader in pcscd's list of readers; the camera's device node (the browser drives the camera itself).
    async fn peripherals(&self) -> serde_json::Value {
        let scanner = match &self.scanner {
            Scanner::Files { dir, .. } if dir.is_dir() => "ok".to_string(),
            Scanner::Files { dir, .. } => format!("no feed folder {}", dir.display()),
            Scanner::Sane(name) if name.is_empty() => "no device".to_string(),
            Scanner::Sane(_) => "ok".to_string(),
        };
        let printer = match &self.printer {
            None => "none".to_string(),
            Some(p) => match tokio::time::timeout(
                Duration::from_secs(3),
                tokio::net::TcpStream::connect(p.authority()),
            )
            .await
            {
                Ok(Ok(_)) => match p.state(Duration::from_secs(5)).await {
                    Ok(state) => state.summary(),
                    Err(e) => format!("{e:#}"),
                },
                _ => "unreachable".to_string(),
            },
        };
        let wanted = self.card_reader.clone();
        let readers = tokio::task::spawn_blocking(banso_identity::pcsc_transport::list_readers).await;
        let card_reader = match readers {
            Ok(Ok(names)) if names.iter().any(|n| n.contains(&wanted)) => "ok".to_string(),
            Ok(Ok(names)) if names.is_empty() => "no reader".to_string(),
            Ok(Ok(_)) => format!("no reader named {wanted}"),
            Ok(Err(e)) => format!("pcscd: {e}"),
            Err(e) => format!("pcscd: {e}"),
        };
        let camera = match &self.camera {
            Some(dev) if dev.exists() => "ok".to_string(),
            Some(dev) => format!("no device {}", dev.display()),
            None => "none".to_string(),
        };
        serde_json::json!({
            "scanner": scanner,
            "printer": printer,
            "card_reader": card_reader,
            "camera": camera,
        })
    }
}

/// Runs the agent until the process is stopped.
pub async fn run(options: KioskOptions) -> Result<()> {
    let addr: SocketAddr = options
        .listen
        .parse()
        .with_context(|| format!("--listen {} is not an address:port", options.listen))?;
    if !addr.ip().is_loopback() {
        bail!("the kiosk agent listens on the loopback only (its screens drive the device's credential)");
    }
    let kept = std::fs::read_to_string(&options.device_credential)
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let credential = match (&options.enrol_code, kept.is_empty()) {
        (Some(code), true) => {
            let token = Central::enrol(&options.server, code).await?;
            write_credential(&options.device_credential, &token)?;
            println!("enrolled with the central service");
            token
        }
        _ => kept,
    };
    if credential.is_empty() {
        bail!("{} holds no credential", options.device_credential.display());
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    let kiosk = Arc::new(Kiosk {
        central: Central::new(&options.server, credential)?,
        scanner: Scanner::parse(&options.scanner),
        card_reader: options.card_reader,
        idle: options.idle,
        visits: Mutex::new(HashMap::new()),
        port: local.port(),
        printer: options
            .printer
            .as_deref()
            .map(printer::Printer::new)
            .transpose()?,
        voices: Mutex::new(HashMap::new()),
        queue: queue::Queue::open(&options.queue.clone().unwrap_or_else(|| {
            let mut dir = options.device_credential.clone().into_os_string();
            dir.push(".queue");
            PathBuf::from(dir)
        }))?,
        online: AtomicBool::new(true),
        camera: options.camera.clone(),
        faces: match tokio::task::spawn_blocking(banso_face::FaceModels::load_default).await? {
            Ok(models) => Some(Arc::new(models)),
            Err(e) => {
                tracing::warn!(error = %e, "no face models: the face screen times its captures instead of following the head");
                None
            }
        },
    });
    let beating = kiosk.clone();
    let every = options.heartbeat;
    tokio::spawn(async move {
        loop {
            beating.beat().await;
            tokio::time::sleep(every).await;
        }
    });
    let sweeper = kiosk.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            sweeper.sweep().await;
        }
    });
    let app = screens::router(kiosk.clone())
        .layer(axum::middleware::from_fn_with_state(kiosk.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(12 << 20));
    println!(
        "kiosk screens on http://{local}/ (central service {})",
        kiosk.central.base()
    );
    axum::serve(listener, app)
        .await
        .context("serving the kiosk screens")?;
    Ok(())
}
