//! Per-client rate limits on the public endpoints anyone may call as often as they like: code look-ups (the
//! JSON status, the portal's page, the PDF behind a QR), verification uploads and the timestamp authority.
//!
//! A client is the address its connection comes from: an IPv4 address, or an IPv6 /64 (one subscriber's
//! prefix, so that rotating addresses inside it buys nothing). Each client has a token bucket per kind of
//! request: `burst` requests at once, then `per_minute` spread over the minute. A request beyond it is answered
//! `REQ-0005` (429) with `Retry-After` — the seconds until the bucket holds one request again — before its body
//! is read. The buckets live in the node's memory; with several nodes on one PostgreSQL, each node writes what it
//! let through every second ([`share`], the store's [`AdmitLog`]) and takes what the others let through out of
//! its own buckets, so that a client spreading its requests over the nodes gets one limit, not one per node —
//! give or take the second before the nodes hear of each other (at most a second of requests per node more).
//!
//! What an anonymous client can make the node hold: one bucket per (kind, client), at most `max_clients`
//! buckets. When the table is full, buckets that have refilled (clients gone quiet) are dropped; if every
//! bucket is still in use, a client the table does not know yet is answered 429 until one frees. A flood of
//! new addresses therefore costs a bounded table and slows only new clients, never the ones already served.

use banso_core::ports::{AdmitLog, Admits};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The kinds of request that are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Lookup,
    Verify,
    Timestamp,
}

impl Class {
    /// The kind of a request, by method and matched route; `None`: not limited here.
    pub fn of(method: &axum::http::Method, route: Option<&str>) -> Option<Class> {
        use axum::http::Method;
        match (method, route?) {
            (&Method::GET | &Method::HEAD, "/api/v1/copies/{code}")
            | (&Method::GET | &Method::HEAD, "/api/v1/copies/{code}/pdf")
            | (&Method::GET | &Method::HEAD, "/v/{code}")
            | (&Method::GET | &Method::HEAD, "/v/{code}/pdf")
            | (&Method::GET | &Method::HEAD, "/v") => Some(Class::Lookup),
            (&Method::POST, "/api/v1/verify") => Some(Class::Verify),
            (&Method::POST, "/pki/tsa") | (&Method::POST, "/api/v1/tsa") => Some(Class::Timestamp),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Class::Lookup => "look-ups",
            Class::Verify => "verifications",
            Class::Timestamp => "timestamps",
        }
    }

    /// As the admit log writes it.
    fn kind(self) -> &'static str {
        match self {
            Class::Lookup => "lookup",
            Class::Verify => "verify",
            Class::Timestamp => "timestamp",
        }
    }

    fn of_kind(kind: &str) -> Option<Class> {
        [Class::Lookup, Class::Verify, Class::Timestamp]
            .into_iter()
            .find(|c| c.kind() == kind)
    }
}

/// `per_minute` requests a minute after a `burst`; 0 per minute: not limited.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    fn per_sec(self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    fn burst(self) -> f64 {
        f64::from(self.burst.max(1))
    }

    /// What `b` holds at `now`, refilled since it was last touched, at most a burst.
    fn refilled(self, b: &Bucket, now: Instant) -> f64 {
        (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * self.per_sec()).min(self.burst())
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// Requests let through since the node last told the others.
    unshared: u32,
}

/// The bucket an admit log's entry counts against (none: a kind or client this node does not write).
fn key_of(a: &Admits) -> Option<(Class, u128)> {
    Some((
        Class::of_kind(&a.kind)?,
        u128::from_str_radix(&a.client, 16).ok()?,
    ))
}

/// The node's buckets.
pub struct RateLimits {
    lookup: Rate,
    verify: Rate,
    timestamp: Rate,
    max_clients: usize,
    buckets: Mutex<HashMap<(Class, u128), Bucket>>,
}

/// A client's key: an IPv4 address, or the /64 of an IPv6 one.
fn client(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(v4.to_ipv6_mapped()),
            None => u128::from(v6) & !((1u128 << 64) - 1),
        },
    }
}

impl RateLimits {
    pub fn new(lookup: Rate, verify: Rate, timestamp: Rate, max_clients: usize) -> Self {
        Self {
            lookup,
            verify,
            timestamp,
            max_clients: max_clients.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, class: Class) -> Rate {
        match class {
            Class::Lookup => self.lookup,
            Class::Verify => self.verify,
            Class::Timestamp => self.timestamp,
        }
    }

    /// Takes one request of `class` from the client's bucket: `Err((seconds to wait, what))` when it is empty.
    pub fn take(&self, class: Class, ip: IpAddr, now: Instant) -> Result<(), (u32, &'static str)> {
        let rate = self.rate(class);
        if rate.per_minute == 0 {
            return Ok(());
        }
        let key = (class, client(ip));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
            // Clients gone quiet hold nothing worth keeping: a full bucket is the same as none. (What such a
            // bucket let through and has not told the other nodes yet goes with it: a full table is a flood, and
            // while the database is away a bucket that kept its untold count could never be dropped.)
            buckets.retain(|(c, _), b| {
                let r = self.rate(*c);
                r.refilled(b, now) < r.burst()
            });
            if buckets.len() >= self.max_clients {
                return Err((1, class.name()));
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: rate.burst(),
            at: now,
            unshared: 0,
        });
        let tokens = rate.refilled(bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                at: now,
                unshared: bucket.unshared.saturating_add(1),
            };
            Ok(())
        } else {
            *bucket = Bucket {
                tokens,
                at: now,
                unshared: bucket.unshared,
            };
            let wait = ((1.0 - tokens) / rate.per_sec()).ceil().max(1.0);
            Err((wait.min(f64::from(u32::MAX)) as u32, class.name()))
        }
    }

    /// What this node let through since it last asked, for the other nodes; counted as told.
    fn take_unshared(&self) -> Vec<Admits> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .iter_mut()
            .filter(|(_, b)| b.unshared > 0)
            .map(|((class, client), b)| Admits {
                kind: class.kind().to_string(),
                client: format!("{client:032x}"),
                count: std::mem::take(&mut b.unshared),
            })
            .collect()
    }

    /// Takes what other nodes let through out of this node's buckets: a client's bucket may go below empty (by a
    /// minute's worth at most), and the client then waits until it refills. A client this node does not know yet
    /// gets a bucket when the table has room.
    fn absorb(&self, others: &[Admits], now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        for a in others {
            let Some((class, client)) = key_of(a) else {
                continue;
            };
            let rate = self.rate(class);
            if rate.per_minute == 0 {
                continue;
            }
            let key = (class, client);
            if !buckets.contains_key(&key) && buckets.len() >= self.max_clients {
                continue;
            }
            let bucket = buckets.entry(key).or_insert(Bucket {
                tokens: rate.burst(),
                at: now,
                unshared: 0,
            });
            let floor = -f64::from(rate.per_minute);
            bucket.tokens = (rate.refilled(bucket, now) - f64::from(a.count)).max(floor);
            bucket.at = now;
        }
    }

    /// Admits that [`Self::take_unshared`] gave out but could not be told (the exchange failed): counted as
    /// untold again, to go with the next exchange. A bucket dropped meanwhile takes its count with it. At most a
    /// burst is kept per bucket: after an outage of minutes the others are told what can still weigh on a bucket
    /// (older admits would have refilled long since), not everything at once — which would hold a client who kept
    /// to its limit at the floor for a minute on every other node.
    fn give_back(&self, untold: &[Admits]) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        for a in untold {
            let Some(key) = key_of(a) else {
                continue;
            };
            let most = self.rate(key.0).burst.max(1);
            if let Some(b) = buckets.get_mut(&key) {
                b.unshared = b.unshared.saturating_add(a.count).min(most);
            }
        }
    }

    /// Buckets held.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// How often a node tells the others what it let through, and hears what they did.
pub const SHARE_EVERY: Duration = Duration::from_secs(1);
/// How long the admit log keeps an entry: a node that has not asked for longer misses what is older.
const SHARE_KEEP: time::Duration = time::Duration::seconds(10);
/// Other nodes' entries taken in one exchange at most (the rest on the next).
const SHARE_MAX: u32 = 50_000;

/// Shares `limits` with the other nodes through `log` every [`SHARE_EVERY`], for as long as the node runs. A
/// failed exchange is logged and its admits go with the next one: while the database is away, each node limits
/// on its own, and the others hear of the last burst of it per client when it is back ([`RateLimits::give_back`]).
/// Each exchange is counted in the node's metrics.
pub async fn share(
    limits: Arc<super::edge::Edge>,
    log: Arc<dyn AdmitLog>,
    node: String,
    metrics: Arc<super::Metrics>,
) {
    let mut after = 0i64;
    let mut tick = tokio::time::interval(SHARE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match exchange(&limits.rates, log.as_ref(), &node, &mut after).await {
            Ok(heard) => metrics.observe_admit_exchange(Some(heard)),
            Err(e) => {
                metrics.observe_admit_exchange(None);
                tracing::warn!(error = %e, "sharing the rate limits with the other nodes failed");
            }
        }
    }
}

/// One exchange: tells `log` what this node let through since the last one that succeeded, and takes what the
/// other nodes let through after position `after` out of this node's buckets. Gives how many requests that was.
async fn exchange(
    rates: &RateLimits,
    log: &dyn AdmitLog,
    node: &str,
    after: &mut i64,
) -> Result<u64, banso_core::ports::StoreError> {
    let mine = rates.take_unshared();
    let now = time::OffsetDateTime::now_utc();
    match log
        .exchange_admits(node, *after, &mine, now, now - SHARE_KEEP, SHARE_MAX)
        .await
    {
        Ok((last, others)) => {
            *after = last;
            rates.absorb(&others, Instant::now());
            Ok(others.iter().map(|a| u64::from(a.count)).sum())
        }
        Err(e) => {
            rates.give_back(&mine);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits(max_clients: usize) -> RateLimits {
        let r = Rate {
            per_minute: 60,
            burst: 3,
        };
        RateLimits::new(
            r,
            r,
            Rate {
                per_minute: 0,
                burst: 0,
            },
            max_clients,
        )
    }

    #[test]
    fn a_burst_then_one_a_second_and_the_wait_is_said() {
        let l = limits(10);
        let (ip, t0) = ("203.0.113.7".parse().unwrap(), Instant::now());
        for _ in 0..3 {
            assert!(l.take(Class::Verify, ip, t0).is_ok());
        }
        assert_eq!(l.take(Class::Verify, ip, t0), Err((1, "verifications")));
        // Each kind has its own bucket; another client has its own.
        assert!(l.take(Class::Lookup, ip, t0).is_ok());
        assert!(l.take(Class::Verify, "203.0.113.8".parse().unwrap(), t0).is_ok());
        // A second later, one more.
        let t1 = t0 + Duration::from_millis(1000);
        assert!(l.take(Class::Verify, ip, t1).is_ok());
        assert!(l.take(Class::Verify, ip, t1).is_err());
        // Not limited when the rate is 0.
        for _ in 0..100 {
            assert!(l.take(Class::Timestamp, ip, t0).is_ok());
        }
    }

    #[test]
    fn what_other_nodes_let_through_empties_this_nodes_bucket() {
        let (a, b) = (limits(10), limits(10));
        let (ip, t0) = ("203.0.113.7".parse().unwrap(), Instant::now());
        for _ in 0..3 {
            assert!(a.take(Class::Verify, ip, t0).is_ok());
        }
        let told = a.take_unshared();
        assert_eq!(
            told,
            [Admits {
                kind: "verify".into(),
                client: format!("{:032x}", client(ip)),
                count: 3
            }]
        );
        assert!(a.take_unshared().is_empty(), "told once");
        // B has not seen the client, yet refuses it now; told more than a burst, it waits longer.
        b.absorb(&told, t0);
        assert_eq!(b.take(Class::Verify, ip, t0), Err((1, "verifications")));
        b.absorb(
            &[Admits {
                count: 5,
                ..told[0].clone()
            }],
            t0,
        );
        assert_eq!(b.take(Class::Verify, ip, t0), Err((6, "verifications")));
        assert!(b.take(Class::Verify, ip, t0 + Duration::from_secs(6)).is_ok());
        // Unknown kinds and malformed clients are ignored; a known client's other kinds are untouched.
        b.absorb(
            &[Admits {
                kind: "other".into(),
                client: "zz".into(),
                count: 9,
            }],
            t0,
        );
        assert!(b.take(Class::Lookup, ip, t0).is_ok());
    }

    /// An admit log that refuses while `down`, and otherwise records what each exchange told it.
    #[derive(Default)]
    struct Log {
        down: std::sync::atomic::AtomicBool,
        told: Mutex<Vec<Vec<Admits>>>,
    }

    #[async_trait::async_trait]
    impl AdmitLog for Log {
        async fn exchange_admits(
            &self,
            _node: &str,
            after: i64,
            mine: &[Admits],
            _now: time::OffsetDateTime,
            _forget_before: time::OffsetDateTime,
            _max: u32,
        ) -> Result<(i64, Vec<Admits>), banso_core::ports::StoreError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(banso_core::ports::StoreError::Other("database away".into()));
            }
            self.told.lock().unwrap().push(mine.to_vec());
            Ok((after + 1, Vec::new()))
        }
    }

    #[tokio::test]
    async fn what_a_failed_exchange_could_not_tell_goes_with_the_next() {
        let (l, log) = (limits(10), Log::default());
        let (ip, t0) = ("203.0.113.7".parse().unwrap(), Instant::now());
        let mut after = 0;
        log.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for _ in 0..2 {
            assert!(l.take(Class::Verify, ip, t0).is_ok());
        }
        assert!(exchange(&l, &log, "a", &mut after).await.is_err());
        assert_eq!(after, 0);
        assert!(l.take(Class::Verify, ip, t0).is_ok());
        log.down.store(false, std::sync::atomic::Ordering::SeqCst);
        exchange(&l, &log, "a", &mut after).await.unwrap();
        exchange(&l, &log, "a", &mut after).await.unwrap();
        let told = log.told.lock().unwrap().clone();
        assert_eq!(
            told,
            [
                vec![Admits {
                    kind: "verify".into(),
                    client: format!("{:032x}", client(ip)),
                    count: 3
                }],
                vec![]
            ],
            "the two admits of the failed exchange and the one after it, told once"
        );
        assert_eq!(after, 2);
        // A long outage: at most a burst (3) is kept for the client, not all it was let through meanwhile.
        log.down.store(true, std::sync::atomic::Ordering::SeqCst);
        for minute in 1..=3 {
            let at = t0 + Duration::from_secs(60 * minute);
            for _ in 0..3 {
                assert!(l.take(Class::Verify, ip, at).is_ok());
            }
            assert!(exchange(&l, &log, "a", &mut after).await.is_err());
        }
        log.down.store(false, std::sync::atomic::Ordering::SeqCst);
        exchange(&l, &log, "a", &mut after).await.unwrap();
        assert_eq!(log.told.lock().unwrap().last().unwrap()[0].count, 3);
    }

    #[test]
    fn an_ipv6_prefix_is_one_client() {
        let l = limits(10);
        let t0 = Instant::now();
        for i in 0..3 {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().unwrap();
            assert!(l.take(Class::Lookup, ip, t0).is_ok());
        }
        assert!(l
            .take(Class::Lookup, "2001:db8:1:2:ffff::1".parse().unwrap(), t0)
            .is_err());
        assert!(l
            .take(Class::Lookup, "2001:db8:1:3::1".parse().unwrap(), t0)
            .is_ok());
    }

    #[test]
    fn a_flood_of_new_addresses_holds_a_bounded_table_and_spares_known_clients() {
        let l = limits(100);
        let t0 = Instant::now();
        let known: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(l.take(Class::Lookup, known, t0).is_ok());
        let mut refused = 0;
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            if l.take(Class::Lookup, ip, t0).is_err() {
                refused += 1;
            }
        }
        assert!(l.clients() <= 100, "{}", l.clients());
        assert!(refused >= 10_000 - 100);
        // The known client keeps its bucket; once the flood's buckets refill, new clients are served again.
        assert!(l.take(Class::Lookup, known, t0).is_ok());
        let later = t0 + Duration::from_secs(5);
        assert!(l
            .take(Class::Lookup, "192.0.2.99".parse().unwrap(), later)
            .is_ok());
    }
}
