//! `banso id read` (a chip ID card through PC/SC: BAC or PACE, secure messaging, passive, chip and active
//! authentication against a CSCA trust list) and `banso id test-card` (serves the project's virtual test card to
//! vpcd, for demos and tests).

use anyhow::{anyhow, Context, Result};
use banso_core::{Code, Error};
use banso_identity::emrtd::pa::CheckStatus;
use banso_identity::emrtd::reader::{read_chip, verify, AssuranceLevel, BacOrPace, NamedCheck};
use banso_identity::emrtd::testkit::TestCardParams;
use banso_identity::emrtd::vcard::VirtualCard;
use banso_identity::pcsc_transport::PcscCard;
use banso_identity::vpcd::{serve, CardIcc};
use rand::RngCore;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn status_json(c: &NamedCheck) -> serde_json::Value {
    match &c.status {
        CheckStatus::Passed => json!({ "name": c.name, "ok": true }),
        CheckStatus::Failed(r) => json!({ "name": c.name, "ok": false, "reason": r }),
        CheckStatus::NotRun(r) => json!({ "name": c.name, "ok": false, "not_run": r }),
    }
}

/// CSCA certificates (PEM or DER) from files or folders.
pub fn csca_roots(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            for e in std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .flatten()
            {
                files.push(e.path());
            }
        } else {
            files.push(p.clone());
        }
    }
    for f in files {
        let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
        match banso_signing::pem::decode_certificates(&String::from_utf8_lossy(&bytes)) {
            Ok(ders) if !ders.is_empty() => out.extend(ders),
            _ if bytes.first() == Some(&0x30) => out.push(bytes),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(anyhow!("no CSCA certificate found in the trust list"));
    }
    Ok(out)
}

/// Reads and verifies a card; prints the result. Exit 0 verified, 1 rejected or access denied.
pub fn read(
    reader: &str,
    mrz: &str,
    csca: &[PathBuf],
    access: BacOrPace,
    json_out: bool,
    photo: Option<&Path>,
) -> Result<u8> {
    let roots = csca_roots(csca)?;
    let mut nonce = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut card =
        PcscCard::wait(reader, Duration::from_secs(10)).map_err(|e| anyhow!("card reader: {e}"))?;
    let started = Instant::now();
    let chip = match read_chip(&mut card, mrz, access, nonce) {
        Ok(chip) => chip,
        Err(e) => {
            let code = Code::Id0002ChipUnreadable;
            if json_out {
                println!(
                    "{}",
                    json!({ "verified": false, "error": { "code": code.as_str(), "message": e.to_string() } })
                );
            } else {
                eprintln!("error {code}: the chip could not be read: {e}");
            }
            return Ok(crate::output::exit_code(code.kind()));
        }
    };
    let read_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let outcome = verify(chip, &roots, nonce);
    let verify_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(id) => {
            if let Some(path) = photo {
                std::fs::write(path, &id.face_image().data)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let assurance = match id.assurance() {
                AssuranceLevel::High => "high",
                AssuranceLevel::Substantial => "substantial",
            };
            if json_out {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "verified": true,
                        "assurance": assurance,
                        "id_number": id.id_number(),
                        "full_name": id.full_name(),
                        "birth_date": id.birth_date(),
                        "sex": id.sex(),
                        "face_image_bytes": id.face_image().data.len(),
                        "checks": id.checks().iter().map(status_json).collect::<Vec<_>>(),
                        "read_ms": read_ms,
                        "verify_ms": verify_ms,
                    }))?
                );
            } else {
                println!(
                    "{} — {} ({}), assurance {assurance}",
                    id.id_number(),
                    id.full_name(),
                    id.birth_date()
                );
                for c in id.checks() {
                    println!("  {:<48} {:?}", c.name, c.status);
                }
            }
            Ok(0)
        }
        Err(rejected) => {
            let code = Code::Id0003IdentityRejected;
            if json_out {
                println!(
                    "{}",
                    json!({
                        "verified": false,
                        "error": { "code": code.as_str(), "message": rejected.reason },
                        "checks": rejected.checks.iter().map(status_json).collect::<Vec<_>>(),
                    })
                );
            } else {
                eprintln!("error {code}: {}", rejected.reason);
            }
            Ok(crate::output::exit_code(code.kind()))
        }
    }
}

/// Serves the virtual test card to vpcd until killed; writes its CSCA and MRZ into `out`.
pub fn test_card(
    port: u16,
    out: &Path,
    negative: Option<&str>,
    face: Option<&Path>,
    holder: (Option<&str>, Option<&str>),
) -> Result<u8> {
    let mut params = TestCardParams::default();
    if let Some(id) = holder.0 {
        params.dg13.id_number = id.to_string();
    }
    if let Some(name) = holder.1 {
        params.dg13.full_name = name.to_string();
    }
    if let Some(face) = face {
        let bytes = std::fs::read(face).with_context(|| format!("reading {}", face.display()))?;
        let img = banso_face::decode_image(&bytes).with_context(|| format!("decoding {}", face.display()))?;
        let (w, h) = (u16::try_from(img.width())?, u16::try_from(img.height())?);
        params.face_image = Some((bytes, w, h));
    }
    match negative {
        None => {}
        Some("tampered") => params.change_after_signing = Some(13),
        Some("unknown-csca") => params.unknown_csca = true,
        Some("clone") => params.clone_without_aa_key = true,
        Some(other) => {
            return Err(anyhow!(
                "unknown negative card {other:?} (tampered, unknown-csca, clone)"
            ))
        }
    }
    let (card, pki) = VirtualCard::issue_test_card(params).map_err(|e| anyhow!("{e}"))?;
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("csca.pem"),
        banso_signing::pem::encode("CERTIFICATE", &pki.csca_der),
    )?;
    std::fs::write(out.join("mrz.txt"), &pki.mrz_text)?;
    std::fs::write(out.join("face.jpg"), &pki.face_jpeg)?;
    let _server = serve(
        CardIcc::new(card).with_reset(VirtualCard::reset),
        ("127.0.0.1", port),
    )
    .with_context(|| format!("connecting to vpcd on 127.0.0.1:{port}"))?;
    println!(
        "serving the test card to vpcd on 127.0.0.1:{port}; CSCA and MRZ in {}",
        out.display()
    );
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// National-ID login on a kiosk: the OpenID Connect device authorization grant (RFC 8628). Shows the QR of
/// `verification_uri_complete` (in the terminal, and as a PNG when asked), polls with back-off, validates the ID
/// token (issuer, audience, JWKS signature, expiry) and prints the identity.
/// Exit 0 signed in, 1 denied, expired or an invalid token, 2 another error.
pub fn login(issuer: &str, client_id: &str, scope: &str, qr_png: Option<&Path>, json: bool) -> Result<u8> {
    use banso_identity::oidc::{AssuranceLevel, OidcClient, OidcConfig, OidcError, SystemClock};
    // The citizen's "no" (denied, expired, a token that does not validate) is a refusal; anything else is the
    // provider's or the network's failure, under the step's own code.
    let fail = |step: Code, e: &OidcError| -> u8 {
        let code = match e {
            OidcError::Denied | OidcError::Expired | OidcError::InvalidToken(_) => Code::Auth0103LoginRefused,
            _ => step,
        };
        crate::output::fail(json, &Error::new(code, e.to_string()))
    };
    let client = match OidcClient::discover(OidcConfig::new(issuer)) {
        Ok(c) => c,
        Err(e) => return Ok(fail(Code::Auth0101ProviderUnreachable, &e)),
    };
    // No nonce: the device code already binds the answer to this request, and providers differ on echoing a
    // nonce sent with a device authorization request (the test provider does not). The client checks one when
    // `start_with_nonce` is used.
    let auth = match client.start(client_id, scope) {
        Ok(a) => a,
        Err(e) => return Ok(fail(Code::Auth0102LoginNotStarted, &e)),
    };
    let code = qrcode::QrCode::new(auth.qr_uri().as_bytes()).map_err(|e| anyhow!("QR: {e}"))?;
    if let Some(path) = qr_png {
        // Written whole, then renamed: whoever waits for the file never reads half of it.
        let tmp = path.with_extension("part");
        crate::output::qr_image(&code, 8).save_with_format(&tmp, image::ImageFormat::Png)?;
        std::fs::rename(&tmp, path)?;
    }
    eprintln!(
        "Quét mã QR bằng ứng dụng định danh trên điện thoại / Scan the QR with the national ID app\n{}\n{}\nMã / code: {}",
        code.render::<qrcode::render::unicode::Dense1x2>().quiet_zone(true).build(),
        auth.qr_uri(),
        auth.user_code
    );
    let id = match client.poll(&auth, &SystemClock) {
        Ok(id) => id,
        Err(e) => return Ok(fail(Code::Auth0101ProviderUnreachable, &e)),
    };
    let level = id.assurance.as_ref().map(|a| match a.level {
        AssuranceLevel::Low => "low",
        AssuranceLevel::Substantial => "substantial",
        AssuranceLevel::High => "high",
        AssuranceLevel::Unrecognized => "unrecognized",
    });
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "subject": id.subject,
                "id_number": id.id_number,
                "name": id.name,
                "birthdate": id.birthdate,
                "assurance": level,
                "assurance_claim": id.assurance.as_ref().map(|a| a.raw.clone()),
            }))?
        );
    } else {
        println!(
            "signed in: {} {} (assurance {})",
            id.id_number,
            id.name.as_deref().unwrap_or(""),
            level.unwrap_or("not stated")
        );
    }
    Ok(0)
}
