//! Whose document it is: names and dates against the verified holder, the citizen-ID number, the MRZ.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Identity consistency

/// How two names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// Equal after NFC and case folding (diacritics agree).
    Exact,
    /// Equal once diacritics are folded (e.g. an MRZ name, or an OCR slip on a mark).
    FoldedEqual,
    /// Folded names within the allowed edit distance.
    Fuzzy {
        edits: usize,
    },
    Different {
        edits: usize,
    },
}

/// Compares a name read on the document with the verified one.
pub fn compare_names(document: &str, verified: &str, max_edits: usize) -> NameMatch {
    if exact_form(document) == exact_form(verified) {
        return NameMatch::Exact;
    }
    let (a, b) = (fold(document), fold(verified));
    if a == b {
        return NameMatch::FoldedEqual;
    }
    let edits = text::distance(&a, &b);
    if edits <= max_edits {
        NameMatch::Fuzzy { edits }
    } else {
        NameMatch::Different { edits }
    }
}

pub(super) fn normalise_date(s: &str) -> Option<String> {
    if let Some(d) = text::parse_dmy(s) {
        return Some(d);
    }
    // yyyy-mm-dd
    let parts: Vec<&str> = s.trim().split('-').collect();
    if parts.len() == 3 && parts[0].len() == 4 {
        return text::parse_dmy(&format!("{}/{}/{}", parts[2], parts[1], parts[0]));
    }
    None
}

/// The document's holder fields against the verified identity.
pub fn identity(
    rec: &Recognition,
    ocr: &OcrPage,
    holder: Option<&Holder>,
    max_name_edits: usize,
) -> Vec<Check> {
    let Some(holder) = holder else {
        return vec![Check::not_applicable(
            "identity.holder",
            "no verified identity given",
        )];
    };
    let mut out = Vec::new();
    let field = |n: &str| rec.fields.get(n);
    // Name.
    match (holder.name.as_deref(), field("holder_name")) {
        (Some(v), Some(f)) => {
            let m = compare_names(&f.value, v, max_name_edits);
            let ev = json!({"document": f.value, "verified": v, "comparison": m, "max_folded_edits": max_name_edits});
            let regions: Vec<BBox> = f.bbox.into_iter().collect();
            let c = match m {
                NameMatch::Exact => Check::new("identity.name", Outcome::Pass, "the holder's name matches exactly", ev),
                NameMatch::FoldedEqual => Check::new(
                    "identity.name",
                    Outcome::Pass,
                    "the holder's name matches once diacritics are set aside (the document or its OCR drops them)",
                    ev,
                ),
                NameMatch::Fuzzy { edits } => Check::new(
                    "identity.name",
                    Outcome::Warn,
                    format!("the holder's name is close to the verified name ({edits} letter(s) differ without diacritics)"),
                    ev,
                ),
                NameMatch::Different { .. } => {
                    // Is the verified person elsewhere on the page (a parent on a birth certificate, a spouse)?
                    let target = fold(v);
                    let elsewhere = ocr.lines.iter().find(|l| text::contains_approx(&fold(&l.text), &target).is_some());
                    let msg = match elsewhere {
                        Some(l) => format!(
                            "the document's holder is {} , not {}; the verified name appears elsewhere on the page (\"{}\")",
                            f.value, v, l.text
                        ),
                        None => format!("the document's holder is {}, not {}", f.value, v),
                    };
                    Check::new("identity.name", Outcome::Fail, msg, ev)
                }
            };
            out.push(c.with_regions(regions));
        }
        (Some(_), None) => out.extend(unread("identity.name", "holder_name", "holder's name", rec)),
        (None, _) => {}
    }
    // Birth date.
    if let (Some(_), None) = (holder.birth_date.as_deref(), field("birth_date")) {
        out.extend(unread("identity.birth_date", "birth_date", "birth date", rec));
    }
    if let (Some(v), Some(f)) = (holder.birth_date.as_deref(), field("birth_date")) {
        let verified = normalise_date(v);
        let doc = f.value.clone();
        let ok = match &verified {
            Some(vd) if doc.len() == 4 => vd.ends_with(&doc),
            Some(vd) => *vd == doc,
            None => false,
        };
        let ev = json!({"document": doc, "verified": v});
        out.push(
            if ok {
                Check::new("identity.birth_date", Outcome::Pass, "birth date matches", ev)
            } else {
                Check::new(
                    "identity.birth_date",
                    Outcome::Fail,
                    format!("birth date {doc} on the document, {v} verified"),
                    ev,
                )
            }
            .with_regions(f.bbox.into_iter().collect()),
        );
    }
    // ID number.
    if let (Some(_), None) = (holder.id_number.as_deref(), field("id_number")) {
        out.extend(unread("identity.id_number", "id_number", "ID number", rec));
    }
    if let (Some(v), Some(f)) = (holder.id_number.as_deref(), field("id_number")) {
        let edits = text::distance(&f.value, v.trim());
        let ev = json!({"document": f.value, "verified": v, "edits": edits});
        let c = match edits {
            0 => Check::new("identity.id_number", Outcome::Pass, "ID number matches", ev),
            1 => Check::new(
                "identity.id_number",
                Outcome::Warn,
                "ID number differs in one digit (OCR error or a different person)",
                ev,
            ),
            _ => Check::new(
                "identity.id_number",
                Outcome::Fail,
                format!("ID number {} on the document, {v} verified", f.value),
                ev,
            ),
        };
        out.push(c.with_regions(f.bbox.into_iter().collect()));
    }
    if out.is_empty() {
        out.push(Check::not_applicable(
            "identity.holder",
            "the document shows none of the verified fields",
        ));
    }
    out
}

/// The identity check `name` when the document's `field` could not be read although its type carries it (or
/// its type is unknown): `unchecked`, never a pass. `None` when the type does not carry the field.
pub(super) fn unread(name: &str, field: &str, what: &str, rec: &Recognition) -> Option<Check> {
    let class = rec.classification.doc_class;
    let carried = class.doc_type().is_none() || class.identity_fields().iter().any(|f| f == field);
    carried.then(|| {
        Check::new(
            name,
            Outcome::Unchecked,
            format!(
                "the {what} on the document could not be read, so it could not be compared with the verified identity"
            ),
            json!({"field": field, "doc_type": class.name()}),
        )
    })
}

// ---------------------------------------------------------------------------------------------------------
// CCCD number structure

/// The 63 province codes of birth registration before the 2025 merger.
pub fn province_code_known(code: &str) -> bool {
    banso_identity::cccd::province_name(code).is_some()
}

/// Structure of a 12-digit personal identification number, and its century/sex digit against the birth date
/// and sex read on the same document.
pub fn cccd_number(rec: &Recognition) -> Check {
    const NAME: &str = "id_number.structure";
    let Some(f) = rec.fields.get("id_number") else {
        return match rec.classification.doc_class {
            // The card prints its number on both faces: not reading it is not a pass.
            DocClass::CccdFront | DocClass::CccdBack => Check::new(
                NAME,
                Outcome::Unchecked,
                "the card's ID number could not be read, so its structure could not be checked",
                json!({}),
            ),
            _ => Check::not_applicable(NAME, "no ID number on the document"),
        };
    };
    let id = f.value.as_str();
    let regions: Vec<BBox> = f.bbox.into_iter().collect();
    let fail = |msg: String, ev: serde_json::Value| {
        Check::new(NAME, Outcome::Fail, msg, ev).with_regions(regions.clone())
    };
    if id.len() != 12 || !id.chars().all(|c| c.is_ascii_digit()) {
        return fail(format!("{id} is not 12 digits"), json!({"id_number": id}));
    }
    let province = &id[0..3];
    if !province_code_known(province) {
        return fail(
            format!("{province} is not one of the 63 province codes"),
            json!({"id_number": id, "province": province}),
        );
    }
    let digit = u32::from(id.as_bytes()[3] - b'0');
    let century = 1900 + 100 * (digit / 2);
    let female = digit % 2 == 1;
    let yy: u32 = id[4..6].parse().unwrap_or(0);
    let year_from_id = century + yy;
    let mut problems = Vec::new();
    let birth_year = rec
        .fields
        .get("birth_date")
        .and_then(|b| b.value.rsplit('/').next().and_then(|y| y.parse::<u32>().ok()));
    if let Some(by) = birth_year {
        if by != year_from_id {
            problems.push(format!(
                "the number says born {year_from_id}, the document says {by}"
            ));
        }
    }
    let sex = rec.fields.get("sex").map(|s| fold(&s.value));
    if let Some(s) = &sex {
        let doc_female = s == "nu" || s == "female";
        if doc_female != female {
            problems.push(format!(
                "the number's sex digit {digit} says {}, the document says {s}",
                if female { "female" } else { "male" }
            ));
        }
    }
    let ev = json!({
        "id_number": id, "province_code": province, "century_sex_digit": digit,
        "birth_year_from_number": year_from_id, "female_from_number": female,
        "birth_year_on_document": birth_year, "sex_on_document": sex,
    });
    if problems.is_empty() {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("12 digits, province {province}, century/sex digit consistent"),
            ev,
        )
        .with_regions(regions)
    } else {
        fail(problems.join("; "), ev)
    }
}

// ---------------------------------------------------------------------------------------------------------
// MRZ

/// Check digits of the machine-readable zone, and its data against the printed fields.
pub fn mrz(rec: &Recognition) -> Check {
    const NAME: &str = "mrz.check_digits";
    let Some(m) = &rec.mrz else {
        return match rec.classification.doc_class {
            DocClass::CccdBack | DocClass::PassportDataPage => Check::new(
                NAME,
                Outcome::Unchecked,
                "the document type has a machine-readable zone but none could be read, so its check digits could not be checked",
                json!({}),
            ),
            _ => Check::not_applicable(NAME, "no machine-readable zone"),
        };
    };
    let bad: Vec<&str> = m
        .digits
        .iter()
        .filter(|d| !d.ok)
        .map(|d| d.field.as_str())
        .collect();
    let mut mismatches = Vec::new();
    if let Some(b) = rec.fields.get("birth_date") {
        if !matches!(b.source, crate::recognise::FieldSource::Mrz) {
            let id_digit = rec.fields.get("id_number").and_then(|f| f.value.chars().nth(3));
            if let Some(md) = crate::recognise::mrz_date(&m.birth_yymmdd, id_digit) {
                if md != b.value {
                    mismatches.push(format!("birth date {md} in the MRZ, {} printed", b.value));
                }
            }
        }
    }
    if rec.classification.doc_class == DocClass::PassportDataPage {
        if let Some(n) = rec.fields.get("document_number") {
            if fold(&n.value) != fold(&m.document_number) {
                mismatches.push(format!(
                    "passport number {} in the MRZ, {} printed",
                    m.document_number, n.value
                ));
            }
        }
    }
    let ev = json!({
        "format": m.format, "lines": m.lines, "raw_lines": m.raw_lines, "digits": m.digits,
        "corrections": m.corrections, "printed_mismatches": mismatches,
    });
    let regions = vec![m.bbox];
    if !bad.is_empty() {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("MRZ check digit(s) wrong: {}", bad.join(", ")),
            ev,
        )
        .with_regions(regions)
    } else if !mismatches.is_empty() {
        Check::new(NAME, Outcome::Fail, mismatches.join("; "), ev).with_regions(regions)
    } else if !m.corrections.is_empty() {
        Check::new(
            NAME,
            Outcome::Pass,
            format!(
                "{} check digits hold after correcting {} OCR character(s)",
                m.format.to_uppercase(),
                m.corrections.len()
            ),
            ev,
        )
        .with_regions(regions)
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("{} check digits hold", m.format.to_uppercase()),
            ev,
        )
        .with_regions(regions)
    }
}
