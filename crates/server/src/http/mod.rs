//! The HTTP service: JSON API under `/api/v1/`, the public verification portal under `/v/`, health and
//! metrics. Handlers parse, authorise, call a use case of banso-core and render; errors become responses
//! in exactly one place ([`ApiError`]).

mod api;
mod dossiers;
pub mod edge;
mod health;
mod identity;
mod metrics;
mod office;
mod pages;
mod pki;
pub mod ratelimit;
mod tracking;
mod wallet;

use crate::output::error_json;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use banso_core::error::{Code, Error, Kind};
use banso_core::service::Service;
pub use metrics::Metrics;
use std::sync::Arc;

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    service: Service,
    metrics: Arc<Metrics>,
    /// The edge's limits and the anonymous body budget.
    edge: Arc<edge::Edge>,
    base_url: String,
    log_key: Arc<crate::translog::LogKey>,
    trust: Arc<crate::trust::TrustServices>,
    /// Turns for face checks (see [`identity::FACE_SLOTS`]).
    face_slots: Arc<tokio::sync::Semaphore>,
    /// The SMTP relay copies are e-mailed through, when configured.
    mailer: Option<Arc<crate::mail::Mailer>>,
    /// The last readiness check and when it ran (see [`health`]).
    health: Arc<tokio::sync::Mutex<Option<(std::time::Instant, health::Report)>>>,
}

impl AppState {
    /// The state the handlers share: the use cases, the PKI services, the log key, and the edge's limits.
    pub fn new(
        service: Service,
        trust: Arc<crate::trust::TrustServices>,
        log_key: Arc<crate::translog::LogKey>,
        edge: edge::Edge,
        base_url: &str,
    ) -> Self {
        Self {
            service,
            metrics: Default::default(),
            edge: Arc::new(edge),
            base_url: base_url.trim_end_matches('/').to_string(),
            log_key,
            trust,
            face_slots: Arc::new(tokio::sync::Semaphore::new(identity::FACE_SLOTS)),
            health: Default::default(),
            mailer: None,
        }
    }

    /// The same state e-mailing copies through `mailer`.
    pub fn with_mailer(mut self, mailer: Option<Arc<crate::mail::Mailer>>) -> Self {
        self.mailer = mailer;
        self
    }

    /// The metrics the edge also counts into.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The edge's limits (their buckets are shared with the other nodes from outside the router).
    pub fn edge(&self) -> Arc<edge::Edge> {
        self.edge.clone()
    }
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
        Kind::PaymentRequired => StatusCode::PAYMENT_REQUIRED,
        Kind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Kind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Kind::Timeout => StatusCode::REQUEST_TIMEOUT,
        Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a 503 without a time of its own asks a client to wait, in seconds.
const STORAGE_RETRY_AFTER: u32 = 5;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut e = self.0;
        let status = status_of(e.kind());
        if e.kind() == Kind::Internal {
            tracing::error!(code = e.code.as_str(), detail = %e.message, "internal error");
            e.message = "the service could not complete the request; quote the code to support".into();
        }
        // A store that failed: its driver's words stay in the log.
        if e.code == Code::Sys0001Storage {
            tracing::error!(detail = %e.message, "storage unavailable");
            e.message =
                "storage is unavailable for a moment: nothing was kept; please try again shortly".into();
        }
        // Something passing (a dependency down): when to try again.
        let retry = e
            .retry_after
            .or((e.kind() == Kind::Busy).then_some(STORAGE_RETRY_AFTER));
        let mut response = (status, axum::Json(error_json(&e))).into_response();
        if let Some(seconds) = retry {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The value of the cookie `name` the request carries (kiosk screens and the wallet page each use one).
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError(Error::new(Code::Req0001Malformed, message))
}

/// The routes, declared once: the router is built from this table, and a test diffs it with the committed
/// OpenAPI document both ways, so the published contract cannot drift from what is served.
macro_rules! routes {
    ($( $path:literal => $method:ident($handler:path), )*) => {
        /// Every (path, method) the service answers (for the contract test).
        #[cfg(test)]
        pub const ROUTES: &[(&str, &str)] = &[$( ($path, stringify!($method)), )*];

        fn with_routes(router: Router<AppState>) -> Router<AppState> {
            router $( .route($path, $method($handler)) )*
        }
    };
}

routes! {
    "/" => get(pages::home),
    "/healthz" => get(health::healthz),
    "/readyz" => get(health::readyz),
    "/metrics" => get(metrics::render),
    "/api/openapi.json" => get(api::openapi),
    "/api/v1/copies" => post(api::issue),
    "/api/v1/copies/{code}" => get(api::copy_status),
    "/api/v1/copies/{code}/pdf" => get(api::copy_pdf),
    "/api/v1/copies/{code}/revoke" => post(api::revoke),
    "/api/v1/copies/{code}/email" => post(identity::email_copy),
    "/api/v1/verify" => post(api::verify),
    "/api/v1/intake/{id}" => get(api::intake_record),
    "/api/v1/identity/sessions" => post(identity::start),
    "/api/v1/identity/sessions/{id}" => get(identity::status),
    "/api/v1/identity/sessions/{id}" => delete(identity::end),
    "/api/v1/identity/sessions/{id}/chip" => post(identity::chip),
    "/api/v1/identity/sessions/{id}/face" => post(identity::face),
    "/api/v1/identity/sessions/{id}/app" => post(identity::app),
    "/api/v1/identity/sessions/{id}/grant" => post(identity::grant),
    "/api/v1/reviews/{id}/notify" => post(identity::notify_held),
    "/api/v1/payments/{reference}" => get(api::payment_status),
    "/api/v1/wallet" => get(identity::wallet),
    "/api/v1/ratings" => post(api::rate),
    "/api/v1/devices/enrol" => post(api::enrol_device),
    "/api/v1/devices/heartbeat" => post(api::heartbeat),
    "/pay/vnpay/ipn" => get(api::vnpay_ipn),
    "/api/v1/procedures" => get(dossiers::procedures),
    "/api/v1/procedures/{code}" => get(dossiers::procedure),
    "/api/v1/procedures/{code}/prefill" => get(dossiers::prefill),
    "/api/v1/dossiers" => post(dossiers::submit),
    "/api/v1/dossiers/{code}" => get(dossiers::show),
    "/api/v1/dossiers/{code}/slip.pdf" => get(dossiers::slip),
    "/api/v1/dossiers/{code}/result.pdf" => get(dossiers::result),
    "/api/v1/dossiers/{code}/documents" => post(dossiers::add_documents),
    "/api/v1/dossiers/{code}/ratings" => post(dossiers::rate),
    "/api/v1/dossiers/{code}/ratings" => get(dossiers::ratings),
    "/api/v1/dossiers/{code}/assign" => post(dossiers::assign),
    "/api/v1/dossiers/{code}/request-documents" => post(dossiers::request_documents),
    "/api/v1/dossiers/{code}/result" => post(dossiers::attach_result),
    "/api/v1/dossiers/{code}/return" => post(dossiers::return_result),
    "/api/v1/dossiers/{code}/refuse" => post(dossiers::refuse),
    "/api/v1/integration/events" => get(dossiers::feed),
    "/api/v1/integration/dossiers/{code}" => get(dossiers::staff_view),
    "/api/v1/integration/pull" => get(dossiers::pull),
    "/api/v1/deliveries" => get(dossiers::deliveries),
    "/api/v1/deliveries/{id}/retry" => post(dossiers::retry_delivery),
    "/api/v1/tokens" => get(api::list_tokens),
    "/api/v1/tokens/{id}/revoke" => post(api::revoke_token),
    "/api/v1/log/checkpoint" => get(api::log_checkpoint),
    "/api/v1/log/proof/inclusion" => get(api::log_inclusion),
    "/api/v1/log/proof/consistency" => get(api::log_consistency),
    "/api/v1/tsa" => post(pki::timestamp),
    "/pki/tsa" => post(pki::timestamp),
    "/pki/ocsp" => post(pki::ocsp_post),
    "/pki/ocsp/{request}" => get(pki::ocsp_get),
    "/pki/crl/{file}" => get(pki::crl),
    "/pki/ca/{file}" => get(pki::ca),
    "/v" => get(pages::lookup),
    "/v/{code}" => get(pages::copy_page),
    "/v/{code}/pdf" => get(api::copy_pdf),
    "/d/{code}" => get(tracking::show),
    "/d/{code}/rate" => post(tracking::rate),
    "/d/{code}/documents" => post(tracking::documents),
    "/wallet" => get(wallet::show),
    "/wallet/login" => post(wallet::login),
    "/wallet/logout" => post(wallet::logout),
    "/wallet/qr.png" => get(wallet::qr),
    "/wallet/d/{code}/{file}" => get(wallet::dossier_pdf),
    "/wallet/n/{id}" => get(wallet::notice_pdf),
    "/office" => get(office::home),
    "/office/login" => get(office::login_form),
    "/office/login" => post(office::login),
    "/office/login/code" => get(office::code_form),
    "/office/login/code" => post(office::code),
    "/office/logout" => post(office::logout),
    "/office/audit" => get(office::audit),
    "/office/officers" => get(office::officers),
    "/office/officers" => post(office::create_officer),
    "/office/tokens" => get(office::tokens),
    "/office/tokens/{id}/revoke" => post(office::revoke_token),
    "/office/dossiers" => get(office::dossiers),
    "/office/dossiers/{code}" => get(office::dossier),
    "/office/dossiers/{code}/{action}" => post(office::dossier_move),
    "/office/dossiers/{code}/result" => post(office::dossier_result),
    "/office/reviews" => get(office::reviews),
    "/office/reviews/{id}" => get(office::review),
    "/office/reviews/{id}/pages/{n}" => get(office::review_scan),
    "/office/reviews/{id}/{action}" => post(office::review_move),
    "/office/books" => get(office::books),
    "/office/books/{file}" => get(office::book),
    "/office/dashboard" => get(office::dashboard),
    "/office/dashboard.csv" => get(office::dashboard_csv),
    "/office/passkeys" => get(office::passkeys),
    "/office/registry" => get(office::registry),
    "/office/fleet" => get(office::fleet),
    "/office/fleet/codes" => post(office::enrolment_code),
    "/office/registry/{code}/revoke" => post(office::revoke_copy),
    "/office/passkeys" => post(office::add_passkey),
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    with_routes(Router::new())
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

#[cfg(test)]
mod tests {
    use super::ROUTES;
    use std::collections::BTreeSet;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_served() {
        let doc: serde_json::Value = serde_json::from_str(super::api::OPENAPI).expect("openapi.json is JSON");
        let paths = doc["paths"].as_object().expect("paths");
        let documented: BTreeSet<(String, String)> = paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flat_map(|ops| ops.keys())
                    .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                    .map(move |m| (path.clone(), m.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|(p, m)| (p.to_string(), m.to_string()))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && not_served.is_empty(),
            "served but not in openapi.json: {undocumented:?}; in openapi.json but not served: {not_served:?}"
        );
    }
}
