//! Timestamps: a signature's RFC 3161 token and document timestamps, with their TSA's chain.
use super::*;

/// A verified timestamp token.
pub(super) struct TokenCheck {
    pub(super) check: Check,
    pub(super) gen_time: Option<i64>,
    /// The TSA path (TSA certificate first) when trusted.
    pub(super) path: Vec<Vec<u8>>,
    pub(super) tsa_subject: Option<String>,
}

/// Verifies an RFC 3161 token over `imprint_of` (the bytes whose digest the token must hold, given as
/// parts), its TSA certificate (critical EKU timeStamping) and its chain at `chain_time`.
pub(super) fn check_token(
    ctx: &Ctx<'_, '_>,
    token: &[u8],
    imprint_parts: &[&[u8]],
    extra_certs: &[Vec<u8>],
    chain_time: i64,
) -> TokenCheck {
    let mut extra: Vec<Vec<u8>> = extra_certs.to_vec();
    extra.extend(ctx.dss.certs.iter().cloned());
    let fail = |reason: &str, detail: String, gen_time: Option<i64>| TokenCheck {
        check: Check::fail(reason, detail),
        gen_time,
        path: Vec::new(),
        tsa_subject: None,
    };
    if !ctx.work.spend() {
        return fail(reason::BAD_TIMESTAMP, "the work budget is spent".into(), None);
    }
    let info = match crate::tsa::verify_token(token, &extra) {
        Ok(info) if info.certs.len() > ctx.work.limits.max_cms_certificates => {
            ctx.work.exceed(format!(
                "a timestamp token carries {} certificates (at most {})",
                info.certs.len(),
                ctx.work.limits.max_cms_certificates
            ));
            return fail(reason::BAD_TIMESTAMP, "too many certificates".into(), None);
        }
        Ok(info) => info,
        Err(e) => {
            return fail(
                reason::BAD_TIMESTAMP,
                format!("the timestamp token does not verify: {e}"),
                None,
            )
        }
    };
    let gen_time = Some(info.gen_time);
    let Some(hash) = info.hash else {
        return fail(
            reason::BAD_TIMESTAMP,
            "the timestamp imprint uses an unsupported hash".into(),
            gen_time,
        );
    };
    if hash.digest_parts(imprint_parts) != info.imprint {
        return fail(
            reason::BAD_TIMESTAMP,
            "the timestamp imprint does not match the timestamped data".into(),
            gen_time,
        );
    }
    let Some(tsa_der) = info.tsa_cert.clone() else {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            "the TSA certificate is missing".into(),
            gen_time,
        );
    };
    let Some(tsa) = CertView::parse(&tsa_der) else {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            "the TSA certificate does not parse".into(),
            gen_time,
        );
    };
    let eku_ok = crate::certgen::extended_key_usages(&tsa)
        .is_some_and(|(critical, ekus)| critical && ekus.contains(&oid::KP_TIME_STAMPING));
    if !eku_ok {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            "the TSA certificate lacks a critical extKeyUsage id-kp-timeStamping".into(),
            gen_time,
        );
    }
    let mut pool_ders: Vec<Vec<u8>> = info.certs.clone();
    pool_ders.extend(extra);
    let pool: Vec<CertView<'_>> = pool_ders.iter().filter_map(|c| CertView::parse(c)).collect();
    let (chain, path) = check_chain_path(ctx.work, &tsa, &pool, ctx.roots, chain_time);
    if !chain.ok {
        return fail(
            reason::UNTRUSTED_TIMESTAMP,
            format!("the TSA certificate is not trusted: {}", chain.detail),
            gen_time,
        );
    }
    TokenCheck {
        check: Check::pass(format!(
            "timestamp of {} by {}",
            fmt_time(info.gen_time),
            tsa.subject_string()
        )),
        gen_time,
        path,
        tsa_subject: Some(tsa.subject_string()),
    }
}

/// Verifies a document timestamp; returns its report and its genTime when it is valid.
pub(super) fn verify_doc_timestamp(
    ctx: &Ctx<'_, '_>,
    dict: &SigDict,
    later: &[DocTs],
) -> (SignatureReport, Option<i64>) {
    let pdf = ctx.pdf;
    let field_name = dict.field_name.clone();
    let (coverage, modifications) = coverage_and_modifications(ctx, dict);
    let [_, b1, b2, b3] = dict.byte_range;
    let end = b2.saturating_add(b3);
    // Validated at the time of the next valid document timestamp, if any, else now.
    let chain_time = later.iter().filter(|d| d.end > end).map(|d| d.time).min();
    let is_latest = chain_time.is_none();
    let chain_time = chain_time.unwrap_or(ctx.now);
    let token = first_element(&dict.contents)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let parts = usize::try_from(b1)
        .ok()
        .zip(usize::try_from(b2).ok())
        .zip(usize::try_from(end).ok())
        .and_then(|((a, b), e)| Some([pdf.get(..a)?, pdf.get(b..e)?]));
    let tc = match parts {
        Some(parts) => check_token(ctx, &token, &parts, &[], chain_time),
        None => TokenCheck {
            check: Check::fail(
                reason::DIGEST_MISMATCH,
                "the ByteRange cannot be read from this file",
            ),
            gen_time: None,
            path: Vec::new(),
            tsa_subject: None,
        },
    };
    let integrity = match tc.check.reason.as_deref() {
        Some(reason::BAD_TIMESTAMP) if tc.check.detail.contains("imprint does not match") => {
            Check::fail(reason::DIGEST_MISMATCH, tc.check.detail.clone())
        }
        Some(reason::BAD_TIMESTAMP) => Check::fail(reason::BAD_SIGNATURE, tc.check.detail.clone()),
        _ => Check::pass("the timestamp token covers the signed bytes and its signature verifies"),
    };
    let chain = match tc.check.reason.as_deref() {
        Some(reason::UNTRUSTED_TIMESTAMP) => Check::fail(reason::UNTRUSTED_CHAIN, tc.check.detail.clone()),
        Some(_) => Check::fail(
            reason::UNTRUSTED_CHAIN,
            "the TSA certificate could not be checked",
        ),
        None => Check::pass("the TSA certificate chains to a trusted root"),
    };
    let revocation = if tc.path.is_empty() {
        Check::fail(reason::NO_REVOCATION_DATA, "no TSA chain to check")
    } else {
        check_revocation(ctx, &tc.path, &[], tc.gen_time.unwrap_or(ctx.now))
    };
    // The newest document timestamp cannot carry its own revocation data yet (it comes with the next
    // renewal); a missing one does not lower its indication.
    let rev_for_indication = if is_latest && revocation.reason.as_deref() == Some(reason::NO_REVOCATION_DATA)
    {
        None
    } else {
        Some(&revocation)
    };
    let (indication, sub) = conclude(&integrity, &chain, &coverage, &modifications, rev_for_indication);
    let valid = indication == Indication::TotalPassed
        || (integrity.ok && chain.ok && coverage.ok && indication != Indication::TotalFailed);
    let report = SignatureReport {
        signed_end: dict.byte_range[2].saturating_add(dict.byte_range[3]),
        field_name,
        signer_subject: tc.tsa_subject.clone(),
        claimed_signing_time: None,
        integrity,
        chain,
        coverage,
        modifications,
        kind: SignatureKind::DocumentTimestamp,
        timestamp: Some(tc.check.clone()),
        timestamp_time: tc.gen_time.map(unix_to_time),
        revocation,
        indication,
        sub_indication: sub,
        validation_time: unix_to_time(chain_time),
        level: None,
    };
    (report, if valid { tc.gen_time } else { None })
}
