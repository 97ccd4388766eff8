//! The prepared-PDF builder of `banso_signing::testkit`.
#![allow(unused_imports)]
pub use banso_signing::testkit::*;
