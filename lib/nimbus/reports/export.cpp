#include <nimbus/reports/export.hpp>

#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/reports/folders.hpp>
#include <nimbus/reports/usage.hpp>
#include <nimbus/util/files.hpp>
#include <nimbus/util/zone.hpp>

namespace nimbus::reports {
namespace {

using output::Cell;
using output::Column;

Cell time_cell(const std::optional<Timestamp>& t) {
    return t ? Cell(timefmt::to_utc_string(*t)) : Cell();
}

Cell seconds_cell(const std::optional<std::int64_t>& seconds) {
    return seconds ? Cell(*seconds) : Cell();
}

/// One CSV table of the export, written atomically into the export folder.
class Table {
public:
    Table(const std::filesystem::path& dir, std::string name, std::vector<Column> columns)
        : name_(std::move(name))
        , file_(dir / name_)
        , writer_(file_.stream(), std::move(columns)) {}

    void row(const std::vector<Cell>& cells) { writer_.row(cells); }

    ExportedFile finish() {
        const std::size_t rows = writer_.rows();
        file_.commit();
        return ExportedFile{name_, rows, {}};
    }

private:
    std::string name_;
    AtomicFile file_;
    output::CsvWriter writer_;
};

constexpr FolderKind export_kind{"nimbus-codes reporting model", "model_version",
                                 export_model_version};

bool is_earlier_export(int folder, const std::string& path) {
    return is_earlier_folder(folder, path, export_kind);
}

} // namespace

void check_export_folder(const std::string& dir) {
    AtomicDirectory::check(dir, is_earlier_export);
}

ExportResult export_model(store::ReadTransaction& tx, const Actor& actor,
                          const identity::Identity& identity, const ExportRequest& request,
                          int schema_version, Timestamp now, const ExportProgress& progress) {
    const Zone zone(request.zone);
    const store::LedgerHead ledger = tx.ledger_head();
    const std::vector<Service> services =
        services_in_scope(tx, actor, request.services, std::nullopt);
    store::ExportQuery query;
    for (const Service& service : services) {
        query.service_ids.push_back(service.id);
    }
    std::optional<Period> period;
    if (request.from || request.to) {
        const PeriodSpec spec{std::nullopt, request.from, request.to};
        period = resolve_period(spec, zone, now);
        require_plausible(spec, *period);
        query.from = period->from;
        query.to = period->to;
    }

    AtomicDirectory folder(request.dir.string(), is_earlier_export);
    const std::filesystem::path& dir = folder.path();
    ExportResult result;
    std::size_t written = 0;
    const auto tick = [&] {
        if (progress && ++written % 10'000 == 0) {
            progress(written);
        }
    };

    // The fact table, and what the dimensions need from it. The calendar spans
    // the sessions' days within the plausible call times; a day outside them
    // (an odd time in the store, however it got there) gets a row of its own,
    // so that one odd time never makes the calendar span centuries.
    const std::int64_t earliest = first_report_day().day_number();
    const std::int64_t latest = last_report_day().day_number();
    std::set<std::string> users;
    std::optional<std::int64_t> first_day;
    std::optional<std::int64_t> last_day;
    std::set<std::int64_t> odd_days;
    {
        Table sessions(dir, "sessions.csv",
                       {{"session_key", ""},
                        {"session_id", ""},
                        {"service_key", ""},
                        {"user_key", ""},
                        {"direction", ""},
                        {"outcome", ""},
                        {"started_at", ""},
                        {"ended_at", ""},
                        {"date_key", ""},
                        {"concluded", ""},
                        {"concluded_at", ""},
                        {"concluded_by", ""},
                        {"concluded_via", ""},
                        {"retroactive", ""},
                        {"waiting_seconds", ""},
                        {"talk_seconds", ""},
                        {"concluded_by_default", ""}});
        tx.each_session(query, [&](const Session& s) {
            const CivilDate date = zone.date_at(s.started_at);
            const std::int64_t day = date.day_number();
            if (day < earliest || day > latest) {
                odd_days.insert(day);
            } else {
                first_day = std::min(first_day.value_or(day), day);
                last_day = std::max(last_day.value_or(day), day);
            }
            users.insert(s.user);
            const auto& c = s.conclusion;
            sessions.row(
                {s.id, s.external_id, s.service_id, s.user, std::string(to_string(s.direction)),
                 s.outcome ? Cell(*s.outcome) : Cell(), time_cell(s.started_at),
                 time_cell(s.ended_at), date.text(), c.has_value(), c ? time_cell(c->at) : Cell(),
                 c ? Cell(c->user) : Cell(), c && c->via ? Cell(*c->via) : Cell(),
                 c ? Cell(c->retroactive) : Cell(), seconds_cell(s.times.waiting_seconds),
                 seconds_cell(s.times.talk_seconds), c ? Cell(c->by_default.has_value()) : Cell()});
            tick();
        });
        result.files.push_back(sessions.finish());
    }
    {
        Table codes(dir, "session_codes.csv",
                    {{"session_key", ""},
                     {"position", ""},
                     {"code_key", ""},
                     {"type", ""},
                     {"name_at_time", ""}});
        tx.each_concluded_code(query, [&](const store::ConcludedCodeRow& row) {
            codes.row({row.session_id, row.position, row.code.code_id,
                       std::string(to_string(row.code.type)), row.code.name});
            tick();
        });
        result.files.push_back(codes.finish());
    }
    // Tags are one tag whatever their case: facts carry the key that reports
    // group by, and the tags dimension one spelling per key, chosen as
    // `report usage --by tag` chooses it (the first in byte order).
    std::map<std::string, std::string> tag_spelling;
    {
        Table tags(dir, "session_tags.csv",
                   {{"session_key", ""}, {"position", ""}, {"tag", ""}, {"tag_key", ""}});
        tx.each_concluded_tag(query, [&](const store::ConcludedTagRow& row) {
            tags.row({row.session_id, row.position, row.tag, row.tag_key});
            auto [spelling, added] = tag_spelling.try_emplace(row.tag_key, row.tag);
            if (!added && row.tag < spelling->second) {
                spelling->second = row.tag;
            }
            tick();
        });
        result.files.push_back(tags.finish());
    }

    {
        Table context(dir, "session_context.csv",
                      {{"session_key", ""}, {"field_key", ""}, {"value", ""}});
        tx.each_session_context(query, [&](const store::SessionContextValue& row) {
            context.row({row.session_id, row.value.field_id, row.value.value});
            tick();
        });
        result.files.push_back(context.finish());
    }

    // The dimensions.
    {
        Table table(dir, "context_fields.csv",
                    {{"field_key", ""},
                     {"name", ""},
                     {"type", ""},
                     {"values", ""},
                     {"description", ""},
                     {"ou_key", ""}});
        for (const ContextField& field : tx.context_fields()) {
            table.row({field.id, field.name, std::string(to_string(field.type)),
                       output::Strings(field.choices), field.description, field.ou_id});
        }
        result.files.push_back(table.finish());
    }
    std::map<std::string, std::int64_t> ou_ids;
    for (const Ou& ou : tx.ous()) {
        ou_ids[ou.path_key] = ou.id;
    }
    {
        Table codes(dir, "codes.csv",
                    {{"code_key", ""},
                     {"type", ""},
                     {"name", ""},
                     {"description", ""},
                     {"ou_key", ""},
                     {"deleted", ""},
                     {"deleted_at", ""}});
        store::CodeFilter all;
        all.include_deleted = true;
        for (const Code& code : tx.codes(all)) {
            codes.row({code.id, std::string(to_string(code.type)), code.name, code.description,
                       code.ou_id, code.deleted(), time_cell(code.deleted_at)});
        }
        result.files.push_back(codes.finish());
    }
    {
        Table table(dir, "tags.csv", {{"tag_key", ""}, {"tag", ""}});
        for (const auto& [key, spelling] : tag_spelling) {
            table.row({key, spelling});
        }
        result.files.push_back(table.finish());
    }
    {
        Table table(dir, "services.csv",
                    {{"service_key", ""}, {"name", ""}, {"ou_key", ""}, {"license", ""}});
        for (const Service& service : services) {
            table.row(
                {service.id, service.name, service.ou_id, std::string(to_string(service.license))});
        }
        result.files.push_back(table.finish());
    }
    {
        Table table(dir, "users.csv", {{"user_key", ""}, {"name", ""}, {"email", ""}});
        for (const std::string& login : users) {
            const identity::User* user = identity.find(login);
            table.row({login, user ? Cell(user->name) : Cell(), user ? Cell(user->email) : Cell()});
        }
        result.files.push_back(table.finish());
    }
    {
        Table table(dir, "ous.csv",
                    {{"ou_key", ""}, {"path", ""}, {"name", ""}, {"parent_key", ""}});
        for (const Ou& ou : tx.ous()) {
            table.row({ou.id, ou.path, ou.name, ou.parent_id ? Cell(*ou.parent_id) : Cell()});
        }
        result.files.push_back(table.finish());
    }
    {
        Table table(dir, "outcomes.csv",
                    {{"outcome", ""}, {"outcome_group", ""}, {"direction", ""}});
        for (const OutcomeInfo& outcome : tx.outcomes()) {
            table.row(
                {outcome.name, outcome.group,
                 outcome.direction ? Cell(std::string(to_string(*outcome.direction))) : Cell()});
        }
        result.files.push_back(table.finish());
    }
    {
        Table table(dir, "dates.csv",
                    {{"date_key", ""},
                     {"year", ""},
                     {"month", ""},
                     {"month_key", ""},
                     {"day", ""},
                     {"iso_weekday", ""}});
        const auto date_row = [&](std::int64_t d) {
            const CivilDate date = CivilDate::from_day_number(d);
            const std::int64_t weekday = ((d % 7) + 7 + 3) % 7 + 1; // 1970-01-01 was a Thursday
            table.row({date.text(), std::int64_t{date.year}, std::int64_t{date.month},
                       date.month_text(), std::int64_t{date.day}, weekday});
        };
        const std::int64_t first = period ? period->first.day_number() : first_day.value_or(0);
        const std::int64_t last = period ? period->last.day_number() : last_day.value_or(-1);
        auto odd = odd_days.begin();
        for (; odd != odd_days.end() && *odd < first; ++odd) {
            date_row(*odd);
        }
        for (std::int64_t d = first; d <= last; ++d) {
            date_row(d);
        }
        for (; odd != odd_days.end(); ++odd) {
            if (*odd > last) {
                date_row(*odd);
            }
        }
        result.files.push_back(table.finish());
    }

    for (ExportedFile& file : result.files) {
        file.sha256 = sha256_of_file(dir / file.name);
    }
    nlohmann::ordered_json manifest = {
        {"format", export_kind.format},
        {"model_version", export_model_version},
        {"schema_version", schema_version},
        {"generated_at", timefmt::to_utc_string(now)},
        {"filters",
         {{"from", request.from ? nlohmann::ordered_json(*request.from) : nullptr},
          {"to", request.to ? nlohmann::ordered_json(*request.to) : nullptr},
          {"services", request.services},
          {"time_zone", zone.name()}}},
        {"files", nlohmann::ordered_json::array()},
        {"ledger", {{"records", ledger.records}, {"head", ledger.hash}}}};
    for (const ExportedFile& file : result.files) {
        manifest["files"].push_back(
            {{"name", file.name}, {"rows", file.rows}, {"sha256", file.sha256}});
    }
    {
        AtomicFile file(dir / manifest_name);
        file.stream() << manifest.dump(2) << '\n';
        file.commit();
    }
    folder.commit();
    return result;
}

} // namespace nimbus::reports
