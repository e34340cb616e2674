#include <doctest/doctest.h>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/services/code_lists.hpp>
#include <nimbus/services/extensions.hpp>
#include <nimbus/services/services.hpp>

#include "support.hpp"

using namespace nimbus;

namespace {

/// Contoso/Sales with service Hotline (basic-routing) and codes Sale, No sale
/// (primary, Contoso), Rückruf (secondary, Contoso), Lead (primary, Contoso/Support).
struct Fixture {
    test::TempStore temp;
    identity::Identity id = test::test_identity();
    Actor admin = resolve_actor(id, "admin", std::nullopt);

    template <class Body>
    auto write(Body&& body, const Actor* actor = nullptr) {
        const auto tx = temp.store->begin_write();
        AuditTrail audit(*tx, actor ? *actor : admin, test::test_time());
        auto result = body(*tx, audit);
        tx->commit();
        return result;
    }

    Fixture() {
        write([&](auto& tx, auto& audit) {
            ous::create(tx, audit, admin, "Contoso/Sales", false);
            ous::create(tx, audit, admin, "Contoso/Support", false);
            for (const auto& [type, name, ou] :
                 {std::tuple{CodeType::Primary, "Sale", "Contoso"},
                  std::tuple{CodeType::Primary, "No sale", "Contoso"},
                  std::tuple{CodeType::Secondary, "Rückruf", "Contoso"},
                  std::tuple{CodeType::Primary, "Lead", "Contoso/Support"}}) {
                codes::create(tx, audit, admin, codes::Draft{type, name, "", std::string(ou)});
            }
            return services::create(
                tx, audit, admin,
                services::Draft{"Hotline", "Contoso/Sales", License::BasicRouting});
        });
    }

    services::Change apply(std::optional<std::vector<std::string>> primary,
                           std::optional<std::vector<std::string>> secondary = std::nullopt,
                           const Actor* actor = nullptr) {
        return write(
            [&](auto& tx, auto& audit) {
                return services::apply_codes(tx, audit, actor ? *actor : admin, "hotline",
                                             services::ListUpdate{primary, {}, {}, false},
                                             services::ListUpdate{secondary, {}, {}, false});
            },
            actor);
    }

    std::vector<std::string> primary_names() {
        const auto tx = temp.store->begin_read();
        std::vector<std::string> names;
        for (const Code& code : services::settings(*tx, services::find(*tx, "Hotline")).primary) {
            names.push_back(code.name);
        }
        return names;
    }
};

std::string error_of(auto&& call) {
    try {
        call();
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST_CASE("services: lists keep the order given") {
    Fixture f;
    CHECK(f.apply(std::vector<std::string>{"No sale", "Sale"}).outcome ==
          services::Outcome::Updated);
    CHECK(f.primary_names() == std::vector<std::string>{"No sale", "Sale"});
    CHECK(f.apply(std::vector<std::string>{"No sale", "Sale"}).outcome ==
          services::Outcome::Unchanged);
    f.apply(std::vector<std::string>{"sale", "no SALE"});
    CHECK(f.primary_names() == std::vector<std::string>{"Sale", "No sale"});
    f.apply(std::vector<std::string>{});
    CHECK(f.primary_names().empty());
}

TEST_CASE("services: every offending code is named and nothing changes") {
    Fixture f;
    f.apply(std::vector<std::string>{"Sale"});
    const std::string message = error_of([&] {
        f.apply(std::vector<std::string>{"Nope", "Rückruf", "Lead", "No sale", "No sale"},
                std::vector<std::string>{"Sale"});
    });
    CHECK(message.find("primary \"Nope\": there is no code named \"Nope\"") != std::string::npos);
    CHECK(message.find("primary \"Rückruf\": is a secondary code") != std::string::npos);
    CHECK(message.find("primary \"Lead\": is defined at OU \"Contoso/Support\"") !=
          std::string::npos);
    CHECK(message.find("primary \"No sale\": is named twice") != std::string::npos);
    CHECK(message.find("secondary \"Sale\": is a primary code") != std::string::npos);
    CHECK(f.primary_names() == std::vector<std::string>{"Sale"});
}

TEST_CASE("services: add appends, remove takes off, both idempotent") {
    Fixture f;
    const auto update = [&](std::vector<std::string> add, std::vector<std::string> remove) {
        return f.write([&](auto& tx, auto& audit) {
            return services::apply_codes(tx, audit, f.admin, "Hotline",
                                         services::ListUpdate{std::nullopt, add, remove, false},
                                         services::ListUpdate{});
        });
    };
    update({"Sale"}, {});
    update({"No sale", "Sale"}, {});
    CHECK(f.primary_names() == std::vector<std::string>{"Sale", "No sale"});
    update({}, {"Sale"});
    CHECK(update({}, {"Sale"}).outcome == services::Outcome::Unchanged);
    CHECK(f.primary_names() == std::vector<std::string>{"No sale"});
    CHECK(error_of([&] { update({}, {"Typo"}); }).find("no code named \"Typo\"") !=
          std::string::npos);
}

TEST_CASE("services: deleting a code takes it off every list, audited") {
    Fixture f;
    f.apply(std::vector<std::string>{"Sale", "No sale"});
    f.write([&](auto& tx, auto& audit) {
        return codes::remove(tx, audit, f.admin, codes::Reference{"Sale", {}, {}});
    });
    CHECK(f.primary_names() == std::vector<std::string>{"No sale"});
    const auto entries = f.temp.store->begin_read()->audit_entries({});
    CHECK(entries.back().action == "service.codes");
    CHECK(entries.back().before.find("\"Sale\"") != std::string::npos);
}

TEST_CASE("services: the license gate") {
    Fixture f;
    const auto enable = [&](const char* feature) {
        return f.write([&](auto& tx, auto& audit) {
            return services::set_features(tx, audit, f.admin, "Hotline", {feature}, true);
        });
    };
    const auto relicense = [&](License license, bool disable) {
        return f.write([&](auto& tx, auto& audit) {
            return services::edit(tx, audit, f.admin, "Hotline",
                                  services::Edit{std::nullopt, license, disable});
        });
    };
    CHECK(enable("session-details").outcome == services::Outcome::Updated);
    try {
        enable("codes-and-tags");
        FAIL("expected NotLicensed");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::NotLicensed);
        CHECK(std::string(e.what()).find("enterprise-routing or contact-center") !=
              std::string::npos);
    }
    relicense(License::ContactCenter, false);
    enable("codes-and-tags");
    CHECK(enable("codes-and-tags").outcome == services::Outcome::Unchanged);
    CHECK_THROWS_AS(relicense(License::AdvancedRouting, false), Error);
    const services::Change downgraded = relicense(License::AdvancedRouting, true);
    CHECK(downgraded.settings.enabled == std::vector<std::string>{"session-details"});
}

TEST_CASE("services: names are unique case-insensitively") {
    Fixture f;
    const auto create = [&](const char* name, License license) {
        return f.write([&](auto& tx, auto& audit) {
            return services::create(tx, audit, f.admin,
                                    services::Draft{name, "Contoso/Sales", license});
        });
    };
    CHECK(create("Hotline", License::BasicRouting).outcome == services::Outcome::Unchanged);
    CHECK_THROWS_AS(create("HOTLINE", License::BasicRouting), Error);
    CHECK_THROWS_AS(create("Hotline", License::ContactCenter), Error);
}

TEST_CASE("services: owners configure their own services and change codes at their OU") {
    Fixture f;
    f.write([&](auto& tx, auto& audit) {
        return services::create(tx, audit, f.admin,
                                services::Draft{"Other", "Contoso/Sales", License::BasicRouting});
    });
    Actor owner = resolve_actor(f.id, "owner", std::nullopt);
    services::locate_grants(owner.grants, *f.temp.store->begin_read());
    CHECK(owner.grants.owner.front().ou_key == "contoso/sales");
    CHECK(f.apply(std::vector<std::string>{"Sale"}, std::nullopt, &owner).outcome ==
          services::Outcome::Updated);
    CHECK_THROWS_AS(
        f.write(
            [&](auto& tx, auto& audit) {
                return services::apply_codes(
                    tx, audit, owner, "Other",
                    services::ListUpdate{std::vector<std::string>{"Sale"}, {}, {}, false},
                    services::ListUpdate{});
            },
            &owner),
        Error);
    CHECK_THROWS_AS(f.write(
                        [&](auto& tx, auto& audit) {
                            return services::edit(
                                tx, audit, owner, "Hotline",
                                services::Edit{std::nullopt, License::ContactCenter, false});
                        },
                        &owner),
                    Error);
    CHECK(f.write(
               [&](auto& tx, auto& audit) {
                   return codes::create(
                       tx, audit, owner,
                       codes::Draft{CodeType::Primary, "Hot", "", "Contoso/Sales"});
               },
               &owner)
              .outcome == codes::Outcome::Created);
}
