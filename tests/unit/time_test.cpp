#include <doctest/doctest.h>

#include <nimbus/util/time.hpp>

using namespace nimbus;

TEST_CASE("time: RFC 3339 round trip in UTC") {
    const auto t = timefmt::parse_timestamp("2026-11-26T09:30:05Z");
    REQUIRE(t);
    CHECK(timefmt::to_utc_string(*t) == "2026-11-26T09:30:05Z");
}

TEST_CASE("time: offsets are converted to UTC") {
    CHECK(timefmt::to_utc_string(*timefmt::parse_timestamp("2026-11-01T00:30:00+01:00")) ==
          "2026-10-31T23:30:00Z");
    CHECK(timefmt::to_utc_string(*timefmt::parse_timestamp("2026-10-31T20:00:00-04:00")) ==
          "2026-11-01T00:00:00Z");
    CHECK(timefmt::to_utc_string(*timefmt::parse_timestamp("2026-03-01T12:00:00.987Z")) ==
          "2026-03-01T12:00:00Z");
}

TEST_CASE("time: malformed timestamps are refused") {
    for (const char* bad : {"", "2026-11-26", "2026-11-26T09:30:00", "2026-13-01T00:00:00Z",
                            "2026-02-30T00:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T09:30Z",
                            "2026-11-26T09:30:00+1:00", "2026-11-26T09:30:00Zjunk"}) {
        CAPTURE(bad);
        CHECK_FALSE(timefmt::parse_timestamp(bad));
    }
}

TEST_CASE("time: only years 0000 to 9999 in UTC") {
    CHECK_FALSE(timefmt::parse_timestamp("9999-12-31T23:30:00-01:00"));
    CHECK(timefmt::to_utc_string(*timefmt::parse_timestamp("9999-12-31T23:59:59Z")) ==
          "9999-12-31T23:59:59Z");
    CHECK_FALSE(timefmt::parse_timestamp("0000-01-01T00:30:00+01:00"));
}

TEST_CASE("time: a bare date is the start of that day in UTC") {
    CHECK(timefmt::to_utc_string(*timefmt::parse_date_or_timestamp("2026-02-28")) ==
          "2026-02-28T00:00:00Z");
    CHECK_FALSE(timefmt::parse_date_or_timestamp("2026-02-29"));
}
