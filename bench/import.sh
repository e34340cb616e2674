#!/usr/bin/env bash
# Import of a generated CSV by 'nimbus-codes session import', side by side with
# the sqlite3 shell's '.import' of the same file into a plain table.
#   bench/import.sh [ROWS...]      (default: 100000 1000000)
source "$(dirname "$0")/common.sh"
sizes=("$@")
((${#sizes[@]})) || sizes=(100000 1000000)

printf '%-10s %12s %12s %10s %9s %12s\n' rows "nimbus s" "sqlite3 s" "rows/s" ratio "peak MiB"
for rows in "${sizes[@]}"; do
  csv=$(csv_of "$rows")
  make_store "$work/import.db"
  measure "$work/t1" env NIMBUS_CODES_STORE="$work/import.db" "$nimbus" session import "$csv" -q >/dev/null
  read -r ours ours_kb <"$work/t1"
  rm -f "$work/baseline.db"
  measure "$work/t2" sqlite3 "$work/baseline.db" ".import --csv $csv sessions"
  read -r base base_kb <"$work/t2"
  awk -v r="$rows" -v o="$ours" -v b="$base" -v k="$ours_kb" \
    'BEGIN { printf "%-10s %12.2f %12.2f %10.0f %9.2f %12.1f\n", r, o, b, r / o, o / b, k / 1024 }'
done
awk -v k="$base_kb" -v c="$(nproc)" -v m="$(uname -m)" \
  'BEGIN { printf "(sqlite3 peak: %.1f MiB; machine: %d cores, %s)\n", k / 1024, c, m }'
