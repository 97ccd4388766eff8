//! The generator: from a page's specification to the drawn page and its ground truth.
use super::*;

pub(super) const PROVINCE_BODIES: [&str; 6] = [
    "Hà Nội",
    "Hồ Chí Minh",
    "Đà Nẵng",
    "Quảng Nam",
    "Cần Thơ",
    "Hải Phòng",
];

pub(super) fn pick<'x>(rng: &mut impl Rng, list: &[&'x str]) -> &'x str {
    list[rng.gen_range(0..list.len())]
}

impl Generator {
    /// Loads the DejaVu fonts from Debian's `fonts-dejavu-core` (the fitting split's family).
    pub fn new() -> Result<Self, IntakeError> {
        Ok(Generator {
            families: vec![(Typeface::DejaVu, Fonts::load(Path::new(render::DEJAVU_DIR))?)],
        })
    }

    /// Loads every family `typefaces` names (a missing one is an error naming its Debian package).
    pub fn with_typefaces(typefaces: &[Typeface]) -> Result<Self, IntakeError> {
        let mut families = Vec::new();
        for t in typefaces {
            if families.iter().any(|(have, _)| have == t) {
                continue;
            }
            let fonts = Fonts::load_typeface(*t).map_err(|e| match e {
                IntakeError::Font { path, detail } => IntakeError::Font {
                    path,
                    detail: format!("{detail} (install Debian's {})", t.package()),
                },
                other => other,
            })?;
            families.push((*t, fonts));
        }
        Ok(Generator { families })
    }

    /// Every family a split draws with.
    pub fn for_split(split: Split) -> Result<Self, IntakeError> {
        Self::with_typefaces(split.typefaces())
    }

    pub(super) fn pen(&self, typeface: Typeface, style: Style, seed: u64) -> Result<Pen<'_>, IntakeError> {
        let fonts = self
            .families
            .iter()
            .find(|(t, _)| *t == typeface)
            .map(|(_, f)| f)
            .ok_or_else(|| IntakeError::Font {
                path: Path::new(typeface.files()[0]).to_path_buf(),
                detail: format!("typeface {} was not loaded by this generator", typeface.name()),
            })?;
        Ok(Pen {
            fonts,
            style,
            names: NameLayout::of(style, seed),
        })
    }

    /// Renders one page.
    pub fn generate(&self, spec: &PageSpec) -> Result<GeneratedPage, IntakeError> {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let pen = self.pen(spec.typeface, spec.style, spec.seed)?;
        let art22 = (spec.kind == VariantKind::Art22).then(|| art22_case(spec, &mut rng));
        let missing_seal = matches!(art22, Some(Art22Case::MissingSeal));
        let foreign = matches!(art22, Some(Art22Case::ForeignNotLegalised));
        let (mut sheet, mrz) = if foreign {
            (pen.foreign_birth_certificate(&mut rng), None)
        } else {
            pen.layout(spec.doc_type, &mut rng, !missing_seal)
        };
        let mut variant = Variant::Clean;
        let mut jpeg_quality = None;
        let mut dpi = DPI;
        match spec.kind {
            VariantKind::Clean => {}
            VariantKind::Art22 => {
                let region = match &art22 {
                    Some(Art22Case::SecrecyStamp { text }) | Some(Art22Case::NoCopyMark { text }) => {
                        Some(stamp(&mut sheet, text, &mut rng))
                    }
                    _ => None,
                };
                variant = Variant::Art22 {
                    case: art22.clone().unwrap_or(Art22Case::MissingSeal),
                    region,
                };
            }
            VariantKind::Tampered => variant = tamper(&mut sheet, spec.index, &mut rng),
            VariantKind::Marks => variant = mark(&mut sheet, spec.index, &mut rng),
            VariantKind::Degraded => {
                let (v, q) = degrade(&mut sheet, &mut rng);
                variant = v;
                jpeg_quality = Some(q);
            }
            VariantKind::Capture => {
                let (v, q, d) = capture(&mut sheet, spec.index, &mut rng);
                variant = v;
                jpeg_quality = Some(q);
                dpi = d;
            }
        }
        if matches!(variant, Variant::Marked { greyscale: true, .. }) {
            to_greyscale(&mut sheet.img);
        }
        let id = spec.id();
        let (image, encoded, ext) = match jpeg_quality {
            Some(q) => {
                let bytes = encode_jpeg(&sheet.img, q)?;
                let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg)
                    .map_err(|e| IntakeError::Encode(e.to_string()))?
                    .to_rgb8();
                (decoded, bytes, "jpg")
            }
            None => {
                let bytes = encode_png(&sheet.img)?;
                (sheet.img.clone(), bytes, "png")
            }
        };
        let field_boxes = sheet.marks.iter().map(|(k, m)| (k.clone(), m.ink)).collect();
        let truth = GroundTruth {
            image_file: format!("{id}.{ext}"),
            id,
            doc_type: spec.doc_type,
            language: if foreign { "en" } else { "vi" }.into(),
            seed: spec.seed,
            width: image.width(),
            height: image.height(),
            dpi,
            lines: sheet.lines,
            fields: sheet.fields,
            field_boxes,
            mrz,
            seal_required: spec.doc_type.seal_required(),
            seal: sheet.seal,
            qr: sheet.qr,
            variant,
        };
        Ok(GeneratedPage {
            image,
            encoded,
            truth,
        })
    }
}
