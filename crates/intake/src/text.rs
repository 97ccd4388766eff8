//! Text helpers for OCR output: diacritic folding, OCR-tolerant search, digit and date clean-up.
//!
//! Recognition rules compare *folded* text: NFD, combining marks dropped, `đ`/`Đ` → `d`, lower case, every run
//! of characters that is not a letter or digit collapsed to one space. "Giấy khai sinh" and "GIAY KHAI SINH:"
//! fold to the same `giay khai sinh`. Search is approximate (edit distance), so one or two OCR slips inside a
//! title or label do not hide it.

use unicode_normalization::UnicodeNormalization;

/// Folds one string (see the module doc).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = true;
    for c in s.nfd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// NFC and lower case, whitespace collapsed: the "exact" comparison form (diacritics kept).
pub fn exact_form(s: &str) -> String {
    let nfc: String = s.nfc().collect::<String>().to_lowercase();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Edit distance of two strings in Unicode scalar values.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    crate::metrics::levenshtein(&a, &b)
}

/// An approximate occurrence of a pattern in a text (character indices into the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub edits: usize,
}

/// Finds the best approximate occurrence of `pattern` in `text` (both as given: fold them first) with at most
/// `max_edits` edits (Sellers' algorithm: edit distance with a free start in the text). Ties go to the earliest.
pub fn find_approx(text: &[char], pattern: &[char], max_edits: usize) -> Option<Hit> {
    let m = pattern.len();
    if m == 0 {
        return None;
    }
    // prev[i]: distance of pattern[..i] against a text suffix ending at the previous position; start[i]: where
    // that alignment started.
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut prev_start: Vec<usize> = vec![0; m + 1];
    let mut cur = vec![0usize; m + 1];
    let mut cur_start = vec![0usize; m + 1];
    let mut best: Option<Hit> = None;
    for (j, tc) in text.iter().enumerate() {
        cur[0] = 0;
        cur_start[0] = j + 1;
        for i in 1..=m {
            let sub = prev[i - 1] + usize::from(pattern[i - 1] != *tc);
            let del = prev[i] + 1; // text char skipped
            let ins = cur[i - 1] + 1; // pattern char missing
            let (v, s) = if sub <= del && sub <= ins {
                (sub, if i == 1 { j } else { prev_start[i - 1] })
            } else if del <= ins {
                (del, prev_start[i])
            } else {
                (ins, cur_start[i - 1])
            };
            cur[i] = v;
            cur_start[i] = s;
        }
        if cur[m] <= max_edits && best.is_none_or(|b| cur[m] < b.edits) {
            best = Some(Hit {
                start: cur_start[m],
                end: j + 1,
                edits: cur[m],
            });
        }
        std::mem::swap(&mut prev, &mut cur);
        std::mem::swap(&mut prev_start, &mut cur_start);
    }
    best
}

/// Allowed edits for a pattern of `len` characters: one per seven, none under five characters.
pub fn tolerance(len: usize) -> usize {
    if len < 5 {
        0
    } else {
        (len / 7).max(1)
    }
}

/// Folded `pattern` found approximately in folded `text`.
pub fn contains_approx(folded_text: &str, folded_pattern: &str) -> Option<Hit> {
    let t: Vec<char> = folded_text.chars().collect();
    let p: Vec<char> = folded_pattern.chars().collect();
    find_approx(&t, &p, tolerance(p.len()))
}

/// Reads a run of characters as digits, mapping the letters OCR confuses with digits (O → 0, l/I → 1, …).
/// Returns `None` when something else is in it.
pub fn ocr_digits(s: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        let d = match c {
            '0'..='9' => c,
            'O' | 'o' | 'D' | 'Q' => '0',
            'I' | 'l' | 'i' | '|' | '!' => '1',
            'Z' | 'z' => '2',
            'S' | 's' => '5',
            'B' => '8',
            'G' | 'b' => '6',
            'T' => '7',
            'g' | 'q' => '9',
            _ => return None,
        };
        out.push(d);
    }
    (!out.is_empty()).then_some(out)
}

/// A date as printed, normalised to `dd/mm/yyyy`: accepts `/`, `-` or `.` separators and OCR letter-digit
/// confusions; checks the calendar ranges (day 1–31, month 1–12, year 1900–2099).
pub fn parse_dmy(s: &str) -> Option<String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
    if parts.len() != 3 {
        return None;
    }
    let d = ocr_digits(parts[0])?;
    let m = ocr_digits(parts[1])?;
    let y = ocr_digits(parts[2])?;
    let (dn, mn, yn): (u32, u32, u32) = (d.parse().ok()?, m.parse().ok()?, y.parse().ok()?);
    if !(1..=31).contains(&dn) || !(1..=12).contains(&mn) || !(1900..=2099).contains(&yn) || y.len() != 4 {
        return None;
    }
    Some(format!("{dn:02}/{mn:02}/{yn:04}"))
}

/// The share of letters that carry a Vietnamese diacritic or are đ/ơ/ư/ă/â/ê/ô (0–1), and the letter count.
/// Vietnamese prose runs near 0.5; English near 0.
pub fn vietnamese_ratio(s: &str) -> (f64, usize) {
    let mut letters = 0usize;
    let mut marked = 0usize;
    for c in s.nfc() {
        if !c.is_alphabetic() {
            continue;
        }
        letters += 1;
        if !c.is_ascii() {
            marked += 1;
        }
    }
    if letters == 0 {
        (0.0, 0)
    } else {
        (marked as f64 / letters as f64, letters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding() {
        assert_eq!(fold("GIẤY KHAI SINH"), "giay khai sinh");
        assert_eq!(fold("Họ, chữ đệm, tên:"), "ho chu dem ten");
        assert_eq!(fold("  Số / No.: 0123 "), "so no 0123");
        assert_eq!(exact_form("Nguyễn  Văn An"), exact_form("NGUYỄN VĂN AN"));
    }

    #[test]
    fn approximate_search() {
        let t: Vec<char> = "xx giay khal sinh yy".chars().collect();
        let p: Vec<char> = "giay khai sinh".chars().collect();
        let h = find_approx(&t, &p, 2).unwrap();
        assert_eq!((h.start, h.end, h.edits), (3, 17, 1));
        assert!(find_approx(&t, &p, 0).is_none());
        assert!(contains_approx("chung nhan ket hon", "giay khai sinh").is_none());
    }

    #[test]
    fn digits_and_dates() {
        assert_eq!(ocr_digits("O3Ol9"), Some("03019".into()));
        assert_eq!(ocr_digits("0a1"), None);
        assert_eq!(parse_dmy("5/3/2021"), Some("05/03/2021".into()));
        assert_eq!(parse_dmy("22/O4/1990"), Some("22/04/1990".into()));
        assert_eq!(parse_dmy("32/01/1990"), None);
        assert_eq!(parse_dmy("1990"), None);
        let (vi, _) = vietnamese_ratio("Họ và tên người được cấp giấy");
        let (en, _) = vietnamese_ratio("Registration number and full name");
        assert!(vi > 0.3 && en == 0.0, "{vi} {en}");
    }
}
