#!/usr/bin/env bash
# numpool's own OpenAPI document (docs/openapi.json) as a client author uses it: generates a
# Python client with openapi-python-client, starts `numpool serve --demo`, and runs
# .ci/sessions/openapi_client.py with the typed client (inventory, pool, a 207 partial add read
# from its typed body, problems read as the typed Problem). Fails on any mismatch.
#
#   .ci/openapi_client.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; then
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A virtualenv of its own: the generator pins its own typer, pydantic and ruff-free templates,
# which must not disturb the packages other CI steps install.
python3 -m venv "$work/venv"
pip=("$work/venv/bin/pip" install --quiet --disable-pip-version-check)
"${pip[@]}" 'openapi-python-client==0.29.1'

# No post hooks: the default ones run ruff, which CI does not install and the client does not need.
cat >"$work/generator.yml" <<'YML'
project_name_override: numpool-client
package_name_override: numpool_client
post_hooks: []
YML
# A warning means a part of the document the generator skipped: a client missing an operation
# or a body is what this check exists to catch, so it fails.
"$work/venv/bin/openapi-python-client" generate --path "$root/docs/openapi.json" \
    --config "$work/generator.yml" --output-path "$work/client" >"$work/generate.log" 2>&1 \
    || { cat "$work/generate.log" >&2; exit 1; }
if grep -qi 'warning' "$work/generate.log"; then
    cat "$work/generate.log" >&2
    echo "openapi_client: the generator warned about docs/openapi.json" >&2
    exit 1
fi
"${pip[@]}" "$work/client"

cargo build --quiet -p numpool --bin numpool
source "$root/.ci/lib/serve.sh"
start_numpool "$work" --demo --resp 127.0.0.1:0 --http 127.0.0.1:0

"$work/venv/bin/python" "$root/.ci/sessions/openapi_client.py" "http://$http" demo0001 demo-secret
