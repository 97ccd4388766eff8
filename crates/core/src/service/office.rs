//! The back office's accounts and sessions: an officer signs in with a password and then a TOTP code; the
//! session lives in the store; every sign-in, refusal, sign-out and account made is written to the audit log.
//!
//! Checking a password costs an Argon2id hash (19 MiB, tens of milliseconds): at most [`PASSWORD_CHECKS`] run at
//! once, and a login beyond them is told to retry (REQ-0003) instead of queueing — so anonymous clients cannot
//! make the server hold more than that much memory or CPU for passwords.

use super::Service;
use crate::code::random_secret;
use crate::error::{Code, Error, Result};
use crate::office::{
    self, check_new_password, hash_password, password_matches, refused, secret_id, totp_accepts, AuditEntry,
    OfficeRole, OfficeSession, Officer,
};
use crate::ports::{CpuWork, EntropyRng, OfficeStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Password checks (Argon2id) running at once, at most.
pub const PASSWORD_CHECKS: usize = 2;
/// Audit entries a page shows at most.
pub const AUDIT_PAGE: u32 = 200;
/// Open dossiers the officers' queue reads at most.
pub const OFFICE_QUEUE: u32 = 500;

/// The back office's store, where password checks run, and the count of those running.
pub struct OfficeSettings {
    pub store: Arc<dyn OfficeStore>,
    pub cpu: Arc<dyn CpuWork>,
    checking: AtomicUsize,
}

impl OfficeSettings {
    pub fn new(store: Arc<dyn OfficeStore>, cpu: Arc<dyn CpuWork>) -> Self {
        OfficeSettings {
            store,
            cpu,
            checking: AtomicUsize::new(0),
        }
    }
}

/// A password check's slot, given back when dropped.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn slot(count: &AtomicUsize) -> Result<Slot<'_>> {
    if count.fetch_add(1, Ordering::AcqRel) >= PASSWORD_CHECKS {
        count.fetch_sub(1, Ordering::AcqRel);
        return Err(Error::new(
            Code::Req0003Busy,
            "too many sign-ins at once; try again in a moment",
        ));
    }
    Ok(Slot(count))
}

/// A hash of no one's password, checked when the username is unknown so that the answer takes as long.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let mut rng = rand::rngs::OsRng;
        hash_password("decoy password never used", &mut rng).unwrap_or_default()
    })
}

/// An account to make.
#[derive(Debug, Clone)]
pub struct NewOfficer {
    pub username: String,
    pub full_name: String,
    pub role: OfficeRole,
    pub body: String,
    pub password: String,
}

/// An account made: its second factor's secret, shown once to be added to an authenticator app.
#[derive(Debug, Clone)]
pub struct CreatedOfficer {
    pub username: String,
    pub role: OfficeRole,
    pub body: String,
    /// Base32, as apps take it typed.
    pub totp_secret: String,
    /// `otpauth://totp/…`, as apps take it from a QR.
    pub otpauth: String,
}

/// A passkey's answer to a login's challenge, as the browser gives it (base64url).
#[derive(Debug, Clone, Copy)]
pub struct PasskeyAssertion<'a> {
    pub id: &'a str,
    pub client_data: &'a str,
    pub authenticator_data: &'a str,
    pub signature: &'a str,
}

/// The second factor of a login.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactor<'a> {
    /// The six digits of an authenticator app.
    Code(&'a str),
    Passkey(PasskeyAssertion<'a>),
}

/// A signed-in officer.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: OfficeSession,
    pub officer: Officer,
}

impl SignedIn {
    /// Refuses a role that may not do this (OFF-0004).
    pub fn require(&self, allowed: impl Fn(OfficeRole) -> bool) -> Result<()> {
        if allowed(self.officer.role) {
            Ok(())
        } else {
            Err(Error::new(
                Code::Off0004NotAllowed,
                format!(
                    "an account of role {} may not do this",
                    self.officer.role.as_str()
                ),
            ))
        }
    }

    /// Checks a form's CSRF token against the session's (OFF-0003 otherwise).
    pub fn check_csrf(&self, token: &str) -> Result<()> {
        use subtle::ConstantTimeEq;
        if bool::from(token.as_bytes().ct_eq(self.session.csrf.as_bytes())) && !token.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                Code::Off0003NotSignedIn,
                "the form did not come from this session's page (CSRF token missing or wrong)",
            ))
        }
    }
}

fn not_signed_in() -> Error {
    Error::new(Code::Off0003NotSignedIn, "not signed in, or the session ended")
}

impl Service {
    /// The same service with a back office, its password checks run by `cpu`.
    pub fn with_office(mut self, store: Arc<dyn OfficeStore>, cpu: Arc<dyn CpuWork>) -> Self {
        self.office = Some(Arc::new(OfficeSettings::new(store, cpu)));
        self
    }

    pub(super) fn office(&self) -> Result<&Arc<OfficeSettings>> {
        self.office.as_ref().ok_or_else(|| {
            Error::new(
                Code::Sys0003Internal,
                "the back office is not set up on this service",
            )
        })
    }

    /// Writes an audit entry; a failure to write it fails the caller's action.
    pub async fn audit(&self, actor: &str, action: &str, target: &str, from: &str) -> Result<AuditEntry> {
        let now = self.clock.now();
        Ok(self
            .office()?
            .store
            .append_audit(now, actor, action, target, from)
            .await?)
    }

    /// Makes an account (by `actor`: an administrator's username, or `cli`): its password hashed, a new TOTP
    /// secret. The secret is given back once, to be added to the officer's authenticator app.
    pub async fn create_officer(&self, actor: &str, from: &str, n: NewOfficer) -> Result<CreatedOfficer> {
        let settings = self.office()?;
        let username = office::username(&n.username)?;
        check_new_password(&n.password)?;
        let full_name = n.full_name.trim();
        let body = n.body.trim();
        for (what, v) in [("full name", full_name), ("body", body)] {
            if v.is_empty() || v.chars().count() > 200 || v.chars().any(char::is_control) {
                return Err(Error::new(
                    Code::Iss0005InvalidField,
                    format!("the {what} is required, at most 200 characters"),
                ));
            }
        }
        let mut rng = EntropyRng(self.entropy.as_ref());
        let mut secret = vec![0u8; 20];
        rand::RngCore::fill_bytes(&mut rng, &mut secret);
        let password_hash = {
            let _slot = slot(&settings.checking)?;
            hash_password(&n.password, &mut rng)?
        };
        let now = self.clock.now();
        let officer = Officer {
            username: username.clone(),
            full_name: full_name.to_string(),
            role: n.role,
            body: body.to_string(),
            password_hash,
            totp_secret: secret.clone(),
            totp_last_step: 0,
            failures: 0,
            locked_until: None,
            created_at: now,
            disabled: false,
        };
        settings
            .store
            .insert_officer(&officer)
            .await
            .map_err(|e| match e {
                crate::ports::StoreError::Conflict(_) => Error::new(
                    Code::Iss0005InvalidField,
                    format!("the username {username} is taken"),
                ),
                other => other.into(),
            })?;
        self.audit(
            actor,
            "officer_created",
            &format!("{username} ({})", n.role.as_str()),
            from,
        )
        .await?;
        Ok(CreatedOfficer {
            otpauth: office::otpauth_uri(&self.settings.issuing_body, &username, &secret),
            totp_secret: office::base32(&secret),
            username,
            role: n.role,
            body: body.to_string(),
        })
    }

    /// The first step of signing in: the password. A pending login's secret (for the browser's cookie) that the
    /// second factor then completes. Wrong username or password: OFF-0001, counted against the account.
    pub async fn office_password(&self, username: &str, password: &str, from: &str) -> Result<String> {
        let settings = self.office()?;
        let name = office::username(username).map_err(|_| refused())?;
        let now = self.clock.now();
        let officer = settings.store.officer(&name).await?;
        if let Some(o) = &officer {
            if let Err(e) = o.may_try(now) {
                self.audit(&name, "login_refused", "locked or disabled", from)
                    .await?;
                return Err(e);
            }
        }
        let good = {
            let _slot = slot(&settings.checking)?;
            let hash = officer.as_ref().map(|o| o.password_hash.clone());
            let password = password.to_string();
            settings
                .cpu
                .check(Box::new(move || match &hash {
                    Some(h) => password_matches(&password, h),
                    None => password_matches(&password, decoy_hash()),
                }))
                .await
                && officer.is_some()
        };
        if !good {
            if officer.is_some() {
                settings
                    .store
                    .login_failed(&name, office::MAX_FAILURES, now, now + office::LOCKOUT)
                    .await?;
            }
            self.audit(&name, "login_refused", "password", from).await?;
            return Err(refused());
        }
        let secret = random_secret(&mut EntropyRng(self.entropy.as_ref()), 32);
        settings
            .store
            .insert_office_session(&OfficeSession {
                id: secret_id(&secret),
                username: name,
                csrf: random_secret(&mut EntropyRng(self.entropy.as_ref()), 20),
                created_at: now,
                last_seen: now,
                verified: false,
            })
            .await?;
        Ok(secret)
    }

    /// The second step: a TOTP code or a passkey's assertion, for the pending login `pending`. The pending
    /// login ends once it succeeds or is locked; on success a new session (a new secret: the pending one never
    /// becomes the session) and its secret.
    pub async fn office_second_factor(
        &self,
        pending: &str,
        factor: SecondFactor<'_>,
        from: &str,
    ) -> Result<(String, OfficeSession)> {
        let settings = self.office()?;
        let now = self.clock.now();
        let id = secret_id(pending);
        let Some(p) = settings.store.office_session(&id).await? else {
            return Err(not_signed_in());
        };
        if p.verified || !p.live(now) {
            return Err(not_signed_in());
        }
        let officer = settings
            .store
            .officer(&p.username)
            .await?
            .ok_or_else(not_signed_in)?;
        if let Err(e) = officer.may_try(now) {
            settings.store.delete_office_session(&id).await?;
            self.audit(&officer.username, "login_refused", "locked or disabled", from)
                .await?;
            return Err(e);
        }
        // The attempt is counted before the code is checked: concurrent guesses on one pending login cannot
        // all pass the lock's check before any of them is counted. A good code takes the count back to 0.
        let attempts = settings
            .store
            .login_failed(
                &officer.username,
                office::MAX_FAILURES,
                now,
                now + office::LOCKOUT,
            )
            .await?;
        if attempts > office::MAX_FAILURES {
            settings.store.delete_office_session(&id).await?;
            self.audit(&officer.username, "login_refused", "locked", from)
                .await?;
            return Err(Error::new(
                Code::Off0002Locked,
                "the account is locked after too many failed logins; try again later",
            ));
        }
        let taken = match factor {
            SecondFactor::Code(code) => {
                match totp_accepts(&officer.totp_secret, code, now, officer.totp_last_step) {
                    Some(step) => settings.store.take_totp_step(&officer.username, step).await?,
                    None => false,
                }
            }
            SecondFactor::Passkey(a) => self.passkey_accepts(&officer.username, &p, a).await?,
        };
        if !taken {
            if attempts >= office::MAX_FAILURES {
                settings.store.delete_office_session(&id).await?;
            }
            self.audit(&officer.username, "login_refused", "second factor", from)
                .await?;
            return Err(refused());
        }
        settings.store.delete_office_session(&id).await?;
        settings.store.login_succeeded(&officer.username).await?;
        let secret = random_secret(&mut EntropyRng(self.entropy.as_ref()), 32);
        let session = OfficeSession {
            id: secret_id(&secret),
            username: officer.username.clone(),
            csrf: random_secret(&mut EntropyRng(self.entropy.as_ref()), 20),
            created_at: now,
            last_seen: now,
            verified: true,
        };
        settings.store.insert_office_session(&session).await?;
        self.audit(&officer.username, "login", "", from).await?;
        Ok((secret, session))
    }

    fn relying_party(&self) -> Result<crate::webauthn::RelyingParty> {
        crate::webauthn::RelyingParty::from_base_url(&self.settings.public_base_url).ok_or_else(|| {
            Error::new(
                Code::Sys0003Internal,
                "the public base URL is not an http(s) URL: passkeys cannot be used",
            )
        })
    }

    /// Whether the assertion is a good answer of one of `username`'s passkeys to the pending login's challenge
    /// (its counter moved forward, atomically: a replay is refused).
    async fn passkey_accepts(
        &self,
        username: &str,
        pending: &OfficeSession,
        a: PasskeyAssertion<'_>,
    ) -> Result<bool> {
        let store = &self.office()?.store;
        let keys = store.passkeys_of(username).await?;
        let Some(key) = keys.iter().find(|k| k.id == a.id.trim()) else {
            return Ok(false);
        };
        let challenge = crate::webauthn::challenge(&pending.csrf, "login");
        match crate::webauthn::assert(
            a.client_data,
            a.authenticator_data,
            a.signature,
            &challenge,
            &self.relying_party()?,
            &key.public_key,
            key.sign_count,
        ) {
            Ok(count) => Ok(store.advance_passkey(&key.id, count).await?),
            Err(_) => Ok(false),
        }
    }

    /// What a browser needs to ask for a passkey on the pending login `pending`: the relying party's id, the
    /// challenge and the officer's credential ids (all base64url). OFF-0003 for a login that is not pending.
    pub async fn office_passkey_request(&self, pending: &str) -> Result<(String, String, Vec<String>)> {
        let store = &self.office()?.store;
        let p = store
            .office_session(&secret_id(pending))
            .await?
            .filter(|p| !p.verified && p.live(self.clock.now()))
            .ok_or_else(not_signed_in)?;
        let ids = store
            .passkeys_of(&p.username)
            .await?
            .into_iter()
            .map(|k| k.id)
            .collect();
        Ok((
            self.relying_party()?.id,
            crate::webauthn::b64url(&crate::webauthn::challenge(&p.csrf, "login")),
            ids,
        ))
    }

    /// The signed-in officer's passkeys, and what a browser needs to register another: the relying party's id
    /// and the challenge (base64url).
    pub async fn office_passkeys(
        &self,
        by: &SignedIn,
    ) -> Result<(Vec<crate::office::Passkey>, String, String)> {
        let keys = self.office()?.store.passkeys_of(&by.officer.username).await?;
        Ok((
            keys,
            self.relying_party()?.id,
            crate::webauthn::b64url(&crate::webauthn::challenge(&by.session.csrf, "register")),
        ))
    }

    /// Registers a passkey for the signed-in officer from the browser's answer to the registration challenge;
    /// written to the audit log.
    pub async fn office_add_passkey(
        &self,
        by: &SignedIn,
        client_data: &str,
        attestation: &str,
        label: &str,
        from: &str,
    ) -> Result<()> {
        let label = label.trim();
        if label.chars().count() > 100 || label.chars().any(char::is_control) {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                "the passkey's name: at most 100 characters of text",
            ));
        }
        let challenge = crate::webauthn::challenge(&by.session.csrf, "register");
        let key = crate::webauthn::register(client_data, attestation, &challenge, &self.relying_party()?)?;
        self.office()?
            .store
            .insert_passkey(&crate::office::Passkey {
                id: key.id.clone(),
                username: by.officer.username.clone(),
                public_key: key.public_key,
                sign_count: key.sign_count,
                label: if label.is_empty() {
                    "Khóa truy cập".into()
                } else {
                    label.to_string()
                },
                created_at: self.clock.now(),
            })
            .await?;
        self.audit(&by.officer.username, "passkey_added", &key.id, from)
            .await?;
        Ok(())
    }

    /// The officer the session secret `secret` is signed in as (OFF-0003 when it is unknown, pending, ended,
    /// or the account is disabled); the session's last use moves to now (at most once a minute).
    pub async fn office_session(&self, secret: &str) -> Result<SignedIn> {
        let settings = self.office()?;
        let now = self.clock.now();
        let id = secret_id(secret);
        let session = settings
            .store
            .office_session(&id)
            .await?
            .filter(|s| s.verified && s.live(now))
            .ok_or_else(not_signed_in)?;
        let officer = settings
            .store
            .officer(&session.username)
            .await?
            .filter(|o| !o.disabled)
            .ok_or_else(not_signed_in)?;
        if now - session.last_seen > time::Duration::minutes(1) {
            settings.store.touch_office_session(&id, now).await?;
        }
        Ok(SignedIn { session, officer })
    }

    /// Ends the session `secret` (nothing happens for an unknown one).
    pub async fn office_logout(&self, signed_in: &SignedIn, from: &str) -> Result<()> {
        self.office()?
            .store
            .delete_office_session(&signed_in.session.id)
            .await?;
        self.audit(&signed_in.officer.username, "logout", "", from)
            .await?;
        Ok(())
    }

    /// The audit log after `after`, for the roles that read it (OFF-0004 for an officer).
    pub async fn office_audit(&self, by: &SignedIn, after: u64) -> Result<Vec<AuditEntry>> {
        by.require(OfficeRole::reads_audit)?;
        Ok(self.office()?.store.audit_entries(after, AUDIT_PAGE).await?)
    }

    /// The first steps on which a stored audit log breaks its chain (none: intact), read from the start.
    pub async fn audit_check(&self) -> Result<Option<u64>> {
        let store = &self.office()?.store;
        let mut all = Vec::new();
        loop {
            let page = store.audit_entries(all.len() as u64, 10_000).await?;
            if page.is_empty() {
                break;
            }
            all.extend(page);
        }
        Ok(office::audit_breaks(&all))
    }

    /// An administrator makes an account in their own body (OFF-0004 for the other roles).
    pub async fn office_create_officer(
        &self,
        by: &SignedIn,
        from: &str,
        mut n: NewOfficer,
    ) -> Result<CreatedOfficer> {
        by.require(|r| r == OfficeRole::Administrator)?;
        n.body = by.officer.body.clone();
        self.create_officer(&by.officer.username, from, n).await
    }

    /// The accounts of the administrator's body.
    pub async fn office_officers(&self, by: &SignedIn) -> Result<Vec<Officer>> {
        by.require(|r| r == OfficeRole::Administrator)?;
        Ok(self.office()?.store.officers_of(&by.officer.body).await?)
    }

    /// The API tokens, for an administrator (their last use, expiry, revocation).
    pub async fn office_tokens(&self, by: &SignedIn) -> Result<Vec<crate::model::TokenRecord>> {
        by.require(|r| r == OfficeRole::Administrator)?;
        self.tokens().await
    }

    /// An administrator revokes the API token `id`; written to the audit log.
    pub async fn office_revoke_token(&self, by: &SignedIn, id: &str, from: &str) -> Result<()> {
        by.require(|r| r == OfficeRole::Administrator)?;
        self.revoke_token(id).await?;
        self.audit(&by.officer.username, "token_revoked", id.trim(), from)
            .await?;
        Ok(())
    }

    /// The open dossiers of the officer's body, the nearest due day first, then the oldest received.
    /// For the roles that act (OFF-0004 for an auditor).
    pub async fn office_dossiers(&self, by: &SignedIn) -> Result<Vec<crate::dossier::Dossier>> {
        by.require(OfficeRole::acts)?;
        let store = &self
            .dossiers
            .as_ref()
            .ok_or_else(|| Error::new(Code::Sys0003Internal, "dossiers are not set up on this service"))?
            .store;
        let mut open: Vec<_> = store
            .open_dossiers(OFFICE_QUEUE)
            .await?
            .into_iter()
            .filter(|d| d.body == by.officer.body)
            .collect();
        open.sort_by_key(|a| (a.due, a.received_at));
        Ok(open)
    }

    /// A dossier of the officer's body, whole (OFF-0004 for an auditor; DOS-0001 for another body's).
    pub async fn office_dossier(&self, by: &SignedIn, code: &str) -> Result<super::DossierView> {
        by.require(OfficeRole::acts)?;
        let view = self.dossier_for_staff(code).await?;
        if view.body != by.officer.body {
            return Err(Error::new(
                Code::Dos0001NoSuchDossier,
                "no dossier of this body has this code",
            ));
        }
        Ok(view)
    }

    /// An officer's move on a dossier of their body, in their name; written to the audit log.
    pub async fn office_act(
        &self,
        by: &SignedIn,
        code: &str,
        action: super::OfficerAction,
        from: &str,
    ) -> Result<super::DossierView> {
        let name = match &action {
            super::OfficerAction::Assign { .. } => "dossier_assign",
            super::OfficerAction::RequestDocuments { .. } => "dossier_request_documents",
            super::OfficerAction::AttachResult { .. } => "dossier_attach_result",
            super::OfficerAction::Return => "dossier_return",
            super::OfficerAction::Refuse { .. } => "dossier_refuse",
        };
        self.office_dossier(by, code).await?;
        let view = self.act_on_dossier(&by.officer.username, code, action).await?;
        self.audit(&by.officer.username, name, code, from).await?;
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_checks_beyond_the_bound_are_told_to_retry() {
        let count = AtomicUsize::new(0);
        let a = slot(&count).unwrap();
        let b = slot(&count).unwrap();
        assert_eq!(slot(&count).err().map(|e| e.code), Some(Code::Req0003Busy));
        drop(a);
        let _c = slot(&count).unwrap();
        drop(b);
        assert_eq!(count.load(Ordering::Acquire), 1);
    }
}
