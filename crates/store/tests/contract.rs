//! One contract for every registry backend: the same checks run on SQLite (a file) and on PostgreSQL (a fresh
//! database on the server scripts/test.sh starts; `BANSO_TEST_PG_URL`). Numbers, copies, statuses, the log and
//! its audit, tokens, intake records and page fingerprints, the book's lines, issuers racing for numbers, and
//! identity sessions shared by two nodes.

use banso_core::dossier::{Delivery, Dossier, Event, Rating, Satisfaction, Status};
use banso_core::model::{CopyRecord, CopyStatus, IntakeDecision, IntakeRow, Role, TokenRecord};
use banso_core::ports::{
    BookLineStatus, CaRevocation, DossierStore, PageFingerprint, PaymentRow, Registry, SessionStore,
    StoreError, StoredSession,
};
use banso_core::transparency::{audit, issued_record, status_record};
use std::sync::Arc;
use std::time::Duration;
use time::macros::datetime;
use time::OffsetDateTime;

const AT: OffsetDateTime = datetime!(2026-12-02 09:00 UTC);

fn copy(code: &str, sequence: u32, copy_index: u32, request_key: Option<&str>) -> CopyRecord {
    CopyRecord {
        code: code.to_string(),
        request_id: format!("req-{sequence}"),
        copy_index,
        request_key: request_key.map(str::to_string),
        sequence,
        book: 1,
        year: 2026,
        suffix: "SCT/BS".into(),
        holder_id: "001099012345".into(),
        holder_name: "Nguyễn Văn An".into(),
        document_type: "Giấy khai sinh".into(),
        original_pages: 1,
        pdf_pages: 2,
        sha256: format!("{:064x}", sequence * 100 + copy_index),
        fee_vnd: 2_000,
        issuing_body: "UBND phường Bến Nghé".into(),
        signer: "seal".into(),
        status: CopyStatus::Valid,
        status_reason: None,
        decision_number: None,
        pdf_key: format!("copies/{code}.pdf"),
        original_keys: vec![format!("originals/req-{sequence}/001")],
        issued_at: AT,
        updated_at: AT,
        request_digest: request_key.map(|_| "digest".to_string()),
    }
}

fn code(n: u32) -> String {
    format!("C{n:019}")
}

/// Issues one copy under the next number: reserve, (work), commit with its log leaf.
async fn issue(reg: &dyn Registry, n: u32, hold: Duration) -> Result<u32, StoreError> {
    let reservation = reg.reserve_number(2026, "SCT/BS", AT).await?;
    let sequence = reservation.sequence();
    tokio::time::sleep(hold).await;
    let record = copy(&code(n), sequence, 1, None);
    let log = issued_record(&record);
    reservation.commit(&[record], &[log]).await?;
    Ok(sequence)
}

async fn numbers_run_per_book_and_year_and_a_failed_issuance_voids_its_line(reg: &dyn Registry) {
    assert_eq!(issue(reg, 1, Duration::ZERO).await.unwrap(), 1);
    let failed = reg.reserve_number(2026, "SCT/BS", AT).await.unwrap();
    assert_eq!(failed.sequence(), 2);
    failed.void("the scanner jammed").await.unwrap();
    assert_eq!(
        issue(reg, 2, Duration::ZERO).await.unwrap(),
        3,
        "a voided line is not used again"
    );

    // An issuance that never finished (a crash): its line stays pending until voided as stale, and a late
    // commit of it writes nothing.
    let lost = reg.reserve_number(2026, "SCT/BS", AT).await.unwrap();
    assert_eq!(lost.sequence(), 4);
    let stale = reg
        .void_stale_numbers(AT + time::Duration::seconds(1), "the issuance did not finish")
        .await
        .unwrap();
    assert_eq!(stale, 1, "only the pending line");
    let late = copy(&code(3), 4, 1, None);
    let e = lost
        .commit(std::slice::from_ref(&late), &[issued_record(&late)])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert!(reg.copy(&late.code).await.unwrap().is_none());

    let lines: Vec<_> = reg
        .book_lines(2026, "SCT/BS")
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.sequence, l.status, l.void_reason, l.reserved_at))
        .collect();
    assert_eq!(
        lines,
        vec![
            (1, BookLineStatus::Used, None, AT),
            (
                2,
                BookLineStatus::Voided,
                Some("the scanner jammed".to_string()),
                AT
            ),
            (3, BookLineStatus::Used, None, AT),
            (
                4,
                BookLineStatus::Voided,
                Some("the issuance did not finish".to_string()),
                AT
            ),
        ]
    );

    let other_year = reg.reserve_number(2027, "SCT/BS", AT).await.unwrap();
    assert_eq!(other_year.sequence(), 1, "numbering starts again each year");
    other_year.commit(&[], &[]).await.unwrap();
    other_year.void("too late").await.unwrap();
    assert_eq!(
        reg.book_lines(2027, "SCT/BS").await.unwrap()[0].status,
        BookLineStatus::Used,
        "a committed line stays used"
    );
    let other_book = reg.reserve_number(2026, "SCTĐT/BS", AT).await.unwrap();
    assert_eq!(
        other_book.sequence(),
        1,
        "a separate book symbol has its own numbering"
    );
    other_book.commit(&[], &[]).await.unwrap();
}

async fn copies_are_found_by_code_hash_and_request_key_and_a_key_is_used_once(reg: &dyn Registry) {
    let a = copy(&code(10), 10, 1, Some("kiosk-7:1"));
    let b = copy(&code(11), 10, 2, Some("kiosk-7:1"));
    let r = reg.reserve_number(2026, "SCT/BS", AT).await.unwrap();
    r.commit(&[a.clone(), b.clone()], &[issued_record(&a), issued_record(&b)])
        .await
        .unwrap();
    assert_eq!(
        reg.copy(&a.code).await.unwrap().as_ref(),
        Some(&a),
        "every column round-trips"
    );
    assert_eq!(reg.copy_by_sha256(&b.sha256).await.unwrap().as_ref(), Some(&b));
    assert_eq!(
        reg.copies_by_request_key("kiosk-7:1").await.unwrap(),
        vec![a.clone(), b]
    );
    assert!(reg.copy("NOSUCHCODE").await.unwrap().is_none());
    assert!(reg.request_exists(&a.request_id).await.unwrap());
    assert!(!reg.request_exists("req-none").await.unwrap());

    // The same key committed again (a concurrent duplicate of an idempotent request) is a conflict, and
    // nothing of it stays.
    let r = reg.reserve_number(2026, "SCT/BS", AT).await.unwrap();
    let again = copy(&code(12), r.sequence(), 1, Some("kiosk-7:1"));
    let e = r
        .commit(std::slice::from_ref(&again), &[issued_record(&again)])
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert!(reg.copy(&again.code).await.unwrap().is_none());
}

async fn a_status_changes_once_and_each_change_is_logged(reg: &dyn Registry) {
    let c = code(10);
    let log = status_record(&c, CopyStatus::Revoked, "issued in error", None, AT);
    let changed = reg
        .change_status(&c, CopyStatus::Revoked, "issued in error", None, AT, &log)
        .await
        .unwrap();
    assert_eq!(changed.status, CopyStatus::Revoked);
    assert_eq!(changed.status_reason.as_deref(), Some("issued in error"));
    let second = status_record(&c, CopyStatus::CancelledByDecision, "x", Some("12/QĐ"), AT);
    let e = reg
        .change_status(
            &c,
            CopyStatus::CancelledByDecision,
            "x",
            Some("12/QĐ"),
            AT,
            &second,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let e = reg
        .change_status("NOSUCHCODE", CopyStatus::Revoked, "x", None, AT, &log)
        .await
        .unwrap_err();
    assert_eq!(e, StoreError::NotFound);
    let leaves = reg.log_entries(0, 1_000).await.unwrap();
    assert_eq!(
        leaves.iter().filter(|l| l.event == "revoked").count(),
        1,
        "only the change that happened"
    );
}

async fn the_log_reads_back_in_order_and_its_audit_passes(reg: &dyn Registry) {
    // A record appended without a registry change of its own (here the revocation restated, as a bulk load
    // would): the audit still finds the log and the registry agreeing.
    reg.append_log(&[status_record(
        &code(10),
        CopyStatus::Revoked,
        "issued in error",
        None,
        AT,
    )])
    .await
    .unwrap();
    let leaves = reg.log_entries(0, 1_000).await.unwrap();
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(l.index, i as u64);
        assert_eq!(l.leaf_hash, banso_core::transparency::leaf_of(&l.record).1);
    }
    assert_eq!(reg.log_entries(2, 2).await.unwrap(), leaves[2..4].to_vec());
    let report = audit(reg, None).await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.tree_size, leaves.len() as u64);
}

async fn tokens_are_kept_by_hash_revoked_once_and_touched(reg: &dyn Registry) {
    let token = TokenRecord {
        id: "tok1".into(),
        name: "kiosk 7".into(),
        role: Role::Kiosk,
        token_hash: "h1".into(),
        created_at: AT,
        revoked: false,
        expires_at: Some(datetime!(2027-01-01 00:00 UTC)),
        last_used_at: None,
        revoked_at: None,
    };
    reg.insert_token(&token).await.unwrap();
    assert_eq!(reg.token_by_hash("h1").await.unwrap().as_ref(), Some(&token));
    reg.touch_token("tok1", datetime!(2026-12-02 10:00 UTC))
        .await
        .unwrap();
    assert!(reg.revoke_token("tok1", AT).await.unwrap());
    assert!(!reg.revoke_token("tok1", AT).await.unwrap(), "revoked once");
    let listed = reg.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked && listed[0].revoked_at.is_some());
    assert_eq!(listed[0].last_used_at, Some(datetime!(2026-12-02 10:00 UTC)));
}

async fn intake_records_and_their_page_fingerprints_round_trip(reg: &dyn Registry) {
    let fp = |page: u32, d: u8| PageFingerprint {
        page,
        dhash: format!("{d:064x}"),
        content: (page == 0).then(|| "5135a75c554c67a0".to_string()),
    };
    for (i, outcome) in ["issued", "held", "issued"].iter().enumerate() {
        let row = IntakeRow {
            id: format!("intake{i}"),
            recorded_at: AT,
            request_key: None,
            holder_id: "001099012345".into(),
            claimed_type: "Giấy khai sinh".into(),
            recognised_type: (i != 1).then(|| "birth_certificate".to_string()),
            device: (i == 2).then(|| "kiosk-7".to_string()),
            decision: IntakeDecision::AutoIssue,
            reason: String::new(),
            report: "{}".into(),
            outcome: "pending".into(),
            codes: Vec::new(),
        };
        reg.insert_intake(&row).await.unwrap();
        let codes = vec![code(100 + i as u32), code(200 + i as u32)];
        let pages = [fp(0, i as u8), fp(1, i as u8 + 10)];
        reg.finish_intake(
            &row.id,
            outcome,
            &codes,
            if *outcome == "issued" { &pages } else { &[] },
        )
        .await
        .unwrap();
        let kept = reg.intake(&row.id).await.unwrap().unwrap();
        assert_eq!(kept.outcome, *outcome);
        assert_eq!(kept.codes, codes);
        assert_eq!(kept.claimed_type, "Giấy khai sinh");
        assert_eq!(kept.recognised_type, row.recognised_type);
        assert_eq!(kept.device, row.device);
    }
    assert!(reg.intake("nosuch").await.unwrap().is_none());
    let briefs = reg
        .intake_since(AT - time::Duration::seconds(1), 10)
        .await
        .unwrap();
    let from_kiosk = |d: Option<&str>| briefs.iter().filter(|b| b.device.as_deref() == d).count();
    assert_eq!(
        (from_kiosk(Some("kiosk-7")), from_kiosk(None)),
        (1, 2),
        "the kiosk a request came from"
    );
    let previous = reg.previous_pages(3).await.unwrap();
    assert_eq!(previous.len(), 3, "newest first, at most the limit");
    assert_eq!(previous[0].fingerprint, fp(1, 12));
    assert_eq!(
        previous[0].reference,
        format!("{},{} page 2", code(102), code(202))
    );
    assert_eq!(previous[1].fingerprint, fp(0, 2));
    assert_eq!(
        previous[2].fingerprint,
        fp(1, 10),
        "the held request's pages are not kept"
    );
}

/// `issuers` × 3 tasks race for numbers, each holding its number while it "composes"; every third fails and
/// voids its line. The numbers are distinct, every line up to the last is used or voided (none left pending),
/// the used lines are exactly the copies' numbers, and the log audit passes afterwards.
async fn concurrent_issuers_get_distinct_numbers_used_or_voided(reg: Arc<dyn Registry>, issuers: u32) {
    let tasks: Vec<_> = (0..issuers * 3)
        .map(|i| {
            let reg = reg.clone();
            tokio::spawn(async move {
                let reservation = reg.reserve_number(2030, "SCT/BS", AT).await.unwrap();
                let sequence = reservation.sequence();
                tokio::time::sleep(Duration::from_millis(20)).await;
                if i % 3 == 2 {
                    reservation.void("the signer failed").await.unwrap();
                    return (sequence, false);
                }
                let mut record = copy(&code(10_000 + i), sequence, 1, None);
                record.year = 2030;
                let log = issued_record(&record);
                reservation.commit(&[record], &[log]).await.unwrap();
                (sequence, true)
            })
        })
        .collect();
    let mut taken = Vec::new();
    for t in tasks {
        taken.push(t.await.unwrap());
    }
    taken.sort_unstable();
    let all: Vec<u32> = (1..=issuers * 3).collect();
    assert_eq!(
        taken.iter().map(|t| t.0).collect::<Vec<_>>(),
        all,
        "distinct, none skipped"
    );
    let lines = reg.book_lines(2030, "SCT/BS").await.unwrap();
    assert_eq!(lines.iter().map(|l| l.sequence).collect::<Vec<_>>(), all);
    for ((sequence, used), line) in taken.iter().zip(&lines) {
        let want = if *used {
            BookLineStatus::Used
        } else {
            BookLineStatus::Voided
        };
        assert_eq!(line.status, want, "line {sequence}");
    }
    let report = audit(reg.as_ref(), None).await.unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

async fn ca_revocations_are_kept_once_in_order(reg: &dyn Registry) {
    assert!(reg.ca_revocations().await.unwrap().is_empty());
    let first = CaRevocation {
        serial: CaRevocation::normalise_serial("00:1A:2b").unwrap(),
        revoked_at: AT,
        reason: 1,
    };
    assert_eq!(first.serial, "1a2b");
    assert_eq!(CaRevocation::normalise_serial("0x1A2B").as_deref(), Some("1a2b"));
    assert_eq!(CaRevocation::normalise_serial("not-hex"), None);
    assert_eq!(CaRevocation::normalise_serial(""), None);
    assert!(reg.add_ca_revocation(&first).await.unwrap());
    let again = CaRevocation {
        revoked_at: AT + time::Duration::hours(1),
        reason: 4,
        ..first.clone()
    };
    assert!(
        !reg.add_ca_revocation(&again).await.unwrap(),
        "the first revocation stands"
    );
    let second = CaRevocation {
        serial: "ff".into(),
        revoked_at: AT + time::Duration::minutes(1),
        reason: 0,
    };
    assert!(reg.add_ca_revocation(&second).await.unwrap());
    assert_eq!(reg.ca_revocations().await.unwrap(), vec![first, second]);
}

async fn a_copy_is_pointed_at_a_new_object_once_and_its_earlier_ones_kept(reg: &dyn Registry) {
    let c = code(11);
    let first = reg.copy(&c).await.unwrap().unwrap().pdf_key;
    assert!(reg.earlier_pdfs(&c).await.unwrap().is_empty());
    let second = format!("copies/{c}.1.pdf");
    reg.replace_pdf(&c, &first, &second, AT).await.unwrap();
    assert_eq!(reg.copy(&c).await.unwrap().unwrap().pdf_key, second);
    // A replacement racing with another (it expected the first object): refused, nothing changed.
    let e = reg
        .replace_pdf(&c, &first, &format!("copies/{c}.2.pdf"), AT)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert_eq!(reg.copy(&c).await.unwrap().unwrap().pdf_key, second);
    let third = format!("copies/{c}.3.pdf");
    reg.replace_pdf(&c, &second, &third, AT + time::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(reg.earlier_pdfs(&c).await.unwrap(), vec![first, second]);
}

async fn a_payment_is_settled_once_and_spent_once(reg: &dyn Registry) {
    let p = PaymentRow {
        reference: "PAYREF0001".into(),
        device: "kiosk-1".into(),
        request_digest: "d".repeat(64),
        holder_id: "001099012345".into(),
        amount_vnd: 8_000,
        status: "pending".into(),
        created_at: AT,
        settled_at: None,
        gateway_ref: None,
        used_by: None,
    };
    reg.insert_payment(&p).await.unwrap();
    assert!(
        reg.insert_payment(&p).await.is_err(),
        "a reference is recorded once"
    );
    assert_eq!(reg.payment("PAYREF0001").await.unwrap(), Some(p.clone()));
    assert_eq!(reg.payment("NOSUCH").await.unwrap(), None);
    // Not paid: cannot be spent.
    assert!(!reg.use_payment("PAYREF0001", "key-1").await.unwrap());
    // Settled once: the second notification changes nothing.
    let later = AT + time::Duration::minutes(2);
    assert!(reg
        .settle_payment("PAYREF0001", true, "14000001", later)
        .await
        .unwrap());
    assert!(!reg
        .settle_payment("PAYREF0001", false, "14000002", later)
        .await
        .unwrap());
    assert!(!reg.settle_payment("NOSUCH", true, "1", later).await.unwrap());
    let paid = reg.payment("PAYREF0001").await.unwrap().unwrap();
    assert_eq!(
        (paid.status.as_str(), paid.settled_at, paid.gateway_ref.as_deref()),
        ("paid", Some(later), Some("14000001"))
    );
    // Spent once: the same request again (a retry) yes, another no.
    assert!(reg.use_payment("PAYREF0001", "key-1").await.unwrap());
    assert!(reg.use_payment("PAYREF0001", "key-1").await.unwrap());
    assert!(!reg.use_payment("PAYREF0001", "key-2").await.unwrap());
    let used = reg.payment("PAYREF0001").await.unwrap().unwrap();
    assert_eq!(
        (used.status.as_str(), used.used_by.as_deref()),
        ("used", Some("key-1"))
    );
    // Given back only by the key that spent it; then another may spend it.
    assert!(!reg.release_payment("PAYREF0001", "key-2").await.unwrap());
    assert!(reg.release_payment("PAYREF0001", "key-1").await.unwrap());
    assert!(!reg.release_payment("PAYREF0001", "key-1").await.unwrap());
    let released = reg.payment("PAYREF0001").await.unwrap().unwrap();
    assert_eq!((released.status.as_str(), released.used_by), ("paid", None));
    assert!(reg.use_payment("PAYREF0001", "key-2").await.unwrap());
    assert!(!reg.use_payment("PAYREF0001", "key-1").await.unwrap());
    // A failed payment is never spent.
    let failed = PaymentRow {
        reference: "PAYREF0002".into(),
        ..p
    };
    reg.insert_payment(&failed).await.unwrap();
    assert!(reg.settle_payment("PAYREF0002", false, "0", later).await.unwrap());
    assert_eq!(reg.payment("PAYREF0002").await.unwrap().unwrap().status, "failed");
    assert!(!reg.use_payment("PAYREF0002", "key-3").await.unwrap());
    assert!(!reg.release_payment("PAYREF0002", "key-3").await.unwrap());
}

/// After the copies the earlier checks issued (all to the same holder): the holder's copies newest first,
/// bounded, and nobody else's.
async fn a_holders_copies_are_listed_newest_first(reg: &dyn Registry) {
    let all = reg.copies_by_holder("001099012345", 1000).await.unwrap();
    assert!(all.len() >= 4, "{}", all.len());
    assert!(all.windows(2).all(|w| w[0].issued_at >= w[1].issued_at));
    assert_eq!(reg.copies_by_holder("001099012345", 2).await.unwrap().len(), 2);
    assert!(reg
        .copies_by_holder("079199001234", 1000)
        .await
        .unwrap()
        .is_empty());
}

async fn ratings_are_counted_by_score(reg: &dyn Registry) {
    for score in [5, 5, 4, 1] {
        reg.add_rating("kiosk-1", score, AT).await.unwrap();
    }
    reg.add_rating("kiosk-1", 3, AT - time::Duration::days(40))
        .await
        .unwrap();
    assert_eq!(
        reg.rating_counts(AT - time::Duration::days(1)).await.unwrap(),
        [1, 0, 0, 1, 2]
    );
    assert_eq!(
        reg.rating_counts(AT - time::Duration::days(60)).await.unwrap(),
        [1, 0, 1, 1, 2]
    );
}

fn dossier(code: &str, holder: &str, at: OffsetDateTime) -> Dossier {
    Dossier {
        code: code.into(),
        lookup_mac: "ab".repeat(32),
        procedure: "dang-ky-khai-sinh".into(),
        procedure_code: "1.001193".into(),
        procedure_name: "Đăng ký khai sinh".into(),
        body: "UBND phường Việt Hưng".into(),
        holder_id: holder.into(),
        holder_name: "NGUYỄN VĂN AN".into(),
        identified_by: "app".into(),
        channel: "kiosk".into(),
        email: Some("an@example.vn".into()),
        form: [("child_name".to_string(), "Nguyễn Văn Bình".to_string())].into(),
        prefilled: vec!["declarant_id".into()],
        attachments: Vec::new(),
        requested: Vec::new(),
        status: Status::Received,
        officer: None,
        fee_vnd: 0,
        fee_paid: None,
        received_at: at,
        due: time::macros::date!(2026 - 12 - 04),
        slip_object: Some(format!("dossiers/{code}/slip.pdf")),
        result_object: None,
        refusal: None,
        version: 1,
        key: None,
    }
}

fn event(code: &str, kind: &str, status: Status, at: OffsetDateTime) -> Event {
    Event {
        seq: 0,
        dossier: code.into(),
        kind: kind.into(),
        status,
        at,
        actor: "officer-1".into(),
        note: format!("{kind} note"),
    }
}

fn delivery(id: &str, at: OffsetDateTime) -> Delivery {
    Delivery {
        id: id.into(),
        target: "webhook:http://127.0.0.1:9/hook".into(),
        body: format!("{{\"id\":\"{id}\"}}"),
        attempts: 0,
        next_at: at,
        state: "pending".into(),
        last_error: None,
        created_at: at,
    }
}

/// Dossier codes count per prefix; a dossier reads back whole; a change is written only over the version it
/// read (a second officer acting on the same version changes nothing, and no event or delivery of theirs is
/// kept); the timeline and the global feed read back in order; a holder's dossiers newest first.
async fn a_dossier_changes_only_over_the_version_it_read(store: &dyn DossierStore) {
    assert_eq!(store.next_dossier_number("UBND-VH-261202-").await.unwrap(), 1);
    assert_eq!(store.next_dossier_number("UBND-VH-261202-").await.unwrap(), 2);
    assert_eq!(store.next_dossier_number("UBND-VH-261203-").await.unwrap(), 1);
    let d = dossier("UBND-VH-261202-0001", "001080012345", AT);
    store
        .insert_dossier(
            &d,
            &event(&d.code, "received", Status::Received, AT),
            &[delivery("msg_a", AT)],
        )
        .await
        .unwrap();
    assert_eq!(store.dossier(&d.code).await.unwrap().as_ref(), Some(&d));
    assert_eq!(store.dossier("UBND-VH-261202-0009").await.unwrap(), None);
    let dup = store
        .insert_dossier(&d, &event(&d.code, "received", Status::Received, AT), &[])
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let later = AT + time::Duration::minutes(5);
    let mut first = d.clone();
    first.status = Status::InProcessing;
    first.officer = Some("officer-1".into());
    first.version = 2;
    let mut second = first.clone();
    second.officer = Some("officer-2".into());
    assert!(store
        .update_dossier(
            &first,
            1,
            &event(&d.code, "assign", Status::InProcessing, later),
            &[delivery("msg_b", later)]
        )
        .await
        .unwrap());
    assert!(!store
        .update_dossier(
            &second,
            1,
            &event(&d.code, "assign", Status::InProcessing, later),
            &[delivery("msg_c", later)]
        )
        .await
        .unwrap());
    assert_eq!(
        store.dossier(&d.code).await.unwrap().unwrap().officer.as_deref(),
        Some("officer-1")
    );
    let timeline = store.dossier_events(&d.code).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|e| (e.kind.as_str(), e.status))
            .collect::<Vec<_>>(),
        [("received", Status::Received), ("assign", Status::InProcessing)]
    );
    assert!(timeline[0].seq < timeline[1].seq);
    assert_eq!(timeline[1].at, later);
    let other = dossier("UBND-VH-261202-0002", "001080012345", later);
    store
        .insert_dossier(
            &other,
            &event(&other.code, "received", Status::Received, later),
            &[],
        )
        .await
        .unwrap();
    // As the dashboard counts them: procedure, channel, when; from a time on.
    assert_eq!(
        store.dossiers_since(later, 10).await.unwrap(),
        [banso_core::ports::DossierBrief {
            procedure: "dang-ky-khai-sinh".into(),
            channel: Some("kiosk".into()),
            received_at: later,
        }]
    );
    assert_eq!(store.dossiers_since(AT, 10).await.unwrap().len(), 2);
    assert_eq!(store.dossiers_since(AT, 1).await.unwrap()[0].received_at, AT);
    let feed = store.events_after(0, 10).await.unwrap();
    assert_eq!(feed.len(), 3);
    let rest = store.events_after(feed[0].seq, 10).await.unwrap();
    assert_eq!(rest, feed[1..]);
    assert_eq!(store.events_after(feed[0].seq, 1).await.unwrap(), feed[1..2]);
    let mine = store.dossiers_by_holder("001080012345", 10).await.unwrap();
    assert_eq!(
        mine.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        ["UBND-VH-261202-0002", "UBND-VH-261202-0001"]
    );
    assert!(store
        .dossiers_by_holder("079200000001", 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.procedure_counts().await.unwrap(),
        [("dang-ky-khai-sinh".to_string(), 2)]
    );
    // Open dossiers, oldest first; a closed one is not among them.
    let open = |limit| async move {
        store
            .open_dossiers(limit)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.code)
            .collect::<Vec<_>>()
    };
    assert_eq!(open(10).await, ["UBND-VH-261202-0001", "UBND-VH-261202-0002"]);
    assert_eq!(open(1).await, ["UBND-VH-261202-0001"]);
    let mut closed = other.clone();
    closed.status = Status::Refused;
    closed.version = other.version + 1;
    assert!(store
        .update_dossier(
            &closed,
            other.version,
            &event(&other.code, "refuse", Status::Refused, later),
            &[],
        )
        .await
        .unwrap());
    assert_eq!(open(10).await, ["UBND-VH-261202-0001"]);
}

/// One rating per dossier and step.
async fn a_dossiers_step_is_rated_once(store: &dyn DossierStore) {
    let r = Rating {
        dossier: "UBND-VH-261202-0001".into(),
        step: "service".into(),
        level: Satisfaction::VerySatisfied,
        reasons: vec!["fast".into()],
        comment: "Cán bộ nhiệt tình".into(),
        officer: None,
        procedure: "1.001193".into(),
        at: AT,
    };
    assert!(store.add_dossier_rating(&r).await.unwrap());
    let again = Rating {
        level: Satisfaction::NotSatisfied,
        ..r.clone()
    };
    assert!(!store.add_dossier_rating(&again).await.unwrap());
    let result = Rating {
        step: "result".into(),
        officer: Some("officer-1".into()),
        at: AT + time::Duration::days(2),
        ..r.clone()
    };
    assert!(store.add_dossier_rating(&result).await.unwrap());
    assert_eq!(
        store.dossier_ratings(&r.dossier).await.unwrap(),
        [r.clone(), result.clone()]
    );
    assert_eq!(
        store
            .ratings_since(AT + time::Duration::days(1), 10)
            .await
            .unwrap(),
        std::slice::from_ref(&result)
    );
    assert_eq!(store.ratings_since(AT, 1).await.unwrap(), [r]);
}

/// A due delivery is claimed by one worker only (until its lease ends), retried later, delivered or dead.
async fn deliveries_are_claimed_once_then_retried_delivered_or_dead(store: Arc<dyn DossierStore>) {
    // msg_a and msg_b were written with the dossier's events above; msg_c was not (its change lost).
    let now = AT + time::Duration::hours(1);
    let lease = now + time::Duration::minutes(2);
    let (a, b) = tokio::join!(
        store.claim_deliveries(now, lease, 10),
        store.claim_deliveries(now, lease, 10)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut claimed: Vec<_> = a.iter().chain(&b).map(|d| d.id.clone()).collect();
    claimed.sort();
    assert_eq!(claimed, ["msg_a", "msg_b"], "each claimed once");
    assert!(
        store.claim_deliveries(now, lease, 10).await.unwrap().is_empty(),
        "leased"
    );
    store
        .record_attempt("msg_a", "delivered", 1, now, None)
        .await
        .unwrap();
    let retry = now + time::Duration::seconds(30);
    store
        .record_attempt("msg_b", "pending", 1, retry, Some("HTTP 503"))
        .await
        .unwrap();
    assert!(
        store.claim_deliveries(now, lease, 10).await.unwrap().is_empty(),
        "not yet"
    );
    let again = store.claim_deliveries(retry, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (
            again[0].id.as_str(),
            again[0].attempts,
            again[0].last_error.as_deref()
        ),
        ("msg_b", 1, Some("HTTP 503"))
    );
    store
        .record_attempt("msg_b", "dead", 8, retry, Some("HTTP 500"))
        .await
        .unwrap();
    let dead = store.deliveries_in("dead", 10).await.unwrap();
    assert_eq!(dead.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["msg_b"]);
    assert_eq!(store.deliveries_in("delivered", 10).await.unwrap().len(), 1);
    assert!(store
        .claim_deliveries(retry + time::Duration::days(1), lease, 10)
        .await
        .unwrap()
        .is_empty());
}

/// Officers' accounts: a username once; failures counted to the lock and reset by a good login; a TOTP step
/// taken once, and never an earlier one; sessions stored, touched and deleted; the audit log chained in one
/// line even when appended from many tasks at once.
async fn office_contract(store: Arc<dyn banso_core::ports::OfficeStore>) {
    use banso_core::office::{audit_breaks, OfficeRole, OfficeSession, Officer};
    let t0 = OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap();
    let an = Officer {
        username: "an.nguyen".into(),
        full_name: "Nguyễn Văn An".into(),
        role: OfficeRole::Supervisor,
        body: "UBND phường Việt Hưng".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_secret: vec![7; 20],
        totp_last_step: 0,
        failures: 0,
        locked_until: None,
        created_at: t0,
        disabled: false,
    };
    store.insert_officer(&an).await.unwrap();
    assert!(matches!(
        store.insert_officer(&an).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.officer("an.nguyen").await.unwrap(), Some(an.clone()));
    assert_eq!(store.officer("nobody").await.unwrap(), None);
    let other_body = Officer {
        username: "an.other".into(),
        body: "UBND phường Long Biên".into(),
        ..an.clone()
    };
    store.insert_officer(&other_body).await.unwrap();
    assert_eq!(
        store.officers_of("UBND phường Việt Hưng").await.unwrap(),
        vec![an.clone()],
        "only the body's own accounts"
    );
    let lock = t0 + time::Duration::minutes(15);
    for n in 1..=4 {
        assert_eq!(store.login_failed("an.nguyen", 5, t0, lock).await.unwrap(), n);
    }
    assert_eq!(
        store.officer("an.nguyen").await.unwrap().unwrap().locked_until,
        None
    );
    assert_eq!(store.login_failed("an.nguyen", 5, t0, lock).await.unwrap(), 5);
    assert_eq!(
        store.officer("an.nguyen").await.unwrap().unwrap().locked_until,
        Some(lock)
    );
    assert_eq!(store.login_failed("nobody", 5, t0, lock).await.unwrap(), 0);
    // Once the lock has ended, the count starts again: one more failure does not lock it again.
    assert_eq!(
        store
            .login_failed("an.nguyen", 5, lock, lock + time::Duration::minutes(15))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.officer("an.nguyen").await.unwrap().unwrap().locked_until,
        None
    );
    store.login_succeeded("an.nguyen").await.unwrap();
    let back = store.officer("an.nguyen").await.unwrap().unwrap();
    assert_eq!((back.failures, back.locked_until), (0, None));
    assert!(store.take_totp_step("an.nguyen", 100).await.unwrap());
    assert!(!store.take_totp_step("an.nguyen", 100).await.unwrap(), "taken");
    assert!(!store.take_totp_step("an.nguyen", 99).await.unwrap(), "earlier");
    assert!(store.take_totp_step("an.nguyen", 101).await.unwrap());
    let s = OfficeSession {
        id: "a".repeat(64),
        username: "an.nguyen".into(),
        csrf: "csrf-token".into(),
        created_at: t0,
        last_seen: t0,
        verified: true,
    };
    store.insert_office_session(&s).await.unwrap();
    assert_eq!(store.office_session(&s.id).await.unwrap(), Some(s.clone()));
    let later = t0 + time::Duration::minutes(3);
    store.touch_office_session(&s.id, later).await.unwrap();
    assert_eq!(
        store.office_session(&s.id).await.unwrap().unwrap().last_seen,
        later
    );
    store.delete_office_session(&s.id).await.unwrap();
    assert_eq!(store.office_session(&s.id).await.unwrap(), None);
    // The audit log: one line, even from 16 tasks at once.
    let first = store
        .append_audit(t0, "an.nguyen", "login", "", "127.0.0.1")
        .await
        .unwrap();
    assert_eq!(
        (first.seq, first.prev.as_str()),
        (1, banso_core::office::AUDIT_GENESIS)
    );
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .append_audit(
                        t0 + time::Duration::nanoseconds(i),
                        "an.nguyen",
                        "looked",
                        &format!("item {i}"),
                        "::1",
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let all = store.audit_entries(0, 100).await.unwrap();
    assert_eq!(all.len(), 17);
    assert_eq!(audit_breaks(&all), None, "chained in one line");
    assert_eq!(store.audit_entries(15, 100).await.unwrap().len(), 2);
    assert_eq!(store.audit_entries(0, 5).await.unwrap().len(), 5);
    let key = banso_core::office::Passkey {
        id: "Y3JlZC0x".into(),
        username: "an.nguyen".into(),
        public_key: vec![4; 65],
        sign_count: 3,
        label: "Khóa của An".into(),
        created_at: t0,
    };
    // A one-time enrolment code: used once, and not after it expired.
    store
        .insert_enrolment("hash-1", "Ki-ốt số 2", "quan.tri", t0 + time::Duration::hours(24))
        .await
        .unwrap();
    store
        .insert_enrolment(
            "hash-old",
            "Ki-ốt cũ",
            "quan.tri",
            t0 - time::Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store.take_enrolment("hash-old", t0).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(
        store.take_enrolment("hash-1", t0).await.unwrap().as_deref(),
        Some("Ki-ốt số 2")
    );
    assert_eq!(
        store.take_enrolment("hash-1", t0).await.unwrap(),
        None,
        "used once"
    );
    store.device_seen("tok-1", "Ki-ốt số 2", t0, "{}").await.unwrap();
    let later = t0 + time::Duration::seconds(30);
    store
        .device_seen("tok-1", "Ki-ốt số 2", later, r#"{"scanner":"ok"}"#)
        .await
        .unwrap();
    let devices = store.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(
        (
            devices[0].enrolled_at,
            devices[0].last_seen,
            devices[0].state.as_str()
        ),
        (t0, Some(later), r#"{"scanner":"ok"}"#)
    );
    store.insert_passkey(&key).await.unwrap();
    assert!(matches!(
        store.insert_passkey(&key).await,
        Err(banso_core::ports::StoreError::Conflict(_))
    ));
    assert_eq!(
        store.passkeys_of("an.nguyen").await.unwrap(),
        std::slice::from_ref(&key)
    );
    assert!(store.passkeys_of("nobody").await.unwrap().is_empty());
    assert!(!store.advance_passkey(&key.id, 3).await.unwrap(), "not forward");
    assert!(!store.advance_passkey(&key.id, 0).await.unwrap(), "not back to 0");
    assert!(store.advance_passkey(&key.id, 4).await.unwrap());
    a_held_request_is_claimed_by_one_officer_and_decided_once(store, t0).await;
}

async fn a_held_request_is_claimed_by_one_officer_and_decided_once(
    store: Arc<dyn banso_core::ports::OfficeStore>,
    t0: time::OffsetDateTime,
) {
    use banso_core::office::{HeldRequest, Review, ReviewState, CLAIM_HOLDS};
    let held = |id: &str, at: time::OffsetDateTime| Review {
        id: id.into(),
        state: ReviewState::Waiting,
        held_at: at,
        claimed_by: None,
        claimed_at: None,
        decided_by: None,
        decided_at: None,
        request: HeldRequest {
            holder_id: "001099012345".into(),
            holder_name: "Nguyễn Văn An".into(),
            document_type: "Giấy khai sinh".into(),
            copies: 2,
            reason: "a field could not be read".into(),
            pages: vec![format!("held/{id}/001")],
            device: Some("kiosk-1".into()),
            ground: None,
            codes: Vec::new(),
            notice: None,
        },
        notify: None,
    };
    let a = held("review-a", t0);
    store.insert_review(&a).await.unwrap();
    store
        .insert_review(&held("review-b", t0 - time::Duration::minutes(1)))
        .await
        .unwrap();
    assert!(matches!(
        store.insert_review(&a).await,
        Err(banso_core::ports::StoreError::Conflict(_))
    ));
    assert_eq!(store.review("review-a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.review("nothing").await.unwrap(), None);
    let waiting: Vec<_> = store
        .waiting_reviews(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(waiting, ["review-b", "review-a"], "the oldest first");
    assert_eq!(store.waiting_reviews(1).await.unwrap().len(), 1);

    // Eight officers claim at once: one holds it.
    let now = t0 + time::Duration::minutes(2);
    let lapsed = now - CLAIM_HOLDS;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_review("review-a", &format!("officer-{i}"), now, lapsed)
                    .await
                    .unwrap()
                    .then_some(i)
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        won.extend(t.await.unwrap());
    }
    assert_eq!(won.len(), 1, "one claim holds: {won:?}");
    let winner = format!("officer-{}", won[0]);
    let loser = format!("officer-{}", (won[0] + 1) % 8);
    assert!(
        store
            .claim_review("review-a", &winner, now, lapsed)
            .await
            .unwrap(),
        "again, by its holder"
    );
    let mut ended = a.request.clone();
    ended.codes = vec!["ABCD".into()];
    assert!(
        !store
            .finish_review("review-a", &loser, ReviewState::Approved, &ended, now, lapsed)
            .await
            .unwrap(),
        "not the claim's holder"
    );
    // A claim lapses: another officer may take the request over, and the first can no longer decide it.
    let later = now + CLAIM_HOLDS + time::Duration::seconds(1);
    assert!(store
        .claim_review("review-a", &loser, later, later - CLAIM_HOLDS)
        .await
        .unwrap());
    assert!(!store
        .finish_review(
            "review-a",
            &winner,
            ReviewState::Approved,
            &ended,
            later,
            later - CLAIM_HOLDS
        )
        .await
        .unwrap());
    assert!(store
        .finish_review(
            "review-a",
            &loser,
            ReviewState::Approved,
            &ended,
            later,
            later - CLAIM_HOLDS
        )
        .await
        .unwrap());
    let back = store.review("review-a").await.unwrap().unwrap();
    assert_eq!(
        (
            back.state,
            back.decided_by.as_deref(),
            back.decided_at,
            back.request.codes.clone()
        ),
        (
            ReviewState::Approved,
            Some(loser.as_str()),
            Some(later),
            vec!["ABCD".to_string()]
        )
    );
    // Decided once: neither claimed nor decided again.
    assert!(!store
        .claim_review("review-a", &winner, later, later)
        .await
        .unwrap());
    assert!(!store
        .finish_review(
            "review-a",
            &loser,
            ReviewState::Refused,
            &ended,
            later,
            later - CLAIM_HOLDS
        )
        .await
        .unwrap());
    let waiting: Vec<_> = store
        .waiting_reviews(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(waiting, ["review-b"]);
    let holder: Vec<_> = store
        .holder_reviews("001099012345", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(holder, ["review-a"], "the decided ones only");
    let since: Vec<_> = store
        .reviews_since(t0 - time::Duration::seconds(30), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(since, ["review-a"], "held since then, decided or not");

    // The citizen's address for the outcome: kept while the request waits and through its decision; refused
    // once it is decided.
    assert_eq!(
        store.notify_review("review-b", "an@example.vn").await.unwrap(),
        Some(ReviewState::Waiting)
    );
    // Decided without an address: taken once, then no more.
    let decided = store.notify_review("review-a", "an@example.vn").await.unwrap();
    assert!(decided.is_some_and(|s| s != ReviewState::Waiting), "{decided:?}");
    assert_eq!(
        store.notify_review("review-a", "other@example.vn").await.unwrap(),
        None
    );
    assert_eq!(
        store.review("review-a").await.unwrap().unwrap().notify.as_deref(),
        Some("an@example.vn")
    );
    assert_eq!(
        store.notify_review("nothing", "an@example.vn").await.unwrap(),
        None
    );
    let b_at = t0 + time::Duration::minutes(3);
    assert!(store
        .claim_review("review-b", "officer-b", b_at, b_at - CLAIM_HOLDS)
        .await
        .unwrap());
    let b = store.review("review-b").await.unwrap().unwrap();
    assert!(store
        .finish_review(
            "review-b",
            "officer-b",
            ReviewState::Refused,
            &b.request,
            b_at,
            b_at - CLAIM_HOLDS
        )
        .await
        .unwrap());
    let b = store.review("review-b").await.unwrap().unwrap();
    assert_eq!(
        (b.state, b.notify.as_deref()),
        (ReviewState::Refused, Some("an@example.vn"))
    );
}

/// A submission key is taken with its dossier, once: a second dossier with the key is refused and nothing of
/// it is written, whichever connection files it; the key finds the first dossier.
async fn a_submission_key_files_one_dossier(store: &dyn DossierStore) {
    let key = "kiosk-7:visit-1f2e";
    assert_eq!(store.dossier_by_key(key).await.unwrap(), None);
    let mut first = dossier("UBND-VH-261204-0001", "001080099999", AT);
    first.key = Some(key.into());
    let mut second = dossier("UBND-VH-261204-0002", "001080099999", AT);
    second.key = Some(key.into());
    let (e1, e2) = (
        event(&first.code, "received", Status::Received, AT),
        event(&second.code, "received", Status::Received, AT),
    );
    let (a, b) = tokio::join!(
        store.insert_dossier(&first, &e1, &[]),
        store.insert_dossier(&second, &e2, &[]),
    );
    let won = match (&a, &b) {
        (Ok(()), Err(StoreError::Conflict(_))) => &first,
        (Err(StoreError::Conflict(_)), Ok(())) => &second,
        other => panic!("one dossier per key: {other:?}"),
    };
    let lost = if won.code == first.code { &second } else { &first };
    assert_eq!(
        store.dossier_by_key(key).await.unwrap().as_deref(),
        Some(won.code.as_str())
    );
    assert_eq!(store.dossier(&won.code).await.unwrap().as_ref(), Some(won));
    assert_eq!(store.dossier(&lost.code).await.unwrap(), None);
    assert!(store.dossier_events(&lost.code).await.unwrap().is_empty());
    assert_eq!(store.dossier_by_key("kiosk-8:visit-1f2e").await.unwrap(), None);
}

/// Wrong lookup codes are counted on the dossier's row: concurrent counts all land, a window that began before
/// the start asked about is not counted, and the next wrong code starts a new one.
async fn wrong_lookups_are_counted_per_dossier_in_a_window(store: Arc<dyn DossierStore>) {
    let d = dossier("UBND-VH-261204-0077", "001080099999", AT);
    store
        .insert_dossier(&d, &event(&d.code, "received", Status::Received, AT), &[])
        .await
        .unwrap();
    let window = time::Duration::minutes(15);
    assert_eq!(store.wrong_lookups(&d.code, AT - window).await.unwrap(), 0);
    let counts = futures::future::join_all((0..12).map(|_| {
        let (store, code) = (store.clone(), d.code.clone());
        tokio::spawn(async move { store.wrong_lookup(&code, AT, AT - window).await.unwrap() })
    }))
    .await;
    let mut counts: Vec<u32> = counts.into_iter().map(Result::unwrap).collect();
    counts.sort();
    assert_eq!(counts, (1..=12).collect::<Vec<_>>(), "every count lands once");
    let later = AT + time::Duration::minutes(5);
    assert_eq!(store.wrong_lookups(&d.code, later - window).await.unwrap(), 12);
    let after = AT + window + time::Duration::seconds(1);
    assert_eq!(
        store.wrong_lookups(&d.code, after - window).await.unwrap(),
        0,
        "the window passed"
    );
    assert_eq!(
        store.wrong_lookup(&d.code, after, after - window).await.unwrap(),
        1,
        "a new window"
    );
    assert_eq!(
        store
            .wrong_lookup("UBND-VH-261204-9999", AT, AT - window)
            .await
            .unwrap(),
        0
    );
}

async fn dossier_contract(store: Arc<dyn DossierStore>) {
    a_dossier_changes_only_over_the_version_it_read(store.as_ref()).await;
    a_submission_key_files_one_dossier(store.as_ref()).await;
    a_dossiers_step_is_rated_once(store.as_ref()).await;
    deliveries_are_claimed_once_then_retried_delivered_or_dead(store.clone()).await;
    wrong_lookups_are_counted_per_dossier_in_a_window(store).await;
}

/// The first fingerprint claimed stays the installation's; a later, different one gets the first back.
async fn the_first_installation_to_claim_a_registry_keeps_it(reg: Arc<dyn Registry>) {
    let claims = futures::future::join_all(["node-a", "node-b", "node-c"].map(|f| {
        let reg = reg.clone();
        tokio::spawn(async move { reg.claim_installation(f).await.unwrap() })
    }))
    .await;
    let first = claims[0].as_ref().unwrap().clone();
    for c in &claims {
        assert_eq!(c.as_ref().unwrap(), &first, "one winner: {claims:?}");
    }
    assert_eq!(reg.claim_installation("node-d").await.unwrap(), first);
    // The public address: nothing until a node names one; then the first one named, whoever asks.
    assert_eq!(reg.claim_public_address(None).await.unwrap(), None);
    let claims = futures::future::join_all(["https://a.example", "https://b.example"].map(|url| {
        let reg = reg.clone();
        tokio::spawn(async move { reg.claim_public_address(Some(url)).await.unwrap() })
    }))
    .await;
    let first = claims[0].as_ref().unwrap().clone();
    assert!(first.is_some());
    for c in &claims {
        assert_eq!(c.as_ref().unwrap(), &first, "one winner: {claims:?}");
    }
    assert_eq!(reg.claim_public_address(None).await.unwrap(), first);
    assert_eq!(
        reg.claim_public_address(Some("https://c.example")).await.unwrap(),
        first
    );
}

async fn contract(reg: Arc<dyn Registry>) {
    the_first_installation_to_claim_a_registry_keeps_it(reg.clone()).await;
    numbers_run_per_book_and_year_and_a_failed_issuance_voids_its_line(reg.as_ref()).await;
    copies_are_found_by_code_hash_and_request_key_and_a_key_is_used_once(reg.as_ref()).await;
    a_status_changes_once_and_each_change_is_logged(reg.as_ref()).await;
    the_log_reads_back_in_order_and_its_audit_passes(reg.as_ref()).await;
    tokens_are_kept_by_hash_revoked_once_and_touched(reg.as_ref()).await;
    intake_records_and_their_page_fingerprints_round_trip(reg.as_ref()).await;
    ca_revocations_are_kept_once_in_order(reg.as_ref()).await;
    a_copy_is_pointed_at_a_new_object_once_and_its_earlier_ones_kept(reg.as_ref()).await;
    a_payment_is_settled_once_and_spent_once(reg.as_ref()).await;
    a_holders_copies_are_listed_newest_first(reg.as_ref()).await;
    ratings_are_counted_by_score(reg.as_ref()).await;
    concurrent_issuers_get_distinct_numbers_used_or_voided(reg.clone(), 8).await;
    assert_eq!(reg.count_copies().await.unwrap(), 2 + 2 + 16);
    a_copy_is_e_mailed_a_few_times_at_most_whoever_counts(reg).await;
}

/// The e-mail cap is counted in the registry: six nodes counting at once let three through.
async fn a_copy_is_e_mailed_a_few_times_at_most_whoever_counts(reg: Arc<dyn Registry>) {
    let counted = futures::future::join_all((0..6).map(|_| {
        let reg = reg.clone();
        tokio::spawn(async move { reg.count_email(&code(1), 3).await.unwrap() })
    }))
    .await;
    assert_eq!(counted.iter().filter(|c| *c.as_ref().unwrap()).count(), 3);
    assert!(!reg.count_email(&code(1), 3).await.unwrap());
    assert!(
        reg.count_email(&code(2), 3).await.unwrap(),
        "each copy has its own count"
    );
    assert!(
        !reg.count_email("C0000000000000000999", 3).await.unwrap(),
        "no such copy"
    );
}

fn stored(key: &str, pool: &str, device: &str, started: OffsetDateTime) -> StoredSession {
    StoredSession {
        key: key.into(),
        pool: pool.into(),
        device: device.into(),
        started_at: started,
        expires_at: started + time::Duration::minutes(10),
        version: 0,
        sealed: format!("sealed-{key}"),
    }
}

/// Identity sessions through two handles on one database (two nodes): the device keeps its newest two, a
/// full pool refuses and writes nothing, expired sessions are gone, a change is a compare-and-set on the
/// version, and concurrent starts and changes from both nodes keep the bounds and let one change win.
async fn session_contract(a: Arc<dyn SessionStore>, b: Arc<dyn SessionStore>) {
    let t0 = datetime!(2026-12-04 08:00 UTC);
    let ns = |n: i64| t0 + time::Duration::nanoseconds(n);
    // Three starts of one device, the last on the other node: its oldest is ended.
    assert!(a
        .insert_session(&stored("k1", "kiosk", "dev-1", ns(1)), 2, 100, ns(1))
        .await
        .unwrap());
    assert!(a
        .insert_session(&stored("k2", "kiosk", "dev-1", ns(2)), 2, 100, ns(2))
        .await
        .unwrap());
    assert!(a
        .insert_session(&stored("k9", "kiosk", "dev-2", ns(2)), 2, 100, ns(2))
        .await
        .unwrap());
    assert!(b
        .insert_session(&stored("k3", "kiosk", "dev-1", ns(3)), 2, 100, ns(3))
        .await
        .unwrap());
    assert_eq!(a.session("k1", ns(4)).await.unwrap(), None);
    assert_eq!(
        a.session("k2", ns(4)).await.unwrap(),
        Some(stored("k2", "kiosk", "dev-1", ns(2)))
    );
    assert!(b.session("k3", ns(4)).await.unwrap().is_some());
    assert!(
        b.session("k9", ns(4)).await.unwrap().is_some(),
        "another device's session stays"
    );
    assert_eq!(a.live_sessions("kiosk", ns(4)).await.unwrap(), 3);
    assert_eq!(a.live_sessions("web", ns(4)).await.unwrap(), 0);

    // Compare-and-set: one change per version read; not by another device; not once expired.
    assert!(b.advance_session("k2", "dev-1", 0, "moved", ns(5)).await.unwrap());
    assert!(!a.advance_session("k2", "dev-1", 0, "again", ns(5)).await.unwrap());
    assert!(!a
        .advance_session("k2", "dev-2", 1, "stolen", ns(5))
        .await
        .unwrap());
    let k2 = a.session("k2", ns(6)).await.unwrap().unwrap();
    assert_eq!((k2.version, k2.sealed.as_str()), (1, "moved"));
    let late = ns(2) + time::Duration::minutes(10);
    assert!(!a.advance_session("k2", "dev-1", 1, "late", late).await.unwrap());
    assert_eq!(a.session("k2", late).await.unwrap(), None);

    // Ending: only by its device, once.
    assert!(!b.delete_session("k3", "dev-2").await.unwrap());
    assert!(b.delete_session("k3", "dev-1").await.unwrap());
    assert!(!a.delete_session("k3", "dev-1").await.unwrap());

    // A full pool refuses, whichever node is asked; expired sessions make room again.
    for i in 0..3 {
        let s = stored(&format!("w{i}"), "web", &format!("web:w{i}"), ns(10));
        assert!(a.insert_session(&s, 1, 3, ns(10)).await.unwrap());
    }
    assert!(!b
        .insert_session(&stored("w3", "web", "web:w3", ns(11)), 1, 3, ns(11))
        .await
        .unwrap());
    assert_eq!(
        a.session("w3", ns(12)).await.unwrap(),
        None,
        "a refused session is not written"
    );
    let later = ns(10) + time::Duration::minutes(10);
    assert!(b
        .insert_session(&stored("w4", "web", "web:w4", later), 1, 3, later)
        .await
        .unwrap());
    assert_eq!(a.live_sessions("web", later).await.unwrap(), 1);

    // Thirty-two starts at once from both nodes into a pool of eight: eight win.
    let t1 = ns(100);
    let starts = futures::future::join_all((0..32).map(|i| {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move {
            let s = stored(&format!("c{i}"), "race", &format!("dev-c{i}"), t1);
            store.insert_session(&s, 2, 8, t1).await.unwrap()
        })
    }))
    .await;
    let won = starts.iter().filter(|r| *r.as_ref().unwrap()).count();
    assert_eq!(won, 8);
    assert_eq!(a.live_sessions("race", t1).await.unwrap(), 8);
    // Sixteen changes of one session over the version they all read: one wins.
    let winner = (0..32)
        .find(|i| starts[*i as usize].as_ref().unwrap() == &true)
        .unwrap();
    let key = format!("c{winner}");
    let device = format!("dev-c{winner}");
    let changes = futures::future::join_all((0..16).map(|i| {
        let (store, key, device) = (
            if i % 2 == 0 { a.clone() } else { b.clone() },
            key.clone(),
            device.clone(),
        );
        tokio::spawn(async move {
            store
                .advance_session(&key, &device, 0, &format!("by {i}"), t1)
                .await
                .unwrap()
        })
    }))
    .await;
    assert_eq!(changes.iter().filter(|r| *r.as_ref().unwrap()).count(), 1);
    assert_eq!(b.session(&key, t1).await.unwrap().unwrap().version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_contract_holds_on_sqlite() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = format!("sqlite:{}", dir.path().join("registry.db").display());
    let stores = banso_store::open_stores_with(&url, None).await.unwrap();
    let other = banso_store::open_stores_with(&url, None).await.unwrap();
    contract(stores.registry).await;
    dossier_contract(stores.dossiers).await;
    office_contract(stores.office).await;
    session_contract(stores.sessions, other.sessions).await;
}

/// A fresh database on the PostgreSQL server of scripts/test.sh.
fn fresh_postgres() -> String {
    let server = std::env::var("BANSO_TEST_PG_URL")
        .expect("BANSO_TEST_PG_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL");
    let name = format!(
        "banso_contract_{}_{}",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let out = std::process::Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    format!("{server}/{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_contract_holds_on_postgres() {
    let url = fresh_postgres();
    let stores = banso_store::open_stores_with(&url, None).await.unwrap();
    let other = banso_store::open_stores_with(&url, None).await.unwrap();
    contract(stores.registry).await;
    dossier_contract(stores.dossiers).await;
    office_contract(stores.office).await;
    session_contract(stores.sessions, other.sessions).await;
}

/// A registry written before page fingerprints had their own table opens with them filled in from the kept
/// reports of issued requests, and with a used book line for every number its copies carry (schema version
/// 1 → 3), on both backends.
async fn an_earlier_registry_is_migrated(url: &str, exec: impl Fn(&str)) {
    // Version 1: the intake record table as it was, one issued request with its report, and no version 2;
    // a copy issued under number 1 and no book lines.
    let reg = banso_store::open_registry(url).await.unwrap();
    issue(reg.as_ref(), 1, Duration::ZERO).await.unwrap();
    drop(reg);
    exec("DROP TABLE page_fingerprints");
    exec("DROP TABLE book_lines");
    exec("UPDATE schema_version SET version = 1");
    exec(
        "INSERT INTO intake_records (id, recorded_at, holder_id, decision, reason, report, outcome, codes) VALUES \
         ('old1', '2026-01-02T03:04:05Z', '001099012345', 'auto_issue', '', \
         '{\"pages\":[{\"page\":0,\"fingerprint\":{\"dhash\":\"ab\",\"content\":null}},\
         {\"page\":1,\"fingerprint\":{\"dhash\":\"cd\",\"content\":\"ef\"}}]}', 'issued', 'CODEA CODEB')",
    );
    let reg = banso_store::open_registry(url).await.unwrap();
    let previous = reg.previous_pages(10).await.unwrap();
    let got: Vec<_> = previous
        .iter()
        .map(|p| {
            (
                p.reference.as_str(),
                p.fingerprint.dhash.as_str(),
                p.fingerprint.content.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("CODEA,CODEB page 2", "cd", Some("ef")),
            ("CODEA,CODEB page 1", "ab", None)
        ]
    );
    let lines = reg.book_lines(2026, "SCT/BS").await.unwrap();
    assert_eq!(
        lines.iter().map(|l| (l.sequence, l.status)).collect::<Vec<_>>(),
        vec![(1, BookLineStatus::Used)],
        "the copies' numbers are used lines"
    );
    drop(reg);
    // Opening again does not fill them in twice.
    let reg = banso_store::open_registry(url).await.unwrap();
    assert_eq!(reg.previous_pages(10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_earlier_sqlite_registry_is_migrated() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("registry.db");
    let url = format!("sqlite:{}", path.display());
    an_earlier_registry_is_migrated(&url, |sql| {
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute_batch(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    })
    .await;
}

#[tokio::test]
async fn an_earlier_postgres_registry_is_migrated() {
    let url = fresh_postgres();
    an_earlier_registry_is_migrated(&url, |sql| {
        let out = std::process::Command::new("psql")
            .arg(&url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    })
    .await;
}

/// With `sslmode=require` the registry talks to PostgreSQL over TLS and checks the server's certificate: the
/// CA that signed it is accepted, another CA is refused; without it the connection stays plain.
#[tokio::test]
async fn postgres_over_tls_checks_the_servers_certificate() {
    use banso_store::{connection_is_encrypted, PgRegistry};
    let url = fresh_postgres();
    let ca = std::env::var("BANSO_TEST_PG_CA").expect(
        "BANSO_TEST_PG_CA is not set: run the tests with scripts/test.sh, which starts PostgreSQL with TLS",
    );
    let plain = PgRegistry::connect(&url, None).await.unwrap();
    assert!(!connection_is_encrypted(&plain).await.unwrap());
    // A CA given without sslmode in the URL: TLS all the same.
    let implied = PgRegistry::connect(&url, Some(std::path::Path::new(&ca)))
        .await
        .unwrap();
    assert!(
        connection_is_encrypted(&implied).await.unwrap(),
        "a configured CA means TLS"
    );

    let tls_url = format!("{url}?sslmode=require");
    let tls = PgRegistry::connect(&tls_url, Some(std::path::Path::new(&ca)))
        .await
        .unwrap();
    assert!(connection_is_encrypted(&tls).await.unwrap(), "TLS in use");
    assert!(
        tls.reserve_number(2026, "SCT/BS", AT).await.is_ok(),
        "and the registry works over it"
    );

    // A CA that never signed the server's certificate: the connection is refused.
    let dir = tempfile::TempDir::new().unwrap();
    let other = dir.path().join("other-ca.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
        ])
        .args(["-subj", "/CN=another CA", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let refused = PgRegistry::connect(&tls_url, Some(&other)).await;
    assert!(
        refused.is_err(),
        "a server certificate this CA did not sign is refused"
    );
}

/// Several nodes starting together on one empty PostgreSQL database each open it: the schema is created and
/// migrated once, under a lock, and none of them fails on the catalogue (as concurrent `CREATE … IF NOT
/// EXISTS` can without it). Repeated on fresh databases, since the collision is a race.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_together_on_an_empty_postgres_all_open_it() {
    for _ in 0..5 {
        let url = fresh_postgres();
        let opened = futures::future::join_all((0..6).map(|_| {
            let url = url.clone();
            tokio::spawn(async move { banso_store::open_stores_with(&url, None).await.map(|_| ()) })
        }))
        .await;
        for (i, o) in opened.into_iter().enumerate() {
            assert!(matches!(o, Ok(Ok(()))), "node {i}: {o:?}");
        }
    }
}
