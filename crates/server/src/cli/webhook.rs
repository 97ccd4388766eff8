//! `banso webhook`: checking a dossier webhook as its receiver would (the same scheme banso signs with).

use crate::*;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Check a received webhook: its signature over the id, timestamp and body, and that its timestamp is
    /// fresh (a replay of an old one is refused). Exit 0 when it verifies; HOOK-0001 / HOOK-0002 otherwise.
    Verify {
        /// A file holding the subscriber's `whsec_…` secret.
        #[arg(long)]
        secret_file: PathBuf,
        /// The `webhook-id` header.
        #[arg(long)]
        id: String,
        /// The `webhook-timestamp` header.
        #[arg(long)]
        timestamp: String,
        /// The `webhook-signature` header.
        #[arg(long)]
        signature: String,
        /// The body as received.
        #[arg(long)]
        body_file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: WebhookCommand) -> Result<u8, Failure> {
    match command {
        WebhookCommand::Verify {
            secret_file,
            id,
            timestamp,
            signature,
            body_file,
            json,
        } => {
            let secret = std::fs::read_to_string(&secret_file)
                .with_context(|| format!("reading {}", secret_file.display()))?;
            let body =
                std::fs::read(&body_file).with_context(|| format!("reading {}", body_file.display()))?;
            let checked = banso_core::dossier::webhook::secret_bytes(&secret).and_then(|key| {
                banso_core::dossier::webhook::verify(
                    &key,
                    &id,
                    &timestamp,
                    &signature,
                    &body,
                    time::OffsetDateTime::now_utc(),
                )
            });
            match checked {
                Ok(()) if json => {
                    println!("{}", serde_json::json!({"valid": true, "id": id}));
                    Ok(0)
                }
                Ok(()) => {
                    println!("valid: {id}");
                    Ok(0)
                }
                Err(e) => Ok(output::fail(json, &e)),
            }
        }
    }
}
