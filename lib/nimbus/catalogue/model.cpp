#include <nimbus/catalogue/model.hpp>

namespace nimbus {

std::string_view to_string(CodeType type) {
    return type == CodeType::Primary ? "primary" : "secondary";
}

std::optional<CodeType> parse_code_type(std::string_view text) {
    if (text == "primary") {
        return CodeType::Primary;
    }
    if (text == "secondary") {
        return CodeType::Secondary;
    }
    return std::nullopt;
}

} // namespace nimbus
