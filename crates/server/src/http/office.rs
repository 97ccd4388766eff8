//! The back office on the web (`/office`): an officer signs in with a password and then the six-digit code of
//! an authenticator app; the session is a cookie holding a random secret (only its SHA-256 is stored), scoped to
//! `/office`, HttpOnly and SameSite=Strict; every form carries the session's CSRF token. API tokens are not
//! taken here: a request with an `Authorization` header is refused, whatever the token's role.

use super::edge::peer;
use super::pages::page;
use super::AppState;
use askama::Template;
use axum::extract::{Form, State};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use banso_core::error::{Code, Error, Kind};
use banso_core::office::AuditEntry;
use banso_core::service::SignedIn;
use serde::Deserialize;

const SESSION: &str = "banso_office";
const PENDING: &str = "banso_office_login";

#[derive(Template)]
#[template(path = "office/login.html")]
struct Login {
    /// `password` or `code`.
    step: &'static str,
    error: Option<String>,
    /// For the code step when the officer has passkeys: (relying party id, challenge, credential ids as JSON).
    passkey: Option<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "office/home.html")]
struct Home {
    name: String,
    role: &'static str,
    body: String,
    csrf: String,
    reads_audit: bool,
    administers: bool,
    acts: bool,
}

/// An audit entry as the page shows it.
struct Line {
    seq: u64,
    /// Seconds, in Việt Nam's time (the stored entry keeps nanoseconds, in UTC).
    at: String,
    actor: String,
    action: &'static str,
    action_code: String,
    target: String,
    from: String,
    hash: String,
}

fn line(e: AuditEntry) -> Line {
    let l = e.at.to_offset(time::macros::offset!(+7));
    Line {
        seq: e.seq,
        at: format!(
            "{:02}:{:02}:{:02} {}",
            l.hour(),
            l.minute(),
            l.second(),
            crate::output::day_in_viet_nam(e.at)
        ),
        action: match e.action.as_str() {
            "login" => "Đăng nhập",
            "login_refused" => "Đăng nhập bị từ chối",
            "logout" => "Đăng xuất",
            "officer_created" => "Tạo tài khoản",
            "token_revoked" => "Thu hồi mã truy cập API",
            "dossier_assign" => "Nhận xử lý hồ sơ",
            "dossier_request_documents" => "Yêu cầu bổ sung giấy tờ",
            "dossier_attach_result" => "Đính kèm kết quả",
            "dossier_return" => "Trả kết quả",
            "dossier_refuse" => "Từ chối hồ sơ",
            "review_claim" => "Nhận xem xét yêu cầu chứng thực",
            "review_approve" => "Chứng thực bản sao (sau xem xét)",
            "review_refuse" => "Từ chối chứng thực",
            "review_rescan" => "Yêu cầu quét lại bản chính",
            "book_export" => "Trích xuất sổ chứng thực",
            "passkey_added" => "Đăng ký khóa truy cập",
            "registry_holder_search" => "Tra cứu sổ theo người được cấp",
            "copy_revoked" => "Thu hồi bản sao",
            "copy_cancelled" => "Hủy bản sao theo quyết định",
            "device_code_created" => "Tạo mã đăng ký ki-ốt",
            "device_enrolled" => "Ki-ốt đăng ký bằng mã",
            _ => "",
        },
        actor: e.actor,
        action_code: e.action,
        target: e.target,
        from: e.from,
        hash: e.hash,
    }
}

#[derive(Template)]
#[template(path = "office/audit.html")]
struct Audit {
    csrf: String,
    entries: Vec<Line>,
    intact: bool,
    /// The next page's `after`, when this page is full.
    next: Option<u64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    after: Option<u64>,
}

#[derive(Template)]
#[template(path = "office/refused.html")]
struct Refused {
    message: String,
}

/// The status a back-office error answers with.
fn status_of(e: &Error) -> StatusCode {
    match e.kind() {
        Kind::Unauthorized => StatusCode::UNAUTHORIZED,
        Kind::Forbidden => StatusCode::FORBIDDEN,
        Kind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        Kind::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Kind::BadInput => StatusCode::BAD_REQUEST,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn said(e: &Error) -> String {
    let vi = match e.code {
        Code::Off0001LoginRefused => "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng.",
        Code::Off0002Locked => "Tài khoản tạm khóa do đăng nhập sai nhiều lần; xin thử lại sau 15 phút.",
        Code::Off0003NotSignedIn => "Phiên làm việc đã hết hoặc biểu mẫu không hợp lệ; xin đăng nhập lại.",
        Code::Off0004NotAllowed => "Tài khoản không có quyền thực hiện việc này.",
        Code::Req0003Busy => "Hệ thống đang bận; xin thử lại sau giây lát.",
        Code::Dos0003WrongStep => "Hồ sơ không ở bước cho phép việc này (có thể cán bộ khác vừa xử lý).",
        Code::Off0005Claimed => "Yêu cầu đang do cán bộ khác xem xét hoặc đã được quyết định.",
        Code::Off0006NoSuchReview => "Không có yêu cầu chứng thực này.",
        Code::Iss0005InvalidField => "Thông tin nhập chưa hợp lệ.",
        _ => "Chưa thực hiện được yêu cầu.",
    };
    format!("{vi} / {} ({})", e.message, e.code.as_str())
}

fn login_page(step: &'static str, error: Option<&Error>) -> Response {
    let status = error.map_or(StatusCode::OK, status_of);
    page(
        status,
        &Login {
            step,
            error: error.map(said),
            passkey: None,
        },
    )
}

/// The second factor's page for the pending login: the code, and the officer's passkeys if any.
async fn code_page(state: &AppState, pending: &str, error: Option<&Error>) -> Response {
    let passkey = state
        .service
        .office_passkey_request(pending)
        .await
        .ok()
        .filter(|(_, _, ids)| !ids.is_empty())
        .map(|(rp, challenge, ids)| (rp, challenge, serde_json::to_string(&ids).unwrap_or_default()));
    page(
        error.map_or(StatusCode::OK, status_of),
        &Login {
            step: "code",
            error: error.map(said),
            passkey,
        },
    )
}

fn refused_page(e: &Error) -> Response {
    page(status_of(e), &Refused { message: said(e) })
}

/// A cookie for the back office: HttpOnly, SameSite=Strict, `Secure` when the service is reached over HTTPS.
fn set_cookie(response: &mut Response, state: &AppState, name: &str, path: &str, value: &str, max_age: i64) {
    let secure = if state.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// API tokens are not taken by the back office.
fn token_refused(headers: &HeaderMap) -> Option<Response> {
    headers.contains_key(header::AUTHORIZATION).then(|| {
        refused_page(&Error::new(
            Code::Off0004NotAllowed,
            "the back office takes officers' sign-ins, not API tokens",
        ))
    })
}

/// The officer the request's session cookie is signed in as.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<SignedIn, Error> {
    let secret = super::cookie(headers, SESSION)
        .ok_or_else(|| Error::new(Code::Off0003NotSignedIn, "not signed in"))?;
    state.service.office_session(&secret).await
}

/// The officer a page is for: an API token is refused, and a browser not signed in is sent to the sign-in.
async fn page_session(state: &AppState, headers: &HeaderMap) -> Result<SignedIn, Box<Response>> {
    if let Some(r) = token_refused(headers) {
        return Err(Box::new(r));
    }
    signed_in(state, headers)
        .await
        .map_err(|_| Box::new(Redirect::to("/office/login").into_response()))
}

/// The officer a form is from: an API token, no session or a wrong CSRF token is refused.
async fn form_session(state: &AppState, headers: &HeaderMap, csrf: &str) -> Result<SignedIn, Box<Response>> {
    if let Some(r) = token_refused(headers) {
        return Err(Box::new(r));
    }
    let s = signed_in(state, headers)
        .await
        .map_err(|e| Box::new(refused_page(&e)))?;
    s.check_csrf(csrf).map_err(|e| Box::new(refused_page(&e)))?;
    Ok(s)
}

/// `GET /office`: the signed-in officer's start page, else the sign-in.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => page(
            StatusCode::OK,
            &Home {
                name: s.officer.full_name.clone(),
                role: s.officer.role.label_vi(),
                body: s.officer.body.clone(),
                csrf: s.session.csrf.clone(),
                reads_audit: s.officer.role.reads_audit(),
                administers: s.officer.role == banso_core::office::OfficeRole::Administrator,
                acts: s.officer.role.acts(),
            },
        ),
        Err(r) => *r,
    }
}

/// `GET /office/login`.
pub async fn login_form(headers: HeaderMap) -> Response {
    if let Some(r) = token_refused(&headers) {
        return r;
    }
    login_page("password", None)
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// `POST /office/login`: the password; then the code.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<Form<PasswordForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Some(r) = token_refused(&headers) {
        return r;
    }
    let Ok(Form(f)) = form else {
        return login_page("password", Some(&banso_core::office::refused()));
    };
    match state
        .service
        .office_password(&f.username, &f.password, &peer(&extensions))
        .await
    {
        Ok(pending) => {
            let mut r = Redirect::to("/office/login/code").into_response();
            set_cookie(&mut r, &state, PENDING, "/office/login", &pending, 300);
            r
        }
        Err(e) => login_page("password", Some(&e)),
    }
}

/// `GET /office/login/code`.
pub async fn code_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = token_refused(&headers) {
        return r;
    }
    let Some(pending) = super::cookie(&headers, PENDING) else {
        return Redirect::to("/office/login").into_response();
    };
    code_page(&state, &pending, None).await
}

/// The second factor as the form sends it: a code, or a passkey's assertion (base64url fields).
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    client_data: String,
    #[serde(default)]
    authenticator_data: String,
    #[serde(default)]
    signature: String,
}

/// `POST /office/login/code`: the second factor; the session begins.
pub async fn code(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<Form<CodeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if let Some(r) = token_refused(&headers) {
        return r;
    }
    let Some(pending) = super::cookie(&headers, PENDING) else {
        return Redirect::to("/office/login").into_response();
    };
    let f = form.map(|Form(f)| f).unwrap_or(CodeForm {
        code: String::new(),
        credential: String::new(),
        client_data: String::new(),
        authenticator_data: String::new(),
        signature: String::new(),
    });
    let factor = if f.credential.is_empty() {
        banso_core::service::SecondFactor::Code(&f.code)
    } else {
        banso_core::service::SecondFactor::Passkey(banso_core::service::PasskeyAssertion {
            id: &f.credential,
            client_data: &f.client_data,
            authenticator_data: &f.authenticator_data,
            signature: &f.signature,
        })
    };
    match state
        .service
        .office_second_factor(&pending, factor, &peer(&extensions))
        .await
    {
        Ok((secret, _)) => {
            let mut r = Redirect::to("/office").into_response();
            set_cookie(&mut r, &state, PENDING, "/office/login", "", 0);
            set_cookie(
                &mut r,
                &state,
                SESSION,
                "/office",
                &secret,
                banso_core::office::ABSOLUTE.whole_seconds(),
            );
            r
        }
        // A pending login that ended (too many tries, too slow) starts again from the password.
        Err(e) if e.code == Code::Off0003NotSignedIn || e.code == Code::Off0002Locked => {
            let mut r = login_page("password", Some(&e));
            set_cookie(&mut r, &state, PENDING, "/office/login", "", 0);
            r
        }
        Err(e) => code_page(&state, &pending, Some(&e)).await,
    }
}

#[derive(Template)]
#[template(path = "office/passkeys.html")]
struct Passkeys {
    csrf: String,
    username: String,
    full_name: String,
    keys: Vec<(String, String)>,
    rp: String,
    challenge: String,
    ids: String,
    error: Option<String>,
    added: bool,
}

async fn passkeys_page(state: &AppState, s: &SignedIn, error: Option<&Error>, added: bool) -> Response {
    let (keys, rp, challenge) = match state.service.office_passkeys(s).await {
        Ok(k) => k,
        Err(e) => return refused_page(&e),
    };
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    page(
        error.map_or(StatusCode::OK, status_of),
        &Passkeys {
            csrf: s.session.csrf.clone(),
            username: s.officer.username.clone(),
            full_name: s.officer.full_name.clone(),
            ids: serde_json::to_string(&ids).unwrap_or_default(),
            keys: keys
                .iter()
                .map(|k| (k.label.clone(), crate::output::time_in_viet_nam(k.created_at)))
                .collect(),
            rp,
            challenge,
            error: error.map(said),
            added,
        },
    )
}

/// `GET /office/passkeys`: the officer's passkeys, and registering another (the browser's WebAuthn).
pub async fn passkeys(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => passkeys_page(&state, &s, None, false).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct PasskeyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_data: String,
    #[serde(default)]
    attestation: String,
    #[serde(default)]
    label: String,
}

/// `POST /office/passkeys`: registers the passkey the browser made for the challenge of this session.
pub async fn add_passkey(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<Form<PasskeyForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let s = match form_session(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match state
        .service
        .office_add_passkey(&s, &f.client_data, &f.attestation, &f.label, &peer(&extensions))
        .await
    {
        Ok(()) => passkeys_page(&state, &s, None, true).await,
        Err(e) => passkeys_page(&state, &s, Some(&e), false).await,
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /office/logout`: with the session's CSRF token; the session ends on the server, and the browser is
/// told to forget its cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let s = match form_session(&state, &headers, &token).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(e) = state.service.office_logout(&s, &peer(&extensions)).await {
        return refused_page(&e);
    }
    let mut r = Redirect::to("/office/login").into_response();
    set_cookie(&mut r, &state, SESSION, "/office", "", 0);
    r.headers_mut().insert(
        "clear-site-data",
        HeaderValue::from_static("\"cache\", \"cookies\", \"storage\""),
    );
    r
}

/// `GET /office/audit`: the audit log, for supervisors, administrators and auditors, with whether its chain
/// holds.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    q: Result<axum::extract::Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let after = q.ok().and_then(|q| q.after).unwrap_or(0);
    let entries = match state.service.office_audit(&s, after).await {
        Ok(e) => e,
        Err(e) => return refused_page(&e),
    };
    let intact = match state.service.audit_check().await {
        Ok(broken) => broken.is_none(),
        Err(e) => return refused_page(&e),
    };
    page(
        StatusCode::OK,
        &Audit {
            csrf: s.session.csrf,
            next: (entries.len() == banso_core::service::AUDIT_PAGE as usize)
                .then(|| entries.last().map(|e| e.seq))
                .flatten(),
            entries: entries.into_iter().map(line).collect(),
            intact,
        },
    )
}

/// An account as the administrator's page lists it.
struct AccountLine {
    username: String,
    full_name: String,
    role: &'static str,
    locked: bool,
}

#[derive(Template)]
#[template(path = "office/officers.html")]
struct Officers {
    csrf: String,
    body: String,
    accounts: Vec<AccountLine>,
    /// The account just made: (username, TOTP secret in base32, otpauth address), shown once.
    made: Option<(String, String, String)>,
    error: Option<String>,
}

async fn officers_page(
    state: &AppState,
    s: &SignedIn,
    made: Option<(String, String, String)>,
    error: Option<&Error>,
) -> Response {
    let accounts = match state.service.office_officers(s).await {
        Ok(a) => a,
        Err(e) => return refused_page(&e),
    };
    let now = time::OffsetDateTime::now_utc();
    page(
        error.map_or(StatusCode::OK, status_of),
        &Officers {
            csrf: s.session.csrf.clone(),
            body: s.officer.body.clone(),
            accounts: accounts
                .into_iter()
                .map(|o| AccountLine {
                    locked: o.locked_until.is_some_and(|t| t > now),
                    role: o.role.label_vi(),
                    username: o.username,
                    full_name: o.full_name,
                })
                .collect(),
            made,
            error: error.map(said),
        },
    )
}

/// `GET /office/officers`: the body's accounts and the form to make one (administrators).
pub async fn officers(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => officers_page(&state, &s, None, None).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct NewOfficerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

/// `POST /office/officers`: makes an account; its second factor's secret is shown once.
pub async fn create_officer(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<Form<NewOfficerForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let f = form.map(|Form(f)| f).ok();
    let s = match form_session(&state, &headers, f.as_ref().map_or("", |f| f.csrf.as_str())).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some(f) = f else {
        return refused_page(&Error::new(Code::Iss0005InvalidField, "the form did not read"));
    };
    let Some(role) = banso_core::office::OfficeRole::parse(&f.role) else {
        let e = Error::new(Code::Iss0005InvalidField, "choose a role");
        return officers_page(&state, &s, None, Some(&e)).await;
    };
    let made = state
        .service
        .office_create_officer(
            &s,
            &peer(&extensions),
            banso_core::service::NewOfficer {
                username: f.username,
                full_name: f.full_name,
                role,
                body: String::new(),
                password: f.password,
            },
        )
        .await;
    match made {
        Ok(m) => officers_page(&state, &s, Some((m.username, m.totp_secret, m.otpauth)), None).await,
        Err(e) if e.code == Code::Off0004NotAllowed => refused_page(&e),
        Err(e) => officers_page(&state, &s, None, Some(&e)).await,
    }
}

/// An API token as the administrator's page lists it.
struct TokenLine {
    id: String,
    name: String,
    role: &'static str,
    created: String,
    last_used: String,
    state: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "office/tokens.html")]
struct Tokens {
    csrf: String,
    tokens: Vec<TokenLine>,
    error: Option<String>,
}

async fn tokens_page(state: &AppState, s: &SignedIn, error: Option<&Error>) -> Response {
    let tokens = match state.service.office_tokens(s).await {
        Ok(t) => t,
        Err(e) => return refused_page(&e),
    };
    let now = time::OffsetDateTime::now_utc();
    page(
        error.map_or(StatusCode::OK, status_of),
        &Tokens {
            csrf: s.session.csrf.clone(),
            tokens: tokens
                .into_iter()
                .map(|t| {
                    let expired = t.expires_at.is_some_and(|e| e <= now);
                    TokenLine {
                        created: crate::output::time_in_viet_nam(t.created_at),
                        last_used: t
                            .last_used_at
                            .map_or_else(|| "chưa dùng".to_string(), crate::output::time_in_viet_nam),
                        state: if t.revoked {
                            "đã thu hồi"
                        } else if expired {
                            "hết hạn"
                        } else {
                            "đang dùng"
                        },
                        active: !t.revoked && !expired,
                        role: t.role.as_str(),
                        id: t.id,
                        name: t.name,
                    }
                })
                .collect(),
            error: error.map(said),
        },
    )
}

/// `GET /office/tokens`: the API tokens with their last use (administrators).
pub async fn tokens(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => tokens_page(&state, &s, None).await,
        Err(r) => *r,
    }
}

/// `POST /office/tokens/{id}/revoke`: revokes an API token; it stops working at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Path(id): axum::extract::Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let token = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let s = match form_session(&state, &headers, &token).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match state
        .service
        .office_revoke_token(&s, &id, &peer(&extensions))
        .await
    {
        Ok(()) => Redirect::to("/office/tokens").into_response(),
        Err(e) if e.code == Code::Off0004NotAllowed => refused_page(&e),
        Err(e) => tokens_page(&state, &s, Some(&e)).await,
    }
}

/// A dossier in the officers' queue.
struct QueueLine {
    code: String,
    procedure: String,
    holder: String,
    status: &'static str,
    received: String,
    due: String,
    /// `late` (past its day), `today` (due today), or empty.
    urgency: &'static str,
}

#[derive(Template)]
#[template(path = "office/dossiers.html")]
struct Queue {
    csrf: String,
    lines: Vec<QueueLine>,
}

/// The day in Việt Nam now.
fn today() -> time::Date {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+7))
        .date()
}

/// How pressing a dossier due on `due` is on `today`: `late`, `today`, or not (empty).
fn urgency(due: time::Date, today: time::Date) -> &'static str {
    match due.cmp(&today) {
        std::cmp::Ordering::Less => "late",
        std::cmp::Ordering::Equal => "today",
        std::cmp::Ordering::Greater => "",
    }
}

/// `GET /office/dossiers`: the open dossiers of the officer's body, the nearest due first; late ones and those
/// due today marked.
pub async fn dossiers(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let open = match state.service.office_dossiers(&s).await {
        Ok(d) => d,
        Err(e) => return refused_page(&e),
    };
    let today = today();
    page(
        StatusCode::OK,
        &Queue {
            csrf: s.session.csrf.clone(),
            lines: open
                .into_iter()
                .map(|d| QueueLine {
                    urgency: urgency(d.due, today),
                    status: d.status.label_vi(),
                    received: crate::output::time_in_viet_nam(d.received_at),
                    due: crate::output::dd_mm_yyyy(d.due),
                    code: d.code,
                    procedure: d.procedure_name,
                    holder: d.holder_name,
                })
                .collect(),
        },
    )
}

/// A document the officer may ask for: (key, name).
struct Asked {
    key: String,
    name: String,
}

#[derive(Template)]
#[template(path = "office/dossier.html")]
struct DossierPage {
    csrf: String,
    d: banso_core::service::DossierView,
    /// The form as the procedure names its fields: (label, value; a choice by its label).
    fields: Vec<(String, String)>,
    /// The documents brought, each by its name.
    brought: Vec<String>,
    /// The timeline: (status, time in Việt Nam, note).
    steps: Vec<(&'static str, String, String)>,
    documents: Vec<Asked>,
    can_assign: bool,
    can_attach: bool,
    can_request: bool,
    can_return: bool,
    can_refuse: bool,
    error: Option<String>,
}

async fn dossier_page(state: &AppState, s: &SignedIn, code: &str, error: Option<&Error>) -> Response {
    use banso_core::dossier::{Action, Status};
    let d = match state.service.office_dossier(s, code).await {
        Ok(d) => d,
        Err(e) => return refused_page(&e),
    };
    let procedure = state
        .service
        .catalogue()
        .ok()
        .and_then(|c| c.get(&d.public.procedure).ok());
    let documents: Vec<Asked> = procedure
        .map(|p| {
            p.documents
                .iter()
                .map(|x| Asked {
                    key: x.key.clone(),
                    name: x.name.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let fields = d
        .form
        .iter()
        .map(|(k, v)| {
            let spec = procedure.and_then(|p| p.fields.iter().find(|f| &f.key == k));
            let label = spec.map_or_else(|| k.clone(), |f| f.label.clone());
            let value = spec
                .and_then(|f| f.choices.iter().find(|c| &c.value == v))
                .map_or_else(|| v.clone(), |c| c.label.clone());
            (label, value)
        })
        .collect();
    let brought = d
        .attachments
        .iter()
        .map(|a| {
            let name = documents
                .iter()
                .find(|x| x.key == a.document)
                .map_or(a.document.as_str(), |x| x.name.as_str());
            match (&a.copy, a.pages) {
                (Some(c), _) => format!("{name}: bản sao điện tử {c} trong ví"),
                (None, Some(n)) => format!(
                    "{name}: bản quét, {n} trang{}",
                    match a.intake.as_deref() {
                        Some("officer_review") => " (máy đề nghị cán bộ kiểm tra)",
                        Some("refuse") => " (máy phát hiện căn cứ từ chối)",
                        _ => "",
                    }
                ),
                (None, None) => name.to_string(),
            }
        })
        .collect();
    let steps = d
        .timeline
        .iter()
        .map(|t| (t.status_vi, crate::output::time_in_viet_nam(t.at), t.note.clone()))
        .collect();
    let status: Status = d.public.status;
    page(
        error.map_or(StatusCode::OK, status_of),
        &DossierPage {
            csrf: s.session.csrf.clone(),
            can_assign: status.allows(Action::Assign).is_some(),
            can_attach: status.allows(Action::AttachResult).is_some(),
            can_request: status.allows(Action::RequestDocuments).is_some(),
            can_return: status.allows(Action::Return).is_some(),
            can_refuse: status.allows(Action::Refuse).is_some(),
            fields,
            brought,
            steps,
            documents,
            d,
            error: error.map(said),
        },
    )
}

/// `GET /office/dossiers/{code}`: a dossier whole, with the moves its step allows.
pub async fn dossier(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(code): axum::extract::Path<String>,
) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => dossier_page(&state, &s, &code, None).await,
        Err(r) => *r,
    }
}

/// An officer's move as the form sends it.
#[derive(Default)]
struct MoveForm {
    csrf: String,
    documents: Vec<String>,
    note: String,
    reason: String,
}

/// `POST /office/dossiers/{code}/{assign|request-documents|return|refuse}`: an officer's move, in their name.
pub async fn dossier_move(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Path((code, action)): axum::extract::Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    use banso_core::service::OfficerAction;
    // Checkboxes repeat their name: read the form as pairs.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let mut f = MoveForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => f.csrf = v,
            "documents" => f.documents.push(v),
            "note" => f.note = v,
            "reason" => f.reason = v,
            _ => {}
        }
    }
    let s = match form_session(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let action = match action.as_str() {
        "assign" => OfficerAction::Assign { to: None },
        "request-documents" => OfficerAction::RequestDocuments {
            documents: f.documents,
            note: f.note,
        },
        "return" => OfficerAction::Return,
        "refuse" => OfficerAction::Refuse { reason: f.reason },
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match state
        .service
        .office_act(&s, &code, action, &peer(&extensions))
        .await
    {
        // The stored code (the path's is only looked up by).
        Ok(view) => Redirect::to(&format!("/office/dossiers/{}", view.public.code)).into_response(),
        Err(e) if e.code == Code::Off0004NotAllowed || e.code == Code::Dos0001NoSuchDossier => {
            refused_page(&e)
        }
        Err(e) => dossier_page(&state, &s, &code, Some(&e)).await,
    }
}

/// `POST /office/dossiers/{code}/result` (multipart: csrf first, then note and the result's PDF): attaches the
/// result an officer made; it is sealed in a new revision and offered to the citizen.
pub async fn dossier_result(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Path(code): axum::extract::Path<String>,
    form: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let bad = |m: &str| Error::new(Code::Iss0005InvalidField, m.to_string());
    let Ok(mut form) = form else {
        return dossier_page(&state, &s, &code, Some(&bad("the form is not multipart"))).await;
    };
    let (mut csrf, mut note, mut pdf) = (None, String::new(), None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return dossier_page(&state, &s, &code, Some(&bad(&e.body_text()))).await,
        };
        let name = field.name().unwrap_or_default().to_string();
        // The CSRF token comes first: nothing else of a forged form is read.
        if csrf.is_none() && name != "csrf" {
            return refused_page(&Error::new(
                Code::Off0003NotSignedIn,
                "the form did not come from this session's page (CSRF token missing or wrong)",
            ));
        }
        match name.as_str() {
            "csrf" => {
                let token = field.text().await.unwrap_or_default();
                if let Err(e) = s.check_csrf(&token) {
                    return refused_page(&e);
                }
                csrf = Some(token);
            }
            "note" => note = field.text().await.unwrap_or_default(),
            "result" => match field.bytes().await {
                Ok(b) => pdf = Some(b.to_vec()),
                Err(e) => return dossier_page(&state, &s, &code, Some(&bad(&e.body_text()))).await,
            },
            _ => {}
        }
    }
    let Some(pdf) = pdf.filter(|p| !p.is_empty()) else {
        return dossier_page(&state, &s, &code, Some(&bad("choose the result's PDF file"))).await;
    };
    match state
        .service
        .office_act(
            &s,
            &code,
            banso_core::service::OfficerAction::AttachResult { pdf, note },
            &peer(&extensions),
        )
        .await
    {
        Ok(view) => Redirect::to(&format!("/office/dossiers/{}", view.public.code)).into_response(),
        Err(e) if e.code == Code::Off0004NotAllowed || e.code == Code::Dos0001NoSuchDossier => {
            refused_page(&e)
        }
        Err(e) => dossier_page(&state, &s, &code, Some(&e)).await,
    }
}

/// A copy as the registry's search lists it.
struct Found {
    code: String,
    number: String,
    issued: String,
    holder: String,
    document_type: String,
    status: &'static str,
    valid: bool,
}

#[derive(Template)]
#[template(path = "office/registry.html")]
struct Registry {
    csrf: String,
    q: RegistryForm,
    searched: bool,
    found: Vec<Found>,
    can_revoke: bool,
    error: Option<String>,
    done: Option<String>,
}

/// The registry's search form (every field optional; the first one given decides the search).
#[derive(Deserialize, Default, Clone)]
pub struct RegistryForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    reason: String,
}

fn parse_day(s: &str) -> Option<time::Date> {
    let mut it = s.trim().split('-');
    let (y, m, d) = (
        it.next()?.parse().ok()?,
        it.next()?.parse::<u8>().ok()?,
        it.next()?.parse().ok()?,
    );
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

async fn registry_page(
    state: &AppState,
    s: &SignedIn,
    q: RegistryForm,
    from: &str,
    error: Option<&Error>,
    done: Option<String>,
) -> Response {
    use banso_core::service::RegistryQuery;
    let bad = |m: &str| Error::new(Code::Iss0005InvalidField, m.to_string());
    let query = if !q.code.trim().is_empty() {
        Some(Ok(RegistryQuery::Code(q.code.trim().to_string())))
    } else if !q.number.trim().is_empty() {
        Some(match (q.year.trim().parse(), q.number.trim().parse()) {
            (Ok(year), Ok(sequence)) => Ok(RegistryQuery::Number { year, sequence }),
            _ => Err(bad("the year and the number must be numbers")),
        })
    } else if !q.from.trim().is_empty() || !q.to.trim().is_empty() {
        Some(match (parse_day(&q.from), parse_day(&q.to)) {
            (Some(from), Some(to)) => Ok(RegistryQuery::Days { from, to }),
            _ => Err(bad("the days must be dates (yyyy-mm-dd)")),
        })
    } else if !q.holder.trim().is_empty() {
        Some(Ok(RegistryQuery::Holder {
            id: q.holder.clone(),
            reason: q.reason.clone(),
        }))
    } else {
        None
    };
    let searched = query.is_some();
    let (found, failed) = match query {
        None => (Vec::new(), None),
        Some(Err(e)) => (Vec::new(), Some(e)),
        Some(Ok(query)) => match state.service.office_registry(s, query, from).await {
            Ok(f) => (f, None),
            Err(e) if e.code == Code::Off0004NotAllowed => return refused_page(&e),
            Err(e) => (Vec::new(), Some(e)),
        },
    };
    let error = error.or(failed.as_ref());
    page(
        error.map_or(StatusCode::OK, status_of),
        &Registry {
            csrf: s.session.csrf.clone(),
            can_revoke: s.officer.role.acts() && !q.code.trim().is_empty() && found.len() == 1,
            q,
            searched,
            found: found
                .into_iter()
                .map(|c| Found {
                    number: c.number().label(),
                    issued: crate::output::time_in_viet_nam(c.issued_at),
                    holder: c.holder_name,
                    document_type: c.document_type,
                    status: c.status.label_vi(),
                    valid: c.status == banso_core::model::CopyStatus::Valid,
                    code: c.code,
                })
                .collect(),
            error: error.map(said),
            done,
        },
    )
}

/// `GET /office/registry?…`: the registry's search (by code, number, days, or holder with a reason).
pub async fn registry(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Query(q): axum::extract::Query<RegistryForm>,
) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => registry_page(&state, &s, q, &peer(&extensions), None, None).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    decision: String,
}

/// `POST /office/registry/{code}/revoke`: revokes the copy, or cancels it by decision with a decision number.
pub async fn revoke_copy(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Path(code): axum::extract::Path<String>,
    form: Result<Form<RevokeForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let s = match form_session(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let from = peer(&extensions);
    let decision = Some(f.decision.trim()).filter(|d| !d.is_empty());
    let q = RegistryForm {
        code: code.clone(),
        ..RegistryForm::default()
    };
    match state
        .service
        .office_revoke(&s, &code, &f.reason, decision, &from)
        .await
    {
        Ok(r) => {
            let done = format!("Đã cập nhật bản sao {}: {}", r.code, r.status.label_vi());
            registry_page(&state, &s, q, &from, None, Some(done)).await
        }
        Err(e) if e.code == Code::Off0004NotAllowed => refused_page(&e),
        Err(e) => registry_page(&state, &s, q, &from, Some(&e), None).await,
    }
}

/// A kiosk on the fleet page.
struct FleetLine {
    id: String,
    name: String,
    last_seen: String,
    /// Each peripheral and its state, as the last heartbeat said.
    parts: Vec<(String, String)>,
    alerts: Vec<String>,
}

#[derive(Template)]
#[template(path = "office/fleet.html")]
struct Fleet {
    csrf: String,
    lines: Vec<FleetLine>,
    administers: bool,
    /// A code just made: (the kiosk's name, the code), shown once.
    code: Option<(String, String)>,
    error: Option<String>,
}

/// A kiosk not heard from for this long is marked as lost.
const LOST_AFTER: time::Duration = time::Duration::seconds(120);

async fn fleet_page(
    state: &AppState,
    s: &SignedIn,
    code: Option<(String, String)>,
    error: Option<&Error>,
) -> Response {
    let entries = match state.service.office_fleet(s).await {
        Ok(e) => e,
        Err(e) => return refused_page(&e),
    };
    let now = time::OffsetDateTime::now_utc();
    let lines = entries
        .into_iter()
        .map(|e| {
            let (last_seen, parts) = match &e.device {
                Some(d) => (
                    d.last_seen
                        .map(crate::output::time_in_viet_nam)
                        .unwrap_or_default(),
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&d.state)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                        .collect::<Vec<_>>(),
                ),
                None => (String::new(), Vec::new()),
            };
            let mut alerts = Vec::new();
            match e.device.as_ref().and_then(|d| d.last_seen) {
                Some(t) if now - t > LOST_AFTER => alerts.push("Mất liên lạc / not heard from".to_string()),
                None => alerts.push("Chưa gửi tín hiệu / never heard from".to_string()),
                _ => {}
            }
            alerts.extend(
                parts
                    .iter()
                    .filter(|(_, v)| v.as_str() != "ok")
                    .map(|(k, v)| format!("{k}: {v}")),
            );
            FleetLine {
                id: e.token.id,
                name: e.token.name,
                last_seen,
                parts,
                alerts,
            }
        })
        .collect();
    page(
        error.map_or(StatusCode::OK, status_of),
        &Fleet {
            csrf: s.session.csrf.clone(),
            lines,
            administers: s.officer.role == banso_core::office::OfficeRole::Administrator,
            code,
            error: error.map(said),
        },
    )
}

/// `GET /office/fleet`: the kiosks, their last heartbeat and alerts (administrators and supervisors).
pub async fn fleet(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => fleet_page(&state, &s, None, None).await,
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
pub struct EnrolForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /office/fleet/codes`: a one-time enrolment code for a new kiosk, shown once (administrators).
pub async fn enrolment_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    form: Result<Form<EnrolForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let f = form.map(|Form(f)| f).unwrap_or(EnrolForm {
        csrf: String::new(),
        name: String::new(),
    });
    let s = match form_session(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match state
        .service
        .office_enrolment_code(&s, &f.name, &peer(&extensions))
        .await
    {
        Ok(code) => fleet_page(&state, &s, Some((f.name.trim().to_string(), code)), None).await,
        Err(e) if e.code == Code::Off0004NotAllowed => refused_page(&e),
        Err(e) => fleet_page(&state, &s, None, Some(&e)).await,
    }
}

/// A held request in the review queue.
struct ReviewLine {
    id: String,
    holder: String,
    document_type: String,
    held: String,
    reason: String,
    claimant: Option<String>,
}

#[derive(Template)]
#[template(path = "office/reviews.html")]
struct ReviewQueue {
    csrf: String,
    lines: Vec<ReviewLine>,
}

/// `GET /office/reviews`: the requests the intake held for an officer, the oldest first, with who is on each.
pub async fn reviews(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let waiting = match state.service.office_reviews(&s).await {
        Ok(w) => w,
        Err(e) => return refused_page(&e),
    };
    let now = time::OffsetDateTime::now_utc();
    page(
        StatusCode::OK,
        &ReviewQueue {
            csrf: s.session.csrf.clone(),
            lines: waiting
                .into_iter()
                .map(|r| ReviewLine {
                    claimant: r.claimant(now).map(str::to_string),
                    held: crate::output::time_in_viet_nam(r.held_at),
                    id: r.id,
                    holder: r.request.holder_name,
                    document_type: r.request.document_type,
                    reason: r.request.reason,
                })
                .collect(),
        },
    )
}

/// One check of the intake as the review page lists it.
struct CheckLine {
    name: String,
    /// `pass`, `warn`, `fail`, `unchecked`, `not_applicable`.
    outcome: String,
    message: String,
    /// Its number on the page's drawing, when it points at regions.
    mark: Option<usize>,
}

/// A page of a held request: its picture's size (when it is a picture), the regions the checks point at
/// (x, y, w, h, the check's mark), the fields read and the checks.
struct ReviewPage {
    n: usize,
    size: Option<(u32, u32)>,
    regions: Vec<(u64, u64, u64, u64, usize)>,
    fields: Vec<(String, String, String)>,
    checks: Vec<CheckLine>,
}

/// The pages of the intake's report, with the regions its checks flagged (the checks that did not pass).
fn review_pages(report: &serde_json::Value, sizes: &[Option<(u32, u32)>]) -> Vec<ReviewPage> {
    let pages = report["pages"].as_array().cloned().unwrap_or_default();
    sizes
        .iter()
        .enumerate()
        .map(|(i, size)| {
            let p = pages.iter().find(|p| p["page"].as_u64() == Some(i as u64));
            let mut regions = Vec::new();
            let mut checks = Vec::new();
            for c in p.and_then(|p| p["checks"].as_array()).into_iter().flatten() {
                let outcome = c["outcome"].as_str().unwrap_or_default().to_string();
                let boxes: Vec<_> = c["regions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|b| {
                        Some((
                            b["x"].as_u64()?,
                            b["y"].as_u64()?,
                            b["w"].as_u64()?,
                            b["h"].as_u64()?,
                        ))
                    })
                    .collect();
                let flagged = outcome != "pass" && outcome != "not_applicable" && !boxes.is_empty();
                let mark =
                    flagged.then(|| checks.iter().filter(|c: &&CheckLine| c.mark.is_some()).count() + 1);
                if let Some(m) = mark {
                    regions.extend(boxes.into_iter().map(|(x, y, w, h)| (x, y, w, h, m)));
                }
                checks.push(CheckLine {
                    name: c["name"].as_str().unwrap_or_default().to_string(),
                    outcome,
                    message: c["message"].as_str().unwrap_or_default().to_string(),
                    mark,
                });
            }
            let fields = p
                .and_then(|p| p["fields"].as_object())
                .into_iter()
                .flatten()
                .map(|(k, f)| {
                    (
                        k.clone(),
                        f["value"].as_str().unwrap_or_default().to_string(),
                        f["confidence"]
                            .as_f64()
                            .map(|c| format!("{:.0}%", c * 100.0))
                            .unwrap_or_default(),
                    )
                })
                .collect();
            ReviewPage {
                n: i + 1,
                size: *size,
                regions,
                fields,
                checks,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "office/review.html")]
struct ReviewPageView {
    csrf: String,
    r: banso_core::office::Review,
    state: &'static str,
    held: String,
    decision: String,
    pages: Vec<ReviewPage>,
    claimant: Option<String>,
    mine: bool,
    clauses: Vec<(usize, &'static str)>,
    /// The issued copies (approved) or the notice's clause (refused), when decided.
    codes: Vec<String>,
    ground: Option<String>,
    error: Option<String>,
}

async fn review_page(state: &AppState, s: &SignedIn, id: &str, error: Option<&Error>) -> Response {
    let view = match state.service.office_review(s, id).await {
        Ok(v) => v,
        Err(e) => return refused_page(&e),
    };
    let mut sizes = Vec::with_capacity(view.review.request.pages.len());
    for n in 1..=view.review.request.pages.len() {
        let size = state
            .service
            .office_review_page(s, &view.review.id, n)
            .await
            .ok()
            .and_then(|bytes| {
                image::ImageReader::new(std::io::Cursor::new(bytes))
                    .with_guessed_format()
                    .ok()?
                    .into_dimensions()
                    .ok()
            });
        sizes.push(size);
    }
    let report = view
        .intake
        .as_ref()
        .and_then(|i| serde_json::from_str(&i.report).ok())
        .unwrap_or(serde_json::Value::Null);
    let r = view.review;
    let ground = r.request.ground.as_ref().map(|(clause, note)| match clause {
        0 => note.clone(),
        c => format!("Khoản {c} Điều 22 Nghị định 23/2015/NĐ-CP: {note}"),
    });
    page(
        error.map_or(StatusCode::OK, status_of),
        &ReviewPageView {
            csrf: s.session.csrf.clone(),
            state: r.state.label_vi(),
            held: crate::output::time_in_viet_nam(r.held_at),
            decision: view
                .intake
                .as_ref()
                .map(|i| i.decision.as_str().to_string())
                .unwrap_or_default(),
            pages: review_pages(&report, &sizes),
            mine: view.claimant.as_deref() == Some(s.officer.username.as_str()),
            claimant: view.claimant,
            clauses: banso_core::rules::ARTICLE_22
                .iter()
                .copied()
                .enumerate()
                .map(|(i, t)| (i + 1, t))
                .collect(),
            codes: r.request.codes.clone(),
            ground,
            r,
            error: error.map(said),
        },
    )
}

/// `GET /office/reviews/{id}`: a held request: its pages with the flagged regions drawn, the fields read beside
/// the identity the service verified, each check's message; claim, approve, refuse or ask for a rescan.
pub async fn review(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match page_session(&state, &headers).await {
        Ok(s) => review_page(&state, &s, &id, None).await,
        Err(r) => *r,
    }
}

/// `GET /office/reviews/{id}/pages/{n}`: a held request's page as scanned.
pub async fn review_scan(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path((id, n)): axum::extract::Path<(String, usize)>,
) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    match state.service.office_review_page(&s, &id, n).await {
        Ok(bytes) => {
            let kind = if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else if bytes.starts_with(&[0xff, 0xd8]) {
                "image/jpeg"
            } else if bytes.starts_with(b"%PDF-") {
                "application/pdf"
            } else {
                "application/octet-stream"
            };
            (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "no-store"),
                    (header::CONTENT_DISPOSITION, "inline"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => refused_page(&e),
    }
}

/// A decision as the review page's form sends it.
#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    clause: String,
    #[serde(default)]
    note: String,
}

/// `POST /office/reviews/{id}/{claim|approve|refuse|rescan}`: an officer's move on a held request, in their name.
pub async fn review_move(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Path((id, action)): axum::extract::Path<(String, String)>,
    form: Result<Form<DecideForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    use banso_core::service::ReviewDecision;
    let f = form.map(|Form(f)| f).unwrap_or(DecideForm {
        csrf: String::new(),
        clause: String::new(),
        note: String::new(),
    });
    let s = match form_session(&state, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let from = peer(&extensions);
    let decision = match action.as_str() {
        "claim" => None,
        "approve" => Some(ReviewDecision::Approve),
        "refuse" => Some(ReviewDecision::Refuse {
            clause: f.clause.trim().parse().unwrap_or(0),
            note: f.note,
        }),
        "rescan" => Some(ReviewDecision::Rescan { note: f.note }),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let done = match decision {
        None => state.service.office_claim(&s, &id, &from).await,
        Some(d) => state.service.office_decide(&s, &id, d, &from).await.map(|_| ()),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/office/reviews/{}", id.trim())).into_response(),
        Err(e) if e.code == Code::Off0004NotAllowed || e.code == Code::Off0006NoSuchReview => {
            refused_page(&e)
        }
        Err(e) => review_page(&state, &s, &id, Some(&e)).await,
    }
}

#[derive(Template)]
#[template(path = "office/books.html")]
struct Books {
    csrf: String,
    years: Vec<i32>,
}

/// `GET /office/books`: the certification books, one a year, to download as sealed PDF/A or CSV.
pub async fn books(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Err(e) = s.require(|r| r != banso_core::office::OfficeRole::Officer) {
        return refused_page(&e);
    }
    let this = banso_core::rules::legal_year(time::OffsetDateTime::now_utc());
    page(
        StatusCode::OK,
        &Books {
            csrf: s.session.csrf.clone(),
            years: (2015..=this).rev().collect(),
        },
    )
}

/// `GET /office/books/{year}.pdf` or `{year}.csv`: a year's book, every number it gave.
pub async fn book(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let Some((year, kind)) = file
        .split_once('.')
        .and_then(|(y, k)| Some((y.parse::<i32>().ok()?, k)))
        .filter(|(_, k)| *k == "pdf" || *k == "csv")
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.service.office_book(&s, year, &peer(&extensions)).await {
        Ok((book, codes)) => {
            let (body, kind) = if kind == "pdf" {
                (book.pdf, "application/pdf")
            } else {
                (book.csv(&codes).into_bytes(), "text/csv; charset=utf-8")
            };
            let name = format!(
                "attachment; filename=\"so-chung-thuc-{year}.{}\"",
                if kind == "application/pdf" { "pdf" } else { "csv" }
            );
            (
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                ],
                body,
            )
                .into_response()
        }
        Err(e) => refused_page(&e),
    }
}

/// A day's bar in the dashboard's chart: its x, and its stacked parts (y, height, class) from the bottom.
struct Bar {
    x: u32,
    label: String,
    parts: Vec<(u32, u32, &'static str)>,
}

#[derive(Template)]
#[template(path = "office/dashboard.html")]
struct DashboardPage {
    csrf: String,
    days: u32,
    d: banso_core::service::Dashboard,
    /// (dd/mm, the day's figures) for the table beside the chart.
    rows: Vec<(String, banso_core::service::DayFigures)>,
    bars: Vec<Bar>,
    bar_width: u32,
    chart_width: u32,
    /// The chart's scale: the tallest day's requests.
    peak: u64,
    rates: (String, String, String),
    grounds: Vec<(String, u64)>,
    review: Option<(String, String, usize)>,
    officers: Vec<(String, banso_core::service::OfficerFigures)>,
    by_officer: Vec<(String, banso_core::service::Satisfied)>,
    by_procedure: Vec<(String, banso_core::service::Satisfied)>,
    by_channel: Vec<(String, banso_core::service::ChannelFigures)>,
    /// Volumes by procedure, the largest first.
    volumes: Vec<(String, u64)>,
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    days: Option<u32>,
}

const CHART_HEIGHT: u32 = 200;

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.1} %", part as f64 * 100.0 / whole as f64)
    }
}

fn ground_label(clause: u8) -> String {
    match clause {
        0 => "Không nêu khoản / clause not named".into(),
        c => format!("Khoản {c} Điều 22"),
    }
}

/// `GET /office/dashboard?days=N`: the figures of the last N days (30 by default) from the registry, drawn as an
/// SVG chart and tables (supervisors, administrators, auditors).
pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<DashboardQuery>,
) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let days = q.days.unwrap_or(30).clamp(1, banso_core::service::DASHBOARD_DAYS);
    let d = match state.service.office_dashboard(&s, days).await {
        Ok(d) => d,
        Err(e) => return refused_page(&e),
    };
    let peak = d.days.iter().map(|(_, f)| f.requests).max().unwrap_or(0).max(1);
    let step = (720 / d.days.len().max(1) as u32).clamp(4, 40);
    let scale = |n: u64| (n * u64::from(CHART_HEIGHT) / peak) as u32;
    let bars = d
        .days
        .iter()
        .enumerate()
        .map(|(i, (day, f))| {
            let mut parts = Vec::new();
            let mut top = CHART_HEIGHT;
            for (n, class) in [(f.auto_issued, "auto"), (f.held, "held"), (f.refused, "refused")] {
                let h = scale(n);
                if h > 0 {
                    top -= h;
                    parts.push((top, h, class));
                }
            }
            Bar {
                x: i as u32 * step,
                label: format!("{:02}/{:02}", day.day(), u8::from(day.month())),
                parts,
            }
        })
        .collect::<Vec<_>>();
    let total = &d.total;
    page(
        StatusCode::OK,
        &DashboardPage {
            csrf: s.session.csrf.clone(),
            days,
            rows: d
                .days
                .iter()
                .rev()
                .filter(|(_, f)| f.requests > 0)
                .map(|(day, f)| (crate::output::dd_mm_yyyy(*day), f.clone()))
                .collect(),
            chart_width: (bars.len() as u32 * step).max(60),
            bar_width: step.saturating_sub(2).max(2),
            bars,
            peak,
            rates: (
                percent(total.auto_issued, total.requests),
                percent(total.held, total.requests),
                percent(total.refused, total.requests),
            ),
            grounds: d.grounds.iter().map(|(c, n)| (ground_label(*c), *n)).collect(),
            review: d
                .review_minutes
                .map(|(p50, p95, n)| (format!("{p50:.1}"), format!("{p95:.1}"), n)),
            officers: d.officers.clone().into_iter().collect(),
            by_officer: d.satisfaction_by_officer.clone().into_iter().collect(),
            by_procedure: d.satisfaction_by_procedure.clone().into_iter().collect(),
            by_channel: d.by_channel.clone().into_iter().collect(),
            volumes: {
                let mut v: Vec<(String, u64)> = d.by_procedure.clone().into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                v
            },
            d,
        },
    )
}

/// `GET /office/dashboard.csv?days=N`: the same figures per day, as CSV.
pub async fn dashboard_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<DashboardQuery>,
) -> Response {
    let s = match page_session(&state, &headers).await {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let days = q.days.unwrap_or(30);
    let d = match state.service.office_dashboard(&s, days).await {
        Ok(d) => d,
        Err(e) => return refused_page(&e),
    };
    let mut csv = String::from("ngay,yeu_cau,tu_dong_cap,chuyen_can_bo,tu_choi,ban_sao\n");
    for (day, f) in &d.days {
        csv.push_str(&format!(
            "{day},{},{},{},{},{}\n",
            f.requests, f.auto_issued, f.held, f.refused, f.copies
        ));
    }
    // The volumes of the window by where they came from and by procedure, after a blank line.
    csv.push_str("\nnoi_tiep_nhan,yeu_cau_chung_thuc,ho_so_thu_tuc\n");
    for (from, f) in &d.by_channel {
        csv.push_str(&format!(
            "{},{},{}\n",
            banso_core::service::csv_cell(from),
            f.copy_requests,
            f.dossiers
        ));
    }
    csv.push_str("\nthu_tuc,so_luong\n");
    for (procedure, n) in &d.by_procedure {
        csv.push_str(&format!("{},{n}\n", banso_core::service::csv_cell(procedure)));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"so-lieu.csv\"",
            ),
        ],
        csv,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dossier_past_its_day_is_late_and_one_due_today_is_marked() {
        let today = time::macros::date!(2026 - 12 - 03);
        assert_eq!(super::urgency(time::macros::date!(2026 - 12 - 02), today), "late");
        assert_eq!(super::urgency(today, today), "today");
        assert_eq!(super::urgency(time::macros::date!(2026 - 12 - 04), today), "");
    }
}
