//! Header-level parsing of JPEG and PNG page images: enough to validate them and embed them without
//! decoding (JPEG always, PNG whenever the PDF can take its compressed data as is).

use crate::{InputError, InputKind};

/// Images larger than this many pixels on a side are refused.
pub(crate) const MAX_PIXELS_PER_SIDE: u32 = 20_000;
/// Images with more pixels than this are refused from their header, before anything is decoded: a small
/// compressed file can declare gigabytes of pixels (a decompression bomb). 40 megapixels hold an A4 page at
/// 600 dpi (34.8 MP) or an A3 page at 400 dpi (31 MP); an 8-bit RGB decode of that is 120 MB.
pub(crate) const MAX_PIXELS: u64 = 40_000_000;
/// Pages larger than this many inches on a side are refused (also the PDF page-size limit, 14 400 pt).
pub(crate) const MAX_INCHES_PER_SIDE: f32 = 200.0;
/// Stated resolutions outside this range are treated as absent (e.g. a density of 1 meaning "aspect only").
const PLAUSIBLE_DPI: std::ops::RangeInclusive<f32> = 50.0..=4800.0;

pub(crate) const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

fn corrupt(kind: InputKind, detail: impl Into<String>) -> InputError {
    InputError::Corrupt {
        kind,
        detail: detail.into(),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Resolution in dots per inch (x, y), kept only when plausible.
fn plausible_dpi(x: f32, y: f32) -> Option<(f32, f32)> {
    (PLAUSIBLE_DPI.contains(&x) && PLAUSIBLE_DPI.contains(&y)).then_some((x, y))
}

/// Checks pixel dimensions (and page size when the resolution is known).
pub(crate) fn check_dimensions(width: u32, height: u32, dpi: Option<(f32, f32)>) -> Result<(), InputError> {
    if width == 0 || height == 0 {
        return Err(InputError::Empty);
    }
    if width > MAX_PIXELS_PER_SIDE || height > MAX_PIXELS_PER_SIDE {
        return Err(InputError::TooLarge {
            detail: format!("{width}×{height} px, at most {MAX_PIXELS_PER_SIDE} px a side"),
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(InputError::TooLarge {
            detail: format!(
                "{width}×{height} px is {:.0} megapixels, at most {} megapixels",
                pixels as f64 / 1e6,
                MAX_PIXELS / 1_000_000
            ),
        });
    }
    if let Some((dx, dy)) = dpi {
        check_inches(width as f32 / dx, height as f32 / dy)?;
    }
    Ok(())
}

pub(crate) fn check_inches(w: f32, h: f32) -> Result<(), InputError> {
    if !(w.is_finite() && h.is_finite()) || w > MAX_INCHES_PER_SIDE || h > MAX_INCHES_PER_SIDE {
        return Err(InputError::TooLarge {
            detail: format!("{w:.1}×{h:.1} inches, at most {MAX_INCHES_PER_SIDE} inches a side"),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------------------------------------

/// What a JPEG header says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JpegInfo {
    pub width: u32,
    pub height: u32,
    /// 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
    pub components: u8,
    /// From JFIF, else EXIF, when plausible.
    pub dpi: Option<(f32, f32)>,
    /// An Adobe APP14 segment is present (with 4 components: inverted CMYK as Photoshop writes it).
    pub adobe: bool,
}

/// Walks the marker segments up to the first scan, then requires an end-of-image marker after it.
/// Does not read the entropy-coded data, so it costs microseconds even for large scans.
pub(crate) fn parse_jpeg(b: &[u8]) -> Result<JpegInfo, InputError> {
    const K: InputKind = InputKind::Jpeg;
    if b.len() < 4 || !b.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt(K, "no start-of-image marker"));
    }
    let mut pos = 2;
    let mut sof: Option<(u32, u32, u8)> = None;
    let mut jfif_dpi = None;
    let mut exif_dpi = None;
    let mut adobe = false;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if b.get(pos) != Some(&0xFF) {
            return Err(if pos >= b.len() {
                corrupt(K, "truncated before the image data")
            } else {
                corrupt(K, format!("expected a marker at byte {pos}"))
            });
        }
        while b.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = b.get(pos) else {
            return Err(corrupt(K, "truncated before the image data"));
        };
        pos += 1;
        match marker {
            0xD8 => return Err(corrupt(K, "second start-of-image marker")),
            0xD9 => return Err(corrupt(K, "end of image before any scan")),
            0x01 | 0xD0..=0xD7 => continue, // standalone markers
            0x00 => return Err(corrupt(K, format!("invalid marker at byte {pos}"))),
            _ => {}
        }
        let len = be16(b, pos).ok_or_else(|| corrupt(K, "truncated segment header"))? as usize;
        if len < 2 {
            return Err(corrupt(K, format!("segment length {len} at byte {pos}")));
        }
        let seg = b
            .get(pos + 2..pos + len)
            .ok_or_else(|| corrupt(K, format!("segment 0x{marker:02X} runs past the end of the file")))?;
        pos += len;
        match marker {
            // SOF0..SOF15 except DHT (C4), JPG (C8), DAC (CC)
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                if sof.is_some() {
                    return Err(corrupt(K, "more than one frame header"));
                }
                let &[precision, h1, h0, w1, w0, components, ..] = seg else {
                    return Err(corrupt(K, "short frame header"));
                };
                let height = u32::from(u16::from_be_bytes([h1, h0]));
                let width = u32::from(u16::from_be_bytes([w1, w0]));
                if seg.len() < 6 + 3 * usize::from(components) {
                    return Err(corrupt(K, "short frame header"));
                }
                if precision != 8 {
                    return Err(corrupt(
                        K,
                        format!("{precision}-bit samples are not supported (8-bit only)"),
                    ));
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(corrupt(
                        K,
                        format!("{components} colour components are not supported"),
                    ));
                }
                if matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF) {
                    return Err(corrupt(K, "lossless JPEG is not supported"));
                }
                sof = Some((width, height, components));
            }
            0xE0 if seg.starts_with(b"JFIF\0") && seg.len() >= 12 => {
                let (Some(&units), Some(x), Some(y)) = (seg.get(7), be16(seg, 8), be16(seg, 10)) else {
                    continue;
                };
                let (x, y) = (f32::from(x), f32::from(y));
                jfif_dpi = match units {
                    1 => plausible_dpi(x, y),
                    2 => plausible_dpi(x * 2.54, y * 2.54),
                    _ => None,
                };
            }
            0xE1 if seg.starts_with(b"Exif\0\0") => exif_dpi = seg.get(6..).and_then(exif_resolution),
            0xEE if seg.starts_with(b"Adobe") => adobe = true,
            0xDA => break,
            _ => {}
        }
    }
    let (width, height, components) = sof.ok_or_else(|| corrupt(K, "no frame header before the scan"))?;
    // The scan starts at `pos`; an end-of-image marker must follow it. Trailing bytes after EOI are tolerated.
    let tail = b.get(pos..).unwrap_or_default();
    if !tail.windows(2).rev().any(|w| w == [0xFF, 0xD9]) {
        return Err(corrupt(K, "truncated: no end-of-image marker after the scan"));
    }
    let dpi = jfif_dpi.or(exif_dpi);
    check_dimensions(width, height, dpi)?;
    Ok(JpegInfo {
        width,
        height,
        components,
        dpi,
        adobe,
    })
}

/// XResolution / YResolution / ResolutionUnit from IFD0 of an EXIF (TIFF) block.
fn exif_resolution(t: &[u8]) -> Option<(f32, f32)> {
    let le = match t.get(0..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let s = [*t.get(at)?, *t.get(at + 1)?];
        Some(if le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let s = [*t.get(at)?, *t.get(at + 1)?, *t.get(at + 2)?, *t.get(at + 3)?];
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    let ifd = u32_at(4)? as usize;
    let count = usize::from(u16_at(ifd)?);
    let (mut xr, mut yr, mut unit) = (None, None, 2u16);
    for i in 0..count.min(512) {
        let e = ifd + 2 + 12 * i;
        let tag = u16_at(e)?;
        let typ = u16_at(e + 2)?;
        let rational = |at: usize| -> Option<f32> {
            let off = u32_at(at)? as usize;
            let (n, d) = (u32_at(off)?, u32_at(off + 4)?);
            (d != 0).then(|| n as f32 / d as f32)
        };
        match (tag, typ) {
            (0x011A, 5) => xr = rational(e + 8),
            (0x011B, 5) => yr = rational(e + 8),
            (0x0128, 3) => unit = u16_at(e + 8)?,
            _ => {}
        }
    }
    let (x, y) = (xr?, yr?);
    match unit {
        2 => plausible_dpi(x, y),
        3 => plausible_dpi(x * 2.54, y * 2.54),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------------------------------------

/// What a PNG's chunks say.
#[derive(Debug, Clone)]
pub(crate) struct PngInfo<'a> {
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    /// 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
    pub color_type: u8,
    pub interlaced: bool,
    pub dpi: Option<(f32, f32)>,
    /// PLTE data (RGB triples).
    pub palette: Option<&'a [u8]>,
    pub has_trns: bool,
    /// The IDAT chunk payloads, in order (together one zlib stream).
    pub idat: Vec<&'a [u8]>,
}

impl PngInfo<'_> {
    /// Whether the PDF can take the zlib data as is (FlateDecode with the PNG predictor).
    pub fn embeddable_as_is(&self) -> bool {
        !self.interlaced
            && !self.has_trns
            && match self.color_type {
                0 | 3 => true,
                2 => self.bit_depth >= 8,
                _ => false,
            }
    }
}

/// Walks every chunk, checking each CRC, the IHDR fields and the chunk order.
pub(crate) fn parse_png(b: &[u8]) -> Result<PngInfo<'_>, InputError> {
    const K: InputKind = InputKind::Png;
    if !b.starts_with(&PNG_SIGNATURE) {
        return Err(corrupt(K, "bad signature"));
    }
    let mut pos = 8;
    let mut info: Option<PngInfo<'_>> = None;
    let mut seen_iend = false;
    let mut idat_done = false;
    while !seen_iend {
        let len = be32(b, pos).ok_or_else(|| corrupt(K, "truncated: no IEND chunk"))? as usize;
        let end = pos
            .checked_add(12)
            .and_then(|v| v.checked_add(len))
            .filter(|&e| e <= b.len())
            .ok_or_else(|| corrupt(K, format!("truncated chunk at byte {pos}")))?;
        // `end` is within the file, so the type, the data and the CRC are too.
        let (Some(&[c0, c1, c2, c3]), Some(data)) = (
            b.get(pos + 4..pos + 8).and_then(|t| <&[u8; 4]>::try_from(t).ok()),
            b.get(pos + 8..pos + 8 + len),
        ) else {
            return Err(corrupt(K, format!("truncated chunk at byte {pos}")));
        };
        let ctype = [c0, c1, c2, c3];
        let stored_crc = be32(b, pos + 8 + len).unwrap_or(0);
        let mut h = crc32fast::Hasher::new();
        h.update(&ctype);
        h.update(data);
        if h.finalize() != stored_crc {
            return Err(corrupt(
                K,
                format!("CRC mismatch in chunk {}", String::from_utf8_lossy(&ctype)),
            ));
        }
        if info.is_none() && &ctype != b"IHDR" {
            return Err(corrupt(K, "the first chunk is not IHDR"));
        }
        match &ctype {
            b"IHDR" => {
                if info.is_some() {
                    return Err(corrupt(K, "second IHDR chunk"));
                }
                let &[w3, w2, w1, w0, h3, h2, h1, h0, bit_depth, color_type, compression, filter, interlace] =
                    data
                else {
                    return Err(corrupt(K, "IHDR has the wrong length"));
                };
                let width = u32::from_be_bytes([w3, w2, w1, w0]);
                let height = u32::from_be_bytes([h3, h2, h1, h0]);
                let valid = match color_type {
                    0 => matches!(bit_depth, 1 | 2 | 4 | 8 | 16),
                    3 => matches!(bit_depth, 1 | 2 | 4 | 8),
                    2 | 4 | 6 => matches!(bit_depth, 8 | 16),
                    _ => false,
                };
                if !valid {
                    return Err(corrupt(
                        K,
                        format!("colour type {color_type} with bit depth {bit_depth}"),
                    ));
                }
                if compression != 0 || filter != 0 || interlace > 1 {
                    return Err(corrupt(K, "unknown compression, filter or interlace method"));
                }
                info = Some(PngInfo {
                    width,
                    height,
                    bit_depth,
                    color_type,
                    interlaced: interlace == 1,
                    dpi: None,
                    palette: None,
                    has_trns: false,
                    idat: Vec::new(),
                });
            }
            _ => {
                let Some(inf) = info.as_mut() else {
                    return Err(corrupt(K, "the first chunk is not IHDR"));
                };
                match &ctype {
                    b"PLTE" => {
                        if len == 0 || len > 768 || len / 3 * 3 != len {
                            return Err(corrupt(K, "PLTE has a bad length"));
                        }
                        inf.palette = Some(data);
                    }
                    b"tRNS" => inf.has_trns = true,
                    b"pHYs" => {
                        // pixels per metre
                        if let &[x3, x2, x1, x0, y3, y2, y1, y0, 1] = data {
                            let x = u32::from_be_bytes([x3, x2, x1, x0]) as f32 * 0.0254;
                            let y = u32::from_be_bytes([y3, y2, y1, y0]) as f32 * 0.0254;
                            inf.dpi = plausible_dpi(x, y);
                        }
                    }
                    b"IDAT" => {
                        if idat_done {
                            return Err(corrupt(K, "IDAT chunks are not consecutive"));
                        }
                        inf.idat.push(data);
                    }
                    b"IEND" => seen_iend = true,
                    _ => {
                        if ctype[0] & 0x20 == 0 {
                            return Err(corrupt(
                                K,
                                format!("unknown critical chunk {}", String::from_utf8_lossy(&ctype)),
                            ));
                        }
                    }
                }
                if !inf.idat.is_empty() && &ctype != b"IDAT" {
                    idat_done = true;
                }
            }
        }
        pos = end;
    }
    let info = info.ok_or_else(|| corrupt(K, "no IHDR chunk"))?;
    if info.width == 0 || info.height == 0 {
        return Err(InputError::Empty);
    }
    if info.idat.is_empty() {
        return Err(corrupt(K, "no image data (IDAT)"));
    }
    if info.color_type == 3 && info.palette.is_none() {
        return Err(corrupt(K, "palette image without PLTE"));
    }
    check_dimensions(info.width, info.height, info.dpi)?;
    Ok(info)
}
