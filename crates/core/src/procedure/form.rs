//! A procedure's form and attachments, checked: field formats, required fields, fields locked to the verified
//! identity, required documents.
//!
//! Everything here reads text a kiosk sends on a citizen's behalf, so every value is bounded and checked
//! before it is kept, and an error names the field (or document) by its key so the screen can point at it.

use super::{DocumentSpec, FieldSpec, FieldType, Prefill, Procedure};
use crate::error::{Code, Error, Result};
use crate::identity::{Method, ProvenHolder};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Characters a text field takes when its spec names no `max_len`.
pub const DEFAULT_MAX_LEN: u32 = 200;
/// Characters any raw value may have before it is even looked at.
const RAW_LIMIT: usize = 1000;

/// A form that passed its procedure's checks: every value normalised (dates dd/mm/yyyy, phones as digits,
/// choices as their value), no unknown field, every required field present. Only validation makes one (its
/// fields are private; it cannot be deserialised either):
///
/// ```compile_fail
/// let forged = banso_core::procedure::ValidForm {
///     procedure: "dang-ky-khai-sinh".into(),
///     revision: 1,
///     values: Default::default(),
/// };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidForm {
    procedure: String,
    revision: u32,
    values: BTreeMap<String, String>,
}

impl ValidForm {
    /// The procedure's id.
    pub fn procedure(&self) -> &str {
        &self.procedure
    }

    /// The procedure's revision the form was checked against.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    pub fn values(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// A field the verified identity fills: shown locked, labelled with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prefilled {
    pub key: String,
    pub value: String,
    /// `chip` (the chip ID card) or `app` (the national-ID app).
    pub from: &'static str,
}

impl Procedure {
    /// Checks a form: no field the procedure does not have (`PRO-0003`), every required field filled
    /// (`PRO-0002`), every value in its format (`PRO-0003`). Errors name the field's key and label.
    pub fn validate(&self, form: &BTreeMap<String, String>) -> Result<ValidForm> {
        if let Some(unknown) = form.keys().find(|k| self.field(k).is_none()) {
            let shown: String = unknown.chars().take(40).collect();
            return Err(Error::new(
                Code::Pro0003InvalidField,
                format!("{shown}: the form of {} has no such field", self.reference()),
            ));
        }
        let mut values = BTreeMap::new();
        for spec in &self.fields {
            match form.get(&spec.key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
                None if spec.required => {
                    return Err(Error::new(
                        Code::Pro0002MissingField,
                        format!("{} ({}) is required", spec.key, spec.label),
                    ))
                }
                None => {}
                Some(raw) => {
                    values.insert(spec.key.clone(), spec.check(raw)?);
                }
            }
        }
        Ok(ValidForm {
            procedure: self.id.clone(),
            revision: self.revision,
            values,
        })
    }

    /// Checks a form filed by a verified citizen: a prefilled field left empty takes the proven value, and
    /// one that was sent must equal it (`PRO-0003`: the field is locked) — a kiosk cannot file under
    /// another name or number than the one the service proved. Then [`Procedure::validate`].
    pub fn validate_for(&self, form: &BTreeMap<String, String>, holder: &ProvenHolder) -> Result<ValidForm> {
        let mut form = form.clone();
        for spec in &self.fields {
            let Some(proven) = spec.prefill.and_then(|p| proven_value(p, holder)) else {
                continue;
            };
            let sent = form.get(&spec.key).map(|v| v.trim()).filter(|v| !v.is_empty());
            match sent {
                None => {
                    form.insert(spec.key.clone(), proven);
                }
                Some(sent) => {
                    let same = match (spec.check(sent), spec.check(&proven)) {
                        (Ok(a), Ok(b)) => a == b,
                        _ => false,
                    };
                    if !same {
                        return Err(Error::new(
                            Code::Pro0003InvalidField,
                            format!(
                                "{} ({}) is locked to the verified identity and cannot be changed",
                                spec.key, spec.label
                            ),
                        ));
                    }
                }
            }
        }
        self.validate(&form)
    }

    /// The fields the verified identity fills, with their values and where they came from. A fact the source
    /// did not give (a birth date an app login left out) fills nothing: the citizen types it.
    pub fn prefill(&self, holder: &ProvenHolder, method: Method) -> Vec<Prefilled> {
        let from = match method {
            Method::ChipAndFace => "chip",
            Method::App => "app",
        };
        self.fields
            .iter()
            .filter_map(|spec| {
                let value = spec.prefill.and_then(|p| proven_value(p, holder))?;
                Some(Prefilled {
                    key: spec.key.clone(),
                    value: spec.check(&value).ok()?,
                    from,
                })
            })
            .collect()
    }

    /// Checks the attached documents (by key): none the procedure does not list (`PRO-0003`), and every
    /// required one present, or another of its group (`PRO-0004`, naming what is missing).
    pub fn check_documents<'a>(&self, attached: impl IntoIterator<Item = &'a str>) -> Result<()> {
        let attached: HashSet<&str> = attached.into_iter().collect();
        if let Some(unknown) = attached.iter().find(|k| self.document(k).is_none()) {
            let shown: String = unknown.chars().take(40).collect();
            return Err(Error::new(
                Code::Pro0003InvalidField,
                format!("{shown}: {} lists no such document", self.reference()),
            ));
        }
        let present = |d: &DocumentSpec| {
            attached.contains(d.key.as_str())
                || d.group.is_some()
                    && self
                        .documents
                        .iter()
                        .any(|o| o.group == d.group && attached.contains(o.key.as_str()))
        };
        let missing: Vec<String> = self
            .documents
            .iter()
            .filter(|d| d.required && !present(d))
            .map(|d| format!("{} ({})", d.key, d.name))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                Code::Pro0004MissingDocument,
                format!("{} needs: {}", self.reference(), missing.join(", ")),
            ))
        }
    }
}

impl FieldSpec {
    /// Checks one value against this field's rule and returns it normalised (`PRO-0003` naming the field).
    pub fn check(&self, raw: &str) -> Result<String> {
        let invalid = |why: &str| {
            Error::new(
                Code::Pro0003InvalidField,
                format!("{} ({}): {why}", self.key, self.label),
            )
        };
        if raw.len() > RAW_LIMIT {
            return Err(invalid("too long"));
        }
        let raw = raw.trim();
        match self.kind {
            FieldType::Text => {
                if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
                    return Err(invalid("contains control characters"));
                }
                let text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
                let max = self.max_len.unwrap_or(DEFAULT_MAX_LEN) as usize;
                if text.chars().count() > max {
                    return Err(invalid(&format!("longer than {max} characters")));
                }
                Ok(text)
            }
            FieldType::Date => parse_date(raw).ok_or_else(|| invalid("not a date written dd/mm/yyyy")),
            FieldType::IdNumber => {
                let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
                if digits.len() == 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(digits)
                } else {
                    Err(invalid("a citizen ID number has 12 digits"))
                }
            }
            FieldType::Choice => self
                .choices
                .iter()
                .find(|c| c.value == raw || c.value.eq_ignore_ascii_case(raw))
                .map(|c| c.value.clone())
                .ok_or_else(|| invalid("not one of the choices")),
            FieldType::Email => check_email(raw).ok_or_else(|| invalid("not an e-mail address")),
            FieldType::Phone => check_phone(raw).ok_or_else(|| invalid("not a Vietnamese phone number")),
            FieldType::Number => {
                let n: i64 = raw
                    .parse()
                    .ok()
                    .filter(|_| raw.len() <= 19)
                    .ok_or_else(|| invalid("not a whole number"))?;
                if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                    return Err(invalid(&format!(
                        "outside {}–{}",
                        self.min.map_or("…".into(), |m| m.to_string()),
                        self.max.map_or("…".into(), |m| m.to_string())
                    )));
                }
                Ok(n.to_string())
            }
        }
    }
}

fn proven_value(prefill: Prefill, holder: &ProvenHolder) -> Option<String> {
    match prefill {
        Prefill::HolderId => Some(holder.id_number.clone()),
        Prefill::HolderName => Some(holder.full_name.clone()),
        Prefill::BirthDate => holder.birth_date.as_deref().and_then(parse_date),
    }
}

/// The rules one field spec must keep.
pub(super) fn check_spec(f: &FieldSpec) -> std::result::Result<(), String> {
    if !super::is_slug(&f.key, '_') {
        return Err(format!("field key {:?} is not [a-z0-9_]", f.key));
    }
    if f.label.trim().is_empty() || f.label_en.trim().is_empty() {
        return Err(format!("field {} has no label", f.key));
    }
    if (f.kind == FieldType::Choice) == f.choices.is_empty() {
        return Err(format!(
            "field {}: choices go with the choice type, and only with it",
            f.key
        ));
    }
    let mut values = HashSet::new();
    if f.choices
        .iter()
        .any(|c| c.value.trim().is_empty() || !values.insert(c.value.as_str()))
    {
        return Err(format!(
            "field {}: choice values must be unique and not empty",
            f.key
        ));
    }
    if f.kind != FieldType::Number && (f.min.is_some() || f.max.is_some()) {
        return Err(format!("field {}: min and max go with numbers", f.key));
    }
    if f.kind != FieldType::Text && f.max_len.is_some() {
        return Err(format!("field {}: max_len goes with text", f.key));
    }
    if let Some(p) = f.prefill {
        if p.field_type() != f.kind {
            return Err(format!(
                "field {}: {p:?} fills a {:?} field",
                f.key,
                p.field_type()
            ));
        }
    }
    Ok(())
}

/// `HH:MM`, 24-hour.
pub(super) fn parse_hhmm(s: &str) -> Option<time::Time> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

/// A day written dd/mm/yyyy (d/m/yyyy; `/`, `-` or `.`) or yyyy-mm-dd, between 1900 and 2100, as dd/mm/yyyy.
pub(super) fn parse_date(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.trim().split(['/', '-', '.']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (day, month, year) = if a.len() == 4 { (*c, *b, *a) } else { (*a, *b, *c) };
    if year.len() != 4 || !(1..=2).contains(&day.len()) || !(1..=2).contains(&month.len()) {
        return None;
    }
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if ![day, month, year].iter().all(|t| all_digits(t)) {
        return None;
    }
    let (day, month, year): (u8, u8, i32) = (day.parse().ok()?, month.parse().ok()?, year.parse().ok()?);
    if !(1900..=2100).contains(&year) {
        return None;
    }
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(format!(
        "{:02}/{:02}/{}",
        date.day(),
        u8::from(date.month()),
        date.year()
    ))
}

/// A plain address (one `@`, a dotted domain, no spaces), the domain in lower case.
fn check_email(s: &str) -> Option<String> {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (local, domain) = s.split_once('@')?;
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = !local.is_empty()
        && local.len() <= 64
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    ok.then(|| format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// 10 or 11 digits from 0, spaces, dots, dashes and brackets aside; `+84` stands for the 0.
fn check_phone(s: &str) -> Option<String> {
    let compact: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = match compact.strip_prefix("+84") {
        Some(rest) => format!("0{rest}"),
        None => compact,
    };
    (digits.starts_with('0')
        && (10..=11).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then_some(digits)
}
