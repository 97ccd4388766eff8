//! The HTTP edge: what an anonymous client can make the server read, hold and wait for, bounded.
//!
//! - **Connections**: at most `max_connections` open; one more is closed at once. Every connection must
//!   send its request headers within `header_timeout_secs` of the server being ready to read them — a
//!   connection that sends nothing, one that stops half-way through its headers, and a kept-alive
//!   connection left idle are all closed after that.
//! - **Bodies**: nothing is read before the route is known and, where the route needs a token, before the
//!   token is checked. Each route has its own size cap (uploads, files to verify, the kilobyte-sized TSA and
//!   OCSP requests); a body must arrive whole within `body_timeout_secs`; anonymous bodies together may hold
//!   at most `anonymous_body_budget` bytes, beyond which an anonymous upload is answered "busy"
//!   (`REQ-0003`, 503 with `Retry-After`) instead of being read.
//! - **Answers**: every answer says `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`
//!   (links and QR codes carry capability keys in their query).
//!
//! The limits, their defaults and the threat each answers are in docs/design/edge-limits.md.

use super::{ApiError, AppState};
use crate::config::LimitsConfig;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use banso_core::error::{Code, Error};
use http_body_util::BodyExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The edge's shared state: its limits and the budget of anonymous body bytes.
pub struct Edge {
    pub limits: LimitsConfig,
    /// Upload limit of authenticated issuance requests.
    pub max_upload_bytes: usize,
    /// One permit per byte of anonymous request bodies held.
    anonymous_bytes: Arc<Semaphore>,
    /// Per-client rate limits of the public endpoints.
    pub rates: super::ratelimit::RateLimits,
}

impl Edge {
    pub fn new(limits: LimitsConfig, max_upload_bytes: usize) -> Self {
        let budget = limits.anonymous_body_budget.min(Semaphore::MAX_PERMITS);
        Self {
            max_upload_bytes,
            anonymous_bytes: Arc::new(Semaphore::new(budget)),
            rates: {
                use super::ratelimit::{Rate, RateLimits};
                let rate = |per_minute: u32| Rate {
                    per_minute,
                    burst: (per_minute / 6).max(1),
                };
                RateLimits::new(
                    rate(limits.lookups_per_minute),
                    rate(limits.verifications_per_minute),
                    rate(limits.timestamps_per_minute),
                    limits.rate_limited_clients,
                )
            },
            limits,
        }
    }
}

/// The client a request came from: its connection's address, or behind a trusted proxy the address the
/// proxy names (`[limits] trusted_proxies`); the port is the connection's.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Where a request came from, as the audit log writes it (`unknown` outside a served connection).
pub fn peer(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<Peer>()
        .map_or_else(|| "unknown".to_string(), |p| p.0.ip().to_string())
}

/// How a route's body is read.
enum BodyPolicy {
    /// Not read by the edge (GET, unknown routes): the handler or the fallback answers without it.
    Untouched,
    /// The caller's token is checked first; then up to `limit` bytes.
    Authenticated { limit: usize },
    /// Anyone may send up to `limit` bytes, counted against the anonymous budget while held.
    Anonymous { limit: usize },
}

fn policy(edge: &Edge, method: &Method, route: Option<&str>) -> BodyPolicy {
    if method == Method::GET || method == Method::HEAD {
        return BodyPolicy::Untouched;
    }
    match route {
        Some("/api/v1/copies" | "/api/v1/dossiers" | "/api/v1/dossiers/{code}/result") => {
            BodyPolicy::Authenticated {
                limit: edge.max_upload_bytes,
            }
        }
        // Anyone with a dossier's lookup code adds the documents asked for (scans, as a verification upload is
        // bounded) and rates it.
        Some(
            "/api/v1/dossiers/{code}/documents" | "/d/{code}/documents" | "/office/dossiers/{code}/result",
        ) => BodyPolicy::Anonymous {
            limit: edge.limits.max_verify_bytes,
        },
        Some("/api/v1/dossiers/{code}/ratings" | "/d/{code}/rate") => BodyPolicy::Anonymous {
            limit: edge.limits.max_small_body_bytes,
        },
        Some(
            "/api/v1/dossiers/{code}/assign"
            | "/api/v1/dossiers/{code}/request-documents"
            | "/api/v1/dossiers/{code}/return"
            | "/api/v1/dossiers/{code}/refuse"
            | "/api/v1/deliveries/{id}/retry",
        ) => BodyPolicy::Authenticated {
            limit: edge.limits.max_small_body_bytes,
        },
        Some(
            "/api/v1/copies/{code}/revoke"
            | "/api/v1/copies/{code}/email"
            | "/api/v1/ratings"
            | "/api/v1/devices/heartbeat"
            | "/api/v1/identity/sessions"
            | "/api/v1/identity/sessions/{id}"
            | "/api/v1/identity/sessions/{id}/app"
            | "/api/v1/identity/sessions/{id}/grant"
            | "/api/v1/reviews/{id}/notify",
        ) => BodyPolicy::Authenticated {
            limit: edge.limits.max_small_body_bytes,
        },
        // Five data groups and EF.SOD of at most 64 KiB each, in base64.
        Some("/api/v1/identity/sessions/{id}/chip") => BodyPolicy::Authenticated { limit: 512 << 10 },
        // Sixteen camera frames of at most 512 KiB each.
        Some("/api/v1/identity/sessions/{id}/face") => BodyPolicy::Authenticated { limit: 8 << 20 },
        Some("/api/v1/verify") => BodyPolicy::Anonymous {
            limit: edge.limits.max_verify_bytes,
        },
        Some("/api/v1/tsa" | "/pki/tsa" | "/pki/ocsp") => BodyPolicy::Anonymous {
            limit: edge.limits.max_small_body_bytes,
        },
        // The back office's forms: a sign-in's username and password or code, a session's CSRF token.
        Some(
            "/office/login"
            | "/office/login/code"
            | "/office/logout"
            | "/office/officers"
            | "/office/tokens/{id}/revoke"
            | "/office/dossiers/{code}/{action}"
            | "/office/reviews/{id}/{action}"
            | "/office/passkeys"
            | "/api/v1/devices/enrol"
            | "/office/fleet/codes"
            | "/office/registry/{code}/revoke",
        ) => BodyPolicy::Anonymous {
            limit: edge.limits.max_small_body_bytes,
        },
        _ => BodyPolicy::Untouched,
    }
}

/// Most bytes of a refused request's body read and thrown away, and for how long, so that a client sending
/// a small body sees the answer instead of a broken pipe. Nothing is kept; a client that sends more or
/// slower is cut off.
const DRAIN_BYTES: usize = 1 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(1);
/// When the token could not be checked because storage is down (SYS-0001: the service's fault, which no
/// client can cause), the body is read to the route's cap for up to this long, so that a kiosk sending a
/// multi-megabyte scan gets the 503 and its `Retry-After` rather than a cut connection.
const STORAGE_DRAIN_TIME: Duration = Duration::from_secs(10);

/// Reads and discards up to [`DRAIN_BYTES`] of `body` for at most [`DRAIN_TIME`]; true when the body was
/// read to its end (the connection can then serve the client's next request).
async fn drain(body: Body) -> bool {
    drain_up_to(body, DRAIN_BYTES, DRAIN_TIME).await
}

/// [`drain`] with other bounds.
async fn drain_up_to(body: Body, max_bytes: usize, max_time: Duration) -> bool {
    let mut body = body;
    tokio::time::timeout(max_time, async {
        let mut seen = 0usize;
        loop {
            match body.frame().await {
                None => return true,
                Some(Ok(frame)) => {
                    seen += frame.data_ref().map_or(0, |d| d.len());
                    if seen > max_bytes {
                        return false;
                    }
                }
                Some(Err(_)) => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// An answer after which the connection is closed (the client may still be sending a body we will not
/// read).
fn closing(e: ApiError) -> Response {
    let busy = e.0.code == Code::Req0003Busy;
    let mut r = e.into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    if busy {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    }
    r
}

fn too_large(limit: usize) -> ApiError {
    ApiError(Error::new(
        Code::Iss0004TooLarge,
        format!("the body is larger than this endpoint's limit of {limit} bytes"),
    ))
}

fn busy() -> ApiError {
    ApiError(Error::new(
        Code::Req0003Busy,
        "the service is busy with other uploads; try again in a moment",
    ))
}

/// Reads a body of at most `limit` bytes. With a `budget`, every byte held is first taken from it; the
/// permits are handed back with the bytes and must live as long as they do.
async fn read_body(
    body: Body,
    limit: usize,
    budget: Option<&Arc<Semaphore>>,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), ApiError> {
    let mut body = body;
    let mut held: Option<OwnedSemaphorePermit> = None;
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError(Error::new(
                Code::Req0001Malformed,
                "the request body could not be read",
            ))
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if buf.len() + data.len() > limit {
            return Err(too_large(limit));
        }
        if let Some(budget) = budget {
            let more = budget
                .clone()
                .try_acquire_many_owned(u32::try_from(data.len()).map_err(|_| too_large(limit))?)
                .map_err(|_| busy())?;
            match held.as_mut() {
                Some(h) => h.merge(more),
                None => held = Some(more),
            }
        }
        buf.extend_from_slice(&data);
    }
    Ok((Bytes::from(buf), held))
}

/// Middleware: authenticates before reading, then reads the body under its route's cap, the anonymous
/// budget and the body timeout, and hands the handler a body that is already whole.
pub async fn guard_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let edge = state.edge.clone();
    // A client beyond its rate is answered before anything of its request is read.
    if let (Some(class), Some(Peer(addr))) = (
        super::ratelimit::Class::of(req.method(), route.as_deref()),
        req.extensions().get::<Peer>().copied(),
    ) {
        if let Err((wait, what)) = edge.rates.take(class, addr.ip(), std::time::Instant::now()) {
            let e = ApiError(
                Error::new(
                    Code::Req0005TooFast,
                    format!("too many {what} from this address: try again in {wait} s"),
                )
                .retry_after(wait),
            );
            return if req.method() == Method::GET || req.method() == Method::HEAD {
                e.into_response()
            } else {
                closing(e)
            };
        }
    }
    let (mut parts, body) = req.into_parts();
    let (limit, budget) = match policy(&edge, &parts.method, route.as_deref()) {
        BodyPolicy::Untouched => return next.run(Request::from_parts(parts, body)).await,
        BodyPolicy::Authenticated { limit } => {
            match super::api::Caller::from_request_parts(&mut parts, &state).await {
                Ok(caller) => {
                    parts.extensions.insert(caller);
                }
                Err(e) => {
                    // A refusal after the whole body was read keeps the connection: closing it while a
                    // client still finishes its upload makes some clients report a broken pipe instead of
                    // the answer (a 401, or a 503 while the database is down).
                    let drained = if e.0.code == Code::Sys0001Storage {
                        drain_up_to(body, limit, STORAGE_DRAIN_TIME).await
                    } else {
                        drain(body).await
                    };
                    return if drained { e.into_response() } else { closing(e) };
                }
            }
            (limit, None)
        }
        BodyPolicy::Anonymous { limit } => (limit, Some(&edge.anonymous_bytes)),
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        let _ = drain(body).await;
        return closing(too_large(limit));
    }
    // An anonymous body that says how long it is reserves its size up front: a client that announces
    // 40 MB and stalls holds its share of the budget, not more, and is refused at once when there is none.
    let reserved = match (budget, declared) {
        (Some(b), Some(len)) => match u32::try_from(len).map(|n| b.clone().try_acquire_many_owned(n)) {
            Ok(Ok(p)) => Some(p),
            _ => return closing(busy()),
        },
        _ => None,
    };
    let budget_per_frame = if reserved.is_some() { None } else { budget };
    let timeout = Duration::from_secs(edge.limits.body_timeout_secs);
    let read = tokio::time::timeout(timeout, read_body(body, limit, budget_per_frame)).await;
    let (bytes, held) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return closing(e),
        Err(_) => {
            return closing(ApiError(Error::new(
                Code::Req0004BodyTimeout,
                format!("the request body did not arrive within {} s", timeout.as_secs()),
            )))
        }
    };
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    drop((reserved, held));
    response
}

/// Middleware: headers every answer carries.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// Serves `router` on `listener` until `shutdown` resolves, under the connection limits; then lets the
/// requests in flight finish (at most 30 s).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: &LimitsConfig,
    metrics: Arc<super::Metrics>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let proxies = Arc::new(limits.trusted_proxies.clone());
    let proxy_header = limits.proxy_header;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_timeout_secs))
        .max_headers(100)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or similar: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            metrics.observe_refused_connection();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Each request carries the client it came from — the connection's address, or behind a trusted proxy
        // the address the proxy names (rate limits key on it; the audit log writes it down).
        let inner = hyper_util::service::TowerToHyperService::new(router.clone());
        let proxies = proxies.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let client = proxies.client(peer.ip(), req.headers(), proxy_header);
            req.extensions_mut()
                .insert(Peer(std::net::SocketAddr::new(client, peer.port())));
            hyper::service::Service::call(&inner, req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // Errors here are clients going away or timing out; nothing to answer.
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running 30 s after shutdown began were abandoned");
    }
    Ok(())
}
