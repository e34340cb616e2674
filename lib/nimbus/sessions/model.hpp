#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/catalogue/model.hpp>
#include <nimbus/util/time.hpp>

namespace nimbus {

enum class Direction { Inbound, Outbound };

std::string_view to_string(Direction direction);
std::optional<Direction> parse_direction(std::string_view text);

/// One row of the static outcome table: the call system's result of a session
/// and the product's reporting group for it.
struct OutcomeInfo {
    std::string name;
    std::string group;
    std::optional<Direction> direction; ///< the only direction it occurs in, if any
};

/// A context value of a session: what its call's workflow gathered for one field.
struct ContextValue {
    std::int64_t field_id = 0;
    std::string value; ///< checked against the field's type when imported

    bool operator==(const ContextValue&) const = default;
};

/// How long a call waited before it was answered and how long it was talked,
/// where the call system's export says: they arrive with the call's end.
struct CallTimes {
    std::optional<std::int64_t> waiting_seconds;
    std::optional<std::int64_t> talk_seconds;

    bool empty() const { return !waiting_seconds && !talk_seconds; }
    bool operator==(const CallTimes&) const = default;
};

/// What the call system says about a session.
struct CallData {
    std::string external_id; ///< the call system's session id
    std::int64_t service_id = 0;
    std::string user; ///< login name of the agent
    Direction direction = Direction::Inbound;
    Timestamp started_at{};
    std::optional<Timestamp> ended_at;  ///< empty while the call is active
    std::optional<std::string> outcome; ///< empty while the call is active
    std::string caller;
    std::vector<ContextValue> context; ///< by field id; read only where asked for
    CallTimes times;                   ///< empty while the call is active
};

/// A code as it was when a conclusion was submitted.
struct ConcludedCode {
    std::int64_t code_id = 0;
    CodeType type = CodeType::Primary;
    std::string name;
};

/// The once-only, final record of how a session ended.
struct Conclusion {
    Timestamp at{};
    std::string user;               ///< whose rights were used
    std::optional<std::string> via; ///< the tenant admin acting as `user`, if any
    bool retroactive = false;       ///< concluded after the call ended (see is_retroactive)
    /// Concluded by `session sweep` with the service's default codes: the
    /// after-call work deadline that had passed. None: by a person.
    std::optional<Timestamp> by_default;
    std::vector<ConcludedCode> codes;
    std::vector<std::string> tags;
};

/// Retroactive: concluded after the call ended. Derived from the times whenever
/// it is read, never from what the store knew at the conclusion: a call
/// concluded while it seemed active, whose earlier end is imported later, is
/// retroactive from then on.
inline bool is_retroactive(Timestamp concluded_at, const std::optional<Timestamp>& ended_at) {
    return ended_at && concluded_at > *ended_at;
}

/// A stored session with its service and, once concluded, its conclusion.
struct Session : CallData {
    std::int64_t id = 0;
    std::string service_name;
    std::string service_ou; ///< path of the service's OU
    std::optional<Conclusion> conclusion;
};

} // namespace nimbus
