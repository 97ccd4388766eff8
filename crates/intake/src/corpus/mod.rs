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

mod generate;
mod layouts;
mod sheet;
mod variants;

use generate::*;
use sheet::*;
pub use variants::*;

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
