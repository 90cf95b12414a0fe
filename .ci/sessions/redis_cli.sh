#!/usr/bin/env bash
# The README's quick start, as a new user would type it: redis-cli against `numpool serve --demo`
# on the default ports. Every line's output is checked.
set -euo pipefail
port=${1:-7400}
cli=(redis-cli -p "$port" --user demo0001 --pass demo-secret --no-auth-warning)
fail=0
expect() {
  local want=$1; shift
  local got
  got=$("$@" 2>&1) || true
  if [ "$got" != "$want" ]; then
    printf 'FAIL: %s\n  want: %q\n  got:  %q\n' "$*" "$want" "$got"
    fail=1
  else
    printf 'ok: %s\n' "$*"
  fi
}
expect "PONG" redis-cli -p "$port" PING
expect "NOAUTH Authentication required." redis-cli -p "$port" PICK demo +447400123459
expect $'447700900001\ncountry' "${cli[@]}" PICK demo +447400123459 WITHREASON
expect $'447700900001\nsticky' "${cli[@]}" PICK demo +447400123459 WITHREASON
expect $'14155550102\narea' "${cli[@]}" PICK demo +14155559999 NETWORK 311480 WITHREASON
expect "REJECTED no number for country FR" "${cli[@]}" PICK strict +33612345678
expect $'Numpool\ncustom_from' "${cli[@]}" PICK brand +33612345678 WITHREASON
expect "447700900001" "${cli[@]}" STICKY.GET demo +447400123459
expect "1" "${cli[@]}" STICKY.DEL demo +447400123459
expect "" "${cli[@]}" STICKY.GET demo +447400123459
expect "NOPOOL pool 'nope' not found" "${cli[@]}" PICK nope +447400123459
expect "ERR invalid recipient '12ab'" "${cli[@]}" PICK demo 12ab
expect $'OK\n447700900001' bash -c "printf 'AUTH demo0001 demo-secret\nPICK demo +447400123459\n' | redis-cli -p $port"
exit $fail
