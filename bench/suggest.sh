#!/usr/bin/env bash
# Suggestions while concluding: shell completion of --primary and --tag for an
# open session, which counts the codes of the caller's earlier sessions, the
# service's codes this month and its tags of the last 90 days, on a store of
# N sessions (default 1,000,000); beside 'nimbus-codes --version' and the
# completion of a command's own words, which reads no store. Measured by
# hyperfine (mean of many runs), as a tenant admin (the service's sessions)
# and as an agent (their own).
#   bench/suggest.sh [N]
source "$(dirname "$0")/common.sh"
count=${1:-1000000}
store=$work/suggest.db
cp "$(bench_store "$count")" "$store"
rm -f "$store-wal" "$store-shm"
export NIMBUS_CODES_STORE=$store
# The end of the generated calls' two years: every call is in the past, and December 2026 is this month.
export NIMBUS_CODES_NOW=2026-12-31T20:00:00Z
# A caller of Service-1 with concluded sessions, and their next call, open.
caller=$(sqlite3 "$store" "SELECT s.caller FROM session s JOIN conclusion c ON c.session_id = s.id
                           WHERE s.service_id = 1 LIMIT 1")
"$nimbus" session add --id bench-open --service Service-1 --user agent-1 \
  --started-at 2026-12-31T19:58:00Z --caller "$caller" -q >/dev/null
printf '%s sessions, %s of them Service-1'"'"'s this month\n' \
  "$(sqlite3 "$store" 'SELECT count(*) FROM session')" \
  "$(sqlite3 "$store" "SELECT count(*) FROM session WHERE service_id = 1
                       AND started_at >= strftime('%s', '2026-12-01')")"
hyperfine -N --warmup 10 --runs 100 --export-json "$work/suggest.json" \
  "$nimbus --version" \
  "$nimbus __complete -- session con" \
  "$nimbus __complete -- session conclude bench-open --primary ''" \
  "$nimbus __complete -- session conclude bench-open --tag ''" \
  "$nimbus __complete -- --as agent-1 session conclude bench-open --primary ''" \
  "$nimbus __complete -- --as agent-1 session conclude bench-open --tag ''" >/dev/null
python3 - "$work/suggest.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    command = r["command"].split("nimbus-codes ", 1)[1]
    print(f"  {command:<72} {r['mean'] * 1000:6.2f} ms  (max {r['max'] * 1000:.2f})")
PY
