//! The catalogue of administrative procedures (thủ tục hành chính) a kiosk offers: data, not code.
//!
//! Each procedure is one TOML file in `crates/core/procedures/` (its national code where one is known, name,
//! category, competent body, legal basis, processing time, fee, the documents to attach and where each may
//! come from, the form and which of its fields the verified identity fills, what the appointment slip says,
//! and the source of every fact). `catalogue.toml` there holds the catalogue's version and its categories.
//! The files are embedded at build time, so the binary carries a default catalogue; an installation may load
//! its own folder of the same files ([`Catalogue::parse`]: the caller reads the files, this module does no
//! I/O). `docs/procedures.md` lists every procedure with its sources.
//!
//! What the catalogue promises, checked when it is parsed (a catalogue that breaks a rule does not load):
//! ids and national codes are unique; every procedure names a known category, cites at least one source and
//! sources its code, body, processing time, fee and documents; form fields have unique keys, their rules fit
//! their type, and a prefilled field reads an identity fact the service proves ([`Prefill`]); a document that
//! may come from the wallet names its document type.
//!
//! Search ([`Catalogue::search`]) folds Vietnamese text (case and diacritics: "dang ky khai sinh" finds
//! "Đăng ký khai sinh"); every word of the query must begin a word of the procedure's name, English name,
//! keywords, category, id or code. Results come most used first, then by name.
//!
//! Forms ([`Procedure::validate`], [`Procedure::validate_for`]) and attachments
//! ([`Procedure::check_documents`]) are checked here, once, for the kiosk, the API and the CLI alike. A
//! [`ValidForm`] is made only by validation. Field formats are types (date, citizen-ID number, phone, …),
//! not regular expressions, so a catalogue file cannot carry a pattern that a kiosk's browser and the
//! service would read differently.

mod form;

pub use form::{Prefilled, ValidForm};

use crate::error::{Code, Error, Result};
use crate::payment::strip_diacritics;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The embedded catalogue header: its version and categories.
pub const BUILTIN_CATALOGUE: &str = include_str!("../../procedures/catalogue.toml");

/// The embedded procedure files, by file name (`<id>.toml`).
pub const BUILTIN_PROCEDURES: &[(&str, &str)] = &[
    (
        "cap-ban-sao-trich-luc-ho-tich.toml",
        include_str!("../../procedures/cap-ban-sao-trich-luc-ho-tich.toml"),
    ),
    (
        "chung-thuc-ban-sao-tu-ban-chinh.toml",
        include_str!("../../procedures/chung-thuc-ban-sao-tu-ban-chinh.toml"),
    ),
    (
        "chung-thuc-chu-ky.toml",
        include_str!("../../procedures/chung-thuc-chu-ky.toml"),
    ),
    (
        "dang-ky-giam-ho.toml",
        include_str!("../../procedures/dang-ky-giam-ho.toml"),
    ),
    (
        "dang-ky-ket-hon.toml",
        include_str!("../../procedures/dang-ky-ket-hon.toml"),
    ),
    (
        "dang-ky-khai-sinh.toml",
        include_str!("../../procedures/dang-ky-khai-sinh.toml"),
    ),
    (
        "dang-ky-khai-tu.toml",
        include_str!("../../procedures/dang-ky-khai-tu.toml"),
    ),
    (
        "dang-ky-lai-khai-sinh.toml",
        include_str!("../../procedures/dang-ky-lai-khai-sinh.toml"),
    ),
    (
        "dang-ky-nhan-cha-me-con.toml",
        include_str!("../../procedures/dang-ky-nhan-cha-me-con.toml"),
    ),
    (
        "dang-ky-tam-tru.toml",
        include_str!("../../procedures/dang-ky-tam-tru.toml"),
    ),
    (
        "dang-ky-thuong-tru.toml",
        include_str!("../../procedures/dang-ky-thuong-tru.toml"),
    ),
    (
        "xac-nhan-tinh-trang-hon-nhan.toml",
        include_str!("../../procedures/xac-nhan-tinh-trang-hon-nhan.toml"),
    ),
];

/// `as_str` for the catalogue's enums: the same snake_case names the files and the JSON use.
macro_rules! names {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $ty::$variant => $text, )*
                }
            }
        }
    };
}

names!(FeeKind { Free = "free", Fixed = "fixed", PerPage = "per_page", Province = "province" });
names!(DocSource { Wallet = "wallet", Scan = "scan", Either = "either" });
names!(FieldType {
    Text = "text",
    Date = "date",
    IdNumber = "id_number",
    Choice = "choice",
    Email = "email",
    Phone = "phone",
    Number = "number",
});
names!(Prefill { HolderId = "holder_id", HolderName = "holder_name", BirthDate = "birth_date" });
names!(Grade { Primary = "primary", Secondary = "secondary", Unconfirmed = "unconfirmed" });

/// A group of procedures (civil status, residence, certification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable key, e.g. `ho-tich`.
    pub key: String,
    pub name: String,
    pub name_en: String,
}

/// How long the competent body takes, from a complete dossier to the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingTime {
    /// Working days; 0 means the same working day.
    pub working_days: u32,
    /// For a same-day procedure: a dossier received after this local time (`HH:MM`) is answered on the next
    /// working day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<String>,
    /// When the body has to verify something, the time may run to this many working days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_working_days: Option<u32>,
    pub note: String,
    pub note_en: String,
}

impl ProcessingTime {
    /// "trong ngày", "3 ngày làm việc", "3 ngày làm việc (có thể đến 8)".
    pub fn label(&self) -> String {
        let base = if self.working_days == 0 {
            "trong ngày".to_string()
        } else {
            format!("{} ngày làm việc", self.working_days)
        };
        match self.max_working_days {
            Some(max) if max > self.working_days => format!("{base} (có thể đến {max})"),
            _ => base,
        }
    }
}

/// How the fee is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// Exempt by law (in the case the note names; other cases go to an officer).
    Free,
    /// A fixed national amount: `vnd`.
    Fixed,
    /// By pages of the original (Circular 226/2016/TT-BTC; `rules::FeeSchedule`).
    PerPage,
    /// Set by the provincial People's Council; the national catalogue does not know the amount, an
    /// installation's own catalogue does.
    Province,
}

/// The fee (phí, lệ phí) of a procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub kind: FeeKind,
    /// The amount for a dossier handed in at the office (or the kiosk), for `fixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnd: Option<u64>,
    /// The amount for a dossier sent through an online public-service portal, when the law sets another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online_vnd: Option<u64>,
    /// Exemptions and conditions, in a sentence.
    pub note: String,
    pub note_en: String,
}

impl Fee {
    /// The amount due when the catalogue knows it: 0 when free, `vnd` when fixed.
    pub fn amount_vnd(&self) -> Option<u64> {
        match self.kind {
            FeeKind::Free => Some(0),
            FeeKind::Fixed => self.vnd,
            FeeKind::PerPage | FeeKind::Province => None,
        }
    }

    /// "miễn phí", "10.000 đồng", "theo số trang", "theo mức của tỉnh".
    pub fn label(&self) -> String {
        match (self.kind, self.vnd) {
            (FeeKind::Free, _) => "miễn phí".into(),
            (FeeKind::Fixed, Some(v)) => crate::rules::format_vnd(v),
            (FeeKind::Fixed, None) => "?".into(),
            (FeeKind::PerPage, _) => "theo số trang".into(),
            (FeeKind::Province, _) => "theo mức của tỉnh".into(),
        }
    }
}

/// What the appointment slip ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả") says about the result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slip {
    /// What the citizen receives.
    pub result: String,
    pub result_en: String,
    /// Where and how the result is collected.
    pub collect: String,
    pub collect_en: String,
    /// The citizen must come in person (to sign the register, to sign before the certifier, …).
    #[serde(default)]
    pub in_person: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note_en: String,
}

/// Where an attached document may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocSource {
    /// A certified copy already in the citizen's wallet.
    Wallet,
    /// The paper, scanned at the kiosk.
    Scan,
    /// Either.
    Either,
}

/// A document the dossier carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    /// Stable key, e.g. `giay-chung-sinh`.
    pub key: String,
    pub name: String,
    pub name_en: String,
    pub source: DocSource,
    /// The dossier is incomplete without it (or without another of its `group`).
    #[serde(default)]
    pub required: bool,
    /// Documents of one group stand in for one another: one of them is enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The banso document type (`crates/intake/doc-types.toml`: a type's `class` or a paper's `id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc_type: Option<String>,
    /// When an optional document is needed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub when: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub when_en: String,
}

/// The kind of value a form field takes; each has its own format rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text: trimmed, single spaces, no control characters, `max_len` characters (200 by default).
    Text,
    /// A day, written dd/mm/yyyy (also d/m/yyyy, with `-` or `.`, or yyyy-mm-dd); kept as dd/mm/yyyy.
    Date,
    /// A 12-digit citizen ID number (số định danh cá nhân).
    IdNumber,
    /// One of `choices`, kept as its value.
    Choice,
    Email,
    /// A Vietnamese phone number: 10 or 11 digits from 0 (+84 taken as 0); kept as digits.
    Phone,
    /// A whole number between `min` and `max`.
    Number,
}

/// An identity fact a verified session carries ([`crate::identity::ProvenHolder`]). A field prefilled from
/// it is locked on screen and labelled with where it came from (the chip or the national-ID app).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefill {
    /// The 12-digit citizen ID number.
    HolderId,
    /// The full name.
    HolderName,
    /// The birth date, when the source gives a whole one: dd/mm/yyyy (the chip's DG13) or yyyy-mm-dd (the
    /// national-ID login's `birthdate`). A six-digit MRZ date fills nothing: its century would be a guess.
    BirthDate,
}

impl Prefill {
    /// The field type a prefilled value fits.
    pub fn field_type(self) -> FieldType {
        match self {
            Prefill::HolderId => FieldType::IdNumber,
            Prefill::HolderName => FieldType::Text,
            Prefill::BirthDate => FieldType::Date,
        }
    }
}

/// One value of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub label_en: String,
}

/// A field of a procedure's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Stable key (`[a-z0-9_]`), e.g. `child_name`.
    pub key: String,
    pub label: String,
    pub label_en: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Characters, for text (default 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// Bounds, for numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<Prefill>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help_en: String,
}

/// A fact of a procedure that a source supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    Code,
    Name,
    Body,
    LegalBasis,
    Time,
    Fee,
    Documents,
    Form,
    Slip,
}

/// How far a source can be trusted for the facts it supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// The legal text itself (or the official codification of it), read.
    Primary,
    /// An official portal's page or a third party's copy of official material.
    Secondary,
    /// Not confirmed: the fact is the catalogue's best reading; an installation must check it.
    Unconfirmed,
}

/// Where facts of a procedure come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub facts: Vec<Fact>,
    /// The document and place in it (law, article, clause; or page).
    pub cite: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub grade: Grade,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One administrative procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    /// Stable key (`[a-z0-9-]`), the file's name without `.toml`; dossiers and usage counts use it.
    pub id: String,
    /// The procedure's code in the national database of administrative procedures (e.g. `1.001193`), where
    /// one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Bumped whenever a fact of the procedure changes; a dossier records the revision it was filed under.
    pub revision: u32,
    pub name: String,
    pub name_en: String,
    /// A [`Category`] key.
    pub category: String,
    /// Other words citizens use for it ("giấy khai sinh", "hộ khẩu").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// The competent body.
    pub body: String,
    pub body_en: String,
    pub legal_basis: Vec<String>,
    pub time: ProcessingTime,
    pub fee: Fee,
    pub slip: Slip,
    #[serde(default, rename(deserialize = "document", serialize = "documents"))]
    pub documents: Vec<DocumentSpec>,
    #[serde(default, rename(deserialize = "field", serialize = "fields"))]
    pub fields: Vec<FieldSpec>,
    #[serde(rename(deserialize = "source", serialize = "sources"))]
    pub sources: Vec<Source>,
    /// Folded words search matches against (computed when parsed).
    #[serde(skip)]
    words: Vec<String>,
    /// The folded name, for ordering.
    #[serde(skip)]
    sort_name: String,
}

impl Procedure {
    /// The national code, else the id: what a person quotes.
    pub fn reference(&self) -> &str {
        self.code.as_deref().unwrap_or(&self.id)
    }

    pub fn field(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.key == key)
    }

    pub fn document(&self, key: &str) -> Option<&DocumentSpec> {
        self.documents.iter().find(|d| d.key == key)
    }

    fn index(&mut self, category: &Category) {
        let mut text = vec![
            self.name.as_str(),
            self.name_en.as_str(),
            self.id.as_str(),
            category.key.as_str(),
            category.name.as_str(),
            category.name_en.as_str(),
        ];
        text.extend(self.code.as_deref());
        text.extend(self.keywords.iter().map(String::as_str));
        let mut all: Vec<String> = text.iter().flat_map(|t| words(t)).collect();
        all.sort();
        all.dedup();
        self.words = all;
        self.sort_name = words(&self.name).join(" ");
    }
}

/// A catalogue file that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct CatalogueError {
    pub file: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    version: String,
    #[serde(rename = "category")]
    categories: Vec<Category>,
}

/// The procedures an installation offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalogue {
    version: String,
    categories: Vec<Category>,
    procedures: Vec<Procedure>,
}

impl Catalogue {
    /// The catalogue embedded in the binary (parsed once).
    pub fn builtin() -> &'static Catalogue {
        static BUILTIN: OnceLock<Catalogue> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Catalogue::parse(BUILTIN_CATALOGUE, BUILTIN_PROCEDURES)
                .expect("the embedded catalogue is valid (tested)")
        })
    }

    /// Parses and checks a catalogue: its header (`catalogue.toml`) and its procedure files as
    /// (file name, text). See the module documentation for the rules.
    pub fn parse(header: &str, files: &[(&str, &str)]) -> Result<Catalogue, CatalogueError> {
        let fail = |file: &str, message: String| CatalogueError {
            file: file.to_string(),
            message,
        };
        let header: Header = toml::from_str(header).map_err(|e| fail("catalogue.toml", e.to_string()))?;
        if header.version.trim().is_empty() {
            return Err(fail("catalogue.toml", "no version".into()));
        }
        let mut keys = HashSet::new();
        for c in &header.categories {
            if !is_slug(&c.key, '-') || !keys.insert(c.key.as_str()) {
                return Err(fail(
                    "catalogue.toml",
                    format!("category key {:?} is not a unique slug", c.key),
                ));
            }
        }
        let mut procedures = Vec::with_capacity(files.len());
        let mut ids = HashSet::new();
        let mut codes = HashSet::new();
        for (file, text) in files {
            let mut p: Procedure = toml::from_str(text).map_err(|e| fail(file, e.to_string()))?;
            check_procedure(&p).map_err(|m| fail(file, m))?;
            if file.strip_suffix(".toml") != Some(p.id.as_str()) {
                return Err(fail(
                    file,
                    format!("the file of procedure {} is named {}.toml", p.id, p.id),
                ));
            }
            if !ids.insert(p.id.clone()) {
                return Err(fail(file, format!("id {} twice", p.id)));
            }
            if let Some(code) = &p.code {
                if !codes.insert(code.clone()) {
                    return Err(fail(file, format!("code {code} twice")));
                }
            }
            let category = header
                .categories
                .iter()
                .find(|c| c.key == p.category)
                .ok_or_else(|| fail(file, format!("no category {}", p.category)))?;
            p.index(category);
            procedures.push(p);
        }
        Ok(Catalogue {
            version: header.version,
            categories: header.categories,
            procedures,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    /// Every procedure, in file order.
    pub fn procedures(&self) -> &[Procedure] {
        &self.procedures
    }

    /// The procedure with this national code or id.
    pub fn get(&self, code: &str) -> Result<&Procedure> {
        let code = code.trim();
        self.procedures
            .iter()
            .find(|p| p.id == code || p.code.as_deref() == Some(code))
            .ok_or_else(|| {
                let shown: String = code.chars().take(40).collect();
                Error::new(
                    Code::Pro0001NoSuchProcedure,
                    format!("no procedure in the catalogue has the code or id {shown:?}"),
                )
            })
    }

    /// The category named by its key, its name or its English name (case and diacritics aside).
    pub fn category(&self, name: &str) -> Option<&Category> {
        let wanted = words(name);
        self.categories
            .iter()
            .find(|c| [&c.key, &c.name, &c.name_en].iter().any(|n| words(n) == wanted))
    }

    /// The procedures matching every word of `query` (see the module documentation), in `category` when one
    /// is given (an unknown category matches nothing), most used first (`usage`: count by procedure id),
    /// then by name.
    pub fn search(
        &self,
        query: &str,
        category: Option<&str>,
        usage: &HashMap<String, u64>,
    ) -> Vec<&Procedure> {
        let category = match category {
            Some(name) => match self.category(name) {
                Some(c) => Some(c.key.as_str()),
                None => return Vec::new(),
            },
            None => None,
        };
        let wanted = words(query);
        let mut hits: Vec<&Procedure> = self
            .procedures
            .iter()
            .filter(|p| category.is_none_or(|c| p.category == c))
            .filter(|p| {
                wanted
                    .iter()
                    .all(|w| p.words.iter().any(|pw| pw.starts_with(w.as_str())))
            })
            .collect();
        let used = |p: &Procedure| usage.get(&p.id).copied().unwrap_or(0);
        hits.sort_by(|a, b| {
            used(b)
                .cmp(&used(a))
                .then_with(|| a.sort_name.cmp(&b.sort_name))
                .then_with(|| a.id.cmp(&b.id))
        });
        hits
    }
}

/// Lower-case words of `text` without diacritics: "Đăng ký (khai sinh)" → ["dang", "ky", "khai", "sinh"].
fn words(text: &str) -> Vec<String> {
    strip_diacritics(text)
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn is_slug(s: &str, separator: char) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == separator)
        && !s.starts_with(separator)
        && !s.ends_with(separator)
}

/// `1.001193`: a digit, a dot, six digits.
fn is_national_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8 && b[0].is_ascii_digit() && b[1] == b'.' && b[2..].iter().all(u8::is_ascii_digit)
}

/// The rules one procedure must keep (the module documentation lists them).
fn check_procedure(p: &Procedure) -> std::result::Result<(), String> {
    if !is_slug(&p.id, '-') {
        return Err(format!("id {:?} is not a slug ([a-z0-9-])", p.id));
    }
    if let Some(code) = &p.code {
        if !is_national_code(code) {
            return Err(format!("code {code:?} is not a national code like 1.001193"));
        }
    }
    for (what, text) in [
        ("name", &p.name),
        ("name_en", &p.name_en),
        ("body", &p.body),
        ("body_en", &p.body_en),
        ("slip.result", &p.slip.result),
        ("slip.collect", &p.slip.collect),
    ] {
        if text.trim().is_empty() {
            return Err(format!("{what} is empty"));
        }
    }
    if p.legal_basis.is_empty() {
        return Err("no legal basis".into());
    }
    if let Some(cutoff) = &p.time.cutoff {
        if p.time.working_days != 0 || form::parse_hhmm(cutoff).is_none() {
            return Err(format!("cutoff {cutoff:?} is not HH:MM on a same-day procedure"));
        }
    }
    if p.time.max_working_days.is_some_and(|m| m < p.time.working_days) {
        return Err("max_working_days is below working_days".into());
    }
    match (p.fee.kind, p.fee.vnd) {
        (FeeKind::Fixed, None) => return Err("a fixed fee needs vnd".into()),
        (FeeKind::Free | FeeKind::PerPage | FeeKind::Province, Some(_)) => {
            return Err("only a fixed fee has an amount".into())
        }
        _ => {}
    }
    if p.fee.online_vnd.is_some() && p.fee.kind != FeeKind::Fixed {
        return Err("only a fixed fee has an online amount".into());
    }
    let mut keys = HashSet::new();
    for d in &p.documents {
        if !is_slug(&d.key, '-') || !keys.insert(d.key.as_str()) {
            return Err(format!("document key {:?} is not a unique slug", d.key));
        }
        if d.source != DocSource::Scan && d.doc_type.is_none() {
            return Err(format!(
                "document {} may come from the wallet but names no doc_type",
                d.key
            ));
        }
    }
    for d in p.documents.iter().filter(|d| d.group.is_some()) {
        if p.documents.iter().filter(|o| o.group == d.group).count() < 2 {
            return Err(format!("document {} is alone in its group", d.key));
        }
    }
    let mut keys = HashSet::new();
    for f in &p.fields {
        form::check_spec(f)?;
        if !keys.insert(f.key.as_str()) {
            return Err(format!("field {} twice", f.key));
        }
    }
    if p.sources.is_empty() {
        return Err("no source".into());
    }
    let mut needed = vec![Fact::Body, Fact::Time, Fact::Fee, Fact::Documents];
    if p.code.is_some() {
        needed.push(Fact::Code);
    }
    for fact in needed {
        if !p.sources.iter().any(|s| s.facts.contains(&fact)) {
            return Err(format!("no source for the {fact:?} fact"));
        }
    }
    if let Some(s) = p
        .sources
        .iter()
        .find(|s| s.cite.trim().is_empty() || s.facts.is_empty())
    {
        return Err(format!("a source without a citation or facts: {:?}", s.cite));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
