//! A synthetic, labelled corpus of the Vietnamese documents a ward certifies.
//!
//! Each page is an A4 image at 300 dpi with ground truth: the document type, every text line exactly as
//! rendered (with its box), the fields a later stage must extract, the MRZ when there is one, whether a seal is
//! required and where it is, and the variant applied (clean, degraded, tampered with the tampered region, or a
//! Decree 23 Art. 22 case). Generation is deterministic for a seed: the same seed gives the same pixels.
//!
//! Layouts follow the real documents' headings and field labels; the content (names, numbers, dates) is random.

pub mod documents;
pub mod mrz;
pub mod people;
pub mod render;

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::cleanup::rotate;
use crate::error::IntakeError;
use crate::geometry::BBox;
use people::{Date, Person, Sex};
pub use render::Typeface;
use render::{draw_text, seal, signature, Face, Fonts, SEAL_RED};

/// A4 at 300 dpi.
pub const PAGE_W: u32 = 2480;
pub const PAGE_H: u32 = 3508;
pub const DPI: u32 = 300;

/// The document types of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
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
}

impl DocType {
    pub const ALL: [DocType; 11] = [
        DocType::CccdFront,
        DocType::CccdBack,
        DocType::BirthCertificate,
        DocType::MarriageCertificate,
        DocType::HighSchoolDiploma,
        DocType::UniversityDiploma,
        DocType::AcademicTranscript,
        DocType::LandUseRightCertificate,
        DocType::DrivingLicence,
        DocType::PassportDataPage,
        DocType::CivilStatusExtract,
    ];

    /// Stable snake_case name (as in JSON).
    pub fn name(&self) -> &'static str {
        match self {
            DocType::CccdFront => "cccd_front",
            DocType::CccdBack => "cccd_back",
            DocType::BirthCertificate => "birth_certificate",
            DocType::MarriageCertificate => "marriage_certificate",
            DocType::HighSchoolDiploma => "high_school_diploma",
            DocType::UniversityDiploma => "university_diploma",
            DocType::AcademicTranscript => "academic_transcript",
            DocType::LandUseRightCertificate => "land_use_right_certificate",
            DocType::DrivingLicence => "driving_licence",
            DocType::PassportDataPage => "passport_data_page",
            DocType::CivilStatusExtract => "civil_status_extract",
        }
    }

    /// Whether the original carries an official seal (Art. 22(6): a paper without a competent body's seal
    /// cannot be certified). The card face and the passport data page carry none.
    pub fn seal_required(&self) -> bool {
        !matches!(self, DocType::CccdFront | DocType::PassportDataPage)
    }
}

/// The fields a later stage extracts, as printed (`None`: the document does not show it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields {
    pub holder_name: Option<String>,
    pub birth_date: Option<String>,
    pub sex: Option<String>,
    pub id_number: Option<String>,
    pub document_number: Option<String>,
    pub issue_date: Option<String>,
    pub issuing_body: Option<String>,
}

impl Fields {
    /// The identity a kiosk verifies for this paper's holder (from the chip): name, ID number, and the birth
    /// date when the paper prints a full one (a land certificate prints the year alone; a verified identity
    /// has the whole date).
    pub fn verified_holder(&self) -> crate::checks::Holder {
        crate::checks::Holder {
            name: self.holder_name.clone(),
            birth_date: self.birth_date.clone().filter(|d| d.contains('/')),
            id_number: self.id_number.clone(),
        }
    }

    /// The fields that are present, by name.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v.clone());
            }
        };
        put("holder_name", &self.holder_name);
        put("birth_date", &self.birth_date);
        put("sex", &self.sex);
        put("id_number", &self.id_number);
        put("document_number", &self.document_number);
        put("issue_date", &self.issue_date);
        put("issuing_body", &self.issuing_body);
        m
    }

    fn set(&mut self, name: &str, value: String) {
        let slot = match name {
            "holder_name" => &mut self.holder_name,
            "birth_date" => &mut self.birth_date,
            "sex" => &mut self.sex,
            "id_number" => &mut self.id_number,
            "document_number" => &mut self.document_number,
            "issue_date" => &mut self.issue_date,
            _ => &mut self.issuing_body,
        };
        *slot = Some(value);
    }
}

/// One rendered line of text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthLine {
    pub text: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
}

/// Which variant family to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VariantKind {
    Clean,
    Degraded,
    Tampered,
    Art22,
    /// A secrecy or do-not-copy mark placed, turned and scanned the ways real papers show them.
    Marks,
    /// A legitimate page captured otherwise than on a 300-dpi flatbed: scanned at 200 dpi, or photographed
    /// with a phone (keystone, uneven light, blur, a lower effective resolution, JPEG).
    Capture,
}

impl VariantKind {
    /// Every kind; a new kind goes at the end, so earlier pages keep their seeds.
    pub const ALL: [VariantKind; 6] = [
        VariantKind::Clean,
        VariantKind::Degraded,
        VariantKind::Tampered,
        VariantKind::Art22,
        VariantKind::Marks,
        VariantKind::Capture,
    ];
    pub fn name(&self) -> &'static str {
        match self {
            VariantKind::Clean => "clean",
            VariantKind::Degraded => "degraded",
            VariantKind::Tampered => "tampered",
            VariantKind::Art22 => "art22",
            VariantKind::Marks => "marks",
            VariantKind::Capture => "capture",
        }
    }
}

/// Where a mark stands on the page (the `marks` variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkPlacement {
    /// In the top band, above the national heading.
    TopBand,
    /// On the title's line, beside the title.
    LevelWithTitle,
    /// Over the body text.
    OverText,
}

impl MarkPlacement {
    pub fn name(&self) -> &'static str {
        match self {
            MarkPlacement::TopBand => "top_band",
            MarkPlacement::LevelWithTitle => "level_with_title",
            MarkPlacement::OverText => "over_text",
        }
    }
}

/// How a `capture` page was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// A flatbed scan at 200 dpi.
    Scan200,
    /// A phone photograph of the page.
    Phone,
}

impl CaptureMode {
    pub fn name(&self) -> &'static str {
        match self {
            CaptureMode::Scan200 => "scan_200dpi",
            CaptureMode::Phone => "phone",
        }
    }
}

/// How a tampered page was altered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// One digit whited out and re-rendered in another face and size.
    AlteredDigit,
    /// A digit cell copied from elsewhere on the page over another digit (copy-move).
    PastedRegion,
    /// A field value painted over with the paper colour.
    ErasedArea,
}

/// Decree 23/2015 Art. 22 refusal grounds the corpus reproduces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ground", rename_all = "snake_case")]
pub enum Art22Case {
    /// Art. 22(3): a secrecy stamp ("MẬT", "TỐI MẬT").
    SecrecyStamp { text: String },
    /// Art. 22(3): marked "KHÔNG ĐƯỢC SAO CHỤP".
    NoCopyMark { text: String },
    /// Art. 22(6): a document that needs a seal shows none.
    MissingSeal,
    /// Art. 22(5): issued abroad (here in English) with no consular legalisation stamp.
    ForeignNotLegalised,
}

/// The variant applied to a page, with what a detector should find.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Variant {
    Clean,
    Degraded {
        noise_sigma: f32,
        blur_sigma: f32,
        /// Counter-clockwise, degrees. Line boxes are given after the turn.
        rotation_deg: f32,
        jpeg_quality: u8,
    },
    Tampered {
        tamper: TamperKind,
        field: String,
        /// The altered region in page pixels.
        region: BBox,
        original: String,
        /// The value as it now reads on the page.
        visible: String,
    },
    Art22 {
        #[serde(flatten)]
        case: Art22Case,
        /// Where the mark is (stamps); `None` when the ground is an absence.
        region: Option<BBox>,
    },
    /// Captured at 200 dpi or with a phone: every box is given on the delivered image.
    Captured {
        mode: CaptureMode,
        /// The resolution of the delivered image, pixels per inch of paper.
        dpi: u32,
        /// Counter-clockwise, degrees.
        rotation_deg: f32,
        /// Keystone: the top edge is this share narrower than the bottom (a phone held below the page).
        keystone: f32,
        /// Light falls off to this share of full across the page.
        shading: f32,
        blur_sigma: f32,
        noise_sigma: f32,
        jpeg_quality: u8,
    },
    /// A secrecy or do-not-copy mark (Art. 22(3)) placed, turned and scanned as real papers show them.
    Marked {
        #[serde(flatten)]
        case: Art22Case,
        region: BBox,
        placement: MarkPlacement,
        /// Counter-clockwise, degrees.
        rotation_deg: f32,
        /// The whole page scanned in greyscale (the mark is no longer red).
        greyscale: bool,
    },
}

/// Ground truth of one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub id: String,
    pub doc_type: DocType,
    /// `vi`, or `en` for the foreign document.
    pub language: String,
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    /// Every text line rendered, top to bottom, as it reads on the page (after any tampering).
    pub lines: Vec<TruthLine>,
    /// Fields as issued (before any tampering).
    pub fields: Fields,
    /// Box of each field's value on the page.
    pub field_boxes: BTreeMap<String, BBox>,
    pub mrz: Option<Vec<String>>,
    pub seal_required: bool,
    /// Where the seal is drawn, if it is.
    pub seal: Option<BBox>,
    /// The card-face QR's content and box (CCCD front), as issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<(String, BBox)>,
    pub variant: Variant,
    /// File name of the page image beside the JSON.
    pub image_file: String,
}

impl GroundTruth {
    /// The reference text for CER: lines in order, one per line.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// What to generate for one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageSpec {
    pub doc_type: DocType,
    pub kind: VariantKind,
    /// Index among pages of this type and kind (also picks the tamper kind / Art. 22 ground in turn).
    pub index: u32,
    pub seed: u64,
    /// The family the page is set in, and how it is laid out.
    #[serde(default = "fitting_typeface")]
    pub typeface: Typeface,
    #[serde(default)]
    pub style: Style,
}

fn fitting_typeface() -> Typeface {
    Typeface::DejaVu
}

impl PageSpec {
    pub fn id(&self) -> String {
        format!("{}-{}-{:03}", self.doc_type.name(), self.kind.name(), self.index)
    }
}

/// One generated page.
#[derive(Debug, Clone)]
pub struct GeneratedPage {
    /// The pixels a scanner would deliver (for degraded pages: decoded from the JPEG).
    pub image: RgbImage,
    /// The encoded file: PNG, or JPEG for degraded pages.
    pub encoded: Vec<u8>,
    pub truth: GroundTruth,
}

impl GeneratedPage {
    /// Writes `<id>.png|.jpg` and `<id>.json` into `dir`; returns the image path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, IntakeError> {
        let img = dir.join(&self.truth.image_file);
        std::fs::write(&img, &self.encoded).map_err(|e| IntakeError::io(&img, e))?;
        let json = dir.join(format!("{}.json", self.truth.id));
        let body = serde_json::to_vec_pretty(&self.truth).map_err(|e| IntakeError::Encode(e.to_string()))?;
        std::fs::write(&json, body).map_err(|e| IntakeError::io(&json, e))?;
        Ok(img)
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The pages of a corpus on the fitting split (DejaVu, the standard layout): `per_type` pages of every type
/// for every kind, each with its own derived seed.
pub fn corpus_specs(seed: u64, per_type: u32, kinds: &[VariantKind]) -> Vec<PageSpec> {
    split_specs(seed, per_type, kinds, Split::Fitting)
}

/// The pages of a corpus drawn from `split`'s settings: the same types, kinds and seeds as
/// [`corpus_specs`], each page set in a typeface and style of the split picked by its seed.
pub fn split_specs(seed: u64, per_type: u32, kinds: &[VariantKind], split: Split) -> Vec<PageSpec> {
    let mut out = Vec::new();
    for (ti, t) in DocType::ALL.iter().enumerate() {
        for kind in kinds {
            let ki = VariantKind::ALL.iter().position(|k| k == kind).unwrap_or(0);
            for index in 0..per_type {
                let s =
                    splitmix(seed ^ splitmix(((ti as u64) << 40) | ((ki as u64) << 32) | u64::from(index)));
                let (typeface, style) = split.settings(s);
                out.push(PageSpec {
                    doc_type: *t,
                    kind: *kind,
                    index,
                    seed: s,
                    typeface,
                    style,
                });
            }
        }
    }
    out
}

/// A field's value as drawn: its ink box and character cells.
#[derive(Debug, Clone)]
struct FieldMark {
    value: String,
    ink: BBox,
    cells: Vec<(char, BBox)>,
    line: usize,
    face: Face,
    size: f32,
}

/// A page being laid out.
struct Sheet<'a> {
    fonts: &'a Fonts,
    img: RgbImage,
    paper: [u8; 3],
    lines: Vec<TruthLine>,
    marks: BTreeMap<String, FieldMark>,
    fields: Fields,
    left: f32,
    right: f32,
    y: f32,
    body: f32,
    seal: Option<BBox>,
    /// The card-face QR: its content and box.
    qr: Option<(String, BBox)>,
    /// Where the signature block starts (the place-and-date line), once drawn.
    sign_top: Option<f32>,
}

const INK: [u8; 3] = [20, 20, 24];

impl<'a> Sheet<'a> {
    fn new(fonts: &'a Fonts, paper: [u8; 3]) -> Self {
        Sheet {
            fonts,
            img: RgbImage::from_pixel(PAGE_W, PAGE_H, Rgb(paper)),
            paper,
            lines: Vec::new(),
            marks: BTreeMap::new(),
            fields: Fields::default(),
            left: 230.0,
            right: (PAGE_W - 230) as f32,
            y: 280.0,
            body: 46.0,
            seal: None,
            qr: None,
            sign_top: None,
        }
    }

    /// Shrinks `size` until `text` fits in `room` px.
    fn fit(&self, face: Face, size: f32, text: &str, room: f32) -> f32 {
        let w = self.fonts.width(face, size, text);
        if w <= room {
            size
        } else {
            size * room / w * 0.98
        }
    }

    fn put(&mut self, x: f32, text: &str, face: Face, size: f32, color: [u8; 3]) -> render::Drawn {
        let d = draw_text(&mut self.img, self.fonts, face, size, x, self.y, text, color);
        self.lines.push(TruthLine {
            text: text.to_string(),
            bbox: d.ink,
        });
        d
    }

    fn advance(&mut self, size: f32) {
        self.y += size * 1.55;
    }

    fn center_at(&mut self, cx: f32, text: &str, face: Face, size: f32) {
        let size = self.fit(face, size, text, self.right - self.left);
        let w = self.fonts.width(face, size, text);
        self.put(cx - w / 2.0, text, face, size, INK);
        self.advance(size);
    }

    fn center(&mut self, text: &str, face: Face, size: f32) {
        self.center_at((self.left + self.right) / 2.0, text, face, size);
    }

    fn text(&mut self, text: &str) {
        let size = self.fit(Face::Sans, self.body, text, self.right - self.left);
        self.put(self.left, text, Face::Sans, size, INK);
        self.advance(self.body);
    }

    fn bold(&mut self, text: &str) {
        let size = self.fit(Face::SansBold, self.body, text, self.right - self.left);
        self.put(self.left, text, Face::SansBold, size, INK);
        self.advance(self.body);
    }

    /// "Label: value" on one line; records the value as field `field` when given.
    fn field(&mut self, label: &str, value: &str, field: Option<&str>) {
        self.field_face(label, value, field, Face::Sans);
    }

    fn field_face(&mut self, label: &str, value: &str, field: Option<&str>, value_face: Face) {
        let line = format!("{label} {value}");
        let size = self.fit(Face::Sans, self.body, &line, self.right - self.left);
        let d = draw_text(
            &mut self.img,
            self.fonts,
            Face::Sans,
            size,
            self.left,
            self.y,
            label,
            INK,
        );
        let x = self.left + self.fonts.width(Face::Sans, size, &format!("{label} "));
        let v = draw_text(&mut self.img, self.fonts, value_face, size, x, self.y, value, INK);
        self.lines.push(TruthLine {
            text: line,
            bbox: d.ink.union(&v.ink),
        });
        if let Some(f) = field {
            self.mark(f, value, v, value_face, size);
        }
        self.advance(self.body);
    }

    /// A label alone on its line and the value indented on the line below.
    fn field_below(&mut self, label: &str, value: &str, field: Option<&str>) {
        self.text(label);
        let x = self.left + self.body * 2.0;
        let size = self.fit(Face::Sans, self.body, value, self.right - x);
        let v = self.put(x, value, Face::Sans, size, INK);
        if let Some(f) = field {
            self.mark(f, value, v, Face::Sans, size);
        }
        self.advance(self.body);
    }

    fn mark(&mut self, field: &str, value: &str, d: render::Drawn, face: Face, size: f32) {
        self.fields.set(field, value.to_string());
        self.marks.insert(
            field.to_string(),
            FieldMark {
                value: value.to_string(),
                ink: d.ink,
                cells: d.cells,
                line: self.lines.len() - 1,
                face,
                size,
            },
        );
    }

    fn gap(&mut self, px: f32) {
        self.y += px;
    }

    /// The national heading every administrative document opens with.
    fn national_heading(&mut self) {
        self.center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 50.0);
        self.center("Độc lập - Tự do - Hạnh phúc", Face::SansBold, 48.0);
        let cx = (self.left + self.right) / 2.0;
        let underline = BBox::new((cx - 330.0) as u32, (self.y - 18.0) as u32, 660, 3);
        render::fill_rect(&mut self.img, underline, INK);
        self.gap(30.0);
    }

    /// Place and date, title(s), signature space with signature and seal, signer's name: the right-hand block.
    fn signature_block(
        &mut self,
        place_date: &str,
        titles: &[&str],
        signer: &str,
        seal_text: Option<&str>,
        rng: &mut impl Rng,
    ) {
        let cx = self.right - 560.0;
        self.sign_top.get_or_insert(self.y);
        self.gap(20.0);
        let size = self.body;
        let w = self.fonts.width(Face::Sans, size, place_date);
        let x = (self.right - w).min(cx - w / 2.0).max(self.left);
        self.put(x, place_date, Face::Sans, size, INK);
        self.advance(size);
        for t in titles {
            self.center_at(cx, t, Face::SansBold, size);
        }
        let space = 390.0;
        let top = self.y;
        signature(
            &mut self.img,
            cx - 180.0,
            top + 110.0,
            360.0,
            150.0,
            rng.gen_range(0.0..6.0),
        );
        if let Some(text) = seal_text {
            let r = 172.0;
            let b = seal(
                &mut self.img,
                self.fonts,
                cx - 150.0,
                top + space / 2.0,
                r,
                text,
                SEAL_RED,
            );
            self.seal = Some(b);
        }
        self.y = top + space;
        self.center_at(cx, signer, Face::SansBold, size);
    }
}

/// Generates corpus pages, in every typeface it has loaded.
pub struct Generator {
    families: Vec<(Typeface, Fonts)>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field(
                "typefaces",
                &self.families.iter().map(|(t, _)| t.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// How a page is set: margins and body size (a layout the fitting split never saw varies both); the held-out
/// styles also name the holder in ways the fitting never printed (see `NameLayout`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// 19.5 mm margins, 46 px (11 pt) body: the fitting split's.
    #[default]
    Standard,
    /// 25 mm margins, 42 px body.
    Wide,
    /// 14 mm margins, 50 px body.
    Large,
}

impl Style {
    pub fn name(&self) -> &'static str {
        match self {
            Style::Standard => "standard",
            Style::Wide => "wide",
            Style::Large => "large",
        }
    }

    fn margins_and_body(&self) -> (f32, f32) {
        match self {
            Style::Standard => (230.0, 46.0),
            Style::Wide => (295.0, 42.0),
            Style::Large => (165.0, 50.0),
        }
    }
}

/// Which generator settings a corpus is drawn from. The intake's thresholds were fitted on `Fitting`
/// (DejaVu, the standard layout); `HeldOut` uses typefaces and layouts the fitting never saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Fitting,
    HeldOut,
}

impl Split {
    pub fn name(&self) -> &'static str {
        match self {
            Split::Fitting => "fitting",
            Split::HeldOut => "held_out",
        }
    }

    pub fn typefaces(&self) -> &'static [Typeface] {
        match self {
            Split::Fitting => &[Typeface::DejaVu],
            Split::HeldOut => &[Typeface::Liberation, Typeface::FreeFont, Typeface::Noto],
        }
    }

    pub fn styles(&self) -> &'static [Style] {
        match self {
            Split::Fitting => &[Style::Standard],
            Split::HeldOut => &[Style::Wide, Style::Large],
        }
    }

    /// The typeface and style of the item with this seed.
    pub fn settings(&self, seed: u64) -> (Typeface, Style) {
        let t = self.typefaces();
        let st = self.styles();
        let h = splitmix(seed ^ 0x7E1D_0F5E);
        (
            t[(h % t.len() as u64) as usize],
            st[((h >> 16) % st.len() as u64) as usize],
        )
    }
}

/// How a page names its holder. The fitting split prints each type's own label; the held-out split also prints
/// what real papers print and the fitting never saw: a bilingual label, a title ("Ông/Bà:"), the title before
/// the name, the name on the line under its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameLayout {
    Own,
    Bilingual,
    Titled,
    TitleInValue,
    Below,
}

impl NameLayout {
    fn of(style: Style, seed: u64) -> Self {
        const HELD_OUT: [NameLayout; 5] = [
            NameLayout::Own,
            NameLayout::Bilingual,
            NameLayout::Titled,
            NameLayout::TitleInValue,
            NameLayout::Below,
        ];
        match style {
            Style::Standard => NameLayout::Own,
            Style::Wide | Style::Large => HELD_OUT[(splitmix(seed ^ 0x4E41_4D45) % 5) as usize],
        }
    }
}

/// Draws pages with one family in one style.
struct Pen<'f> {
    fonts: &'f Fonts,
    style: Style,
    names: NameLayout,
}

impl<'f> Pen<'f> {
    /// A page of `paper` colour in the pen's style.
    fn sheet(&self, paper: [u8; 3]) -> Sheet<'f> {
        let mut s = Sheet::new(self.fonts, paper);
        let (margin, body) = self.style.margins_and_body();
        s.left = margin;
        s.right = PAGE_W as f32 - margin;
        s.body = body;
        s
    }

    /// A person's name line in the pen's name layout (every person on a page alike, as a real form prints
    /// them): `own` is the type's own label; a title ("Ông", "Bà") is printed only before an adult's name (a
    /// birth certificate's child falls back to the bilingual label). `field` records it as the holder's.
    fn person(&self, s: &mut Sheet<'f>, own: &str, name: &str, sex: Sex, adult: bool, field: Option<&str>) {
        let title = if sex == Sex::Male { "Ông" } else { "Bà" };
        match self.names {
            NameLayout::Own => s.field(own, name, field),
            NameLayout::Titled if adult => s.field("Ông/Bà:", name, field),
            NameLayout::TitleInValue if adult => s.field(&format!("Họ và tên: {title}"), name, field),
            NameLayout::Below => s.field_below("Họ và tên / Full name:", name, field),
            NameLayout::Bilingual | NameLayout::Titled | NameLayout::TitleInValue => {
                s.field("Họ và tên (Full name):", name, field)
            }
        }
    }
}

const PROVINCE_BODIES: [&str; 6] = [
    "Hà Nội",
    "Hồ Chí Minh",
    "Đà Nẵng",
    "Quảng Nam",
    "Cần Thơ",
    "Hải Phòng",
];

fn pick<'x>(rng: &mut impl Rng, list: &[&'x str]) -> &'x str {
    list[rng.gen_range(0..list.len())]
}

impl Generator {
    /// Loads the DejaVu fonts from Debian's `fonts-dejavu-core` (the fitting split's family).
    pub fn new() -> Result<Self, IntakeError> {
        Ok(Generator {
            families: vec![(Typeface::DejaVu, Fonts::load(Path::new(render::DEJAVU_DIR))?)],
        })
    }

    /// Loads every family `typefaces` names (a missing one is an error naming its Debian package).
    pub fn with_typefaces(typefaces: &[Typeface]) -> Result<Self, IntakeError> {
        let mut families = Vec::new();
        for t in typefaces {
            if families.iter().any(|(have, _)| have == t) {
                continue;
            }
            let fonts = Fonts::load_typeface(*t).map_err(|e| match e {
                IntakeError::Font { path, detail } => IntakeError::Font {
                    path,
                    detail: format!("{detail} (install Debian's {})", t.package()),
                },
                other => other,
            })?;
            families.push((*t, fonts));
        }
        Ok(Generator { families })
    }

    /// Every family a split draws with.
    pub fn for_split(split: Split) -> Result<Self, IntakeError> {
        Self::with_typefaces(split.typefaces())
    }

    fn pen(&self, typeface: Typeface, style: Style, seed: u64) -> Result<Pen<'_>, IntakeError> {
        let fonts = self
            .families
            .iter()
            .find(|(t, _)| *t == typeface)
            .map(|(_, f)| f)
            .ok_or_else(|| IntakeError::Font {
                path: Path::new(typeface.files()[0]).to_path_buf(),
                detail: format!("typeface {} was not loaded by this generator", typeface.name()),
            })?;
        Ok(Pen {
            fonts,
            style,
            names: NameLayout::of(style, seed),
        })
    }

    /// Renders one page.
    pub fn generate(&self, spec: &PageSpec) -> Result<GeneratedPage, IntakeError> {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let pen = self.pen(spec.typeface, spec.style, spec.seed)?;
        let art22 = (spec.kind == VariantKind::Art22).then(|| art22_case(spec, &mut rng));
        let missing_seal = matches!(art22, Some(Art22Case::MissingSeal));
        let foreign = matches!(art22, Some(Art22Case::ForeignNotLegalised));
        let (mut sheet, mrz) = if foreign {
            (pen.foreign_birth_certificate(&mut rng), None)
        } else {
            pen.layout(spec.doc_type, &mut rng, !missing_seal)
        };
        let mut variant = Variant::Clean;
        let mut jpeg_quality = None;
        let mut dpi = DPI;
        match spec.kind {
            VariantKind::Clean => {}
            VariantKind::Art22 => {
                let region = match &art22 {
                    Some(Art22Case::SecrecyStamp { text }) | Some(Art22Case::NoCopyMark { text }) => {
                        Some(stamp(&mut sheet, text, &mut rng))
                    }
                    _ => None,
                };
                variant = Variant::Art22 {
                    case: art22.clone().unwrap_or(Art22Case::MissingSeal),
                    region,
                };
            }
            VariantKind::Tampered => variant = tamper(&mut sheet, spec.index, &mut rng),
            VariantKind::Marks => variant = mark(&mut sheet, spec.index, &mut rng),
            VariantKind::Degraded => {
                let (v, q) = degrade(&mut sheet, &mut rng);
                variant = v;
                jpeg_quality = Some(q);
            }
            VariantKind::Capture => {
                let (v, q, d) = capture(&mut sheet, spec.index, &mut rng);
                variant = v;
                jpeg_quality = Some(q);
                dpi = d;
            }
        }
        if matches!(variant, Variant::Marked { greyscale: true, .. }) {
            to_greyscale(&mut sheet.img);
        }
        let id = spec.id();
        let (image, encoded, ext) = match jpeg_quality {
            Some(q) => {
                let bytes = encode_jpeg(&sheet.img, q)?;
                let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
                    .map_err(|e| IntakeError::Encode(e.to_string()))?
                    .to_rgb8();
                (decoded, bytes, "jpg")
            }
            None => {
                let bytes = encode_png(&sheet.img)?;
                (sheet.img.clone(), bytes, "png")
            }
        };
        let field_boxes = sheet.marks.iter().map(|(k, m)| (k.clone(), m.ink)).collect();
        let truth = GroundTruth {
            image_file: format!("{id}.{ext}"),
            id,
            doc_type: spec.doc_type,
            language: if foreign { "en" } else { "vi" }.into(),
            seed: spec.seed,
            width: image.width(),
            height: image.height(),
            dpi,
            lines: sheet.lines,
            fields: sheet.fields,
            field_boxes,
            mrz,
            seal_required: spec.doc_type.seal_required(),
            seal: sheet.seal,
            qr: sheet.qr,
            variant,
        };
        Ok(GeneratedPage {
            image,
            encoded,
            truth,
        })
    }
}

impl<'f> Pen<'f> {
    fn layout(&self, t: DocType, rng: &mut ChaCha8Rng, with_seal: bool) -> (Sheet<'f>, Option<Vec<String>>) {
        match t {
            DocType::CccdFront => (self.cccd_front(rng), None),
            DocType::CccdBack => self.cccd_back(rng, with_seal),
            DocType::BirthCertificate => (self.birth_certificate(rng, with_seal), None),
            DocType::MarriageCertificate => (self.marriage_certificate(rng, with_seal), None),
            DocType::HighSchoolDiploma => (self.high_school_diploma(rng, with_seal), None),
            DocType::UniversityDiploma => (self.university_diploma(rng, with_seal), None),
            DocType::AcademicTranscript => (self.transcript(rng, with_seal), None),
            DocType::LandUseRightCertificate => (self.land_certificate(rng, with_seal), None),
            DocType::DrivingLicence => (self.driving_licence(rng, with_seal), None),
            DocType::PassportDataPage => self.passport(rng),
            DocType::CivilStatusExtract => (self.civil_extract(rng, with_seal), None),
        }
    }

    /// A card (85.6 × 54 mm) on an A4 page, 300 dpi: returns the sheet with margins set to the card.
    fn card_sheet(&self, tint: [u8; 3]) -> Sheet<'f> {
        let mut s = self.sheet([255, 255, 255]);
        let card = BBox::new(300, 300, 1011, 638);
        render::fill_rect(&mut s.img, card, tint);
        render::stroke_rect(&mut s.img, card, 3, [170, 170, 175], false);
        s.left = 330.0;
        s.right = 1290.0;
        s.y = 322.0;
        s.body = 31.0;
        s
    }

    fn cccd_front(&self, rng: &mut ChaCha8Rng) -> Sheet<'f> {
        let p = Person::random(rng, None, 1966, 2006);
        let issue = Date::random(rng, (p.birth.year + 14).max(2021), 2024);
        let mut s = self.card_sheet([226, 238, 246]);
        // Emblem (light, decorative) and photo.
        render::disc(&mut s.img, 395.0, 400.0, 55.0, [236, 150, 140], false);
        render::star(&mut s.img, 395.0, 400.0, 30.0, [250, 225, 120], false);
        // The QR in the top-right corner (PRODUCT.md §4): idNumber|oldIdNumber|fullName|ddmmyyyy|sex|address|
        // ddmmyyyy (issue). The heading moves left to make room for it.
        let old_id = if rng.gen_bool(0.5) {
            format!("{:09}", rng.gen_range(0..1_000_000_000u32))
        } else {
            String::new()
        };
        let ddmmyyyy = |d: &Date| format!("{:02}{:02}{:04}", d.day, d.month, d.year);
        let payload = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            p.id_number,
            old_id,
            p.full_name(),
            ddmmyyyy(&p.birth),
            p.sex.vi(),
            p.address,
            ddmmyyyy(&issue)
        );
        s.qr = render::qr(&mut s.img, &payload, 1290, 318, 3).map(|b| (payload.clone(), b));
        let cx = 790.0;
        s.center_at(cx, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 30.0);
        s.center_at(cx, "Độc lập - Tự do - Hạnh phúc", Face::SansBold, 29.0);
        s.y += 4.0;
        let title_size = 40.0;
        let w = self.fonts.width(Face::SansBold, title_size, "CĂN CƯỚC CÔNG DÂN");
        s.put(
            cx - w / 2.0,
            "CĂN CƯỚC CÔNG DÂN",
            Face::SansBold,
            title_size,
            [190, 30, 40],
        );
        s.advance(title_size);
        let photo = BBox::new(330, 560, 250, 320);
        render::fill_rect(&mut s.img, photo, [212, 212, 214]);
        render::disc(&mut s.img, 455.0, 680.0, 62.0, [190, 190, 192], false);
        s.left = 610.0;
        s.body = 29.0;
        s.field("Số / No.:", &p.id_number, Some("id_number"));
        s.field("Họ và tên / Full name:", "", None);
        let name = p.full_name_upper();
        let d = s.put(610.0, &name, Face::SansBold, 34.0, INK);
        s.mark("holder_name", &name, d, Face::SansBold, 34.0);
        s.advance(31.0);
        s.field("Ngày sinh / Date of birth:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính / Sex:", p.sex.vi(), Some("sex"));
        s.field("Quốc tịch / Nationality:", "Việt Nam", None);
        s.field("Quê quán / Place of origin:", p.province, None);
        s.field("Nơi thường trú / Place of residence:", "", None);
        let addr = p.address.clone();
        s.text(&addr);
        let expiry = cccd_expiry(&p, &issue);
        s.field("Có giá trị đến / Date of expiry:", &expiry.dmy(), None);
        // The front carries no issue date or issuing body; those are on the back.
        let _ = issue;
        s
    }

    fn cccd_back(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> (Sheet<'f>, Option<Vec<String>>) {
        let p = Person::random(rng, None, 1966, 2006);
        let issue = Date::random(rng, (p.birth.year + 14).max(2021), 2024);
        let expiry = cccd_expiry(&p, &issue);
        let mut s = self.card_sheet([232, 240, 244]);
        let body = "CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI";
        s.field("Đặc điểm nhân dạng / Personal identification:", "", None);
        let marks = [
            "Nốt ruồi C:1cm trên trước đầu lông mày phải",
            "Sẹo chấm C:2cm dưới sau mép trái",
        ];
        s.text(pick(rng, &marks));
        s.field(
            "Ngày, tháng, năm / Date, month, year:",
            &issue.dmy(),
            Some("issue_date"),
        );
        s.text("CỤC TRƯỞNG");
        let d = s.put(s.left, body, Face::SansBold, 25.0, INK);
        s.mark("issuing_body", body, d, Face::SansBold, 25.0);
        s.advance(30.0);
        let signer = Person::random(rng, Some(Sex::Male), 1965, 1980).full_name();
        if with_seal {
            let b = seal(
                &mut s.img,
                self.fonts,
                560.0,
                s.y + 70.0,
                78.0,
                "BỘ CÔNG AN * CỤC CẢNH SÁT QLHC VỀ TTXH",
                SEAL_RED,
            );
            s.seal = Some(b);
        }
        signature(
            &mut s.img,
            560.0,
            s.y + 20.0,
            220.0,
            90.0,
            rng.gen_range(0.0..6.0),
        );
        s.y += 150.0;
        s.put(480.0, &signer, Face::SansBold, 30.0, INK);
        s.advance(30.0);
        // Fingerprint boxes (light).
        render::stroke_rect(
            &mut s.img,
            BBox::new(1030, 330, 120, 150),
            2,
            [190, 190, 190],
            false,
        );
        render::stroke_rect(
            &mut s.img,
            BBox::new(1165, 330, 120, 150),
            2,
            [190, 190, 190],
            false,
        );
        let data = mrz::MrzData {
            document_code: "ID".into(),
            issuing_state: "VNM".into(),
            document_number: p.id_number[3..].to_string(),
            optional: p.id_number.clone(),
            birth: p.birth.yymmdd(),
            sex: p.sex.mrz(),
            expiry: expiry.yymmdd(),
            nationality: "VNM".into(),
            surname: p.surname.clone(),
            given_names: format!("{} {}", p.middle, p.given),
        };
        let zone = mrz::td1(&data);
        s.y = 775.0;
        for l in &zone {
            s.put(335.0, l, Face::Mono, 41.0, INK);
            s.advance(31.0);
        }
        s.fields.holder_name = Some(p.full_name_upper());
        s.fields.birth_date = Some(p.birth.dmy());
        s.fields.sex = Some(p.sex.vi().to_string());
        s.fields.id_number = Some(p.id_number.clone());
        (s, Some(zone.to_vec()))
    }

    fn ward_header(&self, s: &mut Sheet<'_>, ward: &str, province: &str) {
        s.national_heading();
        s.center(
            &format!("ỦY BAN NHÂN DÂN PHƯỜNG {}", ward.to_uppercase()),
            Face::SansBold,
            46.0,
        );
        s.center(
            &format!("THÀNH PHỐ {}", province.to_uppercase()),
            Face::Sans,
            42.0,
        );
        s.gap(20.0);
    }

    fn birth_certificate(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 2000, 2020);
        let mother = Person::random(rng, Some(Sex::Female), p.birth.year - 35, p.birth.year - 20);
        let father = Person::random(rng, Some(Sex::Male), p.birth.year - 38, p.birth.year - 22);
        let reg = Date::random(rng, p.birth.year, p.birth.year).max(p.birth);
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        let number = format!("{}", rng.gen_range(1..400));
        s.field("Số:", &number, Some("document_number"));
        s.field("Quyển số:", &format!("01/{}", reg.year), None);
        s.gap(20.0);
        s.center("GIẤY KHAI SINH", Face::SansBold, 72.0);
        s.gap(20.0);
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &p.full_name_upper(),
            p.sex,
            false,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Dân tộc:", pick(rng, &people::ETHNICITIES), None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi sinh:", &format!("Bệnh viện Phụ sản {}", p.province), None);
        s.field("Quê quán:", p.province, None);
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.gap(10.0);
        s.field("Họ, chữ đệm, tên người mẹ:", &mother.full_name_upper(), None);
        s.field("Năm sinh:", &mother.birth.year.to_string(), None);
        s.field("Nơi cư trú:", &mother.address, None);
        s.field("Họ, chữ đệm, tên người cha:", &father.full_name_upper(), None);
        s.field("Năm sinh:", &father.birth.year.to_string(), None);
        s.field("Nơi cư trú:", &father.address, None);
        s.gap(10.0);
        s.field("Người đi khai sinh:", &father.full_name(), None);
        let body = format!("Ủy ban nhân dân phường {ward}");
        s.field("Nơi đăng ký:", &body, Some("issuing_body"));
        s.field("Ngày, tháng, năm đăng ký:", &reg.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", reg.words()),
            &["NGƯỜI KÝ GIẤY KHAI SINH"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn marriage_certificate(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let h = Person::random(rng, Some(Sex::Male), 1970, 2002);
        let w = Person::random(rng, Some(Sex::Female), 1972, 2003);
        let reg = Date::random(
            rng,
            h.birth.year.max(w.birth.year) + 20,
            2024.max(h.birth.year.max(w.birth.year) + 20),
        );
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        let number = format!("{}", rng.gen_range(1..300));
        s.field("Số:", &number, Some("document_number"));
        s.gap(10.0);
        s.center("GIẤY CHỨNG NHẬN KẾT HÔN", Face::SansBold, 68.0);
        s.gap(20.0);
        s.bold("Thông tin người chồng");
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &h.full_name_upper(),
            h.sex,
            true,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &h.birth.dmy(), Some("birth_date"));
        s.field("Dân tộc:", "Kinh", None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi cư trú:", &h.address, None);
        s.field("Số định danh cá nhân:", &h.id_number, Some("id_number"));
        s.gap(10.0);
        s.bold("Thông tin người vợ");
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &w.full_name_upper(),
            w.sex,
            true,
            None,
        );
        s.field("Ngày, tháng, năm sinh:", &w.birth.dmy(), None);
        s.field("Dân tộc:", "Kinh", None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi cư trú:", &w.address, None);
        s.field("Số định danh cá nhân:", &w.id_number, None);
        s.gap(10.0);
        let body = format!("Ủy ban nhân dân phường {ward}");
        s.field("Nơi đăng ký:", &body, Some("issuing_body"));
        s.field("Ngày, tháng, năm đăng ký:", &reg.dmy(), Some("issue_date"));
        s.fields.sex = Some("Nam".into());
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", reg.words()),
            &["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn high_school_diploma(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1985, 2006);
        let grad = p.birth.year + 18;
        let issue = Date::random(rng, grad, grad);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([253, 250, 238]);
        render::stroke_rect(
            &mut s.img,
            BBox::new(120, 120, PAGE_W - 240, PAGE_H - 240),
            10,
            [214, 184, 120],
            false,
        );
        s.national_heading();
        s.gap(40.0);
        s.center("BẰNG TỐT NGHIỆP TRUNG HỌC PHỔ THÔNG", Face::SerifBold, 64.0);
        s.gap(30.0);
        let body = format!("Sở Giáo dục và Đào tạo {prov}");
        s.center(
            &format!("GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO {}", prov.to_uppercase()),
            Face::SansBold,
            44.0,
        );
        s.center("cấp bằng tốt nghiệp trung học phổ thông cho", Face::Sans, 44.0);
        s.gap(30.0);
        self.person(
            &mut s,
            "Họ và tên:",
            &p.full_name(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Nơi sinh:", p.province, None);
        s.field(
            "Học sinh trường:",
            &format!("THPT {}", pick(rng, &people::STREETS)),
            None,
        );
        s.field("Năm tốt nghiệp:", &grad.to_string(), None);
        s.field(
            "Xếp loại tốt nghiệp:",
            pick(rng, &["Trung bình", "Khá", "Giỏi"]),
            None,
        );
        s.gap(20.0);
        let serial = format!("B {:07}", rng.gen_range(0..10_000_000));
        s.field("Số hiệu:", &serial, Some("document_number"));
        s.field(
            "Số vào sổ cấp bằng:",
            &format!("{}/{}", rng.gen_range(100..99999), grad),
            None,
        );
        s.field("Cơ quan cấp:", &body, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1962, 1980).full_name();
        let seal_text = format!("SỞ GIÁO DỤC VÀ ĐÀO TẠO * {} *", prov.to_uppercase());
        s.signature_block(
            &format!("{prov}, {}", issue.words()),
            &["GIÁM ĐỐC"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn university_diploma(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1975, 2002);
        let grad = p.birth.year + 22;
        let issue = Date::random(rng, grad, grad);
        let schools = [
            ("Trường Đại học Bách khoa Hà Nội", "Hà Nội"),
            ("Trường Đại học Kinh tế Quốc dân", "Hà Nội"),
            ("Trường Đại học Cần Thơ", "Cần Thơ"),
            ("Trường Đại học Sư phạm Thành phố Hồ Chí Minh", "Hồ Chí Minh"),
            ("Trường Đại học Bách khoa - Đại học Đà Nẵng", "Đà Nẵng"),
        ];
        let (school, city) = schools[rng.gen_range(0..schools.len())];
        let majors = [
            "Công nghệ thông tin",
            "Kế toán",
            "Luật",
            "Ngôn ngữ Anh",
            "Kỹ thuật xây dựng",
            "Quản trị kinh doanh",
        ];
        let mut s = self.sheet([252, 251, 244]);
        render::stroke_rect(
            &mut s.img,
            BBox::new(120, 120, PAGE_W - 240, PAGE_H - 240),
            10,
            [150, 180, 214],
            false,
        );
        s.national_heading();
        s.gap(30.0);
        s.center(
            &format!("HIỆU TRƯỞNG {}", school.to_uppercase()),
            Face::SansBold,
            44.0,
        );
        s.center("cấp", Face::Sans, 44.0);
        s.center("BẰNG TỐT NGHIỆP ĐẠI HỌC", Face::SerifBold, 66.0);
        s.center(&format!("Ngành: {}", pick(rng, &majors)), Face::Sans, 46.0);
        s.gap(30.0);
        self.person(&mut s, "Cho:", &p.full_name(), p.sex, true, Some("holder_name"));
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field(
            "Xếp loại tốt nghiệp:",
            pick(rng, &["Khá", "Giỏi", "Xuất sắc", "Trung bình"]),
            None,
        );
        s.field("Hình thức đào tạo:", "Chính quy", None);
        s.gap(20.0);
        let serial = format!("{:06}", rng.gen_range(0..1_000_000));
        s.field("Số hiệu:", &serial, Some("document_number"));
        s.field(
            "Số vào sổ gốc cấp văn bằng:",
            &format!("{}/ĐH{}", rng.gen_range(100..9999), grad),
            None,
        );
        s.field("Cơ quan cấp:", school, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1960, 1978).full_name();
        let seal_text = format!("BỘ GIÁO DỤC VÀ ĐÀO TẠO * {} *", school.to_uppercase());
        s.signature_block(
            &format!("{city}, {}", issue.words()),
            &["HIỆU TRƯỞNG"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn transcript(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1990, 2008);
        let year = p.birth.year + 17;
        let issue = Date::random(rng, year + 1, year + 1);
        let school = format!("Trường THPT {}", pick(rng, &people::STREETS));
        let mut s = self.sheet([255, 255, 255]);
        s.national_heading();
        s.center("HỌC BẠ TRUNG HỌC PHỔ THÔNG", Face::SansBold, 62.0);
        s.gap(10.0);
        s.field(
            "Số:",
            &format!("{}/HB", rng.gen_range(1..999)),
            Some("document_number"),
        );
        self.person(
            &mut s,
            "Họ và tên:",
            &p.full_name(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Nơi sinh:", p.province, None);
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.field("Lớp 12, năm học:", &format!("{}-{}", year, year + 1), None);
        s.gap(10.0);
        s.bold("Môn học | Học kỳ I | Học kỳ II | Cả năm");
        let subjects = [
            "Toán",
            "Ngữ văn",
            "Tiếng Anh",
            "Vật lý",
            "Hóa học",
            "Sinh học",
            "Lịch sử",
            "Địa lý",
        ];
        for subj in subjects {
            let a: f32 = rng.gen_range(50..100) as f32 / 10.0;
            let b: f32 = rng.gen_range(50..100) as f32 / 10.0;
            let all = (a + 2.0 * b) / 3.0;
            let fmt = |v: f32| format!("{v:.1}").replace('.', ",");
            s.text(&format!("{subj} | {} | {} | {}", fmt(a), fmt(b), fmt(all)));
        }
        s.field("Học lực cả năm:", pick(rng, &["Khá", "Giỏi", "Trung bình"]), None);
        s.field("Hạnh kiểm:", "Tốt", None);
        s.field("Trường:", &school, Some("issuing_body"));
        s.field("Ngày xác nhận:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("SỞ GD&ĐT * {} *", school.to_uppercase());
        s.signature_block(
            &format!("Ngày xác nhận: {}", issue.words()),
            &["HIỆU TRƯỞNG"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn land_certificate(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1950, 1995);
        let issue = Date::random(rng, 2010, 2024);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([252, 240, 240]);
        s.national_heading();
        s.center("GIẤY CHỨNG NHẬN", Face::SansBold, 64.0);
        s.center("QUYỀN SỬ DỤNG ĐẤT, QUYỀN SỞ HỮU NHÀ Ở", Face::SansBold, 50.0);
        s.center("VÀ TÀI SẢN KHÁC GẮN LIỀN VỚI ĐẤT", Face::SansBold, 50.0);
        s.gap(20.0);
        s.bold("I. Người sử dụng đất, chủ sở hữu nhà ở và tài sản khác gắn liền với đất");
        let title = if p.sex == Sex::Male { "Ông:" } else { "Bà:" };
        self.person(
            &mut s,
            title,
            &p.full_name_upper(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Năm sinh:", &p.birth.year.to_string(), Some("birth_date"));
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.field("Địa chỉ thường trú:", &p.address, None);
        s.gap(10.0);
        s.bold("II. Thửa đất, nhà ở và tài sản khác gắn liền với đất");
        s.text(&format!(
            "a) Thửa đất số: {}, tờ bản đồ số: {}",
            rng.gen_range(1..999),
            rng.gen_range(1..99)
        ));
        s.text(&format!(
            "b) Địa chỉ: {}",
            Person::random(rng, None, 1960, 1990).address
        ));
        s.text(&format!(
            "c) Diện tích: {},{} m²",
            rng.gen_range(40..400),
            rng.gen_range(0..10)
        ));
        s.text("d) Hình thức sử dụng: Sử dụng riêng");
        s.text("đ) Mục đích sử dụng: Đất ở tại đô thị");
        s.text("e) Thời hạn sử dụng: Lâu dài");
        s.gap(10.0);
        let serial = format!(
            "C{} {:06}",
            pick(rng, &["S", "X", "Y", "Đ"]),
            rng.gen_range(0..1_000_000)
        );
        s.field("Số phát hành:", &serial, Some("document_number"));
        s.field(
            "Số vào sổ cấp GCN:",
            &format!("CS {:05}", rng.gen_range(0..100_000)),
            None,
        );
        let body = format!("Sở Tài nguyên và Môi trường {prov}");
        s.field("Cơ quan cấp:", &body, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1960, 1980).full_name();
        let seal_text = format!("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG * {} *", prov.to_uppercase());
        s.signature_block(
            &format!("{prov}, {}", issue.words()),
            &["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn driving_licence(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1960, 2005);
        let issue = Date::random(rng, (p.birth.year + 18).max(2016), 2024.max(p.birth.year + 18));
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.card_sheet([246, 238, 218]);
        s.center_at(840.0, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 29.0);
        s.center_at(840.0, "Độc lập - Tự do - Hạnh phúc", Face::SansBold, 28.0);
        let w = self
            .fonts
            .width(Face::SansBold, 36.0, "GIẤY PHÉP LÁI XE / DRIVER'S LICENSE");
        s.put(
            840.0 - w / 2.0,
            "GIẤY PHÉP LÁI XE / DRIVER'S LICENSE",
            Face::SansBold,
            36.0,
            [190, 30, 40],
        );
        s.advance(36.0);
        render::fill_rect(&mut s.img, BBox::new(330, 520, 230, 290), [212, 212, 214]);
        s.left = 590.0;
        let number = format!("{}{:09}", p.province_code, rng.gen_range(0..1_000_000_000u32));
        s.field("Số / No:", &number, Some("document_number"));
        s.field("Họ tên / Full name:", &p.full_name_upper(), Some("holder_name"));
        s.field("Ngày sinh / Date of Birth:", &p.birth.dmy(), Some("birth_date"));
        s.field("Quốc tịch / Nationality:", "VIỆT NAM", None);
        s.field("Nơi cư trú / Address:", p.province, None);
        s.field("Hạng / Class:", pick(rng, &["A1", "B2", "B", "C"]), None);
        s.field("Ngày cấp / Date of issue:", &issue.dmy(), Some("issue_date"));
        s.field("Có giá trị đến / Expires:", &issue.plus_years(10).dmy(), None);
        let body = format!("SỞ GIAO THÔNG VẬN TẢI {}", prov.to_uppercase());
        let d = s.put(s.left, &body, Face::SansBold, 27.0, INK);
        s.mark("issuing_body", &body, d, Face::SansBold, 27.0);
        s.advance(30.0);
        if with_seal {
            let text = format!("SỞ GTVT * {} *", prov.to_uppercase());
            s.seal = Some(seal(&mut s.img, self.fonts, 1170.0, 840.0, 70.0, &text, SEAL_RED));
        }
        s
    }

    fn passport(&self, rng: &mut ChaCha8Rng) -> (Sheet<'f>, Option<Vec<String>>) {
        let p = Person::random(rng, None, 1950, 2010);
        let issue = Date::random(rng, 2016, 2024);
        let expiry = issue.plus_years(10);
        let mut s = self.sheet([255, 255, 255]);
        let page = BBox::new(300, 300, 1476, 1039);
        render::fill_rect(&mut s.img, page, [238, 242, 232]);
        render::stroke_rect(&mut s.img, page, 3, [170, 170, 170], false);
        s.left = 330.0;
        s.right = 1746.0;
        s.y = 325.0;
        s.body = 33.0;
        s.center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 34.0);
        s.center("SOCIALIST REPUBLIC OF VIET NAM", Face::SansBold, 32.0);
        s.center("HỘ CHIẾU / PASSPORT", Face::SansBold, 40.0);
        render::fill_rect(&mut s.img, BBox::new(340, 530, 300, 390), [214, 214, 216]);
        s.left = 680.0;
        let number = format!(
            "{}{:07}",
            pick(rng, &["C", "E", "K"]),
            rng.gen_range(0..10_000_000)
        );
        s.field(
            "Loại / Type: P   Mã số / Code: VNM   Số hộ chiếu / Passport No.:",
            &number,
            Some("document_number"),
        );
        s.field(
            "Họ và tên / Full name:",
            &p.full_name_upper(),
            Some("holder_name"),
        );
        s.field("Quốc tịch / Nationality:", "VIỆT NAM / VIETNAMESE", None);
        s.field("Ngày sinh / Date of birth:", &p.birth.dmy(), Some("birth_date"));
        s.field("Nơi sinh / Place of birth:", &p.province.to_uppercase(), None);
        s.field("Giới tính / Sex:", p.sex.vi(), Some("sex"));
        s.field("Số GCMND / ID card No:", &p.id_number, Some("id_number"));
        s.field("Ngày cấp / Date of issue:", &issue.dmy(), Some("issue_date"));
        s.field("Có giá trị đến / Date of expiry:", &expiry.dmy(), None);
        let body = "Cục Quản lý xuất nhập cảnh";
        s.field("Nơi cấp / Place of issue:", body, Some("issuing_body"));
        let data = mrz::MrzData {
            document_code: "P".into(),
            issuing_state: "VNM".into(),
            document_number: number.clone(),
            optional: p.id_number.clone(),
            birth: p.birth.yymmdd(),
            sex: p.sex.mrz(),
            expiry: expiry.yymmdd(),
            nationality: "VNM".into(),
            surname: p.surname.clone(),
            given_names: format!("{} {}", p.middle, p.given),
        };
        let zone = mrz::td3(&data);
        s.y = 1200.0;
        for l in &zone {
            s.put(345.0, l, Face::Mono, 47.0, INK);
            s.advance(38.0);
        }
        (s, Some(zone.to_vec()))
    }

    fn civil_extract(&self, rng: &mut ChaCha8Rng, with_seal: bool) -> Sheet<'f> {
        let p = Person::random(rng, None, 1960, 2020);
        let reg = Date::random(rng, p.birth.year, p.birth.year).max(p.birth);
        let issue = Date::random(rng, 2020, 2024);
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        let number = format!("{}/TLKS-BS", rng.gen_range(1..999));
        s.field("Số:", &number, Some("document_number"));
        s.gap(10.0);
        s.center("TRÍCH LỤC KHAI SINH", Face::SansBold, 68.0);
        s.center("(BẢN SAO)", Face::Sans, 46.0);
        s.gap(10.0);
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &p.full_name_upper(),
            p.sex,
            false,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Dân tộc:", "Kinh", None);
        s.field("Quốc tịch:", "Việt Nam", None);
        s.field("Nơi sinh:", p.province, None);
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        let mother = Person::random(rng, Some(Sex::Female), p.birth.year - 35, p.birth.year - 20);
        let father = Person::random(rng, Some(Sex::Male), p.birth.year - 38, p.birth.year - 22);
        s.field("Họ, chữ đệm, tên người mẹ:", &mother.full_name_upper(), None);
        s.field("Họ, chữ đệm, tên người cha:", &father.full_name_upper(), None);
        s.field(
            "Nơi đăng ký khai sinh:",
            &format!("Ủy ban nhân dân phường {ward}"),
            None,
        );
        s.field("Ngày, tháng, năm đăng ký:", &reg.dmy(), None);
        let body = format!("Ủy ban nhân dân phường {ward}");
        s.field("Cơ quan cấp trích lục:", &body, Some("issuing_body"));
        s.field("Ngày cấp:", &issue.dmy(), Some("issue_date"));
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", issue.words()),
            &["NGƯỜI KÝ TRÍCH LỤC"],
            &signer,
            with_seal.then_some(seal_text.as_str()),
            rng,
        );
        s
    }

    fn foreign_birth_certificate(&self, rng: &mut ChaCha8Rng) -> Sheet<'f> {
        let p = Person::random(rng, None, 2000, 2020);
        let reg = Date::random(rng, p.birth.year, p.birth.year).max(p.birth);
        let months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let long = |d: &Date| {
            format!(
                "{} {} {}",
                d.day,
                months[(d.month as usize).saturating_sub(1) % 12],
                d.year
            )
        };
        let places = [
            ("Sydney, New South Wales", "NEW SOUTH WALES"),
            ("Auckland", "NEW ZEALAND"),
            ("Toronto, Ontario", "ONTARIO"),
        ];
        let (place, state) = places[rng.gen_range(0..places.len())];
        let mut s = self.sheet([255, 255, 255]);
        s.center(
            &format!("{state} REGISTRY OF BIRTHS, DEATHS AND MARRIAGES"),
            Face::SerifBold,
            48.0,
        );
        s.gap(30.0);
        s.center("BIRTH CERTIFICATE", Face::SerifBold, 72.0);
        s.gap(30.0);
        let number = format!("{}/{:06}", reg.year, rng.gen_range(0..1_000_000));
        s.field("Registration number:", &number, Some("document_number"));
        let name = people::mrz_free_name(&p);
        s.field("Full name:", &name, Some("holder_name"));
        s.field("Date of birth:", &long(&p.birth), Some("birth_date"));
        s.field(
            "Sex:",
            if p.sex == Sex::Male { "Male" } else { "Female" },
            Some("sex"),
        );
        s.field("Place of birth:", place, None);
        s.field(
            "Mother:",
            &people::mrz_free_name(&Person::random(rng, Some(Sex::Female), 1970, 1995)),
            None,
        );
        s.field(
            "Father:",
            &people::mrz_free_name(&Person::random(rng, Some(Sex::Male), 1968, 1993)),
            None,
        );
        s.field("Date of registration:", &long(&reg), Some("issue_date"));
        let body = format!("Registry of Births, Deaths and Marriages, {state}");
        s.field("Issued by:", &body, Some("issuing_body"));
        let seal_text = format!("REGISTRAR * {state} *");
        s.signature_block(
            &format!("Issued on {}", long(&reg)),
            &["REGISTRAR"],
            "J. SMITH",
            Some(seal_text.as_str()),
            rng,
        );
        s
    }
}

fn cccd_expiry(p: &Person, issue: &Date) -> Date {
    let age_at_issue = issue.year.saturating_sub(p.birth.year);
    let years = [25u16, 40, 60]
        .into_iter()
        .find(|a| *a > age_at_issue + 2)
        .unwrap_or(60);
    p.birth.plus_years(years)
}

fn art22_case(spec: &PageSpec, rng: &mut ChaCha8Rng) -> Art22Case {
    let foreign_ok = spec.doc_type == DocType::BirthCertificate;
    let n = if foreign_ok { 4 } else { 3 };
    match spec.index % n {
        0 => Art22Case::SecrecyStamp {
            text: if rng.gen_bool(0.5) { "MẬT" } else { "TỐI MẬT" }.into(),
        },
        1 => Art22Case::NoCopyMark {
            text: "KHÔNG ĐƯỢC SAO CHỤP".into(),
        },
        2 if spec.doc_type.seal_required() => Art22Case::MissingSeal,
        2 => Art22Case::SecrecyStamp {
            text: "TỐI MẬT".into(),
        },
        _ => Art22Case::ForeignNotLegalised,
    }
}

/// Draws a red rectangular stamp in the top band (above the national heading); returns its box.
fn stamp(s: &mut Sheet<'_>, text: &str, rng: &mut ChaCha8Rng) -> BBox {
    let size = if text.chars().count() > 8 { 56.0 } else { 84.0 };
    let w = s.fonts.width(Face::SansBold, size, text);
    let x = rng.gen_range(1500.0..(PAGE_W as f32 - 200.0 - w - 40.0).max(1501.0));
    let y = 70.0;
    let pad = 24.0;
    let color = [200, 30, 40];
    let d = draw_text(&mut s.img, s.fonts, Face::SansBold, size, x, y + pad, text, color);
    let b = BBox::new(
        (x - pad) as u32,
        y as u32,
        (w + 2.0 * pad) as u32,
        (size * 1.2 + 2.0 * pad) as u32,
    );
    render::stroke_rect(&mut s.img, b, 7, color, true);
    s.lines.insert(
        0,
        TruthLine {
            text: text.into(),
            bbox: d.ink,
        },
    );
    // Field marks point at lines by index: the new first line shifts them.
    for m in s.marks.values_mut() {
        m.line += 1;
    }
    b
}

/// Draws a secrecy or do-not-copy stamp — a framed line of capitals in stamp ink — turned by a random
/// angle, at a placement that depends on `index` (top band, level with the title, over the text), on a
/// page scanned in colour or (one page in three) greyscale. The ink is multiplied with the page, as a
/// stamp over print is.
fn mark(s: &mut Sheet<'_>, index: u32, rng: &mut ChaCha8Rng) -> Variant {
    let texts = ["MẬT", "TỐI MẬT", "KHÔNG ĐƯỢC SAO CHỤP", "TUYỆT MẬT"];
    let text = texts[index as usize % texts.len()];
    let placement = [
        MarkPlacement::TopBand,
        MarkPlacement::LevelWithTitle,
        MarkPlacement::OverText,
    ][rng.gen_range(0..3usize)];
    let rotation_deg = if rng.gen_bool(0.6) {
        let a: f32 = rng.gen_range(6.0..25.0);
        if rng.gen_bool(0.5) {
            a
        } else {
            -a
        }
    } else {
        0.0
    };
    let greyscale = rng.gen_range(0..3u32) == 0;
    let size = if text.chars().count() > 8 { 56.0 } else { 84.0 };
    let pad = 24.0;
    let color = [200, 30, 40];
    let w = s.fonts.width(Face::SansBold, size, text);
    let (bw, bh) = (w + 2.0 * pad, size * 1.2 + 2.0 * pad);
    let side = bw.hypot(bh).ceil() as u32 + 16;
    let mut canvas = RgbImage::from_pixel(side, side, image::Rgb([255, 255, 255]));
    let (x0, y0) = ((side as f32 - bw) / 2.0, (side as f32 - bh) / 2.0);
    draw_text(
        &mut canvas,
        s.fonts,
        Face::SansBold,
        size,
        x0 + pad,
        y0 + pad,
        text,
        color,
    );
    render::stroke_rect(
        &mut canvas,
        BBox::new(x0 as u32, y0 as u32, bw as u32, bh as u32),
        7,
        color,
        true,
    );
    let turned = crate::cleanup::rotate(&canvas, rotation_deg, image::Rgb([255, 255, 255]));
    // The title: the tallest line in the upper half of the page.
    let title = s
        .lines
        .iter()
        .filter(|l| l.bbox.y < PAGE_H / 2)
        .max_by_key(|l| l.bbox.h)
        .map(|l| l.bbox);
    let body: Vec<BBox> = s
        .lines
        .iter()
        .map(|l| l.bbox)
        .filter(|b| b.y > PAGE_H / 3 && b.y < PAGE_H * 3 / 4)
        .collect();
    let half = side as f32 / 2.0;
    let (cx, cy) = match (placement, title, body.is_empty()) {
        (MarkPlacement::LevelWithTitle, Some(t), _) => {
            let right = t.x as f32 + t.w as f32 + 40.0 + bw / 2.0;
            let cx = if right + bw / 2.0 < PAGE_W as f32 - 60.0 {
                right
            } else {
                (t.x as f32 - 40.0 - bw / 2.0).max(bw / 2.0 + 60.0)
            };
            (cx, t.y as f32 + t.h as f32 / 2.0)
        }
        (MarkPlacement::OverText, _, false) => {
            let l = body[rng.gen_range(0..body.len())];
            (l.x as f32 + l.w as f32 / 2.0, l.y as f32 + l.h as f32 / 2.0)
        }
        _ => (
            rng.gen_range(1500.0..(PAGE_W as f32 - 200.0 - bw / 2.0).max(1501.0)),
            70.0 + bh / 2.0,
        ),
    };
    let (ox, oy) = ((cx - half).max(0.0) as u32, (cy - half).max(0.0) as u32);
    let (mut rx0, mut ry0, mut rx1, mut ry1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in turned.enumerate_pixels() {
        if p.0 == [255, 255, 255] {
            continue;
        }
        let (px, py) = (ox + x, oy + y);
        if px >= s.img.width() || py >= s.img.height() {
            continue;
        }
        let q = s.img.get_pixel_mut(px, py);
        for c in 0..3 {
            q.0[c] = ((u32::from(q.0[c]) * u32::from(p.0[c])) / 255) as u8;
        }
        (rx0, ry0, rx1, ry1) = (rx0.min(px), ry0.min(py), rx1.max(px), ry1.max(py));
    }
    let region = BBox::new(rx0, ry0, rx1.saturating_sub(rx0) + 1, ry1.saturating_sub(ry0) + 1);
    let case = if text.starts_with("KHÔNG") {
        Art22Case::NoCopyMark { text: text.into() }
    } else {
        Art22Case::SecrecyStamp { text: text.into() }
    };
    Variant::Marked {
        case,
        region,
        placement,
        rotation_deg,
        greyscale,
    }
}

fn tamper(s: &mut Sheet<'_>, index: u32, rng: &mut ChaCha8Rng) -> Variant {
    let kind = [
        TamperKind::AlteredDigit,
        TamperKind::PastedRegion,
        TamperKind::ErasedArea,
    ][index as usize % 3];
    let digit_fields = ["id_number", "birth_date", "issue_date", "document_number"];
    let target = match kind {
        TamperKind::ErasedArea => ["issue_date", "document_number", "birth_date"]
            .iter()
            .find(|f| s.marks.contains_key(**f))
            .copied(),
        _ => digit_fields
            .iter()
            .find(|f| {
                s.marks
                    .get(**f)
                    .is_some_and(|m| m.value.chars().filter(|c| c.is_ascii_digit()).count() >= 2)
            })
            .copied(),
    }
    .unwrap_or("holder_name");
    let Some(mark) = s.marks.get(target).cloned() else {
        return Variant::Clean;
    };
    let digits: Vec<usize> = mark
        .cells
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let original = mark.value.clone();
    let (region, visible) = match kind {
        TamperKind::ErasedArea => {
            let b = mark.ink;
            let region = BBox::new(b.x.saturating_sub(6), b.y.saturating_sub(6), b.w + 12, b.h + 12);
            render::fill_rect(&mut s.img, region, s.paper);
            (region, String::new())
        }
        TamperKind::AlteredDigit if !digits.is_empty() => {
            let i = digits[rng.gen_range(0..digits.len())];
            let (c, cell) = mark.cells[i];
            let old = c.to_digit(10).unwrap_or(0);
            let new = (old + rng.gen_range(1..10)) % 10;
            let new_c = char::from_digit(new, 10).unwrap_or('0');
            // White out the glyph body only (keep neighbours), then draw the new digit in another face.
            let region = BBox::new(
                cell.x + 1,
                cell.y + (cell.h / 8),
                cell.w.saturating_sub(2),
                cell.h - cell.h / 4,
            );
            render::fill_rect(&mut s.img, region, s.paper);
            let face = if matches!(mark.face, Face::Serif | Face::SerifBold) {
                Face::Sans
            } else {
                Face::Serif
            };
            let size = mark.size * rng.gen_range(0.92..1.08);
            draw_text(
                &mut s.img,
                s.fonts,
                face,
                size,
                cell.x as f32,
                cell.y as f32 + (mark.size - size) * 0.8,
                &new_c.to_string(),
                INK,
            );
            let visible: String = mark
                .value
                .chars()
                .enumerate()
                .map(|(j, ch)| if j == i { new_c } else { ch })
                .collect();
            (region, visible)
        }
        TamperKind::PastedRegion if digits.len() >= 2 => {
            // Copy the cell of a different digit of the same value over the target digit.
            let i = digits[rng.gen_range(0..digits.len())];
            let (c, dst) = mark.cells[i];
            let src_i = digits
                .iter()
                .copied()
                .find(|j| mark.cells[*j].0 != c)
                .unwrap_or(digits[0]);
            let (src_c, src) = mark.cells[src_i];
            let w = dst.w.min(src.w);
            let h = dst.h.min(src.h);
            let patch = image::imageops::crop_imm(&s.img, src.x, src.y, w, h).to_image();
            image::imageops::replace(&mut s.img, &patch, dst.x as i64, dst.y as i64);
            let visible: String = mark
                .value
                .chars()
                .enumerate()
                .map(|(j, ch)| if j == i { src_c } else { ch })
                .collect();
            (BBox::new(dst.x, dst.y, w, h), visible)
        }
        _ => {
            let b = mark.ink;
            render::fill_rect(&mut s.img, b, s.paper);
            (b, String::new())
        }
    };
    // The line now reads differently.
    if let Some(line) = s.lines.get_mut(mark.line) {
        if let Some(pos) = line.text.rfind(&original) {
            line.text.replace_range(pos..pos + original.len(), &visible);
            line.text = line.text.trim_end().to_string();
        }
    }
    Variant::Tampered {
        tamper: kind,
        field: target.to_string(),
        region,
        original,
        visible,
    }
}

/// A table of standard normal samples, indexed by random bits (fast, deterministic noise).
fn normal_table() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6e6f697365);
    (0..4096)
        .map(|_| {
            let u1: f32 = rng.gen_range(1e-7f32..1.0);
            let u2: f32 = rng.gen_range(0.0f32..1.0);
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

/// A greyscale scan: every pixel to its luma (ITU-R BT.601 weights).
pub fn to_greyscale(img: &mut RgbImage) {
    for p in img.pixels_mut() {
        let l = ((u32::from(p.0[0]) * 299 + u32::from(p.0[1]) * 587 + u32::from(p.0[2]) * 114) / 1000) as u8;
        p.0 = [l, l, l];
    }
}

/// Separable Gaussian blur of an RGB image.
pub fn gaussian_blur(img: &RgbImage, sigma: f32) -> RgbImage {
    if sigma <= 0.05 {
        return img.clone();
    }
    let r = (sigma * 3.0).ceil() as i64;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|v| v / sum).collect();
    let (w, h) = (img.width() as i64, img.height() as i64);
    let pass = |src: &[u8], horizontal: bool| -> Vec<u8> {
        let mut out = vec![0u8; src.len()];
        for y in 0..h {
            for x in 0..w {
                for ch in 0..3 {
                    let mut acc = 0f32;
                    for (ki, kv) in k.iter().enumerate() {
                        let o = ki as i64 - r;
                        let (sx, sy) = if horizontal {
                            ((x + o).clamp(0, w - 1), y)
                        } else {
                            (x, (y + o).clamp(0, h - 1))
                        };
                        acc += src[((sy * w + sx) * 3 + ch) as usize] as f32 * kv;
                    }
                    out[((y * w + x) * 3 + ch) as usize] = acc.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        out
    };
    let tmp = pass(img.as_raw(), true);
    let out = pass(&tmp, false);
    RgbImage::from_raw(img.width(), img.height(), out).unwrap_or_else(|| img.clone())
}

fn degrade(s: &mut Sheet<'_>, rng: &mut ChaCha8Rng) -> (Variant, u8) {
    let rotation_deg: f32 = rng.gen_range(-3.0..3.0);
    let blur_sigma: f32 = rng.gen_range(0.4..1.1);
    let noise_sigma: f32 = rng.gen_range(4.0..12.0);
    let jpeg_quality: u8 = rng.gen_range(40..=70);
    let mut img = rotate(&s.img, rotation_deg, Rgb(s.paper));
    img = gaussian_blur(&img, blur_sigma);
    let table = normal_table();
    for px in img.pixels_mut() {
        let n = table[(rng.next_u32() & 4095) as usize] * noise_sigma;
        for ch in px.0.iter_mut() {
            *ch = (*ch as f32 + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    s.img = img;
    // Move every box with the page.
    let turn = |b: BBox| rotate_box(b, rotation_deg, PAGE_W, PAGE_H);
    for l in &mut s.lines {
        l.bbox = turn(l.bbox);
    }
    for m in s.marks.values_mut() {
        m.ink = turn(m.ink);
    }
    s.seal = s.seal.map(turn);
    (
        Variant::Degraded {
            noise_sigma,
            blur_sigma,
            rotation_deg,
            jpeg_quality,
        },
        jpeg_quality,
    )
}

/// Captures the page at 200 dpi (even `index`) or with a phone (odd): returns the variant, the JPEG quality
/// and the delivered image's resolution. Every box moves with the page.
fn capture(s: &mut Sheet<'_>, index: u32, rng: &mut ChaCha8Rng) -> (Variant, u8, u32) {
    let mode = if index.is_multiple_of(2) {
        CaptureMode::Scan200
    } else {
        CaptureMode::Phone
    };
    let (rotation_deg, keystone, shading, blur_sigma, noise_sigma, jpeg_quality, dpi) = match mode {
        CaptureMode::Scan200 => (
            rng.gen_range(-1.5f32..1.5),
            0.0f32,
            1.0f32,
            rng.gen_range(0.3f32..0.6),
            rng.gen_range(3.0f32..6.0),
            rng.gen_range(75u8..=90),
            200u32,
        ),
        CaptureMode::Phone => (
            rng.gen_range(-4.0f32..4.0),
            rng.gen_range(0.02f32..0.06),
            rng.gen_range(0.72f32..0.9),
            rng.gen_range(0.8f32..1.3),
            rng.gen_range(5.0f32..9.0),
            rng.gen_range(70u8..=85),
            225u32,
        ),
    };
    let paper = Rgb(s.paper);
    let (w, h) = (PAGE_W as f32, PAGE_H as f32);
    // Keystone: a row at height y is narrowed about the centre by k × (1 − y/h).
    let narrow = |y: f32| 1.0 - keystone * (1.0 - y / h);
    let mut img = if keystone > 0.0 {
        let src = &s.img;
        RgbImage::from_fn(PAGE_W, PAGE_H, |x, y| {
            let f = narrow(y as f32);
            let sx = w / 2.0 + (x as f32 - w / 2.0) / f;
            if sx < 0.0 || sx >= w - 1.0 {
                return paper;
            }
            let (x0, t) = (sx.floor() as u32, sx.fract());
            let (a, b) = (src.get_pixel(x0, y).0, src.get_pixel(x0 + 1, y).0);
            Rgb(std::array::from_fn(|c| {
                (f32::from(a[c]) * (1.0 - t) + f32::from(b[c]) * t).round() as u8
            }))
        })
    } else {
        s.img.clone()
    };
    img = rotate(&img, rotation_deg, paper);
    // Light falling off across the page in a random direction.
    let dir = rng.gen_range(0.0f32..std::f32::consts::TAU);
    let (dx, dy) = (dir.cos(), dir.sin());
    let span = w.abs().hypot(h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let t = ((x as f32 - w / 2.0) * dx + (y as f32 - h / 2.0) * dy) / span + 0.5;
        let light = 1.0 - (1.0 - shading) * t.clamp(0.0, 1.0);
        for ch in px.0.iter_mut() {
            *ch = (f32::from(*ch) * light).round() as u8;
        }
    }
    img = gaussian_blur(&img, blur_sigma);
    let table = normal_table();
    for px in img.pixels_mut() {
        let n = table[(rng.next_u32() & 4095) as usize] * noise_sigma;
        for ch in px.0.iter_mut() {
            *ch = (*ch as f32 + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    let scale = dpi as f32 / DPI as f32;
    let (nw, nh) = ((w * scale).round() as u32, (h * scale).round() as u32);
    s.img = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle);
    // Every box: narrowed, turned, scaled.
    let move_box = |b: BBox| {
        let xs = |x: u32, y: u32| w / 2.0 + (x as f32 - w / 2.0) * narrow(y as f32);
        let x0 = xs(b.x, b.y).min(xs(b.x, b.bottom()));
        let x1 = xs(b.right(), b.y).max(xs(b.right(), b.bottom()));
        let narrowed = BBox::new(x0 as u32, b.y, (x1 - x0).max(1.0) as u32, b.h);
        let t = rotate_box(narrowed, rotation_deg, PAGE_W, PAGE_H);
        BBox::new(
            (t.x as f32 * scale) as u32,
            (t.y as f32 * scale) as u32,
            ((t.w as f32 * scale) as u32).max(1),
            ((t.h as f32 * scale) as u32).max(1),
        )
    };
    for l in &mut s.lines {
        l.bbox = move_box(l.bbox);
    }
    for m in s.marks.values_mut() {
        m.ink = move_box(m.ink);
    }
    s.seal = s.seal.map(move_box);
    s.qr = s.qr.take().map(|(q, b)| (q, move_box(b)));
    (
        Variant::Captured {
            mode,
            dpi,
            rotation_deg,
            keystone,
            shading,
            blur_sigma,
            noise_sigma,
            jpeg_quality,
        },
        jpeg_quality,
        dpi,
    )
}

/// The box holding `b` after a counter-clockwise turn of the page by `deg` about its centre.
pub fn rotate_box(b: BBox, deg: f32, w: u32, h: u32) -> BBox {
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let corners = [
        (b.x, b.y),
        (b.right(), b.y),
        (b.x, b.bottom()),
        (b.right(), b.bottom()),
    ];
    let pts: Vec<(f32, f32)> = corners
        .iter()
        .map(|&(x, y)| {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            (dx * c + dy * s + cx, -dx * s + dy * c + cy)
        })
        .collect();
    let x0 = pts.iter().map(|p| p.0).fold(f32::MAX, f32::min).max(0.0);
    let y0 = pts.iter().map(|p| p.1).fold(f32::MAX, f32::min).max(0.0);
    let x1 = pts.iter().map(|p| p.0).fold(f32::MIN, f32::max).min(w as f32);
    let y1 = pts.iter().map(|p| p.1).fold(f32::MIN, f32::max).min(h as f32);
    BBox::new(
        x0 as u32,
        y0 as u32,
        (x1 - x0).max(1.0) as u32,
        (y1 - y0).max(1.0) as u32,
    )
}

/// PNG with fast compression (generation speed matters more than file size here).
pub fn encode_png(img: &RgbImage) -> Result<Vec<u8>, IntakeError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::ImageEncoder;
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| IntakeError::Encode(e.to_string()))?;
    Ok(out)
}

/// Baseline JPEG at `quality`.
pub fn encode_jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, IntakeError> {
    let mut out = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .map_err(|e| IntakeError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}
