#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nimbus/services/services.hpp>

/// The My Sessions extensions of a service.
namespace nimbus::services {

/// Switches features on or off, all or nothing. Unknown features: InvalidData.
/// Enabling a feature the service's license does not allow: NotLicensed, naming
/// the licenses that do. Features already in the wanted state are left alone.
Change set_features(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                    std::string_view service, const std::vector<std::string>& features,
                    bool enable);

} // namespace nimbus::services
