//! The intake behind banso-core's [`DocumentIntake`] port: the page files of a request are loaded, read by
//! Tesseract, recognised and checked ([`crate::decision::assess`]) off the async threads, and the report becomes
//! the verdict the core keeps and enforces.

use std::path::PathBuf;
use std::sync::Arc;

use banso_core::model::IntakeDecision;
use banso_core::ports::{DocumentIntake, IntakeVerdict, OriginalToCheck, PageText, PageWord, PreviousPage};
use banso_core::{Code, Error};

use crate::checks::hash;
use crate::checks::Holder;
use crate::corpus::DocType;
use crate::decision::{Action, IntakePolicy, IntakeReport, PageInput};
use crate::input::{self, FileFormat, Page, PageSource};
use crate::ocr::{OcrConfig, OcrPage, OcrPool, PageImage};
use crate::text::fold;
use crate::IntakeError;

/// The intake's checks with Tesseract OCR, as the core's port.
#[derive(Debug, Clone)]
pub struct TesseractIntake {
    /// Tesseract language of the body text (`vie`).
    pub language: String,
    pub policy: IntakePolicy,
    /// How many of the most recently certified pages the duplicate check compares with.
    pub duplicate_window: u32,
}

#[async_trait::async_trait]
impl DocumentIntake for TesseractIntake {
    fn duplicate_window(&self) -> u32 {
        self.duplicate_window
    }

    async fn check(
        &self,
        original: OriginalToCheck,
        previous: Vec<PreviousPage>,
    ) -> banso_core::Result<IntakeVerdict> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.check_blocking(&original, &previous))
            .await
            .map_err(|e| Error::new(Code::Sys0003Internal, format!("intake task: {e}")))?
            .map_err(|e| {
                Error::new(
                    Code::Sys0003Internal,
                    format!("the intake could not read the pages: {e}"),
                )
            })
    }
}

impl TesseractIntake {
    fn check_blocking(
        &self,
        original: &OriginalToCheck,
        previous: &[PreviousPage],
    ) -> Result<IntakeVerdict, IntakeError> {
        let (pages, jpeg) = load_uploads(&original.files)?;
        let holder = Holder {
            name: Some(original.holder_name.clone()).filter(|n| !n.is_empty()),
            birth_date: None,
            id_number: Some(original.holder_id.clone()).filter(|n| !n.is_empty()),
        };
        let previous: Vec<hash::PreviousPage> = previous
            .iter()
            .map(|p| hash::PreviousPage {
                reference: p.reference.clone(),
                fingerprint: hash::PageFingerprint {
                    dhash: p.fingerprint.dhash.clone(),
                    content: p.fingerprint.content.clone(),
                },
            })
            .collect();
        let (ocr, report) = assess_pages(
            &pages,
            &jpeg,
            Some(&holder),
            &self.language,
            &self.policy,
            &previous,
        )?;
        Ok(verdict(&report, &ocr, &original.claimed_type))
    }
}

/// Page files as uploaded → loaded pages, and whether each page came from a JPEG file (for error-level analysis).
fn load_uploads(files: &[Vec<u8>]) -> Result<(Vec<Page>, Vec<bool>), IntakeError> {
    let dir = tempfile::TempDir::new().map_err(|error| IntakeError::Io {
        path: std::env::temp_dir(),
        error,
    })?;
    let mut paths = Vec::with_capacity(files.len());
    for (i, bytes) in files.iter().enumerate() {
        let path = dir.path().join(format!("page-{i:03}"));
        std::fs::write(&path, bytes).map_err(|error| IntakeError::Io {
            path: path.clone(),
            error,
        })?;
        paths.push(path);
    }
    let pages = input::load_files(&paths, &mut |_| {})?;
    let jpeg = jpeg_flags(&pages, &paths);
    Ok((pages, jpeg))
}

/// Whether each page came from a JPEG file among `files` (told by the file's first bytes, whatever its name),
/// for error-level analysis.
pub fn jpeg_flags(pages: &[Page], files: &[PathBuf]) -> Vec<bool> {
    let starts_as_jpeg = |path: &PathBuf| {
        let mut head = [0u8; 16];
        std::fs::File::open(path)
            .and_then(|mut file| std::io::Read::read(&mut file, &mut head))
            .is_ok_and(|n| input::sniff_format(head.get(..n).unwrap_or_default()) == Some(FileFormat::Jpeg))
    };
    let jpeg_files: Vec<&PathBuf> = files.iter().filter(|f| starts_as_jpeg(f)).collect();
    pages
        .iter()
        .map(|p| matches!(&p.source, PageSource::Image { path, .. } if jpeg_files.contains(&path)))
        .collect()
}

/// OCR of loaded pages, in parallel across the cores; `progress(done, total)` after each page.
pub fn recognize(
    pages: &[Page],
    language: &str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<OcrPage>, IntakeError> {
    let config = OcrConfig {
        language: language.to_string(),
        ..OcrConfig::default()
    };
    let pool = OcrPool::new(&config, None)?;
    let dpi = pages
        .first()
        .and_then(|p| p.dpi)
        .map_or(300, |d| d.round().clamp(70.0, 1200.0) as u32);
    let images = pages
        .iter()
        .map(|p| Arc::new(PageImage::Rgb(p.image.clone())))
        .collect();
    pool.recognize(images, dpi, progress)
}

/// Reads and assesses loaded pages: the recognised text and the report. `jpeg[i]`: page i came from a JPEG file.
pub fn assess_pages(
    pages: &[Page],
    jpeg: &[bool],
    holder: Option<&Holder>,
    language: &str,
    policy: &IntakePolicy,
    previous: &[hash::PreviousPage],
) -> Result<(Vec<OcrPage>, IntakeReport), IntakeError> {
    let ocr = recognize(pages, language, &mut |_, _| {})?;
    let inputs: Vec<PageInput<'_>> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| PageInput {
            image: &p.image,
            dpi: p.dpi,
            jpeg: jpeg.get(i).copied().unwrap_or(false),
        })
        .collect();
    let report = crate::decision::assess(&inputs, &ocr, holder, policy, previous)?;
    Ok((ocr, report))
}

/// The document type a request's free-text type names ("Giấy khai sinh", "Bản sao trích lục kết hôn", "Bằng
/// tốt nghiệp THPT"…), by the words officials use for it; `None` when it names none the intake knows.
pub fn claimed_type(text: &str) -> Option<DocType> {
    let t = format!(" {} ", fold(text));
    let has = |w: &str| t.contains(&format!(" {w} "));
    // Most specific first: an extract of a marriage record is an extract, a diploma's transcript a transcript.
    Some(if has("trich luc") {
        DocType::CivilStatusExtract
    } else if has("khai sinh") {
        DocType::BirthCertificate
    } else if has("ket hon") {
        DocType::MarriageCertificate
    } else if has("bang diem") || has("ket qua hoc tap") || has("hoc ba") {
        DocType::AcademicTranscript
    } else if has("thpt") || has("trung hoc pho thong") {
        DocType::HighSchoolDiploma
    } else if has("dai hoc") || has("cu nhan") || has("ky su") || has("thac si") || has("tien si") {
        DocType::UniversityDiploma
    } else if has("quyen su dung dat") || has("so do") || has("so hong") {
        DocType::LandUseRightCertificate
    } else if has("lai xe") || has("bang lai") {
        DocType::DrivingLicence
    } else if has("ho chieu") || has("passport") {
        DocType::PassportDataPage
    } else if has("can cuoc") || has("cccd") || has("cmnd") || has("chung minh nhan dan") {
        DocType::CccdFront
    } else {
        return None;
    })
}

/// Whether the claimed type names every recognised document's type; `None` when the claim names no type the
/// intake knows or no document's type was recognised. Either side of a citizen ID card matches a claim of the
/// card.
fn claim_matches(recognised: &[DocType], claimed: Option<DocType>) -> Option<bool> {
    let claimed = claimed?;
    if recognised.is_empty() {
        return None;
    }
    let same = |t: DocType| t == claimed || matches!((t, claimed), (DocType::CccdBack, DocType::CccdFront));
    Some(recognised.iter().all(|t| same(*t)))
}

/// The report as the core's verdict, with the OCR words as the copies' text layer.
pub fn verdict(report: &IntakeReport, ocr: &[OcrPage], claimed: &str) -> IntakeVerdict {
    let decision = match report.decision.action {
        Action::AutoIssue => IntakeDecision::AutoIssue,
        Action::OfficerReview => IntakeDecision::OfficerReview,
        Action::Refuse => IntakeDecision::Refuse,
    };
    let recognised: Vec<DocType> = report
        .documents
        .iter()
        .filter_map(|d| d.doc_type.doc_type())
        .collect();
    let text_layers = ocr
        .iter()
        .map(|o| {
            Some(PageText {
                width: o.width,
                height: o.height,
                words: o
                    .words
                    .iter()
                    .map(|w| PageWord {
                        text: w.text.clone(),
                        x: w.bbox.x,
                        y: w.bbox.y,
                        w: w.bbox.w,
                        h: w.bbox.h,
                    })
                    .collect(),
            })
        })
        .collect();
    let fingerprints = report
        .pages
        .iter()
        .map(|p| banso_core::ports::PageFingerprint {
            page: p.page as u32,
            dhash: p.fingerprint.dhash.clone(),
            content: p.fingerprint.content.clone(),
        })
        .collect();
    IntakeVerdict {
        decision,
        reason: report.decision.summary.clone(),
        report_json: serde_json::to_string(report).unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#)),
        text_layers,
        recognised_type: (!recognised.is_empty())
            .then(|| recognised.iter().map(|t| t.name()).collect::<Vec<_>>().join("+")),
        claim_matches: claim_matches(&recognised, claimed_type(claimed)),
        fingerprints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claimed_type_is_read_from_the_words_officials_use() {
        for (text, want) in [
            ("Giấy khai sinh", Some(DocType::BirthCertificate)),
            ("GIẤY CHỨNG NHẬN KẾT HÔN", Some(DocType::MarriageCertificate)),
            ("Trích lục khai sinh", Some(DocType::CivilStatusExtract)),
            ("Bằng tốt nghiệp THPT", Some(DocType::HighSchoolDiploma)),
            ("Bằng tốt nghiệp đại học", Some(DocType::UniversityDiploma)),
            ("Bảng điểm", Some(DocType::AcademicTranscript)),
            (
                "Giấy chứng nhận quyền sử dụng đất",
                Some(DocType::LandUseRightCertificate),
            ),
            ("Giấy phép lái xe", Some(DocType::DrivingLicence)),
            ("Hộ chiếu", Some(DocType::PassportDataPage)),
            ("Thẻ căn cước công dân", Some(DocType::CccdFront)),
            ("Giấy xác nhận", None),
            ("", None),
        ] {
            assert_eq!(claimed_type(text), want, "{text}");
        }
    }

    #[test]
    fn a_claim_matches_when_it_names_every_recognised_type_and_cannot_tell_otherwise() {
        let birth = [DocType::BirthCertificate];
        assert_eq!(claim_matches(&birth, Some(DocType::BirthCertificate)), Some(true));
        assert_eq!(
            claim_matches(&birth, Some(DocType::UniversityDiploma)),
            Some(false)
        );
        assert_eq!(
            claim_matches(&birth, None),
            None,
            "a claim the intake does not know"
        );
        assert_eq!(
            claim_matches(&[], Some(DocType::BirthCertificate)),
            None,
            "nothing recognised"
        );
        assert_eq!(
            claim_matches(
                &[DocType::BirthCertificate, DocType::UniversityDiploma],
                Some(DocType::BirthCertificate)
            ),
            Some(false),
            "a second document the claim does not name"
        );
        assert_eq!(
            claim_matches(&[DocType::CccdBack], Some(DocType::CccdFront)),
            Some(true),
            "either side of the card"
        );
    }
}
