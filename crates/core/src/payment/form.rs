//! The form encoding VNPAY's hash is computed over, and a bounded decoder for query strings.
//!
//! VNPAY 2.1.0 signs `key=value` pairs whose values are URL-encoded the way PHP's `urlencode` does it
//! (the reference merchant code is PHP): ASCII letters, digits and `-` `_` `.` stay, a space becomes `+`,
//! every other byte of the UTF-8 text becomes `%XX` with upper-case hex. The hash is over that encoded
//! text, so an encoder that differs in one character (`%20` for a space, `~` or `*` left bare) computes
//! a different signature. The encoding is written out here because no URL crate promises exactly PHP's
//! set of unreserved characters.

/// Appends `text` encoded like PHP's `urlencode` to `out`.
pub(crate) fn php_urlencode_into(text: &str, out: &mut String) {
    use std::fmt::Write;
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

/// `text` encoded like PHP's `urlencode`.
#[cfg(test)]
pub(crate) fn php_urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    php_urlencode_into(text, &mut out);
    out
}

/// Why a query string could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormError {
    /// More than the allowed number of bytes.
    TooLong,
    /// More than the allowed number of `key=value` pairs.
    TooManyPairs,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8 once decoded.
    BadEncoding,
}

/// Decodes an `application/x-www-form-urlencoded` string (a URL's query without the `?`) into its pairs,
/// in order: `+` is a space, `%XX` a byte, the decoded bytes must be UTF-8. A pair without `=` has an
/// empty value; empty pairs (`a=1&&b=2`) are skipped. Refuses input over `max_len` bytes or with more
/// than `max_pairs` pairs before decoding anything. Duplicate names are kept; the caller decides.
pub(crate) fn decode_query(
    raw: &str,
    max_len: usize,
    max_pairs: usize,
) -> Result<Vec<(String, String)>, FormError> {
    if raw.len() > max_len {
        return Err(FormError::TooLong);
    }
    let segments = raw.split('&').filter(|s| !s.is_empty());
    if segments.clone().count() > max_pairs {
        return Err(FormError::TooManyPairs);
    }
    segments
        .map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            Ok((decode_component(key)?, decode_component(value)?))
        })
        .collect()
}

fn decode_component(text: &str) -> Result<String, FormError> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        rest = tail;
        match first {
            b'+' => bytes.push(b' '),
            b'%' => {
                let (hex, tail) = rest.split_at_checked(2).ok_or(FormError::BadEncoding)?;
                let hex = std::str::from_utf8(hex).map_err(|_| FormError::BadEncoding)?;
                // `from_str_radix` alone would accept a sign, so check both digits first.
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(FormError::BadEncoding);
                }
                bytes.push(u8::from_str_radix(hex, 16).map_err(|_| FormError::BadEncoding)?);
                rest = tail;
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).map_err(|_| FormError::BadEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_php_urlencode() {
        // Expected strings are PHP 8's urlencode() of the same input.
        assert_eq!(
            php_urlencode("Thanh toan don hang :5"),
            "Thanh+toan+don+hang+%3A5"
        );
        assert_eq!(
            php_urlencode("https://domainmerchant.vn/ReturnUrl"),
            "https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl"
        );
        assert_eq!(php_urlencode("a-b_c.d~e*f!g(h)"), "a-b_c.d%7Ee%2Af%21g%28h%29");
        assert_eq!(php_urlencode("Lệ phí"), "L%E1%BB%87+ph%C3%AD");
        assert_eq!(php_urlencode("100%&x=y+z"), "100%25%26x%3Dy%2Bz");
        assert_eq!(php_urlencode(""), "");
    }

    #[test]
    fn decodes_a_query_and_round_trips_the_encoding() {
        let pairs = decode_query(
            "vnp_OrderInfo=L%E1%BB%87+ph%C3%AD%3A+5&vnp_TxnRef=A1&flag&&x=",
            100,
            4,
        )
        .unwrap();
        assert_eq!(
            pairs,
            vec![
                ("vnp_OrderInfo".into(), "Lệ phí: 5".into()),
                ("vnp_TxnRef".into(), "A1".into()),
                ("flag".into(), String::new()),
                ("x".into(), String::new()),
            ]
        );
        for text in ["Lệ phí: 5", "a b+c%d&e=f", "~*!()'"] {
            let mut encoded = String::new();
            php_urlencode_into(text, &mut encoded);
            assert_eq!(decode_component(&encoded).unwrap(), text);
        }
        // A lower-case escape decodes too (it is the same byte).
        assert_eq!(decode_component("%3a%2F").unwrap(), ":/");
    }

    #[test]
    fn refuses_bad_escapes_and_oversized_input() {
        for bad in ["a=%", "a=%4", "a=%G1", "a=%+1", "a=%-1", "a=%C3", "a=%FF%FE"] {
            assert_eq!(decode_query(bad, 100, 4), Err(FormError::BadEncoding), "{bad}");
        }
        assert_eq!(decode_query("a=1&b=2&c=3", 100, 2), Err(FormError::TooManyPairs));
        assert_eq!(decode_query(&"a".repeat(101), 100, 2), Err(FormError::TooLong));
        assert_eq!(decode_query("", 100, 2), Ok(vec![]));
    }
}
