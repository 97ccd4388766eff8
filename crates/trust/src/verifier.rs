//! The `PdfVerifier` port: banso-signing's verification, off the async threads and within bounds.

use crate::pki::TrustServices;
use async_trait::async_trait;
use banso_core::error::{Code, Error};
use banso_core::ports::Registry;
use banso_core::ports::{CheckOutcome, PdfFindings, PdfVerifier, SignatureFindings};
use banso_signing::verify::{verify_pdf_with, Check, TrustStore};
use std::sync::Arc;
use time::OffsetDateTime;

/// Verifies PDFs against the configured trust anchors with banso-signing, on the blocking pool, at most
/// `running` at a time and with at most `queue` waiting (one more is told the service is busy), each file
/// within the verifier's work [`Limits`](banso_signing::verify::Limits) — so anonymous verification can
/// neither starve the service nor make an honest verification wait behind a long queue of crafted files.
pub struct Verifier {
    pub trust: Arc<TrustStore>,
    running: Arc<tokio::sync::Semaphore>,
    waiting: Arc<tokio::sync::Semaphore>,
    pub limits: banso_signing::verify::Limits,
    /// Where the installation's current revocations come from: its trust services, refreshed from the
    /// registry before each file.
    revocations: Option<(Arc<TrustServices>, Arc<dyn Registry>)>,
}

impl Verifier {
    pub fn new(trust: TrustStore, running: usize, queue: usize) -> Self {
        Self {
            trust: Arc::new(trust),
            running: Arc::new(tokio::sync::Semaphore::new(running)),
            waiting: Arc::new(tokio::sync::Semaphore::new(running + queue)),
            limits: banso_signing::verify::Limits::default(),
            revocations: None,
        }
    }

    /// Judges files also against the CRLs the installation's CAs publish now (the registry's revocations).
    pub fn with_revocations(mut self, trust: Arc<TrustServices>, registry: Arc<dyn Registry>) -> Self {
        self.revocations = Some((trust, registry));
        self
    }
}

fn outcome(c: &Check) -> CheckOutcome {
    CheckOutcome {
        ok: c.ok,
        reason: c.reason.clone(),
        detail: c.detail.clone(),
    }
}

#[async_trait]
impl PdfVerifier for Verifier {
    async fn verify(&self, pdf: Vec<u8>, now: OffsetDateTime) -> Result<PdfFindings, Error> {
        let head = &pdf[..pdf.len().min(1024)];
        if !head.windows(5).any(|w| w == b"%PDF-") {
            return Err(Error::new(Code::Ver0004NotPdf, "the file is not a PDF"));
        }
        let _place = self.waiting.clone().try_acquire_owned().map_err(|_| {
            Error::new(
                Code::Req0003Busy,
                "too many files are waiting for verification; try again in a moment",
            )
        })?;
        let _permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(Code::Sys0003Internal, "verification is shutting down"))?;
        let services = match &self.revocations {
            Some((services, registry)) => {
                services.refresh_revocations(registry.as_ref()).await?;
                Some(services.clone())
            }
            None => None,
        };
        let trust = self.trust.clone();
        let limits = self.limits;
        let (report, revision_hashes) = tokio::task::spawn_blocking(move || {
            // The installation's current CRLs (building one signs, so it runs here, off the async threads).
            let crls = match &services {
                Some(services) => services.current_crls(now).map_err(|e| {
                    Error::new(
                        Code::Sys0003Internal,
                        format!("the installation's revocation list is not available: {e}"),
                    )
                })?,
                None => Vec::new(),
            };
            let report = match verify_pdf_with(&pdf, &trust, now, limits, &crls) {
                Ok(report) => report,
                Err(e) => return Err(Error::new(Code::Ver0006TooComplex, e.to_string())),
            };
            let mut ends: Vec<u64> = report.signatures.iter().map(|s| s.signed_end).collect();
            ends.sort_unstable();
            ends.dedup();
            let hashes: Vec<[u8; 32]> = ends
                .into_iter()
                .filter_map(|end| usize::try_from(end).ok())
                .filter(|&end| end < pdf.len())
                .filter_map(|end| {
                    pdf.get(..end)
                        .map(|b| <sha2::Sha256 as sha2::Digest>::digest(b).into())
                })
                .collect();
            Ok((report, hashes))
        })
        .await
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("verification task: {e}")))??;
        Ok(PdfFindings {
            sha256: report.sha256,
            revision_hashes,
            indication: report.indication.as_str().to_string(),
            sub_indication: report.sub_indication.clone(),
            verdict: CheckOutcome {
                ok: report.verdict.valid,
                reason: report.verdict.reason.clone(),
                detail: report.verdict.detail.clone(),
            },
            judged_at: report.verdict.judged_at,
            signatures: report
                .signatures
                .iter()
                .map(|s| SignatureFindings {
                    kind: match s.kind {
                        banso_signing::verify::SignatureKind::Signature => "signature".into(),
                        banso_signing::verify::SignatureKind::DocumentTimestamp => {
                            "document_timestamp".into()
                        }
                    },
                    signer: s.signer_subject.clone(),
                    signing_time: s.claimed_signing_time.clone(),
                    integrity: outcome(&s.integrity),
                    chain: outcome(&s.chain),
                    coverage: outcome(&s.coverage),
                    modifications: outcome(&s.modifications),
                    timestamp: s.timestamp.as_ref().map(outcome),
                    revocation: outcome(&s.revocation),
                    indication: s.indication.as_str().to_string(),
                    sub_indication: s.sub_indication.clone(),
                    level: s.level.map(|l| l.as_str().to_string()),
                })
                .collect(),
        })
    }
}

/// DER certificates from PEM text (banso-signing's PEM reader; other blocks are skipped).
pub fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    banso_signing::pem::decode_all(pem)
        .unwrap_or_default()
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| b.der)
        .collect()
}
