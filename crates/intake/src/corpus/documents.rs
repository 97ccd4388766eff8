//! Documents of more than one page, and papers the page corpus does not make: the cases where a page judged
//! alone is judged wrong.
//!
//! - [`DocumentKind::TwoPage`]: a birth or marriage certificate on two pages, the signature and the seal on
//!   the last (as real papers run on), scanned in colour or in greyscale (the seal is then no longer red).
//! - [`DocumentKind::Individual`]: a paper drawn up by a person (an application, a commitment, a contract, a
//!   power of attorney) with no seal and no certification: Art. 22(6), refused.
//! - [`DocumentKind::CertifiedIndividual`]: the same paper certified by a ward's People's Committee (its
//!   wording and seal below the person's signature): not refused; an officer looks (the intake reads no
//!   fields from it).
//! - [`DocumentKind::Legalised`]: a foreign birth certificate followed by a consular legalisation page of its
//!   own: not refused as foreign.
//! - [`DocumentKind::OtherOfficial`]: an official paper of a type the intake does not read (a marital-status
//!   confirmation, sealed): an officer, never a refusal, never issued automatically.
//!
//! Every document is one request of its pages, with what the intake should decide.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::people::{self, Date, Person, Sex};
use super::render::Face;
use super::{
    encode_png, pick, splitmix, to_greyscale, DocType, Fields, GeneratedPage, Generator, GroundTruth, Pen,
    Sheet, Split, Style, TruthLine, Typeface, Variant, DPI, PAGE_H, PAGE_W, PROVINCE_BODIES,
};
use crate::checks::Ground;
use crate::error::IntakeError;
use crate::geometry::BBox;

/// What kind of document to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    TwoPage,
    Individual,
    CertifiedIndividual,
    Legalised,
    OtherOfficial,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 5] = [
        DocumentKind::TwoPage,
        DocumentKind::Individual,
        DocumentKind::CertifiedIndividual,
        DocumentKind::Legalised,
        DocumentKind::OtherOfficial,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            DocumentKind::TwoPage => "two_page",
            DocumentKind::Individual => "individual",
            DocumentKind::CertifiedIndividual => "certified_individual",
            DocumentKind::Legalised => "legalised",
            DocumentKind::OtherOfficial => "other_official",
        }
    }
}

/// What the intake should decide on a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "expect", rename_all = "snake_case")]
pub enum Expected {
    /// A legitimate paper of a known type: issued, or at worst sent to an officer; never refused.
    Legitimate,
    /// Refused on this ground without an officer.
    Refused { ground: Ground },
    /// An officer decides: never refused, never issued automatically.
    Officer,
}

/// What to generate for one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSpec {
    pub kind: DocumentKind,
    pub index: u32,
    pub seed: u64,
    pub typeface: Typeface,
    pub style: Style,
}

impl DocumentSpec {
    pub fn id(&self) -> String {
        format!("doc-{}-{:03}", self.kind.name(), self.index)
    }
}

/// The documents of a document corpus on the fitting split: `per_kind` of every kind, each with its own derived
/// seed (apart from the page corpus's seeds).
pub fn document_specs(seed: u64, per_kind: u32) -> Vec<DocumentSpec> {
    split_document_specs(seed, per_kind, Split::Fitting)
}

/// [`document_specs`] drawn from `split`'s typefaces and styles.
pub fn split_document_specs(seed: u64, per_kind: u32, split: Split) -> Vec<DocumentSpec> {
    let mut out = Vec::new();
    for (ki, kind) in DocumentKind::ALL.iter().enumerate() {
        for index in 0..per_kind {
            let seed = splitmix(seed ^ splitmix(0xD0C0_0000_0000 | ((ki as u64) << 32) | u64::from(index)));
            let (typeface, style) = split.settings(seed);
            out.push(DocumentSpec {
                kind: *kind,
                index,
                seed,
                typeface,
                style,
            });
        }
    }
    out
}

/// Ground truth of a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentTruth {
    pub id: String,
    pub kind: DocumentKind,
    /// The type the intake reads fields for, if it is one.
    pub doc_type: Option<DocType>,
    /// The holder's fields as issued (the verified identity a kiosk would hold).
    pub fields: Fields,
    /// Scanned in greyscale.
    pub greyscale: bool,
    /// The page with the seal, if there is one.
    pub seal_page: Option<usize>,
    pub expected: Expected,
}

/// One generated document: its pages, in order.
#[derive(Debug, Clone)]
pub struct GeneratedDocument {
    pub pages: Vec<GeneratedPage>,
    pub truth: DocumentTruth,
}

impl Generator {
    /// Renders one document.
    pub fn generate_document(&self, spec: &DocumentSpec) -> Result<GeneratedDocument, IntakeError> {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        let pen = self.pen(spec.typeface, spec.style, spec.seed)?;
        let id = spec.id();
        let (sheets, doc_type, fields, greyscale, expected) = match spec.kind {
            DocumentKind::TwoPage => {
                let t = [DocType::BirthCertificate, DocType::MarriageCertificate][spec.index as usize % 2];
                let greyscale = (spec.index / 2) % 2 == 1;
                let (sheet, _) = pen.layout(t, &mut rng, true);
                let fields = sheet.fields.clone();
                (
                    split_at_signature(sheet),
                    Some(t),
                    fields,
                    greyscale,
                    Expected::Legitimate,
                )
            }
            DocumentKind::Individual | DocumentKind::CertifiedIndividual => {
                let certified = spec.kind == DocumentKind::CertifiedIndividual;
                let (sheet, fields) = pen.individual_paper(&mut rng, spec.index, certified);
                let expected = if certified {
                    Expected::Officer
                } else {
                    Expected::Refused {
                        ground: Ground::NoSeal,
                    }
                };
                (vec![page_of(sheet)], None, fields, false, expected)
            }
            DocumentKind::Legalised => {
                let sheet = pen.foreign_birth_certificate(&mut rng);
                let fields = sheet.fields.clone();
                let legal = pen.legalisation_page(&mut rng);
                (
                    vec![page_of(sheet), page_of(legal)],
                    Some(DocType::BirthCertificate),
                    fields,
                    spec.index % 2 == 1,
                    Expected::Legitimate,
                )
            }
            DocumentKind::OtherOfficial => {
                let sheet = pen.marital_status_confirmation(&mut rng);
                let fields = sheet.fields.clone();
                (
                    vec![page_of(sheet)],
                    None,
                    fields,
                    spec.index % 2 == 1,
                    Expected::Officer,
                )
            }
        };
        let n = sheets.len();
        let seal_page = sheets.iter().position(|s| s.seal.is_some());
        let mut pages = Vec::with_capacity(n);
        for (i, mut s) in sheets.into_iter().enumerate() {
            if greyscale {
                to_greyscale(&mut s.img);
            }
            let encoded = encode_png(&s.img)?;
            let page_id = format!("{id}-p{}", i + 1);
            let truth = GroundTruth {
                image_file: format!("{page_id}.png"),
                id: page_id,
                doc_type: doc_type.unwrap_or(DocType::BirthCertificate),
                language: if spec.kind == DocumentKind::Legalised && i == 0 {
                    "en"
                } else {
                    "vi"
                }
                .into(),
                seed: spec.seed,
                width: s.img.width(),
                height: s.img.height(),
                dpi: DPI,
                lines: s.lines,
                fields: if i == 0 { fields.clone() } else { Fields::default() },
                field_boxes: s.field_boxes,
                mrz: None,
                seal_required: doc_type.is_some_and(|t| t.seal_required()),
                seal: s.seal,
                qr: None,
                variant: Variant::Clean,
            };
            pages.push(GeneratedPage {
                image: s.img,
                encoded,
                truth,
            });
        }
        Ok(GeneratedDocument {
            pages,
            truth: DocumentTruth {
                id,
                kind: spec.kind,
                doc_type,
                fields,
                greyscale,
                seal_page,
                expected,
            },
        })
    }
}

impl<'f> Pen<'f> {
    /// A paper drawn up by a person, addressed to the ward; `certified`: with the ward's certification and
    /// seal below the person's signature.
    fn individual_paper(&self, rng: &mut ChaCha8Rng, index: u32, certified: bool) -> (Sheet<'f>, Fields) {
        let p = Person::random(rng, None, 1950, 2000);
        let ward = pick(rng, &people::WARDS);
        let today = Date::random(rng, 2022, 2026);
        let (title, subject, body): (&str, Option<&str>, &[&str]) = match index % 4 {
            0 => (
                "ĐƠN ĐỀ NGHỊ",
                Some("V/v xác nhận nơi cư trú"),
                &[
                    "Tôi làm đơn này đề nghị Ủy ban nhân dân phường xác nhận tôi hiện đang cư trú tại địa chỉ",
                    "nêu trên từ năm 2015 đến nay, để bổ sung hồ sơ vay vốn tại ngân hàng.",
                    "Tôi xin cam đoan những nội dung trên là đúng sự thật và chịu trách nhiệm trước pháp luật.",
                ],
            ),
            1 => (
                "GIẤY CAM KẾT",
                None,
                &[
                    "Tôi cam kết nộp đầy đủ bản chính các giấy tờ còn thiếu trong hồ sơ trước ngày hẹn trả kết",
                    "quả; nếu không nộp đúng hạn, tôi xin chịu mọi trách nhiệm theo quy định.",
                    "Giấy cam kết này được lập thành hai bản, mỗi bên giữ một bản.",
                ],
            ),
            2 => (
                "HỢP ĐỒNG MUA BÁN XE",
                None,
                &[
                    "Bên bán đồng ý bán cho bên mua một xe mô tô hai bánh, giá bán do hai bên thỏa thuận,",
                    "bên mua đã trả đủ tiền và nhận xe cùng giấy chứng nhận đăng ký xe vào ngày ký hợp đồng.",
                    "Hai bên cam kết thực hiện đúng các điều khoản đã thỏa thuận trong hợp đồng này.",
                ],
            ),
            _ => (
                "GIẤY ỦY QUYỀN",
                None,
                &[
                    "Tôi ủy quyền cho ông (bà) có tên dưới đây thay mặt tôi nộp hồ sơ và nhận kết quả giải quyết",
                    "thủ tục hành chính tại Bộ phận một cửa của Ủy ban nhân dân phường.",
                    "Thời hạn ủy quyền: từ ngày ký đến khi nhận được kết quả.",
                ],
            ),
        };
        let mut s = self.sheet([255, 255, 255]);
        s.national_heading();
        s.gap(20.0);
        s.center(title, Face::SansBold, 64.0);
        if let Some(subject) = subject {
            s.center(subject, Face::Sans, 44.0);
        }
        s.gap(20.0);
        s.text(&format!("Kính gửi: Ủy ban nhân dân phường {ward}"));
        s.gap(10.0);
        s.field("Tôi tên là:", &p.full_name_upper(), Some("holder_name"));
        s.field("Ngày sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.field("Nơi cư trú:", &p.address, None);
        s.gap(10.0);
        for line in body {
            s.text(line);
        }
        let fields = s.fields.clone();
        let person_title = if index.is_multiple_of(4) {
            "NGƯỜI LÀM ĐƠN"
        } else {
            "NGƯỜI CAM KẾT"
        };
        s.signature_block(
            &format!("Phường {ward}, {}", today.words()),
            &[person_title],
            &p.full_name(),
            None,
            rng,
        );
        if certified {
            s.gap(30.0);
            s.center(
                &format!("XÁC NHẬN CỦA ỦY BAN NHÂN DÂN PHƯỜNG {}", ward.to_uppercase()),
                Face::SansBold,
                46.0,
            );
            s.text(&format!(
                "Xác nhận ông (bà) {} cư trú tại địa chỉ nêu trên.",
                p.full_name()
            ));
            let signer = Person::random(rng, None, 1965, 1985).full_name();
            let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
            s.signature_block(
                &format!("Phường {ward}, {}", today.words()),
                &["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
                &signer,
                Some(seal_text.as_str()),
                rng,
            );
        }
        (s, fields)
    }

    /// A consular legalisation page of its own (Ministry of Foreign Affairs, Consular Department).
    fn legalisation_page(&self, rng: &mut ChaCha8Rng) -> Sheet<'f> {
        let mut s = self.sheet([255, 255, 255]);
        s.center("BỘ NGOẠI GIAO", Face::SansBold, 46.0);
        s.center("CỤC LÃNH SỰ", Face::SansBold, 46.0);
        s.gap(40.0);
        s.center("HỢP PHÁP HÓA LÃNH SỰ", Face::SansBold, 64.0);
        s.center("CONSULAR LEGALIZATION", Face::SansBold, 48.0);
        s.gap(30.0);
        s.text("Cục Lãnh sự, Bộ Ngoại giao nước Cộng hòa xã hội chủ nghĩa Việt Nam chứng nhận chữ ký và");
        s.text("con dấu trên giấy tờ đính kèm là của cơ quan đăng ký hộ tịch nước ngoài có thẩm quyền.");
        s.text("Việc hợp pháp hóa lãnh sự không bao hàm việc chứng nhận nội dung giấy tờ.");
        let when = Date::random(rng, 2021, 2026);
        s.field("Số:", &format!("{}/HPH-LS", rng.gen_range(100..9999)), None);
        s.field("Ngày:", &when.dmy(), None);
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        s.signature_block(
            &format!("Hà Nội, {}", when.words()),
            &["TL. CỤC TRƯỞNG"],
            &signer,
            Some("CỤC LÃNH SỰ * BỘ NGOẠI GIAO *"),
            rng,
        );
        s
    }

    /// A marital-status confirmation: an official paper the intake recognises by title but reads no fields
    /// from.
    fn marital_status_confirmation(&self, rng: &mut ChaCha8Rng) -> Sheet<'f> {
        let p = Person::random(rng, None, 1975, 2003);
        let ward = pick(rng, &people::WARDS);
        let prov = pick(rng, &PROVINCE_BODIES);
        let when = Date::random(rng, 2022, 2026);
        let mut s = self.sheet([255, 255, 255]);
        self.ward_header(&mut s, ward, prov);
        s.field("Số:", &format!("{}/UBND-XNHN", rng.gen_range(1..500)), None);
        s.gap(10.0);
        s.center("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", Face::SansBold, 60.0);
        s.gap(20.0);
        self.person(
            &mut s,
            "Họ, chữ đệm, tên:",
            &p.full_name_upper(),
            p.sex,
            true,
            Some("holder_name"),
        );
        s.field("Ngày, tháng, năm sinh:", &p.birth.dmy(), Some("birth_date"));
        s.field("Giới tính:", p.sex.vi(), Some("sex"));
        s.field("Số định danh cá nhân:", &p.id_number, Some("id_number"));
        s.field("Nơi cư trú:", &p.address, None);
        s.field(
            "Tình trạng hôn nhân:",
            if p.sex == Sex::Male {
                "Chưa đăng ký kết hôn với ai."
            } else {
                "Hiện tại chưa đăng ký kết hôn với ai."
            },
            None,
        );
        s.field("Mục đích sử dụng:", "Để làm thủ tục đăng ký kết hôn.", None);
        let signer = Person::random(rng, None, 1965, 1985).full_name();
        let seal_text = format!("ỦY BAN NHÂN DÂN * PHƯỜNG {} *", ward.to_uppercase());
        s.signature_block(
            &format!("Phường {ward}, {}", when.words()),
            &["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
            &signer,
            Some(seal_text.as_str()),
            rng,
        );
        s
    }
}

/// A rendered page of a document before encoding.
struct PageSheet {
    img: image::RgbImage,
    lines: Vec<TruthLine>,
    field_boxes: std::collections::BTreeMap<String, BBox>,
    seal: Option<BBox>,
}

fn page_of(s: Sheet<'_>) -> PageSheet {
    PageSheet {
        field_boxes: s.marks.iter().map(|(k, m)| (k.clone(), m.ink)).collect(),
        img: s.img,
        lines: s.lines,
        seal: s.seal,
    }
}

/// Moves everything from the signature block down onto a second page under a short continuation note, as a
/// paper that runs on does: page 1 keeps the title and the fields, page 2 the place and date, the signer, the
/// signature and the seal.
fn split_at_signature(s: Sheet<'_>) -> Vec<PageSheet> {
    let top = s.sign_top.unwrap_or(PAGE_H as f32 * 0.7).max(0.0) as u32;
    let paper = s.paper;
    let field_boxes = s.marks.iter().map(|(k, m)| (k.clone(), m.ink)).collect();
    let mut first = s.img.clone();
    super::render::fill_rect(&mut first, BBox::new(0, top, PAGE_W, PAGE_H - top), paper);
    // Page 2: a note without a title, then the moved block.
    let mut second = Sheet::new(s.fonts, paper);
    (second.left, second.right, second.body) = (s.left, s.right, s.body);
    second.text("Trang 2/2 (tiếp theo trang 1)");
    second.text(
        "Ghi chú: các thông tin trên được ghi theo Sổ đăng ký hộ tịch; mọi sửa chữa đều không có giá trị.",
    );
    second.gap(20.0);
    let dest = second.y as u32;
    let height = PAGE_H - top;
    let room = PAGE_H - dest;
    let moved = height.min(room);
    let block = image::imageops::crop_imm(&s.img, 0, top, PAGE_W, moved).to_image();
    image::imageops::replace(&mut second.img, &block, 0, i64::from(dest));
    let shift = |b: BBox| BBox::new(b.x, b.y - top + dest, b.w, b.h);
    let (mut lines1, mut lines2) = (Vec::new(), Vec::new());
    for l in s.lines {
        if l.bbox.y >= top {
            if l.bbox.y - top + l.bbox.h <= moved {
                lines2.push(TruthLine {
                    text: l.text,
                    bbox: shift(l.bbox),
                });
            }
        } else {
            lines1.push(l);
        }
    }
    let mut page2_lines = second.lines.clone();
    page2_lines.extend(lines2);
    vec![
        PageSheet {
            img: first,
            lines: lines1,
            field_boxes,
            seal: None,
        },
        PageSheet {
            img: second.img,
            lines: page2_lines,
            field_boxes: Default::default(),
            seal: s.seal.map(shift),
        },
    ]
}
