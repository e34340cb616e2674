#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests and benchmarks: a fresh cluster
# in a temporary folder, listening on 127.0.0.1 and a free port, run as the
# postgres user when started by root.
#
#   scripts/postgresql.sh start DIR   starts it; prints the environment the tests
#                                     read, as shell assignments to eval
#   scripts/postgresql.sh stop DIR    stops it and removes DIR
#
# The cluster sorts text by ICU's English rules, unlike SQLite: every ordering
# the store relies on must say COLLATE "C". Tests connect as the role "nimbus"
# with a password that only a pgpass file holds, as a real deployment would.
set -euo pipefail
command=${1:?usage: postgresql.sh start|stop DIR}
dir=${2:?usage: postgresql.sh start|stop DIR}

bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
if [[ -z $bin ]]; then
  echo "postgresql.sh: no PostgreSQL server installed (scripts/deps.sh test installs it)" >&2
  exit 1
fi

as_owner() { # runs a server program as the cluster's owner
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case $command in
  start)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 --locale-provider=icu --icu-locale=en >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${NIMBUS_PG_FSYNC:-off} -c max_connections=200" >/dev/null; then
      cat "$dir/server.log" >&2
      exit 1
    fi
    "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE nimbus LOGIN CREATEDB PASSWORD '$password'" >/dev/null
    printf '127.0.0.1:%s:*:nimbus:%s\n' "$port" "$password" >"$dir/pgpass"
    chmod 600 "$dir/pgpass"
    echo "export NIMBUS_TEST_POSTGRESQL=postgresql://nimbus@127.0.0.1:$port"
    echo "export NIMBUS_TEST_POSTGRESQL_ADMIN='host=$dir port=$port user=postgres'"
    echo "export NIMBUS_TEST_PSQL=$bin/psql"
    echo "export PGPASSFILE=$dir/pgpass"
    ;;
  stop)
    if [[ -f $dir/data/postmaster.pid ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: postgresql.sh start|stop DIR" >&2
    exit 64
    ;;
esac
