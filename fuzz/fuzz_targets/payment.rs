//! Payment: a VietQR payload as a citizen's banking app or a printed slip carries it, and the gateway's IPN
//! callback query string (anyone can call the callback URL). The first byte picks the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if kind % 2 == 0 {
        let _ = banso_core::payment::vietqr::parse(&text);
    } else {
        let _ = banso_core::payment::vnpay::verify_ipn_query(&text, b"BANSOVNPAYTESTSECRET0123456789AB");
    }
});
