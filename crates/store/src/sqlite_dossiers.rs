//! Dossiers in SQLite: writes on the one writer connection, each change in one transaction with its event and
//! deliveries.

use crate::schema;
use crate::sqlite::{err, write, SqliteRegistry};
use async_trait::async_trait;
use banso_core::dossier::{Delivery, Dossier, Event, Rating};
use banso_core::ports::{DossierStore, StoreError};
use rusqlite::{params, Connection, OptionalExtension, Row};
use time::OffsetDateTime;

fn insert_event_and_deliveries(
    conn: &Connection,
    event: &Event,
    deliveries: &[Delivery],
) -> Result<(), StoreError> {
    conn.prepare_cached(schema::INSERT_DOSSIER_EVENT)
        .and_then(|mut st| {
            st.execute(params![
                event.dossier,
                event.kind,
                event.status.as_str(),
                event.at.unix_timestamp(),
                event.actor,
                event.note
            ])
        })
        .map_err(err)?;
    insert_deliveries(conn, deliveries)
}

fn insert_deliveries(conn: &Connection, deliveries: &[Delivery]) -> Result<(), StoreError> {
    for d in deliveries {
        conn.prepare_cached(schema::INSERT_DELIVERY)
            .and_then(|mut st| {
                st.execute(params![
                    d.id,
                    d.target,
                    d.body,
                    i64::from(d.attempts),
                    d.next_at.unix_timestamp(),
                    d.state,
                    d.last_error,
                    d.created_at.unix_timestamp()
                ])
            })
            .map_err(err)?;
    }
    Ok(())
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<(i64, String, String, String, i64, String, String)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

#[allow(clippy::type_complexity)]
fn delivery_row(
    r: &Row<'_>,
) -> rusqlite::Result<(String, String, String, i64, i64, String, Option<String>, i64)> {
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
}

/// A rating's row, as the rating queries give it.
#[allow(clippy::type_complexity)]
fn rating_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
)> {
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
}

#[async_trait]
impl DossierStore for SqliteRegistry {
    async fn next_dossier_number(&self, prefix: &str) -> Result<u32, StoreError> {
        let prefix = prefix.to_string();
        write(&self.writer, move |conn| {
            let n: i64 = conn
                .query_row(schema::NEXT_DOSSIER_NUMBER, params![prefix], |r| r.get(0))
                .map_err(err)?;
            u32::try_from(n).map_err(|_| StoreError::Other(format!("dossier number {n}")))
        })
        .await
    }

    async fn insert_dossier(
        &self,
        dossier: &Dossier,
        event: &Event,
        deliveries: &[Delivery],
    ) -> Result<(), StoreError> {
        let data = schema::dossier_json(dossier)?;
        let (d, event, deliveries) = (dossier.clone(), event.clone(), deliveries.to_vec());
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            tx.execute(
                schema::INSERT_DOSSIER,
                params![
                    d.code,
                    d.holder_id,
                    d.procedure,
                    d.status.as_str(),
                    d.received_at.unix_timestamp(),
                    d.version as i64,
                    data,
                    d.channel
                ],
            )
            .map_err(err)?;
            if let Some(key) = &d.key {
                tx.execute(schema::INSERT_DOSSIER_KEY, params![key, d.code])
                    .map_err(err)?;
            }
            insert_event_and_deliveries(&tx, &event, &deliveries)?;
            tx.commit().map_err(err)
        })
        .await
    }

    async fn dossier_by_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached(schema::DOSSIER_BY_KEY)?
                .query_row(params![key], |r| r.get(0))
                .optional()
        })
    }

    async fn dossier(&self, code: &str) -> Result<Option<Dossier>, StoreError> {
        let data: Option<String> = self.read(|c| {
            c.prepare_cached(schema::SELECT_DOSSIER)?
                .query_row(params![code], |r| r.get(0))
                .optional()
        })?;
        data.map(|d| schema::dossier_from_json(&d)).transpose()
    }

    async fn wrong_lookup(
        &self,
        code: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let code = code.to_string();
        write(&self.writer, move |conn| {
            let n: Option<i64> = conn
                .query_row(
                    schema::WRONG_LOOKUP,
                    params![window_start.unix_timestamp(), now.unix_timestamp(), code],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
        })
        .await
    }

    async fn wrong_lookups(&self, code: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        let n: Option<i64> = self.read(|c| {
            c.prepare_cached(schema::WRONG_LOOKUPS)?
                .query_row(params![code, window_start.unix_timestamp()], |r| r.get(0))
                .optional()
        })?;
        Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    async fn update_dossier(
        &self,
        dossier: &Dossier,
        read_version: u64,
        event: &Event,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        let data = schema::dossier_json(dossier)?;
        let (d, event, deliveries) = (dossier.clone(), event.clone(), deliveries.to_vec());
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            let n = tx
                .execute(
                    schema::UPDATE_DOSSIER,
                    params![
                        d.status.as_str(),
                        d.version as i64,
                        data,
                        d.code,
                        read_version as i64
                    ],
                )
                .map_err(err)?;
            if n != 1 {
                return Ok(false);
            }
            insert_event_and_deliveries(&tx, &event, &deliveries)?;
            tx.commit().map_err(err)?;
            Ok(true)
        })
        .await
    }

    async fn dossier_events(&self, code: &str) -> Result<Vec<Event>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(&schema::select_events("dossier = $1"))?
                .query_map(params![code], event_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::event_from_row).collect()
    }

    async fn events_after(&self, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(&format!("{} LIMIT $2", schema::select_events("seq > $1")))?
                .query_map(params![after as i64, i64::from(limit)], event_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::event_from_row).collect()
    }

    async fn dossiers_by_holder(&self, holder_id: &str, limit: u32) -> Result<Vec<Dossier>, StoreError> {
        let rows: Vec<String> = self.read(|c| {
            c.prepare_cached(schema::DOSSIERS_BY_HOLDER)?
                .query_map(params![holder_id, i64::from(limit)], |r| r.get(0))?
                .collect()
        })?;
        rows.iter().map(|d| schema::dossier_from_json(d)).collect()
    }

    async fn open_dossiers(&self, limit: u32) -> Result<Vec<Dossier>, StoreError> {
        let rows: Vec<String> = self.read(|c| {
            c.prepare_cached(schema::OPEN_DOSSIERS)?
                .query_map(params![i64::from(limit)], |r| r.get(0))?
                .collect()
        })?;
        rows.iter().map(|d| schema::dossier_from_json(d)).collect()
    }

    async fn procedure_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = self.read(|c| {
            c.prepare_cached(schema::PROCEDURE_COUNTS)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })?;
        Ok(rows.into_iter().map(|(p, n)| (p, n.max(0) as u64)).collect())
    }

    async fn add_dossier_rating(&self, r: &Rating) -> Result<bool, StoreError> {
        let r = r.clone();
        let reasons = serde_json::to_string(&r.reasons).unwrap_or_else(|_| "[]".into());
        write(&self.writer, move |conn| {
            let n = conn
                .execute(
                    schema::INSERT_DOSSIER_RATING,
                    params![
                        r.dossier,
                        r.step,
                        r.level.as_str(),
                        reasons,
                        r.comment,
                        r.officer,
                        r.procedure,
                        r.at.unix_timestamp()
                    ],
                )
                .map_err(err)?;
            Ok(n == 1)
        })
        .await
    }

    async fn dossier_ratings(&self, code: &str) -> Result<Vec<Rating>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::SELECT_DOSSIER_RATINGS)?
                .query_map(params![code], rating_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::rating_from_row).collect()
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let deliveries = deliveries.to_vec();
        write(&self.writer, move |conn| {
            let tx = conn.unchecked_transaction().map_err(err)?;
            insert_deliveries(&tx, &deliveries)?;
            tx.commit().map_err(err)
        })
        .await
    }

    async fn dossiers_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<banso_core::ports::DossierBrief>, StoreError> {
        let rows: Vec<(String, Option<String>, i64)> = self.read(|c| {
            c.prepare_cached(schema::DOSSIERS_SINCE)?
                .query_map(params![since.unix_timestamp(), i64::from(limit)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
        })?;
        Ok(rows
            .into_iter()
            .map(|(procedure, channel, at)| banso_core::ports::DossierBrief {
                procedure,
                channel,
                received_at: schema::from_unix(at),
            })
            .collect())
    }

    async fn ratings_since(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<Rating>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(schema::RATINGS_SINCE)?
                .query_map(params![since.unix_timestamp(), i64::from(limit)], rating_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(schema::rating_from_row).collect()
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut rows = write(&self.writer, move |conn| {
            conn.prepare_cached(&schema::claim_deliveries(""))
                .and_then(|mut st| {
                    st.query_map(
                        params![
                            lease_until.unix_timestamp(),
                            now.unix_timestamp(),
                            i64::from(limit)
                        ],
                        delivery_row,
                    )?
                    .collect::<rusqlite::Result<Vec<_>>>()
                })
                .map_err(err)
        })
        .await?
        .into_iter()
        .map(schema::delivery_from_row)
        .collect::<Vec<_>>();
        rows.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(rows)
    }

    async fn record_attempt(
        &self,
        id: &str,
        state: &str,
        attempts: u32,
        next_at: OffsetDateTime,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let (id, state, error) = (id.to_string(), state.to_string(), error.map(str::to_string));
        write(&self.writer, move |conn| {
            conn.execute(
                schema::RECORD_ATTEMPT,
                params![state, i64::from(attempts), next_at.unix_timestamp(), error, id],
            )
            .map_err(err)?;
            Ok(())
        })
        .await
    }

    async fn deliveries_in(&self, state: &str, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let rows = self.read(|c| {
            c.prepare_cached(&schema::deliveries_in())?
                .query_map(params![state, i64::from(limit)], delivery_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows.into_iter().map(schema::delivery_from_row).collect())
    }
}
