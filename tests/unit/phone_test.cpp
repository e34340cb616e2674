#include <doctest/doctest.h>

#include <string>
#include <variant>

#include <nimbus/directory/phone.hpp>

using nimbus::phone::normalise;
using nimbus::phone::Problem;

namespace {

std::string e164(std::string_view text, std::string_view country) {
    const auto normalised = normalise(text, country);
    REQUIRE(std::holds_alternative<std::string>(normalised));
    return std::get<std::string>(normalised);
}

Problem problem(std::string_view text, std::string_view country) {
    const auto normalised = normalise(text, country);
    REQUIRE(std::holds_alternative<Problem>(normalised));
    return std::get<Problem>(normalised);
}

} // namespace

TEST_CASE("one caller, however the number is written") {
    CHECK(e164("+41 44 668 18 00", "") == "+41446681800");
    CHECK(e164("+41446681800", "US") == "+41446681800");
    CHECK(e164("0446681800", "CH") == "+41446681800");
    CHECK(e164("044 668 18 00", "CH") == "+41446681800");
    CHECK(e164("0041 44 668 18 00", "CH") == "+41446681800");
    CHECK(e164("(650) 253-0000", "US") == "+16502530000");
    CHECK(e164("tel:+1-650-253-0000", "") == "+16502530000");
}

TEST_CASE("what is no number, and a national form without a country") {
    CHECK(problem("0446681800", "") == Problem::NeedsCountry);
    CHECK(problem("0446681800", "XX") == Problem::NeedsCountry);
    CHECK(problem("abc", "CH") == Problem::NotANumber);
    CHECK(problem("", "CH") == Problem::NotANumber);
    CHECK(problem("+41 12", "") == Problem::TooShort);
    CHECK(problem("+41 44 668 18 00 12 34 56 78 9", "") == Problem::TooLong);
    // Longer than E.164's 15 digits, though Germany's metadata allows it.
    CHECK(problem("+49 30 1234567890123", "") == Problem::TooLong);
    // Dialable only within its area: not one caller wherever it is written.
    CHECK(problem("555 1234", "US") == Problem::TooShort);
    CHECK(problem(std::string(300, '1'), "CH") == Problem::NotANumber);
    CHECK(problem(std::string("+41\0 44", 7), "CH") == Problem::NotANumber);
}

TEST_CASE("countries") {
    CHECK(nimbus::phone::is_country("CH"));
    CHECK(nimbus::phone::is_country("US"));
    CHECK_FALSE(nimbus::phone::is_country("XX"));
    CHECK_FALSE(nimbus::phone::is_country("CHE"));
    CHECK_FALSE(nimbus::phone::is_country(""));
}
