//! The command line, one module per command group; `main` parses and dispatches.

pub mod backup;
pub mod calendar;
pub mod id;
pub mod log;
pub mod maintain;
pub mod officer;
pub mod pki;
pub mod procedures;
pub mod token;
pub mod webhook;
