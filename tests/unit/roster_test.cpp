#include <algorithm>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/identity/roster.hpp>

using namespace nimbus;

TEST_CASE("roster: the server's role table is the policy table, one rule per action") {
    const std::vector<store::RoleRule> rules = roster::role_rules();
    REQUIRE(rules.size() == policy::action_count);
    std::set<std::string> ids;
    for (const policy::Rule& rule : policy::rules()) {
        INFO(rule.commands);
        CHECK_FALSE(rule.id.empty());
        ids.emplace(rule.id);
        const auto stored = std::find_if(rules.begin(), rules.end(), [&](const store::RoleRule& r) {
            return r.action == rule.id;
        });
        REQUIRE(stored != rules.end());
        CHECK(stored->roles == rule.roles);
        CHECK(stored->audited == rule.audited);
    }
    CHECK(ids.size() == policy::action_count); // no two actions share an id
    CHECK(std::is_sorted(rules.begin(), rules.end(),
                         [](const auto& a, const auto& b) { return a.action < b.action; }));
}

TEST_CASE("roster: an identity file stored and read back is the same identity") {
    const identity::Identity file = identity::parse_identity(R"(
[users.alice]
name = "Alice Admin"
email = "alice@contoso.example"
tenant_admin = true

[users.sam]
name = "Sam Sales"
ou_admin = ["Contoso/Sales", "Contoso/Support"]
owner = ["Hotline"]
supervisor = ["Hotline", "Desk"]
member = ["Support"]
)",
                                                             "id.toml");
    const std::vector<store::Person> people = roster::people_of(file);
    REQUIRE(people.size() == 2);
    const store::Person& sam = people[1];
    CHECK(sam.login == "sam");
    REQUIRE(sam.grants.size() == 6);
    CHECK(sam.grants[0] == store::PersonGrant{"ou_admin", "Contoso/Sales", "contoso/sales"});
    CHECK(sam.grants[5] == store::PersonGrant{"member", "Support", "support"});

    const identity::Identity stored = roster::identity_of(people, "postgresql:///nimbus");
    CHECK(stored.stored);
    CHECK(stored.source == "postgresql:///nimbus");
    for (const auto& [login, user] : file.users) {
        const identity::User* read = stored.find(login);
        REQUIRE(read != nullptr);
        CHECK(read->name == user.name);
        CHECK(read->email == user.email);
        CHECK(read->tenant_admin == user.tenant_admin);
        CHECK(read->ou_admin == user.ou_admin);
        CHECK(read->owner == user.owner);
        CHECK(read->supervisor == user.supervisor);
        CHECK(read->member == user.member);
    }
}

TEST_CASE("roster: a stored grant of a role the binary does not know is refused") {
    const std::vector<store::Person> people = {store::Person{
        "mia", "Mia", "", false, {store::PersonGrant{"auditor", "Hotline", "hotline"}}}};
    CHECK_THROWS_WITH_AS(roster::identity_of(people, "db"),
                         doctest::Contains("grant of unknown role \"auditor\""), Error);
}
