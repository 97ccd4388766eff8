//! Assessing pages and documents: looking at each page, grouping pages into documents, checking them.
use super::*;

/// One page and the document it belongs to, assessed alone (the page is the whole request): the report's
/// page, whose `decision` is the document's.
pub fn assess_page(
    index: usize,
    page: &PageInput<'_>,
    ocr: &OcrPage,
    holder: Option<&Holder>,
    policy: &IntakePolicy,
    previous: &[PreviousPage],
) -> PageReport {
    let mut report = assess_all(
        std::slice::from_ref(page),
        std::slice::from_ref(ocr),
        holder,
        policy,
        previous,
    );
    let mut p = report.pages.remove(0);
    p.page = index;
    p.decision = report.decision;
    for c in &mut p.checks {
        c.page = c.page.map(|_| index);
    }
    p.decision.reasons.iter_mut().for_each(|r| r.page = index);
    p
}

/// What one page gives before documents are formed.
pub(super) struct Looked {
    /// The page is blank (its `quality.blank` check holds the evidence).
    pub(super) blank: bool,
    pub(super) rec: recognise::Recognition,
    pub(super) fingerprint: PageFingerprint,
    pub(super) checks: Vec<Check>,
    pub(super) seals: Vec<crate::checks::seal::Seal>,
    pub(super) ms: f64,
}

/// The page's own checks (quality, legibility, card number, MRZ, QR, marks, forensics, duplicates) and its
/// seals; the checks on the document (identity, seal, language) come later.
pub(super) fn look(
    page: &PageInput<'_>,
    ocr: &OcrPage,
    policy: &IntakePolicy,
    previous: &[PreviousPage],
) -> Looked {
    let t = Instant::now();
    let g = checks::gray(page.image);
    let blank = crate::cleanup::detect_blank(&g);
    let rec = recognise::recognise(ocr);
    let fingerprint = hash::fingerprint(&g, ocr, &rec);
    if blank.is_blank {
        let checks = vec![Check::new(
            "quality.blank",
            Outcome::Warn,
            format!(
                "the page is blank ({:.3} % of it inked): no check could run on it",
                blank.ink_coverage * 100.0
            ),
            serde_json::json!({"ink_coverage": blank.ink_coverage, "blank_below": blank.blank_below}),
        )];
        return Looked {
            blank: true,
            rec,
            fingerprint,
            checks,
            seals: Vec::new(),
            ms: t.elapsed().as_secs_f64() * 1000.0,
        };
    }
    let dpi = page.dpi.unwrap_or(ocr.dpi as f32);
    let p = policy;
    let resolution = checks::resolution(dpi, p.resolution_warn_below, p.resolution_fail_below);
    let blur = checks::blur(&g, ocr, p.blur_warn_below, p.blur_fail_below);
    // An unreadable page is the original's fault only from a capture at the resolution a copy needs (a
    // flatbed's focus is fixed, so blur there is the paper's; a coarse capture's is its own).
    let capture_sound = resolution.outcome == Outcome::Pass;
    let mut checks = vec![
        resolution,
        blur,
        checks::cut_edges(&g, ocr, p.cut_edge_ink_share),
        checks::glare(page.image, ocr, p.glare_warn_share),
        checks::legibility(ocr, p, capture_sound),
    ];
    checks.push(checks::cccd_number(&rec));
    checks.push(checks::mrz(&rec));
    checks.push(checks::card_qr(&g, ocr, &rec));
    checks.push(checks::secrecy_mark(page.image, ocr));
    checks.push(checks::no_copy_mark(ocr));
    let seals = checks::seal::find_seals(page.image, &g, dpi, p);
    checks.push(forensics::ela(page.image, ocr, page.jpeg, p));
    let (noise_tiles, noise_level) = forensics::paper_noise(&g, ocr);
    checks.push(forensics::copy_move(
        &g,
        ocr,
        rec.mrz.as_ref().map(|m| m.bbox),
        noise_level >= p.noise_min_level,
        p,
    ));
    let sharpness = checks
        .iter()
        .find(|c| c.name == "quality.blur")
        .and_then(|c| c.evidence["laplacian_variance"].as_f64());
    if sharpness.is_some_and(|v| v < p.glyph_min_sharpness) {
        checks.push(Check::new(
            "forensics.glyph_consistency",
            Outcome::NotApplicable,
            "the page is too blurred to compare glyphs",
            serde_json::json!({"laplacian_variance": sharpness, "min_sharpness": p.glyph_min_sharpness}),
        ));
    } else {
        checks.push(forensics::glyph_consistency(&g, ocr, &rec, p));
    }
    checks.push(forensics::erased_values(&rec));
    checks.push(forensics::noise_consistency(&noise_tiles, noise_level, p));
    checks.push(forensics::background_patch(page.image, ocr, p));
    checks.push(hash::duplicates(&fingerprint, previous, p.duplicate_max_hamming));
    Looked {
        blank: false,
        rec,
        fingerprint,
        checks,
        seals,
        ms: t.elapsed().as_secs_f64() * 1000.0,
    }
}

/// Splits the written pages (indices into `looked`) into documents: a page that carries a title (a type's
/// title in capitals, another paper's title, an MRZ) opens a document, unless it is a page that belongs to the
/// one before it (a consular legalisation); a page without a title continues the document before it; the first
/// written page always opens one.
pub(super) fn documents_of(looked: &[Looked]) -> Vec<Vec<usize>> {
    let mut docs: Vec<Vec<usize>> = Vec::new();
    for (i, l) in looked.iter().enumerate().filter(|(_, l)| !l.blank) {
        let c = &l.rec.classification;
        let attaches = c.paper.as_ref().is_some_and(|p| p.attaches);
        match docs.last_mut() {
            Some(doc) if !c.titled || attaches => doc.push(i),
            _ => docs.push(vec![i]),
        }
    }
    docs
}

/// A document's fields: each from the first of its pages that shows it, with that page.
pub(super) fn document_fields(
    looked: &[Looked],
    pages: &[usize],
) -> (BTreeMap<String, Field>, BTreeMap<String, usize>) {
    let mut fields = BTreeMap::new();
    let mut from = BTreeMap::new();
    for &i in pages {
        for (k, f) in &looked[i].rec.fields {
            if !fields.contains_key(k) {
                fields.insert(k.clone(), f.clone());
                from.insert(k.clone(), i);
            }
        }
    }
    (fields, from)
}

/// Assesses a request: `pages[i]` was read as `ocr[i]`; `holder` is the verified identity, if any;
/// `previous` the fingerprints of pages certified before.
pub fn assess(
    pages: &[PageInput<'_>],
    ocr: &[OcrPage],
    holder: Option<&Holder>,
    policy: &IntakePolicy,
    previous: &[PreviousPage],
) -> Result<IntakeReport, IntakeError> {
    if pages.len() != ocr.len() {
        return Err(IntakeError::InvalidImage(format!(
            "{} pages but {} OCR results",
            pages.len(),
            ocr.len()
        )));
    }
    if pages.is_empty() {
        return Err(IntakeError::InvalidImage("no pages to assess".into()));
    }
    Ok(assess_all(pages, ocr, holder, policy, previous))
}

pub(super) fn assess_all(
    pages: &[PageInput<'_>],
    ocr: &[OcrPage],
    holder: Option<&Holder>,
    policy: &IntakePolicy,
    previous: &[PreviousPage],
) -> IntakeReport {
    let mut looked: Vec<Looked> = pages
        .iter()
        .zip(ocr)
        .map(|(p, o)| look(p, o, policy, previous))
        .collect();
    let docs = documents_of(&looked);
    let mut document_of = vec![None; looked.len()];
    let mut documents = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        let t = Instant::now();
        doc.iter().for_each(|&i| document_of[i] = Some(d));
        let class = recognise::classify_document(
            &doc.iter()
                .map(|&i| &looked[i].rec.classification)
                .collect::<Vec<_>>(),
        );
        let (fields, from) = document_fields(&looked, doc);
        let texts: Vec<&str> = doc.iter().map(|&i| ocr[i].text.as_str()).collect();
        // Identity on the document's fields, each check listed under the page its field is on.
        let rec = recognise::Recognition {
            classification: class.clone(),
            fields: fields.clone(),
            mrz: doc.iter().find_map(|&i| looked[i].rec.mrz.clone()),
            empty_labels: Vec::new(),
        };
        let name_page = from.get("holder_name").copied().unwrap_or(doc[0]);
        let mut doc_checks: Vec<Check> =
            checks::identity(&rec, &ocr[name_page], holder, policy.name_max_folded_edits)
                .into_iter()
                .map(|c| {
                    let field = match c.name.as_str() {
                        "identity.name" => "holder_name",
                        "identity.birth_date" => "birth_date",
                        "identity.id_number" => "id_number",
                        _ => "",
                    };
                    Check {
                        page: Some(from.get(field).copied().unwrap_or(doc[0])),
                        ..c
                    }
                })
                .collect();
        doc_checks.push(checks::document_seal(
            &class,
            doc,
            &doc.iter().map(|&i| looked[i].seals.clone()).collect::<Vec<_>>(),
            &texts,
        ));
        doc_checks.push(Check {
            page: Some(doc[0]),
            ..checks::foreign_document(&texts, policy.foreign_vi_ratio, policy.foreign_min_letters)
        });
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        for c in doc_checks {
            let at = c.page.unwrap_or(doc[0]);
            looked[at].checks.push(c);
        }
        looked[doc[0]].ms += ms;
        let items: Vec<(usize, &Check)> = doc
            .iter()
            .flat_map(|&i| looked[i].checks.iter().map(move |c| (i, c)))
            .collect();
        let decision = decide(&items, Some(&class), policy);
        documents.push(DocumentReport {
            index: d,
            pages: doc.clone(),
            doc_type: class.doc_class,
            classification: class,
            fields,
            decision,
        });
    }
    let reports: Vec<PageReport> = looked
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let items: Vec<(usize, &Check)> = l.checks.iter().map(|c| (i, c)).collect();
            let decision = if l.blank {
                Decision {
                    action: Action::OfficerReview,
                    grounds: Vec::new(),
                    suggested_grounds: Vec::new(),
                    reasons: Vec::new(),
                    summary: format!("page {} is blank", i + 1),
                }
            } else {
                decide(&items, None, policy)
            };
            let doc_type = document_of[i].map_or(DocClass::Unknown, |d| documents[d].doc_type);
            PageReport {
                page: i,
                document: document_of[i],
                doc_type,
                blank: l.blank,
                classification: l.rec.classification,
                fields: l.rec.fields,
                mrz: l.rec.mrz,
                checks: l.checks,
                fingerprint: l.fingerprint,
                decision,
                assess_ms: l.ms,
            }
        })
        .collect();
    let decision = combine(&reports, &documents);
    IntakeReport {
        pages: reports,
        documents,
        decision,
    }
}
