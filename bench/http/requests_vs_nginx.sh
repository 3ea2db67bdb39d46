#!/usr/bin/env bash
# "Mes demandes" over HTTP (issue 6): GET /api/v1/me/requests (a page of 200 requests, filtered)
# and GET .../requests/{id}/history (30 entries) on portail, each beside nginx serving the same
# bytes as a static file at the same path, alternating, in the same run.
#
# Usage (as root, after scripts/setup.sh --bench): bench/http/requests_vs_nginx.sh
# Knobs (environment): DURATION=10 (s per wrk run) ROUNDS=2 CONNECTIONS=64 WRK_THREADS=2
#   SERVER_THREADS=2 NGINX_WORKERS=2 PORTAIL_PORT=18490 NGINX_PORT=18491
#   BUILD_DIR=build-http KEEP=1 (keep the temp dir with every wrk output).
# Loopback only; builds portail (Release) in BUILD_DIR first. Everything it starts (portail,
# nginx, wrk) is stopped and its temp dir removed on exit.
# shellcheck disable=SC2119  # lib.sh functions whose arguments are optional, called without
set -euo pipefail
# shellcheck source=bench/http/lib.sh
source "$(dirname "$0")/lib.sh"

portail_port="${PORTAIL_PORT:-18490}"
nginx_port="${NGINX_PORT:-18491}"
hash_threads=1  # portail's default; HASH_THREADS is not a knob here

bench_require_tools wrk nginx curl cmake make awk python3
bench_check_ports "${portail_port}" "${nginx_port}"
bench_tmp_init portail-requests-bench
bench_build

# ---------------------------------------------------------------------------------------------
# 1. portail with the demo town, then the data: an activity, the Martins' children enrolled, 240
# one-day requests (200 of them pending reservations, the page measured), and one request with
# 30 history entries (created, a decision, 28 messages).
bench_start_portail

setup_out="$(python3 - "${portail_port}" <<'EOF'
import datetime, json, sys, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
def call(method, path, token=None, body=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token: req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null")
def login(email, password):
    return call("POST", "/api/v1/sessions", body={"email": email, "password": password})["token"]
parent = login("alice@demo.portail.test", "demo parent password")
agent = login("agent@demo.portail.test", "demo agent password")
family = call("GET", "/api/v1/me", parent)["subscriptions"][0]
family = family["family_id"] if isinstance(family, dict) else family
dossier = call("GET", "/api/v1/families/%s/dossier" % family, parent)
children = [m["id"] for m in dossier["members"] if m["kind"] == "child"][:2]
activity = call("POST", "/api/v1/agent/activities", agent, {
    "name": "Cantine", "kind": "canteen", "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
    "capacity": 100, "mode": "agent",
    "reservation_notice": {"days": 1, "at": "15:00"}, "absence_notice": {"days": 1, "at": "15:00"}})["id"]
start = datetime.date.today() + datetime.timedelta(days=3)
for c in children:
    call("POST", "/api/v1/agent/families/%s/children/%s/enrolments" % (family, c), agent, {
        "activity_id": activity, "from": start.isoformat(),
        "to": (start + datetime.timedelta(days=200)).isoformat(),
        "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]})
def submit(child, day):
    return call("POST", "/api/v1/families/%s/requests" % family, parent, {
        "kind": "reservation", "children": [child], "activities": [activity],
        "from": day.isoformat(), "to": day.isoformat()})["request_id"]
# The history's request first (oldest), then 40 decided ones, then 200 pending (the newest).
talk = submit(children[0], start)
call("POST", "/api/v1/agent/requests/%s/decisions" % talk, agent, {"decisions": [{
    "child_id": children[0], "activity_id": activity, "date": start.isoformat(),
    "outcome": "refuse", "reason": "complet"}]})
for i in range(28):
    who = agent if i % 2 == 0 else parent
    call("POST", "/api/v1/families/%s/requests/%s/messages" % (family, talk), who,
         {"text": "Message %d : pouvez-vous confirmer la présence de l'enfant ce jour-là ?" % i})
n = 0
for i in range(120):
    for c in children:
        day = start + datetime.timedelta(days=1 + i)
        rid = submit(c, day)
        if n < 40:
            call("POST", "/api/v1/agent/requests/%s/decisions" % rid, agent, {"decisions": [{
                "child_id": c, "activity_id": activity, "date": day.isoformat(), "outcome": "accept"}]})
        n += 1
print(parent, family, talk)
EOF
)" || { echo "setup failed" >&2; cat "${tmp}/portail.out" >&2; exit 1; }
read -r token family talk <<<"${setup_out}"
auth="Authorization: Bearer ${token}"
list_path="/api/v1/me/requests?kind=reservation&state=pending&limit=200"
history_path="/api/v1/families/${family}/requests/${talk}/history"
list_url="http://127.0.0.1:${portail_port}${list_path}"
history_url="http://127.0.0.1:${portail_port}${history_path}"
curl -sf --max-time 10 -H "${auth}" -o /dev/null "${history_url}"  # marks it read once

# nginx serves the same bytes at the same paths (the list's query string is ignored by nginx).
curl -sf --max-time 10 -H "${auth}" -o "${tmp}/list.json" "${list_url}"
curl -sf --max-time 10 -H "${auth}" -o "${tmp}/history.json" "${history_url}"
python3 - "${tmp}/list.json" "${tmp}/history.json" <<'EOF' || exit 1
import json, sys
rows = json.load(open(sys.argv[1]))["requests"]
entries = json.load(open(sys.argv[2]))["entries"]
assert len(rows) == 200, len(rows)
assert len(entries) == 30, len(entries)
EOF
bench_start_nginx "${list_path}" "${tmp}/list.json" "${history_path}" "${tmp}/history.json"
nginx_list_url="${nginx_url}"
nginx_history_url="http://127.0.0.1:${nginx_port}${history_path}"

bench_machine_line --no-kernel
bench_versions_line "--threads ${server_threads}"
echo "== list body $(wc -c <"${tmp}/list.json") bytes (200 requests), history body $(wc -c <"${tmp}/history.json") bytes (30 entries)"
bench_wrk_line ""

show_label_width=16  # this script's result lines: wider, and no machine busy column
show_ms_width=7
show_machine=0

bench_warmup "${nginx_list_url}" "${list_url}"
results=()
for ((r = 1; r <= rounds; r++)); do
  measure "${r}" nginx-list "${nginx_list_url}" "${nginx_pids[@]}"
  measure "${r}" portail-list "${list_url}" "${portail_pid}"
  measure "${r}" nginx-history "${nginx_history_url}" "${nginx_pids[@]}"
  measure "${r}" portail-history "${history_url}" "${portail_pid}"
done

echo
bench_results_table
printf '%s\n' "${results[@]}" | awk '
  { rps[$2] += $3; p99[$2] += $5; n[$2]++ }
  END {
    for (s in n) printf "| mean | %s | %.0f | | %.3f | |\n", s, rps[s] / n[s], p99[s] / n[s] / 1000
    printf "\nportail / nginx req/s: list %.2f, history %.2f\n",
      (rps["portail-list"] / n["portail-list"]) / (rps["nginx-list"] / n["nginx-list"]),
      (rps["portail-history"] / n["portail-history"]) / (rps["nginx-history"] / n["nginx-history"])
  }'
head_after="$(curl -s "http://127.0.0.1:${portail_port}/healthz")"
echo "== after the runs: ${head_after} (the history was read once before: GETs append nothing)"
if [[ "${failed}" != 0 ]]; then
  echo "SOME RUNS HAD ERRORS OR NON-2XX ANSWERS: the figures above are not valid" >&2
  exit 1
fi
