#!/usr/bin/env bash
# Two builds of nimbus-codes importing side by side: the generated CSV into a
# new 20-service store, then the same file again (every row unchanged), the
# builds taking turns (A B, B A, ...) so that both see the same machine state.
# Prints wall and CPU seconds (user + system) of each run: on a machine that
# other work shares, CPU seconds are the steadier figure.
#   bench/import_ab.sh BINARY_A BINARY_B [ROWS] [ROUNDS]   (default: 1000000 rows, 3 rounds)
source "$(dirname "$0")/common.sh"
a=${1:?usage: import_ab.sh BINARY_A BINARY_B [ROWS] [ROUNDS]}
b=${2:?usage: import_ab.sh BINARY_A BINARY_B [ROWS] [ROUNDS]}
rows=${3:-1000000}
rounds=${4:-3}
csv=$(csv_of "$rows")

run() { # run BINARY STORE: one import; prints its wall and CPU seconds
  /usr/bin/time -f "%e %U %S" -o "$work/ab.t" env NIMBUS_CODES_STORE="$2" "$1" session import "$csv" -q \
    >/dev/null
  awk '{ printf " %9.2f %9.2f", $1, $2 + $3 }' "$work/ab.t"
}

printf '%-5s %-5s %9s %9s %9s %9s\n' round build "import s" "cpu s" "again s" "cpu s"
for round in $(seq 1 "$rounds"); do
  order=(A B)
  ((round % 2)) || order=(B A)
  for name in "${order[@]}"; do
    binary=$a
    [[ $name == B ]] && binary=$b
    nimbus=$binary # the build that makes its own store
    make_store "$work/ab-$name.db"
    printf '%-5s %-5s' "$round" "$name"
    run "$binary" "$work/ab-$name.db" # new rows
    run "$binary" "$work/ab-$name.db" # the same rows again: all unchanged
    echo
  done
done
echo "(A: $a; B: $b; $rows rows; machine: $(nproc) cores, $(uname -m))"
