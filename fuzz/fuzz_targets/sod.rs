//! EF.SOD and its CMS/X.509 path: passive authentication of a DG1 against the SOD, the Document Signer it
//! carries and a CSCA. Input: CSCA certificate ‖ DG1 ‖ SOD (see `banso_fuzz::parts`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};

fuzz_target!(|data: &[u8]| {
    let p = banso_fuzz::parts(data, 3);
    let [csca, dg1, sod] = p[..] else {
        return;
    };
    let _ = banso_identity::emrtd::lds::parse_sod(sod);
    let at = UNIX_EPOCH + Duration::from_secs(1_798_761_600);
    let _ =
        banso_identity::emrtd::pa::passive_authentication_at(sod, &[(1, dg1.to_vec())], &[csca.to_vec()], at);
});
