//! The kiosk's screens: one task each, Vietnamese first (English on the toggle), large type and touch
//! targets, the step bar, and the "call an officer" button always in the same place. Server-rendered; the
//! script (static/kiosk.js, a few kilobytes) adds the camera, the on-screen keypad and the inactivity
//! warning.

use super::{identify, pay, Kiosk, Visit, MAX_PAGES, MAX_VISITS};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;

const COOKIE: &str = "banso_visit";
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
                   media-src 'self' blob: mediastream:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

/// The document types a citizen may choose (the intake recognises them): (Vietnamese, English).
pub const DOCUMENT_TYPES: &[(&str, &str)] = &[
    ("Giấy khai sinh", "Birth certificate"),
    ("Bằng tốt nghiệp đại học", "University diploma"),
    ("Học bạ", "School record"),
    ("Giấy chứng nhận kết hôn", "Marriage certificate"),
];

/// The steps of the step bar: (Vietnamese, English).
const STEPS: &[(&str, &str)] = &[
    ("Dịch vụ", "Service"),
    ("Đồng ý", "Consent"),
    ("Xác thực", "Identity"),
    ("Giấy tờ", "Document"),
    ("Quét", "Scan"),
    ("Lệ phí", "Fee"),
    ("Kết quả", "Result"),
];

/// The steps when the visit files a procedure's dossier.
const PROCEDURE_STEPS: &[(&str, &str)] = &[
    ("Dịch vụ", "Service"),
    ("Đồng ý", "Consent"),
    ("Xác thực", "Identity"),
    ("Thủ tục", "Procedure"),
    ("Tờ khai", "Form"),
    ("Giấy tờ", "Documents"),
    ("Nộp hồ sơ", "Submit"),
];

/// What every screen shows around its task.
pub struct Frame {
    pub en: bool,
    /// A citizen's visit is open (the language and end buttons are shown).
    pub visit: bool,
    pub step: usize,
    pub steps: &'static [(&'static str, &'static str)],
    /// The spoken prompt's number (`/static/voice/{n}`): the step, or 10 + the step when filing a procedure.
    pub voice: usize,
    pub officer_called: bool,
    pub idle_secs: u64,
    pub grace_secs: u64,
    /// The central service could not be reached at the last try.
    pub offline: bool,
    /// Procedure submissions waiting in the offline queue.
    pub queued: usize,
}

impl Frame {
    pub(super) fn of(kiosk: &Kiosk, visit: Option<&Visit>, step: usize) -> Self {
        Frame {
            en: visit.is_some_and(|v| v.english),
            visit: visit.is_some(),
            step,
            voice: if visit.is_some_and(|v| v.files_procedure) {
                10 + step
            } else {
                step
            },
            steps: if visit.is_some_and(|v| v.files_procedure) {
                PROCEDURE_STEPS
            } else {
                STEPS
            },
            officer_called: visit.is_some_and(|v| v.officer_called),
            idle_secs: kiosk.idle.as_secs(),
            grace_secs: super::GRACE.as_secs(),
            offline: !kiosk.is_online(),
            queued: kiosk.queue.len(),
        }
    }

    /// The language attribute of the page.
    pub fn lang(&self) -> &'static str {
        if self.en {
            "en"
        } else {
            "vi"
        }
    }
}

#[derive(Template)]
#[template(path = "kiosk/start.html")]
struct Start {
    f: Frame,
}

#[derive(Template)]
#[template(path = "kiosk/consent.html")]
struct Consent {
    f: Frame,
}

#[derive(Template)]
#[template(path = "kiosk/document.html")]
struct Document {
    f: Frame,
    name: String,
    types: &'static [(&'static str, &'static str)],
}

#[derive(Template)]
#[template(path = "kiosk/scan.html")]
struct Scan {
    f: Frame,
    document_type: String,
    pages: usize,
    max_pages: usize,
    error: Option<String>,
}

/// The central service's answer to the request, as the result screen tells it.
enum Outcome {
    Issued {
        codes: Vec<String>,
        fee: String,
        /// The first copy's verification address with its key (shown as a QR: the capability link).
        qr_url: Option<String>,
    },
    Held {
        receipt: String,
    },
    Refused {
        /// The ground in the words of Decree 23/2015 Art. 22, when the refusal names its clause.
        clause: Option<&'static str>,
        /// The intake's own words.
        ground: String,
    },
    Failed {
        code: String,
        message: String,
    },
}

#[derive(Template)]
#[template(path = "kiosk/result.html")]
struct Result_ {
    f: Frame,
    outcome: Outcome,
    /// The kiosk has a printer.
    can_print: bool,
    /// The last e-mail of the copy: (sent, what to say).
    delivered: Option<(bool, String)>,
}

#[derive(Template)]
#[template(path = "kiosk/problem.html")]
struct Problem {
    f: Frame,
    title_vi: String,
    title_en: String,
    detail: String,
    code: String,
    retry: &'static str,
}

pub(super) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, CSP),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!("a kiosk screen did not render: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn visit_id(headers: &HeaderMap) -> Option<String> {
    crate::http::cookie(headers, COOKIE)
}

/// Runs `f` on the visit the browser names (touching it), or `None` when there is none.
pub(super) fn with_visit<R>(
    kiosk: &Kiosk,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Visit) -> R,
) -> Option<R> {
    let id = visit_id(headers)?;
    let mut visits = kiosk.lock();
    let visit = visits.get_mut(&id)?;
    visit.last_touch = Some(Instant::now());
    Some(f(visit))
}

/// As [`with_visit`], without counting as a touch (the screen's own polling must not keep a visit alive
/// after the citizen walked away).
pub(super) fn peek_visit<R>(
    kiosk: &Kiosk,
    headers: &HeaderMap,
    f: impl FnOnce(&mut Visit) -> R,
) -> Option<R> {
    let id = visit_id(headers)?;
    let mut visits = kiosk.lock();
    visits.get_mut(&id).map(f)
}

/// Back to the start (no visit, or a visit that ended).
pub(super) fn to_start() -> Response {
    Redirect::to("/").into_response()
}

pub(super) fn see(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// The central service refused a step: its code and message, and the way back.
pub(super) fn refused(
    kiosk: &Kiosk,
    headers: &HeaderMap,
    step: usize,
    title: (&str, &str),
    answer: &super::central::Answer,
    retry: &'static str,
) -> Response {
    problem(kiosk, headers, step, title, Some(answer), None, retry)
}

/// The central service (or a device) could not be reached.
pub(super) fn unreachable(
    kiosk: &Kiosk,
    headers: &HeaderMap,
    step: usize,
    error: &anyhow::Error,
    retry: &'static str,
) -> Response {
    kiosk.reached(false);
    problem(
        kiosk,
        headers,
        step,
        ("Mất kết nối", "No connection"),
        None,
        Some(error),
        retry,
    )
}

pub(super) fn problem(
    kiosk: &Kiosk,
    headers: &HeaderMap,
    step: usize,
    title: (&str, &str),
    answer: Option<&super::central::Answer>,
    error: Option<&anyhow::Error>,
    retry: &'static str,
) -> Response {
    let (code, detail) = match (answer, error) {
        (Some(a), _) => (a.code().unwrap_or("").to_string(), a.message().to_string()),
        (None, Some(e)) => (String::new(), format!("{e:#}")),
        (None, None) => (String::new(), String::new()),
    };
    let f = with_visit(kiosk, headers, |v| Frame::of(kiosk, Some(v), step))
        .unwrap_or_else(|| Frame::of(kiosk, None, step));
    render(&Problem {
        f,
        title_vi: title.0.into(),
        title_en: title.1.into(),
        detail,
        code,
        retry,
    })
}

pub fn router(kiosk: Arc<Kiosk>) -> Router {
    super::procedures::routes(Router::new())
        .route("/", get(start))
        .route("/start", post(begin))
        .route("/lang", post(toggle_language))
        .route("/officer", post(call_officer))
        .route("/consent", get(consent).post(agree))
        .route("/identify", get(identify::identify))
        .route("/identify/card", get(identify::card).post(identify::read_card))
        .route("/identify/face", get(identify::face).post(identify::send_face))
        .route("/identify/face/pose", post(identify::face_pose))
        .route("/identify/app", get(identify::app).post(identify::start_app))
        .route("/identify/app/poll", post(identify::poll_app))
        .route("/document", get(document).post(choose_document))
        .route("/scan", get(scan).post(scan_page))
        .route("/scan/{n}", get(scanned_page))
        .route("/scan/{n}/redo", post(rescan_page))
        .route("/scan/done", post(submit))
        .route("/result", get(result))
        .route("/deliver/email", get(email_screen).post(email_copy))
        .route("/deliver/print", post(print_copy))
        .route("/rate", get(rate_screen).post(rate))
        .route("/wallet", get(wallet))
        .route("/pay", get(pay::pay))
        .route("/pay/poll", post(pay::poll))
        .route("/pay/failed", get(pay::failed))
        .route("/static/pay-qr.png", get(pay::pay_qr))
        .route("/static/copy-qr.png", get(copy_qr))
        .route("/end", post(end))
        .route("/touch", post(touch))
        .route("/static/kiosk.js", get(script))
        .route("/static/kiosk.css", get(style))
        .route("/static/qr.png", get(identify::app_qr))
        .route("/static/voice/{step}", get(super::voice::prompt))
        .with_state(kiosk)
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("static/kiosk.js"),
    )
        .into_response()
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("static/kiosk.css"),
    )
        .into_response()
}

async fn start(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    // A browser still naming a visit here is shown the start of a new one: the old one is not reachable.
    let f = with_visit(&kiosk, &headers, |v| Frame::of(&kiosk, Some(v), 0))
        .unwrap_or_else(|| Frame::of(&kiosk, None, 0));
    render(&Start { f })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_day_is_the_day_it_was_in_viet_nam() {
        assert_eq!(super::vietnamese_day("2026-12-02T18:30:00Z"), "03/12/2026");
        assert_eq!(super::vietnamese_day("2026-12-02T09:00:00+07:00"), "02/12/2026");
        assert_eq!(super::vietnamese_day("not a time"), "");
    }

    #[test]
    fn a_refusal_is_told_in_the_words_of_its_clause() {
        let m = "the original cannot be certified (Decree 23, Art. 22): refused: stamped as a state secret (Decree 23/2015 Art. 22(3))";
        assert!(super::article_22_clause(m)
            .unwrap()
            .starts_with("Bản chính đóng dấu mật"));
        assert_eq!(super::article_22_clause("refused (Art. 22(9))"), None);
        assert_eq!(super::article_22_clause("refused (Art. 22(0))"), None);
        assert_eq!(super::article_22_clause("refused"), None);
    }
}

#[derive(Deserialize)]
struct BeginForm {
    #[serde(default)]
    lang: String,
    /// `procedure` to file a procedure's dossier; else a certified copy.
    #[serde(default)]
    service: String,
}

/// A new visit: a fresh cookie, and the kiosk's other visits ended (one citizen at a time).
async fn begin(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Form(form): Form<BeginForm>) -> Response {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    let id = hex::encode(bytes);
    let mut key = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    let ended: Vec<String> = {
        let mut visits = kiosk.lock();
        let old = visit_id(&headers);
        let mut ended = Vec::new();
        if let Some(v) = old.and_then(|o| visits.remove(&o)) {
            ended.extend(v.identity);
        }
        while visits.len() >= MAX_VISITS {
            let oldest = visits
                .iter()
                .min_by_key(|(_, v)| v.last_touch)
                .map(|(k, _)| k.clone());
            match oldest.and_then(|k| visits.remove(&k)) {
                Some(v) => ended.extend(v.identity),
                None => break,
            }
        }
        visits.insert(
            id.clone(),
            Visit {
                english: form.lang == "en",
                files_procedure: form.service == "procedure",
                copies: 1,
                request_key: format!("kiosk-visit-{}", hex::encode(key)),
                last_touch: Some(Instant::now()),
                ..Default::default()
            },
        );
        ended
    };
    for session in ended {
        kiosk.end_identity(&session).await;
    }
    let mut response = see("/consent");
    if let Ok(v) = HeaderValue::from_str(&format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict")) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
struct Back {
    #[serde(default)]
    back: String,
}

fn safe_back(back: &str) -> &str {
    // Only the kiosk's own screens.
    if back.starts_with('/') && !back.starts_with("//") && back.len() < 64 {
        back
    } else {
        "/"
    }
}

async fn toggle_language(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Form(b): Form<Back>,
) -> Response {
    match with_visit(&kiosk, &headers, |v| v.english = !v.english) {
        Some(()) => see(safe_back(&b.back)),
        None => to_start(),
    }
}

async fn call_officer(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Form(b): Form<Back>) -> Response {
    // The call is logged for the centre's staff console; the screen says an officer is coming.
    tracing::warn!("a citizen at this kiosk asked for an officer");
    with_visit(&kiosk, &headers, |v| v.officer_called = true);
    see(safe_back(&b.back))
}

async fn touch(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match with_visit(&kiosk, &headers, |_| ()) {
        Some(()) => StatusCode::NO_CONTENT.into_response(),
        None => StatusCode::GONE.into_response(),
    }
}

async fn consent(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match with_visit(&kiosk, &headers, |v| Frame::of(&kiosk, Some(v), 1)) {
        Some(f) => render(&Consent { f }),
        None => to_start(),
    }
}

async fn agree(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match with_visit(&kiosk, &headers, |v| v.consented = true) {
        Some(()) => see("/identify"),
        None => to_start(),
    }
}

/// The frame of a screen that needs consent first (and, with `verified`, a proven citizen).
pub(super) fn gate(
    kiosk: &Kiosk,
    headers: &HeaderMap,
    step: usize,
    verified: bool,
) -> Result<Frame, Redirect> {
    match with_visit(kiosk, headers, |v| {
        if !v.consented {
            Err(Redirect::to("/consent"))
        } else if verified && v.holder.is_none() {
            Err(Redirect::to("/identify"))
        } else {
            Ok(Frame::of(kiosk, Some(v), step))
        }
    }) {
        Some(r) => r,
        None => Err(Redirect::to("/")),
    }
}

async fn document(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 3, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let name = with_visit(&kiosk, &headers, |v| {
        v.holder.clone().map(|h| h.1).unwrap_or_default()
    })
    .unwrap_or_default();
    render(&Document {
        f,
        name,
        types: DOCUMENT_TYPES,
    })
}

#[derive(Deserialize)]
struct DocumentForm {
    document_type: String,
    copies: u32,
}

async fn choose_document(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Form(form): Form<DocumentForm>,
) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 3, true) {
        return r.into_response();
    }
    if !DOCUMENT_TYPES.iter().any(|(vi, _)| *vi == form.document_type) || !(1..=5).contains(&form.copies) {
        return see("/document");
    }
    with_visit(&kiosk, &headers, |v| {
        v.document_type = Some(form.document_type);
        v.copies = form.copies;
    });
    see("/scan")
}

pub(super) fn scan_screen(kiosk: &Kiosk, headers: &HeaderMap, error: Option<String>) -> Response {
    let f = match gate(kiosk, headers, 4, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some((document_type, pages)) =
        with_visit(kiosk, headers, |v| (v.document_type.clone(), v.pages.len()))
    else {
        return to_start();
    };
    let Some(document_type) = document_type else {
        return see("/document");
    };
    render(&Scan {
        f,
        document_type,
        pages,
        max_pages: MAX_PAGES,
        error,
    })
}

async fn scan(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    scan_screen(&kiosk, &headers, None)
}

async fn scan_page(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    scan_into(&kiosk, &headers, None).await
}

async fn rescan_page(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Path(n): Path<usize>) -> Response {
    scan_into(&kiosk, &headers, Some(n)).await
}

/// Scans a page: a new one at the end, or page `replace` (1-based) again.
async fn scan_into(kiosk: &Kiosk, headers: &HeaderMap, replace: Option<usize>) -> Response {
    if let Err(r) = gate(kiosk, headers, 4, true) {
        return r.into_response();
    }
    let count = with_visit(kiosk, headers, |v| v.pages.len()).unwrap_or(0);
    if replace.is_none() && count >= MAX_PAGES {
        return scan_screen(
            kiosk,
            headers,
            Some(format!("Tối đa {MAX_PAGES} trang. / At most {MAX_PAGES} pages.")),
        );
    }
    match kiosk.scanner.scan().await {
        Ok(png) => {
            with_visit(kiosk, headers, |v| match replace {
                Some(n) if (1..=v.pages.len()).contains(&n) => v.pages[n - 1] = png,
                Some(_) => {}
                None => v.pages.push(png),
            });
            see("/scan")
        }
        Err(e) => scan_screen(
            kiosk,
            headers,
            Some(format!("Máy quét chưa quét được trang: hãy thử lại hoặc gọi cán bộ. / The scanner failed: try again or call an officer. ({e:#})")),
        ),
    }
}

async fn scanned_page(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Path(n): Path<usize>) -> Response {
    match with_visit(&kiosk, &headers, |v| {
        n.checked_sub(1).and_then(|i| v.pages.get(i).cloned())
    }) {
        Some(Some(png)) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Sends the request to the central service: its intake decides (issue, hold for an officer, refuse).
async fn submit(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 4, true) {
        return r.into_response();
    }
    let Some((Some(session), Some(document_type), copies, pages, key)) = with_visit(&kiosk, &headers, |v| {
        (
            v.identity.clone(),
            v.document_type.clone(),
            v.copies,
            v.pages.clone(),
            v.request_key.clone(),
        )
    }) else {
        return to_start();
    };
    if pages.is_empty() {
        return scan_screen(
            &kiosk,
            &headers,
            Some("Hãy quét ít nhất một trang. / Scan at least one page.".into()),
        );
    }
    match kiosk
        .central
        .issue(&session, &key, None, &document_type, copies, &pages)
        .await
    {
        // The original passed; the fee first.
        Ok(a) if pay::due(&a).is_some() => {
            with_visit(&kiosk, &headers, |v| v.payment = pay::due(&a));
            see("/pay")
        }
        Ok(a) => {
            with_visit(&kiosk, &headers, |v| v.outcome = Some(a));
            see("/result")
        }
        Err(e) => unreachable(&kiosk, &headers, 4, &e, "/scan"),
    }
}

async fn result(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 6, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some(Some(answer)) = with_visit(&kiosk, &headers, |v| v.outcome.clone()) else {
        return see("/scan");
    };
    let body = &answer.body;
    let outcome = match answer.status {
        201 | 200 => Outcome::Issued {
            codes: body["copies"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .filter_map(|x| x["code"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            fee: banso_core::rules::format_vnd(body["fee_vnd"].as_u64().unwrap_or(0)),
            qr_url: body["qr_url"].as_str().map(str::to_string),
        },
        202 => Outcome::Held {
            receipt: body["intake_id"].as_str().unwrap_or_default().to_string(),
        },
        422 if answer.code() == Some("ISS-0008") => Outcome::Refused {
            clause: article_22_clause(answer.message()),
            ground: answer.message().to_string(),
        },
        _ => Outcome::Failed {
            code: answer.code().unwrap_or("").to_string(),
            message: answer.message().to_string(),
        },
    };
    let delivered = with_visit(&kiosk, &headers, |v| v.delivered.clone()).flatten();
    render(&Result_ {
        f,
        outcome,
        can_print: kiosk.printer.is_some(),
        delivered,
    })
}

#[derive(Template)]
#[template(path = "kiosk/email.html")]
struct Email {
    f: Frame,
    /// The request is held for an officer: the address is for its outcome, not for a copy.
    held: bool,
}

async fn email_screen(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match gate(&kiosk, &headers, 6, true) {
        Ok(f) => {
            let held = with_visit(&kiosk, &headers, |v| {
                v.outcome.as_ref().is_some_and(|a| a.status == 202)
            })
            .unwrap_or(false);
            render(&Email { f, held })
        }
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
struct EmailForm {
    email: String,
}

/// Sends the issued copy to the address the citizen typed (through the central service) — or, for a request
/// held for an officer, asks that its outcome be sent there once decided — then back to the result with what
/// became of it.
async fn email_copy(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 6, true) {
        return r.into_response();
    }
    let Some(Some((session, code, held, en))) = with_visit(&kiosk, &headers, |v| {
        let outcome = v.outcome.as_ref().filter(|a| a.ok())?;
        let held = outcome.status == 202;
        let code = outcome.body[if held { "intake_id" } else { "code" }]
            .as_str()?
            .to_string();
        Some((v.identity.clone()?, code, held, v.english))
    }) else {
        return see("/result");
    };
    let to = form.email.trim();
    let answer = if held {
        kiosk.central.notify_held(&session, &code, to).await
    } else {
        kiosk.central.email(&session, &code, to).await
    };
    let said = match answer {
        Ok(a) if a.ok() => (
            true,
            match (held, en) {
                (false, true) => format!("The copy has been sent to {to}."),
                (false, false) => format!("Đã gửi bản sao tới {to}."),
                (true, true) => format!("The outcome will be sent to {to} once an officer has decided."),
                (true, false) => format!("Kết quả xem xét sẽ được gửi tới {to} khi cán bộ quyết định."),
            },
        ),
        Ok(a) if a.code() == Some("DEL-0001") => (
            false,
            "Địa chỉ thư điện tử chưa đúng, mời nhập lại. / The e-mail address is not valid: please type it again.".into(),
        ),
        Ok(a) => (false, format!("{} ({})", a.message(), a.code().unwrap_or(""))),
        Err(e) => (false, format!("{e:#}")),
    };
    with_visit(&kiosk, &headers, |v| v.delivered = Some(said));
    see("/result")
}

/// An RFC 3339 time as the day it was in Việt Nam (UTC+7), dd/mm/yyyy.
fn vietnamese_day(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(crate::output::day_in_viet_nam)
        .unwrap_or_default()
}

/// A copy in the wallet screen.
struct WalletCopy {
    code: String,
    document_type: String,
    issued_on: String,
    valid: bool,
}

#[derive(Template)]
#[template(path = "kiosk/wallet.html")]
struct Wallet {
    f: Frame,
    name: String,
    copies: Vec<WalletCopy>,
}

/// The identified citizen's wallet: every copy issued to them.
async fn wallet(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 3, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some(Some((session, name))) = with_visit(&kiosk, &headers, |v| {
        Some((v.identity.clone()?, v.holder.clone()?.1))
    }) else {
        return see("/identify");
    };
    let answer = match kiosk.central.wallet(&session).await {
        Ok(a) if a.ok() => a,
        Ok(a) => {
            return refused(
                &kiosk,
                &headers,
                3,
                ("Chưa mở được ví giấy tờ", "The wallet could not be opened"),
                &a,
                "/document",
            )
        }
        Err(e) => return unreachable(&kiosk, &headers, 3, &e, "/document"),
    };
    let copies = answer.body["copies"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|x| WalletCopy {
                    code: x["code"].as_str().unwrap_or_default().to_string(),
                    document_type: x["document_type"].as_str().unwrap_or_default().to_string(),
                    issued_on: vietnamese_day(x["issued_at"].as_str().unwrap_or_default()),
                    valid: x["status"] == "valid",
                })
                .collect()
        })
        .unwrap_or_default();
    render(&Wallet { f, name, copies })
}

/// Prints the issued copies on the kiosk's printer (the PDFs fetched from the central service with their
/// keys), then back to the result with what became of it.
async fn print_copy(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 6, true) {
        return r.into_response();
    }
    let Some(printer) = kiosk.printer.as_ref() else {
        return see("/result");
    };
    let Some(Some((copies, en))) = with_visit(&kiosk, &headers, |v| {
        let body = &v.outcome.as_ref().filter(|a| a.ok())?.body;
        let copies: Vec<(String, String)> = body["copies"]
            .as_array()?
            .iter()
            .filter_map(|c| Some((c["code"].as_str()?.to_string(), c["pdf"].as_str()?.to_string())))
            .collect();
        Some((copies, v.english))
    }) else {
        return see("/result");
    };
    let mut printed = 0;
    let mut failure = None;
    for (code, url) in &copies {
        let job = async {
            let pdf = kiosk.central.pdf(url).await?;
            printer.print(&pdf, "application/pdf", code).await
        };
        match job.await {
            Ok(_) => printed += 1,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // Then the receipt: the copies' codes, the fee, the time and where to check them.
    if failure.is_none() {
        if let Some(receipt) = with_visit(&kiosk, &headers, receipt_text).flatten() {
            let job = format!(
                "bien-nhan-{}",
                copies.first().map(|c| c.0.as_str()).unwrap_or("ban-sao")
            );
            if let Err(e) = printer.print(receipt.as_bytes(), "text/plain", &job).await {
                failure = Some(e);
            }
        }
    }
    let said = match failure {
        None if en => (true, format!("{printed} copy(ies) sent to the printer.")),
        None => (true, format!("Đã in {printed} bản sao, mời ông/bà nhận tại khay máy in.")),
        Some(e) => (
            false,
            format!("Máy in chưa in được: mời gọi cán bộ hỗ trợ. / The printer failed: please call an officer. ({e:#})"),
        ),
    };
    with_visit(&kiosk, &headers, |v| v.delivered = Some(said));
    see("/result")
}

/// The receipt printed with the copies (plain text, the printer lays it out).
fn receipt_text(v: &mut Visit) -> Option<String> {
    let body = &v.outcome.as_ref().filter(|a| a.ok())?.body;
    let codes: Vec<&str> = body["copies"]
        .as_array()?
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+7));
    Some(format!(
        "BIÊN NHẬN CHỨNG THỰC BẢN SAO ĐIỆN TỬ\n\n\
         Giấy tờ: {}\n\
         Số chứng thực: {}\n\
         Mã bản sao: {}\n\
         Lệ phí: {}\n\
         Thời gian: {:02}:{:02} ngày {:02}/{:02}/{}\n\n\
         Kiểm tra bản sao: quét mã QR trên bản sao, hoặc nhập mã tại {}\n",
        v.document_type.as_deref().unwrap_or(""),
        body["number"].as_str().unwrap_or(""),
        codes.join(", "),
        banso_core::rules::format_vnd(body["fee_vnd"].as_u64().unwrap_or(0)),
        now.hour(),
        now.minute(),
        now.day(),
        u8::from(now.month()),
        now.year(),
        body["verify_url"]
            .as_str()
            .unwrap_or("")
            .rsplit_once("/v/")
            .map_or("", |(base, _)| base),
    ))
}

#[derive(Template)]
#[template(path = "kiosk/rate.html")]
struct Rate {
    f: Frame,
}

/// The last screen: how satisfied the citizen is (or skip), then the end of the visit.
async fn rate_screen(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match with_visit(&kiosk, &headers, |v| Frame::of(&kiosk, Some(v), 6)) {
        Some(f) => render(&Rate { f }),
        None => to_start(),
    }
}

#[derive(Deserialize)]
struct RateForm {
    #[serde(default)]
    score: u8,
}

/// Records the rating (none when skipped: score 0) with the central service, then ends the visit.
async fn rate(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Form(form): Form<RateForm>) -> Response {
    if (1..=5).contains(&form.score) && with_visit(&kiosk, &headers, |_| ()).is_some() {
        if let Err(e) = kiosk.central.rate(form.score).await {
            tracing::warn!(error = %e, "a rating was not recorded");
        }
    }
    end(State(kiosk), headers).await
}

/// The QR of the issued copy's verification address with its key, as a PNG.
async fn copy_qr(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let url = with_visit(&kiosk, &headers, |v| {
        v.outcome
            .as_ref()
            .filter(|a| a.ok())
            .and_then(|a| a.body["qr_url"].as_str().map(str::to_string))
    });
    match url.flatten() {
        Some(u) => qr_image(&u, 8),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A QR code of `text` as a PNG answer, `scale` pixels a module (the screens' QR images).
pub(super) fn qr_image(text: &str, scale: u32) -> Response {
    match crate::output::qr_png(text, scale) {
        Ok(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Err(e) => {
            tracing::error!("QR: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The clause of Art. 22 a refusal names (`… Art. 22(3) …`), in the decree's words.
fn article_22_clause(message: &str) -> Option<&'static str> {
    let n = banso_core::rules::article_22_clause(message)?;
    banso_core::rules::ARTICLE_22.get(usize::from(n) - 1).copied()
}

/// The end of a visit: the central identity session ended, everything of the citizen dropped here, and the
/// browser told to clear what it kept.
async fn end(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let ended = visit_id(&headers).and_then(|id| kiosk.lock().remove(&id));
    if let Some(session) = ended.and_then(|v| v.identity) {
        kiosk.end_identity(&session).await;
    }
    let mut response = see("/");
    let h = response.headers_mut();
    h.insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    h.insert(
        header::SET_COOKIE,
        HeaderValue::from_static("banso_visit=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}
