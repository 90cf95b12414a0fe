#!/usr/bin/env bash
# What compaction of the admin log buys a sidecar that starts without a data directory
# (docs/cluster.md, "Compaction of the admin log"): three `nats-server` nodes (R3, file storage,
# sync_interval: always) and one sidecar compacting every EVERY records (0: never) take RECORDS
# opt-outs through the REST API, one at a time (each an admin record); then a second sidecar
# starts from nothing, and the time until its /healthz answers 200 is measured, with how many
# records it replayed and how many accounts it took from their images.
#
# Usage: benches/cluster/compaction.sh target/release/numpool
# Environment: NATS_SERVER (else nats-server on the PATH), RECORDS (default 5000), EVERY
# (default 1000), OUT (default target/compaction).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=nats3.sh
source "$HERE/nats3.sh"
NUMPOOL_BIN=${1:?usage: compaction.sh NUMPOOL_BIN}
RECORDS=${RECORDS:-5000}
EVERY=${EVERY:-1000}
OUT=${OUT:-$ROOT/target/compaction}
KEY=bench001 SECRET=bench-secret

rm -rf "$OUT"
mkdir -p "$OUT"
write_account_config "$OUT"

start_nats3 "$OUT" always compaction 2432 2832 2932
URLS=nats://127.0.0.1:24320,nats://127.0.0.1:24321,nats://127.0.0.1:24322
sidecar() {
  local k=$1
  "$NUMPOOL_BIN" serve --config "$OUT/numpool.toml" --cluster "$URLS" --cluster-member "s$k" \
    --cluster-compact-every "$EVERY" --resp "127.0.0.1:2760$k" --http "127.0.0.1:2770$k" \
    >"$OUT/s$k.log" 2>&1 &
  PIDS+=($!)
}
ready_after() {
  local port=$1 started=$2
  for _ in $(seq 1 6000); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.01
  done
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "port $port never ready" >&2; exit 1; }
  python3 -c "import time; print(f'{time.monotonic() - $started:.2f}')"
}

sidecar 0
ready_after 27700 "$(python3 -c 'import time; print(time.monotonic())')" >/dev/null
python3 - "$KEY" "$SECRET" "$RECORDS" <<'PY'
import base64, http.client, json, sys, time
key, secret, records = sys.argv[1], sys.argv[2], int(sys.argv[3])
auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
con = http.client.HTTPConnection("127.0.0.1", 27700)
base = f"/v2/numberpools/accounts/{key}/pools"
def call(method, path, body):
    con.request(method, path, json.dumps(body), {"Authorization": auth, "Content-Type": "application/json"})
    reply = con.getresponse()
    reply.read()
    assert reply.status < 300, (method, path, reply.status)
call("POST", base, {"pool_id": "p", "fallback": "Pool", "localized_sender_preferred": True,
                    "predictable_sender_preferred": True})
started = time.monotonic()
for i in range(records):
    call("PUT", f"{base}/p/optouts/4477{i:08d}", {})
elapsed = time.monotonic() - started
print(f"{records} opt-outs in {elapsed:.1f} s ({records / elapsed:.0f} admin changes/s)")
PY
sleep 2
info() { redis-cli -p "$1" --user "$KEY" --pass "$SECRET" --no-auth-warning INFO | tr -d '\r' | sed -n "s/^$2://p"; }
echo "sidecar 0: applied $(info 27600 cluster_applied), images written $(info 27600 cluster_compactions), records purged $(info 27600 cluster_compacted)"
started=$(python3 -c 'import time; print(time.monotonic())')
sidecar 1
took=$(ready_after 27701 "$started")
echo "a new sidecar (EVERY=$EVERY) was ready after $took s: replayed $(info 27601 cluster_replayed) records, $(info 27601 cluster_from_images) account(s) from images"
