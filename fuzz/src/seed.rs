//! Writes the seed corpora under `corpus/<target>/` from the same test kits the workspace's tests use: a
//! test card's files and PKI, a signed PDF and its root, the render and face fixtures, the payment vectors.
//! Every seed passes its parser's checks, so the fuzzer mutates from the accepted path.

use banso_fuzz::frame;
use banso_identity::emrtd::testkit::TestCardParams;
use banso_identity::emrtd::VirtualCard;
use std::path::{Path, PathBuf};

type Error = Box<dyn std::error::Error>;

struct Corpora(PathBuf);

impl Corpora {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Corpora(
        std::env::args()
            .nth(1)
            .map_or_else(|| here.join("corpus"), PathBuf::from),
    );
    let repo = here.parent().ok_or("the fuzz crate lives in the repository")?;

    // The chip: every file of a test card, its MRZ, its PKI.
    let params = TestCardParams {
        pace: true,
        chip_authentication: true,
        active_authentication: true,
        ..TestCardParams::default()
    };
    let (card, pki) = VirtualCard::issue_test_card(params)?;
    out.put("mrz", "td1", pki.mrz_text.as_bytes())?;
    out.put(
        "mrz",
        "td3",
        b"P<VNMNGUYEN<<VAN<AN<<<<<<<<<<<<<<<<<<<<<<<<<\nC12345678<VNM9001011M3012315<<<<<<<<<<<<<<02",
    )?;
    let files = &card.config().files;
    let file = |id: u16| {
        files
            .get(&id)
            .cloned()
            .ok_or(format!("the test card has no file {id:04x}"))
    };
    for (kind, id) in [
        (1u8, 0x011e),
        (2, 0x0101),
        (3, 0x0101),
        (4, 0x0102),
        (5, 0x010d),
        (7, 0x010e),
        (8, 0x010f),
    ] {
        let mut seed = vec![kind];
        seed.extend(file(id)?);
        out.put("lds", &format!("{kind}-{id:04x}"), &seed)?;
    }
    if let Some(access) = files.get(&0x011c) {
        out.put("lds", "6-cardaccess", &[&[6u8][..], access].concat())?;
    }
    let sod = file(0x011d)?;
    out.put("lds", "0-sod", &[&[0u8][..], &sod].concat())?;
    out.put("sod", "card", &frame(&[&pki.csca_der, &file(0x0101)?, &sod]))?;
    out.put("x509", "csca", &[&[0u8][..], &pki.csca_der].concat())?;
    out.put("x509", "ds", &[&[0u8][..], &pki.ds_der].concat())?;
    out.put(
        "card_qr",
        "card",
        "001099012345|012345678|Đỗ Thị Hằng|01011990|Nữ|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|01072021"
            .as_bytes(),
    )?;

    // A signed PDF, its root, the seal's chain, a CRL.
    let now = time::OffsetDateTime::now_utc();
    let dev = banso_signing::pki::DevPki::generate(&banso_signing::testkit::test_names(), now)?;
    let seal = dev.seal_signer()?;
    let mut prepared = banso_signing::testkit::prepared_pdf(0, false);
    banso_signing::pades::sign_prepared(
        &mut prepared.pdf,
        prepared.byte_range,
        prepared.contents_hex,
        &seal,
    )?;
    let root = dev.root_cert_der()?;
    out.put("pdf_verify", "signed", &frame(&[&root, &prepared.pdf]))?;
    out.put("x509", "seal", &[&[0u8][..], &dev.seal_cert_der()?].concat())?;
    out.put("x509", "root", &[&[0u8][..], &root].concat())?;
    out.put(
        "x509",
        "pem",
        &[&[5u8][..], dev.seal_chain_pem().as_bytes()].concat(),
    )?;
    let crl = banso_signing::crl::build_crl(&seal, now, now + time::Duration::days(7), 1, &[])?;
    out.put("x509", "crl", &[&[1u8][..], &crl].concat())?;

    // Pages and frames: the render and face fixtures, a PNG from the intake's corpus encoder.
    for name in [
        "scan_rgb_100dpi.jpg",
        "gray_200dpi.jpg",
        "cmyk.jpg",
        "progressive_150dpi.jpg",
    ] {
        let bytes = std::fs::read(repo.join("crates/render/tests/fixtures").join(name))?;
        out.put("page", name, &bytes)?;
    }
    let face = std::fs::read(repo.join("crates/face/tests/fixtures/astronaut.jpg"))?;
    let small = image_png()?;
    out.put("page", "small.png", &small)?;
    out.put("page", "astronaut.jpg", &face)?;
    out.put(
        "page",
        "dg2-face.jpg",
        &banso_identity::emrtd::testkit::synthetic_face_jpeg(120, 160)?,
    )?;

    // Requests for a copy, both ways.
    let mut multipart = b"multipart/form-data; boundary=XyZ\n".to_vec();
    for (k, v) in [
        ("holder_id", "001099012345"),
        ("holder_name", "Đỗ Thị Hằng"),
        ("document_type", "Giấy khai sinh"),
    ] {
        multipart.extend(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").into_bytes(),
        );
    }
    multipart.extend(b"--XyZ\r\nContent-Disposition: form-data; name=\"page\"; filename=\"p.png\"\r\n\r\n");
    multipart.extend(&small);
    multipart.extend(b"\r\n--XyZ--\r\n");
    out.put("issue_request", "multipart", &multipart)?;
    out.put(
        "issue_request",
        "json",
        br#"application/json
{"holder_id":"001099012345","holder_name":"Nguyen Van An","document_type":"CCCD","copies":2,"pages":["iVBORw0KGgo="]}"#,
    )?;

    // Payment: the VietQR vector of PRODUCT.md and the gateway's IPN vectors.
    out.put(
        "payment",
        "vietqr",
        b"\x0000020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN62170813ung ho lu lut6304C15C",
    )?;
    let vectors = std::fs::read_to_string(repo.join("crates/core/tests/data/vnpay_vectors.json"))?;
    for (i, query) in vectors.split("\"query\": \"").skip(1).enumerate() {
        let query = query.split('"').next().unwrap_or_default();
        out.put(
            "payment",
            &format!("ipn-{i}"),
            &[b"\x01", query.as_bytes()].concat(),
        )?;
    }
    // Forwarding headers: what a client may write ahead of its proxy's entry (RFC 7239 §4 and §6 forms).
    for (i, written) in [
        b"\x00203.0.113.9, 10.9.9.9".as_slice(),
        b"\x01for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\"",
        b"\x02for=unknown;proto=http;by=_hidden, for=\"192.0.2.43:_p1\"",
        b"\x01for=6.6.6.6;y=\", host=\"a\\\"b\"",
    ]
    .into_iter()
    .enumerate()
    {
        out.put("forwarded", &format!("{i}"), written)?;
    }
    println!("seed corpora written under {}", out.0.display());
    Ok(())
}

/// A small page as a PNG.
fn image_png() -> Result<Vec<u8>, Error> {
    let img = image_rgb(64, 48);
    Ok(banso_intake::corpus::encode_png(&img)?)
}

fn image_rgb(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = u8::try_from((x * 3 + y * 5) % 256).unwrap_or(0);
        [v, 255 - v, 128].into()
    })
}
