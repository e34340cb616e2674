#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/store/store.hpp>

/// The roster a PostgreSQL store keeps when the server enforces the role
/// table (schema/postgresql/0009_server_roles.sql): the identity file's users
/// and grants, and the role table itself, as rows the server's policies read.
namespace nimbus::roster {

/// The role table as the server holds it, from policy::rules(): one rule per
/// action, by action id.
std::vector<store::RoleRule> role_rules();

/// An identity file's users as the server stores them.
std::vector<store::Person> people_of(const identity::Identity& identity);

/// The stored roster as an identity; `location` names the store in messages.
identity::Identity identity_of(const std::vector<store::Person>& people,
                               const std::string& location);

/// Refuses (Config) a store whose server enforces another role table than
/// this binary's: its owner upgrades it with `init`.
void require_current_rules(store::ReadTransaction& tx, const std::string& location);

/// Who runs a command, and the roster that decides what they may do.
struct StoredCaller {
    identity::Identity identity; ///< the stored roster (or an identity file)
    std::string login; ///< the database role the server knows the caller as (or the OS account)
};

/// The roster and the caller, when the store's server enforces the role
/// table (its roles checked to be this binary's); none on any other store,
/// where the identity file and the OS account decide.
std::optional<StoredCaller> stored_caller(store::ReadTransaction& tx, const std::string& location);

/// The roster by which the store's owner pushes one: the owner alone, as a
/// tenant admin (they own the tables, and may change anything in them anyway).
identity::Identity owner_identity(const std::string& login, const std::string& location);

/// What `identity push` changed.
struct PushSummary {
    std::size_t users = 0;
    std::size_t added = 0;
    std::size_t changed = 0;
    std::size_t removed = 0;
};

/// Replaces the stored roster with `identity`'s users, audited as
/// identity.push. A roster without a tenant admin is refused (InvalidData):
/// nobody could push the next one but the store's owner.
PushSummary push(store::WriteTransaction& tx, AuditTrail& audit,
                 const identity::Identity& identity);

} // namespace nimbus::roster
