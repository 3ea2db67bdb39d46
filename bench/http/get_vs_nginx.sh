#!/usr/bin/env bash
# One authenticated GET on portail beside nginx serving the same bytes as a static file at the
# same path, alternating, in the same run (so both share the machine's noise).
#
# Usage (as root, after scripts/setup.sh --bench): bench/http/get_vs_nginx.sh PAGE
#   PAGE, as the demo parent (alice@demo.portail.test, subscribed to Famille Martin, whose id is
#   subscriptions[0].family_id of GET /api/v1/me):
#     dossier   GET /api/v1/families/{family_id}/dossier
#     planning  GET /api/v1/families/{family_id}/planning?view=month&date=${PLANNING_DATE}
#     me        GET /api/v1/me
#   or PATH_OVERRIDE=/api/... (with {family_id} substituted; PAGE is then only a label).
# Knobs (environment): DURATION=10 (s per wrk run) ROUNDS=2 CONNECTIONS=64 WRK_THREADS=2
#   SERVER_THREADS=2 (portail --threads) NGINX_WORKERS=2 HASH_THREADS=1 PORTAIL_PORT=18490
#   NGINX_PORT=18491 BUILD_DIR=build-http KEEP=1 (keep the temp dir with every wrk output)
#   PLANNING_DATE=YYYY-MM-DD (default: the "planning month:" line of the demo's DEMO.txt, the
#   month the demo town has bookings in; else today).
# Exits 1 if portail does not answer 200, if nginx's body differs from portail's, or if a wrk run
# had errors or non-2xx answers. Loopback only; builds portail (Release) in BUILD_DIR first.
# Everything it starts (portail, nginx, wrk) is stopped and its temp dir removed on exit.
# shellcheck disable=SC2119  # lib.sh functions whose arguments are optional, called without
set -euo pipefail
# shellcheck source=bench/http/lib.sh
source "$(dirname "$0")/lib.sh"

page="${1:-}"
if [[ -z "${page}" || ( -z "${PATH_OVERRIDE:-}" && ! "${page}" =~ ^(dossier|planning|me)$ ) ]]; then
  echo "usage: $0 dossier|planning|me   (or PATH_OVERRIDE=/api/... $0 LABEL)" >&2
  exit 2
fi
portail_port="${PORTAIL_PORT:-18490}"
nginx_port="${NGINX_PORT:-18491}"
parent=("alice@demo.portail.test" "demo parent password")

bench_require_tools wrk nginx curl cmake make awk python3
bench_check_ports "${portail_port}" "${nginx_port}"
bench_tmp_init
bench_build

# ---------------------------------------------------------------------------------------------
# portail with the demo town; log in as the parent; the family id; the URL; its 200 body.
bench_start_portail
token="$(login_token "${parent[@]}")"
auth="Authorization: Bearer ${token}"
base="http://127.0.0.1:${portail_port}"

get() {  # urlpath file → HTTP status on stdout, body in file
  curl -s --max-time 30 -H "${auth}" -o "$2" -w '%{http_code}' "${base}$1"
}
status="$(get /api/v1/me "${tmp}/me.json")"
[[ "${status}" == 200 ]] || { echo "GET /api/v1/me answered ${status}" >&2; cat "${tmp}/me.json" >&2; exit 1; }
family_id="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["subscriptions"][0]["family_id"])' \
  <"${tmp}/me.json")" || { echo "no subscriptions[0].family_id in /me" >&2; exit 1; }

if [[ -n "${PATH_OVERRIDE:-}" ]]; then
  urlpath="${PATH_OVERRIDE//\{family_id\}/${family_id}}"
else
  case "${page}" in
    dossier) urlpath="/api/v1/families/${family_id}/dossier" ;;
    planning)
      planning_date="${PLANNING_DATE:-}"
      if [[ -z "${planning_date}" ]]; then
        planning_date="$(sed -n 's/^[[:space:]]*planning month:[[:space:]]*\([0-9]\{4\}-[0-9]\{2\}-[0-9]\{2\}\).*/\1/p' \
          "${tmp}/data/DEMO.txt" 2>/dev/null | head -1)"
      fi
      [[ -n "${planning_date}" ]] || planning_date="$(date +%F)"
      urlpath="/api/v1/families/${family_id}/planning?view=month&date=${planning_date}"
      ;;
    me) urlpath="/api/v1/me" ;;
  esac
fi
[[ "${urlpath}" == /* && "${urlpath%%\?*}" != */ ]] || {
  echo "the path must start with / and not end with / (nginx serves it as a file): ${urlpath}" >&2
  exit 2
}
portail_url="${base}${urlpath}"
status="$(get "${urlpath}" "${tmp}/body")"
if [[ "${status}" != 200 ]]; then
  echo "portail answered ${status} to GET ${urlpath} (not 200): nothing to measure" >&2
  head -c 2000 "${tmp}/body" >&2
  echo >&2
  exit 1
fi
# The same bytes on a second GET, or serving them from a file would not be the same page.
get "${urlpath}" "${tmp}/body2" >/dev/null
cmp -s "${tmp}/body" "${tmp}/body2" || {
  echo "portail's body for GET ${urlpath} changed between two GETs: a static copy would differ" >&2
  exit 1
}

bench_start_nginx "${urlpath}" "${tmp}/body"

bench_machine_line
bench_versions_line
echo "== GET ${urlpath} (${page}) as ${parent[0]}: body $(wc -c <"${tmp}/body") bytes; response header+body: portail $(sizes "${portail_url}"), nginx $(sizes "${nginx_url}")"
bench_wrk_line

# ---------------------------------------------------------------------------------------------
# Alternating nginx / portail.
bench_warmup "${nginx_url}" "${portail_url}"
echo "== GET ${urlpath}: nginx (static file) and portail, alternating, ${rounds} rounds"
results=()
for ((r = 1; r <= rounds; r++)); do
  measure "${r}" nginx "${nginx_url}" "${nginx_pids[@]}"
  measure "${r}" portail "${portail_url}" "${portail_pid}"
done

# ---------------------------------------------------------------------------------------------
# Table (markdown), medians and the ratio.
echo
echo "== summary: ${page}"
echo
bench_results_table
median() {  # numbers on stdin → their median
  sort -g | awk '{v[NR] = $1} END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A med
for s in nginx portail; do
  for col in 3 4 5 6; do
    med[${s},${col}]="$(printf '%s\n' "${results[@]}" | awk -v s="${s}" -v c="${col}" '$2 == s {print $c}' | median)"
  done
  awk -v s="${s}" -v rps="${med[${s},3]}" -v p50="${med[${s},4]}" -v p99="${med[${s},5]}" -v cpu="${med[${s},6]}" \
    'BEGIN {printf "| median | %s | %.0f | %.3f | %.3f | %.0f | |\n", s, rps, p50 / 1000, p99 / 1000, cpu}'
done
per_round="$(printf '%s\n' "${results[@]}" | awk '
  { rps[$1, $2] = $3; if ($1 > n) n = $1 }
  END { for (r = 1; r <= n; r++) if (rps[r, "nginx"] > 0) printf "%.3f\n", rps[r, "portail"] / rps[r, "nginx"] }')"
awk -v p="${med[portail,3]}" -v n="${med[nginx,3]}" -v rounds="$(tr '\n' ' ' <<<"${per_round}")" -v m="$(median <<<"${per_round}")" \
  'BEGIN {
    printf "\nportail / nginx req/s: %.2f (median portail / median nginx); per round:", (n > 0 ? p / n : 0)
    k = split(rounds, a, " "); for (i = 1; i <= k; i++) printf " %.2f", a[i]
    printf " (median %.2f)\n", m
  }'

if [[ "${failed}" != 0 ]]; then
  echo "SOME RUNS HAD ERRORS OR NON-2XX ANSWERS: the figures above are not valid" >&2
  exit 1
fi
