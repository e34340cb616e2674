#!/usr/bin/env bash
# The fixed data set of the golden report tests (and of store copies): run
# with NIMBUS_CODES_BIN, NIMBUS_CODES_STORE and NIMBUS_CODES_IDENTITY set, the
# identity holding a tenant admin (the OS login) and the agents mia and leo.
# Clock times are fixed with NIMBUS_CODES_NOW, so every run gives the same store.
set -euo pipefail
nc() { "$NIMBUS_CODES_BIN" -q "$@" >/dev/null; }
at() { local when=$1; shift; NIMBUS_CODES_NOW=$when "$NIMBUS_CODES_BIN" -q "$@" >/dev/null; }
here=$(cd "$(dirname "$0")" && pwd)

export NIMBUS_CODES_NOW=2026-10-01T08:00:00Z
nc init --tenant Contoso
nc ou create Contoso/Sales
nc ou create Contoso/Support
nc code create --type primary --name Sale --description "The customer bought"
nc code create --type primary --name "No sale"
nc code create --type primary --name Callback --ou Contoso/Sales
nc code create --type primary --name "Old offer" --ou Contoso/Sales
nc code create --type secondary --name Upsell
nc code create --type secondary --name Rückruf
nc service create Hotline --ou Contoso/Sales --license contact-center
nc service apply Hotline --primary "Sale,No sale,Callback,Old offer" --secondary "Upsell,Rückruf"
nc extension enable Hotline codes-and-tags
nc service create Desk --ou Contoso/Support --license enterprise-routing
nc service apply Desk --primary "No sale,Sale"
nc extension enable Desk codes-and-tags
nc session import "$here/sessions.csv"

# Conclusions, each at its own time: during or right after the call, or days later.
at 2026-10-15T10:06:00Z session conclude h-1 --primary Sale --secondary Upsell --tag VIP --as mia
at 2026-10-31T23:36:00Z session conclude h-2 --primary "Old offer" --tag "=SUM(A1:A9)" --as mia
at 2026-11-01T00:35:00Z session conclude h-3 --primary Sale --primary Callback --tag vip --as leo
at 2026-11-02T09:00:00Z session conclude h-4 --primary "No sale" --secondary Rückruf --tag "@evil" --as mia
at 2026-11-10T12:05:00Z session conclude d-1 --primary Sale --as leo
at 2026-11-30T23:50:00Z session conclude h-5 --primary Sale --secondary Upsell --secondary Rückruf --as leo

# After use, a code is renamed and another one deleted: reports keep both.
at 2026-11-20T08:00:00Z code edit Sale --name "Closed deal"
at 2026-11-21T08:00:00Z code delete "Old offer"
at 2026-12-01T09:00:00Z session conclude h-7 --primary "Closed deal" --tag " VIP " --as mia
