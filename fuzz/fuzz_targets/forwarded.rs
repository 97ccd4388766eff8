//! The client a trusted proxy names (`X-Forwarded-For`, RFC 7239 `Forwarded`): whatever a client writes ahead
//! of its proxy's entry, the entry names the client. The first byte picks the header; the rest is what the
//! client wrote, read once alone (it must not panic) and once with a proxy's entry after it.
#![no_main]

use banso_wire::forwarded::{client, Header};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3));
const CITIZEN: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 77));

fuzz_target!(|data: &[u8]| {
    let Some((&kind, written)) = data.split_first() else {
        return;
    };
    let trusted = |ip: IpAddr| matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10);
    let (header, entry): (Header, &[u8]) = match kind % 3 {
        0 => (Header::XForwardedFor, b", 198.51.100.77"),
        1 => (Header::Forwarded, b", for=198.51.100.77"),
        _ => (Header::Forwarded, b", for=\"198.51.100.77:8443\";proto=https"),
    };
    let _ = client(PEER, [written].into_iter(), header, trusted);
    let value = [written, entry].concat();
    assert_eq!(
        client(PEER, [value.as_slice()].into_iter(), header, trusted),
        CITIZEN
    );
    // The client's own line before the proxy's, as a second header.
    assert_eq!(
        client(PEER, [written, &entry[2..]].into_iter(), header, trusted),
        CITIZEN
    );
});
