#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nimbus/store/sql/connection.hpp>
#include <nimbus/store/store.hpp>

/// The SQL of usage reports: counting the sessions themselves, or reading the
/// rollups that the store keeps with its writes (schema/sqlite/0016_rollups.sql)
/// and the sessions only where the rollups do not reach.
namespace nimbus::store::sql {

/// A time as the store keeps it: UTC seconds since 1970.
inline std::int64_t to_seconds(Timestamp t) {
    return t.time_since_epoch().count();
}

/// "1, 2, 3" for ids, "NULL" for none (an IN list that matches nothing).
std::string id_list(const std::vector<std::int64_t>& ids);
/// "?, ?, ?" for `count` parameters.
std::string placeholders(std::size_t count);

/// nimbus::is_retroactive in SQL, over `c` (conclusion) and `s` (session): 1
/// or 0. The stored conclusion.retroactive is never read (see insert_conclusion).
inline constexpr const char* retroactive_sql =
    "CASE WHEN c.concluded_at > s.ended_at THEN 1 ELSE 0 END";

/// A statement and its parameters.
struct SqlQuery {
    std::string sql;
    std::vector<Value> params;
};

/// A range of UTC seconds, [from, to).
struct TimeRange {
    std::int64_t from = 0;
    std::int64_t to = 0;
};

/// Where a report's counts come from: whole days and whole hours from the
/// rollups, the rest (parts of hours) from the sessions. No bucket of a
/// rollup range straddles the start of a group: a local day, when the report
/// groups by day, or an offset change.
struct RollupPlan {
    std::vector<TimeRange> days;
    std::vector<TimeRange> hours;
    std::vector<TimeRange> sessions;
};
RollupPlan plan_rollups(std::int64_t from, std::int64_t to, const std::vector<OffsetSpan>& offsets,
                        bool by_day);

/// How far the rollups reach: the sessions with ids up to `settled`, and
/// whether any session has a greater id (stored since, or not yet settled).
struct RollupReach {
    bool kept = false; ///< the store keeps rollups
    std::int64_t settled = 0;
    bool unsettled = false;
};
RollupReach rollup_reach(Connection& db);

/// The statement that yields a report's UsageCount rows (columns: day,
/// service, user, type, code id, name, tag key, tag, sessions, context,
/// concluded by), from the rollups where they can answer it.
SqlQuery usage_count_query(const UsageQuery& query, const RollupReach& reach);
/// The statement that yields its SessionCount rows (day, service, user,
/// context, total, concluded, retroactive, by default).
SqlQuery session_count_query(const UsageQuery& query, const RollupReach& reach);

/// The sessions a transaction inserted beyond the rollups' mark, counted per
/// service and hour as they were inserted: what settling them adds, known
/// without reading them back.
class UsageDelta {
public:
    /// From now on, every session this transaction inserts is added here,
    /// and no other session goes beyond the mark: an import's.
    void start(std::int64_t settled) { settled_ = settled; }
    /// A session was inserted some other way: settle by reading them.
    void abandon() { settled_.reset(); }
    void add(std::int64_t service_id, std::int64_t started_at);

    /// The mark the counts start from, while they are complete.
    const std::optional<std::int64_t>& settled() const { return settled_; }
    std::int64_t sessions() const { return sessions_; }
    using Key = std::pair<std::int64_t, std::int64_t>; ///< (service, hour)
    struct KeyHash {
        std::size_t operator()(const Key& key) const;
    };
    const std::unordered_map<Key, std::int64_t, KeyHash>& hours() const { return hours_; }

private:
    std::optional<std::int64_t> settled_;
    std::int64_t sessions_ = 0;
    std::unordered_map<Key, std::int64_t, KeyHash> hours_;
};

/// Adds the sessions stored beyond the rollups' mark, with their
/// conclusions, codes and tags, to the rollups, and moves the mark: a set
/// of grouped inserts instead of a trigger per row (an import of a million
/// sessions). `least` is the engine's two-argument minimum of text; `delta`,
/// the sessions beyond the mark if the transaction counted them.
void settle_usage(Connection& db, std::string_view least, const UsageDelta& delta);

} // namespace nimbus::store::sql
