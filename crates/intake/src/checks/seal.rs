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

/// The page as 4 × 4 cells holding red ink, with the boxes (in cells) of its 8-connected groups.
struct RedMask {
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

/// `close`: cells by which red ink is grown before grouping (bridges a line of other ink crossing a stamp).
fn red_mask(img: &image::RgbImage, close: usize) -> Option<RedMask> {
    let (w, h) = img.dimensions();
    let (mw, mh) = ((w / CELL) as usize, (h / CELL) as usize);
    if mw < 4 || mh < 4 {
        return None;
    }
    let mut mask = vec![false; mw * mh];
    let raw = img.as_raw();
    for my in 0..mh {
        for mx in 0..mw {
            'cell: for dy in 0..CELL {
                let y = my as u32 * CELL + dy;
                let row = (y * w) as usize * 3;
                for dx in 0..CELL {
                    let x = (mx as u32 * CELL + dx) as usize;
                    let i = row + x * 3;
                    if super::is_red([raw[i], raw[i + 1], raw[i + 2]]) {
                        mask[my * mw + mx] = true;
                        break 'cell;
                    }
                }
            }
        }
    }
    if close > 0 {
        let src = mask.clone();
        for y in 0..mh {
            for x in 0..mw {
                if src[y * mw + x] {
                    for yy in y.saturating_sub(close)..(y + close + 1).min(mh) {
                        for xx in x.saturating_sub(close)..(x + close + 1).min(mw) {
                            mask[yy * mw + xx] = true;
                        }
                    }
                }
            }
        }
    }
    let groups = group_cells(&mask, mw, mh);
    Some(RedMask {
        mask,
        w: mw,
        h: mh,
        groups,
    })
}

/// Finds seal rings on a page of `dpi` resolution: rings of red ink, or — where there are none, as on a
/// greyscale scan — rings of ink lighter than the text's ([`grey_seal_mask`]): a seal's shape, whatever its
/// colour became.
pub fn find_seals(img: &image::RgbImage, dpi: f32, p: &IntakePolicy) -> Vec<Seal> {
    let red = red_mask(img, 0).map_or_else(Vec::new, |m| rings(&m, dpi, p, SealInk::Red));
    if !red.is_empty() {
        return red;
    }
    grey_seal_mask(&super::gray(img)).map_or_else(Vec::new, |m| rings(&m, dpi, p, SealInk::Grey))
}

/// Cells of a greyscale page mostly covered by mid-grey ink (luma 62–150) and holding no text-black pixel
/// (< 45): where a red or blue seal lands on a greyscale scan (the corpus's seal red reads 92, its text 20).
/// Text strokes hold black cores and only thin grey edges, so they stay out.
fn grey_seal_mask(g: &image::GrayImage) -> Option<RedMask> {
    let (w, h) = g.dimensions();
    let (mw, mh) = ((w / CELL) as usize, (h / CELL) as usize);
    if mw < 4 || mh < 4 {
        return None;
    }
    let mut mask = vec![false; mw * mh];
    let raw = g.as_raw();
    for my in 0..mh {
        for mx in 0..mw {
            let (mut band, mut black) = (0u32, false);
            for dy in 0..CELL {
                let row = ((my as u32 * CELL + dy) * w) as usize;
                for dx in 0..CELL {
                    let v = raw[row + mx * CELL as usize + dx as usize];
                    black |= v < 45;
                    band += u32::from((62..=150).contains(&v));
                }
            }
            mask[my * mw + mx] = !black && band * 2 >= CELL * CELL;
        }
    }
    let groups = group_cells(&mask, mw, mh);
    Some(RedMask {
        mask,
        w: mw,
        h: mh,
        groups,
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
fn rings(m: &RedMask, dpi: f32, p: &IntakePolicy, ink: SealInk) -> Vec<Seal> {
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

/// Red ink groups the size of a stamp or mark, whatever their shape or turn (the marks pass reads each one,
/// levelled): at least 12 × 6 mm and at most a third of the page in either direction at 300 dpi.
pub fn find_red_marks(img: &image::RgbImage) -> Vec<BBox> {
    let Some(m) = red_mask(img, 3) else {
        return Vec::new();
    };
    let (w, h) = img.dimensions();
    m.groups
        .iter()
        .map(|&(x0, y0, x1, y1)| {
            BBox::new(
                x0 as u32 * CELL,
                y0 as u32 * CELL,
                (x1 - x0 + 1) as u32 * CELL,
                (y1 - y0 + 1) as u32 * CELL,
            )
        })
        .filter(|b| b.w >= 140 && b.h >= 70 && b.w <= w / 2 && b.h <= h / 3)
        .collect()
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

/// Rectangular red stamps (a frame of red ink around text, like "MẬT" or "KHÔNG ĐƯỢC SAO CHỤP"): groups at
/// least 32 px each way (after growing red ink by 8 px, which bridges a line of other ink crossing the stamp) whose box edges are red along ≥ 85 % of their length. Returns their boxes in pixels.
pub fn find_stamps(img: &image::RgbImage) -> Vec<BBox> {
    let Some(m) = red_mask(img, 2) else {
        return Vec::new();
    };
    let at = |x: usize, y: usize| m.mask[y * m.w + x];
    let mut out = Vec::new();
    for &(x0, y0, x1, y1) in &m.groups {
        if x1 - x0 < 8 || y1 - y0 < 8 {
            continue;
        }
        // Each perimeter position counts if the outer two cells there hold red.
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
            out.push(BBox::new(
                x0 as u32 * CELL,
                y0 as u32 * CELL,
                (x1 - x0 + 1) as u32 * CELL,
                (y1 - y0 + 1) as u32 * CELL,
            ));
        }
    }
    out
}
