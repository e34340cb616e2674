#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

/// Unicode text helpers (UTF-8 in, UTF-8 out). They know nothing of nimbus-codes.
namespace nimbus::text {

/// True when `s` is well-formed UTF-8 (no stray bytes, overlong forms,
/// encoded surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

/// The offset of the first byte of `s` that starts no valid UTF-8 sequence,
/// or nullopt when `s` is valid.
std::optional<std::size_t> first_invalid_utf8(std::string_view s);

/// "is not valid UTF-8 (byte 4 is 0xFF)" for invalid `s`, naming its first bad
/// byte (1-based) without repeating it; empty when `s` is valid.
std::string describe_invalid_utf8(std::string_view s);

/// Where a byte of a text file is: its line and its column in characters, both 1-based.
struct Position {
    std::size_t line = 1;
    std::size_t column = 1;
};

/// The position of the byte at `offset` in `s`, lines ending at LF.
Position position_of(std::string_view s, std::size_t offset);

/// The NFC form of `s`, or nullopt when `s` is not valid UTF-8.
std::optional<std::string> to_nfc(std::string_view s);

/// A case-insensitive comparison key: NFC plus Unicode case folding, so that
/// "RÜCKRUF", "rückruf" and "ru\u0308ckruf" share one key. `s` must be valid UTF-8.
std::string fold_case(std::string_view s);

/// The letters and digits of `s`, compatibility-decomposed and case-folded,
/// without marks: what is left when case, accents, spacing and punctuation
/// are ignored ("Call-back", "CALLBACK" and "Cäll back" give "callback"). For
/// finding near-duplicate names; `s` must be valid UTF-8.
std::u32string loose_key(std::string_view s);

/// The edit distance of `a` and `b` (insertions, deletions, substitutions and
/// transpositions of neighbours each count one), or `limit + 1` when it is
/// more than `limit`.
std::size_t edit_distance(std::u32string_view a, std::u32string_view b, std::size_t limit);

/// Number of Unicode code points in `s` (a malformed byte counts as one).
std::size_t code_points(std::string_view s);

/// Columns `s` takes in a terminal (East Asian wide characters count two).
std::size_t display_width(std::string_view s);

/// True when `s` holds a control character (Unicode Cc), a line or paragraph
/// separator, or an invisible character that disguises text (zero-width space,
/// byte order mark, bidirectional controls).
bool has_control_characters(std::string_view s);

/// True when `c` has the Unicode property Default_Ignorable_Code_Point:
/// characters a renderer shows as nothing (soft hyphen, zero-width joiner and
/// non-joiner, variation selectors, Hangul fillers, tag characters, ...).
bool is_default_ignorable(char32_t c);

/// The first default-ignorable code point in `s`, if any.
std::optional<char32_t> first_default_ignorable(std::string_view s);

/// "U+00AD" for a code point, for messages.
std::string code_point_name(char32_t c);

// The functions below never drop what they cannot decode: a byte that is not
// valid UTF-8 counts as one character that is not white space, so that the
// caller's own validation sees it rather than a silently shortened string.

/// `s` without leading and trailing white space (Unicode White_Space).
std::string_view trim(std::string_view s);

/// `s` trimmed, with every inner run of white space replaced by one space.
std::string collapse_whitespace(std::string_view s);

/// `s` cut to at most `max_points` code points (never inside a code point).
std::string_view truncate(std::string_view s, std::size_t max_points);

/// `s` safe to show on a terminal: control characters (C0, DEL, C1), line and
/// paragraph separators and the invisible characters of has_control_characters
/// become escapes such as \n, \x1b and \u202e, and bytes that are not UTF-8
/// become \xff. Everything else is left as it is.
std::string escape_controls(std::string_view s);

} // namespace nimbus::text
