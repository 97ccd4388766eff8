//! Signature levels beyond B-T, and their upkeep: B-LT adds a DSS with the certificate chains and the
//! revocation data (CRLs and OCSP answers of this installation's CAs) of every signer and TSA; B-LTA adds a
//! document timestamp over it. `banso maintain lta` extends issued copies to B-LTA and renews the archive
//! timestamp before the certificate of the TSA that made the last one expires.

use crate::pki::TrustServices;
use banso_signing::cert::CertView;
use banso_signing::tsa::TimestampSource;
use banso_signing::{incremental, ltv, SigningError};
use time::OffsetDateTime;

/// The PAdES baseline levels (the verifier's, so what is configured and what is reported are one type).
pub use banso_signing::verify::Level;

/// Reads a configured level: `B-B`, `B-T`, `B-LT` or `B-LTA`.
pub fn parse_level(s: &str) -> Option<Level> {
    [Level::BB, Level::BT, Level::BLT, Level::BLTA]
        .into_iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(s.trim()))
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
    // The CAs' current CRLs, as file verification uses them (the issuing CA's kept until the revocations change).
    let crls = trust.current_crls(now)?;
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
    chains.push(trust.tsa_chain());
    chains.retain(|c| !c.is_empty());
    let with_dss = add_validation_data(pdf, trust, &chains, now)?;
    if level < Level::BLTA {
        return Ok(with_dss);
    }
    incremental::add_document_timestamp(&with_dss, DOC_TIMESTAMP_PLACEHOLDER, timestamps)
}

/// When the newest archive (document) timestamp of a copy stops being renewable: the expiry of the
/// certificate of the TSA that made it. `None` when the copy has no document timestamp.
pub fn archive_timestamp_expiry(pdf: &[u8]) -> Option<i64> {
    let doc = incremental::PdfDoc::parse(pdf).ok()?;
    incremental::signature_values(&doc)
        .iter()
        .filter(|v| matches!(v.get("SubFilter"), Some(incremental::Obj::Name(n)) if n.as_slice() == b"ETSI.RFC3161"))
        .filter_map(|v| match v.get("Contents") {
            Some(incremental::Obj::Str(padded)) => {
                // /Contents is zero-padded after the token's DER.
                banso_signing::verify::first_element(padded)
                    .and_then(|token| banso_signing::tsa::verify_token(token, &[]).ok())
            }
            _ => None,
        })
        .filter_map(|info| info.tsa_cert.as_deref().and_then(CertView::parse).map(|c| (info.gen_time, c.not_after)))
        .max_by_key(|(gen_time, _)| *gen_time)
        .map(|(_, not_after)| not_after)
}

/// What `banso maintain lta` did.
#[derive(Debug, Default, serde::Serialize)]
pub struct MaintainReport {
    pub examined: u64,
    /// Copies without an archive timestamp, extended to B-LTA.
    pub extended: u64,
    /// Copies whose archive timestamp was renewed (its TSA certificate expires within the window).
    pub renewed: u64,
    pub up_to_date: u64,
    pub failed: Vec<String>,
}

/// Extends every valid copy to B-LTA and renews archive timestamps that expire within `window`. Each extended
/// version is stored as a new object, verified, and only then made the copy's file (`Service::replace_copy_pdf`);
/// the earlier one is kept. The registry keeps the SHA-256 of the issued version, which verification still
/// finds through the earlier revision.
pub async fn maintain(
    service: &banso_core::service::Service,
    trust: &TrustServices,
    window: time::Duration,
    force: bool,
) -> anyhow::Result<MaintainReport> {
    let mut report = MaintainReport::default();
    let now = service.now();
    trust.set_revocations(service.ca_revocations().await?);
    for code in service.valid_codes().await? {
        report.examined += 1;
        let outcome: anyhow::Result<Option<bool>> = async {
            let (record, pdf) = service.stored_pdf(&code).await?;
            let expiry = archive_timestamp_expiry(&pdf);
            let due = match expiry {
                None => true,
                Some(not_after) => force || not_after - now.unix_timestamp() < window.whole_seconds(),
            };
            if !due {
                return Ok(None);
            }
            let extended = extend(&pdf, Level::BLTA, trust, trust.timestamps.as_ref(), now)?;
            service.replace_copy_pdf(&record.code, extended).await?;
            Ok(Some(expiry.is_none()))
        }
        .await;
        match outcome {
            Ok(None) => report.up_to_date += 1,
            Ok(Some(true)) => report.extended += 1,
            Ok(Some(false)) => report.renewed += 1,
            Err(e) => report.failed.push(format!("{code}: {e:#}")),
        }
    }
    Ok(report)
}
