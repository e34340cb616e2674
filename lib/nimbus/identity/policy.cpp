#include <nimbus/identity/policy.hpp>

#include <algorithm>
#include <bit>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>

namespace nimbus::policy {
namespace {

constexpr unsigned catalogue_readers = TenantAdmin | OuAdmin | Owner | Supervisor;

// clang-format off
constexpr Rule table[] = {
    {Action::ReadIdentity, "read-identity", "whoami",                             "see their roles",          Listed,                        ScopeKind::Anywhere, "—", ""},
    {Action::ActAs, "act-as",        "--as",                               "act as another user",      TenantAdmin,                   ScopeKind::Anywhere, "— (with any command but `init`; the audit trail names both users)", ""},
    {Action::ReadOus, "read-ous",      "ou list",                            "list OUs",                 catalogue_readers,             ScopeKind::Anywhere, "—", ""},
    {Action::CreateOu, "create-ou",     "ou create, ou retire, ou restore, ou delete", "create, retire, restore or delete OUs", TenantAdmin | OuAdmin, ScopeKind::Ou, "the OU's parent", "ou.create ou.retire ou.restore ou.delete"},
    {Action::ReadCodes, "read-codes",    "code list, code show, code lint, context list", "read the code catalogue", catalogue_readers,             ScopeKind::Anywhere, "—", ""},
    {Action::ChangeCodes, "change-codes",  "code create, code edit, code delete","change codes",             TenantAdmin | OuAdmin | Owner, ScopeKind::Ou,       "the code's OU", "code.create code.edit code.delete"},
    {Action::ReadServices, "read-services", "service list, service show, extension list", "read service settings", catalogue_readers, ScopeKind::Anywhere, "—", ""},
    {Action::CreateService, "create-service", "service create",                    "create services",          TenantAdmin | OuAdmin,         ScopeKind::Ou,       "the service's OU", "service.create"},
    {Action::ChangeService, "change-service", "service edit, service retire, service restore, service delete", "rename, retire, restore or delete services, or change their license", TenantAdmin | OuAdmin, ScopeKind::Service, "the service", "service.edit service.retire service.restore service.delete"},
    {Action::ConfigureService, "configure-service", "service apply, service wrap-up, extension enable, extension disable", "change the settings", TenantAdmin | OuAdmin | Owner, ScopeKind::Service, "the service", "service.codes service.extensions service.wrap-up"},
    {Action::ExportConfig, "export-config", "config export",                      "export the configuration", TenantAdmin | OuAdmin | Owner, ScopeKind::Ou,       "`--ou`: that OU; the file holds what the caller may apply", ""},
    {Action::ApplyConfig, "apply-config",  "config plan, config apply",          "apply configuration files", TenantAdmin | OuAdmin | Owner, ScopeKind::Anywhere, "— (each change, by the rule of its command)", ""},
    {Action::ImportSessions, "import-sessions", "session import, session add",      "import sessions",          TenantAdmin | OuAdmin | Owner, ScopeKind::Service,  "each row's service", "session.import session.add session.complete"},
    {Action::ReadSessions, "read-sessions", "session list, session show",         "see session",              catalogue_readers | SessionUser, ScopeKind::Session, "the session's service, or its agent", ""},
    {Action::ConcludeSession, "conclude-session", "session conclude, session suggest", "conclude session",         TenantAdmin | OuAdmin | Owner | SessionUser, ScopeKind::Session, "the session's service, or its agent", "session.conclude"},
    {Action::ReadReports, "read-reports",  "report usage, report export",        "read reports",             catalogue_readers,             ScopeKind::Service,  "each service covered", ""},
    {Action::ReadAudit, "read-audit",    "audit list",                         "read the audit trail",     TenantAdmin | OuAdmin,         ScopeKind::Ou,       "each record's OU", ""},
    {Action::CopyStore, "copy-store",    "store copy",                         "copy stores",              TenantAdmin,                   ScopeKind::Anywhere, "— (and whoever may read the source and write the destination)", "store.copy"},
    {Action::Verify, "verify",       "verify",                             "verify the store",         TenantAdmin | OuAdmin,         ScopeKind::Anywhere, "—", ""},
    {Action::PushIdentity, "push-identity", "identity push",                "store the identity file in a PostgreSQL store", TenantAdmin, ScopeKind::Anywhere, "— (and the store's owner; see postgresql.md)", "identity.push"},
    {Action::ReadDirectory, "read-directory", "directory list, directory show",   "read the caller directory", TenantAdmin | OuAdmin,       ScopeKind::Ou,       "the directory's OU", ""},
    {Action::ManageDirectory, "manage-directory", "directory import, directory remove", "change the caller directory", TenantAdmin | OuAdmin, ScopeKind::Ou,     "the directory's OU", "directory.import directory.remove"},
    {Action::DefineContext, "define-context", "context define, context remove", "define conversation context", TenantAdmin | OuAdmin,     ScopeKind::Ou,       "the field's OU", "context.define context.change context.remove"},
    {Action::SweepSessions, "sweep-sessions", "session sweep",                  "conclude overdue sessions with default codes", TenantAdmin, ScopeKind::Service, "each session's service (the conclusions are written in its agent's name)", "session.sweep"},
};
// clang-format on

/// One rule per action, in the order of Action: rule_for is an index.
constexpr bool one_rule_per_action() {
    if (std::size(table) != action_count) {
        return false;
    }
    for (std::size_t i = 0; i < std::size(table); ++i) {
        if (table[i].action != static_cast<Action>(i)) {
            return false;
        }
    }
    return true;
}
static_assert(one_rule_per_action(), "the table needs one rule per action, in the order of Action");

// require_act_as names the one role that may act as another user, in the plural.
static_assert(std::has_single_bit(table[static_cast<std::size_t>(Action::ActAs)].roles));

/// Service roles cover their services, and the OU of each (for code changes).
bool any_service_in(const std::vector<ServiceGrant>& grants, const Scope& scope) {
    return std::any_of(grants.begin(), grants.end(), [&](const ServiceGrant& grant) {
        switch (scope.kind) {
        case Scope::Kind::Anywhere: return true;
        case Scope::Kind::Tenant: return false;
        case Scope::Kind::Ou: return !grant.ou_key.empty() && grant.ou_key == scope.ou_key;
        case Scope::Kind::Service:
        case Scope::Kind::Session: return grant.key == scope.service_key;
        }
        return false;
    });
}

bool holds(const Actor& actor, Role role, const Scope& scope) {
    const Grants& grants = actor.grants;
    switch (role) {
    case Listed: return true;
    case SessionUser:
        return scope.kind == Scope::Kind::Anywhere ||
               (scope.kind == Scope::Kind::Session && scope.session_user == actor.user->login);
    case TenantAdmin: return grants.tenant_admin;
    case OuAdmin:
        if (scope.kind == Scope::Kind::Anywhere) {
            return !grants.ou_admin_keys.empty();
        }
        return (scope.kind == Scope::Kind::Ou || scope.kind == Scope::Kind::Service ||
                scope.kind == Scope::Kind::Session) &&
               std::any_of(
                   grants.ou_admin_keys.begin(), grants.ou_admin_keys.end(),
                   [&](const std::string& admin) { return names::ou_within(scope.ou_key, admin); });
    case Owner: return any_service_in(grants.owner, scope);
    case Supervisor: return any_service_in(grants.supervisor, scope);
    case Member: return any_service_in(grants.member, scope);
    }
    return false;
}

/// "OU" for a rule of that scope, for messages; empty for none.
std::string_view scope_noun(ScopeKind scope) {
    switch (scope) {
    case ScopeKind::Anywhere: return {};
    case ScopeKind::Ou: return "OU";
    case ScopeKind::Service: return "service";
    case ScopeKind::Session: return "session";
    }
    return {};
}

} // namespace

std::span<const Rule> rules() {
    return table;
}

const Rule& rule_for(Action action) {
    const auto index = static_cast<std::size_t>(action);
    if (index >= std::size(table)) {
        throw Error(ErrorKind::Internal, "no permission rule for an action");
    }
    return table[index];
}

std::vector<std::string_view> command_names(const Rule& rule) {
    std::vector<std::string_view> names;
    std::string_view rest = rule.commands;
    while (!rest.empty()) {
        const std::size_t comma = rest.find(", ");
        names.push_back(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 2);
    }
    return names;
}

void Checks::require_checked(Action action, std::string_view command) const {
    const Rule& rule = rule_for(action);
    if (rule.scope == ScopeKind::Anywhere || marked(action)) {
        return;
    }
    throw Error(ErrorKind::Internal,
                fmt::format("'{}' ended without checking whether its caller may {} for the {} it "
                            "acted on",
                            command, rule.verb, scope_noun(rule.scope)),
                "this is a bug in nimbus-codes; nothing was written");
}

Scope Scope::tenant() {
    Scope scope;
    scope.kind = Kind::Tenant;
    return scope;
}

Scope Scope::ou(std::string path, std::string key) {
    Scope scope;
    scope.kind = Kind::Ou;
    scope.display = std::move(path);
    scope.ou_key = std::move(key);
    return scope;
}

Scope Scope::session(std::string id, Scope service, std::string user) {
    Scope scope = std::move(service);
    scope.kind = Kind::Session;
    scope.display = std::move(id);
    scope.session_user = std::move(user);
    return scope;
}

Scope Scope::service(std::string name, std::string key, std::string ou_key) {
    Scope scope;
    scope.kind = Kind::Service;
    scope.display = std::move(name);
    scope.service_key = std::move(key);
    scope.ou_key = std::move(ou_key);
    return scope;
}

std::string Scope::describe() const {
    switch (kind) {
    case Kind::Anywhere: return {};
    case Kind::Tenant: return " tenant-wide";
    case Kind::Ou: return fmt::format(" in OU \"{}\"", display);
    case Kind::Service: return fmt::format(" of service \"{}\"", display);
    case Kind::Session: return fmt::format(" \"{}\"", display);
    }
    return {};
}

bool permits(const Actor& actor, Action action, const Scope& scope) {
    const Rule& rule = rule_for(action);
    if (actor.checks != nullptr && scope.kind != Scope::Kind::Anywhere) {
        actor.checks->mark(action);
    }
    for (unsigned bit = 1; bit <= SessionUser; bit <<= 1) {
        if ((rule.roles & bit) != 0 && holds(actor, static_cast<Role>(bit), scope)) {
            return true;
        }
    }
    return false;
}

void require(const Actor& actor, Action action, const Scope& scope) {
    if (!permits(actor, action, scope)) {
        throw denial(actor, action, scope);
    }
}

Error denial(const Actor& actor, Action action, const Scope& scope) {
    const Rule& rule = rule_for(action);
    const std::string_view noun = scope_noun(rule.scope);
    return Error(ErrorKind::PermissionDenied,
                 fmt::format("{} may not {}{}", actor.display(), rule.verb, scope.describe()),
                 fmt::format("'{}' needs: {}{}", rule.commands, describe_roles(rule.roles),
                             noun.empty() ? std::string() : fmt::format(" (for that {})", noun)));
}

Filter::Filter(const Actor& actor, Action action)
    : actor_(actor)
    , action_(action) {
    if (actor.checks != nullptr) {
        actor.checks->mark(action);
    }
}

bool Filter::permits(const Scope& scope) const {
    return policy::permits(actor_, action_, scope);
}

bool Filter::everything() const {
    const unsigned roles = rule_for(action_).roles;
    return (roles & Listed) != 0 || ((roles & TenantAdmin) != 0 && actor_.grants.tenant_admin);
}

void require_act_as(const Actor& self) {
    if (permits(self, Action::ActAs, Scope::anywhere())) {
        return;
    }
    const Rule& rule = rule_for(Action::ActAs);
    throw Error(ErrorKind::PermissionDenied,
                fmt::format("only {}s may {}; {} is not one", describe_roles(rule.roles), rule.verb,
                            self.login));
}

std::vector<const ServiceGrant*> services_worked_in(const Actor& actor) {
    std::vector<const ServiceGrant*> services;
    const Grants& grants = actor.grants;
    for (const auto* list : {&grants.member, &grants.owner, &grants.supervisor}) {
        for (const ServiceGrant& grant : *list) {
            services.push_back(&grant);
        }
    }
    return services;
}

std::string describe_roles(unsigned roles) {
    std::vector<std::string_view> parts;
    if ((roles & Listed) != 0) {
        return "any user listed in the identity file";
    }
    if ((roles & TenantAdmin) != 0) {
        parts.emplace_back("tenant admin");
    }
    if ((roles & OuAdmin) != 0) {
        parts.emplace_back("OU admin");
    }
    if ((roles & Owner) != 0) {
        parts.emplace_back("service owner");
    }
    if ((roles & Supervisor) != 0) {
        parts.emplace_back("supervisor");
    }
    if ((roles & Member) != 0) {
        parts.emplace_back("team member");
    }
    if ((roles & SessionUser) != 0) {
        parts.emplace_back("the session's own agent");
    }
    std::string text;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) {
            text += i + 1 == parts.size() ? " or " : ", ";
        }
        text += parts[i];
    }
    return text;
}

} // namespace nimbus::policy
