//! The identity screens: the choice of a way, the chip card (read through the card reader with the central
//! service's nonce), the face at the camera (the screen follows the head; the frames go to the central
//! service), and the national-ID app login (the QR, then waiting for the citizen's approval).

use super::screens::{gate, peek_visit, problem, refused, render, see, unreachable, with_visit, Frame};
use super::Kiosk;
use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Template)]
#[template(path = "kiosk/identify.html")]
struct Identify {
    f: Frame,
}

#[derive(Template)]
#[template(path = "kiosk/card.html")]
struct Card {
    f: Frame,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "kiosk/face.html")]
struct Face {
    f: Frame,
    challenge: String,
}

#[derive(Template)]
#[template(path = "kiosk/app.html")]
struct App {
    f: Frame,
    code: String,
}

pub(super) async fn identify(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match gate(&kiosk, &headers, 2, false) {
        Ok(f) => render(&Identify { f }),
        Err(r) => r.into_response(),
    }
}

pub(super) async fn card(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    match gate(&kiosk, &headers, 2, false) {
        Ok(f) => render(&Card { f, error: None }),
        Err(r) => r.into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct CardForm {
    /// The 12-digit personal ID number printed on the card.
    id_number: String,
    /// dd/mm/yyyy or ddmmyyyy.
    birth: String,
    expiry: String,
}

/// `ddmmyyyy` (separators allowed) as the MRZ's `YYMMDD`.
fn yymmdd(date: &str) -> Option<String> {
    let digits: String = date.chars().filter(char::is_ascii_digit).collect();
    (digits.len() == 8).then(|| format!("{}{}{}", &digits[6..8], &digits[2..4], &digits[0..2]))
}

pub(super) async fn read_card(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
    let f = match gate(&kiosk, &headers, 2, false) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let id: String = form.id_number.chars().filter(char::is_ascii_digit).collect();
    let mrz = match (id.len(), yymmdd(&form.birth), yymmdd(&form.expiry)) {
        // The card's MRZ carries the last nine digits of the personal ID number as the document number.
        (12, Some(b), Some(e)) => banso_identity::emrtd::bac::mrz_information(&id[3..], &b, &e).ok(),
        _ => None,
    };
    let Some(mrz) = mrz else {
        return render(&Card {
            f,
            error: Some(
                "Số định danh gồm 12 chữ số; ngày ghi theo ngày/tháng/năm. / The ID number has 12 digits; dates are day/month/year."
                    .into(),
            ),
        });
    };
    let started = match kiosk.central.start_identity("chip").await {
        Ok(a) if a.ok() => a,
        Ok(a) => {
            return refused(
                &kiosk,
                &headers,
                2,
                ("Chưa xác thực được", "Identity could not be checked"),
                &a,
                "/identify",
            )
        }
        Err(e) => return unreachable(&kiosk, &headers, 2, &e, "/identify"),
    };
    let session = started.body["id"].as_str().unwrap_or_default().to_string();
    let nonce: Option<[u8; 8]> = started.body["nonce"]
        .as_str()
        .and_then(|n| hex::decode(n).ok())
        .and_then(|n| n.try_into().ok());
    let Some(nonce) = nonce else {
        return refused(
            &kiosk,
            &headers,
            2,
            ("Chưa xác thực được", "Identity could not be checked"),
            &started,
            "/identify",
        );
    };
    with_visit(&kiosk, &headers, |v| {
        v.identity = Some(session.clone());
        v.identity_step = "chip".into();
    });
    let reader = kiosk.card_reader.clone();
    let read = tokio::task::spawn_blocking(move || super::devices::read_card(&reader, &mrz, nonce)).await;
    let chip = match read {
        Ok(Ok(chip)) => chip,
        Ok(Err(e)) => {
            return render(&Card {
                f,
                error: Some(format!(
                    "Không đọc được thẻ: kiểm tra thẻ đã đặt đúng và thông tin đã nhập. / The card could not be read: check it lies on the reader and the details typed. ({e})"
                )),
            })
        }
        Err(e) => return problem(&kiosk, &headers, 2, ("Lỗi đầu đọc thẻ", "Card reader failure"), None, Some(&anyhow::anyhow!("{e}")), "/identify"),
    };
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let groups: serde_json::Map<String, Value> = chip
        .data_groups
        .iter()
        .map(|(n, b)| (n.to_string(), Value::String(b64(b))))
        .collect();
    let body = json!({
        "sod": b64(&chip.sod),
        "data_groups": groups,
        "active_authentication": chip.active_authentication.as_ref().map(|(_, sig)| b64(sig)),
    });
    match kiosk
        .central
        .identity(Method::POST, &session, "chip", Some(body))
        .await
    {
        Ok(a) if a.ok() => {
            let challenge = a.body["challenge"]
                .as_array()
                .map(|c| c.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            with_visit(&kiosk, &headers, |v| {
                v.identity_step = "face".into();
                v.challenge = challenge;
            });
            see("/identify/face")
        }
        Ok(a) => refused(
            &kiosk,
            &headers,
            2,
            ("Thẻ không được xác thực", "The card was not accepted"),
            &a,
            "/identify",
        ),
        Err(e) => unreachable(&kiosk, &headers, 2, &e, "/identify"),
    }
}

pub(super) async fn face(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 2, false) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    match with_visit(&kiosk, &headers, |v| {
        (v.identity_step == "face").then(|| v.challenge.join(","))
    }) {
        Some(Some(challenge)) => render(&Face { f, challenge }),
        _ => see("/identify"),
    }
}

/// The pose in one camera frame (the body: a JPEG), for the screen to tell the citizen when a turn is far
/// enough: `{"pose": "centre" | "left" | "right" | null, "yaw": cue | null}`; 503 when the kiosk has no
/// face models.
pub(super) async fn face_pose(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if with_visit(&kiosk, &headers, |v| v.identity_step == "face") != Some(true) {
        return StatusCode::CONFLICT.into_response();
    }
    let Some(models) = kiosk.faces.clone() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    if body.len() > 1 << 20 {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let seen = tokio::task::spawn_blocking(move || {
        let image = banso_face::decode_image(&body).ok()?;
        banso_face::liveness::pose_in(&models, &image, &banso_face::liveness::LivenessPolicy::default()).ok()
    })
    .await
    .ok()
    .flatten();
    let (pose, yaw) = seen.unwrap_or((None, None));
    Json(json!({ "pose": pose, "yaw": yaw })).into_response()
}

/// The camera frames from the screen's script, relayed to the central service. Answers JSON for the
/// script: `{"next": PATH}` or `{"error": {code, message}, "retry": bool}`.
pub(super) async fn send_face(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let Some(Some(session)) = with_visit(&kiosk, &headers, |v| {
        (v.identity_step == "face").then(|| v.identity.clone()).flatten()
    }) else {
        return Json(json!({ "next": "/identify" })).into_response();
    };
    let mut frames = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        if frames.len() >= 16 {
            break;
        }
        if let Ok(bytes) = field.bytes().await {
            frames.push(bytes.to_vec());
        }
    }
    match kiosk.central.face(&session, frames).await {
        Ok(a) if a.ok() => {
            let next = with_visit(&kiosk, &headers, |v| verified(v, &a)).unwrap_or("/");
            Json(json!({ "next": next })).into_response()
        }
        Ok(a) => {
            let retry = matches!(a.code(), Some("FACE-0005" | "FACE-0006" | "FACE-0002"));
            if !retry {
                with_visit(&kiosk, &headers, |v| {
                    v.identity = None;
                    v.identity_step.clear();
                });
            }
            Json(json!({ "error": { "code": a.code(), "message": a.message() }, "retry": retry }))
                .into_response()
        }
        Err(e) => Json(json!({ "error": { "code": null, "message": format!("{e:#}") }, "retry": true }))
            .into_response(),
    }
}

pub(super) async fn start_app(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 2, false) {
        return r.into_response();
    }
    match kiosk.central.start_identity("app").await {
        Ok(a) if a.ok() => {
            with_visit(&kiosk, &headers, |v| {
                v.identity = a.body["id"].as_str().map(str::to_string);
                v.identity_step = "app".into();
                v.app_qr = a.body["qr_uri"].as_str().map(str::to_string);
                v.app_code = a.body["user_code"].as_str().map(str::to_string);
            });
            see("/identify/app")
        }
        Ok(a) => refused(
            &kiosk,
            &headers,
            2,
            ("Chưa đăng nhập được", "The app login could not start"),
            &a,
            "/identify",
        ),
        Err(e) => unreachable(&kiosk, &headers, 2, &e, "/identify"),
    }
}

/// The app login's screen: the QR and the code to type.
pub(super) async fn app(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 2, false) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    match with_visit(&kiosk, &headers, |v| {
        (v.identity_step == "app").then(|| v.app_code.clone().unwrap_or_default())
    }) {
        Some(Some(code)) => render(&App { f, code }),
        _ => see("/identify"),
    }
}

/// The app screen's script asks whether the citizen approved: `{"next": PATH}` when the screen should
/// move on, `{}` while waiting. Not a touch.
pub(super) async fn poll_app(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let Some(Some(session)) = peek_visit(&kiosk, &headers, |v| {
        (v.identity_step == "app").then(|| v.identity.clone()).flatten()
    }) else {
        return Json(json!({ "next": "/" })).into_response();
    };
    match kiosk.central.identity(Method::POST, &session, "app", None).await {
        Ok(a) if a.ok() && a.body["step"] == "verified" => {
            let next = peek_visit(&kiosk, &headers, |v| verified(v, &a)).unwrap_or("/");
            Json(json!({ "next": next })).into_response()
        }
        Ok(a) if a.ok() => Json(json!({})).into_response(),
        Ok(a) => {
            tracing::info!(code = a.code(), "the app login ended without an identity");
            peek_visit(&kiosk, &headers, |v| {
                v.identity = None;
                v.identity_step.clear();
            });
            Json(json!({ "next": "/identify" })).into_response()
        }
        // The central service is unreachable for now: keep waiting.
        Err(_) => Json(json!({})).into_response(),
    }
}

/// The QR of the app login, as a PNG.
pub(super) async fn app_qr(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let Some(Some(uri)) = with_visit(&kiosk, &headers, |v| v.app_qr.clone()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    super::screens::qr_image(&uri, 10)
}

/// The visit's citizen, as the central service proved them (its answer at the `verified` step); the screen
/// that comes next (the document to certify, or the procedure to file).
fn verified(visit: &mut super::Visit, answer: &super::central::Answer) -> &'static str {
    let field = |k: &str| answer.body["holder"][k].as_str().unwrap_or_default().to_string();
    visit.identity_step = "verified".into();
    visit.holder = Some((field("id_number"), field("full_name")));
    if visit.files_procedure {
        "/procedures"
    } else {
        "/document"
    }
}
