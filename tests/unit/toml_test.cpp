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

TEST_CASE("toml: a file's format is 1 without the key, and a newer one is a configuration error") {
    const FileFormat format{"test file", 2, ErrorKind::InvalidData};
    CHECK(read_file_format(parse_toml("a = 1\n").table, "t.toml", format) == 1);
    CHECK(read_file_format(parse_toml("format = 2\n").table, "t.toml", format) == 2);
    const auto kind_of = [&](const char* text) {
        try {
            read_file_format(parse_toml(text).table, "t.toml", format);
        } catch (const Error& e) {
            return e.kind();
        }
        return ErrorKind::Internal;
    };
    CHECK(kind_of("format = 3\n") == ErrorKind::Config);
    CHECK(kind_of("format = 0\n") == ErrorKind::InvalidData);
    CHECK(kind_of("format = \"2\"\n") == ErrorKind::InvalidData);
    CHECK(kind_of("format = 2.0\n") == ErrorKind::InvalidData);
}
