//! The trust services live in banso-trust; here are the command line's flags for a key in a PKCS#11 token.

pub use banso_trust::pki::*;

/// Command-line flags naming a key in a PKCS#11 token (shared by `pki init`, `pki import` and `bench trust`).
#[derive(clap::Args, Debug, Clone)]
pub struct Pkcs11Args {
    /// PKCS#11 module of the token (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long, requires_all = ["token", "pin_file"])]
    pub pkcs11_module: Option<std::path::PathBuf>,
    /// Label of the token.
    #[arg(long)]
    pub token: Option<String>,
    /// File holding the token's user PIN.
    #[arg(long)]
    pub pin_file: Option<std::path::PathBuf>,
    /// Label of the seal key in the token.
    #[arg(long, default_value = "banso-seal")]
    pub seal_key_label: String,
}

impl Pkcs11Args {
    /// The token key the flags name, when a module was given.
    pub fn seal(self) -> Option<HsmSeal> {
        match (self.pkcs11_module, self.token, self.pin_file) {
            (Some(module), Some(token), Some(pin_file)) => Some(HsmSeal {
                module,
                token,
                pin_file,
                key_label: self.seal_key_label,
            }),
            _ => None,
        }
    }
}
