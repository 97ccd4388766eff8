//! In-process chip tests: terminal (reader.rs) ↔ VirtualCard directly, no PC/SC.

use std::time::Instant;

use banso_identity::emrtd::dg13::Dg13;
use banso_identity::emrtd::lds::parse_dg2;
use banso_identity::emrtd::reader::{
    read_chip, verify, AccessUsed, AssuranceLevel, BacOrPace, ProtocolOutcome, ReadError,
};
use banso_identity::emrtd::testkit::TestCardParams;
use banso_identity::emrtd::vcard::VirtualCard;
use banso_identity::emrtd::Card;

const NONCE: [u8; 8] = [0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58];

fn issue(p: TestCardParams) -> (VirtualCard, banso_identity::emrtd::testkit::TestPki) {
    VirtualCard::issue_test_card(p).unwrap()
}

#[test]
fn bac_read_verifies_high() {
    let (mut card, pki) = issue(TestCardParams::default());
    let t = Instant::now();
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::Bac, NONCE).unwrap();
    let read = t.elapsed();
    assert_eq!(chip.access, AccessUsed::Bac);
    assert_eq!(chip.chip_authentication, ProtocolOutcome::Completed);
    let id = verify(chip, std::slice::from_ref(&pki.csca_der), NONCE).unwrap();
    println!(
        "BAC read {:?} + verify {:?} ({} APDUs, DG2 {} bytes)",
        read,
        t.elapsed() - read,
        card.apdu_count,
        pki.files[&0x0102].len()
    );
    assert_eq!(id.assurance(), AssuranceLevel::High);
    assert_eq!(id.id_number(), "001080012345");
    assert_eq!(id.full_name(), "Nguyễn Văn Ánh");
    assert_eq!(id.birth_date(), "15/01/1980");
    assert_eq!(id.sex(), "Nam");
    assert_eq!(id.face_image().data, pki.face_jpeg);
    assert!(id
        .checks()
        .iter()
        .all(|c| !matches!(c.status, banso_identity::emrtd::pa::CheckStatus::Failed(_))));
}

#[test]
fn pace_read_verifies_high() {
    let (mut card, pki) = issue(TestCardParams::default());
    let t = Instant::now();
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::PreferPace, NONCE).unwrap();
    assert_eq!(chip.access, AccessUsed::Pace);
    let id = verify(chip, std::slice::from_ref(&pki.csca_der), NONCE).unwrap();
    println!("PACE read+verify {:?} ({} APDUs)", t.elapsed(), card.apdu_count);
    assert_eq!(id.assurance(), AssuranceLevel::High);
    assert_eq!(id.full_name(), "Nguyễn Văn Ánh");
    // AA alone (no CA) still gives High; PA alone gives Substantial.
    let (mut card, pki) = issue(TestCardParams {
        chip_authentication: false,
        ..TestCardParams::default()
    });
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::Pace, NONCE).unwrap();
    assert!(matches!(chip.chip_authentication, ProtocolOutcome::NotRun(_)));
    assert_eq!(
        verify(chip, std::slice::from_ref(&pki.csca_der), NONCE)
            .unwrap()
            .assurance(),
        AssuranceLevel::High
    );
    let (mut card, pki) = issue(TestCardParams {
        chip_authentication: false,
        active_authentication: false,
        ..TestCardParams::default()
    });
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::Pace, NONCE).unwrap();
    assert_eq!(
        verify(chip, std::slice::from_ref(&pki.csca_der), NONCE)
            .unwrap()
            .assurance(),
        AssuranceLevel::Substantial
    );
}

#[test]
fn wrong_mrz_is_access_denied() {
    let (mut card, pki) = issue(TestCardParams::default());
    // A wrong birth date (with its check digit kept, as a misread would give): the MRZ
    // information string is accepted directly by read_chip.
    let info = pki.mrz_information.replace("800115", "800116");
    for access in [BacOrPace::Bac, BacOrPace::Pace] {
        card.reset();
        let e = read_chip(&mut card, &info, access, NONCE).unwrap_err();
        assert!(matches!(e, ReadError::AccessDenied(_)), "{access:?}: {e:?}");
    }
    // Reads before access control are refused.
    card.reset();
    let r = card
        .transmit(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01])
        .unwrap();
    assert_eq!(r, vec![0x69, 0x82]);
    let r = card.transmit(&[0x00, 0xB0, 0x81, 0x00, 0x04]).unwrap();
    assert_eq!(r, vec![0x69, 0x82]);
}

#[test]
fn dg_changed_after_signing_fails_hash_check() {
    let (mut card, pki) = issue(TestCardParams {
        change_after_signing: Some(13),
        ..TestCardParams::default()
    });
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::PreferPace, NONCE).unwrap();
    let e = verify(chip, std::slice::from_ref(&pki.csca_der), NONCE).unwrap_err();
    assert!(e.reason.contains("data group hashes"), "{e}");
    assert!(e.reason.contains("DG13 hash does not match"), "{e}");
}

#[test]
fn unknown_csca_fails_chain() {
    let (mut card, pki) = issue(TestCardParams {
        unknown_csca: true,
        ..TestCardParams::default()
    });
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::Bac, NONCE).unwrap();
    let e = verify(chip, std::slice::from_ref(&pki.csca_der), NONCE).unwrap_err();
    assert!(e.reason.contains("certificate chain"), "{e}");
    assert!(!e.reason.contains("data group hashes"), "{e}");
}

#[test]
fn clone_without_aa_key_fails_active_authentication() {
    let (mut card, pki) = issue(TestCardParams {
        clone_without_aa_key: true,
        chip_authentication: false,
        ..TestCardParams::default()
    });
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::PreferPace, NONCE).unwrap();
    let e = verify(chip, std::slice::from_ref(&pki.csca_der), NONCE).unwrap_err();
    assert!(e.reason.contains("active authentication"), "{e}");
    assert!(!e.reason.contains("passive"), "{e}");
    // Replaying a genuine card's answer for another nonce is refused as well.
    let (mut card, pki) = issue(TestCardParams::default());
    let chip = read_chip(&mut card, &pki.mrz_text, BacOrPace::Bac, NONCE).unwrap();
    let e = verify(chip, std::slice::from_ref(&pki.csca_der), [0; 8]).unwrap_err();
    assert!(e.reason.contains("not the server's nonce"), "{e}");
}

#[test]
fn dg13_roundtrip_vietnamese() {
    let d = TestCardParams::default().dg13;
    let enc = d.encode();
    let back = Dg13::decode(&enc).unwrap();
    assert_eq!(back, d);
    assert_eq!(back.home_town, "Xã Phú Xuân, Huyện Phú Vang, Thừa Thiên Huế");
    assert_eq!(back.mother_name, "Trần Thị Cúc");
}

#[test]
fn dg2_face_is_the_jpeg() {
    let (_, pki) = issue(TestCardParams::default());
    let face = parse_dg2(&pki.files[&0x0102]).unwrap();
    assert_eq!(face.data, pki.face_jpeg);
    assert!(pki.face_jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(pki.face_jpeg.ends_with(&[0xFF, 0xD9]));
    println!("face JPEG {} bytes", pki.face_jpeg.len());
}
