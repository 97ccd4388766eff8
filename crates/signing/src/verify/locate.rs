//! Where the signatures are: each one the form lists, with its dictionary's /ByteRange and /Contents, and
//! whether the byte range covers its revision exactly.
use super::*;

/// Coverage of the ByteRange and modifications after the signed revision.
pub(super) fn coverage_and_modifications(ctx: &Ctx<'_, '_>, dict: &SigDict) -> (Check, Check) {
    let len = ctx.pdf.len() as u64;
    let [b0, b1, b2, b3] = dict.byte_range;
    let end = b2.saturating_add(b3);
    let coverage = if b0 != 0 {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            format!("the ByteRange starts at {b0}, not at 0"),
        )
    } else if end > len || b1 > b2 {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            "the ByteRange lies outside the file",
        )
    } else if let Some(problem) = &dict.placement_problem {
        Check::fail(reason::INCOMPLETE_BYTE_RANGE, problem.clone())
    } else if !dict.gap_is_contents {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            format!("bytes {b1}..{b2} left out of the signature are not just the /Contents string"),
        )
    } else {
        Check::pass("the signed range is the whole revision except the signature value")
    };
    let modifications = if end == len {
        Check::pass("no bytes were added after signing")
    } else if end > len {
        Check::fail(
            reason::INCOMPLETE_BYTE_RANGE,
            format!("the file is {} bytes shorter than the signed revision", end - len),
        )
    } else {
        match (ctx.doc, usize::try_from(end)) {
            (Some(doc), Ok(end)) => match crate::diff::check_after(doc, end) {
                Ok(changes) => Check::pass(format!(
                    "{} later revision(s) only add signatures, document timestamps or validation data",
                    changes.later_revisions
                )),
                Err(d) => Check::fail(d.reason, d.detail),
            },
            _ => Check::fail(
                reason::MODIFIED_AFTER_SIGNING,
                format!("{} bytes were added after the signed revision", len - end),
            ),
        }
    };
    (coverage, modifications)
}

/// A signature field's value dictionary, read through the form.
#[derive(Debug, Clone)]
pub(super) struct SigDict {
    /// `[0 0 0 0]` when the dictionary has no readable /ByteRange (then `placement_problem` says so).
    pub(super) byte_range: [u64; 4],
    /// The decoded /Contents string (empty when there is none).
    pub(super) contents: Vec<u8>,
    /// Where the /Contents hex string, brackets included, is written in the file.
    pub(super) contents_span: Option<Range<usize>>,
    /// Whether the ByteRange gap is exactly this dictionary's /Contents string.
    pub(super) gap_is_contents: bool,
    /// Why the ByteRange cannot leave out this dictionary's /Contents string, if it cannot.
    pub(super) placement_problem: Option<String>,
    pub(super) kind: SignatureKind,
    pub(super) field_name: Option<String>,
    /// The /M entry.
    pub(super) claimed_signing_time: Option<String>,
}

/// The four non-negative integers of a /ByteRange.
pub(super) fn byte_range_of(dict: &Dict) -> Option<[u64; 4]> {
    let items = dict.get("ByteRange")?.as_array()?;
    let values = items
        .iter()
        .map(|o| o.as_int().and_then(|v| u64::try_from(v).ok()))
        .collect::<Option<Vec<u64>>>()?;
    <[u64; 4]>::try_from(values).ok()
}

/// What one signature field's value is, and where its ByteRange gap must be.
pub(super) fn sig_dict(pdf: &[u8], found: &FoundSignature) -> SigDict {
    let empty = Dict::new();
    let dict = found.dict.as_ref().unwrap_or(&empty);
    let byte_range = byte_range_of(dict);
    let contents = match dict.get("Contents") {
        Some(Obj::Str(s)) => s.clone(),
        _ => Vec::new(),
    };
    // The /Contents value as written: a hex string, and the only /Contents of the dictionary.
    let contents_span = found
        .span_of("Contents")
        .filter(|r| pdf.get(r.start) == Some(&b'<') && matches!(dict.get("Contents"), Some(Obj::Str(_))));
    let placement_problem = match (&found.place, &found.dict) {
        (_, None) => Some("the signature field's value cannot be read as a dictionary"),
        (Place::InStream { .. }, _) => Some(
            "the signature dictionary is stored in an object stream, so its /Contents is not in the file's bytes",
        ),
        (Place::Inline { .. }, _) => Some("the signature dictionary is not an indirect object"),
        (Place::Object { .. }, _) if byte_range.is_none() || found.span_of("ByteRange").is_none() => {
            Some("the signature dictionary has no single /ByteRange of four non-negative integers")
        }
        (Place::Object { .. }, _) if contents_span.is_none() => {
            Some("the signature dictionary has no single /Contents hex string")
        }
        (Place::Object { .. }, _) => None,
    }
    .map(str::to_string);
    let byte_range = byte_range.unwrap_or_default();
    let gap = usize::try_from(byte_range[0].saturating_add(byte_range[1]))
        .ok()
        .zip(usize::try_from(byte_range[2]).ok())
        .map(|(a, b)| a..b);
    let gap_is_contents = contents_span.is_some() && gap == contents_span;
    let doc_ts = dict.name_is("Type", "DocTimeStamp") || dict.name_is("SubFilter", "ETSI.RFC3161");
    let text = |key: &str| match dict.get(key) {
        Some(Obj::Str(s)) => Some(pdf_text(s)),
        _ => None,
    };
    SigDict {
        byte_range,
        contents,
        contents_span,
        gap_is_contents,
        placement_problem,
        kind: if doc_ts {
            SignatureKind::DocumentTimestamp
        } else {
            SignatureKind::Signature
        },
        field_name: (!found.field_name.is_empty()).then(|| {
            let parts: Vec<String> = found.field_name.iter().map(|t| pdf_text(t)).collect();
            parts.join(".")
        }),
        claimed_signing_time: text("M"),
    }
}

/// The signatures and document timestamps of `doc`, in file order, found through the form of every
/// revision; refuses a file beyond `limits` or whose fields share a signature value.
pub(super) fn find_signatures(doc: &PdfDoc<'_>, limits: &Limits) -> Result<Vec<SigDict>, TooComplex> {
    let max = limits.max_signatures;
    let form = crate::incremental::signature_fields(doc, true, max).map_err(|e| match e {
        SigningError::Prepared(what) => TooComplex(what),
        other => TooComplex(other.to_string()),
    })?;
    if form.most_in_one_revision > max || form.found.len() > max {
        return Err(TooComplex(format!(
            "more than {max} signature dictionaries in the form's signature fields"
        )));
    }
    if form.shared_value {
        return Err(TooComplex(
            "two signature fields share one signature dictionary".into(),
        ));
    }
    let mut found = form.found;
    found.sort_by_key(|f| f.position);
    let dicts: Vec<SigDict> = found.iter().map(|f| sig_dict(doc.bytes, f)).collect();
    let mut spans: Vec<&Range<usize>> = dicts.iter().filter_map(|d| d.contents_span.as_ref()).collect();
    spans.sort_by_key(|r| (r.start, r.end));
    if spans.windows(2).any(|w| matches!(w, [a, b] if b.start < a.end)) {
        return Err(TooComplex(
            "two signature dictionaries share one signature value".into(),
        ));
    }
    Ok(dicts)
}

/// PDF text string bytes to text: UTF-16BE with BOM, UTF-8 with BOM or valid UTF-8, else Latin-1.
pub(super) fn pdf_text(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .filter_map(|c| <[u8; 2]>::try_from(c).ok())
            .map(u16::from_be_bytes)
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}
