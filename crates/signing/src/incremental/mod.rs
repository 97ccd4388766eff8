//! Reading the object structure of a PDF (classic cross-reference tables, cross-reference streams,
//! object streams, hybrid files) and appending incremental updates that leave every earlier byte alone.
//!
//! Our own updates always end with a classic cross-reference table and a trailer carrying `/Prev` and
//! the original `/ID[0]`. Signature fields added here are invisible widgets on the last page
//! (`/Rect [0 0 0 0]`, `/F 132`), which PDF/A allows without an appearance stream.
use crate::SigningError;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

mod form;
mod lexer;
mod prepare;
mod stream;
mod update;
mod xref;

pub use form::*;
use lexer::*;
pub use prepare::*;
pub use stream::*;
pub use update::*;
use xref::*;

/// Nesting depth accepted for arrays and dictionaries (hostile files).
const MAX_DEPTH: usize = 64;
/// Cross-reference sections followed at most.
const MAX_SECTIONS: usize = 4096;
/// Decompressed stream bytes accepted per document, all its streams together.
const MAX_DECODED: u64 = 256 << 20;

/// A PDF object. Names are kept as written (without the slash); strings decoded; streams keep their raw
/// (still encoded) data.
#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    /// A real number as written.
    Real(String),
    Name(Vec<u8>),
    Str(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
    Stream(Dict, Vec<u8>),
}

/// A dictionary keeping its key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dict(pub Vec<(Vec<u8>, Obj)>);

impl Dict {
    pub fn new() -> Self {
        Self(Vec::new())
    }
    pub fn get(&self, key: &str) -> Option<&Obj> {
        self.0.iter().find(|(k, _)| k == key.as_bytes()).map(|(_, v)| v)
    }
    pub fn set(&mut self, key: &str, value: Obj) {
        match self.0.iter_mut().find(|(k, _)| k == key.as_bytes()) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.as_bytes().to_vec(), value)),
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<Obj> {
        let at = self.0.iter().position(|(k, _)| k == key.as_bytes())?;
        Some(self.0.remove(at).1)
    }
    /// The value of `key` if it is the name `name`.
    pub fn name_is(&self, key: &str, name: &str) -> bool {
        matches!(self.get(key), Some(Obj::Name(n)) if n == name.as_bytes())
    }
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|(k, _)| k.as_slice())
    }
}

impl Obj {
    pub fn name(s: &str) -> Self {
        Obj::Name(s.as_bytes().to_vec())
    }
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Obj::Dict(d) | Obj::Stream(d, _) => Some(d),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Obj]> {
        match self {
            Obj::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Obj::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_ref_id(&self) -> Option<(u32, u16)> {
        match self {
            Obj::Ref(n, g) => Some((*n, *g)),
            _ => None,
        }
    }
}

/// The bytes of a PDF hex string's digits (between `<` and `>`): white space ignored, an odd final digit
/// padded with 0, anything else refused.
pub(crate) fn decode_hex_digits(digits: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(digits.len() / 2);
    let mut high: Option<u8> = None;
    for &b in digits {
        let nibble = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ if is_ws(b) => continue,
            _ => return None,
        };
        match high.take() {
            Some(h) => out.push((h << 4) | nibble),
            None => high = Some(nibble),
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    Some(out)
}

/// PDF white space (ISO 32000-1 §7.2.2).
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

fn is_delim(b: u8) -> bool {
    is_ws(b)
        || matches!(
            b,
            b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
        )
}

/// One entry of a dictionary as written: its key, its value, and the bytes of the file the value spans.
#[derive(Debug, Clone, PartialEq)]
pub struct SpannedEntry {
    pub key: Vec<u8>,
    pub span: Range<usize>,
    pub value: Obj,
}

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Entry {
    Free,
    /// Byte offset and generation.
    Offset(usize, u16),
    /// Object stream number and index within it.
    InStream(u32, u32),
}

/// One cross-reference section (one revision of the file).
#[derive(Debug, Clone)]
pub struct Section {
    /// Offset of the `xref` keyword or of the cross-reference stream object.
    pub offset: usize,
    /// End of the revision: just after its `%%EOF` marker and end-of-line.
    pub end: usize,
    pub trailer: Dict,
    pub entries: BTreeMap<u32, Entry>,
    pub is_stream: bool,
}

/// Decoded object streams (dictionary and data) by the offset of their object.
type DecodedStreams = BTreeMap<usize, std::sync::Arc<(Dict, Vec<u8>)>>;

/// A parsed PDF: its sections (oldest first) and the merged object table.
#[derive(Debug)]
pub struct PdfDoc<'a> {
    pub bytes: &'a [u8],
    /// Oldest first.
    pub sections: Vec<Section>,
    /// The newest trailer.
    pub trailer: Dict,
    table: BTreeMap<u32, Entry>,
    /// What is left of the bytes this document's streams may decode to, all streams together
    /// ([`MAX_DECODED`]): a crafted file of small compressed streams must not buy minutes of inflating.
    decode_left: std::sync::atomic::AtomicU64,
    /// Set once a stream was refused for want of budget.
    decode_spent: std::sync::atomic::AtomicBool,
    /// Object streams decoded once, by the offset of their object.
    object_streams: std::sync::Mutex<DecodedStreams>,
}

fn bad(what: impl Into<String>) -> SigningError {
    SigningError::Prepared(what.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PDF whose objects 3 and 4 live in two Flate object streams (5 and 6) of `padding` spaces each.
    fn two_object_streams(padding: usize) -> Vec<u8> {
        use std::io::Write as _;
        let stream = |n: u32, num: u32| {
            let header = format!("{num} 0 ");
            let body = format!("{header}<< /N {n} >>{}", " ".repeat(padding));
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(body.as_bytes()).unwrap();
            (header.len(), z.finish().unwrap())
        };
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = [0usize; 7];
        for (n, body) in [
            (1, "<< /Type /Catalog /Pages 2 0 R >>"),
            (2, "<< /Type /Pages /Kids [] /Count 0 >>"),
        ] {
            offsets[n] = out.len();
            out.extend_from_slice(format!("{n} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        for (n, num) in [(5usize, 3u32), (6, 4)] {
            let (first, data) = stream(num, num);
            offsets[n] = out.len();
            out.extend_from_slice(
                format!(
                    "{n} 0 obj\n<< /Type /ObjStm /N 1 /First {first} /Filter /FlateDecode /Length {} >>\nstream\n",
                    data.len()
                )
                .as_bytes(),
            );
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\nendstream\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n0 7\n0000000000 65535 f \n");
        for offset in offsets.iter().skip(1) {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        // The test puts objects 3 and 4 into the streams through the table it reads with.
        out.extend_from_slice(
            format!("trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
        );
        out
    }

    #[test]
    fn streams_decode_within_one_budget_per_document_and_once_each() {
        let bytes = two_object_streams(6_000);
        let doc = PdfDoc::parse_within(&bytes, 10_000).unwrap();
        let mut table = doc.table().clone();
        table.insert(3, Entry::InStream(5, 0));
        table.insert(4, Entry::InStream(6, 0));
        // The first stream fits and is decoded once, however often its objects are read.
        for _ in 0..100 {
            assert_eq!(
                doc.load_with(&table, 3).unwrap().as_dict().unwrap().get("N"),
                Some(&Obj::Int(3))
            );
        }
        assert!(!doc.decode_budget_spent());
        // The second would take the document past its budget: refused, and said so.
        assert_eq!(doc.load_with(&table, 4), None);
        assert!(doc.decode_budget_spent());
        // With room for both, both read.
        let roomy = PdfDoc::parse_within(&bytes, 20_000).unwrap();
        assert!(roomy.load_with(&table, 4).is_some());
        assert!(!roomy.decode_budget_spent());
    }

    #[test]
    fn parses_objects() {
        let mut lx = Lexer::new(
            b"<< /A 1 0 R /B [1 2.5 (x\\)y) <414> /N] /C << /D true >> /E null >>",
            0,
        );
        let o = lx.object(0).unwrap();
        let d = o.as_dict().unwrap();
        assert_eq!(d.get("A"), Some(&Obj::Ref(1, 0)));
        assert_eq!(
            d.get("B").unwrap().as_array().unwrap(),
            &[
                Obj::Int(1),
                Obj::Real("2.5".into()),
                Obj::Str(b"x)y".to_vec()),
                Obj::Str(vec![0x41, 0x40]),
                Obj::name("N")
            ]
        );
        assert!(d.get("E").is_none());
        let mut out = Vec::new();
        write_obj(&mut out, &o);
        let again = Lexer::new(&out, 0).object(0).unwrap();
        assert_eq!(again, o);
    }

    #[test]
    fn dictionary_entries_keep_their_spans() {
        let text = b"7 0 obj\n<< /R (x /Contents <00>) /Contents <0A 0b> /N null /R 1 0 R >>\nendobj";
        let (parsed, examined) = parse_indirect_entries(text, 0);
        let (num, generation, entries) = parsed.unwrap();
        assert_eq!((num, generation), (7, 0));
        assert_eq!(examined, text.len() - b"\nendobj".len());
        let keys: Vec<&[u8]> = entries.iter().map(|e| e.key.as_slice()).collect();
        assert_eq!(keys, [&b"R"[..], b"Contents", b"N", b"R"]);
        let at = |i: usize| &text[entries[i].span.clone()];
        assert_eq!(at(0), b"(x /Contents <00>)");
        assert_eq!(at(1), b"<0A 0b>");
        assert_eq!(entries[1].value, Obj::Str(vec![0x0a, 0x0b]));
        assert_eq!(at(2), b"null");
        assert_eq!(at(3), b"1 0 R");
    }

    #[test]
    fn failed_reads_count_what_they_examined() {
        let text = b"3 0 obj\n<< /A (never closed ...";
        let (parsed, examined) = parse_indirect_counted(text, 0);
        assert!(parsed.is_none());
        assert_eq!(examined, text.len());
        let text = b"3 0 obj\n<< /A <0A0B";
        assert_eq!(parse_indirect_counted(text, 0).1, text.len());
        let text = b"3 0 objxxxxxxxxxxxxxxxx";
        assert_eq!(parse_indirect_counted(text, 0).1, text.len());
    }

    #[test]
    fn hostile_nesting_is_refused() {
        let deep = "[".repeat(10_000);
        assert!(Lexer::new(deep.as_bytes(), 0).object(0).is_none());
        assert!(PdfDoc::parse(b"startxref\n0\n%%EOF").is_err());
    }

    #[test]
    fn png_up_predictor() {
        let mut p = Dict::new();
        p.set("Predictor", Obj::Int(12));
        p.set("Columns", Obj::Int(2));
        let data = vec![2, 1, 2, 2, 1, 1];
        assert_eq!(unpredict(&p, data).unwrap(), vec![1, 2, 2, 3]);
    }

    #[test]
    fn dates() {
        let t = time::macros::datetime!(2026-01-02 03:04:05 +07:00);
        assert_eq!(pdf_date(t), "D:20260102030405+07'00'");
    }
}
