use super::*;
use crate::identity::{Method, ProvenHolder};
use std::collections::BTreeMap;

fn cat() -> &'static Catalogue {
    Catalogue::builtin()
}

fn ids<'a>(hits: &[&'a Procedure]) -> Vec<&'a str> {
    hits.iter().map(|p| p.id.as_str()).collect()
}

fn none() -> HashMap<String, u64> {
    HashMap::new()
}

fn form(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn holder() -> ProvenHolder {
    ProvenHolder {
        id_number: "001099012345".into(),
        full_name: "NGUYỄN VĂN AN".into(),
        birth_date: Some("1999-05-01".into()),
        assurance: "high".into(),
    }
}

/// A complete birth registration, as a kiosk would send it after the citizen typed the child's details.
fn birth_form() -> BTreeMap<String, String> {
    form(&[
        ("child_name", "Nguyễn Thị Bình"),
        ("child_sex", "nu"),
        ("child_birth_date", "3/2/2026"),
        ("child_birth_place", "Bệnh viện Phụ sản Hà Nội"),
        ("child_hometown", "Thăng Bình, Quảng Nam"),
        ("child_ethnicity", "Kinh"),
        ("child_nationality", "Việt Nam"),
        ("mother_name", "Trần Thị Hoa"),
        ("mother_birth_year", "1998"),
        ("applicant_name", "NGUYỄN VĂN AN"),
        ("applicant_id", "001099012345"),
        ("relationship", "cha"),
        ("phone", "0912 345 678"),
    ])
}

#[test]
fn the_builtin_catalogue_parses_with_at_least_ten_procedures() {
    assert!(cat().procedures().len() >= 10);
    assert_eq!(cat().procedures().len(), BUILTIN_PROCEDURES.len());
    assert!(!cat().version().is_empty());
}

#[test]
fn search_ignores_case_and_diacritics() {
    let khai_sinh = ids(&cat().search("khai sinh", None, &none()));
    // The copy of an extract answers to "bản sao giấy khai sinh" too; with no usage counts, names decide.
    assert_eq!(
        khai_sinh,
        vec![
            "cap-ban-sao-trich-luc-ho-tich",
            "dang-ky-khai-sinh",
            "dang-ky-lai-khai-sinh"
        ]
    );
    for query in ["KHAI SINH", "Khai Sinh", "khai sinh", "KHAI sinh"] {
        assert_eq!(ids(&cat().search(query, None, &none())), khai_sinh, "{query}");
    }
    for query in [
        "dang ky khai sinh",
        "Đăng ký khai sinh",
        "ĐĂNG KÝ KHAI SINH",
        "đang ky KHAI sinh",
    ] {
        let hits = cat().search(query, None, &none());
        assert_eq!(
            ids(&hits),
            vec!["dang-ky-khai-sinh", "dang-ky-lai-khai-sinh"],
            "{query}"
        );
        assert_eq!(hits[0].code.as_deref(), Some("1.001193"));
    }
    let hits = cat().search("thuong tru", None, &none());
    assert_eq!(ids(&hits), vec!["dang-ky-thuong-tru"]);
    // Word prefixes, English names, codes and keywords.
    assert_eq!(
        ids(&cat().search("thuong", None, &none())),
        vec!["dang-ky-thuong-tru"]
    );
    assert_eq!(
        ids(&cat().search("birth registration", None, &none())),
        vec!["dang-ky-khai-sinh", "dang-ky-lai-khai-sinh"]
    );
    assert_eq!(
        ids(&cat().search("1.004194", None, &none())),
        vec!["dang-ky-tam-tru"]
    );
    assert_eq!(
        ids(&cat().search("ho khau", None, &none())),
        vec!["dang-ky-thuong-tru"]
    );
    assert!(ids(&cat().search("sao y", None, &none())).contains(&"chung-thuc-ban-sao-tu-ban-chinh"));
    // Every word must match: nothing is both a birth and a residence.
    assert!(cat().search("khai sinh thuong tru", None, &none()).is_empty());
    // A word must begin a word, not sit inside one.
    assert!(cat().search("inh", None, &none()).is_empty());
}

#[test]
fn an_empty_query_lists_everything_by_name() {
    let all = cat().search("", None, &none());
    assert_eq!(all.len(), cat().procedures().len());
    let names: Vec<&str> = all.iter().map(|p| p.sort_name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(
        all.first().map(|p| p.id.as_str()),
        Some("cap-ban-sao-trich-luc-ho-tich")
    );
}

#[test]
fn a_category_filters_by_key_or_name() {
    for c in ["cu-tru", "Cư trú", "cu tru", "RESIDENCE"] {
        let hits = cat().search("", Some(c), &none());
        assert_eq!(ids(&hits), vec!["dang-ky-tam-tru", "dang-ky-thuong-tru"], "{c}");
    }
    let civil = cat().search("dang ky", Some("ho-tich"), &none());
    assert!(civil.len() >= 5 && civil.iter().all(|p| p.category == "ho-tich"));
    assert!(cat().search("", Some("chung thuc"), &none()).len() == 2);
    assert!(cat().search("", Some("đất đai"), &none()).is_empty());
    assert!(cat().category("dat dai").is_none());
}

#[test]
fn the_most_used_come_first_then_by_name() {
    let mut usage = HashMap::new();
    usage.insert("dang-ky-tam-tru".to_string(), 40);
    usage.insert("chung-thuc-ban-sao-tu-ban-chinh".to_string(), 900);
    usage.insert("dang-ky-khai-sinh".to_string(), 40);
    let all = ids(&cat().search("", None, &usage));
    assert_eq!(
        &all[..3],
        &[
            "chung-thuc-ban-sao-tu-ban-chinh",
            "dang-ky-khai-sinh",
            "dang-ky-tam-tru"
        ]
    );
    let hits = ids(&cat().search("dang ky", Some("cu tru"), &usage));
    assert_eq!(hits, vec!["dang-ky-tam-tru", "dang-ky-thuong-tru"]);
}

#[test]
fn get_finds_by_code_or_id_and_refuses_the_unknown() {
    assert_eq!(
        cat().get("1.001193").map(|p| p.id.as_str()),
        Ok("dang-ky-khai-sinh")
    );
    assert_eq!(
        cat().get(" dang-ky-khai-sinh ").map(|p| p.reference()),
        Ok("1.001193")
    );
    let err = cat().get("9.999999").unwrap_err();
    assert_eq!(err.code, Code::Pro0001NoSuchProcedure);
    assert!(err.message.contains("9.999999"));
    assert_eq!(err.kind(), crate::error::Kind::NotFound);
}

#[test]
fn a_complete_form_validates_and_is_normalised() {
    let p = cat().get("1.001193").unwrap();
    let valid = p.validate(&birth_form()).unwrap();
    assert_eq!(valid.procedure(), "dang-ky-khai-sinh");
    assert_eq!(valid.revision(), p.revision);
    assert_eq!(valid.get("child_birth_date"), Some("03/02/2026"));
    assert_eq!(valid.get("phone"), Some("0912345678"));
    assert_eq!(valid.get("mother_birth_year"), Some("1998"));
    assert_eq!(valid.get("father_name"), None);
}

#[test]
fn dates_take_the_vietnamese_order_and_are_real_days() {
    let p = cat().get("1.001193").unwrap();
    let date = p.field("child_birth_date").unwrap();
    for (raw, want) in [
        ("03/02/2026", "03/02/2026"),
        ("3/2/2026", "03/02/2026"),
        ("03-02-2026", "03/02/2026"),
        ("03.02.2026", "03/02/2026"),
        ("2026-02-03", "03/02/2026"),
        ("29/02/2024", "29/02/2024"),
    ] {
        assert_eq!(date.check(raw).unwrap(), want, "{raw}");
    }
    for raw in [
        "29/02/2026",
        "31/04/2026",
        "02/03/26",
        "3 tháng 2 2026",
        "00/01/2026",
        "01/13/2026",
        "01/01/1800",
    ] {
        let err = date.check(raw).unwrap_err();
        assert_eq!(err.code, Code::Pro0003InvalidField, "{raw}");
        assert!(err.message.starts_with("child_birth_date"), "{}", err.message);
    }
}

#[test]
fn a_missing_required_field_is_pro_0002_naming_it() {
    let p = cat().get("1.001193").unwrap();
    let mut f = birth_form();
    f.remove("child_name");
    let err = p.validate(&f).unwrap_err();
    assert_eq!(err.code, Code::Pro0002MissingField);
    assert!(err.message.contains("child_name"), "{}", err.message);
    // Blank counts as missing.
    let mut f = birth_form();
    f.insert("mother_name".into(), "   ".into());
    let err = p.validate(&f).unwrap_err();
    assert_eq!(err.code, Code::Pro0002MissingField);
    assert!(err.message.contains("mother_name"));
}

#[test]
fn a_value_breaking_its_rule_or_an_unknown_field_is_pro_0003_naming_it() {
    let p = cat().get("1.001193").unwrap();
    for (key, bad) in [
        ("child_sex", "khac"),
        ("applicant_id", "00109901234"),
        ("applicant_id", "00109901234x"),
        ("phone", "12345"),
        ("phone", "+1 202 555 0100"),
        ("mother_birth_year", "1850"),
        ("mother_birth_year", "nineteen"),
        ("email", "an@"),
        ("email", "an at example.vn"),
        ("child_name", "Bình\u{7}"),
    ] {
        let mut f = birth_form();
        f.insert(key.into(), bad.into());
        let err = p.validate(&f).unwrap_err();
        assert_eq!(err.code, Code::Pro0003InvalidField, "{key}={bad}");
        assert!(err.message.starts_with(key), "{key}: {}", err.message);
    }
    let mut f = birth_form();
    f.insert("child_name".into(), "A".repeat(101));
    assert_eq!(p.validate(&f).unwrap_err().code, Code::Pro0003InvalidField);
    let mut f = birth_form();
    f.insert("favourite_colour".into(), "blue".into());
    let err = p.validate(&f).unwrap_err();
    assert_eq!(err.code, Code::Pro0003InvalidField);
    assert!(err.message.contains("favourite_colour"));
}

#[test]
fn values_are_normalised_by_type() {
    let p = cat().get("1.001193").unwrap();
    let f = |key: &str| p.field(key).unwrap();
    assert_eq!(f("phone").check("+84 912-345-678").unwrap(), "0912345678");
    assert_eq!(f("phone").check("(024) 3825 1234").unwrap(), "02438251234");
    assert_eq!(f("child_sex").check(" NAM ").unwrap(), "nam");
    assert_eq!(
        f("child_name").check("  Nguyễn   Thị\tBình ").unwrap(),
        "Nguyễn Thị Bình"
    );
    assert_eq!(
        f("email").check("An.Nguyen@Example.VN").unwrap(),
        "An.Nguyen@example.vn"
    );
    assert_eq!(
        f("applicant_id").check("001 099 012 345").unwrap(),
        "001099012345"
    );
}

#[test]
fn prefilled_fields_come_from_the_proven_identity_and_are_locked() {
    let p = cat().get("dang-ky-ket-hon").unwrap();
    let filled = p.prefill(&holder(), Method::ChipAndFace);
    let got: Vec<(&str, &str, &str)> = filled
        .iter()
        .map(|f| (f.key.as_str(), f.value.as_str(), f.from))
        .collect();
    assert_eq!(
        got,
        vec![
            ("applicant_name", "NGUYỄN VĂN AN", "chip"),
            ("applicant_id", "001099012345", "chip"),
            ("applicant_birth_date", "01/05/1999", "chip"),
        ]
    );
    // An app login without a birth date fills only what it proved.
    let mut app = holder();
    app.birth_date = None;
    let filled = p.prefill(&app, Method::App);
    assert_eq!(filled.len(), 2);
    assert!(filled.iter().all(|f| f.from == "app"));
    // A chip without DG13 gives the MRZ's YYMMDD: its century is not guessed, the citizen types the date.
    let mut mrz_only = holder();
    mrz_only.birth_date = Some("990501".into());
    assert_eq!(p.prefill(&mrz_only, Method::ChipAndFace).len(), 2);
    let mut dg13 = holder();
    dg13.birth_date = Some("01/05/1999".into());
    assert_eq!(p.prefill(&dg13, Method::ChipAndFace)[2].value, "01/05/1999");

    let b = cat().get("1.001193").unwrap();
    let mut f = birth_form();
    f.remove("applicant_name");
    f.remove("applicant_id");
    let valid = b.validate_for(&f, &holder()).unwrap();
    assert_eq!(valid.get("applicant_id"), Some("001099012345"));
    assert_eq!(valid.get("applicant_name"), Some("NGUYỄN VĂN AN"));
    // Sent again unchanged (spacing aside): fine. Changed: refused, naming the field.
    f.insert("applicant_id".into(), "001 099 012 345".into());
    assert!(b.validate_for(&f, &holder()).is_ok());
    f.insert("applicant_id".into(), "001099054321".into());
    let err = b.validate_for(&f, &holder()).unwrap_err();
    assert_eq!(err.code, Code::Pro0003InvalidField);
    assert!(err.message.starts_with("applicant_id") && err.message.contains("locked"));
}

#[test]
fn documents_required_or_one_of_a_group_and_nothing_unknown() {
    let birth = cat().get("1.001193").unwrap();
    let err = birth.check_documents([]).unwrap_err();
    assert_eq!(err.code, Code::Pro0004MissingDocument);
    assert!(err.message.contains("giay-chung-sinh"), "{}", err.message);
    assert!(birth.check_documents(["giay-chung-sinh"]).is_ok());
    // The witness statement stands in for the medical certificate.
    assert!(birth.check_documents(["van-ban-lam-chung"]).is_ok());
    assert!(birth
        .check_documents(["giay-chung-sinh", "giay-chung-nhan-ket-hon-cha-me"])
        .is_ok());
    let err = birth.check_documents(["giay-chung-sinh", "so-do"]).unwrap_err();
    assert_eq!(err.code, Code::Pro0003InvalidField);
    assert!(err.message.contains("so-do"));
    // Nothing required: nothing missing.
    let temp = cat().get("1.004194").unwrap();
    assert!(temp.check_documents([]).is_ok());
}

#[test]
fn fees_and_times_read_as_people_say_them() {
    let sig = cat().get("2.000884").unwrap();
    assert_eq!(sig.fee.amount_vnd(), Some(10_000));
    assert_eq!(sig.fee.label(), "10.000 đồng");
    assert_eq!(sig.time.label(), "trong ngày");
    assert_eq!(sig.time.cutoff.as_deref(), Some("15:00"));
    let birth = cat().get("1.001193").unwrap();
    assert_eq!(birth.fee.amount_vnd(), Some(0));
    assert_eq!(birth.fee.label(), "miễn phí");
    let copy = cat().get("2.000815").unwrap();
    assert_eq!(copy.fee.amount_vnd(), None);
    let perm = cat().get("1.004222").unwrap();
    assert_eq!(perm.time.label(), "7 ngày làm việc");
    assert_eq!(perm.fee.online_vnd, Some(10_000));
    let recog = cat().get("1.001022").unwrap();
    assert_eq!(recog.time.label(), "3 ngày làm việc (có thể đến 8)");
    assert_eq!(recog.fee.label(), "theo mức của tỉnh");
}

fn one(text: &str) -> std::result::Result<Catalogue, CatalogueError> {
    Catalogue::parse(BUILTIN_CATALOGUE, &[("dang-ky-khai-sinh.toml", text)])
}

fn birth_text() -> &'static str {
    BUILTIN_PROCEDURES
        .iter()
        .find(|(n, _)| *n == "dang-ky-khai-sinh.toml")
        .map(|(_, t)| *t)
        .unwrap()
}

#[test]
fn a_catalogue_that_breaks_a_rule_does_not_load() {
    assert!(one(birth_text()).is_ok());
    for (from, to, why) in [
        ("category = \"ho-tich\"", "category = \"dat-dai\"", "no category"),
        ("code = \"1.001193\"", "code = \"1001193\"", "national code"),
        (
            "prefill = \"holder_name\"",
            "prefill = \"address\"",
            "unknown variant",
        ),
        ("prefill = \"holder_id\"", "prefill = \"holder_name\"", "fills a"),
        ("kind = \"free\"", "kind = \"fixed\"", "needs vnd"),
        ("cutoff = \"15:00\"", "cutoff = \"3pm\"", "HH:MM"),
        ("key = \"child_name\"", "key = \"child_sex\"", "twice"),
        ("key = \"child_name\"", "key = \"Child Name\"", "[a-z0-9_]"),
        (
            "type = \"id_number\"\nrequired = true\nprefill",
            "type = \"number\"\nrequired = true\nprefill",
            "fills a",
        ),
        ("doc_type = \"marriage_certificate\"\n", "", "names no doc_type"),
        ("facts = [\"fee\"]", "facts = [\"name\"]", "Fee"),
        (
            "name_en = \"Birth registration\"",
            "name_en = \"Birth registration\"\ncolour = \"red\"",
            "unknown field",
        ),
    ] {
        assert!(birth_text().contains(from), "{from}");
        let err = one(&birth_text().replacen(from, to, 1)).unwrap_err();
        assert_eq!(err.file, "dang-ky-khai-sinh.toml");
        assert!(err.message.contains(why), "{from} → {why}: {}", err.message);
    }
    let err = Catalogue::parse(BUILTIN_CATALOGUE, &[("khai-sinh.toml", birth_text())]).unwrap_err();
    assert!(err.message.contains("named dang-ky-khai-sinh.toml"));
    let err = Catalogue::parse(
        BUILTIN_CATALOGUE,
        &[
            ("dang-ky-khai-sinh.toml", birth_text()),
            ("dang-ky-khai-sinh.toml", birth_text()),
        ],
    )
    .unwrap_err();
    assert!(err.message.contains("twice"));
}
