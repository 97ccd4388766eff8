//! The review queue: requests the intake held for an officer. The held request's pages and what it asked for
//! are kept; an officer claims it (one officer at a time: a claim lapses after [`CLAIM_HOLDS`]), then approves
//! it (the copies issued with the officer's signature beside the seal), refuses it on a clause of Decree 23
//! Art. 22 (a sealed refusal notice, kept for the citizen's wallet) or asks for a rescan. Every move is written
//! to the audit log. A citizen who left an e-mail address at the kiosk is sent the outcome (the notice, or the
//! copies) once it is decided.

use super::{Issuance, IssueRequest, Service};
use crate::code::random_secret;
use crate::error::{Code, Error, Result};
use crate::model::IntakeRow;
use crate::office::{HeldRequest, OfficeRole, Review, ReviewState, CLAIM_HOLDS};
use crate::ports::{EntropyRng, Notice};
use crate::rules::ARTICLE_22;
use time::OffsetDateTime;

/// The idempotency key of an approval's issuance starts with this (then the held request's id).
pub const REVIEW_KEY: &str = "review:";
/// Held requests the queue shows at most.
pub const REVIEW_QUEUE: u32 = 200;
/// A refusal's written explanation, at most (characters).
pub const GROUND_NOTE: usize = 1000;

/// A held request as an officer sees it: the request, its intake record (checks, fields, regions), and who
/// holds its claim now.
#[derive(Debug, Clone)]
pub struct ReviewView {
    pub review: Review,
    pub intake: Option<IntakeRow>,
    pub claimant: Option<String>,
}

/// How an officer decides a held request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    Approve,
    /// On clause `clause` (1–6) of Art. 22, explained in the officer's words.
    Refuse {
        clause: u8,
        note: String,
    },
    Rescan {
        note: String,
    },
}

impl ReviewDecision {
    fn audit_action(&self) -> &'static str {
        match self {
            ReviewDecision::Approve => "review_approve",
            ReviewDecision::Refuse { .. } => "review_refuse",
            ReviewDecision::Rescan { .. } => "review_rescan",
        }
    }
}

/// How a decision ended: the copies issued, or nothing more to show.
#[derive(Debug, Clone)]
pub enum Decided {
    Issued(Issuance),
    Refused,
    Rescan,
}

fn no_review() -> Error {
    Error::new(Code::Off0006NoSuchReview, "no held request has this id")
}

fn not_yours(review: &Review, now: OffsetDateTime) -> Error {
    match (review.state, review.claimant(now)) {
        (ReviewState::Waiting, Some(who)) => Error::new(
            Code::Off0005Claimed,
            format!("the officer {who} is reviewing this request"),
        ),
        (ReviewState::Waiting, None) => {
            Error::new(Code::Off0005Claimed, "claim this request before deciding it")
        }
        (state, _) => Error::new(
            Code::Off0005Claimed,
            format!(
                "this request was decided already ({}) by {}",
                state.as_str(),
                review.decided_by.as_deref().unwrap_or("-")
            ),
        ),
    }
}

impl Service {
    /// The held request `id` (OFF-0006 when there is none).
    async fn held(&self, id: &str) -> Result<Review> {
        self.office()?
            .store
            .review(id.trim())
            .await?
            .ok_or_else(no_review)
    }

    /// Keeps a held request's pages and what it asked for, for the review queue. A service without a back
    /// office keeps nothing (the request waits in its intake record for an officer's API request).
    pub(super) async fn keep_held(&self, id: &str, request: &IssueRequest, reason: &str) -> Result<()> {
        let Some(office) = &self.office else {
            return Ok(());
        };
        let mut pages = Vec::with_capacity(request.files.len());
        for (i, file) in request.files.iter().enumerate() {
            let key = format!("held/{id}/{:03}", i + 1);
            if let Err(e) = self.blobs.put(&key, file.clone()).await {
                self.remove_all(&pages).await;
                return Err(e.into());
            }
            pages.push(key);
        }
        let review = Review {
            notify: None,
            id: id.to_string(),
            state: ReviewState::Waiting,
            held_at: self.clock.now(),
            claimed_by: None,
            claimed_at: None,
            decided_by: None,
            decided_at: None,
            request: HeldRequest {
                holder_id: request.holder_id.trim().to_string(),
                holder_name: request.holder_name.trim().to_string(),
                document_type: request.document_type.trim().to_string(),
                copies: request.copies,
                reason: reason.to_string(),
                pages: pages.clone(),
                device: request.pay_by.as_ref().map(|p| p.device.clone()),
                ground: None,
                codes: Vec::new(),
                notice: None,
            },
        };
        if let Err(e) = office.store.insert_review(&review).await {
            self.remove_all(&pages).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// The held requests waiting, the oldest first (for the roles that act; OFF-0004 otherwise).
    pub async fn office_reviews(&self, by: &super::SignedIn) -> Result<Vec<Review>> {
        by.require(OfficeRole::acts)?;
        Ok(self.office()?.store.waiting_reviews(REVIEW_QUEUE).await?)
    }

    /// One held request with its intake record.
    pub async fn office_review(&self, by: &super::SignedIn, id: &str) -> Result<ReviewView> {
        by.require(OfficeRole::acts)?;
        let review = self.held(id).await?;
        let intake = self.registry.intake(&review.id).await?;
        let claimant = (review.state == ReviewState::Waiting)
            .then(|| review.claimant(self.clock.now()).map(str::to_string))
            .flatten();
        Ok(ReviewView {
            review,
            intake,
            claimant,
        })
    }

    /// Page `n` (from 1) of a held request, as the citizen's scanner gave it.
    pub async fn office_review_page(&self, by: &super::SignedIn, id: &str, n: usize) -> Result<Vec<u8>> {
        by.require(OfficeRole::acts)?;
        let review = self.held(id).await?;
        let key = n
            .checked_sub(1)
            .and_then(|i| review.request.pages.get(i))
            .ok_or_else(no_review)?;
        Ok(self.blobs.get(key).await?)
    }

    /// Claims a held request for the officer: one officer holds it at a time (OFF-0005 when another does).
    pub async fn office_claim(&self, by: &super::SignedIn, id: &str, from: &str) -> Result<()> {
        by.require(OfficeRole::acts)?;
        let store = &self.office()?.store;
        let review = self.held(id).await?;
        let now = self.clock.now();
        if !store
            .claim_review(&review.id, &by.officer.username, now, now - CLAIM_HOLDS)
            .await?
        {
            let again = self.held(&review.id).await?;
            return Err(not_yours(&again, now));
        }
        self.audit(&by.officer.username, "review_claim", &review.id, from)
            .await?;
        Ok(())
    }

    /// Decides a held request the officer has claimed (OFF-0005 otherwise), in the officer's name.
    pub async fn office_decide(
        &self,
        by: &super::SignedIn,
        id: &str,
        decision: ReviewDecision,
        from: &str,
    ) -> Result<Decided> {
        by.require(OfficeRole::acts)?;
        let store = self.office()?.store.clone();
        let review = self.held(id).await?;
        let now = self.clock.now();
        let me = by.officer.username.as_str();
        if review.state != ReviewState::Waiting || review.claimant(now) != Some(me) {
            return Err(not_yours(&review, now));
        }
        let mut ended = review.request.clone();
        let (state, decided) = match &decision {
            ReviewDecision::Approve => {
                let mut files = Vec::with_capacity(ended.pages.len());
                for key in &ended.pages {
                    files.push(self.blobs.get(key).await?);
                }
                // The request as the citizen made it, now sent by the officer who reviewed it and signed in
                // their name; its key makes a repeat (a lost answer, a second click) return the same copies.
                let issuance = self
                    .issue(IssueRequest {
                        holder_id: ended.holder_id.clone(),
                        holder_name: ended.holder_name.clone(),
                        document_type: ended.document_type.clone(),
                        copies: ended.copies,
                        files,
                        request_key: Some(format!("{REVIEW_KEY}{}", review.id)),
                        officer: Some(me.to_string()),
                        reviewed_by: Some(me.to_string()),
                        pay_by: None,
                    })
                    .await?
                    .issued()?;
                ended.codes = issuance.copies.iter().map(|c| c.record.code.clone()).collect();
                (ReviewState::Approved, Decided::Issued(issuance))
            }
            ReviewDecision::Refuse { clause, note } => {
                let clause_text = usize::from(*clause)
                    .checked_sub(1)
                    .and_then(|i| ARTICLE_22.get(i))
                    .ok_or_else(|| {
                        Error::new(
                            Code::Iss0005InvalidField,
                            "choose the clause of Art. 22 (1 to 6) the refusal rests on",
                        )
                    })?;
                let note = written("the explanation", note)?;
                if note.is_empty() {
                    return Err(Error::new(
                        Code::Iss0005InvalidField,
                        "write why the original cannot be certified: the citizen reads it on the notice",
                    ));
                }
                let pdf = self
                    .refusal_notice(&review, by, *clause, clause_text, &note, now)
                    .await?;
                let key = format!(
                    "notices/{}-{}.pdf",
                    review.id,
                    random_secret(&mut EntropyRng(self.entropy.as_ref()), 5)
                );
                self.blobs.put(&key, pdf).await?;
                ended.ground = Some((*clause, note));
                ended.notice = Some(key);
                (ReviewState::Refused, Decided::Refused)
            }
            ReviewDecision::Rescan { note } => {
                ended.ground = Some((0, written("the note", note)?));
                (ReviewState::Rescan, Decided::Rescan)
            }
        };
        if !store
            .finish_review(&review.id, me, state, &ended, now, now - CLAIM_HOLDS)
            .await?
        {
            if let Some(key) = &ended.notice {
                self.remove_all(std::slice::from_ref(key)).await;
            }
            let again = self.held(&review.id).await?;
            return Err(not_yours(&again, self.clock.now()));
        }
        if let Err(e) = self
            .registry
            .finish_intake(&review.id, state.as_str(), &ended.codes, &[])
            .await
        {
            tracing::warn!(intake = %review.id, error = %e, "could not record how the held request ended");
        }
        self.audit(me, decision.audit_action(), &review.id, from).await?;
        self.mail_outcome(&review.id).await;
        Ok(decided)
    }

    /// The citizen of a kiosk's verified identity session asks that the outcome of their held request `id` be
    /// sent to `to`: kept while it waits (a later address replaces it), sent at once if it was decided meanwhile
    /// — once: a decided request already sent to an address is OFF-0007. Another citizen's request is not found
    /// (OFF-0006), so that receipt codes cannot be tried.
    pub async fn notify_held(&self, device: &str, session: &str, id: &str, to: &str) -> Result<()> {
        let holder = self.verified_holder(device, session).await?;
        let to = super::email_address(to)?;
        let review = self.held(id).await?;
        if review.request.holder_id != holder.id_number {
            return Err(no_review());
        }
        match self.office()?.store.notify_review(&review.id, &to).await? {
            Some(ReviewState::Waiting) => Ok(()),
            // Decided before the address came: sent now, to this address.
            Some(_) => self.queue_outcome_mail(&self.held(&review.id).await?).await,
            None => Err(Error::new(
                Code::Off0007AlreadySent,
                "the outcome of this request was sent by e-mail already, to the address given first",
            )),
        }
    }

    /// After a decision: the outcome mailed to the address the citizen left, if any. A failure is logged, not
    /// the officer's: the decision stands and the wallet has it.
    async fn mail_outcome(&self, id: &str) {
        let sent = match self.held(id).await {
            Ok(review) if review.notify.is_some() => self.queue_outcome_mail(&review).await,
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::error!(review = %id, error = %e, "the outcome of a held request could not be queued for mail");
        }
    }

    /// Queues the mail of a decided request's outcome to its `notify` address (the deliveries' worker sends it,
    /// with retries): the sealed refusal notice, the issued copies, or the officer's request for a rescan.
    async fn queue_outcome_mail(&self, review: &Review) -> Result<()> {
        let (Some(to), Some(dossiers)) = (&review.notify, &self.dossiers) else {
            return Ok(());
        };
        let r = &review.request;
        let hello = format!("Kính gửi ông/bà {},\n\n", r.holder_name);
        let about = format!(
            "yêu cầu chứng thực bản sao từ bản chính ({}), mã tiếp nhận {}",
            r.document_type, review.id
        );
        let mut copies = Vec::new();
        for code in &r.codes {
            if let Some(c) = self.registry.copy(code).await? {
                copies.push((c.pdf_key.clone(), format!("{code}.pdf")));
            }
        }
        let (subject, text, attach): (String, String, Vec<(String, String)>) = match review.state {
            ReviewState::Refused => {
                let clause = r.ground.as_ref().map_or(0, |(c, _)| *c);
                (
                    format!("Thông báo từ chối chứng thực — mã tiếp nhận {} / Refusal notice", review.id),
                    format!(
                        "{hello}Cán bộ đã xem xét {about} và từ chối chứng thực theo khoản {clause} Điều 22 Nghị định \
                         23/2015/NĐ-CP. Thông báo bằng văn bản có chữ ký số của cơ quan được gửi kèm thư này; \
                         thông báo cũng có trong ví giấy tờ của ông/bà.\n\n\
                         Your request {} was refused under clause {clause} of Article 22 of Decree 23/2015. The \
                         signed notice is attached.\n",
                        review.id
                    ),
                    r.notice
                        .iter()
                        .map(|k| (k.clone(), format!("thong-bao-tu-choi-{}.pdf", review.id)))
                        .collect(),
                )
            }
            ReviewState::Approved => (
                format!("Bản sao đã được chứng thực — mã tiếp nhận {} / Copies issued", review.id),
                format!(
                    "{hello}Cán bộ đã xem xét {about} và chứng thực bản sao: {}. Bản sao có chữ ký số được gửi \
                     kèm thư này và có trong ví giấy tờ của ông/bà.\n\n\
                     Your request {} was approved; the certified copies are attached.\n",
                    r.codes.join(", "),
                    review.id
                ),
                copies,
            ),
            ReviewState::Rescan => (
                format!("Đề nghị quét lại bản chính — mã tiếp nhận {} / Please scan again", review.id),
                format!(
                    "{hello}Cán bộ đã xem xét {about} và đề nghị ông/bà quét lại bản chính tại ki-ốt hoặc mang bản \
                     chính tới Bộ phận Một cửa: {}\n\n\
                     An officer asks you to scan the original again.\n",
                    r.ground.as_ref().map_or("", |(_, note)| note.as_str()),
                ),
                Vec::new(),
            ),
            ReviewState::Waiting => return Ok(()),
        };
        let attach: Vec<(&str, &str)> = attach.iter().map(|(k, n)| (k.as_str(), n.as_str())).collect();
        let mail = self.mail(to, &subject, &text, &attach);
        dossiers.store.insert_deliveries(&[mail]).await?;
        tracing::info!(review = %review.id, state = review.state.as_str(), "the outcome of a held request was queued for mail");
        Ok(())
    }

    /// The decided held requests of the citizen a wallet session proved, the newest first.
    pub async fn holder_reviews(&self, holder_id: &str) -> Result<Vec<Review>> {
        match &self.office {
            Some(office) => Ok(office.store.holder_reviews(holder_id.trim(), 50).await?),
            None => Ok(Vec::new()),
        }
    }

    /// A refusal notice of the citizen's own (DEL-0004 for another's; OFF-0006 when there is none).
    pub async fn holder_notice(&self, holder_id: &str, id: &str) -> Result<Vec<u8>> {
        let review = self.held(id).await?;
        if review.request.holder_id != holder_id.trim() {
            return Err(Error::new(
                Code::Del0004NotTheHolder,
                "this notice is not the identified citizen's",
            ));
        }
        let key = review.request.notice.as_ref().ok_or_else(no_review)?;
        Ok(self.blobs.get(key).await?)
    }

    /// The written refusal (Decree 23 Art. 22), sealed by the body, naming the clause, the officer's
    /// explanation and the officer who decided.
    async fn refusal_notice(
        &self,
        review: &Review,
        by: &super::SignedIn,
        clause: u8,
        clause_text: &str,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>> {
        let r = &review.request;
        let rows = vec![
            ("Người yêu cầu / Applicant".to_string(), r.holder_name.clone()),
            ("Số định danh cá nhân / Personal ID".into(), r.holder_id.clone()),
            (
                "Giấy tờ đề nghị chứng thực / Document".into(),
                r.document_type.clone(),
            ),
            ("Mã tiếp nhận / Receipt code".into(), review.id.clone()),
            (
                "Thời gian tiếp nhận / Received".into(),
                super::dossier::local_time(review.held_at),
            ),
            (
                "Căn cứ / Legal ground".into(),
                format!(
                    "Khoản {clause} Điều 22 Nghị định số 23/2015/NĐ-CP (Decree 23/2015, Art. 22({clause}))"
                ),
            ),
            ("Trường hợp / Case".into(), clause_text.to_string()),
            ("Lý do cụ thể / Reason".into(), note.to_string()),
        ];
        self.dossier_settings()?
            .notices
            .notice(Notice {
                issuer: self.settings.issuing_body.to_uppercase(),
                form: String::new(),
                title: "THÔNG BÁO TỪ CHỐI CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH".into(),
                rows,
                paragraphs: vec![
                    "Bản chính nêu trên không được dùng làm cơ sở để chứng thực bản sao theo quy định tại Điều 22 \
                     Nghị định số 23/2015/NĐ-CP. Không thu lệ phí chứng thực. The original cannot be the basis of \
                     a certified copy (Decree 23/2015, Art. 22); no fee is charged."
                        .into(),
                    format!(
                        "Người thực hiện: {} ({}). Văn bản được ký số bằng con dấu điện tử của cơ quan. Sealed \
                         electronically by the body.",
                        by.officer.full_name, by.officer.username
                    ),
                ],
                qr: None,
                date_line: format!(
                    "{}, {}",
                    self.settings.place,
                    crate::rules::vietnamese_date(now).to_lowercase()
                ),
                signer_title: "NGƯỜI THỰC HIỆN CHỨNG THỰC".into(),
                signer_name: by.officer.full_name.clone(),
                issued_at: now,
                doc_title: format!("Thông báo từ chối chứng thực {}", review.id),
            })
            .await
    }
}

/// An officer's words for a notice: trimmed, at most [`GROUND_NOTE`] characters, no control characters but
/// line breaks.
fn written(what: &str, text: &str) -> Result<String> {
    let t = text.trim();
    if t.chars().count() > GROUND_NOTE || t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("{what}: at most {GROUND_NOTE} characters of text"),
        ));
    }
    Ok(t.replace("\r\n", " ").replace('\n', " "))
}
