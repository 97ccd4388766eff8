//! The face step of a kiosk identity session (banso-core's `FaceVerifier` port): the camera frames must show
//! one live face following the service's head-turn challenge ([`crate::liveness`]), and that face must
//! match the chip's DG2 portrait at the [`MatchPolicy`] threshold. Nothing is kept: the decoded frames and
//! the portrait live for the call only.

use crate::liveness::{self, Challenge, LivenessPolicy, Pose};
use crate::{cosine_similarity, decode_image, FaceError, FaceModels, MatchPolicy};
use banso_core::identity::{FaceVerdict, FaceVerifier, Turn};
use banso_core::{Code, Error};
use std::sync::Arc;

/// Largest width or height of a camera frame (720p is plenty; sixteen frames are held decoded at once).
pub const MAX_FRAME_SIDE: u32 = 1280;

/// The face models and thresholds a service checks kiosk frames with.
pub struct FaceProofs {
    models: Arc<FaceModels>,
    liveness: LivenessPolicy,
    matching: MatchPolicy,
}

impl FaceProofs {
    pub fn new(models: Arc<FaceModels>) -> Self {
        Self {
            models,
            liveness: LivenessPolicy::default(),
            matching: MatchPolicy::default(),
        }
    }
}

fn internal(e: FaceError) -> Error {
    Error::new(Code::Face0003Models, format!("the face models failed: {e}"))
}

impl FaceVerifier for FaceProofs {
    fn check(
        &self,
        portrait: &[u8],
        frames: &[Vec<u8>],
        challenge: &[Turn],
    ) -> banso_core::Result<FaceVerdict> {
        let portrait = decode_image(portrait).map_err(|e| {
            Error::new(
                Code::Id0003IdentityRejected,
                format!("the chip's photo cannot be read: {e}"),
            )
        })?;
        let mut images = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().enumerate() {
            let bad = |why: String| {
                Error::new(
                    Code::Face0002BadImage,
                    format!("camera frame {} cannot be read: {why}", i + 1),
                )
            };
            // Every frame is held decoded while the sequence is judged: a camera frame's size, no more.
            let (w, h) = crate::image_size(f).map_err(|e| bad(e.to_string()))?;
            if w > MAX_FRAME_SIDE || h > MAX_FRAME_SIDE {
                return Err(bad(format!("{w}×{h} pixels; at most {MAX_FRAME_SIDE} on a side")));
            }
            images.push(decode_image(f).map_err(|e| bad(e.to_string()))?);
        }
        let challenge = Challenge {
            turns: challenge
                .iter()
                .map(|t| match t {
                    Turn::Left => Pose::Left,
                    Turn::Right => Pose::Right,
                })
                .collect(),
        };
        let report = liveness::assess(&self.models, &images, &challenge, &self.liveness).map_err(internal)?;
        let not_live = |reason: String| FaceVerdict {
            live: false,
            matched: false,
            score: None,
            reason,
        };
        if !report.live {
            let failed: Vec<String> = report
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            return Ok(not_live(failed.join("; ")));
        }
        let Some(reference) = report.reference_frame.and_then(|i| images.get(i)) else {
            return Ok(not_live("no frontal frame to match".into()));
        };
        let Some((_, live)) = self.models.embed_largest_face(reference).map_err(internal)? else {
            return Ok(not_live("no face in the frontal frame".into()));
        };
        let Some((_, chip)) = self.models.embed_largest_face(&portrait).map_err(internal)? else {
            return Err(Error::new(
                Code::Id0003IdentityRejected,
                "no face was found in the chip's photo",
            ));
        };
        let score = cosine_similarity(&live, &chip);
        let matched = self.matching.is_match(score);
        Ok(FaceVerdict {
            live: true,
            matched,
            score: Some(score),
            reason: if matched {
                String::new()
            } else {
                format!(
                    "similarity {score:.3} is below the threshold {:.3}",
                    self.matching.threshold
                )
            },
        })
    }
}
