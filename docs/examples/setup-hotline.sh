#!/usr/bin/env bash
# The product's first three steps, as an admin scripts them against a store
# made with 'nimbus-codes init --tenant Contoso':
#   1. define a pool of primary and secondary codes,
#   2. apply them to a service, in the order agents will see them,
#   3. enable codes and tags for the service's team.
# Every command is idempotent, so the script can run again at any time.
set -euo pipefail
nimbus=${NIMBUS_CODES_BIN:-nimbus-codes}

# 1. The codes. Codes at Contoso are shared by every service below it.
"$nimbus" ou create Contoso/Sales
"$nimbus" code create --type primary --name "Sale" --description "The customer bought"
"$nimbus" code create --type primary --name "No sale" --description "The customer did not buy"
"$nimbus" code create --type primary --name "Callback" --ou Contoso/Sales \
  --description "Call the customer back"
"$nimbus" code create --type secondary --name "Rückruf" --description "Zurückrufen"
"$nimbus" code create --type secondary --name "Upsell" --ou Contoso/Sales

# 2. The service and its ordered lists.
"$nimbus" service create Hotline --ou Contoso/Sales --license contact-center
"$nimbus" service apply Hotline --primary "Sale,No sale,Callback" --secondary "Upsell,Rückruf"

# 3. Codes and tags for everyone in the team.
"$nimbus" extension enable Hotline codes-and-tags
