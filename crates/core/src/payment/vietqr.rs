//! VietQR: NAPAS's profile of the EMVCo merchant-presented QR, which every Vietnamese banking app scans
//! to push a transfer ("chuyển khoản") to an account.
//!
//! A payload is a flat list of TLV fields — a two-digit ID, a two-digit length, then that many
//! characters — some of which hold TLV lists of their own. banso writes, in this order:
//!
//! | ID | value |
//! |----|-------|
//! | 00 | payload format `01` |
//! | 01 | `11` static (reusable, amount optional), `12` dynamic (one payment, amount fixed) |
//! | 38 | NAPAS: {00 GUID `A000000727`, 01 {00 acquirer BIN, 01 account or card}, 02 `QRIBFTTA`/`QRIBFTTC`} |
//! | 53 | currency `704` (VND) |
//! | 54 | amount, whole VND |
//! | 58 | country `VN` |
//! | 62 | additional data: {05 reference label, 08 purpose — banso puts the request's reference here} |
//! | 63 | CRC-16/CCITT-FALSE over everything before it, `6304` included, four upper-case hex digits |
//!
//! Bounds: every value is ASCII and at most 99 characters (the length has two digits); the BIN has 6
//! digits, the account 1–19 letters or digits, the amount 1–13 digits; the reference label and purpose at
//! most 25 characters each (EMVCo's limit for the fields of ID 62), printable ASCII — use
//! [`super::strip_diacritics`] first. [`parse`] reads at most [`MAX_PAYLOAD`] characters and checks the
//! CRC and the TLV structure without panicking; it ignores IDs banso does not write (merchant name,
//! bill number, …) after checking their framing.
//!
//! A VietQR asks for money and proves nothing: payment is confirmed only by the bank's or gateway's
//! server-to-server notice.

/// The NAPAS application identifier in ID 38.
pub const NAPAS_GUID: &str = "A000000727";
/// The longest payload [`parse`] reads (EMVCo's QR payloads are at most 512 characters).
pub const MAX_PAYLOAD: usize = 512;
/// The largest amount a 13-digit field holds.
pub const MAX_AMOUNT: u64 = 9_999_999_999_999;
/// EMVCo's limit for each field of the additional data (ID 62).
pub const MAX_ADDITIONAL: usize = 25;

/// Whether a QR is for one payment or reusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initiation {
    /// `11`: reusable; the payer may type the amount.
    Static,
    /// `12`: one payment of a fixed amount.
    Dynamic,
}

/// What the number in ID 38/01/01 is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `QRIBFTTA`: 24/7 inter-bank transfer to an account.
    ToAccount,
    /// `QRIBFTTC`: 24/7 inter-bank transfer to a card.
    ToCard,
}

impl Service {
    fn code(self) -> &'static str {
        match self {
            Service::ToAccount => "QRIBFTTA",
            Service::ToCard => "QRIBFTTC",
        }
    }
}

/// The fields of a VietQR payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VietQr {
    pub initiation: Initiation,
    /// The receiving bank's 6-digit BIN (e.g. `970415` VietinBank).
    pub bin: String,
    /// The receiving account (or card) number.
    pub account: String,
    pub service: Service,
    /// Whole VND; required for a dynamic QR.
    pub amount: Option<u64>,
    /// ID 62/05.
    pub reference_label: Option<String>,
    /// ID 62/08: the transfer text the payer's bank passes on; banso puts the request's reference here.
    pub purpose: Option<String>,
}

/// Why a payload could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the bank BIN must have 6 digits")]
    Bin,
    #[error("the account number must have 1 to 19 letters or digits")]
    Account,
    #[error("the amount must be 1 to {MAX_AMOUNT} VND")]
    Amount,
    #[error("a dynamic QR needs an amount")]
    MissingAmount,
    #[error("{0} must be printable ASCII (write Vietnamese without diacritics)")]
    NotAscii(&'static str),
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{field} has {len} characters; at most {max} fit")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("the payload is not a well-formed TLV list: {0}")]
    Structure(&'static str),
    #[error("field {0} is missing")]
    Missing(&'static str),
    #[error("field {0} has a value VietQR does not allow")]
    Unexpected(&'static str),
    #[error("CRC mismatch: the payload is damaged or was altered")]
    Crc,
}

/// CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR
/// (the `crc` crate calls it `CRC_16_IBM_3740`). Bitwise: payloads are a few hundred bytes.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Appends one TLV field; the value must already be checked to fit.
fn push_field(out: &mut String, id: &str, value: &str) -> Result<(), QrError> {
    if value.len() > 99 {
        return Err(QrError::TooLong {
            field: "a field",
            len: value.len(),
            max: 99,
        });
    }
    out.push_str(id);
    out.push_str(&format!("{:02}", value.len()));
    out.push_str(value);
    Ok(())
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), QrError> {
    if !text.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
        return Err(QrError::NotAscii(field));
    }
    if text.is_empty() {
        return Err(QrError::Empty(field));
    }
    if text.len() > max {
        return Err(QrError::TooLong {
            field,
            len: text.len(),
            max,
        });
    }
    Ok(())
}

impl VietQr {
    /// Checks every field against the bounds in the module docs.
    pub fn validate(&self) -> Result<(), QrError> {
        if self.bin.len() != 6 || !self.bin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QrError::Bin);
        }
        if !(1..=19).contains(&self.account.len()) || !self.account.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(QrError::Account);
        }
        match (self.initiation, self.amount) {
            (_, Some(amount)) if !(1..=MAX_AMOUNT).contains(&amount) => return Err(QrError::Amount),
            (Initiation::Dynamic, None) => return Err(QrError::MissingAmount),
            _ => {}
        }
        if let Some(label) = &self.reference_label {
            check_text("the reference label", label, MAX_ADDITIONAL)?;
        }
        if let Some(purpose) = &self.purpose {
            check_text("the purpose", purpose, MAX_ADDITIONAL)?;
        }
        Ok(())
    }

    /// The payload text to put in the QR symbol (byte mode), CRC included.
    pub fn payload(&self) -> Result<String, QrError> {
        self.validate()?;
        let mut account = String::new();
        push_field(&mut account, "00", &self.bin)?;
        push_field(&mut account, "01", &self.account)?;
        let mut napas = String::new();
        push_field(&mut napas, "00", NAPAS_GUID)?;
        push_field(&mut napas, "01", &account)?;
        push_field(&mut napas, "02", self.service.code())?;

        let mut out = String::with_capacity(160);
        push_field(&mut out, "00", "01")?;
        let initiation = match self.initiation {
            Initiation::Static => "11",
            Initiation::Dynamic => "12",
        };
        push_field(&mut out, "01", initiation)?;
        push_field(&mut out, "38", &napas)?;
        push_field(&mut out, "53", "704")?;
        if let Some(amount) = self.amount {
            push_field(&mut out, "54", &amount.to_string())?;
        }
        push_field(&mut out, "58", "VN")?;
        let mut additional = String::new();
        if let Some(label) = &self.reference_label {
            push_field(&mut additional, "05", label)?;
        }
        if let Some(purpose) = &self.purpose {
            push_field(&mut additional, "08", purpose)?;
        }
        if !additional.is_empty() {
            push_field(&mut out, "62", &additional)?;
        }
        out.push_str("6304");
        let crc = crc16_ccitt_false(out.as_bytes());
        out.push_str(&format!("{crc:04X}"));
        Ok(out)
    }
}

/// Splits a TLV list into `(id, value)` pairs. Every slice is checked, so malformed input is an error.
fn fields(mut text: &str) -> Result<Vec<(&str, &str)>, QrError> {
    let mut out = Vec::new();
    while !text.is_empty() {
        let (head, rest) = text
            .split_at_checked(4)
            .ok_or(QrError::Structure("a field is cut short"))?;
        if !head.bytes().all(|b| b.is_ascii_digit()) {
            return Err(QrError::Structure("an ID or length is not two digits"));
        }
        let (id, len) = head
            .split_at_checked(2)
            .ok_or(QrError::Structure("a field is cut short"))?;
        let len: usize = len
            .parse()
            .map_err(|_| QrError::Structure("a length is not a number"))?;
        let (value, rest) = rest
            .split_at_checked(len)
            .ok_or(QrError::Structure("a value runs past the end"))?;
        if out.iter().any(|(seen, _)| *seen == id) {
            return Err(QrError::Structure("an ID appears twice"));
        }
        out.push((id, value));
        text = rest;
    }
    Ok(out)
}

fn find<'a>(list: &[(&str, &'a str)], id: &str) -> Option<&'a str> {
    list.iter().find(|(seen, _)| *seen == id).map(|(_, value)| *value)
}

fn require<'a>(list: &[(&str, &'a str)], id: &str, name: &'static str) -> Result<&'a str, QrError> {
    find(list, id).ok_or(QrError::Missing(name))
}

/// Reads a VietQR payload: checks its length, that it is ASCII, the CRC in ID 63 (which must come last),
/// the TLV framing of the whole payload and of IDs 38 and 62, and then the fields as [`VietQr::validate`]
/// does. IDs that banso does not write are skipped once their framing is checked.
pub fn parse(payload: &str) -> Result<VietQr, QrError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(QrError::TooLong {
            field: "the payload",
            len: payload.len(),
            max: MAX_PAYLOAD,
        });
    }
    if !payload.is_ascii() {
        return Err(QrError::NotAscii("the payload"));
    }
    let split = payload
        .len()
        .checked_sub(4)
        .ok_or(QrError::Structure("too short"))?;
    let (signed, crc_text) = payload
        .split_at_checked(split)
        .ok_or(QrError::Structure("too short"))?;
    if !signed.ends_with("6304") || !crc_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(QrError::Structure(
            "the payload does not end with a CRC field (6304 and four hex digits)",
        ));
    }
    let crc = u16::from_str_radix(crc_text, 16).map_err(|_| QrError::Crc)?;
    if crc != crc16_ccitt_false(signed.as_bytes()) {
        return Err(QrError::Crc);
    }
    let top = fields(payload)?;
    if top.first().map(|(id, _)| *id) != Some("00") || top.last() != Some(&("63", crc_text)) {
        return Err(QrError::Structure(
            "the payload must start with ID 00 and end with ID 63 of length 4",
        ));
    }
    if require(&top, "00", "00 payload format")? != "01" {
        return Err(QrError::Unexpected("00 payload format"));
    }
    let initiation = match require(&top, "01", "01 initiation")? {
        "11" => Initiation::Static,
        "12" => Initiation::Dynamic,
        _ => return Err(QrError::Unexpected("01 initiation")),
    };
    if require(&top, "53", "53 currency")? != "704" {
        return Err(QrError::Unexpected("53 currency"));
    }
    if require(&top, "58", "58 country")? != "VN" {
        return Err(QrError::Unexpected("58 country"));
    }
    let napas = fields(require(&top, "38", "38 NAPAS account")?)?;
    if require(&napas, "00", "38/00 GUID")? != NAPAS_GUID {
        return Err(QrError::Unexpected("38/00 GUID"));
    }
    let service = match require(&napas, "02", "38/02 service")? {
        "QRIBFTTA" => Service::ToAccount,
        "QRIBFTTC" => Service::ToCard,
        _ => return Err(QrError::Unexpected("38/02 service")),
    };
    let beneficiary = fields(require(&napas, "01", "38/01 beneficiary")?)?;
    let amount = match find(&top, "54") {
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) && (1..=13).contains(&text.len()) => {
            Some(text.parse().map_err(|_| QrError::Amount)?)
        }
        Some(_) => return Err(QrError::Amount),
        None => None,
    };
    let additional = match find(&top, "62") {
        Some(text) => fields(text)?,
        None => Vec::new(),
    };
    let qr = VietQr {
        initiation,
        bin: require(&beneficiary, "00", "38/01/00 BIN")?.to_owned(),
        account: require(&beneficiary, "01", "38/01/01 account")?.to_owned(),
        service,
        amount,
        reference_label: find(&additional, "05").map(str::to_owned),
        purpose: find(&additional, "08").map(str::to_owned),
    };
    qr.validate()?;
    Ok(qr)
}

#[cfg(test)]
#[path = "vietqr_tests.rs"]
mod tests;
