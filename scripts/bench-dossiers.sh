#!/usr/bin/env bash
# Dossier figures on a real `banso serve` (release build, SQLite, loopback), printed, never asserted:
#   1. submissions with two attachments from the wallet: each POST /api/v1/dossiers timed from the request to
#      the end of the answer (form checks, the wallet copies looked up, the due date, the slip rendered and
#      sealed with its timestamp, the dossier, its event and deliveries written) — N of them, p50/p95/max;
#   2. tracking look-ups, GET /api/v1/dossiers/{code}, under wrk (1 thread, 32 connections, 10 s, keep-alive),
#      beside the copy status look-up GET /api/v1/copies/{code} in the same run with the same settings.
# The citizen's identity session is made once with the test national-ID provider (npm oidc-provider; headless
# Chromium approves on the "phone") and is outside every timer.
# Usage: scripts/bench-dossiers.sh [N]   (N submissions, default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50}"
bash scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/banso-target}"
cargo build --release --locked -p banso-server >&2
B="$CARGO_TARGET_DIR/release/banso"
OIDC="$(pwd)/crates/identity/tests/oidc"
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The test national-ID provider, and the service using it.
OPORT=$(port)
(cd "$OIDC" && exec node provider.js "$OPORT" --device-ttl=600 >"$WORK/oidc.out" 2>/dev/null) &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q '^READY ' "$WORK/oidc.out" 2>/dev/null && break; sleep 0.1; done
ISSUER=$(sed -n 's/^READY //p' "$WORK/oidc.out")
PORT=$(port)
export BANSO_OIDC_ISSUER="$ISSUER" BANSO_OIDC_CLIENT_ID=banso-kiosk BANSO_OIDC_SCOPE="openid profile citizen"
BANSO_LOG=warn BANSO_INTAKE=off "$B" --data-dir "$WORK/data" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

KIOSK=$("$B" --data-dir "$WORK/data" token create --role kiosk --name bench)
OFFICER=$("$B" --data-dir "$WORK/data" token create --role officer --name bench)
# Two certified copies in the test citizen's wallet (a death extract of the late spouse, an extract of the
# divorce's note), both of which the marital-status confirmation (1.004873) takes from the wallet.
"$B" bench sample-page --format png --out "$WORK/p.png" >/dev/null
issue() {
  curl -fsS -H "Authorization: Bearer $OFFICER" -F holder_id=001099012345 -F "holder_name=Nguyễn Văn An" \
    -F "document_type=$1" -F "page=@$WORK/p.png" "$BASE/api/v1/copies" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["copies"][0]["code"])'
}
DEATH=$(issue "Trích lục khai tử")
DIVORCE=$(issue "Trích lục ghi chú ly hôn")

# The identity session: the app login, approved on the phone (outside the timers).
SESSION_JSON=$(curl -fsS -H "Authorization: Bearer $KIOSK" -H 'content-type: application/json' \
  -d '{"method":"app"}' "$BASE/api/v1/identity/sessions")
SESSION=$(echo "$SESSION_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
QR=$(echo "$SESSION_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["qr_uri"])')
(cd "$OIDC" && node approve.js "$QR" approve >/dev/null)
for _ in $(seq 1 60); do
  STEP=$(curl -fsS -X POST -H "Authorization: Bearer $KIOSK" "$BASE/api/v1/identity/sessions/$SESSION/app" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["step"])')
  [ "$STEP" = verified ] && break
  sleep 1
done

echo "== 1. submissions with two attachments from the wallet (marital-status confirmation), $N in a row"
python3 - "$BASE" "$KIOSK" "$SESSION" "$DEATH" "$DIVORCE" "$N" >"$WORK/codes" <<'PY'
import json, statistics, sys, time, urllib.request
base, token, session, death, divorce, n = sys.argv[1:7]
body = json.dumps({
    "procedure": "1.004873",
    "form": {"residence": "Số 1 phố Huế, Hà Nội", "marital_status": "vo-chong-da-chet", "purpose": "ket-hon",
             "phone": "0912345678"},
    "attachments": [{"document": "giay-to-vo-chong-da-chet", "copy": death},
                    {"document": "trich-luc-ghi-chu-ly-hon", "copy": divorce}],
}).encode()
times, code = [], None
for _ in range(int(n)):
    req = urllib.request.Request(base + "/api/v1/dossiers", data=body, method="POST", headers={
        "Authorization": "Bearer " + token, "Banso-Identity-Session": session, "Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        answer = json.load(r)
    times.append((time.perf_counter() - t0) * 1000)
    code = answer["dossier"]["code"]
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"submission, request to answer (ms): p50 {p(0.5):.1f}  p95 {p(0.95):.1f}  max {times[-1]:.1f}  (n={len(times)})",
      file=sys.stderr)
print(code)
PY
CODE=$(tail -1 "$WORK/codes")
echo
echo "== 2. look-ups under wrk (-t1 -c32 -d10s, keep-alive, loopback), the same run"
for URL in "$BASE/api/v1/dossiers/$CODE" "$BASE/api/v1/copies/$DEATH"; do
  curl -fsS "$URL" >/dev/null
  echo "-- GET ${URL#$BASE}"
  wrk -t1 -c32 -d10s --latency "$URL" | grep -E 'Requests/sec|50%|99%|Non-2xx'
done
