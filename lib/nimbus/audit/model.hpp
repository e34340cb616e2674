#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nimbus/util/time.hpp>

namespace nimbus {

/// One change, as recorded in the append-only audit trail.
struct AuditEntry {
    std::int64_t id = 0;
    Timestamp at{};
    std::string user;               ///< whose rights were used
    std::optional<std::string> via; ///< the tenant admin who acted as `user`, if any
    std::optional<std::int64_t> ou_id;
    std::string ou_path; ///< the OU the change concerns; empty for tenant-wide records
    std::string action;  ///< e.g. "code.create"
    std::string target;  ///< e.g. "code id:3"
    std::string before;  ///< JSON object, or empty
    std::string after;   ///< JSON object, or empty
};

} // namespace nimbus
