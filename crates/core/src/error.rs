//! banso's domain errors.
//!
//! Policy: every error a person can meet has a stable code (`ISS-0003`, `VER-0002`, …) that a support desk
//! can quote and that never changes meaning; the message is plain language and carries no secrets, keys,
//! tokens or stack traces. The [`Kind`] says which family of response fits (bad input, not found, …); the
//! server turns it into HTTP status and exit codes in exactly one place. Internal causes (database,
//! storage) are logged by the edge and shown only as their code.

use std::fmt;

/// Declares the codes once: the enum, its text and the list of all of them come from one table.
macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $text:literal, )*) => {
        /// Stable error codes. Never renumber; add new ones at the end of a family.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$doc])* $name, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$name),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( Code::$name => $text, )*
                }
            }
        }
    };
}

codes! {
    /// No page was given.
    Iss0001NoPages = "ISS-0001",
    /// A page is not JPEG, PNG or PDF.
    Iss0002UnsupportedPage = "ISS-0002",
    /// A page file is damaged or truncated.
    Iss0003CorruptPage = "ISS-0003",
    /// A page or the whole upload is too large.
    Iss0004TooLarge = "ISS-0004",
    /// Holder or document fields missing or invalid.
    Iss0005InvalidField = "ISS-0005",
    /// Too many copies asked for one original.
    Iss0006TooManyCopies = "ISS-0006",
    /// Text that the copy's font cannot show.
    Iss0007Unprintable = "ISS-0007",
    /// The intake checks refused the original on a ground of Decree 23 Art. 22; nothing was issued.
    Iss0008Refused = "ISS-0008",
    /// The intake checks flagged the original for an officer's review; nothing was issued yet.
    Iss0009NeedsReview = "ISS-0009",
    /// The holder's ID number breaks its rule (a citizen ID number's structure, a passport number's form).
    Iss0010HolderId = "ISS-0010",
    /// An `Idempotency-Key` was reused with a different request.
    Iss0011IdempotencyConflict = "ISS-0011",
    /// A verification code of the wrong length or with a foreign symbol.
    Ver0001MalformedCode = "VER-0001",
    /// The check symbol does not match: a typo.
    Ver0002CheckMismatch = "VER-0002",
    /// No copy has this code.
    Ver0003NotFound = "VER-0003",
    /// The file given for verification is not a readable PDF.
    Ver0004NotPdf = "VER-0004",
    /// The capability key does not open this copy.
    Ver0005BadKey = "VER-0005",
    /// Verifying the file would cost more than the verifier's bounds allow (signatures, certificates,
    /// public-key operations).
    Ver0006TooComplex = "VER-0006",
    /// The copy is not valid any more (revoke/cancel twice).
    Rev0001NotValid = "REV-0001",
    /// A revocation needs a reason (and a cancellation a decision number).
    Rev0002MissingReason = "REV-0002",
    /// No credentials were sent.
    Auth0001Missing = "AUTH-0001",
    /// The credentials are unknown or revoked.
    Auth0002Invalid = "AUTH-0002",
    /// The role may not do this.
    Auth0003Forbidden = "AUTH-0003",
    /// No unrevoked API token has this id.
    Auth0004NoSuchToken = "AUTH-0004",
    /// A kiosk names a holder only through an identity session the service verified: none was given, or it
    /// is not verified (yet).
    Auth0005IdentityRequired = "AUTH-0005",
    /// The request names a holder other than the one the identity session proved.
    Auth0006HolderMismatch = "AUTH-0006",
    /// The request is malformed (not the expected JSON or form).
    Req0001Malformed = "REQ-0001",
    /// No endpoint at this address.
    Req0002NoSuchEndpoint = "REQ-0002",
    /// The service is busy with other clients' uploads or verifications: retry shortly.
    Req0003Busy = "REQ-0003",
    /// The request body did not arrive within the time allowed.
    Req0004BodyTimeout = "REQ-0004",
    /// This client sent more requests of this kind than the service answers for one client: retry after the
    /// time the answer gives (429).
    Req0005TooFast = "REQ-0005",
    /// Storage (the database or the object store) failed or cannot be reached: nothing was kept; retry after
    /// the time the answer gives (503).
    Sys0001Storage = "SYS-0001",
    /// Signing failed.
    Sys0002Signing = "SYS-0002",
    /// Anything else unexpected.
    Sys0003Internal = "SYS-0003",
    /// No timestamp authority answered (every one configured is down or cut off): nothing was issued; retry
    /// after the time the answer gives.
    Sys0004TimestampsDown = "SYS-0004",
    /// A machine-readable zone that cannot be read (wrong length, foreign characters).
    Id0001BadMrz = "ID-0001",
    /// The chip could not be read (no card, access denied with these keys, a broken read).
    Id0002ChipUnreadable = "ID-0002",
    /// The chip was read but its identity is not proven (passive, chip or active authentication failed).
    Id0003IdentityRejected = "ID-0003",
    /// The national-ID login provider cannot be reached or answered nonsense.
    Auth0101ProviderUnreachable = "AUTH-0101",
    /// The provider would not start a login for this client.
    Auth0102LoginNotStarted = "AUTH-0102",
    /// The citizen's login ended without an identity: denied, expired, or a token that does not validate.
    Auth0103LoginRefused = "AUTH-0103",
    /// No face was found in an image.
    Face0001NoFace = "FACE-0001",
    /// An image that cannot be read, or a pairs file without pairs.
    Face0002BadImage = "FACE-0002",
    /// The face models are not installed or cannot be loaded.
    Face0003Models = "FACE-0003",
    /// A liveness challenge that is not a list of head turns.
    Face0004BadChallenge = "FACE-0004",
    /// The camera frames did not show one live face following the challenge (a photo, a replay, a swap).
    Face0005NotLive = "FACE-0005",
    /// The live face is not the face on the chip.
    Face0006Mismatch = "FACE-0006",
    /// No identity session has this id for this device (unknown, ended or expired).
    Id0004NoSuchSession = "ID-0004",
    /// The identity session is at another step than the one asked for.
    Id0005WrongStep = "ID-0005",
    /// This way of identifying is not offered by this service (not configured).
    Id0006MethodUnavailable = "ID-0006",
    /// Too many failed attempts: the identity session has ended; the citizen may start again or call an officer.
    Id0007TooManyAttempts = "ID-0007",
    /// The submission grant is not this service's, was made for another kiosk or procedure, or has expired.
    Id0008BadGrant = "ID-0008",
    /// The fee must be paid first: the answer names the payment to make.
    Pay0001Due = "PAY-0001",
    /// The payment named has not been confirmed by the payment gateway (yet), or it failed.
    Pay0002NotPaid = "PAY-0002",
    /// The payment named was made for another request, kiosk or amount, or was spent on another request.
    Pay0003OtherRequest = "PAY-0003",
    /// No payment has this reference.
    Pay0004NoSuchPayment = "PAY-0004",
    /// An e-mail address that cannot be written to.
    Del0001BadAddress = "DEL-0001",
    /// The mail relay did not take the message: nothing was sent; retry later or use another way.
    Del0002MailFailed = "DEL-0002",
    /// This copy was sent by e-mail as often as a visit may send it.
    Del0003TooMany = "DEL-0003",
    /// The copy is not the identified citizen's.
    Del0004NotTheHolder = "DEL-0004",
    /// No administrative procedure in the catalogue has this code.
    Pro0001NoSuchProcedure = "PRO-0001",
    /// A field the procedure's form requires was left empty.
    Pro0002MissingField = "PRO-0002",
    /// A form field's value breaks its rule (type, length, pattern, choice), or the form names a field it does
    /// not have.
    Pro0003InvalidField = "PRO-0003",
    /// A document the procedure requires is not attached.
    Pro0004MissingDocument = "PRO-0004",
    /// A date, time or number of working days the calendar cannot take.
    Cal0001BadInput = "CAL-0001",
    /// A year outside the calendar's data (its holidays and swapped working days are not known).
    Cal0002UnknownYear = "CAL-0002",
    /// No dossier has this code.
    Dos0001NoSuchDossier = "DOS-0001",
    /// The lookup code does not match the dossier's.
    Dos0002BadLookupCode = "DOS-0002",
    /// The dossier is not at a step where this can be done (e.g. documents added when none were asked for).
    Dos0003WrongStep = "DOS-0003",
    /// This step of the dossier has already been rated.
    Dos0004AlreadyRated = "DOS-0004",
    /// Too many wrong lookup codes were tried on this dossier; its lookup is closed for a while.
    Dos0005TooManyGuesses = "DOS-0005",
    /// A webhook's signature does not match its body, or its headers are missing or malformed.
    Hook0001BadSignature = "HOOK-0001",
    /// A webhook's timestamp is outside the tolerance, or its id was already received: a replay.
    Hook0002Replayed = "HOOK-0002",
    /// An officer's login was refused: the username, password or code is not right (which one is not said).
    Off0001LoginRefused = "OFF-0001",
    /// The officer's account is locked after too many failed logins.
    Off0002Locked = "OFF-0002",
    /// A back-office form came without its session's CSRF token, or the session is not signed in.
    Off0003NotSignedIn = "OFF-0003",
    /// The officer's role does not allow this.
    Off0004NotAllowed = "OFF-0004",
    /// A held request is claimed by another officer, or was decided already.
    Off0005Claimed = "OFF-0005",
    /// No held request has this id.
    Off0006NoSuchReview = "OFF-0006",
    /// The outcome of this held request was decided and sent by e-mail already, to the address given first.
    Off0007AlreadySent = "OFF-0007",
}

impl Code {
    /// The family of response this code belongs to.
    pub fn kind(self) -> Kind {
        match self {
            Code::Ver0003NotFound
            | Code::Req0002NoSuchEndpoint
            | Code::Auth0004NoSuchToken
            | Code::Id0004NoSuchSession
            | Code::Pay0004NoSuchPayment
            | Code::Pro0001NoSuchProcedure
            | Code::Dos0001NoSuchDossier
            | Code::Off0006NoSuchReview => Kind::NotFound,
            Code::Iss0004TooLarge => Kind::TooLarge,
            Code::Rev0001NotValid
            | Code::Iss0011IdempotencyConflict
            | Code::Id0005WrongStep
            | Code::Pay0003OtherRequest
            | Code::Del0003TooMany
            | Code::Dos0003WrongStep
            | Code::Dos0004AlreadyRated
            | Code::Off0005Claimed
            | Code::Off0007AlreadySent
            | Code::Hook0002Replayed => Kind::Conflict,
            Code::Pay0001Due | Code::Pay0002NotPaid => Kind::PaymentRequired,
            Code::Req0003Busy | Code::Sys0004TimestampsDown | Code::Sys0001Storage => Kind::Busy,
            Code::Dos0005TooManyGuesses => Kind::TooMany,
            Code::Req0004BodyTimeout => Kind::Timeout,
            Code::Req0005TooFast => Kind::TooMany,
            Code::Iss0008Refused
            | Code::Id0003IdentityRejected
            | Code::Auth0103LoginRefused
            | Code::Face0005NotLive
            | Code::Face0006Mismatch
            | Code::Id0006MethodUnavailable
            | Code::Id0007TooManyAttempts => Kind::Refused,
            Code::Iss0009NeedsReview => Kind::Held,
            Code::Auth0001Missing
            | Code::Auth0002Invalid
            | Code::Hook0001BadSignature
            | Code::Off0001LoginRefused
            | Code::Off0003NotSignedIn => Kind::Unauthorized,
            Code::Off0002Locked => Kind::TooMany,
            Code::Auth0003Forbidden
            | Code::Id0008BadGrant
            | Code::Auth0005IdentityRequired
            | Code::Auth0006HolderMismatch
            | Code::Del0004NotTheHolder
            | Code::Dos0002BadLookupCode
            | Code::Off0004NotAllowed
            | Code::Ver0005BadKey => Kind::Forbidden,
            Code::Sys0002Signing
            | Code::Sys0003Internal
            | Code::Auth0101ProviderUnreachable
            | Code::Auth0102LoginNotStarted
            | Code::Del0002MailFailed
            | Code::Face0003Models => Kind::Internal,
            _ => Kind::BadInput,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Families of errors, for the edges to map to HTTP statuses and exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadInput,
    /// A legal refusal (not a malformed request): HTTP 422, exit 1.
    Refused,
    /// Accepted and kept for an officer: HTTP 202, exit 3.
    Held,
    /// The fee is not paid: HTTP 402, exit 1.
    PaymentRequired,
    TooLarge,
    NotFound,
    Conflict,
    Unauthorized,
    Forbidden,
    /// The service cannot take the request now; the client may retry (HTTP 503).
    Busy,
    /// Too many tries of something guarded; the client may retry later (HTTP 429).
    TooMany,
    /// The client was too slow (HTTP 408).
    Timeout,
    Internal,
}

/// A domain error: a stable code and a plain message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// For an error that passes (a dependency down for a while): when to try again, in seconds.
    pub retry_after: Option<u32>,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, saying when to try again.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn kind(&self) -> Kind {
        self.code.kind()
    }
}

impl From<crate::code::CodeError> for Error {
    fn from(e: crate::code::CodeError) -> Self {
        match e {
            crate::code::CodeError::CheckMismatch => Error::new(Code::Ver0002CheckMismatch, e.to_string()),
            _ => Error::new(Code::Ver0001MalformedCode, e.to_string()),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_not_paid_are_payment_required_and_conflicts_are_conflicts() {
        assert_eq!(Code::Pay0001Due.kind(), Kind::PaymentRequired);
        assert_eq!(Code::Pay0002NotPaid.kind(), Kind::PaymentRequired);
        assert_eq!(Code::Pay0003OtherRequest.kind(), Kind::Conflict);
        assert_eq!(Code::Pay0004NoSuchPayment.kind(), Kind::NotFound);
        assert_eq!(Code::Del0003TooMany.kind(), Kind::Conflict);
        assert_eq!(Code::Del0004NotTheHolder.kind(), Kind::Forbidden);
        assert_eq!(Code::Del0002MailFailed.kind(), Kind::Internal);
        assert_eq!(Code::Auth0005IdentityRequired.kind(), Kind::Forbidden);
        assert_eq!(Code::Id0005WrongStep.kind(), Kind::Conflict);
        assert_eq!(Code::Face0006Mismatch.kind(), Kind::Refused);
    }

    #[test]
    fn procedures_and_dossiers_answer_by_their_kind() {
        assert_eq!(Code::Pro0001NoSuchProcedure.kind(), Kind::NotFound);
        assert_eq!(Code::Pro0002MissingField.kind(), Kind::BadInput);
        assert_eq!(Code::Cal0002UnknownYear.kind(), Kind::BadInput);
        assert_eq!(Code::Dos0001NoSuchDossier.kind(), Kind::NotFound);
        assert_eq!(Code::Dos0002BadLookupCode.kind(), Kind::Forbidden);
        assert_eq!(Code::Dos0003WrongStep.kind(), Kind::Conflict);
        assert_eq!(Code::Hook0001BadSignature.kind(), Kind::Unauthorized);
        assert_eq!(Code::Hook0002Replayed.kind(), Kind::Conflict);
        assert_eq!(Code::Dos0005TooManyGuesses.kind(), Kind::TooMany);
    }

    #[test]
    fn the_back_office_answers_by_its_kind() {
        assert_eq!(Code::Off0001LoginRefused.kind(), Kind::Unauthorized);
        assert_eq!(Code::Off0002Locked.kind(), Kind::TooMany);
        assert_eq!(Code::Off0003NotSignedIn.kind(), Kind::Unauthorized);
        assert_eq!(Code::Off0004NotAllowed.kind(), Kind::Forbidden);
    }

    #[test]
    fn every_code_is_unique_and_reads_family_dash_four_digits() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            let (family, number) = s.split_once('-').unwrap();
            assert!(family.chars().all(|c| c.is_ascii_uppercase()), "{s}");
            assert!(
                number.len() == 4 && number.chars().all(|c| c.is_ascii_digit()),
                "{s}"
            );
        }
    }
}
