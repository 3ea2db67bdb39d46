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
set -euo pipefail
export LC_ALL=C  # '.' as decimal separator in EPOCHREALTIME, awk and printf

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="${root}/bench/http"
build="${BUILD_DIR:-${root}/build-http}"
duration="${DURATION:-10}"
rounds="${ROUNDS:-2}"
conns="${CONNECTIONS:-64}"
wrk_threads="${WRK_THREADS:-2}"
server_threads="${SERVER_THREADS:-2}"
nginx_workers="${NGINX_WORKERS:-2}"
hash_threads="${HASH_THREADS:-1}"
login_rate="${LOGIN_RATE:-20}"
storm_alone="${STORM_ALONE:-5}"
portail_port="${PORTAIL_PORT:-18480}"
nginx_port="${NGINX_PORT:-18481}"
storm_account="${STORM_ACCOUNT:-agent}"
session_steps="${SESSION_STEPS-0 50 200}"
parent=("alice@demo.portail.test" "demo parent password")
agent=("agent@demo.portail.test" "demo agent password")
if [[ "${storm_account}" == parent ]]; then storm_who=("${parent[@]}"); else storm_who=("${agent[@]}"); fi

for tool in wrk nginx curl cmake make awk; do
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

# ---------------------------------------------------------------------------------------------
# Temp dir and cleanup, then the build (incremental).
tmp="$(mktemp -d /tmp/portail-http-bench.XXXXXX)"
chmod 755 "${tmp}"  # nginx workers run as www-data and read ${tmp}/www
portail_pid=""
nginx_pid=""
storm_pid=""
failed=0

stop_pid() {  # pid signal seconds: signal, wait up to seconds, then SIGKILL
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
  stop_pid "${storm_pid}" TERM 5
  stop_pid "${nginx_pid}" QUIT 5
  stop_pid "${portail_pid}" TERM 15
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "kept ${tmp}"
  else
    rm -rf "${tmp}"
  fi
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
# 1. portail with the demo town; log in; save the /me body. Then nginx serving those bytes.
"${bin}" serve --data "${tmp}/data" --listen "127.0.0.1:${portail_port}" --demo \
  --log-level warn --threads "${server_threads}" --hash-threads "${hash_threads}" \
  >"${tmp}/portail.out" 2>&1 &
portail_pid=$!
for ((i = 0; i < 600; i++)); do
  curl -sf -o /dev/null "http://127.0.0.1:${portail_port}/healthz" && break
  kill -0 "${portail_pid}" 2>/dev/null || { cat "${tmp}/portail.out" >&2; exit 1; }
  sleep 0.1
done

login() {  # email password [curl options]
  local body="{\"email\":\"$1\",\"password\":\"$2\"}"
  shift 2
  curl -s --max-time 60 -X POST "http://127.0.0.1:${portail_port}/api/v1/sessions" \
    -H 'Content-Type: application/json' -d "${body}" "$@"
}
token="$(login "${parent[@]}" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
[[ -n "${token}" ]] || { echo "login failed" >&2; cat "${tmp}/portail.out" >&2; exit 1; }
auth="Authorization: Bearer ${token}"
me_url="http://127.0.0.1:${portail_port}/api/v1/me"
healthz_url="http://127.0.0.1:${portail_port}/healthz"  # the ceiling: Beast, router, metrics, no auth
mkdir -p "${tmp}/www/api/v1"
curl -sf --max-time 10 -H "${auth}" -o "${tmp}/www/api/v1/me" "${me_url}"
chmod -R a+rX "${tmp}/www"

# nginx: the file at the same path, so both request lines are identical. Debian-like defaults
# (sendfile, tcp_nopush), no access log, and keep-alive never cut short (keepalive_requests), as
# portail never closes a keep-alive connection itself.
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
nginx_url="http://127.0.0.1:${nginx_port}/api/v1/me"
for ((i = 0; i < 100; i++)); do
  curl -sf -o /dev/null "${nginx_url}" && break
  kill -0 "${nginx_pid}" 2>/dev/null || { cat "${tmp}/nginx/"{stdout,error.log} >&2; exit 1; }
  sleep 0.1
done
curl -sf --max-time 10 -o "${tmp}/nginx-me" "${nginx_url}"
cmp -s "${tmp}/nginx-me" "${tmp}/www/api/v1/me" || { echo "nginx body differs" >&2; exit 1; }

sizes() {  # url → "header bytes + body bytes"
  curl -s -o /dev/null -H "${auth}" -w '%{size_header} + %{size_download}' "$1"
}
cpu_now() {  # pid... → summed utime+stime ticks of the processes (all their threads)
  local pid total=0
  for pid in "$@"; do
    [[ -r "/proc/${pid}/stat" ]] || continue
    total=$((total + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/${pid}/stat")))
  done
  echo "${total}"
}
machine_now() {  # → "busy total" jiffies of all CPUs
  awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t}' /proc/stat
}
hz="$(getconf CLK_TCK)"
nginx_pids=()  # master and workers, for the CPU figures
nginx_pids_now() { mapfile -t nginx_pids < <(echo "${nginx_pid}"; pgrep -P "${nginx_pid}" || true); }

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), kernel $(uname -r), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== portail $(git -C "${root}" describe --always --dirty 2>/dev/null || echo '?') (${bin}, --threads ${server_threads} --hash-threads ${hash_threads}); $(nginx -v 2>&1 | sed 's/.*: //') worker_processes ${nginx_workers}; $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
echo "== /me body: $(wc -c <"${tmp}/www/api/v1/me") bytes; response header+body: portail $(sizes "${me_url}"), nginx $(sizes "${nginx_url}"); portail /healthz $(sizes "${healthz_url}")"
echo "== wrk -t${wrk_threads} -c${conns} -d${duration}s --latency, same Authorization header to both; wrk and the servers share the $(nproc) cores (nothing pinned)"

# ---------------------------------------------------------------------------------------------
# wrk runs. Each sets ${result}: "label rps p50_us p99_us server_cpu_pct machine_busy_pct errors".
run=0
result=""
run_wrk() {  # label url seconds pids-to-account...; raw wrk output kept in ${tmp}
  local label="$1" url="$2" secs="$3"
  shift 3
  run=$((run + 1))
  local out="${tmp}/wrk.${run}.${label}.txt" c0 c1 m0 m1 t0 t1
  c0="$(cpu_now "$@")"
  m0="$(machine_now)"
  t0="$(now_us)"
  timeout $((secs + 30)) wrk -t"${wrk_threads}" -c"${conns}" -d"${secs}s" --latency \
    -s "${here}/report.lua" -H "${auth}" "${url}" >"${out}" 2>&1 || true
  t1="$(now_us)"
  m1="$(machine_now)"
  c1="$(cpu_now "$@")"
  local line
  line="$(grep '^WRK_RESULT' "${out}" || true)"
  if [[ -z "${line}" ]]; then
    echo "wrk failed:" >&2
    cat "${out}" >&2
    result="${label} 0 0 0 0 0 1"
    return
  fi
  result="$(awk -v label="${label}" -v line="${line}" -v c="$((c1 - c0))" -v hz="${hz}" \
    -v wall="$((t1 - t0))" -v m0="${m0}" -v m1="${m1}" 'BEGIN {
      n = split(line, kv, " ")
      for (i = 2; i <= n; i++) { split(kv[i], p, "="); r[p[1]] = p[2] }
      split(m0, a, " "); split(m1, b, " ")
      err = r["connect_err"] + r["read_err"] + r["write_err"] + r["timeout_err"] + r["non2xx"]
      printf "%s %.0f %d %d %.0f %.0f %d\n", label, r["rps"], r["p50_us"], r["p99_us"],
             100 * c / hz / (wall / 1e6), 100 * (b[1] - a[1]) / (b[2] - a[2]), err
    }')"
}

show() {  # result line → human line
  awk '{printf "  %-14s %9.0f req/s  p50 %6.3f ms  p99 %6.3f ms  server CPU %3.0f%%  machine %3.0f%%%s\n",
        $1, $2, $3 / 1000, $4 / 1000, $5, $6, ($7 > 0 ? "  ERRORS " $7 : "")}' <<<"$1"
}
check() {  # result line; a run with errors or non-2xx answers invalidates the figures
  local errors
  errors="$(awk '{print $7}' <<<"$1")"
  [[ "${errors}" == 0 ]] || failed=1
}

# ---------------------------------------------------------------------------------------------
# 2. Alternating nginx / portail.
echo
echo "== warm-up (2 s each, not recorded)"
nginx_pids_now
run_wrk warmup-nginx "${nginx_url}" 2 "${nginx_pids[@]}"
run_wrk warmup-portail "${me_url}" 2 "${portail_pid}"
echo "== nginx (static file), portail GET /api/v1/me and portail GET /healthz (no auth), alternating"
results=()
for ((r = 1; r <= rounds; r++)); do
  run_wrk nginx "${nginx_url}" "${duration}" "${nginx_pids[@]}"
  show "${result}"; check "${result}"; results+=("${r} ${result}")
  run_wrk portail "${me_url}" "${duration}" "${portail_pid}"
  show "${result}"; check "${result}"; results+=("${r} ${result}")
  run_wrk healthz "${healthz_url}" "${duration}" "${portail_pid}"
  show "${result}"; check "${result}"; results+=("${r} ${result}")
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
  sleep 1
  w0="$(now_us)"
  run_wrk me+storm "${me_url}" "${duration}" "${portail_pid}"
  w1="$(now_us)"
  wait "${storm_pid}" || true  # lets the last logins finish (curl --max-time 60)
  storm_pid=""
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
echo "| round | server | req/s | p50 ms | p99 ms | server CPU % (of $(($(nproc) * 100))) | machine busy % |"
echo "|---|---|---:|---:|---:|---:|---:|"
for x in "${results[@]}"; do
  awk '{printf "| %s | %s | %.0f | %.3f | %.3f | %.0f | %.0f |\n", $1, $2, $3, $4 / 1000, $5 / 1000, $6, $7}' <<<"${x}"
done
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
