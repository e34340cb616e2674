#include <nimbus/store/postgresql/postgresql_store.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

#include <poll.h>
#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/store/guards.hpp>
#include <nimbus/store/migration.hpp>
#include <nimbus/store/postgresql/conninfo.hpp>
#include <nimbus/store/postgresql/libpq.hpp>
#include <nimbus/store/sql/sql_transaction.hpp>

namespace nimbus::store {
namespace {

/// Marks a database as a nimbus-codes store, as SQLite's application_id does,
/// and names the lock that lets one writer in at a time.
constexpr std::int64_t application_id = 0x4E434453;

// Parameter types: libpq sends every value as text, typed so that the server
// needs no guess.
constexpr Oid int8_type = 20;
constexpr Oid text_type = 25;

const libpq::Api& pq() {
    return libpq::api();
}

int latest_version() {
    return postgresql_migrations().back().version;
}

struct ResultDeleter {
    void operator()(PGresult* result) const { pq().PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnectionDeleter {
    void operator()(PGconn* connection) const { pq().PQfinish(connection); }
};
using ConnectionPtr = std::unique_ptr<PGconn, ConnectionDeleter>;

std::string first_line(std::string_view message) {
    const auto end = message.find('\n');
    return std::string(message.substr(0, end));
}

std::string field(const PGresult* result, int code) {
    const char* value = result == nullptr ? nullptr : pq().PQresultErrorField(result, code);
    return value == nullptr ? std::string{} : std::string(value);
}

/// The shared SQL's `?` parameters as PostgreSQL's `$1`, `$2`, ...; quoted
/// text is left alone. Gives the count too.
std::pair<std::string, int> numbered_parameters(std::string_view sql) {
    std::string numbered;
    numbered.reserve(sql.size() + 16);
    int count = 0;
    char quote = 0;
    for (const char c : sql) {
        if (quote != 0) {
            quote = c == quote ? 0 : quote;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '?') {
            numbered += fmt::format("${}", ++count);
            continue;
        }
        numbered += c;
    }
    return {numbered, count};
}

/// The server, as messages name it: "HOST:PORT".
std::string server_of(PGconn* connection) {
    const char* host = pq().PQhost(connection);
    const char* port = pq().PQport(connection);
    return fmt::format("{}:{}", host != nullptr && *host != '\0' ? host : "localhost",
                       port != nullptr && *port != '\0' ? port : "5432");
}

class PostgresqlConnection;

/// A statement run with libpq's extended protocol in single-row mode, so that
/// an export of millions of sessions streams instead of filling memory.
class PostgresqlStatement final : public sql::Statement {
public:
    PostgresqlStatement(PostgresqlConnection& connection, std::string_view sql);
    ~PostgresqlStatement() override { drain(); }

    PostgresqlStatement(const PostgresqlStatement&) = delete;
    PostgresqlStatement& operator=(const PostgresqlStatement&) = delete;

    void bind(int index, std::int64_t value) override {
        set(index, std::to_string(value), int8_type);
    }
    void bind(int index, std::string_view text) override {
        set(index, std::string(text), text_type);
    }
    void bind_null(int index) override { set(index, std::nullopt, 0); }

    bool step() override;
    void reset() override {
        drain();
        row_.reset();
        started_ = false;
        finished_ = false;
    }

    bool is_null(int column) const override { return pq().PQgetisnull(row(), 0, column) != 0; }
    std::int64_t integer(int column) const override;
    std::string text(int column) const override {
        return std::string(pq().PQgetvalue(row(), 0, column),
                           static_cast<std::size_t>(pq().PQgetlength(row(), 0, column)));
    }

private:
    void set(int index, std::optional<std::string> value, Oid type);
    const PGresult* row() const;
    /// Reads and drops what is left of the results, so the connection is free.
    void drain() noexcept;

    PostgresqlConnection& connection_;
    std::string sql_;
    std::vector<std::optional<std::string>> values_;
    std::vector<Oid> types_;
    ResultPtr row_;
    bool started_ = false;
    bool finished_ = false;
};

/// The store's one connection, and how its failures read.
class PostgresqlConnection final : public sql::Connection {
public:
    PostgresqlConnection(std::string location, ConnectionPtr connection,
                         std::chrono::milliseconds busy_timeout)
        : location_(std::move(location))
        , connection_(std::move(connection))
        , busy_timeout_(busy_timeout) {}

    std::unique_ptr<sql::Statement> prepare(std::string_view sql) override {
        return std::make_unique<PostgresqlStatement>(*this, sql);
    }

    void execute(std::string_view sql) override { run(sql); }

    /// Runs SQL without parameters and gives its last result.
    ResultPtr run(std::string_view sql) {
        ResultPtr result(pq().PQexec(handle(), std::string(sql).c_str()));
        const ExecStatusType status = pq().PQresultStatus(result.get());
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            fail(result.get());
        }
        return result;
    }

    /// The first value of the first row of a query.
    std::string value(std::string_view sql) {
        const ResultPtr result = run(sql);
        return std::string(pq().PQgetvalue(result.get(), 0, 0));
    }

    /// `text` as a SQL string literal (standard_conforming_strings, on since
    /// PostgreSQL 9.1: only the quote is doubled).
    static std::string literal(std::string_view text) {
        std::string quoted = "'";
        for (const char c : text) {
            quoted += c == '\'' ? std::string("''") : std::string(1, c);
        }
        return quoted + "'";
    }

    /// Starts `COPY ... FROM STDIN`: until `end_copy`, the connection takes
    /// only rows.
    void begin_copy(std::string_view sql) {
        const ResultPtr result(pq().PQexec(handle(), std::string(sql).c_str()));
        if (pq().PQresultStatus(result.get()) != PGRES_COPY_IN) {
            fail(result.get());
        }
    }
    /// Sends rows in COPY's text format.
    void put_copy(std::string_view rows) {
        if (pq().PQputCopyData(handle(), rows.data(), static_cast<int>(rows.size())) != 1) {
            fail(nullptr);
        }
    }
    /// Ends the COPY; its failure (a broken key, a trigger) is thrown here.
    /// With `abandon`, the rows sent are discarded and nothing is thrown.
    void end_copy(bool abandon = false) {
        if (pq().PQputCopyEnd(handle(), abandon ? "abandoned" : nullptr) != 1) {
            // The connection is gone: no result will come.
            if (abandon) {
                return;
            }
            fail(nullptr);
        }
        ResultPtr result(pq().PQgetResult(handle()));
        for (PGresult* rest = pq().PQgetResult(handle()); rest != nullptr;
             rest = pq().PQgetResult(handle())) {
            pq().PQclear(rest);
        }
        if (!abandon && pq().PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
            fail(result.get());
        }
    }

    PGconn* handle() const { return connection_.get(); }
    const std::string& location() const { return location_; }
    std::chrono::milliseconds busy_timeout() const { return busy_timeout_; }

    /// Whether the store holds a roster its server enforces, as last read on
    /// this connection (nimbus_enforced()); none before it was read.
    std::optional<bool> roster_enforced;

    /// Throws the library's error for a failed result (or, without one, for
    /// the connection's last failure).
    [[noreturn]] void fail(const PGresult* result) const;

private:
    std::string location_;
    ConnectionPtr connection_;
    std::chrono::milliseconds busy_timeout_;
};

void PostgresqlConnection::fail(const PGresult* result) const {
    const std::string state = field(result, PG_DIAG_SQLSTATE);
    std::string message = field(result, PG_DIAG_MESSAGE_PRIMARY);
    if (message.empty()) {
        message = first_line(result != nullptr ? pq().PQresultErrorMessage(result)
                                               : pq().PQerrorMessage(handle()));
    }
    const std::string server = server_of(handle());
    if (pq().PQstatus(handle()) == CONNECTION_BAD || state.starts_with("08") || state == "57P01" ||
        state == "57P02" || state == "57P03") {
        throw Error(ErrorKind::Busy,
                    fmt::format("lost the connection to PostgreSQL server {}: {}", server, message),
                    "check the server and the network, then retry");
    }
    if (state == "55P03" || state == "57014") {
        throw Error(ErrorKind::Busy,
                    fmt::format("store {} stayed locked by another process for {} ms", location_,
                                busy_timeout_.count()),
                    "retry, or wait longer with --busy-timeout MS");
    }
    if (state == "40001" || state == "40P01") {
        throw Error(ErrorKind::Retry,
                    fmt::format("store {}: a concurrent transaction got in the way: {}", location_,
                                message),
                    "retry");
    }
    if (state == "53100") {
        throw Error(ErrorKind::CannotWrite,
                    fmt::format("store {}: the disk of the PostgreSQL server {} is full; nothing "
                                "was changed ({})",
                                location_, server, message),
                    "the server's administrator must free space on it; then run the command "
                    "again");
    }
    if (state == "25006") {
        throw Error(ErrorKind::CannotWrite, fmt::format("store {} is read-only", location_),
                    "connect to the primary server, not a standby");
    }
    if (state == "42501") {
        throw Error(
            ErrorKind::CannotWrite,
            fmt::format("store {}: the database role may not do this: {}", location_, message),
            "see 'The database role' in docs/postgresql.md");
    }
    if (state == "53300") {
        throw Error(ErrorKind::Busy,
                    fmt::format("PostgreSQL server {} has too many connections", server),
                    "retry later");
    }
    throw Error(ErrorKind::Internal, fmt::format("store {}: {}", location_, message));
}

PostgresqlStatement::PostgresqlStatement(PostgresqlConnection& connection, std::string_view sql)
    : connection_(connection) {
    auto [numbered, count] = numbered_parameters(sql);
    sql_ = std::move(numbered);
    values_.resize(static_cast<std::size_t>(count));
    types_.resize(static_cast<std::size_t>(count), 0);
}

void PostgresqlStatement::set(int index, std::optional<std::string> value, Oid type) {
    if (index < 1 || static_cast<std::size_t>(index) > values_.size()) {
        throw Error(ErrorKind::Internal,
                    fmt::format("parameter {} of {} bound in: {}", index, values_.size(), sql_));
    }
    values_[static_cast<std::size_t>(index) - 1] = std::move(value);
    types_[static_cast<std::size_t>(index) - 1] = type;
}

bool PostgresqlStatement::step() {
    PGconn* connection = connection_.handle();
    if (!started_) {
        std::vector<const char*> values;
        values.reserve(values_.size());
        for (const auto& value : values_) {
            values.push_back(value ? value->c_str() : nullptr);
        }
        if (pq().PQsendQueryParams(connection, sql_.c_str(), static_cast<int>(values.size()),
                                   types_.data(), values.data(), nullptr, nullptr, 0) == 0) {
            connection_.fail(nullptr);
        }
        started_ = true;
        pq().PQsetSingleRowMode(connection);
    }
    if (finished_) {
        return false;
    }
    row_.reset(pq().PQgetResult(connection));
    switch (pq().PQresultStatus(row_.get())) {
    case PGRES_SINGLE_TUPLE: return true;
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
        row_.reset();
        drain();
        return false;
    default: {
        const ResultPtr failed = std::move(row_);
        drain();
        connection_.fail(failed.get());
    }
    }
}

std::int64_t PostgresqlStatement::integer(int column) const {
    const char* text = pq().PQgetvalue(row(), 0, column);
    const char* end = text + pq().PQgetlength(row(), 0, column);
    std::int64_t value = 0;
    const auto [rest, error] = std::from_chars(text, end, value);
    // A sum arrives as numeric: "12" or, in principle, "12.0"; never "12.5".
    const bool whole = rest == end || (*rest == '.' &&
                                       std::all_of(rest + 1, end, [](char c) { return c == '0'; }));
    if (error != std::errc{} || !whole) {
        throw Error(ErrorKind::Internal,
                    fmt::format("store {}: \"{}\" is not an integer", connection_.location(),
                                std::string_view(text, static_cast<std::size_t>(end - text))));
    }
    return value;
}

const PGresult* PostgresqlStatement::row() const {
    if (!row_) {
        throw Error(ErrorKind::Internal, fmt::format("no current row in: {}", sql_));
    }
    return row_.get();
}

void PostgresqlStatement::drain() noexcept {
    if (started_ && !finished_) {
        while (PGresult* rest = pq().PQgetResult(connection_.handle())) {
            pq().PQclear(rest);
        }
    }
    finished_ = true;
}

/// Appends one row in COPY's text format: tab-separated, \N for NULL, and
/// backslash escapes for the characters that would end a value or a row.
void append_copy_row(std::string& out, const std::vector<StoredValue>& values) {
    bool first = true;
    for (const StoredValue& value : values) {
        if (!first) {
            out += '\t';
        }
        first = false;
        if (const auto* number = std::get_if<std::int64_t>(&value)) {
            out += std::to_string(*number);
        } else if (const auto* text = std::get_if<std::string>(&value)) {
            for (const char c : *text) {
                switch (c) {
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default: out += c;
                }
            }
        } else {
            out += "\\N";
        }
    }
    out += '\n';
}

/// The schema objects of the store's schema as the server describes them,
/// the schema's name left out so that a store in another schema compares the
/// same: table columns (and row level security), constraints, indexes,
/// triggers (with whether they are enabled), rules, policies and functions
/// (pg_get_functiondef: their source and settings). Rules and policies can
/// rewrite or hide rows as surely as a trigger can.
constexpr const char* guards_sql = R"(
WITH s AS (SELECT oid, quote_ident(nspname) || '.' AS prefix, nspname FROM pg_namespace
           WHERE nspname = current_schema()),
tables AS (SELECT c.oid, c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c, s
           WHERE c.relnamespace = s.oid AND c.relkind = 'r')
SELECT 'table', t.relname, t.relname,
       string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                  || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                  || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
                  || coalesce(' collate ' || co.collname, '')
                  || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''),
                  ', ' ORDER BY a.attnum)
       || CASE WHEN t.relrowsecurity THEN '; row level security' ELSE '' END
       || CASE WHEN t.relforcerowsecurity THEN ' forced' ELSE '' END
FROM tables t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = t.oid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND co.collname <> 'default'
GROUP BY t.relname, t.relrowsecurity, t.relforcerowsecurity
UNION ALL
SELECT 'constraint', t.relname, k.conname, replace(pg_get_constraintdef(k.oid), s.prefix, '')
FROM tables t JOIN pg_constraint k ON k.conrelid = t.oid, s
UNION ALL
SELECT 'index', t.relname, i.relname, replace(pg_get_indexdef(i.oid), s.prefix, '')
FROM tables t JOIN pg_index x ON x.indrelid = t.oid JOIN pg_class i ON i.oid = x.indexrelid, s
UNION ALL
SELECT 'trigger', t.relname, g.tgname,
       replace(pg_get_triggerdef(g.oid), s.prefix, '') || ' ENABLED ' || g.tgenabled::text
FROM tables t JOIN pg_trigger g ON g.tgrelid = t.oid AND NOT g.tgisinternal, s
UNION ALL
SELECT 'rule', t.relname, r.rulename, replace(pg_get_ruledef(r.oid), s.prefix, '')
FROM tables t JOIN pg_rewrite r ON r.ev_class = t.oid, s
UNION ALL
SELECT 'policy', t.relname, p.polname,
       replace(format('CREATE POLICY %I ON %I AS %s FOR %s TO %s%s%s', p.polname, t.relname,
                      CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                      CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                    WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                      (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC'
                                              ELSE quote_ident(pg_get_userbyid(r)) END, ', ')
                       FROM unnest(p.polroles) r),
                      coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', ''),
                      coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')',
                               '')),
               s.prefix, '')
FROM tables t JOIN pg_policy p ON p.polrelid = t.oid, s
UNION ALL
SELECT 'function', '', p.proname,
       replace(replace(pg_get_functiondef(p.oid), s.prefix, ''),
               'search_path TO ' || quote_literal(s.nspname), 'search_path TO <schema>')
FROM pg_proc p, s WHERE p.pronamespace = s.oid AND p.prokind = 'f'
ORDER BY 1, 2, 3)";

/// How a transaction begins.
enum class Begin {
    Read,          ///< one snapshot, read only
    Write,         ///< after the writers' lock
    UnlockedWrite, ///< on a store that enforces a roster: nobody's lock to wait for
};

/// One transaction. Reads see one snapshot (REPEATABLE READ, READ ONLY), as a
/// SQLite read transaction does. Writers take one advisory lock first, so they
/// run one at a time, as SQLite's do: every check a command makes stays true
/// until it commits, and a writer waits for the lock up to the busy timeout.
/// On a store whose server enforces a roster, any role could take that lock
/// and keep it, so writers take none: SERIALIZABLE keeps every check true
/// instead (a transaction that a concurrent one got in the way of fails with
/// Retry and runs again), and ledger entries are chained after the commit.
class PostgresqlTransaction final : public sql::SqlTransaction {
public:
    PostgresqlTransaction(PostgresqlConnection& connection, Begin begin)
        : SqlTransaction(connection)
        , connection_(connection)
        , writes_(begin != Begin::Read)
        , unlocked_(begin == Begin::UnlockedWrite) {
        try {
            if (unlocked_) {
                connection_.execute(
                    fmt::format("BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL lock_timeout = {}; "
                                "SELECT set_config('synchronous_commit', 'on', true) "
                                "WHERE current_setting('synchronous_commit') = 'off'",
                                std::max<std::int64_t>(1, connection_.busy_timeout().count())));
                leave_ledger_entries_pending();
            } else if (begin == Begin::Write) {
                // lock_timeout 0 would mean no limit at all. A server set to
                // acknowledge commits before they are on disk is overruled:
                // an acknowledged conclusion must survive a crash.
                connection_.execute(fmt::format(
                    "BEGIN; SET LOCAL lock_timeout = {}; "
                    "SELECT set_config('synchronous_commit', 'on', true) "
                    "WHERE current_setting('synchronous_commit') = 'off'; "
                    "SELECT pg_advisory_xact_lock({})",
                    std::max<std::int64_t>(1, connection_.busy_timeout().count()), application_id));
            } else {
                connection_.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
            }
        } catch (const Error&) {
            rollback();
            throw;
        }
        open_ = true;
    }

    /// Leaves this transaction's ledger entries pending, to be chained after
    /// its commit, as the writers of a store that enforces a roster do.
    void chain_after_commit() {
        leave_ledger_entries_pending();
        unlocked_ = true;
    }

    ~PostgresqlTransaction() override {
        if (open_) {
            rollback();
        }
    }

    PostgresqlTransaction(const PostgresqlTransaction&) = delete;
    PostgresqlTransaction& operator=(const PostgresqlTransaction&) = delete;

    std::vector<Guard> guards() override {
        const ResultPtr result = connection_.run(guards_sql);
        std::vector<Guard> guards;
        for (int row = 0; row < pq().PQntuples(result.get()); ++row) {
            const auto value = [&](int column) {
                return std::string(
                    pq().PQgetvalue(result.get(), row, column),
                    static_cast<std::size_t>(pq().PQgetlength(result.get(), row, column)));
            };
            guards.push_back(Guard{value(0), value(1), value(2), value(3)});
        }
        return guards;
    }

    void restore_guards(const std::vector<GuardDifference>& differences) override {
        using Kind = GuardDifference::Kind;
        const auto quoted = [](const std::string& name) {
            return "\"" + name + "\"";
        };
        const auto run = [&](Kind wanted, const char* kind, auto&& statement) {
            for (const GuardDifference& difference : differences) {
                if (difference.guard.kind == kind &&
                    (wanted == Kind::Missing ? difference.kind != Kind::Added
                                             : difference.kind != Kind::Missing)) {
                    connection_.execute(statement(difference.guard));
                }
            }
        };
        // Row level security is put back as the schema has it (on for the
        // tables its policies guard, never forced on the owner); any other
        // change to a table cannot be undone, and is refused below.
        run(Kind::Changed, "table", [&](const Guard& g) {
            return fmt::format("ALTER TABLE {0} NO FORCE ROW LEVEL SECURITY; ALTER TABLE {0} "
                               "{1} ROW LEVEL SECURITY",
                               quoted(g.name),
                               g.definition.ends_with("; row level security") ? "ENABLE"
                                                                              : "DISABLE");
        });
        // What was changed or added goes first, then the schema's own are made.
        run(Kind::Changed, "trigger", [&](const Guard& g) {
            return fmt::format("DROP TRIGGER IF EXISTS {} ON {}", quoted(g.name), quoted(g.table));
        });
        run(Kind::Changed, "rule", [&](const Guard& g) {
            return fmt::format("DROP RULE IF EXISTS {} ON {}", quoted(g.name), quoted(g.table));
        });
        run(Kind::Changed, "policy", [&](const Guard& g) {
            return fmt::format("DROP POLICY IF EXISTS {} ON {}", quoted(g.name), quoted(g.table));
        });
        run(Kind::Changed, "constraint", [&](const Guard& g) {
            return fmt::format("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}", quoted(g.table),
                               quoted(g.name));
        });
        run(Kind::Changed, "index",
            [&](const Guard& g) { return fmt::format("DROP INDEX IF EXISTS {}", quoted(g.name)); });
        const std::string schema = connection_.value("SELECT quote_literal(current_schema())");
        run(Kind::Missing, "function", [&](const Guard& g) {
            std::string definition = g.definition;
            const std::string placeholder = "search_path TO <schema>";
            if (const auto at = definition.find(placeholder); at != std::string::npos) {
                definition.replace(at, placeholder.size(), "search_path TO " + schema);
            }
            return definition;
        });
        // Policies call the functions, so they come after them.
        run(Kind::Missing, "policy", [](const Guard& g) { return g.definition; });
        run(Kind::Missing, "constraint", [&](const Guard& g) {
            return fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", quoted(g.table),
                               quoted(g.name), g.definition);
        });
        run(Kind::Missing, "index", [&](const Guard& g) {
            // A constraint made just now may have made its index already.
            return fmt::format("DO $$ BEGIN IF to_regclass({}) IS NULL THEN EXECUTE {}; END IF; "
                               "END $$",
                               connection_.literal(g.name), connection_.literal(g.definition));
        });
        run(Kind::Missing, "trigger", [&](const Guard& g) {
            return g.definition.substr(0, g.definition.rfind(" ENABLED "));
        });
        for (const GuardDifference& difference :
             guard_differences(expected_guards(Engine::Postgresql), guards())) {
            if (difference.guard.kind == "table") {
                throw Error(ErrorKind::Config,
                            fmt::format("{}: a table's definition cannot be put back",
                                        difference.describe()),
                            "restore the store from a backup");
            }
        }
    }

    std::optional<ServerCaller> server_caller() override {
        // nimbus_enforced() runs with the owner's rights: a role without
        // privileges on the roster still learns whether one is stored.
        const auto q = connection_.prepare(
            "SELECT session_user, nimbus_enforced()::int, pg_has_role(session_user, (SELECT "
            "relowner FROM pg_class WHERE oid = 'nimbus_codes_store'::regclass), 'USAGE')::int");
        q->step();
        ServerCaller caller{q->text(0), q->integer(1) != 0, q->integer(2) != 0};
        q->reset();
        connection_.roster_enforced = caller.enforced;
        return caller;
    }

    std::vector<Person> people() override {
        std::vector<Person> people;
        const auto persons =
            connection_.prepare("SELECT login, name, email, tenant_admin::int FROM person "
                                "ORDER BY login");
        while (persons->step()) {
            people.push_back(Person{persons->text(0),
                                    persons->text(1),
                                    persons->text(2),
                                    persons->integer(3) != 0,
                                    {}});
        }
        const auto grants = connection_.prepare(
            "SELECT login, role, target, target_key FROM person_grant ORDER BY login, "
            "array_position(ARRAY['ou_admin', 'owner', 'supervisor', 'member'], role), position");
        auto person = people.begin();
        while (grants->step()) {
            const std::string login = grants->text(0);
            while (person != people.end() && person->login != login) {
                ++person;
            }
            if (person == people.end()) {
                throw Error(ErrorKind::Internal, "a stored grant names no stored person");
            }
            person->grants.push_back(
                PersonGrant{grants->text(1), grants->text(2), grants->text(3)});
        }
        return people;
    }

    std::vector<RoleRule> role_rules() override {
        std::vector<RoleRule> rules;
        const auto q = connection_.prepare(
            "SELECT action, roles, array_to_string(audited, ' ') FROM role_rule ORDER BY action");
        while (q->step()) {
            rules.push_back(RoleRule{q->text(0), static_cast<unsigned>(q->integer(1)), q->text(2)});
        }
        return rules;
    }

    void replace_people(const std::vector<Person>& people) override {
        connection_.execute("DELETE FROM person_grant; DELETE FROM person");
        const auto person = connection_.prepare(
            "INSERT INTO person (login, name, email, tenant_admin) VALUES (?, ?, ?, ? = 1)");
        const auto grant = connection_.prepare(
            "INSERT INTO person_grant (login, role, position, target, target_key) "
            "VALUES (?, ?, ?, ?, ?)");
        for (const Person& p : people) {
            person->bind(1, p.login);
            person->bind(2, p.name);
            person->bind(3, p.email);
            person->bind(4, std::int64_t{p.tenant_admin ? 1 : 0});
            person->run();
            std::int64_t position = 0;
            std::string_view role;
            for (const PersonGrant& g : p.grants) {
                position = g.role == role ? position + 1 : 1;
                role = g.role;
                grant->bind(1, p.login);
                grant->bind(2, g.role);
                grant->bind(3, position);
                grant->bind(4, g.target);
                grant->bind(5, g.target_key);
                grant->run();
            }
        }
    }

    void replace_role_rules(const std::vector<RoleRule>& rules) override {
        connection_.execute("DELETE FROM role_rule");
        const auto insert = connection_.prepare("INSERT INTO role_rule (action, roles, audited) "
                                                "VALUES (?, ?, string_to_array(?, ' '))");
        for (const RoleRule& rule : rules) {
            insert->bind(1, rule.action);
            insert->bind(2, std::int64_t{rule.roles});
            insert->bind(3, rule.audited);
            insert->run();
        }
    }

    void expect_bulk_writes(std::size_t /*expected_rows*/) override {
        // The server manages its own memory; indexes stay in place, so that
        // other hosts' queries keep their plans during an import.
    }

    /// Streams the rows with COPY, one table at a time: one round trip per
    /// buffer of rows, not per row. Triggers and constraints apply as to INSERT.
    void insert_stored_row(const StoredRow& row) override {
        if (copy_table_ != row.table) {
            end_copy();
            connection_.begin_copy(
                fmt::format("COPY {} ({}) FROM STDIN", row.table, stored_columns(row.table)));
            copy_table_ = row.table;
        }
        append_copy_row(copy_buffer_, row.values);
        if (copy_buffer_.size() >= copy_buffer_limit) {
            connection_.put_copy(copy_buffer_);
            copy_buffer_.clear();
        }
    }

    void stored_rows_inserted() override {
        end_copy();
        SqlTransaction::stored_rows_inserted();
        // Rows copied with their ids leave the identity sequences behind.
        for (const char* table : {"ou", "code", "service", "session", "audit", "context_field"}) {
            connection_.execute(fmt::format(
                "SELECT setval(pg_get_serial_sequence('{0}', 'id'), coalesce(max(id), 0) + 1, "
                "false) FROM {0}",
                table));
        }
    }

    void commit() override {
        if (writes_ && !unlocked_ && usage_reach().unsettled) {
            // As the store's owner: nobody else writes the rollups.
            connection_.execute("SELECT nimbus_usage_settle()");
        }
        const ResultPtr result = connection_.run("COMMIT");
        open_ = false;
        // A transaction that failed earlier ends with ROLLBACK, not an error.
        if (std::string_view(pq().PQcmdStatus(result.get())) != "COMMIT") {
            throw Error(ErrorKind::Internal,
                        fmt::format("store {}: the transaction was rolled back, nothing was saved",
                                    connection_.location()));
        }
        if (unlocked_) {
            finish_after_commit();
        }
    }

private:
    static constexpr std::size_t copy_buffer_limit = 1 << 18;

    /// The work a writer of a store with a roster leaves until after its
    /// commit, each step in a transaction of its own, done unless someone else
    /// is at it; the write is kept either way, and what is left is done after
    /// the next write. The ledger's pending entries are chained (verify counts
    /// what waits); the rollups' waiting changes are folded in and the sessions
    /// beyond the mark settled, SERIALIZABLE so that the mark cannot pass a
    /// session being stored concurrently (schema/postgresql/0017).
    void finish_after_commit() noexcept {
        const std::int64_t timeout = std::max<std::int64_t>(1, connection_.busy_timeout().count());
        for (const auto& [begin, call] :
             {std::pair{"BEGIN", "nimbus_chain_pending()"},
              std::pair{"BEGIN ISOLATION LEVEL SERIALIZABLE", "nimbus_usage_settle()"}}) {
            try {
                connection_.execute(fmt::format(
                    "{}; SET LOCAL lock_timeout = {}; SELECT {}; COMMIT", begin, timeout, call));
            } catch (const Error&) {
                rollback();
            }
        }
    }

    void end_copy() {
        if (!copy_table_.empty()) {
            connection_.put_copy(copy_buffer_);
            copy_buffer_.clear();
            copy_table_.clear();
            connection_.end_copy();
        }
    }

    void rollback() noexcept {
        if (!copy_table_.empty()) {
            copy_table_.clear();
            try {
                connection_.end_copy(true);
            } catch (...) { // NOLINT(bugprone-empty-catch): the rollback below ends it all
            }
        }
        pq().PQclear(pq().PQexec(connection_.handle(), "ROLLBACK"));
    }

    PostgresqlConnection& connection_;
    bool writes_;   ///< not Begin::Read
    bool unlocked_; ///< Begin::UnlockedWrite
    bool open_ = false;
    std::string copy_table_; ///< the table a COPY is streaming rows into, if any
    std::string copy_buffer_;
};

class PostgresqlStore final : public Store {
public:
    PostgresqlStore(std::unique_ptr<PostgresqlConnection> connection, int version)
        : connection_(std::move(connection))
        , version_(version) {}

    const std::string& location() const override { return connection_->location(); }
    int schema_version() const override { return version_; }

    std::unique_ptr<ReadTransaction> begin_read() override {
        return std::make_unique<PostgresqlTransaction>(*connection_, Begin::Read);
    }
    std::unique_ptr<WriteTransaction> begin_write() override {
        // Read once per connection: the command has usually asked already who
        // its caller is. Should the first push land in between, this writer
        // takes the lock and appends to the ledger, which the server then
        // refuses: it fails, it does not bypass.
        if (!connection_->roster_enforced) {
            connection_->roster_enforced =
                version_ >= roster_schema_version &&
                connection_->value("SELECT nimbus_enforced()::int") == "1";
        }
        const bool enforced = *connection_->roster_enforced;
        auto tx = std::make_unique<PostgresqlTransaction>(
            *connection_, enforced ? Begin::UnlockedWrite : Begin::Write);
        // Under the writers' lock, so that what was checked is what the write finds.
        require_guards(tx->guards(), Engine::Postgresql, location());
        return tx;
    }

private:
    std::unique_ptr<PostgresqlConnection> connection_;
    int version_;
};

/// Why a connection could not be made, as the library's error.
Error connection_error(PGconn* connection, const std::string& uri) {
    const std::string server = server_of(connection);
    const char* user = pq().PQuser(connection);
    const std::string role = user != nullptr ? user : "";
    // "connection to server at "h", port 5432 failed: FATAL:  password ...":
    // the cause is after the last "failed: ", without the severity.
    std::string cause = first_line(pq().PQerrorMessage(connection));
    if (const auto at = cause.rfind("failed: "); at != std::string::npos) {
        cause.erase(0, at + std::string_view("failed: ").size());
    }
    const bool server_answered = cause.starts_with("FATAL:");
    if (server_answered) {
        cause.erase(0, cause.find_first_not_of(' ', std::string_view("FATAL:").size()));
    }
    const auto says = [&](std::string_view text) {
        return cause.find(text) != std::string::npos;
    };
    // libpq refused the options before it chose a server (a service that no
    // service file defines, a service file that is missing: libpq looks
    // services up only when it connects), or a value it cannot use
    // (sslmode=bogus). No retry mends a configuration.
    const char* host = pq().PQhost(connection);
    if (host == nullptr || *host == '\0' || cause.starts_with("invalid ")) {
        return Error(ErrorKind::Config, fmt::format("store {}: {}", uri, cause),
                     says("service") ? "define the service in ~/.pg_service.conf or in the file "
                                       "PGSERVICEFILE names, or name another one"
                                     : "check the connection options of the store");
    }
    const std::string secrets_hint = "put the password in ~/.pgpass (mode 0600), a file named "
                                     "by PGPASSFILE, or a service file; never in the URI";
    if (pq().PQconnectionNeedsPassword(connection) != 0) {
        return Error(ErrorKind::Config,
                     fmt::format("PostgreSQL server {} asks for a password for role \"{}\", and "
                                 "none was found",
                                 server, role),
                     secrets_hint);
    }
    if (pq().PQconnectionUsedPassword(connection) != 0 && says("authentication failed")) {
        return Error(
            ErrorKind::Config,
            fmt::format("PostgreSQL server {} refused the password of role \"{}\"", server, role),
            secrets_hint);
    }
    // libpq reports a missing database as text only.
    if (cause.starts_with("database") && cause.ends_with("does not exist")) {
        return Error(ErrorKind::InputMissing, fmt::format("store {}: {}", uri, cause),
                     "create the database (createdb), then run 'nimbus-codes init'");
    }
    // TLS settings that cannot be met do not mend by retrying.
    if (says("SSL") || says("certificate")) {
        return Error(ErrorKind::Config,
                     fmt::format("PostgreSQL server {}: no connection as the URI's TLS settings "
                                 "require: {}",
                                 server, cause),
                     "check sslmode, sslrootcert and the server's certificate");
    }
    // A server that answers "no" means it: only starting up, shutting down
    // and a full house pass.
    if (server_answered && !says("starting up") && !says("shutting down") && !says("recovery") &&
        !says("too many") && !says("connection slots")) {
        return Error(ErrorKind::Config,
                     fmt::format("PostgreSQL server {} refused the connection: {}", server, cause),
                     "check the role, the database and the server's pg_hba.conf");
    }
    return Error(ErrorKind::Busy,
                 fmt::format("cannot reach PostgreSQL server {}: {}", server, cause),
                 "check that the server runs and that the host and port are right; retry later");
}

/// connect_timeout as libpq resolved it from the URI and our default, in seconds.
int connect_timeout(PGconn* connection) {
    PQconninfoOption* const options = pq().PQconninfo(connection);
    int seconds = 0;
    for (const PQconninfoOption* option = options; option != nullptr && option->keyword != nullptr;
         ++option) {
        if (std::string_view(option->keyword) == "connect_timeout" && option->val != nullptr) {
            const std::string_view text(option->val);
            std::from_chars(text.data(), text.data() + text.size(), seconds);
        }
    }
    pq().PQconninfoFree(options);
    return seconds;
}

/// Drives a connection started with PQconnectStartParams to its end, as
/// PQconnectdbParams would. False when connect_timeout passed first (libpq
/// leaves that check to whoever polls).
bool finish_connecting(PGconn* connection) {
    using Clock = std::chrono::steady_clock;
    const int seconds = connect_timeout(connection);
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(std::max(seconds, 2));
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    while (status == PGRES_POLLING_READING || status == PGRES_POLLING_WRITING) {
        if (pq().PQstatus(connection) == CONNECTION_BAD) {
            return true; // failed at once: the status says why
        }
        pollfd wanted{pq().PQsocket(connection),
                      static_cast<short>(status == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        const int ready =
            ::poll(&wanted, 1,
                   seconds > 0 ? static_cast<int>(std::max<std::int64_t>(0, left.count())) : -1);
        if (ready == 0) {
            return false;
        }
        if (ready < 0 && errno != EINTR) {
            return true; // PQconnectPoll finds the socket's error
        }
        status = pq().PQconnectPoll(connection);
    }
    return true;
}

std::unique_ptr<PostgresqlConnection> connect(const std::string& uri, const StoreOptions& options) {
    check_postgresql_uri(uri);
    // libpq counts whole seconds and takes at least 2; a connect_timeout in
    // the URI comes later and wins.
    const std::string timeout =
        std::to_string(std::max<std::int64_t>(2, (options.busy_timeout.count() + 999) / 1000));
    // After dbname, so that the URI cannot change it: every text the store
    // holds and is sent is UTF-8, whatever PGCLIENTENCODING says.
    const char* const keywords[] = {"connect_timeout", "fallback_application_name", "dbname",
                                    "client_encoding", nullptr};
    const char* const values[] = {timeout.c_str(), "nimbus-codes", uri.c_str(), "UTF8", nullptr};
    ConnectionPtr connection(pq().PQconnectStartParams(keywords, values, 1));
    if (!connection) {
        throw Error(ErrorKind::Internal, "out of memory while connecting to PostgreSQL");
    }
    // Warnings and notices are the server's to log, not ours to print (libpq's
    // default prints them on stderr). Set before the server says anything:
    // the start of a session can send them too.
    pq().PQsetNoticeProcessor(
        connection.get(), [](void* /*unused*/, const char* /*message*/) {}, nullptr);
    if (!finish_connecting(connection.get())) {
        throw Error(ErrorKind::Busy,
                    fmt::format("cannot reach PostgreSQL server {}: no answer within its "
                                "connect_timeout",
                                server_of(connection.get())),
                    "check that the server runs and that the host and port are right; retry "
                    "later");
    }
    if (pq().PQstatus(connection.get()) != CONNECTION_OK) {
        throw connection_error(connection.get(), uri);
    }
    auto pinned =
        std::make_unique<PostgresqlConnection>(uri, std::move(connection), options.busy_timeout);
    // The store is the schema the role's search path leads to; from here on
    // every name is looked up there, after the system catalog (searched first
    // when not named) and before the session's temporary tables, so that no
    // object of another schema, and no temporary table, stands in for the
    // store's own.
    pinned->execute("SELECT pg_catalog.set_config('search_path', "
                    "pg_catalog.quote_ident(pg_catalog.current_schema()) || ', pg_temp', false) "
                    "WHERE pg_catalog.current_schema() IS NOT NULL");
    return pinned;
}

/// What the database says about itself.
struct Header {
    bool has_tables = false;
    bool marked = false; ///< holds nimbus_codes_store
    std::int64_t application = 0;
    int version = 0;
};

Header read_header(PostgresqlConnection& connection) {
    Header header;
    constexpr const char* marker = "SELECT application_id, schema_version FROM nimbus_codes_store";
    ResultPtr mark;
    if (pq().PQtransactionStatus(connection.handle()) == PQTRANS_IDLE) {
        // The marker first: on a store, the one query needed at every start.
        // (Inside a transaction, a failed query would abort it.)
        mark.reset(pq().PQexec(connection.handle(), marker));
        if (pq().PQresultStatus(mark.get()) != PGRES_TUPLES_OK) {
            if (field(mark.get(), PG_DIAG_SQLSTATE) != "42P01") { // but "no such table"
                connection.fail(mark.get());
            }
            mark.reset();
        }
    } else {
        const ResultPtr exists =
            connection.run("SELECT to_regclass('nimbus_codes_store') IS NOT NULL");
        if (std::string_view(pq().PQgetvalue(exists.get(), 0, 0)) == "t") {
            mark = connection.run(marker);
        }
    }
    if (mark) {
        header.has_tables = true;
        header.marked = true;
        if (pq().PQntuples(mark.get()) == 1) {
            header.application = std::stoll(pq().PQgetvalue(mark.get(), 0, 0));
            header.version = std::stoi(pq().PQgetvalue(mark.get(), 0, 1));
        }
        return header;
    }
    const ResultPtr tables = connection.run(
        "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')");
    header.has_tables = std::string_view(pq().PQgetvalue(tables.get(), 0, 0)) != "0";
    return header;
}

/// Refuses databases this binary must not touch: other applications' and newer schemas.
void check_header(const Header& header, const std::string& location) {
    if (header.has_tables && (!header.marked || header.application != application_id)) {
        throw Error(ErrorKind::Config,
                    fmt::format("{} is a PostgreSQL database of another application, not a "
                                "nimbus-codes store",
                                location),
                    "check --store and NIMBUS_CODES_STORE; a new store needs an empty database");
    }
    refuse_newer_schema(location, header.version, latest_version());
}

} // namespace

void check_postgresql_uri(const std::string& uri) {
    const conninfo::Redacted shown = conninfo::redact(uri);
    const std::string secrets_hint = "remove it and put it in ~/.pgpass (mode 0600), a file named "
                                     "by PGPASSFILE, or a service file";
    if (std::any_of(shown.passwords.begin(), shown.passwords.end(),
                    [](const std::string& password) { return !password.empty(); })) {
        throw Error(ErrorKind::Usage,
                    fmt::format("the store {} contains a password; passwords never go on the "
                                "command line",
                                shown.text),
                    secrets_hint);
    }
    char* error = nullptr;
    PQconninfoOption* options = pq().PQconninfoParse(uri.c_str(), &error);
    if (options == nullptr) {
        const std::string reason = error != nullptr ? first_line(error) : "out of memory";
        pq().PQfreemem(error);
        throw Error(ErrorKind::Usage,
                    shown.clean(fmt::format("the store {} cannot be read: {}", shown.text, reason)),
                    "write it as postgresql://USER@HOST:PORT/DATABASE?sslmode=verify-full");
    }
    bool has_password = false;
    for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
        if (std::string_view(option->keyword) == "password" && option->val != nullptr &&
            *option->val != '\0') {
            has_password = true;
        }
    }
    pq().PQconninfoFree(options);
    if (has_password) {
        // A password this check did not find where it looked: the string is
        // not repeated at all.
        throw Error(ErrorKind::Usage,
                    "the store's connection string contains a password; passwords never go on "
                    "the command line",
                    secrets_hint);
    }
}

std::unique_ptr<Store> open_postgresql_store(const std::string& uri, const StoreOptions& options) {
    auto connection = connect(uri, options);
    const Header header = read_header(*connection);
    check_header(header, uri);
    require_current_schema(uri, header.marked, header.version, latest_version());
    return std::make_unique<PostgresqlStore>(std::move(connection), header.version);
}

InitReport initialise_postgresql_store(const std::string& uri, const StoreOptions& options,
                                       const Seed& seed) {
    auto connection = connect(uri, options);
    PostgresqlConnection& db = *connection;
    InitReport report;
    report.version = latest_version();
    report.store = std::make_unique<PostgresqlStore>(std::move(connection), latest_version());
    // The schema, its version and the seed in one transaction, under the
    // writers' lock: a database is either not touched at all or fully set up,
    // and two hosts running init at once do it once.
    PostgresqlTransaction tx(db, Begin::Write);
    const Header header = read_header(db);
    check_header(header, uri);
    // Names are checked in characters, and a SQL_ASCII database counts bytes.
    const ResultPtr encoding = db.run("SHOW server_encoding");
    if (const std::string_view name = pq().PQgetvalue(encoding.get(), 0, 0); name != "UTF8") {
        throw Error(ErrorKind::Config,
                    fmt::format("database of store {} is encoded in {}, not UTF8", uri, name),
                    "create it with 'createdb --encoding=UTF8 --template=template0'");
    }
    report.previous_version = header.version;
    if (header.version < latest_version()) {
        for (const Migration& migration : postgresql_migrations()) {
            if (migration.version > header.version) {
                db.execute(migration.sql);
            }
        }
        db.execute(fmt::format("INSERT INTO nimbus_codes_store (id, application_id, "
                               "schema_version) VALUES (1, {0}, {1}) ON CONFLICT (id) DO UPDATE "
                               "SET schema_version = {1}",
                               application_id, latest_version()));
    }
    // Its people's writers do not take the lock: the ledger is theirs to chain.
    if (db.value("SELECT nimbus_enforced()::int") == "1") {
        tx.chain_after_commit();
    }
    seed(tx, report.previous_version);
    require_guards(tx.guards(), Engine::Postgresql, uri);
    tx.commit();
    return report;
}

} // namespace nimbus::store
