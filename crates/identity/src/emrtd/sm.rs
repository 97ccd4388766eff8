//! Command/response APDUs and ICAO 9303 Part 11 §9.8 secure messaging.
//!
//! 3DES channels (BAC, or PACE/CA with 3DES) use two-key 3DES-CBC with a zero IV and the
//! retail MAC with an 8-byte send sequence counter; AES channels (PACE/CA) use AES-CBC with
//! IV = E(KS_Enc, SSC) and AES-CMAC truncated to 8 bytes, with a 16-byte SSC.

use super::bac::ct_eq;
use super::crypto::{
    aes_cbc_decrypt, aes_cbc_encrypt, aes_cmac, aes_ecb_encrypt, pad, retail_mac, tdes_cbc_decrypt,
    tdes_cbc_encrypt, unpad, Cipher, CryptoError,
};

/// Secure messaging and APDU encoding failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmError {
    /// The APDU bytes are not a valid ISO 7816-4 command.
    #[error("malformed command APDU: {0}")]
    MalformedCommand(&'static str),
    /// A command does not fit in an APDU (data over 65535 bytes, Le over 65536).
    #[error("command too long")]
    TooLong,
    /// The response is shorter than a status word.
    #[error("response shorter than a status word")]
    ShortResponse,
    /// The card answered without secure messaging objects (typically 6987/6988: SM broken).
    #[error("unprotected response with status {0:04X}")]
    Unprotected(u16),
    /// The response data objects could not be parsed.
    #[error("malformed secure messaging response: {0}")]
    MalformedResponse(&'static str),
    /// DO'8E' is absent from the response.
    #[error("response has no MAC (DO'8E')")]
    MissingMac,
    /// DO'99' is absent from the response.
    #[error("response has no protected status word (DO'99')")]
    MissingStatus,
    /// The response MAC does not verify.
    #[error("response MAC mismatch")]
    Mac,
    /// Channel keys or SSC have the wrong length for the cipher.
    #[error("channel keys or SSC do not fit the cipher")]
    ChannelParameters,
    /// Underlying cipher failure (including bad padding in DO'87').
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// An ISO 7816-4 command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apdu {
    /// Class byte.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length).
    pub data: Vec<u8>,
    /// Expected response length: `None` for no Le, 1..=256 short, up to 65536 extended
    /// (256 encodes as `00`, 65536 as `0000`).
    pub le: Option<u32>,
}

impl Apdu {
    /// A command without data.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Apdu {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// SELECT by file identifier (`00 A4 02 0C 02 fid`), no response data.
    pub fn select_ef(fid: u16) -> Self {
        Apdu {
            data: fid.to_be_bytes().to_vec(),
            ..Apdu::new(0x00, 0xA4, 0x02, 0x0C)
        }
    }

    /// READ BINARY at `offset` (15-bit) for `le` bytes.
    pub fn read_binary(offset: u16, le: u32) -> Self {
        let [p1, p2] = (offset & 0x7FFF).to_be_bytes();
        Apdu {
            le: Some(le),
            ..Apdu::new(0x00, 0xB0, p1, p2)
        }
    }

    fn is_extended(&self) -> bool {
        self.data.len() > 255 || self.le.is_some_and(|l| l > 256)
    }

    /// Encodes the APDU, choosing short or extended length fields as needed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SmError> {
        if self.data.len() > 65535 || self.le.is_some_and(|l| l == 0 || l > 65536) {
            return Err(SmError::TooLong);
        }
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        let ext = self.is_extended();
        if !self.data.is_empty() {
            let lc = u16::try_from(self.data.len()).map_err(|_| SmError::TooLong)?;
            if ext {
                out.push(0);
                out.extend_from_slice(&lc.to_be_bytes());
            } else {
                out.push(lc.to_be_bytes()[1]);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = self.le {
            // 65536 → 0000, 256 → 00 (truncation of the high bits is the encoding).
            let le = (le & 0xFFFF) as u16;
            if ext {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&le.to_be_bytes());
            } else {
                out.push(le.to_be_bytes()[1]);
            }
        }
        Ok(out)
    }

    /// Parses an encoded command APDU (ISO 7816-4 cases 1, 2, 3, 4; short and extended).
    pub fn parse(bytes: &[u8]) -> Result<Self, SmError> {
        let (head, body) = bytes
            .split_first_chunk::<4>()
            .ok_or(SmError::MalformedCommand("shorter than 4 bytes"))?;
        let [cla, ins, p1, p2] = *head;
        let mut apdu = Apdu::new(cla, ins, p1, p2);
        let short_le = |b: u8| if b == 0 { 256 } else { u32::from(b) };
        let ext_le = |hi: u8, lo: u8| match u32::from(u16::from_be_bytes([hi, lo])) {
            0 => 65536,
            n => n,
        };
        match body {
            [] => {}
            [le] => apdu.le = Some(short_le(*le)),
            [0, hi, lo] => apdu.le = Some(ext_le(*hi, *lo)),
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                if lc == 0 {
                    return Err(SmError::MalformedCommand("extended Lc of zero"));
                }
                let data = rest
                    .get(..lc)
                    .ok_or(SmError::MalformedCommand("data shorter than Lc"))?;
                apdu.data = data.to_vec();
                match rest.get(lc..).unwrap_or_default() {
                    [] => {}
                    [hi, lo] => apdu.le = Some(ext_le(*hi, *lo)),
                    _ => return Err(SmError::MalformedCommand("bad extended Le")),
                }
            }
            [lc, rest @ ..] => {
                let lc = usize::from(*lc);
                let data = rest
                    .get(..lc)
                    .ok_or(SmError::MalformedCommand("data shorter than Lc"))?;
                apdu.data = data.to_vec();
                match rest.get(lc..).unwrap_or_default() {
                    [] => {}
                    [le] => apdu.le = Some(short_le(*le)),
                    _ => return Err(SmError::MalformedCommand("trailing bytes after Le")),
                }
            }
        }
        Ok(apdu)
    }
}

/// A plain response: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (decrypted, unpadded).
    pub data: Vec<u8>,
    /// Status word (SW1 SW2), taken from the MAC-protected DO'99'.
    pub sw: u16,
}

impl Response {
    /// Splits a raw response into data and status word.
    pub fn from_bytes(raw: &[u8]) -> Result<Self, SmError> {
        let (data, sw) = raw.split_last_chunk::<2>().ok_or(SmError::ShortResponse)?;
        Ok(Response {
            data: data.to_vec(),
            sw: u16::from_be_bytes(*sw),
        })
    }

    /// `true` for 9000.
    pub fn is_ok(&self) -> bool {
        self.sw == 0x9000
    }
}

/// Appends a BER-TLV with a one-byte tag.
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, value: &[u8]) {
    out.push(tag);
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xFFFF {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x83);
        out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    }
    out.extend_from_slice(value);
}

/// An established secure messaging channel.
#[derive(Clone)]
pub struct SecureChannel {
    /// Session encryption key KS_Enc.
    pub enc: Vec<u8>,
    /// Session MAC key KS_MAC.
    pub mac: Vec<u8>,
    /// Send sequence counter (8 bytes for 3DES, 16 for AES), big-endian.
    pub ssc: Vec<u8>,
    /// The block cipher of the channel.
    pub cipher: Cipher,
}

impl std::fmt::Debug for SecureChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecureChannel")
            .field("cipher", &self.cipher)
            .finish_non_exhaustive()
    }
}

impl SecureChannel {
    /// Creates a channel, checking key and SSC lengths against the cipher.
    pub fn new(cipher: Cipher, enc: Vec<u8>, mac: Vec<u8>, ssc: Vec<u8>) -> Result<Self, SmError> {
        if enc.len() != cipher.key_len() || mac.len() != cipher.key_len() || ssc.len() != cipher.block_size()
        {
            return Err(SmError::ChannelParameters);
        }
        Ok(SecureChannel {
            enc,
            mac,
            ssc,
            cipher,
        })
    }

    /// An AES channel after PACE or chip authentication: SSC starts at zero.
    pub fn new_aes(enc: Vec<u8>, mac: Vec<u8>) -> Result<Self, SmError> {
        let cipher = match enc.len() {
            16 => Cipher::Aes128,
            24 => Cipher::Aes192,
            32 => Cipher::Aes256,
            _ => return Err(SmError::ChannelParameters),
        };
        Self::new(cipher, enc, mac, vec![0; 16])
    }

    fn increment_ssc(&mut self) {
        for b in self.ssc.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }

    fn block(&self) -> usize {
        self.cipher.block_size()
    }

    fn iv(&self) -> Result<Vec<u8>, SmError> {
        match self.cipher {
            Cipher::ThreeDes => Ok(vec![0; 8]),
            _ => Ok(aes_ecb_encrypt(&self.enc, &self.ssc)?),
        }
    }

    fn encrypt(&self, padded: &[u8]) -> Result<Vec<u8>, SmError> {
        let iv = self.iv()?;
        Ok(match self.cipher {
            Cipher::ThreeDes => tdes_cbc_encrypt(&self.enc, &iv, padded)?,
            _ => aes_cbc_encrypt(&self.enc, &iv, padded)?,
        })
    }

    fn decrypt(&self, cryptogram: &[u8]) -> Result<Vec<u8>, SmError> {
        let iv = self.iv()?;
        Ok(match self.cipher {
            Cipher::ThreeDes => tdes_cbc_decrypt(&self.enc, &iv, cryptogram)?,
            _ => aes_cbc_decrypt(&self.enc, &iv, cryptogram)?,
        })
    }

    /// MAC over SSC ‖ `data`, padded with method 2; 8 bytes.
    fn compute_mac(&self, data: &[u8]) -> Result<[u8; 8], SmError> {
        let mut n = self.ssc.clone();
        n.extend_from_slice(data);
        let n = pad(&n, self.block());
        match self.cipher {
            Cipher::ThreeDes => Ok(retail_mac(&self.mac, &n)?),
            _ => {
                let full = aes_cmac(&self.mac, &n)?;
                let mut out = [0u8; 8];
                out.copy_from_slice(full.get(..8).unwrap_or(&[0; 8]));
                Ok(out)
            }
        }
    }

    /// Protects a command: masks CLA with `0C`, encrypts the data into DO'87' (DO'85' for
    /// odd INS), puts Le into DO'97', increments the SSC and adds DO'8E'. The returned APDU
    /// has Le = `00` (or `0000` when extended length is needed).
    pub fn protect(&mut self, cmd: &Apdu) -> Result<Apdu, SmError> {
        let cla = cmd.cla | 0x0C;
        let mut body = Vec::new();
        if !cmd.data.is_empty() {
            let cryptogram = self.encrypt_for_command(&cmd.data)?;
            if cmd.ins & 1 == 1 {
                push_tlv(&mut body, 0x85, &cryptogram);
            } else {
                let mut v = Vec::with_capacity(cryptogram.len() + 1);
                v.push(0x01);
                v.extend_from_slice(&cryptogram);
                push_tlv(&mut body, 0x87, &v);
            }
        }
        if let Some(le) = cmd.le {
            let le_bytes: Vec<u8> = match le {
                1..=255 => vec![le as u8],
                256 => vec![0],
                257..=65535 => (le as u16).to_be_bytes().to_vec(),
                65536 => vec![0, 0],
                _ => return Err(SmError::TooLong),
            };
            push_tlv(&mut body, 0x97, &le_bytes);
        }
        // The SSC was incremented by encrypt_for_command when there is data; otherwise now.
        if cmd.data.is_empty() {
            self.increment_ssc();
        }
        let mut m = pad(&[cla, cmd.ins, cmd.p1, cmd.p2], self.block());
        m.extend_from_slice(&body);
        let cc = self.compute_mac(&m)?;
        push_tlv(&mut body, 0x8E, &cc);
        let extended = body.len() > 255 || cmd.le.is_some_and(|l| l > 256);
        Ok(Apdu {
            cla,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data: body,
            le: Some(if extended { 65536 } else { 256 }),
        })
    }

    /// Increments the SSC (the AES IV depends on the incremented value) and encrypts.
    fn encrypt_for_command(&mut self, data: &[u8]) -> Result<Vec<u8>, SmError> {
        self.increment_ssc();
        self.encrypt(&pad(data, self.block()))
    }

    /// Convenience: protect and encode.
    pub fn protect_bytes(&mut self, cmd: &[u8]) -> Result<Vec<u8>, SmError> {
        self.protect(&Apdu::parse(cmd)?)?.to_bytes()
    }

    /// Verifies and decrypts a protected response (data objects followed by SW1 SW2).
    ///
    /// Increments the SSC, checks DO'8E' over DO'87'/DO'85' and DO'99', requires DO'99',
    /// decrypts the data and returns it with the protected status word.
    pub fn unprotect(&mut self, raw: &[u8]) -> Result<Response, SmError> {
        let outer = Response::from_bytes(raw)?;
        if outer.data.is_empty() {
            return Err(SmError::Unprotected(outer.sw));
        }
        let mut rest: &[u8] = &outer.data;
        let mut mac_input = Vec::new();
        let mut cryptogram: Option<(u8, Vec<u8>)> = None;
        let mut sw: Option<u16> = None;
        let mut cc: Option<Vec<u8>> = None;
        while !rest.is_empty() {
            let (tag, value, raw_tlv, tail) = split_tlv(rest)?;
            match tag {
                0x87 | 0x85 => {
                    if cryptogram.is_some() || cc.is_some() {
                        return Err(SmError::MalformedResponse("misplaced DO'87'"));
                    }
                    mac_input.extend_from_slice(raw_tlv);
                    cryptogram = Some((tag, value.to_vec()));
                }
                0x99 => {
                    let [a, b] = value else {
                        return Err(SmError::MalformedResponse("DO'99' is not 2 bytes"));
                    };
                    if sw.is_some() || cc.is_some() {
                        return Err(SmError::MalformedResponse("misplaced DO'99'"));
                    }
                    mac_input.extend_from_slice(raw_tlv);
                    sw = Some(u16::from_be_bytes([*a, *b]));
                }
                0x8E => {
                    if cc.is_some() {
                        return Err(SmError::MalformedResponse("duplicate DO'8E'"));
                    }
                    cc = Some(value.to_vec());
                }
                _ => return Err(SmError::MalformedResponse("unexpected data object")),
            }
            rest = tail;
        }
        self.increment_ssc();
        let cc = cc.ok_or(SmError::MissingMac)?;
        let expect = self.compute_mac(&mac_input)?;
        if !ct_eq(&expect, &cc) {
            return Err(SmError::Mac);
        }
        let sw = sw.ok_or(SmError::MissingStatus)?;
        let data = match cryptogram {
            None => Vec::new(),
            Some((0x87, v)) => {
                let (indicator, c) = v
                    .split_first()
                    .ok_or(SmError::MalformedResponse("empty DO'87'"))?;
                if *indicator != 0x01 {
                    return Err(SmError::MalformedResponse("padding indicator is not 01"));
                }
                unpad(&self.decrypt(c)?)?.to_vec()
            }
            Some((_, c)) => unpad(&self.decrypt(&c)?)?.to_vec(),
        };
        Ok(Response { data, sw })
    }
}

impl SecureChannel {
    /// Card side: verifies and decrypts a protected command (the mirror of
    /// [`SecureChannel::protect`]). Increments the SSC, checks DO'8E' over the padded header
    /// and DO'87'/DO'85'/DO'97', and returns the plain command with the original CLA
    /// (secure messaging bits cleared) and Le.
    pub fn unprotect_command(&mut self, cmd: &Apdu) -> Result<Apdu, SmError> {
        if cmd.cla & 0x0C != 0x0C {
            return Err(SmError::MalformedCommand(
                "CLA does not announce secure messaging",
            ));
        }
        let mut rest: &[u8] = &cmd.data;
        let mut mac_input = pad(&[cmd.cla, cmd.ins, cmd.p1, cmd.p2], self.block());
        let mut cryptogram: Option<(u8, Vec<u8>)> = None;
        let mut le: Option<u32> = None;
        let mut cc: Option<Vec<u8>> = None;
        while !rest.is_empty() {
            let (tag, value, raw_tlv, tail) =
                split_tlv(rest).map_err(|_| SmError::MalformedCommand("bad data object"))?;
            if cc.is_some() {
                return Err(SmError::MalformedCommand("data object after DO'8E'"));
            }
            match tag {
                0x87 | 0x85 if cryptogram.is_none() && le.is_none() => {
                    mac_input.extend_from_slice(raw_tlv);
                    cryptogram = Some((tag, value.to_vec()));
                }
                0x97 if le.is_none() => {
                    mac_input.extend_from_slice(raw_tlv);
                    le = Some(match value {
                        [0] => 256,
                        [b] => u32::from(*b),
                        [0, 0] => 65536,
                        [hi, lo] => u32::from(u16::from_be_bytes([*hi, *lo])),
                        _ => return Err(SmError::MalformedCommand("bad DO'97'")),
                    });
                }
                0x8E => cc = Some(value.to_vec()),
                _ => return Err(SmError::MalformedCommand("unexpected data object")),
            }
            rest = tail;
        }
        self.increment_ssc();
        let cc = cc.ok_or(SmError::MissingMac)?;
        let expect = self.compute_mac(&mac_input)?;
        if !ct_eq(&expect, &cc) {
            return Err(SmError::Mac);
        }
        let data = match cryptogram {
            None => Vec::new(),
            Some((0x87, v)) => {
                let (indicator, c) = v.split_first().ok_or(SmError::MalformedCommand("empty DO'87'"))?;
                if *indicator != 0x01 {
                    return Err(SmError::MalformedCommand("padding indicator is not 01"));
                }
                unpad(&self.decrypt(c)?)?.to_vec()
            }
            Some((_, c)) => unpad(&self.decrypt(&c)?)?.to_vec(),
        };
        Ok(Apdu {
            cla: cmd.cla & !0x0C,
            ins: cmd.ins,
            p1: cmd.p1,
            p2: cmd.p2,
            data,
            le,
        })
    }

    /// Card side: protects a response (the mirror of [`SecureChannel::unprotect`]):
    /// increments the SSC, encrypts `data` into DO'87' when non-empty, adds DO'99' with
    /// `sw` and DO'8E', and appends the plain status word. Returns the raw response bytes.
    pub fn protect_response(&mut self, data: &[u8], sw: u16) -> Result<Vec<u8>, SmError> {
        self.increment_ssc();
        let mut body = Vec::new();
        if !data.is_empty() {
            let mut v = vec![0x01];
            v.extend(self.encrypt(&pad(data, self.block()))?);
            push_tlv(&mut body, 0x87, &v);
        }
        push_tlv(&mut body, 0x99, &sw.to_be_bytes());
        let cc = self.compute_mac(&body)?;
        push_tlv(&mut body, 0x8E, &cc);
        body.extend_from_slice(&sw.to_be_bytes());
        Ok(body)
    }
}

/// (tag, value, whole TLV, remainder).
type SplitTlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// Splits one BER-TLV with a one-byte tag.
fn split_tlv(input: &[u8]) -> Result<SplitTlv<'_>, SmError> {
    let bad = SmError::MalformedResponse("bad TLV length");
    let (&tag, after_tag) = input.split_first().ok_or(bad.clone())?;
    let (&first, after_len) = after_tag.split_first().ok_or(bad.clone())?;
    let (len, hdr) = match first {
        0..=0x7F => (usize::from(first), 2),
        0x81..=0x83 => {
            let n = usize::from(first & 0x7F);
            let bytes = after_len.get(..n).ok_or(bad.clone())?;
            let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        }
        _ => return Err(bad),
    };
    let end = hdr.checked_add(len).ok_or(bad.clone())?;
    let whole = input.get(..end).ok_or(bad.clone())?;
    let value = input.get(hdr..end).ok_or(bad.clone())?;
    let tail = input.get(end..).ok_or(bad)?;
    Ok((tag, value, whole, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdu_encoding_roundtrip() {
        for bytes in [
            vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E],
            vec![0x00, 0xB0, 0x00, 0x00, 0x04],
            vec![0x00, 0xB0, 0x00, 0x00, 0x00],
            vec![0x00, 0x84, 0x00, 0x00],
            vec![0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x01],
        ] {
            let apdu = Apdu::parse(&bytes).unwrap();
            assert_eq!(apdu.to_bytes().unwrap(), bytes);
        }
        let big = Apdu {
            data: vec![1; 300],
            le: Some(65536),
            ..Apdu::new(0, 0x2A, 0, 0)
        };
        let enc = big.to_bytes().unwrap();
        assert_eq!(enc.get(4..7).unwrap(), &[0, 0x01, 0x2C]);
        assert_eq!(enc.len(), 4 + 3 + 300 + 2);
        assert_eq!(Apdu::parse(&enc).unwrap(), big);
        assert!(Apdu::parse(&[0, 1, 2]).is_err());
        assert!(Apdu::parse(&[0, 1, 2, 3, 5, 1]).is_err());
    }

    #[test]
    fn aes_channel_roundtrip_and_tamper() {
        // A card-side mirror of the terminal channel: same keys, same SSC progression.
        let enc = vec![0x11; 16];
        let mac = vec![0x22; 16];
        let mut ifd = SecureChannel::new_aes(enc.clone(), mac.clone()).unwrap();
        let mut card = SecureChannel::new_aes(enc, mac).unwrap();
        let cmd = Apdu::select_ef(0x011E);
        let protected = ifd.protect(&cmd).unwrap();
        assert_eq!(protected.cla, 0x0C);
        // Card: verify MAC the same way the terminal builds it, answer with data.
        card.increment_ssc();
        let (_, v87, raw87, rest) = split_tlv(&protected.data).unwrap();
        let (_, v8e, _, _) = split_tlv(rest).unwrap();
        let mut m = pad(&[0x0C, 0xA4, 0x02, 0x0C], 16);
        m.extend_from_slice(raw87);
        assert_eq!(card.compute_mac(&m).unwrap().as_slice(), v8e);
        assert_eq!(
            unpad(&card.decrypt(v87.get(1..).unwrap()).unwrap()).unwrap(),
            &[0x01, 0x1E]
        );
        card.increment_ssc();
        let payload = b"hello, chip".to_vec();
        let mut body = Vec::new();
        let mut v = vec![1];
        v.extend(card.encrypt(&pad(&payload, 16)).unwrap());
        push_tlv(&mut body, 0x87, &v);
        push_tlv(&mut body, 0x99, &[0x90, 0x00]);
        let cc = card.compute_mac(&body).unwrap();
        push_tlv(&mut body, 0x8E, &cc);
        body.extend_from_slice(&[0x90, 0x00]);
        let mut ifd2 = ifd.clone();
        let resp = ifd.unprotect(&body).unwrap();
        assert_eq!(
            resp,
            Response {
                data: payload,
                sw: 0x9000
            }
        );
        // One flipped bit in the cryptogram breaks the MAC.
        let mut tampered = body.clone();
        if let Some(b) = tampered.get_mut(4) {
            *b ^= 1;
        }
        assert_eq!(ifd2.unprotect(&tampered), Err(SmError::Mac));
        assert_eq!(
            ifd2.clone().unprotect(&[0x69, 0x88]),
            Err(SmError::Unprotected(0x6988))
        );
    }
}
