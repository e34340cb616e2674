#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a
# bounded time (default 30 s). New crashes land in tests/fuzz/crashes/; keep
# them as regression seeds in tests/fuzz/corpus/<target>/ once fixed.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
scripts/deps.sh build
if ! command -v clang++ >/dev/null; then
  apt-get install -y -qq clang >/dev/null
fi
CXX=clang++ cmake -S . -B build-fuzz -DNIMBUS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz-identity fuzz-import
mkdir -p tests/fuzz/crashes
for target in identity import; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$target/* "$work/"
  echo "fuzzing $target for ${seconds}s" >&2
  build-fuzz/tests/fuzz-$target -max_total_time="$seconds" -max_len=4096 \
    -artifact_prefix=tests/fuzz/crashes/$target- "$work" 2>&1 | tail -3
  rm -rf "$work"
done
