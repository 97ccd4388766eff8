//! Shared helpers for the render tests: synthetic PNGs, a sample document, the external tools.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use banso_render::{Certification, CopyDocument, SignatureSlot};

pub const URL: &str = "https://banso.example.vn/v/7Q2K-9M4X-ABCD-EFGH-JKMN#k=Zm9vYmFyYmF6cXV4";
pub const CODE: &str = "7Q2K-9M4X-ABCD-EFGH-JKMN";

pub fn fixture(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(ty);
    out.extend_from_slice(data);
    let mut h = crc32fast::Hasher::new();
    h.update(ty);
    h.update(data);
    out.extend_from_slice(&h.finalize().to_be_bytes());
}

/// A PNG built by hand: `rows` are the raw (unfiltered) scanlines; filter type 0 or 1 per row alternately.
pub fn png_raw(
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    dpi: Option<f32>,
    extra: &[(&[u8; 4], Vec<u8>)],
    row: impl Fn(u32) -> Vec<u8>,
) -> Vec<u8> {
    let mut out = vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if let Some(d) = dpi {
        let ppm = (d / 0.0254).round() as u32;
        let mut p = Vec::new();
        p.extend_from_slice(&ppm.to_be_bytes());
        p.extend_from_slice(&ppm.to_be_bytes());
        p.push(1);
        chunk(&mut out, b"pHYs", &p);
    }
    for (ty, data) in extra {
        chunk(&mut out, ty, data);
    }
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0);
        raw.extend_from_slice(&row(y));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let z = z.finish().unwrap();
    // Two IDAT chunks, to exercise concatenation.
    let half = z.len() / 2;
    chunk(&mut out, b"IDAT", &z[..half]);
    chunk(&mut out, b"IDAT", &z[half..]);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An 8-bit RGB PNG with a visible pattern.
pub fn png_rgb(width: u32, height: u32, dpi: Option<f32>) -> Vec<u8> {
    png_raw(width, height, 8, 2, dpi, &[], |y| {
        (0..width)
            .flat_map(|x| [(x * 255 / width) as u8, (y * 255 / height) as u8, 160])
            .collect()
    })
}

pub fn certification() -> Certification {
    Certification {
        statement: "Chứng thực bản sao đúng với bản chính.".into(),
        number_line: "Số chứng thực: 15/2026, Quyển số: 01/2026-SCT/BS".into(),
        date_line: "Ngày 21 tháng 11 năm 2026".into(),
        issuing_body: "UBND phường Việt Hưng, thành phố Hà Nội".into(),
        place: "Hà Nội".into(),
        signer_name: "Nguyễn Thị Hằng".into(),
        signer_title: "KT. CHỦ TỊCH — PHÓ CHỦ TỊCH".into(),
        document_type: "Giấy khai sinh".into(),
        holder_name: "Trần Văn Đức".into(),
        original_pages: 2,
        fee_line: "Lệ phí: 4.000 đồng".into(),
        english_lines: vec![
            "Certified to be a true copy of the original.".into(),
            "Certification no. 15/2026, book 01/2026-SCT/BS; Viet Hung Ward People's Committee, Hanoi."
                .into(),
        ],
    }
}

pub fn doc<'a>(inputs: &'a [&'a [u8]]) -> CopyDocument<'a> {
    let at = time::macros::datetime!(2026-11-21 09:30:15 +07:00);
    CopyDocument {
        inputs,
        default_dpi: 300.0,
        code_display: CODE.into(),
        qr_url: URL.into(),
        watermark: "TTPVHCC".into(),
        certification: certification(),
        title: "Bản sao chứng thực — Giấy khai sinh".into(),
        issued_at: at,
        signature: SignatureSlot {
            placeholder_size: 8192,
            name: "UBND phường Việt Hưng".into(),
            reason: "Chứng thực bản sao từ bản chính".into(),
            location: "Hà Nội, Việt Nam".into(),
            signing_time: at,
        },
        text_layers: &[],
    }
}

pub fn tool(cmd: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed by this test (poppler-utils, qpdf, zbar-tools): {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn write_temp(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// `qpdf --check` passes without errors or warnings.
pub fn qpdf_check(path: &Path) {
    let (ok, out, err) = tool("qpdf", &["--check", path.to_str().unwrap()]);
    assert!(ok, "qpdf --check failed:\n{out}\n{err}");
    assert!(
        out.contains("No syntax or stream encoding errors"),
        "qpdf:\n{out}\n{err}"
    );
    assert!(
        !out.to_lowercase().contains("warning") && !err.to_lowercase().contains("warning"),
        "qpdf:\n{out}\n{err}"
    );
}

pub fn pdftotext(path: &Path) -> String {
    let (ok, out, err) = tool("pdftotext", &["-enc", "UTF-8", path.to_str().unwrap(), "-"]);
    assert!(ok, "pdftotext: {err}");
    out
}

/// Page sizes in points from `pdfinfo`.
pub fn page_sizes(path: &Path) -> Vec<(f32, f32)> {
    let (ok, out, err) = tool("pdfinfo", &["-f", "1", "-l", "1000", path.to_str().unwrap()]);
    assert!(ok, "pdfinfo: {err}");
    out.lines()
        .filter(|l| l.starts_with("Page") && l.contains("size:"))
        .map(|l| {
            let v: Vec<f32> = l
                .split(':')
                .nth(1)
                .unwrap()
                .split_whitespace()
                .filter_map(|t| t.parse().ok())
                .collect();
            (v[0], v[1])
        })
        .collect()
}

/// Renders one page at 150 dpi and decodes its QR codes with zbarimg.
pub fn qr_on_page(dir: &Path, pdf: &Path, page: usize) -> Vec<String> {
    let prefix = dir.join(format!("p{page}"));
    let p = page.to_string();
    let (ok, _, err) = tool(
        "pdftoppm",
        &[
            "-r",
            "150",
            "-png",
            "-f",
            &p,
            "-l",
            &p,
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix.to_str().unwrap(),
        ],
    );
    assert!(ok, "pdftoppm: {err}");
    let png = format!("{}.png", prefix.display());
    let (_, out, _) = tool("zbarimg", &["--raw", "-q", &png]);
    out.lines().map(str::to_string).collect()
}
