#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/services/code_lists.hpp>
#include <nimbus/services/extensions.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/sessions.hpp>

#include "support.hpp"

using namespace nimbus;

namespace {

/// Service Hotline (contact-center, codes-and-tags on, primary Sale) in
/// Contoso/Sales; agent "agent" is listed in the identity.
struct Fixture {
    test::TempStore temp;
    identity::Identity id = test::test_identity();
    Actor admin = resolve_actor(id, "admin", std::nullopt);
    Actor agent = resolve_actor(id, "agent", std::nullopt);

    template <class Body>
    auto write(Body&& body, const Actor& actor, Timestamp now = test::test_time()) {
        const auto tx = temp.store->begin_write();
        AuditTrail audit(*tx, actor, now);
        auto result = body(*tx, audit);
        tx->commit();
        return result;
    }

    Fixture() {
        write(
            [&](auto& tx, auto& audit) {
                ous::create(tx, audit, admin, "Contoso/Sales", false);
                codes::create(tx, audit, admin, codes::Draft{CodeType::Primary, "Sale", "", {}});
                services::create(
                    tx, audit, admin,
                    services::Draft{"Hotline", "Contoso/Sales", License::ContactCenter});
                services::apply_codes(
                    tx, audit, admin, "Hotline",
                    services::ListUpdate{std::vector<std::string>{"Sale"}, {}, {}, false},
                    services::ListUpdate{});
                return services::set_features(tx, audit, admin, "Hotline", {"codes-and-tags"},
                                              true);
            },
            admin);
    }

    sessions::ImportReport import(const std::string& csv) {
        return write(
            [&](auto& tx, auto& audit) {
                std::istringstream in(csv);
                return sessions::import_sessions(
                    tx, audit, admin, id, in,
                    sessions::ImportOptions{sessions::InputFormat::Csv, "t.csv", false}, {});
            },
            admin);
    }

    /// The stored session with this id (of any service: the tests' ids are unique).
    Session stored(const std::string& external_id) {
        auto found = temp.store->begin_read()->sessions_with_external_ids({external_id});
        REQUIRE(found.size() == 1);
        return found.front();
    }

    sessions::Detail conclude(const char* session, std::vector<std::string> tags,
                              Timestamp now = test::test_time()) {
        return write(
            [&](auto& tx, auto& audit) {
                return sessions::conclude(tx, audit, agent,
                                          sessions::ConcludeRequest{session, {"Sale"}, {}, tags});
            },
            agent, now);
    }
};

const char* const header = "id,service,user,direction,started_at,ended_at,outcome,caller\n";

} // namespace

TEST_CASE("sessions: import stores new rows, then finds them unchanged") {
    Fixture f;
    const std::string csv =
        std::string(header) +
        "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n"
        "s-2,Hotline,agent,outbound,2026-11-26T08:00:00+01:00,2026-11-26T07:10:00Z,"
        "outbound-accepted,\n";
    const sessions::ImportReport first = f.import(csv);
    CHECK(first.inserted == 2);
    CHECK(first.invalid == 0);
    const sessions::ImportReport second = f.import(csv);
    CHECK(second.unchanged == 2);
    CHECK(second.inserted == 0);
    CHECK(timefmt::to_utc_string(f.stored("s-2").started_at) == "2026-11-26T07:00:00Z");
}

TEST_CASE("sessions: an active call's end may be filled in, nothing else may change") {
    Fixture f;
    f.import(std::string(header) + "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n");
    const auto ended = f.import(
        std::string(header) + "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,2026-11-26T08:09:00Z,"
                              "accepted,\n");
    CHECK(ended.completed == 1);
    const auto stale =
        f.import(std::string(header) + "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n");
    CHECK(stale.unchanged == 1);
    const auto other =
        f.import(std::string(header) + "s-1,Hotline,admin,inbound,2026-11-26T08:00:00Z,,,\n");
    CHECK(other.invalid == 1);
    CHECK(other.problems.front().reason.find("user agent -> admin") != std::string::npos);
}

TEST_CASE("sessions: a conclusion is once only and keeps who, when and how") {
    Fixture f;
    f.import(std::string(header) +
             "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,2026-11-26T08:05:00Z,accepted,\n");
    const auto before_end = *timefmt::parse_timestamp("2026-11-26T08:04:00Z");
    const sessions::Detail done = f.conclude("s-1", {"vip"}, before_end);
    REQUIRE(done.session.conclusion);
    CHECK_FALSE(done.session.conclusion->retroactive);
    CHECK(done.session.conclusion->user == "agent");
    try {
        f.conclude("s-1", {"again"});
        FAIL("expected Conflict");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Conflict);
    }
    const Session stored = f.stored("s-1");
    CHECK(stored.conclusion->tags == std::vector<std::string>{"vip"});
    CHECK(stored.conclusion->codes.front().name == "Sale");
}

TEST_CASE("sessions: an id is unique per service, and named as ID or SERVICE/ID") {
    Fixture f;
    f.write(
        [&](auto& tx, auto& audit) {
            return services::create(
                tx, audit, f.admin,
                services::Draft{"Desk", "Contoso/Sales", License::BasicRouting});
        },
        f.admin);
    const auto imported =
        f.import(std::string(header) + "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n"
                                       "s-1,Desk,sales,inbound,2026-11-26T07:00:00Z,,,\n"
                                       "a/b,Desk,sales,inbound,2026-11-26T07:00:00Z,,,\n");
    CHECK(imported.inserted == 3);
    CHECK(imported.invalid == 0);
    CHECK(f.import(std::string(header) + "s-1,Desk,sales,inbound,2026-11-26T07:00:00Z,,,\n")
              .unchanged == 1);

    const auto tx = f.temp.store->begin_read();
    const Actor owner = resolve_actor(f.id, "owner", std::nullopt);
    // The admin sees both: the bare id is ambiguous, and says how to name each.
    try {
        sessions::resolve(*tx, f.admin, "s-1");
        FAIL("expected Usage");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Usage);
        CHECK(std::string(e.what()).find("Desk/s-1, Hotline/s-1") != std::string::npos);
    }
    CHECK(sessions::resolve(*tx, f.admin, "Desk/s-1").service_name == "Desk");
    CHECK(sessions::resolve(*tx, f.admin, " hotline/s-1 ").service_name == "Hotline");
    CHECK(sessions::resolve(*tx, f.admin, "a/b").service_name == "Desk");
    CHECK(sessions::resolve(*tx, f.admin, "Desk/a/b").external_id == "a/b");
    // The owner of Hotline sees only Hotline's: the bare id is theirs, and
    // Desk's is as unknown as an id that does not exist.
    CHECK(sessions::resolve(*tx, owner, "s-1").service_name == "Hotline");
    for (const char* hidden : {"Desk/s-1", "a/b", "nope", "Nowhere/s-1"}) {
        try {
            sessions::resolve(*tx, owner, hidden);
            FAIL("expected NotFound");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::NotFound);
            CHECK(std::string(e.what()) == fmt::format("session \"{}\" does not exist", hidden));
        }
    }
    const std::vector<Session> all = tx->sessions_with_external_ids({"s-1", "a/b"});
    std::vector<std::string> named = sessions::references(*tx, f.admin, all);
    std::sort(named.begin(), named.end());
    CHECK(named == std::vector<std::string>{"Desk/s-1", "Hotline/s-1", "a/b"});
    std::vector<Session> hotline = all;
    std::erase_if(hotline, [](const Session& s) { return s.service_name != "Hotline"; });
    CHECK(sessions::references(*tx, owner, hotline) == std::vector<std::string>{"s-1"});
}

TEST_CASE("sessions: concluding after the end is retroactive") {
    Fixture f;
    f.import(std::string(header) +
             "s-1,Hotline,agent,inbound,2026-11-20T08:00:00Z,2026-11-20T08:05:00Z,accepted,\n");
    CHECK(f.conclude("s-1", {}).session.conclusion->retroactive);
}

TEST_CASE("sessions: the schema refuses changes to a conclusion") {
    Fixture f;
    f.import(std::string(header) + "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n");
    f.conclude("s-1", {"vip"});
    SQLite::Database db(f.temp.path, SQLite::OPEN_READWRITE);
    for (const char* statement :
         {"UPDATE conclusion SET user = 'x'", "DELETE FROM conclusion",
          "DELETE FROM conclusion_code", "UPDATE conclusion_tag SET tag = 'x'",
          "INSERT INTO conclusion_tag VALUES (1, 2, 'more', 'more')",
          "INSERT OR REPLACE INTO conclusion VALUES (1, 0, 'x', NULL, 0, 0, 1)",
          "UPDATE session SET caller = 'x'", "DELETE FROM session"}) {
        CAPTURE(statement);
        CHECK_THROWS_AS(db.exec(statement), SQLite::Exception);
    }
    CHECK_NOTHROW(db.exec("UPDATE session SET ended_at = started_at + 60, outcome = 'accepted'"));
}

TEST_CASE("sessions: a field that is not UTF-8 is refused, never cut to another id") {
    Fixture f;
    f.import(std::string(header) + "u-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n");
    const auto report = f.import(std::string(header) +
                                 "u-1\xFF,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,other\n"
                                 "u-2,Hotline,agent\xFF,inbound,2026-11-26T08:00:00Z,,,\n");
    CHECK(report.invalid == 2);
    CHECK(report.unchanged == 0);
    REQUIRE(report.problems.size() == 2);
    CHECK(report.problems[0].reason == "\"id\" is not valid UTF-8 (byte 4 is 0xFF)");
    CHECK(report.problems[1].reason == "\"user\" is not valid UTF-8 (byte 6 is 0xFF)");
}

TEST_CASE("sessions: call times lie from 2000 up to 2100") {
    Fixture f;
    const auto report =
        f.import(std::string(header) + "t-1,Hotline,agent,inbound,0000-01-01T00:00:00Z,,,\n"
                                       "t-2,Hotline,agent,inbound,2100-01-01T00:00:00Z,,,\n"
                                       "t-3,Hotline,agent,inbound,2000-01-01T00:00:00Z,,,\n"
                                       "t-4,Hotline,agent,inbound,2099-12-31T23:59:59Z,,,\n");
    CHECK(report.invalid == 2);
    CHECK(report.inserted == 2);
    REQUIRE(report.problems.size() == 2);
    CHECK(report.problems[0].reason ==
          "started_at \"0000-01-01T00:00:00Z\" is outside the times calls can have, "
          "2000-01-01T00:00:00Z up to 2100-01-01T00:00:00Z");
    CHECK(report.problems[1].line == 3);
}

TEST_CASE("sessions: line breaks are refused in stored fields, naming the field") {
    Fixture f;
    const auto report = f.import(std::string(header) +
                                 "l-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\"a\nb\"\n"
                                 "\"l-\r\n2\",Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n");
    REQUIRE(report.problems.size() == 2);
    CHECK(report.problems[0].reason == "\"caller\" contains a line break");
    CHECK(report.problems[0].line == 2);
    CHECK(report.problems[1].reason == "\"id\" contains a line break");
    CHECK(report.problems[1].line == 4);
}

TEST_CASE("sessions: a code named by id in any case is that code, never one named so") {
    Fixture f;
    f.import(std::string(header) + "s-1,Hotline,agent,inbound,2026-11-26T08:00:00Z,,,\n");
    const auto sale = f.temp.store->begin_read()->find_codes_by_name("sale").front();
    const sessions::Detail done = f.write(
        [&](auto& tx, auto& audit) {
            return sessions::conclude(
                tx, audit, f.agent,
                sessions::ConcludeRequest{"s-1", {fmt::format("ID:{}", sale.id)}, {}, {}});
        },
        f.agent);
    REQUIRE(done.session.conclusion);
    CHECK(done.session.conclusion->codes.front().code_id == sale.id);
}
