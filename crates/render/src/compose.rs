//! Composition of the copy: page objects, watermark, footers, certification page, metadata, output
//! intent and the signature placeholder.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::font::{font, Font};
use crate::image::{check_inches, parse_jpeg, parse_png, JpegInfo, PngInfo};
use crate::pdfin::PdfInput;
use crate::writer::{deflate, num, text_string, Writer};
use crate::{detect, CopyDocument, InputError, InputKind, PageText, PreparedPdf, RenderError, SignatureSlot};

pub(crate) const A4: (f32, f32) = (595.276, 841.89);
pub(crate) const MM: f32 = 72.0 / 25.4;
/// Footer QR side on a normal page (quiet zone included), about 19 mm.
const FOOTER_QR: f32 = 19.0 * MM;
/// Name of the embedded font (subset tag + PostScript name).
const FONT_NAME: &str = "BNSOVN+DejaVuSans";
/// Width reserved for each /ByteRange number (digits, padded with spaces).
const BR_WIDTH: usize = 10;

enum Source<'a> {
    Jpeg(&'a [u8], JpegInfo),
    Png(&'a [u8], PngInfo<'a>),
    Pdf(Box<PdfInput>),
}

/// Object numbers shared by all pages.
pub(crate) struct Shared {
    pub font: u32,
    gs: u32,
    pub qr: u32,
    /// Side of the QR form's bounding box (modules incl. quiet zone).
    pub qr_n: f32,
}

fn input_err(index: usize) -> impl Fn(InputError) -> RenderError {
    move |source| RenderError::Input { index, source }
}

pub(crate) fn render(doc: &CopyDocument<'_>) -> Result<PreparedPdf, RenderError> {
    let f = font();
    // Check every text that will be shown before doing any work.
    let c = &doc.certification;
    for t in [
        &doc.watermark,
        &doc.code_display,
        &doc.qr_url,
        &c.statement,
        &c.number_line,
        &c.date_line,
        &c.issuing_body,
        &c.place,
        &c.signer_name,
        &c.signer_title,
        &c.document_type,
        &c.holder_name,
        &c.fee_line,
    ]
    .into_iter()
    .chain(&c.english_lines)
    {
        f.check(t)?;
    }

    // Parse every input first: the page count is needed in every footer.
    let mut sources = Vec::with_capacity(doc.inputs.len());
    let mut input_pages = 0;
    let mut input_bytes = 0;
    for (i, bytes) in doc.inputs.iter().enumerate() {
        let e = input_err(i);
        let src = match detect(bytes) {
            Some(InputKind::Jpeg) => Source::Jpeg(bytes, parse_jpeg(bytes).map_err(&e)?),
            Some(InputKind::Png) => Source::Png(bytes, parse_png(bytes).map_err(&e)?),
            Some(InputKind::Pdf) => Source::Pdf(Box::new(PdfInput::open(bytes).map_err(&e)?)),
            None => return Err(e(InputError::Unsupported)),
        };
        input_pages += match &src {
            Source::Pdf(p) => p.page_count(),
            _ => 1,
        };
        input_bytes += bytes.len();
        sources.push(src);
    }
    if input_pages == 0 {
        return Err(RenderError::NoPages);
    }
    let total = input_pages + 1;
    let default_dpi = if doc.default_dpi.is_finite() && doc.default_dpi >= 1.0 {
        doc.default_dpi
    } else {
        300.0
    };

    let mut w =
        Writer::with_capacity(input_bytes + f.file_z.len() + 96 * 1024 + 2 * doc.signature.placeholder_size);
    let frame = Frame::alloc(&mut w);
    let (pages_id, field) = (frame.pages, frame.field);
    let shared = write_shared(&mut w, f, &doc.qr_url)?;

    let mut page_ids = Vec::with_capacity(total);
    let mut page_no = 0;
    let mut placed = Vec::new();
    for (index, src) in sources.iter().enumerate() {
        let e = input_err(index);
        match src {
            Source::Jpeg(data, j) => {
                let (dx, dy) = j.dpi.unwrap_or((default_dpi, default_dpi));
                let (pw, ph) = (j.width as f32 * 72.0 / dx, j.height as f32 * 72.0 / dy);
                check_inches(pw / 72.0, ph / 72.0).map_err(&e)?;
                let cs = match j.components {
                    1 => "/DeviceGray",
                    4 => "/DeviceCMYK",
                    _ => "/DeviceRGB",
                };
                let decode = if j.components == 4 && j.adobe {
                    " /Decode [1 0 1 0 1 0 1 0]"
                } else {
                    ""
                };
                let im = w.alloc();
                w.stream(
                    im,
                    &format!(
                        "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {cs} /BitsPerComponent 8{decode} /Filter /DCTDecode",
                        j.width, j.height
                    ),
                    data,
                );
                placed.push((im, pw, ph, [pw, 0.0, 0.0, ph, 0.0, 0.0]));
            }
            Source::Png(data, p) => {
                let (dx, dy) = p.dpi.unwrap_or((default_dpi, default_dpi));
                let (pw, ph) = (p.width as f32 * 72.0 / dx, p.height as f32 * 72.0 / dy);
                check_inches(pw / 72.0, ph / 72.0).map_err(&e)?;
                let im = write_png(&mut w, data, p).map_err(&e)?;
                placed.push((im, pw, ph, [pw, 0.0, 0.0, ph, 0.0, 0.0]));
            }
            Source::Pdf(input) => {
                for page in input.import(&mut w).map_err(&e)? {
                    placed.push((page.form, page.width, page.height, page.matrix));
                }
            }
        }
        let is_image = !matches!(src, Source::Pdf(_));
        // Every source page becomes one copy page: its XObject drawn through its matrix, with the overlays.
        for (xobject, pw, ph, m) in placed.drain(..) {
            page_no += 1;
            let mut draw = format!(
                "q {} {} {} {} {} {} cm /Im0 Do Q\n",
                num(m[0]),
                num(m[1]),
                num(m[2]),
                num(m[3]),
                num(m[4]),
                num(m[5])
            );
            if let (true, Some(Some(layer))) = (is_image, doc.text_layers.get(page_no - 1)) {
                text_layer(&mut draw, f, layer, pw, ph);
            }
            page_ids.push(write_page(
                &mut w,
                &shared,
                f,
                doc,
                pw,
                ph,
                Some(xobject),
                &draw,
                page_no,
                total,
                pages_id,
            )?);
        }
    }
    drop(sources);

    // Certification page.
    let cert_draw = certification_content(f, doc, &shared)?;
    let last = write_page_with(
        &mut w,
        &shared,
        f,
        doc,
        A4.0,
        A4.1,
        None,
        &cert_draw,
        total,
        total,
        pages_id,
        Some(field),
    )?;
    page_ids.push(last);

    let when = doc.issued_at.unix_timestamp_nanos().to_be_bytes();
    finish_signed(
        w,
        &frame,
        &page_ids,
        &doc.title,
        doc.issued_at,
        &doc.signature,
        &[
            doc.code_display.as_bytes(),
            doc.qr_url.as_bytes(),
            doc.title.as_bytes(),
            &when,
        ],
    )
}

/// Objects every signed file allocates first: the catalog, the page tree, the info dictionary, the signature
/// field and the signature dictionary.
pub(crate) struct Frame {
    pub catalog: u32,
    pub pages: u32,
    pub info: u32,
    pub field: u32,
    pub sig: u32,
}

impl Frame {
    pub(crate) fn alloc(w: &mut Writer) -> Self {
        Self {
            catalog: w.alloc(),
            pages: w.alloc(),
            info: w.alloc(),
            field: w.alloc(),
            sig: w.alloc(),
        }
    }
}

/// Writes the page tree over `page_ids` (the last page holds the signature field), the metadata and output
/// intent, the catalog and info, the signature dictionary with its placeholder, and the trailer; the file
/// identifier is drawn from `id_parts` and the body.
pub(crate) fn finish_signed(
    mut w: Writer,
    frame: &Frame,
    page_ids: &[u32],
    title: &str,
    issued_at: time::OffsetDateTime,
    s: &SignatureSlot,
    id_parts: &[&[u8]],
) -> Result<PreparedPdf, RenderError> {
    let Frame {
        catalog,
        pages: pages_id,
        info,
        field,
        sig,
    } = *frame;
    let total = page_ids.len();
    let last = *page_ids.last().ok_or(RenderError::NoPages)?;
    // Page tree.
    let mut kids = String::with_capacity(page_ids.len() * 10);
    for id in page_ids {
        let _ = write!(kids, "{id} 0 R ");
    }
    w.obj(
        pages_id,
        format!(
            "<</Type /Pages /Count {} /Kids [{}]>>",
            page_ids.len(),
            kids.trim_end()
        )
        .as_bytes(),
    );

    // Metadata, output intent, catalog, info.
    let created = pdf_date(issued_at);
    let xmp = xmp(title, issued_at);
    let meta = w.alloc();
    w.stream(meta, "/Type /Metadata /Subtype /XML", xmp.as_bytes());
    let icc = w.alloc();
    let icc_z = deflate(crate::icc::srgb_profile());
    w.stream(icc, "/N 3 /Filter /FlateDecode", &icc_z);
    let oi = w.alloc();
    w.obj(
        oi,
        format!(
            "<</Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) /RegistryName (http://www.color.org) /DestOutputProfile {icc} 0 R>>"
        )
        .as_bytes(),
    );
    w.obj(
        catalog,
        format!(
            "<</Type /Catalog /Pages {pages_id} 0 R /Metadata {meta} 0 R /OutputIntents [{oi} 0 R] /Lang (vi-VN) /AcroForm <</Fields [{field} 0 R] /SigFlags 3>>>>"
        )
        .as_bytes(),
    );
    w.obj(
        info,
        format!(
            "<</Title {} /Producer (banso) /Creator (banso) /CreationDate ({created}) /ModDate ({created})>>",
            text_string(title)
        )
        .as_bytes(),
    );
    w.obj(
        field,
        format!("<</Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /Rect [0 0 0 0] /F 132 /P {last} 0 R /V {sig} 0 R>>")
            .as_bytes(),
    );

    // The signature dictionary comes last, so nothing but the xref and trailer follows its /Contents.
    w.begin(sig);
    w.buf.extend_from_slice(
        b"<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 ",
    );
    let br_at = w.buf.len();
    w.buf.resize(br_at + 3 * BR_WIDTH + 2, b' ');
    w.buf.extend_from_slice(b"] /Contents <");
    let hex_start = w.buf.len();
    w.buf.resize(hex_start + 2 * s.placeholder_size, b'0');
    let hex_end = w.buf.len();
    let _ = write!(
        w.buf,
        "> /M ({}) /Name {} /Reason {} /Location {}>>",
        pdf_date(s.signing_time),
        text_string(&s.name),
        text_string(&s.reason),
        text_string(&s.location)
    );
    w.end();

    let file_id = file_id(id_parts, &w.buf);
    w.finish(catalog, info, &file_id);
    let mut bytes = w.buf;
    let len = bytes.len();
    let byte_range = [0, hex_start - 1, hex_end + 1, len - (hex_end + 1)];
    let br_text = format!(
        "{:<width$} {:<width$} {:<width$}",
        byte_range[1],
        byte_range[2],
        byte_range[3],
        width = BR_WIDTH
    );
    bytes
        .get_mut(br_at..br_at + br_text.len())
        .ok_or_else(|| RenderError::Layout(format!("the /ByteRange {br_text:?} does not fit its field")))?
        .copy_from_slice(br_text.as_bytes());
    Ok(PreparedPdf {
        bytes,
        byte_range,
        contents_hex: hex_start..hex_end,
        page_count: total,
    })
}

pub(crate) fn write_shared(w: &mut Writer, f: &Font, qr_url: &str) -> Result<Shared, RenderError> {
    // Font: Type0 → CIDFontType2 → descriptor → FontFile2; ToUnicode.
    let type0 = w.alloc();
    let cid = w.alloc();
    let desc = w.alloc();
    let file = w.alloc();
    let tounicode = w.alloc();
    w.obj(
        type0,
        format!(
            "<</Type /Font /Subtype /Type0 /BaseFont /{FONT_NAME} /Encoding /Identity-H /DescendantFonts [{cid} 0 R] /ToUnicode {tounicode} 0 R>>"
        )
        .as_bytes(),
    );
    w.obj(
        cid,
        format!(
            "<</Type /Font /Subtype /CIDFontType2 /BaseFont /{FONT_NAME} /CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> /FontDescriptor {desc} 0 R /DW 1000 /W [{}] /CIDToGIDMap /Identity>>",
            f.widths
        )
        .as_bytes(),
    );
    let b = f.bbox;
    w.obj(
        desc,
        format!(
            "<</Type /FontDescriptor /FontName /{FONT_NAME} /Flags 32 /FontBBox [{} {} {} {}] /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {file} 0 R>>",
            b[0], b[1], b[2], b[3], f.ascent, f.descent, f.cap_height
        )
        .as_bytes(),
    );
    w.stream(
        file,
        &format!("/Length1 {} /Filter /FlateDecode", f.file_len),
        &f.file_z,
    );
    w.stream(tounicode, "/Filter /FlateDecode", &f.to_unicode_z);

    let gs = w.alloc();
    w.obj(gs, b"<</Type /ExtGState /ca 0.15 /CA 0.15>>");

    // QR code as one form, reused by every footer and the certification page.
    let code = qrcode::QrCode::with_error_correction_level(qr_url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| RenderError::QrCode(e.to_string()))?;
    let mw = code.width();
    let colors = code.to_colors();
    let n = mw + 8;
    let mut c = String::with_capacity(mw * mw * 4);
    let _ = writeln!(c, "1 g 0 0 {n} {n} re f 0 g");
    for (y, row) in colors.chunks(mw).enumerate() {
        let py = n - 4 - y - 1;
        // One rectangle per run of dark modules.
        let mut x = 0;
        for (dark, run) in runs(row.iter().map(|m| *m == qrcode::Color::Dark)) {
            if dark {
                let _ = writeln!(c, "{} {py} {run} 1 re", x + 4);
            }
            x += run;
        }
    }
    c.push_str("f\n");
    let qr = w.alloc();
    w.flate_stream(
        qr,
        &format!("/Type /XObject /Subtype /Form /BBox [0 0 {n} {n}] /Resources <<>>"),
        c.as_bytes(),
    );
    Ok(Shared {
        font: type0,
        gs,
        qr,
        qr_n: n as f32,
    })
}

/// PNG: the zlib data as it is when the PDF predictor can take it, else decoded and re-deflated.
fn write_png(w: &mut Writer, data: &[u8], p: &PngInfo<'_>) -> Result<u32, InputError> {
    let im = w.alloc();
    if p.embeddable_as_is() {
        let (cs, colors) = match (p.color_type, p.palette) {
            (2, _) => ("/DeviceRGB".to_string(), 3),
            (3, Some(pal)) => {
                let mut s = format!("[/Indexed /DeviceRGB {} <", pal.len() / 3 - 1);
                for b in pal {
                    let _ = write!(s, "{b:02X}");
                }
                s.push_str(">]");
                (s, 1)
            }
            _ => ("/DeviceGray".to_string(), 1),
        };
        let bpc = p.bit_depth;
        let dict = format!(
            "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {cs} /BitsPerComponent {bpc} /Filter /FlateDecode /DecodeParms <</Predictor 15 /Colors {colors} /BitsPerComponent {bpc} /Columns {}>>",
            p.width, p.height, p.width
        );
        w.stream_parts(im, &dict, &p.idat);
        return Ok(im);
    }
    let corrupt = |e: png::DecodingError| InputError::Corrupt {
        kind: InputKind::Png,
        detail: e.to_string(),
    };
    let mut dec = png::Decoder::new(std::io::Cursor::new(data));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(corrupt)?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let out = reader.next_frame(&mut buf).map_err(corrupt)?;
    buf.truncate(out.buffer_size());
    let (channels, alpha) = match out.color_type {
        png::ColorType::Grayscale => (1, false),
        png::ColorType::GrayscaleAlpha => (2, true),
        png::ColorType::Rgb => (3, false),
        png::ColorType::Rgba => (4, true),
        png::ColorType::Indexed => {
            return Err(InputError::Corrupt {
                kind: InputKind::Png,
                detail: "palette was not expanded".into(),
            })
        }
    };
    let color_channels = if channels >= 3 { 3 } else { 1 };
    let cs = if color_channels == 3 {
        "/DeviceRGB"
    } else {
        "/DeviceGray"
    };
    let (color, smask) = if alpha {
        let px = buf.len() / channels;
        let mut color = Vec::with_capacity(px * color_channels);
        let mut a = Vec::with_capacity(px);
        for p in buf.chunks_exact(channels) {
            let (c, rest) = p.split_at(color_channels.min(p.len()));
            color.extend_from_slice(c);
            a.push(rest.last().copied().unwrap_or(255));
        }
        (color, Some(a))
    } else {
        (buf, None)
    };
    let mut dict = format!(
        "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace {cs} /BitsPerComponent 8",
        out.width, out.height
    );
    if let Some(a) = smask {
        let sm = w.alloc();
        w.flate_stream(
            sm,
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8",
                out.width, out.height
            ),
            &a,
        );
        let _ = write!(dict, " /SMask {sm} 0 R");
    }
    w.flate_stream(im, &dict, &color);
    Ok(im)
}

#[allow(clippy::too_many_arguments)]
fn write_page(
    w: &mut Writer,
    shared: &Shared,
    f: &Font,
    doc: &CopyDocument<'_>,
    pw: f32,
    ph: f32,
    xobject: Option<u32>,
    draw: &str,
    page_no: usize,
    total: usize,
    parent: u32,
) -> Result<u32, RenderError> {
    write_page_with(
        w, shared, f, doc, pw, ph, xobject, draw, page_no, total, parent, None,
    )
}

/// Writes the content stream (page drawing + watermark + footer) and the page object.
#[allow(clippy::too_many_arguments)]
fn write_page_with(
    w: &mut Writer,
    shared: &Shared,
    f: &Font,
    doc: &CopyDocument<'_>,
    pw: f32,
    ph: f32,
    xobject: Option<u32>,
    draw: &str,
    page_no: usize,
    total: usize,
    parent: u32,
    annot: Option<u32>,
) -> Result<u32, RenderError> {
    let mut c = String::with_capacity(draw.len() + 1024);
    c.push_str(draw);
    watermark(&mut c, f, &doc.watermark, pw, ph)?;
    footer(&mut c, f, shared, &doc.code_display, pw, ph, page_no, total)?;
    let content = w.alloc();
    w.flate_stream(content, "", c.as_bytes());
    let page = w.alloc();
    let im = xobject.map(|id| format!(" /Im0 {id} 0 R")).unwrap_or_default();
    let annots = annot.map(|id| format!(" /Annots [{id} 0 R]")).unwrap_or_default();
    w.obj(
        page,
        format!(
            "<</Type /Page /Parent {parent} 0 R /MediaBox [0 0 {} {}] /Resources <</XObject <</QR {} 0 R{im}>> /Font <</F1 {} 0 R>> /ExtGState <</GW {} 0 R>>>> /Contents {content} 0 R /Group <</S /Transparency /CS /DeviceRGB>>{annots}>>",
            num(pw),
            num(ph),
            shared.qr,
            shared.font,
            shared.gs
        )
        .as_bytes(),
    );
    Ok(page)
}

/// The OCR words as invisible text (rendering mode 3) over the page image: each word at its box, its font size
/// from the box height and its horizontal scaling stretched to the box width, so that selecting text on the page
/// selects the right region. Characters the embedded font lacks are left out of the layer.
fn text_layer(c: &mut String, f: &Font, layer: &PageText, pw: f32, ph: f32) {
    if layer.width == 0 || layer.height == 0 {
        return;
    }
    let (sx, sy) = (pw / layer.width as f32, ph / layer.height as f32);
    c.push_str("BT 3 Tr\n");
    for word in &layer.words {
        let text: String = word
            .text
            .chars()
            .filter(|ch| f.check(&ch.to_string()).is_ok())
            .collect();
        let text = text.trim();
        if text.is_empty() || word.w == 0 || word.h == 0 {
            continue;
        }
        let size = (word.h as f32 * sy).max(1.0);
        let advance = f.width(text) / 1000.0 * size;
        if advance <= 0.0 {
            continue;
        }
        let scale = (100.0 * word.w as f32 * sx / advance).clamp(1.0, 1000.0);
        // Baseline a fifth of the box above its bottom (room for descenders).
        let x = word.x as f32 * sx;
        let y = ph - (word.y + word.h) as f32 * sy + 0.2 * size;
        let mut glyphs = String::with_capacity(4 * text.len() + 2);
        if f.encode(text, &mut glyphs).is_ok() {
            let _ = writeln!(
                c,
                "/F1 {} Tf {} Tz 1 0 0 1 {} {} Tm {glyphs} Tj",
                num(size),
                num(scale),
                num(x),
                num(y)
            );
        }
    }
    c.push_str("ET\n");
}

/// Large diagonal semi-transparent text across the page.
fn watermark(c: &mut String, f: &Font, text: &str, pw: f32, ph: f32) -> Result<(), RenderError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let em = f.width(text) / 1000.0;
    let diag = (pw * pw + ph * ph).sqrt();
    let size = (0.62 * diag / em.max(0.1)).min(0.5 * pw.min(ph) / 0.73 * 1.6);
    let angle = ph.atan2(pw);
    let (sin, cos) = angle.sin_cos();
    let tw = em * size;
    let ch = f.cap_height as f32 / 1000.0 * size;
    let _ = write!(
        c,
        "q /GW gs 0.7 0.05 0.05 rg /Span <</ActualText {}>> BDC BT /F1 {} Tf {} {} {} {} {} {} Tm {} {} Td ",
        text_string(text),
        num(size),
        num(cos),
        num(sin),
        num(-sin),
        num(cos),
        num(pw / 2.0),
        num(ph / 2.0),
        num(-tw / 2.0),
        num(-ch / 2.0)
    );
    f.encode(text, c)?;
    c.push_str(" Tj ET EMC Q\n");
    Ok(())
}

/// Bottom-right footer: the QR code, and left of it the verification code and the page number.
#[allow(clippy::too_many_arguments)]
fn footer(
    c: &mut String,
    f: &Font,
    shared: &Shared,
    code: &str,
    pw: f32,
    ph: f32,
    page_no: usize,
    total: usize,
) -> Result<(), RenderError> {
    // Small pages (an ID card scan) get a proportionally smaller footer.
    let k = (pw.min(ph) / 220.0).min(1.0);
    let margin = 6.0 * k;
    let q = FOOTER_QR * k;
    let fs = 6.5 * k;
    let qx = pw - margin - q;
    let qy = margin;
    let s = q / shared.qr_n;
    let _ = writeln!(
        c,
        "q {} 0 0 {} {} {} cm /QR Do Q",
        num(s),
        num(s),
        num(qx),
        num(qy)
    );
    let lines = [
        format!("Mã xác thực / Verification code: {code}"),
        format!("Trang {page_no}/{total} / Page {page_no} of {total}"),
    ];
    let widths: Vec<f32> = lines.iter().map(|l| f.width(l) / 1000.0 * fs).collect();
    let maxw = widths.iter().copied().fold(0.0, f32::max);
    let right = qx - 2.0 * k;
    let lh = fs * 1.35;
    // White backing so the text stays legible over the scan.
    let _ = writeln!(
        c,
        "q 1 g {} {} {} {} re f Q",
        num(right - maxw - 2.0 * k),
        num(qy),
        num(maxw + 2.0 * k),
        num(lh * 2.0 + 2.0 * k)
    );
    c.push_str("0 g\n");
    for (i, (line, lw)) in lines.iter().zip(&widths).enumerate() {
        let y = qy + 2.0 * k + lh * (1 - i) as f32 + 0.25 * fs;
        let _ = write!(c, "BT /F1 {} Tf {} {} Td ", num(fs), num(right - lw), num(y));
        f.encode(line, c)?;
        c.push_str(" Tj ET\n");
    }
    Ok(())
}

/// Text layout helper for the certification page.
pub(crate) struct Text<'f> {
    pub f: &'f Font,
    pub c: String,
}

#[derive(Clone, Copy)]
pub(crate) enum Align {
    Left,
    Center,
}

impl Text<'_> {
    pub(crate) fn line(
        &mut self,
        x: f32,
        y: f32,
        size: f32,
        text: &str,
        bold: bool,
        align: Align,
    ) -> Result<(), RenderError> {
        let width = self.f.width(text) / 1000.0 * size;
        let x = match align {
            Align::Left => x,
            Align::Center => x - width / 2.0,
        };
        let mode = if bold {
            format!("2 Tr {} w ", num(size * 0.03))
        } else {
            "0 Tr ".into()
        };
        let _ = write!(self.c, "BT {mode}/F1 {} Tf {} {} Td ", num(size), num(x), num(y));
        self.f.encode(text, &mut self.c)?;
        self.c.push_str(" Tj ET\n");
        Ok(())
    }

    /// The shared QR form drawn `side` points square with its lower left corner at (`x`, `y`).
    pub(crate) fn qr(&mut self, shared: &Shared, x: f32, y: f32, side: f32) {
        let s = side / shared.qr_n;
        let _ = writeln!(
            self.c,
            "q {} 0 0 {} {} {} cm /QR Do Q",
            num(s),
            num(s),
            num(x),
            num(y)
        );
    }

    /// The country's name and motto (underlined), centred on `x`, the first line at `y`.
    pub(crate) fn national_motto(&mut self, x: f32, y: f32, size: f32) -> Result<(), RenderError> {
        self.line(
            x,
            y,
            size,
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            true,
            Align::Center,
        )?;
        let y = y - size * 1.36;
        let motto = "Độc lập - Tự do - Hạnh phúc";
        self.line(x, y, size, motto, true, Align::Center)?;
        let mw = self.f.width(motto) / 1000.0 * size;
        let _ = writeln!(
            self.c,
            "0.7 w {} {} m {} {} l S",
            num(x - mw / 2.0),
            num(y - 4.0),
            num(x + mw / 2.0),
            num(y - 4.0)
        );
        Ok(())
    }

    /// Wraps `text` to `max` points; returns the lines.
    pub(crate) fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let fits = |s: &str| self.f.width(s) / 1000.0 * size <= max;
        let mut lines = Vec::new();
        let mut cur = String::new();
        for word in text.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if fits(&candidate) {
                cur = candidate;
                continue;
            }
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            // A word longer than the line (a URL) is cut by characters.
            for ch in word.chars() {
                cur.push(ch);
                if !fits(&cur) && cur.chars().count() > 1 {
                    cur.pop();
                    lines.push(std::mem::take(&mut cur));
                    cur.push(ch);
                }
            }
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// Writes wrapped text and moves `y` down; returns nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn para(
        &mut self,
        x: f32,
        y: &mut f32,
        size: f32,
        max: f32,
        text: &str,
        bold: bool,
        align: Align,
    ) -> Result<(), RenderError> {
        for l in self.wrap(text, size, max) {
            self.line(x, *y, size, &l, bold, align)?;
            *y -= size * 1.45;
        }
        Ok(())
    }
}

fn certification_content(f: &Font, doc: &CopyDocument<'_>, shared: &Shared) -> Result<String, RenderError> {
    let c = &doc.certification;
    let mut t = Text {
        f,
        c: String::with_capacity(4096),
    };
    t.c.push_str("0 g 0 G\n");
    let (pw, ph) = A4;
    let left = 62.0;
    let width = pw - 2.0 * left;
    let mid = pw / 2.0;
    let mut y = ph - 62.0;

    t.national_motto(mid, y, 12.5)?;
    y -= 65.0;
    t.para(
        mid,
        &mut y,
        15.0,
        width,
        "CHỨNG THỰC BẢN SAO ĐIỆN TỬ TỪ BẢN CHÍNH",
        true,
        Align::Center,
    )?;
    t.para(
        mid,
        &mut y,
        10.0,
        width,
        "CERTIFIED ELECTRONIC COPY FROM THE ORIGINAL",
        false,
        Align::Center,
    )?;
    y -= 22.0;

    let body = 12.0;
    t.para(left, &mut y, body, width, &c.statement, true, Align::Left)?;
    y -= 4.0;
    for line in [
        c.number_line.clone(),
        format!("Loại giấy tờ / Document type: {}", c.document_type),
        format!("Người có giấy tờ / Holder: {}", c.holder_name),
        format!(
            "Số trang của bản chính: {} (Pages of the original: {})",
            c.original_pages, c.original_pages
        ),
        c.fee_line.clone(),
    ] {
        if !line.trim().is_empty() {
            t.para(left, &mut y, body, width, &line, false, Align::Left)?;
        }
    }
    y -= 20.0;

    // Signature block, right half, centred.
    let bx = pw - left - 130.0;
    let bw = 270.0;
    let place_date = if c.place.trim().is_empty() {
        c.date_line.clone()
    } else {
        format!("{}, {}", c.place, c.date_line)
    };
    t.para(bx, &mut y, 11.5, bw, &place_date, false, Align::Center)?;
    t.para(bx, &mut y, 12.0, bw, &c.issuing_body, true, Align::Center)?;
    t.para(bx, &mut y, 12.0, bw, &c.signer_title, true, Align::Center)?;
    t.para(
        bx,
        &mut y,
        10.0,
        bw,
        "(Đã ký số / Digitally signed)",
        false,
        Align::Center,
    )?;
    y -= 6.0;
    t.para(bx, &mut y, 12.0, bw, &c.signer_name, true, Align::Center)?;
    y -= 16.0;

    for l in &c.english_lines {
        t.para(left, &mut y, 9.0, width, l, false, Align::Left)?;
    }

    // Verification block: a larger QR with the code next to it.
    let big = 36.0 * MM;
    let qy = 58.0;
    t.qr(shared, left, qy, big);
    let tx = left + big + 12.0;
    let tw = pw - left - tx;
    let mut ty = qy + big - 14.0;
    t.para(
        tx,
        &mut ty,
        10.5,
        tw,
        "Mã xác thực / Verification code:",
        false,
        Align::Left,
    )?;
    t.para(tx, &mut ty, 14.0, tw, &doc.code_display, true, Align::Left)?;
    ty -= 2.0;
    t.para(
        tx,
        &mut ty,
        8.5,
        tw,
        "Quét mã QR hoặc truy cập / Scan the QR code or visit:",
        false,
        Align::Left,
    )?;
    t.para(tx, &mut ty, 8.0, tw, &doc.qr_url, false, Align::Left)?;
    Ok(t.c)
}

/// `D:YYYYMMDDHHmmSS+hh'mm'`
pub(crate) fn pdf_date(t: time::OffsetDateTime) -> String {
    let off = t.offset().whole_minutes();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        off / 60,
        off % 60
    )
}

/// `YYYY-MM-DDTHH:mm:SS+hh:mm`, the same instant as [`pdf_date`].
fn xmp_date(t: time::OffsetDateTime) -> String {
    let off = t.offset().whole_minutes();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        off / 60,
        off % 60
    )
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn xmp(title: &str, issued_at: time::OffsetDateTime) -> String {
    let d = xmp_date(issued_at);
    let title = xml_escape(title);
    format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n\
<pdfaid:part>2</pdfaid:part>\n<pdfaid:conformance>B</pdfaid:conformance>\n\
<dc:format>application/pdf</dc:format>\n\
<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
<xmp:CreateDate>{d}</xmp:CreateDate>\n<xmp:ModifyDate>{d}</xmp:ModifyDate>\n<xmp:MetadataDate>{d}</xmp:MetadataDate>\n\
<xmp:CreatorTool>banso</xmp:CreatorTool>\n<pdf:Producer>banso</pdf:Producer>\n\
</rdf:Description>\n</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>"
    )
}

/// The file identifier: FNV-1a over the document's identity (`parts`), mixed with a CRC of the body.
fn file_id(parts: &[&[u8]], body: &[u8]) -> [u8; 16] {
    let fnv = |seed: u64, parts: &[&[u8]]| {
        let mut h = seed;
        for p in parts {
            for &b in *p {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01B3);
            }
            h ^= 0xFF;
            h = h.wrapping_mul(0x0000_0100_0000_01B3);
        }
        h
    };
    let crc = crc32fast::hash(body).to_be_bytes();
    let parts: Vec<&[u8]> = parts.iter().copied().chain([&crc[..]]).collect();
    let a = fnv(0xCBF2_9CE4_8422_2325, &parts);
    let b = fnv(0x8422_2325_CBF2_9CE4, &parts);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&a.to_be_bytes());
    id[8..].copy_from_slice(&b.to_be_bytes());
    id
}

/// Runs of equal values: (value, length), in order.
fn runs(values: impl Iterator<Item = bool>) -> Vec<(bool, usize)> {
    let mut out: Vec<(bool, usize)> = Vec::new();
    for v in values {
        match out.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}
