#!/usr/bin/env bash
# Builds the foundation benchmarks in Release (build-bench/) and runs them, printing their tables.
# Usage: bench/run_foundation.sh [scratch dir, default /tmp/portail-bench]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-/tmp/portail-bench}"
build="${root}/build-bench"

cmake -S "${root}" -B "${build}" -DPORTAIL_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
make -C "${build}" -j"$(nproc)" append_bench scan_bench >/dev/null

echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(df -h "$(dirname "${scratch}")" | awk 'NR==2 {print $1 " (" $2 ")"}')"
echo "== append_bench"
"${build}/bench/append_bench" --dir "${scratch}/append"
echo
echo "== scan_bench"
"${build}/bench/scan_bench" --dir "${scratch}/scan"
