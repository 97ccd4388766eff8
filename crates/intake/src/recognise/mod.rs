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

mod classify;
mod fields;
mod mrz;

pub use classify::*;
pub use fields::*;
pub use mrz::*;

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
pub const TYPE_LIST: &str = include_str!("../../doc-types.toml");

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
