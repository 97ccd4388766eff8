//! End-to-end tests against the installed models (scripts/install-face-models.sh, run by
//! scripts/setup.sh). Missing models are a failure, not a skip.

use std::sync::OnceLock;

use banso_face::liveness::{self, Challenge, LivenessPolicy};
use banso_face::{align, cosine_similarity, decode_image, default_models_dir, FaceModels, ALIGNED_SIZE};
use image::RgbImage;

/// Eileen Collins, NASA portrait (public domain), as shipped in the PyPI scikit-image wheel
/// (skimage/data/astronaut.png), re-encoded as JPEG 512×512.
const ASTRONAUT: &[u8] = include_bytes!("fixtures/astronaut.jpg");

fn models() -> &'static FaceModels {
    static MODELS: OnceLock<FaceModels> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = default_models_dir();
        FaceModels::load(&dir).unwrap_or_else(|e| {
            panic!(
                "face models in {}: {e} (run scripts/install-face-models.sh)",
                dir.display()
            )
        })
    })
}

#[test]
fn blank_image_has_no_face() {
    let m = models();
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
    let m = models();
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
    let m = models();
    let img = decode_image(ASTRONAUT).unwrap();
    let (face, e1) = m.embed_largest_face(&img).unwrap().expect("a face");
    let aligned = align(&img, &face.landmarks);
    assert_eq!(aligned.dimensions(), (ALIGNED_SIZE, ALIGNED_SIZE));
    let e2 = m.embed(&aligned).unwrap();
    let same = cosine_similarity(&e1, &e2);
    assert!(same > 0.9999, "self similarity {same}");

    // The same photo, cropped and scaled down (a different capture geometry), still matches
    // well; a blank "face" does not.
    let crop = image::imageops::crop_imm(&img, 60, 20, 400, 400).to_image();
    let small = image::imageops::resize(&crop, 300, 300, image::imageops::FilterType::Triangle);
    let (_, e3) = m.embed_largest_face(&small).unwrap().expect("a face in the crop");
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
fn a_turned_photo_does_not_pass_the_head_turn_challenge() {
    let m = models();
    let img = decode_image(ASTRONAUT).unwrap();
    let angles = [0.0f32, 0.3, 0.6, 0.7, 0.3, 0.0, -0.3, -0.6, -0.7, -0.3, 0.0];
    let frames: Vec<RgbImage> = angles
        .iter()
        .map(|a| liveness::flat_picture_turned(&img, *a, 1.5))
        .collect();
    let challenge = Challenge::parse("left,right").unwrap();
    let report = liveness::assess(m, &frames, &challenge, &LivenessPolicy::default()).unwrap();
    let yaws: Vec<f32> = report.frames.iter().filter_map(|f| f.yaw).collect();
    eprintln!("turned photo yaw cues: {yaws:?}");
    assert!(
        yaws.len() >= 9,
        "the picture's face should stay detectable: {yaws:?}"
    );
    assert!(!report.live);
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name)
        .collect();
    assert_eq!(failed, vec!["challenge_followed"], "{:?}", report.checks);
    // The same person throughout, and the frames did move: only the 3-D cue gives it away.
    assert!(yaws.iter().all(|y| y.abs() < LivenessPolicy::default().turn_min));
}

#[test]
fn jpeg2000_portraits_decode_and_match_their_jpeg_original() {
    // DG2 may hold JPEG 2000: encode the fixture with OpenJPEG's own encoder (an independent tool), as a
    // JP2 file and as a bare, lossy codestream of DG2 size, and match both against the JPEG.
    let m = models();
    let img = decode_image(ASTRONAUT).unwrap();
    let tmp = tempfile::TempDir::new().unwrap();
    let ppm = tmp.path().join("portrait.ppm");
    let small = image::imageops::resize(&img, 240, 240, image::imageops::FilterType::Triangle);
    let mut bytes = b"P6\n240 240\n255\n".to_vec();
    bytes.extend_from_slice(small.as_raw());
    std::fs::write(&ppm, bytes).unwrap();
    let (_, reference) = m.embed_largest_face(&img).unwrap().expect("a face");
    for (name, extra) in [("portrait.jp2", &[][..]), ("portrait.j2k", &["-r", "20"][..])] {
        let out = tmp.path().join(name);
        let status = std::process::Command::new("opj_compress")
            .arg("-i")
            .arg(&ppm)
            .arg("-o")
            .arg(&out)
            .args(extra)
            .output()
            .expect("opj_compress (apt libopenjp2-tools)");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let bytes = std::fs::read(&out).unwrap();
        let decoded = decode_image(&bytes).unwrap();
        assert_eq!(decoded.dimensions(), (240, 240));
        let (_, e) = m
            .embed_largest_face(&decoded)
            .unwrap()
            .expect("a face in the JPEG 2000 portrait");
        let s = cosine_similarity(&reference, &e);
        eprintln!("{name}: {} bytes, similarity to the JPEG {s:.3}", bytes.len());
        assert!(s > 0.8, "{name}: {s}");
    }
    // Garbage after a JP2 signature is an error, not a panic.
    let mut broken = vec![0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
    broken.extend_from_slice(&[0u8; 64]);
    assert!(decode_image(&broken).is_err());
}
