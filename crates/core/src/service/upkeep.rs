//! Upkeep: removing what a crash left, replacing a copy's stored file by a newer version.
use super::*;

impl Service {
    /// Removes stored objects no registry row names (what an issuance cut short by a crash leaves: scans of
    /// originals, half-written copies) once they are older than `grace`, so an issuance still running is
    /// never touched; an object a row names is never removed, and keys of unknown shape are left alone and
    /// counted. Registry rows are read after the objects are listed, so an issuance that commits meanwhile
    /// keeps its objects.
    pub async fn sweep_orphans(&self, grace: time::Duration) -> Result<SweepReport> {
        let cutoff = self.clock.now() - grace;
        // A book line is voided only when its issuance cannot still be running, whatever the objects' grace.
        let mut report = SweepReport {
            voided_numbers: self.void_stale_numbers(grace.max(STALE_NUMBER_FLOOR)).await?,
            ..SweepReport::default()
        };
        for prefix in ["originals/", "copies/"] {
            for object in self.blobs.list(prefix).await? {
                report.examined += 1;
                if object.modified > cutoff {
                    report.too_recent += 1;
                    continue;
                }
                let named = if object.partial {
                    Some(false)
                } else if let Some(rest) = object.key.strip_prefix("originals/") {
                    match rest.split_once('/') {
                        Some((request_id, _)) => Some(self.registry.request_exists(request_id).await?),
                        None => None,
                    }
                } else if let Some(name) = object
                    .key
                    .strip_prefix("copies/")
                    .and_then(|k| k.strip_suffix(".pdf"))
                {
                    // `copies/{code}.pdf` as issued, `copies/{code}.{version}.pdf` after an extension: named when
                    // the copy holds it now or held it before.
                    let code = name.split('.').next().unwrap_or(name);
                    let held = match self.registry.copy(code).await? {
                        Some(r) if r.pdf_key == object.key => true,
                        Some(_) => self.registry.earlier_pdfs(code).await?.contains(&object.key),
                        None => false,
                    };
                    Some(held)
                } else {
                    None
                };
                match named {
                    Some(true) => report.kept += 1,
                    Some(false) => {
                        self.blobs.remove_listed(&object).await?;
                        report.removed_bytes += object.size;
                        report.removed.push(object.key);
                    }
                    None => report.unknown.push(object.key),
                }
            }
        }
        Ok(report)
    }

    /// Stores `pdf` as the new version of the copy `code` (its long-term validation data or a renewed archive
    /// timestamp): written under a new key, read back and verified as a whole — every signature intact,
    /// trusted, covering and unchanged, and the file still the registered copy through its issued revision —
    /// and only then does the registry point at it. The object it replaces is kept and named as an earlier
    /// version. On any failure the new object is removed and the copy keeps its object. Returns the new key.
    pub async fn replace_copy_pdf(&self, code: &str, pdf: Vec<u8>) -> Result<String> {
        let record = self.record(code).await?;
        let code = VerificationCode::parse(&record.code)?;
        let now = self.clock.now();
        let new_key = format!("copies/{}.{}.pdf", code.as_str(), now.unix_timestamp_nanos());
        self.blobs.put(&new_key, pdf).await?;
        // `Err((error, remove))`: whether the new object is nobody's and may go.
        let outcome: std::result::Result<(), (Error, bool)> = async {
            let stored = self.blobs.get(&new_key).await.map_err(|e| (e.into(), true))?;
            let report = self.verify_file(stored).await.map_err(|e| (e, true))?;
            let same_copy = report
                .copy
                .as_ref()
                .is_some_and(|c| VerificationCode::parse(&c.code).is_ok_and(|c| c == code));
            if !(report.valid && same_copy) {
                return Err((
                    Error::new(
                        Code::Sys0002Signing,
                        format!(
                            "the new version of {} does not verify as that copy ({}: {}); the copy keeps its file",
                            code.display_grouped(),
                            report.indication,
                            [&report.signature, &report.registry, &report.status]
                                .into_iter()
                                .find(|c| !c.ok)
                                .map(|c| c.detail.clone())
                                .unwrap_or_else(|| "another copy".into())
                        ),
                    ),
                    true,
                ));
            }
            match self
                .registry
                .replace_pdf(code.as_str(), &record.pdf_key, &new_key, now)
                .await
            {
                Ok(()) => Ok(()),
                // Refused: the copy holds another object; the new one is nobody's.
                Err(e @ StoreError::Conflict(_)) => Err((e.into(), true)),
                // The answer was lost: the swap may have happened. The object goes only when the copy is known
                // not to hold it (otherwise the sweeper removes it later if no row names it).
                Err(e) => match self.registry.copy(code.as_str()).await {
                    Ok(Some(r)) if r.pdf_key == new_key => Ok(()),
                    Ok(_) => Err((e.into(), true)),
                    Err(_) => Err((e.into(), false)),
                },
            }
        }
        .await;
        if let Err((e, remove)) = outcome {
            if remove {
                if let Err(removal) = self.blobs.delete(&new_key).await {
                    warn_not_removed(&new_key, &removal);
                }
            }
            return Err(e);
        }
        Ok(new_key)
    }
}
