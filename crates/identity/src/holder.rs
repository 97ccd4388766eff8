//! The rule a holder's reference follows when a copy is issued: banso-core's `HolderIds` port, by the same
//! citizen-ID rules as `banso id cccd`.

use time::OffsetDateTime;

/// Holders' ID numbers by banso-identity's rules (the same as `banso id cccd`): a 12-digit citizen ID
/// number whose province code is known, whose century-and-sex digit is defined and whose birth year is not
/// in the future; or, for a holder who is not a citizen, `PASSPORT:<ICAO country>:<number>` (3 letters;
/// 6–9 capital letters and digits).
pub struct IdentityRules;

impl banso_core::ports::HolderIds for IdentityRules {
    fn check(&self, holder_id: &str, now: OffsetDateTime) -> std::result::Result<(), String> {
        let id = holder_id.trim();
        if let Some(rest) = id
            .get(..9)
            .filter(|p| p.eq_ignore_ascii_case("passport:"))
            .and_then(|_| id.get(9..))
        {
            let (country, number) = rest.split_once(':').unwrap_or(("", rest));
            let country_ok = country.len() == 3 && country.bytes().all(|b| b.is_ascii_uppercase());
            let number_ok = (6..=9).contains(&number.len())
                && number
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            return if country_ok && number_ok {
                Ok(())
            } else {
                Err("a passport reference is PASSPORT:<3-letter country>:<6–9 capital letters and digits>, e.g. PASSPORT:FRA:12AB34567".into())
            };
        }
        if id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                "a 9-digit identity card number is no longer accepted: give the 12-digit citizen ID number"
                    .into(),
            );
        }
        let Some(decoded) = crate::cccd::decode_number(id) else {
            return Err(format!(
                "{id:?} is not a citizen ID number (12 digits) nor a passport reference (PASSPORT:<country>:<number>)"
            ));
        };
        if decoded.province_name.is_none() {
            return Err(format!(
                "the citizen ID number starts with {}, which is not a province code",
                decoded.province_code
            ));
        }
        if decoded.birth_year > now.year() {
            return Err(format!(
                "the citizen ID number says the holder was born in {}, which is in the future",
                decoded.birth_year
            ));
        }
        Ok(())
    }
}
