#!/usr/bin/env bash
# Installs the Debian packages nimbus-codes needs, if any are missing.
#   scripts/deps.sh build   what building needs
#   scripts/deps.sh test    that, plus what the test suite needs
#   scripts/deps.sh fuzz    that, plus clang and libFuzzer
#   scripts/deps.sh package that, plus what builds and checks the Debian package
set -euo pipefail

build_packages=(
  cmake g++ make
  libcli11-dev libsqlitecpp-dev libfmt-dev libtomlplusplus-dev doctest-dev
  libsqlite3-dev nlohmann-json3-dev libutf8proc-dev libhowardhinnant-date-dev tzdata nettle-dev
  libpq-dev libicu-dev libphonenumber-dev
)
test_packages=(python3 clang-format bash-completion zsh fish shellcheck mandoc postgresql iproute2 sqlite3)
fuzz_packages=(clang libclang-rt-14-dev)
package_packages=(dpkg-dev lintian mmdebstrap)

wanted=("${build_packages[@]}")
case "${1:-build}" in
  test) wanted+=("${test_packages[@]}") ;;
  fuzz) wanted+=("${fuzz_packages[@]}") ;;
  package) wanted+=("${package_packages[@]}") ;;
esac

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "nimbus-codes: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
