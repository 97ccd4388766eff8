//! `banso log`: the transparency log (signed checkpoints, audits).

use crate::*;

#[derive(Subcommand)]
pub enum LogCommand {
    /// Print a signed checkpoint (JSON) of the log's current head; keep it to audit later.
    Checkpoint,
    /// Check that the log only grew since a checkpoint and that every registry row is in it.
    Audit {
        /// A checkpoint printed earlier by `banso log checkpoint` or the API.
        #[arg(long)]
        from: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: LogCommand, common: &Common) -> Result<u8, Failure> {
    match command {
        LogCommand::Checkpoint => {
            let app = open(common).await?;
            let cp = app.log_key.checkpoint(&app.service).await?;
            println!("{}", serde_json::to_string_pretty(&cp).context("JSON")?);
            Ok(0)
        }
        LogCommand::Audit { from, json } => {
            let app = open(common).await?;
            let trusted = match &from {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let cp: translog::Checkpoint = serde_json::from_str(&text).context("not a checkpoint")?;
                    Some(app.log_key.verify(&cp)?)
                }
                None => None,
            };
            let report = app
                .service
                .audit_log(trusted)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                println!(
                    "log size {}, root {}, {} copies checked",
                    report.tree_size, report.root_hash, report.copies_checked
                );
                for p in &report.problems {
                    println!("PROBLEM: {p}");
                }
                println!("{}", if report.ok { "AUDIT OK" } else { "AUDIT FAILED" });
            }
            Ok(if report.ok { 0 } else { 1 })
        }
    }
}
