#!/usr/bin/env bash
# Sets up this machine and runs banso's whole test suite against the real components.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/banso-target}"
# shellcheck source=components.sh
source scripts/components.sh
cargo test --workspace --locked "$@"
# The chip-reader tests link libpcsclite (feature `pcsc`); they run the virtual card through a real pcscd + vpcd
# inside private network/mount namespaces (scripts/pcscd-vpcd.sh).
cargo test -p banso-identity --features pcsc --locked --test vpcd_pcscd "$@"
