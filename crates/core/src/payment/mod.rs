//! Fees paid by QR: the codes a kiosk shows and the gateway protocol that confirms a payment.
//!
//! Two ways to take a fee, both pure code here (no I/O, no clock, no randomness: times and secrets are
//! parameters):
//!
//! - [`vietqr`]: a NAPAS VietQR payload (EMVCo merchant-presented QR) that any Vietnamese banking app can
//!   scan to push a transfer to the office's account. The QR only *asks* for money; showing it proves
//!   nothing, and neither does anything the citizen's browser or phone says afterwards.
//! - [`vnpay`]: VNPAY's payment gateway, version 2.1.0: a signed redirect URL to the gateway, and the
//!   gateway's signed server-to-server notification (IPN) that is the only proof of payment banso accepts,
//!   with the merchant's JSON answers to it.
//!
//! Security invariant: a fee counts as paid only through [`vnpay::verify_ipn`] (or a bank's equivalent
//! server-to-server notice), never through a return URL a browser visits or a QR that was shown.
//!
//! Everything here parses text an anonymous caller can send, so it refuses `unwrap`, `expect`, `panic!`
//! and unchecked indexing outside tests, and bounds every input before working on it.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod form;
pub mod vietqr;
pub mod vnpay;

/// Vietnamese letters with diacritics, each group followed by the ASCII letter it folds to.
/// Precomposed forms only; combining marks (decomposed input) are dropped separately.
const FOLDS: &[(&str, char)] = &[
    ("àáảãạăằắẳẵặâầấẩẫậ", 'a'),
    ("ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", 'A'),
    ("èéẻẽẹêềếểễệ", 'e'),
    ("ÈÉẺẼẸÊỀẾỂỄỆ", 'E'),
    ("ìíỉĩị", 'i'),
    ("ÌÍỈĨỊ", 'I'),
    ("òóỏõọôồốổỗộơờớởỡợ", 'o'),
    ("ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", 'O'),
    ("ùúủũụưừứửữự", 'u'),
    ("ÙÚỦŨỤƯỪỨỬỮỰ", 'U'),
    ("ỳýỷỹỵ", 'y'),
    ("ỲÝỶỸỴ", 'Y'),
    ("đ", 'd'),
    ("Đ", 'D'),
];

/// Writes Vietnamese text without diacritics ("tiếng Việt không dấu"), as bank transfer texts and VNPAY's
/// `vnp_OrderInfo` expect: `Lệ phí chứng thực` → `Le phi chung thuc`, `đ` → `d`, `Đ` → `D`.
///
/// Both precomposed letters (NFC, what keyboards produce) and base letters followed by combining marks
/// (NFD) are folded. Other characters are left as they are, so a caller that needs ASCII still checks
/// the result (the encoders in this module refuse anything else with a typed error).
pub fn strip_diacritics(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else if ('\u{0300}'..='\u{036F}').contains(&c) {
            // A combining mark: the base letter before it was already written.
        } else if let Some((_, base)) = FOLDS.iter().find(|(group, _)| group.contains(c)) {
            out.push(*base);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip_diacritics;

    #[test]
    fn folds_vietnamese_letters_to_ascii() {
        assert_eq!(
            strip_diacritics("Lệ phí chứng thực bản sao"),
            "Le phi chung thuc ban sao"
        );
        assert_eq!(strip_diacritics("Đặng Thị Ngọc Điệp"), "Dang Thi Ngoc Diep");
        assert_eq!(strip_diacritics("ủng hộ lũ lụt"), "ung ho lu lut");
        assert_eq!(strip_diacritics("Nguyễn Văn Ước, Ỷ Lan"), "Nguyen Van Uoc, Y Lan");
        // Every precomposed letter in the table folds to ASCII, whatever its case.
        for c in super::FOLDS.iter().flat_map(|(group, _)| group.chars()) {
            let folded = strip_diacritics(&c.to_string());
            assert!(folded.is_ascii() && folded.len() == 1, "{c} -> {folded}");
        }
        for c in super::FOLDS.iter().flat_map(|(group, _)| group.chars()) {
            let upper: String = c.to_uppercase().collect();
            assert_eq!(
                strip_diacritics(&upper),
                strip_diacritics(&c.to_string()).to_uppercase(),
                "{c}"
            );
        }
    }

    #[test]
    fn drops_combining_marks_of_decomposed_text() {
        // "Việt" typed as V, i, e, U+0323 (dot below), U+0302 (circumflex), t.
        assert_eq!(strip_diacritics("Vie\u{0323}\u{0302}t"), "Viet");
        assert_eq!(strip_diacritics("phi\u{0301}"), "phi");
    }

    #[test]
    fn leaves_other_characters_for_the_caller_to_refuse() {
        assert_eq!(strip_diacritics("50 000 ₫ – ok"), "50 000 ₫ – ok");
        assert_eq!(strip_diacritics(""), "");
    }
}
