#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

/// Unicode text helpers (UTF-8 in, UTF-8 out). They know nothing of nimbus-codes.
namespace nimbus::text {

/// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

/// The NFC form of `s`, or nullopt when `s` is not valid UTF-8.
std::optional<std::string> to_nfc(std::string_view s);

/// A case-insensitive comparison key: NFC plus Unicode case folding, so that
/// "RÜCKRUF", "rückruf" and "ru\u0308ckruf" share one key. `s` must be valid UTF-8.
std::string fold_case(std::string_view s);

/// Number of Unicode code points in valid UTF-8 `s`.
std::size_t code_points(std::string_view s);

/// Columns `s` takes in a terminal (East Asian wide characters count two).
std::size_t display_width(std::string_view s);

/// True when `s` holds a control character (Unicode Cc), a line or paragraph
/// separator, or an invisible character that disguises text (zero-width space,
/// byte order mark, bidirectional controls).
bool has_control_characters(std::string_view s);

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
