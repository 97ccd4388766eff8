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
use banso_signing::verify::{verify_pdf_within, Check, TrustStore};
use banso_signing::Signer;
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
        let Some(decoded) = banso_identity::cccd::decode_number(id) else {
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

/// Composes copies with banso-render and signs them with a [`Signer`] (PAdES B-T: with a signature
/// timestamp from the configured TSA).
pub struct PdfComposer {
    pub trust: Arc<crate::trust::TrustServices>,
    /// Where the CA's revocations are kept: read before each copy, for the validation data it embeds.
    pub registry: Arc<dyn banso_core::ports::Registry>,
    pub level: crate::longterm::Level,
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

/// Signs a prepared PDF in place (B-B, or B-T with a timestamp source) and returns its SHA-256; shared by
/// issuance and the benchmark.
pub fn sign_prepared(
    prepared: &mut banso_render::PreparedPdf,
    signer: &dyn Signer,
    timestamps: Option<&dyn banso_signing::tsa::TimestampSource>,
) -> Result<[u8; 32], Error> {
    banso_signing::pades::sign_prepared_with(
        &mut prepared.bytes,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        signer,
        timestamps,
    )
    .map_err(|e| Error::new(Code::Sys0002Signing, e.to_string()))
}

fn signing_error(e: banso_signing::SigningError) -> Error {
    Error::new(Code::Sys0002Signing, e.to_string())
}

/// Renders and signs one copy: with an officer, the officer signs the copy and the organisation seal
/// countersigns it in a second revision; both carry signature timestamps (B-T). Then the copy is extended to
/// the configured level (B-LT: DSS with validation data; B-LTA: plus a document timestamp).
pub fn compose_signed(
    request: &ComposeRequest,
    trust: &crate::trust::TrustServices,
    level: crate::longterm::Level,
    dpi: f32,
) -> Result<ComposedCopy, Error> {
    use crate::longterm::Level;
    let timestamps = (level >= Level::BT).then_some(trust.timestamps.as_ref());
    let mut prepared = render_copy(request, dpi)?;
    let officer = match &request.officer {
        Some(name) => Some(trust.officers.get(name).cloned().ok_or_else(|| {
            Error::new(
                Code::Iss0005InvalidField,
                format!("the officer {name:?} has no signing certificate"),
            )
        })?),
        None => None,
    };
    let first: &dyn Signer = officer.as_deref().unwrap_or(trust.seal.as_ref());
    // Signing hashes the whole file and returns that hash; it is reused unless a later step changes the file.
    let mut sha256 = Some(sign_prepared(&mut prepared, first, timestamps)?);
    let pdf_pages = prepared.page_count as u32;
    let mut pdf = prepared.bytes;
    if officer.is_some() {
        let c = &request.certification;
        let meta = banso_signing::incremental::SignatureMeta {
            name: Some(c.issuing_body.clone()),
            reason: Some("Đóng dấu của cơ quan chứng thực / Seal of the certifying body".into()),
            location: Some(c.place.clone()),
            signing_time: Some(request.issued_at),
        };
        let mut seal = banso_signing::incremental::prepare_signature(
            &pdf,
            "Seal",
            banso_signing::pades::DEFAULT_PLACEHOLDER,
            &meta,
        )
        .map_err(signing_error)?;
        sha256 = Some(
            banso_signing::pades::sign_prepared_with(
                &mut seal.bytes,
                seal.byte_range,
                seal.contents_hex.clone(),
                trust.seal.as_ref(),
                timestamps,
            )
            .map_err(signing_error)?,
        );
        pdf = seal.bytes;
    }
    if level >= Level::BLT {
        pdf = crate::longterm::extend(&pdf, level, trust, trust.timestamps.as_ref(), request.issued_at)
            .map_err(signing_error)?;
        sha256 = None;
    }
    let sha256 = sha256.unwrap_or_else(|| <sha2::Sha256 as sha2::Digest>::digest(&pdf).into());
    Ok(ComposedCopy {
        pdf,
        sha256,
        pdf_pages,
    })
}

/// Renders one copy (no signature yet).
pub fn render_copy(request: &ComposeRequest, default_dpi: f32) -> Result<banso_render::PreparedPdf, Error> {
    let inputs: Vec<&[u8]> = request.files.iter().map(Vec::as_slice).collect();
    let text_layers: Vec<Option<banso_render::PageText>> = request
        .text_layers
        .iter()
        .map(|layer| {
            layer.as_ref().map(|t| banso_render::PageText {
                width: t.width,
                height: t.height,
                words: t
                    .words
                    .iter()
                    .map(|w| banso_render::PageWord {
                        text: w.text.clone(),
                        x: w.x,
                        y: w.y,
                        w: w.w,
                        h: w.h,
                    })
                    .collect(),
            })
        })
        .collect();
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
        text_layers: &text_layers,
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
        RenderError::Layout(m) => {
            Error::new(Code::Sys0003Internal, format!("the copy cannot be laid out: {m}"))
        }
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
        if self.level >= crate::longterm::Level::BLT {
            self.trust.refresh_revocations(self.registry.as_ref()).await?;
        }
        let trust = self.trust.clone();
        let level = self.level;
        let dpi = self.default_dpi;
        tokio::task::spawn_blocking(move || compose_signed(&request, &trust, level, dpi))
            .await
            .map_err(|e| Error::new(Code::Sys0003Internal, format!("composition task: {e}")))?
    }

    fn printable(&self, text: &str) -> Result<(), Error> {
        banso_render::printable(text).map_err(|e| match e {
            RenderError::Glyph(c) => Error::new(
                Code::Iss0007Unprintable,
                format!("the character {c:?} cannot be printed"),
            ),
            other => Error::new(Code::Sys0003Internal, other.to_string()),
        })
    }

    fn signer_names(&self, officer: Option<&str>) -> Result<String, Error> {
        match officer {
            None => Ok(self.signer_name.clone()),
            Some(name) if self.trust.officers.contains_key(name) => {
                Ok(format!("{name}; {}", self.signer_name))
            }
            Some(name) => Err(Error::new(
                Code::Iss0005InvalidField,
                format!("the officer {name:?} has no signing certificate in this installation's PKI"),
            )),
        }
    }
}

/// Verifies PDFs against the configured trust anchors with banso-signing, on the blocking pool, at most
/// `running` at a time and with at most `queue` waiting (one more is told the service is busy), each file
/// within the verifier's work [`Limits`](banso_signing::verify::Limits) — so anonymous verification can
/// neither starve the service nor make an honest verification wait behind a long queue of crafted files.
pub struct Verifier {
    pub trust: Arc<TrustStore>,
    running: Arc<tokio::sync::Semaphore>,
    waiting: Arc<tokio::sync::Semaphore>,
    pub limits: banso_signing::verify::Limits,
}

impl Verifier {
    pub fn new(trust: TrustStore, running: usize, queue: usize) -> Self {
        Self {
            trust: Arc::new(trust),
            running: Arc::new(tokio::sync::Semaphore::new(running)),
            waiting: Arc::new(tokio::sync::Semaphore::new(running + queue)),
            limits: banso_signing::verify::Limits::default(),
        }
    }
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
        let _place = self.waiting.clone().try_acquire_owned().map_err(|_| {
            Error::new(
                Code::Req0003Busy,
                "too many files are waiting for verification; try again in a moment",
            )
        })?;
        let _permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::new(Code::Sys0003Internal, "verification is shutting down"))?;
        let trust = self.trust.clone();
        let limits = self.limits;
        let (report, revision_hashes) = tokio::task::spawn_blocking(move || {
            let report = match verify_pdf_within(&pdf, &trust, now, limits) {
                Ok(report) => report,
                Err(e) => return Err(Error::new(Code::Ver0006TooComplex, e.to_string())),
            };
            let mut ends: Vec<u64> = report.signatures.iter().map(|s| s.signed_end).collect();
            ends.sort_unstable();
            ends.dedup();
            let hashes: Vec<[u8; 32]> = ends
                .into_iter()
                .filter_map(|end| usize::try_from(end).ok())
                .filter(|&end| end < pdf.len())
                .filter_map(|end| {
                    pdf.get(..end)
                        .map(|b| <sha2::Sha256 as sha2::Digest>::digest(b).into())
                })
                .collect();
            Ok((report, hashes))
        })
        .await
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("verification task: {e}")))??;
        Ok(PdfFindings {
            sha256: report.sha256,
            revision_hashes,
            indication: report.indication.as_str().to_string(),
            sub_indication: report.sub_indication.clone(),
            signatures: report
                .signatures
                .iter()
                .map(|s| SignatureFindings {
                    kind: match s.kind {
                        banso_signing::verify::SignatureKind::Signature => "signature".into(),
                        banso_signing::verify::SignatureKind::DocumentTimestamp => {
                            "document_timestamp".into()
                        }
                    },
                    signer: s.signer_subject.clone(),
                    signing_time: s.claimed_signing_time.clone(),
                    integrity: outcome(&s.integrity),
                    chain: outcome(&s.chain),
                    coverage: outcome(&s.coverage),
                    modifications: outcome(&s.modifications),
                    timestamp: s.timestamp.as_ref().map(outcome),
                    revocation: outcome(&s.revocation),
                    indication: s.indication.as_str().to_string(),
                    sub_indication: s.sub_indication.clone(),
                    level: s.level.map(|l| l.as_str().to_string()),
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
    pub trust: Arc<crate::trust::TrustServices>,
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
    pub async fn open(config: Config) -> Result<Self> {
        secure_data_dir(&config.data_dir)?;
        let trust = Arc::new(crate::trust::TrustServices::open(
            &config.pki_dir(),
            &config,
            &config.public_base_url(),
        )?);
        let mut roots = vec![trust.root_der.clone()];
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
        import_legacy_revocations(&config.pki_dir(), registry.as_ref()).await?;
        trust
            .refresh_revocations(registry.as_ref())
            .await
            .map_err(|e| anyhow!("reading the CA's revocations: {e}"))?;
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
            registry: registry.clone(),
            blobs,
            composer: Arc::new(PdfComposer {
                trust: trust.clone(),
                registry: registry.clone(),
                level: crate::longterm::parse_level(&config.signature_level)
                    .ok_or_else(|| anyhow!("signature_level must be B-B, B-T, B-LT or B-LTA"))?,
                default_dpi: config.default_dpi,
                signer_name,
            }),
            verifier: Arc::new(Verifier::new(
                TrustStore { roots },
                config.limits.verify_concurrency,
                config.limits.verify_queue,
            )),
            clock: Arc::new(SystemClock),
            entropy: Arc::new(OsEntropy),
            settings: Arc::new(settings),
            log: Arc::new(banso_core::transparency::TransparencyLog::new()),
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
            trust,
        })
    }
}
