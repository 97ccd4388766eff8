//! Tests of VNPAY's IPN, including notifications signed by the independent Python implementation
//! (`python3 scripts/vnpay-sim.py --vectors > crates/core/tests/data/vnpay_vectors.json`).

use crate::payment::vnpay::*;
use serde_json::Value;
use time::macros::datetime;

const SECRET: &[u8] = b"BANSOVNPAYTESTSECRET0123456789AB";
const VECTORS: &str = include_str!("../../tests/data/vnpay_vectors.json");

/// Signs `pairs` the way VNPAY signs an IPN and writes the query it would send.
fn sign(pairs: &[(&str, &str)], secret: &[u8]) -> String {
    let mut sorted = pairs.to_vec();
    sorted.sort();
    let data = hash_data(sorted.iter().copied());
    format!(
        "{data}&vnp_SecureHash={}",
        hex::encode(hmac_sha512(secret, &data).unwrap())
    )
}

fn paid() -> Vec<(&'static str, &'static str)> {
    vec![
        ("vnp_Amount", "5000000"),
        ("vnp_BankCode", "NCB"),
        ("vnp_BankTranNo", "VNP14831393"),
        ("vnp_CardType", "ATM"),
        ("vnp_OrderInfo", "Le phi chung thuc BS2025000123"),
        ("vnp_PayDate", "20250305143258"),
        ("vnp_ResponseCode", "00"),
        ("vnp_TmnCode", "BANSO001"),
        ("vnp_TransactionNo", "14831393"),
        ("vnp_TransactionStatus", "00"),
        ("vnp_TxnRef", "BS2025000123"),
    ]
}

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut pairs = paid();
    for (name, value) in changes {
        match pairs.iter_mut().find(|(n, _)| n == name) {
            Some(pair) => pair.1 = value,
            None => pairs.push((name, value)),
        }
    }
    pairs
}

#[test]
fn ipn_vectors_signed_by_python_verify_or_fail_as_labelled() {
    let vectors: Value = serde_json::from_str(VECTORS).unwrap();
    let cases = vectors["ipn"].as_array().unwrap();
    assert!(cases.iter().filter(|c| c["valid"] == true).count() >= 8);
    assert!(cases.iter().filter(|c| c["valid"] == false).count() >= 5);
    let mut saw_vietnamese = false;
    for case in cases {
        let (name, query) = (case["name"].as_str().unwrap(), case["query"].as_str().unwrap());
        let result = verify_ipn_query(query, SECRET);
        if case["valid"] == false {
            let expected = case["error"].as_str().unwrap();
            match (expected, &result) {
                ("signature", Err(IpnError::BadSignature))
                | ("missing_signature", Err(IpnError::MissingSignature))
                | ("duplicate", Err(IpnError::Duplicate(_))) => {}
                _ => panic!("{name}: expected {expected}, got {result:?}"),
            }
            assert_eq!(
                result.unwrap_err().answer().rsp_code(),
                if expected == "duplicate" { "99" } else { "97" }
            );
            continue;
        }
        let ipn = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let p = |key: &str| case["params"][key].as_str();
        assert_eq!(Some(ipn.txn_ref()), p("vnp_TxnRef"), "{name}");
        assert_eq!(
            ipn.amount_vnd() * 100,
            p("vnp_Amount").unwrap().parse::<u64>().unwrap()
        );
        assert_eq!(Some(ipn.response_code()), p("vnp_ResponseCode"));
        assert_eq!(Some(ipn.transaction_status()), p("vnp_TransactionStatus"));
        assert_eq!(Some(ipn.transaction_no()), p("vnp_TransactionNo"));
        assert_eq!(Some(ipn.bank_code()), p("vnp_BankCode"));
        assert_eq!(ipn.bank_tran_no(), p("vnp_BankTranNo"));
        assert_eq!(ipn.card_type(), p("vnp_CardType"));
        assert_eq!(Some(ipn.order_info()), p("vnp_OrderInfo"));
        assert_eq!(Some(ipn.tmn_code()), p("vnp_TmnCode"));
        assert_eq!(ipn.pay_date(), datetime!(2025-03-05 14:32:58 +7));
        assert_eq!(
            ipn.is_paid(),
            p("vnp_ResponseCode") == Some("00") && p("vnp_TransactionStatus") == Some("00")
        );
        saw_vietnamese |= ipn.order_info() == "Lệ phí chứng thực bản sao số 42: 2 bản";
    }
    assert!(saw_vietnamese);
}

#[test]
fn a_signed_ipn_verifies_and_any_change_breaks_it() {
    let query = sign(&paid(), SECRET);
    let ipn = verify_ipn_query(&query, SECRET).unwrap();
    assert!(ipn.is_paid());
    assert_eq!((ipn.txn_ref(), ipn.amount_vnd()), ("BS2025000123", 50_000));

    // The amount, the result or the reference changed in transit.
    for (from, to) in [
        ("vnp_Amount=5000000", "vnp_Amount=50000000"),
        ("vnp_ResponseCode=00", "vnp_ResponseCode=01"),
        ("vnp_TxnRef=BS2025000123", "vnp_TxnRef=BS2025000124"),
        ("vnp_OrderInfo=Le+phi", "vnp_OrderInfo=Le+phi+"),
    ] {
        assert!(query.contains(from));
        assert_eq!(
            verify_ipn_query(&query.replace(from, to), SECRET),
            Err(IpnError::BadSignature),
            "{to}"
        );
    }
    // The signature is over the decoded values: the same text transported as %20 or %4C is the same IPN.
    let respelled = query.replace("Le+phi", "%4Ce%20phi");
    assert_eq!(verify_ipn_query(&respelled, SECRET), Ok(ipn.clone()));
    assert_eq!(
        verify_ipn_query(&query, b"another secret"),
        Err(IpnError::BadSignature)
    );
    let (unsigned, _) = query.split_once("&vnp_SecureHash=").unwrap();
    assert_eq!(
        verify_ipn_query(unsigned, SECRET),
        Err(IpnError::MissingSignature)
    );
    assert_eq!(
        verify_ipn_query(&format!("{unsigned}&vnp_SecureHash="), SECRET),
        Err(IpnError::MissingSignature)
    );
    assert_eq!(
        verify_ipn_query(&format!("{unsigned}&vnp_SecureHash=zz"), SECRET),
        Err(IpnError::BadSignature)
    );
    let short = &query[..query.len() - 2];
    assert_eq!(verify_ipn_query(short, SECRET), Err(IpnError::BadSignature));
}

#[test]
fn spaces_are_signed_as_plus_not_percent_20() {
    let pairs = with(&[("vnp_OrderInfo", "Le phi chung thuc")]);
    let mut sorted = pairs.clone();
    sorted.sort();
    let data = hash_data(sorted.iter().copied());
    assert!(data.contains("vnp_OrderInfo=Le+phi+chung+thuc&"));
    // A sender that encoded the space as %20 before hashing signed different text: refused.
    let other = data.replace('+', "%20");
    let query = format!(
        "{data}&vnp_SecureHash={}",
        hex::encode(hmac_sha512(SECRET, &other).unwrap())
    );
    assert_eq!(verify_ipn_query(&query, SECRET), Err(IpnError::BadSignature));
}

#[test]
fn bounds_on_what_an_anonymous_caller_sends() {
    let query = sign(&paid(), SECRET);
    assert!(
        matches!(verify_ipn_query(&format!("{query}&vnp_TxnRef=X"), SECRET), Err(IpnError::Duplicate(n)) if n == "vnp_TxnRef")
    );
    // Duplicates are refused even where both copies agree, and among unsigned names.
    assert!(matches!(
        verify_ipn_query(&format!("a=1&a=1&{query}"), SECRET),
        Err(IpnError::Duplicate(_))
    ));
    let many: String = (0..MAX_PARAMS).map(|i| format!("x{i}=1&")).collect();
    assert_eq!(
        verify_ipn_query(&format!("{many}{query}"), SECRET),
        Err(IpnError::TooManyParams)
    );
    let long = "x".repeat(MAX_VALUE + 1);
    assert!(matches!(
        verify_ipn_query(&format!("note={long}&{query}"), SECRET),
        Err(IpnError::ValueTooLong(_))
    ));
    assert_eq!(
        verify_ipn_query(&"a".repeat(MAX_QUERY + 1), SECRET),
        Err(IpnError::TooLong)
    );
    assert_eq!(
        verify_ipn_query(&format!("b%C3%28=1&{query}"), SECRET),
        Err(IpnError::Encoding)
    );
    assert_eq!(
        verify_ipn_query(&format!("vnp-x=1&{query}"), SECRET),
        Err(IpnError::BadName)
    );
    assert_eq!(verify_ipn_query("", SECRET), Err(IpnError::MissingSignature));
    // The slice entry point bounds the count before anything else.
    let pairs: Vec<(String, String)> = (0..=MAX_PARAMS)
        .map(|i| (format!("x{i}"), String::new()))
        .collect();
    assert_eq!(verify_ipn(&pairs, SECRET), Err(IpnError::TooManyParams));
}

#[test]
fn signed_but_malformed_fields_are_refused() {
    let cases: [(&[(&'static str, &'static str)], IpnError); 7] = [
        (&[("vnp_Amount", "5000050")], IpnError::Malformed("vnp_Amount")),
        (&[("vnp_Amount", "-500")], IpnError::Malformed("vnp_Amount")),
        (
            &[("vnp_Amount", "1234567890000")],
            IpnError::Malformed("vnp_Amount"),
        ),
        (
            &[("vnp_PayDate", "20251305143258")],
            IpnError::Malformed("vnp_PayDate"),
        ),
        (
            &[("vnp_ResponseCode", "0")],
            IpnError::Malformed("vnp_ResponseCode"),
        ),
        (&[("vnp_TxnRef", "")], IpnError::Missing("vnp_TxnRef")),
        (
            &[("vnp_BankTranNo", "VNP 1")],
            IpnError::Malformed("vnp_BankTranNo"),
        ),
    ];
    for (changes, error) in cases {
        let query = sign(&with(changes), SECRET);
        assert_eq!(
            verify_ipn_query(&query, SECRET),
            Err(error.clone()),
            "{changes:?}"
        );
        assert_eq!(error.answer(), IpnAnswer::UnknownError);
    }
    let mut missing = paid();
    missing.retain(|(name, _)| *name != "vnp_TransactionStatus");
    assert_eq!(
        verify_ipn_query(&sign(&missing, SECRET), SECRET),
        Err(IpnError::Missing("vnp_TransactionStatus"))
    );
}

#[test]
fn success_needs_both_codes() {
    for (response, status, paid) in [
        ("00", "00", true),
        ("00", "01", false),
        ("24", "00", false),
        ("51", "02", false),
    ] {
        let query = sign(
            &with(&[("vnp_ResponseCode", response), ("vnp_TransactionStatus", status)]),
            SECRET,
        );
        assert_eq!(
            verify_ipn_query(&query, SECRET).unwrap().is_paid(),
            paid,
            "{response}/{status}"
        );
    }
}

#[test]
fn answers_follow_vnpay_reference_order() {
    let ipn = verify_ipn_query(&sign(&paid(), SECRET), SECRET).unwrap();
    assert_eq!(answer_for(&ipn, OrderState::Unknown), IpnAnswer::OrderNotFound);
    assert_eq!(
        answer_for(&ipn, OrderState::Pending { amount_vnd: 50_000 }),
        IpnAnswer::ConfirmSuccess
    );
    assert_eq!(
        answer_for(&ipn, OrderState::Pending { amount_vnd: 5_000 }),
        IpnAnswer::InvalidAmount
    );
    assert_eq!(
        answer_for(&ipn, OrderState::Settled { amount_vnd: 50_000 }),
        IpnAnswer::OrderAlreadyConfirmed
    );
    assert_eq!(
        answer_for(&ipn, OrderState::Settled { amount_vnd: 1 }),
        IpnAnswer::InvalidAmount
    );
    let bodies = [
        (
            IpnAnswer::ConfirmSuccess,
            r#"{"RspCode":"00","Message":"Confirm Success"}"#,
            true,
        ),
        (
            IpnAnswer::OrderNotFound,
            r#"{"RspCode":"01","Message":"Order not found"}"#,
            false,
        ),
        (
            IpnAnswer::OrderAlreadyConfirmed,
            r#"{"RspCode":"02","Message":"Order already confirmed"}"#,
            true,
        ),
        (
            IpnAnswer::InvalidAmount,
            r#"{"RspCode":"04","Message":"Invalid amount"}"#,
            false,
        ),
        (
            IpnAnswer::InvalidSignature,
            r#"{"RspCode":"97","Message":"Invalid signature"}"#,
            false,
        ),
        (
            IpnAnswer::UnknownError,
            r#"{"RspCode":"99","Message":"Unknown error"}"#,
            false,
        ),
    ];
    for (answer, json, ends) in bodies {
        assert_eq!(answer.json(), json);
        assert_eq!(
            serde_json::from_str::<Value>(json).unwrap()["RspCode"],
            answer.rsp_code()
        );
        assert_eq!(answer.ends_retries(), ends);
    }
}
