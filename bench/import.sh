#!/usr/bin/env bash
# Import of a generated CSV by 'nimbus-codes session import', side by side with
# the sqlite3 shell's '.import' of the same file into a plain table. A second
# reference shows what SQLite alone takes to put the same rows into the store's
# own schema (keys, checks, triggers; secondary indexes built after the rows, as
# the import does): the share of the gap that the schema, not the tool, costs.
#   bench/import.sh [ROWS...]      (default: 100000 1000000)
source "$(dirname "$0")/common.sh"
sizes=("$@")
((${#sizes[@]})) || sizes=(100000 1000000)

printf '%-10s %10s %10s %7s %9s %9s %12s %12s\n' rows "nimbus s" ".import s" ratio rows/s \
  "peak MiB" "+schema s" "ratio (both)"
for rows in "${sizes[@]}"; do
  csv=$(csv_of "$rows")
  make_store "$work/import.db"
  measure "$work/t1" env NIMBUS_CODES_STORE="$work/import.db" "$nimbus" session import "$csv" -q >/dev/null
  read -r ours ours_kb <"$work/t1"
  rm -f "$work/baseline.db"
  measure "$work/t2" sqlite3 "$work/baseline.db" ".import --csv $csv sessions"
  read -r base base_kb <"$work/t2"
  make_store "$work/schema.db"
  measure "$work/t3" sqlite3 "$work/schema.db" "
    PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536;
    ATTACH '$work/baseline.db' AS plain;
    BEGIN;
    DROP INDEX session_by_service; DROP INDEX session_by_user;
    INSERT INTO session (external_id, service_id, user, direction, started_at, ended_at, outcome, caller)
      SELECT id, (SELECT id FROM service WHERE name = plain.sessions.service), user, direction,
             unixepoch(started_at), unixepoch(nullif(ended_at, '')), nullif(outcome, ''), caller
      FROM plain.sessions;
    PRAGMA cache_size = -16384;
    CREATE INDEX session_by_service ON session (service_id, started_at);
    CREATE INDEX session_by_user ON session (user, started_at);
    COMMIT;"
  read -r schema _ <"$work/t3"
  awk -v r="$rows" -v o="$ours" -v b="$base" -v k="$ours_kb" -v s="$schema" \
    'BEGIN { printf "%-10s %10.2f %10.2f %7.2f %9.0f %9.1f %12.2f %12.2f\n",
             r, o, b, o / b, r / o, k / 1024, s, o / (b + s) }'
done
awk -v k="$base_kb" -v c="$(nproc)" -v m="$(uname -m)" \
  'BEGIN { printf "(sqlite3 peak: %.1f MiB; machine: %d cores, %s)\n", k / 1024, c, m }'
echo "(+schema: SQLite's INSERT ... SELECT from that plain table into the store's schema;"
echo " ratio (both): nimbus-codes against .import and that INSERT together, the whole job in SQL)"
