//! Verification codes: 95 random bits in Crockford base32 plus a mod-37 check symbol, shown in groups of four.
//!
//! A code is what a citizen types or a QR carries to look a copy up. It is separate from the legal
//! certification number, which is sequential and guessable. 19 data symbols carry 95 bits; the 20th is
//! Crockford's check symbol (the value of the data modulo 37). Generation rejects data whose check value
//! would be one of Crockford's five extra check symbols (`*~$=U`), so every issued code uses only the 32
//! symbols people can type on a kiosk keyboard — this costs less than a quarter of a bit of entropy. A
//! typed code that carries one of those symbols in the check position is still checked, and fails.

use rand::RngCore;
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CHECK_EXTRA: &[u8; 5] = b"*~$=U";
/// Data symbols in a code.
pub const DATA_LEN: usize = 19;
/// Symbols including the check symbol.
pub const CODE_LEN: usize = DATA_LEN + 1;
// The law of the product: at least 80 random bits.
const _: () = assert!(DATA_LEN * 5 >= 80);

/// A well-formed verification code (the check symbol matched).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VerificationCode(String);

/// Why a typed code was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the code has {0} symbols; a verification code has {CODE_LEN}")]
    Length(usize),
    #[error("'{0}' is not a symbol of a verification code")]
    Symbol(char),
    #[error("check symbol mismatch: the code was probably mistyped")]
    CheckMismatch,
}

fn value_of(c: char) -> Option<u32> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    ALPHABET.iter().position(|&a| a as char == c).map(|p| p as u32)
}

fn check_value(data: &[u32]) -> u32 {
    data.iter().fold(0u32, |acc, &v| (acc * 32 + v) % 37)
}

fn check_symbol(value: u32) -> char {
    if value < 32 {
        ALPHABET[value as usize] as char
    } else {
        CHECK_EXTRA[(value - 32) as usize] as char
    }
}

impl VerificationCode {
    /// Draws a fresh code from `rng` (a cryptographic generator in production).
    pub fn generate(rng: &mut dyn RngCore) -> Self {
        loop {
            let mut data = [0u32; DATA_LEN];
            for v in data.iter_mut() {
                *v = rng.next_u32() & 31;
            }
            let check = check_value(&data);
            if check >= 32 {
                continue;
            }
            let mut s: String = data.iter().map(|&v| ALPHABET[v as usize] as char).collect();
            s.push(check_symbol(check));
            return Self(s);
        }
    }

    /// Parses what a person typed: case, spaces and dashes are ignored; O reads as 0, I and L as 1.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let symbols: Vec<char> = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if symbols.len() != CODE_LEN {
            return Err(CodeError::Length(symbols.len()));
        }
        let (data_syms, check_sym) = symbols.split_at(DATA_LEN);
        let mut data = Vec::with_capacity(DATA_LEN);
        for &c in data_syms {
            data.push(value_of(c).ok_or(CodeError::Symbol(c))?);
        }
        let typed = check_sym[0].to_ascii_uppercase();
        let typed_value = match value_of(typed) {
            Some(v) => v,
            None => match CHECK_EXTRA.iter().position(|&e| e as char == typed) {
                Some(p) => 32 + p as u32,
                None => return Err(CodeError::Symbol(check_sym[0])),
            },
        };
        if typed_value != check_value(&data) {
            return Err(CodeError::CheckMismatch);
        }
        let mut s: String = data.iter().map(|&v| ALPHABET[v as usize] as char).collect();
        s.push(check_symbol(typed_value));
        Ok(Self(s))
    }

    /// The canonical form: 20 upper-case symbols, no separators (used in URLs and storage).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped in fours for people: `7Q2K-9M4X-ABCD-EFGH-JKMN`.
    pub fn display_grouped(&self) -> String {
        let mut out = String::with_capacity(CODE_LEN + CODE_LEN / 4);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_grouped())
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerificationCode({})", self.0)
    }
}

/// Random secrets (capability keys, API tokens) as lower-case base32 without padding.
pub fn random_secret(rng: &mut dyn RngCore, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rng.fill_bytes(&mut buf);
    let mut out = String::with_capacity(bytes * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in buf {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push((ALPHABET[((acc >> bits) & 31) as usize] as char).to_ascii_lowercase());
        }
    }
    if bits > 0 {
        out.push((ALPHABET[((acc << (5 - bits)) & 31) as usize] as char).to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn generated_codes_round_trip_and_carry_95_bits() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let code = VerificationCode::generate(&mut rng);
            assert_eq!(code.as_str().len(), CODE_LEN);
            assert!(code.as_str().chars().all(|c| ALPHABET.contains(&(c as u8))));
            assert_eq!(VerificationCode::parse(&code.display_grouped()).unwrap(), code);
            assert_eq!(
                VerificationCode::parse(&code.as_str().to_lowercase()).unwrap(),
                code
            );
        }
    }

    #[test]
    fn grouping_is_in_fours() {
        let mut rng = StdRng::seed_from_u64(1);
        let g = VerificationCode::generate(&mut rng).display_grouped();
        let groups: Vec<&str> = g.split('-').collect();
        assert_eq!(groups.len(), 5);
        assert!(groups.iter().all(|g| g.len() == 4));
    }

    #[test]
    fn confusable_letters_are_read_as_digits() {
        let mut rng = StdRng::seed_from_u64(3);
        let code = loop {
            let c = VerificationCode::generate(&mut rng);
            if c.as_str()[..DATA_LEN].contains('0') && c.as_str()[..DATA_LEN].contains('1') {
                break c;
            }
        };
        let typed = code.as_str()[..DATA_LEN]
            .replacen('0', "o", 1)
            .replacen('1', "l", 1)
            + &code.as_str()[DATA_LEN..];
        assert_eq!(VerificationCode::parse(&format!(" {typed} ")).unwrap(), code);
        let typed_i = code.as_str().replacen('1', "I", 1);
        assert_eq!(VerificationCode::parse(&typed_i).unwrap(), code);
    }

    #[test]
    fn every_single_substitution_and_adjacent_swap_is_caught() {
        let mut rng = StdRng::seed_from_u64(11);
        let code = VerificationCode::generate(&mut rng);
        let s: Vec<char> = code.as_str().chars().collect();
        for i in 0..DATA_LEN {
            for &a in ALPHABET.iter() {
                let a = a as char;
                if a == s[i] {
                    continue;
                }
                let mut t = s.clone();
                t[i] = a;
                let typed: String = t.iter().collect();
                assert_eq!(
                    VerificationCode::parse(&typed),
                    Err(CodeError::CheckMismatch),
                    "{typed}"
                );
            }
        }
        for i in 0..DATA_LEN - 1 {
            if s[i] == s[i + 1] {
                continue;
            }
            let mut t = s.clone();
            t.swap(i, i + 1);
            let typed: String = t.iter().collect();
            assert_eq!(VerificationCode::parse(&typed), Err(CodeError::CheckMismatch));
        }
    }

    #[test]
    fn malformed_input_says_what_is_wrong() {
        assert_eq!(VerificationCode::parse("ABC"), Err(CodeError::Length(3)));
        assert_eq!(
            VerificationCode::parse("ABCU-EFGH-JKMN-PQRS-TVWX"),
            Err(CodeError::Symbol('U'))
        );
        assert!(matches!(
            VerificationCode::parse("ABCD-EFGH-JKMN-PQRS-TVW!"),
            Err(CodeError::Symbol('!'))
        ));
    }

    #[test]
    fn the_extra_check_symbols_are_checked_too() {
        // Find data whose check value is 36 ('U') and data whose check value is not.
        let mut rng = StdRng::seed_from_u64(9);
        let mut with_u = None;
        let mut without_u = None;
        while with_u.is_none() || without_u.is_none() {
            let data: Vec<u32> = (0..DATA_LEN).map(|_| rng.next_u32() & 31).collect();
            let text: String = data.iter().map(|&v| ALPHABET[v as usize] as char).collect();
            if check_value(&data) == 36 {
                with_u.get_or_insert(text);
            } else {
                without_u.get_or_insert(text);
            }
        }
        let with_u = with_u.unwrap() + "U";
        assert_eq!(VerificationCode::parse(&with_u).unwrap().as_str(), with_u);
        assert_eq!(
            VerificationCode::parse(&(without_u.unwrap() + "U")),
            Err(CodeError::CheckMismatch)
        );
    }

    #[test]
    fn secrets_are_long_enough() {
        let mut rng = StdRng::seed_from_u64(5);
        let s = random_secret(&mut rng, 20);
        assert_eq!(s.len(), 32);
    }
}
