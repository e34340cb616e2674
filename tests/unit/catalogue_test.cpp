#include <doctest/doctest.h>
#include <fmt/format.h>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>

#include "support.hpp"

using namespace nimbus;

namespace {

/// A store with OUs Contoso/Sales/EMEA and Contoso/Support, and the test identity.
struct Fixture {
    test::TempStore temp;
    identity::Identity id = test::test_identity();
    Actor admin = resolve_actor(id, "admin", std::nullopt);
    Actor sales = resolve_actor(id, "sales", std::nullopt);

    /// Runs `body(tx, audit)` in one committed write transaction and returns its result.
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
            ous::create(tx, audit, admin, "Contoso/Sales/EMEA", true);
            return ous::create(tx, audit, admin, "Contoso/Support", false);
        });
    }

    codes::Change create(const char* type, const char* name, const char* ou = nullptr,
                         const char* description = "", const Actor* actor = nullptr) {
        return write(
            [&](auto& tx, auto& audit) {
                return codes::create(
                    tx, audit, actor ? *actor : admin,
                    codes::Draft{*parse_code_type(type), name, description,
                                 ou ? std::optional<std::string>(ou) : std::nullopt});
            },
            actor);
    }

    ErrorKind create_error(const char* type, const char* name, const char* ou = nullptr,
                           const char* description = "", const Actor* actor = nullptr) {
        try {
            create(type, name, ou, description, actor);
        } catch (const Error& e) {
            return e.kind();
        }
        return ErrorKind::Internal;
    }

    std::size_t audit_count() { return temp.store->begin_read()->audit_entries({}).size(); }
};

} // namespace

TEST_CASE("catalogue: creating a code is audited, an identical re-run is unchanged") {
    Fixture f;
    const std::size_t before = f.audit_count();
    const codes::Change first = f.create("primary", "Sale", nullptr, "Bought something");
    CHECK(first.outcome == codes::Outcome::Created);
    CHECK(first.code.ou_path == "Contoso");
    CHECK(f.audit_count() == before + 1);
    const codes::Change again = f.create("primary", "Sale", nullptr, "Bought something");
    CHECK(again.outcome == codes::Outcome::Unchanged);
    CHECK(again.code.id == first.code.id);
    CHECK(f.audit_count() == before + 1);
}

TEST_CASE("catalogue: same name with other fields, or other case, is a conflict") {
    Fixture f;
    f.create("primary", "Sale", nullptr, "Bought");
    CHECK(f.create_error("primary", "Sale", nullptr, "Other") == ErrorKind::Conflict);
    CHECK(f.create_error("primary", "SALE", nullptr, "Bought") == ErrorKind::Conflict);
    CHECK(f.create("secondary", "Sale").outcome == codes::Outcome::Created);
}

TEST_CASE("catalogue: names are unique along an OU path, not across siblings") {
    Fixture f;
    f.create("primary", "Callback", "Contoso/Sales");
    CHECK(f.create("primary", "Callback", "Contoso/Support").outcome == codes::Outcome::Created);
    CHECK(f.create_error("primary", "callback", "Contoso") == ErrorKind::Conflict);
    CHECK(f.create_error("primary", "Callback", "Contoso/Sales/EMEA") == ErrorKind::Conflict);
}

TEST_CASE("catalogue: Unicode names compare by NFC and case folding") {
    Fixture f;
    f.create("primary", "Rückruf");
    CHECK(f.create_error("primary", "RU\xCC\x88"
                                    "CKRUF") == ErrorKind::Conflict);
    CHECK(f.create("primary", "折り返し").code.name == "折り返し");
}

TEST_CASE("catalogue: invalid names and unknown OUs change nothing") {
    Fixture f;
    const std::size_t before = f.audit_count();
    CHECK(f.create_error("primary", "") == ErrorKind::InvalidData);
    CHECK(f.create_error("primary", "id:12") == ErrorKind::InvalidData);
    CHECK(f.create_error("primary", "Sale", "Contoso/Nowhere") == ErrorKind::NotFound);
    CHECK(f.audit_count() == before);
    CHECK(f.temp.store->begin_read()->codes({}).empty());
}

TEST_CASE("catalogue: OU admins change codes in their subtree only") {
    Fixture f;
    CHECK(f.create("primary", "Lead", "Contoso/Sales/EMEA", "", &f.sales).outcome ==
          codes::Outcome::Created);
    CHECK(f.create_error("primary", "Lead2", "Contoso", "", &f.sales) ==
          ErrorKind::PermissionDenied);
}

TEST_CASE("catalogue: resolving by id, by name, and ambiguity") {
    Fixture f;
    const Code primary = f.create("primary", "Sale").code;
    const Code secondary = f.create("secondary", "Sale").code;
    const auto tx = f.temp.store->begin_read();
    CHECK(codes::resolve(*tx, {"id:" + std::to_string(secondary.id), {}, {}}).type ==
          CodeType::Secondary);
    CHECK(codes::resolve(*tx, {"sale", CodeType::Primary, {}}).id == primary.id);
    CHECK_THROWS_WITH_AS(codes::resolve(*tx, {"Sale", {}, {}}), doctest::Contains("is ambiguous"),
                         Error);
    CHECK_THROWS_AS(codes::resolve(*tx, {"id:999", {}, {}}), Error);
    CHECK_THROWS_AS(codes::resolve(*tx, {"Nope", {}, {}}), Error);
}

TEST_CASE("catalogue: edit renames, refuses clashes, and records before and after") {
    Fixture f;
    const Code sale = f.create("primary", "Sale").code;
    f.create("primary", "Lead");
    const auto rename = [&](const char* name) {
        return f.write([&](auto& tx, auto& audit) {
            return codes::edit(tx, audit, f.admin, {"id:" + std::to_string(sale.id), {}, {}},
                               codes::Edit{std::string(name), std::nullopt});
        });
    };
    CHECK(rename("Sales").outcome == codes::Outcome::Updated);
    CHECK(rename("Sales").outcome == codes::Outcome::Unchanged);
    CHECK_THROWS_AS(rename("LEAD"), Error);
    const auto entries = f.temp.store->begin_read()->audit_entries({});
    CHECK(entries.back().action == "code.edit");
    CHECK(entries.back().before.find("\"Sale\"") != std::string::npos);
    CHECK(entries.back().after.find("\"Sales\"") != std::string::npos);
}

TEST_CASE("catalogue: deleting retires a code, its name may be reused") {
    Fixture f;
    const Code sale = f.create("primary", "Sale").code;
    const auto remove = [&] {
        return f.write([&](auto& tx, auto& audit) {
            return codes::remove(tx, audit, f.admin, {"Sale", {}, {}});
        });
    };
    CHECK(remove().outcome == codes::Outcome::Deleted);
    CHECK(remove().outcome == codes::Outcome::Unchanged); // resolves to the deleted code
    const Code reborn = f.create("primary", "Sale").code;
    CHECK(reborn.id != sale.id);
    const auto tx = f.temp.store->begin_read();
    CHECK(codes::list(*tx, {}).size() == 1);
    codes::ListFilter all;
    all.include_deleted = true;
    CHECK(codes::list(*tx, all).size() == 2);
    CHECK(codes::resolve(*tx, {"Sale", {}, {}}).id == reborn.id);
}

TEST_CASE("catalogue: list --ou shows codes usable there") {
    Fixture f;
    f.create("primary", "Root");
    f.create("primary", "Sales only", "Contoso/Sales");
    f.create("primary", "Support only", "Contoso/Support");
    const auto tx = f.temp.store->begin_read();
    codes::ListFilter at_emea;
    at_emea.ou_path = "contoso/sales/emea";
    std::vector<std::string> found;
    for (const Code& code : codes::list(*tx, at_emea)) {
        found.push_back(code.name);
    }
    CHECK(found == std::vector<std::string>{"Root", "Sales only"});
}

TEST_CASE("catalogue: ou create needs the parent unless --parents") {
    Fixture f;
    CHECK_THROWS_AS(f.write([&](auto& tx, auto& audit) {
        return ous::create(tx, audit, f.admin, "Contoso/A/B", false);
    }),
                    Error);
    const ous::Creation made = f.write([&](auto& tx, auto& audit) {
        return ous::create(tx, audit, f.admin, "contoso/A/B", true);
    });
    CHECK(made.created.size() == 2);
    CHECK(made.ou.path == "Contoso/A/B"); // the root keeps its own spelling
    const ous::Creation again = f.write([&](auto& tx, auto& audit) {
        return ous::create(tx, audit, f.admin, "Contoso/a/b", false);
    });
    CHECK(again.created.empty());
    CHECK_THROWS_AS(f.write(
                        [&](auto& tx, auto& audit) {
                            return ous::create(tx, audit, f.sales, "Contoso/Support/X", false);
                        },
                        &f.sales),
                    Error);
}

TEST_CASE("codes: id references in any case, never as names") {
    CHECK(codes::parse_id_reference("id:12") == 12);
    CHECK(codes::parse_id_reference(" ID:3 ") == 3);
    CHECK(codes::parse_id_reference("Id:7") == 7);
    CHECK_FALSE(codes::parse_id_reference("id:").has_value());
    CHECK_FALSE(codes::parse_id_reference("id:x").has_value());
    CHECK_FALSE(codes::parse_id_reference("id:-1").has_value());
    CHECK_FALSE(codes::parse_id_reference("ids:1").has_value());
}

TEST_CASE("codes: a name that looks like a code along the OU path is refused") {
    Fixture f;
    const auto sale = f.create("primary", "Sale", "Contoso/Sales").code;
    const std::size_t audited = f.audit_count();
    // Above, at and below Contoso/Sales a service could offer both.
    for (const char* ou : {"Contoso", "Contoso/Sales", "Contoso/Sales/EMEA"}) {
        CAPTURE(ou);
        CHECK(f.create_error("primary", "S\xD0\xB0le", ou) == ErrorKind::InvalidData);
    }
    CHECK_THROWS_WITH(f.create("primary", "S\xD0\xB0le"),
                      fmt::format("code name \"S\xD0\xB0le\" looks like primary code \"Sale\" "
                                  "(id:{}) in OU \"Contoso/Sales\"",
                                  sale.id)
                          .c_str());
    CHECK(f.audit_count() == audited);
    // Beside it, of the other type, or like a deleted code: allowed.
    CHECK(f.create("primary", "S\xD0\xB0le", "Contoso/Support").outcome == codes::Outcome::Created);
    CHECK(f.create("secondary", "\xEF\xBC\xB3"
                                "ale")
              .outcome == codes::Outcome::Created);
}

TEST_CASE("OUs: a path outside the tenant root is invalid, naming the root") {
    Fixture f;
    const auto tx = f.temp.store->begin_read();
    CHECK_THROWS_WITH_AS(ous::find(*tx, "Fabrikam/Sales"),
                         "OU path \"Fabrikam/Sales\" does not start at the tenant root \"Contoso\"",
                         Error);
    CHECK_THROWS_WITH_AS(ous::find(*tx, "Contoso/Sales/../Support"),
                         "OU path \"Contoso/Sales/../Support\" has a component \".\" or \"..\"",
                         Error);
    try {
        ous::find(*tx, "Contoso/Nowhere");
        FAIL("found");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::NotFound);
    }
}
