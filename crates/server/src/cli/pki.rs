//! `banso pki`: the installation's PKI (init, import, export the root, the root ceremony, revocations).

use crate::*;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Print the root certificate (PEM) to trust in validators.
    ExportRoot,
    /// Create the hierarchy: root CA, issuing CA, organisation seal, officers, TSA and OCSP responder. The
    /// root's statements (its CRL, its OCSP answer on the issuing CA) are signed ahead; then move
    /// `pki/root.key` to offline storage: `serve` never reads it.
    Init {
        /// An officer who signs copies they approve (repeatable).
        #[arg(long)]
        officer: Vec<String>,
        /// The URL the certificates' CRL and OCSP pointers use (default: the public base URL).
        #[arg(long)]
        base_url: Option<String>,
        /// Keep the organisation seal's key in a PKCS#11 token: it is created there and never leaves it.
        #[command(flatten)]
        pkcs11: trust::Pkcs11Args,
    },
    /// Import an externally issued chain (root, issuing CA, seal certificate and its key).
    Import {
        #[arg(long)]
        root: PathBuf,
        #[arg(long)]
        issuing: PathBuf,
        #[arg(long)]
        seal_cert: PathBuf,
        /// The seal's private key (PEM). Or give a key already in a token with --pkcs11-module.
        #[arg(long)]
        seal_key: Option<PathBuf>,
        #[command(flatten)]
        pkcs11: trust::Pkcs11Args,
    },
    /// The offline ceremony: sign the root's CRL and its OCSP answer on the issuing CA again (before they
    /// expire, or after revoking the issuing CA) with the root key brought from offline storage.
    RootStatus {
        /// The root CA's private key (PEM).
        #[arg(long)]
        root_key: PathBuf,
        /// How long the statements stay valid (1 to 3650 days).
        #[arg(long, default_value_t = trust::ROOT_STATUS_DAYS, value_parser = clap::value_parser!(i64).range(1..=3650))]
        days: i64,
    },
    /// Revoke one of this CA's certificates (by hex serial): its CRL and OCSP answers say so from now on.
    RevokeCert {
        serial: String,
        /// RFC 5280 reason code (1 key compromise, 4 superseded, 5 cessation of operation …).
        #[arg(long, default_value_t = 0)]
        reason: u8,
    },
}

pub async fn run(command: PkiCommand, common: &Common) -> Result<u8, Failure> {
    match command {
        PkiCommand::Init {
            officer,
            base_url,
            pkcs11,
        } => {
            let config = Config::load(&overrides(common, None))?;
            let base = base_url.unwrap_or_else(|| config.public_base_url());
            trust::init(&config.pki_dir(), &config.trust_settings(), &officer, &base)?;
            if let Some(hsm) = pkcs11.seal() {
                trust::init_hsm_seal(&config.pki_dir(), &config.trust_settings(), &hsm)?;
                println!(
                    "the organisation seal key lives in token {:?} as {:?}",
                    hsm.token, hsm.key_label
                );
            }
            println!(
                "PKI created in {} (pointers at {base}); move root.key to offline storage: `banso pki root-status \
                 --root-key FILE` renews the root's statements within {} days",
                config.pki_dir().display(),
                trust::ROOT_STATUS_DAYS
            );
            Ok(0)
        }
        PkiCommand::RootStatus { root_key, days } => {
            let config = Config::load(&overrides(common, None))?;
            let registry = open_registry(&config).await?;
            let revoked = registry
                .ca_revocations()
                .await
                .map_err(|e| Failure::domain(e.into(), false))?;
            trust::RootStatus::sign(
                &config.pki_dir(),
                &root_key,
                time::OffsetDateTime::now_utc(),
                days,
                &revoked,
            )?;
            println!(
                "the root's CRL and its OCSP answer on the issuing CA are signed, valid {days} days ({})",
                config.pki_dir().join("root-status").display()
            );
            Ok(0)
        }
        PkiCommand::RevokeCert { serial, reason } => {
            let config = Config::load(&overrides(common, None))?;
            let registry = open_registry(&config).await?;
            let Some(serial) = banso_core::ports::CaRevocation::normalise_serial(&serial) else {
                return Ok(output::fail(
                    false,
                    &Error::new(
                        banso_core::Code::Req0001Malformed,
                        format!("{serial:?} is not a certificate serial number (hexadecimal, e.g. 1A:2B:3C)"),
                    ),
                ));
            };
            let revocation = banso_core::ports::CaRevocation {
                serial,
                revoked_at: time::OffsetDateTime::now_utc(),
                reason,
            };
            let new = registry
                .add_ca_revocation(&revocation)
                .await
                .map_err(|e| Failure::domain(e.into(), false))?;
            // Every server on this registry answers it from its next OCSP or CRL request; the issuing CA's own
            // revocation reaches the root's statements at the next ceremony (`pki root-status`).
            if new {
                println!("revoked {}", revocation.serial);
            } else {
                println!("{} was revoked already", revocation.serial);
            }
            Ok(0)
        }
        PkiCommand::Import {
            root,
            issuing,
            seal_cert,
            seal_key,
            pkcs11,
        } => {
            let config = Config::load(&overrides(common, None))?;
            let hsm = pkcs11.seal();
            trust::import(
                &config.pki_dir(),
                &root,
                &issuing,
                &seal_cert,
                seal_key.as_deref(),
                hsm.as_ref(),
            )?;
            println!("imported the chain into {}", config.pki_dir().display());
            Ok(0)
        }
        PkiCommand::ExportRoot => {
            let config = Config::load(&overrides(common, None))?;
            std::fs::create_dir_all(&config.data_dir).context("creating the data folder")?;
            let trust = trust::TrustServices::open(
                &config.pki_dir(),
                &config.trust_settings(),
                &config.public_base_url(),
            )?;
            print!("{}", trust.root_pem());
            Ok(0)
        }
    }
}
