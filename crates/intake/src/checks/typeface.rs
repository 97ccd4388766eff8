//! Which typeface a digit glyph was printed in, by comparison with renderings of the same digit in a library
//! of faces (the DejaVu families Debian installs with `fonts-dejavu-core`).
//!
//! A number on an issued document is printed in one face. A digit changed afterwards and redrawn by hand or
//! with another font is often closer to another face of the library than to the face its neighbours match.
//! The library is what this machine has: a forger who redraws in the document's own face, or in a face close
//! to it that the library lacks, is not caught this way.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use ab_glyph::{point, Font, PxScale};

use crate::corpus::render::{Face, Fonts, DEJAVU_DIR};

/// The faces compared. DejaVu Sans Mono is left out: its digits are cut from the Sans and render within the
/// spread of one face's glyphs on a page (measured: 0.05–0.13 apart), so it only adds confusions.
pub const FACES: [Face; 4] = [Face::Sans, Face::SansBold, Face::Serif, Face::SerifBold];

/// The families judged, by name, each with its indices in [`FACES`]. Weight is not judged: blur and ink
/// spread thicken strokes (blurred regular digits measured nearer the bold face by up to 1.48×).
pub const FAMILIES: [(&str, [usize; 2]); 2] = [("sans", [0, 1]), ("serif", [2, 3])];

/// The nearest face of each family to a glyph, as (face index, distance), from [`Renders::distances`].
pub fn by_family(dists: &[Option<f32>]) -> [Option<(usize, f32)>; 2] {
    FAMILIES.map(|(_, faces)| {
        faces
            .iter()
            .filter_map(|f| dists.get(*f).copied().flatten().map(|d| (*f, d)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    })
}

/// The face library, loaded once; `None` when the fonts are not installed.
pub fn library() -> Option<&'static Fonts> {
    static LIB: OnceLock<Option<Fonts>> = OnceLock::new();
    LIB.get_or_init(|| Fonts::load(Path::new(DEJAVU_DIR)).ok())
        .as_ref()
}

/// An ink map (0 paper – 1 ink), `w × h` including one pixel of paper around the glyph.
#[derive(Debug, Clone)]
pub struct InkMap {
    pub w: usize,
    pub h: usize,
    pub ink: Vec<f32>,
}

impl InkMap {
    /// The ink at `(x, y)`; paper outside the map.
    pub fn at(&self, x: i64, y: i64) -> f32 {
        if x < 0 || y < 0 || x >= self.w as i64 || y >= self.h as i64 {
            0.0
        } else {
            self.ink[y as usize * self.w + x as usize]
        }
    }
}

/// `ch` rendered in `face` with an ink height of `height` px (± 1 px), padded by one pixel; `None` when the
/// face has no outline for it.
pub fn render(fonts: &Fonts, face: Face, ch: char, height: u32) -> Option<InkMap> {
    let font = fonts.face(face);
    let outline = |size: f32| {
        let glyph = font
            .glyph_id(ch)
            .with_scale_and_position(PxScale::from(size), point(0.0, size));
        font.outline_glyph(glyph)
    };
    // Digits are about 0.73 em tall: a first guess, then one correction from the measured height.
    let first = outline(height as f32 / 0.73)?;
    let measured = first.px_bounds().height().max(1.0);
    let glyph = outline(height as f32 / 0.73 * height as f32 / measured)?;
    let b = glyph.px_bounds();
    let (w, h) = (b.width() as usize + 2, b.height() as usize + 2);
    let mut ink = vec![0f32; w * h];
    glyph.draw(|x, y, c| {
        let (x, y) = (x as usize + 1, y as usize + 1);
        if x < w && y < h {
            ink[y * w + x] = c.min(1.0);
        }
    });
    Some(InkMap { w, h, ink })
}

/// Mean ink difference of two maps placed centre on centre, at the best of the integer shifts within ±1 px,
/// over the pixels where either has ink. Unlike a same-size comparison, a difference of width or height
/// counts (faces differ in both).
pub fn centred_distance(a: &InkMap, b: &InkMap) -> f32 {
    let (ox, oy) = (
        (a.w as i64 - b.w as i64).div_euclid(2),
        (a.h as i64 - b.h as i64).div_euclid(2),
    );
    let (x0, y0) = (ox.min(0) - 1, oy.min(0) - 1);
    let (x1, y1) = (
        (a.w as i64).max(ox + b.w as i64) + 1,
        (a.h as i64).max(oy + b.h as i64) + 1,
    );
    let mut best = f32::MAX;
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (mut diff, mut n) = (0f32, 0u32);
            for y in y0..y1 {
                for x in x0..x1 {
                    let va = a.at(x, y);
                    let vb = b.at(x - ox - dx, y - oy - dy);
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
    best
}

/// Renders once per (face, digit, height) for one page.
#[derive(Default)]
pub struct Renders {
    cache: HashMap<(usize, char, u32), Option<InkMap>>,
}

impl Renders {
    /// The distance from `glyph` (read as `ch`, `height` px of ink) to each face of the library, in
    /// [`FACES`] order; `smooth` is applied to the renderings as it was to the glyph.
    pub fn distances(
        &mut self,
        fonts: &Fonts,
        glyph: &InkMap,
        ch: char,
        height: u32,
        smooth: impl Fn(&InkMap) -> InkMap,
    ) -> Vec<Option<f32>> {
        FACES
            .iter()
            .enumerate()
            .map(|(i, face)| {
                let r = self
                    .cache
                    .entry((i, ch, height))
                    .or_insert_with(|| render(fonts, *face, ch, height).map(|m| smooth(&m)));
                r.as_ref().map(|r| centred_distance(glyph, r))
            })
            .collect()
    }
}

impl Renders {
    /// How far apart two faces render `ch` at `height` px (the same measure as a glyph against a face).
    /// `None` unless [`Renders::distances`] rendered both for this digit and height.
    pub fn faces_apart(&self, a: usize, b: usize, ch: char, height: u32) -> Option<f32> {
        let ra = self.cache.get(&(a, ch, height))?.as_ref()?;
        let rb = self.cache.get(&(b, ch, height))?.as_ref()?;
        Some(centred_distance(ra, rb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> &'static Fonts {
        library().expect("fonts-dejavu-core is installed by scripts/setup.sh")
    }

    #[test]
    fn a_rendering_is_nearest_to_its_own_face() {
        let f = fonts();
        for ch in ['0', '2', '5', '8'] {
            for (i, face) in FACES.iter().enumerate() {
                let g = render(f, *face, ch, 30).expect("digit");
                assert!((g.h as i64 - 32).abs() <= 1, "{face:?} {ch}: height {}", g.h);
                let d: Vec<f32> = FACES
                    .iter()
                    .map(|o| centred_distance(&g, &render(f, *o, ch, 30).expect("digit")))
                    .collect();
                let best = d.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1));
                assert_eq!(best.map(|b| b.0), Some(i), "{face:?} {ch}: {d:?}");
            }
        }
    }

    #[test]
    fn sans_and_serif_digits_differ_clearly() {
        let f = fonts();
        let sans = render(f, Face::Sans, '8', 28).expect("digit");
        let serif = render(f, Face::Serif, '8', 28).expect("digit");
        let same = centred_distance(&sans, &render(f, Face::Sans, '8', 28).expect("digit"));
        assert!(same < 0.01, "{same}");
        assert!(centred_distance(&sans, &serif) > 0.1);
    }
}
