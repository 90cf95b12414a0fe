#!/usr/bin/env bash
# DESIGN §8 P8 (issue 16): numpool in cluster mode on this machine, three `nats-server` nodes
# (R3, file storage, sync_interval: always unless SYNC says otherwise) and three sidecars, with
# one single-process numpool (durable, fsync everysec) running beside them the whole time.
#   1. New conversations, at each rate of RATES: loadgen open loop over the three sidecars
#      (--targets), recipients drawn uniformly from 2 million with a new seed per rate (nearly
#      every pick a first contact, so a claim in the cluster's bucket), then the 2,000
#      most-asked recipients asked again on every sidecar. Then the floor at the same rate:
#      bare key creates on the same bucket by an independent client (kv_create.py, nats-py).
#   2. Sticky hits: 10,000 recipients made sticky on one sidecar and on the single-process
#      server, then PAIRS alternating runs on each, by loadgen and by redis-benchmark (an
#      independent client), the other processes idle meanwhile; then PAIRS loadgen runs on
#      the single-process server with the cluster stopped.
# Seven processes and the client share two cores: the caveat of every figure here.
#
# Usage: benches/cluster/p8.sh target/release/numpool
# Environment: NATS_SERVER (else nats-server on the PATH), LOADGEN (else built --release),
# RATES (new conversations per second, default "250 500 1000 1500"), SECONDS_PER_RATE (how long
# each rate is measured, default 10), PAIRS (default 3), SYNC
# (the nodes' sync_interval, default always; 2m is NATS's default), OUT (default target/p8).
# Needs python3 with nats-py (pip install nats-py) and redis-benchmark.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=nats3.sh
source "$HERE/nats3.sh"
NUMPOOL_BIN=${1:?usage: p8.sh NUMPOOL_BIN}
RATES=${RATES:-"250 500 1000 1500"}
SECONDS_PER_RATE=${SECONDS_PER_RATE:-10}
PAIRS=${PAIRS:-3}
SYNC=${SYNC:-always}
OUT=${OUT:-$ROOT/target/p8}
KEY=bench001 SECRET=bench-secret POOL=loadgen
if [ -z "${LOADGEN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p numpool-loadgen)
  LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen
fi

rm -rf "$OUT"
mkdir -p "$OUT"
write_account_config "$OUT"

start_nats3 "$OUT" "$SYNC" p8 2422 2822 2922
URLS=nats://127.0.0.1:24220,nats://127.0.0.1:24221,nats://127.0.0.1:24222
start_sidecars "$NUMPOOL_BIN" "$OUT" "$URLS" 2740 2750
SIDECAR=${SIDECARS[0]}
"$NUMPOOL_BIN" serve --config "$OUT/numpool.toml" --data-dir "$OUT/single-data" --fsync everysec \
  --resp 127.0.0.1:27410 --http 127.0.0.1:27510 >"$OUT/single.log" 2>&1 &
SINGLE=$!
PIDS+=($SINGLE)
wait_healthy 27500 27501 27502 27510
for port in 27500 27510; do
  "$LOADGEN" seed --http "http://127.0.0.1:$port" --auth "$KEY" "$SECRET" --pool "$POOL" \
    --numbers 1000 >/dev/null
done
sleep 1
TARGETS=127.0.0.1:27400,127.0.0.1:27401,127.0.0.1:27402

# The VM's CPU time stolen by its host during a phase, as a share of all CPU time: the host's
# neighbours change the figures of one run to the next, and this says by how much they took.
cpu_mark() {
  local _ a b c d e f g h
  read -r _ a b c d e f g h _ </proc/stat
  echo "$((a + b + c + d + e + f + g + h)) $h"
}
steal_since() {
  local total0 steal0 total1 steal1
  read -r total0 steal0 <<<"$1"
  read -r total1 steal1 <<<"$(cpu_mark)"
  python3 -c "print(round(100 * ($steal1 - $steal0) / max(1, $total1 - $total0), 1))" >"$OUT/$2.steal"
}

# Connection c of a run seeded s draws with seed s + c: runs 1,000 apart share no recipients.
seed=0
for rate in $RATES; do
  echo "== new conversations over three sidecars, open loop at $rate/s; then bare creates"
  seed=$((seed + 1000))
  mark=$(cpu_mark)
  "$LOADGEN" run --targets "$TARGETS" --auth "$KEY" "$SECRET" --pool "$POOL" --rate "$rate" \
    --connections 6 --pipeline 16 --recipients 2000000 --zipf-s 0 --duration "${SECONDS_PER_RATE}s" --warmup 2s \
    --rng-seed "$seed" --quiet --out "$OUT/new-$rate" >/dev/null
  steal_since "$mark" "new-$rate"
  python3 "$HERE/kv_create.py" "${URLS%%,*}" NUMPOOL_numpool_STICKY "$rate" "$SECONDS_PER_RATE" \
    "$OUT/creates-$rate.json" >/dev/null
done

# Sticky hits on the server at `port`: loadgen's (its recipients made sticky first), then
# redis-benchmark's (its first pass makes the mappings).
warm() {
  local port=$1
  "$LOADGEN" run --addr "127.0.0.1:$port" --auth "$KEY" "$SECRET" --pool "$POOL" --max \
    --recipients 10000 --zipf-s 0 --duration 4s --warmup 0s --quiet --out "$OUT/warm-$port" >/dev/null
  redis-benchmark -p "$port" --user "$KEY" -a "$SECRET" -c 4 -P 32 -n 200000 -r 10000 -q \
    PICK "$POOL" +44__rand_int__ >/dev/null 2>&1
}
# Its CPU time per request too (--server-pid): the host's neighbours move throughput from one
# run to the next far more than they move the work a request costs.
hits() {
  local name=$1 port=$2 pid=$3
  "$LOADGEN" run --addr "127.0.0.1:$port" --auth "$KEY" "$SECRET" --pool "$POOL" --max \
    --connections 4 --pipeline 32 --recipients 10000 --zipf-s 0 --duration 10s --warmup 2s \
    --server-pid "$pid" --quiet --out "$OUT/$name" >/dev/null
}
benchmark() {
  local name=$1 port=$2
  redis-benchmark -p "$port" --user "$KEY" -a "$SECRET" -c 4 -P 32 -n 1000000 -r 10000 -q \
    PICK "$POOL" +44__rand_int__ 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1 |
    sed 's/.*: \([0-9.]*\) requests per second.*/\1/' >"$OUT/$name.rps"
}

echo "== sticky hits: one sidecar of the cluster and the single-process server, alternately"
warm 27400
warm 27410
mark=$(cpu_mark)
for i in $(seq 1 "$PAIRS"); do
  hits "cluster-hits-$i" 27400 "$SIDECAR"
  hits "single-hits-$i" 27410 "$SINGLE"
done
for i in $(seq 1 "$PAIRS"); do
  benchmark "cluster-rb-$i" 27400
  benchmark "single-rb-$i" 27410
done
steal_since "$mark" hits

echo "== sticky hits on the single-process server, the cluster stopped"
for pid in "${PIDS[@]}"; do
  [ "$pid" = "$SINGLE" ] || kill "$pid"
done
sleep 2
mark=$(cpu_mark)
for i in $(seq 1 "$PAIRS"); do
  hits "alone-hits-$i" 27410 "$SINGLE"
done
steal_since "$mark" alone

python3 - "$OUT" "$RATES" "$PAIRS" <<'PY'
import json, statistics, sys
out, rates, pairs = sys.argv[1], sys.argv[2].split(), int(sys.argv[3])
load = lambda name: json.load(open(f"{out}/{name}"))
steal = lambda name: open(f"{out}/{name}.steal").read().strip() + "% stolen"
print("new conversations (loadgen over three sidecars) | bare creates (nats-py), ms")
for rate in rates:
    new, bare = load(f"new-{rate}/results.json"), load(f"creates-{rate}.json")
    lat = new["latency_us"]
    print(f"  {rate}/s: achieved {new['achieved_rate']:.0f}/s, p50 {lat['p50']/1000:.2f}, "
          f"p99 {lat['p99']/1000:.2f}, p99.9 {lat['p999']/1000:.2f}, errors {new['error_total']}, "
          f"disagreements {new['recheck']['disagreements']} of {new['recheck']['recipients']} | "
          f"p50 {bare['p50_ms']}, p99 {bare['p99_ms']}, p99.9 {bare['p999_ms']}, errors {bare['errors']}"
          f" | {steal(f'new-{rate}')}")
rate = lambda name: load(f"{name}/results.json")["achieved_rate"]
rps = lambda name: float(open(f"{out}/{name}.rps").read())
print(f"sticky hits beside the cluster: {steal('hits')}; with the cluster stopped: {steal('alone')}")
def series(label, cluster, single):
    ratios = [c / s for c, s in zip(cluster, single)]
    pairs_text = ", ".join(f"{c/1000:.0f}k/{s/1000:.0f}k" for c, s in zip(cluster, single))
    print(f"{label}: {pairs_text}; ratios {', '.join(f'{r:.1%}' for r in ratios)}; "
          f"median {statistics.median(ratios):.1%}")
series("sticky hits, loadgen, cluster sidecar / single beside it",
       [rate(f"cluster-hits-{i}") for i in range(1, pairs + 1)],
       [rate(f"single-hits-{i}") for i in range(1, pairs + 1)])
series("sticky hits, redis-benchmark, cluster sidecar / single beside it",
       [rps(f"cluster-rb-{i}") for i in range(1, pairs + 1)],
       [rps(f"single-rb-{i}") for i in range(1, pairs + 1)])
series("sticky hits, loadgen, cluster sidecar / single with the cluster stopped",
       [rate(f"cluster-hits-{i}") for i in range(1, pairs + 1)],
       [rate(f"alone-hits-{i}") for i in range(1, pairs + 1)])
cpu = lambda name: load(f"{name}/results.json")["server_cpu"]["us_per_request"]
for label, name in (("cluster sidecar", "cluster-hits"), ("single beside it", "single-hits"),
                    ("single, the cluster stopped", "alone-hits")):
    runs = [cpu(f"{name}-{i}") for i in range(1, pairs + 1)]
    print(f"server CPU per sticky hit, {label}: {', '.join(f'{u:.2f}' for u in runs)} us; "
          f"median {statistics.median(runs):.2f} us")
PY
