//! The kiosk's peripherals: the scanner (a SANE device through `scanimage`, or a folder of page images fed
//! in order, for demonstrations and tests) and the chip card reader (PC/SC through pcscd).

use anyhow::{anyhow, bail, Context, Result};
use banso_identity::emrtd::reader::{read_chip, BacOrPace, ChipData, Unverified};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Where scans come from.
pub enum Scanner {
    /// A SANE device name (e.g. `test`, or `epjitsu:libusb:001:004`).
    Sane(String),
    /// A folder of page images, taken in name order, one per scan (then from the start again).
    Files { dir: PathBuf, next: Mutex<usize> },
}

/// Resolution pages are scanned at (the intake reads text at 300 dpi; the SANE test device is slow at it).
pub const SCAN_DPI: u32 = 300;

impl Scanner {
    /// `file:DIR` or a SANE device name.
    pub fn parse(spec: &str) -> Self {
        match spec.strip_prefix("file:") {
            Some(dir) => Scanner::Files {
                dir: PathBuf::from(dir),
                next: Mutex::new(0),
            },
            None => Scanner::Sane(spec.to_string()),
        }
    }

    /// Scans one page: PNG bytes.
    pub async fn scan(&self) -> Result<Vec<u8>> {
        match self {
            Scanner::Sane(device) => {
                let out = tokio::time::timeout(
                    Duration::from_secs(120),
                    tokio::process::Command::new("scanimage")
                        .args(["-d", device, "--format=png", "--mode", "Color"])
                        .arg(format!("--resolution={SCAN_DPI}"))
                        .kill_on_drop(true)
                        .output(),
                )
                .await
                .map_err(|_| anyhow!("the scanner did not answer within two minutes"))?
                .context("running scanimage")?;
                if !out.status.success() || !out.stdout.starts_with(b"\x89PNG") {
                    bail!(
                        "the scanner failed: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                Ok(out.stdout)
            }
            Scanner::Files { dir, next } => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                    .with_context(|| format!("reading {}", dir.display()))?
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "png"))
                    .collect();
                files.sort();
                if files.is_empty() {
                    bail!("no page images in {}", dir.display());
                }
                let index = {
                    let mut n = next.lock().unwrap_or_else(|p| p.into_inner());
                    let i = *n % files.len();
                    *n += 1;
                    i
                };
                Ok(std::fs::read(&files[index])?)
            }
        }
    }
}

/// Reads the chip on the reader named (a substring of its PC/SC name) with the MRZ information the citizen
/// typed, having it sign the central service's `nonce`. Blocking: call from a blocking thread.
pub fn read_card(reader: &str, mrz_information: &str, nonce: [u8; 8]) -> Result<ChipData<Unverified>> {
    let mut card = banso_identity::pcsc_transport::PcscCard::wait(reader, Duration::from_secs(15))
        .map_err(|e| anyhow!("no card on the reader: {e}"))?;
    read_chip(&mut card, mrz_information, BacOrPace::PreferPace, nonce).map_err(|e| anyhow!("{e}"))
}
