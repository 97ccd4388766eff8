//! Submission grants: what lets a kiosk file a dossier for a citizen after the citizen has left.
//!
//! A mobile service vehicle loses its link to the centre. A citizen who proved who they are (an identity
//! session, [`crate::identity`]) before the link dropped may still submit a procedure's dossier: the kiosk keeps
//! the submission in a local queue and sends it when the link returns — long after the identity session (ten
//! minutes at most) has ended. The grant carries the proof across that gap. The service makes it while the
//! session is verified, for one kiosk and one procedure; it is valid for [`GRANT_TTL`] and is accepted only for
//! a dossier submission by that kiosk's credential (never for a copy, the wallet or anything else).
//!
//! It is self-contained, `v1.` + base64url(JSON) + `.` + base64url(HMAC-SHA256 under the installation's
//! secret), so any node of the service checks it without a shared table. The kiosk cannot change it; it holds
//! nothing the kiosk did not already know (the identity the screen showed). What a stolen kiosk disk with its
//! credential could do with one: file dossiers of that procedure in the citizen's name until it expires or the
//! device is revoked on the fleet page; each is a visible dossier the officers receive, not a copy.

use crate::error::{Code, Error, Result};
use crate::identity::{Method, ProvenHolder};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

/// How long a grant is accepted after it was made: a vehicle's day out and the way back.
pub const GRANT_TTL: Duration = Duration::hours(72);
/// The longest grant read (a real one is a few hundred bytes); a longer one is refused before decoding.
pub const MAX_GRANT_LEN: usize = 2048;

const DOMAIN: &[u8] = b"banso submission grant v1\0";

/// What a grant says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The kiosk's credential (token id) that may use it.
    pub device: String,
    /// The procedure's id in the catalogue.
    pub procedure: String,
    pub holder: ProvenHolder,
    pub method: Method,
    /// Unix seconds.
    pub expires: i64,
}

fn mac(secret: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(DOMAIN);
    mac.update(payload.as_bytes());
    mac
}

impl Grant {
    /// A grant for `device` and `procedure`, valid [`GRANT_TTL`] from `now`.
    pub fn new(
        device: &str,
        procedure: &str,
        holder: ProvenHolder,
        method: Method,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            device: device.to_string(),
            procedure: procedure.to_string(),
            holder,
            method,
            expires: (now + GRANT_TTL).unix_timestamp(),
        }
    }

    /// The grant as the kiosk keeps it.
    pub fn seal(&self, secret: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64.encode(serde_json::to_vec(self).expect("a grant serialises"));
        let tag = b64.encode(mac(secret, &payload).finalize().into_bytes());
        format!("v1.{payload}.{tag}")
    }

    /// Reads a sealed grant and checks it is this service's, for `device` and `procedure`, and not expired.
    pub fn open(
        secret: &[u8],
        sealed: &str,
        device: &str,
        procedure: &str,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let bad = |why: &str| Error::new(Code::Id0008BadGrant, format!("the submission grant {why}"));
        if sealed.len() > MAX_GRANT_LEN {
            return Err(bad("is too long"));
        }
        let mut parts = sealed.trim().split('.');
        let (Some("v1"), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("is not one"));
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let tag = b64.decode(tag).map_err(|_| bad("is not one"))?;
        mac(secret, payload)
            .verify_slice(&tag)
            .map_err(|_| bad("was not made by this service"))?;
        let grant: Grant = b64
            .decode(payload)
            .ok()
            .and_then(|j| serde_json::from_slice(&j).ok())
            .ok_or_else(|| bad("is not one"))?;
        if grant.device != device {
            return Err(bad("was made for another kiosk"));
        }
        if grant.procedure != procedure {
            return Err(bad("was made for another procedure"));
        }
        if now.unix_timestamp() >= grant.expires {
            return Err(bad("has expired"));
        }
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn holder() -> ProvenHolder {
        ProvenHolder {
            id_number: "001099012345".into(),
            full_name: "Nguyễn Thị Lan".into(),
            birth_date: Some("1960-03-12".into()),
            assurance: "high".into(),
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_790_000_000 + secs).unwrap()
    }

    fn sealed() -> String {
        Grant::new("kiosk-1", "khai-sinh", holder(), Method::ChipAndFace, at(0)).seal(SECRET)
    }

    fn code(r: Result<Grant>) -> &'static str {
        r.unwrap_err().code.as_str()
    }

    #[test]
    fn a_grant_opens_for_its_kiosk_and_procedure_until_it_expires() {
        let g = Grant::open(SECRET, &sealed(), "kiosk-1", "khai-sinh", at(3600)).unwrap();
        assert_eq!((g.holder, g.method), (holder(), Method::ChipAndFace));
        let last = GRANT_TTL.whole_seconds();
        assert!(Grant::open(SECRET, &sealed(), "kiosk-1", "khai-sinh", at(last - 1)).is_ok());
        assert_eq!(
            code(Grant::open(SECRET, &sealed(), "kiosk-1", "khai-sinh", at(last))),
            "ID-0008"
        );
    }

    #[test]
    fn another_kiosk_procedure_or_secret_is_refused() {
        let s = sealed();
        for (secret, device, procedure) in [
            (SECRET, "kiosk-2", "khai-sinh"),
            (SECRET, "kiosk-1", "ket-hon"),
            (&b"another installation's secret.."[..], "kiosk-1", "khai-sinh"),
        ] {
            assert_eq!(code(Grant::open(secret, &s, device, procedure, at(1))), "ID-0008");
        }
    }

    #[test]
    fn a_changed_grant_is_refused() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let s = sealed();
        let (head, tag) = s.rsplit_once('.').unwrap();
        let payload = head.strip_prefix("v1.").unwrap();
        // Another holder in the payload, the kiosk's own tag kept.
        let json = String::from_utf8(b64.decode(payload).unwrap()).unwrap();
        let forged = b64.encode(json.replace("001099012345", "001099099999"));
        for bad in [
            format!("v1.{forged}.{tag}"),
            format!("v2.{payload}.{tag}"),
            format!("v1.{payload}"),
            format!("v1.{payload}.{tag}.x"),
            format!("v1.{payload}.!!"),
            format!("v1.{}.{tag}", "A".repeat(MAX_GRANT_LEN)),
            String::new(),
        ] {
            assert_eq!(
                code(Grant::open(SECRET, &bad, "kiosk-1", "khai-sinh", at(1))),
                "ID-0008",
                "{bad}"
            );
        }
    }
}
