//! banso's domain core: certified copies, verification codes, numbering and fees, statuses, the use cases
//! (issue, look up, open, revoke, verify), the catalogue of administrative procedures a kiosk offers, and the
//! ports they need. No I/O happens here: storage, rendering, signing, time and randomness come in through the
//! traits in [`ports`].

pub mod calendar;
pub mod code;
pub mod dossier;
pub mod error;
pub mod grant;
pub mod identity;
pub mod merkle;
pub mod model;
pub mod office;
pub mod payment;
pub mod ports;
pub mod procedure;
pub mod rules;
pub mod service;
pub mod system;
pub mod transparency;
pub mod webauthn;

pub use error::{Code, Error, Kind, Result};
