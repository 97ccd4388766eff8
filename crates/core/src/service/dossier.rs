//! Dossiers: a citizen submits a procedure (identity from a verified session, the form with the identity's
//! fields filled in and locked, documents from the wallet or scanned through the intake), gets the dossier
//! code, a lookup code and the signed appointment slip; officers move the dossier; the citizen follows it,
//! adds documents asked for, receives the result in the wallet and rates the service. Every change owes its
//! deliveries (webhooks to other agencies' systems, e-mails to the citizen), written with it.

use super::payment::{dossier_payment_digest, Payable, PaymentDue};
use super::Service;
use crate::code::{random_secret, VerificationCode};
use crate::dossier::{
    code_prefix, lookup_mac, lookup_matches, new_lookup_code, normalise_lookup, submission_key, Action,
    Attachment, AttachmentSource, Delivery, Dossier, Event, Rating, Satisfaction, Status, MAX_COMMENT,
    MAX_REASONS, RATING_STEPS,
};
use crate::error::{Code, Error, Result};
use crate::grant::Grant;
use crate::identity::ProvenHolder;
use crate::model::CopyStatus;
use crate::ports::{DossierStore, EntropyRng, Notice, Notices, OriginalToCheck};
use crate::procedure::{Catalogue, DocSource, Procedure};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::{Date, OffsetDateTime};

/// What dossiers need besides the service's own ports.
pub struct DossierSettings {
    pub store: Arc<dyn DossierStore>,
    pub notices: Arc<dyn Notices>,
    pub catalogue: &'static Catalogue,
    /// The receiving body's code at the head of dossier codes (e.g. `UBND-VH`).
    pub body_code: String,
    /// Receipts after this local time count from the next working day.
    pub cutoff: time::Time,
    /// Where webhooks go (their secrets stay with the edge that delivers them).
    pub webhooks: Vec<String>,
}

/// Attachments a dossier holds at most, and pages a scanned one.
pub const MAX_ATTACHMENTS: usize = 20;
pub const MAX_SCANNED_PAGES: usize = 20;
/// Dossiers the wallet lists at most.
pub const DOSSIERS_LISTED: u32 = 100;
/// Events the pull feed gives at most per call.
pub const FEED_PAGE: u32 = 500;

/// A submission as an edge brings it.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub procedure: String,
    /// Field values by key; the identity's fields are filled in by the service whatever is given.
    pub form: BTreeMap<String, String>,
    pub attachments: Vec<NewAttachment>,
    pub email: Option<String>,
    /// The payment of the procedure's fee, once the gateway confirmed it (a kiosk's submission of a procedure
    /// with a fixed fee is first answered with the payment due).
    pub payment: Option<String>,
    /// The kiosk's idempotency key (scoped here to its credential): a submission sent again with it — a lost
    /// answer, the offline queue's replay — returns the dossier filed the first time instead of a second one.
    pub key: Option<String>,
}

/// A document brought for a dossier.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// The procedure's document key.
    pub document: String,
    pub from: NewSource,
}

#[derive(Debug, Clone)]
pub enum NewSource {
    /// A certified copy from the citizen's wallet, by its code.
    Wallet(String),
    /// Page files (JPEG, PNG, PDF) scanned at the kiosk.
    Scan(Vec<Vec<u8>>),
}

/// An officer's move on a dossier.
#[derive(Debug, Clone)]
pub enum OfficerAction {
    /// Take the dossier (`to`: hand it to another officer).
    Assign {
        to: Option<String>,
    },
    RequestDocuments {
        documents: Vec<String>,
        note: String,
    },
    /// The result as a PDF the officer made; the service seals it.
    AttachResult {
        pdf: Vec<u8>,
        note: String,
    },
    Return,
    Refuse {
        reason: String,
    },
}

/// What anyone with the dossier code learns.
#[derive(Debug, Clone, Serialize)]
pub struct PublicStatus {
    pub code: String,
    /// The procedure's id in the catalogue, and its national code (else the id).
    pub procedure: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub status: Status,
    pub status_vi: &'static str,
    pub status_en: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// yyyy-mm-dd, and as people read it in Việt Nam (dd/mm/yyyy).
    pub due: String,
    pub due_day: String,
}

/// The dossier as its holder (with the lookup code), an officer or an authorised agency sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DossierView {
    #[serde(flatten)]
    pub public: PublicStatus,
    pub body: String,
    pub holder_id: String,
    pub holder_name: String,
    pub form: BTreeMap<String, String>,
    pub prefilled: Vec<String>,
    pub attachments: Vec<AttachmentView>,
    pub requested: Vec<String>,
    pub officer: Option<String>,
    pub fee_vnd: u64,
    /// The payment reference when the fee was paid at the kiosk.
    pub fee_paid: Option<String>,
    pub refusal: Option<String>,
    pub has_result: bool,
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub document: String,
    /// `wallet` or `scan`.
    pub source: &'static str,
    /// The wallet copy's code, or the scan's pages.
    pub copy: Option<String>,
    pub pages: Option<u32>,
    /// What the intake made of a scan (`auto_issue`, `officer_review`, `refuse`).
    pub intake: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub kind: String,
    pub status: Status,
    pub status_vi: &'static str,
    pub status_en: &'static str,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub note: String,
}

/// A document pulled by its URI.
#[derive(Debug, Clone)]
pub struct PulledDocument {
    pub uri: String,
    /// `COPY`, `SLIP` or `RESULT`.
    pub doc_type: &'static str,
    pub holder_id: String,
    pub issued_at: OffsetDateTime,
    pub status: String,
    pub pdf: Vec<u8>,
}

/// A procedure in a search's answer, with how often it was used.
#[derive(Debug, Clone, Serialize)]
pub struct FoundProcedure {
    pub id: String,
    /// The national code, else the id.
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub category: String,
    pub working_days: u32,
    /// "trong ngày", "3 ngày làm việc".
    pub time: String,
    /// "miễn phí", "10.000 đồng".
    pub fee: String,
    pub used: u64,
}

/// How a kiosk's submission ended when it did not fail.
#[derive(Debug, Clone)]
pub enum Filing {
    Filed(Box<Submitted>),
    /// The procedure's fee is paid first: nothing was filed; the submission, sent again naming the payment
    /// once the gateway confirmed it, is.
    PaymentDue(PaymentDue),
    /// A submission with the same key was filed before: that dossier. Its lookup code is not shown again (it
    /// was on the first answer, the slip and the e-mail).
    Already(Box<DossierView>),
}

/// A submission received.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub dossier: DossierView,
    /// Shown once (on the screen and the slip); only its MAC is kept.
    pub lookup_code: String,
    /// The signed appointment slip.
    pub slip_pdf: Vec<u8>,
}

/// The fee as the slip states it: the amount, and whether it was paid at the kiosk or is paid at the office.
fn fee_line(d: &Dossier, procedure: &Procedure) -> String {
    match (&d.fee_paid, d.fee_vnd) {
        (Some(reference), vnd) => format!(
            "{} — đã nộp qua cổng thanh toán, mã {reference} / paid, payment {reference}",
            crate::rules::format_vnd(vnd)
        ),
        (None, 0) => procedure.fee.label(),
        (None, vnd) => format!(
            "{} — nộp khi nhận kết quả / to pay when the result is collected",
            crate::rules::format_vnd(vnd)
        ),
    }
}

fn not_set_up() -> Error {
    Error::new(Code::Sys0003Internal, "dossiers are not set up on this service")
}

fn wrong_step(d: &Dossier, action: Action) -> Error {
    Error::new(
        Code::Dos0003WrongStep,
        format!(
            "the dossier is {}: it cannot be {} now",
            d.status.label_en().to_lowercase(),
            match action {
                Action::Assign => "assigned",
                Action::RequestDocuments => "asked for more documents",
                Action::AddDocuments => "given documents (none were asked for)",
                Action::AttachResult => "given a result",
                Action::Return => "returned",
                Action::Refuse => "refused",
            }
        ),
    )
}

fn text(name: &str, value: &str, max: usize) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("{name} is required"),
        ));
    }
    if v.chars().count() > max || v.chars().any(char::is_control) {
        return Err(Error::new(
            Code::Iss0005InvalidField,
            format!("{name} is longer than {max} characters or holds control characters"),
        ));
    }
    Ok(v.to_string())
}

/// An e-mail address a citizen typed, if it is one plain address (ASCII letters, digits and `@._+-`, one `@`,
/// a dotted domain; no display name, no comments, nothing a mail header could be smuggled in by).
pub fn email_address(raw: &str) -> Result<String> {
    let a = raw.trim();
    let plain = a.len() <= 254
        && a.bytes().filter(|b| *b == b'@').count() == 1
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@._+-".contains(&b));
    let ok = plain
        && a.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
    if ok {
        Ok(a.to_string())
    } else {
        Err(Error::new(
            Code::Del0001BadAddress,
            "this e-mail address cannot be written to",
        ))
    }
}

/// When a failed delivery is tried again: `base` after the first failure, then four times longer each time,
/// never more than six hours apart.
pub fn retry_delay(base: time::Duration, failures: u32) -> time::Duration {
    let factor = 4_i32.saturating_pow(failures.saturating_sub(1).min(10));
    (base * factor).min(time::Duration::hours(6))
}

impl Service {
    /// The same service keeping dossiers.
    pub fn with_dossiers(mut self, settings: DossierSettings) -> Self {
        self.dossiers = Some(Arc::new(settings));
        self
    }

    pub(super) fn dossier_settings(&self) -> Result<&Arc<DossierSettings>> {
        self.dossiers.as_ref().ok_or_else(not_set_up)
    }

    /// The procedures' catalogue.
    pub fn catalogue(&self) -> Result<&'static Catalogue> {
        Ok(self.dossier_settings()?.catalogue)
    }

    /// The fields of `procedure` the citizen of the kiosk's verified session fills, with their values and
    /// where they came from (shown locked on the form).
    pub async fn prefill(
        &self,
        device: &str,
        session: &str,
        procedure: &str,
    ) -> Result<Vec<crate::procedure::Prefilled>> {
        let (holder, method) = self.verified_identity(device, session).await?;
        Ok(self.catalogue()?.get(procedure)?.prefill(&holder, method))
    }

    /// A kiosk's submission for the citizen its verified session `session` proved. A procedure with a fixed
    /// fee is paid through the gateway first, when the service has one.
    pub async fn submit_dossier(&self, device: &str, session: &str, s: Submission) -> Result<Filing> {
        let (holder, method) = self.verified_identity(device, session).await?;
        self.submit_for(holder, method, device, true, s).await
    }

    /// A kiosk's submission sent from its offline queue, for the citizen a [`Grant`] names (made while their
    /// identity session was verified). Its fee, if any, is paid at the office: the citizen is no longer at the
    /// kiosk to pay by QR.
    pub async fn submit_dossier_granted(&self, device: &str, grant: &str, s: Submission) -> Result<Filing> {
        // The grant names the procedure by its id; a submission may name it by its national code.
        let procedure = self
            .dossier_settings()?
            .catalogue
            .get(s.procedure.trim())?
            .id
            .clone();
        let grant = Grant::open(
            &self.settings.capability_secret,
            grant,
            device,
            &procedure,
            self.clock.now(),
        )?;
        self.submit_for(grant.holder, grant.method, device, false, s)
            .await
    }

    /// A grant for the citizen of the device's verified identity session `session` to file a dossier of
    /// `procedure` later, from the kiosk's offline queue; and when it expires.
    pub async fn submission_grant(
        &self,
        device: &str,
        session: &str,
        procedure: &str,
    ) -> Result<(String, OffsetDateTime)> {
        let (holder, method) = self.verified_identity(device, session).await?;
        let procedure = self
            .dossier_settings()?
            .catalogue
            .get(procedure.trim())?
            .id
            .clone();
        let grant = Grant::new(device, &procedure, holder, method, self.clock.now());
        let expires =
            OffsetDateTime::from_unix_timestamp(grant.expires).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Ok((grant.seal(&self.settings.capability_secret), expires))
    }

    /// A submission from a citizen's browser signed in with the app (session `id`); its fee, if any, is paid
    /// at the office.
    pub async fn submit_dossier_web(&self, id: &str, s: Submission) -> Result<Submitted> {
        let (holder, method) = self.web_identity(id).await?;
        match self.submit_for(holder, method, "web", false, s).await? {
            Filing::Filed(s) => Ok(*s),
            Filing::PaymentDue(_) => Err(Error::new(
                Code::Sys0003Internal,
                "a web submission was asked for a payment",
            )),
            Filing::Already(_) => Err(Error::new(
                Code::Sys0003Internal,
                "a web submission was answered as a repeat (it carries no key)",
            )),
        }
    }

    async fn submit_for(
        &self,
        holder: ProvenHolder,
        method: crate::identity::Method,
        channel: &str,
        kiosk_pays: bool,
        s: Submission,
    ) -> Result<Filing> {
        let settings = self.dossier_settings()?.clone();
        let key = s
            .key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| submission_key(channel, k))
            .transpose()?;
        if let Some(done) = self.filed_with(&settings, key.as_deref()).await? {
            return Ok(Filing::Already(done));
        }
        let procedure = settings.catalogue.get(s.procedure.trim())?;
        // The identity's fields come from the proof: left empty they take it, sent otherwise they are refused.
        let form = procedure.validate_for(&s.form, &holder)?.values().clone();
        let prefilled = procedure
            .prefill(&holder, method)
            .into_iter()
            .map(|p| p.key)
            .collect();
        let email = s
            .email
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .map(email_address)
            .transpose()?;
        if s.attachments.len() > MAX_ATTACHMENTS {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                format!("a dossier holds at most {MAX_ATTACHMENTS} documents"),
            ));
        }
        procedure.check_documents(s.attachments.iter().map(|a| a.document.as_str()))?;
        // A fixed fee is paid at the kiosk through the gateway before the dossier is filed; the payment is
        // bound to the kiosk, the citizen, the procedure and the amount, so a form corrected after paying
        // still files with it.
        let fee = procedure.fee.amount_vnd().unwrap_or(0);
        let payable = (kiosk_pays && fee > 0 && self.payments.is_some()).then(|| Payable {
            device: channel,
            holder_id: &holder.id_number,
            digest: dossier_payment_digest(&procedure.id, &holder.id_number),
            amount_vnd: fee,
        });
        let named = s.payment.as_deref().map(str::trim).filter(|r| !r.is_empty());
        // Nothing to pay here: a payment named anyway is not spent.
        let named = payable.as_ref().and(named);
        if let (Some(what), None) = (&payable, named) {
            let due = self.payment_due(what, "Le phi ho so", None).await?;
            return Ok(Filing::PaymentDue(due));
        }
        let now = self.clock.now();
        let cutoff = procedure
            .time
            .cutoff
            .as_deref()
            .and_then(parse_hh_mm)
            .unwrap_or(settings.cutoff);
        let due = crate::calendar::due(now, procedure.time.working_days, cutoff)?;
        let prefix = code_prefix(&settings.body_code, now);
        let number = settings.store.next_dossier_number(&prefix).await?;
        let code = format!("{prefix}{number:04}");
        let mut dossier = Dossier {
            lookup_mac: String::new(),
            code: code.clone(),
            procedure: procedure.id.clone(),
            procedure_code: procedure.reference().to_string(),
            procedure_name: procedure.name.clone(),
            body: self.settings.issuing_body.clone(),
            holder_id: holder.id_number.clone(),
            holder_name: holder.full_name.clone(),
            identified_by: holder.assurance.clone(),
            channel: channel.to_string(),
            email,
            form,
            prefilled,
            attachments: Vec::new(),
            requested: Vec::new(),
            status: Status::Received,
            officer: None,
            fee_vnd: fee,
            fee_paid: None,
            received_at: now,
            due,
            slip_object: None,
            result_object: None,
            refusal: None,
            version: 1,
            key: key.clone(),
        };
        // Spent on this dossier's code; given back if the dossier is not filed after all.
        let Some((what, reference)) = payable.as_ref().zip(named) else {
            let filed = self.file(&settings, procedure, dossier, &s.attachments).await;
            return self.or_filed_before(&settings, key.as_deref(), filed).await;
        };
        self.spend_payment(what, reference, &code).await?;
        dossier.fee_paid = Some(reference.to_string());
        let filed = self.file(&settings, procedure, dossier, &s.attachments).await;
        if filed.is_err() {
            if let Err(e) = self.registry.release_payment(reference, &code).await {
                tracing::error!(payment = %reference, dossier = %code, error = %e,
                    "a payment spent on a dossier not filed could not be given back");
            }
        }
        self.or_filed_before(&settings, key.as_deref(), filed).await
    }

    /// The dossier filed before with the submission key `key`, if any.
    async fn filed_with(
        &self,
        settings: &DossierSettings,
        key: Option<&str>,
    ) -> Result<Option<Box<DossierView>>> {
        let Some(key) = key else { return Ok(None) };
        let Some(code) = settings.store.dossier_by_key(key).await? else {
            return Ok(None);
        };
        let d = settings.store.dossier(&code).await?.ok_or_else(|| {
            Error::new(
                Code::Sys0001Storage,
                format!("the dossier {code} of a key is missing"),
            )
        })?;
        let events = settings.store.dossier_events(&code).await?;
        Ok(Some(Box::new(self.view(&d, events))))
    }

    /// A filing that lost the race for its key to a concurrent one with the same key (the store refused the
    /// second key; what it stored was removed) answers with the winner's dossier.
    async fn or_filed_before(
        &self,
        settings: &DossierSettings,
        key: Option<&str>,
        filed: Result<Submitted>,
    ) -> Result<Filing> {
        match filed {
            Ok(s) => Ok(Filing::Filed(Box::new(s))),
            Err(e) if e.code == Code::Sys0001Storage && key.is_some() => {
                match self.filed_with(settings, key).await? {
                    Some(done) => Ok(Filing::Already(done)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Files a numbered dossier: its documents kept, its lookup code drawn, its slip signed and stored, the
    /// dossier written with its event and deliveries; what was stored is removed again if a later step fails.
    async fn file(
        &self,
        settings: &DossierSettings,
        procedure: &Procedure,
        mut dossier: Dossier,
        brought: &[NewAttachment],
    ) -> Result<Submitted> {
        let (code, now, due) = (dossier.code.clone(), dossier.received_at, dossier.due);
        let mut stored = Vec::new();
        dossier.attachments = match self
            .take_attachments(&code, &dossier.holder_id, procedure, brought, now, &mut stored)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.remove_all(&stored).await;
                return Err(e);
            }
        };
        let lookup = new_lookup_code(&mut EntropyRng(self.entropy.as_ref()));
        let normalised = normalise_lookup(&lookup).expect("a fresh lookup code reads back");
        dossier.lookup_mac = lookup_mac(&self.settings.capability_secret, &code, &normalised);
        let slip = match self.slip(&dossier, procedure, &lookup).await {
            Ok(pdf) => pdf,
            Err(e) => {
                self.remove_all(&stored).await;
                return Err(e);
            }
        };
        let slip_key = format!("dossiers/{code}/slip.pdf");
        if let Err(e) = self.blobs.put(&slip_key, slip.clone()).await {
            self.remove_all(&stored).await;
            return Err(e.into());
        }
        stored.push(slip_key.clone());
        dossier.slip_object = Some(slip_key.clone());
        let event = self.event(&dossier, "received", &dossier.channel, "");
        let mut deliveries = self.deliveries(settings, &dossier, &event);
        if let Some(mail) = &dossier.email {
            deliveries.push(self.mail(
                mail,
                &format!("Giấy tiếp nhận hồ sơ {code}"),
                &format!(
                    "Kính gửi ông/bà {},\n\nHồ sơ {} của ông/bà đã được tiếp nhận lúc {}. Ngày hẹn trả kết quả: {}.\n\
                     Giấy tiếp nhận hồ sơ và hẹn trả kết quả đính kèm thư này; mã tra cứu in trên giấy.\n\
                     Theo dõi hồ sơ: {}\n\n\
                     Your dossier {code} was received. Results are due on {}. The appointment slip is attached.\n",
                    dossier.holder_name,
                    dossier.procedure_name,
                    local_time(now),
                    day(due),
                    self.tracking_url(&code, None),
                    day(due),
                ),
                &[(&slip_key, &format!("giay-hen-{code}.pdf"))],
            ));
        }
        if let Err(e) = settings.store.insert_dossier(&dossier, &event, &deliveries).await {
            self.remove_all(&stored).await;
            return Err(e.into());
        }
        tracing::info!(dossier = %code, procedure = %dossier.procedure, channel = %dossier.channel, "dossier received");
        let view = self.view(&dossier, vec![event]);
        Ok(Submitted {
            dossier: view,
            lookup_code: lookup,
            slip_pdf: slip,
        })
    }

    /// Checks and keeps the documents brought: a wallet copy must be the holder's and valid; scanned pages go
    /// through the intake (its decision is kept for the officer; a bad file stops the submission) and into
    /// object storage (their keys added to `stored`, for the caller to remove on a later failure).
    async fn take_attachments(
        &self,
        code: &str,
        holder_id: &str,
        procedure: &Procedure,
        brought: &[NewAttachment],
        now: OffsetDateTime,
        stored: &mut Vec<String>,
    ) -> Result<Vec<Attachment>> {
        let mut out = Vec::new();
        for (i, a) in brought.iter().enumerate() {
            let spec = document(procedure, &a.document)?;
            // Where the document may come from is the procedure's to say (a paper to be seen whole is scanned;
            // a copy the registry certified may come from the wallet).
            let from_wallet = matches!(a.from, NewSource::Wallet(_));
            let allowed = match spec.source {
                DocSource::Either => true,
                DocSource::Wallet => from_wallet,
                DocSource::Scan => !from_wallet,
            };
            if !allowed {
                return Err(Error::new(
                    Code::Pro0003InvalidField,
                    format!(
                        "the document {} is {}",
                        spec.key,
                        if from_wallet {
                            "scanned from the paper, not taken from the wallet"
                        } else {
                            "taken from the wallet, not scanned"
                        }
                    ),
                ));
            }
            let source = match &a.from {
                NewSource::Wallet(copy) => {
                    let parsed = VerificationCode::parse(copy)?;
                    let record = self
                        .registry
                        .copy(parsed.as_str())
                        .await?
                        .filter(|r| r.holder_id == holder_id)
                        .ok_or_else(|| {
                            Error::new(
                                Code::Del0004NotTheHolder,
                                "the copy named is not one issued to this citizen",
                            )
                        })?;
                    if record.status != CopyStatus::Valid {
                        return Err(Error::new(
                            Code::Pro0004MissingDocument,
                            format!(
                                "the copy {copy} is {}: it cannot be attached",
                                record.status.as_str()
                            ),
                        ));
                    }
                    AttachmentSource::Wallet {
                        copy: record.code.clone(),
                    }
                }
                NewSource::Scan(files) => {
                    if files.len() > MAX_SCANNED_PAGES {
                        return Err(Error::new(
                            Code::Iss0004TooLarge,
                            format!("a scanned document holds at most {MAX_SCANNED_PAGES} page files"),
                        ));
                    }
                    let pages = self.check_files(files)?;
                    let verdict = self
                        .intake
                        .check(
                            OriginalToCheck {
                                files: Arc::new(files.clone()),
                                holder_id: holder_id.to_string(),
                                holder_name: String::new(),
                                claimed_type: spec.doc_type.clone().unwrap_or_default(),
                            },
                            Vec::new(),
                        )
                        .await?;
                    let mut objects = Vec::new();
                    for (p, file) in files.iter().enumerate() {
                        let key = format!(
                            "dossiers/{code}/doc-{i:02}-{p:02}-{}",
                            random_secret(&mut EntropyRng(self.entropy.as_ref()), 5)
                        );
                        self.blobs.put(&key, file.clone()).await?;
                        stored.push(key.clone());
                        objects.push(key);
                    }
                    AttachmentSource::Scan {
                        objects,
                        pages,
                        intake_decision: verdict.decision.as_str().to_string(),
                        intake_reason: verdict.reason,
                        intake_id: String::new(),
                    }
                }
            };
            out.push(Attachment {
                document: spec.key.clone(),
                source,
                added_at: now,
            });
        }
        Ok(out)
    }

    /// The appointment slip ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"), sealed.
    async fn slip(&self, d: &Dossier, procedure: &Procedure, lookup: &str) -> Result<Vec<u8>> {
        let settings = self.dossier_settings()?;
        let mut rows = vec![
            ("Mã hồ sơ / Dossier code".to_string(), d.code.clone()),
            ("Mã tra cứu / Lookup code".to_string(), lookup.to_string()),
            ("Người nộp / Applicant".to_string(), d.holder_name.clone()),
            (
                "Số định danh cá nhân / ID number".to_string(),
                d.holder_id.clone(),
            ),
        ];
        for key in ["address", "phone"] {
            if let Some(v) = d.form.get(key) {
                let label = procedure.field(key).map_or(key, |f| f.label.as_str()).to_string();
                rows.push((label, v.clone()));
            }
        }
        if let Some(e) = &d.email {
            rows.push(("Thư điện tử / E-mail".into(), e.clone()));
        }
        rows.push((
            "Thủ tục / Procedure".into(),
            format!("{} ({})", d.procedure_name, d.procedure_code),
        ));
        for (i, a) in d.attachments.iter().enumerate() {
            let name = procedure
                .document(&a.document)
                .map_or(a.document.clone(), |s| s.name.clone());
            let how = match &a.source {
                AttachmentSource::Wallet { copy } => format!("bản sao điện tử {copy}"),
                AttachmentSource::Scan { pages, .. } => format!("bản quét, {pages} trang"),
            };
            rows.push((
                if i == 0 {
                    "Giấy tờ nộp / Documents".into()
                } else {
                    String::new()
                },
                format!("{}. {name} ({how})", i + 1),
            ));
        }
        rows.push(("Số lượng hồ sơ / Sets".into(), "01 bộ".into()));
        rows.push((
            "Thời gian giải quyết / Processing time".into(),
            format!(
                "{} / {} working day(s)",
                procedure.time.label(),
                procedure.time.working_days
            ),
        ));
        rows.push((
            "Thời gian nhận hồ sơ / Received".into(),
            local_time(d.received_at),
        ));
        rows.push((
            "Thời gian trả kết quả / Results due".into(),
            format!("ngày {} / on {}", day(d.due), day(d.due)),
        ));
        rows.push(("Kết quả / Result".into(), procedure.slip.result.clone()));
        rows.push(("Nơi trả kết quả / Where".into(), procedure.slip.collect.clone()));
        rows.push(("Lệ phí / Fee".into(), fee_line(d, procedure)));
        let _ = settings;
        self.dossier_settings()?
            .notices
            .notice(Notice {
                issuer: self.settings.issuing_body.to_uppercase(),
                form: SLIP_FORM.into(),
                title: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ".into(),
                rows,
                paragraphs: vec![
                    "Ông/bà theo dõi hồ sơ bằng mã QR dưới đây hoặc tại địa chỉ in dưới mã, với mã tra cứu trên. \
                     Scan the QR code to follow the dossier; the lookup code above opens its timeline."
                        .into(),
                    "Giấy này được ký số bằng con dấu điện tử của cơ quan tiếp nhận thay chữ ký của cán bộ tiếp nhận \
                     (tiếp nhận tại ki-ốt). Signed with the receiving body's e-seal."
                        .into(),
                ],
                qr: Some((
                    self.tracking_url(&d.code, Some(lookup)),
                    self.tracking_url(&d.code, None),
                )),
                date_line: format!("{}, {}", self.settings.place, crate::rules::vietnamese_date(d.received_at).to_lowercase()),
                signer_title: "BỘ PHẬN MỘT CỬA".into(),
                signer_name: self.settings.issuing_body.clone(),
                issued_at: d.received_at,
                doc_title: format!("Giấy tiếp nhận hồ sơ {}", d.code),
            })
            .await
    }

    /// The tracking page's address (with the lookup code: the one the slip's QR carries).
    pub fn tracking_url(&self, code: &str, lookup: Option<&str>) -> String {
        match lookup {
            Some(k) => format!("{}/d/{code}?k={k}", self.settings.public_base_url),
            None => format!("{}/d/{code}", self.settings.public_base_url),
        }
    }

    fn event(&self, d: &Dossier, kind: &str, actor: &str, note: &str) -> Event {
        Event {
            seq: 0,
            dossier: d.code.clone(),
            kind: kind.to_string(),
            status: d.status,
            at: self.clock.now(),
            actor: actor.to_string(),
            note: note.to_string(),
        }
    }

    /// The webhooks an event owes, one per subscriber (Standard Webhooks payload: type, timestamp, data).
    fn deliveries(&self, settings: &DossierSettings, d: &Dossier, e: &Event) -> Vec<Delivery> {
        let body = serde_json::json!({
            "type": format!("dossier.{}", e.kind),
            "timestamp": e.at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "data": {
                "code": d.code,
                "procedure": d.procedure,
                "status": d.status.as_str(),
                "due": day_iso(d.due),
                "note": e.note,
            },
        })
        .to_string();
        settings
            .webhooks
            .iter()
            .map(|url| Delivery {
                id: format!(
                    "msg_{}",
                    random_secret(&mut EntropyRng(self.entropy.as_ref()), 15)
                ),
                target: format!("webhook:{url}"),
                body: body.clone(),
                attempts: 0,
                next_at: e.at,
                state: "pending".into(),
                last_error: None,
                created_at: e.at,
            })
            .collect()
    }

    /// A mail to the citizen, delivered by the deliveries' worker: `attach` is (object key, file name) of
    /// each PDF it carries.
    pub(super) fn mail(&self, to: &str, subject: &str, text: &str, attach: &[(&str, &str)]) -> Delivery {
        let now = self.clock.now();
        Delivery {
            id: format!(
                "mail_{}",
                random_secret(&mut EntropyRng(self.entropy.as_ref()), 15)
            ),
            target: format!("mail:{to}"),
            body: serde_json::json!({
                "subject": subject,
                "text": text,
                "attachments": attach
                    .iter()
                    .map(|(object, name)| serde_json::json!({"object": object, "name": name}))
                    .collect::<Vec<_>>(),
            })
            .to_string(),
            attempts: 0,
            next_at: now,
            state: "pending".into(),
            last_error: None,
            created_at: now,
        }
    }

    fn public(&self, d: &Dossier) -> PublicStatus {
        PublicStatus {
            code: d.code.clone(),
            procedure: d.procedure.clone(),
            procedure_code: d.procedure_code.clone(),
            procedure_name: d.procedure_name.clone(),
            status: d.status,
            status_vi: d.status.label_vi(),
            status_en: d.status.label_en(),
            received_at: d.received_at,
            due: day_iso(d.due),
            due_day: day(d.due),
        }
    }

    fn view(&self, d: &Dossier, events: Vec<Event>) -> DossierView {
        DossierView {
            public: self.public(d),
            body: d.body.clone(),
            holder_id: d.holder_id.clone(),
            holder_name: d.holder_name.clone(),
            form: d.form.clone(),
            prefilled: d.prefilled.clone(),
            attachments: d
                .attachments
                .iter()
                .map(|a| match &a.source {
                    AttachmentSource::Wallet { copy } => AttachmentView {
                        document: a.document.clone(),
                        source: "wallet",
                        copy: Some(copy.clone()),
                        pages: None,
                        intake: None,
                    },
                    AttachmentSource::Scan {
                        pages,
                        intake_decision,
                        ..
                    } => AttachmentView {
                        document: a.document.clone(),
                        source: "scan",
                        copy: None,
                        pages: Some(*pages),
                        intake: Some(intake_decision.clone()),
                    },
                })
                .collect(),
            requested: d.requested.clone(),
            officer: d.officer.clone(),
            fee_vnd: d.fee_vnd,
            fee_paid: d.fee_paid.clone(),
            refusal: d.refusal.clone(),
            has_result: d.result_object.is_some(),
            timeline: events
                .into_iter()
                .map(|e| TimelineEntry {
                    kind: e.kind,
                    status: e.status,
                    status_vi: e.status.label_vi(),
                    status_en: e.status.label_en(),
                    at: e.at,
                    note: e.note,
                })
                .collect(),
        }
    }

    async fn load(&self, code: &str) -> Result<Dossier> {
        self.dossier_settings()?
            .store
            .dossier(code.trim())
            .await?
            .ok_or_else(|| Error::new(Code::Dos0001NoSuchDossier, "no dossier has this code"))
    }

    /// The dossier `code`, for whoever has its lookup code (DOS-0002 otherwise; DOS-0005 once too many wrong
    /// ones were tried on it).
    async fn load_opened(&self, code: &str, lookup: &str) -> Result<Dossier> {
        let d = self.load(code).await?;
        let store = &self.dossier_settings()?.store;
        let now = self.clock.now();
        let window_start = now - crate::dossier::LOOKUP_WINDOW;
        crate::dossier::lookup_closed(store.wrong_lookups(&d.code, window_start).await?)?;
        if let Err(e) = lookup_matches(&self.settings.capability_secret, &d, lookup) {
            store.wrong_lookup(&d.code, now, window_start).await?;
            return Err(e);
        }
        Ok(d)
    }

    /// The stored PDF of a dossier: its signed slip (`result`: false) or its sealed result (true).
    async fn dossier_object(&self, d: &Dossier, result: bool) -> Result<Vec<u8>> {
        let key = if result { &d.result_object } else { &d.slip_object };
        let key = key
            .as_ref()
            .ok_or_else(|| Error::new(Code::Dos0003WrongStep, "the dossier has no result yet"))?;
        Ok(self.blobs.get(key).await?)
    }

    /// Writes a change of a dossier read at `read_version` with its event and the deliveries the event owes
    /// (the webhooks, and the citizen's e-mail when the dossier gives an address); objects `stored` for the
    /// change are removed when it is not written (DOS-0003 when another change came first).
    async fn record_change(
        &self,
        settings: &DossierSettings,
        new: &Dossier,
        read_version: u64,
        event: &Event,
        stored: &[String],
    ) -> Result<()> {
        let mut deliveries = self.deliveries(settings, new, event);
        if let Some(to) = &new.email {
            deliveries.push(self.citizen_mail(to, new, &event.note));
        }
        let written = settings
            .store
            .update_dossier(new, read_version, event, &deliveries)
            .await;
        match written {
            Ok(true) => Ok(()),
            Ok(false) => {
                self.remove_all(stored).await;
                Err(Error::new(
                    Code::Dos0003WrongStep,
                    "the dossier changed meanwhile (someone else acted on it): read it again",
                ))
            }
            Err(e) => {
                self.remove_all(stored).await;
                Err(e.into())
            }
        }
    }

    /// What anyone with the dossier code learns: the procedure, the status and the appointment day.
    pub async fn dossier_status(&self, code: &str) -> Result<PublicStatus> {
        Ok(self.public(&self.load(code).await?))
    }

    /// The whole dossier with its timeline, for whoever has its lookup code.
    pub async fn dossier_with_lookup(&self, code: &str, lookup: &str) -> Result<DossierView> {
        let d = self.load_opened(code, lookup).await?;
        self.full_view(&d).await
    }

    /// The whole dossier, for officers and authorised agencies.
    pub async fn dossier_for_staff(&self, code: &str) -> Result<DossierView> {
        let d = self.load(code).await?;
        self.full_view(&d).await
    }

    async fn full_view(&self, d: &Dossier) -> Result<DossierView> {
        let events = self.dossier_settings()?.store.dossier_events(&d.code).await?;
        Ok(self.view(d, events))
    }

    /// The signed slip (`result`: false) or the sealed result (true), for whoever has the lookup code.
    pub async fn dossier_pdf(&self, code: &str, lookup: &str, result: bool) -> Result<Vec<u8>> {
        let d = self.load_opened(code, lookup).await?;
        self.dossier_object(&d, result).await
    }

    /// An officer's move. Two officers acting on one version: the first one's move is kept and the other is
    /// told the dossier moved (DOS-0003); nothing of theirs is written.
    pub async fn act_on_dossier(
        &self,
        officer: &str,
        code: &str,
        action: OfficerAction,
    ) -> Result<DossierView> {
        let settings = self.dossier_settings()?.clone();
        let d = self.load(code).await?;
        let kind = match &action {
            OfficerAction::Assign { .. } => Action::Assign,
            OfficerAction::RequestDocuments { .. } => Action::RequestDocuments,
            OfficerAction::AttachResult { .. } => Action::AttachResult,
            OfficerAction::Return => Action::Return,
            OfficerAction::Refuse { .. } => Action::Refuse,
        };
        let next = d.status.allows(kind).ok_or_else(|| wrong_step(&d, kind))?;
        let procedure = settings.catalogue.get(&d.procedure)?;
        let mut new = d.clone();
        new.status = next;
        new.version = d.version + 1;
        let mut stored = Vec::new();
        let note = match action {
            OfficerAction::Assign { to } => {
                let to = match to {
                    Some(t) => text("the officer", &t, 100)?,
                    None => officer.to_string(),
                };
                new.officer = Some(to.clone());
                format!("Cán bộ thụ lý: {to}")
            }
            OfficerAction::RequestDocuments { documents, note } => {
                if documents.is_empty() {
                    return Err(Error::new(
                        Code::Pro0003InvalidField,
                        "name at least one document to ask for",
                    ));
                }
                let mut asked = Vec::new();
                for key in &documents {
                    asked.push(document(procedure, key)?.key.clone());
                }
                let note = text("the note", &note, 1000)?;
                new.requested = asked;
                note
            }
            OfficerAction::AttachResult { pdf, note } => {
                if !pdf.starts_with(b"%PDF-") {
                    return Err(Error::new(
                        Code::Iss0002UnsupportedPage,
                        "the result must be a PDF",
                    ));
                }
                self.check_files(std::slice::from_ref(&pdf))?;
                let sealed = settings
                    .notices
                    .seal(
                        pdf,
                        &format!(
                            "Kết quả giải quyết hồ sơ {} / Result of dossier {}",
                            d.code, d.code
                        ),
                        self.clock.now(),
                    )
                    .await?;
                let key = format!(
                    "dossiers/{}/result-{}.pdf",
                    d.code,
                    random_secret(&mut EntropyRng(self.entropy.as_ref()), 5)
                );
                self.blobs.put(&key, sealed).await?;
                stored.push(key.clone());
                new.result_object = Some(key);
                let note = if note.trim().is_empty() {
                    "Đã có kết quả giải quyết.".to_string()
                } else {
                    text("the note", &note, 1000)?
                };
                note
            }
            OfficerAction::Return => "Đã trả kết quả cho công dân.".to_string(),
            OfficerAction::Refuse { reason } => {
                let reason = text("the reason", &reason, 2000)?;
                new.refusal = Some(reason.clone());
                reason
            }
        };
        let event = self.event(&new, kind.as_str(), officer, &note);
        self.record_change(&settings, &new, d.version, &event, &stored)
            .await?;
        tracing::info!(dossier = %d.code, action = kind.as_str(), officer, "dossier moved");
        self.full_view(&new).await
    }

    /// The e-mail telling the citizen where their dossier now stands (`note`: what the change said).
    fn citizen_mail(&self, to: &str, d: &Dossier, note: &str) -> Delivery {
        self.mail(
            to,
            &format!(
                "Hồ sơ {}: {} / Dossier {}: {}",
                d.code,
                d.status.label_vi(),
                d.code,
                d.status.label_en()
            ),
            &format!(
                "Kính gửi ông/bà {},\n\nHồ sơ {} ({}): {}.\n{}\n\nTheo dõi hồ sơ: {}\n\n\
                 Your dossier {} is now: {}.\n",
                d.holder_name,
                d.code,
                d.procedure_name,
                d.status.label_vi(),
                note,
                self.tracking_url(&d.code, None),
                d.code,
                d.status.label_en(),
            ),
            &[],
        )
    }

    /// The citizen adds the documents the officer asked for (with the lookup code); the dossier goes back to
    /// the officer.
    pub async fn add_dossier_documents(
        &self,
        code: &str,
        lookup: &str,
        brought: Vec<NewAttachment>,
    ) -> Result<DossierView> {
        let settings = self.dossier_settings()?.clone();
        let d = self.load_opened(code, lookup).await?;
        let next = d
            .status
            .allows(Action::AddDocuments)
            .ok_or_else(|| wrong_step(&d, Action::AddDocuments))?;
        if brought.is_empty() || d.attachments.len() + brought.len() > MAX_ATTACHMENTS {
            return Err(Error::new(
                Code::Pro0004MissingDocument,
                format!(
                    "bring the documents asked for ({}), at most {MAX_ATTACHMENTS} in all",
                    d.requested.join(", ")
                ),
            ));
        }
        for key in &d.requested {
            if !brought.iter().any(|a| &a.document == key) {
                return Err(Error::new(
                    Code::Pro0004MissingDocument,
                    format!("the document {key} was asked for"),
                ));
            }
        }
        let procedure = settings.catalogue.get(&d.procedure)?;
        let now = self.clock.now();
        let mut stored = Vec::new();
        let added = match self
            .take_attachments(&d.code, &d.holder_id, procedure, &brought, now, &mut stored)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                self.remove_all(&stored).await;
                return Err(e);
            }
        };
        let mut new = d.clone();
        new.status = next;
        new.version = d.version + 1;
        let names: Vec<String> = added
            .iter()
            .map(|a| {
                procedure
                    .document(&a.document)
                    .map_or(a.document.clone(), |s| s.name.clone())
            })
            .collect();
        new.attachments.extend(added);
        new.requested.clear();
        let event = self.event(
            &new,
            Action::AddDocuments.as_str(),
            "citizen",
            &format!("Đã bổ sung: {}", names.join(", ")),
        );
        self.record_change(&settings, &new, d.version, &event, &stored)
            .await?;
        self.full_view(&new).await
    }

    /// A rating of one step (`service` at receipt, `result` once there is one), once per dossier and step.
    pub async fn rate_dossier(
        &self,
        code: &str,
        lookup: &str,
        step: &str,
        level: &str,
        reasons: Vec<String>,
        comment: &str,
    ) -> Result<()> {
        let d = self.load_opened(code, lookup).await?;
        let step = RATING_STEPS.iter().find(|s| **s == step).ok_or_else(|| {
            Error::new(
                Code::Iss0005InvalidField,
                "the step rated is `service` or `result`",
            )
        })?;
        let level = Satisfaction::parse(level).ok_or_else(|| {
            Error::new(
                Code::Iss0005InvalidField,
                "the rating is very_satisfied, satisfied or not_satisfied",
            )
        })?;
        if *step == "result" && !matches!(d.status, Status::ResultReady | Status::Returned | Status::Refused)
        {
            return Err(Error::new(
                Code::Dos0003WrongStep,
                "the result can be rated once there is one",
            ));
        }
        if reasons.len() > MAX_REASONS
            || reasons
                .iter()
                .any(|r| r.chars().count() > 100 || r.chars().any(char::is_control))
        {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                format!("at most {MAX_REASONS} short reasons"),
            ));
        }
        if comment.chars().count() > MAX_COMMENT || comment.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                format!("a comment of at most {MAX_COMMENT} characters"),
            ));
        }
        let added = self
            .dossier_settings()?
            .store
            .add_dossier_rating(&Rating {
                dossier: d.code.clone(),
                step: step.to_string(),
                level,
                reasons,
                comment: comment.trim().to_string(),
                officer: d.officer.clone(),
                procedure: d.procedure.clone(),
                at: self.clock.now(),
            })
            .await?;
        if added {
            Ok(())
        } else {
            Err(Error::new(
                Code::Dos0004AlreadyRated,
                "this step of the dossier was rated already",
            ))
        }
    }

    /// The catalogue searched by words (without diacritics or with), in a category, the most used first.
    pub async fn search_procedures(
        &self,
        words: &str,
        category: Option<&str>,
    ) -> Result<Vec<FoundProcedure>> {
        let settings = self.dossier_settings()?;
        let usage: std::collections::HashMap<String, u64> =
            settings.store.procedure_counts().await?.into_iter().collect();
        Ok(settings
            .catalogue
            .search(words, category, &usage)
            .into_iter()
            .map(|p| FoundProcedure {
                id: p.id.clone(),
                code: p.reference().to_string(),
                name: p.name.clone(),
                name_en: p.name_en.clone(),
                category: p.category.clone(),
                working_days: p.time.working_days,
                time: p.time.label(),
                fee: p.fee.label(),
                used: usage.get(&p.id).copied().unwrap_or(0),
            })
            .collect())
    }

    /// A document by its URI, `{body}-{TYPE}-{id}` (DigiLocker's shape): `COPY` and a certified copy's code, or
    /// `SLIP` / `RESULT` and a dossier's code. For authorised agencies' systems.
    pub async fn pull_document(&self, uri: &str) -> Result<PulledDocument> {
        let settings = self.dossier_settings()?;
        let unknown = || Error::new(Code::Ver0003NotFound, "no document has this URI");
        let rest = uri
            .trim()
            .strip_prefix(&format!("{}-", settings.body_code))
            .ok_or_else(unknown)?;
        let (kind, id) = rest.split_once('-').ok_or_else(unknown)?;
        match kind {
            "COPY" => {
                let code = VerificationCode::parse(id).map_err(|_| unknown())?;
                let (record, pdf) = self.stored_pdf(code.as_str()).await?;
                Ok(PulledDocument {
                    uri: uri.trim().to_string(),
                    doc_type: "COPY",
                    holder_id: record.holder_id,
                    issued_at: record.issued_at,
                    status: record.status.as_str().to_string(),
                    pdf,
                })
            }
            "SLIP" | "RESULT" => {
                let d = self.load(id).await.map_err(|_| unknown())?;
                let pdf = self.dossier_object(&d, kind == "RESULT").await.map_err(|e| {
                    if e.code == Code::Dos0003WrongStep {
                        unknown()
                    } else {
                        e
                    }
                })?;
                Ok(PulledDocument {
                    uri: uri.trim().to_string(),
                    doc_type: if kind == "SLIP" { "SLIP" } else { "RESULT" },
                    holder_id: d.holder_id,
                    issued_at: d.received_at,
                    status: d.status.as_str().to_string(),
                    pdf,
                })
            }
            _ => Err(unknown()),
        }
    }

    /// A document's URI for [`Service::pull_document`].
    pub fn document_uri(&self, kind: &str, id: &str) -> Result<String> {
        Ok(format!("{}-{kind}-{id}", self.dossier_settings()?.body_code))
    }

    /// The citizen's dossiers (wallet), newest first, each with whether its result is in.
    pub async fn dossiers_of(&self, holder_id: &str) -> Result<Vec<(PublicStatus, bool)>> {
        let list = self
            .dossier_settings()?
            .store
            .dossiers_by_holder(holder_id, DOSSIERS_LISTED)
            .await?;
        Ok(list
            .iter()
            .map(|d| (self.public(d), d.result_object.is_some()))
            .collect())
    }

    /// The dossiers of the citizen a browser's app login `id` proved (the wallet page).
    pub async fn web_dossiers(&self, id: &str) -> Result<Vec<(PublicStatus, bool)>> {
        let holder = self.web_holder(id).await?;
        self.dossiers_of(&holder.id_number).await
    }

    /// The dossiers of the citizen of a kiosk's verified session `session` (the wallet screen).
    pub async fn kiosk_dossiers(&self, device: &str, session: &str) -> Result<Vec<(PublicStatus, bool)>> {
        let holder = self.verified_holder(device, session).await?;
        self.dossiers_of(&holder.id_number).await
    }

    /// A dossier's slip (`result`: false) or sealed result (true) for the citizen a browser's app login `id`
    /// proved, when the dossier is theirs (the wallet holds it: no lookup code needed).
    pub async fn web_dossier_pdf(&self, id: &str, code: &str, result: bool) -> Result<Vec<u8>> {
        let holder = self.web_holder(id).await?;
        let d = self.load(code).await?;
        if d.holder_id != holder.id_number {
            return Err(Error::new(
                Code::Dos0001NoSuchDossier,
                "no dossier of this citizen has this code",
            ));
        }
        self.dossier_object(&d, result).await
    }

    /// Every dossier's events after `after`, for authorised agencies' systems (the pull feed).
    pub async fn dossier_feed(&self, after: u64, limit: u32) -> Result<Vec<Event>> {
        Ok(self
            .dossier_settings()?
            .store
            .events_after(after, limit.clamp(1, FEED_PAGE))
            .await?)
    }

    /// A dossier's ratings (for officers).
    pub async fn dossier_ratings(&self, code: &str) -> Result<Vec<Rating>> {
        Ok(self
            .dossier_settings()?
            .store
            .dossier_ratings(code.trim())
            .await?)
    }

    /// Claims the deliveries due now for `lease` (see [`DossierStore::claim_deliveries`]).
    pub async fn claim_deliveries(&self, lease: time::Duration, limit: u32) -> Result<Vec<Delivery>> {
        let now = self.clock.now();
        Ok(self
            .dossier_settings()?
            .store
            .claim_deliveries(now, now + lease, limit)
            .await?)
    }

    /// Records how an attempt at `delivery` went: delivered; or failed with `error`, tried again after
    /// [`retry_delay`] or, after `max_attempts`, dead (in the dead-letter list).
    pub async fn record_delivery(
        &self,
        delivery: &Delivery,
        outcome: std::result::Result<(), String>,
        retry_base: time::Duration,
        max_attempts: u32,
    ) -> Result<&'static str> {
        let attempts = delivery.attempts + 1;
        let now = self.clock.now();
        let (state, next_at, error) = match outcome {
            Ok(()) => ("delivered", now, None),
            Err(e) if attempts >= max_attempts => ("dead", now, Some(e)),
            Err(e) => ("pending", now + retry_delay(retry_base, attempts), Some(e)),
        };
        self.dossier_settings()?
            .store
            .record_attempt(&delivery.id, state, attempts, next_at, error.as_deref())
            .await?;
        Ok(state)
    }

    /// Sends a dead delivery again from its first attempt (an operator's decision once the receiver is fixed).
    pub async fn retry_dead_delivery(&self, id: &str) -> Result<()> {
        let store = &self.dossier_settings()?.store;
        let dead = store.deliveries_in("dead", u32::MAX).await?;
        if !dead.iter().any(|d| d.id == id) {
            return Err(Error::new(
                Code::Req0002NoSuchEndpoint,
                "no dead delivery has this id",
            ));
        }
        Ok(store
            .record_attempt(id, "pending", 0, self.clock.now(), None)
            .await?)
    }

    /// An object a mail delivery attaches: a dossier's slip or result, a refusal notice, a copy; nothing else.
    pub async fn delivery_object(&self, key: &str) -> Result<Vec<u8>> {
        // What a citizen is mailed: a dossier's slip or result, a held request's refusal notice, a copy.
        let mailable = ["dossiers/", "notices/", "copies/"]
            .iter()
            .any(|p| key.starts_with(p));
        if !mailable || key.contains("..") {
            return Err(Error::new(
                Code::Sys0003Internal,
                "a delivery names an object that is not a dossier's, a notice or a copy",
            ));
        }
        Ok(self.blobs.get(key).await?)
    }

    /// Deliveries by state (`dead`: the dead-letter list).
    pub async fn deliveries_in(&self, state: &str, limit: u32) -> Result<Vec<Delivery>> {
        Ok(self.dossier_settings()?.store.deliveries_in(state, limit).await?)
    }
}

/// The appointment slip's form: Mẫu số 01 of the appendix to Decree 118/2025/NĐ-CP (which replaced Decree
/// 61/2018 and its Circular 01/2018/TT-VPCP form of the same name from 1 July 2025).
pub const SLIP_FORM: &str = "Mẫu số 01 - Nghị định 118/2025/NĐ-CP";

/// The procedure's document `key`, or PRO-0003 naming it.
fn document<'p>(procedure: &'p Procedure, key: &str) -> Result<&'p crate::procedure::DocumentSpec> {
    procedure.document(key).ok_or_else(|| {
        let shown: String = key.chars().take(60).collect();
        Error::new(
            Code::Pro0003InvalidField,
            format!(
                "the procedure {} has no document {shown:?}",
                procedure.reference()
            ),
        )
    })
}

/// `HH:MM` as a time of day.
fn parse_hh_mm(text: &str) -> Option<time::Time> {
    let (h, m) = text.trim().split_once(':')?;
    time::Time::from_hms(h.parse().ok()?, m.parse().ok()?, 0).ok()
}

fn day(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

fn day_iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub(super) fn local_time(t: OffsetDateTime) -> String {
    let l = t.to_offset(crate::rules::VIETNAM);
    format!(
        "{:02} giờ {:02} phút, ngày {}",
        l.hour(),
        l.minute(),
        day(l.date())
    )
}
