//! The back office's sign-in on a real `banso serve`: accounts made with `banso officer create`; a browser
//! story (Debian's chromium, tests/browser/office.mjs, which computes the TOTP codes with its own RFC 6238)
//! signs in with password and code and is refused what it must be refused; the lock after repeated failures;
//! anonymous clients hammering the sign-in get at most two password hashes at once and the rest told to retry;
//! the audit log's chain, checked by `banso officer audit-check`, breaks where a row was edited.

mod common;

use common::citizen::*;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Makes an account; its (username, password, TOTP secret in base32).
fn account(backend: &Backend, dir: &Path, username: &str, role: &str) -> (String, String, String) {
    let password = format!("mật khẩu dài của {username}");
    let file = dir.join(format!("{username}.password"));
    std::fs::write(&file, &password).unwrap();
    let (rc, made) = backend.cli_json(&[
        "officer",
        "create",
        "--username",
        username,
        "--name",
        &format!("Cán bộ {username}"),
        "--role",
        role,
        "--password-file",
        file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(rc, 0, "{made}");
    assert!(
        made["otpauth"].as_str().unwrap().starts_with("otpauth://totp/"),
        "{made}"
    );
    (
        username.to_string(),
        password,
        made["totp_secret"].as_str().unwrap().to_string(),
    )
}

fn text_of(report: &Value, key: &str) -> String {
    report[key].as_str().unwrap_or_default().to_string()
}

/// A browser story's report (the last line it printed), once the story succeeded and axe-core found no serious
/// or critical violation on its pages.
fn story_report(story: &str, printed: &str, errors: &str, succeeded: bool, server: &Server) -> Value {
    let report: Value = printed
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no report from {story}: {printed}\n{errors}"));
    assert!(
        succeeded,
        "the {story} story failed: {report:#}\n{}",
        server.log()
    );
    let serious: Vec<&Value> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(serious.is_empty(), "axe-core: {serious:#?}");
    report
}

fn login(server: &Server, username: &str, password: &str) -> (u16, String) {
    let r = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url("/office/login"))
        .form(&[("username", username), ("password", password)])
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap_or_default())
}

#[test]
fn officers_sign_in_with_a_password_and_a_code_and_everything_else_is_refused() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let mut citizens = Citizens::new(dir, &[("001099012345", "Nguyễn Văn An")]);
    let backend = citizens.trusted_by(Backend::local(dir));
    let supervisor = account(&backend, dir, "lan.tran", "supervisor");
    let auditor = account(&backend, dir, "minh.le", "auditor");
    let officer = account(&backend, dir, "hoa.pham", "officer");
    let locked = account(&backend, dir, "binh.vo", "officer");
    let admin = account(&backend, dir, "quan.tri", "administrator");
    let guessed = account(&backend, dir, "tam.do", "officer");
    // A username is taken once.
    let again = dir.join("again.password");
    std::fs::write(&again, "another long password").unwrap();
    let (rc, e) = backend.cli_json(&[
        "officer",
        "create",
        "--username",
        "lan.tran",
        "--name",
        "X",
        "--role",
        "officer",
        "--password-file",
        again.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!((rc, e["error"]["code"].as_str()), (1, Some("ISS-0005")), "{e}");
    let server = backend.serve();
    let (rc, made) = backend.cli_json(&[
        "token",
        "create",
        "--role",
        "kiosk",
        "--name",
        "ki-ốt 01",
        "--json",
    ]);
    assert_eq!(rc, 0, "{made}");
    let kiosk = made["token"].as_str().unwrap().to_string();
    let kiosk_id = made["id"].as_str().unwrap().to_string();
    let wallet = |token: &str| {
        server
            .http
            .get(server.url("/api/v1/wallet"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_ne!(
        wallet(&kiosk),
        401,
        "the kiosk's token works before it is revoked"
    );
    // A dossier filed at the kiosk for a citizen its chip and face identified (a signature's certification).
    let session = server.identify(&kiosk, &mut citizens.people[0]);
    let page = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(sample_page("jpeg", 150, 9))
    };
    let file_dossier = || -> (String, String) {
        let filed: Value = server
        .http
        .post(server.url("/api/v1/dossiers"))
        .bearer_auth(&kiosk)
        .header("banso-identity-session", &session)
        .json(&serde_json::json!({
            "procedure": "2.000884",
            "form": {"document_title": "Giấy ủy quyền", "signers": "1", "fingerprint": "ky", "phone": "0912345678"},
            "attachments": [{"document": "giay-to-can-ky", "pages": [page]}],
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
        let code = filed["dossier"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{filed}"))
            .to_string();
        (
            code,
            filed["lookup_code"].as_str().unwrap_or_default().to_string(),
        )
    };
    let (code, lookup) = file_dossier();
    // A second one, whose result an officer attaches from its page (a PDF the officer made: here, the first
    // dossier's slip).
    let (for_result, _) = file_dossier();
    let slip = server
        .http
        .get(server.url(&format!("/api/v1/dossiers/{code}/slip.pdf?k={lookup}")))
        .send()
        .unwrap();
    assert_eq!(slip.status().as_u16(), 200);
    let result_pdf = dir.join("ket-qua.pdf");
    std::fs::write(&result_pdf, slip.bytes().unwrap()).unwrap();

    let shots = std::env::var_os("BANSO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("shots"))
        .join("office");
    let as_env = |a: &(String, String, String)| format!("{}|{}|{}", a.0, a.1, a.2);
    let out = Command::new("node")
        .arg("office.mjs")
        .arg(server.url(""))
        .arg(&shots)
        .env("OFFICE_SUPERVISOR", as_env(&supervisor))
        .env("OFFICE_AUDITOR", as_env(&auditor))
        .env("OFFICE_OFFICER", as_env(&officer))
        .env("KIOSK_TOKEN", &kiosk)
        .env("KIOSK_TOKEN_ID", &kiosk_id)
        .env("DOSSIER_CODE", &code)
        .env("RESULT_DOSSIER", &for_result)
        .env("RESULT_PDF", &result_pdf)
        .env("OFFICE_ADMIN", as_env(&admin))
        .current_dir(browser_dir())
        .output()
        .expect("node office.mjs");
    let report = story_report(
        "office",
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
        out.status.success(),
        &server,
    );
    let text = |k: &str| report[k]["text"].as_str().unwrap_or_default().to_string();
    assert_eq!(report["wrongPassword"]["status"], 401, "{report}");
    assert!(text("wrongPassword").contains("OFF-0001"), "{report}");
    assert_eq!(report["wrongCode"]["status"], 401, "{report}");
    assert!(text("wrongCode").contains("OFF-0001"), "{report}");
    assert!(
        report["home"].as_str().unwrap().contains("Lãnh đạo bộ phận"),
        "{report}"
    );
    assert_eq!(report["cookie"]["httpOnly"], true, "{report}");
    assert_eq!(report["cookie"]["sameSite"], "Strict", "{report}");
    assert_eq!(report["cookie"]["path"], "/office", "{report}");
    let audit = report["audit"].as_str().unwrap();
    for want in ["officer_created", "login_refused", "login", "lan.tran"] {
        assert!(audit.contains(want), "the audit log has {want}: {audit}");
    }
    assert!(report["chain"].as_str().unwrap().contains("toàn vẹn"), "{report}");
    assert_eq!(report["forgedLogout"]["status"], 401, "{report}");
    assert_eq!(report["forgedLogout"]["text"], true, "{report}");
    assert_eq!(
        report["stillSignedIn"], true,
        "a forged form ends nothing: {report}"
    );
    assert_eq!(report["kioskToken"]["status"], 403, "{report}");
    assert_eq!(report["kioskToken"]["text"], true, "{report}");
    assert_eq!(report["stolenCookie"], "/office/login", "{report}");
    assert_eq!(report["stolenAudit"], 303, "{report}");
    assert!(
        report["auditorRole"].as_str().unwrap().contains("Kiểm tra"),
        "{report}"
    );
    assert!(
        report["auditorAudit"].as_str().unwrap().contains("logout"),
        "{report}"
    );
    // The dossier, taken and asked for a document in the officer's name; both moves in the audit log.
    assert!(
        report["queue"].as_str().unwrap().contains("Nguyễn Văn An"),
        "{report}"
    );
    assert!(
        report["afterAssign"]
            .as_str()
            .unwrap()
            .contains("Đang giải quyết"),
        "{report}"
    );
    assert_eq!(report["officer"].as_str().unwrap().trim(), "lan.tran", "{report}");
    assert!(
        report["afterRequest"].as_str().unwrap().contains("bổ sung"),
        "{report}"
    );
    for want in ["dossier_assign", "dossier_request_documents", code.as_str()] {
        assert!(
            report["auditorAudit"].as_str().unwrap().contains(want),
            "{want}: {report}"
        );
    }
    let officer_token = backend.token("officer");
    // The result attached from the dossier's page: sealed, and the dossier's step moved.
    assert!(
        text_of(&report, "afterResult").contains("Đã có kết quả"),
        "{report}"
    );
    let (s, with_result) = server.kiosk_json(
        &officer_token,
        reqwest::Method::GET,
        &format!("/api/v1/integration/dossiers/{for_result}"),
        None,
    );
    assert_eq!(
        (s, with_result["status"].as_str()),
        (200, Some("result_ready")),
        "{with_result}"
    );
    let (s, staff) = server.kiosk_json(
        &officer_token,
        reqwest::Method::GET,
        &format!("/api/v1/integration/dossiers/{code}"),
        None,
    );
    assert_eq!(s, 200, "{staff}");
    assert_eq!(staff["status"], "more_documents_requested", "{staff}");
    assert_eq!(staff["officer"], "lan.tran", "{staff}");
    assert_eq!(
        report["auditorAfter3"], "4",
        "a page starts after the entry it names: {report}"
    );
    assert_eq!(report["officerAuditLink"], 0, "{report}");
    assert_eq!(report["officerAudit"]["status"], 403, "{report}");
    assert!(text("officerAudit").contains("OFF-0004"), "{report}");
    // The administrator's account made in the form signs in; the kiosk's token revoked there stops at once.
    assert!(
        report["accounts"].as_str().unwrap().contains("thu.ngo"),
        "{report}"
    );
    assert!(
        report["newcomerRole"].as_str().unwrap().contains("Cán bộ"),
        "{report}"
    );
    assert!(
        report["tokenBefore"].as_str().unwrap().contains("đang dùng"),
        "{report}"
    );
    assert!(
        report["tokenAfter"].as_str().unwrap().contains("đã thu hồi"),
        "{report}"
    );
    assert_eq!(wallet(&kiosk), 401, "a revoked token opens nothing");

    // Five wrong passwords lock the account: the right one is refused for the lock's time (OFF-0002, 429).
    for _ in 0..5 {
        let (s, body) = login(&server, &locked.0, "wrong password, long enough");
        assert_eq!(s, 401, "{body}");
    }
    let (s, body) = login(&server, &locked.0, &locked.1);
    assert_eq!(s, 429, "{body}");
    assert!(body.contains("OFF-0002"), "{body}");
    // Twenty wrong codes at once on one pending login (the password known): each is counted before it is
    // checked, so at most five are checked at all; the rest find the account locked.
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pending = http
        .post(server.url("/office/login"))
        .form(&[("username", guessed.0.as_str()), ("password", guessed.1.as_str())])
        .send()
        .unwrap();
    assert_eq!(pending.status().as_u16(), 303);
    let cookie = pending
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let guesses: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (http, cookie, server) = (&http, &cookie, &server);
                s.spawn(move || {
                    http.post(server.url("/office/login/code"))
                        .header("cookie", cookie)
                        .form(&[("code", format!("{:06}", 100_000 + i))])
                        .send()
                        .unwrap()
                        .text()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let checked = guesses.iter().filter(|b| b.contains("OFF-0001")).count();
    assert!(
        checked <= 5 && guesses.iter().all(|b| b.contains("OFF-000")),
        "{checked} codes checked of twenty at once"
    );
    // An unknown username is refused like a wrong password.
    let (s, body) = login(&server, "nobody.here", "whatever password");
    assert_eq!(s, 401, "{body}");
    assert!(body.contains("OFF-0001"), "{body}");

    // Forty anonymous sign-ins at once: at most two Argon2id hashes run at a time; the rest are told to retry
    // (503 REQ-0003), none fails otherwise, and the service's memory stays bounded.
    let before = server.rss_bytes();
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..40)
            .map(|i| {
                let server = &server;
                // An unknown username: never locked, and hashed all the same (a decoy hash).
                s.spawn(move || login(server, "no.such.officer", &format!("guess number {i} of many")))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let busy = answers
        .iter()
        .filter(|(s, b)| *s == 503 && b.contains("REQ-0003"))
        .count();
    let refused = answers
        .iter()
        .filter(|(s, b)| *s == 401 && b.contains("OFF-0001"))
        .count();
    assert_eq!(busy + refused, 40, "{answers:?}");
    assert!(busy > 0, "forty at once were all hashed: {answers:?}");
    let after = server.rss_bytes();
    assert!(
        after < before + (96 << 20),
        "memory grew from {before} to {after} bytes"
    );

    // The audit log's chain holds; a row edited in the database breaks it where it was edited.
    drop(server);
    let (rc, check) = backend.cli_json(&["officer", "audit-check", "--json"]);
    assert_eq!((rc, &check["intact"]), (0, &Value::Bool(true)), "{check}");
    let db = dir.join("data/banso.db");
    let edited = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             c.execute(\"UPDATE audit_log SET actor = 'someone.else' WHERE seq = 3\"); c.commit()",
        ])
        .arg(&db)
        .status()
        .unwrap();
    assert!(edited.success());
    let (rc, check) = backend.cli_json(&["officer", "audit-check", "--json"]);
    assert_eq!((rc, check["first_broken"].as_u64()), (1, Some(3)), "{check}");
}

/// The first file under `dir` whose name starts with `prefix`.
fn object(dir: &Path, prefix: &str) -> Vec<u8> {
    let found = files_under(dir)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no object {prefix}* under {}", dir.display()));
    std::fs::read(found).unwrap()
}

#[test]
fn officers_decide_what_the_intake_held_and_two_never_decide_one() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let corpus_dir = dir.join("corpus");
    corpus(&corpus_dir, "clean", 3, 11);
    // Three birth certificates of other people, brought by one citizen: the names differ from the identity the
    // chip and face proved, so the intake holds each for an officer, with the name's region flagged.
    let pages: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let truth: Value = serde_json::from_slice(
                &std::fs::read(corpus_dir.join(format!("birth_certificate-clean-{i:03}.json"))).unwrap(),
            )
            .unwrap();
            std::fs::read(corpus_dir.join(truth["image_file"].as_str().unwrap())).unwrap()
        })
        .collect();
    let mut citizens = Citizens::new(
        dir,
        &[("001099012345", "Lê Thị Hoa"), ("079200000001", "Trần Văn Bảo")],
    );
    let maildir = dir.join("mail");
    let relay = smtp(&maildir);
    let backend = citizens
        .trusted_by(Backend::local(dir))
        .with_env("BANSO_INTAKE", "on")
        .with_env("BANSO_SMTP_URL", &format!("smtp://127.0.0.1:{}", relay.1));
    // The officers who sign the copies they approve have certificates of their own.
    // Their revocation status is served by this server (pyHanko asks it). The server's public name is
    // localhost: a passkey's relying party must be a host name, not an address.
    let port = free_port();
    let public = format!("http://localhost:{port}");
    let backend = backend.with_env("BANSO_PUBLIC_BASE_URL", &public);
    let out = backend.cli(&[
        "pki",
        "init",
        "--officer",
        "hoa.pham",
        "--officer",
        "lan.tran",
        "--base-url",
        &public,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let officer = account(&backend, dir, "hoa.pham", "officer");
    let supervisor = account(&backend, dir, "lan.tran", "supervisor");
    let auditor = account(&backend, dir, "minh.le", "auditor");
    let server = backend.serve_at(&format!("127.0.0.1:{port}"));
    let kiosk = backend.token("kiosk");
    let session = server.identify(&kiosk, &mut citizens.people[0]);
    let held: Vec<String> = pages
        .iter()
        .map(|page| {
            let (status, e) = server.issue_for(
                &kiosk,
                &session,
                &[("document_type", "Giấy khai sinh")],
                std::slice::from_ref(page),
            );
            assert_eq!((status, e["status"].as_str()), (202, Some("held")), "{e}");
            e["intake_id"].as_str().unwrap().to_string()
        })
        .collect();
    // The citizen leaves an e-mail address at the kiosk for the outcome of each; another citizen's session, an
    // unknown receipt code or an address that is not one are refused, and nothing is kept for them.
    let notify = |session: &str, id: &str, to: &str| {
        let r = server
            .http
            .post(server.url(&format!("/api/v1/reviews/{id}/notify")))
            .bearer_auth(&kiosk)
            .header("banso-identity-session", session)
            .json(&serde_json::json!({ "to": to }))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
    };
    let stranger = server.identify(&kiosk, &mut citizens.people[1]);
    let (s, e) = notify(&stranger, &held[0], "bao.tran@example.vn");
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("OFF-0006")), "{e}");
    let (s, e) = notify(&session, "no-such-receipt", "hoa.le@example.vn");
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("OFF-0006")), "{e}");
    let (s, e) = notify(&session, &held[0], "Hoa <hoa.le@example.vn>");
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("DEL-0001")), "{e}");
    let (s, e) = notify("not-a-session", &held[0], "hoa.le@example.vn");
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    for id in &held {
        let (s, e) = notify(&session, id, "hoa.le@example.vn");
        assert_eq!(s, 202, "{e}");
    }
    // One more at the counter: an officer's own request is its review, issued at once.
    let counter = backend.token("officer");
    let (status, at_counter) = server.issue(
        &counter,
        &[
            ("holder_id", "001099012345"),
            ("holder_name", "Lê Thị Hoa"),
            ("document_type", "Giấy khai sinh"),
        ],
        std::slice::from_ref(&pages[2]),
    );
    assert_eq!(status, 201, "{at_counter}");

    let shots = std::env::var_os("BANSO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("shots"))
        .join("review");
    let year = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+7))
        .year()
        .to_string();
    let as_env = |a: &(String, String, String)| format!("{}|{}|{}", a.0, a.1, a.2);
    let out = Command::new("node")
        .arg("review.mjs")
        .arg(&public)
        .arg(&shots)
        .env("REVIEW_OFFICER", as_env(&officer))
        .env("REVIEW_SUPERVISOR", as_env(&supervisor))
        .env("REVIEW_AUDITOR", as_env(&auditor))
        .env("HELD", held.join(","))
        .env("BOOK_YEAR", &year)
        .current_dir(browser_dir())
        .output()
        .expect("node review.mjs");
    let report = story_report(
        "review",
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
        out.status.success(),
        &server,
    );
    let text = |k: &str| report[k].as_str().unwrap_or_default().to_string();
    for id in &held {
        assert!(text("queue").contains(id.as_str()), "{report}");
    }
    assert!(text("queue").contains("Lê Thị Hoa"), "{report}");
    assert_eq!(text("identity"), "Lê Thị Hoa", "{report}");
    assert!(
        text("regions").parse::<u32>().unwrap() >= 1,
        "the flagged name is drawn on the page: {report}"
    );
    assert!(text("checks").contains("identity."), "{report}");
    // One of the two officers won the race; the other was told, and could not approve it anyway.
    assert_ne!(report["race"]["a"], report["race"]["b"], "{report}");
    assert!(
        text("loser").contains("OFF-0005") || text("loser").contains("đang xem xét"),
        "{report}"
    );
    assert_eq!(report["loserApprove"]["status"], 409, "{report}");
    assert_eq!(report["loserApprove"]["text"], true, "{report}");
    assert!(text("approvedState").contains("Đã chứng thực"), "{report}");
    assert!(text("refusedState").contains("Từ chối"), "{report}");
    assert!(text("rescanState").contains("quét lại"), "{report}");
    assert!(!text("queueAfter").contains(held[0].as_str()), "{report}");
    // The auditor read every move and could make none.
    for want in ["review_claim", "review_approve", "review_refuse", "review_rescan"] {
        assert!(text("audit").contains(want), "{want}: {report}");
    }
    assert!(text("audit").contains("passkey_added"), "{report}");
    // The registry: by holder only with a reason; the copies found; the approved one cancelled by decision.
    assert!(text("holderWithoutReason").contains("ISS-0005"), "{report}");
    assert_eq!(
        report["byHolderCount"], 2,
        "the approved copy and the counter's: {report}"
    );
    assert!(text("cancelled").contains("Đã hủy theo quyết định"), "{report}");
    for want in ["registry_holder_search", "copy_cancelled"] {
        assert!(text("audit").contains(want), "{want}: {report}");
    }
    // The passkey registered in the virtual authenticator signed the officer in; a forged one did not.
    assert!(text("passkeys").contains("Máy tính bàn làm việc"), "{report}");
    assert_eq!(report["forgedPasskey"]["status"], 401, "{report}");
    assert_eq!(report["forgedPasskey"]["text"], true, "{report}");
    assert_eq!(text("passkeyHome"), "Cán bộ", "{report}");
    assert_eq!(report["auditorQueue"]["status"], 403, "{report}");
    assert_eq!(report["auditorClaim"], 403, "{report}");

    // The approved copy: issued with the winning officer's signature beside the seal, and valid for pyHanko.
    let winner = text("winner");
    let code: String = text("issued")
        .split_whitespace()
        .find(|w| w.len() >= 12 && w.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| panic!("no code in {report}"))
        .to_string();
    let objects = backend.data_dir.join("objects");
    let pdf = object(&objects, &code);
    let root = backend.root_pem();
    let (valid, out) = pyhanko_validate(dir, &root, &pdf);
    assert!(valid, "pyHanko: {out}");
    let sigs = pdfsig(dir, &root, &pdf);
    assert!(
        sigs.contains(&winner),
        "the copy carries {winner}'s signature: {sigs}"
    );
    // Each outcome e-mailed to the address the citizen left, once: the copy (sealed and signed), the refusal
    // notice (naming the clause), the request to scan again.
    let start = std::time::Instant::now();
    while mailed(&maildir).len() < 3 && start.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let mails = mailed(&maildir);
    assert_eq!(
        mails.len(),
        3,
        "one mail per decided request: {:?}",
        mails.iter().map(|m| &m.1).collect::<Vec<_>>()
    );
    let mail_of = |id: &str| {
        mails
            .iter()
            .find(|(_, subject, _)| subject.contains(id))
            .unwrap_or_else(|| panic!("no mail for {id}"))
    };
    for (to, _, _) in &mails {
        assert_eq!(to, "hoa.le@example.vn");
    }
    let (_, _, mailed_copy) = mail_of(&held[0]);
    assert_eq!(mailed_copy, &pdf, "the approved copy itself is attached");
    let (_, _, mailed_notice) = mail_of(&held[1]);
    let (valid, out) = pyhanko_validate(dir, &root, mailed_notice);
    assert!(valid, "pyHanko on the mailed notice: {out}");
    assert!(
        pdftotext(dir, mailed_notice).contains("Điều 22"),
        "the notice names its ground"
    );
    let (_, _, rescan) = mail_of(&held[2]);
    assert!(rescan.is_empty(), "the request to scan again carries no PDF");
    // The refusal: a sealed notice naming the clause and the officer's words.
    let notice = object(&objects.join("notices"), &held[1]);
    let (valid, out) = pyhanko_validate(dir, &root, &notice);
    assert!(valid, "pyHanko on the notice: {out}");
    let (ok, out) = qpdf_check(dir, &notice);
    assert!(ok, "{out}");
    let words = pdftotext(dir, &notice)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(words.contains("Điều 22"), "{words}");
    assert!(words.contains("sửa chữa ở phần họ tên"), "{words}");
    assert!(words.contains("Lê Thị Hoa"), "{words}");

    // The supervisor's dashboard counts what this story made: four requests (three held at the kiosk, one
    // at the counter, which the intake also sent to an officer), one refusal on clause 1, three decisions.
    let dash = &report["dashboard"];
    assert_eq!(dash["requests"], "4", "{report}");
    assert_eq!(dash["heldRate"], "100.0 %", "{report}");
    assert!(
        dash["grounds"].as_str().unwrap().contains("Khoản 1 Điều 22\t1"),
        "{report}"
    );
    let officers = dash["officers"].as_str().unwrap();
    assert!(officers.contains("hoa.pham"), "{report}");
    assert!(officers.contains(&winner), "{report}");
    assert!(dash["reviewTime"].as_str().unwrap().contains("p95"), "{report}");
    assert!(dash["bars"].as_u64().unwrap() >= 1, "{report}");
    // By place: the kiosk (its token's name) sent three, the counter one; all four are copy requests.
    let by_channel = dash["byChannel"].as_str().unwrap();
    assert!(by_channel.contains("test\t3\t0"), "{by_channel}");
    assert!(
        by_channel.contains("Tại quầy / at the counter\t1\t0"),
        "{by_channel}"
    );
    assert!(
        dash["byProcedure"]
            .as_str()
            .unwrap()
            .contains("Chứng thực bản sao điện tử từ bản chính\t4"),
        "{report}"
    );
    assert!(!dash["body"].as_str().unwrap().is_empty(), "{report}");
    // The per-day lines come first, then (after a blank line) the volumes by place and by procedure.
    let csv = report["dashboardCsv"].as_str().unwrap();
    let today_line = csv
        .lines()
        .take_while(|l| !l.is_empty())
        .last()
        .unwrap()
        .to_string();
    assert!(today_line.ends_with(",4,0,4,0,2"), "{today_line}");
    assert!(
        csv.contains("\nnoi_tiep_nhan,yeu_cau_chung_thuc,ho_so_thu_tuc\n"),
        "{csv}"
    );
    assert!(csv.contains("\ntest,3,0\n"), "{csv}");
    assert_eq!(report["officerBook"], 403, "{report}");

    // The year's book: a valid, sealed PDF/A listing every number given, and the same lines as CSV.
    assert_eq!(report["book_pdf"]["status"], 200, "{report}");
    let book = std::fs::read(shots.join("book.pdf")).unwrap();
    let (ok, out) = qpdf_check(dir, &book);
    assert!(ok, "qpdf: {out}");
    let (valid, out) = pyhanko_validate(dir, &root, &book);
    assert!(valid, "pyHanko on the book: {out}");
    let csv = std::fs::read_to_string(shots.join("book.csv")).unwrap();
    let book_text = pdftotext(dir, &book);
    let issued = [
        code.clone(),
        at_counter["code"].as_str().unwrap().replace('-', ""),
    ];
    let numbers: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(numbers.len(), 2, "two numbers given this year: {csv}");
    for copy in &issued {
        assert!(
            numbers
                .iter()
                .any(|l| l.contains(copy.as_str()) && l.contains("Lê Thị Hoa")),
            "the book's CSV lists {copy}: {csv}"
        );
    }
    for n in 1..=2 {
        let label = format!("Số: {n:02}, Quyển số: 01/{year}");
        assert!(csv.contains(&label), "{label}: {csv}");
        assert!(
            book_text.contains(&format!("Số: {n:02},")),
            "the PDF lists number {n}: {book_text}"
        );
    }
    assert!(
        csv.contains(&winner) || csv.contains("hoa.pham"),
        "the signer is named: {csv}"
    );
}

#[test]
fn a_kiosk_enrolled_by_a_one_time_code_sends_heartbeats_until_it_is_revoked() {
    use std::io::BufRead;
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let backend = Backend::local(dir);
    let admin = account(&backend, dir, "quan.tri", "administrator");
    let server = backend.serve();
    let up = dir.join("kiosk-up");
    let shots = std::env::var_os("BANSO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("shots"))
        .join("fleet");
    let mut node = Command::new("node")
        .arg("fleet.mjs")
        .arg(server.url(""))
        .arg(&shots)
        .env("FLEET_ADMIN", format!("{}|{}|{}", admin.0, admin.1, admin.2))
        .env("KIOSK_UP", &up)
        .current_dir(browser_dir())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node fleet.mjs");
    let mut lines = std::io::BufReader::new(node.stdout.take().unwrap()).lines();
    let code = loop {
        let line = lines
            .next()
            .expect("fleet.mjs ended before making a code")
            .unwrap();
        if let Some(c) = line.strip_prefix("CODE ") {
            break c.trim().to_string();
        }
        assert!(!line.starts_with('{'), "fleet.mjs: {line}");
    };
    // The kiosk starts with the code and no credential: it enrols, keeps its token, and beats every second.
    let credential = dir.join("kiosk.token");
    let feed = dir.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    let mut kiosk = Command::new(BIN)
        .args(["kiosk", "--server", &server.url(""), "--listen", "127.0.0.1:0"])
        .arg("--device-credential")
        .arg(&credential)
        .arg("--enrol-code")
        .arg(&code)
        .arg("--scanner")
        .arg(format!("file:{}", feed.display()))
        .args([
            "--printer",
            "ipp://127.0.0.1:9/printers/none",
            "--heartbeat-secs",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("banso kiosk");
    let mut kiosk_out = std::io::BufReader::new(kiosk.stdout.take().unwrap()).lines();
    loop {
        let line = kiosk_out
            .next()
            .expect("banso kiosk exited before listening")
            .unwrap();
        if line.starts_with("kiosk screens on ") {
            break;
        }
    }
    let token = std::fs::read_to_string(&credential).unwrap();
    assert!(token.starts_with("bnso_"), "the kiosk kept its credential");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&credential).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The code was used once: a second kiosk with it gets nothing.
    let again = server
        .http
        .post(server.url("/api/v1/devices/enrol"))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .unwrap();
    assert_eq!(again.status().as_u16(), 401);
    assert!(again.text().unwrap().contains("AUTH-0002"));
    std::thread::sleep(std::time::Duration::from_secs(3));
    std::fs::write(&up, "up").unwrap();

    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = node.wait().unwrap();
    let report = story_report("fleet", &rest.join("\n"), "", status.success(), &server);
    let row = text_of(&report, "row");
    assert!(row.contains("scanner: ok"), "{row}");
    assert!(row.contains("printer: unreachable"), "the printer's alert: {row}");
    assert!(!row.contains("Chưa gửi tín hiệu"), "heard from: {row}");
    assert!(!text_of(&report, "after").contains("Ki-ốt số 2"), "{report}");
    // Revoked: its next heartbeat is refused.
    let beat = server
        .http
        .post(server.url("/api/v1/devices/heartbeat"))
        .bearer_auth(token.trim())
        .json(&serde_json::json!({"scanner": "ok"}))
        .send()
        .unwrap();
    assert_eq!(beat.status().as_u16(), 401);
    kiosk.kill().ok();
    kiosk.wait().ok();
}
