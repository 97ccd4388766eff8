#!/usr/bin/env bash
# Fuzzing (issue 16): builds the cargo-fuzz targets in fuzz/ with the nightly toolchain, writes their seed
# corpora from the test kits (fuzz/src/seed.rs), and runs every target, or those named, for a time or a
# number of executions. Prints one line per target: executions, seconds, executions per second, corpus
# entries, and whether it found a crash, hang or out-of-memory (the run then fails, the input is kept
# under fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh                          # every target for 30 s (the smoke CI runs)
#   scripts/fuzz.sh --seconds 1800 sod       # one target for 30 minutes
#   scripts/fuzz.sh --runs 10000000 mrz lds  # until 10 million executions (or 2 hours)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
runs=-1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; seconds=7200; shift 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
# cargo-fuzz, at the version these scripts were written against; built with the stable toolchain.
if ! cargo fuzz --version 2>/dev/null | grep -q '0\.13\.2'; then
  cargo install cargo-fuzz --version 0.13.2 --locked
fi
export FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/banso-fuzz-target}"
fuzz=(cargo +nightly fuzz)
# Release code with debug assertions, AddressSanitizer on (cargo-fuzz's defaults).
"${fuzz[@]}" build --target-dir "$FUZZ_TARGET_DIR"
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <("${fuzz[@]}" list)
fi
bin="$FUZZ_TARGET_DIR/x86_64-unknown-linux-gnu/release"
"$bin/seed-corpora" fuzz/corpus

failed=0
logs="$(mktemp -d)"
printf '%-14s %14s %8s %10s %8s  %s\n' target executions seconds 'exec/s' corpus result
for t in "${targets[@]}"; do
  [ "$t" = seed-corpora ] && continue
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  start=$(date +%s)
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb: a process over 2 GiB is out of memory.
  if "$bin/$t" "fuzz/corpus/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" \
      -runs="$runs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
      > "$logs/$t.log" 2>&1; then
    result=ok
  else
    result="FOUND (see $logs/$t.log)"
    failed=1
    tail -40 "$logs/$t.log" >&2
  fi
  elapsed=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  execs=${execs:-0}
  rate=$(( execs / (elapsed > 0 ? elapsed : 1) ))
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  printf '%-14s %14s %8s %10s %8s  %s\n' "$t" "$execs" "$elapsed" "$rate" "$corpus" "$result"
done
exit $failed
