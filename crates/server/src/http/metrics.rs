//! Prometheus metrics, kept by hand: a few counters and one histogram, cheap enough for every request.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    issued_copies: AtomicU64,
    replayed_issuances: AtomicU64,
    issue_buckets: [AtomicU64; BUCKETS.len()],
    issue_count: AtomicU64,
    issue_sum_micros: AtomicU64,
    verifications_valid: AtomicU64,
    verifications_invalid: AtomicU64,
    refused_connections: AtomicU64,
}

impl Metrics {
    pub fn observe_issuance(&self, took: Duration, copies: u64, replayed: bool) {
        if replayed {
            self.replayed_issuances.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.issued_copies.fetch_add(copies, Ordering::Relaxed);
        self.issue_count.fetch_add(1, Ordering::Relaxed);
        self.issue_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.issue_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn observe_verification(&self, valid: bool) {
        if valid {
            &self.verifications_valid
        } else {
            &self.verifications_invalid
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// A connection closed at once because `max_connections` were open.
    pub fn observe_refused_connection(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    fn observe_request(&self, method: &'static str, route: &str, status: u16) {
        let mut map = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *map.entry((method.to_string(), route.to_string(), status))
            .or_insert(0) += 1;
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP banso_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE banso_http_requests_total counter\n");
        for ((method, route, status), n) in self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "banso_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP banso_http_connections_refused_total Connections closed at once because the connection limit was reached.\n# TYPE banso_http_connections_refused_total counter\n");
        let _ = writeln!(
            out,
            "banso_http_connections_refused_total {}",
            self.refused_connections.load(Ordering::Relaxed)
        );
        out.push_str("# HELP banso_copies_issued_total Certified copies issued.\n# TYPE banso_copies_issued_total counter\n");
        let _ = writeln!(
            out,
            "banso_copies_issued_total {}",
            self.issued_copies.load(Ordering::Relaxed)
        );
        out.push_str("# HELP banso_issuances_replayed_total Idempotent issuance requests answered from the registry.\n# TYPE banso_issuances_replayed_total counter\n");
        let _ = writeln!(
            out,
            "banso_issuances_replayed_total {}",
            self.replayed_issuances.load(Ordering::Relaxed)
        );
        out.push_str("# HELP banso_issue_duration_seconds Time to issue one request (render, sign, store, register).\n# TYPE banso_issue_duration_seconds histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "banso_issue_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.issue_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.issue_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "banso_issue_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "banso_issue_duration_seconds_sum {}",
            self.issue_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "banso_issue_duration_seconds_count {count}");
        out.push_str("# HELP banso_file_verifications_total File verifications by result.\n# TYPE banso_file_verifications_total counter\n");
        let _ = writeln!(
            out,
            "banso_file_verifications_total{{result=\"valid\"}} {}",
            self.verifications_valid.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "banso_file_verifications_total{{result=\"invalid\"}} {}",
            self.verifications_invalid.load(Ordering::Relaxed)
        );
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
    metrics.observe_request(method, &route, response.status().as_u16());
    response
}

pub async fn render(State(state): State<super::AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
