#!/usr/bin/env bash
# The ledger at scale: a store of about 1,000,000 conclusions (1,250,000
# sessions from bench/generate_store.sh, whose ledger `init` builds as for a
# store from before the ledger), then `nimbus-codes verify` over it: time and
# peak memory, and the same on a store a quarter of the size, to show that
# memory does not grow with the ledger.
#   bench/ledger.sh
source "$(dirname "$0")/common.sh"
for sessions in 312500 1250000; do
  store=$work/ledger-$sessions.db
  if [[ ! -s $store ]]; then
    measure "$work/generate.time" "$root/bench/generate_store.sh" "$store" "$sessions"
    echo "generated and chained $sessions sessions in $(cut -d' ' -f1 "$work/generate.time") s"
  fi
  conclusions=$(sqlite3 "$store" 'SELECT count(*) FROM conclusion')
  records=$(sqlite3 "$store" 'SELECT count(*) FROM ledger')
  measure "$work/verify.time" "$nimbus" --store "$store" verify -q >/dev/null
  read -r seconds peak <"$work/verify.time"
  echo "verify: $conclusions conclusions, $records ledger records: ${seconds} s, peak ${peak} KB"
done
