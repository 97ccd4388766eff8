//! The QR code printed on the card's face, as the kiosk's scanner and the intake's page reader decode it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = banso_identity::cccd::CardQr::parse(&text);
    let _ = banso_intake::checks::CardQr::parse(&text);
});
