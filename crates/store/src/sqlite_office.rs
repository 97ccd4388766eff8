//! The back office in SQLite: writes on the one writer connection, so audit entries chain in one line.

use crate::schema;
use crate::sqlite::{err, write, SqliteRegistry};
use async_trait::async_trait;
use banso_core::office::{AuditEntry, HeldRequest, OfficeSession, Officer, Passkey, Review, ReviewState};
use banso_core::ports::{OfficeStore, StoreError};
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

/// An officer's row, as `SELECT_OFFICER` and `SELECT_OFFICERS_OF` give it.
fn officer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<schema::OfficerRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

/// A review's row, as the review queries give it.
fn review_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<schema::ReviewRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

#[async_trait]
impl OfficeStore for SqliteRegistry {
    async fn insert_officer(&self, o: &Officer) -> Result<(), StoreError> {
        let o = o.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_OFFICER,
                params![
                    o.username,
                    o.full_name,
                    o.role.as_str(),
                    o.body,
                    o.password_hash,
                    hex::encode(&o.totp_secret),
                    o.totp_last_step,
                    i64::from(o.failures),
                    o.locked_until.map(OffsetDateTime::unix_timestamp),
                    o.created_at.unix_timestamp(),
                    i64::from(o.disabled)
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn officer(&self, username: &str) -> Result<Option<Officer>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(schema::SELECT_OFFICER)?
                .query_row(params![username], officer_row)
                .optional()
        })?;
        row.map(schema::officer_from).transpose()
    }

    async fn officers_of(&self, body: &str) -> Result<Vec<Officer>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::SELECT_OFFICERS_OF)?
                .query_map(params![body], officer_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::officer_from).collect()
    }

    async fn login_failed(
        &self,
        username: &str,
        max: u32,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let username = username.to_string();
        write(&self.writer, move |conn| {
            let n: Option<i64> = conn
                .query_row(
                    schema::LOGIN_FAILED,
                    params![
                        now.unix_timestamp(),
                        i64::from(max),
                        lock_until.unix_timestamp(),
                        username
                    ],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            Ok(n.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)))
        })
        .await
    }

    async fn login_succeeded(&self, username: &str) -> Result<(), StoreError> {
        let username = username.to_string();
        write(&self.writer, move |conn| {
            conn.execute(schema::LOGIN_SUCCEEDED, params![username])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn take_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError> {
        let username = username.to_string();
        write(&self.writer, move |conn| {
            Ok(conn
                .execute(schema::TAKE_TOTP_STEP, params![step, username])
                .map_err(err)?
                == 1)
        })
        .await
    }

    async fn insert_office_session(&self, s: &OfficeSession) -> Result<(), StoreError> {
        let s = s.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_OFFICE_SESSION,
                params![
                    s.id,
                    s.username,
                    s.csrf,
                    s.created_at.unix_timestamp(),
                    s.last_seen.unix_timestamp(),
                    i64::from(s.verified)
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn office_session(&self, id: &str) -> Result<Option<OfficeSession>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(schema::SELECT_OFFICE_SESSION)?
                .query_row(params![id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })
                .optional()
        })?;
        row.map(schema::office_session_from).transpose()
    }

    async fn touch_office_session(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let id = id.to_string();
        write(&self.writer, move |conn| {
            conn.execute(schema::TOUCH_OFFICE_SESSION, params![at.unix_timestamp(), id])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn delete_office_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        write(&self.writer, move |conn| {
            conn.execute(schema::DELETE_OFFICE_SESSION, params![id])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn append_audit(
        &self,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        target: &str,
        from: &str,
    ) -> Result<AuditEntry, StoreError> {
        let (actor, action, target, from) = (
            actor.to_string(),
            action.to_string(),
            target.to_string(),
            from.to_string(),
        );
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            let last = tx
                .query_row(schema::LAST_AUDIT, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(err)?;
            let e = schema::next_audit(last, at, &actor, &action, &target, &from);
            tx.execute(
                schema::INSERT_AUDIT,
                params![
                    e.seq as i64,
                    e.at.unix_timestamp_nanos().to_string(),
                    e.actor,
                    e.action,
                    e.target,
                    e.from,
                    e.prev,
                    e.hash
                ],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(e)
        })
        .await
    }

    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::SELECT_AUDIT)?
                .query_map(params![after as i64, i64::from(limit)], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::audit_from).collect()
    }

    async fn insert_enrolment(
        &self,
        code_hash: &str,
        name: &str,
        created_by: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (h, n, b) = (code_hash.to_string(), name.to_string(), created_by.to_string());
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_ENROLMENT,
                params![h, n, b, expires_at.unix_timestamp()],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn take_enrolment(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let h = code_hash.to_string();
        write(&self.writer, move |conn| {
            conn.query_row(schema::TAKE_ENROLMENT, params![now.unix_timestamp(), h], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)
        })
        .await
    }

    async fn device_seen(
        &self,
        token_id: &str,
        name: &str,
        now: OffsetDateTime,
        state: &str,
    ) -> Result<(), StoreError> {
        let (t, n, s) = (token_id.to_string(), name.to_string(), state.to_string());
        write(&self.writer, move |conn| {
            conn.execute(schema::DEVICE_SEEN, params![t, n, now.unix_timestamp(), s])
                .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn devices(&self) -> Result<Vec<banso_core::office::Device>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::SELECT_DEVICES)?
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::device_from).collect()
    }

    async fn insert_passkey(&self, k: &Passkey) -> Result<(), StoreError> {
        let k = k.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_PASSKEY,
                params![
                    k.id,
                    k.username,
                    hex::encode(&k.public_key),
                    i64::from(k.sign_count),
                    k.label,
                    k.created_at.unix_timestamp()
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn passkeys_of(&self, username: &str) -> Result<Vec<Passkey>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::PASSKEYS_OF)?
                .query_map(params![username], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::passkey_from).collect()
    }

    async fn advance_passkey(&self, id: &str, count: u32) -> Result<bool, StoreError> {
        let id = id.to_string();
        write(&self.writer, move |conn| {
            Ok(conn
                .execute(schema::ADVANCE_PASSKEY, params![i64::from(count), id])
                .map_err(err)?
                == 1)
        })
        .await
    }

    async fn insert_review(&self, r: &Review) -> Result<(), StoreError> {
        let json = schema::held_json(&r.request)?;
        let r = r.clone();
        write(&self.writer, move |conn| {
            conn.execute(
                schema::INSERT_REVIEW,
                params![
                    r.id,
                    r.state.as_str(),
                    r.held_at.unix_timestamp(),
                    r.request.holder_id,
                    r.claimed_by,
                    r.claimed_at.map(OffsetDateTime::unix_timestamp),
                    r.decided_by,
                    r.decided_at.map(OffsetDateTime::unix_timestamp),
                    json
                ],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn review(&self, id: &str) -> Result<Option<Review>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(schema::SELECT_REVIEW)?
                .query_row(params![id], review_row)
                .optional()
        })?;
        row.map(schema::review_from).transpose()
    }

    async fn waiting_reviews(&self, limit: u32) -> Result<Vec<Review>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::WAITING_REVIEWS)?
                .query_map(params![i64::from(limit)], review_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::review_from).collect()
    }

    async fn reviews_since(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<Review>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::REVIEWS_SINCE)?
                .query_map(params![since.unix_timestamp(), i64::from(limit)], review_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::review_from).collect()
    }

    async fn holder_reviews(&self, holder_id: &str, limit: u32) -> Result<Vec<Review>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::HOLDER_REVIEWS)?
                .query_map(params![holder_id, i64::from(limit)], review_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::review_from).collect()
    }

    async fn claim_review(
        &self,
        id: &str,
        officer: &str,
        now: OffsetDateTime,
        lapsed_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (id, officer) = (id.to_string(), officer.to_string());
        write(&self.writer, move |conn| {
            Ok(conn
                .execute(
                    schema::CLAIM_REVIEW,
                    params![officer, now.unix_timestamp(), id, lapsed_before.unix_timestamp()],
                )
                .map_err(err)?
                == 1)
        })
        .await
    }

    async fn notify_review(&self, id: &str, address: &str) -> Result<Option<ReviewState>, StoreError> {
        let (id, address) = (id.to_string(), address.to_string());
        let state: Option<String> = write(&self.writer, move |conn| {
            conn.query_row(schema::NOTIFY_REVIEW, params![address, id], |r| r.get(0))
                .optional()
                .map_err(err)
        })
        .await?;
        state
            .map(|s| {
                ReviewState::parse(&s)
                    .ok_or_else(|| StoreError::Other(format!("a stored review's state {s}")))
            })
            .transpose()
    }

    async fn finish_review(
        &self,
        id: &str,
        officer: &str,
        state: ReviewState,
        request: &HeldRequest,
        now: OffsetDateTime,
        lapsed_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let json = schema::held_json(request)?;
        let (id, officer) = (id.to_string(), officer.to_string());
        write(&self.writer, move |conn| {
            Ok(conn
                .execute(
                    schema::FINISH_REVIEW,
                    params![
                        state.as_str(),
                        officer,
                        now.unix_timestamp(),
                        json,
                        id,
                        lapsed_before.unix_timestamp()
                    ],
                )
                .map_err(err)?
                == 1)
        })
        .await
    }
}
