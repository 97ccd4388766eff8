//! The evaluation over the corpus, page by page: OCR, fields, classification, checks and decisions.
use super::*;

/// Runs the benchmark. `progress` gets one line per stage.
pub fn evaluate(opts: &EvalOptions, progress: &mut dyn FnMut(&str)) -> Result<EvalReport, IntakeError> {
    let tmp = tempfile::tempdir().map_err(|e| IntakeError::io("temporary directory", e))?;
    let dir = opts.keep_dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).map_err(|e| IntakeError::io(&dir, e))?;
    let generator = Generator::for_split(opts.split)?;
    let specs = split_specs(opts.seed, opts.per_type, &opts.kinds, opts.split);
    let t = Instant::now();
    let generated: Vec<(PathBuf, GroundTruth, VariantKind)> =
        parallel_map(&specs, opts.threads, |_, spec| {
            let page = generator.generate(spec)?;
            let path = page.write(&dir)?;
            Ok((path, page.truth, spec.kind))
        })?;
    progress(&format!(
        "generated {} pages in {:.1} s into {}",
        generated.len(),
        t.elapsed().as_secs_f64(),
        dir.display()
    ));
    let threads = opts.threads.max(1);

    // The whole intake, timed: decode, OCR, assess.
    let cache = |p: &Path| p.with_extension("ocr.json");
    let cached: Option<Vec<OcrPage>> = if opts.reuse_ocr {
        generated
            .iter()
            .map(|(p, _, _)| {
                std::fs::read(cache(p))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<OcrPage>(&b).ok())
            })
            .collect()
    } else {
        None
    };
    let ocr_reused = cached.is_some();
    let t = Instant::now();
    let images: Vec<(Arc<image::RgbImage>, bool)> = parallel_map(&generated, threads, |_, (path, _, _)| {
        let bytes = std::fs::read(path).map_err(|e| IntakeError::io(path, e))?;
        let jpeg = bytes.starts_with(&[0xFF, 0xD8]);
        let img = image::load_from_memory(&bytes)
            .map_err(|e| IntakeError::Decode {
                path: path.clone(),
                detail: e.to_string(),
            })?
            .to_rgb8();
        Ok((Arc::new(img), jpeg))
    })?;
    let ocr: Vec<OcrPage> = match cached {
        Some(c) => c,
        None => {
            // Each page at its own resolution (captures are 200 and 225 dpi), as a scanner reports it.
            let pool = OcrPool::new(&OcrConfig::default(), Some(threads))?;
            let mut dpis: Vec<u32> = generated.iter().map(|(_, t, _)| t.dpi).collect();
            dpis.sort_unstable();
            dpis.dedup();
            let mut out: Vec<Option<OcrPage>> = vec![None; images.len()];
            for dpi in dpis {
                let at: Vec<usize> = (0..images.len()).filter(|i| generated[*i].1.dpi == dpi).collect();
                let frames: Vec<Arc<PageImage>> = at
                    .iter()
                    .map(|i| Arc::new(PageImage::Rgb((*images[*i].0).clone())))
                    .collect();
                for (i, o) in at.iter().zip(pool.recognize(frames, dpi, &mut |_, _| {})?) {
                    out[*i] = Some(o);
                }
            }
            out.into_iter().flatten().collect()
        }
    };
    let policy = &opts.policy;
    let reports: Vec<PageReport> = parallel_map(&images, threads, |i, (img, jpeg)| {
        let input = PageInput {
            image: img,
            dpi: Some(generated[i].1.dpi as f32),
            jpeg: *jpeg,
        };
        // The holder's verified identity, as a kiosk has it from the chip: the page's true holder.
        let holder = generated
            .get(i)
            .map(|(_, truth, _)| truth.fields.verified_holder());
        Ok(assess_page(i, &input, &ocr[i], holder.as_ref(), policy, &[]))
    })?;
    let intake_secs = t.elapsed().as_secs_f64();
    if opts.keep_dir.is_some() {
        for (((p, _, _), o), rep) in generated.iter().zip(&ocr).zip(&reports) {
            if !ocr_reused {
                write_json(&cache(p), o)?;
            }
            // What the intake made of the page, beside it (for looking at a failure).
            write_json(&p.with_extension("report.json"), rep)?;
        }
    }
    progress(&format!(
        "intake of {} pages in {intake_secs:.1} s",
        generated.len()
    ));

    let mut r = EvalReport {
        split: opts.split.name().into(),
        pages: generated.len(),
        threads,
        intake_secs,
        intake_pages_per_sec: generated.len() as f64 / intake_secs,
        intake_secs_per_page_per_core: intake_secs * threads as f64 / generated.len().max(1) as f64,
        assess_ms_mean: reports.iter().map(|p| p.assess_ms).sum::<f64>() / reports.len().max(1) as f64,
        ocr_reused,
        ..EvalReport::default()
    };

    if opts.compare_cli {
        let t = Instant::now();
        let cli: Vec<String> = parallel_map(&generated, threads, |_, (p, _, _)| cli_ocr(p))?;
        let secs = t.elapsed().as_secs_f64();
        r.cli_pages_per_sec = Some(generated.len() as f64 / secs);
        let (mut c, mut d) = (CerCount::default(), CerCount::default());
        for ((_, truth, kind), text) in generated.iter().zip(&cli) {
            match kind {
                VariantKind::Clean => c.add(cer_count(&truth.text(), text)),
                VariantKind::Degraded => d.add(cer_count(&truth.text(), text)),
                _ => {}
            }
        }
        r.cli_cer_clean = Some(c);
        r.cli_cer_degraded = Some(d);
        progress(&format!("tesseract CLI on the same pages in {secs:.1} s"));
    }

    for ((((_, truth, kind), o), rep), spec) in generated.iter().zip(&ocr).zip(&reports).zip(&specs) {
        let kname = kind.name().to_string();
        let face = spec.typeface.name().to_string();
        let expected = DocClass::from_doc_type(truth.doc_type);
        let class_ok = rep.doc_type == expected;
        r.classification.add(class_ok);
        r.classification_by_kind
            .entry(kname.clone())
            .or_default()
            .add(class_ok);
        if !class_ok {
            r.notes
                .push(format!("{}: classified as {}", truth.id, rep.doc_type.name()));
        }
        let action = action_name(rep.decision.action);
        *r.decisions
            .entry(kname.clone())
            .or_default()
            .entry(action.into())
            .or_default() += 1;
        let not_run = crate::decision::unchecked(std::slice::from_ref(rep));
        for (_, check, _) in &not_run {
            *r.unchecked_by_check.entry(check.clone()).or_default() += 1;
        }
        let issued_unchecked = rep.decision.action == Action::AutoIssue && !not_run.is_empty();
        r.issued_with_unchecked.add(issued_unchecked);
        if issued_unchecked {
            r.notes.push(format!(
                "{}: issued although {} could not run",
                truth.id,
                not_run
                    .iter()
                    .map(|(_, c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let forensic_fails: Vec<&crate::checks::Check> = rep
            .checks
            .iter()
            .filter(|c| c.name.starts_with("forensics.") && c.outcome == Outcome::Fail)
            .collect();
        match (&truth.variant, kind) {
            (_, VariantKind::Clean | VariantKind::Degraded) => {
                let t = cer_count(&truth.text(), &o.text);
                if *kind == VariantKind::Clean {
                    r.cer_clean.add(t);
                    r.cer_clean_by_typeface.entry(face.clone()).or_default().add(t);
                } else {
                    r.cer_degraded.add(t);
                }
                let issued = rep.decision.action == Action::AutoIssue;
                let scan = if *kind == VariantKind::Clean {
                    "colour"
                } else {
                    "jpeg_degraded"
                };
                r.auto_issued_by_scan.entry(scan.into()).or_default().add(issued);
                r.auto_issued_by_type
                    .entry(truth.doc_type.name().into())
                    .or_default()
                    .add(issued);
                r.auto_issued_by_typeface
                    .entry(face.clone())
                    .or_default()
                    .add(issued);
                let truth_map = truth.fields.to_map();
                let got = rep
                    .fields
                    .iter()
                    .map(|(k, f)| (k.clone(), f.value.clone()))
                    .collect::<BTreeMap<_, _>>();
                let s = field_score(&truth_map, &got);
                if *kind == VariantKind::Clean {
                    r.fields_clean.add(s);
                } else {
                    r.fields_degraded.add(s);
                }
                let names: std::collections::BTreeSet<&String> = truth_map.keys().chain(got.keys()).collect();
                for name in names {
                    let one_t: BTreeMap<String, String> = truth_map
                        .get(name)
                        .map(|v| (name.clone(), v.clone()))
                        .into_iter()
                        .collect();
                    let one_g: BTreeMap<String, String> = got
                        .get(name)
                        .map(|v| (name.clone(), v.clone()))
                        .into_iter()
                        .collect();
                    let fs = field_score(&one_t, &one_g);
                    if fs.false_negatives + fs.false_positives > 0 {
                        r.notes.push(format!(
                            "{}: field {name}: truth {:?}, read {:?}",
                            truth.id,
                            truth_map.get(name),
                            got.get(name)
                        ));
                    }
                }
                // Names from an MRZ compared without diacritics.
                let mut folded_t = truth_map.clone();
                let mut folded_g = got.clone();
                if rep
                    .fields
                    .get("holder_name")
                    .is_some_and(|f| matches!(f.source, FieldSource::Mrz))
                {
                    if let Some(v) = folded_t.get_mut("holder_name") {
                        *v = fold(v);
                    }
                    if let Some(v) = folded_g.get_mut("holder_name") {
                        *v = fold(v);
                    }
                }
                r.fields_mrz_names_folded.add(field_score(&folded_t, &folded_g));
                for name in truth_map.keys() {
                    let one_t: BTreeMap<String, String> = truth_map
                        .get(name)
                        .map(|v| (name.clone(), v.clone()))
                        .into_iter()
                        .collect();
                    let one_g: BTreeMap<String, String> = got
                        .get(name)
                        .map(|v| (name.clone(), v.clone()))
                        .into_iter()
                        .collect();
                    r.fields_by_name
                        .entry(name.clone())
                        .or_default()
                        .add(field_score(&one_t, &one_g));
                }
                r.false_alarms.add(!forensic_fails.is_empty());
                r.false_alarms_by_typeface
                    .entry(face.clone())
                    .or_default()
                    .add(!forensic_fails.is_empty());
                for c in &forensic_fails {
                    *r.false_alarms_by_check.entry(c.name.clone()).or_default() += 1;
                    r.notes
                        .push(format!("{}: false alarm {}: {}", truth.id, c.name, c.message));
                }
                let refused = rep.decision.action == Action::Refuse;
                r.wrongful_refusals.add(refused);
                if refused {
                    r.notes
                        .push(format!("{}: wrongly refused: {}", truth.id, rep.decision.summary));
                }
            }
            (Variant::Captured { mode, .. }, _) => {
                r.cer_by_capture
                    .entry(mode.name().into())
                    .or_default()
                    .add(cer_count(&truth.text(), &o.text));
                let issued = rep.decision.action == Action::AutoIssue;
                r.auto_issued_by_scan
                    .entry(mode.name().into())
                    .or_default()
                    .add(issued);
                r.capture_false_alarms.add(!forensic_fails.is_empty());
                for c in &forensic_fails {
                    r.notes
                        .push(format!("{}: false alarm {}: {}", truth.id, c.name, c.message));
                }
                let refused = rep.decision.action == Action::Refuse;
                r.capture_wrongful_refusals.add(refused);
                if refused || !issued {
                    r.notes.push(format!(
                        "{}: {} capture {}: {}",
                        truth.id,
                        mode.name(),
                        action_name(rep.decision.action),
                        rep.decision.summary
                    ));
                }
            }
            (Variant::Tampered { tamper, region, .. }, _) => {
                let flagged = !forensic_fails.is_empty();
                r.tamper_recall.add(flagged);
                r.tamper_recall_by_kind
                    .entry(tamper_name(*tamper).into())
                    .or_default()
                    .add(flagged);
                let localised = forensic_fails
                    .iter()
                    .any(|c| c.regions.iter().any(|b| b.intersect(region).is_some()));
                r.tamper_localised.add(localised);
                r.tamper_shown_at_spot.add(rep.checks.iter().any(|c| {
                    c.outcome == Outcome::Fail && c.regions.iter().any(|b| b.intersect(region).is_some())
                }));
                r.tamper_localised_by_typeface
                    .entry(face.clone())
                    .or_default()
                    .add(localised);
                if !flagged {
                    r.notes
                        .push(format!("{}: {} not flagged", truth.id, tamper_name(*tamper)));
                } else if !localised {
                    r.notes.push(format!(
                        "{}: {} flagged elsewhere",
                        truth.id,
                        tamper_name(*tamper)
                    ));
                }
            }
            (
                Variant::Marked {
                    case,
                    placement,
                    rotation_deg,
                    greyscale,
                    ..
                },
                _,
            ) => {
                let (ground, name) = art22_ground(case);
                let hit = rep.decision.action == Action::Refuse
                    && rep.decision.grounds.iter().any(|g| g.ground == ground);
                for (map, key) in [
                    (&mut r.marks_by_placement, placement.name()),
                    (
                        &mut r.marks_by_scan,
                        if *greyscale { "greyscale" } else { "colour" },
                    ),
                    (
                        &mut r.marks_by_turn,
                        if *rotation_deg == 0.0 { "level" } else { "turned" },
                    ),
                ] {
                    map.entry(key.into()).or_default().add(hit);
                }
                r.marks_auto_issued.add(rep.decision.action == Action::AutoIssue);
                if !hit {
                    r.notes.push(format!(
                        "{}: {name} mark ({}, {:.0}°, {}) not refused: {}",
                        truth.id,
                        placement.name(),
                        rotation_deg,
                        if *greyscale { "greyscale" } else { "colour" },
                        rep.decision.summary
                    ));
                }
            }
            (Variant::Art22 { case, .. }, _) => {
                let (ground, name) = art22_ground(case);
                let refused = rep.decision.action == Action::Refuse
                    && rep.decision.grounds.iter().any(|g| g.ground == ground);
                let suggested = rep.decision.action == Action::OfficerReview
                    && rep.decision.suggested_grounds.iter().any(|g| g.ground == ground);
                // Unambiguous grounds (a mark shown by its region) are refused; an official paper's missing
                // seal and a foreign paper go to an officer with the ground suggested (the policy).
                let hit = if art22_unambiguous(case) {
                    refused
                } else {
                    suggested
                };
                r.art22_by_ground.entry(name.into()).or_default().add(hit);
                r.art22_auto_issued.add(rep.decision.action == Action::AutoIssue);
                if !hit {
                    r.notes.push(format!(
                        "{}: {name} not {} ({})",
                        truth.id,
                        if art22_unambiguous(case) {
                            "refused"
                        } else {
                            "sent to an officer with the ground"
                        },
                        rep.decision.summary
                    ));
                }
            }
            _ => {}
        }
    }
    evaluate_twins(opts, &generator, &specs, &reports, threads, &mut r, progress)?;
    if opts.documents > 0 {
        evaluate_documents(opts, &generator, threads, &mut r, progress)?;
    }
    Ok(r)
}
