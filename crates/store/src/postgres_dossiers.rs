//! Dossiers in PostgreSQL: each change in one transaction with its event and deliveries; deliveries are
//! claimed with `FOR UPDATE SKIP LOCKED`, so workers on several nodes never take the same one.

use crate::postgres::{err, in_transaction, pool_err, PgRegistry};
use crate::schema;
use async_trait::async_trait;
use banso_core::dossier::{Delivery, Dossier, Event, Rating};
use banso_core::ports::{DossierStore, StoreError};
use time::OffsetDateTime;
use tokio_postgres::Row;

async fn insert_event_and_deliveries(
    client: &deadpool_postgres::ClientWrapper,
    event: &Event,
    deliveries: &[Delivery],
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            schema::INSERT_DOSSIER_EVENT,
            &[
                &event.dossier,
                &event.kind,
                &event.status.as_str(),
                &event.at.unix_timestamp(),
                &event.actor,
                &event.note,
            ],
        )
        .await?;
    insert_deliveries(client, deliveries).await
}

async fn insert_deliveries(
    client: &deadpool_postgres::ClientWrapper,
    deliveries: &[Delivery],
) -> Result<(), tokio_postgres::Error> {
    for d in deliveries {
        client
            .execute(
                schema::INSERT_DELIVERY,
                &[
                    &d.id,
                    &d.target,
                    &d.body,
                    &i64::from(d.attempts),
                    &d.next_at.unix_timestamp(),
                    &d.state,
                    &d.last_error,
                    &d.created_at.unix_timestamp(),
                ],
            )
            .await?;
    }
    Ok(())
}

fn event_from(r: &Row) -> Result<Event, StoreError> {
    schema::event_from_row((
        r.try_get(0).map_err(err)?,
        r.try_get(1).map_err(err)?,
        r.try_get(2).map_err(err)?,
        r.try_get(3).map_err(err)?,
        r.try_get(4).map_err(err)?,
        r.try_get(5).map_err(err)?,
        r.try_get(6).map_err(err)?,
    ))
}

fn delivery_from(r: &Row) -> Result<Delivery, StoreError> {
    Ok(schema::delivery_from_row((
        r.try_get(0).map_err(err)?,
        r.try_get(1).map_err(err)?,
        r.try_get(2).map_err(err)?,
        r.try_get(3).map_err(err)?,
        r.try_get(4).map_err(err)?,
        r.try_get(5).map_err(err)?,
        r.try_get(6).map_err(err)?,
        r.try_get(7).map_err(err)?,
    )))
}

/// A rating from a row of the rating queries.
fn rating_of(r: &tokio_postgres::Row) -> Result<Rating, StoreError> {
    schema::rating_from_row((
        r.try_get(0).map_err(err)?,
        r.try_get(1).map_err(err)?,
        r.try_get(2).map_err(err)?,
        r.try_get(3).map_err(err)?,
        r.try_get(4).map_err(err)?,
        r.try_get(5).map_err(err)?,
        r.try_get(6).map_err(err)?,
        r.try_get(7).map_err(err)?,
    ))
}

#[async_trait]
impl DossierStore for PgRegistry {
    async fn next_dossier_number(&self, prefix: &str) -> Result<u32, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let n: i64 = client
            .query_one(schema::NEXT_DOSSIER_NUMBER, &[&prefix])
            .await
            .map_err(err)?
            .try_get(0)
            .map_err(err)?;
        u32::try_from(n).map_err(|_| StoreError::Other(format!("dossier number {n}")))
    }

    async fn insert_dossier(
        &self,
        d: &Dossier,
        event: &Event,
        deliveries: &[Delivery],
    ) -> Result<(), StoreError> {
        let data = schema::dossier_json(d)?;
        let client = self.pool.get().await.map_err(pool_err)?;
        in_transaction(client, async |client| {
            client
                .execute(
                    schema::INSERT_DOSSIER,
                    &[
                        &d.code,
                        &d.holder_id,
                        &d.procedure,
                        &d.status.as_str(),
                        &d.received_at.unix_timestamp(),
                        &(d.version as i64),
                        &data,
                        &d.channel,
                    ],
                )
                .await?;
            if let Some(key) = &d.key {
                client
                    .execute(schema::INSERT_DOSSIER_KEY, &[key, &d.code])
                    .await?;
            }
            insert_event_and_deliveries(client, event, deliveries).await
        })
        .await
    }

    async fn dossier_by_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(schema::DOSSIER_BY_KEY, &[&key])
            .await
            .map_err(err)?;
        row.map(|r| r.try_get::<_, String>(0).map_err(err)).transpose()
    }

    async fn dossier(&self, code: &str) -> Result<Option<Dossier>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(schema::SELECT_DOSSIER, &[&code])
            .await
            .map_err(err)?;
        row.map(|r| schema::dossier_from_json(&r.try_get::<_, String>(0).map_err(err)?))
            .transpose()
    }

    async fn wrong_lookup(
        &self,
        code: &str,
        now: OffsetDateTime,
        window_start: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(
                schema::WRONG_LOOKUP,
                &[&window_start.unix_timestamp(), &now.unix_timestamp(), &code],
            )
            .await
            .map_err(err)?;
        let n = row.map(|r| r.try_get::<_, i64>(0)).transpose().map_err(err)?;
        Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    async fn wrong_lookups(&self, code: &str, window_start: OffsetDateTime) -> Result<u32, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let row = client
            .query_opt(schema::WRONG_LOOKUPS, &[&code, &window_start.unix_timestamp()])
            .await
            .map_err(err)?;
        let n = row.map(|r| r.try_get::<_, i64>(0)).transpose().map_err(err)?;
        Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
    }

    async fn update_dossier(
        &self,
        d: &Dossier,
        read_version: u64,
        event: &Event,
        deliveries: &[Delivery],
    ) -> Result<bool, StoreError> {
        let data = schema::dossier_json(d)?;
        let client = self.pool.get().await.map_err(pool_err)?;
        in_transaction(client, async |client| {
            let n = client
                .execute(
                    schema::UPDATE_DOSSIER,
                    &[
                        &d.status.as_str(),
                        &(d.version as i64),
                        &data,
                        &d.code,
                        &(read_version as i64),
                    ],
                )
                .await?;
            if n != 1 {
                return Ok(false);
            }
            insert_event_and_deliveries(client, event, deliveries).await?;
            Ok(true)
        })
        .await
    }

    async fn dossier_events(&self, code: &str) -> Result<Vec<Event>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(&schema::select_events("dossier = $1"), &[&code])
            .await
            .map_err(err)?
            .iter()
            .map(event_from)
            .collect()
    }

    async fn events_after(&self, after: u64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(
                &format!("{} LIMIT $2", schema::select_events("seq > $1")),
                &[&(after as i64), &i64::from(limit)],
            )
            .await
            .map_err(err)?
            .iter()
            .map(event_from)
            .collect()
    }

    async fn dossiers_by_holder(&self, holder_id: &str, limit: u32) -> Result<Vec<Dossier>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(schema::DOSSIERS_BY_HOLDER, &[&holder_id, &i64::from(limit)])
            .await
            .map_err(err)?
            .iter()
            .map(|r| schema::dossier_from_json(&r.try_get::<_, String>(0).map_err(err)?))
            .collect()
    }

    async fn open_dossiers(&self, limit: u32) -> Result<Vec<Dossier>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(schema::OPEN_DOSSIERS, &[&i64::from(limit)])
            .await
            .map_err(err)?
            .iter()
            .map(|r| schema::dossier_from_json(&r.try_get::<_, String>(0).map_err(err)?))
            .collect()
    }

    async fn procedure_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(schema::PROCEDURE_COUNTS, &[])
            .await
            .map_err(err)?
            .iter()
            .map(|r| {
                let n: i64 = r.try_get(1).map_err(err)?;
                Ok((r.try_get(0).map_err(err)?, n.max(0) as u64))
            })
            .collect()
    }

    async fn add_dossier_rating(&self, r: &Rating) -> Result<bool, StoreError> {
        let reasons = serde_json::to_string(&r.reasons).unwrap_or_else(|_| "[]".into());
        let client = self.pool.get().await.map_err(pool_err)?;
        let n = client
            .execute(
                schema::INSERT_DOSSIER_RATING,
                &[
                    &r.dossier,
                    &r.step,
                    &r.level.as_str(),
                    &reasons,
                    &r.comment,
                    &r.officer,
                    &r.procedure,
                    &r.at.unix_timestamp(),
                ],
            )
            .await
            .map_err(err)?;
        Ok(n == 1)
    }

    async fn dossier_ratings(&self, code: &str) -> Result<Vec<Rating>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(schema::SELECT_DOSSIER_RATINGS, &[&code])
            .await
            .map_err(err)?
            .iter()
            .map(rating_of)
            .collect()
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        in_transaction(client, async |client| insert_deliveries(client, deliveries).await).await
    }

    async fn dossiers_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<banso_core::ports::DossierBrief>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(
                schema::DOSSIERS_SINCE,
                &[&since.unix_timestamp(), &i64::from(limit)],
            )
            .await
            .map_err(err)?
            .iter()
            .map(|r| {
                Ok(banso_core::ports::DossierBrief {
                    procedure: r.try_get(0).map_err(err)?,
                    channel: r.try_get(1).map_err(err)?,
                    received_at: schema::from_unix(r.try_get(2).map_err(err)?),
                })
            })
            .collect()
    }

    async fn ratings_since(&self, since: OffsetDateTime, limit: u32) -> Result<Vec<Rating>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(
                schema::RATINGS_SINCE,
                &[&since.unix_timestamp(), &i64::from(limit)],
            )
            .await
            .map_err(err)?
            .iter()
            .map(rating_of)
            .collect()
    }

    async fn claim_deliveries(
        &self,
        now: OffsetDateTime,
        lease_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        let mut rows = client
            .query(
                &schema::claim_deliveries("FOR UPDATE SKIP LOCKED"),
                &[
                    &lease_until.unix_timestamp(),
                    &now.unix_timestamp(),
                    &i64::from(limit),
                ],
            )
            .await
            .map_err(err)?
            .iter()
            .map(delivery_from)
            .collect::<Result<Vec<_>, _>>()?;
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
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .execute(
                schema::RECORD_ATTEMPT,
                &[
                    &state,
                    &i64::from(attempts),
                    &next_at.unix_timestamp(),
                    &error,
                    &id,
                ],
            )
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn deliveries_in(&self, state: &str, limit: u32) -> Result<Vec<Delivery>, StoreError> {
        let client = self.pool.get().await.map_err(pool_err)?;
        client
            .query(&schema::deliveries_in(), &[&state, &i64::from(limit)])
            .await
            .map_err(err)?
            .iter()
            .map(delivery_from)
            .collect()
    }
}
