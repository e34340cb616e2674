#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test:
# the end-to-end suite once per engine, PostgreSQL on a throw-away server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/build.sh -DNIMBUS_WERROR=ON -DNIMBUS_BUILD_TESTS=ON
cd build
../scripts/with-postgresql.sh ctest --output-on-failure -j "$(nproc)"
