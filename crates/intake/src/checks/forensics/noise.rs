//! Paper noise: tiles whose grain differs from the page's.
use super::*;

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
