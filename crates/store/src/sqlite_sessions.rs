//! Identity sessions in SQLite: changed on the one writer connection, so the pool's bounds hold.

use crate::schema;
use crate::sqlite::{err, write, SqliteRegistry};
use async_trait::async_trait;
use banso_core::ports::{SessionStore, StoreError, StoredSession};
use rusqlite::{params, OptionalExtension};
use time::OffsetDateTime;

#[async_trait]
impl SessionStore for SqliteRegistry {
    async fn insert_session(
        &self,
        s: &StoredSession,
        per_device: u32,
        max: u32,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let s = s.clone();
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            tx.execute(
                schema::DELETE_EXPIRED_SESSIONS,
                params![s.pool, schema::unix_nanos(now)],
            )
            .map_err(err)?;
            tx.execute(
                schema::DELETE_OLDEST_SESSIONS,
                params![s.device, i64::from(per_device.saturating_sub(1))],
            )
            .map_err(err)?;
            let live: i64 = tx
                .query_row(
                    schema::LIVE_SESSIONS,
                    params![s.pool, schema::unix_nanos(now)],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if live >= i64::from(max) {
                // The device's oldest stays ended: it would have been, had there been room.
                tx.commit().map_err(err)?;
                return Ok(false);
            }
            tx.execute(
                schema::INSERT_SESSION,
                params![
                    s.key,
                    s.pool,
                    s.device,
                    schema::unix_nanos(s.started_at),
                    schema::unix_nanos(s.expires_at),
                    s.sealed
                ],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
            Ok(true)
        })
        .await
    }

    async fn session(&self, key: &str, now: OffsetDateTime) -> Result<Option<StoredSession>, StoreError> {
        let row = self.read(|c| {
            c.prepare_cached(schema::SELECT_SESSION)?
                .query_row(params![key, schema::unix_nanos(now)], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .optional()
        })?;
        row.map(schema::session_from).transpose()
    }

    async fn advance_session(
        &self,
        key: &str,
        device: &str,
        version: i64,
        sealed: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (key, device, sealed) = (key.to_string(), device.to_string(), sealed.to_string());
        write(&self.writer, move |conn| {
            let n = conn
                .execute(
                    schema::ADVANCE_SESSION,
                    params![sealed, key, device, version, schema::unix_nanos(now)],
                )
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete_session(&self, key: &str, device: &str) -> Result<bool, StoreError> {
        let (key, device) = (key.to_string(), device.to_string());
        write(&self.writer, move |conn| {
            Ok(conn
                .execute(schema::DELETE_SESSION, params![key, device])
                .map_err(err)?
                == 1)
        })
        .await
    }

    async fn live_sessions(&self, pool: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let n: i64 = self.read(|c| {
            c.prepare_cached(schema::LIVE_SESSIONS)?
                .query_row(params![pool, schema::unix_nanos(now)], |r| r.get(0))
        })?;
        Ok(n.max(0) as u64)
    }
}
