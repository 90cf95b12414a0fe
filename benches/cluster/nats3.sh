# Sourced by the cluster benches (p8.sh, buckets.sh, compaction.sh, claim_cpu.sh): three
# `nats-server` nodes as one JetStream cluster on loopback, three numpool sidecars on it, and what
# every such bench starts with: the repository's root (ROOT), the server binary (NATS_SERVER, else
# nats-server on the PATH), and PIDS, whose processes are killed, and waited for, when the bench
# exits (so that a run right after it finds its ports free).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NATS_SERVER=${NATS_SERVER:-nats-server}
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait' EXIT

# start_nats3 DIR SYNC NAME CLIENT ROUTE HTTP: node k listens for clients on port CLIENTk, for
# routes on ROUTEk and for monitoring on HTTPk, keeps its store in DIR/nk with SYNC as its
# sync_interval, and logs to DIR/nk.log. Appends the pids to PIDS; returns once node 0 is healthy.
start_nats3() {
  local dir=$1 sync=$2 name=$3 client=$4 route=$5 http=$6 k j routes
  for k in 0 1 2; do
    routes=""
    for j in 0 1 2; do
      [ "$j" = "$k" ] || routes="$routes\"nats-route://127.0.0.1:$route$j\","
    done
    cat >"$dir/n$k.conf" <<CONF
server_name: n$k
listen: "127.0.0.1:$client$k"
http: "127.0.0.1:$http$k"
jetstream { store_dir: "$dir/n$k", sync_interval: $sync }
cluster { name: $name, listen: "127.0.0.1:$route$k", routes: [${routes%,}] }
CONF
    "$NATS_SERVER" -c "$dir/n$k.conf" >"$dir/n$k.log" 2>&1 &
    PIDS+=($!)
  done
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:${http}0/healthz" >/dev/null && break
    sleep 0.2
  done
}

# write_account_config DIR: DIR/numpool.toml with the one account the benches use (KEY, SECRET).
write_account_config() {
  printf '[[accounts]]\napi_key = "%s"\napi_secret = "%s"\n' "$KEY" "$SECRET" >"$1/numpool.toml"
}

# start_sidecars BIN DIR URLS RESP HTTP: three sidecars s0–s2 of the cluster at URLS, sidecar k
# serving RESP on 127.0.0.1:RESPk and HTTP on 127.0.0.1:HTTPk with DIR/numpool.toml, logging to
# DIR/sk.log. Appends their pids to PIDS and to SIDECARS.
SIDECARS=()
start_sidecars() {
  local bin=$1 dir=$2 urls=$3 resp=$4 http=$5 k
  for k in 0 1 2; do
    "$bin" serve --config "$dir/numpool.toml" --cluster "$urls" --cluster-member "s$k" \
      --resp "127.0.0.1:$resp$k" --http "127.0.0.1:$http$k" >"$dir/s$k.log" 2>&1 &
    PIDS+=($!)
    SIDECARS+=($!)
  done
}

# wait_healthy PORT…: returns once each numpool at 127.0.0.1:PORT answers /healthz (30 s at most
# for each).
wait_healthy() {
  local port
  for port in "$@"; do
    for _ in $(seq 1 300); do
      curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
      sleep 0.1
    done
  done
}
