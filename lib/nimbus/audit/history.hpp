#pragma once

#include <vector>

#include <nimbus/audit/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::audit {

/// The audit entries matching `filter` that `actor` may read, oldest first:
/// tenant admins read all, OU admins the records of OUs in their subtrees.
std::vector<AuditEntry> list(store::ReadTransaction& tx, const Actor& actor,
                             const store::AuditFilter& filter);

} // namespace nimbus::audit
