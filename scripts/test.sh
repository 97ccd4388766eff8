#!/usr/bin/env bash
# Sets up this machine and runs banso's whole test suite against the real components.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=../scripts/target-dir.sh
source scripts/target-dir.sh
# shellcheck source=components.sh
source scripts/components.sh
cargo test --workspace --locked "$@"
# (The chip-reader tests run the virtual card through a real pcscd + vpcd inside private network and mount
# namespaces, scripts/pcscd-vpcd.sh; the server enables banso-identity's `pcsc` feature, so they are part of
# the workspace run.)
# The fuzz smoke: every cargo-fuzz target for 30 s from its seed corpus (nightly toolchain, cargo-fuzz).
bash scripts/fuzz.sh --seconds 30
