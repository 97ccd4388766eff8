//! Error level analysis: areas of a JPEG-compressed page that recompress unlike the rest.
use super::*;

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
pub(super) fn verdict(
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
pub(super) fn group_blocks(
    flagged: &[usize],
    bw: usize,
    size: u32,
    ox: u32,
    oy: u32,
    min: usize,
) -> Vec<BBox> {
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
