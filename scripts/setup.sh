#!/usr/bin/env bash
# Installs what portail needs on Debian 12 (idempotent: installs only what is missing).
set -euo pipefail

PACKAGES=(
  build-essential cmake ccache pkg-config git clang-format
  libboost-dev librocksdb-dev libflatbuffers-dev flatbuffers-compiler
  libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev libsodium-dev
  nlohmann-json3-dev libcli11-dev libhowardhinnant-date-dev libcurl4-openssl-dev libabsl-dev
  python3 python3-aiosmtpd curl tzdata
)
# Benchmarks only (nginx for side-by-side HTTP figures, wrk for load); installed with --bench.
BENCH_PACKAGES=(nginx-light wrk)

want=("${PACKAGES[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${BENCH_PACKAGES[@]}"); fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
