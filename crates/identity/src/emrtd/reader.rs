//! Terminal side of a whole chip read: access control (PACE or BAC), secure messaging
//! reads of EF.COM, DG1, DG2, DG13, DG14, DG15 and EF.SOD, chip authentication and active
//! authentication with a server nonce — then [`verify`], which is the **only** way to get
//! a [`VerifiedIdentity`].

use std::marker::PhantomData;

use rand::RngCore;

use super::activeauth::{internal_authenticate, verify_active_authentication, AaError};
use super::bac::{BacError, BacKeys, BacSession, GET_CHALLENGE};
use super::card::{transceive, ApduError, Card, CardError};
use super::chipauth::{choose_ca, run_chip_authentication};
use super::dg13::Dg13;
use super::lds::{dg_file_id, parse_dg1, parse_dg2, total_length, FaceImage, LdsError, EF_COM, EF_SOD};
use super::pa::{passive_authentication, CheckStatus};
use super::pace::{choose_pace, run_pace, PaceError};
use super::secinfo::{parse_dg14, parse_dg15, parse_security_infos};
use super::sm::{Apdu, Response, SecureChannel, SmError};
use super::vcard::{EF_CARD_ACCESS, EMRTD_AID};
use crate::mrz::Mrz;

/// Which access control to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BacOrPace {
    /// BAC only.
    Bac,
    /// PACE only (fails if EF.CardAccess offers no supported PACE).
    Pace,
    /// PACE when EF.CardAccess offers a supported protocol, BAC otherwise (ICAO advice).
    PreferPace,
}

/// The access control that was actually performed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessUsed {
    /// Basic Access Control (3DES).
    Bac,
    /// PACE.
    Pace,
    /// Read by a kiosk; the service saw the data, not the access control.
    Remote,
}

/// Read failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The card refused the MRZ-derived key (BAC or PACE): wrong MRZ, or not this card.
    #[error("access denied: the card refused the MRZ key (status {0:04X})")]
    AccessDenied(u16),
    /// The MRZ text could not be turned into BAC/PACE key material.
    #[error("MRZ unusable for access control: {0}")]
    Mrz(String),
    /// Transport failure.
    #[error(transparent)]
    Transport(#[from] CardError),
    /// Secure messaging failed (MAC, encoding).
    #[error("secure messaging: {0}")]
    SecureMessaging(#[from] SmError),
    /// BAC protocol failure other than a refused key.
    #[error("BAC: {0}")]
    Bac(#[from] BacError),
    /// PACE protocol failure other than a refused password.
    #[error("PACE: {0}")]
    Pace(PaceError),
    /// A command failed with a status word.
    #[error("{what} failed with status {sw:04X}")]
    Status {
        /// The command.
        what: String,
        /// The status word.
        sw: u16,
    },
    /// A mandatory file is missing.
    #[error("mandatory file {0} is missing")]
    MissingFile(&'static str),
    /// A file could not be parsed.
    #[error("malformed file: {0}")]
    Lds(#[from] LdsError),
}

impl From<ApduError> for ReadError {
    fn from(e: ApduError) -> Self {
        match e {
            ApduError::Card(c) => ReadError::Transport(c),
            ApduError::Sm(s) => ReadError::SecureMessaging(s),
        }
    }
}

impl From<PaceError> for ReadError {
    fn from(e: PaceError) -> Self {
        match e {
            PaceError::AccessDenied(sw) => ReadError::AccessDenied(sw),
            PaceError::Apdu(a) => a.into(),
            other => ReadError::Pace(other),
        }
    }
}

/// Typestate marker: read from a chip, nothing verified yet.
#[derive(Debug, Clone, Copy)]
pub struct Unverified;

/// Outcome of a chip-side protocol run during the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolOutcome {
    /// Not attempted (no key, or unsupported), with the reason.
    NotRun(String),
    /// The protocol completed (for CA: the next command verified under the new keys).
    Completed,
    /// The chip failed the protocol, with the reason.
    Failed(String),
}

/// Everything read from the chip. Nothing in it is trusted until [`verify`] ran.
#[derive(Debug, Clone)]
pub struct ChipData<S = Unverified> {
    /// Access control performed.
    pub access: AccessUsed,
    /// EF.CardAccess, when present.
    pub card_access: Option<Vec<u8>>,
    /// EF.COM.
    pub ef_com: Vec<u8>,
    /// Data groups read, (number, file bytes), in DG order.
    pub data_groups: Vec<(u8, Vec<u8>)>,
    /// EF.SOD.
    pub sod: Vec<u8>,
    /// Chip authentication outcome.
    pub chip_authentication: ProtocolOutcome,
    /// The nonce sent in INTERNAL AUTHENTICATE and the chip's signature, when AA ran.
    pub active_authentication: Option<([u8; 8], Vec<u8>)>,
    /// Why AA did not run, when it did not.
    pub active_authentication_error: Option<String>,
    _state: PhantomData<S>,
}

impl ChipData<Unverified> {
    /// What a kiosk read from a chip and sent to the service, which checks it with [`verify`]: the data
    /// groups, EF.SOD and the chip's signature over the service's `nonce`. Chip authentication ran (or not)
    /// between the kiosk and the chip, where the service cannot see it, so it counts as not run here; a
    /// genuine chip is proven to the service by active authentication over its own nonce.
    pub fn from_kiosk(
        sod: Vec<u8>,
        data_groups: Vec<(u8, Vec<u8>)>,
        active_authentication: Option<([u8; 8], Vec<u8>)>,
    ) -> Self {
        ChipData {
            access: AccessUsed::Remote,
            card_access: None,
            ef_com: Vec::new(),
            data_groups,
            sod,
            chip_authentication: ProtocolOutcome::NotRun(
                "run between the kiosk and the chip, where the service cannot check it".into(),
            ),
            active_authentication_error: active_authentication
                .is_none()
                .then(|| "the kiosk sent no signature over the service's nonce".to_owned()),
            active_authentication,
            _state: PhantomData,
        }
    }
}

impl<S> ChipData<S> {
    /// The bytes of data group `n`, when read.
    pub fn data_group(&self, n: u8) -> Option<&[u8]> {
        self.data_groups
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, b)| b.as_slice())
    }
}

/// Largest READ BINARY chunk that keeps a protected response in a short APDU.
const CHUNK: usize = 0xDF;

fn mrz_information_of(mrz_text: &str) -> Result<String, ReadError> {
    match Mrz::parse(mrz_text) {
        Ok(m) => Ok(m.bac_seed_fields()),
        Err(e) => {
            let t = mrz_text.trim();
            let looks_like_info = t.len() >= 24
                && t.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'<');
            if looks_like_info {
                Ok(t.to_owned())
            } else {
                Err(ReadError::Mrz(e.to_string()))
            }
        }
    }
}

fn check_ok(r: Response, what: &str) -> Result<Vec<u8>, ReadError> {
    if r.is_ok() || r.sw == 0x6282 {
        Ok(r.data)
    } else {
        Err(ReadError::Status {
            what: what.to_owned(),
            sw: r.sw,
        })
    }
}

/// Selects `fid` and reads it whole; `Ok(None)` if the card says it does not exist.
fn read_file(
    card: &mut dyn Card,
    mut sm: Option<&mut SecureChannel>,
    fid: u16,
) -> Result<Option<Vec<u8>>, ReadError> {
    let r = transceive(card, sm.as_deref_mut(), &Apdu::select_ef(fid))?;
    if r.sw == 0x6A82 {
        return Ok(None);
    }
    check_ok(r, &format!("SELECT {fid:04X}"))?;
    let what = format!("READ BINARY {fid:04X}");
    let head = check_ok(
        transceive(card, sm.as_deref_mut(), &Apdu::read_binary(0, 8))?,
        &what,
    )?;
    let total = total_length(&head)?;
    let mut data = head;
    data.truncate(total);
    while data.len() < total {
        let offset = u16::try_from(data.len()).map_err(|_| LdsError::Tlv("file larger than 32 kB"))?;
        if offset > 0x7FFF {
            return Err(LdsError::Tlv("file larger than 32 kB").into());
        }
        let want = (total - data.len()).min(CHUNK) as u32;
        let chunk = check_ok(
            transceive(card, sm.as_deref_mut(), &Apdu::read_binary(offset, want))?,
            &what,
        )?;
        if chunk.is_empty() {
            return Err(LdsError::Tlv("file shorter than its length").into());
        }
        data.extend_from_slice(&chunk);
    }
    data.truncate(total);
    Ok(Some(data))
}

fn select_application(card: &mut dyn Card, sm: Option<&mut SecureChannel>) -> Result<(), ReadError> {
    let cmd = Apdu {
        data: EMRTD_AID.to_vec(),
        ..Apdu::new(0x00, 0xA4, 0x04, 0x0C)
    };
    check_ok(transceive(card, sm, &cmd)?, "SELECT eMRTD application")?;
    Ok(())
}

fn run_bac(card: &mut dyn Card, mrz_information: &str) -> Result<SecureChannel, ReadError> {
    select_application(card, None)?;
    let raw = card.transmit(&GET_CHALLENGE)?;
    let r = Response::from_bytes(&raw)?;
    let rnd_ic: [u8; 8] = check_ok(r, "GET CHALLENGE")?
        .try_into()
        .map_err(|_| ReadError::Bac(BacError::Challenge))?;
    let mut rnd_ifd = [0u8; 8];
    let mut k_ifd = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut rnd_ifd);
    rand::rngs::OsRng.fill_bytes(&mut k_ifd);
    let mut session = BacSession::new(BacKeys::from_mrz_information(mrz_information), rnd_ifd, k_ifd);
    let apdu = session.external_authenticate_apdu(rnd_ic)?;
    let r = Response::from_bytes(&card.transmit(&apdu)?)?;
    match r.sw {
        0x9000 => Ok(session.finish(&r.data)?.channel),
        0x6300 | 0x6982 => Err(ReadError::AccessDenied(r.sw)),
        sw if sw & 0xFFF0 == 0x63C0 => Err(ReadError::AccessDenied(sw)),
        sw => Err(ReadError::Status {
            what: "EXTERNAL AUTHENTICATE".into(),
            sw,
        }),
    }
}

/// Reads the chip: EF.CardAccess (PACE when offered and allowed), else BAC; then EF.COM,
/// DG1, DG2, DG13, DG14, DG15 and EF.SOD under secure messaging; chip authentication when
/// DG14 has a key; active authentication with the server's `nonce` when DG15 is present.
///
/// Nothing is verified here: pass the result to [`verify`].
pub fn read_chip(
    card: &mut dyn Card,
    mrz_text: &str,
    access: BacOrPace,
    nonce: [u8; 8],
) -> Result<ChipData<Unverified>, ReadError> {
    let mrz_information = mrz_information_of(mrz_text)?;
    let card_access = if access == BacOrPace::Bac {
        None
    } else {
        read_file(card, None, EF_CARD_ACCESS).unwrap_or(None)
    };
    let pace_params = card_access
        .as_deref()
        .map(|ca| {
            parse_security_infos(ca)
                .map_err(PaceError::from)
                .and_then(|i| choose_pace(&i))
        })
        .transpose();
    let (mut sm, used) = match (access, pace_params) {
        (BacOrPace::Pace | BacOrPace::PreferPace, Ok(Some(params))) => {
            let mut ch = run_pace(card, &mrz_information, &params)?;
            select_application(card, Some(&mut ch))?;
            (ch, AccessUsed::Pace)
        }
        (BacOrPace::Pace, Ok(None)) => {
            return Err(ReadError::Pace(PaceError::Unsupported("no EF.CardAccess".into())))
        }
        (BacOrPace::Pace, Err(e)) => return Err(e.into()),
        _ => (run_bac(card, &mrz_information)?, AccessUsed::Bac),
    };

    let ef_com = read_file(card, Some(&mut sm), EF_COM)?.ok_or(ReadError::MissingFile("EF.COM"))?;
    let mut data_groups = Vec::new();
    for dg in [1u8, 2, 13, 14, 15] {
        let fid = dg_file_id(dg).ok_or(ReadError::MissingFile("data group"))?;
        if let Some(bytes) = read_file(card, Some(&mut sm), fid)? {
            data_groups.push((dg, bytes));
        } else if dg == 1 {
            return Err(ReadError::MissingFile("DG1"));
        } else if dg == 2 {
            return Err(ReadError::MissingFile("DG2"));
        }
    }
    let sod = read_file(card, Some(&mut sm), EF_SOD)?.ok_or(ReadError::MissingFile("EF.SOD"))?;
    let find = |n: u8| data_groups.iter().find(|(k, _)| *k == n).map(|(_, b)| b.clone());

    // Chip authentication, then a command under the new keys to prove the chip has them.
    let mut sm_alive = true;
    let chip_authentication = match find(14).map(|b| parse_dg14(&b)) {
        None => ProtocolOutcome::NotRun("no DG14".into()),
        Some(Err(e)) => ProtocolOutcome::NotRun(format!("DG14 unreadable: {e}")),
        Some(Ok(infos)) => match choose_ca(&infos) {
            Err(e) => ProtocolOutcome::NotRun(e.to_string()),
            Ok(params) => {
                let result = run_chip_authentication(card, &mut sm, &params).and_then(|()| {
                    transceive(card, Some(&mut sm), &Apdu::select_ef(EF_COM))
                        .map_err(Into::into)
                        .and_then(|r| {
                            if r.is_ok() {
                                Ok(())
                            } else {
                                Err(super::chipauth::CaError::Status(r.sw))
                            }
                        })
                });
                match result {
                    Ok(()) => ProtocolOutcome::Completed,
                    Err(e) => {
                        sm_alive = false;
                        ProtocolOutcome::Failed(e.to_string())
                    }
                }
            }
        },
    };

    let (active_authentication, active_authentication_error) = if find(15).is_none() {
        (None, Some("no DG15".to_owned()))
    } else if !sm_alive {
        (
            None,
            Some("secure messaging lost after chip authentication".to_owned()),
        )
    } else {
        match internal_authenticate(card, Some(&mut sm), &nonce) {
            Ok(sig) => (Some((nonce, sig)), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };

    Ok(ChipData {
        access: used,
        card_access,
        ef_com,
        data_groups,
        sod,
        chip_authentication,
        active_authentication,
        active_authentication_error,
        _state: PhantomData,
    })
}

/// How strongly the chip proved the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AssuranceLevel {
    /// Passive authentication only: the data is genuine, but the chip could be a copy.
    Substantial,
    /// Passive authentication plus chip or active authentication: a genuine chip.
    High,
}

/// One named verification step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCheck {
    /// E.g. "passive authentication: data group hashes".
    pub name: String,
    /// Outcome.
    pub status: CheckStatus,
}

/// A chip read that failed verification, with every check and the first failure named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("identity rejected: {reason}")]
pub struct IdentityRejected {
    /// The failed checks, "name: reason; …".
    pub reason: String,
    /// All checks, passed and failed.
    pub checks: Vec<NamedCheck>,
}

/// An identity proven by a chip.
///
/// **Invariant:** a `VerifiedIdentity` exists only if [`verify`] found passive
/// authentication to pass (SOD signature, Document Signer chained to a supplied CSCA, every
/// read data group hash) and no chip or active authentication failure; the fields are
/// private and this module has the only constructor, so holding one is proof of that.
#[derive(Debug, Clone)]
pub struct VerifiedIdentity {
    id_number: String,
    full_name: String,
    birth_date: String,
    sex: String,
    face_image: FaceImage,
    dg13: Option<Dg13>,
    mrz: String,
    assurance: AssuranceLevel,
    checks: Vec<NamedCheck>,
}

impl VerifiedIdentity {
    /// 12-digit ID number (DG13 field 1, else the MRZ optional data).
    pub fn id_number(&self) -> &str {
        &self.id_number
    }
    /// Full name with diacritics (DG13), else the MRZ name.
    pub fn full_name(&self) -> &str {
        &self.full_name
    }
    /// Birth date: `dd/mm/yyyy` from DG13, else `YYMMDD` from the MRZ.
    pub fn birth_date(&self) -> &str {
        &self.birth_date
    }
    /// Sex as stored (DG13 "Nam"/"Nữ", else MRZ "M"/"F").
    pub fn sex(&self) -> &str {
        &self.sex
    }
    /// The DG2 face image.
    pub fn face_image(&self) -> &FaceImage {
        &self.face_image
    }
    /// All of DG13, when the chip has it.
    pub fn dg13(&self) -> Option<&Dg13> {
        self.dg13.as_ref()
    }
    /// The MRZ from DG1.
    pub fn mrz(&self) -> &str {
        &self.mrz
    }
    /// Assurance level reached.
    pub fn assurance(&self) -> AssuranceLevel {
        self.assurance
    }
    /// Every check run.
    pub fn checks(&self) -> &[NamedCheck] {
        &self.checks
    }
}

/// Verifies a chip read: passive authentication against `csca_roots` (DER certificates),
/// chip authentication outcome, and active authentication over the server's `nonce`.
pub fn verify(
    chip: ChipData<Unverified>,
    csca_roots: &[Vec<u8>],
    nonce: [u8; 8],
) -> Result<VerifiedIdentity, IdentityRejected> {
    let mut checks = Vec::new();
    let mut push = |name: &str, status: CheckStatus| {
        checks.push(NamedCheck {
            name: name.to_owned(),
            status,
        })
    };
    let pa = passive_authentication(&chip.sod, &chip.data_groups, csca_roots);
    push("passive authentication: EF.SOD parsed", pa.sod_parsed.clone());
    push(
        "passive authentication: data group hashes",
        pa.data_group_hashes.clone(),
    );
    push("passive authentication: SOD signature", pa.sod_signature.clone());
    push(
        "passive authentication: certificate chain",
        pa.certificate_chain.clone(),
    );

    let ca = match &chip.chip_authentication {
        ProtocolOutcome::Completed => CheckStatus::Passed,
        ProtocolOutcome::Failed(r) => CheckStatus::Failed(r.clone()),
        ProtocolOutcome::NotRun(r) => CheckStatus::NotRun(r.clone()),
    };
    push("chip authentication", ca.clone());

    let aa = match (chip.data_group(15), &chip.active_authentication) {
        (None, _) => CheckStatus::NotRun("no DG15".into()),
        (Some(_), None) => CheckStatus::Failed(
            chip.active_authentication_error
                .clone()
                .unwrap_or_else(|| "the chip gave no signature".into()),
        ),
        (Some(dg15), Some((used, sig))) => {
            if *used != nonce {
                CheckStatus::Failed("the signed nonce is not the server's nonce".into())
            } else {
                match parse_dg15(dg15) {
                    Err(e) => CheckStatus::Failed(format!("DG15: {e}")),
                    Ok(spki) => match verify_active_authentication(&spki, &nonce, sig) {
                        Ok(()) => CheckStatus::Passed,
                        Err(AaError::Unsupported(r)) => CheckStatus::NotRun(r),
                        Err(e) => CheckStatus::Failed(e.to_string()),
                    },
                }
            }
        }
    };
    push("active authentication", aa.clone());

    let dg1 = chip.data_group(1).map(parse_dg1);
    let face = chip.data_group(2).map(parse_dg2);
    let dg13 = chip.data_group(13).map(Dg13::decode);
    push(
        "DG1 MRZ",
        match &dg1 {
            Some(Ok(_)) => CheckStatus::Passed,
            Some(Err(e)) => CheckStatus::Failed(e.to_string()),
            None => CheckStatus::Failed("DG1 not read".into()),
        },
    );
    push(
        "DG2 face image",
        match &face {
            Some(Ok(_)) => CheckStatus::Passed,
            Some(Err(e)) => CheckStatus::Failed(e.to_string()),
            None => CheckStatus::Failed("DG2 not read".into()),
        },
    );
    push(
        "DG13 parsed",
        match &dg13 {
            Some(Ok(_)) => CheckStatus::Passed,
            Some(Err(e)) => CheckStatus::Failed(e.to_string()),
            None => CheckStatus::NotRun("no DG13".into()),
        },
    );

    let failed: Vec<String> = checks
        .iter()
        .filter_map(|c| match &c.status {
            CheckStatus::Failed(r) => Some(format!("{}: {r}", c.name)),
            _ => None,
        })
        .collect();
    let reject = |reason: String, checks: Vec<NamedCheck>| IdentityRejected { reason, checks };
    if !failed.is_empty() {
        return Err(reject(failed.join("; "), checks));
    }
    let (Some(Ok(mrz_string)), Some(Ok(face_image))) = (dg1, face) else {
        return Err(reject("DG1 or DG2 missing".into(), checks));
    };
    let dg13 = dg13.and_then(Result::ok);
    let mrz = Mrz::parse(&mrz_string).ok();
    let from_mrz = |f: fn(&Mrz) -> String| mrz.as_ref().map(f).unwrap_or_default();
    let pick = |d: Option<&str>, fallback: String| match d {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => fallback,
    };
    let id_number = pick(
        dg13.as_ref().map(|d| d.id_number.as_str()),
        from_mrz(|m| m.optional_data.trim_end_matches('<').to_owned()),
    );
    let full_name = pick(
        dg13.as_ref().map(|d| d.full_name.as_str()),
        from_mrz(Mrz::full_name),
    );
    let birth_date = pick(
        dg13.as_ref().map(|d| d.birth_date.as_str()),
        from_mrz(|m| m.birth_date.clone()),
    );
    let sex = pick(
        dg13.as_ref().map(|d| d.sex.as_str()),
        from_mrz(|m| match m.sex {
            Some(crate::cccd::Sex::Male) => "M".into(),
            Some(crate::cccd::Sex::Female) => "F".into(),
            None => String::new(),
        }),
    );
    let assurance = if ca.is_passed() || aa.is_passed() {
        AssuranceLevel::High
    } else {
        AssuranceLevel::Substantial
    };
    Ok(VerifiedIdentity {
        id_number,
        full_name,
        birth_date,
        sex,
        face_image,
        dg13,
        mrz: mrz_string,
        assurance,
        checks,
    })
}
