#!/usr/bin/env bash
# PostgreSQL as a trusted team's store, then the same store once its server
# enforces a roster (docs/postgresql.md, "A server that enforces the roles"):
# what row-level security and lock-free writers cost a report of one service's
# month on 1,000,000 sessions, and 16 processes concluding distinct sessions.
#   bench/server_roles.sh [SESSIONS] [WORKERS]
# PostgreSQL runs as a throw-away server with fsync on (start_postgresql).
source "$(dirname "$0")/common.sh"
sessions=${1:-5000}
workers=${2:-16}
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null

store=$(bench_store 1000000)
start_postgresql
me=$(id -un)

# The owner is the test server's role "nimbus"; the team's group holds the
# privileges of the grants file; each person logs in as a member of it.
person() { socket_uri bench "$1"; }
psql -X -q -d "$admin" -c "CREATE DATABASE bench OWNER nimbus" -c "CREATE ROLE bench_team NOLOGIN" \
  -c "CREATE ROLE \"$me\" LOGIN IN ROLE bench_team" -c "CREATE ROLE bench_supervisor LOGIN IN ROLE bench_team"
owner=$NIMBUS_TEST_POSTGRESQL/bench
"$nimbus" store copy --from "$store" --to "$owner" -q >/dev/null
sed 's/nimbus_app/bench_team/g' "$root/docs/examples/postgresql-grants.sql" | psql -X -q -d "$owner"
psql -X -q -d "$NIMBUS_TEST_POSTGRESQL_ADMIN dbname=bench" -c "VACUUM ANALYZE" -c "CHECKPOINT"

report() { # report URI: one service, one month, by code
  echo "NIMBUS_CODES_STORE='$1' $nimbus report usage --service Service-1 --month 2026-06 -q"
}
conclude() { # conclude URI
  python3 "$root/bench/conclude.py" "$1" "$NIMBUS_CODES_IDENTITY" "$nimbus" \
    --sequential 0 --concurrent "$sessions" --workers "$workers"
}

echo "== a trusted team's store: $me through the group's privileges, no roster"
hyperfine --warmup 5 --runs 50 --style basic -n "report, trusted team" "$(report "$(person "$me")")" 2>&1 |
  grep -E "Time|±"
conclude "$(person "$me")"

roster=$work/roster.toml
{ cat "$NIMBUS_CODES_IDENTITY"; printf '[users.bench_supervisor]\nname = "Supervisor"\nsupervisor = ["Service-1"]\n'; } >"$roster"
chmod 600 "$roster"
"$nimbus" --store "$owner" identity push "$roster" -q >/dev/null

echo "== the same store, its roster enforced by the server"
hyperfine --warmup 5 --runs 50 --style basic -n "report, tenant admin" "$(report "$(person "$me")")" \
  -n "report, supervisor of the service" "$(report "$(person bench_supervisor)")" 2>&1 |
  grep -E "Time|±|report,"
conclude "$(person "$me")"
