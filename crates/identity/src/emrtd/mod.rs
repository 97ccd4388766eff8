//! eMRTD chip access for the chip citizen ID card (CCCD), following ICAO Doc 9303:
//!
//! - [`crypto`]: symmetric primitives (KDF, DES parity, 3DES/AES-CBC, retail MAC, AES-CMAC);
//! - [`bac`]: Basic Access Control key derivation and mutual authentication (Part 11 §4.3);
//! - [`sm`]: APDUs and secure messaging for 3DES and AES channels (Part 11 §9.8);
//! - [`lds`]: the logical data structure: BER-TLV, EF.COM, DG1, DG2, EF.SOD;
//! - [`pa`]: passive authentication of EF.SOD and the data groups (Part 11 §5.1, Part 12).
//!
//! - [`card`]: the [`Card`] transport trait; [`vcard`]: an in-process chip ([`VirtualCard`]);
//! - [`secinfo`]: SecurityInfos (EF.CardAccess, DG14), DG15, P-256 helpers;
//! - [`pace`], [`chipauth`], [`activeauth`]: PACE-GM, chip and active authentication;
//! - [`dg13`]: the Vietnam-specific DG13 (assumed layout);
//! - [`reader`]: a whole chip read and its verification into a [`VerifiedIdentity`];
//! - [`testkit`]: issuance of test cards (test CSCA, Document Signer, SOD).

pub mod bac;
pub mod crypto;
pub mod lds;
pub mod pa;
pub mod sm;

pub use bac::{mrz_information, BacError, BacKeys, BacResult, BacSession};
pub use card::{Card, CardError};
pub use crypto::Cipher;
pub use reader::{read_chip, verify, BacOrPace, IdentityRejected, VerifiedIdentity};
pub use sm::{Apdu, Response, SecureChannel, SmError};
pub use vcard::VirtualCard;
pub mod activeauth;
pub mod card;
pub mod chipauth;
pub mod dg13;
pub mod pace;
pub mod reader;
pub mod secinfo;
pub mod testkit;
pub mod vcard;
