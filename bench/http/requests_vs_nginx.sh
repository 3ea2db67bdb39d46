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
set -euo pipefail
export LC_ALL=C

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="${root}/bench/http"
build="${BUILD_DIR:-${root}/build-http}"
duration="${DURATION:-10}"
rounds="${ROUNDS:-2}"
conns="${CONNECTIONS:-64}"
wrk_threads="${WRK_THREADS:-2}"
server_threads="${SERVER_THREADS:-2}"
nginx_workers="${NGINX_WORKERS:-2}"
portail_port="${PORTAIL_PORT:-18490}"
nginx_port="${NGINX_PORT:-18491}"

for tool in wrk nginx curl cmake make awk python3; do
  command -v "${tool}" >/dev/null || {
    echo "missing ${tool}: run scripts/setup.sh --bench" >&2
    exit 2
  }
done
for port in "${portail_port}" "${nginx_port}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
    echo "port ${port} is already in use (set PORTAIL_PORT / NGINX_PORT)" >&2
    exit 2
  fi
done

tmp="$(mktemp -d /tmp/portail-requests-bench.XXXXXX)"
chmod 755 "${tmp}"
portail_pid=""
nginx_pid=""
failed=0

stop_pid() {  # pid signal seconds
  local pid="$1" sig="$2" secs="$3" i
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 0
  kill "-${sig}" "${pid}" 2>/dev/null || true
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "${pid}" 2>/dev/null && kill -KILL "${pid}" 2>/dev/null
  wait "${pid}" 2>/dev/null || true
}
cleanup() {
  set +e
  stop_pid "${nginx_pid}" QUIT 5
  stop_pid "${portail_pid}" TERM 15
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept ${tmp}"; else rm -rf "${tmp}"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! { cmake -S "${root}" -B "${build}" -DPORTAIL_BUILD_TESTS=OFF -DPORTAIL_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Release && make -C "${build}" -j"$(nproc)" portail; } >"${tmp}/build.log" 2>&1; then
  tail -30 "${tmp}/build.log" >&2
  echo "build failed" >&2
  exit 1
fi
bin="${build}/server/portail"
now_us() { echo "${EPOCHREALTIME/./}"; }

# ---------------------------------------------------------------------------------------------
# 1. portail with the demo town, then the data: an activity, the Martins' children enrolled, 240
# one-day requests (200 of them pending reservations, the page measured), and one request with
# 30 history entries (created, a decision, 28 messages).
"${bin}" serve --data "${tmp}/data" --listen "127.0.0.1:${portail_port}" --demo \
  --log-level warn --threads "${server_threads}" >"${tmp}/portail.out" 2>&1 &
portail_pid=$!
for ((i = 0; i < 600; i++)); do
  curl -sf -o /dev/null "http://127.0.0.1:${portail_port}/healthz" && break
  kill -0 "${portail_pid}" 2>/dev/null || { cat "${tmp}/portail.out" >&2; exit 1; }
  sleep 0.1
done

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
mkdir -p "${tmp}/www/api/v1/me" "${tmp}/www/api/v1/families/${family}/requests/${talk}"
curl -sf --max-time 10 -H "${auth}" -o "${tmp}/www/api/v1/me/requests" "${list_url}"
curl -sf --max-time 10 -H "${auth}" -o "${tmp}/www${history_path}" "${history_url}"
chmod -R a+rX "${tmp}/www"
python3 - "${tmp}/www/api/v1/me/requests" "${tmp}/www${history_path}" <<'EOF' || exit 1
import json, sys
rows = json.load(open(sys.argv[1]))["requests"]
entries = json.load(open(sys.argv[2]))["entries"]
assert len(rows) == 200, len(rows)
assert len(entries) == 30, len(entries)
EOF
mkdir -p "${tmp}/nginx"
{
  [[ "${EUID}" == 0 ]] && echo "user www-data;"
  cat <<EOF
daemon off;
worker_processes ${nginx_workers};
pid ${tmp}/nginx/nginx.pid;
error_log ${tmp}/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:${nginx_port};
    root ${tmp}/www;
  }
}
EOF
} >"${tmp}/nginx/nginx.conf"
nginx -e "${tmp}/nginx/error.log" -p "${tmp}/nginx" -c "${tmp}/nginx/nginx.conf" \
  >"${tmp}/nginx/stdout" 2>&1 &
nginx_pid=$!
nginx_list_url="http://127.0.0.1:${nginx_port}${list_path}"
nginx_history_url="http://127.0.0.1:${nginx_port}${history_path}"
for ((i = 0; i < 100; i++)); do
  curl -sf -o /dev/null "${nginx_list_url}" && break
  kill -0 "${nginx_pid}" 2>/dev/null || { cat "${tmp}/nginx/"{stdout,error.log} >&2; exit 1; }
  sleep 0.1
done
for pair in "${nginx_list_url} ${tmp}/www/api/v1/me/requests" \
  "${nginx_history_url} ${tmp}/www${history_path}"; do
  read -r url file <<<"${pair}"
  curl -sf --max-time 10 -o "${tmp}/check" "${url}"
  cmp -s "${tmp}/check" "${file}" || { echo "nginx body differs for ${url}" >&2; exit 1; }
done

hz="$(getconf CLK_TCK)"
cpu_now() {
  local pid total=0
  for pid in "$@"; do
    [[ -r "/proc/${pid}/stat" ]] || continue
    total=$((total + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/${pid}/stat")))
  done
  echo "${total}"
}
nginx_pids=()
nginx_pids_now() { mapfile -t nginx_pids < <(echo "${nginx_pid}"; pgrep -P "${nginx_pid}" || true); }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== portail $(git -C "${root}" describe --always --dirty 2>/dev/null || echo '?') --threads ${server_threads}; $(nginx -v 2>&1 | sed 's/.*: //') worker_processes ${nginx_workers}; $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo "== list body $(wc -c <"${tmp}/www/api/v1/me/requests") bytes (200 requests), history body $(wc -c <"${tmp}/www${history_path}") bytes (30 entries)"
echo "== wrk -t${wrk_threads} -c${conns} -d${duration}s --latency, same Authorization header to both"

run=0
result=""
run_wrk() {  # label url seconds pids...
  local label="$1" url="$2" secs="$3"
  shift 3
  run=$((run + 1))
  local out="${tmp}/wrk.${run}.${label}.txt" c0 c1 t0 t1 line
  c0="$(cpu_now "$@")"
  t0="$(now_us)"
  timeout $((secs + 30)) wrk -t"${wrk_threads}" -c"${conns}" -d"${secs}s" --latency \
    -s "${here}/report.lua" -H "${auth}" "${url}" >"${out}" 2>&1 || true
  t1="$(now_us)"
  c1="$(cpu_now "$@")"
  line="$(grep '^WRK_RESULT' "${out}" || true)"
  if [[ -z "${line}" ]]; then
    cat "${out}" >&2
    result="${label} 0 0 0 0 1"
    return
  fi
  result="$(awk -v label="${label}" -v line="${line}" -v c="$((c1 - c0))" -v hz="${hz}" \
    -v wall="$((t1 - t0))" 'BEGIN {
      n = split(line, kv, " ")
      for (i = 2; i <= n; i++) { split(kv[i], p, "="); r[p[1]] = p[2] }
      err = r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] + r["non2xx"]
      printf "%s %.0f %d %d %.0f %d\n", label, r["rps"], r["p50_us"], r["p99_us"],
             100 * c / hz / (wall / 1e6), err
    }')"
}
show() {
  awk '{printf "  %-16s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  server CPU %3.0f%%%s\n",
        $1, $2, $3 / 1000, $4 / 1000, $5, ($6 > 0 ? "  ERRORS " $6 : "")}' <<<"$1"
  [[ "$(awk '{print $6}' <<<"$1")" == 0 ]] || failed=1
}

echo
echo "== warm-up (2 s each, not recorded)"
nginx_pids_now
run_wrk warmup-nginx "${nginx_list_url}" 2 "${nginx_pids[@]}"
run_wrk warmup-portail "${list_url}" 2 "${portail_pid}"
results=()
for ((r = 1; r <= rounds; r++)); do
  run_wrk nginx-list "${nginx_list_url}" "${duration}" "${nginx_pids[@]}"
  show "${result}"; results+=("${r} ${result}")
  run_wrk portail-list "${list_url}" "${duration}" "${portail_pid}"
  show "${result}"; results+=("${r} ${result}")
  run_wrk nginx-history "${nginx_history_url}" "${duration}" "${nginx_pids[@]}"
  show "${result}"; results+=("${r} ${result}")
  run_wrk portail-history "${history_url}" "${duration}" "${portail_pid}"
  show "${result}"; results+=("${r} ${result}")
done

echo
echo "| round | server | req/s | p50 ms | p99 ms | server CPU % (of $(($(nproc) * 100))) |"
echo "|---|---|---:|---:|---:|---:|"
for x in "${results[@]}"; do
  awk '{printf "| %s | %s | %.0f | %.3f | %.3f | %.0f |\n", $1, $2, $3, $4 / 1000, $5 / 1000, $6}' <<<"${x}"
done
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
