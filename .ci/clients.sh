#!/usr/bin/env bash
# The client matrix (issue 12): every Redis client numpool promises to work with runs the same
# scripted session against one `numpool serve --demo`, with its default settings and with its
# RESP2 setting: auth, a pick in each fallback, sticky get/del, an error of each kind, a pipeline
# of 100, reconnect. Then redis-benchmark with no protocol flags, and the README's quick start
# (redis-cli, Python and Node blocks) exactly as printed, on the default ports. Prints one line
# per (client, protocol) and stops at the first failure with that client's output.
#
# Versions are pinned in .ci/clients/: requirements-<line>.txt (one virtualenv per line, as
# redis-py 5 and 8 cannot share one; kept in .ci/clients/.venv-<line> while the file is
# unchanged) and package.json + package-lock.json (node-redis 6 and 4, ioredis 6 and 5 side by
# side under npm aliases; `npm ci` again only when the lock file changes). The matrix and the
# versions are a table in docs/protocol.md.
#
#   .ci/clients.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
clients=$root/.ci/clients
sessions=$root/.ci/sessions

echo "== client matrix: installs"
if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null
fi
for line in redis8 redis5 valkey glide; do
    venv=$clients/.venv-$line
    if ! cmp -s "$clients/requirements-$line.txt" "$venv/installed.txt" 2>/dev/null; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
            -r "$clients/requirements-$line.txt"
        cp "$clients/requirements-$line.txt" "$venv/installed.txt"
    fi
done
if ! cmp -s "$clients/package-lock.json" "$clients/node_modules/.installed-lock.json" 2>/dev/null; then
    (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$clients/package-lock.json" "$clients/node_modules/.installed-lock.json"
fi
cargo build --quiet -p numpool --bin numpool

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; then
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
stop_server() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}
source "$root/.ci/lib/serve.sh"

echo "== client matrix: sessions against numpool serve --demo"
mkdir "$work/matrix"
start_numpool "$work/matrix" --demo --resp 127.0.0.1:0 --http 127.0.0.1:0
port=$(sed -n 's/^numpool ready resp=[^ ]*:\([0-9]*\) .*/\1/p' "$work/matrix/stdout")
[[ -n $port ]] || { echo "clients: no RESP port in the ready line" >&2; exit 1; }

run=0
# pair NAME MODE COMMAND...: runs one session (its own recipients: RUN is the pair's number).
pair() {
    local name=$1 mode=$2
    shift 2
    run=$((run + 1))
    local out=$work/pair-$run.out start=$SECONDS
    if timeout 120 "$@" "$port" "$run" >"$out" 2>&1; then
        local proto
        proto=$(sed -n 's/.*session ok (\(RESP[23]\)).*/\1/p' "$out" | tail -1)
        printf 'ok    %-28s %-8s %s  (%ss)\n' "$name" "$mode" "$proto" "$((SECONDS - start))"
    else
        printf 'FAIL  %-28s %-8s\n' "$name" "$mode"
        sed 's/^/    /' "$out"
        exit 1
    fi
}
skip() {
    printf 'skip  %-28s %-8s %s\n' "$1" "$2" "$3"
}
py() { echo "$clients/.venv-$1/bin/python"; }

for mode in default resp2; do
    pair "redis-py 8.1.0" "$mode" "$(py redis8)" "$sessions/clients.py" redis "$mode"
    pair "redis-py 5.3.1" "$mode" "$(py redis5)" "$sessions/clients.py" redis "$mode"
    pair "valkey-py 6.2.0" "$mode" "$(py valkey)" "$sessions/clients.py" valkey "$mode"
    pair "valkey-glide 2.6.0 (Python)" "$mode" "$(py glide)" "$sessions/clients.py" glide "$mode"
    pair "node-redis 6.3.1" "$mode" node "$sessions/clients.js" redis6 "$mode"
    pair "ioredis 6.0.0" "$mode" node "$sessions/clients.js" ioredis6 "$mode"
done
pair "node-redis 4.7.1" default node "$sessions/clients.js" redis4 default
skip "node-redis 4.7.1" resp2 "no protocol setting: RESP2 is all it speaks (the default row)"
pair "ioredis 5.11.1" default node "$sessions/clients.js" ioredis5 default
skip "ioredis 5.11.1" resp2 "no protocol setting: RESP2 is all it speaks (the default row)"
# redis-cli with its own -2 / -3 flags.
cli_version=$(redis-cli --version | cut -d' ' -f2)
pair "redis-cli $cli_version" "-2" bash "$sessions/redis_cli_matrix.sh" 2
pair "redis-cli $cli_version" "-3" bash "$sessions/redis_cli_matrix.sh" 3

# redis-benchmark, no protocol flag: 2,000 pipelined PICKs to random UK recipients. It stops at
# the first error reply ("Error from server: …"); any error or a missing summary fails.
# numpool has no CONFIG command, so it warns that it could not read the server's CONFIG (as it
# does against a Redis whose ACL refuses CONFIG): that one warning is expected.
bench=$work/bench.out
start=$SECONDS
if redis-benchmark -p "$port" --user demo0001 -a demo-secret -n 2000 -c 2 -P 8 -r 100000 \
    PICK demo +44__rand_int__ >"$bench" 2>&1 \
    && grep -q 'throughput summary' "$bench" \
    && ! tr '\r' '\n' <"$bench" | grep -i 'error' >/dev/null; then
    printf 'ok    %-28s %-8s %s  (%ss)\n' "redis-benchmark $(redis-benchmark --version | cut -d' ' -f2)" \
        default "$(grep -o '[0-9.]* requests per second' "$bench" | head -1)" "$((SECONDS - start))"
else
    printf 'FAIL  %-28s %-8s\n' "redis-benchmark" default
    tr '\r' '\n' <"$bench" | grep -v 'rps=' | sed 's/^/    /'
    exit 1
fi
stop_server

echo "== the README's quick start, exactly as printed, against numpool serve --demo on :7400"
mkdir "$work/readme"
start_numpool "$work/readme" --demo
python3 "$sessions/readme.py" "$root/README.md" "$(py redis8)" "$clients"
stop_server
echo "== client matrix: all green"
