//! `banso id face-detect | face-match | face-eval | liveness`: the face pipeline of `banso-face`
//! on files, with stable error codes (`FACE-000x` in the registry) and the command line's one exit-code
//! mapping (0 match/live, 1 no match/not live or an image without a face or unreadable, 2 another error).

use anyhow::{anyhow, Context, Result};
use banso_core::{Code, Error};
use banso_face::eval::{independent_pairs, parse_pairs, Rates, Scores};
use banso_face::liveness::{self, Challenge, LivenessPolicy};
use banso_face::{cosine_similarity, FaceError, FaceModels, MatchPolicy, EMBEDDING_LEN};
use image::RgbImage;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub fn load_models() -> Result<FaceModels> {
    FaceModels::load_default().map_err(|e| anyhow!("{}: {e}", Code::Face0003Models))
}

fn read_image(path: &Path) -> std::result::Result<RgbImage, Error> {
    let bad = |e: String| Error::new(Code::Face0002BadImage, format!("{}: {e}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    banso_face::decode_image(&bytes).map_err(|e| bad(e.to_string()))
}

fn fail(json: bool, code: Code, message: &str) -> u8 {
    crate::output::fail(json, &Error::new(code, message))
}

/// Lists the faces in each image: box, score, landmarks and the yaw cue.
pub fn detect(files: &[PathBuf], json: bool) -> Result<u8> {
    let models = load_models()?;
    let mut out = Vec::new();
    for f in files {
        let img = match read_image(f) {
            Ok(i) => i,
            Err(e) => return Ok(crate::output::fail(json, &e)),
        };
        let faces = models.detect(&img)?;
        if !json {
            println!("{}: {} face(s)", f.display(), faces.len());
        }
        let list: Vec<_> = faces
            .iter()
            .map(|face| {
                let b = face.bbox;
                if !json {
                    println!(
                        "  box {:.0},{:.0} {:.0}×{:.0}  score {:.3}  yaw cue {:+.2}",
                        b.x,
                        b.y,
                        b.w,
                        b.h,
                        face.score,
                        liveness::yaw_cue(face)
                    );
                }
                json!({
                    "box": [b.x, b.y, b.w, b.h],
                    "score": face.score,
                    "landmarks": face.landmarks,
                    "yaw_cue": liveness::yaw_cue(face),
                })
            })
            .collect();
        out.push(json!({ "file": f, "width": img.width(), "height": img.height(), "faces": list }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(0)
}

/// 1:1 match of the largest face in `a` against the largest face in `b`.
pub fn face_match(a: &Path, b: &Path, threshold: Option<f32>, json: bool) -> Result<u8> {
    let policy = threshold
        .map(|threshold| MatchPolicy { threshold })
        .unwrap_or_default();
    let models = match load_models() {
        Ok(m) => m,
        Err(e) => return Ok(fail(json, Code::Face0003Models, &e.to_string())),
    };
    let (ia, ib) = match (read_image(a), read_image(b)) {
        (Ok(ia), Ok(ib)) => (ia, ib),
        (Err(e), _) | (_, Err(e)) => return Ok(crate::output::fail(json, &e)),
    };
    let la = a.display().to_string();
    let lb = b.display().to_string();
    let cmp = match models.compare(&ia, &ib, [&la, &lb]) {
        Ok(c) => c,
        Err(FaceError::NoFace(which)) => {
            return Ok(fail(
                json,
                Code::Face0001NoFace,
                &format!("no face found in {which}"),
            ))
        }
        Err(e) => return Ok(fail(json, Code::Face0002BadImage, &e.to_string())),
    };
    let matched = policy.is_match(cmp.score);
    if json {
        let face = |f: &banso_face::Face| json!({ "box": [f.bbox.x, f.bbox.y, f.bbox.w, f.bbox.h], "score": f.score });
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "score": cmp.score,
                "threshold": policy.threshold,
                "decision": if matched { "match" } else { "no_match" },
                "faces": [face(&cmp.face_a), face(&cmp.face_b)],
            }))?
        );
    } else {
        println!(
            "{} (similarity {:.3}, threshold {:.3})",
            if matched { "MATCH" } else { "NO MATCH" },
            cmp.score,
            policy.threshold
        );
    }
    Ok(if matched { 0 } else { 1 })
}

/// Measures FAR/FRR on labelled pairs and proposes a threshold for `target_far`.
pub fn face_eval(pairs_file: &Path, target_far: f64, json: bool) -> Result<u8> {
    let text =
        std::fs::read_to_string(pairs_file).with_context(|| format!("reading {}", pairs_file.display()))?;
    let pairs = parse_pairs(&text).map_err(|e| anyhow!("{}: {e}", pairs_file.display()))?;
    if pairs.is_empty() {
        return Ok(fail(json, Code::Face0002BadImage, "the pairs file lists no pair"));
    }
    let base = pairs_file.parent().unwrap_or(Path::new("."));
    let models = load_models()?;

    // One embedding per image (None: no face found, a failure to enrol).
    let mut cache: HashMap<String, Option<[f32; EMBEDDING_LEN]>> = HashMap::new();
    let started = std::time::Instant::now();
    for p in &pairs {
        for name in [&p.a, &p.b] {
            if cache.contains_key(name) {
                continue;
            }
            let img = read_image(&base.join(name)).map_err(|e| anyhow!("{e}"))?;
            let e = models.embed_largest_face(&img)?.map(|(_, e)| e);
            cache.insert(name.clone(), e);
        }
    }
    let per_image_ms = started.elapsed().as_secs_f64() * 1000.0 / cache.len().max(1) as f64;

    let mut scored = Vec::new();
    let mut by_kind: HashMap<String, (Vec<f32>, Vec<f32>)> = HashMap::new();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    let (mut fte_genuine, mut fte_impostor) = (0usize, 0usize);
    for p in &pairs {
        match (cache[&p.a], cache[&p.b]) {
            (Some(a), Some(b)) => {
                let s = cosine_similarity(&a, &b);
                scored.push(json!({ "a": p.a, "b": p.b, "genuine": p.genuine, "score": s }));
                let entry = by_kind.entry(p.kind.clone()).or_default();
                if p.genuine {
                    genuine.push(s);
                    entry.0.push(s);
                } else {
                    impostor.push(s);
                    entry.1.push(s);
                }
            }
            _ if p.genuine => fte_genuine += 1,
            _ => fte_impostor += 1,
        }
    }
    let images_without_face: Vec<&String> = cache
        .iter()
        .filter(|(_, e)| e.is_none())
        .map(|(k, _)| k)
        .collect();
    let scores = Scores::new(genuine, impostor);
    let current = MatchPolicy::default().threshold;
    let at_current = scores.rates_at(current);
    let system = |r: &Rates| {
        r.system(
            scores.genuine().len(),
            scores.impostor().len(),
            fte_genuine,
            fte_impostor,
        )
    };
    let system_at_current = system(&at_current);
    let proposed = scores.threshold_for_far(target_far);
    let eer = scores.equal_error();
    // Impostor pairs reuse images: the FAR can be told apart from zero only at 1 / independent pairs.
    let independent = independent_pairs(
        pairs
            .iter()
            .filter(|p| !p.genuine && cache[&p.a].is_some() && cache[&p.b].is_some())
            .map(|p| (p.a.as_str(), p.b.as_str())),
    );
    let resolution = 1.0 / independent.max(1) as f64;
    let range =
        |v: &[f32]| json!({ "n": v.len(), "min": v.first(), "max": v.last(), "median": v.get(v.len() / 2) });
    let mut kinds: Vec<(String, Scores)> = by_kind
        .into_iter()
        .map(|(k, (g, i))| (k, Scores::new(g, i)))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(&b.0));
    let kinds_json: Vec<_> = kinds
        .iter()
        .map(|(k, s)| {
            json!({
                "kind": k,
                "genuine": range(s.genuine()),
                "impostor": range(s.impostor()),
                "at_default_threshold": s.rates_at(current),
            })
        })
        .collect();
    let report = json!({
        "pairs": pairs.len(),
        "images": cache.len(),
        "images_without_face": images_without_face,
        "genuine": range(scores.genuine()),
        "impostor": range(scores.impostor()),
        "failure_to_enrol_pairs": { "genuine": fte_genuine, "impostor": fte_impostor },
        "independent_impostor_pairs": independent,
        "far_resolution": resolution,
        "target_far": target_far,
        "proposed": proposed,
        "equal_error": eer,
        "default_threshold": current,
        "at_default_threshold": at_current,
        "system_at_default_threshold": system_at_current,
        "proposed_system": proposed.as_ref().map(system),
        "by_kind": kinds_json,
        "ms_per_image": per_image_ms,
        "scores": scored,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let show = |r: &Rates| {
            format!(
                "threshold {:.4}: FAR {:.4} % ({} of {}), FRR {:.2} % ({} of {})",
                r.threshold,
                r.far * 100.0,
                r.false_accepts,
                scores.impostor().len(),
                r.frr * 100.0,
                r.false_rejects,
                scores.genuine().len()
            )
        };
        println!(
            "{} pairs over {} images: {} genuine, {} impostor scored; {} images without a face ({} genuine and {} impostor pairs not scored)",
            pairs.len(),
            cache.len(),
            scores.genuine().len(),
            scores.impostor().len(),
            images_without_face.len(),
            fte_genuine,
            fte_impostor
        );
        println!(
            "genuine scores {:.3}..{:.3}, impostor scores {:.3}..{:.3}",
            scores.genuine().first().unwrap_or(&0.0),
            scores.genuine().last().unwrap_or(&0.0),
            scores.impostor().first().unwrap_or(&0.0),
            scores.impostor().last().unwrap_or(&0.0)
        );
        if let Some(p) = &proposed {
            println!("proposed for FAR ≤ {:.3} %: {}", target_far * 100.0, show(p));
        }
        println!(
            "independent impostor pairs (no two share an image): {independent} of {}; the smallest FAR the set can \
             show is {:.3} %{}",
            scores.impostor().len(),
            resolution * 100.0,
            if resolution > target_far {
                format!(", above the target {:.3} %", target_far * 100.0)
            } else {
                String::new()
            }
        );
        if let Some(e) = &eer {
            println!("equal error: {}", show(e));
        }
        println!("default ({current:.3}): {}", show(&at_current));
        println!(
            "default ({current:.3}), every attempt counted (ISO/IEC 19795-1: a genuine pair without a face is a \
             false reject): FRR {:.2} % ({} of {}), FAR {:.4} % ({} of {})",
            system_at_current.frr * 100.0,
            system_at_current.false_rejects,
            system_at_current.genuine_attempts,
            system_at_current.far * 100.0,
            system_at_current.false_accepts,
            system_at_current.impostor_attempts
        );
        for (k, s) in &kinds {
            let r = s.rates_at(current);
            println!(
                "  kind {:<10} genuine {:>5} impostor {:>6}  at default: FAR {:.3} % FRR {:.2} %",
                if k.is_empty() { "-" } else { k },
                s.genuine().len(),
                s.impostor().len(),
                r.far * 100.0,
                r.frr * 100.0
            );
        }
        println!("{per_image_ms:.1} ms per image (detect + align + embed)");
    }
    Ok(0)
}

/// Judges a frame sequence against a challenge (`left,right,...`).
pub fn liveness_check(challenge: &str, frames: &[PathBuf], json: bool) -> Result<u8> {
    let Some(challenge) = Challenge::parse(challenge) else {
        return Ok(fail(
            json,
            Code::Face0004BadChallenge,
            "--challenge must list turns: left,right,...",
        ));
    };
    let mut images = Vec::with_capacity(frames.len());
    for f in frames {
        match read_image(f) {
            Ok(i) => images.push(i),
            Err(e) => return Ok(crate::output::fail(json, &e)),
        }
    }
    let models = load_models()?;
    let report = liveness::assess(&models, &images, &challenge, &LivenessPolicy::default())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", if report.live { "LIVE" } else { "NOT LIVE" });
        for c in &report.checks {
            println!(
                "{:<20} {}  {}",
                c.name,
                if c.passed { "OK  " } else { "FAIL" },
                c.detail
            );
        }
    }
    Ok(if report.live { 0 } else { 1 })
}
