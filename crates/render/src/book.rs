//! A book the service keeps (the certification book of a year): a title block, then a table over as many
//! landscape A4 pages as its rows need, each page numbered, the column heads repeated on every page, and the
//! signature block after the last row; the same font, metadata and signature placeholder as a copy.

use crate::compose::{finish_signed, write_shared, Align, Frame, Text, A4};
use crate::font::font;
use crate::writer::{num, Writer};
use crate::{PreparedPdf, RenderError, SignatureSlot};

/// Everything a book shows, already worded by the caller.
#[derive(Debug, Clone)]
pub struct BookDocument {
    pub issuer: String,
    pub title: String,
    /// Lines under the title (the year, when it was opened and closed).
    pub subtitle: Vec<String>,
    /// Column heads and their shares of the table's width (the shares sum to 1).
    pub columns: Vec<(String, f32)>,
    pub rows: Vec<Vec<String>>,
    /// Paragraphs after the table (the count of lines, what was voided).
    pub closing: Vec<String>,
    pub date_line: String,
    pub signer_title: String,
    pub signer_name: String,
    pub doc_title: String,
    pub issued_at: time::OffsetDateTime,
    pub signature: SignatureSlot,
}

const SIZE: f32 = 8.5;
const MARGIN: f32 = 40.0;
const BOTTOM: f32 = 50.0;

/// Lays the book out; a book with no row still has its title page.
pub fn render_book(b: &BookDocument) -> Result<PreparedPdf, RenderError> {
    let f = font();
    for t in [&b.issuer, &b.title, &b.date_line, &b.signer_title, &b.signer_name]
        .into_iter()
        .chain(&b.subtitle)
        .chain(b.columns.iter().map(|(c, _)| c))
        .chain(b.rows.iter().flatten())
        .chain(&b.closing)
    {
        f.check(t)?;
    }
    if b.rows.iter().any(|r| r.len() != b.columns.len()) {
        return Err(RenderError::Layout(
            "a row of the book has another number of cells than its columns".into(),
        ));
    }
    let mut w = Writer::with_capacity(
        f.file_z.len() + 64 * 1024 + b.rows.len() * 600 + 2 * b.signature.placeholder_size,
    );
    let frame = Frame::alloc(&mut w);
    let shared = write_shared(&mut w, f, &b.doc_title)?;
    let (pw, ph) = (A4.1, A4.0);
    let width = pw - 2.0 * MARGIN;
    let xs: Vec<(f32, f32)> = b
        .columns
        .iter()
        .scan(MARGIN, |x, (_, share)| {
            let start = *x;
            *x += share * width;
            Some((start, share * width - 4.0))
        })
        .collect();

    let new_text = || Text {
        f,
        c: String::from("0 g 0 G 0.5 w\n"),
    };
    let mut pages: Vec<String> = Vec::new();
    let mut t = new_text();
    let mut y = ph - MARGIN;
    t.para(
        MARGIN + 120.0,
        &mut y,
        10.0,
        240.0,
        &b.issuer,
        true,
        Align::Center,
    )?;
    t.national_motto(pw - MARGIN - 150.0, ph - MARGIN, 10.0)?;
    y = ph - MARGIN - 50.0;
    t.para(pw / 2.0, &mut y, 15.0, width, &b.title, true, Align::Center)?;
    for s in &b.subtitle {
        t.para(pw / 2.0, &mut y, 10.0, width, s, false, Align::Center)?;
    }
    y -= 8.0;
    let heads = |t: &mut Text<'_>, y: &mut f32| -> Result<(), RenderError> {
        let mut low = *y;
        for ((head, _), (x, cw)) in b.columns.iter().zip(&xs) {
            let mut hy = *y;
            t.para(*x + 2.0, &mut hy, SIZE, *cw, head, true, Align::Left)?;
            low = low.min(hy);
        }
        *y = low;
        rule(t, *y + SIZE * 0.9, pw);
        Ok(())
    };
    rule(&mut t, y + SIZE * 1.3, pw);
    heads(&mut t, &mut y)?;
    for row in &b.rows {
        let lines: usize = row
            .iter()
            .zip(&xs)
            .map(|(cell, (_, cw))| t.wrap(cell, SIZE, *cw).len().max(1))
            .max()
            .unwrap_or(1);
        let height = lines as f32 * SIZE * 1.45;
        if y - height < BOTTOM {
            pages.push(std::mem::take(&mut t.c));
            t = new_text();
            y = ph - MARGIN;
            rule(&mut t, y + SIZE * 1.3, pw);
            heads(&mut t, &mut y)?;
        }
        for (cell, (x, cw)) in row.iter().zip(&xs) {
            let mut cy = y;
            t.para(*x + 2.0, &mut cy, SIZE, *cw, cell, false, Align::Left)?;
        }
        y -= height;
        rule(&mut t, y + SIZE * 0.9, pw);
    }
    // The closing and the signature block need about 150 points.
    if y - 150.0 < BOTTOM {
        pages.push(std::mem::take(&mut t.c));
        t = new_text();
        y = ph - MARGIN;
    }
    y -= 10.0;
    for p in &b.closing {
        t.para(MARGIN, &mut y, 9.5, width, p, false, Align::Left)?;
    }
    let bx = pw - MARGIN - 130.0;
    let mut sy = y - 10.0;
    t.para(bx, &mut sy, 10.0, 260.0, &b.date_line, false, Align::Center)?;
    t.para(bx, &mut sy, 11.0, 260.0, &b.signer_title, true, Align::Center)?;
    t.para(
        bx,
        &mut sy,
        9.5,
        260.0,
        "(Đã ký số / Digitally signed)",
        false,
        Align::Center,
    )?;
    sy -= 6.0;
    t.para(bx, &mut sy, 10.5, 260.0, &b.signer_name, true, Align::Center)?;
    pages.push(t.c);

    let total = pages.len();
    let mut page_ids = Vec::with_capacity(total);
    for (i, mut c) in pages.into_iter().enumerate() {
        let mut footer = Text { f, c: String::new() };
        footer.line(
            pw / 2.0,
            24.0,
            8.0,
            &format!("{} · Trang {} / {}", b.doc_title, i + 1, total),
            false,
            Align::Center,
        )?;
        c.push_str(&footer.c);
        let content = w.alloc();
        w.flate_stream(content, "", c.as_bytes());
        let page = w.alloc();
        let annots = if i + 1 == total {
            format!(" /Annots [{} 0 R]", frame.field)
        } else {
            String::new()
        };
        w.obj(
            page,
            format!(
                "<</Type /Page /Parent {} 0 R /MediaBox [0 0 {} {}] /Resources <</XObject <</QR {} 0 R>> /Font <</F1 {} 0 R>>>> /Contents {content} 0 R /Group <</S /Transparency /CS /DeviceRGB>>{annots}>>",
                frame.pages,
                num(pw),
                num(ph),
                shared.qr,
                shared.font,
            )
            .as_bytes(),
        );
        page_ids.push(page);
    }
    let when = b.issued_at.unix_timestamp_nanos().to_be_bytes();
    finish_signed(
        w,
        &frame,
        &page_ids,
        &b.doc_title,
        b.issued_at,
        &b.signature,
        &[b.doc_title.as_bytes(), &when],
    )
}

/// A thin rule across the table at `y`.
fn rule(t: &mut Text<'_>, y: f32, pw: f32) {
    use std::fmt::Write;
    let _ = writeln!(
        t.c,
        "{} {} m {} {} l S",
        num(MARGIN),
        num(y),
        num(pw - MARGIN),
        num(y)
    );
}
