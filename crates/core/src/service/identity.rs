//! Identity sessions at a kiosk: start, bring chip evidence, bring camera frames, poll the app login, end.
//! See [`crate::identity`] for the steps and the bounds. The verifiers block (CPU or the provider's HTTP):
//! an async edge calls these from a blocking thread.
use super::*;
use crate::identity::{
    no_such_session, ChipEvidence, Method, ProvenHolder, Session, SessionView, Sessions, Stage, Turn,
    FACE_ATTEMPTS, SESSION_TTL,
};

/// The device a citizen's browser session stands for: itself.
fn web_device(id: &str) -> String {
    format!("web:{id}")
}

/// Camera frames one face attempt may bring.
pub const MAX_FRAMES: usize = 16;

fn unavailable(what: &str) -> Error {
    Error::new(
        Code::Id0006MethodUnavailable,
        format!("{what} is not offered by this service: use another way, or call an officer"),
    )
}

fn wrong_step(expected: &str, s: &Session) -> Error {
    let at = match s.stage {
        Stage::Chip { .. } => "waits for the chip",
        Stage::Face { .. } => "waits for the face",
        Stage::App { .. } => "waits for the app login",
        Stage::Verified { .. } => "is verified already",
    };
    Error::new(
        Code::Id0005WrongStep,
        format!("this identity session {at}, not for {expected}"),
    )
}

impl Service {
    /// Starts an identity session for the kiosk `device` (its token id): at the chip step with a fresh
    /// nonce, or at the app step with a login the provider started.
    pub fn start_identity(&self, device: &str, method: Method) -> Result<SessionView> {
        self.start_in(&self.sessions, Some(device), method)
    }

    /// Starts a session in `pool` for `device` (none: the session's own, `web:ID`, for a citizen's browser).
    fn start_in(&self, pool: &Sessions, device: Option<&str>, method: Method) -> Result<SessionView> {
        let now = self.clock.now();
        // Full: refused before the provider is asked anything.
        pool.check_room(now)?;
        let stage = match method {
            Method::ChipAndFace => {
                if self.identity.chip.is_none() || self.identity.face.is_none() {
                    return Err(unavailable("identifying with the chip ID card and the face"));
                }
                let mut nonce = [0u8; 8];
                self.entropy.fill(&mut nonce);
                Stage::Chip { nonce }
            }
            Method::App => {
                let app = self
                    .identity
                    .app
                    .as_ref()
                    .ok_or_else(|| unavailable("the national-ID app login"))?;
                let ticket = app.start()?;
                let next_poll = now + ticket.interval;
                Stage::App { ticket, next_poll }
            }
        };
        let id = random_secret(&mut EntropyRng(self.entropy.as_ref()), 16);
        let session = Session {
            device: device.map_or_else(|| web_device(&id), str::to_string),
            started_at: now,
            expires_at: now + SESSION_TTL,
            stage,
        };
        let view = SessionView::of(&id, &session, now);
        pool.insert(id, session, now)?;
        Ok(view)
    }

    /// Where the device's session `id` stands.
    pub fn identity_session(&self, device: &str, id: &str) -> Result<SessionView> {
        let now = self.clock.now();
        let s = self.sessions.get(device, id, now)?;
        Ok(SessionView::of(id, &s, now))
    }

    /// Ends the device's session `id` (the citizen left, or the kiosk timed out).
    pub fn end_identity(&self, device: &str, id: &str) -> Result<()> {
        if self.sessions.remove(device, id) {
            Ok(())
        } else {
            Err(no_such_session())
        }
    }

    /// Checks the chip evidence against the session's nonce; on success the session moves to the face
    /// step with a fresh head-turn challenge. A chip that fails ends the session (its nonce is spent).
    pub fn submit_chip(&self, device: &str, id: &str, evidence: &ChipEvidence) -> Result<SessionView> {
        let now = self.clock.now();
        let s = self.sessions.get(device, id, now)?;
        let Stage::Chip { nonce } = s.stage else {
            return Err(wrong_step("a chip", &s));
        };
        let chip = self
            .identity
            .chip
            .as_ref()
            .ok_or_else(|| unavailable("identifying with the chip ID card"))?;
        let proof = match chip.verify(evidence, &nonce) {
            Ok(p) => p,
            Err(e) => {
                self.sessions.remove(device, id);
                return Err(e);
            }
        };
        let challenge = (0..crate::identity::CHALLENGE_TURNS)
            .map(|_| {
                let mut b = [0u8; 1];
                self.entropy.fill(&mut b);
                if b[0] & 1 == 0 {
                    Turn::Left
                } else {
                    Turn::Right
                }
            })
            .collect();
        let next = Stage::Face {
            holder: proof.holder,
            portrait: proof.portrait,
            challenge,
            attempts_left: FACE_ATTEMPTS,
        };
        let s = self.sessions.advance(
            device,
            id,
            now,
            |st| matches!(st, Stage::Chip { nonce: n } if *n == nonce),
            next,
        )?;
        Ok(SessionView::of(id, &s, now))
    }

    /// Checks camera frames against the session's challenge and chip portrait. A match verifies the
    /// session (and drops the portrait); a miss spends an attempt, and the last one ends the session.
    pub fn submit_face(&self, device: &str, id: &str, frames: &[Vec<u8>]) -> Result<SessionView> {
        let now = self.clock.now();
        let s = self.sessions.get(device, id, now)?;
        let Stage::Face {
            holder,
            portrait,
            challenge,
            attempts_left,
        } = s.stage.clone()
        else {
            return Err(wrong_step("camera frames", &s));
        };
        if frames.is_empty() || frames.len() > MAX_FRAMES {
            return Err(Error::new(
                Code::Req0001Malformed,
                format!("send between 1 and {MAX_FRAMES} camera frames"),
            ));
        }
        let face = self
            .identity
            .face
            .as_ref()
            .ok_or_else(|| unavailable("identifying by face"))?;
        let verdict = face.check(&portrait, frames, &challenge)?;
        let same_stage =
            |st: &Stage| matches!(st, Stage::Face { attempts_left: a, .. } if *a == attempts_left);
        if verdict.live && verdict.matched {
            let s = self.sessions.advance(
                device,
                id,
                now,
                same_stage,
                Stage::Verified {
                    holder,
                    method: Method::ChipAndFace,
                },
            )?;
            return Ok(SessionView::of(id, &s, now));
        }
        let left = attempts_left.saturating_sub(1);
        if left == 0 {
            self.sessions.remove(device, id);
            return Err(Error::new(
                Code::Id0007TooManyAttempts,
                format!(
                    "the face was not confirmed after {FACE_ATTEMPTS} attempts ({}): the session has ended; \
                     use the national-ID app or call an officer",
                    verdict.reason
                ),
            ));
        }
        self.sessions.advance(
            device,
            id,
            now,
            same_stage,
            Stage::Face {
                holder,
                portrait,
                challenge,
                attempts_left: left,
            },
        )?;
        let (code, what) = if verdict.live {
            (Code::Face0006Mismatch, "the face does not match the chip's photo")
        } else {
            (
                Code::Face0005NotLive,
                "the camera did not see a live face follow the turns",
            )
        };
        Err(Error::new(
            code,
            format!("{what} ({}); {left} attempt(s) left", verdict.reason),
        ))
    }

    /// Asks the provider whether the citizen approved the app login; verifies the session when they did.
    /// Polling sooner than the provider's interval answers the session as it is, without asking.
    pub fn poll_app_login(&self, device: &str, id: &str) -> Result<SessionView> {
        self.poll_in(&self.sessions, device, id)
    }

    fn poll_in(&self, pool: &Sessions, device: &str, id: &str) -> Result<SessionView> {
        let now = self.clock.now();
        let s = pool.get(device, id, now)?;
        let Stage::App { ticket, next_poll } = s.stage.clone() else {
            return Err(wrong_step("the app login", &s));
        };
        if now < next_poll {
            return Ok(SessionView::of(id, &s, now));
        }
        let app = self
            .identity
            .app
            .as_ref()
            .ok_or_else(|| unavailable("the national-ID app login"))?;
        let polled = match app.poll(&ticket) {
            Ok(p) => p,
            Err(e) => {
                pool.remove(device, id);
                return Err(e);
            }
        };
        let was = |st: &Stage| matches!(st, Stage::App { next_poll: n, .. } if *n == next_poll);
        let next = match polled {
            Some(holder) => Stage::Verified {
                holder,
                method: Method::App,
            },
            None => Stage::App {
                next_poll: now + ticket.interval,
                ticket,
            },
        };
        let s = pool.advance(device, id, now, was, next)?;
        Ok(SessionView::of(id, &s, now))
    }

    /// A citizen's browser signs in to their wallet with the national-ID app: a session of the web pool
    /// (bounded apart from kiosks', [`crate::identity::WEB_SESSIONS`]), its id the browser's secret.
    pub fn start_web_login(&self) -> Result<SessionView> {
        self.start_in(&self.web_sessions, None, Method::App)
    }

    /// Where the browser's login `id` stands (asking the provider, no faster than it allows).
    pub fn poll_web_login(&self, id: &str) -> Result<SessionView> {
        self.poll_in(&self.web_sessions, &web_device(id), id)
    }

    /// Where the browser's login `id` stands, without asking the provider.
    pub fn web_login(&self, id: &str) -> Result<SessionView> {
        let now = self.clock.now();
        let s = self.web_sessions.get(&web_device(id), id, now)?;
        Ok(SessionView::of(id, &s, now))
    }

    /// Signs the browser out.
    pub fn end_web_login(&self, id: &str) {
        self.web_sessions.remove(&web_device(id), id);
    }

    /// The wallet of the citizen the browser's login `id` proved.
    pub async fn web_wallet(&self, id: &str) -> Result<(ProvenHolder, Vec<WalletEntry>)> {
        let holder = self.web_holder(id)?;
        let entries = self.wallet_of(&holder.id_number).await?;
        Ok((holder, entries))
    }

    /// The citizen a browser's verified app login `id` proved.
    pub fn web_holder(&self, id: &str) -> Result<ProvenHolder> {
        Ok(self.web_identity(id)?.0)
    }

    /// The citizen a browser's verified app login `id` proved, and how.
    pub fn web_identity(&self, id: &str) -> Result<(ProvenHolder, Method)> {
        let now = self.clock.now();
        let s = self.web_sessions.get(&web_device(id), id, now)?;
        match s.stage {
            Stage::Verified { holder, method } => Ok((holder, method)),
            _ => Err(wrong_step("the wallet", &s)),
        }
    }

    /// The holder the device's verified session `id` proved: the only way a kiosk names a holder.
    pub fn verified_holder(&self, device: &str, id: &str) -> Result<ProvenHolder> {
        Ok(self.verified_identity(device, id)?.0)
    }

    /// The holder the device's verified session `id` proved, and how (chip and face, or the app).
    pub fn verified_identity(&self, device: &str, id: &str) -> Result<(ProvenHolder, Method)> {
        let now = self.clock.now();
        let s = self.sessions.get(device, id, now).map_err(|_| {
            Error::new(
                Code::Auth0005IdentityRequired,
                "a kiosk issues only for a citizen it identified: the identity session is unknown, ended or expired",
            )
        })?;
        match s.stage {
            Stage::Verified { holder, method } => Ok((holder, method)),
            _ => Err(Error::new(
                Code::Auth0005IdentityRequired,
                "a kiosk issues only for a citizen it identified: the identity session is not verified",
            )),
        }
    }

    /// The citizen's wallet: the copies issued to the holder the device's verified session `id` proved, newest
    /// first (at most [`WALLET_SIZE`]), each with its verification address and key.
    pub async fn wallet(&self, device: &str, id: &str) -> Result<Vec<WalletEntry>> {
        let holder = self.verified_holder(device, id)?;
        self.wallet_of(&holder.id_number).await
    }

    async fn wallet_of(&self, holder_id: &str) -> Result<Vec<WalletEntry>> {
        let records = self.registry.copies_by_holder(holder_id, WALLET_SIZE).await?;
        records
            .into_iter()
            .map(|r| {
                let code = VerificationCode::parse(&r.code)?;
                Ok(WalletEntry {
                    code: code.display_grouped(),
                    document_type: r.document_type,
                    issued_at: r.issued_at,
                    status: r.status.as_str(),
                    qr_url: self.qr_url(&code),
                })
            })
            .collect()
    }
}

/// Copies a wallet lists at most.
pub const WALLET_SIZE: u32 = 200;

/// A copy in the citizen's wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalletEntry {
    pub code: String,
    pub document_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub status: &'static str,
    /// The verification address with the copy's key (it opens the PDF).
    pub qr_url: String,
}
