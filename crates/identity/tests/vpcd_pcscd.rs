//! End to end through the real PC/SC stack: a card emulated in this process is served to vsmartcard's
//! vpcd reader driver, loaded by a real pcscd, and read back with libpcsclite (the `pcsc` crate).
//!
//! Each test re-executes itself (this test binary, filtered to the one test) under
//! `scripts/pcscd-vpcd.sh run`, which gives it private network, mount and pid namespaces: only
//! loopback is up (vpcd listens on every interface), and /run/pcscd is a private tmpfs, so the
//! host's network and any host pcscd are never touched. Needs root; a missing tool fails the test.
//!
//! Built only with `--features pcsc`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use banso_identity::pcsc_transport::{PcscCard, PcscError, VPCD_READER};
use banso_identity::vpcd;

/// Set in the re-executed child, which then runs the test body.
const INSIDE: &str = "BANSO_TEST_INSIDE_PCSCD_VPCD";

/// Returns true when the caller is inside the private pcscd namespace and should run the body.
/// Otherwise runs `test_name` again inside it, asserts it passed, and returns false.
fn inside_private_pcscd(test_name: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pcscd-vpcd.sh");
    assert!(script.exists(), "{} is missing", script.display());
    let exe = std::env::current_exe().expect("test executable path");
    let started = Instant::now();
    let out = Command::new("bash")
        .arg(&script)
        .arg("run")
        .arg(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(INSIDE, "1")
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("--- inside private pcscd ({:?}) ---\n{stdout}", started.elapsed());
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "{test_name} failed inside the pcscd namespace: {}",
        out.status
    );
    assert!(
        stdout.contains("1 passed"),
        "the re-executed binary did not run {test_name}"
    );
    false
}

/// A minimal ISO 7816-4 card: SELECT answers 9000, READ BINARY (short or extended Le) returns
/// bytes of a fixed file.
struct FileCard {
    file: Vec<u8>,
    selected: bool,
}

fn file_contents() -> Vec<u8> {
    (0..4000u32).map(|i| (i * 7 + i / 256) as u8).collect()
}

impl FileCard {
    fn new() -> Self {
        Self {
            file: file_contents(),
            selected: false,
        }
    }

    fn answer(&mut self, apdu: &[u8]) -> Vec<u8> {
        match apdu {
            [0x00, 0xA4, ..] => {
                self.selected = true;
                vec![0x90, 0x00]
            }
            [0x00, 0xB0, p1, p2, rest @ ..] if self.selected => {
                let offset = usize::from(u16::from_be_bytes([*p1 & 0x7F, *p2]));
                let le = match rest {
                    [0] => 256,
                    [le] => usize::from(*le),
                    [0, 0, 0] => 65536,
                    [0, hi, lo] => usize::from(u16::from_be_bytes([*hi, *lo])),
                    _ => return vec![0x67, 0x00],
                };
                if offset >= self.file.len() {
                    return vec![0x6B, 0x00];
                }
                let end = (offset + le).min(self.file.len());
                let mut r = self.file[offset..end].to_vec();
                r.extend_from_slice(if end - offset < le {
                    &[0x62, 0x82]
                } else {
                    &[0x90, 0x00]
                });
                r
            }
            [0x00, 0xB0, ..] => vec![0x69, 0x86],
            _ => vec![0x6D, 0x00],
        }
    }
}

fn vpcd_addr() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], vpcd::DEFAULT_PORT))
}

#[test]
fn file_card_round_trips_through_pcscd() {
    if !inside_private_pcscd("file_card_round_trips_through_pcscd") {
        return;
    }
    let readers = banso_identity::pcsc_transport::list_readers().expect("pcscd answers");
    println!("readers: {readers:?}");
    assert!(
        readers.iter().any(|r| r.contains(VPCD_READER)),
        "vpcd reader missing: {readers:?}"
    );

    let mut card = FileCard::new();
    let server = vpcd::serve(move |apdu: &[u8]| card.answer(apdu), vpcd_addr()).expect("serve");
    let t = Instant::now();
    let mut reader = PcscCard::wait(VPCD_READER, Duration::from_secs(10)).expect("card appears in pcscd");
    println!(
        "card seen in {:?} on {:?}, protocol {:?}, ATR {}",
        t.elapsed(),
        reader.reader(),
        reader.protocol(),
        hex::encode_upper(reader.atr())
    );
    assert_eq!(reader.atr(), vpcd::default_atr().as_slice());
    assert!(
        reader.reader().starts_with("Virtual PCD 00 00"),
        "{}",
        reader.reader()
    );

    let file = file_contents();
    // Reading before SELECT is refused by the card, not by the transport.
    assert_eq!(
        reader.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x10]).unwrap(),
        vec![0x69, 0x86]
    );
    assert_eq!(
        reader
            .transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E])
            .unwrap(),
        vec![0x90, 0x00]
    );
    let r = reader.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x20]).unwrap();
    assert_eq!(&r[..32], &file[..32]);
    assert_eq!(&r[32..], &[0x90, 0x00]);
    // Le = 00: 256 bytes from offset 0x0100.
    let r = reader.transmit(&[0x00, 0xB0, 0x01, 0x00, 0x00]).unwrap();
    assert_eq!(&r[..256], &file[256..512]);
    assert_eq!(&r[256..], &[0x90, 0x00]);

    // Extended length: 3000 bytes in one response.
    let r = reader
        .transmit(&[0x00, 0xB0, 0x00, 0x10, 0x00, 0x0B, 0xB8])
        .unwrap();
    assert_eq!(r.len(), 3002, "extended-length response");
    assert_eq!(&r[..3000], &file[0x10..0x10 + 3000]);
    assert_eq!(&r[3000..], &[0x90, 0x00]);

    // Round-trip latency through pcscd and vpcd.
    let n = 200;
    let t = Instant::now();
    for _ in 0..n {
        let r = reader.transmit(&[0x00, 0xB0, 0x00, 0x00, 0xDF]).unwrap();
        assert_eq!(r.len(), 0xDF + 2);
    }
    println!("{n} READ BINARY of 223 bytes: {:?} per APDU", t.elapsed() / n);
    assert!(server.apdus_served() >= 5 + u64::from(n));

    // Pulling the card: the connection reports it gone.
    server.stop();
    let deadline = Instant::now() + Duration::from_secs(5);
    let err = loop {
        match reader.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E]) {
            Err(e) => break e,
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(r) => panic!("card still answers after removal: {r:02X?}"),
        }
    };
    println!("after removal: {err}");
    // pcscd polls vpcd for presence (every 400 ms); then the handle reports the removal.
    let deadline = Instant::now() + Duration::from_secs(5);
    while reader.is_present() {
        assert!(
            Instant::now() < deadline,
            "pcscd still sees the card 5 s after removal"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(matches!(
        reader.transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E]),
        Err(PcscError::CardRemoved)
    ));
    drop(reader);

    // Put it back: a fresh card (nothing selected) shows up again.
    let mut card = FileCard::new();
    let server = vpcd::serve(move |apdu: &[u8]| card.answer(apdu), vpcd_addr()).expect("serve");
    let mut reader = PcscCard::wait(VPCD_READER, Duration::from_secs(10)).expect("card back in pcscd");
    assert_eq!(
        reader.transmit(&[0x00, 0xB0, 0x00, 0x00, 0x01]).unwrap(),
        vec![0x69, 0x86]
    );
    server.stop();
    drop(reader);
    wait_until_removed();
}

#[test]
fn waiting_without_a_card_times_out() {
    if !inside_private_pcscd("waiting_without_a_card_times_out") {
        return;
    }
    let t = Instant::now();
    match PcscCard::wait(VPCD_READER, Duration::from_millis(700)) {
        Err(PcscError::NoCard(_)) => {}
        other => panic!("expected NoCard, got {other:?}"),
    }
    assert!(t.elapsed() >= Duration::from_millis(700));
    match PcscCard::connect("No Such Reader") {
        Err(PcscError::NoReader { readers, .. }) => assert!(!readers.is_empty()),
        other => panic!("expected NoReader, got {other:?}"),
    }
}

/// The virtual eMRTD chip (BAC and PACE, chip and active authentication, a JPEG face) read by
/// the terminal code through pcscd, exactly as a kiosk reads a citizen's card.
#[test]
fn virtual_emrtd_is_read_and_verified_through_pcscd() {
    use banso_identity::emrtd::reader::{read_chip, verify, AccessUsed, AssuranceLevel, BacOrPace};
    use banso_identity::emrtd::testkit::TestCardParams;
    use banso_identity::emrtd::vcard::VirtualCard;
    use banso_identity::vpcd::{CardIcc, VpcdConfig};

    if !inside_private_pcscd("virtual_emrtd_is_read_and_verified_through_pcscd") {
        return;
    }
    const NONCE: [u8; 8] = *b"kiosk-01";
    let (card, pki) = VirtualCard::issue_test_card(TestCardParams::default()).expect("test card");
    let mut config = VpcdConfig::new(vpcd_addr());
    config.atr = card.atr();
    let server = vpcd::serve_with(CardIcc::new(card).with_reset(VirtualCard::reset), config);

    let t = Instant::now();
    let mut reader = PcscCard::wait(VPCD_READER, Duration::from_secs(10)).unwrap_or_else(|e| {
        panic!(
            "chip does not appear in pcscd: {e} (vpcd connections {}, connected {}, APDUs {})",
            server.connections(),
            server.is_connected(),
            server.apdus_served()
        )
    });
    println!(
        "chip seen after {:?}, ATR {}",
        t.elapsed(),
        hex::encode_upper(reader.atr())
    );

    for (access, used) in [
        (BacOrPace::Bac, AccessUsed::Bac),
        (BacOrPace::Pace, AccessUsed::Pace),
    ] {
        let before = server.apdus_served();
        let t = Instant::now();
        let chip = read_chip(&mut reader, &pki.mrz_text, access, NONCE).expect("read through pcscd");
        let read = t.elapsed();
        assert_eq!(chip.access, used);
        let id = verify(chip, std::slice::from_ref(&pki.csca_der), NONCE).expect("verified");
        println!(
            "{used:?} through pcscd+vpcd: read {read:?}, verify {:?}, {} APDUs, DG2 {} bytes",
            t.elapsed() - read,
            server.apdus_served() - before,
            pki.files.get(&0x0102).map_or(0, Vec::len)
        );
        assert_eq!(id.assurance(), AssuranceLevel::High);
        assert_eq!(id.full_name(), "Nguyễn Văn Ánh");
        assert_eq!(id.face_image().data, pki.face_jpeg);
    }
    drop(reader);
    server.stop();
    wait_until_removed();
}

/// Waits until pcscd has noticed that the card left (so that a following test sharing this
/// pcscd, as under `scripts/pcscd-vpcd.sh exec`, starts from an empty reader).
fn wait_until_removed() {
    let deadline = Instant::now() + Duration::from_secs(5);
    while banso_identity::pcsc_transport::card_present(VPCD_READER).expect("pcscd answers") {
        assert!(
            Instant::now() < deadline,
            "pcscd still sees a card 5 s after removal"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
