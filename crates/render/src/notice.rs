//! A one-page notice the service issues under its seal (the appointment slip of a dossier): the issuing body
//! and the form's number, the national motto, a title, label–value rows, paragraphs, a QR code with its
//! caption, the place and date and the signature block; the same font, metadata and signature placeholder as
//! a copy.

use crate::compose::{finish_signed, write_shared, Align, Frame, Text, A4, MM};
use crate::font::font;
use crate::writer::{num, Writer};
use crate::{PreparedPdf, RenderError, SignatureSlot};

/// Everything a notice shows, already worded by the caller.
#[derive(Debug, Clone)]
pub struct NoticeDocument {
    /// The issuing body (upper left, capitals).
    pub issuer: String,
    /// The form's number in its regulation (upper right).
    pub form: String,
    pub title: String,
    /// Label and value; an empty label continues the row above.
    pub rows: Vec<(String, String)>,
    pub paragraphs: Vec<String>,
    /// The QR code's text and the caption printed beside it.
    pub qr: Option<(String, String)>,
    pub date_line: String,
    pub signer_title: String,
    pub signer_name: String,
    /// The PDF's title (metadata) and moment of issue.
    pub doc_title: String,
    pub issued_at: time::OffsetDateTime,
    pub signature: SignatureSlot,
}

/// Lays the notice out on one A4 page (rows that do not fit are an error: a notice is one page).
pub fn render_notice(n: &NoticeDocument) -> Result<PreparedPdf, RenderError> {
    let f = font();
    for t in [
        &n.issuer,
        &n.form,
        &n.title,
        &n.date_line,
        &n.signer_title,
        &n.signer_name,
    ]
    .into_iter()
    .chain(n.rows.iter().flat_map(|(a, b)| [a, b]))
    .chain(&n.paragraphs)
    .chain(n.qr.iter().map(|(_, caption)| caption))
    {
        f.check(t)?;
    }
    let mut w = Writer::with_capacity(f.file_z.len() + 64 * 1024 + 2 * n.signature.placeholder_size);
    let frame = Frame::alloc(&mut w);
    let qr_text = n.qr.as_ref().map(|(t, _)| t.as_str()).unwrap_or(&n.doc_title);
    let shared = write_shared(&mut w, f, qr_text)?;

    let (pw, ph) = A4;
    let left = 56.0;
    let width = pw - 2.0 * left;
    let mut t = Text {
        f,
        c: String::with_capacity(8192),
    };
    t.c.push_str("0 g 0 G\n");
    // Header: the body on the left, the motto on the right, the form's number above it.
    let top = ph - 50.0;
    let mut ly = top - 14.0;
    t.para(left + 95.0, &mut ly, 10.5, 190.0, &n.issuer, true, Align::Center)?;
    // (One line above the motto, over the same column.)
    let mut fy = top + 16.0;
    t.para(
        pw - left - 120.0,
        &mut fy,
        8.5,
        240.0,
        &n.form,
        false,
        Align::Center,
    )?;
    t.national_motto(pw - left - 120.0, top - 14.0, 10.5)?;
    let mut y = top - 58.0;
    t.para(
        pw - left - 120.0,
        &mut y,
        10.0,
        240.0,
        &n.date_line,
        false,
        Align::Center,
    )?;
    y -= 14.0;
    t.para(pw / 2.0, &mut y, 14.0, width, &n.title, true, Align::Center)?;
    y -= 8.0;

    // Rows: the label column, then the value wrapped beside it.
    let label_w = 170.0;
    let size = 10.5;
    for (label, value) in &n.rows {
        let mut ry = y;
        if !label.is_empty() {
            t.para(left, &mut ry, size, label_w - 8.0, label, false, Align::Left)?;
        }
        let mut vy = y;
        t.para(
            left + label_w,
            &mut vy,
            size,
            width - label_w,
            value,
            true,
            Align::Left,
        )?;
        y = ry.min(vy) - 2.0;
    }
    y -= 6.0;
    for p in &n.paragraphs {
        t.para(left, &mut y, 9.5, width, p, false, Align::Left)?;
        y -= 3.0;
    }

    // The QR code and its caption (left), the signature block (right), under the text.
    let big = 30.0 * MM;
    let block_top = y - 8.0;
    if let Some((_, caption)) = &n.qr {
        let qy = block_top - big;
        t.qr(&shared, left, qy, big);
        let mut cy = qy - 10.0;
        t.para(left, &mut cy, 7.5, big + 60.0, caption, false, Align::Left)?;
    }
    let bx = pw - left - 110.0;
    let mut sy = block_top - 4.0;
    t.para(bx, &mut sy, 11.0, 220.0, &n.signer_title, true, Align::Center)?;
    t.para(
        bx,
        &mut sy,
        9.5,
        220.0,
        "(Đã ký số / Digitally signed)",
        false,
        Align::Center,
    )?;
    sy -= 6.0;
    t.para(bx, &mut sy, 10.5, 220.0, &n.signer_name, true, Align::Center)?;
    if block_top - big < 40.0 {
        return Err(RenderError::Layout("the notice does not fit on one page".into()));
    }

    let content = w.alloc();
    w.flate_stream(content, "", t.c.as_bytes());
    let page = w.alloc();
    w.obj(
        page,
        format!(
            "<</Type /Page /Parent {} 0 R /MediaBox [0 0 {} {}] /Resources <</XObject <</QR {} 0 R>> /Font <</F1 {} 0 R>>>> /Contents {content} 0 R /Group <</S /Transparency /CS /DeviceRGB>> /Annots [{} 0 R]>>",
            frame.pages,
            num(pw),
            num(ph),
            shared.qr,
            shared.font,
            frame.field
        )
        .as_bytes(),
    );
    let when = n.issued_at.unix_timestamp_nanos().to_be_bytes();
    finish_signed(
        w,
        &frame,
        &[page],
        &n.doc_title,
        n.issued_at,
        &n.signature,
        &[n.doc_title.as_bytes(), qr_text.as_bytes(), &when],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> NoticeDocument {
        NoticeDocument {
            issuer: "UBND PHƯỜNG VIỆT HƯNG".into(),
            form: "Mẫu số 01".into(),
            title: "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ".into(),
            rows: vec![
                ("Mã hồ sơ".into(), "UBND-VH-261203-0001".into()),
                ("Giấy tờ nộp".into(), "1. Tờ khai đăng ký khai sinh".into()),
                (String::new(), "2. Giấy chứng sinh (bản quét, 1 trang)".into()),
            ],
            paragraphs: vec!["Ông/bà theo dõi hồ sơ bằng mã QR.".into()],
            qr: Some((
                "https://example.vn/d/UBND-VH-261203-0001?k=ABCD-EFGH".into(),
                "https://example.vn/d/UBND-VH-261203-0001".into(),
            )),
            date_line: "Hà Nội, ngày 03 tháng 12 năm 2026".into(),
            signer_title: "BỘ PHẬN MỘT CỬA".into(),
            signer_name: "UBND phường Việt Hưng".into(),
            doc_title: "Giấy tiếp nhận hồ sơ UBND-VH-261203-0001".into(),
            issued_at: time::macros::datetime!(2026-12-03 09:00 +7),
            signature: SignatureSlot {
                placeholder_size: 8192,
                name: "UBND phường Việt Hưng".into(),
                reason: "Giấy tiếp nhận hồ sơ".into(),
                location: "Hà Nội".into(),
                signing_time: time::macros::datetime!(2026-12-03 09:00 +7),
            },
        }
    }

    #[test]
    fn a_notice_is_one_page_with_a_signature_placeholder_in_its_byte_range() {
        let p = render_notice(&sample()).unwrap();
        assert_eq!(p.page_count, 1);
        assert!(p.bytes.starts_with(b"%PDF-"));
        let [a, b, c, d] = p.byte_range;
        assert_eq!(a, 0);
        assert_eq!(c + d, p.bytes.len());
        assert_eq!(b + 1, p.contents_hex.start);
        assert_eq!(p.contents_hex.end + 1, c);
    }

    #[test]
    fn text_the_font_cannot_show_is_refused_before_any_work() {
        let mut n = sample();
        n.rows.push(("Tên".into(), "王".into()));
        assert!(matches!(render_notice(&n), Err(RenderError::Glyph('王'))));
    }

    #[test]
    fn a_notice_too_long_for_one_page_is_refused() {
        let mut n = sample();
        for i in 0..80 {
            n.rows.push(("Dòng".into(), format!("giá trị {i}")));
        }
        assert!(matches!(render_notice(&n), Err(RenderError::Layout(_))));
    }
}
