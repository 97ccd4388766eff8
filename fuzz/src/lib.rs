//! What the fuzz targets and their seed writer share: inputs of several parts in one byte string.
//!
//! A target that needs more than one input (a trust anchor and the file it anchors, a data group and the
//! SOD that hashes it) reads them from one fuzz input framed as `len (u16, big-endian) ‖ bytes`, repeated;
//! the last part takes the rest. The seeds are framed the same way, so the fuzzer starts from inputs that
//! pass every check and mutates from there.

/// The parts of `data`: at most `n`, the last taking whatever is left.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut rest = data;
    while out.len() + 1 < n {
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            break;
        };
        let len = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (part, tail) = tail.split_at(len);
        out.push(part);
        rest = tail;
    }
    out.push(rest);
    out
}

/// The framing of [`parts`]: every part but the last gets its length in front.
pub fn frame(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 < parts.len() {
            let len = u16::try_from(p.len()).expect("a framed part is below 64 KiB");
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(p);
    }
    out
}

/// A fixed instant for checks of validity periods: a fuzz run must not depend on the clock.
pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_798_761_600).expect("2027-01-01")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framed_parts_come_back() {
        let framed = frame(&[b"ab", b"", b"rest of it"]);
        assert_eq!(parts(&framed, 3), vec![&b"ab"[..], b"", b"rest of it"]);
        assert_eq!(parts(&[0xff], 3), vec![&[0xff][..]]);
    }
}
