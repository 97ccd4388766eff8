//! The X.509 and CMS structures the service reads from others: certificates (trust lists, officers'
//! certificates, a verified file's chain), CRLs, OCSP responses, timestamp tokens and responses, PEM. The
//! first byte picks the parser.
#![no_main]

use banso_signing::{cert::CertView, crl, ocsp, pem, tsa};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, der)) = data.split_first() else {
        return;
    };
    match kind % 6 {
        0 => {
            if let Some(cert) = CertView::parse(der) {
                let _ = banso_signing::certgen::extended_key_usages(&cert);
                let _ = banso_signing::certgen::ca_key_id(&cert);
            }
        }
        1 => if let Ok(_crl) = crl::parse_crl(der) {},
        2 => drop(ocsp::parse_response(der)),
        3 => drop(tsa::verify_token(der, &[])),
        4 => drop(tsa::read_token(der)),
        _ => drop(pem::decode_all(&String::from_utf8_lossy(der))),
    }
});
