//! Getting pages in: image files, PDF files and SANE scanners.
//!
//! Every page comes back as an RGB image with its resolution when the source states one (PNG `pHYs`, JPEG JFIF
//! density, TIFF `XResolution`, the resolution a PDF was rendered or a scan was taken at). Colour is kept because
//! later checks look for red seals and stamps; [`crate::cleanup::to_gray`] gives the analysis image.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::RgbImage;
use serde::Serialize;

use crate::error::IntakeError;

/// Resolution PDF pages are rendered at.
pub const PDF_RENDER_DPI: u32 = 300;

/// Where a page came from, for the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PageSource {
    /// Page `page` (0-based) of an image file (multi-page TIFF has several).
    Image { path: PathBuf, page: usize },
    /// Page `page` (0-based) of a PDF file, rendered by pdftoppm.
    Pdf { path: PathBuf, page: usize },
    /// Page `page` (0-based) of a scan batch on a SANE device.
    Scanner { device: String, page: usize },
}

/// One page, ready for clean-up.
#[derive(Debug, Clone)]
pub struct Page {
    pub source: PageSource,
    pub image: RgbImage,
    /// Horizontal resolution in dots per inch, when the source says.
    pub dpi: Option<f32>,
}

/// What a progress callback is told after each page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Pages done so far (1-based count).
    pub done: usize,
    /// Total pages, when known in advance.
    pub total: Option<usize>,
    pub source: PageSource,
}

/// Recognised container formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Png,
    Jpeg,
    Tiff,
    Pdf,
}

/// Identifies a file by its first bytes (never by its name).
pub fn sniff_format(bytes: &[u8]) -> Option<FileFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(FileFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileFormat::Jpeg)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(FileFormat::Tiff)
    } else if bytes.starts_with(b"%PDF-") {
        Some(FileFormat::Pdf)
    } else {
        None
    }
}

/// Loads every page of a PNG, JPEG, TIFF (all pages) or PDF file, calling `progress` after each page.
pub fn load_file(path: &Path, progress: &mut dyn FnMut(&Progress)) -> Result<Vec<Page>, IntakeError> {
    let bytes = std::fs::read(path).map_err(|e| IntakeError::io(path, e))?;
    decode_file(path, &bytes, progress)
}

/// The pages of a file's `bytes` read from `path`: PNG, JPEG and TIFF are decoded here, in process; a PDF is
/// rendered from `path` by pdftoppm.
pub fn decode_file(
    path: &Path,
    bytes: &[u8],
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Page>, IntakeError> {
    if bytes.is_empty() {
        return Err(IntakeError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    let format = sniff_format(bytes).ok_or_else(|| IntakeError::UnsupportedFormat {
        path: path.to_path_buf(),
        detail: format!("unknown signature {:02x?}", bytes.get(..8).unwrap_or(bytes)),
    })?;
    let pages = match format {
        FileFormat::Png | FileFormat::Jpeg => {
            let page = decode_single(path, bytes, format)?;
            progress(&Progress {
                done: 1,
                total: Some(1),
                source: page.source.clone(),
            });
            vec![page]
        }
        FileFormat::Tiff => decode_tiff(path, bytes, progress)?,
        FileFormat::Pdf => render_pdf(path, PDF_RENDER_DPI, progress)?,
    };
    Ok(pages)
}

/// Loads several files in order; pages are numbered across files in the progress count.
pub fn load_files(paths: &[PathBuf], progress: &mut dyn FnMut(&Progress)) -> Result<Vec<Page>, IntakeError> {
    let mut all = Vec::new();
    for path in paths {
        let before = all.len();
        let mut inner = |p: &Progress| {
            progress(&Progress {
                done: before + p.done,
                total: None,
                source: p.source.clone(),
            })
        };
        all.extend(load_file(path, &mut inner)?);
    }
    Ok(all)
}

fn decode_error(path: &Path, e: impl std::fmt::Display) -> IntakeError {
    IntakeError::Decode {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn decode_single(path: &Path, bytes: &[u8], format: FileFormat) -> Result<Page, IntakeError> {
    let image_format = match format {
        FileFormat::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::Jpeg,
    };
    let img = image::load_from_memory_with_format(bytes, image_format).map_err(|e| decode_error(path, e))?;
    if img.width() == 0 || img.height() == 0 {
        return Err(decode_error(path, "zero-sized image"));
    }
    let dpi = match format {
        FileFormat::Png => png_dpi(bytes),
        _ => jpeg_dpi(bytes),
    };
    Ok(Page {
        source: PageSource::Image {
            path: path.to_path_buf(),
            page: 0,
        },
        image: img.to_rgb8(),
        dpi,
    })
}

/// Resolution from a PNG `pHYs` chunk (unit: metre).
fn png_dpi(bytes: &[u8]) -> Option<f32> {
    let mut pos = 8;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(pos + 4..pos + 8)?;
        if kind == b"pHYs" && len >= 9 {
            let data = bytes.get(pos + 8..pos + 8 + 9)?;
            let ppm = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
            let unit = *data.get(8)?;
            return (unit == 1 && ppm > 0).then_some(ppm as f32 * 0.0254);
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        pos += 12 + len;
    }
    None
}

/// Resolution from a JPEG JFIF APP0 segment.
fn jpeg_dpi(bytes: &[u8]) -> Option<f32> {
    // SOI, then APP0 "JFIF\0", version(2), units(1), Xdensity(2), Ydensity(2)
    let app0 = bytes.get(2..4)?;
    if app0 != [0xFF, 0xE0] || bytes.get(6..11)? != b"JFIF\0" {
        return None;
    }
    let units = *bytes.get(13)?;
    let x = u16::from_be_bytes([*bytes.get(14)?, *bytes.get(15)?]) as f32;
    match units {
        1 if x > 1.0 => Some(x),
        2 if x > 1.0 => Some(x * 2.54),
        _ => None,
    }
}

fn decode_tiff(
    path: &Path,
    bytes: &[u8],
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Page>, IntakeError> {
    use tiff::decoder::{Decoder, DecodingResult};
    use tiff::tags::Tag;
    use tiff::ColorType;

    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(|e| decode_error(path, e))?;
    let mut pages = Vec::new();
    loop {
        let (w, h) = decoder.dimensions().map_err(|e| decode_error(path, e))?;
        let color = decoder.colortype().map_err(|e| decode_error(path, e))?;
        let dpi = tiff_dpi(&mut decoder, Tag::XResolution);
        let data = decoder.read_image().map_err(|e| decode_error(path, e))?;
        let channels: usize = match color {
            ColorType::Gray(_) => 1,
            ColorType::GrayA(_) => 2,
            ColorType::RGB(_) => 3,
            ColorType::RGBA(_) => 4,
            other => {
                return Err(IntakeError::UnsupportedFormat {
                    path: path.to_path_buf(),
                    detail: format!("TIFF colour type {other:?}"),
                })
            }
        };
        // Reduce every supported sample type to 8 bits.
        let samples: Vec<u8> = match data {
            DecodingResult::U8(v) => v,
            DecodingResult::U16(v) => v.iter().map(|s| (s >> 8) as u8).collect(),
            _ => {
                return Err(IntakeError::UnsupportedFormat {
                    path: path.to_path_buf(),
                    detail: "TIFF sample format other than 8 or 16 bit unsigned".into(),
                })
            }
        };
        let n = (w as usize) * (h as usize);
        if w == 0 || h == 0 || samples.len() < n * channels {
            return Err(decode_error(path, "TIFF page shorter than its dimensions"));
        }
        let mut img = RgbImage::new(w, h);
        // The length was checked above: every pixel has its `channels` samples.
        for (px, s) in img.pixels_mut().zip(samples.chunks_exact(channels.max(1))) {
            *px = match *s {
                [g] | [g, _] => image::Rgb([g, g, g]),
                [r, g, b, ..] => image::Rgb([r, g, b]),
                [] => image::Rgb([0, 0, 0]),
            };
        }
        let page = Page {
            source: PageSource::Image {
                path: path.to_path_buf(),
                page: pages.len(),
            },
            image: img,
            dpi,
        };
        progress(&Progress {
            done: pages.len() + 1,
            total: None,
            source: page.source.clone(),
        });
        pages.push(page);
        if !decoder.more_images() {
            break;
        }
        decoder.next_image().map_err(|e| decode_error(path, e))?;
    }
    Ok(pages)
}

fn tiff_dpi<R: std::io::Read + std::io::Seek>(
    decoder: &mut tiff::decoder::Decoder<R>,
    tag: tiff::tags::Tag,
) -> Option<f32> {
    use tiff::decoder::ifd::Value;
    let res = match decoder.find_tag(tag).ok().flatten()? {
        Value::Rational(n, d) if d > 0 => n as f32 / d as f32,
        Value::Float(f) => f,
        Value::Double(f) => f as f32,
        Value::Unsigned(u) => u as f32,
        Value::Short(u) => u as f32,
        _ => return None,
    };
    let unit = decoder
        .find_tag_unsigned::<u16>(tiff::tags::Tag::ResolutionUnit)
        .ok()
        .flatten()
        .unwrap_or(2);
    match unit {
        2 if res > 1.0 => Some(res),
        3 if res > 1.0 => Some(res * 2.54),
        _ => None,
    }
}

fn spawn_error(program: &'static str, hint: &'static str, e: std::io::Error) -> IntakeError {
    if e.kind() == std::io::ErrorKind::NotFound {
        IntakeError::ProgramMissing { program, hint }
    } else {
        IntakeError::ProgramFailed {
            program,
            status: "could not start".into(),
            stderr: e.to_string(),
        }
    }
}

/// Renders every page of a PDF at `dpi` with poppler's `pdftoppm -png` into a temporary directory.
pub fn render_pdf(
    path: &Path,
    dpi: u32,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Page>, IntakeError> {
    let dir = tempfile::tempdir().map_err(|e| IntakeError::io(std::env::temp_dir(), e))?;
    let prefix = dir.path().join("page");
    let output = Command::new("pdftoppm")
        .arg("-r")
        .arg(dpi.to_string())
        .arg("-png")
        .arg(path)
        .arg(&prefix)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error("pdftoppm", "apt-get install poppler-utils", e))?;
    if !output.status.success() {
        return Err(IntakeError::ProgramFailed {
            program: "pdftoppm",
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    // pdftoppm names pages page-1.png, page-01.png … depending on the page count: sort by the number.
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(dir.path())
        .map_err(|e| IntakeError::io(dir.path(), e))?
        .filter_map(|entry| {
            let p = entry.ok()?.path();
            let stem = p.file_stem()?.to_str()?.to_string();
            let n = stem.strip_prefix("page-")?.parse::<usize>().ok()?;
            Some((n, p))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(decode_error(path, "PDF has no pages"));
    }
    let total = files.len();
    let mut pages = Vec::with_capacity(total);
    for (i, (_, file)) in files.iter().enumerate() {
        let bytes = std::fs::read(file).map_err(|e| IntakeError::io(file, e))?;
        let img = image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
            .map_err(|e| decode_error(path, e))?;
        let page = Page {
            source: PageSource::Pdf {
                path: path.to_path_buf(),
                page: i,
            },
            image: img.to_rgb8(),
            dpi: Some(dpi as f32),
        };
        progress(&Progress {
            done: i + 1,
            total: Some(total),
            source: page.source.clone(),
        });
        pages.push(page);
    }
    Ok(pages)
}

/// Scan source: the glass or the automatic document feeder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanSource {
    Flatbed,
    Feeder,
}

/// Colour mode of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanMode {
    Color,
    Gray,
}

/// A SANE scan request, run through `scanimage`.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// SANE device name, e.g. `test` or `hpaio:/usb/...`.
    pub device: String,
    pub resolution: u32,
    pub source: ScanSource,
    pub mode: ScanMode,
    /// Pages to take from the feeder (`None`: until it is empty). A flatbed scan takes one page.
    pub pages: Option<usize>,
    /// Extra device-specific options passed through verbatim (e.g. `--test-picture=Grid`).
    pub extra_args: Vec<String>,
}

impl ScanRequest {
    /// A 300-dpi colour scan from the feeder of `device`.
    pub fn feeder(device: impl Into<String>, pages: Option<usize>) -> Self {
        ScanRequest {
            device: device.into(),
            resolution: 300,
            source: ScanSource::Feeder,
            mode: ScanMode::Color,
            pages,
            extra_args: Vec::new(),
        }
    }
}

/// Scans with `scanimage` in batch mode into a temporary directory and loads each page as soon as the scanner
/// reports it, calling `progress` per page.
pub fn scan(request: &ScanRequest, progress: &mut dyn FnMut(&Progress)) -> Result<Vec<Page>, IntakeError> {
    let dir = tempfile::tempdir().map_err(|e| IntakeError::io(std::env::temp_dir(), e))?;
    let pattern = dir.path().join("scan-%d.png");
    let mut cmd = Command::new("scanimage");
    cmd.arg("-d")
        .arg(&request.device)
        .arg("--format=png")
        .arg("--resolution")
        .arg(request.resolution.to_string())
        .arg("--mode")
        .arg(match request.mode {
            ScanMode::Color => "Color",
            ScanMode::Gray => "Gray",
        });
    match request.source {
        ScanSource::Feeder => {
            cmd.arg("--source").arg("Automatic Document Feeder");
        }
        ScanSource::Flatbed => {
            cmd.arg("--source").arg("Flatbed");
        }
    }
    let count = match request.source {
        ScanSource::Flatbed => Some(1),
        ScanSource::Feeder => request.pages,
    };
    cmd.arg(format!("--batch={}", pattern.display()));
    if let Some(n) = count {
        cmd.arg(format!("--batch-count={n}"));
    }
    cmd.arg("--batch-print");
    cmd.args(&request.extra_args);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error("scanimage", "apt-get install sane-utils", e))?;
    let stdout = child.stdout.take().ok_or(IntakeError::ProgramFailed {
        program: "scanimage",
        status: "no stdout".into(),
        stderr: String::new(),
    })?;
    // Read stderr on its own thread so a chatty scanner cannot block on a full pipe.
    let mut stderr_pipe = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(pipe) = stderr_pipe.as_mut() {
            let _ = pipe.read_to_string(&mut s);
        }
        s
    });
    let mut pages = Vec::new();
    let mut load_error = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let file = PathBuf::from(line.trim());
        if line.trim().is_empty() || load_error.is_some() {
            continue;
        }
        match std::fs::read(&file)
            .map_err(|e| IntakeError::io(&file, e))
            .and_then(|b| image::load_from_memory(&b).map_err(|e| decode_error(&file, e)))
        {
            Ok(img) => {
                let page = Page {
                    source: PageSource::Scanner {
                        device: request.device.clone(),
                        page: pages.len(),
                    },
                    image: img.to_rgb8(),
                    dpi: Some(request.resolution as f32),
                };
                progress(&Progress {
                    done: pages.len() + 1,
                    total: count,
                    source: page.source.clone(),
                });
                pages.push(page);
            }
            Err(e) => load_error = Some(e),
        }
    }
    let status = child.wait().map_err(|e| IntakeError::ProgramFailed {
        program: "scanimage",
        status: "wait failed".into(),
        stderr: e.to_string(),
    })?;
    let stderr = stderr_reader.join().unwrap_or_default();
    if let Some(e) = load_error {
        return Err(e);
    }
    let stderr_lower = stderr.to_lowercase();
    if stderr_lower.contains("open of device") || stderr_lower.contains("no scanners were identified") {
        return Err(IntakeError::ScannerUnavailable {
            device: request.device.clone(),
            detail: last_line(&stderr),
        });
    }
    // A feeder that runs out of paper ends the batch with a non-zero status after the last page: that is the
    // normal end of an open-ended feeder scan, not an error.
    if !status.success() && (pages.is_empty() || count.is_some_and(|n| pages.len() < n)) {
        if pages.is_empty() && stderr_lower.contains("out of documents") {
            return Err(IntakeError::NoPages {
                device: request.device.clone(),
            });
        }
        return Err(IntakeError::ProgramFailed {
            program: "scanimage",
            status: status.to_string(),
            stderr: last_line(&stderr),
        });
    }
    if pages.is_empty() {
        return Err(IntakeError::NoPages {
            device: request.device.clone(),
        });
    }
    Ok(pages)
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}
