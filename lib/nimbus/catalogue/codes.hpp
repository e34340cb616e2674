#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/catalogue/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/store/store.hpp>

/// The code catalogue: create, edit, retire, list and look up codes.
namespace nimbus::codes {

/// How a user names a code: "id:12", or its name, optionally narrowed by type and OU.
struct Reference {
    std::string text;
    std::optional<CodeType> type;
    std::optional<std::string> ou_path;
};

/// The id in "id:12" (the prefix in any case, as in "ID:12"; white space
/// around it ignored), or nullopt when `text` is not of that form.
std::optional<std::int64_t> parse_id_reference(std::string_view text);

/// The code `ref` names. A name matches live codes first, then deleted ones.
/// Throws NotFound, or Usage listing the candidates when the name is ambiguous.
Code resolve(store::ReadTransaction& tx, const Reference& ref);

struct Draft {
    CodeType type = CodeType::Primary;
    std::string name;
    std::string description;
    std::optional<std::string> ou_path; ///< default: the tenant root
};

struct Edit {
    std::optional<std::string> name;
    std::optional<std::string> description;
};

enum class Outcome { Created, Updated, Deleted, Unchanged };

struct Change {
    Outcome outcome;
    Code code;
};

/// Creates a code. An identical code already at that OU: Unchanged. A code of
/// the same type and name (case-insensitively) on the same OU path: Conflict.
/// A name that looks like such a code's (names::look_alike): InvalidData.
Change create(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Draft& draft);

/// Renames a code or changes its description. Deleted codes cannot be edited.
Change edit(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
            const Reference& ref, const Edit& edit);

/// Retires a code: no longer listed by default or offered, kept for history. It
/// leaves every service list that held it.
Change remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Reference& ref);

struct ListFilter {
    std::optional<CodeType> type;
    std::optional<std::string> ou_path; ///< codes visible at this OU (defined there or above)
    bool include_deleted = false;
};

std::vector<Code> list(store::ReadTransaction& tx, const ListFilter& filter);

} // namespace nimbus::codes
