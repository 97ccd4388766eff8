//! The sheet a page is drawn on: text, boxes, field marks and the truth recorded while drawing.
use super::*;

/// A field's value as drawn: its ink box and character cells.
#[derive(Debug, Clone)]
pub(super) struct FieldMark {
    pub(super) value: String,
    pub(super) ink: BBox,
    pub(super) cells: Vec<(char, BBox)>,
    pub(super) line: usize,
    pub(super) face: Face,
    pub(super) size: f32,
}

/// A page being laid out.
pub(super) struct Sheet<'a> {
    pub(super) fonts: &'a Fonts,
    pub(super) img: RgbImage,
    pub(super) paper: [u8; 3],
    pub(super) lines: Vec<TruthLine>,
    pub(super) marks: BTreeMap<String, FieldMark>,
    pub(super) fields: Fields,
    pub(super) left: f32,
    pub(super) right: f32,
    pub(super) y: f32,
    pub(super) body: f32,
    pub(super) seal: Option<BBox>,
    /// The card-face QR: its content and box.
    pub(super) qr: Option<(String, BBox)>,
    /// Where the signature block starts (the place-and-date line), once drawn.
    pub(super) sign_top: Option<f32>,
}

pub(super) const INK: [u8; 3] = [20, 20, 24];

impl<'a> Sheet<'a> {
    pub(super) fn new(fonts: &'a Fonts, paper: [u8; 3]) -> Self {
        Sheet {
            fonts,
            img: RgbImage::from_pixel(PAGE_W, PAGE_H, Rgb(paper)),
            paper,
            lines: Vec::new(),
            marks: BTreeMap::new(),
            fields: Fields::default(),
            left: 230.0,
            right: (PAGE_W - 230) as f32,
            y: 280.0,
            body: 46.0,
            seal: None,
            qr: None,
            sign_top: None,
        }
    }

    /// Shrinks `size` until `text` fits in `room` px.
    pub(super) fn fit(&self, face: Face, size: f32, text: &str, room: f32) -> f32 {
        let w = self.fonts.width(face, size, text);
        if w <= room {
            size
        } else {
            size * room / w * 0.98
        }
    }

    pub(super) fn put(&mut self, x: f32, text: &str, face: Face, size: f32, color: [u8; 3]) -> render::Drawn {
        let d = draw_text(&mut self.img, self.fonts, face, size, x, self.y, text, color);
        self.lines.push(TruthLine {
            text: text.to_string(),
            bbox: d.ink,
        });
        d
    }

    pub(super) fn advance(&mut self, size: f32) {
        self.y += size * 1.55;
    }

    pub(super) fn center_at(&mut self, cx: f32, text: &str, face: Face, size: f32) {
        let size = self.fit(face, size, text, self.right - self.left);
        let w = self.fonts.width(face, size, text);
        self.put(cx - w / 2.0, text, face, size, INK);
        self.advance(size);
    }

    pub(super) fn center(&mut self, text: &str, face: Face, size: f32) {
        self.center_at((self.left + self.right) / 2.0, text, face, size);
    }

    pub(super) fn text(&mut self, text: &str) {
        let size = self.fit(Face::Sans, self.body, text, self.right - self.left);
        self.put(self.left, text, Face::Sans, size, INK);
        self.advance(self.body);
    }

    pub(super) fn bold(&mut self, text: &str) {
        let size = self.fit(Face::SansBold, self.body, text, self.right - self.left);
        self.put(self.left, text, Face::SansBold, size, INK);
        self.advance(self.body);
    }

    /// "Label: value" on one line; records the value as field `field` when given.
    pub(super) fn field(&mut self, label: &str, value: &str, field: Option<&str>) {
        self.field_face(label, value, field, Face::Sans);
    }

    pub(super) fn field_face(&mut self, label: &str, value: &str, field: Option<&str>, value_face: Face) {
        let line = format!("{label} {value}");
        let size = self.fit(Face::Sans, self.body, &line, self.right - self.left);
        let d = draw_text(
            &mut self.img,
            self.fonts,
            Face::Sans,
            size,
            self.left,
            self.y,
            label,
            INK,
        );
        let x = self.left + self.fonts.width(Face::Sans, size, &format!("{label} "));
        let v = draw_text(&mut self.img, self.fonts, value_face, size, x, self.y, value, INK);
        self.lines.push(TruthLine {
            text: line,
            bbox: d.ink.union(&v.ink),
        });
        if let Some(f) = field {
            self.mark(f, value, v, value_face, size);
        }
        self.advance(self.body);
    }

    /// A label alone on its line and the value indented on the line below.
    pub(super) fn field_below(&mut self, label: &str, value: &str, field: Option<&str>) {
        self.text(label);
        let x = self.left + self.body * 2.0;
        let size = self.fit(Face::Sans, self.body, value, self.right - x);
        let v = self.put(x, value, Face::Sans, size, INK);
        if let Some(f) = field {
            self.mark(f, value, v, Face::Sans, size);
        }
        self.advance(self.body);
    }

    pub(super) fn mark(&mut self, field: &str, value: &str, d: render::Drawn, face: Face, size: f32) {
        self.fields.set(field, value.to_string());
        self.marks.insert(
            field.to_string(),
            FieldMark {
                value: value.to_string(),
                ink: d.ink,
                cells: d.cells,
                line: self.lines.len() - 1,
                face,
                size,
            },
        );
    }

    pub(super) fn gap(&mut self, px: f32) {
        self.y += px;
    }

    /// The national heading every administrative document opens with.
    pub(super) fn national_heading(&mut self) {
        self.center("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", Face::SansBold, 50.0);
        self.center("Độc lập - Tự do - Hạnh phúc", Face::SansBold, 48.0);
        let cx = (self.left + self.right) / 2.0;
        let underline = BBox::new((cx - 330.0) as u32, (self.y - 18.0) as u32, 660, 3);
        render::fill_rect(&mut self.img, underline, INK);
        self.gap(30.0);
    }

    /// Place and date, title(s), signature space with signature and seal, signer's name: the right-hand block.
    pub(super) fn signature_block(
        &mut self,
        place_date: &str,
        titles: &[&str],
        signer: &str,
        seal_text: Option<&str>,
        rng: &mut impl Rng,
    ) {
        let cx = self.right - 560.0;
        self.sign_top.get_or_insert(self.y);
        self.gap(20.0);
        let size = self.body;
        let w = self.fonts.width(Face::Sans, size, place_date);
        let x = (self.right - w).min(cx - w / 2.0).max(self.left);
        self.put(x, place_date, Face::Sans, size, INK);
        self.advance(size);
        for t in titles {
            self.center_at(cx, t, Face::SansBold, size);
        }
        let space = 390.0;
        let top = self.y;
        signature(
            &mut self.img,
            cx - 180.0,
            top + 110.0,
            360.0,
            150.0,
            rng.gen_range(0.0..6.0),
        );
        if let Some(text) = seal_text {
            let r = 172.0;
            let b = seal(
                &mut self.img,
                self.fonts,
                cx - 150.0,
                top + space / 2.0,
                r,
                text,
                SEAL_RED,
            );
            self.seal = Some(b);
        }
        self.y = top + space;
        self.center_at(cx, signer, Face::SansBold, size);
    }
}
