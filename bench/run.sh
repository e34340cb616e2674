#!/usr/bin/env bash
# Every benchmark of docs/performance.md, each beside its baseline in this run.
#   bench/run.sh            (10,000,000 sessions for the reports; made once, about 3 minutes)
source "$(dirname "$0")/common.sh"
echo "== machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(date -u +%F)"
echo "== 1. import"
"$root/bench/import.sh" 100000 1000000
echo "== 2 and 5. conclude (on a store of 1,000,000 sessions)"
cp "$(bench_store 1000000)" "$work/conclude.db"
rm -f "$work/conclude.db-wal" "$work/conclude.db-shm"
python3 "$root/bench/conclude.py" "$work/conclude.db" "$NIMBUS_CODES_IDENTITY" "$nimbus" \
  --sequential 1000 --concurrent 10000 --workers 16
echo "== 3. reports"
"$root/bench/report.sh" 10000000
echo "== 4. start-up"
"$root/bench/startup.sh"
echo "== 6. report memory (SQLite; bench/report_memory.sh alone adds PostgreSQL)"
"$root/bench/report_memory.sh" 1000000 sqlite
echo "== 7. the ledger: verify"
"$root/bench/ledger.sh"
echo "== 8. suggestions in completion (on a store of 1,000,000 sessions)"
"$root/bench/suggest.sh" 1000000
echo "== 9. session sweep (about 100,000 overdue in a store of 1,000,000 sessions)"
"$root/bench/sweep.sh" 1000000 100000
