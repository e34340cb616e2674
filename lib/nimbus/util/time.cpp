#include <nimbus/util/time.hpp>

#include <charconv>
#include <cstdint>
#include <iterator>
#include <utility>

#include <fmt/format.h>

namespace nimbus::timefmt {
namespace {

using namespace std::chrono;

/// Reads exactly `digits` decimal digits at `pos`, advancing it.
std::optional<int> read_number(std::string_view text, std::size_t& pos, std::size_t digits) {
    if (pos + digits > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = 0; i < digits; ++i) {
        const char c = text[pos + i];
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    pos += digits;
    return value;
}

bool expect(std::string_view text, std::size_t& pos, char wanted) {
    if (pos < text.size() && text[pos] == wanted) {
        ++pos;
        return true;
    }
    return false;
}

std::optional<sys_days> read_date(std::string_view text, std::size_t& pos) {
    const auto y = read_number(text, pos, 4);
    if (!y || !expect(text, pos, '-')) {
        return std::nullopt;
    }
    const auto m = read_number(text, pos, 2);
    if (!m || !expect(text, pos, '-')) {
        return std::nullopt;
    }
    const auto d = read_number(text, pos, 2);
    if (!d) {
        return std::nullopt;
    }
    const year_month_day date{year{*y}, month{static_cast<unsigned>(*m)},
                              day{static_cast<unsigned>(*d)}};
    if (!date.ok()) {
        return std::nullopt;
    }
    return sys_days{date};
}

} // namespace

std::string to_utc_string(Timestamp t) {
    const auto days = floor<std::chrono::days>(t);
    const year_month_day date{days};
    const hh_mm_ss clock{t - days};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(date.year()),
                       static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                       clock.hours().count(), clock.minutes().count(), clock.seconds().count());
}

std::optional<Timestamp> parse_timestamp(std::string_view text) {
    std::size_t pos = 0;
    const auto date = read_date(text, pos);
    if (!date || pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
        return std::nullopt;
    }
    ++pos;
    const auto h = read_number(text, pos, 2);
    if (!h || !expect(text, pos, ':')) {
        return std::nullopt;
    }
    const auto m = read_number(text, pos, 2);
    if (!m || !expect(text, pos, ':')) {
        return std::nullopt;
    }
    const auto s = read_number(text, pos, 2);
    if (!s || *h > 23 || *m > 59 || *s > 60) { // 60: a leap second, folded into the next minute
        return std::nullopt;
    }
    if (expect(text, pos, '.') || expect(text, pos, ',')) {
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        if (pos == start) {
            return std::nullopt;
        }
    }
    seconds offset{0};
    if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
        // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        const auto oh = read_number(text, pos, 2);
        if (!oh || !expect(text, pos, ':')) {
            return std::nullopt;
        }
        const auto om = read_number(text, pos, 2);
        if (!om || *oh > 23 || *om > 59) {
            return std::nullopt;
        }
        offset = sign * (hours{*oh} + minutes{*om});
    } else {
        return std::nullopt; // a local time without an offset is ambiguous
    }
    if (pos != text.size()) {
        return std::nullopt;
    }
    const Timestamp utc = Timestamp{*date + hours{*h} + minutes{*m} + seconds{*s}} - offset;
    // Only times that RFC 3339 can write back (years 0000 to 9999) are accepted.
    if (utc < Timestamp{sys_days{year{0} / 1 / 1}} ||
        utc >= Timestamp{sys_days{year{10000} / 1 / 1}}) {
        return std::nullopt;
    }
    return utc;
}

std::optional<Timestamp> parse_date_or_timestamp(std::string_view text) {
    std::size_t pos = 0;
    if (text.size() == 10) {
        const auto date = read_date(text, pos);
        if (date && pos == text.size()) {
            return Timestamp{*date};
        }
        return std::nullopt;
    }
    return parse_timestamp(text);
}

namespace {

/// The units of a duration, largest first.
constexpr std::pair<char, std::int64_t> duration_units[] = {
    {'d', 86'400}, {'h', 3'600}, {'m', 60}, {'s', 1}};

} // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
    constexpr std::int64_t longest = 100LL * 366 * 86'400;
    std::int64_t total = 0;
    std::size_t next_unit = 0; // units come largest first, each once
    std::size_t pos = 0;
    if (text.empty()) {
        return std::nullopt;
    }
    while (pos < text.size()) {
        std::int64_t number = 0;
        const std::size_t digits_from = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            number = number * 10 + (text[pos] - '0');
            if (number > longest) {
                return std::nullopt;
            }
            ++pos;
        }
        if (pos == digits_from || pos == text.size()) {
            return std::nullopt;
        }
        const char unit = text[pos++];
        std::size_t found = next_unit;
        while (found < std::size(duration_units) && duration_units[found].first != unit) {
            ++found;
        }
        if (found == std::size(duration_units)) {
            return std::nullopt;
        }
        next_unit = found + 1;
        total += number * duration_units[found].second;
        if (total > longest) {
            return std::nullopt;
        }
    }
    return std::chrono::seconds{total};
}

std::string duration_text(std::chrono::seconds length) {
    std::int64_t left = length.count();
    if (left <= 0) {
        return "0s";
    }
    std::string text;
    for (const auto& [unit, seconds] : duration_units) {
        if (left >= seconds) {
            text += std::to_string(left / seconds) + unit;
            left %= seconds;
        }
    }
    return text;
}

} // namespace nimbus::timefmt
