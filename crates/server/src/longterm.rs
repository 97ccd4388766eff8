//! The PAdES levels and their upkeep live in banso-trust.

pub use banso_trust::longterm::*;
