//! Prints how long signing and verifying a ~3 MB PDF take.
//!
//! `cargo run --release -p banso-signing --example signing_bench [SIZE_BYTES] [OUT_DIR]`
//! With OUT_DIR, also writes `signed.pdf` and `root.pem` there (for pyHanko / pdfsig comparisons).
#[path = "../tests/common/mod.rs"]
mod common;

use banso_signing::pades::sign_prepared;
use banso_signing::pki::{DevPki, PkiNames};
use banso_signing::verify::verify_pdf;
use std::time::{Duration, Instant};

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let median = v[v.len() / 2];
    let min = v[0];
    format!(
        "median {:.3} ms, min {:.3} ms ({} runs)",
        median.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        v.len()
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let size: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3_000_000);
    let out_dir = args.next();
    let now = time::OffsetDateTime::now_utc();
    let names = PkiNames {
        country: "VN".into(),
        organization: "Sở Tư pháp Thành phố Hà Nội".into(),
        root_cn: "Banso Dev Root CA".into(),
        issuing_cn: "Banso Dev Issuing CA".into(),
        seal_cn: "Trung tâm Phục vụ hành chính công".into(),
    };
    let t = Instant::now();
    let pki = DevPki::generate(&names, now)?;
    println!("pki generate: {:.3} ms", t.elapsed().as_secs_f64() * 1e3);
    let signer = pki.seal_signer()?;
    let trust = pki.trust_store()?;
    let prepared = common::prepared_pdf(size, false);
    println!("file size: {} bytes", prepared.pdf.len());

    let mut sign_times = Vec::new();
    let mut signed = Vec::new();
    for _ in 0..30 {
        let mut pdf = prepared.pdf.clone();
        let t = Instant::now();
        sign_prepared(
            &mut pdf,
            prepared.byte_range,
            prepared.contents_hex.clone(),
            &signer,
        )?;
        sign_times.push(t.elapsed());
        signed = pdf;
    }
    let mut verify_times = Vec::new();
    for _ in 0..30 {
        let t = Instant::now();
        let report = verify_pdf(&signed, &trust, now);
        verify_times.push(t.elapsed());
        assert!(report.signatures.iter().all(|s| s.is_valid()));
    }
    let mut hash_times = Vec::new();
    for _ in 0..30 {
        use sha2::Digest as _;
        let t = Instant::now();
        std::hint::black_box(sha2::Sha256::digest(&signed));
        hash_times.push(t.elapsed());
    }
    println!("sha256 of the whole file (reference): {}", stats(hash_times));
    println!("sign_prepared: {}", stats(sign_times));
    println!("verify_pdf:    {}", stats(verify_times));
    if let Some(dir) = out_dir {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(format!("{dir}/signed.pdf"), &signed)?;
        std::fs::write(format!("{dir}/root.pem"), &pki.root_cert_pem)?;
        println!("wrote {dir}/signed.pdf and {dir}/root.pem");
    }
    Ok(())
}
