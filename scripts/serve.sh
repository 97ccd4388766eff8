#!/usr/bin/env bash
# Sets up this machine, builds banso and runs the service with its embedded defaults
# (SQLite + local files under ./banso-data, a development PKI, http://127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck source=../scripts/target-dir.sh
source scripts/target-dir.sh
cargo build --release --locked -p banso-server
exec "$CARGO_TARGET_DIR/release/banso" serve "$@"
