#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server (scripts/postgresql.sh)
# and its environment, then stops the server and removes it, whatever happens.
# If the server cannot start, the command does not run and this fails.
#   scripts/with-postgresql.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d /tmp/nimbus-postgresql.XXXXXX)
trap '"$here/postgresql.sh" stop "$dir"' EXIT
eval "$("$here/postgresql.sh" start "$dir")"
"$@"
