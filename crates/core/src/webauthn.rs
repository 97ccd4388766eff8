//! WebAuthn passkeys for officers (W3C Web Authentication, level 2): a registration's attestation (format
//! `none`: the key is trusted as the signed-in officer's own, not for its maker) and an assertion's signature,
//! both ES256 (ECDSA P-256 with SHA-256), with user verification required. The challenge is derived from the
//! session it belongs to, so none is stored; a pending login is used once.

use crate::error::{Code, Error, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The relying party: its id (the host name) and the origin pages are served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub origin: String,
}

impl RelyingParty {
    /// From the public base URL (`https://host[:port]`): the host is the id, scheme, host and port the origin.
    pub fn from_base_url(base: &str) -> Option<Self> {
        let (scheme, rest) = base.split_once("://")?;
        let authority = rest.split('/').next()?;
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        };
        if host.is_empty() || !matches!(scheme, "http" | "https") {
            return None;
        }
        Some(RelyingParty {
            id: host.to_ascii_lowercase(),
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
        })
    }
}

/// A registered key: its credential id (base64url) and public key (SEC1, uncompressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub id: String,
    pub public_key: Vec<u8>,
    pub sign_count: u32,
}

/// The challenge of a ceremony bound to a session (by its CSRF token, a secret only its pages carry).
pub fn challenge(session_csrf: &str, ceremony: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"banso webauthn challenge\0");
    h.update(ceremony.as_bytes());
    h.update(b"\0");
    h.update(session_csrf.as_bytes());
    h.finalize().to_vec()
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn refused(why: &str) -> Error {
    Error::new(
        Code::Off0001LoginRefused,
        format!("the passkey was not accepted: {why}"),
    )
}

fn unb64(what: &str, s: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(s.trim().trim_end_matches('='))
        .map_err(|_| refused(&format!("{what} is not base64url")))
}

/// Checks the client data: its type, challenge and origin.
fn client_data(json: &[u8], kind: &str, challenge: &[u8], rp: &RelyingParty) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct ClientData {
        #[serde(rename = "type")]
        kind: String,
        challenge: String,
        origin: String,
    }
    let c: ClientData =
        serde_json::from_slice(json).map_err(|_| refused("the client data is not WebAuthn's JSON"))?;
    let given = unb64("the challenge", &c.challenge)?;
    use subtle::ConstantTimeEq;
    if c.kind != kind || !bool::from(given.ct_eq(challenge)) || c.origin != rp.origin {
        return Err(refused(
            "the client data is for another ceremony, challenge or origin",
        ));
    }
    Ok(())
}

/// The authenticator data's flags: user present and user verified.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

/// Checks the authenticator data's RP id hash and flags; its signature counter.
fn authenticator_data(data: &[u8], rp: &RelyingParty, attested: bool) -> Result<u32> {
    if data.len() < 37 {
        return Err(refused("the authenticator data is too short"));
    }
    if data[..32] != Sha256::digest(rp.id.as_bytes())[..] {
        return Err(refused("the key belongs to another site"));
    }
    let flags = data[32];
    if flags & (UP | UV) != UP | UV {
        return Err(refused("the authenticator did not verify its user"));
    }
    if attested && flags & AT == 0 {
        return Err(refused("no credential in the registration"));
    }
    Ok(u32::from_be_bytes([data[33], data[34], data[35], data[36]]))
}

/// Verifies a registration (`navigator.credentials.create`) for the challenge: the new key.
pub fn register(
    client_data_json: &str,
    attestation_object: &str,
    challenge: &[u8],
    rp: &RelyingParty,
) -> Result<NewKey> {
    client_data(
        &unb64("the client data", client_data_json)?,
        "webauthn.create",
        challenge,
        rp,
    )?;
    let att = unb64("the attestation", attestation_object)?;
    let (object, _) = cbor::value(&att, 0)?;
    let fmt = object.get_text("fmt");
    if fmt != Some("none") {
        return Err(refused("only attestation \"none\" is taken"));
    }
    let auth = object
        .get_text_key("authData")
        .and_then(cbor::Value::bytes)
        .ok_or_else(|| refused("no authenticator data"))?;
    let sign_count = authenticator_data(auth, rp, true)?;
    let rest = auth.get(37 + 16..).ok_or_else(|| refused("no credential data"))?;
    let len = usize::from(u16::from_be_bytes([
        *rest.first().ok_or_else(|| refused("no credential id"))?,
        *rest.get(1).ok_or_else(|| refused("no credential id"))?,
    ]));
    let id = rest
        .get(2..2 + len)
        .ok_or_else(|| refused("a short credential id"))?;
    if id.is_empty() || len > 1023 {
        return Err(refused("a credential id of a wrong length"));
    }
    let (key, _) = cbor::value(&rest[2 + len..], 0)?;
    let int = |k: i64| key.get_int_key(k);
    if int(1).and_then(cbor::Value::int) != Some(2)
        || int(3).and_then(cbor::Value::int) != Some(-7)
        || int(-1).and_then(cbor::Value::int) != Some(1)
    {
        return Err(refused("only ES256 keys on P-256 are taken"));
    }
    let (x, y) = match (
        int(-2).and_then(cbor::Value::bytes),
        int(-3).and_then(cbor::Value::bytes),
    ) {
        (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => (x, y),
        _ => return Err(refused("the key's coordinates")),
    };
    let mut public_key = Vec::with_capacity(65);
    public_key.push(4);
    public_key.extend_from_slice(x);
    public_key.extend_from_slice(y);
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&public_key)
        .map_err(|_| refused("the key is not a point of P-256"))?;
    Ok(NewKey {
        id: b64url(id),
        public_key,
        sign_count,
    })
}

/// Verifies an assertion (`navigator.credentials.get`) by the key `public_key` for the challenge; the
/// authenticator's new signature counter, which must have grown past `stored_count` unless both are 0.
pub fn assert(
    client_data_json: &str,
    authenticator_data_b64: &str,
    signature: &str,
    challenge: &[u8],
    rp: &RelyingParty,
    public_key: &[u8],
    stored_count: u32,
) -> Result<u32> {
    use p256::ecdsa::signature::Verifier;
    let json = unb64("the client data", client_data_json)?;
    client_data(&json, "webauthn.get", challenge, rp)?;
    let auth = unb64("the authenticator data", authenticator_data_b64)?;
    let count = authenticator_data(&auth, rp, false)?;
    let key =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| refused("the stored key"))?;
    let sig = p256::ecdsa::Signature::from_der(&unb64("the signature", signature)?)
        .map_err(|_| refused("the signature is not DER ECDSA"))?;
    let mut signed = auth.clone();
    signed.extend_from_slice(&Sha256::digest(&json));
    key.verify(&signed, &sig)
        .map_err(|_| refused("the signature does not verify"))?;
    if (count != 0 || stored_count != 0) && count <= stored_count {
        return Err(refused(
            "the authenticator's counter went back: the key may have been copied",
        ));
    }
    Ok(count)
}

/// The little of CBOR (RFC 8949) an attestation needs: integers, byte and text strings, arrays, maps and simple
/// values, definite lengths only, nested at most 8 deep.
mod cbor {
    use super::{refused, Result};

    #[derive(Debug, Clone, PartialEq)]
    pub enum Value<'a> {
        Int(i64),
        Bytes(&'a [u8]),
        Text(&'a str),
        Array(Vec<Value<'a>>),
        Map(Vec<(Value<'a>, Value<'a>)>),
        Simple(u8),
    }

    impl<'a> Value<'a> {
        pub fn bytes(&self) -> Option<&'a [u8]> {
            match self {
                Value::Bytes(b) => Some(b),
                _ => None,
            }
        }
        pub fn int(&self) -> Option<i64> {
            match self {
                Value::Int(i) => Some(*i),
                _ => None,
            }
        }
        fn entry(&self, want: &Value<'_>) -> Option<&Value<'a>> {
            match self {
                Value::Map(m) => m.iter().find(|(k, _)| k == want).map(|(_, v)| v),
                _ => None,
            }
        }
        pub fn get_text_key(&self, k: &str) -> Option<&Value<'a>> {
            self.entry(&Value::Text(k))
        }
        pub fn get_int_key(&self, k: i64) -> Option<&Value<'a>> {
            self.entry(&Value::Int(k))
        }
        pub fn get_text(&self, k: &str) -> Option<&'a str> {
            match self.get_text_key(k) {
                Some(Value::Text(t)) => Some(t),
                _ => None,
            }
        }
    }

    fn bad() -> crate::error::Error {
        refused("the CBOR does not read")
    }

    /// One value at the start of `b`, and what follows it.
    pub fn value(b: &[u8], depth: u8) -> Result<(Value<'_>, &[u8])> {
        if depth > 8 {
            return Err(bad());
        }
        let (&first, rest) = b.split_first().ok_or_else(bad)?;
        let (major, info) = (first >> 5, first & 0x1f);
        let (n, mut rest) = match info {
            0..=23 => (u64::from(info), rest),
            24..=27 => {
                let len = 1usize << (info - 24);
                let bytes = rest.get(..len).ok_or_else(bad)?;
                (
                    bytes.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)),
                    &rest[len..],
                )
            }
            _ => return Err(bad()),
        };
        let count = |n: u64| usize::try_from(n).ok().filter(|&n| n <= b.len()).ok_or_else(bad);
        Ok(match major {
            0 => (Value::Int(i64::try_from(n).map_err(|_| bad())?), rest),
            1 => (Value::Int(-1 - i64::try_from(n).map_err(|_| bad())?), rest),
            2 | 3 => {
                let len = count(n)?;
                let body = rest.get(..len).ok_or_else(bad)?;
                let v = if major == 2 {
                    Value::Bytes(body)
                } else {
                    Value::Text(std::str::from_utf8(body).map_err(|_| bad())?)
                };
                (v, &rest[len..])
            }
            4 => {
                let mut items = Vec::new();
                for _ in 0..count(n)? {
                    let (v, r) = value(rest, depth + 1)?;
                    items.push(v);
                    rest = r;
                }
                (Value::Array(items), rest)
            }
            5 => {
                let mut entries = Vec::new();
                for _ in 0..count(n)? {
                    let (k, r) = value(rest, depth + 1)?;
                    let (v, r) = value(r, depth + 1)?;
                    entries.push((k, v));
                    rest = r;
                }
                (Value::Map(entries), rest)
            }
            7 if info < 24 => (Value::Simple(info), rest),
            _ => return Err(bad()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Signer, SigningKey};

    fn rp() -> RelyingParty {
        RelyingParty::from_base_url("http://localhost:8080/").unwrap()
    }

    /// Authenticator data with the flags and counter, and (for a registration) a credential and its key.
    fn auth_data(flags: u8, count: u32, key: Option<(&[u8], &SigningKey)>) -> Vec<u8> {
        let mut d = Sha256::digest(b"localhost").to_vec();
        d.push(flags);
        d.extend_from_slice(&count.to_be_bytes());
        if let Some((id, k)) = key {
            d.extend_from_slice(&[0; 16]);
            d.extend_from_slice(&(id.len() as u16).to_be_bytes());
            d.extend_from_slice(id);
            let point = k.verifying_key().to_encoded_point(false);
            // {1: 2, 3: -7, -1: 1, -2: x, -3: y}
            d.extend_from_slice(&[0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]);
            d.extend_from_slice(point.x().unwrap());
            d.extend_from_slice(&[0x22, 0x58, 0x20]);
            d.extend_from_slice(point.y().unwrap());
        }
        d
    }

    fn attestation(auth: &[u8]) -> String {
        // {"fmt": "none", "attStmt": {}, "authData": bytes}
        let mut a = vec![0xa3, 0x63];
        a.extend_from_slice(b"fmt");
        a.extend_from_slice(&[0x64]);
        a.extend_from_slice(b"none");
        a.extend_from_slice(&[0x67]);
        a.extend_from_slice(b"attStmt");
        a.push(0xa0);
        a.extend_from_slice(&[0x68]);
        a.extend_from_slice(b"authData");
        a.extend_from_slice(&[0x59, (auth.len() >> 8) as u8, auth.len() as u8]);
        a.extend_from_slice(auth);
        b64url(&a)
    }

    fn client(kind: &str, challenge: &[u8], origin: &str) -> String {
        b64url(
            serde_json::json!({"type": kind, "challenge": b64url(challenge), "origin": origin})
                .to_string()
                .as_bytes(),
        )
    }

    #[test]
    fn a_key_registers_and_then_signs_in_and_nothing_else_does() {
        let key = SigningKey::from_slice(&[7; 32]).unwrap();
        let c = challenge("csrf-token", "register");
        let att = attestation(&auth_data(UP | UV | AT, 0, Some((b"cred-1", &key))));
        let made = register(
            &client("webauthn.create", &c, "http://localhost:8080"),
            &att,
            &c,
            &rp(),
        )
        .unwrap();
        assert_eq!(made.id, b64url(b"cred-1"));
        assert_eq!(
            made.public_key,
            key.verifying_key().to_encoded_point(false).as_bytes()
        );
        // Another origin, another challenge, a get for a create: refused.
        for (kind, ch, origin) in [
            ("webauthn.create", c.clone(), "http://evil.example"),
            (
                "webauthn.create",
                challenge("other", "register"),
                "http://localhost:8080",
            ),
            ("webauthn.get", c.clone(), "http://localhost:8080"),
        ] {
            assert!(register(&client(kind, &ch, origin), &att, &c, &rp()).is_err());
        }
        // Without user verification: refused.
        let lazy = attestation(&auth_data(UP | AT, 0, Some((b"cred-1", &key))));
        assert!(register(
            &client("webauthn.create", &c, "http://localhost:8080"),
            &lazy,
            &c,
            &rp()
        )
        .is_err());

        let login = challenge("pending-csrf", "login");
        let data = client("webauthn.get", &login, "http://localhost:8080");
        let auth = auth_data(UP | UV, 5, None);
        let mut signed = auth.clone();
        signed.extend_from_slice(&Sha256::digest(URL_SAFE_NO_PAD.decode(&data).unwrap()));
        let sig: p256::ecdsa::Signature = key.sign(&signed);
        let sig = b64url(sig.to_der().as_bytes());
        let ok = assert(&data, &b64url(&auth), &sig, &login, &rp(), &made.public_key, 4);
        assert_eq!(ok.unwrap(), 5);
        // A counter that did not grow (a copied key), another key, another challenge: refused.
        assert!(assert(&data, &b64url(&auth), &sig, &login, &rp(), &made.public_key, 5).is_err());
        let other = SigningKey::from_slice(&[9; 32]).unwrap();
        let other_pub = other.verifying_key().to_encoded_point(false);
        assert!(assert(
            &data,
            &b64url(&auth),
            &sig,
            &login,
            &rp(),
            other_pub.as_bytes(),
            0
        )
        .is_err());
        assert!(assert(&data, &b64url(&auth), &sig, &c, &rp(), &made.public_key, 0).is_err());
    }

    #[test]
    fn cbor_that_lies_about_its_lengths_or_nests_too_deep_is_refused() {
        assert!(cbor::value(&[0x5a, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        assert!(cbor::value(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0).is_err());
        assert!(cbor::value(&[0x81; 40], 0).is_err());
        assert!(cbor::value(&[], 0).is_err());
        assert_eq!(cbor::value(&[0x38, 0x63], 0).unwrap().0, cbor::Value::Int(-100));
    }

    #[test]
    fn the_relying_party_is_the_base_urls_host() {
        assert_eq!(
            RelyingParty::from_base_url("https://dichvucong.example.vn").unwrap(),
            RelyingParty {
                id: "dichvucong.example.vn".into(),
                origin: "https://dichvucong.example.vn".into()
            }
        );
        assert_eq!(rp().origin, "http://localhost:8080");
        assert!(RelyingParty::from_base_url("ftp://x").is_none());
    }
}
