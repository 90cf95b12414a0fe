#!/usr/bin/env bash
# DESIGN §8 P2, P3 and P7 in one run: a durable numpool (a fresh data directory, fsync everysec)
# and Redis 7 running pick.lua with AOF everysec, on the same inventory, driven by two clients:
#   - redis-benchmark (the independent client §8 decides by): PING and PICK against numpool,
#     EVALSHA pick.lua against Redis, -c 4 -P 32 over 1M random recipients;
#   - loadgen: PING and PICK against numpool and EVALSHA against Redis, closed loop, with each
#     server's CPU per request and its spread over threads (P7) from /proc.
# Prints P2 (PICK / PING) and P3 (numpool / Redis) for both clients side by side, and draws the
# loadgen runs on one plot ($OUT/compare.svg). Traffic stays on 127.0.0.1.
#
# Usage:
#   benches/peers/compare.sh                                  # Redis only
#   benches/peers/compare.sh --numpool-bin target/release/numpool [-- <extra loadgen run flags>]
# Environment: WORKERS (numpool --workers; default its own, one per core), NUMBERS (inventory,
# default 1000), RECIPIENTS (loadgen's, default 100000), REQUESTS (redis-benchmark -n, default
# 1000000), COUNTRIES (default GB,US,DE,FR), POOL (default peer), OUT (default
# target/peer-compare), LOADGEN (a prebuilt loadgen binary; else built --release), RECEIPTS (a
# share, 0 to 1, of loadgen's numpool PICK run sent as delivery receipts, `REPORT`, for the
# seeded senders: P2/P3 with receipts mixed in; redis-benchmark cannot mix commands, and
# pick.lua keeps no health, so its runs and Redis's stay picks only).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NUMBERS=${NUMBERS:-1000}
RECIPIENTS=${RECIPIENTS:-100000}
REQUESTS=${REQUESTS:-1000000}
COUNTRIES=${COUNTRIES:-GB,US,DE,FR}
POOL=${POOL:-peer}
OUT=${OUT:-$ROOT/target/peer-compare}
KEY=bench001 SECRET=bench-secret

NUMPOOL_BIN=""
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --numpool-bin) NUMPOOL_BIN=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "${LOADGEN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p numpool-loadgen)
  LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen
fi
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
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

# Waits until `redis-cli -p PORT [auth…] PING` answers.
wait_for() {
  local port=$1
  shift
  for _ in $(seq 1 100); do
    redis-cli -p "$port" "$@" PING >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers on port $port" >&2
  return 1
}

# redis-benchmark's rate for one command, requests per second.
bench() {
  redis-benchmark -c 4 -P 32 -n "$REQUESTS" -r 1000000 -q "$@" 2>/dev/null |
    tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1
}

rm -rf "$OUT"
mkdir -p "$OUT"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

REDIS_PORT=$(free_port)
mkdir -p "$OUT/redis-data"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$OUT/redis-data" --save '' \
  --appendonly yes --appendfsync everysec >"$OUT/redis-server.log" 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
wait_for "$REDIS_PORT"
"$LOADGEN" seed --redis "127.0.0.1:$REDIS_PORT" --pool "$POOL" --numbers "$NUMBERS" --countries "$COUNTRIES"
SHA=$(redis-cli -p "$REDIS_PORT" SCRIPT LOAD "$(cat "$HERE/pick.lua")")

if [ -n "$NUMPOOL_BIN" ]; then
  RESP_PORT=$(free_port)
  HTTP_PORT=$(free_port)
  printf '[[accounts]]\napi_key = "%s"\napi_secret = "%s"\n' "$KEY" "$SECRET" >"$OUT/numpool.toml"
  WORKER_FLAGS=()
  [ -n "${WORKERS:-}" ] && WORKER_FLAGS=(--workers "$WORKERS")
  "$NUMPOOL_BIN" serve --config "$OUT/numpool.toml" --data-dir "$OUT/numpool-data" \
    --fsync everysec --resp "127.0.0.1:$RESP_PORT" --http "127.0.0.1:$HTTP_PORT" \
    "${WORKER_FLAGS[@]}" >"$OUT/numpool.log" 2>&1 &
  NUMPOOL_PID=$!
  PIDS+=("$NUMPOOL_PID")
  wait_for "$RESP_PORT"
  "$LOADGEN" seed --http "http://127.0.0.1:$HTTP_PORT" --auth "$KEY" "$SECRET" --pool "$POOL" \
    --numbers "$NUMBERS" --countries "$COUNTRIES"
fi

# shellcheck disable=SC2206 # the flags are deliberately split into words
COMMON=(--max --connections 4 --pipeline 32 --duration 10s --warmup 2s --recipients "$RECIPIENTS"
  --countries "$COUNTRIES" --pool "$POOL" "${EXTRA[@]}")

echo "== redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') + pick.lua, AOF everysec, on 127.0.0.1:$REDIS_PORT"
[ "$(redis-cli -p "$REDIS_PORT" CONFIG GET appendfsync | tail -1)" = everysec ]
"$LOADGEN" run --addr "127.0.0.1:$REDIS_PORT" --mode evalsha --script-sha "$SHA" "${COMMON[@]}" \
  --server-pid "$REDIS_PID" --out "$OUT/redis" --quiet
RB_REDIS=$(bench -p "$REDIS_PORT" EVALSHA "$SHA" 0 "$POOL" +44__rand_int__)

if [ -n "$NUMPOOL_BIN" ]; then
  echo "== numpool $("$NUMPOOL_BIN" --version) on 127.0.0.1:$RESP_PORT, durable (everysec), workers ${WORKERS:-default}"
  AUTH=(--auth "$KEY" "$SECRET")
  "$LOADGEN" run --addr "127.0.0.1:$RESP_PORT" "${AUTH[@]}" --mode ping "${COMMON[@]}" \
    --server-pid "$NUMPOOL_PID" --out "$OUT/numpool-ping" --quiet
  RECEIPT_FLAGS=()
  [ -n "${RECEIPTS:-}" ] && RECEIPT_FLAGS=(--receipts "$RECEIPTS" --numbers "$NUMBERS")
  "$LOADGEN" run --addr "127.0.0.1:$RESP_PORT" "${AUTH[@]}" --mode pick "${COMMON[@]}" \
    "${RECEIPT_FLAGS[@]}" --server-pid "$NUMPOOL_PID" --out "$OUT/numpool" --quiet
  RB_AUTH=(-p "$RESP_PORT" --user "$KEY" -a "$SECRET")
  RB_PING=$(bench "${RB_AUTH[@]}" PING)
  RB_PICK=$(bench "${RB_AUTH[@]}" PICK "$POOL" +44__rand_int__)
fi

rate() { sed -n 's/^  "achieved_rate": \([0-9.eE+-]*\),$/\1/p' "$1/results.json"; }
cpu() { sed -n 's/^    "us_per_request": \([0-9.eE+-]*\),$/\1/p' "$1/results.json"; }
# The busiest threads of a run: "name share%, …".
threads() {
  python3 - "$1/results.json" <<'PY'
import json, sys
cpu = json.load(open(sys.argv[1])).get("server_cpu") or {}
print(", ".join(f"{t['name']} {100 * t['share']:.0f}%" for t in cpu.get("threads", [])[:4]))
PY
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
printf '%-24s %14s %14s\n' "" "redis-benchmark" "loadgen"
printf '%-24s %14.0f %14.0f\n' "Redis + pick.lua /s" "$RB_REDIS" "$(rate "$OUT/redis")"
if [ -n "$NUMPOOL_BIN" ]; then
  printf '%-24s %14.0f %14.0f\n' "numpool PING /s" "$RB_PING" "$(rate "$OUT/numpool-ping")"
  printf '%-24s %14.0f %14.0f\n' "numpool PICK /s" "$RB_PICK" "$(rate "$OUT/numpool")"
  [ -n "${RECEIPTS:-}" ] && echo "  (loadgen's PICK run: ${RECEIPTS} of its requests are REPORTs)"
  printf '%-24s %14s %14s   (target >= 0.70)\n' "P2 PICK / PING" \
    "$(ratio "$RB_PICK" "$RB_PING")" "$(ratio "$(rate "$OUT/numpool")" "$(rate "$OUT/numpool-ping")")"
  printf '%-24s %14s %14s   (target >= 8)\n' "P3 numpool / Redis" \
    "$(ratio "$RB_PICK" "$RB_REDIS")" "$(ratio "$(rate "$OUT/numpool")" "$(rate "$OUT/redis")")"
  echo
  echo "P7, server CPU per request (loadgen, /proc; targets PING <= 0.5 µs, PICK <= 1.0 µs):"
  printf '  PING %.2f µs: %s\n' "$(cpu "$OUT/numpool-ping")" "$(threads "$OUT/numpool-ping")"
  printf '  PICK %.2f µs: %s\n' "$(cpu "$OUT/numpool")" "$(threads "$OUT/numpool")"
  printf '  Redis + pick.lua %.2f µs\n' "$(cpu "$OUT/redis")"
  "$LOADGEN" plot "$OUT/numpool" "$OUT/redis" --label numpool --label "Redis + pick.lua" \
    --out "$OUT/compare.svg"
else
  echo "numpool not run (give --numpool-bin)"
  "$LOADGEN" plot "$OUT/redis" --label "Redis + pick.lua" --out "$OUT/compare.svg"
fi
