#!/usr/bin/env bash
# A private pcscd with vsmartcard's vpcd virtual reader, for tests and development.
#
# vpcd listens for virtual cards on TCP port 35963 on ALL interfaces, without authentication, and
# pcscd's socket is fixed at /run/pcscd/pcscd.comm (pcsc-lite 1.9 has no option to move it). So
# everything runs in fresh namespaces, never touching the host's network or a host pcscd:
#   - network namespace: only `lo` is up, so vpcd's port is reachable from inside only;
#   - mount namespace: a tmpfs over /run/pcscd holds this pcscd's socket and pid file;
#   - pid namespace (for `run`): when the command ends or the script is killed, pcscd dies too.
#
# Usage (as root, or with CAP_SYS_ADMIN):
#   scripts/pcscd-vpcd.sh run CMD [ARG...]   run CMD next to a private pcscd+vpcd, then stop them;
#                                            exits with CMD's status (2 if the setup fails)
#   scripts/pcscd-vpcd.sh start DIR          start a long-lived private pcscd+vpcd (state in DIR)
#   scripts/pcscd-vpcd.sh exec DIR CMD...    run CMD inside the namespaces started by `start`
#   scripts/pcscd-vpcd.sh stop DIR           stop it
#   scripts/pcscd-vpcd.sh check              verify the tools are installed
#
# Inside, a virtual card connects to 127.0.0.1:35963 (reader "Virtual PCD 00 00") or :35964
# ("Virtual PCD 00 01"), and PC/SC clients (libpcsclite, the `pcsc` crate, pcsc_scan) find pcscd
# at the usual path. Set PCSCD_DEBUG=1 to get pcscd's debug log and APDU trace on stderr.
set -euo pipefail

SELF=$(readlink -f "$0")
VPCD_DRIVER=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
VPCD_PORT=${VPCD_PORT:-35963}

die() { echo "pcscd-vpcd: $*" >&2; exit 2; }

check() {
  local missing=()
  for tool in pcscd unshare nsenter ip mount; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ -e "$VPCD_DRIVER" ] || missing+=("$VPCD_DRIVER (vsmartcard-vpcd)")
  [ ${#missing[@]} -eq 0 ] || die "missing: ${missing[*]} (apt-get install pcscd libpcsclite-dev vsmartcard-vpcd iproute2 util-linux)"
  [ "$(id -u)" = 0 ] || die "needs root (namespaces and a tmpfs over /run/pcscd)"
}

# Inside fresh namespaces: loopback up, private /run/pcscd, a reader.conf for vpcd only, then
# pcscd in the foreground (exec'd, or in the background when $1 = bg). Logs go to $2.
setup_inside() {
  local conf_dir=$1
  ip link set lo up
  mkdir -p /run/pcscd
  mount -t tmpfs -o mode=0755,size=1m banso-pcscd /run/pcscd
  mkdir -p "$conf_dir"
  cat >"$conf_dir/vpcd" <<EOF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:$VPCD_PORT
LIBPATH      $VPCD_DRIVER
CHANNELID    $(printf '0x%X' "$VPCD_PORT")
EOF
}

pcscd_args() {
  local conf_dir=$1
  local args=(--foreground --config "$conf_dir")
  if [ "${PCSCD_DEBUG:-0}" = 1 ]; then args+=(--debug --apdu); fi
  printf '%s\n' "${args[@]}"
}

wait_socket() {
  local pid=$1 log=$2
  for _ in $(seq 1 200); do
    [ -S /run/pcscd/pcscd.comm ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "pcscd exited during start"; }
    sleep 0.02
  done
  cat "$log" >&2
  die "pcscd did not create its socket in 4 s"
}

case "${1:-}" in
  check)
    check
    echo "pcscd-vpcd: ok ($(pcscd --version 2>&1 | head -n 1))"
    ;;

  run)
    shift
    [ $# -gt 0 ] || die "usage: $0 run CMD [ARG...]"
    check
    # --kill-child + a pid namespace: if this script dies, the kernel kills pcscd with it.
    exec unshare --net --mount --propagation private --pid --fork --kill-child --mount-proc \
      -- "$SELF" __run-inside "$@"
    ;;

  __run-inside)
    shift
    state=$(mktemp -d /tmp/banso-pcscd.XXXXXX)
    trap 'rm -rf "$state"' EXIT
    setup_inside "$state/reader.conf.d"
    mapfile -t args < <(pcscd_args "$state/reader.conf.d")
    if [ "${PCSCD_DEBUG:-0}" = 1 ]; then
      pcscd "${args[@]}" >&2 &
      log=/dev/null
    else
      log=$state/pcscd.log
      pcscd "${args[@]}" >"$log" 2>&1 &
    fi
    pcscd_pid=$!
    wait_socket "$pcscd_pid" "$log"
    set +e
    "$@"
    rc=$?
    set -e
    kill "$pcscd_pid" 2>/dev/null || true
    wait "$pcscd_pid" 2>/dev/null || true
    exit "$rc"
    ;;

  start)
    [ $# -eq 2 ] || die "usage: $0 start DIR"
    check
    dir=$(readlink -f "$2")
    mkdir -p "$dir"
    [ ! -e "$dir/pid" ] || ! kill -0 "$(cat "$dir/pid")" 2>/dev/null || die "already running (pid $(cat "$dir/pid"))"
    # unshare without --fork execs its command, so $! is the namespaced shell, which execs pcscd.
    unshare --net --mount --propagation private -- "$SELF" __start-inside "$dir" \
      >"$dir/pcscd.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
    for _ in $(seq 1 200); do
      nsenter -t "$(cat "$dir/pid")" -n -m -- test -S /run/pcscd/pcscd.comm && break
      kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/pcscd.log" >&2; die "pcscd exited during start"; }
      sleep 0.02
    done
    nsenter -t "$(cat "$dir/pid")" -n -m -- test -S /run/pcscd/pcscd.comm \
      || { cat "$dir/pcscd.log" >&2; die "pcscd did not create its socket in 4 s"; }
    echo "pcscd-vpcd: started pcscd (pid $(cat "$dir/pid")); use: $0 exec $dir CMD..." >&2
    ;;

  __start-inside)
    dir=$2
    setup_inside "$dir/reader.conf.d"
    mapfile -t args < <(pcscd_args "$dir/reader.conf.d")
    exec pcscd "${args[@]}"
    ;;

  exec)
    [ $# -ge 3 ] || die "usage: $0 exec DIR CMD [ARG...]"
    dir=$(readlink -f "$2")
    shift 2
    pid=$(cat "$dir/pid" 2>/dev/null) || die "not started ($dir/pid missing)"
    kill -0 "$pid" 2>/dev/null || die "pcscd (pid $pid) is not running"
    exec nsenter -t "$pid" -n -m -- "$@"
    ;;

  stop)
    [ $# -eq 2 ] || die "usage: $0 stop DIR"
    dir=$(readlink -f "$2")
    pid=$(cat "$dir/pid" 2>/dev/null) || die "not started ($dir/pid missing)"
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -f "$dir/pid"
    ;;

  *)
    sed -n '2,22p' "$SELF" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
