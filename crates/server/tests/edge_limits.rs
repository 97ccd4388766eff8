//! The HTTP edge attacked as an anonymous client would, on the real server: bodies sent without a token,
//! stalled and trickled uploads, silent and idle connections, more connections than allowed, crafted files
//! that would cost seconds of CPU, decompression bombs, made-up methods, answers' headers, and clients that
//! look codes up, upload files to verify or ask for timestamps faster than their rate, directly or through a
//! trusted proxy.

mod common;

use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `head` (request line and headers, without the blank line) and returns the stream.
fn send_head(server: &Server, head: &str) -> TcpStream {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(format!("{head}\r\n\r\n").as_bytes()).unwrap();
    s
}

/// Reads one HTTP answer (status and JSON body) within `within`; panics when none comes.
fn read_answer(s: &mut TcpStream, within: Duration) -> (u16, String, Value) {
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = find(&buf, b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            Err(e) => panic!(
                "no answer within {within:?}: {e}; got {:?}",
                String::from_utf8_lossy(&buf)
            ),
        }
    }
    let end =
        find(&buf, b"\r\n\r\n").unwrap_or_else(|| panic!("no answer: {:?}", String::from_utf8_lossy(&buf)));
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = serde_json::from_slice(&buf[end + 4..]).unwrap_or(Value::Null);
    (status, head, body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Waits until the server closes `s` (a read returns end of file or a reset); returns how long it took.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut chunk = [0u8; 4096];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => return started.elapsed(),
            Ok(_) => continue, // an error answer before closing is fine
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => return started.elapsed(),
            Err(e) => panic!("the connection was still open after {limit:?}: {e}"),
        }
    }
}

#[test]
fn bodies_are_not_read_before_the_token_and_anonymous_bodies_share_a_budget() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_MAX_UPLOAD_BYTES", "1000000")
        .with_env("BANSO_MAX_VERIFY_BYTES", "2000000")
        .with_env("BANSO_ANONYMOUS_BODY_BUDGET", "3000000");
    let kiosk = backend.token("kiosk");
    let server = backend.serve();

    // No token: the 401 comes back while the 40 MB body has not been sent at all.
    let mut s = send_head(
        &server,
        "POST /api/v1/copies HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 41943039",
    );
    let (status, _, body) = read_answer(&mut s, Duration::from_secs(5));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("AUTH-0001")),
        "{body}"
    );
    // A wrong token: the same, before any body.
    let mut s = send_head(
        &server,
        "POST /api/v1/copies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bnso_wrong\r\nContent-Type: application/json\r\nContent-Length: 41943039",
    );
    let (status, _, body) = read_answer(&mut s, Duration::from_secs(5));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("AUTH-0002")),
        "{body}"
    );
    // A real token but more than the upload limit: 413 before the body.
    let mut s = send_head(
        &server,
        &format!("POST /api/v1/copies HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {kiosk}\r\nContent-Type: application/json\r\nContent-Length: 2000000"),
    );
    let (status, _, body) = read_answer(&mut s, Duration::from_secs(5));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("ISS-0004")),
        "{body}"
    );
    // The TSA takes kilobytes, not megabytes.
    let mut s = send_head(
        &server,
        "POST /api/v1/tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: 1000000",
    );
    let (status, _, _) = read_answer(&mut s, Duration::from_secs(5));
    assert_eq!(status, 413);

    // Anonymous verification: a stalled 2 MB upload holds 2 MB of the 3 MB budget; the next 2 MB upload is
    // told to come back later, at once; a 0.5 MB one still fits.
    let mut stalled = send_head(
        &server,
        "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 2000000",
    );
    stalled.write_all(&[b'%'; 1000]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let mut s = send_head(
        &server,
        "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 2000000",
    );
    let (status, head, body) = read_answer(&mut s, Duration::from_secs(5));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("REQ-0003")),
        "{body}"
    );
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    let small = vec![b'x'; 500_000];
    let r = server
        .http
        .post(server.url("/api/v1/verify"))
        .body(small)
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        422,
        "a small upload still fits beside the stalled one"
    );
    drop(stalled);
    std::thread::sleep(Duration::from_millis(300));
    let r = server
        .http
        .post(server.url("/api/v1/verify"))
        .body(vec![b'x'; 1_900_000])
        .send()
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        422,
        "the stalled upload's share came back when it left"
    );
}

#[test]
fn twenty_stalled_anonymous_uploads_hold_little_memory() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    let before = server.rss_bytes();
    let mut clients = Vec::new();
    for i in 0..20 {
        // Half to the issuance endpoint without a token, half to the anonymous verifier; each announces
        // 30 MB and pushes as much as the server will take, then stalls.
        let path = if i % 2 == 0 {
            "/api/v1/copies"
        } else {
            "/api/v1/verify"
        };
        let mut s = send_head(
            &server,
            &format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 31457280"),
        );
        clients.push(std::thread::spawn(move || {
            s.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
            let chunk = vec![b'%'; 1 << 20];
            for _ in 0..29 {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
            std::thread::sleep(Duration::from_secs(4));
        }));
    }
    std::thread::sleep(Duration::from_secs(3));
    let during = server.rss_bytes();
    for c in clients {
        c.join().unwrap();
    }
    assert!(
        during < 200 << 20,
        "resident memory under 20 stalled uploads: {} MB (before: {} MB)",
        during >> 20,
        before >> 20
    );
    assert_eq!(server.get("/healthz").status().as_u16(), 200);
}

#[test]
fn silent_half_sent_idle_and_trickling_connections_are_closed() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_HEADER_TIMEOUT_SECS", "1")
        .with_env("BANSO_BODY_TIMEOUT_SECS", "2");
    let server = backend.serve();
    let limit = Duration::from_secs(5);

    let opened = Instant::now();
    let mut silent = TcpStream::connect(server.addr()).unwrap();
    let mut half = TcpStream::connect(server.addr()).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow:")
        .unwrap();
    let mut idle = send_head(&server, "GET /healthz HTTP/1.1\r\nHost: x");
    let (status, _, _) = read_answer(&mut idle, limit);
    assert_eq!(status, 200);
    for (what, s) in [
        ("silent", &mut silent),
        ("half-sent headers", &mut half),
        ("idle keep-alive", &mut idle),
    ] {
        closed_within(s, limit);
        let open_for = opened.elapsed();
        assert!(
            open_for >= Duration::from_millis(900),
            "{what}: closed before its timeout ({open_for:?})"
        );
    }

    // A body trickled at 1 KB/s is cut off with its own code.
    let mut trickle = send_head(
        &server,
        "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: 100000",
    );
    let writer = {
        let mut w = trickle.try_clone().unwrap();
        std::thread::spawn(move || {
            for _ in 0..8 {
                if w.write_all(&[b'%'; 1024]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let (status, _, body) = read_answer(&mut trickle, limit);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (408, Some("REQ-0004")),
        "{body}"
    );
    closed_within(&mut trickle, limit);
    writer.join().unwrap();
}

#[test]
fn connections_beyond_the_limit_are_closed_at_once() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_MAX_CONNECTIONS", "20")
        .with_env("BANSO_HEADER_TIMEOUT_SECS", "30");
    let server = backend.serve();
    let held: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = TcpStream::connect(server.addr()).unwrap();
    let took = closed_within(&mut extra, Duration::from_secs(10));
    assert!(took < Duration::from_secs(10));
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        server.get("/healthz").status().as_u16(),
        200,
        "room again once they left"
    );
    let metrics = server.get("/metrics").text().unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("banso_http_connections_refused_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

// ---- crafted files -------------------------------------------------------------------------------------

/// A crafted file made from `genuine` by `banso bench crafted-pdf` (the same generator the edge benchmark
/// attacks with): `dicts` signature dictionaries sharing one `/Contents` whose CMS carries `decoys` extra
/// certificates named like the genuine signature's.
fn crafted(backend: &Backend, genuine: &[u8], dicts: usize, decoys: usize) -> Vec<u8> {
    let dir = backend.data_dir.parent().unwrap().to_path_buf();
    let src = dir.join("genuine.pdf");
    let out = dir.join(format!("crafted-{dicts}-{decoys}.pdf"));
    std::fs::write(&src, genuine).unwrap();
    let r = backend.cli(&[
        "bench",
        "crafted-pdf",
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        "--dicts",
        &dicts.to_string(),
        "--decoys",
        &decoys.to_string(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    std::fs::read(out).unwrap()
}

#[test]
fn crafted_files_are_refused_before_they_cost_seconds() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    let token = backend.token("officer");
    let (_, genuine) = server.issue_and_fetch(&token, &[sample_page("jpeg", 100, 3)]);

    // 2,000 decoy certificates named like the issuing CA in one signature.
    let decoyed = crafted(&backend, &genuine, 1, 2000);
    let (status, r) = server.verify_pdf(&decoyed);
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (422, Some("VER-0006")),
        "{r}"
    );
    assert!(
        r["error"]["message"].as_str().unwrap().contains("certificates"),
        "{r}"
    );

    // 64 signature dictionaries sharing one /Contents (1.7 MB of CMS with 2,000 decoys when combined).
    let many = crafted(&backend, &genuine, 64, 30);
    let (status, r) = server.verify_pdf(&many);
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (422, Some("VER-0006")),
        "{r}"
    );
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("signature dictionaries"),
        "{r}"
    );

    // Two sharing one value are refused too, however few.
    let two = crafted(&backend, &genuine, 2, 0);
    let (status, r) = server.verify_pdf(&two);
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (422, Some("VER-0006")),
        "{r}"
    );

    // Within every bound (a few decoys), the file is judged, not refused.
    let (status, r) = server.verify_pdf(&crafted(&backend, &genuine, 1, 20));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["valid"], false, "{r}");
    // And the genuine copy still verifies.
    let (_, r) = server.verify_pdf(&genuine);
    assert_eq!(r["valid"], true, "{r}");
}

// ---- decompression bombs -------------------------------------------------------------------------------

/// A grey PNG of `w`×`h` zero pixels: a few hundred KB that decode to `w`×`h` bytes.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        let mut writer = enc.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; w as usize];
        for _ in 0..h {
            stream.write_all(&row).unwrap();
        }
        stream.finish().unwrap();
    }
    out
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header_with_or_without_the_intake() {
    let bomb = png_bomb(12_000, 12_000);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    for intake in ["off", "on"] {
        let tmp = tempfile::TempDir::new().unwrap();
        let backend = Backend::local(tmp.path()).with_env("BANSO_INTAKE", intake);
        let token = backend.token("officer");
        let server = backend.serve();
        let (status, body) = server.issue(
            &token,
            &[
                ("holder_id", "079203001234"),
                ("holder_name", "Lê Thị Mai"),
                ("document_type", "Học bạ"),
            ],
            std::slice::from_ref(&bomb),
        );
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (413, Some("ISS-0004")),
            "intake {intake}: {body}"
        );
        assert!(
            body["error"]["message"].as_str().unwrap().contains("megapixels"),
            "{body}"
        );
        assert!(
            server.rss_bytes() < 300 << 20,
            "intake {intake}: the bomb was decoded ({} MB resident)",
            server.rss_bytes() >> 20
        );
    }
}

// ---- metrics and headers -------------------------------------------------------------------------------

#[test]
fn made_up_methods_do_not_grow_the_metrics() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    for i in 0..300 {
        let method = reqwest::Method::from_bytes(format!("M{i}X").as_bytes()).unwrap();
        let path = if i % 2 == 0 { "/healthz" } else { "/no/such/place" };
        let r = server.http.request(method, server.url(path)).send().unwrap();
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    let metrics = server.get("/metrics").text().unwrap();
    let series: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("banso_http_requests_total{"))
        .collect();
    assert!(series.len() <= 10, "{} series: {series:#?}", series.len());
    assert!(
        series.iter().any(|l| l.contains("method=\"other\"")),
        "{series:#?}"
    );
    assert!(!metrics.contains("M17X"), "a made-up method is never a label");
}

#[test]
fn answers_say_nosniff_and_the_pdf_leaks_no_referrer() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    let token = backend.token("officer");
    let (issued, _) = server.issue_and_fetch(&token, &[sample_page("jpeg", 100, 5)]);
    for path in ["/healthz", "/no/such/place", "/api/openapi.json", "/"] {
        let r = server.get(path);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers()["referrer-policy"], "no-referrer", "{path}");
    }
    let pdf = server.http.get(issued["pdf"].as_str().unwrap()).send().unwrap();
    assert_eq!(pdf.status().as_u16(), 200);
    let h = pdf.headers();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}

/// A client (a loopback address of its own) sending `n` requests of one kind: the statuses, and the last
/// refusal's `Retry-After` and body.
fn hammer(
    from: &str,
    n: usize,
    send: impl Fn(&reqwest::blocking::Client) -> reqwest::blocking::Response,
) -> (Vec<u16>, Option<u32>, Value) {
    let http = reqwest::blocking::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let (mut statuses, mut retry, mut refusal) = (Vec::new(), None, Value::Null);
    for _ in 0..n {
        let r = send(&http);
        let status = r.status().as_u16();
        if status == 429 {
            retry = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            refusal = r.json().unwrap_or(Value::Null);
        }
        statuses.push(status);
    }
    (statuses, retry, refusal)
}

#[test]
fn look_ups_verifications_and_timestamps_are_limited_per_client() {
    let tmp = tempfile::TempDir::new().unwrap();
    // 60 look-ups a minute (a burst of 10), 12 verifications (a burst of 2), 30 timestamps (a burst of 5),
    // and a table of 8 clients per kind.
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_LOOKUPS_PER_MINUTE", "60")
        .with_env("BANSO_VERIFICATIONS_PER_MINUTE", "12")
        .with_env("BANSO_TIMESTAMPS_PER_MINUTE", "30")
        .with_env("BANSO_RATE_LIMITED_CLIENTS", "8");
    let server = backend.serve();
    let (issued, _) = server.issue_and_fetch(&backend.token("officer"), &[sample_page("png", 100, 3)]);
    let code = issued["code"].as_str().unwrap().to_string();
    let lookup = |http: &reqwest::blocking::Client| {
        http.get(server.url(&format!("/api/v1/copies/{code}")))
            .send()
            .unwrap()
    };

    // Look-ups: the burst, then 429 with a stable code and when to come back.
    let (statuses, retry, refusal) = hammer("127.0.0.2", 14, lookup);
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 4], "{statuses:?}");
    assert_eq!(refusal["error"]["code"], "REQ-0005", "{refusal}");
    assert!(retry.is_some_and(|r| (1..=2).contains(&r)), "{retry:?}");
    // Another client is not held back by the first.
    let (statuses, _, _) = hammer("127.0.0.3", 3, lookup);
    assert_eq!(statuses, [200; 3]);
    // After the wait, the first client is served again.
    std::thread::sleep(Duration::from_secs(u64::from(retry.unwrap())));
    let (statuses, _, _) = hammer("127.0.0.2", 1, lookup);
    assert_eq!(statuses, [200]);

    // Verification uploads: refused beyond the burst before the body is read — a 20 MB upload is answered at
    // once, without waiting for the bytes.
    let small = b"%PDF-1.7 not really".to_vec();
    let verify = |http: &reqwest::blocking::Client| {
        http.post(server.url("/api/v1/verify"))
            .header("content-type", "application/pdf")
            .body(small.clone())
            .send()
            .unwrap()
    };
    let (statuses, _, refusal) = hammer("127.0.0.4", 3, verify);
    assert!(statuses[..2].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[2], 429, "{statuses:?} {refusal}");
    // (127.0.0.1, whose bucket is emptied first, announces 20 MB and sends none of it.)
    let (statuses, _, _) = hammer("127.0.0.1", 3, verify);
    assert_eq!(statuses[2], 429, "{statuses:?}");
    let started = Instant::now();
    let mut s = send_head(
        &server,
        &format!(
            "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\nContent-Length: {}",
            20 << 20
        ),
    );
    let (status, _, body) = read_answer(&mut s, Duration::from_secs(5));
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("REQ-0005")),
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // Timestamps: the same, per client.
    let tsq = b"not a timestamp request".to_vec();
    let (statuses, _, refusal) = hammer("127.0.0.5", 7, |http| {
        http.post(server.url("/pki/tsa"))
            .header("content-type", "application/timestamp-query")
            .body(tsq.clone())
            .send()
            .unwrap()
    });
    assert!(statuses[..5].iter().all(|s| *s != 429), "{statuses:?}");
    assert_eq!(statuses[5..], [429; 2], "{statuses:?} {refusal}");

    // A flood from new addresses: the table holds 8 clients a kind; clients beyond it wait, the ones it holds
    // are still served.
    let mut refused = 0;
    for i in 10..40 {
        let (statuses, _, _) = hammer(&format!("127.0.1.{i}"), 1, lookup);
        refused += usize::from(statuses[0] == 429);
    }
    assert!(refused >= 30 - 8, "{refused} of 30 new clients refused");
    let (statuses, _, _) = hammer("127.0.0.3", 1, lookup);
    assert_eq!(statuses, [200], "a known client is still served");
}

/// `n` look-ups of `code` sent from the address `from`, the i-th carrying `header: forwarded(i)`; their statuses.
fn lookups_through(
    server: &Server,
    code: &str,
    from: &str,
    n: usize,
    header: &str,
    forwarded: &dyn Fn(usize) -> String,
) -> Vec<u16> {
    let sent = std::cell::Cell::new(0);
    hammer(from, n, |http| {
        let i = sent.replace(sent.get() + 1);
        http.get(server.url(&format!("/api/v1/copies/{code}")))
            .header(header, forwarded(i))
            .send()
            .unwrap()
    })
    .0
}

#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_limited_and_nobody_else_is_believed() {
    let tmp = tempfile::TempDir::new().unwrap();
    // 60 look-ups a minute (a burst of 10); two proxies: 127.0.0.9 and the range 127.0.2.0/24.
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_LOOKUPS_PER_MINUTE", "60")
        .with_env("BANSO_TRUSTED_PROXIES", "127.0.0.9, 127.0.2.0/24");
    let server = backend.serve();
    let (issued, _) = server.issue_and_fetch(&backend.token("officer"), &[sample_page("png", 100, 3)]);
    let code = issued["code"].as_str().unwrap().to_string();
    let lookups = |from: &str, n: usize, forwarded: &dyn Fn(usize) -> String| {
        lookups_through(&server, &code, from, n, "x-forwarded-for", forwarded)
    };

    // A client that is not a proxy names a new address in every request: not believed, limited as itself.
    let statuses = lookups("127.0.0.2", 14, &|i| format!("198.51.100.{i}"));
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10..], [429; 4], "{statuses:?}");

    // Through a proxy, each citizen has a bucket of their own, whichever proxy they come through.
    let statuses = lookups("127.0.0.9", 10, &|_| "203.0.113.7".to_string());
    assert_eq!(statuses, [200; 10]);
    let statuses = lookups("127.0.2.4", 1, &|_| "203.0.113.7".to_string());
    assert_eq!(statuses, [429], "the same citizen through the second proxy");
    // What the citizen wrote into the header ahead of the proxy's entry does not move them to a new bucket,
    // and a chain of the two proxies leads back to them.
    let statuses = lookups("127.0.0.9", 3, &|i| format!("192.0.2.{i}, 203.0.113.7"));
    assert_eq!(statuses, [429; 3], "a spoofed prefix is not believed");
    let statuses = lookups("127.0.0.9", 1, &|_| "203.0.113.7, 127.0.2.4".to_string());
    assert_eq!(statuses, [429], "through both proxies");
    // Another citizen behind the same proxy is served, and the proxy itself is not held back.
    let statuses = lookups("127.0.0.9", 3, &|_| "203.0.113.8".to_string());
    assert_eq!(statuses, [200; 3]);
}

#[test]
fn behind_a_proxy_that_writes_rfc_7239_only_its_forwarded_header_is_read() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_LOOKUPS_PER_MINUTE", "60")
        .with_env("BANSO_TRUSTED_PROXIES", "127.0.0.9")
        .with_env("BANSO_PROXY_HEADER", "forwarded");
    let server = backend.serve();
    let (issued, _) = server.issue_and_fetch(&backend.token("officer"), &[sample_page("png", 100, 3)]);
    let code = issued["code"].as_str().unwrap().to_string();
    let lookups = |n: usize, header: &str, forwarded: &dyn Fn(usize) -> String| {
        lookups_through(&server, &code, "127.0.0.9", n, header, forwarded)
    };

    // The citizen the proxy names in `for=` has a bucket of their own; what they wrote ahead of it is not read.
    let statuses = lookups(11, "forwarded", &|i| {
        format!("for=192.0.2.{i}, for=\"203.0.113.7:4711\";proto=https")
    });
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429, "{statuses:?}");
    let statuses = lookups(1, "forwarded", &|_| "for=\"[2001:db8::7]:443\"".to_string());
    assert_eq!(statuses, [200], "another citizen");
    // An X-Forwarded-For header is not read at all: whatever it names, the requests count as the proxy's own.
    let statuses = lookups(11, "x-forwarded-for", &|i| format!("198.51.100.{i}"));
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429, "{statuses:?}");
}
