//! The PDF verification entry, as `POST /api/v1/verify` calls it with an anonymous upload: every signature
//! and document timestamp, the xref and object streams, the CMS and the chain. Input: trust root ‖ PDF.
#![no_main]

use banso_signing::verify::{verify_pdf, TrustStore};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = banso_fuzz::parts(data, 2);
    let [root, pdf] = p[..] else {
        return;
    };
    let trust = TrustStore {
        roots: vec![root.to_vec()],
    };
    let _ = verify_pdf(pdf, &trust, banso_fuzz::now());
});
