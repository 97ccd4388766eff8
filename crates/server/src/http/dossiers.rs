//! Dossiers over HTTP: a kiosk submits for the citizen its identity session proved; anyone with a dossier's
//! code reads its minimal status, and with its lookup code the whole dossier, its slip and result, adds the
//! documents asked for and rates it; officers move it; other agencies' systems (the `agency` role) read the
//! event feed and pull documents by URI. The procedures' catalogue is public.

use super::api::{path_error, query_error, read_bytes, Caller, IDENTITY_SESSION_HEADER};
use super::{bad_request, ApiError, AppState};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use banso_core::error::{Code, Error};
use banso_core::model::Role;
use banso_core::service::{Filing, NewAttachment, NewSource, OfficerAction, Submission};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The header (or `k` in the query) that carries a dossier's lookup code.
pub const LOOKUP_HEADER: &str = "banso-lookup-code";
/// The header that carries a submission grant (`core::grant`), in place of the identity session, when a kiosk
/// sends a dossier from its offline queue.
pub const GRANT_HEADER: &str = "banso-submission-grant";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachmentJson {
    /// The procedure's document key.
    document: String,
    /// A certified copy from the citizen's wallet.
    copy: Option<String>,
    /// Or scanned pages, base64.
    pages: Option<Vec<String>>,
}

fn attachments(list: Vec<AttachmentJson>) -> Result<Vec<NewAttachment>, ApiError> {
    use base64::Engine;
    list.into_iter()
        .map(|a| {
            let from = match (a.copy, a.pages) {
                (Some(code), None) => NewSource::Wallet(code),
                (None, Some(pages)) => NewSource::Scan(
                    pages
                        .iter()
                        .enumerate()
                        .map(|(i, p)| {
                            base64::engine::general_purpose::STANDARD
                                .decode(p.trim())
                                .map_err(|_| {
                                    bad_request(format!("page {} of {} is not base64", i + 1, a.document))
                                })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => {
                    return Err(bad_request(format!(
                        "the document {} is either a wallet copy (copy) or scanned pages (pages)",
                        a.document
                    )))
                }
            };
            Ok(NewAttachment {
                document: a.document,
                from,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitJson {
    procedure: String,
    #[serde(default)]
    form: BTreeMap<String, String>,
    #[serde(default)]
    attachments: Vec<AttachmentJson>,
    email: Option<String>,
    /// The fee's payment, once the gateway confirmed it.
    payment: Option<String>,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("the JSON body is not {what}: {e}")))
}

/// `POST /api/v1/dossiers`: a kiosk's submission, for the citizen its verified identity session proved (or,
/// from its offline queue, the grant made while it was verified). `Idempotency-Key` makes a repeat answer with
/// the dossier filed the first time (200, `"replayed": true`) instead of filing another.
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Kiosk])?;
    let headers = req.headers().clone();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    /// Who the submission is for.
    enum Citizen {
        Session(String),
        Granted(String),
    }
    let citizen = match (header(IDENTITY_SESSION_HEADER), header(GRANT_HEADER)) {
        (Some(session), _) => Citizen::Session(session),
        (None, Some(grant)) => Citizen::Granted(grant),
        (None, None) => {
            return Err(ApiError(Error::new(
                Code::Auth0005IdentityRequired,
                format!(
                    "a dossier is submitted for a citizen the service identified: send {IDENTITY_SESSION_HEADER} \
                     (or {GRANT_HEADER} from the offline queue)"
                ),
            )))
        }
    };
    let key = header("idempotency-key");
    let body = read_bytes(req, &state).await?;
    let parsed: SubmitJson = json_body(&body, "a dossier")?;
    let submission = Submission {
        procedure: parsed.procedure,
        form: parsed.form,
        attachments: attachments(parsed.attachments)?,
        email: parsed.email,
        payment: parsed.payment,
        key,
    };
    let filing = match citizen {
        Citizen::Session(session) => {
            state
                .service
                .submit_dossier(&caller.token_id, &session, submission)
                .await?
        }
        Citizen::Granted(grant) => {
            state
                .service
                .submit_dossier_granted(&caller.token_id, &grant, submission)
                .await?
        }
    };
    let s = match filing {
        Filing::Filed(s) => s,
        Filing::PaymentDue(due) => return Ok(super::api::payment_due(&due)),
        Filing::Already(dossier) => {
            let code = dossier.public.code.clone();
            return Ok((
                StatusCode::OK,
                Json(json!({
                    "dossier": dossier,
                    "replayed": true,
                    "tracking_url": state.service.tracking_url(&code, None),
                })),
            )
                .into_response());
        }
    };
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "dossier": s.dossier,
            "lookup_code": s.lookup_code,
            "slip": format!("/api/v1/dossiers/{}/slip.pdf", s.dossier.public.code),
            "tracking_url": state.service.tracking_url(&s.dossier.public.code, Some(&s.lookup_code)),
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct LookupQuery {
    k: Option<String>,
}

/// The lookup code from the header or the query.
fn lookup(headers: &HeaderMap, q: &LookupQuery) -> Option<String> {
    headers
        .get(LOOKUP_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.k.clone())
        .filter(|k| !k.trim().is_empty())
}

/// `GET /api/v1/dossiers/{code}`: the minimal status; with the lookup code, the whole dossier and its timeline.
pub async fn show(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    q: Result<Query<LookupQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let Query(q) = q.map_err(query_error)?;
    Ok(match lookup(&headers, &q) {
        Some(k) => Json(json!(state.service.dossier_with_lookup(&code, &k).await?)).into_response(),
        None => Json(json!(state.service.dossier_status(&code).await?)).into_response(),
    })
}

fn pdf_answer(name: String, pdf: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; object-src 'self'; plugin-types application/pdf; frame-ancestors 'none'"
                    .to_string(),
            ),
        ],
        pdf,
    )
        .into_response()
}

async fn pdf(
    state: AppState,
    code: Result<Path<String>, PathRejection>,
    q: Result<Query<LookupQuery>, QueryRejection>,
    headers: HeaderMap,
    result: bool,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let Query(q) = q.map_err(query_error)?;
    let k = lookup(&headers, &q).ok_or_else(|| {
        ApiError(Error::new(
            Code::Dos0002BadLookupCode,
            "the dossier's lookup code (k) is required",
        ))
    })?;
    let bytes = state.service.dossier_pdf(&code, &k, result).await?;
    let kind = if result { "ket-qua" } else { "giay-hen" };
    Ok(pdf_answer(format!("{kind}-{code}.pdf"), bytes))
}

/// `GET /api/v1/dossiers/{code}/slip.pdf?k=`: the signed appointment slip.
pub async fn slip(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    q: Result<Query<LookupQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    pdf(state, code, q, headers, false).await
}

/// `GET /api/v1/dossiers/{code}/result.pdf?k=`: the sealed result.
pub async fn result(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    q: Result<Query<LookupQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    pdf(state, code, q, headers, true).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentsJson {
    k: String,
    attachments: Vec<AttachmentJson>,
}

/// `POST /api/v1/dossiers/{code}/documents`: the citizen adds the documents asked for (lookup code in `k`).
pub async fn add_documents(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let body = read_bytes(req, &state).await?;
    let parsed: DocumentsJson = json_body(&body, "documents for a dossier")?;
    let view = state
        .service
        .add_dossier_documents(&code, &parsed.k, attachments(parsed.attachments)?)
        .await?;
    Ok(Json(json!(view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RatingJson {
    k: String,
    step: String,
    level: String,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    comment: String,
}

/// `POST /api/v1/dossiers/{code}/ratings`: the citizen rates the service or the result, once each.
pub async fn rate(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let body = read_bytes(req, &state).await?;
    let r: RatingJson = json_body(&body, "a rating")?;
    state
        .service
        .rate_dossier(&code, &r.k, &r.step, &r.level, r.reasons, &r.comment)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"rated": r.step}))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ActionJson {
    to: Option<String>,
    #[serde(default)]
    documents: Vec<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    reason: String,
    /// The result, a PDF in base64.
    pdf: Option<String>,
}

async fn act(
    state: AppState,
    caller: Caller,
    code: Result<Path<String>, PathRejection>,
    req: Request,
    kind: &str,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer])?;
    let Path(code) = code.map_err(path_error)?;
    let body = read_bytes(req, &state).await?;
    let a: ActionJson = if body.is_empty() {
        ActionJson::default()
    } else {
        json_body(&body, "a dossier action")?
    };
    let action = match kind {
        "assign" => OfficerAction::Assign { to: a.to },
        "request-documents" => OfficerAction::RequestDocuments {
            documents: a.documents,
            note: a.note,
        },
        "result" => {
            use base64::Engine;
            let pdf = a
                .pdf
                .ok_or_else(|| bad_request("the result PDF (pdf, base64) is required"))
                .and_then(|p| {
                    base64::engine::general_purpose::STANDARD
                        .decode(p.trim())
                        .map_err(|_| bad_request("the result PDF is not base64"))
                })?;
            OfficerAction::AttachResult { pdf, note: a.note }
        }
        "return" => OfficerAction::Return,
        _ => OfficerAction::Refuse { reason: a.reason },
    };
    let view = state.service.act_on_dossier(&caller.name, &code, action).await?;
    Ok(Json(json!(view)).into_response())
}

macro_rules! officer_action {
    ($($name:ident => $kind:literal,)*) => {$(
        #[doc = concat!("`POST /api/v1/dossiers/{code}/", $kind, "` (officers).")]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            code: Result<Path<String>, PathRejection>,
            req: Request,
        ) -> Result<Response, ApiError> {
            act(state, caller, code, req, $kind).await
        }
    )*};
}

officer_action! {
    assign => "assign",
    request_documents => "request-documents",
    attach_result => "result",
    return_result => "return",
    refuse => "refuse",
}

/// `GET /api/v1/dossiers/{code}/ratings` (officers).
pub async fn ratings(
    State(state): State<AppState>,
    caller: Caller,
    code: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer])?;
    let Path(code) = code.map_err(path_error)?;
    Ok(Json(json!({ "ratings": state.service.dossier_ratings(&code).await? })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    after: Option<u64>,
    limit: Option<u32>,
}

/// `GET /api/v1/integration/events?after=SEQ&limit=N`: every dossier's events in order (agencies, officers).
pub async fn feed(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<FeedQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Agency, Role::Officer])?;
    let Query(q) = q.map_err(query_error)?;
    let events = state
        .service
        .dossier_feed(q.after.unwrap_or(0), q.limit.unwrap_or(100))
        .await?;
    let next = events.last().map(|e| e.seq);
    Ok(Json(json!({ "events": events, "next_after": next })).into_response())
}

/// `GET /api/v1/integration/dossiers/{code}`: the whole dossier (agencies, officers).
pub async fn staff_view(
    State(state): State<AppState>,
    caller: Caller,
    code: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Agency, Role::Officer])?;
    let Path(code) = code.map_err(path_error)?;
    Ok(Json(json!(state.service.dossier_for_staff(&code).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    uri: String,
}

/// `GET /api/v1/integration/pull?uri=…`: a document by its URI (`{issuer}-{doctype}-{id}`, as DigiLocker
/// names them): a certified copy, or a dossier's slip or result, with its metadata and the PDF in base64.
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<PullQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    use base64::Engine;
    caller.require(&[Role::Agency])?;
    let Query(q) = q.map_err(query_error)?;
    let doc = state.service.pull_document(&q.uri).await?;
    tracing::info!(agency = %caller.name, uri = %q.uri, "document pulled");
    Ok(Json(json!({
        "uri": doc.uri,
        "doc_type": doc.doc_type,
        "holder_id": doc.holder_id,
        "issued_at": doc.issued_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "status": doc.status,
        "sha256": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&doc.pdf)),
        "pdf": base64::engine::general_purpose::STANDARD.encode(&doc.pdf),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    state: Option<String>,
}

/// `GET /api/v1/deliveries?state=dead` (officers): the dead-letter list (or `pending`, `delivered`).
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer])?;
    let Query(q) = q.map_err(query_error)?;
    let which = q.state.unwrap_or_else(|| "dead".into());
    if !["dead", "pending", "delivered"].contains(&which.as_str()) {
        return Err(bad_request("state is dead, pending or delivered"));
    }
    let list = state.service.deliveries_in(&which, 200).await?;
    Ok(Json(json!({
        "deliveries": list.iter().map(|d| json!({
            "id": d.id,
            "target": d.target,
            "attempts": d.attempts,
            "state": d.state,
            "last_error": d.last_error,
            "created_at": d.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        })).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/deliveries/{id}/retry` (officers): a dead delivery tried again from the start.
pub async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Officer])?;
    let Path(id) = id.map_err(path_error)?;
    state.service.retry_dead_delivery(&id).await?;
    Ok(Json(json!({"id": id, "state": "pending"})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueQuery {
    q: Option<String>,
    category: Option<String>,
}

/// `GET /api/v1/procedures?q=&category=`: the catalogue, searched without diacritics, the most used first.
pub async fn procedures(
    State(state): State<AppState>,
    q: Result<Query<CatalogueQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    let found = state
        .service
        .search_procedures(q.q.as_deref().unwrap_or(""), q.category.as_deref())
        .await?;
    Ok(Json(json!({ "procedures": found })).into_response())
}

/// `GET /api/v1/procedures/{code}`: one procedure, its form and documents.
pub async fn procedure(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    Ok(Json(json!(state.service.catalogue()?.get(&code)?)).into_response())
}

/// `GET /api/v1/procedures/{code}/prefill` (kiosk, with its verified identity session): the fields the
/// citizen's identity fills, their values and where they came from — shown locked on the form.
pub async fn prefill(
    State(state): State<AppState>,
    caller: Caller,
    code: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Kiosk])?;
    let Path(code) = code.map_err(path_error)?;
    let session = super::api::identity_session(&headers);
    let fields = state.service.prefill(&caller.token_id, session, &code).await?;
    Ok(Json(json!({ "prefilled": fields })).into_response())
}
