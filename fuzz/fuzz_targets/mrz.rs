//! The MRZ as text: typed at the kiosk for BAC/PACE, read from the chip's DG1, and recognised by OCR from a
//! scanned page (where a forger chooses every character): the intake finds and parses the zone from the
//! page's lines and from the MRZ-alphabet second read.
#![no_main]

use banso_intake::ocr::{OcrLine, OcrPage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mrz) = banso_identity::mrz::Mrz::parse(&text) {
        let _ = mrz.bac_seed_fields();
    }
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let page = OcrPage {
        page: 0,
        width: 1000,
        height: 700,
        dpi: 300,
        text: text.to_string(),
        mean_confidence: 90.0,
        words: Vec::new(),
        lines: lines
            .iter()
            .map(|l| OcrLine {
                text: l.clone(),
                bbox: banso_intake::BBox::default(),
                confidence: 90.0,
                first_word: 0,
                word_count: 0,
            })
            .collect(),
        mrz_lines: Some(lines),
        stamps: Vec::new(),
    };
    let _ = banso_intake::recognise::read_mrz(&page);
});
