//! The PDF lexer: objects, indirect objects and the bytes each dictionary entry spans.
use super::*;

/// A cursor over PDF bytes that parses objects.
pub(super) struct Lexer<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    /// The furthest position examined, lookahead included (for work budgets).
    pub(super) far: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(buf: &'a [u8], pos: usize) -> Self {
        Self { buf, pos, far: pos }
    }

    /// How far the reading went, lookahead included.
    pub(super) fn reached(&self) -> usize {
        self.far.max(self.pos)
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    pub(super) fn skip_ws(&mut self) {
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

    pub(super) fn starts_with(&self, s: &[u8]) -> bool {
        self.buf.get(self.pos..).is_some_and(|r| r.starts_with(s))
    }

    /// A bare keyword or number token.
    pub(super) fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| !is_delim(b)) {
            self.pos += 1;
        }
        self.far = self.far.max(self.pos);
        self.buf.get(start..self.pos).unwrap_or_default()
    }

    pub(super) fn keyword(&mut self, kw: &[u8]) -> bool {
        self.skip_ws();
        let save = self.pos;
        if self.token() == kw {
            true
        } else {
            self.pos = save;
            false
        }
    }

    pub(super) fn uint(&mut self) -> Option<u64> {
        self.skip_ws();
        let save = self.pos;
        let t = self.token();
        if t.is_empty() || t.len() > 18 || !t.iter().all(u8::is_ascii_digit) {
            self.pos = save;
            return None;
        }
        std::str::from_utf8(t).ok()?.parse().ok()
    }

    pub(super) fn object(&mut self, depth: usize) -> Option<Obj> {
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
    pub(super) fn dict_entries(&mut self, depth: usize) -> Option<Vec<SpannedEntry>> {
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

    pub(super) fn literal(&mut self) -> Option<Vec<u8>> {
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

    pub(super) fn hex(&mut self) -> Option<Vec<u8>> {
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

/// Parses `N G obj <object> [stream…endstream]` at `offset`.
pub(super) fn parse_indirect(bytes: &[u8], offset: usize) -> Option<(u32, u16, Obj)> {
    read_indirect(&mut Lexer::new(bytes, offset))
}

/// As [`parse_indirect`], with the number of bytes the reading examined, whether or not it succeeded.
pub(super) fn parse_indirect_counted(bytes: &[u8], offset: usize) -> (Option<(u32, u16, Obj)>, usize) {
    let mut lx = Lexer::new(bytes, offset);
    let parsed = read_indirect(&mut lx);
    (parsed, lx.reached().saturating_sub(offset))
}

pub(super) fn read_indirect(lx: &mut Lexer<'_>) -> Option<(u32, u16, Obj)> {
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
pub(super) fn parse_indirect_entries(
    bytes: &[u8],
    offset: usize,
) -> (Option<(u32, u16, Vec<SpannedEntry>)>, usize) {
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
