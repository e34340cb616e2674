#!/usr/bin/env bash
# The product's use case end to end on a fresh embedded store in a scratch
# folder: an admin defines the pool of primary and secondary codes, applies
# them to a service and enables codes and tags for its team.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
scripts/build.sh >/dev/null

nimbus=$PWD/build/cmd/nimbus-codes
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export NIMBUS_CODES_STORE=$scratch/store.db
export NIMBUS_CODES_IDENTITY=$scratch/identity.toml
me=$(id -un)

bold='' plain=''
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; fi
step() { printf '\n%s$ nimbus-codes %s%s\n' "$bold" "$*" "$plain"; "$nimbus" "$@"; }

cat >"$NIMBUS_CODES_IDENTITY" <<TOML
[users.$me]
name = "Demo Admin"
tenant_admin = true

[users.sam]
name = "Sam Sales"
ou_admin = ["Contoso/Sales"]
TOML
chmod 600 "$NIMBUS_CODES_IDENTITY"

step init --tenant Contoso
step ou create Contoso/Sales
step ou create Contoso/Support
step whoami
step code create --type primary --name Sale --description "The customer bought"
step code create --type primary --name "No sale" --description "The customer did not buy"
step code create --type primary --name Complaint --ou Contoso/Support
step code create --type secondary --name Rückruf --description "Call back later"
step code create --type secondary --name "Upsell" --ou Contoso/Sales --as sam
step code list
step code list --ou Contoso/Sales --format json
step service create Hotline --ou Contoso/Sales --license contact-center
step service apply Hotline --primary "Sale,No sale" --secondary "Upsell,Rückruf"
step extension enable Hotline codes-and-tags
step service show Hotline
step config export
step audit list
