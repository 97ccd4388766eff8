//! Cross-reference tables and streams, object streams, and loading objects revision by revision.
use super::*;

/// The offset in the last `startxref` of the file (searched in its last 2 KiB).
pub(super) fn last_startxref(bytes: &[u8]) -> Option<usize> {
    let tail_start = bytes.len().saturating_sub(2048);
    let tail = bytes.get(tail_start..)?;
    let at = memchr::memmem::rfind(tail, b"startxref")?;
    let mut lx = Lexer::new(bytes, tail_start + at + 9);
    usize::try_from(lx.uint()?).ok()
}

/// End of the revision whose cross-reference data starts at `offset`: after the next `%%EOF` and EOL.
pub(super) fn revision_end(bytes: &[u8], offset: usize) -> usize {
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

pub(super) fn parse_classic(bytes: &[u8], offset: usize) -> Option<(BTreeMap<u32, Entry>, Dict)> {
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

pub(super) fn parse_xref_stream(
    bytes: &[u8],
    offset: usize,
    decode_left: &mut u64,
) -> Option<(BTreeMap<u32, Entry>, Dict)> {
    let (_, _, obj) = parse_indirect(bytes, offset)?;
    let Obj::Stream(dict, raw) = obj else {
        return None;
    };
    if !dict.name_is("Type", "XRef") {
        return None;
    }
    let data = decode_stream_within(&dict, &raw, *decode_left)?;
    *decode_left = decode_left
        .checked_sub(u64::try_from(data.len()).ok()?)?
        .checked_sub(1)?;
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
pub(super) fn object_in_stream(dict: &Dict, data: &[u8], num: u32, index: u32) -> (Option<Obj>, usize) {
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
        Self::parse_within(bytes, MAX_DECODED)
    }

    /// As [`PdfDoc::parse`], the streams of the document decoding to at most `decode_budget` bytes in all.
    pub fn parse_within(bytes: &'a [u8], decode_budget: u64) -> Result<Self, SigningError> {
        let mut next = Some(last_startxref(bytes).ok_or_else(|| bad("no startxref"))?);
        let mut seen = BTreeSet::new();
        let mut sections = Vec::new();
        let mut decode_left = decode_budget;
        while let Some(offset) = next {
            if !seen.insert(offset) || sections.len() >= MAX_SECTIONS {
                return Err(bad("the cross-reference chain loops"));
            }
            let (mut entries, trailer, is_stream) = match parse_classic(bytes, offset) {
                Some((e, t)) => (e, t, false),
                None => {
                    let (e, t) = parse_xref_stream(bytes, offset, &mut decode_left)
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
                if let Some((more, _)) = parse_xref_stream(bytes, stm, &mut decode_left) {
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
            decode_left: std::sync::atomic::AtomicU64::new(decode_left),
            decode_spent: std::sync::atomic::AtomicBool::new(false),
            object_streams: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Decodes one of this document's streams within what is left of its decoding budget; `None` for a
    /// stream that does not decode or would exceed it (then [`PdfDoc::decode_budget_spent`] says so).
    pub fn decode(&self, dict: &Dict, raw: &[u8]) -> Option<Vec<u8>> {
        use std::sync::atomic::Ordering::Relaxed;
        let left = self.decode_left.load(Relaxed);
        let data = decode_stream_within(dict, raw, left)?;
        let used = u64::try_from(data.len()).unwrap_or(u64::MAX);
        if used >= left {
            // Cut at the budget: the stream may be longer still.
            self.decode_left.store(0, Relaxed);
            self.decode_spent.store(true, Relaxed);
            return None;
        }
        self.decode_left.store(left - used, Relaxed);
        Some(data)
    }

    /// Whether a stream was refused because the document's streams decode to more than [`MAX_DECODED`].
    pub fn decode_budget_spent(&self) -> bool {
        self.decode_spent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An object stream, decoded once per document.
    fn object_stream(
        &self,
        table: &BTreeMap<u32, Entry>,
        num: u32,
    ) -> Option<std::sync::Arc<(Dict, Vec<u8>)>> {
        let Some(Entry::Offset(offset, _)) = table.get(&num) else {
            return None;
        };
        if let Some(found) = self
            .object_streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(offset)
        {
            return Some(found.clone());
        }
        let Obj::Stream(dict, raw) = self.load_with(table, num)? else {
            return None;
        };
        let data = self.decode(&dict, &raw)?;
        let decoded = std::sync::Arc::new((dict, data));
        self.object_streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(*offset, decoded.clone());
        Some(decoded)
    }

    pub(super) fn merge(sections: &[Section], upto: usize) -> BTreeMap<u32, Entry> {
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
                let stream = self.object_stream(table, *stm)?;
                let (dict, data) = stream.as_ref();
                object_in_stream(dict, data, num, *index).0
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
