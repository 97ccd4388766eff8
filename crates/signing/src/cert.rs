//! A borrowed view of an X.509 certificate (raw encodings kept), public keys, and signature checks.
use crate::asn1::{self, oid, Reader, Tlv};

/// Hash algorithms understood here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// From a digest algorithm OID (content bytes).
    pub fn from_oid(oid_bytes: &[u8]) -> Option<Self> {
        match oid_bytes {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }

    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: sha2::Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Self::Sha256 => run::<sha2::Sha256>(parts),
            Self::Sha384 => run::<sha2::Sha384>(parts),
            Self::Sha512 => run::<sha2::Sha512>(parts),
        }
    }
}

/// The type of a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    P256,
    P384,
    Rsa,
}

/// A public key that can verify signatures: its type and its subjectPublicKey bits (a SEC1 point for EC
/// keys, a PKCS#1 `RSAPublicKey` for RSA). Nothing is validated until a signature is checked.
#[derive(Debug, Clone, Copy)]
pub struct PublicKey<'a> {
    pub key_type: KeyType,
    pub bits: &'a [u8],
}

impl<'a> PublicKey<'a> {
    /// From a DER `SubjectPublicKeyInfo`.
    pub fn from_spki(spki: &'a [u8]) -> Option<Self> {
        let (outer, _) = asn1::read_tlv(spki)?;
        let mut r = Reader::new(outer.value);
        let alg = r.expect(asn1::TAG_SEQUENCE)?;
        let bits = r.expect(asn1::TAG_BIT_STRING)?;
        let (&unused, key) = bits.value.split_first()?;
        if unused != 0 {
            return None;
        }
        let mut a = Reader::new(alg.value);
        let alg_oid = a.expect(asn1::TAG_OID)?.value;
        let key_type = match alg_oid {
            oid::EC_PUBLIC_KEY => match a.expect(asn1::TAG_OID)?.value {
                oid::CURVE_P256 => KeyType::P256,
                oid::CURVE_P384 => KeyType::P384,
                _ => return None,
            },
            oid::RSA_ENCRYPTION => KeyType::Rsa,
            _ => return None,
        };
        Some(Self { key_type, bits: key })
    }

    /// The key as a RustCrypto P-256 verifying key.
    pub fn p256(&self) -> Option<p256::ecdsa::VerifyingKey> {
        (self.key_type == KeyType::P256)
            .then(|| p256::ecdsa::VerifyingKey::from_sec1_bytes(self.bits).ok())?
    }

    /// The key as an RSA public key.
    pub fn rsa(&self) -> Option<rsa::RsaPublicKey> {
        use rsa::pkcs1::DecodeRsaPublicKey as _;
        (self.key_type == KeyType::Rsa).then(|| rsa::RsaPublicKey::from_pkcs1_der(self.bits).ok())?
    }

    fn fits(&self, sig_alg: &[u8]) -> bool {
        match self.key_type {
            KeyType::P256 | KeyType::P384 => matches!(
                sig_alg,
                oid::ECDSA_WITH_SHA256 | oid::ECDSA_WITH_SHA384 | oid::ECDSA_WITH_SHA512 | oid::EC_PUBLIC_KEY
            ),
            KeyType::Rsa => matches!(
                sig_alg,
                oid::SHA256_WITH_RSA | oid::SHA384_WITH_RSA | oid::SHA512_WITH_RSA | oid::RSA_ENCRYPTION
            ),
        }
    }

    /// Verifies `signature` over `message` hashed with `hash`; `sig_alg` is the signature algorithm OID
    /// and must fit the key type. Uses ring's fast code, falling back to RustCrypto for the
    /// combinations ring does not offer (e.g. RSA keys under 2048 bits).
    pub fn verify(&self, sig_alg: &[u8], hash: HashAlg, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature as rs;
        if !self.fits(sig_alg) {
            return false;
        }
        let ring_alg: Option<&'static dyn rs::VerificationAlgorithm> = match (self.key_type, hash) {
            (KeyType::P256, HashAlg::Sha256) => Some(&rs::ECDSA_P256_SHA256_ASN1),
            (KeyType::P256, HashAlg::Sha384) => Some(&rs::ECDSA_P256_SHA384_ASN1),
            (KeyType::P384, HashAlg::Sha256) => Some(&rs::ECDSA_P384_SHA256_ASN1),
            (KeyType::P384, HashAlg::Sha384) => Some(&rs::ECDSA_P384_SHA384_ASN1),
            (KeyType::Rsa, HashAlg::Sha256) => Some(&rs::RSA_PKCS1_2048_8192_SHA256),
            (KeyType::Rsa, HashAlg::Sha384) => Some(&rs::RSA_PKCS1_2048_8192_SHA384),
            (KeyType::Rsa, HashAlg::Sha512) => Some(&rs::RSA_PKCS1_2048_8192_SHA512),
            _ => None,
        };
        if let Some(alg) = ring_alg {
            if rs::UnparsedPublicKey::new(alg, self.bits)
                .verify(message, signature)
                .is_ok()
            {
                return true;
            }
            // For uncompressed EC points ring's answer is final; compressed points and small RSA keys
            // are left to RustCrypto.
            if self.key_type != KeyType::Rsa && self.bits.first() == Some(&0x04) {
                return false;
            }
        }
        self.verify_prehashed(sig_alg, hash, &hash.digest(message), signature)
    }

    /// Verifies `signature` over a message whose hash (with `hash`) is `digest`.
    /// `sig_alg` is the signature algorithm OID; it must fit the key type.
    pub fn verify_prehashed(&self, sig_alg: &[u8], hash: HashAlg, digest: &[u8], signature: &[u8]) -> bool {
        use ecdsa::signature::hazmat::PrehashVerifier as _;
        if !self.fits(sig_alg) {
            return false;
        }
        match self.key_type {
            KeyType::P256 => self.p256().is_some_and(|k| {
                p256::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok())
            }),
            KeyType::P384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(self.bits).is_ok_and(|k| {
                p384::ecdsa::Signature::from_der(signature)
                    .is_ok_and(|s| k.verify_prehash(digest, &s).is_ok())
            }),
            KeyType::Rsa => self.rsa().is_some_and(|k| {
                let scheme = match hash {
                    HashAlg::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    HashAlg::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    HashAlg::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                k.verify(scheme, digest, signature).is_ok()
            }),
        }
    }
}

/// The hash implied by a signature algorithm OID (`None` when the OID names only the key type).
pub fn hash_of_signature_alg(sig_alg: &[u8]) -> Option<HashAlg> {
    match sig_alg {
        oid::ECDSA_WITH_SHA256 | oid::SHA256_WITH_RSA => Some(HashAlg::Sha256),
        oid::ECDSA_WITH_SHA384 | oid::SHA384_WITH_RSA => Some(HashAlg::Sha384),
        oid::ECDSA_WITH_SHA512 | oid::SHA512_WITH_RSA => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// The parts of a certificate this crate uses, borrowing the DER.
#[derive(Debug, Clone)]
pub struct CertView<'a> {
    pub raw: &'a [u8],
    /// The whole `tbsCertificate` TLV (what the issuer signed).
    pub tbs: &'a [u8],
    /// The serial number INTEGER's content bytes.
    pub serial: &'a [u8],
    /// The whole serial number TLV.
    pub serial_tlv: &'a [u8],
    /// The whole issuer Name TLV.
    pub issuer: &'a [u8],
    /// The whole subject Name TLV.
    pub subject: &'a [u8],
    pub not_before: i64,
    pub not_after: i64,
    /// The whole SubjectPublicKeyInfo TLV.
    pub spki: &'a [u8],
    /// The outer signature algorithm OID content.
    pub sig_alg: &'a [u8],
    /// The signature value (BIT STRING content without the unused-bits octet).
    pub signature: &'a [u8],
    /// basicConstraints cA.
    pub is_ca: bool,
    pub path_len: Option<u64>,
    /// keyUsage bits (bit 0 = digitalSignature as the most significant bit of the first octet) if present.
    pub key_usage: Option<u16>,
    pub subject_key_id: Option<&'a [u8]>,
    /// authorityKeyIdentifier keyIdentifier.
    pub authority_key_id: Option<&'a [u8]>,
}

/// keyUsage keyCertSign in the representation of [`CertView::key_usage`].
pub const KU_KEY_CERT_SIGN: u16 = 0x0400;

impl<'a> CertView<'a> {
    /// Parses a DER certificate; `None` if it is not one.
    pub fn parse(der: &'a [u8]) -> Option<Self> {
        let (outer, _) = asn1::read_tlv(der)?;
        if outer.tag != asn1::TAG_SEQUENCE {
            return None;
        }
        let mut r = Reader::new(outer.value);
        let tbs = r.expect(asn1::TAG_SEQUENCE)?;
        let sig_alg_tlv = r.expect(asn1::TAG_SEQUENCE)?;
        let sig_bits = r.expect(asn1::TAG_BIT_STRING)?;
        let sig_alg = Reader::new(sig_alg_tlv.value).expect(asn1::TAG_OID)?.value;
        let (&unused, signature) = sig_bits.value.split_first()?;
        if unused != 0 {
            return None;
        }

        let mut t = Reader::new(tbs.value);
        let _version = t.optional(asn1::ctx_cons(0));
        let serial = t.expect(asn1::TAG_INTEGER)?;
        let _inner_alg = t.expect(asn1::TAG_SEQUENCE)?;
        let issuer = t.expect(asn1::TAG_SEQUENCE)?;
        let validity = t.expect(asn1::TAG_SEQUENCE)?;
        let subject = t.expect(asn1::TAG_SEQUENCE)?;
        let spki = t.expect(asn1::TAG_SEQUENCE)?;
        let _issuer_uid = t.optional(asn1::ctx_prim(1));
        let _subject_uid = t.optional(asn1::ctx_prim(2));
        let extensions = t.optional(asn1::ctx_cons(3));

        let mut v = Reader::new(validity.value);
        let not_before = parse_time(v.any()?)?;
        let not_after = parse_time(v.any()?)?;

        let mut view = CertView {
            raw: outer.raw,
            tbs: tbs.raw,
            serial: serial.value,
            serial_tlv: serial.raw,
            issuer: issuer.raw,
            subject: subject.raw,
            not_before,
            not_after,
            spki: spki.raw,
            sig_alg,
            signature,
            is_ca: false,
            path_len: None,
            key_usage: None,
            subject_key_id: None,
            authority_key_id: None,
        };
        if let Some(exts) = extensions {
            let seq = Reader::new(exts.value).expect(asn1::TAG_SEQUENCE)?;
            let mut list = Reader::new(seq.value);
            while !list.is_empty() {
                let ext = list.expect(asn1::TAG_SEQUENCE)?;
                let mut e = Reader::new(ext.value);
                let id = e.expect(asn1::TAG_OID)?.value;
                let _critical = e.optional(asn1::TAG_BOOLEAN);
                let value = e.expect(asn1::TAG_OCTET_STRING)?.value;
                match id {
                    oid::EXT_BASIC_CONSTRAINTS => {
                        let bc = Reader::new(value).expect(asn1::TAG_SEQUENCE)?;
                        let mut b = Reader::new(bc.value);
                        if let Some(ca) = b.optional(asn1::TAG_BOOLEAN) {
                            view.is_ca = ca.value.first().is_some_and(|&x| x != 0);
                        }
                        if let Some(pl) = b.optional(asn1::TAG_INTEGER) {
                            view.path_len = asn1::small_uint(pl.value);
                        }
                    }
                    oid::EXT_KEY_USAGE => {
                        let bits = Reader::new(value).expect(asn1::TAG_BIT_STRING)?;
                        let mut bytes = bits.value.iter().skip(1);
                        let hi = bytes.next().copied().unwrap_or(0);
                        let lo = bytes.next().copied().unwrap_or(0);
                        view.key_usage = Some(u16::from_be_bytes([hi, lo]));
                    }
                    oid::EXT_SUBJECT_KEY_ID => {
                        view.subject_key_id =
                            Reader::new(value).expect(asn1::TAG_OCTET_STRING).map(|t| t.value);
                    }
                    oid::EXT_AUTHORITY_KEY_ID => {
                        let aki = Reader::new(value).expect(asn1::TAG_SEQUENCE)?;
                        view.authority_key_id = Reader::new(aki.value)
                            .optional(asn1::ctx_prim(0))
                            .map(|t| t.value);
                    }
                    _ => {}
                }
            }
        }
        Some(view)
    }

    pub fn public_key(&self) -> Option<PublicKey<'a>> {
        PublicKey::from_spki(self.spki)
    }

    /// The subjectPublicKey bits (for comparing keys).
    pub fn public_key_bits(&self) -> Option<&'a [u8]> {
        let (outer, _) = asn1::read_tlv(self.spki)?;
        let mut r = Reader::new(outer.value);
        r.expect(asn1::TAG_SEQUENCE)?;
        r.expect(asn1::TAG_BIT_STRING)?.value.get(1..)
    }

    /// Whether `issuer_key` signed this certificate.
    pub fn signed_by(&self, issuer_key: &PublicKey<'_>) -> bool {
        match hash_of_signature_alg(self.sig_alg) {
            Some(hash) => issuer_key.verify(self.sig_alg, hash, self.tbs, self.signature),
            None => false,
        }
    }

    /// Whether `issuer` could be this certificate's issuer by name and, when both carry key identifiers,
    /// by key identifier.
    pub fn names_issuer(&self, issuer: &CertView<'_>) -> bool {
        self.issuer == issuer.subject
            && match (self.authority_key_id, issuer.subject_key_id) {
                (Some(aki), Some(ski)) => aki == ski,
                _ => true,
            }
    }

    pub fn is_self_issued(&self) -> bool {
        self.issuer == self.subject
    }

    pub fn valid_at(&self, unix: i64) -> bool {
        self.not_before <= unix && unix <= self.not_after
    }

    pub fn subject_string(&self) -> String {
        name_to_string(self.subject)
    }

    pub fn subject_common_name(&self) -> Option<String> {
        name_attribute(self.subject, oid::AT_COMMON_NAME)
    }
}

fn two_digits(b: &[u8], at: usize) -> Option<i64> {
    let hi = b.get(at)?;
    let lo = b.get(at + 1)?;
    if !hi.is_ascii_digit() || !lo.is_ascii_digit() {
        return None;
    }
    Some(i64::from(hi - b'0') * 10 + i64::from(lo - b'0'))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as a Unix timestamp.
pub fn parse_time(t: Tlv<'_>) -> Option<i64> {
    let v = t.value;
    let (year, rest) = match t.tag {
        asn1::TAG_UTC_TIME => {
            let yy = two_digits(v, 0)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, v.get(2..)?)
        }
        asn1::TAG_GENERALIZED_TIME => (two_digits(v, 0)? * 100 + two_digits(v, 2)?, v.get(4..)?),
        _ => return None,
    };
    let month = two_digits(rest, 0)?;
    let day = two_digits(rest, 2)?;
    let hour = two_digits(rest, 4)?;
    let minute = two_digits(rest, 6)?;
    let second = two_digits(rest, 8)?;
    if rest.get(10..)? != b"Z" {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let tod = time::Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, tod)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Decodes a directory string value to text (UTF-8, Printable/IA5/T61 as Latin-1, BMP, Universal).
fn directory_string(t: Tlv<'_>) -> Option<String> {
    match t.tag {
        asn1::TAG_UTF8_STRING => Some(String::from_utf8_lossy(t.value).into_owned()),
        asn1::TAG_PRINTABLE_STRING | asn1::TAG_IA5_STRING | asn1::TAG_T61_STRING => {
            Some(t.value.iter().map(|&b| char::from(b)).collect())
        }
        asn1::TAG_BMP_STRING => {
            let units: Vec<u16> = t
                .value
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok())
                .map(u16::from_be_bytes)
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        asn1::TAG_UNIVERSAL_STRING => Some(
            t.value
                .chunks_exact(4)
                .filter_map(|c| <[u8; 4]>::try_from(c).ok())
                .map(|c| char::from_u32(u32::from_be_bytes(c)).unwrap_or('\u{fffd}'))
                .collect(),
        ),
        _ => None,
    }
}

fn attribute_label(id: &[u8]) -> Option<&'static str> {
    Some(match id {
        oid::AT_COMMON_NAME => "CN",
        oid::AT_SERIAL_NUMBER => "serialNumber",
        oid::AT_COUNTRY => "C",
        oid::AT_LOCALITY => "L",
        oid::AT_STATE => "ST",
        oid::AT_STREET => "street",
        oid::AT_ORGANIZATION => "O",
        oid::AT_ORGANIZATIONAL_UNIT => "OU",
        oid::AT_TITLE => "title",
        oid::AT_GIVEN_NAME => "GN",
        oid::AT_SURNAME => "SN",
        oid::AT_EMAIL => "emailAddress",
        oid::AT_UID => "UID",
        _ => return None,
    })
}

/// Every (type OID, value TLV) of a Name, in encoding order.
fn name_attributes(name: &[u8]) -> Vec<(&[u8], Tlv<'_>)> {
    let mut out = Vec::new();
    let Some((seq, _)) = asn1::read_tlv(name) else {
        return out;
    };
    let mut rdns = Reader::new(seq.value);
    while let Some(rdn) = rdns.any() {
        let mut atvs = Reader::new(rdn.value);
        while let Some(atv) = atvs.any() {
            let mut a = Reader::new(atv.value);
            if let (Some(id), Some(value)) = (a.expect(asn1::TAG_OID), a.any()) {
                out.push((id.value, value));
            }
        }
    }
    out
}

/// The first value of attribute `id` in a DER Name.
pub fn name_attribute(name: &[u8], id: &[u8]) -> Option<String> {
    name_attributes(name)
        .into_iter()
        .find(|(t, _)| *t == id)
        .and_then(|(_, v)| directory_string(v))
}

/// A DER Name in RFC 4514 style (most specific first), e.g. `CN=Seal, O=Org, C=VN`.
pub fn name_to_string(name: &[u8]) -> String {
    let parts: Vec<String> = name_attributes(name)
        .into_iter()
        .rev()
        .map(|(id, value)| {
            let label = attribute_label(id)
                .map(str::to_string)
                .unwrap_or_else(|| format!("OID.{}", hex::encode(id)));
            let text = directory_string(value).unwrap_or_else(|| format!("#{}", hex::encode(value.raw)));
            format!("{label}={text}")
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let utc = asn1::tlv(asn1::TAG_UTC_TIME, b"700101000000Z");
        let (t, _) = asn1::read_tlv(&utc).unwrap();
        assert_eq!(parse_time(t), Some(0));
        let gen = asn1::tlv(asn1::TAG_GENERALIZED_TIME, b"20500101000001Z");
        let (t, _) = asn1::read_tlv(&gen).unwrap();
        assert_eq!(parse_time(t), Some(2_524_608_001));
        let bad = asn1::tlv(asn1::TAG_UTC_TIME, b"701301000000Z");
        let (t, _) = asn1::read_tlv(&bad).unwrap();
        assert_eq!(parse_time(t), None);
    }

    #[test]
    fn names() {
        let atv = |id: &[u8], tag: u8, v: &[u8]| {
            asn1::set_of(
                asn1::TAG_SET,
                vec![asn1::sequence(&[&asn1::oid_tlv(id), &asn1::tlv(tag, v)])],
            )
        };
        let name = asn1::sequence(&[
            &atv(oid::AT_COUNTRY, asn1::TAG_PRINTABLE_STRING, b"VN"),
            &atv(
                oid::AT_ORGANIZATION,
                asn1::TAG_UTF8_STRING,
                "Sở Tư pháp".as_bytes(),
            ),
            &atv(oid::AT_COMMON_NAME, asn1::TAG_UTF8_STRING, "Dấu".as_bytes()),
        ]);
        assert_eq!(name_to_string(&name), "CN=Dấu, O=Sở Tư pháp, C=VN");
        assert_eq!(name_attribute(&name, oid::AT_COMMON_NAME).as_deref(), Some("Dấu"));
        assert_eq!(name_to_string(&[0x30, 0x01]), "");
    }
}
