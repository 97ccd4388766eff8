#!/usr/bin/env bash
# Recovery time (issue 16), measured on a real installation (release build, SQLite and local objects, one
# machine), printed, never asserted:
#   1. issue for SECONDS as fast as one node answers (two-page JPEG scans at 150 dpi, intake off: about 2.6 MB of
#      files a copy), then take `banso backup` of the installation while it serves;
#   2. `banso restore` into a fresh data folder (every file checked against the manifest, written, the registry
#      opened);
#   3. `banso log audit` on the restored installation (every row in the log, the log's hashes);
#   4. `banso maintain check` (every copy's file read back and verified: signatures, registry, status).
# Each step's time, per copy and per byte, and the same scaled linearly to 100,000 copies (labelled as such:
# measured at the size this disk allows, not at 100,000). Before the restore and before the check the page cache
# is dropped when this user may (root), so that they read from the disk as a real recovery would; the output
# says whether it was.
# Usage: scripts/recovery.sh [SECONDS]   (default 60; needs about 8 GB free per minute of issuance)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-60}"
bash scripts/setup.sh >&2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/banso-target}"
cargo build --release --locked -p banso-server >&2
B="$CARGO_TARGET_DIR/release/banso"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/banso-recovery.XXXXXX")
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
need=$(( SECS * 8 / 60 + 2 ))
free=$(df --output=avail -B1G "$WORK" | tail -1 | tr -d ' ')
if [ "$free" -lt "$need" ]; then
  echo "only ${free} GB free under $WORK; $SECS s of issuance, its backup and its restore need about $need GB" >&2
  exit 1
fi
export BANSO_LOG=warn BANSO_INTAKE=off BANSO_LOOKUPS_PER_MINUTE=0 BANSO_VERIFICATIONS_PER_MINUTE=0 \
  BANSO_TIMESTAMPS_PER_MINUTE=0
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BANSO_PUBLIC_BASE_URL="http://127.0.0.1:$PORT"
SRC="$WORK/source" DST="$WORK/restored" OUT="$WORK/backup"

"$B" --data-dir "$SRC" pki init >/dev/null
"$B" --data-dir "$SRC" serve --listen "127.0.0.1:$PORT" >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
"$B" --data-dir "$SRC" token create --role officer --name recovery >"$WORK/token"
echo "== issuing for $SECS s (one node, SQLite + local objects, intake off)"
"$B" bench load --target "http://127.0.0.1:$PORT" --token-file "$WORK/token" --seconds "$SECS" \
  --issuers 4 --verifiers 0 --lookups 0

# step NAME COMMAND…: runs a step, keeping its wall time (s) in $WORK/NAME.time and its JSON in $WORK/NAME.json.
step() {
  local name="$1"
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$WORK/$name.json"
  t1=$(date +%s.%N)
  python3 -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' "$t0" "$t1" >"$WORK/$name.time"
}
# cold: drops the page cache when this user may, and says so in $WORK/cache.
cold() {
  sync
  if [ -w /proc/sys/vm/drop_caches ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
    echo "dropped" >"$WORK/cache"
  else
    echo "kept (not root)" >"$WORK/cache"
  fi
}
step backup "$B" --data-dir "$SRC" backup --out "$OUT" --json
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=""
cold
step restore "$B" --data-dir "$DST" restore --from "$OUT" --json
step audit "$B" --data-dir "$DST" log audit --json
cold
step check "$B" --data-dir "$DST" maintain check --json

python3 - "$WORK" <<'EOF'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
def load(name):
    return json.loads((work / f"{name}.json").read_text()), float((work / f"{name}.time").read_text())
backup, t_backup = load("backup")
restore, t_restore = load("restore")
audit, t_audit = load("audit")
check, t_check = load("check")
assert audit.get("ok") is True, audit
assert check["failed_count"] == 0, check
n = check["checked"]
size = sum(f.stat().st_size for f in (work / "backup").rglob("*") if f.is_file())
print()
cache = (work / "cache").read_text().strip()
print(f"recovery of {n} copies ({size / 1e9:.2f} GB of backup, {size / max(n, 1) / 1e6:.2f} MB a copy), "
      "release build, SQLite + local files on one disk, one machine (2 shared cores), wall time of each command; "
      f"page cache before the restore and the check: {cache}")
print(f"{'step':<34}{'seconds':>10}{'ms/copy':>10}{'backup MB/s':>12}{'100,000 copies (scaled)':>26}")
total = 0.0
for label, t in [("backup (node serving, idle)", t_backup), ("restore (check, write, open)", t_restore),
                 ("log audit", t_audit), ("check every copy (verify)", t_check)]:
    scaled = t * 100_000 / max(n, 1)
    if not label.startswith("backup"):
        total += scaled
    print(f"{label:<34}{t:>10.1f}{t * 1000 / max(n, 1):>10.2f}{size / 1e6 / t:>12.0f}{scaled / 60:>22.1f} min")
print(f"recovery (restore + audit + check), 100,000 copies, scaled linearly from {n}: {total / 60:.0f} min "
      f"({total / 3600:.1f} h); the backup it starts from held {size * 100_000 / max(n, 1) / 1e9:.0f} GB at this copy size")
EOF
