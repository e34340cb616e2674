#include <nimbus/reports/dimensions.hpp>

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/util/text.hpp>
#include <nimbus/util/zone.hpp>

namespace nimbus::reports {
namespace {

constexpr std::string_view context_prefix = "context.";

/// The values of Dimension::ConcludedBy, in their order.
const std::vector<std::string> concluded_by_values = {"agent", "default"};

/// One key per value, `partial` with `member` set to it.
template <class Value>
void fill_each(const Key& partial, const std::vector<Value>& values, Value Key::*member,
               std::vector<Key>& out) {
    for (const Value& value : values) {
        Key key = partial;
        key.*member = value;
        out.push_back(std::move(key));
    }
}

// Each dimension's pieces, in the table's order.

void by_day(store::UsageQuery& query, const ReportFacts&) {
    query.by_day = true;
}

void fill_periods(const Key& partial, const ReportFacts& facts, std::vector<Key>& out) {
    fill_each(partial, facts.periods, &Key::period, out);
}

Rank rank_period(const Key& key, const ReportFacts&) {
    return {{}, {}, key.period};
}

void month_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"month", "MONTH"});
}

void month_cells(const Key& key, const ReportFacts&, std::vector<output::Cell>& out) {
    out.emplace_back(CivilDate::from_day_number(key.period).month_text());
}

void day_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"day", "DAY"});
}

void day_cells(const Key& key, const ReportFacts&, std::vector<output::Cell>& out) {
    out.emplace_back(CivilDate::from_day_number(key.period).text());
}

void by_service(store::UsageQuery& query, const ReportFacts&) {
    query.by_service = true;
}

void fill_services(const Key& partial, const ReportFacts& facts, std::vector<Key>& out) {
    for (const auto& [id, service] : facts.services) {
        Key key = partial;
        key.service_id = id;
        out.push_back(std::move(key));
    }
}

Rank rank_service(const Key& key, const ReportFacts& facts) {
    return {{}, names::name_key(facts.services.at(key.service_id)->name), key.service_id};
}

void service_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"service", "SERVICE"});
}

void service_cells(const Key& key, const ReportFacts& facts, std::vector<output::Cell>& out) {
    out.emplace_back(facts.services.at(key.service_id)->name);
}

void by_user(store::UsageQuery& query, const ReportFacts&) {
    query.by_user = true;
}

void fill_users(const Key& partial, const ReportFacts& facts, std::vector<Key>& out) {
    fill_each(partial, facts.users, &Key::user, out);
}

Rank rank_user(const Key& key, const ReportFacts&) {
    return {{}, key.user, 0};
}

void user_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"user", "USER"});
}

void user_cells(const Key& key, const ReportFacts&, std::vector<output::Cell>& out) {
    out.emplace_back(key.user);
}

void by_type(store::UsageQuery& query, const ReportFacts&) {
    query.by_type = true;
}

/// The items of the key's service (or of all services, not by service).
void fill_items(const Key& partial, const ReportFacts& facts, std::vector<Key>& out) {
    const auto items = facts.items.find(partial.service_id);
    if (items == facts.items.end()) {
        return;
    }
    for (const Item& item : items->second) {
        Key key = partial;
        key.type = item.type;
        key.code_id = item.code_id;
        key.code_name = item.name;
        out.push_back(std::move(key));
    }
}

void fill_types(const Key& partial, const ReportFacts& facts, std::vector<Key>& out) {
    if (facts.has(Dimension::Code)) {
        out.push_back(partial); // the codes fill in their types
        return;
    }
    fill_items(partial, facts, out);
}

Rank rank_type(const Key& key, const ReportFacts&) {
    return {std::string(to_string(key.type)), {}, 0};
}

void type_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"type", "TYPE"});
}

void type_cells(const Key& key, const ReportFacts&, std::vector<output::Cell>& out) {
    out.emplace_back(std::string(to_string(key.type)));
}

void by_code(store::UsageQuery& query, const ReportFacts&) {
    query.by_code = true;
}

Rank rank_code(const Key& key, const ReportFacts&) {
    return {std::string(to_string(key.type)), names::name_key(key.code_name), key.code_id};
}

/// A code's type too, unless the report groups by type itself.
void code_columns(const ReportFacts& facts, std::vector<output::Column>& out) {
    if (!facts.has(Dimension::Type)) {
        out.push_back({"type", "TYPE"});
    }
    out.push_back({"code", "CODE"});
    out.push_back({"code_id", "CODE ID", output::Audience::Programs});
}

void code_cells(const Key& key, const ReportFacts& facts, std::vector<output::Cell>& out) {
    if (!facts.has(Dimension::Type)) {
        out.emplace_back(std::string(to_string(key.type)));
    }
    out.emplace_back(key.code_name);
    out.emplace_back(key.code_id);
}

void by_tag(store::UsageQuery& query, const ReportFacts&) {
    query.by_tag = true;
}

void fill_no_tags(const Key&, const ReportFacts&, std::vector<Key>&) {
    // Tags are free text: a report lists those used, and nothing for the others.
}

Rank rank_tag(const Key& key, const ReportFacts&) {
    return {{}, key.tag, 0};
}

void tag_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"tag", "TAG"});
}

void tag_cells(const Key& key, const ReportFacts& facts, std::vector<output::Cell>& out) {
    const auto spelling = facts.tag_spelling.find(key.tag);
    out.emplace_back(spelling == facts.tag_spelling.end() ? key.tag : spelling->second);
}

/// By the report's field; none is named before the report has resolved it.
void by_context(store::UsageQuery& query, const ReportFacts& facts) {
    if (facts.context_field != nullptr) {
        query.by_context = facts.context_field->id;
    }
}

void fill_context(const Key& partial, const ReportFacts& facts, std::vector<Key>& out) {
    fill_each(partial, facts.context_values, &Key::context, out);
}

/// The field's values in their order, then none, then values it no longer has.
Rank rank_context(const Key& key, const ReportFacts& facts) {
    const std::vector<std::string>& choices = facts.context_field->choices;
    const auto at = std::find(choices.begin(), choices.end(), key.context);
    if (at != choices.end()) {
        return {{}, {}, static_cast<std::int64_t>(at - choices.begin())};
    }
    return {{}, key.context, static_cast<std::int64_t>(choices.size())};
}

void context_columns(const ReportFacts& facts, std::vector<output::Column>& out) {
    out.push_back(
        {std::string(context_prefix) + facts.context_field->name, facts.context_field->name});
}

void context_cells(const Key& key, const ReportFacts&, std::vector<output::Cell>& out) {
    out.push_back(key.context.empty() ? output::Cell() : output::Cell(key.context));
}

void by_concluded_by(store::UsageQuery& query, const ReportFacts&) {
    query.by_concluded_by = true;
}

void fill_concluded_by(const Key& partial, const ReportFacts&, std::vector<Key>& out) {
    fill_each(partial, concluded_by_values, &Key::concluded_by, out);
}

Rank rank_concluded_by(const Key& key, const ReportFacts&) {
    return {{}, key.concluded_by, 0};
}

void concluded_by_columns(const ReportFacts&, std::vector<output::Column>& out) {
    out.push_back({"concluded_by", "CONCLUDED BY"});
}

void concluded_by_cells(const Key& key, const ReportFacts&, std::vector<output::Cell>& out) {
    out.emplace_back(key.concluded_by);
}

// clang-format off
constexpr DimensionInfo table[] = {
    {Dimension::Month,       "month",        "the local month of the call's start",
     by_day, fill_periods, rank_period, month_columns, month_cells},
    {Dimension::Day,         "day",          "the local day of the call's start",
     by_day, fill_periods, rank_period, day_columns, day_cells},
    {Dimension::Service,     "service",      "the service",
     by_service, fill_services, rank_service, service_columns, service_cells},
    {Dimension::User,        "user",         "the session's agent",
     by_user, fill_users, rank_user, user_columns, user_cells},
    {Dimension::Type,        "type",         "the code's type: primary or secondary",
     by_type, fill_types, rank_type, type_columns, type_cells},
    {Dimension::Code,        "code",         "the code, under its name at the time (or today's, --names current)",
     by_code, fill_items, rank_code, code_columns, code_cells},
    {Dimension::Tag,         "tag",          "the tag",
     by_tag, fill_no_tags, rank_tag, tag_columns, tag_cells},
    {Dimension::Context,     context_prefix, "the value of a context field with a fixed set of values",
     by_context, fill_context, rank_context, context_columns, context_cells},
    {Dimension::ConcludedBy, "concluded-by", "who concluded: agent, or default (a sweep)",
     by_concluded_by, fill_concluded_by, rank_concluded_by, concluded_by_columns, concluded_by_cells},
};
// clang-format on

/// One entry per dimension, in the order of Dimension: info() is an index.
constexpr bool one_entry_per_dimension() {
    for (std::size_t i = 0; i < std::size(table); ++i) {
        if (table[i].id != static_cast<Dimension>(i)) {
            return false;
        }
    }
    return std::size(table) == static_cast<std::size_t>(Dimension::ConcludedBy) + 1;
}
static_assert(one_entry_per_dimension(), "the table needs one entry per dimension, in order");

std::string all_names() {
    std::string text;
    for (const std::string& name : dimension_names()) {
        text += (text.empty() ? "" : ", ") + name;
    }
    return text;
}

} // namespace

bool Key::same_item(const Key& other) const {
    return std::tie(period, service_id, user, context, concluded_by, type, code_id) ==
           std::tie(other.period, other.service_id, other.user, other.context, other.concluded_by,
                    other.type, other.code_id);
}

bool ReportFacts::has(Dimension d) const {
    return std::find(by.begin(), by.end(), d) != by.end();
}

std::span<const DimensionInfo> dimensions() {
    return table;
}

const DimensionInfo& info(Dimension dimension) {
    return table[static_cast<std::size_t>(dimension)];
}

std::vector<std::string> dimension_names() {
    std::vector<std::string> names;
    for (const DimensionInfo& entry : table) {
        if (entry.id != Dimension::Context) {
            names.emplace_back(entry.name);
        }
    }
    names.push_back(std::string(context_prefix) + "NAME");
    return names;
}

std::vector<Dimension> parse_dimensions(std::string_view text, std::string* context_field) {
    std::vector<Dimension> dims;
    const auto add = [&](Dimension d, std::string_view name) {
        if (std::find(dims.begin(), dims.end(), d) != dims.end()) {
            throw Error(ErrorKind::Usage,
                        d == Dimension::Context
                            ? std::string("--by takes one context field")
                            : fmt::format("dimension \"{}\" is given twice", name));
        }
        dims.push_back(d);
    };
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view name = text::trim(text.substr(start, comma - start));
        start = comma + 1;
        if (name.starts_with(context_prefix) && name.size() > context_prefix.size()) {
            add(Dimension::Context, name);
            if (context_field != nullptr) {
                *context_field = std::string(name.substr(context_prefix.size()));
            }
            continue;
        }
        const auto known = std::find_if(std::begin(table), std::end(table), [&](const auto& e) {
            return e.id != Dimension::Context && e.name == name;
        });
        if (known == std::end(table)) {
            throw Error(ErrorKind::Usage, fmt::format("unknown dimension \"{}\" in --by", name),
                        "dimensions are: " + all_names());
        }
        add(known->id, name);
    }
    if (std::find(dims.begin(), dims.end(), Dimension::Month) != dims.end() &&
        std::find(dims.begin(), dims.end(), Dimension::Day) != dims.end()) {
        throw Error(ErrorKind::Usage, "--by takes month or day, not both");
    }
    return dims;
}

} // namespace nimbus::reports
