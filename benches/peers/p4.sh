#!/usr/bin/env bash
# DESIGN §8 P4: open loop at 50% of the P2 maximum, on a durable numpool (a fresh data directory,
# fsync everysec), twice: with the server and loadgen sharing every core, and with each on a core
# of its own (taskset; the pinned server runs one worker, as many as its core), so that the
# server's tail can be told apart from the generator's. The rate is half of what redis-benchmark
# measures for PICK on the shared-core server just before (-c 4 -P 32, 1M random recipients),
# unless RATE is given. Prints corrected latency (from each request's intended send time) and
# service time for both runs.
#
# Usage: benches/peers/p4.sh target/release/numpool [-- <extra loadgen run flags>]
# Environment: RATE, SERVER_CORE (default 0), LOADGEN_CORE (default 1), NUMBERS (default 1000),
# OUT (default target/p4), LOADGEN (a prebuilt loadgen binary; else built --release).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NUMPOOL_BIN=${1:?usage: p4.sh NUMPOOL_BIN [-- loadgen flags]}
shift
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
SERVER_CORE=${SERVER_CORE:-0}
LOADGEN_CORE=${LOADGEN_CORE:-1}
NUMBERS=${NUMBERS:-1000}
OUT=${OUT:-$ROOT/target/p4}
KEY=bench001 SECRET=bench-secret POOL=loadgen

if [ -z "${LOADGEN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p numpool-loadgen)
  LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen
fi
if ! command -v redis-benchmark >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null
fi

rm -rf "$OUT"
mkdir -p "$OUT"
printf '[[accounts]]\napi_key = "%s"\napi_secret = "%s"\n' "$KEY" "$SECRET" >"$OUT/numpool.toml"
SERVER=""
trap 'kill "$SERVER" 2>/dev/null || true' EXIT

# Starts a fresh durable server (`$@` before it, e.g. taskset) on 127.0.0.1:27400 and seeds it.
start() {
  local name=$1
  shift
  "$@" "$NUMPOOL_BIN" serve --config "$OUT/numpool.toml" --data-dir "$OUT/$name-data" \
    --fsync everysec --resp 127.0.0.1:27400 --http 127.0.0.1:27401 >"$OUT/$name.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do
    redis-cli -p 27400 PING >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$LOADGEN" seed --http http://127.0.0.1:27401 --auth "$KEY" "$SECRET" --pool "$POOL" \
    --numbers "$NUMBERS" >/dev/null
}

stop() {
  kill -TERM "$SERVER"
  wait "$SERVER" || true
  SERVER=""
}

# One open-loop run (`$@` before loadgen, e.g. taskset) into $OUT/<name>.
run() {
  local name=$1
  shift
  "$@" "$LOADGEN" run --addr 127.0.0.1:27400 --auth "$KEY" "$SECRET" --mode pick --pool "$POOL" --rate "$RATE" \
    --connections 4 --pipeline 32 --duration 10s --warmup 2s --server-pid "$SERVER" --quiet \
    --out "$OUT/$name" "${EXTRA[@]}" >/dev/null
}

start shared
if [ -z "${RATE:-}" ]; then
  MAX=$(redis-benchmark -p 27400 --user "$KEY" -a "$SECRET" -c 4 -P 32 -n 1000000 -r 1000000 -q \
    PICK "$POOL" +44__rand_int__ 2>/dev/null | tr '\r' '\n' |
    sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
  RATE=$(awk -v m="$MAX" 'BEGIN { printf "%d", m / 2 }')
  echo "P2 maximum (redis-benchmark PICK) $MAX/s: open loop at $RATE/s"
fi
run shared
stop
start split taskset -c "$SERVER_CORE"
run split taskset -c "$LOADGEN_CORE"
stop

python3 - "$OUT" "$RATE" <<'PY'
import json, sys
out, rate = sys.argv[1], sys.argv[2]
print(f"P4 at {rate}/s (target: corrected p99 <= 1 ms, p99.9 <= 5 ms)")
print(f"{'run':<34}{'achieved':>10}{'p50':>9}{'p99':>9}{'p99.9':>9}{'max':>9}   service p99, p99.9")
for name, what in [("shared", "shared cores"), ("split", "server and loadgen on own cores")]:
    r = json.load(open(f"{out}/{name}/results.json"))
    lat, svc = r["latency_us"], r["service_time_us"]
    ms = lambda us: f"{us / 1000:.2f}ms"
    print(f"{what:<34}{r['achieved_rate']:>10.0f}{ms(lat['p50']):>9}{ms(lat['p99']):>9}"
          f"{ms(lat['p999']):>9}{ms(lat['max']):>9}   {ms(svc['p99'])}, {ms(svc['p999'])}")
PY
