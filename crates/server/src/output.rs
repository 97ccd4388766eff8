//! The JSON shapes shared by the CLI and the HTTP API, so both say the same thing the same way.

use banso_core::code::VerificationCode;
use banso_core::error::{Error, Kind};
use banso_core::service::{HeldForReview, Issuance, IssuedCopy};
use serde_json::{json, Value};

/// One copy of an issuance. `pdf` is a file path (CLI) or a download URL (API).
pub fn copy_json(copy: &IssuedCopy, pdf: &str, base_url: &str) -> Value {
    let r = &copy.record;
    let code = VerificationCode::parse(&r.code)
        .map(|c| c.display_grouped())
        .unwrap_or_else(|_| r.code.clone());
    json!({
        "code": code,
        "number": r.number().label(),
        "sequence": r.sequence,
        "book": r.book,
        "year": r.year,
        "status": r.status.as_str(),
        "sha256": r.sha256,
        "pdf": pdf,
        "pages": r.pdf_pages,
        "original_pages": r.original_pages,
        "fee_vnd": r.fee_vnd,
        "copy_index": r.copy_index,
        "verify_url": format!("{base_url}/v/{}", r.code),
        "qr_url": copy.qr_url,
    })
}

/// The whole issuance: the first copy's fields at the top, every copy under `copies`, the total fee.
pub fn issuance_json(issuance: &Issuance, pdfs: &[String], base_url: &str) -> Value {
    let copies: Vec<Value> = issuance
        .copies
        .iter()
        .zip(pdfs)
        .map(|(c, pdf)| copy_json(c, pdf, base_url))
        .collect();
    let mut top = copies.first().cloned().unwrap_or_else(|| json!({}));
    if let Some(obj) = top.as_object_mut() {
        obj.insert("fee_vnd".into(), json!(issuance.fee_total_vnd));
        obj.insert("replayed".into(), json!(issuance.replayed));
        obj.insert("intake_id".into(), json!(issuance.intake_id));
        obj.insert("copies".into(), Value::Array(copies));
    }
    top
}

/// `{"error": {"code", "message"}}`.
pub fn error_json(e: &banso_core::Error) -> Value {
    json!({ "error": { "code": e.code.as_str(), "message": e.message } })
}

/// An API token as the CLI and the API show it: never the token, nor its hash.
pub fn token_json(t: &banso_core::model::TokenRecord) -> serde_json::Value {
    let at = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
    };
    serde_json::json!({
        "id": t.id,
        "role": t.role.as_str(),
        "name": t.name,
        "created_at": at(Some(t.created_at)),
        "expires_at": at(t.expires_at),
        "last_used_at": at(t.last_used_at),
        "revoked": t.revoked,
        "revoked_at": at(t.revoked_at),
    })
}

/// A request held for an officer: taken, nothing issued, the intake record where the officer finds it.
pub fn held_json(held: &HeldForReview) -> Value {
    json!({
        "status": "held",
        "code": HeldForReview::CODE.as_str(),
        "intake_id": held.intake_id,
        "reason": held.reason,
        "message": held.message(),
    })
}

/// The exit code of a domain error's kind — the one mapping of the command line: 0 done, 1 refused or invalid
/// (a "no" or bad input), 2 an operational error (retry or call the operator), 3 held for an officer.
pub fn exit_code(kind: Kind) -> u8 {
    match kind {
        Kind::Internal | Kind::Busy | Kind::Timeout => 2,
        Kind::Held => 3,
        _ => 1,
    }
}

/// Prints a domain error the way every command does (JSON on stdout with `json`, else a line on stderr) and
/// gives its exit code.
pub fn fail(json: bool, e: &Error) -> u8 {
    if json {
        println!(
            "{}",
            json!({ "error": { "code": e.code.as_str(), "message": e.message } })
        );
    } else {
        eprintln!("error {}: {}", e.code, e.message);
    }
    exit_code(e.kind())
}

/// A QR code as a black-on-white image, `scale` pixels a module, with the 4-module quiet zone.
pub fn qr_image(code: &qrcode::QrCode, scale: u32) -> image::GrayImage {
    let width = code.width() as u32;
    let colors = code.to_colors();
    let side = (width + 8) * scale;
    image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = ((x / scale) as i64 - 4, (y / scale) as i64 - 4);
        let dark = mx >= 0
            && my >= 0
            && (mx as u32) < width
            && (my as u32) < width
            && colors[(my as u32 * width + mx as u32) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    })
}

/// `text` as a QR code in a PNG, `scale` pixels a module.
pub fn qr_png(text: &str, scale: u32) -> anyhow::Result<Vec<u8>> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| anyhow::anyhow!("QR: {e}"))?;
    let mut png = Vec::new();
    qr_image(&code, scale).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}

/// The day `t` was in Việt Nam (UTC+7), dd/mm/yyyy.
pub fn day_in_viet_nam(t: time::OffsetDateTime) -> String {
    dd_mm_yyyy(t.to_offset(time::macros::offset!(+7)).date())
}

/// A day as people write it in Việt Nam, `dd/mm/yyyy`.
pub fn dd_mm_yyyy(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

/// The time and day a moment was in Việt Nam (UTC+7), `HH:MM dd/mm/yyyy`.
pub fn time_in_viet_nam(t: time::OffsetDateTime) -> String {
    let l = t.to_offset(time::macros::offset!(+7));
    format!("{:02}:{:02} {}", l.hour(), l.minute(), day_in_viet_nam(t))
}
