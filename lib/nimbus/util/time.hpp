#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nimbus {

/// A point in time with one-second resolution, in UTC.
using Timestamp = std::chrono::sys_seconds;

namespace timefmt {

/// The times a call can plausibly have: from 2000-01-01T00:00:00Z up to, but
/// not including, 2100-01-01T00:00:00Z. Imports refuse times outside it, and
/// report periods must lie within it, so that a typo such as year 0000 never
/// makes a report or an export walk ten thousand years of empty days.
inline constexpr Timestamp earliest_call_time{std::chrono::seconds{946'684'800}};
inline constexpr Timestamp call_times_end{std::chrono::seconds{4'102'444'800}};

/// RFC 3339 in UTC with a `Z` suffix, e.g. "2026-11-26T09:30:00Z".
std::string to_utc_string(Timestamp t);

/// Parses an RFC 3339 / ISO 8601 date-time that carries `Z` or a numeric offset
/// ("2026-11-26T10:30:00+01:00", fractional seconds dropped). nullopt when malformed.
std::optional<Timestamp> parse_timestamp(std::string_view text);

/// Parses "YYYY-MM-DD" as the start of that day in UTC, or else a full timestamp.
std::optional<Timestamp> parse_date_or_timestamp(std::string_view text);

/// Parses a length of time as whole days, hours, minutes and seconds, largest
/// first, each at most once: "2h", "90m", "1h30m", "1d", "45s". nullopt when
/// malformed, empty or beyond 100 years.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

/// A length of time as parse_duration reads it, in its largest units:
/// 5400 s is "1h30m", 0 is "0s".
std::string duration_text(std::chrono::seconds length);

} // namespace timefmt
} // namespace nimbus
