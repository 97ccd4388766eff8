//! PAdES long-term validation data: the Document Security Store (ETSI EN 319 142-1, 5.4).
//!
//! [`add_dss`] appends an incremental update with a `/DSS` dictionary in the catalog holding `/Certs`,
//! `/CRLs` and `/OCSPs` streams (merged with an existing DSS, without duplicates) and a `/VRI` entry per
//! signature, keyed by the upper-case hex SHA-1 of the signature's `/Contents` string.
use crate::incremental::{signature_values, Dict, Obj, PdfDoc, Update};
use crate::SigningError;
use std::collections::BTreeMap;

/// The validation data found in a file's DSS (DER values).
#[derive(Debug, Clone, Default)]
pub struct DssData {
    pub certs: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
    pub ocsps: Vec<Vec<u8>>,
    /// VRI keys present (upper-case hex SHA-1 of signature contents).
    pub vri_keys: Vec<String>,
}

/// The VRI key of a signature: upper-case hex SHA-1 of its `/Contents` bytes (padding included).
pub fn vri_key(contents: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, contents);
    hex::encode_upper(d.as_ref())
}

fn array_refs(doc: &PdfDoc<'_>, dss: &Dict, key: &str) -> Vec<Obj> {
    match dss.get(key).and_then(|v| doc.resolve(v)) {
        Some(Obj::Array(a)) => a.into_iter().filter(|o| matches!(o, Obj::Ref(..))).collect(),
        _ => Vec::new(),
    }
}

fn stream_data(doc: &PdfDoc<'_>, r: &Obj) -> Option<Vec<u8>> {
    match doc.resolve(r)? {
        Obj::Stream(d, raw) => doc.decode(&d, &raw),
        _ => None,
    }
}

fn current_dss(doc: &PdfDoc<'_>) -> Result<(Option<(u32, u16)>, Dict), SigningError> {
    let (_, catalog) = doc.catalog()?;
    let r = catalog.get("DSS").and_then(Obj::as_ref_id);
    let dss = match catalog.get("DSS").and_then(|d| doc.resolve(d)) {
        Some(Obj::Dict(d)) => d,
        _ => Dict::new(),
    };
    Ok((r, dss))
}

/// Reads the DSS of `pdf` (empty if there is none or the file cannot be parsed).
pub fn read_dss(pdf: &[u8]) -> DssData {
    let Ok(doc) = PdfDoc::parse(pdf) else {
        return DssData::default();
    };
    read_dss_doc(&doc)
}

/// As [`read_dss`] for a parsed document.
pub fn read_dss_doc(doc: &PdfDoc<'_>) -> DssData {
    let Ok((_, dss)) = current_dss(doc) else {
        return DssData::default();
    };
    let collect = |key: &str| -> Vec<Vec<u8>> {
        array_refs(doc, &dss, key)
            .iter()
            .filter_map(|r| stream_data(doc, r))
            .collect()
    };
    let vri_keys = match dss.get("VRI").and_then(|v| doc.resolve(v)) {
        Some(Obj::Dict(v)) => v
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect(),
        _ => Vec::new(),
    };
    DssData {
        certs: collect("Certs"),
        crls: collect("CRLs"),
        ocsps: collect("OCSPs"),
        vri_keys,
    }
}

/// Appends a DSS update holding `certs_der`, `crls_der` and `ocsps_der` (merged with any existing DSS)
/// and a VRI entry for every signature and document timestamp in the file.
pub fn add_dss(
    pdf: &[u8],
    certs_der: &[Vec<u8>],
    crls_der: &[Vec<u8>],
    ocsps_der: &[Vec<u8>],
) -> Result<Vec<u8>, SigningError> {
    let doc = PdfDoc::parse(pdf)?;
    let (root, mut catalog) = doc.catalog()?;
    let (dss_ref, mut dss) = current_dss(&doc)?;
    let mut up = Update::new(&doc);

    let mut merged: BTreeMap<&str, Vec<Obj>> = BTreeMap::new();
    for (key, new_items) in [("Certs", certs_der), ("CRLs", crls_der), ("OCSPs", ocsps_der)] {
        let mut refs = array_refs(&doc, &dss, key);
        let mut known: Vec<Vec<u8>> = refs.iter().filter_map(|r| stream_data(&doc, r)).collect();
        for item in new_items {
            if item.is_empty() || known.contains(item) {
                continue;
            }
            let n = up.alloc();
            up.put(n, &Obj::Stream(Dict::new(), item.clone()));
            refs.push(Obj::Ref(n, 0));
            known.push(item.clone());
        }
        merged.insert(key, refs);
    }

    // VRI: every signature gets the references to all the data (existing entries are extended).
    let mut vri = match dss.get("VRI").and_then(|v| doc.resolve(v)) {
        Some(Obj::Dict(v)) => v,
        _ => Dict::new(),
    };
    for sig in signature_values(&doc) {
        let Some(Obj::Str(contents)) = sig.get("Contents") else {
            continue;
        };
        let key = vri_key(contents);
        let mut entry = match vri.get(&key).and_then(|e| doc.resolve(e)) {
            Some(Obj::Dict(d)) => d,
            _ => Dict::new(),
        };
        for (dss_key, vri_key_name) in [("Certs", "Cert"), ("CRLs", "CRL"), ("OCSPs", "OCSP")] {
            let mut list = match entry.get(vri_key_name).and_then(|e| doc.resolve(e)) {
                Some(Obj::Array(a)) => a,
                _ => Vec::new(),
            };
            for r in merged.get(dss_key).map(Vec::as_slice).unwrap_or_default() {
                if !list.contains(r) {
                    list.push(r.clone());
                }
            }
            if !list.is_empty() {
                entry.set(vri_key_name, Obj::Array(list));
            }
        }
        vri.set(&key, Obj::Dict(entry));
    }

    dss.set("Type", Obj::name("DSS"));
    for (key, refs) in merged {
        if !refs.is_empty() {
            dss.set(key, Obj::Array(refs));
        }
    }
    if !vri.0.is_empty() {
        dss.set("VRI", Obj::Dict(vri));
    }
    match dss_ref {
        Some((n, _)) => up.put(n, &Obj::Dict(dss)),
        None => {
            let n = up.alloc();
            up.put(n, &Obj::Dict(dss));
            catalog.set("DSS", Obj::Ref(n, 0));
            up.put(root.0, &Obj::Dict(catalog));
        }
    }
    Ok(up.finish()?.0)
}
