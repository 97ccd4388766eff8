//! The transparency log: RFC 9162 proofs that a second, independent checker accepts; signed checkpoints;
//! and an audit that catches rows or leaves deleted or edited directly in the database.

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn rfc9162(kind: &str, proof: &Value, dir: &Path) -> bool {
    let file = dir.join(format!("proof-{}.json", unique()));
    std::fs::write(&file, proof.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/rfc9162_verify.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(kind)
        .arg(&file)
        .output()
        .unwrap();
    out.status.success()
}

fn sql(db: &Path, statement: &str) {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
        ])
        .arg(db)
        .arg(statement)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn audit(backend: &Backend, from: Option<&Path>) -> (i32, Value) {
    let mut args = vec!["log", "audit", "--json"];
    if let Some(f) = from {
        args.push("--from");
        args.push(f.to_str().unwrap());
    }
    backend.cli_json(&args)
}

#[test]
fn proofs_checkpoints_and_audits() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let backend = Backend::local(dir);
    let server = backend.serve();
    let token = backend.token("officer");
    let page = sample_page("jpeg", 100, 1);
    let fields = [
        ("holder_id", "001099012345"),
        ("holder_name", "Đỗ Thị Lan"),
        ("document_type", "Giấy khai sinh"),
    ];
    let mut codes = Vec::new();
    for _ in 0..3 {
        let (status, body) = server.issue(&token, &fields, std::slice::from_ref(&page));
        assert_eq!(status, 201, "{body}");
        codes.push(body["code"].as_str().unwrap().to_string());
    }
    // A checkpoint after three issuances, kept by an auditor.
    let first: Value = server.get("/api/v1/log/checkpoint").json().unwrap();
    assert_eq!(first["tree_size"], 3);
    let kept = dir.join("checkpoint.json");
    std::fs::write(&kept, first.to_string()).unwrap();

    let revoke = server
        .http
        .post(server.url(&format!("/api/v1/copies/{}/revoke", codes[0])))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "reason": "nhầm" }))
        .send()
        .unwrap();
    assert_eq!(revoke.status().as_u16(), 200);
    for _ in 0..2 {
        let (_, body) = server.issue(&token, &fields, std::slice::from_ref(&page));
        codes.push(body["code"].as_str().unwrap().to_string());
    }
    let head: Value = server.get("/api/v1/log/checkpoint").json().unwrap();
    assert_eq!(head["tree_size"], 6, "five issuances and one revocation");

    // Inclusion proofs verify with the independent checker and match the checkpoint's root.
    for code in &codes {
        let proof: Value = server
            .get(&format!("/api/v1/log/proof/inclusion?code={code}"))
            .json()
            .unwrap();
        assert_eq!(proof["tree_size"], 6);
        assert_eq!(proof["root_hash"], head["root_hash"]);
        assert!(proof["record"].as_str().unwrap().contains(&code.replace('-', "")));
        assert!(
            rfc9162("inclusion", &proof, dir),
            "inclusion proof of {code}: {proof}"
        );
        let mut forged = proof.clone();
        forged["leaf_index"] = (proof["leaf_index"].as_u64().unwrap() ^ 1).into();
        assert!(
            !rfc9162("inclusion", &forged, dir),
            "a proof for the wrong index must fail"
        );
    }
    // Consistency between every earlier size and the head.
    for first_size in 1..=6 {
        let proof: Value = server
            .get(&format!(
                "/api/v1/log/proof/consistency?first={first_size}&second=6"
            ))
            .json()
            .unwrap();
        assert!(rfc9162("consistency", &proof, dir), "{first_size}→6: {proof}");
        if first_size == 3 {
            assert_eq!(proof["first_root"], first["root_hash"]);
        }
    }
    let bad = server.get("/api/v1/log/proof/consistency?first=7&second=6");
    assert_eq!(bad.status().as_u16(), 422);

    // The verification JSON carries the inclusion proof.
    let (rc, v) = backend.cli_json(&["verify", &codes[1], "--json"]);
    assert_eq!(rc, 0);
    assert!(rfc9162("inclusion", &v["log"], dir), "{v}");
    let page_html = server
        .get(&format!("/v/{}", codes[1].replace('-', "")))
        .text()
        .unwrap();
    assert!(page_html.contains("Transparency log"), "{page_html}");

    // Audits pass on the untouched database, with and without the kept checkpoint.
    let (rc, report) = audit(&backend, Some(&kept));
    assert_eq!(rc, 0, "{report}");
    assert_eq!(report["copies_checked"], 5);
    // A checkpoint whose body was altered is refused.
    let mut forged = first.clone();
    forged["tree_size"] = 2.into();
    let forged_file = dir.join("forged.json");
    std::fs::write(&forged_file, forged.to_string()).unwrap();
    let out = backend.cli(&["log", "audit", "--from", forged_file.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);

    // Each direct edit of the database is caught, on its own copy of the data.
    let db_name = "banso.db";
    let tamper = |name: &str, statement: &str, expect: &str| {
        let copy_root = dir.join(name);
        std::fs::create_dir_all(&copy_root).unwrap();
        let copy = Backend::local(&copy_root);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&backend.data_dir)
            .arg(&copy.data_dir)
            .status()
            .unwrap();
        assert!(status.success());
        sql(&copy.data_dir.join(db_name), statement);
        let (rc, report) = audit(&copy, Some(&kept));
        assert_eq!(rc, 1, "{name} was not caught: {report}");
        let problems = report["problems"].to_string();
        assert!(
            problems.contains(expect),
            "{name}: expected '{expect}' in {problems}"
        );
    };
    let c1 = codes[1].replace('-', "");
    let c0 = codes[0].replace('-', "");
    tamper(
        "deleted-row",
        &format!("DELETE FROM copies WHERE code = '{c1}'"),
        "missing from the registry",
    );
    tamper(
        "edited-row",
        // (Its first byte changed whatever it was: one copy in 256 has a digest starting 00.)
        &format!(
            "UPDATE copies SET sha256 = CASE WHEN substr(sha256, 1, 2) = '00' THEN 'ff' ELSE '00' END \
             || substr(sha256, 3) WHERE code = '{c1}'"
        ),
        "SHA-256 differs",
    );
    tamper(
        "unrevoked",
        &format!("UPDATE copies SET status = 'valid' WHERE code = '{c0}'"),
        "log says revoked",
    );
    tamper(
        "edited-leaf",
        "UPDATE log_leaves SET record = replace(record, 'event: issued', 'event: issued ') WHERE idx = 1",
        "does not match its record",
    );
    tamper(
        "rehashed-leaf",
        &format!(
            "UPDATE log_leaves SET record = replace(record, 'copy: 1', 'copy: 2'), \
             leaf_hash = '{}' WHERE idx = 1",
            "0".repeat(64)
        ),
        "does not match its record",
    );
    tamper(
        "deleted-leaf",
        "DELETE FROM log_leaves WHERE idx = 5; UPDATE log_head SET size = 5",
        "not in the log",
    );
    tamper(
        "deleted-early-leaf",
        "DELETE FROM log_leaves WHERE idx = 0",
        "no longer hash to the checkpoint",
    );
}
