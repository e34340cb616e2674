#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

/// The TOML identity file: who may do what (see docs/identity.md).
namespace nimbus::identity {

/// One `[users.LOGIN]` entry. Lists hold clean names in the order written.
struct User {
    std::string login; ///< the OS login name (the table key)
    std::string name;  ///< display name
    std::string email;
    bool tenant_admin = false;
    std::vector<std::string> ou_admin;   ///< OU paths whose subtrees this user administers
    std::vector<std::string> owner;      ///< services this user owns
    std::vector<std::string> supervisor; ///< services whose reports this user reads
    std::vector<std::string> member;     ///< services this user works in
};

struct Identity {
    std::string source;  ///< file path, or the store that holds the roster, for messages
    bool stored = false; ///< the roster of a store whose server enforces it (identity push)
    std::map<std::string, User, std::less<>> users;

    const User* find(std::string_view login) const;
    /// The logins whose grants name service `name` (owner, supervisor or
    /// member), compared case-insensitively.
    std::vector<std::string> granted_service(std::string_view name) const;
    /// The logins that administer the OU at `path` itself.
    std::vector<std::string> granted_ou(std::string_view path) const;
};

/// The version of the identity file's format (its `format` key) that this
/// binary reads. Raise it when a key changes meaning.
inline constexpr int file_format_version = 1;

/// The largest identity file the loader reads.
inline constexpr std::uintmax_t max_identity_file_size = 1024 * 1024;

/// Reads and checks an identity file. Throws Config for a missing, unreadable,
/// group- or world-writable, oversized or malformed file, naming file, line and
/// column where known.
Identity load_identity_file(const std::filesystem::path& path);

/// Parses identity TOML from memory; `source` names it in messages. Throws Config.
Identity parse_identity(std::string_view text, const std::string& source);

} // namespace nimbus::identity
