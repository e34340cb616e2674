# Shared set-up for the benchmark scripts (sourced, not run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
nimbus=${NIMBUS_CODES_BIN:-$root/build/cmd/nimbus-codes}
work=${NIMBUS_BENCH_DIR:-/tmp/nimbus-bench}
mkdir -p "$work"

# Tools the benchmarks need beyond the build: the sqlite3 shell (the baseline)
# and GNU time (peak memory).
need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [[ ! -x $nimbus ]]; then
  "$root/scripts/deps.sh" build
  "$root/scripts/build.sh" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi

# A store with 20 services and 200 agents, as the generator's rows expect.
make_store() { # make_store PATH
  local store=$1
  rm -f "$store" "$store-wal" "$store-shm"
  NIMBUS_CODES_STORE=$store "$nimbus" init --tenant Contoso -q >/dev/null
  for i in $(seq 1 20); do
    NIMBUS_CODES_STORE=$store "$nimbus" service create "Service-$i" --ou Contoso \
      --license contact-center -q >/dev/null
  done
}

export NIMBUS_CODES_IDENTITY=$work/identity.toml
{
  printf '[users.%s]\nname = "Benchmark"\ntenant_admin = true\n' "$(id -un)"
  for i in $(seq 1 200); do printf '[users.agent-%s]\nname = "Agent %s"\n' "$i" "$i"; done
} >"$NIMBUS_CODES_IDENTITY"
chmod 600 "$NIMBUS_CODES_IDENTITY"

# Runs a command, printing "SECONDS PEAK_KB" on the last line of stderr into $2.
measure() { # measure OUTFILE command...
  local out=$1
  shift
  /usr/bin/time -f "%e %M" -o "$out" "$@"
}

# The benchmark store of N sessions: generated once and kept in $work; init
# upgrades it in place when the schema has moved on since and settles sessions
# not yet in the rollups. Beyond 10,000,000 sessions the rows are left out of
# the ledger (generate_store.sh): init would chain them for hours. Prints its path.
bench_store() { # bench_store N
  local store=$work/store-$1.db ledger=
  (($1 <= 10000000)) || ledger=unchained
  [[ -s $store ]] || "$root/bench/generate_store.sh" "$store" "$1" $ledger >&2
  NIMBUS_CODES_STORE=$store "$nimbus" init -q >/dev/null
  echo "$store"
}

csv_of() { # csv_of ROWS: the generated file's path (made once)
  local file=$work/sessions-$1.csv
  [[ -s $file ]] || python3 "$root/bench/generate_sessions.py" "$1" >"$file"
  echo "$file"
}

# A throw-away PostgreSQL server (scripts/postgresql.sh) with fsync on, as
# durable as SQLite's synchronous=FULL, stopped at exit. Sets its
# NIMBUS_TEST_* variables, psql on PATH, and $admin: the superuser's
# connection to the database postgres.
start_postgresql() {
  "$root/scripts/deps.sh" test
  server=$(mktemp -d /tmp/nimbus-bench-postgresql.XXXXXX)
  trap '"$root/scripts/postgresql.sh" stop "$server"' EXIT
  eval "$(NIMBUS_PG_FSYNC=on "$root/scripts/postgresql.sh" start "$server")"
  PATH=$(dirname "$NIMBUS_TEST_PSQL"):$PATH
  export PATH
  admin="$NIMBUS_TEST_POSTGRESQL_ADMIN dbname=postgres"
}

# A connection to a database of that server as a role, over its socket, where
# the server trusts the role as peer authentication would map a person.
socket_uri() { # socket_uri DATABASE ROLE
  local socket port
  socket=$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"$NIMBUS_TEST_POSTGRESQL_ADMIN")
  port=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$NIMBUS_TEST_POSTGRESQL_ADMIN")
  echo "postgresql:///$1?host=$socket&port=$port&user=$2"
}
