//! Test kit for the `banso` binary: runs the real binary (CLI and `serve` on port 0) against real
//! components, and checks outputs with the independent validators (pyHanko, pdfsig, qpdf, pdftotext,
//! zbarimg). A missing validator or component fails the test; nothing is skipped.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

pub mod citizen;
pub mod oidc;

pub const BIN: &str = env!("CARGO_BIN_EXE_banso");

/// Where and how a test's banso keeps its data.
#[derive(Clone, Debug)]
pub struct Backend {
    pub data_dir: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Backend {
    /// SQLite and local files in a fresh folder.
    pub fn local(root: &Path) -> Self {
        Self {
            data_dir: root.join("data"),
            env: Vec::new(),
        }
    }

    /// A fresh database on the PostgreSQL server and a fresh bucket on the S3-compatible server started by
    /// scripts/test.sh (`BANSO_TEST_PG_URL` is the server URL without a database, e.g.
    /// `postgres://postgres@127.0.0.1:5433`; `BANSO_TEST_S3_ENDPOINT` is moto's URL).
    pub fn postgres_s3(root: &Path) -> Self {
        let pg = std::env::var("BANSO_TEST_PG_URL").expect(
            "BANSO_TEST_PG_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL",
        );
        let s3 = std::env::var("BANSO_TEST_S3_ENDPOINT").expect(
            "BANSO_TEST_S3_ENDPOINT is not set: run the tests with scripts/test.sh, which starts moto",
        );
        let name = format!("banso_{}", unique());
        let psql = Command::new("psql")
            .arg(format!("{pg}/postgres"))
            .args([
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .expect("psql");
        assert!(
            psql.status.success(),
            "CREATE DATABASE: {}",
            String::from_utf8_lossy(&psql.stderr)
        );
        let db_url = format!("{pg}/{name}");
        let bucket = name.replace('_', "-");
        let created = Command::new("python3")
            .args([
                "-c",
                "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
                 aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket=sys.argv[2])",
                &s3,
                &bucket,
            ])
            .output()
            .expect("python3");
        assert!(
            created.status.success(),
            "create bucket: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        // Over TLS, the server's certificate checked against the test CA (the way a deployment talks to a
        // database on another host).
        let ca = std::env::var("BANSO_TEST_PG_CA")
            .expect("BANSO_TEST_PG_CA is not set: run the tests with scripts/test.sh");
        Self {
            data_dir: root.join("data"),
            env: vec![
                ("BANSO_DATABASE_URL".into(), format!("{db_url}?sslmode=require")),
                ("BANSO_DATABASE_CA_FILE".into(), ca),
                ("BANSO_STORAGE".into(), "s3".into()),
                ("BANSO_S3_ENDPOINT".into(), s3),
                ("BANSO_S3_BUCKET".into(), bucket),
                ("BANSO_S3_REGION".into(), "us-east-1".into()),
                ("BANSO_S3_ACCESS_KEY_ID".into(), "testing".into()),
                ("BANSO_S3_SECRET_ACCESS_KEY".into(), "testing".into()),
            ],
        }
    }

    pub fn with_env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--data-dir").arg(&self.data_dir);
        c.env_remove("BANSO_CONFIG").env("BANSO_LOG", "info");
        // Most tests issue synthetic scans without real text (signing, storage, verification); the intake has its
        // own tests (tests/intake_issue.rs), which turn it on with `with_env("BANSO_INTAKE", "on")`.
        c.env("BANSO_INTAKE", "off");
        // Every test client comes from 127.0.0.1: the per-client rate limits would count the whole suite as one
        // client. Their own test (tests/edge_limits.rs) turns them on with `with_env`.
        for limit in [
            "BANSO_LOOKUPS_PER_MINUTE",
            "BANSO_VERIFICATIONS_PER_MINUTE",
            "BANSO_TIMESTAMPS_PER_MINUTE",
        ] {
            c.env(limit, "0");
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs a CLI command to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("running banso")
    }

    /// Runs a CLI command that prints JSON; returns (exit code, JSON).
    pub fn cli_json(&self, args: &[&str]) -> (i32, Value) {
        let out = self.cli(args);
        let text = String::from_utf8_lossy(&out.stdout);
        let json = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {text}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), json)
    }

    pub fn token(&self, role: &str) -> String {
        let out = self.cli(&["token", "create", "--role", role, "--name", "test"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn root_pem(&self) -> String {
        let out = self.cli(&["pki", "export-root"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `banso serve` on a free port and waits until it listens.
    pub fn serve(&self) -> Server {
        self.serve_at("127.0.0.1:0")
    }

    /// Starts `banso serve` on `listen` and waits until it listens.
    pub fn serve_at(&self, listen: &str) -> Server {
        let mut child = self
            .command()
            .args(["serve", "--listen", listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting banso serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = String::new();
        let base = loop {
            let Some(line) = lines.next() else {
                let mut said = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut said);
                panic!("banso serve exited before listening: {said}");
            };
            let line = line.unwrap();
            banner.push_str(&line);
            banner.push('\n');
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_string();
            }
        };
        for line in lines.by_ref().take(6) {
            banner.push_str(&line.unwrap());
            banner.push('\n');
        }
        // Keep reading: a closed pipe would make the server's next line to stdout fail (and the server stop).
        std::thread::spawn(move || for _ in lines {});
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Server {
            child,
            base,
            banner,
            log,
            http: reqwest::blocking::Client::new(),
        }
    }
}

pub struct Server {
    child: Child,
    pub base: String,
    pub banner: String,
    log: Arc<Mutex<String>>,
    pub http: reqwest::blocking::Client,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL: no clean-up of any kind) and reaps it.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The address it listens on (host:port).
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// Resident memory of the server process, in bytes (Linux /proc).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap()
            * 1024
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.http.get(self.url(path)).send().expect("GET")
    }

    /// Everything the server wrote to its log so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Issues through the API with multipart pages.
    pub fn issue(&self, token: &str, fields: &[(&str, &str)], pages: &[Vec<u8>]) -> (u16, Value) {
        self.issue_with(token, None, fields, pages)
    }

    /// Issues through the API with multipart pages, naming a kiosk's identity session when given.
    pub fn issue_with(
        &self,
        token: &str,
        session: Option<&str>,
        fields: &[(&str, &str)],
        pages: &[Vec<u8>],
    ) -> (u16, Value) {
        let mut form = reqwest::blocking::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        for (i, p) in pages.iter().enumerate() {
            form = form.part(
                "page",
                reqwest::blocking::multipart::Part::bytes(p.clone()).file_name(format!("page{i}")),
            );
        }
        let r = self
            .http
            .post(self.url("/api/v1/copies"))
            .bearer_auth(token)
            .header("Banso-Identity-Session", session.unwrap_or(""))
            .multipart(form)
            .send()
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.json().expect("JSON body"))
    }

    /// Issues one copy of `pages` for a fixed holder through the API and downloads its PDF: (answer, PDF).
    pub fn issue_and_fetch(&self, token: &str, pages: &[Vec<u8>]) -> (Value, Vec<u8>) {
        let (status, issued) = self.issue(
            token,
            &[
                ("holder_id", "079203001234"),
                ("holder_name", "Lê Thị Mai"),
                ("document_type", "Học bạ"),
            ],
            pages,
        );
        assert_eq!(status, 201, "{issued}");
        let pdf = self.fetch_pdf(&issued);
        (issued, pdf)
    }

    /// The PDF of an issuance answer, through its capability link.
    pub fn fetch_pdf(&self, issued: &Value) -> Vec<u8> {
        self.http
            .get(issued["pdf"].as_str().unwrap())
            .send()
            .unwrap()
            .bytes()
            .unwrap()
            .to_vec()
    }

    pub fn verify_pdf(&self, pdf: &[u8]) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/api/v1/verify"))
            .header("content-type", "application/pdf")
            .body(pdf.to_vec())
            .send()
            .expect("POST verify");
        let status = r.status().as_u16();
        (status, r.json().expect("JSON body"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `banso` with `args` alone (no data folder) and parses its standard output as JSON: (exit code, JSON).
pub fn run_json(args: &[&str]) -> (i32, Value) {
    let out = Command::new(BIN).args(args).output().expect("running banso");
    let text = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// Writes the generated document corpus (`banso bench corpus`) into `dir`: page images with ground-truth JSON.
pub fn corpus(dir: &Path, kinds: &str, per_type: u32, seed: u64) {
    let out = Command::new(BIN)
        .args(["bench", "corpus", "--kinds", kinds])
        .args(["--per-type", &per_type.to_string(), "--seed", &seed.to_string()])
        .arg(dir)
        .output()
        .expect("running banso bench corpus");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

pub fn unique() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// A synthetic scan made by `banso bench sample-page`.
pub fn sample_page(format: &str, dpi: u16, seed: u64) -> Vec<u8> {
    let dir = tempfile::TempDir::new().unwrap();
    let out = dir.path().join("page");
    let status = Command::new(BIN)
        .args([
            "bench",
            "sample-page",
            "--format",
            format,
            "--dpi",
            &dpi.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup.sh installs it)"));
    out
}

/// pyHanko's verdict: (exit ok, printed status line).
pub fn pyhanko_validate(dir: &Path, root_pem: &str, pdf: &[u8]) -> (bool, String) {
    let root = dir.join("pyhanko-root.pem");
    let file = dir.join(format!("pyhanko-{}.pdf", unique()));
    std::fs::write(&root, root_pem).unwrap();
    std::fs::write(&file, pdf).unwrap();
    let out = run(Command::new("pyhanko")
        .args(["sign", "validate", "--trust-replace", "--trust"])
        .arg(&root)
        .arg(&file));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// pyHanko's status line for a valid, trusted, untouched PAdES B-T signature: the signature and its
/// signature timestamp both intact and trusted.
pub fn pyhanko_accepts_bt(out: &str) -> bool {
    out.lines().any(|l| {
        l.contains(":INTACT:TRUSTED,")
            && l.contains("TIMESTAMP_TOKEN<INTACT:TRUSTED>")
            && l.trim_end().ends_with(",UNTOUCHED")
    })
}

/// poppler's pdfsig report with the root in a fresh NSS database (pdfsig exits 0 even on failure).
pub fn pdfsig(dir: &Path, root_pem: &str, pdf: &[u8]) -> String {
    let nss = dir.join(format!("nss-{}", unique()));
    std::fs::create_dir_all(&nss).unwrap();
    let db = format!("sql:{}", nss.display());
    let root = nss.join("root.pem");
    std::fs::write(&root, root_pem).unwrap();
    assert!(
        run(Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]))
            .status
            .success()
    );
    assert!(run(Command::new("certutil")
        .args(["-A", "-d", &db, "-n", "banso-root", "-t", "CT,C,C", "-i"])
        .arg(&root))
    .status
    .success());
    let file = nss.join("copy.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = run(Command::new("pdfsig").args(["-nssdir", &db]).arg(&file));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn qpdf_check(dir: &Path, pdf: &[u8]) -> (bool, String) {
    let file = dir.join(format!("qpdf-{}.pdf", unique()));
    std::fs::write(&file, pdf).unwrap();
    let out = run(Command::new("qpdf").arg("--check").arg(&file));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

pub fn pdftotext(dir: &Path, pdf: &[u8]) -> String {
    let file = dir.join(format!("text-{}.pdf", unique()));
    std::fs::write(&file, pdf).unwrap();
    let out = run(Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-"));
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Renders `page` (1-based) at 150 dpi and reads its QR codes with zbarimg.
pub fn qr_codes(dir: &Path, pdf: &[u8], page: usize) -> Vec<String> {
    qr_codes_at(dir, pdf, page, 150)
}

/// The QR codes zbarimg reads on page `page` of `pdf` rendered at `dpi`.
pub fn qr_codes_at(dir: &Path, pdf: &[u8], page: usize, dpi: u32) -> Vec<String> {
    let id = unique();
    let file = dir.join(format!("qr-{id}.pdf"));
    std::fs::write(&file, pdf).unwrap();
    let prefix = dir.join(format!("qr-{id}"));
    let p = page.to_string();
    let out = run(Command::new("pdftoppm")
        .args(["-r", &dpi.to_string(), "-png", "-singlefile", "-f", &p, "-l", &p])
        .arg(&file)
        .arg(&prefix));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = prefix.with_extension("png");
    let out = run(Command::new("zbarimg").args(["--raw", "-q"]).arg(&png));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

pub fn page_count(dir: &Path, pdf: &[u8]) -> usize {
    let file = dir.join(format!("info-{}.pdf", unique()));
    std::fs::write(&file, pdf).unwrap();
    let out = run(Command::new("pdfinfo").arg(&file));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap()))
        .unwrap()
}

/// Files under a folder, recursively (to prove that nothing was left behind).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// A port that was free a moment ago (for components whose URL must be known before they start).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// pyHanko's AdES validation (`sign adesverify`) of every signature, trusting `root_pem` only.
pub fn pyhanko_adesverify(dir: &Path, root_pem: &str, pdf: &[u8]) -> (bool, String) {
    let root = dir.join("ades-root.pem");
    let file = dir.join(format!("ades-{}.pdf", unique()));
    std::fs::write(&root, root_pem).unwrap();
    std::fs::write(&file, pdf).unwrap();
    let out = run(Command::new("pyhanko")
        .args([
            "sign",
            "adesverify",
            "--executive-summary",
            "--trust-replace",
            "--trust",
        ])
        .arg(&root)
        .arg(&file));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An SMTP server that keeps what it receives (aiosmtpd's Maildir handler), on a free port.
pub struct Smtp(pub std::process::Child, pub u16);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn smtp(maildir: &std::path::Path) -> Smtp {
    let port = free_port();
    let relay = Smtp(
        std::process::Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .spawn()
            .expect("python3 -m aiosmtpd"),
        port,
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return relay;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("aiosmtpd did not listen");
}

pub fn mails(maildir: &std::path::Path) -> usize {
    std::fs::read_dir(maildir.join("new")).map_or(0, |d| d.count())
}

/// The VNPAY gateway simulator (scripts/vnpay-sim.py: a separate process speaking the gateway's protocol) on
/// a free port, notifying `ipn_url`; stopped when dropped.
pub struct Gateway {
    child: Child,
    pub port: u16,
}

pub const GATEWAY_TMN_CODE: &str = "BANSO001";
pub const GATEWAY_SECRET: &str = "SIMULATED-MERCHANT-SECRET-0123456789";

impl Gateway {
    pub fn start(ipn_url: &str) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/vnpay-sim.py");
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--tmn-code", GATEWAY_TMN_CODE, "--secret", GATEWAY_SECRET])
            .args(["--ipn-url", ipn_url])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 scripts/vnpay-sim.py");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        match lines.next() {
            Some(Ok(l)) if l.starts_with("listening on") => {}
            other => panic!("the gateway simulator did not start: {other:?}"),
        }
        Gateway { child, port }
    }

    /// What the service needs to use it (the secret written under `dir`).
    pub fn configure(&self, backend: Backend, dir: &Path) -> Backend {
        let secret = dir.join("vnpay.secret");
        std::fs::write(&secret, GATEWAY_SECRET).unwrap();
        backend
            .with_env(
                "BANSO_VNPAY_URL",
                &format!("http://127.0.0.1:{}/paymentv2/vpcpay.html", self.port),
            )
            .with_env("BANSO_VNPAY_TMN_CODE", GATEWAY_TMN_CODE)
            .with_env("BANSO_VNPAY_SECRET_FILE", secret.to_str().unwrap())
    }

    /// The citizen opens the signed payment address and pays (`success`) or not (`cancel`): the gateway
    /// notifies the service before it answers.
    pub fn pay(&self, pay_url: &str, result: &str) {
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = http.get(pay_url).send().unwrap();
        assert_eq!(page.status().as_u16(), 200, "{}", page.text().unwrap_or_default());
        let reference = pay_url
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("vnp_TxnRef="))
            .expect("the payment address names its reference");
        let paid = http
            .post(format!("http://127.0.0.1:{}/sim/pay", self.port))
            .form(&[("vnp_TxnRef", reference), ("result", result)])
            .send()
            .unwrap();
        assert_eq!(paid.status().as_u16(), 302, "{}", paid.text().unwrap_or_default());
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A network link between a kiosk and the central service that a test can pull out and plug back: a TCP relay
/// on a loopback port. Pulled, it cuts every open connection and refuses new ones (accepted and closed at once,
/// as a dead route answers), so the kiosk process cannot reach the service at all.
pub struct Link {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Link {
    /// A link to `127.0.0.1:{to}`, plugged in.
    pub fn to(to: u16) -> Link {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !up2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                {
                    let mut open = open2.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                for (mut from, mut into) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut into);
                        let _ = into.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        Link { port, up, open }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Pulls the cable: open connections are cut, new ones refused.
    pub fn pull(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn plug(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The mails the relay kept in `maildir`: (recipient, subject, the first PDF attached).
pub fn mailed(maildir: &std::path::Path) -> Vec<(String, String, Vec<u8>)> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import mailbox, sys, base64, json\n\
             out = []\n\
             for m in mailbox.Maildir(sys.argv[1], create=False):\n\
             \x20   pdfs = [p.get_payload(decode=True) for p in m.walk() if p.get_content_type() == 'application/pdf']\n\
             \x20   out.append([m['To'], str(m['Subject']), base64.b64encode(pdfs[0]).decode() if pdfs else ''])\n\
             print(json.dumps(out))",
        ])
        .arg(maildir)
        .output()
        .unwrap();
    let list: Vec<(String, String, String)> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    list.into_iter()
        .map(|(to, subject, pdf)| {
            use base64::Engine;
            (
                to,
                subject,
                base64::engine::general_purpose::STANDARD.decode(pdf).unwrap(),
            )
        })
        .collect()
}

/// OpenSSL's `ts -reply` behind scripts/openssl_tsa.py on loopback; stopped when dropped.
pub struct OpensslTsa(std::process::Child);

impl OpensslTsa {
    pub fn start(port: u16, cert: &Path, key: &Path, chain: &Path, log: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/openssl_tsa.py");
        let child = std::process::Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .args([cert, key, chain, log])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self(child)
    }
}

impl Drop for OpensslTsa {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `POST /api/v1/copies` to the node at `base` (a copy of a birth certificate for one holder), with an
/// idempotency key if given: (status, body), or the connection's error.
pub fn issue_at(
    http: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    key: Option<&str>,
    page: &[u8],
) -> reqwest::Result<(u16, Value)> {
    let form = reqwest::blocking::multipart::Form::new()
        .text("holder_id", "001099012345")
        .text("holder_name", "Phạm Văn Đức")
        .text("document_type", "Giấy khai sinh")
        .part(
            "page",
            reqwest::blocking::multipart::Part::bytes(page.to_vec()).file_name("page.png"),
        );
    let mut r = http.post(format!("{base}/api/v1/copies")).bearer_auth(token);
    if let Some(key) = key {
        r = r.header("Idempotency-Key", key);
    }
    let r = r.multipart(form).send()?;
    let status = r.status().as_u16();
    Ok((status, r.json().unwrap_or(Value::Null)))
}

/// The path and query of a URL the service gave (its public address may be a balancer's, not a node's).
pub fn path_of(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    format!("/{}", rest.split_once('/').unwrap().1)
}
