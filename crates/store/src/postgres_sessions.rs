//! What the nodes share beyond the registry, in PostgreSQL: identity sessions, and what each node let through
//! its rate limits. A session is added under a transaction-scoped advisory lock, so nodes adding sessions at
//! once keep the pools' bounds; a change is a compare-and-set on the session's version. Admits are appended
//! under another, so that a reader who saw position N has seen every entry before it.

use crate::postgres::{err, in_transaction, pool_err, PgRegistry};
use crate::schema;
use async_trait::async_trait;
use banso_core::ports::{AdmitLog, Admits, SessionStore, StoreError, StoredSession};
use time::OffsetDateTime;

/// The advisory lock under which sessions are added (any number, the same on every node).
const SESSIONS_LOCK: i64 = 0x0062_616e_736f_0001;
/// The advisory lock under which admits are appended and read.
const ADMITS_LOCK: i64 = 0x0062_616e_736f_0002;

fn session_of(r: &tokio_postgres::Row) -> Result<StoredSession, StoreError> {
    schema::session_from((
        r.try_get(0).map_err(err)?,
        r.try_get(1).map_err(err)?,
        r.try_get(2).map_err(err)?,
        r.try_get(3).map_err(err)?,
        r.try_get(4).map_err(err)?,
        r.try_get(5).map_err(err)?,
        r.try_get(6).map_err(err)?,
    ))
}

#[async_trait]
impl SessionStore for PgRegistry {
    async fn insert_session(
        &self,
        s: &StoredSession,
        per_device: u32,
        max: u32,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let now = schema::unix_nanos(now);
        in_transaction(client, async |client| {
            client
                .batch_execute(&format!("SELECT pg_advisory_xact_lock({SESSIONS_LOCK})"))
                .await?;
            client
                .execute(schema::DELETE_EXPIRED_SESSIONS, &[&s.pool, &now])
                .await?;
            client
                .execute(
                    schema::DELETE_OLDEST_SESSIONS,
                    &[&s.device, &i64::from(per_device.saturating_sub(1))],
                )
                .await?;
            let live: i64 = client
                .query_one(schema::LIVE_SESSIONS, &[&s.pool, &now])
                .await?
                .try_get(0)?;
            if live >= i64::from(max) {
                return Ok(false);
            }
            client
                .execute(
                    schema::INSERT_SESSION,
                    &[
                        &s.key,
                        &s.pool,
                        &s.device,
                        &schema::unix_nanos(s.started_at),
                        &schema::unix_nanos(s.expires_at),
                        &s.sealed,
                    ],
                )
                .await?;
            Ok(true)
        })
        .await
    }

    async fn session(&self, key: &str, now: OffsetDateTime) -> Result<Option<StoredSession>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query_opt(schema::SELECT_SESSION, &[&key, &schema::unix_nanos(now)])
            .await
            .map_err(err)?
            .as_ref()
            .map(session_of)
            .transpose()
    }

    async fn advance_session(
        &self,
        key: &str,
        device: &str,
        version: i64,
        sealed: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(
                schema::ADVANCE_SESSION,
                &[&sealed, &key, &device, &version, &schema::unix_nanos(now)],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn delete_session(&self, key: &str, device: &str) -> Result<bool, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(schema::DELETE_SESSION, &[&key, &device])
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn live_sessions(&self, pool: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n: i64 = client
            .query_one(schema::LIVE_SESSIONS, &[&pool, &schema::unix_nanos(now)])
            .await
            .map_err(err)?
            .try_get(0)
            .map_err(err)?;
        Ok(n.max(0) as u64)
    }
}

#[async_trait]
impl AdmitLog for PgRegistry {
    async fn exchange_admits(
        &self,
        node: &str,
        after: i64,
        mine: &[Admits],
        now: OffsetDateTime,
        forget_before: OffsetDateTime,
        max: u32,
    ) -> Result<(i64, Vec<Admits>), StoreError> {
        let kinds: Vec<&str> = mine.iter().map(|a| a.kind.as_str()).collect();
        let clients: Vec<&str> = mine.iter().map(|a| a.client.as_str()).collect();
        let counts: Vec<i64> = mine.iter().map(|a| i64::from(a.count)).collect();
        let client = self.pool.get().await.map_err(pool_err)?;
        in_transaction(client, async |client| {
            client
                .batch_execute(&format!("SELECT pg_advisory_xact_lock({ADMITS_LOCK})"))
                .await?;
            if !mine.is_empty() {
                client
                    .execute(
                        schema::INSERT_ADMITS,
                        &[&node, &kinds, &clients, &counts, &schema::unix_nanos(now)],
                    )
                    .await?;
            }
            client
                .execute(schema::FORGET_ADMITS, &[&schema::unix_nanos(forget_before)])
                .await?;
            let rows = client
                .query(schema::OTHERS_ADMITS, &[&after, &node, &i64::from(max)])
                .await?;
            let mut last = after;
            let mut others = Vec::with_capacity(rows.len());
            for r in &rows {
                last = last.max(r.try_get::<_, i64>(0)?);
                others.push(Admits {
                    kind: r.try_get(1)?,
                    client: r.try_get(2)?,
                    count: u32::try_from(r.try_get::<_, i64>(3)?).unwrap_or(u32::MAX),
                });
            }
            Ok((last, others))
        })
        .await
    }
}
