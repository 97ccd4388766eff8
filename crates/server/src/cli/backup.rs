//! `banso backup` and `banso restore`: a consistent copy of an installation taken while it serves, and a new
//! installation made from one.
//!
//! A backup folder holds, in this order of taking:
//! - `registry.sqlite` (SQLite's `VACUUM INTO`: one read transaction, so one instant) or `registry.pgdump`
//!   (`pg_dump`, one snapshot);
//! - `objects/…`: every stored object, listed and read *after* the registry's snapshot. A row is committed only
//!   after its objects are written, and issued objects are never deleted (a new version is written beside the
//!   old), so every object a row of the snapshot names is there; objects of later issuances are extra, and the
//!   sweeper removes them from the restored installation;
//! - `keys/pki/…` and `keys/secrets/…`: the installation's keys, except the offline root's private key (never
//!   copied: it stays offline);
//! - `config/banso.toml`, when the installation has a configuration file;
//! - `manifest.json`: what was taken, with every file's SHA-256, written last (a folder without it is not a
//!   backup).
//!
//! `restore` refuses a target that holds anything (a registry, objects or keys): it makes a new installation,
//! never merges into one. It checks every file against the manifest before writing anything.

use crate::*;
use anyhow::{anyhow, bail};
use app::open_blobs;
use config::write_private;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Component, Path};
use time::OffsetDateTime;

const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "registry.sqlite";
const PG_FILE: &str = "registry.pgdump";

#[derive(Serialize, Deserialize)]
struct Manifest {
    format: u32,
    banso_version: String,
    taken_at: String,
    /// `sqlite` or `postgres`.
    database: String,
    objects: u64,
    object_bytes: u64,
    /// (path inside the backup, hex SHA-256), every file but the manifest.
    files: Vec<(String, String)>,
    seconds: f64,
}

#[derive(Serialize)]
struct Report {
    folder: String,
    database: String,
    objects: u64,
    object_bytes: u64,
    key_files: usize,
    seconds: f64,
}

impl Report {
    fn print(&self, json: bool, text: String) -> Result<u8, Failure> {
        if json {
            println!("{}", serde_json::to_string_pretty(self).context("JSON")?);
        } else {
            println!("{text}");
        }
        Ok(0)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A relative path of plain names only (no `..`, no root): what a key or a manifest entry may be.
fn safe_relative(path: &str) -> Result<&Path> {
    let p = Path::new(path);
    if path.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("{path:?} is not a plain relative path");
    }
    Ok(p)
}

fn read(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    if private {
        write_private(path, bytes)
    } else {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

/// A backup folder being written: every file put there through it, with its digest for the manifest, so that
/// nothing is read back to be hashed.
struct Folder<'a> {
    root: &'a Path,
    files: Vec<(String, String)>,
}

impl Folder<'_> {
    /// Writes `bytes` at `rel` (a plain relative path) and records its digest.
    fn add(&mut self, rel: String, bytes: &[u8], private: bool) -> Result<()> {
        write_new(&self.root.join(safe_relative(&rel)?), bytes, private)?;
        self.files.push((rel, sha256_hex(bytes)));
        Ok(())
    }

    /// Records the digest of `rel`, which a tool wrote (the registry's snapshot).
    fn record(&mut self, rel: &str) -> Result<()> {
        let digest = sha256_hex(&read(self.root.join(rel))?);
        self.files.push((rel.to_string(), digest));
        Ok(())
    }
}

/// The files under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_path_buf());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// The configuration file `Config::load` read, if any.
fn config_file(common: &Common, data_dir: &Path) -> Option<PathBuf> {
    common
        .config
        .clone()
        .or_else(|| std::env::var_os("BANSO_CONFIG").map(PathBuf::from))
        .or_else(|| Some(data_dir.join("banso.toml")).filter(|p| p.exists()))
}

fn run_tool(command: &mut std::process::Command, what: &str) -> Result<()> {
    let out = command
        .output()
        .with_context(|| format!("{what}: could not start it (is it installed?)"))?;
    if !out.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// `pg_dump`/`pg_restore` with the registry's URL; the CA file, when configured, checks the server.
fn pg_tool(tool: &str, config: &Config) -> std::process::Command {
    let mut c = std::process::Command::new(tool);
    if let Some(ca) = &config.database_ca_file {
        c.env("PGSSLROOTCERT", ca);
    }
    c
}

pub async fn backup(common: &Common, out: &Path, json: bool) -> Result<u8, Failure> {
    let started = std::time::Instant::now();
    let config = Config::load(&overrides(common, None))?;
    if out.exists()
        && std::fs::read_dir(out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(anyhow!(
            "{} exists and is not empty: a backup goes into a new folder",
            out.display()
        )
        .into());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let url = config.database_url();
    let mut folder = Folder {
        root: out,
        files: Vec::new(),
    };
    // 1. The registry, at one instant.
    let database = if banso_store::is_shared(&url) {
        run_tool(
            pg_tool("pg_dump", &config)
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(out.join(PG_FILE))
                .arg(&url),
            "pg_dump",
        )?;
        folder.record(PG_FILE)?;
        "postgres"
    } else {
        banso_store::sqlite_snapshot(&url, &out.join(SQLITE_FILE)).map_err(|e| anyhow!("{e}"))?;
        folder.record(SQLITE_FILE)?;
        "sqlite"
    };
    // 2. The objects, after it.
    let blobs = open_blobs(&config)?;
    let (mut objects, mut object_bytes) = (0u64, 0u64);
    for object in blobs
        .list("")
        .await
        .map_err(|e| anyhow!("listing the objects: {e}"))?
    {
        if object.partial {
            continue;
        }
        let bytes = match blobs.get(&object.key).await {
            Ok(b) => b,
            // Removed since listed (the sweeper, a failed issuance's clean-up): no row of the snapshot names it.
            Err(banso_core::ports::StoreError::NotFound) => continue,
            Err(e) => return Err(anyhow!("reading {}: {e}", object.key).into()),
        };
        folder.add(format!("objects/{}", object.key), &bytes, false)?;
        objects += 1;
        object_bytes += bytes.len() as u64;
    }
    // 3. The keys (never the offline root's), 4. the configuration.
    let mut key_files = 0;
    for (name, from) in [
        ("pki", config.pki_dir()),
        ("secrets", config.data_dir.join("secrets")),
    ] {
        for rel in files_under(&from)? {
            if name == "pki" && rel == Path::new("root.key") {
                continue;
            }
            let bytes = read(from.join(&rel))?;
            folder.add(format!("keys/{name}/{}", rel.to_string_lossy()), &bytes, true)?;
            key_files += 1;
        }
    }
    if let Some(path) = &config.capability_secret_file {
        folder.add("keys/secrets/capability.key".into(), &read(path)?, true)?;
    }
    if let Some(path) = config_file(common, &config.data_dir) {
        folder.add("config/banso.toml".into(), &read(&path)?, true)?;
    }
    // 5. The manifest, last.
    let mut files = folder.files;
    files.sort();
    let seconds = started.elapsed().as_secs_f64();
    let manifest = Manifest {
        format: 1,
        banso_version: env!("CARGO_PKG_VERSION").into(),
        taken_at: OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        database: database.into(),
        objects,
        object_bytes,
        files,
        seconds,
    };
    write_new(
        &out.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)
            .context("JSON")?
            .as_bytes(),
        true,
    )?;
    Report {
        folder: out.display().to_string(),
        database: database.into(),
        objects,
        object_bytes,
        key_files,
        seconds,
    }
    .print(
        json,
        format!(
            "backup of the {database} registry, {objects} objects ({object_bytes} bytes) and {key_files} key files \
             in {}: {seconds:.1} s",
            out.display()
        ),
    )
}

pub async fn restore(common: &Common, from: &Path, json: bool) -> Result<u8, Failure> {
    let started = std::time::Instant::now();
    let text = std::fs::read_to_string(from.join(MANIFEST))
        .with_context(|| format!("{} holds no {MANIFEST}: not a finished backup", from.display()))?;
    let manifest: Manifest = serde_json::from_str(&text).context("the manifest is not one banso wrote")?;
    if manifest.format != 1 {
        return Err(anyhow!("backup format {} is not known to this version", manifest.format).into());
    }
    // Every file checked before anything is written.
    for (rel, digest) in &manifest.files {
        let bytes = read(from.join(safe_relative(rel)?))?;
        if &sha256_hex(&bytes) != digest {
            return Err(anyhow!("{rel} differs from the backup's manifest: the backup is damaged").into());
        }
    }
    let config = Config::load(&overrides(common, None))?;
    let url = config.database_url();
    let target = if banso_store::is_shared(&url) {
        "postgres"
    } else {
        "sqlite"
    };
    if target != manifest.database {
        return Err(anyhow!(
            "the backup holds a {} registry and this configuration names a {target} one",
            manifest.database
        )
        .into());
    }
    // A new installation only: no keys, no registry, no objects.
    for dir in [config.pki_dir(), config.data_dir.join("secrets")] {
        if !files_under(&dir)?.is_empty() {
            return Err(anyhow!("{} holds keys: restore into a new data folder", dir.display()).into());
        }
    }
    let blobs = open_blobs(&config)?;
    if blobs
        .list("")
        .await
        .map_err(|e| anyhow!("listing the objects: {e}"))?
        .iter()
        .any(|o| !o.partial)
    {
        return Err(anyhow!("the object store holds objects: restore into an empty one").into());
    }
    if target == "postgres" {
        let out = pg_tool("psql", &config)
            .arg(&url)
            .args([
                "-Atc",
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            ])
            .output()
            .context("psql: could not start it (is it installed?)")?;
        let tables = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || tables != "0" {
            return Err(anyhow!(
                "the database is not empty ({tables} tables) or not reachable: restore into a new one"
            )
            .into());
        }
    } else if banso_store::sqlite_path(&url).exists() {
        return Err(anyhow!(
            "{} exists: restore into a new data folder",
            banso_store::sqlite_path(&url).display()
        )
        .into());
    }

    // The keys, then the registry, then the objects.
    let mut key_files = 0;
    for (rel, _) in &manifest.files {
        let Some(key) = rel.strip_prefix("keys/") else {
            continue;
        };
        let dest = config.data_dir.join(safe_relative(key)?);
        write_new(&dest, &read(from.join(rel))?, true)?;
        key_files += 1;
    }
    if target == "postgres" {
        run_tool(
            pg_tool("pg_restore", &config)
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(&url)
                .arg(from.join(PG_FILE)),
            "pg_restore",
        )?;
    } else {
        let bytes = read(from.join(SQLITE_FILE))?;
        write_new(&banso_store::sqlite_path(&url), &bytes, true)?;
    }
    let (mut objects, mut object_bytes) = (0u64, 0u64);
    for (rel, _) in &manifest.files {
        let Some(key) = rel.strip_prefix("objects/") else {
            continue;
        };
        let bytes = read(from.join(rel))?;
        object_bytes += bytes.len() as u64;
        blobs
            .put(key, bytes)
            .await
            .map_err(|e| anyhow!("storing {key}: {e}"))?;
        objects += 1;
    }
    if manifest.files.iter().any(|(rel, _)| rel == "config/banso.toml") {
        let dest = config.data_dir.join("banso.toml.from-backup");
        write_new(&dest, &read(from.join("config/banso.toml"))?, true)?;
    }
    // Opened once: the schema brought to this version, the installation's keys checked against the registry.
    App::open(config).await?;
    let seconds = started.elapsed().as_secs_f64();
    Report {
        folder: from.display().to_string(),
        database: target.into(),
        objects,
        object_bytes,
        key_files,
        seconds,
    }
    .print(
        json,
        format!(
            "restored the {target} registry, {objects} objects and {key_files} key files from {} in {seconds:.1} s; \
             run `banso log audit` and `banso maintain sweep` before serving",
            from.display()
        ),
    )
}
