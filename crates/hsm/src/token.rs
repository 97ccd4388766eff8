//! Modules, tokens, the session pool, key look-up, key generation and the raw signing operation.
use crate::der;
use crate::{HsmError, KeyRef, Pin};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

/// Sessions a [`Token`] opens at most unless told otherwise (one signing operation each).
pub const DEFAULT_MAX_SESSIONS: usize = 8;

/// Loaded and initialized modules, by path: C_Initialize may run only once per process.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// PKCS#11 login state belongs to the application, not the session: once any session of this
/// process logged in to a slot, C_Login answers CKR_USER_ALREADY_LOGGED_IN whatever the PIN.
/// Remembering a fingerprint of the PIN that succeeded lets a later wrong PIN still be refused.
static LOGINS: OnceLock<Mutex<HashMap<LoginKey, [u8; 32]>>> = OnceLock::new();

/// A slot of a module: (module path, slot id).
type LoginKey = (PathBuf, u64);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves plain data intact; carry on.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn module_key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn load_module(path: &Path) -> Result<Pkcs11, HsmError> {
    let key = module_key(path);
    let mut modules = lock(MODULES.get_or_init(Default::default));
    if let Some(ctx) = modules.get(&key) {
        return Ok(ctx.clone());
    }
    let fail = |reason: String| HsmError::Module {
        path: path.to_path_buf(),
        reason,
    };
    let ctx = Pkcs11::new(path).map_err(|e| fail(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(fail(format!("C_Initialize: {e}"))),
    }
    modules.insert(key, ctx.clone());
    Ok(ctx)
}

/// A logged-in token with a pool of sessions. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Token {
    inner: Arc<TokenInner>,
}

struct TokenInner {
    ctx: Pkcs11,
    module: PathBuf,
    slot: Slot,
    label: String,
    pin: Pin,
    max_sessions: usize,
    pool: Mutex<Pool>,
    returned: Condvar,
}

struct Pool {
    idle: Vec<Session>,
    /// Sessions that exist: idle plus borrowed.
    open: usize,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pool = lock(&self.inner.pool);
        f.debug_struct("Token")
            .field("module", &self.inner.module)
            .field("label", &self.inner.label)
            .field("slot", &self.inner.slot.id())
            .field("pin", &self.inner.pin)
            .field("sessions_open", &pool.open)
            .field("max_sessions", &self.inner.max_sessions)
            .finish()
    }
}

impl Token {
    /// Loads `module` (once per process), finds the initialized token labelled `token_label`, and logs
    /// in as the user (opening the first session of the pool).
    pub fn open(module: impl AsRef<Path>, token_label: &str, pin: &Pin) -> Result<Self, HsmError> {
        Self::open_with_pool(module, token_label, pin, DEFAULT_MAX_SESSIONS)
    }

    /// As [`Token::open`], with at most `max_sessions` concurrent sessions (at least 1).
    pub fn open_with_pool(
        module: impl AsRef<Path>,
        token_label: &str,
        pin: &Pin,
        max_sessions: usize,
    ) -> Result<Self, HsmError> {
        let module = module.as_ref();
        let ctx = load_module(module)?;
        let slot = find_slot(&ctx, token_label)?;
        let token = Token {
            inner: Arc::new(TokenInner {
                ctx,
                module: module_key(module),
                slot,
                label: token_label.to_string(),
                pin: pin.clone(),
                max_sessions: max_sessions.max(1),
                pool: Mutex::new(Pool {
                    idle: Vec::new(),
                    open: 0,
                }),
                returned: Condvar::new(),
            }),
        };
        // Log in now so that a wrong PIN fails here, not at the first signature.
        let first = token.new_session()?;
        let mut pool = lock(&token.inner.pool);
        pool.idle.push(first);
        pool.open = 1;
        drop(pool);
        Ok(token)
    }

    /// The token label.
    pub fn label(&self) -> &str {
        &self.inner.label
    }

    /// Sessions currently open (idle and in use).
    pub fn sessions_open(&self) -> usize {
        lock(&self.inner.pool).open
    }

    fn new_session(&self) -> Result<Session, HsmError> {
        let inner = &self.inner;
        let session = inner
            .ctx
            .open_rw_session(inner.slot)
            .map_err(HsmError::pkcs11("C_OpenSession"))?;
        let login_key = (inner.module.clone(), inner.slot.id());
        let logins = LOGINS.get_or_init(Default::default);
        let fingerprint = inner.pin.fingerprint();
        match session.login(UserType::User, Some(inner.pin.auth())) {
            Ok(()) => {
                lock(logins).insert(login_key, fingerprint);
                Ok(session)
            }
            Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                match lock(logins).get(&login_key) {
                    Some(known) if *known != fingerprint => Err(HsmError::PinIncorrect {
                        token: inner.label.clone(),
                    }),
                    // Logged in with this PIN earlier (or by another library in this process).
                    _ => Ok(session),
                }
            }
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                Err(HsmError::PinIncorrect {
                    token: inner.label.clone(),
                })
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(HsmError::PinLocked {
                token: inner.label.clone(),
            }),
            Err(e) => Err(HsmError::pkcs11("C_Login")(e)),
        }
    }

    /// Runs `op` on a pooled session: an idle one, a new one if fewer than the maximum are open,
    /// or the next one returned.
    pub(crate) fn with_session<R>(
        &self,
        op: impl FnOnce(&Session) -> Result<R, HsmError>,
    ) -> Result<R, HsmError> {
        let session = self.acquire()?;
        let result = op(&session);
        let mut pool = lock(&self.inner.pool);
        match &result {
            Err(e) if e.breaks_session() => {
                pool.open = pool.open.saturating_sub(1);
                drop(pool);
                drop(session);
            }
            _ => {
                pool.idle.push(session);
                drop(pool);
            }
        }
        self.inner.returned.notify_one();
        result
    }

    fn acquire(&self) -> Result<Session, HsmError> {
        let mut pool = lock(&self.inner.pool);
        loop {
            if let Some(session) = pool.idle.pop() {
                return Ok(session);
            }
            if pool.open < self.inner.max_sessions {
                pool.open += 1;
                drop(pool);
                return self.new_session().inspect_err(|_| {
                    let mut pool = lock(&self.inner.pool);
                    pool.open = pool.open.saturating_sub(1);
                    drop(pool);
                    self.inner.returned.notify_one();
                });
            }
            pool = self
                .inner
                .returned
                .wait(pool)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Finds the private key `key` and its public half.
    pub fn find_key(&self, key: &KeyRef) -> Result<TokenKey, HsmError> {
        let token_name = || self.inner.label.clone();
        self.with_session(|session| {
            let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
            template.push(match key {
                KeyRef::Label(label) => Attribute::Label(label.as_bytes().to_vec()),
                KeyRef::Id(id) => Attribute::Id(id.clone()),
            });
            let found = session
                .find_objects(&template)
                .map_err(HsmError::pkcs11("C_FindObjects"))?;
            let handle = match found.as_slice() {
                [] => {
                    return Err(HsmError::KeyNotFound {
                        token: token_name(),
                        key: key.to_string(),
                    })
                }
                [one] => *one,
                _ => {
                    return Err(HsmError::KeyAmbiguous {
                        token: token_name(),
                        key: key.to_string(),
                    })
                }
            };
            let attrs = session
                .get_attributes(
                    handle,
                    &[
                        AttributeType::KeyType,
                        AttributeType::Id,
                        AttributeType::Label,
                        AttributeType::EcParams,
                        AttributeType::Modulus,
                        AttributeType::PublicExponent,
                    ],
                )
                .map_err(HsmError::pkcs11("C_GetAttributeValue"))?;
            let mut key_type = None;
            let (mut id, mut label, mut params, mut modulus, mut exponent) =
                (Vec::new(), Vec::new(), None, None, None);
            for attr in attrs {
                match attr {
                    Attribute::KeyType(t) => key_type = Some(t),
                    Attribute::Id(v) => id = v,
                    Attribute::Label(v) => label = v,
                    Attribute::EcParams(v) => params = Some(v),
                    Attribute::Modulus(v) => modulus = Some(v),
                    Attribute::PublicExponent(v) => exponent = Some(v),
                    _ => {}
                }
            }
            let label = String::from_utf8_lossy(&label).into_owned();
            let kind_and_spki = match key_type {
                Some(t) if t == KeyType::EC => {
                    if params.as_deref() != Some(der::p256_params().as_slice()) {
                        return Err(HsmError::UnsupportedKey(format!(
                            "{key}: EC keys other than P-256 are not supported"
                        )));
                    }
                    let public = find_public(session, &id, &label)?.ok_or_else(|| {
                        HsmError::UnsupportedKey(format!(
                            "{key}: no public key object with the same CKA_ID or CKA_LABEL"
                        ))
                    })?;
                    let point = ec_point(session, public)?;
                    (KeyKind::EcP256, der::p256_spki(&point)?, point)
                }
                Some(t) if t == KeyType::RSA => {
                    let (n, e) = match (modulus, exponent) {
                        (Some(n), Some(e)) if !n.is_empty() && !e.is_empty() => (n, e),
                        _ => {
                            let public = find_public(session, &id, &label)?.ok_or_else(|| {
                                HsmError::UnsupportedKey(format!(
                                    "{key}: neither the private nor a public key object gives the modulus"
                                ))
                            })?;
                            rsa_public(session, public)?
                        }
                    };
                    let bits = modulus_bits(&n);
                    if bits < 2048 {
                        return Err(HsmError::UnsupportedKey(format!(
                            "{key}: RSA keys below 2048 bits are refused ({bits})"
                        )));
                    }
                    (
                        KeyKind::Rsa { bits },
                        der::rsa_spki(&n, &e)?,
                        der::rsa_public_key(&n, &e)?,
                    )
                }
                other => {
                    return Err(HsmError::UnsupportedKey(format!(
                        "{key}: key type {other:?} is not supported"
                    )))
                }
            };
            let (kind, spki, public_raw) = kind_and_spki;
            Ok(TokenKey {
                token: self.clone(),
                handle,
                kind,
                label,
                id,
                spki,
                public_raw,
            })
        })
    }

    /// Generates a P-256 key pair inside the token (private key sensitive, not extractable) labelled
    /// `label`, and returns its public key as SubjectPublicKeyInfo DER.
    pub fn generate_ec_p256(&self, label: &str) -> Result<Vec<u8>, HsmError> {
        let public = [Attribute::EcParams(der::p256_params())];
        self.generate(label, &Mechanism::EccKeyPairGen, &public, |session, handle| {
            der::p256_spki(&ec_point(session, handle)?)
        })
    }

    /// Generates an RSA key pair (2048, 3072 or 4096 bits, exponent 65537) inside the token labelled
    /// `label`, and returns its public key as SubjectPublicKeyInfo DER.
    pub fn generate_rsa(&self, label: &str, bits: u32) -> Result<Vec<u8>, HsmError> {
        if !matches!(bits, 2048 | 3072 | 4096) {
            return Err(HsmError::UnsupportedKey(format!(
                "RSA keys of {bits} bits are not offered (2048, 3072, 4096)"
            )));
        }
        let public = [
            Attribute::ModulusBits(u64::from(bits).into()),
            Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
        ];
        self.generate(
            label,
            &Mechanism::RsaPkcsKeyPairGen,
            &public,
            |session, handle| {
                let (n, e) = rsa_public(session, handle)?;
                der::rsa_spki(&n, &e)
            },
        )
    }

    fn generate(
        &self,
        label: &str,
        mechanism: &Mechanism,
        public_specific: &[Attribute],
        spki: impl FnOnce(&Session, ObjectHandle) -> Result<Vec<u8>, HsmError>,
    ) -> Result<Vec<u8>, HsmError> {
        if label.is_empty() {
            return Err(HsmError::UnsupportedKey("a key label must not be empty".into()));
        }
        // One key generation at a time in this process: SoftHSM's file object store fails concurrent
        // creations of token objects at random (CKR_GENERAL_ERROR from C_GenerateKeyPair; SoftHSMv2 issue
        // 573, seen here under the parallel test suite). Keys are made rarely; signing stays parallel. Holding
        // the lock across the label check also keeps two threads from creating the same label.
        static GENERATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = GENERATING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.with_session(|session| {
            let existing = session
                .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
                .map_err(HsmError::pkcs11("C_FindObjects"))?;
            if !existing.is_empty() {
                return Err(HsmError::KeyExists {
                    token: self.inner.label.clone(),
                    label: label.to_string(),
                });
            }
            let id = session
                .generate_random_vec(16)
                .map_err(HsmError::pkcs11("C_GenerateRandom"))?;
            let mut public = vec![
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Verify(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ];
            public.extend_from_slice(public_specific);
            let private = [
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id),
            ];
            let (public_handle, _private_handle) = session
                .generate_key_pair(mechanism, &public, &private)
                .map_err(HsmError::pkcs11("C_GenerateKeyPair"))?;
            spki(session, public_handle)
        })
    }

    /// Deletes every object (keys, certificates) labelled `label`; returns how many.
    pub fn destroy_objects(&self, label: &str) -> Result<usize, HsmError> {
        self.with_session(|session| {
            let found = session
                .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
                .map_err(HsmError::pkcs11("C_FindObjects"))?;
            for handle in &found {
                session
                    .destroy_object(*handle)
                    .map_err(HsmError::pkcs11("C_DestroyObject"))?;
            }
            Ok(found.len())
        })
    }
}

fn find_slot(ctx: &Pkcs11, token_label: &str) -> Result<Slot, HsmError> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(HsmError::pkcs11("C_GetSlotList"))?;
    let mut available = Vec::new();
    let mut matching = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(HsmError::pkcs11("C_GetTokenInfo"))?;
        let label = info.label().trim_end().to_string();
        if label == token_label {
            matching.push(slot);
        }
        available.push(label);
    }
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(HsmError::TokenNotFound {
            label: token_label.to_string(),
            available,
        }),
        _ => Err(HsmError::TokenAmbiguous(token_label.to_string())),
    }
}

/// The public key object paired with a private key: same CKA_ID if it has one, else same label.
fn find_public(session: &Session, id: &[u8], label: &str) -> Result<Option<ObjectHandle>, HsmError> {
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    if id.is_empty() {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    } else {
        template.push(Attribute::Id(id.to_vec()));
    }
    let found = session
        .find_objects(&template)
        .map_err(HsmError::pkcs11("C_FindObjects"))?;
    Ok(found.first().copied())
}

fn ec_point(session: &Session, handle: ObjectHandle) -> Result<Vec<u8>, HsmError> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(HsmError::pkcs11("C_GetAttributeValue"))?;
    let value = attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(v) => Some(v),
            _ => None,
        })
        .ok_or_else(|| HsmError::UnsupportedKey("the public key has no CKA_EC_POINT".into()))?;
    der::p256_point_from_attribute(&value)
}

fn rsa_public(session: &Session, handle: ObjectHandle) -> Result<(Vec<u8>, Vec<u8>), HsmError> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::Modulus, AttributeType::PublicExponent])
        .map_err(HsmError::pkcs11("C_GetAttributeValue"))?;
    let (mut n, mut e) = (None, None);
    for attr in attrs {
        match attr {
            Attribute::Modulus(v) => n = Some(v),
            Attribute::PublicExponent(v) => e = Some(v),
            _ => {}
        }
    }
    match (n, e) {
        (Some(n), Some(e)) if !n.is_empty() && !e.is_empty() => Ok((n, e)),
        _ => Err(HsmError::UnsupportedKey(
            "the RSA key has no CKA_MODULUS or CKA_PUBLIC_EXPONENT".into(),
        )),
    }
}

fn modulus_bits(n: &[u8]) -> u32 {
    let skip = n.iter().take_while(|b| **b == 0).count();
    match n.get(skip..) {
        Some([first, rest @ ..]) => (rest.len() as u32) * 8 + (8 - first.leading_zeros()),
        _ => 0,
    }
}

/// What a token key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    EcP256,
    Rsa { bits: u32 },
}

/// A private key on a logged-in token, with its public key. Cheap to clone.
#[derive(Clone)]
pub struct TokenKey {
    token: Token,
    handle: ObjectHandle,
    kind: KeyKind,
    label: String,
    id: Vec<u8>,
    spki: Vec<u8>,
    /// The uncompressed point (EC) or the PKCS#1 RSAPublicKey DER (RSA), as rcgen wants it.
    public_raw: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKey")
            .field("token", &self.token.inner.label)
            .field("label", &self.label)
            .field("id", &KeyRef::Id(self.id.clone()).to_string())
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl TokenKey {
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The signature algorithm [`TokenKey::sign`] produces.
    pub fn algorithm(&self) -> banso_signing::SignatureAlgorithm {
        match self.kind {
            KeyKind::EcP256 => banso_signing::SignatureAlgorithm::EcdsaP256Sha256,
            KeyKind::Rsa { .. } => banso_signing::SignatureAlgorithm::RsaPkcs1Sha256,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// CKA_ID.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki
    }

    pub(crate) fn public_raw(&self) -> &[u8] {
        &self.public_raw
    }

    /// Signs `message` inside the token: RSASSA-PKCS1-v1_5 with SHA-256, or ECDSA P-256 with SHA-256
    /// (DER-encoded). Safe to call from many threads at once.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.token.with_session(|session| match self.kind {
            KeyKind::Rsa { .. } => session
                .sign(&Mechanism::Sha256RsaPkcs, self.handle, message)
                .map_err(HsmError::pkcs11("C_Sign")),
            KeyKind::EcP256 => {
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(message);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.handle, &digest)
                    .map_err(HsmError::pkcs11("C_Sign"))?;
                der::ecdsa_raw_to_der(&raw)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_of_modulus() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(modulus_bits(&[0, 0]), 0);
        let mut n = vec![0xc0];
        n.extend_from_slice(&[0u8; 255]);
        assert_eq!(modulus_bits(&n), 2048);
    }
}
