//! Vietnamese citizen identity numbers (số định danh cá nhân, 12 digits), the
//! unsigned QR code printed on the card face, and cross-checks between the QR, the
//! MRZ and the chip.
//!
//! Number layout: 3-digit province code of birth registration, 1 digit for century
//! and sex, 2-digit birth year, 6 digits. There is no check digit, so the only real
//! checks are the province code and the consistency of digits 4–6 with the birth
//! date and sex the citizen declares (or the chip states).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::mrz::Mrz;

/// Sex as recorded on Vietnamese identity documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    /// English word.
    pub fn english(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// Vietnamese word as printed on cards.
    pub fn vietnamese(self) -> &'static str {
        match self {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sex::Male => "M",
            Sex::Female => "F",
        })
    }
}

/// Error for [`Sex::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sex must be M or F (or Nam / Nữ), found {0:?}")]
pub struct SexParseError(pub String);

impl FromStr for Sex {
    type Err = SexParseError;

    /// Accepts `M`/`F`, `male`/`female` and `Nam`/`Nữ` (any case, with or without
    /// diacritics).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match fold_vietnamese(s.trim()).to_ascii_lowercase().as_str() {
            "m" | "male" | "nam" => Ok(Sex::Male),
            "f" | "female" | "nu" => Ok(Sex::Female),
            _ => Err(SexParseError(s.to_string())),
        }
    }
}

/// The 63 province codes in use before the 2025 merger (Circular 07/2016/TT-BCA).
const PROVINCES: [(&str, &str); 63] = [
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("004", "Cao Bằng"),
    ("006", "Bắc Kạn"),
    ("008", "Tuyên Quang"),
    ("010", "Lào Cai"),
    ("011", "Điện Biên"),
    ("012", "Lai Châu"),
    ("014", "Sơn La"),
    ("015", "Yên Bái"),
    ("017", "Hòa Bình"),
    ("019", "Thái Nguyên"),
    ("020", "Lạng Sơn"),
    ("022", "Quảng Ninh"),
    ("024", "Bắc Giang"),
    ("025", "Phú Thọ"),
    ("026", "Vĩnh Phúc"),
    ("027", "Bắc Ninh"),
    ("030", "Hải Dương"),
    ("031", "Hải Phòng"),
    ("033", "Hưng Yên"),
    ("034", "Thái Bình"),
    ("035", "Hà Nam"),
    ("036", "Nam Định"),
    ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"),
    ("040", "Nghệ An"),
    ("042", "Hà Tĩnh"),
    ("044", "Quảng Bình"),
    ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("049", "Quảng Nam"),
    ("051", "Quảng Ngãi"),
    ("052", "Bình Định"),
    ("054", "Phú Yên"),
    ("056", "Khánh Hòa"),
    ("058", "Ninh Thuận"),
    ("060", "Bình Thuận"),
    ("062", "Kon Tum"),
    ("064", "Gia Lai"),
    ("066", "Đắk Lắk"),
    ("067", "Đắk Nông"),
    ("068", "Lâm Đồng"),
    ("070", "Bình Phước"),
    ("072", "Tây Ninh"),
    ("074", "Bình Dương"),
    ("075", "Đồng Nai"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("080", "Long An"),
    ("082", "Tiền Giang"),
    ("083", "Bến Tre"),
    ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"),
    ("087", "Đồng Tháp"),
    ("089", "An Giang"),
    ("091", "Kiên Giang"),
    ("092", "Cần Thơ"),
    ("093", "Hậu Giang"),
    ("094", "Sóc Trăng"),
    ("095", "Bạc Liêu"),
    ("096", "Cà Mau"),
];

/// Name of a 3-digit province code of birth registration, if known.
pub fn province_name(code: &str) -> Option<&'static str> {
    PROVINCES.iter().find(|(c, _)| *c == code).map(|(_, name)| *name)
}

/// All known province codes with their names, in code order.
pub fn provinces() -> &'static [(&'static str, &'static str)] {
    &PROVINCES
}

/// The century/sex digit (4th digit) for a birth year and sex; `None` outside
/// 1800–2299.
pub fn century_sex_digit(birth_year: i32, sex: Sex) -> Option<u8> {
    let base = match birth_year {
        1800..=1899 => 8,
        1900..=1999 => 0,
        2000..=2099 => 2,
        2100..=2199 => 4,
        2200..=2299 => 6,
        _ => return None,
    };
    Some(match sex {
        Sex::Male => base,
        Sex::Female => base + 1,
    })
}

/// First year of the century and the sex encoded by a century/sex digit.
pub fn decode_century_sex(digit: u8) -> Option<(i32, Sex)> {
    let century = match digit {
        0 | 1 => 1900,
        2 | 3 => 2000,
        4 | 5 => 2100,
        6 | 7 => 2200,
        8 | 9 => 1800,
        _ => return None,
    };
    let sex = if digit.is_multiple_of(2) {
        Sex::Male
    } else {
        Sex::Female
    };
    Some((century, sex))
}

/// What the digits of a well-formed 12-digit number say, before comparing them with
/// anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedNumber {
    pub province_code: String,
    /// `None` when the code is not one of the 63 known codes.
    pub province_name: Option<String>,
    pub sex: Sex,
    /// Full birth year from the century digit and the two-digit year.
    pub birth_year: i32,
    /// The last 6 digits.
    pub serial: String,
}

/// Decode a 12-digit number (surrounding whitespace ignored); `None` unless it is
/// exactly 12 ASCII digits.
pub fn decode_number(number: &str) -> Option<DecodedNumber> {
    let number = number.trim();
    if number.len() != 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let province_code = number.get(0..3)?.to_string();
    let digit = number.get(3..4)?.parse::<u8>().ok()?;
    let yy = number.get(4..6)?.parse::<i32>().ok()?;
    let (century, sex) = decode_century_sex(digit)?;
    Some(DecodedNumber {
        province_name: province_name(&province_code).map(str::to_string),
        province_code,
        sex,
        birth_year: century + yy,
        serial: number.get(6..12)?.to_string(),
    })
}

/// Result of one named check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Not evaluated because an earlier check failed or data was missing.
    Skipped,
}

/// One named check with an explanation a citizen or clerk can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCheck {
    /// Stable machine name, e.g. `province_code`.
    pub name: String,
    /// Short English label.
    pub label_en: String,
    /// Short Vietnamese label.
    pub label_vi: String,
    pub outcome: Outcome,
    /// Plain-language English explanation of the result.
    pub explanation: String,
}

impl NamedCheck {
    fn new(name: &str, en: &str, vi: &str, outcome: Outcome, explanation: String) -> Self {
        NamedCheck {
            name: name.to_string(),
            label_en: en.to_string(),
            label_vi: vi.to_string(),
            outcome,
            explanation,
        }
    }

    /// True when the check passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }
}

/// Report of [`check_number`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CccdReport {
    /// The number as given, surrounding whitespace removed.
    pub number: String,
    /// Decoded digits, when the number is 12 digits.
    pub decoded: Option<DecodedNumber>,
    /// `format`, `province_code`, `century_sex`, `birth_year`, in that order.
    pub checks: Vec<NamedCheck>,
    /// True when every check passed.
    pub ok: bool,
}

impl CccdReport {
    /// The check with the given name.
    pub fn check(&self, name: &str) -> Option<&NamedCheck> {
        self.checks.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Skipped => "SKIP",
        })
    }
}

impl fmt::Display for CccdReport {
    /// One line per check: `[PASS] label (Vietnamese label): explanation`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} — {}",
            self.number,
            if self.ok { "consistent" } else { "NOT consistent" }
        )?;
        for c in &self.checks {
            writeln!(
                f,
                "[{}] {} ({}): {}",
                c.outcome, c.label_en, c.label_vi, c.explanation
            )?;
        }
        Ok(())
    }
}

/// Parse a `YYYY-MM-DD` date (for `--dob` style arguments).
pub fn parse_iso_date(s: &str) -> Option<Date> {
    let s = s.trim();
    let b = s.as_bytes();
    let shape_ok = s.len() == 10
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && s.bytes()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    let year = s.get(0..4)?.parse::<i32>().ok()?;
    let month = Month::try_from(s.get(5..7)?.parse::<u8>().ok()?).ok()?;
    let day = s.get(8..10)?.parse::<u8>().ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

const FORMAT: (&str, &str, &str) = ("format", "12 digits", "Đủ 12 chữ số");
const PROVINCE: (&str, &str, &str) = (
    "province_code",
    "Province code of birth registration",
    "Mã tỉnh nơi đăng ký khai sinh",
);
const CENTURY_SEX: (&str, &str, &str) = ("century_sex", "Century and sex digit", "Mã thế kỷ và giới tính");
const BIRTH_YEAR: (&str, &str, &str) = ("birth_year", "Two-digit birth year", "Hai số cuối năm sinh");

fn check(spec: (&str, &str, &str), outcome: Outcome, explanation: String) -> NamedCheck {
    NamedCheck::new(spec.0, spec.1, spec.2, outcome, explanation)
}

fn century_words(century: i32) -> String {
    format!("{century}s")
}

/// Check a 12-digit number against a birth date and sex.
///
/// Never fails: every problem is a failed check in the report. When the number is
/// not 12 digits the other checks are [`Outcome::Skipped`].
pub fn check_number(number: &str, dob: Date, sex: Sex) -> CccdReport {
    let number = number.trim();
    let mut checks = Vec::with_capacity(4);
    let decoded = decode_number(number);
    let Some(d) = decoded.as_ref() else {
        let count = number.chars().count();
        let explanation = if count != 12 {
            format!("the number has {count} characters; a citizen ID number has exactly 12 digits")
        } else {
            "the number contains characters other than the digits 0-9".to_string()
        };
        checks.push(check(FORMAT, Outcome::Fail, explanation));
        for spec in [PROVINCE, CENTURY_SEX, BIRTH_YEAR] {
            checks.push(check(
                spec,
                Outcome::Skipped,
                "not checked because the number is not 12 digits".to_string(),
            ));
        }
        return CccdReport {
            number: number.to_string(),
            decoded: None,
            checks,
            ok: false,
        };
    };

    checks.push(check(
        FORMAT,
        Outcome::Pass,
        "the number is 12 digits".to_string(),
    ));

    checks.push(match &d.province_name {
        Some(name) => check(
            PROVINCE,
            Outcome::Pass,
            format!("{} is the code of {name}", d.province_code),
        ),
        None => check(
            PROVINCE,
            Outcome::Fail,
            format!(
                "{} is not one of the 63 province codes (Circular 07/2016/TT-BCA)",
                d.province_code
            ),
        ),
    });

    let digit = number
        .get(3..4)
        .and_then(|s| s.parse::<u8>().ok())
        .unwrap_or(u8::MAX);
    let year = dob.year();
    checks.push(match century_sex_digit(year, sex) {
        None => check(
            CENTURY_SEX,
            Outcome::Fail,
            format!("birth year {year} is outside the years the number can encode (1800-2299)"),
        ),
        Some(expected) if expected == digit => check(
            CENTURY_SEX,
            Outcome::Pass,
            format!(
                "digit 4 is {digit}: {} born in the {}, as declared",
                d.sex.english(),
                century_words(d.birth_year - d.birth_year.rem_euclid(100))
            ),
        ),
        Some(expected) => check(
            CENTURY_SEX,
            Outcome::Fail,
            format!(
                "digit 4 is {digit}, meaning {} born in the {}; a {} born in {year} should have {expected}",
                d.sex.english(),
                century_words(d.birth_year - d.birth_year.rem_euclid(100)),
                sex.english()
            ),
        ),
    });

    let yy = number.get(4..6).unwrap_or("");
    let expected_yy = format!("{:02}", year.rem_euclid(100));
    checks.push(if yy == expected_yy {
        check(
            BIRTH_YEAR,
            Outcome::Pass,
            format!("digits 5-6 are {yy}, matching birth year {year}"),
        )
    } else {
        check(
            BIRTH_YEAR,
            Outcome::Fail,
            format!("digits 5-6 are {yy}, but birth year {year} needs {expected_yy}"),
        )
    });

    let ok = checks.iter().all(NamedCheck::passed);
    CccdReport {
        number: number.to_string(),
        decoded,
        checks,
        ok,
    }
}

// ---------------------------------------------------------------------------
// Diacritic folding

/// Precomposed Vietnamese letters grouped by their base letter.
const FOLD_TABLE: [(char, &str); 14] = [
    ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
    ('A', "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"),
    ('e', "èéẻẽẹêềếểễệ"),
    ('E', "ÈÉẺẼẸÊỀẾỂỄỆ"),
    ('i', "ìíỉĩị"),
    ('I', "ÌÍỈĨỊ"),
    ('o', "òóỏõọôồốổỗộơờớởỡợ"),
    ('O', "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"),
    ('u', "ùúủũụưừứửữự"),
    ('U', "ÙÚỦŨỤƯỪỨỬỮỰ"),
    ('y', "ỳýỷỹỵ"),
    ('Y', "ỲÝỶỸỴ"),
    ('d', "đ"),
    // U+0110 and the look-alike U+00D0 often typed in its place.
    ('D', "ĐÐ"),
];

fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    // Combining diacritical marks (decomposed input): drop them.
    if ('\u{0300}'..='\u{036F}').contains(&c) {
        return None;
    }
    Some(
        FOLD_TABLE
            .iter()
            .find(|(_, forms)| forms.contains(c))
            .map_or(c, |(base, _)| *base),
    )
}

/// Remove Vietnamese diacritics: precomposed letters map to their base letter,
/// `đ`/`Đ` to `d`/`D`, and combining marks (decomposed input) are dropped. Case is
/// kept; other characters pass through.
pub fn fold_vietnamese(s: &str) -> String {
    s.chars().filter_map(fold_char).collect()
}

/// Name key for comparisons: folded, upper case, `<`/`-`/`,` as spaces, single
/// spaces.
pub fn name_key(name: &str) -> String {
    fold_vietnamese(name)
        .to_uppercase()
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '-' | ','))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// Card-face QR

/// Why a card-face QR payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("expected 7 fields separated by '|', found {found}")]
    WrongFieldCount { found: usize },
    #[error("field {field} is empty")]
    EmptyField { field: &'static str },
    #[error("field {field} must be {expected}, found {found:?}")]
    BadNumber {
        field: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("field {field} must be a date ddmmyyyy, found {found:?}")]
    BadDate { field: &'static str, found: String },
    #[error("sex must be \"Nam\" or \"Nữ\", found {found:?}")]
    BadSex { found: String },
}

/// The unsigned QR printed on the card face. It proves nothing by itself; use it
/// only to cross-check the MRZ and the chip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardQr {
    pub id_number: String,
    /// Old 9- or 12-digit ID number, when printed.
    pub old_id_number: Option<String>,
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    pub address: String,
    pub issue_date: Date,
}

fn parse_ddmmyyyy(field: &'static str, s: &str) -> Result<Date, QrError> {
    let bad = || QrError::BadDate {
        field,
        found: s.to_string(),
    };
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let day = s.get(0..2).and_then(|p| p.parse::<u8>().ok()).ok_or_else(bad)?;
    let month = s.get(2..4).and_then(|p| p.parse::<u8>().ok()).ok_or_else(bad)?;
    let year = s.get(4..8).and_then(|p| p.parse::<i32>().ok()).ok_or_else(bad)?;
    let month = Month::try_from(month).map_err(|_| bad())?;
    Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

impl CardQr {
    /// Parse `idNumber|oldIdNumber|fullName|ddmmyyyy|sex|address|ddmmyyyy`.
    ///
    /// The ID number must be 12 digits; the old number may be empty, otherwise 9 or
    /// 12 digits; sex is `Nam` or `Nữ`.
    pub fn parse(payload: &str) -> Result<CardQr, QrError> {
        let fields: Vec<&str> = payload.trim().split('|').map(str::trim).collect();
        let [id, old, name, birth, sex, address, issue] = fields.as_slice() else {
            return Err(QrError::WrongFieldCount { found: fields.len() });
        };
        let digits =
            |s: &str, lens: &[usize]| lens.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(id, &[12]) {
            return Err(QrError::BadNumber {
                field: "idNumber",
                expected: "12 digits",
                found: id.to_string(),
            });
        }
        let old_id_number = if old.is_empty() {
            None
        } else if digits(old, &[9, 12]) {
            Some(old.to_string())
        } else {
            return Err(QrError::BadNumber {
                field: "oldIdNumber",
                expected: "empty, 9 or 12 digits",
                found: old.to_string(),
            });
        };
        if name.is_empty() {
            return Err(QrError::EmptyField { field: "fullName" });
        }
        let birth_date = parse_ddmmyyyy("birthDate", birth)?;
        let sex = match fold_vietnamese(sex).as_str() {
            "Nam" => Sex::Male,
            "Nu" => Sex::Female,
            _ => {
                return Err(QrError::BadSex {
                    found: sex.to_string(),
                })
            }
        };
        if address.is_empty() {
            return Err(QrError::EmptyField { field: "address" });
        }
        let issue_date = parse_ddmmyyyy("issueDate", issue)?;
        Ok(CardQr {
            id_number: id.to_string(),
            old_id_number,
            full_name: name.to_string(),
            birth_date,
            sex,
            address: address.to_string(),
            issue_date,
        })
    }

    /// The fields used for cross-checks.
    pub fn identity_fields(&self) -> IdentityFields {
        IdentityFields {
            source: "qr".to_string(),
            id_number: Some(self.id_number.clone()),
            full_name: Some(self.full_name.clone()),
            name_possibly_truncated: false,
            birth_date: Some(BirthDate::Full(self.birth_date)),
            sex: Some(self.sex),
        }
    }
}

// ---------------------------------------------------------------------------
// Cross-checks

/// A birth date, possibly without its century (MRZ dates are `YYMMDD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthDate {
    Full(Date),
    TwoDigitYear { yy: u8, month: u8, day: u8 },
}

impl BirthDate {
    fn parts(self) -> (u8, u8, u8) {
        match self {
            BirthDate::Full(d) => {
                let yy = u8::try_from(d.year().rem_euclid(100)).unwrap_or(u8::MAX);
                (yy, u8::from(d.month()), d.day())
            }
            BirthDate::TwoDigitYear { yy, month, day } => (yy, month, day),
        }
    }

    /// Same date; when either side lacks the century only `yy`, month and day are
    /// compared.
    pub fn matches(self, other: BirthDate) -> bool {
        match (self, other) {
            (BirthDate::Full(a), BirthDate::Full(b)) => a == b,
            _ => self.parts() == other.parts(),
        }
    }
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BirthDate::Full(d) => write!(f, "{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
            BirthDate::TwoDigitYear { yy, month, day } => {
                write!(f, "..{yy:02}-{month:02}-{day:02}")
            }
        }
    }
}

/// Identity fields from one source (QR, MRZ, chip DG13, a form), each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityFields {
    /// Where the fields come from, e.g. `qr`, `mrz`, `chip`.
    pub source: String,
    pub id_number: Option<String>,
    pub full_name: Option<String>,
    /// The name may be cut (MRZ zones are short): a prefix match is accepted.
    pub name_possibly_truncated: bool,
    pub birth_date: Option<BirthDate>,
    pub sex: Option<Sex>,
}

impl IdentityFields {
    /// Fields readable from an MRZ. The 12-digit ID number is taken from the
    /// optional data when it holds 12 digits (Vietnamese cards), otherwise it is
    /// left out.
    pub fn from_mrz(mrz: &Mrz) -> IdentityFields {
        let id_number = [&mrz.optional_data, &mrz.optional_data_2]
            .into_iter()
            .map(|s| s.trim_end_matches('<'))
            .find(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string);
        let full_name = mrz.full_name();
        IdentityFields {
            source: "mrz".to_string(),
            id_number,
            full_name: (!full_name.is_empty()).then_some(full_name),
            name_possibly_truncated: mrz.names_possibly_truncated,
            birth_date: mrz
                .birth_date_parts()
                .map(|(yy, month, day)| BirthDate::TwoDigitYear { yy, month, day }),
            sex: mrz.sex,
        }
    }
}

/// Comparison of one field across sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldComparison {
    /// `id_number`, `birth_date`, `sex` or `full_name`.
    pub field: String,
    /// `(source, value)` for every source that has the field.
    pub values: Vec<(String, String)>,
    /// Skipped when fewer than two sources have the field.
    pub outcome: Outcome,
    pub explanation: String,
}

/// Report of [`cross_check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrossCheckReport {
    pub comparisons: Vec<FieldComparison>,
    /// True when no comparison failed (skipped comparisons do not fail).
    pub consistent: bool,
}

fn compare<'a, T: Copy + 'a>(
    field: &str,
    sources: &'a [IdentityFields],
    get: impl Fn(&'a IdentityFields) -> Option<T>,
    show: impl Fn(T) -> String,
    same: impl Fn(T, T, &IdentityFields, &IdentityFields) -> bool,
) -> FieldComparison {
    let present: Vec<(&IdentityFields, T)> = sources.iter().filter_map(|s| get(s).map(|v| (s, v))).collect();
    let values = present
        .iter()
        .map(|(s, v)| (s.source.clone(), show(*v)))
        .collect();
    let mut mismatches = Vec::new();
    if let Some(((first_src, first), rest)) = present.split_first() {
        for (src, v) in rest {
            if !same(*first, *v, first_src, src) {
                mismatches.push(format!("{} differs from {}", src.source, first_src.source));
            }
        }
    }
    let (outcome, explanation) = if present.len() < 2 {
        (Outcome::Skipped, format!("fewer than two sources give {field}"))
    } else if mismatches.is_empty() {
        (Outcome::Pass, format!("all sources agree on {field}"))
    } else {
        (Outcome::Fail, format!("{field}: {}", mismatches.join("; ")))
    };
    FieldComparison {
        field: field.to_string(),
        values,
        outcome,
        explanation,
    }
}

fn names_match(a: &str, b: &str, a_cut: bool, b_cut: bool) -> bool {
    let (ka, kb) = (name_key(a), name_key(b));
    ka == kb || (a_cut && kb.starts_with(&ka)) || (b_cut && ka.starts_with(&kb))
}

/// Compare ID number, birth date, sex and name across any number of sources. Names
/// are compared without diacritics or case; birth dates without century when a
/// source lacks it.
pub fn cross_check(sources: &[IdentityFields]) -> CrossCheckReport {
    let comparisons = vec![
        compare(
            "id_number",
            sources,
            |s| s.id_number.as_deref(),
            str::to_string,
            |a, b, _, _| a == b,
        ),
        compare(
            "birth_date",
            sources,
            |s| s.birth_date,
            |d| d.to_string(),
            |a, b, _, _| a.matches(b),
        ),
        compare("sex", sources, |s| s.sex, |s| s.to_string(), |a, b, _, _| a == b),
        compare(
            "full_name",
            sources,
            |s| s.full_name.as_deref(),
            str::to_string,
            |a, b, sa, sb| names_match(a, b, sa.name_possibly_truncated, sb.name_possibly_truncated),
        ),
    ];
    let consistent = comparisons.iter().all(|c| c.outcome != Outcome::Fail);
    CrossCheckReport {
        comparisons,
        consistent,
    }
}

/// Cross-check the card-face QR, the MRZ and, when read, the chip's fields.
pub fn cross_check_card(qr: &CardQr, mrz: &Mrz, chip: Option<&IdentityFields>) -> CrossCheckReport {
    let mut sources = vec![qr.identity_fields(), IdentityFields::from_mrz(mrz)];
    if let Some(chip) = chip {
        sources.push(chip.clone());
    }
    cross_check(&sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn province_table() {
        assert_eq!(PROVINCES.len(), 63);
        assert_eq!(province_name("001"), Some("Hà Nội"));
        assert_eq!(province_name("079"), Some("Hồ Chí Minh"));
        assert_eq!(province_name("096"), Some("Cà Mau"));
        assert_eq!(province_name("003"), None);
        let mut codes: Vec<_> = PROVINCES.iter().map(|(c, _)| *c).collect();
        let sorted = codes.clone();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, sorted, "codes sorted and unique");
    }

    #[test]
    fn century_digits() {
        assert_eq!(century_sex_digit(1987, Sex::Male), Some(0));
        assert_eq!(century_sex_digit(1987, Sex::Female), Some(1));
        assert_eq!(century_sex_digit(2005, Sex::Female), Some(3));
        assert_eq!(century_sex_digit(2100, Sex::Male), Some(4));
        assert_eq!(century_sex_digit(2250, Sex::Female), Some(7));
        assert_eq!(century_sex_digit(1890, Sex::Female), Some(9));
        assert_eq!(century_sex_digit(1799, Sex::Male), None);
        for d in 0..10u8 {
            let (c, s) = decode_century_sex(d).unwrap();
            assert_eq!(century_sex_digit(c + 50, s), Some(d));
        }
        assert_eq!(decode_century_sex(10), None);
    }

    #[test]
    fn valid_number() {
        let r = check_number("079087001234", date!(1987 - 03 - 14), Sex::Male);
        assert!(r.ok, "{r:#?}");
        let d = r.decoded.unwrap();
        assert_eq!(d.province_name.as_deref(), Some("Hồ Chí Minh"));
        assert_eq!(d.birth_year, 1987);
        assert_eq!(d.sex, Sex::Male);
        let r = check_number(" 001305000001 ", date!(2005 - 12 - 31), Sex::Female);
        assert!(r.ok, "{r:#?}");
    }

    #[test]
    fn invalid_numbers() {
        let dob = date!(1987 - 03 - 14);
        let r = check_number("07908700123", dob, Sex::Male);
        assert!(!r.ok);
        assert_eq!(r.check("format").unwrap().outcome, Outcome::Fail);
        assert_eq!(r.check("province_code").unwrap().outcome, Outcome::Skipped);
        let r = check_number("07908700123A", dob, Sex::Male);
        assert_eq!(r.check("format").unwrap().outcome, Outcome::Fail);
        let r = check_number("003087001234", dob, Sex::Male);
        assert_eq!(r.check("province_code").unwrap().outcome, Outcome::Fail);
        assert_eq!(r.check("century_sex").unwrap().outcome, Outcome::Pass);
        let r = check_number("079187001234", dob, Sex::Male);
        assert_eq!(r.check("century_sex").unwrap().outcome, Outcome::Fail);
        assert!(r.check("century_sex").unwrap().explanation.contains("female"));
        let r = check_number("079088001234", dob, Sex::Male);
        assert_eq!(r.check("birth_year").unwrap().outcome, Outcome::Fail);
        assert_eq!(r.check("century_sex").unwrap().outcome, Outcome::Pass);
        let r = check_number("079287001234", dob, Sex::Male);
        assert_eq!(r.check("century_sex").unwrap().outcome, Outcome::Fail);
        let r = check_number("079087001234", date!(1700 - 01 - 01), Sex::Male);
        assert_eq!(r.check("century_sex").unwrap().outcome, Outcome::Fail);
    }

    #[test]
    fn folding() {
        assert_eq!(fold_vietnamese("Nguyễn Thị Hồng Đào"), "Nguyen Thi Hong Dao");
        assert_eq!(fold_vietnamese("Trần Quốc Việt đẹp"), "Tran Quoc Viet dep");
        // Decomposed input: base letter followed by combining marks.
        assert_eq!(fold_vietnamese("Nguye\u{0302}\u{0303}n"), "Nguyen");
        assert_eq!(name_key(" nguyễn  văn-an "), "NGUYEN VAN AN");
        for (base, forms) in FOLD_TABLE {
            for c in forms.chars() {
                assert_eq!(fold_vietnamese(&c.to_string()), base.to_string());
            }
        }
        let total: usize = FOLD_TABLE.iter().map(|(_, f)| f.chars().count()).sum();
        assert_eq!(total, 2 * (17 + 11 + 5 + 17 + 11 + 5) + 3);
    }

    #[test]
    fn iso_dates_and_display() {
        assert_eq!(parse_iso_date("1987-03-14"), Some(date!(1987 - 03 - 14)));
        assert_eq!(parse_iso_date("1987-02-29"), None);
        assert_eq!(parse_iso_date("1987-3-14"), None);
        assert_eq!(parse_iso_date("14/03/1987"), None);
        assert_eq!(parse_iso_date("+987-03-14"), None);
        let text = check_number("079087001234", date!(1987 - 03 - 14), Sex::Male).to_string();
        assert!(text.contains("[PASS] Province code of birth registration"));
        assert!(text.contains("Hồ Chí Minh"));
    }

    #[test]
    fn sex_from_str() {
        assert_eq!("M".parse::<Sex>().unwrap(), Sex::Male);
        assert_eq!("nữ".parse::<Sex>().unwrap(), Sex::Female);
        assert!("X".parse::<Sex>().is_err());
    }
}
