//! A page file as uploaded for a copy and a camera frame: the edge's inspection (JPEG and PNG headers, PNG
//! chunks, a PDF's page tree), the intake's decoding (PNG, JPEG, TIFF) and the face crate's (JPEG, PNG,
//! JPEG 2000). A PDF page is rendered by pdftoppm in its own process, so not here.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = banso_render::detect(data);
    let _ = banso_render::inspect(data);
    if banso_intake::input::sniff_format(data) != Some(banso_intake::input::FileFormat::Pdf) {
        let _ = banso_intake::input::decode_file(std::path::Path::new("fuzz"), data, &mut |_| {});
    }
    let _ = banso_face::decode_image(data);
});
