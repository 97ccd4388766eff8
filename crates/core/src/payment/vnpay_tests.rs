//! Tests of VNPAY's signing rule and payment URL, including URLs built by the independent Python
//! implementation (`python3 scripts/vnpay-sim.py --vectors > crates/core/tests/data/vnpay_vectors.json`).

use crate::payment::form::decode_query;
use crate::payment::vnpay::*;
use serde_json::Value;
use time::{macros::datetime, OffsetDateTime};

const SECRET: &[u8] = b"BANSOVNPAYTESTSECRET0123456789AB";
const VECTORS: &str = include_str!("../../tests/data/vnpay_vectors.json");

fn request() -> PaymentRequest<'static> {
    PaymentRequest {
        tmn_code: "BANSO001",
        amount_vnd: 50_000,
        txn_ref: "BS2025000123",
        order_info: "Le phi chung thuc BS2025000123",
        order_type: "billpayment",
        return_url: "https://kiosk.example.vn/payment/vnpay/return?k=7",
        ip_addr: "203.0.113.9",
        create_date: datetime!(2025-03-05 07:30 UTC),
        expire_date: datetime!(2025-03-05 07:45 UTC),
        locale: Locale::Vn,
        bank_code: None,
    }
}

#[test]
fn hash_data_matches_vnpay_documented_example_and_openssl() {
    // The example payment URL in VNPAY's integration guide, decoded into its parameters.
    let documented = "vnp_Amount=1806000&vnp_Command=pay&vnp_CreateDate=20210801153333&vnp_CurrCode=VND&\
                      vnp_IpAddr=127.0.0.1&vnp_Locale=vn&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other&\
                      vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210&vnp_TxnRef=5&\
                      vnp_Version=2.1.0";
    let mut pairs = decode_query(documented, 4096, 32).unwrap();
    assert_eq!(
        pairs.iter().find(|(k, _)| k == "vnp_OrderInfo").unwrap().1,
        "Thanh toan don hang :5"
    );
    pairs.reverse();
    pairs.sort();
    assert_eq!(
        hash_data(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        documented
    );
    // `printf '%s' "$documented" | openssl dgst -sha512 -hmac BANSO-OPENSSL-CHECK`
    assert_eq!(
        hex::encode(hmac_sha512(b"BANSO-OPENSSL-CHECK", documented).unwrap()),
        "611fff9eadb3fae670d6b5316d097408d7f4206c772753a1eeaae924b0ca8171486f01ad0d0dd1c1d6bc6f7d09eadfa3db85e93074e5\
         835e7e5e62184fc41aeb"
    );
}

#[test]
fn payment_urls_equal_the_python_implementation() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(vectors["secret"].as_str().unwrap().as_bytes(), SECRET);
    let urls = vectors["payment_urls"].as_array().unwrap();
    assert!(urls.len() >= 2);
    for v in urls {
        let text = |key: &str| v[key].as_str().unwrap();
        let date = |key: &str| {
            OffsetDateTime::parse(text(key), &time::format_description::well_known::Rfc3339).unwrap()
        };
        let request = PaymentRequest {
            tmn_code: text("tmn_code"),
            amount_vnd: v["amount_vnd"].as_u64().unwrap(),
            txn_ref: text("txn_ref"),
            order_info: text("order_info"),
            order_type: text("order_type"),
            return_url: text("return_url"),
            ip_addr: text("ip_addr"),
            create_date: date("create_utc"),
            expire_date: date("expire_utc"),
            locale: Locale::Vn,
            bank_code: v["bank_code"].as_str(),
        };
        assert_eq!(
            payment_url(text("base"), &request, SECRET).unwrap(),
            text("url"),
            "{}",
            text("name")
        );
    }
}

#[test]
fn payment_url_is_signed_in_gmt7_and_verifies_like_an_ipn() {
    let url = payment_url(
        "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
        &request(),
        SECRET,
    )
    .unwrap();
    let (_, query) = url.split_once('?').unwrap();
    assert!(query.contains("vnp_CreateDate=20250305143000&"), "{query}");
    assert!(query.contains("vnp_ExpireDate=20250305144500&"));
    assert!(query.contains("vnp_Amount=5000000&") && query.contains("vnp_Version=2.1.0&"));
    // The same signature rule both ways: re-derive the hash from the decoded parameters.
    let mut pairs = decode_query(query, MAX_QUERY, MAX_PARAMS).unwrap();
    let sent = pairs.pop().unwrap();
    assert_eq!(sent.0, "vnp_SecureHash");
    pairs.sort();
    let data = hash_data(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert_eq!(hex::encode(hmac_sha512(SECRET, &data).unwrap()), sent.1);
    // A creation time given in another offset is the same instant.
    let shifted = PaymentRequest {
        create_date: datetime!(2025-03-05 14:30 +7),
        ..request()
    };
    assert_eq!(
        payment_url(
            "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
            &shifted,
            SECRET
        )
        .unwrap(),
        url
    );
}

#[test]
fn payment_url_refuses_what_vnpay_would() {
    let base = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html";
    let field = |name| Err(RequestError::Field(name));
    let cases: Vec<(PaymentRequest, Result<String, RequestError>)> = vec![
        (
            PaymentRequest {
                tmn_code: "BANSO01",
                ..request()
            },
            field("vnp_TmnCode"),
        ),
        (
            PaymentRequest {
                txn_ref: "",
                ..request()
            },
            field("vnp_TxnRef"),
        ),
        (
            PaymentRequest {
                txn_ref: "BS-1",
                ..request()
            },
            field("vnp_TxnRef"),
        ),
        (
            PaymentRequest {
                order_info: "Lệ phí",
                ..request()
            },
            field("vnp_OrderInfo"),
        ),
        (
            PaymentRequest {
                order_info: "fee (2 copies)",
                ..request()
            },
            field("vnp_OrderInfo"),
        ),
        (
            PaymentRequest {
                order_info: "a~b",
                ..request()
            },
            field("vnp_OrderInfo"),
        ),
        (
            PaymentRequest {
                order_type: "",
                ..request()
            },
            field("vnp_OrderType"),
        ),
        (
            PaymentRequest {
                return_url: "/payment/return",
                ..request()
            },
            field("vnp_ReturnUrl"),
        ),
        (
            PaymentRequest {
                return_url: "https://x.vn/a b",
                ..request()
            },
            field("vnp_ReturnUrl"),
        ),
        (
            PaymentRequest {
                ip_addr: "localhost",
                ..request()
            },
            field("vnp_IpAddr"),
        ),
        (
            PaymentRequest {
                ip_addr: "1.2.3.4.5",
                ..request()
            },
            field("vnp_IpAddr"),
        ),
        (
            PaymentRequest {
                bank_code: Some("N"),
                ..request()
            },
            field("vnp_BankCode"),
        ),
        (
            PaymentRequest {
                amount_vnd: 0,
                ..request()
            },
            Err(RequestError::Amount),
        ),
        (
            PaymentRequest {
                amount_vnd: MAX_AMOUNT_VND + 1,
                ..request()
            },
            Err(RequestError::Amount),
        ),
        (
            PaymentRequest {
                expire_date: request().create_date,
                ..request()
            },
            Err(RequestError::Dates),
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(payment_url(base, &request, SECRET), expected, "{request:?}");
    }
    assert_eq!(payment_url(base, &request(), b""), Err(RequestError::Secret));
    for bad in [
        "sandbox.vnpayment.vn/pay",
        "https://x.vn/pay?a=1",
        "https://x.vn/pay#f",
        "ftp://x.vn/pay",
    ] {
        assert_eq!(
            payment_url(bad, &request(), SECRET),
            Err(RequestError::BaseUrl),
            "{bad}"
        );
    }
    let v6 = PaymentRequest {
        ip_addr: "2001:db8::7",
        ..request()
    };
    assert!(payment_url(base, &v6, SECRET)
        .unwrap()
        .contains("vnp_IpAddr=2001%3Adb8%3A%3A7&"));
    let largest = PaymentRequest {
        amount_vnd: MAX_AMOUNT_VND,
        ..request()
    };
    assert!(payment_url(base, &largest, SECRET)
        .unwrap()
        .contains("vnp_Amount=999999999900&"));
}
