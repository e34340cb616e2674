#!/usr/bin/env bash
# Builds with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/
# and runs the unit and end-to-end suites against that build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNIMBUS_WERROR=ON \
  -DNIMBUS_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
../scripts/with-postgresql.sh ctest --output-on-failure -j "$(nproc)" -L 'unit|e2e'
