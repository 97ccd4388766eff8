//! The tracking page a slip's QR opens, `/d/{code}?k=LOOKUP`: the status for anyone with the code; with the
//! lookup code the timeline, the slip and the result, the documents an officer asked for (sent from the
//! browser) and the rating. Server-rendered, no script.

use super::pages::page;
use super::AppState;
use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use banso_core::error::{Code, Error};
use banso_core::service::{DossierView, NewAttachment, NewSource, PublicStatus};
use serde::Deserialize;

struct Step {
    label_vi: &'static str,
    label_en: &'static str,
    at: String,
    note: String,
}

#[derive(Template)]
#[template(path = "dossier.html")]
struct Tracking {
    code: String,
    status: Option<PublicStatus>,
    received: String,
    due: String,
    full: Option<DossierView>,
    /// The documents asked for: (key, name).
    requested_names: Vec<(String, String)>,
    timeline: Vec<Step>,
    k: String,
    rate_step: Option<&'static str>,
    notice: Option<String>,
    error: Option<String>,
}

fn said(e: &Error) -> String {
    let vi = match e.code {
        Code::Dos0001NoSuchDossier => "Không có hồ sơ nào mang mã này.",
        Code::Dos0002BadLookupCode => "Mã tra cứu không đúng với hồ sơ này.",
        Code::Dos0003WrongStep => "Hồ sơ không ở bước cho phép việc này.",
        Code::Dos0004AlreadyRated => "Ông/bà đã đánh giá bước này.",
        Code::Dos0005TooManyGuesses => {
            "Đã nhập sai mã tra cứu quá nhiều lần; xin thử lại sau 15 phút, hoặc xem hồ sơ trong ví giấy tờ sau khi đăng nhập."
        }
        Code::Pro0004MissingDocument => "Còn thiếu giấy tờ được yêu cầu.",
        _ => "Chưa thực hiện được yêu cầu.",
    };
    format!("{vi} / {} ({})", e.message, e.code.as_str())
}

#[derive(Deserialize)]
pub struct PageQuery {
    k: Option<String>,
    done: Option<String>,
}

/// `GET /d/{code}[?k=LOOKUP]`.
pub async fn show(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    render(&state, &code, q.k.as_deref(), q.done.as_deref(), None).await
}

async fn render(
    state: &AppState,
    code: &str,
    k: Option<&str>,
    done: Option<&str>,
    error: Option<String>,
) -> Response {
    let mut t = Tracking {
        code: code.to_string(),
        status: None,
        received: String::new(),
        due: String::new(),
        full: None,
        requested_names: Vec::new(),
        timeline: Vec::new(),
        k: String::new(),
        rate_step: None,
        notice: done.map(|d| match d {
            "rated" => "Cảm ơn ông/bà đã đánh giá. / Thank you for your rating.".to_string(),
            _ => "Đã gửi giấy tờ bổ sung; hồ sơ được chuyển lại cán bộ. / The documents were sent; the dossier is back with the officer.".to_string(),
        }),
        error,
    };
    let status = match state.service.dossier_status(code).await {
        Ok(s) => s,
        Err(e) => {
            t.error = Some(said(&e));
            return page(StatusCode::NOT_FOUND, &t);
        }
    };
    t.received = crate::output::time_in_viet_nam(status.received_at);
    t.due = status.due_day.clone();
    t.status = Some(status);
    let Some(k) = k.filter(|k| !k.trim().is_empty()) else {
        return page(StatusCode::OK, &t);
    };
    let view = match state.service.dossier_with_lookup(code, k).await {
        Ok(v) => v,
        Err(e) => {
            t.error = Some(said(&e));
            return page(StatusCode::FORBIDDEN, &t);
        }
    };
    let rated: Vec<String> = state
        .service
        .dossier_ratings(code)
        .await
        .map(|r| r.into_iter().map(|r| r.step).collect())
        .unwrap_or_default();
    let result_out = view.has_result || view.public.status.closed();
    t.rate_step = if result_out && !rated.iter().any(|s| s == "result") {
        Some("result")
    } else if !rated.iter().any(|s| s == "service") {
        Some("service")
    } else {
        None
    };
    let catalogue = state.service.catalogue().ok();
    t.requested_names = view
        .requested
        .iter()
        .map(|key| {
            let name = catalogue
                .and_then(|c| c.get(&view.public.procedure).ok())
                .and_then(|p| p.document(key))
                .map_or(key.clone(), |d| d.name.clone());
            (key.clone(), name)
        })
        .collect();
    t.timeline = view
        .timeline
        .iter()
        .map(|e| Step {
            label_vi: e.status_vi,
            label_en: e.status_en,
            at: crate::output::time_in_viet_nam(e.at),
            note: e.note.clone(),
        })
        .collect();
    t.k = k.trim().to_string();
    t.full = Some(view);
    page(StatusCode::OK, &t)
}

#[derive(Deserialize)]
pub struct RateForm {
    k: String,
    step: String,
    level: String,
    #[serde(default)]
    comment: String,
}

/// `POST /d/{code}/rate`: the rating form.
pub async fn rate(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Form(f): Form<RateForm>,
) -> Response {
    match state
        .service
        .rate_dossier(&code, &f.k, &f.step, &f.level, Vec::new(), &f.comment)
        .await
    {
        Ok(()) => Redirect::to(&format!("/d/{code}?k={}&done=rated", urlencode(&f.k))).into_response(),
        Err(e) => render(&state, &code, Some(&f.k), None, Some(said(&e))).await,
    }
}

/// `POST /d/{code}/documents`: the documents asked for, one file input per document (multipart).
pub async fn documents(State(state): State<AppState>, Path(code): Path<String>, req: Request) -> Response {
    let mut form = match Multipart::from_request(req, &state).await {
        Ok(f) => f,
        Err(e) => return render(&state, &code, None, None, Some(e.body_text())).await,
    };
    let mut k = String::new();
    let mut files: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return render(&state, &code, None, None, Some(e.body_text())).await,
        };
        let name = field.name().unwrap_or_default().to_string();
        let is_file = field.file_name().is_some();
        let data = match field.bytes().await {
            Ok(d) => d,
            Err(e) => return render(&state, &code, None, None, Some(e.body_text())).await,
        };
        if name == "k" && !is_file {
            k = String::from_utf8_lossy(&data).trim().to_string();
        } else if is_file && !data.is_empty() {
            match files.iter_mut().find(|(n, _)| *n == name) {
                Some((_, pages)) => pages.push(data.to_vec()),
                None => files.push((name, vec![data.to_vec()])),
            }
        }
    }
    let brought = files
        .into_iter()
        .map(|(document, pages)| NewAttachment {
            document,
            from: NewSource::Scan(pages),
        })
        .collect();
    match state.service.add_dossier_documents(&code, &k, brought).await {
        Ok(_) => Redirect::to(&format!("/d/{code}?k={}&done=documents", urlencode(&k))).into_response(),
        Err(e) => render(&state, &code, Some(&k), None, Some(said(&e))).await,
    }
}

/// A lookup code in a query (its alphabet needs no escaping; anything else typed is dropped).
fn urlencode(k: &str) -> String {
    k.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}
