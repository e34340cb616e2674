#!/usr/bin/env bash
# What the caller directory costs an import: 'nimbus-codes session import' of
# the generated CSV into a store without a directory, and into one with a
# directory (then each new caller is read as a phone number by libphonenumber,
# and the reading stored; docs/sessions.md, "Caller information").
#   bench/import_callers.sh [ROWS...]      (default: 100000)
source "$(dirname "$0")/common.sh"
sizes=("$@")
((${#sizes[@]})) || sizes=(100000)

printf 'number,name\n+41 44 000 00 01,Benchmark Caller\n' >"$work/callers.csv"
printf '%-10s %16s %16s %7s %16s\n' rows "no directory s" "directory s" ratio "distinct callers"
for rows in "${sizes[@]}"; do
  csv=$(csv_of "$rows")
  make_store "$work/plain.db"
  measure "$work/t1" env NIMBUS_CODES_STORE="$work/plain.db" "$nimbus" session import "$csv" -q >/dev/null
  read -r plain _ <"$work/t1"
  make_store "$work/directory.db"
  NIMBUS_CODES_STORE="$work/directory.db" "$nimbus" directory import "$work/callers.csv" \
    --country CH -q >/dev/null
  measure "$work/t2" env NIMBUS_CODES_STORE="$work/directory.db" "$nimbus" session import "$csv" -q >/dev/null
  read -r directory _ <"$work/t2"
  callers=$(sqlite3 "$work/directory.db" "SELECT count(*) FROM caller_number")
  awk -v r="$rows" -v p="$plain" -v d="$directory" -v c="$callers" \
    'BEGIN { printf "%-10s %16.2f %16.2f %7.2f %16s\n", r, p, d, d / p, c }'
done
