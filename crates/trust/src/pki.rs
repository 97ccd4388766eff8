//! The trust services of one installation: its PKI on disk (root → issuing CA → seal, officers, TSA, OCSP
//! responder), the built-in RFC 3161 timestamp authority, CRLs and OCSP answers for its own certificates,
//! and timestamps from an external TSA over HTTP when one is configured.
//!
//! Layout of `DATA_DIR/pki/`: `root.pem`, `issuing.pem`, `seal.pem`, `tsa.pem`, `ocsp.pem`, their `.key`
//! files (PKCS#8 PEM, 0600; absent for keys that live in an HSM), `officers/<slug>.pem|.key`, `base_url`
//! (the URL the certificates' CRL and OCSP pointers use) and `root-status/` (the root's statements, signed ahead).
//! The certificates this CA revoked are kept in the registry (`Registry::ca_revocations`), so every server on it
//! answers alike; a `revoked.json` left by an earlier version is moved into the registry at start.

use crate::files::write_private;
use anyhow::{anyhow, bail, Context, Result};
use banso_core::ports::{CaRevocation, Registry};
use banso_signing::cert::CertView;
use banso_signing::crl::{build_crl, RevocationReason, RevokedEntry};
use banso_signing::ocsp::{self, CertStatus};
use banso_signing::pem;
use banso_signing::pki::{slug, Hierarchy, PkiNames};
use banso_signing::tsa::{TimestampAuthority, TimestampSource, DEV_POLICY};
use banso_signing::{Signer, SigningError, SoftwareSigner};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

/// What the PKI is named and where copies get their timestamps.
#[derive(Debug, Clone)]
pub struct TrustSettings {
    pub country: String,
    pub organization: String,
    pub root_cn: String,
    pub issuing_cn: String,
    pub seal_cn: String,
    /// External RFC 3161 TSAs, comma-separated, tried in order (`tsa_pool`); without them the built-in one
    /// (own PKI) or none (imported PKI).
    pub tsa_url: Option<String>,
    /// How long a TSA that keeps failing is skipped before it is tried again (then longer).
    pub tsa_cooldown: std::time::Duration,
}

/// The organisation seal's key inside a PKCS#11 token (`pki/seal.pkcs11.json`): where to find it. The PIN
/// stays in its own file; this records only the file's path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HsmSeal {
    pub module: std::path::PathBuf,
    pub token: String,
    pub pin_file: std::path::PathBuf,
    pub key_label: String,
}

/// Creates the seal key inside the token (it never leaves it), has the issuing CA certify it, and switches
/// the installation's seal to it: `seal.pem` is replaced and the software `seal.key` removed.
pub fn init_hsm_seal(dir: &Path, settings: &TrustSettings, hsm: &HsmSeal) -> Result<()> {
    let pin = banso_hsm::Pin::from_file(&hsm.pin_file).map_err(|e| anyhow!("{e}"))?;
    let token = banso_hsm::Token::open(&hsm.module, &hsm.token, &pin).map_err(|e| anyhow!("{e}"))?;
    let spki = token
        .generate_ec_p256(&hsm.key_label)
        .map_err(|e| anyhow!("{e}"))?;
    let root_der = cert_der(dir, "root.pem")?;
    let issuing_der = cert_der(dir, "issuing.pem")?;
    let issuing = software(dir, "issuing", vec![issuing_der, root_der])?;
    let base_url = read(dir, "base_url")?.trim().to_string();
    let p = settings;
    let cert = banso_signing::pki::issue_end_entity(
        issuing.as_ref(),
        &banso_signing::certgen::encode_name(&p.country, &p.organization, &p.seal_cn)?,
        &spki,
        banso_signing::certgen::CertProfile::Signing,
        OffsetDateTime::now_utc(),
        Hierarchy::pointers_for(&base_url, &p.issuing_cn),
    )
    .map_err(|e| anyhow!("certifying the token key: {e}"))?;
    std::fs::write(dir.join("seal.pem"), pem::encode("CERTIFICATE", &cert))?;
    std::fs::write(dir.join("seal.pkcs11.json"), serde_json::to_string_pretty(hsm)?)?;
    let _ = std::fs::remove_file(dir.join("seal.key"));
    Ok(())
}

/// Certifies a public key (e.g. a token key) as a seal with this installation's issuing CA (benchmarks).
pub fn certify_for_bench(settings: &TrustSettings, trust: &TrustServices, spki: &[u8]) -> Result<Vec<u8>> {
    let own = trust
        .own
        .as_ref()
        .ok_or_else(|| anyhow!("needs this installation's own PKI"))?;
    let p = settings;
    banso_signing::pki::issue_end_entity(
        own.issuing_signer.as_ref(),
        &banso_signing::certgen::encode_name(&p.country, &p.organization, &p.seal_cn)?,
        spki,
        banso_signing::certgen::CertProfile::Signing,
        OffsetDateTime::now_utc(),
        Hierarchy::pointers_for(&trust.base_url, &p.issuing_cn),
    )
    .map_err(|e| anyhow!("{e}"))
}

/// Imports an externally issued chain (production: a Vietnamese CA): the root to trust, the issuing CA and
/// the organisation seal's certificate with its key (a PEM file, or a key already in a PKCS#11 token). No CA
/// keys are held, so CRLs, OCSP and timestamps come from the real CA and TSA (`tsa_url`).
pub fn import(
    dir: &Path,
    root: &Path,
    issuing: &Path,
    seal_cert: &Path,
    seal_key: Option<&Path>,
    hsm: Option<&HsmSeal>,
) -> Result<()> {
    if dir.join("seal.pem").exists() {
        bail!("{} already holds a PKI", dir.display());
    }
    let certs = |p: &Path| -> Result<Vec<Vec<u8>>> {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let ders = pem::decode_certificates(&text).map_err(|e| anyhow!("{}: {e}", p.display()))?;
        if ders.is_empty() {
            bail!("{} holds no certificate", p.display());
        }
        Ok(ders)
    };
    let (root, issuing, seal) = (certs(root)?, certs(issuing)?, certs(seal_cert)?);
    let seal_view =
        CertView::parse(&seal[0]).ok_or_else(|| anyhow!("the seal certificate does not parse"))?;
    let issuing_view =
        CertView::parse(&issuing[0]).ok_or_else(|| anyhow!("the issuing certificate does not parse"))?;
    let root_view =
        CertView::parse(&root[0]).ok_or_else(|| anyhow!("the root certificate does not parse"))?;
    let issuing_key = issuing_view
        .public_key()
        .ok_or_else(|| anyhow!("the issuing CA's key is not supported"))?;
    let root_key = root_view
        .public_key()
        .ok_or_else(|| anyhow!("the root's key is not supported"))?;
    if !seal_view.signed_by(&issuing_key) || !issuing_view.signed_by(&root_key) {
        bail!("the chain does not link: the seal must be issued by the issuing CA, and that by the root");
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("root.pem"), pem::encode("CERTIFICATE", &root[0]))?;
    std::fs::write(dir.join("issuing.pem"), pem::encode("CERTIFICATE", &issuing[0]))?;
    std::fs::write(dir.join("seal.pem"), pem::encode("CERTIFICATE", &seal[0]))?;
    match (seal_key, hsm) {
        (Some(key), None) => {
            let pem_text =
                std::fs::read_to_string(key).with_context(|| format!("reading {}", key.display()))?;
            let chain = pem::encode("CERTIFICATE", &seal[0]) + &pem::encode("CERTIFICATE", &issuing[0]);
            SoftwareSigner::from_pem(&pem_text, &chain).map_err(|e| anyhow!("the seal key: {e}"))?;
            write_private(&dir.join("seal.key"), pem_text.as_bytes())?;
        }
        (None, Some(h)) => std::fs::write(dir.join("seal.pkcs11.json"), serde_json::to_string_pretty(h)?)?,
        _ => bail!("give the seal key either as --seal-key or in a PKCS#11 token"),
    }
    Ok(())
}

/// A revocation as an earlier version kept it in `revoked.json` (read once, into the registry).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokedCert {
    /// Hex serial.
    pub serial: String,
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
    pub reason: u8,
}

/// The services of a CA this installation operates itself (its own PKI). An imported, externally issued
/// chain comes without them: the real CA publishes CRLs and OCSP, and an external TSA stamps.
pub struct OwnCa {
    /// The PKI folder, whose `root-status/` holds what the root vouches for, signed ahead by the offline
    /// ceremony (read on use, so a renewal is served without a restart): the web never holds the root key.
    dir: std::path::PathBuf,
    issuing_signer: Arc<SoftwareSigner>,
    ocsp_signer: Arc<SoftwareSigner>,
    pub tsa: Arc<TimestampAuthority>,
}

/// The CRLs as last gathered: the revocations the issuing CA's lists, when it was signed, and the DER of it and of
/// the root's.
type BuiltCrl = (Vec<CaRevocation>, OffsetDateTime, Vec<Vec<u8>>);

/// Everything the installation signs with and vouches for.
pub struct TrustServices {
    pub root_der: Vec<u8>,
    pub issuing_der: Vec<u8>,
    /// `None` for an imported chain.
    pub own: Option<OwnCa>,
    /// The organisation seal (a software key, or a key in an HSM).
    pub seal: Arc<dyn Signer>,
    pub officers: BTreeMap<String, Arc<dyn Signer>>,
    /// Where copies get their timestamps: the built-in TSA or an external one.
    pub timestamps: Arc<dyn TimestampSource>,
    /// The registry's revocations as last read ([`TrustServices::set_revocations`] before each use).
    revoked: std::sync::RwLock<Vec<CaRevocation>>,
    /// The CAs' CRLs last gathered for judging copies (the issuing CA's signed here, the root's read from its
    /// file): gathered again when the revocations change or they are an hour old, not on every file.
    crl_for_verification: std::sync::Mutex<Option<BuiltCrl>>,
    /// The URL the certificates' CRL and OCSP pointers use.
    pub base_url: String,
}

/// The root's statements, signed ahead of time by whoever holds the root key (`pki init`, then the offline
/// ceremony `banso pki root-status`): the root's CRL and the OCSP answer on the issuing CA. `serve` only reads
/// them, so the root key can live off the server.
pub struct RootStatus {
    pub crl: Vec<u8>,
    pub issuing_ocsp: Vec<u8>,
}

/// Where the signed root statements live, beside the certificates.
const ROOT_STATUS: &str = "root-status";

/// How long the root's statements stay valid when signed (the ceremony renews them before then).
pub const ROOT_STATUS_DAYS: i64 = 365;

impl RootStatus {
    /// The root's CRL, in `root-status/`.
    const CRL: &'static str = "root.crl";
    /// The root's OCSP answer on the issuing CA, in `root-status/`.
    const ISSUING_OCSP: &'static str = "issuing.ocsp";

    /// One of the statements, read as it is needed (so a renewal is served without a restart).
    fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
        let path = dir.join(ROOT_STATUS).join(name);
        std::fs::read(&path).with_context(|| {
            format!(
                "reading {}: sign the root's statements with `banso pki root-status --root-key FILE`",
                path.display()
            )
        })
    }

    /// Both statements (at start, so that a PKI without them fails there).
    fn load(dir: &Path) -> Result<Self> {
        Ok(Self {
            crl: Self::read(dir, Self::CRL)?,
            issuing_ocsp: Self::read(dir, Self::ISSUING_OCSP)?,
        })
    }

    /// Signs the root's CRL and its OCSP answer on the issuing CA with the root key in `root_key` (PEM), valid
    /// `days` from `now`, and writes them into `dir` (each file replaced whole). The issuing CA is listed as
    /// revoked when `revoked` (the registry's list) names it.
    pub fn sign(
        dir: &Path,
        root_key: &Path,
        now: OffsetDateTime,
        days: i64,
        revoked: &[CaRevocation],
    ) -> Result<()> {
        let root_der = cert_der(dir, "root.pem")?;
        let issuing_der = cert_der(dir, "issuing.pem")?;
        let key =
            std::fs::read_to_string(root_key).with_context(|| format!("reading {}", root_key.display()))?;
        let root = SoftwareSigner::from_pem(&key, &pem::encode("CERTIFICATE", &root_der))
            .map_err(|e| anyhow!("the root key: {e}"))?;
        if root.chain().first() != Some(&root_der) {
            bail!(
                "{} is not the key of this installation's root",
                root_key.display()
            );
        }
        let issuing_serial = CertView::parse(&issuing_der)
            .map(|c| c.serial().to_vec())
            .ok_or_else(|| anyhow!("issuing.pem is not a certificate"))?;
        let issuing_revoked = revoked
            .iter()
            .find(|r| same_serial(&r.serial, &issuing_serial))
            .cloned();
        let status = match &issuing_revoked {
            Some(r) => CertStatus::Revoked {
                at: r.revoked_at,
                reason: RevocationReason::from_code(r.reason),
            },
            None => CertStatus::Good,
        };
        let validity = time::Duration::days(days);
        let issuing_ocsp = ocsp::response_for(&root, &issuing_der, &root_der, status, now, validity)
            .map_err(|e| anyhow!("the root's OCSP answer: {e}"))?;
        let entries: Vec<RevokedEntry> = issuing_revoked
            .iter()
            .map(|r| RevokedEntry {
                serial: issuing_serial.clone(),
                revoked_at: r.revoked_at,
                reason: RevocationReason::from_code(r.reason),
            })
            .collect();
        let number = now.unix_timestamp().max(1) as u64;
        let crl = build_crl(
            &root,
            now - time::Duration::minutes(5),
            now + validity,
            number,
            &entries,
        )
        .map_err(|e| anyhow!("the root's CRL: {e}"))?;
        let out = dir.join(ROOT_STATUS);
        std::fs::create_dir_all(&out)?;
        for (name, bytes) in [(Self::CRL, &crl), (Self::ISSUING_OCSP, &issuing_ocsp)] {
            let staging = out.join(format!(".{name}.{}", std::process::id()));
            std::fs::write(&staging, bytes)?;
            std::fs::rename(&staging, out.join(name))?;
        }
        Ok(())
    }
}

/// A stored serial (hex, leading zeros trimmed) as bytes.
fn serial_bytes(hex_serial: &str) -> Option<Vec<u8>> {
    if hex_serial.len() % 2 == 1 {
        hex::decode(format!("0{hex_serial}")).ok()
    } else {
        hex::decode(hex_serial).ok()
    }
}

fn same_serial(hex_serial: &str, serial: &[u8]) -> bool {
    hex_serial.trim_start_matches('0') == hex::encode(serial).trim_start_matches('0')
}

/// The revocations an earlier version kept in `revoked.json` (none when the file is absent).
pub fn legacy_revocations(dir: &Path) -> Result<Vec<CaRevocation>> {
    let list: Vec<RevokedCert> = match std::fs::read_to_string(dir.join("revoked.json")) {
        Ok(text) => serde_json::from_str(&text).context("revoked.json")?,
        Err(_) => Vec::new(),
    };
    list.into_iter()
        .map(|r| {
            Ok(CaRevocation {
                serial: CaRevocation::normalise_serial(&r.serial)
                    .ok_or_else(|| anyhow!("revoked.json: {:?} is not a serial number", r.serial))?,
                revoked_at: r.revoked_at,
                reason: r.reason,
            })
        })
        .collect()
}

fn names(settings: &TrustSettings) -> PkiNames {
    let p = settings;
    PkiNames {
        country: p.country.clone(),
        organization: p.organization.clone(),
        root_cn: p.root_cn.clone(),
        issuing_cn: p.issuing_cn.clone(),
        seal_cn: p.seal_cn.clone(),
    }
}

fn write_pair(dir: &Path, name: &str, issued: &banso_signing::pki::Issued) -> Result<()> {
    std::fs::write(dir.join(format!("{name}.pem")), issued.cert_pem())?;
    write_private(&dir.join(format!("{name}.key")), issued.key_pem().as_bytes())
}

/// Generates a new hierarchy into `dir` (which must not hold one yet). Generation happens in a fresh folder
/// renamed into place, so two processes starting together end with one consistent PKI.
pub fn init(dir: &Path, settings: &TrustSettings, officers: &[String], base_url: &str) -> Result<()> {
    if dir.join("seal.pem").exists() {
        bail!("{} already holds a PKI", dir.display());
    }
    let parent = dir
        .parent()
        .ok_or_else(|| anyhow!("the PKI folder has no parent"))?;
    std::fs::create_dir_all(parent)?;
    let staging = parent.join(format!(".pki-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(staging.join("officers"))?;
    let officer_names: Vec<&str> = officers.iter().map(String::as_str).collect();
    let h = Hierarchy::generate(
        &names(settings),
        &officer_names,
        base_url,
        OffsetDateTime::now_utc(),
    )
    .map_err(|e| anyhow!("generating the PKI: {e}"))?;
    for (name, issued) in [
        ("root", &h.root),
        ("issuing", &h.issuing),
        ("seal", &h.seal),
        ("tsa", &h.tsa),
        ("ocsp", &h.ocsp),
    ] {
        write_pair(&staging, name, issued)?;
    }
    for (name, issued) in &h.officers {
        write_pair(&staging.join("officers"), &slug(name), issued)?;
        std::fs::write(
            staging.join("officers").join(format!("{}.name", slug(name))),
            name,
        )?;
    }
    std::fs::write(staging.join("base_url"), &h.base_url)?;
    RootStatus::sign(
        &staging,
        &staging.join("root.key"),
        OffsetDateTime::now_utc(),
        ROOT_STATUS_DAYS,
        &[],
    )?;
    if std::fs::rename(&staging, dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.join("seal.pem").exists() {
            bail!("{} exists but holds no PKI", dir.display());
        }
    }
    Ok(())
}

fn read(dir: &Path, name: &str) -> Result<String> {
    std::fs::read_to_string(dir.join(name)).with_context(|| format!("reading {}", dir.join(name).display()))
}

fn cert_der(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let text = read(dir, name)?;
    pem::decode_all(&text)
        .map_err(|e| anyhow!("{name}: {e}"))?
        .into_iter()
        .next()
        .map(|b| b.der)
        .ok_or_else(|| anyhow!("{name} holds no certificate"))
}

fn software(dir: &Path, name: &str, chain: Vec<Vec<u8>>) -> Result<Arc<SoftwareSigner>> {
    let key = read(dir, &format!("{name}.key"))?;
    let mut chain_pem = String::new();
    for der in &chain {
        chain_pem.push_str(&pem::encode("CERTIFICATE", der));
    }
    Ok(Arc::new(
        SoftwareSigner::from_pem(&key, &chain_pem).map_err(|e| anyhow!("{name}: {e}"))?,
    ))
}

/// An external RFC 3161 TSA reached over HTTP (`application/timestamp-query`).
pub struct RemoteTsa {
    pub url: String,
    /// Made on first use, on a blocking thread (a blocking client must not be built inside the runtime).
    client: std::sync::OnceLock<reqwest::blocking::Client>,
}

impl RemoteTsa {
    pub fn new(url: &str) -> Result<Self> {
        Ok(Self {
            url: url.to_string(),
            client: std::sync::OnceLock::new(),
        })
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, SigningError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            // An authority cut off without a refusal (a dropped route) is given up on quickly.
            .connect_timeout(std::time::Duration::from_secs(3))
            .build()
            .map_err(|e| SigningError::Encoding(format!("TSA client: {e}")))?;
        Ok(self.client.get_or_init(|| c))
    }
}

impl TimestampSource for RemoteTsa {
    fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, SigningError> {
        let nonce = banso_signing::tsa::random_nonce();
        let request = banso_signing::tsa::build_request(digest, Some(nonce));
        let response = self
            .client()?
            .post(&self.url)
            .header("content-type", "application/timestamp-query")
            .body(request)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.bytes())
            .map_err(|e| SigningError::Encoding(format!("TSA {}: {e}", self.url)))?;
        banso_signing::tsa::parse_response(&response, digest, Some(nonce))
    }
}

/// An imported chain without a configured TSA: B-T and above cannot be made.
struct NoTsa;

impl TimestampSource for NoTsa {
    fn timestamp(&self, _digest: &[u8; 32]) -> Result<Vec<u8>, SigningError> {
        Err(SigningError::Encoding(
            "no timestamp authority: an imported PKI needs tsa_url (or signature_level = \"B-B\")".into(),
        ))
    }
}

/// The in-process TSA as a [`TimestampSource`] using the system clock.
struct LocalTsa(Arc<TimestampAuthority>);

impl TimestampSource for LocalTsa {
    fn timestamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, SigningError> {
        self.0.stamp(
            banso_signing::cert::HashAlg::Sha256,
            digest,
            None,
            true,
            OffsetDateTime::now_utc(),
        )
    }
}

impl TrustServices {
    /// Loads the PKI from `dir`, generating it first (with `base_url` in its pointers) when absent.
    pub fn open(dir: &Path, settings: &TrustSettings, base_url: &str) -> Result<Self> {
        if !dir.join("seal.pem").exists() {
            init(dir, settings, &[], base_url)?;
        }
        let root_der = cert_der(dir, "root.pem")?;
        let issuing_der = cert_der(dir, "issuing.pem")?;
        let chain =
            |name: &str| -> Result<Vec<Vec<u8>>> { Ok(vec![cert_der(dir, name)?, issuing_der.clone()]) };
        let own = if dir.join("issuing.key").exists() {
            let tsa_signer: Arc<dyn Signer> = software(dir, "tsa", chain("tsa.pem")?)?;
            // A PKI made before the root's statements were signed ahead, whose root key still sits here: sign
            // them once. Then fail at start, not at the first request, when they are missing.
            if !dir.join(ROOT_STATUS).exists() && dir.join("root.key").exists() {
                tracing::warn!(
                    "signing the root's statements with {} once; move it to offline storage",
                    dir.join("root.key").display()
                );
                RootStatus::sign(
                    dir,
                    &dir.join("root.key"),
                    OffsetDateTime::now_utc(),
                    ROOT_STATUS_DAYS,
                    &legacy_revocations(dir)?,
                )?;
            }
            RootStatus::load(dir)?;
            Some(OwnCa {
                dir: dir.to_path_buf(),
                issuing_signer: software(dir, "issuing", vec![issuing_der.clone(), root_der.clone()])?,
                ocsp_signer: software(dir, "ocsp", chain("ocsp.pem")?)?,
                tsa: Arc::new(
                    TimestampAuthority::new(tsa_signer, DEV_POLICY).map_err(|e| anyhow!("TSA: {e}"))?,
                ),
            })
        } else {
            None
        };
        let seal: Arc<dyn Signer> = match std::fs::read_to_string(dir.join("seal.pkcs11.json")) {
            Ok(text) => {
                let hsm: HsmSeal = serde_json::from_str(&text).context("seal.pkcs11.json")?;
                let pin = banso_hsm::Pin::from_file(&hsm.pin_file).map_err(|e| anyhow!("{e}"))?;
                Arc::new(
                    banso_hsm::Pkcs11Signer::new(
                        &hsm.module,
                        &hsm.token,
                        pin,
                        &hsm.key_label,
                        chain("seal.pem")?,
                    )
                    .map_err(|e| anyhow!("the seal key in the HSM: {e}"))?,
                )
            }
            Err(_) => software(dir, "seal", chain("seal.pem")?)?,
        };
        let timestamps: Arc<dyn TimestampSource> = match (&settings.tsa_url, &own) {
            (Some(urls), _) => {
                let urls: Vec<&str> = urls.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
                Arc::new(crate::tsa_pool::TsaPool::new(&urls, settings.tsa_cooldown)?)
            }
            (None, Some(own)) => Arc::new(LocalTsa(own.tsa.clone())),
            (None, None) => Arc::new(NoTsa),
        };
        let mut officers: BTreeMap<String, Arc<dyn Signer>> = BTreeMap::new();
        let officer_dir = dir.join("officers");
        if let Ok(entries) = std::fs::read_dir(&officer_dir) {
            for e in entries.flatten() {
                let path = e.path();
                if path.extension().is_some_and(|x| x == "name") {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let name = std::fs::read_to_string(&path)?.trim().to_string();
                    let signer = software(
                        &officer_dir,
                        &stem,
                        vec![
                            cert_der(&officer_dir, &format!("{stem}.pem"))?,
                            issuing_der.clone(),
                        ],
                    )?;
                    officers.insert(name, signer);
                }
            }
        }
        // Filled from the registry before every use (`set_revocations`): the registry is the one list.
        let revoked = std::sync::RwLock::new(Vec::new());
        let base_url = read(dir, "base_url")
            .unwrap_or_else(|_| base_url.to_string())
            .trim()
            .to_string();
        Ok(Self {
            root_der,
            issuing_der,
            own,
            seal,
            officers,
            timestamps,
            revoked,
            crl_for_verification: std::sync::Mutex::new(None),
            base_url,
        })
    }

    pub fn root_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.root_der)
    }

    fn slug_of(der: &[u8]) -> String {
        CertView::parse(der)
            .and_then(|c| c.subject_common_name())
            .map(|cn| slug(&cn))
            .unwrap_or_default()
    }

    /// The CA certificate named by a slug (`/pki/ca/{slug}.cer`).
    pub fn ca_cert(&self, name: &str) -> Option<Vec<u8>> {
        [&self.root_der, &self.issuing_der]
            .into_iter()
            .find(|d| Self::slug_of(d) == name)
            .cloned()
    }

    fn status_of(&self, serial: &[u8]) -> CertStatus {
        let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner());
        match revoked.iter().find(|r| same_serial(&r.serial, serial)) {
            Some(r) => CertStatus::Revoked {
                at: r.revoked_at,
                reason: RevocationReason::from_code(r.reason),
            },
            None => CertStatus::Good,
        }
    }

    /// The current CRL of one of the CAs (`/pki/crl/{slug}.crl`): the issuing CA's signed now and valid for a
    /// day; the root's as the offline ceremony signed it.
    pub fn crl(&self, name: &str, now: OffsetDateTime) -> Option<Result<Vec<u8>, SigningError>> {
        let own = self.own.as_ref()?;
        if Self::slug_of(&self.root_der) == name {
            return Some(
                RootStatus::read(&own.dir, RootStatus::CRL)
                    .map_err(|e| SigningError::Certificate(format!("{e:#}"))),
            );
        }
        if Self::slug_of(&self.issuing_der) != name {
            return None;
        }
        let entries: Vec<RevokedEntry> = self
            .revoked
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(|r| {
                Some(RevokedEntry {
                    serial: serial_bytes(&r.serial)?,
                    revoked_at: r.revoked_at,
                    reason: RevocationReason::from_code(r.reason),
                })
            })
            .collect();
        let number = now.unix_timestamp().max(1) as u64;
        Some(build_crl(
            own.issuing_signer.as_ref(),
            now - time::Duration::minutes(5),
            now + time::Duration::days(1),
            number,
            &entries,
        ))
    }

    /// Answers an OCSP request: the delegated responder answers for the issuing CA's certificates; for the
    /// issuing CA itself the answer the root signed ahead is given (it carries no nonce, as RFC 5019 allows).
    pub fn ocsp(&self, request: &[u8], now: OffsetDateTime) -> Vec<u8> {
        let Some(own) = &self.own else {
            return ocsp::error_response(ocsp::ResponseStatus::Unauthorized);
        };
        let parsed = ocsp::parse_request(request).ok();
        let asks = |about: &dyn Fn(&ocsp::CertId) -> bool| {
            parsed.as_ref().is_some_and(|r| r.cert_ids.iter().all(about))
        };
        if asks(&|id| id.has_issuer(&self.root_der)) {
            let issuing_serial = CertView::parse(&self.issuing_der)
                .map(|c| c.serial().to_vec())
                .unwrap_or_default();
            if !asks(&|id| id.serial == issuing_serial) {
                return ocsp::error_response(ocsp::ResponseStatus::Unauthorized);
            }
            return match RootStatus::read(&own.dir, RootStatus::ISSUING_OCSP) {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "the root's OCSP answer cannot be read");
                    ocsp::error_response(ocsp::ResponseStatus::TryLater)
                }
            };
        }
        let issuing = self.issuing_der.clone();
        ocsp::respond(
            own.ocsp_signer.as_ref(),
            request,
            now,
            time::Duration::days(1),
            &|id| {
                if id.has_issuer(&issuing) {
                    self.status_of(&id.serial)
                } else {
                    CertStatus::Unknown
                }
            },
        )
    }

    /// Revocation data for a certificate chain (leaf first, root last or absent): an OCSP response for each
    /// certificate below the root, from the responder that answers for it — what a DSS embeds.
    pub fn revocation_material(
        &self,
        chain: &[Vec<u8>],
        now: OffsetDateTime,
    ) -> Result<Vec<Vec<u8>>, SigningError> {
        let own = self.own.as_ref().ok_or_else(|| {
            SigningError::Certificate(
                "validation data for an imported PKI comes from its own CA; B-LT needs this installation's PKI".into(),
            )
        })?;
        let mut out = Vec::new();
        for cert in chain {
            if cert == &self.root_der {
                continue;
            }
            let serial = CertView::parse(cert)
                .map(|c| c.serial().to_vec())
                .unwrap_or_default();
            if cert == &self.issuing_der {
                out.push(
                    RootStatus::read(&own.dir, RootStatus::ISSUING_OCSP)
                        .map_err(|e| SigningError::Certificate(format!("{e:#}")))?,
                );
                continue;
            }
            out.push(ocsp::response_for(
                own.ocsp_signer.as_ref(),
                cert,
                &self.issuing_der,
                self.status_of(&serial),
                now,
                time::Duration::days(7),
            )?);
        }
        Ok(out)
    }

    /// The OCSP responder's chain (its own certificate needs no revocation check: ocsp-nocheck).
    pub fn ocsp_chain(&self) -> &[Vec<u8>] {
        self.own.as_ref().map_or(&[], |o| o.ocsp_signer.chain())
    }

    /// The built-in TSA's chain, when this installation runs one.
    pub fn tsa_chain(&self) -> Vec<Vec<u8>> {
        self.own
            .as_ref()
            .map(|o| o.tsa.chain().to_vec())
            .unwrap_or_default()
    }

    /// Takes the registry's revocations (read just before answering, so every server on the registry says the
    /// same).
    pub fn set_revocations(&self, list: Vec<CaRevocation>) {
        *self.revoked.write().unwrap_or_else(|p| p.into_inner()) = list;
    }

    /// The CRLs this installation's CAs publish now, for judging copies (the [`RevocationSource`] of file
    /// verification): the issuing CA's, listing the registry's revocations as last read, and the root's as the
    /// ceremony signed it. Empty for an imported chain, whose CAs are someone else's. An error when either
    /// cannot be had.
    ///
    /// [`RevocationSource`]: banso_signing::verify::RevocationSource
    pub fn current_crls(&self, now: OffsetDateTime) -> Result<Vec<Vec<u8>>, SigningError> {
        let Some(own) = &self.own else {
            return Ok(Vec::new());
        };
        let revoked = self.revoked.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut cache = self
            .crl_for_verification
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let fresh = cache
            .as_ref()
            .is_some_and(|(list, built, _)| *list == revoked && now - *built < time::Duration::hours(1));
        if !fresh {
            // A CRL that cannot be built (or read) is an error, never a stale one: it might miss a revocation.
            *cache = None;
            let issuing = self
                .crl(&Self::slug_of(&self.issuing_der), now)
                .ok_or_else(|| SigningError::Certificate("no issuing CA to publish a CRL".into()))??;
            let root = RootStatus::read(&own.dir, RootStatus::CRL)
                .map_err(|e| SigningError::Certificate(format!("{e:#}")))?;
            *cache = Some((revoked, now, vec![issuing, root]));
        }
        Ok(cache
            .as_ref()
            .map(|(_, _, crls)| crls.clone())
            .unwrap_or_default())
    }

    /// Reads the registry's revocations into these services.
    pub async fn refresh_revocations(&self, registry: &dyn Registry) -> Result<(), banso_core::Error> {
        self.set_revocations(registry.ca_revocations().await?);
        Ok(())
    }
}
