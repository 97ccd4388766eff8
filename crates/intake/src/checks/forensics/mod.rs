//! Forensics: signs that a page was altered after it was issued.
//!
//! - [`ela`]: error-level analysis of a JPEG page. The page is re-encoded at the quality it was most likely
//!   saved at (the quality at which a central crop is closest to a fixed point of compression); blocks whose
//!   error stands far above the page's typical error were not compressed with the rest (pasted or retouched
//!   after the last save).
//! - [`copy_move`]: pixel-identical 12 × 12 windows inside the text at two places of the page. Printed text
//!   never repeats to the pixel (glyphs land at different sub-pixel offsets, scans add noise), except where the
//!   same word is printed twice at the same offset, which the check discounts.
//! - [`glyph_consistency`]: every digit glyph compared with the other renderings of the same digit on the page
//!   (shape on a normalised 10 × 14 grid), and with its own word (height, baseline, top line): a digit redrawn
//!   in another face or size, or the remains of a whited-out digit, stand out.
//! - [`erased_values`]: a label the type's layout prints with a value after it, found with nothing after it.
//! - [`noise_consistency`]: paper noise per tile; on a scanned page a digitally whited-out area is too clean.
//! - [`background_patch`]: inside a word, paper of another colour than the paper around the word (a digit
//!   whited out with correction fluid or a white brush on tinted card stock, then redrawn).

use std::collections::HashMap;

use serde_json::json;

use super::typeface::{self, InkMap};
use super::{Check, Ground, Outcome};
use crate::decision::IntakePolicy;
use crate::geometry::BBox;
use crate::ocr::OcrPage;
use crate::recognise::Recognition;
use crate::text::exact_form;

mod background;
mod copy_move;
mod ela;
mod glyphs;
mod noise;

pub use background::*;
pub use copy_move::*;
pub use ela::*;
pub use glyphs::*;
pub use noise::*;

fn words_area(ocr: &OcrPage) -> Option<BBox> {
    ocr.words
        .iter()
        .filter(|w| w.confidence > 30.0)
        .map(|w| w.bbox)
        .reduce(|a, b| a.union(&b))
}

fn jpeg_roundtrip(img: &image::RgbImage, quality: u8) -> Option<image::RgbImage> {
    let bytes = crate::corpus::encode_jpeg(img, quality).ok()?;
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
        .ok()
        .map(|i| i.to_rgb8())
}

fn mean_abs_diff(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let s: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    s as f64 / a.as_raw().len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::OcrWord;

    const CARD: [u8; 3] = [226, 238, 246];

    /// A word of eight dark "glyphs" on `paper`, read as one word; its box.
    fn page(paper: [u8; 3]) -> (image::RgbImage, OcrPage, BBox) {
        let mut img = image::RgbImage::from_pixel(420, 140, image::Rgb(paper));
        for i in 0..8 {
            crate::corpus::render::fill_rect(&mut img, BBox::new(100 + i * 26, 50, 6, 30), [20, 20, 24]);
            crate::corpus::render::fill_rect(&mut img, BBox::new(106 + i * 26, 50, 10, 5), [20, 20, 24]);
        }
        let word = BBox::new(100, 50, 7 * 26 + 16, 30);
        let ocr = OcrPage {
            page: 0,
            width: 420,
            height: 140,
            dpi: 300,
            text: "20250117".into(),
            mean_confidence: 95.0,
            words: vec![OcrWord {
                text: "20250117".into(),
                confidence: 95.0,
                bbox: word,
                block: 1,
                paragraph: 1,
                line: 1,
            }],
            lines: Vec::new(),
            mrz_lines: None,
            stamps: Vec::new(),
        };
        (img, ocr, word)
    }

    /// Whites out the last glyph's cell with `fill` and draws a new glyph in it.
    fn white_out_last(img: &mut image::RgbImage, fill: [u8; 3]) -> BBox {
        let cell = BBox::new(100 + 7 * 26 - 1, 47, 20, 36);
        crate::corpus::render::fill_rect(img, cell, fill);
        crate::corpus::render::fill_rect(img, BBox::new(100 + 7 * 26 + 4, 50, 5, 30), [20, 20, 24]);
        cell
    }

    #[test]
    fn a_white_patch_on_card_stock_is_found_where_it_is() {
        let p = IntakePolicy::default();
        let (mut img, ocr, _) = page(CARD);
        assert_eq!(background_patch(&img, &ocr, &p).outcome, Outcome::Pass);
        let patch = white_out_last(&mut img, [255, 255, 255]);
        let c = background_patch(&img, &ocr, &p);
        assert_eq!(c.outcome, Outcome::Fail, "{c:?}");
        assert_eq!(c.ground, Some(Ground::Altered));
        assert_eq!(c.regions.len(), 1);
        assert!(
            c.regions[0].intersect(&patch).is_some(),
            "{:?} vs {patch:?}",
            c.regions
        );
    }

    #[test]
    fn a_patch_of_the_paper_colour_and_paper_noise_are_not_patches() {
        let p = IntakePolicy::default();
        // White-out on white paper leaves nothing to see here (other checks look at the glyph).
        let (mut img, ocr, _) = page([255, 255, 255]);
        white_out_last(&mut img, [255, 255, 255]);
        assert_eq!(background_patch(&img, &ocr, &p).outcome, Outcome::Pass);
        // A card patched with its own tint.
        let (mut img, ocr, _) = page(CARD);
        white_out_last(&mut img, CARD);
        assert_eq!(background_patch(&img, &ocr, &p).outcome, Outcome::Pass);
        // Scanner noise (σ ≈ 12 on every channel alike, as the corpus's degraded pages) is not a patch.
        let (mut img, ocr, _) = page(CARD);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for px in img.pixels_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = ((state % 41) as f32 - 20.0) * 0.85;
            for v in px.0.iter_mut() {
                *v = (f32::from(*v) + n).clamp(0.0, 255.0) as u8;
            }
        }
        let c = background_patch(&img, &ocr, &p);
        assert_eq!(c.outcome, Outcome::Pass, "{c:?}");
    }

    #[test]
    fn a_word_across_two_papers_is_not_judged() {
        let p = IntakePolicy::default();
        let (mut img, ocr, word) = page(CARD);
        // White paper from the word's middle to the right edge: the ring's sides disagree.
        let half = BBox::new(word.x + word.w / 2, 0, 420 - word.x - word.w / 2, 140);
        crate::corpus::render::fill_rect(&mut img, half, [255, 255, 255]);
        let c = background_patch(&img, &ocr, &p);
        assert_eq!(c.outcome, Outcome::NotApplicable, "{c:?}");
        assert_eq!(c.evidence["words_on_a_boundary"], 1);
    }
}
