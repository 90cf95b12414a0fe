#!/usr/bin/env bash
# What a new conversation costs the sidecars in CPU (docs/benchmarks.md, P8, "Where the tail comes
# from", item 4): three `nats-server` nodes (R3, sync_interval: always, store on the disk), three
# sidecars, and ROUNDS loadgen runs open loop at RATE over the three for DUR seconds each (nearly
# every pick a first contact); utime + stime of the sidecars and of the nodes from /proc over each
# run, and the sidecars' summed over the three per claim.
#
# Usage: benches/cluster/claim_cpu.sh target/release/numpool
# Environment: NATS_SERVER (else nats-server on the PATH), LOADGEN (default
# target/release/loadgen), RATE (default 1000), DUR (default 15), ROUNDS (default 2), OUT
# (default target/claim_cpu).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=nats3.sh
source "$HERE/nats3.sh"
NUMPOOL_BIN=${1:?usage: claim_cpu.sh NUMPOOL_BIN}
LOADGEN=${LOADGEN:-$ROOT/target/release/loadgen}
RATE=${RATE:-1000}; DUR=${DUR:-15}; ROUNDS=${ROUNDS:-2}
OUT=${OUT:-$ROOT/target/claim_cpu}
KEY=bench001 SECRET=bench-secret POOL=loadgen
rm -rf "$OUT"; mkdir -p "$OUT"
write_account_config "$OUT"
start_nats3 "$OUT" always cc 2452 2852 2952
NATS=("${PIDS[@]}")
URLS=nats://127.0.0.1:24520,nats://127.0.0.1:24521,nats://127.0.0.1:24522
start_sidecars "$NUMPOOL_BIN" "$OUT" "$URLS" 2760 2770
wait_healthy 27700 27701 27702
"$LOADGEN" seed --http "http://127.0.0.1:27700" --auth "$KEY" "$SECRET" --pool "$POOL" \
  --numbers 1000 >/dev/null
sleep 1
# Clock ticks (1/100 s) of utime + stime, summed over the processes named.
ticks() {
  local t=0 p f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat"
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
seed=0
for r in $(seq 1 "$ROUNDS"); do
  seed=$((seed + 1000))
  s0=$(ticks "${SIDECARS[@]}"); n0=$(ticks "${NATS[@]}")
  "$LOADGEN" run --targets 127.0.0.1:27600,127.0.0.1:27601,127.0.0.1:27602 --auth "$KEY" \
    "$SECRET" --pool "$POOL" --rate "$RATE" \
    --connections 6 --pipeline 16 --recipients 2000000 --zipf-s 0 --duration "${DUR}s" --warmup 0s \
    --rng-seed "$seed" --quiet --out "$OUT/run-$r" >/dev/null
  s1=$(ticks "${SIDECARS[@]}"); n1=$(ticks "${NATS[@]}")
  python3 - "$OUT/run-$r/results.json" $((s1 - s0)) $((n1 - n0)) "$DUR" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s, n, dur = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lat = r["latency_us"]; claims = r["achieved_rate"] * dur
print(f"rate {r['achieved_rate']:.0f}/s p50 {lat['p50']/1000:.2f} p99 {lat['p99']/1000:.2f} ms "
      f"errors {r['error_total']}; sidecars {s/100:.2f} s ({s/100/dur:.2f} cores, "
      f"{s*1e4/claims:.0f} us/claim), nats {n/100:.2f} s ({n/100/dur:.2f} cores)")
PY
done
