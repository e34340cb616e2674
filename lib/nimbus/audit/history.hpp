#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/audit/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::audit {

/// The audit entries matching `filter` that `actor` may read, oldest first:
/// tenant admins read all, OU admins the records of OUs in their subtrees.
std::vector<AuditEntry> list(store::ReadTransaction& tx, const Actor& actor,
                             const store::AuditFilter& filter);

/// The action of the first record of `target` written after its latest
/// `creation` record (an OU or a service made again under a name that one
/// deleted had, has only the history since), or none: what tells an object
/// that was used from one that was only created.
std::optional<std::string> changed_since_creation(store::ReadTransaction& tx,
                                                  std::string_view target,
                                                  std::string_view creation);

} // namespace nimbus::audit
