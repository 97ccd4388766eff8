//! Identity sessions at a kiosk: start, bring chip evidence, bring camera frames, poll the app login, end.
//! See [`crate::identity`] for the steps, the bounds and how sessions are stored. The verifiers block (CPU
//! or the provider's HTTP): they run on the runtime's blocking threads ([`blocking`]).
use super::*;
use crate::identity::{
    busy, no_such_session, open_stage, seal_stage, session_key, ChipEvidence, Method, Pool, ProvenHolder,
    Session, SessionView, Stage, Turn, FACE_ATTEMPTS, PER_DEVICE, SESSION_TTL,
};
use crate::ports::StoredSession;

/// The device a citizen's browser session stands for: itself.
fn web_device(id: &str) -> String {
    format!("web:{id}")
}

/// Camera frames one face attempt may bring.
pub const MAX_FRAMES: usize = 16;

/// Runs blocking work (a verifier's CPU, or a provider's HTTP) on the runtime's blocking threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("a blocking task failed: {e}")))?
}

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

/// A session as read from the store, with the version a change must still find.
struct Loaded {
    session: Session,
    version: i64,
}

impl Service {
    /// The device's live session `id` of `pool`.
    async fn load_session(&self, pool: Pool, device: &str, id: &str) -> Result<Loaded> {
        let now = self.clock.now();
        let stored = self
            .sessions
            .session(&session_key(id), now)
            .await?
            .filter(|s| s.pool == pool.name() && s.device == device)
            .ok_or_else(no_such_session)?;
        // A stage that does not open was altered in the store, or is not this id's: as good as none.
        let stage = open_stage(id, pool, device, &stored.sealed).ok_or_else(no_such_session)?;
        Ok(Loaded {
            session: Session {
                device: stored.device,
                expires_at: stored.expires_at,
                stage,
            },
            version: stored.version,
        })
    }

    fn seal(&self, id: &str, pool: Pool, device: &str, stage: &Stage) -> String {
        let mut nonce = [0u8; 12];
        self.entropy.fill(&mut nonce);
        seal_stage(id, pool, device, stage, nonce)
    }

    /// Moves the session `was` loaded to `next`, unless a concurrent call (on this node or another) moved it
    /// on meanwhile (`ID-0005`) or it ended (`ID-0004`).
    async fn advance_session(&self, pool: Pool, id: &str, was: Loaded, next: Stage) -> Result<Session> {
        let Loaded { mut session, version } = was;
        let sealed = self.seal(id, pool, &session.device, &next);
        let key = session_key(id);
        let now = self.clock.now();
        if !self
            .sessions
            .advance_session(&key, &session.device, version, &sealed, now)
            .await?
        {
            return Err(match self.sessions.session(&key, now).await? {
                Some(_) => Error::new(Code::Id0005WrongStep, "the identity session moved on meanwhile"),
                None => no_such_session(),
            });
        }
        session.stage = next;
        Ok(session)
    }

    async fn remove_session(&self, device: &str, id: &str) -> Result<bool> {
        Ok(self.sessions.delete_session(&session_key(id), device).await?)
    }

    /// Starts an identity session for the kiosk `device` (its token id): at the chip step with a fresh
    /// nonce, or at the app step with a login the provider started.
    pub async fn start_identity(&self, device: &str, method: Method) -> Result<SessionView> {
        self.start_in(Pool::Kiosk, Some(device), method).await
    }

    /// Starts a session in `pool` for `device` (none: the session's own, `web:ID`, for a citizen's browser).
    async fn start_in(&self, pool: Pool, device: Option<&str>, method: Method) -> Result<SessionView> {
        // Full: refused before the provider is asked anything.
        if self.sessions.live_sessions(pool.name(), self.clock.now()).await? >= u64::from(pool.max()) {
            return Err(busy());
        }
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
                    .clone()
                    .ok_or_else(|| unavailable("the national-ID app login"))?;
                let ticket = blocking(move || app.start()).await?;
                let next_poll = self.clock.now() + ticket.interval;
                Stage::App { ticket, next_poll }
            }
        };
        let now = self.clock.now();
        let id = random_secret(&mut EntropyRng(self.entropy.as_ref()), 16);
        let device = device.map_or_else(|| web_device(&id), str::to_string);
        let session = Session {
            device: device.clone(),
            expires_at: now + SESSION_TTL,
            stage,
        };
        let stored = StoredSession {
            key: session_key(&id),
            pool: pool.name().to_string(),
            sealed: self.seal(&id, pool, &device, &session.stage),
            device,
            started_at: now,
            expires_at: session.expires_at,
            version: 0,
        };
        if !self
            .sessions
            .insert_session(&stored, PER_DEVICE as u32, pool.max(), now)
            .await?
        {
            return Err(busy());
        }
        Ok(SessionView::of(&id, &session, now))
    }

    /// Where the device's session `id` stands.
    pub async fn identity_session(&self, device: &str, id: &str) -> Result<SessionView> {
        let s = self.load_session(Pool::Kiosk, device, id).await?;
        Ok(SessionView::of(id, &s.session, self.clock.now()))
    }

    /// Ends the device's session `id` (the citizen left, or the kiosk timed out).
    pub async fn end_identity(&self, device: &str, id: &str) -> Result<()> {
        if self.remove_session(device, id).await? {
            Ok(())
        } else {
            Err(no_such_session())
        }
    }

    /// Checks the chip evidence against the session's nonce; on success the session moves to the face
    /// step with a fresh head-turn challenge. A chip that fails ends the session (its nonce is spent).
    pub async fn submit_chip(&self, device: &str, id: &str, evidence: ChipEvidence) -> Result<SessionView> {
        let s = self.load_session(Pool::Kiosk, device, id).await?;
        let Stage::Chip { nonce } = s.session.stage else {
            return Err(wrong_step("a chip", &s.session));
        };
        let chip = self
            .identity
            .chip
            .clone()
            .ok_or_else(|| unavailable("identifying with the chip ID card"))?;
        let proof = match blocking(move || chip.verify(&evidence, &nonce)).await {
            Ok(p) => p,
            Err(e) => {
                self.remove_session(device, id).await?;
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
        let s = self.advance_session(Pool::Kiosk, id, s, next).await?;
        Ok(SessionView::of(id, &s, self.clock.now()))
    }

    /// Checks camera frames against the session's challenge and chip portrait. A match verifies the
    /// session (and drops the portrait); a miss spends an attempt, and the last one ends the session.
    pub async fn submit_face(&self, device: &str, id: &str, frames: Vec<Vec<u8>>) -> Result<SessionView> {
        let s = self.load_session(Pool::Kiosk, device, id).await?;
        let Stage::Face {
            holder,
            portrait,
            challenge,
            attempts_left,
        } = s.session.stage.clone()
        else {
            return Err(wrong_step("camera frames", &s.session));
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
            .clone()
            .ok_or_else(|| unavailable("identifying by face"))?;
        let (portrait, challenge, verdict) = blocking(move || {
            let verdict = face.check(&portrait, &frames, &challenge)?;
            Ok((portrait, challenge, verdict))
        })
        .await?;
        if verdict.live && verdict.matched {
            let next = Stage::Verified {
                holder,
                method: Method::ChipAndFace,
            };
            let s = self.advance_session(Pool::Kiosk, id, s, next).await?;
            return Ok(SessionView::of(id, &s, self.clock.now()));
        }
        let left = attempts_left.saturating_sub(1);
        if left == 0 {
            self.remove_session(device, id).await?;
            return Err(Error::new(
                Code::Id0007TooManyAttempts,
                format!(
                    "the face was not confirmed after {FACE_ATTEMPTS} attempts ({}): the session has ended; \
                     use the national-ID app or call an officer",
                    verdict.reason
                ),
            ));
        }
        let next = Stage::Face {
            holder,
            portrait,
            challenge,
            attempts_left: left,
        };
        self.advance_session(Pool::Kiosk, id, s, next).await?;
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
    pub async fn poll_app_login(&self, device: &str, id: &str) -> Result<SessionView> {
        self.poll_in(Pool::Kiosk, device, id).await
    }

    async fn poll_in(&self, pool: Pool, device: &str, id: &str) -> Result<SessionView> {
        let s = self.load_session(pool, device, id).await?;
        let Stage::App { ticket, next_poll } = s.session.stage.clone() else {
            return Err(wrong_step("the app login", &s.session));
        };
        if self.clock.now() < next_poll {
            return Ok(SessionView::of(id, &s.session, self.clock.now()));
        }
        let app = self
            .identity
            .app
            .clone()
            .ok_or_else(|| unavailable("the national-ID app login"))?;
        let (ticket, polled) = match blocking(move || {
            let polled = app.poll(&ticket)?;
            Ok((ticket, polled))
        })
        .await
        {
            Ok(p) => p,
            Err(e) => {
                self.remove_session(device, id).await?;
                return Err(e);
            }
        };
        let next = match polled {
            Some(holder) => Stage::Verified {
                holder,
                method: Method::App,
            },
            None => Stage::App {
                next_poll: self.clock.now() + ticket.interval,
                ticket,
            },
        };
        let s = self.advance_session(pool, id, s, next).await?;
        Ok(SessionView::of(id, &s, self.clock.now()))
    }

    /// A citizen's browser signs in to their wallet with the national-ID app: a session of the web pool
    /// (bounded apart from kiosks', [`crate::identity::WEB_SESSIONS`]), its id the browser's secret.
    pub async fn start_web_login(&self) -> Result<SessionView> {
        self.start_in(Pool::Web, None, Method::App).await
    }

    /// Where the browser's login `id` stands (asking the provider, no faster than it allows).
    pub async fn poll_web_login(&self, id: &str) -> Result<SessionView> {
        self.poll_in(Pool::Web, &web_device(id), id).await
    }

    /// Where the browser's login `id` stands, without asking the provider.
    pub async fn web_login(&self, id: &str) -> Result<SessionView> {
        let s = self.load_session(Pool::Web, &web_device(id), id).await?;
        Ok(SessionView::of(id, &s.session, self.clock.now()))
    }

    /// Signs the browser out.
    pub async fn end_web_login(&self, id: &str) -> Result<()> {
        self.remove_session(&web_device(id), id).await?;
        Ok(())
    }

    /// The wallet of the citizen the browser's login `id` proved.
    pub async fn web_wallet(&self, id: &str) -> Result<(ProvenHolder, Vec<WalletEntry>)> {
        let holder = self.web_holder(id).await?;
        let entries = self.wallet_of(&holder.id_number).await?;
        Ok((holder, entries))
    }

    /// The citizen a browser's verified app login `id` proved.
    pub async fn web_holder(&self, id: &str) -> Result<ProvenHolder> {
        Ok(self.web_identity(id).await?.0)
    }

    /// The citizen a browser's verified app login `id` proved, and how.
    pub async fn web_identity(&self, id: &str) -> Result<(ProvenHolder, Method)> {
        let s = self.load_session(Pool::Web, &web_device(id), id).await?.session;
        match s.stage {
            Stage::Verified { holder, method } => Ok((holder, method)),
            _ => Err(wrong_step("the wallet", &s)),
        }
    }

    /// The holder the device's verified session `id` proved: the only way a kiosk names a holder.
    pub async fn verified_holder(&self, device: &str, id: &str) -> Result<ProvenHolder> {
        Ok(self.verified_identity(device, id).await?.0)
    }

    /// The holder the device's verified session `id` proved, and how (chip and face, or the app).
    pub async fn verified_identity(&self, device: &str, id: &str) -> Result<(ProvenHolder, Method)> {
        let s = match self.load_session(Pool::Kiosk, device, id).await {
            Ok(s) => s.session,
            Err(e) if e.code == Code::Id0004NoSuchSession => {
                return Err(Error::new(
                    Code::Auth0005IdentityRequired,
                    "a kiosk issues only for a citizen it identified: the identity session is unknown, ended or expired",
                ))
            }
            Err(e) => return Err(e),
        };
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
        let holder = self.verified_holder(device, id).await?;
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
