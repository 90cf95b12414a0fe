# Sourced by the CI scripts that drive a real server. Needs `root` (the checkout).
#
# start_numpool DIR ARGS...: runs `target/debug/numpool serve ARGS` in DIR (so whatever it writes
# stays there, with its output in DIR/stdout and DIR/stderr), waits for its ready line, and sets
# `server_pid` and `http` (the REST address). The caller's EXIT trap stops it.
start_numpool() {
    local dir=$1
    shift
    (cd "$dir" && exec "$root/target/debug/numpool" serve "$@" >"$dir/stdout" 2>"$dir/stderr") &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q '^numpool ready' "$dir/stdout" && break
        kill -0 "$server_pid" 2>/dev/null || { cat "$dir/stderr" >&2; exit 1; }
        sleep 0.1
    done
    http=$(sed -n 's/^numpool ready .*http=\([^ ]*\).*/\1/p' "$dir/stdout")
    [[ -n $http ]] || { echo "$0: numpool never became ready" >&2; exit 1; }
}
