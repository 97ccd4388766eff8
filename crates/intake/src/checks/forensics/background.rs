//! Background patches and erased values: paper colour that does not match around a field, and fields
//! the recognition found empty where a value should be.
use super::*;

/// A 3 × 3 mean of `img` at `(x, y)` (clamped to the image).
pub(super) fn mean3(img: &image::RgbImage, x: u32, y: u32) -> [f32; 3] {
    let (w, h) = img.dimensions();
    let mut s = [0f32; 3];
    let mut n = 0f32;
    for yy in y.saturating_sub(1)..(y + 2).min(h) {
        for xx in x.saturating_sub(1)..(x + 2).min(w) {
            let p = img.get_pixel(xx, yy).0;
            for c in 0..3 {
                s[c] += f32::from(p[c]);
            }
            n += 1.0;
        }
    }
    s.map(|v| v / n)
}

pub(super) fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

pub(super) fn median_colour(px: &[[f32; 3]]) -> [f32; 3] {
    let mut out = [0f32; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let mut v: Vec<f32> = px.iter().map(|p| p[c]).collect();
        *o = median(&mut v);
    }
    out
}

/// Paper of another colour inside a word than around it.
///
/// For every legible word, the paper colour is taken on each side of a ring around it (3 × 3 means, the
/// lighter half of the ring's pixels so that neighbouring ink does not count). Where the four sides disagree
/// the word sits on a boundary (a card's edge, a tinted band) and is skipped. Inside the word, a pixel is
/// *off-paper* when it is not darker than the paper (ink and its anti-aliased edge are) and differs from it in
/// some channel by more than `max(background_min_difference, 4 × the ring's spread)`. A connected group of
/// off-paper pixels of at least `background_min_share` of the word's height squared is a patch: on white
/// paper a white-out leaves no trace here, on tinted card stock or security paper it does.
pub fn background_patch(img: &image::RgbImage, ocr: &OcrPage, p: &IntakePolicy) -> Check {
    const NAME: &str = "forensics.background";
    let (pw, ph) = img.dimensions();
    let mut findings: Vec<(BBox, serde_json::Value)> = Vec::new();
    let (mut words, mut skipped) = (0usize, 0usize);
    for word in &ocr.words {
        let b = word.bbox;
        if word.confidence < 50.0 || b.h < 12 || !word.text.chars().any(char::is_alphanumeric) {
            continue;
        }
        // The word with a margin (a whited-out cell reaches past the ink of a word's first or last glyph),
        // and a ring around that.
        let (e, r) = ((b.h / 6).max(3), (b.h / 3).max(4));
        if b.x < e + r + 1 || b.y < e + r + 1 || b.right() + e + r + 1 >= pw || b.bottom() + e + r + 1 >= ph {
            continue;
        }
        let inner = BBox::new(b.x - e, b.y - e, b.w + 2 * e, b.h + 2 * e);
        let sides = [
            BBox::new(inner.x - r, inner.y - r, inner.w + 2 * r, r),
            BBox::new(inner.x - r, inner.bottom(), inner.w + 2 * r, r),
            BBox::new(inner.x - r, inner.y, r, inner.h),
            BBox::new(inner.right(), inner.y, r, inner.h),
        ];
        let mut all: Vec<[f32; 3]> = Vec::new();
        let mut side_colours = Vec::new();
        for sb in &sides {
            let mut px: Vec<[f32; 3]> = Vec::new();
            for y in (sb.y..sb.bottom()).step_by(2) {
                for x in (sb.x..sb.right()).step_by(2) {
                    px.push(mean3(img, x, y));
                }
            }
            // The lighter half: paper, not a neighbour's ink.
            px.sort_by(|a, c| luma(*c).total_cmp(&luma(*a)));
            px.truncate(px.len().div_ceil(2));
            side_colours.push(median_colour(&px));
            all.extend(px);
        }
        let paper = median_colour(&all);
        let mut spread = 0f32;
        for c in 0..3 {
            let mut dev: Vec<f32> = all.iter().map(|v| (v[c] - paper[c]).abs()).collect();
            spread = spread.max(median(&mut dev));
        }
        let tol = p.background_min_difference.max(4.0 * spread);
        let differs = |a: [f32; 3], c: [f32; 3]| (0..3).any(|i| (a[i] - c[i]).abs() > tol);
        if side_colours.iter().any(|s| differs(*s, paper)) {
            skipped += 1;
            continue;
        }
        words += 1;
        let (w, h) = (inner.w as usize, inner.h as usize);
        let off: Vec<bool> = (0..w * h)
            .map(|i| {
                let v = mean3(img, inner.x + (i % w) as u32, inner.y + (i / w) as u32);
                luma(v) >= luma(paper) - 4.0 && differs(v, paper)
            })
            .collect();
        let min_pixels = ((b.h * b.h) as f32 * p.background_min_share).max(20.0) as usize;
        for (cb, n) in components(&off, w, h) {
            if n >= min_pixels {
                let pb = BBox::new(inner.x + cb.x, inner.y + cb.y, cb.w, cb.h);
                let inside: Vec<[f32; 3]> = (0..cb.h)
                    .flat_map(|y| (0..cb.w).map(move |x| (x, y)))
                    .filter(|(x, y)| off[(cb.y + y) as usize * w + (cb.x + x) as usize])
                    .map(|(x, y)| img.get_pixel(pb.x + x, pb.y + y).0.map(f32::from))
                    .collect();
                let colour = median_colour(&inside);
                findings.push((
                    pb,
                    json!({"word": word.text, "box": pb, "pixels": n, "patch_colour": colour.map(f32::round),
                           "paper_colour": paper.map(f32::round), "tolerance": tol}),
                ));
            }
        }
    }
    let ev = json!({"words": words, "words_on_a_boundary": skipped,
                    "min_difference": p.background_min_difference, "min_share": p.background_min_share,
                    "findings": findings.iter().map(|f| f.1.clone()).collect::<Vec<_>>()});
    if words == 0 {
        return Check::new(
            NAME,
            Outcome::NotApplicable,
            "no word on even paper to compare",
            ev,
        );
    }
    verdict(
        NAME,
        findings.iter().map(|f| f.0).collect(),
        format!("the paper inside {words} words matches the paper around them"),
        format!(
            "{} patch(es) inside the text have another paper colour than around them (whited out)",
            findings.len()
        ),
        ev,
    )
}

/// Digits whose nearest face differs from their word's (see [`typeface`]), learnt against the page's own
/// rendering: a digit counts only if no other instance of the same digit on the page (in its word or another)
/// is nearest to that same face, and if it does not match in shape (`alike`) an instance of it in a word of
/// its word's family. A page set in a typeface the library does not hold renders, say, its "1" nearer to
/// DejaVu Serif than to DejaVu Sans; that is the page's typeface, not an alteration, and the page prints that
/// "1" again in its other numbers. Returns the findings, how many were set aside so, and how well the library
/// fits the page.
pub(super) fn face_findings(
    fonts: &crate::corpus::render::Fonts,
    glyphs: &[Glyph],
    alike: &[Vec<usize>],
    ocr: &OcrPage,
    p: &IntakePolicy,
) -> FaceFindings {
    let mut renders = typeface::Renders::default();
    let dists: Vec<Vec<Option<f32>>> = glyphs
        .iter()
        .map(|g| renders.distances(fonts, &g.ink, g.ch, g.bbox.h, smoothed))
        .collect();
    let families: Vec<[Option<(usize, f32)>; 2]> = dists.iter().map(|d| typeface::by_family(d)).collect();
    let nearest = |i: usize| -> Option<(usize, usize, f32)> {
        families[i]
            .iter()
            .enumerate()
            .filter_map(|(fam, v)| v.map(|(face, d)| (fam, face, d)))
            .min_by(|a, b| a.2.total_cmp(&b.2))
    };
    let mut fit: Vec<f32> = (0..glyphs.len())
        .filter_map(|i| nearest(i).map(|n| n.2))
        .collect();
    let page_fit = if fit.is_empty() {
        f32::MAX
    } else {
        median(&mut fit)
    };
    let mut out = Vec::new();
    let mut repeated = 0usize;
    let mut words: Vec<usize> = glyphs.iter().map(|g| g.word).collect();
    words.dedup();
    // Each word's family: the one most of its well-matched digits are nearest to, if they are most of it.
    let family_of: HashMap<usize, usize> = words
        .iter()
        .filter_map(|&w| {
            let members: Vec<usize> = (0..glyphs.len()).filter(|i| glyphs[*i].word == w).collect();
            if members.len() < 3 {
                return None;
            }
            let mut votes = [0usize; typeface::FAMILIES.len()];
            for i in &members {
                if let Some((fam, _, d)) = nearest(*i) {
                    if d <= p.glyph_face_max_distance {
                        votes[fam] += 1;
                    }
                }
            }
            let (family, n) = votes.iter().copied().enumerate().max_by_key(|v| v.1)?;
            (n >= 2 && n * 2 > members.len()).then_some((w, family))
        })
        .collect();
    for w in words {
        let Some(&word_family) = family_of.get(&w) else {
            continue;
        };
        let members: Vec<usize> = (0..glyphs.len()).filter(|i| glyphs[*i].word == w).collect();
        for i in members {
            let (Some((fam, face, d)), Some((word_face, d_word))) = (nearest(i), families[i][word_family])
            else {
                continue;
            };
            let g = &glyphs[i];
            // Faces that render this digit alike cannot be told apart.
            let apart = renders
                .faces_apart(face, word_face, g.ch, g.bbox.h)
                .unwrap_or(0.0);
            if fam != word_family
                && d <= p.glyph_face_max_distance
                && d_word >= d * p.glyph_face_margin
                && apart >= p.glyph_face_min_separation
            {
                // The page's own rendering of this digit, elsewhere.
                let page_does_so = (0..glyphs.len()).any(|j| {
                    j != i
                        && glyphs[j].ch == g.ch
                        && nearest(j).is_some_and(|(f, _, dj)| f == fam && dj <= p.glyph_face_max_distance)
                });
                // The page prints this digit so in another word of this family.
                let page_prints_it = alike[i].iter().any(|&j| {
                    glyphs[j].word != g.word && family_of.get(&glyphs[j].word) == Some(&word_family)
                });
                if page_does_so || page_prints_it {
                    repeated += 1;
                    continue;
                }
                out.push((
                    g.bbox,
                    json!({"kind": "face", "word": ocr.words[g.word].text, "char": g.ch.to_string(),
                           "nearest_face": typeface::FACES[face], "distance": d,
                           "word_face": typeface::FACES[word_face], "distance_to_word_face": d_word,
                           "faces_apart": apart, "margin": p.glyph_face_margin}),
                ));
            }
        }
    }
    FaceFindings {
        findings: out,
        page_renders: repeated,
        page_fit,
    }
}

/// What [`face_findings`] found.
pub(super) struct FaceFindings {
    pub(super) findings: Vec<(BBox, serde_json::Value)>,
    /// Findings set aside because the page renders the digit so elsewhere.
    pub(super) page_renders: usize,
    /// The median distance of the page's digits to their nearest library face: how well the library holds
    /// the page's typeface.
    pub(super) page_fit: f32,
}

/// Labels of the type's layout found with no value after them.
pub fn erased_values(rec: &Recognition) -> Check {
    const NAME: &str = "forensics.erased_value";
    if rec.classification.doc_class == crate::recognise::DocClass::Unknown {
        return Check::not_applicable(NAME, "unknown document type: no layout to compare with");
    }
    let ev = json!({"empty_labels": rec.empty_labels});
    let names: Vec<&str> = rec.empty_labels.iter().map(|e| e.label.as_str()).collect();
    verdict(
        NAME,
        rec.empty_labels.iter().map(|e| e.value_region).collect(),
        "every label of the layout has its value",
        format!(
            "nothing after {}: the value may have been erased",
            names.join(", ")
        ),
        ev,
    )
}
