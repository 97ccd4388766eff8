//! End-to-end tests: copies are composed and then checked with independent tools (qpdf, poppler, zbar).

mod common;

use banso_render::{inspect, render, InputError, InputKind, RenderError};
use common::*;

fn approx(a: f32, b: f32) -> bool {
    (a - b).abs() < 0.02
}

#[test]
fn copy_of_images_passes_the_independent_tools() {
    let jpg = fixture("scan_rgb_100dpi.jpg");
    let gray = fixture("gray_200dpi.jpg");
    let png = png_rgb(500, 300, Some(120.0));
    let inputs: Vec<&[u8]> = vec![&jpg, &png, &gray];
    let out = render(&doc(&inputs)).unwrap();
    assert_eq!(out.page_count, 4);

    // The placeholder contract.
    let b = &out.bytes;
    assert_eq!(out.byte_range[0], 0);
    assert_eq!(b[out.byte_range[1]], b'<');
    assert_eq!(b[out.byte_range[2] - 1], b'>');
    assert_eq!(out.byte_range[2] + out.byte_range[3], b.len());
    assert_eq!(out.contents_hex, out.byte_range[1] + 1..out.byte_range[2] - 1);
    assert_eq!(out.contents_hex.len(), 2 * 8192);
    assert!(b[out.contents_hex.clone()].iter().all(|&c| c == b'0'));
    let text = String::from_utf8_lossy(b);
    let br = format!(
        "/ByteRange [0 {:<10} {:<10} {:<10}]",
        out.byte_range[1], out.byte_range[2], out.byte_range[3]
    );
    assert!(text.contains(&br), "ByteRange not written as reported");
    assert!(text.contains("/SubFilter /ETSI.CAdES.detached"));
    assert!(b.starts_with(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n"));

    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "copy.pdf", b);
    qpdf_check(&path);

    // Text layer.
    let t = pdftotext(&path);
    for needle in [
        "Chứng thực bản sao đúng với bản chính.",
        CODE,
        "TTPVHCC",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "CHỨNG THỰC BẢN SAO ĐIỆN TỬ TỪ BẢN CHÍNH",
        "Số trang của bản chính: 2",
        "Nguyễn Thị Hằng",
        "UBND phường Việt Hưng, thành phố Hà Nội",
        "Hà Nội, Ngày 21 tháng 11 năm 2026",
        "Lệ phí: 4.000 đồng",
        "Trang 1/4",
        "Trang 4/4",
        "Đã ký số / Digitally signed",
        "Certified to be a true copy of the original.",
    ] {
        assert!(t.contains(needle), "pdftotext lacks {needle:?}:\n{t}");
    }
    assert_eq!(t.matches("TTPVHCC").count(), 4, "one watermark per page");

    // Original sizes: pixels / dpi * 72.
    let sizes = page_sizes(&path);
    let gray_dpi = 78.0 * 2.54; // JFIF density 78 dots/cm
    let png_dpi = (120.0f32 / 0.0254).round() * 0.0254; // pHYs holds whole pixels per metre
    let expected = [
        (432.0, 612.0),
        (500.0 / png_dpi * 72.0, 300.0 / png_dpi * 72.0),
        (400.0 / gray_dpi * 72.0, 300.0 / gray_dpi * 72.0),
        (595.28, 841.89),
    ];
    assert_eq!(sizes.len(), 4);
    for (got, want) in sizes.iter().zip(expected) {
        assert!(
            approx(got.0, want.0) && approx(got.1, want.1),
            "page size {got:?}, expected {want:?}"
        );
    }

    // The QR reads back on the first and the last page.
    assert!(
        qr_on_page(dir.path(), &path, 1).iter().any(|l| l == URL),
        "no QR on page 1"
    );
    let last = qr_on_page(dir.path(), &path, 4);
    assert!(
        last.iter().filter(|l| *l == URL).count() >= 1,
        "no QR on the last page: {last:?}"
    );

    // PDF/A-2b ingredients, as far as poppler can tell.
    let (_, fonts, _) = tool("pdffonts", &[path.to_str().unwrap()]);
    let font_rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!font_rows.is_empty());
    for row in font_rows {
        assert!(
            row.contains("Identity-H       yes yes yes"),
            "font not embedded with ToUnicode: {row}"
        );
    }
    let (_, meta, _) = tool("pdfinfo", &["-meta", path.to_str().unwrap()]);
    for needle in [
        "<pdfaid:part>2</pdfaid:part>",
        "<pdfaid:conformance>B</pdfaid:conformance>",
        "<xmp:CreateDate>2026-11-21T09:30:15+07:00</xmp:CreateDate>",
        "<pdf:Producer>banso</pdf:Producer>",
        "Bản sao chứng thực — Giấy khai sinh</rdf:li>",
    ] {
        assert!(meta.contains(needle), "XMP lacks {needle}:\n{meta}");
    }
    let (_, info, _) = tool("pdfinfo", &[path.to_str().unwrap()]);
    assert!(
        info.contains("Encrypted:       no") && info.contains("Form:            AcroForm"),
        "{info}"
    );
    assert!(text.contains("/CreationDate (D:20261121093015+07'00')"));
    assert!(text.contains("/OutputIntents [") && text.contains("/S /GTS_PDFA1"));
    assert!(text.contains("/ID [<"));

    // The copy is itself an acceptable input.
    assert_eq!(
        inspect(b).unwrap(),
        banso_render::InputInfo {
            kind: InputKind::Pdf,
            pages: 4
        }
    );
}

#[test]
fn jpeg_is_embedded_byte_for_byte() {
    let jpg = fixture("scan_rgb_100dpi.jpg");
    let inputs: Vec<&[u8]> = vec![&jpg];
    let out = render(&doc(&inputs)).unwrap();
    let pos = out.bytes.windows(jpg.len()).position(|w| w == &jpg[..]);
    assert!(pos.is_some(), "the JPEG is not in the file as it is");
    assert!(String::from_utf8_lossy(&out.bytes).contains("/DCTDecode"));
}

#[test]
fn cmyk_gray_and_progressive_jpegs() {
    let cmyk = fixture("cmyk.jpg");
    let prog = fixture("progressive_150dpi.jpg");
    let inputs: Vec<&[u8]> = vec![&cmyk, &prog];
    let out = render(&doc(&inputs)).unwrap();
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(s.contains("/DeviceCMYK /BitsPerComponent 8 /Decode [1 0 1 0 1 0 1 0]"));
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "c.pdf", &out.bytes);
    qpdf_check(&path);
    let sizes = page_sizes(&path);
    // cmyk.jpg states no density: default 300 dpi.
    assert!(
        approx(sizes[0].0, 300.0 / 300.0 * 72.0) && approx(sizes[0].1, 200.0 / 300.0 * 72.0),
        "{sizes:?}"
    );
    assert!(approx(sizes[1].0, 144.0) && approx(sizes[1].1, 72.0), "{sizes:?}");
    // Rasterising works (the images decode in poppler).
    let (ok, _, err) = tool(
        "pdftoppm",
        &[
            "-r",
            "30",
            "-png",
            path.to_str().unwrap(),
            dir.path().join("x").to_str().unwrap(),
        ],
    );
    assert!(ok && !err.contains("Error"), "{err}");
}

#[test]
fn png_variants_render() {
    // palette 4-bit, gray 1-bit, gray 16-bit, RGBA (→ SMask), gray+alpha, palette with tRNS, RGB 16-bit.
    let plte: Vec<u8> = (0..16u8).flat_map(|i| [i * 16, 255 - i * 16, 128]).collect();
    let pngs = [
        png_raw(64, 32, 4, 3, Some(96.0), &[(b"PLTE", plte.clone())], |y| {
            vec![(y as u8 % 16) * 17; 32]
        }),
        png_raw(80, 40, 1, 0, None, &[], |y| {
            vec![if y % 2 == 0 { 0xAA } else { 0x55 }; 10]
        }),
        png_raw(30, 20, 16, 0, None, &[], |y| {
            (0..30u32)
                .flat_map(|x| ((x * 2000 + y * 100) as u16).to_be_bytes())
                .collect()
        }),
        png_raw(40, 40, 8, 6, Some(72.0), &[], |y| {
            (0..40u32)
                .flat_map(|x| [x as u8 * 6, y as u8 * 6, 0, 200])
                .collect()
        }),
        png_raw(40, 40, 8, 4, None, &[], |y| {
            (0..40u32).flat_map(|x| [x as u8 * 6, y as u8 * 6]).collect()
        }),
        png_raw(
            64,
            32,
            4,
            3,
            None,
            &[(b"PLTE", plte), (b"tRNS", vec![0, 255])],
            |_| vec![0x01; 32],
        ),
        png_raw(20, 20, 16, 2, None, &[], |_| vec![0x7F; 120]),
    ];
    for (i, p) in pngs.iter().enumerate() {
        assert_eq!(inspect(p).unwrap().kind, InputKind::Png, "png {i}");
    }
    let inputs: Vec<&[u8]> = pngs.iter().map(|p| p.as_slice()).collect();
    let out = render(&doc(&inputs)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "p.pdf", &out.bytes);
    qpdf_check(&path);
    let s = String::from_utf8_lossy(&out.bytes);
    assert!(s.contains("/SMask"));
    assert!(s.contains("/Indexed /DeviceRGB 15"));
    let sizes = page_sizes(&path);
    assert!(approx(sizes[0].0, 48.0) && approx(sizes[0].1, 24.0), "{sizes:?}");
    let (ok, _, err) = tool(
        "pdftoppm",
        &[
            "-r",
            "20",
            "-png",
            path.to_str().unwrap(),
            dir.path().join("x").to_str().unwrap(),
        ],
    );
    assert!(ok && !err.contains("Error"), "{err}");
}

#[test]
fn pdf_input_pages_are_imported() {
    // A hand-written PDF: two pages, text in a standard font, one page rotated, inherited MediaBox.
    let pdf = handmade_pdf();
    assert_eq!(
        inspect(&pdf).unwrap(),
        banso_render::InputInfo {
            kind: InputKind::Pdf,
            pages: 2
        }
    );
    let png = png_rgb(300, 300, Some(150.0));
    let inputs: Vec<&[u8]> = vec![&pdf, &png];
    let out = render(&doc(&inputs)).unwrap();
    assert_eq!(out.page_count, 4);
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "i.pdf", &out.bytes);
    qpdf_check(&path);
    let t = pdftotext(&path);
    assert!(t.contains("Imported page one"), "{t}");
    assert!(t.contains("Imported page two"), "{t}");
    let sizes = page_sizes(&path);
    assert!(
        approx(sizes[0].0, 300.0) && approx(sizes[0].1, 400.0),
        "{sizes:?}"
    );
    assert!(
        approx(sizes[1].0, 400.0) && approx(sizes[1].1, 300.0),
        "rotated page: {sizes:?}"
    );

    // A copy of a copy: the certified copy itself (with its embedded font) as input.
    let jpg = fixture("scan_rgb_100dpi.jpg");
    let first_inputs: Vec<&[u8]> = vec![&jpg];
    let first = render(&doc(&first_inputs)).unwrap();
    let again_inputs: Vec<&[u8]> = vec![&first.bytes];
    let again = render(&doc(&again_inputs)).unwrap();
    assert_eq!(again.page_count, 3);
    let path = write_temp(dir.path(), "again.pdf", &again.bytes);
    qpdf_check(&path);
    let t = pdftotext(&path);
    assert_eq!(
        t.matches("Chứng thực bản sao đúng với bản chính.").count(),
        2,
        "{t}"
    );
    assert!(qr_on_page(dir.path(), &path, 1).iter().any(|l| l == URL));
}

fn handmade_pdf() -> Vec<u8> {
    let content1 = b"BT /F1 24 Tf 40 300 Td (Imported page one) Tj ET 0 0 1 rg 40 40 100 100 re f";
    let content2 = b"BT /F1 24 Tf 40 300 Td (Imported page two) Tj ET";
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 /MediaBox [0 0 300 400] /Resources << /Font << /F1 7 0 R >> >> >>"
            .to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /Contents [6 0 R] /Rotate 90 >>".to_vec(),
        [format!("<< /Length {} >>\nstream\n", content1.len()).as_bytes(), content1, b"\nendstream"].concat(),
        [format!("<< /Length {} >>\nstream\n", content2.len()).as_bytes(), content2, b"\nendstream"].concat(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn inspect_rejects_bad_input() {
    assert_eq!(inspect(b""), Err(InputError::Unsupported));
    assert_eq!(
        inspect(b"hello, this is a text file\n"),
        Err(InputError::Unsupported)
    );
    assert_eq!(inspect(b"GIF89a......"), Err(InputError::Unsupported));

    let jpg = fixture("scan_rgb_100dpi.jpg");
    assert_eq!(
        inspect(&jpg).unwrap(),
        banso_render::InputInfo {
            kind: InputKind::Jpeg,
            pages: 1
        }
    );
    for cut in [3, 20, 200, jpg.len() / 2, jpg.len() - 2] {
        assert!(
            matches!(
                inspect(&jpg[..cut]),
                Err(InputError::Corrupt {
                    kind: InputKind::Jpeg,
                    ..
                })
            ),
            "JPEG cut at {cut}: {:?}",
            inspect(&jpg[..cut])
        );
    }

    let png = png_rgb(20, 10, None);
    assert!(inspect(&png).is_ok());
    for cut in [8, 20, png.len() / 2, png.len() - 1] {
        assert!(
            matches!(
                inspect(&png[..cut]),
                Err(InputError::Corrupt {
                    kind: InputKind::Png,
                    ..
                })
            ),
            "cut {cut}"
        );
    }
    let mut bad_crc = png.clone();
    let n = bad_crc.len();
    bad_crc[n - 20] ^= 0x01; // inside the last IDAT
    match inspect(&bad_crc) {
        Err(InputError::Corrupt {
            kind: InputKind::Png,
            detail,
        }) => assert!(detail.contains("CRC"), "{detail}"),
        other => panic!("{other:?}"),
    }
    let empty = png_raw(0, 10, 8, 0, None, &[], |_| vec![]);
    assert_eq!(inspect(&empty), Err(InputError::Empty));
    let huge = png_raw(30_000, 1, 1, 0, None, &[], |_| vec![0; 3750]);
    assert!(matches!(inspect(&huge), Err(InputError::TooLarge { .. })));
    // 10 000 px at 50 dpi = 200+ inches.
    let wide = png_raw(10_100, 1, 1, 0, Some(50.0), &[], |_| vec![0; 1263]);
    assert!(matches!(inspect(&wide), Err(InputError::TooLarge { .. })));

    assert!(matches!(
        inspect(b"%PDF-1.7\ngarbage"),
        Err(InputError::Corrupt {
            kind: InputKind::Pdf,
            ..
        })
    ));
    let no_pages = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \ntrailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n107\n%%EOF\n";
    assert_eq!(inspect(no_pages), Err(InputError::Empty));

    // render reports which input is bad
    let text: &[u8] = b"plain text";
    let inputs: Vec<&[u8]> = vec![&jpg, text];
    match render(&doc(&inputs)) {
        Err(RenderError::Input {
            index: 1,
            source: InputError::Unsupported,
        }) => {}
        other => panic!("{:?}", other.map(|p| p.page_count)),
    }
    let none: Vec<&[u8]> = vec![];
    assert!(matches!(render(&doc(&none)), Err(RenderError::NoPages)));
}

#[test]
fn text_outside_the_font_is_an_error() {
    let png = png_rgb(10, 10, None);
    let inputs: Vec<&[u8]> = vec![&png];
    let mut d = doc(&inputs);
    d.certification.holder_name = "Trần ✓".into();
    assert!(matches!(render(&d), Err(RenderError::Glyph('✓'))));

    // Letters typed with combining marks (NFD) are composed and extract as precomposed letters.
    d.certification.holder_name = "Tra\u{302}\u{300}n Va\u{306}n \u{110}u\u{31B}\u{301}c".into();
    let out = render(&d).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "nfd.pdf", &out.bytes);
    assert!(pdftotext(&path).contains("Holder: Trần Văn Đức"));
}

/// Small deterministic generator for the robustness test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn inspect_never_panics() {
    let mut rng = Lcg(42);
    let jpg = fixture("progressive_150dpi.jpg");
    let png = png_rgb(16, 16, Some(300.0));
    let pdf = handmade_pdf();
    let seeds: [&[u8]; 3] = [&jpg, &png, &pdf];
    for seed in seeds {
        // every truncation
        for cut in 0..seed.len() {
            let _ = inspect(&seed[..cut]);
        }
        // random byte flips
        for _ in 0..600 {
            let mut v = seed.to_vec();
            for _ in 0..1 + rng.next() % 8 {
                let i = rng.next() as usize % v.len();
                v[i] = rng.next() as u8;
            }
            if let Ok(info) = inspect(&v) {
                // whatever inspect accepts, render must handle without panicking
                let inputs: Vec<&[u8]> = vec![&v];
                let r = render(&doc(&inputs));
                assert!(r.is_ok() || info.kind != InputKind::Jpeg, "{r:?}");
            }
        }
    }
    // random bytes after each signature
    for prefix in [&b"\xFF\xD8\xFF"[..], &b"\x89PNG\r\n\x1A\n"[..], b"%PDF-1.7\n"] {
        for len in [0usize, 1, 5, 17, 100, 1000] {
            let mut v = prefix.to_vec();
            v.extend((0..len).map(|_| rng.next() as u8));
            let _ = inspect(&v);
        }
    }
}

/// The placeholder contract, checked end to end: a CMS made by openssl over the reported ByteRange,
/// written into `contents_hex`, is reported by poppler's pdfsig as valid and covering the whole file.
#[test]
fn placeholder_is_signable_by_an_independent_tool() {
    let jpg = fixture("gray_200dpi.jpg");
    let inputs: Vec<&[u8]> = vec![&jpg];
    let mut out = render(&doc(&inputs)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let (ok, _, err) = tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &d("k.pem"),
            "-out",
            &d("c.pem"),
            "-subj",
            "/CN=banso test",
            "-days",
            "2",
        ],
    );
    assert!(ok, "{err}");
    let [_, a, b, c] = out.byte_range;
    let signed: Vec<u8> = [&out.bytes[..a], &out.bytes[b..b + c]].concat();
    std::fs::write(d("data.bin"), signed).unwrap();
    let (ok, _, err) = tool(
        "openssl",
        &[
            "cms",
            "-sign",
            "-binary",
            "-in",
            &d("data.bin"),
            "-signer",
            &d("c.pem"),
            "-inkey",
            &d("k.pem"),
            "-outform",
            "DER",
            "-out",
            &d("sig.der"),
            "-nosmimecap",
            "-md",
            "sha256",
        ],
    );
    assert!(ok, "{err}");
    let cms = std::fs::read(d("sig.der")).unwrap();
    let hex: String = cms.iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.len() <= out.contents_hex.len());
    let start = out.contents_hex.start;
    out.bytes[start..start + hex.len()].copy_from_slice(hex.as_bytes());
    let path = write_temp(dir.path(), "signed.pdf", &out.bytes);
    let (_, report, _) = tool("pdfsig", &[path.to_str().unwrap()]);
    assert!(report.contains("Signature is Valid"), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    qpdf_check(&path);
}

#[test]
fn ocr_text_layer_is_invisible_searchable_and_in_place() {
    // A 100-dpi page of 850×1100 pixels (8.5×11 in = 612×792 pt), with three words and one the font lacks.
    let png = png_rgb(850, 1100, Some(100.0));
    let word = |text: &str, x, y, w, h| banso_render::PageWord {
        text: text.into(),
        x,
        y,
        w,
        h,
    };
    let layer = banso_render::PageText {
        width: 850,
        height: 1100,
        words: vec![
            word("GIẤY", 100, 200, 120, 40),
            word("KHAI", 240, 200, 120, 40),
            word("SINH", 380, 200, 120, 40),
            word("漢字", 100, 300, 80, 40),
            word("Nguyễn", 100, 400, 150, 30),
        ],
    };
    let inputs: Vec<&[u8]> = vec![&png];
    let layers = [Some(layer)];
    let mut d = doc(&inputs);
    d.text_layers = &layers;
    let out = render(&d).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "copy.pdf", &out.bytes);
    qpdf_check(&path);

    let (ok, page1, err) = tool(
        "pdftotext",
        &["-enc", "UTF-8", "-f", "1", "-l", "1", path.to_str().unwrap(), "-"],
    );
    assert!(ok, "{err}");
    assert!(page1.contains("GIẤY KHAI SINH"), "{page1}");
    assert!(page1.contains("Nguyễn"), "{page1}");
    assert!(!page1.contains('漢'), "characters the font lacks are left out");

    // Where pdftotext finds "KHAI": x 240..360 px → 172.8..259.2 pt; top 200 px → 144 pt.
    let (ok, bbox, err) = tool(
        "pdftotext",
        &["-bbox", "-f", "1", "-l", "1", path.to_str().unwrap(), "-"],
    );
    assert!(ok, "{err}");
    let line = bbox
        .lines()
        .find(|l| l.ends_with(">KHAI</word>"))
        .unwrap_or_else(|| panic!("{bbox}"));
    let attr = |name: &str| -> f32 {
        let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[at..].split('"').next().unwrap().parse().unwrap()
    };
    assert!(
        (attr("xMin") - 172.8).abs() < 3.0 && (attr("xMax") - 259.2).abs() < 3.0,
        "{line}"
    );
    assert!(attr("yMin") > 130.0 && attr("yMax") < 180.0, "{line}");

    // Invisible: rendering mode 3 in the page's content stream (checked through qpdf's uncompressed view).
    let (ok, qdf, err) = tool(
        "qpdf",
        &["--qdf", "--object-streams=disable", path.to_str().unwrap(), "-"],
    );
    assert!(ok, "{err}");
    assert!(qdf.contains("BT 3 Tr"), "no invisible text block");
}
