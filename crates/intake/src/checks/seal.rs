//! Seal detection: red-dominant ink forming a roughly circular ring, or on a greyscale scan the same ring in
//! ink lighter than the text's.
//!
//! The page is reduced to a mask of 4 × 4 cells holding red ink ([`super::is_red`]); connected groups of cells
//! whose box is roughly square and of a seal's size are tested as rings: along 72 rays from the box centre,
//! how many meet red ink near the box radius. A rectangular "MẬT" stamp, red title letters or a red emblem do
//! not pass both tests. [`find_stamps`] finds the rectangular red frames of rubber stamps (the OCR worker
//! reads their text a second time, [`crate::ocr::OcrPage::stamps`]).

use serde::{Deserialize, Serialize};

use crate::decision::IntakePolicy;
use crate::geometry::BBox;

/// A ring of red ink.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seal {
    /// Centre and radius in page pixels.
    pub cx: u32,
    pub cy: u32,
    pub radius: u32,
    /// Share of the 72 rays that meet ink at 0.8–1.1 × the radius.
    pub ring_coverage: f32,
    pub ink: SealInk,
}

impl Seal {
    pub fn bbox(&self) -> BBox {
        BBox::new(
            self.cx.saturating_sub(self.radius),
            self.cy.saturating_sub(self.radius),
            2 * self.radius,
            2 * self.radius,
        )
    }
}

const CELL: u32 = 4;
const RAYS: usize = 72;

/// The page as 4 × 4 cells holding ink of one kind, with the boxes (in cells) of its 8-connected groups.
struct CellMask {
    mask: Vec<bool>,
    w: usize,
    h: usize,
    groups: Vec<(usize, usize, usize, usize)>,
}

/// Boxes (in cells, inclusive) of the 8-connected groups of set cells of a `mw` × `mh` mask.
fn group_cells(mask: &[bool], mw: usize, mh: usize) -> Vec<(usize, usize, usize, usize)> {
    let mut seen = vec![false; mw * mh];
    let mut groups = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len().min(mw * mh) {
        if !mask[start] || seen[start] {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0usize, 0usize);
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % mw, i / mw);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for (dx, dy) in [
                (-1i64, -1i64),
                (0, -1),
                (1, -1),
                (-1, 0),
                (1, 0),
                (-1, 1),
                (0, 1),
                (1, 1),
            ] {
                let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                if nx < 0 || ny < 0 || nx >= mw as i64 || ny >= mh as i64 {
                    continue;
                }
                let j = ny as usize * mw + nx as usize;
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        groups.push((x0, y0, x1, y1));
    }
    groups
}

/// Grows set cells of a `mw` × `mh` mask by `by` cells each way.
fn grow(mask: &mut [bool], mw: usize, mh: usize, by: usize) {
    if by == 0 {
        return;
    }
    let src = mask.to_vec();
    for y in 0..mh {
        for x in 0..mw {
            if src[y * mw + x] {
                for yy in y.saturating_sub(by)..(y + by + 1).min(mh) {
                    for xx in x.saturating_sub(by)..(x + by + 1).min(mw) {
                        mask[yy * mw + xx] = true;
                    }
                }
            }
        }
    }
}

/// A `w` × `h` page as 4 × 4 cells, set where `inked(x, y)` says of the cell whose top-left pixel is (x, y),
/// grown by `close` cells (bridges a line of other ink crossing a stamp), with its groups.
fn cell_mask(w: u32, h: u32, close: usize, inked: impl Fn(u32, u32) -> bool) -> Option<CellMask> {
    let (mw, mh) = ((w / CELL) as usize, (h / CELL) as usize);
    if mw < 4 || mh < 4 {
        return None;
    }
    let mut mask = vec![false; mw * mh];
    for my in 0..mh {
        for mx in 0..mw {
            mask[my * mw + mx] = inked(mx as u32 * CELL, my as u32 * CELL);
        }
    }
    grow(&mut mask, mw, mh, close);
    let groups = group_cells(&mask, mw, mh);
    Some(CellMask {
        mask,
        w: mw,
        h: mh,
        groups,
    })
}

/// Cells holding red ink ([`super::is_red`]).
fn red_mask(img: &image::RgbImage, close: usize) -> Option<CellMask> {
    let (w, raw) = (img.width(), img.as_raw());
    cell_mask(img.width(), img.height(), close, |x0, y0| {
        (y0..y0 + CELL).any(|y| {
            (x0..x0 + CELL).any(|x| {
                let i = (y * w + x) as usize * 3;
                super::is_red([raw[i], raw[i + 1], raw[i + 2]])
            })
        })
    })
}

/// Finds seal rings on a page of `dpi` resolution: rings of red ink, or — where there are none, as on a
/// greyscale scan — rings of ink lighter than the text's: a seal's shape, whatever its
/// colour became.
/// `gray` is the page's luma ([`super::gray`] of `img`), which the caller already has.
pub fn find_seals(img: &image::RgbImage, gray: &image::GrayImage, dpi: f32, p: &IntakePolicy) -> Vec<Seal> {
    let red = red_mask(img, 0).map_or_else(Vec::new, |m| rings(&m, dpi, p, SealInk::Red));
    if !red.is_empty() {
        return red;
    }
    grey_seal_mask(gray, 0).map_or_else(Vec::new, |m| rings(&m, dpi, p, SealInk::Grey))
}

/// The luma where a red or blue seal or stamp lands on a greyscale scan (the corpus's seal red reads 92, its
/// text 20).
const GREY_INK: std::ops::RangeInclusive<u8> = 62..=150;

/// Cells of a greyscale page mostly covered by mid-grey ink (luma 62–150) and holding no text-black pixel
/// (< 45): where a red or blue seal lands on a greyscale scan (the corpus's seal red reads 92, its text 20).
/// Text strokes hold black cores and only thin grey edges, so they stay out.
fn grey_seal_mask(g: &image::GrayImage, close: usize) -> Option<CellMask> {
    let (w, raw) = (g.width(), g.as_raw());
    cell_mask(g.width(), g.height(), close, |x0, y0| {
        let (mut band, mut black) = (0u32, false);
        for y in y0..y0 + CELL {
            for x in x0..x0 + CELL {
                let v = raw[(y * w + x) as usize];
                black |= v < 45;
                band += u32::from(GREY_INK.contains(&v));
            }
        }
        !black && band * 2 >= CELL * CELL
    })
}

/// The ink a seal was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SealInk {
    Red,
    /// Grey: its shape on a greyscale scan.
    Grey,
}

/// Groups of `m` the size and squareness of a seal whose ring meets ink along most rays.
fn rings(m: &CellMask, dpi: f32, p: &IntakePolicy, ink: SealInk) -> Vec<Seal> {
    let (mask, mw, mh) = (&m.mask, m.w, m.h);
    let px_per_mm = dpi / 25.4;
    let min_r = p.seal_min_radius_mm * px_per_mm / CELL as f32;
    let max_r = p.seal_max_radius_mm * px_per_mm / CELL as f32;
    let mut seals = Vec::new();
    for &(x0, y0, x1, y1) in &m.groups {
        let (bw, bh) = ((x1 - x0 + 1) as f32, (y1 - y0 + 1) as f32);
        let r = (bw + bh) / 4.0;
        let aspect = bw / bh;
        if r < min_r || r > max_r || !(0.8..=1.25).contains(&aspect) {
            continue;
        }
        let (cx, cy) = ((x0 + x1) as f32 / 2.0, (y0 + y1) as f32 / 2.0);
        let mut hits = 0;
        for k in 0..RAYS {
            let a = std::f32::consts::TAU * k as f32 / RAYS as f32;
            let (s, c) = a.sin_cos();
            let mut t = 0.8 * r;
            while t <= 1.1 * r {
                let (x, y) = ((cx + c * t).round() as i64, (cy + s * t).round() as i64);
                if x >= 0
                    && y >= 0
                    && (x as usize) < mw
                    && (y as usize) < mh
                    && mask[y as usize * mw + x as usize]
                {
                    hits += 1;
                    break;
                }
                t += 0.5;
            }
        }
        let coverage = hits as f32 / RAYS as f32;
        if coverage >= p.seal_min_ring_coverage {
            seals.push(Seal {
                cx: (cx * CELL as f32 + CELL as f32 / 2.0) as u32,
                cy: (cy * CELL as f32 + CELL as f32 / 2.0) as u32,
                radius: (r * CELL as f32) as u32,
                ring_coverage: coverage,
                ink,
            });
        }
    }
    seals
}

/// The size of a stamp or mark on a `w` × `h` page: at least 12 × 6 mm and at most half the page's width and
/// a third of its height at 300 dpi.
fn stamp_sized(b: &BBox, w: u32, h: u32) -> bool {
    b.w >= 140 && b.h >= 70 && b.w <= w / 2 && b.h <= h / 3
}

/// A group of cells (inclusive cell box) in page pixels.
fn cell_box((x0, y0, x1, y1): (usize, usize, usize, usize)) -> BBox {
    BBox::new(
        x0 as u32 * CELL,
        y0 as u32 * CELL,
        (x1 - x0 + 1) as u32 * CELL,
        (y1 - y0 + 1) as u32 * CELL,
    )
}

/// Red ink groups the size of a stamp or mark, whatever their shape or turn (the marks pass reads each one,
/// levelled), each with whether it was taken out of a seal's group. A red stamp that lies on or against a red
/// seal joins the seal's group, which then reads as neither (measured: a turned "MẬT" touching the seal read
/// "&~ ` /Â Tỷ ="). Where a group holds a seal ring and reaches well beyond it, the red ink is grouped again
/// with the seal's disc taken out, and what remains beside the seal is a mark of its own — a stamp's shape,
/// which must be read or shown to an officer.
pub fn find_red_marks(img: &image::RgbImage, dpi: f32) -> Vec<(BBox, bool)> {
    let Some(m) = red_mask(img, 3) else {
        return Vec::new();
    };
    let (w, h) = img.dimensions();
    let seals = red_mask(img, 0).map_or_else(Vec::new, |m| {
        rings(&m, dpi, &IntakePolicy::default(), SealInk::Red)
    });
    let mut out = Vec::new();
    let mut merged = Vec::new();
    for b in m
        .groups
        .iter()
        .map(|g| cell_box(*g))
        .filter(|b| stamp_sized(b, w, h))
    {
        let beyond = seals.iter().any(|s| {
            let sb = s.bbox();
            b.contains(s.cx, s.cy) && (b.w > sb.w * 5 / 4 || b.h > sb.h * 5 / 4)
        });
        if beyond {
            merged.push(b);
        } else {
            out.push((b, false));
        }
    }
    if merged.is_empty() {
        return out;
    }
    // The red ink again, each seal's disc (1.1 × its radius) left out.
    let off_seal = |x: u32, y: u32| {
        seals.iter().all(|s| {
            let (dx, dy) = (x as f32 - s.cx as f32, y as f32 - s.cy as f32);
            dx.hypot(dy) > s.radius as f32 * 1.1
        })
    };
    let raw = img.as_raw();
    let Some(rest) = cell_mask(w, h, 3, |x0, y0| {
        (y0..y0 + CELL).any(|y| {
            (x0..x0 + CELL).any(|x| {
                let i = (y * w + x) as usize * 3;
                off_seal(x, y) && super::is_red([raw[i], raw[i + 1], raw[i + 2]])
            })
        })
    }) else {
        return out;
    };
    out.extend(
        rest.groups
            .iter()
            .map(|g| cell_box(*g))
            .filter(|b| stamp_sized(b, w, h) && merged.iter().any(|m| m.intersect(b).is_some()))
            .map(|b| (b, true)),
    );
    out
}

/// Dark ink groups the size of a stamp that are turned against the page (a stamp scanned in greyscale): the
/// page's ink grouped at 8 px, groups of 150–1,200 × 100–800 px, whose lines run at 4–30° from the page's.
/// Body text groups lie level, so they are left alone.
pub fn find_turned_dark_marks(g: &image::GrayImage) -> Vec<(BBox, f32)> {
    const C: u32 = 8;
    let (w, h) = g.dimensions();
    let (mw, mh) = ((w / C) as usize, (h / C) as usize);
    if mw < 4 || mh < 4 {
        return Vec::new();
    }
    let mut mask = vec![false; mw * mh];
    for my in 0..mh {
        for mx in 0..mw {
            'cell: for dy in 0..C {
                for dx in 0..C {
                    if g.get_pixel(mx as u32 * C + dx, my as u32 * C + dy).0[0] < 110 {
                        mask[my * mw + mx] = true;
                        break 'cell;
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for (x0, y0, x1, y1) in group_cells(&mask, mw, mh) {
        let b = BBox::new(
            x0 as u32 * C,
            y0 as u32 * C,
            (x1 - x0 + 1) as u32 * C,
            (y1 - y0 + 1) as u32 * C,
        );
        if !(150..=1200).contains(&b.w) || !(100..=800).contains(&b.h) {
            continue;
        }
        let crop = image::imageops::crop_imm(g, b.x, b.y, b.w, b.h).to_image();
        let est = crate::cleanup::estimate_skew_within(&crop, 30.0);
        if est.angle_deg.abs() >= 4.0 && est.peak_ratio > 1.5 {
            out.push((b, est.angle_deg));
        }
    }
    out
}

/// Groups of mid-grey ink the size of a stamp whose lines run at 4–30° from the page's: a stamp scanned in
/// greyscale, turned, lying over the text or touching a rule. They are grouped on the grey mask, which holds
/// no cell with text-black in it, so the text a stamp lies on does not join its group (on the page's dark ink
/// it does, and the group is then a paragraph, level). Seal rings, found by their shape, are left out.
/// Returns each group's box, the angle of its lines and its grey ink ([`grey_ink`], what the marks pass reads).
pub fn find_turned_grey_marks(g: &image::GrayImage, dpi: f32) -> Vec<(BBox, f32, image::GrayImage)> {
    let Some(m) = grey_seal_mask(g, 2) else {
        return Vec::new();
    };
    let (w, h) = g.dimensions();
    let seals = rings(&m, dpi, &IntakePolicy::default(), SealInk::Grey);
    m.groups
        .iter()
        .map(|g| cell_box(*g))
        .filter(|b| stamp_sized(b, w, h))
        .filter(|b| !seals.iter().any(|s| b.contains(s.cx, s.cy)))
        .filter_map(|b| {
            let ink = grey_ink(g, b);
            let est = crate::cleanup::estimate_skew_within(&ink, 30.0);
            (est.angle_deg.abs() >= 4.0 && est.peak_ratio > 1.5).then_some((b, est.angle_deg, ink))
        })
        .collect()
}

/// Whether the mid-grey ink of `b` on a colour page is grey (most of it within 40 levels across channels):
/// a stamp's ink on a page scanned in greyscale, not a blue signature or a coloured print, which read as
/// mid-grey in luma too.
pub fn grey_is_neutral(img: &image::RgbImage, b: BBox) -> bool {
    let (mut neutral, mut n) = (0u32, 0u32);
    for y in b.y..b.bottom().min(img.height()) {
        for x in b.x..b.right().min(img.width()) {
            let p = img.get_pixel(x, y).0;
            if GREY_INK.contains(&super::luma(p)) {
                n += 1;
                let spread = p.iter().max().unwrap_or(&0) - p.iter().min().unwrap_or(&0);
                neutral += u32::from(spread <= 40);
            }
        }
    }
    n > 0 && neutral * 10 >= n * 8
}

/// The mid-grey ink of `b` (luma 62–150, where a coloured stamp lands on a greyscale scan) as black on white;
/// text-black and paper become white.
pub fn grey_ink(g: &image::GrayImage, b: BBox) -> image::GrayImage {
    let b = b
        .intersect(&BBox::new(0, 0, g.width(), g.height()))
        .unwrap_or(BBox::new(0, 0, 0, 0));
    image::GrayImage::from_fn(b.w, b.h, |x, y| {
        let v = g.get_pixel(b.x + x, b.y + y).0[0];
        image::Luma([if GREY_INK.contains(&v) { 0 } else { 255 }])
    })
}

/// Rectangular red stamps (a frame of red ink around text, like "MẬT" or "KHÔNG ĐƯỢC SAO CHỤP"): groups at
/// least 32 px each way (after growing red ink by 8 px, which bridges a line of other ink crossing the stamp)
/// whose box edges are red along ≥ 85 % of their length. Returns their boxes in pixels.
pub fn find_stamps(img: &image::RgbImage) -> Vec<BBox> {
    red_mask(img, 2).map_or_else(Vec::new, |m| frames(&m))
}

/// The same frames drawn in mid-grey ink (a stamp on a greyscale scan; black text crossing it leaves gaps
/// that the 8 px growth bridges), at least 12 × 6 mm at 300 dpi.
pub fn find_grey_frames(g: &image::GrayImage) -> Vec<BBox> {
    let (w, h) = g.dimensions();
    // A stamp's size (as the red marks'): a blurred word or a tinted title line is a grey box too, but short.
    grey_seal_mask(g, 2).map_or_else(Vec::new, |m| {
        frames(&m).into_iter().filter(|b| stamp_sized(b, w, h)).collect()
    })
}

/// Groups of `m` whose box edges are inked along ≥ 85 % of their length.
fn frames(m: &CellMask) -> Vec<BBox> {
    let at = |x: usize, y: usize| m.mask[y * m.w + x];
    let mut out = Vec::new();
    for &(x0, y0, x1, y1) in &m.groups {
        if x1 - x0 < 8 || y1 - y0 < 8 {
            continue;
        }
        // Each perimeter position counts if the outer two cells there hold ink.
        let (mut hit, mut n) = (0usize, 0usize);
        for x in x0..=x1 {
            n += 2;
            hit += usize::from(at(x, y0) || at(x, y0 + 1));
            hit += usize::from(at(x, y1) || at(x, y1 - 1));
        }
        for y in y0..=y1 {
            n += 2;
            hit += usize::from(at(x0, y) || at(x0 + 1, y));
            hit += usize::from(at(x1, y) || at(x1 - 1, y));
        }
        if hit * 100 >= n * 85 {
            out.push(cell_box((x0, y0, x1, y1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An A4 page at 300 dpi.
    fn page() -> image::RgbImage {
        image::RgbImage::from_pixel(2480, 3508, image::Rgb([250, 250, 250]))
    }

    fn rect(img: &mut image::RgbImage, b: BBox, c: [u8; 3]) {
        for y in b.y..b.bottom() {
            for x in b.x..b.right() {
                img.put_pixel(x, y, image::Rgb(c));
            }
        }
    }

    /// A frame of `c` ink, 8 px thick, with black lines of "text" crossing it.
    fn framed(c: [u8; 3]) -> image::RgbImage {
        let mut img = page();
        let f = BBox::new(200, 300, 600, 200);
        rect(&mut img, BBox::new(f.x, f.y, f.w, 8), c);
        rect(&mut img, BBox::new(f.x, f.bottom() - 8, f.w, 8), c);
        rect(&mut img, BBox::new(f.x, f.y, 8, f.h), c);
        rect(&mut img, BBox::new(f.right() - 8, f.y, 8, f.h), c);
        for y in [340, 420] {
            rect(&mut img, BBox::new(100, y, 900, 5), [20, 20, 20]);
        }
        img
    }

    fn ring(img: &mut image::RgbImage, cx: f32, cy: f32, r: f32, c: [u8; 3]) {
        for y in (cy - r - 8.0) as u32..(cy + r + 8.0) as u32 {
            for x in (cx - r - 8.0) as u32..(cx + r + 8.0) as u32 {
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                if (d - r).abs() <= 4.0 {
                    img.put_pixel(x, y, image::Rgb(c));
                }
            }
        }
    }

    #[test]
    fn a_grey_frame_crossed_by_text_is_a_stamp_and_black_text_is_not() {
        let grey = super::super::gray(&framed([90, 90, 90]));
        let found = find_grey_frames(&grey);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].intersect(&BBox::new(200, 300, 600, 200)).is_some());
        // The same frame in black ink (the page's text colour) is not a grey stamp.
        let black = super::super::gray(&framed([20, 20, 20]));
        assert!(find_grey_frames(&black).is_empty());
    }

    /// A frame `f` turned by `deg` about its centre, 8 px of `c` ink, with "text" inside it.
    fn turned_frame(img: &mut image::RgbImage, f: BBox, deg: f32, c: [u8; 3]) {
        let (s, co) = deg.to_radians().sin_cos();
        let (cx, cy) = (f.x as f32 + f.w as f32 / 2.0, f.y as f32 + f.h as f32 / 2.0);
        let (hw, hh) = (f.w as f32 / 2.0, f.h as f32 / 2.0);
        for y in 0..img.height() {
            for x in 0..img.width() {
                let (dx, dy) = (x as f32 - cx, y as f32 - cy);
                let (u, v) = (dx * co + dy * s, -dx * s + dy * co);
                let edge = (u.abs() <= hw && (hh - v.abs()).abs() <= 4.0)
                    || (v.abs() <= hh && (hw - u.abs()).abs() <= 4.0);
                let letters = u.abs() <= hw - 30.0 && v.abs() <= 20.0 && (u as i32).rem_euclid(40) < 14;
                if edge || letters {
                    img.put_pixel(x, y, image::Rgb(c));
                }
            }
        }
    }

    #[test]
    fn a_turned_grey_stamp_over_text_is_found_and_a_blue_signature_is_not_a_stamp() {
        let mut img = page();
        // Body text lines and a rule that the stamp crosses and touches.
        for y in [300, 380, 460] {
            rect(&mut img, BBox::new(100, y, 1400, 24), [20, 20, 20]);
        }
        turned_frame(&mut img, BBox::new(400, 260, 600, 200), 15.0, [80, 80, 80]);
        let g = super::super::gray(&img);
        let found: Vec<(BBox, f32)> = find_turned_grey_marks(&g, 300.0)
            .into_iter()
            .map(|(b, a, _)| (b, a))
            .collect();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!((found[0].1.abs() - 15.0).abs() < 2.0, "{found:?}");
        assert!(grey_is_neutral(&img, found[0].0));
        // The same shape in blue ink on a colour page reads mid-grey in luma, but it is not grey ink.
        let mut blue = page();
        turned_frame(&mut blue, BBox::new(400, 260, 600, 200), 15.0, [40, 60, 170]);
        let boxes: Vec<BBox> = find_turned_grey_marks(&super::super::gray(&blue), 300.0)
            .into_iter()
            .map(|(b, _, _)| b)
            .collect();
        assert!(boxes.iter().all(|b| !grey_is_neutral(&blue, *b)), "{boxes:?}");
    }

    #[test]
    fn a_red_stamp_against_a_seal_is_taken_apart_from_it() {
        const RED: [u8; 3] = [212, 40, 48];
        // A seal alone: one red group, not taken out of a seal's.
        let mut img = page();
        ring(&mut img, 900.0, 1200.0, 170.0, RED);
        let alone = find_red_marks(&img, 300.0);
        assert_eq!(alone.len(), 1, "{alone:?}");
        assert!(!alone[0].1);
        // A turned stamp touching the seal's ring from above: one group on the red ink, two once the seal's disc
        // is taken out — the stamp found on its own, beside the seal.
        let stamp = BBox::new(760, 820, 500, 200);
        turned_frame(&mut img, stamp, 17.0, RED);
        let found = find_red_marks(&img, 300.0);
        let beside: Vec<BBox> = found.iter().filter(|(_, b)| *b).map(|(g, _)| *g).collect();
        assert_eq!(beside.len(), 1, "{found:?}");
        assert!(beside[0].intersect(&stamp).is_some(), "{found:?}");
        assert!(
            !beside[0].contains(900, 1200),
            "the seal's centre stays out: {found:?}"
        );
    }

    #[test]
    fn a_seal_is_found_in_red_and_on_a_greyscale_scan_by_its_shape() {
        let p = IntakePolicy::default();
        let mut img = page();
        ring(&mut img, 600.0, 600.0, 170.0, [212, 40, 48]);
        let red = find_seals(&img, &super::super::gray(&img), 300.0, &p);
        assert_eq!((red.len(), red[0].ink), (1, SealInk::Red), "{red:?}");
        let mut grey = img.clone();
        crate::corpus::to_greyscale(&mut grey);
        let found = find_seals(&grey, &super::super::gray(&grey), 300.0, &p);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].ink, SealInk::Grey);
        assert!((found[0].radius as f32 - 170.0).abs() < 20.0, "{found:?}");
        // A black ring (text ink) on a greyscale page is not a seal.
        let mut black = page();
        ring(&mut black, 600.0, 600.0, 170.0, [20, 20, 20]);
        assert!(find_seals(&black, &super::super::gray(&black), 300.0, &p).is_empty());
    }
}
