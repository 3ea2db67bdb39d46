# shellcheck shell=bash disable=SC2034,SC2154  # globals shared with the sourcing script
# Shared parts of the HTTP benchmarks (bench/http/*.sh), taken from me_vs_nginx.sh
# without changing what they do. Sourced, not run:
#
#   source "$(dirname "$0")/lib.sh"    # after `set -euo pipefail`
#   portail_port="${PORTAIL_PORT:-18490}"; nginx_port="${NGINX_PORT:-18491}"
#   bench_require_tools wrk nginx curl cmake make awk
#   bench_check_ports "${portail_port}" "${nginx_port}"
#   bench_tmp_init [PREFIX]             # ${tmp}, cleanup trap (stops what bench_own recorded)
#   bench_build                         # Release `portail` into ${build}; sets ${bin}
#   bench_start_portail                 # --demo on ${portail_data}; waits for /healthz
#   token="$(login_token EMAIL PASSWORD)"; auth="Authorization: Bearer ${token}"
#   bench_start_nginx /api/v1/me FILE   # FILE's bytes at that path (more pairs: more files)
#   bench_machine_line; bench_versions_line; bench_wrk_line   # each has a variant (see there)
#   run_wrk LABEL URL SECONDS PIDS...; show "${result}"; check "${result}"
#   bench_warmup NGINX_URL PORTAIL_URL; results=(); measure ROUND LABEL URL PIDS...   # × n
#   bench_results_table                 # the markdown table of ${results}
#
# Knobs read here (environment, same defaults as me_vs_nginx.sh): BUILD_DIR=build-http
# DURATION=10 ROUNDS=2 CONNECTIONS=64 WRK_THREADS=2 SERVER_THREADS=2 NGINX_WORKERS=2
# HASH_THREADS=1 KEEP=1 (keep the temp dir). The ports are the caller's (each script has its own
# defaults): set portail_port and nginx_port before calling the functions that use them.
# Globals set here keep me_vs_nginx.sh's names: root here build bin tmp portail_pid nginx_pid
# nginx_pids nginx_url auth hz run result failed; portail_data and portail_log (bench_tmp_init:
# ${tmp}/data, ${tmp}/portail.out) say where bench_start_portail puts the data and the log, and
# show_label_width=14 show_ms_width=6 show_machine=1 how show prints a result. A script may set
# any of them after sourcing (e.g. hash_threads=1 where HASH_THREADS is not one of its knobs).

export LC_ALL=C  # '.' as decimal separator in EPOCHREALTIME, awk and printf

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="${root}/bench/http"
build="${BUILD_DIR:-${root}/build-http}"
duration="${DURATION:-10}"
rounds="${ROUNDS:-2}"
conns="${CONNECTIONS:-64}"
wrk_threads="${WRK_THREADS:-2}"
server_threads="${SERVER_THREADS:-2}"
nginx_workers="${NGINX_WORKERS:-2}"
hash_threads="${HASH_THREADS:-1}"
portail_pid=""
nginx_pid=""
nginx_pids=()
nginx_url=""
auth=""
failed=0
run=0
result=""
hz="$(getconf CLK_TCK)"
show_label_width=14
show_ms_width=6
show_machine=1

# ---------------------------------------------------------------------------------------------
# Checks before anything starts.
bench_require_tools() {  # tool... → exit 2 if one is missing
  local tool
  for tool in "$@"; do
    command -v "${tool}" >/dev/null || {
      echo "missing ${tool}: run scripts/setup.sh --bench" >&2
      exit 2
    }
  done
}

bench_check_ports() {  # port... → exit 2 if something already listens on one
  local port
  for port in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      echo "port ${port} is already in use (set PORTAIL_PORT / NGINX_PORT)" >&2
      exit 2
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Temp dir and cleanup. Every background process the script starts is recorded with bench_own
# and stopped on exit, last started first (me_vs_nginx.sh: storm, then nginx, then portail).
bench_owned=()  # "pid signal seconds"

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

bench_own() {  # pid signal seconds: stop it that way on exit
  bench_owned+=("$1 $2 $3")
}

bench_disown() {  # pid: it has been waited for, do not signal that pid (it may be reused) on exit
  local i
  for i in "${!bench_owned[@]}"; do
    [[ "${bench_owned[i]%% *}" == "$1" ]] && unset 'bench_owned[i]'
  done
  return 0
}

bench_cleanup() {
  set +e
  local i
  local -a owned=("${bench_owned[@]}")
  for ((i = ${#owned[@]} - 1; i >= 0; i--)); do
    # shellcheck disable=SC2086  # "pid signal seconds"
    stop_pid ${owned[i]}
  done
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "kept ${tmp}"
  else
    rm -rf "${tmp}"
  fi
}

bench_tmp_init() {  # [prefix, default portail-http-bench] → ${tmp}; installs the EXIT/INT/TERM traps
  tmp="$(mktemp -d "/tmp/${1:-portail-http-bench}.XXXXXX")"
  chmod 755 "${tmp}"  # nginx workers run as www-data and read ${tmp}/www
  portail_data="${tmp}/data"
  portail_log="${tmp}/portail.out"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------------------------
# The build (incremental), Release, into ${build}; log in ${tmp}/build.log.
bench_build() {  # → ${bin}
  if ! { cmake -S "${root}" -B "${build}" -DPORTAIL_BUILD_TESTS=OFF -DPORTAIL_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Release && make -C "${build}" -j"$(nproc)" portail; } >"${tmp}/build.log" 2>&1; then
    tail -30 "${tmp}/build.log" >&2
    echo "build failed" >&2
    exit 1
  fi
  bin="${build}/server/portail"
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# ---------------------------------------------------------------------------------------------
# portail (${bin}) with the demo town on a fresh data dir (${portail_data}, default ${tmp}/data),
# its log in ${portail_log}, on ${portail_port}; and its logins (on ${portail_port}). A script
# running two portails sets bin, portail_port, portail_data and portail_log before each call.
bench_start_portail() {  # [extra portail serve options] → ${portail_pid}; waits for /healthz
  local i
  "${bin}" serve --data "${portail_data}" --listen "127.0.0.1:${portail_port}" --demo \
    --log-level warn --threads "${server_threads}" --hash-threads "${hash_threads}" "$@" \
    >"${portail_log}" 2>&1 &
  portail_pid=$!
  bench_own "${portail_pid}" TERM 15
  for ((i = 0; i < 600; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:${portail_port}/healthz" && break
    kill -0 "${portail_pid}" 2>/dev/null || { cat "${portail_log}" >&2; exit 1; }
    sleep 0.1
  done
}

login() {  # email password [curl options] → POST /api/v1/sessions, its answer on stdout
  local body="{\"email\":\"$1\",\"password\":\"$2\"}"
  shift 2
  curl -s --max-time 60 -X POST "http://127.0.0.1:${portail_port}/api/v1/sessions" \
    -H 'Content-Type: application/json' -d "${body}" "$@"
}

login_token() {  # email password → the session token on stdout; exits 1 if the login failed
  local token
  token="$(login "$1" "$2" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
  [[ -n "${token}" ]] || { echo "login failed" >&2; cat "${portail_log}" >&2; exit 1; }
  echo "${token}"
}

# ---------------------------------------------------------------------------------------------
# nginx serving FILE's bytes at URLPATH (its query string, if any, is kept in ${nginx_url} and
# ignored by nginx), so both request lines are identical; more "urlpath file" pairs serve more
# files (${nginx_url} is the first one's). Debian-like defaults (sendfile, tcp_nopush), no access
# log, and keep-alive never cut short (keepalive_requests), as portail never closes a keep-alive
# connection itself.
bench_start_nginx() {  # urlpath file [urlpath file]... → ${nginx_pid}, ${nginx_url}; checks nginx's bodies
  local -a pairs=("$@")
  local i fspath url
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    fspath="${pairs[i]%%\?*}"
    mkdir -p "${tmp}/www$(dirname "${fspath}")"
    cp "${pairs[i + 1]}" "${tmp}/www${fspath}"
  done
  chmod -R a+rX "${tmp}/www"
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
  bench_own "${nginx_pid}" QUIT 5
  nginx_url="http://127.0.0.1:${nginx_port}${pairs[0]}"
  for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "${nginx_url}" && break
    kill -0 "${nginx_pid}" 2>/dev/null || { cat "${tmp}/nginx/"{stdout,error.log} >&2; exit 1; }
    sleep 0.1
  done
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    url="http://127.0.0.1:${nginx_port}${pairs[i]}"
    curl -sf --max-time 10 -o "${tmp}/nginx-body" "${url}"
    cmp -s "${tmp}/nginx-body" "${pairs[i + 1]}" || { echo "nginx body differs for ${url}" >&2; exit 1; }
  done
}

# ---------------------------------------------------------------------------------------------
# Sizes and CPU accounting.
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
nginx_pids_now() { mapfile -t nginx_pids < <(echo "${nginx_pid}"; pgrep -P "${nginx_pid}" || true); }

# ---------------------------------------------------------------------------------------------
# Header lines: the machine, the versions, the wrk command.
bench_machine_line() {  # [--no-kernel: without "kernel X, "]
  local kernel=""
  if [[ "${1:-}" != --no-kernel ]]; then kernel="kernel $(uname -r), "; fi
  echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), ${kernel}load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}
bench_versions_line() {  # [what follows portail's version, default "(BIN, --threads N --hash-threads N)"]
  local how="${1-(${bin}, --threads ${server_threads} --hash-threads ${hash_threads})}"
  echo "== portail $(git -C "${root}" describe --always --dirty 2>/dev/null || echo '?') ${how}; $(nginx -v 2>&1 | sed 's/.*: //') worker_processes ${nginx_workers}; $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
}
bench_wrk_line() {  # [the line's end, default "; wrk and the servers share the N cores (nothing pinned)"]
  local tail="${1-; wrk and the servers share the $(nproc) cores (nothing pinned)}"
  echo "== wrk -t${wrk_threads} -c${conns} -d${duration}s --latency, same Authorization header to both${tail}"
}

# ---------------------------------------------------------------------------------------------
# wrk runs. Each sets ${result}: "label rps p50_us p99_us server_cpu_pct machine_busy_pct errors".
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

show() {  # result line → human line (widths and the machine column: show_label_width, show_ms_width, show_machine)
  awk -v lw="${show_label_width}" -v mw="${show_ms_width}" -v machine="${show_machine}" '{
    printf "  %-" lw "s %9.0f req/s  p50 %" mw ".3f ms  p99 %" mw ".3f ms  server CPU %3.0f%%", $1, $2, $3 / 1000, $4 / 1000, $5
    if (machine == 1) printf "  machine %3.0f%%", $6
    printf "%s\n", ($7 > 0 ? "  ERRORS " $7 : "")
  }' <<<"$1"
}
check() {  # result line; a run with errors or non-2xx answers invalidates the figures
  local errors
  errors="$(awk '{print $7}' <<<"$1")"
  [[ "${errors}" == 0 ]] || failed=1
}

# ---------------------------------------------------------------------------------------------
# The common shape of a comparison: a warm-up, rounds of measured runs into ${results}, the table.
bench_warmup() {  # nginx-url portail-url: 2 s each, not recorded; sets ${nginx_pids}
  echo
  echo "== warm-up (2 s each, not recorded)"
  nginx_pids_now
  run_wrk warmup-nginx "$1" 2 "${nginx_pids[@]}"
  run_wrk warmup-portail "$2" 2 "${portail_pid}"
}
measure() {  # round label url pids...: run_wrk for ${duration} s, show, check, append "round result" to ${results}
  local round="$1"
  shift
  run_wrk "$1" "$2" "${duration}" "${@:3}"
  show "${result}"
  check "${result}"
  results+=("${round} ${result}")
}
bench_results_table() {  # the markdown table of ${results}, with the machine busy column if show_machine=1
  local x
  if [[ "${show_machine}" == 1 ]]; then
    echo "| round | server | req/s | p50 ms | p99 ms | server CPU % (of $(($(nproc) * 100))) | machine busy % |"
    echo "|---|---|---:|---:|---:|---:|---:|"
  else
    echo "| round | server | req/s | p50 ms | p99 ms | server CPU % (of $(($(nproc) * 100))) |"
    echo "|---|---|---:|---:|---:|---:|"
  fi
  for x in "${results[@]}"; do
    awk -v machine="${show_machine}" '{
      printf "| %s | %s | %.0f | %.3f | %.3f | %.0f |", $1, $2, $3, $4 / 1000, $5 / 1000, $6
      if (machine == 1) printf " %.0f |", $7
      printf "\n"
    }' <<<"${x}"
  done
}
