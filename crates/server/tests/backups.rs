//! Backups (issue 16): `banso backup` taken while copies are being issued, `banso restore` into a new data
//! folder (SQLite) or a new database and bucket (PostgreSQL + S3). The restored installation passes the log
//! audit, holds and verifies every copy answered before the backup began (with the same capability links), and
//! pyHanko accepts its copies; the offline root's key is never in a backup; a damaged backup, or a target that
//! is not empty, is refused before anything is written.

mod common;

use common::*;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Codes answered, each with its PDF link's path and whether it was answered before the backup began.
type Answered = Vec<(String, String, bool)>;

fn backup_under_load_then_restore(source: Backend, target: Backend, dir: &std::path::Path) {
    // The PKI's revocation pointers name the service's address; the restored installation serves there.
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let out = source.cli(&["pki", "init", "--base-url", &format!("http://{addr}")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let server = source.serve_at(&addr);
    let token = source.token("officer");
    let page = sample_page("png", 100, 41);
    let http = reqwest::blocking::Client::new();
    let answered = Arc::new(Mutex::new(Answered::new()));
    let backup_began = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // "Before" means answered (so committed) before the backup began.
    let issue_one = |http: &reqwest::blocking::Client, answered: &Mutex<Answered>| {
        let (status, issued) = issue_at(http, &server.base, &token, None, &page).unwrap();
        assert_eq!(status, 201, "{issued}");
        let before = !backup_began.load(Ordering::SeqCst);
        answered.lock().unwrap().push((
            issued["code"].as_str().unwrap().to_string(),
            path_of(issued["pdf"].as_str().unwrap()),
            before,
        ));
    };
    for _ in 0..4 {
        issue_one(&http, &answered);
    }
    let out = dir.join("backup");
    let (backup, took) = std::thread::scope(|s| {
        let loader = s.spawn(|| {
            let http = reqwest::blocking::Client::new();
            while !stop.load(Ordering::SeqCst) {
                issue_one(&http, &answered);
            }
        });
        std::thread::sleep(Duration::from_millis(300));
        backup_began.store(true, Ordering::SeqCst);
        let t = Instant::now();
        let (rc, backup) = source.cli_json(&["backup", "--out", out.to_str().unwrap(), "--json"]);
        let took = t.elapsed();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        loader.join().unwrap();
        assert_eq!(rc, 0, "{backup}\n{}", server.log());
        (backup, took)
    });
    let answered = answered.lock().unwrap().clone();
    drop(server);

    // The offline root's key never leaves the machine it is on.
    let files = files_under(&out);
    assert!(
        files.iter().any(|f| f.ends_with("keys/pki/root.pem")),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.ends_with("root.key")), "{files:?}");

    let t = Instant::now();
    let (rc, restored) = target.cli_json(&["restore", "--from", out.to_str().unwrap(), "--json"]);
    let restore_took = t.elapsed();
    assert_eq!(rc, 0, "{restored}");
    // Again into the same target: refused, it is not empty.
    let again = target.cli(&["restore", "--from", out.to_str().unwrap()]);
    assert!(!again.status.success(), "restored over an installation");

    // The restored installation: the log audit passes, the sweep removes what later issuances left.
    let (rc, audit) = target.cli_json(&["log", "audit", "--json"]);
    assert_eq!((rc, audit["ok"].as_bool()), (0, Some(true)), "{audit}");
    let (rc, sweep) = target.cli_json(&["maintain", "sweep", "--grace-minutes", "0", "--json"]);
    assert_eq!(rc, 0, "{sweep}");
    let (rc, audit) = target.cli_json(&["log", "audit", "--json"]);
    assert_eq!((rc, audit["ok"].as_bool()), (0, Some(true)), "{audit}");
    // Every copy's stored file read back and verified, by the operator's command.
    let (rc, check) = target.cli_json(&["maintain", "check", "--json"]);
    assert_eq!((rc, check["failed_count"].as_u64()), (0, Some(0)), "{check}");
    assert_eq!(check["checked"], audit["copies_checked"], "{check}");

    // Every copy answered before the backup began is there and verifies, through its own link; one answered
    // while the backup ran is there and verifies, or is absent (issued after the registry's snapshot).
    let restored_server = target.serve_at(&addr);
    let root = target.root_pem();
    let mut present = 0;
    for (code, pdf_path, before) in &answered {
        let r = restored_server.get(&format!("/api/v1/copies/{code}"));
        if r.status().as_u16() == 404 && !before {
            continue;
        }
        assert_eq!(
            r.status().as_u16(),
            200,
            "{code} (answered before the backup: {before})"
        );
        let pdf = restored_server.get(pdf_path).bytes().unwrap().to_vec();
        let (s, verdict) = restored_server.verify_pdf(&pdf);
        assert_eq!(
            (s, verdict["valid"].as_bool()),
            (200, Some(true)),
            "{code}: {verdict}"
        );
        if present == 0 {
            let (ok, out) = pyhanko_validate(dir, &root, &pdf);
            assert!(ok && pyhanko_accepts_bt(&out), "pyHanko on {code}: {out}");
        }
        present += 1;
    }
    assert_eq!(audit["copies_checked"].as_u64(), Some(present as u64), "{audit}");
    println!(
        "{} copies answered ({} before the backup began), {present} in the backup; backup {:.2} s \
         ({} objects, {} bytes), restore {:.2} s; sweep after restore removed {} objects",
        answered.len(),
        answered.iter().filter(|a| a.2).count(),
        took.as_secs_f64(),
        backup["objects"],
        backup["object_bytes"],
        restore_took.as_secs_f64(),
        sweep["removed"].as_array().map_or(0, Vec::len),
    );
}

#[test]
fn a_sqlite_installation_backed_up_while_issuing_is_restored_whole() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    backup_under_load_then_restore(
        Backend::local(&dir.join("a")),
        Backend::local(&dir.join("b")),
        dir,
    );

    // A copy whose stored file was damaged after the restore is named by the check, which then fails.
    let restored = Backend::local(&dir.join("b"));
    let stored = files_under(&restored.data_dir.join("objects/copies"))[0].clone();
    let mut bytes = std::fs::read(&stored).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&stored, bytes).unwrap();
    let (rc, check) = restored.cli_json(&["maintain", "check", "--json"]);
    assert_eq!((rc, check["failed_count"].as_u64()), (1, Some(1)), "{check}");
    assert_eq!(check["failed"].as_array().map(Vec::len), Some(1), "{check}");

    // A damaged backup is refused before anything is written.
    let out = dir.join("backup");
    let object = files_under(&out.join("objects/copies"))[0].clone();
    let mut bytes = std::fs::read(&object).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&object, bytes).unwrap();
    let fresh = Backend::local(&dir.join("c"));
    let (rc, refused): (i32, Value) = {
        let out = fresh.cli(&["restore", "--from", out.to_str().unwrap()]);
        (
            out.status.code().unwrap_or(-1),
            Value::String(String::from_utf8_lossy(&out.stderr).into_owned()),
        )
    };
    assert_ne!(rc, 0);
    assert!(refused.as_str().unwrap().contains("damaged"), "{refused}");
    assert!(!fresh.data_dir.join("banso.db").exists() && !fresh.data_dir.join("pki").exists());
}

#[test]
fn a_postgres_and_s3_installation_backed_up_while_issuing_is_restored_whole() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    backup_under_load_then_restore(
        Backend::postgres_s3(&dir.join("a")),
        Backend::postgres_s3(&dir.join("b")),
        dir,
    );
}
