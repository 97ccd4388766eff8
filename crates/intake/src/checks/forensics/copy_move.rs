//! Copy-move: the same patch of pixels in two places of one page.
use super::*;

// ---------------------------------------------------------------------------------------------------------

pub(super) const WIN: usize = 12;

/// Copy-move matches grouped by (source word, copy word, shift x, shift y).
pub(super) type CopyKey = (usize, usize, i64, i64);

/// Copy-move: identical windows inside the text at two places.
/// `noisy`: the page carries scanner noise ([`paper_noise`]). On a noise-free (born-digital) page the same
/// letter can render pixel-identically in two words by chance, so only copies inside one word count there.
/// A number as printed on a paper (an ID number, a date, a register number): at least two digits, and digits
/// are most of it. The values a forger changes, and the words whose glyphs the glyph and copy checks compare.
pub(super) fn numeric_word(text: &str) -> bool {
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    let digits = text.chars().filter(|c| c.is_ascii_digit()).count();
    digits >= 2 && digits * 10 >= chars * 6
}

/// A line of a machine-readable zone as OCR reads it: OCR-B capitals, digits and `<` fillers.
pub(super) fn mrz_like(text: &str) -> bool {
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
