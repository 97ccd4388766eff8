//! Basic Access Control (ICAO 9303 Part 11 §4.3): document basic access keys from the MRZ,
//! the EXTERNAL AUTHENTICATE exchange, and session keys for 3DES secure messaging.
//!
//! Pure computation: the caller sends GET CHALLENGE / EXTERNAL AUTHENTICATE and supplies
//! the random values (RND.IFD, K.IFD) from a CSPRNG.

use sha1::{Digest, Sha1};

use super::crypto::{
    kdf, pad, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt, Cipher, CryptoError, KDF_ENC, KDF_MAC,
};
use super::sm::SecureChannel;

/// BAC failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacError {
    /// A MRZ field contains characters outside `0-9A-Z<` or has the wrong length.
    #[error("invalid MRZ field: {0}")]
    MrzField(&'static str),
    /// The EXTERNAL AUTHENTICATE response is not 40 bytes.
    #[error("EXTERNAL AUTHENTICATE response has length {0}, expected 40")]
    ResponseLength(usize),
    /// The MAC over the card's cryptogram does not verify.
    #[error("card cryptogram MAC mismatch")]
    Mac,
    /// The card did not echo RND.IFD (or RND.IC) correctly.
    #[error("card did not echo the challenge correctly")]
    Challenge,
    /// Underlying cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// ICAO 9303 Part 3 check digit (weights 7, 3, 1; `<` counts 0, `A`=10 … `Z`=35).
fn check_digit(field: &str) -> Result<char, BacError> {
    let mut sum: u32 = 0;
    for (i, c) in field.chars().enumerate() {
        let v = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            'A'..='Z' => u32::from(c) - u32::from('A') + 10,
            '<' => 0,
            _ => return Err(BacError::MrzField("character outside 0-9A-Z<")),
        };
        let w = match i % 3 {
            0 => 7,
            1 => 3,
            _ => 1,
        };
        sum += v * w;
    }
    char::from_digit(sum % 10, 10).ok_or(BacError::MrzField("check digit"))
}

/// Builds the "MRZ information" used for BAC: document number (padded with `<` to at least
/// nine characters) + check digit + birth date (YYMMDD) + check digit + expiry date (YYMMDD)
/// + check digit.
///
/// For a TD1 card whose document number is longer than nine characters, the caller should
/// pass the full number; the check digit is computed over all of it as ICAO specifies for
/// the BAC key seed (Part 11 §9.7.2 uses the full number).
pub fn mrz_information(
    document_number: &str,
    birth_yymmdd: &str,
    expiry_yymmdd: &str,
) -> Result<String, BacError> {
    let is_date = |s: &str| s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit());
    if !is_date(birth_yymmdd) {
        return Err(BacError::MrzField("birth date must be YYMMDD"));
    }
    if !is_date(expiry_yymmdd) {
        return Err(BacError::MrzField("expiry date must be YYMMDD"));
    }
    if document_number.is_empty() {
        return Err(BacError::MrzField("empty document number"));
    }
    let mut doc = document_number.to_ascii_uppercase();
    while doc.len() < 9 {
        doc.push('<');
    }
    let mut out = String::with_capacity(doc.len() + 15);
    for field in [doc.as_str(), birth_yymmdd, expiry_yymmdd] {
        out.push_str(field);
        out.push(check_digit(field)?);
    }
    Ok(out)
}

/// The document basic access keys K_Enc and K_MAC (two-key 3DES, parity adjusted).
#[derive(Clone, PartialEq, Eq)]
pub struct BacKeys {
    /// K_seed: the first 16 bytes of SHA-1(MRZ information).
    pub seed: [u8; 16],
    /// K_Enc = KDF(K_seed, 1).
    pub enc: Vec<u8>,
    /// K_MAC = KDF(K_seed, 2).
    pub mac: Vec<u8>,
}

impl std::fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BacKeys(..)")
    }
}

impl BacKeys {
    /// Derives the keys from an already assembled MRZ information string.
    pub fn from_mrz_information(mrz_info: &str) -> Self {
        let digest = Sha1::digest(mrz_info.as_bytes());
        let mut seed = [0u8; 16];
        for (s, d) in seed.iter_mut().zip(digest.iter()) {
            *s = *d;
        }
        BacKeys {
            seed,
            enc: kdf(&seed, KDF_ENC, Cipher::ThreeDes),
            mac: kdf(&seed, KDF_MAC, Cipher::ThreeDes),
        }
    }

    /// Derives the keys from document number, birth date and expiry date (YYMMDD).
    pub fn from_mrz_fields(
        document_number: &str,
        birth_yymmdd: &str,
        expiry_yymmdd: &str,
    ) -> Result<Self, BacError> {
        Ok(Self::from_mrz_information(&mrz_information(
            document_number,
            birth_yymmdd,
            expiry_yymmdd,
        )?))
    }
}

/// The terminal side of one BAC mutual authentication.
pub struct BacSession {
    keys: BacKeys,
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
    rnd_ic: Option<[u8; 8]>,
}

impl std::fmt::Debug for BacSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BacSession(..)")
    }
}

/// The GET CHALLENGE command (`00 84 00 00 08`).
pub const GET_CHALLENGE: [u8; 5] = [0x00, 0x84, 0x00, 0x00, 0x08];

impl BacSession {
    /// Starts a session. `rnd_ifd` and `k_ifd` must come from a CSPRNG.
    pub fn new(keys: BacKeys, rnd_ifd: [u8; 8], k_ifd: [u8; 16]) -> Self {
        BacSession {
            keys,
            rnd_ifd,
            k_ifd,
            rnd_ic: None,
        }
    }

    /// S = RND.IFD ‖ RND.IC ‖ K.IFD.
    pub fn s(&self, rnd_ic: &[u8; 8]) -> [u8; 32] {
        let mut s = [0u8; 32];
        for (d, v) in s
            .iter_mut()
            .zip(self.rnd_ifd.iter().chain(rnd_ic).chain(&self.k_ifd))
        {
            *d = *v;
        }
        s
    }

    /// Builds the 40-byte EXTERNAL AUTHENTICATE command data E_IFD ‖ M_IFD from the
    /// card's challenge RND.IC.
    pub fn external_authenticate_data(&mut self, rnd_ic: [u8; 8]) -> Result<Vec<u8>, BacError> {
        let s = self.s(&rnd_ic);
        let e_ifd = tdes_cbc_encrypt(&self.keys.enc, &[0; 8], &s)?;
        let m_ifd = retail_mac(&self.keys.mac, &pad(&e_ifd, 8))?;
        self.rnd_ic = Some(rnd_ic);
        let mut out = e_ifd;
        out.extend_from_slice(&m_ifd);
        Ok(out)
    }

    /// The full EXTERNAL AUTHENTICATE APDU: `00 82 00 00 28 ‖ data ‖ 28`.
    pub fn external_authenticate_apdu(&mut self, rnd_ic: [u8; 8]) -> Result<Vec<u8>, BacError> {
        let data = self.external_authenticate_data(rnd_ic)?;
        let mut apdu = vec![0x00, 0x82, 0x00, 0x00, 0x28];
        apdu.extend_from_slice(&data);
        apdu.push(0x28);
        Ok(apdu)
    }

    /// Verifies the card's 40-byte response E_IC ‖ M_IC (status word stripped), checks the
    /// echoed nonces, and returns the 3DES secure channel with KS_Enc, KS_MAC and the SSC.
    pub fn finish(&self, response: &[u8]) -> Result<BacResult, BacError> {
        let rnd_ic = self.rnd_ic.ok_or(BacError::Challenge)?;
        if response.len() != 40 {
            return Err(BacError::ResponseLength(response.len()));
        }
        let (e_ic, m_ic) = response.split_at(32);
        let expect = retail_mac(&self.keys.mac, &pad(e_ic, 8))?;
        if !ct_eq(&expect, m_ic) {
            return Err(BacError::Mac);
        }
        let r = tdes_cbc_decrypt(&self.keys.enc, &[0; 8], e_ic)?;
        let (r_rnd_ic, rest) = r.split_at(8);
        let (r_rnd_ifd, k_ic) = rest.split_at(8);
        if r_rnd_ic != rnd_ic || r_rnd_ifd != self.rnd_ifd {
            return Err(BacError::Challenge);
        }
        let mut k_ic_arr = [0u8; 16];
        k_ic_arr.copy_from_slice(k_ic);
        let mut seed = [0u8; 16];
        for ((s, a), b) in seed.iter_mut().zip(&self.k_ifd).zip(&k_ic_arr) {
            *s = a ^ b;
        }
        let mut ssc = Vec::with_capacity(8);
        ssc.extend_from_slice(rnd_ic.get(4..).unwrap_or_default());
        ssc.extend_from_slice(self.rnd_ifd.get(4..).unwrap_or_default());
        let channel = SecureChannel::new(
            Cipher::ThreeDes,
            kdf(&seed, KDF_ENC, Cipher::ThreeDes),
            kdf(&seed, KDF_MAC, Cipher::ThreeDes),
            ssc,
        )
        .map_err(|_| BacError::Crypto(CryptoError::KeyLength(16)))?;
        Ok(BacResult {
            k_ic: k_ic_arr,
            session_seed: seed,
            channel,
        })
    }
}

/// The outcome of a successful BAC.
pub struct BacResult {
    /// The card's key material K.IC.
    pub k_ic: [u8; 16],
    /// K_seed' = K.IFD ⊕ K.IC.
    pub session_seed: [u8; 16],
    /// The established 3DES secure channel.
    pub channel: SecureChannel,
}

impl std::fmt::Debug for BacResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BacResult(..)")
    }
}

/// MAC comparison in constant time (`subtle`; slices of different lengths are unequal).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mrz_information_matches_appendix_d() {
        assert_eq!(
            mrz_information("L898902C", "690806", "940623").unwrap(),
            "L898902C<369080619406236"
        );
        assert!(mrz_information("L898902C", "6908", "940623").is_err());
        assert!(mrz_information("l8989-2C", "690806", "940623").is_err());
    }
}
