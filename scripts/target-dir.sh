# Sourced by the scripts that build: points CARGO_TARGET_DIR outside the clone so CI and later runs reuse the
# dependencies' builds, and rebuilds this workspace's own crates when the target dir was last used by a checkout
# at another path. (Cargo records a member's files relative to its package, so a test binary built in another
# clone looks fresh, yet env!("CARGO_MANIFEST_DIR") inside it still names the other clone's fixtures.)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/banso-target}"
mkdir -p "$CARGO_TARGET_DIR"
_banso_here="$(pwd -P)"
if [ "$(cat "$CARGO_TARGET_DIR/.banso-checkout" 2>/dev/null || true)" != "$_banso_here" ]; then
  mapfile -t _banso_members < <(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    print("-p")
    print(p["name"])
')
  # Never a bare `cargo clean`: that would drop the dependencies too.
  if [ "${#_banso_members[@]}" -ge 2 ]; then
    echo "target dir last used by another checkout: rebuilding the workspace crates" >&2
    cargo clean --quiet "${_banso_members[@]}"
  fi
  mkdir -p "$CARGO_TARGET_DIR"
  printf '%s\n' "$_banso_here" > "$CARGO_TARGET_DIR/.banso-checkout"
fi
unset _banso_here _banso_members
