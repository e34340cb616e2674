#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test:
# the end-to-end suite once per engine, PostgreSQL on a throw-away server,
# then the Debian package installed into a fresh Debian 12 root (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
# For /usr, as the Debian package installs it: the package test packs this build.
scripts/build.sh -DNIMBUS_WERROR=ON -DNIMBUS_BUILD_TESTS=ON -DCMAKE_INSTALL_PREFIX=/usr
(cd build && ../scripts/with-postgresql.sh ctest --output-on-failure -j "$(nproc)")
# The package in a fresh Debian 12 root, which only root can make.
if ((EUID == 0)); then
  tests/package/test_package.sh build
else
  echo "test.sh: the package test (tests/package/test_package.sh) needs root: not run" >&2
  exit 77
fi
