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

/// Error-level analysis (JPEG pages only).
pub fn ela(img: &image::RgbImage, ocr: &OcrPage, jpeg: bool, p: &IntakePolicy) -> Check {
    const NAME: &str = "forensics.error_level";
    if !jpeg {
        return Check::not_applicable(NAME, "error-level analysis needs a JPEG page");
    }
    let Some(area) = words_area(ocr) else {
        return Check::not_applicable(NAME, "no text area");
    };
    // Keep the 16-pixel MCU grid of the original.
    let x0 = area.x / 16 * 16;
    let y0 = area.y / 16 * 16;
    let x1 = (area.right().div_ceil(16) * 16).min(img.width() / 16 * 16);
    let y1 = (area.bottom().div_ceil(16) * 16).min(img.height() / 16 * 16);
    if x1 <= x0 + 64 || y1 <= y0 + 64 {
        return Check::not_applicable(NAME, "text area too small");
    }
    let region = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
    // Quality estimate on a central crop.
    let (cw, ch) = (
        (region.width() / 16 * 16).min(384),
        (region.height() / 16 * 16).min(384),
    );
    let (cx, cy) = ((region.width() - cw) / 32 * 16, (region.height() - ch) / 32 * 16);
    let crop = image::imageops::crop_imm(&region, cx, cy, cw, ch).to_image();
    let mut best = (f64::MAX, 90u8);
    for q in (30..=95).step_by(5) {
        if let Some(r) = jpeg_roundtrip(&crop, q as u8) {
            let e = mean_abs_diff(&crop, &r);
            if e < best.0 {
                best = (e, q as u8);
            }
        }
    }
    let quality = best.1;
    let Some(again) = jpeg_roundtrip(&region, quality) else {
        return Check::not_applicable(NAME, "re-encoding failed");
    };
    // Error and content per 16 × 16 block.
    let (bw, bh) = ((region.width() / 16) as usize, (region.height() / 16) as usize);
    let mut err = vec![0f64; bw * bh];
    let mut content = vec![false; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let (mut e, mut lo, mut hi) = (0u64, 255u8, 0u8);
            for y in 0..16 {
                for x in 0..16 {
                    let (px, py) = ((bx * 16 + x) as u32, (by * 16 + y) as u32);
                    let a = region.get_pixel(px, py).0;
                    let b = again.get_pixel(px, py).0;
                    for c in 0..3 {
                        e += u64::from(a[c].abs_diff(b[c]));
                    }
                    let l = a[1];
                    lo = lo.min(l);
                    hi = hi.max(l);
                }
            }
            err[by * bw + bx] = e as f64 / 768.0;
            content[by * bw + bx] = hi.saturating_sub(lo) > 60;
        }
    }
    let mut with_content: Vec<f64> = err
        .iter()
        .zip(&content)
        .filter(|(_, c)| **c)
        .map(|(e, _)| *e)
        .collect();
    if with_content.len() < 20 {
        return Check::not_applicable(NAME, "too few text blocks");
    }
    with_content.sort_by(f64::total_cmp);
    let median = with_content[with_content.len() / 2];
    let p90 = with_content[with_content.len() * 9 / 10];
    let threshold = (median * p.ela_factor).max(median + p.ela_min_excess);
    let flagged: Vec<usize> = (0..err.len())
        .filter(|i| content[*i] && err[*i] > threshold)
        .collect();
    // Group flagged blocks that touch.
    let regions = group_blocks(&flagged, bw, 16, x0, y0, p.ela_min_blocks);
    let ev = json!({
        "estimated_quality": quality, "fixed_point_error": best.0, "median_block_error": median,
        "p90_block_error": p90, "threshold": threshold, "flagged_blocks": flagged.len(),
        "regions": regions.len(), "min_blocks": p.ela_min_blocks,
    });
    let fail = format!(
        "{} region(s) with an error level well above the page's (saved differently: pasted or retouched)",
        regions.len()
    );
    verdict(
        NAME,
        regions,
        format!("error level uniform at quality {quality}"),
        fail,
        ev,
    )
}

/// A forensic check's result: a failure on `regions` (ground: altered) when there are any, else a pass.
fn verdict(
    name: &str,
    regions: Vec<BBox>,
    pass: impl Into<String>,
    fail: impl Into<String>,
    ev: serde_json::Value,
) -> Check {
    if regions.is_empty() {
        Check::new(name, Outcome::Pass, pass, ev)
    } else {
        Check::new(name, Outcome::Fail, fail, ev)
            .with_regions(regions)
            .with_ground(Ground::Altered)
    }
}

/// Connected groups (8-neighbour) of flagged blocks with at least `min` blocks, as page boxes.
fn group_blocks(flagged: &[usize], bw: usize, size: u32, ox: u32, oy: u32, min: usize) -> Vec<BBox> {
    let set: std::collections::HashSet<usize> = flagged.iter().copied().collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for &s in flagged {
        if !seen.insert(s) {
            continue;
        }
        let mut stack = vec![s];
        let mut members = Vec::new();
        while let Some(i) = stack.pop() {
            members.push(i);
            let (x, y) = ((i % bw) as i64, (i / bw) as i64);
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= bw as i64 {
                        continue;
                    }
                    let j = ny as usize * bw + nx as usize;
                    if set.contains(&j) && seen.insert(j) {
                        stack.push(j);
                    }
                }
            }
        }
        if members.len() >= min {
            let b = members
                .iter()
                .map(|i| {
                    BBox::new(
                        ox + (i % bw) as u32 * size,
                        oy + (i / bw) as u32 * size,
                        size,
                        size,
                    )
                })
                .reduce(|a, b| a.union(&b));
            out.extend(b);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------

const WIN: usize = 12;

/// Copy-move matches grouped by (source word, copy word, shift x, shift y).
type CopyKey = (usize, usize, i64, i64);

/// Copy-move: identical windows inside the text at two places.
/// `noisy`: the page carries scanner noise ([`paper_noise`]). On a noise-free (born-digital) page the same
/// letter can render pixel-identically in two words by chance, so only copies inside one word count there.
/// A number as printed on a paper (an ID number, a date, a register number): at least two digits, and digits
/// are most of it. The values a forger changes, and the words whose glyphs the glyph and copy checks compare.
fn numeric_word(text: &str) -> bool {
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    let digits = text.chars().filter(|c| c.is_ascii_digit()).count();
    digits >= 2 && digits * 10 >= chars * 6
}

/// A line of a machine-readable zone as OCR reads it: OCR-B capitals, digits and `<` fillers.
fn mrz_like(text: &str) -> bool {
    text.chars().count() >= 20
        && text.contains('<')
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<')
}

/// Regions of the text that are pixel copies of another place on the page.
///
/// Skipped: the machine-readable zone (`mrz`, and any word that reads as an MRZ line): it is printed in a
/// monospaced face whose every character cell repeats, and its check digits guard it. Counted: a copy between
/// two words on a page with paper noise (on a noise-free page two words sharing a letter may render it
/// identically; the same word printed twice, a repeated label, always may), and a copy inside one number (a
/// pasted digit). A copy inside a word of letters is not counted: letters share strokes (the arch of "h"
/// and "n", the stems of "H" and "U") that a page set on a whole-pixel grid renders identically.
pub fn copy_move(
    g: &image::GrayImage,
    ocr: &OcrPage,
    mrz: Option<BBox>,
    noisy: bool,
    p: &IntakePolicy,
) -> Check {
    const NAME: &str = "forensics.copy_move";
    const PX: u64 = 0x9E37_79B9_7F4A_7C15;
    const PY: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let (w, h) = g.dimensions();
    let raw = g.as_raw();
    // hash -> first occurrence (x, y, word)
    let mut first: HashMap<u64, (u32, u32, usize)> = HashMap::new();
    // (word a, word b, dx, dy) -> (count, box a, box b)
    let mut groups: HashMap<CopyKey, (usize, BBox, BBox)> = HashMap::new();
    let pow_x = (0..WIN).fold(1u64, |a, _| a.wrapping_mul(PX));
    let pow_y = (0..WIN).fold(1u64, |a, _| a.wrapping_mul(PY));
    for (wi, word) in ocr.words.iter().enumerate() {
        if mrz_like(&word.text) || mrz.is_some_and(|m| m.intersect(&word.bbox).is_some()) {
            continue;
        }
        let b = word.bbox;
        let (x0, y0) = (b.x.saturating_sub(2), b.y.saturating_sub(2));
        let (x1, y1) = ((b.right() + 2).min(w), (b.bottom() + 2).min(h));
        let (bw, bh) = ((x1 - x0) as usize, (y1 - y0) as usize);
        if bw < WIN + 1 || bh < WIN + 1 || bw * bh > 400_000 {
            continue;
        }
        // Row hashes of every WIN-wide run.
        let rw = bw - WIN + 1;
        let mut rows = vec![0u64; bh * rw];
        for y in 0..bh {
            let line = &raw[((y0 as usize + y) * w as usize + x0 as usize)..][..bw];
            let mut hsh = 0u64;
            for (x, v) in line.iter().enumerate() {
                hsh = hsh.wrapping_mul(PX).wrapping_add(u64::from(*v) + 1);
                if x >= WIN {
                    hsh = hsh.wrapping_sub((u64::from(line[x - WIN]) + 1).wrapping_mul(pow_x));
                }
                if x + 1 >= WIN {
                    rows[y * rw + x + 1 - WIN] = hsh;
                }
            }
        }
        let rh = bh - WIN + 1;
        let mut win = vec![0u64; rh * rw];
        for x in 0..rw {
            let mut hsh = 0u64;
            for y in 0..bh {
                hsh = hsh.wrapping_mul(PY).wrapping_add(rows[y * rw + x]);
                if y >= WIN {
                    hsh = hsh.wrapping_sub(rows[(y - WIN) * rw + x].wrapping_mul(pow_y));
                }
                if y + 1 >= WIN {
                    win[(y + 1 - WIN) * rw + x] = hsh;
                }
            }
        }
        for y in 0..rh {
            for x in 0..rw {
                let hv = win[y * rw + x];
                // Skip windows that repeat when moved one pixel (rules, flat strokes, blank paper).
                if (x + 1 < rw && win[y * rw + x + 1] == hv) || (y + 1 < rh && win[(y + 1) * rw + x] == hv) {
                    continue;
                }
                let (px, py) = (x0 + x as u32, y0 + y as u32);
                // Ink and contrast.
                let (mut lo, mut hi) = (255u8, 0u8);
                for yy in 0..WIN as u32 {
                    let row = &raw[((py + yy) as usize * w as usize + px as usize)..][..WIN];
                    for v in row {
                        lo = lo.min(*v);
                        hi = hi.max(*v);
                    }
                }
                if lo > 110 || hi < 170 {
                    continue;
                }
                match first.get(&hv) {
                    None => {
                        first.insert(hv, (px, py, wi));
                    }
                    Some(&(ax, ay, aw)) => {
                        let (dx, dy) = (i64::from(px) - i64::from(ax), i64::from(py) - i64::from(ay));
                        if dx.abs() + dy.abs() < WIN as i64 {
                            continue;
                        }
                        let wa = BBox::new(ax, ay, WIN as u32, WIN as u32);
                        let wb = BBox::new(px, py, WIN as u32, WIN as u32);
                        let e = groups.entry((aw, wi, dx, dy)).or_insert((0, wa, wb));
                        e.0 += 1;
                        e.1 = e.1.union(&wa);
                        e.2 = e.2.union(&wb);
                    }
                }
            }
        }
    }
    let mut found = Vec::new();
    let mut regions: Vec<BBox> = Vec::new();
    let mut discounted = 0usize;
    // Whether this page renders a letter repeated inside a word pixel-identically (a born-digital page set on
    // a whole-pixel grid): then it does so in many words, and a copy inside one word is no evidence. A pasted
    // cell shows in one or two words.
    let mut words_repeating: Vec<usize> = groups
        .iter()
        .filter(|((a, b, _, _), (n, _, _))| a == b && *n >= p.copy_move_min_windows)
        .map(|((a, _, _, _), _)| *a)
        .collect();
    words_repeating.sort_unstable();
    words_repeating.dedup();
    let grid_rendered = !noisy && words_repeating.len() >= 3;
    for ((a, b, dx, dy), (n, ba, bb)) in &groups {
        if *n < p.copy_move_min_windows {
            continue;
        }
        if a == b && (grid_rendered || !numeric_word(&ocr.words[*a].text)) {
            discounted += 1;
            continue;
        }
        // The same word printed twice (a repeated label) may render identically; on a noise-free page, so may
        // a letter shared by two words.
        if a != b && (!noisy || exact_form(&ocr.words[*a].text) == exact_form(&ocr.words[*b].text)) {
            discounted += 1;
            continue;
        }
        found.push(json!({
            "source": ba, "copy": bb, "shift": [dx, dy], "windows": n,
            "source_word": ocr.words[*a].text, "copy_word": ocr.words[*b].text,
        }));
        regions.extend([*ba, *bb]);
    }
    let ev = json!({"matches": found, "discounted": discounted, "words_repeating_glyphs": words_repeating.len(), "window": WIN,
                    "min_windows": p.copy_move_min_windows, "noisy_page": noisy});
    verdict(
        NAME,
        regions,
        "no region of the text is a pixel copy of another",
        format!(
            "{} region(s) of the text are pixel copies of another place on the page",
            found.len()
        ),
        ev,
    )
}

// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Glyph {
    ch: char,
    word: usize,
    bbox: BBox,
    /// Ink at native resolution, `bbox.w × bbox.h` padded by one pixel of paper, [`smoothed`].
    ink: InkMap,
}

/// A 3 × 3 binomial blur: two renderings of one glyph half a pixel apart become nearly equal, while a
/// different face (serifs, stroke contrast) or size still differs.
fn smoothed(m: &InkMap) -> InkMap {
    InkMap {
        w: m.w,
        h: m.h,
        ink: smooth(&m.ink, m.w, m.h),
    }
}

fn smooth(v: &[f32], w: usize, h: usize) -> Vec<f32> {
    let k = [1.0f32, 2.0, 1.0];
    let mut tmp = vec![0f32; v.len()];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let xx = (x + i).checked_sub(1).filter(|xx| *xx < w);
                s += kv * xx.map_or(0.0, |xx| v[y * w + xx]);
            }
            tmp[y * w + x] = s / 4.0;
        }
    }
    let mut out = vec![0f32; v.len()];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0.0;
            for (i, kv) in k.iter().enumerate() {
                let yy = (y + i).checked_sub(1).filter(|yy| *yy < h);
                s += kv * yy.map_or(0.0, |yy| tmp[yy * w + x]);
            }
            out[y * w + x] = s / 4.0;
        }
    }
    out
}

/// Mean ink difference of two glyphs, aligned at the best of the integer shifts within ±1 px (sub-pixel
/// placement moves a rendering by up to a pixel); over the pixels where either has ink. `None` when their
/// sizes differ by more than 1 px (another size: not comparable; resampling to compare across sizes was
/// measured and separated legitimate from altered digits less well).
fn glyph_distance(a: &Glyph, b: &Glyph) -> Option<f32> {
    let (aw, ah, bw, bh) = (a.ink.w as i64, a.ink.h as i64, b.ink.w as i64, b.ink.h as i64);
    if (aw - bw).abs() > 1 || (ah - bh).abs() > 1 {
        return None;
    }
    let mut best = f32::MAX;
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (mut diff, mut n) = (0f32, 0u32);
            for y in -1..ah.max(bh) + 1 {
                for x in -1..aw.max(bw) + 1 {
                    let va = a.ink.at(x, y);
                    let vb = b.ink.at(x + dx, y + dy);
                    if va > 0.1 || vb > 0.1 {
                        diff += (va - vb).abs();
                        n += 1;
                    }
                }
            }
            if n > 0 {
                best = best.min(diff / n as f32);
            }
        }
    }
    (best < f32::MAX).then_some(best)
}

/// Like [`glyph_distance`], with `b` resampled (bilinear) to `a`'s size: for two renderings of one digit in one
/// word, where a digit redrawn a few per cent larger or smaller must still compare. `None` beyond ±12 %.
/// Aligned at the best whole-pixel shift within ±1 px, then refined by quarter pixels around it: one digit
/// printed twice in a word lands at two sub-pixel phases, and a thin stroke ("1") anti-aliased at another
/// phase differs by more than the blur hides; a redrawn digit differs at every phase.
fn glyph_distance_resampled(a: &Glyph, b: &Glyph) -> Option<f32> {
    let (aw, ah, bw, bh) = (a.ink.w as i64, a.ink.h as i64, b.ink.w as i64, b.ink.h as i64);
    let close = |x: i64, y: i64| (x - y).abs() <= 3.max(x.max(y) * 12 / 100);
    if !close(aw, bw) || !close(ah, bh) {
        return None;
    }
    let px = |xx: i64, yy: i64| b.ink.at(xx, yy);
    // `b` at `a`'s pixel (x, y) moved by (ox, oy) of `a`'s pixels.
    let sample = |x: i64, y: i64, ox: f32, oy: f32| -> f32 {
        let (xs, ys) = (x as f32 + ox, y as f32 + oy);
        if xs <= -1.0 || ys <= -1.0 || xs >= aw as f32 || ys >= ah as f32 {
            return 0.0;
        }
        let fx = (xs + 0.5) * bw as f32 / aw as f32 - 0.5;
        let fy = (ys + 0.5) * bh as f32 / ah as f32 - 0.5;
        let (x0, y0) = (fx.floor(), fy.floor());
        let (tx, ty) = (fx - x0, fy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        px(x0, y0) * (1.0 - tx) * (1.0 - ty)
            + px(x0 + 1, y0) * tx * (1.0 - ty)
            + px(x0, y0 + 1) * (1.0 - tx) * ty
            + px(x0 + 1, y0 + 1) * tx * ty
    };
    let at = |x: i64, y: i64| a.ink.at(x, y);
    let distance = |ox: f32, oy: f32| -> Option<f32> {
        let (mut diff, mut n) = (0f32, 0u32);
        for y in -1..ah + 1 {
            for x in -1..aw + 1 {
                let (va, vb) = (at(x, y), sample(x, y, ox, oy));
                if va > 0.1 || vb > 0.1 {
                    diff += (va - vb).abs();
                    n += 1;
                }
            }
        }
        (n > 0).then(|| diff / n as f32)
    };
    let mut best: Option<(f32, f32, f32)> = None;
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (ox, oy) = (dx as f32, dy as f32);
            if let Some(d) = distance(ox, oy) {
                if best.is_none_or(|(b, _, _)| d < b) {
                    best = Some((d, ox, oy));
                }
            }
        }
    }
    let (mut d, ox, oy) = best?;
    for qy in -2..=2 {
        for qx in -2..=2 {
            if let Some(q) = distance(ox + qx as f32 * 0.25, oy + qy as f32 * 0.25) {
                d = d.min(q);
            }
        }
    }
    Some(d)
}

/// Connected components (8-neighbour) of a binary crop: boxes (crop coordinates) and pixel counts.
fn components(ink: &[bool], w: usize, h: usize) -> Vec<(BBox, usize)> {
    let mut seen = vec![false; ink.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for s in 0..ink.len() {
        if !ink[s] || seen[s] {
            continue;
        }
        seen[s] = true;
        stack.push(s);
        let (mut x0, mut y0, mut x1, mut y1, mut n) = (usize::MAX, usize::MAX, 0, 0, 0);
        while let Some(i) = stack.pop() {
            n += 1;
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if ink[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push((
            BBox::new(x0 as u32, y0 as u32, (x1 - x0 + 1) as u32, (y1 - y0 + 1) as u32),
            n,
        ));
    }
    out
}

fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Robust line through points (Theil–Sen slope, median intercept); returns residuals.
fn residuals(pts: &[(f32, f32)]) -> Vec<f32> {
    let mut slopes = Vec::new();
    for i in 0..pts.len() {
        for j in i + 1..pts.len() {
            let dx = pts[j].0 - pts[i].0;
            if dx.abs() > 1.0 {
                slopes.push((pts[j].1 - pts[i].1) / dx);
            }
        }
    }
    let s = median(&mut slopes);
    let mut icpt: Vec<f32> = pts.iter().map(|(x, y)| y - s * x).collect();
    let c = median(&mut icpt);
    pts.iter().map(|(x, y)| y - (s * x + c)).collect()
}

/// Digit glyphs compared with their peers and their word.
pub fn glyph_consistency(g: &image::GrayImage, ocr: &OcrPage, rec: &Recognition, p: &IntakePolicy) -> Check {
    const NAME: &str = "forensics.glyph_consistency";
    let (pw, ph) = g.dimensions();
    let mrz = rec.mrz.as_ref().map(|m| m.bbox);
    let mut glyphs: Vec<Glyph> = Vec::new();
    let mut findings: Vec<(BBox, serde_json::Value)> = Vec::new();
    for (wi, word) in ocr.words.iter().enumerate() {
        let chars: Vec<char> = word.text.chars().filter(|c| !c.is_whitespace()).collect();
        if !numeric_word(&word.text) || word.bbox.h < 12 || word.text.contains('<') {
            continue;
        }
        if mrz.is_some_and(|m| m.intersect(&word.bbox).is_some()) {
            continue;
        }
        let b = word.bbox;
        let (x0, y0) = (b.x.saturating_sub(2), b.y.saturating_sub(2));
        let (x1, y1) = ((b.right() + 2).min(pw), (b.bottom() + 2).min(ph));
        let (cw, chh) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let mut vals: Vec<u8> = Vec::with_capacity(cw * chh);
        for y in y0..y1 {
            for x in x0..x1 {
                vals.push(g.get_pixel(x, y)[0]);
            }
        }
        let mut sorted = vals.clone();
        sorted.sort_unstable();
        let ink_level = sorted[sorted.len() / 50];
        let paper = sorted[sorted.len() * 95 / 100];
        if paper.saturating_sub(ink_level) < 60 {
            continue;
        }
        let thr = (u16::from(ink_level) + u16::from(paper)) / 2;
        let span = f32::from(paper - ink_level);
        let ink: Vec<bool> = vals.iter().map(|v| u16::from(*v) < thr).collect();
        let comps = components(&ink, cw, chh);
        let tallest = comps.iter().map(|c| c.0.h).max().unwrap_or(0);
        let mut big: Vec<(BBox, usize)> = comps
            .iter()
            .copied()
            .filter(|c| c.0.h * 2 >= tallest && c.1 >= 12)
            .collect();
        big.sort_by_key(|c| c.0.x);
        // Remains of an erased glyph: a small piece of ink above or below a digit (digit words carry no marks).
        for (cb, n) in comps.iter().filter(|c| c.0.h * 2 < tallest) {
            let under_or_over = big.iter().any(|(bb, _)| {
                let overlap = cb.right().min(bb.right()) as i64 - cb.x.max(bb.x) as i64;
                overlap * 3 >= cb.w as i64 * 2
            });
            let mut widths: Vec<f32> = big.iter().map(|c| c.0.w as f32).collect();
            let glyph_w = median(&mut widths);
            if under_or_over && *n >= 6 && cb.w as f32 * 3.0 >= glyph_w {
                let pb = BBox::new(x0 + cb.x, y0 + cb.y, cb.w, cb.h);
                findings.push((
                    pb,
                    json!({"kind": "fragment", "word": word.text, "box": pb, "pixels": n}),
                ));
            }
        }
        if big.len() != chars.len() {
            continue;
        }
        let mut hs: Vec<f32> = Vec::new();
        let mut word_glyphs = Vec::new();
        for ((cb, _), ch) in big.iter().zip(&chars) {
            if !ch.is_ascii_digit() {
                continue;
            }
            let (gw, gh) = (cb.w as usize + 2, cb.h as usize + 2);
            let mut ink_map = vec![0f32; gw * gh];
            for yy in 0..cb.h as usize {
                for xx in 0..cb.w as usize {
                    let v = vals[(cb.y as usize + yy) * cw + cb.x as usize + xx];
                    ink_map[(yy + 1) * gw + xx + 1] = (f32::from(paper.saturating_sub(v)) / span).min(1.0);
                }
            }
            let pb = BBox::new(x0 + cb.x, y0 + cb.y, cb.w, cb.h);
            hs.push(cb.h as f32);
            word_glyphs.push(Glyph {
                ch: *ch,
                word: wi,
                bbox: pb,
                ink: smoothed(&InkMap {
                    w: gw,
                    h: gh,
                    ink: ink_map,
                }),
            });
        }
        // Size and alignment inside the word.
        if word_glyphs.len() >= 3 {
            let hm = median(&mut hs.clone());
            let bottoms: Vec<(f32, f32)> = word_glyphs
                .iter()
                .map(|gl| (gl.bbox.x as f32 + gl.bbox.w as f32 / 2.0, gl.bbox.bottom() as f32))
                .collect();
            let tops: Vec<(f32, f32)> = word_glyphs
                .iter()
                .map(|gl| (gl.bbox.x as f32 + gl.bbox.w as f32 / 2.0, gl.bbox.y as f32))
                .collect();
            let rb = residuals(&bottoms);
            let rt = residuals(&tops);
            let tol = (hm * p.glyph_size_tolerance).max(p.glyph_min_pixels);
            for (i, gl) in word_glyphs.iter().enumerate() {
                let dh = gl.bbox.h as f32 - hm;
                if dh.abs() > tol || rb[i].abs() > tol || rt[i].abs() > tol {
                    findings.push((
                        gl.bbox,
                        json!({"kind": "size_or_alignment", "word": word.text, "char": gl.ch.to_string(),
                               "height": gl.bbox.h, "word_median_height": hm, "baseline_offset": rb[i],
                               "top_offset": rt[i], "tolerance_px": tol}),
                    ));
                }
            }
        }
        glyphs.extend(word_glyphs);
    }
    // Shape against the same digit elsewhere, at the same size.
    let mut same_min: Vec<Option<f32>> = Vec::with_capacity(glyphs.len());
    let mut any_min: Vec<f32> = Vec::with_capacity(glyphs.len());
    // Width against the same digit at the same height (±1 px) in the same word: one rendering of one font
    // gives one width (±1 px for sub-pixel placement).
    for (i, a) in glyphs.iter().enumerate() {
        let peers: Vec<i64> = glyphs
            .iter()
            .enumerate()
            .filter(|(j, b)| {
                *j != i && b.ch == a.ch && b.word == a.word && (b.bbox.h as i64 - a.bbox.h as i64).abs() <= 1
            })
            .map(|(_, b)| (b.bbox.w as i64 - a.bbox.w as i64).abs())
            .collect();
        if let Some(dw) = peers.iter().min() {
            if *dw as f32 > p.glyph_min_pixels {
                findings.push((
                    a.bbox,
                    json!({"kind": "width", "word": ocr.words[a.word].text, "char": a.ch.to_string(),
                           "width": a.bbox.w, "width_difference_to_same_digit": dw, "tolerance_px": p.glyph_min_pixels}),
                ));
            }
        }
    }
    // Each digit's distances to the other instances of it, kept for the face check below.
    let mut same_digit: Vec<Vec<(usize, f32)>> = Vec::with_capacity(glyphs.len());
    for (i, a) in glyphs.iter().enumerate() {
        let (mut same, mut any) = (Vec::new(), f32::MAX);
        for (j, b) in glyphs.iter().enumerate() {
            if i == j {
                continue;
            }
            let Some(d) = glyph_distance(a, b) else {
                continue;
            };
            if a.ch == b.ch {
                same.push((j, d));
            } else {
                any = any.min(d);
            }
        }
        let s = same.iter().map(|(_, d)| *d).reduce(f32::min);
        same_min.push(s);
        any_min.push(any.min(s.unwrap_or(f32::MAX)));
        same_digit.push(same);
    }
    let mut typical: Vec<f32> = same_min.iter().flatten().copied().collect();
    let typical = median(&mut typical);
    let threshold = (typical * p.glyph_shape_factor).max(p.glyph_shape_min);
    for (i, gl) in glyphs.iter().enumerate() {
        if let Some(s) = same_min[i] {
            // Far from its own digit, and not simply another digit misread by OCR.
            if s > threshold && any_min[i] > threshold * 0.8 {
                findings.push((
                    gl.bbox,
                    json!({"kind": "shape", "word": ocr.words[gl.word].text, "char": gl.ch.to_string(),
                           "distance_to_same_digit": s, "page_typical": typical, "threshold": threshold}),
                ));
            }
        }
    }
    // Typeface: each digit against the library's faces; a digit nearest to another face than the one most
    // of its word's digits are nearest to, by a clear margin, was drawn differently.
    // The page's own renderings: for each digit, the other instances of it that it matches in shape.
    let alike: Vec<Vec<usize>> = same_digit
        .iter()
        .map(|same| {
            same.iter()
                .filter(|(_, d)| *d <= threshold)
                .map(|(j, _)| *j)
                .collect()
        })
        .collect();
    let (faces_compared, page_renders, page_face_fit) = match typeface::library() {
        Some(fonts) => {
            let faces = face_findings(fonts, &glyphs, &alike, ocr, p);
            findings.extend(faces.findings);
            (true, faces.page_renders, Some(faces.page_fit))
        }
        None => (false, 0, None),
    };
    // The same digit inside one word, across small size changes.
    let mut in_word: Vec<(f32, usize)> = Vec::new();
    for (i, a) in glyphs.iter().enumerate() {
        let d = glyphs
            .iter()
            .enumerate()
            .filter(|(j, b)| *j != i && b.word == a.word && b.ch == a.ch)
            .filter_map(|(_, b)| glyph_distance_resampled(a, b))
            .fold(None::<f32>, |m, d| Some(m.map_or(d, |m| m.min(d))));
        if let Some(d) = d {
            in_word.push((d, i));
            if d > p.glyph_word_shape_min {
                findings.push((
                    a.bbox,
                    json!({"kind": "shape_in_word", "word": ocr.words[a.word].text, "char": a.ch.to_string(),
                           "distance_to_same_digit_in_word": d, "threshold": p.glyph_word_shape_min}),
                ));
            }
        }
    }
    in_word.sort_by(|a, b| b.0.total_cmp(&a.0));
    let largest_in_word: Vec<serde_json::Value> = in_word
        .iter()
        .take(3)
        .map(|(d, i)| json!({"distance": d, "char": glyphs[*i].ch.to_string(), "box": glyphs[*i].bbox}))
        .collect();
    let mut largest: Vec<(f32, usize)> = same_min
        .iter()
        .enumerate()
        .filter_map(|(i, d)| d.map(|d| (d, i)))
        .collect();
    largest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let largest: Vec<serde_json::Value> = largest
        .iter()
        .take(3)
        .map(|(d, i)| json!({"distance": d, "char": glyphs[*i].ch.to_string(), "box": glyphs[*i].bbox}))
        .collect();
    let ev = json!({
        "digit_glyphs": glyphs.len(), "faces_compared": faces_compared, "page_face_fit": page_face_fit,
        "face_findings_the_page_repeats": page_renders,
        "typical_same_digit_distance": typical, "shape_threshold": threshold,
        "largest_distances": largest, "largest_in_word": largest_in_word,
        "findings": findings.iter().map(|f| f.1.clone()).collect::<Vec<_>>(),
    });
    if glyphs.is_empty() {
        return Check::new(NAME, Outcome::NotApplicable, "no digit glyphs to compare", ev);
    }
    verdict(
        NAME,
        findings.iter().map(|f| f.0).collect(),
        format!(
            "{} digit glyphs consistent in face, size and alignment",
            glyphs.len()
        ),
        format!(
            "{} glyph(s) differ in face, size or alignment from their word or the same digit elsewhere",
            findings.len()
        ),
        ev,
    )
}

/// A 3 × 3 mean of `img` at `(x, y)` (clamped to the image).
fn mean3(img: &image::RgbImage, x: u32, y: u32) -> [f32; 3] {
    let (w, h) = img.dimensions();
    let mut s = [0f32; 3];
    let mut n = 0f32;
    for yy in y.saturating_sub(1)..(y + 2).min(h) {
        for xx in x.saturating_sub(1)..(x + 2).min(w) {
            let p = img.get_pixel(xx, yy).0;
            for c in 0..3 {
                s[c] += f32::from(p[c]);
            }
            n += 1.0;
        }
    }
    s.map(|v| v / n)
}

fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

fn median_colour(px: &[[f32; 3]]) -> [f32; 3] {
    let mut out = [0f32; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let mut v: Vec<f32> = px.iter().map(|p| p[c]).collect();
        *o = median(&mut v);
    }
    out
}

/// Paper of another colour inside a word than around it.
///
/// For every legible word, the paper colour is taken on each side of a ring around it (3 × 3 means, the
/// lighter half of the ring's pixels so that neighbouring ink does not count). Where the four sides disagree
/// the word sits on a boundary (a card's edge, a tinted band) and is skipped. Inside the word, a pixel is
/// *off-paper* when it is not darker than the paper (ink and its anti-aliased edge are) and differs from it in
/// some channel by more than `max(background_min_difference, 4 × the ring's spread)`. A connected group of
/// off-paper pixels of at least `background_min_share` of the word's height squared is a patch: on white
/// paper a white-out leaves no trace here, on tinted card stock or security paper it does.
pub fn background_patch(img: &image::RgbImage, ocr: &OcrPage, p: &IntakePolicy) -> Check {
    const NAME: &str = "forensics.background";
    let (pw, ph) = img.dimensions();
    let mut findings: Vec<(BBox, serde_json::Value)> = Vec::new();
    let (mut words, mut skipped) = (0usize, 0usize);
    for word in &ocr.words {
        let b = word.bbox;
        if word.confidence < 50.0 || b.h < 12 || !word.text.chars().any(char::is_alphanumeric) {
            continue;
        }
        // The word with a margin (a whited-out cell reaches past the ink of a word's first or last glyph),
        // and a ring around that.
        let (e, r) = ((b.h / 6).max(3), (b.h / 3).max(4));
        if b.x < e + r + 1 || b.y < e + r + 1 || b.right() + e + r + 1 >= pw || b.bottom() + e + r + 1 >= ph {
            continue;
        }
        let inner = BBox::new(b.x - e, b.y - e, b.w + 2 * e, b.h + 2 * e);
        let sides = [
            BBox::new(inner.x - r, inner.y - r, inner.w + 2 * r, r),
            BBox::new(inner.x - r, inner.bottom(), inner.w + 2 * r, r),
            BBox::new(inner.x - r, inner.y, r, inner.h),
            BBox::new(inner.right(), inner.y, r, inner.h),
        ];
        let mut all: Vec<[f32; 3]> = Vec::new();
        let mut side_colours = Vec::new();
        for sb in &sides {
            let mut px: Vec<[f32; 3]> = Vec::new();
            for y in (sb.y..sb.bottom()).step_by(2) {
                for x in (sb.x..sb.right()).step_by(2) {
                    px.push(mean3(img, x, y));
                }
            }
            // The lighter half: paper, not a neighbour's ink.
            px.sort_by(|a, c| luma(*c).total_cmp(&luma(*a)));
            px.truncate(px.len().div_ceil(2));
            side_colours.push(median_colour(&px));
            all.extend(px);
        }
        let paper = median_colour(&all);
        let mut spread = 0f32;
        for c in 0..3 {
            let mut dev: Vec<f32> = all.iter().map(|v| (v[c] - paper[c]).abs()).collect();
            spread = spread.max(median(&mut dev));
        }
        let tol = p.background_min_difference.max(4.0 * spread);
        let differs = |a: [f32; 3], c: [f32; 3]| (0..3).any(|i| (a[i] - c[i]).abs() > tol);
        if side_colours.iter().any(|s| differs(*s, paper)) {
            skipped += 1;
            continue;
        }
        words += 1;
        let (w, h) = (inner.w as usize, inner.h as usize);
        let off: Vec<bool> = (0..w * h)
            .map(|i| {
                let v = mean3(img, inner.x + (i % w) as u32, inner.y + (i / w) as u32);
                luma(v) >= luma(paper) - 4.0 && differs(v, paper)
            })
            .collect();
        let min_pixels = ((b.h * b.h) as f32 * p.background_min_share).max(20.0) as usize;
        for (cb, n) in components(&off, w, h) {
            if n >= min_pixels {
                let pb = BBox::new(inner.x + cb.x, inner.y + cb.y, cb.w, cb.h);
                let inside: Vec<[f32; 3]> = (0..cb.h)
                    .flat_map(|y| (0..cb.w).map(move |x| (x, y)))
                    .filter(|(x, y)| off[(cb.y + y) as usize * w + (cb.x + x) as usize])
                    .map(|(x, y)| img.get_pixel(pb.x + x, pb.y + y).0.map(f32::from))
                    .collect();
                let colour = median_colour(&inside);
                findings.push((
                    pb,
                    json!({"word": word.text, "box": pb, "pixels": n, "patch_colour": colour.map(f32::round),
                           "paper_colour": paper.map(f32::round), "tolerance": tol}),
                ));
            }
        }
    }
    let ev = json!({"words": words, "words_on_a_boundary": skipped,
                    "min_difference": p.background_min_difference, "min_share": p.background_min_share,
                    "findings": findings.iter().map(|f| f.1.clone()).collect::<Vec<_>>()});
    if words == 0 {
        return Check::new(
            NAME,
            Outcome::NotApplicable,
            "no word on even paper to compare",
            ev,
        );
    }
    verdict(
        NAME,
        findings.iter().map(|f| f.0).collect(),
        format!("the paper inside {words} words matches the paper around them"),
        format!(
            "{} patch(es) inside the text have another paper colour than around them (whited out)",
            findings.len()
        ),
        ev,
    )
}

/// Digits whose nearest face differs from their word's (see [`typeface`]), learnt against the page's own
/// rendering: a digit counts only if no other instance of the same digit on the page (in its word or another)
/// is nearest to that same face, and if it does not match in shape (`alike`) an instance of it in a word of
/// its word's family. A page set in a typeface the library does not hold renders, say, its "1" nearer to
/// DejaVu Serif than to DejaVu Sans; that is the page's typeface, not an alteration, and the page prints that
/// "1" again in its other numbers. Returns the findings, how many were set aside so, and how well the library
/// fits the page.
fn face_findings(
    fonts: &crate::corpus::render::Fonts,
    glyphs: &[Glyph],
    alike: &[Vec<usize>],
    ocr: &OcrPage,
    p: &IntakePolicy,
) -> FaceFindings {
    let mut renders = typeface::Renders::default();
    let dists: Vec<Vec<Option<f32>>> = glyphs
        .iter()
        .map(|g| renders.distances(fonts, &g.ink, g.ch, g.bbox.h, smoothed))
        .collect();
    let families: Vec<[Option<(usize, f32)>; 2]> = dists.iter().map(|d| typeface::by_family(d)).collect();
    let nearest = |i: usize| -> Option<(usize, usize, f32)> {
        families[i]
            .iter()
            .enumerate()
            .filter_map(|(fam, v)| v.map(|(face, d)| (fam, face, d)))
            .min_by(|a, b| a.2.total_cmp(&b.2))
    };
    let mut fit: Vec<f32> = (0..glyphs.len())
        .filter_map(|i| nearest(i).map(|n| n.2))
        .collect();
    let page_fit = if fit.is_empty() {
        f32::MAX
    } else {
        median(&mut fit)
    };
    let mut out = Vec::new();
    let mut repeated = 0usize;
    let mut words: Vec<usize> = glyphs.iter().map(|g| g.word).collect();
    words.dedup();
    // Each word's family: the one most of its well-matched digits are nearest to, if they are most of it.
    let family_of: HashMap<usize, usize> = words
        .iter()
        .filter_map(|&w| {
            let members: Vec<usize> = (0..glyphs.len()).filter(|i| glyphs[*i].word == w).collect();
            if members.len() < 3 {
                return None;
            }
            let mut votes = [0usize; typeface::FAMILIES.len()];
            for i in &members {
                if let Some((fam, _, d)) = nearest(*i) {
                    if d <= p.glyph_face_max_distance {
                        votes[fam] += 1;
                    }
                }
            }
            let (family, n) = votes.iter().copied().enumerate().max_by_key(|v| v.1)?;
            (n >= 2 && n * 2 > members.len()).then_some((w, family))
        })
        .collect();
    for w in words {
        let Some(&word_family) = family_of.get(&w) else {
            continue;
        };
        let members: Vec<usize> = (0..glyphs.len()).filter(|i| glyphs[*i].word == w).collect();
        for i in members {
            let (Some((fam, face, d)), Some((word_face, d_word))) = (nearest(i), families[i][word_family])
            else {
                continue;
            };
            let g = &glyphs[i];
            // Faces that render this digit alike cannot be told apart.
            let apart = renders
                .faces_apart(face, word_face, g.ch, g.bbox.h)
                .unwrap_or(0.0);
            if fam != word_family
                && d <= p.glyph_face_max_distance
                && d_word >= d * p.glyph_face_margin
                && apart >= p.glyph_face_min_separation
            {
                // The page's own rendering of this digit, elsewhere.
                let page_does_so = (0..glyphs.len()).any(|j| {
                    j != i
                        && glyphs[j].ch == g.ch
                        && nearest(j).is_some_and(|(f, _, dj)| f == fam && dj <= p.glyph_face_max_distance)
                });
                // The page prints this digit so in another word of this family.
                let page_prints_it = alike[i].iter().any(|&j| {
                    glyphs[j].word != g.word && family_of.get(&glyphs[j].word) == Some(&word_family)
                });
                if page_does_so || page_prints_it {
                    repeated += 1;
                    continue;
                }
                out.push((
                    g.bbox,
                    json!({"kind": "face", "word": ocr.words[g.word].text, "char": g.ch.to_string(),
                           "nearest_face": typeface::FACES[face], "distance": d,
                           "word_face": typeface::FACES[word_face], "distance_to_word_face": d_word,
                           "faces_apart": apart, "margin": p.glyph_face_margin}),
                ));
            }
        }
    }
    FaceFindings {
        findings: out,
        page_renders: repeated,
        page_fit,
    }
}

/// What [`face_findings`] found.
struct FaceFindings {
    findings: Vec<(BBox, serde_json::Value)>,
    /// Findings set aside because the page renders the digit so elsewhere.
    page_renders: usize,
    /// The median distance of the page's digits to their nearest library face: how well the library holds
    /// the page's typeface.
    page_fit: f32,
}

/// Labels of the type's layout found with no value after them.
pub fn erased_values(rec: &Recognition) -> Check {
    const NAME: &str = "forensics.erased_value";
    if rec.classification.doc_class == crate::recognise::DocClass::Unknown {
        return Check::not_applicable(NAME, "unknown document type: no layout to compare with");
    }
    let ev = json!({"empty_labels": rec.empty_labels});
    let names: Vec<&str> = rec.empty_labels.iter().map(|e| e.label.as_str()).collect();
    verdict(
        NAME,
        rec.empty_labels.iter().map(|e| e.value_region).collect(),
        "every label of the layout has its value",
        format!(
            "nothing after {}: the value may have been erased",
            names.join(", ")
        ),
        ev,
    )
}

/// Paper noise per 64 × 64 tile of the text area: the mean absolute difference of horizontally adjacent paper
/// pixels. Returns the tiles and the page's typical level (the lower quartile, so that tiles crossing a card's
/// edge or a tinted band do not raise it).
pub fn paper_noise(g: &image::GrayImage, ocr: &OcrPage) -> (Vec<(BBox, f32)>, f32) {
    const T: u32 = 64;
    let Some(area) = words_area(ocr) else {
        return (Vec::new(), 0.0);
    };
    let (w, h) = g.dimensions();
    let mut tiles: Vec<(BBox, f32)> = Vec::new();
    let mut y = area.y;
    while y + T <= area.bottom().min(h - 1) {
        let mut x = area.x;
        while x + T <= area.right().min(w - 1) {
            let (mut s, mut n) = (0u64, 0u64);
            for yy in (y..y + T).step_by(2) {
                for xx in x..x + T - 1 {
                    let (a, b) = (g.get_pixel(xx, yy)[0], g.get_pixel(xx + 1, yy)[0]);
                    if a > 170 && b > 170 {
                        s += u64::from(a.abs_diff(b));
                        n += 1;
                    }
                }
            }
            if n > u64::from(T * T / 4) {
                tiles.push((BBox::new(x, y, T, T), s as f32 / n as f32));
            }
            x += T;
        }
        y += T;
    }
    let mut levels: Vec<f32> = tiles.iter().map(|t| t.1).collect();
    levels.sort_by(f32::total_cmp);
    let typical = levels.get(levels.len() / 4).copied().unwrap_or(0.0);
    (tiles, typical)
}

/// Tiles far cleaner than the page's typical paper noise (a digitally whited-out patch on a scanned page). Not
/// applicable to noise-free (born-digital) pages.
pub fn noise_consistency(tiles: &[(BBox, f32)], typical: f32, p: &IntakePolicy) -> Check {
    const NAME: &str = "forensics.noise";
    if typical < p.noise_min_level {
        return Check::new(
            NAME,
            Outcome::NotApplicable,
            "the page has no measurable paper noise (born digital or very clean scan)",
            json!({"tiles": tiles.len(), "typical_noise": typical, "min_noise": p.noise_min_level}),
        );
    }
    let flagged: Vec<BBox> = tiles
        .iter()
        .filter(|t| t.1 < typical * p.noise_clean_factor)
        .map(|t| t.0)
        .collect();
    let ev = json!({"tiles": tiles.len(), "typical_noise": typical, "clean_factor": p.noise_clean_factor,
                    "flagged": flagged.len(), "min_tiles": p.noise_min_tiles});
    if flagged.len() >= p.noise_min_tiles {
        Check::new(
            NAME,
            Outcome::Fail,
            format!(
                "{} tile(s) are much cleaner than the rest of the paper (retouched)",
                flagged.len()
            ),
            ev,
        )
        .with_regions(flagged)
        .with_ground(Ground::Altered)
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("paper noise uniform (typical {typical:.1})"),
            ev,
        )
    }
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
