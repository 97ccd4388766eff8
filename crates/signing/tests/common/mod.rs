//! The prepared-PDF builder now lives in `banso_signing::testkit`, shared with the HSM crate's tests.
#![allow(unused_imports)]
pub use banso_signing::testkit::*;
