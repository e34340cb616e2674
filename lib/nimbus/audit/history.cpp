#include <nimbus/audit/history.hpp>

#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::audit {

std::vector<AuditEntry> list(store::ReadTransaction& tx, const Actor& actor,
                             const store::AuditFilter& filter) {
    if (filter.user && !text::is_valid_utf8(*filter.user)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("user {}", text::describe_invalid_utf8(*filter.user)));
    }
    const policy::Filter readable(actor, policy::Action::ReadAudit);
    std::vector<AuditEntry> entries = tx.audit_entries(filter);
    std::erase_if(entries, [&](const AuditEntry& entry) {
        const policy::Scope scope =
            entry.ou_path.empty()
                ? policy::Scope::tenant()
                : policy::Scope::ou(entry.ou_path, names::name_key(entry.ou_path));
        return !readable.permits(scope);
    });
    return entries;
}

std::optional<std::string> changed_since_creation(store::ReadTransaction& tx,
                                                  std::string_view target,
                                                  std::string_view creation) {
    store::AuditFilter filter;
    filter.target = std::string(target);
    std::optional<std::string> changed;
    for (const AuditEntry& entry : tx.audit_entries(filter)) {
        if (entry.action == creation) {
            changed.reset();
        } else if (!changed) {
            changed = entry.action;
        }
    }
    return changed;
}

} // namespace nimbus::audit
