//! The test national-ID provider (npm oidc-provider on the loopback, crates/identity/tests/oidc/provider.js)
//! and the citizen's phone that answers a login (approve.js in headless Chromium).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn oidc_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../identity/tests/oidc")
}

/// The test OpenID provider (crates/identity/tests/oidc/provider.js) on a free loopback port; .1 is its issuer.
pub struct Provider(pub std::process::Child, pub String);

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn provider(device_ttl: u64) -> Provider {
    assert!(
        oidc_dir().join("node_modules/oidc-provider").exists(),
        "npm packages of the test provider missing: run scripts/setup.sh"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("node")
        .arg("provider.js")
        .arg(port.to_string())
        .arg(format!("--device-ttl={device_ttl}"))
        .current_dir(oidc_dir())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node provider.js");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(i) = l.strip_prefix("READY ") {
                    break i.trim().to_string();
                }
            }
            other => panic!("provider.js stopped before READY: {other:?}"),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Provider(child, issuer)
}

/// The phone opens the login's QR `uri` and answers `decision` (approve or deny).
pub fn phone(uri: &str, decision: &str) {
    let out = Command::new("node")
        .args(["approve.js", uri, decision])
        .current_dir(oidc_dir())
        .output()
        .expect("node approve.js");
    assert!(
        out.status.success(),
        "phone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
