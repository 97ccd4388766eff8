//! The citizen's wallet on the web: signing in with the national-ID app (the device flow: a QR on the page,
//! approved on the phone, then "I have approved": no script, no timed refresh), then every copy issued to them, each linked by its
//! verification address and key. The browser holds one cookie, the login's secret id; the sessions are a pool
//! apart from kiosks' and bounded (`core::identity::WEB_SESSIONS`), and a full pool asks the provider nothing.

use super::pages::page;
use super::{ApiError, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use banso_core::error::Code;

const COOKIE: &str = "banso_wallet";

struct Copy {
    code: String,
    document_type: String,
    issued_on: String,
    status: &'static str,
    qr_url: String,
}

/// A dossier in the wallet.
struct Dossier {
    code: String,
    procedure: String,
    status_vi: &'static str,
    status_en: &'static str,
    due: String,
    has_result: bool,
}

/// A request an officer decided after the intake held it.
struct Decided {
    id: String,
    document_type: String,
    state: &'static str,
    /// `refused` (a notice to open), `rescan`, `approved`.
    kind: &'static str,
    note: String,
}

#[derive(Template)]
#[template(path = "wallet.html")]
struct Wallet {
    name: String,
    copies: Option<Vec<Copy>>,
    dossiers: Vec<Dossier>,
    decided: Vec<Decided>,
    user_code: Option<String>,
    error: Option<String>,
}

fn login_id(headers: &HeaderMap) -> Option<String> {
    super::cookie(headers, COOKIE)
}

fn signed_out(error: Option<String>) -> Response {
    page(
        StatusCode::OK,
        &Wallet {
            name: String::new(),
            copies: None,
            dossiers: Vec::new(),
            decided: Vec::new(),
            user_code: None,
            error,
        },
    )
}

/// `GET /wallet`: signed out, waiting for the phone, or the copies.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(id) = login_id(&headers) else {
        return signed_out(None);
    };
    let view = match state.service.poll_web_login(&id).await {
        Ok(v) => v,
        Err(e) if e.code == Code::Id0004NoSuchSession => return signed_out(None),
        Err(e) => return signed_out(Some(format!("{} ({})", e.message, e.code.as_str()))),
    };
    if view.step != "verified" {
        return page(
            StatusCode::OK,
            &Wallet {
                name: String::new(),
                copies: None,
                dossiers: Vec::new(),
                decided: Vec::new(),
                user_code: view.user_code,
                error: None,
            },
        );
    }
    let dossiers = state
        .service
        .web_dossiers(&id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(d, has_result)| Dossier {
            due: d.due_day.clone(),
            code: d.code,
            procedure: d.procedure_name,
            status_vi: d.status_vi,
            status_en: d.status_en,
            has_result,
        })
        .collect();
    match state.service.web_wallet(&id).await {
        Ok((holder, entries)) => {
            let decided = state
                .service
                .holder_reviews(&holder.id_number)
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|r| Decided {
                    state: r.state.label_vi(),
                    kind: r.state.as_str(),
                    note: r.request.ground.map(|(_, note)| note).unwrap_or_default(),
                    id: r.id,
                    document_type: r.request.document_type,
                })
                .collect();
            page(
                StatusCode::OK,
                &Wallet {
                    name: holder.full_name,
                    copies: Some(
                        entries
                            .into_iter()
                            .map(|e| Copy {
                                issued_on: crate::output::day_in_viet_nam(e.issued_at),
                                code: e.code,
                                document_type: e.document_type,
                                status: e.status,
                                qr_url: e.qr_url,
                            })
                            .collect(),
                    ),
                    dossiers,
                    decided,
                    user_code: None,
                    error: None,
                },
            )
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// `GET /wallet/n/{id}`: the signed refusal notice of a request of the citizen signed in.
pub async fn notice_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(review): axum::extract::Path<String>,
) -> Response {
    let Some(id) = login_id(&headers) else {
        return Redirect::to("/wallet").into_response();
    };
    let holder = match state.service.web_holder(&id).await {
        Ok(h) => h,
        Err(e) => return ApiError(e).into_response(),
    };
    match state.service.holder_notice(&holder.id_number, &review).await {
        Ok(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// `GET /wallet/d/{code}/{slip|result}.pdf`: a dossier's slip or result, for the citizen signed in.
pub async fn dossier_pdf(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path((code, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let result = match file.as_str() {
        "result.pdf" => true,
        "slip.pdf" => false,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(id) = login_id(&headers) else {
        return Redirect::to("/wallet").into_response();
    };
    match state.service.web_dossier_pdf(&id, &code, result).await {
        Ok(pdf) => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// `POST /wallet/login`: starts the app login and names it in the browser's cookie.
pub async fn login(State(state): State<AppState>) -> Response {
    match state.service.start_web_login().await {
        Ok(view) => {
            let mut r = Redirect::to("/wallet").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{COOKIE}={}; Path=/wallet; HttpOnly; SameSite=Lax; Max-Age=600",
                view.id
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => signed_out(Some(format!("{} ({})", e.message, e.code.as_str()))),
    }
}

/// `POST /wallet/logout`.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = login_id(&headers) {
        if let Err(e) = state.service.end_web_login(&id).await {
            return ApiError(e).into_response();
        }
    }
    let mut r = Redirect::to("/wallet").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("banso_wallet=; Path=/wallet; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    r
}

/// `GET /wallet/qr.png`: the QR of the pending login.
pub async fn qr(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let view = match login_id(&headers) {
        Some(id) => state.service.web_login(&id).await.ok(),
        None => None,
    };
    match view.and_then(|v| v.qr_uri).map(|u| crate::output::qr_png(&u, 8)) {
        Some(Ok(png)) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
