#include <doctest/doctest.h>

#include <nimbus/util/text.hpp>

using namespace nimbus;

TEST_CASE("text: UTF-8 validity") {
    CHECK(text::is_valid_utf8("Rückruf 折り返し"));
    CHECK_FALSE(text::is_valid_utf8("\xC3"));
    CHECK_FALSE(text::is_valid_utf8("\xED\xA0\x80")); // a surrogate
    CHECK_FALSE(text::to_nfc("\xFF").has_value());
}

TEST_CASE("text: case folding treats composed, decomposed and upper case alike") {
    CHECK(text::fold_case("RÜCKRUF") == text::fold_case("rückruf"));
    CHECK(text::fold_case("Ru\xCC\x88"
                          "ckruf") == text::fold_case("Rückruf"));
    CHECK(text::fold_case("Straße") == text::fold_case("STRASSE"));
    CHECK(text::fold_case("Sale") != text::fold_case("Sales"));
}

TEST_CASE("text: code points and display width") {
    CHECK(text::code_points("Rückruf") == 7);
    CHECK(text::code_points("折り返し") == 4);
    CHECK(text::display_width("折り返し") == 8);
    CHECK(text::display_width("abc") == 3);
}

TEST_CASE("text: control characters") {
    CHECK(text::has_control_characters("a\tb"));
    CHECK(text::has_control_characters("a\x7F"));
    CHECK(text::has_control_characters("a\xE2\x80\xA8")); // U+2028 line separator
    CHECK_FALSE(text::has_control_characters("Rückruf 折り返し"));
}

TEST_CASE("text: trimming, collapsing and truncating") {
    CHECK(text::trim("  a b \t\n") == "a b");
    CHECK(text::trim("\xE3\x80\x80x\xC2\xA0") == "x"); // ideographic space, no-break space
    CHECK(text::trim("   ").empty());
    CHECK(text::collapse_whitespace("  big   \t deal  ") == "big deal");
    CHECK(text::truncate("Rückruf", 2) == "Rü");
    CHECK(text::truncate("ab", 5) == "ab");
}

TEST_CASE("escape_controls: what could steer a terminal is shown, the rest kept") {
    CHECK(text::escape_controls("Sale") == "Sale");
    CHECK(text::escape_controls("Rückruf ✓") == "Rückruf ✓");
    CHECK(text::escape_controls("a\x1b[31mred") == "a\\x1b[31mred");
    CHECK(text::escape_controls("one\ntwo\r\tthree") == "one\\ntwo\\r\\tthree");
    CHECK(text::escape_controls("\x7f") == "\\x7f");
    CHECK(text::escape_controls("\xc2\x9b") == "\\x9b");      // C1 control sequence introducer
    CHECK(text::escape_controls("a\u202eb") == "a\\u202eb");  // right-to-left override
    CHECK(text::escape_controls("u-1\xff") == "u-1\\xff");    // not UTF-8
    CHECK(text::escape_controls("\xe2\x80") == "\\xe2\\x80"); // cut short
}
