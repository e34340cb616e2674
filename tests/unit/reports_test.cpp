#include <doctest/doctest.h>

#include <nimbus/error.hpp>
#include <nimbus/reports/usage.hpp>
#include <nimbus/util/zone.hpp>

using namespace nimbus;
using reports::Dimension;

namespace {

Timestamp at(const char* text) {
    return *timefmt::parse_timestamp(text);
}

std::string utc(Timestamp t) {
    return timefmt::to_utc_string(t);
}

} // namespace

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
