#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nimbus/catalogue/model.hpp>
#include <nimbus/context/model.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/store/store.hpp>

/// The dimensions a usage report groups by, in one table: each entry says
/// what --by calls it, how the store groups by it, which rows it lists even
/// when nothing was counted, how it orders rows and which columns it shows.
/// Adding a dimension is adding an entry (and, for data the store does not
/// group by yet, a grouping of the store's).
namespace nimbus::reports {

/// Context: the value of one conversation-context field with a fixed set of
/// values ("context.Reason"; UsageRequest::context_field names it).
/// ConcludedBy: "agent" or "default" (concluded by a sweep).
enum class Dimension { Month, Day, Service, User, Type, Code, Tag, Context, ConcludedBy };

/// What a row is about: its place in each dimension (unused ones stay empty).
struct Key {
    std::int64_t period = 0; ///< the day number of the month's or day's start
    std::int64_t service_id = 0;
    std::string user;
    std::string context;      ///< the context field's value ("" for none)
    std::string concluded_by; ///< "agent" or "default" ("" when not grouped by it)
    CodeType type = CodeType::Primary;
    std::int64_t code_id = 0;
    std::string code_name;
    std::string tag; ///< the tag's key

    /// The part of the key that names a group of sessions (not of items): a
    /// share is of all the sessions concluded in it, whoever concluded them.
    using Sessions = std::tuple<std::int64_t, std::int64_t, std::string, std::string>;
    Sessions sessions() const { return {period, service_id, user, context}; }
    auto tied() const {
        return std::tie(period, service_id, user, context, concluded_by, type, code_id, code_name,
                        tag);
    }
    bool operator<(const Key& other) const { return tied() < other.tied(); }
    /// The same group but for the code's name (a code renamed within a period
    /// has a row per name).
    bool same_item(const Key& other) const;
};

/// A code or a code type that a report lists, used or not.
struct Item {
    CodeType type = CodeType::Primary;
    std::int64_t code_id = 0; ///< 0 for a type
    std::string name;
};

/// What the dimensions need to know of one report.
struct ReportFacts {
    std::vector<Dimension> by;
    std::map<std::int64_t, const Service*> services; ///< the covered services, by id
    const ContextField* context_field = nullptr;     ///< Dimension::Context's field
    /// The values rows are listed for even when nothing was counted.
    std::vector<std::int64_t> periods; ///< by month or day: each one's first day
    std::vector<std::string> users;    ///< by user: those with sessions
    std::vector<std::string> context_values;
    /// By code or type: the items of each service (by id; 0 when not by service).
    std::map<std::int64_t, std::vector<Item>> items;
    std::map<std::string, std::string> tag_spelling; ///< tag key -> a spelling of it

    bool has(Dimension d) const;
};

/// How a dimension orders rows: compared as a tuple.
using Rank = std::tuple<std::string, std::string, std::int64_t>;

struct DimensionInfo {
    Dimension id;
    std::string_view name;  ///< as --by takes it; "context." for Context, followed by a field
    std::string_view about; ///< what it groups by, for the docs
    /// Groups the store's counts by it.
    void (*group)(store::UsageQuery& query, const ReportFacts& facts);
    /// Each key `partial` becomes one key per value rows are listed for even
    /// when nothing was counted, or none at all (tags: only those used).
    /// Null: `partial` stays as it is.
    void (*fill)(const Key& partial, const ReportFacts& facts, std::vector<Key>& out);
    Rank (*rank)(const Key& key, const ReportFacts& facts);
    void (*columns)(const ReportFacts& facts, std::vector<output::Column>& out);
    void (*cells)(const Key& key, const ReportFacts& facts, std::vector<output::Cell>& out);
};

/// The table, in the order rows are filled: a service before its codes.
std::span<const DimensionInfo> dimensions();
const DimensionInfo& info(Dimension dimension);

/// Every name --by takes, for help and completion ("context.NAME" last).
std::vector<std::string> dimension_names();

/// "month,code" -> {Month, Code}. Throws Usage for unknown or repeated names,
/// or for month and day together. A "context.NAME" gives Context, and NAME
/// in `context_field` when given.
std::vector<Dimension> parse_dimensions(std::string_view text,
                                        std::string* context_field = nullptr);

} // namespace nimbus::reports
