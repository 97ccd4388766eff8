//! `banso id mrz` and `banso id cccd`: each check reported, exit codes 0 (all pass) / 1 (a check fails).

mod common;

use common::*;

const TD3: &str =
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

#[test]
fn mrz_checks_are_reported_one_by_one() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let (rc, mrz) = backend.cli_json(&["id", "mrz", "--json", TD3]);
    assert_eq!(rc, 0, "{mrz}");
    assert_eq!(mrz["document_number"], "L898902C3");
    assert_eq!(mrz["primary_identifier"], "ERIKSSON");
    let checks = mrz["checks"].as_array().unwrap();
    assert!(
        checks.len() >= 4 && checks.iter().all(|c| c["ok"] == true),
        "{mrz}"
    );
    // One digit of the birth date changed: the birth-date and composite checks fail, and only they.
    let altered = TD3.replace("7408122", "7409122");
    let (rc, mrz) = backend.cli_json(&["id", "mrz", "--json", &altered]);
    assert_eq!(rc, 1);
    let failed: Vec<&str> = mrz["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["birth_date", "composite"], "{mrz}");
    let (rc, err) = backend.cli_json(&["id", "mrz", "--json", "not an mrz"]);
    assert_eq!(rc, 1);
    assert_eq!(err["error"]["code"], "ID-0001");
}

#[test]
fn citizen_id_numbers_are_checked_against_birth_date_and_sex() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let (rc, report) = backend.cli_json(&[
        "id",
        "cccd",
        "001099012345",
        "--dob",
        "1999-05-01",
        "--sex",
        "M",
        "--json",
    ]);
    assert_eq!(rc, 0, "{report}");
    assert_eq!(report["ok"], true);
    let text = report.to_string();
    assert!(text.contains("Hà Nội"), "the province is named: {text}");
    let (rc, report) = backend.cli_json(&[
        "id",
        "cccd",
        "001099012345",
        "--dob",
        "1999-05-01",
        "--sex",
        "F",
        "--json",
    ]);
    assert_eq!(rc, 1);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "fail")
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["century_sex"], "{report}");
    let (rc, report) = backend.cli_json(&[
        "id",
        "cccd",
        "003099012345",
        "--dob",
        "1999-05-01",
        "--sex",
        "M",
        "--json",
    ]);
    assert_eq!(rc, 1, "003 is not a province code: {report}");
    let out = backend.cli(&["id", "cccd", "001099012345", "--dob", "01/05/1999", "--sex", "M"]);
    assert_eq!(out.status.code(), Some(2), "a malformed date is a usage error");
}
