#!/usr/bin/env bash
# The kiosk's timings on the whole happy path (the browser story of tests/kiosk_screens.rs, run RUNS times,
# default 3): each screen from the tap to ready (Navigation Timing: the navigation's start to its load event)
# and the machine steps the screens waited on (the face check, the issuance once paid). Human waiting — the
# citizen typing, turning their head, paying on the phone — falls outside every figure. Printed, never asserted.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/target-dir.sh
source scripts/components.sh >/dev/null
for i in $(seq 1 "${RUNS:-3}"); do
  echo "== run $i"
  cargo test -q -p banso-server --test kiosk_screens a_citizen_pays -- --nocapture 2>/dev/null \
    | grep -E '^(kiosk timings|  )'
done
wc -c crates/server/src/kiosk/static/kiosk.js crates/server/src/kiosk/static/kiosk.css \
  | sed 's/^/shipped to the browser (bytes): /'
