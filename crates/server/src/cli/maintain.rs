//! `banso maintain`: upkeep (LTA extension and renewal, the sweep, the check of every copy).

use crate::*;

#[derive(Subcommand)]
pub enum MaintainCommand {
    /// Extend valid copies to PAdES B-LTA and renew archive timestamps before their TSA certificate expires.
    Lta {
        /// Renew when the TSA certificate of the newest archive timestamp expires within this many days.
        #[arg(long, default_value_t = 365)]
        renew_within_days: i64,
        /// Renew every copy now.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove stored objects no registry row names (left by an issuance a crash cut short) that are older
    /// than the grace period; report what was removed. `banso serve` also does this periodically.
    Sweep {
        /// Leave objects younger than this many minutes (an issuance may still be writing them).
        #[arg(long)]
        grace_minutes: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Read every copy's stored file back and verify it (signatures, that the registry issued this very file
    /// under its code, its status): after a restore, any copy that fails is one lost. Exits 1 if any fails.
    Check {
        /// Copies checked at once.
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: MaintainCommand, common: &Common) -> Result<u8, Failure> {
    match command {
        MaintainCommand::Lta {
            renew_within_days,
            force,
            json,
        } => {
            let app = open(common).await?;
            let report = longterm::maintain(
                &app.service,
                &app.trust,
                time::Duration::days(renew_within_days),
                force,
            )
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                println!(
                    "examined {}, extended to B-LTA {}, renewed {}, up to date {}, failed {}",
                    report.examined,
                    report.extended,
                    report.renewed,
                    report.up_to_date,
                    report.failed.len()
                );
                for f in &report.failed {
                    println!("FAILED: {f}");
                }
            }
            Ok(if report.failed.is_empty() { 0 } else { 1 })
        }
        MaintainCommand::Sweep { grace_minutes, json } => {
            let app = open(common).await?;
            let grace = grace_minutes.unwrap_or(app.config.orphan_grace_minutes);
            let report = app
                .service
                .sweep_orphans(time::Duration::minutes(grace as i64))
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                println!(
                    "examined {}, kept {}, younger than {grace} min {}, removed {} ({} bytes), unknown {}; \
                     book numbers voided (issuance never finished) {}",
                    report.examined,
                    report.kept,
                    report.too_recent,
                    report.removed.len(),
                    report.removed_bytes,
                    report.unknown.len(),
                    report.voided_numbers
                );
                for key in &report.removed {
                    println!("removed {key}");
                }
            }
            Ok(0)
        }
        MaintainCommand::Check { concurrency, json } => {
            let app = open(common).await?;
            let started = std::time::Instant::now();
            let report = app
                .service
                .check_copies(concurrency)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            let seconds = started.elapsed().as_secs_f64();
            if json {
                let mut value = serde_json::to_value(&report).context("JSON")?;
                value["seconds"] = serde_json::json!(seconds);
                println!("{}", serde_json::to_string_pretty(&value).context("JSON")?);
            } else {
                println!(
                    "checked {} copies in {seconds:.1} s: {} valid, {} revoked or cancelled (file intact), {} failed",
                    report.checked, report.valid, report.not_valid, report.failed_count
                );
                for f in &report.failed {
                    println!("FAILED: {f}");
                }
            }
            Ok(if report.failed_count == 0 { 0 } else { 1 })
        }
    }
}
