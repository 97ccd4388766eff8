//! The PKI's public services over HTTP: RFC 3161 timestamps, OCSP (RFC 6960, POST and GET), CRLs and CA
//! certificates — what the certificates' CRL, OCSP and caIssuers pointers name, and what validators fetch.

use super::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use banso_core::error::{Code, Error};
use base64::Engine;

fn der(content_type: &'static str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=60"),
        ],
        body,
    )
        .into_response()
}

fn not_found(what: &str) -> ApiError {
    ApiError(Error::new(Code::Req0002NoSuchEndpoint, format!("no such {what}")))
}

/// `POST /api/v1/tsa` (`application/timestamp-query`): the built-in timestamp authority.
pub async fn timestamp(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(tsa) = state.trust.own.as_ref().map(|o| o.tsa.clone()) else {
        return not_found("timestamp authority (this installation uses an imported PKI)").into_response();
    };
    let now = state.service.now();
    let reply = tokio::task::spawn_blocking(move || tsa.respond(&body, now))
        .await
        .unwrap_or_default();
    der("application/timestamp-reply", reply)
}

/// Reads the CA's revocations from the registry into the trust services (every server on the registry then
/// answers alike).
async fn refresh(state: &AppState) -> Result<(), banso_core::Error> {
    state.trust.set_revocations(state.service.ca_revocations().await?);
    Ok(())
}

async fn ocsp_answer(state: AppState, request: Vec<u8>) -> Response {
    // The registry's revocations, read now: every server on the registry answers alike.
    if let Err(e) = refresh(&state).await {
        tracing::error!(error = %e, "the CA's revocations cannot be read; OCSP answers tryLater");
        return der(
            "application/ocsp-response",
            banso_signing::ocsp::error_response(banso_signing::ocsp::ResponseStatus::TryLater),
        );
    }
    let trust = state.trust.clone();
    let now = state.service.now();
    let reply = tokio::task::spawn_blocking(move || trust.ocsp(&request, now))
        .await
        .unwrap_or_default();
    der("application/ocsp-response", reply)
}

/// `POST /pki/ocsp` (`application/ocsp-request`).
pub async fn ocsp_post(State(state): State<AppState>, body: Bytes) -> Response {
    ocsp_answer(state, body.to_vec()).await
}

/// `GET /pki/ocsp/{base64 request}` (RFC 6960 appendix A.1).
pub async fn ocsp_get(State(state): State<AppState>, Path(request): Path<String>) -> Response {
    let engine = base64::engine::general_purpose::STANDARD;
    match engine.decode(request.trim()) {
        Ok(der) => ocsp_answer(state, der).await,
        Err(_) => (
            StatusCode::BAD_REQUEST,
            der(
                "application/ocsp-response",
                banso_signing::ocsp::error_response(banso_signing::ocsp::ResponseStatus::MalformedRequest),
            ),
        )
            .into_response(),
    }
}

/// `GET /pki/crl/{slug}.crl`.
pub async fn crl(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let name = file.strip_suffix(".crl").ok_or_else(|| not_found("CRL"))?;
    refresh(&state).await?;
    let now = state.service.now();
    match state.trust.crl(name, now) {
        Some(Ok(crl)) => Ok(der("application/pkix-crl", crl)),
        Some(Err(e)) => Err(ApiError(Error::new(Code::Sys0002Signing, format!("CRL: {e}")))),
        None => Err(not_found("CRL")),
    }
}

/// `GET /pki/ca/{slug}.cer`.
pub async fn ca(State(state): State<AppState>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let name = file
        .strip_suffix(".cer")
        .ok_or_else(|| not_found("certificate"))?;
    let cert = state
        .trust
        .ca_cert(name)
        .ok_or_else(|| not_found("certificate"))?;
    Ok(der("application/pkix-cert", cert))
}
