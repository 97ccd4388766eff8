//! The chip and app-login steps of a kiosk identity session (banso-core's `ChipVerifier` and `AppLogin`
//! ports). The service checks what the kiosk brings itself: passive authentication of the chip's data to
//! the CSCA list and the chip's active-authentication signature over the service's own nonce; or an ID
//! token from the national-ID provider, validated here.

use crate::emrtd::reader::{verify, AssuranceLevel, ChipData};
use crate::oidc::{DeviceAuthorization, OidcClient, OidcError};
use banso_core::identity::{AppLogin, AppTicket, ChipEvidence, ChipProof, ChipVerifier, ProvenHolder};
use banso_core::{Code, Error};

/// Data groups a kiosk may send (MRZ, face, Vietnamese personal data, CA and AA keys).
pub const DATA_GROUPS: [u8; 5] = [1, 2, 13, 14, 15];
/// Largest data group or EF.SOD accepted (a DG2 portrait is some 10–20 kB).
pub const MAX_FILE_BYTES: usize = 64 * 1024;

/// Chips are checked against these CSCA certificates (DER).
pub struct ChipProofs {
    pub csca_roots: Vec<Vec<u8>>,
}

fn rejected(message: impl Into<String>) -> Error {
    Error::new(Code::Id0003IdentityRejected, message)
}

impl ChipVerifier for ChipProofs {
    fn verify(&self, evidence: &ChipEvidence, nonce: &[u8; 8]) -> banso_core::Result<ChipProof> {
        let mut seen = Vec::new();
        for (n, bytes) in &evidence.data_groups {
            if !DATA_GROUPS.contains(n) || seen.contains(n) {
                return Err(Error::new(
                    Code::Req0001Malformed,
                    format!("data group {n} is not expected (send DG1, DG2, DG13, DG14, DG15 once each)"),
                ));
            }
            if bytes.len() > MAX_FILE_BYTES {
                return Err(Error::new(
                    Code::Req0001Malformed,
                    format!("data group {n} is larger than {MAX_FILE_BYTES} bytes"),
                ));
            }
            seen.push(*n);
        }
        if evidence.sod.len() > MAX_FILE_BYTES {
            return Err(Error::new(
                Code::Req0001Malformed,
                format!("EF.SOD is larger than {MAX_FILE_BYTES} bytes"),
            ));
        }
        let chip = ChipData::from_kiosk(
            evidence.sod.clone(),
            evidence.data_groups.clone(),
            evidence.active_authentication.clone().map(|sig| (*nonce, sig)),
        );
        let id = verify(chip, &self.csca_roots, *nonce).map_err(|e| rejected(e.to_string()))?;
        if id.assurance() != AssuranceLevel::High {
            return Err(rejected(
                "the chip did not prove it is genuine: no valid active authentication signature over the service's nonce",
            ));
        }
        Ok(ChipProof {
            holder: ProvenHolder {
                id_number: id.id_number().to_string(),
                full_name: id.full_name().to_string(),
                birth_date: Some(id.birth_date().to_string()).filter(|b| !b.is_empty()),
                assurance: "high".into(),
            },
            portrait: id.face_image().data.clone(),
        })
    }
}

/// The national-ID app login through an OpenID Connect provider's device flow.
pub struct OidcAppLogin {
    client: Option<OidcClient>,
    client_id: String,
    scope: String,
}

impl OidcAppLogin {
    pub fn new(client: OidcClient, client_id: String, scope: String) -> Self {
        Self {
            client: Some(client),
            client_id,
            scope,
        }
    }

    fn client(&self) -> banso_core::Result<&OidcClient> {
        self.client
            .as_ref()
            .ok_or_else(|| Error::new(Code::Auth0101ProviderUnreachable, "the provider's client is gone"))
    }
}

impl Drop for OidcAppLogin {
    /// The client's blocking HTTP stack must not be dropped on an async runtime's thread (it stops a runtime
    /// of its own): it is dropped on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = std::thread::Builder::new()
                .name("oidc-client-drop".into())
                .spawn(move || drop(client));
        }
    }
}

fn login_error(e: OidcError) -> Error {
    match e {
        OidcError::Denied | OidcError::Expired | OidcError::InvalidToken(_) => Error::new(
            Code::Auth0103LoginRefused,
            format!("the app login ended without an identity: {e}"),
        ),
        e => Error::new(
            Code::Auth0101ProviderUnreachable,
            format!("the national-ID provider: {e}"),
        ),
    }
}

impl AppLogin for OidcAppLogin {
    fn start(&self) -> banso_core::Result<AppTicket> {
        // No nonce, as in `banso id login`: the device code binds the answer to this request.
        let auth = self
            .client()?
            .start(&self.client_id, &self.scope)
            .map_err(|e| match e {
                OidcError::Network(_) => login_error(e),
                e => Error::new(
                    Code::Auth0102LoginNotStarted,
                    format!("the national-ID provider would not start a login: {e}"),
                ),
            })?;
        Ok(AppTicket {
            qr_uri: auth.qr_uri().to_string(),
            client_id: auth.client_id,
            device_code: auth.device_code,
            user_code: auth.user_code,
            verification_uri: auth.verification_uri,
            nonce: auth.nonce,
            expires_in: auth.expires_in,
            interval: auth.interval,
        })
    }

    fn poll(&self, t: &AppTicket) -> banso_core::Result<Option<ProvenHolder>> {
        let auth = DeviceAuthorization {
            client_id: t.client_id.clone(),
            device_code: t.device_code.clone(),
            user_code: t.user_code.clone(),
            verification_uri: t.verification_uri.clone(),
            verification_uri_complete: Some(t.qr_uri.clone()),
            expires_in: t.expires_in,
            interval: t.interval,
            nonce: t.nonce.clone(),
        };
        let Some(id) = self
            .client()?
            .poll_once(&auth, std::time::SystemTime::now())
            .map_err(login_error)?
        else {
            return Ok(None);
        };
        let name = id.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
            Error::new(
                Code::Auth0103LoginRefused,
                "the provider's ID token names no holder (no name claim)",
            )
        })?;
        Ok(Some(ProvenHolder {
            id_number: id.id_number,
            full_name: name,
            birth_date: id.birthdate,
            assurance: id.assurance.map(|a| a.raw).unwrap_or_else(|| "not stated".into()),
        }))
    }
}
