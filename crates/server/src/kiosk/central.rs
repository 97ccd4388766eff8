//! The kiosk's client of the central service's API. The device credential is sent from here only; the
//! browser never sees it, nor the identity session's id (it holds a cookie naming the kiosk's own visit).

use anyhow::{anyhow, Context, Result};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// What the central service answered: its status and JSON body (an error body is
/// `{"error": {"code", "message"}}`).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The stable error code, when the answer is an error.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// The central API, as this kiosk device.
pub struct Central {
    base: String,
    credential: String,
    http: reqwest::Client,
}

impl Central {
    pub fn new(base: &str, credential: String) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            credential,
            http,
        })
    }

    /// Exchanges a one-time enrolment code for this kiosk's credential.
    pub async fn enrol(base: &str, code: &str) -> Result<String> {
        let answer = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?
            .post(format!("{}/api/v1/devices/enrol", base.trim_end_matches('/')))
            .json(&serde_json::json!({ "code": code.trim() }))
            .send()
            .await
            .map_err(|e| anyhow!("the central service cannot be reached to enrol: {e}"))?;
        let status = answer.status();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        match body["token"].as_str() {
            Some(t) if status.is_success() => Ok(t.to_string()),
            _ => Err(anyhow!("the enrolment code was refused ({status}): {body}")),
        }
    }

    /// Reports the peripherals' state.
    pub async fn heartbeat(&self, state: &Value) -> Result<Answer> {
        self.send(self.http.post(self.url("/api/v1/devices/heartbeat")).json(state))
            .await
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer> {
        let response = request
            .bearer_auth(&self.credential)
            .send()
            .await
            .map_err(|e| anyhow!("the central service cannot be reached: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts an identity session: `chip` or `app`.
    pub async fn start_identity(&self, method: &str) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url("/api/v1/identity/sessions"))
                .json(&json!({ "method": method })),
        )
        .await
    }

    pub async fn identity(
        &self,
        method: Method,
        session: &str,
        step: &str,
        body: Option<Value>,
    ) -> Result<Answer> {
        let path = if step.is_empty() {
            format!("/api/v1/identity/sessions/{session}")
        } else {
            format!("/api/v1/identity/sessions/{session}/{step}")
        };
        let mut request = self.http.request(method, self.url(&path));
        if let Some(b) = body {
            request = request.json(&b);
        }
        self.send(request).await
    }

    /// Sends camera frames (JPEG) for the face step.
    pub async fn face(&self, session: &str, frames: Vec<Vec<u8>>) -> Result<Answer> {
        let mut form = reqwest::multipart::Form::new();
        for (i, f) in frames.into_iter().enumerate() {
            form = form.part(
                "frame",
                reqwest::multipart::Part::bytes(f)
                    .file_name(format!("frame{i}.jpg"))
                    .mime_str("image/jpeg")?,
            );
        }
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/identity/sessions/{session}/face")))
                .multipart(form),
        )
        .await
    }

    /// Asks for certified copies of the scanned pages for the citizen of the verified `session`. The visit's
    /// `request_key` makes a retry (a lost answer) return the first result.
    pub async fn issue(
        &self,
        session: &str,
        request_key: &str,
        payment: Option<&str>,
        document_type: &str,
        copies: u32,
        pages: &[Vec<u8>],
    ) -> Result<Answer> {
        let mut form = reqwest::multipart::Form::new()
            .text("document_type", document_type.to_string())
            .text("copies", copies.to_string());
        for (i, p) in pages.iter().enumerate() {
            form = form.part(
                "page",
                reqwest::multipart::Part::bytes(p.clone())
                    .file_name(format!("page{}.png", i + 1))
                    .mime_str("image/png")?,
            );
        }
        let mut request = self
            .http
            .post(self.url("/api/v1/copies"))
            .header("Banso-Identity-Session", session)
            .header("Idempotency-Key", request_key);
        if let Some(p) = payment {
            request = request.header("Banso-Payment", p);
        }
        self.send(request.multipart(form)).await
    }

    /// Where the kiosk's payment stands.
    pub async fn payment(&self, reference: &str) -> Result<Answer> {
        self.send(self.http.get(self.url(&format!("/api/v1/payments/{reference}"))))
            .await
    }

    /// Sends the issued copy `code` to `to` by e-mail, for the citizen of the verified `session`.
    pub async fn email(&self, session: &str, code: &str, to: &str) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/copies/{code}/email")))
                .header("Banso-Identity-Session", session)
                .json(&json!({ "to": to })),
        )
        .await
    }

    /// Asks that the outcome of the held request `id` (its receipt code) be e-mailed to `to`, for the citizen of
    /// the verified `session`.
    pub async fn notify_held(&self, session: &str, id: &str, to: &str) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/reviews/{id}/notify")))
                .header("Banso-Identity-Session", session)
                .json(&json!({ "to": to })),
        )
        .await
    }

    /// The PDF behind a capability address the central service gave (`…/pdf?k=KEY`).
    pub async fn pdf(&self, url: &str) -> Result<Vec<u8>> {
        // Asked of this kiosk's central service whatever host the address names (its public name may differ).
        let path = ["/api/v1/copies/", "/api/v1/dossiers/"]
            .iter()
            .find_map(|p| url.find(p))
            .map(|i| &url[i..])
            .ok_or_else(|| anyhow!("not a copy's or a dossier's address: {url}"))?;
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .map_err(|e| anyhow!("the central service cannot be reached: {e}"))?;
        if !response.status().is_success() {
            anyhow::bail!("the central service answered {} for the copy", response.status());
        }
        Ok(response.bytes().await?.to_vec())
    }

    /// The copies issued to the citizen of the verified `session`.
    pub async fn wallet(&self, session: &str) -> Result<Answer> {
        self.send(
            self.http
                .get(self.url("/api/v1/wallet"))
                .header("Banso-Identity-Session", session),
        )
        .await
    }

    /// The procedures whose words match `query`, the most used first.
    pub async fn procedures(&self, query: &str) -> Result<Answer> {
        self.send(
            self.http
                .get(self.url("/api/v1/procedures"))
                .query(&[("q", query)]),
        )
        .await
    }

    /// One procedure (its form and documents), and the fields the citizen of `session` fills.
    pub async fn procedure(&self, session: &str, id: &str) -> Result<(Answer, Answer)> {
        let spec = self
            .send(self.http.get(self.url(&format!("/api/v1/procedures/{id}"))))
            .await?;
        let prefill = self
            .send(
                self.http
                    .get(self.url(&format!("/api/v1/procedures/{id}/prefill")))
                    .header("Banso-Identity-Session", session),
            )
            .await?;
        Ok((spec, prefill))
    }

    /// Submits a dossier for the citizen of the verified `session`; `key` (the draft's) makes a repeat return
    /// the dossier filed the first time.
    pub async fn submit_dossier(&self, session: &str, key: &str, body: &Value) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url("/api/v1/dossiers"))
                .header("Banso-Identity-Session", session)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    /// While `session` is verified, a grant for its citizen to file a dossier of `procedure` from the offline
    /// queue later.
    pub async fn submission_grant(&self, session: &str, procedure: &str) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/identity/sessions/{session}/grant")))
                .json(&json!({ "procedure": procedure })),
        )
        .await
    }

    /// Sends a dossier from the offline queue, for the citizen its grant names.
    pub async fn submit_queued(&self, q: &super::queue::Queued) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url("/api/v1/dossiers"))
                .header("Banso-Submission-Grant", &q.grant)
                .header("Idempotency-Key", &q.key)
                .json(&q.body),
        )
        .await
    }

    /// One procedure of the catalogue (its documents and form).
    pub async fn procedures_one(&self, id: &str) -> Result<Answer> {
        self.send(self.http.get(self.url(&format!("/api/v1/procedures/{id}"))))
            .await
    }

    /// The documents an officer asked for, added to a dossier (the body carries its lookup code).
    pub async fn add_documents(&self, code: &str, body: &Value) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/dossiers/{code}/documents")))
                .json(body),
        )
        .await
    }

    /// A dossier with its timeline (with its lookup code).
    pub async fn dossier(&self, code: &str, lookup: &str) -> Result<Answer> {
        self.send(
            self.http
                .get(self.url(&format!("/api/v1/dossiers/{code}")))
                .header("Banso-Lookup-Code", lookup),
        )
        .await
    }

    /// The citizen's rating of a step of their dossier (with its lookup code).
    pub async fn rate_dossier(&self, code: &str, lookup: &str, step: &str, level: &str) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url(&format!("/api/v1/dossiers/{code}/ratings")))
                .json(&json!({ "k": lookup, "step": step, "level": level })),
        )
        .await
    }

    /// A citizen's satisfaction rating, 1 to 5.
    pub async fn rate(&self, score: u8) -> Result<Answer> {
        self.send(
            self.http
                .post(self.url("/api/v1/ratings"))
                .json(&json!({ "score": score })),
        )
        .await
    }
}
