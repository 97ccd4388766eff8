//! The public verification portal: server-rendered HTML in Vietnamese with English, no script, strict CSP.

use super::{status_of, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use banso_core::code::VerificationCode;
use banso_core::error::Error;
use banso_core::model::CopyStatus;
use banso_core::service::PublicCopy;
use serde::Deserialize;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;\
font-size:1.2rem;line-height:1.5;color:#111}h1{font-size:1.6rem}.en{color:#555;font-size:1rem}\
.ok{background:#e6f4ea;border-left:.4rem solid #1e7e34;padding:.6rem 1rem}.bad{background:#fdecea;\
border-left:.4rem solid #b00020;padding:.6rem 1rem}dt{font-weight:600;margin-top:.6rem}dd{margin:0}\
input{font-size:1.3rem;padding:.4rem;width:100%;box-sizing:border-box;text-transform:uppercase}\
button,a.button{font-size:1.2rem;padding:.6rem 1.2rem;margin-top:.8rem;display:inline-block}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>",
        esc(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        html,
    )
        .into_response()
}

const LOOKUP_FORM: &str = "<form method=\"get\" action=\"/v\"><label for=\"code\">Nhập mã xác thực \
<span class=\"en\">/ Enter the verification code</span></label><input id=\"code\" name=\"code\" \
autocomplete=\"off\" placeholder=\"XXXX-XXXX-XXXX-XXXX-XXXX\"><button type=\"submit\">Tra cứu / Look up</button></form>";

pub async fn home() -> Response {
    page(
        StatusCode::OK,
        "banso — Tra cứu bản sao chứng thực điện tử",
        &format!(
            "<h1>Tra cứu bản sao chứng thực điện tử</h1><p class=\"en\">Verify a certified electronic copy</p>\
             {LOOKUP_FORM}<p class=\"en\">API: <code>/api/v1/</code> · OpenAPI: <code>/api/openapi.json</code></p>"
        ),
    )
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
        "Không tìm thấy / Not found",
        &format!(
            "<h1>Tra cứu bản sao</h1><div class=\"bad\"><p>{}</p><p class=\"en\">{} ({})</p></div>{LOOKUP_FORM}",
            esc(vi),
            esc(en),
            e.code.as_str()
        ),
    )
}

#[derive(Deserialize)]
pub struct KeyQuery {
    k: Option<String>,
}

fn describe(copy: &PublicCopy) -> String {
    let (class, vi, en) = match copy.status {
        CopyStatus::Valid => ("ok", "Bản sao có hiệu lực.", "This copy is valid."),
        CopyStatus::Revoked => ("bad", "Bản sao đã bị thu hồi.", "This copy has been revoked."),
        CopyStatus::CancelledByDecision => (
            "bad",
            "Bản sao đã bị hủy theo quyết định.",
            "This copy was cancelled by decision.",
        ),
        CopyStatus::Superseded => (
            "bad",
            "Bản sao đã được thay thế.",
            "This copy has been superseded.",
        ),
    };
    let mut reason = String::new();
    if let Some(r) = &copy.status_reason {
        reason.push_str(&format!("<p>Lý do / Reason: {}</p>", esc(r)));
    }
    if let Some(d) = &copy.decision_number {
        reason.push_str(&format!("<p>Quyết định số / Decision no.: {}</p>", esc(d)));
    }
    format!(
        "<div class=\"{class}\"><p><strong>{vi}</strong></p><p class=\"en\">{en}</p>{reason}</div><dl>\
         <dt>Mã xác thực <span class=\"en\">/ Code</span></dt><dd><code>{}</code></dd>\
         <dt>Trạng thái <span class=\"en\">/ Status</span></dt><dd>{} <span class=\"en\">/ {}</span></dd>\
         <dt>Loại giấy tờ <span class=\"en\">/ Document type</span></dt><dd>{}</dd>\
         <dt>Cơ quan chứng thực <span class=\"en\">/ Issuing body</span></dt><dd>{}</dd>\
         <dt>Ngày chứng thực <span class=\"en\">/ Date</span></dt><dd>{}</dd>\
         <dt>Số trang <span class=\"en\">/ Pages</span></dt><dd>{}</dd>\
         <dt>SHA-256</dt><dd><code style=\"word-break:break-all\">{}</code></dd></dl>",
        esc(&copy.code),
        copy.status.label_vi(),
        copy.status.label_en(),
        esc(&copy.document_type),
        esc(&copy.issuing_body),
        copy.issued_at.to_offset(banso_core::rules::VIETNAM).date(),
        copy.pages,
        esc(&copy.sha256),
    )
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
    let mut body = format!(
        "<h1>Bản sao chứng thực điện tử</h1><p class=\"en\">Certified electronic copy</p>{}",
        describe(&copy)
    );
    if let Ok(proof) = state.service.inclusion(&code).await {
        body.push_str(&format!(
            "<p class=\"en\">Nhật ký minh bạch / Transparency log: mục số {} trong {} mục, gốc <code style=\"word-break:break-all\">{}</code> \
             — <a href=\"/api/v1/log/proof/inclusion?code={}\">bằng chứng / proof</a></p>",
            proof.leaf_index,
            proof.tree_size,
            esc(&proof.root_hash),
            esc(&copy.code.replace('-', ""))
        ));
    }
    if let Some(key) = q.k.as_deref() {
        match state.service.capability_opens(&code, key) {
            Ok(true) => body.push_str(&format!(
                "<p><a class=\"button\" href=\"/v/{}/pdf?k={}\">Xem / tải bản sao (PDF) <span class=\"en\">/ View or download the copy</span></a></p>",
                esc(&code.replace(['-', ' '], "")),
                esc(key)
            )),
            _ => body.push_str(
                "<div class=\"bad\"><p>Khóa truy cập không đúng: chỉ xem được thông tin tối thiểu.</p>\
                 <p class=\"en\">The access key does not open this copy: only minimal information is shown.</p></div>",
            ),
        }
    } else {
        body.push_str(
            "<p class=\"en\">Quét mã QR trên bản sao để xem toàn văn. / Scan the QR code on the copy to open the document.</p>",
        );
    }
    let mut response = page(StatusCode::OK, &format!("Bản sao {}", copy.code), &body);
    // The page may carry a capability link: keep it out of shared caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, no-store"),
    );
    response
}
