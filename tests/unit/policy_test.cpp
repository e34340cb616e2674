#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>

#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>

#include <cmd/app.hpp>

#include "support.hpp"

using namespace nimbus;
using policy::Action;
using policy::Scope;

namespace {

Scope ou(const char* path, const char* key) {
    return Scope::ou(path, key);
}

} // namespace

TEST_CASE("policy: every action has exactly one rule") {
    CHECK(policy::rules().size() == policy::action_count);
    for (std::size_t i = 0; i < policy::action_count; ++i) {
        const auto action = static_cast<Action>(i);
        int count = 0;
        for (const policy::Rule& rule : policy::rules()) {
            count += rule.action == action ? 1 : 0;
        }
        INFO("action ", i);
        CHECK(count == 1);
        const policy::Rule& rule = policy::rule_for(action);
        CHECK(rule.action == action);
        CHECK_FALSE(rule.commands.empty());
        CHECK_FALSE(rule.verb.empty());
        CHECK(rule.roles != 0);
        // docs/roles.md shows "—" for a rule without a scope, and what it is otherwise.
        CHECK(rule.scope_text.starts_with("—") == (rule.scope == policy::ScopeKind::Anywhere));
    }
    CHECK_THROWS_AS(policy::rule_for(Action::Count), Error);
}

TEST_CASE("policy: every command is governed by exactly one rule, and every rule's exist") {
    CLI::App app;
    cli::Globals globals;
    cli::add_global_options(app, globals);
    cli::Registry registry;
    cli::add_all_commands(app, registry);
    std::set<std::string, std::less<>> governed;
    for (const auto& entry : registry.commands()) {
        const auto& command = entry.second; // a plain reference: INFO captures it
        INFO(command.name);
        if (command.name == "init") {
            CHECK_FALSE(command.action);
            continue;
        }
        REQUIRE(command.action);
        if (command.name.starts_with("__")) {
            continue; // hidden helpers: governed by a rule, listed by none
        }
        int rules = 0;
        for (const policy::Rule& rule : policy::rules()) {
            const auto names = policy::command_names(rule);
            if (std::find(names.begin(), names.end(), command.name) != names.end()) {
                ++rules;
                CHECK(rule.action == *command.action);
            }
        }
        CHECK(rules == 1);
        governed.insert(command.name);
    }
    CHECK(governed.size() > 25);
    for (const policy::Rule& rule : policy::rules()) {
        for (const std::string_view name : policy::command_names(rule)) {
            INFO(name);
            if (name.starts_with("--")) {
                CHECK(app.get_option_no_throw(std::string(name)) != nullptr);
            } else {
                CHECK(governed.contains(name));
            }
        }
    }
}

TEST_CASE("policy: tenant admins may do everything everywhere") {
    const auto id = test::test_identity();
    const Actor admin = resolve_actor(id, "admin", std::nullopt);
    CHECK(policy::permits(admin, Action::ChangeCodes, ou("Contoso", "contoso")));
    CHECK(policy::permits(admin, Action::ReadAudit, Scope::tenant()));
    CHECK(policy::permits(admin, Action::CreateOu, ou("Contoso/Support", "contoso/support")));
}

TEST_CASE("policy: OU admins act inside their subtree only") {
    const auto id = test::test_identity();
    const Actor sales = resolve_actor(id, "sales", std::nullopt);
    CHECK(policy::permits(sales, Action::ChangeCodes, ou("Contoso/Sales", "contoso/sales")));
    CHECK(policy::permits(sales, Action::ChangeCodes,
                          ou("Contoso/Sales/EMEA", "contoso/sales/emea")));
    CHECK_FALSE(policy::permits(sales, Action::ChangeCodes, ou("Contoso", "contoso")));
    CHECK_FALSE(policy::permits(sales, Action::ChangeCodes,
                                ou("Contoso/Salesforce", "contoso/salesforce")));
    CHECK_FALSE(policy::permits(sales, Action::ReadAudit, Scope::tenant()));
}

TEST_CASE("policy: owners change codes at their services' OUs") {
    const auto id = test::test_identity();
    Actor owner = resolve_actor(id, "owner", std::nullopt);
    CHECK_FALSE(policy::permits(owner, Action::ChangeCodes, ou("Contoso/Sales", "contoso/sales")));
    owner.grants.owner.front().ou_key = "contoso/sales"; // once the service is known
    CHECK(policy::permits(owner, Action::ChangeCodes, ou("Contoso/Sales", "contoso/sales")));
    CHECK_FALSE(policy::permits(owner, Action::ChangeCodes,
                                ou("Contoso/Sales/EMEA", "contoso/sales/emea")));
    CHECK_FALSE(policy::permits(owner, Action::CreateOu, ou("Contoso/Sales", "contoso/sales")));
    CHECK(policy::permits(owner, Action::ReadCodes, Scope::anywhere()));
}

TEST_CASE("policy: members see no settings") {
    const auto id = test::test_identity();
    const Actor agent = resolve_actor(id, "agent", std::nullopt);
    CHECK(policy::permits(agent, Action::ReadIdentity, Scope::anywhere()));
    CHECK_FALSE(policy::permits(agent, Action::ReadCodes, Scope::anywhere()));
    CHECK_FALSE(policy::permits(agent, Action::ReadOus, Scope::anywhere()));
    CHECK_FALSE(policy::permits(agent, Action::ChangeCodes, Scope::anywhere()));
    CHECK_THROWS_WITH_AS(policy::require(agent, Action::ChangeCodes, ou("Contoso", "contoso")),
                         "agent may not change codes in OU \"Contoso\"", Error);
}

TEST_CASE("policy: --as is for tenant admins, and audits as 'user via admin'") {
    const auto id = test::test_identity();
    const Actor as_agent = resolve_actor(id, "admin", "agent");
    CHECK(as_agent.display() == "agent via admin");
    CHECK(as_agent.via() == "admin");
    CHECK_FALSE(policy::permits(as_agent, Action::ReadCodes, Scope::anywhere()));
    CHECK_THROWS_AS(resolve_actor(id, "sales", "agent"), Error);
    try {
        resolve_actor(id, "admin", "nobody");
        FAIL("expected NotFound");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::NotFound);
    }
    try {
        resolve_actor(id, "stranger", std::nullopt);
        FAIL("expected PermissionDenied");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::PermissionDenied);
        CHECK(std::string(e.what()).find("test.toml") != std::string::npos);
    }
}

namespace {

/// Who holds which role where, written out by hand for each kind of caller,
/// against one target of each kind: the OU Contoso/Sales, the service Desk in
/// it, and Desk's session s-1 of the agent "agent".
struct Caller {
    const char* login;
    unsigned anywhere; ///< the roles held somewhere
    unsigned ou;       ///< within Contoso/Sales
    unsigned tenant;   ///< tenant-wide
    unsigned service;  ///< for Desk
    unsigned session;  ///< for session s-1
};

constexpr unsigned L = policy::Listed;
constexpr unsigned SU = policy::SessionUser;
constexpr unsigned TA = policy::TenantAdmin;
constexpr unsigned OA = policy::OuAdmin;
constexpr unsigned OW = policy::Owner;
constexpr unsigned SV = policy::Supervisor;
constexpr unsigned MB = policy::Member;

// clang-format off
constexpr Caller callers[] = {
    // login               anywhere      ou       tenant   service  session
    {"admin",              TA | L | SU,  TA | L,  TA | L,  TA | L,  TA | L},
    {"ou-admin",           OA | L | SU,  OA | L,  L,       OA | L,  OA | L},
    {"other-ou-admin",     OA | L | SU,  L,       L,       L,       L},
    {"owner",              OW | L | SU,  OW | L,  L,       OW | L,  OW | L},
    {"other-owner",        OW | L | SU,  L,       L,       L,       L},
    {"supervisor",         SV | L | SU,  SV | L,  L,       SV | L,  SV | L},
    {"other-supervisor",   SV | L | SU,  L,       L,       L,       L},
    {"agent",              MB | L | SU,  MB | L,  L,       MB | L,  MB | L | SU},
    {"colleague",          MB | L | SU,  MB | L,  L,       MB | L,  MB | L},
    {"other-member",       MB | L | SU,  L,       L,       L,       L},
    {"nobody",             L | SU,       L,       L,       L,       L},
};
// clang-format on

const char* const roles_identity = R"(
[users.admin]
name = "A"
tenant_admin = true
[users.ou-admin]
name = "B"
ou_admin = ["Contoso/Sales"]
[users.other-ou-admin]
name = "C"
ou_admin = ["Contoso/Support"]
[users.owner]
name = "D"
owner = ["Desk"]
[users.other-owner]
name = "E"
owner = ["Hotline"]
[users.supervisor]
name = "F"
supervisor = ["Desk"]
[users.other-supervisor]
name = "G"
supervisor = ["Hotline"]
[users.agent]
name = "H"
member = ["Desk"]
[users.colleague]
name = "I"
member = ["Desk"]
[users.other-member]
name = "J"
member = ["Hotline"]
[users.nobody]
name = "K"
)";

} // namespace

TEST_CASE("policy: every action permits exactly the roles its rule names, where they hold") {
    const identity::Identity id = identity::parse_identity(roles_identity, "roles.toml");
    const Scope desk = Scope::service("Desk", "desk", "contoso/sales");
    const std::map<std::string, std::pair<const char*, Scope>> targets = {
        {"anywhere", {"anywhere", Scope::anywhere()}},
        {"ou", {"OU Contoso/Sales", ou("Contoso/Sales", "contoso/sales")}},
        {"tenant", {"tenant-wide", Scope::tenant()}},
        {"service", {"service Desk", desk}},
        {"session", {"session s-1", Scope::session("s-1", desk, "agent")}},
    };
    const auto targets_of = [](policy::ScopeKind kind) -> std::vector<std::string> {
        switch (kind) {
        case policy::ScopeKind::Anywhere: return {"anywhere"};
        case policy::ScopeKind::Ou: return {"ou", "tenant"};
        case policy::ScopeKind::Service: return {"service"};
        case policy::ScopeKind::Session: return {"session"};
        }
        return {};
    };
    for (const Caller& caller : callers) {
        Actor actor = resolve_actor(id, caller.login, std::nullopt);
        // Where the services are, as the dispatcher finds them in the store.
        for (auto* grants : {&actor.grants.owner, &actor.grants.supervisor, &actor.grants.member}) {
            for (ServiceGrant& grant : *grants) {
                grant.ou_key = grant.key == "desk" ? "contoso/sales" : "contoso/support";
            }
        }
        const std::map<std::string, unsigned> held = {
            {"anywhere", caller.anywhere}, {"ou", caller.ou},           {"tenant", caller.tenant},
            {"service", caller.service},   {"session", caller.session},
        };
        for (const policy::Rule& rule : policy::rules()) {
            for (const std::string& target : targets_of(rule.scope)) {
                const auto& target_entry = targets.at(target); // INFO captures no bindings
                const auto& what = target_entry.first;
                const auto& scope = target_entry.second;
                INFO(std::string(caller.login), " may ", rule.verb, " (", rule.commands, "), ",
                     std::string(what));
                CHECK(policy::permits(actor, rule.action, scope) ==
                      ((rule.roles & held.at(target)) != 0));
            }
        }
    }
    // Someone the identity file does not list holds nothing: refused before any rule.
    CHECK_THROWS_AS(resolve_actor(id, "stranger", std::nullopt), Error);
}

TEST_CASE("policy: --as is decided by the table, in the words it always had") {
    const auto id = test::test_identity();
    CHECK_THROWS_WITH_AS(resolve_actor(id, "sales", "agent"),
                         "only tenant admins may act as another user; sales is not one", Error);
    CHECK(resolve_actor(id, "admin", "agent").user->login == "agent");
    CHECK(policy::permits(resolve_actor(id, "admin", std::nullopt), Action::ActAs,
                          Scope::anywhere()));
}

TEST_CASE("policy: checks against a concrete scope are noted, and a scoped rule needs one") {
    const auto id = test::test_identity();
    Actor sales = resolve_actor(id, "sales", std::nullopt);
    policy::Checks checks;
    sales.checks = &checks;
    CHECK_NOTHROW(checks.require_checked(Action::ReadCodes, "code list")); // no scope to check

    // The dispatcher's check of the role anywhere is not a check of the scope.
    CHECK(policy::permits(sales, Action::ChangeCodes, Scope::anywhere()));
    CHECK_FALSE(checks.marked(Action::ChangeCodes));
    try {
        checks.require_checked(Action::ChangeCodes, "code create");
        FAIL("expected Internal");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Internal);
        CHECK(std::string(e.what()) == "'code create' ended without checking whether its caller "
                                       "may change codes for the OU it acted on");
    }

    // Refused or not, a check against a concrete scope counts, for that action only.
    CHECK_FALSE(policy::permits(sales, Action::ChangeCodes, ou("Contoso", "contoso")));
    CHECK(checks.marked(Action::ChangeCodes));
    CHECK_NOTHROW(checks.require_checked(Action::ChangeCodes, "code create"));
    CHECK_FALSE(checks.marked(Action::ReadAudit));
    CHECK_THROWS_AS(policy::require(sales, Action::ConfigureService,
                                    Scope::service("Hotline", "hotline", "contoso")),
                    Error);
    CHECK(checks.marked(Action::ConfigureService));

    // A filter counts as soon as it is made: a listing may have nothing to show.
    const policy::Filter readable(sales, Action::ReadAudit);
    CHECK(checks.marked(Action::ReadAudit));
    CHECK(readable.permits(ou("Contoso/Sales", "contoso/sales")));
    CHECK_FALSE(readable.permits(Scope::tenant()));
    CHECK_FALSE(readable.everything());
    CHECK(policy::Filter(resolve_actor(id, "admin", std::nullopt), Action::ReadAudit).everything());
    CHECK(policy::Filter(sales, Action::ReadIdentity).everything());
}

TEST_CASE("policy: refusals name the commands and roles of the table") {
    const auto id = test::test_identity();
    const Actor agent = resolve_actor(id, "agent", std::nullopt);
    const Error refusal = policy::denial(agent, Action::ImportSessions,
                                         Scope::service("Hotline", "hotline", "contoso"));
    CHECK(refusal.kind() == ErrorKind::PermissionDenied);
    CHECK(std::string(refusal.what()) == "agent may not import sessions of service \"Hotline\"");
    CHECK(refusal.hint() == "'session import, session add' needs: tenant admin, OU admin or "
                            "service owner (for that service)");
}
