#!/usr/bin/env bash
# GET /api/v1/me (and GET /healthz, the server's ceiling) on portail beside nginx serving the same
# bytes as a static file, then /me while a background loop logs in ~20 times a second (the
# accounts issue's HTTP benchmarks).
#
# Usage (as root, after scripts/setup.sh --bench): bench/http/me_vs_nginx.sh
# Knobs (environment): DURATION=10 (s per wrk run) ROUNDS=2 CONNECTIONS=64 WRK_THREADS=2
#   SERVER_THREADS=2 (portail --threads) NGINX_WORKERS=2 HASH_THREADS=1 (portail --hash-threads)
#   LOGIN_RATE=20 (logins/s) STORM_ALONE=5 (s of logins without wrk) STORM_ACCOUNT=agent|parent
#   (who the storm logs in; default the agent, not the parent whose /me is measured: see
#   SESSION_STEPS) SESSION_STEPS="0 50 200" (extra sessions of the parent before each /me run of
#   the last phase; "" skips it) PORTAIL_PORT=18480 NGINX_PORT=18481 BUILD_DIR=build-http
#   KEEP=1 (keep the temp dir with every wrk output).
# Loopback only; builds portail (Release) in BUILD_DIR first; about 3 minutes with the defaults.
# Everything it starts (portail, nginx, curl, wrk) is stopped and its temp dir removed on exit.
# shellcheck disable=SC2119  # lib.sh functions whose arguments are optional, called without
set -euo pipefail
# shellcheck source=bench/http/lib.sh
source "$(dirname "$0")/lib.sh"

login_rate="${LOGIN_RATE:-20}"
storm_alone="${STORM_ALONE:-5}"
portail_port="${PORTAIL_PORT:-18480}"
nginx_port="${NGINX_PORT:-18481}"
storm_account="${STORM_ACCOUNT:-agent}"
session_steps="${SESSION_STEPS-0 50 200}"
parent=("alice@demo.portail.test" "demo parent password")
agent=("agent@demo.portail.test" "demo agent password")
if [[ "${storm_account}" == parent ]]; then storm_who=("${parent[@]}"); else storm_who=("${agent[@]}"); fi

bench_require_tools wrk nginx curl cmake make awk
bench_check_ports "${portail_port}" "${nginx_port}"

# ---------------------------------------------------------------------------------------------
# Temp dir and cleanup (the storm, nginx, then portail), then the build (incremental).
bench_tmp_init
bench_build

# ---------------------------------------------------------------------------------------------
# 1. portail with the demo town; log in; save the /me body. Then nginx serving those bytes.
bench_start_portail
token="$(login_token "${parent[@]}")"
auth="Authorization: Bearer ${token}"
me_url="http://127.0.0.1:${portail_port}/api/v1/me"
healthz_url="http://127.0.0.1:${portail_port}/healthz"  # the ceiling: Beast, router, metrics, no auth
curl -sf --max-time 10 -H "${auth}" -o "${tmp}/me.json" "${me_url}"
bench_start_nginx /api/v1/me "${tmp}/me.json"

bench_machine_line
bench_versions_line
echo "== /me body: $(wc -c <"${tmp}/me.json") bytes; response header+body: portail $(sizes "${me_url}"), nginx $(sizes "${nginx_url}"); portail /healthz $(sizes "${healthz_url}")"
bench_wrk_line

# ---------------------------------------------------------------------------------------------
# 2. Alternating nginx / portail.
bench_warmup "${nginx_url}" "${me_url}"
echo "== nginx (static file), portail GET /api/v1/me and portail GET /healthz (no auth), alternating"
results=()
for ((r = 1; r <= rounds; r++)); do
  measure "${r}" nginx "${nginx_url}" "${nginx_pids[@]}"
  measure "${r}" portail "${me_url}" "${portail_pid}"
  measure "${r}" healthz "${healthz_url}" "${portail_pid}"
done

# ---------------------------------------------------------------------------------------------
# 3. Login storm: an open-loop pacer starts one login every 1/LOGIN_RATE s (each curl in the
# background, so slow answers do not slow the pacer) and records "launch_us http_code seconds".
storm() (  # seconds out; a subshell, so its TERM trap stays its own
  secs="$1" out="$2" period=$((1000000 / login_rate))
  trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
  start="$(now_us)"
  for ((i = 0; i < secs * login_rate; i++)); do
    due=$((start + i * period))
    gap=$((due - $(now_us)))
    if ((gap > 0)); then sleep "$(printf '%d.%06d' $((gap / 1000000)) $((gap % 1000000)))"; fi
    login "${storm_who[@]}" -o /dev/null -w "$(now_us) %{http_code} %{time_total}\n" >>"${out}" &
  done
  wait
)
# Logins of a storm file launched in [from_us, to_us): launched, offered/s, OK (201), OK completed
# inside the window per second, latency p50/p99/max ms (of the OK ones), other status codes.
storm_stats() {  # file from_us to_us
  local pct
  pct="$(awk -v from="$2" -v to="$3" '$1 >= from && $1 < to && $2 == 201 {print $3 * 1000}' "$1" |
    sort -n | awk '{v[NR] = $1}
      function at(q,  i) { i = int(NR * q); if (i < NR * q) i++; return v[i] }
      END { if (NR == 0) print "- - -"; else printf "%.0f %.0f %.0f\n", at(0.5), at(0.99), v[NR] }')"
  awk -v from="$2" -v to="$3" -v pct="${pct}" '
    $1 >= from && $1 < to {
      n++; if (first == "" || $1 < first) first = $1; if ($1 > last) last = $1
      if ($2 == 201) { ok++; if ($1 + $3 * 1e6 <= to) in_window++ } else other[$2]++
    }
    END {
      codes = ""; for (c in other) codes = codes c "x" other[c] ","
      printf "%d %.1f %d %.1f %s %s\n", n, (n > 1 ? (n - 1) / ((last - first) / 1e6) : 0),
             ok, in_window / ((to - from) / 1e6), pct, (codes == "" ? "-" : codes)
    }' "$1"
}
show_storm() {  # label stats
  local label="$1"
  shift
  awk -v label="${label}" '{printf "  %-14s logins launched %d (%.1f/s offered), OK %d, OK done in window %.1f/s, latency p50 %s ms p99 %s ms max %s ms, other codes %s\n",
        label, $1, $2, $3, $4, $5, $6, $7, $8}' <<<"$*"
}

echo
echo "== login storm: ${login_rate} logins/s offered (POST /api/v1/sessions as ${storm_who[0]}, right password, --hash-threads ${hash_threads})"
one_by_one="$(for ((i = 0; i < 5; i++)); do
  login "${storm_who[@]}" -o /dev/null -w '%{time_total}\n'
done | sort -n | awk 'NR == 3 {printf "%.0f", $1 * 1000}')"
echo "  one at a time  login latency, median of 5 sequential logins: ${one_by_one} ms (no queue)"
f="${tmp}/storm.alone"
: >"${f}"
t0="$(now_us)"
storm "${storm_alone}" "${f}"
t1="$(now_us)"
storm_only="$(storm_stats "${f}" "${t0}" "${t1}")"
show_storm "logins only" "${storm_only}"

storm_results=()
for ((r = 1; r <= rounds; r++)); do
  run_wrk me-alone "${me_url}" "${duration}" "${portail_pid}"
  show "${result}"; check "${result}"; storm_results+=("${r} ${result} -")

  f="${tmp}/storm.${r}"
  : >"${f}"
  storm $((duration + 2)) "${f}" &
  storm_pid=$!
  bench_own "${storm_pid}" TERM 5
  sleep 1
  w0="$(now_us)"
  run_wrk me+storm "${me_url}" "${duration}" "${portail_pid}"
  w1="$(now_us)"
  wait "${storm_pid}" || true  # lets the last logins finish (curl --max-time 60)
  bench_disown "${storm_pid}"
  stats="$(storm_stats "${f}" "${w0}" "${w1}")"
  show "${result}"; check "${result}"
  show_storm "  its logins" "${stats}"
  storm_results+=("${r} ${result} ${stats}")
done

# ---------------------------------------------------------------------------------------------
# 4. /me against the number of live sessions of the same account: each login of the parent adds a
# session that stays live (no logout) for its 30 min idle / 12 h absolute lifetime.
session_results=()
if [[ -n "${session_steps}" ]]; then
  echo
  echo "== GET /api/v1/me after more logins of the same parent (no logout)"
  made=0
  for step in ${session_steps}; do
    if ((step > made)); then
      ok="$({
        for ((i = made; i < step; i++)); do  # 4 at a time: keeps the hash worker busy
          login "${parent[@]}" -o /dev/null -w '%{http_code}\n' &
          if (((i - made) % 4 == 3)); then wait; fi
        done
        wait
      } | grep -c '^201$' || true)"
      ((ok == step - made)) || { echo "  only ${ok} of $((step - made)) logins succeeded" >&2; failed=1; }
      made="${step}"
    fi
    run_wrk "me-sessions-$((step + 1))" "${me_url}" "${duration}" "${portail_pid}"
    show "${result}"; check "${result}"; session_results+=("$((step + 1)) ${result}")
  done
fi

# ---------------------------------------------------------------------------------------------
# Tables (markdown) and server-side figures.
echo
echo "== summary"
echo
bench_results_table
printf '%s\n' "${results[@]}" | awk '
  { rps[$2] += $3; p50[$2] += $4; p99[$2] += $5; n[$2]++; per[$1, $2] = $3 }
  END {
    for (s in n) printf "| mean | %s | %.0f | %.3f | %.3f | | |\n", s, rps[s] / n[s], p50[s] / n[s] / 1000, p99[s] / n[s] / 1000
    printf "\nportail /me / nginx req/s: %.2f (mean)", (rps["portail"] / n["portail"]) / (rps["nginx"] / n["nginx"])
    for (r = 1; (r, "nginx") in per; r++) printf ", round %d: %.2f", r, per[r, "portail"] / per[r, "nginx"]
    printf "\nportail /healthz / nginx req/s: %.2f (mean)", (rps["healthz"] / n["healthz"]) / (rps["nginx"] / n["nginx"])
    for (r = 1; (r, "nginx") in per; r++) printf ", round %d: %.2f", r, per[r, "healthz"] / per[r, "nginx"]
    printf "\n"
  }'
echo
echo "| round | /me | req/s | p50 ms | p99 ms | logins offered/s | logins OK done in window /s | login p50 ms | login p99 ms | login max ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for x in "${storm_results[@]}"; do
  awk '{ if ($9 == "-") printf "| %s | alone | %.0f | %.3f | %.3f | | | | | |\n", $1, $3, $4 / 1000, $5 / 1000
         else printf "| %s | with storm | %.0f | %.3f | %.3f | %.1f | %.1f | %s | %s | %s |\n", $1, $3, $4 / 1000, $5 / 1000, $10, $12, $13, $14, $15 }' <<<"${x}"
done
awk '{printf "| - | (logins only, %s s) | | | | %.1f | %.1f | %s | %s | %s |\n", s, $2, $4, $5, $6, $7}' s="${storm_alone}" <<<"${storm_only}"
echo "| - | (5 logins one at a time) | | | | | | ${one_by_one} | | |"

if ((${#session_results[@]} > 0)); then
  echo
  echo "| live sessions of the parent | /me req/s | p50 ms | p99 ms | server CPU % |"
  echo "|---:|---:|---:|---:|---:|"
  for x in "${session_results[@]}"; do
    awk '{printf "| %s | %.0f | %.3f | %.3f | %.0f |\n", $1, $3, $4 / 1000, $5 / 1000, $6}' <<<"${x}"
  done
fi

echo
echo "== portail's own histogram (GET /metrics, whole run): mean time from parsed request to response"
curl -s --max-time 10 "http://127.0.0.1:${portail_port}/metrics" | awk '
  /^portail_http_request_seconds_sum\{route="\/api\/v1\/(me|sessions)"/ { split($1, a, "\""); sum[a[2]] = $2 }
  /^portail_http_request_seconds_count\{route="\/api\/v1\/(me|sessions)"/ { split($1, a, "\""); cnt[a[2]] = $2 }
  /^portail_http_requests_total\{route="\/api\/v1\/(me|sessions)"/ { print "  " $0 }
  END { for (r in cnt) printf "  %s: %d requests, mean %.3f ms\n", r, cnt[r], 1000 * sum[r] / cnt[r] }'

if [[ "${failed}" != 0 ]]; then
  echo "SOME RUNS HAD ERRORS OR NON-2XX ANSWERS: the figures above are not valid" >&2
  exit 1
fi
