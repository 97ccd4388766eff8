//! Issuance with the intake on (`BANSO_INTAKE=on`): generated Vietnamese documents through the real Tesseract.
//! A clean original whose holder matches is issued and its copy carries the original's text (pdftotext); an
//! Art. 22 case is refused with its ground and nothing is issued; a holder mismatch is held for an officer, and
//! issued when an officer sends it; every decision is kept with its checks (`GET /api/v1/intake/{id}`).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn page(dir: &Path, id: &str) -> (Vec<u8>, Value) {
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.json"))).unwrap()).unwrap();
    let image = std::fs::read(dir.join(truth["image_file"].as_str().unwrap())).unwrap();
    (image, truth)
}

fn intake_record(server: &Server, officer: &str, message: &str) -> Value {
    let id = message
        .rsplit("intake record ")
        .next()
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no intake record id in {message:?}"));
    let r = server
        .http
        .get(server.url(&format!("/api/v1/intake/{id}")))
        .bearer_auth(officer)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().unwrap()
}

#[test]
fn issuance_runs_the_intake_first_and_keeps_its_decision() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path().join("corpus");
    corpus(&dir, "clean,art22", 2, 3);
    let (image, truth) = page(&dir, "birth_certificate-clean-000");
    let (other, other_truth) = page(&dir, "birth_certificate-clean-001");
    let f = &truth["fields"];
    let g = &other_truth["fields"];
    // The citizens who come to the kiosk: the holder of each birth certificate, and someone else.
    let field = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let (f_id, f_name, g_id, g_name) = (
        field(f, "id_number"),
        field(f, "holder_name"),
        field(g, "id_number"),
        field(g, "holder_name"),
    );
    let mut citizens = common::citizen::Citizens::new(
        tmp.path(),
        &[(&f_id, &f_name), (&g_id, &g_name), ("001099012345", "Lê Thị Hoa")],
    );
    let backend = citizens
        .trusted_by(Backend::local(tmp.path()))
        .with_env("BANSO_INTAKE", "on");
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let officer = backend.token("officer");
    let first = server.identify(&kiosk, &mut citizens.people[0]);

    // A clean birth certificate, for its holder: issued, and the copy is searchable.
    let holder = [
        ("holder_id", f_id.as_str()),
        ("holder_name", f_name.as_str()),
        ("document_type", "Giấy khai sinh"),
    ];
    let (status, issued) = server.issue_for(&kiosk, &first, &holder, std::slice::from_ref(&image));
    assert_eq!(status, 201, "{issued}");
    let pdf = server
        .http
        .get(issued["pdf"].as_str().unwrap())
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let text = pdftotext(tmp.path(), &pdf);
    assert!(
        text.contains("GIẤY KHAI SINH"),
        "the original's text is in the copy:\n{text}"
    );
    assert!(text.contains(f["holder_name"].as_str().unwrap()), "{text}");
    assert!(
        text.contains("Chứng thực bản sao đúng với bản chính"),
        "and the certification page"
    );
    let record = intake_record_by_id(&server, &officer, issued["intake_id"].as_str().unwrap());
    assert_eq!(record["decision"], "auto_issue", "{record}");
    assert_eq!(record["outcome"], "issued");
    assert_eq!(
        record["codes"][0].as_str().unwrap(),
        issued["code"].as_str().unwrap().replace('-', "")
    );
    assert_eq!(
        record["report"]["pages"][0]["doc_type"], "birth_certificate",
        "{record}"
    );
    assert_eq!(
        (
            record["claimed_type"].as_str(),
            record["recognised_type"].as_str()
        ),
        (Some("Giấy khai sinh"), Some("birth_certificate")),
        "the recognised type is kept beside the claimed one"
    );

    // A clean birth certificate sent as a university diploma: the type the pages read as is not the one the
    // request names, so an officer looks first.
    let misnamed = [
        ("holder_id", g_id.as_str()),
        ("holder_name", g_name.as_str()),
        ("document_type", "Bằng tốt nghiệp đại học"),
    ];
    let second = server.identify(&kiosk, &mut citizens.people[1]);
    let (status, e) = server.issue_for(&kiosk, &second, &misnamed, &[other]);
    assert_eq!(
        (status, e["status"].as_str(), e["code"].as_str()),
        (202, Some("held"), Some("ISS-0009")),
        "{e}"
    );
    let record = intake_record_by_id(&server, &officer, e["intake_id"].as_str().unwrap());
    assert_eq!(
        (record["decision"].as_str(), record["outcome"].as_str()),
        (Some("officer_review"), Some("held"))
    );
    assert!(
        record["reason"]
            .as_str()
            .unwrap()
            .contains("not the document type the request names"),
        "{record}"
    );

    // The same original again: an officer looks first (202), and the record names the copy issued before.
    let (status, again) = server.issue_for(&kiosk, &first, &holder, std::slice::from_ref(&image));
    assert_eq!(status, 202, "{again}");
    assert_eq!(
        (again["status"].as_str(), again["code"].as_str()),
        (Some("held"), Some("ISS-0009"))
    );
    let first_code = issued["code"].as_str().unwrap().replace('-', "");
    let record = intake_record(&server, &officer, again["message"].as_str().unwrap());
    let checks = record["report"]["pages"][0]["checks"].as_array().unwrap();
    let dup = checks
        .iter()
        .find(|c| c["name"] == "duplicate.perceptual_hash")
        .unwrap();
    assert_eq!(dup["outcome"], "warn", "{dup}");
    assert!(dup["message"].as_str().unwrap().contains(&first_code), "{dup}");

    // A page stamped "MẬT" (secret): refused under Art. 22 with its ground, nothing issued, decision kept.
    let (image, truth) = page(&dir, "birth_certificate-art22-000");
    assert_eq!(truth["variant"]["ground"], "secrecy_stamp");
    let (status, e) = server.issue_for(&kiosk, &first, &holder, &[image]);
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["code"], "ISS-0008");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(message.contains("Art. 22"), "{message}");
    let record = intake_record(&server, &officer, message);
    assert_eq!(
        (record["decision"].as_str(), record["outcome"].as_str()),
        (Some("refuse"), Some("refused"))
    );
    assert!(record["codes"].as_array().unwrap().is_empty());
    let checks = record["report"]["pages"][0]["checks"].as_array().unwrap();
    let secrecy = checks.iter().find(|c| c["name"] == "art22.secrecy_mark").unwrap();
    assert_eq!(secrecy["outcome"], "fail", "{secrecy}");

    // Someone else's document: held for an officer (202), and issued when an officer sends it.
    let (image, _) = page(&dir, "birth_certificate-clean-001");
    let stranger = [
        ("holder_id", "001099012345"),
        ("holder_name", "Lê Thị Hoa"),
        ("document_type", "Giấy khai sinh"),
    ];
    let third = server.identify(&kiosk, &mut citizens.people[2]);
    let (status, e) = server.issue_for(&kiosk, &third, &stranger, std::slice::from_ref(&image));
    assert_eq!(status, 202, "{e}");
    assert_eq!(
        (e["status"].as_str(), e["code"].as_str()),
        (Some("held"), Some("ISS-0009"))
    );
    let record = intake_record_by_id(&server, &officer, e["intake_id"].as_str().unwrap());
    assert_eq!(
        (record["decision"].as_str(), record["outcome"].as_str()),
        (Some("officer_review"), Some("held"))
    );
    let (status, issued) = server.issue(&officer, &stranger, &[image]);
    assert_eq!(status, 201, "an officer's request is the review: {issued}");

    // The CLI runs the same intake: exit 1 for a refusal.
    let (image_path, _) = (dir.join("birth_certificate-art22-001.png"), ());
    let out = backend.cli(&[
        "issue",
        "--holder-id",
        holder[0].1,
        "--holder-name",
        holder[1].1,
        "--doc-type",
        "Giấy khai sinh",
        image_path.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("ISS-0008"));
}

fn intake_record_by_id(server: &Server, officer: &str, id: &str) -> Value {
    intake_record(server, officer, &format!("(intake record {id})"))
}
