#!/usr/bin/env bash
# Start-up: 'nimbus-codes --version' and 'code list' on a small store, against
# 'sqlite3 FILE "select 1"', measured by hyperfine (mean of many runs).
source "$(dirname "$0")/common.sh"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
store=$work/startup.db
make_store "$store"
# A small team: the store's admin and a few agents.
export NIMBUS_CODES_IDENTITY=$work/startup-identity.toml
{
  printf '[users.%s]\nname = "Benchmark"\ntenant_admin = true\n' "$(id -un)"
  for i in 1 2 3 4 5; do printf '[users.agent-%s]\nname = "Agent %s"\nmember = ["Service-1"]\n' "$i" "$i"; done
} >"$NIMBUS_CODES_IDENTITY"
chmod 600 "$NIMBUS_CODES_IDENTITY"
for name in Sale "No sale" Callback Complaint; do
  NIMBUS_CODES_STORE=$store "$nimbus" code create --type primary --name "$name" -q >/dev/null
done
export NIMBUS_CODES_STORE=$store
hyperfine -N --warmup 20 --runs 300 --export-json "$work/startup.json" \
  "$nimbus --version" "$nimbus code list" "sqlite3 $store 'select 1'" >/dev/null
python3 - "$work/startup.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[2]["mean"]
for r in results:
    print(f"  {r['command'].split('/')[-1]:<40} {r['mean'] * 1000:6.2f} ms  ratio {r['mean'] / base:.2f}")
PY
