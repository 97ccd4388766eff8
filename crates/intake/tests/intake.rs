//! Integration tests against the real components: Tesseract with the `vie` model, SANE's `test` device,
//! poppler's `pdftoppm`. None of them is mocked; a missing component fails the test.

use std::io::Write;

/// Recognition, checks and decision (`tests/intake/assess.rs`).
#[path = "intake/assess.rs"]
mod assess;

/// Documents of several pages (`tests/intake/documents.rs`).
#[path = "intake/documents.rs"]
mod documents;

use banso_intake::cleanup::{
    self, apply_orientation, detect_blank, detect_orientation, estimate_skew, find_page, rotate, to_gray,
};
use banso_intake::corpus::mrz::{validate_td1, validate_td3};
use banso_intake::corpus::people::{check_id_number, Sex};
use banso_intake::corpus::{corpus_specs, DocType, GeneratedPage, Generator, PageSpec, Variant, VariantKind};
use banso_intake::input::{self, PageSource, ScanMode, ScanRequest};
use banso_intake::metrics::cer;
use banso_intake::ocr::{OcrConfig, OcrPool, OcrWorker, PageImage};
use banso_intake::{BBox, IntakeError};
use image::{GrayImage, Luma, Rgb, RgbImage};

fn page(doc_type: DocType, kind: VariantKind, seed: u64) -> GeneratedPage {
    let spec = PageSpec {
        doc_type,
        kind,
        index: 0,
        seed,
        typeface: banso_intake::corpus::Typeface::DejaVu,
        style: Default::default(),
    };
    Generator::new()
        .expect("fonts-dejavu-core")
        .generate(&spec)
        .expect("generate")
}

fn worker() -> OcrWorker {
    OcrWorker::new(&OcrConfig::default())
        .expect("Tesseract with vie must be installed and OMP_THREAD_LIMIT=1 set")
}

/// Measured on these three clean pages (seed 11, Tesseract 5.3.0, vie): 1.51 %, 0.00 % and 0.19 % CER, pooled
/// 0.7 %. The 1.51 % page loses the signer's name under the signature (layout analysis takes it for part of
/// the signature/seal region) — a real failure, so the per-page bound does not hide it by being loose: pooled
/// ≤ 1.0 % (the target is 1.5 %), any one page ≤ 2.0 %.
const CLEAN_CER_POOLED_BOUND: f64 = 0.010;
const CLEAN_CER_PAGE_BOUND: f64 = 0.020;

#[test]
fn ocr_of_clean_pages_returns_the_rendered_text_with_word_boxes() {
    let mut w = worker();
    let mut pooled = banso_intake::metrics::CerCount::default();
    for t in [
        DocType::BirthCertificate,
        DocType::CccdFront,
        DocType::LandUseRightCertificate,
    ] {
        let p = page(t, VariantKind::Clean, 11);
        let result = w
            .recognize(&PageImage::Rgb(p.image.clone()), 300, 0)
            .expect("ocr");
        let count = banso_intake::metrics::cer_count(&p.truth.text(), &result.text);
        pooled.add(count);
        let rate = count.rate();
        println!("{:?}: CER {:.3} %", t, rate * 100.0);
        assert!(
            rate <= CLEAN_CER_PAGE_BOUND,
            "{t:?}: CER {rate} over {CLEAN_CER_PAGE_BOUND}\n{}",
            result.text
        );
        assert!(!result.words.is_empty());
        for word in &result.words {
            assert!(word.bbox.inside(p.image.width(), p.image.height()), "{word:?}");
            assert!(word.bbox.w > 0 && word.bbox.h > 0);
            assert!((0.0..=100.0).contains(&word.confidence), "{word:?}");
        }
        assert!(
            result.mean_confidence > 80.0,
            "mean confidence {}",
            result.mean_confidence
        );
        // The holder's name is found where it was drawn.
        let name_box = p.truth.field_boxes["holder_name"];
        let name = p.truth.fields.holder_name.clone().unwrap_or_default();
        let first = name.split_whitespace().next().unwrap_or_default();
        let hit = result
            .words
            .iter()
            .find(|w| w.text == first && w.bbox.intersect(&name_box).is_some())
            .unwrap_or_else(|| panic!("{first} not read inside {name_box:?}"));
        assert!(hit.confidence > 70.0, "{hit:?}");
        // Lines group the words.
        assert!(
            result.lines.iter().any(|l| l.text.contains(&name)),
            "{name} not on one line"
        );
    }
    assert!(
        pooled.rate() <= CLEAN_CER_POOLED_BOUND,
        "pooled CER {}",
        pooled.rate()
    );
}

#[test]
fn pool_reads_pages_in_parallel_in_input_order() {
    let pool = OcrPool::new(&OcrConfig::default(), Some(2)).expect("pool");
    let a = page(DocType::CccdFront, VariantKind::Clean, 3);
    let b = page(DocType::PassportDataPage, VariantKind::Clean, 4);
    let mut calls = 0;
    let pages = pool
        .recognize(
            vec![
                std::sync::Arc::new(PageImage::Rgb(a.image)),
                std::sync::Arc::new(PageImage::Rgb(b.image)),
            ],
            300,
            &mut |_, _| calls += 1,
        )
        .expect("ocr");
    assert_eq!(calls, 2);
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].page, 0);
    assert!(pages[0].text.contains("CĂN CƯỚC CÔNG DÂN"), "{}", pages[0].text);
    assert!(pages[1].text.contains("PASSPORT"), "{}", pages[1].text);
    // JSON shape the CLI prints: pages → text, words[{text, confidence, box}].
    let json = serde_json::to_value(&pages[0]).expect("json");
    assert!(json["text"].is_string());
    let w0 = &json["words"][0];
    assert!(w0["text"].is_string() && w0["confidence"].is_number() && w0["box"]["x"].is_number());
}

#[test]
fn ocr_refuses_an_unknown_language_with_a_typed_error() {
    let cfg = OcrConfig {
        language: "xxx".into(),
        ..OcrConfig::default()
    };
    match OcrWorker::new(&cfg) {
        Err(IntakeError::OcrInit { language, .. }) => assert_eq!(language, "xxx"),
        other => panic!("expected OcrInit, got {other:?}"),
    }
}

#[test]
fn a_missing_mrz_model_stops_the_worker_at_start_not_the_pass_in_silence() {
    // The MRZ pass on `vie` output would read I as T and 0 as 6: MRZ checks would fail with no visible cause.
    let cfg = OcrConfig {
        mrz_language: Some("xxx".into()),
        ..OcrConfig::default()
    };
    match OcrWorker::new(&cfg) {
        Err(IntakeError::OcrInit { language, detail }) => {
            assert_eq!(language, "xxx");
            assert!(detail.contains("MRZ"), "{detail}");
        }
        other => panic!("expected OcrInit, got {other:?}"),
    }
    // Leaving the pass out is a choice the configuration says.
    let without = OcrConfig {
        mrz_language: None,
        ..OcrConfig::default()
    };
    assert!(OcrWorker::new(&without).is_ok());
}

#[test]
fn deskew_recovers_a_known_rotation_within_half_a_degree() {
    let p = page(DocType::CivilStatusExtract, VariantKind::Clean, 5);
    let gray = to_gray(&p.image);
    let base = estimate_skew(&gray);
    assert!(base.angle_deg.abs() <= 0.1, "upright page measured {:?}", base);
    for angle in [4.0f32, -2.5, 7.3, -9.0] {
        let turned = rotate(&gray, angle, Luma([255]));
        let est = estimate_skew(&turned);
        assert!(
            (est.angle_deg - angle).abs() <= 0.5,
            "turned {angle}°, measured {est:?}"
        );
        assert!(est.gain_over_zero > 1.0);
    }
    let (straight, est) = cleanup::deskew(&rotate(&p.image, 3.0, Rgb([255, 255, 255])), 0.2);
    assert!((est.angle_deg - 3.0).abs() <= 0.5);
    assert!(estimate_skew(&to_gray(&straight)).angle_deg.abs() <= 0.5);
}

#[test]
fn orientation_detection_finds_quarter_turns() {
    let mut w = worker();
    let p = page(DocType::BirthCertificate, VariantKind::Clean, 6);
    let gray = to_gray(&p.image);
    for rot in [0u16, 90, 180, 270] {
        // Turn the content `rot` degrees clockwise.
        let turned = match rot {
            90 => image::imageops::rotate90(&gray),
            180 => image::imageops::rotate180(&gray),
            270 => image::imageops::rotate270(&gray),
            _ => gray.clone(),
        };
        let t = std::time::Instant::now();
        let report = detect_orientation(&mut w, &turned, 300).expect("orientation");
        println!("{rot}: {report:?} in {:.2} s", t.elapsed().as_secs_f64());
        assert_eq!(report.rotation_cw, rot, "{report:?}");
        assert!(report.confidence > 0.5, "{report:?}");
        let fixed = apply_orientation(&turned, report.rotation_cw);
        assert_eq!(fixed.dimensions(), gray.dimensions());
    }
}

#[test]
fn blank_page_is_detected_and_text_pages_are_not() {
    // A scanned blank sheet: off-white with sensor noise and a little dust.
    let mut blank = GrayImage::from_pixel(2480, 3508, Luma([246]));
    let mut x = 12345u32;
    for p in blank.pixels_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p.0[0] = (236 + (x % 20)) as u8;
    }
    for (dx, dy) in [(900u32, 1200u32), (1500, 2500)] {
        for y in dy..dy + 4 {
            for x in dx..dx + 4 {
                blank.put_pixel(x, y, Luma([60]));
            }
        }
    }
    let r = detect_blank(&blank);
    assert!(r.is_blank, "{r:?}");
    for t in [DocType::BirthCertificate, DocType::CccdFront, DocType::CccdBack] {
        let p = page(t, VariantKind::Clean, 7);
        let r = detect_blank(&to_gray(&p.image));
        println!("{t:?}: {r:?}");
        assert!(!r.is_blank, "{t:?}: {r:?}");
    }
}

#[test]
fn crop_finds_the_page_on_a_dark_background() {
    let p = page(DocType::MarriageCertificate, VariantKind::Clean, 8);
    let small = image::imageops::resize(&p.image, 620, 877, image::imageops::FilterType::Triangle);
    let mut canvas = RgbImage::from_pixel(900, 1100, Rgb([38, 36, 40]));
    image::imageops::replace(&mut canvas, &small, 130, 95);
    let crop = find_page(&to_gray(&canvas));
    assert!(crop.background_found, "{crop:?}");
    let truth = BBox::new(130, 95, 620, 877);
    assert!(crop.bbox.iou(&truth) > 0.98, "{crop:?}");
    let (cropped, _) = cleanup::crop_to_page(&canvas);
    assert!((cropped.width() as i64 - 620).abs() <= 4 && (cropped.height() as i64 - 877).abs() <= 4);
    // The crop is A4: its resolution is estimated from its size (620 px over 210 mm ≈ 75 dpi) and scaled to 300.
    let (scaled, report) = cleanup::normalise_resolution(&cropped, None, 300);
    assert_eq!(report.dpi_source, cleanup::DpiSource::EstimatedA4);
    assert!((report.source_dpi - 75.0).abs() < 2.0, "{report:?}");
    assert!((scaled.width() as i64 - 2480).abs() < 30, "{}", scaled.width());
    // A page without a background is left whole.
    let whole = find_page(&to_gray(&p.image));
    assert!(!whole.background_found);
    assert_eq!(whole.bbox, BBox::new(0, 0, p.image.width(), p.image.height()));
}

#[test]
fn sane_test_device_feeder_batch_yields_every_page() {
    let mut req = ScanRequest::feeder("test", Some(3));
    req.resolution = 75;
    req.mode = ScanMode::Gray;
    req.extra_args = vec!["--test-picture=Grid".into()];
    let mut seen = Vec::new();
    let pages = input::scan(&req, &mut |p| seen.push(p.done)).expect("scanimage -d test must work");
    assert_eq!(pages.len(), 3);
    assert_eq!(seen, vec![1, 2, 3]);
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(p.dpi, Some(75.0));
        assert_eq!(
            p.source,
            PageSource::Scanner {
                device: "test".into(),
                page: i
            }
        );
        // The test device's default area is 80 × 100 mm.
        assert!((p.image.width() as i64 - 236).abs() <= 2, "{}", p.image.width());
    }
    let mut flatbed = ScanRequest::feeder("test", None);
    flatbed.source = input::ScanSource::Flatbed;
    flatbed.resolution = 50;
    assert_eq!(input::scan(&flatbed, &mut |_| {}).expect("flatbed").len(), 1);
}

#[test]
fn missing_scanner_is_a_typed_error() {
    let req = ScanRequest::feeder("nosuchbackend:nowhere", Some(1));
    match input::scan(&req, &mut |_| {}) {
        Err(IntakeError::ScannerUnavailable { device, .. }) => assert_eq!(device, "nosuchbackend:nowhere"),
        other => panic!("expected ScannerUnavailable, got {:?}", other.map(|p| p.len())),
    }
}

/// A one-page PDF holding `jpeg` as a full-page image of `w`×`h` px at 300 dpi (written by hand: no PDF
/// library is needed for this).
fn pdf_with_jpeg(jpeg: &[u8], w: u32, h: u32) -> Vec<u8> {
    let (pw, ph) = (w as f64 * 72.0 / 300.0, h as f64 * 72.0 / 300.0);
    let content = format!("q {pw:.2} 0 0 {ph:.2} 0 0 cm /Im0 Do Q");
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    out.extend_from_slice(b"%PDF-1.4\n");
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2} {ph:.2}] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>").into_bytes(),
        {
            let mut o = format!("<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n", jpeg.len()).into_bytes();
            o.extend_from_slice(jpeg);
            o.extend_from_slice(b"\nendstream");
            o
        },
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()).into_bytes(),
    ];
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn pdf_input_gives_the_page_back() {
    let p = page(DocType::BirthCertificate, VariantKind::Clean, 9);
    let jpeg = banso_intake::corpus::encode_jpeg(&p.image, 90).expect("jpeg");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("original.pdf");
    std::fs::write(&path, pdf_with_jpeg(&jpeg, p.image.width(), p.image.height())).expect("write");
    let qpdf = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&path)
        .output()
        .expect("qpdf");
    assert!(qpdf.status.success(), "{}", String::from_utf8_lossy(&qpdf.stdout));
    let mut progress = 0;
    let pages = input::load_file(&path, &mut |_| progress += 1).expect("pdf");
    assert_eq!((pages.len(), progress), (1, 1));
    let back = &pages[0];
    assert_eq!(back.dpi, Some(300.0));
    assert!((back.image.width() as i64 - 2480).abs() <= 1 && (back.image.height() as i64 - 3508).abs() <= 1);
    let result = worker()
        .recognize(&PageImage::Rgb(back.image.clone()), 300, 0)
        .expect("ocr");
    assert!(cer(&p.truth.text(), &result.text) < 0.02, "{}", result.text);
}

#[test]
fn image_files_load_with_resolution_and_multi_page_tiff() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = page(DocType::CccdFront, VariantKind::Clean, 10);
    let png = dir.path().join("a.png");
    std::fs::write(&png, &a.encoded).expect("write");
    let pages = input::load_file(&png, &mut |_| {}).expect("png");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].image, a.image);

    let jpg = dir.path().join("a.jpg");
    let mut f = std::fs::File::create(&jpg).expect("create");
    f.write_all(&banso_intake::corpus::encode_jpeg(&a.image, 80).expect("jpeg"))
        .expect("write");
    assert_eq!(
        input::load_file(&jpg, &mut |_| {}).expect("jpeg")[0]
            .image
            .dimensions(),
        (2480, 3508)
    );

    // Two-page TIFF written with the tiff crate, with a 200-dpi resolution tag.
    let tif = dir.path().join("two.tif");
    {
        use tiff::encoder::{colortype, Rational, TiffEncoder};
        use tiff::tags::ResolutionUnit;
        let file = std::fs::File::create(&tif).expect("create");
        let mut enc = TiffEncoder::new(file).expect("tiff");
        for shade in [40u8, 200] {
            let data = vec![shade; 300 * 200 * 3];
            let mut img = enc.new_image::<colortype::RGB8>(300, 200).expect("page");
            img.resolution(ResolutionUnit::Inch, Rational { n: 200, d: 1 });
            img.write_data(&data).expect("write");
        }
    }
    let mut count = 0;
    let pages = input::load_file(&tif, &mut |_| count += 1).expect("tiff");
    assert_eq!((pages.len(), count), (2, 2));
    assert_eq!(pages[0].image.get_pixel(5, 5), &Rgb([40, 40, 40]));
    assert_eq!(pages[1].image.get_pixel(5, 5), &Rgb([200, 200, 200]));
    assert_eq!(pages[1].dpi, Some(200.0));
    assert_eq!(
        pages[1].source,
        PageSource::Image {
            path: tif.clone(),
            page: 1
        }
    );
}

#[test]
fn bad_files_are_typed_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    assert!(matches!(
        input::load_file(&empty, &mut |_| {}),
        Err(IntakeError::EmptyFile { .. })
    ));
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"hello").expect("write");
    assert!(matches!(
        input::load_file(&text, &mut |_| {}),
        Err(IntakeError::UnsupportedFormat { .. })
    ));
    let broken = dir.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRxx").expect("write");
    assert!(matches!(
        input::load_file(&broken, &mut |_| {}),
        Err(IntakeError::Decode { .. })
    ));
    let missing = dir.path().join("missing.png");
    assert!(matches!(
        input::load_file(&missing, &mut |_| {}),
        Err(IntakeError::Io { .. })
    ));
}

#[test]
fn corpus_is_deterministic_and_its_identity_data_is_valid() {
    let g = Generator::new().expect("fonts");
    let specs = corpus_specs(42, 1, &VariantKind::ALL);
    assert_eq!(specs, corpus_specs(42, 1, &VariantKind::ALL));
    assert_ne!(specs, corpus_specs(43, 1, &VariantKind::ALL));
    assert_eq!(specs.len(), 11 * VariantKind::ALL.len());
    // Same seed, same bytes (one page per kind, to keep the test short).
    for spec in specs.iter().filter(|s| s.doc_type == DocType::CccdBack) {
        let a = g.generate(spec).expect("generate");
        let b = g.generate(spec).expect("generate");
        assert_eq!(a.encoded, b.encoded, "{}", spec.id());
        assert_eq!(a.truth, b.truth);
    }
    let mut seen_types = std::collections::BTreeSet::new();
    for spec in corpus_specs(7, 2, &[VariantKind::Clean]) {
        let p = g.generate(&spec).expect("generate");
        let t = &p.truth;
        seen_types.insert(t.doc_type);
        assert_eq!((t.width, t.height, t.dpi), (2480, 3508, 300));
        for l in &t.lines {
            assert!(l.bbox.inside(t.width, t.height), "{}: {:?}", t.id, l);
        }
        if let Some(id) = &t.fields.id_number {
            let year: u16 = t
                .fields
                .birth_date
                .as_deref()
                .and_then(|d| d.get(d.len() - 4..))
                .and_then(|y| y.parse().ok())
                .expect("birth year");
            let sex = match t.fields.sex.as_deref() {
                Some("Nữ") => Sex::Female,
                _ if id.as_bytes()[3] % 2 == 1 => Sex::Female,
                _ => Sex::Male,
            };
            check_id_number(id, sex, year).unwrap_or_else(|e| panic!("{}: {id}: {e}", t.id));
        }
        match t.doc_type {
            DocType::CccdBack => {
                let mrz = t.mrz.as_ref().expect("TD1");
                validate_td1(mrz).unwrap_or_else(|e| panic!("{}: {e}", t.id));
                let id = t.fields.id_number.as_ref().expect("id");
                assert!(mrz[0].contains(id.as_str()));
            }
            DocType::PassportDataPage => {
                validate_td3(t.mrz.as_ref().expect("TD3")).unwrap_or_else(|e| panic!("{}: {e}", t.id))
            }
            _ => assert!(t.mrz.is_none()),
        }
        assert_eq!(t.seal.is_some(), t.doc_type.seal_required(), "{}", t.id);
        // The JSON round-trips.
        let json = serde_json::to_string(t).expect("json");
        let back: banso_intake::corpus::GroundTruth = serde_json::from_str(&json).expect("parse");
        assert_eq!(&back, t);
    }
    assert_eq!(seen_types.len(), 11);
    assert_eq!(banso_intake::corpus::people::provinces().len(), 63);
}

#[test]
fn variants_carry_their_evidence() {
    let g = Generator::new().expect("fonts");
    for spec in corpus_specs(
        5,
        3,
        &[
            VariantKind::Tampered,
            VariantKind::Art22,
            VariantKind::Degraded,
            VariantKind::Marks,
            VariantKind::Capture,
        ],
    ) {
        let p = g.generate(&spec).expect("generate");
        match &p.truth.variant {
            Variant::Tampered {
                region,
                original,
                visible,
                ..
            } => {
                assert!(region.inside(p.truth.width, p.truth.height));
                assert!(region.area() > 0);
                assert_ne!(original, visible, "{}", p.truth.id);
                // The region differs from plain paper: something was drawn or pasted, or it was erased to paper.
            }
            Variant::Art22 { case, region } => {
                use banso_intake::corpus::Art22Case::*;
                match case {
                    SecrecyStamp { text } | NoCopyMark { text } => {
                        let r = region.expect("stamp box");
                        assert!(p.truth.lines.iter().any(|l| &l.text == text));
                        // The stamp is red.
                        let red = (r.x..r.right())
                            .flat_map(|x| (r.y..r.bottom()).map(move |y| (x, y)))
                            .filter(|&(x, y)| {
                                let px = p.image.get_pixel(x, y).0;
                                px[0] > 150 && px[1] < 90 && px[2] < 90
                            });
                        assert!(red.count() > 500, "{}", p.truth.id);
                    }
                    MissingSeal => {
                        assert!(p.truth.seal_required && p.truth.seal.is_none(), "{}", p.truth.id);
                    }
                    ForeignNotLegalised => assert_eq!(p.truth.language, "en"),
                }
            }
            Variant::Degraded {
                rotation_deg,
                jpeg_quality,
                ..
            } => {
                assert!(rotation_deg.abs() <= 3.0);
                assert!((40..=70).contains(jpeg_quality));
                assert!(p.truth.image_file.ends_with(".jpg"));
                assert_eq!(input::sniff_format(&p.encoded), Some(input::FileFormat::Jpeg));
            }
            Variant::Marked {
                region,
                rotation_deg,
                greyscale,
                ..
            } => {
                assert!(region.inside(p.truth.width, p.truth.height) && region.area() > 0);
                assert!(rotation_deg.abs() <= 25.0);
                // The mark's ink is there: red on a colour scan, dark grey on a greyscale one.
                let inked = (region.x..region.right())
                    .flat_map(|x| (region.y..region.bottom()).map(move |y| (x, y)))
                    .filter(|&(x, y)| {
                        let px = p.image.get_pixel(x, y).0;
                        if *greyscale {
                            px[0] == px[1] && px[1] == px[2] && px[0] < 140
                        } else {
                            px[0] > 150 && px[1] < 90 && px[2] < 90
                        }
                    })
                    .count();
                assert!(inked > 500, "{}: {inked}", p.truth.id);
            }
            Variant::Captured {
                mode,
                dpi,
                jpeg_quality,
                ..
            } => {
                use banso_intake::corpus::CaptureMode;
                // The delivered image is at the capture's resolution, as a JPEG, with every line inside it.
                let want = match mode {
                    CaptureMode::Scan200 => 200,
                    CaptureMode::Phone => 225,
                };
                assert_eq!((*dpi, p.truth.dpi), (want, want), "{}", p.truth.id);
                let expected_w = (2480.0 * want as f32 / 300.0).round() as u32;
                assert_eq!(p.image.width(), expected_w, "{}", p.truth.id);
                assert!((70..=90).contains(jpeg_quality));
                assert_eq!(input::sniff_format(&p.encoded), Some(input::FileFormat::Jpeg));
                assert!(p
                    .truth
                    .lines
                    .iter()
                    .all(|l| l.bbox.inside(p.truth.width, p.truth.height)));
            }
            Variant::Clean => panic!("{} should not be clean", p.truth.id),
        }
    }
}

/// The benchmark compares each tampered page with its twin: the same spec and seed drawn without the
/// alteration. The twin must be the same page but for the altered spot.
#[test]
fn a_tampered_pages_twin_differs_only_where_it_was_altered() {
    let g = Generator::new().expect("fonts-dejavu-core");
    for spec in corpus_specs(2025, 3, &[VariantKind::Tampered])
        .into_iter()
        .filter(|s| s.doc_type == DocType::BirthCertificate)
    {
        let tampered = g.generate(&spec).expect("tampered");
        let twin = g
            .generate(&PageSpec {
                kind: VariantKind::Clean,
                ..spec
            })
            .expect("twin");
        let Variant::Tampered { region, .. } = tampered.truth.variant else {
            panic!("{} is not tampered", spec.id());
        };
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for (x, y, p) in tampered.image.enumerate_pixels() {
            if p != twin.image.get_pixel(x, y) {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        assert!(x0 <= x1, "{}: the alteration changed nothing", spec.id());
        let changed = BBox::new(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
        // A pasted cell is copied *from* elsewhere: only its target changes.
        let grown = BBox::new(
            region.x.saturating_sub(4),
            region.y.saturating_sub(4),
            region.w + 8,
            region.h + 8,
        );
        assert_eq!(
            changed.intersect(&grown),
            Some(changed),
            "{}: changed {changed:?} outside the altered region {region:?}",
            spec.id()
        );
    }
}
