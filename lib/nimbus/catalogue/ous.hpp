#pragma once

#include <string_view>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/catalogue/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/store/store.hpp>

/// Organization units: the tenant root and the tree below it.
namespace nimbus::ous {

/// The OU at `path` (matched case-insensitively). Throws NotFound, or
/// InvalidData for a malformed path, one that does not start at the tenant
/// root (naming the root), or one with a "." or ".." component.
Ou find(store::ReadTransaction& tx, std::string_view path);

/// The tenant root. Throws Internal if the store has none.
Ou root(store::ReadTransaction& tx);

/// Creates the tenant root of a new store, audited as `audit`'s user.
Ou create_tenant(store::WriteTransaction& tx, AuditTrail& audit, std::string_view name);

/// What create() did: the OU at the path, and the OUs it had to create
/// (empty when the OU existed already).
struct Creation {
    Ou ou;
    std::vector<Ou> created;
};

/// Creates the OU at `path`. Its parent must exist unless `parents` is set, in
/// which case missing ancestors are created too (like mkdir -p). Existing: unchanged.
/// A path that does not start at the tenant root, a name names::clean_new_name()
/// refuses, or one that looks like a sibling's (names::look_alike): InvalidData.
Creation create(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                std::string_view path, bool parents);

/// Throws Conflict when an OU is retired: nothing new is made in it.
void require_active(const Ou& ou);

/// What retire or restore did, and the OU afterwards.
struct Change {
    bool changed = false;
    Ou ou;
};

/// Retires an OU (the create-ou rule, at its parent) once nothing under it is
/// active: every OU and service below it is retired (Conflict, naming them,
/// otherwise). Nothing new is made in a retired OU; it is listed only on
/// request, and everything it holds stays in reports. The root is never
/// retired (Usage).
Change retire(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              std::string_view path);

/// Restores a retired OU. Its parent must not be retired (Conflict).
Change restore(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
               std::string_view path);

/// Deletes an OU that was never used, with the OUs below it: nothing defined
/// in any of them (services, codes, a directory, context fields), no audit
/// record filed under any of them (OUs created in one since it was made) and
/// no history but their creation; otherwise Conflict, which says to retire
/// it. Gives the OUs as they were, the top first.
/// An OU that `identity` makes someone admin of is not deleted either
/// (Conflict): a new OU of its path would make them admin again.
std::vector<Ou> remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                       const identity::Identity& identity, std::string_view path);

} // namespace nimbus::ous
