//! Identity sessions: the only way a kiosk names a holder.
//!
//! A kiosk never says who the citizen is; it brings evidence and the service decides. A session is opened
//! by a kiosk's device credential and stays bound to it. It moves through steps the service drives:
//!
//! - **chip**: the service draws an 8-byte nonce; the kiosk reads the chip (DG1, DG2, DG13, DG14, DG15,
//!   EF.SOD) and has it sign the nonce (active authentication); the service checks the lot itself
//!   ([`ChipVerifier`]: passive authentication against the CSCA list, the signature over *its* nonce). Then
//! - **face**: the service draws a head-turn challenge; the kiosk sends camera frames; the service checks
//!   liveness and matches the live face against the chip's DG2 ([`FaceVerifier`]). The portrait and the
//!   frames are dropped as soon as the match is decided.
//! - **app**: the national-ID app login (OpenID Connect device flow, [`AppLogin`]): the service starts it,
//!   the kiosk shows the QR, and the service polls the provider and validates the ID token.
//!
//! Only a **verified** session yields a [`ProvenHolder`], and issuance from a kiosk takes the holder's ID
//! number and name from it.
//!
//! What an anonymous client can do here: nothing (every call needs a kiosk credential). What a kiosk
//! credential can make the service hold is bounded: [`MAX_SESSIONS`] sessions in all, [`PER_DEVICE`] per
//! device (a new one ends the device's oldest), each for [`SESSION_TTL`] at most, and a face step is tried
//! [`FACE_ATTEMPTS`] times before the session fails.

use crate::error::{Code, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

/// How long an identity session lives from its start, whatever its step.
pub const SESSION_TTL: Duration = Duration::minutes(10);
/// Sessions held at once, across all devices.
pub const MAX_SESSIONS: usize = 4096;
/// Sessions one device may hold at once; a new one ends its oldest.
pub const PER_DEVICE: usize = 2;
/// Face attempts before the session fails.
pub const FACE_ATTEMPTS: u8 = 3;
/// Citizens' browsers signed in to their wallet at once (a pool apart from kiosks', so that anonymous
/// visitors cannot crowd kiosks out).
pub const WEB_SESSIONS: usize = 256;
/// Head turns in a liveness challenge.
pub const CHALLENGE_TURNS: usize = 2;

/// How the citizen proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The chip ID card (passive and active authentication), then a live face matched against the chip's.
    ChipAndFace,
    /// The national-ID app login.
    App,
}

/// A citizen as the service proved them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenHolder {
    /// The 12-digit citizen ID number.
    pub id_number: String,
    /// The full name, with diacritics where the source has them.
    pub full_name: String,
    /// As the source gives it.
    pub birth_date: Option<String>,
    /// How strongly the source proved it (e.g. "high": chip with active authentication).
    pub assurance: String,
}

/// What a kiosk read from a chip. Untrusted until a [`ChipVerifier`] says otherwise.
#[derive(Debug, Clone, Default)]
pub struct ChipEvidence {
    /// EF.SOD.
    pub sod: Vec<u8>,
    /// (data group number, file bytes).
    pub data_groups: Vec<(u8, Vec<u8>)>,
    /// The chip's signature over the service's nonce (INTERNAL AUTHENTICATE), when it gave one.
    pub active_authentication: Option<Vec<u8>>,
}

/// A chip the verifier accepted: who it names, and the DG2 portrait to match the live face against.
#[derive(Debug, Clone)]
pub struct ChipProof {
    pub holder: ProvenHolder,
    /// The DG2 face image (JPEG or JPEG 2000).
    pub portrait: Vec<u8>,
}

/// A head turn the citizen is asked to make (their own left or right), each followed by a return to the
/// centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Turn {
    Left,
    Right,
}

/// What the face check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceVerdict {
    /// One live face followed the challenge.
    pub live: bool,
    /// The live face matched the portrait (false when not live: not compared).
    pub matched: bool,
    /// The match score, when compared.
    pub score: Option<f32>,
    /// Why not, in a sentence; empty when both hold.
    pub reason: String,
}

/// A national-ID app login the provider started (RFC 8628 device authorization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppTicket {
    pub client_id: String,
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    /// What the kiosk shows as a QR.
    pub qr_uri: String,
    pub nonce: Option<String>,
    pub expires_in: std::time::Duration,
    pub interval: std::time::Duration,
}

/// Checks a kiosk's chip read (passive authentication to the CSCA list, active authentication over the
/// service's nonce). Blocking; CPU only.
pub trait ChipVerifier: Send + Sync {
    fn verify(&self, evidence: &ChipEvidence, nonce: &[u8; 8]) -> Result<ChipProof>;
}

/// Checks camera frames: one live face following `challenge`, and that face against `portrait`. Blocking;
/// CPU heavy.
pub trait FaceVerifier: Send + Sync {
    fn check(&self, portrait: &[u8], frames: &[Vec<u8>], challenge: &[Turn]) -> Result<FaceVerdict>;
}

/// The national-ID app login. Blocking; talks to the provider.
pub trait AppLogin: Send + Sync {
    fn start(&self) -> Result<AppTicket>;
    /// `None` while the citizen has not answered yet.
    fn poll(&self, ticket: &AppTicket) -> Result<Option<ProvenHolder>>;
}

/// The verifiers a service offers; a missing one makes that way of identifying unavailable.
#[derive(Clone, Default)]
pub struct IdentityPorts {
    pub chip: Option<std::sync::Arc<dyn ChipVerifier>>,
    pub face: Option<std::sync::Arc<dyn FaceVerifier>>,
    pub app: Option<std::sync::Arc<dyn AppLogin>>,
}

/// Where a session stands.
#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Chip {
        nonce: [u8; 8],
    },
    Face {
        holder: ProvenHolder,
        portrait: Vec<u8>,
        challenge: Vec<Turn>,
        attempts_left: u8,
    },
    App {
        ticket: AppTicket,
        next_poll: OffsetDateTime,
    },
    Verified {
        holder: ProvenHolder,
        method: Method,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub device: String,
    pub started_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub stage: Stage,
}

/// What a kiosk sees of a session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionView {
    /// The session's id: a secret the kiosk holds for the citizen's visit.
    pub id: String,
    /// `chip`, `face`, `app` or `verified`.
    pub step: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The nonce the chip must sign (hex), at the chip step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The head turns to make, at the face step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Vec<Turn>>,
    /// Face attempts left, at the face step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u8>,
    /// The QR to show and the code to type, at the app step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qr_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// Seconds to wait before polling again, at the app step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_after: Option<u64>,
    /// Who, once verified (the name is shown to the citizen for confirmation; the kiosk keeps nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<ProvenHolder>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
}

impl SessionView {
    pub(crate) fn of(id: &str, s: &Session, now: OffsetDateTime) -> Self {
        let mut v = SessionView {
            id: id.to_string(),
            step: "",
            expires_at: s.expires_at,
            nonce: None,
            challenge: None,
            attempts_left: None,
            qr_uri: None,
            user_code: None,
            poll_after: None,
            holder: None,
            method: None,
        };
        match &s.stage {
            Stage::Chip { nonce } => {
                v.step = "chip";
                v.nonce = Some(hex::encode(nonce));
            }
            Stage::Face {
                challenge,
                attempts_left,
                ..
            } => {
                v.step = "face";
                v.challenge = Some(challenge.clone());
                v.attempts_left = Some(*attempts_left);
            }
            Stage::App { ticket, next_poll } => {
                v.step = "app";
                v.qr_uri = Some(ticket.qr_uri.clone());
                v.user_code = Some(ticket.user_code.clone());
                v.poll_after = Some((*next_poll - now).whole_seconds().max(0) as u64);
            }
            Stage::Verified { holder, method, .. } => {
                v.step = "verified";
                v.holder = Some(holder.clone());
                v.method = Some(*method);
            }
        }
        v
    }
}

/// The live sessions, bounded (see the module doc). In memory: a session lasts one citizen's visit, and a
/// lost one (a restart) only means identifying again.
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    max: usize,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_max(MAX_SESSIONS)
    }
}

fn busy() -> Error {
    Error::new(
        Code::Req0003Busy,
        "too many identity sessions are open: retry in a minute",
    )
}

pub(crate) fn no_such_session() -> Error {
    Error::new(
        Code::Id0004NoSuchSession,
        "no identity session has this id for this kiosk (unknown, ended or expired): start again",
    )
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock cannot leave a session half-written (every change is one
        // assignment), so a poisoned map is still sound.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A pool holding `max` sessions at most.
    pub fn with_max(max: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// `REQ-0003` when the pool is full (after ending expired sessions).
    pub fn check_room(&self, now: OffsetDateTime) -> Result<()> {
        let mut map = self.lock();
        map.retain(|_, s| s.expires_at > now);
        if map.len() >= self.max {
            return Err(busy());
        }
        Ok(())
    }

    /// Adds `session` under `id`, ending expired sessions, the device's oldest beyond [`PER_DEVICE`], and
    /// refusing when the service holds [`MAX_SESSIONS`].
    pub fn insert(&self, id: String, session: Session, now: OffsetDateTime) -> Result<()> {
        let mut map = self.lock();
        map.retain(|_, s| s.expires_at > now);
        let mut mine: Vec<(OffsetDateTime, String)> = map
            .iter()
            .filter(|(_, s)| s.device == session.device)
            .map(|(k, s)| (s.started_at, k.clone()))
            .collect();
        mine.sort();
        while mine.len() >= PER_DEVICE {
            let (_, oldest) = mine.remove(0);
            map.remove(&oldest);
        }
        if map.len() >= self.max {
            return Err(busy());
        }
        map.insert(id, session);
        Ok(())
    }

    /// A copy of the device's live session `id`.
    pub fn get(&self, device: &str, id: &str, now: OffsetDateTime) -> Result<Session> {
        let mut map = self.lock();
        match map.get(id) {
            Some(s) if s.expires_at <= now => {
                map.remove(id);
                Err(no_such_session())
            }
            Some(s) if s.device == device => Ok(s.clone()),
            _ => Err(no_such_session()),
        }
    }

    /// Replaces the stage of the device's live session `id`, when it is still at the stage `was` checked
    /// (a concurrent call may have moved it on while a verifier ran without the lock).
    pub fn advance(
        &self,
        device: &str,
        id: &str,
        now: OffsetDateTime,
        was: impl Fn(&Stage) -> bool,
        next: Stage,
    ) -> Result<Session> {
        let mut map = self.lock();
        let s = map
            .get_mut(id)
            .filter(|s| s.device == device && s.expires_at > now)
            .ok_or_else(no_such_session)?;
        if !was(&s.stage) {
            return Err(Error::new(
                Code::Id0005WrongStep,
                "the identity session moved on meanwhile",
            ));
        }
        s.stage = next;
        Ok(s.clone())
    }

    /// Ends the device's session `id`; true when there was one.
    pub fn remove(&self, device: &str, id: &str) -> bool {
        let mut map = self.lock();
        if map.get(id).is_some_and(|s| s.device == device) {
            map.remove(id);
            true
        } else {
            false
        }
    }
}
