//! The back office in PostgreSQL. Audit entries are appended under a lock on the log's table, so entries from
//! several nodes chain in one line.

use crate::postgres::{err, in_transaction, pool_err, PgRegistry};
use crate::schema;
use async_trait::async_trait;
use banso_core::office::{AuditEntry, HeldRequest, OfficeSession, Officer, Passkey, Review, ReviewState};
use banso_core::ports::{OfficeStore, StoreError};
use time::OffsetDateTime;

/// An officer from a row of `SELECT_OFFICER` or `SELECT_OFFICERS_OF`.
fn officer_of(r: &tokio_postgres::Row) -> Result<Officer, StoreError> {
    schema::officer_from((
        r.try_get(0).map_err(err)?,
        r.try_get(1).map_err(err)?,
        r.try_get(2).map_err(err)?,
        r.try_get(3).map_err(err)?,
        r.try_get(4).map_err(err)?,
        r.try_get(5).map_err(err)?,
        r.try_get(6).map_err(err)?,
        r.try_get(7).map_err(err)?,
        r.try_get(8).map_err(err)?,
        r.try_get(9).map_err(err)?,
        r.try_get(10).map_err(err)?,
    ))
}

/// A review from a row of the review queries.
fn review_of(r: &tokio_postgres::Row) -> Result<Review, StoreError> {
    schema::review_from((
        r.try_get(0).map_err(err)?,
        r.try_get(1).map_err(err)?,
        r.try_get(2).map_err(err)?,
        r.try_get(3).map_err(err)?,
        r.try_get(4).map_err(err)?,
        r.try_get(5).map_err(err)?,
        r.try_get(6).map_err(err)?,
        r.try_get(7).map_err(err)?,
        r.try_get(8).map_err(err)?,
    ))
}

#[async_trait]
impl OfficeStore for PgRegistry {
    async fn insert_officer(&self, o: &Officer) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::INSERT_OFFICER,
                &[
                    &o.username,
                    &o.full_name,
                    &o.role.as_str(),
                    &o.body,
                    &o.password_hash,
                    &hex::encode(&o.totp_secret),
                    &o.totp_last_step,
                    &i64::from(o.failures),
                    &o.locked_until.map(OffsetDateTime::unix_timestamp),
                    &o.created_at.unix_timestamp(),
                    &i64::from(o.disabled),
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn officer(&self, username: &str) -> Result<Option<Officer>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let Some(r) = client
            .query_opt(schema::SELECT_OFFICER, &[&username])
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        officer_of(&r).map(Some)
    }

    async fn officers_of(&self, body: &str) -> Result<Vec<Officer>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(schema::SELECT_OFFICERS_OF, &[&body])
            .await
            .map_err(err)?;
        rows.iter().map(officer_of).collect()
    }

    async fn login_failed(
        &self,
        username: &str,
        max: u32,
        now: OffsetDateTime,
        lock_until: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(
                schema::LOGIN_FAILED,
                &[
                    &now.unix_timestamp(),
                    &i64::from(max),
                    &lock_until.unix_timestamp(),
                    &username,
                ],
            )
            .await
            .map_err(err)?;
        let n: i64 = match row {
            Some(r) => r.try_get(0).map_err(err)?,
            None => 0,
        };
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn login_succeeded(&self, username: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(schema::LOGIN_SUCCEEDED, &[&username])
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn take_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(schema::TAKE_TOTP_STEP, &[&step, &username])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn insert_office_session(&self, s: &OfficeSession) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::INSERT_OFFICE_SESSION,
                &[
                    &s.id,
                    &s.username,
                    &s.csrf,
                    &s.created_at.unix_timestamp(),
                    &s.last_seen.unix_timestamp(),
                    &i64::from(s.verified),
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn office_session(&self, id: &str) -> Result<Option<OfficeSession>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let Some(r) = client
            .query_opt(schema::SELECT_OFFICE_SESSION, &[&id])
            .await
            .map_err(err)?
        else {
            return Ok(None);
        };
        schema::office_session_from((
            r.try_get(0).map_err(err)?,
            r.try_get(1).map_err(err)?,
            r.try_get(2).map_err(err)?,
            r.try_get(3).map_err(err)?,
            r.try_get(4).map_err(err)?,
            r.try_get(5).map_err(err)?,
        ))
        .map(Some)
    }

    async fn touch_office_session(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(schema::TOUCH_OFFICE_SESSION, &[&at.unix_timestamp(), &id])
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn delete_office_session(&self, id: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(schema::DELETE_OFFICE_SESSION, &[&id])
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn append_audit(
        &self,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
        target: &str,
        from: &str,
    ) -> Result<AuditEntry, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        in_transaction(client, async |client| {
            client
                .batch_execute("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE")
                .await?;
            let last = match client.query_opt(schema::LAST_AUDIT, &[]).await? {
                Some(r) => Some((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?)),
                None => None,
            };
            let e = schema::next_audit(last, at, actor, action, target, from);
            client
                .execute(
                    schema::INSERT_AUDIT,
                    &[
                        &(e.seq as i64),
                        &e.at.unix_timestamp_nanos().to_string(),
                        &e.actor,
                        &e.action,
                        &e.target,
                        &e.from,
                        &e.prev,
                        &e.hash,
                    ],
                )
                .await?;
            Ok(e)
        })
        .await
    }

    async fn audit_entries(&self, after: u64, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(schema::SELECT_AUDIT, &[&(after as i64), &i64::from(limit)])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                schema::audit_from((
                    r.try_get(0).map_err(err)?,
                    r.try_get(1).map_err(err)?,
                    r.try_get(2).map_err(err)?,
                    r.try_get(3).map_err(err)?,
                    r.try_get(4).map_err(err)?,
                    r.try_get(5).map_err(err)?,
                    r.try_get(6).map_err(err)?,
                    r.try_get(7).map_err(err)?,
                ))
            })
            .collect()
    }

    async fn insert_enrolment(
        &self,
        code_hash: &str,
        name: &str,
        created_by: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::INSERT_ENROLMENT,
                &[&code_hash, &name, &created_by, &expires_at.unix_timestamp()],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn take_enrolment(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(schema::TAKE_ENROLMENT, &[&now.unix_timestamp(), &code_hash])
            .await
            .map_err(err)?;
        row.map(|r| r.try_get(0).map_err(err)).transpose()
    }

    async fn device_seen(
        &self,
        token_id: &str,
        name: &str,
        now: OffsetDateTime,
        state: &str,
    ) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::DEVICE_SEEN,
                &[&token_id, &name, &now.unix_timestamp(), &state],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn devices(&self) -> Result<Vec<banso_core::office::Device>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client.query(schema::SELECT_DEVICES, &[]).await.map_err(err)?;
        rows.iter()
            .map(|r| {
                schema::device_from((
                    r.try_get(0).map_err(err)?,
                    r.try_get(1).map_err(err)?,
                    r.try_get(2).map_err(err)?,
                    r.try_get(3).map_err(err)?,
                    r.try_get(4).map_err(err)?,
                ))
            })
            .collect()
    }

    async fn insert_passkey(&self, k: &Passkey) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::INSERT_PASSKEY,
                &[
                    &k.id,
                    &k.username,
                    &hex::encode(&k.public_key),
                    &i64::from(k.sign_count),
                    &k.label,
                    &k.created_at.unix_timestamp(),
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn passkeys_of(&self, username: &str) -> Result<Vec<Passkey>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(schema::PASSKEYS_OF, &[&username])
            .await
            .map_err(err)?;
        rows.iter()
            .map(|r| {
                schema::passkey_from((
                    r.try_get(0).map_err(err)?,
                    r.try_get(1).map_err(err)?,
                    r.try_get(2).map_err(err)?,
                    r.try_get(3).map_err(err)?,
                    r.try_get(4).map_err(err)?,
                    r.try_get(5).map_err(err)?,
                ))
            })
            .collect()
    }

    async fn advance_passkey(&self, id: &str, count: u32) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(schema::ADVANCE_PASSKEY, &[&i64::from(count), &id])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn insert_review(&self, r: &Review) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::INSERT_REVIEW,
                &[
                    &r.id,
                    &r.state.as_str(),
                    &r.held_at.unix_timestamp(),
                    &r.request.holder_id,
                    &r.claimed_by,
                    &r.claimed_at.map(OffsetDateTime::unix_timestamp),
                    &r.decided_by,
                    &r.decided_at.map(OffsetDateTime::unix_timestamp),
                    &schema::held_json(&r.request)?,
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn review(&self, id: &str) -> Result<Option<Review>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(schema::SELECT_REVIEW, &[&id])
            .await
            .map_err(err)?;
        row.as_ref().map(review_of).transpose()
    }

    async fn waiting_reviews(&self, limit: u32) -> Result<Vec<Review>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(schema::WAITING_REVIEWS, &[&i64::from(limit)])
            .await
            .map_err(err)?;
        rows.iter().map(review_of).collect()
    }

    async fn reviews_since(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<Review>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(
                schema::REVIEWS_SINCE,
                &[&since.unix_timestamp(), &i64::from(limit)],
            )
            .await
            .map_err(err)?;
        rows.iter().map(review_of).collect()
    }

    async fn holder_reviews(&self, holder_id: &str, limit: u32) -> Result<Vec<Review>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let rows = client
            .query(schema::HOLDER_REVIEWS, &[&holder_id, &i64::from(limit)])
            .await
            .map_err(err)?;
        rows.iter().map(review_of).collect()
    }

    async fn claim_review(
        &self,
        id: &str,
        officer: &str,
        now: OffsetDateTime,
        lapsed_before: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(
                schema::CLAIM_REVIEW,
                &[
                    &officer,
                    &now.unix_timestamp(),
                    &id,
                    &lapsed_before.unix_timestamp(),
                ],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn notify_review(&self, id: &str, address: &str) -> Result<Option<ReviewState>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(schema::NOTIFY_REVIEW, &[&address, &id])
            .await
            .map_err(err)?;
        row.map(|r| {
            let s: String = r.try_get(0).map_err(err)?;
            ReviewState::parse(&s).ok_or_else(|| StoreError::Other(format!("a stored review's state {s}")))
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
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(
                schema::FINISH_REVIEW,
                &[
                    &state.as_str(),
                    &officer,
                    &now.unix_timestamp(),
                    &schema::held_json(request)?,
                    &id,
                    &lapsed_before.unix_timestamp(),
                ],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }
}
