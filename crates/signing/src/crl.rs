//! X.509 v2 certificate revocation lists (RFC 5280 §5): building one signed by a CA key behind the
//! [`Signer`] seam, and reading and verifying one.
use crate::asn1;
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
    /// Serial, big-endian (compare through [`CrlInfo::entry`], which ignores a leading zero octet).
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

/// Parses a DER CRL (x509-cert's `CertificateList`, decoded strictly as DER, so the to-be-signed part re-encodes
/// to the very bytes that were signed).
pub fn parse_crl(der: &[u8]) -> Result<CrlInfo, SigningError> {
    use der::{Decode, Encode};
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlReason};
    let list = x509_cert::crl::CertificateList::from_der(der).map_err(|e| malformed(&e.to_string()))?;
    let tbs = &list.tbs_cert_list;
    let unix = |t: &x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).ok();
    let find = |exts: Option<&Vec<x509_cert::ext::Extension>>, oid: &str| {
        let oid = der::asn1::ObjectIdentifier::new(oid).ok()?;
        exts?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes().to_vec())
    };
    let revoked = tbs
        .revoked_certificates
        .iter()
        .flatten()
        .map(|r| {
            Ok(RevokedInfo {
                serial: r.serial_number.as_bytes().to_vec(),
                revoked_at: unix(&r.revocation_date).ok_or_else(|| malformed("bad revocationDate"))?,
                reason: find(r.crl_entry_extensions.as_ref(), "2.5.29.21")
                    .and_then(|v| CrlReason::from_der(&v).ok())
                    .map(|reason| reason as u8),
            })
        })
        .collect::<Result<Vec<_>, SigningError>>()?;
    let crl_number = find(tbs.crl_extensions.as_ref(), "2.5.29.20")
        .and_then(|v| der::asn1::Uint::from_der(&v).ok())
        .and_then(|n| asn1::small_uint(n.as_bytes()));
    let authority_key_id = find(tbs.crl_extensions.as_ref(), "2.5.29.35")
        .and_then(|v| AuthorityKeyIdentifier::from_der(&v).ok())
        .and_then(|a| a.key_identifier)
        .map(|k| k.as_bytes().to_vec());
    Ok(CrlInfo {
        issuer: tbs.issuer.to_der().map_err(|e| malformed(&e.to_string()))?,
        this_update: unix(&tbs.this_update).ok_or_else(|| malformed("bad thisUpdate"))?,
        next_update: match &tbs.next_update {
            Some(t) => Some(unix(t).ok_or_else(|| malformed("bad nextUpdate"))?),
            None => None,
        },
        crl_number,
        authority_key_id,
        revoked,
        tbs: tbs.to_der().map_err(|e| malformed(&e.to_string()))?,
        sig_alg: list.signature_algorithm.oid.as_bytes().to_vec(),
        signature: list
            .signature
            .as_bytes()
            .ok_or_else(|| malformed("a signature with unused bits"))?
            .to_vec(),
    })
}

impl CrlInfo {
    /// Whether `issuer_cert_der` names this CRL's issuer and its key signed the CRL.
    pub fn verify_signature(&self, issuer_cert_der: &[u8]) -> bool {
        CertView::parse(issuer_cert_der).is_some_and(|c| c.subject == self.issuer.as_slice())
            && certgen::verify_with_cert(issuer_cert_der, &self.tbs, &self.sig_alg, &self.signature)
    }

    /// The entry for a serial (INTEGER content bytes; a sign octet of zero or none alike), if revoked.
    pub fn entry(&self, serial: &[u8]) -> Option<&RevokedInfo> {
        let significant = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|x| *x == 0).collect() };
        let wanted = significant(serial);
        self.revoked.iter().find(|r| significant(&r.serial) == wanted)
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
