#include <string>

#include <doctest/doctest.h>

#include <nimbus/util/toml.hpp>

using namespace nimbus;

TEST_CASE("toml: a syntax error carries its line and column") {
    const TomlDocument document = parse_toml("a = 1\nb = \n");
    REQUIRE(document.error);
    CHECK(document.error->line == 2);
    CHECK(document.error->column > 0);
}

TEST_CASE(
    "toml: an open bracket and a newline is an error, not an abort (toml++ 3.3.0 assertion)") {
    const TomlDocument document = parse_toml("[\n");
    CHECK(document.error);
}

TEST_CASE("toml: a table header with U+02DC is an error, not undefined behaviour (toml++ 3.3.0)") {
    CHECK(parse_toml("[ser\xCB\x9C").error);
    CHECK(parse_toml("[ser\xCB\x9C\n").error);
}

TEST_CASE("toml: a line-ending backslash before U+00A7 parses (toml++ issue 190)") {
    const TomlDocument document = parse_toml("s = \"\"\"\\\n\xC2\xA7\"\"\"\n");
    REQUIRE_FALSE(document.error);
    CHECK(document.table["s"].value_or(std::string{}) == "\xC2\xA7");
}

TEST_CASE("toml: non-ASCII text in strings and keys parses") {
    const TomlDocument document = parse_toml("[users.\"jürgen\"]\nname = \"Jürgen Müller\"\n");
    REQUIRE_FALSE(document.error);
    CHECK(document.table["users"]["jürgen"]["name"].value_or(std::string{}) == "Jürgen Müller");
}
