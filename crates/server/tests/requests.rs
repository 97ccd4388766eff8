//! Bad input, authentication, idempotency and the operator endpoints: every refusal has a stable code,
//! a 4xx status and leaves nothing half-written.

mod common;

use common::*;
use serde_json::Value;

fn error_code(v: &Value) -> &str {
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {v}"))
}

const FIELDS: [(&str, &str); 3] = [
    ("holder_id", "001099012345"),
    ("holder_name", "Phạm Văn Đức"),
    ("document_type", "Giấy khai sinh"),
];

#[test]
fn bad_input_is_refused_cleanly_and_leaves_nothing_behind() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path()).with_env("BANSO_MAX_UPLOAD_BYTES", "400000");
    let server = backend.serve();
    let token = backend.token("officer");
    let jpeg = sample_page("jpeg", 100, 1);
    assert!(jpeg.len() < 400_000);

    let cases: Vec<(&str, Vec<Vec<u8>>, u16, &str)> = vec![
        ("oversized", vec![vec![0x42; 500_000]], 413, "ISS-0004"),
        (
            "not an image",
            vec![b"just some text, not a scan".to_vec()],
            422,
            "ISS-0002",
        ),
        (
            "corrupt JPEG",
            vec![jpeg[..jpeg.len() / 2].to_vec()],
            422,
            "ISS-0003",
        ),
        ("zero pages", vec![], 422, "ISS-0001"),
        (
            "good then corrupt",
            vec![jpeg.clone(), b"\x89PNG\r\n\x1a\nbroken".to_vec()],
            422,
            "ISS-0003",
        ),
    ];
    for (name, pages, status, code) in cases {
        let (got, body) = server.issue(&token, &FIELDS, &pages);
        assert_eq!((got, error_code(&body)), (status, code), "{name}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    // Missing fields, and JSON that is not an issuance.
    let (got, body) = server.issue(&token, &FIELDS[..2], std::slice::from_ref(&jpeg));
    assert_eq!((got, error_code(&body)), (422, "ISS-0005"), "{body}");
    let r = server
        .http
        .post(server.url("/api/v1/copies"))
        .bearer_auth(&token)
        .body("{\"holder\":")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);
    assert_eq!(error_code(&r.json().unwrap()), "REQ-0001");

    // A name the copy's font cannot print is refused before anything is read, stored or numbered.
    let (got, body) = server.issue(
        &token,
        &[
            ("holder_id", "001099012345"),
            ("holder_name", "王小明"),
            ("document_type", "Hộ chiếu"),
        ],
        std::slice::from_ref(&jpeg),
    );
    assert_eq!((got, error_code(&body)), (422, "ISS-0007"), "{body}");
    assert!(
        files_under(&backend.data_dir.join("objects")).is_empty(),
        "orphan objects left behind"
    );

    // Nothing was registered and no number was used: the next copy is number 01.
    let (got, body) = server.issue(&token, &FIELDS, std::slice::from_ref(&jpeg));
    assert_eq!(got, 201, "{body}");
    assert!(body["number"].as_str().unwrap().starts_with("Số: 01,"), "{body}");
    let stored = files_under(&backend.data_dir.join("objects"));
    assert_eq!(stored.len(), 2, "one original and one PDF: {stored:?}");

    // The CLI refuses the same way, with exit code 1, and a missing file is an operational error (2).
    let txt = tmp.path().join("note.txt");
    std::fs::write(&txt, "not a scan").unwrap();
    let (rc, err) = backend.cli_json(&[
        "issue",
        "--holder-id",
        "001099012345",
        "--holder-name",
        "A",
        "--doc-type",
        "B",
        "--json",
        txt.to_str().unwrap(),
    ]);
    assert_eq!((rc, error_code(&err)), (1, "ISS-0002"));
    let (rc, err) = backend.cli_json(&[
        "issue",
        "--holder-id",
        "001099012345",
        "--holder-name",
        "A",
        "--doc-type",
        "B",
        "--json",
    ]);
    assert_eq!((rc, error_code(&err)), (1, "ISS-0001"));
    let out = backend.cli(&[
        "issue",
        "--holder-id",
        "001099012345",
        "--holder-name",
        "A",
        "--doc-type",
        "B",
        "/nonexistent.jpg",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = backend.cli(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn codes_typos_are_told_apart_from_unknown_copies() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    let token = backend.token("officer");
    let (_, issued) = server.issue(&token, &FIELDS, &[sample_page("jpeg", 100, 1)]);
    let code = issued["code"].as_str().unwrap().to_string();

    // Typed in lower case with spaces, O for 0 and L for 1: still found.
    let sloppy = code
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o")
        .replace('1', "l");
    let r = server.get(&format!("/api/v1/copies/{}", sloppy.replace(' ', "%20")));
    assert_eq!(r.status().as_u16(), 200);
    // One symbol changed: check symbol mismatch, not "not found".
    let mut chars: Vec<char> = code.chars().collect();
    chars[2] = if chars[2] == 'A' { 'B' } else { 'A' };
    let typo: String = chars.into_iter().collect();
    let r = server.get(&format!("/api/v1/copies/{typo}"));
    assert_eq!(r.status().as_u16(), 422);
    let body: Value = r.json().unwrap();
    assert_eq!(error_code(&body), "VER-0002");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("check symbol mismatch"));
    // A well-formed code that was never issued.
    let unknown = "0000-0000-0000-0000-0000";
    let r = server.get(&format!("/api/v1/copies/{unknown}"));
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(error_code(&r.json().unwrap()), "VER-0003");
    let r = server.get("/api/v1/copies/ABC");
    assert_eq!(
        (r.status().as_u16(), error_code(&r.json().unwrap()).to_string()),
        (422, "VER-0001".into())
    );
    // The public page says it in Vietnamese and English.
    let page = server.get(&format!("/v/{typo}"));
    assert_eq!(page.status().as_u16(), 422);
    let html = page.text().unwrap();
    assert!(html.contains("gõ nhầm") && html.contains("mistyped"), "{html}");
    let lookup = server
        .http
        .get(server.url(&format!("/v?code={}", code.to_lowercase())))
        .send()
        .unwrap();
    assert!(lookup.text().unwrap().contains("Bản sao có hiệu lực"));
    // CLI: exit 1 and the same words.
    let out = backend.cli(&["verify", &typo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("check symbol mismatch"));
}

#[test]
fn authentication_roles_and_idempotency() {
    let tmp = tempfile::TempDir::new().unwrap();
    // Debug logging, so the check that no secret reaches the log means something.
    let backend = Backend::local(tmp.path()).with_env("BANSO_LOG", "debug");
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let officer = backend.token("officer");
    let page = sample_page("jpeg", 100, 1);

    let anonymous = server
        .http
        .post(server.url("/api/v1/copies"))
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(error_code(&anonymous.json().unwrap()), "AUTH-0001");
    let (status, body) = server.issue("bnso_not-a-real-token", &FIELDS, std::slice::from_ref(&page));
    assert_eq!((status, error_code(&body)), (401, "AUTH-0002"));

    // The same Idempotency-Key returns the first result; nothing is issued twice.
    let send = |key: &str| {
        let form = reqwest::blocking::multipart::Form::new()
            .text("holder_id", "001099012345")
            .text("holder_name", "Võ Thị Sáu")
            .text("document_type", "Giấy khai sinh")
            .part(
                "page",
                reqwest::blocking::multipart::Part::bytes(page.clone()).file_name("p.jpg"),
            );
        let r = server
            .http
            .post(server.url("/api/v1/copies"))
            .bearer_auth(&officer)
            .header("Idempotency-Key", key)
            .multipart(form)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap())
    };
    let (s1, first) = send("kiosk-7/req-1");
    let (s2, again) = send("kiosk-7/req-1");
    let (s3, other) = send("kiosk-7/req-2");
    assert_eq!((s1, s2, s3), (201, 200, 201));
    assert_eq!(first["code"], again["code"]);
    assert_eq!(again["replayed"], true);
    assert_eq!(
        first["pdf"], again["pdf"],
        "the replay carries the same capability key"
    );
    assert_ne!(first["code"], other["code"]);
    assert!(
        other["number"].as_str().unwrap().starts_with("Số: 02,"),
        "{other}"
    );

    // Kiosks may not revoke; officers may.
    let code = first["code"].as_str().unwrap();
    let revoke = |token: &str| {
        server
            .http
            .post(server.url(&format!("/api/v1/copies/{code}/revoke")))
            .bearer_auth(token)
            .json(&serde_json::json!({ "reason": "test" }))
            .send()
            .unwrap()
    };
    let r = revoke(&kiosk);
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(error_code(&r.json().unwrap()), "AUTH-0003");
    let r = server
        .http
        .post(server.url(&format!("/api/v1/copies/{code}/revoke")))
        .bearer_auth(&officer)
        .json(&serde_json::json!({ "reason": "  " }))
        .send()
        .unwrap();
    assert_eq!(error_code(&r.json().unwrap()), "REV-0002");
    assert_eq!(revoke(&officer).status().as_u16(), 200);

    // Tokens and capability keys never reach the log.
    let log = server.log();
    let key = first["pdf"].as_str().unwrap().split("k=").nth(1).unwrap();
    assert!(
        !log.contains(&kiosk) && !log.contains(&officer) && !log.contains(key),
        "secret in the log: {log}"
    );
    // The database keeps only token hashes.
    let db = std::fs::read(backend.data_dir.join("banso.db")).unwrap();
    assert!(
        !db.windows(kiosk.len()).any(|w| w == kiosk.as_bytes()),
        "a token is stored in clear"
    );
}

#[test]
fn operator_endpoints_and_private_files() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    for needle in ["verification portal", "/api/v1/", "/healthz", "/metrics"] {
        assert!(
            server.banner.contains(needle),
            "banner lacks {needle}: {}",
            server.banner
        );
    }
    let health: Value = server.get("/healthz").json().unwrap();
    assert_eq!(health["status"], "ok");
    let token = backend.token("officer");
    let (status, _) = server.issue(&token, &FIELDS, &[sample_page("png", 100, 1)]);
    assert_eq!(status, 201);
    let metrics = server.get("/metrics").text().unwrap();
    assert!(metrics.contains("banso_copies_issued_total 1"), "{metrics}");
    assert!(metrics.contains("banso_issue_duration_seconds_count 1"));
    assert!(
        metrics.contains("route=\"/api/v1/copies\",status=\"201\""),
        "{metrics}"
    );
    // The document served is the committed one, which a unit test diffs with the routes both ways; every path
    // it lists is answered (not "no such endpoint").
    let openapi: Value = server.get("/api/openapi.json").json().unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    for (path, item) in openapi["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{code}", "0000")
            .replace("{id}", "x")
            .replace("{file}", "x.crl")
            .replace("{request}", "x");
        for method in item.as_object().unwrap().keys() {
            let r = server
                .http
                .request(method.to_uppercase().parse().unwrap(), server.url(&concrete))
                .send()
                .unwrap();
            let status = r.status().as_u16();
            let body = r.text().unwrap_or_default();
            assert!(
                status != 405 && !body.contains("no such endpoint"),
                "{method} {path} is documented but not served: {status} {body}"
            );
        }
    }
    let missing = server.get("/api/v1/nothing-here");
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(error_code(&missing.json().unwrap()), "REQ-0002");
    // Malformed addresses and query strings get a stable code too, never plain text.
    let r = server.get("/api/v1/copies/%FF%FE");
    assert_eq!(
        (r.status().as_u16(), error_code(&r.json().unwrap()).to_string()),
        (422, "REQ-0001".into())
    );
    let r = server.get("/api/v1/copies/0000-0000-0000-0000-0000/pdf?k=a&k=b");
    assert_eq!(
        (r.status().as_u16(), error_code(&r.json().unwrap()).to_string()),
        (422, "REQ-0001".into())
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut secrets = files_under(&backend.data_dir.join("pki"));
        secrets.retain(|p| p.extension().is_some_and(|e| e == "key"));
        secrets.extend(files_under(&backend.data_dir.join("secrets")));
        // root, issuing CA, seal, TSA and OCSP responder keys; the capability secret and the log key.
        assert_eq!(secrets.len(), 7, "{secrets:?}");
        for s in secrets {
            let mode = std::fs::metadata(&s).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", s.display());
        }
    }
}

#[test]
fn concurrent_issuances_get_distinct_gapless_numbers() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let server = backend.serve();
    let token = backend.token("officer");
    let page = sample_page("jpeg", 100, 1);
    let mut numbers: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| {
                    let (status, body) = server.issue(&token, &FIELDS, std::slice::from_ref(&page));
                    assert_eq!(status, 201, "{body}");
                    body["sequence"].as_u64().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    numbers.sort();
    assert_eq!(
        numbers,
        vec![1, 2, 3, 4, 5, 6],
        "numbers must be distinct and without gaps"
    );
    let (rc, report) = backend.cli_json(&["log", "audit", "--json"]);
    assert_eq!(rc, 0, "{report}");
    assert_eq!(report["tree_size"], 6);
}
