#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include <nimbus/identity/actor.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/time.hpp>

namespace nimbus {

/// Writes audit records into the same transaction as the change they describe,
/// so that a change and its record are kept or lost together.
class AuditTrail {
public:
    AuditTrail(store::WriteTransaction& tx, std::string user, std::optional<std::string> via,
               Timestamp now);
    AuditTrail(store::WriteTransaction& tx, const Actor& actor, Timestamp now);

    /// The time every record (and the change itself) carries.
    Timestamp now() const { return now_; }

    /// Records one change. `before` and `after` are JSON objects (null when absent).
    void record(std::string_view action, std::string target, std::optional<std::int64_t> ou_id,
                const nlohmann::ordered_json& before, const nlohmann::ordered_json& after);

private:
    store::WriteTransaction& tx_;
    std::string user_;
    std::optional<std::string> via_;
    Timestamp now_;
};

} // namespace nimbus
