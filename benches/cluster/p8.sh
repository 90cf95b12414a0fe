#!/usr/bin/env bash
# DESIGN §8 P8 (issue 16): numpool in cluster mode on this machine, three `nats-server` nodes
# (R3, file storage, sync_interval: always unless SYNC says otherwise) and three sidecars, beside the same workload on one
# single-process numpool (durable, fsync everysec).
#   1. New conversations: loadgen open loop over the three sidecars (--targets), recipients
#      drawn uniformly from 2 million (nearly every pick a first contact, so a claim in the
#      cluster's bucket), then the 2,000 most-asked recipients asked again on every sidecar.
#   2. Sticky hits: 10,000 recipients made sticky, then picked closed-loop on one sidecar,
#      by loadgen and by redis-benchmark (an independent client); then the same on the
#      single-process server with the cluster stopped.
# Six processes and the client share two cores: the caveat of every figure here.
#
# Usage: benches/cluster/p8.sh target/release/numpool
# Environment: NATS_SERVER (else nats-server on the PATH), LOADGEN (else built --release),
# RATE (new conversations per second, default 1500), SYNC (the nodes' sync_interval, default
# always; 2m is NATS's default), OUT (default target/p8).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NUMPOOL_BIN=${1:?usage: p8.sh NUMPOOL_BIN}
NATS_SERVER=${NATS_SERVER:-nats-server}
RATE=${RATE:-1500}
SYNC=${SYNC:-always}
OUT=${OUT:-$ROOT/target/p8}
KEY=bench001 SECRET=bench-secret POOL=loadgen
if [ -z "${LOADGEN:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p numpool-loadgen)
  LOADGEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/loadgen
fi

rm -rf "$OUT"
mkdir -p "$OUT"
printf '[[accounts]]\napi_key = "%s"\napi_secret = "%s"\n' "$KEY" "$SECRET" >"$OUT/numpool.toml"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT

for k in 0 1 2; do
  routes=""
  for j in 0 1 2; do
    [ "$j" = "$k" ] || routes="$routes\"nats-route://127.0.0.1:2822$j\","
  done
  cat >"$OUT/n$k.conf" <<CONF
server_name: n$k
listen: "127.0.0.1:2422$k"
http: "127.0.0.1:2922$k"
jetstream { store_dir: "$OUT/n$k", sync_interval: $SYNC }
cluster { name: p8, listen: "127.0.0.1:2822$k", routes: [${routes%,}] }
CONF
  "$NATS_SERVER" -c "$OUT/n$k.conf" >"$OUT/n$k.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:29220/healthz >/dev/null && break
  sleep 0.2
done
URLS=nats://127.0.0.1:24220,nats://127.0.0.1:24221,nats://127.0.0.1:24222
for k in 0 1 2; do
  "$NUMPOOL_BIN" serve --config "$OUT/numpool.toml" --cluster "$URLS" --cluster-member "s$k" \
    --resp "127.0.0.1:2740$k" --http "127.0.0.1:2750$k" >"$OUT/s$k.log" 2>&1 &
  PIDS+=($!)
done
for k in 0 1 2; do
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:2750$k/healthz" >/dev/null && break
    sleep 0.1
  done
done
"$LOADGEN" seed --http http://127.0.0.1:27500 --auth "$KEY" "$SECRET" --pool "$POOL" \
  --numbers 1000 >/dev/null
sleep 1
TARGETS=127.0.0.1:27400,127.0.0.1:27401,127.0.0.1:27402

echo "== new conversations over three sidecars, open loop at $RATE/s"
"$LOADGEN" run --targets "$TARGETS" --auth "$KEY" "$SECRET" --pool "$POOL" --rate "$RATE" \
  --connections 6 --pipeline 16 --recipients 2000000 --zipf-s 0 --duration 10s --warmup 2s \
  --quiet --out "$OUT/new-conversations"

# Sticky hits on sidecar `addr` (port), after the recipients were made sticky.
sticky() {
  local name=$1 port=$2
  "$LOADGEN" run --addr "127.0.0.1:$port" --auth "$KEY" "$SECRET" --pool "$POOL" --max \
    --recipients 10000 --zipf-s 0 --duration 4s --warmup 0s --quiet --out "$OUT/$name-warm" >/dev/null
  "$LOADGEN" run --addr "127.0.0.1:$port" --auth "$KEY" "$SECRET" --pool "$POOL" --max \
    --connections 4 --pipeline 32 --recipients 10000 --zipf-s 0 --duration 10s --warmup 2s \
    --quiet --out "$OUT/$name-hits" | sed -n '1,4p'
  # redis-benchmark's keys: its first pass makes the mappings, the second is measured.
  redis-benchmark -p "$port" --user "$KEY" -a "$SECRET" -c 4 -P 32 -n 200000 -r 10000 -q \
    PICK "$POOL" +44__rand_int__ >/dev/null 2>&1
  redis-benchmark -p "$port" --user "$KEY" -a "$SECRET" -c 4 -P 32 -n 1000000 -r 10000 -q \
    PICK "$POOL" +44__rand_int__ 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1 |
    sed "s/^/redis-benchmark $name: /"
}

echo "== sticky hits on one sidecar of the cluster"
sticky cluster 27400
kill "${PIDS[@]}"
wait 2>/dev/null || true
PIDS=()

echo "== sticky hits on one single-process numpool (the cluster stopped)"
"$NUMPOOL_BIN" serve --config "$OUT/numpool.toml" --data-dir "$OUT/single-data" --fsync everysec \
  --resp 127.0.0.1:27410 --http 127.0.0.1:27510 >"$OUT/single.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:27510/healthz >/dev/null && break
  sleep 0.1
done
"$LOADGEN" seed --http http://127.0.0.1:27510 --auth "$KEY" "$SECRET" --pool "$POOL" \
  --numbers 1000 >/dev/null
sticky single 27410

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
r = lambda name: json.load(open(f"{out}/{name}/results.json"))
new, cluster, single = r("new-conversations"), r("cluster-hits"), r("single-hits")
lat = new["latency_us"]
print(f"new conversations: {new['achieved_rate']:.0f}/s, p50 {lat['p50']/1000:.2f} ms, "
      f"p99 {lat['p99']/1000:.2f} ms, p99.9 {lat['p999']/1000:.2f} ms, errors {new['error_total']}, "
      f"disagreements {new['recheck']['disagreements']} of {new['recheck']['recipients']}")
ratio = cluster["achieved_rate"] / single["achieved_rate"]
print(f"sticky hits (loadgen): cluster sidecar {cluster['achieved_rate']:.0f}/s, "
      f"single {single['achieved_rate']:.0f}/s: {ratio:.1%}")
PY
