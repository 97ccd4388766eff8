//! Originals that may not be certified (Decree 23/2015, Art. 22): secrecy and no-copy marks, foreign
//! documents without legalisation, documents without an issuer's seal.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Art. 22 marks and language

pub(super) const SECRECY: [&str; 3] = ["MẬT", "TỐI MẬT", "TUYỆT MẬT"];

/// The words of `text` (letters only), as written.
pub(super) fn mark_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Where a secrecy phrase stands in `words`: (phrase, exact with its diacritics, index of its first word).
pub(super) fn find_secrecy(words: &[String]) -> Option<(&'static str, bool, usize)> {
    let folded: Vec<String> = words.iter().map(|w| fold(w)).collect();
    // Longest phrases first, so "TỐI MẬT" is not reported as "MẬT".
    for phrase in [SECRECY[2], SECRECY[1], SECRECY[0]] {
        let p: Vec<&str> = phrase.split(' ').collect();
        for start in 0..words.len().saturating_sub(p.len() - 1) {
            let window = &words[start..start + p.len()];
            if window.iter().zip(&p).all(|(w, q)| w == q) {
                return Some((phrase, true, start));
            }
            let fw = &folded[start..start + p.len()];
            if fw.iter().zip(&p).all(|(w, q)| *w == fold(q)) {
                return Some((phrase, false, start));
            }
        }
    }
    None
}

/// Art. 22(3): a secrecy stamp ("MẬT", "TỐI MẬT", "TUYỆT MẬT"), looked for in what the marks pass read on its
/// own (red ink groups and stamps turned against the page, whatever their place or angle) and in the page's
/// words. Refused only on certainty: the phrase with its diacritics in a stamp, as a whole page line, or in
/// letters clearly larger than the page's text (a greyscale stamp level with the title); the phrase without
/// its diacritics in red ink. Anything nearer doubt — a stamp whose word reads one letter off "MẬT", the
/// phrase without diacritics in black — fails with the ground only suggested, so an officer decides.
pub fn secrecy_mark(img: &image::RgbImage, ocr: &OcrPage) -> Check {
    const NAME: &str = "art22.secrecy_mark";
    let refuse = |mark: &str, text: &str, bbox: BBox, how: &str| {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("the page is stamped \"{mark}\" (state secret)"),
            json!({"text": text, "found": how}),
        )
        .with_regions(vec![bbox])
        .with_ground(Ground::SecrecyMark)
        .certain()
    };
    let doubt = |text: &str, bbox: BBox, how: &str| {
        Check::new(
            NAME,
            Outcome::Fail,
            format!("the page may be stamped secret (\"{text}\"): an officer decides"),
            json!({"text": text, "found": how}),
        )
        .with_regions(vec![bbox])
        .with_ground(Ground::SecrecyMark)
    };
    let mut doubtful = None;
    // What the marks pass read on its own.
    for stamp in &ocr.stamps {
        let words = mark_words(&stamp.text);
        let red = red_share(img, stamp.bbox).0 > 0.5;
        match find_secrecy(&words) {
            Some((mark, true, _)) => return refuse(mark, &stamp.text, stamp.bbox, "stamp"),
            Some((mark, false, _)) if red => return refuse(mark, &stamp.text, stamp.bbox, "red stamp"),
            Some(_) => {
                doubtful.get_or_insert_with(|| doubt(&stamp.text, stamp.bbox, "stamp without diacritics"));
            }
            // One letter off "MẬT": its first letter (after "TUYỆT" or "TỐI", any letter: measured, a red
            // "TUYỆT MẬT" over a card's QR read "TUYỆT IẬT") or another.
            None if words.len() <= 3
                && words.iter().enumerate().any(|(i, w)| {
                    let f = fold(w).to_lowercase();
                    let after_degree =
                        i > 0 && matches!(fold(&words[i - 1]).to_lowercase().as_str(), "tuyet" | "toi");
                    (3..=4).contains(&f.chars().count())
                        && (f.starts_with('m') || after_degree)
                        && f.ends_with('t')
                        && text::distance(&f, "mat") <= 1
                }) =>
            {
                doubtful.get_or_insert_with(|| doubt(&stamp.text, stamp.bbox, "stamp one letter off"));
            }
            None => {}
        }
    }
    // The page's lines and words.
    let mut heights: Vec<u32> = ocr.words.iter().map(|w| w.bbox.h).collect();
    heights.sort_unstable();
    let typical = heights.get(heights.len() / 2).copied().unwrap_or(0);
    for line in &ocr.lines {
        let words: Vec<&crate::ocr::OcrWord> = ocr
            .words
            .iter()
            .skip(line.first_word)
            .take(line.word_count)
            .collect();
        let texts: Vec<String> = words.iter().flat_map(|w| mark_words(&w.text)).collect();
        let Some((mark, exact, at)) = find_secrecy(&texts) else {
            continue;
        };
        let whole_line = texts.len() == mark.split(' ').count();
        let bbox = words.get(at).map_or(line.bbox, |w| w.bbox);
        let large = bbox.h as f32 >= typical as f32 * 1.5 && typical > 0;
        let red = red_share(img, bbox).0 > 0.5;
        if (exact && (whole_line || large)) || red {
            return refuse(
                mark,
                &line.text,
                bbox,
                if red { "red words" } else { "page words" },
            );
        }
        if whole_line || large {
            doubtful.get_or_insert_with(|| doubt(&line.text, bbox, "page words without diacritics"));
        }
    }
    if let Some(d) = doubtful {
        return d;
    }
    // Fail closed: a stamp (a red or grey frame, or a group of ink turned against the page the size of a stamp)
    // read as neither mark may be a mark the reading could not make out (a stamp over text).
    let unread: Vec<&crate::ocr::OcrStamp> = ocr
        .stamps
        .iter()
        .filter(|s| {
            s.source.is_stamp()
                && !legible(&s.text, s.confidence)
                && text::contains_approx(&fold(&s.text), "khong duoc sao chup").is_none()
        })
        .collect();
    if !unread.is_empty() {
        return Check::new(
            NAME,
            Outcome::Unchecked,
            format!(
                "{} stamp(s) on the page could not be read: an officer checks they are not secrecy or do-not-copy marks",
                unread.len()
            ),
            json!({"stamps_read": unread.iter().map(|s| s.text.as_str()).collect::<Vec<_>>()}),
        )
        .with_regions(unread.iter().map(|s| s.bbox).collect());
    }
    Check::new(
        NAME,
        Outcome::Pass,
        "no secrecy stamp",
        json!({"stamps_read": ocr.stamps.iter().map(|s| s.text.as_str()).collect::<Vec<_>>()}),
    )
}

/// Whether a stamp's reading is text (a stamp that says something else, "ĐÃ THU LỆ PHÍ" say): at least
/// three letters, letters at least 70 % of what is not space, and OCR confidence 70 or more. Noise read from
/// a stamp under the page's text is not.
pub(super) fn legible(text: &str, confidence: f32) -> bool {
    let printed: Vec<char> = text.chars().filter(|c| !c.is_whitespace() && *c != '|').collect();
    let letters = printed.iter().filter(|c| c.is_alphabetic()).count();
    letters >= 3 && letters * 10 >= printed.len() * 7 && confidence >= 70.0
}

/// Art. 22(3): "không được sao chụp".
pub fn no_copy_mark(ocr: &OcrPage) -> Check {
    const NAME: &str = "art22.no_copy_mark";
    let stamps = ocr.stamps.iter().map(|s| (s.text.as_str(), s.bbox));
    let lines = ocr.lines.iter().map(|l| (l.text.as_str(), l.bbox));
    for (text, bbox) in stamps.chain(lines) {
        if let Some(h) = text::contains_approx(&fold(text), "khong duoc sao chup") {
            return Check::new(
                NAME,
                Outcome::Fail,
                "the page is marked \"không được sao chụp\" (do not copy)",
                json!({"text": text, "edits": h.edits}),
            )
            .with_regions(vec![bbox])
            .with_ground(Ground::NoCopyMark)
            .certain();
        }
    }
    Check::new(NAME, Outcome::Pass, "no do-not-copy mark", json!({}))
}

pub(super) const LEGALISATION: [&str; 5] = [
    "hop phap hoa lanh su",
    "chung nhan lanh su",
    "consular legalisation",
    "consular legalization",
    "legalized",
];

/// Art. 22(5): a document in another language (few Vietnamese diacritics among its letters) with no consular
/// legalisation anywhere in it (`pages`: each page's text; a legalisation page of its own counts). The ground
/// is suggested, never certain: an officer judges foreign papers.
pub fn foreign_document(pages: &[&str], max_vi_ratio: f64, min_letters: usize) -> Check {
    const NAME: &str = "art22.foreign_not_legalised";
    let all = pages.join("\n");
    let (ratio, letters) = text::vietnamese_ratio(&all);
    let ev = json!({"vietnamese_letter_ratio": ratio, "letters": letters, "foreign_below": max_vi_ratio, "pages": pages.len()});
    if letters < min_letters {
        return Check::new(
            NAME,
            Outcome::NotApplicable,
            "too little text to tell the language",
            ev,
        );
    }
    let folded = fold(&all);
    let legalised = LEGALISATION
        .iter()
        .find(|p| text::contains_approx(&folded, p).is_some());
    if ratio >= max_vi_ratio {
        return Check::new(
            NAME,
            Outcome::Pass,
            format!("Vietnamese ({:.0} % of letters carry diacritics)", ratio * 100.0),
            ev,
        );
    }
    if let Some(found) = legalised {
        return Check::new(
            NAME,
            Outcome::Pass,
            format!("foreign document with a legalisation mark (\"{found}\")"),
            ev,
        );
    }
    Check::new(
        NAME,
        Outcome::Fail,
        format!(
            "the document is not in Vietnamese ({:.1} % of letters carry diacritics) and shows no consular legalisation on any of its {} page(s): an officer checks",
            ratio * 100.0,
            pages.len()
        ),
        ev,
    )
    .with_ground(Ground::ForeignNotLegalised)
}

/// Wording of a competent body's certification on a paper drawn up by a person ("XÁC NHẬN CỦA UBND …", a
/// notary's or an authentication's words).
pub(super) const CERTIFICATION: [&str; 4] = ["xac nhan cua", "chung thuc", "loi chung", "cong chung vien"];

/// Art. 22(6) on a whole document: the seal is looked for on every page (`seals[i]`: the seals found on the
/// document's page `pages[i]`), never required on each. A type that must carry a seal and shows none on any
/// page fails with the ground suggested (a seal can be faint, cut or scanned badly: an officer looks). Only a
/// paper recognised by its title as drawn up by a person, with no seal and no certification wording on any
/// page, fails with certainty — the title is the region shown.
pub fn document_seal(
    class: &Classification,
    pages: &[usize],
    seals: &[Vec<seal::Seal>],
    texts: &[&str],
) -> Check {
    const NAME: &str = "art22.seal";
    let found: Vec<(usize, &seal::Seal)> = pages
        .iter()
        .zip(seals)
        .flat_map(|(p, s)| s.iter().map(move |s| (*p, s)))
        .collect();
    let ev = json!({
        "seals": found.iter().map(|(p, s)| json!({"page": p + 1, "seal": s})).collect::<Vec<_>>(),
        "pages": pages.iter().map(|p| p + 1).collect::<Vec<_>>(),
    });
    let on = |c: Check| match found.first() {
        Some((page, _)) => Check {
            page: Some(*page),
            regions: found
                .iter()
                .filter(|(p, _)| p == page)
                .map(|(_, s)| s.bbox())
                .collect(),
            ..c
        },
        None => c,
    };
    let n = pages.len();
    let where_found = || {
        let mut ps: Vec<String> = found.iter().map(|(p, _)| (p + 1).to_string()).collect();
        ps.dedup();
        format!("{} seal(s) found, on page(s) {}", found.len(), ps.join(", "))
    };
    if let Some(paper) = &class.paper {
        if !found.is_empty() {
            return on(Check::new(
                NAME,
                Outcome::Pass,
                format!("{}: {}", paper.name, where_found()),
                ev,
            ));
        }
        let folded = fold(&texts.join("\n"));
        let certification = CERTIFICATION
            .iter()
            .find(|p| text::contains_approx(&folded, p).is_some());
        let fail = Check::new(
            NAME,
            Outcome::Fail,
            match (paper.issuer, certification) {
                (Issuer::Individual, None) => format!(
                    "\"{}\" is a paper drawn up by a person; no seal and no competent body's certification is on any of its {n} page(s)",
                    paper.name
                ),
                (Issuer::Individual, Some(w)) => format!(
                    "\"{}\" is a paper drawn up by a person; it speaks of a certification (\"{w}\") but no seal was found on its {n} page(s): an officer checks",
                    paper.name
                ),
                (Issuer::CompetentBody, _) => format!(
                    "\"{}\" must carry its issuing body's seal; none was found on its {n} page(s): an officer checks",
                    paper.name
                ),
            },
            json!({"seals": [], "pages": pages.iter().map(|p| p + 1).collect::<Vec<_>>(), "certification_wording": certification}),
        )
        .with_ground(Ground::NoSeal)
        .with_regions(paper.cue.bbox.into_iter().collect());
        let fail = Check {
            page: pages.first().copied(),
            ..fail
        };
        // Certain only for a person's paper whose title was read as such (at most one slip).
        return if paper.issuer == Issuer::Individual && certification.is_none() && paper.cue.edits <= 1 {
            fail.certain()
        } else {
            fail
        };
    }
    match class.doc_class.seal_required() {
        None => on(Check::new(
            NAME,
            Outcome::NotApplicable,
            "unknown document type: no seal rule",
            ev,
        )),
        Some(false) if found.is_empty() => {
            Check::new(NAME, Outcome::Pass, "this document type carries no seal", ev)
        }
        Some(false) => on(Check::new(
            NAME,
            Outcome::Pass,
            format!("{} (none required)", where_found()),
            ev,
        )),
        Some(true) if found.is_empty() => Check {
            page: pages.last().copied(),
            ..Check::new(
                NAME,
                Outcome::Fail,
                format!(
                    "a {} carries the issuing body's seal; none was found on any of its {n} page(s): an officer checks",
                    class.doc_class.name()
                ),
                ev,
            )
            .with_ground(Ground::NoSeal)
        },
        Some(true) => on(Check::new(NAME, Outcome::Pass, where_found(), ev)),
    }
}
