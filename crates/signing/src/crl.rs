//! X.509 v2 certificate revocation lists (RFC 5280 §5): building one signed by a CA key behind the
//! [`Signer`] seam, and reading and verifying one.
use crate::asn1::{self, Reader};
use crate::cert::CertView;
use crate::certgen::{self, oids, TAG_ENUMERATED};
use crate::{Signer, SigningError};

/// CRLReason (RFC 5280 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RevocationReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl RevocationReason {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            _ => return None,
        })
    }

    /// The DER `ENUMERATED` encoding.
    pub fn to_der(self) -> Vec<u8> {
        asn1::tlv(TAG_ENUMERATED, &[self.code()])
    }
}

/// One revoked certificate to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedEntry {
    /// The serial number INTEGER content bytes (as in [`CertView::serial`]).
    pub serial: Vec<u8>,
    pub revoked_at: time::OffsetDateTime,
    pub reason: Option<RevocationReason>,
}

/// Builds a DER X.509 v2 CRL signed by `ca` (its first certificate names the issuer), with the
/// cRLNumber and authorityKeyIdentifier extensions. Serials are listed in the given order.
pub fn build_crl(
    ca: &dyn Signer,
    this_update: time::OffsetDateTime,
    next_update: time::OffsetDateTime,
    crl_number: u64,
    revoked: &[RevokedEntry],
) -> Result<Vec<u8>, SigningError> {
    let ca_der = ca
        .chain()
        .first()
        .ok_or_else(|| SigningError::Certificate("the CA signer has no certificate".into()))?;
    let ca_cert = CertView::parse(ca_der)
        .ok_or_else(|| SigningError::Certificate("the CA certificate does not parse".into()))?;
    let key_id = match ca_cert.subject_key_id {
        Some(k) => k.to_vec(),
        None => certgen::key_identifier(ca_cert.spki)
            .ok_or_else(|| SigningError::Certificate("the CA public key does not parse".into()))?,
    };
    let sig_alg = certgen::signature_algorithm_id(ca.algorithm());
    let entries: Vec<Vec<u8>> = revoked
        .iter()
        .map(|e| {
            let extensions = e
                .reason
                .map(|r| {
                    asn1::sequence(&[&asn1::sequence(&[
                        &asn1::oid_tlv(oids::EXT_REASON_CODE),
                        &asn1::tlv(asn1::TAG_OCTET_STRING, &r.to_der()),
                    ])])
                })
                .unwrap_or_default();
            asn1::sequence(&[
                &certgen::uint_bytes(&e.serial),
                &certgen::x509_time(e.revoked_at),
                &extensions,
            ])
        })
        .collect();
    let revoked_list = if entries.is_empty() {
        Vec::new()
    } else {
        asn1::tlv(asn1::TAG_SEQUENCE, &entries.concat())
    };
    let crl_extensions = asn1::sequence(&[
        &asn1::sequence(&[
            &asn1::oid_tlv(crate::asn1::oid::EXT_AUTHORITY_KEY_ID),
            &asn1::tlv(
                asn1::TAG_OCTET_STRING,
                &asn1::sequence(&[&asn1::tlv(asn1::ctx_prim(0), &key_id)]),
            ),
        ]),
        &asn1::sequence(&[
            &asn1::oid_tlv(oids::EXT_CRL_NUMBER),
            &asn1::tlv(asn1::TAG_OCTET_STRING, &asn1::uint(crl_number)),
        ]),
    ]);
    let tbs = asn1::sequence(&[
        &asn1::uint(1),
        &sig_alg,
        ca_cert.subject,
        &certgen::x509_time(this_update),
        &certgen::x509_time(next_update),
        &revoked_list,
        &asn1::tlv(asn1::ctx_cons(0), &crl_extensions),
    ]);
    let signature = ca.sign(&tbs)?;
    Ok(certgen::signed_structure(&tbs, &sig_alg, &signature))
}

/// One entry of a parsed CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedInfo {
    /// Serial INTEGER content bytes.
    pub serial: Vec<u8>,
    /// Unix seconds.
    pub revoked_at: i64,
    pub reason: Option<u8>,
}

/// A parsed CRL (raw parts kept for signature checks).
#[derive(Debug, Clone)]
pub struct CrlInfo {
    /// The whole issuer Name TLV.
    pub issuer: Vec<u8>,
    pub this_update: i64,
    pub next_update: Option<i64>,
    pub crl_number: Option<u64>,
    pub authority_key_id: Option<Vec<u8>>,
    pub revoked: Vec<RevokedInfo>,
    tbs: Vec<u8>,
    sig_alg: Vec<u8>,
    signature: Vec<u8>,
}

fn malformed(what: &str) -> SigningError {
    SigningError::Encoding(format!("CRL: {what}"))
}

/// Parses a DER CRL.
pub fn parse_crl(der: &[u8]) -> Result<CrlInfo, SigningError> {
    let (outer, _) = asn1::read_tlv(der).ok_or_else(|| malformed("not DER"))?;
    let mut r = Reader::new(outer.value);
    let tbs = r
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| malformed("no TBSCertList"))?;
    let alg = r
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| malformed("no algorithm"))?;
    let sig = r
        .expect(asn1::TAG_BIT_STRING)
        .ok_or_else(|| malformed("no signature"))?;
    let sig_alg = Reader::new(alg.value)
        .expect(asn1::TAG_OID)
        .ok_or_else(|| malformed("bad algorithm"))?
        .value;
    let signature = sig.value.get(1..).ok_or_else(|| malformed("empty signature"))?;

    let mut t = Reader::new(tbs.value);
    let _version = t.optional(asn1::TAG_INTEGER);
    t.expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| malformed("no inner algorithm"))?;
    let issuer = t
        .expect(asn1::TAG_SEQUENCE)
        .ok_or_else(|| malformed("no issuer"))?;
    let this_update = t
        .any()
        .and_then(crate::cert::parse_time)
        .ok_or_else(|| malformed("bad thisUpdate"))?;
    let next_update = match t.peek_tag() {
        Some(asn1::TAG_UTC_TIME | asn1::TAG_GENERALIZED_TIME) => Some(
            t.any()
                .and_then(crate::cert::parse_time)
                .ok_or_else(|| malformed("bad nextUpdate"))?,
        ),
        _ => None,
    };
    let mut revoked = Vec::new();
    if let Some(list) = t.optional(asn1::TAG_SEQUENCE) {
        let mut l = Reader::new(list.value);
        while !l.is_empty() {
            let entry = l
                .expect(asn1::TAG_SEQUENCE)
                .ok_or_else(|| malformed("bad entry"))?;
            let mut e = Reader::new(entry.value);
            let serial = e
                .expect(asn1::TAG_INTEGER)
                .ok_or_else(|| malformed("bad serial"))?;
            let at = e
                .any()
                .and_then(crate::cert::parse_time)
                .ok_or_else(|| malformed("bad revocationDate"))?;
            let reason = e
                .optional(asn1::TAG_SEQUENCE)
                .and_then(|exts| certgen::find_extension(exts.value, oids::EXT_REASON_CODE))
                .and_then(|(_, v)| Reader::new(v).expect(TAG_ENUMERATED))
                .and_then(|v| v.value.first().copied());
            revoked.push(RevokedInfo {
                serial: serial.value.to_vec(),
                revoked_at: at,
                reason,
            });
        }
    }
    let mut crl_number = None;
    let mut authority_key_id = None;
    if let Some(exts) = t.optional(asn1::ctx_cons(0)) {
        let seq = Reader::new(exts.value)
            .expect(asn1::TAG_SEQUENCE)
            .ok_or_else(|| malformed("bad extensions"))?;
        crl_number = certgen::find_extension(seq.value, oids::EXT_CRL_NUMBER)
            .and_then(|(_, v)| Reader::new(v).expect(asn1::TAG_INTEGER))
            .and_then(|i| asn1::small_uint(i.value));
        authority_key_id = certgen::find_extension(seq.value, crate::asn1::oid::EXT_AUTHORITY_KEY_ID)
            .and_then(|(_, v)| Reader::new(v).expect(asn1::TAG_SEQUENCE))
            .and_then(|s| Reader::new(s.value).optional(asn1::ctx_prim(0)))
            .map(|k| k.value.to_vec());
    }
    Ok(CrlInfo {
        issuer: issuer.raw.to_vec(),
        this_update,
        next_update,
        crl_number,
        authority_key_id,
        revoked,
        tbs: tbs.raw.to_vec(),
        sig_alg: sig_alg.to_vec(),
        signature: signature.to_vec(),
    })
}

impl CrlInfo {
    /// Whether `issuer_cert_der` names this CRL's issuer and its key signed the CRL.
    pub fn verify_signature(&self, issuer_cert_der: &[u8]) -> bool {
        CertView::parse(issuer_cert_der).is_some_and(|c| c.subject == self.issuer.as_slice())
            && certgen::verify_with_cert(issuer_cert_der, &self.tbs, &self.sig_alg, &self.signature)
    }

    /// The entry for a serial (INTEGER content bytes), if revoked.
    pub fn entry(&self, serial: &[u8]) -> Option<&RevokedInfo> {
        self.revoked.iter().find(|r| r.serial == serial)
    }

    /// Whether the CRL is current at `unix` (thisUpdate ≤ t ≤ nextUpdate).
    pub fn current_at(&self, unix: i64) -> bool {
        self.this_update <= unix && self.next_update.is_none_or(|n| unix <= n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Hierarchy, PkiNames};

    #[test]
    fn build_and_parse() {
        let names = PkiNames {
            country: "VN".into(),
            organization: "Org".into(),
            root_cn: "R".into(),
            issuing_cn: "I".into(),
            seal_cn: "S".into(),
        };
        let now = time::OffsetDateTime::now_utc();
        let h = Hierarchy::generate(&names, &[], "http://x", now).unwrap();
        let ca = h.issuing_signer().unwrap();
        let seal = CertView::parse(&h.seal.cert_der).unwrap();
        let crl = build_crl(
            &ca,
            now,
            now + time::Duration::days(7),
            42,
            &[RevokedEntry {
                serial: seal.serial.to_vec(),
                revoked_at: now,
                reason: Some(RevocationReason::KeyCompromise),
            }],
        )
        .unwrap();
        let info = parse_crl(&crl).unwrap();
        assert!(info.verify_signature(&h.issuing.cert_der));
        assert!(!info.verify_signature(&h.root.cert_der));
        assert_eq!(info.crl_number, Some(42));
        assert_eq!(info.entry(seal.serial).unwrap().reason, Some(1));
        assert!(info.current_at(now.unix_timestamp()));
        let empty = build_crl(&ca, now, now + time::Duration::days(7), 43, &[]).unwrap();
        assert!(parse_crl(&empty).unwrap().revoked.is_empty());
        assert!(parse_crl(&crl[..crl.len() - 3]).is_err());
    }
}
