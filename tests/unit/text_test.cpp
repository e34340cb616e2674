#include <cstdint>

#include <unicode/uchar.h>
#include <doctest/doctest.h>

#include <nimbus/util/confusable.hpp>
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

TEST_CASE("text: loose keys ignore case, accents, spacing and punctuation") {
    CHECK(text::loose_key("Call-back") == U"callback");
    CHECK(text::loose_key("CALL BACK!") == U"callback");
    CHECK(text::loose_key("Rückruf") == text::loose_key("Ruckruf"));
    CHECK(text::loose_key("Ｓａｌｅ") == U"sale"); // fullwidth
    CHECK(text::loose_key("Straße") == U"strasse");
    CHECK(text::loose_key("Level 2") == U"level2");
    CHECK(text::loose_key("折り返し") == U"折り返し");
    CHECK(text::loose_key("?!").empty());
}

TEST_CASE("text: edit distance, bounded") {
    CHECK(text::edit_distance(U"sale", U"sale", 2) == 0);
    CHECK(text::edit_distance(U"sale", U"sales", 2) == 1);
    CHECK(text::edit_distance(U"callback", U"calbcak", 2) == 2); // a deletion and a swap
    CHECK(text::edit_distance(U"complaint", U"complains", 2) == 1);
    CHECK(text::edit_distance(U"abcd", U"badc", 2) == 2);   // two swaps
    CHECK(text::edit_distance(U"sale", U"refund", 2) == 3); // past the limit
    CHECK(text::edit_distance(U"a", U"abcdef", 2) == 3);
    CHECK(text::edit_distance(U"", U"ab", 2) == 2);
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

TEST_CASE("text: the first byte that is not UTF-8") {
    CHECK_FALSE(text::first_invalid_utf8("Rückruf").has_value());
    CHECK(text::first_invalid_utf8("u-1\xFF") == 3);
    CHECK(text::first_invalid_utf8("a\xC0\xAF") == 1);        // overlong "/"
    CHECK(text::first_invalid_utf8("ab\xED\xA0\x80") == 2);   // an encoded surrogate
    CHECK(text::first_invalid_utf8("+41 44\xC3") == 6);       // cut inside a character
    CHECK(text::first_invalid_utf8("\xF4\x90\x80\x80") == 0); // past U+10FFFF
    CHECK(text::describe_invalid_utf8("mia\xFF") == "is not valid UTF-8 (byte 4 is 0xFF)");
    CHECK(text::describe_invalid_utf8("mia").empty());
}

TEST_CASE("text: trimming and collapsing keep bytes that are not UTF-8") {
    // Cutting at the first bad byte turned "u-1\xFF" into "u-1", another id.
    CHECK(text::trim(" u-1\xFF ") == "u-1\xFF");
    CHECK(text::trim("\xC3\xA4\xFF\xC2\xA0") == "\xC3\xA4\xFF");
    CHECK(text::trim("\xFF x") == "\xFF x");
    CHECK(text::collapse_whitespace(" mia \xFF  x ") == "mia \xFF x");
    CHECK(text::code_points("ab\xFF") == 3);
    CHECK(text::truncate("a\xFF"
                         "bc",
                         2) == "a\xFF");
}

TEST_CASE("text: positions in a file") {
    CHECK(text::position_of("ab\ncd", 0).line == 1);
    const text::Position at = text::position_of("ab\nRü\xFF", 6);
    CHECK(at.line == 2);
    CHECK(at.column == 3);
}

TEST_CASE("text: default-ignorable code points are those of the Unicode property") {
    for (const char32_t c : {0x00AD, 0x034F, 0xFE0F, 0x2062, 0x180E, 0x3164, 0x200D, 0x200C, 0x200B,
                             0xFEFF, 0xE0001, 0x2065, 0xE0FFF}) {
        CAPTURE(static_cast<std::uint32_t>(c));
        CHECK(text::is_default_ignorable(c));
    }
    for (const char32_t c : {U'a', U' ', U'ü', U'折', char32_t{0x1F600}, char32_t{0x00A0}}) {
        CHECK_FALSE(text::is_default_ignorable(c));
    }
    // The whole property, as ICU has it (the same Unicode version as utf8proc's).
    std::size_t differences = 0;
    for (char32_t c = 0; c < 0x110000; ++c) {
        if (text::is_default_ignorable(c) !=
            static_cast<bool>(
                u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_DEFAULT_IGNORABLE_CODE_POINT))) {
            ++differences;
        }
    }
    CHECK(differences == 0);
    CHECK(text::first_default_ignorable("Sa\xC2\xADle") == char32_t{0xAD});
    CHECK_FALSE(text::first_default_ignorable("Sale").has_value());
    CHECK(text::code_point_name(0xAD) == "U+00AD");
    CHECK(text::code_point_name(0xE0001) == "U+E0001");
}

TEST_CASE("text: confusable skeletons") {
    CHECK(text::skeleton("S\xD0\xB0le") == text::skeleton("Sale")); // Cyrillic а
    CHECK(text::skeleton("\xEF\xBC\xB3"
                         "ale") == text::skeleton("Sale")); // fullwidth Ｓ
    CHECK(text::skeleton("Sales") != text::skeleton("Sale"));
}
