//! Dependencies that fail, on purpose (issue 16), while two clients issue without pause: timestamp
//! authorities configured in order behind circuit breakers — the first dead, the second OpenSSL's TSA; then
//! both down (a clean 503 with `Retry-After` and a stable code, nothing written, readiness told apart from
//! liveness); then the TSA back, and issuance goes on without restarting banso. And the database and the
//! object store cut off and back.

mod common;

use common::*;
use serde_json::Value;

const FIELDS: [(&str, &str); 3] = [
    ("holder_id", "001099012345"),
    ("holder_name", "Đỗ Thị Hằng"),
    ("document_type", "Giấy khai sinh"),
];

/// A request for a copy: status, `Retry-After` (if any) and the body. The form is sent whole with its length,
/// as a kiosk sends it (a streamed body would race the early answer inside the test's blocking client).
fn issue(server: &Server, token: &str, page: &[u8]) -> (u16, Option<u32>, Value) {
    const BOUNDARY: &str = "banso-fault-test-boundary";
    let mut body = Vec::new();
    for (k, v) in FIELDS {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"page\"; filename=\"page.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(page);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let r = server
        .http
        .post(server.url("/api/v1/copies"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .unwrap_or_else(|e| panic!("{e:?}\n{}", server.log()));
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, retry, r.json().unwrap_or(Value::Null))
}

fn get_json(server: &Server, path: &str) -> (u16, Option<u32>, Value) {
    let r = server.get(path);
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (status, retry, r.json().unwrap_or(Value::Null))
}

/// The copies stored in the local object store.
fn stored_copies(backend: &Backend) -> usize {
    std::fs::read_dir(backend.data_dir.join("objects/copies"))
        .map(|d| d.flatten().count())
        .unwrap_or(0)
}

/// Two clients issuing without pause until [`Load::finish`]: every answer must be a copy (201) or a clean 503
/// with the expected code; anything else (another status, a cut connection) fails the test.
struct Load {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    code: &'static str,
    loaders: Vec<std::thread::JoinHandle<Answers>>,
}

/// What one client was answered: copies, refusals with the expected code, and anything else.
type Answers = (Vec<Value>, usize, Vec<String>);

impl Load {
    fn start(server: &Server, token: &str, page: &[u8], code: &'static str) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let loaders = (0..2)
            .map(|_| {
                let (stop, base, token, page) = (
                    stop.clone(),
                    server.base.clone(),
                    token.to_string(),
                    page.to_vec(),
                );
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::builder()
                        .timeout(std::time::Duration::from_secs(60))
                        .build()
                        .unwrap();
                    let (mut copies, mut refused, mut other) = (Vec::new(), 0, Vec::new());
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        match issue_at(&http, &base, &token, None, &page) {
                            Ok((201, body)) => copies.push(body),
                            Ok((503, body)) if body["error"]["code"] == code => {
                                refused += 1;
                                std::thread::sleep(std::time::Duration::from_millis(100));
                            }
                            answer => other.push(format!("{answer:?}")),
                        }
                    }
                    (copies, refused, other)
                })
            })
            .collect();
        Self { stop, code, loaders }
    }

    /// Stops the clients: the copies they were given and how many refusals they met (at least one).
    fn finish(self) -> (Vec<Value>, usize) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let (mut all, mut refusals) = (Vec::new(), 0);
        for loader in self.loaders {
            let (copies, refused, other) = loader.join().unwrap();
            assert!(
                other.is_empty(),
                "answers that were neither a copy nor {}: {other:?}",
                self.code
            );
            all.extend(copies);
            refusals += refused;
        }
        assert!(refusals > 0, "the clients under load met the fault");
        (all, refusals)
    }
}

#[test]
fn timestamp_authorities_fail_over_and_all_down_is_a_clean_503_until_one_returns() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let backend = Backend::local(dir);
    let out = backend.cli(&["pki", "init", "--base-url", &base]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = backend.root_pem();
    let pki = backend.data_dir.join("pki");
    let chain = dir.join("tsa-chain.pem");
    std::fs::write(
        &chain,
        std::fs::read_to_string(pki.join("issuing.pem")).unwrap() + &root,
    )
    .unwrap();
    let (dead, tsa_port) = (free_port(), free_port());
    let log = dir.join("tsa.log");
    let start_tsa = || OpensslTsa::start(tsa_port, &pki.join("tsa.pem"), &pki.join("tsa.key"), &chain, &log);
    let tsa = start_tsa();
    let backend = backend
        .with_env(
            "BANSO_TSA_URL",
            &format!("http://127.0.0.1:{dead}/,http://127.0.0.1:{tsa_port}/"),
        )
        .with_env("BANSO_TSA_COOLDOWN_SECS", "3");
    let server = backend.serve_at(&format!("127.0.0.1:{port}"));
    let token = backend.token("officer");
    let page = sample_page("png", 100, 5);

    // The first authority is dead: the second stamps the copy, which pyHanko accepts with its timestamp.
    let (status, _, issued) = issue(&server, &token, &page);
    assert_eq!(status, 201, "{issued}\n{}", server.log());
    assert!(std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("stamped"));
    let pdf = server.fetch_pdf(&issued);
    let (ok, out) = pyhanko_validate(dir, &root, &pdf);
    assert!(ok && pyhanko_accepts_bt(&out), "pyHanko: {out}");
    let (s, _, ready) = get_json(&server, "/readyz");
    assert_eq!(s, 200, "{ready}");
    let authorities = ready["checks"]["timestamps"]["authorities"].as_array().unwrap();
    assert_eq!(authorities.len(), 2, "{ready}");
    assert!(
        authorities[0]["state"]
            .as_str()
            .unwrap()
            .starts_with("closed (1 failures)"),
        "{ready}"
    );
    for dependency in ["database", "objects", "seal"] {
        assert_eq!(ready["checks"][dependency]["ok"], true, "{dependency}: {ready}");
    }

    // Both down: a clean 503 with a stable code and when to retry, every time; nothing issued, nothing stored.
    drop(tsa);
    let load = Load::start(&server, &token, &page, "SYS-0004");
    for attempt in 0..4 {
        let (status, retry, e) = issue(&server, &token, &page);
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (503, Some("SYS-0004")),
            "attempt {attempt}: {e}"
        );
        assert!(
            retry.is_some_and(|r| (1..=6).contains(&r)),
            "attempt {attempt}: {retry:?}"
        );
    }
    assert_eq!(stored_copies(&backend), 1, "no copy of a failed issuance is kept");
    // Every breaker open: not ready (503, Retry-After), though alive.
    let (s, retry, ready) = get_json(&server, "/readyz");
    assert_eq!((s, ready["ready"].as_bool()), (503, Some(false)), "{ready}");
    assert!(retry.is_some(), "{ready}");
    assert_eq!(ready["checks"]["timestamps"]["ok"], false, "{ready}");
    assert_eq!(
        ready["checks"]["database"]["ok"], true,
        "the other dependencies are fine: {ready}"
    );
    let (s, _, live) = get_json(&server, "/healthz");
    assert_eq!((s, live["live"].as_bool()), (200, Some(true)), "{live}");
    // Open breakers answer at once, without waiting on the authorities.
    let t = std::time::Instant::now();
    let (status, _, _) = issue(&server, &token, &page);
    assert_eq!(status, 503);
    let quick = t.elapsed();

    // The authority returns: once its breaker half-opens, issuance goes on — the same process, no restart.
    // (The clients under load made the breaker probe a dead authority again and again, and each failed probe
    // doubles the cool-down: wait for it, within a bound.)
    let _tsa = start_tsa();
    let back = std::time::Instant::now();
    let issued = loop {
        let (status, _, answer) = issue(&server, &token, &page);
        if status == 201 {
            break answer;
        }
        assert_eq!(answer["error"]["code"], "SYS-0004", "{answer}");
        assert!(
            back.elapsed().as_secs() < 60,
            "not back after a minute: {}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    println!("issuance back {:?} after the authority", back.elapsed());
    let (ok, out) = pyhanko_validate(dir, &root, &server.fetch_pdf(&issued));
    assert!(ok && pyhanko_accepts_bt(&out), "pyHanko: {out}");
    let (loaded, refused_under_load) = load.finish();
    assert_eq!(stored_copies(&backend), 2 + loaded.len());
    for copy in loaded.iter().take(3) {
        let (s, v) = server.verify_pdf(&server.fetch_pdf(copy));
        assert_eq!((s, v["valid"].as_bool()), (200, Some(true)), "{v}");
    }
    println!(
        "under load: {} copies, {refused_under_load} refusals",
        loaded.len()
    );
    // Every number the book gave was used or voided: none pending, none skipped.
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             print(' '.join(f'{n}:{s}' for n, s in c.execute('SELECT sequence, status FROM book_lines ORDER BY sequence')))",
        ])
        .arg(backend.data_dir.join("banso.db"))
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let lines: Vec<&str> = lines.split(' ').collect();
    assert_eq!(lines.first(), Some(&"1:used"), "{lines:?}");
    assert_eq!(
        lines.last(),
        Some(&format!("{}:used", lines.len()).as_str()),
        "{lines:?}"
    );
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("{}:", i + 1)), "gapless: {lines:?}");
        assert!(line.ends_with(":used") || line.ends_with(":voided"), "{lines:?}");
    }
    let (s, _, ready) = get_json(&server, "/readyz");
    assert_eq!(s, 200, "{ready}");
    println!("an issuance with every breaker open answered in {quick:?}");
}

/// The port of `url` (`scheme://host:PORT/…`).
fn port_of(url: &str) -> u16 {
    let rest = url.split("://").nth(1).unwrap();
    let authority = rest.split(['/', '?']).next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    host_port.rsplit(':').next().unwrap().parse().unwrap()
}

/// PostgreSQL and the object store cut off while requests come — two clients issuing without pause besides the
/// requests the test makes (each dependency behind a relay the test pulls: open connections cut, new ones
/// refused, which is how a restart or a lost route looks from banso). Every request fails cleanly: 503,
/// SYS-0001, `Retry-After`, the driver's words kept out of the answer, nothing half-written.
/// Once each comes back, the next requests succeed on the same process; readiness says which dependency was
/// down while liveness stays up; every number the book gave is used or voided, and every copy answered opens.
#[test]
fn postgres_and_the_object_store_cut_off_fail_cleanly_and_recover_without_a_restart() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let mut backend = Backend::postgres_s3(dir);
    let mut relay = |name: &str| {
        let (_, url) = backend.env.iter().find(|(k, _)| k == name).unwrap().clone();
        let port = port_of(&url);
        let link = Link::to(port);
        let through = url.replacen(&format!(":{port}"), &format!(":{}", link.port), 1);
        backend.env.push((name.to_string(), through));
        link
    };
    let (db, objects) = (relay("BANSO_DATABASE_URL"), relay("BANSO_S3_ENDPOINT"));
    let server = backend.serve();
    let token = backend.token("officer");
    let page = sample_page("png", 100, 8);
    let mut issued = Vec::new();
    let (status, _, first) = issue(&server, &token, &page);
    assert_eq!(status, 201, "{first}\n{}", server.log());
    issued.push(first);
    // Meanwhile two clients issue without pause, through every cut and return: each answer is a copy or a
    // clean SYS-0001 (503), never anything else.
    let load = Load::start(&server, &token, &page, "SYS-0001");

    for (name, link) in [("database", &db), ("objects", &objects)] {
        link.pull();
        for attempt in 0..3 {
            let (status, retry, e) = issue(&server, &token, &page);
            assert_eq!(
                (status, e["error"]["code"].as_str()),
                (503, Some("SYS-0001")),
                "{name} cut off, attempt {attempt}: {e}"
            );
            assert!(retry.is_some(), "{e}");
            let said = e["error"]["message"].as_str().unwrap();
            assert!(
                !said.contains("127.0.0.1") && !said.contains("postgres"),
                "{said}"
            );
        }
        // Looking a copy up needs the database; reading one needs both.
        let code = issued[0]["copies"][0]["code"].as_str().unwrap();
        let (s, _, _) = get_json(&server, &format!("/api/v1/copies/{code}"));
        assert!(s == 503 || (name == "objects" && s == 200), "{name}: lookup {s}");
        // (A report is reused for two seconds: the next one says it.)
        let start = std::time::Instant::now();
        let (s, retry, ready) = loop {
            let answer = get_json(&server, "/readyz");
            if answer.0 == 503 || start.elapsed().as_secs() > 10 {
                break answer;
            }
            std::thread::sleep(std::time::Duration::from_millis(300));
        };
        assert_eq!(
            (s, ready["checks"][name]["ok"].as_bool()),
            (503, Some(false)),
            "{ready}"
        );
        assert!(retry.is_some());
        let (s, _, live) = get_json(&server, "/healthz");
        assert_eq!((s, live["live"].as_bool()), (200, Some(true)), "{live}");

        // Back: the same process serves again.
        link.plug();
        let start = std::time::Instant::now();
        loop {
            let (s, _, ready) = get_json(&server, "/readyz");
            if s == 200 {
                break;
            }
            assert!(
                start.elapsed().as_secs() < 60,
                "{name} back but not ready: {ready}"
            );
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let (status, _, again) = issue(&server, &token, &page);
        assert_eq!(status, 201, "{name} back: {again}\n{}", server.log());
        issued.push(again);
    }

    let (copies, refused_under_load) = load.finish();
    issued.extend(copies);
    println!(
        "{} copies issued, {refused_under_load} refusals under load",
        issued.len()
    );

    // Every copy answered opens and verifies; nothing of the failed requests is in the registry's book.
    for copy in &issued {
        let pdf = server.fetch_pdf(copy);
        let (s, v) = server.verify_pdf(&pdf);
        assert_eq!((s, v["valid"].as_bool()), (200, Some(true)), "{v}");
    }
    let (_, url) = backend
        .env
        .iter()
        .find(|(k, _)| k == "BANSO_DATABASE_URL")
        .unwrap()
        .clone();
    let database = url.split('?').next().unwrap().rsplit('/').next().unwrap();
    let out = std::process::Command::new("psql")
        .arg(format!(
            "{}/{database}",
            std::env::var("BANSO_TEST_PG_URL").unwrap()
        ))
        .args([
            "-At",
            "-c",
            "SELECT sequence || ':' || status FROM book_lines ORDER BY sequence",
        ])
        .output()
        .unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        lines.iter().filter(|l| l.ends_with(":used")).count(),
        issued.len(),
        "{lines:?}"
    );
    for (i, line) in lines.iter().enumerate() {
        assert!(line.starts_with(&format!("{}:", i + 1)), "gapless: {lines:?}");
        assert!(
            line.ends_with(":used") || line.ends_with(":voided"),
            "no number left pending: {lines:?}"
        );
    }
}
