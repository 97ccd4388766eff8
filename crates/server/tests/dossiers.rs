//! Dossiers end to end on a real `banso serve`: a kiosk submits a procedure for the citizen its chip and face
//! identified (the identity's fields filled in by the service), with one document from the wallet and one
//! scanned; the signed appointment slip (pyHanko, pdftotext, zbarimg); officers move the dossier (two racing
//! for one move); the citizen adds the document asked for; the sealed result; ratings; the pull API; and
//! every event delivered once to a webhook receiver that checks it with an independent implementation of
//! Standard Webhooks (the Python `standardwebhooks` package), across a restart of the service, with a dead
//! subscriber's deliveries in the dead-letter list. Bad input is refused with stable codes and writes nothing.

mod common;

use common::citizen::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOLDER: (&str, &str) = ("001099012345", "Nguyễn Văn An");
const BIRTH: &str = "1.001193";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const DEAD_SECRET: &str = "whsec_c2VjcmV0LW9mLWEtZGVhZC1zdWJzY3JpYmVy";

/// The tests' webhook receiver (tests/webhook_receiver.py) on `port`, writing what it accepted to `out`.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn receiver(port: u16, out: &Path, fail_first: u32) -> Receiver {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhook_receiver.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--secret", SECRET])
        .arg("--out")
        .arg(out)
        .args(["--fail-first", &fail_first.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 webhook_receiver.py");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    match lines.next() {
        Some(Ok(l)) if l.starts_with("listening on") => {}
        other => panic!("the webhook receiver did not start: {other:?}"),
    }
    Receiver(child)
}

/// What the receiver accepted (and refused), in order.
fn received(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "waited {secs} s for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn birth_form() -> Value {
    json!({
        "child_name": "Nguyễn Văn Bình",
        "child_sex": "nam",
        "child_birth_date": "20/11/2026",
        "child_birth_place": "Bệnh viện Phụ sản Hà Nội",
        "child_hometown": "Hà Nội",
        "child_ethnicity": "Kinh",
        "child_nationality": "Việt Nam",
        "mother_name": "Trần Thị Cúc",
        "mother_birth_year": "1995",
        "relationship": "cha",
        "phone": "0912345678",
    })
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct World {
    tmp: tempfile::TempDir,
    backend: Backend,
    citizens: Citizens,
    hooks: PathBuf,
    hook_port: u16,
    maildir: PathBuf,
    _relay: Smtp,
}

fn world() -> World {
    let tmp = tempfile::TempDir::new().unwrap();
    let citizens = Citizens::new(tmp.path(), &[HOLDER]);
    let hooks = tmp.path().join("hooks.jsonl");
    let (hook_port, dead_port) = (free_port(), free_port());
    std::fs::write(tmp.path().join("hook.secret"), SECRET).unwrap();
    std::fs::write(tmp.path().join("dead.secret"), DEAD_SECRET).unwrap();
    let maildir = tmp.path().join("mail");
    let relay = smtp(&maildir);
    let webhooks = format!(
        "http://127.0.0.1:{hook_port}/hook|{},http://127.0.0.1:{dead_port}/hook|{}",
        tmp.path().join("hook.secret").display(),
        tmp.path().join("dead.secret").display()
    );
    let backend = citizens
        .trusted_by(Backend::local(tmp.path()))
        .with_env("BANSO_WEBHOOKS", &webhooks)
        .with_env("BANSO_DELIVERY_RETRY_SECS", "1")
        .with_env("BANSO_DELIVERY_MAX_ATTEMPTS", "3")
        .with_env("BANSO_SMTP_URL", &format!("smtp://127.0.0.1:{}", relay.1));
    World {
        tmp,
        backend,
        citizens,
        hooks,
        hook_port,
        maildir,
        _relay: relay,
    }
}

impl Server {
    /// A kiosk's submission for the identity session `session` (none: no header).
    fn submit(&self, token: &str, session: Option<&str>, body: Value) -> (u16, Value) {
        let mut r = self
            .http
            .post(self.url("/api/v1/dossiers"))
            .bearer_auth(token)
            .json(&body);
        if let Some(s) = session {
            r = r.header("banso-identity-session", s);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    fn anonymous(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(method, self.url(path));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }

    fn bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self.get(path);
        (r.status().as_u16(), r.bytes().unwrap().to_vec())
    }
}

#[test]
fn a_dossier_goes_from_the_kiosk_to_the_result_and_every_event_reaches_the_webhook_once() {
    let mut w = world();
    let dir = w.tmp.path().to_path_buf();
    let backend = &w.backend;
    // The receiver answers 503 twice first: the service tries again.
    let hook = receiver(w.hook_port, &w.hooks, 2);
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let officer = backend.token("officer");
    let agency = backend.token("agency");
    let session = server.identify(&kiosk, &mut w.citizens.people[0]);

    // A certified copy of the parents' marriage certificate in the citizen's wallet.
    let (s, issued) = server.issue(
        &officer,
        &[
            ("holder_id", HOLDER.0),
            ("holder_name", HOLDER.1),
            ("document_type", "Giấy chứng nhận kết hôn"),
        ],
        &[sample_page("png", 150, 3)],
    );
    assert_eq!(s, 201, "{issued}");
    let wallet_copy = issued["copies"][0]["code"].as_str().unwrap().to_string();
    let scan = sample_page("jpeg", 150, 4);
    let attachments = json!([
        {"document": "giay-chung-sinh", "pages": [b64(&scan)]},
        {"document": "giay-chung-nhan-ket-hon-cha-me", "copy": wallet_copy},
    ]);

    // Bad input: a stable code each, and nothing written.
    let body = |procedure: &str, form: Value, attachments: Value| json!({"procedure": procedure, "form": form, "attachments": attachments, "email": "an.nguyen@example.vn"});
    let (s, e) = server.submit(
        &kiosk,
        Some(&session),
        body("9.999999", birth_form(), attachments.clone()),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("PRO-0001")), "{e}");
    let mut missing = birth_form();
    missing.as_object_mut().unwrap().remove("child_name");
    let (s, e) = server.submit(&kiosk, Some(&session), body(BIRTH, missing, attachments.clone()));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("PRO-0002")), "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("child_name"),
        "{e}"
    );
    // The kiosk cannot name another declarant: the identity's fields are the service's.
    let mut other = birth_form();
    other["applicant_id"] = json!("079200000001");
    let (s, e) = server.submit(&kiosk, Some(&session), body(BIRTH, other, attachments.clone()));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("PRO-0003")), "{e}");
    let (s, e) = server.submit(&kiosk, Some(&session), body(BIRTH, birth_form(), json!([])));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("PRO-0004")), "{e}");
    // The medical certificate of birth is seen on paper (scanned), never taken from the wallet.
    let from_wallet = json!([{"document": "giay-chung-sinh", "copy": wallet_copy}]);
    let (s, e) = server.submit(&kiosk, Some(&session), body(BIRTH, birth_form(), from_wallet));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("PRO-0003")), "{e}");
    let (s, e) = server.submit(&kiosk, None, body(BIRTH, birth_form(), attachments.clone()));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    let (s, e) = server.submit(
        &officer,
        Some(&session),
        body(BIRTH, birth_form(), attachments.clone()),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0003")), "{e}");
    let (s, feed) = server.kiosk_json(&agency, Method::GET, "/api/v1/integration/events", None);
    assert_eq!(
        (s, feed["events"].as_array().map(Vec::len)),
        (200, Some(0)),
        "nothing half-written: {feed}"
    );

    // The submission.
    let (s, submitted) = server.submit(&kiosk, Some(&session), body(BIRTH, birth_form(), attachments));
    assert_eq!(s, 201, "{submitted}");
    let d = &submitted["dossier"];
    let code = d["code"].as_str().unwrap().to_string();
    let k = submitted["lookup_code"].as_str().unwrap().to_string();
    assert!(
        code.starts_with("UBND-VH-") && code.len() == "UBND-VH-261203-0001".len(),
        "{code}"
    );
    assert_eq!(d["status"], "received");
    assert_eq!(
        d["form"]["applicant_id"], HOLDER.0,
        "prefilled from the chip, whatever the kiosk sent"
    );
    assert_eq!(d["form"]["applicant_name"], HOLDER.1);
    assert_eq!(d["attachments"][0]["source"], "scan");
    let plain = |c: &str| c.replace('-', "");
    assert_eq!(
        plain(d["attachments"][1]["copy"].as_str().unwrap()),
        plain(&wallet_copy)
    );
    let due = d["due"].as_str().unwrap().to_string();

    // The slip: signed (pyHanko, against the installation's root), its text and QR.
    let (s, slip) = server.bytes(&format!("/api/v1/dossiers/{code}/slip.pdf?k={k}"));
    assert_eq!(s, 200);
    let root = backend.root_pem();
    let (ok, out) = pyhanko_validate(&dir, &root, &slip);
    assert!(ok && pyhanko_accepts_bt(&out), "{out}");
    let (ok, out) = qpdf_check(&dir, &slip);
    assert!(ok, "{out}");
    let text = pdftotext(&dir, &slip);
    let due_vn = {
        let p: Vec<&str> = due.split('-').collect();
        format!("{}/{}/{}", p[2], p[1], p[0])
    };
    for want in [
        code.as_str(),
        k.as_str(),
        due_vn.as_str(),
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        HOLDER.1,
    ] {
        assert!(text.contains(want), "the slip names {want}: {text}");
    }
    let qr = qr_codes(&dir, &slip, 1);
    assert!(
        qr.iter().any(|q| q.ends_with(&format!("/d/{code}?k={k}"))),
        "{qr:?}"
    );

    // Anyone with the code: the minimal status, nothing personal; the lookup code opens the rest.
    let (s, public) = server.anonymous(Method::GET, &format!("/api/v1/dossiers/{code}"), None);
    assert_eq!(
        (s, public["status"].as_str()),
        (200, Some("received")),
        "{public}"
    );
    assert!(
        public.get("holder_name").is_none() && public.get("form").is_none(),
        "{public}"
    );
    let (s, e) = server.anonymous(Method::GET, &format!("/api/v1/dossiers/{code}?k=2222-2222"), None);
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("DOS-0002")), "{e}");
    let (s, e) = server.anonymous(Method::GET, "/api/v1/dossiers/UBND-VH-000000-0001", None);
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("DOS-0001")), "{e}");
    let (s, e) = server.bytes(&format!("/api/v1/dossiers/{code}/slip.pdf?k=2222-2222"));
    assert_eq!(s, 403, "{}", String::from_utf8_lossy(&e));

    // Officers: taken, then two ask for documents at once: one wins, the other is told it moved.
    let act = |path: &str, b: Value| {
        server.kiosk_json(
            &officer,
            Method::POST,
            &format!("/api/v1/dossiers/{code}/{path}"),
            Some(b),
        )
    };
    let (s, v) = act("assign", json!({}));
    assert_eq!((s, v["status"].as_str()), (200, Some("in_processing")), "{v}");
    let (s, e) = act("return", json!({}));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("DOS-0003")),
        "no result to return: {e}"
    );
    let ask =
        json!({"documents": ["van-ban-lam-chung"], "note": "Đề nghị bổ sung văn bản của người làm chứng."});
    let race: Vec<(u16, Value)> = std::thread::scope(|s| {
        let a = s.spawn(|| act("request-documents", ask.clone()));
        let b = s.spawn(|| act("request-documents", ask.clone()));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    let mut statuses: Vec<u16> = race.iter().map(|r| r.0).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{race:?}");
    assert!(
        race.iter().any(|(_, v)| v["error"]["code"] == "DOS-0003"),
        "{race:?}"
    );
    let (_, v) = server.anonymous(Method::GET, &format!("/api/v1/dossiers/{code}?k={k}"), None);
    assert_eq!(v["status"], "more_documents_requested");
    assert_eq!(v["requested"], json!(["van-ban-lam-chung"]));

    // The citizen adds it with the lookup code (a wrong one is refused, and nothing moves).
    let more = json!([{"document": "van-ban-lam-chung", "pages": [b64(&sample_page("png", 150, 5))]}]);
    let (s, e) = server.anonymous(
        Method::POST,
        &format!("/api/v1/dossiers/{code}/documents"),
        Some(json!({"k": "2222-2222", "attachments": more.clone()})),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("DOS-0002")), "{e}");
    let (s, v) = server.anonymous(
        Method::POST,
        &format!("/api/v1/dossiers/{code}/documents"),
        Some(json!({"k": k, "attachments": more})),
    );
    assert_eq!((s, v["status"].as_str()), (200, Some("in_processing")), "{v}");
    assert_eq!(v["attachments"].as_array().unwrap().len(), 3);

    // The result: a PDF the officer made (here page 1 of the wallet copy, unsigned), sealed by the service.
    let copy_pdf = server.fetch_pdf(&issued["copies"][0]);
    std::fs::write(dir.join("copy.pdf"), &copy_pdf).unwrap();
    let made = Command::new("qpdf")
        .args(["--empty", "--pages"])
        .arg(dir.join("copy.pdf"))
        .args(["1", "--"])
        .arg(dir.join("made.pdf"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let made = std::fs::read(dir.join("made.pdf")).unwrap();
    let (s, v) = act(
        "result",
        json!({"pdf": b64(&made), "note": "Đã cấp Giấy khai sinh."}),
    );
    assert_eq!(
        (s, v["status"].as_str(), v["has_result"].as_bool()),
        (200, Some("result_ready"), Some(true)),
        "{v}"
    );
    let (s, result) = server.bytes(&format!("/api/v1/dossiers/{code}/result.pdf?k={k}"));
    assert_eq!(s, 200);
    let (ok, out) = pyhanko_validate(&dir, &root, &result);
    assert!(ok && pyhanko_accepts_bt(&out), "the sealed result: {out}");

    // Rated at receipt and for the result, once each.
    let rate = |step: &str, level: &str| {
        server.anonymous(
            Method::POST,
            &format!("/api/v1/dossiers/{code}/ratings"),
            Some(json!({"k": k, "step": step, "level": level, "reasons": ["nhanh"], "comment": "Cán bộ hướng dẫn tận tình"})),
        )
    };
    assert_eq!(rate("service", "very_satisfied").0, 201);
    let (s, e) = rate("service", "not_satisfied");
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("DOS-0004")), "{e}");
    assert_eq!(rate("result", "satisfied").0, 201);
    let (s, e) = rate("result", "so-so");
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("ISS-0005")), "{e}");
    let (s, r) = server.kiosk_json(
        &officer,
        Method::GET,
        &format!("/api/v1/dossiers/{code}/ratings"),
        None,
    );
    assert_eq!((s, r["ratings"].as_array().map(Vec::len)), (200, Some(2)), "{r}");
    assert_eq!(
        r["ratings"][1]["officer"], "test",
        "the result's rating names the officer who handled it"
    );

    // Other agencies' systems pull the result by URI; a kiosk cannot.
    let uri = format!("UBND-VH-RESULT-{code}");
    let (s, pulled) = server.kiosk_json(
        &agency,
        Method::GET,
        &format!("/api/v1/integration/pull?uri={uri}"),
        None,
    );
    assert_eq!(
        (s, pulled["doc_type"].as_str()),
        (200, Some("RESULT")),
        "{pulled}"
    );
    assert_eq!(pulled["holder_id"], HOLDER.0);
    let (s, _) = server.kiosk_json(
        &kiosk,
        Method::GET,
        &format!("/api/v1/integration/pull?uri={uri}"),
        None,
    );
    assert_eq!(s, 403);
    let (s, e) = server.kiosk_json(
        &agency,
        Method::GET,
        "/api/v1/integration/pull?uri=UBND-VH-COPY-NOTACODE",
        None,
    );
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("VER-0003")), "{e}");
    let (s, copy) = server.kiosk_json(
        &agency,
        Method::GET,
        &format!("/api/v1/integration/pull?uri=UBND-VH-COPY-{wallet_copy}"),
        None,
    );
    assert_eq!((s, copy["doc_type"].as_str()), (200, Some("COPY")), "{copy}");

    // Every event reached the receiver once, signed as the independent implementation expects.
    let (_, feed) = server.kiosk_json(&agency, Method::GET, "/api/v1/integration/events", None);
    let kinds: Vec<&str> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "received",
            "assign",
            "request_documents",
            "add_documents",
            "attach_result"
        ]
    );
    wait_for("every event at the receiver", 60, || {
        received(&w.hooks).len() >= kinds.len()
    });
    let got = received(&w.hooks);
    // (In any order: the first deliveries were refused with 503 and came again later.)
    let mut types: Vec<String> = got
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?").to_string())
        .collect();
    let mut want: Vec<String> = kinds.iter().map(|k| format!("dossier.{k}")).collect();
    types.sort();
    want.sort();
    assert_eq!(types, want, "{got:?}");
    assert!(
        got.iter()
            .all(|e| e["repeat"] == false && e["code"] == code.as_str()),
        "{got:?}"
    );

    // A captured webhook, replayed with its body changed: the receiver refuses it, and `banso webhook verify`
    // says why (HOOK-0001); a stale timestamp is a replay (HOOK-0002).
    let first = got.iter().find(|e| e["type"] == "dossier.received").unwrap();
    let tampered = first["body"].as_str().unwrap().replace("received", "refused");
    let replay = reqwest::blocking::Client::new()
        .post(format!("http://127.0.0.1:{}/hook", w.hook_port))
        .header("webhook-id", first["id"].as_str().unwrap())
        .header("webhook-timestamp", first["timestamp"].as_str().unwrap())
        .header("webhook-signature", first["signature"].as_str().unwrap())
        .body(tampered.clone())
        .send()
        .unwrap();
    assert_eq!(replay.status().as_u16(), 400);
    let verify = |body: &str, ts: &str| {
        std::fs::write(dir.join("body.json"), body).unwrap();
        backend.cli_json(&[
            "webhook",
            "verify",
            "--secret-file",
            &dir.join("hook.secret").display().to_string(),
            "--id",
            first["id"].as_str().unwrap(),
            "--timestamp",
            ts,
            "--signature",
            first["signature"].as_str().unwrap(),
            "--body-file",
            &dir.join("body.json").display().to_string(),
            "--json",
        ])
    };
    let ts = first["timestamp"].as_str().unwrap();
    assert_eq!(
        verify(first["body"].as_str().unwrap(), ts),
        (0, json!({"valid": true, "id": first["id"]}))
    );
    let (rc, e) = verify(&tampered, ts);
    assert_eq!((rc, e["error"]["code"].as_str()), (1, Some("HOOK-0001")), "{e}");

    // The dead subscriber's deliveries are given up after three attempts and listed.
    wait_for("the dead subscriber's deliveries to die", 60, || {
        let (_, dead) = server.kiosk_json(&officer, Method::GET, "/api/v1/deliveries?state=dead", None);
        dead["deliveries"].as_array().map_or(0, Vec::len) >= kinds.len()
    });
    let (_, dead) = server.kiosk_json(&officer, Method::GET, "/api/v1/deliveries?state=dead", None);
    for d in dead["deliveries"].as_array().unwrap() {
        assert_eq!(d["attempts"], 3, "{d}");
        assert!(d["target"].as_str().unwrap().starts_with("webhook:"), "{d}");
    }

    // The citizen's mail: the slip attached at receipt, then one for each change.
    wait_for("the citizen's mails", 30, || mails(&w.maildir) >= kinds.len());

    // A restart with a delivery owed: the receiver down when the result is returned, the service stopped and
    // started again, the receiver back: the event arrives, once.
    drop(hook);
    let (s, v) = act("return", json!({}));
    assert_eq!((s, v["status"].as_str()), (200, Some("returned")), "{v}");
    std::thread::sleep(Duration::from_millis(1500));
    drop(server);
    let _hook = receiver(w.hook_port, &w.hooks, 0);
    let server = backend.serve();
    wait_for("the returned event after the restart", 60, || {
        received(&w.hooks).iter().any(|e| e["type"] == "dossier.return")
    });
    std::thread::sleep(Duration::from_secs(2));
    let got = received(&w.hooks);
    assert_eq!(
        got.len(),
        kinds.len() + 2,
        "one refused replay, then the returned event, once: {got:?}"
    );
    assert_eq!(got.last().unwrap()["type"], "dossier.return");
    let ids: std::collections::BTreeSet<&str> = got.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(
        ids.len(),
        got.len() - 1,
        "no id twice (the refused replay repeats one): {got:?}"
    );
    let (s, e) = server.kiosk_json(
        &officer,
        Method::POST,
        &format!("/api/v1/dossiers/{code}/refuse"),
        Some(json!({"reason": "x"})),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("DOS-0003")),
        "closed: {e}"
    );
}

const OTHER: (&str, &str) = ("079200000001", "Trần Thị Bích");
const SIGNATURE: &str = "2.000884";

fn signature_form() -> Value {
    json!({
        "document_title": "Giấy ủy quyền",
        "signers": "1",
        "fingerprint": "ky",
        "phone": "0912345678",
    })
}

/// A procedure with a fixed fee (certification of a signature, 10,000 VND): the kiosk's submission is first
/// answered with the payment (402, the gateway's signed address); only the gateway's signed notification makes
/// it paid; the payment files that citizen's dossier of that procedure once — another citizen, a second
/// dossier or an unconfirmed payment is refused with a stable code and files nothing — and a submission that
/// fails after spending it gives it back. The slip states the fee paid and its payment.
#[test]
fn a_procedures_fee_is_paid_through_the_gateway_before_its_dossier_is_filed() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut citizens = Citizens::new(&dir, &[HOLDER, OTHER]);
    let listen = format!("127.0.0.1:{}", free_port());
    let gateway = Gateway::start(&format!("http://{listen}/pay/vnpay/ipn"));
    let backend = gateway.configure(citizens.trusted_by(Backend::local(&dir)), &dir);
    let server = backend.serve_at(&listen);
    let kiosk = backend.token("kiosk");
    let agency = backend.token("agency");
    let session = server.identify(&kiosk, &mut citizens.people[0]);
    let other_session = server.identify(&kiosk, &mut citizens.people[1]);
    let paper = json!([{"document": "giay-to-can-ky", "pages": [b64(&sample_page("jpeg", 150, 7))]}]);
    let body = |form: Value, attachments: &Value, payment: Option<&str>| json!({"procedure": SIGNATURE, "form": form, "attachments": attachments, "payment": payment});
    let filed = || {
        let (s, feed) = server.kiosk_json(&agency, Method::GET, "/api/v1/integration/events", None);
        assert_eq!(s, 200, "{feed}");
        feed["events"].as_array().unwrap().len()
    };
    let payment_status = |reference: &str| {
        let (s, p) = server.kiosk_json(
            &kiosk,
            Method::GET,
            &format!("/api/v1/payments/{reference}"),
            None,
        );
        assert_eq!(s, 200, "{p}");
        p["status"].as_str().unwrap().to_string()
    };

    // The fee first: nothing is filed.
    let (s, due) = server.submit(&kiosk, Some(&session), body(signature_form(), &paper, None));
    assert_eq!((s, due["code"].as_str()), (402, Some("PAY-0001")), "{due}");
    assert_eq!(due["amount_vnd"], 10_000, "{due}");
    let pay_url = due["pay_url"].as_str().unwrap();
    assert!(
        pay_url.starts_with(&format!(
            "http://127.0.0.1:{}/paymentv2/vpcpay.html?",
            gateway.port
        )) && pay_url.contains("vnp_Amount=1000000&"),
        "the gateway counts hundredths of a đồng: {pay_url}"
    );
    let reference = due["reference"].as_str().unwrap().to_string();
    assert_eq!(payment_status(&reference), "pending");
    // Named before the gateway confirmed it: refused.
    let (s, e) = server.submit(
        &kiosk,
        Some(&session),
        body(signature_form(), &paper, Some(&reference)),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (402, Some("PAY-0002")), "{e}");
    assert_eq!(filed(), 0, "nothing filed unpaid");

    // Paid on the gateway's page; the gateway's signed notification reaches the service.
    gateway.pay(pay_url, "success");
    assert_eq!(payment_status(&reference), "paid");
    // Another citizen cannot file with it.
    let (s, e) = server.submit(
        &kiosk,
        Some(&other_session),
        body(signature_form(), &paper, Some(&reference)),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("PAY-0003")), "{e}");
    // A form corrected after paying still files with it: bad input is refused and the payment stays paid.
    let mut missing = signature_form();
    missing.as_object_mut().unwrap().remove("document_title");
    let (s, e) = server.submit(&kiosk, Some(&session), body(missing, &paper, Some(&reference)));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("PRO-0002")), "{e}");
    // A scan that is no image fails after the payment was spent on the dossier's code: it is given back.
    let garbage = json!([{"document": "giay-to-can-ky", "pages": [b64(b"not an image at all")]}]);
    let (s, e) = server.submit(
        &kiosk,
        Some(&session),
        body(signature_form(), &garbage, Some(&reference)),
    );
    assert!((400..500).contains(&s), "{s} {e}");
    assert_eq!(payment_status(&reference), "paid", "given back: {e}");
    assert_eq!(filed(), 0);

    // Filed with it, once.
    let (s, submitted) = server.submit(
        &kiosk,
        Some(&session),
        body(signature_form(), &paper, Some(&reference)),
    );
    assert_eq!(s, 201, "{submitted}");
    let d = &submitted["dossier"];
    assert_eq!(
        (d["fee_vnd"].as_u64(), d["fee_paid"].as_str()),
        (Some(10_000), Some(reference.as_str()))
    );
    assert_eq!(payment_status(&reference), "used");
    let (s, e) = server.submit(
        &kiosk,
        Some(&session),
        body(signature_form(), &paper, Some(&reference)),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("PAY-0003")),
        "spent: {e}"
    );
    assert_eq!(filed(), 1, "one dossier for one fee");

    // The slip states the fee paid with its payment.
    let code = d["code"].as_str().unwrap();
    let k = submitted["lookup_code"].as_str().unwrap();
    let (s, slip) = server.bytes(&format!("/api/v1/dossiers/{code}/slip.pdf?k={k}"));
    assert_eq!(s, 200);
    let text = pdftotext(&dir, &slip);
    for want in ["10.000 đồng", "đã nộp qua cổng thanh toán", reference.as_str()] {
        assert!(text.contains(want), "the slip says {want}: {text}");
    }

    // Guessing the lookup code online: after ten wrong ones the dossier's lookup closes, for the right code
    // too (else the answer would tell a guesser when it is right); the status without a code stays public.
    for guess in "23456789AB".chars() {
        let (s, e) = server.anonymous(
            Method::GET,
            &format!("/api/v1/dossiers/{code}?k=2222-222{guess}"),
            None,
        );
        assert_eq!((s, e["error"]["code"].as_str()), (403, Some("DOS-0002")), "{e}");
    }
    let (s, e) = server.anonymous(Method::GET, &format!("/api/v1/dossiers/{code}?k={k}"), None);
    assert_eq!((s, e["error"]["code"].as_str()), (429, Some("DOS-0005")), "{e}");
    let (s, e) = server.bytes(&format!("/api/v1/dossiers/{code}/slip.pdf?k={k}"));
    assert_eq!(s, 429, "{}", String::from_utf8_lossy(&e));
    let (s, public) = server.anonymous(Method::GET, &format!("/api/v1/dossiers/{code}"), None);
    assert_eq!(
        (s, public["status"].as_str()),
        (200, Some("received")),
        "{public}"
    );

    // A free procedure asks for no payment.
    let (s, e) = server.submit(
        &kiosk,
        Some(&session),
        json!({"procedure": BIRTH, "form": birth_form(), "attachments": []}),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("PRO-0004")),
        "no payment asked: {e}"
    );
}

/// The offline queue's two promises at the central service. A kiosk's submission with an `Idempotency-Key`
/// files one dossier per key: sent again after a lost answer, from the offline queue, or by several at once, it is
/// answered with the dossier filed the first time. And a submission grant, made while the citizen's identity
/// session was verified, files that citizen's dossier of that procedure from that kiosk after the session has
/// ended; another kiosk, another procedure, a changed grant or none is refused with a stable code and files
/// nothing.
#[test]
fn a_kiosk_files_once_per_key_and_from_its_offline_queue_with_a_grant() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().to_path_buf();
    let mut citizens = Citizens::new(&dir, &[HOLDER]);
    let backend = citizens.trusted_by(Backend::local(&dir));
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let other_kiosk = backend.token("kiosk");
    let agency = backend.token("agency");
    let paper = json!([{"document": "giay-to-can-ky", "pages": [b64(&sample_page("jpeg", 150, 9))]}]);
    let body = json!({"procedure": SIGNATURE, "form": signature_form(), "attachments": paper});
    let send = |token: &str, headers: &[(&str, &str)], body: &Value| {
        let mut r = server
            .http
            .post(server.url("/api/v1/dossiers"))
            .bearer_auth(token)
            .json(body);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
    };
    let filed = || {
        let (s, feed) = server.kiosk_json(&agency, Method::GET, "/api/v1/integration/events", None);
        assert_eq!(s, 200, "{feed}");
        let mut codes: Vec<String> = feed["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "received")
            .map(|e| e["dossier"].as_str().unwrap().to_string())
            .collect();
        codes.sort();
        codes
    };
    let session = server.identify(&kiosk, &mut citizens.people[0]);
    let grant_for = |token: &str, session: &str, procedure: &str| {
        server.kiosk_json(
            token,
            Method::POST,
            &format!("/api/v1/identity/sessions/{session}/grant"),
            Some(json!({ "procedure": procedure })),
        )
    };
    let (s, g) = grant_for(&kiosk, &session, SIGNATURE);
    assert_eq!(s, 201, "{g}");
    let grant = g["grant"].as_str().unwrap().to_string();
    assert!(g["expires_at"].as_str().unwrap().len() >= 20, "{g}");
    // No grant for another kiosk's session, or for a procedure the catalogue lacks.
    let (s, e) = grant_for(&other_kiosk, &session, SIGNATURE);
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    let (s, e) = grant_for(&kiosk, &session, "9.999999");
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("PRO-0001")), "{e}");

    // A lost answer: filed with the session and a key, then sent again from the queue with the grant and the
    // same key — one dossier, the second answer naming it without its lookup code.
    let (s, first) = send(
        &kiosk,
        &[
            ("banso-identity-session", &session),
            ("idempotency-key", "dossier-lost-answer"),
        ],
        &body,
    );
    assert_eq!(s, 201, "{first}");
    let code = first["dossier"]["code"].as_str().unwrap().to_string();
    assert_eq!(
        first["lookup_code"].as_str().unwrap().replace('-', "").len(),
        8,
        "{first}"
    );
    let (s, again) = send(
        &kiosk,
        &[
            ("banso-submission-grant", &grant),
            ("idempotency-key", "dossier-lost-answer"),
        ],
        &body,
    );
    assert_eq!((s, again["replayed"].as_bool()), (200, Some(true)), "{again}");
    assert_eq!(again["dossier"]["code"], code.as_str(), "{again}");
    assert!(
        again.get("lookup_code").is_none(),
        "the lookup code is shown once: {again}"
    );
    // The same key from another kiosk is that kiosk's own key: its grant check refuses it first.
    let (s, e) = send(
        &other_kiosk,
        &[
            ("banso-submission-grant", &grant),
            ("idempotency-key", "dossier-lost-answer"),
        ],
        &body,
    );
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("ID-0008")), "{e}");
    assert_eq!(filed(), std::slice::from_ref(&code));

    // The citizen has left: the session ends, the grant still files (their dossier, as the chip proved them).
    let (s, _) = server.kiosk_json(
        &kiosk,
        Method::DELETE,
        &format!("/api/v1/identity/sessions/{session}"),
        None,
    );
    assert_eq!(s, 204);
    let (s, e) = send(&kiosk, &[("banso-identity-session", &session)], &body);
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    // Refused, filing nothing: another procedure, a changed grant, a key that is not one.
    let mut birth = body.clone();
    birth["procedure"] = json!(BIRTH);
    let (s, e) = send(&kiosk, &[("banso-submission-grant", &grant)], &birth);
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("ID-0008")), "{e}");
    let changed = format!("{}A", &grant[..grant.len() - 1]);
    let changed = if changed == grant {
        format!("{}B", &grant[..grant.len() - 1])
    } else {
        changed
    };
    let (s, e) = send(&kiosk, &[("banso-submission-grant", &changed)], &body);
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("ID-0008")), "{e}");
    let (s, e) = send(
        &kiosk,
        &[
            ("banso-submission-grant", &grant),
            ("idempotency-key", "not a key/.."),
        ],
        &body,
    );
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("ISS-0005")), "{e}");
    assert_eq!(filed(), std::slice::from_ref(&code), "nothing filed by a refusal");

    // The queue sent by several at once (a drain racing a retry): one dossier for the key.
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    send(
                        &kiosk,
                        &[
                            ("banso-submission-grant", &grant),
                            ("idempotency-key", "dossier-queued-1"),
                        ],
                        &body,
                    )
                })
            })
            .collect();
        tasks.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let made: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(made.len(), 1, "{answers:?}");
    let queued_code = made[0].1["dossier"]["code"].as_str().unwrap().to_string();
    for (s, a) in &answers {
        assert!(*s == 201 || (*s == 200 && a["replayed"] == true), "{a}");
        assert_eq!(a["dossier"]["code"], queued_code.as_str(), "{a}");
    }
    let mut expect = vec![code, queued_code.clone()];
    expect.sort();
    assert_eq!(filed(), expect);
    // Filed for the citizen the chip proved, though their session had ended; the fee is the office's to take.
    let (s, d) = server.kiosk_json(
        &agency,
        Method::GET,
        &format!("/api/v1/integration/dossiers/{queued_code}"),
        None,
    );
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["holder_id"].as_str(), d["holder_name"].as_str()),
        (Some(HOLDER.0), Some(HOLDER.1)),
        "{d}"
    );
}
