//! OCR with Tesseract through the `tesseract` crate.
//!
//! One Tesseract engine per worker thread (an engine is not shareable), pages in parallel across
//! [`std::thread::available_parallelism`] workers, each engine limited to one OpenMP thread. The engine reads
//! a greyscale page and returns its text and its words, each with a box in page pixels and a confidence, so a
//! later check can point at the exact word it relied on.
//!
//! `OMP_THREAD_LIMIT=1` must be in the environment when the process starts: libgomp reads it once, when it is
//! loaded with libtesseract, before `main`. Setting it later from Rust changes nothing, so the engine refuses to
//! start without it ([`ensure_omp_thread_limit`]); binaries can call [`reexec_with_omp_thread_limit`] first.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};
use tesseract::Tesseract;

use crate::error::IntakeError;
use crate::geometry::BBox;

/// How to run Tesseract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrConfig {
    /// Tesseract language(s), e.g. `vie` or `vie+eng`.
    pub language: String,
    /// Directory holding `*.traineddata`; `None` uses Tesseract's built-in path.
    pub datapath: Option<PathBuf>,
    /// Refuse to start unless the process started with `OMP_THREAD_LIMIT=1`.
    pub require_omp_thread_limit: bool,
    /// Language of a second pass over a machine-readable zone when the first pass finds one (characters
    /// restricted to `A–Z 0–9 <`); `None` leaves the pass out, by choice. The `vie` model reads MRZ lines poorly
    /// (`I` as `T`, `0` as `6`); `eng` with the MRZ alphabet reads the generated zones without error (see the
    /// crate README). A configured language that is not installed is an error when a worker starts, never a
    /// pass quietly left out (MRZ checks on `vie` output would send pages to officers with no visible cause).
    pub mrz_language: Option<String>,
}

impl Default for OcrConfig {
    fn default() -> Self {
        OcrConfig {
            language: "vie".into(),
            datapath: None,
            require_omp_thread_limit: true,
            mrz_language: Some("eng".into()),
        }
    }
}

/// One recognised word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrWord {
    pub text: String,
    /// Tesseract's word confidence, 0–100.
    pub confidence: f32,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// Tesseract's block, paragraph and line numbers (1-based within the page).
    pub block: u32,
    pub paragraph: u32,
    pub line: u32,
}

/// One text line: its words joined by spaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrLine {
    pub text: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// Mean confidence of its words.
    pub confidence: f32,
    /// Index of the line's first word in [`OcrPage::words`] and how many words it has.
    pub first_word: usize,
    pub word_count: usize,
}

/// Everything Tesseract read on one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrPage {
    /// Index of the page in the request (0-based).
    pub page: usize,
    pub width: u32,
    pub height: u32,
    /// Resolution the page was read at.
    pub dpi: u32,
    /// The full text in Tesseract's reading order.
    pub text: String,
    /// Mean word confidence (Tesseract's `MeanTextConf`), 0–100.
    pub mean_confidence: f32,
    pub words: Vec<OcrWord>,
    pub lines: Vec<OcrLine>,
    /// The machine-readable zone read a second time with the MRZ alphabet (see [`OcrConfig::mrz_language`]),
    /// one entry per line, when the first pass found MRZ-like lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mrz_lines: Option<Vec<String>>,
    /// Stamps and marks read a second time on their own (the page pass often leaves a boxed stamp out as a
    /// picture, and cannot read a turned one): red rectangular frames as one line of red ink, then every
    /// red ink group and every dark group turned against the page, levelled (see `read_marks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stamps: Vec<OcrStamp>,
}

/// The text of a red rectangular stamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrStamp {
    pub text: String,
    pub confidence: f32,
    /// The stamp's frame.
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// What the marks pass found it as.
    #[serde(default)]
    pub source: StampSource,
}

impl OcrStamp {
    /// A stamp found at `bbox` that read as nothing.
    fn unread(bbox: BBox, source: StampSource) -> Self {
        OcrStamp {
            text: String::new(),
            confidence: 0.0,
            bbox,
            source,
        }
    }
}

/// What kind of ink group a stamp was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StampSource {
    /// A red group of any shape (a seal's ring text reads here too).
    #[default]
    RedInk,
    /// A rectangular red frame: a rubber stamp.
    RedFrame,
    /// Red ink that lay against a seal, the seal's ring taken out: a stamp beside or over the seal.
    RedBesideSeal,
    /// A rectangular frame of mid-grey ink: a stamp on a greyscale scan.
    GreyFrame,
    /// A group of dark ink turned against the page's lines: a stamp on a greyscale scan.
    Turned,
}

impl StampSource {
    /// A stamp's shape, not a seal's: what it says must be read, or an officer looks.
    pub fn is_stamp(&self) -> bool {
        !matches!(self, StampSource::RedInk)
    }
}

/// Checks that `OMP_THREAD_LIMIT=1` was in the environment this process *started* with (Linux: the initial
/// environment in `/proc/self/environ`, which is what libgomp saw).
pub fn ensure_omp_thread_limit() -> Result<(), IntakeError> {
    let found = initial_env("OMP_THREAD_LIMIT");
    if found.as_deref() == Some("1") {
        Ok(())
    } else {
        Err(IntakeError::OmpThreadLimit { found })
    }
}

fn initial_env(name: &str) -> Option<String> {
    match std::fs::read("/proc/self/environ") {
        Ok(bytes) => bytes.split(|b| *b == 0).find_map(|kv| {
            let kv = std::str::from_utf8(kv).ok()?;
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_string())
        }),
        // Without procfs fall back to the current environment.
        Err(_) => std::env::var(name).ok(),
    }
}

/// For binaries: when the process did not start with `OMP_THREAD_LIMIT=1`, replaces it with itself, same
/// arguments, with the variable set. Returns `Ok(())` when nothing needed doing; on success it does not return.
pub fn reexec_with_omp_thread_limit() -> Result<(), IntakeError> {
    use std::os::unix::process::CommandExt;
    if ensure_omp_thread_limit().is_ok() {
        return Ok(());
    }
    let exe = std::env::current_exe().map_err(|e| IntakeError::io("/proc/self/exe", e))?;
    let err = std::process::Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .env("OMP_THREAD_LIMIT", "1")
        .exec();
    Err(IntakeError::io(exe, err))
}

/// A page as handed to the OCR. The body text is read from its luma either way ([`OcrWorker::recognize`] says
/// why); the colour of an RGB page is kept for what needs it: the MRZ zone and the red stamps read on their own.
#[derive(Debug, Clone)]
pub enum PageImage {
    Gray(GrayImage),
    Rgb(RgbImage),
}

impl PageImage {
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            PageImage::Gray(i) => i.dimensions(),
            PageImage::Rgb(i) => i.dimensions(),
        }
    }

    fn frame(&self) -> (&[u8], i32) {
        match self {
            PageImage::Gray(i) => (i.as_raw(), 1),
            PageImage::Rgb(i) => (i.as_raw(), 3),
        }
    }
}

impl From<GrayImage> for PageImage {
    fn from(i: GrayImage) -> Self {
        PageImage::Gray(i)
    }
}

impl From<RgbImage> for PageImage {
    fn from(i: RgbImage) -> Self {
        PageImage::Rgb(i)
    }
}

/// One Tesseract engine, reused page after page on one thread.
pub struct OcrWorker {
    config: OcrConfig,
    engine: Option<Tesseract>,
    mrz_engine: Option<Tesseract>,
}

impl std::fmt::Debug for OcrWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrWorker")
            .field("config", &self.config)
            .field("ready", &self.engine.is_some())
            .finish()
    }
}

impl OcrWorker {
    /// Starts an engine with the configured language.
    pub fn new(config: &OcrConfig) -> Result<Self, IntakeError> {
        if config.require_omp_thread_limit {
            ensure_omp_thread_limit()?;
        }
        let engine = Self::start(config)?;
        let mrz_engine = Self::start_mrz(config)?;
        Ok(OcrWorker {
            config: config.clone(),
            engine: Some(engine),
            mrz_engine,
        })
    }

    fn start(config: &OcrConfig) -> Result<Tesseract, IntakeError> {
        let datapath = config.datapath.as_ref().map(|p| p.to_string_lossy().into_owned());
        let mut engine = Tesseract::new(datapath.as_deref(), Some(&config.language)).map_err(|e| {
            IntakeError::OcrInit {
                language: config.language.clone(),
                detail: e.to_string(),
            }
        })?;
        // The API defaults to one uniform block of text (PSM 6); the CLI, and any real page, needs automatic
        // page segmentation (PSM 3), which also leaves seals and signatures out as non-text.
        engine.set_page_seg_mode(tesseract::PageSegMode::PsmAuto);
        Ok(engine)
    }

    /// Reads one greyscale page. `page` is only used to number the result and errors.
    pub fn recognize_gray(&mut self, img: &GrayImage, dpi: u32, page: usize) -> Result<OcrPage, IntakeError> {
        self.read_frame(img.as_raw(), 1, img.dimensions(), dpi, page)
    }

    /// Reads a greyscale image as one uniform block of text (Tesseract's PSM 6), without the automatic layout
    /// analysis that would itself turn vertical lines of text upright. Used to compare orientations.
    pub fn recognize_gray_single_block(&mut self, img: &GrayImage, dpi: u32) -> Result<OcrPage, IntakeError> {
        if let Some(e) = self.engine.as_mut() {
            e.set_page_seg_mode(tesseract::PageSegMode::PsmSingleBlock);
        }
        let result = self.recognize_gray(img, dpi, 0);
        if let Some(e) = self.engine.as_mut() {
            e.set_page_seg_mode(tesseract::PageSegMode::PsmAuto);
        }
        result
    }

    /// Reads one page (colour or greyscale). `page` is only used to number the result and errors. When the
    /// page shows a machine-readable zone, it is read a second time with the MRZ alphabet
    /// ([`OcrPage::mrz_lines`]).
    ///
    /// A colour page is read as its luma. Given colour, Tesseract thresholds each channel on its own, and a
    /// tinted card on a white page split the blue channel card-against-page rather than ink-against-paper:
    /// a legible driving licence (corpus seed 31337, `driving_licence-degraded-002`) read as no words at
    /// all, by the CLI too.
    pub fn recognize(&mut self, img: &PageImage, dpi: u32, page: usize) -> Result<OcrPage, IntakeError> {
        let luma = match img {
            PageImage::Gray(g) => std::borrow::Cow::Borrowed(g),
            PageImage::Rgb(rgb) => std::borrow::Cow::Owned(crate::checks::gray(rgb)),
        };
        let mut result = self.recognize_gray(&luma, dpi, page)?;
        if let Some(region) = crate::recognise::mrz_region(&result) {
            result.mrz_lines = self.read_mrz_zone(img, region, dpi);
        }
        if let PageImage::Rgb(rgb) = img {
            for frame in crate::checks::seal::find_stamps(rgb) {
                if let Some(stamp) = self.read_stamp(rgb, frame, dpi) {
                    result.stamps.push(stamp);
                }
            }
        }
        self.read_marks(img, &luma, dpi, &mut result);
        Ok(result)
    }

    /// The marks pass, apart from the page's reading order: every red ink group the size of a stamp (any
    /// shape, any turn) and every dark group turned against the page (a stamp scanned in greyscale) is cut
    /// out, levelled by its own lines' angle and read as a block on its own. What it reads joins
    /// `stamps`, where the Art. 22(3) checks look for secrecy and do-not-copy marks.
    fn read_marks(&mut self, img: &PageImage, gray: &GrayImage, dpi: u32, result: &mut OcrPage) {
        let read_before: Vec<BBox> = result.stamps.iter().map(|s| s.bbox).collect();
        let overlaps = |b: &BBox, seen: &[BBox]| seen.iter().any(|s| s.intersect(b).is_some());
        let mut seen = read_before;
        if let PageImage::Rgb(rgb) = img {
            for (group, beside_seal) in crate::checks::seal::find_red_marks(rgb, dpi as f32) {
                if overlaps(&group, &seen) {
                    continue;
                }
                let crop = redness(rgb, group);
                let angle = crate::cleanup::estimate_skew_within(&crop, 30.0).angle_deg;
                let read = self.read_levelled(&crop, angle, group, dpi);
                if beside_seal {
                    // A stamp's shape: kept when it reads as nothing, since an officer looks at what could not
                    // be read.
                    let source = StampSource::RedBesideSeal;
                    let stamp = read.unwrap_or_else(|| OcrStamp::unread(group, source));
                    result.stamps.push(OcrStamp { source, ..stamp });
                } else if let Some(stamp) = read {
                    result.stamps.push(stamp);
                }
                seen.push(group);
            }
        }
        // Grey frames (level) and dark groups turned against the page: what they read as nothing is kept too,
        // since an officer looks at what could not be read.
        // Turned grey groups are read from their grey ink alone (the text they lie on taken out); the others
        // from the page's luma there.
        let grey = crate::checks::seal::find_grey_frames(gray)
            .into_iter()
            .map(|frame| (frame, 0.0, StampSource::GreyFrame, None));
        let grey_turned = crate::checks::seal::find_turned_grey_marks(gray, dpi as f32)
            .into_iter()
            .filter(|(group, _, _)| match img {
                PageImage::Rgb(rgb) => crate::checks::seal::grey_is_neutral(rgb, *group),
                _ => true,
            })
            .map(|(group, angle, ink)| (group, angle, StampSource::Turned, Some(ink)));
        let turned = crate::checks::seal::find_turned_dark_marks(gray)
            .into_iter()
            .map(|(group, angle)| (group, angle, StampSource::Turned, None));
        for (group, angle, source, ink) in grey.chain(grey_turned).chain(turned) {
            if overlaps(&group, &seen) {
                continue;
            }
            let crop = ink.unwrap_or_else(|| {
                image::imageops::crop_imm(gray, group.x, group.y, group.w, group.h).to_image()
            });
            let stamp = self
                .read_levelled(&crop, angle, group, dpi)
                .unwrap_or_else(|| OcrStamp::unread(group, source));
            result.stamps.push(OcrStamp { source, ..stamp });
            seen.push(group);
        }
    }

    /// Turns `crop` back by `angle` (on a canvas large enough to keep its corners) and reads it twice: the
    /// inside of its ink box as one line (a stamp's frame makes Tesseract see a picture, not text: measured,
    /// a levelled framed "MẬT" read as nothing whole and as "MẬT" inset), and the whole as a block (a mark
    /// without a frame, or a group the inset cuts); both readings are kept, joined by " | ".
    fn read_levelled(&mut self, crop: &GrayImage, angle: f32, bbox: BBox, dpi: u32) -> Option<OcrStamp> {
        let side = (crop.width() as f32).hypot(crop.height() as f32).ceil() as u32 + 8;
        let mut canvas = GrayImage::from_pixel(side, side, image::Luma([255]));
        image::imageops::overlay(
            &mut canvas,
            crop,
            i64::from((side - crop.width()) / 2),
            i64::from((side - crop.height()) / 2),
        );
        let level = crate::cleanup::rotate(&canvas, -angle, image::Luma([255]));
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for (x, y, p) in level.enumerate_pixels() {
            if p.0[0] < 128 {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        if x0 > x1 || y0 > y1 {
            return None;
        }
        let inset = ((y1 - y0) / 8).max(20);
        // Tesseract cannot scale a sliver (it says so on standard error): read only a real inside.
        let inside = (x1 >= x0 + 2 * inset + 16 && y1 >= y0 + 2 * inset + 16).then(|| {
            image::imageops::crop_imm(
                &level,
                x0 + inset,
                y0 + inset,
                x1 - x0 - 2 * inset,
                y1 - y0 - 2 * inset,
            )
            .to_image()
        });
        let mut read = |img: &GrayImage, mode: tesseract::PageSegMode| -> Option<(String, f32)> {
            if let Some(e) = self.engine.as_mut() {
                e.set_page_seg_mode(mode);
            }
            let page = self.recognize_gray(img, dpi, 0);
            if let Some(e) = self.engine.as_mut() {
                e.set_page_seg_mode(tesseract::PageSegMode::PsmAuto);
            }
            let page = page.ok()?;
            let text = page.text.split_whitespace().collect::<Vec<_>>().join(" ");
            (!text.is_empty()).then_some((text, page.mean_confidence))
        };
        let line = inside
            .as_ref()
            .and_then(|i| read(i, tesseract::PageSegMode::PsmSingleLine));
        let block = read(&level, tesseract::PageSegMode::PsmSingleBlock);
        let (text, confidence) = match (line, block) {
            (Some((a, ca)), Some((b, cb))) => (format!("{a} | {b}"), ca.max(cb)),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => return None,
        };
        Some(OcrStamp {
            text,
            confidence,
            bbox,
            source: StampSource::RedInk,
        })
    }

    /// Reads the inside of a red stamp frame as one line: the red ink turned black, everything else white.
    /// (Its `redness` is the marks pass's.)
    fn read_stamp(&mut self, img: &RgbImage, frame: BBox, dpi: u32) -> Option<OcrStamp> {
        let inset = (frame.h / 8).max(20);
        let r = BBox::new(
            frame.x + inset,
            frame.y + inset,
            frame.w.checked_sub(2 * inset)?,
            frame.h.checked_sub(2 * inset)?,
        )
        .intersect(&BBox::new(0, 0, img.width(), img.height()))?;
        let gray = redness(img, r);
        if let Some(e) = self.engine.as_mut() {
            e.set_page_seg_mode(tesseract::PageSegMode::PsmSingleLine);
        }
        let page = self.recognize_gray(&gray, dpi, 0);
        if let Some(e) = self.engine.as_mut() {
            e.set_page_seg_mode(tesseract::PageSegMode::PsmAuto);
        }
        let page = page.ok()?;
        let text = page.text.split_whitespace().collect::<Vec<_>>().join(" ");
        // A frame read as nothing is kept: a stamp nobody could read is for an officer to look at.
        Some(OcrStamp {
            text,
            confidence: page.mean_confidence,
            bbox: frame,
            source: StampSource::RedFrame,
        })
    }

    /// The MRZ engine of `config`, `None` when none is configured; an error naming the language when it cannot
    /// start (its model is not installed).
    fn start_mrz(config: &OcrConfig) -> Result<Option<Tesseract>, IntakeError> {
        let Some(language) = config.mrz_language.as_deref() else {
            return Ok(None);
        };
        let fail = |e: &dyn std::fmt::Display| IntakeError::OcrInit {
            language: language.to_string(),
            detail: format!("the MRZ pass: {e}"),
        };
        let datapath = config.datapath.as_ref().map(|p| p.to_string_lossy().into_owned());
        let engine = Tesseract::new(datapath.as_deref(), Some(language)).map_err(|e| fail(&e))?;
        let mut engine = engine
            .set_variable("tessedit_char_whitelist", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
            .map_err(|e| fail(&e))?;
        engine.set_page_seg_mode(tesseract::PageSegMode::PsmSingleBlock);
        Ok(Some(engine))
    }

    /// Reads `region` of the page as one block with the MRZ alphabet; `None` when no MRZ language is configured
    /// or the read fails (the first pass's lines are then all there is).
    fn read_mrz_zone(&mut self, img: &PageImage, region: BBox, dpi: u32) -> Option<Vec<String>> {
        let engine = match self.mrz_engine.take() {
            Some(e) => e,
            // Lost to a failed read on an earlier page: started again (it started when the worker did).
            None => Self::start_mrz(&self.config).ok()??,
        };
        let (w, h) = img.dimensions();
        let r = region.intersect(&BBox::new(0, 0, w, h))?;
        let (data, bpp) = img.frame();
        let bpp_u = bpp as usize;
        let mut crop = Vec::with_capacity(r.w as usize * r.h as usize * bpp_u);
        for y in r.y..r.bottom() {
            let start = (y as usize * w as usize + r.x as usize) * bpp_u;
            crop.extend_from_slice(data.get(start..start + r.w as usize * bpp_u)?);
        }
        let engine = engine
            .set_frame(&crop, r.w as i32, r.h as i32, bpp, r.w as i32 * bpp)
            .ok()?
            .set_source_resolution(dpi as i32);
        let mut engine = engine.recognize().ok()?;
        let text = engine.get_text().ok();
        self.mrz_engine = Some(engine);
        let lines: Vec<String> = text?
            .lines()
            .map(|l| l.split_whitespace().collect::<String>())
            .filter(|l| !l.is_empty())
            .collect();
        (!lines.is_empty()).then_some(lines)
    }

    fn read_frame(
        &mut self,
        data: &[u8],
        bpp: i32,
        (w, h): (u32, u32),
        dpi: u32,
        page: usize,
    ) -> Result<OcrPage, IntakeError> {
        if w == 0 || h == 0 {
            return Err(IntakeError::InvalidImage("zero-sized page".into()));
        }
        let ocr_err = |detail: String| IntakeError::Ocr { page, detail };
        // The crate's builder methods consume the engine; if one fails the engine is gone and is restarted on
        // the next page.
        let engine = match self.engine.take() {
            Some(e) => e,
            None => Self::start(&self.config)?,
        };
        let engine = engine
            .set_frame(data, w as i32, h as i32, bpp, w as i32 * bpp)
            .map_err(|e| ocr_err(e.to_string()))?
            .set_source_resolution(dpi as i32);
        let mut engine = engine.recognize().map_err(|e| ocr_err(e.to_string()))?;
        let text = engine.get_text().map_err(|e| ocr_err(e.to_string()))?;
        let tsv = engine.get_tsv_text(0).map_err(|e| ocr_err(e.to_string()))?;
        let mean_confidence = engine.mean_text_conf() as f32;
        self.engine = Some(engine);
        let words = parse_tsv_words(&tsv);
        let lines = group_lines(&words);
        Ok(OcrPage {
            page,
            width: w,
            height: h,
            dpi,
            text,
            mean_confidence,
            words,
            lines,
            mrz_lines: None,
            stamps: Vec::new(),
        })
    }
}

/// Words (level 5 rows) of Tesseract's TSV output:
/// `level page block par line word left top width height conf text`.
pub fn parse_tsv_words(tsv: &str) -> Vec<OcrWord> {
    tsv.lines()
        .filter_map(|row| {
            let cols: Vec<&str> = row.splitn(12, '\t').collect();
            let &["5", _, block, paragraph, line, _, left, top, width, height, conf, text] = cols.as_slice()
            else {
                return None;
            };
            let num = |v: &str| v.trim().parse::<i64>().ok();
            let text = text.trim().to_string();
            let confidence = conf.trim().parse::<f32>().ok()?;
            if text.is_empty() || confidence < 0.0 {
                return None;
            }
            let clamp = |v: i64| v.clamp(0, u32::MAX as i64) as u32;
            Some(OcrWord {
                text,
                confidence,
                bbox: BBox::new(
                    clamp(num(left)?),
                    clamp(num(top)?),
                    clamp(num(width)?),
                    clamp(num(height)?),
                ),
                block: clamp(num(block)?),
                paragraph: clamp(num(paragraph)?),
                line: clamp(num(line)?),
            })
        })
        .collect()
}

fn group_lines(words: &[OcrWord]) -> Vec<OcrLine> {
    let mut lines: Vec<OcrLine> = Vec::new();
    let mut key = None;
    for (i, w) in words.iter().enumerate() {
        let k = (w.block, w.paragraph, w.line);
        match lines.last_mut() {
            Some(line) if key == Some(k) => {
                line.text.push(' ');
                line.text.push_str(&w.text);
                line.bbox = line.bbox.union(&w.bbox);
                line.confidence += w.confidence;
                line.word_count += 1;
            }
            _ => lines.push(OcrLine {
                text: w.text.clone(),
                bbox: w.bbox,
                confidence: w.confidence,
                first_word: i,
                word_count: 1,
            }),
        }
        key = Some(k);
    }
    for l in &mut lines {
        l.confidence /= l.word_count as f32;
    }
    lines
}

struct Job {
    index: usize,
    image: Arc<PageImage>,
    dpi: u32,
    reply: mpsc::Sender<(usize, Result<OcrPage, IntakeError>)>,
}

/// A fixed set of worker threads, each holding its own Tesseract engine for its whole life; pages submitted
/// together are read in parallel.
pub struct OcrPool {
    jobs: Option<mpsc::Sender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for OcrPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrPool")
            .field("threads", &self.handles.len())
            .finish()
    }
}

impl OcrPool {
    /// Starts `threads` workers (`None`: one per available core). Fails if any engine cannot start.
    pub fn new(config: &OcrConfig, threads: Option<usize>) -> Result<Self, IntakeError> {
        let n = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        if config.require_omp_thread_limit {
            ensure_omp_thread_limit()?;
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), IntakeError>>();
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            let rx = Arc::clone(&rx);
            let ready = ready_tx.clone();
            let config = config.clone();
            let handle = std::thread::Builder::new()
                .name(format!("ocr-{i}"))
                .spawn(move || {
                    let mut worker = match OcrWorker::new(&config) {
                        Ok(w) => {
                            let _ = ready.send(Ok(()));
                            w
                        }
                        Err(e) => {
                            let _ = ready.send(Err(e));
                            return;
                        }
                    };
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let result = worker.recognize(&job.image, job.dpi, job.index);
                        let _ = job.reply.send((job.index, result));
                    }
                })
                .map_err(|e| IntakeError::Ocr {
                    page: 0,
                    detail: format!("cannot start worker thread: {e}"),
                })?;
            handles.push(handle);
        }
        drop(ready_tx);
        let mut pool = OcrPool {
            jobs: Some(tx),
            handles,
        };
        for _ in 0..n {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    pool.shutdown();
                    return Err(e);
                }
                Err(_) => {
                    pool.shutdown();
                    return Err(IntakeError::PoolClosed);
                }
            }
        }
        Ok(pool)
    }

    /// Number of worker threads.
    pub fn threads(&self) -> usize {
        self.handles.len()
    }

    /// Reads the pages in parallel; results come back in input order. `progress(done, total)` is called as each
    /// page finishes (in completion order).
    pub fn recognize(
        &self,
        pages: Vec<Arc<PageImage>>,
        dpi: u32,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<OcrPage>, IntakeError> {
        let jobs = self.jobs.as_ref().ok_or(IntakeError::PoolClosed)?;
        let total = pages.len();
        let (reply_tx, reply_rx) = mpsc::channel();
        for (index, image) in pages.into_iter().enumerate() {
            jobs.send(Job {
                index,
                image,
                dpi,
                reply: reply_tx.clone(),
            })
            .map_err(|_| IntakeError::PoolClosed)?;
        }
        drop(reply_tx);
        let mut results: Vec<Option<OcrPage>> = vec![None; total];
        let mut first_error = None;
        for done in 1..=total {
            let (index, result) = reply_rx.recv().map_err(|_| IntakeError::PoolClosed)?;
            match result {
                Ok(page) => {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(page);
                    }
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            progress(done, total);
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        results
            .into_iter()
            .map(|r| r.ok_or(IntakeError::PoolClosed))
            .collect()
    }

    fn shutdown(&mut self) {
        self.jobs = None;
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

impl Drop for OcrPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Red ink of `r` as black on white (everything not red is white).
fn redness(img: &RgbImage, r: BBox) -> GrayImage {
    let r = r
        .intersect(&BBox::new(0, 0, img.width(), img.height()))
        .unwrap_or(BBox::new(0, 0, 0, 0));
    let mut gray = GrayImage::new(r.w, r.h);
    for (x, y, px) in gray.enumerate_pixels_mut() {
        let p = img.get_pixel(r.x + x, r.y + y).0;
        let redness = i32::from(p[0]) - i32::from(p[1].max(p[2]));
        px.0[0] = (255 - (redness * 2).clamp(0, 255)) as u8;
    }
    gray
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_and_lines() {
        let tsv = "1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t20\t30\t12\t95.5\tHọ\n\
                   5\t1\t1\t1\t1\t2\t45\t20\t30\t12\t90\tvà\n\
                   5\t1\t1\t1\t2\t1\t10\t40\t50\t12\t80\ttên\n";
        let words = parse_tsv_words(tsv);
        assert_eq!(words.len(), 3);
        assert_eq!(words[0].text, "Họ");
        assert_eq!(words[0].bbox, BBox::new(10, 20, 30, 12));
        let lines = group_lines(&words);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "Họ và");
        assert_eq!(lines[0].bbox, BBox::new(10, 20, 65, 12));
        assert!((lines[0].confidence - 92.75).abs() < 1e-3);
    }
}
