#!/usr/bin/env bash
# The client matrix's scripted session for redis-cli, with -2 or -3, against `numpool serve --demo`:
# the steps of clients.py (auth, a pick in each fallback, sticky get/del, an error of each kind,
# a pipeline of 100, reconnect). Every redis-cli run is a new connection, so every step after the
# first is also a reconnect. RUN makes the recipients this run's own. Exits non-zero on a mismatch.
#
#   bash .ci/sessions/redis_cli_matrix.sh 2|3 PORT RUN
set -euo pipefail
proto=$1
port=$2
run=$3
[[ $proto == 2 || $proto == 3 ]] || { echo "protocol must be 2 or 3" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

anon=(redis-cli -"$proto" -p "$port")
cli=("${anon[@]}" --user demo0001 --pass demo-secret --no-auth-warning)
uk=$(printf '+44740010%04d' "$run")
us=$(printf '+1415555%04d' "$run")
fr=$(printf '+3361234%04d' "$run")
jp=$(printf '+8190123%05d' "$run")
fail=0
expect() {
  local want=$1; shift
  local got
  got=$("$@" 2>&1) || true
  if [[ $got != "$want" ]]; then
    printf 'FAIL: %s\n  want: %q\n  got:  %q\n' "$*" "$want" "$got"
    fail=1
  fi
}
# Like expect, but `want` is a bash pattern.
expect_match() {
  local want=$1; shift
  local got
  got=$("$@" 2>&1) || true
  # shellcheck disable=SC2053 # a pattern on purpose
  if [[ $got != $want ]]; then
    printf 'FAIL: %s\n  want pattern: %s\n  got:  %q\n' "$*" "$want" "$got"
    fail=1
  fi
}

echo "redis-cli $(redis-cli --version | cut -d' ' -f2) -$proto: expects RESP$proto"
echo "  auth (redis-cli's own handshake)"
expect "PONG" "${cli[@]}" PING
expect_match "id=* name= db=0 resp=$proto" "${cli[@]}" CLIENT INFO
if [[ $proto == 3 ]]; then
  # --no-raw shows the reply's type: a map is `1# key => value`.
  expect_match $'1# "server" => "numpool"\n2# "version" => "*"\n3# "proto" => (integer) 3\n4# "id" => (integer) *\n5# "mode" => "standalone"\n6# "role" => "master"\n7# "modules" => (empty array)' \
    "${cli[@]}" --no-raw HELLO 3
else
  expect_match $' 1) "server"\n 2) "numpool"\n 3) "version"\n 4) "*"\n 5) "proto"\n 6) (integer) 2\n 7) "id"\n*\n14) (empty array)' \
    "${cli[@]}" --no-raw HELLO 2
fi

echo "  a pick in each fallback"
sender=$("${cli[@]}" PICK demo "$uk")
[[ $sender == 44770090000[123] ]] || { echo "FAIL: PICK demo $uk gave $sender"; exit 1; }
expect $'14155550102\narea' "${cli[@]}" PICK demo "$us" NETWORK 311480 WITHREASON
expect "$sender"$'\nsticky' "${cli[@]}" PICK demo "$uk" WITHREASON
expect_match $'*\nany' "${cli[@]}" PICK demo "$jp" WITHREASON
expect "REJECTED no number for country FR" "${cli[@]}" PICK strict "$fr"
expect $'Numpool\ncustom_from' "${cli[@]}" PICK brand "$fr" WITHREASON
expect "Acme" "${cli[@]}" PICK brand "$fr" FROM Acme
expect_match $'44770090000[123]\ncountry' "${cli[@]}" PICK random "$uk" WITHREASON
expect_match $'44770090000[123]\ncountry' "${cli[@]}" PICK random "$uk" WITHREASON
if [[ $proto == 3 ]]; then
  expect "1# \"sender\" => \"$sender\""$'\n2# "reason" => "sticky"\n3# "wait_ms" => (integer) 0' \
    "${cli[@]}" --no-raw PICK demo "$uk" WITHINFO
else
  expect $'1) "sender"\n2) "'"$sender"$'"\n3) "reason"\n4) "sticky"\n5) "wait_ms"\n6) (integer) 0' \
    "${cli[@]}" --no-raw PICK demo "$uk" WITHINFO
fi

echo "  sticky get/del"
expect "$sender" "${cli[@]}" STICKY.GET demo "$uk"
expect "1" "${cli[@]}" STICKY.DEL demo "$uk"
expect "(nil)" "${cli[@]}" --no-raw STICKY.GET demo "$uk"
expect "0" "${cli[@]}" STICKY.DEL demo "$uk"
expect "(nil)" "${cli[@]}" --no-raw CLIENT GETNAME
expect_match $'# Server\r\nredis_version:7.2.0\r\n*' "${cli[@]}" INFO server

echo "  an error of each kind"
expect "NOPOOL pool 'nope' not found" "${cli[@]}" PICK nope "$uk"
expect "ERR invalid recipient '12ab'" "${cli[@]}" PICK demo 12ab
expect "ERR invalid sender 'much-too-long-sender'" "${cli[@]}" PICK brand "$fr" FROM much-too-long-sender
expect "ERR wrong number of arguments for 'pick' command" "${cli[@]}" PICK demo
expect "ERR syntax error" "${cli[@]}" PICK demo "$uk" BOGUS
expect "ERR unknown command 'FROBNICATE'" "${cli[@]}" FROBNICATE x
expect "ERR DB index is out of range" "${cli[@]}" SELECT 1
expect "NOAUTH Authentication required." "${anon[@]}" PICK demo "$uk"
# redis-cli reports a failed AUTH on stderr and runs the command anyway, unauthenticated.
"${anon[@]}" --user demo0001 --pass wrong-secret --no-auth-warning PICK demo "$uk" \
  >"$work/out" 2>"$work/err" || true
expect "AUTH failed: WRONGPASS invalid username-password pair or user is disabled." cat "$work/err"
expect "NOAUTH Authentication required." cat "$work/out"

echo "  a pipeline of 100"
for i in $(seq 0 99); do
  printf 'PICK demo +447922%03d%03d\r\n' "$run" "$i"
done >"$work/picks"
# --pipe writes everything before reading, and counts the replies and the errors.
expect_match $'All data transferred.*errors: 0, replies: 100' "${cli[@]}" --pipe <"$work/picks"
# The same 100 again, one command a line (replies in order), now sticky, with a rejection at 50.
{
  sed -n '1,49p' "$work/picks" | sed 's/\r$/ WITHREASON\r/'
  printf 'PICK strict %s\r\n' "$fr"
  sed -n '51,100p' "$work/picks" | sed 's/\r$/ WITHREASON\r/'
} >"$work/again"
"${cli[@]}" <"$work/again" >"$work/replies" 2>&1 || true
# 49 pairs, the rejection (and the empty line redis-cli prints after an error), 50 pairs:
# every pair a UK sender and `sticky`.
awk 'NR == 99 { if ($0 != "REJECTED no number for country FR") bad++; next }
     NR == 100 { if ($0 != "") bad++; next }
     { i = NR > 100 ? NR - 2 : NR }
     i % 2 == 1 && $0 !~ /^44770090000[123]$/ { bad++ }
     i % 2 == 0 && $0 != "sticky" { bad++ }
     END { if (NR != 200) bad++; exit (bad > 0) }' "$work/replies" \
  || { echo "FAIL: the second pipeline's replies:"; cat "$work/replies"; fail=1; }

echo "  reconnect"
first=$("${cli[@]}" CLIENT ID)
second=$("${cli[@]}" CLIENT ID)
[[ $first != "$second" ]] || { echo "FAIL: the same CLIENT ID twice"; fail=1; }
expect "$(sed -n 1p "$work/replies")"$'\nsticky' "${cli[@]}" PICK demo "$(printf '+447922%03d000' "$run")" WITHREASON

if [[ $fail == 0 ]]; then
  echo "redis-cli -$proto: session ok (RESP$proto)"
fi
exit $fail
