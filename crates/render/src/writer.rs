//! A small PDF object writer: numbered indirect objects appended to one buffer, then the cross-reference
//! table and the trailer.

use std::io::Write as _;

pub(crate) struct Writer {
    pub buf: Vec<u8>,
    /// Byte offset of each object, by object number; index 0 is the free-list head.
    offsets: Vec<usize>,
}

impl Writer {
    pub fn with_capacity(cap: usize) -> Self {
        let mut buf = Vec::with_capacity(cap);
        // Header plus a comment of four bytes above 127, so transfer tools treat the file as binary.
        buf.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
        Writer {
            buf,
            offsets: vec![0],
        }
    }

    /// Reserves an object number.
    pub fn alloc(&mut self) -> u32 {
        self.offsets.push(0);
        (self.offsets.len() - 1) as u32
    }

    /// Starts object `id` (allocated by this writer; an id it never gave is a bug the cross-reference
    /// table would show, so it is ignored here rather than panicking).
    pub fn begin(&mut self, id: u32) {
        debug_assert!(
            (id as usize) < self.offsets.len(),
            "object {id} was never allocated"
        );
        if let Some(offset) = self.offsets.get_mut(id as usize) {
            *offset = self.buf.len();
        }
        let _ = writeln!(self.buf, "{id} 0 obj");
    }

    pub fn end(&mut self) {
        self.buf.extend_from_slice(b"\nendobj\n");
    }

    /// Writes a whole non-stream object.
    pub fn obj(&mut self, id: u32, body: &[u8]) {
        self.begin(id);
        self.buf.extend_from_slice(body);
        self.end();
    }

    /// Writes a stream object; `dict` holds the entries without `<<`, `>>` and `/Length`.
    pub fn stream(&mut self, id: u32, dict: &str, data: &[u8]) {
        self.stream_parts(id, dict, &[data]);
    }

    /// Like [`Writer::stream`] with the data given in pieces (e.g. PNG IDAT chunks), copied once.
    pub fn stream_parts(&mut self, id: u32, dict: &str, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.begin(id);
        let _ = write!(self.buf, "<<{dict} /Length {len}>>\nstream\n");
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        self.buf.extend_from_slice(b"\nendstream");
        self.end();
    }

    /// Deflates `data` (fast level) and writes it as a /FlateDecode stream.
    pub fn flate_stream(&mut self, id: u32, dict: &str, data: &[u8]) {
        let z = deflate(data);
        self.stream(id, &format!("{dict} /Filter /FlateDecode"), &z);
    }

    /// Writes the cross-reference table and the trailer. Every allocated object must have been written.
    pub fn finish(&mut self, root: u32, info: u32, file_id: &[u8; 16]) {
        let xref = self.buf.len();
        let n = self.offsets.len();
        self.buf.reserve(n * 20 + 256);
        let _ = write!(self.buf, "xref\n0 {n}\n0000000000 65535 f\r\n");
        for off in self.offsets.iter().skip(1) {
            let _ = write!(self.buf, "{off:010} 00000 n\r\n");
        }
        let mut id_hex = String::with_capacity(32);
        for b in file_id {
            id_hex.push_str(&format!("{b:02X}"));
        }
        let _ = write!(
            self.buf,
            "trailer\n<</Size {n} /Root {root} 0 R /Info {info} 0 R /ID [<{id_hex}> <{id_hex}>]>>\nstartxref\n{xref}\n%%EOF\n"
        );
    }
}

pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    use flate2::{write::ZlibEncoder, Compression};
    let mut e = ZlibEncoder::new(Vec::with_capacity(data.len() / 3 + 64), Compression::fast());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// A PDF text string: literal for printable ASCII, else UTF-16BE with BOM as a hex string.
pub(crate) fn text_string(s: &str) -> String {
    if s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('(');
        for c in s.chars() {
            if matches!(c, '(' | ')' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push(')');
        out
    } else {
        let mut out = String::from("<FEFF");
        for u in s.encode_utf16() {
            out.push_str(&format!("{u:04X}"));
        }
        out.push('>');
        out
    }
}

/// A PDF name from arbitrary bytes (`#xx` escapes for delimiters and non-printables).
pub(crate) fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &b in name {
        if (0x21..0x7F).contains(&b) && !b"()<>[]{}/%#".contains(&b) {
            out.push(b);
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

/// A number with at most 3 decimals and no exponent.
pub(crate) fn num(v: f32) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}
