//! Finds DejaVu Sans at build time and copies it into OUT_DIR so the renderer can `include_bytes!` it.
//! `BANSO_FONT` overrides the path; on Debian the font comes from the package `fonts-dejavu-core`.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=BANSO_FONT");
    let candidates: Vec<PathBuf> = match std::env::var_os("BANSO_FONT") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![
            PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
            PathBuf::from("/usr/share/fonts/TTF/DejaVuSans.ttf"),
            PathBuf::from("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
        ],
    };
    let Some(found) = candidates.iter().find(|p| p.is_file()) else {
        panic!(
            "banso-render needs the TrueType font DejaVuSans.ttf (looked at {candidates:?}). \
             Install the Debian package `fonts-dejavu-core` (apt-get install fonts-dejavu-core) \
             or set BANSO_FONT=/path/to/DejaVuSans.ttf"
        );
    };
    println!("cargo:rerun-if-changed={}", found.display());
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo")).join("DejaVuSans.ttf");
    std::fs::copy(found, &out)
        .unwrap_or_else(|e| panic!("cannot copy {} into OUT_DIR: {e}", found.display()));
}
