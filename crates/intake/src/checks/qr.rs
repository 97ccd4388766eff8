//! The QR code on a citizen-ID card, decoded and compared with what the card says.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Card-face QR

/// The card-face QR's fields (PRODUCT.md §4): `idNumber|oldIdNumber|fullName|ddmmyyyy|sex|address|ddmmyyyy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardQr {
    pub id_number: String,
    pub old_id_number: String,
    pub full_name: String,
    pub birth_date: String,
    pub sex: String,
    pub address: String,
    pub issue_date: String,
}

impl CardQr {
    pub fn parse(s: &str) -> Option<CardQr> {
        let p: Vec<&str> = s.split('|').collect();
        if p.len() < 7 {
            return None;
        }
        // Eight ASCII digits (a forged code's field of eight bytes may cut a character: fuzz/card_qr).
        let dmy = |d: &str| {
            (d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
                .then(|| format!("{}/{}/{}", &d[0..2], &d[2..4], &d[4..8]))
        };
        Some(CardQr {
            id_number: p[0].to_string(),
            old_id_number: p[1].to_string(),
            full_name: p[2].to_string(),
            birth_date: dmy(p[3]).unwrap_or_else(|| p[3].to_string()),
            sex: p[4].to_string(),
            address: p[5].to_string(),
            issue_date: dmy(p[6]).unwrap_or_else(|| p[6].to_string()),
        })
    }
}

/// Decodes the QR codes in a region of a greyscale page.
pub fn decode_qr(g: &image::GrayImage, region: BBox) -> Vec<(String, BBox)> {
    let Some(r) = region.intersect(&BBox::new(0, 0, g.width(), g.height())) else {
        return Vec::new();
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(r.w as usize, r.h as usize, |x, y| {
        g.get_pixel(r.x + x as u32, r.y + y as u32)[0]
    });
    img.detect_grids()
        .into_iter()
        .filter_map(|grid| {
            let b = grid.bounds;
            let xs = b.iter().map(|p| p.x.max(0) as u32);
            let ys = b.iter().map(|p| p.y.max(0) as u32);
            let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(0));
            let (y0, y1) = (ys.clone().min().unwrap_or(0), ys.max().unwrap_or(0));
            let bbox = BBox::new(r.x + x0, r.y + y0, x1 - x0, y1 - y0);
            grid.decode().ok().map(|(_, content)| (content, bbox))
        })
        .collect()
}

/// The card-face QR against the printed text (CCCD front).
pub fn card_qr(g: &image::GrayImage, ocr: &OcrPage, rec: &Recognition) -> Check {
    const NAME: &str = "qr.card_face";
    if rec.classification.doc_class != DocClass::CccdFront {
        return Check::not_applicable(NAME, "only the card face carries a QR");
    }
    // The card: the text area widened by a fifth on each side (the QR sits beside the text).
    let Some(area) = ocr.words.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)) else {
        return Check::not_applicable(NAME, "no text area");
    };
    let pad_x = area.w / 5;
    let pad_y = area.h / 5;
    let region = BBox::new(
        area.x.saturating_sub(pad_x),
        area.y.saturating_sub(pad_y),
        area.w + 2 * pad_x,
        area.h + 2 * pad_y,
    );
    let codes = decode_qr(g, region);
    let Some((content, qbox)) = codes.into_iter().find(|(c, _)| c.contains('|')) else {
        return Check::new(
            NAME,
            Outcome::Warn,
            "no readable QR on the card face (cards issued before 2021 have none; or it is damaged)",
            json!({"searched": region}),
        );
    };
    let Some(q) = CardQr::parse(&content) else {
        return Check::new(
            NAME,
            Outcome::Fail,
            "the card's QR does not hold the card format",
            json!({"content": content}),
        )
        .with_regions(vec![qbox]);
    };
    let mut diffs = Vec::new();
    let mut compared = Vec::new();
    let mut cmp = |field: &str, qv: &str, same: &dyn Fn(&str, &str) -> bool| {
        if let Some(f) = rec.fields.get(field) {
            compared.push(field.to_string());
            if !same(&f.value, qv) {
                diffs.push(json!({"field": field, "printed": f.value, "qr": qv}));
            }
        }
    };
    cmp("id_number", &q.id_number, &|a, b| a == b);
    cmp("holder_name", &q.full_name, &|a, b| {
        exact_form(a) == exact_form(b) || fold(a) == fold(b)
    });
    cmp("birth_date", &q.birth_date, &|a, b| a == b);
    cmp("sex", &q.sex, &|a, b| fold(a) == fold(b));
    let ev = json!({"qr": q, "compared": compared, "differences": diffs});
    if diffs.is_empty() {
        Check::new(
            NAME,
            Outcome::Pass,
            format!("the QR agrees with the printed {}", compared.join(", ")),
            ev,
        )
        .with_regions(vec![qbox])
    } else {
        Check::new(
            NAME,
            Outcome::Fail,
            format!(
                "the QR disagrees with the printed text on {} field(s)",
                diffs.len()
            ),
            ev,
        )
        .with_regions(vec![qbox])
    }
}

#[cfg(test)]
mod tests {
    use super::CardQr;

    #[test]
    fn dates_are_eight_ascii_digits_and_anything_else_is_kept_as_read() {
        let qr = CardQr::parse("001099012345|012345678|Đỗ Thị Hằng|01011990|Nữ|Hà Nội|01072021").unwrap();
        assert_eq!(
            (qr.birth_date.as_str(), qr.issue_date.as_str()),
            ("01/01/1990", "01/07/2021")
        );
        // Eight bytes that are not eight digits, one of them inside a character (found by fuzz/card_qr).
        let odd = CardQr::parse("001099012345||Tên|0\u{110}12345|Nam|x|ab\u{20ac}cde").unwrap();
        assert_eq!(
            (odd.birth_date.as_str(), odd.issue_date.as_str()),
            ("0Đ12345", "ab€cde")
        );
    }
}
