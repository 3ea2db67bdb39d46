#!/usr/bin/env bash
# Two portail builds side by side (A = before, B = after) and nginx, under the same noise:
# GET /api/v1/me and GET /healthz on each build and nginx's static copy of the /me body, in
# alternating wrk runs, then /me of each build while a login storm hits that build.
#
# Usage (as root, after scripts/setup.sh --bench):
#   bench/http/ab_me.sh BIN_A BIN_B     # two `portail` binaries, e.g. build-base/server/portail
# Knobs (environment): DURATION=5 (s per wrk run) ROUNDS=3 CONNECTIONS=64 WRK_THREADS=2
#   SERVER_THREADS=2 NGINX_WORKERS=2 LOGIN_RATE=20 PORT_A=18482 PORT_B=18483 NGINX_PORT=18484
#   KEEP=1 (keep the temp dir with every wrk output)
# Loopback only; everything it starts is stopped and its temp dir removed on exit.
# shellcheck disable=SC2119  # lib.sh functions whose arguments are optional, called without
set -euo pipefail
# shellcheck source=bench/http/lib.sh
source "$(dirname "$0")/lib.sh"

bin_a="${1:?usage: ab_me.sh BIN_A BIN_B}"
bin_b="${2:?usage: ab_me.sh BIN_A BIN_B}"
duration="${DURATION:-5}"
rounds="${ROUNDS:-3}"
hash_threads=1  # not a knob here
login_rate="${LOGIN_RATE:-20}"
port_a="${PORT_A:-18482}"
port_b="${PORT_B:-18483}"
nginx_port="${NGINX_PORT:-18484}"
parent=("alice@demo.portail.test" "demo parent password")
agent=("agent@demo.portail.test" "demo agent password")

bench_require_tools wrk nginx curl awk
bench_check_ports "${port_a}" "${port_b}" "${nginx_port}"
bench_tmp_init portail-ab

use_portail() {  # a|b: the portail lib.sh's functions start and log in to
  if [[ "$1" == a ]]; then bin="${bin_a}" portail_port="${port_a}"; else bin="${bin_b}" portail_port="${port_b}"; fi
  portail_data="${tmp}/$1"
  portail_log="${tmp}/$1.out"
}
use_portail a; bench_start_portail
use_portail b; bench_start_portail
use_portail a; token_a="$(login_token "${parent[@]}")"
use_portail b; token_b="$(login_token "${parent[@]}")"

curl -sf -H "Authorization: Bearer ${token_b}" -o "${tmp}/me.json" \
  "http://127.0.0.1:${port_b}/api/v1/me"
bench_start_nginx /api/v1/me "${tmp}/me.json"

ab_run() {  # label token url → appends "label rps p50_us p99_us errors" to ${results}
  auth="Authorization: Bearer $2"
  run_wrk "$1" "$3" "${duration}"
  results+=("$(awk '{print $1, $2, $3, $4, $7}' <<<"${result}")")
}
storm() (  # port seconds out: one login every 1/LOGIN_RATE s, each in the background
  trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
  portail_port="$1"  # login's port, in this subshell only
  for ((i = 0; i < $2 * login_rate; i++)); do
    login "${agent[@]}" -o /dev/null -w '%{http_code} %{time_total}\n' >>"$3" &
    sleep "$(awk -v r="${login_rate}" 'BEGIN {printf "%.3f", 1 / r}')"
  done
  wait
)

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== A: ${bin_a}; B: ${bin_b}; wrk -t${wrk_threads} -c${conns} -d${duration}s, ${rounds} rounds"
ng="http://127.0.0.1:${nginx_port}/api/v1/me"
results=()
auth="Authorization: Bearer ${token_a}"
run_wrk warmup "${ng}" "${duration}"
for ((r = 1; r <= rounds; r++)); do
  ab_run nginx "${token_b}" "${ng}"
  ab_run A-me "${token_a}" "http://127.0.0.1:${port_a}/api/v1/me"
  ab_run B-me "${token_b}" "http://127.0.0.1:${port_b}/api/v1/me"
  ab_run A-healthz "${token_a}" "http://127.0.0.1:${port_a}/healthz"
  ab_run B-healthz "${token_b}" "http://127.0.0.1:${port_b}/healthz"
  for side in A B; do
    port="${port_a}" token="${token_a}"
    [[ "${side}" == B ]] && port="${port_b}" token="${token_b}"
    f="${tmp}/storm.${side}.${r}"
    : >"${f}"
    storm "${port}" $((duration + 1)) "${f}" &
    spid=$!
    bench_own "${spid}" TERM 5
    ab_run "${side}-me+storm" "${token}" "http://127.0.0.1:${port}/api/v1/me"
    wait "${spid}" || true
    bench_disown "${spid}"
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
