//! Public-API tests for the MRZ, citizen ID number, card QR and cross-check code.

use banso_identity::cccd::{
    check_number, cross_check, cross_check_card, fold_vietnamese, BirthDate, CardQr, IdentityFields, Outcome,
    QrError, Sex,
};
use banso_identity::mrz::{check_digit, Mrz, MrzError, MrzFormat, Td1Fields};
use time::macros::date;

const TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\n\
                   7408122F1204159UTO<<<<<<<<<<<6\n\
                   ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n\
                   L898902C36UTO7408122F1204159ZE184226B<<<<<10";

const QR: &str = "079087001234|025123456|Nguyễn Văn An|14031987|Nam|12 Lê Lợi, Phường Bến Nghé, Quận 1, TP Hồ Chí Minh|01072021";

fn vn_card(id: &str, birth: &str, sex: Sex, surname: &str, given: &str) -> Mrz {
    let fields = Td1Fields {
        document_code: "ID".into(),
        issuing_state: "VNM".into(),
        document_number: id.get(3..).unwrap().into(),
        optional_data: id.into(),
        birth_date: birth.into(),
        sex: Some(sex),
        expiry_date: "470314".into(),
        nationality: "VNM".into(),
        primary_identifier: surname.into(),
        secondary_identifier: given.into(),
        ..Default::default()
    };
    Mrz::parse(&fields.to_text().unwrap()).unwrap()
}

#[test]
fn specimens_pass_and_serialize() {
    let td1 = Mrz::parse(TD1).unwrap();
    assert!(td1.all_checks_ok());
    assert_eq!(td1.format, MrzFormat::Td1);
    let td3 = Mrz::parse(TD3).unwrap();
    assert!(td3.all_checks_ok());
    let json = serde_json::to_value(&td1).unwrap();
    assert_eq!(json["format"], "TD1");
    assert_eq!(json["sex"], "F");
    assert_eq!(json["document_number"], "D23145890");
    assert_eq!(json["checks"][3]["name"], "composite");
    assert_eq!(json["checks"][3]["ok"], true);
}

#[test]
fn wrong_check_digit_is_reported_not_an_error() {
    let bad = TD1.replacen("7408122F", "7408123F", 1);
    let m = Mrz::parse(&bad).unwrap();
    let birth = m.check("birth_date").unwrap();
    assert_eq!((birth.expected, birth.found, birth.ok), ('2', '3', false));
    assert!(!m.check("composite").unwrap().ok);
    assert!(m.check("document_number").unwrap().ok);
    assert!(m.check("expiry_date").unwrap().ok);
}

#[test]
fn mrz_errors_name_positions() {
    let err = Mrz::parse(&TD1.replacen('D', " ", 1)).unwrap_err();
    assert_eq!(
        err,
        MrzError::InvalidCharacter {
            line: 1,
            column: 6,
            found: ' '
        }
    );
    assert!(err.to_string().contains("line 1, column 6"));
    assert!(matches!(
        Mrz::parse(&TD1.to_lowercase()),
        Err(MrzError::InvalidCharacter {
            line: 1,
            column: 1,
            found: 'i'
        })
    ));
    assert!(matches!(
        Mrz::parse("I<UTO\n123\nABC"),
        Err(MrzError::WrongLineLength { line: 1, .. })
    ));
    assert!(matches!(
        Mrz::parse(&format!("{TD1}<")),
        Err(MrzError::WrongLineLength { line: 3, .. })
    ));
    assert_eq!(Mrz::parse("ABC"), Err(MrzError::WrongLineCount { found: 1 }));
    assert_eq!(Mrz::parse(""), Err(MrzError::Empty));
    assert!(matches!(
        Mrz::parse("IDVNMÀ"),
        Err(MrzError::InvalidCharacter { column: 6, .. })
    ));
}

#[test]
fn vietnamese_card_mrz_and_bac_seed() {
    let m = vn_card("079087001234", "870314", Sex::Male, "NGUYEN", "VAN AN");
    assert!(m.all_checks_ok(), "{:?}", m.checks);
    assert_eq!(m.document_code, "ID");
    assert_eq!(m.issuing_state, "VNM");
    assert_eq!(m.document_number, "087001234");
    assert_eq!(m.optional_data, "079087001234");
    let seed = m.bac_seed_fields();
    assert_eq!(
        seed,
        format!(
            "087001234{}870314{}470314{}",
            check_digit("087001234").unwrap(),
            check_digit("870314").unwrap(),
            check_digit("470314").unwrap()
        )
    );
    assert_eq!(seed.len(), 24);
}

#[test]
fn cccd_reports() {
    let ok = check_number("079087001234", date!(1987 - 03 - 14), Sex::Male);
    assert!(ok.ok);
    assert_eq!(
        ok.checks.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["format", "province_code", "century_sex", "birth_year"]
    );
    assert!(ok.checks.iter().all(|c| !c.label_vi.is_empty()));
    let json = serde_json::to_value(&ok).unwrap();
    assert_eq!(json["decoded"]["province_name"], "Hồ Chí Minh");
    assert_eq!(json["checks"][0]["outcome"], "pass");

    let cases: [(&str, time::Date, Sex, &str); 7] = [
        ("0790870012", date!(1987 - 03 - 14), Sex::Male, "format"),
        ("0790870012345", date!(1987 - 03 - 14), Sex::Male, "format"),
        ("07908700123x", date!(1987 - 03 - 14), Sex::Male, "format"),
        ("099087001234", date!(1987 - 03 - 14), Sex::Male, "province_code"),
        ("079087001234", date!(1987 - 03 - 14), Sex::Female, "century_sex"),
        ("079287001234", date!(1987 - 03 - 14), Sex::Male, "century_sex"),
        ("079086001234", date!(1987 - 03 - 14), Sex::Male, "birth_year"),
    ];
    for (number, dob, sex, failing) in cases {
        let r = check_number(number, dob, sex);
        assert!(!r.ok, "{number}");
        let failed: Vec<_> = r
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, [failing], "{number}: {r:#?}");
    }
    // 2000s female, 1800s male.
    assert!(check_number("001305000001", date!(2005 - 01 - 01), Sex::Female).ok);
    assert!(check_number("001899000001", date!(1899 - 12 - 31), Sex::Male).ok);
    assert!(check_number("001899000001", date!(1999 - 12 - 31), Sex::Male)
        .check("century_sex")
        .is_some_and(|c| c.outcome == Outcome::Fail));
}

#[test]
fn qr_parses() {
    let qr = CardQr::parse(QR).unwrap();
    assert_eq!(qr.id_number, "079087001234");
    assert_eq!(qr.old_id_number.as_deref(), Some("025123456"));
    assert_eq!(qr.full_name, "Nguyễn Văn An");
    assert_eq!(qr.birth_date, date!(1987 - 03 - 14));
    assert_eq!(qr.sex, Sex::Male);
    assert_eq!(qr.issue_date, date!(2021 - 07 - 01));
    let no_old = QR.replacen("|025123456|", "||", 1).replacen("|Nam|", "|Nữ|", 1);
    let qr = CardQr::parse(&format!("{no_old}\n")).unwrap();
    assert_eq!(qr.old_id_number, None);
    assert_eq!(qr.sex, Sex::Female);
    assert!(serde_json::to_string(&qr).is_ok());
}

#[test]
fn qr_errors() {
    assert_eq!(
        CardQr::parse("079087001234|x|y"),
        Err(QrError::WrongFieldCount { found: 3 })
    );
    assert_eq!(
        CardQr::parse(&format!("{QR}|extra")),
        Err(QrError::WrongFieldCount { found: 8 })
    );
    assert_eq!(CardQr::parse(""), Err(QrError::WrongFieldCount { found: 1 }));
    let bad_date = |from: &str, to: &str| CardQr::parse(&QR.replacen(from, to, 1));
    for (from, to) in [
        ("|14031987|", "|1403198|"),
        ("|14031987|", "|32031987|"),
        ("|14031987|", "|14131987|"),
        ("|14031987|", "|1987-03-14|"),
        ("|14031987|", "|29021987|"),
        ("|01072021", "|0107202x"),
    ] {
        assert!(matches!(bad_date(from, to), Err(QrError::BadDate { .. })), "{to}");
    }
    assert!(matches!(bad_date("|Nam|", "|Male|"), Err(QrError::BadSex { .. })));
    assert!(matches!(
        bad_date("079087001234|", "07908700123|"),
        Err(QrError::BadNumber {
            field: "idNumber",
            ..
        })
    ));
    assert!(matches!(
        bad_date("|025123456|", "|12345|"),
        Err(QrError::BadNumber {
            field: "oldIdNumber",
            ..
        })
    ));
    assert!(matches!(
        bad_date("|Nguyễn Văn An|", "||"),
        Err(QrError::EmptyField { field: "fullName" })
    ));
}

#[test]
fn cross_checks() {
    let qr = CardQr::parse(QR).unwrap();
    let mrz = vn_card("079087001234", "870314", Sex::Male, "NGUYEN", "VAN AN");
    let chip = IdentityFields {
        source: "chip".into(),
        id_number: Some("079087001234".into()),
        full_name: Some("NGUYỄN VĂN AN".into()),
        birth_date: Some(BirthDate::Full(date!(1987 - 03 - 14))),
        sex: Some(Sex::Male),
        ..Default::default()
    };
    let r = cross_check_card(&qr, &mrz, Some(&chip));
    assert!(r.consistent, "{r:#?}");
    assert!(r.comparisons.iter().all(|c| c.outcome == Outcome::Pass));
    assert_eq!(r.comparisons.len(), 4);
    assert_eq!(r.comparisons[0].values.len(), 3);

    // Each kind of mismatch fails exactly its own comparison.
    let other = vn_card("079087001235", "870314", Sex::Male, "NGUYEN", "VAN AN");
    let failing = |r: &banso_identity::cccd::CrossCheckReport| {
        r.comparisons
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.field.clone())
            .collect::<Vec<_>>()
    };
    let r = cross_check_card(&qr, &other, None);
    assert!(!r.consistent);
    assert_eq!(failing(&r), ["id_number"]);
    let other = vn_card("079087001234", "870315", Sex::Male, "NGUYEN", "VAN AN");
    assert_eq!(failing(&cross_check_card(&qr, &other, None)), ["birth_date"]);
    let other = vn_card("079087001234", "870314", Sex::Female, "NGUYEN", "VAN AN");
    assert_eq!(failing(&cross_check_card(&qr, &other, None)), ["sex"]);
    let other = vn_card("079087001234", "870314", Sex::Male, "NGUYEN", "VAN ANH");
    assert_eq!(failing(&cross_check_card(&qr, &other, None)), ["full_name"]);

    // A chip date in another century with the same yy-mm-dd disagrees with the QR.
    let mut chip2 = chip.clone();
    chip2.birth_date = Some(BirthDate::Full(date!(2087 - 03 - 14)));
    assert_eq!(
        failing(&cross_check_card(&qr, &mrz, Some(&chip2))),
        ["birth_date"]
    );

    // A lone source cannot be compared.
    let r = cross_check(&[qr.identity_fields()]);
    assert!(r.consistent);
    assert!(r.comparisons.iter().all(|c| c.outcome == Outcome::Skipped));
}

#[test]
fn truncated_mrz_names_match_by_prefix() {
    let long_given = "THI MINH HUONG ANH THU";
    let mrz = vn_card("079187001234", "870314", Sex::Female, "NGUYEN HOANG", long_given);
    assert!(mrz.names_possibly_truncated);
    let form = IdentityFields {
        source: "form".into(),
        full_name: Some("Nguyễn Hoàng Thị Minh Hương Ánh Thư".into()),
        ..Default::default()
    };
    assert_eq!(mrz.full_name(), "NGUYEN HOANG THI MINH HUONG A");
    let r = cross_check(&[IdentityFields::from_mrz(&mrz), form.clone()]);
    assert!(r.consistent, "{r:#?}");
    // Without truncation a prefix is not enough.
    let mut whole = IdentityFields::from_mrz(&mrz);
    whole.name_possibly_truncated = false;
    assert!(!cross_check(&[whole, form]).consistent);
}

#[test]
fn folding_is_diacritic_insensitive() {
    assert_eq!(
        fold_vietnamese("Đặng Thùy Dương, Phạm Ngọc Ánh, Lưu Ỷ Yến"),
        "Dang Thuy Duong, Pham Ngoc Anh, Luu Y Yen"
    );
    assert_eq!(fold_vietnamese("abc 123 ü"), "abc 123 ü");
}

/// Small deterministic generator so the fuzz loop needs no extra dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn arbitrary_input_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let alphabet: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<<<<<<\n\n |aĐữ\u{0303}\u{0000}é\r\t"
        .chars()
        .collect();
    let seeds = [TD1, TD3, QR, "079087001234"];
    for round in 0..20_000 {
        let text: String = match round % 3 {
            // Random text from an MRZ-heavy alphabet.
            0 => {
                let len = rng.below(120);
                (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect()
            }
            // Random bytes, lossily decoded.
            1 => {
                let len = rng.below(100);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            // Mutations of valid inputs: replace, delete or insert characters.
            _ => {
                let mut chars: Vec<char> = seeds[rng.below(seeds.len())].chars().collect();
                for _ in 0..1 + rng.below(4) {
                    let c = alphabet[rng.below(alphabet.len())];
                    match rng.below(3) {
                        0 if !chars.is_empty() => {
                            let i = rng.below(chars.len());
                            chars[i] = c;
                        }
                        1 if !chars.is_empty() => {
                            chars.remove(rng.below(chars.len()));
                        }
                        _ => chars.insert(rng.below(chars.len() + 1), c),
                    }
                }
                chars.into_iter().collect()
            }
        };
        if let Ok(m) = Mrz::parse(&text) {
            let _ = m.bac_seed_fields();
            let _ = m.birth_date_parts();
            let _ = IdentityFields::from_mrz(&m);
            let _ = serde_json::to_string(&m).unwrap();
        }
        let r = check_number(&text, date!(1987 - 03 - 14), Sex::Female);
        assert_eq!(r.checks.len(), 4);
        if let Ok(qr) = CardQr::parse(&text) {
            let _ = cross_check(&[qr.identity_fields(), qr.identity_fields()]);
        }
        let _ = fold_vietnamese(&text);
        let _ = check_digit(&text);
        let _ = text.parse::<Sex>();
    }
}
