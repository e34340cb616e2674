#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nimbus {

/// What a context field holds. Choice: one of a fixed set of values, the only
/// type reports group by.
enum class ContextType { Text, Number, Date, Choice };

std::string_view to_string(ContextType type);
std::optional<ContextType> parse_context_type(std::string_view text);

/// A parameter that a call's workflow gathers, defined at an OU for the
/// services of its subtree (docs/sessions.md, "Conversation context").
struct ContextField {
    std::int64_t id = 0;
    std::int64_t ou_id = 0;
    std::string ou_path;
    std::string name;     ///< as written, e.g. "Reason"
    std::string name_key; ///< case-folded
    ContextType type = ContextType::Text;
    std::vector<std::string> choices; ///< the values of a Choice field, in their order
    std::string description;

    bool operator==(const ContextField&) const = default;
};

} // namespace nimbus
