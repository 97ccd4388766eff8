//! ICAO Doc 9303 machine-readable zones: TD1 (ID cards, 3 lines × 30) and TD3
//! (passports, 2 lines × 44).
//!
//! [`Mrz::parse`] splits the zone into its fields and recomputes every check digit.
//! A wrong check digit is not a parse error: it is reported as a failed [`Check`], so
//! a kiosk can show the citizen exactly which field was misread. Parse errors are
//! reserved for input that is not an MRZ at all (wrong shape, forbidden characters).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cccd::Sex;

/// The two MRZ layouts this module understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MrzFormat {
    /// Size 1 card: 3 lines of 30 characters.
    Td1,
    /// Passport booklet: 2 lines of 44 characters.
    Td3,
}

impl MrzFormat {
    /// Number of lines of this layout.
    pub fn line_count(self) -> usize {
        match self {
            MrzFormat::Td1 => 3,
            MrzFormat::Td3 => 2,
        }
    }

    /// Number of characters per line of this layout.
    pub fn line_length(self) -> usize {
        match self {
            MrzFormat::Td1 => 30,
            MrzFormat::Td3 => 44,
        }
    }
}

/// Why a text could not be read as an MRZ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// Nothing but whitespace was given.
    #[error("the MRZ is empty")]
    Empty,
    /// A character outside `A–Z`, `0–9` and `<` (positions are 1-based).
    #[error(
        "line {line}, column {column}: character {found:?} is not allowed in an MRZ \
         (only A-Z, 0-9 and '<')"
    )]
    InvalidCharacter { line: usize, column: usize, found: char },
    /// Neither 3 lines (TD1) nor 2 lines (TD3).
    #[error("expected 3 lines (TD1) or 2 lines (TD3), found {found}")]
    WrongLineCount { found: usize },
    /// A line of the wrong length for the layout chosen by the line count.
    #[error("line {line} has {found} characters, {format:?} lines have {expected}")]
    WrongLineLength {
        line: usize,
        format: MrzFormat,
        expected: usize,
        found: usize,
    },
    /// A recognised but unsupported layout (TD2, 2 × 36).
    #[error("{0} is not supported (only TD1 and TD3)")]
    UnsupportedFormat(&'static str),
    /// The sex position holds something other than `M`, `F` or `<`.
    #[error("line {line}, column {column}: sex must be 'M', 'F' or '<', found {found:?}")]
    InvalidSex { line: usize, column: usize, found: char },
    /// A field given to [`Td1Fields::to_lines`] does not fit its zone.
    #[error("field {field} is too long: {found} characters, at most {max}")]
    FieldTooLong {
        field: &'static str,
        max: usize,
        found: usize,
    },
    /// A field given to [`Td1Fields::to_lines`] holds a character that cannot be
    /// written in an MRZ.
    #[error("field {field}: character {found:?} cannot be written in an MRZ")]
    InvalidFieldCharacter { field: &'static str, found: char },
}

/// One recomputed check digit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// `document_number`, `birth_date`, `expiry_date`, `optional_data` (TD3 only) or
    /// `composite`.
    pub name: String,
    /// The digit computed from the field.
    pub expected: char,
    /// The character printed in the check-digit position.
    pub found: char,
    /// Whether `found` is acceptable.
    pub ok: bool,
}

/// A parsed machine-readable zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mrz {
    pub format: MrzFormat,
    /// Document code with fillers removed (`I`, `ID`, `P`, …).
    pub document_code: String,
    /// Issuing state or organisation (3 letters, e.g. `VNM`).
    pub issuing_state: String,
    /// Document number without trailing fillers; for TD1 long numbers this includes
    /// the part carried over into the optional data.
    pub document_number: String,
    /// Optional data (TD1 line 1 after any document-number overflow; TD3 personal
    /// number), without surrounding fillers.
    pub optional_data: String,
    /// TD1 line 2 optional data, without surrounding fillers; empty for TD3.
    pub optional_data_2: String,
    /// Birth date as printed, `YYMMDD` (may contain `<` for unknown parts).
    pub birth_date: String,
    /// `None` when unspecified (`<`).
    pub sex: Option<Sex>,
    /// Expiry date as printed, `YYMMDD`.
    pub expiry_date: String,
    /// Nationality (3 letters).
    pub nationality: String,
    /// Primary identifier (surname), `<` turned into spaces.
    pub primary_identifier: String,
    /// Secondary identifier (given names), `<` turned into spaces.
    pub secondary_identifier: String,
    /// True when the name zone does not end in two fillers, so the names may have
    /// been cut to fit.
    pub names_possibly_truncated: bool,
    /// Every check digit, in the order they appear.
    pub checks: Vec<Check>,
    /// The normalised lines the fields were read from.
    pub lines: Vec<String>,
    /// Printed check digits needed for the BAC seed (kept to build it verbatim).
    document_number_check: char,
    birth_date_check: char,
    expiry_date_check: char,
}

/// Value of an MRZ character in the check-digit sum (`<` = 0, `A` = 10 … `Z` = 35).
fn char_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => c.to_digit(10),
        'A'..='Z' => Some(u32::from(c) - u32::from('A') + 10),
        '<' => Some(0),
        _ => None,
    }
}

/// ICAO 9303 check digit of `field` (weights 7, 3, 1 repeating, sum modulo 10).
///
/// Returns `None` when the field holds a character that is not allowed in an MRZ.
pub fn check_digit(field: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, c) in field.chars().enumerate() {
        let weight = match i % 3 {
            0 => 7,
            1 => 3,
            _ => 1,
        };
        sum = (sum + char_value(c)? * weight) % 10;
    }
    char::from_digit(sum, 10)
}

fn is_mrz_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'
}

/// Characters `start..=end` (1-based) of an ASCII line; empty when out of range.
fn sub(line: &str, start: usize, end: usize) -> &str {
    line.get(start.saturating_sub(1)..end).unwrap_or("")
}

/// Character at 1-based position `pos` of an ASCII line; `<` when out of range.
fn at(line: &str, pos: usize) -> char {
    line.chars().nth(pos.saturating_sub(1)).unwrap_or('<')
}

fn make_check(name: &str, field: &str, found: char) -> Check {
    let expected = check_digit(field).unwrap_or('?');
    Check {
        name: name.to_string(),
        expected,
        found,
        ok: expected == found,
    }
}

fn split_names(zone: &str) -> (String, String) {
    let trimmed = zone.trim_end_matches('<');
    let (primary, secondary) = match trimmed.find("<<") {
        Some(i) => (trimmed.get(..i).unwrap_or(""), trimmed.get(i + 2..).unwrap_or("")),
        None => (trimmed, ""),
    };
    let clean = |part: &str| {
        part.split('<')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (clean(primary), clean(secondary))
}

fn parse_sex(c: char, line: usize, column: usize) -> Result<Option<Sex>, MrzError> {
    match c {
        'M' => Ok(Some(Sex::Male)),
        'F' => Ok(Some(Sex::Female)),
        '<' => Ok(None),
        found => Err(MrzError::InvalidSex { line, column, found }),
    }
}

fn strip_fillers(s: &str) -> String {
    s.trim_matches('<').to_string()
}

impl Mrz {
    /// Parse an MRZ given as lines separated by newlines.
    ///
    /// Surrounding whitespace and blank lines are ignored. A single line of 90 (TD1)
    /// or 88 (TD3) characters is also accepted and split. Lower-case letters, spaces
    /// inside a line and any other character outside `[A-Z0-9<]` are refused with
    /// their 1-based line and column.
    pub fn parse(text: &str) -> Result<Mrz, MrzError> {
        let mut lines: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        if lines.is_empty() {
            return Err(MrzError::Empty);
        }
        for (li, line) in lines.iter().enumerate() {
            if let Some((ci, found)) = line.chars().enumerate().find(|(_, c)| !is_mrz_char(*c)) {
                return Err(MrzError::InvalidCharacter {
                    line: li + 1,
                    column: ci + 1,
                    found,
                });
            }
        }
        // Everything is ASCII from here on, so byte offsets equal character offsets.
        if let [single] = lines.as_slice() {
            let split_at = match single.len() {
                90 => Some(30),
                88 => Some(44),
                _ => None,
            };
            if let Some(width) = split_at {
                lines = single
                    .as_bytes()
                    .chunks(width)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect();
            }
        }
        let format = match lines.len() {
            3 => MrzFormat::Td1,
            2 => {
                if lines.iter().all(|l| l.len() == 36) {
                    return Err(MrzError::UnsupportedFormat("TD2 (2 lines of 36)"));
                }
                MrzFormat::Td3
            }
            found => return Err(MrzError::WrongLineCount { found }),
        };
        for (li, line) in lines.iter().enumerate() {
            if line.len() != format.line_length() {
                return Err(MrzError::WrongLineLength {
                    line: li + 1,
                    format,
                    expected: format.line_length(),
                    found: line.len(),
                });
            }
        }
        match lines.as_slice() {
            [l1, l2, l3] => Self::parse_td1(l1, l2, l3),
            [l1, l2] => Self::parse_td3(l1, l2),
            _ => Err(MrzError::WrongLineCount { found: lines.len() }),
        }
    }

    fn parse_td1(l1: &str, l2: &str, l3: &str) -> Result<Mrz, MrzError> {
        let number_zone = sub(l1, 6, 14);
        let number_check_pos = at(l1, 15);
        let optional_zone = sub(l1, 16, 30);

        // Long-number rule: a filler in the check-digit position means the number
        // continues in the optional data, followed by its check digit and a filler.
        let (document_number, number_field, number_check, optional_data) = if number_check_pos == '<' {
            let end = optional_zone.find('<').unwrap_or(optional_zone.len());
            let extension = optional_zone.get(..end).unwrap_or("");
            let rest = optional_zone.get(end..).unwrap_or("");
            match extension.len().checked_sub(1) {
                Some(last) => {
                    let continuation = extension.get(..last).unwrap_or("");
                    let check = at(extension, last + 1);
                    let full = format!("{number_zone}{continuation}");
                    (
                        full.trim_end_matches('<').to_string(),
                        full,
                        check,
                        strip_fillers(rest),
                    )
                }
                // A filler check digit and nothing carried over: the number has
                // no check digit at all, which the check below reports.
                None => (
                    number_zone.trim_end_matches('<').to_string(),
                    number_zone.to_string(),
                    '<',
                    strip_fillers(rest),
                ),
            }
        } else {
            (
                number_zone.trim_end_matches('<').to_string(),
                number_zone.to_string(),
                number_check_pos,
                strip_fillers(optional_zone),
            )
        };

        let birth_date = sub(l2, 1, 6);
        let birth_check = at(l2, 7);
        let sex = parse_sex(at(l2, 8), 2, 8)?;
        let expiry_date = sub(l2, 9, 14);
        let expiry_check = at(l2, 15);
        let composite_found = at(l2, 30);
        let composite_field = format!(
            "{}{}{}{}",
            sub(l1, 6, 30),
            sub(l2, 1, 7),
            sub(l2, 9, 15),
            sub(l2, 19, 29)
        );
        let checks = vec![
            make_check("document_number", &number_field, number_check),
            make_check("birth_date", birth_date, birth_check),
            make_check("expiry_date", expiry_date, expiry_check),
            make_check("composite", &composite_field, composite_found),
        ];
        let (primary_identifier, secondary_identifier) = split_names(l3);
        Ok(Mrz {
            format: MrzFormat::Td1,
            document_code: strip_fillers(sub(l1, 1, 2)),
            issuing_state: strip_fillers(sub(l1, 3, 5)),
            document_number,
            optional_data,
            optional_data_2: strip_fillers(sub(l2, 19, 29)),
            birth_date: birth_date.to_string(),
            sex,
            expiry_date: expiry_date.to_string(),
            nationality: strip_fillers(sub(l2, 16, 18)),
            primary_identifier,
            secondary_identifier,
            names_possibly_truncated: !l3.ends_with("<<"),
            checks,
            lines: vec![l1.to_string(), l2.to_string(), l3.to_string()],
            document_number_check: number_check,
            birth_date_check: birth_check,
            expiry_date_check: expiry_check,
        })
    }

    fn parse_td3(l1: &str, l2: &str) -> Result<Mrz, MrzError> {
        let number_field = sub(l2, 1, 9);
        let number_check = at(l2, 10);
        let birth_date = sub(l2, 14, 19);
        let birth_check = at(l2, 20);
        let sex = parse_sex(at(l2, 21), 2, 21)?;
        let expiry_date = sub(l2, 22, 27);
        let expiry_check = at(l2, 28);
        let optional_zone = sub(l2, 29, 42);
        let optional_found = at(l2, 43);
        let composite_found = at(l2, 44);

        let mut optional_check = make_check("optional_data", optional_zone, optional_found);
        // Doc 9303 Part 4: when the personal number is unused its check digit may be
        // a filler instead of 0.
        if optional_found == '<' && optional_zone.chars().all(|c| c == '<') {
            optional_check.ok = true;
        }
        let composite_field = format!("{}{}{}", sub(l2, 1, 10), sub(l2, 14, 20), sub(l2, 22, 43));
        let checks = vec![
            make_check("document_number", number_field, number_check),
            make_check("birth_date", birth_date, birth_check),
            make_check("expiry_date", expiry_date, expiry_check),
            optional_check,
            make_check("composite", &composite_field, composite_found),
        ];
        let name_zone = sub(l1, 6, 44);
        let (primary_identifier, secondary_identifier) = split_names(name_zone);
        Ok(Mrz {
            format: MrzFormat::Td3,
            document_code: strip_fillers(sub(l1, 1, 2)),
            issuing_state: strip_fillers(sub(l1, 3, 5)),
            document_number: number_field.trim_end_matches('<').to_string(),
            optional_data: strip_fillers(optional_zone),
            optional_data_2: String::new(),
            birth_date: birth_date.to_string(),
            sex,
            expiry_date: expiry_date.to_string(),
            nationality: strip_fillers(sub(l2, 11, 13)),
            primary_identifier,
            secondary_identifier,
            names_possibly_truncated: !name_zone.ends_with("<<"),
            checks,
            lines: vec![l1.to_string(), l2.to_string()],
            document_number_check: number_check,
            birth_date_check: birth_check,
            expiry_date_check: expiry_check,
        })
    }

    /// True when every check digit is correct.
    pub fn all_checks_ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The check with the given name, if this layout has it.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// The BAC key seed ("MRZ_information", Doc 9303 Part 11): document number
    /// (padded with `<` to 9 characters when shorter, in full when longer) and its
    /// check digit, birth date and its check digit, expiry date and its check digit,
    /// all as printed.
    pub fn bac_seed_fields(&self) -> String {
        format!(
            "{:<<9}{}{}{}{}{}",
            self.document_number,
            self.document_number_check,
            self.birth_date,
            self.birth_date_check,
            self.expiry_date,
            self.expiry_date_check
        )
    }

    /// Full name as `PRIMARY SECONDARY`, the way it reads on the card.
    pub fn full_name(&self) -> String {
        match (
            self.primary_identifier.is_empty(),
            self.secondary_identifier.is_empty(),
        ) {
            (_, true) => self.primary_identifier.clone(),
            (true, false) => self.secondary_identifier.clone(),
            (false, false) => format!("{} {}", self.primary_identifier, self.secondary_identifier),
        }
    }

    /// Birth date as `(yy, mm, dd)` when all six characters are digits and the month
    /// and day are in range.
    pub fn birth_date_parts(&self) -> Option<(u8, u8, u8)> {
        yymmdd(&self.birth_date)
    }

    /// Expiry date as `(yy, mm, dd)`, like [`Mrz::birth_date_parts`].
    pub fn expiry_date_parts(&self) -> Option<(u8, u8, u8)> {
        yymmdd(&self.expiry_date)
    }
}

impl fmt::Display for Mrz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join("\n"))
    }
}

fn yymmdd(s: &str) -> Option<(u8, u8, u8)> {
    if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let two = |a: usize| s.get(a..a + 2).and_then(|p| p.parse::<u8>().ok());
    let (yy, mm, dd) = (two(0)?, two(2)?, two(4)?);
    ((1..=12).contains(&mm) && (1..=31).contains(&dd)).then_some((yy, mm, dd))
}

/// Fields for writing a TD1 zone with correct check digits (used to build test
/// cards and to show citizens what their card should read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Td1Fields {
    /// 1 or 2 characters, e.g. `ID` or `I`.
    pub document_code: String,
    pub issuing_state: String,
    /// Up to 9 characters, or longer with the overflow rule (up to 22 characters).
    pub document_number: String,
    pub optional_data: String,
    /// `YYMMDD`.
    pub birth_date: String,
    pub sex: Option<Sex>,
    /// `YYMMDD`.
    pub expiry_date: String,
    pub nationality: String,
    pub optional_data_2: String,
    pub primary_identifier: String,
    pub secondary_identifier: String,
}

fn mrz_field(field: &'static str, value: &str, max: usize) -> Result<String, MrzError> {
    let converted: String = value.chars().map(|c| if c == ' ' { '<' } else { c }).collect();
    if let Some(found) = converted.chars().find(|c| !is_mrz_char(*c)) {
        return Err(MrzError::InvalidFieldCharacter { field, found });
    }
    let found = converted.chars().count();
    if found > max {
        return Err(MrzError::FieldTooLong { field, max, found });
    }
    Ok(format!("{converted:<<max$}"))
}

impl Td1Fields {
    /// Write the three lines, computing every check digit. Spaces become fillers.
    /// Names longer than the zone are cut to 30 characters.
    pub fn to_lines(&self) -> Result<[String; 3], MrzError> {
        let code = mrz_field("document_code", &self.document_code, 2)?;
        let state = mrz_field("issuing_state", &self.issuing_state, 3)?;
        let number = mrz_field("document_number", &self.document_number, 22)?;
        let number = number.trim_end_matches('<');
        let number_check = check_digit(number).unwrap_or('0');
        let number_zone = if number.len() <= 9 {
            let optional = mrz_field("optional_data", &self.optional_data, 15)?;
            format!("{number:<<9}{number_check}{optional}")
        } else {
            let head = number.get(..9).unwrap_or("");
            let tail = number.get(9..).unwrap_or("");
            let room = 15usize.saturating_sub(tail.len() + 2);
            let optional = mrz_field("optional_data", &self.optional_data, room)?;
            format!("{head}<{tail}{number_check}<{optional}")
        };
        let line1 = format!("{code}{state}{number_zone}");

        let birth = mrz_field("birth_date", &self.birth_date, 6)?;
        let expiry = mrz_field("expiry_date", &self.expiry_date, 6)?;
        let nationality = mrz_field("nationality", &self.nationality, 3)?;
        let optional2 = mrz_field("optional_data_2", &self.optional_data_2, 11)?;
        let sex = match self.sex {
            Some(Sex::Male) => 'M',
            Some(Sex::Female) => 'F',
            None => '<',
        };
        let birth_check = check_digit(&birth).unwrap_or('0');
        let expiry_check = check_digit(&expiry).unwrap_or('0');
        let partial = format!("{birth}{birth_check}{sex}{expiry}{expiry_check}{nationality}{optional2}");
        let composite_field = format!(
            "{}{}{}{}",
            sub(&line1, 6, 30),
            sub(&partial, 1, 7),
            sub(&partial, 9, 15),
            sub(&partial, 19, 29)
        );
        let composite = check_digit(&composite_field).unwrap_or('0');
        let line2 = format!("{partial}{composite}");

        let primary = mrz_field("primary_identifier", self.primary_identifier.trim(), 30)?;
        let secondary = mrz_field("secondary_identifier", self.secondary_identifier.trim(), 30)?;
        let names = format!(
            "{}<<{}",
            primary.trim_end_matches('<'),
            secondary.trim_end_matches('<')
        );
        let names: String = names.chars().take(30).collect();
        let line3 = format!("{names:<<30}");
        Ok([line1, line2, line3])
    }

    /// The three lines joined with newlines, ready for [`Mrz::parse`].
    pub fn to_text(&self) -> Result<String, MrzError> {
        Ok(self.to_lines()?.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD1: [&str; 3] = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ];
    const TD3: [&str; 2] = [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
    ];

    fn failing(m: &Mrz) -> Vec<&str> {
        m.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    #[test]
    fn check_digit_examples() {
        assert_eq!(check_digit("D23145890"), Some('7'));
        assert_eq!(check_digit("740812"), Some('2'));
        assert_eq!(check_digit("120415"), Some('9'));
        assert_eq!(check_digit("L898902C3"), Some('6'));
        assert_eq!(check_digit("<<<<"), Some('0'));
        assert_eq!(check_digit(""), Some('0'));
        assert_eq!(check_digit("abc"), None);
    }

    #[test]
    fn td1_specimen() {
        let m = Mrz::parse(&TD1.join("\n")).unwrap();
        assert_eq!(m.format, MrzFormat::Td1);
        assert_eq!(m.document_code, "I");
        assert_eq!(m.issuing_state, "UTO");
        assert_eq!(m.document_number, "D23145890");
        assert_eq!(m.optional_data, "");
        assert_eq!(m.birth_date, "740812");
        assert_eq!(m.sex, Some(Sex::Female));
        assert_eq!(m.expiry_date, "120415");
        assert_eq!(m.nationality, "UTO");
        assert_eq!(m.primary_identifier, "ERIKSSON");
        assert_eq!(m.secondary_identifier, "ANNA MARIA");
        assert_eq!(m.full_name(), "ERIKSSON ANNA MARIA");
        assert!(!m.names_possibly_truncated);
        assert_eq!(m.checks.len(), 4);
        assert!(m.all_checks_ok(), "{:?}", m.checks);
        assert_eq!(m.bac_seed_fields(), "D23145890774081221204159");
        assert_eq!(m.birth_date_parts(), Some((74, 8, 12)));
        assert_eq!(m.to_string(), TD1.join("\n"));
    }

    #[test]
    fn td3_specimen() {
        let m = Mrz::parse(&TD3.join("\n")).unwrap();
        assert_eq!(m.format, MrzFormat::Td3);
        assert_eq!(m.document_code, "P");
        assert_eq!(m.document_number, "L898902C3");
        assert_eq!(m.optional_data, "ZE184226B");
        assert_eq!(m.sex, Some(Sex::Female));
        assert_eq!(m.primary_identifier, "ERIKSSON");
        assert_eq!(m.secondary_identifier, "ANNA MARIA");
        assert_eq!(m.checks.len(), 5);
        assert!(m.all_checks_ok(), "{:?}", m.checks);
        assert_eq!(m.bac_seed_fields(), "L898902C3674081221204159");
    }

    /// Which checks cover a 1-based (line, column) of the TD1 specimen.
    fn td1_expected(line: usize, col: usize) -> Vec<&'static str> {
        let mut v = Vec::new();
        match (line, col) {
            (1, 6..=15) => v.push("document_number"),
            (2, 1..=7) => v.push("birth_date"),
            (2, 9..=15) => v.push("expiry_date"),
            _ => {}
        }
        let composite = matches!((line, col), (1, 6..=30) | (2, 1..=7) | (2, 9..=15) | (2, 19..=30));
        if composite {
            v.push("composite");
        }
        v
    }

    fn td3_expected(line: usize, col: usize) -> Vec<&'static str> {
        let mut v = Vec::new();
        match (line, col) {
            (2, 1..=10) => v.push("document_number"),
            (2, 14..=20) => v.push("birth_date"),
            (2, 22..=28) => v.push("expiry_date"),
            (2, 29..=43) => v.push("optional_data"),
            _ => {}
        }
        if matches!((line, col), (2, 1..=10) | (2, 14..=20) | (2, 22..=44)) {
            v.push("composite");
        }
        v
    }

    fn mutate_each_digit(lines: &[&str], expected: fn(usize, usize) -> Vec<&'static str>) {
        let mut tried = 0;
        for (li, line) in lines.iter().enumerate() {
            for (ci, c) in line.chars().enumerate() {
                let Some(d) = c.to_digit(10) else { continue };
                for delta in 1..10 {
                    let replacement = char::from_digit((d + delta) % 10, 10).unwrap();
                    let mut changed: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
                    let mut chars: Vec<char> = changed[li].chars().collect();
                    chars[ci] = replacement;
                    changed[li] = chars.into_iter().collect();
                    let m = Mrz::parse(&changed.join("\n")).unwrap();
                    assert_eq!(
                        failing(&m),
                        expected(li + 1, ci + 1),
                        "line {} col {} {c}->{replacement}",
                        li + 1,
                        ci + 1
                    );
                    tried += 1;
                }
            }
        }
        assert!(tried > 100);
    }

    #[test]
    fn td1_every_digit_change_fails_the_right_checks() {
        mutate_each_digit(&TD1, td1_expected);
    }

    #[test]
    fn td3_every_digit_change_fails_the_right_checks() {
        mutate_each_digit(&TD3, td3_expected);
    }

    #[test]
    fn td1_long_document_number() {
        // Doc 9303 Part 5 example of a 12-character number D23145890734 (check 9).
        let l1 = "I<UTOD23145890<7349<<<<<<<<<<<";
        let m = Mrz::parse(&format!("{l1}\n{}\n{}", TD1[1], TD1[2])).unwrap();
        assert_eq!(m.document_number, "D23145890734");
        assert_eq!(m.check("document_number").unwrap().expected, '9');
        assert!(m.check("document_number").unwrap().ok);
        assert_eq!(m.optional_data, "");
        assert_eq!(m.bac_seed_fields(), "D23145890734974081221204159");
        // Doc 9303 Part 5 keeps the specimen line 2, whose composite digit still holds.
        assert!(m.all_checks_ok(), "{:?}", m.checks);
    }

    #[test]
    fn td1_filler_check_without_overflow_fails() {
        let l1 = "I<UTOD23145890<<<<<<<<<<<<<<<<";
        let m = Mrz::parse(&format!("{l1}\n{}\n{}", TD1[1], TD1[2])).unwrap();
        assert!(!m.check("document_number").unwrap().ok);
    }

    #[test]
    fn builder_round_trips_specimen_and_long_numbers() {
        let f = Td1Fields {
            document_code: "I".into(),
            issuing_state: "UTO".into(),
            document_number: "D23145890".into(),
            birth_date: "740812".into(),
            sex: Some(Sex::Female),
            expiry_date: "120415".into(),
            nationality: "UTO".into(),
            primary_identifier: "ERIKSSON".into(),
            secondary_identifier: "ANNA MARIA".into(),
            ..Default::default()
        };
        assert_eq!(f.to_lines().unwrap(), TD1.map(String::from));
        let long = Td1Fields {
            document_number: "D23145890734".into(),
            optional_data: "AB".into(),
            ..f.clone()
        };
        let m = Mrz::parse(&long.to_text().unwrap()).unwrap();
        assert_eq!(m.document_number, "D23145890734");
        assert_eq!(m.optional_data, "AB");
        assert!(m.all_checks_ok());
    }

    #[test]
    fn vietnamese_cccd_td1() {
        let id = "079190012345";
        let f = Td1Fields {
            document_code: "ID".into(),
            issuing_state: "VNM".into(),
            document_number: id[3..].into(),
            optional_data: id.into(),
            birth_date: "900215".into(),
            sex: Some(Sex::Male),
            expiry_date: "300215".into(),
            nationality: "VNM".into(),
            primary_identifier: "NGUYEN".into(),
            secondary_identifier: "VAN AN".into(),
            ..Default::default()
        };
        let lines = f.to_lines().unwrap();
        assert_eq!(
            lines[0],
            format!(
                "IDVNM190012345{}079190012345<<<",
                check_digit("190012345").unwrap()
            )
        );
        let m = Mrz::parse(&lines.join("\n")).unwrap();
        assert!(m.all_checks_ok());
        assert_eq!(m.document_number, "190012345");
        assert_eq!(m.optional_data, id);
        assert_eq!(m.full_name(), "NGUYEN VAN AN");
    }

    #[test]
    fn shape_errors() {
        assert_eq!(Mrz::parse("  \n \n"), Err(MrzError::Empty));
        assert_eq!(
            Mrz::parse(&TD1[..2].join("\n")),
            Err(MrzError::WrongLineLength {
                line: 1,
                format: MrzFormat::Td3,
                expected: 44,
                found: 30
            })
        );
        assert_eq!(
            Mrz::parse("AAA\nBBB\nCCC\nDDD"),
            Err(MrzError::WrongLineCount { found: 4 })
        );
        let lower = TD1.join("\n").replacen("ERIKSSON", "ERIKsSON", 1);
        assert_eq!(
            Mrz::parse(&lower),
            Err(MrzError::InvalidCharacter {
                line: 3,
                column: 5,
                found: 's'
            })
        );
        let sex = TD1.join("\n").replacen("2F1", "2X1", 1);
        assert_eq!(
            Mrz::parse(&sex),
            Err(MrzError::InvalidSex {
                line: 2,
                column: 8,
                found: 'X'
            })
        );
        let td2 = format!("{}\n{}", "A".repeat(36), "B".repeat(36));
        assert!(matches!(Mrz::parse(&td2), Err(MrzError::UnsupportedFormat(_))));
    }

    #[test]
    fn whitespace_and_single_line() {
        let padded = format!("  {}  \r\n\r\n {}\r\n{}\n\n", TD1[0], TD1[1], TD1[2]);
        assert!(Mrz::parse(&padded).unwrap().all_checks_ok());
        assert!(Mrz::parse(&TD1.concat()).unwrap().all_checks_ok());
        assert!(Mrz::parse(&TD3.concat()).unwrap().all_checks_ok());
    }

    #[test]
    fn td3_unused_personal_number_may_use_filler_check() {
        let l2 = "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<<";
        let composite = check_digit(&format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43])).unwrap();
        let l2 = format!("{}{composite}", &l2[..43]);
        let m = Mrz::parse(&format!("{}\n{l2}", TD3[0])).unwrap();
        assert!(m.all_checks_ok(), "{:?}", m.checks);
    }

    #[test]
    fn bac_seed_pads_short_numbers() {
        // Doc 9303 Part 11 Appendix D: MRZ_information = "L898902C<369080619406236".
        let l1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
        let l2 = "L898902C<3UTO6908061F9406236<<<<<<<<<<<<<<<0";
        let m = Mrz::parse(&format!("{l1}\n{l2}")).unwrap();
        assert_eq!(m.document_number, "L898902C");
        assert_eq!(m.bac_seed_fields(), "L898902C<369080619406236");
    }
}
