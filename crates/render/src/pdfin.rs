//! PDF input: validation (page tree) and import of each page as a Form XObject, deep-copying its content
//! and resources into the output with new object numbers.

use std::collections::HashMap;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::image::check_inches;
use crate::writer::{deflate, num, write_name, Writer};
use crate::{InputError, InputKind};

/// Larger decompressed page content is refused.
const MAX_CONTENT: usize = 64 << 20;

fn corrupt(detail: impl Into<String>) -> InputError {
    InputError::Corrupt {
        kind: InputKind::Pdf,
        detail: detail.into(),
    }
}

/// Parses the file with lopdf, turning any panic inside the parser into `Corrupt`.
fn load(bytes: &[u8]) -> Result<Document, InputError> {
    let doc = catch_unwind(AssertUnwindSafe(|| Document::load_mem(bytes)))
        .map_err(|_| corrupt("the PDF parser failed on this file"))?
        .map_err(|e| corrupt(format!("cannot parse: {e}")))?;
    if doc.trailer.get(b"Encrypt").is_ok() {
        return Err(corrupt("encrypted PDFs cannot be copied"));
    }
    Ok(doc)
}

/// One page's geometry and where its content lives.
struct PageGeom {
    id: ObjectId,
    media: [f32; 4],
    rotate: i64,
}

fn number(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) if r.is_finite() => Some(*r),
        _ => None,
    }
}

/// An attribute of the page or of its ancestors (MediaBox, Resources, Rotate are inheritable).
fn inherited<'d>(doc: &'d Document, page: &'d Dictionary, key: &[u8]) -> Option<&'d Object> {
    let mut dict = page;
    for _ in 0..64 {
        if let Ok(v) = dict.get(key) {
            return resolve(doc, v);
        }
        let parent = dict.get(b"Parent").ok()?.as_reference().ok()?;
        dict = doc.get_object(parent).ok()?.as_dict().ok()?;
    }
    None
}

fn resolve<'d>(doc: &'d Document, o: &'d Object) -> Option<&'d Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    }
}

fn pages(doc: &Document) -> Result<Vec<PageGeom>, InputError> {
    let ids = catch_unwind(AssertUnwindSafe(|| doc.get_pages()))
        .map_err(|_| corrupt("the page tree cannot be read"))?;
    if ids.is_empty() {
        return Err(InputError::Empty);
    }
    let mut out = Vec::with_capacity(ids.len());
    for (n, id) in ids {
        let page = doc
            .get_object(id)
            .and_then(Object::as_dict)
            .map_err(|_| corrupt(format!("page {n} is not a dictionary")))?;
        let media = inherited(doc, page, b"MediaBox")
            .and_then(|o| o.as_array().ok())
            .and_then(|a| {
                let v: Vec<f32> = a
                    .iter()
                    .filter_map(|o| resolve(doc, o).and_then(number))
                    .collect();
                match v.as_slice() {
                    &[x0, y0, x1, y1] => Some([x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]),
                    _ => None,
                }
            })
            .ok_or_else(|| corrupt(format!("page {n} has no valid MediaBox")))?;
        let (w, h) = (media[2] - media[0], media[3] - media[1]);
        if w < 1.0 || h < 1.0 {
            return Err(InputError::Empty);
        }
        check_inches(w / 72.0, h / 72.0)?;
        let rotate = inherited(doc, page, b"Rotate")
            .and_then(|o| o.as_i64().ok())
            .unwrap_or(0)
            .rem_euclid(360);
        if rotate % 90 != 0 {
            return Err(corrupt(format!("page {n} has /Rotate {rotate}")));
        }
        out.push(PageGeom { id, media, rotate });
    }
    Ok(out)
}

/// Number of pages of a PDF input.
pub(crate) fn inspect_pdf(bytes: &[u8]) -> Result<usize, InputError> {
    let doc = load(bytes)?;
    Ok(pages(&doc)?.len())
}

/// A page of an input PDF, written as a Form XObject.
pub(crate) struct ImportedPage {
    pub form: u32,
    /// Displayed size in points (after /Rotate).
    pub width: f32,
    pub height: f32,
    /// Matrix placing the form (in MediaBox space) on a page whose lower-left corner is the origin.
    pub matrix: [f32; 6],
}

/// A parsed input PDF with its pages' geometry.
pub(crate) struct PdfInput {
    doc: Document,
    geoms: Vec<PageGeom>,
}

impl PdfInput {
    pub fn open(bytes: &[u8]) -> Result<Self, InputError> {
        let doc = load(bytes)?;
        let geoms = pages(&doc)?;
        Ok(PdfInput { doc, geoms })
    }

    pub fn page_count(&self) -> usize {
        self.geoms.len()
    }

    /// Imports every page as a Form XObject into `w`.
    pub fn import(&self, w: &mut Writer) -> Result<Vec<ImportedPage>, InputError> {
        import_pdf(&self.doc, &self.geoms, w)
    }
}

fn import_pdf(doc: &Document, geoms: &[PageGeom], w: &mut Writer) -> Result<Vec<ImportedPage>, InputError> {
    let mut copier = Copier {
        doc,
        map: HashMap::new(),
        queue: Vec::new(),
    };
    let mut out = Vec::with_capacity(geoms.len());
    for (i, g) in geoms.iter().enumerate() {
        let page = doc
            .get_object(g.id)
            .and_then(Object::as_dict)
            .map_err(|e| corrupt(e.to_string()))?;
        // Content: one stream kept as it is, or several decoded and joined.
        let contents = page.get(b"Contents").ok().and_then(|o| resolve(doc, o));
        let mut streams: Vec<&lopdf::Stream> = Vec::new();
        match contents {
            None | Some(Object::Null) => {}
            Some(Object::Stream(s)) => streams.push(s),
            Some(Object::Array(a)) => {
                for o in a {
                    match resolve(doc, o) {
                        Some(Object::Stream(s)) => streams.push(s),
                        _ => {
                            return Err(corrupt(format!(
                                "page {}: a /Contents entry is not a stream",
                                i + 1
                            )))
                        }
                    }
                }
            }
            Some(_) => return Err(corrupt(format!("page {}: /Contents is not a stream", i + 1))),
        }
        let mut filter_entries = Vec::new();
        let data: Vec<u8> = if let [s] = streams.as_slice() {
            let s = *s;
            for key in [&b"Filter"[..], b"DecodeParms"] {
                if let Ok(v) = s.dict.get(key) {
                    filter_entries.push(b' ');
                    write_name(&mut filter_entries, key);
                    filter_entries.push(b' ');
                    copier.write_obj(w, &mut filter_entries, v, 0);
                }
            }
            s.content.clone()
        } else {
            let mut joined = Vec::new();
            for s in &streams {
                let part = if s.dict.get(b"Filter").is_ok() {
                    s.decompressed_content_with_limit(MAX_CONTENT)
                        .map_err(|e| corrupt(format!("page {}: content cannot be decoded: {e}", i + 1)))?
                } else {
                    s.content.clone()
                };
                joined.extend_from_slice(&part);
                joined.push(b'\n');
            }
            filter_entries.extend_from_slice(b" /Filter /FlateDecode");
            deflate(&joined)
        };
        let mut dict = Vec::with_capacity(256);
        let m = g.media;
        let _ = write!(
            dict,
            "/Type /XObject /Subtype /Form /BBox [{} {} {} {}]",
            num(m[0]),
            num(m[1]),
            num(m[2]),
            num(m[3])
        );
        dict.extend_from_slice(b" /Resources ");
        match inherited(doc, page, b"Resources") {
            Some(r @ Object::Dictionary(_)) => copier.write_obj(w, &mut dict, r, 0),
            _ => dict.extend_from_slice(b"<<>>"),
        }
        // A transparency group on the source page stays a group on the form.
        if let Some(g @ Object::Dictionary(_)) = page.get(b"Group").ok().and_then(|o| resolve(doc, o)) {
            dict.extend_from_slice(b" /Group ");
            copier.write_obj(w, &mut dict, g, 0);
        }
        dict.extend_from_slice(&filter_entries);
        let form = w.alloc();
        w.stream(form, &String::from_utf8_lossy(&dict), &data);
        copier.drain(w)?;
        let (mw, mh) = (m[2] - m[0], m[3] - m[1]);
        let (width, height, matrix) = match g.rotate {
            90 => (mh, mw, [0.0, -1.0, 1.0, 0.0, -m[1], m[2]]),
            180 => (mw, mh, [-1.0, 0.0, 0.0, -1.0, m[2], m[3]]),
            270 => (mh, mw, [0.0, 1.0, -1.0, 0.0, m[3], -m[0]]),
            _ => (mw, mh, [1.0, 0.0, 0.0, 1.0, -m[0], -m[1]]),
        };
        out.push(ImportedPage {
            form,
            width,
            height,
            matrix,
        });
    }
    Ok(out)
}

/// Copies objects reachable from page resources, giving them new numbers in the output.
struct Copier<'d> {
    doc: &'d Document,
    map: HashMap<ObjectId, u32>,
    queue: Vec<ObjectId>,
}

impl Copier<'_> {
    fn id_for(&mut self, w: &mut Writer, old: ObjectId) -> u32 {
        if let Some(&id) = self.map.get(&old) {
            return id;
        }
        let id = w.alloc();
        self.map.insert(old, id);
        self.queue.push(old);
        id
    }

    /// Writes every object queued so far (and those they reach).
    fn drain(&mut self, w: &mut Writer) -> Result<(), InputError> {
        while let Some(old) = self.queue.pop() {
            let Some(&id) = self.map.get(&old) else {
                continue;
            };
            let mut body = Vec::new();
            match self.doc.objects.get(&old) {
                // A page reached from resources (e.g. an annotation's /P) is not copied.
                Some(Object::Dictionary(d))
                    if d.get(b"Type").and_then(Object::as_name).ok() == Some(b"Page") =>
                {
                    body.extend_from_slice(b"null");
                }
                Some(Object::Stream(s)) => {
                    body.extend_from_slice(b"<<");
                    self.write_dict_entries(w, &mut body, &s.dict, 1);
                    let _ = write!(body, " /Length {}>>\nstream\n", s.content.len());
                    body.extend_from_slice(&s.content);
                    body.extend_from_slice(b"\nendstream");
                }
                Some(o) => self.write_obj(w, &mut body, o, 1),
                None => body.extend_from_slice(b"null"),
            }
            w.obj(id, &body);
        }
        Ok(())
    }

    fn write_dict_entries(&mut self, w: &mut Writer, out: &mut Vec<u8>, d: &Dictionary, depth: usize) {
        for (k, v) in d.iter() {
            if k == b"Length" || k == b"Parent" {
                continue;
            }
            out.push(b' ');
            write_name(out, k);
            out.push(b' ');
            self.write_obj(w, out, v, depth + 1);
        }
    }

    fn write_obj(&mut self, w: &mut Writer, out: &mut Vec<u8>, o: &Object, depth: usize) {
        if depth > 256 {
            out.extend_from_slice(b"null");
            return;
        }
        match o {
            Object::Null => out.extend_from_slice(b"null"),
            Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Object::Integer(i) => {
                let _ = write!(out, "{i}");
            }
            Object::Real(r) => {
                let v = if r.is_finite() { *r } else { 0.0 };
                let _ = write!(out, "{v}");
            }
            Object::Name(n) => write_name(out, n),
            Object::String(s, _) => {
                out.push(b'<');
                for b in s {
                    let _ = write!(out, "{b:02X}");
                }
                out.push(b'>');
            }
            Object::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    self.write_obj(w, out, v, depth + 1);
                }
                out.push(b']');
            }
            Object::Dictionary(d) => {
                out.extend_from_slice(b"<<");
                self.write_dict_entries(w, out, d, depth);
                out.extend_from_slice(b">>");
            }
            // A direct stream cannot occur inside another object; write it as an indirect copy.
            Object::Stream(s) => {
                let id = w.alloc();
                let mut body = b"<<".to_vec();
                self.write_dict_entries(w, &mut body, &s.dict, depth);
                let _ = write!(body, " /Length {}>>\nstream\n", s.content.len());
                body.extend_from_slice(&s.content);
                body.extend_from_slice(b"\nendstream");
                w.obj(id, &body);
                let _ = write!(out, "{id} 0 R");
            }
            Object::Reference(r) => {
                let id = self.id_for(w, *r);
                let _ = write!(out, "{id} 0 R");
            }
        }
    }
}
