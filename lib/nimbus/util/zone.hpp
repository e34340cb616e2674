#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/util/time.hpp>

namespace date {
class time_zone;
}

namespace nimbus {

/// A span of time during which a zone's UTC offset does not change.
struct OffsetSpan {
    Timestamp until;             ///< the offset holds for times before this
    std::int64_t offset_seconds; ///< local = UTC + offset
};

/// A calendar date.
struct CivilDate {
    int year = 1970;
    unsigned month = 1;
    unsigned day = 1;

    /// "YYYY-MM-DD".
    std::string text() const;
    /// "YYYY-MM".
    std::string month_text() const;
    /// Days since 1970-01-01.
    std::int64_t day_number() const;
    static CivilDate from_day_number(std::int64_t days);
    /// Parses "YYYY-MM-DD"; nullopt when malformed.
    static std::optional<CivilDate> parse(std::string_view text);
};

/// An IANA time zone ("Europe/Zurich", "UTC") from the system's database, used to
/// cut days and months where the people reading a report live.
class Zone {
public:
    /// Throws Usage for a name the database does not know.
    explicit Zone(std::string_view name);

    const std::string& name() const { return name_; }

    /// The instant a local calendar day starts (the first valid local time of it).
    Timestamp start_of(const CivilDate& date) const;
    /// The local calendar date at an instant.
    CivilDate date_at(Timestamp t) const;
    /// The offsets in force over [from, to), in order; the last one reaches `to`.
    std::vector<OffsetSpan> offsets(Timestamp from, Timestamp to) const;

private:
    std::string name_;
    const date::time_zone* zone_;
};

} // namespace nimbus
