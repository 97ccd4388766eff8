//! Modification analysis across revisions: what a later incremental update may add after a signature
//! without invalidating it. A certified copy admits **no visible change** after signing, so this is an
//! allow-list (docs/design/pades-profile.md, "Changes after signing"):
//!
//! - the DSS (certificates, CRLs, OCSP answers, VRI) and the catalog's `/DSS` and `/Extensions` entries;
//! - further signature fields (a countersignature, a document timestamp) whose widgets cannot paint: no
//!   widget, or one whose `/Rect` has no area, or one flagged Hidden; `/AcroForm` `/Fields` and a page's
//!   `/Annots` may grow by such fields only; an existing empty signature field may be filled under the same
//!   condition; `/SigFlags`, `/DA`, `/DR` of the form;
//! - the document information dictionary (`/Info`) and the catalog's XMP metadata stream, which no page
//!   shows;
//! - new objects, under numbers the signed revision never used (a reused number could stand behind a
//!   reference the signed revision already made).
//!
//! Everything else — page content, pages, resources, annotations of any other kind, a visible widget, a
//! changed form value, a replaced catalog, a deleted object — is a modification after signing. An
//! annotation or widget that could change what a page shows has its own reason ([`OVERLAY`]).
use crate::incremental::{is_ws, Dict, Entry, Obj, PdfDoc};
use std::collections::{BTreeMap, BTreeSet};

/// Reason of a later revision that adds or changes something a reader paints over a page.
pub const OVERLAY: &str = "overlay_after_signing";
/// Reason of any other change the allow-list does not admit.
pub const MODIFIED: &str = "modified_after_signing";

/// Objects changed in later revisions that are examined at most (each is parsed; a hostile file could
/// declare millions).
const MAX_TOUCHED: usize = 20_000;

/// What changed after a signed revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Revisions appended after the signed one.
    pub later_revisions: usize,
}

/// A change the allow-list does not admit: a stable reason and a plain-English detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disallowed {
    pub reason: &'static str,
    pub detail: String,
}

fn modified(detail: impl Into<String>) -> Disallowed {
    Disallowed {
        reason: MODIFIED,
        detail: detail.into(),
    }
}

fn overlay(detail: impl Into<String>) -> Disallowed {
    Disallowed {
        reason: OVERLAY,
        detail: detail.into(),
    }
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
pub fn check_after(doc: &PdfDoc<'_>, signed_end: usize) -> Result<Changes, Disallowed> {
    let k = revisions_before(doc, signed_end);
    if k == 0 {
        return Err(modified("the signed bytes are not a revision of this file"));
    }
    let garbage = trailing_garbage(doc);
    if garbage > 0 {
        return Err(modified(format!(
            "{garbage} bytes were appended after the last revision without a cross-reference section"
        )));
    }
    let later = doc.sections.len() - k;
    if later == 0 {
        let extra =
            doc.bytes
                .get(signed_end..)
                .map_or(0, |r| if r.iter().all(|&b| is_ws(b)) { 0 } else { r.len() });
        if extra > 0 {
            return Err(modified(format!(
                "{extra} bytes were added after the signed revision"
            )));
        }
        return Ok(Changes { later_revisions: 0 });
    }
    let old_table = doc.table_upto(k);
    let new_table = doc.table().clone();
    let signed_trailer = doc.sections.get(k - 1).map(|s| &s.trailer);
    let old_root = signed_trailer
        .and_then(|t| t.get("Root"))
        .and_then(Obj::as_ref_id);
    let new_root = doc.trailer.get("Root").and_then(Obj::as_ref_id);
    let (Some(root), true) = (old_root, old_root == new_root) else {
        return Err(modified("a later revision replaced the document catalog"));
    };
    // Numbers the signed revision could have referred to: below its /Size, or in its table.
    let old_size = signed_trailer
        .and_then(|t| t.get("Size"))
        .and_then(Obj::as_int)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0)
        .max(old_table.keys().next_back().map_or(0, |n| n + 1));
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
    let dss = ctx.dss_objects(&old_catalog);
    // The document information dictionary and the XMP metadata stream (producer, dates) are metadata a
    // page never shows; writers update them with every revision.
    let info = signed_trailer
        .and_then(|t| t.get("Info"))
        .and_then(Obj::as_ref_id)
        .map(|r| r.0);
    let xmp = old_catalog.get("Metadata").and_then(Obj::as_ref_id).map(|r| r.0);
    let pages = ctx.page_numbers(&old_catalog);

    let mut touched = BTreeSet::new();
    for s in doc.sections.iter().skip(k) {
        touched.extend(s.entries.keys().copied());
        if touched.len() > MAX_TOUCHED {
            return Err(modified(format!(
                "later revisions change more than {MAX_TOUCHED} objects"
            )));
        }
    }
    for n in touched {
        if n == 0 {
            continue;
        }
        let old = ctx.old_obj(n);
        let new = ctx.new_obj(n);
        match (old, new) {
            (None, None) => {}
            (Some(_), None) => return Err(modified(format!("object {n} was deleted after signing"))),
            (Some(o), Some(nw)) if o == nw => {}
            (None, Some(nw)) => {
                if n < old_size {
                    return Err(modified(format!(
                        "object {n}, a number the signed revision had reserved, was defined after signing"
                    )));
                }
                if let Some(d) = nw.as_dict() {
                    if d.name_is("Type", "Page") || d.name_is("Type", "Pages") {
                        return Err(modified(format!("a page (object {n}) was added after signing")));
                    }
                }
            }
            (Some(o), Some(nw)) => {
                if n == root.0 {
                    ctx.catalog_ok(&o, &nw)?;
                } else if Some(n) == old_acro {
                    ctx.acroform_ok(&o, &nw)?;
                } else if Some(n) == info {
                    if !matches!(nw, Obj::Dict(_)) {
                        return Err(modified(
                            "the document information was replaced by another kind of object",
                        ));
                    }
                } else if Some(n) == xmp {
                    let still_xmp = matches!(&nw, Obj::Stream(d, _) if d.name_is("Type", "Metadata") && d.name_is("Subtype", "XML"));
                    if !still_xmp {
                        return Err(modified(
                            "the XMP metadata was replaced by another kind of object",
                        ));
                    }
                } else if dss.contains(&n) {
                    if !matches!(
                        (&o, &nw),
                        (Obj::Dict(_), Obj::Dict(_)) | (Obj::Array(_), Obj::Array(_))
                    ) {
                        return Err(modified(format!(
                            "validation data (object {n}) was replaced by another kind of object"
                        )));
                    }
                } else if pages.contains(&n) {
                    ctx.page_ok(n, &o, &nw)?;
                } else {
                    ctx.generic_ok(n, &o, &nw)?;
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

/// A number as written (integer or real).
fn number(o: &Obj) -> Option<f64> {
    match o {
        Obj::Int(i) => Some(*i as f64),
        Obj::Real(r) => r.parse().ok(),
        _ => None,
    }
}

/// Annotation flags: Hidden (bit 2) keeps an annotation off the screen and off paper.
const FLAG_HIDDEN: i64 = 1 << 1;

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

    /// The objects of the signed revision's DSS: the dictionary, its arrays and VRI dictionaries.
    fn dss_objects(&self, catalog: &Dict) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        let Some(id) = catalog.get("DSS").and_then(Obj::as_ref_id) else {
            return out;
        };
        out.insert(id.0);
        let Some(Obj::Dict(dss)) = self.old_obj(id.0) else {
            return out;
        };
        for key in ["Certs", "CRLs", "OCSPs", "VRI"] {
            let Some(v) = dss.get(key) else { continue };
            if let Some(r) = v.as_ref_id() {
                out.insert(r.0);
            }
            if key == "VRI" {
                if let Some(Obj::Dict(vri)) = self.resolve_old(v) {
                    for (_, entry) in &vri.0 {
                        let Some(r) = entry.as_ref_id() else { continue };
                        out.insert(r.0);
                        if let Some(Obj::Dict(e)) = self.old_obj(r.0) {
                            out.extend(
                                ["Cert", "CRL", "OCSP"]
                                    .iter()
                                    .filter_map(|k| e.get(k).and_then(Obj::as_ref_id).map(|r| r.0)),
                            );
                        }
                    }
                }
            }
        }
        out
    }

    /// Object numbers of the signed revision's page tree (nodes and pages).
    fn page_numbers(&self, catalog: &Dict) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        let mut stack: Vec<u32> = catalog
            .get("Pages")
            .and_then(Obj::as_ref_id)
            .map(|r| r.0)
            .into_iter()
            .collect();
        while let Some(n) = stack.pop() {
            if !out.insert(n) || out.len() > 100_000 {
                continue;
            }
            if let Some(Obj::Dict(d)) = self.old_obj(n) {
                if let Some(Obj::Array(kids)) = d.get("Kids").and_then(|k| self.resolve_old(k)) {
                    stack.extend(kids.iter().filter_map(Obj::as_ref_id).map(|r| r.0));
                }
            }
        }
        out
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

    /// Whether a widget (or a field merged with its widget) cannot paint anything: no rectangle, a
    /// rectangle without area, or the Hidden flag. (An appearance is drawn inside `/Rect`, so a
    /// rectangle without area shows nothing whatever the appearance holds.)
    fn widget_invisible(&self, d: &Dict) -> bool {
        let hidden = d
            .get("F")
            .and_then(|f| self.resolve_new(f))
            .and_then(|f| f.as_int())
            .is_some_and(|f| f & FLAG_HIDDEN != 0);
        if hidden {
            return true;
        }
        let Some(rect) = d.get("Rect") else {
            // Without a rectangle there is nothing to place an appearance in; without an
            // appearance nothing to paint.
            return d.get("AP").is_none();
        };
        let Some(Obj::Array(r)) = self.resolve_new(rect) else {
            return false;
        };
        let v: Vec<f64> = r
            .iter()
            .filter_map(|x| self.resolve_new(x))
            .filter_map(|x| number(&x))
            .collect();
        match v.as_slice() {
            [x1, y1, x2, y2] => (x2 - x1).abs() == 0.0 || (y2 - y1).abs() == 0.0,
            _ => false,
        }
    }

    /// Whether `o` (in the new state) is a signature field, or the widget of one, that paints nothing:
    /// the field and every widget below it (`/Kids`) are invisible widgets or carry no rectangle.
    fn invisible_sig_field(&self, o: &Obj) -> Result<(), Disallowed> {
        let Some(Obj::Dict(d)) = self.resolve_new(o) else {
            return Err(overlay(
                "something other than a signature field was added to a page or the form",
            ));
        };
        let parent_is_sig = d
            .get("Parent")
            .and_then(|p| self.resolve_new(p))
            .and_then(|p| p.as_dict().map(|p| p.name_is("FT", "Sig")))
            .unwrap_or(false);
        if !(d.name_is("FT", "Sig") || parent_is_sig) {
            let what = match d.get("Subtype") {
                Some(Obj::Name(s)) => format!("a /{} annotation", String::from_utf8_lossy(s)),
                _ => "a form field that is not a signature".into(),
            };
            return Err(overlay(format!("{what} was added after signing")));
        }
        if d.get("Subtype").is_some() && !d.name_is("Subtype", "Widget") {
            return Err(overlay(
                "a signature field that is not a widget was added after signing",
            ));
        }
        if !self.widget_invisible(&d) {
            return Err(overlay(
                "a signature widget with a visible area was added after signing: it can paint over the page",
            ));
        }
        if let Some(Obj::Array(kids)) = d.get("Kids").and_then(|k| self.resolve_new(k)) {
            for kid in kids.iter().take(64) {
                match self.resolve_new(kid) {
                    Some(Obj::Dict(w)) if self.widget_invisible(&w) => {}
                    _ => {
                        return Err(overlay(
                            "a signature field with a visible widget was added after signing",
                        ))
                    }
                }
            }
            if kids.len() > 64 {
                return Err(overlay(
                    "a signature field with too many widgets was added after signing",
                ));
            }
        }
        Ok(())
    }

    /// `new` keeps every element of `old` in order as a prefix, and every added one is an invisible
    /// signature field.
    fn grown_with_sig_fields(&self, old: &[Obj], new: &[Obj], what: &str) -> Result<(), Disallowed> {
        if new.len() < old.len() || new.get(..old.len()) != Some(old) {
            return Err(modified(format!(
                "{what} lost or reordered entries after signing"
            )));
        }
        for added in new.get(old.len()..).unwrap_or_default() {
            self.invisible_sig_field(added)?;
        }
        Ok(())
    }

    fn array_of(&self, d: &Dict, key: &str, old: bool) -> Vec<Obj> {
        d.get(key)
            .and_then(|a| {
                if old {
                    self.resolve_old(a)
                } else {
                    self.resolve_new(a)
                }
            })
            .and_then(|a| a.as_array().map(<[Obj]>::to_vec))
            .unwrap_or_default()
    }

    fn catalog_ok(&self, old: &Obj, new: &Obj) -> Result<(), Disallowed> {
        let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) else {
            return Err(modified("the document catalog was replaced"));
        };
        for k in Self::changed_keys(o, n) {
            match k.as_slice() {
                b"DSS" | b"Extensions" => {}
                b"AcroForm" => {
                    let old_af = o.get("AcroForm").and_then(|a| self.resolve_old(a));
                    let new_af = n.get("AcroForm").and_then(|a| self.resolve_new(a));
                    match (old_af, new_af) {
                        (Some(a), Some(b)) => self.acroform_ok(&a, &b)?,
                        (None, Some(b)) => self.acroform_ok(&Obj::Dict(Dict::new()), &b)?,
                        _ => return Err(modified("the form (/AcroForm) was removed after signing")),
                    }
                }
                other => {
                    return Err(modified(format!(
                        "the document catalog's /{} was changed after signing",
                        String::from_utf8_lossy(other)
                    )))
                }
            }
        }
        Ok(())
    }

    fn acroform_ok(&self, old: &Obj, new: &Obj) -> Result<(), Disallowed> {
        let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) else {
            return Err(modified("the form (/AcroForm) was replaced"));
        };
        for k in Self::changed_keys(o, n) {
            match k.as_slice() {
                b"SigFlags" | b"DR" | b"DA" => {}
                b"Fields" => self.grown_with_sig_fields(
                    &self.array_of(o, "Fields", true),
                    &self.array_of(n, "Fields", false),
                    "the form's field list",
                )?,
                other => {
                    return Err(modified(format!(
                        "the form's /{} was changed after signing",
                        String::from_utf8_lossy(other)
                    )))
                }
            }
        }
        Ok(())
    }

    /// A page may change only by its `/Annots` growing with invisible signature widgets.
    fn page_ok(&self, n: u32, old: &Obj, new: &Obj) -> Result<(), Disallowed> {
        let (Obj::Dict(o), Obj::Dict(nw)) = (old, new) else {
            return Err(modified(format!(
                "a page (object {n}) was replaced after signing"
            )));
        };
        for k in Self::changed_keys(o, nw) {
            if k != b"Annots" {
                return Err(modified(format!(
                    "a page's /{} (object {n}) was changed after signing",
                    String::from_utf8_lossy(&k)
                )));
            }
            self.grown_with_sig_fields(
                &self.array_of(o, "Annots", true),
                &self.array_of(nw, "Annots", false),
                "a page's annotations",
            )?;
        }
        Ok(())
    }

    fn generic_ok(&self, n: u32, old: &Obj, new: &Obj) -> Result<(), Disallowed> {
        match (old, new) {
            // An indirect /Annots or /Fields array that only grew by invisible signature fields.
            (Obj::Array(o), Obj::Array(nw)) => {
                self.grown_with_sig_fields(o, nw, &format!("an array (object {n})"))
            }
            (Obj::Dict(o), Obj::Dict(nw)) if o.name_is("FT", "Sig") && o.get("V").is_none() => {
                // Filling an empty signature field: its value and lock, and an appearance only where
                // the widget stays invisible.
                let changed = Self::changed_keys(o, nw);
                if let Some(k) = changed.iter().find(|k| {
                    !matches!(
                        k.as_slice(),
                        b"V" | b"AP" | b"AS" | b"F" | b"Lock" | b"SV" | b"Rect"
                    )
                }) {
                    return Err(modified(format!(
                        "a signature field's /{} (object {n}) was changed after signing",
                        String::from_utf8_lossy(k)
                    )));
                }
                if !self.widget_invisible(nw) {
                    return Err(overlay(format!(
                        "a signature field (object {n}) was given a visible appearance after signing"
                    )));
                }
                Ok(())
            }
            (o, _) => {
                let what = describe(o);
                let is_annot = o
                    .as_dict()
                    .is_some_and(|d| d.name_is("Type", "Annot") || d.get("Rect").is_some());
                let detail = format!("{what} (object {n}) was changed after signing");
                Err(if is_annot {
                    overlay(detail)
                } else {
                    modified(detail)
                })
            }
        }
    }
}
