//! Duplicates: a perceptual hash of the page with a content key, compared with pages certified before.
//!
//! The perceptual hash is a 256-bit difference hash (dHash): the page's ink box (so a page placed elsewhere
//! on the glass hashes the same) shrunk to 17 × 16 cell means, one bit per horizontal
//! neighbour pair that grows darker to the right by more than 1.5 grey levels (so blank paper gives stable
//! zeros instead of bits decided by scanner noise). Two pages of the same printed form differ only in their filled-in values, which the
//! thumbnail hardly sees, so the hash alone would call every birth certificate of one ward a duplicate; the
//! content key (a hash of the type and the key fields read on the page) tells them apart. A page is a
//! duplicate when its dHash is within the policy's Hamming distance of an earlier page *and* the content keys
//! agree (or either is missing).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Check, Outcome};
use crate::geometry::BBox;
use crate::ocr::OcrPage;
use crate::recognise::Recognition;
use crate::text::fold;

/// What the server keeps of a certified page to find it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageFingerprint {
    /// 256-bit dHash, 64 hex digits.
    pub dhash: String,
    /// 64-bit FNV-1a of the type and key fields, 16 hex digits; `None` when no key field was read.
    pub content: Option<String>,
}

/// An earlier page, as the caller stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousPage {
    /// The caller's reference (e.g. the certification number and page).
    pub reference: String,
    pub fingerprint: PageFingerprint,
}

/// Cell means closer than this (grey levels) count as equal.
const FLAT: f64 = 1.5;
const GW: usize = 17;
const GH: usize = 16;

/// The 256-bit dHash of a region of a greyscale page.
pub fn dhash(g: &image::GrayImage, region: BBox) -> [u64; 4] {
    let r = region
        .intersect(&BBox::new(0, 0, g.width(), g.height()))
        .unwrap_or(BBox::new(0, 0, g.width(), g.height()));
    let mut cells = [[0f64; GW]; GH];
    for (cy, row) in cells.iter_mut().enumerate() {
        let y0 = r.y + (r.h as u64 * cy as u64 / GH as u64) as u32;
        let y1 = (r.y + (r.h as u64 * (cy as u64 + 1) / GH as u64) as u32).max(y0 + 1);
        for (cx, cell) in row.iter_mut().enumerate() {
            let x0 = r.x + (r.w as u64 * cx as u64 / GW as u64) as u32;
            let x1 = (r.x + (r.w as u64 * (cx as u64 + 1) / GW as u64) as u32).max(x0 + 1);
            let (mut s, mut n) = (0u64, 0u64);
            // Every second pixel both ways is plenty for a mean over hundreds of pixels.
            for y in (y0..y1.min(g.height())).step_by(2) {
                for x in (x0..x1.min(g.width())).step_by(2) {
                    s += u64::from(g.get_pixel(x, y)[0]);
                    n += 1;
                }
            }
            *cell = if n == 0 { 255.0 } else { s as f64 / n as f64 };
        }
    }
    let mut bits = [0u64; 4];
    let mut k = 0;
    for row in &cells {
        for x in 0..GW - 1 {
            // Near-equal neighbours (blank paper) give 0, not a coin toss decided by scanner noise.
            if row[x] + FLAT < row[x + 1] {
                bits[k / 64] |= 1 << (k % 64);
            }
            k += 1;
        }
    }
    bits
}

fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The box of the page's ink: rows and columns with at least three dark pixels (sampled every second pixel),
/// so that scanner specks do not move it.
fn ink_box(g: &image::GrayImage) -> Option<BBox> {
    let (w, h) = g.dimensions();
    let mut rows = vec![0u32; h as usize];
    let mut cols = vec![0u32; w as usize];
    for y in (0..h).step_by(2) {
        for x in (0..w).step_by(2) {
            if g.get_pixel(x, y)[0] < 128 {
                rows[y as usize] += 1;
                cols[x as usize] += 1;
            }
        }
    }
    let first = |v: &[u32]| v.iter().position(|c| *c >= 3);
    let last = |v: &[u32]| v.iter().rposition(|c| *c >= 3);
    let (y0, y1, x0, x1) = (first(&rows)?, last(&rows)?, first(&cols)?, last(&cols)?);
    Some(BBox::new(
        x0 as u32,
        y0 as u32,
        (x1 - x0 + 1) as u32,
        (y1 - y0 + 1) as u32,
    ))
}

/// The fingerprint of a recognised page.
pub fn fingerprint(g: &image::GrayImage, _ocr: &OcrPage, rec: &Recognition) -> PageFingerprint {
    let area = ink_box(g).unwrap_or(BBox::new(0, 0, g.width(), g.height()));
    let bits = dhash(g, area);
    let dhash = bits.iter().map(|b| format!("{b:016x}")).collect::<String>();
    let keys: Vec<String> = ["id_number", "document_number", "holder_name", "birth_date"]
        .iter()
        .filter_map(|k| rec.fields.get(*k).map(|f| format!("{k}={}", fold(&f.value))))
        .collect();
    let content = (!keys.is_empty()).then(|| {
        format!(
            "{:016x}",
            fnv1a(&format!(
                "{}|{}",
                rec.classification.doc_class.name(),
                keys.join("|")
            ))
        )
    });
    PageFingerprint { dhash, content }
}

/// Hamming distance between two hex dHashes (`None` if either is malformed).
pub fn hamming(a: &str, b: &str) -> Option<u32> {
    if a.len() != b.len() || !a.len().is_multiple_of(16) {
        return None;
    }
    let mut d = 0;
    for i in (0..a.len()).step_by(16) {
        let x = u64::from_str_radix(&a[i..i + 16], 16).ok()?;
        let y = u64::from_str_radix(&b[i..i + 16], 16).ok()?;
        d += (x ^ y).count_ones();
    }
    Some(d)
}

/// Compares a page with the pages certified before.
pub fn duplicates(fp: &PageFingerprint, previous: &[PreviousPage], max_hamming: u32) -> Check {
    const NAME: &str = "duplicate.perceptual_hash";
    let mut best: Option<(u32, &PreviousPage)> = None;
    let mut nearest: Option<(u32, bool, &PreviousPage)> = None;
    for p in previous {
        let Some(d) = hamming(&fp.dhash, &p.fingerprint.dhash) else {
            continue;
        };
        let same_content = match (&fp.content, &p.fingerprint.content) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        if nearest.is_none_or(|(nd, _, _)| d < nd) {
            nearest = Some((d, same_content, p));
        }
        if d <= max_hamming && same_content && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, p));
        }
    }
    let nearest =
        nearest.map(|(d, same, p)| json!({"reference": p.reference, "hamming": d, "same_key_fields": same}));
    match best {
        Some((d, p)) => Check::new(
            NAME,
            Outcome::Warn,
            format!(
                "this page was certified before ({}; dHash distance {d} of 256, same key fields)",
                p.reference
            ),
            json!({"previous": p.reference, "hamming": d, "max_hamming": max_hamming, "fingerprint": fp}),
        ),
        None => Check::new(
            NAME,
            Outcome::Pass,
            format!("not among {} earlier page(s)", previous.len()),
            json!({"max_hamming": max_hamming, "fingerprint": fp, "nearest": nearest}),
        ),
    }
}
