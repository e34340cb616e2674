#include <nimbus/sessions/model.hpp>

namespace nimbus {

std::string_view to_string(Direction direction) {
    return direction == Direction::Inbound ? "inbound" : "outbound";
}

std::optional<Direction> parse_direction(std::string_view text) {
    if (text == "inbound") {
        return Direction::Inbound;
    }
    if (text == "outbound") {
        return Direction::Outbound;
    }
    return std::nullopt;
}

} // namespace nimbus
