//! The kiosk next to a central service, driven in Debian's chromium: `banso serve` (intake on, the test
//! national-ID provider), `banso kiosk` on the loopback with a file-fed scanner, and crates/server/tests/
//! browser/kiosk.mjs playing the citizen (playwright-core; the phone approving the app login is headless
//! Chromium too, the QR read off the screen with zbarimg). Every screen is checked with axe-core at
//! 1080×1920 and 1920×1080 and kept as a screenshot (in $BANSO_SCREENSHOTS when set, to be looked at).

mod common;

use common::citizen::{camera_y4m, chip_portrait, Film};
use common::oidc::*;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

struct Kiosk {
    child: Child,
    url: String,
}

impl Drop for Kiosk {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `banso kiosk` against `server` with a kiosk credential, scanning the files of `pages` in order.
fn kiosk(backend: &Backend, server: &Server, dir: &Path, pages: &Path, idle_secs: u64) -> Kiosk {
    kiosk_printing(backend, server, dir, pages, idle_secs, None)
}

/// [`kiosk`], printing on `printer` (`ipp://…`) when given.
fn kiosk_printing(
    backend: &Backend,
    server: &Server,
    dir: &Path,
    pages: &Path,
    idle_secs: u64,
    printer: Option<&str>,
) -> Kiosk {
    let credential = dir.join("kiosk.token");
    std::fs::write(&credential, backend.token("kiosk")).unwrap();
    let printing: Vec<&str> = printer.map(|p| vec!["--printer", p]).unwrap_or_default();
    spawn_kiosk(
        &server.base,
        "127.0.0.1:0",
        &credential,
        pages,
        idle_secs,
        &printing,
    )
}

/// Starts `banso kiosk` on `listen` against the central service at `central` with the credential in
/// `credential`, scanning the files of `pages`, with `extra` arguments.
fn spawn_kiosk(
    central: &str,
    listen: &str,
    credential: &Path,
    pages: &Path,
    idle_secs: u64,
    extra: &[&str],
) -> Kiosk {
    let mut child = Command::new(BIN)
        .args(["kiosk", "--server", central, "--listen", listen])
        .args(extra)
        .arg("--device-credential")
        .arg(credential)
        .arg("--scanner")
        .arg(format!("file:{}", pages.display()))
        .args(["--idle-secs", &idle_secs.to_string()])
        .env("BANSO_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("banso kiosk");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("banso kiosk exited before listening")
            .unwrap();
        if let Some(rest) = line.strip_prefix("kiosk screens on ") {
            break rest
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Kiosk { child, url }
}

/// Runs one story in the browser; its JSON report.
fn play(kiosk: &Kiosk, story: &str, shots: &Path) -> Value {
    play_at(&kiosk.url, story, shots)
}

/// Runs one story in the browser against `url`; its JSON report.
fn play_at(url: &str, story: &str, shots: &Path) -> Value {
    assert!(
        browser_dir().join("node_modules/axe-core").exists(),
        "npm packages of the browser tests missing: run scripts/setup.sh"
    );
    let out = Command::new("node")
        .arg("kiosk.mjs")
        .arg(url)
        .arg(story)
        .arg(shots)
        .current_dir(browser_dir())
        .output()
        .expect("node kiosk.mjs");
    story_report(&out, story, "")
}

/// The report a story printed (its last line), once the story passed and axe-core found no serious or
/// critical violation on any screen; `logs` are shown when it did not.
fn story_report(out: &std::process::Output, story: &str, logs: &str) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report: {stdout}\n{}\n{logs}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        out.status.success(),
        "the {story} story failed: {report:#}\n{logs}"
    );
    let serious: Vec<&Value> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect();
    assert!(
        serious.is_empty(),
        "axe-core found serious or critical violations: {serious:#?}"
    );
    report
}

fn shots_dir(tmp: &Path, story: &str) -> PathBuf {
    std::env::var_os("BANSO_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.join("shots"))
        .join(story)
}

/// The central service with the intake on and the test provider; the kiosk scanning `page`.
fn setup(tmp: &Path, provider: &Provider) -> (Backend, Server) {
    let backend = Backend::local(tmp)
        .with_env("BANSO_INTAKE", "on")
        .with_env("BANSO_OIDC_ISSUER", &provider.1)
        .with_env("BANSO_OIDC_CLIENT_ID", "banso-kiosk")
        .with_env("BANSO_OIDC_SCOPE", "openid profile citizen");
    let server = backend.serve();
    (backend, server)
}

fn feed(tmp: &Path, corpus: &Path, id: &str) -> PathBuf {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(corpus.join(format!("{id}.json"))).unwrap()).unwrap();
    let dir = tmp.join(format!("feed-{id}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        corpus.join(truth["image_file"].as_str().unwrap()),
        dir.join("page-1.png"),
    )
    .unwrap();
    dir
}

#[test]
fn an_original_of_someone_else_goes_to_an_officer_and_a_secret_one_is_refused_with_its_ground() {
    let tmp = tempfile::TempDir::new().unwrap();
    let corpus_dir = tmp.path().join("corpus");
    corpus(&corpus_dir, "clean,art22", 1, 5);
    let provider = provider(600);
    let (backend, server) = setup(tmp.path(), &provider);
    let officer = backend.token("officer");

    // A clean birth certificate that names another holder than the citizen who logged in: an officer looks
    // first, and the screen gives the receipt code, which names the kept intake record.
    let held_kiosk = kiosk(
        &backend,
        &server,
        tmp.path(),
        &feed(tmp.path(), &corpus_dir, "birth_certificate-clean-000"),
        90,
    );
    let report = play(&held_kiosk, "held", &shots_dir(tmp.path(), "held"));
    assert!(
        report["qr"].as_str().unwrap().starts_with(&provider.1),
        "{report}"
    );
    // Spoken guidance: the start screen's prompt is a WAV of some length (espeak-ng's Vietnamese voice).
    assert_eq!(report["voice"]["status"], 200, "{report}");
    assert_eq!(report["voice"]["type"], "audio/wav", "{report}");
    assert!(report["voice"]["bytes"].as_u64().unwrap() > 20_000, "{report}");
    let receipt = report["receipt"].as_str().unwrap();
    let r = server
        .http
        .get(server.url(&format!("/api/v1/intake/{receipt}")))
        .bearer_auth(&officer)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let record: Value = r.json().unwrap();
    assert_eq!(
        (record["outcome"].as_str(), record["holder_id"].as_str()),
        (Some("held"), Some("001099012345")),
        "{record}"
    );
    // The address left for the outcome was taken by the central service for this request.
    assert!(
        report["notifySaid"]
            .as_str()
            .unwrap()
            .contains("Kết quả xem xét sẽ được gửi tới an.nguyen@example.vn"),
        "{report}"
    );
    assert_nothing_left(&report);

    // A page stamped MẬT: refused, with the Art. 22 ground on the screen.
    let refused_kiosk = kiosk(
        &backend,
        &server,
        tmp.path(),
        &feed(tmp.path(), &corpus_dir, "birth_certificate-art22-000"),
        90,
    );
    let report = play(&refused_kiosk, "refused", &shots_dir(tmp.path(), "refused"));
    let text = report["texts"]["result-refused"].as_str().unwrap();
    assert!(text.contains("Điều 22"), "{text}");
    assert!(
        text.contains("Art. 22"),
        "the ground as the intake gave it: {text}"
    );
    assert!(
        text.contains("Bản chính đóng dấu mật"),
        "the ground in the decree's words: {text}"
    );
    assert_nothing_left(&report);
}

/// The citizen's wallet on the web: signed in with the national-ID app (the QR on the page read with zbarimg,
/// the phone approving), it lists the copy an officer issued to them, and nobody else's; signing out ends it.
#[test]
fn the_wallet_page_lists_the_citizens_copies_after_the_app_login() {
    let tmp = tempfile::TempDir::new().unwrap();
    let provider = provider(600);
    let (backend, server) = setup(tmp.path(), &provider);
    let officer = backend.token("officer");
    let issue_for = |id: &str, name: &str, seed: u64| {
        let (s, issued) = server.issue(
            &officer,
            &[
                ("holder_id", id),
                ("holder_name", name),
                ("document_type", "Giấy khai sinh"),
            ],
            &[sample_page("png", 150, seed)],
        );
        assert_eq!(s, 201, "{issued}");
        issued["code"].as_str().unwrap().to_string()
    };
    // The provider's test citizen, and someone else.
    let mine = issue_for("001099012345", "Nguyễn Văn An", 11);
    let theirs = issue_for("079199001234", "Lê Thị Hoa", 12);
    let report = play_at(&server.base, "web-wallet", &shots_dir(tmp.path(), "web-wallet"));
    let wallet = report["wallet"].as_str().unwrap();
    assert!(
        wallet.contains("Nguyễn Văn An") && wallet.contains(&mine),
        "{report}"
    );
    assert!(!wallet.contains(&theirs), "{report}");
    assert_eq!(report["signedOut"], true, "{report}");
}

/// Every screen of a visit in English (the toggle on the start screen), then back to Vietnamese.
#[test]
fn the_screens_read_in_english_too() {
    let tmp = tempfile::TempDir::new().unwrap();
    let corpus_dir = tmp.path().join("corpus");
    corpus(&corpus_dir, "clean", 1, 5);
    let provider = provider(600);
    let (backend, server) = setup(tmp.path(), &provider);
    let k = kiosk(
        &backend,
        &server,
        tmp.path(),
        &feed(tmp.path(), &corpus_dir, "birth_certificate-clean-000"),
        90,
    );
    let report = play(&k, "english", &shots_dir(tmp.path(), "english"));
    assert_eq!(report["lang"], "en", "{report}");
    assert_eq!(report["langAfterToggle"], "vi", "{report}");
    assert!(
        report["result"]
            .as_str()
            .unwrap()
            .contains("An officer will check your original"),
        "{report}"
    );
    assert_nothing_left(&report);
}

#[test]
fn a_visit_left_alone_ends_by_itself_and_leaves_nothing_of_the_citizen() {
    let tmp = tempfile::TempDir::new().unwrap();
    let corpus_dir = tmp.path().join("corpus");
    corpus(&corpus_dir, "clean", 1, 5);
    let provider = provider(600);
    let (backend, server) = setup(tmp.path(), &provider);
    let k = kiosk(
        &backend,
        &server,
        tmp.path(),
        &feed(tmp.path(), &corpus_dir, "birth_certificate-clean-000"),
        5,
    );
    let report = play(&k, "timeout", &shots_dir(tmp.path(), "timeout"));
    assert!(
        report["screens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "idle-warning"),
        "{report}"
    );
    assert_nothing_left(&report);
}

/// A private CUPS (its own folders, listening on 127.0.0.1:`port`, no authentication) whose queue `kiosk`
/// prints with Debian's cups-pdf; its folder.
fn cups_config(d: &Path, port: u16) -> PathBuf {
    let t = d.join("cups");
    for sub in ["spool/tmp", "cache", "state", "log", "ppd"] {
        std::fs::create_dir_all(t.join(sub)).unwrap();
    }
    std::fs::write(
        t.join("cups-files.conf"),
        format!(
            "ServerRoot {t}\nRequestRoot {t}/spool\nCacheDir {t}/cache\nStateDir {t}/state\nTempDir {t}/spool/tmp\n\
             AccessLog {t}/log/access_log\nErrorLog {t}/log/error_log\nPageLog {t}/log/page_log\n\
             DataDir /usr/share/cups\nServerBin /usr/lib/cups\nFileDevice No\n",
            t = t.display()
        ),
    )
    .unwrap();
    std::fs::write(
        t.join("cupsd.conf"),
        format!(
            "Listen 127.0.0.1:{port}\nLogLevel warn\nWebInterface No\nBrowsing No\nDefaultAuthType None\n\
             <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
             <Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n\
             <Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    for dir in [&t, &t.join("spool")] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    t
}

/// Where the `banso` instance of cups-pdf writes (scripts/setup.sh configures it:
/// /etc/cups/cups-pdf-banso.conf).
const CUPS_PDF_OUT: &str = "/var/spool/cups-pdf/banso";

/// The PDF cups-pdf wrote for the print job named `code` (its file name starts with it), waited for (up to 30 s).
fn printed(code: &str) -> Vec<u8> {
    let plain = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
    };
    for _ in 0..150 {
        for e in std::fs::read_dir(CUPS_PDF_OUT).into_iter().flatten().flatten() {
            if plain(&e.file_name().to_string_lossy()).starts_with(&plain(code)) {
                // cups-pdf writes the file, then closes it: wait until it holds a whole PDF.
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                if bytes.starts_with(b"%PDF-") && bytes.windows(5).any(|w| w == b"%%EOF") {
                    return bytes;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("cups-pdf wrote no PDF for {code} in {CUPS_PDF_OUT}");
}

/// Runs a chip story whole: the virtual card served to vpcd (its DG2 the photo `portrait`), read by the kiosk
/// through pcscd with the central service's nonce; `film` at Chromium's fake camera; then `story` in the
/// browser. Everything runs inside scripts/pcscd-vpcd.sh's private namespaces (vpcd listens
/// unauthenticated), the central service and the browser included. The story's report.
///
/// The central service takes fees through the VNPAY gateway simulator (scripts/vnpay-sim.py, a separate
/// process speaking the gateway's protocol). With `holder_of_the_original`, the card's holder is the one the
/// scanned original names (the intake issues it); else it is the test card's own (the intake holds it).
fn chip_story(portrait: &str, film: Film, story: &str, holder_of_the_original: bool) -> Value {
    chip_story_in(
        &tempfile::TempDir::new().unwrap(),
        portrait,
        film,
        story,
        holder_of_the_original,
    )
}

/// [`chip_story`] in `tmp` (kept by the caller: the mail the story sent lands in `tmp/mail`, a Maildir).
fn chip_story_in(
    tmp: &tempfile::TempDir,
    portrait: &str,
    film: Film,
    story: &str,
    holder_of_the_original: bool,
) -> Value {
    let d = tmp.path();
    let corpus_dir = d.join("corpus");
    corpus(&corpus_dir, "clean", 1, 5);
    let feed_dir = feed(d, &corpus_dir, "birth_certificate-clean-000");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(corpus_dir.join("birth_certificate-clean-000.json")).unwrap())
            .unwrap();
    let holder = if holder_of_the_original {
        format!(
            "--holder-id '{}' --holder-name '{}'",
            truth["fields"]["id_number"].as_str().unwrap(),
            truth["fields"]["holder_name"].as_str().unwrap()
        )
    } else {
        String::new()
    };
    std::fs::write(d.join("vnpay.secret"), "SIMULATED-MERCHANT-SECRET-0123456789").unwrap();
    // (Inside the story's own network namespace: the port is the namespace's.)
    let cups = cups_config(d, 16631);
    // What the story e-mailed, taken apart while the central service still answers for its revocation data
    // (pyHanko asks its OCSP responder): the recipient and the text, and the PDF attached.
    std::fs::write(
        d.join("extract.py"),
        "import mailbox, sys\n\
         msgs = list(mailbox.Maildir(sys.argv[1], create=False))\n\
         assert len(msgs) == 1, len(msgs)\n\
         m = msgs[0]\n\
         pdfs = [p.get_payload(decode=True) for p in m.walk() if p.get_content_type() == 'application/pdf']\n\
         open(sys.argv[2], 'wb').write(pdfs[0])\n\
         text = [p.get_payload(decode=True).decode() for p in m.walk() if p.get_content_type() == 'text/plain'][0]\n\
         print(m['To']); print(text)\n",
    )
    .unwrap();
    let simulator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/vnpay-sim.py");
    let (jpeg, _, _) = chip_portrait(portrait);
    std::fs::write(d.join("portrait.jpg"), jpeg).unwrap();
    camera_y4m(&d.join("camera.y4m"), film);
    let backend = Backend::local(d);
    // The installation's PKI names the central service's address (fixed inside the story's namespace) for
    // its CRLs and OCSP, which pyHanko asks.
    let init = backend.cli(&["pki", "init", "--base-url", "http://127.0.0.1:18080"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    std::fs::write(d.join("kiosk.token"), backend.token("kiosk")).unwrap();
    let shots = shots_dir(d, story);
    let wait_line = |file: &str, prefix: &str| {
        format!(
            "for i in $(seq 1 300); do grep -q '{prefix}' {file} 2>/dev/null && break; sleep 0.1; done; \
             grep -o '{prefix}[^ ]*' {file} | head -1 | sed 's|{prefix}||'"
        )
    };
    let inner = format!(
        "set -u; D={d}; \
         {BIN} id test-card --out $D/card --face $D/portrait.jpg {holder} >$D/card.log 2>&1 & \
         for i in $(seq 1 100); do [ -f $D/card/mrz.txt ] && break; sleep 0.1; done; \
         cupsd -f -c {cups}/cupsd.conf -s {cups}/cups-files.conf >$D/cupsd.log 2>&1 & \
         for i in $(seq 1 100); do lpstat -h 127.0.0.1:16631 -r 2>/dev/null | grep -q 'scheduler is running' && break; sleep 0.1; done; \
         lpadmin -h 127.0.0.1:16631 -p kiosk -E -v cups-pdf:/banso -m lsb/usr/cups-pdf/CUPS-PDF_opt.ppd >>$D/cupsd.log 2>&1; \
         python3 -m aiosmtpd -n -l 127.0.0.1:18025 -c aiosmtpd.handlers.Mailbox $D/mail >$D/smtp.log 2>&1 & \
         python3 {simulator} --listen 127.0.0.1:18090 --tmn-code BANSO001 --secret \"$(cat $D/vnpay.secret)\" \
           --ipn-url http://127.0.0.1:18080/pay/vnpay/ipn >$D/sim.out 2>$D/sim.log & \
         {sim_url} >/dev/null; \
         env -u BANSO_CONFIG BANSO_CSCA=$D/card/csca.pem BANSO_INTAKE=on \
           BANSO_VNPAY_URL=http://127.0.0.1:18090/paymentv2/vpcpay.html BANSO_VNPAY_TMN_CODE=BANSO001 \
           BANSO_VNPAY_SECRET_FILE=$D/vnpay.secret BANSO_SMTP_URL=smtp://127.0.0.1:18025 \
           {BIN} --data-dir {data} serve --listen 127.0.0.1:18080 >$D/serve.out 2>$D/serve.log & \
         SERVER=$({serve_url}); \
         {BIN} kiosk --server $SERVER --device-credential $D/kiosk.token --listen 127.0.0.1:0 --scanner file:{feed} --printer ipp://127.0.0.1:16631/printers/kiosk >$D/kiosk.out 2>$D/kiosk.log & \
         KIOSK=$({kiosk_url}); \
         cd {browser} && BANSO_FAKE_CAMERA=$D/camera.y4m KIOSK_CARD=001080012345,15011980,15012040 node kiosk.mjs $KIOSK {story} {shots}; rc=$?; \
         for i in $(seq 1 300); do [ -z \"$(lpstat -h 127.0.0.1:16631 -o 2>/dev/null)\" ] && break; sleep 0.1; done; \
         if [ -n \"$(ls $D/mail/new 2>/dev/null)\" ]; then \
           python3 $D/extract.py $D/mail $D/mailed.pdf >$D/mail.txt 2>&1; \
           {BIN} --data-dir {data} pki export-root >$D/root.pem; \
           pyhanko sign validate --trust-replace --trust $D/root.pem $D/mailed.pdf >$D/pyhanko.out 2>&1; \
         fi; \
         kill $(jobs -p) 2>/dev/null; exit $rc",
        d = d.display(),
        data = backend.data_dir.display(),
        feed = feed_dir.display(),
        browser = browser_dir().display(),
        shots = shots.display(),
        serve_url = wait_line("$D/serve.out", "listening on "),
        sim_url = wait_line("$D/sim.out", "listening on "),
        simulator = simulator.display(),
        cups = cups.display(),
        kiosk_url = wait_line("$D/kiosk.out", "kiosk screens on "),
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pcscd-vpcd.sh");
    let out = Command::new("bash")
        .arg(script)
        .args(["run", "bash", "-c", &inner])
        .output()
        .expect("scripts/pcscd-vpcd.sh");
    let logs = [
        "card.log",
        "serve.log",
        "kiosk.log",
        "sim.log",
        "cupsd.log",
        "cups/log/error_log",
    ]
    .iter()
    .map(|f| {
        format!(
            "--- {f}\n{}",
            std::fs::read_to_string(d.join(f)).unwrap_or_default()
        )
    })
    .collect::<Vec<_>>()
    .join("\n");
    story_report(&out, story, &logs)
}

#[test]
fn a_citizen_identifies_with_the_chip_card_and_the_face_at_the_kiosk() {
    let report = chip_story("fr_obama2_0.jpg", Film::Holder, "chip", false);
    // The name the central service read from the chip (DG13), not anything the kiosk typed.
    assert_eq!(report["holder"], "Nguyễn Văn Ánh", "{report}");
    assert_nothing_left(&report);
}

#[test]
fn another_persons_face_or_a_photo_held_up_gets_no_identity() {
    // The card is someone else's (its portrait is Joe Biden's): the central service finds the live face is
    // not the chip's, and the screen says so; nothing past the identity step opens.
    let report = chip_story("fr_biden_0.jpg", Film::Holder, "face-refused", false);
    let error = report["faceError"].as_str().unwrap();
    assert!(error.contains("FACE-0006"), "{report}");
    assert_eq!(report["after/document"], "/identify", "{report}");
    // The holder's own photo held up and tilted: the head never turns, so the screen never takes a frame
    // for a turn and says so (the central service's liveness check would refuse the frames anyway).
    let report = chip_story("fr_obama2_0.jpg", Film::HeldUpPhoto, "face-refused", false);
    let error = report["faceError"].as_str().unwrap();
    assert!(error.contains("Camera chưa thấy động tác quay đầu"), "{report}");
    assert_eq!(report["after/document"], "/identify", "{report}");
}

/// The happy path: chip and face, an original the intake lets through, the fee paid on the gateway's page
/// (confirmed to the central service by the gateway's signed notification), the copy issued and its QR on the
/// final screen.
#[test]
fn a_citizen_pays_the_fee_and_leaves_with_the_copys_qr() {
    let tmp = tempfile::TempDir::new().unwrap();
    let report = chip_story_in(&tmp, "fr_obama2_0.jpg", Film::Holder, "paid", true);
    print_timings(&report);
    let pay_url = report["payUrl"].as_str().unwrap();
    assert!(
        pay_url.starts_with("http://127.0.0.1:18090/paymentv2/vpcpay.html?"),
        "{report}"
    );
    assert!(pay_url.contains("vnp_SecureHash="), "{report}");
    // The QR on the final screen is the copy's verification address with its key.
    let qr = report["copyQr"].as_str().unwrap();
    assert!(
        qr.starts_with("http://127.0.0.1:18080/v/") && qr.contains("?k="),
        "{report}"
    );
    let result = report["result"].as_str().unwrap();
    assert!(result.contains("Bản sao đã được chứng thực"), "{report}");
    assert!(
        result.contains("2.000 đồng"),
        "the fee of one page, one copy: {report}"
    );
    // Printed: cups-pdf wrote what the printer got (re-rendered by CUPS: no longer signed, its text turned to
    // outlines), and the QR on its first page, read with zbarimg, names the copy.
    let code = report["code"].as_str().unwrap();
    assert!(
        report["printed"].as_str().unwrap().contains("Đã in 1 bản sao"),
        "{report}"
    );
    assert!(
        report["wallet"].as_str().unwrap().contains(code),
        "the wallet lists the copy: {report}"
    );
    // The receipt printed after the copy (plain text laid out by CUPS), and the rating recorded centrally.
    let receipt = printed(&format!("bien-nhan-{code}"));
    assert!(receipt.starts_with(b"%PDF-"));
    let ratings = Command::new("python3")
        .args(["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('select score from ratings').fetchall())"])
        .arg(tmp.path().join("data/banso.db"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ratings.stdout).trim(),
        "[(4,)]",
        "{}",
        String::from_utf8_lossy(&ratings.stderr)
    );
    let printed_pdf = printed(code);
    let compact: String = code.chars().filter(|c| *c != '-').collect();
    // (At 300 dpi: the printed rendering's small QR is not read at 150.)
    let codes = qr_codes_at(tmp.path(), &printed_pdf, 1, 300);
    assert!(
        codes.iter().any(|q| q.contains(&compact) || q.contains(code)),
        "the printed page's QR names the copy {code}: {codes:?}"
    );
    // E-mailed: the mail the SMTP server kept holds the copy's PDF, which pyHanko validates against the
    // installation's root, and the verification address.
    assert!(
        report["delivered"]
            .as_str()
            .unwrap()
            .contains("Đã gửi bản sao tới an.nguyen@example.vn"),
        "{report}"
    );
    let mail = std::fs::read_to_string(tmp.path().join("mail.txt")).unwrap_or_default();
    assert!(mail.starts_with("an.nguyen@example.vn"), "{mail}");
    assert!(mail.contains(qr), "the verification address in the text: {mail}");
    let pyhanko = std::fs::read_to_string(tmp.path().join("pyhanko.out")).unwrap_or_default();
    assert!(
        pyhanko_accepts_bt(&pyhanko),
        "pyHanko on the e-mailed copy: {pyhanko}"
    );
    assert_nothing_left(&report);
}

/// The same original, the payment cancelled on the gateway's page: nothing is issued.
#[test]
fn an_unpaid_request_issues_nothing() {
    let report = chip_story("fr_obama2_0.jpg", Film::Holder, "unpaid", true);
    assert!(
        report["unpaid"]
            .as_str()
            .unwrap()
            .contains("Chưa thanh toán được lệ phí"),
        "{report}"
    );
    assert_eq!(
        report["resultUnpaid"], "/scan",
        "no result without payment: {report}"
    );
}

/// The story's timings, printed (scripts/bench-kiosk.sh shows them; nothing is asserted on them): each screen
/// from the tap to ready (a form's POST, the redirect and the next screen's load), and the machine steps the
/// screens' scripts waited on.
fn print_timings(report: &Value) {
    let mut ready: Vec<u64> = Vec::new();
    println!("kiosk timings (ms): screen ready after the tap, from the navigation's start to its load event");
    for t in report["timings"].as_array().into_iter().flatten() {
        let ms = t["readyMs"].as_u64().unwrap_or(0);
        ready.push(ms);
        println!(
            "  screen {:<22} ready {ms:>6}",
            t["screen"].as_str().unwrap_or("")
        );
    }
    ready.sort_unstable();
    if !ready.is_empty() {
        let p = |q: f64| ready[((ready.len() - 1) as f64 * q).round() as usize];
        println!(
            "  screens: {} taps, p50 {} ms, p95 {} ms, max {} ms",
            ready.len(),
            p(0.5),
            p(0.95),
            ready[ready.len() - 1]
        );
    }
    for s in report["steps"].as_array().into_iter().flatten() {
        println!("  step   {:<46} {:>6}", s["step"].as_str().unwrap_or(""), s["ms"]);
    }
}

fn assert_nothing_left(report: &Value) {
    assert_eq!(report["cookiesAfter"], serde_json::json!([]), "{report}");
    assert_eq!(report["scanAfter"], 404, "{report}");
    for screen in ["/document", "/scan", "/result"] {
        assert_eq!(
            report[format!("after{screen}")],
            "/",
            "{screen} after the end: {report}"
        );
    }
    assert_eq!(report["leaked"], serde_json::json!([]), "{report}");
}

/// Runs one story in the browser against `url` with `env` set; its JSON report.
fn play_with(url: &str, story: &str, shots: &Path, env: &[(&str, &Path)]) -> Value {
    let mut command = Command::new("node");
    command
        .arg("kiosk.mjs")
        .arg(url)
        .arg(story)
        .arg(shots)
        .current_dir(browser_dir());
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().expect("node kiosk.mjs");
    story_report(&out, story, "")
}

/// A private cupsd on a free port with the `kiosk` queue (cups-pdf); its port. Stopped when dropped.
struct Cups(Child, u16);

impl Drop for Cups {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cups(d: &Path) -> Cups {
    let port = free_port();
    let conf = cups_config(d, port);
    let cups = Cups(
        Command::new("cupsd")
            .arg("-f")
            .arg("-c")
            .arg(conf.join("cupsd.conf"))
            .arg("-s")
            .arg(conf.join("cups-files.conf"))
            .stdout(Stdio::null())
            .spawn()
            .expect("cupsd"),
        port,
    );
    let host = format!("127.0.0.1:{port}");
    for _ in 0..100 {
        // (lpstat exits 0 either way: its words say whether the scheduler answers.)
        let running = Command::new("lpstat")
            .args(["-h", &host, "-r"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("scheduler is running"));
        if running {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let added = Command::new("lpadmin")
        .args(["-h", &host, "-p", "kiosk", "-E", "-v", "cups-pdf:/banso"])
        .args(["-m", "lsb/usr/cups-pdf/CUPS-PDF_opt.ppd"])
        .output()
        .expect("lpadmin");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    cups
}

/// A procedure with a fixed fee at the kiosk (certification of a signature, 10,000 VND): the review states the
/// fee, filing shows the gateway's QR, the phone (reading it with zbarimg) pays on the gateway simulator's page,
/// and the dossier is filed once the gateway's signed notification reached the central service — with that
/// payment on it.
#[test]
fn a_citizen_pays_a_procedures_fee_at_the_kiosk_before_the_dossier_is_filed() {
    let tmp = tempfile::TempDir::new().unwrap();
    let d = tmp.path();
    let provider = provider(600);
    let listen = format!("127.0.0.1:{}", free_port());
    let gateway = Gateway::start(&format!("http://{listen}/pay/vnpay/ipn"));
    let backend = gateway.configure(
        Backend::local(d)
            .with_env("BANSO_OIDC_ISSUER", &provider.1)
            .with_env("BANSO_OIDC_CLIENT_ID", "banso-kiosk")
            .with_env("BANSO_OIDC_SCOPE", "openid profile citizen"),
        d,
    );
    let server = backend.serve_at(&listen);
    let feed = d.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    std::fs::write(feed.join("page-1.png"), sample_page("png", 150, 24)).unwrap();
    let k = kiosk(&backend, &server, d, &feed, 90);
    let report = play(&k, "procedure-fee", &shots_dir(d, "procedure-fee"));
    assert!(
        report["fee"]
            .as_str()
            .unwrap()
            .contains("10.000 đồng — nộp trước khi hồ sơ được tiếp nhận"),
        "{report}"
    );
    let pay_screen = report["payScreen"].as_str().unwrap();
    assert!(
        pay_screen.contains("Mời ông/bà nộp lệ phí để nộp hồ sơ") && pay_screen.contains("10.000 đồng"),
        "{report}"
    );
    let pay_url = report["payUrl"].as_str().unwrap();
    assert!(
        pay_url.starts_with(&format!(
            "http://127.0.0.1:{}/paymentv2/vpcpay.html?",
            gateway.port
        )),
        "{report}"
    );
    let reference = pay_url
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("vnp_TxnRef="))
        .unwrap();
    let code = report["dossier"].as_str().unwrap();
    let lookup = report["lookup"].as_str().unwrap();
    let dossier: Value = server
        .get(&format!("/api/v1/dossiers/{code}?k={lookup}"))
        .json()
        .unwrap();
    assert_eq!(
        (
            dossier["procedure_code"].as_str(),
            dossier["fee_vnd"].as_u64(),
            dossier["fee_paid"].as_str()
        ),
        (Some("2.000884"), Some(10_000), Some(reference)),
        "{dossier}"
    );
}

/// A citizen files a procedure at the kiosk and follows it to the result: the national-ID app login (QR read
/// by the phone), the birth registration found by typing "dang ky khai sinh" on the screen's keyboard, the
/// declarant's fields filled from the login and locked, the parents' marriage certificate from the wallet and
/// the medical certificate of birth scanned, the dossier filed; the appointment slip printed to cups-pdf and
/// e-mailed (pdftotext finds the dossier code and the due date, pyHanko accepts the seal, zbarimg reads the
/// tracking address on the printed page); an officer asks for one more document, which the citizen sends from
/// the phone through the slip's QR; the result, sealed, in the citizen's wallet page; the ratings.
#[test]
fn a_citizen_files_a_procedure_at_the_kiosk_and_follows_it_to_the_result() {
    let tmp = tempfile::TempDir::new().unwrap();
    let d = tmp.path();
    let provider = provider(600);
    let maildir = d.join("mail");
    let relay = smtp(&maildir);
    let printer = cups(d);
    let backend = Backend::local(d)
        .with_env("BANSO_OIDC_ISSUER", &provider.1)
        .with_env("BANSO_OIDC_CLIENT_ID", "banso-kiosk")
        .with_env("BANSO_OIDC_SCOPE", "openid profile citizen")
        .with_env("BANSO_SMTP_URL", &format!("smtp://127.0.0.1:{}", relay.1));
    let server = backend.serve();
    let officer = backend.token("officer");
    // The parents' marriage certificate, certified earlier, in the citizen's wallet.
    let (s, issued) = server.issue(
        &officer,
        &[
            ("holder_id", "001099012345"),
            ("holder_name", "Nguyễn Văn An"),
            ("document_type", "Giấy chứng nhận kết hôn"),
        ],
        &[sample_page("png", 150, 21)],
    );
    assert_eq!(s, 201, "{issued}");
    let feed = d.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    std::fs::write(feed.join("page-1.png"), sample_page("png", 150, 22)).unwrap();
    let k = kiosk_printing(
        &backend,
        &server,
        d,
        &feed,
        90,
        Some(&format!("ipp://127.0.0.1:{}/printers/kiosk", printer.1)),
    );
    let report = play(&k, "procedure", &shots_dir(d, "procedure"));
    assert!(
        report["found"].as_str().unwrap().contains("Đăng ký khai sinh"),
        "{report}"
    );
    let locked = &report["locked"];
    assert_eq!(locked["id"], "001099012345", "{report}");
    assert_eq!(locked["name"], "Nguyễn Văn An", "{report}");
    assert!(locked["readonly"].is_string(), "{report}");
    assert!(
        locked["label"]
            .as_str()
            .unwrap()
            .contains("Từ ứng dụng định danh quốc gia"),
        "{report}"
    );
    assert!(
        report["documents"].as_str().unwrap().contains("Đã quét 1 trang"),
        "{report}"
    );
    let code = report["dossier"].as_str().unwrap().to_string();
    let lookup = report["lookup"].as_str().unwrap().to_string();
    let due = report["due"].as_str().unwrap().to_string();
    let track = report["trackUrl"].as_str().unwrap().to_string();
    assert_eq!(track, server.url(&format!("/d/{code}?k={lookup}")), "{report}");
    assert!(
        report["printed"]
            .as_str()
            .unwrap()
            .contains("Đã in giấy tiếp nhận"),
        "{report}"
    );
    assert!(report["rated"].as_str().unwrap().contains("Cảm ơn"), "{report}");

    // The printed slip (re-rendered by CUPS, its text turned to outlines: no text layer left to read): its QR,
    // read with zbarimg, is the dossier's tracking address with the lookup code.
    let slip = printed(&format!("giay-hen-{code}"));
    let codes = qr_codes_at(d, &slip, 1, 300);
    assert!(codes.iter().any(|q| q == &track), "{codes:?}");
    // The e-mailed slip: the same dossier and day, sealed (pyHanko against the installation's root).
    let start = std::time::Instant::now();
    while mailed(&maildir).is_empty() && start.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let mails = mailed(&maildir);
    let (to, subject, pdf) = mails.first().expect("the slip mailed");
    assert_eq!(to, "an.nguyen@example.vn");
    assert!(subject.contains(&code), "{subject}");
    let text = pdftotext(d, pdf);
    assert!(text.contains(&code) && text.contains(&due), "{text}");
    let (ok, out) = pyhanko_validate(d, &backend.root_pem(), pdf);
    assert!(ok && pyhanko_accepts_bt(&out), "{out}");

    // An officer takes the dossier and asks for a witness's statement; the citizen sends it from the phone.
    let act = |path: &str, body: Value| {
        let (s, v) = server.kiosk_json(
            &officer,
            reqwest::Method::POST,
            &format!("/api/v1/dossiers/{code}/{path}"),
            Some(body),
        );
        assert_eq!(s, 200, "{path}: {v}");
        v
    };
    act("assign", json!({}));
    act(
        "request-documents",
        json!({"documents": ["van-ban-lam-chung"], "note": "Đề nghị bổ sung văn bản của người làm chứng."}),
    );
    // Followed at the kiosk: the dossier code and the lookup code typed on its screen; the witness's statement
    // scanned and sent from there.
    let at_kiosk = play_with(
        &k.url,
        "track-kiosk",
        &shots_dir(d, "track-kiosk"),
        &[("TRACK_CODE", Path::new(&code)), ("TRACK_K", Path::new(&lookup))],
    );
    assert!(
        at_kiosk["status"]
            .as_str()
            .unwrap()
            .contains("Cần bổ sung giấy tờ"),
        "{at_kiosk}"
    );
    assert!(
        at_kiosk["sent"]
            .as_str()
            .unwrap()
            .contains("Đã gửi giấy tờ bổ sung"),
        "{at_kiosk}"
    );
    assert!(
        at_kiosk["statusAfter"]
            .as_str()
            .unwrap()
            .contains("Đang giải quyết"),
        "{at_kiosk}"
    );
    // Then one more document, sent from the phone through the slip's QR.
    act(
        "request-documents",
        json!({"documents": ["giay-chung-nhan-ket-hon-cha-me"], "note": "Đề nghị nộp bản quét giấy chứng nhận kết hôn."}),
    );
    let statement = d.join("statement.png");
    std::fs::write(&statement, sample_page("png", 150, 23)).unwrap();
    let phone = play_with(
        &track,
        "track-more",
        &shots_dir(d, "track-more"),
        &[("TRACK_FILE", &statement)],
    );
    assert!(
        phone["status"].as_str().unwrap().contains("Cần bổ sung giấy tờ"),
        "{phone}"
    );
    assert!(
        phone["sent"].as_str().unwrap().contains("Đã gửi giấy tờ bổ sung"),
        "{phone}"
    );
    assert!(
        phone["statusAfter"].as_str().unwrap().contains("Đang giải quyết"),
        "{phone}"
    );

    // The result (a PDF the officer made: page 1 of the wallet copy, unsigned), sealed, then returned.
    let copy_pdf = server.fetch_pdf(&issued["copies"][0]);
    std::fs::write(d.join("copy.pdf"), &copy_pdf).unwrap();
    let made = Command::new("qpdf")
        .args(["--empty", "--pages"])
        .arg(d.join("copy.pdf"))
        .args(["1", "--"])
        .arg(d.join("made.pdf"))
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    use base64::Engine;
    let made = base64::engine::general_purpose::STANDARD.encode(std::fs::read(d.join("made.pdf")).unwrap());
    act("result", json!({"pdf": made, "note": "Đã cấp Giấy khai sinh."}));
    act("return", json!({}));
    let phone = play_with(&track, "track-result", &shots_dir(d, "track-result"), &[]);
    assert!(
        phone["status"].as_str().unwrap().contains("Đã trả kết quả"),
        "{phone}"
    );
    assert!(
        phone["result"].as_str().unwrap().contains("/result.pdf"),
        "{phone}"
    );
    assert!(phone["rated"].as_str().unwrap().contains("Cảm ơn"), "{phone}");
    // The result in the citizen's wallet page, after the app login.
    let wallet = play_at(&server.base, "web-wallet", &shots_dir(d, "web-wallet-dossier"));
    let listed = wallet["wallet"].as_str().unwrap();
    assert!(
        listed.contains(&code) && listed.contains("Kết quả giải quyết"),
        "{wallet}"
    );
    assert_eq!(
        (&wallet["resultPdf"]["status"], &wallet["resultPdf"]["head"]),
        (&json!(200), &json!("%PDF-")),
        "the result opens from the wallet: {wallet}"
    );
    // Both ratings recorded: at the kiosk for the service, on the phone for the result.
    let (s, r) = server.kiosk_json(
        &officer,
        reqwest::Method::GET,
        &format!("/api/v1/dossiers/{code}/ratings"),
        None,
    );
    assert_eq!(s, 200, "{r}");
    let steps: Vec<(&str, &str)> = r["ratings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["step"].as_str().unwrap(), x["level"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [("service", "very_satisfied"), ("result", "very_satisfied")],
        "{r}"
    );
}

/// A mobile service vehicle's kiosk, enrolled by a one-time code, loses its link to the centre while a citizen
/// files a dossier: the link (a
/// relay the test pulls out: the kiosk process cannot reach the service) drops after the app login and the form,
/// before the citizen taps "Nộp hồ sơ". The submission is queued on the kiosk's disk (one file, the kiosk user's
/// alone), the screen says so with a reference, and the start screen says the kiosk is offline with one dossier
/// waiting; nothing reaches the centre. The kiosk is then killed (-9) and started again on the same queue, still
/// cut off: still nothing. The link is plugged back: after the next heartbeat the dossier exists, exactly once
/// (and stays once over the following heartbeats), filed for the citizen the app login proved, with the fee left
/// to the office; the queue is empty and the offline notice gone.
#[test]
fn a_dossier_filed_while_the_link_is_down_is_queued_and_filed_once_when_it_returns() {
    let tmp = tempfile::TempDir::new().unwrap();
    let d = tmp.path();
    let provider = provider(600);
    let backend = Backend::local(d)
        .with_env("BANSO_OIDC_ISSUER", &provider.1)
        .with_env("BANSO_OIDC_CLIENT_ID", "banso-kiosk")
        .with_env("BANSO_OIDC_SCOPE", "openid profile citizen");
    let server = backend.serve();
    let agency = backend.token("agency");
    let central_port: u16 = server
        .base
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let link = Link::to(central_port);
    let feed = d.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    std::fs::write(feed.join("page-1.png"), sample_page("png", 150, 31)).unwrap();
    // Enrolled by a one-time code (the operator's command line; the fleet page makes the same), through the link.
    let out = backend.cli(&["token", "enrol-code", "--name", "Xe dịch vụ công lưu động số 1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let credential = d.join("kiosk.token");
    let queue = d.join("queue");
    let listen = format!("127.0.0.1:{}", free_port());
    let extra = [
        "--heartbeat-secs",
        "1",
        "--queue",
        queue.to_str().unwrap(),
        "--enrol-code",
        &code,
    ];
    let start = || spawn_kiosk(&link.url(), &listen, &credential, &feed, 300, &extra);
    let mut kiosk = start();
    assert!(
        std::fs::read_to_string(&credential).unwrap().starts_with("bnso_"),
        "enrolled"
    );
    let handover = d.join("handover");
    std::fs::create_dir_all(&handover).unwrap();
    let filed = || {
        let (s, events) =
            server.kiosk_json(&agency, reqwest::Method::GET, "/api/v1/integration/events", None);
        assert_eq!(s, 200, "{events}");
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "received")
            .map(|e| e["dossier"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let queued_files = || {
        std::fs::read_dir(&queue)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect::<Vec<_>>()
    };
    let wait_file = |name: &str, secs: u64| {
        let t = std::time::Instant::now();
        while !handover.join(name).exists() {
            assert!(t.elapsed().as_secs() < secs, "the story did not reach {name}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let url = kiosk.url.clone();
    let report = std::thread::scope(|s| {
        let story = s.spawn(|| {
            play_with(
                &url,
                "procedure-offline",
                &shots_dir(d, "procedure-offline"),
                &[("LINK_DIR", handover.as_path())],
            )
        });
        let mut watch = || -> Result<(), String> {
            wait_file("pull", 240);
            link.pull();
            std::fs::write(handover.join("pulled"), "ok").unwrap();
            wait_file("queued", 120);
            // Queued on the kiosk, nothing at the centre.
            let files = queued_files();
            if files.len() != 1 {
                return Err(format!("one queued submission: {files:?}"));
            }
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
            if mode != 0o600 {
                return Err(format!("the queued file is the kiosk user's alone: {mode:o}"));
            }
            if !filed().is_empty() {
                return Err("a dossier reached the centre through a pulled link".into());
            }
            // The kiosk dies and comes back, still cut off: the queue is still there, nothing is sent.
            kiosk.child.kill().unwrap();
            kiosk.child.wait().unwrap();
            kiosk = start();
            std::thread::sleep(std::time::Duration::from_secs(3));
            if queued_files().len() != 1 || !filed().is_empty() {
                return Err("the restarted kiosk lost or sent its queue while cut off".into());
            }
            link.plug();
            let t = std::time::Instant::now();
            while filed().is_empty() && t.elapsed().as_secs() < 60 {
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            // A few more heartbeats: nothing is sent twice.
            std::thread::sleep(std::time::Duration::from_secs(4));
            std::fs::write(handover.join("plugged"), "ok").unwrap();
            Ok(())
        };
        let watched = watch();
        if watched.is_err() {
            // Let the story end.
            std::fs::write(handover.join("pulled"), "ok").ok();
            std::fs::write(handover.join("plugged"), "ok").ok();
        }
        let report = story.join().unwrap();
        watched.unwrap_or_else(|e| panic!("{e}: {report}"));
        report
    });
    let codes = filed();
    assert_eq!(codes.len(), 1, "exactly one dossier: {codes:?}");
    assert!(queued_files().is_empty(), "the queue is empty");
    let queued = report["queued"].as_str().unwrap();
    assert!(
        queued.contains("Hồ sơ của ông/bà đã được lưu trên máy"),
        "{queued}"
    );
    assert!(queued.contains("tự động gửi"), "{queued}");
    assert!(queued.contains("Lệ phí nộp tại Bộ phận Một cửa"), "{queued}");
    assert!(
        report["reference"].as_str().unwrap().starts_with("HC-"),
        "{report}"
    );
    let offline = report["startOffline"].as_str().unwrap();
    assert!(
        offline.contains("mất kết nối") && offline.contains("Đang chờ gửi: 1 hồ sơ"),
        "{offline}"
    );
    assert_eq!(
        report["offlineAfter"], 0,
        "the notice is gone once the link is back: {report}"
    );
    let (s, dossier) = server.kiosk_json(
        &agency,
        reqwest::Method::GET,
        &format!("/api/v1/integration/dossiers/{}", codes[0]),
        None,
    );
    assert_eq!(s, 200, "{dossier}");
    assert_eq!(
        dossier["holder_id"], "001099012345",
        "the app login's citizen: {dossier}"
    );
    assert_eq!(dossier["procedure_code"], "2.000884", "{dossier}");
    assert_eq!(
        dossier["fee_paid"],
        Value::Null,
        "the fee is the office's to take: {dossier}"
    );
    // The enrolled kiosk's token, heard from (its heartbeats).
    let (rc, tokens) = backend.cli_json(&["token", "list", "--json"]);
    assert_eq!(rc, 0, "{tokens}");
    let vehicle = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Xe dịch vụ công lưu động số 1")
        .unwrap_or_else(|| panic!("the enrolled kiosk's token: {tokens}"));
    assert_eq!(vehicle["role"], "kiosk", "{vehicle}");
    assert!(vehicle["last_used_at"].is_string(), "{vehicle}");
}

/// A kiosk's heartbeat says what its printer says of itself over IPP (Get-Printer-Attributes to a real CUPS
/// queue): `ok` while the queue takes jobs; stopped, with its reason, once it is stopped; `ok` again once it is
/// started. Its camera's device node and pcscd's readers are reported beside it; the operator reads it all with
/// `banso token fleet`.
#[test]
fn the_heartbeat_reports_the_printer_over_ipp_and_the_other_peripherals() {
    let tmp = tempfile::TempDir::new().unwrap();
    let d = tmp.path();
    let backend = Backend::local(d);
    let server = backend.serve();
    let printer = cups(d);
    let host = format!("127.0.0.1:{}", printer.1);
    let feed = d.join("feed");
    std::fs::create_dir_all(&feed).unwrap();
    let credential = d.join("kiosk.token");
    std::fs::write(&credential, backend.token("kiosk")).unwrap();
    let camera = d.join("video0");
    std::fs::write(&camera, b"").unwrap();
    let uri = format!("ipp://{host}/printers/kiosk");
    let _kiosk = spawn_kiosk(
        &server.base,
        "127.0.0.1:0",
        &credential,
        &feed,
        90,
        &[
            "--printer",
            &uri,
            "--heartbeat-secs",
            "1",
            "--camera",
            camera.to_str().unwrap(),
        ],
    );
    let state = || {
        let (rc, fleet) = backend.cli_json(&["token", "fleet", "--json"]);
        assert_eq!(rc, 0, "{fleet}");
        fleet[0]["state"].clone()
    };
    let wait_until = |what: &str, ok: &dyn Fn(&Value) -> bool| {
        let t = std::time::Instant::now();
        loop {
            let s = state();
            if ok(&s) {
                return s;
            }
            assert!(t.elapsed().as_secs() < 30, "{what}: {s}");
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    };
    let first = wait_until("the printer ok", &|s| s["printer"] == "ok");
    assert_eq!(first["scanner"], "ok", "{first}");
    assert_eq!(first["camera"], "ok", "{first}");
    assert!(
        first["card_reader"].as_str().is_some_and(|r| !r.is_empty()),
        "{first}"
    );
    let lp = |tool: &str, args: &[&str]| {
        let out = Command::new(tool)
            .args(["-h", &host])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    lp("cupsdisable", &["-r", "Hết giấy", "kiosk"]);
    let stopped = wait_until("the printer stopped", &|s| {
        s["printer"].as_str().is_some_and(|p| p.starts_with("stopped"))
    });
    assert!(
        stopped["printer"].as_str().unwrap().contains("paused"),
        "{stopped}"
    );
    std::fs::remove_file(&camera).unwrap();
    let unplugged = wait_until("the camera gone", &|s| s["camera"] != "ok");
    assert!(
        unplugged["camera"].as_str().unwrap().starts_with("no device"),
        "{unplugged}"
    );
    lp("cupsenable", &["kiosk"]);
    wait_until("the printer ok again", &|s| s["printer"] == "ok");
}
