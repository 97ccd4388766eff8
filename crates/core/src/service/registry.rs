//! The registry as officers search it: by a copy's code, by its number in a year's book, by the day it was
//! issued (a range within at most three books), or by its holder — the last only with a reason, which the audit
//! log keeps beside the search. Revoking and cancelling by decision from the back office, in the officer's name.

use super::{Service, SignedIn};
use crate::error::{Code, Error, Result};
use crate::model::CopyRecord;
use crate::office::OfficeRole;
use time::Date;

/// Copies a search shows at most.
pub const REGISTRY_PAGE: usize = 200;

/// How an officer searches the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryQuery {
    Code(String),
    /// The number's sequence in the book of the year.
    Number {
        year: i32,
        sequence: u32,
    },
    /// Issued on these days in Việt Nam, both included.
    Days {
        from: Date,
        to: Date,
    },
    /// A holder's copies: the reason is required and written to the audit log.
    Holder {
        id: String,
        reason: String,
    },
}

fn bad(m: &str) -> Error {
    Error::new(Code::Iss0005InvalidField, m.to_string())
}

impl Service {
    /// The copies that answer the query, the newest first, at most [`REGISTRY_PAGE`] (roles that act, and
    /// auditors; a search by holder is written to the audit log with its reason).
    pub async fn office_registry(
        &self,
        by: &SignedIn,
        q: RegistryQuery,
        from: &str,
    ) -> Result<Vec<CopyRecord>> {
        by.require(|r| r != OfficeRole::Administrator)?;
        let suffix = &self.settings.numbering.suffix;
        let mut found = match &q {
            RegistryQuery::Code(code) => match self.record(code).await {
                Ok(r) => vec![r],
                Err(e) if e.code == Code::Ver0003NotFound => Vec::new(),
                Err(e) => return Err(e),
            },
            RegistryQuery::Number { year, sequence } => self
                .registry
                .book_copies(*year, suffix)
                .await?
                .into_iter()
                .filter(|c| c.sequence == *sequence)
                .collect(),
            RegistryQuery::Days { from, to } => {
                if to < from || to.year() - from.year() > 2 {
                    return Err(bad("the range must run forward and span at most three years"));
                }
                let mut all = Vec::new();
                for year in from.year()..=to.year() {
                    all.extend(
                        self.registry
                            .book_copies(year, suffix)
                            .await?
                            .into_iter()
                            .filter(|c| {
                                let day = c.issued_at.to_offset(crate::rules::VIETNAM).date();
                                (*from..=*to).contains(&day)
                            }),
                    );
                }
                all
            }
            RegistryQuery::Holder { id, reason } => {
                let reason = reason.trim();
                if reason.chars().count() < 10
                    || reason.chars().count() > 300
                    || reason.chars().any(char::is_control)
                {
                    return Err(bad(
                        "a search by holder needs its reason (10 to 300 characters): it is kept in the audit log",
                    ));
                }
                let id = id.trim();
                if id.is_empty() || id.len() > 64 {
                    return Err(bad("the holder's ID number"));
                }
                self.audit(
                    &by.officer.username,
                    "registry_holder_search",
                    &format!("{id}: {reason}"),
                    from,
                )
                .await?;
                self.registry.copies_by_holder(id, REGISTRY_PAGE as u32).await?
            }
        };
        found.sort_by(|a, b| b.issued_at.cmp(&a.issued_at).then(a.code.cmp(&b.code)));
        found.truncate(REGISTRY_PAGE);
        Ok(found)
    }

    /// Revokes a copy, or cancels it by decision when a decision number is given, in the officer's name (roles
    /// that act); written to the audit log.
    pub async fn office_revoke(
        &self,
        by: &SignedIn,
        code: &str,
        reason: &str,
        decision_number: Option<&str>,
        from: &str,
    ) -> Result<CopyRecord> {
        by.require(OfficeRole::acts)?;
        let record = self.revoke(code, reason, decision_number).await?;
        let action = if decision_number.is_some() {
            "copy_cancelled"
        } else {
            "copy_revoked"
        };
        self.audit(&by.officer.username, action, &record.code, from)
            .await?;
        Ok(record)
    }
}
