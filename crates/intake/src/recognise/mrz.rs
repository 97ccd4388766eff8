//! Machine-readable zones (TD1, TD3): finding, repairing and parsing them.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Machine-readable zone

pub(super) fn mrz_char(c: char) -> Option<char> {
    match c {
        'A'..='Z' | '0'..='9' | '<' => Some(c),
        'a'..='z' => Some(c.to_ascii_uppercase()),
        '«' | '‹' | '＜' | '(' | '[' | '{' => Some('<'),
        _ => None,
    }
}

/// An OCR line as MRZ characters, when it looks like one: ≥ 85 % of its characters in the MRZ set and a `<`.
pub(super) fn mrz_candidate(line: &str) -> Option<String> {
    let chars: Vec<char> = line.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() < 8 {
        return None;
    }
    let mapped: Vec<Option<char>> = chars
        .iter()
        .map(|c| {
            mrz_char(text::fold(&c.to_string()).chars().next().map_or(*c, |f| {
                if c.is_uppercase() {
                    f.to_ascii_uppercase()
                } else {
                    f
                }
            }))
        })
        .collect();
    let good = mapped.iter().filter(|c| c.is_some()).count();
    if (good as f32) < 0.85 * chars.len() as f32 || !mapped.contains(&Some('<')) {
        return None;
    }
    Some(mapped.into_iter().map(|c| c.unwrap_or('<')).collect())
}

pub(super) fn fit_len(s: &str, n: usize) -> String {
    let mut v: Vec<char> = s.chars().collect();
    while v.len() > n && v.last() == Some(&'<') {
        v.pop();
    }
    v.truncate(n);
    while v.len() < n {
        v.push('<');
    }
    v.into_iter().collect()
}

pub(super) fn to_digit_class(c: char) -> char {
    match c {
        'O' | 'Q' | 'D' | 'U' => '0',
        'I' | 'L' | 'T' | 'J' => '1',
        'Z' => '2',
        'S' => '5',
        'B' => '8',
        'G' => '6',
        _ => c,
    }
}

pub(super) fn to_alpha_class(c: char) -> char {
    match c {
        '0' => 'O',
        '1' => 'I',
        '2' => 'Z',
        '5' => 'S',
        '8' => 'B',
        '6' => 'G',
        _ => c,
    }
}

/// Digits OCR confuses with each other in this face, for check-digit-guided correction.
pub(super) fn confusable(c: char) -> &'static [char] {
    match c {
        '0' => &['6', '8', '9', '2'],
        '1' => &['7', '4'],
        '2' => &['7', '0'],
        '3' => &['8', '5', '9'],
        '4' => &['1', '9'],
        '5' => &['6', '3', '8'],
        '6' => &['0', '5', '8'],
        '7' => &['1', '2'],
        '8' => &['0', '3', '6', '9'],
        '9' => &['0', '8', '4', '3'],
        _ => &[],
    }
}

/// Applies a class (digit or letter) to positions of `s`.
pub(super) fn repair(
    s: &str,
    digit_positions: &[std::ops::Range<usize>],
    alpha_positions: &[std::ops::Range<usize>],
) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if digit_positions.iter().any(|r| r.contains(&i)) {
                to_digit_class(c)
            } else if alpha_positions.iter().any(|r| r.contains(&i)) {
                to_alpha_class(c)
            } else {
                c
            }
        })
        .collect()
}

/// Makes `line[data]` agree with the check digit at `at` by changing one confusable character of the data
/// (never the check digit itself), but only when exactly one such change works: a mod-10 check digit is
/// satisfied by about one random change in ten, so an ambiguous correction is not made. Returns a note.
pub(super) fn correct(
    line: &mut [char],
    data: std::ops::Range<usize>,
    at: usize,
    what: &str,
) -> Option<String> {
    let field: String = line[data.clone()].iter().collect();
    if Some(check_digit(&field)) == line.get(at).copied() {
        return None;
    }
    let mut fixes = Vec::new();
    for i in data.clone() {
        let orig = line[i];
        for &alt in confusable(orig) {
            line[i] = alt;
            let f: String = line[data.clone()].iter().collect();
            if Some(check_digit(&f)) == line.get(at).copied() {
                fixes.push((i, orig, alt));
            }
        }
        line[i] = orig;
    }
    match fixes.as_slice() {
        [(i, orig, alt)] => {
            line[*i] = *alt;
            Some(format!(
                "{what}: position {} read '{orig}', corrected to '{alt}'",
                i + 1
            ))
        }
        _ => None,
    }
}

pub(super) fn digit(line: &[char], data: std::ops::Range<usize>, at: usize, what: &str) -> MrzDigit {
    let d: String = line[data].iter().collect();
    let expected = check_digit(&d);
    let found = line.get(at).copied().unwrap_or(' ');
    MrzDigit {
        field: what.to_string(),
        data: d,
        expected,
        found,
        ok: expected == found,
    }
}

pub(super) fn split_name(s: &str) -> (String, String) {
    let (sur, given) = s.split_once("<<").unwrap_or((s, ""));
    let clean = |x: &str| {
        x.split('<')
            .filter(|p| !p.is_empty())
            .map(|p| p.chars().map(to_alpha_class).collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    };
    (clean(sur), clean(given))
}

/// The page region holding MRZ-like lines (first pass), widened by a line above and below, for a second read
/// with the MRZ alphabet.
pub fn mrz_region(ocr: &OcrPage) -> Option<BBox> {
    let boxes: Vec<BBox> = ocr
        .lines
        .iter()
        .filter(|l| mrz_candidate(&l.text).is_some())
        .map(|l| l.bbox)
        .collect();
    let u = boxes.iter().copied().reduce(|a, b| a.union(&b))?;
    let lh = boxes.iter().map(|b| b.h).max().unwrap_or(40);
    let x = u.x.saturating_sub(lh);
    let y = u.y.saturating_sub(lh + lh / 2);
    let r = u.right().saturating_add(lh).min(ocr.width);
    let b = u.bottom().saturating_add(lh + lh / 2).min(ocr.height);
    Some(BBox::new(x, y, r.saturating_sub(x), b.saturating_sub(y)))
}

pub(super) fn zone_in(lines: &[String], boxes: &[BBox]) -> Option<MrzReading> {
    let cands: Vec<(usize, String)> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| mrz_candidate(l).map(|m| (i, m)))
        .collect();
    let bbox = |a: usize, b: usize| {
        boxes[a.min(boxes.len().saturating_sub(1))..=b.min(boxes.len().saturating_sub(1))]
            .iter()
            .copied()
            .reduce(|x, y| x.union(&y))
            .unwrap_or_default()
    };
    // TD3: two consecutive lines, the data line near 44 (the name line may have lost trailing filler: OCR
    // drops runs of `<`); TD1: three, the first two near 30.
    for w in cands.windows(2) {
        let (a, b) = (&w[0].1, &w[1].1);
        if w[1].0 == w[0].0 + 1
            && a.starts_with('P')
            && a.len() >= 12
            && a.len() <= 47
            && b.len().abs_diff(44) <= 3
        {
            return Some(parse_td3(vec![a.clone(), b.clone()], bbox(w[0].0, w[1].0)));
        }
    }
    for w in cands.windows(3) {
        if w[1].0 == w[0].0 + 1
            && w[2].0 == w[1].0 + 1
            && w[0].1.len().abs_diff(30) <= 3
            && w[1].1.len().abs_diff(30) <= 3
            && w[2].1.len() >= 8
            && w[2].1.len() <= 33
        {
            return Some(parse_td1(
                w.iter().map(|(_, l)| l.clone()).collect(),
                bbox(w[0].0, w[2].0),
            ));
        }
    }
    None
}

/// Finds and parses a TD1 or TD3 zone: from the second, MRZ-alphabet read when there is one
/// ([`OcrPage::mrz_lines`]) and it holds a whole zone, else from the page's OCR lines.
pub fn read_mrz(ocr: &OcrPage) -> Option<MrzReading> {
    let first_lines: Vec<String> = ocr.lines.iter().map(|l| l.text.clone()).collect();
    let first_boxes: Vec<BBox> = ocr.lines.iter().map(|l| l.bbox).collect();
    let first = zone_in(&first_lines, &first_boxes);
    if let Some(second) = &ocr.mrz_lines {
        let region = mrz_region(ocr).unwrap_or_default();
        let boxes = vec![first.as_ref().map_or(region, |m| m.bbox); second.len()];
        if let Some(m) = zone_in(second, &boxes) {
            // Prefer the second read unless the first one validates and the second does not.
            if !first.as_ref().is_some_and(|f| f.valid()) || m.valid() {
                return Some(m);
            }
        }
    }
    first
}

/// Letter-only positions: the TD1 document code and state, the TD1 name line, the TD3 first line.
pub(super) const ALPHA_TD1_L1: std::ops::Range<usize> = 0..5;
pub(super) const ALPHA_TD1_L3: std::ops::Range<usize> = 0..30;
pub(super) const ALPHA_TD3_L1: std::ops::Range<usize> = 0..44;

/// Parses three TD1 lines (positions as in ICAO 9303 Part 5).
pub fn parse_td1(raw: Vec<String>, bbox: BBox) -> MrzReading {
    let l1 = repair(&fit_len(&raw[0], 30), &[], &[ALPHA_TD1_L1]);
    let l2 = repair(&fit_len(&raw[1], 30), &[0..7, 8..15, 29..30], &[7..8, 15..18]);
    let l3 = repair(&fit_len(&raw[2], 30), &[], &[ALPHA_TD1_L3]);
    let mut a: Vec<char> = l1.chars().collect();
    let mut b: Vec<char> = l2.chars().collect();
    // The optional data of a Vietnamese card is the 12-digit ID number.
    for c in a.iter_mut().skip(15).take(12) {
        *c = to_digit_class(*c);
    }
    for c in a.iter_mut().skip(5).take(10) {
        *c = to_digit_class(*c);
    }
    let mut corrections = Vec::new();
    corrections.extend(correct(&mut a, 5..14, 14, "document number"));
    corrections.extend(correct(&mut b, 0..6, 6, "birth date"));
    corrections.extend(correct(&mut b, 8..14, 14, "expiry date"));
    let mut digits = vec![
        digit(&a, 5..14, 14, "document number"),
        digit(&b, 0..6, 6, "birth date"),
        digit(&b, 8..14, 14, "expiry date"),
    ];
    let composite: Vec<char> = a[5..30]
        .iter()
        .chain(&b[0..7])
        .chain(&b[8..15])
        .chain(&b[18..29])
        .copied()
        .collect();
    let cs: String = composite.iter().collect();
    let comp = MrzDigit {
        field: "composite".into(),
        expected: check_digit(&cs),
        found: b[29],
        ok: check_digit(&cs) == b[29],
        data: cs,
    };
    digits.push(comp);
    let s = |v: &[char], r: std::ops::Range<usize>| v[r].iter().collect::<String>();
    let (surname, given_names) = split_name(&l3);
    MrzReading {
        format: "td1".into(),
        raw_lines: raw,
        lines: vec![s(&a, 0..30), s(&b, 0..30), l3.clone()],
        corrections,
        digits,
        document_number: s(&a, 5..14).trim_end_matches('<').to_string(),
        birth_yymmdd: s(&b, 0..6),
        sex: b[7],
        expiry_yymmdd: s(&b, 8..14),
        optional: s(&a, 15..30).trim_end_matches('<').to_string(),
        surname,
        given_names,
        bbox,
    }
}

/// Parses two TD3 lines.
pub fn parse_td3(raw: Vec<String>, bbox: BBox) -> MrzReading {
    let l1 = repair(&fit_len(&raw[0], 44), &[], &[ALPHA_TD3_L1]);
    let l2 = repair(
        &fit_len(&raw[1], 44),
        &[9..10, 13..20, 21..28, 42..44],
        &[10..13, 20..21],
    );
    let mut b: Vec<char> = l2.chars().collect();
    let mut corrections = Vec::new();
    corrections.extend(correct(&mut b, 0..9, 9, "document number"));
    corrections.extend(correct(&mut b, 13..19, 19, "birth date"));
    corrections.extend(correct(&mut b, 21..27, 27, "expiry date"));
    corrections.extend(correct(&mut b, 28..42, 42, "personal number"));
    let mut digits = vec![
        digit(&b, 0..9, 9, "document number"),
        digit(&b, 13..19, 19, "birth date"),
        digit(&b, 21..27, 27, "expiry date"),
        digit(&b, 28..42, 42, "personal number"),
    ];
    let cs: String = b[0..10].iter().chain(&b[13..20]).chain(&b[21..43]).collect();
    digits.push(MrzDigit {
        field: "composite".into(),
        expected: check_digit(&cs),
        found: b[43],
        ok: check_digit(&cs) == b[43],
        data: cs,
    });
    let s = |v: &[char], r: std::ops::Range<usize>| v[r].iter().collect::<String>();
    let (surname, given_names) = split_name(&l1[5..]);
    MrzReading {
        format: "td3".into(),
        raw_lines: raw,
        lines: vec![l1.clone(), s(&b, 0..44)],
        corrections,
        digits,
        document_number: s(&b, 0..9).trim_end_matches('<').to_string(),
        birth_yymmdd: s(&b, 13..19),
        sex: b[20],
        expiry_yymmdd: s(&b, 21..27),
        optional: s(&b, 28..42).trim_end_matches('<').to_string(),
        surname,
        given_names,
        bbox,
    }
}
