#pragma once

#include <bitset>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/error.hpp>
#include <nimbus/identity/actor.hpp>

/// Who may do what: one table of actions and the roles each needs, and the one
/// function that checks it. Commands never test roles themselves: every
/// decision by role, and every message that refuses one, is made here.
namespace nimbus::policy {

/// Roles, as bits so that a rule can allow several.
enum Role : unsigned {
    TenantAdmin = 1U << 0,
    OuAdmin = 1U << 1,
    Owner = 1U << 2,
    Supervisor = 1U << 3,
    Member = 1U << 4,
    Listed = 1U << 5,      ///< any user listed in the identity file
    SessionUser = 1U << 6, ///< the agent whose session it is
};

/// What a caller does. The table in policy.cpp holds one rule per action, in
/// this order.
enum class Action {
    ReadIdentity,     ///< whoami
    ActAs,            ///< --as USER, with any command but init
    ReadOus,          ///< ou list
    CreateOu,         ///< ou create
    ReadCodes,        ///< code list, code show, context list
    ChangeCodes,      ///< code create, code edit, code delete
    ReadServices,     ///< service list, service show, extension list
    CreateService,    ///< service create
    ChangeService,    ///< service edit (name, license)
    ConfigureService, ///< service apply, service wrap-up, extension enable, extension disable
    ExportConfig,     ///< config export
    ApplyConfig,      ///< config plan, config apply (each change is checked by its own rule)
    ImportSessions,   ///< session import, session add
    ReadSessions,     ///< session list, session show
    ConcludeSession,  ///< session conclude
    ReadReports,      ///< report usage, report export
    ReadAudit,        ///< audit list
    CopyStore,        ///< store copy
    Verify,           ///< verify (and the hidden __guards)
    PushIdentity,     ///< identity push
    ReadDirectory,    ///< directory list, directory show
    ManageDirectory,  ///< directory import, directory remove
    DefineContext,    ///< context define, context remove (and config apply's [[context]])
    SweepSessions,    ///< session sweep
    Count,            ///< not an action: how many there are
};

/// The number of actions, for code that goes through all of them.
inline constexpr std::size_t action_count = static_cast<std::size_t>(Action::Count);

/// What a role is checked against.
enum class ScopeKind {
    Anywhere, ///< holding the role at all is enough
    Ou,       ///< the OU acted on (for ou create: the new OU's parent)
    Service,  ///< the service acted on
    Session,  ///< the session acted on: its service, and its user
};

struct Rule {
    Action action;
    std::string_view id;       ///< "change-codes": how a PostgreSQL store's role_rule names it
    std::string_view commands; ///< the commands this rule governs, for docs and messages
    std::string_view verb;     ///< "change codes", for "alice may not change codes ..."
    unsigned roles;            ///< Role bits
    ScopeKind scope;
    std::string_view scope_text; ///< the scope as docs/roles.md describes it; "—" for none
    /// The audit records the action writes, space-separated: on a PostgreSQL
    /// store that enforces roles, only holders of the rule may write them.
    std::string_view audited;
};

/// The whole table, one rule per action in the order of Action; docs/roles.md
/// shows it as `nimbus-codes __roles` prints it.
std::span<const Rule> rules();
const Rule& rule_for(Action action);
/// The commands a rule governs, one by one ("code list", "code show").
std::vector<std::string_view> command_names(const Rule& rule);

/// The actions that one run of a command's body checked against a concrete
/// scope (anything but Scope::anywhere()). The dispatcher gives each run a
/// fresh one through Actor::checks; permits(), require() and Filter mark it;
/// and a body whose rule has a scope that it never checked is refused.
class Checks {
public:
    void mark(Action action) { marked_.set(static_cast<std::size_t>(action)); }
    bool marked(Action action) const { return marked_.test(static_cast<std::size_t>(action)); }
    /// Throws Internal, naming `command`, when `action`'s rule has a scope
    /// that was not marked: the command forgot to check it.
    void require_checked(Action action, std::string_view command) const;

private:
    std::bitset<action_count> marked_;
};

/// The concrete thing an action touches.
class Scope {
public:
    /// No particular target: the caller must hold one of the roles somewhere.
    static Scope anywhere() { return Scope{}; }
    /// Tenant-wide things that belong to no OU: only tenant admins.
    static Scope tenant();
    /// An OU, by its display path and case-folded key.
    static Scope ou(std::string path, std::string key);
    /// A service, by its display name and case-folded key, and its OU's key.
    static Scope service(std::string name, std::string key, std::string ou_key);
    /// A session of a service (given as a service scope), and the session's user.
    static Scope session(std::string id, Scope service, std::string user);

    std::string describe() const;

    enum class Kind { Anywhere, Tenant, Ou, Service, Session };
    Kind kind = Kind::Anywhere;
    std::string display; ///< OU path, service name or session id, for messages
    std::string ou_key;  ///< the OU, or the service's OU
    std::string service_key;
    std::string session_user; ///< login of the session's agent
};

/// True when `actor` holds one of the action's roles within `scope`.
bool permits(const Actor& actor, Action action, const Scope& scope);

/// Throws PermissionDenied, naming the action and the roles it needs, unless permitted.
void require(const Actor& actor, Action action, const Scope& scope);

/// The PermissionDenied error that require() throws.
Error denial(const Actor& actor, Action action, const Scope& scope);

/// One action checked item by item, for commands that show or touch only what
/// the caller may (listings, reports, imports). Making one counts as the
/// command's check of the action's scope, even when there are no items.
class Filter {
public:
    Filter(const Actor& actor, Action action);
    /// True when the action is permitted within `scope`.
    bool permits(const Scope& scope) const;
    /// True when it is permitted within every scope (tenant admins), so that
    /// nothing needs to be left out.
    bool everything() const;

private:
    const Actor& actor_;
    Action action_;
};

/// Refuses --as to `self` (the caller, acting as themselves) unless the
/// ActAs rule permits it.
void require_act_as(const Actor& self);

/// The services the caller works in, as a member, an owner or a supervisor:
/// completion offers their code lists, as concluding a session would.
std::vector<const ServiceGrant*> services_worked_in(const Actor& actor);

/// "tenant admin, OU admin or service owner" for a set of role bits.
std::string describe_roles(unsigned roles);

} // namespace nimbus::policy
