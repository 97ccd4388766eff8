//! The IPN half of [`super`]: VNPAY's signed server-to-server notification of a payment's result, and
//! the merchant's JSON answers to it. The bounds and the signature rule are in the parent module's docs.

use super::{hash_data, hmac_sha512, is_token, DATE, GMT7, MAX_NAME, MAX_PARAMS, MAX_QUERY, MAX_VALUE};
use crate::payment::form::{decode_query, FormError};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// A payment notification whose signature checked. Only [`verify_ipn`] makes one, so its fields are
/// what VNPAY signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipn {
    tmn_code: String,
    txn_ref: String,
    amount_vnd: u64,
    response_code: String,
    transaction_status: String,
    transaction_no: String,
    bank_code: String,
    bank_tran_no: Option<String>,
    card_type: Option<String>,
    order_info: String,
    pay_date: OffsetDateTime,
}

impl Ipn {
    /// True only when VNPAY says the payment succeeded: `vnp_ResponseCode` and `vnp_TransactionStatus`
    /// both `00`. Anything else (`24` cancelled, `51` insufficient funds, …) is a payment that did not
    /// happen, which the merchant still records and acknowledges.
    pub fn is_paid(&self) -> bool {
        self.response_code == "00" && self.transaction_status == "00"
    }
    pub fn tmn_code(&self) -> &str {
        &self.tmn_code
    }
    /// The merchant's reference sent in the payment URL.
    pub fn txn_ref(&self) -> &str {
        &self.txn_ref
    }
    /// Whole VND (`vnp_Amount` / 100).
    pub fn amount_vnd(&self) -> u64 {
        self.amount_vnd
    }
    pub fn response_code(&self) -> &str {
        &self.response_code
    }
    pub fn transaction_status(&self) -> &str {
        &self.transaction_status
    }
    /// VNPAY's number for the transaction.
    pub fn transaction_no(&self) -> &str {
        &self.transaction_no
    }
    pub fn bank_code(&self) -> &str {
        &self.bank_code
    }
    /// The bank's number for the transaction, when VNPAY sends one.
    pub fn bank_tran_no(&self) -> Option<&str> {
        self.bank_tran_no.as_deref()
    }
    pub fn card_type(&self) -> Option<&str> {
        self.card_type.as_deref()
    }
    pub fn order_info(&self) -> &str {
        &self.order_info
    }
    /// When the payment happened, at GMT+7.
    pub fn pay_date(&self) -> OffsetDateTime {
        self.pay_date
    }
}

/// Why an IPN was not accepted. [`IpnError::answer`] gives the reply VNPAY expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpnError {
    #[error("the query is longer than {MAX_QUERY} bytes")]
    TooLong,
    #[error("more than {MAX_PARAMS} parameters")]
    TooManyParams,
    #[error("a parameter is not form-encoded UTF-8")]
    Encoding,
    #[error("a parameter name is not 1–32 letters, digits or '_'")]
    BadName,
    #[error("parameter {0} appears more than once")]
    Duplicate(String),
    #[error("parameter {0} is longer than {MAX_VALUE} bytes")]
    ValueTooLong(String),
    #[error("vnp_SecureHash is missing")]
    MissingSignature,
    #[error("vnp_SecureHash does not match the parameters")]
    BadSignature,
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{0} is malformed")]
    Malformed(&'static str),
}

impl IpnError {
    /// `97 Invalid signature` for a missing or wrong signature, `99 Unknown error` for the rest.
    pub fn answer(&self) -> IpnAnswer {
        match self {
            IpnError::MissingSignature | IpnError::BadSignature => IpnAnswer::InvalidSignature,
            _ => IpnAnswer::UnknownError,
        }
    }
}

/// Decodes a raw IPN query string (without `?`) within the bounds in the module docs, then
/// [`verify_ipn`]. Prefer this at the HTTP edge: it sees duplicate names that a map-based extractor
/// would silently drop.
pub fn verify_ipn_query(raw: &str, secret: &[u8]) -> Result<Ipn, IpnError> {
    let pairs = decode_query(raw, MAX_QUERY, MAX_PARAMS).map_err(|e| match e {
        FormError::TooLong => IpnError::TooLong,
        FormError::TooManyPairs => IpnError::TooManyParams,
        FormError::BadEncoding => IpnError::Encoding,
    })?;
    verify_ipn(&pairs, secret)
}

/// Checks an IPN's decoded parameters: bounds, then the signature in constant time, then the fields.
/// Parameters whose names do not start with `vnp_` are ignored by the signature (and by VNPAY).
pub fn verify_ipn<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)], secret: &[u8]) -> Result<Ipn, IpnError> {
    if pairs.len() > MAX_PARAMS {
        return Err(IpnError::TooManyParams);
    }
    let mut params = BTreeMap::new();
    for (name, value) in pairs {
        let (name, value) = (name.as_ref(), value.as_ref());
        if !is_token(name, 1, MAX_NAME, b"_") {
            return Err(IpnError::BadName);
        }
        if value.len() > MAX_VALUE {
            return Err(IpnError::ValueTooLong(name.to_owned()));
        }
        if params.insert(name, value).is_some() {
            return Err(IpnError::Duplicate(name.to_owned()));
        }
    }
    let sent = match params.remove("vnp_SecureHash") {
        Some(hash) if !hash.is_empty() => hash,
        _ => return Err(IpnError::MissingSignature),
    };
    let sent = hex::decode(sent).map_err(|_| IpnError::BadSignature)?;
    let signed = params
        .iter()
        .filter(|(name, _)| name.starts_with("vnp_") && **name != "vnp_SecureHashType")
        .map(|(name, value)| (*name, *value));
    let expected = hmac_sha512(secret, &hash_data(signed)).ok_or(IpnError::BadSignature)?;
    // Length is public (64 bytes); `ct_eq` compares the contents without an early exit.
    if !bool::from(expected.as_slice().ct_eq(&sent)) {
        return Err(IpnError::BadSignature);
    }
    read_fields(&params)
}

fn read_fields(params: &BTreeMap<&str, &str>) -> Result<Ipn, IpnError> {
    let get = |name: &'static str| params.get(name).copied().filter(|v| !v.is_empty());
    let need = |name: &'static str| get(name).ok_or(IpnError::Missing(name));
    let digits = |name: &'static str, min: usize, max: usize| {
        let value = need(name)?;
        if (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(value.to_owned())
        } else {
            Err(IpnError::Malformed(name))
        }
    };
    let token = |name: &'static str, max: usize| {
        let value = need(name)?;
        if is_token(value, 1, max, b"_-") {
            Ok(value.to_owned())
        } else {
            Err(IpnError::Malformed(name))
        }
    };
    let optional = |name: &'static str, max: usize| match get(name) {
        Some(value) if !is_token(value, 1, max, b"_-") => Err(IpnError::Malformed(name)),
        value => Ok(value.map(str::to_owned)),
    };
    let amount: u64 = digits("vnp_Amount", 1, 12)?
        .parse()
        .map_err(|_| IpnError::Malformed("vnp_Amount"))?;
    if amount == 0 || !amount.is_multiple_of(100) {
        return Err(IpnError::Malformed("vnp_Amount"));
    }
    let pay_date = time::PrimitiveDateTime::parse(&digits("vnp_PayDate", 14, 14)?, DATE)
        .map_err(|_| IpnError::Malformed("vnp_PayDate"))?
        .assume_offset(GMT7);
    Ok(Ipn {
        tmn_code: token("vnp_TmnCode", 20)?,
        txn_ref: token("vnp_TxnRef", 100)?,
        amount_vnd: amount / 100,
        response_code: digits("vnp_ResponseCode", 2, 2)?,
        transaction_status: digits("vnp_TransactionStatus", 2, 2)?,
        transaction_no: digits("vnp_TransactionNo", 1, 15)?,
        bank_code: token("vnp_BankCode", 20)?,
        bank_tran_no: optional("vnp_BankTranNo", 255)?,
        card_type: optional("vnp_CardType", 20)?,
        order_info: need("vnp_OrderInfo")?.to_owned(),
        pay_date,
    })
}

/// What the merchant's records say about the order an IPN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// No order has this reference.
    Unknown,
    /// Waiting for the gateway's result.
    Pending { amount_vnd: u64 },
    /// A result was already recorded (paid or failed).
    Settled { amount_vnd: u64 },
}

/// The merchant's reply to a verified IPN, in the order VNPAY's reference code checks: unknown order,
/// wrong amount, already settled, else `00`. On `00` the caller records the result — paid when
/// [`Ipn::is_paid`], failed otherwise — in the same transaction that reads the order's state.
pub fn answer_for(ipn: &Ipn, order: OrderState) -> IpnAnswer {
    match order {
        OrderState::Unknown => IpnAnswer::OrderNotFound,
        OrderState::Pending { amount_vnd } | OrderState::Settled { amount_vnd }
            if amount_vnd != ipn.amount_vnd =>
        {
            IpnAnswer::InvalidAmount
        }
        OrderState::Settled { .. } => IpnAnswer::OrderAlreadyConfirmed,
        OrderState::Pending { .. } => IpnAnswer::ConfirmSuccess,
    }
}

/// The merchant's answers to an IPN, sent as HTTP 200 with a JSON body ([`IpnAnswer::json`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpnAnswer {
    /// `00`: recorded (whether or not the payment succeeded).
    ConfirmSuccess,
    /// `01`
    OrderNotFound,
    /// `02`: a result was recorded before; VNPAY stops retrying.
    OrderAlreadyConfirmed,
    /// `04`
    InvalidAmount,
    /// `97`
    InvalidSignature,
    /// `99`
    UnknownError,
}

impl IpnAnswer {
    pub fn rsp_code(self) -> &'static str {
        match self {
            IpnAnswer::ConfirmSuccess => "00",
            IpnAnswer::OrderNotFound => "01",
            IpnAnswer::OrderAlreadyConfirmed => "02",
            IpnAnswer::InvalidAmount => "04",
            IpnAnswer::InvalidSignature => "97",
            IpnAnswer::UnknownError => "99",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            IpnAnswer::ConfirmSuccess => "Confirm Success",
            IpnAnswer::OrderNotFound => "Order not found",
            IpnAnswer::OrderAlreadyConfirmed => "Order already confirmed",
            IpnAnswer::InvalidAmount => "Invalid amount",
            IpnAnswer::InvalidSignature => "Invalid signature",
            IpnAnswer::UnknownError => "Unknown error",
        }
    }
    /// True when VNPAY stops retrying on this answer (`00`, `02`).
    pub fn ends_retries(self) -> bool {
        matches!(self, IpnAnswer::ConfirmSuccess | IpnAnswer::OrderAlreadyConfirmed)
    }
    /// The body: `{"RspCode":"00","Message":"Confirm Success"}`.
    pub fn json(self) -> String {
        format!(
            r#"{{"RspCode":"{}","Message":"{}"}}"#,
            self.rsp_code(),
            self.message()
        )
    }
}

#[cfg(test)]
#[path = "vnpay_ipn_tests.rs"]
mod tests;
