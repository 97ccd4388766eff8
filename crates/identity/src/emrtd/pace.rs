//! PACE, Password Authenticated Connection Establishment (ICAO 9303 Part 11 §4.4), terminal
//! side, with the Generic Mapping over ECDH on NIST P-256 and the MRZ as password.
//!
//! Flow: MSE:Set AT selects the protocol and password; four chained GENERAL AUTHENTICATE
//! commands then carry (1) the encrypted nonce `z = E(K_π, s)`, (2) the mapping keys, with
//! `G' = s·G + H` where `H` is the ECDH point of the mapping keys, (3) the ephemeral keys on
//! `G'` whose shared x coordinate `K` yields `KS_Enc = KDF(K,1)`, `KS_MAC = KDF(K,2)`, and
//! (4) the authentication tokens `T = MAC(KS_MAC, 7F49{06 OID, 86 PK})` over the other
//! side's ephemeral key. The result is a secure channel with SSC = 0.
//!
//! Supported: id-PACE-ECDH-GM with 3DES, AES-128/192/256 on P-256 (parameter id 12).
//! Not supported: DH, Integrated Mapping, Chip Authentication Mapping, brainpool curves,
//! CAN as password.

use const_oid::ObjectIdentifier;
use p256::AffinePoint;
use sha1::{Digest, Sha1};

use super::card::{transceive, ApduError, Card};
use super::crypto::{
    aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, kdf, pad, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt,
    Cipher, CryptoError, KDF_ENC, KDF_MAC, KDF_PACE,
};
use super::lds::{expect_tlv, parse_all, LdsError};
use super::secinfo::{
    cipher_of, decode_point, ecdh_x, encode_point, gm_map, mul, public_of, random_scalar, scalar_from_bytes,
    tlv, EcError, SecurityInfo, PARAM_ID_P256,
};
use super::sm::{Apdu, SecureChannel, SmError};

/// PACE failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaceError {
    /// The exchange with the card failed.
    #[error(transparent)]
    Apdu(#[from] ApduError),
    /// The card refused the terminal's authentication token or the password (6300, 6982
    /// and the like at the mutual authentication step): most likely a wrong MRZ.
    #[error("the card refused the PACE password (status {0:04X})")]
    AccessDenied(u16),
    /// The card answered a PACE step with an error status.
    #[error("PACE step {step} failed with status {sw:04X}")]
    Status {
        /// 0 = MSE:Set AT, 1..=4 = GENERAL AUTHENTICATE steps.
        step: u8,
        /// The status word.
        sw: u16,
    },
    /// The card's authentication token does not verify.
    #[error("the card's PACE authentication token does not verify")]
    CardToken,
    /// A malformed dynamic authentication data object.
    #[error("malformed PACE data: {0}")]
    Malformed(&'static str),
    /// The protocol or domain parameters are not supported.
    #[error("unsupported PACE protocol or parameters: {0}")]
    Unsupported(String),
    /// A point was invalid or the mapping produced the identity.
    #[error(transparent)]
    Ec(#[from] EcError),
    /// Cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The channel could not be built.
    #[error(transparent)]
    Sm(#[from] SmError),
    /// EF.CardAccess could not be parsed.
    #[error(transparent)]
    Lds(#[from] LdsError),
}

/// The PACE parameters the terminal will use, chosen from EF.CardAccess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaceParams {
    /// The id-PACE-ECDH-GM-… protocol OID.
    pub protocol: ObjectIdentifier,
    /// The cipher that OID names.
    pub cipher: Cipher,
    /// The standardized domain parameter id (12 = P-256).
    pub parameter_id: u32,
}

/// Picks the first supported PACEInfo (ECDH-GM on P-256) from parsed SecurityInfos.
pub fn choose_pace(infos: &[SecurityInfo]) -> Result<PaceParams, PaceError> {
    let mut seen = Vec::new();
    for info in infos {
        if let SecurityInfo::Pace {
            protocol,
            parameter_id,
            ..
        } = info
        {
            let pid = parameter_id.unwrap_or(0);
            match cipher_of(protocol) {
                Some(cipher)
                    if pid == PARAM_ID_P256 && protocol.to_string().starts_with("0.4.0.127.0.7.2.2.4.2.") =>
                {
                    return Ok(PaceParams {
                        protocol: *protocol,
                        cipher,
                        parameter_id: pid,
                    })
                }
                _ => seen.push(format!("{protocol} (parameters {pid})")),
            }
        }
    }
    Err(PaceError::Unsupported(if seen.is_empty() {
        "no PACEInfo in EF.CardAccess".into()
    } else {
        seen.join(", ")
    }))
}

/// K_π = KDF(SHA-1(MRZ information), 3) for the MRZ password.
pub fn password_key(mrz_information: &str, cipher: Cipher) -> Vec<u8> {
    let digest = Sha1::digest(mrz_information.as_bytes());
    kdf(&digest, KDF_PACE, cipher)
}

/// `E(K, data)` in CBC mode with a zero IV (nonce encryption).
pub fn encrypt_nonce(cipher: Cipher, key: &[u8], s: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let iv = vec![0u8; cipher.block_size()];
    match cipher {
        Cipher::ThreeDes => tdes_cbc_encrypt(key, &iv, s),
        _ => aes_cbc_encrypt(key, &iv, s),
    }
}

/// `D(K, z)` in CBC mode with a zero IV.
pub fn decrypt_nonce(cipher: Cipher, key: &[u8], z: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let iv = vec![0u8; cipher.block_size()];
    match cipher {
        Cipher::ThreeDes => tdes_cbc_decrypt(key, &iv, z),
        _ => aes_cbc_decrypt(key, &iv, z),
    }
}

/// The public key data object `7F49 { 06 OID, 86 point }` the tokens are computed over.
pub fn public_key_data_object(protocol: &ObjectIdentifier, point: &AffinePoint) -> Vec<u8> {
    let body = [
        tlv(&[0x06], protocol.as_bytes()),
        tlv(&[0x86], &encode_point(point)),
    ]
    .concat();
    tlv(&[0x7F, 0x49], &body)
}

/// Authentication token: 8-byte MAC (AES-CMAC truncated, or retail MAC) over the public
/// key data object.
pub fn auth_token(
    cipher: Cipher,
    k_mac: &[u8],
    protocol: &ObjectIdentifier,
    point: &AffinePoint,
) -> Result<[u8; 8], CryptoError> {
    let data = public_key_data_object(protocol, point);
    match cipher {
        Cipher::ThreeDes => retail_mac(k_mac, &pad(&data, 8)),
        _ => {
            let full = aes_cmac(k_mac, &data)?;
            let mut t = [0u8; 8];
            t.copy_from_slice(full.get(..8).unwrap_or(&[0; 8]));
            Ok(t)
        }
    }
}

/// Session keys (KS_Enc, KS_MAC) from a shared secret.
pub fn session_keys(cipher: Cipher, shared: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (kdf(shared, KDF_ENC, cipher), kdf(shared, KDF_MAC, cipher))
}

/// A fresh channel with SSC = 0 for the cipher.
pub fn new_channel(cipher: Cipher, enc: Vec<u8>, mac: Vec<u8>) -> Result<SecureChannel, SmError> {
    SecureChannel::new(cipher, enc, mac, vec![0; cipher.block_size()])
}

/// MSE:Set AT for PACE with the MRZ password (`83 01 01`) and the domain parameter id.
pub fn mse_set_at_apdu(params: &PaceParams) -> Apdu {
    let pid = u8::try_from(params.parameter_id).unwrap_or(0);
    let data = [
        tlv(&[0x80], params.protocol.as_bytes()),
        tlv(&[0x83], &[0x01]),
        tlv(&[0x84], &[pid]),
    ]
    .concat();
    Apdu {
        data,
        ..Apdu::new(0x00, 0x22, 0xC1, 0xA4)
    }
}

fn general_authenticate(last: bool, inner: &[u8]) -> Apdu {
    Apdu {
        data: tlv(&[0x7C], inner),
        le: Some(256),
        ..Apdu::new(if last { 0x00 } else { 0x10 }, 0x86, 0x00, 0x00)
    }
}

/// Extracts the value of `tag` from a `7C` dynamic authentication data response.
pub fn dynamic_auth_value(resp: &[u8], tag: u32) -> Result<Vec<u8>, PaceError> {
    let outer = expect_tlv(resp, 0x7C).map_err(|_| PaceError::Malformed("response is not 7C"))?;
    parse_all(outer.value)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value.to_vec())
        .ok_or(PaceError::Malformed("expected data object missing in 7C"))
}

/// Runs PACE with the MRZ information string as password; returns the secure channel.
pub fn run_pace(
    card: &mut dyn Card,
    mrz_information: &str,
    params: &PaceParams,
) -> Result<SecureChannel, PaceError> {
    let cipher = params.cipher;
    let step = |card: &mut dyn Card, n: u8, cmd: &Apdu| -> Result<Vec<u8>, PaceError> {
        let r = transceive(card, None, cmd)?;
        if r.is_ok() {
            Ok(r.data)
        } else if n == 4 && matches!(r.sw, 0x6300 | 0x6982 | 0x6A80) || (r.sw & 0xFFF0) == 0x63C0 {
            Err(PaceError::AccessDenied(r.sw))
        } else {
            Err(PaceError::Status { step: n, sw: r.sw })
        }
    };
    step(card, 0, &mse_set_at_apdu(params))?;
    // 1. Encrypted nonce.
    let z = dynamic_auth_value(&step(card, 1, &general_authenticate(false, &[]))?, 0x80)?;
    let k_pi = password_key(mrz_information, cipher);
    let s = decrypt_nonce(cipher, &k_pi, &z)?;
    let s = scalar_from_bytes(&s);
    // 2. Map nonce.
    let sk_map = random_scalar();
    let pk_map = public_of(&sk_map);
    let r = step(
        card,
        2,
        &general_authenticate(false, &tlv(&[0x81], &encode_point(&pk_map))),
    )?;
    let pk_map_ic = decode_point(&dynamic_auth_value(&r, 0x82)?)?;
    let h = mul(&pk_map_ic, &sk_map)?;
    let g_mapped = gm_map(&s, &h)?;
    // 3. Key agreement on G'.
    let sk_eph = random_scalar();
    let pk_eph = mul(&g_mapped, &sk_eph)?;
    let r = step(
        card,
        3,
        &general_authenticate(false, &tlv(&[0x83], &encode_point(&pk_eph))),
    )?;
    let pk_eph_ic = decode_point(&dynamic_auth_value(&r, 0x84)?)?;
    if pk_eph_ic == pk_eph {
        return Err(PaceError::Malformed("card echoed the terminal's ephemeral key"));
    }
    let shared = ecdh_x(&sk_eph, &pk_eph_ic)?;
    let (ks_enc, ks_mac) = session_keys(cipher, &shared);
    // 4. Mutual authentication.
    let t_ifd = auth_token(cipher, &ks_mac, &params.protocol, &pk_eph_ic)?;
    let r = step(card, 4, &general_authenticate(true, &tlv(&[0x85], &t_ifd)))?;
    let t_ic = dynamic_auth_value(&r, 0x86)?;
    let expect = auth_token(cipher, &ks_mac, &params.protocol, &pk_eph)?;
    if !super::bac::ct_eq(&expect, &t_ic) {
        return Err(PaceError::CardToken);
    }
    Ok(new_channel(cipher, ks_enc, ks_mac)?)
}
