//! `banso bench load`: issuance, verification uploads and code look-ups together against running nodes, for a
//! bounded time, on loopback. Prints, per kind of request: answers, throughput, p50/p95/p99 and errors; and the
//! resident memory of each node over time (from /proc).
//!
//! What the timer covers: for each request, the client's wall time from sending it to having read the whole
//! answer, on this machine (client and nodes share its cores). Throughput is answers over the run's whole time.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What `bench load` is asked to do.
#[derive(clap::Args)]
pub struct LoadPlan {
    /// A node's base URL; requests are spread over every one named.
    #[arg(long = "target", required = true)]
    pub targets: Vec<String>,
    /// A file holding an officer's API token.
    #[arg(long)]
    pub token_file: PathBuf,
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    #[arg(long, default_value_t = 4)]
    pub issuers: usize,
    #[arg(long, default_value_t = 2)]
    pub verifiers: usize,
    #[arg(long, default_value_t = 4)]
    pub lookups: usize,
    /// Send clean one-page birth certificates the intake accepts (the nodes run with the intake on) instead of
    /// synthetic two-page scans.
    #[arg(long)]
    pub intake: bool,
    /// Node processes whose resident memory to sample.
    #[arg(long = "pid")]
    pub pids: Vec<u32>,
    #[arg(long, default_value_t = 30)]
    pub sample_secs: u64,
    /// Copies a second the issuers together send at most (0: as fast as answered): a soak at a steady rate
    /// whose stored files fit on the disk.
    #[arg(long, default_value_t = 0.0)]
    pub issue_rate: f64,
}

#[derive(Default)]
struct Kind {
    ms: Vec<f64>,
    /// Status (0: no answer) → count, for answers that are not successes.
    errors: BTreeMap<u16, u64>,
    /// Successful answers by status (201 issued, 202 held, 200 …).
    ok: BTreeMap<u16, u64>,
}

#[derive(Default)]
struct Tally {
    kinds: BTreeMap<&'static str, Kind>,
}

impl Tally {
    /// Counts an answer; only successes' times go into the percentiles (a refusal or a cut connection is quick
    /// and would flatter them).
    fn record(&mut self, kind: &'static str, started: Instant, status: u16, ok: bool) {
        let k = self.kinds.entry(kind).or_default();
        if ok {
            k.ms.push(started.elapsed().as_secs_f64() * 1000.0);
            *k.ok.entry(status).or_default() += 1;
        } else {
            *k.errors.entry(status).or_default() += 1;
        }
    }
}

/// The copies issued so far (code, PDF path with its capability key), for the readers to pick from.
#[derive(Default)]
struct Issued {
    copies: Vec<(String, String)>,
    pdfs: Vec<Arc<Vec<u8>>>,
}

const KEEP_COPIES: usize = 1024;
const KEEP_PDFS: usize = 16;

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn path_of(url: &str) -> Option<String> {
    let rest = url.split("://").nth(1)?;
    Some(format!("/{}", rest.split_once('/')?.1))
}

pub fn run(plan: LoadPlan) -> Result<u8> {
    if plan.targets.is_empty() {
        bail!("name at least one --target");
    }
    let token = std::fs::read_to_string(&plan.token_file)
        .with_context(|| format!("reading {}", plan.token_file.display()))?
        .trim()
        .to_string();
    // The originals: synthetic two-page JPEG scans, or clean one-page birth certificates for the intake.
    let originals: Vec<(Vec<Vec<u8>>, serde_json::Value)> = if plan.intake {
        (0..16)
            .map(|i| {
                crate::bench::sample_certificate("jpeg", 100 + i).map(|(page, holder)| (vec![page], holder))
            })
            .collect::<Result<_>>()?
    } else {
        (0..4)
            .map(|i| {
                Ok((
                    vec![
                        crate::bench::sample_page("jpeg", 150, 2 * i + 1)?,
                        crate::bench::sample_page("jpeg", 150, 2 * i + 2)?,
                    ],
                    serde_json::json!({"holder_name": "Nguyễn Thị Lan", "id_number": "001099012345"}),
                ))
            })
            .collect::<Result<_>>()?
    };
    let originals = Arc::new(originals);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let issued = Arc::new(Mutex::new(Issued::default()));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(plan.seconds);
    let client = || {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(4)
            .build()
    };
    let mut workers = Vec::new();
    let (issuers, issue_rate) = (plan.issuers, plan.issue_rate);
    for w in 0..plan.issuers {
        let (targets, token, originals, tally, issued) = (
            plan.targets.clone(),
            token.clone(),
            originals.clone(),
            tally.clone(),
            issued.clone(),
        );
        let http = client()?;
        workers.push(std::thread::spawn(move || {
            let mut n = w;
            // With a rate: each issuer sends one request every `issuers / rate` seconds, staggered.
            let every = (issue_rate > 0.0).then(|| Duration::from_secs_f64(issuers as f64 / issue_rate));
            let mut next = started + every.map_or(Duration::ZERO, |e| e.mul_f64(w as f64 / issuers as f64));
            while Instant::now() < deadline {
                if let Some(every) = every {
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                    next += every;
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                let base = &targets[n % targets.len()];
                let (pages, holder) = &originals[n % originals.len()];
                n += plan_stride(w);
                let mut form = reqwest::blocking::multipart::Form::new()
                    .text(
                        "holder_id",
                        holder["id_number"].as_str().unwrap_or("001099012345").to_string(),
                    )
                    .text(
                        "holder_name",
                        holder["holder_name"]
                            .as_str()
                            .unwrap_or("Nguyễn Thị Lan")
                            .to_string(),
                    )
                    .text("document_type", "Giấy khai sinh");
                for (i, page) in pages.iter().enumerate() {
                    form = form.part(
                        "page",
                        reqwest::blocking::multipart::Part::bytes(page.clone())
                            .file_name(format!("page-{}.jpg", i + 1))
                            .mime_str("image/jpeg")
                            .expect("a MIME type"),
                    );
                }
                let t = Instant::now();
                let answer = http
                    .post(format!("{base}/api/v1/copies"))
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .and_then(|r| {
                        let status = r.status().as_u16();
                        r.json::<serde_json::Value>().map(|v| (status, v))
                    });
                match answer {
                    Ok((status, body)) => {
                        let ok = status == 201 || status == 202;
                        tally.lock().unwrap().record("issue", t, status, ok);
                        if status == 201 {
                            if let (Some(code), Some(pdf)) =
                                (body["code"].as_str(), body["pdf"].as_str().and_then(path_of))
                            {
                                let mut issued = issued.lock().unwrap();
                                if issued.copies.len() >= KEEP_COPIES {
                                    let i = n % KEEP_COPIES;
                                    issued.copies[i] = (code.to_string(), pdf);
                                } else {
                                    issued.copies.push((code.to_string(), pdf));
                                }
                            }
                        }
                    }
                    Err(_) => tally.lock().unwrap().record("issue", t, 0, false),
                }
            }
        }));
    }
    // The readers wait for a first copy.
    let first_copy = || loop {
        if let Some(c) = issued.lock().unwrap().copies.first().cloned() {
            return Some(c);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if plan.verifiers + plan.lookups > 0 && first_copy().is_none() {
        bail!("no copy was issued to read back");
    }
    for w in 0..plan.verifiers {
        let (targets, tally, issued) = (plan.targets.clone(), tally.clone(), issued.clone());
        let http = client()?;
        workers.push(std::thread::spawn(move || {
            let mut n = w;
            while Instant::now() < deadline {
                let base = &targets[n % targets.len()];
                n += 1;
                // A PDF to upload: one kept, or a fresh one fetched (not timed).
                let pdf = {
                    let issued = issued.lock().unwrap();
                    (issued.pdfs.len() >= KEEP_PDFS).then(|| issued.pdfs[n % KEEP_PDFS].clone())
                };
                let pdf = match pdf {
                    Some(p) => p,
                    None => {
                        let path = {
                            let issued = issued.lock().unwrap();
                            issued.copies[n % issued.copies.len()].1.clone()
                        };
                        match http.get(format!("{base}{path}")).send().and_then(|r| r.bytes()) {
                            Ok(b) => {
                                let p = Arc::new(b.to_vec());
                                issued.lock().unwrap().pdfs.push(p.clone());
                                p
                            }
                            Err(_) => continue,
                        }
                    }
                };
                let t = Instant::now();
                let answer = http
                    .post(format!("{base}/api/v1/verify"))
                    .header("content-type", "application/pdf")
                    .body(pdf.as_ref().clone())
                    .send()
                    .and_then(|r| {
                        let status = r.status().as_u16();
                        r.json::<serde_json::Value>().map(|v| (status, v))
                    });
                let mut tally = tally.lock().unwrap();
                match answer {
                    Ok((status, v)) => tally.record("verify", t, status, status == 200 && v["valid"] == true),
                    Err(_) => tally.record("verify", t, 0, false),
                }
            }
        }));
    }
    for w in 0..plan.lookups {
        let (targets, tally, issued) = (plan.targets.clone(), tally.clone(), issued.clone());
        let http = client()?;
        workers.push(std::thread::spawn(move || {
            let mut n = w * 7919;
            while Instant::now() < deadline {
                let base = &targets[n % targets.len()];
                n += 1;
                let code = {
                    let issued = issued.lock().unwrap();
                    issued.copies[n % issued.copies.len()].0.clone()
                };
                let t = Instant::now();
                let answer = http
                    .get(format!("{base}/api/v1/copies/{code}"))
                    .send()
                    .and_then(|r| {
                        let status = r.status().as_u16();
                        r.bytes().map(|_| status)
                    });
                let mut tally = tally.lock().unwrap();
                match answer {
                    Ok(status) => tally.record("lookup", t, status, status == 200),
                    Err(_) => tally.record("lookup", t, 0, false),
                }
            }
        }));
    }
    // Resident memory of each node, every `sample_secs`.
    let mut samples: Vec<(u64, Vec<Option<u64>>)> = Vec::new();
    let sample = |samples: &mut Vec<(u64, Vec<Option<u64>>)>| {
        samples.push((
            started.elapsed().as_secs(),
            plan.pids.iter().map(|p| rss_kib(*p)).collect(),
        ));
    };
    sample(&mut samples);
    while Instant::now() < deadline {
        let next = Instant::now() + Duration::from_secs(plan.sample_secs.max(1));
        std::thread::sleep(next.min(deadline).saturating_duration_since(Instant::now()));
        sample(&mut samples);
    }
    for w in workers {
        let _ = w.join();
    }
    let elapsed = started.elapsed().as_secs_f64();

    println!(
        "banso bench load: {} node(s), {:.0} s, {} issuers, {} verifiers, {} look-up clients, originals: {}",
        plan.targets.len(),
        elapsed,
        plan.issuers,
        plan.verifiers,
        plan.lookups,
        if plan.intake {
            "clean one-page birth certificates (intake on)"
        } else {
            "two-page synthetic JPEG scans"
        }
    );
    println!("latency: the client's wall time from sending a request to reading its whole answer (loopback)");
    if plan.issue_rate > 0.0 {
        println!("issuance capped at {} copies/s", plan.issue_rate);
    }
    println!("p50/p95/p99 over successful answers; per s: successes over the whole run");
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>9} {:>9}  {:<24} errors",
        "kind", "successes", "per s", "p50 ms", "p95 ms", "p99 ms", "by status"
    );
    let tally = tally.lock().unwrap();
    for (name, k) in &tally.kinds {
        let mut ms = k.ms.clone();
        ms.sort_by(f64::total_cmp);
        let q = |p| crate::bench::percentile(&ms, p);
        let ok: Vec<String> = k.ok.iter().map(|(s, n)| format!("{s}:{n}")).collect();
        let errors: Vec<String> = k
            .errors
            .iter()
            .map(|(s, n)| {
                if *s == 0 {
                    format!("no answer:{n}")
                } else {
                    format!("{s}:{n}")
                }
            })
            .collect();
        println!(
            "{name:<8} {:>9} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  {:<24} {}",
            ms.len(),
            ms.len() as f64 / elapsed,
            q(0.5),
            q(0.95),
            q(0.99),
            ok.join(" "),
            if errors.is_empty() {
                "none".into()
            } else {
                errors.join(" ")
            }
        );
    }
    if !plan.pids.is_empty() {
        println!("resident memory (MiB) over time:");
        println!(
            "{:>6}  {}",
            "s",
            plan.pids
                .iter()
                .map(|p| format!("{:>10}", format!("pid {p}")))
                .collect::<String>()
        );
        for (at, rss) in &samples {
            println!(
                "{at:>6}  {}",
                rss.iter()
                    .map(|r| format!(
                        "{:>10}",
                        r.map_or("-".to_string(), |k| format!("{:.1}", k as f64 / 1024.0))
                    ))
                    .collect::<String>()
            );
        }
        // Warm-up: the sample nearest one minute in; the end: the last.
        if let (Some(warm), Some(end)) = (samples.iter().find(|(at, _)| *at >= 60), samples.last()) {
            for (i, pid) in plan.pids.iter().enumerate() {
                if let (Some(a), Some(b)) = (warm.1[i], end.1[i]) {
                    println!(
                        "pid {pid}: {:.1} MiB at {} s, {:.1} MiB at {} s: end / warm {:.3}",
                        a as f64 / 1024.0,
                        warm.0,
                        b as f64 / 1024.0,
                        end.0,
                        b as f64 / a as f64
                    );
                }
            }
        }
    }
    Ok(0)
}

/// How far an issuer moves through the originals and nodes each request (coprime with small counts, so every
/// issuer reaches every node and original).
fn plan_stride(w: usize) -> usize {
    [1, 3, 5, 7][w % 4]
}
