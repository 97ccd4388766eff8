//! End-to-end tests against the installed models (scripts/install-face-models.sh). They skip,
//! with a message, where the models are not installed; set BANSO_FACE_REQUIRE_MODELS=1 to make
//! that a failure instead.

use std::sync::OnceLock;
use std::time::Instant;

use banso_face::{align, cosine_similarity, decode_image, default_models_dir, FaceModels, ALIGNED_SIZE};
use image::RgbImage;

/// Eileen Collins, NASA portrait (public domain), as shipped in the PyPI scikit-image wheel
/// (skimage/data/astronaut.png), re-encoded as JPEG 512×512.
const ASTRONAUT: &[u8] = include_bytes!("fixtures/astronaut.jpg");

fn models() -> Option<&'static FaceModels> {
    static MODELS: OnceLock<Option<FaceModels>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir = default_models_dir();
            if !dir.join("yunet.onnx").is_file() || !dir.join("sface.onnx").is_file() {
                assert!(
                    std::env::var_os("BANSO_FACE_REQUIRE_MODELS").is_none(),
                    "models not installed in {}",
                    dir.display()
                );
                eprintln!(
                    "skipping: no models in {} (run scripts/install-face-models.sh)",
                    dir.display()
                );
                return None;
            }
            Some(FaceModels::load(&dir).expect("load models"))
        })
        .as_ref()
}

#[test]
fn blank_image_has_no_face() {
    let Some(m) = models() else { return };
    for color in [[0u8, 0, 0], [255, 255, 255], [128, 128, 128]] {
        let img = RgbImage::from_pixel(640, 480, image::Rgb(color));
        assert!(
            m.detect(&img).unwrap().is_empty(),
            "face found in blank {color:?}"
        );
    }
}

#[test]
fn finds_one_face_with_plausible_landmarks() {
    let Some(m) = models() else { return };
    let img = decode_image(ASTRONAUT).unwrap();
    let faces = m.detect(&img).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = &faces[0];
    eprintln!("astronaut face: {f:?}");
    assert!(f.score > 0.9);
    let l = f.landmarks;
    // Eyes above the nose, nose above the mouth, image-left eye left of image-right eye.
    assert!(l[0][0] < l[1][0] && l[3][0] < l[4][0]);
    assert!(l[0][1] < l[2][1] && l[1][1] < l[2][1] && l[2][1] < l[3][1] && l[2][1] < l[4][1]);
    for p in l {
        let inside = p[0] >= f.bbox.x
            && p[0] <= f.bbox.x + f.bbox.w
            && p[1] >= f.bbox.y
            && p[1] <= f.bbox.y + f.bbox.h;
        assert!(inside, "landmark {p:?} outside {:?}", f.bbox);
    }
}

#[test]
fn same_image_matches_itself_and_a_shifted_copy() {
    let Some(m) = models() else { return };
    let img = decode_image(ASTRONAUT).unwrap();
    let (face, e1) = m.embed_best_face(&img).unwrap().expect("a face");
    let aligned = align(&img, &face.landmarks);
    assert_eq!(aligned.dimensions(), (ALIGNED_SIZE, ALIGNED_SIZE));
    let e2 = m.embed(&aligned).unwrap();
    let same = cosine_similarity(&e1, &e2);
    assert!(same > 0.9999, "self similarity {same}");

    // The same photo, cropped and scaled down (a different capture geometry), still matches
    // well; a blank "face" does not.
    let crop = image::imageops::crop_imm(&img, 60, 20, 400, 400).to_image();
    let small = image::imageops::resize(&crop, 300, 300, image::imageops::FilterType::Triangle);
    let (_, e3) = m.embed_best_face(&small).unwrap().expect("a face in the crop");
    let moved = cosine_similarity(&e1, &e3);
    let grey = m
        .embed(&RgbImage::from_pixel(112, 112, image::Rgb([128, 128, 128])))
        .unwrap();
    let other = cosine_similarity(&e1, &grey);
    eprintln!("similarity: self {same:.4}, cropped+scaled {moved:.4}, grey square {other:.4}");
    assert!(moved > 0.8, "{moved}");
    assert!(other < moved);
}

#[test]
fn timings_on_one_core() {
    let Some(m) = models() else { return };
    let img = decode_image(ASTRONAUT).unwrap();
    let face = m.detect(&img).unwrap().remove(0);
    let aligned = align(&img, &face.landmarks);
    let runs = 10;
    let t = Instant::now();
    for _ in 0..runs {
        m.detect(&img).unwrap();
    }
    let det = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    let t = Instant::now();
    for _ in 0..runs {
        align(&img, &face.landmarks);
    }
    let ali = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    let t = Instant::now();
    for _ in 0..runs {
        m.embed(&aligned).unwrap();
    }
    let emb = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    eprintln!("per call, 1 intra-op thread: detect {det:.1} ms (512×512 → 640×640), align {ali:.2} ms, embed {emb:.1} ms");
}
