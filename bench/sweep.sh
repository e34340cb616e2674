#!/usr/bin/env bash
# session sweep of about 100,000 overdue sessions in a store of N sessions,
# side by side with the sqlite3 shell inserting the same conclusions (and
# their default marks and codes) in one statement each, on copies of the
# same store. The shell writes no ledger entries and no audit records; the
# sweep writes both, 1,000 sessions per transaction.
#   bench/sweep.sh [N] [OVERDUE]     (default 1000000 sessions, 100000 overdue)
source "$(dirname "$0")/common.sh"
count=${1:-1000000}
wanted=${2:-100000}
store=$(bench_store "$count")

# Services get a policy, in id order, until about `wanted` sessions are
# overdue: the generated calls that ended and were never concluded.
policy_services=()
overdue=0
while read -r service open; do
  ((overdue >= wanted)) && break
  policy_services+=("$service")
  overdue=$((overdue + open))
done < <(sqlite3 -separator ' ' "$store" "
  SELECT s.service_id, count(*) FROM session s LEFT JOIN conclusion c ON c.session_id = s.id
  WHERE c.session_id IS NULL AND s.ended_at IS NOT NULL GROUP BY s.service_id ORDER BY s.service_id")
ids=$(IFS=,; echo "${policy_services[*]}")

for copy in nimbus shell; do
  rm -f "$work/sweep-$copy.db"*
  cp "$store" "$work/sweep-$copy.db"
done
for service in "${policy_services[@]}"; do
  name=$(sqlite3 "$store" "SELECT name FROM service WHERE id = $service")
  code=$(sqlite3 "$store" "SELECT c.name FROM service_code l JOIN code c ON c.id = l.code_id
                           WHERE l.service_id = $service AND l.list = 'primary' ORDER BY l.position LIMIT 1")
  for copy in nimbus shell; do
    NIMBUS_CODES_STORE="$work/sweep-$copy.db" NIMBUS_CODES_NOW=2025-01-01T00:00:00Z \
      "$nimbus" service wrap-up "$name" --deadline 1d --default-primary "$code" -q >/dev/null
  done
done
now=2027-06-01T00:00:00Z
now_s=1811808000

measure "$work/t1" env NIMBUS_CODES_STORE="$work/sweep-nimbus.db" NIMBUS_CODES_NOW=$now \
  "$nimbus" session sweep -q --format csv >"$work/swept.csv"
read -r ours ours_kb <"$work/t1"
swept=$(($(wc -l <"$work/swept.csv") - 1))

measure "$work/t2" sqlite3 "$work/sweep-shell.db" "
  PRAGMA foreign_keys = ON;
  BEGIN;
  CREATE TEMP TABLE due AS
    SELECT s.id, s.user, s.ended_at + w.deadline_seconds AS deadline_at, w.default_primary,
           c.name AS code_name
    FROM session s JOIN service_wrap_up w ON w.service_id = s.service_id
    JOIN code c ON c.id = w.default_primary
    WHERE s.service_id IN ($ids) AND s.ended_at IS NOT NULL AND s.ended_at >= w.effective_from
      AND s.ended_at + w.deadline_seconds <= $now_s
      AND NOT EXISTS (SELECT 1 FROM conclusion x WHERE x.session_id = s.id);
  INSERT INTO conclusion (session_id, concluded_at, user, via, retroactive, code_count, tag_count)
    SELECT id, $now_s, user, 'bench', 1, 1, 0 FROM due;
  INSERT INTO conclusion_default (session_id, deadline_at) SELECT id, deadline_at FROM due;
  INSERT INTO conclusion_code (session_id, position, code_id, type, name)
    SELECT id, 1, default_primary, 'primary', code_name FROM due;
  COMMIT;"
read -r shell _ <"$work/t2"
shell_rows=$(sqlite3 "$work/sweep-shell.db" "SELECT count(*) FROM conclusion_default")

printf '%-10s %9s %12s %10s %10s %7s %10s\n' sessions overdue "nimbus s" "shell s" "shell rows" ratio "peak MiB"
awk -v n="$count" -v o="$swept" -v a="$ours" -v b="$shell" -v r="$shell_rows" -v k="$ours_kb" \
  'BEGIN { printf "%-10s %9s %12.2f %10.2f %10s %7.2f %10.1f\n", n, o, a, b, r, a / b, k / 1024 }'
NIMBUS_CODES_STORE="$work/sweep-nimbus.db" "$nimbus" verify -q >/dev/null && echo "verify: the ledger holds"
