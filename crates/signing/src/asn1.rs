//! Minimal, panic-free DER reading and writing for the CMS and X.509 pieces this crate handles.
//!
//! Reading keeps the raw encodings (needed to verify signatures over exactly the bytes that were signed);
//! writing builds definite-length DER with `SET OF` contents sorted as DER requires.

pub const TAG_BOOLEAN: u8 = 0x01;
pub const TAG_INTEGER: u8 = 0x02;
pub const TAG_BIT_STRING: u8 = 0x03;
pub const TAG_OCTET_STRING: u8 = 0x04;
pub const TAG_NULL: u8 = 0x05;
pub const TAG_OID: u8 = 0x06;
pub const TAG_UTF8_STRING: u8 = 0x0c;
pub const TAG_PRINTABLE_STRING: u8 = 0x13;
pub const TAG_T61_STRING: u8 = 0x14;
pub const TAG_IA5_STRING: u8 = 0x16;
pub const TAG_UTC_TIME: u8 = 0x17;
pub const TAG_GENERALIZED_TIME: u8 = 0x18;
pub const TAG_UNIVERSAL_STRING: u8 = 0x1c;
pub const TAG_BMP_STRING: u8 = 0x1e;
pub const TAG_SEQUENCE: u8 = 0x30;
pub const TAG_SET: u8 = 0x31;

/// Context-specific constructed tag `[n]`.
pub const fn ctx_cons(n: u8) -> u8 {
    0xa0 | (n & 0x1f)
}

/// Context-specific primitive tag `[n]`.
pub const fn ctx_prim(n: u8) -> u8 {
    0x80 | (n & 0x1f)
}

/// Object identifiers, as the content bytes of their DER encoding.
pub mod oid {
    pub const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    pub const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    pub const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    pub const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    pub const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
    pub const ATTR_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
    pub const ATTR_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
    pub const ATTR_SIGNING_CERTIFICATE_V2: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x2f];
    pub const ECDSA_WITH_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    pub const ECDSA_WITH_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
    pub const ECDSA_WITH_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub const CURVE_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub const CURVE_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    pub const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub const SHA256_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
    pub const SHA384_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
    pub const SHA512_WITH_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
    pub const EXT_SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
    pub const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    pub const EXT_AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
    pub const EXT_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    pub const AT_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    pub const AT_SERIAL_NUMBER: &[u8] = &[0x55, 0x04, 0x05];
    pub const AT_COUNTRY: &[u8] = &[0x55, 0x04, 0x06];
    pub const AT_LOCALITY: &[u8] = &[0x55, 0x04, 0x07];
    pub const AT_STATE: &[u8] = &[0x55, 0x04, 0x08];
    pub const AT_STREET: &[u8] = &[0x55, 0x04, 0x09];
    pub const AT_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
    pub const AT_ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
    pub const AT_TITLE: &[u8] = &[0x55, 0x04, 0x0c];
    pub const AT_GIVEN_NAME: &[u8] = &[0x55, 0x04, 0x2a];
    pub const AT_SURNAME: &[u8] = &[0x55, 0x04, 0x04];
    pub const AT_EMAIL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01];
    pub const AT_UID: &[u8] = &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01];
}

/// One decoded TLV: its tag, its content and its whole encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads one definite-length DER TLV from the start of `input`, returning it and the rest.
/// Only low tag numbers (< 31) are supported; indefinite lengths are refused.
pub fn read_tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, mut rest) = after_tag.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        let mut len = 0usize;
        for &b in bytes {
            len = len.checked_mul(256)?.checked_add(usize::from(b))?;
        }
        len
    };
    let header = input.len().checked_sub(rest.len())?;
    let (value, after) = rest.split_at_checked(len)?;
    let raw = input.get(..header.checked_add(len)?)?;
    Some((Tlv { tag, value, raw }, after))
}

/// Sequential reader over the content of a constructed value.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(content: &'a [u8]) -> Self {
        Self { rest: content }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next TLV, whatever its tag.
    pub fn any(&mut self) -> Option<Tlv<'a>> {
        let (tlv, rest) = read_tlv(self.rest)?;
        self.rest = rest;
        Some(tlv)
    }

    /// The next TLV, which must have `tag`.
    pub fn expect(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag()? != tag {
            return None;
        }
        self.any()
    }

    /// The next TLV if it has `tag`; nothing consumed otherwise.
    pub fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        if self.peek_tag() == Some(tag) {
            self.any()
        } else {
            None
        }
    }
}

/// Parses the content of an INTEGER as a small non-negative number.
pub fn small_uint(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 8 || value.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Appends the DER length octets of `len`.
pub fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        // Fits in the short form by the branch condition.
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
}

/// Appends one TLV.
pub fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// One TLV as a new vector.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    push_tlv(&mut out, tag, content);
    out
}

/// A constructed value whose content is the concatenation of `parts`.
pub fn constructed(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// A `SEQUENCE` of the already encoded `parts`.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    constructed(TAG_SEQUENCE, parts)
}

/// A `SET OF` (or implicitly tagged set, with `tag`) of encoded elements, sorted as DER requires.
pub fn set_of(tag: u8, mut elements: Vec<Vec<u8>>) -> Vec<u8> {
    elements.sort();
    tlv(tag, &elements.concat())
}

/// An `OBJECT IDENTIFIER` from its content bytes.
pub fn oid_tlv(oid: &[u8]) -> Vec<u8> {
    tlv(TAG_OID, oid)
}

/// An `AlgorithmIdentifier` without parameters.
pub fn algorithm(oid: &[u8]) -> Vec<u8> {
    sequence(&[&oid_tlv(oid)])
}

/// An `AlgorithmIdentifier` with NULL parameters (RSA).
pub fn algorithm_null(oid: &[u8]) -> Vec<u8> {
    sequence(&[&oid_tlv(oid), &[TAG_NULL, 0]])
}

/// An `INTEGER` from a non-negative number.
pub fn uint(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count().min(7);
    let mut content = Vec::with_capacity(9);
    let significant = bytes.get(skip..).unwrap_or_default();
    if significant.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(significant);
    tlv(TAG_INTEGER, &content)
}

/// UTCTime or GeneralizedTime as a Unix timestamp (legacy, for the modules not yet on x509-cert).
pub fn parse_time(t: Tlv<'_>) -> Option<i64> {
    let text = std::str::from_utf8(t.value).ok()?;
    let full = match t.tag {
        TAG_UTC_TIME => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            format!("{}{}", if yy >= 50 { 19 } else { 20 }, text)
        }
        TAG_GENERALIZED_TIME => text.to_string(),
        _ => return None,
    };
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]Z");
    time::PrimitiveDateTime::parse(&full, &format)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_oid(arcs: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut all = vec![arcs[0] * 40 + arcs[1]];
        all.extend_from_slice(&arcs[2..]);
        for arc in all {
            let mut chunk = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                chunk.push(((rest & 0x7f) as u8) | 0x80);
                rest >>= 7;
            }
            chunk.reverse();
            out.extend(chunk);
        }
        out
    }

    #[test]
    fn oid_constants_match_their_dotted_form() {
        let cases: &[(&[u8], &[u64])] = &[
            (oid::SIGNED_DATA, &[1, 2, 840, 113549, 1, 7, 2]),
            (oid::DATA, &[1, 2, 840, 113549, 1, 7, 1]),
            (oid::SHA256, &[2, 16, 840, 1, 101, 3, 4, 2, 1]),
            (oid::SHA384, &[2, 16, 840, 1, 101, 3, 4, 2, 2]),
            (oid::SHA512, &[2, 16, 840, 1, 101, 3, 4, 2, 3]),
            (oid::ATTR_CONTENT_TYPE, &[1, 2, 840, 113549, 1, 9, 3]),
            (oid::ATTR_MESSAGE_DIGEST, &[1, 2, 840, 113549, 1, 9, 4]),
            (
                oid::ATTR_SIGNING_CERTIFICATE_V2,
                &[1, 2, 840, 113549, 1, 9, 16, 2, 47],
            ),
            (oid::ECDSA_WITH_SHA256, &[1, 2, 840, 10045, 4, 3, 2]),
            (oid::ECDSA_WITH_SHA384, &[1, 2, 840, 10045, 4, 3, 3]),
            (oid::ECDSA_WITH_SHA512, &[1, 2, 840, 10045, 4, 3, 4]),
            (oid::EC_PUBLIC_KEY, &[1, 2, 840, 10045, 2, 1]),
            (oid::CURVE_P256, &[1, 2, 840, 10045, 3, 1, 7]),
            (oid::CURVE_P384, &[1, 3, 132, 0, 34]),
            (oid::RSA_ENCRYPTION, &[1, 2, 840, 113549, 1, 1, 1]),
            (oid::SHA256_WITH_RSA, &[1, 2, 840, 113549, 1, 1, 11]),
            (oid::SHA384_WITH_RSA, &[1, 2, 840, 113549, 1, 1, 12]),
            (oid::SHA512_WITH_RSA, &[1, 2, 840, 113549, 1, 1, 13]),
            (oid::EXT_SUBJECT_KEY_ID, &[2, 5, 29, 14]),
            (oid::EXT_KEY_USAGE, &[2, 5, 29, 15]),
            (oid::EXT_AUTHORITY_KEY_ID, &[2, 5, 29, 35]),
            (oid::EXT_BASIC_CONSTRAINTS, &[2, 5, 29, 19]),
            (oid::AT_COMMON_NAME, &[2, 5, 4, 3]),
            (oid::AT_ORGANIZATION, &[2, 5, 4, 10]),
            (oid::AT_COUNTRY, &[2, 5, 4, 6]),
            (oid::AT_EMAIL, &[1, 2, 840, 113549, 1, 9, 1]),
            (oid::AT_UID, &[0, 9, 2342, 19200300, 100, 1, 1]),
        ];
        for (bytes, arcs) in cases {
            assert_eq!(*bytes, encode_oid(arcs).as_slice(), "{arcs:?}");
        }
    }

    #[test]
    fn lengths_short_and_long() {
        assert_eq!(tlv(TAG_OCTET_STRING, &[1, 2]), vec![0x04, 2, 1, 2]);
        let long = tlv(TAG_OCTET_STRING, &[0u8; 200]);
        assert_eq!(&long[..3], &[0x04, 0x81, 200]);
        let longer = tlv(TAG_OCTET_STRING, &[0u8; 0x1234]);
        assert_eq!(&longer[..4], &[0x04, 0x82, 0x12, 0x34]);
        for content in [vec![], vec![7u8; 127], vec![7u8; 128], vec![7u8; 70000]] {
            let enc = tlv(TAG_SEQUENCE, &content);
            let (t, rest) = read_tlv(&enc).unwrap();
            assert_eq!(t.tag, TAG_SEQUENCE);
            assert_eq!(t.value, content.as_slice());
            assert_eq!(t.raw, enc.as_slice());
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn integers() {
        assert_eq!(uint(0), vec![2, 1, 0]);
        assert_eq!(uint(1), vec![2, 1, 1]);
        assert_eq!(uint(127), vec![2, 1, 127]);
        assert_eq!(uint(128), vec![2, 2, 0, 128]);
        assert_eq!(uint(256), vec![2, 2, 1, 0]);
        assert_eq!(small_uint(&[0, 128]), Some(128));
        assert_eq!(small_uint(&[0x80]), None);
    }

    #[test]
    fn set_of_is_sorted() {
        let s = set_of(TAG_SET, vec![vec![4, 1, 9], vec![2, 1, 5], vec![4, 1, 1]]);
        assert_eq!(s, vec![0x31, 9, 2, 1, 5, 4, 1, 1, 4, 1, 9]);
    }

    #[test]
    fn hostile_lengths_do_not_panic() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x80],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x05, 1],
            &[0x1f, 0x01, 0x00],
        ] {
            assert!(read_tlv(input).is_none(), "{input:?}");
        }
        let mut r = Reader::new(&[0x02, 0x01, 0x05, 0x04]);
        assert!(r.expect(TAG_OCTET_STRING).is_none());
        assert_eq!(r.expect(TAG_INTEGER).unwrap().value, &[5]);
        assert!(r.any().is_none());
    }
}
