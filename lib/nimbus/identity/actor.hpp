#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/identity/identity.hpp>

namespace nimbus {
namespace policy {
class Checks;
} // namespace policy

/// A service named in a user's grants. `ou_key` is the case-folded path of the
/// service's OU once the service is known to the store, empty before.
struct ServiceGrant {
    std::string name;
    std::string key;
    std::string ou_key;
};

/// A user's roles, with names turned into comparison keys.
struct Grants {
    bool tenant_admin = false;
    std::vector<std::string> ou_admin_keys;
    std::vector<ServiceGrant> owner;
    std::vector<ServiceGrant> supervisor;
    std::vector<ServiceGrant> member;
};

/// Who runs a command, and whose rights apply.
struct Actor {
    std::string login;            ///< the OS account running the command
    const identity::User* user{}; ///< the identity whose rights apply
    Grants grants;                ///< `user`'s roles
    /// Where the role checks of one command's run are noted (the dispatcher
    /// sets it; see policy::Checks); none elsewhere.
    policy::Checks* checks = nullptr;

    /// True when a tenant admin acts as another user with --as.
    bool acting_as_other() const { return user->login != login; }
    /// "bob" or, with --as, "bob via alice".
    std::string display() const;
    /// The admin acting for `user`, if any (the audit trail's "via").
    std::optional<std::string> via() const;
};

/// Resolves the OS login (and an optional --as user) against the identity file.
/// Unknown OS account, or --as that the role table refuses: PermissionDenied.
/// Unknown --as user: NotFound.
Actor resolve_actor(const identity::Identity& identity, std::string_view os_login,
                    std::optional<std::string_view> act_as);

/// The grants written in a user's identity entry.
Grants grants_of(const identity::User& user);

} // namespace nimbus
