//! Symmetric primitives used by BAC and secure messaging (ICAO 9303 Part 11 §9.7, §9.8):
//! key derivation, DES parity, ISO 9797-1 padding method 2, 3DES-CBC, the retail MAC
//! (ISO 9797-1 MAC algorithm 3 with DES), AES-CBC and AES-CMAC.
//!
//! All functions work on caller-checked lengths and return [`CryptoError`] instead of
//! panicking on malformed input.

// generic-array 0.14.9 marks itself deprecated in favour of 1.x, which the RustCrypto
// cipher 0.4 generation (des 0.8, aes 0.8, cmac 0.7) cannot use; the warning is not actionable.
#![allow(deprecated)]

use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, Mac};
use des::cipher::generic_array::GenericArray;
use des::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use des::{Des, TdesEde2};
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// Failures of the symmetric layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key has the wrong length for the cipher.
    #[error("invalid key length {0}")]
    KeyLength(usize),
    /// Ciphertext or plaintext is not a multiple of the block size.
    #[error("data length {0} is not a multiple of the block size")]
    BlockLength(usize),
    /// ISO 9797-1 method 2 padding is missing or malformed.
    #[error("bad ISO 9797-1 padding")]
    Padding,
}

/// DES block size.
pub const DES_BLOCK: usize = 8;
/// AES block size.
pub const AES_BLOCK: usize = 16;

/// Key counter for the encryption key in the ICAO KDF.
pub const KDF_ENC: u32 = 1;
/// Key counter for the MAC key in the ICAO KDF.
pub const KDF_MAC: u32 = 2;
/// Key counter for the PACE password key (π) in the ICAO KDF.
pub const KDF_PACE: u32 = 3;

/// The block cipher a secure channel (or a derived key) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// Two-key 3DES (BAC, and PACE/CA with 3DES).
    ThreeDes,
    /// AES with a 128-bit key.
    Aes128,
    /// AES with a 192-bit key.
    Aes192,
    /// AES with a 256-bit key.
    Aes256,
}

impl Cipher {
    /// Block size in bytes (also the send-sequence-counter length in secure messaging).
    pub fn block_size(self) -> usize {
        match self {
            Cipher::ThreeDes => DES_BLOCK,
            _ => AES_BLOCK,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::ThreeDes | Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }
}

/// Sets the least significant bit of every byte so that each byte has odd parity (DES key parity).
pub fn adjust_des_parity(key: &mut [u8]) {
    for b in key.iter_mut() {
        let high = *b & 0xFE;
        *b = if high.count_ones() % 2 == 0 {
            high | 1
        } else {
            high
        };
    }
}

/// ICAO 9303 Part 11 §9.7.1 key derivation function.
///
/// `KDF(K, c) = H(K ‖ c)` with `c` a 32-bit big-endian counter; SHA-1 for 3DES and AES-128,
/// SHA-256 for AES-192/256; the key is the leading `key_len` bytes, with DES parity adjusted
/// for 3DES.
pub fn kdf(shared_secret: &[u8], counter: u32, cipher: Cipher) -> Vec<u8> {
    let digest: Vec<u8> = match cipher {
        Cipher::ThreeDes | Cipher::Aes128 => {
            let mut h = Sha1::new();
            h.update(shared_secret);
            h.update(counter.to_be_bytes());
            h.finalize().to_vec()
        }
        Cipher::Aes192 | Cipher::Aes256 => {
            let mut h = Sha256::new();
            h.update(shared_secret);
            h.update(counter.to_be_bytes());
            h.finalize().to_vec()
        }
    };
    let mut key: Vec<u8> = digest.into_iter().take(cipher.key_len()).collect();
    if cipher == Cipher::ThreeDes {
        adjust_des_parity(&mut key);
    }
    key
}

/// ISO 9797-1 padding method 2: append 0x80, then zeros up to a multiple of `block`.
pub fn pad(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + block);
    out.extend_from_slice(data);
    out.push(0x80);
    while !out.len().is_multiple_of(block) {
        out.push(0);
    }
    out
}

/// Removes ISO 9797-1 padding method 2.
pub fn unpad(data: &[u8]) -> Result<&[u8], CryptoError> {
    let pos = data.iter().rposition(|&b| b != 0).ok_or(CryptoError::Padding)?;
    match data.get(pos) {
        Some(0x80) => data.get(..pos).ok_or(CryptoError::Padding),
        _ => Err(CryptoError::Padding),
    }
}

fn check_blocks(data: &[u8], block: usize) -> Result<(), CryptoError> {
    if !data.len().is_multiple_of(block) {
        return Err(CryptoError::BlockLength(data.len()));
    }
    Ok(())
}

fn tdes(key: &[u8]) -> Result<TdesEde2, CryptoError> {
    TdesEde2::new_from_slice(key).map_err(|_| CryptoError::KeyLength(key.len()))
}

fn des(key: &[u8]) -> Result<Des, CryptoError> {
    Des::new_from_slice(key).map_err(|_| CryptoError::KeyLength(key.len()))
}

/// Generic CBC encryption with a block-encrypt closure.
fn cbc_encrypt_with(
    iv: &[u8],
    data: &[u8],
    block: usize,
    mut enc: impl FnMut(&mut [u8]),
) -> Result<Vec<u8>, CryptoError> {
    check_blocks(data, block)?;
    if iv.len() != block {
        return Err(CryptoError::BlockLength(iv.len()));
    }
    let mut prev = iv.to_vec();
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(block) {
        let mut b: Vec<u8> = chunk.iter().zip(prev.iter()).map(|(a, p)| a ^ p).collect();
        enc(&mut b);
        out.extend_from_slice(&b);
        prev = b;
    }
    Ok(out)
}

/// Generic CBC decryption with a block-decrypt closure.
fn cbc_decrypt_with(
    iv: &[u8],
    data: &[u8],
    block: usize,
    mut dec: impl FnMut(&mut [u8]),
) -> Result<Vec<u8>, CryptoError> {
    check_blocks(data, block)?;
    if iv.len() != block {
        return Err(CryptoError::BlockLength(iv.len()));
    }
    let mut prev = iv.to_vec();
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(block) {
        let mut b = chunk.to_vec();
        dec(&mut b);
        out.extend(b.iter().zip(prev.iter()).map(|(a, p)| a ^ p));
        prev = chunk.to_vec();
    }
    Ok(out)
}

/// Two-key 3DES-CBC encryption (no padding applied here).
pub fn tdes_cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let c = tdes(key)?;
    cbc_encrypt_with(iv, data, DES_BLOCK, |b| {
        c.encrypt_block(GenericArray::from_mut_slice(b))
    })
}

/// Two-key 3DES-CBC decryption (padding is left in place).
pub fn tdes_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let c = tdes(key)?;
    cbc_decrypt_with(iv, data, DES_BLOCK, |b| {
        c.decrypt_block(GenericArray::from_mut_slice(b))
    })
}

/// Retail MAC: ISO 9797-1 MAC algorithm 3 with DES, IV zero. `data` must already be padded
/// (use [`pad`] for padding method 2). `key` is 16 bytes: K_a ‖ K_b.
pub fn retail_mac(key: &[u8], data: &[u8]) -> Result<[u8; 8], CryptoError> {
    if key.len() != 16 {
        return Err(CryptoError::KeyLength(key.len()));
    }
    check_blocks(data, DES_BLOCK)?;
    let (ka, kb) = key.split_at(8);
    let a = des(ka)?;
    let b = des(kb)?;
    let mut h = [0u8; 8];
    for chunk in data.chunks(DES_BLOCK) {
        for (x, y) in h.iter_mut().zip(chunk) {
            *x ^= y;
        }
        a.encrypt_block(GenericArray::from_mut_slice(&mut h));
    }
    b.decrypt_block(GenericArray::from_mut_slice(&mut h));
    a.encrypt_block(GenericArray::from_mut_slice(&mut h));
    Ok(h)
}

fn aes_block_op(key: &[u8], data: &mut [u8], encrypt: bool) -> Result<(), CryptoError> {
    macro_rules! run {
        ($t:ty) => {{
            let c = <$t>::new_from_slice(key).map_err(|_| CryptoError::KeyLength(key.len()))?;
            for chunk in data.chunks_mut(AES_BLOCK) {
                if encrypt {
                    c.encrypt_block(GenericArray::from_mut_slice(chunk));
                } else {
                    c.decrypt_block(GenericArray::from_mut_slice(chunk));
                }
            }
        }};
    }
    check_blocks(data, AES_BLOCK)?;
    match key.len() {
        16 => run!(Aes128),
        24 => run!(Aes192),
        32 => run!(Aes256),
        n => return Err(CryptoError::KeyLength(n)),
    }
    Ok(())
}

/// AES-ECB encryption of whole blocks (used to derive the secure-messaging IV from the SSC).
pub fn aes_ecb_encrypt(key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = data.to_vec();
    aes_block_op(key, &mut out, true)?;
    Ok(out)
}

/// AES-CBC encryption (no padding applied here); the key length selects AES-128/192/256.
pub fn aes_cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    // Validate the key once up front so the closure cannot fail.
    aes_block_op(key, &mut [], true)?;
    let mut err = None;
    let out = cbc_encrypt_with(iv, data, AES_BLOCK, |b| {
        if let Err(e) = aes_block_op(key, b, true) {
            err = Some(e);
        }
    })?;
    err.map_or(Ok(out), Err)
}

/// AES-CBC decryption (padding is left in place).
pub fn aes_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    aes_block_op(key, &mut [], false)?;
    let mut err = None;
    let out = cbc_decrypt_with(iv, data, AES_BLOCK, |b| {
        if let Err(e) = aes_block_op(key, b, false) {
            err = Some(e);
        }
    })?;
    err.map_or(Ok(out), Err)
}

/// AES-CMAC (NIST SP 800-38B) over `data`, full 16-byte tag.
pub fn aes_cmac(key: &[u8], data: &[u8]) -> Result<[u8; 16], CryptoError> {
    macro_rules! run {
        ($t:ty) => {{
            let mut m =
                <Cmac<$t> as Mac>::new_from_slice(key).map_err(|_| CryptoError::KeyLength(key.len()))?;
            m.update(data);
            m.finalize().into_bytes().into()
        }};
    }
    Ok(match key.len() {
        16 => run!(Aes128),
        24 => run!(Aes192),
        32 => run!(Aes256),
        n => return Err(CryptoError::KeyLength(n)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_and_padding() {
        let mut k = [0xAB, 0x94, 0xFC, 0xED, 0xF2, 0x66, 0x4E, 0xDF];
        adjust_des_parity(&mut k);
        assert_eq!(k, [0xAB, 0x94, 0xFD, 0xEC, 0xF2, 0x67, 0x4F, 0xDF]);
        assert_eq!(pad(&[1, 2], 8), vec![1, 2, 0x80, 0, 0, 0, 0, 0]);
        assert_eq!(pad(&[0; 8], 8).len(), 16);
        assert_eq!(unpad(&[1, 2, 0x80, 0, 0]).unwrap(), &[1, 2]);
        assert!(unpad(&[1, 2, 0, 0]).is_err());
        assert!(unpad(&[]).is_err());
    }

    #[test]
    fn aes_cmac_rfc4493_example2() {
        // RFC 4493 §4, example 2 (16-byte message).
        let key = [
            0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
        ];
        let msg = [
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a,
        ];
        let tag = aes_cmac(&key, &msg).unwrap();
        assert_eq!(
            tag,
            [
                0x07, 0x0a, 0x16, 0xb4, 0x6b, 0x4d, 0x41, 0x44, 0xf7, 0x9b, 0xdd, 0x9d, 0xd0, 0x4a, 0x28,
                0x7c
            ]
        );
    }

    #[test]
    fn cbc_roundtrip() {
        let k = [7u8; 16];
        let iv = [1u8; 16];
        let data = [9u8; 48];
        let c = aes_cbc_encrypt(&k, &iv, &data).unwrap();
        assert_eq!(aes_cbc_decrypt(&k, &iv, &c).unwrap(), data);
        let c = tdes_cbc_encrypt(&k, &[0; 8], &data).unwrap();
        assert_eq!(tdes_cbc_decrypt(&k, &[0; 8], &c).unwrap(), data);
        assert!(aes_cbc_encrypt(&[0; 15], &iv, &data).is_err());
        assert!(tdes_cbc_encrypt(&k, &[0; 8], &[0; 7]).is_err());
    }
}
