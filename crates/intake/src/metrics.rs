//! Measurement: character error rate and field precision/recall/F1.

use std::collections::BTreeMap;

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// NFC-normalises and collapses every run of whitespace (including line breaks) to one space; trims.
pub fn normalise_text(s: &str) -> String {
    let nfc: String = s.nfc().collect();
    nfc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levenshtein distance between two sequences of Unicode scalar values.
pub fn levenshtein(a: &[char], b: &[char]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Edit counts behind a CER, so rates can be pooled over pages (sum edits / sum reference length).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CerCount {
    pub edits: usize,
    pub reference_chars: usize,
}

impl CerCount {
    pub fn rate(&self) -> f64 {
        if self.reference_chars == 0 {
            if self.edits == 0 {
                0.0
            } else {
                1.0
            }
        } else {
            self.edits as f64 / self.reference_chars as f64
        }
    }

    pub fn add(&mut self, other: CerCount) {
        self.edits += other.edits;
        self.reference_chars += other.reference_chars;
    }
}

/// Edits between `reference` and `hypothesis` after [`normalise_text`], in Unicode scalar values.
pub fn cer_count(reference: &str, hypothesis: &str) -> CerCount {
    let r: Vec<char> = normalise_text(reference).chars().collect();
    let h: Vec<char> = normalise_text(hypothesis).chars().collect();
    CerCount {
        edits: levenshtein(&r, &h),
        reference_chars: r.len(),
    }
}

/// Character error rate: edits / reference length, after [`normalise_text`].
pub fn cer(reference: &str, hypothesis: &str) -> f64 {
    cer_count(reference, hypothesis).rate()
}

/// Precision, recall and F1 of extracted fields against ground truth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct FieldScore {
    /// Extracted fields equal to the truth.
    pub true_positives: usize,
    /// Extracted fields that are wrong or not in the truth.
    pub false_positives: usize,
    /// Fields in the truth that were not extracted correctly.
    pub false_negatives: usize,
}

impl FieldScore {
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    pub fn add(&mut self, o: FieldScore) {
        self.true_positives += o.true_positives;
        self.false_positives += o.false_positives;
        self.false_negatives += o.false_negatives;
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Scores extracted fields against the truth by name; values compare after [`normalise_text`]. A wrong value
/// counts as one false positive and one false negative.
pub fn field_score(truth: &BTreeMap<String, String>, extracted: &BTreeMap<String, String>) -> FieldScore {
    let mut s = FieldScore::default();
    for (name, value) in extracted {
        match truth.get(name) {
            Some(t) if normalise_text(t) == normalise_text(value) => s.true_positives += 1,
            _ => s.false_positives += 1,
        }
    }
    for (name, t) in truth {
        let ok = extracted
            .get(name)
            .is_some_and(|v| normalise_text(v) == normalise_text(t));
        if !ok {
            s.false_negatives += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cer_counts_scalar_values_after_nfc() {
        // "ễ" precomposed vs decomposed (e + circumflex + tilde) is the same text.
        let decomposed = "Nguye\u{302}\u{303}n";
        assert_eq!(cer("Nguyễn", decomposed), 0.0);
        assert_eq!(cer("Nguyễn  Văn\nAn", "Nguyễn Văn An"), 0.0);
        // One substitution (ễ → ê) in 6 scalar values.
        assert!((cer("Nguyễn", "Nguyên") - 1.0 / 6.0).abs() < 1e-9);
        assert_eq!(cer("", ""), 0.0);
        assert_eq!(cer("", "x"), 1.0);
        assert_eq!(levenshtein(&['a', 'b', 'c'], &['a', 'c']), 1);
        assert_eq!(levenshtein(&['k', 'i', 't'], &['s', 'i', 't', 'x']), 2);
    }

    #[test]
    fn field_scores() {
        let truth: BTreeMap<String, String> = [("name", "Lê Thị Hoa"), ("dob", "01/02/1990")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mut got = truth.clone();
        got.insert("dob".into(), "01/02/1991".into());
        let s = field_score(&truth, &got);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (1, 1, 1)
        );
        assert!((s.f1() - 0.5).abs() < 1e-9);
        assert_eq!(field_score(&truth, &truth).f1(), 1.0);
    }
}
