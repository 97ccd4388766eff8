//! API tokens: creating, checking, listing and revoking them.
use super::*;

impl Service {
    /// Creates an API token for `role`, valid until `expires_at` when given. The token is returned once;
    /// only its SHA-256 is stored.
    pub async fn create_token(
        &self,
        role: crate::model::Role,
        name: &str,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(crate::model::TokenRecord, String)> {
        let mut rng = EntropyRng(self.entropy.as_ref());
        let token = format!("bnso_{}", random_secret(&mut rng, 20));
        let record = crate::model::TokenRecord {
            id: random_secret(&mut rng, 10),
            name: name.to_string(),
            role,
            token_hash: hex::encode(Sha256::digest(token.as_bytes())),
            created_at: self.clock.now(),
            revoked: false,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        self.registry.insert_token(&record).await?;
        Ok((record, token))
    }

    /// The caller a presented API token stands for: known, not revoked, not expired. The time of use is
    /// recorded (at most once a minute per token, so checking tokens does not turn every request into a
    /// write).
    pub async fn authenticate(&self, token: &str) -> Result<crate::model::TokenRecord> {
        let hash = hex::encode(Sha256::digest(token.as_bytes()));
        let now = self.clock.now();
        let record = self
            .registry
            .token_by_hash(&hash)
            .await?
            .filter(|t| !t.revoked && t.expires_at.is_none_or(|e| now < e))
            .ok_or_else(|| {
                Error::new(
                    Code::Auth0002Invalid,
                    "the API token is unknown, revoked or expired",
                )
            })?;
        if record
            .last_used_at
            .is_none_or(|t| now - t >= time::Duration::minutes(1))
        {
            self.registry.touch_token(&record.id, now).await?;
        }
        Ok(record)
    }

    /// Every API token (never the token itself: it is not stored).
    pub async fn tokens(&self) -> Result<Vec<crate::model::TokenRecord>> {
        Ok(self.registry.list_tokens().await?)
    }

    /// Revokes the token `id` from now on.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        if self.registry.revoke_token(id.trim(), self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::new(
                Code::Auth0004NoSuchToken,
                "no unrevoked token has this id",
            ))
        }
    }

    /// A citizen's satisfaction rating at kiosk `device`: 1 (very dissatisfied) to 5 (very satisfied).
    pub async fn rate(&self, device: &str, score: u8) -> Result<()> {
        if !(1..=5).contains(&score) {
            return Err(Error::new(
                Code::Req0001Malformed,
                "a rating is a score from 1 to 5",
            ));
        }
        Ok(self.registry.add_rating(device, score, self.clock.now()).await?)
    }
}
