//! The ETSI EN 319 102-1 style indication from the checks.
use super::*;

/// The indication from the checks (in ETSI order: format, hash, crypto, chain, revocation).
pub(super) fn conclude(
    integrity: &Check,
    chain: &Check,
    coverage: &Check,
    modifications: &Check,
    revocation: Option<&Check>,
) -> (Indication, Option<String>) {
    use sub_indication as si;
    let r = |c: &Check| c.reason.clone().unwrap_or_default();
    let out = |i: Indication, s: &str| (i, Some(s.to_string()));
    if !coverage.ok || !modifications.ok {
        return out(Indication::TotalFailed, si::FORMAT_FAILURE);
    }
    if !integrity.ok {
        return match r(integrity).as_str() {
            reason::DIGEST_MISMATCH => out(Indication::TotalFailed, si::HASH_FAILURE),
            reason::BAD_SIGNATURE => out(Indication::TotalFailed, si::SIG_CRYPTO_FAILURE),
            reason::UNSUPPORTED_ALGORITHM => out(Indication::Indeterminate, si::CRYPTO_CONSTRAINTS_FAILURE),
            reason::SIGNING_CERTIFICATE_MISMATCH => {
                out(Indication::Indeterminate, si::NO_SIGNING_CERTIFICATE_FOUND)
            }
            _ => out(Indication::TotalFailed, si::FORMAT_FAILURE),
        };
    }
    if let Some(rev) = revocation {
        if rev.reason.as_deref() == Some(reason::REVOKED) {
            return out(Indication::TotalFailed, si::REVOKED);
        }
    }
    if !chain.ok {
        return match r(chain).as_str() {
            reason::EXPIRED_CERTIFICATE => out(Indication::Indeterminate, si::OUT_OF_BOUNDS_NO_POE),
            reason::BAD_CERTIFICATE_SIGNATURE => {
                out(Indication::Indeterminate, si::CERTIFICATE_CHAIN_GENERAL_FAILURE)
            }
            _ => out(Indication::Indeterminate, si::NO_CERTIFICATE_CHAIN_FOUND),
        };
    }
    if let Some(rev) = revocation {
        if !rev.ok {
            return out(Indication::Indeterminate, si::TRY_LATER);
        }
    }
    (Indication::TotalPassed, None)
}
