#!/usr/bin/env bash
# The tests that need root: power loss on LazyFS (engine/tests/power_loss.rs) and the disk-full
# and read-only faults (engine/tests/storage_faults.rs, which mount a tmpfs and an ext4 loop
# image). They are #[ignore]d in `cargo test --workspace`; this script builds LazyFS from
# tools/lazyfs (once, into target/lazyfs), points the tests at .ci/lazyfs.sh and runs exactly
# the ignored tests, then fails unless every one of them ran and passed (never a silent pass).
# Arguments go to the test binaries (e.g. --nocapture). NUMPOOL_POWER_LOSS_CYCLES=30 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

[[ $(id -u) -eq 0 ]] || { echo "power_loss.sh needs root (apt, /dev/fuse, mount)" >&2; exit 1; }
[[ -e /dev/fuse ]] || { echo "power_loss.sh needs /dev/fuse" >&2; exit 1; }
if ! command -v mkfs.ext4 >/dev/null || ! command -v e2fsck >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq e2fsprogs >/dev/null
fi
echo "== LazyFS: $(bash .ci/lazyfs.sh build)"
export NUMPOOL_LAZYFS="$root/.ci/lazyfs.sh"

# The ignored tests, by target: they must all run. `faults` runs only the disk-full and
# read-only ones (quicker, when LazyFS is not what changed).
targets=(--test power_loss --test storage_faults)
expected=3
if [[ ${1:-} == faults ]]; then
  shift
  targets=(--test storage_faults)
  expected=2
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo test --no-fail-fast -p numpool "${targets[@]}" -- --ignored "$@" 2>&1 | tee "$out"
ran=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$out" | awk '{s += $4} END {print s + 0}')
if [[ $ran -ne $expected ]]; then
  echo "power_loss.sh: $ran ignored tests passed, expected $expected" >&2
  exit 1
fi
echo "== root-only storage tests: $ran passed"
