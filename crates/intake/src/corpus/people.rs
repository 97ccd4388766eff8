//! Random but plausible Vietnamese people, places and numbers.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;

/// The 63 province codes of birth registration in use before the 2025 merger (first three digits of the
/// 12-digit personal identification number), with province names: banso-identity's table.
pub fn provinces() -> &'static [(&'static str, &'static str)] {
    banso_identity::cccd::provinces()
}

const SURNAMES: [&str; 16] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
    "Dương", "Lý",
];
const MIDDLE_MALE: [&str; 8] = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Gia", "Xuân"];
const MIDDLE_FEMALE: [&str; 8] = ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Bảo", "Diệu"];
const GIVEN_MALE: [&str; 20] = [
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân",
    "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Đông",
];
const GIVEN_FEMALE: [&str; 20] = [
    "Anh", "Châu", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân", "Nhung", "Phương",
    "Quỳnh", "Thảo", "Trang", "Vy", "Yến", "Huyền", "Ánh",
];
pub const WARDS: [&str; 14] = [
    "Bình Phú",
    "Hoàn Kiếm",
    "Ba Đình",
    "Cửa Nam",
    "Tân Định",
    "Bến Thành",
    "Hải Châu",
    "Thạch Thang",
    "Ninh Kiều",
    "Long Biên",
    "Cầu Giấy",
    "Đống Đa",
    "Tây Hồ",
    "Hội An",
];
pub const STREETS: [&str; 12] = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Phan Chu Trinh",
    "Điện Biên Phủ",
    "Quang Trung",
    "Hùng Vương",
    "Lê Duẩn",
    "Nguyễn Trãi",
    "Bạch Đằng",
];
pub const ETHNICITIES: [&str; 4] = ["Kinh", "Kinh", "Kinh", "Tày"];

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// `dd/mm/yyyy`, the Vietnamese administrative form.
    pub fn dmy(&self) -> String {
        format!("{:02}/{:02}/{:04}", self.day, self.month, self.year)
    }
    /// `YYMMDD` for the MRZ.
    pub fn yymmdd(&self) -> String {
        format!("{:02}{:02}{:02}", self.year % 100, self.month, self.day)
    }
    /// "ngày 05 tháng 03 năm 2021".
    pub fn words(&self) -> String {
        format!("ngày {:02} tháng {:02} năm {}", self.day, self.month, self.year)
    }
    pub fn random(rng: &mut impl Rng, from_year: u16, to_year: u16) -> Date {
        Date {
            year: rng.gen_range(from_year..=to_year),
            month: rng.gen_range(1..=12),
            day: rng.gen_range(1..=28),
        }
    }
    pub fn plus_years(&self, years: u16) -> Date {
        Date {
            year: self.year + years,
            ..*self
        }
    }
}

/// Sex as printed ("Nam"/"Nữ") and in the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn vi(&self) -> &'static str {
        match self {
            Sex::Male => "Nam",
            Sex::Female => "Nữ",
        }
    }
    pub fn mrz(&self) -> char {
        match self {
            Sex::Male => 'M',
            Sex::Female => 'F',
        }
    }
}

/// A generated person.
#[derive(Debug, Clone)]
pub struct Person {
    pub surname: String,
    pub middle: String,
    pub given: String,
    pub sex: Sex,
    pub birth: Date,
    pub province_code: &'static str,
    pub province: &'static str,
    pub id_number: String,
    pub address: String,
}

impl Person {
    pub fn full_name(&self) -> String {
        format!("{} {} {}", self.surname, self.middle, self.given)
    }
    pub fn full_name_upper(&self) -> String {
        self.full_name().to_uppercase()
    }
    pub fn random(rng: &mut impl Rng, sex: Option<Sex>, from_year: u16, to_year: u16) -> Person {
        let sex = sex.unwrap_or(if rng.gen_bool(0.5) { Sex::Male } else { Sex::Female });
        let pick = |rng: &mut _, list: &[&str]| list.choose(rng).copied().unwrap_or("An").to_string();
        let (middle, given) = match sex {
            Sex::Male => (pick(rng, &MIDDLE_MALE), pick(rng, &GIVEN_MALE)),
            Sex::Female => (pick(rng, &MIDDLE_FEMALE), pick(rng, &GIVEN_FEMALE)),
        };
        let birth = Date::random(rng, from_year, to_year);
        let (code, province) = provinces()[rng.gen_range(0..provinces().len())];
        let id_number = id_number(rng, code, sex, birth.year);
        let address = format!(
            "Số {} {}, phường {}, {}",
            rng.gen_range(1..200),
            pick(rng, &STREETS),
            pick(rng, &WARDS),
            provinces()[rng.gen_range(0..provinces().len())].1
        );
        Person {
            surname: pick(rng, &SURNAMES),
            middle,
            given,
            sex,
            birth,
            province_code: code,
            province,
            id_number,
            address,
        }
    }
}

/// A 12-digit personal identification number: province code, century/sex digit, two-digit birth year, six
/// random digits.
pub fn id_number(rng: &mut impl Rng, province_code: &str, sex: Sex, birth_year: u16) -> String {
    let century = u16::from(birth_year >= 2000) + 2 * u16::from(birth_year >= 2100);
    let digit = century * 2 + u16::from(sex == Sex::Female);
    format!(
        "{province_code}{digit}{:02}{:06}",
        birth_year % 100,
        rng.gen_range(0..1_000_000u32)
    )
}

/// Checks the structure of a 12-digit ID number against a birth year and sex. Returns what is wrong.
pub fn check_id_number(id: &str, sex: Sex, birth_year: u16) -> Result<(), String> {
    if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err("not 12 digits".into());
    }
    if !provinces().iter().any(|(c, _)| *c == &id[0..3]) {
        return Err(format!("unknown province code {}", &id[0..3]));
    }
    let digit: u16 = id[3..4].parse().map_err(|_| "digit")?;
    let century_start = 1900 + 100 * (digit / 2);
    let female = digit % 2 == 1;
    if female != (sex == Sex::Female) {
        return Err("sex digit does not match".into());
    }
    let yy: u16 = id[4..6].parse().map_err(|_| "year")?;
    if century_start + yy != birth_year {
        return Err(format!(
            "birth year {} does not match {}",
            century_start + yy,
            birth_year
        ));
    }
    Ok(())
}

/// Removes Vietnamese diacritics (Đ → D), as foreign registries write Vietnamese names.
pub fn strip_diacritics(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect()
}

/// "An Van NGUYEN": given names first, surname in capitals, no diacritics (foreign documents).
pub fn mrz_free_name(p: &Person) -> String {
    strip_diacritics(&format!("{} {} {}", p.given, p.middle, p.surname.to_uppercase()))
}
