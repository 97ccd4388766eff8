//! Several external timestamp authorities, tried in the order configured, each behind a circuit breaker.
//!
//! - A timestamp is asked of the first TSA whose breaker is closed, [`TRIES`] times with a back-off of
//!   [`BACKOFF`], doubling; then of the next one.
//! - A TSA that failed [`OPEN_AFTER`] calls in a row is skipped (its breaker opens) for the cool-down, doubling
//!   with each failure after it, up to [`MAX_COOLDOWN`]. After the cool-down one call goes through
//!   ("half-open"): success closes the breaker, failure opens it again.
//! - When no TSA answers, or every breaker is open, the answer is [`SigningError::TimestampsDown`], with the
//!   time until the first breaker half-opens. Nothing is signed, so the issuance voids its number and leaves no
//!   copy behind.

use crate::pki::RemoteTsa;
use banso_signing::tsa::TimestampSource;
use banso_signing::SigningError;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tries of one TSA in one call.
pub const TRIES: u32 = 2;
/// The first pause between two tries of one TSA.
pub const BACKOFF: Duration = Duration::from_millis(200);
/// Failed calls in a row that open a TSA's breaker.
pub const OPEN_AFTER: u32 = 3;
/// The longest a breaker stays open.
pub const MAX_COOLDOWN: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// What the health check says of one TSA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsaHealth {
    pub url: String,
    /// `closed` (in use), `open` (skipped), `half-open` (the next call tries it).
    pub state: &'static str,
    pub failures: u32,
}

pub struct TsaPool {
    tsas: Vec<(RemoteTsa, Mutex<Breaker>)>,
    cooldown: Duration,
}

impl TsaPool {
    /// The TSAs at `urls`, in order; a breaker stays open `cooldown` after it opens (then longer).
    pub fn new(urls: &[&str], cooldown: Duration) -> anyhow::Result<Self> {
        if urls.is_empty() {
            anyhow::bail!("no timestamp authority configured");
        }
        Ok(Self {
            tsas: urls
                .iter()
                .map(|u| Ok((RemoteTsa::new(u)?, Mutex::new(Breaker::default()))))
                .collect::<anyhow::Result<_>>()?,
            cooldown,
        })
    }

    /// Each TSA's breaker.
    pub fn health(&self) -> Vec<TsaHealth> {
        let now = Instant::now();
        self.tsas
            .iter()
            .map(|(tsa, b)| {
                let b = b.lock().unwrap_or_else(|p| p.into_inner());
                TsaHealth {
                    url: tsa.url.clone(),
                    state: match b.open_until {
                        Some(t) if t > now => "open",
                        Some(_) => "half-open",
                        None => "closed",
                    },
                    failures: b.failures,
                }
            })
            .collect()
    }

    /// Seconds until the first open breaker lets a call through (1 when one is not open).
    fn retry_after(&self) -> u32 {
        let now = Instant::now();
        self.tsas
            .iter()
            .map(|(_, b)| {
                let b = b.lock().unwrap_or_else(|p| p.into_inner());
                b.open_until
                    .map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
            })
            .min()
            .map_or(1, |d| d.as_secs_f64().ceil().max(1.0) as u32)
    }

    fn failed(&self, breaker: &Mutex<Breaker>) {
        let mut b = breaker.lock().unwrap_or_else(|p| p.into_inner());
        b.failures += 1;
        if b.failures >= OPEN_AFTER {
            let doublings = (b.failures - OPEN_AFTER).min(8);
            let cooldown = (self.cooldown * 2u32.pow(doublings)).min(MAX_COOLDOWN);
            b.open_until = Some(Instant::now() + cooldown);
        }
    }
}

impl TimestampSource for TsaPool {
    fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, SigningError> {
        let mut last = String::from("every timestamp authority is cut off for now");
        for (tsa, breaker) in &self.tsas {
            let open = {
                let b = breaker.lock().unwrap_or_else(|p| p.into_inner());
                b.open_until.is_some_and(|t| t > Instant::now())
            };
            if open {
                continue;
            }
            let mut pause = BACKOFF;
            for attempt in 0..TRIES {
                match tsa.timestamp(digest) {
                    Ok(token) => {
                        *breaker.lock().unwrap_or_else(|p| p.into_inner()) = Breaker::default();
                        return Ok(token);
                    }
                    Err(e) => {
                        tracing::warn!(tsa = %tsa.url, attempt, error = %e, "a timestamp authority did not answer");
                        last = e.to_string();
                        if attempt + 1 < TRIES {
                            std::thread::sleep(pause);
                            pause *= 2;
                        }
                    }
                }
            }
            self.failed(breaker);
        }
        Err(SigningError::TimestampsDown {
            retry_after_secs: self.retry_after(),
            detail: last,
        })
    }

    fn health(&self) -> Vec<(String, String)> {
        TsaPool::health(self)
            .into_iter()
            .map(|h| (h.url, format!("{} ({} failures)", h.state, h.failures)))
            .collect()
    }

    fn ready(&self) -> bool {
        TsaPool::health(self).iter().any(|h| h.state != "open")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on.
    fn dead() -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}/")
    }

    #[test]
    fn dead_authorities_open_their_breakers_and_the_answer_says_when_to_retry() {
        let (a, b) = (dead(), dead());
        let pool = TsaPool::new(&[&a, &b], Duration::from_secs(30)).unwrap();
        for call in 1..=OPEN_AFTER {
            match pool.timestamp(&[7; 32]) {
                Err(SigningError::TimestampsDown { retry_after_secs, .. }) => {
                    if call < OPEN_AFTER {
                        assert_eq!(retry_after_secs, 1, "not open yet");
                    } else {
                        assert!((29..=30).contains(&retry_after_secs), "{retry_after_secs}");
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(pool
            .health()
            .iter()
            .all(|h| h.state == "open" && h.failures == OPEN_AFTER));
        assert!(!TimestampSource::ready(&pool));
        // Open: the next call tries nobody and answers at once.
        let t = Instant::now();
        assert!(matches!(
            pool.timestamp(&[7; 32]),
            Err(SigningError::TimestampsDown { .. })
        ));
        assert!(t.elapsed() < BACKOFF, "{:?}", t.elapsed());
    }

    #[test]
    fn a_breaker_half_opens_after_its_cooldown_and_a_failure_opens_it_longer() {
        let pool = TsaPool::new(&[&dead()], Duration::from_millis(300)).unwrap();
        for _ in 0..OPEN_AFTER {
            let _ = pool.timestamp(&[1; 32]);
        }
        assert_eq!(pool.health()[0].state, "open");
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(pool.health()[0].state, "half-open");
        assert!(TimestampSource::ready(&pool));
        let _ = pool.timestamp(&[1; 32]);
        assert_eq!(pool.health()[0].state, "open");
        // Doubled: still open after the first cool-down.
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(pool.health()[0].state, "open");
    }
}
