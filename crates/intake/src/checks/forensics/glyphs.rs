//! Glyph consistency: characters of a field drawn unlike the same characters elsewhere on the page.
use super::*;

// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub(super) struct Glyph {
    pub(super) ch: char,
    pub(super) word: usize,
    pub(super) bbox: BBox,
    /// Ink at native resolution, `bbox.w × bbox.h` padded by one pixel of paper, [`smoothed`].
    pub(super) ink: InkMap,
}

/// A 3 × 3 binomial blur: two renderings of one glyph half a pixel apart become nearly equal, while a
/// different face (serifs, stroke contrast) or size still differs.
pub(super) fn smoothed(m: &InkMap) -> InkMap {
    InkMap {
        w: m.w,
        h: m.h,
        ink: smooth(&m.ink, m.w, m.h),
    }
}

pub(super) fn smooth(v: &[f32], w: usize, h: usize) -> Vec<f32> {
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
pub(super) fn glyph_distance(a: &Glyph, b: &Glyph) -> Option<f32> {
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
pub(super) fn glyph_distance_resampled(a: &Glyph, b: &Glyph) -> Option<f32> {
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
pub(super) fn components(ink: &[bool], w: usize, h: usize) -> Vec<(BBox, usize)> {
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

pub(super) fn median(v: &mut [f32]) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Robust line through points (Theil–Sen slope, median intercept); returns residuals.
pub(super) fn residuals(pts: &[(f32, f32)]) -> Vec<f32> {
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
