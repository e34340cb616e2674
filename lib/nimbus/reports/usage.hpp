#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nimbus/catalogue/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/reports/dimensions.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/zone.hpp>

/// Reports: monthly code usage, and the reporting model for Power BI.
namespace nimbus::reports {

/// Which time a report covers: one of --month YYYY-MM, --month last, or
/// --from DATE --to DATE (both dates included). Nothing: the current month.
struct PeriodSpec {
    std::optional<std::string> month;
    std::optional<std::string> from;
    std::optional<std::string> to;
};

/// [from, to) in UTC, cut at local midnights of the zone.
struct Period {
    Timestamp from{};
    Timestamp to{};
    CivilDate first; ///< the first local day
    CivilDate last;  ///< the last local day (included)
};

Period resolve_period(const PeriodSpec& spec, const Zone& zone, Timestamp now);

/// The first and last day a report period may cover: the days of the plausible
/// call times (timefmt::earliest_call_time up to timefmt::call_times_end).
CivilDate first_report_day();
CivilDate last_report_day();

/// Throws Usage unless `period` (resolved from `spec`) lies within
/// first_report_day() .. last_report_day(), naming the option at fault.
void require_plausible(const PeriodSpec& spec, const Period& period);

/// The most rows a report may have. Enough for every code by day over a year
/// (or by month over decades) for many services; more is no longer a report
/// that people read, and `report export` is the way to raw data. Refusing
/// beyond it keeps a report's memory bounded whatever it is asked.
inline constexpr std::size_t max_report_rows = 100'000;

/// The services a report covers: those named, or those in an OU subtree, or
/// (neither) all the actor may read reports of. Naming a service or OU outside
/// the actor's scope is PermissionDenied, never an empty report.
std::vector<Service> services_in_scope(store::ReadTransaction& tx, const Actor& actor,
                                       const std::vector<std::string>& names,
                                       const std::optional<std::string>& ou);

struct UsageRequest {
    std::vector<std::string> services;
    std::optional<std::string> ou;
    PeriodSpec period;
    std::vector<Dimension> by{Dimension::Code};
    std::optional<CodeType> type;
    std::vector<std::string> codes; ///< names (any OU) or id:N
    std::vector<std::string> tags;
    /// Only sessions with these context values: (field name, value).
    std::vector<std::pair<std::string, std::string>> context;
    std::string context_field; ///< the field of Dimension::Context
    std::optional<std::string> user;
    bool current_names = false; ///< --names current
    /// --recount: counts the sessions themselves instead of reading the
    /// rollups, for a check that both give the same report.
    bool recount = false;
    std::string zone = "UTC";
    /// More rows than this is refused (Usage) before they are all read.
    std::size_t max_rows = max_report_rows;
    /// Periods must lie within the plausible call times (require_plausible).
    /// Only `store copy`, which compares whole stores, turns this off.
    bool plausible_period = true;
};

/// The whole period, whatever the rows are grouped by.
struct Summary {
    std::int64_t total = 0;
    std::int64_t concluded = 0;
    std::int64_t concluded_by_default = 0; ///< by a sweep, after the wrap-up deadline
    std::int64_t unconcluded = 0;
    std::int64_t retroactive = 0;

    std::int64_t concluded_by_agents() const { return concluded - concluded_by_default; }
    /// "3 concluded (2 retroactively)", and who concluded them where a sweep did.
    std::string concluded_text() const;
};

struct UsageReport {
    Period period;
    std::string zone;
    output::Rows rows; ///< the group's keys, then `sessions` and `share`
    Summary summary;
    /// The ledger's head when the report was made: an auditor who keeps it
    /// can later prove with `verify --head` that nothing before it changed.
    store::LedgerHead ledger;
    output::Rows summary_rows() const; ///< the summary as one row
};

/// Counts the concluded sessions that carry each code or tag, per group.
/// `share` is that count over the group's concluded sessions (null when the
/// group has none). Grouping by code lists every code on the covered services'
/// lists, with 0 when unused (one row per code, under today's name), and every
/// month or day of the period when grouping by time, so that rows are stable
/// from one run to the next.
///
/// Filters must name something: a `user` that neither has a session in the
/// store nor is in `identity` is NotFound; each of `codes` must name one code
/// (see docs/reports.md), else NotFound or, when ambiguous, Usage. A report of
/// more than `max_rows` rows is refused (Usage) before its rows are read.
UsageReport usage(store::ReadTransaction& tx, const Actor& actor,
                  const identity::Identity& identity, const UsageRequest& request, Timestamp now);

} // namespace nimbus::reports
