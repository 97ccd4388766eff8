//! A certificate read with x509-cert (its DER kept beside it), public keys, and signature checks.
use crate::oid::{self, Oid};
use der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::Certificate;

/// Hash algorithms understood here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    /// From a digest algorithm OID (the content bytes of its encoding).
    pub fn from_oid(oid_bytes: &[u8]) -> Option<Self> {
        Self::from_id(&Oid::from_bytes(oid_bytes).ok()?)
    }

    /// From a digest algorithm OID.
    pub fn from_id(id: &Oid) -> Option<Self> {
        match *id {
            oid::SHA256 => Some(Self::Sha256),
            oid::SHA384 => Some(Self::Sha384),
            oid::SHA512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The digest algorithm's OID.
    pub fn id(self) -> Oid {
        match self {
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
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

impl KeyType {
    /// From a key algorithm OID and, for EC keys, the named curve in its parameters.
    fn of(algorithm: Oid, curve: Option<Oid>) -> Option<Self> {
        match (algorithm, curve) {
            (oid::EC_PUBLIC_KEY, Some(oid::CURVE_P256)) => Some(Self::P256),
            (oid::EC_PUBLIC_KEY, Some(oid::CURVE_P384)) => Some(Self::P384),
            (oid::RSA_ENCRYPTION, _) => Some(Self::Rsa),
            _ => None,
        }
    }
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
        let info = spki::SubjectPublicKeyInfoRef::from_der(spki).ok()?;
        let curve = info.algorithm.parameters.and_then(|p| p.decode_as::<Oid>().ok());
        Some(Self {
            key_type: KeyType::of(info.algorithm.oid, curve)?,
            bits: info.subject_public_key.as_bytes()?,
        })
    }

    /// The key of a parsed `SubjectPublicKeyInfo`.
    pub fn from_info(info: &'a spki::SubjectPublicKeyInfoOwned) -> Option<Self> {
        let curve = info
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<Oid>().ok());
        Some(Self {
            key_type: KeyType::of(info.algorithm.oid, curve)?,
            bits: info.subject_public_key.as_bytes()?,
        })
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
        let Ok(sig_alg) = Oid::from_bytes(sig_alg) else {
            return false;
        };
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

/// The hash implied by a signature algorithm OID (content bytes; `None` when the OID names only the key
/// type).
pub fn hash_of_signature_alg(sig_alg: &[u8]) -> Option<HashAlg> {
    match Oid::from_bytes(sig_alg).ok()? {
        oid::ECDSA_WITH_SHA256 | oid::SHA256_WITH_RSA => Some(HashAlg::Sha256),
        oid::ECDSA_WITH_SHA384 | oid::SHA384_WITH_RSA => Some(HashAlg::Sha384),
        oid::ECDSA_WITH_SHA512 | oid::SHA512_WITH_RSA => Some(HashAlg::Sha512),
        _ => None,
    }
}

/// A certificate parsed by x509-cert, with its DER and the extensions this crate judges by.
#[derive(Debug, Clone)]
pub struct CertView<'a> {
    /// The certificate as received.
    pub raw: &'a [u8],
    cert: Certificate,
    pub not_before: i64,
    pub not_after: i64,
    /// basicConstraints cA.
    pub is_ca: bool,
    pub path_len: Option<u64>,
    /// keyUsage bits (bit 0 = digitalSignature as the most significant bit of the first octet) if present.
    pub key_usage: Option<u16>,
    pub subject_key_id: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier.
    pub authority_key_id: Option<Vec<u8>>,
}

/// keyUsage keyCertSign in the representation of [`CertView::key_usage`].
pub const KU_KEY_CERT_SIGN: u16 = 0x0400;

/// Seconds since the Unix epoch of an X.509 time.
pub fn unix_time(t: x509_cert::time::Time) -> Option<i64> {
    i64::try_from(t.to_unix_duration().as_secs()).ok()
}

impl<'a> CertView<'a> {
    /// Parses a DER certificate; `None` if it is not one, or if an extension this crate judges by is
    /// malformed or repeated (RFC 5280 §4.2).
    pub fn parse(der: &'a [u8]) -> Option<Self> {
        crate::bounds::check(der).ok()?;
        let cert = Certificate::from_der(der).ok()?;
        let tbs = &cert.tbs_certificate;
        let basic = tbs.get::<BasicConstraints>().ok()?.map(|(_, b)| b);
        // x509-cert numbers the flags from the least significant bit; this crate keeps the DER bit order.
        let key_usage = tbs
            .get::<KeyUsage>()
            .ok()?
            .map(|(_, ku)| ku.0.bits().reverse_bits());
        let subject_key_id = tbs
            .get::<SubjectKeyIdentifier>()
            .ok()?
            .map(|(_, id)| id.0.as_bytes().to_vec());
        let authority_key_id = tbs
            .get::<AuthorityKeyIdentifier>()
            .ok()?
            .and_then(|(_, aki)| aki.key_identifier.map(|id| id.as_bytes().to_vec()));
        Some(Self {
            raw: der,
            not_before: unix_time(tbs.validity.not_before)?,
            not_after: unix_time(tbs.validity.not_after)?,
            is_ca: basic.as_ref().is_some_and(|b| b.ca),
            path_len: basic.and_then(|b| b.path_len_constraint).map(u64::from),
            key_usage,
            subject_key_id,
            authority_key_id,
            cert,
        })
    }

    /// The parsed certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// The DER of `tbsCertificate`, what the issuer signed. DER has one encoding per value, so for a
    /// certificate in DER this is the signed octets; for any other encoding the signature check fails.
    pub fn tbs_der(&self) -> Option<Vec<u8>> {
        self.cert.tbs_certificate.to_der().ok()
    }

    /// The serial number INTEGER's content bytes.
    pub fn serial(&self) -> &[u8] {
        self.cert.tbs_certificate.serial_number.as_bytes()
    }

    pub fn issuer(&self) -> &Name {
        &self.cert.tbs_certificate.issuer
    }

    pub fn subject(&self) -> &Name {
        &self.cert.tbs_certificate.subject
    }

    /// The DER of the issuer Name.
    pub fn issuer_der(&self) -> Option<Vec<u8>> {
        self.issuer().to_der().ok()
    }

    /// The DER of the subject Name.
    pub fn subject_der(&self) -> Option<Vec<u8>> {
        self.subject().to_der().ok()
    }

    /// The DER of the SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Option<Vec<u8>> {
        self.cert.tbs_certificate.subject_public_key_info.to_der().ok()
    }

    /// The outer signature algorithm OID (content bytes).
    pub fn sig_alg(&self) -> &[u8] {
        self.cert.signature_algorithm.oid.as_bytes()
    }

    /// The issuer's signature value (`None` if its BIT STRING has unused bits).
    pub fn signature(&self) -> Option<&[u8]> {
        self.cert.signature.as_bytes()
    }

    pub fn public_key(&self) -> Option<PublicKey<'_>> {
        PublicKey::from_info(&self.cert.tbs_certificate.subject_public_key_info)
    }

    /// The subjectPublicKey bits (for comparing keys and for key hashes).
    pub fn public_key_bits(&self) -> Option<&[u8]> {
        self.cert
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .as_bytes()
    }

    /// Whether `issuer_key` signed this certificate.
    pub fn signed_by(&self, issuer_key: &PublicKey<'_>) -> bool {
        let (Some(hash), Some(tbs), Some(signature)) = (
            hash_of_signature_alg(self.sig_alg()),
            self.tbs_der(),
            self.signature(),
        ) else {
            return false;
        };
        issuer_key.verify(self.sig_alg(), hash, &tbs, signature)
    }

    /// Whether `issuer` could be this certificate's issuer by name and, when both carry key identifiers,
    /// by key identifier.
    pub fn names_issuer(&self, issuer: &CertView<'_>) -> bool {
        self.issuer() == issuer.subject()
            && match (&self.authority_key_id, &issuer.subject_key_id) {
                (Some(aki), Some(ski)) => aki == ski,
                _ => true,
            }
    }

    pub fn is_self_issued(&self) -> bool {
        self.issuer() == self.subject()
    }

    pub fn valid_at(&self, unix: i64) -> bool {
        self.not_before <= unix && unix <= self.not_after
    }

    pub fn subject_string(&self) -> String {
        name_to_string(self.subject())
    }

    pub fn subject_common_name(&self) -> Option<String> {
        name_attribute(self.subject(), oid::AT_COMMON_NAME)
    }
}

/// A directory string value as text (UTF-8; Printable, IA5 and Teletex read as Latin-1; BMP).
fn directory_string(value: &der::Any) -> Option<String> {
    use der::Tagged as _;
    let bytes = value.value();
    match value.tag() {
        der::Tag::Utf8String => Some(String::from_utf8_lossy(bytes).into_owned()),
        der::Tag::PrintableString | der::Tag::Ia5String | der::Tag::TeletexString => {
            Some(bytes.iter().map(|&b| char::from(b)).collect())
        }
        der::Tag::BmpString => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .filter_map(|c| <[u8; 2]>::try_from(c).ok())
                .map(u16::from_be_bytes)
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

fn attribute_label(id: Oid) -> Option<&'static str> {
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

/// The first value of attribute `id` in a Name.
pub fn name_attribute(name: &Name, id: Oid) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == id)
        .and_then(|atv| directory_string(&atv.value))
}

/// A Name in RFC 4514 style (most specific first), e.g. `CN=Seal, O=Org, C=VN`.
pub fn name_to_string(name: &Name) -> String {
    let parts: Vec<String> = name
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .rev()
        .map(|atv| {
            let label = attribute_label(atv.oid)
                .map(str::to_string)
                .unwrap_or_else(|| format!("OID.{}", atv.oid));
            let text = directory_string(&atv.value)
                .unwrap_or_else(|| format!("#{}", hex::encode(atv.value.to_der().unwrap_or_default())));
            format!("{label}={text}")
        })
        .collect();
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::name::RelativeDistinguishedName;

    #[test]
    fn names() {
        let atv = |id: Oid, value: der::Any| {
            RelativeDistinguishedName(
                der::asn1::SetOfVec::try_from(vec![AttributeTypeAndValue { oid: id, value }]).unwrap(),
            )
        };
        let utf8 = |s: &str| der::Any::encode_from(&der::asn1::Utf8StringRef::new(s).unwrap()).unwrap();
        let name = x509_cert::name::RdnSequence(vec![
            atv(
                oid::AT_COUNTRY,
                der::Any::encode_from(&der::asn1::PrintableStringRef::new("VN").unwrap()).unwrap(),
            ),
            atv(oid::AT_ORGANIZATION, utf8("Sở Tư pháp")),
            atv(oid::AT_COMMON_NAME, utf8("Dấu")),
        ]);
        assert_eq!(name_to_string(&name), "CN=Dấu, O=Sở Tư pháp, C=VN");
        assert_eq!(name_attribute(&name, oid::AT_COMMON_NAME).as_deref(), Some("Dấu"));
        assert_eq!(name_to_string(&x509_cert::name::RdnSequence(vec![])), "");
    }

    #[test]
    fn key_usage_keeps_the_der_bit_order() {
        use x509_cert::ext::pkix::KeyUsages;
        let ku = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        assert_eq!(ku.0.bits().reverse_bits(), KU_KEY_CERT_SIGN | 0x0200);
        assert_eq!(
            KeyUsage(KeyUsages::DigitalSignature.into())
                .0
                .bits()
                .reverse_bits(),
            0x8000
        );
    }
}
