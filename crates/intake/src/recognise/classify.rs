//! Classification: which document type a page is, from its title, its MRZ and what it mentions.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Classification

/// Weight of a machine-readable zone of the right shape (TD1 for the card back, TD3 for the passport).
pub(super) const MRZ_WEIGHT: f32 = 3.0;

/// A title cue's weight: it counts in full only where the words stand as a title does, in capitals. The same
/// words in running text or a label ("Số Căn cước công dân: …") *mention* the type: the document is about
/// something else, and the mention counts against the type.
pub(super) const TITLE_WEIGHT: f32 = 3.0;
pub(super) const MENTION_WEIGHT: f32 = -1.0;

/// Whether at least 80 % of the letters of `words` are capitals.
pub(super) fn in_capitals(words: &[&OcrWord]) -> bool {
    let (mut upper, mut letters) = (0usize, 0usize);
    for c in words
        .iter()
        .flat_map(|w| w.text.chars())
        .filter(|c| c.is_alphabetic())
    {
        letters += 1;
        upper += usize::from(c.is_uppercase());
    }
    letters > 0 && upper * 5 >= letters * 4
}

pub(super) fn classify(lines: &[PageLine<'_>], mrz: Option<&MrzReading>, list: &TypeList) -> Classification {
    let mut cues: Vec<Cue> = Vec::new();
    let mut titled = false;
    for entry in &list.types {
        for cue in &entry.cues {
            let (class, pattern, weight) = (entry.class, cue.pattern.as_str(), cue.weight);
            let p: Vec<char> = pattern.chars().collect();
            let tol = text::tolerance(p.len());
            let found: Vec<_> = lines
                .iter()
                .filter_map(|l| text::find_approx(&l.folded, &p, tol).map(|h| (l, h)))
                .collect();
            let capitals = |(l, h): &(&PageLine<'_>, text::Hit)| l.titles(h);
            // A title cue is the title where it stands as one, in capitals at the head of its line (a diploma
            // also says "cấp bằng tốt nghiệp …" in its text); a page where it never does merely mentions the
            // type.
            let title = weight >= TITLE_WEIGHT && found.iter().any(capitals);
            titled |= title;
            let best = found
                .iter()
                .filter(|f| weight < TITLE_WEIGHT || !title || capitals(f))
                .min_by_key(|(_, h)| h.edits);
            if let Some((l, h)) = best {
                let weight = if weight >= TITLE_WEIGHT && !title {
                    MENTION_WEIGHT
                } else {
                    weight
                };
                cues.push(l.cue(class, pattern, h, weight));
            }
        }
    }
    // A title of another kind of paper, in capitals.
    let paper = list.papers.iter().find_map(|entry| {
        entry.titles.iter().find_map(|pattern| {
            let p: Vec<char> = pattern.chars().collect();
            let tol = text::tolerance(p.len());
            lines.iter().find_map(|l| {
                let h = text::find_approx(&l.folded, &p, tol)?;
                l.titles(&h).then(|| PaperMatch {
                    id: entry.id.clone(),
                    name: entry.name.clone(),
                    issuer: entry.issuer,
                    attaches: entry.attaches,
                    cue: l.cue(DocClass::Unknown, pattern, &h, 0.0),
                })
            })
        })
    });
    if let Some(m) = mrz {
        let class = if m.format == "td1" {
            DocClass::CccdBack
        } else {
            DocClass::PassportDataPage
        };
        titled = true;
        cues.push(Cue {
            doc_class: class,
            pattern: format!("{} machine-readable zone", m.format.to_uppercase()),
            matched: m.raw_lines.join(" / "),
            edits: 0,
            weight: MRZ_WEIGHT,
            bbox: Some(m.bbox),
        });
    }
    let mut scores: BTreeMap<DocClass, f32> = BTreeMap::new();
    for c in &cues {
        *scores.entry(c.doc_class).or_default() += c.weight;
    }
    let titled = titled || paper.is_some();
    rank(scores, cues, paper, titled)
}

/// The class from every type's score: the best at [`MIN_CLASS_SCORE`] or more, unless another paper's title
/// was found (then `unknown`, with that title as the evidence).
pub(super) fn rank(
    scores: BTreeMap<DocClass, f32>,
    cues: Vec<Cue>,
    paper: Option<PaperMatch>,
    titled: bool,
) -> Classification {
    let mut ranked: Vec<(DocClass, f32)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (best, best_score) = ranked.first().copied().unwrap_or((DocClass::Unknown, 0.0));
    let second = ranked.get(1).map_or(0.0, |r| r.1).max(0.0);
    let class = if best_score >= MIN_CLASS_SCORE && paper.is_none() {
        best
    } else {
        DocClass::Unknown
    };
    let confidence = if class == DocClass::Unknown {
        0.0
    } else {
        ((best_score - second) / best_score) * (best_score / 5.0).min(1.0)
    };
    let mut evidence: Vec<Cue> = cues.into_iter().filter(|c| c.doc_class == class).collect();
    if let Some(p) = &paper {
        evidence.push(p.cue.clone());
    }
    Classification {
        doc_class: class,
        confidence,
        scores: ranked,
        evidence,
        paper,
        titled,
    }
}

/// A document's class from its pages' (the page that opens it first): every type's scores added over the
/// pages, so a continuation page's cues count for the document and its mentions against; another paper's
/// title on the opening page makes the document that paper.
pub fn classify_document(pages: &[&Classification]) -> Classification {
    let mut scores: BTreeMap<DocClass, f32> = BTreeMap::new();
    for (class, score) in pages.iter().flat_map(|c| c.scores.iter()) {
        *scores.entry(*class).or_default() += *score;
    }
    // The opening page's paper title is in its evidence; `rank` adds it again.
    let cues: Vec<Cue> = pages
        .iter()
        .flat_map(|c| {
            c.evidence
                .iter()
                .filter(|e| e.doc_class != DocClass::Unknown)
                .cloned()
        })
        .collect();
    let paper = pages.first().and_then(|c| c.paper.clone());
    let titled = pages.first().is_some_and(|c| c.titled);
    rank(scores, cues, paper, titled)
}
