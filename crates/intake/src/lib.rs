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
pub mod recognise;
pub mod text;

pub use error::IntakeError;
pub use geometry::BBox;
