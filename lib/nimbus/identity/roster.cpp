#include <nimbus/identity/roster.hpp>

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>

namespace nimbus::roster {
namespace {

/// The identity file's lists, in the order the server stores them.
struct GrantList {
    const char* role;
    std::vector<std::string> identity::User::*names;
};

constexpr GrantList grant_lists[] = {
    {"ou_admin", &identity::User::ou_admin},
    {"owner", &identity::User::owner},
    {"supervisor", &identity::User::supervisor},
    {"member", &identity::User::member},
};

std::vector<std::string> logins(const std::vector<store::Person>& people) {
    std::vector<std::string> result;
    for (const store::Person& person : people) {
        result.push_back(person.login);
    }
    return result;
}

} // namespace

std::vector<store::RoleRule> role_rules() {
    std::vector<store::RoleRule> rules;
    for (const policy::Rule& rule : policy::rules()) {
        rules.push_back(
            store::RoleRule{std::string(rule.id), rule.roles, std::string(rule.audited)});
    }
    std::sort(rules.begin(), rules.end(), [](const store::RoleRule& a, const store::RoleRule& b) {
        return a.action < b.action;
    });
    return rules;
}

std::vector<store::Person> people_of(const identity::Identity& identity) {
    std::vector<store::Person> people;
    for (const auto& [login, user] : identity.users) {
        store::Person person{login, user.name, user.email, user.tenant_admin, {}};
        for (const GrantList& list : grant_lists) {
            for (const std::string& name : user.*list.names) {
                person.grants.push_back(store::PersonGrant{list.role, name, names::name_key(name)});
            }
        }
        people.push_back(std::move(person));
    }
    return people;
}

identity::Identity identity_of(const std::vector<store::Person>& people,
                               const std::string& location) {
    identity::Identity identity;
    identity.source = location;
    identity.stored = true;
    for (const store::Person& person : people) {
        identity::User user{person.login, person.name, person.email, person.tenant_admin,
                            {},           {},          {},           {}};
        for (const store::PersonGrant& grant : person.grants) {
            const auto list =
                std::find_if(std::begin(grant_lists), std::end(grant_lists),
                             [&](const GrantList& l) { return grant.role == l.role; });
            if (list == std::end(grant_lists)) {
                throw Error(ErrorKind::Config,
                            fmt::format("store {} holds a grant of unknown role \"{}\"", location,
                                        grant.role),
                            "push the identity file again with 'nimbus-codes identity push'");
            }
            (user.*list->names).push_back(grant.target);
        }
        identity.users.emplace(person.login, std::move(user));
    }
    return identity;
}

void require_current_rules(store::ReadTransaction& tx, const std::string& location) {
    if (tx.role_rules() != role_rules()) {
        throw Error(
            ErrorKind::Config,
            fmt::format("the server of store {} enforces another version's role table", location),
            "the store's owner upgrades it with 'nimbus-codes init'");
    }
}

std::optional<StoredCaller> stored_caller(store::ReadTransaction& tx, const std::string& location) {
    const std::optional<store::ServerCaller> server = tx.server_caller();
    if (!server || !server->enforced) {
        return std::nullopt;
    }
    require_current_rules(tx, location);
    return StoredCaller{identity_of(tx.people(), location), server->login};
}

identity::Identity owner_identity(const std::string& login, const std::string& location) {
    identity::Identity identity;
    identity.source = location;
    identity.stored = true;
    identity.users.emplace(login,
                           identity::User{login, "the store's owner", "", true, {}, {}, {}, {}});
    return identity;
}

PushSummary push(store::WriteTransaction& tx, AuditTrail& audit,
                 const identity::Identity& identity) {
    const std::vector<store::Person> people = people_of(identity);
    if (std::none_of(people.begin(), people.end(),
                     [](const store::Person& person) { return person.tenant_admin; })) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("identity file {} names no tenant admin", identity.source),
                    "keep at least one: only a tenant admin (or the store's owner) can push the "
                    "next roster");
    }
    const std::vector<store::Person> before = tx.people();
    std::map<std::string, const store::Person*> earlier;
    for (const store::Person& person : before) {
        earlier.emplace(person.login, &person);
    }
    PushSummary summary;
    summary.users = people.size();
    for (const store::Person& person : people) {
        const auto found = earlier.find(person.login);
        if (found == earlier.end()) {
            ++summary.added;
        } else {
            summary.changed += *found->second == person ? 0 : 1;
            earlier.erase(found);
        }
    }
    summary.removed = earlier.size();
    // The roster is enforced by this binary's role table (init stores it; a
    // store made by an older copy may lack it).
    if (const auto rules = role_rules(); tx.role_rules() != rules) {
        tx.replace_role_rules(rules);
    }
    tx.replace_people(people);
    audit.record("identity.push", identity.source, std::nullopt,
                 before.empty() ? nlohmann::ordered_json()
                                : nlohmann::ordered_json{{"users", logins(before)}},
                 nlohmann::ordered_json{{"users", logins(people)},
                                        {"added", summary.added},
                                        {"changed", summary.changed},
                                        {"removed", summary.removed}});
    return summary;
}

} // namespace nimbus::roster
