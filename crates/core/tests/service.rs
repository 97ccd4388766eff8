//! The issuance use case with in-memory ports, an injected clock and entropy: every original goes through the
//! service's intake; refusals and holds issue nothing; failures leave nothing behind; idempotent requests replay
//! or conflict. (The real adapters are proven in banso-store's and the server's tests.)

use async_trait::async_trait;
use banso_core::model::{CopyRecord, CopyStatus, IntakeDecision, IntakeRow, TokenRecord};
use banso_core::ports::*;
use banso_core::rules::{FeeSchedule, NumberingPolicy};
use banso_core::service::{HeldForReview, IntakeOff, IssueOutcome, IssueRequest, Ports, Service, Settings};
use banso_core::{Code, Error};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use time::macros::datetime;
use time::OffsetDateTime;

#[derive(Default)]
struct State {
    books: BTreeMap<(i32, String), u32>,
    lines: BTreeMap<(i32, String, u32), (BookLineStatus, Option<String>)>,
    copies: Vec<CopyRecord>,
    log: Vec<LogRecord>,
    intakes: BTreeMap<String, IntakeRow>,
    fingerprints: Vec<(String, String, PageFingerprint)>,
    versions: Vec<(String, String)>,
    payments: BTreeMap<String, PaymentRow>,
    ratings: Vec<u8>,
}

/// A registry in memory. `lose_commit_answer`: the next commit happens but answers with an error (a lost reply).
#[derive(Default)]
struct MemoryRegistry {
    state: Arc<Mutex<State>>,
    lose_commit_answer: AtomicBool,
}

struct MemoryReservation {
    state: Arc<Mutex<State>>,
    key: (i32, String, u32),
    lose_answer: bool,
}

#[async_trait]
impl NumberReservation for MemoryReservation {
    fn sequence(&self) -> u32 {
        self.key.2
    }
    async fn commit(&self, copies: &[CopyRecord], log: &[LogRecord]) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        for c in copies {
            if c.request_key.is_some() && s.copies.iter().any(|o| o.request_key == c.request_key) {
                return Err(StoreError::Conflict("request key".into()));
            }
        }
        let line = s.lines.get_mut(&self.key).ok_or(StoreError::NotFound)?;
        if line.0 != BookLineStatus::Pending {
            return Err(StoreError::Conflict("not pending".into()));
        }
        line.0 = BookLineStatus::Used;
        s.copies.extend_from_slice(copies);
        s.log.extend_from_slice(log);
        if self.lose_answer {
            return Err(StoreError::Other("connection reset".into()));
        }
        Ok(())
    }
    async fn void(&self, reason: &str) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let line = s.lines.get_mut(&self.key).ok_or(StoreError::NotFound)?;
        if line.0 == BookLineStatus::Pending {
            *line = (BookLineStatus::Voided, Some(reason.to_string()));
        }
        Ok(())
    }
}

#[async_trait]
impl Registry for MemoryRegistry {
    async fn reserve_number(
        &self,
        year: i32,
        suffix: &str,
        _at: OffsetDateTime,
    ) -> Result<Box<dyn NumberReservation>, StoreError> {
        let mut s = self.state.lock().unwrap();
        let last = s.books.entry((year, suffix.to_string())).or_insert(0);
        *last += 1;
        let key = (year, suffix.to_string(), *last);
        s.lines.insert(key.clone(), (BookLineStatus::Pending, None));
        Ok(Box::new(MemoryReservation {
            state: self.state.clone(),
            key,
            lose_answer: self.lose_commit_answer.swap(false, Ordering::SeqCst),
        }))
    }
    async fn void_stale_numbers(&self, _before: OffsetDateTime, _reason: &str) -> Result<u64, StoreError> {
        Ok(0)
    }
    async fn book_lines(&self, year: i32, suffix: &str) -> Result<Vec<BookLine>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.lines
            .iter()
            .filter(|((y, x, _), _)| *y == year && x == suffix)
            .map(|((_, _, sequence), (status, void_reason))| BookLine {
                sequence: *sequence,
                status: *status,
                reserved_at: FixedClock::default().now(),
                void_reason: void_reason.clone(),
            })
            .collect())
    }
    async fn copy(&self, code: &str) -> Result<Option<CopyRecord>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .copies
            .iter()
            .find(|c| c.code == code)
            .cloned())
    }
    async fn copy_by_sha256(&self, sha256: &str) -> Result<Option<CopyRecord>, StoreError> {
        Ok(self
            .state
            .lock()
            .unwrap()
            .copies
            .iter()
            .find(|c| c.sha256 == sha256)
            .cloned())
    }
    async fn copies_by_request_key(&self, key: &str) -> Result<Vec<CopyRecord>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.copies
            .iter()
            .filter(|c| c.request_key.as_deref() == Some(key))
            .cloned()
            .collect())
    }
    async fn intake_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<banso_core::ports::IntakeBrief>, StoreError> {
        let s = self.state.lock().unwrap();
        let mut rows: Vec<_> = s
            .intakes
            .values()
            .filter(|i| i.recorded_at >= since)
            .map(|i| banso_core::ports::IntakeBrief {
                recorded_at: i.recorded_at,
                request_key: i.request_key.clone(),
                device: i.device.clone(),
                decision: i.decision,
                reason: i.reason.clone(),
                outcome: i.outcome.clone(),
                copies: i.codes.len() as u32,
            })
            .collect();
        rows.sort_by_key(|r| r.recorded_at);
        rows.truncate(limit as usize);
        Ok(rows)
    }
    async fn book_copies(&self, year: i32, suffix: &str) -> Result<Vec<CopyRecord>, StoreError> {
        let s = self.state.lock().unwrap();
        let mut book: Vec<CopyRecord> = s
            .copies
            .iter()
            .filter(|c| c.year == year && c.suffix == suffix)
            .cloned()
            .collect();
        book.sort_by_key(|c| (c.sequence, c.copy_index));
        Ok(book)
    }
    async fn copies_by_holder(&self, holder_id: &str, limit: u32) -> Result<Vec<CopyRecord>, StoreError> {
        let s = self.state.lock().unwrap();
        let mut mine: Vec<CopyRecord> = s
            .copies
            .iter()
            .filter(|c| c.holder_id == holder_id)
            .cloned()
            .collect();
        mine.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(a.code.cmp(&b.code)));
        mine.truncate(limit as usize);
        Ok(mine)
    }
    async fn change_status(
        &self,
        _code: &str,
        _status: CopyStatus,
        _reason: &str,
        _decision_number: Option<&str>,
        _at: OffsetDateTime,
        _log: &LogRecord,
    ) -> Result<CopyRecord, StoreError> {
        Err(StoreError::Other("not used here".into()))
    }
    async fn append_log(&self, records: &[LogRecord]) -> Result<(), StoreError> {
        self.state.lock().unwrap().log.extend_from_slice(records);
        Ok(())
    }
    async fn log_entries(&self, from: u64, limit: u64) -> Result<Vec<LogEntry>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.log
            .iter()
            .enumerate()
            .skip(from as usize)
            .take(limit as usize)
            .map(|(i, l)| LogEntry {
                index: i as u64,
                code: l.code.clone(),
                event: l.event.clone(),
                record: l.record.clone(),
                leaf_hash: banso_core::transparency::leaf_of(&l.record).1,
            })
            .collect())
    }
    async fn audit_rows(&self) -> Result<Vec<AuditRow>, StoreError> {
        Ok(Vec::new())
    }
    async fn insert_token(&self, _token: &TokenRecord) -> Result<(), StoreError> {
        Ok(())
    }
    async fn token_by_hash(&self, _hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(None)
    }
    async fn request_exists(&self, _request_id: &str) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn claim_installation(&self, fingerprint: &str) -> Result<String, StoreError> {
        Ok(fingerprint.to_string())
    }
    async fn claim_public_address(&self, base_url: Option<&str>) -> Result<Option<String>, StoreError> {
        Ok(base_url.map(str::to_string))
    }
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(Vec::new())
    }
    async fn revoke_token(&self, _id: &str, _at: OffsetDateTime) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn touch_token(&self, _id: &str, _at: OffsetDateTime) -> Result<(), StoreError> {
        Ok(())
    }
    async fn count_copies(&self) -> Result<u64, StoreError> {
        Ok(self.state.lock().unwrap().copies.len() as u64)
    }
    async fn count_email(&self, _: &str, _: u32) -> Result<bool, StoreError> {
        unimplemented!("e-mail is the server's: proven in its tests")
    }
    async fn insert_intake(&self, row: &IntakeRow) -> Result<(), StoreError> {
        self.state
            .lock()
            .unwrap()
            .intakes
            .insert(row.id.clone(), row.clone());
        Ok(())
    }
    async fn finish_intake(
        &self,
        id: &str,
        outcome: &str,
        codes: &[String],
        fingerprints: &[PageFingerprint],
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let row = s.intakes.get_mut(id).ok_or(StoreError::NotFound)?;
        row.outcome = outcome.to_string();
        row.codes = codes.to_vec();
        let joined = codes.join(",");
        for fp in fingerprints {
            s.fingerprints.push((id.to_string(), joined.clone(), fp.clone()));
        }
        Ok(())
    }
    async fn intake(&self, id: &str) -> Result<Option<IntakeRow>, StoreError> {
        Ok(self.state.lock().unwrap().intakes.get(id).cloned())
    }
    async fn replace_pdf(
        &self,
        code: &str,
        expected_key: &str,
        new_key: &str,
        _at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut s = self.state.lock().unwrap();
        let copy = s
            .copies
            .iter_mut()
            .find(|c| c.code == code && c.pdf_key == expected_key)
            .ok_or_else(|| StoreError::Conflict("moved".into()))?;
        copy.pdf_key = new_key.to_string();
        s.versions.push((code.to_string(), expected_key.to_string()));
        Ok(())
    }
    async fn earlier_pdfs(&self, code: &str) -> Result<Vec<String>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.versions
            .iter()
            .filter(|(c, _)| c == code)
            .map(|(_, k)| k.clone())
            .collect())
    }
    async fn ca_revocations(&self) -> Result<Vec<CaRevocation>, StoreError> {
        Ok(Vec::new())
    }
    async fn add_ca_revocation(&self, _revocation: &CaRevocation) -> Result<bool, StoreError> {
        Ok(false)
    }
    async fn add_rating(&self, _device: &str, score: u8, _at: OffsetDateTime) -> Result<(), StoreError> {
        self.state.lock().unwrap().ratings.push(score);
        Ok(())
    }
    async fn rating_counts(&self, _since: OffsetDateTime) -> Result<[u64; 5], StoreError> {
        let mut out = [0; 5];
        for s in &self.state.lock().unwrap().ratings {
            out[usize::from(*s) - 1] += 1;
        }
        Ok(out)
    }
    async fn insert_payment(&self, p: &PaymentRow) -> Result<(), StoreError> {
        self.state
            .lock()
            .unwrap()
            .payments
            .insert(p.reference.clone(), p.clone());
        Ok(())
    }
    async fn payment(&self, reference: &str) -> Result<Option<PaymentRow>, StoreError> {
        Ok(self.state.lock().unwrap().payments.get(reference).cloned())
    }
    async fn settle_payment(
        &self,
        reference: &str,
        paid: bool,
        gateway_ref: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut s = self.state.lock().unwrap();
        match s.payments.get_mut(reference) {
            Some(p) if p.status == "pending" => {
                p.status = if paid { "paid" } else { "failed" }.into();
                p.settled_at = Some(at);
                p.gateway_ref = Some(gateway_ref.into());
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn use_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError> {
        let mut s = self.state.lock().unwrap();
        match s.payments.get_mut(reference) {
            Some(p)
                if p.status == "paid"
                    || (p.status == "used" && p.used_by.as_deref() == Some(request_key)) =>
            {
                p.status = "used".into();
                p.used_by = Some(request_key.into());
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn release_payment(&self, reference: &str, request_key: &str) -> Result<bool, StoreError> {
        let mut s = self.state.lock().unwrap();
        match s.payments.get_mut(reference) {
            Some(p) if p.status == "used" && p.used_by.as_deref() == Some(request_key) => {
                p.status = "paid".into();
                p.used_by = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn previous_pages(&self, limit: u32) -> Result<Vec<PreviousPage>, StoreError> {
        let s = self.state.lock().unwrap();
        Ok(s.fingerprints
            .iter()
            .rev()
            .take(limit as usize)
            .map(|(_, codes, fp)| PreviousPage {
                reference: format!("{codes} page {}", fp.page + 1),
                fingerprint: fp.clone(),
            })
            .collect())
    }
}

#[derive(Default)]
struct MemoryBlobs(Mutex<BTreeMap<String, Vec<u8>>>);

#[async_trait]
impl Blobs for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(key.to_string(), bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        self.0
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .ok_or(StoreError::NotFound)
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
    async fn list(&self, _prefix: &str) -> Result<Vec<StoredObject>, StoreError> {
        Ok(Vec::new())
    }
    async fn remove_listed(&self, object: &StoredObject) -> Result<(), StoreError> {
        self.delete(&object.key).await
    }
}

/// Composes a stand-in PDF naming the copy; `fail_on`: the copy index whose composition fails.
#[derive(Default)]
struct FakeComposer {
    fail_on: Option<u32>,
    composed: AtomicU64,
}

#[async_trait]
impl Composer for FakeComposer {
    fn inspect(&self, file: &[u8]) -> banso_core::Result<u32> {
        if file.is_empty() {
            return Err(Error::new(Code::Iss0002UnsupportedPage, "empty"));
        }
        Ok(1)
    }
    fn printable(&self, text: &str) -> banso_core::Result<()> {
        match text.chars().find(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
            Some(c) => Err(Error::new(Code::Iss0007Unprintable, format!("{c:?}"))),
            None => Ok(()),
        }
    }
    async fn compose(&self, request: ComposeRequest) -> banso_core::Result<ComposedCopy> {
        let n = self.composed.fetch_add(1, Ordering::SeqCst) as u32 + 1;
        if self.fail_on == Some(n) {
            return Err(Error::new(Code::Sys0003Internal, "the signer is down"));
        }
        let pdf = format!("%PDF-1.7 copy {}", request.code_display).into_bytes();
        let sha256 = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&pdf)).into();
        Ok(ComposedCopy {
            pdf,
            sha256,
            pdf_pages: request.files.len() as u32 + 1,
        })
    }
    fn signer_names(&self, _officer: Option<&str>) -> banso_core::Result<String> {
        Ok("seal".into())
    }
}

/// Judges a stand-in PDF: every file's signature passes, unless it carries the mark "%%BROKEN"; a file
/// extended after "%%EXT" has the part before it as its signed revision.
struct FakeVerifier;

#[async_trait]
impl PdfVerifier for FakeVerifier {
    async fn verify(&self, pdf: Vec<u8>, _now: OffsetDateTime) -> banso_core::Result<PdfFindings> {
        let digest = |b: &[u8]| -> [u8; 32] { <sha2::Sha256 as sha2::Digest>::digest(b).into() };
        let revision_hashes = match pdf.windows(5).position(|w| w == b"%%EXT") {
            Some(at) => vec![digest(&pdf[..at])],
            None => Vec::new(),
        };
        let ok = !pdf.windows(8).any(|w| w == b"%%BROKEN");
        let check = |name: &str| {
            if ok {
                CheckOutcome::pass(name)
            } else {
                CheckOutcome::fail("bad_signature", name)
            }
        };
        Ok(PdfFindings {
            sha256: digest(&pdf),
            revision_hashes,
            signatures: vec![SignatureFindings {
                kind: "signature".into(),
                signer: Some("seal".into()),
                signing_time: None,
                integrity: check("integrity"),
                chain: check("chain"),
                coverage: check("coverage"),
                modifications: check("modifications"),
                timestamp: None,
                revocation: check("revocation"),
                indication: if ok { "TOTAL-PASSED" } else { "TOTAL-FAILED" }.into(),
                sub_indication: None,
                level: None,
            }],
            indication: if ok { "TOTAL-PASSED" } else { "TOTAL-FAILED" }.into(),
            sub_indication: None,
            verdict: check("verdict"),
            judged_at: _now,
        })
    }
}

/// 2026-12-02 09:00 UTC, moved on by the seconds a test adds.
#[derive(Default)]
struct FixedClock(std::sync::atomic::AtomicI64);
impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        datetime!(2026-12-02 09:00 UTC) + time::Duration::seconds(self.0.load(Ordering::SeqCst))
    }
}

/// Deterministic bytes (a counter through SHA-256).
#[derive(Default)]
struct CountingEntropy(AtomicU64);
impl Entropy for CountingEntropy {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(32) {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            let h = <sha2::Sha256 as sha2::Digest>::digest(n.to_be_bytes());
            chunk.copy_from_slice(&h[..chunk.len()]);
        }
    }
}

struct AnyHolderId;
impl HolderIds for AnyHolderId {
    fn check(&self, id: &str, _now: OffsetDateTime) -> Result<(), String> {
        if id.chars().all(|c| c.is_ascii_digit()) {
            Ok(())
        } else {
            Err("digits only".into())
        }
    }
}

/// An intake that answers a set verdict and remembers what it was asked, with which earlier pages.
struct ScriptedIntake {
    decision: IntakeDecision,
    recognised: Option<&'static str>,
    claim_matches: Option<bool>,
    asked: Mutex<Vec<(OriginalToCheck, Vec<PreviousPage>)>>,
}

impl ScriptedIntake {
    fn new(decision: IntakeDecision) -> Self {
        Self {
            decision,
            recognised: Some("birth_certificate"),
            claim_matches: Some(true),
            asked: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> usize {
        self.asked.lock().unwrap().len()
    }
}

#[async_trait]
impl DocumentIntake for ScriptedIntake {
    fn duplicate_window(&self) -> u32 {
        100
    }
    async fn check(
        &self,
        original: OriginalToCheck,
        previous: Vec<PreviousPage>,
    ) -> banso_core::Result<IntakeVerdict> {
        let pages = original.files.len();
        self.asked.lock().unwrap().push((original, previous));
        Ok(IntakeVerdict {
            decision: self.decision,
            reason: match self.decision {
                IntakeDecision::AutoIssue => String::new(),
                IntakeDecision::OfficerReview => "a seal could not be read".into(),
                IntakeDecision::Refuse => "the original bears a secrecy mark (Art. 22(5))".into(),
            },
            report_json: "{}".into(),
            text_layers: vec![None; pages],
            recognised_type: self.recognised.map(str::to_string),
            claim_matches: self.claim_matches,
            fingerprints: (0..pages as u32)
                .map(|page| PageFingerprint {
                    page,
                    dhash: format!("{page:064x}"),
                    content: None,
                })
                .collect(),
        })
    }
}

/// Identity sessions in memory, with the store's contract (`SessionStore`): the bounds, the device's oldest
/// ended, expiry, and the version's compare-and-set. The SQL stores are proven in banso-store's tests.
#[derive(Default)]
struct MemorySessions(Mutex<BTreeMap<String, StoredSession>>);

#[async_trait]
impl SessionStore for MemorySessions {
    async fn insert_session(
        &self,
        s: &StoredSession,
        per_device: u32,
        max: u32,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut map = self.0.lock().unwrap();
        map.retain(|_, x| !(x.pool == s.pool && x.expires_at <= now));
        let mut mine: Vec<(OffsetDateTime, String)> = map
            .values()
            .filter(|x| x.device == s.device)
            .map(|x| (x.started_at, x.key.clone()))
            .collect();
        mine.sort();
        while mine.len() >= per_device.max(1) as usize {
            map.remove(&mine.remove(0).1);
        }
        if map.values().filter(|x| x.pool == s.pool).count() >= max as usize {
            return Ok(false);
        }
        map.insert(
            s.key.clone(),
            StoredSession {
                version: 0,
                ..s.clone()
            },
        );
        Ok(true)
    }
    async fn session(&self, key: &str, now: OffsetDateTime) -> Result<Option<StoredSession>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(key)
            .filter(|s| s.expires_at > now)
            .cloned())
    }
    async fn advance_session(
        &self,
        key: &str,
        device: &str,
        version: i64,
        sealed: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut map = self.0.lock().unwrap();
        match map.get_mut(key) {
            Some(s) if s.device == device && s.version == version && s.expires_at > now => {
                s.sealed = sealed.to_string();
                s.version += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn delete_session(&self, key: &str, device: &str) -> Result<bool, StoreError> {
        let mut map = self.0.lock().unwrap();
        if map.get(key).is_some_and(|s| s.device == device) {
            map.remove(key);
            Ok(true)
        } else {
            Ok(false)
        }
    }
    async fn live_sessions(&self, pool: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let map = self.0.lock().unwrap();
        Ok(map
            .values()
            .filter(|s| s.pool == pool && s.expires_at > now)
            .count() as u64)
    }
}

struct World {
    service: Service,
    clock: Arc<FixedClock>,
    registry: Arc<MemoryRegistry>,
    blobs: Arc<MemoryBlobs>,
}

fn world(intake: Arc<dyn DocumentIntake>, composer: FakeComposer) -> World {
    let registry = Arc::new(MemoryRegistry::default());
    let blobs = Arc::new(MemoryBlobs::default());
    let clock = Arc::new(FixedClock::default());
    let service = Service::new(
        Ports {
            registry: registry.clone(),
            blobs: blobs.clone(),
            composer: Arc::new(composer),
            verifier: Arc::new(FakeVerifier),
            clock: clock.clone(),
            entropy: Arc::new(CountingEntropy::default()),
            holder_ids: Arc::new(AnyHolderId),
            intake,
            sessions: Arc::new(MemorySessions::default()),
        },
        Settings {
            issuing_body: "UBND phường Bến Nghé".into(),
            place: "TP. Hồ Chí Minh".into(),
            signer_name: "Nguyễn Văn B".into(),
            signer_title: "Phó Chủ tịch".into(),
            numbering: NumberingPolicy::default(),
            fees: FeeSchedule::default(),
            public_base_url: "https://banso.example".into(),
            max_copies: 5,
            capability_secret: vec![7; 32],
        },
    );
    World {
        service,
        clock,
        registry,
        blobs,
    }
}

fn request(reviewed_by: Option<&str>) -> IssueRequest {
    IssueRequest {
        holder_id: "001099012345".into(),
        holder_name: "Nguyễn Văn An".into(),
        document_type: "Giấy khai sinh".into(),
        copies: 2,
        files: vec![b"page one".to_vec(), b"page two".to_vec()],
        request_key: None,
        officer: None,
        reviewed_by: reviewed_by.map(str::to_string),
        pay_by: None,
    }
}

fn intake_of(w: &World, id: &str) -> IntakeRow {
    w.registry
        .state
        .lock()
        .unwrap()
        .intakes
        .get(id)
        .cloned()
        .expect("kept intake record")
}

/// The request held for an officer (a success, not an error).
fn held(outcome: IssueOutcome) -> HeldForReview {
    match outcome {
        IssueOutcome::Held(h) => h,
        IssueOutcome::Issued(i) => panic!("issued, not held: {:?}", i.copies.len()),
        IssueOutcome::PaymentDue(d) => panic!("a fee due, not held: {d:?}"),
    }
}

/// The intake record id named in an error message "(intake record ID)".
fn record_id(e: &Error) -> String {
    let m = &e.message;
    let start = m.find("(intake record ").expect("names its record") + "(intake record ".len();
    m[start..].trim_end_matches(')').to_string()
}

#[tokio::test]
async fn every_issuance_goes_through_the_intake_and_its_pages_are_kept_for_the_duplicate_check() {
    let intake = Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue));
    let w = world(intake.clone(), FakeComposer::default());
    let issued = w
        .service
        .issue(request(None))
        .await
        .expect("a clean original auto-issues")
        .issued()
        .unwrap();
    assert_eq!(intake.calls(), 1);
    assert_eq!(issued.copies.len(), 2);
    let record = intake_of(&w, issued.intake_id.as_deref().unwrap());
    assert_eq!(record.outcome, "issued");
    assert_eq!(record.claimed_type, "Giấy khai sinh");
    assert_eq!(record.recognised_type.as_deref(), Some("birth_certificate"));
    assert_eq!(record.codes.len(), 2);
    {
        let asked = intake.asked.lock().unwrap();
        assert_eq!(
            asked[0].0.files.as_slice(),
            &[b"page one".to_vec(), b"page two".to_vec()]
        );
        assert_eq!(asked[0].0.holder_name, "Nguyễn Văn An");
        assert!(asked[0].1.is_empty(), "nothing certified before");
    }

    w.service.issue(request(None)).await.unwrap();
    let asked = intake.asked.lock().unwrap();
    let previous = &asked[1].1;
    assert_eq!(previous.len(), 2, "the first request's two pages: {previous:?}");
    assert!(previous.iter().all(|p| p.reference.contains(&record.codes[0])));
}

#[tokio::test]
async fn a_refused_original_issues_nothing_uses_no_number_and_its_decision_is_kept() {
    let w = world(
        Arc::new(ScriptedIntake::new(IntakeDecision::Refuse)),
        FakeComposer::default(),
    );
    let e = w.service.issue(request(Some("officer a"))).await.unwrap_err();
    assert_eq!(e.code, Code::Iss0008Refused, "even an officer's request: {e}");
    let row = intake_of(&w, &record_id(&e));
    assert_eq!(
        (row.decision, row.outcome.as_str()),
        (IntakeDecision::Refuse, "refused")
    );
    let s = w.registry.state.lock().unwrap();
    assert!(s.copies.is_empty() && s.lines.is_empty() && s.log.is_empty() && s.fingerprints.is_empty());
    assert!(w.blobs.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_flagged_original_is_held_for_an_officer_and_issued_on_an_officers_request() {
    let w = world(
        Arc::new(ScriptedIntake::new(IntakeDecision::OfficerReview)),
        FakeComposer::default(),
    );
    let h = held(w.service.issue(request(None)).await.unwrap());
    assert_eq!(intake_of(&w, &h.intake_id).outcome, "held");
    assert!(h.message().contains(&h.intake_id) && h.message().contains("a seal could not be read"));
    assert!(w.registry.state.lock().unwrap().copies.is_empty());
    let issued = w
        .service
        .issue(request(Some("officer a")))
        .await
        .unwrap()
        .issued()
        .unwrap();
    assert_eq!(
        intake_of(&w, issued.intake_id.as_deref().unwrap()).outcome,
        "issued"
    );
}

#[tokio::test]
async fn with_the_intake_off_nothing_issues_on_a_kiosks_word_alone() {
    let w = world(Arc::new(IntakeOff), FakeComposer::default());
    let h = held(w.service.issue(request(None)).await.unwrap());
    assert!(h.reason.contains("intake checks are off"), "{h:?}");
    let row = intake_of(&w, &h.intake_id);
    assert_eq!(
        (row.decision, row.outcome.as_str()),
        (IntakeDecision::OfficerReview, "held")
    );
    assert!(w.registry.state.lock().unwrap().copies.is_empty());
    w.service
        .issue(request(Some("officer a")))
        .await
        .expect("an officer's request is the review")
        .issued()
        .expect("issued");
}

#[tokio::test]
async fn a_recognised_type_the_request_does_not_name_sends_the_original_to_an_officer() {
    let intake = ScriptedIntake {
        recognised: Some("university_diploma"),
        claim_matches: Some(false),
        ..ScriptedIntake::new(IntakeDecision::AutoIssue)
    };
    let w = world(Arc::new(intake), FakeComposer::default());
    let h = held(w.service.issue(request(None)).await.unwrap());
    let row = intake_of(&w, &h.intake_id);
    assert_eq!(row.decision, IntakeDecision::OfficerReview);
    assert_eq!(row.recognised_type.as_deref(), Some("university_diploma"));
    assert_eq!(row.claimed_type, "Giấy khai sinh");
    assert!(
        row.reason.contains("university_diploma") && row.reason.contains("Giấy khai sinh"),
        "{}",
        row.reason
    );

    // A recognised certificate sent under a type the intake cannot place ("Giấy xác nhận"): not taken on the
    // request's word either.
    let unplaced = ScriptedIntake {
        recognised: Some("birth_certificate"),
        claim_matches: None,
        ..ScriptedIntake::new(IntakeDecision::AutoIssue)
    };
    let w = world(Arc::new(unplaced), FakeComposer::default());
    let h = held(w.service.issue(request(None)).await.unwrap());
    assert!(h.reason.contains("birth_certificate"), "{h:?}");

    // The intake recognised nothing (a type it does not know): no mismatch is made up.
    let unknown = ScriptedIntake {
        recognised: None,
        claim_matches: None,
        ..ScriptedIntake::new(IntakeDecision::AutoIssue)
    };
    let w = world(Arc::new(unknown), FakeComposer::default());
    w.service
        .issue(request(None))
        .await
        .unwrap()
        .issued()
        .expect("nothing to compare");
}

#[tokio::test]
async fn a_failed_composition_voids_its_number_and_leaves_no_copy_no_object_and_no_kept_pages() {
    let w = world(
        Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue)),
        FakeComposer {
            fail_on: Some(2),
            ..FakeComposer::default()
        },
    );
    let e = w.service.issue(request(None)).await.unwrap_err();
    assert_eq!(e.code, Code::Sys0003Internal);
    {
        let s = w.registry.state.lock().unwrap();
        assert!(s.copies.is_empty() && s.fingerprints.is_empty());
        let row = s.intakes.values().next().unwrap();
        assert_eq!(row.outcome, "failed");
    }
    assert!(
        w.blobs.0.lock().unwrap().is_empty(),
        "originals and the first copy removed"
    );
    // The number's line is voided with the reason, as a paper book voids a line; the next issuance gets 2.
    let issued = w.service.issue(request(None)).await.unwrap().issued().unwrap();
    assert_eq!(issued.number.sequence, 2);
    let lines = w.registry.book_lines(2026, "SCT/BS").await.unwrap();
    assert_eq!(lines[0].status, BookLineStatus::Voided);
    assert!(
        lines[0].void_reason.as_deref().unwrap().contains("SYS-0003"),
        "{lines:?}"
    );
    assert_eq!(lines[1].status, BookLineStatus::Used);
}

#[tokio::test]
async fn a_commit_whose_answer_was_lost_is_reported_issued_and_keeps_its_objects() {
    let w = world(
        Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue)),
        FakeComposer::default(),
    );
    w.registry.lose_commit_answer.store(true, Ordering::SeqCst);
    let issued = w
        .service
        .issue(request(None))
        .await
        .unwrap()
        .issued()
        .expect("the commit happened");
    let blobs = w.blobs.0.lock().unwrap();
    for c in &issued.copies {
        assert!(
            blobs.contains_key(&c.record.pdf_key),
            "the registered copy's PDF is kept"
        );
    }
}

#[tokio::test]
async fn an_idempotent_request_replays_without_a_second_intake_and_a_reused_key_conflicts() {
    let intake = Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue));
    let w = world(intake.clone(), FakeComposer::default());
    let keyed = IssueRequest {
        request_key: Some("kiosk-7:42".into()),
        ..request(None)
    };
    let first = w.service.issue(keyed.clone()).await.unwrap().issued().unwrap();
    let again = w.service.issue(keyed.clone()).await.unwrap().issued().unwrap();
    assert!(again.replayed);
    assert_eq!(
        first.copies.iter().map(|c| &c.record.code).collect::<Vec<_>>(),
        again.copies.iter().map(|c| &c.record.code).collect::<Vec<_>>()
    );
    assert_eq!(intake.calls(), 1, "a replay reads nothing again");
    let other = IssueRequest {
        holder_name: "Trần Thị Bình".into(),
        ..keyed
    };
    let e = w.service.issue(other).await.unwrap_err();
    assert_eq!(e.code, Code::Iss0011IdempotencyConflict);
}

#[tokio::test]
async fn a_name_the_certification_page_cannot_print_is_refused_before_any_work() {
    let intake = Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue));
    let w = world(intake.clone(), FakeComposer::default());
    let e = w
        .service
        .issue(IssueRequest {
            holder_name: "Nguyễn Văn An ✓".into(),
            ..request(None)
        })
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::Iss0007Unprintable, "{e}");
    assert!(e.message.contains("holder name"), "{e}");
    assert_eq!(intake.calls(), 0, "nothing read");
    let s = w.registry.state.lock().unwrap();
    assert!(s.lines.is_empty() && s.intakes.is_empty(), "no number, no record");
    assert!(w.blobs.0.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_new_version_of_a_copy_is_stored_verified_and_swapped_and_the_old_one_kept() {
    let w = world(
        Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue)),
        FakeComposer::default(),
    );
    let issued = w.service.issue(request(None)).await.unwrap().issued().unwrap();
    let record = &issued.copies[0].record;
    let original = w.blobs.0.lock().unwrap()[&record.pdf_key].clone();

    // An extension that does not verify: the copy keeps its file and the new object is removed.
    let mut broken = original.clone();
    broken.extend_from_slice(b"%%EXT%%BROKEN");
    let e = w
        .service
        .replace_copy_pdf(&record.code, broken)
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::Sys0002Signing, "{e}");
    assert_eq!(
        w.registry.copy(&record.code).await.unwrap().unwrap().pdf_key,
        record.pdf_key
    );
    assert_eq!(
        w.blobs.0.lock().unwrap().len(),
        4,
        "two originals and two copies, nothing more"
    );

    // One that is not this copy (another file altogether): refused the same way.
    let e = w
        .service
        .replace_copy_pdf(&record.code, b"%PDF-1.7 another file".to_vec())
        .await
        .unwrap_err();
    assert_eq!(e.code, Code::Sys0002Signing, "{e}");

    // A sound extension: stored under a new key, and the old object is kept and named as an earlier version.
    let mut extended = original.clone();
    extended.extend_from_slice(b"%%EXT validation data");
    let key = w
        .service
        .replace_copy_pdf(&record.code, extended.clone())
        .await
        .unwrap();
    assert_ne!(key, record.pdf_key);
    assert_eq!(w.registry.copy(&record.code).await.unwrap().unwrap().pdf_key, key);
    assert_eq!(
        w.registry.earlier_pdfs(&record.code).await.unwrap(),
        vec![record.pdf_key.clone()]
    );
    let blobs = w.blobs.0.lock().unwrap();
    assert_eq!(blobs[&key], extended);
    assert_eq!(blobs[&record.pdf_key], original, "the earlier version is kept");
}

// ---- Identity sessions (the verifiers are stand-ins here; the real ones are proven in the server's tests) ----

mod identity {
    use super::*;
    use banso_core::identity::*;

    fn holder() -> ProvenHolder {
        ProvenHolder {
            id_number: "001099012345".into(),
            full_name: "Nguyễn Văn An".into(),
            birth_date: Some("01/02/1999".into()),
            assurance: "high".into(),
        }
    }

    /// Accepts a chip whose SOD is `b"genuine"` and whose signature is the nonce itself.
    struct Chip;
    impl ChipVerifier for Chip {
        fn verify(&self, e: &ChipEvidence, nonce: &[u8; 8]) -> banso_core::Result<ChipProof> {
            if e.sod == b"genuine" && e.active_authentication.as_deref() == Some(&nonce[..]) {
                Ok(ChipProof {
                    holder: holder(),
                    portrait: b"portrait".to_vec(),
                })
            } else {
                Err(Error::new(Code::Id0003IdentityRejected, "not genuine"))
            }
        }
    }

    /// Live and matching when the first frame is the portrait.
    struct Face(Mutex<Vec<Vec<Turn>>>);
    impl FaceVerifier for Face {
        fn check(
            &self,
            portrait: &[u8],
            frames: &[Vec<u8>],
            challenge: &[Turn],
        ) -> banso_core::Result<FaceVerdict> {
            self.0.lock().unwrap().push(challenge.to_vec());
            let live = frames.len() > 1;
            let matched = live && frames[0] == portrait;
            Ok(FaceVerdict {
                live,
                matched,
                score: None,
                reason: if matched { String::new() } else { "no".into() },
            })
        }
    }

    /// Pending until `approved`.
    struct App(AtomicBool);
    impl AppLogin for App {
        fn start(&self) -> banso_core::Result<AppTicket> {
            Ok(AppTicket {
                client_id: "kiosk".into(),
                device_code: "dc".into(),
                user_code: "ABCD-EFGH".into(),
                verification_uri: "https://id.example/device".into(),
                qr_uri: "https://id.example/device?user_code=ABCD-EFGH".into(),
                nonce: None,
                expires_in: std::time::Duration::from_secs(300),
                interval: std::time::Duration::from_secs(5),
            })
        }
        fn poll(&self, _: &AppTicket) -> banso_core::Result<Option<ProvenHolder>> {
            Ok(self.0.load(Ordering::SeqCst).then(holder))
        }
    }

    fn with_identity() -> (World, Arc<App>) {
        let mut w = world(Arc::new(IntakeOff), FakeComposer::default());
        let app = Arc::new(App(AtomicBool::new(false)));
        w.service = w.service.clone().with_identity(IdentityPorts {
            chip: Some(Arc::new(Chip)),
            face: Some(Arc::new(Face(Default::default()))),
            app: Some(app.clone()),
        });
        (w, app)
    }

    fn genuine(nonce_hex: &str) -> ChipEvidence {
        ChipEvidence {
            sod: b"genuine".to_vec(),
            data_groups: vec![],
            active_authentication: Some(hex::decode(nonce_hex).unwrap()),
        }
    }

    #[tokio::test]
    async fn chip_then_face_verifies_the_session_for_its_device_only() {
        let (w, _) = with_identity();
        let s = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        assert_eq!(s.step, "chip");
        // Not verified yet: no holder for issuance.
        let e = w.service.verified_holder("kiosk-1", &s.id).await.unwrap_err();
        assert_eq!(e.code, Code::Auth0005IdentityRequired);
        // Frames before the chip: wrong step.
        let e = w
            .service
            .submit_face("kiosk-1", &s.id, vec![b"portrait".to_vec()])
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Id0005WrongStep);
        // Another device cannot see or drive it.
        let e = w
            .service
            .submit_chip("kiosk-2", &s.id, genuine(s.nonce.as_deref().unwrap()))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Id0004NoSuchSession);
        let f = w
            .service
            .submit_chip("kiosk-1", &s.id, genuine(s.nonce.as_deref().unwrap()))
            .await
            .unwrap();
        assert_eq!(f.step, "face");
        assert_eq!(f.challenge.as_ref().unwrap().len(), CHALLENGE_TURNS);
        assert_eq!(f.attempts_left, Some(FACE_ATTEMPTS));
        let v = w
            .service
            .submit_face("kiosk-1", &s.id, vec![b"portrait".to_vec(), b"turn".to_vec()])
            .await
            .unwrap();
        assert_eq!(v.step, "verified");
        assert_eq!(v.method, Some(Method::ChipAndFace));
        assert_eq!(
            w.service.verified_holder("kiosk-1", &s.id).await.unwrap(),
            holder()
        );
        assert_eq!(
            w.service
                .verified_holder("kiosk-2", &s.id)
                .await
                .unwrap_err()
                .code,
            Code::Auth0005IdentityRequired
        );
        // Ended: gone.
        w.service.end_identity("kiosk-1", &s.id).await.unwrap();
        assert_eq!(
            w.service
                .verified_holder("kiosk-1", &s.id)
                .await
                .unwrap_err()
                .code,
            Code::Auth0005IdentityRequired
        );
    }

    #[tokio::test]
    async fn a_chip_signing_another_nonce_ends_the_session() {
        let (w, _) = with_identity();
        let s = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        let e = w
            .service
            .submit_chip("kiosk-1", &s.id, genuine("0000000000000000"))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Id0003IdentityRejected);
        // The nonce is spent: the same session cannot be retried with the right signature.
        let e = w
            .service
            .submit_chip("kiosk-1", &s.id, genuine(s.nonce.as_deref().unwrap()))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Id0004NoSuchSession);
    }

    #[tokio::test]
    async fn failed_faces_spend_attempts_and_the_last_ends_the_session() {
        let (w, _) = with_identity();
        let s = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        w.service
            .submit_chip("kiosk-1", &s.id, genuine(s.nonce.as_deref().unwrap()))
            .await
            .unwrap();
        let e = w
            .service
            .submit_face("kiosk-1", &s.id, vec![b"portrait".to_vec()])
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Face0005NotLive);
        let e = w
            .service
            .submit_face("kiosk-1", &s.id, vec![b"other".to_vec(), b"x".to_vec()])
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Face0006Mismatch);
        assert_eq!(
            w.service
                .identity_session("kiosk-1", &s.id)
                .await
                .unwrap()
                .attempts_left,
            Some(1)
        );
        let e = w
            .service
            .submit_face("kiosk-1", &s.id, vec![b"other".to_vec(), b"x".to_vec()])
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Id0007TooManyAttempts);
        // Even the right face now finds no session.
        let e = w
            .service
            .submit_face("kiosk-1", &s.id, vec![b"portrait".to_vec(), b"turn".to_vec()])
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Id0004NoSuchSession);
        // Too many frames are refused before any work.
        let s = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        w.service
            .submit_chip("kiosk-1", &s.id, genuine(s.nonce.as_deref().unwrap()))
            .await
            .unwrap();
        let many = vec![b"portrait".to_vec(); 17];
        assert_eq!(
            w.service
                .submit_face("kiosk-1", &s.id, many)
                .await
                .unwrap_err()
                .code,
            Code::Req0001Malformed
        );
    }

    #[tokio::test]
    async fn a_device_holds_two_sessions_at_most_and_sessions_expire() {
        let (w, _) = with_identity();
        let a = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        w.clock.0.fetch_add(1, Ordering::SeqCst);
        let b = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        w.clock.0.fetch_add(1, Ordering::SeqCst);
        let c = w
            .service
            .start_identity("kiosk-1", Method::ChipAndFace)
            .await
            .unwrap();
        assert_eq!(
            w.service
                .identity_session("kiosk-1", &a.id)
                .await
                .unwrap_err()
                .code,
            Code::Id0004NoSuchSession
        );
        assert!(w.service.identity_session("kiosk-1", &b.id).await.is_ok());
        // Another device's sessions do not count against this one.
        let other = w
            .service
            .start_identity("kiosk-2", Method::ChipAndFace)
            .await
            .unwrap();
        assert!(w.service.identity_session("kiosk-1", &c.id).await.is_ok());
        w.clock.0.fetch_add(SESSION_TTL.whole_seconds(), Ordering::SeqCst);
        assert_eq!(
            w.service
                .identity_session("kiosk-1", &c.id)
                .await
                .unwrap_err()
                .code,
            Code::Id0004NoSuchSession
        );
        assert_eq!(
            w.service
                .identity_session("kiosk-2", &other.id)
                .await
                .unwrap_err()
                .code,
            Code::Id0004NoSuchSession
        );
    }

    #[tokio::test]
    async fn the_app_login_is_polled_no_faster_than_the_provider_asks() {
        let (w, app) = with_identity();
        let s = w.service.start_identity("kiosk-1", Method::App).await.unwrap();
        assert_eq!(s.step, "app");
        assert_eq!(
            s.qr_uri.as_deref(),
            Some("https://id.example/device?user_code=ABCD-EFGH")
        );
        assert_eq!(s.poll_after, Some(5));
        app.0.store(true, Ordering::SeqCst);
        // Too soon: answered as it is, the provider is not asked.
        assert_eq!(
            w.service.poll_app_login("kiosk-1", &s.id).await.unwrap().step,
            "app"
        );
        w.clock.0.fetch_add(5, Ordering::SeqCst);
        let v = w.service.poll_app_login("kiosk-1", &s.id).await.unwrap();
        assert_eq!(v.step, "verified");
        assert_eq!(v.method, Some(Method::App));
        assert_eq!(
            w.service.verified_holder("kiosk-1", &s.id).await.unwrap(),
            holder()
        );
    }

    #[tokio::test]
    async fn browsers_have_a_pool_of_their_own_and_a_full_pool_asks_the_provider_nothing() {
        let (w, app) = with_identity();
        let first = w.service.start_web_login().await.unwrap();
        for _ in 1..WEB_SESSIONS {
            w.service.start_web_login().await.unwrap();
        }
        let e = w.service.start_web_login().await.unwrap_err();
        assert_eq!(e.code, Code::Req0003Busy);
        // Kiosks are not crowded out by browsers.
        assert_eq!(
            w.service
                .start_identity("kiosk-1", Method::ChipAndFace)
                .await
                .unwrap()
                .step,
            "chip"
        );
        // A browser's login is its own: a kiosk cannot use it, and it lists the holder's wallet once approved.
        assert_eq!(
            w.service
                .verified_holder("kiosk-1", &first.id)
                .await
                .unwrap_err()
                .code,
            Code::Auth0005IdentityRequired
        );
        app.0.store(true, Ordering::SeqCst);
        w.clock.0.fetch_add(5, Ordering::SeqCst);
        assert_eq!(
            w.service.poll_web_login(&first.id).await.unwrap().step,
            "verified"
        );
        w.service.end_web_login(&first.id).await.unwrap();
        assert_eq!(
            w.service.poll_web_login(&first.id).await.unwrap_err().code,
            Code::Id0004NoSuchSession
        );
    }

    #[tokio::test]
    async fn a_service_without_verifiers_offers_no_way_to_identify() {
        let w = world(Arc::new(IntakeOff), FakeComposer::default());
        for m in [Method::ChipAndFace, Method::App] {
            assert_eq!(
                w.service.start_identity("kiosk-1", m).await.unwrap_err().code,
                Code::Id0006MethodUnavailable
            );
        }
    }
}

// ---- Fees paid through the payment gateway (the gateway's notifications are signed here as VNPAY signs them;
// the server's tests run a gateway simulator as a separate process) ----

mod payments {
    use super::*;
    use banso_core::payment::vnpay::IpnAnswer;
    use banso_core::service::{PayBy, PaymentSettings};
    use hmac::{Hmac, Mac};

    const SECRET: &[u8] = b"MERCHANTHASHSECRET0123456789";

    fn gateway() -> PaymentSettings {
        PaymentSettings {
            tmn_code: "BANSO001".into(),
            secret: SECRET.to_vec(),
            gateway_url: "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html".into(),
            return_url: "https://banso.example/".into(),
        }
    }

    fn paying_world() -> World {
        let mut w = world(
            Arc::new(ScriptedIntake::new(IntakeDecision::AutoIssue)),
            FakeComposer::default(),
        );
        w.service = w.service.clone().with_payments(gateway());
        w
    }

    fn kiosk_request(reference: Option<&str>) -> IssueRequest {
        IssueRequest {
            request_key: Some("kiosk-visit-1".into()),
            pay_by: Some(PayBy {
                device: "kiosk-1".into(),
                reference: reference.map(str::to_string),
            }),
            ..request(None)
        }
    }

    /// A notification as the gateway signs it (ASCII values without spaces: their encoding is themselves).
    fn ipn(reference: &str, amount_vnd: u64, code: &str, secret: &[u8]) -> String {
        let mut params = [
            ("vnp_Amount", (amount_vnd * 100).to_string()),
            ("vnp_BankCode", "NCB".to_string()),
            ("vnp_OrderInfo", "Le-phi".to_string()),
            ("vnp_PayDate", "20261202160000".to_string()),
            ("vnp_ResponseCode", code.to_string()),
            ("vnp_TmnCode", "BANSO001".to_string()),
            ("vnp_TransactionNo", "14000001".to_string()),
            ("vnp_TransactionStatus", code.to_string()),
            ("vnp_TxnRef", reference.to_string()),
        ];
        params.sort();
        let data: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let data = data.join("&");
        let mut mac = <Hmac<sha2::Sha512> as Mac>::new_from_slice(secret).unwrap();
        mac.update(data.as_bytes());
        format!(
            "{data}&vnp_SecureHash={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    #[tokio::test]
    async fn a_kiosk_request_is_issued_only_after_the_gateway_confirms_its_fee() {
        let w = paying_world();
        // The original passes: the fee is due (2 pages, 2 copies: 2 × 4,000 VND), nothing issued.
        let due = match w.service.issue(kiosk_request(None)).await.unwrap() {
            IssueOutcome::PaymentDue(due) => due,
            other => panic!("{other:?}"),
        };
        assert_eq!(due.amount_vnd, 8_000);
        assert!(due.pay_url.contains("vnp_Amount=800000"), "{}", due.pay_url);
        assert!(due.pay_url.contains(&format!("vnp_TxnRef={}", due.reference)));
        assert!(w.registry.state.lock().unwrap().copies.is_empty());
        // Named before the gateway confirmed it: refused, nothing issued.
        let e = w
            .service
            .issue(kiosk_request(Some(&due.reference)))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Pay0002NotPaid);
        // A notification signed with another secret, or for another amount, changes nothing.
        let forged = ipn(&due.reference, 8_000, "00", b"NOT-THE-MERCHANT-SECRET");
        assert_eq!(
            w.service.confirm_payment(&forged).await,
            IpnAnswer::InvalidSignature
        );
        let short = ipn(&due.reference, 1_000, "00", SECRET);
        assert_eq!(w.service.confirm_payment(&short).await, IpnAnswer::InvalidAmount);
        assert_eq!(
            w.service
                .confirm_payment(&ipn("NOSUCHREF", 8_000, "00", SECRET))
                .await,
            IpnAnswer::OrderNotFound
        );
        assert_eq!(
            w.service
                .payment_status("kiosk-1", &due.reference)
                .await
                .unwrap()
                .status,
            "pending"
        );
        // The gateway's notification: paid, once.
        let paid = ipn(&due.reference, 8_000, "00", SECRET);
        assert_eq!(w.service.confirm_payment(&paid).await, IpnAnswer::ConfirmSuccess);
        assert_eq!(
            w.service.confirm_payment(&paid).await,
            IpnAnswer::OrderAlreadyConfirmed
        );
        assert_eq!(
            w.service
                .payment_status("kiosk-1", &due.reference)
                .await
                .unwrap()
                .status,
            "paid"
        );
        // Another kiosk neither sees it nor spends it.
        assert_eq!(
            w.service
                .payment_status("kiosk-2", &due.reference)
                .await
                .unwrap_err()
                .code,
            Code::Pay0004NoSuchPayment
        );
        // Another request cannot spend it.
        let other = IssueRequest {
            copies: 1,
            ..kiosk_request(Some(&due.reference))
        };
        assert_eq!(
            w.service.issue(other).await.unwrap_err().code,
            Code::Pay0003OtherRequest
        );
        // The request itself: issued, the payment spent.
        let issued = w
            .service
            .issue(kiosk_request(Some(&due.reference)))
            .await
            .unwrap()
            .issued()
            .unwrap();
        assert_eq!((issued.copies.len(), issued.fee_total_vnd), (2, 8_000));
        assert_eq!(
            w.service
                .payment_status("kiosk-1", &due.reference)
                .await
                .unwrap()
                .status,
            "used"
        );
        // Its retry replays; a new request cannot reuse the spent payment.
        let again = w
            .service
            .issue(kiosk_request(Some(&due.reference)))
            .await
            .unwrap()
            .issued()
            .unwrap();
        assert!(again.replayed);
        let reuse = IssueRequest {
            request_key: Some("kiosk-visit-2".into()),
            ..kiosk_request(Some(&due.reference))
        };
        assert_eq!(
            w.service.issue(reuse).await.unwrap_err().code,
            Code::Pay0003OtherRequest
        );
    }

    #[tokio::test]
    async fn a_failed_payment_issues_nothing_and_a_refused_original_asks_no_fee() {
        let w = paying_world();
        let due = match w.service.issue(kiosk_request(None)).await.unwrap() {
            IssueOutcome::PaymentDue(due) => due,
            other => panic!("{other:?}"),
        };
        // The citizen cancelled at the gateway (code 24): recorded, and the request stays unpaid.
        assert_eq!(
            w.service
                .confirm_payment(&ipn(&due.reference, 8_000, "24", SECRET))
                .await,
            IpnAnswer::ConfirmSuccess
        );
        assert_eq!(
            w.service
                .payment_status("kiosk-1", &due.reference)
                .await
                .unwrap()
                .status,
            "failed"
        );
        let e = w
            .service
            .issue(kiosk_request(Some(&due.reference)))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::Pay0002NotPaid);
        assert!(w.registry.state.lock().unwrap().copies.is_empty());

        let refusing = world(
            Arc::new(ScriptedIntake::new(IntakeDecision::Refuse)),
            FakeComposer::default(),
        );
        let refusing = refusing.service.clone().with_payments(gateway());
        let e = refusing.issue(kiosk_request(None)).await.unwrap_err();
        assert_eq!(e.code, Code::Iss0008Refused, "a refusal, not a fee");
    }
}
