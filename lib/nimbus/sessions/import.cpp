// session import and session add: reading rows, checking them, storing them.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/context/context.hpp>
#include <nimbus/directory/directory.hpp>
#include <nimbus/error.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/rows.hpp>
#include <nimbus/sessions/sessions.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::sessions {
namespace {

constexpr std::size_t max_id_length = 128;
constexpr std::size_t max_caller_length = 256;
/// The longest waiting or talk time the store takes: 366 days (schema 12).
constexpr std::int64_t max_timed_seconds = 31'622'400;

/// Why a free-text field cannot be stored, or nullopt when it can.
std::optional<std::string> unfit_text(std::string_view field, std::string_view value,
                                      std::size_t max_length) {
    if (const std::size_t length = text::code_points(value); length > max_length) {
        return fmt::format("\"{}\" is {} characters long; the limit is {}", field, length,
                           max_length);
    }
    if (value.find_first_of("\r\n") != std::string_view::npos) {
        return fmt::format("\"{}\" contains a line break", field);
    }
    if (text::has_control_characters(value)) {
        return fmt::format("\"{}\" contains a control character", field);
    }
    return std::nullopt;
}

/// The time in a started_at or ended_at field, or why there is none. Calls
/// happen from timefmt::earliest_call_time up to timefmt::call_times_end.
std::variant<Timestamp, std::string> call_time(std::string_view field, std::string_view value) {
    const auto time = timefmt::parse_timestamp(value);
    if (!time) {
        return fmt::format("{} \"{}\" is not an ISO 8601 time with an offset or Z", field, value);
    }
    if (*time < timefmt::earliest_call_time || *time >= timefmt::call_times_end) {
        return fmt::format("{} \"{}\" is outside the times calls can have, {} up to {}", field,
                           value, timefmt::to_utc_string(timefmt::earliest_call_time),
                           timefmt::to_utc_string(timefmt::call_times_end));
    }
    return *time;
}

/// Checks rows against the store and the identity file, with caches, so that
/// a million rows cost a million map lookups, not a million queries.
class RowChecker {
public:
    RowChecker(store::ReadTransaction& tx, const Actor& actor, const identity::Identity& identity)
        : tx_(tx)
        , actor_(actor)
        , importable_(actor, policy::Action::ImportSessions)
        , identity_(identity) {
        for (OutcomeInfo& outcome : tx.outcomes()) {
            std::string name = outcome.name;
            outcomes_.emplace(std::move(name), std::move(outcome));
        }
    }

    /// The call data of a valid row, or why the row is invalid. Throws
    /// PermissionDenied for a service outside the actor's scope.
    std::variant<CallData, std::string> check(const RawSession& raw) {
        // Every field is UTF-8 before anything is read from it: text that is
        // not would be cut or mismatched further on.
        for (const auto& [field, value] :
             {std::pair<std::string_view, const std::string&>{"id", raw.id},
              {"service", raw.service},
              {"user", raw.user},
              {"direction", raw.direction},
              {"started_at", raw.started_at},
              {"ended_at", raw.ended_at},
              {"outcome", raw.outcome},
              {"caller", raw.caller},
              {"waiting_seconds", raw.waiting_seconds},
              {"talk_seconds", raw.talk_seconds}}) {
            if (!text::is_valid_utf8(value)) {
                return fmt::format("\"{}\" {}", field, text::describe_invalid_utf8(value));
            }
        }
        CallData call;
        call.external_id = std::string(text::trim(raw.id));
        if (call.external_id.empty()) {
            return std::string("\"id\" is empty");
        }
        if (auto why = unfit_text("id", call.external_id, max_id_length)) {
            return std::move(*why);
        }
        const Service* service = find_service(raw.service);
        if (service == nullptr) {
            return fmt::format("service \"{}\" does not exist", text::trim(raw.service));
        }
        call.service_id = service->id;
        call.user = std::string(text::trim(raw.user));
        if (identity_.find(call.user) == nullptr) {
            return fmt::format("user \"{}\" is not in the identity file", call.user);
        }
        const auto direction = parse_direction(text::trim(raw.direction));
        if (!direction) {
            return fmt::format("direction \"{}\" is not inbound or outbound",
                               text::trim(raw.direction));
        }
        call.direction = *direction;
        auto started = call_time("started_at", text::trim(raw.started_at));
        if (auto* why = std::get_if<std::string>(&started)) {
            return std::move(*why);
        }
        call.started_at = std::get<Timestamp>(started);
        if (!text::trim(raw.ended_at).empty()) {
            auto ended = call_time("ended_at", text::trim(raw.ended_at));
            if (auto* why = std::get_if<std::string>(&ended)) {
                return std::move(*why);
            }
            if (std::get<Timestamp>(ended) < call.started_at) {
                return std::string("ended_at is before started_at");
            }
            call.ended_at = std::get<Timestamp>(ended);
        }
        const std::string outcome(text::trim(raw.outcome));
        if (!outcome.empty()) {
            const auto known = outcomes_.find(outcome);
            if (known == outcomes_.end()) {
                return fmt::format("outcome \"{}\" is not one of {}", outcome, outcome_names());
            }
            if (known->second.direction && *known->second.direction != call.direction) {
                return fmt::format("outcome \"{}\" does not occur on {} sessions", outcome,
                                   to_string(call.direction));
            }
            if (!call.ended_at) {
                return std::string("an active session (no ended_at) has no outcome yet");
            }
            call.outcome = outcome;
        } else if (call.ended_at) {
            return std::string("a session that ended needs an outcome");
        }
        call.caller = std::string(text::trim(raw.caller));
        if (auto why = unfit_text("caller", call.caller, max_caller_length)) {
            return std::move(*why);
        }
        if (auto why = check_times(raw, call)) {
            return std::move(*why);
        }
        if (auto why = check_context(raw, *service, call)) {
            return std::move(*why);
        }
        return call;
    }

    const Service& service(std::int64_t id) const { return *by_id_.at(id); }

private:
    /// Reads the row's waiting and talk time into `call`: whole seconds,
    /// known once the call has ended, and together no longer than the call.
    static std::optional<std::string> check_times(const RawSession& raw, CallData& call) {
        for (const auto& [field, text, seconds] :
             {std::tuple<std::string_view, const std::string&, std::optional<std::int64_t>&>{
                  "waiting_seconds", raw.waiting_seconds, call.times.waiting_seconds},
              {"talk_seconds", raw.talk_seconds, call.times.talk_seconds}}) {
            const std::string_view value = text::trim(text);
            if (value.empty()) {
                continue;
            }
            if (value.size() > 9 ||
                value.find_first_not_of("0123456789") != std::string_view::npos) {
                return fmt::format("{} \"{}\" is not a whole number of seconds", field, value);
            }
            seconds = std::stoll(std::string(value));
            if (*seconds > max_timed_seconds) {
                return fmt::format("{} \"{}\" is longer than 366 days", field, value);
            }
        }
        if (call.times.empty()) {
            return std::nullopt;
        }
        if (!call.ended_at) {
            return std::string(
                "an active session (no ended_at) has no waiting_seconds or talk_seconds yet");
        }
        const auto length =
            std::chrono::duration_cast<std::chrono::seconds>(*call.ended_at - call.started_at)
                .count();
        const std::int64_t timed =
            call.times.waiting_seconds.value_or(0) + call.times.talk_seconds.value_or(0);
        if (timed > length) {
            return fmt::format("waiting_seconds and talk_seconds ({} s) are longer than the call "
                               "from started_at to ended_at ({} s)",
                               timed, length);
        }
        return std::nullopt;
    }

    /// Reads the row's context values into `call`, checked against the fields
    /// its service carries; or says why they cannot be stored.
    std::optional<std::string> check_context(const RawSession& raw, const Service& service,
                                             CallData& call) {
        if (raw.context.empty()) {
            return std::nullopt;
        }
        if (!fields_) {
            fields_ = tx_.context_fields(); // read once, and only for rows with context
        }
        auto fields = service_fields_.find(service.id);
        if (fields == service_fields_.end()) {
            fields =
                service_fields_.emplace(service.id, context::fields_for(*fields_, service.ou_path))
                    .first;
        }
        for (const auto& [name, raw_value] : raw.context) {
            if (text::trim(raw_value).empty()) {
                continue; // the workflow gathered nothing for it (or for no field of this service)
            }
            if (name.empty()) {
                return std::string("\"context\" must be an object of field names and values");
            }
            const ContextField* field = context::find_field(fields->second, name);
            if (field == nullptr) {
                return fmt::format("context field \"{}\" is not defined for service \"{}\"",
                                   text::is_valid_utf8(name) ? name : "(not UTF-8)", service.name);
            }
            context::CheckedValue checked = context::check_value(*field, raw_value);
            if (!checked.problem.empty()) {
                return std::move(checked.problem);
            }
            const auto same_field = [&](const ContextValue& v) {
                return v.field_id == field->id;
            };
            if (std::any_of(call.context.begin(), call.context.end(), same_field)) {
                return fmt::format("context \"{}\" is given twice", field->name);
            }
            call.context.push_back(ContextValue{field->id, std::move(checked.value)});
        }
        std::sort(
            call.context.begin(), call.context.end(),
            [](const ContextValue& a, const ContextValue& b) { return a.field_id < b.field_id; });
        return std::nullopt;
    }

    const Service* find_service(std::string_view raw) {
        // Rows repeat the same few service names: look them up as written first.
        if (const auto seen = by_text_.find(raw); seen != by_text_.end()) {
            return checked(seen->second);
        }
        const Service* service = find_service_by_name(raw);
        by_text_.emplace(std::string(raw), service);
        return service;
    }

    const Service* checked(const Service* service) const {
        if (service != nullptr && denied_.contains(service->id)) {
            const Error denial = policy::denial(actor_, policy::Action::ImportSessions,
                                                services::scope_of(*service));
            throw Error(denial.kind(), denial.what(), denial.hint() + "; nothing was imported");
        }
        return service;
    }

    const Service* find_service_by_name(std::string_view raw) {
        const auto nfc = text::to_nfc(text::trim(raw));
        if (!nfc || nfc->empty()) {
            return nullptr;
        }
        const std::string key = names::name_key(*nfc);
        auto cached = services_.find(key);
        if (cached == services_.end()) {
            cached = services_.emplace(key, tx_.find_service(key)).first;
            if (cached->second) {
                by_id_[cached->second->id] = &*cached->second;
                if (!importable_.permits(services::scope_of(*cached->second))) {
                    denied_.insert(cached->second->id);
                }
            }
        }
        return checked(cached->second ? &*cached->second : nullptr);
    }

    std::string outcome_names() const {
        std::string names;
        for (const auto& [name, info] : outcomes_) {
            names += (names.empty() ? "" : ", ") + name;
        }
        return names;
    }

    store::ReadTransaction& tx_;
    const Actor& actor_;
    policy::Filter importable_; ///< rows of services outside it are refused
    const identity::Identity& identity_;
    std::map<std::string, OutcomeInfo, std::less<>> outcomes_;
    std::map<std::string, std::optional<Service>> services_;
    std::map<std::string, const Service*, std::less<>> by_text_;
    std::map<std::int64_t, const Service*> by_id_;
    std::set<std::int64_t> denied_;
    std::optional<std::vector<ContextField>> fields_;
    std::map<std::int64_t, std::vector<ContextField>> service_fields_; ///< by service id
};

/// What differs between a stored session (or a row met earlier) and a row
/// with the same service and id.
template <class Stored>
std::string differences(const Stored& stored, const CallData& call) {
    std::vector<std::string> fields;
    const auto time = [](const std::optional<Timestamp>& t) {
        return t ? timefmt::to_utc_string(*t) : std::string("(empty)");
    };
    if (stored.user != call.user) {
        fields.push_back(fmt::format("user {} -> {}", stored.user, call.user));
    }
    if (stored.direction != call.direction) {
        fields.emplace_back("direction");
    }
    if (stored.started_at != call.started_at) {
        fields.push_back(
            fmt::format("started_at {} -> {}", time(stored.started_at), time(call.started_at)));
    }
    if (stored.ended_at != call.ended_at) {
        fields.push_back(
            fmt::format("ended_at {} -> {}", time(stored.ended_at), time(call.ended_at)));
    }
    if (stored.outcome != call.outcome) {
        fields.push_back(fmt::format("outcome {} -> {}", stored.outcome.value_or("(empty)"),
                                     call.outcome.value_or("(empty)")));
    }
    if (stored.caller != call.caller) {
        fields.emplace_back("caller");
    }
    if (!call.times.empty()) { // a row without times says nothing about them
        const auto seconds = [](const std::optional<std::int64_t>& value) {
            return value ? std::to_string(*value) : std::string("(empty)");
        };
        for (const auto member : {&CallTimes::waiting_seconds, &CallTimes::talk_seconds}) {
            if (stored.times.*member != call.times.*member) {
                fields.push_back(fmt::format(
                    "{} {} -> {}",
                    member == &CallTimes::waiting_seconds ? "waiting_seconds" : "talk_seconds",
                    seconds(stored.times.*member), seconds(call.times.*member)));
            }
        }
    }
    if (stored.context != call.context) {
        fields.emplace_back("context");
    }
    std::string text;
    for (const std::string& f : fields) {
        text += (text.empty() ? "" : ", ") + f;
    }
    return text;
}

/// What a row does to the session with its service and id, already stored or
/// met earlier in the file: it must hold the same call data, except that an
/// active call's end (ended_at and outcome, with the times) may now be known,
/// or still be unknown in an older export; a row without times (an export
/// that has no such columns) says nothing about them. Anything else is the
/// conflict it returns. Completing is left to the caller, who knows where
/// `stored` lives.
template <class Record>
std::variant<Stored, std::string> judge(const Record& stored, const CallData& call) {
    const bool same_call = stored.user == call.user && stored.direction == call.direction &&
                           stored.started_at == call.started_at && stored.caller == call.caller &&
                           stored.context == call.context;
    if (same_call && stored.ended_at == call.ended_at && stored.outcome == call.outcome &&
        (call.times.empty() || stored.times == call.times)) {
        return Stored::Unchanged;
    }
    if (same_call && !call.ended_at) {
        return Stored::Unchanged; // an older export, from while the call was active
    }
    if (same_call && !stored.ended_at && call.ended_at) {
        return Stored::Completed;
    }
    return fmt::format("session \"{}\" is stored with other call data ({})", call.external_id,
                       differences(stored, call));
}

/// Checked rows, stored a batch at a time: one lookup and one insert per
/// batch instead of two statements per row, which on a server are two round
/// trips per row. Rows are judged in file order, so a later row of the file
/// sees what an earlier one did. A row is a session of its service: the same
/// id in another service is another session.
class Batch {
public:
    static constexpr std::size_t capacity = 1000;

    /// A row, valid (its call data) or not (why), with its line.
    struct Row {
        std::size_t line = 0;
        std::variant<CallData, std::string> checked;
    };

    using Reject = std::function<void(std::size_t line, std::string reason)>;

    Batch(store::WriteTransaction& tx, const RowChecker& checker)
        : tx_(tx)
        , checker_(checker) {}

    bool full() const { return rows_.size() >= capacity; }

    void add(std::size_t line, std::variant<CallData, std::string> checked) {
        rows_.push_back(Row{line, std::move(checked)});
    }

    /// Stores the rows, counting each in `report` or rejecting it.
    void store(ImportReport& report, const Reject& reject) {
        std::vector<std::string> ids;
        for (const Row& row : rows_) {
            if (const auto* call = std::get_if<CallData>(&row.checked)) {
                ids.push_back(call->external_id);
            }
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        // Sessions of other services with these ids come too, and are left alone.
        std::map<Key, Session> stored;
        std::vector<Session> found = tx_.find_sessions(ids);
        attach_context(found);
        for (Session& session : found) {
            Key key{session.service_id, session.external_id};
            stored.emplace(std::move(key), std::move(session));
        }
        std::vector<CallData> inserts;
        std::map<Key, std::size_t> inserted; // index in inserts
        for (Row& row : rows_) {
            if (auto* reason = std::get_if<std::string>(&row.checked)) {
                reject(row.line, std::move(*reason));
                continue;
            }
            CallData& call = std::get<CallData>(row.checked);
            Key key{call.service_id, call.external_id};
            std::variant<Stored, std::string> outcome = Stored::Inserted;
            if (const auto earlier = inserted.find(key); earlier != inserted.end()) {
                CallData& pending = inserts[earlier->second];
                outcome = judge(pending, call);
                if (outcome == std::variant<Stored, std::string>(Stored::Completed)) {
                    pending.ended_at = call.ended_at;
                    pending.outcome = call.outcome;
                    pending.times = call.times;
                }
            } else if (const auto known = stored.find(key); known != stored.end()) {
                Session& session = known->second;
                outcome = judge(session, call);
                if (outcome == std::variant<Stored, std::string>(Stored::Completed)) {
                    tx_.complete_session(session.id, *call.ended_at, *call.outcome, call.times);
                    session.ended_at = call.ended_at;
                    session.outcome = call.outcome;
                    session.times = call.times;
                }
            } else if (const Service& service = checker_.service(call.service_id);
                       service.retired() && call.started_at >= *service.retired_at) {
                // A call that began before the service was retired may arrive late.
                outcome = fmt::format("service \"{}\" was retired at {}: it takes no calls "
                                      "that began since",
                                      service.name, timefmt::to_utc_string(*service.retired_at));
            } else {
                inserted.emplace(std::move(key), inserts.size());
                inserts.push_back(std::move(call));
            }
            if (auto* conflict = std::get_if<std::string>(&outcome)) {
                reject(row.line, std::move(*conflict));
                continue;
            }
            switch (std::get<Stored>(outcome)) {
            case Stored::Inserted: ++report.inserted; break;
            case Stored::Completed: ++report.completed; break;
            case Stored::Unchanged: ++report.unchanged; break;
            }
        }
        tx_.insert_sessions(inserts);
        store_caller_numbers(inserts);
        rows_.clear();
    }

private:
    /// Reads the stored sessions' context values, to compare rows with.
    void attach_context(std::vector<Session>& sessions) {
        std::vector<std::int64_t> ids;
        std::map<std::int64_t, Session*> by_id;
        for (Session& session : sessions) {
            ids.push_back(session.id);
            by_id[session.id] = &session;
        }
        for (store::SessionContextValue& value : tx_.context_values(ids)) {
            by_id.at(value.session_id)->context.push_back(std::move(value.value));
        }
    }

    /// Stores how the new sessions' callers read as phone numbers in the
    /// directories' countries, for the store to match them to the directories.
    void store_caller_numbers(const std::vector<CallData>& inserts) {
        if (!countries_) {
            countries_ = tx_.directory_countries();
        }
        if (countries_->empty()) {
            return;
        }
        std::vector<std::string> callers;
        for (const CallData& call : inserts) {
            callers.push_back(call.caller);
        }
        directory::store_caller_numbers(tx_, std::move(callers), *countries_);
    }

    /// A session's key: its service and its id.
    using Key = std::pair<std::int64_t, std::string>;

    store::WriteTransaction& tx_;
    const RowChecker& checker_;
    std::vector<Row> rows_;
    /// The directories' countries, read at the first insert.
    std::optional<std::vector<std::string>> countries_;
};

/// The call data of an added or completed session, for its audit record; the
/// times only where it has them (records before them have no such fields).
nlohmann::ordered_json call_snapshot(const CallData& call, std::string_view service) {
    nlohmann::ordered_json snapshot = {
        {"id", call.external_id},
        {"service", service},
        {"user", call.user},
        {"direction", to_string(call.direction)},
        {"started_at", timefmt::to_utc_string(call.started_at)},
        {"ended_at", call.ended_at ? nlohmann::ordered_json(timefmt::to_utc_string(*call.ended_at))
                                   : nlohmann::ordered_json(nullptr)},
        {"outcome",
         call.outcome ? nlohmann::ordered_json(*call.outcome) : nlohmann::ordered_json(nullptr)},
        {"caller", call.caller}};
    if (call.times.waiting_seconds) {
        snapshot["waiting_seconds"] = *call.times.waiting_seconds;
    }
    if (call.times.talk_seconds) {
        snapshot["talk_seconds"] = *call.times.talk_seconds;
    }
    return snapshot;
}

} // namespace

ImportReport import_sessions(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                             const identity::Identity& identity, std::istream& in,
                             const ImportOptions& options, const ProgressCallback& progress) {
    const std::unique_ptr<RowReader> source = RowReader::open(in, options.format, options.source);
    RowChecker checker(tx, actor, identity);
    tx.expect_bulk_writes(options.expected_rows);
    ImportReport report;
    report.ignored_columns = source->ignored_columns();
    const auto reject = [&](std::size_t line, std::string reason) {
        ++report.invalid;
        if (report.problems.size() < max_reported_problems) {
            report.problems.push_back(RowProblem{line, std::move(reason)});
        }
    };
    Batch batch(tx, checker);
    RawRow row;
    while (source->next(row)) {
        ++report.rows;
        if (progress && report.rows % 10'000 == 0) {
            progress(Progress{report.rows, source->bytes()});
        }
        if (!row.error.empty()) {
            batch.add(row.line, std::move(row.error));
        } else {
            batch.add(row.line, checker.check(row.fields));
        }
        if (batch.full()) {
            batch.store(report, reject);
        }
    }
    batch.store(report, reject);
    if (progress) {
        progress(Progress{report.rows, source->bytes()});
    }
    if (report.inserted + report.completed > 0) {
        audit.record("session.import", "sessions from " + options.source, std::nullopt, nullptr,
                     {{"source", options.source},
                      {"rows", report.rows},
                      {"inserted", report.inserted},
                      {"completed", report.completed},
                      {"unchanged", report.unchanged},
                      {"invalid", report.invalid}});
    }
    return report;
}

Added add_session(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                  const identity::Identity& identity, const RawSession& raw) {
    RowChecker checker(tx, actor, identity);
    std::variant<CallData, std::string> checked = checker.check(raw);
    if (const auto* reason = std::get_if<std::string>(&checked)) {
        throw Error(ErrorKind::InvalidData, *reason);
    }
    const CallData call = std::get<CallData>(checked);
    ImportReport counted;
    std::string conflict;
    Batch batch(tx, checker);
    batch.add(0, std::move(checked));
    batch.store(counted, [&](std::size_t, std::string reason) { conflict = std::move(reason); });
    if (!conflict.empty()) {
        throw Error(ErrorKind::Conflict, conflict);
    }
    const std::variant<Stored, std::string> stored = counted.inserted    ? Stored::Inserted
                                                     : counted.completed ? Stored::Completed
                                                                         : Stored::Unchanged;
    const Service& service = checker.service(call.service_id);
    if (std::get<Stored>(stored) != Stored::Unchanged) {
        audit.record(std::get<Stored>(stored) == Stored::Inserted ? "session.add"
                                                                  : "session.complete",
                     "session " + call.external_id, service.ou_id, nullptr,
                     call_snapshot(call, service.name));
    }
    for (Session& session : tx.sessions_with_external_ids({call.external_id})) {
        if (session.service_id == call.service_id) {
            return Added{std::move(session), std::get<Stored>(stored)};
        }
    }
    throw Error(ErrorKind::Internal,
                fmt::format("session \"{}\" was not stored", call.external_id));
}

} // namespace nimbus::sessions
