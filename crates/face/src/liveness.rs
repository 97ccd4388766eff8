//! Liveness on a short frame sequence: the server picks a random sequence of head turns (the
//! challenge), the kiosk shows it and sends the camera frames, and the server checks that one
//! and the same live face followed it.
//!
//! What is measured per frame (all from YuNet's five landmarks and SFace):
//! - **yaw cue**: the nose tip's offset from the eyes' midpoint along the eye line, divided by
//!   the eye distance. A real head turning shifts the nose sideways against the eyes (roughly
//!   `sin(yaw)·depth/eye-distance`); a flat picture tilted, moved or rotated in front of the
//!   camera keeps that ratio (an affine map keeps ratios along a line), so a printed or
//!   on-screen still cannot produce the turns.
//! - **identity**: every frame's embedding against the first frontal frame's (the one later
//!   matched against the chip photo), so the face cannot be swapped mid-sequence.
//! - **motion**: consecutive frames must differ (a frozen frame replayed N times fails).
//!
//! Frames are raw camera frames (not mirrored). `Pose::Left` is the citizen's own left: the
//! nose moves towards the image's right edge.
//!
//! What this does not stop (see docs/design/face-match.md): a video of the person that happens
//! to perform the same random turns (replayed or synthesised in real time), a 3D mask or a
//! bust, a compromised kiosk injecting frames, a look-alike. The challenge's randomness and a
//! short deadline raise the cost of the first; the others need presentation-attack hardware
//! (depth/IR cameras) that a plain kiosk camera does not have.

use image::RgbImage;
use serde::Serialize;

use crate::{align, cosine_similarity, largest, Face, FaceModels, Result, EMBEDDING_LEN};

/// A head pose the citizen is asked to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pose {
    Centre,
    /// The citizen's own left.
    Left,
    /// The citizen's own right.
    Right,
}

impl Pose {
    pub fn parse(s: &str) -> Option<Pose> {
        match s.trim().to_ascii_lowercase().as_str() {
            "centre" | "center" | "c" => Some(Pose::Centre),
            "left" | "l" => Some(Pose::Left),
            "right" | "r" => Some(Pose::Right),
            _ => None,
        }
    }

    /// The instruction shown on the kiosk, Vietnamese first.
    pub fn instruction(self) -> &'static str {
        match self {
            Pose::Centre => "Nhìn thẳng vào camera / Look straight at the camera",
            Pose::Left => "Quay đầu sang trái / Turn your head to your left",
            Pose::Right => "Quay đầu sang phải / Turn your head to your right",
        }
    }
}

/// A challenge: the turns to perform, in order, each followed by a return to the centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Challenge {
    pub turns: Vec<Pose>,
}

impl Challenge {
    /// `n` turns drawn from `next_bit` (a source of random bits the caller owns); two turns at
    /// least, so that a single pre-recorded turn matches half the time at most.
    pub fn random(n: usize, mut next_bit: impl FnMut() -> bool) -> Challenge {
        let turns = (0..n.max(2))
            .map(|_| if next_bit() { Pose::Left } else { Pose::Right })
            .collect();
        Challenge { turns }
    }

    /// Parses `left,right,...` (centre steps are implied between turns and ignored here).
    pub fn parse(s: &str) -> Option<Challenge> {
        let turns: Option<Vec<Pose>> = s
            .split(',')
            .filter(|t| !t.trim().is_empty())
            .map(Pose::parse)
            .collect();
        let turns: Vec<Pose> = turns?.into_iter().filter(|p| *p != Pose::Centre).collect();
        (!turns.is_empty()).then_some(Challenge { turns })
    }
}

/// Thresholds of the liveness check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LivenessPolicy {
    /// |yaw cue| at or below this is "centre".
    pub centre_max: f32,
    /// |yaw cue| at or above this is a turn.
    pub turn_min: f32,
    /// Cosine similarity every frame's face must reach against the reference frontal frame.
    pub same_person_min: f32,
    /// Mean absolute grey difference (0..255) consecutive frames must exceed on average.
    pub motion_min: f32,
    /// Largest share of frames allowed without exactly one face.
    pub max_faceless_share: f32,
    /// Fewest frames accepted.
    pub min_frames: usize,
}

impl Default for LivenessPolicy {
    fn default() -> Self {
        Self {
            centre_max: 0.12,
            turn_min: 0.30,
            same_person_min: crate::DEFAULT_MATCH_THRESHOLD,
            motion_min: 0.5,
            max_faceless_share: 0.34,
            min_frames: 4,
        }
    }
}

/// What one frame showed.
#[derive(Debug, Clone, Serialize)]
pub struct FrameObservation {
    pub index: usize,
    /// Number of faces detected.
    pub faces: usize,
    /// Yaw cue of the largest face (see the module doc), if there was exactly one face.
    pub yaw: Option<f32>,
    pub pose: Option<Pose>,
    /// Cosine similarity to the reference frontal frame.
    pub same_person: Option<f32>,
    /// Mean absolute grey difference to the previous frame.
    pub motion: Option<f32>,
}

/// One named check with its result and the evidence it saw.
#[derive(Debug, Clone, Serialize)]
pub struct LivenessCheck {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// The verdict, the checks that made it, and the per-frame evidence.
#[derive(Debug, Clone, Serialize)]
pub struct LivenessReport {
    pub live: bool,
    pub challenge: Vec<Pose>,
    pub observed: Vec<Pose>,
    /// Index of the frontal frame used as the identity reference (the one to match against
    /// the chip photo).
    pub reference_frame: Option<usize>,
    pub checks: Vec<LivenessCheck>,
    pub frames: Vec<FrameObservation>,
}

/// The yaw cue of a face: the nose tip's offset from the eyes' midpoint along the eye line,
/// over the eye distance. Positive when the nose lies towards the image's right edge.
pub fn yaw_cue(face: &Face) -> f32 {
    let [re, le, nose, _, _] = face.landmarks;
    let (ux, uy) = (le[0] - re[0], le[1] - re[1]);
    let d = (ux * ux + uy * uy).sqrt();
    if d <= f32::EPSILON {
        return 0.0;
    }
    let mid = [(re[0] + le[0]) / 2.0, (re[1] + le[1]) / 2.0];
    ((nose[0] - mid[0]) * ux + (nose[1] - mid[1]) * uy) / (d * d)
}

/// One frame's raw measurements, before the sequence is judged.
#[derive(Debug, Clone)]
pub struct FrameMeasure {
    pub faces: usize,
    pub face: Option<Face>,
    pub embedding: Option<[f32; EMBEDDING_LEN]>,
    pub motion: Option<f32>,
}

/// Runs the models over `frames` and judges the sequence against `challenge`.
pub fn assess(
    models: &FaceModels,
    frames: &[RgbImage],
    challenge: &Challenge,
    policy: &LivenessPolicy,
) -> Result<LivenessReport> {
    let mut measures = Vec::with_capacity(frames.len());
    let mut previous: Option<image::GrayImage> = None;
    for frame in frames {
        let faces = models.detect(frame)?;
        let count = faces.len();
        let face = if count == 1 { largest(faces) } else { None };
        let embedding = match &face {
            Some(f) => Some(models.embed(&align(frame, &f.landmarks))?),
            None => None,
        };
        let grey = image::imageops::grayscale(frame);
        let motion = previous.as_ref().map(|p| mean_abs_diff(p, &grey));
        previous = Some(grey);
        measures.push(FrameMeasure {
            faces: count,
            face,
            embedding,
            motion,
        });
    }
    Ok(judge(&measures, challenge, policy))
}

/// Mean absolute difference of two grey images (255 when the sizes differ).
fn mean_abs_diff(a: &image::GrayImage, b: &image::GrayImage) -> f32 {
    if a.dimensions() != b.dimensions() {
        return 255.0;
    }
    let n = a.as_raw().len().max(1) as f64;
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    (sum as f64 / n) as f32
}

/// The pose of the one face in `image`, as the check classifies it (`None`: no face, several faces, or a
/// head between poses). A kiosk uses it to tell the citizen when a turn is far enough, and to take the frame
/// that shows it.
/// Also the yaw cue it was read from (`None` without exactly one face).
pub fn pose_in(
    models: &FaceModels,
    image: &RgbImage,
    policy: &LivenessPolicy,
) -> Result<(Option<Pose>, Option<f32>)> {
    let faces = models.detect(image)?;
    if faces.len() != 1 {
        return Ok((None, None));
    }
    let yaw = faces.first().map(yaw_cue);
    Ok((yaw.and_then(|y| classify(y, policy)), yaw))
}

fn classify(yaw: f32, policy: &LivenessPolicy) -> Option<Pose> {
    if yaw.abs() <= policy.centre_max {
        Some(Pose::Centre)
    } else if yaw >= policy.turn_min {
        Some(Pose::Left)
    } else if yaw <= -policy.turn_min {
        Some(Pose::Right)
    } else {
        None // in between: no state change
    }
}

/// Judges measured frames (pure: the unit tests feed it landmark sequences directly).
pub fn judge(measures: &[FrameMeasure], challenge: &Challenge, policy: &LivenessPolicy) -> LivenessReport {
    let mut frames: Vec<FrameObservation> = measures
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let yaw = m.face.as_ref().map(yaw_cue);
            FrameObservation {
                index,
                faces: m.faces,
                yaw,
                pose: yaw.and_then(|y| classify(y, policy)),
                same_person: None,
                motion: m.motion,
            }
        })
        .collect();
    let mut checks = Vec::new();

    // 1. Enough frames, each with one face.
    let n = measures.len();
    let faceless = frames.iter().filter(|f| f.yaw.is_none()).count();
    let several = frames.iter().filter(|f| f.faces > 1).count();
    let faces_ok =
        n >= policy.min_frames && several == 0 && (faceless as f32) <= policy.max_faceless_share * n as f32;
    checks.push(LivenessCheck {
        name: "one_face",
        passed: faces_ok,
        detail: format!(
            "{n} frames (at least {} needed), {faceless} without exactly one face (at most {:.0} %), {several} with several faces",
            policy.min_frames,
            policy.max_faceless_share * 100.0
        ),
    });

    // 2. The sequence of poses is exactly: centre, then each turn followed by centre.
    let reference = frames.iter().position(|f| f.pose == Some(Pose::Centre));
    let mut observed: Vec<Pose> = Vec::new();
    for p in frames.iter().filter_map(|f| f.pose) {
        if observed.last() != Some(&p) {
            observed.push(p);
        }
    }
    let mut expected = vec![Pose::Centre];
    for t in &challenge.turns {
        expected.push(*t);
        expected.push(Pose::Centre);
    }
    let yaws: Vec<f32> = frames.iter().filter_map(|f| f.yaw).collect();
    let (lo, hi) = yaws
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), y| {
            (lo.min(*y), hi.max(*y))
        });
    checks.push(LivenessCheck {
        name: "challenge_followed",
        passed: observed == expected,
        detail: format!(
            "asked {}, saw {} (yaw cue from {:.2} to {:.2}; a flat picture keeps it constant)",
            poses(&expected),
            poses(&observed),
            if lo.is_finite() { lo } else { 0.0 },
            if hi.is_finite() { hi } else { 0.0 }
        ),
    });

    // 3. One person throughout, measured against the first frontal frame.
    let reference_embedding = reference.and_then(|i| measures.get(i)).and_then(|m| m.embedding);
    let mut worst = f32::INFINITY;
    if let Some(r) = reference_embedding {
        for (f, m) in frames.iter_mut().zip(measures) {
            if let Some(e) = &m.embedding {
                let s = cosine_similarity(&r, e);
                worst = worst.min(s);
                f.same_person = Some(s);
            }
        }
    }
    let same_ok = reference_embedding.is_some() && worst >= policy.same_person_min;
    checks.push(LivenessCheck {
        name: "same_person",
        passed: same_ok,
        detail: match reference {
            None => "no frontal frame to take as the reference".to_string(),
            Some(i) => format!(
                "lowest similarity to frame {i}: {:.3} (needs {:.3})",
                if worst.is_finite() { worst } else { 0.0 },
                policy.same_person_min
            ),
        },
    });

    // 4. The frames move.
    let motions: Vec<f32> = frames.iter().filter_map(|f| f.motion).collect();
    let mean_motion = if motions.is_empty() {
        0.0
    } else {
        motions.iter().sum::<f32>() / motions.len() as f32
    };
    let frozen = motions.iter().filter(|m| **m == 0.0).count();
    checks.push(LivenessCheck {
        name: "motion",
        passed: mean_motion >= policy.motion_min && frozen == 0,
        detail: format!(
            "mean grey difference between frames {mean_motion:.2} (needs {:.2}), {frozen} identical consecutive frames",
            policy.motion_min
        ),
    });

    LivenessReport {
        live: checks.iter().all(|c| c.passed),
        challenge: challenge.turns.clone(),
        observed,
        reference_frame: reference,
        checks,
        frames,
    }
}

/// Simulates a presentation attack for tests and demos: `img` as a flat picture (a print or a
/// phone screen) turned by `angle` radians about its vertical centre line, seen by a pinhole
/// camera `dist` picture-widths away (nearest-neighbour sampling, black outside the picture).
pub fn flat_picture_turned(img: &RgbImage, angle: f32, dist: f32) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let f = dist * w; // focal length in pixels; the picture's centre sits at depth f
    let (c, s) = (angle.cos(), angle.sin());
    RgbImage::from_fn(img.width(), img.height(), |ox, oy| {
        // The ray through output pixel (u, v) meets the turned plane at picture coordinate x:
        // the plane point (x·c, y, f + x·s) projects to (f·x·c / (f + x·s), f·y / (f + x·s)).
        let (u, v) = (ox as f32 - w / 2.0, oy as f32 - h / 2.0);
        let x = u * f / (f * c - u * s);
        let z = f + x * s;
        let y = v * z / f;
        let (sx, sy) = (x + w / 2.0, y + h / 2.0);
        if z <= 0.0 || sx < 0.0 || sy < 0.0 || sx >= w - 1.0 || sy >= h - 1.0 {
            image::Rgb([0, 0, 0])
        } else {
            *img.get_pixel(sx as u32, sy as u32)
        }
    })
}

fn poses(p: &[Pose]) -> String {
    let names: Vec<&str> = p
        .iter()
        .map(|p| match p {
            Pose::Centre => "centre",
            Pose::Left => "left",
            Pose::Right => "right",
        })
        .collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join("→")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BBox;

    /// A face whose nose sits `yaw` eye-distances right of the eyes' midpoint, rolled by
    /// `roll` radians: what a head turned by some angle looks like to the landmark model.
    fn face(yaw: f32, roll: f32) -> Face {
        let (c, s) = (roll.cos(), roll.sin());
        let rot = |x: f32, y: f32| [100.0 + c * x - s * y, 100.0 + s * x + c * y];
        Face {
            bbox: BBox {
                x: 50.0,
                y: 50.0,
                w: 100.0,
                h: 120.0,
            },
            landmarks: [
                rot(-20.0, 0.0),
                rot(20.0, 0.0),
                rot(40.0 * yaw, 20.0),
                rot(-15.0, 40.0),
                rot(15.0, 40.0),
            ],
            score: 0.95,
        }
    }

    fn embedding(seed: f32) -> [f32; EMBEDDING_LEN] {
        std::array::from_fn(|i| ((i as f32 + 1.0) * seed).sin())
    }

    fn seq(yaws: &[f32], emb: impl Fn(usize) -> [f32; EMBEDDING_LEN]) -> Vec<FrameMeasure> {
        yaws.iter()
            .enumerate()
            .map(|(i, y)| FrameMeasure {
                faces: 1,
                face: Some(face(*y, 0.1)),
                embedding: Some(emb(i)),
                motion: (i > 0).then_some(3.0),
            })
            .collect()
    }

    fn lr() -> Challenge {
        Challenge {
            turns: vec![Pose::Left, Pose::Right],
        }
    }

    fn failed(r: &LivenessReport) -> Vec<&'static str> {
        r.checks.iter().filter(|c| !c.passed).map(|c| c.name).collect()
    }

    #[test]
    fn yaw_cue_ignores_roll_and_scale() {
        assert!((yaw_cue(&face(0.4, 0.0)) - 0.4).abs() < 1e-4);
        assert!((yaw_cue(&face(0.4, 0.5)) - 0.4).abs() < 1e-4);
        assert!((yaw_cue(&face(-0.3, -0.3)) + 0.3).abs() < 1e-4);
    }

    #[test]
    fn a_followed_challenge_is_live() {
        let r = judge(
            &seq(&[0.0, 0.05, 0.2, 0.45, 0.5, 0.1, 0.0, -0.4, -0.5, 0.0], |_| {
                embedding(1.0)
            }),
            &lr(),
            &LivenessPolicy::default(),
        );
        assert!(r.live, "{:?}", r.checks);
        assert_eq!(r.reference_frame, Some(0));
        assert_eq!(
            r.observed,
            vec![Pose::Centre, Pose::Left, Pose::Centre, Pose::Right, Pose::Centre]
        );
    }

    #[test]
    fn wrong_order_missing_return_or_extra_turns_fail() {
        let p = LivenessPolicy::default();
        for yaws in [
            &[0.0, -0.5, 0.0, 0.5, 0.0][..],       // right then left
            &[0.0, 0.5, -0.5, 0.0],                // no return to centre between turns
            &[0.0, 0.5, 0.0, -0.5, 0.0, 0.5, 0.0], // a replayed clip turning both ways twice
            &[0.0, 0.5, 0.5, 0.0],                 // one turn only
            &[0.02, 0.03, 0.01, 0.02, 0.03],       // a flat photo: the cue never changes
        ] {
            let r = judge(&seq(yaws, |_| embedding(1.0)), &lr(), &p);
            assert_eq!(failed(&r), vec!["challenge_followed"], "{yaws:?}");
        }
    }

    #[test]
    fn a_face_swap_mid_sequence_fails() {
        let r = judge(
            &seq(&[0.0, 0.5, 0.0, -0.5, 0.0], |i| {
                embedding(if i < 3 { 1.0 } else { 2.7 })
            }),
            &lr(),
            &LivenessPolicy::default(),
        );
        assert_eq!(failed(&r), vec!["same_person"]);
    }

    #[test]
    fn frozen_frames_and_missing_faces_fail() {
        let p = LivenessPolicy::default();
        let mut m = seq(&[0.0, 0.5, 0.0, -0.5, 0.0], |_| embedding(1.0));
        m[2].motion = Some(0.0);
        assert_eq!(failed(&judge(&m, &lr(), &p)), vec!["motion"]);

        let mut m = seq(&[0.0, 0.5, 0.0, -0.5, 0.0], |_| embedding(1.0));
        m[1].faces = 2;
        m[1].face = None;
        let r = judge(&m, &lr(), &p);
        assert!(failed(&r).contains(&"one_face"));
    }

    #[test]
    fn random_challenges_have_two_turns_at_least() {
        let mut bits = [true, false, true].into_iter().cycle();
        let c = Challenge::random(1, || bits.next().unwrap_or(false));
        assert_eq!(c.turns, vec![Pose::Left, Pose::Right]);
        assert_eq!(Challenge::parse("left, centre,right").unwrap(), lr());
        assert!(Challenge::parse("up").is_none());
    }
}
