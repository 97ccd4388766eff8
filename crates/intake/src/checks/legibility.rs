//! Legibility: whether the OCR could read enough of the page.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Legibility

/// Mean OCR confidence and the share of low-confidence words; fails (Art. 22(2)) when the page cannot be read.
///
/// `capture_sound`: the image is at the resolution a copy needs. Only then is an unreadable page the
/// original's fault, a certain Art. 22(2) ground; from a coarser capture (a 200-dpi scan, a phone photograph
/// of a card) it may be the capture's, and an officer looks (or the citizen scans again) with the ground only
/// suggested.
pub fn legibility(ocr: &OcrPage, p: &crate::decision::IntakePolicy, capture_sound: bool) -> Check {
    const NAME: &str = "legibility.ocr_confidence";
    let words: Vec<f32> = ocr.words.iter().map(|w| w.confidence).collect();
    let n = words.len();
    let mean = if n == 0 {
        0.0
    } else {
        words.iter().sum::<f32>() / n as f32
    };
    let low = words.iter().filter(|c| **c < p.low_word_confidence).count();
    let low_share = if n == 0 { 1.0 } else { low as f32 / n as f32 };
    let ev = json!({
        "words": n, "mean_confidence": mean, "low_confidence_words": low, "low_share": low_share,
        "low_word_confidence": p.low_word_confidence, "illegible_below": p.illegible_mean_confidence,
        "warn_below": p.warn_mean_confidence, "warn_low_share_above": p.warn_low_share,
    });
    if n < p.min_words || mean < p.illegible_mean_confidence {
        let unread = Check::new(
            NAME,
            Outcome::Fail,
            if capture_sound {
                format!("the page cannot be read: {n} words, mean OCR confidence {mean:.0}")
            } else {
                format!(
                    "the capture cannot be read ({n} words, mean OCR confidence {mean:.0}) and is too coarse to \
                     blame the original: scan it again at 300 dpi, or an officer looks"
                )
            },
            ev,
        )
        .with_ground(Ground::Illegible);
        if capture_sound {
            unread.certain()
        } else {
            unread
        }
    } else if mean < p.warn_mean_confidence || low_share > p.warn_low_share {
        Check::new(
            NAME,
            Outcome::Warn,
            format!(
                "hard to read: mean OCR confidence {mean:.0}, {:.0} % of words below {}",
                low_share * 100.0,
                p.low_word_confidence
            ),
            ev,
        )
    } else {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("mean OCR confidence {mean:.0} over {n} words"),
            ev,
        )
    }
}
