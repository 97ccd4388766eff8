//! Drawing text, seals and marks onto RGB pages with the fonts of one family ([`Typeface`]).

use std::path::Path;

use ab_glyph::{point, Font, FontVec, PxScale, ScaleFont};
use image::{Rgb, RgbImage};

use crate::error::IntakeError;
use crate::geometry::BBox;

/// Where Debian's `fonts-dejavu-core` puts its fonts.
pub const DEJAVU_DIR: &str = "/usr/share/fonts/truetype/dejavu";

/// The faces the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Face {
    Sans,
    SansBold,
    Serif,
    SerifBold,
    Mono,
}

/// A type family the generator can draw with, each with Vietnamese coverage, from a Debian package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Typeface {
    /// `fonts-dejavu-core`: the family the thresholds were fitted on.
    DejaVu,
    /// `fonts-liberation2` (metric-compatible with Arial / Times New Roman, as Vietnamese offices print).
    Liberation,
    /// `fonts-freefont-ttf` (FreeSans / FreeSerif).
    FreeFont,
    /// `fonts-noto-core`.
    Noto,
}

impl Typeface {
    pub const ALL: [Typeface; 4] = [
        Typeface::DejaVu,
        Typeface::Liberation,
        Typeface::FreeFont,
        Typeface::Noto,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Typeface::DejaVu => "dejavu",
            Typeface::Liberation => "liberation",
            Typeface::FreeFont => "freefont",
            Typeface::Noto => "noto",
        }
    }

    /// The Debian package that installs it.
    pub fn package(&self) -> &'static str {
        match self {
            Typeface::DejaVu => "fonts-dejavu-core",
            Typeface::Liberation => "fonts-liberation2",
            Typeface::FreeFont => "fonts-freefont-ttf",
            Typeface::Noto => "fonts-noto-core",
        }
    }

    /// Sans, sans bold, serif, serif bold, mono: the files, in [`Face`] order.
    pub(crate) fn files(&self) -> [&'static str; 5] {
        match self {
            Typeface::DejaVu => [
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
            ],
            Typeface::Liberation => [
                "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
                "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
                "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
                "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
                "/usr/share/fonts/truetype/liberation2/LiberationMono-Regular.ttf",
            ],
            Typeface::FreeFont => [
                "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
                "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
                "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
                "/usr/share/fonts/truetype/freefont/FreeSerifBold.ttf",
                "/usr/share/fonts/truetype/freefont/FreeMono.ttf",
            ],
            Typeface::Noto => [
                "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
                "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
                "/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf",
                // fonts-noto-core has no monospace face (that is fonts-noto-mono): the MRZ keeps DejaVu's.
                "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
            ],
        }
    }
}

/// Loaded faces of one family.
pub struct Fonts {
    faces: Vec<FontVec>,
}

impl std::fmt::Debug for Fonts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fonts").field("faces", &self.faces.len()).finish()
    }
}

fn load_face(path: &Path) -> Result<FontVec, IntakeError> {
    let bytes = std::fs::read(path).map_err(|e| IntakeError::Font {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    FontVec::try_from_vec(bytes).map_err(|e| IntakeError::Font {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

impl Fonts {
    /// Loads the DejaVu faces from `dir` (normally [`DEJAVU_DIR`]).
    pub fn load(dir: &Path) -> Result<Fonts, IntakeError> {
        let names = [
            "DejaVuSans.ttf",
            "DejaVuSans-Bold.ttf",
            "DejaVuSerif.ttf",
            "DejaVuSerif-Bold.ttf",
            "DejaVuSansMono.ttf",
        ];
        let faces = names
            .iter()
            .map(|n| load_face(&dir.join(n)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| match e {
                IntakeError::Font { path, detail } => IntakeError::Font {
                    path,
                    detail: format!("{detail} (install Debian's fonts-dejavu-core)"),
                },
                other => other,
            })?;
        Ok(Fonts { faces })
    }

    /// Loads a family from where its Debian package puts it.
    pub fn load_typeface(t: Typeface) -> Result<Fonts, IntakeError> {
        let faces = t
            .files()
            .iter()
            .map(|f| load_face(Path::new(f)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Fonts { faces })
    }

    pub fn face(&self, face: Face) -> &FontVec {
        let i = match face {
            Face::Sans => 0,
            Face::SansBold => 1,
            Face::Serif => 2,
            Face::SerifBold => 3,
            Face::Mono => 4,
        };
        &self.faces[i]
    }

    /// Advance width of `text` at `size` px.
    pub fn width(&self, face: Face, size: f32, text: &str) -> f32 {
        let font = self.face(face).as_scaled(PxScale::from(size));
        let mut w = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                w += font.kern(p, id);
            }
            w += font.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Ascent at `size` px (distance from the top of the line to the baseline).
    pub fn ascent(&self, face: Face, size: f32) -> f32 {
        self.face(face).as_scaled(PxScale::from(size)).ascent()
    }
}

/// Result of drawing a run of text.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// Tight box of the ink.
    pub ink: BBox,
    /// For each character: its advance cell (x from pen position, y the line's ascent–descent band).
    pub cells: Vec<(char, BBox)>,
}

/// Blends `color` into a pixel with coverage `c` (0–1). `multiply` mixes like ink over ink (seals over text).
pub fn blend(img: &mut RgbImage, x: i64, y: i64, color: [u8; 3], c: f32, multiply: bool) {
    if x < 0 || y < 0 || x >= img.width() as i64 || y >= img.height() as i64 || c <= 0.0 {
        return;
    }
    let c = c.min(1.0);
    let px = img.get_pixel_mut(x as u32, y as u32);
    for (v, &col) in px.0.iter_mut().zip(color.iter()) {
        let under = *v as f32;
        let over = if multiply {
            under * col as f32 / 255.0
        } else {
            col as f32
        };
        *v = (under + (over - under) * c).round() as u8;
    }
}

/// Draws `text` with its line top at `top` and left edge at `x`; returns the ink box and character cells.
#[allow(clippy::too_many_arguments)]
pub fn draw_text(
    img: &mut RgbImage,
    fonts: &Fonts,
    face: Face,
    size: f32,
    x: f32,
    top: f32,
    text: &str,
    color: [u8; 3],
) -> Drawn {
    let font = fonts.face(face);
    let scaled = font.as_scaled(PxScale::from(size));
    let baseline = top + scaled.ascent();
    let line_h = scaled.ascent() - scaled.descent();
    let mut pen = x;
    let mut prev = None;
    let mut ink: Option<BBox> = None;
    let mut cells = Vec::new();
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        let adv = scaled.h_advance(id);
        cells.push((
            ch,
            BBox::new(
                pen.max(0.0) as u32,
                top.max(0.0) as u32,
                adv.ceil() as u32,
                line_h.ceil() as u32,
            ),
        ));
        let glyph = id.with_scale_and_position(PxScale::from(size), point(pen, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, c| {
                blend(
                    img,
                    b.min.x as i64 + gx as i64,
                    b.min.y as i64 + gy as i64,
                    color,
                    c,
                    false,
                );
            });
            let gb = BBox::new(
                b.min.x.max(0.0) as u32,
                b.min.y.max(0.0) as u32,
                (b.max.x - b.min.x.max(0.0)).max(1.0) as u32,
                (b.max.y - b.min.y.max(0.0)).max(1.0) as u32,
            );
            ink = Some(ink.map_or(gb, |i| i.union(&gb)));
        }
        pen += adv;
        prev = Some(id);
    }
    Drawn {
        ink: ink.unwrap_or_else(|| BBox::new(x.max(0.0) as u32, top.max(0.0) as u32, 1, 1)),
        cells,
    }
}

/// Fills a rectangle.
pub fn fill_rect(img: &mut RgbImage, b: BBox, color: [u8; 3]) {
    for y in b.y..b.bottom().min(img.height()) {
        for x in b.x..b.right().min(img.width()) {
            img.put_pixel(x, y, Rgb(color));
        }
    }
}

/// Draws a rectangle outline `t` px thick.
pub fn stroke_rect(img: &mut RgbImage, b: BBox, t: u32, color: [u8; 3], multiply: bool) {
    for y in b.y..b.bottom() {
        for x in b.x..b.right() {
            let edge = x < b.x + t || x + t >= b.right() || y < b.y + t || y + t >= b.bottom();
            if edge {
                blend(img, x as i64, y as i64, color, 1.0, multiply);
            }
        }
    }
}

/// Draws an anti-aliased ring (annulus) centred at (cx, cy).
pub fn ring(img: &mut RgbImage, cx: f32, cy: f32, r: f32, thickness: f32, color: [u8; 3], multiply: bool) {
    let outer = r + thickness / 2.0;
    let inner = r - thickness / 2.0;
    let (x0, x1) = ((cx - outer - 1.0) as i64, (cx + outer + 1.0) as i64);
    let (y0, y1) = ((cy - outer - 1.0) as i64, (cy + outer + 1.0) as i64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            let c = (outer - d + 0.5).clamp(0.0, 1.0) * (d - inner + 0.5).clamp(0.0, 1.0);
            blend(img, x, y, color, c, multiply);
        }
    }
}

/// Fills a disc.
pub fn disc(img: &mut RgbImage, cx: f32, cy: f32, r: f32, color: [u8; 3], multiply: bool) {
    for y in (cy - r - 1.0) as i64..=(cy + r + 1.0) as i64 {
        for x in (cx - r - 1.0) as i64..=(cx + r + 1.0) as i64 {
            let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
            blend(img, x, y, color, (r - d + 0.5).clamp(0.0, 1.0), multiply);
        }
    }
}

/// Fills a five-pointed star of outer radius `r`.
pub fn star(img: &mut RgbImage, cx: f32, cy: f32, r: f32, color: [u8; 3], multiply: bool) {
    let pts: Vec<(f32, f32)> = (0..10)
        .map(|i| {
            let rad = if i % 2 == 0 { r } else { r * 0.4 };
            let a = -std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::PI / 5.0;
            (cx + rad * a.cos(), cy + rad * a.sin())
        })
        .collect();
    for y in (cy - r) as i64..=(cy + r) as i64 {
        for x in (cx - r) as i64..=(cx + r) as i64 {
            if point_in_polygon(x as f32 + 0.5, y as f32 + 0.5, &pts) {
                blend(img, x, y, color, 1.0, multiply);
            }
        }
    }
}

fn point_in_polygon(x: f32, y: f32, pts: &[(f32, f32)]) -> bool {
    let mut inside = false;
    let mut j = pts.len() - 1;
    for i in 0..pts.len() {
        let (xi, yi) = pts[i];
        let (xj, yj) = pts[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// Draws one character centred at (cx, cy), turned by `angle` radians (clockwise on screen).
#[allow(clippy::too_many_arguments)]
fn glyph_rotated(
    img: &mut RgbImage,
    fonts: &Fonts,
    face: Face,
    size: f32,
    ch: char,
    cx: f32,
    cy: f32,
    angle: f32,
    color: [u8; 3],
) {
    let font = fonts.face(face);
    let scaled = font.as_scaled(PxScale::from(size));
    let id = scaled.glyph_id(ch);
    let adv = scaled.h_advance(id);
    let glyph = id.with_scale_and_position(PxScale::from(size), point(0.0, scaled.ascent()));
    let Some(outlined) = font.outline_glyph(glyph) else {
        return;
    };
    let b = outlined.px_bounds();
    let (gw, gh) = (
        (b.max.x - b.min.x).ceil() as usize + 1,
        (b.max.y - b.min.y).ceil() as usize + 1,
    );
    let mut cov = vec![0f32; gw * gh];
    outlined.draw(|x, y, c| {
        if let Some(v) = cov.get_mut(y as usize * gw + x as usize) {
            *v = c;
        }
    });
    // Glyph-local centre: middle of the advance cell horizontally, middle of cap height vertically.
    let (lx, ly) = (adv / 2.0 - b.min.x, scaled.ascent() * 0.6 - b.min.y);
    let (s, c) = angle.sin_cos();
    let reach = (gw.max(gh) as f32) * 1.5;
    for y in (cy - reach) as i64..=(cy + reach) as i64 {
        for x in (cx - reach) as i64..=(cx + reach) as i64 {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            // Inverse of a clockwise turn.
            let gx = dx * c + dy * s + lx;
            let gy = -dx * s + dy * c + ly;
            if gx < 0.0 || gy < 0.0 {
                continue;
            }
            let (ix, iy) = (gx as usize, gy as usize);
            if ix < gw && iy < gh {
                blend(img, x, y, color, cov[iy * gw + ix], true);
            }
        }
    }
}

/// Seal ink.
pub const SEAL_RED: [u8; 3] = [212, 40, 48];

/// Draws a round official seal: two rings, the body's name around the band, a star in the centre.
/// Returns its bounding box.
pub fn seal(img: &mut RgbImage, fonts: &Fonts, cx: f32, cy: f32, r: f32, text: &str, color: [u8; 3]) -> BBox {
    ring(img, cx, cy, r, r * 0.045, color, true);
    ring(img, cx, cy, r * 0.68, r * 0.025, color, true);
    star(img, cx, cy, r * 0.22, color, true);
    let size = r * 0.19;
    let band = r * 0.84;
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len().max(1) as f32;
    // Text runs clockwise around the whole band starting at the top-left.
    let span = std::f32::consts::TAU * 0.92;
    let start = -std::f32::consts::FRAC_PI_2 - span / 2.0;
    for (i, ch) in chars.iter().enumerate() {
        let a = start + span * (i as f32 + 0.5) / n;
        let (x, y) = (cx + band * a.cos(), cy + band * a.sin());
        glyph_rotated(
            img,
            fonts,
            Face::SansBold,
            size,
            *ch,
            x,
            y,
            a + std::f32::consts::FRAC_PI_2,
            color,
        );
    }
    let rr = r + r * 0.03;
    BBox::new(
        (cx - rr).max(0.0) as u32,
        (cy - rr).max(0.0) as u32,
        (2.0 * rr) as u32,
        (2.0 * rr) as u32,
    )
}

/// A handwritten-looking signature stroke in blue ink.
pub fn signature(img: &mut RgbImage, x: f32, y: f32, w: f32, h: f32, phase: f32) {
    let steps = (w * 2.0) as usize;
    for i in 0..steps {
        let t = i as f32 / steps as f32;
        let px = x + w * t;
        let py = y
            + h / 2.0
            + (t * 13.0 + phase).sin() * h * 0.35 * (1.0 - t * 0.5)
            + (t * 4.0 + phase * 0.7).cos() * h * 0.12;
        disc(img, px, py, 2.2, [30, 50, 150], false);
    }
}

/// Draws a QR code (error correction L, black modules of `module` px, no quiet zone beyond the page's own
/// margin) with its top-right corner at (`right`, `top`); returns its box, or `None` if the payload does not fit
/// in a QR code.
pub fn qr(img: &mut RgbImage, payload: &str, right: u32, top: u32, module: u32) -> Option<BBox> {
    let code = qrcode::QrCode::with_error_correction_level(payload.as_bytes(), qrcode::EcLevel::L).ok()?;
    let n = code.width() as u32;
    let size = n * module;
    let left = right.checked_sub(size)?;
    // A white quiet zone of two modules.
    fill_rect(
        img,
        BBox::new(
            left.saturating_sub(2 * module),
            top.saturating_sub(2 * module),
            size + 4 * module,
            size + 4 * module,
        ),
        [255, 255, 255],
    );
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i as u32 % n, i as u32 / n);
            fill_rect(
                img,
                BBox::new(left + x * module, top + y * module, module, module),
                [0, 0, 0],
            );
        }
    }
    Some(BBox::new(left, top, size, size))
}
