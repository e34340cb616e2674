#!/usr/bin/env bash
# SQLite against PostgreSQL on this machine: 16 processes concluding 10,000
# distinct sessions at once on a store of 1,000,000 sessions, each engine in
# turn with the other idle, and the store copy that moves those sessions from
# one to the other.
#   bench/engines.sh [SESSIONS] [WORKERS]
# PostgreSQL runs as a throw-away server (scripts/postgresql.sh) with fsync on:
# as durable as SQLite's synchronous=FULL, so that the two are comparable.
source "$(dirname "$0")/common.sh"
sessions=${1:-10000}
workers=${2:-16}
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null

store=$(bench_store 1000000)

conclude() { # conclude STORE
  echo "== $1"
  python3 "$root/bench/conclude.py" "$1" "$NIMBUS_CODES_IDENTITY" "$nimbus" \
    --sequential 0 --concurrent "$sessions" --workers "$workers"
}

cp "$store" "$work/engines.db"
rm -f "$work/engines.db-wal" "$work/engines.db-shm"
conclude "$work/engines.db"

start_postgresql
psql -X -q -d "$admin" -c "CREATE DATABASE bench OWNER nimbus"
uri=$NIMBUS_TEST_POSTGRESQL/bench

echo "== store copy of 1,000,000 sessions, SQLite to PostgreSQL"
measure "$work/copy.time" "$nimbus" store copy --from "$store" --to "$uri" -q >"$work/copy.rows"
read -r seconds peak <"$work/copy.time"
rows=$(awk 'NR > 1 { total += $2 } END { print total }' "$work/copy.rows")
echo "  $rows rows in $seconds s ($(awk -v r="$rows" -v s="$seconds" 'BEGIN { printf "%.0f", r / s }') rows/s), peak $((peak / 1024)) MiB"
# Let the server settle (statistics, dirty pages) before measuring it.
psql -X -q -d "$NIMBUS_TEST_POSTGRESQL_ADMIN dbname=bench" -c "VACUUM ANALYZE" -c "CHECKPOINT"

echo "== a new connection and 'select 1', the floor of every invocation on each engine"
hyperfine -N --warmup 10 --runs 200 --style basic \
  "sqlite3 $work/engines.db 'select 1'" "psql -X -q -d $uri -c 'select 1'" 2>&1 |
  grep -E "Time|±|Benchmark"
conclude "$uri"
