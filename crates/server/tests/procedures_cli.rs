//! `banso procedures`: the catalogue as the command line gives it — JSON list, a search without diacritics,
//! a category, one procedure in full, an unknown code refused with PRO-0001, and a catalogue folder that
//! breaks a rule refused before anything is shown.

mod common;

use common::*;
use serde_json::Value;

fn codes(list: &Value) -> Vec<String> {
    list["procedures"]
        .as_array()
        .expect("a procedures array")
        .iter()
        .map(|p| p["code"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn the_catalogue_lists_searches_and_shows_procedures() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());

    let (rc, list) = backend.cli_json(&["procedures", "list", "--json"]);
    assert_eq!(rc, 0, "{list}");
    let all = codes(&list);
    assert!(all.len() >= 10, "{list}");
    for code in [
        "1.001193", "1.000656", "1.000894", "1.004873", "2.000884", "2.000815", "1.004222",
    ] {
        assert!(all.iter().any(|c| c == code), "{code} missing from {all:?}");
    }
    assert!(list["catalogue_version"].as_str().is_some_and(|v| !v.is_empty()));
    let sig = list["procedures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "2.000884")
        .unwrap();
    assert_eq!(sig["fee"]["vnd"], 10000, "{sig}");
    assert_eq!(sig["fee"]["label"], "10.000 đồng");
    assert_eq!(sig["working_days"], 0);
    assert_eq!(sig["cutoff"], "15:00");

    // Without diacritics: the birth registration comes first; in capitals: the same list as in small letters.
    let (rc, hits) = backend.cli_json(&["procedures", "list", "--json", "--search", "dang ky khai sinh"]);
    assert_eq!(rc, 0);
    assert_eq!(codes(&hits), vec!["1.001193", "1.004884"]);
    let (_, small) = backend.cli_json(&["procedures", "list", "--json", "--search", "khai sinh"]);
    let (_, capitals) = backend.cli_json(&["procedures", "list", "--json", "--search", "KHAI SINH"]);
    assert!(codes(&small).contains(&"1.001193".to_string()), "{small}");
    assert_eq!(codes(&small), codes(&capitals));
    let (_, hits) = backend.cli_json(&["procedures", "list", "--json", "--search", "thuong tru"]);
    assert_eq!(codes(&hits), vec!["1.004222"]);
    let (_, hits) = backend.cli_json(&["procedures", "list", "--json", "--category", "cu tru"]);
    assert_eq!(codes(&hits), vec!["1.004194", "1.004222"]);

    let (rc, p) = backend.cli_json(&["procedures", "show", "1.001193", "--json"]);
    assert_eq!(rc, 0, "{p}");
    assert_eq!(p["name"], "Đăng ký khai sinh");
    assert_eq!(p["fee"]["kind"], "free");
    let fields = p["fields"].as_array().unwrap();
    let prefilled: Vec<&str> = fields
        .iter()
        .filter(|f| f["prefill"].is_string())
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(prefilled, vec!["applicant_name", "applicant_id"]);
    assert!(p["documents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["key"] == "giay-chung-sinh"));
    assert!(!p["sources"].as_array().unwrap().is_empty());

    // The operator's view: one line per procedure with its time and fee.
    let out = backend.cli(&["procedures", "list", "--search", "chung thuc chu ky"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2.000884") && text.contains("10.000 đồng") && text.contains("trong ngày"),
        "{text}"
    );
    let out = backend.cli(&["procedures", "show", "dang-ky-thuong-tru"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("20.000 đồng") && text.contains("7 ngày làm việc"),
        "{text}"
    );
}

#[test]
fn an_unknown_procedure_is_pro_0001() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let (rc, err) = backend.cli_json(&["procedures", "show", "9.999999", "--json"]);
    assert_eq!(rc, 1, "{err}");
    assert_eq!(err["error"]["code"], "PRO-0001");
    let out = backend.cli(&["procedures", "show", "9.999999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PRO-0001"));
    // An unknown category is a usage error, not an empty list.
    let out = backend.cli(&["procedures", "list", "--category", "dat dai"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cu-tru"));
}

#[test]
fn a_catalogue_folder_is_read_and_checked() {
    let tmp = tempfile::TempDir::new().unwrap();
    let backend = Backend::local(tmp.path());
    let dir = tmp.path().join("catalogue");
    std::fs::create_dir_all(&dir).unwrap();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/procedures");
    for name in ["catalogue.toml", "chung-thuc-chu-ky.toml"] {
        std::fs::copy(src.join(name), dir.join(name)).unwrap();
    }
    let dir_arg = dir.to_str().unwrap();
    let (rc, list) = backend.cli_json(&["procedures", "list", "--json", "--catalogue", dir_arg]);
    assert_eq!(rc, 0, "{list}");
    assert_eq!(codes(&list), vec!["2.000884"]);
    // The province sets its own amount: the installation's file says so, and the list shows it.
    let text = std::fs::read_to_string(dir.join("chung-thuc-chu-ky.toml")).unwrap();
    std::fs::write(
        dir.join("chung-thuc-chu-ky.toml"),
        text.replace("vnd = 10000", "vnd = 12000"),
    )
    .unwrap();
    let (_, list) = backend.cli_json(&["procedures", "list", "--json", "--catalogue", dir_arg]);
    assert_eq!(list["procedures"][0]["fee"]["vnd"], 12000);
    // A file that breaks a rule stops the command and names the file.
    std::fs::write(
        dir.join("chung-thuc-chu-ky.toml"),
        text.replace("category = \"chung-thuc\"", "category = \"x\""),
    )
    .unwrap();
    let out = backend.cli(&["procedures", "list", "--catalogue", dir_arg]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("chung-thuc-chu-ky.toml") && stderr.contains("no category"),
        "{stderr}"
    );
}
