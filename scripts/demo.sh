#!/usr/bin/env bash
# The product's use case end to end on a fresh embedded store in a scratch
# folder: an admin defines the pool of primary and secondary codes, applies
# them to a service and enables codes and tags for its team; sessions arrive
# from the call system, an agent sees who is calling and concludes them, once,
# and the service owner
# reads the monthly code usage.
# With NIMBUS_CODES_BIN it runs an installed nimbus-codes instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
nimbus=${NIMBUS_CODES_BIN:-}
if [[ -z $nimbus ]]; then
  scripts/deps.sh build
  scripts/build.sh >/dev/null
  nimbus=$PWD/build/cmd/nimbus-codes
fi
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

[users.mia]
name = "Mia Agent"
member = ["Hotline"]

[users.olga]
name = "Olga Owner"
owner = ["Hotline"]
TOML
chmod 600 "$NIMBUS_CODES_IDENTITY"

export NIMBUS_CODES_NOW=2026-11-02T12:00:00Z # the day the calls come in
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
# What the call flow asks before an agent answers: the reason, for the services below Contoso.
step context define Reason --type choice --values "Order,Billing,Other" \
  --description "Why the customer called, as the IVR asked"
step extension enable Hotline conversation-context
step service show Hotline
step config export

cat >"$scratch/sessions.csv" <<CSV
id,service,user,direction,started_at,ended_at,outcome,caller,context.Reason
s-1001,Hotline,mia,inbound,2026-10-31T23:30:00Z,2026-10-31T23:41:00Z,accepted,+41 44 555 01 01,order
s-1002,Hotline,mia,inbound,2026-11-02T09:15:00+01:00,2026-11-02T09:22:00+01:00,accepted,"Müller, Hans",Billing
s-1003,Hotline,mia,inbound,2026-11-02T10:00:00Z,,,+41 44 555 01 03,Order
CSV
step session import "$scratch/sessions.csv"
# Who is calling: the CRM's export in the caller directory, shown where the
# service has caller information on. Numbers match however they are written.
cat >"$scratch/crm-callers.csv" <<CSV
number,name,company,email,notes,crm_id
044 555 01 01,Anna Muster,Muster AG,anna@muster.example,Prefers German,C-1042
+41 44 555 01 03,Beat Beispiel,Beispiel & Co,,,C-2077
CSV
step directory import "$scratch/crm-callers.csv" --country CH
step extension enable Hotline caller-information
step session list --as mia
step session show s-1003 --as mia
step session conclude s-1001 --primary Sale --secondary Upsell --tag "VIP customer" --as mia
step session conclude s-1002 --primary "No sale" --tag callback --as mia
# Anna calls again: her last call was concluded with Sale, so Sale is suggested first.
step session add --id s-1004 --service Hotline --user mia --started-at 2026-11-02T11:50:00Z \
  --caller "+41 44 555 01 01"
step session suggest s-1004 --as mia
step session conclude s-1004 --primary Sale --as mia
step session show s-1001 --as mia
printf '\n%s$ nimbus-codes session conclude s-1001 --primary "No sale" --as mia%s   (a conclusion is final)\n' "$bold" "$plain"
if "$nimbus" session conclude s-1001 --primary "No sale" --as mia; then
  echo "demo: a second conclusion was accepted" >&2
  exit 1
fi
step audit list
export NIMBUS_CODES_NOW=2026-12-01T06:00:00Z # the cron job runs on the 1st
step report usage --service Hotline --month last --by month,code --tz Europe/Zurich --as olga
step report usage --service Hotline --month last --by context.Reason,code --tz Europe/Zurich --as olga
step report usage --service Hotline --month last --tz Europe/Zurich --format csv \
  --output "$scratch/hotline-2026-11.csv" --summary "$scratch/hotline-2026-11-summary.csv" --as olga
cat "$scratch/hotline-2026-11.csv" "$scratch/hotline-2026-11-summary.csv"
# The auditor's check: nothing permanent changed since the monthly summary was written.
step verify --head-file "$scratch/hotline-2026-11-summary.csv"
