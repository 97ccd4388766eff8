#!/usr/bin/env bash
# Load and soak figures (issue 16) on real `banso serve` processes (release build, loopback), printed, never
# asserted. Each run of `banso bench load` sends issuance, verification uploads and code look-ups together, then
# prints successes, throughput, p50/p95/p99 and errors per kind, and each node's resident memory over time with
# the ratio of the end to one minute in.
#   1. sqlite    one node on SQLite and local objects, intake off, two-page JPEG scans (150 dpi): 60 s as fast
#                as it answers, then a soak of SECONDS with issuance capped at 3 copies/s (every copy keeps
#                about 2.6 MB of files: at full speed ten minutes would fill this machine's disk);
#   2. postgres  the same on two nodes sharing one PostgreSQL database and one S3 bucket (moto, which keeps
#                objects in memory), requests alternating between them;
#   3. intake    one node on SQLite with the intake on, one-page birth certificates (for at most 120 s);
#   4. tsa       issuance alone through a TSA answering after 50 ms, one issuer then eight (60 s each at most),
#                and the ratio of their throughputs;
#   5. parts     where a copy's CPU goes: issuance alone (4 issuers, 60 s at most) on one node with each pair of
#                registry and object store — SQLite or PostgreSQL, local files or S3 (moto) — and the CPU time
#                per copy of the node, PostgreSQL, moto and the load client, read from /proc.
# The per-client rate limits are off for the run (the load comes from one loopback address) and said so.
# Usage: scripts/load.sh [SECONDS] [PHASE…]   (default: 600 s; all phases)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-600}"
shift || true
PHASES=("$@")
[ "${#PHASES[@]}" -gt 0 ] || PHASES=(sqlite postgres intake tsa parts)
bash scripts/setup.sh >&2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/banso-target}"
cargo build --release --locked -p banso-server >&2
B="$CARGO_TARGET_DIR/release/banso"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  kill "${PIDS[@]}" 2>/dev/null || true
  if declare -F stop_components >/dev/null; then stop_components; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export BANSO_LOG=warn BANSO_LOOKUPS_PER_MINUTE=0 BANSO_VERIFICATIONS_PER_MINUTE=0 BANSO_TIMESTAMPS_PER_MINUTE=0
echo "rate limits: off for this run (one loopback client)"

# serve DATA_DIR PORT: starts a node, waits until it answers; its pid is appended to NODE_PIDS.
serve() {
  "$B" --data-dir "$1" serve --listen "127.0.0.1:$2" >"$WORK/serve-$2.log" 2>&1 &
  PIDS+=($!)
  NODE_PIDS+=($!)
  for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "node on $2 did not start:" >&2
  cat "$WORK/serve-$2.log" >&2
  exit 1
}

# load NAME DATA_DIR SECONDS [ARGS…]: runs the load against NODE_PORTS, sampling NODE_PIDS.
load() {
  local name="$1" data="$2" secs="$3"
  shift 3
  local token="$WORK/token-$RANDOM"
  "$B" --data-dir "$data" token create --role officer --name load >"$token"
  local args=()
  for p in "${NODE_PORTS[@]}"; do args+=(--target "http://127.0.0.1:$p"); done
  for p in "${NODE_PIDS[@]}"; do args+=(--pid "$p"); done
  echo
  echo "== $name"
  "$B" bench load "${args[@]}" --token-file "$token" --seconds "$secs" "$@"
}

stop_nodes() {
  kill "${NODE_PIDS[@]}" 2>/dev/null || true
  wait "${NODE_PIDS[@]}" 2>/dev/null || true
}

# Every copy keeps its scans and its PDF (about 2.6 MB for two 150-dpi pages): a phase needs room.
need_room() {
  local free
  free=$(df --output=avail -B1G "$WORK" | tail -1 | tr -d ' ')
  if [ "$free" -lt "$1" ]; then
    echo "only ${free} GB free under $WORK; this phase needs $1 GB" >&2
    exit 1
  fi
}

# per_copy COPIES DB_BYTES OBJECT_BYTES: what one copy costs in the registry and the object store.
per_copy() {
  python3 -c 'import sys; n, db, ob = map(int, sys.argv[1:]); print(f"storage: {n} copies; registry {db} bytes ({db / max(n, 1):,.0f} per copy), objects {ob} bytes ({ob / max(n, 1):,.0f} per copy)")' "$@"
}
sqlite_sizes() {
  local n db ob
  n=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM copies").fetchone()[0])' "$1/banso.db")
  db=$(cat "$1"/banso.db* | wc -c)
  ob=$(du -sb "$1/objects" | cut -f1)
  per_copy "$n" "$db" "$ob"
}

# tree_ticks PID: CPU clock ticks (user + system) of PID, of its children it has waited for, and of its live
# descendants; 0 when there is no PID.
tree_ticks() {
  python3 - "${1:-0}" <<'PY'
import os, sys
root = int(sys.argv[1])
stats = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d)] = (int(f[1]), [int(x) for x in f[11:15]])  # ppid; utime stime cutime cstime
def ticks(pid):
    ppid, (u, s, cu, cs) = stats[pid]
    kids = [p for p, (pp, _) in stats.items() if pp == pid]
    return u + s + cu + cs + sum(ticks(k) for k in kids)
print(ticks(root) if root in stats else 0)
PY
}

for phase in "${PHASES[@]}"; do
  NODE_PORTS=()
  NODE_PIDS=()
  case "$phase" in
    sqlite)
      P=$(port)
      export BANSO_INTAKE=off
      serve "$WORK/sqlite" "$P"
      NODE_PORTS=("$P")
      need_room 20
      load "sqlite, throughput: one node, SQLite + local objects, intake off" "$WORK/sqlite" 60
      load "sqlite, soak: the same node, issuance capped at 3 copies/s" "$WORK/sqlite" "$SECONDS_EACH" \
        --issue-rate 3
      stop_nodes
      sqlite_sizes "$WORK/sqlite"
      ;;
    postgres)
      # shellcheck source=components.sh
      source scripts/components.sh
      # components.sh sets its own EXIT trap; this script's cleanup stops the components as well.
      trap cleanup EXIT
      NAME="banso_load_$$"
      psql "$BANSO_TEST_PG_URL/postgres" -qc "CREATE DATABASE $NAME"
      BUCKET="banso-load-$$"
      python3 -c "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
        aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket=sys.argv[2])" \
        "$BANSO_TEST_S3_ENDPOINT" "$BUCKET"
      P1=$(port)
      P2=$(port)
      export BANSO_DATABASE_URL="$BANSO_TEST_PG_URL/$NAME?sslmode=require" BANSO_DATABASE_CA_FILE="$BANSO_TEST_PG_CA" \
        BANSO_STORAGE=s3 BANSO_S3_ENDPOINT="$BANSO_TEST_S3_ENDPOINT" BANSO_S3_BUCKET="$BUCKET" \
        BANSO_S3_REGION=us-east-1 BANSO_S3_ACCESS_KEY_ID=testing BANSO_S3_SECRET_ACCESS_KEY=testing \
        BANSO_PUBLIC_BASE_URL="http://127.0.0.1:$P1" BANSO_INTAKE=off
      # One installation: its keys made once, both nodes holding them.
      "$B" --data-dir "$WORK/pg" pki init --base-url "http://127.0.0.1:$P1" >/dev/null
      serve "$WORK/pg" "$P1"
      serve "$WORK/pg" "$P2"
      NODE_PORTS=("$P1" "$P2")
      need_room 10
      load "postgres, throughput: two nodes, one PostgreSQL + one S3 bucket (moto), intake off" "$WORK/pg" 60
      load "postgres, soak: the same nodes, issuance capped at 3 copies/s" "$WORK/pg" "$SECONDS_EACH" \
        --issue-rate 3
      stop_nodes
      per_copy "$(psql "$BANSO_TEST_PG_URL/$NAME" -Atc 'SELECT count(*) FROM copies')" \
        "$(psql "$BANSO_TEST_PG_URL/$NAME" -Atc "SELECT pg_database_size('$NAME')")" \
        "$(python3 -c "import boto3,sys; s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
            aws_access_key_id='testing', aws_secret_access_key='testing'); \
            print(sum(o['Size'] for p in s3.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2]) \
            for o in p.get('Contents', [])))" "$BANSO_TEST_S3_ENDPOINT" "$BUCKET")"
      unset BANSO_DATABASE_URL BANSO_DATABASE_CA_FILE BANSO_STORAGE BANSO_S3_ENDPOINT BANSO_S3_BUCKET \
        BANSO_S3_REGION BANSO_S3_ACCESS_KEY_ID BANSO_S3_SECRET_ACCESS_KEY BANSO_PUBLIC_BASE_URL BANSO_INTAKE
      ;;
    intake)
      P=$(port)
      export BANSO_INTAKE=on
      serve "$WORK/intake" "$P"
      NODE_PORTS=("$P")
      S=$((SECONDS_EACH < 120 ? SECONDS_EACH : 120))
      load "intake: one node, SQLite, intake on" "$WORK/intake" "$S" --intake --issuers 2
      stop_nodes
      sqlite_sizes "$WORK/intake"
      ;;
    tsa)
      # Issuance alone through a timestamp authority that answers after 50 ms (a relay in front of the node's
      # own TSA): one issuer, then eight; the book's lock must not be held across the call.
      P=$(port)
      R=$(port)
      python3 scripts/slow_relay.py "$R" "http://127.0.0.1:$P/pki/tsa" 0.05 >"$WORK/relay.log" 2>&1 &
      PIDS+=($!)
      export BANSO_INTAKE=off BANSO_TSA_URL="http://127.0.0.1:$R/"
      serve "$WORK/tsa" "$P"
      NODE_PORTS=("$P")
      S=$((SECONDS_EACH < 60 ? SECONDS_EACH : 60))
      "$B" --data-dir "$WORK/tsa" token create --role officer --name load >"$WORK/tsa.token"
      for n in 1 8; do
        echo
        echo "== tsa: issuance alone, the TSA answering after 50 ms, $n issuer(s)"
        "$B" bench load --target "http://127.0.0.1:$P" --token-file "$WORK/tsa.token" --seconds "$S" \
          --issuers "$n" --verifiers 0 --lookups 0 --pid "${NODE_PIDS[0]}" | tee "$WORK/tsa-$n.out"
      done
      python3 -c 'import sys, re
rate = lambda f: float(re.search(r"^issue\s+\d+\s+([\d.]+)", open(f).read(), re.M).group(1))
one, eight = rate(sys.argv[1]), rate(sys.argv[2])
print(f"concurrent issuance (8 issuers) / one at a time: {eight:.1f} / {one:.1f} copies/s = {eight / one:.2f}x")' \
        "$WORK/tsa-1.out" "$WORK/tsa-8.out"
      stop_nodes
      unset BANSO_TSA_URL
      ;;
    parts)
      # shellcheck source=components.sh
      source scripts/components.sh
      # components.sh sets its own EXIT trap; this script's cleanup stops the components as well.
      trap cleanup EXIT
      PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
      HZ=$(getconf CLK_TCK)
      S=$((SECONDS_EACH < 60 ? SECONDS_EACH : 60))
      echo
      echo "== parts: issuance alone, one node, 4 issuers, $S s each; CPU ms per copy (from /proc)"
      printf '%-22s %8s %9s %8s %10s %8s %8s %8s\n' registry+objects copies copies/s p95_ms node postgres moto client
      n=0
      for combo in sqlite+local postgres+local sqlite+s3 postgres+s3; do
        n=$((n + 1))
        NODE_PIDS=()
        # A copy keeps about 2.6 MB (moto keeps S3's in memory); each pairing's folder goes after its run.
        need_room 25
        data="$WORK/parts-$n"
        P=$(port)
        export BANSO_INTAKE=off
        if [ "${combo%+*}" = postgres ]; then
          psql "$BANSO_TEST_PG_URL/postgres" -qc "CREATE DATABASE banso_parts_$n"
          export BANSO_DATABASE_URL="$BANSO_TEST_PG_URL/banso_parts_$n?sslmode=require" \
            BANSO_DATABASE_CA_FILE="$BANSO_TEST_PG_CA"
        fi
        if [ "${combo#*+}" = s3 ]; then
          python3 -c "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
            aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket=sys.argv[2])" \
            "$BANSO_TEST_S3_ENDPOINT" "banso-parts-$n"
          export BANSO_STORAGE=s3 BANSO_S3_ENDPOINT="$BANSO_TEST_S3_ENDPOINT" BANSO_S3_BUCKET="banso-parts-$n" \
            BANSO_S3_REGION=us-east-1 BANSO_S3_ACCESS_KEY_ID=testing BANSO_S3_SECRET_ACCESS_KEY=testing
        fi
        serve "$data" "$P"
        "$B" --data-dir "$data" token create --role officer --name load >"$WORK/parts.token"
        before=("$(tree_ticks "${NODE_PIDS[0]}")" "$(tree_ticks "$PG_PID")" "$(tree_ticks "$MOTO_PID")")
        /usr/bin/time -f '%U %S' -o "$WORK/parts.client" \
          "$B" bench load --target "http://127.0.0.1:$P" --token-file "$WORK/parts.token" --seconds "$S" \
          --issuers 4 --verifiers 0 --lookups 0 --pid "${NODE_PIDS[0]}" >"$WORK/parts.out"
        after=("$(tree_ticks "${NODE_PIDS[0]}")" "$(tree_ticks "$PG_PID")" "$(tree_ticks "$MOTO_PID")")
        stop_nodes
        python3 - "$combo" "$HZ" "${before[@]}" "${after[@]}" "$WORK/parts.out" "$WORK/parts.client" <<'PY'
import re, sys
combo, hz = sys.argv[1], int(sys.argv[2])
before, after = list(map(int, sys.argv[3:6])), list(map(int, sys.argv[6:9]))
out, client = open(sys.argv[9]).read(), open(sys.argv[10]).read().split()
m = re.search(r"^issue\s+(\d+)\s+([\d.]+)\s+\S+\s+(\S+)", out, re.M)
copies, rate, p95 = int(m.group(1)), float(m.group(2)), m.group(3)
per = lambda ticks: f"{ticks * 1000 / hz / max(copies, 1):.1f}"
used = [a - b for a, b in zip(after, before)]
client_ms = (float(client[0]) + float(client[1])) * 1000 / max(copies, 1)
print(f"{combo:<22} {copies:>8} {rate:>9.1f} {p95:>8} {per(used[0]):>10} {per(used[1]):>8} {per(used[2]):>8} {client_ms:>8.1f}")
PY
        rm -rf "$data"
        unset BANSO_DATABASE_URL BANSO_DATABASE_CA_FILE BANSO_STORAGE BANSO_S3_ENDPOINT BANSO_S3_BUCKET BANSO_S3_REGION \
          BANSO_S3_ACCESS_KEY_ID BANSO_S3_SECRET_ACCESS_KEY BANSO_INTAKE
      done
      ;;
    *)
      echo "unknown phase $phase (sqlite, postgres, intake, tsa, parts)" >&2
      exit 2
      ;;
  esac
done
