#!/usr/bin/env bash
# Configures and builds portail into build/ (targets may be given, default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
jobs=$(nproc)
# Beast translation units peak at about 0.5 GB each; stay within memory on small machines.
cmake --build build -j"$jobs" ${1:+--target "$@"}
