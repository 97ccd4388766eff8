//! X.509 v2 certificate revocation lists (RFC 5280 §5): building one signed by a CA key behind the
//! [`Signer`] seam, and reading and verifying one.
use crate::cert::CertView;
use crate::certgen::{self, der_error};
use crate::oid;
use crate::{Signer, SigningError};
use der::Encode as _;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber, CrlReason};

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

    /// As x509-cert's `CRLReason`.
    pub fn crl_reason(self) -> CrlReason {
        match self {
            Self::Unspecified => CrlReason::Unspecified,
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::CaCompromise => CrlReason::CaCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::CertificateHold => CrlReason::CertificateHold,
            Self::RemoveFromCrl => CrlReason::RemoveFromCRL,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            Self::AaCompromise => CrlReason::AaCompromise,
        }
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
    let authority = AuthorityKeyIdentifier {
        key_identifier: Some(der::asn1::OctetString::new(certgen::ca_key_id(&ca_cert)?).map_err(der_error)?),
        ..Default::default()
    };
    let number = der::asn1::Uint::new(&crl_number.to_be_bytes()).map_err(der_error)?;
    let entries = revoked
        .iter()
        .map(|e| {
            let reason = match e.reason {
                Some(r) => Some(vec![certgen::extension(
                    oid::EXT_REASON_CODE,
                    false,
                    &r.crl_reason(),
                )?]),
                None => None,
            };
            Ok(RevokedCert {
                serial_number: x509_cert::serial_number::SerialNumber::new(&e.serial).map_err(der_error)?,
                revocation_date: certgen::cert_time(e.revoked_at)?,
                crl_entry_extensions: reason,
            })
        })
        .collect::<Result<Vec<_>, SigningError>>()?;
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: certgen::algorithm_id(ca.algorithm()),
        issuer: ca_cert.subject().clone(),
        this_update: certgen::cert_time(this_update)?,
        next_update: Some(certgen::cert_time(next_update)?),
        // An empty list is left out (RFC 5280 §5.1.2.6).
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            certgen::extension(oid::EXT_AUTHORITY_KEY_ID, false, &authority)?,
            certgen::extension(oid::EXT_CRL_NUMBER, false, &CrlNumber(number))?,
        ]),
    };
    let signature = ca.sign(&tbs.to_der().map_err(der_error)?)?;
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: certgen::algorithm_id(ca.algorithm()),
        signature: certgen::signature_bits(&signature)?,
    }
    .to_der()
    .map_err(der_error)
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
    use der::Decode as _;
    crate::bounds::check(der).map_err(|e| malformed(&format!("{e:?}")))?;
    let list = CertificateList::from_der(der).map_err(|e| malformed(&e.to_string()))?;
    let tbs = &list.tbs_cert_list;
    let unix = |t: &x509_cert::time::Time| crate::cert::unix_time(*t);
    let find = |exts: Option<&Vec<x509_cert::ext::Extension>>, oid: oid::Oid| {
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
                reason: find(r.crl_entry_extensions.as_ref(), oid::EXT_REASON_CODE)
                    .and_then(|v| CrlReason::from_der(&v).ok())
                    .map(|reason| reason as u8),
            })
        })
        .collect::<Result<Vec<_>, SigningError>>()?;
    let crl_number = find(tbs.crl_extensions.as_ref(), oid::EXT_CRL_NUMBER)
        .and_then(|v| der::asn1::Uint::from_der(&v).ok())
        .and_then(|n| small_uint(n.as_bytes()));
    let authority_key_id = find(tbs.crl_extensions.as_ref(), oid::EXT_AUTHORITY_KEY_ID)
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

/// An unsigned INTEGER's big-endian bytes as a number, if it fits in 64 bits.
fn small_uint(bytes: &[u8]) -> Option<u64> {
    let significant: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut buf = [0u8; 8];
    let start = buf.len().checked_sub(significant.len())?;
    buf.get_mut(start..)?.copy_from_slice(&significant);
    Some(u64::from_be_bytes(buf))
}

impl CrlInfo {
    /// Whether `issuer_cert_der` names this CRL's issuer and its key signed the CRL.
    pub fn verify_signature(&self, issuer_cert_der: &[u8]) -> bool {
        CertView::parse(issuer_cert_der)
            .is_some_and(|c| c.subject().to_der().is_ok_and(|subject| subject == self.issuer))
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
                serial: seal.serial().to_vec(),
                revoked_at: now,
                reason: Some(RevocationReason::KeyCompromise),
            }],
        )
        .unwrap();
        let info = parse_crl(&crl).unwrap();
        assert!(info.verify_signature(&h.issuing.cert_der));
        assert!(!info.verify_signature(&h.root.cert_der));
        assert_eq!(info.crl_number, Some(42));
        assert_eq!(info.entry(seal.serial()).unwrap().reason, Some(1));
        assert!(info.current_at(now.unix_timestamp()));
        let empty = build_crl(&ca, now, now + time::Duration::days(7), 43, &[]).unwrap();
        assert!(parse_crl(&empty).unwrap().revoked.is_empty());
        assert!(parse_crl(&crl[..crl.len() - 3]).is_err());
    }
}
