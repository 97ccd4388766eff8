//! BER-TLV and the LDS files a chip returns (a cloned or hostile chip chooses every byte): the first byte
//! picks the file kind, the rest is the file.
#![no_main]

use banso_identity::emrtd::{dg13::Dg13, lds, secinfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, file)) = data.split_first() else {
        return;
    };
    match kind % 10 {
        0 => drop(lds::parse_all(file)),
        1 => drop(lds::parse_ef_com(file)),
        2 => drop(lds::parse_dg1(file)),
        3 => drop(lds::read_data_group(file)),
        4 => drop(lds::parse_dg2(file)),
        5 => drop(Dg13::decode(file)),
        6 => drop(secinfo::parse_security_infos(file)),
        7 => drop(secinfo::parse_dg14(file)),
        8 => drop(secinfo::parse_dg15(file)),
        _ => drop(lds::read_header(file)),
    }
});
