//! `banso officer`: back-office accounts.

use crate::*;

/// The roles an account can have, as the command line names them.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum OfficeRoleArg {
    Officer,
    Supervisor,
    Administrator,
    Auditor,
}

impl From<OfficeRoleArg> for banso_core::office::OfficeRole {
    fn from(r: OfficeRoleArg) -> Self {
        use banso_core::office::OfficeRole;
        match r {
            OfficeRoleArg::Officer => OfficeRole::Officer,
            OfficeRoleArg::Supervisor => OfficeRole::Supervisor,
            OfficeRoleArg::Administrator => OfficeRole::Administrator,
            OfficeRoleArg::Auditor => OfficeRole::Auditor,
        }
    }
}

#[derive(Subcommand)]
pub enum OfficerCommand {
    /// Make an account. The password is read from a file (never from the command line, where other users of
    /// the machine could see it); the second factor's secret is printed once, as base32 and as an otpauth://
    /// address for an authenticator app.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: OfficeRoleArg,
        /// The issuing body the account belongs to (default: the installation's).
        #[arg(long)]
        body: Option<String>,
        #[arg(long)]
        password_file: std::path::PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check the audit log's chain from its first entry: exit 0 when intact, 1 with the first broken entry.
    AuditCheck {
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: OfficerCommand, common: &Common) -> Result<u8, Failure> {
    match command {
        OfficerCommand::Create {
            username,
            name,
            role,
            body,
            password_file,
            json,
        } => {
            let password = std::fs::read_to_string(&password_file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", password_file.display()))?;
            let app = open(common).await?;
            let body = body.unwrap_or_else(|| app.config.issuer.body.clone());
            let made = app
                .service
                .create_officer(
                    "cli",
                    "command line",
                    banso_core::service::NewOfficer {
                        username,
                        full_name: name,
                        role: role.into(),
                        body,
                        password: password.trim_end_matches(['\r', '\n']).to_string(),
                    },
                )
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "username": made.username,
                        "role": made.role.as_str(),
                        "body": made.body,
                        "totp_secret": made.totp_secret,
                        "otpauth": made.otpauth,
                    })
                );
            } else {
                println!("{} ({}, {})", made.username, made.role.as_str(), made.body);
                println!("second factor (shown once): {}", made.totp_secret);
                println!("{}", made.otpauth);
            }
            Ok(0)
        }
        OfficerCommand::AuditCheck { json } => {
            let app = open(common).await?;
            let broken = app
                .service
                .audit_check()
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "intact": broken.is_none(), "first_broken": broken })
                );
            } else {
                match broken {
                    None => println!("the audit log is intact"),
                    Some(seq) => println!("the audit log breaks at entry {seq}"),
                }
            }
            Ok(u8::from(broken.is_some()))
        }
    }
}
