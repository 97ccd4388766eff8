//! Building X.509 certificates with this crate's DER writer, signed through any key (a [`Signer`] or a
//! plain signing function), plus the DER pieces shared by CRLs, OCSP and timestamps: times, extensions,
//! key identifiers and the object identifiers of the trust services.
use crate::asn1::{self, oid, Reader};
use crate::cert::CertView;
use crate::{SignatureAlgorithm, Signer, SigningError};

/// Object identifiers of the trust services (content bytes of their DER encoding).
pub mod oids {
    /// id-kp-timeStamping 1.3.6.1.5.5.7.3.8
    pub const KP_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
    /// id-kp-OCSPSigning 1.3.6.1.5.5.7.3.9
    pub const KP_OCSP_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09];
    /// id-pkix-ocsp-nocheck 1.3.6.1.5.5.7.48.1.5
    pub const OCSP_NOCHECK: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05];
    /// extKeyUsage 2.5.29.37
    pub const EXT_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    /// cRLDistributionPoints 2.5.29.31
    pub const EXT_CRL_DP: &[u8] = &[0x55, 0x1d, 0x1f];
    /// authorityInfoAccess 1.3.6.1.5.5.7.1.1
    pub const EXT_AIA: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];
    /// id-ad-ocsp 1.3.6.1.5.5.7.48.1
    pub const AD_OCSP: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    /// id-ad-caIssuers 1.3.6.1.5.5.7.48.2
    pub const AD_CA_ISSUERS: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02];
    /// cRLNumber 2.5.29.20
    pub const EXT_CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
    /// reasonCode 2.5.29.21
    pub const EXT_REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];
    /// id-pkix-ocsp-basic 1.3.6.1.5.5.7.48.1.1
    pub const OCSP_BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
    /// id-pkix-ocsp-nonce 1.3.6.1.5.5.7.48.1.2
    pub const OCSP_NONCE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
    /// id-sha1 1.3.14.3.2.26
    pub const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
    /// id-ct-TSTInfo 1.2.840.113549.1.9.16.1.4
    pub const CT_TST_INFO: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04];
    /// id-aa-signatureTimeStampToken 1.2.840.113549.1.9.16.2.14
    pub const ATTR_SIGNATURE_TIME_STAMP: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e];
}

/// ENUMERATED tag.
pub const TAG_ENUMERATED: u8 = 0x0a;

/// Encodes a dotted object identifier (`"1.2.3"`) as OID content bytes.
pub fn oid_from_dotted(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse::<u64>().ok())
        .collect::<Option<Vec<_>>>()?;
    let (&first, rest) = arcs.split_first()?;
    let (&second, rest) = rest.split_first()?;
    if first > 2 || (first < 2 && second >= 40) {
        return None;
    }
    let mut all = vec![first.checked_mul(40)?.checked_add(second)?];
    all.extend_from_slice(rest);
    let mut out = Vec::new();
    for arc in all {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            chunk.push(((v & 0x7f) as u8) | 0x80);
            v >>= 7;
        }
        chunk.reverse();
        out.extend(chunk);
    }
    Some(out)
}

/// Dotted form of OID content bytes.
pub fn oid_to_dotted(bytes: &[u8]) -> String {
    let mut arcs = Vec::new();
    let mut v: u64 = 0;
    for &b in bytes {
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(v);
            v = 0;
        }
    }
    let mut out = String::new();
    if let Some((&first, rest)) = arcs.split_first() {
        let (a, b) = if first < 80 {
            (first / 40, first % 40)
        } else {
            (2, first - 80)
        };
        out = format!("{a}.{b}");
        for arc in rest {
            out.push('.');
            out.push_str(&arc.to_string());
        }
    }
    out
}

/// `GeneralizedTime` (`YYYYMMDDHHMMSSZ`, UTC, whole seconds).
pub fn generalized_time(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    asn1::tlv(asn1::TAG_GENERALIZED_TIME, s.as_bytes())
}

/// A certificate or CRL `Time`: `UTCTime` up to 2049, `GeneralizedTime` from 2050 (RFC 5280).
pub fn x509_time(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    if (1950..2050).contains(&t.year()) {
        let s = format!(
            "{:02}{:02}{:02}{:02}{:02}{:02}Z",
            t.year() % 100,
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        asn1::tlv(asn1::TAG_UTC_TIME, s.as_bytes())
    } else {
        generalized_time(t)
    }
}

/// The `AlgorithmIdentifier` of signatures made by `alg`.
pub fn signature_algorithm_id(alg: SignatureAlgorithm) -> Vec<u8> {
    match alg {
        SignatureAlgorithm::EcdsaP256Sha256 => asn1::algorithm(oid::ECDSA_WITH_SHA256),
        SignatureAlgorithm::RsaPkcs1Sha256 => asn1::algorithm_null(oid::SHA256_WITH_RSA),
    }
}

/// An `INTEGER` from big-endian unsigned bytes (a leading zero added when needed, leading zeros trimmed).
pub fn uint_bytes(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    let mut content = Vec::with_capacity(significant.len() + 1);
    if significant.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(significant);
    asn1::tlv(asn1::TAG_INTEGER, &content)
}

/// A random positive 128-bit serial number (INTEGER content bytes, 16 octets, no leading zero).
pub fn random_serial() -> Vec<u8> {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    bytes.to_vec()
}

/// SHA-1 (for key identifiers and OCSP CertIDs only).
pub fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// The subjectPublicKey bits of a DER `SubjectPublicKeyInfo`.
pub fn spki_key_bits(spki: &[u8]) -> Option<&[u8]> {
    let (outer, _) = asn1::read_tlv(spki)?;
    let mut r = Reader::new(outer.value);
    r.expect(asn1::TAG_SEQUENCE)?;
    r.expect(asn1::TAG_BIT_STRING)?.value.get(1..)
}

/// RFC 5280 key identifier (method 1): SHA-1 of the subjectPublicKey bits.
pub fn key_identifier(spki: &[u8]) -> Option<Vec<u8>> {
    spki_key_bits(spki).map(sha1)
}

/// The DER `SubjectPublicKeyInfo` of an uncompressed P-256 point.
pub fn p256_spki(point: &[u8]) -> Vec<u8> {
    let mut bits = Vec::with_capacity(point.len() + 1);
    bits.push(0);
    bits.extend_from_slice(point);
    asn1::sequence(&[
        &asn1::sequence(&[
            &asn1::oid_tlv(oid::EC_PUBLIC_KEY),
            &asn1::oid_tlv(oid::CURVE_P256),
        ]),
        &asn1::tlv(asn1::TAG_BIT_STRING, &bits),
    ])
}

/// One extension of a certificate (or CRL entry list): `(critical, extnValue content)`.
pub fn find_extension<'a>(extensions_seq_content: &'a [u8], id: &[u8]) -> Option<(bool, &'a [u8])> {
    let mut list = Reader::new(extensions_seq_content);
    while !list.is_empty() {
        let ext = list.expect(asn1::TAG_SEQUENCE)?;
        let mut e = Reader::new(ext.value);
        let ext_id = e.expect(asn1::TAG_OID)?.value;
        let critical = e
            .optional(asn1::TAG_BOOLEAN)
            .is_some_and(|b| b.value.first().is_some_and(|&x| x != 0));
        let value = e.expect(asn1::TAG_OCTET_STRING)?.value;
        if ext_id == id {
            return Some((critical, value));
        }
    }
    None
}

/// The content of the `Extensions` SEQUENCE of a DER certificate.
pub fn certificate_extensions(cert_der: &[u8]) -> Option<&[u8]> {
    let view = CertView::parse(cert_der)?;
    let (tbs, _) = asn1::read_tlv(view.tbs)?;
    let mut t = Reader::new(tbs.value);
    while !t.is_empty() {
        let item = t.any()?;
        if item.tag == asn1::ctx_cons(3) {
            return Some(Reader::new(item.value).expect(asn1::TAG_SEQUENCE)?.value);
        }
    }
    None
}

/// The extended key usages of a certificate (OID content bytes) and whether the extension is critical.
pub fn extended_key_usages(cert_der: &[u8]) -> Option<(bool, Vec<Vec<u8>>)> {
    let exts = certificate_extensions(cert_der)?;
    let (critical, value) = find_extension(exts, oids::EXT_EXT_KEY_USAGE)?;
    let seq = Reader::new(value).expect(asn1::TAG_SEQUENCE)?;
    let mut r = Reader::new(seq.value);
    let mut out = Vec::new();
    while !r.is_empty() {
        out.push(r.expect(asn1::TAG_OID)?.value.to_vec());
    }
    Some((critical, out))
}

/// What a certificate is for; decides basicConstraints, keyUsage and extKeyUsage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProfile {
    /// A self-signed root CA (keyCertSign, cRLSign; no path length limit).
    RootCa,
    /// A subordinate CA with an optional path length constraint.
    SubCa { path_len: Option<u8> },
    /// A signing certificate (seal, officer): digitalSignature + nonRepudiation.
    Signing,
    /// A timestamping unit: digitalSignature, critical extKeyUsage id-kp-timeStamping.
    TimeStamping,
    /// An OCSP responder: digitalSignature, extKeyUsage id-kp-OCSPSigning, id-pkix-ocsp-nocheck.
    OcspResponder,
}

/// Where relying parties find revocation data and the issuer's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pointers {
    pub crl_url: Option<String>,
    pub ocsp_url: Option<String>,
    pub ca_issuers_url: Option<String>,
}

/// What to certify.
#[derive(Debug, Clone)]
pub struct CertTemplate {
    /// The DER `Name` of the subject (see [`encode_name`]).
    pub subject: Vec<u8>,
    /// The DER `SubjectPublicKeyInfo` to certify.
    pub spki: Vec<u8>,
    pub profile: CertProfile,
    pub not_before: time::OffsetDateTime,
    pub not_after: time::OffsetDateTime,
    /// Serial INTEGER content bytes; random when `None`.
    pub serial: Option<Vec<u8>>,
    pub pointers: Pointers,
}

/// A DER `Name`: C (PrintableString), O, then CN (UTF8String); empty parts are left out.
pub fn encode_name(country: &str, organization: &str, common_name: &str) -> Vec<u8> {
    let rdn = |id: &[u8], tag: u8, value: &str| {
        asn1::set_of(
            asn1::TAG_SET,
            vec![asn1::sequence(&[
                &asn1::oid_tlv(id),
                &asn1::tlv(tag, value.as_bytes()),
            ])],
        )
    };
    let mut parts = Vec::new();
    if !country.is_empty() {
        parts.push(rdn(oid::AT_COUNTRY, asn1::TAG_PRINTABLE_STRING, country));
    }
    if !organization.is_empty() {
        parts.push(rdn(oid::AT_ORGANIZATION, asn1::TAG_UTF8_STRING, organization));
    }
    if !common_name.is_empty() {
        parts.push(rdn(oid::AT_COMMON_NAME, asn1::TAG_UTF8_STRING, common_name));
    }
    asn1::tlv(asn1::TAG_SEQUENCE, &parts.concat())
}

fn extension(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let critical_flag: &[u8] = if critical {
        &[asn1::TAG_BOOLEAN, 1, 0xff]
    } else {
        &[]
    };
    asn1::sequence(&[
        &asn1::oid_tlv(id),
        critical_flag,
        &asn1::tlv(asn1::TAG_OCTET_STRING, value),
    ])
}

/// keyUsage as a DER BIT STRING from the first octet of bits (digitalSignature = 0x80).
fn key_usage_bits(first_octet: u8) -> Vec<u8> {
    let unused = if first_octet == 0 {
        0
    } else {
        first_octet.trailing_zeros() as u8
    };
    asn1::tlv(asn1::TAG_BIT_STRING, &[unused, first_octet])
}

fn uri(url: &str) -> Vec<u8> {
    asn1::tlv(asn1::ctx_prim(6), url.as_bytes())
}

/// The DER `Extensions` SEQUENCE of a certificate.
fn certificate_extension_list(
    template: &CertTemplate,
    issuer_key_id: Option<&[u8]>,
) -> Result<Vec<u8>, SigningError> {
    const DIGITAL_SIGNATURE: u8 = 0x80;
    const NON_REPUDIATION: u8 = 0x40;
    const KEY_CERT_SIGN: u8 = 0x04;
    const CRL_SIGN: u8 = 0x02;
    let mut exts = Vec::new();
    type Usage = (bool, Option<u8>, u8, Option<(&'static [u8], bool)>);
    let (ca, path_len, ku, eku): Usage = match template.profile {
        CertProfile::RootCa => (true, None, KEY_CERT_SIGN | CRL_SIGN, None),
        CertProfile::SubCa { path_len } => (true, path_len, KEY_CERT_SIGN | CRL_SIGN, None),
        CertProfile::Signing => (false, None, DIGITAL_SIGNATURE | NON_REPUDIATION, None),
        CertProfile::TimeStamping => (
            false,
            None,
            DIGITAL_SIGNATURE,
            Some((oids::KP_TIME_STAMPING, true)),
        ),
        CertProfile::OcspResponder => (
            false,
            None,
            DIGITAL_SIGNATURE,
            Some((oids::KP_OCSP_SIGNING, false)),
        ),
    };
    let bc = if ca {
        let limit = path_len.map(|n| asn1::uint(u64::from(n))).unwrap_or_default();
        asn1::sequence(&[&[asn1::TAG_BOOLEAN, 1, 0xff], &limit])
    } else {
        asn1::sequence(&[])
    };
    exts.push(extension(oid::EXT_BASIC_CONSTRAINTS, true, &bc));
    exts.push(extension(oid::EXT_KEY_USAGE, true, &key_usage_bits(ku)));
    if let Some((purpose, critical)) = eku {
        exts.push(extension(
            oids::EXT_EXT_KEY_USAGE,
            critical,
            &asn1::sequence(&[&asn1::oid_tlv(purpose)]),
        ));
    }
    let ski = key_identifier(&template.spki)
        .ok_or_else(|| SigningError::Certificate("the subject public key does not parse".into()))?;
    exts.push(extension(
        oid::EXT_SUBJECT_KEY_ID,
        false,
        &asn1::tlv(asn1::TAG_OCTET_STRING, &ski),
    ));
    if let Some(aki) = issuer_key_id {
        exts.push(extension(
            oid::EXT_AUTHORITY_KEY_ID,
            false,
            &asn1::sequence(&[&asn1::tlv(asn1::ctx_prim(0), aki)]),
        ));
    }
    if let Some(url) = &template.pointers.crl_url {
        // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
        let full_name = asn1::tlv(asn1::ctx_cons(0), &uri(url));
        let dp = asn1::sequence(&[&asn1::tlv(asn1::ctx_cons(0), &full_name)]);
        exts.push(extension(oids::EXT_CRL_DP, false, &asn1::sequence(&[&dp])));
    }
    let mut access = Vec::new();
    if let Some(url) = &template.pointers.ocsp_url {
        access.push(asn1::sequence(&[&asn1::oid_tlv(oids::AD_OCSP), &uri(url)]));
    }
    if let Some(url) = &template.pointers.ca_issuers_url {
        access.push(asn1::sequence(&[&asn1::oid_tlv(oids::AD_CA_ISSUERS), &uri(url)]));
    }
    if !access.is_empty() {
        exts.push(extension(
            oids::EXT_AIA,
            false,
            &asn1::tlv(asn1::TAG_SEQUENCE, &access.concat()),
        ));
    }
    if template.profile == CertProfile::OcspResponder {
        exts.push(extension(oids::OCSP_NOCHECK, false, &[asn1::TAG_NULL, 0]));
    }
    Ok(asn1::tlv(asn1::TAG_SEQUENCE, &exts.concat()))
}

/// Signs a to-be-signed structure with an issuer key, returning the signature value.
pub type SignFn<'a> = dyn Fn(&[u8]) -> Result<Vec<u8>, SigningError> + 'a;

/// Builds and signs a certificate. `issuer_name` is the issuer's subject DER (the template's own subject
/// for a self-signed root), `issuer_key_id` its subject key identifier, `sign` signs the TBS with the
/// issuer's key using `alg`.
pub fn build_certificate(
    template: &CertTemplate,
    issuer_name: &[u8],
    issuer_key_id: Option<&[u8]>,
    alg: SignatureAlgorithm,
    sign: &SignFn<'_>,
) -> Result<Vec<u8>, SigningError> {
    let serial = template.serial.clone().unwrap_or_else(random_serial);
    let sig_alg = signature_algorithm_id(alg);
    let validity = asn1::sequence(&[&x509_time(template.not_before), &x509_time(template.not_after)]);
    let extensions = certificate_extension_list(template, issuer_key_id)?;
    let tbs = asn1::sequence(&[
        &asn1::tlv(asn1::ctx_cons(0), &asn1::uint(2)),
        &uint_bytes(&serial),
        &sig_alg,
        issuer_name,
        &validity,
        &template.subject,
        &template.spki,
        &asn1::tlv(asn1::ctx_cons(3), &extensions),
    ]);
    let signature = sign(&tbs)?;
    Ok(signed_structure(&tbs, &sig_alg, &signature))
}

/// `SEQUENCE { tbs, algorithm, BIT STRING signature }` (certificates, CRLs, OCSP basic responses).
pub fn signed_structure(tbs: &[u8], sig_alg: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0);
    bits.extend_from_slice(signature);
    asn1::sequence(&[tbs, sig_alg, &asn1::tlv(asn1::TAG_BIT_STRING, &bits)])
}

/// Issues a certificate with a CA key behind the [`Signer`] seam (software or HSM): the issuer name and
/// key identifier come from the CA certificate (`ca.chain()[0]`); the subject key is any SPKI (for
/// example the public key of an HSM key).
pub fn issue_certificate(ca: &dyn Signer, template: &CertTemplate) -> Result<Vec<u8>, SigningError> {
    let ca_der = ca
        .chain()
        .first()
        .ok_or_else(|| SigningError::Certificate("the CA signer has no certificate".into()))?;
    let ca_cert = CertView::parse(ca_der)
        .ok_or_else(|| SigningError::Certificate("the CA certificate does not parse".into()))?;
    if !ca_cert.is_ca {
        return Err(SigningError::Certificate("the issuer is not a CA".into()));
    }
    let key_id = match ca_cert.subject_key_id {
        Some(k) => k.to_vec(),
        None => key_identifier(ca_cert.spki)
            .ok_or_else(|| SigningError::Certificate("the CA public key does not parse".into()))?,
    };
    build_certificate(template, ca_cert.subject, Some(&key_id), ca.algorithm(), &|tbs| {
        ca.sign(tbs)
    })
}

/// Verifies a signed structure (`tbs`, signature algorithm OID, signature) with the key of `cert_der`.
pub fn verify_with_cert(cert_der: &[u8], tbs: &[u8], sig_alg: &[u8], signature: &[u8]) -> bool {
    let Some(cert) = CertView::parse(cert_der) else {
        return false;
    };
    let (Some(key), Some(hash)) = (cert.public_key(), crate::cert::hash_of_signature_alg(sig_alg)) else {
        return false;
    };
    key.verify(sig_alg, hash, tbs, signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip() {
        for (dotted, bytes) in [
            ("1.3.6.1.5.5.7.3.8", oids::KP_TIME_STAMPING),
            ("1.3.6.1.5.5.7.48.1.2", oids::OCSP_NONCE),
            ("1.2.840.113549.1.9.16.2.14", oids::ATTR_SIGNATURE_TIME_STAMP),
            ("1.2.840.113549.1.9.16.1.4", oids::CT_TST_INFO),
            ("2.5.29.31", oids::EXT_CRL_DP),
            ("1.3.14.3.2.26", oids::SHA1),
        ] {
            assert_eq!(oid_from_dotted(dotted).unwrap(), bytes, "{dotted}");
            assert_eq!(oid_to_dotted(bytes), dotted);
        }
        assert_eq!(oid_to_dotted(&oid_from_dotted("2.999.1").unwrap()), "2.999.1");
        assert!(oid_from_dotted("1.40").is_none());
        assert!(oid_from_dotted("x").is_none());
    }

    #[test]
    fn times_and_integers() {
        let t = time::macros::datetime!(2025-03-04 05:06:07 UTC);
        assert_eq!(x509_time(t), asn1::tlv(asn1::TAG_UTC_TIME, b"250304050607Z"));
        assert_eq!(
            generalized_time(t),
            asn1::tlv(asn1::TAG_GENERALIZED_TIME, b"20250304050607Z")
        );
        let late = time::macros::datetime!(2051-01-01 00:00:00 UTC);
        assert_eq!(
            x509_time(late),
            asn1::tlv(asn1::TAG_GENERALIZED_TIME, b"20510101000000Z")
        );
        assert_eq!(uint_bytes(&[0, 0, 5]), vec![2, 1, 5]);
        assert_eq!(uint_bytes(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(uint_bytes(&[]), vec![2, 1, 0]);
        assert_eq!(key_usage_bits(0xc0), vec![3, 2, 6, 0xc0]);
        assert_eq!(key_usage_bits(0x06), vec![3, 2, 1, 0x06]);
    }
}
