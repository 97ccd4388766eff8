//! The HTTP edge attacked as an anonymous client would, on the real server: bodies sent without a token,
//! stalled and trickled uploads, silent and idle connections, more connections than allowed, crafted files
//! that would cost seconds of CPU, decompression bombs, made-up methods, and answers' headers.

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

/// (tag, header length, content length) of the DER element at the start of `b`.
fn tlv(b: &[u8]) -> (u8, usize, usize) {
    let tag = b[0];
    let first = b[1] as usize;
    if first < 0x80 {
        (tag, 2, first)
    } else {
        let n = first & 0x7f;
        let len = b[2..2 + n].iter().fold(0usize, |a, &x| (a << 8) | x as usize);
        (tag, 2 + n, len)
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The children of a constructed DER element's content.
fn children(mut b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (_, h, l) = tlv(b);
        out.push(&b[..h + l]);
        b = &b[h + l..];
    }
    out
}

/// The CMS of the first signature of `pdf` with `decoys` more certificates: copies of its own
/// certificates (the issuing CA's among them) whose signature bytes are altered, so each is "named like
/// the CA" and fails only when its signature is checked.
fn cms_with_decoys(pdf: &[u8], decoys: usize) -> Vec<u8> {
    let at = find(pdf, b"/Contents <").unwrap() + b"/Contents <".len();
    let end = at + pdf[at..].iter().position(|&b| b == b'>').unwrap();
    let raw = hex::decode(std::str::from_utf8(&pdf[at..end]).unwrap().trim()).unwrap();
    let (_, h, l) = tlv(&raw);
    let content_info = &raw[h..h + l];
    let ci = children(content_info);
    let (_, h0, l0) = tlv(ci[1]);
    let signed_data = &ci[1][h0..h0 + l0];
    let (_, hs, ls) = tlv(signed_data);
    let mut sd: Vec<Vec<u8>> = children(&signed_data[hs..hs + ls])
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let certs_at = sd.iter().position(|c| c[0] == 0xA0).unwrap();
    let (_, hc, lc) = tlv(&sd[certs_at]);
    let originals: Vec<Vec<u8>> = children(&sd[certs_at][hc..hc + lc])
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let mut all: Vec<u8> = originals.concat();
    for i in 0..decoys {
        let mut d = originals[i % originals.len()].clone();
        let k = i / originals.len();
        let pos = d.len() - 1 - (k % 20);
        d[pos] ^= (k / 20 + 1) as u8;
        all.extend(d);
    }
    sd[certs_at] = der(0xA0, &all);
    let signed = der(0x30, &sd.concat());
    der(0x30, &[ci[0].to_vec(), der(0xA0, &signed)].concat())
}

/// A PDF with `dicts` signature dictionaries (in one object) whose byte ranges all leave out the same
/// `/Contents` value `cms`.
fn crafted_pdf(cms: &[u8], dicts: usize) -> Vec<u8> {
    let hex = hex::encode(cms);
    let head = "%PDF-1.7\n1 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached ";
    let range = "/ByteRange [0 AAAAAAAAAA BBBBBBBBBB CCCCCCCCCC] ";
    let mut pdf = format!(
        "{head}{}/Contents <{hex}> >>\nendobj\ntrailer\n<< /Size 2 >>\nstartxref\n0\n%%EOF\n",
        range.repeat(dicts)
    );
    let gap_start = pdf.find("/Contents <").unwrap() + "/Contents ".len();
    let gap_end = gap_start + hex.len() + 2;
    let rest = pdf.len() - gap_end;
    pdf = pdf
        .replace("AAAAAAAAAA", &format!("{gap_start:010}"))
        .replace("BBBBBBBBBB", &format!("{gap_end:010}"))
        .replace("CCCCCCCCCC", &format!("{rest:010}"));
    pdf.into_bytes()
}

#[test]
fn crafted_files_are_refused_before_they_cost_seconds() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    let token = backend.token("officer");
    let (status, issued) = server.issue(
        &token,
        &[
            ("holder_id", "079203001234"),
            ("holder_name", "Lê Thị Mai"),
            ("document_type", "Học bạ"),
        ],
        &[sample_page("jpeg", 100, 3)],
    );
    assert_eq!(status, 201, "{issued}");
    let genuine = server
        .http
        .get(issued["pdf"].as_str().unwrap())
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();

    // 2,000 decoy certificates named like the issuing CA in one signature.
    let decoyed = crafted_pdf(&cms_with_decoys(&genuine, 2000), 1);
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
    let many = crafted_pdf(&cms_with_decoys(&genuine, 30), 64);
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
    let two = crafted_pdf(&cms_with_decoys(&genuine, 0), 2);
    let (status, r) = server.verify_pdf(&two);
    assert_eq!(
        (status, r["error"]["code"].as_str()),
        (422, Some("VER-0006")),
        "{r}"
    );

    // Within every bound (a few decoys), the file is judged, not refused.
    let (status, r) = server.verify_pdf(&crafted_pdf(&cms_with_decoys(&genuine, 20), 1));
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
        let token = backend.token("kiosk");
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
    let token = backend.token("kiosk");
    let (status, issued) = server.issue(
        &token,
        &[
            ("holder_id", "079203001234"),
            ("holder_name", "Lê Thị Mai"),
            ("document_type", "Học bạ"),
        ],
        &[sample_page("jpeg", 100, 5)],
    );
    assert_eq!(status, 201, "{issued}");
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
