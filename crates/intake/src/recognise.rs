//! Recognition: what document a page is, and the fields on it, from its OCR result.
//!
//! Everything here is an explainable rule on folded text ([`crate::text::fold`]): titles and field labels found
//! approximately (a few OCR slips allowed), and the shape of a machine-readable zone. Classification adds up
//! the weights of the cues each type's rule finds; the evidence lists every cue that matched, the OCR text it
//! matched and where. Field extraction finds a type's labels at the start of a line and reads the words after
//! them (or the next line, where the layout puts the value there), so every field carries the OCR words and
//! boxes it came from and their confidence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::corpus::mrz::check_digit;
use crate::corpus::DocType;
use crate::geometry::BBox;
use crate::ocr::{OcrLine, OcrPage, OcrWord};
use crate::text::{self, fold, ocr_digits, parse_dmy};

/// A page's class: one of the corpus document types, or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocClass {
    CccdFront,
    CccdBack,
    BirthCertificate,
    MarriageCertificate,
    HighSchoolDiploma,
    UniversityDiploma,
    AcademicTranscript,
    LandUseRightCertificate,
    DrivingLicence,
    PassportDataPage,
    CivilStatusExtract,
    Unknown,
}

impl DocClass {
    pub fn from_doc_type(t: DocType) -> Self {
        match t {
            DocType::CccdFront => DocClass::CccdFront,
            DocType::CccdBack => DocClass::CccdBack,
            DocType::BirthCertificate => DocClass::BirthCertificate,
            DocType::MarriageCertificate => DocClass::MarriageCertificate,
            DocType::HighSchoolDiploma => DocClass::HighSchoolDiploma,
            DocType::UniversityDiploma => DocClass::UniversityDiploma,
            DocType::AcademicTranscript => DocClass::AcademicTranscript,
            DocType::LandUseRightCertificate => DocClass::LandUseRightCertificate,
            DocType::DrivingLicence => DocClass::DrivingLicence,
            DocType::PassportDataPage => DocClass::PassportDataPage,
            DocType::CivilStatusExtract => DocClass::CivilStatusExtract,
        }
    }

    pub fn doc_type(&self) -> Option<DocType> {
        DocType::ALL
            .into_iter()
            .find(|t| DocClass::from_doc_type(*t) == *self)
    }

    /// Stable snake_case name (as in JSON).
    pub fn name(&self) -> &'static str {
        self.doc_type().map_or("unknown", |t| t.name())
    }

    /// The holder's identity fields every original of this type shows (the identity checks must compare them
    /// with the verified identity, or say they could not), from the type list ([`types`]).
    pub fn identity_fields(&self) -> &'static [String] {
        types().entry(*self).map_or(&[], |e| e.identity_fields.as_slice())
    }

    /// Whether an original of this type carries a competent body's seal (`None` for unknown pages), from the
    /// type list ([`types`]).
    pub fn seal_required(&self) -> Option<bool> {
        types().entry(*self).map(|e| e.seal_required)
    }
}

/// Who draws up a paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Issuer {
    CompetentBody,
    /// A person: the paper needs a competent body's certification and seal to be certified (Art. 22(6)).
    Individual,
}

/// A phrase and its weight (`doc-types.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CueEntry {
    pub pattern: String,
    pub weight: f32,
}

/// A type whose fields the intake reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeEntry {
    pub class: DocClass,
    pub name: String,
    pub seal_required: bool,
    pub identity_fields: Vec<String>,
    pub cues: Vec<CueEntry>,
}

/// Another paper, recognised by its title alone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperEntry {
    pub id: String,
    pub name: String,
    pub issuer: Issuer,
    pub titles: Vec<String>,
    /// A page of this paper belongs to the document before it (a consular legalisation page).
    #[serde(default)]
    pub attaches: bool,
}

/// The type list: `doc-types.toml`, embedded at build time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeList {
    #[serde(rename = "type")]
    pub types: Vec<TypeEntry>,
    #[serde(rename = "paper", default)]
    pub papers: Vec<PaperEntry>,
}

/// The embedded type list.
pub const TYPE_LIST: &str = include_str!("../doc-types.toml");

impl TypeList {
    /// Parses and validates a type list: every class the intake reads fields for appears exactly once, no
    /// `unknown`; every pattern is folded text; weights are finite; paper ids are unique.
    pub fn parse(toml_text: &str) -> Result<TypeList, String> {
        let list: TypeList = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        for t in DocType::ALL {
            let n = list
                .types
                .iter()
                .filter(|e| e.class == DocClass::from_doc_type(t))
                .count();
            if n != 1 {
                return Err(format!("type {} is listed {n} times (once expected)", t.name()));
            }
        }
        if list.types.iter().any(|e| e.class == DocClass::Unknown) {
            return Err("`unknown` is not a type".into());
        }
        let patterns = list
            .types
            .iter()
            .flat_map(|e| e.cues.iter().map(|c| c.pattern.as_str()))
            .chain(
                list.papers
                    .iter()
                    .flat_map(|p| p.titles.iter().map(String::as_str)),
            );
        for p in patterns {
            if p.is_empty() || fold(p) != p {
                return Err(format!(
                    "pattern {p:?} is not folded text (lower case, no diacritics, single spaces)"
                ));
            }
        }
        if let Some(c) = list
            .types
            .iter()
            .flat_map(|e| &e.cues)
            .find(|c| !c.weight.is_finite())
        {
            return Err(format!("cue {:?} has no finite weight", c.pattern));
        }
        let mut ids: Vec<&str> = list.papers.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!("paper {} is listed twice", w[0]));
        }
        Ok(list)
    }

    pub fn entry(&self, class: DocClass) -> Option<&TypeEntry> {
        self.types.iter().find(|e| e.class == class)
    }
}

/// The type list the intake runs with.
pub fn types() -> &'static TypeList {
    static T: std::sync::OnceLock<TypeList> = std::sync::OnceLock::new();
    T.get_or_init(|| TypeList::parse(TYPE_LIST).expect("the embedded doc-types.toml is valid (tested)"))
}

/// One cue that matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// The type the cue speaks for.
    pub doc_class: DocClass,
    /// What was looked for (folded), e.g. `giay khai sinh`, or `TD3 machine-readable zone`.
    pub pattern: String,
    /// The OCR text it matched.
    pub matched: String,
    /// Edits between the pattern and the match.
    pub edits: usize,
    /// Weight the cue adds to its type's score (already reduced for edits).
    pub weight: f32,
    #[serde(rename = "box")]
    pub bbox: Option<BBox>,
}

/// The class of a page with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub doc_class: DocClass,
    /// 0–1: how strong the winning score is and how far ahead of the runner-up.
    pub confidence: f32,
    /// Every type's score (sum of its cue weights), highest first.
    pub scores: Vec<(DocClass, f32)>,
    /// The cues of the winning type.
    pub evidence: Vec<Cue>,
    /// Another paper recognised by its title in capitals (`doc-types.toml` `[[paper]]`); the class is then
    /// `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<PaperMatch>,
    /// The page carries a title (a type's title in capitals, another paper's title, or a machine-readable
    /// zone): it opens a document. A page without one continues the document before it.
    #[serde(default)]
    pub titled: bool,
}

/// Another paper recognised by its title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperMatch {
    pub id: String,
    pub name: String,
    pub issuer: Issuer,
    pub attaches: bool,
    /// The title as read, with where it stands.
    pub cue: Cue,
}

/// A score below which a page is `unknown`: one title cue (weight 3) found with at most one slip.
pub const MIN_CLASS_SCORE: f32 = 2.5;

/// Where an extracted value came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldSource {
    /// The words after a printed label (`label` as found by OCR).
    Label { label: String },
    /// The line after a label whose value the layout puts below it.
    NextLine { label: String },
    /// A whole line recognised by its content (e.g. the issuing body's name on a card).
    Line { pattern: String },
    /// The machine-readable zone.
    Mrz,
    /// Implied by the layout (e.g. the husband's section of a marriage certificate gives sex "Nam").
    Implied { reason: String },
}

/// One OCR word a field was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldWord {
    pub text: String,
    pub confidence: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

/// One extracted field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The value, normalised (dates `dd/mm/yyyy`, ID numbers as digits).
    pub value: String,
    /// The OCR text before normalisation.
    pub raw: String,
    /// 0–1: the lowest word confidence, lowered when normalisation had to fix OCR characters.
    pub confidence: f32,
    pub source: FieldSource,
    pub words: Vec<FieldWord>,
    /// The box of the value's words.
    #[serde(rename = "box")]
    pub bbox: Option<BBox>,
}

/// Field names, as in the corpus ground truth.
pub const FIELD_NAMES: [&str; 7] = [
    "holder_name",
    "birth_date",
    "sex",
    "id_number",
    "document_number",
    "issue_date",
    "issuing_body",
];

/// A label the type's layout prints, found with no value after it (evidence of an erased value).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmptyLabel {
    pub field: String,
    pub label: String,
    /// The label's words.
    pub label_box: BBox,
    /// Where the value should be: right of the label, the label's height.
    pub value_region: BBox,
}

/// One check digit of a machine-readable zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrzDigit {
    pub field: String,
    pub data: String,
    pub expected: char,
    pub found: char,
    pub ok: bool,
}

/// A machine-readable zone read from OCR text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MrzReading {
    /// `td1` (3 × 30, ID cards) or `td3` (2 × 44, passports).
    pub format: String,
    /// The lines as OCR read them.
    pub raw_lines: Vec<String>,
    /// The lines after position-aware repair (letters where the format wants digits and back) and any
    /// check-digit-guided correction.
    pub lines: Vec<String>,
    /// Characters changed by the check-digit-guided correction (one confusable character per field at most).
    pub corrections: Vec<String>,
    pub digits: Vec<MrzDigit>,
    pub document_number: String,
    pub birth_yymmdd: String,
    pub sex: char,
    pub expiry_yymmdd: String,
    pub optional: String,
    pub surname: String,
    pub given_names: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

impl MrzReading {
    /// All check digits hold.
    pub fn valid(&self) -> bool {
        self.digits.iter().all(|d| d.ok)
    }
}

/// Everything recognised on one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recognition {
    pub classification: Classification,
    /// Extracted fields by name ([`FIELD_NAMES`]).
    pub fields: BTreeMap<String, Field>,
    pub mrz: Option<MrzReading>,
    /// Labels found with nothing after them.
    pub empty_labels: Vec<EmptyLabel>,
}

impl Recognition {
    /// Field values by name (the shape of the corpus ground truth).
    pub fn values(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(k, f)| (k.clone(), f.value.clone()))
            .collect()
    }
}

/// A line of the page, folded, with a map from folded characters back to its words.
#[derive(Debug, Clone)]
pub(crate) struct PageLine<'a> {
    pub words: Vec<&'a OcrWord>,
    pub folded: Vec<char>,
    /// For each folded character, the index (in `words`) of the word it came from.
    pub owner: Vec<usize>,
    pub bbox: BBox,
}

pub(crate) fn page_lines(ocr: &OcrPage) -> Vec<PageLine<'_>> {
    ocr.lines.iter().map(|l| page_line(ocr, l)).collect()
}

fn page_line<'a>(ocr: &'a OcrPage, l: &OcrLine) -> PageLine<'a> {
    let words: Vec<&OcrWord> = ocr.words[l.first_word..(l.first_word + l.word_count).min(ocr.words.len())]
        .iter()
        .collect();
    let mut folded = Vec::new();
    let mut owner = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let f = fold(&w.text);
        if f.is_empty() {
            continue;
        }
        if !folded.is_empty() {
            folded.push(' ');
            owner.push(i);
        }
        for c in f.chars() {
            folded.push(c);
            owner.push(i);
        }
    }
    PageLine {
        words,
        folded,
        owner,
        bbox: l.bbox,
    }
}

impl<'a> PageLine<'a> {
    /// Whether a match stands as a title does: in capitals, at the head of its line (nothing of two letters or
    /// more before it: "NGƯỜI KÝ GIẤY KHAI SINH" above a signature names the paper, it is not its title).
    fn titles(&self, h: &text::Hit) -> bool {
        let first = self.owner[h.start];
        let before_words = self.words[..first]
            .iter()
            .any(|w| w.text.chars().filter(|c| c.is_alphabetic()).count() >= 2);
        !before_words && in_capitals(self.matched_words(h))
    }

    /// The words a match covers.
    fn matched_words(&self, h: &text::Hit) -> &[&'a OcrWord] {
        &self.words[self.owner[h.start]..=self.owner[h.end - 1]]
    }

    /// The cue `pattern` found at `h` on this line, for `doc_class`, of `weight` (lowered by the edits).
    fn cue(&self, doc_class: DocClass, pattern: &str, h: &text::Hit, weight: f32) -> Cue {
        let (a, b) = (self.owner[h.start], self.owner[h.end - 1]);
        let len = pattern.chars().count().max(1);
        Cue {
            doc_class,
            pattern: pattern.to_string(),
            matched: words_text(self.matched_words(h)),
            edits: h.edits,
            weight: weight * (1.0 - h.edits as f32 / len as f32),
            bbox: self.words_box(a, b + 1),
        }
    }

    fn words_box(&self, from: usize, to: usize) -> Option<BBox> {
        self.words[from.min(self.words.len())..to.min(self.words.len())]
            .iter()
            .map(|w| w.bbox)
            .reduce(|a, b| a.union(&b))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Classification

/// Weight of a machine-readable zone of the right shape (TD1 for the card back, TD3 for the passport).
const MRZ_WEIGHT: f32 = 3.0;

/// A title cue's weight: it counts in full only where the words stand as a title does, in capitals. The same
/// words in running text or a label ("Số Căn cước công dân: …") *mention* the type: the document is about
/// something else, and the mention counts against the type.
const TITLE_WEIGHT: f32 = 3.0;
const MENTION_WEIGHT: f32 = -1.0;

/// Whether at least 80 % of the letters of `words` are capitals.
fn in_capitals(words: &[&OcrWord]) -> bool {
    let (mut upper, mut letters) = (0usize, 0usize);
    for c in words
        .iter()
        .flat_map(|w| w.text.chars())
        .filter(|c| c.is_alphabetic())
    {
        letters += 1;
        upper += usize::from(c.is_uppercase());
    }
    letters > 0 && upper * 5 >= letters * 4
}

fn classify(lines: &[PageLine<'_>], mrz: Option<&MrzReading>, list: &TypeList) -> Classification {
    let mut cues: Vec<Cue> = Vec::new();
    let mut titled = false;
    for entry in &list.types {
        for cue in &entry.cues {
            let (class, pattern, weight) = (entry.class, cue.pattern.as_str(), cue.weight);
            let p: Vec<char> = pattern.chars().collect();
            let tol = text::tolerance(p.len());
            let found: Vec<_> = lines
                .iter()
                .filter_map(|l| text::find_approx(&l.folded, &p, tol).map(|h| (l, h)))
                .collect();
            let capitals = |(l, h): &(&PageLine<'_>, text::Hit)| l.titles(h);
            // A title cue is the title where it stands as one, in capitals at the head of its line (a diploma
            // also says "cấp bằng tốt nghiệp …" in its text); a page where it never does merely mentions the
            // type.
            let title = weight >= TITLE_WEIGHT && found.iter().any(capitals);
            titled |= title;
            let best = found
                .iter()
                .filter(|f| weight < TITLE_WEIGHT || !title || capitals(f))
                .min_by_key(|(_, h)| h.edits);
            if let Some((l, h)) = best {
                let weight = if weight >= TITLE_WEIGHT && !title {
                    MENTION_WEIGHT
                } else {
                    weight
                };
                cues.push(l.cue(class, pattern, h, weight));
            }
        }
    }
    // A title of another kind of paper, in capitals.
    let paper = list.papers.iter().find_map(|entry| {
        entry.titles.iter().find_map(|pattern| {
            let p: Vec<char> = pattern.chars().collect();
            let tol = text::tolerance(p.len());
            lines.iter().find_map(|l| {
                let h = text::find_approx(&l.folded, &p, tol)?;
                l.titles(&h).then(|| PaperMatch {
                    id: entry.id.clone(),
                    name: entry.name.clone(),
                    issuer: entry.issuer,
                    attaches: entry.attaches,
                    cue: l.cue(DocClass::Unknown, pattern, &h, 0.0),
                })
            })
        })
    });
    if let Some(m) = mrz {
        let class = if m.format == "td1" {
            DocClass::CccdBack
        } else {
            DocClass::PassportDataPage
        };
        titled = true;
        cues.push(Cue {
            doc_class: class,
            pattern: format!("{} machine-readable zone", m.format.to_uppercase()),
            matched: m.raw_lines.join(" / "),
            edits: 0,
            weight: MRZ_WEIGHT,
            bbox: Some(m.bbox),
        });
    }
    let mut scores: BTreeMap<DocClass, f32> = BTreeMap::new();
    for c in &cues {
        *scores.entry(c.doc_class).or_default() += c.weight;
    }
    let titled = titled || paper.is_some();
    rank(scores, cues, paper, titled)
}

/// The class from every type's score: the best at [`MIN_CLASS_SCORE`] or more, unless another paper's title
/// was found (then `unknown`, with that title as the evidence).
fn rank(
    scores: BTreeMap<DocClass, f32>,
    cues: Vec<Cue>,
    paper: Option<PaperMatch>,
    titled: bool,
) -> Classification {
    let mut ranked: Vec<(DocClass, f32)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, best_score) = ranked.first().copied().unwrap_or((DocClass::Unknown, 0.0));
    let second = ranked.get(1).map_or(0.0, |r| r.1).max(0.0);
    let class = if best_score >= MIN_CLASS_SCORE && paper.is_none() {
        best
    } else {
        DocClass::Unknown
    };
    let confidence = if class == DocClass::Unknown {
        0.0
    } else {
        ((best_score - second) / best_score) * (best_score / 5.0).min(1.0)
    };
    let mut evidence: Vec<Cue> = cues.into_iter().filter(|c| c.doc_class == class).collect();
    if let Some(p) = &paper {
        evidence.push(p.cue.clone());
    }
    Classification {
        doc_class: class,
        confidence,
        scores: ranked,
        evidence,
        paper,
        titled,
    }
}

/// A document's class from its pages' (the page that opens it first): every type's scores added over the
/// pages, so a continuation page's cues count for the document and its mentions against; another paper's
/// title on the opening page makes the document that paper.
pub fn classify_document(pages: &[&Classification]) -> Classification {
    let mut scores: BTreeMap<DocClass, f32> = BTreeMap::new();
    for (class, score) in pages.iter().flat_map(|c| c.scores.iter()) {
        *scores.entry(*class).or_default() += *score;
    }
    // The opening page's paper title is in its evidence; `rank` adds it again.
    let cues: Vec<Cue> = pages
        .iter()
        .flat_map(|c| {
            c.evidence
                .iter()
                .filter(|e| e.doc_class != DocClass::Unknown)
                .cloned()
        })
        .collect();
    let paper = pages.first().and_then(|c| c.paper.clone());
    let titled = pages.first().is_some_and(|c| c.titled);
    rank(scores, cues, paper, titled)
}

// ---------------------------------------------------------------------------------------------------------
// Field extraction

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Date,
    /// A date, or the text as printed when it is not `dd/mm/yyyy` (foreign long dates).
    DateOrText,
    Year,
    Digits,
    Sex,
    /// A document number: must start with a letter or digit; kept as printed.
    Number,
    /// A number that must start with a digit (after a bare "Số:").
    NumberDigitFirst,
    Text,
}

/// Where the value is relative to its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    SameLine,
    /// Same line, else the next line (the card front's name).
    SameOrNextLine,
}

struct LabelRule {
    field: &'static str,
    labels: &'static [&'static str],
    kind: Kind,
    place: Place,
}

const fn rule(field: &'static str, labels: &'static [&'static str], kind: Kind) -> LabelRule {
    LabelRule {
        field,
        labels,
        kind,
        place: Place::SameLine,
    }
}

const BIRTH_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho chu dem ten"], Kind::Name),
    rule("birth_date", &["ngay thang nam sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["noi dang ky"], Kind::Text),
    rule("issue_date", &["ngay thang nam dang ky"], Kind::Date),
];

const FOREIGN_BIRTH_RULES: &[LabelRule] = &[
    rule("document_number", &["registration number"], Kind::Number),
    rule("holder_name", &["full name"], Kind::Name),
    rule("birth_date", &["date of birth"], Kind::DateOrText),
    rule("sex", &["sex"], Kind::Sex),
    rule("issue_date", &["date of registration"], Kind::DateOrText),
    rule("issuing_body", &["issued by"], Kind::Text),
];

const MARRIAGE_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho chu dem ten"], Kind::Name),
    rule("birth_date", &["ngay thang nam sinh"], Kind::Date),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["noi dang ky"], Kind::Text),
    rule("issue_date", &["ngay thang nam dang ky"], Kind::Date),
];

const CIVIL_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho chu dem ten"], Kind::Name),
    rule("birth_date", &["ngay thang nam sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["co quan cap trich luc"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

const HIGH_SCHOOL_RULES: &[LabelRule] = &[
    rule("holder_name", &["ho va ten"], Kind::Name),
    rule("birth_date", &["ngay sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("document_number", &["so hieu"], Kind::Number),
    rule("issuing_body", &["co quan cap"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

const UNIVERSITY_RULES: &[LabelRule] = &[
    rule("holder_name", &["cho"], Kind::Name),
    rule("birth_date", &["ngay sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("document_number", &["so hieu"], Kind::Number),
    rule("issuing_body", &["co quan cap"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

const TRANSCRIPT_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho va ten"], Kind::Name),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("birth_date", &["ngay sinh"], Kind::Date),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["truong"], Kind::Text),
    rule("issue_date", &["ngay xac nhan"], Kind::Date),
];

const LAND_RULES: &[LabelRule] = &[
    rule("holder_name", &["ong", "ba"], Kind::Name),
    rule("birth_date", &["nam sinh"], Kind::Year),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("document_number", &["so phat hanh"], Kind::Number),
    rule("issuing_body", &["co quan cap"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

const LICENCE_RULES: &[LabelRule] = &[
    rule("document_number", &["so no"], Kind::Digits),
    rule("holder_name", &["ho ten full name"], Kind::Name),
    rule("birth_date", &["ngay sinh date of birth"], Kind::Date),
    rule("issue_date", &["ngay cap date of issue"], Kind::Date),
];

const PASSPORT_RULES: &[LabelRule] = &[
    rule(
        "document_number",
        &["loai type p ma so code vnm so ho chieu passport no"],
        Kind::Number,
    ),
    rule("holder_name", &["ho va ten full name"], Kind::Name),
    rule("birth_date", &["ngay sinh date of birth"], Kind::Date),
    rule("sex", &["gioi tinh sex"], Kind::Sex),
    rule("id_number", &["so gcmnd id card no"], Kind::Digits),
    rule("issue_date", &["ngay cap date of issue"], Kind::Date),
    rule("issuing_body", &["noi cap place of issue"], Kind::Text),
];

const CCCD_FRONT_RULES: &[LabelRule] = &[
    rule("id_number", &["so no"], Kind::Digits),
    LabelRule {
        field: "holder_name",
        labels: &["ho va ten full name"],
        kind: Kind::Name,
        place: Place::SameOrNextLine,
    },
    rule("birth_date", &["ngay sinh date of birth"], Kind::Date),
    rule("sex", &["gioi tinh sex"], Kind::Sex),
];

const CCCD_BACK_RULES: &[LabelRule] = &[rule(
    "issue_date",
    &["ngay thang nam date month year"],
    Kind::Date,
)];

/// The holder's fields on a paper of a type banso does not read (the name also under [`NAME_LABELS`]).
const COMMON_RULES: &[LabelRule] = &[
    rule(
        "holder_name",
        &["toi ten la", "ho va ten", "ho chu dem ten"],
        Kind::Name,
    ),
    rule(
        "birth_date",
        &["ngay thang nam sinh", "ngay sinh", "sinh ngay"],
        Kind::Date,
    ),
    rule(
        "id_number",
        &["so dinh danh ca nhan", "so can cuoc cong dan", "so cccd"],
        Kind::Digits,
    ),
];

/// Whole lines that are a field by their content.
const LINE_RULES: &[(DocClass, &str, &str)] = &[
    (
        DocClass::CccdBack,
        "issuing_body",
        "cuc canh sat quan ly hanh chinh",
    ),
    (DocClass::DrivingLicence, "issuing_body", "so giao thong van tai"),
];

fn rules_for(class: DocClass, english: bool) -> &'static [LabelRule] {
    match class {
        DocClass::BirthCertificate if english => FOREIGN_BIRTH_RULES,
        DocClass::BirthCertificate => BIRTH_RULES,
        DocClass::MarriageCertificate => MARRIAGE_RULES,
        DocClass::CivilStatusExtract => CIVIL_RULES,
        DocClass::HighSchoolDiploma => HIGH_SCHOOL_RULES,
        DocClass::UniversityDiploma => UNIVERSITY_RULES,
        DocClass::AcademicTranscript => TRANSCRIPT_RULES,
        DocClass::LandUseRightCertificate => LAND_RULES,
        DocClass::DrivingLicence => LICENCE_RULES,
        DocClass::PassportDataPage => PASSPORT_RULES,
        DocClass::CccdFront => CCCD_FRONT_RULES,
        DocClass::CccdBack => CCCD_BACK_RULES,
        DocClass::Unknown => &[],
    }
}

/// A label at the start of a line: the index of the first word after it.
fn label_at_start(line: &PageLine<'_>, label: &str) -> Option<(usize, usize)> {
    let p: Vec<char> = label.chars().collect();
    // Look only at the line's start: the label's length plus a little slack.
    let window = (p.len() + 4).min(line.folded.len());
    let h = text::find_approx(&line.folded[..window], &p, text::tolerance(p.len()))?;
    // The label starts the line (allowing one stray mark before it) and starts at a word.
    if h.start > 2 || (h.start > 0 && line.folded[h.start - 1] != ' ') {
        return None;
    }
    // The label must end at a word boundary.
    if h.end < line.folded.len() && line.folded[h.end] != ' ' {
        // A short label like "so" must not be the start of a longer word ("số" vs "sông").
        let last = line.owner[h.end - 1];
        let next = line.owner[h.end];
        if last == next {
            return None;
        }
    }
    let last_label_word = line.owner[h.end - 1];
    Some((h.edits, last_label_word + 1))
}

fn normalise(kind: Kind, raw: &str) -> Option<(String, bool)> {
    // Words with no letter or digit at either end are OCR debris (a seal's edge, a dash).
    let words: Vec<&str> = raw.split_whitespace().collect();
    let first = words.iter().position(|w| w.chars().any(char::is_alphanumeric))?;
    let last = words.iter().rposition(|w| w.chars().any(char::is_alphanumeric))?;
    // U+00D0 (Eth) is how OCR often returns the Vietnamese Đ (U+0110).
    let joined = words[first..=last].join(" ").replace('\u{D0}', "\u{110}");
    let trimmed =
        joined.trim_matches(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '.' | ';' | '_' | '|'));
    if trimmed.is_empty() {
        return None;
    }
    match kind {
        Kind::Name => {
            let f = fold(trimmed);
            if f.starts_with("nguoi") || f.chars().any(|c| c.is_ascii_digit()) || f.len() < 3 {
                return None;
            }
            Some((trimmed.to_string(), false))
        }
        Kind::Date => {
            let token = trimmed.split_whitespace().next().unwrap_or(trimmed);
            let v = parse_dmy(token).or_else(|| parse_dmy(trimmed))?;
            let fixed = !token.chars().all(|c| c.is_ascii_digit() || c == '/');
            Some((v, fixed))
        }
        Kind::DateOrText => match parse_dmy(trimmed) {
            Some(v) => Some((v, false)),
            None => Some((trimmed.to_string(), false)),
        },
        Kind::Year => {
            let token = trimmed.split_whitespace().next().unwrap_or(trimmed);
            let d = ocr_digits(token)?;
            (d.len() == 4).then(|| (d.clone(), d != token))
        }
        Kind::Digits => {
            let joined: String = trimmed.split_whitespace().collect();
            let d = ocr_digits(&joined)?;
            (d.len() >= 6).then(|| (d.clone(), d != joined))
        }
        Kind::Sex => {
            let f = fold(trimmed);
            let first = f.split(' ').next().unwrap_or("");
            let v = match first {
                "nam" => "Nam",
                "nu" => "Nữ",
                "male" => "Male",
                "female" => "Female",
                _ => return None,
            };
            Some((v.to_string(), false))
        }
        Kind::Number => Some((trimmed.to_string(), false)),
        Kind::NumberDigitFirst => {
            let first = trimmed.chars().next()?;
            first.is_ascii_digit().then(|| (trimmed.to_string(), false))
        }
        Kind::Text => (fold(trimmed).len() >= 3).then(|| (trimmed.to_string(), false)),
    }
}

fn field_from_words(words: &[&OcrWord], kind: Kind, source: FieldSource) -> Option<Field> {
    let raw = words_text(words);
    let (value, fixed) = normalise(kind, &raw)?;
    let min_conf = words.iter().map(|w| w.confidence).fold(100.0f32, f32::min) / 100.0;
    Some(Field {
        value,
        raw,
        confidence: if fixed { min_conf * 0.8 } else { min_conf },
        source,
        words: words
            .iter()
            .map(|w| FieldWord {
                text: w.text.clone(),
                confidence: w.confidence,
                bbox: w.bbox,
            })
            .collect(),
        bbox: words.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)),
    })
}

fn words_text(words: &[&OcrWord]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Labels that name a person on most papers, tried for the holder's name where the type's own label is not
/// found (a layout the type list does not know). One counts only where it ends its label — a colon follows
/// it, or an English gloss ending in one ("/ Full name:", "(Full name):") — so "Họ và tên cha:" is somebody
/// else's. The first from the top is the holder's, as on every type banso knows.
const NAME_LABELS: &[&str] = &[
    "toi ten la",
    "ho chu dem va ten",
    "ho chu dem ten",
    "ho va ten",
    "ho ten",
    "ong ba",
    "ong",
    "ba",
    "full name",
];
const NAME_GLOSSES: &[&str] = &["full name", "name", "ho va ten", "ho ten"];
/// Titles printed before a name ("Họ và tên: Ông NGUYỄN VĂN A"), not part of it.
const NAME_TITLES: &[&str] = &["ong", "ba", "ong ba", "anh", "chi", "mr", "mrs", "ms", "miss"];

fn ends_label(w: &OcrWord) -> bool {
    w.text.ends_with([':', ';'])
}

/// The first word after a common name label that starts `line`, with its gloss.
fn name_label_end(line: &PageLine<'_>) -> Option<usize> {
    for label in NAME_LABELS {
        let Some((_, after)) = label_at_start(line, label) else {
            continue;
        };
        if ends_label(line.words[after - 1]) {
            return Some(after);
        }
        if let Some(end) = gloss_end(&line.words[after..]) {
            return Some(after + end);
        }
    }
    None
}

/// Where an English gloss that opens `words` ("/ Full name:", "(Full name):") ends, after its colon.
fn gloss_end(words: &[&OcrWord]) -> Option<usize> {
    let j = (0..words.len().min(3)).find(|&j| ends_label(words[j]))?;
    NAME_GLOSSES
        .contains(&fold(&words_text(&words[..=j])).as_str())
        .then_some(j + 1)
}

/// The holder's name under a common label, on its line or the line below.
fn name_by_common_label(lines: &[PageLine<'_>]) -> Option<Field> {
    lines
        .iter()
        .enumerate()
        .find_map(|(li, line)| field_after(lines, li, name_label_end(line)?, Kind::Name, true))
}

/// The field whose label ends before word `after` of line `li`: the rest of that line, or — when nothing is
/// left there and `next_line` allows — the line below. `None` when neither reads as a value of `kind`.
fn field_after(
    lines: &[PageLine<'_>],
    li: usize,
    after: usize,
    kind: Kind,
    next_line: bool,
) -> Option<Field> {
    let line = &lines[li];
    let label = words_text(&line.words[..after]);
    let same = value_words(kind, &line.words[after..]);
    if !same.is_empty() {
        return field_from_words(same, kind, FieldSource::Label { label });
    }
    let next = lines.get(li + 1).filter(|_| next_line)?;
    field_from_words(
        value_words(kind, &next.words),
        kind,
        FieldSource::NextLine { label },
    )
}

/// The words of a value after its label. A name sets aside a title before it and stops where the line goes on
/// to something else: after a comma ("…, sinh năm 1970"), before a second label ("… Giới tính: Nam") or across
/// a column gap.
fn value_words<'w>(kind: Kind, words: &'w [&'w OcrWord]) -> &'w [&'w OcrWord] {
    if kind != Kind::Name {
        return words;
    }
    let mut from = gloss_end(words).unwrap_or(0);
    while words.len() - from > 2 && NAME_TITLES.contains(&fold(&words[from].text).as_str()) {
        from += 1;
    }
    let mut to = words.len();
    for k in from..words.len() {
        if k > from {
            let (a, b) = (words[k - 1].bbox, words[k].bbox);
            if b.x > a.right() + 2 * a.h.max(b.h) {
                to = k;
                break;
            }
        }
        // A colon that ends the line is OCR's speck, not a second label.
        if ends_label(words[k]) && k + 1 < words.len() {
            // The label opens at the capitalised word before its lower-case ones ("Giới tính:").
            let mut start = k;
            while start > from && words[start].text.chars().next().is_some_and(char::is_lowercase) {
                start -= 1;
            }
            to = start;
            break;
        }
        if words[k].text.ends_with(',') {
            to = k + 1;
            break;
        }
    }
    &words[from..to]
}

fn extract(
    class: DocClass,
    english: bool,
    lines: &[PageLine<'_>],
    mrz: Option<&MrzReading>,
    page_w: u32,
) -> (BTreeMap<String, Field>, Vec<EmptyLabel>) {
    let mut fields = BTreeMap::new();
    let mut empty = Vec::new();
    // A paper of a type banso does not read still names its holder under common labels: read them, so the
    // officer sees them compared with the verified identity. Its layout is not known, so a label found
    // empty there says nothing of an erased value.
    let (rules, known_layout) = match class {
        DocClass::Unknown => (COMMON_RULES, false),
        _ => (rules_for(class, english), true),
    };
    for r in rules {
        let mut found = None;
        let mut empty_here = None;
        'lines: for (li, line) in lines.iter().enumerate() {
            for label in r.labels {
                let Some((_, after)) = label_at_start(line, label) else {
                    continue;
                };
                if let Some(f) = field_after(lines, li, after, r.kind, r.place == Place::SameOrNextLine) {
                    found = Some(f);
                    break 'lines;
                }
                // A value that does not fit (e.g. "Số định danh…" under the bare "Số" rule): not this line.
                if !value_words(r.kind, &line.words[after..]).is_empty() {
                    continue;
                }
                if empty_here.is_none() {
                    let lb = line.words_box(0, after).unwrap_or(line.bbox);
                    let x = lb.right() + lb.h / 2;
                    let w = (page_w.saturating_sub(x)).min(lb.h * 14);
                    empty_here = Some(EmptyLabel {
                        field: r.field.to_string(),
                        label: words_text(&line.words[..after]),
                        label_box: lb,
                        value_region: BBox::new(x, lb.y.saturating_sub(lb.h / 4), w, lb.h + lb.h / 2),
                    });
                }
            }
        }
        if found.is_none() && r.kind == Kind::Name {
            found = name_by_common_label(lines);
        }
        match found {
            Some(f) => {
                fields.insert(r.field.to_string(), f);
            }
            None if known_layout => empty.extend(empty_here),
            None => {}
        }
    }
    for (c, field, pattern) in LINE_RULES {
        if *c != class || fields.contains_key(*field) {
            continue;
        }
        let p: Vec<char> = pattern.chars().collect();
        for line in lines {
            if let Some(h) = text::find_approx(&line.folded, &p, text::tolerance(p.len())) {
                // From the word where the pattern starts: OCR debris before it (a seal's edge) is not the value.
                if let Some(f) = field_from_words(
                    &line.words[line.owner[h.start]..],
                    Kind::Text,
                    FieldSource::Line {
                        pattern: pattern.to_string(),
                    },
                ) {
                    fields.insert(field.to_string(), f);
                    break;
                }
            }
        }
    }
    if class == DocClass::MarriageCertificate && fields.contains_key("holder_name") {
        fields.insert(
            "sex".into(),
            Field {
                value: "Nam".into(),
                raw: String::new(),
                confidence: 1.0,
                source: FieldSource::Implied {
                    reason: "the first person of a marriage certificate is the husband (\"Thông tin người chồng\")"
                        .into(),
                },
                words: Vec::new(),
                bbox: None,
            },
        );
    }
    if class == DocClass::CccdBack {
        if let Some(m) = mrz {
            mrz_fields(m, &mut fields);
        }
    }
    (fields, empty)
}

/// Holder fields of a card back from its MRZ: name (without diacritics, as the MRZ writes it), birth date
/// (century from the ID number's century digit when there is one), sex, ID number (optional data).
fn mrz_fields(m: &MrzReading, fields: &mut BTreeMap<String, Field>) {
    let conf = if m.valid() { 0.9 } else { 0.5 };
    let mut put = |name: &str, value: String| {
        if value.is_empty() {
            return;
        }
        fields.insert(
            name.to_string(),
            Field {
                value,
                raw: m.raw_lines.join("\n"),
                confidence: conf,
                source: FieldSource::Mrz,
                words: Vec::new(),
                bbox: Some(m.bbox),
            },
        );
    };
    let id: String = m.optional.chars().filter(|c| c.is_ascii_digit()).collect();
    if id.len() == 12 {
        put("id_number", id.clone());
    }
    let name = format!("{} {}", m.surname, m.given_names).trim().to_string();
    put("holder_name", name);
    put(
        "sex",
        match m.sex {
            'M' => "Nam".into(),
            'F' => "Nữ".into(),
            _ => String::new(),
        },
    );
    if let Some(d) = mrz_date(&m.birth_yymmdd, id.chars().nth(3)) {
        put("birth_date", d);
    }
}

/// `YYMMDD` to `dd/mm/yyyy`; the century from a CCCD century/sex digit, else the closest past century.
pub fn mrz_date(yymmdd: &str, century_digit: Option<char>) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let yy: u32 = yymmdd[0..2].parse().ok()?;
    let mm: u32 = yymmdd[2..4].parse().ok()?;
    let dd: u32 = yymmdd[4..6].parse().ok()?;
    let century = match century_digit.and_then(|c| c.to_digit(10)) {
        Some(d) => 1900 + 100 * (d / 2),
        None if yy <= 30 => 2000,
        None => 1900,
    };
    parse_dmy(&format!("{dd}/{mm}/{}", century + yy))
}

// ---------------------------------------------------------------------------------------------------------
// Machine-readable zone

fn mrz_char(c: char) -> Option<char> {
    match c {
        'A'..='Z' | '0'..='9' | '<' => Some(c),
        'a'..='z' => Some(c.to_ascii_uppercase()),
        '«' | '‹' | '＜' | '(' | '[' | '{' => Some('<'),
        _ => None,
    }
}

/// An OCR line as MRZ characters, when it looks like one: ≥ 85 % of its characters in the MRZ set and a `<`.
fn mrz_candidate(line: &str) -> Option<String> {
    let chars: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 8 {
        return None;
    }
    let mapped: Vec<Option<char>> = chars
        .iter()
        .map(|c| {
            mrz_char(text::fold(&c.to_string()).chars().next().map_or(*c, |f| {
                if c.is_uppercase() {
                    f.to_ascii_uppercase()
                } else {
                    f
                }
            }))
        })
        .collect();
    let good = mapped.iter().filter(|c| c.is_some()).count();
    if (good as f32) < 0.85 * chars.len() as f32 || !mapped.contains(&Some('<')) {
        return None;
    }
    Some(mapped.into_iter().map(|c| c.unwrap_or('<')).collect())
}

fn fit_len(s: &str, n: usize) -> String {
    let mut v: Vec<char> = s.chars().collect();
    while v.len() > n && v.last() == Some(&'<') {
        v.pop();
    }
    v.truncate(n);
    while v.len() < n {
        v.push('<');
    }
    v.into_iter().collect()
}

fn to_digit_class(c: char) -> char {
    match c {
        'O' | 'Q' | 'D' | 'U' => '0',
        'I' | 'L' | 'T' | 'J' => '1',
        'Z' => '2',
        'S' => '5',
        'B' => '8',
        'G' => '6',
        _ => c,
    }
}

fn to_alpha_class(c: char) -> char {
    match c {
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '5' => 'S',
        '8' => 'B',
        '6' => 'G',
        _ => c,
    }
}

/// Digits OCR confuses with each other in this face, for check-digit-guided correction.
fn confusable(c: char) -> &'static [char] {
    match c {
        '0' => &['6', '8', '9', '2'],
        '1' => &['7', '4'],
        '2' => &['7', '0'],
        '3' => &['8', '5', '9'],
        '4' => &['1', '9'],
        '5' => &['6', '3', '8'],
        '6' => &['0', '5', '8'],
        '7' => &['1', '2'],
        '8' => &['0', '3', '6', '9'],
        '9' => &['0', '8', '4', '3'],
        _ => &[],
    }
}

/// Applies a class (digit or letter) to positions of `s`.
fn repair(
    s: &str,
    digit_positions: &[std::ops::Range<usize>],
    alpha_positions: &[std::ops::Range<usize>],
) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if digit_positions.iter().any(|r| r.contains(&i)) {
                to_digit_class(c)
            } else if alpha_positions.iter().any(|r| r.contains(&i)) {
                to_alpha_class(c)
            } else {
                c
            }
        })
        .collect()
}

/// Makes `line[data]` agree with the check digit at `at` by changing one confusable character of the data
/// (never the check digit itself), but only when exactly one such change works: a mod-10 check digit is
/// satisfied by about one random change in ten, so an ambiguous correction is not made. Returns a note.
fn correct(line: &mut [char], data: std::ops::Range<usize>, at: usize, what: &str) -> Option<String> {
    let field: String = line[data.clone()].iter().collect();
    if Some(check_digit(&field)) == line.get(at).copied() {
        return None;
    }
    let mut fixes = Vec::new();
    for i in data.clone() {
        let orig = line[i];
        for &alt in confusable(orig) {
            line[i] = alt;
            let f: String = line[data.clone()].iter().collect();
            if Some(check_digit(&f)) == line.get(at).copied() {
                fixes.push((i, orig, alt));
            }
        }
        line[i] = orig;
    }
    match fixes.as_slice() {
        [(i, orig, alt)] => {
            line[*i] = *alt;
            Some(format!(
                "{what}: position {} read '{orig}', corrected to '{alt}'",
                i + 1
            ))
        }
        _ => None,
    }
}

fn digit(line: &[char], data: std::ops::Range<usize>, at: usize, what: &str) -> MrzDigit {
    let d: String = line[data].iter().collect();
    let expected = check_digit(&d);
    let found = line.get(at).copied().unwrap_or(' ');
    MrzDigit {
        field: what.to_string(),
        data: d,
        expected,
        found,
        ok: expected == found,
    }
}

fn split_name(s: &str) -> (String, String) {
    let (sur, given) = s.split_once("<<").unwrap_or((s, ""));
    let clean = |x: &str| {
        x.split('<')
            .filter(|p| !p.is_empty())
            .map(|p| p.chars().map(to_alpha_class).collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (clean(sur), clean(given))
}

/// The page region holding MRZ-like lines (first pass), widened by a line above and below, for a second read
/// with the MRZ alphabet.
pub fn mrz_region(ocr: &OcrPage) -> Option<BBox> {
    let boxes: Vec<BBox> = ocr
        .lines
        .iter()
        .filter(|l| mrz_candidate(&l.text).is_some())
        .map(|l| l.bbox)
        .collect();
    let u = boxes.iter().copied().reduce(|a, b| a.union(&b))?;
    let lh = boxes.iter().map(|b| b.h).max().unwrap_or(40);
    let x = u.x.saturating_sub(lh);
    let y = u.y.saturating_sub(lh + lh / 2);
    let r = u.right().saturating_add(lh).min(ocr.width);
    let b = u.bottom().saturating_add(lh + lh / 2).min(ocr.height);
    Some(BBox::new(x, y, r.saturating_sub(x), b.saturating_sub(y)))
}

fn zone_in(lines: &[String], boxes: &[BBox]) -> Option<MrzReading> {
    let cands: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| mrz_candidate(l).map(|m| (i, m)))
        .collect();
    let bbox = |a: usize, b: usize| {
        boxes[a.min(boxes.len().saturating_sub(1))..=b.min(boxes.len().saturating_sub(1))]
            .iter()
            .copied()
            .reduce(|x, y| x.union(&y))
            .unwrap_or_default()
    };
    // TD3: two consecutive lines, the data line near 44 (the name line may have lost trailing filler: OCR
    // drops runs of `<`); TD1: three, the first two near 30.
    for w in cands.windows(2) {
        let (a, b) = (&w[0].1, &w[1].1);
        if w[1].0 == w[0].0 + 1
            && a.starts_with('P')
            && a.len() >= 12
            && a.len() <= 47
            && b.len().abs_diff(44) <= 3
        {
            return Some(parse_td3(vec![a.clone(), b.clone()], bbox(w[0].0, w[1].0)));
        }
    }
    for w in cands.windows(3) {
        if w[1].0 == w[0].0 + 1
            && w[2].0 == w[1].0 + 1
            && w[0].1.len().abs_diff(30) <= 3
            && w[1].1.len().abs_diff(30) <= 3
            && w[2].1.len() >= 8
            && w[2].1.len() <= 33
        {
            return Some(parse_td1(
                w.iter().map(|(_, l)| l.clone()).collect(),
                bbox(w[0].0, w[2].0),
            ));
        }
    }
    None
}

/// Finds and parses a TD1 or TD3 zone: from the second, MRZ-alphabet read when there is one
/// ([`OcrPage::mrz_lines`]) and it holds a whole zone, else from the page's OCR lines.
pub fn read_mrz(ocr: &OcrPage) -> Option<MrzReading> {
    let first_lines: Vec<String> = ocr.lines.iter().map(|l| l.text.clone()).collect();
    let first_boxes: Vec<BBox> = ocr.lines.iter().map(|l| l.bbox).collect();
    let first = zone_in(&first_lines, &first_boxes);
    if let Some(second) = &ocr.mrz_lines {
        let region = mrz_region(ocr).unwrap_or_default();
        let boxes = vec![first.as_ref().map_or(region, |m| m.bbox); second.len()];
        if let Some(m) = zone_in(second, &boxes) {
            // Prefer the second read unless the first one validates and the second does not.
            if !first.as_ref().is_some_and(|f| f.valid()) || m.valid() {
                return Some(m);
            }
        }
    }
    first
}

/// Letter-only positions: the TD1 document code and state, the TD1 name line, the TD3 first line.
const ALPHA_TD1_L1: std::ops::Range<usize> = 0..5;
const ALPHA_TD1_L3: std::ops::Range<usize> = 0..30;
const ALPHA_TD3_L1: std::ops::Range<usize> = 0..44;

/// Parses three TD1 lines (positions as in ICAO 9303 Part 5).
pub fn parse_td1(raw: Vec<String>, bbox: BBox) -> MrzReading {
    let l1 = repair(&fit_len(&raw[0], 30), &[], &[ALPHA_TD1_L1]);
    let l2 = repair(&fit_len(&raw[1], 30), &[0..7, 8..15, 29..30], &[7..8, 15..18]);
    let l3 = repair(&fit_len(&raw[2], 30), &[], &[ALPHA_TD1_L3]);
    let mut a: Vec<char> = l1.chars().collect();
    let mut b: Vec<char> = l2.chars().collect();
    // The optional data of a Vietnamese card is the 12-digit ID number.
    for c in a.iter_mut().skip(15).take(12) {
        *c = to_digit_class(*c);
    }
    for c in a.iter_mut().skip(5).take(10) {
        *c = to_digit_class(*c);
    }
    let mut corrections = Vec::new();
    corrections.extend(correct(&mut a, 5..14, 14, "document number"));
    corrections.extend(correct(&mut b, 0..6, 6, "birth date"));
    corrections.extend(correct(&mut b, 8..14, 14, "expiry date"));
    let mut digits = vec![
        digit(&a, 5..14, 14, "document number"),
        digit(&b, 0..6, 6, "birth date"),
        digit(&b, 8..14, 14, "expiry date"),
    ];
    let composite: Vec<char> = a[5..30]
        .iter()
        .chain(&b[0..7])
        .chain(&b[8..15])
        .chain(&b[18..29])
        .copied()
        .collect();
    let cs: String = composite.iter().collect();
    let comp = MrzDigit {
        field: "composite".into(),
        expected: check_digit(&cs),
        found: b[29],
        ok: check_digit(&cs) == b[29],
        data: cs,
    };
    digits.push(comp);
    let s = |v: &[char], r: std::ops::Range<usize>| v[r].iter().collect::<String>();
    let (surname, given_names) = split_name(&l3);
    MrzReading {
        format: "td1".into(),
        raw_lines: raw,
        lines: vec![s(&a, 0..30), s(&b, 0..30), l3.clone()],
        corrections,
        digits,
        document_number: s(&a, 5..14).trim_end_matches('<').to_string(),
        birth_yymmdd: s(&b, 0..6),
        sex: b[7],
        expiry_yymmdd: s(&b, 8..14),
        optional: s(&a, 15..30).trim_end_matches('<').to_string(),
        surname,
        given_names,
        bbox,
    }
}

/// Parses two TD3 lines.
pub fn parse_td3(raw: Vec<String>, bbox: BBox) -> MrzReading {
    let l1 = repair(&fit_len(&raw[0], 44), &[], &[ALPHA_TD3_L1]);
    let l2 = repair(
        &fit_len(&raw[1], 44),
        &[9..10, 13..20, 21..28, 42..44],
        &[10..13, 20..21],
    );
    let mut b: Vec<char> = l2.chars().collect();
    let mut corrections = Vec::new();
    corrections.extend(correct(&mut b, 0..9, 9, "document number"));
    corrections.extend(correct(&mut b, 13..19, 19, "birth date"));
    corrections.extend(correct(&mut b, 21..27, 27, "expiry date"));
    corrections.extend(correct(&mut b, 28..42, 42, "personal number"));
    let mut digits = vec![
        digit(&b, 0..9, 9, "document number"),
        digit(&b, 13..19, 19, "birth date"),
        digit(&b, 21..27, 27, "expiry date"),
        digit(&b, 28..42, 42, "personal number"),
    ];
    let cs: String = b[0..10].iter().chain(&b[13..20]).chain(&b[21..43]).collect();
    digits.push(MrzDigit {
        field: "composite".into(),
        expected: check_digit(&cs),
        found: b[43],
        ok: check_digit(&cs) == b[43],
        data: cs,
    });
    let s = |v: &[char], r: std::ops::Range<usize>| v[r].iter().collect::<String>();
    let (surname, given_names) = split_name(&l1[5..]);
    MrzReading {
        format: "td3".into(),
        raw_lines: raw,
        lines: vec![l1.clone(), s(&b, 0..44)],
        corrections,
        digits,
        document_number: s(&b, 0..9).trim_end_matches('<').to_string(),
        birth_yymmdd: s(&b, 13..19),
        sex: b[20],
        expiry_yymmdd: s(&b, 21..27),
        optional: s(&b, 28..42).trim_end_matches('<').to_string(),
        surname,
        given_names,
        bbox,
    }
}

/// Share of letters that are Vietnamese-marked, below which a page with enough text reads as foreign.
pub const FOREIGN_VI_RATIO: f64 = 0.08;

/// Classifies the page and extracts its fields.
pub fn recognise(ocr: &OcrPage) -> Recognition {
    recognise_with(ocr, types())
}

/// [`recognise`] with another type list (one grown by an operator, or a test's).
pub fn recognise_with(ocr: &OcrPage, list: &TypeList) -> Recognition {
    let lines = page_lines(ocr);
    let mrz = read_mrz(ocr);
    let classification = classify(&lines, mrz.as_ref(), list);
    let (ratio, letters) = text::vietnamese_ratio(&ocr.text);
    let english = letters >= 80 && ratio < FOREIGN_VI_RATIO;
    let (fields, empty_labels) = extract(classification.doc_class, english, &lines, mrz.as_ref(), ocr.width);
    Recognition {
        classification,
        fields,
        mrz,
        empty_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_type_list_is_valid_and_agrees_with_the_corpus() {
        let list = TypeList::parse(TYPE_LIST).expect("doc-types.toml");
        for t in DocType::ALL {
            let e = list.entry(DocClass::from_doc_type(t)).expect("listed");
            assert_eq!(e.seal_required, t.seal_required(), "{}", t.name());
            assert!(
                e.cues.iter().any(|c| c.weight >= TITLE_WEIGHT),
                "{} has a title",
                t.name()
            );
        }
        assert!(list.papers.iter().any(|p| p.issuer == Issuer::Individual));
        assert!(list.papers.iter().any(|p| p.attaches));
        // Bad lists are refused with the reason.
        let twice = format!("{TYPE_LIST}\n[[type]]\nclass = \"cccd_front\"\nname = \"x\"\nseal_required = false\nidentity_fields = []\ncues = []\n");
        assert!(TypeList::parse(&twice).unwrap_err().contains("listed 2 times"));
        let accents = TYPE_LIST.replace("\"don xin\"", "\"đơn xin\"");
        assert!(TypeList::parse(&accents).unwrap_err().contains("not folded"));
        assert!(TypeList::parse("[[type]]\nclass = \"nonsense\"").is_err());
    }

    /// A page whose OCR read `lines`, one word box per word.
    fn ocr_page(lines: &[&str]) -> OcrPage {
        let mut words = Vec::new();
        let mut out = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let first = words.len();
            for (j, w) in l.split(' ').enumerate() {
                words.push(OcrWord {
                    text: w.to_string(),
                    confidence: 95.0,
                    bbox: BBox::new(200 + j as u32 * 150, 200 + i as u32 * 80, 140, 50),
                    block: 1,
                    paragraph: 1,
                    line: i as u32 + 1,
                });
            }
            out.push(OcrLine {
                text: l.to_string(),
                confidence: 95.0,
                bbox: BBox::new(200, 200 + i as u32 * 80, 2000, 50),
                first_word: first,
                word_count: words.len() - first,
            });
        }
        OcrPage {
            page: 0,
            width: 2480,
            height: 3508,
            dpi: 300,
            text: lines.join("\n"),
            mean_confidence: 95.0,
            words,
            lines: out,
            mrz_lines: None,
            stamps: Vec::new(),
        }
    }

    #[test]
    fn the_type_list_grows_without_code() {
        let page = ocr_page(&[
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "GIẤY XÁC NHẬN THÔNG TIN CƯ TRÚ",
            "Họ và tên: NGUYỄN VĂN A",
        ]);
        assert!(recognise(&page).classification.paper.is_none());
        let grown = format!(
            "{TYPE_LIST}\n[[paper]]\nid = \"residence_confirmation\"\nname = \"Giấy xác nhận thông tin cư trú\"\nissuer = \"competent_body\"\ntitles = [\"giay xac nhan thong tin cu tru\"]\n"
        );
        let list = TypeList::parse(&grown).expect("grown list");
        let c = recognise_with(&page, &list).classification;
        assert_eq!(c.doc_class, DocClass::Unknown);
        let paper = c.paper.expect("recognised from the new line of data");
        assert_eq!(
            (paper.id.as_str(), paper.issuer),
            ("residence_confirmation", Issuer::CompetentBody)
        );
        assert!(c.titled);
    }

    #[test]
    fn a_title_stands_at_the_head_of_its_line() {
        // The signer's title above a signature names the paper; it is not its title.
        let signer = ocr_page(&[
            "Phường Mai Dịch, ngày 3 tháng 4 năm 2021",
            "NGƯỜI KÝ GIẤY KHAI SINH",
            "Trần Văn B",
        ]);
        let c = recognise(&signer).classification;
        assert!(!c.titled, "{c:?}");
        assert_ne!(c.doc_class, DocClass::BirthCertificate, "{c:?}");
        let title = ocr_page(&[
            "GIẤY KHAI SINH",
            "Họ, chữ đệm, tên: TRẦN VĂN B",
            "Người đi khai sinh: Trần Văn C",
        ]);
        let c = recognise(&title).classification;
        assert!(c.titled);
        assert_eq!(c.doc_class, DocClass::BirthCertificate);
    }

    #[test]
    fn the_holders_name_is_read_from_layouts_the_type_list_does_not_know() {
        let holder = |lines: &[&str]| {
            recognise(&ocr_page(lines))
                .fields
                .get("holder_name")
                .map(|f| f.value.clone())
        };
        let cases: [(&[&str], &str); 9] = [
            // A bilingual label the birth certificate's own ("Họ, chữ đệm, tên:") is not.
            (
                &[
                    "GIẤY KHAI SINH",
                    "Họ và tên (Full name): TRẦN VĂN BÌNH",
                    "Họ và tên cha: TRẦN VĂN CƯỜNG",
                ],
                "TRẦN VĂN BÌNH",
            ),
            // The name on the line under its label.
            (
                &[
                    "GIẤY KHAI SINH",
                    "Họ và tên / Full name:",
                    "TRẦN VĂN BÌNH",
                    "Ngày sinh: 01/02/2003",
                ],
                "TRẦN VĂN BÌNH",
            ),
            // A title as the label.
            (
                &["GIẤY CHỨNG NHẬN KẾT HÔN", "Ông/Bà: LÊ VĂN AN", "Dân tộc: Kinh"],
                "LÊ VĂN AN",
            ),
            // The title before the name.
            (
                &[
                    "BẰNG TỐT NGHIỆP ĐẠI HỌC",
                    "Họ và tên: Bà Nguyễn Thị Hoa",
                    "Ngày sinh: 01/02/1990",
                ],
                "Nguyễn Thị Hoa",
            ),
            // The line goes on after a comma…
            (
                &[
                    "GIẤY CHỨNG NHẬN",
                    "QUYỀN SỬ DỤNG ĐẤT",
                    "Ông: NGUYỄN VĂN AN, sinh năm 1970",
                ],
                "NGUYỄN VĂN AN",
            ),
            // …or to a second field.
            (
                &[
                    "BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG",
                    "Họ và tên: Lê Văn An Giới tính: Nam",
                ],
                "Lê Văn An",
            ),
            // A type's own label with a gloss, the name below.
            (
                &[
                    "BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG",
                    "Họ và tên / Full name:",
                    "Lê Văn An",
                ],
                "Lê Văn An",
            ),
            // A speck read as a colon after the name.
            (
                &["GIẤY KHAI SINH", "Họ và tên / Full name: TRẦN VĂN BÌNH:"],
                "TRẦN VĂN BÌNH",
            ),
            // The type's own label still comes first.
            (
                &[
                    "GIẤY KHAI SINH",
                    "Họ, chữ đệm, tên: TRẦN VĂN BÌNH",
                    "Ông/Bà: LÊ VĂN AN",
                ],
                "TRẦN VĂN BÌNH",
            ),
        ];
        for (lines, want) in cases {
            assert_eq!(holder(lines).as_deref(), Some(want), "{lines:?}");
        }
        // A paper of a type banso does not read: its holder's fields under common labels.
        let letter = recognise(&ocr_page(&[
            "ĐƠN ĐỀ NGHỊ CẤP LẠI BẰNG",
            "Kính gửi: Trường Đại học Y",
            "Tôi tên là: NGUYỄN THỊ LAN",
            "Ngày sinh: 02/09/1985",
            "Số định danh cá nhân: 001185012345",
        ]));
        assert_eq!(letter.classification.doc_class, DocClass::Unknown);
        assert_eq!(
            letter.values(),
            BTreeMap::from([
                ("birth_date".to_string(), "02/09/1985".to_string()),
                ("holder_name".to_string(), "NGUYỄN THỊ LAN".to_string()),
                ("id_number".to_string(), "001185012345".to_string()),
            ])
        );
        // A label that goes on to name somebody else ("Họ và tên cha:") is not the holder's.
        assert_eq!(holder(&["GIẤY KHAI SINH", "Họ và tên cha: TRẦN VĂN CƯỜNG"]), None);
    }

    #[test]
    fn a_document_is_classified_from_all_its_pages() {
        let first =
            recognise(&ocr_page(&["GIẤY KHAI SINH", "Người đi khai sinh: Trần Văn C"])).classification;
        let second = recognise(&ocr_page(&["Trang 2/2", "NGƯỜI KÝ GIẤY KHAI SINH"])).classification;
        let doc = classify_document(&[&first, &second]);
        assert_eq!(doc.doc_class, DocClass::BirthCertificate);
        assert!(doc.titled);
        // A continuation page alone is not the type.
        assert_ne!(
            classify_document(&[&second]).doc_class,
            DocClass::BirthCertificate
        );
    }

    #[test]
    fn mrz_dates_use_the_century_digit() {
        assert_eq!(mrz_date("050312", Some('2')), Some("12/03/2005".into()));
        assert_eq!(mrz_date("720818", Some('0')), Some("18/08/1972".into()));
        assert_eq!(mrz_date("72O818", None), None);
    }

    #[test]
    fn td1_repair_and_correction() {
        // A generated card back's zone as OCR might read it: O for 0 in the ID number, 0 for O in the name.
        let raw = vec![
            "IDVNM0729503688O7OO72950368<<<".to_string(),
            "7208182M3208184VNM<<<<<<<<<<<5".to_string(),
            "DUONG<<QU0C<HIEU<<<<<<<<<<<<<<".to_string(),
        ];
        let m = parse_td1(raw.clone(), BBox::default());
        assert!(m.valid(), "{:?}", m.digits);
        assert_eq!(m.lines[0], "IDVNM0729503688070072950368<<<");
        assert_eq!(m.optional, "070072950368");
        assert_eq!(
            (m.surname.as_str(), m.given_names.as_str()),
            ("DUONG", "QUOC HIEU")
        );
        // A 0 read as 6 in the birth date: two single changes (2→0 and 6→0) both satisfy the check digit, so
        // nothing is corrected and the check fails rather than guessing.
        let mut misread = raw.clone();
        misread[1] = "7268182M3208184VNM<<<<<<<<<<<5".into();
        let m = parse_td1(misread, BBox::default());
        assert!(m.corrections.is_empty(), "{:?}", m.corrections);
        assert!(!m.digits[1].ok);
        // An 8 read as 9 in the expiry (320818 → 320918): only 9→8 restores the check digit 4.
        let mut unique = raw.clone();
        unique[1] = "7208182M3209184VNM<<<<<<<<<<<5".into();
        let m = parse_td1(unique, BBox::default());
        assert_eq!(m.expiry_yymmdd, "320818", "{:?}", m.corrections);
        assert!(m.valid());
        // Two wrong digits in one field cannot be corrected: the check fails.
        let mut bad = raw;
        bad[1].replace_range(0..2, "83");
        assert!(!parse_td1(bad, BBox::default()).valid());
    }
}
