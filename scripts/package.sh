#!/usr/bin/env bash
# Builds the Debian package (docs/install.md): built for /usr with -O2, as
# Debian builds its packages, stripped, and
# packed by CPack with its dependencies from dpkg-shlibdeps. Prints its path.
#   scripts/package.sh [BUILD_DIR]   (default build-deb)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-deb}
"$root/scripts/deps.sh" package
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DNIMBUS_BUILD_TESTS=OFF -DNIMBUS_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
rm -f "$build"/nimbus-codes_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
ls "$build"/nimbus-codes_*.deb
