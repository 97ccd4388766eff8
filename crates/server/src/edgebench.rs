//! `banso bench edge`: a bounded load test of the HTTP edge on loopback (under 60 s). It starts its own
//! `banso serve` (this binary, a fresh data folder, the intake off) and attacks it as anonymous clients
//! would, printing what it measured against the edge's bounds:
//!
//! 1. resident memory of the server while 20 anonymous clients announce uploads — 10 of 40 MB to the
//!    issuance endpoint without a token, 10 of 30 MB (under the verification cap, so only the anonymous
//!    budget holds them) to the verifier — push what the server takes and stall;
//! 2. the latency of an honest verification (a genuine copy) while 4 clients keep sending crafted files
//!    (64 signature fields sharing one signature dictionary whose CMS carries 2,000 decoy certificates
//!    named like the issuing CA), next to the same verification with no attack;
//! 3. how long 250 idle connections stay open, against the configured header timeout.
//!
//! `banso bench crafted-pdf` writes the crafted file alone (the edge tests use it).

use crate::bench::percentile;
use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The CMS of the first signature of `pdf` with `decoys` more certificates: copies of its own certificates
/// (the issuing CA's among them) with altered signature bytes, each named like the real one and failing
/// only once its signature is checked.
pub fn cms_with_decoys(pdf: &[u8], decoys: usize) -> Result<Vec<u8>> {
    let doc = banso_signing::incremental::PdfDoc::parse(pdf).map_err(|e| anyhow!("{e}"))?;
    let values = banso_signing::incremental::signature_values(&doc);
    let raw = match values.first().and_then(|v| v.get("Contents")) {
        Some(banso_signing::incremental::Obj::Str(s)) => s.clone(),
        _ => bail!("no signature in the file"),
    };
    Ok(banso_signing::testkit::cms_with_decoys(&raw, decoys)?)
}

/// A PDF whose form lists `dicts` signature fields, all with the same signature dictionary as value, whose
/// ByteRange leaves out its `/Contents` value `cms`.
pub fn crafted_pdf(cms: &[u8], dicts: usize) -> Vec<u8> {
    let hex = hex::encode(cms);
    let sig = dicts + 3;
    let fields: Vec<String> = (0..dicts).map(|i| format!("{} 0 R", i + 3)).collect();
    let mut bodies = vec![
        format!(
            "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [{}] /SigFlags 3 >> >>",
            fields.join(" ")
        ),
        "<< /Type /Pages /Kids [] /Count 0 >>".to_string(),
    ];
    bodies.extend((0..dicts).map(|i| format!("<< /FT /Sig /T (Signature{}) /V {sig} 0 R >>", i + 1)));
    bodies.push(format!(
        "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
/ByteRange [0 AAAAAAAAAA BBBBBBBBBB CCCCCCCCCC] /Contents <{hex}> >>"
    ));
    let mut pdf = String::from("%PDF-1.7\n");
    let mut offsets = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!("xref\n0 {}\n0000000000 65535 f \n", bodies.len() + 1));
    for o in offsets {
        pdf.push_str(&format!("{o:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        bodies.len() + 1
    ));
    let gap_start = pdf.find("/Contents <").unwrap_or(0) + "/Contents ".len();
    let gap_end = gap_start + hex.len() + 2;
    let rest = pdf.len() - gap_end;
    pdf.replace("AAAAAAAAAA", &format!("{gap_start:010}"))
        .replace("BBBBBBBBBB", &format!("{gap_end:010}"))
        .replace("CCCCCCCCCC", &format!("{rest:010}"))
        .into_bytes()
}

/// A `banso serve` child on a free loopback port.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn banso(data: &Path) -> Result<Command> {
    let mut c = Command::new(std::env::current_exe()?);
    c.arg("--data-dir")
        .arg(data)
        .env("BANSO_INTAKE", "off")
        .env_remove("BANSO_CONFIG");
    Ok(c)
}

fn run_ok(c: &mut Command) -> Result<Vec<u8>> {
    let out = c.output()?;
    if !out.status.success() {
        bail!("{c:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out.stdout)
}

fn serve(data: &Path, header_timeout: u64) -> Result<Served> {
    let mut child = banso(data)?
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("BANSO_HEADER_TIMEOUT_SECS", header_timeout.to_string())
        .env("BANSO_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().ok_or_else(|| anyhow!("banso serve stopped"))??;
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Served { child, addr })
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One POST of `body` with a fresh connection; (status, seconds).
fn post(addr: &str, path: &str, body: &[u8]) -> Result<(u16, f64)> {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    let status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, started.elapsed().as_secs_f64()))
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub fn run() -> Result<u8> {
    let started = Instant::now();
    let tmp = tempfile::TempDir::new()?;
    let data = tmp.path().join("data");
    let page = tmp.path().join("page.jpg");
    run_ok(
        banso(&data)?
            .args([
                "bench",
                "sample-page",
                "--format",
                "jpeg",
                "--dpi",
                "150",
                "--out",
            ])
            .arg(&page),
    )?;
    let genuine_path = tmp.path().join("genuine.pdf");
    run_ok(
        banso(&data)?
            .args([
                "issue",
                "--holder-id",
                "001099012345",
                "--holder-name",
                "Nguyễn Văn An",
            ])
            .args(["--doc-type", "Giấy khai sinh", "--out"])
            .arg(&genuine_path)
            .arg(&page),
    )?;
    let genuine = std::fs::read(&genuine_path)?;
    let crafted = crafted_pdf(&cms_with_decoys(&genuine, 2000)?, 64);
    let header_timeout = 5;
    let server = serve(&data, header_timeout)?;
    let pid = server.child.id();
    let addr = server.addr.clone();
    println!(
        "banso bench edge: banso serve on {addr} (pid {pid}), defaults except header timeout {header_timeout} s, loopback only"
    );

    // 1. Twenty anonymous clients announce big uploads, push what the server takes, and stall.
    let idle_rss = rss_mb(pid);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut stalled = Vec::new();
    for i in 0..20 {
        let (path, mb) = if i % 2 == 0 {
            ("/api/v1/copies", 40usize)
        } else {
            ("/api/v1/verify", 30usize)
        };
        let addr = addr.clone();
        let stop = stop.clone();
        stalled.push(std::thread::spawn(move || {
            let Ok(mut s) = TcpStream::connect(&addr) else { return };
            let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
            let _ = write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
                (mb << 20) - 1
            );
            let chunk = vec![b'%'; 1 << 20];
            for _ in 0..mb - 1 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) || s.write_all(&chunk).is_err() {
                    break;
                }
            }
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }));
    }
    let mut peak: f64 = 0.0;
    let watch = Instant::now();
    while watch.elapsed() < Duration::from_secs(4) {
        peak = peak.max(rss_mb(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in stalled {
        let _ = t.join();
    }
    println!(
        "1. server resident memory while 20 anonymous clients announce uploads (10 × 40 MB without a token to /api/v1/copies, 10 × 30 MB to /api/v1/verify), push what is taken and stall (sampled every 50 ms for 4 s): peak {peak:.0} MB (idle before: {idle_rss:.0} MB; bound 200 MB) — {}",
        if peak < 200.0 { "within" } else { "EXCEEDED" }
    );

    // 2. Honest verification alone, then under 4 clients sending crafted files.
    let honest = |n: usize| -> Result<Vec<f64>> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let (status, secs) = post(&addr, "/api/v1/verify", &genuine)?;
            if status != 200 {
                bail!("the honest verification answered {status}");
            }
            v.push(secs);
        }
        Ok(v)
    };
    let alone = sorted(honest(20)?);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let crafted = std::sync::Arc::new(crafted);
    let attackers: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop, crafted) = (addr.clone(), stop.clone(), crafted.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match post(&addr, "/api/v1/verify", &crafted) {
                        Ok(r) => seen.push(r),
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let under = sorted(honest(20)?);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut crafted_answers = Vec::new();
    for a in attackers {
        crafted_answers.extend(a.join().map_err(|_| anyhow!("attacker thread"))?);
    }
    let crafted_secs = sorted(crafted_answers.iter().map(|(_, s)| *s).collect());
    let mut statuses: Vec<u16> = crafted_answers.iter().map(|(s, _)| *s).collect();
    statuses.sort_unstable();
    statuses.dedup();
    println!(
        "2. honest verification of a genuine {} KB copy (connect, upload, verify, answer), 20 sequential requests each:\n   alone: p50 {:.0} ms, max {:.0} ms\n   under 4 clients sending {} KB crafted files (64 signature dictionaries, 2,000 decoy certificates): p50 {:.0} ms, max {:.0} ms (bound 1 s) — {}\n   the crafted files: {} answered, statuses {:?}, p50 {:.0} ms each",
        genuine.len() / 1024,
        percentile(&alone, 0.5) * 1e3,
        percentile(&alone, 1.0) * 1e3,
        crafted.len() / 1024,
        percentile(&under, 0.5) * 1e3,
        percentile(&under, 1.0) * 1e3,
        if percentile(&under, 1.0) < 1.0 { "within" } else { "EXCEEDED" },
        crafted_answers.len(),
        statuses,
        percentile(&crafted_secs, 0.5) * 1e3,
    );

    // 3. 250 idle connections: how long each stays open.
    let opened = Instant::now();
    let idle: Vec<_> = (0..250)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || -> Option<f64> {
                let mut s = TcpStream::connect(&addr).ok()?;
                let t = Instant::now();
                s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
                let mut b = [0u8; 64];
                loop {
                    match s.read(&mut b) {
                        Ok(0) => return Some(t.elapsed().as_secs_f64()),
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                            return Some(t.elapsed().as_secs_f64())
                        }
                        Err(_) => return None,
                    }
                }
            })
        })
        .collect();
    let mut closed = Vec::new();
    let mut still_open = 0;
    for t in idle {
        match t.join().ok().flatten() {
            Some(s) => closed.push(s),
            None => still_open += 1,
        }
    }
    let closed = sorted(closed);
    println!(
        "3. 250 idle connections (connect, send nothing): {} closed by the server after p50 {:.1} s, max {:.1} s; {} still open after 30 s (header timeout {header_timeout} s) — {}",
        closed.len(),
        percentile(&closed, 0.5),
        percentile(&closed, 1.0),
        still_open,
        if still_open == 0 && percentile(&closed, 1.0) < header_timeout as f64 + 1.0 { "within" } else { "EXCEEDED" }
    );
    let _ = opened;
    println!("whole run: {:.1} s", started.elapsed().as_secs_f64());
    drop(server);
    Ok(0)
}

/// `banso bench crafted-pdf`: the crafted file of step 2 made from a genuine copy.
pub fn write_crafted(genuine: &Path, out: &Path, dicts: usize, decoys: usize) -> Result<u8> {
    let pdf = std::fs::read(genuine).with_context(|| format!("reading {}", genuine.display()))?;
    std::fs::write(out, crafted_pdf(&cms_with_decoys(&pdf, decoys)?, dicts))
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(0)
}
