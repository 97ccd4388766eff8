//! eMRTD chip access for the chip citizen ID card (CCCD), following ICAO Doc 9303:
//!
//! - [`crypto`]: symmetric primitives (KDF, DES parity, 3DES/AES-CBC, retail MAC, AES-CMAC);
//! - [`bac`]: Basic Access Control key derivation and mutual authentication (Part 11 §4.3);
//! - [`sm`]: APDUs and secure messaging for 3DES and AES channels (Part 11 §9.8);
//! - [`lds`]: the logical data structure: BER-TLV, EF.COM, DG1, DG2, EF.SOD;
//! - [`pa`]: passive authentication of EF.SOD and the data groups (Part 11 §5.1, Part 12).
//!
//! No card I/O lives here: the caller moves bytes between these functions and a reader.

pub mod bac;
pub mod crypto;
pub mod lds;
pub mod pa;
pub mod sm;

pub use bac::{mrz_information, BacError, BacKeys, BacResult, BacSession};
pub use crypto::Cipher;
pub use sm::{Apdu, Response, SecureChannel, SmError};
