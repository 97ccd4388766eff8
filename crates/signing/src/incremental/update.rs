//! Writing objects and appending an incremental update that leaves every earlier byte alone.
use super::*;

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

pub(super) fn write_dict(out: &mut Vec<u8>, d: &Dict) {
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
pub(super) fn hex_ids(trailer: Vec<u8>) -> Vec<u8> {
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

pub(super) fn random_id() -> Vec<u8> {
    use rand::RngCore as _;
    let mut id = vec![0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}
