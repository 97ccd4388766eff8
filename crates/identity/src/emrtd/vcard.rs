//! An in-process eMRTD chip: the card side of BAC, PACE (ECDH-GM, P-256), secure
//! messaging, chip authentication (ECDH, CA v1) and active authentication (ECDSA P-256).
//!
//! Used by the in-process tests (terminal ↔ card without a reader) and served to the real
//! `pcscd` through vpcd. It enforces access control the way a chip does: only EF.CardAccess
//! is readable before BAC/PACE (everything else answers 6982), a wrong MRZ key is refused
//! with 6300, a plain command after secure messaging ends the session, and a secure
//! messaging error answers 6988 and ends the session.
//!
//! It is a test double, not a hardened card OS: no retry counters, no timing protection.

use std::collections::BTreeMap;

use const_oid::ObjectIdentifier;
use p256::ecdsa::SigningKey;
use p256::{AffinePoint, NonZeroScalar, Scalar};
use rand::RngCore;
use signature::Signer;

use super::bac::{ct_eq, BacKeys};
use super::card::{Card, CardError};
use super::crypto::{kdf, pad, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt, Cipher, KDF_ENC, KDF_MAC};
use super::lds::{expect_tlv, parse_all};
use super::pace::{auth_token, encrypt_nonce, new_channel, password_key, session_keys};
use super::secinfo::{
    cipher_of, decode_point, ecdh_x, encode_point, gm_map, mul, public_of, random_scalar, scalar_from_bytes,
    tlv,
};
use super::sm::{Apdu, SecureChannel};

/// The eMRTD application identifier (LDS1).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];
/// File identifier of EF.CardAccess.
pub const EF_CARD_ACCESS: u16 = 0x011C;

const SW_OK: u16 = 0x9000;
const SW_EOF: u16 = 0x6282;
const SW_AUTH_FAILED: u16 = 0x6300;
const SW_WRONG_LENGTH: u16 = 0x6700;
const SW_SECURITY: u16 = 0x6982;
const SW_CONDITIONS: u16 = 0x6985;
const SW_SM_OBJECTS: u16 = 0x6988;
const SW_WRONG_DATA: u16 = 0x6A80;
const SW_NOT_FOUND: u16 = 0x6A82;
const SW_WRONG_P1P2: u16 = 0x6B00;
const SW_INS: u16 = 0x6D00;

/// What a virtual card is made of.
#[derive(Clone)]
pub struct VirtualCardConfig {
    /// Files by identifier (EF.COM 011E, EF.CardAccess 011C, DG1 0101, …, EF.SOD 011D).
    pub files: BTreeMap<u16, Vec<u8>>,
    /// The MRZ information (document number, birth date, expiry date with check digits):
    /// the BAC and PACE secret.
    pub mrz_information: String,
    /// PACE protocol offered (must match EF.CardAccess), `None` for a BAC-only chip.
    pub pace_protocol: Option<ObjectIdentifier>,
    /// Chip authentication protocol and private key (its public key is in DG14).
    pub chip_authentication: Option<(ObjectIdentifier, NonZeroScalar)>,
    /// Active authentication private key (its public key is in DG15, unless a clone).
    pub active_authentication: Option<SigningKey>,
}

impl std::fmt::Debug for VirtualCardConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCardConfig")
            .field("files", &self.files.keys().collect::<Vec<_>>())
            .field("pace_protocol", &self.pace_protocol)
            .finish_non_exhaustive()
    }
}

enum Pace {
    Idle,
    Selected(ObjectIdentifier, Cipher),
    Nonce(ObjectIdentifier, Cipher, Scalar),
    Mapped(ObjectIdentifier, Cipher, AffinePoint),
    Agreed {
        oid: ObjectIdentifier,
        cipher: Cipher,
        pk_ifd: AffinePoint,
        pk_ic: AffinePoint,
        enc: Vec<u8>,
        mac: Vec<u8>,
    },
}

/// The in-process chip. Implements [`Card`].
pub struct VirtualCard {
    config: VirtualCardConfig,
    selected: Option<u16>,
    sm: Option<SecureChannel>,
    challenge: Option<[u8; 8]>,
    pace: Pace,
    ca_pending: Option<Cipher>,
    /// Number of APDUs processed (for diagnostics).
    pub apdu_count: usize,
}

impl std::fmt::Debug for VirtualCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCard")
            .field("config", &self.config)
            .field("secure_messaging", &self.sm.is_some())
            .finish_non_exhaustive()
    }
}

/// (data, status word, channel to install after the response is sent).
type Outcome = (Vec<u8>, u16, Option<SecureChannel>);

fn status(sw: u16) -> Outcome {
    (Vec::new(), sw, None)
}

fn dyn_auth_value(data: &[u8], tag: u32) -> Option<Vec<u8>> {
    let outer = expect_tlv(data, 0x7C).ok()?;
    parse_all(outer.value)
        .ok()?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value.to_vec())
}

impl VirtualCard {
    /// A card in its power-on state.
    pub fn new(config: VirtualCardConfig) -> Self {
        VirtualCard {
            config,
            selected: None,
            sm: None,
            challenge: None,
            pace: Pace::Idle,
            ca_pending: None,
            apdu_count: 0,
        }
    }

    /// The card's configuration (files and keys).
    pub fn config(&self) -> &VirtualCardConfig {
        &self.config
    }

    /// Simulates removing and re-presenting the card: all security state is dropped.
    pub fn reset(&mut self) {
        self.selected = None;
        self.sm = None;
        self.challenge = None;
        self.pace = Pace::Idle;
        self.ca_pending = None;
    }

    /// The answer-to-reset bytes a contactless eMRTD typically presents through PC/SC.
    pub fn atr(&self) -> Vec<u8> {
        vec![0x3B, 0x80, 0x80, 0x01, 0x01]
    }

    /// Processes one raw command APDU and returns the raw response (never fails).
    pub fn process(&mut self, raw: &[u8]) -> Vec<u8> {
        self.apdu_count += 1;
        let Ok(cmd) = Apdu::parse(raw) else {
            return SW_WRONG_LENGTH.to_be_bytes().to_vec();
        };
        if cmd.cla & 0x0C == 0x0C {
            let Some(mut sm) = self.sm.take() else {
                return SW_SM_OBJECTS.to_be_bytes().to_vec();
            };
            let plain = match sm.unprotect_command(&cmd) {
                Ok(p) => p,
                Err(_) => {
                    // The session ends; the channel is not restored.
                    self.reset_security();
                    return SW_SM_OBJECTS.to_be_bytes().to_vec();
                }
            };
            let (data, sw, next) = self.execute(&plain, true);
            let resp = match sm.protect_response(&data, sw) {
                Ok(r) => r,
                Err(_) => {
                    self.reset_security();
                    return SW_SM_OBJECTS.to_be_bytes().to_vec();
                }
            };
            self.sm = Some(next.unwrap_or(sm));
            resp
        } else {
            if self.sm.is_some() {
                // A plain command ends secure messaging (ICAO 9303-11 §9.8.6).
                self.reset_security();
            }
            let (mut data, sw, next) = self.execute(&cmd, false);
            if next.is_some() {
                self.sm = next;
            }
            data.extend_from_slice(&sw.to_be_bytes());
            data
        }
    }

    fn reset_security(&mut self) {
        self.sm = None;
        self.pace = Pace::Idle;
        self.ca_pending = None;
        self.challenge = None;
        self.selected = None;
    }

    fn execute(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        match cmd.ins {
            0xA4 => self.select(cmd, secured),
            0xB0 => self.read_binary(cmd, secured),
            0x84 => self.get_challenge(cmd),
            0x82 => self.external_authenticate(cmd, secured),
            0x22 => self.mse(cmd, secured),
            0x86 => self.general_authenticate(cmd, secured),
            0x88 => self.internal_authenticate(cmd, secured),
            _ => status(SW_INS),
        }
    }

    fn select(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        match cmd.p1 {
            0x04 => {
                if cmd.data == EMRTD_AID {
                    self.selected = None;
                    status(SW_OK)
                } else {
                    status(SW_NOT_FOUND)
                }
            }
            0x00 if cmd.data.is_empty() || cmd.data == [0x3F, 0x00] => {
                self.selected = None;
                status(SW_OK)
            }
            0x00 | 0x02 => {
                let [hi, lo] = cmd.data.as_slice() else {
                    return status(SW_WRONG_DATA);
                };
                let fid = u16::from_be_bytes([*hi, *lo]);
                if !self.config.files.contains_key(&fid) {
                    return status(SW_NOT_FOUND);
                }
                if fid != EF_CARD_ACCESS && !secured {
                    return status(SW_SECURITY);
                }
                self.selected = Some(fid);
                status(SW_OK)
            }
            _ => status(SW_WRONG_P1P2),
        }
    }

    fn read_binary(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        let (fid, offset) = if cmd.p1 & 0x80 != 0 {
            let fid = match cmd.p1 & 0x1F {
                0x1C => EF_CARD_ACCESS,
                0x1D => 0x011D,
                0x1E => 0x011E,
                n @ 0x01..=0x10 => 0x0100 | u16::from(n),
                _ => return status(SW_NOT_FOUND),
            };
            if !self.config.files.contains_key(&fid) {
                return status(SW_NOT_FOUND);
            }
            if fid != EF_CARD_ACCESS && !secured {
                return status(SW_SECURITY);
            }
            self.selected = Some(fid);
            (fid, usize::from(cmd.p2))
        } else {
            let Some(fid) = self.selected else {
                return status(SW_CONDITIONS);
            };
            (fid, usize::from(u16::from_be_bytes([cmd.p1 & 0x7F, cmd.p2])))
        };
        if fid != EF_CARD_ACCESS && !secured {
            return status(SW_SECURITY);
        }
        let Some(file) = self.config.files.get(&fid) else {
            return status(SW_NOT_FOUND);
        };
        let le = cmd.le.unwrap_or(256) as usize;
        let Some(rest) = file.get(offset..) else {
            return status(SW_WRONG_P1P2);
        };
        if rest.is_empty() {
            return status(SW_WRONG_P1P2);
        }
        let n = rest.len().min(le);
        let sw = if n < le { SW_EOF } else { SW_OK };
        (rest.get(..n).unwrap_or_default().to_vec(), sw, None)
    }

    fn get_challenge(&mut self, cmd: &Apdu) -> Outcome {
        if cmd.le != Some(8) {
            return status(SW_WRONG_LENGTH);
        }
        let mut c = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut c);
        self.challenge = Some(c);
        (c.to_vec(), SW_OK, None)
    }

    /// BAC: verifies E_IFD ‖ M_IFD and answers E_IC ‖ M_IC; the 3DES channel starts after.
    fn external_authenticate(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        if secured {
            return status(SW_CONDITIONS);
        }
        let Some(rnd_ic) = self.challenge.take() else {
            return status(SW_CONDITIONS);
        };
        if cmd.data.len() != 40 {
            return status(SW_WRONG_LENGTH);
        }
        let keys = BacKeys::from_mrz_information(&self.config.mrz_information);
        let (e_ifd, m_ifd) = cmd.data.split_at(32);
        let mac_ok = retail_mac(&keys.mac, &pad(e_ifd, 8)).is_ok_and(|m| ct_eq(&m, m_ifd));
        if !mac_ok {
            return status(SW_AUTH_FAILED);
        }
        let Ok(s) = tdes_cbc_decrypt(&keys.enc, &[0; 8], e_ifd) else {
            return status(SW_AUTH_FAILED);
        };
        let (rnd_ifd, rest) = s.split_at(8);
        let (echo, k_ifd) = rest.split_at(8);
        if echo != rnd_ic {
            return status(SW_AUTH_FAILED);
        }
        let mut k_ic = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut k_ic);
        let r = [rnd_ic.as_slice(), rnd_ifd, &k_ic].concat();
        let Ok(e_ic) = tdes_cbc_encrypt(&keys.enc, &[0; 8], &r) else {
            return status(SW_AUTH_FAILED);
        };
        let Ok(m_ic) = retail_mac(&keys.mac, &pad(&e_ic, 8)) else {
            return status(SW_AUTH_FAILED);
        };
        let seed: Vec<u8> = k_ifd.iter().zip(&k_ic).map(|(a, b)| a ^ b).collect();
        let ssc = [
            rnd_ic.get(4..).unwrap_or_default(),
            rnd_ifd.get(4..).unwrap_or_default(),
        ]
        .concat();
        let Ok(channel) = SecureChannel::new(
            Cipher::ThreeDes,
            kdf(&seed, KDF_ENC, Cipher::ThreeDes),
            kdf(&seed, KDF_MAC, Cipher::ThreeDes),
            ssc,
        ) else {
            return status(SW_AUTH_FAILED);
        };
        let mut out = e_ic;
        out.extend_from_slice(&m_ic);
        (out, SW_OK, Some(channel))
    }

    fn mse(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        let Ok(dos) = parse_all(&cmd.data) else {
            return status(SW_WRONG_DATA);
        };
        let find = |tag: u32| dos.iter().find(|t| t.tag == tag).map(|t| t.value.to_vec());
        match (cmd.p1, cmd.p2) {
            // PACE: Set AT for mutual authentication.
            (0xC1, 0xA4) => {
                self.pace = Pace::Idle;
                let Some(offered) = self.config.pace_protocol else {
                    return status(SW_WRONG_DATA);
                };
                let oid = find(0x80).and_then(|v| ObjectIdentifier::from_bytes(&v).ok());
                let password = find(0x83);
                let param = find(0x84);
                if oid != Some(offered)
                    || password.as_deref() != Some(&[0x01])
                    || param.as_deref().is_some_and(|p| p != [12])
                {
                    return status(SW_WRONG_DATA);
                }
                let Some(cipher) = cipher_of(&offered) else {
                    return status(SW_WRONG_DATA);
                };
                self.pace = Pace::Selected(offered, cipher);
                status(SW_OK)
            }
            // Chip authentication, 3DES: Set KAT with the terminal's ephemeral key.
            (0x41, 0xA6) => {
                if !secured {
                    return status(SW_SECURITY);
                }
                let Some((oid, _)) = &self.config.chip_authentication else {
                    return status(SW_CONDITIONS);
                };
                let Some(cipher) = cipher_of(oid) else {
                    return status(SW_CONDITIONS);
                };
                match find(0x91) {
                    Some(pk) => self.ca_finish(&pk, cipher, (Vec::new(), SW_OK)),
                    None => status(SW_WRONG_DATA),
                }
            }
            // Chip authentication, AES: Set AT, then GENERAL AUTHENTICATE.
            (0x41, 0xA4) => {
                if !secured {
                    return status(SW_SECURITY);
                }
                let Some((own, _)) = &self.config.chip_authentication else {
                    return status(SW_CONDITIONS);
                };
                let oid = find(0x80).and_then(|v| ObjectIdentifier::from_bytes(&v).ok());
                if oid.as_ref() != Some(own) {
                    return status(SW_WRONG_DATA);
                }
                self.ca_pending = cipher_of(own);
                status(SW_OK)
            }
            _ => status(SW_WRONG_P1P2),
        }
    }

    fn ca_finish(&mut self, pk: &[u8], cipher: Cipher, answer: (Vec<u8>, u16)) -> Outcome {
        let Some((_, sk)) = &self.config.chip_authentication else {
            return status(SW_CONDITIONS);
        };
        let Ok(pk) = decode_point(pk) else {
            return status(SW_WRONG_DATA);
        };
        let Ok(shared) = ecdh_x(sk, &pk) else {
            return status(SW_WRONG_DATA);
        };
        let (enc, mac) = session_keys(cipher, &shared);
        match new_channel(cipher, enc, mac) {
            Ok(ch) => (answer.0, answer.1, Some(ch)),
            Err(_) => status(SW_CONDITIONS),
        }
    }

    fn general_authenticate(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        if let Some(cipher) = self.ca_pending.take() {
            if secured {
                return match dyn_auth_value(&cmd.data, 0x80) {
                    Some(pk) => self.ca_finish(&pk, cipher, (vec![0x7C, 0x00], SW_OK)),
                    None => status(SW_WRONG_DATA),
                };
            }
        }
        let state = std::mem::replace(&mut self.pace, Pace::Idle);
        match self.pace_step(state, &cmd.data) {
            Ok(outcome) => outcome,
            Err(sw) => status(sw),
        }
    }

    fn pace_step(&mut self, state: Pace, data: &[u8]) -> Result<Outcome, u16> {
        let bad = SW_WRONG_DATA;
        match state {
            Pace::Idle => Err(SW_CONDITIONS),
            Pace::Selected(oid, cipher) => {
                if data != [0x7C, 0x00] {
                    return Err(bad);
                }
                let mut s = vec![0u8; cipher.block_size()];
                rand::rngs::OsRng.fill_bytes(&mut s);
                let k_pi = password_key(&self.config.mrz_information, cipher);
                let z = encrypt_nonce(cipher, &k_pi, &s).map_err(|_| bad)?;
                self.pace = Pace::Nonce(oid, cipher, scalar_from_bytes(&s));
                Ok((tlv(&[0x7C], &tlv(&[0x80], &z)), SW_OK, None))
            }
            Pace::Nonce(oid, cipher, s) => {
                let pk_ifd = dyn_auth_value(data, 0x81).ok_or(bad)?;
                let pk_ifd = decode_point(&pk_ifd).map_err(|_| bad)?;
                let sk = random_scalar();
                let h = mul(&pk_ifd, &sk).map_err(|_| bad)?;
                let g = gm_map(&s, &h).map_err(|_| bad)?;
                self.pace = Pace::Mapped(oid, cipher, g);
                Ok((
                    tlv(&[0x7C], &tlv(&[0x82], &encode_point(&public_of(&sk)))),
                    SW_OK,
                    None,
                ))
            }
            Pace::Mapped(oid, cipher, g) => {
                let pk_ifd = dyn_auth_value(data, 0x83).ok_or(bad)?;
                let pk_ifd = decode_point(&pk_ifd).map_err(|_| bad)?;
                let sk = random_scalar();
                let pk_ic = mul(&g, &sk).map_err(|_| bad)?;
                if pk_ic == pk_ifd {
                    return Err(bad);
                }
                let shared = ecdh_x(&sk, &pk_ifd).map_err(|_| bad)?;
                let (enc, mac) = session_keys(cipher, &shared);
                self.pace = Pace::Agreed {
                    oid,
                    cipher,
                    pk_ifd,
                    pk_ic,
                    enc,
                    mac,
                };
                Ok((tlv(&[0x7C], &tlv(&[0x84], &encode_point(&pk_ic))), SW_OK, None))
            }
            Pace::Agreed {
                oid,
                cipher,
                pk_ifd,
                pk_ic,
                enc,
                mac,
            } => {
                let t_ifd = dyn_auth_value(data, 0x85).ok_or(bad)?;
                let expect = auth_token(cipher, &mac, &oid, &pk_ic).map_err(|_| bad)?;
                if !ct_eq(&expect, &t_ifd) {
                    return Err(SW_AUTH_FAILED);
                }
                let t_ic = auth_token(cipher, &mac, &oid, &pk_ifd).map_err(|_| bad)?;
                let ch = new_channel(cipher, enc, mac).map_err(|_| bad)?;
                Ok((tlv(&[0x7C], &tlv(&[0x86], &t_ic)), SW_OK, Some(ch)))
            }
        }
    }

    /// Active authentication: ECDSA P-256 / SHA-256 over the 8-byte nonce, plain r ‖ s.
    fn internal_authenticate(&mut self, cmd: &Apdu, secured: bool) -> Outcome {
        if !secured {
            return status(SW_SECURITY);
        }
        let Some(key) = &self.config.active_authentication else {
            return status(SW_INS);
        };
        if cmd.data.len() != 8 {
            return status(SW_WRONG_LENGTH);
        }
        let sig: p256::ecdsa::Signature = key.sign(&cmd.data);
        (sig.to_bytes().to_vec(), SW_OK, None)
    }
}

impl Card for VirtualCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        Ok(self.process(apdu))
    }
}
