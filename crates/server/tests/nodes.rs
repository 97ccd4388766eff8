//! Several nodes, one deployment (issue 16): two `banso serve` processes on one PostgreSQL database and one S3
//! bucket, behind no sticky sessions. Concurrent issuance, verification uploads and look-ups go through both;
//! one node is killed with SIGKILL in the middle and started again. Afterwards: every answered code verifies
//! on either node; a retry with the same idempotency key gives the same copy on either node; numbers are
//! unique and every number of the book is used or voided (none skipped without a trace); a revocation made on
//! one node is seen on the other; checkpoints signed by either node are consistent (the log audit passes from
//! each); the sweeper leaves no object that no row names (checked against the bucket's own listing); pyHanko
//! accepts a sample. A node holding other keys is refused the shared registry.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WORKERS: usize = 4;
const PER_WORKER: usize = 8;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Runs `f` against the node `prefer`, or the other one while that one does not answer (killed, or starting
/// again): a connection refused or cut is retried, an answer is returned.
fn on_any<T>(
    bases: &Mutex<[String; 2]>,
    prefer: usize,
    what: &str,
    f: impl Fn(&str) -> reqwest::Result<T>,
) -> (usize, T) {
    for attempt in 0..120 {
        let node = (prefer + attempt) % 2;
        let base = bases.lock().unwrap()[node].clone();
        match f(&base) {
            Ok(t) => return (node, t),
            Err(_) => std::thread::sleep(Duration::from_millis(250)),
        }
    }
    panic!("{what}: no node answered");
}

/// One request as it was answered.
#[derive(Debug, Clone)]
struct Answered {
    key: String,
    node: usize,
    code: String,
    pdf_path: String,
}

fn psql(db_url: &str, sql: &str) -> Vec<String> {
    let out = std::process::Command::new("psql")
        .arg(db_url)
        .args(["-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn env_of<'a>(backend: &'a Backend, name: &str) -> &'a str {
    &backend.env.iter().find(|(k, _)| k == name).unwrap().1
}

/// Every key in the test's bucket, as the object store itself lists them.
fn bucket_keys(backend: &Backend) -> BTreeSet<String> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import boto3, sys\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2]):\n\
             \x20   for o in page.get('Contents', []): print(o['Key'])",
            env_of(backend, "BANSO_S3_ENDPOINT"),
            env_of(backend, "BANSO_S3_BUCKET"),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn write_checkpoint(dir: &Path, name: &str, cp: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, cp.to_string()).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn two_nodes_on_one_registry_issue_revoke_and_verify_and_a_node_killed_mid_load_loses_nothing() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let port_a = free_port();
    // The address citizens see (a load balancer's): the same on every node.
    let public = format!("http://127.0.0.1:{port_a}");
    let backend = Backend::postgres_s3(dir).with_env("BANSO_PUBLIC_BASE_URL", &public);
    let db_url = env_of(&backend, "BANSO_DATABASE_URL")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    // One installation: its keys made once and held by every node (the same data folder here; copied by
    // configuration management in a deployment).
    let out = backend.cli(&["pki", "init", "--base-url", &public]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let root = backend.root_pem();
    let token = backend.token("officer");
    let addr_a = format!("127.0.0.1:{port_a}");
    let mut node_a = backend.serve_at(&addr_a);
    let node_b = backend.serve();
    let bases = Arc::new(Mutex::new([node_a.base.clone(), node_b.base.clone()]));
    let page = sample_page("png", 100, 31);

    let answered_count = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(Mutex::new(Vec::<Answered>::new()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (bases, token, page) = (bases.clone(), token.clone(), page.clone());
            let (count, answered) = (answered_count.clone(), answered.clone());
            std::thread::spawn(move || {
                let http = client();
                for i in 0..PER_WORKER {
                    let key = format!("node-test-{w}-{i}");
                    let (node, (status, issued)) = on_any(&bases, (w + i) % 2, &key, |base| {
                        issue_at(&http, base, &token, Some(&key), &page)
                    });
                    // 200: the killed node had committed it before its answer was lost; the retry replays it.
                    assert!(
                        status == 201 || status == 200,
                        "{key} on node {node}: {status} {issued}"
                    );
                    let code = issued["code"].as_str().unwrap().to_string();
                    let pdf_path = path_of(issued["pdf"].as_str().unwrap());
                    // The other node serves the copy, looks it up and verifies the uploaded file.
                    let (_, pdf) = on_any(&bases, 1 - node, &key, |base| {
                        http.get(format!("{base}{pdf_path}"))
                            .send()?
                            .error_for_status()?
                            .bytes()
                    });
                    let (_, lookup) = on_any(&bases, node, &key, |base| {
                        http.get(format!("{base}/api/v1/copies/{code}"))
                            .send()?
                            .json::<Value>()
                    });
                    assert_eq!(lookup["status"], "valid", "{lookup}");
                    let (_, verdict) = on_any(&bases, 1 - node, &key, |base| {
                        http.post(format!("{base}/api/v1/verify"))
                            .header("content-type", "application/pdf")
                            .body(pdf.to_vec())
                            .send()?
                            .json::<Value>()
                    });
                    assert_eq!(verdict["valid"], true, "{key}: {verdict}");
                    answered.lock().unwrap().push(Answered {
                        key,
                        node,
                        code,
                        pdf_path,
                    });
                    count.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();

    // A third of the way in: a checkpoint from node A, then A killed with -9 while requests run through it.
    let http = client();
    while answered_count.load(Ordering::SeqCst) < WORKERS * PER_WORKER / 3 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let cp_a: Value = http
        .get(node_a.url("/api/v1/log/checkpoint"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    node_a.kill_9();
    let killed_at = answered_count.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(2));
    let node_a = backend.serve_at(&addr_a);
    for w in workers {
        w.join().expect("a worker failed");
    }
    let answered = answered.lock().unwrap().clone();
    assert_eq!(answered.len(), WORKERS * PER_WORKER);
    let codes: BTreeSet<&str> = answered.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes.len(), answered.len(), "one copy per request: {answered:?}");
    let nodes = [node_a, node_b];

    // The same idempotency key on the other node gives the same copy.
    for a in &answered {
        let (status, again) = issue_at(&http, &nodes[1 - a.node].base, &token, Some(&a.key), &page).unwrap();
        assert_eq!(
            (status, again["code"].as_str()),
            (200, Some(a.code.as_str())),
            "{again}"
        );
    }

    // Revoked through B, seen as revoked through A: look-up and verification.
    let revoked: Vec<&Answered> = answered.iter().step_by(10).collect();
    for a in &revoked {
        let r = http
            .post(nodes[1].url(&format!("/api/v1/copies/{}/revoke", a.code)))
            .bearer_auth(&token)
            .json(&serde_json::json!({"reason": "Bản chính đã bị thu hồi"}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
    }
    // Every answered code verifies on the restarted node (the revoked ones as revoked).
    for a in &answered {
        let pdf = nodes[0]
            .http
            .get(nodes[0].url(&a.pdf_path))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let (s, verdict) = nodes[0].verify_pdf(&pdf);
        let is_revoked = revoked.iter().any(|r| r.code == a.code);
        assert_eq!(
            (s, verdict["valid"].as_bool()),
            (200, Some(!is_revoked)),
            "{}: {verdict}",
            a.code
        );
        let lookup: Value = nodes[0]
            .get(&format!("/api/v1/copies/{}", a.code))
            .json()
            .unwrap();
        assert_eq!(
            lookup["status"],
            if is_revoked { "revoked" } else { "valid" },
            "{lookup}"
        );
    }

    // One log: checkpoints from either node name the same key and origin, the later extends the earlier, and
    // the audit passes from each (every registry row in the log, the log only grown).
    let cp_b: Value = nodes[1].get("/api/v1/log/checkpoint").json().unwrap();
    let cp_a_again: Value = nodes[0].get("/api/v1/log/checkpoint").json().unwrap();
    for field in ["public_key", "origin"] {
        assert_eq!(cp_a[field], cp_b[field], "{field}");
    }
    assert_eq!(
        (&cp_a_again["tree_size"], &cp_a_again["root_hash"]),
        (&cp_b["tree_size"], &cp_b["root_hash"]),
        "both nodes see one head"
    );
    assert!(cp_b["tree_size"].as_u64() > cp_a["tree_size"].as_u64());
    for (name, cp) in [("cp-a.json", &cp_a), ("cp-b.json", &cp_b)] {
        let path = write_checkpoint(dir, name, cp);
        let (rc, audit) = backend.cli_json(&["log", "audit", "--from", &path, "--json"]);
        assert_eq!(
            (rc, audit["ok"].as_bool()),
            (0, Some(true)),
            "from {name}: {audit}"
        );
        assert!(
            audit["copies_checked"].as_u64() >= Some(answered.len() as u64),
            "{audit}"
        );
    }

    // What the killed node left: a number reserved by an issuance that never finished stays pending until no
    // issuance can still be running (an hour; aged here), then the sweep voids it and removes its objects.
    let pending = psql(
        &db_url,
        "SELECT count(*) FROM book_lines WHERE status = 'pending'",
    );
    psql(
        &db_url,
        "UPDATE book_lines SET reserved_at = reserved_at - interval '2 hours' WHERE status = 'pending'",
    );
    let (rc, sweep) = backend.cli_json(&["maintain", "sweep", "--grace-minutes", "0", "--json"]);
    assert_eq!(rc, 0, "{sweep}");

    // Numbers: unique, gapless, each used by exactly one copy or voided.
    let lines = psql(
        &db_url,
        "SELECT year || '/' || suffix || ':' || sequence || ':' || status FROM book_lines \
         ORDER BY year, suffix, sequence",
    );
    let mut used = 0;
    for (i, line) in lines.iter().enumerate() {
        let mut parts = line.rsplitn(3, ':');
        let (status, sequence) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(sequence, (i + 1).to_string(), "gapless: {lines:?}");
        assert!(status == "used" || status == "voided", "{lines:?}");
        used += usize::from(status == "used");
    }
    assert_eq!(used, answered.len(), "{lines:?}");
    let numbered = psql(
        &db_url,
        "SELECT count(*) || ':' || count(DISTINCT (year, suffix, sequence)) FROM copies",
    );
    assert_eq!(numbered, [format!("{used}:{used}")]);

    // Objects: every one the bucket lists is named by a row, and every copy's file is there.
    let keys = bucket_keys(&backend);
    let pdf_keys: BTreeSet<String> = psql(&db_url, "SELECT pdf_key FROM copies").into_iter().collect();
    let requests: BTreeSet<String> = psql(&db_url, "SELECT DISTINCT request_id FROM copies")
        .into_iter()
        .collect();
    for key in &keys {
        let named = match key.strip_prefix("originals/") {
            Some(rest) => requests.contains(rest.split('/').next().unwrap()),
            None => pdf_keys.contains(key),
        };
        assert!(named, "orphan object {key}; sweep: {sweep}");
    }
    assert!(pdf_keys.is_subset(&keys), "a copy's file is missing");

    // pyHanko accepts a sample, one issued by each node.
    for a in [
        answered.iter().find(|a| a.node == 0),
        answered.iter().find(|a| a.node == 1),
    ]
    .into_iter()
    .flatten()
    {
        let pdf = nodes[1]
            .http
            .get(nodes[1].url(&a.pdf_path))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        let (ok, out) = pyhanko_validate(dir, &root, &pdf);
        assert!(ok && pyhanko_accepts_bt(&out), "pyHanko on {}: {out}", a.code);
    }

    // A node with keys of its own (a fresh data folder) is refused the shared registry: it would sign another
    // log and other QR keys. It writes nothing.
    let stranger = Backend {
        data_dir: dir.join("stranger"),
        env: backend.env.clone(),
    };
    let out = stranger.cli(&["log", "checkpoint"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a stranger node opened the registry");
    assert!(said.contains("not those of the installation"), "{said}");
    // A node with the installation's keys that names another public address is refused too: its checkpoints
    // would carry another origin and its QR codes another address. A command that names none takes the
    // installation's: its checkpoint has the nodes' origin.
    let without_address = || Backend {
        data_dir: backend.data_dir.clone(),
        env: backend
            .env
            .iter()
            .filter(|(k, _)| k != "BANSO_PUBLIC_BASE_URL")
            .cloned()
            .collect(),
    };
    let out = without_address()
        .with_env("BANSO_PUBLIC_BASE_URL", "https://elsewhere.example")
        .cli(&["log", "checkpoint"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a node with another address opened the registry"
    );
    assert!(said.contains("not the installation's"), "{said}");
    let (rc, cp) = without_address().cli_json(&["log", "checkpoint"]);
    assert_eq!((rc, &cp["origin"]), (0, &cp_b["origin"]), "{cp}");
    let cp_end: Value = nodes[1].get("/api/v1/log/checkpoint").json().unwrap();
    assert_eq!(cp_end["tree_size"], cp_b["tree_size"]);

    println!(
        "{} requests through two nodes; node A killed after {killed_at} answers; {} numbers pending after the \
         kill, voided by the sweep: {}, objects it removed: {}; {} objects",
        answered.len(),
        pending[0],
        sweep["voided_numbers"],
        sweep["removed"].as_array().map_or(0, Vec::len),
        keys.len()
    );
}

/// A kiosk's identity session is the deployment's, not a node's: started on one node, the chip brought to the
/// other, the face to the first, issuance through the second — and a node killed with -9 and started again
/// still knows it. The database holds no session id, no portrait and no name in the clear.
#[test]
fn a_kiosks_identity_session_goes_on_through_whichever_node_a_call_reaches() {
    use common::citizen::Citizens;
    use reqwest::Method;
    const HOLDER: (&str, &str) = ("001099012345", "Nguyễn Văn An");

    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let mut citizens = Citizens::new(dir, &[HOLDER]);
    let backend = citizens.trusted_by(Backend::postgres_s3(dir));
    let db_url = env_of(&backend, "BANSO_DATABASE_URL")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let out = backend.cli(&["pki", "init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let kiosk = backend.token("kiosk");
    let a = backend.serve();
    let addr_b = format!("127.0.0.1:{}", free_port());
    let mut b = backend.serve_at(&addr_b);

    // Started on A; the chip read brought to B.
    let (s, started) = a.kiosk_json(
        &kiosk,
        Method::POST,
        "/api/v1/identity/sessions",
        Some(serde_json::json!({"method": "chip"})),
    );
    assert_eq!(s, 201, "{started}");
    let id = started["id"].as_str().unwrap().to_string();
    let nonce: [u8; 8] = hex::decode(started["nonce"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let read = Server::chip_read(&mut citizens.people[0], nonce);
    let (s, face) = b.kiosk_json(
        &kiosk,
        Method::POST,
        &format!("/api/v1/identity/sessions/{id}/chip"),
        Some(read.clone()),
    );
    assert_eq!((s, face["step"].as_str()), (200, Some("face")), "{face}");
    // The same chip read again, on A: the session moved on (its nonce is spent).
    let (s, again) = a.kiosk_json(
        &kiosk,
        Method::POST,
        &format!("/api/v1/identity/sessions/{id}/chip"),
        Some(read),
    );
    assert_eq!(
        (s, again["error"]["code"].as_str()),
        (409, Some("ID-0005")),
        "{again}"
    );
    // A sees the step B moved it to, with B's challenge.
    let (s, seen) = a.kiosk_json(
        &kiosk,
        Method::GET,
        &format!("/api/v1/identity/sessions/{id}"),
        None,
    );
    assert_eq!((s, &seen["challenge"]), (200, &face["challenge"]), "{seen}");

    // Nothing readable in the database: not the id, not the holder, not the portrait — neither in the row's
    // text nor in the bytes its sealed stage decodes to. (The markers are long enough that ciphertext holds one
    // by chance far less than once in 10^12 runs; a four-letter marker in 60 kB of base64 matched one run in a
    // hundred.)
    let rows = psql(
        &db_url,
        "SELECT id_hash || ' ' || device || ' ' || sealed FROM identity_sessions",
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    let sealed = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        row.rsplit(' ').next().unwrap(),
    )
    .expect("the sealed stage is base64");
    // The portrait, as the chip gave it: its raw bytes, and as JSON would carry them (an array of numbers, or
    // base64).
    let (portrait, _, _) = common::citizen::chip_portrait("fr_obama2_0.jpg");
    let portrait_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &portrait);
    let portrait_json = portrait[64..96]
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let markers: [&[u8]; 6] = [
        id.as_bytes(),
        HOLDER.0.as_bytes(),
        HOLDER.1.as_bytes(),
        &portrait[64..96],
        &portrait_b64.as_bytes()[64..128],
        portrait_json.as_bytes(),
    ];
    for marker in markers {
        let shown = String::from_utf8_lossy(marker);
        assert!(
            !row.as_bytes().windows(marker.len()).any(|w| w == marker),
            "{shown} in the row: {row}"
        );
        assert!(
            !sealed.windows(marker.len()).any(|w| w == marker),
            "{shown} in the sealed stage's bytes"
        );
    }

    // The face on A; B is killed with -9 and started again; the new B takes a request for the verified citizen
    // (held for an officer: the intake is off here) and names the proven holder in it.
    let (s, verified) = a.show_face(&kiosk, &id, &Server::live_frames(&face["challenge"]));
    assert_eq!(
        (s, verified["step"].as_str()),
        (200, Some("verified")),
        "{verified}"
    );
    b.kill_9();
    let b = backend.serve_at(&addr_b);
    let page = sample_page("png", 100, 3);
    let (s, held) = b.issue_for(
        &kiosk,
        &id,
        &[("document_type", "Giấy khai sinh")],
        std::slice::from_ref(&page),
    );
    assert_eq!(s, 202, "{held}");
    let record: Value = a
        .http
        .get(a.url(&format!("/api/v1/intake/{}", held["intake_id"].as_str().unwrap())))
        .bearer_auth(backend.token("officer"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(record["holder_id"], HOLDER.0, "{record}");

    // Ended on B: gone on A.
    let (s, _) = b.kiosk_json(
        &kiosk,
        Method::DELETE,
        &format!("/api/v1/identity/sessions/{id}"),
        None,
    );
    assert_eq!(s, 204);
    let (s, e) = a.issue_for(&kiosk, &id, &[("document_type", "Giấy khai sinh")], &[page]);
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    let (s, e) = a.kiosk_json(
        &kiosk,
        Method::GET,
        &format!("/api/v1/identity/sessions/{id}"),
        None,
    );
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("ID-0004")), "{e}");
}

/// Rate limits are the deployment's: a client that used its burst of look-ups on one node is held back on the
/// other once the nodes have told each other (every second) — alone, each node would give it a burst of its
/// own. Another client is not held back.
/// The value of the series `name` (with its labels) in `node`'s metrics; 0 before it exists.
fn metric(node: &Server, name: &str) -> f64 {
    let metrics = node.get("/metrics").text().unwrap();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[test]
fn a_clients_rate_limit_holds_across_the_nodes() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    // 60 look-ups a minute: a burst of 10, then one a second.
    let backend = Backend::postgres_s3(dir).with_env("BANSO_LOOKUPS_PER_MINUTE", "60");
    let out = backend.cli(&["pki", "init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = backend.token("officer");
    let (a, b) = (backend.serve(), backend.serve());
    let (status, issued) = issue_at(&client(), &a.base, &token, None, &sample_page("png", 100, 3)).unwrap();
    assert_eq!(status, 201, "{issued}");
    let code = issued["code"].as_str().unwrap().to_string();
    let from = |ip: &str| {
        reqwest::blocking::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let look = |http: &reqwest::blocking::Client, node: &Server| {
        http.get(node.url(&format!("/api/v1/copies/{code}")))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };

    let client_1 = from("127.0.0.7");
    let on_a: Vec<u16> = (0..11).map(|_| look(&client_1, &a)).collect();
    assert_eq!(on_a[..10], [200; 10], "{on_a:?}");
    assert_eq!(on_a[10], 429, "{on_a:?}");
    // B says (in its metrics) when it has heard of A's ten; a slow exchange makes the test wait, not fail.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while metric(&b, "banso_rate_limit_admits_heard_total") < 10.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "B did not hear of A's admits in 20 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        metric(&b, "banso_rate_limit_exchanges_total{result=\"ok\"}") >= 1.0,
        "B's exchanges are counted"
    );
    let on_b: Vec<u16> = (0..10).map(|_| look(&client_1, &b)).collect();
    let let_through = on_b.iter().filter(|s| **s == 200).count();
    assert!(
        let_through <= 4,
        "B let {let_through} of 10 through after the client's burst on A: {on_b:?}"
    );
    let client_2 = from("127.0.0.8");
    assert_eq!(look(&client_2, &b), 200);
}
