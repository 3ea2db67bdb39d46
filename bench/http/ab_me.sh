#!/usr/bin/env bash
# Two portail builds side by side (A = before, B = after) and nginx, under the same noise:
# GET /api/v1/me and GET /healthz on each build and nginx's static copy of the /me body, in
# alternating wrk runs, then /me of each build while a login storm hits that build.
#
# Usage (as root, after scripts/setup.sh --bench):
#   bench/http/ab_me.sh BIN_A BIN_B     # two `portail` binaries, e.g. build-base/server/portail
# Knobs (environment): DURATION=5 (s per wrk run) ROUNDS=3 CONNECTIONS=64 WRK_THREADS=2
#   SERVER_THREADS=2 NGINX_WORKERS=2 LOGIN_RATE=20 PORT_A=18482 PORT_B=18483 NGINX_PORT=18484
# Loopback only; everything it starts is stopped and its temp dir removed on exit.
set -euo pipefail
export LC_ALL=C

bin_a="${1:?usage: ab_me.sh BIN_A BIN_B}"
bin_b="${2:?usage: ab_me.sh BIN_A BIN_B}"
here="$(cd "$(dirname "$0")" && pwd)"
duration="${DURATION:-5}"
rounds="${ROUNDS:-3}"
conns="${CONNECTIONS:-64}"
wrk_threads="${WRK_THREADS:-2}"
server_threads="${SERVER_THREADS:-2}"
nginx_workers="${NGINX_WORKERS:-2}"
login_rate="${LOGIN_RATE:-20}"
port_a="${PORT_A:-18482}"
port_b="${PORT_B:-18483}"
nginx_port="${NGINX_PORT:-18484}"
parent='{"email":"alice@demo.portail.test","password":"demo parent password"}'
agent='{"email":"agent@demo.portail.test","password":"demo agent password"}'

tmp="$(mktemp -d /tmp/portail-ab.XXXXXX)"
chmod 755 "${tmp}"
pids=()
cleanup() {
  set +e
  for pid in "${pids[@]}"; do kill -TERM "${pid}" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "${pid}" 2>/dev/null; done
  rm -rf "${tmp}"
}
trap cleanup EXIT

start_portail() {  # name bin port
  "$2" serve --data "${tmp}/$1" --listen "127.0.0.1:$3" --demo --log-level warn \
    --threads "${server_threads}" --hash-threads 1 >"${tmp}/$1.out" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 600; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$3/healthz" && return 0
    sleep 0.1
  done
  cat "${tmp}/$1.out" >&2
  exit 1
}
login() {  # port body
  curl -s --max-time 60 -X POST "http://127.0.0.1:$1/api/v1/sessions" \
    -H 'Content-Type: application/json' -d "$2" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
start_portail a "${bin_a}" "${port_a}"
start_portail b "${bin_b}" "${port_b}"
token_a="$(login "${port_a}" "${parent}")"
token_b="$(login "${port_b}" "${parent}")"
[[ -n "${token_a}" && -n "${token_b}" ]] || { echo "login failed" >&2; exit 1; }

mkdir -p "${tmp}/www/api/v1" "${tmp}/nginx"
curl -sf -H "Authorization: Bearer ${token_b}" -o "${tmp}/www/api/v1/me" \
  "http://127.0.0.1:${port_b}/api/v1/me"
chmod -R a+rX "${tmp}/www"
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
  server { listen 127.0.0.1:${nginx_port}; root ${tmp}/www; }
}
EOF
} >"${tmp}/nginx/nginx.conf"
nginx -e "${tmp}/nginx/error.log" -p "${tmp}/nginx" -c "${tmp}/nginx/nginx.conf" \
  >"${tmp}/nginx/stdout" 2>&1 &
pids+=($!)
for ((i = 0; i < 100; i++)); do
  curl -sf -o /dev/null "http://127.0.0.1:${nginx_port}/api/v1/me" && break
  sleep 0.1
done

# label token url → "label rps p50_us p99_us errors"
run() {
  local out
  out="$(timeout $((duration + 30)) wrk -t"${wrk_threads}" -c"${conns}" -d"${duration}s" \
    --latency -s "${here}/report.lua" -H "Authorization: Bearer $2" "$3" 2>&1 |
    grep '^WRK_RESULT' || true)"
  awk -v label="$1" -v line="${out}" 'BEGIN {
    n = split(line, kv, " "); for (i = 2; i <= n; i++) { split(kv[i], p, "="); r[p[1]] = p[2] }
    printf "%s %.0f %d %d %d\n", label, r["rps"], r["p50_us"], r["p99_us"],
      r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] + r["non2xx"] }'
}
storm() (  # port seconds out: one login every 1/LOGIN_RATE s, each in the background
  trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
  for ((i = 0; i < $2 * login_rate; i++)); do
    curl -s -o /dev/null --max-time 60 -X POST "http://127.0.0.1:$1/api/v1/sessions" \
      -H 'Content-Type: application/json' -d "${agent}" -w '%{http_code} %{time_total}\n' >>"$3" &
    sleep "$(awk -v r="${login_rate}" 'BEGIN {printf "%.3f", 1 / r}')"
  done
  wait
)

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== A: ${bin_a}; B: ${bin_b}; wrk -t${wrk_threads} -c${conns} -d${duration}s, ${rounds} rounds"
ng="http://127.0.0.1:${nginx_port}/api/v1/me"
results=()
run warmup "${token_a}" "${ng}" >/dev/null
for ((r = 1; r <= rounds; r++)); do
  results+=("$(run nginx "${token_b}" "${ng}")")
  results+=("$(run A-me "${token_a}" "http://127.0.0.1:${port_a}/api/v1/me")")
  results+=("$(run B-me "${token_b}" "http://127.0.0.1:${port_b}/api/v1/me")")
  results+=("$(run A-healthz "${token_a}" "http://127.0.0.1:${port_a}/healthz")")
  results+=("$(run B-healthz "${token_b}" "http://127.0.0.1:${port_b}/healthz")")
  for side in A B; do
    port="${port_a}" token="${token_a}"
    [[ "${side}" == B ]] && port="${port_b}" token="${token_b}"
    f="${tmp}/storm.${side}.${r}"
    : >"${f}"
    storm "${port}" $((duration + 1)) "${f}" &
    spid=$!
    results+=("$(run "${side}-me+storm" "${token}" "http://127.0.0.1:${port}/api/v1/me")")
    wait "${spid}" || true
    results+=("$(awk '$1 == 201 {print $2 * 1000}' "${f}" | sort -n | awk -v s="${side}-logins" '
      {v[NR] = $1}
      END {i = int(NR * 0.99); if (i < NR * 0.99) i++; if (NR) printf "%s round %d: %d OK, p50 %d ms, p99 %d ms\n", s, r, NR, v[int((NR + 1) / 2)], v[i]}' r="${r}")")
  done
done
echo
echo "| run | req/s | p50 ms | p99 ms | errors |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${results[@]}" | grep -v -- '-logins' |
  awk '{printf "| %s | %.0f | %.3f | %.3f | %d |\n", $1, $2, $3 / 1000, $4 / 1000, $5}'
echo
printf '%s\n' "${results[@]}" | grep -v -- '-logins' | awk '
  { rps[$1] += $2; p99[$1] += $4; n[$1]++ }
  END {
    for (k in n) printf "mean %-12s %8.0f req/s  p99 %.3f ms  (/ nginx %.2f)\n", k, rps[k] / n[k], p99[k] / n[k] / 1000, (rps[k] / n[k]) / (rps["nginx"] / n["nginx"])
  }' | sort
printf '%s\n' "${results[@]}" | grep -- '-logins' | sed 's/^/logins during wrk: /'
