#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/audit/history.hpp>
#include <nimbus/error.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

nlohmann::ordered_json parse_object(const std::string& text) {
    return text.empty() ? nlohmann::ordered_json::object() : nlohmann::ordered_json::parse(text);
}

std::string value_text(const nlohmann::ordered_json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump();
}

/// A one-line summary for people: the fields that changed, old -> new.
std::string summarise(const AuditEntry& entry) {
    const nlohmann::ordered_json before = parse_object(entry.before);
    const nlohmann::ordered_json after = parse_object(entry.after);
    std::string summary;
    for (const auto& [key, value] : after.items()) {
        if (key == "id") {
            continue;
        }
        const auto old = before.find(key);
        if (old != before.end() && *old == value) {
            continue;
        }
        summary += summary.empty() ? "" : "; ";
        summary += old == before.end()
                       ? fmt::format("{}={}", key, value_text(value))
                       : fmt::format("{}: {} -> {}", key, value_text(*old), value_text(value));
    }
    return summary;
}

struct ListArgs {
    std::string since;
    std::string actor;
};

Result list(const ReadContext& context, const ListArgs& args) {
    store::AuditFilter filter;
    if (!args.since.empty()) {
        filter.since = timefmt::parse_date_or_timestamp(args.since);
        if (!filter.since) {
            throw Error(ErrorKind::Usage,
                        fmt::format("--since \"{}\" is not a date or time", args.since),
                        "use YYYY-MM-DD (UTC) or an RFC 3339 time such as 2026-11-26T09:00:00Z");
        }
    }
    if (!args.actor.empty()) {
        filter.user = args.actor;
    }
    output::Rows rows;
    rows.columns = {{"id", "ID"},
                    {"at", "AT"},
                    {"user", "USER", output::Audience::Programs},
                    {"via", "VIA", output::Audience::Programs},
                    {"who", "WHO", output::Audience::People},
                    {"action", "ACTION"},
                    {"target", "TARGET"},
                    {"ou", "OU", output::Audience::Programs},
                    {"change", "CHANGE", output::Audience::People},
                    {"before", "BEFORE", output::Audience::Programs},
                    {"after", "AFTER", output::Audience::Programs}};
    for (const AuditEntry& entry : audit::list(context.tx, context.actor, filter)) {
        rows.add({entry.id, timefmt::to_utc_string(entry.at), entry.user,
                  entry.via ? output::Cell(*entry.via) : output::Cell(),
                  entry.via ? fmt::format("{} via {}", entry.user, *entry.via) : entry.user,
                  entry.action, entry.target,
                  entry.ou_path.empty() ? output::Cell() : output::Cell(entry.ou_path),
                  summarise(entry), output::RawJson{entry.before}, output::RawJson{entry.after}});
    }
    return Result::list(std::move(rows));
}

} // namespace

void add_audit_commands(CLI::App& app, Registry& registry) {
    CLI::App* audit = add_noun(app, "audit", "The audit trail of every change");
    auto args = std::make_shared<ListArgs>();
    CLI::App* list_command = audit->add_subcommand("list", "List audit records, oldest first");
    list_command->add_option("--since", args->since, "Only records from this date or time on")
        ->type_name("DATE");
    list_command->add_option("--actor", args->actor, "Only records by or for this user")
        ->type_name("USER");
    registry.add(list_command,
                 Command{policy::Action::ReadAudit,
                         ReadBody([args](const ReadContext& c) { return list(c, *args); })});
}

} // namespace nimbus::cli
