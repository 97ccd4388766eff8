//! The HTTP service: JSON API under `/api/v1/`, the public verification portal under `/v/`, health and
//! metrics. Handlers parse, authorise, call a use case of banso-core and render; errors become responses
//! in exactly one place ([`ApiError`]).

mod api;
pub mod edge;
mod metrics;
mod pages;
mod pki;

use crate::output::error_json;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use banso_core::error::{Code, Error, Kind};
use banso_core::service::Service;
pub use metrics::Metrics;
use std::sync::Arc;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub metrics: Arc<Metrics>,
    /// The edge's limits and the anonymous body budget.
    pub edge: Arc<edge::Edge>,
    pub base_url: String,
    pub log_key: Arc<crate::translog::LogKey>,
    pub trust: Arc<crate::trust::TrustServices>,
}

/// The one place where domain errors become HTTP responses. Internal errors are logged with their detail
/// and answered with their code only.
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::BadInput | Kind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        Kind::Held => StatusCode::ACCEPTED,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Kind::Timeout => StatusCode::REQUEST_TIMEOUT,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut e = self.0;
        let status = status_of(e.kind());
        if e.kind() == Kind::Internal {
            tracing::error!(code = e.code.as_str(), detail = %e.message, "internal error");
            e.message = "the service could not complete the request; quote the code to support".into();
        }
        let mut response = (status, axum::Json(error_json(&e))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(Error::new(Code::Req0001Malformed, message))
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::render))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/v1/copies", post(api::issue))
        .route("/api/v1/copies/{code}", get(api::copy_status))
        .route("/api/v1/copies/{code}/pdf", get(api::copy_pdf))
        .route("/api/v1/copies/{code}/revoke", post(api::revoke))
        .route("/api/v1/verify", post(api::verify))
        .route("/api/v1/intake/{id}", get(api::intake_record))
        .route("/api/v1/tokens", get(api::list_tokens))
        .route("/api/v1/tokens/{id}/revoke", post(api::revoke_token))
        .route("/api/v1/log/checkpoint", get(api::log_checkpoint))
        .route("/api/v1/log/proof/inclusion", get(api::log_inclusion))
        .route("/api/v1/log/proof/consistency", get(api::log_consistency))
        .route("/api/v1/tsa", post(pki::timestamp))
        .route("/pki/tsa", post(pki::timestamp))
        .route("/pki/ocsp", post(pki::ocsp_post))
        .route("/pki/ocsp/{request}", get(pki::ocsp_get))
        .route("/pki/crl/{file}", get(pki::crl))
        .route("/pki/ca/{file}", get(pki::ca))
        .route("/v", get(pages::lookup))
        .route("/v/{code}", get(pages::copy_page))
        .route("/v/{code}/pdf", get(api::copy_pdf))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            edge::guard_body,
        ))
        // The edge has read and capped the body already; the extractors' own cap must not be lower.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::track))
        .layer(axum::middleware::from_fn(edge::security_headers))
        .with_state(state)
}
