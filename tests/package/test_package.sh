#!/usr/bin/env bash
# The Debian package as an admin meets it (docs/install.md): built, checked by
# lintian, installed with apt into a fresh Debian 12 root made here with
# mmdebstrap (a chroot, not this machine), used, turned into a shared host and
# back, removed and purged, and what remains checked at each step. Run as root.
#   tests/package/test_package.sh [BUILD_DIR]
# With BUILD_DIR (configured with -DCMAKE_INSTALL_PREFIX=/usr, as
# scripts/test.sh does) the package is made from that build; otherwise
# scripts/package.sh builds one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
((EUID == 0)) || { echo "test_package.sh: run it as root (it makes a chroot)" >&2; exit 77; }
"$root/scripts/deps.sh" package
if (($#)); then
  (cd "$1" && rm -f nimbus-codes_*.deb && cpack -G DEB >/dev/null)
  deb=$(ls "$1"/nimbus-codes_*.deb)
else
  deb=$("$root/scripts/package.sh")
fi
echo "package: $deb"

fail() { echo "test_package.sh: FAIL: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

step "lintian"
# Run as an unprivileged user, as lintian asks; any error or warning fails.
lintian_output=$(runuser -u nobody -- lintian --fail-on error,warning --display-info "$deb" 2>&1) ||
  fail "lintian: $lintian_output"
echo "${lintian_output:-no tags}"

chroot_dir=$(mktemp -d /tmp/nimbus-codes-package.XXXXXX)
cleanup() {
  umount -R "$chroot_dir/proc" "$chroot_dir/dev" 2>/dev/null || true
  rm -rf --one-file-system "$chroot_dir"
}
trap cleanup EXIT
step "a fresh Debian 12 root"
# Essential packages and apt, from Debian's mirror; man-db to read the pages,
# systemd to check the monthly report's units as a Debian 12 machine has them.
mmdebstrap --quiet --variant=apt --include=man-db,systemd bookworm "$chroot_dir" </dev/null
mount -t proc proc "$chroot_dir/proc"
mount --rbind /dev "$chroot_dir/dev"
cp "$deb" "$root/scripts/demo.sh" "$chroot_dir/tmp/"
in_root() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive TZ=UTC "$@"; }
# Everything named for the package outside dpkg's records, apt's logs and man's
# cache of formatted pages (man-db's own, which it prunes).
leftovers() { in_root find / -xdev \( -path /var/lib/dpkg -o -path /var/log -o -path /tmp \
  -o -path /var/cache/apt -o -path /proc -o -path /var/cache/debconf -o -path /var/cache/man \) -prune -o \
  -name '*nimbus-codes*' -print | sort; }
[[ -z $(leftovers) ]] || fail "the fresh root already has nimbus-codes files"

step "apt-get install ./$(basename "$deb")"
in_root apt-get update -qq  # mmdebstrap leaves no package lists behind
in_root apt-get install -y -qq "/tmp/$(basename "$deb")" >/dev/null
for package in libicu72 libpq5 libsqlite3-0 libdate-tz3 tzdata; do
  # shellcheck disable=SC2016 # dpkg-query's field, not the shell's
  in_root dpkg-query -W -f='${Status}\n' "$package" | grep -q "install ok installed" ||
    fail "$package was not installed with the package"
done
version=$(in_root nimbus-codes --version)
echo "$version"
[[ $version == "nimbus-codes $(dpkg-deb -f "$deb" Version)"$'\n'* ]] || fail "--version: $version"
in_root nimbus-codes --version --format json | grep -q '"engines":\["sqlite","postgresql"\]' ||
  fail "--version --format json"
in_root man -P cat nimbus-codes 2>/dev/null | grep -q "conclusion codes" || fail "man nimbus-codes"
in_root man -w nimbus-codes-identity >/dev/null || fail "man nimbus-codes-identity"
in_root man -w nimbus-codes-setup-shared-host >/dev/null || fail "man nimbus-codes-setup-shared-host"
for completion in /usr/share/bash-completion/completions/nimbus-codes \
  /usr/share/zsh/vendor-completions/_nimbus-codes /usr/share/fish/vendor_completions.d/nimbus-codes.fish; do
  [[ -f $chroot_dir$completion ]] || fail "no $completion"
done
# Not a shared host unless an admin says so: the binary is an ordinary one,
# and the group and the shared store's folder are ready.
[[ $(in_root stat -c '%a %U:%G' /usr/bin/nimbus-codes) == "755 root:root" ]] || fail "binary mode"
[[ $(in_root stat -c '%a %U:%G' /var/lib/nimbus-codes) == "2770 root:nimbus-codes" ]] ||
  fail "store folder: $(in_root stat -c '%a %U:%G' /var/lib/nimbus-codes)"
in_root dpkg-statoverride --list /usr/bin/nimbus-codes && fail "a setgid override nobody asked for"

step "the demo, as an ordinary user of the installed binary"
in_root useradd --create-home alice
# Its log in the root made here, never at a fixed path in the shared /tmp.
demo_log=$chroot_dir/root/demo.log
in_root runuser -u alice -- env NIMBUS_CODES_BIN=/usr/bin/nimbus-codes bash /tmp/demo.sh >"$demo_log" 2>&1 ||
  { cat "$demo_log"; fail "the demo"; }
tail -3 "$demo_log"

step "the shared host: the set-up script, then debconf's answer"
in_root nimbus-codes-setup-shared-host --tenant Contoso --admin alice
[[ $(in_root stat -c '%a %U:%G' /usr/bin/nimbus-codes) == "2755 root:nimbus-codes" ]] ||
  fail "setgid: $(in_root stat -c '%a %U:%G' /usr/bin/nimbus-codes)"
in_root debconf-show nimbus-codes | grep -q "shared-host: true" || fail "the answer is not recorded"
in_root runuser -u alice -- nimbus-codes code create --type primary --name Sale -q >/dev/null
in_root runuser -u alice -- nimbus-codes code list --format csv | grep -q ',Sale,' || fail "shared store"
status=0
in_root runuser -u alice -- nimbus-codes --store /tmp/other.db code list 2>/dev/null || status=$?
((status == 77)) || fail "--store on the shared host exited $status, not 77"
step "the monthly report: shipped, not enabled, its units valid, run as cron would"
timer=nimbus-codes-monthly-report@alice.timer
[[ $(in_root systemctl is-enabled "$timer" 2>&1) == disabled ]] || fail "$timer: $(in_root systemctl is-enabled "$timer" 2>&1)"
verify=$(in_root systemd-analyze verify "$timer" nimbus-codes-monthly-report@alice.service 2>&1) ||
  fail "systemd-analyze verify: $verify"
[[ -z $verify ]] || fail "systemd-analyze verify: $verify"
in_root runuser -u alice -- nimbus-codes -q service create Hotline --ou Contoso --license contact-center >/dev/null
in_root runuser -u alice -- nimbus-codes -q service apply Hotline --primary Sale >/dev/null
in_root install -d -o alice -g alice -m 2750 /srv/reports
conf=$chroot_dir/etc/nimbus-codes/monthly-report.conf
printf 'NIMBUS_REPORT_FOLDER=/srv/reports\nNIMBUS_REPORT_TZ=Europe/Zurich\n' >>"$conf"
in_root runuser -u alice -- bash -c 'umask 022; /usr/libexec/nimbus-codes/monthly-report >/dev/null' ||
  fail "monthly-report as alice"
month=$(TZ=Europe/Zurich date -d "$(TZ=Europe/Zurich date +%Y-%m-15) -1 month" +%Y-%m)
report=/srv/reports/$month/Hotline.csv
[[ $(in_root stat -c '%a %U' "$report") == "640 alice" ]] || fail "$report: $(in_root stat -c '%a %U' "$report" 2>&1)"
grep -q '^primary,Sale,' "$chroot_dir$report" || fail "$report: $(cat "$chroot_dir$report")"
# An upgrade (the same package again) keeps the bit: dpkg applies its override.
in_root dpkg -i "/tmp/$(basename "$deb")" >/dev/null
[[ $(in_root stat -c '%a' /usr/bin/nimbus-codes) == 2755 ]] || fail "setgid lost on reinstall"
grep -q '^NIMBUS_REPORT_FOLDER=/srv/reports$' "$conf" || fail "the upgrade lost the monthly report's settings"
echo "nimbus-codes nimbus-codes/shared-host boolean false" | in_root debconf-set-selections
in_root dpkg-reconfigure nimbus-codes
[[ $(in_root stat -c '%a %U:%G' /usr/bin/nimbus-codes) == "755 root:root" ]] || fail "setgid kept"
echo "nimbus-codes nimbus-codes/shared-host boolean true" | in_root debconf-set-selections
in_root dpkg-reconfigure nimbus-codes
[[ $(in_root stat -c '%a %U:%G' /usr/bin/nimbus-codes) == "2755 root:nimbus-codes" ]] ||
  fail "the answer yes did not make the binary setgid"

step "remove: the store, the identity file and the group stay"
in_root apt-get remove -y -qq nimbus-codes >/dev/null
[[ ! -e $chroot_dir/usr/bin/nimbus-codes ]] || fail "the binary is still there"
[[ -s $chroot_dir/var/lib/nimbus-codes/store.db ]] || fail "remove lost the store"
[[ -s $chroot_dir/etc/nimbus-codes/identity.toml ]] || fail "remove lost the identity file"

step "purge: the overrides and the answer go, the data stays"
in_root dpkg --purge nimbus-codes >/dev/null
in_root dpkg-statoverride --list | grep nimbus-codes && fail "an override survived the purge"
[[ -z $(in_root debconf-show nimbus-codes) ]] || fail "debconf still knows nimbus-codes"
[[ -s $chroot_dir/var/lib/nimbus-codes/store.db ]] || fail "purge lost the store"
in_root getent group nimbus-codes >/dev/null || fail "purge removed the group the store's files carry"
[[ -s $chroot_dir/etc/nimbus-codes/identity.toml ]] || fail "purge lost the identity file"
[[ ! -e $conf ]] || fail "purge kept the monthly report's settings"
[[ -s $chroot_dir$report ]] || fail "purge removed a report the timer's script wrote"
[[ $(leftovers) == $'/etc/nimbus-codes\n/var/lib/nimbus-codes' ]] || fail "after purge: $(leftovers)"

step "install and purge with no data: nothing named for the package remains"
in_root rm -r /var/lib/nimbus-codes /etc/nimbus-codes
in_root apt-get install -y -qq "/tmp/$(basename "$deb")" >/dev/null
in_root apt-get purge -y -qq nimbus-codes >/dev/null
[[ -z $(leftovers) ]] || fail "after purge: $(leftovers)"
echo
echo "test_package.sh: the package installs, runs, sets up a shared host, removes and purges as documented"
