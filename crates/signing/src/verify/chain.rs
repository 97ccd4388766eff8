//! Building and checking a certificate path to a trust anchor.
use super::*;

/// Whether `cert` names `issuer` by key identifier (strong evidence that `issuer` is the real issuer, so a
/// signature that fails to verify means a damaged or forged certificate rather than a stranger CA).
pub(super) fn same_key_id(cert: &CertView<'_>, issuer: &CertView<'_>) -> bool {
    matches!((&cert.authority_key_id, &issuer.subject_key_id), (Some(a), Some(s)) if a == s)
}

/// Builds a path from `signer` through `pool` to one of `roots` and checks it at `now`; also returns the
/// path (signer first, anchor last) when it is trusted.
pub(super) fn check_chain_path(
    work: &Work,
    signer: &CertView<'_>,
    pool: &[CertView<'_>],
    roots: &[CertView<'_>],
    now: i64,
) -> (Check, Vec<Vec<u8>>) {
    let check = check_chain_steps(work, signer, pool, roots, now);
    let path = match &check {
        (c, p) if c.ok => p.iter().map(|x| x.raw.to_vec()).collect(),
        _ => Vec::new(),
    };
    (check.0, path)
}

pub(super) fn check_chain_steps<'a>(
    work: &Work,
    signer: &CertView<'a>,
    pool: &[CertView<'a>],
    roots: &[CertView<'a>],
    now: i64,
) -> (Check, Vec<CertView<'a>>) {
    const MAX_DEPTH: usize = 8;
    let mut path: Vec<CertView<'_>> = vec![signer.clone()];
    let mut bad_signature_seen = false;
    let mut anchored = false;
    for _ in 0..MAX_DEPTH {
        let Some(current) = path.last().cloned() else {
            break;
        };
        if roots.iter().any(|r| r.raw == current.raw) {
            anchored = true;
            break;
        }
        // A self-signed certificate that is not an anchor ends the path.
        let signed_by = |issuer: &CertView<'_>| {
            work.spend() && issuer.public_key().is_some_and(|k| current.signed_by(&k))
        };
        if current.is_self_issued() && signed_by(&current) {
            break;
        }
        let mut next = None;
        for root in roots.iter().filter(|r| current.names_issuer(r)) {
            if signed_by(root) {
                next = Some((root.clone(), true));
                break;
            }
            bad_signature_seen |= same_key_id(&current, root);
        }
        if next.is_none() {
            let candidates = pool
                .iter()
                .filter(|c| current.names_issuer(c) && !path.iter().any(|p| p.raw == c.raw))
                .take(work.limits.max_issuer_candidates);
            for candidate in candidates {
                if signed_by(candidate) {
                    next = Some((candidate.clone(), false));
                    break;
                }
                bad_signature_seen |= same_key_id(&current, candidate);
            }
        }
        match next {
            Some((cert, is_root)) => {
                path.push(cert);
                if is_root {
                    anchored = true;
                    break;
                }
            }
            None => break,
        }
    }
    if !anchored {
        let c = if bad_signature_seen {
            Check::fail(
                reason::BAD_CERTIFICATE_SIGNATURE,
                "a certificate's signature does not verify with its issuer's key",
            )
        } else {
            Check::fail(
                reason::UNTRUSTED_CHAIN,
                "the signer's certificate does not lead to a trusted root",
            )
        };
        return (c, path);
    }
    for cert in &path {
        if !cert.valid_at(now) {
            let when = if now < cert.not_before {
                "is not yet valid"
            } else {
                "has expired"
            };
            let c = Check::fail(
                reason::EXPIRED_CERTIFICATE,
                format!("the certificate {} {when}", cert.subject_string()),
            );
            return (c, path.clone());
        }
    }
    for (depth, issuer) in path.iter().enumerate().skip(1) {
        let ku_ok = issuer.key_usage.is_none_or(|ku| ku & KU_KEY_CERT_SIGN != 0);
        if !issuer.is_ca || !ku_ok {
            let c = Check::fail(
                reason::UNTRUSTED_CHAIN,
                format!(
                    "the issuer {} is not a certification authority",
                    issuer.subject_string()
                ),
            );
            return (c, path.clone());
        }
        // CA certificates between this issuer and the signer.
        let below = depth.saturating_sub(1) as u64;
        if issuer.path_len.is_some_and(|limit| below > limit) {
            let c = Check::fail(
                reason::UNTRUSTED_CHAIN,
                format!("the path is longer than {} allows", issuer.subject_string()),
            );
            return (c, path.clone());
        }
    }
    let root = path.last().map(CertView::subject_string).unwrap_or_default();
    let c = Check::pass(format!(
        "the signer's certificate chains to the trusted root {root}"
    ));
    (c, path)
}
