#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

/// The lists `primary` and `secondary` would give the service, checked as
/// apply_codes checks them (InvalidData naming every offending code), without
/// changing anything or checking roles.
std::pair<std::vector<Code>, std::vector<Code>> planned_lists(store::ReadTransaction& tx,
                                                              const ServiceSettings& current,
                                                              const ListUpdate& primary,
                                                              const ListUpdate& secondary);

/// Applies both list updates at once, all or nothing. Each code must exist, be
/// undeleted, be of the list's type and be defined at the service's OU or above
/// it, and appear once; otherwise InvalidData names every offending code and why.
Change apply_codes(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                   std::string_view service, const ListUpdate& primary,
                   const ListUpdate& secondary);

/// Takes a code off every list that holds it (it is being deleted), audited per
/// service. The actor must be allowed to change the settings of every such
/// service (PermissionDenied, naming the first that it may not).
void drop_code(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
               const Code& code);

} // namespace nimbus::services
