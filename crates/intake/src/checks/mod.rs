//! Checks on one page: each is named, has a result (pass / warn / fail / not applicable / unchecked), a plain
//! message and its evidence (numbers, boxes), so a decision can always be explained by the checks that drove it.
//!
//! Names are stable (`quality.blur`, `art22.secrecy_mark`, `forensics.copy_move`, …): the server stores them
//! with the request and officers and auditors read them. A check that does not concern a page (no MRZ on a
//! diploma, a white page where glare is not measurable) says `not_applicable`. A check that concerns the page
//! but could not run because what it needs could not be read (the birth date a document carries, when the
//! verified identity has one to compare) says `unchecked`: that is never a pass, and the decision sends the
//! request to an officer (fail closed).

pub mod forensics;
pub mod hash;
pub mod seal;
pub mod typeface;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::geometry::BBox;
use crate::ocr::OcrPage;
use crate::recognise::{Classification, DocClass, Issuer, Recognition};
use crate::text::{self, exact_form, fold};

mod art22;
mod identity;
mod legibility;
mod qr;
mod quality;

pub use art22::*;
pub use identity::*;
pub use legibility::*;
pub use qr::*;
pub use quality::*;

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    NotApplicable,
    Warn,
    /// The check concerns this page but could not run: what it needs could not be read.
    Unchecked,
    Fail,
}

/// Decree 23/2015 Art. 22: grounds on which an original must not be certified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    /// Art. 22(1): erased, altered, content unlawfully added or removed.
    Altered,
    /// Art. 22(2): damaged or worn so that the content cannot be read.
    Illegible,
    /// Art. 22(3): stamped secret ("MẬT", "TỐI MẬT", "TUYỆT MẬT").
    SecrecyMark,
    /// Art. 22(3): marked "không được sao chụp".
    NoCopyMark,
    /// Art. 22(5): issued abroad and not consular-legalised.
    ForeignNotLegalised,
    /// Art. 22(6): without a competent body's confirmation and seal.
    NoSeal,
}

impl Ground {
    /// The article and clause, for the written refusal.
    pub fn article(&self) -> &'static str {
        match self {
            Ground::Altered => "Decree 23/2015 Art. 22(1)",
            Ground::Illegible => "Decree 23/2015 Art. 22(2)",
            Ground::SecrecyMark | Ground::NoCopyMark => "Decree 23/2015 Art. 22(3)",
            Ground::ForeignNotLegalised => "Decree 23/2015 Art. 22(5)",
            Ground::NoSeal => "Decree 23/2015 Art. 22(6)",
        }
    }

    /// A sentence for the citizen.
    pub fn explanation(&self) -> &'static str {
        match self {
            Ground::Altered => "the original appears to have been erased or altered",
            Ground::Illegible => "the original is damaged or worn so that its content cannot be read",
            Ground::SecrecyMark => "the original is stamped as a state secret",
            Ground::NoCopyMark => "the original is marked \"không được sao chụp\" (do not copy)",
            Ground::ForeignNotLegalised => "the original was issued abroad and is not consular-legalised",
            Ground::NoSeal => "the original does not carry the seal of a competent body",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Stable name, `family.check`.
    pub name: String,
    pub outcome: Outcome,
    pub message: String,
    /// Measured numbers and what they were compared with.
    pub evidence: serde_json::Value,
    /// Page regions the check points at.
    pub regions: Vec<BBox>,
    /// The Art. 22 ground the check speaks to, when it fails: refused without an officer only when `certain`
    /// (and the policy refuses on it); otherwise the ground an officer is shown as suggested.
    pub ground: Option<Ground>,
    /// The failure is unambiguous and shown by a region (or, for an absence, by everything looked at).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub certain: bool,
    /// For a check on the whole document: the page its evidence is on (otherwise the page it is listed under).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<usize>,
}

impl Check {
    pub fn new(
        name: &str,
        outcome: Outcome,
        message: impl Into<String>,
        evidence: serde_json::Value,
    ) -> Self {
        Check {
            name: name.to_string(),
            outcome,
            message: message.into(),
            evidence,
            regions: Vec::new(),
            ground: None,
            certain: false,
            page: None,
        }
    }

    pub fn not_applicable(name: &str, message: impl Into<String>) -> Self {
        Check::new(name, Outcome::NotApplicable, message, json!({}))
    }

    pub fn with_regions(mut self, regions: Vec<BBox>) -> Self {
        self.regions = regions;
        self
    }

    /// The ground the failure speaks to; an officer is shown it as suggested (see [`Check::certain`]).
    pub fn with_ground(mut self, ground: Ground) -> Self {
        self.ground = Some(ground);
        self
    }

    /// The failure is certain: the policy may refuse on its ground without an officer.
    pub fn certain(mut self) -> Self {
        self.certain = true;
        self
    }
}

/// The verified identity of the person asking (from the chip or the national-ID login), as the caller has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Full name with diacritics, e.g. "Nguyễn Văn An".
    pub name: Option<String>,
    /// Birth date, `dd/mm/yyyy` or `yyyy-mm-dd`.
    pub birth_date: Option<String>,
    /// 12-digit personal identification number.
    pub id_number: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------
// Image helpers

/// Luma of an RGB page (BT.601 weights, integer).
pub fn gray(img: &image::RgbImage) -> image::GrayImage {
    let (w, h) = img.dimensions();
    let mut out = image::GrayImage::new(w, h);
    for (o, p) in out.as_mut().iter_mut().zip(img.as_raw().chunks_exact(3)) {
        *o = luma([p[0], p[1], p[2]]);
    }
    out
}

/// Luma of one pixel (BT.601 weights, integer), as [`gray`] gives it.
pub fn luma(p: [u8; 3]) -> u8 {
    ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8
}

/// Share of the dark pixels in `b` whose ink is red (seal and stamp ink), 0–1, and the dark-pixel count.
pub fn red_share(img: &image::RgbImage, b: BBox) -> (f32, usize) {
    let (mut dark, mut red) = (0usize, 0usize);
    for y in b.y..b.bottom().min(img.height()) {
        for x in b.x..b.right().min(img.width()) {
            let p = img.get_pixel(x, y).0;
            let luma = (u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000;
            if luma < 170 {
                dark += 1;
                if is_red(p) {
                    red += 1;
                }
            }
        }
    }
    (if dark == 0 { 0.0 } else { red as f32 / dark as f32 }, dark)
}

/// Red seal or stamp ink: red well above green and blue.
pub fn is_red(p: [u8; 3]) -> bool {
    let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
    r > 120 && r - g > 70 && r - b > 60
}

#[cfg(test)]
mod secrecy_tests {
    use super::*;
    use crate::ocr::{OcrLine, OcrStamp, OcrWord};

    /// A white page whose OCR read `lines` (each a list of (word, height)) and `stamps`.
    fn page(lines: &[&[(&str, u32)]], stamps: &[&str]) -> (image::RgbImage, OcrPage) {
        let img = image::RgbImage::from_pixel(2480, 3508, image::Rgb([255, 255, 255]));
        let mut words = Vec::new();
        let mut out_lines = Vec::new();
        for (li, line) in lines.iter().enumerate() {
            let first = words.len();
            let y = 200 + li as u32 * 100;
            for (wi, (text, h)) in line.iter().enumerate() {
                words.push(OcrWord {
                    text: text.to_string(),
                    confidence: 90.0,
                    bbox: BBox::new(200 + wi as u32 * 300, y, 250, *h),
                    block: 1,
                    paragraph: 1,
                    line: li as u32 + 1,
                });
            }
            out_lines.push(OcrLine {
                text: line.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(" "),
                bbox: BBox::new(200, y, 2000, 60),
                confidence: 90.0,
                first_word: first,
                word_count: line.len(),
            });
        }
        // Body text of the usual height, so "large" has a meaning.
        for i in 0..20 {
            words.push(OcrWord {
                text: "chữ".into(),
                confidence: 90.0,
                bbox: BBox::new(200, 2000 + i * 60, 80, 40),
                block: 2,
                paragraph: 1,
                line: 100 + i,
            });
        }
        let ocr = OcrPage {
            page: 0,
            width: 2480,
            height: 3508,
            dpi: 300,
            text: String::new(),
            mean_confidence: 90.0,
            words,
            lines: out_lines,
            mrz_lines: None,
            stamps: stamps
                .iter()
                .map(|t| OcrStamp {
                    text: t.to_string(),
                    confidence: 80.0,
                    bbox: BBox::new(1600, 60, 300, 150),
                    source: crate::ocr::StampSource::RedInk,
                })
                .collect(),
        };
        (img, ocr)
    }

    #[test]
    fn a_stamp_read_on_its_own_is_refused_on_certainty_and_doubt_goes_to_an_officer() {
        let (img, ocr) = page(&[], &["| TỐI MẬT |"]);
        let c = secrecy_mark(&img, &ocr);
        assert_eq!(
            (c.outcome, c.ground, c.certain),
            (Outcome::Fail, Some(Ground::SecrecyMark), true),
            "{c:?}"
        );
        assert!(c.message.contains("TỐI MẬT"));
        // One letter off, in black: not certain, so an officer decides (the ground only suggested).
        let (img, ocr) = page(&[], &["MÂẬT"]);
        let c = secrecy_mark(&img, &ocr);
        assert_eq!(
            (c.outcome, c.ground, c.certain),
            (Outcome::Fail, Some(Ground::SecrecyMark), false),
            "{c:?}"
        );
        // The degree read whole and the mark's first letter misread: doubt too.
        let (img, ocr) = page(&[], &["TUYỆT IẬT"]);
        let c = secrecy_mark(&img, &ocr);
        assert_eq!((c.outcome, c.certain), (Outcome::Fail, false), "{c:?}");
        // A seal's ring text is not a mark, nor a stamp saying "ĐẤT" (land) on its own.
        let (img, ocr) = page(&[], &["ỦY BAN NHÂN DÂN PHƯỜNG MAI DỊCH"]);
        assert_eq!(secrecy_mark(&img, &ocr).outcome, Outcome::Pass);
        let (img, ocr) = page(&[], &["GIAO ĐẤT"]);
        assert_eq!(secrecy_mark(&img, &ocr).outcome, Outcome::Pass);
    }

    #[test]
    fn an_unreadable_coarse_capture_is_not_refused_on_certainty() {
        // Read at a mean confidence of 10: unreadable. From a 300-dpi capture the original is; from a phone
        // photograph or a 200-dpi scan it may be the capture, so an officer looks with the ground suggested.
        let (_, mut ocr) = page(&[&[("Số", 40), ("12", 40)]], &[]);
        for w in &mut ocr.words {
            w.confidence = 10.0;
        }
        let p = crate::decision::IntakePolicy::default();
        let sound = legibility(&ocr, &p, true);
        assert_eq!((sound.outcome, sound.certain), (Outcome::Fail, true), "{sound:?}");
        let coarse = legibility(&ocr, &p, false);
        assert_eq!(
            (coarse.outcome, coarse.ground, coarse.certain),
            (Outcome::Fail, Some(Ground::Illegible), false),
            "{coarse:?}"
        );
    }

    #[test]
    fn a_turned_mark_that_cannot_be_read_is_unchecked_never_a_pass() {
        // A greyscale stamp over text, turned: the marks pass found it but read noise.
        use crate::ocr::StampSource;
        let (img, mut ocr) = page(&[], &["IV naNf h | cơ) ® x%c$ 3 <2"]);
        for source in [
            StampSource::Turned,
            StampSource::GreyFrame,
            StampSource::RedFrame,
            StampSource::RedBesideSeal,
        ] {
            ocr.stamps[0].source = source;
            let c = secrecy_mark(&img, &ocr);
            assert_eq!(c.outcome, Outcome::Unchecked, "{source:?}: {c:?}");
            assert_eq!(c.regions, vec![ocr.stamps[0].bbox]);
        }
        // The same reading from a red group of any shape (a seal's ring text, say) is no reason to stop.
        ocr.stamps[0].source = StampSource::RedInk;
        assert_eq!(secrecy_mark(&img, &ocr).outcome, Outcome::Pass);
        // A stamp that says something else, legibly, is no mark.
        let (img, mut ocr) = page(&[], &["ĐÃ THU LỆ PHÍ"]);
        ocr.stamps[0].source = StampSource::RedFrame;
        assert_eq!(secrecy_mark(&img, &ocr).outcome, Outcome::Pass);
        // Nothing read from a stamp's frame at all: unchecked.
        ocr.stamps[0].text = String::new();
        assert_eq!(secrecy_mark(&img, &ocr).outcome, Outcome::Unchecked);
        // A turned mark read as "TỐI MẬT" is refused as before.
        let (img, mut ocr) = page(&[], &["TỐI MẬT"]);
        ocr.stamps[0].source = StampSource::Turned;
        let c = secrecy_mark(&img, &ocr);
        assert_eq!((c.outcome, c.certain), (Outcome::Fail, true), "{c:?}");
    }

    #[test]
    fn a_large_mark_level_with_the_title_is_found_among_the_title_words() {
        // A greyscale stamp on the title's line: OCR reads one line "GIẤY KHAI SINH MẬT".
        let (img, ocr) = page(&[&[("GIẤY", 60), ("KHAI", 60), ("SINH", 60), ("MẬT", 100)]], &[]);
        let c = secrecy_mark(&img, &ocr);
        assert_eq!(
            (c.outcome, c.ground),
            (Outcome::Fail, Some(Ground::SecrecyMark)),
            "{c:?}"
        );
        assert_eq!(c.regions[0].x, 200 + 3 * 300, "the region is the mark's word");
        // "bí mật" in running text of the page's own size is not a stamp.
        let (img, ocr) = page(
            &[&[("thông", 40), ("tin", 40), ("BÍ", 40), ("MẬT", 40), ("nhà", 40)]],
            &[],
        );
        assert_eq!(secrecy_mark(&img, &ocr).outcome, Outcome::Pass);
    }
}
