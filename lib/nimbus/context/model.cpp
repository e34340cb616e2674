#include <nimbus/context/model.hpp>

#include <array>
#include <utility>

namespace nimbus {
namespace {

constexpr std::array<std::pair<ContextType, std::string_view>, 4> type_names = {{
    {ContextType::Text, "text"},
    {ContextType::Number, "number"},
    {ContextType::Date, "date"},
    {ContextType::Choice, "choice"},
}};

} // namespace

std::string_view to_string(ContextType type) {
    for (const auto& [known, name] : type_names) {
        if (known == type) {
            return name;
        }
    }
    return "text";
}

std::optional<ContextType> parse_context_type(std::string_view text) {
    for (const auto& [type, name] : type_names) {
        if (name == text) {
            return type;
        }
    }
    return std::nullopt;
}

} // namespace nimbus
