//! Capture quality: blur, resolution, cut edges, glare.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Quality

/// Blur: variance of the Laplacian over the OCR words (text is where sharpness matters), measured on the page
/// halved in both directions (2 × 2 means) so that scanner noise weighs less than edges.
pub fn blur(g: &image::GrayImage, ocr: &OcrPage, warn_below: f64, fail_below: f64) -> Check {
    const NAME: &str = "quality.blur";
    let (w, h) = g.dimensions();
    let (hw, hh) = (w / 2, h / 2);
    if hw < 3 || hh < 3 || ocr.words.is_empty() {
        return Check::not_applicable(NAME, "no text to measure sharpness on");
    }
    let half = |x: u32, y: u32| -> f64 {
        let (x2, y2) = (x * 2, y * 2);
        let s = u32::from(g.get_pixel(x2, y2)[0])
            + u32::from(g.get_pixel(x2 + 1, y2)[0])
            + u32::from(g.get_pixel(x2, y2 + 1)[0])
            + u32::from(g.get_pixel(x2 + 1, y2 + 1)[0]);
        f64::from(s) / 4.0
    };
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for word in ocr.words.iter().filter(|w| w.confidence > 30.0) {
        let b = word.bbox;
        let (x0, y0) = ((b.x / 2).max(1), (b.y / 2).max(1));
        let (x1, y1) = ((b.right() / 2).min(hw - 1), (b.bottom() / 2).min(hh - 1));
        for y in y0..y1 {
            for x in x0..x1 {
                let l = half(x - 1, y) + half(x + 1, y) + half(x, y - 1) + half(x, y + 1) - 4.0 * half(x, y);
                sum += l;
                sq += l * l;
                n += 1.0;
            }
        }
    }
    if n < 100.0 {
        return Check::not_applicable(NAME, "too little text to measure sharpness on");
    }
    let var = sq / n - (sum / n).powi(2);
    let ev =
        json!({"laplacian_variance": var, "warn_below": warn_below, "fail_below": fail_below, "pixels": n});
    if var < fail_below {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("text is blurred (variance of Laplacian {var:.0} < {fail_below})"),
            ev,
        )
    } else if var < warn_below {
        Check::new(
            NAME,
            Outcome::Warn,
            format!("text is somewhat blurred (variance of Laplacian {var:.0} < {warn_below})"),
            ev,
        )
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("text is sharp (variance of Laplacian {var:.0})"),
            ev,
        )
    }
}

/// Resolution of the page as delivered.
pub fn resolution(dpi: f32, warn_below: f32, fail_below: f32) -> Check {
    const NAME: &str = "quality.resolution";
    let ev = json!({"dpi": dpi, "warn_below": warn_below, "fail_below": fail_below});
    if dpi < fail_below {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("{dpi:.0} dpi is too low for a certified copy (< {fail_below})"),
            ev,
        )
    } else if dpi < warn_below {
        Check::new(
            NAME,
            Outcome::Warn,
            format!("{dpi:.0} dpi is below the {warn_below} dpi the copy should have"),
            ev,
        )
    } else {
        Check::new(NAME, Outcome::Pass, format!("{dpi:.0} dpi"), ev)
    }
}

/// Cut edges: ink touching the border of the image (a page placed off the glass, a folded corner), and OCR
/// words touching it (text that is certainly cut).
pub fn cut_edges(g: &image::GrayImage, ocr: &OcrPage, ink_share_warn: f64) -> Check {
    const NAME: &str = "quality.cut_edges";
    let (w, h) = g.dimensions();
    if w < 8 || h < 8 {
        return Check::not_applicable(NAME, "page too small");
    }
    let band = 3u32;
    let share = |xs: std::ops::Range<u32>, ys: std::ops::Range<u32>, along_x: bool| -> f64 {
        // Share of positions along the edge with ink anywhere in the band.
        let (mut hit, mut n) = (0u32, 0u32);
        if along_x {
            for x in xs {
                n += 1;
                if ys.clone().any(|y| g.get_pixel(x, y)[0] < 100) {
                    hit += 1;
                }
            }
        } else {
            for y in ys {
                n += 1;
                if xs.clone().any(|x| g.get_pixel(x, y)[0] < 100) {
                    hit += 1;
                }
            }
        }
        f64::from(hit) / f64::from(n.max(1))
    };
    let sides = [
        ("top", share(0..w, 0..band, true), BBox::new(0, 0, w, band)),
        (
            "bottom",
            share(0..w, h - band..h, true),
            BBox::new(0, h - band, w, band),
        ),
        ("left", share(0..band, 0..h, false), BBox::new(0, 0, band, h)),
        (
            "right",
            share(w - band..w, 0..h, false),
            BBox::new(w - band, 0, band, h),
        ),
    ];
    let touching: Vec<BBox> = ocr
        .words
        .iter()
        .filter(|wd| wd.confidence > 30.0)
        .map(|wd| wd.bbox)
        .filter(|b| b.x <= 1 || b.y <= 1 || b.right() + 1 >= w || b.bottom() + 1 >= h)
        .collect();
    let inked: Vec<&(&str, f64, BBox)> = sides.iter().filter(|s| s.1 > ink_share_warn).collect();
    let ev = json!({
        "ink_share": sides.iter().map(|s| (s.0, s.1)).collect::<std::collections::BTreeMap<_, _>>(),
        "warn_above": ink_share_warn,
        "words_touching_edge": touching.len(),
    });
    if !touching.is_empty() {
        Check::new(
            NAME,
            Outcome::Fail,
            format!(
                "{} word(s) touch the edge of the image: text is cut",
                touching.len()
            ),
            ev,
        )
        .with_regions(touching)
    } else if !inked.is_empty() {
        let names: Vec<&str> = inked.iter().map(|s| s.0).collect();
        Check::new(
            NAME,
            Outcome::Warn,
            format!("ink touches the {} edge: the page may be cut", names.join(", ")),
            ev,
        )
        .with_regions(inked.iter().map(|s| s.2).collect())
    } else {
        Check::new(NAME, Outcome::Pass, "no ink at the edges", ev)
    }
}

/// Glare: saturated (all channels ≥ 250) blobs inside the text area of a tinted page or card. On white paper
/// saturation is the paper itself and glare cannot be told apart this way: not applicable.
pub fn glare(img: &image::RgbImage, ocr: &OcrPage, warn_share: f64) -> Check {
    const NAME: &str = "quality.glare";
    let Some(area) = ocr.words.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)) else {
        return Check::not_applicable(NAME, "no text area");
    };
    // Background level: the median luma of a coarse sample of the text area.
    let mut sample = Vec::new();
    let mut sat = 0u64;
    let mut n = 0u64;
    let mut sat_box: Option<BBox> = None;
    for y in (area.y..area.bottom().min(img.height())).step_by(4) {
        for x in (area.x..area.right().min(img.width())).step_by(4) {
            let p = img.get_pixel(x, y).0;
            sample.push(p.iter().copied().min().unwrap_or(0));
            n += 1;
            if p.iter().all(|c| *c >= 250) {
                sat += 1;
                let b = BBox::new(x, y, 4, 4);
                sat_box = Some(sat_box.map_or(b, |s| s.union(&b)));
            }
        }
    }
    sample.sort_unstable();
    let median = sample.get(sample.len() / 2).copied().unwrap_or(255);
    if median >= 248 {
        return Check::not_applicable(NAME, "white paper: glare is not measurable by saturation");
    }
    let share = sat as f64 / n.max(1) as f64;
    let ev = json!({"saturated_share": share, "background_min_channel": median, "warn_above": warn_share});
    if share > warn_share {
        Check::new(
            NAME,
            Outcome::Warn,
            format!("{:.1} % of the text area is saturated: glare", share * 100.0),
            ev,
        )
        .with_regions(sat_box.into_iter().collect())
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("{:.2} % saturated", share * 100.0),
            ev,
        )
    }
}
