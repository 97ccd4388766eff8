//! Errors of the intake crate.
//!
//! Policy: one enum for the crate; every variant says what failed and on which input, in words an operator can
//! act on (which file, which device, which program is missing). Variants are stable so the server can map them to
//! its own quotable error codes. Nothing here panics on bad input: an unreadable file is an error value.

use std::path::PathBuf;

/// Everything that can go wrong while taking pages in, cleaning them up or reading them.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// The file could not be read from disk. (The OS error is part of the message and deliberately not a
    /// `source()` as well, so that printing the error chain does not say it twice.)
    #[error("cannot read {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    /// The file exists but holds no bytes.
    #[error("{path} is empty")]
    EmptyFile { path: PathBuf },
    /// The file is neither PNG, JPEG, TIFF nor PDF.
    #[error("{path}: unsupported format ({detail}); expected PNG, JPEG, TIFF or PDF")]
    UnsupportedFormat { path: PathBuf, detail: String },
    /// The file claims a supported format but cannot be decoded.
    #[error("{path}: cannot decode image: {detail}")]
    Decode { path: PathBuf, detail: String },
    /// An external program the intake needs (pdftoppm, scanimage, tesseract) is not installed.
    #[error("{program} is not installed or not on PATH ({hint})")]
    ProgramMissing {
        program: &'static str,
        hint: &'static str,
    },
    /// An external program ran but failed.
    #[error("{program} failed ({status}): {stderr}")]
    ProgramFailed {
        program: &'static str,
        status: String,
        stderr: String,
    },
    /// `scanimage` is installed but the requested scanner cannot be opened.
    #[error("scanner {device} is not available: {detail}")]
    ScannerUnavailable { device: String, detail: String },
    /// A scan finished without any page (empty feeder, or the device returned nothing).
    #[error("scanner {device} returned no page")]
    NoPages { device: String },
    /// Tesseract could not start with the requested language(s).
    #[error(
        "Tesseract cannot start with language {language}: {detail} (is tesseract-ocr-{language} installed?)"
    )]
    OcrInit { language: String, detail: String },
    /// Tesseract failed on a page.
    #[error("OCR failed on page {page}: {detail}")]
    Ocr { page: usize, detail: String },
    /// The process was started without `OMP_THREAD_LIMIT=1`; Tesseract would run several OpenMP threads per
    /// page and be much slower. It must be set before the process starts (libgomp reads it at load time).
    #[error("OMP_THREAD_LIMIT=1 was not in the environment when this process started (found {found:?}); start the process with it set")]
    OmpThreadLimit { found: Option<String> },
    /// A worker thread of the OCR pool is gone.
    #[error("OCR worker pool is shut down")]
    PoolClosed,
    /// An image operation got arguments it cannot work with (e.g. a zero-sized page).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// A font needed to render the synthetic corpus is missing.
    #[error("font {path} cannot be loaded: {detail}")]
    Font { path: PathBuf, detail: String },
    /// Encoding an image (PNG/JPEG) failed.
    #[error("cannot encode image: {0}")]
    Encode(String),
}

impl IntakeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IntakeError::Io {
            path: path.into(),
            error: source,
        }
    }
}
