//! Issuing: checking the original through the intake, the book's number, the copy made and registered, or
//! the request held for an officer.
use super::*;

impl Service {
    /// The copies issued earlier under the request's idempotency key — when the request is the same one.
    /// The same key with another request is a conflict: answering it with the first holder's copies and
    /// capability keys would hand them to whoever guessed or reused the key.
    pub(super) fn replay(&self, existing: Vec<CopyRecord>, request: &IssueRequest) -> Result<Issuance> {
        let digest = request_digest(request);
        if existing
            .iter()
            .any(|r| r.request_digest.as_deref().is_some_and(|d| d != digest))
        {
            return Err(Error::new(
                Code::Iss0011IdempotencyConflict,
                "this Idempotency-Key was used for a different request; use a new key for a new request",
            ));
        }
        self.issued(existing, true)
    }

    pub(super) fn issued(&self, records: Vec<CopyRecord>, replayed: bool) -> Result<Issuance> {
        let first = records
            .first()
            .ok_or_else(|| Error::new(Code::Sys0003Internal, "no copies"))?;
        let number = first.number();
        let fee_total_vnd = records.iter().map(|r| r.fee_vnd).sum();
        let copies = records
            .into_iter()
            .map(|record| {
                let code = VerificationCode::parse(&record.code)?;
                Ok(IssuedCopy {
                    capability_key: self.capability_key(&code),
                    qr_url: self.qr_url(&code),
                    record,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Issuance {
            copies,
            number,
            fee_total_vnd,
            replayed,
            intake_id: None,
        })
    }

    /// Certifies `request.copies` copies of one original. All or nothing: on any failure no registry row,
    /// no certification number and no stored object remains. The original goes through the service's intake
    /// first; its decision is kept, and a refusal or a hold issues nothing.
    pub async fn issue(&self, request: IssueRequest) -> Result<IssueOutcome> {
        check_field("holder ID", &request.holder_id, 64)?;
        self.holder_ids
            .check(request.holder_id.trim(), self.clock.now())
            .map_err(|why| Error::new(Code::Iss0010HolderId, why))?;
        check_field("holder name", &request.holder_name, 200)?;
        check_field("document type", &request.document_type, 200)?;
        // Printed on the certification page: refused now, before any work, object or number.
        for (name, text) in [
            ("holder name", &request.holder_name),
            ("document type", &request.document_type),
        ] {
            self.composer
                .printable(text.trim())
                .map_err(|e| Error::new(e.code, format!("the {name}: {}", e.message)))?;
        }
        if request.copies == 0 || request.copies > self.settings.max_copies {
            return Err(Error::new(
                Code::Iss0006TooManyCopies,
                format!(
                    "between 1 and {} copies can be certified at once",
                    self.settings.max_copies
                ),
            ));
        }
        if request.files.is_empty() {
            return Err(Error::new(Code::Iss0001NoPages, "no page was given"));
        }
        if let Some(key) = &request.request_key {
            check_field("request key", key, 200)?;
            let existing = self.registry.copies_by_request_key(key).await?;
            if !existing.is_empty() {
                return self.replay(existing, &request).map(IssueOutcome::Issued);
            }
        }
        let original = match self.check_original(&request).await? {
            Ok(original) => original,
            Err(held) => return Ok(IssueOutcome::Held(held)),
        };
        let intake_id = original.intake_id.clone();
        // A kiosk's fee is paid through the gateway before anything is issued.
        if let (Some(pay), Some(_)) = (&request.pay_by, &self.payments) {
            let amount = self
                .settings
                .fees
                .per_copy(original.pages)
                .saturating_mul(u64::from(request.copies));
            if amount > 0 {
                let what = super::payment::Payable {
                    device: &pay.device,
                    holder_id: &request.holder_id,
                    digest: request_digest(&request),
                    amount_vnd: amount,
                };
                let paid = match &pay.reference {
                    None => self
                        .payment_due(&what, "Le phi chung thuc ban sao", Some(&intake_id))
                        .await
                        .map(Some),
                    // Spent once; the same request (its idempotency key, else the payment itself) may retry.
                    Some(reference) => {
                        let key = request.request_key.as_deref().unwrap_or(reference);
                        self.spend_payment(&what, reference, key).await.map(|()| None)
                    }
                };
                let ended = match &paid {
                    Ok(Some(_)) => Some("awaiting_payment"),
                    Ok(None) => None,
                    Err(_) => Some("unpaid"),
                };
                if let Some(outcome) = ended {
                    if let Err(e) = self.registry.finish_intake(&intake_id, outcome, &[], &[]).await {
                        tracing::warn!(intake = %intake_id, outcome, error = %e, "could not record how the request ended");
                    }
                }
                if let Some(due) = paid? {
                    return Ok(IssueOutcome::PaymentDue(due));
                }
            }
        }
        let fingerprints = original.fingerprints.clone();
        let result = self.issue_checked(&request, original).await;
        // An issued request's pages are kept for the duplicate check of later ones; a failed one's are not.
        let (outcome, codes, kept) = match &result {
            Ok(i) => (
                "issued",
                i.copies.iter().map(|c| c.record.code.clone()).collect(),
                fingerprints.as_slice(),
            ),
            Err(_) => ("failed", Vec::new(), &[][..]),
        };
        if let Err(e) = self
            .registry
            .finish_intake(&intake_id, outcome, &codes, kept)
            .await
        {
            tracing::warn!(intake = %intake_id, outcome, error = %e, "could not record how the request ended");
        }
        result.map(|mut i| {
            i.intake_id = Some(intake_id);
            IssueOutcome::Issued(i)
        })
    }

    /// A kept intake decision with its report and how its request ended (for officers and auditors).
    pub async fn intake_record(&self, id: &str) -> Result<IntakeRow> {
        self.registry
            .intake(id.trim())
            .await?
            .ok_or_else(|| Error::new(Code::Req0002NoSuchEndpoint, "no intake record has this id"))
    }

    /// Checks that every page file is a readable JPEG, PNG or PDF (cheaply, by its structure); the page count.
    pub fn check_files(&self, files: &[Vec<u8>]) -> Result<u32> {
        if files.is_empty() {
            return Err(Error::new(Code::Iss0001NoPages, "no page was given"));
        }
        let mut original_pages = 0u32;
        for (i, file) in files.iter().enumerate() {
            original_pages += self
                .composer
                .inspect(file)
                .map_err(|e| Error::new(e.code, format!("page file {}: {}", i + 1, e.message)))?;
        }
        if original_pages == 0 {
            return Err(Error::new(Code::Iss0001NoPages, "the files hold no page"));
        }
        Ok(original_pages)
    }

    /// Runs the intake over the request's original and keeps its decision; refuses or holds the request when
    /// the decision says so. The recognised document type is kept beside the claimed one, and a type the
    /// intake recognised that the request does not name sends the original to an officer.
    pub(super) async fn check_original(
        &self,
        request: &IssueRequest,
    ) -> Result<std::result::Result<CheckedOriginal, HeldForReview>> {
        let pages = self.check_files(&request.files)?;
        let window = self.intake.duplicate_window();
        let previous = if window > 0 {
            self.registry.previous_pages(window).await?
        } else {
            Vec::new()
        };
        let files = Arc::new(request.files.clone());
        let verdict = self
            .intake
            .check(
                OriginalToCheck {
                    files: files.clone(),
                    holder_id: request.holder_id.trim().to_string(),
                    holder_name: request.holder_name.trim().to_string(),
                    claimed_type: request.document_type.trim().to_string(),
                },
                previous,
            )
            .await?;
        let IntakeVerdict {
            mut decision,
            reason,
            report_json,
            text_layers,
            recognised_type,
            claim_matches,
            fingerprints,
        } = verdict;
        let mut reason = reason.trim().to_string();
        // What the pages read as must be what the request names (and so what the certification page prints);
        // a claim the intake cannot place beside a type it did recognise is not taken on the edge's word.
        if let (Some(recognised), false) = (&recognised_type, claim_matches == Some(true)) {
            let mismatch = match claim_matches {
                Some(_) => format!(
                    "the pages read as {recognised}, which is not the document type the request names ({})",
                    request.document_type.trim()
                ),
                None => format!(
                    "the pages read as {recognised}; the document type the request names ({}) is not one the \
                     intake can match against it",
                    request.document_type.trim()
                ),
            };
            if decision == IntakeDecision::AutoIssue {
                decision = IntakeDecision::OfficerReview;
            }
            reason = if reason.is_empty() {
                mismatch
            } else {
                format!("{reason}; {mismatch}")
            };
        }
        let id = random_secret(&mut EntropyRng(self.entropy.as_ref()), 15);
        let refused = decision == IntakeDecision::Refuse;
        let held = decision == IntakeDecision::OfficerReview
            && request.reviewed_by.is_none()
            && request.officer.is_none();
        let outcome = if refused {
            "refused"
        } else if held {
            "held"
        } else {
            "pending"
        };
        self.registry
            .insert_intake(&IntakeRow {
                id: id.clone(),
                recorded_at: self.clock.now(),
                request_key: request.request_key.clone(),
                holder_id: request.holder_id.trim().to_string(),
                claimed_type: request.document_type.trim().to_string(),
                recognised_type,
                device: request.pay_by.as_ref().map(|p| p.device.clone()),
                decision,
                reason: reason.clone(),
                report: report_json,
                outcome: outcome.to_string(),
                codes: Vec::new(),
            })
            .await?;
        if refused {
            return Err(Error::new(
                Code::Iss0008Refused,
                format!(
                    "the original cannot be certified (Decree 23, Art. 22): {reason} (intake record {id})"
                ),
            ));
        }
        if held {
            // Kept for the officers' queue; a request that cannot be kept is not taken (nothing is lost).
            if let Err(e) = self.keep_held(&id, request, &reason).await {
                if let Err(e) = self.registry.finish_intake(&id, "failed", &[], &[]).await {
                    tracing::warn!(intake = %id, error = %e, "could not record how the request ended");
                }
                return Err(e);
            }
            return Ok(Err(HeldForReview {
                intake_id: id,
                reason,
            }));
        }
        Ok(Ok(CheckedOriginal {
            intake_id: id,
            decision,
            reason,
            files,
            pages,
            text_layers: Arc::new(text_layers),
            fingerprints,
        }))
    }

    pub(super) async fn issue_checked(
        &self,
        request: &IssueRequest,
        original: CheckedOriginal,
    ) -> Result<Issuance> {
        let original_pages = original.pages;
        let now = self.clock.now();
        let settings = &self.settings;
        let reservation = self
            .registry
            .reserve_number(legal_year(now), &settings.numbering.suffix, now)
            .await?;
        let number = CertificationNumber::new(reservation.sequence(), legal_year(now), &settings.numbering);
        let fee = settings.fees.per_copy(original_pages);

        let mut written: Vec<String> = Vec::new();
        let outcome = self
            .issue_held(request, &original, &number, fee, now, &mut written)
            .await;
        let records = match outcome {
            Ok(records) => records,
            Err(e) => {
                self.void(
                    reservation.as_ref(),
                    &number,
                    &format!("the issuance failed ({})", e.code.as_str()),
                )
                .await;
                self.remove_all(&written).await;
                return Err(e);
            }
        };
        let log: Vec<_> = records.iter().map(crate::transparency::issued_record).collect();
        match reservation.commit(&records, &log).await {
            Ok(()) => self.issued(records, false),
            Err(e) => {
                // A commit whose answer was lost may still have happened: never delete the objects of
                // copies that are registered. When the registry cannot even be asked, keep the objects and
                // the pending line: the sweeper voids the line and removes the objects later if no row names
                // them.
                if let Some(first) = records.first() {
                    match self.registry.copy(&first.code).await {
                        Ok(Some(_)) => return self.issued(records, false),
                        Ok(None) => {}
                        Err(lookup) => {
                            tracing::warn!(error = %e, lookup = %lookup, "the commit's outcome is unknown; objects kept for the sweeper");
                            return Err(e.into());
                        }
                    }
                }
                self.void(
                    reservation.as_ref(),
                    &number,
                    &format!("the registry did not take the records: {e}"),
                )
                .await;
                self.remove_all(&written).await;
                if let (StoreError::Conflict(_), Some(key)) = (&e, &request.request_key) {
                    let existing = self.registry.copies_by_request_key(key).await?;
                    if !existing.is_empty() {
                        return self.replay(existing, request);
                    }
                }
                Err(e.into())
            }
        }
    }

    /// Voids a reserved number's line in the book; a line left pending (the registry unreachable) is voided
    /// later as stale ([`Service::void_stale_numbers`]).
    pub(super) async fn void(
        &self,
        reservation: &dyn crate::ports::NumberReservation,
        number: &CertificationNumber,
        reason: &str,
    ) {
        if let Err(e) = reservation.void(reason).await {
            tracing::warn!(number = %number.label(), error = %e, "could not void a reserved number; it stays pending until voided as stale");
        }
    }

    /// Voids the book lines reserved more than `older_than` ago by issuances that never finished.
    pub async fn void_stale_numbers(&self, older_than: time::Duration) -> Result<u64> {
        let before = self.clock.now() - older_than;
        Ok(self
            .registry
            .void_stale_numbers(before, "the issuance did not finish")
            .await?)
    }

    pub(super) async fn issue_held(
        &self,
        request: &IssueRequest,
        original: &CheckedOriginal,
        number: &CertificationNumber,
        fee: u64,
        now: OffsetDateTime,
        written: &mut Vec<String>,
    ) -> Result<Vec<CopyRecord>> {
        let settings = &self.settings;
        let request_id = random_secret(&mut EntropyRng(self.entropy.as_ref()), 15);
        let original_pages = original.pages;
        let mut original_keys = Vec::with_capacity(original.files.len());
        for (i, file) in original.files.iter().enumerate() {
            let key = format!("originals/{request_id}/{:03}", i + 1);
            self.blobs.put(&key, file.clone()).await?;
            written.push(key.clone());
            original_keys.push(key);
        }
        let files = original.files.clone();
        let digest = request.request_key.as_ref().map(|_| request_digest(request));
        let certification = CertificationText {
            statement: STATEMENT.to_string(),
            number_line: number.label(),
            date_line: vietnamese_date(now),
            place: settings.place.clone(),
            issuing_body: settings.issuing_body.clone(),
            signer_name: settings.signer_name.clone(),
            signer_title: settings.signer_title.clone(),
            document_type: request.document_type.trim().to_string(),
            holder_name: request.holder_name.trim().to_string(),
            original_pages,
            fee_line: format!("Lệ phí: {}", format_vnd(fee)),
            english_lines: vec![
                "Certified to be a true copy of the original.".to_string(),
                format!(
                    "Certification no. {} in book {:02}/{}-{}, issued {} by {}.",
                    number.sequence,
                    number.book,
                    number.year,
                    number.suffix,
                    now.to_offset(crate::rules::VIETNAM).date(),
                    settings.issuing_body
                ),
            ],
        };
        let signer = self.composer.signer_names(request.officer.as_deref())?;
        let text_layers = original.text_layers.clone();
        let mut records = Vec::with_capacity(request.copies as usize);
        for copy_index in 1..=request.copies {
            let code = VerificationCode::generate(&mut EntropyRng(self.entropy.as_ref()));
            let composed = self
                .composer
                .compose(ComposeRequest {
                    files: files.clone(),
                    code_display: code.display_grouped(),
                    qr_url: self.qr_url(&code),
                    title: format!("Bản sao chứng thực điện tử {}", code.display_grouped()),
                    certification: certification.clone(),
                    issued_at: now,
                    officer: request.officer.clone(),
                    text_layers: text_layers.clone(),
                })
                .await?;
            let pdf_key = format!("copies/{}.pdf", code.as_str());
            self.blobs.put(&pdf_key, composed.pdf).await?;
            written.push(pdf_key.clone());
            records.push(CopyRecord {
                code: code.as_str().to_string(),
                request_id: request_id.clone(),
                copy_index,
                request_key: request.request_key.clone(),
                sequence: number.sequence,
                book: number.book,
                year: number.year,
                suffix: number.suffix.clone(),
                holder_id: request.holder_id.trim().to_string(),
                holder_name: request.holder_name.trim().to_string(),
                document_type: request.document_type.trim().to_string(),
                original_pages,
                pdf_pages: composed.pdf_pages,
                sha256: hex::encode(composed.sha256),
                fee_vnd: fee,
                issuing_body: settings.issuing_body.clone(),
                signer: signer.clone(),
                status: CopyStatus::Valid,
                status_reason: None,
                decision_number: None,
                pdf_key,
                original_keys: original_keys.clone(),
                issued_at: now,
                updated_at: now,
                request_digest: digest.clone(),
            });
        }
        Ok(records)
    }

    pub(super) async fn remove_all(&self, keys: &[String]) {
        for key in keys {
            // Best effort: a failure here leaves an object no row points to; it is reported, not hidden.
            if let Err(e) = self.blobs.delete(key).await {
                warn_not_removed(key, &e);
            }
        }
    }
}
