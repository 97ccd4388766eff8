//! Measuring a matcher on labelled pairs: false-accept and false-reject rates at a threshold,
//! the equal-error rate, and the threshold that meets a target false-accept rate.
//!
//! Conventions: a pair is accepted when `score >= threshold`. FAR = accepted impostor pairs /
//! impostor pairs; FRR = rejected genuine pairs / genuine pairs.

use serde::Serialize;

/// One labelled pair as read from a pairs file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub a: String,
    pub b: String,
    /// Same person?
    pub genuine: bool,
    /// Free-form subset name (e.g. `real`, `synthetic`), empty when the file has none.
    pub kind: String,
}

/// Parses a pairs CSV: `a,b,label[,kind]` per line, where label is `1`/`0`, `genuine`/`impostor`
/// or `true`/`false`. Blank lines and lines starting with `#` are skipped,
/// and so is a first line whose label column is not a label (a header).
pub fn parse_pairs(text: &str) -> Result<Vec<Pair>, String> {
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let (Some(a), Some(b), Some(label)) = (cols.first(), cols.get(1), cols.get(2)) else {
            return Err(format!("line {}: expected a,b,label[,kind]", n + 1));
        };
        let genuine = match label.to_ascii_lowercase().as_str() {
            "1" | "genuine" | "true" => true,
            "0" | "impostor" | "false" => false,
            _ if n == 0 => continue, // a header line
            other => return Err(format!("line {}: label {other:?} is not 1/0", n + 1)),
        };
        pairs.push(Pair {
            a: a.to_string(),
            b: b.to_string(),
            genuine,
            kind: cols.get(3).map(|k| k.to_string()).unwrap_or_default(),
        });
    }
    Ok(pairs)
}

/// Error rates at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    pub threshold: f32,
    pub far: f64,
    pub frr: f64,
    pub false_accepts: usize,
    pub false_rejects: usize,
}

/// Scores of genuine and impostor pairs, sorted ascending.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
}

impl Scores {
    pub fn new(mut genuine: Vec<f32>, mut impostor: Vec<f32>) -> Self {
        genuine.sort_by(f32::total_cmp);
        impostor.sort_by(f32::total_cmp);
        Self { genuine, impostor }
    }

    pub fn genuine(&self) -> &[f32] {
        &self.genuine
    }

    pub fn impostor(&self) -> &[f32] {
        &self.impostor
    }

    /// FAR and FRR when pairs scoring `>= threshold` are accepted.
    pub fn rates_at(&self, threshold: f32) -> Rates {
        let false_rejects = self.genuine.partition_point(|s| *s < threshold);
        let false_accepts = self.impostor.len() - self.impostor.partition_point(|s| *s < threshold);
        Rates {
            threshold,
            far: ratio(false_accepts, self.impostor.len()),
            frr: ratio(false_rejects, self.genuine.len()),
            false_accepts,
            false_rejects,
        }
    }

    /// The lowest threshold whose FAR does not exceed `target_far`, i.e. the one with the
    /// lowest FRR among those meeting the target; `None` without impostor pairs. With `n`
    /// impostor pairs the finest FAR that can be told apart from zero is `1/n`: a target below
    /// that yields a threshold just above the highest impostor score.
    pub fn threshold_for_far(&self, target_far: f64) -> Option<Rates> {
        let n = self.impostor.len();
        if n == 0 {
            return None;
        }
        // At most `allowed` impostors may score at or above the threshold.
        let allowed = (target_far * n as f64).floor() as usize;
        // Just above the (allowed+1)-th highest impostor score, or below every score when all may pass.
        let threshold = match self.impostor.iter().rev().nth(allowed) {
            Some(&s) if next_up(s).is_finite() => next_up(s),
            _ => self
                .impostor
                .first()
                .copied()
                .unwrap_or(0.0)
                .min(self.genuine.first().copied().unwrap_or(0.0)),
        };
        Some(self.rates_at(threshold))
    }

    /// The threshold where FAR and FRR are closest (the equal-error point), scanning every
    /// observed score.
    pub fn equal_error(&self) -> Option<Rates> {
        if self.genuine.is_empty() || self.impostor.is_empty() {
            return None;
        }
        self.genuine
            .iter()
            .chain(&self.impostor)
            .map(|t| self.rates_at(*t))
            .min_by(|x, y| (x.far - x.frr).abs().total_cmp(&(y.far - y.frr).abs()))
    }
}

/// Error rates at the system level (ISO/IEC 19795-1): every attempt counts, scored or not. A genuine attempt
/// that could not be scored (no face found: a failure to enrol or acquire) is a false reject; an impostor
/// attempt that could not be scored is not a false accept, but it is an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SystemRates {
    pub threshold: f32,
    pub far: f64,
    pub frr: f64,
    pub false_accepts: usize,
    /// Scored genuine pairs rejected plus genuine pairs that could not be scored.
    pub false_rejects: usize,
    pub genuine_attempts: usize,
    pub impostor_attempts: usize,
}

impl Rates {
    /// These matcher rates (on scored pairs) at the system level, with `unscored_genuine` and
    /// `unscored_impostor` pairs that failed to enrol; `scored_*` are the pairs the rates were measured on.
    pub fn system(
        &self,
        scored_genuine: usize,
        scored_impostor: usize,
        unscored_genuine: usize,
        unscored_impostor: usize,
    ) -> SystemRates {
        let genuine_attempts = scored_genuine + unscored_genuine;
        let impostor_attempts = scored_impostor + unscored_impostor;
        let false_rejects = self.false_rejects + unscored_genuine;
        SystemRates {
            threshold: self.threshold,
            far: ratio(self.false_accepts, impostor_attempts),
            frr: ratio(false_rejects, genuine_attempts),
            false_accepts: self.false_accepts,
            false_rejects,
            genuine_attempts,
            impostor_attempts,
        }
    }
}

/// How many of `pairs` are independent trials: the size of a set of pairs no two of which share an image
/// (found greedily, in order). Impostor pairs that reuse the same images are correlated: a FAR measured on them
/// can be told apart from zero only at `1 / independent`, not at `1 / pairs`.
pub fn independent_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> usize {
    let mut used = std::collections::HashSet::new();
    let mut n = 0;
    for (a, b) in pairs {
        if a != b && !used.contains(a) && !used.contains(b) {
            used.insert(a);
            used.insert(b);
            n += 1;
        }
    }
    n
}

fn ratio(k: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        k as f64 / n as f64
    }
}

/// The smallest `f32` greater than `x` (for finite `x`).
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let bits = x.to_bits();
    f32::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_to_enrol_are_rejects_of_genuine_attempts_and_attempts_of_impostors() {
        let s = Scores::new(vec![0.2, 0.6, 0.7, 0.8], vec![0.1, 0.5]);
        let r = s.rates_at(0.4);
        assert_eq!((r.false_rejects, r.false_accepts), (1, 1));
        let sys = r.system(4, 2, 1, 2);
        assert_eq!((sys.false_rejects, sys.genuine_attempts), (2, 5));
        assert!((sys.frr - 0.4).abs() < 1e-12, "2 of 5, not 1 of 4");
        assert_eq!((sys.false_accepts, sys.impostor_attempts), (1, 4));
        assert!((sys.far - 0.25).abs() < 1e-12);
    }

    #[test]
    fn pairs_that_share_an_image_are_not_independent() {
        // Four images, every pair among them: six pairs, but only two share no image.
        let imgs = ["a", "b", "c", "d"];
        let all: Vec<(&str, &str)> = imgs
            .iter()
            .enumerate()
            .flat_map(|(i, x)| imgs.iter().skip(i + 1).map(move |y| (*x, *y)))
            .collect();
        assert_eq!(all.len(), 6);
        assert_eq!(independent_pairs(all), 2);
        assert_eq!(independent_pairs([("a", "b"), ("c", "d"), ("e", "f")]), 3);
    }

    #[test]
    fn parses_labels_header_and_kinds() {
        let p = parse_pairs("a,b,label,kind\n# c\nx.jpg, y.jpg ,1,real\n\nx.jpg,z.jpg,impostor\n").unwrap();
        assert_eq!(p.len(), 2);
        assert!(p[0].genuine && p[0].kind == "real" && p[0].b == "y.jpg");
        assert!(!p[1].genuine && p[1].kind.is_empty());
        assert!(parse_pairs("a,b,1\na,c,maybe\n").unwrap_err().contains("line 2"));
        assert!(parse_pairs("a,b\n").is_err());
    }

    #[test]
    fn rates_and_thresholds() {
        let s = Scores::new(vec![0.9, 0.8, 0.45, 0.7], vec![0.1, 0.2, 0.5, 0.3, 0.05]);
        let r = s.rates_at(0.4);
        assert_eq!((r.false_accepts, r.false_rejects), (1, 0));
        assert!((r.far - 0.2).abs() < 1e-12);
        let r = s.rates_at(0.5);
        assert_eq!((r.false_accepts, r.false_rejects), (1, 1)); // 0.5 >= 0.5 accepted
                                                                // FAR 0: just above the highest impostor (0.5): rejects the genuine 0.45 only.
        let t = s.threshold_for_far(0.0).unwrap();
        assert!(t.threshold > 0.5 && t.threshold < 0.5001);
        assert_eq!((t.false_accepts, t.false_rejects), (0, 1));
        // FAR 0.2 allows one impostor: just above the second highest (0.3).
        let t = s.threshold_for_far(0.2).unwrap();
        assert_eq!((t.false_accepts, t.false_rejects), (1, 0));
        assert!(t.threshold > 0.3 && t.threshold < 0.3001);
        let e = s.equal_error().unwrap();
        assert!((e.far - e.frr).abs() <= 0.25);
        assert!(Scores::new(vec![1.0], vec![]).threshold_for_far(0.01).is_none());
    }
}
