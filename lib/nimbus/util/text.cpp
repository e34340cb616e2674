#include <nimbus/util/text.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <utf8proc.h>

namespace nimbus::text {
namespace {

using Bytes = const utf8proc_uint8_t*;

Bytes bytes(std::string_view s) {
    return reinterpret_cast<Bytes>(s.data());
}

/// One decoded code point and where it sits in the string.
struct CodePoint {
    utf8proc_int32_t value;
    std::size_t offset;
    std::size_t length;
};

/// A decoded code point, or `malformed` for one byte that starts no valid
/// UTF-8 sequence (an overlong form, an encoded surrogate, a stray byte).
constexpr utf8proc_int32_t malformed = -1;

/// Calls `visit(CodePoint)` for each code point until it returns false. A
/// malformed byte is visited as one CodePoint of value `malformed`, so that
/// nothing after it is ever lost: callers keep it, and validation refuses it.
template <class Visit>
void for_each_code_point(std::string_view s, Visit&& visit) {
    std::size_t offset = 0;
    while (offset < s.size()) {
        utf8proc_int32_t value = 0;
        const utf8proc_ssize_t used = utf8proc_iterate(
            bytes(s) + offset, static_cast<utf8proc_ssize_t>(s.size() - offset), &value);
        const bool valid = used > 0 && value >= 0;
        const auto length = valid ? static_cast<std::size_t>(used) : std::size_t{1};
        if (!visit(CodePoint{valid ? value : malformed, offset, length})) {
            return;
        }
        offset += length;
    }
}

std::optional<std::string> map(std::string_view s, int options) {
    utf8proc_uint8_t* out = nullptr;
    const utf8proc_ssize_t length = utf8proc_map(bytes(s), static_cast<utf8proc_ssize_t>(s.size()),
                                                 &out, static_cast<utf8proc_option_t>(options));
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(out, &std::free);
    if (length < 0) {
        return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(length));
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; });
}

bool is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

bool is_white_space(utf8proc_int32_t point) {
    switch (point) {
    case '\t':
    case '\n':
    case 0x0B:
    case 0x0C:
    case '\r':
    case ' ':
    case 0x85: return true;
    default: break;
    }
    const auto category = utf8proc_category(point);
    return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
           category == UTF8PROC_CATEGORY_ZP;
}

} // namespace

bool is_valid_utf8(std::string_view s) {
    return !first_invalid_utf8(s);
}

std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
    if (is_ascii(s)) {
        return std::nullopt;
    }
    std::optional<std::size_t> found;
    for_each_code_point(s, [&](CodePoint point) {
        if (point.value == malformed) {
            found = point.offset;
        }
        return !found;
    });
    return found;
}

std::string describe_invalid_utf8(std::string_view s) {
    const auto offset = first_invalid_utf8(s);
    if (!offset) {
        return {};
    }
    return fmt::format("is not valid UTF-8 (byte {} is 0x{:02X})", *offset + 1,
                       static_cast<unsigned char>(s[*offset]));
}

Position position_of(std::string_view s, std::size_t offset) {
    const std::string_view before = s.substr(0, std::min(offset, s.size()));
    const std::size_t newline = before.rfind('\n');
    const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
    return Position{static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1,
                    code_points(before.substr(line_start)) + 1};
}

// ASCII text is its own NFC, and folds to lower case: the common case takes no
// trip through utf8proc.
std::optional<std::string> to_nfc(std::string_view s) {
    if (is_ascii(s)) {
        return std::string(s);
    }
    return map(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

std::string fold_case(std::string_view s) {
    if (is_ascii(s)) {
        std::string folded(s);
        std::transform(folded.begin(), folded.end(), folded.begin(), [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        });
        return folded;
    }
    return map(s, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD).value_or(std::string(s));
}

std::u32string loose_key(std::string_view s) {
    const std::string decomposed = map(s, UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE |
                                              UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK)
                                       .value_or(std::string(s));
    std::u32string key;
    for_each_code_point(decomposed, [&](CodePoint point) {
        if (point.value != malformed) {
            switch (utf8proc_category(point.value)) {
            case UTF8PROC_CATEGORY_LU:
            case UTF8PROC_CATEGORY_LL:
            case UTF8PROC_CATEGORY_LT:
            case UTF8PROC_CATEGORY_LM:
            case UTF8PROC_CATEGORY_LO:
            case UTF8PROC_CATEGORY_ND:
            case UTF8PROC_CATEGORY_NL:
            case UTF8PROC_CATEGORY_NO: key.push_back(static_cast<char32_t>(point.value)); break;
            default: break;
            }
        }
        return true;
    });
    return key;
}

std::size_t edit_distance(std::u32string_view a, std::u32string_view b, std::size_t limit) {
    if (a.size() > b.size()) {
        std::swap(a, b);
    }
    if (b.size() - a.size() > limit) {
        return limit + 1;
    }
    // Optimal string alignment, three rows of the dynamic programme.
    std::vector<std::size_t> before(a.size() + 1), previous(a.size() + 1), current(a.size() + 1);
    for (std::size_t i = 0; i <= a.size(); ++i) {
        previous[i] = i;
    }
    for (std::size_t j = 1; j <= b.size(); ++j) {
        current[0] = j;
        std::size_t row_minimum = current[0];
        for (std::size_t i = 1; i <= a.size(); ++i) {
            const std::size_t substitution = previous[i - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[i] = std::min({previous[i] + 1, current[i - 1] + 1, substitution});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                current[i] = std::min(current[i], before[i - 2] + 1);
            }
            row_minimum = std::min(row_minimum, current[i]);
        }
        if (row_minimum > limit) {
            return limit + 1;
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return std::min(previous[a.size()], limit + 1);
}

std::size_t code_points(std::string_view s) {
    std::size_t count = 0;
    for_each_code_point(s, [&](CodePoint) {
        ++count;
        return true;
    });
    return count;
}

std::size_t display_width(std::string_view s) {
    std::size_t width = 0;
    for_each_code_point(s, [&](CodePoint point) {
        // A terminal shows a malformed byte as one replacement character.
        width += point.value == malformed
                     ? 1
                     : static_cast<std::size_t>(std::max(0, utf8proc_charwidth(point.value)));
        return true;
    });
    return width;
}

bool is_default_ignorable(char32_t c) {
    // utf8proc's table marks the assigned code points of the property; the
    // property also reserves these unassigned ones (DerivedCoreProperties.txt,
    // Other_Default_Ignorable_Code_Point), which utf8proc leaves unmarked.
    if (c == 0x2065 || (c >= 0xFFF0 && c <= 0xFFF8) || (c >= 0xE0000 && c <= 0xE0FFF)) {
        return true;
    }
    return c < 0x110000 && utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->ignorable;
}

std::optional<char32_t> first_default_ignorable(std::string_view s) {
    if (is_ascii(s)) {
        return std::nullopt;
    }
    std::optional<char32_t> found;
    for_each_code_point(s, [&](CodePoint point) {
        if (point.value != malformed && is_default_ignorable(static_cast<char32_t>(point.value))) {
            found = static_cast<char32_t>(point.value);
        }
        return !found;
    });
    return found;
}

std::string code_point_name(char32_t c) {
    return fmt::format("U+{:04X}", static_cast<std::uint32_t>(c));
}

bool has_control_characters(std::string_view s) {
    if (is_ascii(s)) {
        return std::any_of(s.begin(), s.end(), [](char c) { return c < 0x20 || c == 0x7F; });
    }
    bool found = false;
    for_each_code_point(s, [&](CodePoint point) {
        const auto category = utf8proc_category(point.value);
        const utf8proc_int32_t c = point.value;
        // Invisible characters that make two names look alike or reorder text:
        // zero-width space, word joiner, byte order mark, bidirectional controls.
        // (Zero-width joiners, which some scripts and emoji need, stay allowed.)
        const bool invisible = c == 0x200B || c == 0x2060 || c == 0xFEFF ||
                               (c >= 0x200E && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
                               (c >= 0x2066 && c <= 0x2069);
        found = invisible || category == UTF8PROC_CATEGORY_CC || category == UTF8PROC_CATEGORY_ZL ||
                category == UTF8PROC_CATEGORY_ZP;
        return !found;
    });
    return found;
}

std::string_view trim(std::string_view s) {
    // Fast path: ASCII at both ends (the usual case) needs no decoding.
    while (!s.empty() && is_ascii_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ascii_space(s.back())) {
        s.remove_suffix(1);
    }
    if (s.empty() || ((static_cast<unsigned char>(s.front()) & 0x80) == 0 &&
                      (static_cast<unsigned char>(s.back()) & 0x80) == 0)) {
        return s;
    }
    std::size_t begin = s.size();
    std::size_t end = 0;
    for_each_code_point(s, [&](CodePoint point) {
        if (!is_white_space(point.value)) {
            begin = std::min(begin, point.offset);
            end = point.offset + point.length;
        }
        return true;
    });
    return begin >= end ? std::string_view{} : s.substr(begin, end - begin);
}

std::string collapse_whitespace(std::string_view s) {
    const std::string_view trimmed = trim(s);
    std::string out;
    out.reserve(trimmed.size());
    bool pending_space = false;
    for_each_code_point(trimmed, [&](CodePoint point) {
        if (is_white_space(point.value)) {
            pending_space = true;
            return true;
        }
        if (pending_space) {
            out.push_back(' ');
            pending_space = false;
        }
        out.append(trimmed.substr(point.offset, point.length));
        return true;
    });
    return out;
}

std::string_view truncate(std::string_view s, std::size_t max_points) {
    std::size_t end = 0;
    std::size_t count = 0;
    for_each_code_point(s, [&](CodePoint point) {
        if (count == max_points) {
            return false;
        }
        end = point.offset + point.length;
        ++count;
        return true;
    });
    return s.substr(0, end);
}

std::string escape_controls(std::string_view s) {
    const auto unsafe = [](utf8proc_int32_t c) {
        return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 || c == 0x200B ||
               c == 0x2060 || c == 0xFEFF || (c >= 0x200E && c <= 0x200F) ||
               (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
    };
    std::string out;
    out.reserve(s.size());
    std::size_t offset = 0;
    while (offset < s.size()) {
        utf8proc_int32_t c = 0;
        const utf8proc_ssize_t used = utf8proc_iterate(
            bytes(s) + offset, static_cast<utf8proc_ssize_t>(s.size() - offset), &c);
        if (used <= 0 || c < 0) {
            out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[offset]));
            ++offset;
            continue;
        }
        const auto length = static_cast<std::size_t>(used);
        if (!unsafe(c)) {
            out.append(s.substr(offset, length));
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x100) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += fmt::format("\\u{:04x}", c);
        }
        offset += length;
    }
    return out;
}

} // namespace nimbus::text
