#include <nimbus/store/sql/sql_transaction.hpp>

#include <algorithm>
#include <map>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/store/sql/tables.hpp>
#include <nimbus/store/sql/usage_sql.hpp>

namespace nimbus::store::sql {
namespace {

Timestamp read_time(const Statement& q, int column) {
    const std::string text = q.text(column);
    const auto parsed = timefmt::parse_timestamp(text);
    if (!parsed) {
        throw Error(ErrorKind::Internal, fmt::format("malformed time \"{}\" in the store", text));
    }
    return *parsed;
}

std::optional<Timestamp> read_optional_time(const Statement& q, int column) {
    if (q.is_null(column)) {
        return std::nullopt;
    }
    return read_time(q, column);
}

std::optional<std::string> optional_text(const Statement& q, int column) {
    if (q.is_null(column)) {
        return std::nullopt;
    }
    return q.text(column);
}

std::optional<std::int64_t> optional_integer(const Statement& q, int column) {
    if (q.is_null(column)) {
        return std::nullopt;
    }
    return q.integer(column);
}

Timestamp from_seconds(std::int64_t seconds) {
    return Timestamp{std::chrono::seconds{seconds}};
}

std::optional<Timestamp> optional_seconds(const Statement& q, int column) {
    if (q.is_null(column)) {
        return std::nullopt;
    }
    return from_seconds(q.integer(column));
}

template <class T>
void bind_optional(Statement& statement, int index, const std::optional<T>& value) {
    if (value) {
        statement.bind(index, *value);
    } else {
        statement.bind_null(index);
    }
}

constexpr const char* ou_select =
    "SELECT o.id, o.parent_id, o.name, o.path, o.path_key, o.created_at, r.retired_at "
    "FROM ou o LEFT JOIN ou_retired r ON r.ou_id = o.id ";

Ou read_ou(const Statement& q) {
    Ou ou;
    ou.id = q.integer(0);
    ou.parent_id = optional_integer(q, 1);
    ou.name = q.text(2);
    ou.path = q.text(3);
    ou.path_key = q.text(4);
    ou.created_at = read_time(q, 5);
    ou.retired_at = optional_seconds(q, 6);
    return ou;
}

constexpr const char* code_select =
    "SELECT c.id, c.type, c.name, c.description, c.ou_id, o.path, c.created_at, c.deleted_at "
    "FROM code c JOIN ou o ON o.id = c.ou_id ";

Code read_code(const Statement& q) {
    Code code;
    code.id = q.integer(0);
    code.type = parse_code_type(q.text(1)).value_or(CodeType::Primary);
    code.name = q.text(2);
    code.description = q.text(3);
    code.ou_id = q.integer(4);
    code.ou_path = q.text(5);
    code.created_at = read_time(q, 6);
    code.deleted_at = read_optional_time(q, 7);
    return code;
}

constexpr const char* service_select =
    "SELECT s.id, s.name, s.ou_id, o.path, s.license, s.created_at, r.retired_at "
    "FROM service s JOIN ou o ON o.id = s.ou_id "
    "LEFT JOIN service_retired r ON r.service_id = s.id ";

Service read_service(const Statement& q) {
    Service service;
    service.id = q.integer(0);
    service.name = q.text(1);
    service.ou_id = q.integer(2);
    service.ou_path = q.text(3);
    service.license = parse_license(q.text(4)).value_or(License::BasicRouting);
    service.created_at = read_time(q, 5);
    service.retired_at = optional_seconds(q, 6);
    return service;
}

/// A session's own columns, in the order of tables.cpp, read from `first` on.
/// The one place where a session column meets a field: a column added to the
/// table is read here or fails every read at once.
void read_session_columns(const Statement& q, int first, Session& session) {
    const std::vector<Column>& columns = stored_table("session").columns;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const int at = first + static_cast<int>(i);
        const std::string_view name = columns[i].name;
        if (name == "id") {
            session.id = q.integer(at);
        } else if (name == "external_id") {
            session.external_id = q.text(at);
        } else if (name == "service_id") {
            session.service_id = q.integer(at);
        } else if (name == "user") {
            session.user = q.text(at);
        } else if (name == "direction") {
            session.direction = parse_direction(q.text(at)).value_or(Direction::Inbound);
        } else if (name == "started_at") {
            session.started_at = from_seconds(q.integer(at));
        } else if (name == "ended_at") {
            session.ended_at = optional_seconds(q, at);
        } else if (name == "outcome") {
            session.outcome = optional_text(q, at);
        } else if (name == "caller") {
            session.caller = q.text(at);
        } else {
            throw Error(ErrorKind::Internal,
                        fmt::format("session column {} is read nowhere", name));
        }
    }
}

/// A new session's values for every column of the table but its id, in the
/// order of tables.cpp.
std::vector<Value> session_values(const CallData& call) {
    std::vector<Value> values;
    for (const Column& column : stored_table("session").columns) {
        const std::string_view name = column.name;
        if (name == "id") {
            continue;
        }
        if (name == "external_id") {
            values.emplace_back(call.external_id);
        } else if (name == "service_id") {
            values.emplace_back(call.service_id);
        } else if (name == "user") {
            values.emplace_back(call.user);
        } else if (name == "direction") {
            values.emplace_back(std::string(to_string(call.direction)));
        } else if (name == "started_at") {
            values.emplace_back(to_seconds(call.started_at));
        } else if (name == "ended_at") {
            values.emplace_back(call.ended_at ? Value(to_seconds(*call.ended_at)) : Value(nullptr));
        } else if (name == "outcome") {
            values.emplace_back(call.outcome ? Value(*call.outcome) : Value(nullptr));
        } else if (name == "caller") {
            values.emplace_back(call.caller);
        } else {
            throw Error(ErrorKind::Internal,
                        fmt::format("session column {} is written nowhere", name));
        }
    }
    return values;
}

/// Sessions with their service's name and OU, and their conclusion if any:
/// the session's columns, then those (see read_session).
const std::string& session_select() {
    static const std::string sql =
        "SELECT " + column_list(stored_table("session"), "s.") +
        ", st.waiting_seconds, st.talk_seconds, v.name, o.path, c.concluded_at, c.user, c.via, "
        "cd.deadline_at FROM session s JOIN service v ON v.id = s.service_id "
        "JOIN ou o ON o.id = v.ou_id LEFT JOIN conclusion c ON c.session_id = s.id "
        "LEFT JOIN conclusion_default cd ON cd.session_id = s.id "
        "LEFT JOIN session_times st ON st.session_id = s.id ";
    return sql;
}

/// A session's times, read from `first` on (NULLs where it has none).
CallTimes read_times(const Statement& q, int first) {
    return CallTimes{optional_integer(q, first), optional_integer(q, first + 1)};
}

Session read_session(const Statement& q) {
    Session session;
    read_session_columns(q, 0, session);
    int next = static_cast<int>(stored_table("session").columns.size());
    session.times = read_times(q, next);
    next += 2;
    session.service_name = q.text(next);
    session.service_ou = q.text(next + 1);
    if (!q.is_null(next + 2)) {
        Conclusion conclusion;
        conclusion.at = from_seconds(q.integer(next + 2));
        conclusion.user = q.text(next + 3);
        conclusion.via = optional_text(q, next + 4);
        if (!q.is_null(next + 5)) {
            conclusion.by_default = from_seconds(q.integer(next + 5));
        }
        conclusion.retroactive = is_retroactive(conclusion.at, session.ended_at);
        session.conclusion = std::move(conclusion);
    }
    return session;
}

ConcludedCode read_concluded_code(const Statement& q, int first) {
    return ConcludedCode{q.integer(first),
                         parse_code_type(q.text(first + 1)).value_or(CodeType::Primary),
                         q.text(first + 2)};
}

std::string export_filter(const ExportQuery& query) {
    std::string where = fmt::format("s.service_id IN ({})", id_list(query.service_ids));
    if (query.from) {
        where += fmt::format(" AND s.started_at >= {}", to_seconds(*query.from));
    }
    if (query.to) {
        where += fmt::format(" AND s.started_at < {}", to_seconds(*query.to));
    }
    return where;
}

/// Every row of `q`, each turned into a value by `read`.
template <class Read>
auto all_rows(Statement& q, Read read) {
    std::vector<decltype(read(q))> result;
    while (q.step()) {
        result.push_back(read(q));
    }
    return result;
}

/// The first row of `q` turned into a value by `read`, or nullopt.
template <class Read>
auto first_row(Statement& q, Read read) -> std::optional<decltype(read(q))> {
    if (q.step()) {
        auto value = read(q);
        q.reset();
        return value;
    }
    return std::nullopt;
}

/// Runs an INSERT ... RETURNING id and gives the id.
std::int64_t returned_id(Statement& q) {
    if (!q.step()) {
        throw Error(ErrorKind::Internal, "an insert returned no id");
    }
    const std::int64_t id = q.integer(0);
    q.reset();
    return id;
}

/// A row of `table` from its values by column name, in the order of
/// tables.cpp, without the column `generated` (the store numbers it): the one
/// place where the fields written meet the table's columns, so that a column
/// added to tables.cpp is written here or fails every write at once.
StoredRow table_row(std::string_view table, const std::map<std::string_view, Value>& values,
                    std::string_view generated = "") {
    const Table& definition = stored_table(table);
    StoredRow row{definition.name, {}};
    for (const Column& column : definition.columns) {
        if (column.name == generated) {
            continue;
        }
        const auto value = values.find(column.name);
        if (value == values.end()) {
            throw Error(ErrorKind::Internal,
                        fmt::format("column {}.{} is written nowhere", table, column.name));
        }
        row.values.push_back(value->second);
    }
    return row;
}

/// The row without one of its columns (the record's id, which the ledger
/// entry names).
StoredRow without(StoredRow row, std::string_view column) {
    const std::vector<Column>& columns = stored_table(row.table).columns;
    for (std::size_t i = 0; i < columns.size() && i < row.values.size(); ++i) {
        if (columns[i].name == column) {
            row.values.erase(row.values.begin() + static_cast<std::ptrdiff_t>(i));
            break;
        }
    }
    return row;
}

} // namespace

SqlTransaction::~SqlTransaction() = default;

std::vector<Ou> SqlTransaction::ous() {
    const auto q = db_.prepare(std::string(ou_select) + "ORDER BY o.path_key");
    return all_rows(*q, read_ou);
}

std::optional<Ou> SqlTransaction::find_ou(std::string_view path_key) {
    const auto q = db_.prepare(std::string(ou_select) + "WHERE o.path_key = ?");
    q->bind(1, path_key);
    return first_row(*q, read_ou);
}

std::optional<Ou> SqlTransaction::root_ou() {
    const auto q = db_.prepare(std::string(ou_select) + "WHERE o.parent_id IS NULL");
    return first_row(*q, read_ou);
}

std::vector<Code> SqlTransaction::codes(const CodeFilter& filter) {
    std::string sql = code_select + std::string("WHERE 1 = 1 ");
    std::vector<Value> params;
    if (filter.type) {
        sql += "AND c.type = ? ";
        params.emplace_back(std::string(to_string(*filter.type)));
    }
    if (!filter.include_deleted) {
        sql += "AND c.deleted_at IS NULL ";
    }
    sql += "ORDER BY c.type, o.path_key, c.name_key, c.id";
    const auto q = db_.prepare(sql);
    bind_all(*q, params);
    return all_rows(*q, read_code);
}

std::optional<Code> SqlTransaction::find_code(std::int64_t id) {
    const auto q = db_.prepare(code_select + std::string("WHERE c.id = ?"));
    q->bind(1, id);
    return first_row(*q, read_code);
}

std::vector<Code> SqlTransaction::find_codes_by_name(std::string_view name_key) {
    const auto q =
        db_.prepare(code_select + std::string("WHERE c.name_key = ? ORDER BY c.type, o.path_key, "
                                              "c.id"));
    q->bind(1, name_key);
    return all_rows(*q, read_code);
}

std::vector<ConcludedCode> SqlTransaction::concluded_code_names() {
    const auto q = db_.prepare("SELECT DISTINCT code_id, type, name FROM conclusion_code "
                               "ORDER BY code_id, name");
    return all_rows(*q, [](const Statement& row) { return read_concluded_code(row, 0); });
}

std::vector<Service> SqlTransaction::services() {
    const auto q = db_.prepare(service_select + std::string("ORDER BY s.name_key"));
    return all_rows(*q, read_service);
}

std::optional<Service> SqlTransaction::find_service(std::string_view name_key) {
    const auto q = db_.prepare(service_select + std::string("WHERE s.name_key = ?"));
    q->bind(1, name_key);
    return first_row(*q, read_service);
}

std::vector<Code> SqlTransaction::service_codes(std::int64_t service_id, CodeType list) {
    const auto q = db_.prepare(code_select + std::string("JOIN service_code l ON l.code_id = c.id "
                                                         "WHERE l.service_id = ? AND l.list = ? "
                                                         "ORDER BY l.position"));
    q->bind(1, service_id);
    q->bind(2, to_string(list));
    return all_rows(*q, read_code);
}

std::vector<std::string> SqlTransaction::enabled_features(std::int64_t service_id) {
    const auto q = db_.prepare("SELECT feature FROM service_extension WHERE service_id = ?");
    q->bind(1, service_id);
    return all_rows(*q, [](const Statement& row) { return row.text(0); });
}

std::vector<Service> SqlTransaction::services_listing(std::int64_t code_id) {
    const auto q = db_.prepare(service_select +
                               std::string("WHERE s.id IN (SELECT service_id FROM service_code "
                                           "WHERE code_id = ?) ORDER BY s.name_key"));
    q->bind(1, code_id);
    return all_rows(*q, read_service);
}

std::vector<OutcomeInfo> SqlTransaction::outcomes() {
    const auto q =
        db_.prepare("SELECT name, outcome_group, direction FROM outcome ORDER BY position");
    return all_rows(*q, [](const Statement& row) {
        OutcomeInfo outcome;
        outcome.name = row.text(0);
        outcome.group = row.text(1);
        if (!row.is_null(2)) {
            outcome.direction = parse_direction(row.text(2));
        }
        return outcome;
    });
}

std::vector<Session>
SqlTransaction::sessions_with_external_ids(const std::vector<std::string>& external_ids) {
    std::vector<Session> found;
    if (external_ids.empty()) {
        return found;
    }
    std::string sql = session_select() + "WHERE s.external_id IN (";
    for (std::size_t i = 0; i < external_ids.size(); ++i) {
        sql += i == 0 ? "?" : ", ?";
    }
    const auto q = db_.prepare(sql + ")");
    int index = 1;
    for (const std::string& id : external_ids) {
        q->bind(index++, id);
    }
    found = all_rows(*q, read_session);
    for (Session& session : found) {
        if (!session.conclusion) {
            continue;
        }
        Statement& codes = cached_statement("SELECT code_id, type, name FROM conclusion_code "
                                            "WHERE session_id = ? ORDER BY position");
        codes.bind(1, session.id);
        while (codes.step()) {
            session.conclusion->codes.push_back(read_concluded_code(codes, 0));
        }
        codes.reset();
        Statement& tags = cached_statement(
            "SELECT tag FROM conclusion_tag WHERE session_id = ? ORDER BY position");
        tags.bind(1, session.id);
        while (tags.step()) {
            session.conclusion->tags.push_back(tags.text(0));
        }
        tags.reset();
    }
    return found;
}

std::vector<Session> SqlTransaction::sessions(const SessionQuery& query) {
    std::string sql = session_select() + std::string("WHERE 1 = 1 ");
    std::vector<Value> params;
    if (!query.everything) {
        sql += "AND (s.user = ?";
        params.emplace_back(query.own_user);
        if (!query.service_ids.empty()) {
            sql += fmt::format(" OR s.service_id IN ({})", id_list(query.service_ids));
        }
        sql += ") ";
    }
    if (query.only_own) {
        sql += "AND s.user = ? ";
        params.emplace_back(query.own_user);
    }
    if (query.concluded) {
        sql += *query.concluded ? "AND c.session_id IS NOT NULL " : "AND c.session_id IS NULL ";
    }
    if (query.service_id) {
        sql += "AND s.service_id = ? ";
        params.emplace_back(*query.service_id);
    }
    if (query.since) {
        sql += "AND s.started_at >= ? ";
        params.emplace_back(to_seconds(*query.since));
    }
    if (query.before) {
        sql += "AND s.started_at < ? ";
        params.emplace_back(to_seconds(*query.before));
    }
    if (query.caller) {
        sql += "AND s.caller = ? ";
        params.emplace_back(*query.caller);
    }
    if (query.overdue_at) {
        sql += "AND c.session_id IS NULL AND EXISTS (SELECT 1 FROM service_wrap_up w "
               "WHERE w.service_id = s.service_id AND s.ended_at >= w.effective_from "
               "AND s.ended_at + w.deadline_seconds <= ?) AND EXISTS (SELECT 1 FROM "
               "service_extension x WHERE x.service_id = s.service_id AND x.feature = "
               "'codes-and-tags') ";
        params.emplace_back(to_seconds(*query.overdue_at));
    }
    if (query.after_id) {
        sql += "AND s.id > ? ";
        params.emplace_back(*query.after_id);
    }
    sql += query.after_id     ? "ORDER BY s.id"
           : query.overdue_at ? "ORDER BY s.ended_at, s.id"
                              : "ORDER BY s.started_at DESC, s.id DESC";
    if (query.limit) {
        sql += " LIMIT ?";
        params.emplace_back(*query.limit);
    }
    const auto q = db_.prepare(sql);
    bind_all(*q, params);
    return all_rows(*q, read_session);
}

void SqlTransaction::each_usage_count(const UsageQuery& query,
                                      const std::function<void(const UsageCount&)>& visit) {
    const SqlQuery usage = usage_count_query(query, usage_reach());
    const auto q = db_.prepare(usage.sql);
    bind_all(*q, usage.params);
    while (q->step()) {
        UsageCount row;
        row.day = q->integer(0);
        row.service_id = q->integer(1);
        row.user = q->text(2);
        row.type = parse_code_type(q->text(3)).value_or(CodeType::Primary);
        row.code_id = q->integer(4);
        row.code_name = q->text(5);
        row.tag_key = q->text(6);
        row.tag = q->text(7);
        row.sessions = q->integer(8);
        row.context = q->text(9);
        row.concluded_by = q->text(10);
        if (row.sessions > 0) {
            visit(row);
        }
    }
}

void SqlTransaction::each_session_count(const UsageQuery& query,
                                        const std::function<void(const SessionCount&)>& visit) {
    const SqlQuery counts = session_count_query(query, usage_reach());
    const auto q = db_.prepare(counts.sql);
    bind_all(*q, counts.params);
    while (q->step()) {
        visit(SessionCount{q->integer(0), q->integer(1), q->text(2), q->text(3), q->integer(4),
                           q->integer(5), q->integer(6), q->integer(7)});
    }
}

RollupReach SqlTransaction::usage_reach() {
    return rollup_reach(db_);
}

void SqlTransaction::each_session(const ExportQuery& query,
                                  const std::function<void(const Session&)>& visit) {
    const auto q = db_.prepare(session_select() + std::string("WHERE ") + export_filter(query) +
                               " ORDER BY s.id");
    while (q->step()) {
        visit(read_session(*q));
    }
}

void SqlTransaction::each_concluded_code(
    const ExportQuery& query, const std::function<void(const ConcludedCodeRow&)>& visit) {
    const auto q = db_.prepare("SELECT cc.session_id, cc.position, cc.code_id, cc.type, cc.name "
                               "FROM conclusion_code cc JOIN session s ON s.id = cc.session_id "
                               "WHERE " +
                               export_filter(query) + " ORDER BY cc.session_id, cc.position");
    while (q->step()) {
        visit(ConcludedCodeRow{q->integer(0), q->integer(1), read_concluded_code(*q, 2)});
    }
}

void SqlTransaction::each_concluded_tag(const ExportQuery& query,
                                        const std::function<void(const ConcludedTagRow&)>& visit) {
    const auto q = db_.prepare("SELECT ct.session_id, ct.position, ct.tag, ct.tag_key "
                               "FROM conclusion_tag ct "
                               "JOIN session s ON s.id = ct.session_id WHERE " +
                               export_filter(query) + " ORDER BY ct.session_id, ct.position");
    while (q->step()) {
        visit(ConcludedTagRow{q->integer(0), q->integer(1), q->text(2), q->text(3)});
    }
}

void SqlTransaction::each_session_context(
    const ExportQuery& query, const std::function<void(const SessionContextValue&)>& visit) {
    const auto q = db_.prepare("SELECT sx.session_id, sx.field_id, sx.value "
                               "FROM session_context sx "
                               "JOIN session s ON s.id = sx.session_id WHERE " +
                               export_filter(query) + " ORDER BY sx.session_id, sx.field_id");
    while (q->step()) {
        visit(SessionContextValue{q->integer(0), ContextValue{q->integer(1), q->text(2)}});
    }
}

std::vector<AuditEntry> SqlTransaction::audit_entries(const AuditFilter& filter) {
    std::string sql = "SELECT a.id, a.at, a.user, a.via, a.ou_id, o.path, a.action, a.target, "
                      "a.before, a.after FROM audit a LEFT JOIN ou o ON o.id = a.ou_id "
                      "WHERE 1 = 1 ";
    std::vector<Value> params;
    if (filter.since) {
        sql += "AND a.at >= ? ";
        params.emplace_back(timefmt::to_utc_string(*filter.since));
    }
    if (filter.target) {
        sql += "AND a.target = ? ";
        params.emplace_back(*filter.target);
    }
    if (filter.ou_id) {
        sql += "AND a.ou_id = ? ";
        params.emplace_back(*filter.ou_id);
    }
    if (filter.user) {
        sql += "AND (a.user = ? OR a.via = ?) ";
        params.emplace_back(*filter.user);
        params.emplace_back(*filter.user);
    }
    sql += "ORDER BY a.id";
    const auto q = db_.prepare(sql);
    bind_all(*q, params);
    return all_rows(*q, [](const Statement& row) {
        AuditEntry entry;
        entry.id = row.integer(0);
        entry.at = read_time(row, 1);
        entry.user = row.text(2);
        entry.via = optional_text(row, 3);
        entry.ou_id = optional_integer(row, 4);
        entry.ou_path = optional_text(row, 5).value_or("");
        entry.action = row.text(6);
        entry.target = row.text(7);
        entry.before = optional_text(row, 8).value_or("");
        entry.after = optional_text(row, 9).value_or("");
        return entry;
    });
}

std::int64_t SqlTransaction::insert_ou(const NewOu& ou) {
    const auto q = db_.prepare("INSERT INTO ou (parent_id, name, path, path_key, created_at) "
                               "VALUES (?, ?, ?, ?, ?) RETURNING id");
    bind_optional(*q, 1, ou.parent_id);
    q->bind(2, ou.name);
    q->bind(3, ou.path);
    q->bind(4, ou.path_key);
    q->bind(5, timefmt::to_utc_string(ou.created_at));
    return returned_id(*q);
}

std::int64_t SqlTransaction::insert_code(const NewCode& code) {
    const auto q = db_.prepare("INSERT INTO code (type, name, name_key, description, ou_id, "
                               "created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
    q->bind(1, to_string(code.type));
    q->bind(2, code.name);
    q->bind(3, code.name_key);
    q->bind(4, code.description);
    q->bind(5, code.ou_id);
    q->bind(6, timefmt::to_utc_string(code.created_at));
    return returned_id(*q);
}

void SqlTransaction::update_code(std::int64_t id, std::string_view name, std::string_view name_key,
                                 std::string_view description) {
    const auto q =
        db_.prepare("UPDATE code SET name = ?, name_key = ?, description = ? WHERE id = ?");
    q->bind(1, name);
    q->bind(2, name_key);
    q->bind(3, description);
    q->bind(4, id);
    q->run();
}

void SqlTransaction::mark_code_deleted(std::int64_t id, Timestamp at) {
    const auto q = db_.prepare("UPDATE code SET deleted_at = ? WHERE id = ?");
    q->bind(1, timefmt::to_utc_string(at));
    q->bind(2, id);
    q->run();
}

std::int64_t SqlTransaction::insert_service(const NewService& service) {
    const auto q = db_.prepare("INSERT INTO service (name, name_key, ou_id, license, created_at) "
                               "VALUES (?, ?, ?, ?, ?) RETURNING id");
    q->bind(1, service.name);
    q->bind(2, service.name_key);
    q->bind(3, service.ou_id);
    q->bind(4, to_string(service.license));
    q->bind(5, timefmt::to_utc_string(service.created_at));
    return returned_id(*q);
}

void SqlTransaction::update_service(std::int64_t id, std::string_view name,
                                    std::string_view name_key, License license) {
    const auto q =
        db_.prepare("UPDATE service SET name = ?, name_key = ?, license = ? WHERE id = ?");
    q->bind(1, name);
    q->bind(2, name_key);
    q->bind(3, to_string(license));
    q->bind(4, id);
    q->run();
}

void SqlTransaction::replace_service_codes(std::int64_t service_id, CodeType list,
                                           const std::vector<std::int64_t>& code_ids) {
    const auto clear = db_.prepare("DELETE FROM service_code WHERE service_id = ? AND list = ?");
    clear->bind(1, service_id);
    clear->bind(2, to_string(list));
    clear->run();
    const auto insert = db_.prepare("INSERT INTO service_code (service_id, list, position, "
                                    "code_id) VALUES (?, ?, ?, ?)");
    insert->bind(1, service_id);
    insert->bind(2, to_string(list));
    std::int64_t position = 1;
    for (const std::int64_t code_id : code_ids) {
        insert->bind(3, position++);
        insert->bind(4, code_id);
        insert->run();
    }
}

std::optional<StoredWrapUp> SqlTransaction::wrap_up(std::int64_t service_id) {
    Statement& q = cached_statement(
        "SELECT deadline_seconds, default_primary, default_secondary, effective_from "
        "FROM service_wrap_up WHERE service_id = ?");
    q.bind(1, service_id);
    std::optional<StoredWrapUp> policy;
    if (q.step()) {
        policy = StoredWrapUp{service_id, q.integer(0), q.integer(1), optional_integer(q, 2),
                              from_seconds(q.integer(3))};
    }
    q.reset();
    return policy;
}

void SqlTransaction::put_wrap_up(std::int64_t service_id,
                                 const std::optional<StoredWrapUp>& policy) {
    if (!policy) {
        const auto q = db_.prepare("DELETE FROM service_wrap_up WHERE service_id = ?");
        q->bind(1, service_id);
        q->run();
        return;
    }
    const auto q = db_.prepare(
        "INSERT INTO service_wrap_up (service_id, deadline_seconds, default_primary, "
        "default_secondary, effective_from) VALUES (?, ?, ?, ?, ?) ON CONFLICT (service_id) DO "
        "UPDATE SET deadline_seconds = excluded.deadline_seconds, default_primary = "
        "excluded.default_primary, default_secondary = excluded.default_secondary, "
        "effective_from = excluded.effective_from");
    bind_all(*q, {service_id, policy->deadline_seconds, policy->default_primary,
                  policy->default_secondary ? Value(*policy->default_secondary) : Value(nullptr),
                  to_seconds(policy->effective_from)});
    q->run();
}

namespace {

/// Sets or removes a row of ou_retired or service_retired.
void put_retired(Connection& db, std::string_view table, std::string_view key, std::int64_t id,
                 std::optional<Timestamp> at) {
    if (!at) {
        const auto q = db.prepare(fmt::format("DELETE FROM {} WHERE {} = ?", table, key));
        q->bind(1, id);
        q->run();
        return;
    }
    const auto q = db.prepare(
        fmt::format("INSERT INTO {} ({}, retired_at) VALUES (?, ?) ON CONFLICT ({}) DO NOTHING",
                    table, key, key));
    q->bind(1, id);
    q->bind(2, to_seconds(*at));
    q->run();
}

} // namespace

void SqlTransaction::set_service_retired(std::int64_t id, std::optional<Timestamp> at) {
    put_retired(db_, "service_retired", "service_id", id, at);
}

void SqlTransaction::delete_service(std::int64_t id) {
    const auto q = db_.prepare("DELETE FROM service WHERE id = ?");
    q->bind(1, id);
    q->run();
}

void SqlTransaction::set_ou_retired(std::int64_t id, std::optional<Timestamp> at) {
    put_retired(db_, "ou_retired", "ou_id", id, at);
}

void SqlTransaction::delete_ou(std::int64_t id) {
    const auto q = db_.prepare("DELETE FROM ou WHERE id = ?");
    q->bind(1, id);
    q->run();
}

void SqlTransaction::set_feature(std::int64_t service_id, std::string_view feature, bool enabled) {
    const auto q = db_.prepare(enabled ? "INSERT INTO service_extension (service_id, feature) "
                                         "VALUES (?, ?) ON CONFLICT DO NOTHING"
                                       : "DELETE FROM service_extension WHERE service_id = ? "
                                         "AND feature = ?");
    q->bind(1, service_id);
    q->bind(2, feature);
    q->run();
}

namespace {

/// "(?, ?), (?, ?)" for `rows` rows of `columns` parameters.
std::string placeholders(std::size_t rows, std::size_t columns) {
    std::string row = "(";
    for (std::size_t c = 0; c < columns; ++c) {
        row += c == 0 ? "?" : ", ?";
    }
    row += ")";
    std::string all;
    all.reserve(rows * (row.size() + 2));
    for (std::size_t r = 0; r < rows; ++r) {
        all += r == 0 ? row : ", " + row;
    }
    return all;
}

/// The rows whose key is one of `keys`: `before` + "IN (?, ...)" + `after`,
/// run in slices, so that a statement never has more parameters than an
/// engine takes.
template <class Key, class Read>
auto rows_with_keys(Connection& db, const std::vector<Key>& keys, std::string_view before,
                    std::string_view after, Read read) {
    std::vector<std::invoke_result_t<Read, const Statement&>> found;
    constexpr std::size_t slice = 500;
    for (std::size_t first = 0; first < keys.size(); first += slice) {
        const std::size_t count = std::min(slice, keys.size() - first);
        const auto q = db.prepare(std::string(before) + " IN " + placeholders(1, count) + " " +
                                  std::string(after));
        for (std::size_t i = 0; i < count; ++i) {
            q->bind(static_cast<int>(i + 1), keys[first + i]);
        }
        for (auto& row : all_rows(*q, read)) {
            found.push_back(std::move(row));
        }
    }
    return found;
}

} // namespace

Statement& SqlTransaction::batch_statement(BatchStatement& cached, std::size_t count,
                                           const std::function<std::string()>& sql) {
    if (cached.count != count) {
        cached.statement = db_.prepare(sql());
        cached.count = count;
    }
    return *cached.statement;
}

std::vector<Session> SqlTransaction::find_sessions(const std::vector<std::string>& external_ids) {
    std::vector<Session> found;
    if (external_ids.empty()) {
        return found;
    }
    Statement& q = batch_statement(find_sessions_, external_ids.size(), [&] {
        return "SELECT " + column_list(stored_table("session"), "s.") +
               ", st.waiting_seconds, st.talk_seconds FROM session s LEFT JOIN session_times st "
               "ON st.session_id = s.id WHERE s.external_id IN " +
               placeholders(1, external_ids.size());
    });
    int index = 1;
    for (const std::string& id : external_ids) {
        q.bind(index++, id);
    }
    const int times = static_cast<int>(stored_table("session").columns.size());
    while (q.step()) {
        Session& session = found.emplace_back();
        read_session_columns(q, 0, session);
        session.times = read_times(q, times);
    }
    q.reset();
    return found;
}

void SqlTransaction::insert_sessions(const std::vector<CallData>& calls) {
    if (calls.empty()) {
        return;
    }
    session_inserted();
    if (!usage_delta_begun_) {
        // Counted as they go in when they are the only sessions beyond the mark.
        usage_delta_begun_ = true;
        if (const RollupReach reach = usage_reach(); reach.kept && !reach.unsettled) {
            usage_delta_.start(reach.settled);
        }
    }
    const Table& session = stored_table("session");
    Statement& q = batch_statement(insert_sessions_, calls.size(), [&] {
        return fmt::format("INSERT INTO session ({}) VALUES {}", column_list(session, "", "id"),
                           placeholders(calls.size(), session.columns.size() - 1));
    });
    int index = 1;
    for (const CallData& call : calls) {
        for (const Value& value : session_values(call)) {
            bind_value(q, index++, value);
        }
    }
    q.run();
    for (const CallData& call : calls) {
        usage_delta_.add(call.service_id, to_seconds(call.started_at));
    }
    // Few sessions carry context, and those few values each: a statement per
    // value, by the session's key, costs the others nothing.
    for (const CallData& call : calls) {
        for (const ContextValue& value : call.context) {
            Statement& insert = cached_statement(
                "INSERT INTO session_context (session_id, field_id, value) SELECT id, ?, ? "
                "FROM session WHERE service_id = ? AND external_id = ?");
            insert.bind(1, value.field_id);
            insert.bind(2, value.value);
            insert.bind(3, call.service_id);
            insert.bind(4, call.external_id);
            insert.run();
        }
    }
    // Most ended calls of an export that gives times carry them: one
    // statement for the batch, by the sessions' keys.
    std::vector<const CallData*> timed;
    for (const CallData& call : calls) {
        if (!call.times.empty()) {
            timed.push_back(&call);
        }
    }
    if (timed.empty()) {
        return;
    }
    Statement& times = batch_statement(insert_times_, timed.size(), [&] {
        std::string rows;
        for (std::size_t i = 0; i < timed.size(); ++i) {
            rows += i == 0 ? "" : ", ";
            rows += "(CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS BIGINT))";
        }
        return "INSERT INTO session_times (session_id, waiting_seconds, talk_seconds) "
               "SELECT s.id, k.column3, k.column4 FROM (VALUES " +
               rows +
               ") k JOIN session s ON s.service_id = k.column1 AND s.external_id = k.column2";
    });
    index = 1;
    for (const CallData* call : timed) {
        times.bind(index++, call->service_id);
        times.bind(index++, call->external_id);
        bind_optional(times, index++, call->times.waiting_seconds);
        bind_optional(times, index++, call->times.talk_seconds);
    }
    times.run();
}

void SqlTransaction::complete_session(std::int64_t id, Timestamp ended_at, std::string_view outcome,
                                      const CallTimes& times) {
    // Before the end: a concluded session's times can be added only while its
    // end is unknown (schema/sqlite/0012_call_times.sql).
    if (!times.empty()) {
        Statement& insert = cached_statement("INSERT INTO session_times (session_id, "
                                             "waiting_seconds, talk_seconds) VALUES (?, ?, ?)");
        insert.bind(1, id);
        bind_optional(insert, 2, times.waiting_seconds);
        bind_optional(insert, 3, times.talk_seconds);
        insert.run();
    }
    const auto q = db_.prepare("UPDATE session SET ended_at = ?, outcome = ? WHERE id = ?");
    q->bind(1, to_seconds(ended_at));
    q->bind(2, outcome);
    q->bind(3, id);
    q->run();
    // The conclusion was chained without the end; the end is chained now.
    Statement& concluded = cached_statement("SELECT 1 FROM conclusion WHERE session_id = ?");
    concluded.bind(1, id);
    const bool is_concluded = concluded.step();
    concluded.reset();
    if (is_concluded) {
        chain(LedgerKind::Completion, id);
    }
}

void SqlTransaction::insert_conclusion(const NewConclusion& entry) {
    const Conclusion& conclusion = entry.conclusion;
    std::vector<StoredRow> rows;
    rows.push_back(table_row("conclusion",
                             {{"session_id", entry.session_id},
                              {"concluded_at", to_seconds(conclusion.at)},
                              {"user", conclusion.user},
                              {"via", conclusion.via ? Value(*conclusion.via) : Value(nullptr)},
                              // The column is part of the permanent record (NOT NULL, guarded by
                              // the triggers that keep conclusions final), so it is still written:
                              // whether the call had ended when the conclusion was submitted, as
                              // far as the store knew then. Nothing reads it: an end imported
                              // later can make a conclusion retroactive, so every read derives it
                              // from the times.
                              {"retroactive", std::int64_t{conclusion.retroactive ? 1 : 0}},
                              {"code_count", static_cast<std::int64_t>(conclusion.codes.size())},
                              {"tag_count", static_cast<std::int64_t>(conclusion.tags.size())}}));
    // A sweep's mark goes in before the codes: the store refuses it after them.
    if (conclusion.by_default) {
        rows.push_back(
            table_row("conclusion_default", {{"session_id", entry.session_id},
                                             {"deadline_at", to_seconds(*conclusion.by_default)}}));
    }
    std::int64_t position = 1;
    for (const ConcludedCode& concluded : conclusion.codes) {
        rows.push_back(
            table_row("conclusion_code", {{"session_id", entry.session_id},
                                          {"position", position++},
                                          {"code_id", concluded.code_id},
                                          {"type", std::string(to_string(concluded.type))},
                                          {"name", concluded.name}}));
    }
    for (std::size_t i = 0; i < conclusion.tags.size(); ++i) {
        rows.push_back(table_row("conclusion_tag", {{"session_id", entry.session_id},
                                                    {"position", static_cast<std::int64_t>(i + 1)},
                                                    {"tag", conclusion.tags[i]},
                                                    {"tag_key", entry.tag_keys.at(i)}}));
    }
    // What is chained is what was written: the session's call data as stored,
    // then exactly these rows, then the session's context as stored.
    std::optional<StoredRow> session = row_by_key("session", "id", entry.session_id);
    if (!session) {
        throw Error(ErrorKind::Internal,
                    fmt::format("session {} is not in the store", entry.session_id));
    }
    std::vector<StoredRow> record{without(*session, "id")};
    for (const StoredRow& row : rows) {
        insert_row(row);
        record.push_back(without(row, "session_id"));
    }
    for (SessionContextValue& stored : context_values({entry.session_id})) {
        record.push_back(
            StoredRow{"session_context", {stored.value.field_id, std::move(stored.value.value)}});
    }
    if (std::optional<StoredRow> times =
            row_by_key("session_times", "session_id", entry.session_id)) {
        record.push_back(without(*times, "session_id"));
    }
    chain_rows(LedgerKind::Conclusion, entry.session_id, record);
}

void SqlTransaction::append_audit(const NewAuditEntry& entry) {
    const StoredRow row =
        table_row("audit",
                  {{"at", timefmt::to_utc_string(entry.at)},
                   {"user", entry.user},
                   {"via", entry.via ? Value(*entry.via) : Value(nullptr)},
                   {"ou_id", entry.ou_id ? Value(*entry.ou_id) : Value(nullptr)},
                   {"action", entry.action},
                   {"target", entry.target},
                   {"before", entry.before.empty() ? Value(nullptr) : Value(entry.before)},
                   {"after", entry.after.empty() ? Value(nullptr) : Value(entry.after)}},
                  "id");
    chain_rows(LedgerKind::Audit, insert_row(row, "id"), {row});
}

std::optional<StoredRow> SqlTransaction::row_by_key(std::string_view table_name,
                                                    std::string_view key, std::int64_t id) {
    const Table& table = stored_table(table_name);
    Statement& q = cached_statement(
        fmt::format("SELECT {} FROM {} WHERE \"{}\" = ?", column_list(table), table.name, key));
    q.bind(1, id);
    std::optional<StoredRow> row;
    if (q.step()) {
        row = StoredRow{table.name, {}};
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
            row->values.push_back(read_value(q, static_cast<int>(i), table.columns[i].kind));
        }
    }
    q.reset();
    return row;
}

std::int64_t SqlTransaction::insert_row(const StoredRow& row, std::string_view generated) {
    const Table& table = stored_table(row.table);
    Statement& q = cached_statement(fmt::format(
        "INSERT INTO {} ({}) VALUES ({}){}", table.name, column_list(table, "", generated),
        placeholders(row.values.size()), generated.empty() ? "" : " RETURNING id"));
    bind_all(q, row.values);
    if (generated.empty()) {
        q.run();
        return 0;
    }
    return returned_id(q);
}

std::string SqlTransaction::stored_columns(std::string_view table) {
    return column_list(stored_table(table));
}

void SqlTransaction::each_stored_row(const std::function<void(const StoredRow&)>& visit) {
    for (const Table& table : stored_tables()) {
        const auto q = db_.prepare(fmt::format("SELECT {} FROM {} ORDER BY {}", column_list(table),
                                               table.name, table.key));
        StoredRow row{table.name, std::vector<StoredValue>(table.columns.size())};
        while (q->step()) {
            for (std::size_t i = 0; i < table.columns.size(); ++i) {
                row.values[i] = read_value(*q, static_cast<int>(i), table.columns[i].kind);
            }
            visit(row);
        }
    }
}

void SqlTransaction::insert_stored_row(const StoredRow& row) {
    ledger_tail_.reset(); // the copied entries come before any appended now
    if (stored_insert_table_ != row.table) {
        const Table& table = stored_table(row.table);
        stored_insert_ =
            db_.prepare(fmt::format("INSERT INTO {} ({}) VALUES ({})", table.name,
                                    column_list(table), placeholders(table.columns.size())));
        stored_insert_table_ = table.name;
    }
    bind_all(*stored_insert_, row.values);
    stored_insert_->run();
    if (row.table == "session") {
        session_inserted();
        usage_delta_begun_ = true;
        usage_delta_.abandon();
    }
}

void SqlTransaction::stored_rows_inserted() {
    ledger_tail_.reset();
    stored_insert_.reset();
    stored_insert_table_ = {};
}

} // namespace nimbus::store::sql

namespace nimbus::store::sql {
namespace {

constexpr std::string_view entry_select =
    "SELECT ou_id, number, name, company, email, notes, attributes FROM directory_entry ";

/// Attributes are kept as a JSON object, in the file's order.
std::string attributes_json(const DirectoryEntry& entry) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const auto& [name, value] : entry.attributes) {
        object[name] = value;
    }
    return object.dump();
}

/// An entry from columns `first` on: OU id, number, name, company, e-mail,
/// notes and attributes.
DirectoryEntry read_entry_at(const Statement& q, int first) {
    DirectoryEntry entry;
    entry.ou_id = q.integer(first);
    entry.number = q.text(first + 1);
    entry.name = q.text(first + 2);
    entry.company = q.text(first + 3);
    entry.email = q.text(first + 4);
    entry.notes = q.text(first + 5);
    const auto attributes = nlohmann::ordered_json::parse(q.text(first + 6), nullptr, false);
    if (!attributes.is_object()) {
        throw Error(ErrorKind::Internal,
                    fmt::format("the attributes of caller {} are not a JSON object", entry.number));
    }
    for (const auto& [name, value] : attributes.items()) {
        entry.attributes.emplace_back(name,
                                      value.is_string() ? value.get<std::string>() : value.dump());
    }
    return entry;
}

DirectoryEntry read_entry(const Statement& q) {
    return read_entry_at(q, 0);
}

void bind_entry(Statement& q, const DirectoryEntry& entry) {
    q.bind(1, entry.name);
    q.bind(2, entry.company);
    q.bind(3, entry.email);
    q.bind(4, entry.notes);
    q.bind(5, attributes_json(entry));
    q.bind(6, entry.ou_id);
    q.bind(7, entry.number);
}

} // namespace

std::vector<Directory> SqlTransaction::directories() {
    const auto q = db_.prepare("SELECT d.ou_id, o.path, d.country, d.imported_at, "
                               "(SELECT count(*) FROM directory_entry e WHERE e.ou_id = d.ou_id) "
                               "FROM directory d JOIN ou o ON o.id = d.ou_id ORDER BY o.path_key");
    return all_rows(*q, [](const Statement& row) {
        return Directory{row.integer(0), row.text(1), row.text(2), read_time(row, 3),
                         row.integer(4)};
    });
}

std::vector<DirectoryEntry> SqlTransaction::directory_entries(std::int64_t ou_id) {
    const auto q = db_.prepare(std::string(entry_select) + "WHERE ou_id = ? ORDER BY number");
    q->bind(1, ou_id);
    return all_rows(*q, read_entry);
}

std::vector<DirectoryEntry>
SqlTransaction::directory_entries_with_numbers(const std::vector<std::string>& numbers) {
    return rows_with_keys(db_, numbers, std::string(entry_select) + "WHERE number",
                          "ORDER BY ou_id, number", read_entry);
}

void SqlTransaction::put_directory(std::int64_t ou_id, std::string_view country,
                                   Timestamp imported_at) {
    const auto q =
        db_.prepare("INSERT INTO directory (ou_id, country, imported_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (ou_id) DO UPDATE SET country = excluded.country, "
                    "imported_at = excluded.imported_at");
    q->bind(1, ou_id);
    q->bind(2, country);
    q->bind(3, timefmt::to_utc_string(imported_at));
    q->run();
}

void SqlTransaction::delete_directory(std::int64_t ou_id) {
    for (const char* sql :
         {"DELETE FROM directory_entry WHERE ou_id = ?", "DELETE FROM directory WHERE ou_id = ?"}) {
        const auto q = db_.prepare(sql);
        q->bind(1, ou_id);
        q->run();
    }
}

void SqlTransaction::insert_directory_entry(const DirectoryEntry& entry) {
    Statement& q = cached_statement("INSERT INTO directory_entry (name, company, email, notes, "
                                    "attributes, ou_id, number) VALUES (?, ?, ?, ?, ?, ?, ?)");
    bind_entry(q, entry);
    q.run();
}

void SqlTransaction::update_directory_entry(const DirectoryEntry& entry) {
    Statement& q = cached_statement("UPDATE directory_entry SET name = ?, company = ?, email = ?, "
                                    "notes = ?, attributes = ? WHERE ou_id = ? AND number = ?");
    bind_entry(q, entry);
    q.run();
}

void SqlTransaction::delete_directory_entry(std::int64_t ou_id, std::string_view number) {
    Statement& q = cached_statement("DELETE FROM directory_entry WHERE ou_id = ? AND number = ?");
    q.bind(1, ou_id);
    q.bind(2, number);
    q.run();
}

std::vector<std::string> SqlTransaction::directory_countries() {
    const auto q = db_.prepare("SELECT country FROM directory_country ORDER BY country");
    return all_rows(*q, [](const Statement& row) { return row.text(0); });
}

std::vector<CallerNumber> SqlTransaction::caller_numbers(const std::vector<std::string>& callers) {
    return rows_with_keys(
        db_, callers, "SELECT caller, country, number FROM caller_number WHERE caller",
        "ORDER BY caller, country", [](const Statement& row) {
            return CallerNumber{row.text(0), row.text(1),
                                row.is_null(2) ? std::nullopt : std::optional(row.text(2))};
        });
}

std::vector<std::string> SqlTransaction::callers_without_number(std::string_view country) {
    const auto q =
        db_.prepare("SELECT DISTINCT s.caller FROM session s WHERE s.caller <> '' AND NOT EXISTS "
                    "(SELECT 1 FROM caller_number c WHERE c.caller = s.caller AND c.country = ?) "
                    "ORDER BY s.caller");
    q->bind(1, country);
    return all_rows(*q, [](const Statement& row) { return row.text(0); });
}

std::vector<SessionCaller>
SqlTransaction::session_callers(const std::vector<std::int64_t>& session_ids) {
    // The view gives every directory that serves a session (on a server, the
    // nearest that knows its caller only); the best comes first.
    return rows_with_keys(
        db_, session_ids,
        "SELECT session_id, ou_id, number, name, company, email, notes, attributes "
        "FROM session_caller WHERE session_id",
        "ORDER BY session_id, number IS NULL, nearness DESC", [](const Statement& row) {
            SessionCaller caller{row.integer(0), std::nullopt};
            if (!row.is_null(2)) {
                caller.entry = read_entry_at(row, 1);
            }
            return caller;
        });
}

void SqlTransaction::insert_caller_numbers(const std::vector<CallerNumber>& readings) {
    constexpr std::size_t slice = 500;
    for (std::size_t first = 0; first < readings.size(); first += slice) {
        const std::size_t count = std::min(slice, readings.size() - first);
        Statement& q = batch_statement(insert_caller_numbers_, count, [&] {
            return "INSERT INTO caller_number (caller, country, number) VALUES " +
                   placeholders(count, 3) + " ON CONFLICT (caller, country) DO NOTHING";
        });
        int index = 1;
        for (std::size_t i = first; i < first + count; ++i) {
            q.bind(index++, readings[i].caller);
            q.bind(index++, readings[i].country);
            if (readings[i].number) {
                q.bind(index++, *readings[i].number);
            } else {
                q.bind_null(index++);
            }
        }
        q.run();
    }
}

} // namespace nimbus::store::sql

namespace nimbus::store::sql {
namespace {

/// The conditions on session s (joined with its conclusion c) of a sample.
std::string sample_where(const UsageSample& sample, std::vector<Value>& params) {
    std::string where = "WHERE s.service_id = ? ";
    params.emplace_back(sample.service_id);
    if (sample.user) {
        where += "AND s.user = ? ";
        params.emplace_back(*sample.user);
    }
    if (sample.caller) {
        where += "AND s.caller = ? ";
        params.emplace_back(*sample.caller);
    }
    if (sample.since) {
        where += "AND s.started_at >= ? ";
        params.emplace_back(to_seconds(*sample.since));
    }
    if (sample.before) {
        where += "AND s.started_at < ? ";
        params.emplace_back(to_seconds(*sample.before));
    }
    if (sample.except_session != 0) {
        where += "AND s.id <> ? ";
        params.emplace_back(sample.except_session);
    }
    return where;
}

} // namespace

std::int64_t SqlTransaction::concluded_sessions(const UsageSample& sample) {
    std::vector<Value> params;
    const auto q = db_.prepare("SELECT count(*) FROM session s JOIN conclusion c "
                               "ON c.session_id = s.id " +
                               sample_where(sample, params));
    bind_all(*q, params);
    return q->step() ? q->integer(0) : 0;
}

std::vector<ItemCount> SqlTransaction::code_counts(const UsageSample& sample) {
    std::vector<Value> params;
    const auto q = db_.prepare("SELECT cc.code_id, count(*) FROM session s JOIN conclusion_code cc "
                               "ON cc.session_id = s.id " +
                               sample_where(sample, params) + "GROUP BY cc.code_id");
    bind_all(*q, params);
    return all_rows(*q, [](const Statement& row) {
        ItemCount count;
        count.code_id = row.integer(0);
        count.sessions = row.integer(1);
        return count;
    });
}

std::vector<ItemCount> SqlTransaction::tag_counts(const UsageSample& sample) {
    std::vector<Value> params;
    const auto q = db_.prepare("SELECT ct.tag_key, ct.tag, count(*) FROM session s JOIN "
                               "conclusion_tag ct ON ct.session_id = s.id " +
                               sample_where(sample, params) + "GROUP BY ct.tag_key, ct.tag");
    bind_all(*q, params);
    return all_rows(*q, [](const Statement& row) {
        ItemCount count;
        count.tag_key = row.text(0);
        count.tag = row.text(1);
        count.sessions = row.integer(2);
        return count;
    });
}

} // namespace nimbus::store::sql

namespace nimbus::store::sql {
namespace {

/// A choice field's values are kept as a JSON array of strings.
std::string choices_json(const ContextField& field) {
    return nlohmann::json(field.choices).dump();
}

ContextField read_context_field(const Statement& q) {
    ContextField field;
    field.id = q.integer(0);
    field.ou_id = q.integer(1);
    field.ou_path = q.text(2);
    field.name = q.text(3);
    field.name_key = q.text(4);
    const auto type = parse_context_type(q.text(5));
    const auto choices = nlohmann::json::parse(q.text(6), nullptr, false);
    if (!type || !choices.is_array()) {
        throw Error(ErrorKind::Internal,
                    fmt::format("context field \"{}\" is stored malformed", field.name));
    }
    field.type = *type;
    for (const auto& choice : choices) {
        field.choices.push_back(choice.is_string() ? choice.get<std::string>() : choice.dump());
    }
    field.description = q.text(7);
    return field;
}

void bind_context_field(Statement& q, const ContextField& field) {
    q.bind(1, field.name);
    q.bind(2, field.name_key);
    q.bind(3, to_string(field.type));
    q.bind(4, choices_json(field));
    q.bind(5, field.description);
}

} // namespace

std::vector<ContextField> SqlTransaction::context_fields() {
    const auto q = db_.prepare("SELECT f.id, f.ou_id, o.path, f.name, f.name_key, f.type, "
                               "f.choices, f.description FROM context_field f "
                               "JOIN ou o ON o.id = f.ou_id ORDER BY o.path_key, f.name_key");
    return all_rows(*q, read_context_field);
}

std::vector<SessionContextValue>
SqlTransaction::context_values(const std::vector<std::int64_t>& session_ids) {
    return rows_with_keys(
        db_, session_ids,
        "SELECT session_id, field_id, value FROM session_context "
        "WHERE session_id",
        "ORDER BY session_id, field_id", [](const Statement& row) {
            return SessionContextValue{row.integer(0), ContextValue{row.integer(1), row.text(2)}};
        });
}

bool SqlTransaction::context_field_used(std::int64_t field_id) {
    Statement& q = cached_statement("SELECT 1 FROM session_context WHERE field_id = ? LIMIT 1");
    q.bind(1, field_id);
    const bool used = q.step();
    q.reset();
    return used;
}

std::int64_t SqlTransaction::insert_context_field(const ContextField& field) {
    const auto q = db_.prepare("INSERT INTO context_field (name, name_key, type, choices, "
                               "description, ou_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id");
    bind_context_field(*q, field);
    q->bind(6, field.ou_id);
    return returned_id(*q);
}

void SqlTransaction::update_context_field(const ContextField& field) {
    const auto q = db_.prepare("UPDATE context_field SET name = ?, name_key = ?, type = ?, "
                               "choices = ?, description = ? WHERE id = ?");
    bind_context_field(*q, field);
    q->bind(6, field.id);
    q->run();
}

void SqlTransaction::delete_context_field(std::int64_t id) {
    const auto q = db_.prepare("DELETE FROM context_field WHERE id = ?");
    q->bind(1, id);
    q->run();
}

} // namespace nimbus::store::sql
