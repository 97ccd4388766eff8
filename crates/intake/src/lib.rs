//! Document intake for banso: the first look at a paper original.
//!
//! - [`input`]: pages from image files (PNG, JPEG, TIFF including multi-page TIFF), PDF files (rendered by
//!   poppler's `pdftoppm`) and SANE scanners (`scanimage`, flatbed or document feeder).
//! - [`cleanup`]: greyscale, deskew, crop to the page, resolution normalisation, blank-page and orientation
//!   detection. Every step returns what it measured so later checks can cite it.
//! - [`ocr`]: Tesseract through the `tesseract` crate, one engine per worker thread, pages in parallel;
//!   words with boxes and confidences.
//! - [`corpus`]: a deterministic generator of synthetic, labelled Vietnamese documents (clean, degraded,
//!   tampered, Decree 23 Art. 22 cases) with ground truth.
//! - [`metrics`]: character error rate and field precision/recall/F1.
//! - [`text`]: diacritic folding and OCR-tolerant search.
//! - [`recognise`]: document type with its evidence, fields with the words they came from, MRZ.
//! - [`checks`]: named checks with results and evidence (quality, legibility, identity, CCCD number, MRZ, QR,
//!   Decree 23 Art. 22 grounds, forensics, duplicates).
//! - [`decision`]: [`decision::assess`] → [`decision::IntakeReport`]: auto-issue, officer review or refuse
//!   with the ground, under an [`decision::IntakePolicy`].
//! - [`eval`]: the intake benchmark on a generated corpus.
//!
//! Tesseract must run with one OpenMP thread per page (`OMP_THREAD_LIMIT=1` in the process environment
//! *at start*, see [`ocr::ensure_omp_thread_limit`]).

pub mod checks;
pub mod cleanup;
pub mod corpus;
pub mod decision;
pub mod error;
pub mod eval;
pub mod geometry;
pub mod input;
pub mod metrics;
pub mod ocr;
pub mod port;
pub mod recognise;
pub mod text;

pub use error::IntakeError;
pub use geometry::BBox;
