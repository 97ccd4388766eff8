//! The fee screen: the amount, the payment gateway's QR for the citizen's phone, and waiting for the
//! gateway's confirmation — which reaches the central service server to server; the kiosk only asks the
//! central service whether it came, then sends the request again naming the payment.

use super::central::Answer;
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
    /// The fee of a procedure's dossier (else of a certified copy).
    dossier: bool,
}

/// The payment a central answer asks for (402 `payment_due`): (reference, amount in VND, the gateway's address).
pub(super) fn due(a: &Answer) -> Option<(String, u64, String)> {
    (a.status == 402 && a.body["status"] == "payment_due").then(|| {
        (
            a.body["reference"].as_str().unwrap_or_default().to_string(),
            a.body["amount_vnd"].as_u64().unwrap_or(0),
            a.body["pay_url"].as_str().unwrap_or_default().to_string(),
        )
    })
}

pub(super) async fn pay(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let dossier = with_visit(&kiosk, &headers, |v| v.files_procedure).unwrap_or(false);
    let f = match gate(&kiosk, &headers, if dossier { 6 } else { 5 }, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    match with_visit(&kiosk, &headers, |v| v.payment.clone()) {
        Some(Some((reference, amount, _))) => render(&Pay {
            f,
            amount: banso_core::rules::format_vnd(amount),
            reference,
            dossier,
        }),
        _ if dossier => see("/procedures/review"),
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
    let Some(Some(reference)) = peek_visit(&kiosk, &headers, |v| v.payment.as_ref().map(|p| p.0.clone()))
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
    let next = if peek_visit(&kiosk, &headers, |v| v.files_procedure).unwrap_or(false) {
        super::procedures::file_paid(&kiosk, &headers, &reference).await
    } else {
        issue_paid(&kiosk, &headers, &reference).await
    };
    match next {
        Some(next) => Json(json!({ "next": next })).into_response(),
        None => Json(json!({})).into_response(),
    }
}

/// Sends the copy's request again naming the confirmed payment; the next screen, or none to keep waiting.
async fn issue_paid(kiosk: &Kiosk, headers: &HeaderMap, reference: &str) -> Option<&'static str> {
    let (session, document_type, copies, pages, key) = peek_visit(kiosk, headers, |v| {
        Some((
            v.identity.clone()?,
            v.document_type.clone()?,
            v.copies,
            v.pages.clone(),
            v.request_key.clone(),
        ))
    })
    .flatten()?;
    let a = kiosk
        .central
        .issue(&session, &key, Some(reference), &document_type, copies, &pages)
        .await
        .ok()?;
    peek_visit(kiosk, headers, |v| {
        v.outcome = Some(a);
        v.payment = None;
    });
    Some("/result")
}

/// The gateway said the payment failed (cancelled, or refused by the bank).
pub(super) async fn failed(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let dossier = with_visit(&kiosk, &headers, |v| v.files_procedure).unwrap_or(false);
    problem(
        &kiosk,
        &headers,
        if dossier { 6 } else { 5 },
        ("Chưa thanh toán được lệ phí", "The fee was not paid"),
        None,
        None,
        if dossier { "/procedures/review" } else { "/scan" },
    )
}
