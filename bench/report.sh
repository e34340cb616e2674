#!/usr/bin/env bash
# report usage on a large store, side by side with the best hand-written SQL
# for the same answer in the sqlite3 shell, both as whole processes, best of 3.
# The report reads the store's rollups; with --recount it counts the sessions
# themselves, as every report did before schema 16.
#   bench/report.sh [N] [postgresql]   (default 10000000 sessions; the store is made once)
# With "postgresql", the store is then copied to a throw-away PostgreSQL server
# (store copy, timed) and the same reports run there, each checked equal to
# SQLite's.
source "$(dirname "$0")/common.sh"
count=${1:-10000000}
engines=${2:-sqlite}
store=$(bench_store "$count")
export NIMBUS_CODES_STORE=$store

june=(1780272000 1782864000)  # 2026-06-01 .. 2026-07-01, UTC
year=(1767225600 1798761600)  # 2026-01-01 .. 2027-01-01, UTC
all_services="1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20"

# Best of five runs, timed to the microsecond (GNU time rounds to 10 ms, the
# size of the targets), and the peak memory of one more: "SECONDS PEAK_KB".
best() {
  local seconds
  seconds=$(python3 - "$@" <<'PY'
import subprocess, sys, time
runs = []
for _ in range(5):
    start = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    runs.append(time.perf_counter() - start)
print(f"{min(runs):.4f}")
PY
)
  /usr/bin/time -f "%M" -o "$work/t" "$@" >/dev/null 2>&1
  echo "$seconds $(cat "$work/t")"
}

by_code_sql() { # services from to
  cat <<SQL
WITH concluded AS (
  SELECT count(*) AS n FROM session s JOIN conclusion c ON c.session_id = s.id
  WHERE s.service_id IN ($1) AND s.started_at >= $2 AND s.started_at < $3)
SELECT cc.type, cc.name, cc.code_id, count(*), printf('%.4f', count(*) * 1.0 / (SELECT n FROM concluded))
FROM session s JOIN conclusion_code cc ON cc.session_id = s.id
WHERE s.service_id IN ($1) AND s.started_at >= $2 AND s.started_at < $3
GROUP BY cc.code_id, cc.name ORDER BY cc.type, lower(cc.name);
SQL
}

by_month_code_sql() { # services from to
  cat <<SQL
WITH u AS (
  SELECT strftime('%Y-%m', s.started_at, 'unixepoch') AS month, cc.type, cc.name, cc.code_id, count(*) AS k
  FROM session s JOIN conclusion_code cc ON cc.session_id = s.id
  WHERE s.service_id IN ($1) AND s.started_at >= $2 AND s.started_at < $3
  GROUP BY 1, cc.code_id, cc.name),
m AS (
  SELECT strftime('%Y-%m', s.started_at, 'unixepoch') AS month, count(*) AS n
  FROM session s JOIN conclusion c ON c.session_id = s.id
  WHERE s.service_id IN ($1) AND s.started_at >= $2 AND s.started_at < $3 GROUP BY 1)
SELECT u.month, u.type, u.name, u.code_id, u.k, printf('%.4f', u.k * 1.0 / m.n)
FROM u JOIN m USING (month) ORDER BY u.month, u.type, lower(u.name);
SQL
}

# The same answer: both outputs parsed as CSV hold the same rows.
same_answer() { # nimbus-csv sqlite-csv
  python3 - "$1" "$2" <<'PY'
import csv, sys
ours = list(csv.reader(open(sys.argv[1], newline="", encoding="utf-8")))[1:]
theirs = list(csv.reader(open(sys.argv[2], newline="", encoding="utf-8")))
sys.exit(0 if sorted(ours) == sorted(theirs) else 1)
PY
}

run_case() { # label sql nimbus-args...
  local label=$1 sql=$2
  shift 2
  "$nimbus" report usage "$@" --format csv >"$work/ours.csv"
  sqlite3 -csv "$store" "$sql" >"$work/theirs.csv"
  if ! same_answer "$work/ours.csv" "$work/theirs.csv"; then
    echo "$label: nimbus-codes and the SQL disagree" >&2
    exit 1
  fi
  "$nimbus" report usage "$@" --format csv --recount >"$work/recounted.csv"
  cmp -s "$work/ours.csv" "$work/recounted.csv" || { echo "$label: --recount differs" >&2; exit 1; }
  read -r ours ours_kb < <(best "$nimbus" report usage "$@" --format csv)
  read -r recount recount_kb < <(best "$nimbus" report usage "$@" --format csv --recount)
  read -r base base_kb < <(best sqlite3 -csv "$store" "$sql")
  awk -v l="$label" -v o="$ours" -v r="$recount" -v b="$base" -v ok="$ours_kb" -v rk="$recount_kb" \
    -v bk="$base_kb" 'BEGIN { printf "%-30s %9.3f %9.3f %9.3f %7.3f %8.1f %8.1f %8.1f\n", l, o, r, b,
                              o / b, ok / 1024, rk / 1024, bk / 1024 }'
}

# The cases: label, the sqlite3 shell's SQL, nimbus-codes' arguments.
labels=("one service, month, code" "one service, year, month+code" "all services, month, code")
sqls=("$(by_code_sql 1 "${june[@]}")" "$(by_month_code_sql 1 "${year[@]}")"
  "$(by_code_sql "$all_services" "${june[@]}")")
arguments=("--service Service-1 --month 2026-06 --by code"
  "--service Service-1 --from 2026-01-01 --to 2026-12-31 --by month,code"
  "--month 2026-06 --by code")

printf '%-30s %9s %9s %9s %7s %8s %8s %8s\n' "report ($count sessions)" "nimbus s" "recount s" \
  "sqlite3 s" ratio "MiB" "MiB" "MiB"
for i in "${!labels[@]}"; do
  read -ra args <<<"${arguments[$i]}"
  run_case "${labels[$i]}" "${sqls[$i]}" "${args[@]}"
  cp "$work/ours.csv" "$work/sqlite-$i.csv"
done
[[ $engines == postgresql ]] || exit 0

start_postgresql
psql -X -q -d "$admin" -c "CREATE DATABASE report OWNER nimbus"
uri=$NIMBUS_TEST_POSTGRESQL/report
measure "$work/copy.time" "$nimbus" store copy --from "$store" --to "$uri" -q >/dev/null
read -r seconds peak <"$work/copy.time"
echo "store copy to PostgreSQL: $seconds s, peak $((peak / 1024)) MiB"
psql -X -q -d "$NIMBUS_TEST_POSTGRESQL_ADMIN dbname=report" -c "VACUUM ANALYZE" -c "CHECKPOINT"
export NIMBUS_CODES_STORE=$uri
printf '%-30s %9s %9s %8s %8s\n' "PostgreSQL ($count sessions)" "nimbus s" "recount s" "MiB" "MiB"
for i in "${!labels[@]}"; do
  read -ra args <<<"${arguments[$i]}"
  "$nimbus" report usage "${args[@]}" --format csv >"$work/ours.csv"
  cmp -s "$work/ours.csv" "$work/sqlite-$i.csv" || { echo "${labels[$i]}: PostgreSQL differs" >&2; exit 1; }
  "$nimbus" report usage "${args[@]}" --format csv --recount >"$work/recounted.csv"
  cmp -s "$work/ours.csv" "$work/recounted.csv" || { echo "${labels[$i]}: --recount differs" >&2; exit 1; }
  read -r ours ours_kb < <(best "$nimbus" report usage "${args[@]}" --format csv)
  read -r recount recount_kb < <(best "$nimbus" report usage "${args[@]}" --format csv --recount)
  awk -v l="${labels[$i]}" -v o="$ours" -v r="$recount" -v ok="$ours_kb" -v rk="$recount_kb" \
    'BEGIN { printf "%-30s %9.3f %9.3f %8.1f %8.1f\n", l, o, r, ok / 1024, rk / 1024 }'
done
