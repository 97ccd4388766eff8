//! Prometheus metrics through the `prometheus-client` crate (OpenMetrics text): a few counters and one
//! histogram, cheap enough for every request.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    issued_copies: Counter,
    replayed_issuances: Counter,
    issue_duration: Histogram,
    verifications: Family<ResultLabels, Counter>,
    refused_connections: Counter,
    admit_exchanges: Family<ResultLabels, Counter>,
    admits_heard: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "banso_http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        let refused_connections = Counter::default();
        registry.register(
            "banso_http_connections_refused",
            "Connections closed at once because the connection limit was reached",
            refused_connections.clone(),
        );
        let issued_copies = Counter::default();
        registry.register(
            "banso_copies_issued",
            "Certified copies issued",
            issued_copies.clone(),
        );
        let replayed_issuances = Counter::default();
        registry.register(
            "banso_issuances_replayed",
            "Idempotent issuance requests answered from the registry",
            replayed_issuances.clone(),
        );
        let issue_duration = Histogram::new(BUCKETS);
        registry.register(
            "banso_issue_duration_seconds",
            "Time to issue one request (render, sign, store, register)",
            issue_duration.clone(),
        );
        let verifications = Family::<ResultLabels, Counter>::default();
        registry.register(
            "banso_file_verifications",
            "File verifications by result",
            verifications.clone(),
        );
        let admit_exchanges = Family::<ResultLabels, Counter>::default();
        registry.register(
            "banso_rate_limit_exchanges",
            "Exchanges of what the rate limits let through with the other nodes, by result (ok, failed)",
            admit_exchanges.clone(),
        );
        let admits_heard = Counter::default();
        registry.register(
            "banso_rate_limit_admits_heard",
            "Requests the other nodes let through, taken out of this node's rate-limit buckets",
            admits_heard.clone(),
        );
        Self {
            registry,
            requests,
            issued_copies,
            replayed_issuances,
            issue_duration,
            verifications,
            refused_connections,
            admit_exchanges,
            admits_heard,
        }
    }
}

impl Metrics {
    pub fn observe_issuance(&self, took: Duration, copies: u64, replayed: bool) {
        if replayed {
            self.replayed_issuances.inc();
            return;
        }
        self.issued_copies.inc_by(copies);
        self.issue_duration.observe(took.as_secs_f64());
    }

    pub fn observe_verification(&self, valid: bool) {
        let result = if valid { "valid" } else { "invalid" };
        self.verifications.get_or_create(&ResultLabels { result }).inc();
    }

    /// One exchange of rate-limit admits with the other nodes: the requests they let through that it brought,
    /// or none when it failed.
    pub fn observe_admit_exchange(&self, heard: Option<u64>) {
        let result = if heard.is_some() { "ok" } else { "failed" };
        self.admit_exchanges.get_or_create(&ResultLabels { result }).inc();
        self.admits_heard.inc_by(heard.unwrap_or(0));
    }

    /// A connection closed at once because `max_connections` were open.
    pub fn observe_refused_connection(&self) {
        self.refused_connections.inc();
    }

    fn observe_request(&self, method: &'static str, route: String, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("the metrics did not encode: {e}");
        }
        out
    }
}

/// A request method as a label: the standard ones by name, anything a client makes up as `other`, so a
/// client cannot grow the number of series.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    for (m, label) in [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
    ] {
        if method == m {
            return label;
        }
    }
    "other"
}

/// Middleware counting requests by route template (never by raw path, so codes and keys stay out) and a
/// fixed set of methods: the series are bounded by the routes × 8 methods × the statuses the service sends.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let response = next.run(req).await;
    metrics.observe_request(method, route, response.status().as_u16());
    response
}

pub async fn render(State(state): State<super::AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
