//! The kiosk fleet: an administrator makes a one-time enrolment code (valid a day, shown once, kept as its
//! SHA-256); the kiosk exchanges it for its own API token (role kiosk) and then reports its peripherals in
//! heartbeats; the fleet page shows each kiosk's last sight and state; revoking its token stops it at once.

use super::{Service, SignedIn};
use crate::code::random_secret;
use crate::error::{Code, Error, Result};
use crate::model::{Role, TokenRecord};
use crate::office::{secret_id, Device, OfficeRole};
use crate::ports::EntropyRng;

/// How long an enrolment code may be used.
pub const ENROLMENT_VALID: time::Duration = time::Duration::hours(24);
/// A heartbeat's body, at most (bytes of JSON).
pub const HEARTBEAT_BYTES: usize = 4096;

/// A kiosk as the fleet page shows it: its token and what it last said, if it ever did.
#[derive(Debug, Clone)]
pub struct FleetEntry {
    pub token: TokenRecord,
    pub device: Option<Device>,
}

impl Service {
    /// A one-time enrolment code for a kiosk to be named `name` (administrators; written to the audit log).
    pub async fn office_enrolment_code(&self, by: &SignedIn, name: &str, from: &str) -> Result<String> {
        by.require(|r| r == OfficeRole::Administrator)?;
        self.enrolment_code(name, &by.officer.username, from).await
    }

    /// A one-time enrolment code made by `by` (an administrator, or the operator at the command line).
    pub async fn enrolment_code(&self, name: &str, by: &str, from: &str) -> Result<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                "the kiosk's name is required, at most 100 characters",
            ));
        }
        let code = random_secret(&mut EntropyRng(self.entropy.as_ref()), 16);
        let now = self.clock.now();
        self.office()?
            .store
            .insert_enrolment(&secret_id(&code), name, by, now + ENROLMENT_VALID)
            .await?;
        self.audit(by, "device_code_created", name, from).await?;
        Ok(code)
    }

    /// A kiosk enrols with its one-time code: its own API token (role kiosk), given once. AUTH-0002 for a code
    /// that is unknown, used or expired.
    pub async fn enrol_device(&self, code: &str, from: &str) -> Result<(TokenRecord, String)> {
        let store = &self.office()?.store;
        let now = self.clock.now();
        let name = store
            .take_enrolment(&secret_id(code.trim()), now)
            .await?
            .ok_or_else(|| {
                Error::new(
                    Code::Auth0002Invalid,
                    "the enrolment code is not valid: unknown, used already, or expired",
                )
            })?;
        let (record, token) = self.create_token(Role::Kiosk, &name, None).await?;
        store.device_seen(&record.id, &name, now, "{}").await?;
        self.audit("-", "device_enrolled", &format!("{} ({})", name, record.id), from)
            .await?;
        Ok((record, token))
    }

    /// A kiosk's heartbeat: the state of its peripherals (a JSON object of at most [`HEARTBEAT_BYTES`]).
    pub async fn device_heartbeat(
        &self,
        token_id: &str,
        name: &str,
        role: Role,
        state: &serde_json::Value,
    ) -> Result<()> {
        if role != Role::Kiosk {
            return Err(Error::new(
                Code::Auth0003Forbidden,
                "only a kiosk sends heartbeats",
            ));
        }
        let body = serde_json::to_string(state).unwrap_or_default();
        if !state.is_object() || body.len() > HEARTBEAT_BYTES {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                format!("a heartbeat is a JSON object of at most {HEARTBEAT_BYTES} bytes"),
            ));
        }
        self.office()?
            .store
            .device_seen(token_id, name, self.clock.now(), &body)
            .await?;
        Ok(())
    }

    /// Every kiosk token that is not revoked, with its device's last heartbeat (administrators and supervisors).
    pub async fn office_fleet(&self, by: &SignedIn) -> Result<Vec<FleetEntry>> {
        by.require(|r| matches!(r, OfficeRole::Administrator | OfficeRole::Supervisor))?;
        self.fleet().await
    }

    /// Every kiosk token that is not revoked, with its device's last heartbeat (the operator's command line).
    pub async fn fleet(&self) -> Result<Vec<FleetEntry>> {
        let devices = self.office()?.store.devices().await?;
        Ok(self
            .tokens()
            .await?
            .into_iter()
            .filter(|t| t.role == Role::Kiosk && !t.revoked)
            .map(|token| FleetEntry {
                device: devices.iter().find(|d| d.token_id == token.id).cloned(),
                token,
            })
            .collect())
    }
}
