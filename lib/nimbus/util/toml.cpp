#include <nimbus/util/toml.hpp>

namespace nimbus {

void toml_guard::internal_assertion_failed() {
    throw InternalAssertion{};
}

TomlDocument parse_toml(std::string_view text) {
    TomlDocument document;
    try {
        document.table = toml::parse(text);
    } catch (const toml::parse_error& e) {
        document.error = TomlSyntaxError{std::string(e.description()),
                                         static_cast<unsigned>(e.source().begin.line),
                                         static_cast<unsigned>(e.source().begin.column)};
    } catch (const toml_guard::InternalAssertion&) {
        document.error = TomlSyntaxError{"malformed TOML", 0, 0};
    }
    return document;
}

} // namespace nimbus
