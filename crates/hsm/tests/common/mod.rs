//! Shared helpers: the process-wide SoftHSM token, independent verification (RustCrypto and the
//! `openssl` command), and running external tools (a missing tool fails the test).
#![allow(dead_code)]

pub mod pdf;

use banso_hsm::testkit::{SoftHsm, TEST_TOKEN, TEST_USER_PIN};
use banso_hsm::{KeyKind, Pin, Token};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The kit (its tokens initialized before any PKCS#11 call of this process).
pub fn kit() -> &'static SoftHsm {
    SoftHsm::shared().unwrap()
}

/// The shared test token, logged in once and shared by all tests of this binary.
pub fn token() -> &'static Token {
    static TOKEN: OnceLock<Token> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let kit = kit();
        Token::open(kit.module(), TEST_TOKEN, &Pin::new(TEST_USER_PIN)).unwrap()
    })
}

/// A fresh directory for one test's files.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = kit()
        .dir()
        .join(format!("{name}-{}", N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Verifies `sig` over `msg` with the SubjectPublicKeyInfo `spki` using RustCrypto (no PKCS#11).
pub fn verify_rustcrypto(kind: KeyKind, spki: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use pkcs8::DecodePublicKey as _;
    match kind {
        KeyKind::EcP256 => {
            use p256::ecdsa::signature::Verifier as _;
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
            let Ok(sig) = p256::ecdsa::Signature::from_der(sig) else {
                return false;
            };
            key.verify(msg, &sig).is_ok()
        }
        KeyKind::Rsa { .. } => {
            use sha2::Digest as _;
            let key = rsa::RsaPublicKey::from_public_key_der(spki).unwrap();
            let digest = sha2::Sha256::digest(msg);
            key.verify(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest, sig)
                .is_ok()
        }
    }
}

/// Runs a command; a tool that cannot start fails the test.
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (install it: a missing tool is a failure)"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `openssl dgst -sha256 -verify pub.pem -signature sig.der data`.
pub fn verify_openssl(dir: &Path, spki: &[u8], msg: &[u8], sig: &[u8]) -> (bool, String) {
    let public = dir.join("pub.pem");
    let data = dir.join("data");
    let signature = dir.join("sig.der");
    std::fs::write(&public, banso_hsm::der::spki_pem(spki).unwrap()).unwrap();
    std::fs::write(&data, msg).unwrap();
    std::fs::write(&signature, sig).unwrap();
    run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&signature)
        .arg(&data))
}
