//! Identity checks for banso kiosks: ICAO 9303 machine-readable zones, Vietnamese
//! 12-digit citizen ID numbers and the unsigned card-face QR, and eMRTD chip crypto.
//!
//! Everything here parses untrusted input, so the crate refuses `unwrap`, `expect`,
//! `panic!` and unchecked indexing outside tests.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod cccd;
pub mod emrtd;
pub mod holder;
pub mod mrz;
pub mod oidc;
#[cfg(feature = "pcsc")]
pub mod pcsc_transport;
pub mod proof;
pub mod vpcd;
