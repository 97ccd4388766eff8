//! The evaluation of tampered twins and of whole documents of several pages.
use super::*;

/// Every tampered page against its untampered twin (the same spec and seed, drawn without the alteration),
/// both assessed as the server would (true holder): is the tampered page's decision stricter, does it carry a
/// forensic finding the twin lacks, and is it held for an officer while its twin is issued?
pub(super) fn evaluate_twins(
    opts: &EvalOptions,
    generator: &Generator,
    specs: &[crate::corpus::PageSpec],
    reports: &[PageReport],
    threads: usize,
    r: &mut EvalReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), IntakeError> {
    let tampered: Vec<usize> = (0..specs.len())
        .filter(|i| specs[*i].kind == VariantKind::Tampered)
        .collect();
    if tampered.is_empty() {
        return Ok(());
    }
    let twins = parallel_map(&tampered, threads, |_, i| {
        generator.generate(&crate::corpus::PageSpec {
            kind: VariantKind::Clean,
            ..specs[*i]
        })
    })?;
    let pool = OcrPool::new(&OcrConfig::default(), Some(threads))?;
    let frames: Vec<Arc<PageImage>> = twins
        .iter()
        .map(|t| Arc::new(PageImage::Rgb(t.image.clone())))
        .collect();
    let ocr = pool.recognize(frames, crate::corpus::DPI, &mut |_, _| {})?;
    let twin_reports = parallel_map(&twins, threads, |k, t| {
        let input = PageInput {
            image: &t.image,
            dpi: Some(crate::corpus::DPI as f32),
            jpeg: false,
        };
        let holder = t.truth.fields.verified_holder();
        Ok(assess_page(k, &input, &ocr[k], Some(&holder), &opts.policy, &[]))
    })?;
    let findings = |p: &PageReport| -> Vec<String> {
        p.checks
            .iter()
            .filter(|c| c.name.starts_with("forensics.") && c.outcome == Outcome::Fail)
            .map(|c| c.name.clone())
            .collect()
    };
    if let Some(dir) = &opts.keep_dir {
        for (k, &i) in tampered.iter().enumerate() {
            let base = dir.join(format!("{}.twin", specs[i].id()));
            let png = base.with_extension("twin.png");
            std::fs::write(&png, &twins[k].encoded).map_err(|e| IntakeError::io(&png, e))?;
            write_json(&base.with_extension("twin.report.json"), &twin_reports[k])?;
        }
    }
    for (k, &i) in tampered.iter().enumerate() {
        let (t, twin) = (&reports[i], &twin_reports[k]);
        let held = t.decision.action != Action::AutoIssue && twin.decision.action == Action::AutoIssue;
        r.tampered_held_while_twin_issued.add(held);
        r.tampered_stricter_than_twin
            .add(t.decision.action > twin.decision.action);
        let theirs = findings(twin);
        r.tampered_finding_twin_lacks
            .add(findings(t).iter().any(|f| !theirs.contains(f)));
        if !held {
            r.notes.push(format!(
                "{}: tampered {:?}, its twin {:?} ({})",
                specs[i].id(),
                t.decision.action,
                twin.decision.action,
                twin.decision.summary
            ));
        }
    }
    progress(&format!("{} tampered pages against their twins", tampered.len()));
    Ok(())
}

/// The document corpus through the whole intake, as the server runs it (the verified holder given).
pub(super) fn evaluate_documents(
    opts: &EvalOptions,
    generator: &Generator,
    threads: usize,
    r: &mut EvalReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), IntakeError> {
    use crate::corpus::documents::{split_document_specs, Expected};
    let specs = split_document_specs(opts.seed, opts.documents, opts.split);
    let docs = parallel_map(&specs, threads, |_, spec| generator.generate_document(spec))?;
    let frames: Vec<Arc<PageImage>> = docs
        .iter()
        .flat_map(|d| d.pages.iter().map(|p| Arc::new(PageImage::Rgb(p.image.clone()))))
        .collect();
    let t = Instant::now();
    let pool = OcrPool::new(&OcrConfig::default(), Some(threads))?;
    let ocr = pool.recognize(frames, crate::corpus::DPI, &mut |_, _| {})?;
    let mut at = 0;
    let mut spans = Vec::new();
    for d in &docs {
        spans.push(at..at + d.pages.len());
        at += d.pages.len();
    }
    let reports = parallel_map(&docs, threads, |i, d| {
        let inputs: Vec<PageInput<'_>> = d
            .pages
            .iter()
            .map(|p| PageInput {
                image: &p.image,
                dpi: Some(crate::corpus::DPI as f32),
                jpeg: false,
            })
            .collect();
        let holder = d.truth.fields.verified_holder();
        crate::decision::assess(&inputs, &ocr[spans[i].clone()], Some(&holder), &opts.policy, &[])
    })?;
    progress(&format!(
        "intake of {} documents ({} pages) in {:.1} s",
        docs.len(),
        at,
        t.elapsed().as_secs_f64()
    ));
    r.documents = docs.len();
    for (d, rep) in docs.iter().zip(&reports) {
        let kind = d.truth.kind.name().to_string();
        let action = action_name(rep.decision.action);
        *r.document_decisions
            .entry(kind.clone())
            .or_default()
            .entry(action.into())
            .or_default() += 1;
        let right = match d.truth.expected {
            Expected::Legitimate => rep.decision.action != Action::Refuse,
            Expected::Refused { ground } => {
                rep.decision.action == Action::Refuse
                    && rep.decision.grounds.iter().any(|g| g.ground == ground)
            }
            Expected::Officer => rep.decision.action == Action::OfficerReview,
        };
        r.documents_right.entry(kind.clone()).or_default().add(right);
        if !right {
            r.notes.push(format!(
                "{}: expected {:?}, decided {action}: {}",
                d.truth.id, d.truth.expected, rep.decision.summary
            ));
        }
        if d.truth.expected == Expected::Legitimate {
            let refused = rep.decision.action == Action::Refuse;
            r.document_wrongful_refusals.add(refused);
            let scan = if d.truth.greyscale { "greyscale" } else { "colour" };
            r.documents_auto_issued_by_scan
                .entry(scan.into())
                .or_default()
                .add(rep.decision.action == Action::AutoIssue);
        }
        let not_run = crate::decision::unchecked(&rep.pages);
        for (_, check, _) in &not_run {
            *r.unchecked_by_check.entry(check.clone()).or_default() += 1;
        }
        let issued_unchecked = rep.decision.action == Action::AutoIssue && !not_run.is_empty();
        r.issued_with_unchecked.add(issued_unchecked);
        if issued_unchecked {
            r.notes
                .push(format!("{}: issued although a check could not run", d.truth.id));
        }
    }
    Ok(())
}
