use super::*;
use crate::payment::strip_diacritics;

/// PRODUCT.md §8's vector: VietinBank (970415), account 0011001932418, 120 000 VND, "ung ho lu lut".
const PRODUCT_VECTOR: &str = "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA\
                              530370454061200005802VN62170813ung ho lu lut6304C15C";

fn dynamic(bin: &str, account: &str, amount: u64, purpose: Option<&str>) -> VietQr {
    VietQr {
        initiation: Initiation::Dynamic,
        bin: bin.into(),
        account: account.into(),
        service: Service::ToAccount,
        amount: Some(amount),
        reference_label: None,
        purpose: purpose.map(Into::into),
    }
}

/// `body` followed by a correct CRC field: for payloads that must fail on structure, not on the CRC.
fn with_crc(body: &str) -> String {
    let signed = format!("{body}6304");
    format!("{signed}{:04X}", crc16_ccitt_false(signed.as_bytes()))
}

#[test]
fn crc_matches_the_standard_check_value() {
    assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    assert_eq!(crc16_ccitt_false(b""), 0xFFFF);
}

#[test]
fn reproduces_the_product_vector_from_its_parts() {
    let qr = dynamic("970415", "0011001932418", 120_000, Some("ung ho lu lut"));
    assert_eq!(qr.payload().unwrap(), PRODUCT_VECTOR);
    assert_eq!(parse(PRODUCT_VECTOR).unwrap(), qr);
}

#[test]
fn reproduces_published_payloads_of_other_generators() {
    // Static QR without amount, and a dynamic one with a purpose, as published in the README of the npm
    // package `vietnam-qr-pay` (ACB, 970416).
    let static_qr = VietQr {
        initiation: Initiation::Static,
        amount: None,
        ..dynamic("970416", "257678859", 1, None)
    };
    let payload =
        "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F";
    assert_eq!(static_qr.payload().unwrap(), payload);
    assert_eq!(parse(payload).unwrap(), static_qr);

    let qr = dynamic("970416", "257678859", 10_000, Some("Chuyen tien"));
    let payload =
        "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA53037045405100005802VN\
                   62150811Chuyen tien630453E6";
    assert_eq!(qr.payload().unwrap(), payload);
    assert_eq!(parse(payload).unwrap(), qr);

    // npm `napas-qr` also writes a bill number (62/01), which banso does not: parsed and skipped.
    let payload =
        "00020101021238530010A0000007270123000697041601092245284790208QRIBFTTA53037045405100005802VN\
                   62340107NPS68690819TRANSFER TO SOMEONE6304AC13";
    assert_eq!(
        parse(payload).unwrap(),
        dynamic("970416", "224528479", 10_000, Some("TRANSFER TO SOMEONE"))
    );
}

#[test]
fn round_trips_every_optional_field() {
    let qrs = [
        VietQr {
            reference_label: Some("KIOSK-07".into()),
            service: Service::ToCard,
            ..dynamic(
                "970436",
                "9704366614528559",
                MAX_AMOUNT,
                Some(&strip_diacritics("Lệ phí BS-2025-000123")),
            )
        },
        VietQr {
            initiation: Initiation::Static,
            ..dynamic("970422", "A1B2C3", 1, None)
        },
        VietQr {
            initiation: Initiation::Static,
            amount: None,
            ..dynamic("970422", "1234567890123456789", 1, None)
        },
    ];
    for qr in qrs {
        let payload = qr.payload().unwrap();
        assert!(payload.is_ascii() && payload.len() <= MAX_PAYLOAD);
        assert_eq!(parse(&payload).unwrap(), qr, "{payload}");
    }
}

#[test]
fn refuses_fields_outside_their_bounds() {
    let ok = dynamic("970415", "0011001932418", 120_000, Some("ung ho lu lut"));
    let cases: Vec<(VietQr, QrError)> = vec![
        (
            VietQr {
                bin: "97041".into(),
                ..ok.clone()
            },
            QrError::Bin,
        ),
        (
            VietQr {
                bin: "97041A".into(),
                ..ok.clone()
            },
            QrError::Bin,
        ),
        (
            VietQr {
                account: String::new(),
                ..ok.clone()
            },
            QrError::Account,
        ),
        (
            VietQr {
                account: "1".repeat(20),
                ..ok.clone()
            },
            QrError::Account,
        ),
        (
            VietQr {
                account: "0011-0019".into(),
                ..ok.clone()
            },
            QrError::Account,
        ),
        (
            VietQr {
                account: "００１".into(),
                ..ok.clone()
            },
            QrError::Account,
        ),
        (
            VietQr {
                amount: Some(0),
                ..ok.clone()
            },
            QrError::Amount,
        ),
        (
            VietQr {
                amount: Some(MAX_AMOUNT + 1),
                ..ok.clone()
            },
            QrError::Amount,
        ),
        (
            VietQr {
                amount: None,
                ..ok.clone()
            },
            QrError::MissingAmount,
        ),
        (
            VietQr {
                purpose: Some("ủng hộ lũ lụt".into()),
                ..ok.clone()
            },
            QrError::NotAscii("the purpose"),
        ),
        (
            VietQr {
                purpose: Some("tab\there".into()),
                ..ok.clone()
            },
            QrError::NotAscii("the purpose"),
        ),
        (
            VietQr {
                purpose: Some(String::new()),
                ..ok.clone()
            },
            QrError::Empty("the purpose"),
        ),
        (
            VietQr {
                purpose: Some("x".repeat(26)),
                ..ok.clone()
            },
            QrError::TooLong {
                field: "the purpose",
                len: 26,
                max: 25,
            },
        ),
        (
            VietQr {
                reference_label: Some("é".into()),
                ..ok.clone()
            },
            QrError::NotAscii("the reference label"),
        ),
    ];
    for (qr, error) in cases {
        assert_eq!(qr.payload(), Err(error.clone()), "{qr:?}");
        assert_eq!(qr.validate(), Err(error));
    }
    // The folded text is accepted.
    let folded = VietQr {
        purpose: Some(strip_diacritics("ủng hộ lũ lụt")),
        ..ok.clone()
    };
    assert_eq!(folded.payload().unwrap(), PRODUCT_VECTOR);
}

#[test]
fn parse_refuses_damaged_or_altered_payloads() {
    // One changed character of the amount: the CRC no longer matches.
    let altered = PRODUCT_VECTOR.replace("5406120000", "5406920000");
    assert_eq!(parse(&altered), Err(QrError::Crc));
    // A lower-case CRC is the same number.
    let lower = PRODUCT_VECTOR.replace("C15C", "c15c");
    assert!(parse(&lower).is_ok());

    let cases: Vec<(String, QrError)> = vec![
        (PRODUCT_VECTOR[..PRODUCT_VECTOR.len() - 1].to_string(), QrError::Structure("")),
        (String::new(), QrError::Structure("")),
        (with_crc("000201010212"), QrError::Missing("")),
        (with_crc("00020101021238"), QrError::Structure("")),
        (with_crc("000201010212389"), QrError::Structure("")),
        (with_crc("0002010102120102"), QrError::Structure("")),
        (with_crc("000201010213"), QrError::Unexpected("")),
        (with_crc("0002020102120102"), QrError::Structure("")),
        (with_crc("0102120002015802VN"), QrError::Structure("")),
        (with_crc(&"0099".repeat(10)), QrError::Structure("")),
        (PRODUCT_VECTOR.replace("A000000727", "A000000728"), QrError::Crc),
        (
            with_crc("00020101021238570010A00000072801270006970415011300110019324180208QRIBFTTA5303704540612000058\
                      02VN"),
            QrError::Unexpected(""),
        ),
        (
            with_crc("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA5303704540612000058\
                      02VN6302ab"),
            QrError::Structure(""),
        ),
        (format!("{PRODUCT_VECTOR}{}", "0"), QrError::Structure("")),
        // A CRC field of length 8 whose value ends in "6304" and a correct CRC: ID 63 must have length 4.
        (with_crc(&format!("{}6308", &PRODUCT_VECTOR[..PRODUCT_VECTOR.len() - 8])), QrError::Structure("")),
        ("Đ".repeat(10), QrError::NotAscii("")),
        ("0".repeat(MAX_PAYLOAD + 1), QrError::TooLong { field: "", len: 0, max: 0 }),
    ];
    for (payload, expected) in cases {
        let error = parse(&payload).unwrap_err();
        assert_eq!(
            std::mem::discriminant(&error),
            std::mem::discriminant(&expected),
            "{payload}: {error}"
        );
    }
}

#[test]
fn parse_never_panics_on_mutations_and_prefixes() {
    for cut in 0..PRODUCT_VECTOR.len() {
        assert!(parse(&PRODUCT_VECTOR[..cut]).is_err());
        // The same prefix with a correct CRC: framing errors are found, not panics.
        let _ = parse(&with_crc(&PRODUCT_VECTOR[..cut]));
    }
    let bytes = PRODUCT_VECTOR.as_bytes();
    for at in 0..bytes.len() {
        for replacement in [b'0', b'9', b'A', b' ', 0xC3] {
            let mut mutated = bytes.to_vec();
            mutated[at] = replacement;
            let text = String::from_utf8_lossy(&mutated).into_owned();
            let body = text.get(..text.len().saturating_sub(8)).unwrap_or_default();
            let _ = parse(&text);
            let _ = parse(&with_crc(body));
        }
    }
}
