//! Prints how long composing a copy takes.
//!
//! `cargo run --release -p banso-render --example render_bench [-- FILE...]`
//!
//! Without arguments the inputs are two synthetic 300-dpi A4 JPEG scans of about 1.5 MB each (real
//! headers, random entropy-coded data: the renderer never decodes JPEG, so the content does not matter).

use std::time::Instant;

use banso_render::{render, Certification, CopyDocument, SignatureSlot};

fn synthetic_scan(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    // APP0 JFIF, 300 dpi
    v.extend_from_slice(&[
        0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 1, 0x01, 0x2C, 0x01, 0x2C, 0, 0,
    ]);
    // SOF0 2480 x 3508, 3 components
    v.extend_from_slice(&[
        0xFF, 0xC0, 0, 17, 8, 0x0D, 0xB4, 0x09, 0xB0, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ]);
    // SOS
    v.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    let mut s = seed;
    while v.len() < len {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        v.push(((s >> 33) as u8).min(0xFE));
    }
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: Vec<Vec<u8>> = if args.is_empty() {
        vec![synthetic_scan(1, 1_500_000), synthetic_scan(2, 1_500_000)]
    } else {
        args.iter()
            .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}")))
            .collect()
    };
    let inputs: Vec<&[u8]> = files.iter().map(|f| f.as_slice()).collect();
    let at = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+7));
    let doc = CopyDocument {
        inputs: &inputs,
        default_dpi: 300.0,
        code_display: "7Q2K-9M4X-ABCD-EFGH-JKMN".into(),
        qr_url: "https://banso.example.vn/v/7Q2K-9M4X-ABCD-EFGH-JKMN#k=Zm9vYmFyYmF6cXV4".into(),
        watermark: "TTPVHCC".into(),
        certification: Certification {
            statement: "Chứng thực bản sao đúng với bản chính.".into(),
            number_line: "Số chứng thực: 15/2026, Quyển số: 01/2026-SCT/BS".into(),
            date_line: "Ngày 21 tháng 11 năm 2026".into(),
            issuing_body: "UBND phường Việt Hưng, thành phố Hà Nội".into(),
            place: "Hà Nội".into(),
            signer_name: "Nguyễn Thị Hằng".into(),
            signer_title: "PHÓ CHỦ TỊCH".into(),
            document_type: "Giấy khai sinh".into(),
            holder_name: "Trần Văn Đức".into(),
            original_pages: inputs.len(),
            fee_line: "Lệ phí: 4.000 đồng".into(),
            english_lines: vec!["Certified to be a true copy of the original.".into()],
        },
        title: "Bản sao chứng thực".into(),
        issued_at: at,
        signature: SignatureSlot {
            placeholder_size: 16384,
            name: "UBND phường Việt Hưng".into(),
            reason: "Chứng thực bản sao".into(),
            location: "Hà Nội".into(),
            signing_time: at,
        },
        text_layers: &[],
    };
    let t0 = Instant::now();
    let first = render(&doc).expect("render");
    println!(
        "first copy (includes the one-time font subset): {:.2} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let n = 200;
    let t0 = Instant::now();
    let mut size = 0;
    for _ in 0..n {
        size = render(&doc).expect("render").bytes.len();
    }
    let per = t0.elapsed().as_secs_f64() * 1e3 / n as f64;
    let input: usize = files.iter().map(Vec::len).sum();
    println!(
        "{} inputs ({:.2} MB) -> {} pages, {:.2} MB: {per:.3} ms per copy ({n} copies)",
        files.len(),
        input as f64 / 1e6,
        first.page_count,
        size as f64 / 1e6
    );
}
