//! Configuration: one typed struct from an optional TOML file, overlaid by `BANSO_*` environment variables,
//! overlaid by command-line flags. Every field has an embedded default so `banso serve` runs with none.
//!
//! File: `--config FILE`, else `BANSO_CONFIG`, else `DATA_DIR/banso.toml` when it exists.
//! Secrets come from files or the environment and are redacted from `Debug`.

use anyhow::{bail, Context, Result};
use banso_core::rules::{FeeSchedule, NumberingPolicy};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder for the SQLite database, local objects, the development PKI and secrets.
    pub data_dir: PathBuf,
    /// Address the HTTP service listens on.
    pub listen: String,
    /// Public base URL used in QR codes and links (default: `http://` + listen).
    pub public_base_url: Option<String>,
    /// `sqlite:PATH` or `postgres://…` (default: SQLite in the data folder). Env: `BANSO_DATABASE_URL`. Add
    /// `?sslmode=require` for TLS to PostgreSQL (the server's certificate is checked).
    pub database_url: Option<String>,
    /// The CA (PEM) that signed the PostgreSQL server's TLS certificate (default: the system's roots).
    /// Env: `BANSO_DATABASE_CA_FILE`.
    pub database_ca_file: Option<PathBuf>,
    /// Largest accepted request body (an issuance upload or a file to verify), in bytes.
    pub max_upload_bytes: usize,
    /// Resolution assumed for scans that do not state theirs.
    pub default_dpi: f32,
    /// Most copies of one original per request.
    pub max_copies: u32,
    /// File with the hex secret capability keys are derived from; every server of one deployment must share
    /// it. Env: `BANSO_CAPABILITY_SECRET_FILE`. Default: created once in `DATA_DIR/secrets/`.
    pub capability_secret_file: Option<PathBuf>,
    /// PAdES level of issued copies: B-B, B-T (default), B-LT or B-LTA. Env: `BANSO_SIGNATURE_LEVEL`.
    pub signature_level: String,
    /// External RFC 3161 timestamp authorities, comma-separated, tried in order, each behind a circuit breaker
    /// (default: the built-in one). Env: `BANSO_TSA_URL`.
    pub tsa_url: Option<String>,
    /// Seconds a timestamp authority that keeps failing is skipped before it is tried again (doubling while it
    /// fails, at most 5 minutes). Env: `BANSO_TSA_COOLDOWN_SECS`. Default: 30.
    pub tsa_cooldown_secs: u64,
    pub issuer: IssuerConfig,
    pub numbering: NumberingPolicy,
    pub fees: FeeSchedule,
    pub pki: PkiConfig,
    pub storage: StorageConfig,
    pub intake: IntakeConfig,
    pub identity: IdentityConfig,
    pub payment: PaymentConfig,
    pub delivery: DeliveryConfig,
    pub dossiers: DossiersConfig,
    pub limits: LimitsConfig,
    /// Stored objects no registry row names are removed once older than this (an issuance cut short by a
    /// crash leaves them; one still running is never this old). Env: `BANSO_ORPHAN_GRACE_MINUTES`.
    pub orphan_grace_minutes: u64,
    /// How often `banso serve` looks for such objects (0: never; `banso maintain sweep` by hand).
    /// Env: `BANSO_SWEEP_EVERY_MINUTES`.
    pub sweep_every_minutes: u64,
}

/// Bounds on what one client can make the HTTP edge read, hold or compute (docs/design/edge-limits.md says
/// which threat each answers). Env: `BANSO_` + the field name in capitals, e.g. `BANSO_HEADER_TIMEOUT_SECS`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Seconds a client has to send a request's headers, counted from when the server is ready to read
    /// them: a new connection that sends nothing, half-sent headers and an idle kept-alive connection are
    /// all closed after this.
    pub header_timeout_secs: u64,
    /// Seconds a request body has to arrive whole (a body trickled slower is cut off with `REQ-0004`).
    pub body_timeout_secs: u64,
    /// Open connections at most; one more is closed at once.
    pub max_connections: usize,
    /// Largest file accepted for anonymous verification (`POST /api/v1/verify`), in bytes.
    pub max_verify_bytes: usize,
    /// Bytes of anonymous request bodies the server holds at once across all clients; beyond it an
    /// anonymous upload is answered `REQ-0003` (busy, retry later) instead of being read.
    pub anonymous_body_budget: usize,
    /// Largest body of the timestamp and OCSP endpoints, in bytes.
    pub max_small_body_bytes: usize,
    /// File verifications running at once.
    pub verify_concurrency: usize,
    /// File verifications waiting for a turn at most; one more is answered `REQ-0003`.
    pub verify_queue: usize,
    /// Code look-ups (status, portal page, PDF) one client may make a minute, after a burst of a sixth of it;
    /// beyond it `REQ-0005` (429, `Retry-After`). 0: not limited. The nodes of one PostgreSQL deployment
    /// hold a client to it together (they share what they let through every second).
    pub lookups_per_minute: u32,
    /// Verification uploads one client may make a minute (as above).
    pub verifications_per_minute: u32,
    /// Timestamp requests one client may make a minute (as above).
    pub timestamps_per_minute: u32,
    /// Clients (addresses, IPv6 /64s) the rate limits track at once, per kind of request.
    pub rate_limited_clients: usize,
    /// The reverse proxies or load balancers in front of the nodes (addresses or CIDR ranges). A request that
    /// comes from one of them is taken to come from the address it names in `proxy_header`: rate limits
    /// and the audit log then key on the citizen's address, not the proxy's. Default: none; the header is
    /// then never believed. Env: `BANSO_TRUSTED_PROXIES` (comma-separated).
    pub trusted_proxies: TrustedProxies,
    /// The header the trusted proxies name the client in: `x-forwarded-for` (the default; nginx, most load
    /// balancers) or `forwarded` (RFC 7239, its `for=` parameter). Only that one is read, so a header of the
    /// other kind that a client sent and the proxy passed on is never believed. Env: `BANSO_PROXY_HEADER`.
    pub proxy_header: ProxyHeader,
}

/// Which header names a request's client behind a trusted proxy (`[limits] proxy_header`).
pub use banso_wire::forwarded::Header as ProxyHeader;

/// Addresses whose word on a request's client is believed (`[limits] trusted_proxies`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(try_from = "Vec<String>")]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TryFrom<Vec<String>> for TrustedProxies {
    type Error = String;

    fn try_from(list: Vec<String>) -> std::result::Result<Self, String> {
        list.iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("trusted_proxies: {s:?} is neither an address nor a CIDR range"))
            })
            .collect::<std::result::Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: std::net::IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client a request came from: a connection from a trusted proxy is followed back through the proxies'
    /// `header` past the trusted hops ([`banso_wire::forwarded::client`]); a connection from anywhere else is
    /// its own client, whatever it sends.
    pub fn client(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
        header: ProxyHeader,
    ) -> std::net::IpAddr {
        banso_wire::forwarded::client(
            peer,
            headers.get_all(header.name()).iter().map(|v| v.as_bytes()),
            header,
            |ip| self.trusts(ip),
        )
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            body_timeout_secs: 60,
            max_connections: 1024,
            max_verify_bytes: 32 << 20,
            anonymous_body_budget: 64 << 20,
            max_small_body_bytes: 64 << 10,
            verify_concurrency: 2,
            verify_queue: 32,
            lookups_per_minute: 600,
            verifications_per_minute: 60,
            timestamps_per_minute: 600,
            rate_limited_clients: 100_000,
            trusted_proxies: TrustedProxies::default(),
            proxy_header: ProxyHeader::default(),
        }
    }
}

/// How citizens prove who they are at a kiosk (identity sessions). A way whose configuration is missing is
/// not offered; kiosks then issue only through the ways that are.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// CSCA certificates (PEM or DER files, or folders of them) chips are checked against; none: the chip
    /// way is not offered. Env: `BANSO_CSCA` (paths separated by `:`).
    pub csca: Vec<PathBuf>,
    /// The face models' folder (default: banso-face's default, where scripts/install-face-models.sh puts
    /// them). Without loadable models the chip way is not offered (the face step cannot run).
    pub face_models: Option<PathBuf>,
    /// The national-ID provider's issuer URL (OpenID Connect discovery); none: the app login is not offered.
    /// Env: `BANSO_OIDC_ISSUER`.
    pub oidc_issuer: Option<String>,
    /// The client id kiosks' logins are started with. Env: `BANSO_OIDC_CLIENT_ID`.
    pub oidc_client_id: Option<String>,
    /// The scopes asked for (default `openid profile`; the provider must then send the citizen's ID number
    /// and name). Env: `BANSO_OIDC_SCOPE`.
    pub oidc_scope: Option<String>,
}

/// Delivering issued copies to citizens.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// The SMTP relay copies are e-mailed through, `smtp://HOST:PORT` (none: no e-mail). Env: `BANSO_SMTP_URL`.
    pub smtp_url: Option<String>,
    /// The sender of those e-mails. Env: `BANSO_MAIL_FROM`.
    pub mail_from: Option<String>,
}

/// Dossiers of administrative procedures, and the webhooks their events are delivered to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DossiersConfig {
    /// The receiving body's code at the head of dossier codes (`{body_code}-{yymmdd}-{NNNN}`).
    /// Env: `BANSO_DOSSIER_BODY_CODE`.
    pub body_code: String,
    /// Local time (UTC+7) after which a dossier received counts from the next working day, `HH:MM`.
    /// Env: `BANSO_DOSSIER_CUTOFF`.
    pub cutoff: String,
    /// Other agencies' systems told of every dossier event (Standard Webhooks, HMAC-SHA256). Env:
    /// `BANSO_WEBHOOKS`, `URL|SECRET_FILE` pairs separated by commas.
    pub webhooks: Vec<WebhookConfig>,
    /// Seconds before a failed delivery is tried again the first time (then four times longer each time).
    /// Env: `BANSO_DELIVERY_RETRY_SECS`.
    pub retry_base_secs: u64,
    /// Attempts before a delivery is given up and listed dead. Env: `BANSO_DELIVERY_MAX_ATTEMPTS`.
    pub max_attempts: u32,
}

impl Default for DossiersConfig {
    fn default() -> Self {
        Self {
            body_code: "UBND-VH".into(),
            cutoff: "16:00".into(),
            webhooks: Vec::new(),
            retry_base_secs: 5,
            max_attempts: 10,
        }
    }
}

/// One webhook subscriber: where, and the file holding its `whsec_…` secret.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret_file: PathBuf,
}

/// The payment gateway kiosks' fees are paid through (VNPAY's protocol). Without one, a kiosk's request is
/// issued without a fee.
#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentConfig {
    /// The gateway's payment page, e.g. `https://pay.vnpay.vn/vpcpay.html`. Env: `BANSO_VNPAY_URL`.
    pub vnpay_url: Option<String>,
    /// The merchant's terminal code. Env: `BANSO_VNPAY_TMN_CODE`.
    pub vnpay_tmn_code: Option<String>,
    /// A file holding the merchant's hash secret. Env: `BANSO_VNPAY_SECRET_FILE`.
    pub vnpay_secret_file: Option<PathBuf>,
    /// Where the gateway sends the payer's browser afterwards (default: the portal's home page).
    pub return_url: Option<String>,
}

impl std::fmt::Debug for PaymentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentConfig")
            .field("vnpay_url", &self.vnpay_url)
            .field("vnpay_tmn_code", &self.vnpay_tmn_code)
            .finish_non_exhaustive()
    }
}

/// The intake checks run before issuing (OCR, recognition, Art. 22 grounds, forensics, decision).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Run the intake before issuing (default true). Env: `BANSO_INTAKE=on|off`.
    pub enabled: bool,
    /// Tesseract language(s).
    pub language: String,
    /// Thresholds of the checks and the decision (`[intake.policy]`; see banso-intake's `IntakePolicy`).
    pub policy: banso_intake::decision::IntakePolicy,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            language: "vie".into(),
            policy: banso_intake::decision::IntakePolicy::default(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerConfig {
    /// The certifying body printed on the certification page.
    pub body: String,
    /// Place in the date line.
    pub place: String,
    pub signer_name: String,
    pub signer_title: String,
}

impl Default for IssuerConfig {
    fn default() -> Self {
        Self {
            body: "Ủy ban nhân dân phường Việt Hưng, thành phố Hà Nội".into(),
            place: "Hà Nội".into(),
            signer_name: "Trung tâm Phục vụ hành chính công".into(),
            signer_title: "TM. Ủy ban nhân dân".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkiConfig {
    pub country: String,
    pub organization: String,
    pub root_cn: String,
    pub issuing_cn: String,
    pub seal_cn: String,
    /// Extra trusted root certificates (PEM files) for verification, besides the development root.
    pub extra_trust_anchors: Vec<PathBuf>,
}

impl Default for PkiConfig {
    fn default() -> Self {
        Self {
            country: "VN".into(),
            organization: "TTPVHCC Hà Nội (development)".into(),
            root_cn: "banso Development Root CA".into(),
            issuing_cn: "banso Development Issuing CA".into(),
            seal_cn: "Con dấu điện tử TTPVHCC (development)".into(),
            extra_trust_anchors: Vec::new(),
        }
    }
}

#[derive(Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `local` (default, under the data folder) or `s3`.
    pub kind: Option<String>,
    pub endpoint: Option<String>,
    pub bucket: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    /// File holding the secret access key (or env `BANSO_S3_SECRET_ACCESS_KEY`).
    pub secret_access_key_file: Option<PathBuf>,
    #[serde(skip)]
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("kind", &self.kind)
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./banso-data"),
            listen: "127.0.0.1:8080".into(),
            public_base_url: None,
            database_url: None,
            database_ca_file: None,
            max_upload_bytes: 50 * 1024 * 1024,
            default_dpi: 300.0,
            max_copies: 10,
            capability_secret_file: None,
            tsa_url: None,
            tsa_cooldown_secs: 30,
            signature_level: "B-T".into(),
            issuer: IssuerConfig::default(),
            numbering: NumberingPolicy::default(),
            fees: FeeSchedule::default(),
            pki: PkiConfig::default(),
            storage: StorageConfig::default(),
            intake: IntakeConfig::default(),
            identity: IdentityConfig::default(),
            payment: PaymentConfig::default(),
            delivery: DeliveryConfig::default(),
            dossiers: DossiersConfig::default(),
            limits: LimitsConfig::default(),
            orphan_grace_minutes: 60,
            sweep_every_minutes: 60,
        }
    }
}

/// Redacts the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:<redacted>{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("public_base_url", &self.public_base_url)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("issuer", &self.issuer)
            .field("numbering", &self.numbering)
            .field("fees", &self.fees)
            .field("storage", &self.storage)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Flags that override the file and the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Overlays `target` with the number in the environment variable `name`, if set.
fn env_number<T: std::str::FromStr>(name: &str, target: &mut T) -> Result<()> {
    if let Some(v) = env(name) {
        *target = v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name} must be a whole number, not {v:?}"))?;
    }
    Ok(())
}

impl Config {
    /// Loads the configuration: defaults ← file ← environment ← flags.
    pub fn load(o: &Overrides) -> Result<Self> {
        let data_dir_hint = o
            .data_dir
            .clone()
            .or_else(|| env("BANSO_DATA_DIR").map(PathBuf::from));
        let file = o
            .config_file
            .clone()
            .or_else(|| env("BANSO_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let p = data_dir_hint
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("./banso-data"))
                    .join("banso.toml");
                p.exists().then_some(p)
            });
        let mut config = match &file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<Config>(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => Config::default(),
        };
        if let Some(v) = data_dir_hint {
            config.data_dir = v;
        }
        if let Some(v) = env("BANSO_LISTEN") {
            config.listen = v;
        }
        if let Some(v) = env("BANSO_PUBLIC_BASE_URL") {
            config.public_base_url = Some(v);
        }
        if let Some(v) = env("BANSO_DATABASE_URL") {
            config.database_url = Some(v);
        }
        if let Some(v) = env("BANSO_DATABASE_CA_FILE") {
            config.database_ca_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("BANSO_SIGNATURE_LEVEL") {
            config.signature_level = v;
        }
        if let Some(v) = env("BANSO_INTAKE") {
            config.intake.enabled = match v.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => bail!("BANSO_INTAKE must be on or off"),
            };
        }
        if let Some(v) = env("BANSO_CSCA") {
            config.identity.csca = v
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
        }
        if let Some(v) = env("BANSO_OIDC_ISSUER") {
            config.identity.oidc_issuer = Some(v);
        }
        if let Some(v) = env("BANSO_OIDC_CLIENT_ID") {
            config.identity.oidc_client_id = Some(v);
        }
        if let Some(v) = env("BANSO_OIDC_SCOPE") {
            config.identity.oidc_scope = Some(v);
        }
        if let Some(v) = env("BANSO_SMTP_URL") {
            config.delivery.smtp_url = Some(v);
        }
        if let Some(v) = env("BANSO_MAIL_FROM") {
            config.delivery.mail_from = Some(v);
        }
        if let Some(v) = env("BANSO_DOSSIER_BODY_CODE") {
            config.dossiers.body_code = v;
        }
        if let Some(v) = env("BANSO_DOSSIER_CUTOFF") {
            config.dossiers.cutoff = v;
        }
        if let Some(v) = env("BANSO_WEBHOOKS") {
            config.dossiers.webhooks = v
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|pair| {
                    let (url, file) = pair.trim().split_once('|').ok_or_else(|| {
                        anyhow::anyhow!("BANSO_WEBHOOKS holds URL|SECRET_FILE pairs, not {pair:?}")
                    })?;
                    Ok(WebhookConfig {
                        url: url.to_string(),
                        secret_file: PathBuf::from(file),
                    })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = env("BANSO_DELIVERY_RETRY_SECS") {
            config.dossiers.retry_base_secs = v.parse().context("BANSO_DELIVERY_RETRY_SECS")?;
        }
        if let Some(v) = env("BANSO_DELIVERY_MAX_ATTEMPTS") {
            config.dossiers.max_attempts = v.parse().context("BANSO_DELIVERY_MAX_ATTEMPTS")?;
        }
        if let Some(v) = env("BANSO_VNPAY_URL") {
            config.payment.vnpay_url = Some(v);
        }
        if let Some(v) = env("BANSO_VNPAY_TMN_CODE") {
            config.payment.vnpay_tmn_code = Some(v);
        }
        if let Some(v) = env("BANSO_VNPAY_SECRET_FILE") {
            config.payment.vnpay_secret_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("BANSO_TSA_URL") {
            config.tsa_url = Some(v);
        }
        if let Some(v) = env("BANSO_CAPABILITY_SECRET_FILE") {
            config.capability_secret_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("BANSO_MAX_UPLOAD_BYTES") {
            config.max_upload_bytes = v
                .parse()
                .context("BANSO_MAX_UPLOAD_BYTES must be a number of bytes")?;
        }
        let s = &mut config.storage;
        env_number("BANSO_ORPHAN_GRACE_MINUTES", &mut config.orphan_grace_minutes)?;
        env_number("BANSO_TSA_COOLDOWN_SECS", &mut config.tsa_cooldown_secs)?;
        env_number("BANSO_SWEEP_EVERY_MINUTES", &mut config.sweep_every_minutes)?;
        let l = &mut config.limits;
        env_number("BANSO_HEADER_TIMEOUT_SECS", &mut l.header_timeout_secs)?;
        env_number("BANSO_BODY_TIMEOUT_SECS", &mut l.body_timeout_secs)?;
        env_number("BANSO_MAX_CONNECTIONS", &mut l.max_connections)?;
        env_number("BANSO_MAX_VERIFY_BYTES", &mut l.max_verify_bytes)?;
        env_number("BANSO_ANONYMOUS_BODY_BUDGET", &mut l.anonymous_body_budget)?;
        env_number("BANSO_MAX_SMALL_BODY_BYTES", &mut l.max_small_body_bytes)?;
        env_number("BANSO_VERIFY_CONCURRENCY", &mut l.verify_concurrency)?;
        env_number("BANSO_VERIFY_QUEUE", &mut l.verify_queue)?;
        env_number("BANSO_LOOKUPS_PER_MINUTE", &mut l.lookups_per_minute)?;
        env_number("BANSO_VERIFICATIONS_PER_MINUTE", &mut l.verifications_per_minute)?;
        env_number("BANSO_TIMESTAMPS_PER_MINUTE", &mut l.timestamps_per_minute)?;
        env_number("BANSO_RATE_LIMITED_CLIENTS", &mut l.rate_limited_clients)?;
        if let Some(v) = env("BANSO_TRUSTED_PROXIES") {
            l.trusted_proxies = TrustedProxies::try_from(
                v.split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| anyhow::anyhow!("BANSO_TRUSTED_PROXIES: {e}"))?;
        }
        if let Some(v) = env("BANSO_PROXY_HEADER") {
            l.proxy_header = v
                .parse()
                .map_err(|e| anyhow::anyhow!("BANSO_PROXY_HEADER: {e}"))?;
        }
        if let Some(v) = env("BANSO_STORAGE") {
            s.kind = Some(v);
        }
        if let Some(v) = env("BANSO_S3_ENDPOINT") {
            s.endpoint = Some(v);
            s.kind.get_or_insert_with(|| "s3".into());
        }
        if let Some(v) = env("BANSO_S3_BUCKET") {
            s.bucket = Some(v);
        }
        if let Some(v) = env("BANSO_S3_REGION") {
            s.region = Some(v);
        }
        if let Some(v) = env("BANSO_S3_ACCESS_KEY_ID") {
            s.access_key_id = Some(v);
        }
        s.secret_access_key = match (&s.secret_access_key_file, env("BANSO_S3_SECRET_ACCESS_KEY")) {
            (_, Some(v)) => Some(v),
            (Some(path), None) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        if let Some(v) = &o.listen {
            config.listen = v.clone();
        }
        let l = &config.limits;
        if l.header_timeout_secs == 0
            || l.body_timeout_secs == 0
            || l.max_connections == 0
            || l.max_verify_bytes == 0
            || l.anonymous_body_budget < l.max_small_body_bytes
            || l.verify_concurrency == 0
        {
            bail!("[limits]: timeouts, connections, verify sizes and concurrency must be positive, and the anonymous body budget at least max_small_body_bytes");
        }
        if config.max_upload_bytes == 0 {
            bail!("max_upload_bytes must be positive");
        }
        // Everything a command would otherwise find wrong only when it reaches it is refused here, at load.
        if banso_trust::longterm::parse_level(&config.signature_level).is_none() {
            bail!(
                "signature_level must be B-B, B-T, B-LT or B-LTA, not {:?}",
                config.signature_level
            );
        }
        if !matches!(config.storage.kind.as_deref(), None | Some("local") | Some("s3")) {
            bail!("storage.kind must be local or s3");
        }
        if config.storage.kind.as_deref() == Some("s3") && config.storage.endpoint.is_none() {
            bail!("storage.endpoint is required for s3");
        }
        if config.max_copies == 0 {
            bail!("max_copies must be positive");
        }
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("banso.db").display()))
    }

    pub fn public_base_url(&self) -> String {
        self.public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn pki_dir(&self) -> PathBuf {
        self.data_dir.join("pki")
    }

    pub fn objects_dir(&self) -> PathBuf {
        self.data_dir.join("objects")
    }
}

pub use banso_trust::files::write_private;

impl Config {
    /// What the trust services need of the configuration.
    pub fn trust_settings(&self) -> banso_trust::pki::TrustSettings {
        banso_trust::pki::TrustSettings {
            country: self.pki.country.clone(),
            organization: self.pki.organization.clone(),
            root_cn: self.pki.root_cn.clone(),
            issuing_cn: self.pki.issuing_cn.clone(),
            seal_cn: self.pki.seal_cn.clone(),
            tsa_url: self.tsa_url.clone(),
            tsa_cooldown: std::time::Duration::from_secs(self.tsa_cooldown_secs.clamp(1, 300)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://banso:s3cret@db:5432/banso"),
            "postgres://banso:<redacted>@db:5432/banso"
        );
        assert_eq!(redact_url("sqlite:./x.db"), "sqlite:./x.db");
        let c = Config {
            database_url: Some("postgres://u:pw@h/d".into()),
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("pw@"));
    }

    #[test]
    fn settings_that_would_fail_later_are_refused_at_load() {
        let dir = tempfile::TempDir::new().unwrap();
        let load = |text: &str| {
            let file = dir.path().join("banso.toml");
            std::fs::write(&file, text).unwrap();
            Config::load(&Overrides {
                config_file: Some(file),
                data_dir: Some(dir.path().join("data")),
                listen: None,
            })
        };
        assert!(load("signature_level = \"B-LTA\"\n").is_ok());
        let e = load("signature_level = \"B-X\"\n").err().unwrap().to_string();
        assert!(e.contains("signature_level"), "{e}");
        assert!(load("[storage]\nkind = \"ftp\"\n").is_err());
        assert!(
            load("[storage]\nkind = \"s3\"\n").is_err(),
            "s3 without an endpoint"
        );
        assert!(load("max_copies = 0\n").is_err());
        assert!(load("[limits]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").is_ok());
        let e = format!(
            "{:#}",
            load("[limits]\ntrusted_proxies = [\"10.0.0.0/33\"]\n")
                .err()
                .unwrap()
        );
        assert!(e.contains("trusted_proxies"), "{e}");
    }

    #[test]
    fn the_client_behind_trusted_proxies_is_the_first_address_they_did_not_add() {
        use axum::http::{HeaderMap, HeaderValue};
        let proxies =
            TrustedProxies::try_from(vec!["10.0.0.0/8".to_string(), "2001:db8::1".to_string()]).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let client =
            |peer: &str, values: &[&str]| proxies.client(ip(peer), &with(values), ProxyHeader::XForwardedFor);
        // Anyone else's header is not believed.
        assert_eq!(client("203.0.113.5", &["198.51.100.1"]), ip("203.0.113.5"));
        // One proxy; what the client wrote itself stands to the left and is not reached.
        assert_eq!(client("10.1.2.3", &["198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(client("10.1.2.3", &["6.6.6.6, 198.51.100.1"]), ip("198.51.100.1"));
        // Two proxies, in one header or in two; addresses with ports; a v4-mapped connection.
        assert_eq!(
            client("10.1.2.3", &["6.6.6.6, 198.51.100.1, 10.9.9.9"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.1.2.3", &["6.6.6.6, 198.51.100.1", "10.9.9.9:4431"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("::ffff:10.1.2.3", &["[2001:db8::7]:443"]),
            ip("2001:db8::7")
        );
        assert_eq!(client("2001:db8::1", &["198.51.100.1"]), ip("198.51.100.1"));
        // No header, junk, or only trusted hops: the last trusted hop stands for the client.
        assert_eq!(client("10.1.2.3", &[]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3", &["6.6.6.6, unknown"]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3", &["junk, 10.4.4.4"]), ip("10.4.4.4"));
        assert_eq!(
            client("10.1.2.3", &["198.51.100.1, ,10.9.9.9,"]),
            ip("198.51.100.1")
        );
        // Nothing trusted (the default): never believed.
        assert_eq!(
            TrustedProxies::default().client(
                ip("10.1.2.3"),
                &with(&["198.51.100.1"]),
                ProxyHeader::XForwardedFor
            ),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn whatever_a_client_writes_ahead_of_its_proxys_entry_the_entry_names_it() {
        use axum::http::{HeaderMap, HeaderValue};
        let proxies = TrustedProxies::try_from(vec!["10.0.0.0/8".to_string()]).unwrap();
        let peer: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        let citizen: std::net::IpAddr = "198.51.100.77".parse().unwrap();
        // The bytes that mean something to the parsers, and some that do not.
        let alphabet = b"\"\\,;=[]:_ forFOR0123456789.abcdef\xff\x80\t";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let junk: Vec<u8> = (0..next() % 24)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            for (name, header, entry) in [
                ("x-forwarded-for", ProxyHeader::XForwardedFor, ", 198.51.100.77"),
                ("forwarded", ProxyHeader::Forwarded, ", for=198.51.100.77"),
                (
                    "forwarded",
                    ProxyHeader::Forwarded,
                    ", for=\"198.51.100.77:8443\";proto=https",
                ),
            ] {
                let value = [junk.as_slice(), entry.as_bytes()].concat();
                let mut h = HeaderMap::new();
                h.append(name, HeaderValue::from_bytes(&value).unwrap());
                assert_eq!(
                    proxies.client(peer, &h, header),
                    citizen,
                    "round {round}: {}",
                    String::from_utf8_lossy(&value)
                );
            }
        }
    }

    #[test]
    fn behind_proxies_that_write_rfc_7239_the_client_is_the_first_for_they_did_not_add() {
        use axum::http::{HeaderMap, HeaderValue};
        let proxies =
            TrustedProxies::try_from(vec!["10.0.0.0/8".to_string(), "2001:db8::1".to_string()]).unwrap();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let with = |name: &'static str, values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(name, HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let client = |peer: &str, values: &[&str]| {
            proxies.client(ip(peer), &with("forwarded", values), ProxyHeader::Forwarded)
        };
        // The forms of RFC 7239 §4 and §6: a bare address, quoted with a port, IPv6 in brackets, other
        // parameters beside `for` in any order and case.
        assert_eq!(client("10.1.2.3", &["for=198.51.100.1"]), ip("198.51.100.1"));
        assert_eq!(
            client("10.1.2.3", &["for=\"198.51.100.1:4711\";proto=https"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(
                "10.1.2.3",
                &["proto=http;For=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1"]
            ),
            ip("2001:db8:cafe::17")
        );
        // Two proxies, in one header or two; what the client wrote itself stands to the left.
        assert_eq!(
            client("10.1.2.3", &["for=6.6.6.6, for=198.51.100.1, for=10.9.9.9"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client(
                "10.1.2.3",
                &["for=6.6.6.6, for=198.51.100.1", "for=10.9.9.9;proto=https"]
            ),
            ip("198.51.100.1")
        );
        // A client's unbalanced quote or comma inside quotes cannot change how the proxy's element is read.
        assert_eq!(
            client("10.1.2.3", &["for=\"6.6.6.6, for=198.51.100.1"]),
            ip("198.51.100.1")
        );
        assert_eq!(
            client("10.1.2.3", &["host=\"a,b\";for=198.51.100.1"]),
            ip("198.51.100.1")
        );
        // A proxy's quoted value holding a client's escaped quote (a `host` copied from the request) does not end
        // early, and so cannot pull the client's own `for` into the proxy's element.
        assert_eq!(
            client("10.1.2.3", &["for=6.6.6.6;y=\", for=203.0.113.9;host=\"a\\\"b\""]),
            ip("203.0.113.9")
        );
        // Obfuscated ports are ports; an IPv6 address must be bracketed (else `2001:db8::1:4711` is ambiguous).
        assert_eq!(client("10.1.2.3", &["for=\"192.0.2.43:_p1\""]), ip("192.0.2.43"));
        assert_eq!(
            client("10.1.2.3", &["for=\"[2001:db8::17]:_x.y-z\""]),
            ip("2001:db8::17")
        );
        assert_eq!(client("10.1.2.3", &["for=\"2001:db8::1:4711\""]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3", &["for=192.0.2.43:123456"]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3", &["for=192.0.2.43:_"]), ip("10.1.2.3"));
        // Empty list elements are skipped.
        assert_eq!(
            client("10.1.2.3", &["for=198.51.100.1, , for=10.9.9.9,"]),
            ip("198.51.100.1")
        );
        // `unknown`, an obfuscated node, no `for`, or two of them: the last trusted hop stands for the client.
        assert_eq!(client("10.1.2.3", &["for=unknown"]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3", &["for=_hidden, for=10.4.4.4"]), ip("10.4.4.4"));
        assert_eq!(client("10.1.2.3", &["proto=https"]), ip("10.1.2.3"));
        assert_eq!(client("10.1.2.3", &["for=6.6.6.6;for=7.7.7.7"]), ip("10.1.2.3"));
        // Only the configured header is read: the other kind, which a client may send, is never believed.
        assert_eq!(
            proxies.client(
                ip("10.1.2.3"),
                &with("x-forwarded-for", &["198.51.100.1"]),
                ProxyHeader::Forwarded
            ),
            ip("10.1.2.3")
        );
        assert_eq!(
            proxies.client(
                ip("10.1.2.3"),
                &with("forwarded", &["for=198.51.100.1"]),
                ProxyHeader::XForwardedFor
            ),
            ip("10.1.2.3")
        );
        // Anyone else's header is not believed.
        assert_eq!(client("203.0.113.5", &["for=198.51.100.1"]), ip("203.0.113.5"));
        // Bytes that are not text, written by a client ahead of its proxy's entry in the same line, are never
        // reached: they neither stop the walk at the proxy nor hide the client.
        for (name, header, value) in [
            (
                "forwarded",
                ProxyHeader::Forwarded,
                b"for=\xff\xfe, for=198.51.100.1".as_slice(),
            ),
            (
                "x-forwarded-for",
                ProxyHeader::XForwardedFor,
                b"\xff\xfe, 198.51.100.1".as_slice(),
            ),
        ] {
            let mut h = HeaderMap::new();
            h.append(name, HeaderValue::from_bytes(value).unwrap());
            assert_eq!(
                proxies.client(ip("10.1.2.3"), &h, header),
                ip("198.51.100.1"),
                "{name}"
            );
        }
        // The setting's spellings.
        assert_eq!("Forwarded".parse(), Ok(ProxyHeader::Forwarded));
        assert_eq!(" x-forwarded-for".parse(), Ok(ProxyHeader::XForwardedFor));
        assert!("x-real-ip".parse::<ProxyHeader>().is_err());
        let limits = |text: &str| toml::from_str::<LimitsConfig>(text).ok().map(|l| l.proxy_header);
        assert_eq!(
            limits("proxy_header = \"forwarded\""),
            Some(ProxyHeader::Forwarded)
        );
        assert_eq!(limits(""), Some(ProxyHeader::XForwardedFor));
        assert!(limits("proxy_header = \"x-real-ip\"").is_none());
    }

    #[test]
    fn unknown_fields_are_refused() {
        assert!(toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisen = 1\n").is_err());
        let c: Config = toml::from_str("[numbering]\nsuffix = \"SCTĐT/BS\"\nbook_capacity = 200\n").unwrap();
        assert_eq!(c.numbering.suffix, "SCTĐT/BS");
    }
}
