#include <nimbus/util/zone.hpp>

#include <date/tz.h>
#include <fmt/format.h>

#include <nimbus/error.hpp>

namespace nimbus {
namespace {

date::year_month_day to_ymd(const CivilDate& d) {
    return date::year{d.year} / date::month{d.month} / date::day{d.day};
}

CivilDate from_ymd(const date::year_month_day& ymd) {
    return CivilDate{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day())};
}

} // namespace

std::string CivilDate::text() const {
    return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::string CivilDate::month_text() const {
    return fmt::format("{:04}-{:02}", year, month);
}

std::int64_t CivilDate::day_number() const {
    return date::sys_days{to_ymd(*this)}.time_since_epoch().count();
}

CivilDate CivilDate::from_day_number(std::int64_t days) {
    return from_ymd(date::year_month_day{date::sys_days{date::days{days}}});
}

std::optional<CivilDate> CivilDate::parse(std::string_view text) {
    const auto start = timefmt::parse_date_or_timestamp(text);
    if (!start || text.size() != 10) {
        return std::nullopt;
    }
    return from_day_number(
        std::chrono::floor<std::chrono::days>(*start).time_since_epoch().count());
}

Zone::Zone(std::string_view name)
    : name_(name) {
    try {
        zone_ = date::locate_zone(name);
    } catch (const std::exception&) {
        throw Error(ErrorKind::Usage, fmt::format("unknown time zone \"{}\"", name),
                    "use an IANA name such as UTC or Europe/Zurich (see /usr/share/zoneinfo)");
    }
}

Timestamp Zone::start_of(const CivilDate& day) const {
    const date::local_seconds midnight{date::local_days{to_ymd(day)}};
    // Where a transition skips midnight, the day starts at the first time that exists.
    const date::local_info info = zone_->get_info(midnight);
    if (info.result == date::local_info::nonexistent) {
        return info.second.begin;
    }
    return std::chrono::time_point_cast<std::chrono::seconds>(
        zone_->to_sys(midnight, date::choose::earliest));
}

CivilDate Zone::date_at(Timestamp t) const {
    const auto local = zone_->to_local(t);
    return from_ymd(date::year_month_day{date::floor<date::days>(local)});
}

std::vector<OffsetSpan> Zone::offsets(Timestamp from, Timestamp to) const {
    std::vector<OffsetSpan> spans;
    Timestamp t = from;
    do {
        const date::sys_info info = zone_->get_info(t);
        const Timestamp end = std::chrono::time_point_cast<std::chrono::seconds>(info.end);
        spans.push_back(OffsetSpan{std::min(end, to), info.offset.count()});
        t = end;
    } while (t < to);
    return spans;
}

} // namespace nimbus
