//! Wiring: builds banso-core's [`Service`] from the configuration with the real adapters.

use crate::config::{write_private, Config};
use anyhow::{anyhow, Context, Result};
use banso_core::service::{Service, Settings};
pub use banso_core::system::{OsEntropy, SystemClock};
pub use banso_identity::holder::IdentityRules;
use banso_signing::verify::TrustStore;
pub use banso_trust::composer::{render_copy, sign_prepared, PdfComposer};
pub use banso_trust::verifier::{pem_certificates, Verifier};
use rand::RngCore;
use std::path::Path;
use std::sync::Arc;

/// The payment gateway of the configuration, when one is named (its URL, terminal code and secret file all
/// given, or none of them).
fn payment_settings(config: &Config) -> Result<Option<banso_core::service::PaymentSettings>> {
    let p = &config.payment;
    match (&p.vnpay_url, &p.vnpay_tmn_code, &p.vnpay_secret_file) {
        (None, None, None) => Ok(None),
        (Some(url), Some(tmn), Some(file)) => {
            let secret = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?
                .trim()
                .as_bytes()
                .to_vec();
            if secret.len() < 16 {
                return Err(anyhow!("the VNPAY hash secret must be at least 16 characters"));
            }
            Ok(Some(banso_core::service::PaymentSettings {
                tmn_code: tmn.clone(),
                secret,
                gateway_url: url.clone(),
                return_url: p
                    .return_url
                    .clone()
                    .unwrap_or_else(|| format!("{}/", config.public_base_url())),
            }))
        }
        _ => Err(anyhow!(
            "payment: vnpay_url, vnpay_tmn_code and vnpay_secret_file go together"
        )),
    }
}

/// The ways of identifying a citizen this service offers kiosks, from its configuration: the chip and face
/// when CSCA certificates are given and the face models load; the app login when a provider is named and
/// answers its discovery. A way that cannot be set up is logged and left out; the others still run.
fn identity_ports(config: &crate::config::IdentityConfig) -> Result<banso_core::identity::IdentityPorts> {
    let mut ports = banso_core::identity::IdentityPorts::default();
    if !config.csca.is_empty() {
        let roots = crate::idcmd::csca_roots(&config.csca)?;
        let dir = config
            .face_models
            .clone()
            .unwrap_or_else(banso_face::default_models_dir);
        match banso_face::FaceModels::load(&dir) {
            Ok(models) => {
                ports.chip = Some(Arc::new(banso_identity::proof::ChipProofs { csca_roots: roots }));
                ports.face = Some(Arc::new(banso_face::proof::FaceProofs::new(Arc::new(models))));
            }
            Err(e) => tracing::error!(
                error = %e,
                "the face models did not load: kiosks cannot identify citizens by chip and face"
            ),
        }
    }
    if let Some(issuer) = &config.oidc_issuer {
        match banso_identity::oidc::OidcClient::discover(banso_identity::oidc::OidcConfig::new(
            issuer.as_str(),
        )) {
            Ok(client) => {
                ports.app = Some(Arc::new(banso_identity::proof::OidcAppLogin::new(
                    client,
                    config
                        .oidc_client_id
                        .clone()
                        .unwrap_or_else(|| "banso-kiosk".into()),
                    config
                        .oidc_scope
                        .clone()
                        .unwrap_or_else(|| "openid profile".into()),
                )))
            }
            Err(e) => tracing::error!(
                error = %e,
                issuer = issuer.as_str(),
                "the national-ID provider did not answer its discovery: the app login is not offered"
            ),
        }
    }
    Ok(ports)
}

/// The secret capability keys are derived from, created on first use (0600).
pub fn capability_secret(data_dir: &Path) -> Result<Vec<u8>> {
    let dir = data_dir.join("secrets");
    let path = dir.join("capability.key");
    if !path.exists() {
        std::fs::create_dir_all(&dir)?;
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let tmp = dir.join(format!(".capability-{}", std::process::id()));
        write_private(&tmp, hex::encode(secret).as_bytes())?;
        // Atomic, and never replaces an existing secret (that would orphan every QR already printed).
        if std::fs::hard_link(&tmp, &path).is_err() && !path.exists() {
            return Err(anyhow!("could not create {}", path.display()));
        }
        let _ = std::fs::remove_file(&tmp);
    }
    let text = std::fs::read_to_string(&path)?;
    hex::decode(text.trim()).context("the capability secret is not hex")
}

/// The object store the configuration names: a local folder or an S3-compatible bucket.
pub fn open_blobs(config: &Config) -> Result<Arc<dyn banso_core::ports::Blobs>> {
    Ok(match config.storage.kind.as_deref().unwrap_or("local") {
        "local" => Arc::new(banso_store::local_blobs(&config.objects_dir()).map_err(|e| anyhow!("{e}"))?),
        "s3" => {
            let s = &config.storage;
            Arc::new(
                banso_store::s3_blobs(&banso_store::S3Settings {
                    endpoint: s
                        .endpoint
                        .clone()
                        .ok_or_else(|| anyhow!("storage.endpoint is required for s3"))?,
                    bucket: s.bucket.clone().unwrap_or_else(|| "banso".into()),
                    region: s.region.clone().unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: s.access_key_id.clone().unwrap_or_default(),
                    secret_access_key: s.secret_access_key.clone().unwrap_or_default(),
                    allow_http: s.endpoint.as_deref().is_some_and(|e| e.starts_with("http://")),
                })
                .map_err(|e| anyhow!("{e}"))?,
            )
        }
        other => return Err(anyhow!("storage.kind must be local or s3, not {other}")),
    })
}

/// Everything a command or the server needs.
pub struct App {
    pub config: Config,
    pub service: Service,
    pub log_key: Arc<crate::translog::LogKey>,
    pub trust: Arc<crate::trust::TrustServices>,
    /// Webhook subscribers' URLs and their secrets' key bytes.
    pub webhooks: std::collections::BTreeMap<String, Vec<u8>>,
    /// Where the nodes share what they let through their rate limits (none: one node, on SQLite).
    pub admits: Option<Arc<dyn banso_core::ports::AdmitLog>>,
}

/// Reads every webhook subscriber's secret (`whsec_…` in its file) at start: a missing or short one stops the
/// service rather than leaving deliveries unsigned.
fn webhook_keys(c: &crate::config::DossiersConfig) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
    let mut keys = std::collections::BTreeMap::new();
    for w in &c.webhooks {
        if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
            return Err(anyhow!("a webhook's URL is http(s)://…, not {}", w.url));
        }
        let text = std::fs::read_to_string(&w.secret_file)
            .with_context(|| format!("reading the webhook secret {}", w.secret_file.display()))?;
        let key = banso_core::dossier::webhook::secret_bytes(&text)
            .map_err(|e| anyhow!("{}: {}", w.secret_file.display(), e.message))?;
        keys.insert(w.url.clone(), key);
    }
    Ok(keys)
}

/// `HH:MM` (local time in Việt Nam).
fn parse_cutoff(text: &str) -> Result<time::Time> {
    let (h, m) = text
        .trim()
        .split_once(':')
        .ok_or_else(|| anyhow!("the dossier cut-off is HH:MM, not {text:?}"))?;
    let (h, m): (u8, u8) = (h.parse()?, m.parse()?);
    time::Time::from_hms(h, m, 0).map_err(|e| anyhow!("the dossier cut-off {text:?}: {e}"))
}

/// Makes the data folder private to the service user: created 0700, and tightened to 0700 (with a warning on
/// standard error) when it is open to the group or others. Everything in it holds personal data (scans of
/// originals, copies, the registry) or secrets; the process umask (0077, set at start) keeps what is written
/// inside it 0600/0700.
pub fn secure_data_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the data folder {}", dir.display()))?;
    }
    let meta = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(|| {
            format!(
                "the data folder {} is open to other users ({mode:03o}) and could not be made private",
                dir.display()
            )
        })?;
        eprintln!(
            "warning: the data folder {} was open to other users ({mode:03o}); it is now 700",
            dir.display()
        );
    }
    Ok(())
}

/// Moves the revocations an earlier version kept beside the keys (`pki/revoked.json`) into the registry, once:
/// the file is renamed `revoked.json.imported` when every entry is in.
async fn import_legacy_revocations(pki_dir: &Path, registry: &dyn banso_core::ports::Registry) -> Result<()> {
    let file = pki_dir.join("revoked.json");
    if !file.exists() {
        return Ok(());
    }
    for r in crate::trust::legacy_revocations(pki_dir)? {
        registry
            .add_ca_revocation(&r)
            .await
            .map_err(|e| anyhow!("moving {} into the registry: {e}", file.display()))?;
    }
    std::fs::rename(&file, pki_dir.join("revoked.json.imported"))
        .with_context(|| format!("renaming {}", file.display()))?;
    Ok(())
}

/// How many of the most recently certified pages the duplicate check compares with.
const DUPLICATE_WINDOW: u32 = 10_000;

impl App {
    pub async fn open(mut config: Config) -> Result<Self> {
        secure_data_dir(&config.data_dir)?;
        let trust = Arc::new(crate::trust::TrustServices::open(
            &config.pki_dir(),
            &config.trust_settings(),
            &config.public_base_url(),
        )?);
        let mut roots = vec![trust.root_der.clone()];
        for extra in &config.pki.extra_trust_anchors {
            let text =
                std::fs::read_to_string(extra).with_context(|| format!("reading {}", extra.display()))?;
            roots.extend(pem_certificates(&text));
        }
        let stores =
            banso_store::open_stores_with(&config.database_url(), config.database_ca_file.as_deref())
                .await
                .map_err(|e| {
                    anyhow!(
                        "opening the registry {}: {e}",
                        crate::config::redact_url(&config.database_url())
                    )
                })?;
        let registry = stores.registry.clone();
        import_legacy_revocations(&config.pki_dir(), registry.as_ref()).await?;
        trust
            .refresh_revocations(registry.as_ref())
            .await
            .map_err(|e| anyhow!("reading the CA's revocations: {e}"))?;
        let blobs = open_blobs(&config)?;
        let capability_secret = match &config.capability_secret_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let secret = hex::decode(text.trim()).context("the capability secret file must hold hex")?;
                if secret.len() < 16 {
                    return Err(anyhow!("the capability secret must be at least 16 bytes"));
                }
                secret
            }
            None => capability_secret(&config.data_dir)?,
        };
        // The log's origin is the public address without its scheme; named once the address is settled.
        let mut log_key = crate::translog::LogKey::open(&config.data_dir, String::new())?;
        if banso_store::is_shared(&config.database_url()) {
            let mine =
                installation_fingerprint(&trust.root_der, &log_key.public_key_der()?, &capability_secret);
            let theirs = registry
                .claim_installation(&mine)
                .await
                .map_err(|e| anyhow!("recording this installation in the registry: {e}"))?;
            if theirs != mine {
                return Err(anyhow!(
                    "this node's keys are not those of the installation already using this database: every node \
                     must hold the same root certificate, log key and capability secret (the data folder's pki/ \
                     and secrets/). Copy them from a node of this installation, or restore a backup; nothing was \
                     written"
                ));
            }
            settle_public_address(&mut config, registry.as_ref()).await?;
        }
        log_key.origin = format!(
            "{}/log",
            config
                .public_base_url()
                .trim_start_matches("http://")
                .trim_start_matches("https://")
        );
        let log_key = Arc::new(log_key);
        let signer_name = config.pki.seal_cn.clone();
        let settings = Settings {
            issuing_body: config.issuer.body.clone(),
            place: config.issuer.place.clone(),
            signer_name: config.issuer.signer_name.clone(),
            signer_title: config.issuer.signer_title.clone(),
            numbering: config.numbering.clone(),
            fees: config.fees.clone(),
            public_base_url: config.public_base_url(),
            max_copies: config.max_copies,
            capability_secret: capability_secret.clone(),
        };
        let composer = Arc::new(PdfComposer {
            trust: trust.clone(),
            registry: registry.clone(),
            level: crate::longterm::parse_level(&config.signature_level)
                .ok_or_else(|| anyhow!("signature_level must be B-B, B-T, B-LT or B-LTA"))?,
            default_dpi: config.default_dpi,
            signer_name,
        });
        let webhooks = webhook_keys(&config.dossiers)?;
        let dossiers = banso_core::service::DossierSettings {
            store: stores.dossiers.clone(),
            notices: composer.clone(),
            catalogue: banso_core::procedure::Catalogue::builtin(),
            body_code: config.dossiers.body_code.clone(),
            cutoff: parse_cutoff(&config.dossiers.cutoff)?,
            webhooks: webhooks.keys().cloned().collect(),
        };
        let service = Service::new(
            banso_core::service::Ports {
                registry: registry.clone(),
                blobs,
                composer,
                verifier: Arc::new(
                    Verifier::new(
                        TrustStore { roots },
                        config.limits.verify_concurrency,
                        config.limits.verify_queue,
                    )
                    .with_revocations(trust.clone(), registry.clone()),
                ),
                clock: Arc::new(SystemClock),
                entropy: Arc::new(OsEntropy),
                holder_ids: Arc::new(IdentityRules),
                // The checks every original goes through; switched off, every original goes to an officer.
                intake: if config.intake.enabled {
                    Arc::new(banso_intake::port::TesseractIntake {
                        language: config.intake.language.clone(),
                        policy: config.intake.policy.clone(),
                        duplicate_window: DUPLICATE_WINDOW,
                    })
                } else {
                    Arc::new(banso_core::service::IntakeOff)
                },
                sessions: stores.sessions.clone(),
            },
            settings,
        )
        .with_identity({
            // Loading models and asking the provider block: off the async threads.
            let identity = config.identity.clone();
            tokio::task::spawn_blocking(move || identity_ports(&identity)).await??
        });
        let service = match payment_settings(&config)? {
            Some(p) => service.with_payments(p),
            None => service,
        }
        .with_dossiers(dossiers)
        .with_office(stores.office.clone(), Arc::new(BlockingPool));
        Ok(Self {
            config,
            service,
            log_key,
            trust,
            webhooks,
            admits: stores.admits.clone(),
        })
    }
}

/// Settles the public address of a node on a shared registry: the first node that names one
/// (`public_base_url`) records it; a node or command that names none takes the recorded one; a node that names
/// another is refused — its checkpoints would carry another origin and its QR codes another address.
async fn settle_public_address(
    config: &mut Config,
    registry: &dyn banso_core::ports::Registry,
) -> Result<()> {
    let mine = config.public_base_url.as_ref().map(|_| config.public_base_url());
    let recorded = registry
        .claim_public_address(mine.as_deref())
        .await
        .map_err(|e| anyhow!("recording this installation's public address in the registry: {e}"))?;
    match (mine, recorded) {
        (Some(mine), Some(theirs)) if mine != theirs => Err(anyhow!(
            "this node's public address {mine} is not the installation's, {theirs}: every node signs the log \
             and prints QR codes under one address (public_base_url, BANSO_PUBLIC_BASE_URL); nothing was written"
        )),
        (None, Some(theirs)) => {
            config.public_base_url = Some(theirs);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What every node of one installation shares, in one digest: the root it chains to, the log key its
/// checkpoints are signed with and the capability secret its QR keys come from (committed to, never revealed).
/// Kept in a shared registry by the first node. (The public address is settled apart, by
/// [`settle_public_address`]: it is configuration, not a key.)
fn installation_fingerprint(root_der: &[u8], log_key_der: &[u8], capability_secret: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let secret = Sha256::new()
        .chain_update(b"banso installation capability secret\0")
        .chain_update(capability_secret)
        .finalize();
    let mut h = Sha256::new();
    h.update(b"banso installation v1\0");
    for part in [root_der, log_key_der, &secret[..]] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// Password checks on tokio's blocking pool.
struct BlockingPool;

#[async_trait::async_trait]
impl banso_core::ports::CpuWork for BlockingPool {
    async fn check(&self, job: Box<dyn FnOnce() -> bool + Send>) -> bool {
        tokio::task::spawn_blocking(job).await.unwrap_or(false)
    }
}
