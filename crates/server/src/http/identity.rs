//! Identity sessions over HTTP (kiosk credentials only): `POST /api/v1/identity/sessions` starts one,
//! `…/{id}/chip` brings the chip's data and its signature over the session's nonce, `…/{id}/face` brings
//! camera frames (multipart `frame` files), `…/{id}/app` polls the app login, `GET` tells where it stands and
//! `DELETE` ends it. The device is the kiosk's API token: another kiosk's session is not found.
//!
//! The checks block (CPU, or the provider's HTTP) and run on blocking threads; face checks run
//! [`FACE_SLOTS`] at a time, and a kiosk waiting longer than [`FACE_WAIT`] for a turn is answered busy.

use super::api::{path_error, read_bytes, read_form, Caller};
use super::{bad_request, ApiError, AppState};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use banso_core::error::{Code, Error};
use banso_core::identity::{ChipEvidence, Method};
use banso_core::model::Role;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Face checks running at once on this server.
pub const FACE_SLOTS: usize = 2;
/// Longest a face check waits for a turn.
pub const FACE_WAIT: Duration = Duration::from_secs(20);

fn kiosk(caller: &Caller) -> Result<&str, ApiError> {
    if caller.role == Role::Kiosk {
        Ok(&caller.token_id)
    } else {
        Err(ApiError(Error::new(
            Code::Auth0003Forbidden,
            "identity sessions are opened by kiosks (an officer checks identity at the counter)",
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartJson {
    /// `chip` (chip ID card, then the face) or `app` (national-ID app login).
    method: String,
}

/// `POST /api/v1/identity/sessions`.
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let device = kiosk(&caller)?.to_string();
    let body = read_bytes(req, &state).await?;
    let parsed: StartJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("expected {{\"method\": \"chip\" | \"app\"}}: {e}")))?;
    let method = match parsed.method.as_str() {
        "chip" => Method::ChipAndFace,
        "app" => Method::App,
        other => return Err(bad_request(format!("method must be chip or app, not {other:?}"))),
    };
    let view = state.service.start_identity(&device, method).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /api/v1/identity/sessions/{id}`.
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let view = state.service.identity_session(kiosk(&caller)?, &id).await?;
    Ok(Json(view).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantJson {
    /// The procedure's id in the catalogue.
    procedure: String,
}

/// `POST /api/v1/identity/sessions/{id}/grant`: while the session is verified, a grant for its citizen to file a
/// dossier of one procedure from this kiosk's offline queue later (`core::grant`).
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let device = kiosk(&caller)?.to_string();
    let body = read_bytes(req, &state).await?;
    let parsed: GrantJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("expected {{\"procedure\": \"…\"}}: {e}")))?;
    let (grant, expires) = state
        .service
        .submission_grant(&device, &id, &parsed.procedure)
        .await?;
    let expires = expires
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(json!({ "grant": grant, "expires_at": expires })),
    )
        .into_response())
}

/// `DELETE /api/v1/identity/sessions/{id}`: the citizen is done (or the kiosk timed out).
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    state.service.end_identity(kiosk(&caller)?, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChipJson {
    /// EF.SOD, base64.
    sod: String,
    /// Data group number → file, base64.
    data_groups: BTreeMap<u8, String>,
    /// The chip's INTERNAL AUTHENTICATE answer over the session's nonce, base64.
    #[serde(default)]
    active_authentication: Option<String>,
}

/// `POST /api/v1/identity/sessions/{id}/chip`.
pub async fn chip(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    use base64::Engine;
    let Path(id) = id.map_err(path_error)?;
    let device = kiosk(&caller)?.to_string();
    let body = read_bytes(req, &state).await?;
    let parsed: ChipJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("the JSON body is not a chip read: {e}")))?;
    let b64 = |what: &str, v: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(v.trim())
            .map_err(|_| bad_request(format!("{what} is not base64")))
    };
    let evidence = ChipEvidence {
        sod: b64("sod", &parsed.sod)?,
        data_groups: parsed
            .data_groups
            .iter()
            .map(|(n, v)| Ok((*n, b64(&format!("data group {n}"), v)?)))
            .collect::<Result<_, ApiError>>()?,
        active_authentication: parsed
            .active_authentication
            .as_deref()
            .map(|v| b64("active_authentication", v))
            .transpose()?,
    };
    let view = state.service.submit_chip(&device, &id, evidence).await?;
    Ok(Json(view).into_response())
}

/// `POST /api/v1/identity/sessions/{id}/face`: multipart, one `frame` file per camera frame (JPEG or PNG).
pub async fn face(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let device = kiosk(&caller)?.to_string();
    let frames = read_form(req, &state)
        .await
        .map_err(|e| bad_request(format!("send the frames as multipart/form-data: {}", e.0.message)))?
        .files;
    let permit = tokio::time::timeout(FACE_WAIT, state.face_slots.clone().acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ApiError(Error::new(
                Code::Req0003Busy,
                "the service is checking other kiosks' faces: retry shortly",
            ))
        })?;
    let view = state.service.submit_face(&device, &id, frames).await;
    drop(permit);
    let view = view?;
    Ok(Json(view).into_response())
}

/// `POST /api/v1/identity/sessions/{id}/app`: asks the provider whether the citizen approved.
pub async fn app(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let device = kiosk(&caller)?.to_string();
    let view = state.service.poll_app_login(&device, &id).await?;
    Ok(Json(view).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailJson {
    to: String,
}

/// `POST /api/v1/copies/{code}/email` `{"to": ADDRESS}`: a kiosk sends an issued copy to the e-mail address its
/// identified citizen typed — only a copy of that citizen's, a few times at most.
pub async fn email_copy(
    State(state): State<AppState>,
    caller: Caller,
    code: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(code) = code.map_err(path_error)?;
    let device = kiosk(&caller)?.to_string();
    let session = super::api::identity_session(req.headers()).to_string();
    let holder = state.service.verified_holder(&device, &session).await?;
    let body = read_bytes(req, &state).await?;
    let parsed: EmailJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("expected {{\"to\": ADDRESS}}: {e}")))?;
    let to = crate::mail::recipient(&parsed.to).ok_or_else(|| {
        ApiError(Error::new(
            Code::Del0001BadAddress,
            "the e-mail address is not one copies can be sent to (name@domain, letters, digits, . _ + -)",
        ))
    })?;
    let mailer = state.mailer.clone().ok_or_else(|| {
        ApiError(Error::new(
            Code::Del0002MailFailed,
            "this service sends no e-mail: use the QR code or print the copy",
        ))
    })?;
    let (record, pdf, url) = state.service.holder_copy(&code, &holder.id_number).await?;
    // Counted in the registry, so that the cap is the deployment's, whichever node the kiosk reaches.
    if !state
        .service
        .count_email(&record.code, crate::mail::SENDS_PER_COPY)
        .await?
    {
        return Err(ApiError(Error::new(
            Code::Del0003TooMany,
            format!(
                "this copy was sent by e-mail {} times already",
                crate::mail::SENDS_PER_COPY
            ),
        )));
    }
    mailer
        .send_copy(to, &record.code, &record.document_type, pdf, &url)
        .await
        .map_err(|e| ApiError(Error::new(Code::Del0002MailFailed, format!("{e:#}"))))?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "sent": true }))).into_response())
}

/// `POST /api/v1/reviews/{id}/notify` `{"to": ADDRESS}`: the citizen the kiosk identified asks that the outcome
/// of their held request `id` (the receipt code) be e-mailed to them once an officer decides it.
pub async fn notify_held(
    State(state): State<AppState>,
    caller: Caller,
    id: Result<Path<String>, PathRejection>,
    req: Request,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    let device = kiosk(&caller)?.to_string();
    let session = super::api::identity_session(req.headers()).to_string();
    let body = read_bytes(req, &state).await?;
    let parsed: EmailJson = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("expected {{\"to\": ADDRESS}}: {e}")))?;
    state
        .service
        .notify_held(&device, &session, &id, &parsed.to)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "notify": true }))).into_response())
}

/// `GET /api/v1/wallet`: the copies issued to the citizen the kiosk identified (kiosk token and
/// `Banso-Identity-Session`), newest first, each with its verification address and key.
pub async fn wallet(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let device = kiosk(&caller)?;
    let session = super::api::identity_session(&headers);
    let copies = state.service.wallet(device, session).await?;
    let dossiers: Vec<serde_json::Value> = state
        .service
        .kiosk_dossiers(device, session)
        .await?
        .into_iter()
        .map(|(d, has_result)| json!({"dossier": d, "has_result": has_result}))
        .collect();
    Ok(Json(json!({ "copies": copies, "dossiers": dossiers })).into_response())
}
