//! The worker that carries out the deliveries dossier events owe: webhooks to other agencies' systems
//! (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`) and e-mails to citizens.
//!
//! Deliveries are rows written with their events, so a restart loses none: the worker claims the due ones for a
//! lease (no other worker, on this node or another, takes them meanwhile), tries each once and records how it
//! went — delivered, tried again later with a growing delay, or, after the configured attempts, dead (the
//! dead-letter list, `GET /api/v1/deliveries?state=dead`). A delivery keeps its id on every try, so a
//! receiver drops a repeat (a worker that died after the receiver answered but before recording it).

use banso_core::dossier::Delivery;
use banso_core::service::Service;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Deliveries claimed at once, and how long a claim holds.
const BATCH: u32 = 16;
const LEASE: time::Duration = time::Duration::minutes(2);
/// The longest one attempt may take (a receiver or relay that holds it longer has failed it). No attempt
/// starts later than this before the lease ends, so every attempt is recorded while its claim still holds and
/// no other node takes the delivery and sends it a second time.
const ATTEMPT_LIMIT: Duration = Duration::from_secs(30);
/// How long the worker sleeps when nothing is due.
const IDLE: Duration = Duration::from_millis(500);
/// A receiver's answer is read no further than this (its status is what counts).
const ANSWER_LIMIT: usize = 4096;

pub struct Worker {
    pub service: Service,
    /// Subscribers' URLs and their key bytes.
    pub webhooks: BTreeMap<String, Vec<u8>>,
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    pub retry_base: time::Duration,
    pub max_attempts: u32,
    http: reqwest::Client,
}

impl Worker {
    pub fn new(
        service: Service,
        webhooks: BTreeMap<String, Vec<u8>>,
        mailer: Option<Arc<crate::mail::Mailer>>,
        retry_base: time::Duration,
        max_attempts: u32,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            service,
            webhooks,
            mailer,
            retry_base,
            max_attempts: max_attempts.max(1),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    /// Runs for as long as the service does.
    pub fn spawn(self) {
        tokio::spawn(async move {
            loop {
                match self.run_once().await {
                    Ok(0) => tokio::time::sleep(IDLE).await,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "deliveries: the registry did not answer");
                        tokio::time::sleep(IDLE * 4).await;
                    }
                }
            }
        });
    }

    /// Claims and tries the due deliveries once; how many it tried.
    pub async fn run_once(&self) -> banso_core::Result<usize> {
        let claimed = std::time::Instant::now();
        let due = self.service.claim_deliveries(LEASE, BATCH).await?;
        let last_start = LEASE.unsigned_abs().saturating_sub(ATTEMPT_LIMIT * 2);
        for d in &due {
            if claimed.elapsed() > last_start {
                // The rest wait for their lease to end and are claimed again.
                break;
            }
            let outcome = tokio::time::timeout(ATTEMPT_LIMIT, self.attempt(d))
                .await
                .unwrap_or_else(|_| Err("no answer within the time allowed".into()));
            let state = self
                .service
                .record_delivery(d, outcome.clone(), self.retry_base, self.max_attempts)
                .await?;
            match (&outcome, state) {
                (Ok(()), _) => tracing::info!(id = %d.id, target = %target_for_log(&d.target), "delivered"),
                (Err(e), "dead") => {
                    tracing::error!(id = %d.id, target = %target_for_log(&d.target), error = %e, "delivery given up: dead")
                }
                (Err(e), _) => {
                    tracing::warn!(id = %d.id, target = %target_for_log(&d.target), error = %e, attempts = d.attempts + 1, "delivery failed; tried again later")
                }
            }
        }
        Ok(due.len())
    }

    async fn attempt(&self, d: &Delivery) -> Result<(), String> {
        if let Some(url) = d.target.strip_prefix("webhook:") {
            self.webhook(url, d).await
        } else if let Some(to) = d.target.strip_prefix("mail:") {
            self.mail(to, d).await
        } else {
            Err(format!("unknown delivery target {}", d.target))
        }
    }

    async fn webhook(&self, url: &str, d: &Delivery) -> Result<(), String> {
        let key = self
            .webhooks
            .get(url)
            .ok_or("the subscriber is no longer configured")?;
        let ts = time::OffsetDateTime::now_utc().unix_timestamp();
        let signature = banso_core::dossier::webhook::sign(key, &d.id, ts, d.body.as_bytes());
        let answer = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &d.id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(d.body.clone())
            .send()
            .await
            .map_err(|e| format!("the receiver cannot be reached: {e}"))?;
        let status = answer.status();
        // Read a little of the answer (so the connection can be reused), never all of it.
        let mut answer = answer;
        let mut read = 0;
        while let Ok(Some(chunk)) = answer.chunk().await {
            read += chunk.len();
            if read > ANSWER_LIMIT {
                break;
            }
        }
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {}", status.as_u16()))
        }
    }

    async fn mail(&self, to: &str, d: &Delivery) -> Result<(), String> {
        let mailer = self.mailer.as_ref().ok_or("no mail relay is configured")?;
        let to = crate::mail::recipient(to).ok_or("the address cannot be written to")?;
        let body: serde_json::Value =
            serde_json::from_str(&d.body).map_err(|e| format!("the stored mail does not read: {e}"))?;
        let mut pdfs = Vec::new();
        for a in body["attachments"].as_array().into_iter().flatten() {
            let (Some(object), Some(name)) = (a["object"].as_str(), a["name"].as_str()) else {
                continue;
            };
            let bytes = self
                .service
                .delivery_object(object)
                .await
                .map_err(|e| format!("the attachment {object}: {}", e.message))?;
            pdfs.push((name.to_string(), bytes));
        }
        mailer
            .send(
                to,
                body["subject"].as_str().unwrap_or("banso"),
                body["text"].as_str().unwrap_or_default().to_string(),
                pdfs,
            )
            .await
            .map_err(|e| format!("{e:#}"))
    }
}

/// A target as logged: a webhook's URL without its query, a mail's domain only.
fn target_for_log(target: &str) -> String {
    if let Some(url) = target.strip_prefix("webhook:") {
        format!("webhook:{}", url.split('?').next().unwrap_or(url))
    } else if let Some(to) = target.strip_prefix("mail:") {
        format!("mail:…@{}", to.rsplit('@').next().unwrap_or(""))
    } else {
        target.to_string()
    }
}
