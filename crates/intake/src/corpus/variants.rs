//! What happens to a page after it is drawn: Art. 22 marks, stamps, tampering, degradation and capture.
use super::*;

pub(super) fn art22_case(spec: &PageSpec, rng: &mut ChaCha8Rng) -> Art22Case {
    let foreign_ok = spec.doc_type == DocType::BirthCertificate;
    let n = if foreign_ok { 4 } else { 3 };
    match spec.index % n {
        0 => Art22Case::SecrecyStamp {
            text: if rng.gen_bool(0.5) { "MẬT" } else { "TỐI MẬT" }.into(),
        },
        1 => Art22Case::NoCopyMark {
            text: "KHÔNG ĐƯỢC SAO CHỤP".into(),
        },
        2 if spec.doc_type.seal_required() => Art22Case::MissingSeal,
        2 => Art22Case::SecrecyStamp {
            text: "TỐI MẬT".into(),
        },
        _ => Art22Case::ForeignNotLegalised,
    }
}

/// Draws a red rectangular stamp in the top band (above the national heading); returns its box.
pub(super) fn stamp(s: &mut Sheet<'_>, text: &str, rng: &mut ChaCha8Rng) -> BBox {
    let size = if text.chars().count() > 8 { 56.0 } else { 84.0 };
    let w = s.fonts.width(Face::SansBold, size, text);
    let x = rng.gen_range(1500.0..(PAGE_W as f32 - 200.0 - w - 40.0).max(1501.0));
    let y = 70.0;
    let pad = 24.0;
    let color = [200, 30, 40];
    let d = draw_text(&mut s.img, s.fonts, Face::SansBold, size, x, y + pad, text, color);
    let b = BBox::new(
        (x - pad) as u32,
        y as u32,
        (w + 2.0 * pad) as u32,
        (size * 1.2 + 2.0 * pad) as u32,
    );
    render::stroke_rect(&mut s.img, b, 7, color, true);
    s.lines.insert(
        0,
        TruthLine {
            text: text.into(),
            bbox: d.ink,
        },
    );
    // Field marks point at lines by index: the new first line shifts them.
    for m in s.marks.values_mut() {
        m.line += 1;
    }
    b
}

/// Draws a secrecy or do-not-copy stamp — a framed line of capitals in stamp ink — turned by a random
/// angle, at a placement that depends on `index` (top band, level with the title, over the text), on a
/// page scanned in colour or (one page in three) greyscale. The ink is multiplied with the page, as a
/// stamp over print is.
pub(super) fn mark(s: &mut Sheet<'_>, index: u32, rng: &mut ChaCha8Rng) -> Variant {
    let texts = ["MẬT", "TỐI MẬT", "KHÔNG ĐƯỢC SAO CHỤP", "TUYỆT MẬT"];
    let text = texts[index as usize % texts.len()];
    let placement = [
        MarkPlacement::TopBand,
        MarkPlacement::LevelWithTitle,
        MarkPlacement::OverText,
    ][rng.gen_range(0..3usize)];
    let rotation_deg = if rng.gen_bool(0.6) {
        let a: f32 = rng.gen_range(6.0..25.0);
        if rng.gen_bool(0.5) {
            a
        } else {
            -a
        }
    } else {
        0.0
    };
    let greyscale = rng.gen_range(0..3u32) == 0;
    let size = if text.chars().count() > 8 { 56.0 } else { 84.0 };
    let pad = 24.0;
    let color = [200, 30, 40];
    let w = s.fonts.width(Face::SansBold, size, text);
    let (bw, bh) = (w + 2.0 * pad, size * 1.2 + 2.0 * pad);
    let side = bw.hypot(bh).ceil() as u32 + 16;
    let mut canvas = RgbImage::from_pixel(side, side, image::Rgb([255, 255, 255]));
    let (x0, y0) = ((side as f32 - bw) / 2.0, (side as f32 - bh) / 2.0);
    draw_text(
        &mut canvas,
        s.fonts,
        Face::SansBold,
        size,
        x0 + pad,
        y0 + pad,
        text,
        color,
    );
    render::stroke_rect(
        &mut canvas,
        BBox::new(x0 as u32, y0 as u32, bw as u32, bh as u32),
        7,
        color,
        true,
    );
    let turned = crate::cleanup::rotate(&canvas, rotation_deg, image::Rgb([255, 255, 255]));
    // The title: the tallest line in the upper half of the page.
    let title = s
        .lines
        .iter()
        .filter(|l| l.bbox.y < PAGE_H / 2)
        .max_by_key(|l| l.bbox.h)
        .map(|l| l.bbox);
    let body: Vec<BBox> = s
        .lines
        .iter()
        .map(|l| l.bbox)
        .filter(|b| b.y > PAGE_H / 3 && b.y < PAGE_H * 3 / 4)
        .collect();
    let half = side as f32 / 2.0;
    let (cx, cy) = match (placement, title, body.is_empty()) {
        (MarkPlacement::LevelWithTitle, Some(t), _) => {
            let right = t.x as f32 + t.w as f32 + 40.0 + bw / 2.0;
            let cx = if right + bw / 2.0 < PAGE_W as f32 - 60.0 {
                right
            } else {
                (t.x as f32 - 40.0 - bw / 2.0).max(bw / 2.0 + 60.0)
            };
            (cx, t.y as f32 + t.h as f32 / 2.0)
        }
        (MarkPlacement::OverText, _, false) => {
            let l = body[rng.gen_range(0..body.len())];
            (l.x as f32 + l.w as f32 / 2.0, l.y as f32 + l.h as f32 / 2.0)
        }
        _ => (
            rng.gen_range(1500.0..(PAGE_W as f32 - 200.0 - bw / 2.0).max(1501.0)),
            70.0 + bh / 2.0,
        ),
    };
    let (ox, oy) = ((cx - half).max(0.0) as u32, (cy - half).max(0.0) as u32);
    let (mut rx0, mut ry0, mut rx1, mut ry1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, p) in turned.enumerate_pixels() {
        if p.0 == [255, 255, 255] {
            continue;
        }
        let (px, py) = (ox + x, oy + y);
        if px >= s.img.width() || py >= s.img.height() {
            continue;
        }
        let q = s.img.get_pixel_mut(px, py);
        for c in 0..3 {
            q.0[c] = ((u32::from(q.0[c]) * u32::from(p.0[c])) / 255) as u8;
        }
        (rx0, ry0, rx1, ry1) = (rx0.min(px), ry0.min(py), rx1.max(px), ry1.max(py));
    }
    let region = BBox::new(rx0, ry0, rx1.saturating_sub(rx0) + 1, ry1.saturating_sub(ry0) + 1);
    let case = if text.starts_with("KHÔNG") {
        Art22Case::NoCopyMark { text: text.into() }
    } else {
        Art22Case::SecrecyStamp { text: text.into() }
    };
    Variant::Marked {
        case,
        region,
        placement,
        rotation_deg,
        greyscale,
    }
}

pub(super) fn tamper(s: &mut Sheet<'_>, index: u32, rng: &mut ChaCha8Rng) -> Variant {
    let kind = [
        TamperKind::AlteredDigit,
        TamperKind::PastedRegion,
        TamperKind::ErasedArea,
    ][index as usize % 3];
    let digit_fields = ["id_number", "birth_date", "issue_date", "document_number"];
    let target = match kind {
        TamperKind::ErasedArea => ["issue_date", "document_number", "birth_date"]
            .iter()
            .find(|f| s.marks.contains_key(**f))
            .copied(),
        _ => digit_fields
            .iter()
            .find(|f| {
                s.marks
                    .get(**f)
                    .is_some_and(|m| m.value.chars().filter(|c| c.is_ascii_digit()).count() >= 2)
            })
            .copied(),
    }
    .unwrap_or("holder_name");
    let Some(mark) = s.marks.get(target).cloned() else {
        return Variant::Clean;
    };
    let digits: Vec<usize> = mark
        .cells
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let original = mark.value.clone();
    let (region, visible) = match kind {
        TamperKind::ErasedArea => {
            let b = mark.ink;
            let region = BBox::new(b.x.saturating_sub(6), b.y.saturating_sub(6), b.w + 12, b.h + 12);
            render::fill_rect(&mut s.img, region, s.paper);
            (region, String::new())
        }
        TamperKind::AlteredDigit if !digits.is_empty() => {
            let i = digits[rng.gen_range(0..digits.len())];
            let (c, cell) = mark.cells[i];
            let old = c.to_digit(10).unwrap_or(0);
            let new = (old + rng.gen_range(1..10)) % 10;
            let new_c = char::from_digit(new, 10).unwrap_or('0');
            // White out the glyph body only (keep neighbours), then draw the new digit in another face.
            let region = BBox::new(
                cell.x + 1,
                cell.y + (cell.h / 8),
                cell.w.saturating_sub(2),
                cell.h - cell.h / 4,
            );
            render::fill_rect(&mut s.img, region, s.paper);
            let face = if matches!(mark.face, Face::Serif | Face::SerifBold) {
                Face::Sans
            } else {
                Face::Serif
            };
            let size = mark.size * rng.gen_range(0.92..1.08);
            draw_text(
                &mut s.img,
                s.fonts,
                face,
                size,
                cell.x as f32,
                cell.y as f32 + (mark.size - size) * 0.8,
                &new_c.to_string(),
                INK,
            );
            let visible: String = mark
                .value
                .chars()
                .enumerate()
                .map(|(j, ch)| if j == i { new_c } else { ch })
                .collect();
            (region, visible)
        }
        TamperKind::PastedRegion if digits.len() >= 2 => {
            // Copy the cell of a different digit of the same value over the target digit.
            let i = digits[rng.gen_range(0..digits.len())];
            let (c, dst) = mark.cells[i];
            let src_i = digits
                .iter()
                .copied()
                .find(|j| mark.cells[*j].0 != c)
                .unwrap_or(digits[0]);
            let (src_c, src) = mark.cells[src_i];
            let w = dst.w.min(src.w);
            let h = dst.h.min(src.h);
            let patch = image::imageops::crop_imm(&s.img, src.x, src.y, w, h).to_image();
            image::imageops::replace(&mut s.img, &patch, dst.x as i64, dst.y as i64);
            let visible: String = mark
                .value
                .chars()
                .enumerate()
                .map(|(j, ch)| if j == i { src_c } else { ch })
                .collect();
            (BBox::new(dst.x, dst.y, w, h), visible)
        }
        _ => {
            let b = mark.ink;
            render::fill_rect(&mut s.img, b, s.paper);
            (b, String::new())
        }
    };
    // The line now reads differently.
    if let Some(line) = s.lines.get_mut(mark.line) {
        if let Some(pos) = line.text.rfind(&original) {
            line.text.replace_range(pos..pos + original.len(), &visible);
            line.text = line.text.trim_end().to_string();
        }
    }
    Variant::Tampered {
        tamper: kind,
        field: target.to_string(),
        region,
        original,
        visible,
    }
}

/// A table of standard normal samples, indexed by random bits (fast, deterministic noise).
pub(super) fn normal_table() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x6e6f697365);
    (0..4096)
        .map(|_| {
            let u1: f32 = rng.gen_range(1e-7f32..1.0);
            let u2: f32 = rng.gen_range(0.0f32..1.0);
            (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
        })
        .collect()
}

/// A greyscale scan: every pixel to its luma (ITU-R BT.601 weights).
pub fn to_greyscale(img: &mut RgbImage) {
    for p in img.pixels_mut() {
        let l = ((u32::from(p.0[0]) * 299 + u32::from(p.0[1]) * 587 + u32::from(p.0[2]) * 114) / 1000) as u8;
        p.0 = [l, l, l];
    }
}

/// Separable Gaussian blur of an RGB image.
pub fn gaussian_blur(img: &RgbImage, sigma: f32) -> RgbImage {
    if sigma <= 0.05 {
        return img.clone();
    }
    let r = (sigma * 3.0).ceil() as i64;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|v| v / sum).collect();
    let (w, h) = (img.width() as i64, img.height() as i64);
    let pass = |src: &[u8], horizontal: bool| -> Vec<u8> {
        let mut out = vec![0u8; src.len()];
        for y in 0..h {
            for x in 0..w {
                for ch in 0..3 {
                    let mut acc = 0f32;
                    for (ki, kv) in k.iter().enumerate() {
                        let o = ki as i64 - r;
                        let (sx, sy) = if horizontal {
                            ((x + o).clamp(0, w - 1), y)
                        } else {
                            (x, (y + o).clamp(0, h - 1))
                        };
                        acc += src[((sy * w + sx) * 3 + ch) as usize] as f32 * kv;
                    }
                    out[((y * w + x) * 3 + ch) as usize] = acc.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        out
    };
    let tmp = pass(img.as_raw(), true);
    let out = pass(&tmp, false);
    RgbImage::from_raw(img.width(), img.height(), out).unwrap_or_else(|| img.clone())
}

pub(super) fn degrade(s: &mut Sheet<'_>, rng: &mut ChaCha8Rng) -> (Variant, u8) {
    let rotation_deg: f32 = rng.gen_range(-3.0..3.0);
    let blur_sigma: f32 = rng.gen_range(0.4..1.1);
    let noise_sigma: f32 = rng.gen_range(4.0..12.0);
    let jpeg_quality: u8 = rng.gen_range(40..=70);
    let mut img = rotate(&s.img, rotation_deg, Rgb(s.paper));
    img = gaussian_blur(&img, blur_sigma);
    let table = normal_table();
    for px in img.pixels_mut() {
        let n = table[(rng.next_u32() & 4095) as usize] * noise_sigma;
        for ch in px.0.iter_mut() {
            *ch = (*ch as f32 + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    s.img = img;
    // Move every box with the page.
    let turn = |b: BBox| rotate_box(b, rotation_deg, PAGE_W, PAGE_H);
    for l in &mut s.lines {
        l.bbox = turn(l.bbox);
    }
    for m in s.marks.values_mut() {
        m.ink = turn(m.ink);
    }
    s.seal = s.seal.map(turn);
    (
        Variant::Degraded {
            noise_sigma,
            blur_sigma,
            rotation_deg,
            jpeg_quality,
        },
        jpeg_quality,
    )
}

/// Captures the page at 200 dpi (even `index`) or with a phone (odd): returns the variant, the JPEG quality
/// and the delivered image's resolution. Every box moves with the page.
pub(super) fn capture(s: &mut Sheet<'_>, index: u32, rng: &mut ChaCha8Rng) -> (Variant, u8, u32) {
    let mode = if index.is_multiple_of(2) {
        CaptureMode::Scan200
    } else {
        CaptureMode::Phone
    };
    let (rotation_deg, keystone, shading, blur_sigma, noise_sigma, jpeg_quality, dpi) = match mode {
        CaptureMode::Scan200 => (
            rng.gen_range(-1.5f32..1.5),
            0.0f32,
            1.0f32,
            rng.gen_range(0.3f32..0.6),
            rng.gen_range(3.0f32..6.0),
            rng.gen_range(75u8..=90),
            200u32,
        ),
        CaptureMode::Phone => (
            rng.gen_range(-4.0f32..4.0),
            rng.gen_range(0.02f32..0.06),
            rng.gen_range(0.72f32..0.9),
            rng.gen_range(0.8f32..1.3),
            rng.gen_range(5.0f32..9.0),
            rng.gen_range(70u8..=85),
            225u32,
        ),
    };
    let paper = Rgb(s.paper);
    let (w, h) = (PAGE_W as f32, PAGE_H as f32);
    // Keystone: a row at height y is narrowed about the centre by k × (1 − y/h).
    let narrow = |y: f32| 1.0 - keystone * (1.0 - y / h);
    let mut img = if keystone > 0.0 {
        let src = &s.img;
        RgbImage::from_fn(PAGE_W, PAGE_H, |x, y| {
            let f = narrow(y as f32);
            let sx = w / 2.0 + (x as f32 - w / 2.0) / f;
            if sx < 0.0 || sx >= w - 1.0 {
                return paper;
            }
            let (x0, t) = (sx.floor() as u32, sx.fract());
            let (a, b) = (src.get_pixel(x0, y).0, src.get_pixel(x0 + 1, y).0);
            Rgb(std::array::from_fn(|c| {
                (f32::from(a[c]) * (1.0 - t) + f32::from(b[c]) * t).round() as u8
            }))
        })
    } else {
        s.img.clone()
    };
    img = rotate(&img, rotation_deg, paper);
    // Light falling off across the page in a random direction.
    let dir = rng.gen_range(0.0f32..std::f32::consts::TAU);
    let (dx, dy) = (dir.cos(), dir.sin());
    let span = w.abs().hypot(h);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let t = ((x as f32 - w / 2.0) * dx + (y as f32 - h / 2.0) * dy) / span + 0.5;
        let light = 1.0 - (1.0 - shading) * t.clamp(0.0, 1.0);
        for ch in px.0.iter_mut() {
            *ch = (f32::from(*ch) * light).round() as u8;
        }
    }
    img = gaussian_blur(&img, blur_sigma);
    let table = normal_table();
    for px in img.pixels_mut() {
        let n = table[(rng.next_u32() & 4095) as usize] * noise_sigma;
        for ch in px.0.iter_mut() {
            *ch = (*ch as f32 + n).round().clamp(0.0, 255.0) as u8;
        }
    }
    let scale = dpi as f32 / DPI as f32;
    let (nw, nh) = ((w * scale).round() as u32, (h * scale).round() as u32);
    s.img = image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle);
    // Every box: narrowed, turned, scaled.
    let move_box = |b: BBox| {
        let xs = |x: u32, y: u32| w / 2.0 + (x as f32 - w / 2.0) * narrow(y as f32);
        let x0 = xs(b.x, b.y).min(xs(b.x, b.bottom()));
        let x1 = xs(b.right(), b.y).max(xs(b.right(), b.bottom()));
        let narrowed = BBox::new(x0 as u32, b.y, (x1 - x0).max(1.0) as u32, b.h);
        let t = rotate_box(narrowed, rotation_deg, PAGE_W, PAGE_H);
        BBox::new(
            (t.x as f32 * scale) as u32,
            (t.y as f32 * scale) as u32,
            ((t.w as f32 * scale) as u32).max(1),
            ((t.h as f32 * scale) as u32).max(1),
        )
    };
    for l in &mut s.lines {
        l.bbox = move_box(l.bbox);
    }
    for m in s.marks.values_mut() {
        m.ink = move_box(m.ink);
    }
    s.seal = s.seal.map(move_box);
    s.qr = s.qr.take().map(|(q, b)| (q, move_box(b)));
    (
        Variant::Captured {
            mode,
            dpi,
            rotation_deg,
            keystone,
            shading,
            blur_sigma,
            noise_sigma,
            jpeg_quality,
        },
        jpeg_quality,
        dpi,
    )
}

/// The box holding `b` after a counter-clockwise turn of the page by `deg` about its centre.
pub fn rotate_box(b: BBox, deg: f32, w: u32, h: u32) -> BBox {
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let corners = [
        (b.x, b.y),
        (b.right(), b.y),
        (b.x, b.bottom()),
        (b.right(), b.bottom()),
    ];
    let pts: Vec<(f32, f32)> = corners
        .iter()
        .map(|&(x, y)| {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            (dx * c + dy * s + cx, -dx * s + dy * c + cy)
        })
        .collect();
    let x0 = pts.iter().map(|p| p.0).fold(f32::MAX, f32::min).max(0.0);
    let y0 = pts.iter().map(|p| p.1).fold(f32::MAX, f32::min).max(0.0);
    let x1 = pts.iter().map(|p| p.0).fold(f32::MIN, f32::max).min(w as f32);
    let y1 = pts.iter().map(|p| p.1).fold(f32::MIN, f32::max).min(h as f32);
    BBox::new(
        x0 as u32,
        y0 as u32,
        (x1 - x0).max(1.0) as u32,
        (y1 - y0).max(1.0) as u32,
    )
}
