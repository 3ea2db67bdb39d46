#!/usr/bin/env bash
# Quick start: installs dependencies, builds everything, and runs every test with ctest
# (unit, integration over loopback HTTP, crash test, formatting check).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600
