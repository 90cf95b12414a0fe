#!/usr/bin/env bash
# Peer comparison, DESIGN §8 P3: one loadgen, the same connections, pipeline depth, recipients and
# inventory, against Redis running pick.lua (EVALSHA) and against numpool (PICK). Prints both
# tables (with each server's CPU per request, from /proc, when loadgen knows its pid: always for
# Redis and a spawned numpool), numpool's throughput as a multiple of Redis's, and draws both
# runs on one plot ($OUT/compare.svg). Traffic stays on 127.0.0.1.
#
# Usage:
#   benches/peers/compare.sh                                   # Redis only (numpool not given)
#   benches/peers/compare.sh --numpool-bin target/release/numpool --auth KEY SECRET
#   benches/peers/compare.sh --numpool-addr 127.0.0.1:7400 --numpool-http http://127.0.0.1:7401 \
#                            --auth KEY SECRET [--no-seed]
#   ... -- <extra loadgen run flags, e.g. --duration 30s --connections 8>
# Environment: PACE (default "--max"; e.g. "--rate 20000"), NUMBERS (inventory, default 1000),
# RECIPIENTS (default 100000), COUNTRIES (default GB,US,DE,FR), POOL (default peer),
# OUT (default target/peer-compare), LOADGEN (a prebuilt loadgen binary; else built --release).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PACE=${PACE:---max}
NUMBERS=${NUMBERS:-1000}
RECIPIENTS=${RECIPIENTS:-100000}
COUNTRIES=${COUNTRIES:-GB,US,DE,FR}
POOL=${POOL:-peer}
OUT=${OUT:-$ROOT/target/peer-compare}

NUMPOOL_BIN="" NUMPOOL_ADDR="" NUMPOOL_HTTP="http://127.0.0.1:7401" KEY="" SECRET="" SEED=1
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --numpool-bin) NUMPOOL_BIN=$2; shift 2 ;;
    --numpool-addr) NUMPOOL_ADDR=$2; shift 2 ;;
    --numpool-http) NUMPOOL_HTTP=$2; shift 2 ;;
    --auth) KEY=$2; SECRET=$3; shift 3 ;;
    --no-seed) SEED=0; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$NUMPOOL_BIN$NUMPOOL_ADDR" ] && [ -z "$KEY" ]; then
  echo "numpool needs --auth KEY SECRET (the demo account's, printed by the README)" >&2
  exit 2
fi

if [ -z "${LOADGEN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p numpool-loadgen)
  LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen
fi

if ! command -v redis-server >/dev/null; then
  apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null
fi

# A loopback port nobody listens on.
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

mkdir -p "$OUT"
PORT=$(free_port)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no >"$OUT/redis-server.log" 2>&1 &
REDIS_PID=$!
trap 'kill "$REDIS_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  redis-cli -p "$PORT" PING >/dev/null 2>&1 && break
  sleep 0.1
done

"$LOADGEN" seed --redis "127.0.0.1:$PORT" --pool "$POOL" --numbers "$NUMBERS" --countries "$COUNTRIES"
SHA=$(redis-cli -p "$PORT" SCRIPT LOAD "$(cat "$HERE/pick.lua")")

# shellcheck disable=SC2206 # PACE is deliberately split into words
COMMON=($PACE --connections 4 --pipeline 32 --duration 10s --warmup 2s --recipients "$RECIPIENTS"
  --countries "$COUNTRIES" --pool "$POOL" "${EXTRA[@]}")

echo "== redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') + pick.lua on 127.0.0.1:$PORT"
"$LOADGEN" run --addr "127.0.0.1:$PORT" --mode evalsha --script-sha "$SHA" "${COMMON[@]}" \
  --server-pid "$REDIS_PID" --out "$OUT/redis"

if [ -n "$NUMPOOL_BIN" ]; then
  echo "== numpool (spawned from $NUMPOOL_BIN)"
  "$LOADGEN" run --spawn "$NUMPOOL_BIN" --seed-pool --numbers "$NUMBERS" --auth "$KEY" "$SECRET" \
    --mode pick "${COMMON[@]}" --out "$OUT/numpool"
elif [ -n "$NUMPOOL_ADDR" ]; then
  if [ "$SEED" = 1 ]; then
    "$LOADGEN" seed --http "$NUMPOOL_HTTP" --auth "$KEY" "$SECRET" --pool "$POOL" \
      --numbers "$NUMBERS" --countries "$COUNTRIES"
  fi
  echo "== numpool at $NUMPOOL_ADDR"
  "$LOADGEN" run --addr "$NUMPOOL_ADDR" --auth "$KEY" "$SECRET" --mode pick "${COMMON[@]}" \
    --out "$OUT/numpool"
fi

rate() { sed -n 's/^  "achieved_rate": \([0-9.eE+-]*\),$/\1/p' "$1/results.json"; }
cpu() {
  local us
  us=$(sed -n 's/^    "us_per_request": \([0-9.eE+-]*\),$/\1/p' "$1/results.json")
  [ -n "$us" ] && printf ', server CPU %.2f µs/request' "$us"
}
echo
echo "redis+lua  $(rate "$OUT/redis")/s$(cpu "$OUT/redis")   ($OUT/redis)"
if [ -f "$OUT/numpool/results.json" ] && [ -n "$NUMPOOL_BIN$NUMPOOL_ADDR" ]; then
  echo "numpool    $(rate "$OUT/numpool")/s$(cpu "$OUT/numpool")   ($OUT/numpool)"
  awk -v n="$(rate "$OUT/numpool")" -v r="$(rate "$OUT/redis")" \
    'BEGIN { printf "numpool / redis throughput: %.2fx (DESIGN §8 P3 target: >= 8x)\n", n / r }'
  "$LOADGEN" plot "$OUT/numpool" "$OUT/redis" --label numpool --label "Redis + pick.lua" \
    --out "$OUT/compare.svg"
else
  echo "numpool    not run (give --numpool-bin or --numpool-addr)"
  "$LOADGEN" plot "$OUT/redis" --label "Redis + pick.lua" --out "$OUT/compare.svg"
fi
