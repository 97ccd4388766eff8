//! The fee screen: the amount, the payment gateway's QR for the citizen's phone, and waiting for the
//! gateway's confirmation — which reaches the central service server to server; the kiosk only asks the
//! central service whether it came, then sends the request again naming the payment.

use super::screens::{gate, peek_visit, problem, render, see, with_visit, Frame};
use super::Kiosk;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "kiosk/pay.html")]
struct Pay {
    f: Frame,
    amount: String,
    reference: String,
}

pub(super) async fn pay(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 5, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    match with_visit(&kiosk, &headers, |v| v.payment.clone()) {
        Some(Some((reference, amount, _))) => render(&Pay {
            f,
            amount: banso_core::rules::format_vnd(amount),
            reference,
        }),
        _ => see("/scan"),
    }
}

/// The gateway's QR (its signed payment address), as a PNG.
pub(super) async fn pay_qr(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let Some(Some((_, _, url))) = with_visit(&kiosk, &headers, |v| v.payment.clone()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    super::screens::qr_image(&url, 6)
}

/// The fee screen's script asks whether the gateway confirmed: once it has, the request is sent again
/// naming the payment, and the screen moves to the result (`{"next": PATH}`); `{}` while waiting. Not a touch.
pub(super) async fn poll(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let Some(Some((reference, session, document_type, copies, pages, key))) =
        peek_visit(&kiosk, &headers, |v| {
            let (reference, _, _) = v.payment.clone()?;
            Some((
                reference,
                v.identity.clone()?,
                v.document_type.clone()?,
                v.copies,
                v.pages.clone(),
                v.request_key.clone(),
            ))
        })
    else {
        return Json(json!({ "next": "/" })).into_response();
    };
    let status = match kiosk.central.payment(&reference).await {
        Ok(a) if a.ok() => a.body["status"].as_str().unwrap_or_default().to_string(),
        // The central service is unreachable for now: keep waiting.
        _ => return Json(json!({})).into_response(),
    };
    match status.as_str() {
        "paid" | "used" => {}
        "failed" => {
            peek_visit(&kiosk, &headers, |v| v.payment = None);
            return Json(json!({ "next": "/pay/failed" })).into_response();
        }
        _ => return Json(json!({})).into_response(),
    }
    match kiosk
        .central
        .issue(&session, &key, Some(&reference), &document_type, copies, &pages)
        .await
    {
        Ok(a) => {
            peek_visit(&kiosk, &headers, |v| {
                v.outcome = Some(a);
                v.payment = None;
            });
            Json(json!({ "next": "/result" })).into_response()
        }
        Err(_) => Json(json!({})).into_response(),
    }
}

/// The gateway said the payment failed (cancelled, or refused by the bank).
pub(super) async fn failed(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    problem(
        &kiosk,
        &headers,
        5,
        ("Chưa thanh toán được lệ phí", "The fee was not paid"),
        None,
        None,
        "/scan",
    )
}
