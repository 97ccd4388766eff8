//! banso's trust services, outside the binary: the installation's PKI on disk and its online services (CRLs,
//! OCSP, the built-in timestamp authority, an external TSA), the PAdES levels and their long-term upkeep, and
//! the two ports the core signs and verifies through: [`composer::PdfComposer`] (`Composer`: banso-render lays
//! the copy out, banso-signing signs it) and [`verifier::Verifier`] (`PdfVerifier`). The server only wires them.

pub mod composer;
pub mod files;
pub mod longterm;
pub mod pki;
pub mod tsa_pool;
pub mod verifier;
