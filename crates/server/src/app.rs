//! Wiring: builds banso-core's [`Service`] from the configuration with the real adapters.

use crate::config::{write_private, Config};
use anyhow::{anyhow, Context, Result};
use async_trait::async_trait;
use banso_core::error::{Code, Error};
use banso_core::ports::{
    CheckOutcome, Clock, ComposeRequest, ComposedCopy, Composer, Entropy, PdfFindings, PdfVerifier,
    SignatureFindings,
};
use banso_core::service::{Service, Settings, WATERMARK};
use banso_render::{InputError, RenderError};
use banso_signing::pki::{DevPki, PkiNames};
use banso_signing::verify::{verify_pdf, Check, TrustStore};
use banso_signing::{Signer, SoftwareSigner};
use rand::RngCore;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The operating system's cryptographic random source.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        rand::rngs::OsRng.fill_bytes(buf)
    }
}

/// The PEM files of the development PKI inside the data folder.
pub struct PkiFiles {
    pub root_cert: String,
    pub seal_key: String,
    pub seal_chain: String,
}

/// Loads the PKI from `dir`, generating it first when absent. Generation writes into a fresh folder that is
/// renamed into place, so two processes starting together end up with one consistent PKI.
pub fn ensure_pki(dir: &Path, config: &Config) -> Result<PkiFiles> {
    if !dir.join("seal.pem").exists() {
        let parent = dir
            .parent()
            .ok_or_else(|| anyhow!("the PKI folder has no parent"))?;
        std::fs::create_dir_all(parent)?;
        let staging = parent.join(format!(".pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        let p = &config.pki;
        let pki = DevPki::generate(
            &PkiNames {
                country: p.country.clone(),
                organization: p.organization.clone(),
                root_cn: p.root_cn.clone(),
                issuing_cn: p.issuing_cn.clone(),
                seal_cn: p.seal_cn.clone(),
            },
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| anyhow!("generating the development PKI: {e}"))?;
        std::fs::write(staging.join("root.pem"), &pki.root_cert_pem)?;
        std::fs::write(staging.join("issuing.pem"), &pki.issuing_cert_pem)?;
        std::fs::write(staging.join("seal.pem"), &pki.seal_cert_pem)?;
        write_private(&staging.join("root.key"), pki.root_key_pem.as_bytes())?;
        write_private(&staging.join("issuing.key"), pki.issuing_key_pem.as_bytes())?;
        write_private(&staging.join("seal.key"), pki.seal_key_pem.as_bytes())?;
        if std::fs::rename(&staging, dir).is_err() {
            // Someone else won the race (or the folder exists without a seal): keep theirs.
            let _ = std::fs::remove_dir_all(&staging);
            if !dir.join("seal.pem").exists() {
                return Err(anyhow!("{} exists but holds no seal certificate", dir.display()));
            }
        }
    }
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .with_context(|| format!("reading {}", dir.join(name).display()))
    };
    Ok(PkiFiles {
        root_cert: read("root.pem")?,
        seal_key: read("seal.key")?,
        seal_chain: format!("{}{}", read("seal.pem")?, read("issuing.pem")?),
    })
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

/// Composes copies with banso-render and signs them with a [`Signer`].
pub struct PdfComposer {
    pub signer: Arc<dyn Signer>,
    pub default_dpi: f32,
    pub signer_name: String,
}

fn input_error(e: &InputError) -> Error {
    let code = match e {
        InputError::Unsupported => Code::Iss0002UnsupportedPage,
        InputError::Corrupt { .. } => Code::Iss0003CorruptPage,
        InputError::Empty => Code::Iss0001NoPages,
        InputError::TooLarge { .. } => Code::Iss0004TooLarge,
    };
    Error::new(code, e.to_string())
}

/// Signs a prepared PDF in place and returns its SHA-256 (shared by issuance and the benchmark).
pub fn sign_prepared(
    prepared: &mut banso_render::PreparedPdf,
    signer: &dyn Signer,
) -> Result<[u8; 32], Error> {
    banso_signing::pades::sign_prepared(
        &mut prepared.bytes,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        signer,
    )
    .map_err(|e| Error::new(Code::Sys0002Signing, e.to_string()))
}

/// Renders one copy (no signature yet).
pub fn render_copy(request: &ComposeRequest, default_dpi: f32) -> Result<banso_render::PreparedPdf, Error> {
    let inputs: Vec<&[u8]> = request.files.iter().map(Vec::as_slice).collect();
    let c = &request.certification;
    let doc = banso_render::CopyDocument {
        inputs: &inputs,
        default_dpi,
        code_display: request.code_display.clone(),
        qr_url: request.qr_url.clone(),
        watermark: WATERMARK.to_string(),
        certification: banso_render::Certification {
            statement: c.statement.clone(),
            number_line: c.number_line.clone(),
            date_line: c.date_line.clone(),
            issuing_body: c.issuing_body.clone(),
            place: c.place.clone(),
            signer_name: c.signer_name.clone(),
            signer_title: c.signer_title.clone(),
            document_type: c.document_type.clone(),
            holder_name: c.holder_name.clone(),
            original_pages: c.original_pages as usize,
            fee_line: c.fee_line.clone(),
            english_lines: c.english_lines.clone(),
        },
        title: request.title.clone(),
        issued_at: request.issued_at,
        signature: banso_render::SignatureSlot {
            placeholder_size: banso_signing::pades::DEFAULT_PLACEHOLDER,
            name: c.issuing_body.clone(),
            reason: c.statement.clone(),
            location: c.place.clone(),
            signing_time: request.issued_at,
        },
    };
    banso_render::render(&doc).map_err(|e| match e {
        RenderError::Input { index, source } => {
            let inner = input_error(&source);
            Error::new(inner.code, format!("page file {}: {}", index + 1, inner.message))
        }
        RenderError::NoPages => Error::new(Code::Iss0001NoPages, "no page to render"),
        RenderError::QrCode(m) => Error::new(
            Code::Iss0005InvalidField,
            format!("the QR code cannot hold the URL: {m}"),
        ),
        RenderError::Glyph(c) => Error::new(
            Code::Iss0007Unprintable,
            format!("the character {c:?} cannot be printed"),
        ),
    })
}

#[async_trait]
impl Composer for PdfComposer {
    fn inspect(&self, file: &[u8]) -> Result<u32, Error> {
        banso_render::inspect(file)
            .map(|i| i.pages as u32)
            .map_err(|e| input_error(&e))
    }

    async fn compose(&self, request: ComposeRequest) -> Result<ComposedCopy, Error> {
        let signer = self.signer.clone();
        let dpi = self.default_dpi;
        tokio::task::spawn_blocking(move || {
            let mut prepared = render_copy(&request, dpi)?;
            let sha256 = sign_prepared(&mut prepared, signer.as_ref())?;
            Ok(ComposedCopy {
                pdf: prepared.bytes,
                sha256,
                pdf_pages: prepared.page_count as u32,
            })
        })
        .await
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("composition task: {e}")))?
    }

    fn signer_name(&self) -> String {
        self.signer_name.clone()
    }
}

/// Verifies PDFs against the configured trust anchors with banso-signing, on the blocking pool and at most
/// `limit` at a time, so anonymous verification cannot starve the service.
pub struct Verifier {
    pub trust: Arc<TrustStore>,
    pub limit: Arc<tokio::sync::Semaphore>,
}

fn outcome(c: &Check) -> CheckOutcome {
    CheckOutcome {
        ok: c.ok,
        reason: c.reason.clone(),
        detail: c.detail.clone(),
    }
}

#[async_trait]
impl PdfVerifier for Verifier {
    async fn verify(&self, pdf: Vec<u8>, now: OffsetDateTime) -> Result<PdfFindings, Error> {
        let head = &pdf[..pdf.len().min(1024)];
        if !head.windows(5).any(|w| w == b"%PDF-") {
            return Err(Error::new(Code::Ver0004NotPdf, "the file is not a PDF"));
        }
        let _permit = self
            .limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(Code::Sys0003Internal, "verification is shutting down"))?;
        let trust = self.trust.clone();
        let report = tokio::task::spawn_blocking(move || verify_pdf(&pdf, &trust, now))
            .await
            .map_err(|e| Error::new(Code::Sys0003Internal, format!("verification task: {e}")))?;
        Ok(PdfFindings {
            sha256: report.sha256,
            signatures: report
                .signatures
                .iter()
                .map(|s| SignatureFindings {
                    signer: s.signer_subject.clone(),
                    signing_time: s.claimed_signing_time.clone(),
                    integrity: outcome(&s.integrity),
                    chain: outcome(&s.chain),
                    coverage: outcome(&s.coverage),
                    modifications: outcome(&s.modifications),
                })
                .collect(),
        })
    }
}

/// DER certificates from PEM text.
pub fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut out = Vec::new();
    let mut inside = false;
    let mut b64 = String::new();
    for line in pem.lines() {
        let line = line.trim();
        if line == "-----BEGIN CERTIFICATE-----" {
            inside = true;
            b64.clear();
        } else if line == "-----END CERTIFICATE-----" {
            inside = false;
            if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&b64) {
                out.push(der);
            }
        } else if inside {
            b64.push_str(line);
        }
    }
    out
}

/// Everything a command or the server needs.
pub struct App {
    pub config: Config,
    pub service: Service,
    pub log_key: Arc<crate::translog::LogKey>,
}

impl App {
    pub async fn open(config: Config) -> Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
        let pki = ensure_pki(&config.pki_dir(), &config)?;
        let signer = SoftwareSigner::from_pem(&pki.seal_key, &pki.seal_chain)
            .map_err(|e| anyhow!("loading the seal key: {e}"))?;
        let mut roots = pem_certificates(&pki.root_cert);
        for extra in &config.pki.extra_trust_anchors {
            let text =
                std::fs::read_to_string(extra).with_context(|| format!("reading {}", extra.display()))?;
            roots.extend(pem_certificates(&text));
        }
        let registry = banso_store::open_registry(&config.database_url())
            .await
            .map_err(|e| {
                anyhow!(
                    "opening the registry {}: {e}",
                    crate::config::redact_url(&config.database_url())
                )
            })?;
        let blobs: Arc<dyn banso_core::ports::Blobs> = match config.storage.kind.as_deref().unwrap_or("local")
        {
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
        };
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
            capability_secret: match &config.capability_secret_file {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let secret =
                        hex::decode(text.trim()).context("the capability secret file must hold hex")?;
                    if secret.len() < 16 {
                        return Err(anyhow!("the capability secret must be at least 16 bytes"));
                    }
                    secret
                }
                None => capability_secret(&config.data_dir)?,
            },
        };
        let service = Service {
            registry,
            blobs,
            composer: Arc::new(PdfComposer {
                signer: Arc::new(signer),
                default_dpi: config.default_dpi,
                signer_name,
            }),
            verifier: Arc::new(Verifier {
                trust: Arc::new(TrustStore { roots }),
                limit: Arc::new(tokio::sync::Semaphore::new(2)),
            }),
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
            settings: Arc::new(settings),
            log: Arc::new(banso_core::transparency::TransparencyLog::new()),
        };
        let origin = format!(
            "{}/log",
            config
                .public_base_url()
                .trim_start_matches("http://")
                .trim_start_matches("https://")
        );
        let log_key = Arc::new(crate::translog::LogKey::open(&config.data_dir, origin)?);
        Ok(Self {
            config,
            service,
            log_key,
        })
    }
}
