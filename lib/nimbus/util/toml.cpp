#include <nimbus/util/toml.hpp>

#include <fmt/format.h>

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

int read_file_format(const toml::table& table, const std::string& source,
                     const FileFormat& format) {
    const toml::node* node = table.get("format");
    if (node == nullptr) {
        return 1;
    }
    const toml::source_position at = node->source().begin;
    const std::string where = fmt::format("{}:{}:{}", source, at.line, at.column);
    const auto* version = node->as_integer();
    if (version == nullptr || version->get() < 1) {
        throw Error(format.malformed,
                    fmt::format("{}: \"format\" must be a whole number from 1", where),
                    fmt::format("this nimbus-codes reads {}s up to format = {}", format.what,
                                format.current));
    }
    if (version->get() > format.current) {
        throw Error(ErrorKind::Config,
                    fmt::format("{}: the {} is in format {}, newer than this nimbus-codes reads "
                                "(up to {})",
                                where, format.what, version->get(), format.current),
                    "upgrade nimbus-codes here ('nimbus-codes --version' lists the formats it "
                    "reads), or write the file in the format it reads");
    }
    return static_cast<int>(version->get());
}

} // namespace nimbus
