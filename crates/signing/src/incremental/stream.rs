//! Stream filters: Flate with PNG predictors, bounded in what they produce.
use super::*;

/// Decodes a stream's data (no filter, or FlateDecode with optional PNG/TIFF predictors).
pub fn decode_stream(dict: &Dict, raw: &[u8]) -> Option<Vec<u8>> {
    decode_stream_within(dict, raw, MAX_DECODED)
}

/// As [`decode_stream`], each filter's output cut at `max` bytes.
pub(super) fn decode_stream_within(dict: &Dict, raw: &[u8], max: u64) -> Option<Vec<u8>> {
    let filters: Vec<&[u8]> = match dict.get("Filter") {
        None => Vec::new(),
        Some(Obj::Name(n)) => vec![n.as_slice()],
        Some(Obj::Array(a)) => a
            .iter()
            .map(|f| match f {
                Obj::Name(n) => Some(n.as_slice()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?,
        _ => return None,
    };
    let mut data = raw.to_vec();
    for (i, f) in filters.iter().enumerate() {
        if *f != b"FlateDecode" && *f != b"Fl" {
            return None;
        }
        use std::io::Read as _;
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(data.as_slice())
            .take(max)
            .read_to_end(&mut out)
            .ok()?;
        let params = match dict.get("DecodeParms") {
            Some(Obj::Dict(d)) => Some(d),
            Some(Obj::Array(a)) => a.get(i).and_then(Obj::as_dict),
            _ => None,
        };
        data = match params {
            Some(p) => unpredict(p, out)?,
            None => out,
        };
    }
    Some(data)
}

pub(super) fn unpredict(params: &Dict, data: Vec<u8>) -> Option<Vec<u8>> {
    let predictor = params.get("Predictor").and_then(Obj::as_int).unwrap_or(1);
    if predictor < 10 {
        return (predictor == 1).then_some(data);
    }
    let columns = usize::try_from(params.get("Columns").and_then(Obj::as_int).unwrap_or(1)).ok()?;
    let colors = usize::try_from(params.get("Colors").and_then(Obj::as_int).unwrap_or(1)).ok()?;
    let bits = usize::try_from(params.get("BitsPerComponent").and_then(Obj::as_int).unwrap_or(8)).ok()?;
    let bpp = (colors * bits).div_ceil(8).max(1);
    let row_len = (columns * colors * bits).div_ceil(8);
    if row_len == 0 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let (&kind, row) = chunk.split_first()?;
        let mut cur = row.to_vec();
        cur.resize(row_len, 0);
        for i in 0..row_len {
            let a = if i >= bpp {
                cur.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let b = prev.get(i).copied().unwrap_or(0);
            let c = if i >= bpp {
                prev.get(i - bpp).copied().unwrap_or(0)
            } else {
                0
            };
            let x = cur.get(i).copied().unwrap_or(0);
            let v = match kind {
                0 => x,
                1 => x.wrapping_add(a),
                2 => x.wrapping_add(b),
                3 => x.wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    let pred = if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    };
                    x.wrapping_add(pred)
                }
                _ => return None,
            };
            if let Some(slot) = cur.get_mut(i) {
                *slot = v;
            }
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Some(out)
}
