//! VNPAY's payment gateway, API version 2.1.0: the signed payment URL and the signed IPN.
//!
//! The protocol, from VNPAY's integration guide (sandbox.vnpayment.vn/apis/docs) and its reference
//! merchant code:
//!
//! 1. The merchant sends the citizen's browser to `https://…/paymentv2/vpcpay.html?…` with `vnp_*`
//!    parameters ([`payment_url`]); the amount is VND × 100, dates are `yyyyMMddHHmmss` in GMT+7.
//! 2. After the payment VNPAY calls the merchant's IPN URL server-to-server, a GET with `vnp_*`
//!    parameters, and also redirects the browser to `vnp_ReturnUrl` with the same parameters. Only the
//!    IPN counts ([`verify_ipn_query`], [`verify_ipn`]); the return is for showing a page. The merchant
//!    answers the IPN with HTTP 200 and JSON `{"RspCode":"00","Message":"Confirm Success"}` or another
//!    [`IpnAnswer`]; VNPAY retries the IPN while the answer is neither `00` nor `02`.
//! 3. The signature, both ways: take the `vnp_*` parameters except `vnp_SecureHash` and
//!    `vnp_SecureHashType`, leave out empty values, sort by name (byte order), join `name=value` with `&`
//!    with each value encoded like PHP's `urlencode` (space as `+`; see `form`), HMAC-SHA512 that text
//!    under the merchant's hash secret, and send it as hex in `vnp_SecureHash` (either case is accepted).
//!    Leaving empty values out follows VNPAY's Java and .NET reference code; its PHP code would sign
//!    `name=` instead. banso never sends an empty value, so this matters only for an IPN that carries one.
//!
//! Bounds on what an anonymous caller can send to the IPN endpoint, checked before any hashing: at most
//! [`MAX_QUERY`] bytes of query, [`MAX_PARAMS`] parameters, names of at most 32 characters from
//! `[A-Za-z0-9_]`, values of at most [`MAX_VALUE`] bytes, and no name twice. An [`Ipn`] exists only when
//! its signature checked, so code that holds one may trust its fields.

use super::form::php_urlencode_into;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use time::{
    format_description::BorrowedFormatItem,
    macros::{format_description, offset},
    OffsetDateTime, UtcOffset,
};

/// The API version banso speaks.
pub const VERSION: &str = "2.1.0";
/// Most parameters an IPN may carry (VNPAY sends about a dozen).
pub const MAX_PARAMS: usize = 32;
/// Longest value of one parameter, in bytes once decoded (VNPAY's longest field, `vnp_OrderInfo`, is 255).
pub const MAX_VALUE: usize = 255;
/// Longest raw query string [`verify_ipn_query`] reads.
pub const MAX_QUERY: usize = 8 * 1024;
/// The largest amount: `vnp_Amount` (VND × 100) has at most 12 digits.
pub const MAX_AMOUNT_VND: u64 = 9_999_999_999;
const MAX_NAME: usize = 32;
/// `yyyyMMddHHmmss`, VNPAY's date format.
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day][hour][minute][second]");

/// VNPAY's dates are in Vietnam's time, GMT+7, without a zone in the text.
const GMT7: UtcOffset = offset!(+7);

/// The language of VNPAY's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Vn,
    En,
}

/// What a payment URL asks for. Times are parameters: the core reads no clock.
#[derive(Debug, Clone)]
pub struct PaymentRequest<'a> {
    /// The merchant's terminal code, 8 letters or digits.
    pub tmn_code: &'a str,
    /// Whole VND, 1 to [`MAX_AMOUNT_VND`].
    pub amount_vnd: u64,
    /// The merchant's unique reference for this payment, 1–100 letters or digits.
    pub txn_ref: &'a str,
    /// What is paid for, 1–255 characters: letters, digits, space and `-_.,:/#` only (Vietnamese
    /// without diacritics, see [`super::strip_diacritics`]); VNPAY asks for no special characters, and
    /// this set is encoded alike by every reference encoder (PHP, Java, .NET), so signatures agree.
    pub order_info: &'a str,
    /// VNPAY's goods category, e.g. `other` or `billpayment`.
    pub order_type: &'a str,
    /// Where VNPAY sends the browser back: an absolute http(s) URL of 10–255 characters.
    pub return_url: &'a str,
    /// The payer's IP address (v4 or v6) as the merchant saw it.
    pub ip_addr: &'a str,
    pub create_date: OffsetDateTime,
    /// When the payment page stops accepting payment; after `create_date`.
    pub expire_date: OffsetDateTime,
    pub locale: Locale,
    /// A payment method or bank to preselect (e.g. `VNPAYQR`, `VNBANK`, `NCB`); `None` lets the payer choose.
    pub bank_code: Option<&'a str>,
}

/// Why a payment URL was not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the gateway URL must be an absolute http(s) URL without query or fragment")]
    BaseUrl,
    #[error("{0} is not valid for VNPAY")]
    Field(&'static str),
    #[error("the amount must be 1 to {MAX_AMOUNT_VND} VND")]
    Amount,
    #[error("the expiry must come after the creation time, both within years 1000–9999")]
    Dates,
    #[error("the hash secret is empty")]
    Secret,
}

fn is_url(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len())
        && (text.starts_with("https://") || text.starts_with("http://"))
        && text.bytes().all(|b| b.is_ascii_graphic())
}

fn is_token(text: &str, min: usize, max: usize, extra: &[u8]) -> bool {
    (min..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn check(ok: bool, field: &'static str) -> Result<(), RequestError> {
    if ok {
        Ok(())
    } else {
        Err(RequestError::Field(field))
    }
}

fn format_date(at: OffsetDateTime) -> Result<String, RequestError> {
    at.to_offset(GMT7).format(DATE).map_err(|_| RequestError::Dates)
}

/// Builds the signed URL that sends the payer to VNPAY's payment page at `base`
/// (e.g. `https://sandbox.vnpayment.vn/paymentv2/vpcpay.html`). Every field is checked first.
pub fn payment_url(base: &str, request: &PaymentRequest<'_>, secret: &[u8]) -> Result<String, RequestError> {
    if !is_url(base, 10, 2048) || base.contains(['?', '#']) {
        return Err(RequestError::BaseUrl);
    }
    if secret.is_empty() {
        return Err(RequestError::Secret);
    }
    check(is_token(request.tmn_code, 8, 8, b""), "vnp_TmnCode")?;
    check(is_token(request.txn_ref, 1, 100, b""), "vnp_TxnRef")?;
    check(is_token(request.order_info, 1, 255, b" -_.,:/#"), "vnp_OrderInfo")?;
    check(is_token(request.order_type, 1, 100, b"_"), "vnp_OrderType")?;
    check(is_url(request.return_url, 10, 255), "vnp_ReturnUrl")?;
    check(request.ip_addr.parse::<std::net::IpAddr>().is_ok(), "vnp_IpAddr")?;
    if let Some(bank) = request.bank_code {
        check(is_token(bank, 3, 20, b""), "vnp_BankCode")?;
    }
    if !(1..=MAX_AMOUNT_VND).contains(&request.amount_vnd) {
        return Err(RequestError::Amount);
    }
    let amount = request.amount_vnd.checked_mul(100).ok_or(RequestError::Amount)?;
    if request.expire_date <= request.create_date {
        return Err(RequestError::Dates);
    }
    let locale = match request.locale {
        Locale::Vn => "vn",
        Locale::En => "en",
    };
    let mut params: Vec<(&str, String)> = vec![
        ("vnp_Version", VERSION.to_owned()),
        ("vnp_Command", "pay".to_owned()),
        ("vnp_TmnCode", request.tmn_code.to_owned()),
        ("vnp_Amount", amount.to_string()),
        ("vnp_CurrCode", "VND".to_owned()),
        ("vnp_TxnRef", request.txn_ref.to_owned()),
        ("vnp_OrderInfo", request.order_info.to_owned()),
        ("vnp_OrderType", request.order_type.to_owned()),
        ("vnp_Locale", locale.to_owned()),
        ("vnp_ReturnUrl", request.return_url.to_owned()),
        ("vnp_IpAddr", request.ip_addr.to_owned()),
        ("vnp_CreateDate", format_date(request.create_date)?),
        ("vnp_ExpireDate", format_date(request.expire_date)?),
    ];
    if let Some(bank) = request.bank_code {
        params.push(("vnp_BankCode", bank.to_owned()));
    }
    params.sort_by(|a, b| a.0.cmp(b.0));
    let query = hash_data(params.iter().map(|(k, v)| (*k, v.as_str())));
    let hash = hex::encode(hmac_sha512(secret, &query).ok_or(RequestError::Secret)?);
    Ok(format!("{base}?{query}&vnp_SecureHash={hash}"))
}

/// The text VNPAY signs: `name=value` pairs, already sorted by name, values PHP-urlencoded, empty values
/// left out, joined by `&`. The payment URL's query is this same text.
pub(crate) fn hash_data<'a>(sorted: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (name, value) in sorted.filter(|(_, value)| !value.is_empty()) {
        if !out.is_empty() {
            out.push('&');
        }
        php_urlencode_into(name, &mut out);
        out.push('=');
        php_urlencode_into(value, &mut out);
    }
    out
}

/// HMAC-SHA512 of `data` under `secret`; `None` only if the MAC refused the key (HMAC takes any length).
pub(crate) fn hmac_sha512(secret: &[u8], data: &str) -> Option<[u8; 64]> {
    let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(secret).ok()?;
    mac.update(data.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

#[path = "vnpay_ipn.rs"]
mod ipn;
pub use ipn::{answer_for, verify_ipn, verify_ipn_query, Ipn, IpnAnswer, IpnError, OrderState};

#[cfg(test)]
#[path = "vnpay_tests.rs"]
mod tests;
