//! Liveness and readiness. `GET /healthz` answers 200 while the process serves, with the last readiness
//! report (never running a check itself, so that a flood of it costs nothing). `GET /readyz` checks every
//! dependency — the database (a count), the object store (a probe object written, read back and removed), the
//! timestamp authorities (their circuit breakers) and the organisation seal's key (a signature, in the HSM when
//! it is there) — each within [`CHECK_WITHIN`], and answers 200 when all are ready, else 503 with
//! `Retry-After`. The checks that touch a dependency are reused for [`REPORT_FRESH`] (an anonymous client cannot
//! make the service sign or write more often than that); the breakers' state is read fresh every time.

use super::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long one dependency's check may take.
pub const CHECK_WITHIN: Duration = Duration::from_secs(3);
/// How long a readiness report is reused.
pub const REPORT_FRESH: Duration = Duration::from_secs(2);
/// What a 503 from `/readyz` asks a load balancer to wait.
const RETRY_AFTER: u32 = 5;

/// One readiness check's outcome.
#[derive(Debug, Clone)]
pub struct Report {
    pub ready: bool,
    pub checks: Value,
}

/// Runs `check` within [`CHECK_WITHIN`]: `(ok, what it said)`.
async fn within<F>(check: F) -> (bool, String)
where
    F: std::future::Future<Output = Result<String, String>>,
{
    match tokio::time::timeout(CHECK_WITHIN, check).await {
        Ok(Ok(said)) => (true, said),
        Ok(Err(e)) => (false, e),
        Err(_) => (false, format!("no answer within {} s", CHECK_WITHIN.as_secs())),
    }
}

async fn check(state: &AppState) -> Report {
    let started = Instant::now();
    let database = within(async {
        state
            .service
            .count_copies()
            .await
            .map(|n| format!("{n} copies"))
            .map_err(|e| e.to_string())
    });
    let objects = within(async {
        state
            .service
            .check_objects()
            .await
            .map(|()| "a probe written, read back and removed".to_string())
            .map_err(|e| e.to_string())
    });
    let seal = within(async {
        let signer = state.trust.seal.clone();
        tokio::task::spawn_blocking(move || signer.sign(b"banso readiness"))
            .await
            .map_err(|e| e.to_string())?
            .map(|_| "signs".to_string())
            .map_err(|e| e.to_string())
    });
    let ((db_ok, db), (obj_ok, obj), (seal_ok, seal)) = tokio::join!(database, objects, seal);
    Report {
        ready: db_ok && obj_ok && seal_ok,
        checks: json!({
            "database": { "ok": db_ok, "detail": db },
            "objects": { "ok": obj_ok, "detail": obj },
            "seal": { "ok": seal_ok, "detail": seal },
            "took_ms": started.elapsed().as_millis() as u64,
        }),
    }
}

/// `report` with the timestamp authorities' breakers as they are now.
fn with_timestamps(state: &AppState, mut report: Report) -> Report {
    let timestamps = &state.trust.timestamps;
    let ok = timestamps.ready();
    let authorities: Vec<Value> = timestamps
        .health()
        .into_iter()
        .map(|(url, state)| json!({ "url": url, "state": state }))
        .collect();
    report.ready &= ok;
    report.checks["timestamps"] = json!({ "ok": ok, "authorities": authorities });
    report
}

fn body(live: bool, report: Option<&Report>) -> Value {
    json!({
        "status": match report {
            Some(r) if !r.ready => "degraded",
            _ => "ok",
        },
        "live": live,
        "ready": report.map(|r| r.ready),
        "checks": report.map(|r| r.checks.clone()),
    })
}

/// `GET /healthz`: the process serves (200), with the last readiness report if one was made.
pub async fn healthz(State(state): State<AppState>) -> Response {
    let last = state
        .health
        .try_lock()
        .ok()
        .and_then(|g| g.as_ref().map(|(_, r)| with_timestamps(&state, r.clone())));
    Json(body(true, last.as_ref())).into_response()
}

/// `GET /readyz`: every dependency checked (or the report of the last [`REPORT_FRESH`]); 200 when all are ready,
/// else 503 with `Retry-After`.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let report = {
        let mut last = state.health.lock().await;
        match last.as_ref() {
            Some((at, r)) if at.elapsed() < REPORT_FRESH => r.clone(),
            _ => {
                let r = check(&state).await;
                *last = Some((Instant::now(), r.clone()));
                r
            }
        }
    };
    let report = with_timestamps(&state, report);
    if !report.ready {
        tracing::warn!(checks = %report.checks, "not ready");
    }
    let mut response = Json(body(true, Some(&report))).into_response();
    if !report.ready {
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER));
    }
    response
}
