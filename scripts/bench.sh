#!/usr/bin/env bash
# banso's benchmarks, printing figures (never asserting times):
#   1. issuance (Service::issue whole: checks, render, sign, store, register) for 2-page 300-dpi JPEG and PNG
#      scans with the intake off, then a birth certificate with the intake (the default) beside without;
#   2. adding a PAdES signature to the same signed copy, and verifying it, banso vs pyHanko in the same run;
#   3. signing by PAdES level (B-B, B-T, B-LT, B-LTA) with a software key and with a SoftHSM2 key;
#   4. transparency log: appends, proofs on a 1,000,000-leaf tree, the audit;
#   5. reading and verifying the virtual chip card through the real pcscd + vpcd (BAC and PACE);
#   6. GET /api/v1/copies/{code} under wrk (keep-alive, loopback) and the idle resident memory of serve;
#   7. the HTTP edge under attack (banso bench edge): memory under stalled uploads, an honest verification
#      under crafted files, idle connections closed;
#   8. 1,000 working-day due dates over ten years of receipts, banso vs the Python `holidays` package.
# Usage: scripts/bench.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100}"
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/banso-target}"
cargo build --release --locked -p banso-server >&2
B="$CARGO_TARGET_DIR/release/banso"

echo "== 1. issuance"
"$B" bench issue --n "$N"
echo
echo "== 2. signing and verification vs pyHanko"
"$B" bench sign --n "$((N / 2 > 10 ? N / 2 : 10))"
echo
echo "== 3. signing levels, software key and SoftHSM"
HSM=$(mktemp -d)
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$HSM" > "$HSM/softhsm2.conf"
export SOFTHSM2_CONF="$HSM/softhsm2.conf"
softhsm2-util --init-token --free --label banso-bench --so-pin 1234 --pin 5678 >/dev/null
echo 5678 > "$HSM/pin"
"$B" bench trust --n "$N" --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --token banso-bench --pin-file "$HSM/pin"
rm -rf "$HSM"
echo
echo "== 4. transparency log (1,000,000 leaves)"
"$B" bench log --leaves 1000000
echo
echo "== 5. chip card read + verification through pcscd and vpcd"
bash scripts/pcscd-vpcd.sh run "$B" bench card --n 20
echo
echo "== 5b. face match per pair, next to OpenCV's YuNet/SFace on the same files"
"$B" bench face --n "$N"
echo
echo "== 5c. document intake on the generated corpus, next to the Tesseract CLI on the same pages"
"$B" bench intake --per-type 2
echo
echo "== 6. status look-up under load, and memory"
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BANSO_LOG=warn "$B" --data-dir "$WORK/data" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
echo "idle resident memory of banso serve: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$SERVER/status)"
# A clean birth certificate from the intake's corpus, issued for its own holder with the intake on.
HOLDER=$("$B" bench sample-page --certificate --format jpeg --out "$WORK/p.jpg")
HOLDER_NAME=$(echo "$HOLDER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["holder_name"])')
HOLDER_ID=$(echo "$HOLDER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id_number"])')
CODE=$("$B" --data-dir "$WORK/data" issue --holder-id "$HOLDER_ID" --holder-name "$HOLDER_NAME" \
  --doc-type "Giấy khai sinh" --out "$WORK/c.pdf" --json "$WORK/p.jpg" | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')
URL="http://127.0.0.1:$PORT/api/v1/copies/$CODE"
curl -fsS "$URL" >/dev/null
wrk -t1 -c32 -d10s --latency "$URL" | sed -n '/Latency Distribution/,$p'
echo "resident memory after the load: $(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$SERVER/status)"
echo
echo "== 7. the HTTP edge under attack (loopback, bounded)"
"$B" bench edge
echo
echo "== 8. working-day due dates vs the Python holidays package"
"$B" bench calendar --n 1000
