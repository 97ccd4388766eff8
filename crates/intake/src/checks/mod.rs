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

// ---------------------------------------------------------------------------------------------------------
// Quality

/// Blur: variance of the Laplacian over the OCR words (text is where sharpness matters), measured on the page
/// halved in both directions (2 × 2 means) so that scanner noise weighs less than edges.
pub fn blur(g: &image::GrayImage, ocr: &OcrPage, warn_below: f64, fail_below: f64) -> Check {
    const NAME: &str = "quality.blur";
    let (w, h) = g.dimensions();
    let (hw, hh) = (w / 2, h / 2);
    if hw < 3 || hh < 3 || ocr.words.is_empty() {
        return Check::not_applicable(NAME, "no text to measure sharpness on");
    }
    let half = |x: u32, y: u32| -> f64 {
        let (x2, y2) = (x * 2, y * 2);
        let s = u32::from(g.get_pixel(x2, y2)[0])
            + u32::from(g.get_pixel(x2 + 1, y2)[0])
            + u32::from(g.get_pixel(x2, y2 + 1)[0])
            + u32::from(g.get_pixel(x2 + 1, y2 + 1)[0]);
        f64::from(s) / 4.0
    };
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for word in ocr.words.iter().filter(|w| w.confidence > 30.0) {
        let b = word.bbox;
        let (x0, y0) = ((b.x / 2).max(1), (b.y / 2).max(1));
        let (x1, y1) = ((b.right() / 2).min(hw - 1), (b.bottom() / 2).min(hh - 1));
        for y in y0..y1 {
            for x in x0..x1 {
                let l = half(x - 1, y) + half(x + 1, y) + half(x, y - 1) + half(x, y + 1) - 4.0 * half(x, y);
                sum += l;
                sq += l * l;
                n += 1.0;
            }
        }
    }
    if n < 100.0 {
        return Check::not_applicable(NAME, "too little text to measure sharpness on");
    }
    let var = sq / n - (sum / n).powi(2);
    let ev =
        json!({"laplacian_variance": var, "warn_below": warn_below, "fail_below": fail_below, "pixels": n});
    if var < fail_below {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("text is blurred (variance of Laplacian {var:.0} < {fail_below})"),
            ev,
        )
    } else if var < warn_below {
        Check::new(
            NAME,
            Outcome::Warn,
            format!("text is somewhat blurred (variance of Laplacian {var:.0} < {warn_below})"),
            ev,
        )
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("text is sharp (variance of Laplacian {var:.0})"),
            ev,
        )
    }
}

/// Resolution of the page as delivered.
pub fn resolution(dpi: f32, warn_below: f32, fail_below: f32) -> Check {
    const NAME: &str = "quality.resolution";
    let ev = json!({"dpi": dpi, "warn_below": warn_below, "fail_below": fail_below});
    if dpi < fail_below {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("{dpi:.0} dpi is too low for a certified copy (< {fail_below})"),
            ev,
        )
    } else if dpi < warn_below {
        Check::new(
            NAME,
            Outcome::Warn,
            format!("{dpi:.0} dpi is below the {warn_below} dpi the copy should have"),
            ev,
        )
    } else {
        Check::new(NAME, Outcome::Pass, format!("{dpi:.0} dpi"), ev)
    }
}

/// Cut edges: ink touching the border of the image (a page placed off the glass, a folded corner), and OCR
/// words touching it (text that is certainly cut).
pub fn cut_edges(g: &image::GrayImage, ocr: &OcrPage, ink_share_warn: f64) -> Check {
    const NAME: &str = "quality.cut_edges";
    let (w, h) = g.dimensions();
    if w < 8 || h < 8 {
        return Check::not_applicable(NAME, "page too small");
    }
    let band = 3u32;
    let share = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>, along_x: bool| -> f64 {
        // Share of positions along the edge with ink anywhere in the band.
        let (mut hit, mut n) = (0u32, 0u32);
        if along_x {
            for x in xs {
                n += 1;
                if ys.clone().any(|y| g.get_pixel(x, y)[0] < 100) {
                    hit += 1;
                }
            }
        } else {
            for y in ys {
                n += 1;
                if xs.clone().any(|x| g.get_pixel(x, y)[0] < 100) {
                    hit += 1;
                }
            }
        }
        f64::from(hit) / f64::from(n.max(1))
    };
    let sides = [
        ("top", share(0..w, 0..band, true), BBox::new(0, 0, w, band)),
        (
            "bottom",
            share(0..w, h - band..h, true),
            BBox::new(0, h - band, w, band),
        ),
        ("left", share(0..band, 0..h, false), BBox::new(0, 0, band, h)),
        (
            "right",
            share(w - band..w, 0..h, false),
            BBox::new(w - band, 0, band, h),
        ),
    ];
    let touching: Vec<BBox> = ocr
        .words
        .iter()
        .filter(|wd| wd.confidence > 30.0)
        .map(|wd| wd.bbox)
        .filter(|b| b.x <= 1 || b.y <= 1 || b.right() + 1 >= w || b.bottom() + 1 >= h)
        .collect();
    let inked: Vec<&(&str, f64, BBox)> = sides.iter().filter(|s| s.1 > ink_share_warn).collect();
    let ev = json!({
        "ink_share": sides.iter().map(|s| (s.0, s.1)).collect::<std::collections::BTreeMap<_, _>>(),
        "warn_above": ink_share_warn,
        "words_touching_edge": touching.len(),
    });
    if !touching.is_empty() {
        Check::new(
            NAME,
            Outcome::Fail,
            format!(
                "{} word(s) touch the edge of the image: text is cut",
                touching.len()
            ),
            ev,
        )
        .with_regions(touching)
    } else if !inked.is_empty() {
        let names: Vec<&str> = inked.iter().map(|s| s.0).collect();
        Check::new(
            NAME,
            Outcome::Warn,
            format!("ink touches the {} edge: the page may be cut", names.join(", ")),
            ev,
        )
        .with_regions(inked.iter().map(|s| s.2).collect())
    } else {
        Check::new(NAME, Outcome::Pass, "no ink at the edges", ev)
    }
}

/// Glare: saturated (all channels ≥ 250) blobs inside the text area of a tinted page or card. On white paper
/// saturation is the paper itself and glare cannot be told apart this way: not applicable.
pub fn glare(img: &image::RgbImage, ocr: &OcrPage, warn_share: f64) -> Check {
    const NAME: &str = "quality.glare";
    let Some(area) = ocr.words.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)) else {
        return Check::not_applicable(NAME, "no text area");
    };
    // Background level: the median luma of a coarse sample of the text area.
    let mut sample = Vec::new();
    let mut sat = 0u64;
    let mut n = 0u64;
    let mut sat_box: Option<BBox> = None;
    for y in (area.y..area.bottom().min(img.height())).step_by(4) {
        for x in (area.x..area.right().min(img.width())).step_by(4) {
            let p = img.get_pixel(x, y).0;
            sample.push(p.iter().copied().min().unwrap_or(0));
            n += 1;
            if p.iter().all(|c| *c >= 250) {
                sat += 1;
                let b = BBox::new(x, y, 4, 4);
                sat_box = Some(sat_box.map_or(b, |s| s.union(&b)));
            }
        }
    }
    sample.sort_unstable();
    let median = sample.get(sample.len() / 2).copied().unwrap_or(255);
    if median >= 248 {
        return Check::not_applicable(NAME, "white paper: glare is not measurable by saturation");
    }
    let share = sat as f64 / n.max(1) as f64;
    let ev = json!({"saturated_share": share, "background_min_channel": median, "warn_above": warn_share});
    if share > warn_share {
        Check::new(
            NAME,
            Outcome::Warn,
            format!("{:.1} % of the text area is saturated: glare", share * 100.0),
            ev,
        )
        .with_regions(sat_box.into_iter().collect())
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("{:.2} % saturated", share * 100.0),
            ev,
        )
    }
}

// ---------------------------------------------------------------------------------------------------------
// Legibility

/// Mean OCR confidence and the share of low-confidence words; fails (Art. 22(2)) when the page cannot be read.
///
/// `capture_sound`: the image is at the resolution a copy needs. Only then is an unreadable page the
/// original's fault, a certain Art. 22(2) ground; from a coarser capture (a 200-dpi scan, a phone photograph
/// of a card) it may be the capture's, and an officer looks (or the citizen scans again) with the ground only
/// suggested.
pub fn legibility(ocr: &OcrPage, p: &crate::decision::IntakePolicy, capture_sound: bool) -> Check {
    const NAME: &str = "legibility.ocr_confidence";
    let words: Vec<f32> = ocr.words.iter().map(|w| w.confidence).collect();
    let n = words.len();
    let mean = if n == 0 {
        0.0
    } else {
        words.iter().sum::<f32>() / n as f32
    };
    let low = words.iter().filter(|c| **c < p.low_word_confidence).count();
    let low_share = if n == 0 { 1.0 } else { low as f32 / n as f32 };
    let ev = json!({
        "words": n, "mean_confidence": mean, "low_confidence_words": low, "low_share": low_share,
        "low_word_confidence": p.low_word_confidence, "illegible_below": p.illegible_mean_confidence,
        "warn_below": p.warn_mean_confidence, "warn_low_share_above": p.warn_low_share,
    });
    if n < p.min_words || mean < p.illegible_mean_confidence {
        let unread = Check::new(
            NAME,
            Outcome::Fail,
            if capture_sound {
                format!("the page cannot be read: {n} words, mean OCR confidence {mean:.0}")
            } else {
                format!(
                    "the capture cannot be read ({n} words, mean OCR confidence {mean:.0}) and is too coarse to \
                     blame the original: scan it again at 300 dpi, or an officer looks"
                )
            },
            ev,
        )
        .with_ground(Ground::Illegible);
        if capture_sound {
            unread.certain()
        } else {
            unread
        }
    } else if mean < p.warn_mean_confidence || low_share > p.warn_low_share {
        Check::new(
            NAME,
            Outcome::Warn,
            format!(
                "hard to read: mean OCR confidence {mean:.0}, {:.0} % of words below {}",
                low_share * 100.0,
                p.low_word_confidence
            ),
            ev,
        )
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("mean OCR confidence {mean:.0} over {n} words"),
            ev,
        )
    }
}

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

fn normalise_date(s: &str) -> Option<String> {
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
fn unread(name: &str, field: &str, what: &str, rec: &Recognition) -> Option<Check> {
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

// ---------------------------------------------------------------------------------------------------------
// Card-face QR

/// The card-face QR's fields (PRODUCT.md §4): `idNumber|oldIdNumber|fullName|ddmmyyyy|sex|address|ddmmyyyy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardQr {
    pub id_number: String,
    pub old_id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub sex: String,
    pub address: String,
    pub issue_date: String,
}

impl CardQr {
    pub fn parse(s: &str) -> Option<CardQr> {
        let p: Vec<&str> = s.split('|').collect();
        if p.len() < 7 {
            return None;
        }
        let dmy = |d: &str| (d.len() == 8).then(|| format!("{}/{}/{}", &d[0..2], &d[2..4], &d[4..8]));
        Some(CardQr {
            id_number: p[0].to_string(),
            old_id_number: p[1].to_string(),
            full_name: p[2].to_string(),
            birth_date: dmy(p[3]).unwrap_or_else(|| p[3].to_string()),
            sex: p[4].to_string(),
            address: p[5].to_string(),
            issue_date: dmy(p[6]).unwrap_or_else(|| p[6].to_string()),
        })
    }
}

/// Decodes the QR codes in a region of a greyscale page.
pub fn decode_qr(g: &image::GrayImage, region: BBox) -> Vec<(String, BBox)> {
    let Some(r) = region.intersect(&BBox::new(0, 0, g.width(), g.height())) else {
        return Vec::new();
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(r.w as usize, r.h as usize, |x, y| {
        g.get_pixel(r.x + x as u32, r.y + y as u32)[0]
    });
    img.detect_grids()
        .into_iter()
        .filter_map(|grid| {
            let b = grid.bounds;
            let xs = b.iter().map(|p| p.x.max(0) as u32);
            let ys = b.iter().map(|p| p.y.max(0) as u32);
            let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
            let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
            let bbox = BBox::new(r.x + x0, r.y + y0, x1 - x0, y1 - y0);
            grid.decode().ok().map(|(_, content)| (content, bbox))
        })
        .collect()
}

/// The card-face QR against the printed text (CCCD front).
pub fn card_qr(g: &image::GrayImage, ocr: &OcrPage, rec: &Recognition) -> Check {
    const NAME: &str = "qr.card_face";
    if rec.classification.doc_class != DocClass::CccdFront {
        return Check::not_applicable(NAME, "only the card face carries a QR");
    }
    // The card: the text area widened by a fifth on each side (the QR sits beside the text).
    let Some(area) = ocr.words.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)) else {
        return Check::not_applicable(NAME, "no text area");
    };
    let pad_x = area.w / 5;
    let pad_y = area.h / 5;
    let region = BBox::new(
        area.x.saturating_sub(pad_x),
        area.y.saturating_sub(pad_y),
        area.w + 2 * pad_x,
        area.h + 2 * pad_y,
    );
    let codes = decode_qr(g, region);
    let Some((content, qbox)) = codes.into_iter().find(|(c, _)| c.contains('|')) else {
        return Check::new(
            NAME,
            Outcome::Warn,
            "no readable QR on the card face (cards issued before 2021 have none; or it is damaged)",
            json!({"searched": region}),
        );
    };
    let Some(q) = CardQr::parse(&content) else {
        return Check::new(
            NAME,
            Outcome::Fail,
            "the card's QR does not hold the card format",
            json!({"content": content}),
        )
        .with_regions(vec![qbox]);
    };
    let mut diffs = Vec::new();
    let mut compared = Vec::new();
    let mut cmp = |field: &str, qv: &str, same: &dyn Fn(&str, &str) -> bool| {
        if let Some(f) = rec.fields.get(field) {
            compared.push(field.to_string());
            if !same(&f.value, qv) {
                diffs.push(json!({"field": field, "printed": f.value, "qr": qv}));
            }
        }
    };
    cmp("id_number", &q.id_number, &|a, b| a == b);
    cmp("holder_name", &q.full_name, &|a, b| {
        exact_form(a) == exact_form(b) || fold(a) == fold(b)
    });
    cmp("birth_date", &q.birth_date, &|a, b| a == b);
    cmp("sex", &q.sex, &|a, b| fold(a) == fold(b));
    let ev = json!({"qr": q, "compared": compared, "differences": diffs});
    if diffs.is_empty() {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("the QR agrees with the printed {}", compared.join(", ")),
            ev,
        )
        .with_regions(vec![qbox])
    } else {
        Check::new(
            NAME,
            Outcome::Fail,
            format!(
                "the QR disagrees with the printed text on {} field(s)",
                diffs.len()
            ),
            ev,
        )
        .with_regions(vec![qbox])
    }
}

// ---------------------------------------------------------------------------------------------------------
// Art. 22 marks and language

const SECRECY: [&str; 3] = ["MẬT", "TỐI MẬT", "TUYỆT MẬT"];

/// The words of `text` (letters only), as written.
fn mark_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Where a secrecy phrase stands in `words`: (phrase, exact with its diacritics, index of its first word).
fn find_secrecy(words: &[String]) -> Option<(&'static str, bool, usize)> {
    let folded: Vec<String> = words.iter().map(|w| fold(w)).collect();
    // Longest phrases first, so "TỐI MẬT" is not reported as "MẬT".
    for phrase in [SECRECY[2], SECRECY[1], SECRECY[0]] {
        let p: Vec<&str> = phrase.split(' ').collect();
        for start in 0..words.len().saturating_sub(p.len() - 1) {
            let window = &words[start..start + p.len()];
            if window.iter().zip(&p).all(|(w, q)| w == q) {
                return Some((phrase, true, start));
            }
            let fw = &folded[start..start + p.len()];
            if fw.iter().zip(&p).all(|(w, q)| *w == fold(q)) {
                return Some((phrase, false, start));
            }
        }
    }
    None
}

/// Art. 22(3): a secrecy stamp ("MẬT", "TỐI MẬT", "TUYỆT MẬT"), looked for in what the marks pass read on its
/// own (red ink groups and stamps turned against the page, whatever their place or angle) and in the page's
/// words. Refused only on certainty: the phrase with its diacritics in a stamp, as a whole page line, or in
/// letters clearly larger than the page's text (a greyscale stamp level with the title); the phrase without
/// its diacritics in red ink. Anything nearer doubt — a stamp whose word reads one letter off "MẬT", the
/// phrase without diacritics in black — fails with the ground only suggested, so an officer decides.
pub fn secrecy_mark(img: &image::RgbImage, ocr: &OcrPage) -> Check {
    const NAME: &str = "art22.secrecy_mark";
    let refuse = |mark: &str, text: &str, bbox: BBox, how: &str| {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("the page is stamped \"{mark}\" (state secret)"),
            json!({"text": text, "found": how}),
        )
        .with_regions(vec![bbox])
        .with_ground(Ground::SecrecyMark)
        .certain()
    };
    let doubt = |text: &str, bbox: BBox, how: &str| {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("the page may be stamped secret (\"{text}\"): an officer decides"),
            json!({"text": text, "found": how}),
        )
        .with_regions(vec![bbox])
        .with_ground(Ground::SecrecyMark)
    };
    let mut doubtful = None;
    // What the marks pass read on its own.
    for stamp in &ocr.stamps {
        let words = mark_words(&stamp.text);
        let red = red_share(img, stamp.bbox).0 > 0.5;
        match find_secrecy(&words) {
            Some((mark, true, _)) => return refuse(mark, &stamp.text, stamp.bbox, "stamp"),
            Some((mark, false, _)) if red => return refuse(mark, &stamp.text, stamp.bbox, "red stamp"),
            Some(_) => {
                doubtful.get_or_insert_with(|| doubt(&stamp.text, stamp.bbox, "stamp without diacritics"));
            }
            // One letter off "MẬT": its first letter (after "TUYỆT" or "TỐI", any letter: measured, a red
            // "TUYỆT MẬT" over a card's QR read "TUYỆT IẬT") or another.
            None if words.len() <= 3
                && words.iter().enumerate().any(|(i, w)| {
                    let f = fold(w).to_lowercase();
                    let after_degree =
                        i > 0 && matches!(fold(&words[i - 1]).to_lowercase().as_str(), "tuyet" | "toi");
                    (3..=4).contains(&f.chars().count())
                        && (f.starts_with('m') || after_degree)
                        && f.ends_with('t')
                        && text::distance(&f, "mat") <= 1
                }) =>
            {
                doubtful.get_or_insert_with(|| doubt(&stamp.text, stamp.bbox, "stamp one letter off"));
            }
            None => {}
        }
    }
    // The page's lines and words.
    let mut heights: Vec<u32> = ocr.words.iter().map(|w| w.bbox.h).collect();
    heights.sort_unstable();
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0);
    for line in &ocr.lines {
        let words: Vec<&crate::ocr::OcrWord> = ocr
            .words
            .iter()
            .skip(line.first_word)
            .take(line.word_count)
            .collect();
        let texts: Vec<String> = words.iter().flat_map(|w| mark_words(&w.text)).collect();
        let Some((mark, exact, at)) = find_secrecy(&texts) else {
            continue;
        };
        let whole_line = texts.len() == mark.split(' ').count();
        let bbox = words.get(at).map_or(line.bbox, |w| w.bbox);
        let large = bbox.h as f32 >= typical as f32 * 1.5 && typical > 0;
        let red = red_share(img, bbox).0 > 0.5;
        if (exact && (whole_line || large)) || red {
            return refuse(
                mark,
                &line.text,
                bbox,
                if red { "red words" } else { "page words" },
            );
        }
        if whole_line || large {
            doubtful.get_or_insert_with(|| doubt(&line.text, bbox, "page words without diacritics"));
        }
    }
    if let Some(d) = doubtful {
        return d;
    }
    // Fail closed: a stamp (a red or grey frame, or a group of ink turned against the page the size of a stamp)
    // read as neither mark may be a mark the reading could not make out (a stamp over text).
    let unread: Vec<&crate::ocr::OcrStamp> = ocr
        .stamps
        .iter()
        .filter(|s| {
            s.source.is_stamp()
                && !legible(&s.text, s.confidence)
                && text::contains_approx(&fold(&s.text), "khong duoc sao chup").is_none()
        })
        .collect();
    if !unread.is_empty() {
        return Check::new(
            NAME,
            Outcome::Unchecked,
            format!(
                "{} stamp(s) on the page could not be read: an officer checks they are not secrecy or do-not-copy marks",
                unread.len()
            ),
            json!({"stamps_read": unread.iter().map(|s| s.text.as_str()).collect::<Vec<_>>()}),
        )
        .with_regions(unread.iter().map(|s| s.bbox).collect());
    }
    Check::new(
        NAME,
        Outcome::Pass,
        "no secrecy stamp",
        json!({"stamps_read": ocr.stamps.iter().map(|s| s.text.as_str()).collect::<Vec<_>>()}),
    )
}

/// Whether a stamp's reading is text (a stamp that says something else, "ĐÃ THU LỆ PHÍ" say): at least
/// three letters, letters at least 70 % of what is not space, and OCR confidence 70 or more. Noise read from
/// a stamp under the page's text is not.
fn legible(text: &str, confidence: f32) -> bool {
    let printed: Vec<char> = text.chars().filter(|c| !c.is_whitespace() && *c != '|').collect();
    let letters = printed.iter().filter(|c| c.is_alphabetic()).count();
    letters >= 3 && letters * 10 >= printed.len() * 7 && confidence >= 70.0
}

/// Art. 22(3): "không được sao chụp".
pub fn no_copy_mark(ocr: &OcrPage) -> Check {
    const NAME: &str = "art22.no_copy_mark";
    let stamps = ocr.stamps.iter().map(|s| (s.text.as_str(), s.bbox));
    let lines = ocr.lines.iter().map(|l| (l.text.as_str(), l.bbox));
    for (text, bbox) in stamps.chain(lines) {
        if let Some(h) = text::contains_approx(&fold(text), "khong duoc sao chup") {
            return Check::new(
                NAME,
                Outcome::Fail,
                "the page is marked \"không được sao chụp\" (do not copy)",
                json!({"text": text, "edits": h.edits}),
            )
            .with_regions(vec![bbox])
            .with_ground(Ground::NoCopyMark)
            .certain();
        }
    }
    Check::new(NAME, Outcome::Pass, "no do-not-copy mark", json!({}))
}

const LEGALISATION: [&str; 5] = [
    "hop phap hoa lanh su",
    "chung nhan lanh su",
    "consular legalisation",
    "consular legalization",
    "legalized",
];

/// Art. 22(5): a document in another language (few Vietnamese diacritics among its letters) with no consular
/// legalisation anywhere in it (`pages`: each page's text; a legalisation page of its own counts). The ground
/// is suggested, never certain: an officer judges foreign papers.
pub fn foreign_document(pages: &[&str], max_vi_ratio: f64, min_letters: usize) -> Check {
    const NAME: &str = "art22.foreign_not_legalised";
    let all = pages.join("\n");
    let (ratio, letters) = text::vietnamese_ratio(&all);
    let ev = json!({"vietnamese_letter_ratio": ratio, "letters": letters, "foreign_below": max_vi_ratio, "pages": pages.len()});
    if letters < min_letters {
        return Check::new(
            NAME,
            Outcome::NotApplicable,
            "too little text to tell the language",
            ev,
        );
    }
    let folded = fold(&all);
    let legalised = LEGALISATION
        .iter()
        .find(|p| text::contains_approx(&folded, p).is_some());
    if ratio >= max_vi_ratio {
        return Check::new(
            NAME,
            Outcome::Pass,
            format!("Vietnamese ({:.0} % of letters carry diacritics)", ratio * 100.0),
            ev,
        );
    }
    if let Some(found) = legalised {
        return Check::new(
            NAME,
            Outcome::Pass,
            format!("foreign document with a legalisation mark (\"{found}\")"),
            ev,
        );
    }
    Check::new(
        NAME,
        Outcome::Fail,
        format!(
            "the document is not in Vietnamese ({:.1} % of letters carry diacritics) and shows no consular legalisation on any of its {} page(s): an officer checks",
            ratio * 100.0,
            pages.len()
        ),
        ev,
    )
    .with_ground(Ground::ForeignNotLegalised)
}

/// Wording of a competent body's certification on a paper drawn up by a person ("XÁC NHẬN CỦA UBND …", a
/// notary's or an authentication's words).
const CERTIFICATION: [&str; 4] = ["xac nhan cua", "chung thuc", "loi chung", "cong chung vien"];

/// Art. 22(6) on a whole document: the seal is looked for on every page (`seals[i]`: the seals found on the
/// document's page `pages[i]`), never required on each. A type that must carry a seal and shows none on any
/// page fails with the ground suggested (a seal can be faint, cut or scanned badly: an officer looks). Only a
/// paper recognised by its title as drawn up by a person, with no seal and no certification wording on any
/// page, fails with certainty — the title is the region shown.
pub fn document_seal(
    class: &Classification,
    pages: &[usize],
    seals: &[Vec<seal::Seal>],
    texts: &[&str],
) -> Check {
    const NAME: &str = "art22.seal";
    let found: Vec<(usize, &seal::Seal)> = pages
        .iter()
        .zip(seals)
        .flat_map(|(p, s)| s.iter().map(move |s| (*p, s)))
        .collect();
    let ev = json!({
        "seals": found.iter().map(|(p, s)| json!({"page": p + 1, "seal": s})).collect::<Vec<_>>(),
        "pages": pages.iter().map(|p| p + 1).collect::<Vec<_>>(),
    });
    let on = |c: Check| match found.first() {
        Some((page, _)) => Check {
            page: Some(*page),
            regions: found
                .iter()
                .filter(|(p, _)| p == page)
                .map(|(_, s)| s.bbox())
                .collect(),
            ..c
        },
        None => c,
    };
    let n = pages.len();
    let where_found = || {
        let mut ps: Vec<String> = found.iter().map(|(p, _)| (p + 1).to_string()).collect();
        ps.dedup();
        format!("{} seal(s) found, on page(s) {}", found.len(), ps.join(", "))
    };
    if let Some(paper) = &class.paper {
        if !found.is_empty() {
            return on(Check::new(
                NAME,
                Outcome::Pass,
                format!("{}: {}", paper.name, where_found()),
                ev,
            ));
        }
        let folded = fold(&texts.join("\n"));
        let certification = CERTIFICATION
            .iter()
            .find(|p| text::contains_approx(&folded, p).is_some());
        let fail = Check::new(
            NAME,
            Outcome::Fail,
            match (paper.issuer, certification) {
                (Issuer::Individual, None) => format!(
                    "\"{}\" is a paper drawn up by a person; no seal and no competent body's certification is on any of its {n} page(s)",
                    paper.name
                ),
                (Issuer::Individual, Some(w)) => format!(
                    "\"{}\" is a paper drawn up by a person; it speaks of a certification (\"{w}\") but no seal was found on its {n} page(s): an officer checks",
                    paper.name
                ),
                (Issuer::CompetentBody, _) => format!(
                    "\"{}\" must carry its issuing body's seal; none was found on its {n} page(s): an officer checks",
                    paper.name
                ),
            },
            json!({"seals": [], "pages": pages.iter().map(|p| p + 1).collect::<Vec<_>>(), "certification_wording": certification}),
        )
        .with_ground(Ground::NoSeal)
        .with_regions(paper.cue.bbox.into_iter().collect());
        let fail = Check {
            page: pages.first().copied(),
            ..fail
        };
        // Certain only for a person's paper whose title was read as such (at most one slip).
        return if paper.issuer == Issuer::Individual && certification.is_none() && paper.cue.edits <= 1 {
            fail.certain()
        } else {
            fail
        };
    }
    match class.doc_class.seal_required() {
        None => on(Check::new(
            NAME,
            Outcome::NotApplicable,
            "unknown document type: no seal rule",
            ev,
        )),
        Some(false) if found.is_empty() => {
            Check::new(NAME, Outcome::Pass, "this document type carries no seal", ev)
        }
        Some(false) => on(Check::new(
            NAME,
            Outcome::Pass,
            format!("{} (none required)", where_found()),
            ev,
        )),
        Some(true) if found.is_empty() => Check {
            page: pages.last().copied(),
            ..Check::new(
                NAME,
                Outcome::Fail,
                format!(
                    "a {} carries the issuing body's seal; none was found on any of its {n} page(s): an officer checks",
                    class.doc_class.name()
                ),
                ev,
            )
            .with_ground(Ground::NoSeal)
        },
        Some(true) => on(Check::new(NAME, Outcome::Pass, where_found(), ev)),
    }
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
