#include <doctest/doctest.h>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/config/config.hpp>
#include <nimbus/error.hpp>

#include "support.hpp"

using namespace nimbus;

namespace {

const char* const sample = R"(tenant = "Contoso"

ous = [
  "Contoso/Sales",
]

[[codes]]
type = "primary"
name = "No sale"
ou = "Contoso"

[[codes]]
type = "primary"
name = "Sale"
ou = "Contoso"
description = "The customer \"bought\""

[[codes]]
type = "secondary"
name = "Rückruf"
ou = "Contoso/Sales"

[[services]]
name = "Hotline"
ou = "Contoso/Sales"
license = "contact-center"
primary = ["Sale", "No sale"]
secondary = ["Rückruf"]
extensions = { codes-and-tags = true, caller-information = false, conversation-context = false, session-details = true }
)";

struct Fixture {
    test::TempStore temp;
    identity::Identity id = test::test_identity();
    Actor admin = resolve_actor(id, "admin", std::nullopt);

    std::vector<config::Step> apply(std::string_view text, bool prune = false) {
        const auto tx = temp.store->begin_write();
        AuditTrail audit(*tx, admin, test::test_time());
        auto steps = config::apply(*tx, audit, admin, text, "test.toml", config::Options{prune});
        tx->commit();
        return steps;
    }

    std::string exported() {
        return config::export_toml(*temp.store->begin_read(), admin, std::nullopt);
    }
};

std::vector<std::string> lines(const std::vector<config::Step>& steps) {
    std::vector<std::string> result;
    for (const config::Step& step : steps) {
        result.push_back(step.line());
    }
    return result;
}

} // namespace

TEST_CASE("config: apply, then export gives the same text") {
    Fixture f;
    CHECK_FALSE(f.apply(sample).empty());
    const std::string text = f.exported();
    CHECK(text.find("tenant = \"Contoso\"") != std::string::npos);
    CHECK(text.substr(text.find("\nous")) ==
          std::string(sample).substr(std::string(sample).find("\nous")));
    CHECK(f.apply(sample).empty()); // the second time changes nothing
    Fixture fresh;
    fresh.apply(text);
    CHECK(fresh.exported() == text);
}

TEST_CASE("config: plan lines for create, edit, reorder and prune") {
    Fixture f;
    f.apply(sample);
    std::string edited = sample;
    edited.replace(edited.find("\\\"bought\\\""), 10, "bought");
    edited.replace(edited.find(R"(["Sale", "No sale"])"), 19, R"(["No sale", "Sale"])");
    edited.replace(edited.find("[[codes]]\ntype = \"primary\"\nname = \"No sale\""), 0,
                   "[[codes]]\ntype = \"primary\"\nname = \"Lead\"\nou = \"Contoso/Sales\"\n\n");
    const std::string rucksack =
        "[[codes]]\ntype = \"secondary\"\nname = \"Rückruf\"\nou = \"Contoso/Sales\"\n\n";
    edited.erase(edited.find(rucksack), rucksack.size());
    const std::string secondary = "secondary = [\"Rückruf\"]";
    edited.replace(edited.find(secondary), secondary.size(), "secondary = []");
    CHECK(lines(f.apply(edited, true)) ==
          std::vector<std::string>{
              "+ code primary \"Lead\" in Contoso/Sales",
              "~ code primary \"Sale\" in Contoso: description \"The customer \"bought\"\" -> "
              "\"The customer bought\"",
              "~ service \"Hotline\": primary list reordered: Sale, No sale -> No sale, Sale",
              "~ service \"Hotline\": secondary list: Rückruf -> (empty)",
              "- code secondary \"Rückruf\" in Contoso/Sales",
          });
}

TEST_CASE("config: without --prune nothing is deleted and unnamed list entries stay") {
    Fixture f;
    f.apply(sample);
    const std::string partial = "tenant = \"Contoso\"\n[[services]]\nname = \"Hotline\"\n"
                                "ou = \"Contoso/Sales\"\nlicense = \"contact-center\"\n"
                                "primary = [\"No sale\"]\n";
    CHECK(lines(f.apply(partial)) ==
          std::vector<std::string>{
              "~ service \"Hotline\": primary list reordered: Sale, No sale -> No sale, Sale"});
    CHECK(f.temp.store->begin_read()->codes({}).size() == 3);
}

TEST_CASE("config: bad files name the line and apply nothing") {
    Fixture f;
    const auto error = [&](std::string text) {
        try {
            f.apply(text);
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::InvalidData);
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(error("tenant = \"Contoso\"\n[[codes]\n").starts_with("test.toml:2:"));
    CHECK(error("tenant = \"Contoso\"\ncolour = 1\n") ==
          "test.toml:2:1: unknown key \"colour\" (known: format, tenant, scope, ous, codes, "
          "context, services)");
    CHECK(error("tenant = \"Fabrikam\"\n").find("the file is for tenant \"Fabrikam\"") !=
          std::string::npos);
    std::string unknown_code = sample;
    unknown_code.replace(unknown_code.find(R"(["Sale", "No sale"])"), 19, R"(["Sale", "Typo"])");
    CHECK(error(unknown_code) ==
          "test.toml:23: service \"Hotline\" cannot take these codes; nothing was changed:\n"
          "  primary \"Typo\": there is no code named \"Typo\"");
    std::string unlicensed = sample;
    unlicensed.replace(unlicensed.find("contact-center"), 14, "basic-routing");
    CHECK(error(unlicensed).find("needs an enterprise-routing or contact-center license") !=
          std::string::npos);
    CHECK(f.temp.store->begin_read()->codes({}).empty());
    CHECK(f.temp.store->begin_read()->services().empty());
}
