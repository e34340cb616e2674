#include <nimbus/store/sqlite/sqlite_store.hpp>

#include <filesystem>
#include <random>
#include <sqlite3.h>
#include <system_error>
#include <thread>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/store/migration.hpp>

namespace nimbus::store {
namespace {

/// Marks a SQLite file as a nimbus-codes store ("NCDS").
constexpr int application_id = 0x4E434453;

int latest_version() {
    return sqlite_migrations().back().version;
}

/// Turns a SQLite failure into the library's error, naming the store.
Error translate(const SQLite::Exception& e, const std::string& location,
                std::chrono::milliseconds busy_timeout) {
    switch (e.getErrorCode()) {
    case SQLITE_BUSY:
        return Error(ErrorKind::Busy,
                     fmt::format("store {} stayed locked by another process for {} ms", location,
                                 busy_timeout.count()),
                     "retry, or wait longer with --busy-timeout MS");
    case SQLITE_READONLY:
        return Error(ErrorKind::CannotWrite, fmt::format("store {} is read-only", location),
                     "check the permissions of the store file and its folder");
    case SQLITE_FULL:
        return Error(ErrorKind::CannotWrite,
                     fmt::format("store {} is full (no space left on the device)", location));
    case SQLITE_IOERR:
        return Error(ErrorKind::CannotWrite,
                     fmt::format("store {}: input/output error: {}", location, e.what()));
    case SQLITE_CANTOPEN:
        return Error(ErrorKind::CannotWrite, fmt::format("cannot open store {}", location),
                     "check that the folder exists and is writable");
    case SQLITE_NOTADB:
        return Error(
            ErrorKind::Config,
            fmt::format("{} is not a SQLite database, so not a nimbus-codes store", location),
            "check --store and NIMBUS_CODES_STORE");
    case SQLITE_CORRUPT:
        return Error(ErrorKind::Internal,
                     fmt::format("store {} is corrupt: {}", location, e.what()),
                     "restore it from a backup");
    default: return Error(ErrorKind::Internal, fmt::format("store {}: {}", location, e.what()));
    }
}

std::string text_or_empty(const SQLite::Column& column) {
    return column.isNull() ? std::string{} : column.getString();
}

Timestamp read_time(const SQLite::Column& column) {
    const auto parsed = timefmt::parse_timestamp(column.getString());
    if (!parsed) {
        throw Error(ErrorKind::Internal,
                    fmt::format("malformed time \"{}\" in the store", column.getString()));
    }
    return *parsed;
}

std::optional<Timestamp> read_optional_time(const SQLite::Column& column) {
    if (column.isNull()) {
        return std::nullopt;
    }
    return read_time(column);
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<std::string>& v) {
    if (v) {
        statement.bind(index, *v);
    } else {
        statement.bind(index);
    }
}

void bind_optional(SQLite::Statement& statement, int index, const std::optional<std::int64_t>& v) {
    if (v) {
        statement.bind(index, *v);
    } else {
        statement.bind(index);
    }
}

void bind_text_or_null(SQLite::Statement& statement, int index, const std::string& v) {
    if (v.empty()) {
        statement.bind(index);
    } else {
        statement.bind(index, v);
    }
}

constexpr const char* ou_columns = "id, parent_id, name, path, path_key, created_at";

Ou read_ou(SQLite::Statement& q) {
    Ou ou;
    ou.id = q.getColumn(0).getInt64();
    if (!q.getColumn(1).isNull()) {
        ou.parent_id = q.getColumn(1).getInt64();
    }
    ou.name = q.getColumn(2).getString();
    ou.path = q.getColumn(3).getString();
    ou.path_key = q.getColumn(4).getString();
    ou.created_at = read_time(q.getColumn(5));
    return ou;
}

constexpr const char* code_select =
    "SELECT c.id, c.type, c.name, c.description, c.ou_id, o.path, c.created_at, c.deleted_at "
    "FROM code c JOIN ou o ON o.id = c.ou_id ";

Code read_code(SQLite::Statement& q) {
    Code code;
    code.id = q.getColumn(0).getInt64();
    code.type = parse_code_type(q.getColumn(1).getString()).value_or(CodeType::Primary);
    code.name = q.getColumn(2).getString();
    code.description = q.getColumn(3).getString();
    code.ou_id = q.getColumn(4).getInt64();
    code.ou_path = q.getColumn(5).getString();
    code.created_at = read_time(q.getColumn(6));
    code.deleted_at = read_optional_time(q.getColumn(7));
    return code;
}

constexpr const char* service_select =
    "SELECT s.id, s.name, s.ou_id, o.path, s.license, s.created_at "
    "FROM service s JOIN ou o ON o.id = s.ou_id ";

Service read_service(SQLite::Statement& q) {
    Service service;
    service.id = q.getColumn(0).getInt64();
    service.name = q.getColumn(1).getString();
    service.ou_id = q.getColumn(2).getInt64();
    service.ou_path = q.getColumn(3).getString();
    service.license = parse_license(q.getColumn(4).getString()).value_or(License::BasicRouting);
    service.created_at = read_time(q.getColumn(5));
    return service;
}

Timestamp from_seconds(std::int64_t seconds) {
    return Timestamp{std::chrono::seconds{seconds}};
}

std::int64_t to_seconds(Timestamp t) {
    return t.time_since_epoch().count();
}

constexpr const char* session_select =
    "SELECT s.id, s.external_id, s.service_id, v.name, o.path, s.user, s.direction, "
    "s.started_at, s.ended_at, s.outcome, s.caller, c.concluded_at, c.user, c.via, "
    "c.retroactive FROM session s JOIN service v ON v.id = s.service_id "
    "JOIN ou o ON o.id = v.ou_id LEFT JOIN conclusion c ON c.session_id = s.id ";

Session read_session(SQLite::Statement& q) {
    Session session;
    session.id = q.getColumn(0).getInt64();
    session.external_id = q.getColumn(1).getString();
    session.service_id = q.getColumn(2).getInt64();
    session.service_name = q.getColumn(3).getString();
    session.service_ou = q.getColumn(4).getString();
    session.user = q.getColumn(5).getString();
    session.direction = parse_direction(q.getColumn(6).getString()).value_or(Direction::Inbound);
    session.started_at = from_seconds(q.getColumn(7).getInt64());
    if (!q.getColumn(8).isNull()) {
        session.ended_at = from_seconds(q.getColumn(8).getInt64());
    }
    if (!q.getColumn(9).isNull()) {
        session.outcome = q.getColumn(9).getString();
    }
    session.caller = q.getColumn(10).getString();
    if (!q.getColumn(11).isNull()) {
        Conclusion conclusion;
        conclusion.at = from_seconds(q.getColumn(11).getInt64());
        conclusion.user = q.getColumn(12).getString();
        if (!q.getColumn(13).isNull()) {
            conclusion.via = q.getColumn(13).getString();
        }
        conclusion.retroactive = q.getColumn(14).getInt() != 0;
        session.conclusion = std::move(conclusion);
    }
    return session;
}

void bind_optional_time(SQLite::Statement& statement, int index,
                        const std::optional<Timestamp>& value) {
    if (value) {
        statement.bind(index, to_seconds(*value));
    } else {
        statement.bind(index);
    }
}

/// The local day of s.started_at: UTC seconds plus the zone's offset at that
/// time, floored to days. The offsets change only at transitions, so a short
/// CASE serves millions of rows.
std::string local_day_expression(const std::vector<OffsetSpan>& offsets) {
    std::string offset;
    if (offsets.size() == 1) {
        offset = std::to_string(offsets.front().offset_seconds);
    } else {
        offset = "CASE";
        for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
            offset += fmt::format(" WHEN s.started_at < {} THEN {}", to_seconds(offsets[i].until),
                                  offsets[i].offset_seconds);
        }
        offset += fmt::format(" ELSE {} END", offsets.back().offset_seconds);
    }
    // Sessions start after 1970 in practice, but floor, not truncate, all the same.
    return fmt::format(
        "((s.started_at + ({0})) - (((s.started_at + ({0})) % 86400) + 86400) % 86400) "
        "/ 86400",
        offset);
}

std::string id_list(const std::vector<std::int64_t>& ids) {
    std::string list;
    for (const std::int64_t id : ids) {
        list += (list.empty() ? "" : ", ") + std::to_string(id);
    }
    return list.empty() ? "NULL" : list;
}

/// The WHERE clause shared by both report queries: services, period, user.
std::string session_filter(const UsageQuery& query) {
    std::string where = fmt::format("s.service_id IN ({}) AND s.started_at >= :from AND "
                                    "s.started_at < :to",
                                    id_list(query.service_ids));
    if (query.user) {
        where += " AND s.user = :user";
    }
    return where;
}

void bind_session_filter(SQLite::Statement& q, const UsageQuery& query) {
    q.bind(":from", to_seconds(query.from));
    q.bind(":to", to_seconds(query.to));
    if (query.user) {
        q.bind(":user", *query.user);
    }
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
auto all_rows(SQLite::Statement& q, Read read) {
    std::vector<decltype(read(q))> result;
    while (q.executeStep()) {
        result.push_back(read(q));
    }
    return result;
}

/// The first row of `q` turned into a value by `read`, or nullopt.
template <class Read>
auto first_row(SQLite::Statement& q, Read read) -> std::optional<decltype(read(q))> {
    if (q.executeStep()) {
        return read(q);
    }
    return std::nullopt;
}

/// One transaction on the store's connection. Used as a ReadTransaction for
/// reads (BEGIN DEFERRED) and as a WriteTransaction for writes (BEGIN IMMEDIATE).
class SqliteTransaction final : public WriteTransaction {
public:
    SqliteTransaction(SQLite::Database& db, const SqliteStore& store, bool write)
        : db_(db)
        , store_(store) {
        guarded([&] { db_.exec(write ? "BEGIN IMMEDIATE" : "BEGIN"); });
        open_ = true;
    }

    ~SqliteTransaction() override {
        if (open_) {
            try {
                db_.exec("ROLLBACK");
            } catch (const SQLite::Exception&) {
                // Nothing more can be done; SQLite rolls back on close anyway.
            }
        }
    }

    SqliteTransaction(const SqliteTransaction&) = delete;
    SqliteTransaction& operator=(const SqliteTransaction&) = delete;

    std::vector<Ou> ous() override {
        return guarded([&] {
            SQLite::Statement q(db_,
                                fmt::format("SELECT {} FROM ou ORDER BY path_key", ou_columns));
            return all_rows(q, read_ou);
        });
    }

    std::optional<Ou> find_ou(std::string_view path_key) override {
        return guarded([&]() -> std::optional<Ou> {
            SQLite::Statement q(db_,
                                fmt::format("SELECT {} FROM ou WHERE path_key = ?", ou_columns));
            q.bind(1, std::string(path_key));
            return first_row(q, read_ou);
        });
    }

    std::optional<Ou> root_ou() override {
        return guarded([&]() -> std::optional<Ou> {
            SQLite::Statement q(
                db_, fmt::format("SELECT {} FROM ou WHERE parent_id IS NULL", ou_columns));
            return first_row(q, read_ou);
        });
    }

    std::vector<Code> codes(const CodeFilter& filter) override {
        return guarded([&] {
            std::string sql = code_select + std::string("WHERE 1 = 1 ");
            if (filter.type) {
                sql += "AND c.type = :type ";
            }
            if (!filter.include_deleted) {
                sql += "AND c.deleted_at IS NULL ";
            }
            sql += "ORDER BY c.type, o.path_key, c.name_key, c.id";
            SQLite::Statement q(db_, sql);
            if (filter.type) {
                q.bind(":type", std::string(to_string(*filter.type)));
            }
            return all_rows(q, read_code);
        });
    }

    std::optional<Code> find_code(std::int64_t id) override {
        return guarded([&]() -> std::optional<Code> {
            SQLite::Statement q(db_, code_select + std::string("WHERE c.id = ?"));
            q.bind(1, id);
            return first_row(q, read_code);
        });
    }

    std::vector<Code> find_codes_by_name(std::string_view name_key) override {
        return guarded([&] {
            SQLite::Statement q(db_,
                                code_select + std::string("WHERE c.name_key = ? ORDER BY c.type, "
                                                          "o.path_key, c.id"));
            q.bind(1, std::string(name_key));
            return all_rows(q, read_code);
        });
    }

    std::vector<Service> services() override {
        return guarded([&] {
            SQLite::Statement q(db_, service_select + std::string("ORDER BY s.name_key"));
            return all_rows(q, read_service);
        });
    }

    std::optional<Service> find_service(std::string_view name_key) override {
        return guarded([&] {
            SQLite::Statement q(db_, service_select + std::string("WHERE s.name_key = ?"));
            q.bind(1, std::string(name_key));
            return first_row(q, read_service);
        });
    }

    std::vector<Code> service_codes(std::int64_t service_id, CodeType list) override {
        return guarded([&] {
            SQLite::Statement q(db_, code_select + std::string("JOIN service_code l ON l.code_id = "
                                                               "c.id WHERE l.service_id = ? AND "
                                                               "l.list = ? ORDER BY l.position"));
            q.bind(1, service_id);
            q.bind(2, std::string(to_string(list)));
            return all_rows(q, read_code);
        });
    }

    std::vector<std::string> enabled_features(std::int64_t service_id) override {
        return guarded([&] {
            SQLite::Statement q(db_, "SELECT feature FROM service_extension WHERE service_id = ?");
            q.bind(1, service_id);
            return all_rows(q, [](SQLite::Statement& row) { return row.getColumn(0).getString(); });
        });
    }

    std::vector<Service> services_listing(std::int64_t code_id) override {
        return guarded([&] {
            SQLite::Statement q(db_, service_select +
                                         std::string("WHERE s.id IN (SELECT service_id FROM "
                                                     "service_code WHERE code_id = ?) "
                                                     "ORDER BY s.name_key"));
            q.bind(1, code_id);
            return all_rows(q, read_service);
        });
    }

    std::vector<OutcomeInfo> outcomes() override {
        return guarded([&] {
            SQLite::Statement q(
                db_, "SELECT name, outcome_group, direction FROM outcome ORDER BY position");
            return all_rows(q, [](SQLite::Statement& row) {
                OutcomeInfo outcome;
                outcome.name = row.getColumn(0).getString();
                outcome.group = row.getColumn(1).getString();
                if (!row.getColumn(2).isNull()) {
                    outcome.direction = parse_direction(row.getColumn(2).getString());
                }
                return outcome;
            });
        });
    }

    std::optional<Session> find_session(std::string_view external_id) override {
        return guarded([&]() -> std::optional<Session> {
            SQLite::Statement q(db_, session_select + std::string("WHERE s.external_id = ?"));
            q.bind(1, std::string(external_id));
            auto session = first_row(q, read_session);
            if (session && session->conclusion) {
                SQLite::Statement codes(db_, "SELECT code_id, type, name FROM conclusion_code "
                                             "WHERE session_id = ? ORDER BY position");
                codes.bind(1, session->id);
                session->conclusion->codes = all_rows(codes, [](SQLite::Statement& row) {
                    return ConcludedCode{
                        row.getColumn(0).getInt64(),
                        parse_code_type(row.getColumn(1).getString()).value_or(CodeType::Primary),
                        row.getColumn(2).getString()};
                });
                SQLite::Statement tags(db_, "SELECT tag FROM conclusion_tag WHERE session_id = ? "
                                            "ORDER BY position");
                tags.bind(1, session->id);
                session->conclusion->tags = all_rows(
                    tags, [](SQLite::Statement& row) { return row.getColumn(0).getString(); });
            }
            return session;
        });
    }

    std::vector<Session> sessions(const SessionQuery& query) override {
        return guarded([&] {
            std::string sql = session_select + std::string("WHERE 1 = 1 ");
            if (!query.everything) {
                sql += "AND (s.user = :own";
                for (std::size_t i = 0; i < query.service_ids.size(); ++i) {
                    sql += i == 0 ? " OR s.service_id IN (" : ", ";
                    sql += std::to_string(query.service_ids[i]);
                }
                sql += query.service_ids.empty() ? ") " : ")) ";
            }
            if (query.only_own) {
                sql += "AND s.user = :own ";
            }
            if (query.concluded) {
                sql += *query.concluded ? "AND c.session_id IS NOT NULL "
                                        : "AND c.session_id IS NULL ";
            }
            if (query.service_id) {
                sql += "AND s.service_id = :service ";
            }
            if (query.since) {
                sql += "AND s.started_at >= :since ";
            }
            sql += "ORDER BY s.started_at DESC, s.id DESC";
            if (query.limit) {
                sql += " LIMIT :limit";
            }
            SQLite::Statement q(db_, sql);
            if (!query.everything || query.only_own) {
                q.bind(":own", query.own_user);
            }
            if (query.service_id) {
                q.bind(":service", *query.service_id);
            }
            if (query.since) {
                q.bind(":since", to_seconds(*query.since));
            }
            if (query.limit) {
                q.bind(":limit", *query.limit);
            }
            return all_rows(q, read_session);
        });
    }

    std::vector<UsageCount> usage_counts(const UsageQuery& query) override {
        return guarded([&] {
            const bool codes = query.by_type || query.by_code;
            // A conclusion's codes and tags imply the conclusion: join it only when
            // neither is joined.
            std::string from = codes || query.by_tag ? "session s"
                                                     : "session s JOIN conclusion c ON "
                                                       "c.session_id = s.id";
            std::string where = session_filter(query);
            std::string code_filter;
            if (query.type) {
                code_filter += fmt::format(" AND {{0}}.type = '{}'", to_string(*query.type));
            }
            if (!query.code_ids.empty()) {
                code_filter += fmt::format(" AND {{0}}.code_id IN ({})", id_list(query.code_ids));
            }
            const std::string tag_filter = query.tag_keys.empty()
                                               ? std::string{}
                                               : " AND {0}.tag_key IN (SELECT value FROM "
                                                 "json_each(:tags))";
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
            std::vector<std::string> groups;
            const auto column = [&](bool used, std::string expression, std::string fallback) {
                if (used) {
                    groups.push_back(expression);
                    return expression;
                }
                return fallback;
            };
            const std::string day = column(query.by_day, local_day_expression(query.offsets), "0");
            const std::string service = column(query.by_service, "s.service_id", "0");
            const std::string user = column(query.by_user, "s.user", "''");
            const std::string type = column(query.by_type || query.by_code, "cc.type", "'primary'");
            const std::string code_id = column(query.by_code, "cc.code_id", "0");
            const std::string name =
                column(query.by_code, query.current_names ? "k.name" : "cc.name", "''");
            const std::string tag = column(query.by_tag, "ct.tag_key", "''");
            const std::string tag_text = query.by_tag ? "min(ct.tag)" : "''";
            // A session counts once per group: codes and tags are unique per
            // session, but several codes of one type are not.
            const std::string count =
                query.by_type && !query.by_code ? "count(DISTINCT s.id)" : "count(*)";
            std::string sql =
                fmt::format("SELECT {}, {}, {}, {}, {}, {}, {}, {}, {} FROM {} WHERE {}", day,
                            service, user, type, code_id, name, tag, tag_text, count, from, where);
            if (!groups.empty()) {
                sql += " GROUP BY ";
                for (std::size_t i = 0; i < groups.size(); ++i) {
                    sql += (i > 0 ? ", " : "") + groups[i];
                }
            }
            SQLite::Statement q(db_, sql);
            bind_session_filter(q, query);
            if (!query.tag_keys.empty()) {
                q.bind(":tags", nlohmann::json(query.tag_keys).dump());
            }
            std::vector<UsageCount> counts;
            while (q.executeStep()) {
                UsageCount row;
                row.day = q.getColumn(0).getInt64();
                row.service_id = q.getColumn(1).getInt64();
                row.user = q.getColumn(2).getString();
                row.type = parse_code_type(q.getColumn(3).getString()).value_or(CodeType::Primary);
                row.code_id = q.getColumn(4).getInt64();
                row.code_name = q.getColumn(5).getString();
                row.tag_key = q.getColumn(6).getString();
                row.tag = q.getColumn(7).getString();
                row.sessions = q.getColumn(8).getInt64();
                if (row.sessions > 0) {
                    counts.push_back(std::move(row));
                }
            }
            return counts;
        });
    }

    std::vector<SessionCount> session_counts(const UsageQuery& query) override {
        return guarded([&] {
            std::vector<std::string> groups;
            if (query.by_day) {
                groups.push_back(local_day_expression(query.offsets));
            }
            if (query.by_service) {
                groups.emplace_back("s.service_id");
            }
            if (query.by_user) {
                groups.emplace_back("s.user");
            }
            std::string sql = fmt::format(
                "SELECT {}, {}, {}, count(*), count(c.session_id), total(c.retroactive) "
                "FROM session s LEFT JOIN conclusion c ON c.session_id = s.id WHERE {}",
                query.by_day ? local_day_expression(query.offsets) : "0",
                query.by_service ? "s.service_id" : "0", query.by_user ? "s.user" : "''",
                session_filter(query));
            if (!groups.empty()) {
                sql += " GROUP BY ";
                for (std::size_t i = 0; i < groups.size(); ++i) {
                    sql += (i > 0 ? ", " : "") + groups[i];
                }
            }
            SQLite::Statement q(db_, sql);
            bind_session_filter(q, query);
            return all_rows(q, [](SQLite::Statement& row) {
                return SessionCount{row.getColumn(0).getInt64(),
                                    row.getColumn(1).getInt64(),
                                    row.getColumn(2).getString(),
                                    row.getColumn(3).getInt64(),
                                    row.getColumn(4).getInt64(),
                                    static_cast<std::int64_t>(row.getColumn(5).getDouble())};
            });
        });
    }

    void each_session(const ExportQuery& query,
                      const std::function<void(const Session&)>& visit) override {
        guarded([&] {
            SQLite::Statement q(db_, session_select + std::string("WHERE ") + export_filter(query) +
                                         " ORDER BY s.id");
            while (q.executeStep()) {
                visit(read_session(q));
            }
        });
    }

    void each_concluded_code(const ExportQuery& query,
                             const std::function<void(const ConcludedCodeRow&)>& visit) override {
        guarded([&] {
            SQLite::Statement q(db_, "SELECT cc.session_id, cc.position, cc.code_id, cc.type, "
                                     "cc.name FROM conclusion_code cc JOIN session s ON s.id = "
                                     "cc.session_id WHERE " +
                                         export_filter(query) +
                                         " ORDER BY cc.session_id, cc.position");
            while (q.executeStep()) {
                visit(ConcludedCodeRow{
                    q.getColumn(0).getInt64(), q.getColumn(1).getInt64(),
                    ConcludedCode{
                        q.getColumn(2).getInt64(),
                        parse_code_type(q.getColumn(3).getString()).value_or(CodeType::Primary),
                        q.getColumn(4).getString()}});
            }
        });
    }

    void each_concluded_tag(const ExportQuery& query,
                            const std::function<void(const ConcludedTagRow&)>& visit) override {
        guarded([&] {
            SQLite::Statement q(db_, "SELECT ct.session_id, ct.position, ct.tag FROM "
                                     "conclusion_tag ct JOIN session s ON s.id = ct.session_id "
                                     "WHERE " +
                                         export_filter(query) +
                                         " ORDER BY ct.session_id, ct.position");
            while (q.executeStep()) {
                visit(ConcludedTagRow{q.getColumn(0).getInt64(), q.getColumn(1).getInt64(),
                                      q.getColumn(2).getString()});
            }
        });
    }

    std::vector<AuditEntry> audit_entries(const AuditFilter& filter) override {
        return guarded([&] {
            std::string sql = "SELECT a.id, a.at, a.user, a.via, a.ou_id, o.path, a.action, "
                              "a.target, a.before, a.after FROM audit a "
                              "LEFT JOIN ou o ON o.id = a.ou_id WHERE 1 = 1 ";
            if (filter.since) {
                sql += "AND a.at >= :since ";
            }
            if (filter.user) {
                sql += "AND (a.user = :user OR a.via = :user) ";
            }
            sql += "ORDER BY a.id";
            SQLite::Statement q(db_, sql);
            if (filter.since) {
                q.bind(":since", timefmt::to_utc_string(*filter.since));
            }
            if (filter.user) {
                q.bind(":user", *filter.user);
            }
            return all_rows(q, [](SQLite::Statement& row) {
                AuditEntry entry;
                entry.id = row.getColumn(0).getInt64();
                entry.at = read_time(row.getColumn(1));
                entry.user = row.getColumn(2).getString();
                if (!row.getColumn(3).isNull()) {
                    entry.via = row.getColumn(3).getString();
                }
                if (!row.getColumn(4).isNull()) {
                    entry.ou_id = row.getColumn(4).getInt64();
                }
                entry.ou_path = text_or_empty(row.getColumn(5));
                entry.action = row.getColumn(6).getString();
                entry.target = row.getColumn(7).getString();
                entry.before = text_or_empty(row.getColumn(8));
                entry.after = text_or_empty(row.getColumn(9));
                return entry;
            });
        });
    }

    std::int64_t insert_ou(const NewOu& ou) override {
        return guarded([&] {
            SQLite::Statement q(db_, "INSERT INTO ou (parent_id, name, path, path_key, "
                                     "created_at) VALUES (?, ?, ?, ?, ?)");
            bind_optional(q, 1, ou.parent_id);
            q.bind(2, ou.name);
            q.bind(3, ou.path);
            q.bind(4, ou.path_key);
            q.bind(5, timefmt::to_utc_string(ou.created_at));
            q.exec();
            return db_.getLastInsertRowid();
        });
    }

    std::int64_t insert_code(const NewCode& code) override {
        return guarded([&] {
            SQLite::Statement q(db_, "INSERT INTO code (type, name, name_key, description, "
                                     "ou_id, created_at) VALUES (?, ?, ?, ?, ?, ?)");
            q.bind(1, std::string(to_string(code.type)));
            q.bind(2, code.name);
            q.bind(3, code.name_key);
            q.bind(4, code.description);
            q.bind(5, code.ou_id);
            q.bind(6, timefmt::to_utc_string(code.created_at));
            q.exec();
            return db_.getLastInsertRowid();
        });
    }

    void update_code(std::int64_t id, std::string_view name, std::string_view name_key,
                     std::string_view description) override {
        guarded([&] {
            SQLite::Statement q(
                db_, "UPDATE code SET name = ?, name_key = ?, description = ? WHERE id = ?");
            q.bind(1, std::string(name));
            q.bind(2, std::string(name_key));
            q.bind(3, std::string(description));
            q.bind(4, id);
            q.exec();
        });
    }

    void mark_code_deleted(std::int64_t id, Timestamp at) override {
        guarded([&] {
            SQLite::Statement q(db_, "UPDATE code SET deleted_at = ? WHERE id = ?");
            q.bind(1, timefmt::to_utc_string(at));
            q.bind(2, id);
            q.exec();
        });
    }

    std::int64_t insert_service(const NewService& service) override {
        return guarded([&] {
            SQLite::Statement q(db_, "INSERT INTO service (name, name_key, ou_id, license, "
                                     "created_at) VALUES (?, ?, ?, ?, ?)");
            q.bind(1, service.name);
            q.bind(2, service.name_key);
            q.bind(3, service.ou_id);
            q.bind(4, std::string(to_string(service.license)));
            q.bind(5, timefmt::to_utc_string(service.created_at));
            q.exec();
            return db_.getLastInsertRowid();
        });
    }

    void update_service(std::int64_t id, std::string_view name, std::string_view name_key,
                        License license) override {
        guarded([&] {
            SQLite::Statement q(
                db_, "UPDATE service SET name = ?, name_key = ?, license = ? WHERE id = ?");
            q.bind(1, std::string(name));
            q.bind(2, std::string(name_key));
            q.bind(3, std::string(to_string(license)));
            q.bind(4, id);
            q.exec();
        });
    }

    void replace_service_codes(std::int64_t service_id, CodeType list,
                               const std::vector<std::int64_t>& code_ids) override {
        guarded([&] {
            const std::string list_name(to_string(list));
            SQLite::Statement clear(db_,
                                    "DELETE FROM service_code WHERE service_id = ? AND list = ?");
            clear.bind(1, service_id);
            clear.bind(2, list_name);
            clear.exec();
            SQLite::Statement insert(db_, "INSERT INTO service_code (service_id, list, position, "
                                          "code_id) VALUES (?, ?, ?, ?)");
            std::int64_t position = 1;
            for (const std::int64_t code_id : code_ids) {
                insert.bind(1, service_id);
                insert.bind(2, list_name);
                insert.bind(3, position++);
                insert.bind(4, code_id);
                insert.exec();
                insert.reset();
            }
        });
    }

    void set_feature(std::int64_t service_id, std::string_view feature, bool enabled) override {
        guarded([&] {
            SQLite::Statement q(db_, enabled ? "INSERT OR IGNORE INTO service_extension "
                                               "(service_id, feature) VALUES (?, ?)"
                                             : "DELETE FROM service_extension WHERE service_id "
                                               "= ? AND feature = ?");
            q.bind(1, service_id);
            q.bind(2, std::string(feature));
            q.exec();
        });
    }

    std::optional<Session> insert_session_if_new(const CallData& call) override {
        return guarded([&]() -> std::optional<Session> {
            if (!session_exists_) {
                session_exists_ = std::make_unique<SQLite::Statement>(
                    db_, "SELECT id, service_id, user, direction, started_at, ended_at, outcome, "
                         "caller FROM session WHERE external_id = ?");
                insert_session_ = std::make_unique<SQLite::Statement>(
                    db_, "INSERT INTO session (external_id, service_id, user, direction, "
                         "started_at, ended_at, outcome, caller) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
            }
            // Look first: the store refuses any insert over a concluded session,
            // and a lean lookup is what almost every row of a new import needs.
            SQLite::Statement& exists = *session_exists_;
            exists.reset();
            exists.bindNoCopy(1, call.external_id);
            if (exists.executeStep()) {
                Session existing;
                existing.id = exists.getColumn(0).getInt64();
                existing.external_id = call.external_id;
                existing.service_id = exists.getColumn(1).getInt64();
                existing.user = exists.getColumn(2).getString();
                existing.direction =
                    parse_direction(exists.getColumn(3).getString()).value_or(Direction::Inbound);
                existing.started_at = from_seconds(exists.getColumn(4).getInt64());
                if (!exists.getColumn(5).isNull()) {
                    existing.ended_at = from_seconds(exists.getColumn(5).getInt64());
                }
                if (!exists.getColumn(6).isNull()) {
                    existing.outcome = exists.getColumn(6).getString();
                }
                existing.caller = exists.getColumn(7).getString();
                exists.reset();
                return existing;
            }
            exists.reset();
            // The strings outlive the statement's execution: no copies needed.
            SQLite::Statement& insert = *insert_session_;
            insert.reset();
            insert.bindNoCopy(1, call.external_id);
            insert.bind(2, call.service_id);
            insert.bindNoCopy(3, call.user);
            insert.bindNoCopy(4, to_string(call.direction).data());
            insert.bind(5, to_seconds(call.started_at));
            bind_optional_time(insert, 6, call.ended_at);
            if (call.outcome) {
                insert.bindNoCopy(7, *call.outcome);
            } else {
                insert.bind(7);
            }
            insert.bindNoCopy(8, call.caller);
            insert.exec();
            if (defer_indexes_ && rebuild_indexes_.empty()) {
                drop_session_indexes();
            }
            return std::nullopt;
        });
    }

    void expect_bulk_writes(std::size_t expected_rows) override {
        guarded([&] {
            // A bounded cache that holds the hot index pages of a large import;
            // it does not grow with the input.
            db_.exec("PRAGMA cache_size = -65536");
            // When the import is large next to the table (max(id) counts its
            // rows without a scan), building the secondary indexes afresh at
            // commit beats a random B-tree insert per row and index. They are
            // dropped at the first new row, so that a re-import of known rows
            // never pays for a rebuild; dropping them later, after many inserts,
            // costs more than it saves.
            const auto stored = static_cast<std::size_t>(
                db_.execAndGet("SELECT coalesce(max(id), 0) FROM session").getInt64());
            defer_indexes_ = expected_rows >= 100'000 && expected_rows >= stored / 2;
        });
    }

    void complete_session(std::int64_t id, Timestamp ended_at, std::string_view outcome) override {
        guarded([&] {
            SQLite::Statement q(db_, "UPDATE session SET ended_at = ?, outcome = ? WHERE id = ?");
            q.bind(1, to_seconds(ended_at));
            q.bind(2, std::string(outcome));
            q.bind(3, id);
            q.exec();
        });
    }

    void insert_conclusion(const NewConclusion& entry) override {
        guarded([&] {
            const Conclusion& conclusion = entry.conclusion;
            SQLite::Statement q(db_, "INSERT INTO conclusion (session_id, concluded_at, user, via, "
                                     "retroactive, code_count, tag_count) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?)");
            q.bind(1, entry.session_id);
            q.bind(2, to_seconds(conclusion.at));
            q.bind(3, conclusion.user);
            bind_optional(q, 4, conclusion.via);
            q.bind(5, conclusion.retroactive ? 1 : 0);
            q.bind(6, static_cast<std::int64_t>(conclusion.codes.size()));
            q.bind(7, static_cast<std::int64_t>(conclusion.tags.size()));
            q.exec();
            SQLite::Statement code(db_, "INSERT INTO conclusion_code (session_id, position, "
                                        "code_id, type, name) VALUES (?, ?, ?, ?, ?)");
            std::int64_t position = 1;
            for (const ConcludedCode& concluded : conclusion.codes) {
                code.reset();
                code.bind(1, entry.session_id);
                code.bind(2, position++);
                code.bind(3, concluded.code_id);
                code.bind(4, std::string(to_string(concluded.type)));
                code.bind(5, concluded.name);
                code.exec();
            }
            SQLite::Statement tag(db_, "INSERT INTO conclusion_tag (session_id, position, tag, "
                                       "tag_key) VALUES (?, ?, ?, ?)");
            for (std::size_t i = 0; i < conclusion.tags.size(); ++i) {
                tag.reset();
                tag.bind(1, entry.session_id);
                tag.bind(2, static_cast<std::int64_t>(i + 1));
                tag.bind(3, conclusion.tags[i]);
                tag.bind(4, entry.tag_keys.at(i));
                tag.exec();
            }
        });
    }

    void append_audit(const NewAuditEntry& entry) override {
        guarded([&] {
            SQLite::Statement q(db_, "INSERT INTO audit (at, user, via, ou_id, action, target, "
                                     "before, after) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
            q.bind(1, timefmt::to_utc_string(entry.at));
            q.bind(2, entry.user);
            bind_optional(q, 3, entry.via);
            bind_optional(q, 4, entry.ou_id);
            q.bind(5, entry.action);
            q.bind(6, entry.target);
            bind_text_or_null(q, 7, entry.before);
            bind_text_or_null(q, 8, entry.after);
            q.exec();
        });
    }

    /// Drops the session table's secondary indexes, to be made again at
    /// commit. Their definitions are read back from the schema, so the rebuilt
    /// ones are exactly the old ones; inside the transaction, a failure or a
    /// crash restores them, and other connections only ever see them in place.
    void drop_session_indexes() {
        std::vector<std::string> names;
        {
            SQLite::Statement q(db_, "SELECT name, sql FROM sqlite_schema WHERE type = 'index' "
                                     "AND tbl_name = 'session' AND sql IS NOT NULL");
            while (q.executeStep()) {
                names.push_back(q.getColumn(0).getString());
                rebuild_indexes_.push_back(q.getColumn(1).getString());
            }
        }
        for (const std::string& name : names) {
            db_.exec(fmt::format("DROP INDEX \"{}\"", name));
        }
    }

    void commit() override {
        guarded([&] {
            if (!rebuild_indexes_.empty()) {
                // The sorts that build the indexes take as much memory again as
                // the cache allows; a smaller cache keeps the peak down.
                db_.exec("PRAGMA cache_size = -16384");
            }
            for (const std::string& index : rebuild_indexes_) {
                db_.exec(index);
            }
            db_.exec("COMMIT");
        });
        open_ = false;
    }

private:
    template <class Body>
    auto guarded(Body&& body) -> decltype(body()) {
        try {
            return body();
        } catch (const SQLite::Exception& e) {
            throw translate(e, store_.location(), store_.busy_timeout());
        }
    }

    SQLite::Database& db_;
    const SqliteStore& store_;
    bool open_ = false;
    // Prepared once per transaction: an import runs them once per row.
    std::unique_ptr<SQLite::Statement> session_exists_;
    std::unique_ptr<SQLite::Statement> insert_session_;
    bool defer_indexes_ = false;               ///< a bulk import: session indexes wait for commit
    std::vector<std::string> rebuild_indexes_; ///< dropped for a bulk import, made again at commit
};

/// What the header of a SQLite file says about it.
struct Header {
    int application = 0;
    int version = 0;
    bool has_tables = false;
};

Header read_header(SQLite::Database& db) {
    Header header;
    header.application = db.execAndGet("PRAGMA application_id").getInt();
    header.version = db.execAndGet("PRAGMA user_version").getInt();
    header.has_tables = db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt() > 0;
    return header;
}

/// Refuses stores this binary must not touch: foreign files and newer schemas.
void check_header(const Header& header, const std::string& location) {
    if (header.application != application_id && (header.application != 0 || header.has_tables)) {
        throw Error(ErrorKind::Config,
                    fmt::format("{} is a SQLite database of another application "
                                "(application_id {:#x}), not a nimbus-codes store",
                                location, static_cast<unsigned>(header.application)),
                    "check --store and NIMBUS_CODES_STORE");
    }
    if (header.version > latest_version()) {
        throw Error(ErrorKind::Config,
                    fmt::format("store {} has schema version {}, newer than this nimbus-codes "
                                "understands ({})",
                                location, header.version, latest_version()),
                    "upgrade nimbus-codes; the store was left untouched");
    }
}

} // namespace

SqliteStore::SqliteStore(std::string path, std::unique_ptr<BusyWait> busy,
                         std::unique_ptr<SQLite::Database> db,
                         std::chrono::milliseconds busy_timeout, int version)
    : location_(std::move(path))
    , busy_(std::move(busy))
    , db_(std::move(db))
    , busy_timeout_(busy_timeout)
    , version_(version) {}

SqliteStore::~SqliteStore() = default;

std::unique_ptr<ReadTransaction> SqliteStore::begin_read() {
    return std::make_unique<SqliteTransaction>(*db_, *this, false);
}

std::unique_ptr<WriteTransaction> SqliteStore::begin_write() {
    return std::make_unique<SqliteTransaction>(*db_, *this, true);
}

namespace {} // namespace

/// Waits for another writer's lock in short, jittered naps until the deadline.
/// SQLite's own handler backs off to 100 ms naps, so under contention a writer
/// often sleeps on long after the lock is free; short naps keep the wait close
/// to the other writer's transaction, and jitter keeps waiters from waking in step.
class BusyWait {
public:
    explicit BusyWait(std::chrono::milliseconds timeout)
        : timeout_(timeout)
        , random_(std::random_device{}()) {}

    static int handler(void* self, int attempt) {
        return static_cast<BusyWait*>(self)->wait(attempt) ? 1 : 0;
    }

private:
    bool wait(int attempt) {
        const auto now = std::chrono::steady_clock::now();
        if (attempt == 0) {
            deadline_ = now + timeout_;
        }
        if (now >= deadline_) {
            return false;
        }
        std::uniform_int_distribution<int> nap_us(200, 2000);
        const auto nap = std::min<std::chrono::steady_clock::duration>(
            std::chrono::microseconds(nap_us(random_)), deadline_ - now);
        std::this_thread::sleep_for(nap);
        return true;
    }

    std::chrono::milliseconds timeout_;
    std::chrono::steady_clock::time_point deadline_{};
    std::minstd_rand random_;
};

namespace {

std::unique_ptr<SQLite::Database> connect(const std::string& path, int flags, BusyWait& busy) {
    // One connection per process, used by one thread: SQLite's own mutexes are
    // not needed, nor its memory statistics (a global lock on every allocation).
    // That must be set before SQLite starts, hence here, before the first open.
    static const bool quiet_memory = [] {
        return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    }();
    (void)quiet_memory;
    auto db = std::make_unique<SQLite::Database>(path, flags | SQLite::OPEN_NOMUTEX);
    sqlite3_busy_handler(db->getHandle(), &BusyWait::handler, &busy);
    // Conclusions are permanent records: every commit reaches the disk before
    // it is acknowledged, and references are always checked.
    db->exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL");
    return db;
}

} // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        throw Error(ErrorKind::InputMissing, fmt::format("store {} is a folder, not a file", path),
                    "point --store or NIMBUS_CODES_STORE at the store file");
    }
    if (!std::filesystem::exists(path, ec)) {
        throw Error(ErrorKind::InputMissing, fmt::format("store {} does not exist", path),
                    "create it with 'nimbus-codes init', or point --store or "
                    "NIMBUS_CODES_STORE at an existing store");
    }
    try {
        auto busy = std::make_unique<BusyWait>(options.busy_timeout);
        auto db = connect(path, SQLite::OPEN_READWRITE, *busy);
        const Header header = read_header(*db);
        check_header(header, path);
        if (header.application == 0) {
            throw Error(ErrorKind::InputMissing, fmt::format("store {} is not initialised", path),
                        "initialise it with 'nimbus-codes init'");
        }
        if (header.version < latest_version()) {
            throw Error(ErrorKind::Config,
                        fmt::format("store {} has schema version {}; this nimbus-codes needs {}",
                                    path, header.version, latest_version()),
                        "upgrade the store with 'nimbus-codes init'");
        }
        return std::make_unique<SqliteStore>(path, std::move(busy), std::move(db),
                                             options.busy_timeout, header.version);
    } catch (const SQLite::Exception& e) {
        throw translate(e, path, options.busy_timeout);
    }
}

InitReport initialise_sqlite_store(const std::string& path, const StoreOptions& options,
                                   const Seed& seed) {
    const std::filesystem::path file(path);
    std::error_code ec;
    if (file.has_parent_path()) {
        std::filesystem::create_directories(file.parent_path(), ec);
        if (ec) {
            throw Error(ErrorKind::CannotWrite,
                        fmt::format("cannot create folder {}: {}", file.parent_path().string(),
                                    ec.message()));
        }
    }
    try {
        auto busy = std::make_unique<BusyWait>(options.busy_timeout);
        auto db = connect(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, *busy);
        Header header = read_header(*db);
        check_header(header, path);
        if (header.version < latest_version()) {
            // WAL lets readers (reports) run while a writer concludes; it is a
            // property of the file, so it is set once here, outside a transaction.
            db->exec("PRAGMA journal_mode = WAL");
        }
        SQLite::Database& raw = *db;
        InitReport report;
        report.version = latest_version();
        report.store = std::make_unique<SqliteStore>(path, std::move(busy), std::move(db),
                                                     options.busy_timeout, latest_version());
        // Migrations and the seed share one transaction: a store is either not
        // touched at all or fully set up.
        SqliteTransaction tx(raw, static_cast<const SqliteStore&>(*report.store), true);
        header = read_header(raw); // another process may have initialised it meanwhile
        check_header(header, path);
        report.previous_version = header.version;
        if (header.version < latest_version()) {
            for (const Migration& migration : sqlite_migrations()) {
                if (migration.version > header.version) {
                    raw.exec(std::string(migration.sql));
                }
            }
            raw.exec(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}",
                                 application_id, latest_version()));
        }
        seed(tx);
        tx.commit();
        return report;
    } catch (const SQLite::Exception& e) {
        throw translate(e, path, options.busy_timeout);
    }
}

} // namespace nimbus::store
