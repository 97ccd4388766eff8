//! A throwaway SoftHSM2 installation for tests and examples (feature `testkit`).
//!
//! SoftHSM reads `SOFTHSM2_CONF` once, at C_Initialize, and PKCS#11 is initialized once per process:
//! create the kit (which sets the variable for the whole process) and its tokens before the first
//! [`crate::Token::open`] of the process. [`SoftHsm::shared`] does all of that once.
//! A missing `softhsm2-util` or module is an error, never a silent skip.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The token [`SoftHsm::shared`] initializes, with its PINs.
pub const TEST_TOKEN: &str = "banso-test";
pub const TEST_SO_PIN: &str = "1234";
pub const TEST_USER_PIN: &str = "5678";
/// A second token of the shared kit that no shared test logs in to successfully (for wrong-PIN checks).
pub const FRESH_TOKEN: &str = "banso-fresh";

/// Where distributions install the SoftHSM2 module.
pub const SOFTHSM_MODULE_CANDIDATES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
];

/// A temporary token directory with its `softhsm2.conf`. The directory goes when this is dropped.
#[derive(Debug)]
pub struct SoftHsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    module: PathBuf,
}

impl SoftHsm {
    /// Creates the directory and configuration and points `SOFTHSM2_CONF` of this process at it.
    pub fn create() -> Result<Self, String> {
        let module = SOFTHSM_MODULE_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or_else(|| {
                format!(
                    "the SoftHSM2 module is not installed (looked for {SOFTHSM_MODULE_CANDIDATES:?}); \
                     apt-get install softhsm2"
                )
            })?;
        let dir = tempfile::Builder::new()
            .prefix("banso-softhsm-")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).map_err(|e| format!("{}: {e}", tokens.display()))?;
        let conf = dir.path().join("softhsm2.conf");
        let text = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        );
        std::fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
        std::env::set_var("SOFTHSM2_CONF", &conf);
        Ok(Self { dir, conf, module })
    }

    /// The process-wide kit: created once, with [`TEST_TOKEN`] and [`FRESH_TOKEN`] initialized.
    pub fn shared() -> Result<&'static SoftHsm, String> {
        static SHARED: OnceLock<Result<SoftHsm, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let kit = SoftHsm::create()?;
                kit.init_token(TEST_TOKEN, TEST_SO_PIN, TEST_USER_PIN)?;
                kit.init_token(FRESH_TOKEN, TEST_SO_PIN, TEST_USER_PIN)?;
                Ok(kit)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// `softhsm2-util --init-token --free --label LABEL --so-pin SO --pin PIN` against this kit.
    pub fn init_token(&self, label: &str, so_pin: &str, user_pin: &str) -> Result<(), String> {
        let output = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &self.conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--so-pin", so_pin, "--pin", user_pin])
            .output()
            .map_err(|e| format!("softhsm2-util cannot run ({e}); apt-get install softhsm2"))?;
        if !output.status.success() {
            return Err(format!(
                "softhsm2-util --init-token {label}: {}\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    /// The PKCS#11 module to load.
    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The `softhsm2.conf` of this kit.
    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// The temporary directory (for test files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `pin` plus a newline to a file in the kit's directory, as an operator would.
    pub fn write_pin_file(&self, name: &str, pin: &str) -> Result<PathBuf, String> {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{pin}\n")).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}
