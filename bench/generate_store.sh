#!/usr/bin/env bash
# Builds a benchmark store: N sessions (default 10,000,000) over 20 services and
# 200 agents, spread over 2025 and 2026; code use skewed (five primary codes take
# 90% of conclusions); about 80% concluded, 10% of those retroactively days
# later; half with a secondary code, 30% with a tag.
#   bench/generate_store.sh STORE [N] [unchained]
#
# The faster path: services, codes and lists are set up with nimbus-codes
# itself; sessions and conclusions are then written with SQL in the sqlite3
# shell (a million processes concluding one session each would take hours).
# The result has exactly nimbus-codes' schema: the same tables, the same
# indexes (dropped during the bulk insert and created again from their own
# definitions), and every trigger in force while conclusions are written.
# Rows written with SQL are not in the ledger: the ledger is taken out first
# and rebuilt by `init`, as for a store from before the ledger, which chains
# every conclusion and audit record in the order they were written.
#
# "unchained" writes the rows at the store's own schema instead and leaves them
# out of the ledger (`verify` says so; reports never read it), for sizes where
# chaining them in one `init` would take hours and its write-ahead log as much
# disk as the store: the rows go in under a rollback journal, and the first
# write through nimbus-codes afterwards settles them into the rollups.
source "$(dirname "$0")/common.sh"
store=${1:?usage: generate_store.sh STORE [N] [unchained]}
count=${2:-10000000}
unchained=${3:-}

make_store "$store"
export NIMBUS_CODES_STORE=$store
primary=(Sale "No sale" Callback Complaint "Information only" Order Cancellation Upgrade
  "Technical issue" Billing Delivery Feedback)
secondary=(Upsell Rückruf "Escalated" "Follow-up" "Survey sent" "VIP")
for name in "${primary[@]}"; do "$nimbus" code create --type primary --name "$name" -q >/dev/null; done
for name in "${secondary[@]}"; do "$nimbus" code create --type secondary --name "$name" -q >/dev/null; done
p_list=$(IFS=,; echo "${primary[*]}")
s_list=$(IFS=,; echo "${secondary[*]}")
for i in $(seq 1 20); do
  "$nimbus" service apply "Service-$i" --primary "$p_list" --secondary "$s_list" -q >/dev/null
  "$nimbus" extension enable "Service-$i" codes-and-tags -q >/dev/null
done

bulk_indexes="'session_by_service', 'session_by_user', 'session_by_caller', 'conclusion_by_time',
  'conclusion_code_by_code'"
indexes=$(sqlite3 "$store" "SELECT sql || ';' FROM sqlite_schema WHERE name IN ($bulk_indexes)")
drops=$(sqlite3 "$store" "SELECT 'DROP INDEX ' || name || ';' FROM sqlite_schema WHERE name IN ($bulk_indexes)")
ledger_version=$(sqlite3 "$store" "SELECT CASE WHEN EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'ledger')
                                    THEN (SELECT user_version FROM pragma_user_version) END")
if [[ -n $unchained ]]; then
  ledger_version=
elif [[ -n $ledger_version ]]; then
  # Back to schema 6, the one before the ledger, for init to chain the rows
  # added below. Schema 8 rebuilds the session table in its own shape again,
  # and 9's to 17's tables, views and indexes are made anew (16's rollups
  # from the sessions); a later schema needs its own way back.
  ((ledger_version <= 17)) || { echo "generate_store.sh: schema $ledger_version is new to me" >&2; exit 1; }
  sqlite3 "$store" "DROP TRIGGER IF EXISTS usage_session_added; DROP TRIGGER IF EXISTS usage_session_changed;
                    DROP TRIGGER IF EXISTS usage_session_removed; DROP TRIGGER IF EXISTS usage_conclusion_added;
                    DROP TRIGGER IF EXISTS usage_conclusion_default_added; DROP TRIGGER IF EXISTS usage_code_added;
                    DROP TRIGGER IF EXISTS usage_tag_added; DROP TRIGGER IF EXISTS usage_settled_forward;
                    DROP TRIGGER IF EXISTS usage_settled_kept; DROP TRIGGER IF EXISTS usage_type_added;
                    DROP VIEW IF EXISTS usage_session_keys; DROP VIEW IF EXISTS usage_concluded_by;
                    DROP TABLE IF EXISTS usage_sessions; DROP TABLE IF EXISTS usage_types;
                    DROP TABLE IF EXISTS usage_codes; DROP TABLE IF EXISTS usage_tags;
                    DROP TABLE IF EXISTS usage_settled;
                    DROP TRIGGER IF EXISTS session_of_retired_service;
                    DROP TRIGGER IF EXISTS ou_used_no_delete; DROP TRIGGER IF EXISTS service_used_no_delete;
                    DROP TABLE IF EXISTS ou_retired; DROP TABLE IF EXISTS service_retired;
                    DROP TABLE IF EXISTS conclusion_default; DROP TABLE IF EXISTS service_wrap_up;
                    DROP VIEW IF EXISTS session_caller; DROP VIEW IF EXISTS directory_country;
                    DROP TABLE IF EXISTS caller_number;
                    DROP TABLE IF EXISTS ledger_pending; DROP TABLE IF EXISTS directory_entry;
                    DROP TABLE IF EXISTS session_context; DROP TABLE IF EXISTS context_field;
                    DROP TABLE IF EXISTS session_times;
                    DROP TRIGGER IF EXISTS ou_with_context_no_delete;
                    DROP TABLE IF EXISTS directory; DROP INDEX IF EXISTS session_by_caller;
                    DROP TABLE ledger; PRAGMA user_version = 6"
fi
# A rollback journal holds nothing for pages added at the end of the file,
# where a write-ahead log would hold the whole insert.
sqlite3 "$store" <<SQL
PRAGMA journal_mode = DELETE;
PRAGMA cache_size = -262144;
PRAGMA foreign_keys = ON;
$drops
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $count),
     draws AS MATERIALIZED (SELECT i, abs(random()) % 20 AS service, abs(random()) % 200 AS agent,
                      1735689600 + abs(random()) % 63072000 AS started,
                      30 + abs(random()) % 1800 AS length, abs(random()) % 100 AS fate FROM n)
INSERT INTO session (external_id, service_id, user, direction, started_at, ended_at, outcome, caller)
SELECT 'g-' || i, 1 + service, 'agent-' || (1 + agent), 'inbound', started,
       CASE WHEN fate < 2 THEN NULL ELSE started + length END,
       CASE WHEN fate < 2 THEN NULL WHEN fate < 85 THEN 'accepted' WHEN fate < 90 THEN 'rona'
            WHEN fate < 96 THEN 'abandoned' ELSE 'transferred' END,
       '+41 44 ' || printf('%06d', abs(random()) % 1000000)
FROM draws;

CREATE TEMP TABLE pcode AS
  SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, name FROM code WHERE type = 'primary';
CREATE TEMP TABLE scode AS
  SELECT row_number() OVER (ORDER BY id) - 1 AS k, id, name FROM code WHERE type = 'secondary';
CREATE TEMP TABLE draw AS
  SELECT id AS session_id, user, ended_at, abs(random()) % 1000 AS p, abs(random()) % 1000 AS s,
         abs(random()) % 1000 AS t, abs(random()) % 100 AS late
  FROM session WHERE ended_at IS NOT NULL AND abs(random()) % 100 < 82;

INSERT INTO conclusion (session_id, concluded_at, user, via, retroactive, code_count, tag_count)
SELECT session_id, ended_at + CASE WHEN late < 10 THEN 259200 ELSE -10 END, user, NULL,
       late < 10, 1 + (s < 500), t < 300 FROM draw;
INSERT INTO conclusion_code (session_id, position, code_id, type, name)
SELECT d.session_id, 1, c.id, 'primary', c.name FROM draw d JOIN pcode c ON c.k =
  CASE WHEN d.p < 400 THEN 0 WHEN d.p < 650 THEN 1 WHEN d.p < 800 THEN 2 WHEN d.p < 880 THEN 3
       WHEN d.p < 900 THEN 4 ELSE 5 + d.p % 7 END;
INSERT INTO conclusion_code (session_id, position, code_id, type, name)
SELECT d.session_id, 2, c.id, 'secondary', c.name FROM draw d JOIN scode c ON c.k = d.s % 6
WHERE d.s < 500;
INSERT INTO conclusion_tag (session_id, position, tag, tag_key)
SELECT session_id, 1, 'tag-' || (1 + t % 20), 'tag-' || (1 + t % 20) FROM draw WHERE t < 300;
COMMIT;
$indexes
PRAGMA journal_mode = WAL;
SQL
if [[ -n $ledger_version ]]; then
  "$nimbus" init -q >/dev/null
fi
echo "$store: $(sqlite3 "$store" 'SELECT count(*) FROM session') sessions, $(sqlite3 "$store" 'SELECT count(*) FROM conclusion') concluded" >&2
