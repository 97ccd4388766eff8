//! Revocation of a path's certificates from the embedded CRLs and OCSP answers and the revocation source.
use super::*;

/// Revocation of every certificate of `path` (leaf first, anchor last, not checked) from the embedded
/// CRLs and OCSP responses and the [`RevocationSource`]'s CRLs. `poe` is the proved time of signing: a
/// revocation after it does not count.
pub(super) fn check_revocation(ctx: &Ctx<'_, '_>, path: &[Vec<u8>], extra_crls: &[&[u8]], poe: i64) -> Check {
    let crls: Vec<crate::crl::CrlInfo> = ctx
        .dss
        .crls
        .iter()
        .chain(ctx.online_crls.iter())
        .map(Vec::as_slice)
        .chain(extra_crls.iter().copied())
        .filter_map(|c| crate::crl::parse_crl(c).ok())
        .collect();
    let ocsps: Vec<crate::ocsp::OcspResponseInfo> = ctx
        .dss
        .ocsps
        .iter()
        .filter_map(|o| crate::ocsp::parse_response(o).ok())
        .collect();
    let mut covered = 0usize;
    for pair in path.windows(2) {
        let [cert_der, issuer_der] = pair else { continue };
        let Some(cert) = CertView::parse(cert_der) else {
            continue;
        };
        let subject = cert.subject_string();
        let mut good = false;
        for crl in crls
            .iter()
            .filter(|c| c.this_update <= ctx.now && ctx.work.spend() && c.verify_signature(issuer_der))
        {
            match crl.entry(cert.serial()) {
                Some(entry) if entry.revoked_at <= poe => {
                    return Check::fail(
                        reason::REVOKED,
                        format!("{subject} was revoked on {} (CRL)", fmt_time(entry.revoked_at)),
                    );
                }
                Some(_) => good = true,
                None => good = true,
            }
        }
        for resp in &ocsps {
            let Some(single) = resp.status_of(cert.serial(), issuer_der) else {
                continue;
            };
            if single.this_update > ctx.now || !ctx.work.spend() || resp.verify(issuer_der).is_err() {
                continue;
            }
            match single.status {
                crate::ocsp::ParsedStatus::Good => good = true,
                crate::ocsp::ParsedStatus::Revoked { at, .. } if at <= poe => {
                    return Check::fail(
                        reason::REVOKED,
                        format!("{subject} was revoked on {} (OCSP)", fmt_time(at)),
                    );
                }
                crate::ocsp::ParsedStatus::Revoked { .. } => good = true,
                crate::ocsp::ParsedStatus::Unknown => {}
            }
        }
        if !good {
            return Check::fail(
                reason::NO_REVOCATION_DATA,
                format!("no CRL or OCSP response covers {subject}"),
            );
        }
        covered += 1;
    }
    Check::pass(format!(
        "{covered} certificate(s) checked against embedded CRLs and OCSP responses: not revoked"
    ))
}
