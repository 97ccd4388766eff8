//! The back office's people: officer accounts (a password and a second factor), their roles in an issuing
//! body, their sessions, and the audit log of what each did.
//!
//! Passwords are kept as Argon2id hashes (PHC strings). The second factor is a time-based one-time password
//! (RFC 6238: HMAC-SHA1, 30-second steps, six digits), taken once per step: a code seen once is not taken
//! again. After [`MAX_FAILURES`] wrong passwords or codes in a row an account locks for [`LOCKOUT`]. Sessions
//! are random 256-bit secrets of which only the SHA-256 is stored, with idle and absolute timeouts and a CSRF
//! token of their own. Every officer's action is appended to the audit log, each entry's hash covering the
//! one before it.

use crate::error::{Code, Error, Result};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Wrong passwords or second-factor codes in a row before an account locks.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: time::Duration = time::Duration::minutes(15);
/// A session ends after this long without a request…
pub const IDLE: time::Duration = time::Duration::minutes(30);
/// …and this long after it began, whatever its use.
pub const ABSOLUTE: time::Duration = time::Duration::hours(10);
/// How long a password accepted waits for its second factor.
pub const SECOND_FACTOR_WITHIN: time::Duration = time::Duration::minutes(5);
/// The shortest password an account takes.
pub const MIN_PASSWORD: usize = 12;
/// TOTP's time step, in seconds.
pub const TOTP_STEP: i64 = 30;

/// What an officer may do, within the body the account belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfficeRole {
    /// Reviews flagged requests and handles dossiers.
    Officer,
    /// An officer who also sees the dashboards and the audit log.
    Supervisor,
    /// Makes accounts and devices; sees the audit log.
    Administrator,
    /// Reads the audit log and acts on nothing.
    Auditor,
}

impl OfficeRole {
    pub const ALL: [OfficeRole; 4] = [
        OfficeRole::Officer,
        OfficeRole::Supervisor,
        OfficeRole::Administrator,
        OfficeRole::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OfficeRole::Officer => "officer",
            OfficeRole::Supervisor => "supervisor",
            OfficeRole::Administrator => "administrator",
            OfficeRole::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role as the screens name it.
    pub fn label_vi(self) -> &'static str {
        match self {
            OfficeRole::Officer => "Cán bộ",
            OfficeRole::Supervisor => "Lãnh đạo bộ phận",
            OfficeRole::Administrator => "Quản trị hệ thống",
            OfficeRole::Auditor => "Kiểm tra, giám sát",
        }
    }

    /// Acts on requests and dossiers (the auditor only reads).
    pub fn acts(self) -> bool {
        self != OfficeRole::Auditor
    }

    /// Reads the audit log.
    pub fn reads_audit(self) -> bool {
        self != OfficeRole::Officer
    }
}

/// An officer's account as stored. Its `Debug` leaves out the password hash and the TOTP secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Officer {
    /// Lower-case ASCII letters, digits, `.`, `_`, `-`; 3–32 of them.
    pub username: String,
    pub full_name: String,
    pub role: OfficeRole,
    /// The issuing body the account belongs to.
    pub body: String,
    /// Argon2id, as a PHC string.
    pub password_hash: String,
    /// The TOTP secret (20 random bytes).
    pub totp_secret: Vec<u8>,
    /// The last TOTP step taken: a code of that step or an earlier one is not taken again.
    pub totp_last_step: i64,
    /// Wrong passwords or codes since the last good login.
    pub failures: u32,
    pub locked_until: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub disabled: bool,
}

impl std::fmt::Debug for Officer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Officer")
            .field("username", &self.username)
            .field("role", &self.role)
            .field("body", &self.body)
            .field("totp_last_step", &self.totp_last_step)
            .field("failures", &self.failures)
            .field("locked_until", &self.locked_until)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl Officer {
    /// Refuses a login while the account is disabled or locked.
    pub fn may_try(&self, now: OffsetDateTime) -> Result<()> {
        if self.disabled {
            return Err(refused());
        }
        match self.locked_until {
            Some(until) if now < until => Err(Error::new(
                Code::Off0002Locked,
                format!(
                    "the account is locked after {MAX_FAILURES} failed logins; try again after {} minutes",
                    LOCKOUT.whole_minutes()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The one answer to a wrong username, password or code: which one was wrong is not said.
pub fn refused() -> Error {
    Error::new(
        Code::Off0001LoginRefused,
        "the username, password or code is not right",
    )
}

/// A username an account may take.
pub fn username(raw: &str) -> Result<String> {
    let u = raw.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(u)
    } else {
        Err(Error::new(
            Code::Iss0005InvalidField,
            "a username is 3 to 32 lower-case letters, digits, '.', '_' or '-'",
        ))
    }
}

/// Checks a new password's length (at least [`MIN_PASSWORD`] characters, at most 256 bytes).
pub fn check_new_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD || password.len() > 256 {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("a password has at least {MIN_PASSWORD} characters (and at most 256 bytes)"),
        ));
    }
    Ok(())
}

/// The RFC 6238 code (HMAC-SHA1, six digits) of `secret` at time step `step`.
pub fn totp_at(secret: &[u8], step: i64) -> u32 {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[19] & 0x0f);
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    bin % 1_000_000
}

/// The time step of `at`.
pub fn totp_step(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(TOTP_STEP)
}

/// The step whose code `code` is, if it is the code of the step of `now` or of the step on either side (a
/// clock a little off), and later than `last_step`; the code is compared in constant time.
pub fn totp_accepts(secret: &[u8], code: &str, now: OffsetDateTime, last_step: i64) -> Option<i64> {
    use subtle::ConstantTimeEq;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let here = totp_step(now);
    (here - 1..=here + 1).filter(|s| *s > last_step).find(|s| {
        let want = format!("{:06}", totp_at(secret, *s));
        bool::from(want.as_bytes().ct_eq(code.as_bytes()))
    })
}

/// The base32 (RFC 4648, no padding) of a TOTP secret, as authenticator apps take it.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            out.push(char::from(ALPHABET[((buffer >> (bits - 5)) & 31) as usize]));
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://` address an authenticator app reads (as a QR) to add the account.
pub fn otpauth_uri(issuer: &str, username: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={TOTP_STEP}",
        enc(issuer),
        enc(username),
        base32(secret),
        enc(issuer)
    )
}

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes, one lane) and a random salt.
pub fn hash_password(password: &str, rng: &mut impl rand::RngCore) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("password salt: {e}")))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("password hash: {e}")))
}

/// Whether `password` is the one `phc` was made from.
pub fn password_matches(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The SHA-256 (hex) a session or pending login is stored under; the secret itself goes only to the browser.
pub fn secret_id(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A signed-in officer's session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeSession {
    /// [`secret_id`] of the cookie's secret.
    pub id: String,
    pub username: String,
    /// Sent with every form; a POST without it is refused.
    pub csrf: String,
    pub created_at: OffsetDateTime,
    pub last_seen: OffsetDateTime,
    /// `false` while the password was accepted and the second factor not yet.
    pub verified: bool,
}

impl OfficeSession {
    /// Still valid at `now`: a pending login for [`SECOND_FACTOR_WITHIN`], a session within [`IDLE`] of its
    /// last use and [`ABSOLUTE`] of its start.
    pub fn live(&self, now: OffsetDateTime) -> bool {
        if self.verified {
            now - self.last_seen < IDLE && now - self.created_at < ABSOLUTE
        } else {
            now - self.created_at < SECOND_FACTOR_WITHIN
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Its place in the log, from 1 (given by the store).
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The officer's username (`-` when nobody was signed in, e.g. a refused login).
    pub actor: String,
    /// `login`, `login_refused`, `logout`, `officer_created`, …
    pub action: String,
    /// What it was done to (a username, a copy's code, a dossier's code), or empty.
    pub target: String,
    /// Where from (the client's address as the edge saw it).
    pub from: String,
    /// The previous entry's hash (hex; 64 zeros for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this entry's fields ([`audit_hash`]).
    pub hash: String,
}

/// The hash of an audit entry: SHA-256 of the previous entry's hash and each field, length-prefixed.
pub fn audit_hash(
    prev: &str,
    seq: u64,
    at: OffsetDateTime,
    actor: &str,
    action: &str,
    target: &str,
    from: &str,
) -> String {
    let mut h = Sha256::new();
    let at = at.unix_timestamp_nanos().to_string();
    for part in [prev, &seq.to_string(), &at, actor, action, target, from] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The hash the first entry follows.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Checks a run of entries from the first: every hash right and chained. The first broken entry's seq.
pub fn audit_breaks(entries: &[AuditEntry]) -> Option<u64> {
    let mut prev = AUDIT_GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let want = audit_hash(&prev, e.seq, e.at, &e.actor, &e.action, &e.target, &e.from);
        if e.seq != i as u64 + 1 || e.prev != prev || e.hash != want {
            return Some(e.seq);
        }
        prev = e.hash.clone();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn totp_matches_rfc_6238s_sha1_vectors() {
        // RFC 6238, Appendix B: the SHA-1 secret "12345678901234567890"; its eight-digit codes end in these six.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
            (20_000_000_000, 353_130),
        ] {
            assert_eq!(totp_at(secret, t / TOTP_STEP), code, "T = {t}");
        }
    }

    #[test]
    fn a_code_is_taken_once_and_only_near_its_time() {
        let secret = b"12345678901234567890";
        let now = OffsetDateTime::from_unix_timestamp(1_111_111_109).unwrap();
        let step = totp_step(now);
        let code = format!("{:06}", totp_at(secret, step));
        assert_eq!(totp_accepts(secret, &code, now, 0), Some(step));
        assert_eq!(totp_accepts(secret, &code, now, step), None, "taken already");
        let later = now + time::Duration::seconds(2 * TOTP_STEP);
        assert_eq!(totp_accepts(secret, &code, later, 0), None, "too old");
        let previous = format!("{:06}", totp_at(secret, step - 1));
        assert_eq!(totp_accepts(secret, &previous, now, 0), Some(step - 1));
        assert_eq!(totp_accepts(secret, "12345", now, 0), None);
        assert_eq!(totp_accepts(secret, "abcdef", now, 0), None);
    }

    #[test]
    fn base32_and_the_otpauth_address_are_what_apps_read() {
        // RFC 4648's test vectors, without padding.
        for (raw, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(raw.as_bytes()), enc);
        }
        let uri = otpauth_uri("UBND phường Việt Hưng", "an.nguyen", b"foobar");
        assert!(
            uri.starts_with("otpauth://totp/UBND%20ph%C6%B0%E1%BB%9Dng"),
            "{uri}"
        );
        assert!(uri.contains(":an.nguyen?secret=MZXW6YTBOI&issuer="), "{uri}");
    }

    #[test]
    fn passwords_are_argon2id_and_only_their_own_matches() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let h = hash_password("correct horse battery", &mut rng).unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(password_matches("correct horse battery", &h));
        assert!(!password_matches("correct horse batterY", &h));
        assert!(!password_matches("correct horse battery", "not a hash"));
        assert_ne!(
            h,
            hash_password("correct horse battery", &mut rng).unwrap(),
            "salted"
        );
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough now").is_ok());
    }

    #[test]
    fn usernames_are_plain() {
        assert_eq!(username(" An.Nguyen ").unwrap(), "an.nguyen");
        for bad in ["ab", "an nguyen", "an@x", "nguyễn", &"a".repeat(33)] {
            assert!(username(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sessions_end_idle_or_old_and_a_pending_login_soon() {
        let t0 = time::macros::datetime!(2026-12-03 08:00 UTC);
        let mut s = OfficeSession {
            id: "x".into(),
            username: "an".into(),
            csrf: "c".into(),
            created_at: t0,
            last_seen: t0,
            verified: false,
        };
        assert!(s.live(t0 + time::Duration::minutes(4)));
        assert!(!s.live(t0 + SECOND_FACTOR_WITHIN));
        s.verified = true;
        assert!(s.live(t0 + time::Duration::minutes(29)));
        assert!(!s.live(t0 + IDLE));
        s.last_seen = t0 + time::Duration::hours(9) + time::Duration::minutes(50);
        assert!(s.live(t0 + time::Duration::hours(9) + time::Duration::minutes(55)));
        assert!(!s.live(t0 + ABSOLUTE), "however much it is used");
    }

    #[test]
    fn the_audit_log_is_a_chain_whose_break_is_found() {
        let t0 = time::macros::datetime!(2026-12-03 08:00 UTC);
        let mut entries = Vec::new();
        let mut prev = AUDIT_GENESIS.to_string();
        for (i, action) in ["login", "officer_created", "logout"].iter().enumerate() {
            let seq = i as u64 + 1;
            let hash = audit_hash(&prev, seq, t0, "an", action, "", "127.0.0.1");
            entries.push(AuditEntry {
                seq,
                at: t0,
                actor: "an".into(),
                action: action.to_string(),
                target: String::new(),
                from: "127.0.0.1".into(),
                prev: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        assert_eq!(audit_breaks(&entries), None);
        let mut edited = entries.clone();
        edited[1].action = "nothing".into();
        assert_eq!(audit_breaks(&edited), Some(2));
        let mut dropped = entries.clone();
        dropped.remove(1);
        assert_eq!(audit_breaks(&dropped), Some(3));
    }
}

/// How long an officer's claim on a held request holds before another officer may take it over.
pub const CLAIM_HOLDS: time::Duration = time::Duration::minutes(20);

/// Where a held request stands in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Waiting for an officer (claimed or not).
    Waiting,
    /// Approved: the copies were issued with the officer's signature.
    Approved,
    /// Refused on an Art. 22 ground: a signed notice was issued.
    Refused,
    /// The citizen is asked to scan the original again.
    Rescan,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Waiting => "waiting",
            ReviewState::Approved => "approved",
            ReviewState::Refused => "refused",
            ReviewState::Rescan => "rescan",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ReviewState::Waiting,
            ReviewState::Approved,
            ReviewState::Refused,
            ReviewState::Rescan,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            ReviewState::Waiting => "Chờ xem xét",
            ReviewState::Approved => "Đã chứng thực",
            ReviewState::Refused => "Từ chối chứng thực",
            ReviewState::Rescan => "Yêu cầu quét lại",
        }
    }
}

/// What a held request asked for, kept with its pages so an officer can decide it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldRequest {
    pub holder_id: String,
    pub holder_name: String,
    pub document_type: String,
    pub copies: u32,
    /// Why the intake sent it to an officer.
    pub reason: String,
    /// The page files' object keys, in order.
    pub pages: Vec<String>,
    /// The kiosk (its token id) that sent it, if one did.
    pub device: Option<String>,
    /// How it ended: the refusal's clause of Art. 22 (1–6) and the officer's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ground: Option<(u8, String)>,
    /// The copies issued on approval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<String>,
    /// The signed refusal notice's object key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// A request the intake held for an officer: its intake record's id, its state, who claimed and who decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// The intake record's id (the citizen's receipt code).
    pub id: String,
    pub state: ReviewState,
    pub held_at: OffsetDateTime,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<OffsetDateTime>,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub request: HeldRequest,
    /// The e-mail address the citizen asked its outcome to be sent to.
    pub notify: Option<String>,
}

impl Review {
    /// The officer whose claim holds at `now`, if any.
    pub fn claimant(&self, now: OffsetDateTime) -> Option<&str> {
        match (&self.claimed_by, self.claimed_at) {
            (Some(who), Some(at)) if now < at + CLAIM_HOLDS => Some(who),
            _ => None,
        }
    }
}

/// An officer's passkey (WebAuthn, ES256): the second factor instead of a TOTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The credential id, base64url.
    pub id: String,
    pub username: String,
    /// SEC1, uncompressed.
    pub public_key: Vec<u8>,
    pub sign_count: u32,
    pub label: String,
    pub created_at: OffsetDateTime,
}

/// A kiosk the fleet knows: its API token's id and name, and what its last heartbeat said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub token_id: String,
    pub name: String,
    pub enrolled_at: OffsetDateTime,
    pub last_seen: Option<OffsetDateTime>,
    /// The last heartbeat's body (JSON: each peripheral's state), `{}` before the first.
    pub state: String,
}
