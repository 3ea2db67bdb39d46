#!/usr/bin/env bash
# Quick start: installs dependencies, builds, and runs the server on 127.0.0.1:8080 with the
# embedded data directory ./data (created if missing) and a demo town (seeded once, its logins
# printed and kept in data/DEMO.txt). Extra arguments go to `portail serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh portail
exec build/server/portail serve --data "${PORTAIL_DATA:-data}" --listen "${PORTAIL_LISTEN:-127.0.0.1:8080}" --demo "$@"
