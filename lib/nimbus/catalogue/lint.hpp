#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/identity/actor.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/time.hpp>

/// The catalogue linter: codes and service lists that make reports less
/// useful than they could be. The rules are in docs/configuration.md.
namespace nimbus::lint {

/// One rule: its id and what it finds, for --help and the docs.
struct Rule {
    std::string_view id;
    std::string_view finds;
};

/// Every rule, in the order findings are given.
std::span<const Rule> rules();

/// What to look at, and the rules' limits.
struct Options {
    std::optional<std::string> ou;      ///< only what is defined at this OU or below it
    std::optional<std::string> service; ///< only what this service offers and can see
    int unused_months = 6;              ///< a listed code unused this long is a finding
    int max_primary = 12;               ///< a longer primary list is a finding
};

/// A code or a service that a finding is about.
struct Object {
    std::string kind; ///< "code" or "service"
    std::int64_t id = 0;
    std::string name;
    std::string type; ///< a code's "primary" or "secondary"; empty for a service
    std::string ou;   ///< the OU path
};

struct Finding {
    std::string_view rule; ///< Rule::id
    std::vector<Object> objects;
    std::string message;
    std::string fix; ///< what to do about it
};

struct Report {
    std::vector<Finding> findings; ///< by rule, then by the objects' names
    /// What the linter could not look at ("usage was not checked for ...").
    std::vector<std::string> notes;
};

/// Lints what `options` selects. Listed codes' usage is read only for the
/// services whose reports `actor` may read (a note says how many others
/// there are). Throws NotFound for an unknown OU or service, Usage for a
/// service outside the OU or limits out of range.
Report run(store::ReadTransaction& tx, const Actor& actor, const Options& options, Timestamp now);

} // namespace nimbus::lint
