//! The public verification portal: server-rendered HTML in Vietnamese with English, no script, strict CSP.

use super::{status_of, AppState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use banso_core::code::VerificationCode;
use banso_core::error::Error;
use banso_core::model::CopyStatus;
use banso_core::service::PublicCopy;
use serde::Deserialize;

/// The security headers of every page: no script, no frames, nothing from elsewhere.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

pub(super) fn page(status: StatusCode, template: &impl Template) -> Response {
    let html = match template.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!("a page did not render: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home;

#[derive(Template)]
#[template(path = "lookup_error.html")]
struct LookupError {
    vi: &'static str,
    en: &'static str,
    code: &'static str,
}

/// What the key in the address does for the reader of a copy page.
enum Access {
    /// No key: the public minimum, and how to get the document.
    NoKey,
    /// The key opens the copy: a link to the PDF.
    Opens(String),
    /// A key that does not open this copy.
    Refused,
}

#[derive(Template)]
#[template(path = "copy.html")]
struct CopyPage {
    copy: PublicCopy,
    valid: bool,
    verdict_vi: &'static str,
    verdict_en: &'static str,
    issued_on: time::Date,
    /// The code without separators, for links.
    compact_code: String,
    proof: Option<banso_core::transparency::InclusionProof>,
    access: Access,
}

pub async fn home() -> Response {
    page(StatusCode::OK, &Home)
}

#[derive(Deserialize)]
pub struct LookupQuery {
    code: Option<String>,
}

pub async fn lookup(Query(q): Query<LookupQuery>) -> Response {
    match q.code.as_deref().map(VerificationCode::parse) {
        Some(Ok(code)) => Redirect::to(&format!("/v/{}", code.as_str())).into_response(),
        Some(Err(e)) => error_page(&Error::from(e)),
        None => home().await,
    }
}

fn error_page(e: &Error) -> Response {
    let (vi, en) = match e.code {
        banso_core::Code::Ver0002CheckMismatch => (
            "Mã xác thực không đúng ký tự kiểm tra — có thể đã gõ nhầm. Vui lòng kiểm tra lại.",
            "Check symbol mismatch: the code was probably mistyped.",
        ),
        banso_core::Code::Ver0001MalformedCode => (
            "Mã xác thực không hợp lệ: mã gồm 20 ký tự, chia thành 5 nhóm 4 ký tự.",
            "This is not a verification code: a code has 20 symbols in 5 groups of four.",
        ),
        banso_core::Code::Ver0003NotFound => {
            ("Không tìm thấy bản sao nào có mã này.", "No copy has this code.")
        }
        _ => ("Không thể tra cứu lúc này.", "The copy cannot be looked up now."),
    };
    page(
        status_of(e.kind()),
        &LookupError {
            vi,
            en,
            code: e.code.as_str(),
        },
    )
}

#[derive(Deserialize)]
pub struct KeyQuery {
    k: Option<String>,
}

/// The verdict on a copy's status: whether it is valid, in Vietnamese and in English.
fn verdict(status: CopyStatus) -> (bool, &'static str, &'static str) {
    match status {
        CopyStatus::Valid => (true, "Bản sao có hiệu lực.", "This copy is valid."),
        CopyStatus::Revoked => (false, "Bản sao đã bị thu hồi.", "This copy has been revoked."),
        CopyStatus::CancelledByDecision => (
            false,
            "Bản sao đã bị hủy theo quyết định.",
            "This copy was cancelled by decision.",
        ),
        CopyStatus::Superseded => (
            false,
            "Bản sao đã được thay thế.",
            "This copy has been superseded.",
        ),
    }
}

/// `GET /v/{code}[?k=KEY]`: the copy's public status; with the key from the QR, a link to the document.
pub async fn copy_page(
    State(state): State<AppState>,
    code: Result<Path<String>, axum::extract::rejection::PathRejection>,
    q: Result<Query<KeyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (Ok(Path(code)), Ok(Query(q))) = (code, q) else {
        return error_page(&Error::new(
            banso_core::Code::Ver0001MalformedCode,
            "malformed address",
        ));
    };
    let copy = match state.service.public_copy(&code).await {
        Ok(c) => c,
        Err(e) => return error_page(&e),
    };
    let proof = state.service.inclusion(&code).await.ok();
    let access = match q.k {
        None => Access::NoKey,
        Some(key) => match state.service.capability_opens(&code, &key) {
            Ok(true) => Access::Opens(key),
            _ => Access::Refused,
        },
    };
    let (valid, verdict_vi, verdict_en) = verdict(copy.status);
    let page_data = CopyPage {
        valid,
        verdict_vi,
        verdict_en,
        issued_on: copy.issued_at.to_offset(banso_core::rules::VIETNAM).date(),
        compact_code: copy.code.replace(['-', ' '], ""),
        proof,
        access,
        copy,
    };
    let mut response = page(StatusCode::OK, &page_data);
    // The page may carry a capability link: keep it out of shared caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    response
}
