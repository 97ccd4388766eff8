//! Preparing a signature or document timestamp: the field, its widget and a placeholder in an update.
use super::*;

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

/// Adds a signature field holding a fresh value dictionary `sig_body` (serialised, with placeholders) and
/// returns the prepared file. `field_name` `None` picks an unused name with `default_prefix`.
pub(super) fn prepare_with(
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

pub(super) fn meta_entries(meta: &SignatureMeta) -> String {
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
