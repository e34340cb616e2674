#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/context/context.hpp>
#include <nimbus/error.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/sessions.hpp>
#include <nimbus/sessions/suggestions.hpp>
#include <nimbus/sessions/sweep.hpp>
#include <nimbus/sessions/tags.hpp>
#include <nimbus/util/files.hpp>
#include <nimbus/util/text.hpp>

#include "app.hpp"
#include "console.hpp"
#include "directory_cells.hpp"
#include "exit_codes.hpp"

namespace nimbus::cli {
namespace {

output::Cell time_cell(const std::optional<Timestamp>& t) {
    return t ? output::Cell(timefmt::to_utc_string(*t)) : output::Cell();
}

output::Cell text_cell(const std::optional<std::string>& text) {
    return text ? output::Cell(*text) : output::Cell();
}

std::vector<output::Column> call_columns() {
    return {{"id", "ID"},
            {"service", "SERVICE"},
            {"user", "USER"},
            {"direction", "DIRECTION"},
            {"started_at", "STARTED"},
            {"ended_at", "ENDED"},
            {"outcome", "OUTCOME"}};
}

/// The call's cells; its direction and outcome only where `fields` shows them.
std::vector<output::Cell> call_cells(const Session& s, sessions::CallFields& fields) {
    const bool shown = fields.shown(s);
    return {s.external_id,
            s.service_name,
            s.user,
            shown ? output::Cell(std::string(to_string(s.direction))) : output::Cell(),
            time_cell(s.started_at),
            time_cell(s.ended_at),
            shown ? text_cell(s.outcome) : output::Cell()};
}

/// A session's context in a few words: "Reason=Billing, Account=42".
std::string context_summary(const std::vector<std::pair<std::string, std::string>>& values) {
    std::string text;
    for (const auto& [name, value] : values) {
        text += fmt::format("{}{}={}", text.empty() ? "" : ", ", name, value);
    }
    return text;
}

/// A session's context for programs: an object by field name, or null where
/// its service does not show context.
output::Cell context_cell(const context::Shown& shown, const Session& session) {
    if (!shown.shown(session)) {
        return output::RawJson{"null"};
    }
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const auto& [name, value] : shown.values(session)) {
        object[name] = value;
    }
    return output::RawJson{object.dump()};
}

/// The context columns of sessions, where any of them shows context: a
/// summary for people, the object for programs, and one column per field
/// that `--columns` asks for ("context.Reason").
void add_context(output::Rows& rows, std::vector<std::vector<output::Cell>>& cells,
                 const std::vector<Session>& sessions, const context::Shown& shown,
                 const std::vector<std::string>& fields) {
    if (!shown.any_shown(sessions) && fields.empty()) {
        return;
    }
    rows.columns.insert(rows.columns.end(),
                        {{"context_summary", "CONTEXT", output::Audience::People},
                         {"context", "CONTEXT", output::Audience::Programs}});
    for (const std::string& field : fields) {
        rows.columns.push_back({"context." + field, field, output::Audience::Programs});
    }
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const auto values = shown.values(sessions[i]);
        cells[i].insert(cells[i].end(),
                        {context_summary(values), context_cell(shown, sessions[i])});
        for (const std::string& field : fields) {
            const auto found = std::find_if(values.begin(), values.end(), [&](const auto& v) {
                return text::fold_case(v.first) == text::fold_case(field);
            });
            cells[i].push_back(found != values.end() ? output::Cell(found->second)
                                                     : output::Cell());
        }
    }
}

/// True when any of the sessions shows who is calling: only then do the
/// directory's columns appear.
bool any_caller_shown(const directory::Callers& callers, const std::vector<Session>& sessions) {
    return std::any_of(sessions.begin(), sessions.end(),
                       [&](const Session& session) { return callers.shown(session); });
}

output::Rows session_rows(const std::vector<Session>& sessions, const directory::Callers& callers,
                          sessions::CallFields& fields, const context::Shown& context = {},
                          const std::vector<std::string>& context_fields = {}) {
    output::Rows rows;
    rows.columns = call_columns();
    const bool directory = any_caller_shown(callers, sessions);
    if (directory) {
        rows.columns.insert(rows.columns.end(),
                            {{"caller_name", "CALLER NAME", output::Audience::People},
                             {"directory", "DIRECTORY", output::Audience::Programs}});
    }
    rows.columns.insert(rows.columns.end(),
                        {{"caller", "CALLER", output::Audience::Programs},
                         {"concluded", "CONCLUDED"},
                         {"concluded_at", "CONCLUDED AT", output::Audience::Programs},
                         {"concluded_by", "CONCLUDED BY", output::Audience::Programs}});
    std::vector<std::vector<output::Cell>> cells;
    for (const Session& session : sessions) {
        std::vector<output::Cell>& row = cells.emplace_back(call_cells(session, fields));
        if (directory) {
            row.insert(row.end(),
                       {callers.shown(session) ? output::Cell(caller_summary(callers, session))
                                               : output::Cell(),
                        directory_cell(callers, session)});
        }
        const auto& conclusion = session.conclusion;
        row.insert(row.end(), {session.caller, conclusion.has_value(),
                               conclusion ? time_cell(conclusion->at) : output::Cell(),
                               conclusion ? output::Cell(conclusion->user) : output::Cell()});
    }
    add_context(rows, cells, sessions, context, context_fields);
    for (std::vector<output::Cell>& row : cells) {
        rows.add(std::move(row));
    }
    return rows;
}

output::Strings names_of(const std::vector<Code>& codes) {
    output::Strings names;
    for (const Code& code : codes) {
        names.push_back(code.name);
    }
    return names;
}

/// "7 min 5 s" for people.
std::string duration_text(std::chrono::seconds length) {
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(length);
    const auto seconds = length - minutes;
    return minutes.count() > 0 ? fmt::format("{} min {} s", minutes.count(), seconds.count())
                               : fmt::format("{} s", seconds.count());
}

/// A conclusion in a few words: "Sale, Upsell; tags: vip".
std::string conclusion_text(const Conclusion& conclusion) {
    std::string text;
    for (const ConcludedCode& code : conclusion.codes) {
        text += (text.empty() ? "" : ", ") + code.name;
    }
    if (!conclusion.tags.empty()) {
        std::string tags;
        for (const std::string& tag : conclusion.tags) {
            tags += (tags.empty() ? "" : ", ") + tag;
        }
        text += (text.empty() ? "tags: " : "; tags: ") + tags;
    }
    return text;
}

/// The session-details columns: how long the call took (and waited and was
/// talked, where the call system said), and its caller's history in the service.
void add_history(output::Rows& rows, std::vector<output::Cell>& cells, const Session& session,
                 const sessions::CallHistory& history) {
    rows.columns.insert(rows.columns.end(),
                        {{"duration", "DURATION", output::Audience::People},
                         {"duration_seconds", "DURATION", output::Audience::Programs},
                         {"waiting", "WAITING", output::Audience::People},
                         {"waiting_seconds", "WAITING", output::Audience::Programs},
                         {"talk", "TALK", output::Audience::People},
                         {"talk_seconds", "TALK", output::Audience::Programs},
                         {"earlier_sessions", "EARLIER SESSIONS"},
                         {"previous_conclusion", "PREVIOUS CONCLUSION", output::Audience::People},
                         {"previous", "PREVIOUS", output::Audience::Programs}});
    if (session.ended_at) {
        const auto length = *session.ended_at - session.started_at;
        cells.insert(cells.end(),
                     {duration_text(length), static_cast<std::int64_t>(length.count())});
    } else {
        cells.insert(cells.end(), {std::string("active"), output::Cell()});
    }
    for (const std::optional<std::int64_t>& seconds :
         {session.times.waiting_seconds, session.times.talk_seconds}) {
        if (seconds) {
            cells.insert(cells.end(), {duration_text(std::chrono::seconds(*seconds)), *seconds});
        } else {
            cells.insert(cells.end(), {output::Cell(), output::Cell()});
        }
    }
    cells.emplace_back(history.earlier_sessions);
    if (!history.previous) {
        cells.insert(cells.end(), {output::Cell(), output::Cell()});
        return;
    }
    const Session& previous = *history.previous;
    const Conclusion& conclusion = *previous.conclusion;
    nlohmann::ordered_json codes = nlohmann::ordered_json::array();
    for (const ConcludedCode& code : conclusion.codes) {
        codes.push_back({{"type", to_string(code.type)}, {"name", code.name}});
    }
    const nlohmann::ordered_json whole = {
        {"id", previous.external_id},
        {"started_at", timefmt::to_utc_string(previous.started_at)},
        {"concluded_at", timefmt::to_utc_string(conclusion.at)},
        {"codes", codes},
        {"tags", conclusion.tags}};
    cells.insert(cells.end(),
                 {fmt::format("{} (session {}, {})", conclusion_text(conclusion),
                              previous.external_id, timefmt::to_utc_string(previous.started_at)),
                  output::RawJson{whole.dump()}});
}

output::Rows detail_rows(const sessions::Detail& detail, const directory::Callers& callers,
                         sessions::CallFields& fields, const context::Shown& context = {},
                         const std::optional<sessions::CallHistory>& history = std::nullopt) {
    const Session& session = detail.session;
    output::Rows rows;
    rows.columns = call_columns();
    rows.columns.insert(rows.columns.end(),
                        {{"outcome_group", "OUTCOME GROUP"}, {"caller", "CALLER"}});
    std::vector<output::Cell> cells = call_cells(session, fields);
    cells.insert(cells.end(), {detail.outcome_group.empty() || !fields.shown(session)
                                   ? output::Cell()
                                   : output::Cell(detail.outcome_group),
                               session.caller});
    if (history) {
        add_history(rows, cells, session, *history);
    }
    if (callers.shown(session)) {
        const DirectoryEntry* entry = callers.find(session);
        const auto field = [&](std::string DirectoryEntry::*member) {
            return entry != nullptr ? output::Cell(entry->*member) : output::Cell();
        };
        rows.columns.insert(rows.columns.end(),
                            {{"caller_name", "CALLER NAME", output::Audience::People},
                             {"caller_email", "EMAIL", output::Audience::People},
                             {"caller_notes", "NOTES", output::Audience::People},
                             {"directory", "DIRECTORY", output::Audience::Programs}});
        cells.insert(cells.end(),
                     {caller_summary(callers, session), field(&DirectoryEntry::email),
                      field(&DirectoryEntry::notes), directory_cell(callers, session)});
    }
    if (context.shown(session)) {
        // One line per field for people; the object for programs.
        for (const auto& [name, value] : context.values(session)) {
            rows.columns.push_back({"context." + name, name, output::Audience::People});
            cells.emplace_back(value);
        }
        rows.columns.push_back({"context", "CONTEXT", output::Audience::Programs});
        cells.push_back(context_cell(context, session));
    }
    rows.columns.insert(rows.columns.end(), {{"codes_and_tags", "CODES AND TAGS"},
                                             {"offered_primary", "PRIMARY CODES"},
                                             {"offered_secondary", "SECONDARY CODES"},
                                             {"concluded", "CONCLUDED"},
                                             {"concluded_at", "CONCLUDED AT"},
                                             {"concluded_by", "CONCLUDED BY"},
                                             {"via", "VIA"},
                                             {"by_default", "BY DEFAULT"},
                                             {"retroactive", "RETROACTIVE"},
                                             {"codes", "CODES", output::Audience::Programs},
                                             {"code_names", "CODES", output::Audience::People},
                                             {"tags", "TAGS"}});
    cells.insert(cells.end(), {detail.codes_and_tags_enabled, names_of(detail.offered_primary),
                               names_of(detail.offered_secondary), session.conclusion.has_value()});
    if (const auto& conclusion = session.conclusion) {
        nlohmann::ordered_json codes = nlohmann::ordered_json::array();
        output::Strings code_names;
        for (const ConcludedCode& code : conclusion->codes) {
            codes.push_back(
                {{"id", code.code_id}, {"type", to_string(code.type)}, {"name", code.name}});
            code_names.push_back(fmt::format("{} ({})", code.name, to_string(code.type)));
        }
        cells.insert(cells.end(),
                     {time_cell(conclusion->at), conclusion->user, text_cell(conclusion->via),
                      time_cell(conclusion->by_default), conclusion->retroactive,
                      output::RawJson{codes.dump()}, code_names, conclusion->tags});
    } else {
        cells.insert(cells.end(),
                     {output::Cell(), output::Cell(), output::Cell(), output::Cell(),
                      output::Cell(), output::RawJson{"[]"}, output::Strings{}, output::Strings{}});
    }
    rows.add(std::move(cells));
    return rows;
}

struct ImportArgs {
    std::string file;
    std::string input_format;
    bool skip_invalid = false;
};

std::string summary(const sessions::ImportReport& report) {
    return fmt::format("{} rows: {} new, {} completed, {} unchanged, {} invalid", report.rows,
                       report.inserted, report.completed, report.unchanged, report.invalid);
}

Result import(const WriteContext& context, const ImportArgs& args) {
    sessions::ImportOptions options;
    options.source = args.file == "-" ? "<stdin>" : args.file;
    options.skip_invalid = args.skip_invalid;
    options.format = input_format(args.file, args.input_format);
    std::ifstream file;
    if (args.file != "-") {
        file = open_input_file(args.file);
    }
    std::istream& in = args.file == "-" ? std::cin : file;

    // Progress on a terminal: rows and rate, and for a file (whose size is
    // known) how far along and about how long is left.
    std::error_code size_error;
    const auto total_bytes =
        args.file == "-" ? std::uintmax_t{0} : std::filesystem::file_size(args.file, size_error);
    // Rows of the call system's exports take about 100 bytes.
    options.expected_rows = size_error ? 0 : static_cast<std::size_t>(total_bytes / 100);
    const auto started = std::chrono::steady_clock::now();
    const auto progress = [&](const sessions::Progress& p) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::string line = fmt::format("{} rows, {:.0f} rows/s", p.rows,
                                       seconds > 0 ? static_cast<double>(p.rows) / seconds : 0.0);
        if (total_bytes > 0 && !size_error && p.bytes > 0) {
            const double done = static_cast<double>(p.bytes) / static_cast<double>(total_bytes);
            line += fmt::format(", {:.0f}%", done * 100);
            if (done > 0.01 && done < 1) {
                line += fmt::format(", about {:.0f} s left", seconds / done - seconds);
            }
        }
        context.console.status(line);
    };
    const sessions::ImportReport report = sessions::import_sessions(
        context.tx, context.audit, context.actor, context.identity, in, options, progress);
    context.console.end_status();

    output::Rows rows;
    rows.columns = {{"source", "SOURCE"},       {"rows", "ROWS"},           {"inserted", "NEW"},
                    {"completed", "COMPLETED"}, {"unchanged", "UNCHANGED"}, {"invalid", "INVALID"}};
    rows.add(
        {options.source, static_cast<std::int64_t>(report.rows),
         static_cast<std::int64_t>(report.inserted), static_cast<std::int64_t>(report.completed),
         static_cast<std::int64_t>(report.unchanged), static_cast<std::int64_t>(report.invalid)});
    Result result = Result::record(std::move(rows));
    for (const std::string& column : report.ignored_columns) {
        result.notes.push_back(fmt::format("ignored column \"{}\"", column));
    }
    add_row_problems(result, options.source, report.problems, report.invalid);
    if (report.invalid == 0) {
        result.notes.push_back("imported " + summary(report));
    } else if (args.skip_invalid) {
        // Asked for: the valid rows are kept, so the import succeeded (a
        // command never fails after it has committed); the rows above and the
        // INVALID count say what was left out.
        result.warnings.push_back(
            fmt::format("skipped {} invalid rows; the others are imported", report.invalid));
        result.notes.push_back("imported " + summary(report));
    } else {
        result.exit_status = 65;
        result.rollback = true;
        result.rows.reset();
        result.error = fmt::format("{} of {} rows are invalid; nothing was imported",
                                   report.invalid, report.rows);
        result.notes.push_back("fix the rows, or import the valid ones with --skip-invalid");
    }
    return result;
}

struct AddArgs {
    sessions::RawSession raw;
    std::vector<std::string> context; ///< --context NAME=VALUE
};

struct ListArgs {
    bool mine = false;
    bool open = false;
    bool concluded = false;
    bool overdue = false;
    std::string service;
    std::string since;
    std::int64_t limit = 0;
    std::vector<std::string> columns; ///< --columns: the columns to show, by key
};

/// The after-call work deadline of each session (its call's end plus its
/// service's deadline), for the sessions that are past it.
void add_deadlines(store::ReadTransaction& tx, output::Rows& rows,
                   const std::vector<Session>& sessions) {
    rows.columns.push_back({"deadline_at", "DEADLINE"});
    sessions::Deadlines deadlines(tx);
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        rows.rows[i].push_back(time_cell(deadlines.deadline(sessions[i])));
    }
}

/// Sessions concluded by a sweep, as rows.
output::Rows swept_rows(const std::vector<Session>& swept) {
    output::Rows rows;
    rows.columns = {{"service", "SERVICE"},
                    {"id", "ID"},
                    {"user", "USER"},
                    {"ended_at", "ENDED"},
                    {"deadline_at", "DEADLINE"},
                    {"primary", "PRIMARY"},
                    {"secondary", "SECONDARY"}};
    for (const Session& session : swept) {
        output::Strings primary;
        output::Strings secondary;
        if (session.conclusion) {
            for (const ConcludedCode& code : session.conclusion->codes) {
                (code.type == CodeType::Primary ? primary : secondary).push_back(code.name);
            }
        }
        const auto& deadline = session.conclusion ? session.conclusion->by_default : std::nullopt;
        rows.add({session.service_name, session.external_id, session.user,
                  time_cell(session.ended_at),
                  deadline ? output::Cell(timefmt::to_utc_string(*deadline)) : output::Cell(),
                  primary, secondary});
    }
    return rows;
}

struct SweepArgs {
    std::string service;
    bool dry_run = false;
    /// What the batches committed so far concluded, as rows, and what the one
    /// being written concludes (replaced when it is run again).
    output::Rows committed = swept_rows({});
    output::Rows pending = swept_rows({});
    int pending_batch = -1;
    /// The store id the next batch starts after: the last one committed.
    std::int64_t committed_last_id = 0;
    std::int64_t pending_last_id = 0;
};

Result list(const ReadContext& context, const ListArgs& args) {
    sessions::ListFilter filter;
    filter.mine = args.mine;
    if (args.open || args.concluded) {
        filter.concluded = args.concluded;
    }
    filter.service = given(args.service);
    if (!args.since.empty()) {
        filter.since = timefmt::parse_date_or_timestamp(args.since);
        if (!filter.since) {
            throw Error(ErrorKind::Usage,
                        fmt::format("--since \"{}\" is not a date or time", args.since),
                        "use YYYY-MM-DD (UTC) or an RFC 3339 time such as 2026-11-26T09:00:00Z");
        }
    }
    if (args.limit > 0) {
        filter.limit = args.limit;
    }
    if (args.overdue) {
        filter.overdue_at = context.now;
    }
    const std::vector<Session> found = sessions::list(context.tx, context.actor, filter);
    services::Features features(context.tx);
    sessions::CallFields fields(context.actor, features);
    std::vector<std::string> context_fields;
    for (const std::string& column : args.columns) {
        if (column.starts_with("context.")) {
            context_fields.push_back(column.substr(std::string_view("context.").size()));
        }
    }
    output::Rows rows = session_rows(found, directory::Callers(context.tx, features, found), fields,
                                     context::Shown(context.tx, features, found), context_fields);
    if (args.overdue) {
        add_deadlines(context.tx, rows, found);
    }
    if (!args.columns.empty()) {
        rows.select(args.columns);
    }
    return Result::list(std::move(rows));
}

struct ConcludeArgs {
    sessions::ConcludeRequest request;
    bool explain = false; ///< the guided menus say why each suggestion is made
};

/// The suggestions for a session as rows: each suggested code of each list,
/// then the tags in use, with why.
output::Rows suggestion_rows(const suggestions::Suggestions& found, const std::string& service) {
    output::Rows rows;
    rows.columns = {
        {"kind", "KIND"}, {"name", "NAME"}, {"sessions", "SESSIONS"}, {"reason", "WHY"}};
    for (const auto& [kind, list] :
         {std::pair{"primary", &found.primary}, std::pair{"secondary", &found.secondary}}) {
        for (const suggestions::CodeSuggestion& code : *list) {
            rows.add({std::string(kind), code.code.name,
                      code.by_caller > 0 ? code.by_caller : code.this_month, code.reason});
        }
    }
    for (const suggestions::TagSuggestion& tag : found.tags) {
        rows.add(
            {std::string("tag"), tag.tag, tag.sessions,
             fmt::format("used in {}{} concluded session{} {} in the last {} days",
                         found.whole_service ? "" : "your ", tag.sessions,
                         tag.sessions == 1 ? "" : "s",
                         (found.whole_service ? "of " : "in ") + service, suggestions::tag_days)});
    }
    return rows;
}

/// Numbers picked from a menu of `count` items ("1 3", "1,3"); nullopt when
/// the answer holds anything else.
std::optional<std::vector<std::size_t>> parse_picks(const std::string& answer, std::size_t count) {
    std::vector<std::size_t> picks;
    std::string token;
    const auto take = [&]() {
        if (token.empty()) {
            return true;
        }
        const bool digits =
            std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (!digits || token.size() > 4) {
            return false;
        }
        const std::size_t n = std::stoul(token);
        token.clear();
        if (n < 1 || n > count) {
            return false;
        }
        if (std::find(picks.begin(), picks.end(), n - 1) == picks.end()) {
            picks.push_back(n - 1);
        }
        return true;
    };
    for (const char c : answer) {
        if (c == ' ' || c == ',' || c == '\t') {
            if (!take()) {
                return std::nullopt;
            }
        } else {
            token.push_back(c);
        }
    }
    if (!take()) {
        return std::nullopt;
    }
    return picks;
}

/// Asks until the answer is a valid pick from `count` items. Empty: none.
/// nullopt: the input ended (the person left).
std::optional<std::vector<std::size_t>> ask_picks(Console& console, const std::string& question,
                                                  std::size_t count, bool single) {
    while (true) {
        const auto answer = console.ask(question);
        if (!answer) {
            return std::nullopt;
        }
        const auto picks = parse_picks(*answer, count);
        if (picks && (!single || picks->size() <= 1)) {
            return picks;
        }
        console.say(single ? fmt::format("Please give one number from 1 to {}.", count)
                           : fmt::format("Please give numbers from 1 to {}, e.g. 1 3.", count));
    }
}

/// Each value of a repeatable code option, split as service apply splits its lists.
std::vector<std::string> split_lists(const std::vector<std::string>& values) {
    std::vector<std::string> items;
    for (const std::string& value : values) {
        for (std::string& item : split_list(value)) {
            items.push_back(std::move(item));
        }
    }
    return items;
}

/// A result that stops the guided conclusion without writing: the person
/// cancelled, or had nothing to conclude.
std::optional<Result> cancelled(std::string why) {
    Result result;
    result.exit_status = exit_cancelled;
    result.notes.push_back(std::move(why));
    return result;
}

/// The sessions to choose from, as a table: which call, and whether it is still on.
std::string session_menu(const std::vector<Session>& sessions, const directory::Callers& callers) {
    output::Rows rows;
    rows.columns = {
        {"n", "#"},         {"id", "SESSION"},   {"service", "SERVICE"}, {"started", "STARTED"},
        {"ended", "ENDED"}, {"caller", "CALLER"}};
    const bool directory = any_caller_shown(callers, sessions);
    if (directory) {
        rows.columns.push_back({"who", "WHO"});
    }
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const Session& s = sessions[i];
        std::vector<output::Cell> cells = {static_cast<std::int64_t>(i + 1),
                                           s.external_id,
                                           s.service_name,
                                           timefmt::to_utc_string(s.started_at),
                                           s.ended_at ? timefmt::to_utc_string(*s.ended_at)
                                                      : std::string("active"),
                                           s.caller};
        if (directory) {
            cells.push_back(callers.shown(s) ? output::Cell(caller_summary(callers, s))
                                             : output::Cell());
        }
        rows.add(std::move(cells));
    }
    std::ostringstream table;
    output::render_table(table, rows, output::Shape::List, output::Style{});
    return table.str();
}

/// The most sessions the menu offers; older ones are concluded by id.
constexpr std::int64_t menu_size = 30;

/// The guided conclusion: which session, which codes, which tags, and a last
/// confirmation of exactly what will be stored. Fills `request`; returns a
/// result to stop without writing (exit 130 when the person cancels).
std::optional<Result> guide(const ReadContext& context, sessions::ConcludeRequest& request,
                            bool explain) {
    Console& console = context.console;
    // Until the person confirms, Ctrl-C cancels; from then on it interrupts the write.
    const Console::Questions questions;
    std::optional<Session> picked; // from the menu
    services::Features features(context.tx);
    if (request.session.empty()) {
        const std::vector<Session> open =
            sessions::concludable_sessions(context.tx, context.actor, menu_size);
        if (open.empty()) {
            throw Error(ErrorKind::NotFound, "you have no open sessions that can be concluded",
                        "see them all with 'nimbus-codes session list --mine'");
        }
        console.heading("Your open sessions, newest first:");
        std::istringstream table(
            session_menu(open, directory::Callers(context.tx, features, open)));
        for (std::string line; std::getline(table, line);) {
            console.say("  " + line);
        }
        const auto pick =
            ask_picks(console, fmt::format("Session [1-{}, Enter to cancel]: ", open.size()),
                      open.size(), true);
        if (!pick || pick->empty()) {
            return cancelled("cancelled; nothing was written");
        }
        picked = open[pick->front()];
        // Named as the command line would name it: the write resolves it again.
        request.session = sessions::references(context.tx, context.actor, {*picked}).front();
    }
    // A session that cannot be concluded says why before the first question.
    const sessions::Detail detail =
        sessions::concludable(context.tx, context.actor, request.session);
    if (picked && detail.session.id != picked->id) {
        throw Error(ErrorKind::Usage,
                    fmt::format("session \"{}\" of service \"{}\" cannot be named: \"{}\" is "
                                "the id of another session",
                                picked->external_id, picked->service_name, request.session));
    }
    if (const directory::Callers callers(context.tx, features, {detail.session});
        callers.shown(detail.session)) {
        const std::string_view number = text::trim(detail.session.caller);
        console.say(fmt::format("Caller: {}{}{}", number, number.empty() ? "" : " ",
                                caller_summary(callers, detail.session)));
    }
    if (const context::Shown shown(context.tx, features, {detail.session});
        shown.shown(detail.session)) {
        const auto values = shown.values(detail.session);
        console.say("Context: " +
                    (values.empty() ? std::string("(none)") : context_summary(values)));
    }
    if (const auto history =
            sessions::history(context.tx, context.actor, features, detail.session)) {
        const Session& call = detail.session;
        std::string times;
        if (call.times.waiting_seconds) {
            times += fmt::format(" (waited {}",
                                 duration_text(std::chrono::seconds(*call.times.waiting_seconds)));
        }
        if (call.times.talk_seconds) {
            times += fmt::format("{}talked {}", times.empty() ? " (" : ", ",
                                 duration_text(std::chrono::seconds(*call.times.talk_seconds)));
        }
        times += times.empty() ? "" : ")";
        console.say(fmt::format("Call: {}, started {}, {}", to_string(call.direction),
                                timefmt::to_utc_string(call.started_at),
                                call.ended_at ? duration_text(*call.ended_at - call.started_at) +
                                                    times + ", " + detail.outcome_group
                                              : std::string("still active")));
        if (history->earlier_sessions > 0) {
            console.say(fmt::format(
                "Earlier: {} session{} with this caller{}", history->earlier_sessions,
                history->earlier_sessions == 1 ? "" : "s",
                history->previous
                    ? "; the last concluded: " + conclusion_text(*history->previous->conclusion)
                    : std::string()));
        }
    }
    const suggestions::Suggestions suggested =
        suggestions::suggest(context.tx, context.actor, detail, context.now);
    const auto choose = [&](const std::vector<Code>& offered, const char* kind,
                            const std::vector<suggestions::CodeSuggestion>& marked,
                            std::vector<Code>& chosen) -> bool {
        if (offered.empty()) {
            return true;
        }
        console.heading(fmt::format("{} codes of {}{}:", kind, detail.session.service_name,
                                    marked.empty() ? "" : " (* suggested)"));
        for (std::size_t i = 0; i < offered.size(); ++i) {
            const auto suggestion =
                std::find_if(marked.begin(), marked.end(), [&](const auto& candidate) {
                    return candidate.code.id == offered[i].id;
                });
            std::string why;
            if (suggestion != marked.end()) {
                why = explain ? "  * " + suggestion->reason : "  *";
            }
            console.say(fmt::format("  {:>2}  {}{}{}", i + 1, offered[i].name,
                                    offered[i].description.empty() ? std::string{}
                                                                   : " - " + offered[i].description,
                                    why));
        }
        const auto picks =
            ask_picks(console, fmt::format("{} codes (numbers, e.g. 1 3; Enter to skip): ", kind),
                      offered.size(), false);
        if (!picks) {
            return false;
        }
        for (const std::size_t i : *picks) {
            chosen.push_back(offered[i]);
        }
        return true;
    };
    std::vector<Code> primary;
    std::vector<Code> secondary;
    if (!choose(detail.offered_primary, "Primary", suggested.primary, primary) ||
        !choose(detail.offered_secondary, "Secondary", suggested.secondary, secondary)) {
        return cancelled("cancelled; nothing was written");
    }
    // Tags as they will be stored: trimmed, spaces collapsed, the first
    // spelling of each kept; a tag that breaks a rule is asked for again.
    if (!suggested.tags.empty()) {
        std::string used;
        for (std::size_t i = 0; i < suggested.tags.size() && i < 8; ++i) {
            used += (i == 0 ? "" : ", ") + suggested.tags[i].tag;
        }
        console.say(fmt::format("Tags used in {} lately: {}", detail.session.service_name, used));
    }
    std::vector<std::string> tags;
    while (true) {
        const auto answer = console.ask("Tags (comma-separated; Enter for none): ");
        if (!answer) {
            return cancelled("cancelled; nothing was written");
        }
        try {
            std::vector<std::string> given_tags = split_list(*answer);
            std::erase_if(given_tags, [](const std::string& t) { return text::trim(t).empty(); });
            tags = tags::clean_tags(given_tags);
        } catch (const Error& e) {
            console.say(fmt::format("{}; please give the tags again.", e.what()));
            continue;
        }
        // A new spelling of a tag in use splits what reports count together.
        bool cancelled_here = false;
        for (std::string& tag : tags) {
            const auto used = suggestions::near_miss(suggested.tags, tag);
            if (!used) {
                continue;
            }
            const auto reply =
                console.ask(fmt::format("Tag \"{}\": did you mean \"{}\"? [Y/n] ", tag, *used));
            if (!reply) {
                cancelled_here = true;
                break;
            }
            const std::string_view choice = text::trim(*reply);
            if (choice.empty() || choice == "y" || choice == "Y" || choice == "yes") {
                tag = *used;
            }
        }
        if (cancelled_here) {
            return cancelled("cancelled; nothing was written");
        }
        try {
            tags = tags::clean_tags(tags); // a corrected tag may now repeat another
            break;
        } catch (const Error& e) {
            console.say(fmt::format("{}; please give the tags again.", e.what()));
        }
    }
    if (primary.empty() && secondary.empty() && tags.empty()) {
        return cancelled("no code or tag chosen; nothing was written");
    }

    const auto names = [](const std::vector<Code>& codes) {
        std::string text;
        for (const Code& code : codes) {
            text += (text.empty() ? "" : ", ") + code.name;
        }
        return text.empty() ? std::string("(none)") : text;
    };
    std::string tag_text;
    for (const std::string& tag : tags) {
        tag_text += (tag_text.empty() ? "" : ", ") + tag;
    }
    console.heading(fmt::format("Conclude session {} ({}):", detail.session.external_id,
                                detail.session.service_name));
    console.say("  primary:   " + names(primary));
    console.say("  secondary: " + names(secondary));
    console.say("  tags:      " + (tag_text.empty() ? std::string("(none)") : tag_text));
    console.say("A conclusion is final: it cannot be changed afterwards.");
    const auto confirm = console.ask("Conclude? [y/N] ");
    const std::string answer(confirm ? text::trim(*confirm) : std::string_view{});
    if (answer != "y" && answer != "Y" && answer != "yes") {
        return cancelled("not confirmed; nothing was written");
    }
    // What was confirmed is what is written: codes by id, tags as shown.
    for (const Code& code : primary) {
        request.primary.push_back(fmt::format("id:{}", code.id));
    }
    for (const Code& code : secondary) {
        request.secondary.push_back(fmt::format("id:{}", code.id));
    }
    request.tags = tags;
    return std::nullopt;
}

} // namespace

void add_session_commands(CLI::App& app, Registry& registry) {
    CLI::App* session = add_noun(app, "session", "Call sessions and their conclusions");

    auto import_args = std::make_shared<ImportArgs>();
    CLI::App* import_command = session->add_subcommand(
        "import", "Import sessions from the call system (CSV with a header, or JSON Lines)");
    import_command->add_option("file", import_args->file, "File to read, or - for stdin")
        ->required()
        ->type_name("FILE");
    import_command
        ->add_option("--input-format", import_args->input_format,
                     "Format (default: by the file's extension)")
        ->check(one_of({"csv", "jsonl"}))
        ->type_name("csv|jsonl");
    import_command->add_flag("--skip-invalid", import_args->skip_invalid,
                             "Import the valid rows and report the others (exit 65 if any)");
    Command import_sessions{
        policy::Action::ImportSessions,
        WriteBody([import_args](const WriteContext& c) { return import(c, *import_args); })};
    import_sessions.repeatable = [import_args] {
        return import_args->file != "-";
    };
    import_sessions.inputs = [import_args] {
        return import_args->file == "-" ? std::vector<std::string>{}
                                        : std::vector{import_args->file};
    };
    registry.add(import_command, std::move(import_sessions));

    auto add_args = std::make_shared<AddArgs>();
    sessions::RawSession& raw = add_args->raw;
    raw.direction = "inbound";
    CLI::App* add = session->add_subcommand("add", "Add one session");
    add->add_option("--id", raw.id, "The call system's session id")->required()->type_name("ID");
    add->add_option("--service", raw.service, "Service")->required()->type_name("SERVICE");
    add->add_option("--user", raw.user, "Login name of the agent")->required()->type_name("USER");
    add->add_option("--started-at", raw.started_at, "Start, ISO 8601 with an offset or Z")
        ->required()
        ->type_name("TIME");
    add->add_option("--ended-at", raw.ended_at, "End (omit while the call is active)")
        ->type_name("TIME");
    add->add_option("--direction", raw.direction, "Direction")
        ->check(one_of({"inbound", "outbound"}))
        ->capture_default_str()
        ->type_name("inbound|outbound");
    add->add_option("--outcome", raw.outcome, "Outcome, once the call has ended")
        ->type_name("OUTCOME");
    add->add_option("--caller", raw.caller, "Caller")->type_name("TEXT");
    add->add_option("--waiting-seconds", raw.waiting_seconds,
                    "How long the call waited to be answered, once it has ended")
        ->type_name("SECONDS");
    add->add_option("--talk-seconds", raw.talk_seconds, "How long it was talked, once it has ended")
        ->type_name("SECONDS");
    add->add_option("--context", add_args->context,
                    "A context value of the call (repeatable), as NAME=VALUE")
        ->type_name("NAME=VALUE");
    registry.add(
        add,
        Command{policy::Action::ImportSessions, WriteBody([add_args](const WriteContext& c) {
                    sessions::RawSession session_row = add_args->raw;
                    for (const std::string& pair : add_args->context) {
                        const std::size_t equals = pair.find('=');
                        if (equals == std::string::npos) {
                            throw Error(ErrorKind::Usage,
                                        fmt::format("--context \"{}\" is not NAME=VALUE", pair));
                        }
                        session_row.context.emplace_back(pair.substr(0, equals),
                                                         pair.substr(equals + 1));
                    }
                    const sessions::Added added =
                        sessions::add_session(c.tx, c.audit, c.actor, c.identity, session_row);
                    services::Features features(c.tx);
                    sessions::CallFields fields(c.actor, features);
                    // What was stored; who is calling is for session list and show.
                    Result result =
                        Result::record(session_rows({added.session}, directory::Callers(), fields));
                    const std::string id = added.session.external_id;
                    switch (added.outcome) {
                    case sessions::Stored::Inserted:
                        result.notes.push_back("added session " + id);
                        break;
                    case sessions::Stored::Completed:
                        result.notes.push_back("completed session " + id);
                        break;
                    case sessions::Stored::Unchanged:
                        result.notes.push_back("unchanged: session " + id);
                        break;
                    }
                    return result;
                })});

    auto list_args = std::make_shared<ListArgs>();
    CLI::App* list_command = session->add_subcommand("list", "List sessions, newest first");
    list_command->add_flag("--mine", list_args->mine, "Only my own sessions");
    CLI::Option* open = list_command->add_flag("--open", list_args->open, "Only open sessions");
    CLI::Option* concluded =
        list_command->add_flag("--concluded", list_args->concluded, "Only concluded sessions")
            ->excludes(open);
    list_command
        ->add_flag("--overdue", list_args->overdue,
                   "Only open sessions past their after-call work deadline, the longest "
                   "overdue first")
        ->excludes(open)
        ->excludes(concluded);
    list_command->add_option("--service", list_args->service, "Only this service")
        ->type_name("SERVICE");
    list_command->add_option("--since", list_args->since, "Only sessions started since")
        ->type_name("DATE");
    list_command->add_option("--limit", list_args->limit, "At most N sessions")
        ->check(whole_number(1, 1'000'000'000))
        ->type_name("N");
    list_command
        ->add_option("--columns", list_args->columns,
                     "Only these columns, in this order (id,started_at,context.Reason)")
        ->delimiter(',')
        ->type_name("KEYS");
    registry.add(list_command,
                 Command{policy::Action::ReadSessions, ReadBody([list_args](const ReadContext& c) {
                             return list(c, *list_args);
                         })});

    auto show_id = std::make_shared<std::string>();
    CLI::App* show = session->add_subcommand(
        "show", "Show a session, the codes its service offers, and its conclusion");
    show->add_option("id", *show_id,
                     "Session id, or SERVICE/ID where the id is in several services")
        ->required()
        ->type_name("ID");
    registry.add(
        show, Command{policy::Action::ReadSessions, ReadBody([show_id](const ReadContext& c) {
                          const sessions::Detail detail = sessions::show(c.tx, c.actor, *show_id);
                          services::Features features(c.tx);
                          sessions::CallFields fields(c.actor, features);
                          return Result::record(detail_rows(
                              detail, directory::Callers(c.tx, features, {detail.session}), fields,
                              context::Shown(c.tx, features, {detail.session}),
                              sessions::history(c.tx, c.actor, features, detail.session)));
                      })});

    auto conclude_args = std::make_shared<ConcludeArgs>();
    sessions::ConcludeRequest& request = conclude_args->request;
    CLI::App* conclude = session->add_subcommand(
        "conclude", "Conclude a session with codes and tags, once and for all");
    conclude
        ->add_option("id", request.session,
                     "Session id, or SERVICE/ID where the id is in several services (on a "
                     "terminal, leave it out to be guided)")
        ->type_name("ID");
    conclude
        ->add_option("--primary", request.primary,
                     "Primary codes: repeatable, or CODE,CODE... (name a code with a comma "
                     "in it as id:N)")
        ->type_name("CODE");
    conclude
        ->add_option("--secondary", request.secondary,
                     "Secondary codes: repeatable, or CODE,CODE...")
        ->type_name("CODE");
    conclude->add_option("--tag", request.tags, "A free tag (repeatable)")->type_name("TAG");
    conclude->add_flag("--explain", conclude_args->explain,
                       "Guided: say why each suggested code is suggested");
    Command conclude_command{
        policy::Action::ConcludeSession, WriteBody([conclude_args](const WriteContext& c) {
            sessions::ConcludeRequest split = conclude_args->request;
            split.primary = split_lists(split.primary);
            split.secondary = split_lists(split.secondary);
            const sessions::Detail detail = sessions::conclude(c.tx, c.audit, c.actor, split);
            // What was stored; who is calling is for session show.
            services::Features features(c.tx);
            sessions::CallFields fields(c.actor, features);
            Result result = Result::record(detail_rows(detail, directory::Callers(), fields));
            result.notes.push_back(fmt::format("concluded session {}; a conclusion is final",
                                               detail.session.external_id));
            return result;
        })};
    // Without an id or without codes and tags: guided on a terminal, refused elsewhere.
    conclude_command.wants_prompt = [conclude_args] {
        const sessions::ConcludeRequest& r = conclude_args->request;
        return r.session.empty() || (r.primary.empty() && r.secondary.empty() && r.tags.empty());
    };
    conclude_command.prompt = [conclude_args](const ReadContext& c) -> std::optional<Result> {
        sessions::ConcludeRequest& r = conclude_args->request;
        if (!c.console.interactive()) {
            throw Error(ErrorKind::Usage,
                        r.session.empty() ? "missing: the session id (and its codes or tags)"
                                          : "missing: at least one --primary, --secondary or --tag",
                        "give them on the command line, or run on a terminal to be guided");
        }
        return guide(c, r, conclude_args->explain);
    };
    registry.add(conclude, std::move(conclude_command));

    auto sweep_args = std::make_shared<SweepArgs>();
    CLI::App* sweep = session->add_subcommand(
        "sweep", "Conclude every session past its after-call work deadline with its service's "
                 "default codes, in its agent's name (a batch at a time)");
    sweep->add_option("--service", sweep_args->service, "Only this service")->type_name("SERVICE");
    sweep->add_flag("--dry-run", sweep_args->dry_run,
                    "List what would be concluded, and conclude nothing");
    registry.add(
        sweep,
        Command{
            policy::Action::SweepSessions, WriteBody([sweep_args](const WriteContext& c) {
                SweepArgs& state = *sweep_args;
                sessions::SweepOptions options;
                options.service = given(state.service);
                if (state.dry_run) {
                    options.limit = std::numeric_limits<std::int64_t>::max();
                    const std::vector<Session> due =
                        sessions::plan_sweep(c.tx, c.actor, options, c.audit.now());
                    Result result = Result::list(swept_rows(due));
                    result.rollback = true;
                    result.notes.push_back(
                        fmt::format("dry run: {} {} past the deadline; nothing was concluded",
                                    due.size(), due.size() == 1 ? "session" : "sessions"));
                    return result;
                }
                // A batch run again after a failed commit replaces its earlier attempt.
                if (state.pending_batch != c.committed_batches) {
                    std::move(state.pending.rows.begin(), state.pending.rows.end(),
                              std::back_inserter(state.committed.rows));
                    state.committed_last_id = state.pending_last_id;
                }
                // Each batch walks on from the last: one pass over the sessions.
                options.after_id = state.committed_last_id;
                const std::vector<Session> swept = sessions::sweep(c.tx, c.audit, c.actor, options);
                state.pending = swept_rows(swept);
                state.pending_last_id = swept.empty() ? state.committed_last_id : swept.back().id;
                state.pending_batch = c.committed_batches;
                Result result;
                result.again = swept.size() == options.limit;
                if (result.again) {
                    return result; // only the last batch's result is printed
                }
                output::Rows all = state.committed;
                all.rows.insert(all.rows.end(), state.pending.rows.begin(),
                                state.pending.rows.end());
                const std::size_t count = all.rows.size();
                result = Result::list(std::move(all));
                result.notes.push_back(
                    count == 0 ? "nothing to sweep: no session is past its deadline"
                               : fmt::format("concluded {} {} by default; a conclusion is final",
                                             count, count == 1 ? "session" : "sessions"));
                return result;
            })});

    auto suggest_id = std::make_shared<std::string>();
    CLI::App* suggest = session->add_subcommand(
        "suggest", "Show the codes and tags suggested for concluding a session, and why");
    suggest
        ->add_option("id", *suggest_id,
                     "Session id, or SERVICE/ID where the id is in several services")
        ->required()
        ->type_name("ID");
    registry.add(
        suggest,
        Command{policy::Action::ConcludeSession, ReadBody([suggest_id](const ReadContext& c) {
                    const sessions::Detail detail =
                        sessions::concludable(c.tx, c.actor, *suggest_id);
                    return Result::list(suggestion_rows(
                        suggestions::suggest(c.tx, c.actor, detail, c.now), detail.service.name));
                })});
}

} // namespace nimbus::cli
