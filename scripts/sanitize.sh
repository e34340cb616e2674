#!/usr/bin/env bash
# Builds with AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/
# and runs the unit tests and the end-to-end suite against that build: every
# file on SQLite, and on PostgreSQL the files that drive most of its backend
# (import, conclude, reports, copy, the server's roles, the directory, context).
# The full suite already ran on both engines unsanitized (scripts/test.sh); the
# engines share the command layer and the library, which the SQLite pass
# covers, and running every file twice under the sanitizers would double the
# longest part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
# Optimised as a release is: the suite runs several times faster than at -O0,
# and the sanitizers check the code that ships.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNIMBUS_WERROR=ON \
  -DNIMBUS_SANITIZE=address,undefined >/dev/null
cmake --build build-asan -j "$(nproc)"
export ASAN_OPTIONS=abort_on_error=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
cd build-asan
postgresql_files='postgresql|server_roles|store_copy|sessions|reports|directory|context'
../scripts/with-postgresql.sh ctest --output-on-failure -j "$(nproc)" \
  -R "^(unit\.|fuzz\.replay\.|e2e\.sqlite\.|e2e\.postgresql\.test_(${postgresql_files})$)"
