#include <nimbus/store/sql/usage_sql.hpp>

#include <algorithm>
#include <limits>
#include <optional>

#include <fmt/format.h>

namespace nimbus::store::sql {
namespace {

constexpr std::int64_t hour = 3600;
constexpr std::int64_t day = 86400;

/// `t` floored to a multiple of `span`, also before 1970.
std::int64_t floor_to(std::int64_t t, std::int64_t span) {
    return t - ((t % span) + span) % span;
}

/// `column` in SQL floored to a multiple of `span`.
std::string floor_sql(std::string_view column, std::int64_t span) {
    return fmt::format("{0} - ({0} % {1} + {1}) % {1}", column, span);
}

/// The local day of `column` (UTC seconds): plus the zone's offset at that
/// time, floored to days. The offsets change only at transitions, so a short
/// CASE serves millions of rows.
std::string local_day_expression(const std::vector<OffsetSpan>& offsets, std::string_view column) {
    std::string offset = "0"; // no spans: the query does not group by day
    if (offsets.size() == 1) {
        offset = std::to_string(offsets.front().offset_seconds);
    } else if (offsets.size() > 1) {
        offset = "CASE";
        for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
            offset += fmt::format(" WHEN {} < {} THEN {}", column, to_seconds(offsets[i].until),
                                  offsets[i].offset_seconds);
        }
        offset += fmt::format(" ELSE {} END", offsets.back().offset_seconds);
    }
    // Sessions start after 1970 in practice, but floor, not truncate, all the same.
    return fmt::format("(({0} + ({1})) - ((({0} + ({1})) % 86400) + 86400) % 86400) / 86400",
                       column, offset);
}

/// The WHERE clause shared by both report queries: services, period, user,
/// context values. `unindexed` keeps the planner off the session indexes
/// for the services and times (a walk by id instead).
std::string session_filter(const UsageQuery& query, std::vector<Value>& params, bool unindexed) {
    std::string where = fmt::format("{0}service_id IN ({1}) AND {0}started_at >= ? AND "
                                    "{0}started_at < ?",
                                    unindexed ? "+s." : "s.", id_list(query.service_ids));
    params.emplace_back(to_seconds(query.from));
    params.emplace_back(to_seconds(query.to));
    if (query.user) {
        where += " AND s.user = ?";
        params.emplace_back(*query.user);
    }
    for (const ContextMatch& match : query.context) {
        where += " AND EXISTS (SELECT 1 FROM session_context m WHERE m.session_id = s.id AND "
                 "m.field_id = ? AND m.value = ?)";
        params.emplace_back(match.field_id);
        params.emplace_back(match.value);
    }
    return where;
}

/// The join and the column of a report grouped by a context field's value.
std::string context_join(const UsageQuery& query) {
    return query.by_context ? fmt::format(" LEFT JOIN session_context sx ON sx.session_id = s.id "
                                          "AND sx.field_id = {}",
                                          *query.by_context)
                            : std::string();
}
constexpr const char* context_value = "coalesce(sx.value, '')";

/// Who concluded session s (with conclusion c, and cd its sweep's mark):
/// "agent", "default", or "" while it has no conclusion.
constexpr const char* concluded_by_value =
    "CASE WHEN c.session_id IS NULL THEN '' WHEN cd.session_id IS NULL THEN 'agent' "
    "ELSE 'default' END";

/// The GROUP BY of one branch, gathered as its columns are chosen.
class Groups {
public:
    /// `expression`, grouped by, when the report groups by it; else `fallback`,
    /// the same constant in every row.
    std::string column(bool used, std::string expression, std::string fallback) {
        if (!used) {
            return fallback;
        }
        list_.push_back(expression);
        return expression;
    }
    std::string clause() const {
        std::string clause;
        for (std::size_t i = 0; i < list_.size(); ++i) {
            clause += (i == 0 ? " GROUP BY " : ", ") + list_[i];
        }
        return clause;
    }

private:
    std::vector<std::string> list_;
};

/// The columns a report of the sessions themselves groups by first, in the
/// order both session branches give them: day, service, agent, context value.
struct SessionKeys {
    std::string day;
    std::string service;
    std::string user;
    std::string context;
};

SessionKeys session_keys(const UsageQuery& query, Groups& groups) {
    SessionKeys keys;
    keys.day =
        groups.column(query.by_day, local_day_expression(query.offsets, "s.started_at"), "0");
    keys.service = groups.column(query.by_service, "s.service_id", "0");
    keys.user = groups.column(query.by_user, "s.user", "''");
    keys.context = groups.column(query.by_context.has_value(), context_value, "''");
    return keys;
}

/// Which sessions of the query a branch counts: those in `ranges` (joined
/// as "ranges r"), or (`above`) those stored beyond the rollups' mark, read
/// by id; neither: all of them.
struct Slice {
    std::string_view ranges;
    std::optional<std::int64_t> above;
};

std::string slice_join(const Slice& slice) {
    return slice.ranges.empty() ? std::string() : fmt::format("{} r CROSS JOIN ", slice.ranges);
}

std::string slice_condition(const Slice& slice) {
    std::string condition;
    if (!slice.ranges.empty()) {
        condition += fmt::format(" AND {0}s.started_at >= r.lo AND {0}s.started_at < r.hi",
                                 slice.above ? "+" : "");
    }
    if (slice.above) {
        condition += fmt::format(" AND s.id > {}", *slice.above);
    }
    return condition;
}

/// Concluded sessions per group, counted from the sessions of `slice`.
std::string session_usage_branch(const UsageQuery& query, const Slice& slice,
                                 std::vector<Value>& params) {
    const bool codes = query.by_type || query.by_code;
    // A conclusion's codes and tags imply the conclusion: join it only when
    // neither is joined, or to tell who concluded.
    std::string from = slice_join(slice) + ((codes || query.by_tag) && !query.by_concluded_by
                                                ? "session s"
                                                : "session s JOIN conclusion c ON "
                                                  "c.session_id = s.id");
    if (query.by_concluded_by) {
        from += " LEFT JOIN conclusion_default cd ON cd.session_id = s.id";
    }
    from += context_join(query);
    std::string where =
        session_filter(query, params, slice.above.has_value()) + slice_condition(slice);
    std::string code_filter;
    if (query.type) {
        code_filter += fmt::format(" AND {{0}}.type = '{}'", to_string(*query.type));
    }
    if (!query.code_ids.empty()) {
        code_filter += fmt::format(" AND {{0}}.code_id IN ({})", id_list(query.code_ids));
    }
    const std::string tag_filter =
        query.tag_keys.empty()
            ? std::string{}
            : fmt::format(" AND {{0}}.tag_key IN ({})", placeholders(query.tag_keys.size()));
    if (codes) {
        from += " JOIN conclusion_code cc ON cc.session_id = s.id";
        where += fmt::format(fmt::runtime(code_filter), "cc");
        if (query.current_names) {
            from += " JOIN code k ON k.id = cc.code_id";
        }
    } else if (!code_filter.empty()) {
        where += fmt::format(" AND EXISTS (SELECT 1 FROM conclusion_code x WHERE "
                             "x.session_id = s.id{})",
                             fmt::format(fmt::runtime(code_filter), "x"));
    }
    if (query.by_tag) {
        from += " JOIN conclusion_tag ct ON ct.session_id = s.id";
        where += fmt::format(fmt::runtime(tag_filter), "ct");
    } else if (!tag_filter.empty()) {
        where += fmt::format(" AND EXISTS (SELECT 1 FROM conclusion_tag t WHERE "
                             "t.session_id = s.id{})",
                             fmt::format(fmt::runtime(tag_filter), "t"));
    }
    params.insert(params.end(), query.tag_keys.begin(), query.tag_keys.end());
    Groups groups;
    const SessionKeys keys = session_keys(query, groups);
    const std::string concluded_by = groups.column(query.by_concluded_by, concluded_by_value, "''");
    const std::string type = groups.column(codes, "cc.type", "'primary'");
    const std::string code_id = groups.column(query.by_code, "cc.code_id", "0");
    const std::string name =
        groups.column(query.by_code, query.current_names ? "k.name" : "cc.name", "''");
    const std::string tag = groups.column(query.by_tag, "ct.tag_key", "''");
    const std::string tag_text = query.by_tag ? "min(ct.tag)" : "''";
    // A session counts once per group: codes and tags are unique per session,
    // but several codes of one type are not.
    const std::string count = query.by_type && !query.by_code ? "count(DISTINCT s.id)" : "count(*)";
    return fmt::format(
        "SELECT {} AS d, {} AS sv, {} AS us, {} AS ty, {} AS ci, {} AS nm, {} AS tk, "
        "{} AS tg, {} AS n, {} AS cx, {} AS cb FROM {} WHERE {}{}",
        keys.day, keys.service, keys.user, type, code_id, name, tag, tag_text, count, keys.context,
        concluded_by, from, where, groups.clause());
}

/// Sessions per group, concluded or not, counted from the sessions of `slice`.
std::string session_count_branch(const UsageQuery& query, const Slice& slice,
                                 std::vector<Value>& params) {
    Groups groups;
    const SessionKeys keys = session_keys(query, groups);
    const std::string where =
        session_filter(query, params, slice.above.has_value()) + slice_condition(slice);
    return fmt::format(
        "SELECT {} AS d, {} AS sv, {} AS us, {} AS cx, count(*) AS total, count(c.session_id) AS "
        "concluded, coalesce(sum({}), 0) AS retroactive, count(cd.session_id) AS by_default "
        "FROM {}session s LEFT JOIN conclusion c ON c.session_id = s.id LEFT JOIN "
        "conclusion_default cd ON cd.session_id = s.id{} WHERE {}{}",
        keys.day, keys.service, keys.user, keys.context, retroactive_sql, slice_join(slice),
        context_join(query), where, groups.clause());
}

/// The rollup table that answers a report's usage counts, if one does: not
/// for one agent or by agent (the rollups are of all agents), not by or for
/// context values, and not for a mix that would need a session's codes and
/// tags together.
enum class RollupTable { Sessions, Types, Codes, Tags };

std::optional<RollupTable> usage_table(const UsageQuery& q) {
    if (q.user || q.by_user || q.by_context || !q.context.empty()) {
        return std::nullopt;
    }
    if (q.by_code) {
        return q.by_tag || !q.tag_keys.empty() ? std::nullopt : std::optional(RollupTable::Codes);
    }
    if (q.by_type) {
        return q.by_tag || !q.tag_keys.empty() || !q.code_ids.empty()
                   ? std::nullopt
                   : std::optional(RollupTable::Types);
    }
    if (q.by_tag) {
        return q.type || !q.code_ids.empty() ? std::nullopt : std::optional(RollupTable::Tags);
    }
    if (!q.code_ids.empty() || !q.tag_keys.empty()) {
        return std::nullopt;
    }
    return q.type ? RollupTable::Types : RollupTable::Sessions;
}

bool session_counts_rolled_up(const UsageQuery& q) {
    return !q.user && !q.by_user && !q.by_context && q.context.empty();
}

/// Which concluded sessions a branch of usage_sessions counts: all of them,
/// or those concluded by agents or by default.
enum class ConcludedBy { Any, Agent, Default };

/// Concluded sessions per group from one rollup table at one span, over
/// the buckets in `ranges` (joined as "ranges r").
std::string rollup_usage_branch(const UsageQuery& query, RollupTable table, std::int64_t span,
                                std::string_view ranges, ConcludedBy who,
                                std::vector<Value>& params) {
    static constexpr const char* names[] = {"usage_sessions", "usage_types", "usage_codes",
                                            "usage_tags"};
    std::string from = fmt::format("{} r JOIN {} u ON u.bucket >= r.lo AND u.bucket < r.hi", ranges,
                                   names[static_cast<int>(table)]);
    std::string where =
        fmt::format("u.span = {} AND u.service_id IN ({})", span, id_list(query.service_ids));
    const bool typed = table == RollupTable::Types || table == RollupTable::Codes;
    if (typed && query.type) {
        where += fmt::format(" AND u.type = '{}'", to_string(*query.type));
    }
    if (table == RollupTable::Codes && !query.code_ids.empty()) {
        where += fmt::format(" AND u.code_id IN ({})", id_list(query.code_ids));
    }
    if (table == RollupTable::Tags && !query.tag_keys.empty()) {
        where += fmt::format(" AND u.tag_key IN ({})", placeholders(query.tag_keys.size()));
        params.insert(params.end(), query.tag_keys.begin(), query.tag_keys.end());
    }
    if (table == RollupTable::Codes && query.current_names) {
        from += " JOIN code k ON k.id = u.code_id";
    }
    Groups groups;
    const std::string day_column =
        groups.column(query.by_day, local_day_expression(query.offsets, "u.bucket"), "0");
    const std::string service = groups.column(query.by_service, "u.service_id", "0");
    const std::string type =
        groups.column(typed && (query.by_type || query.by_code), "u.type", "'primary'");
    const std::string code_id = groups.column(query.by_code, "u.code_id", "0");
    const std::string name =
        groups.column(query.by_code, query.current_names ? "k.name" : "u.name", "''");
    const std::string tag = groups.column(table == RollupTable::Tags, "u.tag_key", "''");
    const std::string tag_text = table == RollupTable::Tags ? "min(u.tag)" : "''";
    std::string count = "sum(u.sessions)";
    std::string concluded_by = "''";
    if (table == RollupTable::Sessions) {
        count = who == ConcludedBy::Any     ? "sum(u.concluded)"
                : who == ConcludedBy::Agent ? "sum(u.concluded - u.by_default)"
                                            : "sum(u.by_default)";
        concluded_by = who == ConcludedBy::Any     ? "''"
                       : who == ConcludedBy::Agent ? "'agent'"
                                                   : "'default'";
    } else {
        concluded_by = groups.column(query.by_concluded_by, "u.concluded_by", "''");
    }
    return fmt::format("SELECT {} AS d, {} AS sv, '' AS us, {} AS ty, {} AS ci, {} AS nm, {} AS "
                       "tk, {} AS tg, {} AS n, '' AS cx, {} AS cb FROM {} WHERE {}{}",
                       day_column, service, type, code_id, name, tag, tag_text, count, concluded_by,
                       from, where, groups.clause());
}

/// Sessions per group from usage_sessions at one span, over `ranges`.
std::string rollup_count_branch(const UsageQuery& query, std::int64_t span,
                                std::string_view ranges) {
    Groups groups;
    const std::string day_column =
        groups.column(query.by_day, local_day_expression(query.offsets, "u.bucket"), "0");
    const std::string service = groups.column(query.by_service, "u.service_id", "0");
    return fmt::format(
        "SELECT {} AS d, {} AS sv, '' AS us, '' AS cx, sum(u.total) AS total, sum(u.concluded) "
        "AS concluded, sum(u.retroactive) AS retroactive, sum(u.by_default) AS by_default FROM "
        "{} r JOIN usage_sessions u ON u.bucket >= r.lo AND u.bucket < r.hi WHERE u.span = {} "
        "AND u.service_id IN ({}){}",
        day_column, service, ranges, span, id_list(query.service_ids), groups.clause());
}

/// "name (lo, hi) AS (VALUES (1, 2), (3, 4))", for a WITH clause.
std::string ranges_table(std::string_view name, const std::vector<TimeRange>& ranges) {
    std::string values;
    for (const TimeRange& range : ranges) {
        values += fmt::format("{}({}, {})", values.empty() ? "" : ", ", range.from, range.to);
    }
    return fmt::format("{} (lo, hi) AS (VALUES {})", name, values);
}

/// The WITH clause naming the plan's ranges: day_ranges, hour_ranges,
/// session_ranges, and all_ranges (the days and hours, where unsettled
/// sessions are read by id).
std::string with_ranges(const RollupPlan& plan, bool unsettled) {
    std::vector<std::string> tables;
    if (!plan.days.empty()) {
        tables.push_back(ranges_table("day_ranges", plan.days));
    }
    if (!plan.hours.empty()) {
        tables.push_back(ranges_table("hour_ranges", plan.hours));
    }
    if (!plan.sessions.empty()) {
        tables.push_back(ranges_table("session_ranges", plan.sessions));
    }
    if (unsettled) {
        std::vector<TimeRange> all = plan.days;
        all.insert(all.end(), plan.hours.begin(), plan.hours.end());
        tables.push_back(ranges_table("rolled_ranges", all));
    }
    std::string clause;
    for (const std::string& table : tables) {
        clause += (clause.empty() ? "WITH " : ", ") + table;
    }
    return clause + " ";
}

std::string union_all(const std::vector<std::string>& branches) {
    std::string sql;
    for (const std::string& branch : branches) {
        sql += (sql.empty() ? "" : " UNION ALL ") + branch;
    }
    return sql;
}

} // namespace

std::string id_list(const std::vector<std::int64_t>& ids) {
    std::string list;
    for (const std::int64_t id : ids) {
        list += (list.empty() ? "" : ", ") + std::to_string(id);
    }
    return list.empty() ? "NULL" : list;
}

std::string placeholders(std::size_t count) {
    std::string list;
    for (std::size_t i = 0; i < count; ++i) {
        list += i == 0 ? "?" : ", ?";
    }
    return list;
}

RollupPlan plan_rollups(std::int64_t from, std::int64_t to, const std::vector<OffsetSpan>& offsets,
                        bool by_day) {
    // Where a group may start: the period's ends and, by day, each local
    // midnight and each change of offset.
    std::vector<std::int64_t> cuts = {from, to};
    if (by_day) {
        std::int64_t span_from = std::numeric_limits<std::int64_t>::min();
        for (std::size_t i = 0; i < offsets.size(); ++i) {
            const std::int64_t span_to = i + 1 < offsets.size()
                                             ? to_seconds(offsets[i].until)
                                             : std::numeric_limits<std::int64_t>::max();
            const std::int64_t lo = std::max(from, span_from);
            const std::int64_t hi = std::min(to, span_to);
            if (lo < hi) {
                cuts.push_back(lo);
                const std::int64_t offset = offsets[i].offset_seconds;
                // The first local midnight after lo, then every day.
                for (std::int64_t t = floor_to(lo + offset, day) + day - offset; t < hi; t += day) {
                    cuts.push_back(t);
                }
            }
            span_from = span_to;
        }
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    RollupPlan plan;
    const auto add = [](std::vector<TimeRange>& ranges, std::int64_t lo, std::int64_t hi) {
        if (!ranges.empty() && ranges.back().to == lo) {
            ranges.back().to = hi;
        } else {
            ranges.push_back(TimeRange{lo, hi});
        }
    };
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
        const std::int64_t end = cuts[i + 1];
        for (std::int64_t t = cuts[i]; t < end;) {
            if (floor_to(t, day) == t && t + day <= end) {
                add(plan.days, t, t + day);
                t += day;
            } else if (floor_to(t, hour) == t && t + hour <= end) {
                add(plan.hours, t, t + hour);
                t += hour;
            } else {
                const std::int64_t next = std::min(end, floor_to(t, hour) + hour);
                add(plan.sessions, t, next);
                t = next;
            }
        }
    }
    return plan;
}

RollupReach rollup_reach(Connection& db) {
    // One statement (one round trip to a server), read to its end.
    const auto q = db.prepare("SELECT session_id, (SELECT coalesce(max(id), 0) FROM session) "
                              "FROM usage_settled WHERE id = 1");
    RollupReach reach;
    while (q->step()) {
        reach.kept = true;
        reach.settled = q->integer(0);
        reach.unsettled = q->integer(1) > reach.settled;
    }
    return reach;
}

SqlQuery usage_count_query(const UsageQuery& query, const RollupReach& reach) {
    SqlQuery result;
    const std::optional<RollupTable> table = usage_table(query);
    const RollupPlan plan = reach.kept && !query.recount && table
                                ? plan_rollups(to_seconds(query.from), to_seconds(query.to),
                                               query.offsets, query.by_day)
                                : RollupPlan{};
    if (plan.days.empty() && plan.hours.empty()) {
        result.sql = session_usage_branch(query, Slice{}, result.params);
        return result;
    }
    std::vector<std::string> branches;
    const auto rolled = [&](std::int64_t span, std::string_view ranges) {
        if (*table == RollupTable::Sessions && query.by_concluded_by) {
            branches.push_back(rollup_usage_branch(query, *table, span, ranges, ConcludedBy::Agent,
                                                   result.params));
            branches.push_back(rollup_usage_branch(query, *table, span, ranges,
                                                   ConcludedBy::Default, result.params));
        } else {
            branches.push_back(
                rollup_usage_branch(query, *table, span, ranges, ConcludedBy::Any, result.params));
        }
    };
    if (!plan.days.empty()) {
        rolled(day, "day_ranges");
    }
    if (!plan.hours.empty()) {
        rolled(hour, "hour_ranges");
    }
    if (!plan.sessions.empty()) {
        branches.push_back(session_usage_branch(query, Slice{"session_ranges", {}}, result.params));
    }
    if (reach.unsettled) {
        branches.push_back(
            session_usage_branch(query, Slice{"rolled_ranges", reach.settled}, result.params));
    }
    result.sql =
        with_ranges(plan, reach.unsettled) +
        "SELECT d, sv, us, ty, ci, nm, tk, coalesce(min(tg), ''), coalesce(sum(n), 0), cx, cb "
        "FROM (" +
        union_all(branches) + ") parts GROUP BY d, sv, us, ty, ci, nm, tk, cx, cb";
    return result;
}

SqlQuery session_count_query(const UsageQuery& query, const RollupReach& reach) {
    SqlQuery result;
    const RollupPlan plan = reach.kept && !query.recount && session_counts_rolled_up(query)
                                ? plan_rollups(to_seconds(query.from), to_seconds(query.to),
                                               query.offsets, query.by_day)
                                : RollupPlan{};
    if (plan.days.empty() && plan.hours.empty()) {
        result.sql = session_count_branch(query, Slice{}, result.params);
        return result;
    }
    std::vector<std::string> branches;
    if (!plan.days.empty()) {
        branches.push_back(rollup_count_branch(query, day, "day_ranges"));
    }
    if (!plan.hours.empty()) {
        branches.push_back(rollup_count_branch(query, hour, "hour_ranges"));
    }
    if (!plan.sessions.empty()) {
        branches.push_back(session_count_branch(query, Slice{"session_ranges", {}}, result.params));
    }
    if (reach.unsettled) {
        branches.push_back(
            session_count_branch(query, Slice{"rolled_ranges", reach.settled}, result.params));
    }
    result.sql = with_ranges(plan, reach.unsettled) +
                 "SELECT d, sv, us, cx, coalesce(sum(total), 0), coalesce(sum(concluded), 0), "
                 "coalesce(sum(retroactive), 0), coalesce(sum(by_default), 0) FROM (" +
                 union_all(branches) + ") parts GROUP BY d, sv, us, cx";
    return result;
}

void UsageDelta::add(std::int64_t service_id, std::int64_t started_at) {
    if (settled_) {
        ++hours_[{service_id, floor_to(started_at, hour)}];
        ++sessions_;
    }
}

std::size_t UsageDelta::KeyHash::operator()(const Key& key) const {
    return std::hash<std::int64_t>()(key.first * 1000003 ^ key.second);
}

namespace {

/// The sessions an import counted as it inserted them, added to the hours
/// and days in key order: no walk of the new rows, no sort by SQLite.
void add_counted_sessions(Connection& db, const UsageDelta& delta) {
    std::vector<std::pair<UsageDelta::Key, std::int64_t>> hours(delta.hours().begin(),
                                                                delta.hours().end());
    std::sort(hours.begin(), hours.end());
    std::vector<std::pair<UsageDelta::Key, std::int64_t>> days;
    for (const auto& [key, sessions] : hours) {
        const UsageDelta::Key day_key{key.first, floor_to(key.second, day)};
        if (days.empty() || days.back().first != day_key) {
            days.emplace_back(day_key, 0);
        }
        days.back().second += sessions;
    }
    // Many rows per statement: the statements, not the rows, cost the most.
    constexpr std::size_t rows_per_statement = 128;
    const auto statement = [&](std::size_t rows) {
        std::string values;
        for (std::size_t i = 0; i < rows; ++i) {
            values += i == 0 ? "(?, ?, ?, ?, 0, 0, 0)" : ", (?, ?, ?, ?, 0, 0, 0)";
        }
        return db.prepare(fmt::format(
            "INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive, "
            "by_default) VALUES {} ON CONFLICT (span, service_id, bucket) DO UPDATE SET total = "
            "usage_sessions.total + excluded.total",
            values));
    };
    const auto full = statement(rows_per_statement);
    for (const auto& [span, counts] : {std::pair(hour, &hours), std::pair(day, &days)}) {
        for (std::size_t first = 0; first < counts->size(); first += rows_per_statement) {
            const std::size_t rows = std::min(rows_per_statement, counts->size() - first);
            const auto partial = rows < rows_per_statement ? statement(rows) : nullptr;
            Statement& add = partial ? *partial : *full;
            int index = 1;
            for (std::size_t i = first; i < first + rows; ++i) {
                add.bind(index++, span);
                add.bind(index++, (*counts)[i].first.first);
                add.bind(index++, (*counts)[i].first.second);
                add.bind(index++, (*counts)[i].second);
            }
            add.run();
        }
    }
}

} // namespace

void settle_usage(Connection& db, std::string_view least, const UsageDelta& delta) {
    const RollupReach reach = rollup_reach(db);
    if (!reach.kept || !reach.unsettled) {
        return;
    }
    std::int64_t upto = 0;
    {
        const auto last = db.prepare("SELECT max(id) FROM session");
        while (last->step()) {
            upto = last->integer(0);
        }
    }
    // The sessions by hour first, then their conclusions (of an import, none).
    db.execute("CREATE TEMP TABLE IF NOT EXISTS usage_delta (service_id INTEGER, bucket INTEGER, "
               "total INTEGER, concluded INTEGER, retroactive INTEGER, by_default INTEGER); "
               "DELETE FROM temp.usage_delta");
    // The transaction's sessions took the ids after the mark one by one: when
    // they are as many as the ids, they are all there is to settle.
    if (delta.settled() == reach.settled && delta.sessions() == upto - reach.settled) {
        add_counted_sessions(db, delta);
    } else {
        db.execute(fmt::format("INSERT INTO temp.usage_delta SELECT service_id, {0}, count(*), 0, "
                               "0, 0 FROM session WHERE id > {1} AND id <= {2} GROUP BY "
                               "service_id, {0}",
                               floor_sql("started_at", hour), reach.settled, upto));
    }
    db.execute(fmt::format(
        "INSERT INTO temp.usage_delta SELECT s.service_id, {0}, 0, count(*), coalesce(sum({1}), "
        "0), count(cd.session_id) FROM conclusion c JOIN session s ON s.id = c.session_id LEFT "
        "JOIN conclusion_default cd ON cd.session_id = c.session_id WHERE c.session_id > {2} AND "
        "c.session_id <= {3} GROUP BY s.service_id, {0}",
        floor_sql("s.started_at", hour), retroactive_sql, reach.settled, upto));
    for (const std::int64_t span : {hour, day}) {
        const std::string bucket = floor_sql("s.started_at", span);
        db.execute(fmt::format(
            "INSERT INTO usage_sessions (span, service_id, bucket, total, concluded, retroactive, "
            "by_default) SELECT {0}, service_id, {1}, sum(total), sum(concluded), "
            "sum(retroactive), sum(by_default) FROM temp.usage_delta GROUP BY service_id, {1} ON "
            "CONFLICT (span, service_id, bucket) DO UPDATE SET total = usage_sessions.total + "
            "excluded.total, concluded = usage_sessions.concluded + excluded.concluded, "
            "retroactive = usage_sessions.retroactive + excluded.retroactive, by_default = "
            "usage_sessions.by_default + excluded.by_default",
            span, floor_sql("bucket", span)));
        const std::string concluded_by =
            "CASE WHEN cd.session_id IS NULL THEN 'agent' ELSE 'default' END";
        db.execute(fmt::format(
            "INSERT INTO usage_types (span, service_id, bucket, concluded_by, type, sessions) "
            "SELECT {0}, s.service_id, {1}, {2}, t.type, count(*) FROM (SELECT DISTINCT "
            "session_id, type FROM conclusion_code WHERE session_id > {3} AND session_id <= {4}) "
            "t JOIN session s ON s.id = t.session_id LEFT JOIN conclusion_default cd ON "
            "cd.session_id = s.id GROUP BY s.service_id, {1}, {2}, t.type ON CONFLICT (span, "
            "service_id, bucket, concluded_by, type) DO UPDATE SET sessions = "
            "usage_types.sessions + excluded.sessions",
            span, bucket, concluded_by, reach.settled, upto));
        db.execute(fmt::format(
            "INSERT INTO usage_codes (span, service_id, bucket, concluded_by, type, code_id, "
            "name, sessions) SELECT {0}, s.service_id, {1}, {2}, cc.type, cc.code_id, cc.name, "
            "count(*) FROM conclusion_code cc JOIN session s ON s.id = cc.session_id LEFT JOIN "
            "conclusion_default cd ON cd.session_id = s.id WHERE cc.session_id > {3} AND "
            "cc.session_id <= {4} GROUP BY s.service_id, {1}, {2}, cc.type, cc.code_id, cc.name "
            "ON CONFLICT (span, service_id, bucket, concluded_by, type, code_id, name) DO UPDATE "
            "SET sessions = usage_codes.sessions + excluded.sessions",
            span, bucket, concluded_by, reach.settled, upto));
        db.execute(fmt::format(
            "INSERT INTO usage_tags (span, service_id, bucket, concluded_by, tag_key, tag, "
            "sessions) SELECT {0}, s.service_id, {1}, {2}, ct.tag_key, min(ct.tag), count(*) "
            "FROM conclusion_tag ct JOIN session s ON s.id = ct.session_id LEFT JOIN "
            "conclusion_default cd ON cd.session_id = s.id WHERE ct.session_id > {3} AND "
            "ct.session_id <= {4} GROUP BY s.service_id, {1}, {2}, ct.tag_key ON CONFLICT (span, "
            "service_id, bucket, concluded_by, tag_key) DO UPDATE SET sessions = "
            "usage_tags.sessions + excluded.sessions, tag = {5}(usage_tags.tag, excluded.tag)",
            span, bucket, concluded_by, reach.settled, upto, least));
    }
    db.execute(fmt::format("UPDATE usage_settled SET session_id = {} WHERE id = 1; DELETE FROM "
                           "temp.usage_delta",
                           upto));
}

} // namespace nimbus::store::sql
