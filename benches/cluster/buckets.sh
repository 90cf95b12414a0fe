#!/usr/bin/env bash
# Where a new conversation's tail comes from, without numpool (docs/benchmarks.md, P8, "Where the
# tail comes from"): three bare `nats-server` nodes (R3, sync_interval: always), and open-loop
# KV creates by kv_create.py on one bucket or round-robin over three, alternating, ROUNDS times
# at each of RATES. STORE=/dev/shm/… puts the nodes' store on tmpfs, where an fsync costs
# nothing: what the creates wait for besides the disk.
#
# Usage: benches/cluster/buckets.sh
# Environment: NATS_SERVER (else nats-server on the PATH), RATES (default "1000 500"), ROUNDS
# (default 3), STORE (default target/buckets). Needs python3 with nats-py.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=nats3.sh
source "$HERE/nats3.sh"
RATES=${RATES:-"1000 500"}
ROUNDS=${ROUNDS:-3}
STORE=${STORE:-$HERE/../../target/buckets}
rm -rf "$STORE"
mkdir -p "$STORE"
start_nats3 "$STORE" always buckets 2432 2832 2932
URL=nats://127.0.0.1:24320
# The meta leader may take a moment after /healthz: the first make is retried.
for _ in $(seq 1 20); do
  MAKE=1 python3 "$HERE/kv_create.py" "$URL" ONE,T0,T1,T2 1 1 "$STORE/make.json" && break
  sleep 0.5
done
for rate in $RATES; do
  for round in $(seq 1 "$ROUNDS"); do
    echo "$rate/s, one bucket: $(python3 "$HERE/kv_create.py" "$URL" ONE "$rate" 8 "$STORE/one.json")"
    echo "$rate/s, three buckets: $(python3 "$HERE/kv_create.py" "$URL" T0,T1,T2 "$rate" 8 "$STORE/three.json")"
  done
done
