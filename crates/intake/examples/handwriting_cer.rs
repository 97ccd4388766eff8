//! What Tesseract (`vie`, as the intake runs it) does on handwritten fields: names, dates and ID numbers drawn
//! in handwriting-like fonts from Debian packages, one value per line on an A4 page, against the same values
//! in DejaVu Sans on the same page layout. Prints CER per font and field kind.
//!
//! None of Debian's handwriting fonts covers Vietnamese (checked: Dancing Script, DKG handwriting, Kristi,
//! Kaushan Script, Lobster and Klee One each miss 34–50 of the 53 Vietnamese letters with diacritics), so
//! names are written without diacritics, as a form filled in capitals-and-script without marks would be.
//! The diacritic error rate on handwriting is therefore not measured here.
//!
//! `cargo run --release --example handwriting_cer -- [--per-kind N]`
//! (apt: fonts-dancingscript fonts-dkg-handwriting fonts-kristi fonts-kaushanscript)

use ab_glyph::{point, Font, FontVec, PxScale, ScaleFont};
use banso_intake::corpus::people::{strip_diacritics, Person};
use banso_intake::metrics::{cer_count, CerCount};
use banso_intake::ocr::{reexec_with_omp_thread_limit, OcrConfig, OcrWorker, PageImage};
use image::{Rgb, RgbImage};
use rand::SeedableRng;

const FONTS: [(&str, &str); 5] = [
    (
        "DejaVu Sans (printed baseline)",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    ),
    (
        "Dancing Script",
        "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
    ),
    (
        "DKG handwriting",
        "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
    ),
    ("Kristi", "/usr/share/fonts/truetype/kristi/Kristi.ttf"),
    (
        "Kaushan Script",
        "/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf",
    ),
];

fn draw(img: &mut RgbImage, font: &FontVec, size: f32, x: f32, top: f32, text: &str) {
    let scaled = font.as_scaled(PxScale::from(size));
    let baseline = top + scaled.ascent();
    let mut pen = x;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        let glyph = id.with_scale_and_position(PxScale::from(size), point(pen, baseline));
        if let Some(o) = font.outline_glyph(glyph) {
            let b = o.px_bounds();
            o.draw(|gx, gy, c| {
                let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                    let p = img.get_pixel_mut(px as u32, py as u32);
                    for v in p.0.iter_mut() {
                        // Blue-black ballpoint ink.
                        let ink = 30.0;
                        *v = (*v as f32 + (ink - *v as f32) * c.min(1.0)).round() as u8;
                    }
                }
            });
        }
        pen += scaled.h_advance(id);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    reexec_with_omp_thread_limit()?;
    let mut per_kind = 8usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--per-kind" => per_kind = args.next().ok_or("--per-kind N")?.parse()?,
            _ => return Err(format!("unexpected argument {a}").into()),
        }
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut values: Vec<(&str, String)> = Vec::new();
    for _ in 0..per_kind {
        let p = Person::random(&mut rng, None, 1950, 2010);
        values.push(("name", strip_diacritics(&p.full_name())));
        values.push(("date", p.birth.dmy()));
        values.push(("id_number", p.id_number.clone()));
    }
    let mut worker = OcrWorker::new(&OcrConfig::default())?;
    println!("{} values per kind, 56 px (≈ 4.7 mm at 300 dpi), one per line, Tesseract vie, page segmentation as in intake", per_kind);
    for (label, path) in FONTS {
        let Ok(bytes) = std::fs::read(path) else {
            println!("{label}: {path} not installed, skipped");
            continue;
        };
        let font = FontVec::try_from_vec(bytes)?;
        let mut img = RgbImage::from_pixel(2480, 3508, Rgb([255, 255, 255]));
        let line_h = 3508.0 / (values.len() as f32 + 4.0);
        let mut bands = Vec::new();
        for (i, (_, v)) in values.iter().enumerate() {
            let top = 200.0 + i as f32 * line_h;
            draw(&mut img, &font, 56.0, 300.0, top, v);
            bands.push((top - line_h * 0.3, top + line_h * 0.7));
        }
        let page = worker.recognize(&PageImage::Rgb(img), 300, 0)?;
        let mut by_kind: std::collections::BTreeMap<&str, CerCount> = Default::default();
        let mut examples = Vec::new();
        for (i, (kind, v)) in values.iter().enumerate() {
            let (t0, t1) = bands[i];
            let hyp: Vec<&str> = page
                .words
                .iter()
                .filter(|w| {
                    let cy = w.bbox.y as f32 + w.bbox.h as f32 / 2.0;
                    cy >= t0 && cy < t1
                })
                .map(|w| w.text.as_str())
                .collect();
            let hyp = hyp.join(" ");
            by_kind.entry(kind).or_default().add(cer_count(v, &hyp));
            if examples.len() < 3 {
                examples.push(format!("{v:?} → {hyp:?}"));
            }
        }
        let mut all = CerCount::default();
        let parts: Vec<String> = by_kind
            .iter()
            .map(|(k, c)| {
                all.add(*c);
                format!("{k} {:.1} %", c.rate() * 100.0)
            })
            .collect();
        println!(
            "{label:32} CER {:.1} % ({})  e.g. {}",
            all.rate() * 100.0,
            parts.join(", "),
            examples.join("; ")
        );
    }
    Ok(())
}
