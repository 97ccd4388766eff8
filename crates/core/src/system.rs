//! The real clock and the operating system's randomness. The use cases take them as ports ([`Clock`],
//! [`Entropy`]) so that tests inject their own; these are what a running service wires in.

use crate::ports::{Clock, Entropy};
use rand::RngCore;
use time::OffsetDateTime;

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The operating system's cryptographic random source.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(buf)
    }
}
