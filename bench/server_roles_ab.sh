#!/usr/bin/env bash
# Two builds side by side on PostgreSQL: 16 processes concluding distinct
# sessions on a trusted team's store made by each, and on a store of the newer
# build whose server enforces its roster; two rounds, taking turns.
#   bench/server_roles_ab.sh BEFORE AFTER [SESSIONS]
# BEFORE and AFTER are nimbus-codes binaries (BEFORE from a release before
# schema 9, whose grants file had no roster tables). PostgreSQL runs as a
# throw-away server with fsync on (start_postgresql).
source "$(dirname "$0")/common.sh"
before=$1 after=$2 sessions=${3:-3000}
start_postgresql
me=$(id -un)
person() { socket_uri "$1" "$me"; }
psql -X -q -d "$admin" -c "CREATE ROLE ab_team NOLOGIN" -c "CREATE ROLE \"$me\" LOGIN IN ROLE ab_team"

setup() { # setup BINARY DATABASE: Service-1 offering Sale, the team's privileges
  psql -X -q -d "$admin" -c "CREATE DATABASE $2 OWNER nimbus"
  local store=$NIMBUS_TEST_POSTGRESQL/$2
  NIMBUS_CODES_STORE=$store "$1" init --tenant Contoso -q >/dev/null
  NIMBUS_CODES_STORE=$store "$1" service create Service-1 --ou Contoso --license contact-center -q >/dev/null
  NIMBUS_CODES_STORE=$store "$1" code create --type primary --name Sale -q >/dev/null
  NIMBUS_CODES_STORE=$store "$1" service apply Service-1 --primary Sale -q >/dev/null
  NIMBUS_CODES_STORE=$store "$1" extension enable Service-1 codes-and-tags -q >/dev/null
  # The grants file of the build's own time: a table it names that the
  # schema lacks fails the whole statement, so each line runs on its own.
  sed 's/nimbus_app/ab_team/g' "$root/docs/examples/postgresql-grants.sql" | psql -X -q -d "$store" 2>/dev/null || true
  psql -X -q -d "$store" -c "GRANT INSERT ON ou, code, service, service_code, service_extension, session,
    conclusion, conclusion_code, conclusion_tag, audit, ledger TO ab_team" 2>/dev/null
}
run() { # run BINARY DATABASE LABEL
  echo "== $3"
  python3 "$root/bench/conclude.py" "$(person "$2")" "$NIMBUS_CODES_IDENTITY" "$1" \
    --sequential 0 --concurrent "$sessions" --workers 16
}

setup "$before" ab_before
setup "$after" ab_after
setup "$after" ab_enforced
NIMBUS_CODES_STORE=$NIMBUS_TEST_POSTGRESQL/ab_enforced "$after" identity push "$NIMBUS_CODES_IDENTITY" -q >/dev/null
for round in 1 2; do
  run "$before" ab_before "before, trusted team, round $round"
  run "$after" ab_after "after, trusted team, round $round"
  run "$after" ab_enforced "after, roster enforced by the server, round $round"
done
