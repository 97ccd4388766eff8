//! The backend-neutral story: a kiosk's request is held for an officer (the intake is off here), an officer
//! issues a certified copy, a citizen opens it from the QR, a bank
//! verifies it, an officer revokes another and a chair's decision cancels a third. The same story runs on
//! SQLite + local files and on PostgreSQL + an S3-compatible store (PostgreSQL real; S3 is moto's server, the
//! emulator PRODUCT.md prescribes).

mod common;

use common::citizen::Citizens;
use common::*;
use serde_json::Value;
use std::process::Command;

fn story(backend: Backend) {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let mut citizens = Citizens::new(dir, &[("001099012345", "Nguyễn Thị Hồng Nhung")]);
    let backend = citizens.trusted_by(backend);
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let officer = backend.token("officer");
    let root = backend.root_pem();

    // Two copies of a two-page original (a JPEG and a PNG scan), asked for at a kiosk by the citizen it
    // identified (chip and face). With no intake checks, nothing is certified on a kiosk's word: its request
    // is held for an officer; the officer's request is the review.
    let pages = vec![sample_page("jpeg", 150, 1), sample_page("png", 100, 2)];
    let request = [
        ("holder_id", "001099012345"),
        ("holder_name", "Nguyễn Thị Hồng Nhung"),
        ("document_type", "Giấy khai sinh"),
        ("copies", "2"),
    ];
    let session = server.identify(&kiosk, &mut citizens.people[0]);
    let (status, held) = server.issue_for(&kiosk, &session, &request, &pages);
    assert_eq!(
        (status, held["status"].as_str(), held["code"].as_str()),
        (202, Some("held"), Some("ISS-0009")),
        "{held}"
    );
    let (status, issued) = server.issue(&officer, &request, &pages);
    assert_eq!(status, 201, "{issued}");
    for field in ["code", "number", "status", "sha256", "pdf", "fee_vnd"] {
        assert!(issued.get(field).is_some(), "missing {field}: {issued}");
    }
    assert_eq!(issued["status"], "valid");
    assert_eq!(issued["fee_vnd"], 8_000, "2 pages × 2,000 VND × 2 copies");
    let copies = issued["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2);
    assert_eq!(
        copies[0]["number"], copies[1]["number"],
        "one number per original, even for several copies"
    );
    assert_ne!(copies[0]["code"], copies[1]["code"]);
    let year = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
        .year();
    assert_eq!(copies[0]["number"], format!("Số: 01, Quyển số: 01/{year}-SCT/BS"));

    // The citizen opens the copy from its QR link.
    let pdf_url = issued["pdf"].as_str().unwrap();
    let pdf = server.http.get(pdf_url).send().unwrap().bytes().unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&pdf));
    assert_eq!(issued["sha256"], sha);

    // Independent validators.
    let (ok, out) = pyhanko_validate(dir, &root, &pdf);
    assert!(ok && pyhanko_accepts_bt(&out), "pyHanko: {out}");
    let report = pdfsig(dir, &root, &pdf);
    assert!(
        report.contains("Signature is Valid") && !report.contains("Digest Mismatch"),
        "pdfsig: {report}"
    );
    assert!(report.contains("Total document signed"), "pdfsig: {report}");
    let (ok, out) = qpdf_check(dir, &pdf);
    assert!(ok, "qpdf: {out}");
    assert_eq!(page_count(dir, &pdf), 3, "two pages and the certification page");
    let text = pdftotext(dir, &pdf);
    assert!(text.contains("Chứng thực bản sao đúng với bản chính."), "{text}");
    assert!(text.contains(&format!("Quyển số: 01/{year}-SCT/BS")), "{text}");
    assert!(text.contains("Nguyễn Thị Hồng Nhung"), "{text}");
    let code = issued["code"].as_str().unwrap();
    // pdftotext separates pages with a form feed: check the watermark and the footer page by page.
    let pages_text: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(pages_text.len(), 3, "{text}");
    for (i, page_text) in pages_text.iter().enumerate() {
        assert!(
            page_text.contains("TTPVHCC"),
            "watermark missing on page {}: {page_text}",
            i + 1
        );
        let footer = format!("Verification code: {code}");
        assert!(
            page_text.contains(&footer),
            "footer missing on page {}: {page_text}",
            i + 1
        );
        assert!(
            page_text.contains(&format!("Trang {}/3", i + 1)),
            "page number on page {}",
            i + 1
        );
    }
    assert!(
        pages_text[2].contains("Chứng thực bản sao đúng với bản chính."),
        "the statement is on the last page"
    );
    let qr_url = issued["qr_url"].as_str().unwrap();
    assert!(
        qr_url.starts_with(&server.base),
        "QR URLs point at this server: {qr_url}"
    );
    for page in 1..=3 {
        assert!(
            qr_codes(dir, &pdf, page).contains(&qr_url.to_string()),
            "QR on page {page}"
        );
    }

    // The public page and the JSON status show minimal metadata and no personal data.
    let compact = code.replace('-', "");
    let status: Value = server.get(&format!("/api/v1/copies/{code}")).json().unwrap();
    assert_eq!(status["status"], "valid");
    assert_eq!(status["document_type"], "Giấy khai sinh");
    assert_eq!(status["pages"], 3);
    assert_eq!(status["sha256"], sha);
    let body = status.to_string();
    assert!(
        !body.contains("Nhung") && !body.contains("001099012345"),
        "personal data leaked: {body}"
    );
    let page = server.get(&format!("/v/{compact}")).text().unwrap();
    assert!(
        page.contains("Bản sao có hiệu lực") && page.contains("This copy is valid"),
        "{page}"
    );
    assert!(!page.contains("/pdf?k="), "no document without the key");
    assert!(!page.contains("Nhung"));
    let qr_page = server.http.get(qr_url).send().unwrap().text().unwrap();
    assert!(
        qr_page.contains("/pdf?k="),
        "the QR's key offers the PDF: {qr_page}"
    );
    let wrong_key = server.get(&format!(
        "/api/v1/copies/{compact}/pdf?k=aaaaaaaaaaaaaaaaaaaaaaaaaa"
    ));
    assert_eq!(wrong_key.status().as_u16(), 403);

    // A bank verifies the file.
    let (status, report) = server.verify_pdf(&pdf);
    assert_eq!(status, 200);
    assert_eq!(report["valid"], true, "{report}");
    for check in ["signature", "registry", "status"] {
        assert_eq!(report[check]["ok"], true, "{check}: {report}");
    }
    let sig = &report["signatures"][0];
    for check in ["integrity", "chain", "coverage", "modifications"] {
        assert_eq!(sig[check]["ok"], true, "{check}: {report}");
    }

    // The CLI works on the same stored data with the server running.
    let file = dir.join("copy.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let (rc, cli_report) = backend.cli_json(&["verify", file.to_str().unwrap(), "--json"]);
    assert_eq!(rc, 0, "{cli_report}");
    assert_eq!(cli_report["valid"], true);

    // An officer revokes the second copy; verification then fails on status only.
    let second = copies[1]["code"].as_str().unwrap();
    let second_pdf = server
        .http
        .get(copies[1]["pdf"].as_str().unwrap())
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let r = server
        .http
        .post(server.url(&format!("/api/v1/copies/{second}/revoke")))
        .bearer_auth(&officer)
        .json(&serde_json::json!({ "reason": "Cấp nhầm người" }))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (_, report) = server.verify_pdf(&second_pdf);
    assert_eq!(report["valid"], false);
    assert_eq!(report["signature"]["ok"], true);
    assert_eq!(report["status"]["reason"], "revoked", "{report}");
    let again = server
        .http
        .post(server.url(&format!("/api/v1/copies/{second}/revoke")))
        .bearer_auth(&officer)
        .json(&serde_json::json!({ "reason": "again" }))
        .send()
        .unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let err: Value = again.json().unwrap();
    assert_eq!(err["error"]["code"], "REV-0001");

    // A third copy, issued from the CLI beside the server, is cancelled by decision from the CLI.
    let p1 = dir.join("p1.jpg");
    std::fs::write(&p1, sample_page("jpeg", 100, 3)).unwrap();
    let out_pdf = dir.join("cli.pdf");
    let (rc, third) = backend.cli_json(&[
        "issue",
        "--holder-id",
        "001099012345",
        "--holder-name",
        "Trần Văn Bình",
        "--doc-type",
        "Bằng tốt nghiệp",
        "--out",
        out_pdf.to_str().unwrap(),
        "--json",
        p1.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{third}");
    assert_eq!(
        third["number"],
        format!("Số: 02, Quyển số: 01/{year}-SCT/BS"),
        "numbers run on"
    );
    assert_eq!(third["fee_vnd"], 2_000);
    assert_eq!(third["pdf"], out_pdf.to_str().unwrap());
    let third_code = third["code"].as_str().unwrap();
    let (rc, cancelled) = backend.cli_json(&[
        "revoke",
        third_code,
        "--reason",
        "Quyết định hủy",
        "--decision",
        "123/QĐ-UBND",
        "--json",
    ]);
    assert_eq!(rc, 0, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled_by_decision");
    let status: Value = server
        .get(&format!("/api/v1/copies/{third_code}"))
        .json()
        .unwrap();
    assert_eq!(status["status"], "cancelled_by_decision");
    assert_eq!(status["decision_number"], "123/QĐ-UBND");
    let (rc, _) = backend.cli_json(&["verify", out_pdf.to_str().unwrap(), "--json"]);
    assert_eq!(rc, 1, "a cancelled copy verifies as invalid");
    let (rc, _) = backend.cli_json(&["verify", code, "--json"]);
    assert_eq!(rc, 0);
    let (rc, _) = backend.cli_json(&["verify", third_code, "--json"]);
    assert_eq!(rc, 1);

    // A PDF original (here: the two-page PDF issued above) is certified page by page.
    let from_pdf = dir.join("from-pdf.pdf");
    let (rc, fourth) = backend.cli_json(&[
        "issue",
        "--holder-id",
        "001099012345",
        "--holder-name",
        "Trần Văn Bình",
        "--doc-type",
        "Học bạ",
        "--out",
        from_pdf.to_str().unwrap(),
        "--json",
        out_pdf.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{fourth}");
    assert_eq!(fourth["original_pages"], 2);
    assert_eq!(fourth["fee_vnd"], 4_000);
    let fourth_pdf = std::fs::read(&from_pdf).unwrap();
    assert_eq!(page_count(dir, &fourth_pdf), 3);
    assert!(
        pdftotext(dir, &fourth_pdf).contains(third_code),
        "the imported pages keep their text"
    );
    let (ok, out) = pyhanko_validate(dir, &root, &fourth_pdf);
    assert!(ok && pyhanko_accepts_bt(&out), "pyHanko: {out}");

    // The story really ran on the backend it names.
    let remote = backend.env.iter().any(|(k, v)| k == "BANSO_STORAGE" && v == "s3");
    assert_eq!(
        backend.data_dir.join("objects").exists(),
        !remote,
        "objects stored where configured"
    );
    assert_eq!(
        backend.data_dir.join("banso.db").exists(),
        !remote,
        "registry kept where configured"
    );
    if remote {
        let env = |k: &str| {
            backend
                .env
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        // The rows are in PostgreSQL: every copy issued above, each with its log leaf.
        let psql = Command::new("psql")
            .arg(env("BANSO_DATABASE_URL"))
            .args([
                "-tAc",
                "SELECT (SELECT count(*) FROM copies) || ' ' || (SELECT count(*) FROM log_leaves)",
            ])
            .output()
            .expect("psql");
        let counts = String::from_utf8_lossy(&psql.stdout).trim().to_string();
        let (copies, leaves) = counts.split_once(' ').unwrap_or(("0", "0"));
        let (copies, leaves): (u32, u32) = (copies.parse().unwrap(), leaves.parse().unwrap());
        assert!(
            copies >= 4 && leaves > copies,
            "copies and log leaves in PostgreSQL: {counts}"
        );
        // The objects are in the S3 bucket: the PDFs of those copies and their originals.
        let listed = Command::new("python3")
            .args([
                "-c",
                "import boto3,sys; c=boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
                 aws_access_key_id='testing', aws_secret_access_key='testing'); \
                 print(*[o['Key'] for o in c.list_objects_v2(Bucket=sys.argv[2]).get('Contents', [])], sep=chr(10))",
                &env("BANSO_S3_ENDPOINT"),
                &env("BANSO_S3_BUCKET"),
            ])
            .output()
            .expect("python3");
        let keys = String::from_utf8_lossy(&listed.stdout);
        assert!(
            keys.lines().filter(|k| k.starts_with("copies/")).count() as u32 >= copies
                && keys.lines().any(|k| k.starts_with("originals/")),
            "{keys}"
        );
    }
}

#[test]
fn story_on_sqlite_and_local_files() {
    let tmp = tempfile::TempDir::new().unwrap();
    story(Backend::local(tmp.path()));
}

#[test]
fn story_on_postgres_and_s3() {
    let tmp = tempfile::TempDir::new().unwrap();
    story(Backend::postgres_s3(tmp.path()));
}
