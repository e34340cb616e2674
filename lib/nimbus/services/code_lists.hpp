#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/services/services.hpp>

/// The ordered primary and secondary code lists of a service.
namespace nimbus::services {

/// Changes to one list: `set` replaces it; then `remove` takes codes off and
/// `add` appends codes not on it yet. Codes are named as in codes::Reference.
struct ListUpdate {
    std::optional<std::vector<std::string>> set;
    std::vector<std::string> add;
    std::vector<std::string> remove;
    /// With `set`: codes on the list that `set` does not name stay, after the named ones.
    bool keep_unnamed = false;

    bool empty() const { return !set && add.empty() && remove.empty(); }
};

/// Applies both list updates at once, all or nothing. Each code must exist, be
/// undeleted, be of the list's type and be defined at the service's OU or above
/// it, and appear once; otherwise InvalidData names every offending code and why.
Change apply_codes(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                   std::string_view service, const ListUpdate& primary,
                   const ListUpdate& secondary);

/// Takes a code off every list that holds it (it was deleted), audited per service.
void drop_code(store::WriteTransaction& tx, AuditTrail& audit, const Code& code);

} // namespace nimbus::services
