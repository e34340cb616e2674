#!/usr/bin/env bash
# Peak memory of the largest reports allowed, and of those refused: the bound
# of docs/reports.md ("Size") measured, on SQLite and then on PostgreSQL.
#   bench/report_memory.sh [N] [sqlite]   (default 1000000 sessions; stores made once)
# With "sqlite", the PostgreSQL pass (a throw-away server, scripts/postgresql.sh,
# with copies of the same stores) is left out.
#
# Two stores. One holds no sessions but a service with 100 primary codes, so that
# a report by day and code is as long as zero rows make it: 1,000 days are the
# 100,000 rows a report may have. The benchmark store of N sessions (200 agents)
# gives long reports out of the sessions themselves (by day, user and tag).
# Each line: the peak resident memory (GNU time) and the smallest address-space
# limit (RLIMIT_AS, found by bisection) under which the same command still ends
# the same way.
source "$(dirname "$0")/common.sh"
count=${1:-1000000}
engines=${2:-both}

codes=$work/codes-100.db
if [[ ! -s $codes ]]; then
  rm -f "$codes" "$codes-wal" "$codes-shm"
  {
    printf 'tenant = "Contoso"\nous = ["Contoso/Sales"]\n'
    names=()
    for i in $(seq -w 1 100); do
      printf '[[codes]]\ntype = "primary"\nname = "Code %s"\n' "$i"
      names+=("\"Code $i\"")
    done
    printf '[[services]]\nname = "Hotline"\nou = "Contoso/Sales"\nlicense = "contact-center"\n'
    printf 'primary = [%s]\nextensions = { codes-and-tags = true }\n' "$(IFS=,; echo "${names[*]}")"
  } >"$work/codes-100.toml"
  NIMBUS_CODES_STORE=$codes "$nimbus" init --tenant Contoso -q >/dev/null
  NIMBUS_CODES_STORE=$codes "$nimbus" config apply "$work/codes-100.toml" -q >/dev/null
fi
sessions=$(bench_store "$count")

# The smallest RLIMIT_AS (MiB) under which the command exits as it does unlimited.
address_space() { # address_space EXIT_STATUS command...
  python3 - "$@" <<'PY'
import resource, subprocess, sys
want, args = int(sys.argv[1]), sys.argv[2:]
def ends_the_same(limit):
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return subprocess.run(args, preexec_fn=cap, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == want
low, high = 1 << 20, 1 << 32
while high - low > 1 << 20:
    middle = (low + high) // 2
    low, high = (low, middle) if ends_the_same(middle) else (middle, high)
print(f"{high / (1 << 20):.0f}")
PY
}

run_case() { # label store args...
  local label=$1 store=$2
  shift 2
  local status=0
  NIMBUS_CODES_STORE=$store /usr/bin/time -f "%e %M" -o "$work/t" "$nimbus" report usage "$@" \
    >"$work/out" 2>/dev/null || status=$?
  read -r seconds kb < <(tail -n 1 "$work/t")
  local rows=-
  if ((status == 0)); then
    rows=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$work/out")
  fi
  local space
  space=$(NIMBUS_CODES_STORE=$store address_space "$status" "$nimbus" report usage "$@")
  printf '%-44s %4s %8s %7.2f %9.1f %9s\n' "$label" "$status" "$rows" "$seconds" \
    "$(awk -v k="$kb" 'BEGIN { print k / 1024 }')" "$space"
}

cases() { # cases CODES_STORE SESSIONS_STORE
  printf '%-44s %4s %8s %7s %9s %9s\n' "report usage --format json" exit rows seconds "peak MiB" \
    "AS MiB"
  run_case "100 codes, 1,000 days, by day,code" "$1" \
    --from 2024-01-01 --to 2026-09-26 --by day,code --format json
  run_case "100 codes, 1,001 days, by day,code" "$1" \
    --from 2024-01-01 --to 2026-09-27 --by day,code --format json
  run_case "100 codes, 2000 to 2099, by day,code" "$1" \
    --from 2000-01-01 --to 2099-12-31 --by day,code --format json
  run_case "100 codes, 0000 to 9999, by day,code" "$1" \
    --from 0000-01-01 --to 9999-12-31 --by day,code --format json
  run_case "$count sessions, Jan-Oct 2025, day,user,tag" "$2" \
    --from 2025-01-01 --to 2025-10-31 --by day,user,tag --format json
  run_case "$count sessions, 2025, by day,user,tag" "$2" \
    --from 2025-01-01 --to 2025-12-31 --by day,user,tag --format json
  run_case "$count sessions, 2025, by month,user,code" "$2" \
    --from 2025-01-01 --to 2025-12-31 --by month,user,code --format json
}

echo "== SQLite"
cases "$codes" "$sessions"
[[ $engines == sqlite ]] && exit 0

"$root/scripts/deps.sh" test # the PostgreSQL server
server=$(mktemp -d /tmp/nimbus-bench-postgresql.XXXXXX)
trap '"$root/scripts/postgresql.sh" stop "$server"' EXIT
eval "$("$root/scripts/postgresql.sh" start "$server")"
for db in codes sessions; do
  "$NIMBUS_TEST_PSQL" -X -q -d "$NIMBUS_TEST_POSTGRESQL_ADMIN dbname=postgres" \
    -c "CREATE DATABASE $db OWNER nimbus"
done
"$nimbus" store copy --from "$codes" --to "$NIMBUS_TEST_POSTGRESQL/codes" -q >/dev/null
"$nimbus" store copy --from "$sessions" --to "$NIMBUS_TEST_POSTGRESQL/sessions" -q >/dev/null
echo "== PostgreSQL"
cases "$NIMBUS_TEST_POSTGRESQL/codes" "$NIMBUS_TEST_POSTGRESQL/sessions"
