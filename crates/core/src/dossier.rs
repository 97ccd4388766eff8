//! Dossiers (hồ sơ): a citizen's submission of an administrative procedure, from its receipt to the result
//! returned, or its refusal.
//!
//! A dossier moves through a small state machine the service drives ([`Status::allows`]); every move is an
//! [`Event`] in its timeline, written in the same transaction as the dossier's new state and the deliveries it
//! owes (webhooks to other agencies' systems, e-mails to the citizen), so that nothing is told that did not
//! happen and nothing that happened goes untold. Two officers acting at once cannot both move it: a change is
//! written only over the version it was read at.
//!
//! The dossier code (printed on the appointment slip, `{body}-{yymmdd}-{NNNN}` in the one-stop convention) is
//! public: anyone who has it learns the minimal status. The timeline, the form and the documents need the
//! dossier's **lookup code** as well, a short secret printed on the slip and in its QR; only its HMAC is stored.

use crate::error::{Code, Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

/// Where a dossier stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Submitted and received; no officer has taken it yet.
    Received,
    /// An officer handles it.
    InProcessing,
    /// The officer asked the citizen for more documents; the dossier waits for them.
    MoreDocumentsRequested,
    /// The result is attached (in the citizen's wallet) and waits to be returned.
    ResultReady,
    /// The result was returned to the citizen: the dossier is closed.
    Returned,
    /// Refused, with a written reason: the dossier is closed.
    Refused,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Received,
        Status::InProcessing,
        Status::MoreDocumentsRequested,
        Status::ResultReady,
        Status::Returned,
        Status::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::InProcessing => "in_processing",
            Status::MoreDocumentsRequested => "more_documents_requested",
            Status::ResultReady => "result_ready",
            Status::Returned => "returned",
            Status::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// As a citizen reads it (Vietnamese).
    pub fn label_vi(self) -> &'static str {
        match self {
            Status::Received => "Đã tiếp nhận",
            Status::InProcessing => "Đang giải quyết",
            Status::MoreDocumentsRequested => "Cần bổ sung giấy tờ",
            Status::ResultReady => "Đã có kết quả",
            Status::Returned => "Đã trả kết quả",
            Status::Refused => "Từ chối giải quyết",
        }
    }

    /// As a citizen reads it (English).
    pub fn label_en(self) -> &'static str {
        match self {
            Status::Received => "Received",
            Status::InProcessing => "In processing",
            Status::MoreDocumentsRequested => "More documents requested",
            Status::ResultReady => "Result ready",
            Status::Returned => "Result returned",
            Status::Refused => "Refused",
        }
    }

    /// Closed dossiers move no more.
    pub fn closed(self) -> bool {
        matches!(self, Status::Returned | Status::Refused)
    }

    /// Whether `action` may be taken on a dossier at this status, and the status it leads to.
    pub fn allows(self, action: Action) -> Option<Status> {
        use Status::*;
        match (self, action) {
            (Received | InProcessing, Action::Assign) => Some(InProcessing),
            (InProcessing, Action::RequestDocuments) => Some(MoreDocumentsRequested),
            (MoreDocumentsRequested, Action::AddDocuments) => Some(InProcessing),
            (InProcessing, Action::AttachResult) => Some(ResultReady),
            (ResultReady, Action::Return) => Some(Returned),
            (Received | InProcessing | MoreDocumentsRequested, Action::Refuse) => Some(Refused),
            _ => None,
        }
    }
}

/// What an officer or the citizen does to a dossier after its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An officer takes the dossier (or hands it to another).
    Assign,
    /// The officer asks for more documents.
    RequestDocuments,
    /// The citizen adds the documents asked for.
    AddDocuments,
    /// The officer attaches the signed result.
    AttachResult,
    /// The result is returned to the citizen.
    Return,
    /// The officer refuses the dossier with a reason.
    Refuse,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Assign => "assign",
            Action::RequestDocuments => "request_documents",
            Action::AddDocuments => "add_documents",
            Action::AttachResult => "attach_result",
            Action::Return => "return",
            Action::Refuse => "refuse",
        }
    }
}

/// One attached document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The procedure's document key it answers (e.g. `birth_certificate`).
    pub document: String,
    /// Where it came from.
    pub source: AttachmentSource,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// Where an attached document came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttachmentSource {
    /// A certified copy from the citizen's wallet (issued by this service to this holder), by its code.
    Wallet { copy: String },
    /// Pages scanned at the kiosk (or uploaded on the web), kept as objects, with what the intake made of them.
    Scan {
        objects: Vec<String>,
        pages: u32,
        /// The intake's decision (`auto_issue`, `officer_review`, `refuse`) and its reason: for the officer.
        intake_decision: String,
        intake_reason: String,
        intake_id: String,
    },
}

/// A dossier as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dossier {
    pub code: String,
    /// HMAC of the lookup code (hex); the code itself is shown once, on the slip.
    pub lookup_mac: String,
    /// The procedure's id in the catalogue (its usage is counted by it), and its national code (else the id).
    pub procedure: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub body: String,
    pub holder_id: String,
    pub holder_name: String,
    /// How the holder was proven (`chip_and_face`, `app`).
    pub identified_by: String,
    /// The kiosk (its token id) or `web`.
    pub channel: String,
    pub email: Option<String>,
    /// The form as validated, by field key.
    pub form: BTreeMap<String, String>,
    /// The fields filled from the verified identity (locked on the screen).
    pub prefilled: Vec<String>,
    pub attachments: Vec<Attachment>,
    /// Documents the officer asked for and not yet added.
    pub requested: Vec<String>,
    pub status: Status,
    pub officer: Option<String>,
    pub fee_vnd: u64,
    /// The payment the fee was paid with at the kiosk (the gateway confirmed it); none when the fee is free,
    /// set by the province, or paid at the office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_paid: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The appointment day: the result is due by then (working days from the receipt).
    pub due: Date,
    /// The signed appointment slip's object.
    pub slip_object: Option<String>,
    /// The signed result's object, once attached.
    pub result_object: Option<String>,
    /// Why it was refused.
    pub refusal: Option<String>,
    /// Bumped by every change: a change is written only over the version it read.
    pub version: u64,
    /// The submission's idempotency key (`{kiosk}:{key}`), unique among dossiers: the store refuses a second
    /// dossier with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// The longest idempotency key a submission may carry.
pub const MAX_KEY_LEN: usize = 128;

/// A submission's idempotency key, scoped to the channel (the kiosk's credential) that sent it: letters,
/// digits and `-_.:` only, at most [`MAX_KEY_LEN`].
pub fn submission_key(channel: &str, key: &str) -> Result<String> {
    let fits = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    if key.len() > MAX_KEY_LEN || !key.chars().all(fits) {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("the Idempotency-Key is at most {MAX_KEY_LEN} letters, digits and -_.:"),
        ));
    }
    Ok(format!("{channel}:{key}"))
}

/// One step of a dossier's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Global order of events (assigned by the store; 0 until stored).
    pub seq: u64,
    pub dossier: String,
    /// `received`, or an [`Action`]'s name.
    pub kind: String,
    /// The status after it.
    pub status: Status,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who: an officer's token id, `citizen`, a kiosk's token id.
    pub actor: String,
    /// What the citizen is told (the documents asked for, the refusal's reason, …).
    pub note: String,
}

/// A delivery owed because of an event: a webhook to a subscriber or an e-mail to the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The delivery's id: the webhook's `webhook-id` (the same on every retry, so receivers can drop repeats).
    pub id: String,
    /// `webhook:<url>` or `mail:<address>`.
    pub target: String,
    /// The body to send (the webhook's JSON; the e-mail's text).
    pub body: String,
    pub attempts: u32,
    pub next_at: OffsetDateTime,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A citizen's rating of one step of a dossier (the service at receipt, or the result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub dossier: String,
    /// `service` (the receipt) or `result`.
    pub step: String,
    pub level: Satisfaction,
    pub reasons: Vec<String>,
    pub comment: String,
    /// The officer who handled the dossier then, if any.
    pub officer: Option<String>,
    pub procedure: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The three levels of the satisfaction survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Satisfaction {
    VerySatisfied,
    Satisfied,
    NotSatisfied,
}

impl Satisfaction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "very_satisfied" => Some(Self::VerySatisfied),
            "satisfied" => Some(Self::Satisfied),
            "not_satisfied" => Some(Self::NotSatisfied),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerySatisfied => "very_satisfied",
            Self::Satisfied => "satisfied",
            Self::NotSatisfied => "not_satisfied",
        }
    }
}

/// The steps a citizen rates.
pub const RATING_STEPS: [&str; 2] = ["service", "result"];
/// Reasons a rating may give, at most this many, and a comment of at most this many characters.
pub const MAX_REASONS: usize = 8;
pub const MAX_COMMENT: usize = 1000;

/// The lookup code's alphabet: digits and capitals without look-alikes (no 0/O, 1/I/L), easy to type on a
/// keypad-and-letters screen.
const LOOKUP_ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTUVWXY";
/// Symbols in a lookup code: 30^8 ≈ 6.6·10^11 (≈ 39 bits) for one dossier, whose code must be known too.
pub const LOOKUP_LEN: usize = 8;

/// A fresh lookup code from `rng`, grouped `XXXX-XXXX` for reading.
pub fn new_lookup_code(rng: &mut dyn rand::RngCore) -> String {
    let mut out = String::with_capacity(LOOKUP_LEN + 1);
    for i in 0..LOOKUP_LEN {
        if i == LOOKUP_LEN / 2 {
            out.push('-');
        }
        // Rejection sampling: no bias toward the alphabet's first symbols.
        let c = loop {
            let b = (rng.next_u32() & 0xff) as usize;
            if b < 240 {
                break LOOKUP_ALPHABET[b % 30];
            }
        };
        out.push(c as char);
    }
    out
}

/// A lookup code as typed, normalised (case, spaces and dashes dropped); `None` when it cannot be one.
pub fn normalise_lookup(typed: &str) -> Option<String> {
    let s: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (s.len() == LOOKUP_LEN && s.bytes().all(|b| LOOKUP_ALPHABET.contains(&b))).then_some(s)
}

/// The stored MAC of a (normalised) lookup code for `dossier`.
pub fn lookup_mac(secret: &[u8], dossier: &str, normalised: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(b"banso dossier lookup\0");
    mac.update(dossier.as_bytes());
    mac.update(b"\0");
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `typed` is the lookup code of `dossier` (compared in constant time).
pub fn lookup_matches(secret: &[u8], dossier: &Dossier, typed: &str) -> Result<()> {
    use subtle::ConstantTimeEq;
    let wrong = || {
        Error::new(
            Code::Dos0002BadLookupCode,
            "the lookup code does not match this dossier",
        )
    };
    let normalised = normalise_lookup(typed).ok_or_else(wrong)?;
    let mac = lookup_mac(secret, &dossier.code, &normalised);
    if bool::from(mac.as_bytes().ct_eq(dossier.lookup_mac.as_bytes())) {
        Ok(())
    } else {
        Err(wrong())
    }
}

/// The dossier code's prefix for a receipt at `at` (its local day in Việt Nam) by `body_code`.
pub fn code_prefix(body_code: &str, at: OffsetDateTime) -> String {
    let local = at.to_offset(crate::rules::VIETNAM);
    format!(
        "{body_code}-{:02}{:02}{:02}-",
        local.year().rem_euclid(100),
        u8::from(local.month()),
        local.day()
    )
}

/// Standard Webhooks signatures (<https://www.standardwebhooks.com/>): `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under the secret (given as `whsec_` and its base64 bytes).
pub mod webhook {
    use super::*;
    use base64::Engine;
    use hmac::{Hmac, Mac};

    /// How far a webhook's timestamp may be from the receiver's clock.
    pub const TOLERANCE_SECS: i64 = 300;

    /// The key bytes of a `whsec_…` secret.
    pub fn secret_bytes(secret: &str) -> Result<Vec<u8>> {
        let b64 = secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim());
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .filter(|k| k.len() >= 16)
            .ok_or_else(|| {
                Error::new(
                    Code::Hook0001BadSignature,
                    "a webhook secret is whsec_ and at least 16 bytes in base64",
                )
            })
    }

    /// The `webhook-signature` header's value for one message.
    pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    /// Checks a received webhook: the signature header (space-separated `v1,…` values; one must match) over
    /// the id, timestamp and body, and the timestamp within [`TOLERANCE_SECS`] of `now`. Replays of a fresh
    /// message are the receiver's to drop by its id.
    pub fn verify(
        key: &[u8],
        id: &str,
        timestamp: &str,
        signatures: &str,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<()> {
        use subtle::ConstantTimeEq;
        let bad = |m: &str| Error::new(Code::Hook0001BadSignature, m.to_string());
        if id.is_empty() || id.len() > 256 {
            return Err(bad("the webhook-id header is missing or too long"));
        }
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| bad("the webhook-timestamp header is not a number of seconds"))?;
        let expected = sign(key, id, ts, body);
        let matched = signatures
            .split_whitespace()
            .filter(|s| s.starts_with("v1,"))
            .any(|s| bool::from(s.as_bytes().ct_eq(expected.as_bytes())));
        if !matched {
            return Err(bad("no webhook signature matches the message"));
        }
        if (now.unix_timestamp() - ts).abs() > TOLERANCE_SECS {
            return Err(Error::new(
                Code::Hook0002Replayed,
                "the webhook's timestamp is outside the tolerance: a replay, or a clock far off",
            ));
        }
        Ok(())
    }
}

/// Wrong lookup codes tried on a dossier before its lookup closes for [`LOOKUP_WINDOW`].
pub const MAX_WRONG_LOOKUPS: u32 = 10;
/// How long a dossier's wrong lookup codes are counted, and its lookup stays closed after too many.
pub const LOOKUP_WINDOW: time::Duration = time::Duration::minutes(15);
/// Refuses a lookup once [`MAX_WRONG_LOOKUPS`] wrong codes were counted on the dossier within [`LOOKUP_WINDOW`]
/// of the first: every lookup of it — the right code too, or the answer would tell a guesser when it is right — is
/// refused (DOS-0005) until the window has passed, so the ≈39-bit code cannot be guessed online. The count is the
/// dossier's row's, so a guesser spreading tries over several nodes gets no more. The citizen still sees the
/// dossier through an identity (the kiosk's verified session, the wallet page).
pub fn lookup_closed(wrong: u32) -> Result<()> {
    if wrong >= MAX_WRONG_LOOKUPS {
        return Err(Error::new(
            Code::Dos0005TooManyGuesses,
            format!(
                "too many wrong lookup codes were tried on this dossier: try again after {} minutes",
                LOOKUP_WINDOW.whole_minutes()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_state_machine_moves_only_along_its_edges() {
        use Action::*;
        use Status::*;
        assert_eq!(Received.allows(Assign), Some(InProcessing));
        assert_eq!(
            InProcessing.allows(RequestDocuments),
            Some(MoreDocumentsRequested)
        );
        assert_eq!(MoreDocumentsRequested.allows(AddDocuments), Some(InProcessing));
        assert_eq!(InProcessing.allows(AttachResult), Some(ResultReady));
        assert_eq!(ResultReady.allows(Return), Some(Returned));
        assert_eq!(Received.allows(AddDocuments), None, "nothing was asked for");
        assert_eq!(Received.allows(AttachResult), None, "no officer has it");
        assert_eq!(ResultReady.allows(Refuse), None, "a result is out");
        for closed in [Returned, Refused] {
            assert!(closed.closed());
            for a in [
                Assign,
                RequestDocuments,
                AddDocuments,
                AttachResult,
                Return,
                Refuse,
            ] {
                assert_eq!(closed.allows(a), None, "{closed:?} {a:?}");
            }
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn lookup_codes_read_back_typed_any_way_and_only_their_own_dossier_opens() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let code = new_lookup_code(&mut rng);
        assert_eq!(code.len(), LOOKUP_LEN + 1);
        assert_eq!(&code[4..5], "-");
        let typed = code.to_lowercase().replace('-', " ");
        let n = normalise_lookup(&typed).unwrap();
        let mut d = sample();
        d.lookup_mac = lookup_mac(b"secret", &d.code, &n);
        assert!(lookup_matches(b"secret", &d, &typed).is_ok());
        assert_eq!(
            lookup_matches(b"secret", &d, "2222-2222").unwrap_err().code,
            Code::Dos0002BadLookupCode
        );
        assert_eq!(
            lookup_matches(b"secret", &d, "not a code at all")
                .unwrap_err()
                .code,
            Code::Dos0002BadLookupCode
        );
        // The same code for another dossier does not open this one's MAC.
        assert_ne!(lookup_mac(b"secret", "OTHER", &n), d.lookup_mac);
        // No look-alike symbols.
        for _ in 0..200 {
            let c = new_lookup_code(&mut rng);
            assert!(!c.contains(['0', 'O', '1', 'I', 'L']), "{c}");
        }
    }

    #[test]
    fn the_code_prefix_is_the_local_day() {
        let at = time::macros::datetime!(2026-03-31 18:30 UTC);
        assert_eq!(code_prefix("UBND-VH", at), "UBND-VH-260401-");
    }

    #[test]
    fn a_webhook_verifies_and_a_tampered_or_stale_one_is_refused() {
        let key = webhook::secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let now = time::macros::datetime!(2026-12-03 10:00 UTC);
        let ts = now.unix_timestamp();
        let body = br#"{"type":"dossier.received"}"#;
        let sig = webhook::sign(&key, "msg_1", ts, body);
        assert!(sig.starts_with("v1,"));
        let ok = webhook::verify(
            &key,
            "msg_1",
            &ts.to_string(),
            &format!("v1,bogus {sig}"),
            body,
            now,
        );
        assert!(ok.is_ok(), "{ok:?}");
        let tampered = webhook::verify(
            &key,
            "msg_1",
            &ts.to_string(),
            &sig,
            br#"{"type":"dossier.refused"}"#,
            now,
        );
        assert_eq!(tampered.unwrap_err().code, Code::Hook0001BadSignature);
        let other_id = webhook::verify(&key, "msg_2", &ts.to_string(), &sig, body, now);
        assert_eq!(other_id.unwrap_err().code, Code::Hook0001BadSignature);
        let later = now + time::Duration::minutes(10);
        let stale = webhook::verify(&key, "msg_1", &ts.to_string(), &sig, body, later);
        assert_eq!(stale.unwrap_err().code, Code::Hook0002Replayed);
        assert!(webhook::secret_bytes("whsec_c2hvcnQ=").is_err());
    }

    fn sample() -> Dossier {
        Dossier {
            code: "UBND-VH-261203-0001".into(),
            lookup_mac: String::new(),
            procedure: "dang-ky-khai-sinh".into(),
            procedure_code: "1.001193".into(),
            procedure_name: "Đăng ký khai sinh".into(),
            body: "UBND phường Việt Hưng".into(),
            holder_id: "001080012345".into(),
            holder_name: "NGUYỄN VĂN AN".into(),
            identified_by: "app".into(),
            channel: "kiosk-1".into(),
            email: None,
            form: BTreeMap::new(),
            prefilled: Vec::new(),
            attachments: Vec::new(),
            requested: Vec::new(),
            status: Status::Received,
            officer: None,
            fee_vnd: 0,
            fee_paid: None,
            received_at: time::macros::datetime!(2026-12-03 09:00 UTC),
            due: time::macros::date!(2026 - 12 - 04),
            slip_object: None,
            result_object: None,
            refusal: None,
            version: 1,
            key: None,
        }
    }
}
