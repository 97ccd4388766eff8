//! The transparency log of issuances, revocations and cancellations (RFC 9162 Merkle tree).
//!
//! Every registry change that matters to a relying party is also a leaf: the SHA-256 of a canonical text
//! record, written in the same database transaction as the registry row, so the registry and the log cannot
//! disagree without an audit noticing. Records carry no personal data (no holder), and a revocation reason only
//! as its hash, so the log can be public.

use crate::error::{Code, Error, Result};
use crate::merkle::{self, Hash, MerkleTree};
use crate::model::{CopyRecord, CopyStatus};
use crate::ports::{LogEntry, LogRecord, Registry};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::RwLock;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const VERSION: &str = "banso-log/v1";

fn ts(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The record of an issued copy.
pub fn issued_record(r: &CopyRecord) -> LogRecord {
    let text = format!(
        "{VERSION}\nevent: issued\ncode: {}\nsha256: {}\nnumber: {}/{}/{}/{}\ncopy: {}\nissuing_body_sha256: {}\nat: {}\n",
        r.code,
        r.sha256,
        r.sequence,
        r.book,
        r.year,
        r.suffix,
        r.copy_index,
        hex::encode(Sha256::digest(r.issuing_body.as_bytes())),
        ts(r.issued_at)
    );
    LogRecord {
        code: r.code.clone(),
        event: "issued".into(),
        record: text,
    }
}

/// The record of a status change (revocation, cancellation by decision, supersession).
pub fn status_record(
    code: &str,
    status: CopyStatus,
    reason: &str,
    decision: Option<&str>,
    at: OffsetDateTime,
) -> LogRecord {
    let mut text = format!(
        "{VERSION}\nevent: {}\ncode: {code}\nreason_sha256: {}\n",
        status.as_str(),
        hex::encode(Sha256::digest(reason.as_bytes()))
    );
    if let Some(d) = decision {
        text.push_str(&format!("decision: {d}\n"));
    }
    text.push_str(&format!("at: {}\n", ts(at)));
    LogRecord {
        code: code.to_string(),
        event: status.as_str().to_string(),
        record: text,
    }
}

/// The leaf of a record (the hash of its text) and the leaf's tree hash.
pub fn leaf_of(record: &str) -> (Hash, Hash) {
    let leaf: Hash = Sha256::digest(record.as_bytes()).into();
    (leaf, merkle::leaf_hash(&leaf))
}

/// An inclusion proof as the API and `banso verify --json` give it: hex SHA-256 hashes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// SHA-256 of the record: the RFC 9162 leaf.
    pub leaf: String,
    /// SHA-256(0x00 ‖ leaf).
    pub leaf_hash: String,
    pub audit_path: Vec<String>,
    pub root_hash: String,
    pub record: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub first: u64,
    pub second: u64,
    pub first_root: String,
    pub second_root: String,
    pub proof: Vec<String>,
}

/// What an audit found; `ok` when `problems` is empty.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AuditReport {
    pub ok: bool,
    pub tree_size: u64,
    pub root_hash: String,
    pub copies_checked: u64,
    pub problems: Vec<String>,
}

/// The in-memory tree of the log, kept in step with the database.
#[derive(Debug, Default)]
pub struct TransparencyLog {
    tree: RwLock<(MerkleTree, HashMap<String, u64>)>,
}

fn hx(h: &Hash) -> String {
    hex::encode(h)
}

impl TransparencyLog {
    pub fn new() -> Self {
        Self {
            tree: RwLock::new((MerkleTree::new(), HashMap::new())),
        }
    }

    /// Loads the leaves appended since the last call (by this or any other process).
    pub async fn sync(&self, registry: &dyn Registry) -> Result<u64> {
        loop {
            let have = self.tree.read().map_err(|_| poisoned())?.0.size();
            let entries = registry.log_entries(have, 50_000).await?;
            if entries.is_empty() {
                return Ok(have);
            }
            let mut guard = self.tree.write().map_err(|_| poisoned())?;
            let (tree, issued) = &mut *guard;
            for e in entries {
                if e.index != tree.size() {
                    continue; // another task loaded it meanwhile
                }
                if e.event == "issued" {
                    issued.insert(e.code.clone(), e.index);
                }
                tree.push(e.leaf_hash);
            }
        }
    }

    /// Size and root of the current tree.
    pub fn head(&self) -> Result<(u64, Hash)> {
        let g = self.tree.read().map_err(|_| poisoned())?;
        let size = g.0.size();
        Ok((size, g.0.root(size).unwrap_or_else(merkle::empty_root)))
    }

    /// The inclusion proof of a copy's issuance record in the current tree.
    pub async fn inclusion(&self, registry: &dyn Registry, code: &str) -> Result<InclusionProof> {
        self.sync(registry).await?;
        let (index, size, path, root) = {
            let g = self.tree.read().map_err(|_| poisoned())?;
            let index =
                *g.1.get(code)
                    .ok_or_else(|| Error::new(Code::Ver0003NotFound, "the copy is not in the log"))?;
            let size = g.0.size();
            let path = g.0.inclusion_proof(index, size).unwrap_or_default();
            (
                index,
                size,
                path,
                g.0.root(size).unwrap_or_else(merkle::empty_root),
            )
        };
        let entry = registry
            .log_entries(index, 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(Code::Sys0001Storage, "log entry missing"))?;
        let (leaf, leaf_hash) = leaf_of(&entry.record);
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: size,
            leaf: hx(&leaf),
            leaf_hash: hx(&leaf_hash),
            audit_path: path.iter().map(hx).collect(),
            root_hash: hx(&root),
            record: entry.record,
        })
    }

    /// A consistency proof between two sizes of the current tree.
    pub async fn consistency(
        &self,
        registry: &dyn Registry,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof> {
        self.sync(registry).await?;
        let g = self.tree.read().map_err(|_| poisoned())?;
        let bad = || {
            Error::new(
                Code::Req0001Malformed,
                format!("need 1 ≤ first ≤ second ≤ {}", g.0.size()),
            )
        };
        let proof = g.0.consistency_proof(first, second).ok_or_else(bad)?;
        Ok(ConsistencyProof {
            first,
            second,
            first_root: hx(&g.0.root(first).ok_or_else(bad)?),
            second_root: hx(&g.0.root(second).ok_or_else(bad)?),
            proof: proof.iter().map(hx).collect(),
        })
    }
}

fn poisoned() -> Error {
    Error::new(Code::Sys0003Internal, "the log's lock was poisoned")
}

/// Audits the log from the database alone: every stored leaf hash is the hash of its record, indexes run
/// without a gap, the tree extends the `trusted` checkpoint (size, root) if one is given, and every registry
/// row is in the log with the state it has (and every leaf names an existing row).
pub async fn audit(registry: &dyn Registry, trusted: Option<(u64, Hash)>) -> Result<AuditReport> {
    let mut report = AuditReport::default();
    let mut tree = MerkleTree::new();
    let mut issued: HashMap<String, String> = HashMap::new();
    let mut last_status: HashMap<String, String> = HashMap::new();
    let mut from = 0u64;
    loop {
        let batch: Vec<LogEntry> = registry.log_entries(from, 100_000).await?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            if e.index != tree.size() {
                report.problems.push(format!(
                    "leaf index {} follows {}: a leaf is missing",
                    e.index,
                    tree.size()
                ));
            }
            let (_, computed) = leaf_of(&e.record);
            if computed != e.leaf_hash {
                report.problems.push(format!(
                    "leaf {}: its hash does not match its record (edited)",
                    e.index
                ));
            }
            // The tree is built from the records, not from the stored hashes.
            tree.push(computed);
            let field = |name: &str| {
                e.record
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
            };
            if field("code").as_deref() != Some(e.code.as_str()) {
                report.problems.push(format!(
                    "leaf {}: its code column does not match its record",
                    e.index
                ));
            }
            if e.event == "issued" {
                if let Some(sha) = field("sha256") {
                    issued.insert(e.code.clone(), sha);
                }
            } else {
                last_status.insert(e.code.clone(), e.event.clone());
            }
            from = e.index + 1;
        }
    }
    let size = tree.size();
    let root = tree.root(size).unwrap_or_else(merkle::empty_root);
    report.tree_size = size;
    report.root_hash = hx(&root);
    if let Some((old_size, old_root)) = trusted {
        if old_size > size {
            report.problems.push(format!(
                "the log shrank: the checkpoint has {old_size} leaves, the log {size}"
            ));
        } else if tree.root(old_size) != Some(old_root) {
            report.problems.push(format!(
                "the first {old_size} leaves no longer hash to the checkpoint's root"
            ));
        }
    }
    let rows = registry.audit_rows().await?;
    report.copies_checked = rows.len() as u64;
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        seen.insert(row.code.clone());
        match issued.get(&row.code) {
            None => report
                .problems
                .push(format!("copy {} is in the registry but not in the log", row.code)),
            Some(sha) if sha != &row.sha256 => report.problems.push(format!(
                "copy {}: the registry's SHA-256 differs from the log's",
                row.code
            )),
            Some(_) => {}
        }
        let logged = last_status.get(&row.code).map(String::as_str).unwrap_or("valid");
        if logged != row.status.as_str() {
            report.problems.push(format!(
                "copy {}: the registry says {} but the log says {logged}",
                row.code,
                row.status.as_str()
            ));
        }
    }
    for code in issued.keys() {
        if !seen.contains(code) {
            report.problems.push(format!(
                "copy {code} is in the log but missing from the registry (deleted)"
            ));
        }
    }
    report.ok = report.problems.is_empty();
    Ok(report)
}

/// The text a checkpoint signature covers (C2SP signed-note style body).
pub fn checkpoint_body(origin: &str, size: u64, root: &Hash, timestamp: OffsetDateTime) -> String {
    use base64::Engine;
    format!(
        "{origin}\n{size}\n{}\n{}\n",
        base64::engine::general_purpose::STANDARD.encode(root),
        ts(timestamp)
    )
}
