#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nimbus/util/time.hpp>

namespace nimbus {

/// An organization unit. The tenant root has no parent.
struct Ou {
    std::int64_t id = 0;
    std::optional<std::int64_t> parent_id;
    std::string name;     ///< as written, e.g. "Sales"
    std::string path;     ///< from the root, e.g. "Contoso/Sales"
    std::string path_key; ///< case-folded path, unique
    Timestamp created_at{};
    std::optional<Timestamp> retired_at; ///< set while retired (see ous::retire)

    bool retired() const { return retired_at.has_value(); }
};

/// Primary and secondary codes differ only as labels; they are kept apart everywhere.
enum class CodeType { Primary, Secondary };

std::string_view to_string(CodeType type);
std::optional<CodeType> parse_code_type(std::string_view text);

/// A conclusion code as defined in the catalogue.
struct Code {
    std::int64_t id = 0;
    CodeType type = CodeType::Primary;
    std::string name;
    std::string description; ///< empty when none
    std::int64_t ou_id = 0;
    std::string ou_path;
    Timestamp created_at{};
    std::optional<Timestamp> deleted_at; ///< set once deleted; a deleted code stays for history

    bool deleted() const { return deleted_at.has_value(); }
};

} // namespace nimbus
