#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/store/store.hpp>

/// Configuration as code: the OUs, codes and services of a tenant (or of one OU
/// subtree) as a TOML file an admin keeps in git. See docs/configuration.md.
namespace nimbus::config {

/// The version of the configuration file's format (its `format` key) that this
/// binary reads and `export_toml` writes. Raise it when a key changes meaning.
inline constexpr int file_format_version = 1;

/// The configuration below `ou_path` (default: the whole tenant) as TOML, in a
/// stable order so that it diffs cleanly. Deleted codes are left out. It holds
/// what the actor may apply: everything for an admin of the scope; for a
/// service owner, their services and the codes defined at those services' OUs.
std::string export_toml(store::ReadTransaction& tx, const Actor& actor,
                        const std::optional<std::string>& ou_path);

/// One change that applying a file makes, as `config plan` shows it.
struct Step {
    char sign = '~';    ///< '+' create, '~' change, '-' delete
    std::string kind;   ///< "ou", "code", "service"
    std::string target; ///< e.g. "Hotline" or "primary \"Sale\" in Contoso"
    std::string detail; ///< what changes, for '~'

    std::string line() const;
};

struct Options {
    bool prune = false; ///< delete codes and list entries the file does not name
};

/// Reads a configuration file and checks its form (TOML, keys, types), without
/// a store. Throws InvalidData naming the file, line and column.
void check_form(std::string_view text, const std::string& source);

/// Converges the store to the configuration in `text`, inside the caller's
/// transaction, through the same operations, checks and roles as the commands.
/// Returns the steps taken (none when the store already matches). A malformed or
/// unusable file is InvalidData naming `source` and the line; nothing is kept
/// unless the caller commits.
std::vector<Step> apply(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                        std::string_view text, const std::string& source, const Options& options);

} // namespace nimbus::config
