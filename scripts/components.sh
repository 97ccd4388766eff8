#!/usr/bin/env bash
# Starts the real components the tests use, on loopback, in a throwaway folder:
#   PostgreSQL 15 (initdb + pg_ctl as the postgres user) and moto's S3-compatible server.
# Source it: it exports BANSO_TEST_PG_URL (and BANSO_TEST_PG_CA, the CA of the server's TLS certificate) and
# BANSO_TEST_S3_ENDPOINT, and registers a cleanup trap.
set -euo pipefail

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

BANSO_COMPONENTS_DIR=$(mktemp -d /tmp/banso-components.XXXXXX)
chmod 755 "$BANSO_COMPONENTS_DIR"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || { echo "components: PostgreSQL is not installed (scripts/setup.sh)" >&2; exit 2; }
PG_DIR="$BANSO_COMPONENTS_DIR/pg"
PG_PORT=$(free_port)
mkdir -p "$PG_DIR"
as_postgres() { if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$PG_DIR"; runuser -u postgres -- "$@"; else "$@"; fi; }
as_postgres "$pg_bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >"$BANSO_COMPONENTS_DIR/initdb.log" 2>&1 \
  || { cat "$BANSO_COMPONENTS_DIR/initdb.log" >&2; exit 2; }
# TLS too (a throwaway CA and a server certificate for 127.0.0.1): clients that ask for it (sslmode=require) get
# it; the others connect in the clear as before.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=banso test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
  -keyout "$PG_DIR/ca.key" -out "$PG_DIR/ca.pem" >/dev/null 2>&1
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$PG_DIR/server.key" -out "$PG_DIR/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$PG_DIR/server.ext"
openssl x509 -req -in "$PG_DIR/server.csr" -CA "$PG_DIR/ca.pem" -CAkey "$PG_DIR/ca.key" -CAcreateserial -days 2 \
  -extfile "$PG_DIR/server.ext" -out "$PG_DIR/server.pem" >/dev/null 2>&1
chmod 600 "$PG_DIR/server.key"
as_postgres "$pg_bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200 -c fsync=off -c ssl=on -c ssl_cert_file=$PG_DIR/server.pem -c ssl_key_file=$PG_DIR/server.key" \
  -w start >/dev/null
export BANSO_TEST_PG_URL="postgres://postgres@127.0.0.1:$PG_PORT"
# The CA that signed the server's certificate (for the TLS tests).
export BANSO_TEST_PG_CA="$PG_DIR/ca.pem"

S3_PORT=$(free_port)
moto_server -H 127.0.0.1 -p "$S3_PORT" >"$BANSO_COMPONENTS_DIR/moto.log" 2>&1 &
MOTO_PID=$!
export BANSO_TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
for _ in $(seq 1 100); do
  curl -fsS "$BANSO_TEST_S3_ENDPOINT/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$BANSO_TEST_S3_ENDPOINT/" >/dev/null || { cat "$BANSO_COMPONENTS_DIR/moto.log" >&2; exit 2; }

stop_components() {
  kill "$MOTO_PID" 2>/dev/null || true
  as_postgres "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$BANSO_COMPONENTS_DIR"
}
trap stop_components EXIT
echo "components: PostgreSQL at $BANSO_TEST_PG_URL, S3 (moto) at $BANSO_TEST_S3_ENDPOINT" >&2
