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
//! Sessions are kept in the database every node shares ([`crate::ports::SessionStore`]), so that a kiosk's
//! next call may reach any node, and a node's restart loses none. The store knows a session by a hash of its
//! id ([`session_key`]) and holds its stage sealed under a key derived from the id ([`seal_stage`]): the
//! chip's portrait and the provider's device code are not readable from the database alone. Each change is
//! a compare-and-set on the session's version, so two nodes moving one session at once cannot both win.
//!
//! What an anonymous client can do here: nothing (every call needs a kiosk credential). What a kiosk
//! credential can make the service hold is bounded: [`MAX_SESSIONS`] sessions in all, [`PER_DEVICE`] per
//! device (a new one ends the device's oldest), each for [`SESSION_TTL`] at most, and a face step is tried
//! [`FACE_ATTEMPTS`] times before the session fails. Citizens' browsers have a pool of their own
//! ([`WEB_SESSIONS`]).

use crate::error::{Code, Error, Result};
use base64::Engine as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Where a session stands (kept sealed in the store: [`seal_stage`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// The pools sessions are kept in, each bounded on its own so that anonymous visitors' browsers cannot crowd
/// kiosks out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    /// Kiosks' sessions ([`MAX_SESSIONS`]).
    Kiosk,
    /// Citizens' browsers signed in to their wallet ([`WEB_SESSIONS`]).
    Web,
}

impl Pool {
    pub fn name(self) -> &'static str {
        match self {
            Pool::Kiosk => "kiosk",
            Pool::Web => "web",
        }
    }

    pub fn max(self) -> u32 {
        match self {
            Pool::Kiosk => MAX_SESSIONS as u32,
            Pool::Web => WEB_SESSIONS as u32,
        }
    }
}

pub(crate) fn busy() -> Error {
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

/// A session's id is a secret (the kiosk or the browser holds it); the store knows a session only by this
/// SHA-256 of it, so that whoever reads the store cannot act as a kiosk's citizen.
pub(crate) fn session_key(id: &str) -> String {
    hex::encode(Sha256::digest(
        [b"banso identity session\0id\0".as_slice(), id.as_bytes()].concat(),
    ))
}

/// The key a session's stage is sealed under: derived from the id, which the store never sees, so the
/// portrait and the provider's device code in a stored stage are readable only by a node the id is
/// brought to.
fn stage_key(id: &str) -> LessSafeKey {
    let key = Sha256::digest([b"banso identity session\0key\0".as_slice(), id.as_bytes()].concat());
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &key).expect("a 32-byte ChaCha20-Poly1305 key"))
}

/// What a sealed stage is bound to besides its id: the pool and the device it belongs to, so that a stored
/// stage cannot be moved to another row.
fn stage_aad(pool: Pool, device: &str) -> String {
    format!("{}\0{device}", pool.name())
}

/// The stage sealed for the store (ChaCha20-Poly1305 under [`stage_key`], `nonce` fresh for each write):
/// base64 of nonce ‖ ciphertext ‖ tag.
pub(crate) fn seal_stage(
    id: &str,
    pool: Pool,
    device: &str,
    stage: &Stage,
    nonce: [u8; NONCE_LEN],
) -> String {
    let mut bytes = serde_json::to_vec(stage).expect("a stage is plain data");
    stage_key(id)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(stage_aad(pool, device)),
            &mut bytes,
        )
        .expect("a stage is far below ChaCha20-Poly1305's limit");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&bytes);
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// The stage a sealed text holds, when it opens under the id's key for this pool and device (none: altered,
/// or not this session's).
pub(crate) fn open_stage(id: &str, pool: Pool, device: &str, sealed: &str) -> Option<Stage> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, rest) = bytes.split_at(NONCE_LEN);
    let mut rest = rest.to_vec();
    let plain = stage_key(id)
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).ok()?,
            Aad::from(stage_aad(pool, device)),
            &mut rest,
        )
        .ok()?;
    serde_json::from_slice(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Stage {
        Stage::Face {
            holder: ProvenHolder {
                id_number: "001090000001".into(),
                full_name: "Nguyễn Văn An".into(),
                birth_date: None,
                assurance: "high".into(),
            },
            portrait: vec![0xFF, 0xD8, 1, 2, 3],
            challenge: vec![Turn::Left, Turn::Right],
            attempts_left: 2,
        }
    }

    #[test]
    fn a_sealed_stage_opens_only_with_its_id_pool_and_device() {
        let sealed = seal_stage("secret-id", Pool::Kiosk, "kiosk-1", &face(), [7; NONCE_LEN]);
        let Some(Stage::Face {
            portrait,
            attempts_left,
            ..
        }) = open_stage("secret-id", Pool::Kiosk, "kiosk-1", &sealed)
        else {
            panic!("the stage did not open");
        };
        assert_eq!((portrait, attempts_left), (vec![0xFF, 0xD8, 1, 2, 3], 2));
        // Nothing of the portrait or the name is in the stored text.
        assert!(!sealed.contains("Nguy"));
        assert!(open_stage("other-id", Pool::Kiosk, "kiosk-1", &sealed).is_none());
        assert!(open_stage("secret-id", Pool::Kiosk, "kiosk-2", &sealed).is_none());
        assert!(open_stage("secret-id", Pool::Web, "kiosk-1", &sealed).is_none());
        // One flipped bit anywhere is refused.
        let mut raw = base64::engine::general_purpose::STANDARD.decode(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let flipped = base64::engine::general_purpose::STANDARD.encode(raw);
        assert!(open_stage("secret-id", Pool::Kiosk, "kiosk-1", &flipped).is_none());
        assert!(open_stage("secret-id", Pool::Kiosk, "kiosk-1", "not base64!").is_none());
        // The store's key of a session is not its id, nor the stage's key.
        assert_ne!(session_key("secret-id"), "secret-id");
        assert_eq!(session_key("secret-id").len(), 64);
    }
}
