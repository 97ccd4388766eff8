//! Composition of a certified electronic copy as a PDF (aiming at PDF/A-2b).
//!
//! INTERFACE CONTRACT (the server and the signing crate rely on it; keep names and meanings):
//! - [`inspect`] validates one input file (JPEG, PNG or PDF) without composing anything and says how many
//!   pages it holds. Bad input is an [`InputError`] naming what is wrong; it never panics.
//! - [`render`] composes the whole copy in memory and leaves a signature placeholder: the returned
//!   [`PreparedPdf`] has `/ByteRange` already filled with its final values and `/Contents` as a run of `0`
//!   hex digits of `placeholder_size * 2` characters between `<` and `>`; `contents_hex` is the byte range
//!   of those hex digits (without the angle brackets). Signing only writes hex into that range.
//! - JPEG input is embedded as it is (DCTDecode), never decoded and re-encoded.
//!
//! Additions beyond the original contract: [`detect`] (kind from the first bytes), [`charset`] (the
//! characters the embedded font can show; anything else is [`RenderError::Glyph`]; Vietnamese typed with
//! combining marks is composed first) and [`RenderError::QrCode`] (the URL does not fit in a QR code).
//!
//! How a copy is built (see `compose.rs`): one page per input page at its original size (pixels / dpi, the
//! JFIF/EXIF density or PNG pHYs, else `default_dpi`; PDF pages at their MediaBox, /Rotate honoured),
//! each overlaid with the diagonal watermark (opacity 0.15, marked with /ActualText so it extracts as one
//! word) and a bottom-right footer (QR code of about 19 mm, code, page i/n); then an A4 certification
//! page. Text uses DejaVu Sans, subset once per process and embedded as a CIDFontType2 with ToUnicode.
//! PDF/A-2b ingredients: XMP (pdfaid 2/B) matching the Info dictionary, an sRGB output intent built in
//! code (`icc.rs`), /ID, no encryption. Known gaps: CMYK JPEGs use /DeviceCMYK, which PDF/A does not allow
//! with an RGB output intent; imported PDF pages keep their own fonts and colour spaces as they are.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::ops::Range;

mod compose;
mod font;
mod icc;
mod image;
mod notice;
mod pdfin;
mod writer;

pub use font::charset;
pub use notice::{render_notice, NoticeDocument};
mod book;
pub use book::{render_book, BookDocument};

/// What kind of file a page source is, found from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Jpeg,
    Png,
    Pdf,
}

/// Why an input file cannot be used. Each variant maps to a stable error code in the server.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    /// Not a JPEG, PNG or PDF (by content, not by name).
    #[error("not a supported page format (JPEG, PNG or PDF)")]
    Unsupported,
    /// Looks like a supported format but is damaged or truncated.
    #[error("corrupt {kind:?} file: {detail}")]
    Corrupt { kind: InputKind, detail: String },
    /// A PDF with no pages, or an image with zero width or height.
    #[error("the file holds no page")]
    Empty,
    /// Larger than the renderer accepts (pixels or page size).
    #[error("page too large: {detail}")]
    TooLarge { detail: String },
}

/// Facts about one input file.
#[derive(Debug, Clone, PartialEq)]
pub struct InputInfo {
    pub kind: InputKind,
    /// Number of pages the file contributes (1 for images).
    pub pages: usize,
}

/// Validates one input file. Cheap: JPEG/PNG headers and chunk structure (PNG CRCs), PDF page tree.
pub fn inspect(bytes: &[u8]) -> Result<InputInfo, InputError> {
    let kind = detect(bytes).ok_or(InputError::Unsupported)?;
    let pages = match kind {
        InputKind::Jpeg => image::parse_jpeg(bytes).map(|_| 1)?,
        InputKind::Png => image::parse_png(bytes).map(|_| 1)?,
        InputKind::Pdf => pdfin::inspect_pdf(bytes)?,
    };
    Ok(InputInfo { kind, pages })
}

/// The kind of a file from its first bytes (JPEG `FF D8 FF`, the PNG signature, `%PDF-`), if supported.
pub fn detect(bytes: &[u8]) -> Option<InputKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(InputKind::Jpeg)
    } else if bytes.starts_with(&image::PNG_SIGNATURE) {
        Some(InputKind::Png)
    } else if bytes.starts_with(b"%PDF-") {
        Some(InputKind::Pdf)
    } else {
        None
    }
}

/// The text of the final certification page and the footers, already formatted by the caller.
#[derive(Debug, Clone)]
pub struct Certification {
    /// e.g. "Chứng thực bản sao đúng với bản chính."
    pub statement: String,
    /// e.g. "Số chứng thực: 15/2026, Quyển số: 01/2026-SCT/BS"
    pub number_line: String,
    /// e.g. "Ngày 21 tháng 11 năm 2026"
    pub date_line: String,
    /// Issuing body, e.g. "UBND phường Việt Hưng, thành phố Hà Nội"
    pub issuing_body: String,
    /// Place used in the date line header, e.g. "Hà Nội"
    pub place: String,
    pub signer_name: String,
    pub signer_title: String,
    /// Document type as shown to people, e.g. "Giấy khai sinh"
    pub document_type: String,
    pub holder_name: String,
    /// Pages of the original (not counting the certification page).
    pub original_pages: usize,
    /// e.g. "Lệ phí: 4.000 đồng"
    pub fee_line: String,
    /// Extra lines in English under the Vietnamese ones (smaller), may be empty.
    pub english_lines: Vec<String>,
}

/// Text recognised on one original page (OCR), drawn invisibly over it so that the copy is searchable and its
/// text can be copied (`pdftotext` returns it), while the page looks exactly like the scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageText {
    /// Size of the image the word boxes refer to, in pixels (the whole page).
    pub width: u32,
    pub height: u32,
    pub words: Vec<PageWord>,
}

/// One recognised word and its box (pixels, origin top-left).
#[derive(Debug, Clone, PartialEq)]
pub struct PageWord {
    pub text: String,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// Everything needed to compose one copy.
#[derive(Debug, Clone)]
pub struct CopyDocument<'a> {
    /// Input files in order; each contributes `inspect(..).pages` pages.
    pub inputs: &'a [&'a [u8]],
    /// Resolution assumed for images that do not state one (JFIF density / PNG pHYs), in dots per inch.
    pub default_dpi: f32,
    /// Verification code as displayed, grouped, e.g. "7Q2K-9M4X-ABCD-EFGH-JKMN".
    pub code_display: String,
    /// The URL encoded in the QR code on every page.
    pub qr_url: String,
    /// The watermark drawn on every page, "TTPVHCC".
    pub watermark: String,
    pub certification: Certification,
    /// Document metadata (Info + XMP): title, and the moment of issue.
    pub title: String,
    pub issued_at: time::OffsetDateTime,
    /// Signature dictionary values.
    pub signature: SignatureSlot,
    /// OCR text per original page (in page order; missing or `None`: no text layer on that page). Drawn on image
    /// pages only: an imported PDF page keeps its own text.
    pub text_layers: &'a [Option<PageText>],
}

/// The signature dictionary to leave in the file.
#[derive(Debug, Clone)]
pub struct SignatureSlot {
    /// Bytes reserved for the DER CMS value (hex doubles it in the file).
    pub placeholder_size: usize,
    /// /Name, /Reason, /Location, /M (signing time).
    pub name: String,
    pub reason: String,
    pub location: String,
    pub signing_time: time::OffsetDateTime,
}

/// A composed PDF waiting for its signature value.
#[derive(Debug, Clone)]
pub struct PreparedPdf {
    pub bytes: Vec<u8>,
    /// The four `/ByteRange` numbers as written in the file.
    pub byte_range: [usize; 4],
    /// Offsets of the hex digits inside `/Contents <...>`.
    pub contents_hex: Range<usize>,
    /// Total pages including the certification page.
    pub page_count: usize,
}

/// Errors of composition.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("input {index}: {source}")]
    Input { index: usize, source: InputError },
    #[error("no pages to render")]
    NoPages,
    #[error("text cannot be shown with the embedded font: {0:?}")]
    Glyph(char),
    /// The verification URL cannot be encoded as a QR code (e.g. far too long).
    #[error("QR code: {0}")]
    QrCode(String),
    /// The file cannot be laid out (e.g. a byte offset wider than its reserved field).
    #[error("layout: {0}")]
    Layout(String),
}

/// Composes the copy. See the module contract.
/// Whether every character of `text` can be printed with the embedded font (`RenderError::Glyph` names the
/// first one that cannot).
pub fn printable(text: &str) -> Result<(), RenderError> {
    font::font().check(text)
}

pub fn render(doc: &CopyDocument<'_>) -> Result<PreparedPdf, RenderError> {
    compose::render(doc)
}
