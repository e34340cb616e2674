#include <fstream>
#include <string>
#include <sys/stat.h>

#include <doctest/doctest.h>

#include <nimbus/error.hpp>
#include <nimbus/identity/identity.hpp>

#include "support.hpp"

using namespace nimbus;

namespace {

/// The message of the Config error parsing `text` raises ("" when none).
std::string config_error(const std::string& text) {
    try {
        identity::parse_identity(text, "id.toml");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Config);
        return e.what();
    }
    return {};
}

} // namespace

TEST_CASE("identity: a complete entry") {
    const identity::Identity id = identity::parse_identity(R"(
[users.alice]
name = "Alice Example"
email = "alice@contoso.example"
tenant_admin = false
ou_admin = ["Contoso/Sales"]
owner = ["Hotline"]
supervisor = ["Hotline"]
member = ["Support"]
)",
                                                           "id.toml");
    const identity::User* alice = id.find("alice");
    REQUIRE(alice != nullptr);
    CHECK(alice->name == "Alice Example");
    CHECK(alice->email == "alice@contoso.example");
    CHECK_FALSE(alice->tenant_admin);
    CHECK(alice->ou_admin == std::vector<std::string>{"Contoso/Sales"});
    CHECK(alice->owner == std::vector<std::string>{"Hotline"});
    CHECK(alice->member == std::vector<std::string>{"Support"});
    CHECK(id.find("bob") == nullptr);
}

TEST_CASE("identity: errors name file, line and column") {
    CHECK(config_error("[users.a]\nname = \n").starts_with("id.toml:2:"));
    CHECK(config_error("[users.a]\nname = \"A\"\nrole = \"x\"\n") ==
          "id.toml:3:1: unknown key \"role\" in users.a (known: name, email, tenant_admin, "
          "ou_admin, owner, supervisor, member)");
    CHECK(config_error("[users.a]\nname = \"A\"\ntenant_admin = \"yes\"\n")
              .starts_with("id.toml:3:16: \"tenant_admin\" must be true or false"));
    CHECK(config_error("[users.a]\nname = \"A\"\nowner = \"Hotline\"\n")
              .find("must be an array of strings") != std::string::npos);
    CHECK(config_error("[users.a]\nname = \"  \"\n").find("users.a.name is empty") !=
          std::string::npos);
    CHECK(config_error("[users.a]\nemail = \"a@b\"\n").find("has no \"name\"") !=
          std::string::npos);
    CHECK(config_error("[groups.a]\n").find("unknown key \"groups\"") != std::string::npos);
    CHECK(config_error("[users.a]\nname = \"A\"\nou_admin = [\"Contoso//x\"]\n")
              .find("empty component") != std::string::npos);
}

TEST_CASE("identity: the toml++ 3.3.0 crashers are configuration errors") {
    CHECK_FALSE(config_error("[\n").empty());
    CHECK_FALSE(config_error("[ser\xCB\x9C").empty());
    CHECK_FALSE(config_error("\xFF\xFE").empty());
}

TEST_CASE("identity: files writable by group or others are refused") {
    test::TempDir dir;
    const auto path = dir.path() / "identity.toml";
    std::ofstream(path) << "[users.a]\nname = \"A\"\n";
    ::chmod(path.c_str(), 0620);
    CHECK_THROWS_WITH_AS(identity::load_identity_file(path),
                         doctest::Contains("writable by group or others"), Error);
    ::chmod(path.c_str(), 0602);
    CHECK_THROWS_AS(identity::load_identity_file(path), Error);
    ::chmod(path.c_str(), 0644);
    CHECK(identity::load_identity_file(path).find("a") != nullptr);
}

TEST_CASE("identity: a missing file is a configuration error") {
    try {
        identity::load_identity_file("/nonexistent/identity.toml");
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Config);
        CHECK(std::string(e.what()).find("does not exist") != std::string::npos);
    }
}
