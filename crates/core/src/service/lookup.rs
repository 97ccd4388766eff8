//! Looking copies up, opening them with their key, revoking them and verifying files.
use super::*;

impl Service {
    /// Looks a copy up by a typed or scanned code.
    pub async fn record(&self, typed_code: &str) -> Result<CopyRecord> {
        let code = VerificationCode::parse(typed_code)?;
        self.registry
            .copy(code.as_str())
            .await?
            .ok_or_else(|| Error::new(Code::Ver0003NotFound, "no copy has this code"))
    }

    /// The inclusion proof of a copy's issuance in the transparency log.
    pub async fn inclusion(&self, typed_code: &str) -> Result<crate::transparency::InclusionProof> {
        let code = VerificationCode::parse(typed_code)?;
        self.log.inclusion(self.registry.as_ref(), code.as_str()).await
    }

    /// Minimal public metadata of a copy.
    pub async fn public_copy(&self, typed_code: &str) -> Result<PublicCopy> {
        Ok(PublicCopy::from_record(&self.record(typed_code).await?))
    }

    /// Whether `key` opens the copy `typed_code` (constant-time comparison).
    pub fn capability_opens(&self, typed_code: &str, key: &str) -> Result<bool> {
        Ok(self.key_opens(&VerificationCode::parse(typed_code)?, key))
    }

    /// The signed PDF, for the holder of the capability key.
    pub async fn open_pdf(&self, typed_code: &str, key: &str) -> Result<(CopyRecord, Vec<u8>)> {
        let code = VerificationCode::parse(typed_code)?;
        if !self.key_opens(&code, key) {
            return Err(Error::new(Code::Ver0005BadKey, "this key does not open the copy"));
        }
        let record = self.record(code.as_str()).await?;
        let pdf = self.blobs.get(&record.pdf_key).await?;
        Ok((record, pdf))
    }

    /// Revokes a copy, or cancels it by decision when a decision number is given.
    pub async fn revoke(
        &self,
        typed_code: &str,
        reason: &str,
        decision_number: Option<&str>,
    ) -> Result<CopyRecord> {
        let code = VerificationCode::parse(typed_code)?;
        if reason.trim().is_empty() {
            return Err(Error::new(Code::Rev0002MissingReason, "a reason is required"));
        }
        if let Some(d) = decision_number {
            if d.trim().is_empty() {
                return Err(Error::new(
                    Code::Rev0002MissingReason,
                    "the decision number is empty",
                ));
            }
        }
        let status = if decision_number.is_some() {
            CopyStatus::CancelledByDecision
        } else {
            CopyStatus::Revoked
        };
        let now = self.clock.now();
        let decision = decision_number.map(str::trim);
        let log = crate::transparency::status_record(code.as_str(), status, reason.trim(), decision, now);
        match self
            .registry
            .change_status(code.as_str(), status, reason.trim(), decision, now, &log)
            .await
        {
            Ok(r) => Ok(r),
            Err(StoreError::NotFound) => Err(Error::new(Code::Ver0003NotFound, "no copy has this code")),
            Err(StoreError::Conflict(m)) => Err(Error::new(Code::Rev0001NotValid, m)),
            Err(e) => Err(e.into()),
        }
    }

    /// Verifies a file: its signatures, that the registry issued it, and that it is still valid.
    pub async fn verify_file(&self, pdf: Vec<u8>) -> Result<FileReport> {
        let findings = self.verifier.verify(pdf, self.clock.now()).await?;
        let sha256 = hex::encode(findings.sha256);
        // The signing library's one verdict on the signatures; the core adds the registry and the status.
        let signature = findings.verdict.clone();
        let mut record = self.registry.copy_by_sha256(&sha256).await?;
        for earlier in &findings.revision_hashes {
            if record.is_some() {
                break;
            }
            record = self.registry.copy_by_sha256(&hex::encode(earlier)).await?;
        }
        let (registry, status) = match &record {
            None => (
                CheckOutcome::fail("not_in_registry", "no copy with this file's SHA-256 was issued"),
                CheckOutcome::fail("unknown", "the file is not a registered copy"),
            ),
            Some(r) => (
                CheckOutcome::pass(format!("registered as {}", PublicCopy::from_record(r).code)),
                if r.status == CopyStatus::Valid {
                    CheckOutcome::pass("the copy is valid")
                } else {
                    CheckOutcome::fail(
                        r.status.as_str(),
                        format!(
                            "the copy is {}: {}",
                            r.status.label_en(),
                            r.status_reason.clone().unwrap_or_default()
                        ),
                    )
                },
            ),
        };
        let log = match &record {
            Some(r) => Some(self.log.inclusion(self.registry.as_ref(), &r.code).await?),
            None => None,
        };
        let valid = signature.ok && registry.ok && status.ok;
        Ok(FileReport {
            valid,
            judged_at: findings.judged_at,
            sha256,
            indication: findings.indication,
            sub_indication: findings.sub_indication,
            signatures: findings.signatures,
            signature,
            registry,
            status,
            copy: record.as_ref().map(PublicCopy::from_record),
            log,
        })
    }

    /// A copy and its PDF for the citizen a kiosk identified (to send or print it for them): only the copy's
    /// own holder gets it.
    pub async fn holder_copy(
        &self,
        typed_code: &str,
        holder_id: &str,
    ) -> Result<(CopyRecord, Vec<u8>, String)> {
        let record = self.record(typed_code).await?;
        if record.holder_id.trim() != holder_id.trim() {
            return Err(Error::new(
                Code::Del0004NotTheHolder,
                "this copy is not the identified citizen's",
            ));
        }
        let pdf = self.blobs.get(&record.pdf_key).await?;
        let code = VerificationCode::parse(&record.code)?;
        let url = self.qr_url(&code);
        Ok((record, pdf, url))
    }

    /// Counts one more e-mail of the copy `code` in the registry (the cap holds across nodes and restarts);
    /// false when it was sent `max` times already.
    pub async fn count_email(&self, code: &str, max: u32) -> Result<bool> {
        Ok(self.registry.count_email(code, max).await?)
    }
}
