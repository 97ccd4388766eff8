//! DG13 of the Vietnamese chip citizen ID card (CCCD): the holder's civil data in
//! Vietnamese, with diacritics.
//!
//! **The layout here is our assumption, not a published specification.** Vietnam has not
//! published the DG13 format; this module defines one honest TLV layout that mirrors what
//! open-source readers of Vietnamese cards report seeing, and it must be confirmed (and
//! probably adjusted) against real cards before production use:
//!
//! ```text
//! 6D len                       -- DG13 application tag
//!   30 len                     -- SEQUENCE of fields, each:
//!     30 len                   --   SEQUENCE { number, text }
//!       02 01 NN               --     INTEGER field number (1..=16, see DG13Field)
//!       0C len <UTF-8 text>    --     UTF8String value
//! ```
//!
//! The decoder is tolerant of unknown field numbers (kept in [`Dg13::other`]) and of field
//! order, and rejects malformed TLV or non-UTF-8 text.

use super::lds::{expect_tlv, parse_all, LdsError};
use super::sm::push_tlv;

/// The DG13 fields, numbered as in our assumed layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Dg13Field {
    /// 1: 12-digit personal identification number.
    IdNumber = 1,
    /// 2: full name with diacritics.
    FullName = 2,
    /// 3: birth date `dd/mm/yyyy`.
    BirthDate = 3,
    /// 4: sex as printed ("Nam" / "Nữ").
    Sex = 4,
    /// 5: nationality ("Việt Nam").
    Nationality = 5,
    /// 6: ethnicity ("Kinh", …).
    Ethnicity = 6,
    /// 7: religion ("Không", …).
    Religion = 7,
    /// 8: home town (quê quán).
    HomeTown = 8,
    /// 9: place of residence (nơi thường trú).
    Residence = 9,
    /// 10: personal identifying marks.
    IdentifyingMarks = 10,
    /// 11: issue date `dd/mm/yyyy`.
    IssueDate = 11,
    /// 12: expiry date `dd/mm/yyyy` (or "Không thời hạn").
    ExpiryDate = 12,
    /// 13: father's name.
    FatherName = 13,
    /// 14: mother's name.
    MotherName = 14,
    /// 15: spouse's name.
    SpouseName = 15,
    /// 16: old 9- or 12-digit ID number.
    OldIdNumber = 16,
}

/// DG13 content. Empty strings mean "absent".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dg13 {
    /// Field 1.
    pub id_number: String,
    /// Field 2.
    pub full_name: String,
    /// Field 3, `dd/mm/yyyy`.
    pub birth_date: String,
    /// Field 4.
    pub sex: String,
    /// Field 5.
    pub nationality: String,
    /// Field 6.
    pub ethnicity: String,
    /// Field 7.
    pub religion: String,
    /// Field 8.
    pub home_town: String,
    /// Field 9.
    pub residence: String,
    /// Field 10.
    pub identifying_marks: String,
    /// Field 11, `dd/mm/yyyy`.
    pub issue_date: String,
    /// Field 12.
    pub expiry_date: String,
    /// Field 13.
    pub father_name: String,
    /// Field 14.
    pub mother_name: String,
    /// Field 15.
    pub spouse_name: String,
    /// Field 16.
    pub old_id_number: String,
    /// Fields with numbers outside 1..=16, kept as (number, text).
    pub other: Vec<(u8, String)>,
}

impl Dg13 {
    fn slot(&mut self, n: u8) -> Option<&mut String> {
        Some(match n {
            1 => &mut self.id_number,
            2 => &mut self.full_name,
            3 => &mut self.birth_date,
            4 => &mut self.sex,
            5 => &mut self.nationality,
            6 => &mut self.ethnicity,
            7 => &mut self.religion,
            8 => &mut self.home_town,
            9 => &mut self.residence,
            10 => &mut self.identifying_marks,
            11 => &mut self.issue_date,
            12 => &mut self.expiry_date,
            13 => &mut self.father_name,
            14 => &mut self.mother_name,
            15 => &mut self.spouse_name,
            16 => &mut self.old_id_number,
            _ => return None,
        })
    }

    fn numbered(&self) -> [(u8, &str); 16] {
        [
            (1, &self.id_number),
            (2, &self.full_name),
            (3, &self.birth_date),
            (4, &self.sex),
            (5, &self.nationality),
            (6, &self.ethnicity),
            (7, &self.religion),
            (8, &self.home_town),
            (9, &self.residence),
            (10, &self.identifying_marks),
            (11, &self.issue_date),
            (12, &self.expiry_date),
            (13, &self.father_name),
            (14, &self.mother_name),
            (15, &self.spouse_name),
            (16, &self.old_id_number),
        ]
    }

    /// The value of one field.
    pub fn get(&self, field: Dg13Field) -> &str {
        let n = field as u8;
        self.numbered()
            .into_iter()
            .find(|(k, _)| *k == n)
            .map_or("", |(_, v)| v)
    }

    /// Encodes DG13 (tag `6D`) with the non-empty fields in number order.
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = Vec::new();
        let all = self
            .numbered()
            .into_iter()
            .chain(self.other.iter().map(|(n, s)| (*n, s.as_str())));
        for (n, text) in all {
            if text.is_empty() {
                continue;
            }
            let mut inner = Vec::new();
            push_tlv(&mut inner, 0x02, &[n]);
            push_tlv(&mut inner, 0x0C, text.as_bytes());
            push_tlv(&mut fields, 0x30, &inner);
        }
        let mut seq = Vec::new();
        push_tlv(&mut seq, 0x30, &fields);
        let mut out = Vec::new();
        push_tlv(&mut out, 0x6D, &seq);
        out
    }

    /// Decodes DG13 in the layout described in the module documentation.
    pub fn decode(bytes: &[u8]) -> Result<Dg13, LdsError> {
        let outer = expect_tlv(bytes, 0x6D)?;
        let seq = expect_tlv(outer.value, 0x30)?;
        let mut out = Dg13::default();
        for field in parse_all(seq.value)? {
            if field.tag != 0x30 {
                return Err(LdsError::UnexpectedTag {
                    expected: 0x30,
                    found: field.tag,
                });
            }
            let parts = field.children()?;
            let (Some(num), Some(text)) = (parts.first(), parts.get(1)) else {
                return Err(LdsError::Missing("DG13 field number and text"));
            };
            if num.tag != 0x02 || text.tag != 0x0C {
                return Err(LdsError::Tlv("DG13 field is not INTEGER, UTF8String"));
            }
            let [n] = num.value else {
                return Err(LdsError::Tlv("DG13 field number is not one byte"));
            };
            let text = std::str::from_utf8(text.value)
                .map_err(|_| LdsError::Text("DG13 field"))?
                .to_owned();
            match out.slot(*n) {
                Some(slot) => *slot = text,
                None => out.other.push((*n, text)),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_unknown_fields() {
        let d = Dg13 {
            id_number: "001080012345".into(),
            full_name: "Nguyễn Văn Ánh".into(),
            other: vec![(20, "x".into())],
            ..Dg13::default()
        };
        let enc = d.encode();
        assert_eq!(enc.first(), Some(&0x6D));
        let back = Dg13::decode(&enc).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.get(Dg13Field::FullName), "Nguyễn Văn Ánh");
        assert!(Dg13::decode(&[0x6D, 0x02, 0x31, 0x00]).is_err());
    }
}
