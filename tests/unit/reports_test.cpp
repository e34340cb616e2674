#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <sstream>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/reports/dimensions.hpp>
#include <nimbus/reports/per_service.hpp>
#include <nimbus/reports/usage.hpp>
#include <nimbus/services/code_lists.hpp>
#include <nimbus/services/extensions.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/sessions.hpp>
#include <nimbus/util/zone.hpp>

#include "support.hpp"

using namespace nimbus;
using reports::Dimension;

namespace {

Timestamp at(const char* text) {
    return *timefmt::parse_timestamp(text);
}

std::string utc(Timestamp t) {
    return timefmt::to_utc_string(t);
}

/// Hotline (primary Sale) with three sessions of "agent" on 2, 3 and 4
/// November 2026, each concluded with Sale and its own tag.
struct ThreeSessions {
    test::TempStore temp;
    identity::Identity id = test::test_identity();
    Actor admin = resolve_actor(id, "admin", std::nullopt);

    ThreeSessions() {
        const auto tx = temp.store->begin_write();
        AuditTrail audit(*tx, admin, test::test_time());
        ous::create(*tx, audit, admin, "Contoso/Sales", false);
        codes::create(*tx, audit, admin, codes::Draft{CodeType::Primary, "Sale", "", {}});
        services::create(*tx, audit, admin,
                         services::Draft{"Hotline", "Contoso/Sales", License::ContactCenter});
        services::apply_codes(*tx, audit, admin, "Hotline",
                              services::ListUpdate{std::vector<std::string>{"Sale"}, {}, {}, false},
                              services::ListUpdate{});
        services::set_features(*tx, audit, admin, "Hotline", {"codes-and-tags"}, true);
        std::istringstream csv("id,service,user,direction,started_at,ended_at,outcome,caller\n"
                               "s-2,Hotline,agent,inbound,2026-11-02T08:00:00Z,"
                               "2026-11-02T08:05:00Z,accepted,\n"
                               "s-3,Hotline,agent,inbound,2026-11-03T08:00:00Z,"
                               "2026-11-03T08:05:00Z,accepted,\n"
                               "s-4,Hotline,agent,inbound,2026-11-04T08:00:00Z,"
                               "2026-11-04T08:05:00Z,accepted,\n");
        sessions::import_sessions(
            *tx, audit, admin, id, csv,
            sessions::ImportOptions{sessions::InputFormat::Csv, "t.csv", false}, {});
        for (const char* session : {"s-2", "s-3", "s-4"}) {
            sessions::conclude(*tx, audit, admin,
                               sessions::ConcludeRequest{session, {"Sale"}, {}, {session}});
        }
        tx->commit();
    }

    reports::UsageReport usage(std::vector<Dimension> by, std::size_t max_rows) {
        reports::UsageRequest request;
        request.period.month = "2026-11";
        request.by = std::move(by);
        request.max_rows = max_rows;
        const auto tx = temp.store->begin_read();
        return reports::usage(*tx, admin, id, request, test::test_time());
    }
};

ErrorKind kind_of(const std::function<void()>& body) {
    try {
        body();
    } catch (const Error& error) {
        return error.kind();
    }
    return ErrorKind::Internal;
}

} // namespace

TEST_CASE("reports: rows that come from the sessions count against the limit as they are read") {
    ThreeSessions f;
    CHECK(f.usage({Dimension::Tag}, 3).rows.rows.size() == 3);
    CHECK(kind_of([&] { f.usage({Dimension::Tag}, 2); }) == ErrorKind::Usage);
    // Zero rows that follow from the request are refused before any session is read.
    CHECK(kind_of([&] { f.usage({Dimension::Day, Dimension::Code}, 29); }) == ErrorKind::Usage);
    CHECK(f.usage({Dimension::Day, Dimension::Code}, 30).rows.rows.size() == 30);
}

TEST_CASE("reports: groups of sessions count against the limit too") {
    ThreeSessions f;
    // Three days with sessions: three groups, though a tag's rows could be fewer.
    CHECK(kind_of([&] { f.usage({Dimension::Day, Dimension::Tag}, 2); }) == ErrorKind::Usage);
}

TEST_CASE("reports: by month, the days the store groups by fold into months first") {
    ThreeSessions f;
    const reports::UsageReport report = f.usage({Dimension::Month, Dimension::Code}, 1);
    REQUIRE(report.rows.rows.size() == 1);
    CHECK(std::get<std::int64_t>(report.rows.rows[0][4]) == 3); // month, type, code, id, sessions
}

TEST_CASE("reports: periods lie within the plausible call times") {
    CHECK(reports::first_report_day().text() == "2000-01-01");
    CHECK(reports::last_report_day().text() == "2099-12-31");
    const Zone utc_zone("UTC");
    const Timestamp now = at("2026-12-05T00:00:00Z");
    const auto check = [&](reports::PeriodSpec spec) {
        reports::require_plausible(spec, reports::resolve_period(spec, utc_zone, now));
    };
    CHECK_NOTHROW(check({std::nullopt, std::string("2000-01-01"), std::string("2099-12-31")}));
    CHECK(kind_of([&] {
              check({std::nullopt, std::string("1999-12-31"), std::string("2000-01-01")});
          }) == ErrorKind::Usage);
    CHECK(kind_of([&] { check({std::string("2100-01"), {}, {}}); }) == ErrorKind::Usage);
}

TEST_CASE("reports: dimensions in the order given") {
    CHECK(reports::parse_dimensions("month,code") ==
          std::vector<Dimension>{Dimension::Month, Dimension::Code});
    CHECK(reports::parse_dimensions(" tag , service ") ==
          std::vector<Dimension>{Dimension::Tag, Dimension::Service});
    CHECK_THROWS_AS(reports::parse_dimensions("month,colour"), Error);
    CHECK_THROWS_AS(reports::parse_dimensions("code,code"), Error);
    CHECK_THROWS_AS(reports::parse_dimensions("month,day"), Error);
    CHECK_THROWS_AS(reports::parse_dimensions(""), Error);
}

TEST_CASE("reports: the dimension table names every dimension once, and --by reads it") {
    std::set<std::string_view> names;
    for (const reports::DimensionInfo& entry : reports::dimensions()) {
        CHECK(&reports::info(entry.id) == &entry);
        CHECK(names.insert(entry.name).second);
        CHECK_FALSE(entry.about.empty());
    }
    CHECK(reports::dimensions().size() == 9);
    const std::vector<std::string> listed = reports::dimension_names();
    CHECK(listed.back() == "context.NAME");
    std::string context_field;
    for (const std::string& name : listed) {
        const auto parsed = reports::parse_dimensions(
            name == "context.NAME" ? "context.Reason" : name, &context_field);
        REQUIRE(parsed.size() == 1);
        CHECK(reports::info(parsed.front()).name == (name == "context.NAME" ? "context." : name));
    }
    CHECK(context_field == "Reason");
    CHECK_THROWS_AS(reports::parse_dimensions("context.A,context.B"), Error);
}

namespace {

/// Facts of a report over two services (Hotline with two codes, Chat with
/// one), by `by`.
reports::ReportFacts facts_by(std::vector<Dimension> by, const std::vector<Service>& services) {
    reports::ReportFacts facts;
    facts.by = std::move(by);
    for (const Service& service : services) {
        facts.services[service.id] = &service;
    }
    facts.periods = {20'393, 20'423};
    facts.users = {"leo", "mia"};
    facts.items[1] = {{CodeType::Primary, 10, "Sale"}, {CodeType::Secondary, 11, "Rückruf"}};
    facts.items[2] = {{CodeType::Primary, 10, "Sale"}};
    return facts;
}

std::vector<reports::Key> filled(Dimension d, const reports::Key& partial,
                                 const reports::ReportFacts& facts) {
    std::vector<reports::Key> out;
    reports::info(d).fill(partial, facts, out);
    return out;
}

std::vector<Service> two_services() {
    Service hotline;
    hotline.id = 1;
    hotline.name = "Hotline";
    Service chat;
    chat.id = 2;
    chat.name = "chat";
    return {hotline, chat};
}

} // namespace

TEST_CASE("reports: each dimension groups the store's counts by itself") {
    const std::vector<Service> services = two_services();
    ContextField reason;
    reason.id = 7;
    for (const reports::DimensionInfo& entry : reports::dimensions()) {
        reports::ReportFacts facts = facts_by({entry.id}, services);
        facts.context_field = &reason;
        store::UsageQuery query;
        entry.group(query, facts);
        const int grouped = int(query.by_day) + int(query.by_service) + int(query.by_user) +
                            int(query.by_type) + int(query.by_code) + int(query.by_tag) +
                            int(query.by_concluded_by) + int(query.by_context.has_value());
        CHECK(grouped == 1);
    }
    store::UsageQuery query;
    reports::info(Dimension::Context).group(query, facts_by({}, services));
    CHECK_FALSE(query.by_context.has_value()); // no field: the caller's to name
}

TEST_CASE("reports: the fill lists every period, service, user, value and listed code") {
    const std::vector<Service> services = two_services();
    reports::ReportFacts facts =
        facts_by({Dimension::Month, Dimension::Service, Dimension::Code}, services);
    CHECK(filled(Dimension::Month, {}, facts).size() == 2);
    CHECK(filled(Dimension::Month, {}, facts)[1].period == 20'423);
    const auto per_service = filled(Dimension::Service, {}, facts);
    REQUIRE(per_service.size() == 2);
    CHECK(filled(Dimension::Code, per_service[0], facts).size() == 2); // Hotline's codes
    CHECK(filled(Dimension::Code, per_service[1], facts).size() == 1); // Chat's
    CHECK(filled(Dimension::Code, per_service[1], facts)[0].code_name == "Sale");
    // Types come with their codes; alone they fill in as items.
    CHECK(filled(Dimension::Type, per_service[0], facts).size() == 1);
    facts.by = {Dimension::Type};
    CHECK(filled(Dimension::Type, per_service[0], facts).size() == 2);
    CHECK(filled(Dimension::User, {}, facts)[1].user == "mia");
    CHECK(filled(Dimension::ConcludedBy, {}, facts).size() == 2);
    facts.context_values = {"Billing", "Technical", "Other"};
    CHECK(filled(Dimension::Context, {}, facts)[2].context == "Other");
    // Tags are listed only where used: a report by tag lists nothing unused.
    CHECK(filled(Dimension::Tag, {}, facts).empty());
}

TEST_CASE("reports: each dimension ranks and renders its part of a row") {
    const std::vector<Service> services = two_services();
    reports::ReportFacts facts = facts_by({Dimension::Service, Dimension::Code}, services);
    reports::Key hotline{0, 1, "", "", "", CodeType::Primary, 10, "Sale", ""};
    reports::Key chat = hotline;
    chat.service_id = 2;
    const auto& service = reports::info(Dimension::Service);
    CHECK(service.rank(chat, facts) < service.rank(hotline, facts)); // "chat" before "hotline"
    std::vector<output::Column> columns;
    for (const Dimension d : facts.by) {
        reports::info(d).columns(facts, columns);
    }
    std::vector<output::Cell> cells;
    for (const Dimension d : facts.by) {
        reports::info(d).cells(hotline, facts, cells);
    }
    REQUIRE(columns.size() == 4); // service, type, code, code_id
    CHECK(columns[1].key == "type");
    CHECK(cells.size() == columns.size());
    CHECK(std::get<std::string>(cells[0]) == "Hotline");
    CHECK(std::get<std::int64_t>(cells[3]) == 10);
    // By type as well, the code's columns leave the type to the type's.
    facts.by = {Dimension::Type, Dimension::Code};
    columns.clear();
    for (const Dimension d : facts.by) {
        reports::info(d).columns(facts, columns);
    }
    CHECK(columns.size() == 3);

    ContextField reason;
    reason.name = "Reason";
    reason.choices = {"Technical", "Billing"};
    facts.context_field = &reason;
    const auto& context = reports::info(Dimension::Context);
    reports::Key billing = hotline;
    billing.context = "Billing";
    reports::Key none = hotline;
    reports::Key technical = hotline;
    technical.context = "Technical";
    // The field's values in their order, then none.
    CHECK(context.rank(technical, facts) < context.rank(billing, facts));
    CHECK(context.rank(billing, facts) < context.rank(none, facts));
    columns.clear();
    context.columns(facts, columns);
    CHECK(columns[0].key == "context.Reason");
    cells.clear();
    context.cells(none, facts, cells);
    CHECK(std::holds_alternative<std::monostate>(cells[0]));
    facts.tag_spelling["vip"] = "VIP";
    reports::Key tagged = hotline;
    tagged.tag = "vip";
    cells.clear();
    reports::info(Dimension::Tag).cells(tagged, facts, cells);
    CHECK(std::get<std::string>(cells[0]) == "VIP");
}

TEST_CASE("reports: months start at local midnight") {
    const Zone zurich("Europe/Zurich");
    const reports::Period november = reports::resolve_period({std::string("2026-11"), {}, {}},
                                                             zurich, at("2026-12-05T00:00:00Z"));
    CHECK(utc(november.from) == "2026-10-31T23:00:00Z");
    CHECK(utc(november.to) == "2026-11-30T23:00:00Z");
    CHECK(november.last.text() == "2026-11-30");
    const reports::Period summer = reports::resolve_period({std::string("2026-07"), {}, {}}, zurich,
                                                           at("2026-12-05T00:00:00Z"));
    CHECK(utc(summer.from) == "2026-06-30T22:00:00Z");
}

TEST_CASE("reports: last month in the zone, across a year") {
    const Zone utc_zone("UTC");
    const Zone zurich("Europe/Zurich");
    // 23:30 UTC on 31 December is already January in Zurich: last month is December there.
    const Timestamp now = at("2026-12-31T23:30:00Z");
    CHECK(reports::resolve_period({std::string("last"), {}, {}}, utc_zone, now).first.text() ==
          "2026-11-01");
    CHECK(reports::resolve_period({std::string("last"), {}, {}}, zurich, now).first.text() ==
          "2026-12-01");
    CHECK(
        reports::resolve_period({std::string("last"), {}, {}}, utc_zone, at("2027-01-15T00:00:00Z"))
            .last.text() == "2026-12-31");
    CHECK(reports::resolve_period({}, utc_zone, now).first.text() == "2026-12-01");
}

TEST_CASE("reports: from and to are whole days, both included") {
    const Zone utc_zone("UTC");
    const reports::Period days = reports::resolve_period(
        {std::nullopt, std::string("2026-02-27"), std::string("2026-03-01")}, utc_zone,
        at("2026-12-05T00:00:00Z"));
    CHECK(utc(days.from) == "2026-02-27T00:00:00Z");
    CHECK(utc(days.to) == "2026-03-02T00:00:00Z");
    CHECK_THROWS_AS(reports::resolve_period(
                        {std::nullopt, std::string("2026-03-02"), std::string("2026-03-01")},
                        utc_zone, at("2026-12-05T00:00:00Z")),
                    Error);
    CHECK_THROWS_AS(reports::resolve_period({std::string("2026-13"), {}, {}}, utc_zone,
                                            at("2026-12-05T00:00:00Z")),
                    Error);
}

TEST_CASE("zone: offsets change only at transitions") {
    const Zone zurich("Europe/Zurich");
    const auto spans = zurich.offsets(at("2026-03-01T00:00:00Z"), at("2026-11-01T00:00:00Z"));
    REQUIRE(spans.size() == 3);
    CHECK(spans[0].offset_seconds == 3600);
    CHECK(utc(spans[0].until) == "2026-03-29T01:00:00Z");
    CHECK(spans[1].offset_seconds == 7200);
    CHECK(utc(spans[1].until) == "2026-10-25T01:00:00Z");
    CHECK(spans[2].offset_seconds == 3600);
    CHECK(utc(spans[2].until) == "2026-11-01T00:00:00Z");
    CHECK(Zone("UTC").offsets(at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z")).size() == 1);
}

TEST_CASE("zone: a day whose midnight does not exist starts at the first valid time") {
    // Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04.
    const Zone sao_paulo("America/Sao_Paulo");
    CHECK(utc(sao_paulo.start_of(CivilDate{2018, 11, 4})) == "2018-11-04T03:00:00Z");
    CHECK(sao_paulo.date_at(at("2018-11-04T02:59:59Z")).text() == "2018-11-03");
    CHECK_THROWS_AS(Zone("Mars/Olympus"), Error);
}

TEST_CASE("zone: civil dates and day numbers") {
    CHECK(CivilDate{1970, 1, 1}.day_number() == 0);
    CHECK(CivilDate::from_day_number(20418).text() == "2025-11-26");
    CHECK(CivilDate::parse("2026-02-29") == std::nullopt);
    CHECK(CivilDate::parse("2024-02-29")->month_text() == "2024-02");
}

TEST_CASE("reports: a service's report file name holds only what every file system takes") {
    using output::Format;
    CHECK(reports::report_file_name("Hotline", Format::Csv) == "Hotline.csv");
    CHECK(reports::report_file_name("Zürich Hotline", Format::Json) == "Zürich Hotline.json");
    CHECK(reports::report_file_name("Care/Desk: 2nd?", Format::Csv) == "Care_Desk_ 2nd_.csv");
    CHECK(reports::report_file_name("a\\b*c\"d<e>f|g", Format::Csv) == "a_b_c_d_e_f_g.csv");
    CHECK(reports::report_file_name("tab\there\x7f", Format::Csv) == "tab_here_.csv");
    // No hidden files, no "." or "..", nothing a Windows share would trim.
    CHECK(reports::report_file_name(".", Format::Csv) == "_.csv");
    CHECK(reports::report_file_name("..", Format::Csv) == "__.csv");
    CHECK(reports::report_file_name(".profile", Format::Csv) == "_profile.csv");
    CHECK(reports::report_file_name("Sales ", Format::Csv) == "Sales_.csv");
    CHECK(reports::report_file_name("Sales.", Format::Csv) == "Sales_.csv");
    CHECK(reports::report_file_name("Aux", Format::Csv) == "_Aux.csv");
    CHECK(reports::report_file_name("nul.backup", Format::Csv) == "_nul.backup.csv");
    CHECK(reports::report_file_name("COM7", Format::Json) == "_COM7.json");
    CHECK(reports::report_file_name("COM0", Format::Csv) == "COM0.csv");
    CHECK(reports::report_file_name("Auxiliary", Format::Csv) == "Auxiliary.csv");
}
