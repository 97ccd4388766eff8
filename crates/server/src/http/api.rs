//! JSON API handlers.

use super::{bad_request, ApiError, AppState};
use crate::output::issuance_json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use banso_core::error::{Code, Error};
use banso_core::model::Role;
use banso_core::service::{IssueOutcome, IssueRequest, PayBy};
use serde::Deserialize;
use serde_json::json;

/// The header a kiosk names the payment it made for a request in.
pub const PAYMENT_HEADER: &str = "banso-payment";

/// The header a kiosk names the citizen's verified identity session in.
pub const IDENTITY_SESSION_HEADER: &str = "banso-identity-session";

/// The identity session a kiosk names in [`IDENTITY_SESSION_HEADER`], trimmed (empty when none: the service then
/// finds no session for it).
pub fn identity_session(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(IDENTITY_SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim()
}

pub const OPENAPI: &str = include_str!("../../openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn not_found() -> ApiError {
    ApiError(Error::new(Code::Req0002NoSuchEndpoint, "no such endpoint"))
}

pub fn path_error(e: PathRejection) -> ApiError {
    bad_request(format!("the address is malformed: {}", e.body_text()))
}

pub fn query_error(e: QueryRejection) -> ApiError {
    bad_request(format!("the query string is malformed: {}", e.body_text()))
}

/// An authenticated API caller. Tokens are compared by their SHA-256; the token itself is never logged.
/// The edge authenticates routes that take a body before reading it and leaves the caller in the
/// request's extensions.
#[derive(Clone)]
pub struct Caller {
    pub role: Role,
    pub token_id: String,
    pub name: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError(Error::new(
                    Code::Auth0001Missing,
                    "an API token is required (Authorization: Bearer …)",
                ))
            })?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError(Error::new(
                    Code::Auth0001Missing,
                    "use Authorization: Bearer <token>",
                ))
            })?;
        let t = state.service.authenticate(token).await?;
        Ok(Caller {
            role: t.role,
            token_id: t.id,
            name: t.name,
        })
    }
}

impl Caller {
    pub fn require(&self, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError(Error::new(
                Code::Auth0003Forbidden,
                format!("the {} role may not do this", self.role.as_str()),
            )))
        }
    }
}

/// The multipart form whose body the edge has already read (and capped) whole.
pub(super) async fn read_form(req: Request, state: &AppState) -> Result<banso_wire::Form, ApiError> {
    let content_type = content_type(&req);
    let body = read_bytes(req, state).await?;
    banso_wire::read_form(&content_type, body).map_err(wire_error)
}

fn content_type(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A body the wire parsers refused, as the API says it.
pub(super) fn wire_error(e: banso_wire::WireError) -> ApiError {
    match e {
        banso_wire::WireError::Malformed(m) => bad_request(m),
        banso_wire::WireError::InvalidField(m) => ApiError(Error::new(Code::Iss0005InvalidField, m)),
    }
}

/// The body the edge has already read (and capped) whole.
pub(super) async fn read_bytes(req: Request, state: &AppState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| bad_request(e.body_text()))
}

/// `POST /api/v1/copies`: multipart (fields holder_id, holder_name, document_type, copies; files `page`)
/// or JSON with base64 pages. `Idempotency-Key` makes a retry return the first result.
pub async fn issue(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer, Role::Kiosk])?;
    // A kiosk names no holder itself: the identity session the service verified does.
    let proven = if caller.role == Role::Kiosk {
        let session = req
            .headers()
            .get(IDENTITY_SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError(Error::new(
                    Code::Auth0005IdentityRequired,
                    format!(
                        "a kiosk issues only for a citizen the service identified: send the verified identity \
                         session in {IDENTITY_SESSION_HEADER}"
                    ),
                ))
            })?;
        Some(state.service.verified_holder(&caller.token_id, session).await?)
    } else {
        None
    };
    let payment = req
        .headers()
        .get(PAYMENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    let request_key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| format!("{}:{}", caller.token_id, k.trim()));
    // An officer whose token is bound to an officer certificate signs the copy beside the seal.
    let officer = (caller.role == Role::Officer && state.trust.officers.contains_key(&caller.name))
        .then(|| caller.name.clone());
    let content_type = content_type(&req);
    let body =
        banso_wire::issue_body(Some(&content_type), read_bytes(req, &state).await?).map_err(wire_error)?;
    let mut request = IssueRequest {
        holder_id: body.holder_id,
        holder_name: body.holder_name,
        document_type: body.document_type,
        copies: body.copies,
        files: body.files,
        request_key,
        officer,
        reviewed_by: None,
        pay_by: None,
    };
    if caller.role == Role::Officer {
        request.reviewed_by = Some(caller.name.clone());
    }
    if let Some(holder) = proven {
        let differs = |given: &str, proven: &str| !given.trim().is_empty() && given.trim() != proven;
        if differs(&request.holder_id, &holder.id_number) || differs(&request.holder_name, &holder.full_name)
        {
            return Err(ApiError(Error::new(
                Code::Auth0006HolderMismatch,
                "the request names another holder than the citizen the identity session proved",
            )));
        }
        request.holder_id = holder.id_number;
        request.holder_name = holder.full_name;
        // A kiosk's citizen pays the fee through the gateway; a counter's at the counter.
        request.pay_by = Some(PayBy {
            device: caller.token_id.clone(),
            reference: payment,
        });
    }
    let started = std::time::Instant::now();
    // The issuance runs in its own task: if the client goes away mid-way it still ends in a commit or a
    // clean-up, never half-done with objects left behind.
    let service = state.service.clone();
    let outcome = tokio::spawn(async move { service.issue(request).await })
        .await
        .map_err(|e| ApiError(Error::new(Code::Sys0003Internal, format!("issuance task: {e}"))))??;
    let issuance = match outcome {
        IssueOutcome::Issued(issuance) => issuance,
        // Taken, not issued: an officer will look first. A success body (202), not an error.
        IssueOutcome::Held(held) => {
            return Ok((StatusCode::ACCEPTED, Json(crate::output::held_json(&held))).into_response())
        }
        // The original passed; the fee first. Not an error: the request is sound and waits for its payment.
        IssueOutcome::PaymentDue(due) => return Ok(payment_due(&due)),
    };
    state
        .metrics
        .observe_issuance(started.elapsed(), issuance.copies.len() as u64, issuance.replayed);
    let pdfs: Vec<String> = issuance
        .copies
        .iter()
        .map(|c| {
            format!(
                "{}/api/v1/copies/{}/pdf?k={}",
                state.base_url, c.record.code, c.capability_key
            )
        })
        .collect();
    let status = if issuance.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(issuance_json(&issuance, &pdfs, &state.base_url))).into_response())
}

/// `GET /api/v1/copies/{code}`: minimal public metadata.
pub async fn copy_status(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let copy = state.service.public_copy(&code).await?;
    Ok(Json(copy).into_response())
}

#[derive(Deserialize)]
pub struct KeyQuery {
    k: Option<String>,
}

/// `GET /api/v1/copies/{code}/pdf?k=KEY` (and `/v/{code}/pdf`): the signed PDF for the key holder.
pub async fn copy_pdf(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    q: Result<Query<KeyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let Query(q) = q.map_err(query_error)?;
    let key = q.k.ok_or_else(|| {
        ApiError(Error::new(
            Code::Ver0005BadKey,
            "the capability key (k) is required",
        ))
    })?;
    let (record, pdf) = state.service.open_pdf(&code, &key).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"banso-{}.pdf\"", record.code),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            // The URL carries the capability key: it must not leak to another site, and a PDF shown
            // inline may run nothing, load nothing and be framed by no one.
            (header::REFERRER_POLICY, "no-referrer".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; object-src 'self'; plugin-types application/pdf; frame-ancestors 'none'"
                    .to_string(),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokeJson {
    reason: String,
    decision_number: Option<String>,
}

/// `POST /api/v1/copies/{code}/revoke`: officers only. With `decision_number` it is a cancellation by
/// decision of the People's Committee chair.
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    code: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    caller.require(&[Role::Officer])?;
    let body: RevokeJson =
        serde_json::from_slice(&body).map_err(|e| bad_request(format!("expected {{\"reason\": …}}: {e}")))?;
    let record = state
        .service
        .revoke(&code, &body.reason, body.decision_number.as_deref())
        .await?;
    tracing::info!(token = %caller.token_id, status = record.status.as_str(), "copy status changed");
    Ok(Json(banso_core::service::PublicCopy::from_record(&record)).into_response())
}

/// `GET /api/v1/intake/{id}`: officers only. An intake decision, its report (document type, fields, every check
/// with its evidence) and how the request ended.
pub async fn intake_record(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    caller.require(&[Role::Officer])?;
    let r = state.service.intake_record(&id).await?;
    let report: serde_json::Value = serde_json::from_str(&r.report).unwrap_or(serde_json::Value::Null);
    Ok(Json(serde_json::json!({
        "id": r.id,
        "recorded_at": r.recorded_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "holder_id": r.holder_id,
        "claimed_type": r.claimed_type,
        "recognised_type": r.recognised_type,
        "decision": r.decision.as_str(),
        "reason": r.reason,
        "outcome": r.outcome,
        "codes": r.codes,
        "report": report,
    }))
    .into_response())
}

/// `POST /api/v1/verify`: the PDF as the body, or multipart with a `file` part.
pub async fn verify(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let pdf = if banso_wire::is_multipart(Some(&content_type(&req))) {
        let mut files = read_form(req, &state).await?.files;
        if files.is_empty() {
            return Err(bad_request("the form has no file part"));
        }
        files.swap_remove(0)
    } else {
        read_bytes(req, &state).await?.to_vec()
    };
    if pdf.is_empty() {
        return Err(ApiError(Error::new(
            Code::Ver0004NotPdf,
            "the body is empty; send the PDF",
        )));
    }
    let report = state.service.verify_file(pdf).await?;
    state.metrics.observe_verification(report.valid);
    Ok(Json(report).into_response())
}

/// `GET /api/v1/log/checkpoint`: the signed head of the transparency log.
pub async fn log_checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    let cp = state
        .log_key
        .checkpoint(&state.service)
        .await
        .map_err(|e| ApiError(Error::new(Code::Sys0001Storage, format!("checkpoint: {e:#}"))))?;
    Ok(Json(cp).into_response())
}

#[derive(Deserialize)]
pub struct InclusionQuery {
    code: Option<String>,
}

/// `GET /api/v1/log/proof/inclusion?code=…`: RFC 9162 inclusion proof of a copy's issuance record.
pub async fn log_inclusion(
    State(state): State<AppState>,
    Query(q): Query<InclusionQuery>,
) -> Result<Response, ApiError> {
    let code = q
        .code
        .ok_or_else(|| bad_request("the code parameter is required"))?;
    Ok(Json(state.service.inclusion(&code).await?).into_response())
}

#[derive(Deserialize)]
pub struct ConsistencyQuery {
    first: Option<u64>,
    second: Option<u64>,
}

/// `GET /api/v1/log/proof/consistency?first=N&second=M`: RFC 9162 consistency proof.
pub async fn log_consistency(
    State(state): State<AppState>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    let (Some(first), Some(second)) = (q.first, q.second) else {
        return Err(bad_request("first and second are required"));
    };
    let proof = state.service.log_consistency(first, second).await?;
    Ok(Json(proof).into_response())
}

/// `GET /api/v1/tokens`: officers only. Every API token with its role, name, times and state (never the
/// token itself).
pub async fn list_tokens(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer])?;
    let tokens = state.service.tokens().await?;
    let list: Vec<_> = tokens.iter().map(crate::output::token_json).collect();
    Ok(Json(serde_json::json!({ "tokens": list })).into_response())
}

/// `POST /api/v1/tokens/{id}/revoke`: officers only. The token stops working at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    caller.require(&[Role::Officer])?;
    state.service.revoke_token(&id).await?;
    tracing::info!(by = %caller.token_id, token = %id, "API token revoked");
    Ok(Json(serde_json::json!({ "id": id, "revoked": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingJson {
    score: u8,
}

/// `POST /api/v1/ratings` `{"score": 1..5}`: a citizen's satisfaction at the kiosk (kiosk token; no citizen named).
pub async fn rate(State(state): State<AppState>, caller: Caller, req: Request) -> Result<Response, ApiError> {
    caller.require(&[Role::Kiosk])?;
    let body = read_bytes(req, &state).await?;
    let parsed: RatingJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("expected {{\"score\": 1..5}}: {e}")))?;
    state.service.rate(&caller.token_id, parsed.score).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct EnrolJson {
    code: String,
}

/// `POST /api/v1/devices/enrol` `{"code"}`: a kiosk exchanges its one-time enrolment code for its API token
/// (201 `{"id", "name", "token"}`; 401 AUTH-0002 for a code unknown, used or expired).
pub async fn enrol_device(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    req: Request,
) -> Result<Response, ApiError> {
    let body = read_bytes(req, &state).await?;
    let parsed: EnrolJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("expected {{\"code\": \"…\"}}: {e}")))?;
    let from = super::edge::peer(&extensions);
    let (record, token) = state.service.enrol_device(&parsed.code, &from).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({"id": record.id, "name": record.name, "token": token})),
    )
        .into_response())
}

/// `POST /api/v1/devices/heartbeat`: a kiosk's peripherals' state, a JSON object (kiosk token; 204).
pub async fn heartbeat(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Kiosk])?;
    let body = read_bytes(req, &state).await?;
    let parsed: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("a heartbeat is a JSON object: {e}")))?;
    state
        .service
        .device_heartbeat(&caller.token_id, &caller.name, caller.role, &parsed)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/v1/payments/{reference}`: where a kiosk's payment stands (kiosk token).
pub async fn payment_status(
    State(state): State<AppState>,
    caller: Caller,
    reference: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Kiosk])?;
    let Path(reference) = reference.map_err(path_error)?;
    let view = state.service.payment_status(&caller.token_id, &reference).await?;
    Ok(Json(view).into_response())
}

/// `GET /pay/vnpay/ipn?…`: the payment gateway's signed notification, server to server. Anyone may call it;
/// only a query signed with the merchant's secret changes anything. Answered as VNPAY expects: HTTP 200 with
/// `{"RspCode", "Message"}`.
pub async fn vnpay_ipn(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    let answer = state.service.confirm_payment(uri.query().unwrap_or("")).await;
    ([(header::CONTENT_TYPE, "application/json")], answer.json()).into_response()
}

/// 402 with the payment to make: a request (a copy, a dossier) that is sound and waits for its fee. Not an
/// error: the kiosk shows the gateway's QR and sends the request again naming the payment.
pub fn payment_due(due: &banso_core::service::PaymentDue) -> Response {
    let body = json!({
        "status": "payment_due",
        "code": Code::Pay0001Due.as_str(),
        "message": format!("the fee of {} is to be paid first", banso_core::rules::format_vnd(due.amount_vnd)),
        "reference": due.reference,
        "amount_vnd": due.amount_vnd,
        "pay_url": due.pay_url,
        "intake_id": due.intake_id,
    });
    (StatusCode::PAYMENT_REQUIRED, Json(body)).into_response()
}
