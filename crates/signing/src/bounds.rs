//! Bounds on untrusted DER, checked before the RustCrypto decoders see it.
//!
//! The `der` crate decodes a `SET OF` by sorting it with an insertion sort: time quadratic in the number of
//! elements, so a hostile signature with a few thousand certificates or attributes would cost seconds of
//! CPU. Every untrusted input is walked here once, in linear time, and refused if any `SET` (or constructed
//! context-specific element, where the IMPLICIT `SET OF`s of CMS live) holds more than
//! [`MAX_SET_ELEMENTS`] elements or nests deeper than [`MAX_DEPTH`]. This walk only reads headers through
//! `der`'s reader; the decoding itself stays with the crates.
use der::{Decode as _, Header, Reader as _, SliceReader, Tag};

/// Elements accepted in one `SET OF` (signatures carry a handful of certificates and attributes).
pub const MAX_SET_ELEMENTS: usize = 256;
/// Nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// Why untrusted DER was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not DER (indefinite lengths, truncated, ...) or nested too deep.
    Malformed,
    /// A set with this many elements.
    LargeSet(usize),
}

/// Walks every element of `der`, which must be exactly one or more DER elements.
pub fn check(der: &[u8]) -> Result<(), Refused> {
    walk(der, MAX_DEPTH).map(|_| ())
}

/// The content of an OCTET STRING, or of a BIT STRING without unused bits, that may itself be DER.
fn wrapped_der(tag: Tag, body: &[u8]) -> Option<&[u8]> {
    match tag {
        Tag::OctetString => Some(body),
        Tag::BitString => body
            .split_first()
            .filter(|(unused, _)| **unused == 0)
            .map(|(_, bits)| bits),
        _ => None,
    }
}

/// The number of elements in `content`, after checking each constructed one and any DER wrapped in a
/// string.
fn walk(content: &[u8], depth: usize) -> Result<usize, Refused> {
    let mut reader = SliceReader::new(content).map_err(|_| Refused::Malformed)?;
    let mut count = 0usize;
    while !reader.is_finished() {
        let header = Header::decode(&mut reader).map_err(|_| Refused::Malformed)?;
        let body = reader.read_slice(header.length).map_err(|_| Refused::Malformed)?;
        count = count.saturating_add(1);
        let deeper = depth.checked_sub(1).ok_or(Refused::Malformed)?;
        if header.tag.is_constructed() {
            let inner = walk(body, deeper)?;
            let a_set = header.tag == Tag::Set || header.tag.is_context_specific();
            if a_set && inner > MAX_SET_ELEMENTS {
                return Err(Refused::LargeSet(inner));
            }
        } else if let Some(wrapped) = wrapped_der(header.tag, body) {
            // DER inside an OCTET STRING or BIT STRING (an extension's value, a TSTInfo, an OCSP response's
            // bytes) is decoded too: its sets are bounded alike. Content that is not DER is only bytes.
            if let Err(Refused::LargeSet(n)) = walk(wrapped, deeper) {
                return Err(Refused::LargeSet(n));
            }
        }
    }
    Ok(count)
}

/// The certificates a CMS `ContentInfo` holding a SignedData carries, as the DER elements of its
/// `certificates` set, found without decoding them: to count them before a decoder's quadratic sort, and to
/// list a signature's chain without decoding the whole SignedData.
pub fn cms_certificate_elements(der: &[u8]) -> Option<Vec<&[u8]>> {
    let mut r = SliceReader::new(der).ok()?;
    let content_info = Header::decode(&mut r).ok()?;
    let mut ci = SliceReader::new(r.read_slice(content_info.length).ok()?).ok()?;
    ci.tlv_bytes().ok()?; // contentType
    let explicit = Header::decode(&mut ci).ok()?;
    let mut ex = SliceReader::new(ci.read_slice(explicit.length).ok()?).ok()?;
    let signed_data = Header::decode(&mut ex).ok()?;
    let mut sd = SliceReader::new(ex.read_slice(signed_data.length).ok()?).ok()?;
    for _ in 0..3 {
        sd.tlv_bytes().ok()?; // version, digestAlgorithms, encapContentInfo
    }
    let certificates_tag = Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber::N0,
    };
    let mut out = Vec::new();
    if sd.is_finished() || sd.peek_tag().ok()? != certificates_tag {
        return Some(out);
    }
    let set = Header::decode(&mut sd).ok()?;
    let body = sd.read_slice(set.length).ok()?;
    let mut certs = SliceReader::new(body).ok()?;
    while !certs.is_finished() {
        out.push(certs.tlv_bytes().ok()?);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode as _;

    #[test]
    fn a_large_set_is_refused_before_decoding() {
        let small: Vec<der::asn1::OctetString> = (0u16..10)
            .map(|i| der::asn1::OctetString::new(i.to_be_bytes()).unwrap())
            .collect();
        let ok = der::asn1::SetOfVec::try_from(small).unwrap().to_der().unwrap();
        assert_eq!(check(&ok), Ok(()));
        // 1,000 elements in reverse order: what the insertion sort would pay for quadratically.
        let mut body = Vec::new();
        for i in (0u16..1000).rev() {
            body.extend(
                der::asn1::OctetString::new(i.to_be_bytes())
                    .unwrap()
                    .to_der()
                    .unwrap(),
            );
        }
        let header = der::Header::new(Tag::Set, der::Length::try_from(body.len()).unwrap()).unwrap();
        let mut big = header.to_der().unwrap();
        big.extend(body);
        assert_eq!(check(&big), Err(Refused::LargeSet(1000)));
        // Wrapped in a sequence, still found.
        let outer = der::Header::new(Tag::Sequence, der::Length::try_from(big.len()).unwrap()).unwrap();
        let mut wrapped = outer.to_der().unwrap();
        wrapped.extend(&big);
        assert_eq!(check(&wrapped), Err(Refused::LargeSet(1000)));
        // Inside an OCTET STRING (as an extension's value is) and a BIT STRING, still found.
        let octets = der::asn1::OctetString::new(wrapped.clone())
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(check(&octets), Err(Refused::LargeSet(1000)));
        let bits = der::asn1::BitString::from_bytes(&octets)
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(check(&bits), Err(Refused::LargeSet(1000)));
        // An OCTET STRING of plain bytes is only bytes.
        let plain = der::asn1::OctetString::new(vec![0x31, 0x80, 0xff])
            .unwrap()
            .to_der()
            .unwrap();
        assert_eq!(check(&plain), Ok(()));
    }

    #[test]
    fn not_der_is_refused() {
        assert_eq!(check(&[0x30, 0x80, 0, 0]), Err(Refused::Malformed));
        assert_eq!(check(&[0x30, 0x05, 1]), Err(Refused::Malformed));
        let mut deep = Vec::new();
        for _ in 0..100 {
            let header = der::Header::new(Tag::Sequence, der::Length::try_from(deep.len()).unwrap()).unwrap();
            let mut next = header.to_der().unwrap();
            next.extend(&deep);
            deep = next;
        }
        assert_eq!(check(&deep), Err(Refused::Malformed));
    }
}
