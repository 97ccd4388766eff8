//! Reading the object structure of a PDF (classic cross-reference tables, cross-reference streams,
//! object streams, hybrid files) and appending incremental updates that leave every earlier byte alone.
//!
//! Our own updates always end with a classic cross-reference table and a trailer carrying `/Prev` and
//! the original `/ID[0]`. Signature fields added here are invisible widgets on the last page
//! (`/Rect [0 0 0 0]`, `/F 132`), which PDF/A allows without an appearance stream.
use crate::SigningError;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// Nesting depth accepted for arrays and dictionaries (hostile files).
const MAX_DEPTH: usize = 64;
/// Cross-reference sections followed at most.
const MAX_SECTIONS: usize = 4096;
/// Decompressed stream size accepted (bytes).
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

/// A cursor over PDF bytes that parses objects.
struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The furthest position examined, lookahead included (for work budgets).
    far: usize,
}

impl<'a> Lexer<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos, far: pos }
    }

    /// How far the reading went, lookahead included.
    fn reached(&self) -> usize {
        self.far.max(self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_ws(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn starts_with(&self, s: &[u8]) -> bool {
        self.buf.get(self.pos..).is_some_and(|r| r.starts_with(s))
    }

    /// A bare keyword or number token.
    fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delim(b)) {
            self.pos += 1;
        }
        self.far = self.far.max(self.pos);
        self.buf.get(start..self.pos).unwrap_or_default()
    }

    fn keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let save = self.pos;
        if self.token() == kw {
            true
        } else {
            self.pos = save;
            false
        }
    }

    fn uint(&mut self) -> Option<u64> {
        self.skip_ws();
        let save = self.pos;
        let t = self.token();
        if t.is_empty() || t.len() > 18 || !t.iter().all(u8::is_ascii_digit) {
            self.pos = save;
            return None;
        }
        std::str::from_utf8(t).ok()?.parse().ok()
    }

    fn object(&mut self, depth: usize) -> Option<Obj> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        let b = self.peek()?;
        match b {
            b'/' => {
                self.pos += 1;
                Some(Obj::Name(self.token().to_vec()))
            }
            b'(' => self.literal().map(Obj::Str),
            b'<' if self.starts_with(b"<<") => {
                let entries = self.dict_entries(depth)?;
                let kept = entries
                    .into_iter()
                    .filter(|e| e.value != Obj::Null)
                    .map(|e| (e.key, e.value));
                Some(Obj::Dict(Dict(kept.collect())))
            }
            b'<' => self.hex().map(Obj::Str),
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek()? == b']' {
                        self.pos += 1;
                        return Some(Obj::Array(items));
                    }
                    items.push(self.object(depth + 1)?);
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                let t = self.token();
                let text = std::str::from_utf8(t).ok()?;
                if let Ok(n) = text.parse::<i64>() {
                    // `n g R`?
                    if n >= 0 && t.iter().all(u8::is_ascii_digit) {
                        let save = self.pos;
                        if let Some(g) = self.uint() {
                            if self.keyword(b"R") {
                                let num = u32::try_from(n).ok()?;
                                let generation = u16::try_from(g).ok()?;
                                return Some(Obj::Ref(num, generation));
                            }
                        }
                        self.pos = save;
                    }
                    Some(Obj::Int(n))
                } else if text.parse::<f64>().is_ok() || text == "-" || text.ends_with('.') {
                    Some(Obj::Real(text.to_string()))
                } else {
                    None
                }
            }
            _ => match self.token() {
                b"true" => Some(Obj::Bool(true)),
                b"false" => Some(Obj::Bool(false)),
                b"null" => Some(Obj::Null),
                _ => None,
            },
        }
    }

    /// The entries of the dictionary whose `<<` is at the cursor, in order, null values and repeated
    /// keys included, each with the bytes its value spans.
    fn dict_entries(&mut self, depth: usize) -> Option<Vec<SpannedEntry>> {
        if !self.starts_with(b"<<") {
            return None;
        }
        self.pos += 2;
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.starts_with(b">>") {
                self.pos += 2;
                return Some(entries);
            }
            if self.peek()? != b'/' {
                return None;
            }
            self.pos += 1;
            let key = self.token().to_vec();
            self.skip_ws();
            let start = self.pos;
            let value = self.object(depth + 1)?;
            entries.push(SpannedEntry {
                key,
                span: start..self.pos,
                value,
            });
        }
    }

    fn literal(&mut self) -> Option<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 0usize;
        loop {
            let b = self.peek()?;
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    if depth == 0 {
                        return Some(out);
                    }
                    depth -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn hex(&mut self) -> Option<Vec<u8>> {
        self.pos += 1;
        let rest = self.buf.get(self.pos..)?;
        let Some(close) = memchr::memchr(b'>', rest) else {
            self.far = self.buf.len();
            return None;
        };
        let out = decode_hex_digits(rest.get(..close)?);
        self.pos += close + 1;
        out
    }
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

/// A parsed PDF: its sections (oldest first) and the merged object table.
#[derive(Debug, Clone)]
pub struct PdfDoc<'a> {
    pub bytes: &'a [u8],
    /// Oldest first.
    pub sections: Vec<Section>,
    /// The newest trailer.
    pub trailer: Dict,
    table: BTreeMap<u32, Entry>,
}

fn bad(what: impl Into<String>) -> SigningError {
    SigningError::Prepared(what.into())
}

/// Parses `N G obj <object> [stream…endstream]` at `offset`.
fn parse_indirect(bytes: &[u8], offset: usize) -> Option<(u32, u16, Obj)> {
    read_indirect(&mut Lexer::new(bytes, offset))
}

/// As [`parse_indirect`], with the number of bytes the reading examined, whether or not it succeeded.
fn parse_indirect_counted(bytes: &[u8], offset: usize) -> (Option<(u32, u16, Obj)>, usize) {
    let mut lx = Lexer::new(bytes, offset);
    let parsed = read_indirect(&mut lx);
    (parsed, lx.reached().saturating_sub(offset))
}

fn read_indirect(lx: &mut Lexer<'_>) -> Option<(u32, u16, Obj)> {
    let bytes = lx.buf;
    let num = u32::try_from(lx.uint()?).ok()?;
    let generation = u16::try_from(lx.uint()?).ok()?;
    if !lx.keyword(b"obj") {
        return None;
    }
    let obj = lx.object(0)?;
    if let Obj::Dict(dict) = &obj {
        lx.skip_ws();
        if lx.starts_with(b"stream") {
            let mut p = lx.pos + 6;
            if bytes.get(p) == Some(&b'\r') {
                p += 1;
            }
            if bytes.get(p) == Some(&b'\n') {
                p += 1;
            }
            let by_length = dict
                .get("Length")
                .and_then(Obj::as_int)
                .and_then(|l| usize::try_from(l).ok())
                .and_then(|l| {
                    let end = p.checked_add(l)?;
                    let mut after = Lexer::new(bytes, end);
                    after.skip_ws();
                    after.starts_with(b"endstream").then_some(end)
                });
            let end = match by_length {
                Some(e) => e,
                None => {
                    lx.far = bytes.len();
                    let rest = bytes.get(p..)?;
                    let at = memchr::memmem::find(rest, b"endstream")?;
                    let mut e = p + at;
                    // Strip the end-of-line that precedes `endstream`.
                    if e > p && bytes.get(e - 1) == Some(&b'\n') {
                        e -= 1;
                    }
                    if e > p && bytes.get(e - 1) == Some(&b'\r') {
                        e -= 1;
                    }
                    e
                }
            };
            lx.far = lx.far.max(end);
            let data = bytes.get(p..end)?.to_vec();
            return Some((num, generation, Obj::Stream(dict.clone(), data)));
        }
    }
    Some((num, generation, obj))
}

/// Parses `N G obj << … >>` at `offset` keeping every entry of the dictionary as written (see
/// [`SpannedEntry`]); also gives the number of bytes the reading examined.
fn parse_indirect_entries(bytes: &[u8], offset: usize) -> (Option<(u32, u16, Vec<SpannedEntry>)>, usize) {
    let mut lx = Lexer::new(bytes, offset);
    let parsed = (|| {
        let num = u32::try_from(lx.uint()?).ok()?;
        let generation = u16::try_from(lx.uint()?).ok()?;
        if !lx.keyword(b"obj") {
            return None;
        }
        lx.skip_ws();
        let entries = lx.dict_entries(0)?;
        Some((num, generation, entries))
    })();
    (parsed, lx.reached().saturating_sub(offset))
}

/// Decodes a stream's data (no filter, or FlateDecode with optional PNG/TIFF predictors).
pub fn decode_stream(dict: &Dict, raw: &[u8]) -> Option<Vec<u8>> {
    decode_stream_within(dict, raw, MAX_DECODED)
}

/// As [`decode_stream`], each filter's output cut at `max` bytes.
fn decode_stream_within(dict: &Dict, raw: &[u8], max: u64) -> Option<Vec<u8>> {
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

fn unpredict(params: &Dict, data: Vec<u8>) -> Option<Vec<u8>> {
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

/// The offset in the last `startxref` of the file (searched in its last 2 KiB).
fn last_startxref(bytes: &[u8]) -> Option<usize> {
    let tail_start = bytes.len().saturating_sub(2048);
    let tail = bytes.get(tail_start..)?;
    let at = memchr::memmem::rfind(tail, b"startxref")?;
    let mut lx = Lexer::new(bytes, tail_start + at + 9);
    usize::try_from(lx.uint()?).ok()
}

/// End of the revision whose cross-reference data starts at `offset`: after the next `%%EOF` and EOL.
fn revision_end(bytes: &[u8], offset: usize) -> usize {
    let rest = bytes.get(offset..).unwrap_or_default();
    match memchr::memmem::find(rest, b"%%EOF") {
        Some(at) => {
            let mut e = offset + at + 5;
            if bytes.get(e) == Some(&b'\r') {
                e += 1;
            }
            if bytes.get(e) == Some(&b'\n') {
                e += 1;
            }
            e
        }
        None => bytes.len(),
    }
}

fn parse_classic(bytes: &[u8], offset: usize) -> Option<(BTreeMap<u32, Entry>, Dict)> {
    let mut lx = Lexer::new(bytes, offset);
    if !lx.keyword(b"xref") {
        return None;
    }
    let mut entries = BTreeMap::new();
    loop {
        if lx.keyword(b"trailer") {
            break;
        }
        let start = u32::try_from(lx.uint()?).ok()?;
        let count = u32::try_from(lx.uint()?).ok()?;
        for i in 0..count {
            let off = lx.uint()?;
            let generation = lx.uint()?;
            lx.skip_ws();
            let kind = lx.token();
            let num = start.checked_add(i)?;
            let entry = match kind {
                b"n" => Entry::Offset(usize::try_from(off).ok()?, u16::try_from(generation).ok()?),
                b"f" => Entry::Free,
                _ => return None,
            };
            entries.insert(num, entry);
        }
    }
    match lx.object(0)? {
        Obj::Dict(d) => Some((entries, d)),
        _ => None,
    }
}

fn parse_xref_stream(bytes: &[u8], offset: usize) -> Option<(BTreeMap<u32, Entry>, Dict)> {
    let (_, _, obj) = parse_indirect(bytes, offset)?;
    let Obj::Stream(dict, raw) = obj else {
        return None;
    };
    if !dict.name_is("Type", "XRef") {
        return None;
    }
    let data = decode_stream(&dict, &raw)?;
    let w: Vec<usize> = dict
        .get("W")?
        .as_array()?
        .iter()
        .map(|x| x.as_int().and_then(|v| usize::try_from(v).ok()))
        .collect::<Option<Vec<_>>>()?;
    let [w0, w1, w2] = <[usize; 3]>::try_from(w).ok()?;
    if w0 > 8 || w1 > 8 || w2 > 8 {
        return None;
    }
    let row = w0 + w1 + w2;
    if row == 0 {
        return None;
    }
    let size = dict.get("Size").and_then(Obj::as_int)?;
    let index: Vec<i64> = match dict.get("Index") {
        Some(Obj::Array(a)) => a.iter().map(Obj::as_int).collect::<Option<Vec<_>>>()?,
        _ => vec![0, size],
    };
    let field = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let mut entries = BTreeMap::new();
    let mut rows = data.chunks_exact(row);
    for pair in index.chunks(2) {
        let [start, count] = <[i64; 2]>::try_from(pair).ok()?;
        for i in 0..count.max(0) {
            let r = rows.next()?;
            let (a, rest) = r.split_at_checked(w0)?;
            let (b, c) = rest.split_at_checked(w1)?;
            let kind = if w0 == 0 { 1 } else { field(a) };
            let num = u32::try_from(start.checked_add(i)?).ok()?;
            let entry = match kind {
                0 => Entry::Free,
                1 => Entry::Offset(usize::try_from(field(b)).ok()?, u16::try_from(field(c)).ok()?),
                2 => Entry::InStream(u32::try_from(field(b)).ok()?, u32::try_from(field(c)).ok()?),
                _ => continue,
            };
            entries.insert(num, entry);
        }
    }
    Some((entries, dict))
}

/// Object `num`, stored at `index` of the object stream whose dictionary is `dict` and decoded data `data`;
/// also gives the number of bytes the reading examined.
fn object_in_stream(dict: &Dict, data: &[u8], num: u32, index: u32) -> (Option<Obj>, usize) {
    let mut header = Lexer::new(data, 0);
    let mut body: Option<(usize, Lexer<'_>)> = None;
    let obj = (|| {
        let n = dict.get("N").and_then(Obj::as_int)?;
        let first = usize::try_from(dict.get("First").and_then(Obj::as_int)?).ok()?;
        let mut found = None;
        for i in 0..n.max(0) {
            let on = header.uint()?;
            let off = header.uint()?;
            if i64::from(index) == i {
                found = Some((on, off));
                break;
            }
        }
        let (on, off) = found?;
        if on != u64::from(num) {
            return None;
        }
        let start = first.checked_add(usize::try_from(off).ok()?)?;
        body.insert((start, Lexer::new(data, start))).1.object(0)
    })();
    let examined = header.reached() + body.map_or(0, |(start, b)| b.reached().saturating_sub(start));
    (obj, examined)
}

impl<'a> PdfDoc<'a> {
    /// Reads the cross-reference chain from the last `startxref`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, SigningError> {
        let mut next = Some(last_startxref(bytes).ok_or_else(|| bad("no startxref"))?);
        let mut seen = BTreeSet::new();
        let mut sections = Vec::new();
        while let Some(offset) = next {
            if !seen.insert(offset) || sections.len() >= MAX_SECTIONS {
                return Err(bad("the cross-reference chain loops"));
            }
            let (mut entries, trailer, is_stream) = match parse_classic(bytes, offset) {
                Some((e, t)) => (e, t, false),
                None => {
                    let (e, t) = parse_xref_stream(bytes, offset)
                        .ok_or_else(|| bad(format!("no cross-reference section at {offset}")))?;
                    (e, t, true)
                }
            };
            // Hybrid file: the stream supplements the table.
            if let Some(stm) = trailer
                .get("XRefStm")
                .and_then(Obj::as_int)
                .and_then(|v| usize::try_from(v).ok())
            {
                if let Some((more, _)) = parse_xref_stream(bytes, stm) {
                    for (k, v) in more {
                        entries.entry(k).or_insert(v);
                    }
                }
            }
            next = trailer
                .get("Prev")
                .and_then(Obj::as_int)
                .and_then(|v| usize::try_from(v).ok());
            sections.push(Section {
                offset,
                end: revision_end(bytes, offset),
                trailer,
                entries,
                is_stream,
            });
        }
        sections.reverse();
        let trailer = sections.last().map(|s| s.trailer.clone()).unwrap_or_default();
        if trailer.get("Encrypt").is_some() {
            return Err(bad("encrypted PDFs are not supported"));
        }
        let table = Self::merge(&sections, sections.len());
        Ok(Self {
            bytes,
            sections,
            trailer,
            table,
        })
    }

    fn merge(sections: &[Section], upto: usize) -> BTreeMap<u32, Entry> {
        let mut table = BTreeMap::new();
        for s in sections.iter().take(upto) {
            for (k, v) in &s.entries {
                table.insert(*k, *v);
            }
        }
        table
    }

    /// The offset of the newest cross-reference section (the next update's `/Prev`).
    pub fn last_xref_offset(&self) -> usize {
        self.sections.last().map_or(0, |s| s.offset)
    }

    /// The `/Size` for a new section: one more than every object number seen.
    pub fn size(&self) -> u32 {
        let max_seen = self.table.keys().next_back().map_or(0, |k| k + 1);
        let declared = self
            .trailer
            .get("Size")
            .and_then(Obj::as_int)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0);
        max_seen.max(declared).max(1)
    }

    /// The object table as it was after the first `upto` sections.
    pub fn table_upto(&self, upto: usize) -> BTreeMap<u32, Entry> {
        Self::merge(&self.sections, upto)
    }

    /// The current object table.
    pub fn table(&self) -> &BTreeMap<u32, Entry> {
        &self.table
    }

    /// Reads object `num` through `table`.
    pub fn load_with(&self, table: &BTreeMap<u32, Entry>, num: u32) -> Option<Obj> {
        match table.get(&num)? {
            Entry::Free => None,
            Entry::Offset(off, _) => {
                let (n, _, obj) = parse_indirect(self.bytes, *off)?;
                (n == num).then_some(obj)
            }
            Entry::InStream(stm, index) => {
                if table.get(stm).is_some_and(|e| matches!(e, Entry::InStream(..))) {
                    return None;
                }
                let Obj::Stream(dict, raw) = self.load_with(table, *stm)? else {
                    return None;
                };
                let data = decode_stream(&dict, &raw)?;
                object_in_stream(&dict, &data, num, *index).0
            }
        }
    }

    /// Reads object `num` as it is now.
    pub fn load(&self, num: u32) -> Option<Obj> {
        self.load_with(&self.table, num)
    }

    /// Follows a reference (once); other values are returned as they are.
    pub fn resolve(&self, obj: &Obj) -> Option<Obj> {
        match obj {
            Obj::Ref(n, _) => self.load(*n),
            other => Some(other.clone()),
        }
    }

    /// The catalog's reference and dictionary.
    pub fn catalog(&self) -> Result<((u32, u16), Dict), SigningError> {
        let root = self
            .trailer
            .get("Root")
            .and_then(Obj::as_ref_id)
            .ok_or_else(|| bad("the trailer has no /Root"))?;
        match self.load(root.0) {
            Some(Obj::Dict(d)) => Ok((root, d)),
            _ => Err(bad("the catalog cannot be read")),
        }
    }

    /// References of every page, in order.
    pub fn pages(&self) -> Result<Vec<(u32, u16)>, SigningError> {
        let (_, catalog) = self.catalog()?;
        let root = catalog
            .get("Pages")
            .and_then(Obj::as_ref_id)
            .ok_or_else(|| bad("the catalog has no /Pages"))?;
        let mut out = Vec::new();
        let mut stack = vec![(root, 0usize)];
        let mut seen = BTreeSet::new();
        while let Some((id, depth)) = stack.pop() {
            if !seen.insert(id.0) || depth > MAX_DEPTH || seen.len() > 1_000_000 {
                return Err(bad("the page tree loops"));
            }
            let node = self
                .load(id.0)
                .ok_or_else(|| bad("a page tree node cannot be read"))?;
            let dict = node
                .as_dict()
                .ok_or_else(|| bad("a page tree node is not a dictionary"))?;
            match dict.get("Kids").and_then(|k| self.resolve(k)) {
                Some(Obj::Array(kids)) if !dict.name_is("Type", "Page") => {
                    for kid in kids.iter().rev() {
                        if let Some(k) = kid.as_ref_id() {
                            stack.push((k, depth + 1));
                        }
                    }
                }
                _ => out.push(id),
            }
        }
        Ok(out)
    }
}

/// Serialises `obj` in PDF syntax.
pub fn write_obj(out: &mut Vec<u8>, obj: &Obj) {
    match obj {
        Obj::Null => out.extend_from_slice(b"null"),
        Obj::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Obj::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Obj::Real(r) => out.extend_from_slice(r.as_bytes()),
        Obj::Name(n) => {
            out.push(b'/');
            out.extend_from_slice(n);
        }
        Obj::Str(s) => {
            out.push(b'(');
            for &b in s {
                match b {
                    b'(' | b')' | b'\\' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    0x20..=0x7e => out.push(b),
                    _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
                }
            }
            out.push(b')');
        }
        Obj::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_obj(out, item);
            }
            out.push(b']');
        }
        Obj::Dict(d) => write_dict(out, d),
        Obj::Ref(n, g) => out.extend_from_slice(format!("{n} {g} R").as_bytes()),
        Obj::Stream(d, data) => {
            let mut d = d.clone();
            d.set("Length", Obj::Int(i64::try_from(data.len()).unwrap_or(i64::MAX)));
            write_dict(out, &d);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\nendstream");
        }
    }
}

fn write_dict(out: &mut Vec<u8>, d: &Dict) {
    out.extend_from_slice(b"<<");
    for (k, v) in &d.0 {
        out.push(b'/');
        out.extend_from_slice(k);
        out.push(b' ');
        write_obj(out, v);
        out.push(b' ');
    }
    out.extend_from_slice(b">>");
}

/// An incremental update being assembled.
pub struct Update<'d, 'a> {
    doc: &'d PdfDoc<'a>,
    next: u32,
    objects: BTreeMap<u32, (u16, Vec<u8>)>,
}

impl<'d, 'a> Update<'d, 'a> {
    pub fn new(doc: &'d PdfDoc<'a>) -> Self {
        Self {
            doc,
            next: doc.size(),
            objects: BTreeMap::new(),
        }
    }

    /// A fresh object number.
    pub fn alloc(&mut self) -> u32 {
        let n = self.next;
        self.next += 1;
        n
    }

    /// Writes (or overwrites) object `num` with `obj`.
    pub fn put(&mut self, num: u32, obj: &Obj) {
        let mut body = Vec::new();
        write_obj(&mut body, obj);
        self.put_raw(num, body);
    }

    /// Writes object `num` with an already serialised body.
    pub fn put_raw(&mut self, num: u32, body: Vec<u8>) {
        let generation = match self.doc.table.get(&num) {
            Some(Entry::Offset(_, g)) => *g,
            _ => 0,
        };
        self.objects.insert(num, (generation, body));
    }

    /// The whole file with the update appended, and the offset of each written object.
    pub fn finish(self) -> Result<(Vec<u8>, BTreeMap<u32, usize>), SigningError> {
        let doc = self.doc;
        let mut out = Vec::with_capacity(doc.bytes.len() + 4096);
        out.extend_from_slice(doc.bytes);
        if !out.ends_with(b"\n") && !out.ends_with(b"\r") {
            out.push(b'\n');
        }
        let mut offsets = BTreeMap::new();
        for (num, (generation, body)) in &self.objects {
            offsets.insert(*num, out.len());
            out.extend_from_slice(format!("{num} {generation} obj\n").as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(b"xref\n");
        let nums: Vec<u32> = self.objects.keys().copied().collect();
        let mut i = 0;
        while let Some(&start) = nums.get(i) {
            let mut j = i;
            while nums
                .get(j + 1)
                .is_some_and(|&n| Some(n) == nums.get(j).map(|m| m + 1))
            {
                j += 1;
            }
            out.extend_from_slice(format!("{start} {}\n", j - i + 1).as_bytes());
            for n in nums.get(i..=j).unwrap_or_default() {
                let off = offsets.get(n).copied().unwrap_or(0);
                let generation = self.objects.get(n).map_or(0, |(g, _)| *g);
                out.extend_from_slice(format!("{off:010} {generation:05} n\r\n").as_bytes());
            }
            i = j + 1;
        }
        let mut trailer = Dict::new();
        trailer.set("Size", Obj::Int(i64::from(self.next)));
        for key in ["Root", "Info"] {
            if let Some(v) = doc.trailer.get(key) {
                trailer.set(key, v.clone());
            }
        }
        let first_id = match doc
            .trailer
            .get("ID")
            .and_then(Obj::as_array)
            .and_then(|a| a.first())
        {
            Some(Obj::Str(s)) => s.clone(),
            _ => random_id(),
        };
        trailer.set("ID", Obj::Array(vec![Obj::Str(first_id), Obj::Str(random_id())]));
        trailer.set(
            "Prev",
            Obj::Int(i64::try_from(doc.last_xref_offset()).unwrap_or(0)),
        );
        out.extend_from_slice(b"trailer\n");
        let mut t = Vec::new();
        write_dict(&mut t, &trailer);
        // IDs as hex strings, the conventional form.
        out.extend_from_slice(&hex_ids(t));
        out.extend_from_slice(format!("\nstartxref\n{xref}\n%%EOF\n").as_bytes());
        Ok((out, offsets))
    }
}

/// Rewrites the literal ID strings of a serialised trailer as hex strings.
fn hex_ids(trailer: Vec<u8>) -> Vec<u8> {
    let Some(at) = memchr::memmem::find(&trailer, b"/ID [") else {
        return trailer;
    };
    let mut lx = Lexer::new(&trailer, at + 4);
    let Some(Obj::Array(ids)) = lx.object(0) else {
        return trailer;
    };
    let mut out = trailer.get(..at).unwrap_or_default().to_vec();
    out.extend_from_slice(b"/ID [");
    for (i, id) in ids.iter().enumerate() {
        if let Obj::Str(s) = id {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'<');
            out.extend_from_slice(hex::encode_upper(s).as_bytes());
            out.push(b'>');
        }
    }
    out.push(b']');
    out.extend_from_slice(trailer.get(lx.pos..).unwrap_or_default());
    out
}

fn random_id() -> Vec<u8> {
    use rand::RngCore as _;
    let mut id = vec![0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}

/// A PDF with a signature placeholder, ready for [`crate::pades::sign_prepared`] or
/// [`fill_document_timestamp`].
#[derive(Debug, Clone)]
pub struct Prepared {
    pub bytes: Vec<u8>,
    pub byte_range: [usize; 4],
    /// The hex digits inside `/Contents <…>`.
    pub contents_hex: Range<usize>,
}

impl Prepared {
    /// SHA-256 over the ByteRange.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::Digest as _;
        let [_, a, b, c] = self.byte_range;
        let mut h = sha2::Sha256::new();
        h.update(self.bytes.get(..a).unwrap_or_default());
        h.update(self.bytes.get(b..b + c).unwrap_or_default());
        h.finalize().into()
    }
}

/// Optional entries of a new signature dictionary.
#[derive(Debug, Clone, Default)]
pub struct SignatureMeta {
    pub name: Option<String>,
    pub reason: Option<String>,
    pub location: Option<String>,
    /// Written as /M.
    pub signing_time: Option<time::OffsetDateTime>,
}

/// A PDF text string: ASCII as is, anything else UTF-16BE with a BOM.
pub fn text_string(s: &str) -> Obj {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Obj::Str(s.as_bytes().to_vec())
    } else {
        let mut v = vec![0xfe, 0xff];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        Obj::Str(v)
    }
}

/// `D:YYYYMMDDHHmmSS+HH'mm'`.
pub fn pdf_date(t: time::OffsetDateTime) -> String {
    let off = t.offset();
    let (h, m) = (off.whole_hours(), off.minutes_past_hour());
    let sign = if off.is_negative() { '-' } else { '+' };
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// Where a signature field's value dictionary is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An uncompressed indirect object whose `N G obj` starts at byte `offset`.
    Object { num: u32, offset: usize },
    /// An indirect object stored at `index` in the object stream `stream`: its bytes are not in the file
    /// as such.
    InStream { num: u32, stream: u32, index: u32 },
    /// Written inside the field (object `field`, if the field is indirect) rather than as an indirect
    /// object.
    Inline { field: Option<u32> },
}

/// A signature field's value, found through a revision's form (`/AcroForm /Fields`, following `/Kids`).
#[derive(Debug, Clone)]
pub struct FoundSignature {
    /// The field's full name as written: the `/T` strings of its ancestors and its own, outermost first.
    pub field_name: Vec<Vec<u8>>,
    pub place: Place,
    /// The value dictionary; `None` when `/V` names something that cannot be read as one.
    pub dict: Option<Dict>,
    /// The dictionary's entries as written, with the bytes each value spans; empty unless the dictionary
    /// is an uncompressed indirect object ([`Place::Object`]).
    pub entries: Vec<SpannedEntry>,
    /// The oldest revision (index into [`PdfDoc::sections`]) whose form lists it.
    pub revision: usize,
    /// Where it sits in the file (its object's offset, else its object stream's or its field's), for
    /// ordering.
    pub position: usize,
}

impl FoundSignature {
    /// Where the value of `key` is written in the file: only when the dictionary is an uncompressed
    /// indirect object that holds `key` exactly once.
    pub fn span_of(&self, key: &str) -> Option<Range<usize>> {
        let mut with_key = self.entries.iter().filter(|e| e.key == key.as_bytes());
        let first = with_key.next()?;
        with_key.next().is_none().then(|| first.span.clone())
    }

    fn same_value(&self, place: &Place, inline: Option<&Obj>) -> bool {
        self.place == *place
            && match place {
                Place::Inline { .. } => self.dict.as_ref() == inline.and_then(Obj::as_dict),
                _ => true,
            }
    }
}

/// The values of the signature fields of a file.
#[derive(Debug, Clone, Default)]
pub struct FormSignatures {
    /// Each value once, in order of discovery (oldest revision first, then field order).
    pub found: Vec<FoundSignature>,
    /// The most signature fields with a value that one revision's form lists.
    pub most_in_one_revision: usize,
    /// Some revision's form has two fields whose value is the same dictionary.
    pub shared_value: bool,
}

/// Stored objects read at most while walking the forms of a file (each is read once).
const MAX_FORM_LOADS: usize = 4096;
/// Bytes examined or decoded at most while walking the forms of a file (objects may overlap in a hostile
/// file, so this is not bounded by its size).
const MAX_FORM_BYTES: usize = 64 << 20;
/// Field tree nodes visited at most, over all revisions.
const MAX_FORM_VISITS: usize = 100_000;

/// An object's storage: its number, its entry, and its object stream's entry.
type StoreKey = (u32, Entry, Option<Entry>);
/// A decoded object stream: its dictionary and data.
type ObjectStream = (Dict, Vec<u8>);

/// Walks the forms of a file's revisions, reading each stored object and object stream once.
struct FormWalk<'d, 'a> {
    doc: &'d PdfDoc<'a>,
    objects: BTreeMap<StoreKey, Option<Obj>>,
    streams: BTreeMap<(u32, Entry), Option<ObjectStream>>,
    loads: usize,
    visits: usize,
    bytes: usize,
}

/// A field tree node waiting to be visited.
struct FieldNode {
    obj: Obj,
    name: Vec<Vec<u8>>,
    /// `/FT /Sig` inherited from an ancestor.
    sig: bool,
    depth: usize,
}

impl<'d, 'a> FormWalk<'d, 'a> {
    fn new(doc: &'d PdfDoc<'a>) -> Self {
        Self {
            doc,
            objects: BTreeMap::new(),
            streams: BTreeMap::new(),
            loads: 0,
            visits: 0,
            bytes: 0,
        }
    }

    /// Accounts for one read that examined or decoded `bytes`.
    fn spend(&mut self, bytes: usize) -> Result<(), SigningError> {
        self.loads += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.loads > MAX_FORM_LOADS {
            return Err(bad(format!(
                "the forms of the file need more than {MAX_FORM_LOADS} objects"
            )));
        }
        if self.bytes > MAX_FORM_BYTES {
            return Err(bad(format!(
                "the forms of the file need more than {} MiB to be read",
                MAX_FORM_BYTES >> 20
            )));
        }
        Ok(())
    }

    /// The decoded object stream `stm` of `table`.
    fn stream(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        stm: u32,
    ) -> Result<Option<&ObjectStream>, SigningError> {
        let Some(entry @ Entry::Offset(offset, _)) = table.get(&stm).copied() else {
            return Ok(None);
        };
        let key = (stm, entry);
        if !self.streams.contains_key(&key) {
            let (parsed, examined) = parse_indirect_counted(self.doc.bytes, offset);
            self.spend(examined)?;
            // One byte over what is left, so that a stream cut at the limit still exceeds it.
            let left = MAX_FORM_BYTES.saturating_sub(self.bytes).saturating_add(1) as u64;
            let decoded = match parsed {
                Some((n, _, Obj::Stream(dict, raw))) if n == stm => {
                    decode_stream_within(&dict, &raw, left).map(|data| (dict, data))
                }
                _ => None,
            };
            self.spend(decoded.as_ref().map_or(0, |(_, d)| d.len()))?;
            self.streams.insert(key, decoded);
        }
        Ok(self.streams.get(&key).and_then(Option::as_ref))
    }

    /// Object `num` through `table`.
    fn load(&mut self, table: &BTreeMap<u32, Entry>, num: u32) -> Result<Option<Obj>, SigningError> {
        let key = match table.get(&num).copied() {
            None | Some(Entry::Free) => return Ok(None),
            Some(e @ Entry::Offset(..)) => (num, e, None),
            Some(e @ Entry::InStream(stm, _)) => (num, e, table.get(&stm).copied()),
        };
        if let Some(hit) = self.objects.get(&key) {
            return Ok(hit.clone());
        }
        let (obj, examined) = match key.1 {
            Entry::Offset(offset, _) => {
                let (parsed, examined) = parse_indirect_counted(self.doc.bytes, offset);
                (parsed.and_then(|(n, _, o)| (n == num).then_some(o)), examined)
            }
            Entry::InStream(stm, index) => match self.stream(table, stm)? {
                Some((dict, data)) => object_in_stream(dict, data, num, index),
                None => (None, 0),
            },
            Entry::Free => (None, 0),
        };
        self.spend(examined)?;
        self.objects.insert(key, obj.clone());
        Ok(obj)
    }

    fn resolve(&mut self, table: &BTreeMap<u32, Entry>, obj: &Obj) -> Result<Option<Obj>, SigningError> {
        match obj {
            Obj::Ref(n, _) => self.load(table, *n),
            other => Ok(Some(other.clone())),
        }
    }

    /// Where the value `v` of a signature field (object `field` at `field_position`) is stored, and the
    /// position to order it by; `None` when `v` refers to no object (the field is unsigned).
    fn place_of(
        table: &BTreeMap<u32, Entry>,
        v: &Obj,
        field: Option<u32>,
        field_position: usize,
    ) -> Option<(Place, usize)> {
        match v {
            Obj::Ref(num, _) => match table.get(num)? {
                Entry::Free => None,
                Entry::Offset(offset, _) => Some((
                    Place::Object {
                        num: *num,
                        offset: *offset,
                    },
                    *offset,
                )),
                Entry::InStream(stream, index) => {
                    let position = match table.get(stream) {
                        Some(Entry::Offset(o, _)) => *o,
                        _ => usize::MAX,
                    };
                    let place = Place::InStream {
                        num: *num,
                        stream: *stream,
                        index: *index,
                    };
                    Some((place, position))
                }
            },
            _ => Some((Place::Inline { field }, field_position)),
        }
    }

    /// Reads the value dictionary stored at `place`.
    fn read_value(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        place: &Place,
        v: &Obj,
    ) -> Result<(Option<Dict>, Vec<SpannedEntry>), SigningError> {
        Ok(match place {
            Place::Object { num, offset } => {
                let (parsed, examined) = parse_indirect_entries(self.doc.bytes, *offset);
                self.spend(examined)?;
                match parsed {
                    Some((n, _, entries)) if n == *num => {
                        let kept = entries
                            .iter()
                            .filter(|e| e.value != Obj::Null)
                            .map(|e| (e.key.clone(), e.value.clone()));
                        (Some(Dict(kept.collect())), entries)
                    }
                    _ => (None, Vec::new()),
                }
            }
            Place::InStream { num, .. } => {
                let obj = self.load(table, *num)?;
                (obj.as_ref().and_then(Obj::as_dict).cloned(), Vec::new())
            }
            Place::Inline { .. } => (v.as_dict().cloned(), Vec::new()),
        })
    }

    /// Adds the signature values that the form of the revision with object table `table` and catalog
    /// `root` lists, stopping once it lists more than `stop_after`.
    fn revision(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        root: u32,
        revision: usize,
        out: &mut FormSignatures,
        stop_after: usize,
    ) -> Result<(), SigningError> {
        let Some(Obj::Dict(catalog)) = self.load(table, root)? else {
            return Ok(());
        };
        let acro = match catalog.get("AcroForm") {
            Some(a) => self.resolve(table, a)?,
            None => None,
        };
        let fields = match acro.as_ref().and_then(Obj::as_dict).and_then(|a| a.get("Fields")) {
            Some(f) => self.resolve(table, f)?,
            None => None,
        };
        let Some(Obj::Array(fields)) = fields else {
            return Ok(());
        };
        let mut stack: Vec<FieldNode> = fields
            .into_iter()
            .rev()
            .map(|obj| FieldNode {
                obj,
                name: Vec::new(),
                sig: false,
                depth: 0,
            })
            .collect();
        let mut seen = BTreeSet::new();
        // The value (index into out.found) of each signed field of this revision.
        let mut signed: Vec<usize> = Vec::new();
        while let Some(node) = stack.pop() {
            self.visits += 1;
            if self.visits > MAX_FORM_VISITS {
                return Err(bad(format!(
                    "the forms of the file have more than {MAX_FORM_VISITS} fields"
                )));
            }
            if node.depth > MAX_DEPTH {
                return Err(bad("the form's field tree is too deep"));
            }
            let field = node.obj.as_ref_id().map(|r| r.0);
            if field.is_some_and(|n| !seen.insert(n)) {
                continue;
            }
            let Some(Obj::Dict(d)) = self.resolve(table, &node.obj)? else {
                continue;
            };
            let mut name = node.name.clone();
            if let Some(Obj::Str(t)) = d.get("T") {
                name.push(t.clone());
            }
            let sig = match d.get("FT") {
                Some(Obj::Name(ft)) => ft == b"Sig",
                _ => node.sig,
            };
            let position = match field.and_then(|n| table.get(&n)) {
                Some(Entry::Offset(o, _)) => *o,
                _ => usize::MAX,
            };
            let value = d.get("V").filter(|_| sig);
            if let Some((v, (place, at))) =
                value.and_then(|v| Some((v, Self::place_of(table, v, field, position)?)))
            {
                out.most_in_one_revision = out.most_in_one_revision.max(signed.len() + 1);
                if signed.len() >= stop_after {
                    return Ok(());
                }
                let known = out.found.iter().position(|f| f.same_value(&place, Some(v)));
                let index = match known {
                    Some(i) => i,
                    None => {
                        let (dict, entries) = self.read_value(table, &place, v)?;
                        out.found.push(FoundSignature {
                            field_name: name.clone(),
                            place,
                            dict,
                            entries,
                            revision,
                            position: at,
                        });
                        out.found.len() - 1
                    }
                };
                // Fields are visited once each, so a repeated value is a second field's.
                if signed.contains(&index) {
                    out.shared_value = true;
                }
                signed.push(index);
            }
            if let Some(kids) = d.get("Kids") {
                if let Some(Obj::Array(kids)) = self.resolve(table, kids)? {
                    for obj in kids.into_iter().rev() {
                        stack.push(FieldNode {
                            obj,
                            name: name.clone(),
                            sig,
                            depth: node.depth + 1,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The signature fields' values (`/FT /Sig` fields with a `/V`, found through `/AcroForm /Fields` and
/// `/Kids`): of the newest form only, or with `every_revision` of each revision's form, so that a later
/// update that drops a field from the form does not hide the signature it holds. The walk stops once one
/// form lists more than `stop_after` values; it fails when the forms need more work than a genuine file.
pub fn signature_fields(
    doc: &PdfDoc<'_>,
    every_revision: bool,
    stop_after: usize,
) -> Result<FormSignatures, SigningError> {
    let mut walk = FormWalk::new(doc);
    let mut out = FormSignatures::default();
    if every_revision {
        let mut table = BTreeMap::new();
        let mut root = None;
        for (k, section) in doc.sections.iter().enumerate() {
            table.extend(section.entries.iter().map(|(n, e)| (*n, *e)));
            if let Some(r) = section.trailer.get("Root").and_then(Obj::as_ref_id) {
                root = Some(r.0);
            }
            if let Some(r) = root {
                walk.revision(&table, r, k, &mut out, stop_after)?;
            }
            if out.most_in_one_revision > stop_after || out.found.len() > stop_after {
                break;
            }
        }
    } else if let Some(r) = doc.trailer.get("Root").and_then(Obj::as_ref_id) {
        let newest = doc.sections.len().saturating_sub(1);
        walk.revision(&doc.table, r.0, newest, &mut out, stop_after)?;
    }
    Ok(out)
}

/// The signature value dictionaries of the newest form's signature fields, in field order.
pub fn signature_values(doc: &PdfDoc<'_>) -> Vec<Dict> {
    signature_fields(doc, false, usize::MAX)
        .map(|s| s.found.into_iter().filter_map(|f| f.dict).collect())
        .unwrap_or_default()
}

/// Names of the terminal fields reachable from the AcroForm /Fields (with their parents' names).
fn field_names(doc: &PdfDoc<'_>, fields: &[Obj]) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<(Obj, Vec<u8>, usize)> = fields.iter().map(|f| (f.clone(), Vec::new(), 0)).collect();
    while let Some((f, prefix, depth)) = stack.pop() {
        if depth > MAX_DEPTH || out.len() > 100_000 {
            break;
        }
        let Some(Obj::Dict(d)) = doc.resolve(&f) else {
            continue;
        };
        let mut name = prefix.clone();
        if let Some(Obj::Str(t)) = d.get("T") {
            if !name.is_empty() {
                name.push(b'.');
            }
            name.extend_from_slice(t);
        }
        out.insert(name.clone());
        if let Some(Obj::Array(kids)) = d.get("Kids").and_then(|k| doc.resolve(k)) {
            for k in kids {
                stack.push((k, name.clone(), depth + 1));
            }
        }
    }
    out
}

/// Adds a signature field holding a fresh value dictionary `sig_body` (serialised, with placeholders) and
/// returns the prepared file. `field_name` `None` picks an unused name with `default_prefix`.
fn prepare_with(
    pdf: &[u8],
    field_name: Option<&str>,
    default_prefix: &str,
    placeholder_size: usize,
    dict_head: &str,
    dict_tail: &str,
) -> Result<Prepared, SigningError> {
    if placeholder_size == 0 || placeholder_size > 1 << 20 {
        return Err(bad("the placeholder size must be between 1 byte and 1 MiB"));
    }
    let doc = PdfDoc::parse(pdf)?;
    let (root, mut catalog) = doc.catalog()?;
    let mut up = Update::new(&doc);
    let mut catalog_changed = false;

    // The AcroForm, direct or indirect.
    let acro_ref = catalog.get("AcroForm").and_then(Obj::as_ref_id);
    let mut acro = match catalog.get("AcroForm").and_then(|a| doc.resolve(a)) {
        Some(Obj::Dict(d)) => d,
        _ => Dict::new(),
    };
    let fields_ref = acro.get("Fields").and_then(Obj::as_ref_id);
    let mut fields: Vec<Obj> = match acro.get("Fields").and_then(|f| doc.resolve(f)) {
        Some(Obj::Array(a)) => a,
        _ => Vec::new(),
    };
    let existing = field_names(&doc, &fields);
    let name: Vec<u8> = match field_name {
        Some(n) => {
            let n = n.as_bytes().to_vec();
            if n.is_empty() || n.contains(&b'.') {
                return Err(bad("a field name must be non-empty and contain no '.'"));
            }
            if existing.contains(&n) {
                return Err(bad(format!(
                    "the field {} already exists",
                    String::from_utf8_lossy(&n)
                )));
            }
            n
        }
        None => (1..)
            .map(|i| format!("{default_prefix}{i}").into_bytes())
            .find(|n| !existing.contains(n))
            .unwrap_or_default(),
    };

    // The last page and its annotations.
    let page = *doc
        .pages()?
        .last()
        .ok_or_else(|| bad("the document has no page"))?;
    let mut page_dict = match doc.load(page.0) {
        Some(Obj::Dict(d)) => d,
        _ => return Err(bad("the last page cannot be read")),
    };

    let sig_num = up.alloc();
    let field_num = up.alloc();
    let mut field = Dict::new();
    field.set("Type", Obj::name("Annot"));
    field.set("Subtype", Obj::name("Widget"));
    field.set("FT", Obj::name("Sig"));
    field.set("T", Obj::Str(name));
    field.set("V", Obj::Ref(sig_num, 0));
    field.set("F", Obj::Int(132));
    field.set("Rect", Obj::Array(vec![Obj::Int(0); 4]));
    field.set("P", Obj::Ref(page.0, page.1));
    up.put(field_num, &Obj::Dict(field));

    let field_ref = Obj::Ref(field_num, 0);
    match page_dict.get("Annots").cloned() {
        Some(Obj::Ref(n, _)) => {
            let mut annots = match doc.load(n) {
                Some(Obj::Array(a)) => a,
                _ => Vec::new(),
            };
            annots.push(field_ref.clone());
            up.put(n, &Obj::Array(annots));
        }
        Some(Obj::Array(mut a)) => {
            a.push(field_ref.clone());
            page_dict.set("Annots", Obj::Array(a));
            up.put(page.0, &Obj::Dict(page_dict));
        }
        _ => {
            page_dict.set("Annots", Obj::Array(vec![field_ref.clone()]));
            up.put(page.0, &Obj::Dict(page_dict));
        }
    }

    fields.push(field_ref);
    match fields_ref {
        Some((n, _)) => up.put(n, &Obj::Array(fields)),
        None => acro.set("Fields", Obj::Array(fields)),
    }
    acro.set("SigFlags", Obj::Int(3));
    match acro_ref {
        Some((n, _)) => up.put(n, &Obj::Dict(acro)),
        None => {
            catalog.set("AcroForm", Obj::Dict(acro));
            catalog_changed = true;
        }
    }
    if catalog_changed {
        up.put(root.0, &Obj::Dict(catalog));
    }

    // The signature value dictionary with fixed-width placeholders.
    let slot = " ".repeat(44);
    let body = format!(
        "<<{dict_head} /ByteRange [{slot}] /Contents <{}>{dict_tail}>>",
        "0".repeat(2 * placeholder_size)
    );
    up.put_raw(sig_num, body.into_bytes());
    let (mut bytes, offsets) = up.finish()?;

    let sig_at = offsets
        .get(&sig_num)
        .copied()
        .ok_or_else(|| bad("internal: no signature object"))?;
    let find = |bytes: &[u8], needle: &[u8]| {
        bytes
            .get(sig_at..)
            .and_then(|r| memchr::memmem::find(r, needle))
            .map(|p| sig_at + p)
    };
    let open = find(&bytes, b"/Contents <").ok_or_else(|| bad("internal: no /Contents"))? + 10;
    let close = open + 1 + 2 * placeholder_size;
    let byte_range = [0, open, close + 1, bytes.len() - close - 1];
    let values = format!("0 {} {} {}", byte_range[1], byte_range[2], byte_range[3]);
    let br = find(&bytes, b"/ByteRange [").ok_or_else(|| bad("internal: no /ByteRange"))? + 12;
    let target = bytes
        .get_mut(br..br + values.len())
        .ok_or_else(|| bad("internal: ByteRange slot"))?;
    if values.len() > slot.len() {
        return Err(bad("the file is too large for the ByteRange slot"));
    }
    target.copy_from_slice(values.as_bytes());
    Ok(Prepared {
        bytes,
        byte_range,
        contents_hex: open + 1..close,
    })
}

fn meta_entries(meta: &SignatureMeta) -> String {
    let mut out = Vec::new();
    let mut add = |key: &str, value: Obj| {
        out.extend_from_slice(format!(" /{key} ").as_bytes());
        write_obj(&mut out, &value);
    };
    if let Some(n) = &meta.name {
        add("Name", text_string(n));
    }
    if let Some(r) = &meta.reason {
        add("Reason", text_string(r));
    }
    if let Some(l) = &meta.location {
        add("Location", text_string(l));
    }
    if let Some(t) = meta.signing_time {
        add("M", Obj::Str(pdf_date(t).into_bytes()));
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends a new invisible signature field `field_name` (widget on the last page) and a PAdES signature
/// dictionary (`/SubFilter /ETSI.CAdES.detached`) whose `/Contents` reserves `placeholder_size` bytes.
/// Earlier revisions, and so earlier signatures, are left untouched.
pub fn prepare_signature(
    pdf: &[u8],
    field_name: &str,
    placeholder_size: usize,
    meta: &SignatureMeta,
) -> Result<Prepared, SigningError> {
    prepare_with(
        pdf,
        Some(field_name),
        "Signature",
        placeholder_size,
        " /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached",
        &meta_entries(meta),
    )
}

/// Appends a document timestamp field (`/Type /DocTimeStamp`, `/SubFilter /ETSI.RFC3161`) with
/// `placeholder_size` bytes reserved for the RFC 3161 token.
pub fn prepare_document_timestamp(pdf: &[u8], placeholder_size: usize) -> Result<Prepared, SigningError> {
    prepare_with(
        pdf,
        None,
        "DocTimeStamp",
        placeholder_size,
        " /Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161",
        "",
    )
}

/// Writes `token_der` (an RFC 3161 TimeStampToken over [`Prepared::digest`]) into the placeholder.
pub fn fill_document_timestamp(prepared: &mut Prepared, token_der: &[u8]) -> Result<(), SigningError> {
    let available = prepared.contents_hex.len() / 2;
    if token_der.len() > available {
        return Err(SigningError::PlaceholderTooSmall {
            needed: token_der.len(),
            available,
        });
    }
    let area = prepared
        .bytes
        .get_mut(prepared.contents_hex.clone())
        .ok_or_else(|| bad("the /Contents range lies outside the file"))?;
    area.fill(b'0');
    let hex = hex::encode_upper(token_der);
    let dst = area
        .get_mut(..hex.len())
        .ok_or_else(|| bad("the token does not fit"))?;
    dst.copy_from_slice(hex.as_bytes());
    Ok(())
}

/// Adds a document timestamp: prepares, asks `tsa` for a token over the ByteRange digest, fills it.
pub fn add_document_timestamp(
    pdf: &[u8],
    placeholder_size: usize,
    tsa: &dyn crate::tsa::TimestampSource,
) -> Result<Vec<u8>, SigningError> {
    let mut prepared = prepare_document_timestamp(pdf, placeholder_size)?;
    let token = tsa.timestamp(&prepared.digest())?;
    fill_document_timestamp(&mut prepared, &token)?;
    Ok(prepared.bytes)
}

/// Adds a further PAdES signature by incremental update, signed by `signer` (B-B).
pub fn add_signature(
    pdf: &[u8],
    field_name: &str,
    placeholder_size: usize,
    meta: &SignatureMeta,
    signer: &dyn crate::Signer,
) -> Result<Vec<u8>, SigningError> {
    let mut p = prepare_signature(pdf, field_name, placeholder_size, meta)?;
    crate::pades::sign_prepared(&mut p.bytes, p.byte_range, p.contents_hex.clone(), signer)?;
    Ok(p.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
