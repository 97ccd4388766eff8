//! Signature levels beyond B-T, and their upkeep: B-LT adds a DSS with the certificate chains and the
//! revocation data (CRLs and OCSP answers of this installation's CAs) of every signer and TSA; B-LTA adds a
//! document timestamp over it. `banso maintain lta` extends issued copies to B-LTA and renews the archive
//! timestamp before the certificate of the TSA that made the last one expires.

use crate::trust::TrustServices;
use banso_signing::cert::CertView;
use banso_signing::tsa::TimestampSource;
use banso_signing::{incremental, ltv, SigningError};
use time::OffsetDateTime;

/// The PAdES baseline level copies are issued at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    BB,
    BT,
    BLT,
    BLTA,
}

impl Level {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().replace('_', "-").as_str() {
            "B-B" => Some(Level::BB),
            "B-T" => Some(Level::BT),
            "B-LT" => Some(Level::BLT),
            "B-LTA" => Some(Level::BLTA),
            _ => None,
        }
    }
}

/// Bytes reserved for a document timestamp token.
pub const DOC_TIMESTAMP_PLACEHOLDER: usize = 16384;

/// Every certificate a validator needs for `chains` (signers' and TSAs'), the CRLs of both CAs and an OCSP
/// answer for each certificate below the root, added as a DSS.
pub fn add_validation_data(
    pdf: &[u8],
    trust: &TrustServices,
    chains: &[Vec<Vec<u8>>],
    now: OffsetDateTime,
) -> Result<Vec<u8>, SigningError> {
    let mut certs: Vec<Vec<u8>> = vec![trust.root_der.clone(), trust.issuing_der.clone()];
    let mut ocsps = Vec::new();
    for chain in chains.iter().chain(std::iter::once(&trust.ocsp_chain().to_vec())) {
        for c in chain {
            if !certs.contains(c) {
                certs.push(c.clone());
            }
        }
    }
    for chain in chains {
        ocsps.extend(trust.revocation_material(chain, now)?);
    }
    let mut crls = Vec::new();
    for ca in [&trust.root_der, &trust.issuing_der] {
        let slug = CertView::parse(ca)
            .and_then(|c| c.subject_common_name())
            .map(|cn| banso_signing::pki::slug(&cn))
            .unwrap_or_default();
        if let Some(crl) = trust.crl(&slug, now) {
            crls.push(crl?);
        }
    }
    ltv::add_dss(pdf, &certs, &crls, &ocsps)
}

/// The certificate chains inside a signed PDF's signatures and timestamps (as embedded in their CMS).
pub fn embedded_chains(pdf: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let Ok(doc) = incremental::PdfDoc::parse(pdf) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sig in incremental::signature_values(&doc) {
        if let Some(incremental::Obj::Str(contents)) = sig.get("Contents") {
            let certs = banso_signing::verify::cms_certificates(contents);
            if !certs.is_empty() {
                out.push(certs);
            }
        }
    }
    out
}

/// Extends a signed copy to B-LT (DSS) and, for B-LTA, adds a document timestamp.
pub fn extend(
    pdf: &[u8],
    level: Level,
    trust: &TrustServices,
    timestamps: &dyn TimestampSource,
    now: OffsetDateTime,
) -> Result<Vec<u8>, SigningError> {
    if level < Level::BLT {
        return Ok(pdf.to_vec());
    }
    let mut chains = embedded_chains(pdf);
    chains.push(trust.tsa.chain().to_vec());
    let with_dss = add_validation_data(pdf, trust, &chains, now)?;
    if level < Level::BLTA {
        return Ok(with_dss);
    }
    incremental::add_document_timestamp(&with_dss, DOC_TIMESTAMP_PLACEHOLDER, timestamps)
}
