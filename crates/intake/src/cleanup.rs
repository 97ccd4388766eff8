//! Image clean-up before OCR: greyscale, deskew, crop to the page, resolution, blank pages, orientation.
//!
//! Every function returns what it measured (angle and how peaked the evidence was, crop box and grey levels,
//! ink coverage, per-orientation scores) so that a later check can cite the evidence, not just a verdict.
//!
//! Angles: a positive angle is a counter-clockwise turn as seen on screen.

use image::{GrayImage, ImageBuffer, Luma, Pixel, RgbImage};
use serde::Serialize;

use crate::error::IntakeError;
use crate::geometry::BBox;
use crate::ocr::OcrWorker;

/// Greyscale (ITU-R 601 luma) for analysis and OCR.
pub fn to_gray(img: &RgbImage) -> GrayImage {
    image::DynamicImage::ImageRgb8(img.clone()).to_luma8()
}

/// Otsu's threshold of a 256-bin histogram.
pub fn otsu_threshold(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.as_raw() {
        hist[*p as usize] += 1;
    }
    otsu_from_hist(&hist)
}

fn otsu_from_hist(hist: &[u64; 256]) -> u8 {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return 128;
    }
    let sum_all: f64 = hist.iter().enumerate().map(|(i, &c)| i as f64 * c as f64).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0f64, 0f64, -1f64, 128u8);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        if w0 == 0.0 {
            continue;
        }
        let w1 = total as f64 - w0;
        if w1 == 0.0 {
            break;
        }
        sum0 += t as f64 * c as f64;
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Rotates counter-clockwise by `angle_deg` about the centre, keeping the size; uncovered corners get `fill`.
/// Bilinear sampling.
pub fn rotate<P>(img: &ImageBuffer<P, Vec<u8>>, angle_deg: f32, fill: P) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8>,
{
    let (w, h) = img.dimensions();
    let mut out = ImageBuffer::from_pixel(w, h, fill);
    if w == 0 || h == 0 {
        return out;
    }
    let n = P::CHANNEL_COUNT as usize;
    let (s, c) = (angle_deg.to_radians() as f64).sin_cos();
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let src = img.as_raw();
    let stride = w as usize * n;
    let dst = out.as_mut();
    for y in 0..h as usize {
        let dy = y as f64 - cy;
        for x in 0..w as usize {
            let dx = x as f64 - cx;
            // Inverse of a screen counter-clockwise turn.
            let sx = dx * c - dy * s + cx;
            let sy = dx * s + dy * c + cy;
            if sx < -0.5 || sy < -0.5 || sx > w as f64 - 0.5 || sy > h as f64 - 0.5 {
                continue;
            }
            let x0 = sx.floor().clamp(0.0, w as f64 - 1.0) as usize;
            let y0 = sy.floor().clamp(0.0, h as f64 - 1.0) as usize;
            let x1 = (x0 + 1).min(w as usize - 1);
            let y1 = (y0 + 1).min(h as usize - 1);
            let fx = (sx - x0 as f64).clamp(0.0, 1.0);
            let fy = (sy - y0 as f64).clamp(0.0, 1.0);
            let o = y * stride + x * n;
            for ch in 0..n {
                let p00 = src[y0 * stride + x0 * n + ch] as f64;
                let p10 = src[y0 * stride + x1 * n + ch] as f64;
                let p01 = src[y1 * stride + x0 * n + ch] as f64;
                let p11 = src[y1 * stride + x1 * n + ch] as f64;
                let top = p00 + (p10 - p00) * fx;
                let bottom = p01 + (p11 - p01) * fx;
                dst[o + ch] = (top + (bottom - top) * fy).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    out
}

/// What the skew estimate saw.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SkewEstimate {
    /// Counter-clockwise skew of the content in degrees; deskewing turns by the opposite.
    pub angle_deg: f32,
    /// Projection-profile score at the best angle divided by the score at 0° (1.0: no gain from turning).
    pub gain_over_zero: f32,
    /// Best score over the median score of all candidates; low values mean no clear text lines.
    pub peak_ratio: f32,
    /// Ink points the estimate used.
    pub ink_points: usize,
}

/// Largest skew searched, in degrees either way.
pub const MAX_SKEW_DEG: f32 = 10.0;

/// Ink points of a downsampled copy (about 1,200 px wide), relative to the image centre, in downsampled pixels.
fn ink_points(img: &GrayImage) -> (Vec<(f32, f32)>, u32) {
    let (w, h) = img.dimensions();
    let k = w.div_ceil(1200).max(1);
    let (sw, sh) = (w / k, h / k);
    let mut small = GrayImage::new(sw.max(1), sh.max(1));
    for y in 0..sh {
        for x in 0..sw {
            let mut sum = 0u32;
            for yy in 0..k {
                for xx in 0..k {
                    sum += img.get_pixel(x * k + xx, y * k + yy)[0] as u32;
                }
            }
            small.put_pixel(x, y, Luma([(sum / (k * k)) as u8]));
        }
    }
    // Otsu's dark class is the levels up to and including its threshold (on a two-level image, the
    // threshold is the dark level itself).
    let t = otsu_threshold(&small);
    let (cx, cy) = (sw as f32 / 2.0, sh as f32 / 2.0);
    let pts = small
        .enumerate_pixels()
        .filter(|(_, _, p)| p[0] <= t)
        .map(|(x, y, _)| (x as f32 - cx, y as f32 - cy))
        .collect();
    (pts, k)
}

fn profile_score(points: &[(f32, f32)], angle_deg: f32, bins: &mut Vec<u32>, half: f32) -> f64 {
    let (s, c) = angle_deg.to_radians().sin_cos();
    let n = (2.0 * half) as usize + 2;
    bins.clear();
    bins.resize(n, 0);
    for &(dx, dy) in points {
        let y = dx * s + dy * c + half;
        if y >= 0.0 && (y as usize) < n {
            bins[y as usize] += 1;
        }
    }
    bins.iter().map(|&b| (b as f64) * (b as f64)).sum()
}

/// Estimates the skew of text lines by maximising the variance of the horizontal projection profile over
/// candidate angles in ±[`MAX_SKEW_DEG`] (coarse 0.25° steps, then 0.02° around the best).
pub fn estimate_skew(img: &GrayImage) -> SkewEstimate {
    estimate_skew_within(img, MAX_SKEW_DEG)
}

/// [`estimate_skew`] over candidate angles in ±`max_deg` (a stamp may be turned by 30°, a page by 10°).
pub fn estimate_skew_within(img: &GrayImage, max_deg: f32) -> SkewEstimate {
    let (points, _) = ink_points(img);
    if points.len() < 50 {
        return SkewEstimate {
            angle_deg: 0.0,
            gain_over_zero: 1.0,
            peak_ratio: 1.0,
            ink_points: points.len(),
        };
    }
    let half = points
        .iter()
        .map(|(x, y)| (x * x + y * y).sqrt())
        .fold(0f32, f32::max)
        + 2.0;
    let mut bins = Vec::new();
    let mut scores = Vec::new();
    let mut best = (0f32, f64::MIN);
    let mut a = -max_deg;
    while a <= max_deg + 1e-4 {
        let s = profile_score(&points, a, &mut bins, half);
        scores.push(s);
        if s > best.1 {
            best = (a, s);
        }
        a += 0.25;
    }
    let coarse = best.0;
    let mut a = coarse - 0.25;
    while a <= coarse + 0.25 + 1e-4 {
        let s = profile_score(&points, a, &mut bins, half);
        if s > best.1 {
            best = (a, s);
        }
        a += 0.02;
    }
    let zero = profile_score(&points, 0.0, &mut bins, half);
    scores.sort_by(|a, b| a.total_cmp(b));
    let median = scores[scores.len() / 2];
    SkewEstimate {
        angle_deg: best.0,
        gain_over_zero: (best.1 / zero.max(1.0)) as f32,
        peak_ratio: (best.1 / median.max(1.0)) as f32,
        ink_points: points.len(),
    }
}

/// Deskews: estimates the skew and turns the page back when it exceeds `min_angle_deg`.
pub fn deskew(img: &RgbImage, min_angle_deg: f32) -> (RgbImage, SkewEstimate) {
    let est = estimate_skew(&to_gray(img));
    if est.angle_deg.abs() < min_angle_deg {
        return (img.clone(), est);
    }
    let fill = image::Rgb([255, 255, 255]);
    (rotate(img, -est.angle_deg, fill), est)
}

/// Where the page is in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PageCrop {
    /// The paper region (the whole image when no background was found).
    pub bbox: BBox,
    /// Mean grey level of the outer frame of the capture.
    pub border_level: f32,
    /// Grey level of the paper (90th percentile).
    pub paper_level: u8,
    /// True when a darker background was found around the paper and cut away.
    pub background_found: bool,
}

/// Finds the paper against a darker background (a scanner lid, a table) from row and column profiles of
/// paper-bright pixels.
pub fn find_page(img: &GrayImage) -> PageCrop {
    let (w, h) = img.dimensions();
    let full = BBox::new(0, 0, w, h);
    let mut hist = [0u64; 256];
    for p in img.as_raw() {
        hist[*p as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let mut acc = 0;
    let mut paper_level = 255u8;
    for (i, c) in hist.iter().enumerate() {
        acc += c;
        if acc * 10 >= total * 9 {
            paper_level = i as u8;
            break;
        }
    }
    let frame = (w.min(h) / 50).max(1);
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in img.enumerate_pixels() {
        if x < frame || y < frame || x >= w.saturating_sub(frame) || y >= h.saturating_sub(frame) {
            sum += p[0] as u64;
            n += 1;
        }
    }
    let border_level = if n == 0 { 255.0 } else { sum as f32 / n as f32 };
    if w < 8 || h < 8 || border_level > paper_level as f32 - 40.0 {
        return PageCrop {
            bbox: full,
            border_level,
            paper_level,
            background_found: false,
        };
    }
    let t = ((border_level + paper_level as f32) / 2.0) as u8;
    let mut rows = vec![0u32; h as usize];
    let mut cols = vec![0u32; w as usize];
    for (x, y, p) in img.enumerate_pixels() {
        if p[0] > t {
            rows[y as usize] += 1;
            cols[x as usize] += 1;
        }
    }
    let span = |v: &[u32]| -> Option<(u32, u32)> {
        let max = *v.iter().max()?;
        let limit = max / 2;
        let first = v.iter().position(|&c| c > limit)?;
        let last = v.iter().rposition(|&c| c > limit)?;
        Some((first as u32, last as u32))
    };
    match (span(&rows), span(&cols)) {
        (Some((y0, y1)), Some((x0, x1))) if y1 > y0 && x1 > x0 => PageCrop {
            bbox: BBox::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1),
            border_level,
            paper_level,
            background_found: true,
        },
        _ => PageCrop {
            bbox: full,
            border_level,
            paper_level,
            background_found: false,
        },
    }
}

/// Crops a colour page to the paper found by [`find_page`] on its greyscale.
pub fn crop_to_page(img: &RgbImage) -> (RgbImage, PageCrop) {
    let crop = find_page(&to_gray(img));
    let b = crop.bbox;
    let out = image::imageops::crop_imm(img, b.x, b.y, b.w, b.h).to_image();
    (out, crop)
}

/// Where a page's resolution came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DpiSource {
    /// Stated by the file or the scanner.
    Metadata,
    /// Estimated from the page's size, taking it for A4 (210 × 297 mm) because its proportions match.
    EstimatedA4,
    /// Nothing to go on: taken as the target resolution, the image was left as it is.
    Assumed,
}

/// What resolution normalisation did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResolutionReport {
    pub source_dpi: f32,
    pub dpi_source: DpiSource,
    pub target_dpi: u32,
    /// Scale factor applied (1.0: untouched).
    pub scale: f32,
}

const A4_SHORT_IN: f32 = 210.0 / 25.4;
const A4_RATIO: f32 = 297.0 / 210.0;

/// Estimates the resolution of a cropped page if its proportions are those of A4 (within 3 %).
pub fn estimate_dpi_a4(width: u32, height: u32) -> Option<f32> {
    let (short, long) = (width.min(height) as f32, width.max(height) as f32);
    if short < 1.0 {
        return None;
    }
    ((long / short - A4_RATIO).abs() / A4_RATIO < 0.03).then(|| short / A4_SHORT_IN)
}

/// Scales a page to `target_dpi` from its stated resolution, or one estimated from A4 proportions. Differences
/// under 2 % are left alone.
pub fn normalise_resolution(
    img: &RgbImage,
    dpi: Option<f32>,
    target_dpi: u32,
) -> (RgbImage, ResolutionReport) {
    let (source_dpi, dpi_source) = match dpi.filter(|d| *d >= 30.0) {
        Some(d) => (d, DpiSource::Metadata),
        None => match estimate_dpi_a4(img.width(), img.height()) {
            Some(d) => (d, DpiSource::EstimatedA4),
            None => (target_dpi as f32, DpiSource::Assumed),
        },
    };
    let scale = target_dpi as f32 / source_dpi;
    if (scale - 1.0).abs() < 0.02 {
        return (
            img.clone(),
            ResolutionReport {
                source_dpi,
                dpi_source,
                target_dpi,
                scale: 1.0,
            },
        );
    }
    let nw = ((img.width() as f32 * scale).round() as u32).max(1);
    let nh = ((img.height() as f32 * scale).round() as u32).max(1);
    let filter = if scale < 1.0 {
        image::imageops::FilterType::Triangle
    } else {
        image::imageops::FilterType::CatmullRom
    };
    (
        image::imageops::resize(img, nw, nh, filter),
        ResolutionReport {
            source_dpi,
            dpi_source,
            target_dpi,
            scale,
        },
    )
}

/// Blank-page measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlankReport {
    /// Share of pixels (inside a 4 % margin) darker than `ink_threshold`.
    pub ink_coverage: f32,
    pub ink_threshold: u8,
    /// Coverage at or below which a page counts as blank.
    pub blank_below: f32,
    pub is_blank: bool,
}

/// Coverage below which a page is blank: 0.02 % of the page, about a 30 × 60 px mark at 300 dpi; a single
/// printed line of 40 characters covers several times that.
pub const BLANK_COVERAGE: f32 = 0.0002;

/// Measures ink coverage inside a 4 % margin (scanner edge shadows are not ink).
pub fn detect_blank(img: &GrayImage) -> BlankReport {
    let (w, h) = img.dimensions();
    let (mx, my) = (w / 25, h / 25);
    let threshold = 140u8;
    let (mut ink, mut n) = (0u64, 0u64);
    for y in my..h.saturating_sub(my) {
        for x in mx..w.saturating_sub(mx) {
            n += 1;
            if img.get_pixel(x, y)[0] < threshold {
                ink += 1;
            }
        }
    }
    let coverage = if n == 0 { 0.0 } else { ink as f32 / n as f32 };
    BlankReport {
        ink_coverage: coverage,
        ink_threshold: threshold,
        blank_below: BLANK_COVERAGE,
        is_blank: coverage <= BLANK_COVERAGE,
    }
}

/// Orientation measurement: how far the content is turned clockwise from upright, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrientationReport {
    /// Clockwise turn of the content: 0, 90, 180 or 270. Correct with [`apply_orientation`].
    pub rotation_cw: u16,
    /// Score for each hypothesis 0/90/180/270: characters in words Tesseract read with confidence ≥ 70.
    pub scores: [u32; 4],
    /// Mean word confidence for each hypothesis.
    pub mean_confidence: [f32; 4],
    /// (best − second best) / best: 0 when undecided, 1 when only one hypothesis reads.
    pub confidence: f32,
    /// The window (in page pixels) that was read.
    pub window: BBox,
}

/// Turns content that is rotated `rotation_cw` degrees clockwise back upright.
pub fn apply_orientation<P>(img: &ImageBuffer<P, Vec<u8>>, rotation_cw: u16) -> ImageBuffer<P, Vec<u8>>
where
    P: Pixel<Subpixel = u8> + 'static,
{
    match rotation_cw % 360 {
        90 => image::imageops::rotate270(img),
        180 => image::imageops::rotate180(img),
        270 => image::imageops::rotate90(img),
        _ => img.clone(),
    }
}

/// Side of the square window read for orientation, in pixels at 150 dpi.
const ORIENTATION_WINDOW: u32 = 480;

/// Detects 0/90/180/270 orientation by reading a square window of the page, at half resolution, in all four
/// turns with Tesseract and keeping the turn under which the most characters are read confidently.
///
/// The window is read as a single block (PSM 6): with automatic layout analysis (PSM 3) Tesseract finds
/// vertical text lines and reads them upright itself, so a page turned 90° scored as well as the upright one.
///
/// Tesseract's own orientation detector (OSD) is not reachable through the safe API of the `tesseract` crate,
/// and this crate does not use `unsafe`; reading the four turns costs four small OCR passes instead.
pub fn detect_orientation(
    worker: &mut OcrWorker,
    img: &GrayImage,
    dpi: u32,
) -> Result<OrientationReport, IntakeError> {
    let (w, h) = img.dimensions();
    if w < 16 || h < 16 {
        return Err(IntakeError::InvalidImage(format!(
            "page too small for orientation ({w}×{h})"
        )));
    }
    let half = image::imageops::resize(img, w / 2, h / 2, image::imageops::FilterType::Triangle);
    let small_dpi = (dpi / 2).max(1);
    let side = ORIENTATION_WINDOW.min(half.width()).min(half.height());
    let (wx, wy) = densest_window(&half, side);
    let window = image::imageops::crop_imm(&half, wx, wy, side, side).to_image();
    let mut scores = [0u32; 4];
    let mut means = [0f32; 4];
    for (i, rot) in [0u16, 90, 180, 270].into_iter().enumerate() {
        let upright = apply_orientation(&window, rot);
        let page = worker.recognize_gray_single_block(&upright, small_dpi)?;
        scores[i] = page
            .words
            .iter()
            .filter(|w| w.confidence >= 70.0)
            .map(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count() as u32)
            .sum();
        means[i] = page.mean_confidence;
    }
    let mut order: Vec<usize> = (0..4).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(scores[i]));
    let (best, second) = (scores[order[0]], scores[order[1]]);
    let confidence = if best == 0 {
        0.0
    } else {
        (best - second) as f32 / best as f32
    };
    Ok(OrientationReport {
        rotation_cw: [0u16, 90, 180, 270][order[0]],
        scores,
        mean_confidence: means,
        confidence,
        window: BBox::new(wx * 2, wy * 2, side * 2, side * 2),
    })
}

/// Top-left corner of the `side` × `side` window holding the most ink (searched on a 1/8 grid).
fn densest_window(img: &GrayImage, side: u32) -> (u32, u32) {
    let (w, h) = img.dimensions();
    let t = otsu_threshold(img);
    // Integral image of ink.
    let (iw, ih) = (w as usize + 1, h as usize + 1);
    let mut integral = vec![0u32; iw * ih];
    for y in 0..h as usize {
        let mut row = 0u32;
        for x in 0..w as usize {
            if img.get_pixel(x as u32, y as u32)[0] < t {
                row += 1;
            }
            integral[(y + 1) * iw + x + 1] = integral[y * iw + x + 1] + row;
        }
    }
    let sum = |x: usize, y: usize, s: usize| {
        integral[(y + s) * iw + x + s] + integral[y * iw + x]
            - integral[y * iw + x + s]
            - integral[(y + s) * iw + x]
    };
    let step = (side / 8).max(1) as usize;
    let s = side as usize;
    let mut best = (0u32, 0u32, 0u32);
    let mut y = 0;
    while y + s <= h as usize {
        let mut x = 0;
        while x + s <= w as usize {
            let v = sum(x, y, s);
            if v > best.2 {
                best = (x as u32, y as u32, v);
            }
            x += step;
        }
        y += step;
    }
    (best.0, best.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_splits_two_levels() {
        let mut img = GrayImage::from_pixel(10, 10, Luma([240]));
        for x in 0..5 {
            for y in 0..10 {
                img.put_pixel(x, y, Luma([20]));
            }
        }
        let t = otsu_threshold(&img);
        assert!((20..240).contains(&t), "threshold {t}");
    }

    #[test]
    fn rotate_by_zero_is_identity_and_by_90_moves_right_to_top() {
        let mut img = GrayImage::from_pixel(21, 21, Luma([255]));
        img.put_pixel(20, 10, Luma([0]));
        assert_eq!(rotate(&img, 0.0, Luma([255])), img);
        let r = rotate(&img, 90.0, Luma([255]));
        // A point right of the centre goes above it under a counter-clockwise turn.
        assert_eq!(r.get_pixel(10, 0)[0], 0);
    }

    #[test]
    fn a4_estimate() {
        let d = estimate_dpi_a4(2480, 3508).unwrap_or_default();
        assert!((d - 300.0).abs() < 1.0, "{d}");
        assert!(estimate_dpi_a4(1000, 1000).is_none());
    }
}
