//! Modification analysis across revisions: what a later incremental update may change after a
//! signature without invalidating it (PAdES / ISO 32000 "allowed changes" for certified copies):
//! DSS data, document timestamps, and further signature fields with their values. Anything else (page
//! content, new pages, other changed objects) is a modification after signing.
use crate::incremental::{Dict, Entry, Obj, PdfDoc};
use std::collections::{BTreeMap, BTreeSet};

/// What changed after a signed revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Revisions appended after the signed one.
    pub later_revisions: usize,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

/// Number of sections whose cross-reference data starts before `end` (the signed revisions).
pub fn revisions_before(doc: &PdfDoc<'_>, end: usize) -> usize {
    doc.sections.iter().take_while(|s| s.offset < end).count()
}

/// Bytes after the last revision that are not whitespace.
pub fn trailing_garbage(doc: &PdfDoc<'_>) -> usize {
    let last_end = doc.sections.last().map_or(0, |s| s.end);
    doc.bytes.get(last_end..).map_or(0, |rest| {
        if rest.iter().all(|&b| is_ws(b)) {
            0
        } else {
            rest.len()
        }
    })
}

/// Checks that everything after the revision ending at `signed_end` is an allowed change.
/// `Err` holds a plain-English detail.
pub fn check_after(doc: &PdfDoc<'_>, signed_end: usize) -> Result<Changes, String> {
    let k = revisions_before(doc, signed_end);
    if k == 0 {
        return Err("the signed bytes are not a revision of this file".into());
    }
    let garbage = trailing_garbage(doc);
    if garbage > 0 {
        return Err(format!(
            "{garbage} bytes were appended after the last revision without a cross-reference section"
        ));
    }
    let later = doc.sections.len() - k;
    if later == 0 {
        let extra =
            doc.bytes
                .get(signed_end..)
                .map_or(0, |r| if r.iter().all(|&b| is_ws(b)) { 0 } else { r.len() });
        if extra > 0 {
            return Err(format!("{extra} bytes were added after the signed revision"));
        }
        return Ok(Changes { later_revisions: 0 });
    }
    let old_table = doc.table_upto(k);
    let new_table = doc.table().clone();
    let old_root = doc
        .sections
        .get(k - 1)
        .and_then(|s| s.trailer.get("Root"))
        .and_then(Obj::as_ref_id);
    let new_root = doc.trailer.get("Root").and_then(Obj::as_ref_id);
    let (Some(root), true) = (old_root, old_root == new_root) else {
        return Err("a later revision replaced the document catalog".into());
    };
    let ctx = Ctx {
        doc,
        old: &old_table,
        new: &new_table,
    };
    let old_catalog = ctx
        .old_obj(root.0)
        .and_then(|o| o.as_dict().cloned())
        .unwrap_or_default();
    let old_acro = old_catalog.get("AcroForm").and_then(Obj::as_ref_id).map(|r| r.0);
    let old_dss = old_catalog.get("DSS").and_then(Obj::as_ref_id).map(|r| r.0);

    let mut touched = BTreeSet::new();
    for s in doc.sections.iter().skip(k) {
        touched.extend(s.entries.keys().copied());
    }
    for n in touched {
        if n == 0 {
            continue;
        }
        let old = ctx.old_obj(n);
        let new = ctx.new_obj(n);
        match (old, new) {
            (None, None) => {}
            (Some(_), None) => return Err(format!("object {n} was deleted after signing")),
            (Some(o), Some(nw)) if o == nw => {}
            (None, Some(nw)) => {
                if let Some(d) = nw.as_dict() {
                    if d.name_is("Type", "Page") || d.name_is("Type", "Pages") {
                        return Err(format!("a page (object {n}) was added after signing"));
                    }
                }
            }
            (Some(o), Some(nw)) => {
                let ok = if n == root.0 {
                    ctx.catalog_ok(&o, &nw)
                } else if Some(n) == old_acro {
                    ctx.acroform_ok(&o, &nw)
                } else if Some(n) == old_dss || is_dss_like(&o) {
                    true
                } else {
                    ctx.generic_ok(&o, &nw)
                };
                if !ok {
                    let what = describe(&o);
                    return Err(format!("{what} (object {n}) was changed after signing"));
                }
            }
        }
    }
    Ok(Changes {
        later_revisions: later,
    })
}

fn describe(o: &Obj) -> String {
    match o {
        Obj::Stream(..) => "a stream (e.g. page content)".into(),
        Obj::Dict(d) => match d.get("Type") {
            Some(Obj::Name(t)) => format!("a /{} dictionary", String::from_utf8_lossy(t)),
            _ => "a dictionary".into(),
        },
        Obj::Array(_) => "an array".into(),
        _ => "an object".into(),
    }
}

fn is_dss_like(o: &Obj) -> bool {
    let Some(d) = o.as_dict() else {
        return false;
    };
    if matches!(o, Obj::Stream(..)) {
        return false;
    }
    d.name_is("Type", "DSS")
        || d.name_is("Type", "VRI")
        || (!d.0.is_empty()
            && d.keys().all(|k| {
                matches!(
                    k,
                    b"Type"
                        | b"Certs"
                        | b"CRLs"
                        | b"OCSPs"
                        | b"VRI"
                        | b"Cert"
                        | b"CRL"
                        | b"OCSP"
                        | b"TU"
                        | b"TS"
                )
            }))
}

struct Ctx<'d, 'a> {
    doc: &'d PdfDoc<'a>,
    old: &'d BTreeMap<u32, Entry>,
    new: &'d BTreeMap<u32, Entry>,
}

impl Ctx<'_, '_> {
    fn old_obj(&self, n: u32) -> Option<Obj> {
        self.doc.load_with(self.old, n)
    }
    fn new_obj(&self, n: u32) -> Option<Obj> {
        self.doc.load_with(self.new, n)
    }
    fn resolve_old(&self, o: &Obj) -> Option<Obj> {
        match o {
            Obj::Ref(n, _) => self.old_obj(*n),
            other => Some(other.clone()),
        }
    }
    fn resolve_new(&self, o: &Obj) -> Option<Obj> {
        match o {
            Obj::Ref(n, _) => self.new_obj(*n),
            other => Some(other.clone()),
        }
    }

    /// Keys whose values differ between two dictionaries.
    fn changed_keys(a: &Dict, b: &Dict) -> Vec<Vec<u8>> {
        let mut keys: BTreeSet<Vec<u8>> = a.keys().map(<[u8]>::to_vec).collect();
        keys.extend(b.keys().map(<[u8]>::to_vec));
        keys.into_iter()
            .filter(|k| {
                let key = String::from_utf8_lossy(k);
                a.get(&key) != b.get(&key)
            })
            .collect()
    }

    /// Whether `o` (in the new state) is a signature field (possibly merged with its widget).
    fn is_sig_field(&self, o: &Obj) -> bool {
        let Some(Obj::Dict(d)) = self.resolve_new(o) else {
            return false;
        };
        if d.name_is("FT", "Sig") {
            return true;
        }
        // A widget whose parent is a signature field.
        d.get("Parent")
            .and_then(|p| self.resolve_new(p))
            .and_then(|p| p.as_dict().map(|p| p.name_is("FT", "Sig")))
            .unwrap_or(false)
    }

    /// `new` keeps every element of `old` in order as a prefix, and every added one is a signature field.
    fn grown_with_sig_fields(&self, old: &[Obj], new: &[Obj]) -> bool {
        new.len() >= old.len()
            && new.get(..old.len()) == Some(old)
            && new
                .get(old.len()..)
                .unwrap_or_default()
                .iter()
                .all(|o| self.is_sig_field(o))
    }

    fn catalog_ok(&self, old: &Obj, new: &Obj) -> bool {
        let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) else {
            return false;
        };
        Self::changed_keys(o, n).iter().all(|k| match k.as_slice() {
            b"DSS" | b"Extensions" => true,
            b"AcroForm" => {
                let old_af = o.get("AcroForm").and_then(|a| self.resolve_old(a));
                let new_af = n.get("AcroForm").and_then(|a| self.resolve_new(a));
                match (old_af, new_af) {
                    (Some(a), Some(b)) => self.acroform_ok(&a, &b),
                    (None, Some(b)) => self.acroform_ok(&Obj::Dict(Dict::new()), &b),
                    _ => false,
                }
            }
            _ => false,
        })
    }

    fn acroform_ok(&self, old: &Obj, new: &Obj) -> bool {
        let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) else {
            return false;
        };
        Self::changed_keys(o, n).iter().all(|k| match k.as_slice() {
            b"SigFlags" | b"DR" | b"DA" => true,
            b"Fields" => {
                let of = o
                    .get("Fields")
                    .and_then(|f| self.resolve_old(f))
                    .and_then(|f| f.as_array().map(<[Obj]>::to_vec))
                    .unwrap_or_default();
                let nf = n
                    .get("Fields")
                    .and_then(|f| self.resolve_new(f))
                    .and_then(|f| f.as_array().map(<[Obj]>::to_vec))
                    .unwrap_or_default();
                self.grown_with_sig_fields(&of, &nf)
            }
            _ => false,
        })
    }

    fn generic_ok(&self, old: &Obj, new: &Obj) -> bool {
        match (old, new) {
            // An indirect /Annots, /Fields or DSS array that only grew.
            (Obj::Array(o), Obj::Array(n)) => {
                n.len() >= o.len()
                    && n.get(..o.len()) == Some(o.as_slice())
                    && n.get(o.len()..)
                        .unwrap_or_default()
                        .iter()
                        .all(|x| self.is_sig_field(x) || matches!(self.resolve_new(x), Some(Obj::Stream(..))))
            }
            (Obj::Dict(o), Obj::Dict(n)) => {
                let changed = Self::changed_keys(o, n);
                if o.name_is("Type", "Page") {
                    // Only /Annots, growing with signature widgets.
                    return changed.iter().all(|k| {
                        k == b"Annots" && {
                            let oa = o
                                .get("Annots")
                                .and_then(|a| self.resolve_old(a))
                                .and_then(|a| a.as_array().map(<[Obj]>::to_vec))
                                .unwrap_or_default();
                            let na = n
                                .get("Annots")
                                .and_then(|a| self.resolve_new(a))
                                .and_then(|a| a.as_array().map(<[Obj]>::to_vec))
                                .unwrap_or_default();
                            self.grown_with_sig_fields(&oa, &na)
                        }
                    });
                }
                if o.name_is("FT", "Sig") && o.get("V").is_none() {
                    // Filling an empty signature field.
                    return changed
                        .iter()
                        .all(|k| matches!(k.as_slice(), b"V" | b"AP" | b"AS" | b"F" | b"Lock" | b"SV"));
                }
                false
            }
            _ => false,
        }
    }
}
