#!/usr/bin/env bash
# `portail admin add-agent`: creates an agent from a password on stdin, refuses a taken e-mail,
# a weak password and a bad e-mail with exit code 2 or 1 and a clear message; the agent can then
# log in through the server.
set -euo pipefail
portail="$1"
dir=$(mktemp -d)
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$(echo "agent staple battery" | "$portail" admin add-agent agnes@mairie.test --data "$dir/data") \
  || fail "add-agent exited $?"
[[ "$out" == *"agent agnes@mairie.test created"* ]] || fail "unexpected output: $out"

set +e
err=$(echo "agent staple battery" | "$portail" admin add-agent AGNES@mairie.test --data "$dir/data" 2>&1)
code=$?
set -e
[[ $code -eq 1 && "$err" == *"already uses this e-mail"* ]] || fail "taken e-mail: $code $err"

set +e
err=$(echo "short" | "$portail" admin add-agent other@mairie.test --data "$dir/data" 2>&1)
code=$?
set -e
[[ $code -eq 2 && "$err" == *"at least 12 characters"* ]] || fail "weak password: $code $err"

set +e
err=$(echo "agent staple battery" | "$portail" admin add-agent not-an-email --data "$dir/data" 2>&1)
code=$?
set -e
[[ $code -eq 2 && "$err" == *"not a valid e-mail"* ]] || fail "bad e-mail: $code $err"

echo "auditor staple battery" | "$portail" admin add-agent audit@mairie.test --role auditor \
  --data "$dir/data" >/dev/null || fail "auditor"

# A port below Linux's ephemeral range (32768+), where the other tests' servers listen; a new
# one if it is taken. Up to 30 s to start: CI runs this beside other tests on two cores.
up=
for _ in 1 2 3; do
  port=$((20000 + RANDOM % 12000))
  "$portail" serve --data "$dir/data" --listen "127.0.0.1:$port" --log-level warn \
    >"$dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    curl -s "http://127.0.0.1:$port/healthz" >/dev/null && up=1 && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  [[ -n "$up" ]] && break
  wait "$server_pid" 2>/dev/null || true
done
[[ -n "$up" ]] || fail "the server did not start: $(cat "$dir/server.log")"
login=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/sessions" -H 'Content-Type: application/json' \
  -d '{"email":"agnes@mairie.test","password":"agent staple battery"}')
[[ "$login" == *'"role":"agent"'* ]] || fail "agent login: $login"
login=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/sessions" -H 'Content-Type: application/json' \
  -d '{"email":"audit@mairie.test","password":"auditor staple battery"}')
[[ "$login" == *'"role":"auditor"'* ]] || fail "auditor login: $login"
kill -TERM "$server_pid"
wait "$server_pid" || fail "server did not stop cleanly: $(cat "$dir/server.log")"
server_pid=
echo "1 passed, 0 failed"
