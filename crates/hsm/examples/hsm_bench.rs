//! Signatures per second through PKCS#11 (a throwaway SoftHSM2 token), EC P-256 and RSA-2048, with
//! 1 and 2 threads; the in-memory software signer (ring / RustCrypto) on the same messages for
//! comparison.
//!
//! `cargo run --release -p banso-hsm --example hsm_bench [-- SECONDS_PER_CASE]`
use banso_hsm::testkit::{SoftHsm, TEST_USER_PIN};
use banso_hsm::{KeyRef, Pin, Token, TokenKey};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2.0);
    let per_case = Duration::from_secs_f64(seconds);

    let kit = SoftHsm::create()?;
    kit.init_token("bench", "1234", TEST_USER_PIN)?;
    let token = Token::open(kit.module(), "bench", &Pin::new(TEST_USER_PIN))?;
    token.generate_ec_p256("bench-ec")?;
    token.generate_rsa("bench-rsa", 2048)?;
    let ec = token.find_key(&KeyRef::Label("bench-ec".into()))?;
    let rsa = token.find_key(&KeyRef::Label("bench-rsa".into()))?;

    // The message a PAdES signer signs: the DER of the CMS signed attributes, about 150 bytes.
    let message = vec![0x31u8; 150];
    println!(
        "PKCS#11 SoftHSM2 ({}), {seconds} s per case",
        kit.module().display()
    );
    for (name, key) in [("EC P-256", &ec), ("RSA-2048", &rsa)] {
        for threads in [1usize, 2] {
            let (count, elapsed) = run(key, &message, threads, per_case)?;
            println!(
                "  {name:<9} {threads} thread(s): {:>8.0} signatures/s ({count} in {:.2} s)",
                count as f64 / elapsed.as_secs_f64(),
                elapsed.as_secs_f64()
            );
        }
    }
    println!("  sessions opened: {}", token.sessions_open());

    software_baseline(&message, per_case)?;
    Ok(())
}

/// Signs from `threads` threads for `per_case`; returns signatures made and the time taken.
fn run(
    key: &TokenKey,
    message: &[u8],
    threads: usize,
    per_case: Duration,
) -> Result<(u64, Duration), String> {
    let start = Instant::now();
    let counts: Result<Vec<u64>, String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || -> Result<u64, String> {
                    let mut n = 0u64;
                    while start.elapsed() < per_case {
                        key.sign(message).map_err(|e| e.to_string())?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a signing thread panicked".to_string())?)
            .collect()
    });
    Ok((counts?.iter().sum(), start.elapsed()))
}

/// The same operations with keys in memory (what the HSM costs relative to software keys).
fn software_baseline(message: &[u8], per_case: Duration) -> Result<(), Box<dyn std::error::Error>> {
    use sha2::Digest as _;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|e| format!("{e}"))?;
    let ec = ring::signature::EcdsaKeyPair::from_pkcs8(
        &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .map_err(|e| format!("{e}"))?;
    let rsa = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
    println!("software keys, 1 thread:");
    let rate = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<f64, String> {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < per_case {
            f()?;
            n += 1;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    };
    let ec_rate = rate(&mut || ec.sign(&rng, message).map(|_| ()).map_err(|e| e.to_string()))?;
    println!("  EC P-256  (ring):       {ec_rate:>8.0} signatures/s");
    let rsa_rate = rate(&mut || {
        let digest = sha2::Sha256::digest(message);
        rsa.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })?;
    println!("  RSA-2048  (RustCrypto): {rsa_rate:>8.0} signatures/s");
    Ok(())
}
