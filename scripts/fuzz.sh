#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a
# bounded time (default 30 s). New crashes land in tests/fuzz/crashes/; keep
# them as regression seeds in tests/fuzz/corpus/<target>/ once fixed.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
scripts/deps.sh fuzz
CXX=clang++ cmake -S . -B build-fuzz -DNIMBUS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzz-identity fuzz-import fuzz-config
mkdir -p tests/fuzz/crashes
status=0
for target in identity import config; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$target/* "$work/"
  echo "fuzzing $target for ${seconds}s" >&2
  if ! build-fuzz/tests/fuzz-$target -max_total_time="$seconds" -max_len=4096 \
    -artifact_prefix=tests/fuzz/crashes/$target- "$work" >"$work.log" 2>&1; then
    tail -40 "$work.log"
    echo "fuzz-$target found a crash: see tests/fuzz/crashes/" >&2
    status=1
  fi
  grep -E "^Done|^#[0-9]+ *DONE" "$work.log" | tail -1
  rm -rf "$work" "$work.log"
done
exit $status
