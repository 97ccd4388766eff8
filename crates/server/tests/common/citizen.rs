//! Citizens who identify at a kiosk, for tests that issue from a kiosk: each has a chip ID card (the
//! project's virtual card, read here in the test process as the kiosk would read it) whose DG2 is a real
//! photo, and a face in front of the camera.
//!
//! The camera frames are made, not filmed: a frontal photo, and the same photo with the nose region pushed
//! sideways (a smooth local warp) for a head turn, mirrored for the other side. banso-face's liveness check
//! reads head turns from the nose's place between the eyes, so it takes these for turns: a synthesised
//! turn is one of the attacks its module documentation says it does not stop. They stand in for a person
//! here only so that tests about issuance can get a verified identity session through the real checks.

use super::{Backend, Server, BIN};
use banso_identity::emrtd::reader::{read_chip, BacOrPace};
use banso_identity::emrtd::testkit::TestCardParams;
use banso_identity::emrtd::vcard::VirtualCard;
use image::RgbImage;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The face evaluation set (photos from registry packages), built on first use by scripts/face-eval-set.sh.
pub fn face_eval_set() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("BANSO_FACE_EVAL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/banso-face-eval")
            });
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Command::new("bash")
            .arg(root.join("scripts/face-eval-set.sh"))
            .arg(&dir)
            .arg(BIN)
            .output()
            .expect("running scripts/face-eval-set.sh");
        assert!(
            out.status.success(),
            "face-eval-set.sh failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A face photo of the evaluation set by name (e.g. `fr_obama_0.jpg`).
pub fn face_photo(name: &str) -> PathBuf {
    face_eval_set().join("faces").join(name)
}

/// The photo `name` as a chip's DG2 portrait: 240 pixels wide, JPEG of low quality (some 10 kB, like a real
/// one); (JPEG, width, height).
pub fn chip_portrait(name: &str) -> (Vec<u8>, u16, u16) {
    let portrait = image::open(face_photo(name)).unwrap().to_rgb8();
    let h = (portrait.height() * 240 / portrait.width()).min(320);
    let small = image::imageops::resize(&portrait, 240, h, image::imageops::FilterType::Triangle);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 60)
        .encode_image(&small)
        .unwrap();
    (jpeg, 240, h as u16)
}

/// A citizen with a chip card and a face.
pub struct Citizen {
    pub id_number: String,
    pub full_name: String,
    card: VirtualCard,
    mrz: String,
}

/// The citizens of one test, with the CSCA list their cards chain to.
pub struct Citizens {
    pub csca_dir: PathBuf,
    pub people: Vec<Citizen>,
}

impl Citizens {
    /// Issues a card for each (ID number, full name); the portrait on every card is Barack Obama's second
    /// photo of the evaluation set (the face in front of the camera is his first).
    pub fn new(dir: &Path, people: &[(&str, &str)]) -> Self {
        Self::with_cards(dir, people, |_, _| {})
    }

    /// As [`Citizens::new`], with each card's parameters changed by `adjust(index, params)` (to break one).
    pub fn with_cards(
        dir: &Path,
        people: &[(&str, &str)],
        adjust: impl Fn(usize, &mut TestCardParams),
    ) -> Self {
        let csca_dir = dir.join("csca");
        std::fs::create_dir_all(&csca_dir).unwrap();
        let portrait = chip_portrait("fr_obama2_0.jpg");
        let people = people
            .iter()
            .enumerate()
            .map(|(i, (id, name))| {
                let mut params = TestCardParams::default();
                params.dg13.id_number = id.to_string();
                params.dg13.full_name = name.to_string();
                params.face_image = Some(portrait.clone());
                adjust(i, &mut params);
                let (card, pki) = VirtualCard::issue_test_card(params).unwrap();
                std::fs::write(csca_dir.join(format!("csca-{i}.der")), &pki.csca_der).unwrap();
                Citizen {
                    id_number: id.to_string(),
                    full_name: name.to_string(),
                    card,
                    mrz: pki.mrz_text,
                }
            })
            .collect();
        Citizens { csca_dir, people }
    }

    /// The backend with these citizens' CSCA list.
    pub fn trusted_by(&self, backend: Backend) -> Backend {
        backend.with_env("BANSO_CSCA", &self.csca_dir.display().to_string())
    }
}

type Frames = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Camera frames of the person in the photo `name`: (frontal, turned to their left, turned to their
/// right), each a JPEG.
fn frames(name: &str) -> Frames {
    static FRAMES: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Frames>>> = OnceLock::new();
    let cache = FRAMES.get_or_init(Default::default);
    if let Some(f) = cache.lock().unwrap().get(name) {
        return f.clone();
    }
    let (frontal, left, right) = turned(image::open(face_photo(name)).unwrap().to_rgb8());
    let made = (jpeg(&frontal), jpeg(&left), jpeg(&right));
    cache.lock().unwrap().insert(name.to_string(), made.clone());
    made
}

/// The first face `banso id face-detect` finds in `img`: (five landmarks, yaw cue).
fn detect(img: &RgbImage) -> Option<(Vec<(f32, f32)>, f32)> {
    let dir = tempfile::TempDir::new().unwrap();
    let file = dir.path().join("frame.jpg");
    std::fs::write(&file, jpeg(img)).unwrap();
    let out = Command::new(BIN)
        .args(["id", "face-detect", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    let found: Value = serde_json::from_slice(&out.stdout).unwrap();
    let face = &found[0]["faces"][0];
    let marks = (0..5)
        .map(|i| {
            let p = |c: usize| face["landmarks"][i][c].as_f64().map(|v| v as f32);
            Some((p(0)?, p(1)?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((marks, face["yaw_cue"].as_f64()? as f32))
}

/// `img` and two head turns made from it: (frontal, turned to the person's left, turned to their right),
/// each pushed until the detector reads it past the check's threshold (0.30) with a margin (the detector is not mirror-exact,
/// so both the photo and its mirror image, pushed either way, are tried).
fn turned(img: RgbImage) -> (RgbImage, RgbImage, RgbImage) {
    let mirrored = image::imageops::flip_horizontal(&img);
    let yaw = |i: &RgbImage| detect(i).map_or(0.0, |d| d.1);
    let mut candidates = Vec::new();
    for source in [&img, &mirrored] {
        let (marks, _) = detect(source).expect("a face in the photo");
        let eye_distance = (marks[1].0 - marks[0].0).hypot(marks[1].1 - marks[0].1);
        for strength in [1.2f32, 1.5, 1.8, -1.2, -1.5, -1.8] {
            let pushed = push_nose(source, marks[2], eye_distance, strength);
            candidates.push(image::imageops::flip_horizontal(&pushed));
            candidates.push(pushed);
        }
    }
    let left = candidates
        .iter()
        .find(|c| yaw(c) >= 0.34)
        .expect("no synthesised left turn reads as one");
    let right = candidates
        .iter()
        .find(|c| yaw(c) <= -0.34)
        .expect("no synthesised right turn reads as one");
    (img.clone(), left.clone(), right.clone())
}

/// The nose region moved sideways by `strength` eye distances at its centre (towards the image's right edge
/// when positive), fading out over about 0.8 eye distances (a Gaussian displacement field).
fn push_nose(img: &RgbImage, nose: (f32, f32), eye_distance: f32, strength: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let shift = strength * eye_distance;
    let sigma = 0.8 * eye_distance;
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - nose.0, y as f32 - nose.1 - 0.18 * eye_distance);
        let weight = (-(dx * dx) / (sigma * sigma) - (dy * dy) / (1.44 * sigma * sigma)).exp();
        let sx = (x as f32 - shift * weight).clamp(0.0, (w - 1) as f32);
        let x0 = sx.floor() as u32;
        let x1 = (x0 + 1).min(w - 1);
        let f = sx - x0 as f32;
        let (a, b) = (img.get_pixel(x0, y), img.get_pixel(x1, y));
        image::Rgb(std::array::from_fn(|c| {
            (a[c] as f32 * (1.0 - f) + b[c] as f32 * f).round() as u8
        }))
    })
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

impl Server {
    /// Sends a kiosk API request with a JSON body; (status, answer).
    pub fn kiosk_json(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().unwrap();
        let status = r.status().as_u16();
        let text = r.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Starts a chip identity session and brings the citizen's chip read (with the session's nonce):
    /// the session's view at the face step.
    pub fn present_chip(&self, token: &str, citizen: &mut Citizen) -> Value {
        let (s, view) = self.try_chip(token, citizen);
        assert_eq!(s, 200, "{view}");
        view
    }

    /// Starts a chip identity session and brings the citizen's chip read; (status, answer).
    pub fn try_chip(&self, token: &str, citizen: &mut Citizen) -> (u16, Value) {
        let (s, session) = self.kiosk_json(
            token,
            reqwest::Method::POST,
            "/api/v1/identity/sessions",
            Some(json!({"method": "chip"})),
        );
        assert_eq!(s, 201, "{session}");
        let nonce: [u8; 8] = hex::decode(session["nonce"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let body = Self::chip_read(citizen, nonce);
        let id = session["id"].as_str().unwrap();
        self.kiosk_json(
            token,
            reqwest::Method::POST,
            &format!("/api/v1/identity/sessions/{id}/chip"),
            Some(body),
        )
    }

    /// What a kiosk sends after reading the citizen's chip with `nonce` for active authentication.
    pub fn chip_read(citizen: &mut Citizen, nonce: [u8; 8]) -> Value {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        citizen.card.reset();
        let chip = read_chip(&mut citizen.card, &citizen.mrz, BacOrPace::PreferPace, nonce).unwrap();
        let groups: serde_json::Map<String, Value> = chip
            .data_groups
            .iter()
            .map(|(n, b)| (n.to_string(), Value::String(b64(b))))
            .collect();
        json!({
            "sod": b64(&chip.sod),
            "data_groups": groups,
            "active_authentication": chip.active_authentication.as_ref().map(|(_, sig)| b64(sig)),
        })
    }

    /// Sends camera frames for a session at the face step; (status, answer).
    pub fn show_face(&self, token: &str, session: &str, frames: &[Vec<u8>]) -> (u16, Value) {
        let mut form = reqwest::blocking::multipart::Form::new();
        for (i, f) in frames.iter().enumerate() {
            form = form.part(
                "frame",
                reqwest::blocking::multipart::Part::bytes(f.clone()).file_name(format!("f{i}.jpg")),
            );
        }
        let r = self
            .http
            .post(self.url(&format!("/api/v1/identity/sessions/{session}/face")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// The frames of the card holder's face (the person of `fr_obama_0.jpg`) following `challenge`.
    pub fn live_frames(challenge: &Value) -> Vec<Vec<u8>> {
        Self::live_frames_of("fr_obama_0.jpg", challenge)
    }

    /// The frames of the person in the photo `name` following `challenge` (["left", "right", …]): centre,
    /// then each turn and back.
    pub fn live_frames_of(name: &str, challenge: &Value) -> Vec<Vec<u8>> {
        let (frontal, left, right) = frames(name);
        let mut out = vec![frontal.clone()];
        for turn in challenge.as_array().unwrap() {
            out.push(if turn == "left" {
                left.clone()
            } else {
                right.clone()
            });
            out.push(frontal.clone());
        }
        out
    }

    /// A verified identity session for `citizen` at the kiosk `token`: chip, then face. Its id.
    pub fn identify(&self, token: &str, citizen: &mut Citizen) -> String {
        let view = self.present_chip(token, citizen);
        let id = view["id"].as_str().unwrap().to_string();
        let (s, verified) = self.show_face(token, &id, &Self::live_frames(&view["challenge"]));
        assert_eq!(
            (s, verified["step"].as_str()),
            (200, Some("verified")),
            "{verified}"
        );
        id
    }

    /// Issues from a kiosk for the citizen of the verified identity `session`.
    pub fn issue_for(
        &self,
        token: &str,
        session: &str,
        fields: &[(&str, &str)],
        pages: &[Vec<u8>],
    ) -> (u16, Value) {
        self.issue_with(token, Some(session), fields, pages)
    }
}

/// What the kiosk's camera films.
#[derive(Clone, Copy, Debug)]
pub enum Film {
    /// The card holder's face (the person of `fr_obama_0.jpg`) looking ahead, turned to their left, ahead,
    /// turned to their right, 1.5 s each, in a loop — a citizen who answers every instruction within a
    /// couple of seconds, whatever order the service asks for.
    Holder,
    /// The same person's photo held up to the camera and tilted left and right (a presentation attack).
    HeldUpPhoto,
}

/// A camera film for Chromium's fake capture device (`--use-file-for-fake-video-capture`, Y4M with a `C420`
/// header), 640×480 at 10 frames a second.
pub fn camera_y4m(path: &Path, film: Film) {
    let (w, h) = (640u32, 480u32);
    // The photo at its own scale (a face some 240 pixels wide, as a kiosk camera at arm's length sees it),
    // its face in the middle of the frame.
    let fit = |img: RgbImage| {
        let (marks, _) = detect(&img).expect("a face in the photo");
        let (cx, cy) = (marks[2].0 as i64, marks[2].1 as i64);
        let mut canvas = RgbImage::from_pixel(w, h, image::Rgb([90, 90, 90]));
        image::imageops::overlay(&mut canvas, &img, w as i64 / 2 - cx, h as i64 / 2 - cy);
        canvas
    };
    let photo = fit(image::open(face_photo("fr_obama_0.jpg")).unwrap().to_rgb8());
    let frames: Vec<(RgbImage, usize)> = match film {
        Film::Holder => {
            // Turned at the film's own size: the detector reads a warp differently once scaled.
            let (frontal, left, right) = turned(photo);
            vec![(frontal.clone(), 15), (left, 15), (frontal, 15), (right, 15)]
        }
        Film::HeldUpPhoto => [0.0f32, 0.2, 0.4, 0.6, 0.4, 0.2, 0.0, -0.2, -0.4, -0.6, -0.4, -0.2]
            .iter()
            .map(|a| (banso_face::liveness::flat_picture_turned(&photo, *a, 1.5), 3))
            .collect(),
    };
    let mut out = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420\n").into_bytes();
    for (frame, repeat) in &frames {
        let (y, u, v) = yuv420(frame);
        for _ in 0..*repeat {
            out.extend_from_slice(b"FRAME\n");
            out.extend_from_slice(&y);
            out.extend_from_slice(&u);
            out.extend_from_slice(&v);
        }
    }
    std::fs::write(path, out).unwrap();
}

/// BT.601 studio-range planes of `img`, chroma averaged over 2×2 blocks.
fn yuv420(img: &RgbImage) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (w, h) = img.dimensions();
    let mut y = Vec::with_capacity((w * h) as usize);
    for p in img.pixels() {
        let [r, g, b] = p.0.map(f32::from);
        y.push((16.0 + 0.257 * r + 0.504 * g + 0.098 * b).round() as u8);
    }
    let (mut u, mut v) = (Vec::new(), Vec::new());
    for by in (0..h).step_by(2) {
        for bx in (0..w).step_by(2) {
            let mut sum = [0f32; 3];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let p = img.get_pixel(bx + dx, by + dy).0;
                for c in 0..3 {
                    sum[c] += f32::from(p[c]) / 4.0;
                }
            }
            let [r, g, b] = sum;
            u.push((128.0 - 0.148 * r - 0.291 * g + 0.439 * b).round() as u8);
            v.push((128.0 + 0.439 * r - 0.368 * g - 0.071 * b).round() as u8);
        }
    }
    (y, u, v)
}
