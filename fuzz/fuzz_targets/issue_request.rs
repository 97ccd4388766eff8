//! `POST /api/v1/copies` as a client sends it, multipart or JSON: the first line is the Content-Type, the
//! rest the body (already whole and capped when it reaches the parser).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let content_type = String::from_utf8_lossy(&data[..split]).into_owned();
    let body = bytes::Bytes::copy_from_slice(data.get(split + 1..).unwrap_or_default());
    let _ = banso_wire::issue_body(Some(&content_type), body.clone());
    let _ = banso_wire::read_form(&content_type, body);
});
