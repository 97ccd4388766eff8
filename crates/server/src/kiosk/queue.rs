//! The offline queue of a mobile service vehicle's kiosk: procedure submissions kept on the kiosk's disk while
//! the central service cannot be reached, sent when it can.
//!
//! - **What is queued.** Only a dossier whose citizen the central service had verified before the link dropped,
//!   and for which it gave a submission grant (`core::grant`) when the form opened: the grant stands in for the
//!   identity session, which will have ended long before the link returns. Certified copies are never queued:
//!   issuance waits for the link.
//! - **Durable.** One file per submission, written to a temporary name, flushed to the disk, renamed, and the
//!   folder flushed: a power cut leaves the submission whole or absent, never half. Files are the kiosk user's
//!   alone (0600): they hold the citizen's form and scans.
//! - **Idempotent.** Each submission carries its draft's idempotency key, the same the kiosk sent when it first
//!   tried. The central service files one dossier per key, so a submission whose answer was lost (filed, then
//!   the link dropped) and then sent again from here is answered with the dossier filed the first time. A file
//!   is removed only after the central service has answered for it.
//! - **Bounded.** At most [`MAX_QUEUED`] submissions and [`MAX_QUEUE_BYTES`] on disk; past that the screen says
//!   the kiosk cannot take the dossier now.
//! - **Refused on replay.** A submission the central service refuses (the grant expired, a document unreadable)
//!   moves to `refused/` beside its answer, for the centre's staff to call the citizen; it is not retried.

use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Submissions held at once.
pub const MAX_QUEUED: usize = 200;
/// Bytes the queue may hold on disk.
pub const MAX_QUEUE_BYTES: u64 = 2 << 30;

/// One submission waiting for the link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queued {
    /// The draft's idempotency key.
    pub key: String,
    /// The submission grant the central service gave while the citizen's identity was verified.
    pub grant: String,
    /// The body of `POST /api/v1/dossiers`.
    pub body: Value,
    /// When the citizen submitted (RFC 3339), for the centre's staff.
    pub queued_at: String,
}

/// The queue's folder.
pub struct Queue {
    dir: PathBuf,
}

/// What one pass of [`Queue::drain`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    pub filed: usize,
    pub refused: usize,
    /// Still waiting (the link dropped again, or the central service failed).
    pub waiting: usize,
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("flushing {}", dir.display()))
}

/// Writes `bytes` to `path` whole or not at all, for this user alone.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no folder", path.display()))?;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {}", tmp.display()))?;
    sync_dir(dir)
}

impl Queue {
    /// The queue in `dir`, made (0700) if missing; what an earlier run left half-written is removed.
    pub fn open(dir: &Path) -> Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        for d in [dir.to_path_buf(), dir.join("refused")] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&d)
                .with_context(|| format!("making the queue folder {}", d.display()))?;
        }
        for entry in std::fs::read_dir(dir)?.flatten() {
            if entry.path().extension().is_some_and(|e| e == "tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The waiting submissions' files, oldest first.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// How many submissions wait.
    pub fn len(&self) -> usize {
        self.files().len()
    }

    /// Keeps a submission; the local reference the screen shows ([`reference`]).
    pub fn push(&self, q: &Queued) -> Result<String> {
        let files = self.files();
        let held: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let bytes = serde_json::to_vec(q)?;
        if files.len() >= MAX_QUEUED || held + bytes.len() as u64 > MAX_QUEUE_BYTES {
            anyhow::bail!(
                "the kiosk's queue is full ({} submissions, {held} bytes)",
                files.len()
            );
        }
        let safe: String = q.key.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        if safe.is_empty() {
            anyhow::bail!("a queued submission needs its key");
        }
        let stamp = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        // One file per key: a second try of the same draft replaces the first.
        let existing = files.iter().find(|f| {
            f.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.ends_with(&format!("-{safe}")))
        });
        let path = existing
            .cloned()
            .unwrap_or_else(|| self.dir.join(format!("{stamp:024}-{safe}.json")));
        write_durably(&path, &bytes)?;
        Ok(reference(&q.key))
    }

    /// Sends the waiting submissions, oldest first, with `send` (the central service's answer, or an error when
    /// it cannot be reached); stops at the first that cannot be sent.
    pub async fn drain<F, Fut>(&self, send: F) -> Drained
    where
        F: Fn(Queued) -> Fut,
        Fut: std::future::Future<Output = Result<super::central::Answer>>,
    {
        let mut out = Drained::default();
        let files = self.files();
        for (i, file) in files.iter().enumerate() {
            let Some(q) = std::fs::read(file)
                .ok()
                .and_then(|b| serde_json::from_slice::<Queued>(&b).ok())
            else {
                tracing::error!(file = %file.display(), "an unreadable queued submission set aside");
                self.set_aside(file, &Value::Null);
                out.refused += 1;
                continue;
            };
            let key = q.key.clone();
            match send(q).await {
                Ok(a) if a.ok() => {
                    tracing::info!(reference = %reference(&key), dossier = %a.body["dossier"]["code"],
                        replayed = a.body["replayed"].as_bool().unwrap_or(false), "a queued dossier was filed");
                    if let Err(e) = std::fs::remove_file(file)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| sync_dir(&self.dir))
                    {
                        tracing::error!(error = %e, "a filed submission stays queued (its replay files nothing twice)");
                    }
                    out.filed += 1;
                }
                // The link, a gateway in front of the service, or the service itself is down: try later.
                Ok(a) if a.status >= 500 || a.status == 429 || a.status == 408 => {
                    out.waiting = files.len() - i;
                    break;
                }
                Ok(a) => {
                    tracing::error!(reference = %reference(&key), status = a.status, code = a.code().unwrap_or(""),
                        message = a.message(), "the central service refused a queued dossier: set aside");
                    self.set_aside(file, &a.body);
                    out.refused += 1;
                }
                Err(_) => {
                    out.waiting = files.len() - i;
                    break;
                }
            }
        }
        out
    }

    /// Moves a submission the central service refused to `refused/`, with its answer beside it.
    fn set_aside(&self, file: &Path, answer: &Value) {
        let Some(name) = file.file_name() else { return };
        let to = self.dir.join("refused").join(name);
        let moved = std::fs::rename(file, &to)
            .map_err(anyhow::Error::from)
            .and_then(|()| {
                write_durably(
                    &to.with_extension("answer"),
                    serde_json::to_string_pretty(answer)
                        .unwrap_or_default()
                        .as_bytes(),
                )
            });
        if let Err(e) = moved {
            tracing::error!(file = %file.display(), error = %e, "a refused queued submission could not be set aside");
        }
    }
}

/// The reference a citizen is given for a queued submission: `HC-` and the last six letters of its key.
pub fn reference(key: &str) -> String {
    let tail: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("HC-{}", tail.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::super::central::Answer;
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    fn queued(key: &str) -> Queued {
        Queued {
            key: key.into(),
            grant: "v1.x.y".into(),
            body: json!({"procedure": "chung-thuc-chu-ky"}),
            queued_at: "2026-12-03T09:00:00Z".into(),
        }
    }

    fn answer(status: u16) -> Result<Answer> {
        Ok(Answer {
            status,
            body: json!({"dossier": {"code": "X"}}),
        })
    }

    #[tokio::test]
    async fn submissions_wait_in_order_survive_a_reopen_and_leave_once_answered() {
        let tmp = tempfile::TempDir::new().unwrap();
        let q = Queue::open(tmp.path()).unwrap();
        assert_eq!(q.push(&queued("draft-aaa111")).unwrap(), "HC-AAA111");
        q.push(&queued("draft-bbb222")).unwrap();
        // The same draft tried again: still one submission.
        q.push(&queued("draft-aaa111")).unwrap();
        assert_eq!(q.len(), 2);
        use std::os::unix::fs::PermissionsExt;
        for f in q.files() {
            assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // A half-written file of a run cut short is not a submission.
        std::fs::write(tmp.path().join("0000-ccc333.tmp"), b"{\"key\":").unwrap();
        let q = Queue::open(tmp.path()).unwrap();
        assert_eq!(q.len(), 2);
        // The link is down: nothing leaves.
        let down = q.drain(|_| async { Err(anyhow!("unreachable")) }).await;
        assert_eq!(
            down,
            Drained {
                filed: 0,
                refused: 0,
                waiting: 2
            }
        );
        // A gateway's 503: nothing leaves either.
        assert_eq!(q.drain(|_| async { answer(503) }).await.waiting, 2);
        // Back: sent oldest first, each once, then gone.
        let sent = Mutex::new(Vec::new());
        let up = q
            .drain(|s| {
                sent.lock().unwrap().push(s.key.clone());
                async { answer(201) }
            })
            .await;
        assert_eq!(
            up,
            Drained {
                filed: 2,
                refused: 0,
                waiting: 0
            }
        );
        assert_eq!(*sent.lock().unwrap(), ["draft-aaa111", "draft-bbb222"]);
        assert_eq!(q.len(), 0);
    }

    #[tokio::test]
    async fn a_refused_submission_is_set_aside_with_its_answer_and_not_retried() {
        let tmp = tempfile::TempDir::new().unwrap();
        let q = Queue::open(tmp.path()).unwrap();
        q.push(&queued("draft-expired")).unwrap();
        q.push(&queued("draft-fine")).unwrap();
        let d = q
            .drain(|s| async move { answer(if s.key == "draft-expired" { 403 } else { 201 }) })
            .await;
        assert_eq!(
            d,
            Drained {
                filed: 1,
                refused: 1,
                waiting: 0
            }
        );
        assert_eq!(q.len(), 0);
        let aside: Vec<_> = std::fs::read_dir(tmp.path().join("refused"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(aside.len(), 2, "{aside:?}");
        assert!(aside.iter().any(|n| n.ends_with(".answer")));
    }

    #[test]
    fn the_queue_is_bounded() {
        let tmp = tempfile::TempDir::new().unwrap();
        let q = Queue::open(tmp.path()).unwrap();
        for i in 0..MAX_QUEUED {
            q.push(&queued(&format!("k{i}"))).unwrap();
        }
        assert!(q.push(&queued("one-more")).is_err());
        assert_eq!(q.len(), MAX_QUEUED);
    }
}
