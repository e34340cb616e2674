#include <nimbus/store/sqlite/sqlite_store.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sqlite3.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/store/guards.hpp>
#include <nimbus/store/migration.hpp>
#include <nimbus/store/sql/sql_transaction.hpp>
#include <nimbus/util/privilege.hpp>

namespace nimbus::store {
namespace {

/// Marks a SQLite file as a nimbus-codes store ("NCDS").
constexpr int application_id = 0x4E434453;

int latest_version() {
    return sqlite_migrations().back().version;
}

/// Turns a SQLite failure into the library's error, naming the store.
/// `system_error` is the errno behind it, if SQLite kept one.
Error translate(const SQLite::Exception& e, const std::string& location,
                std::chrono::milliseconds busy_timeout, int system_error) {
    // A full disk shows as SQLITE_FULL, or as an I/O error whose cause was
    // ENOSPC (extending the -shm or -wal file, say): either way, say so.
    if (e.getErrorCode() == SQLITE_FULL ||
        (e.getErrorCode() == SQLITE_IOERR && (system_error == ENOSPC || system_error == EDQUOT))) {
        const std::filesystem::path folder = std::filesystem::path(location).parent_path();
        return Error(ErrorKind::CannotWrite,
                     fmt::format("store {}: {}; nothing was changed", location,
                                 system_error == EDQUOT ? "the disk quota is used up"
                                                        : "the disk that holds it is full"),
                     fmt::format("free some space on the disk of {}, then run the command again",
                                 folder.empty() ? std::string(".") : folder.string()));
    }
    switch (e.getErrorCode()) {
    case SQLITE_BUSY:
        return Error(ErrorKind::Busy,
                     fmt::format("store {} stayed locked by another process for {} ms", location,
                                 busy_timeout.count()),
                     "retry, or wait longer with --busy-timeout MS");
    case SQLITE_READONLY:
        return Error(ErrorKind::CannotWrite, fmt::format("store {} is read-only", location),
                     "check the permissions of the store file and its folder");
    case SQLITE_IOERR:
        return Error(ErrorKind::CannotWrite,
                     system_error == 0
                         ? fmt::format("store {}: input/output error: {}", location, e.what())
                         : fmt::format("store {}: input/output error: {} ({})", location, e.what(),
                                       std::strerror(system_error)));
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

} // namespace

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

/// A SQLite statement behind the shared interface; failures become nimbus::Error.
class SqliteStatement final : public sql::Statement {
public:
    SqliteStatement(SQLite::Database& db, std::string_view sql, const SqliteConnection& connection);

    void bind(int index, std::int64_t value) override {
        guarded([&] { statement_.bind(index, value); });
    }
    void bind(int index, std::string_view text) override {
        guarded([&] { statement_.bind(index, std::string(text)); });
    }
    void bind_null(int index) override {
        guarded([&] { statement_.bind(index); });
    }
    bool step() override {
        return guarded([&] { return statement_.executeStep(); });
    }
    void reset() override {
        guarded([&] { statement_.reset(); });
    }
    bool is_null(int column) const override {
        return guarded([&] { return statement_.getColumn(column).isNull(); });
    }
    std::int64_t integer(int column) const override {
        return guarded([&] { return statement_.getColumn(column).getInt64(); });
    }
    std::string text(int column) const override {
        return guarded([&] { return statement_.getColumn(column).getString(); });
    }

private:
    template <class Body>
    auto guarded(Body&& body) const -> decltype(body());

    mutable SQLite::Statement statement_;
    const SqliteConnection& connection_;
};

} // namespace

/// The store's one connection, and how its failures read.
class SqliteConnection final : public sql::Connection {
public:
    SqliteConnection(std::string location, std::unique_ptr<BusyWait> busy,
                     std::unique_ptr<SQLite::Database> db, std::chrono::milliseconds busy_timeout)
        : location_(std::move(location))
        , busy_(std::move(busy))
        , db_(std::move(db))
        , busy_timeout_(busy_timeout) {}

    std::unique_ptr<sql::Statement> prepare(std::string_view sql) override {
        return guarded([&] { return std::make_unique<SqliteStatement>(*db_, sql, *this); });
    }

    void execute(std::string_view sql) override {
        guarded([&] { db_->exec(std::string(sql)); });
    }

    SQLite::Database& database() { return *db_; }
    const std::string& location() const { return location_; }

    template <class Body>
    auto guarded(Body&& body) const -> decltype(body()) {
        try {
            return body();
        } catch (const SQLite::Exception& e) {
            throw translate(e, location_, busy_timeout_, sqlite3_system_errno(db_->getHandle()));
        }
    }

private:
    std::string location_;
    std::unique_ptr<BusyWait> busy_; ///< outlives the connection, which may call it on close
    std::unique_ptr<SQLite::Database> db_;
    std::chrono::milliseconds busy_timeout_;
};

namespace {

SqliteStatement::SqliteStatement(SQLite::Database& db, std::string_view sql,
                                 const SqliteConnection& connection)
    : statement_(db, std::string(sql))
    , connection_(connection) {}

template <class Body>
auto SqliteStatement::guarded(Body&& body) const -> decltype(body()) {
    return connection_.guarded(std::forward<Body>(body));
}

/// One transaction on the store's connection: BEGIN DEFERRED for reads, BEGIN
/// IMMEDIATE for writes, which takes the write lock at once (or waits for it
/// up to the busy timeout).
class SqliteTransaction final : public sql::SqlTransaction {
public:
    SqliteTransaction(SqliteConnection& connection, bool write)
        : SqlTransaction(connection)
        , connection_(connection)
        , write_(write) {
        connection_.execute(write ? "BEGIN IMMEDIATE" : "BEGIN");
        open_ = true;
    }

    ~SqliteTransaction() override {
        if (open_) {
            try {
                connection_.execute("ROLLBACK");
            } catch (const Error&) {
                // Nothing more can be done; SQLite rolls back on close anyway.
            }
        }
    }

    SqliteTransaction(const SqliteTransaction&) = delete;
    SqliteTransaction& operator=(const SqliteTransaction&) = delete;

    std::vector<Guard> guards() override {
        // SQLite keeps each object's CREATE statement as it was written.
        const auto q = connection_.prepare(
            "SELECT type, tbl_name, name, sql FROM sqlite_schema WHERE sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, tbl_name, name");
        std::vector<Guard> guards;
        while (q->step()) {
            guards.push_back(Guard{q->text(0), q->text(1), q->text(2), q->text(3)});
        }
        return guards;
    }

    // A SQLite store has no database roles: the identity file and the
    // operating system decide who may do what (schema/sqlite/0009).
    std::optional<ServerCaller> server_caller() override { return std::nullopt; }
    std::vector<Person> people() override { return {}; }
    std::vector<RoleRule> role_rules() override { return {}; }
    void replace_people(const std::vector<Person>& /*people*/) override {
        throw Error(ErrorKind::Usage, "a SQLite store keeps no roster",
                    "its identity file says who may do what");
    }
    void replace_role_rules(const std::vector<RoleRule>& /*rules*/) override {}

    void restore_guards(const std::vector<GuardDifference>& differences) override {
        for (const GuardDifference& difference : differences) {
            if (difference.guard.kind == "table") {
                throw Error(ErrorKind::Config,
                            fmt::format("{}: a table's definition cannot be put back",
                                        difference.describe()),
                            "restore the store from a backup");
            }
        }
        // What was changed or added goes first; then the schema's own are made.
        for (const GuardDifference& difference : differences) {
            if (difference.kind != GuardDifference::Kind::Missing) {
                connection_.execute(fmt::format(
                    "DROP {} IF EXISTS \"{}\"",
                    difference.guard.kind == "index" ? "INDEX" : "TRIGGER", difference.guard.name));
            }
        }
        for (const GuardDifference& difference : differences) {
            if (difference.kind != GuardDifference::Kind::Added) {
                connection_.execute(difference.guard.definition);
            }
        }
    }

    void expect_bulk_writes(std::size_t expected_rows) override {
        // A bounded cache that holds the hot index pages of a large import; it
        // does not grow with the input.
        connection_.execute("PRAGMA cache_size = -65536");
        // When the import is large next to the table (max(id) counts its rows
        // without a scan), building the secondary indexes afresh at commit
        // beats a random B-tree insert per row and index. They are dropped at
        // the first new row, so that a re-import of known rows never pays for a
        // rebuild; dropping them later, after many inserts, costs more than it saves.
        const auto q = connection_.prepare("SELECT coalesce(max(id), 0) FROM session");
        q->step();
        const auto stored = static_cast<std::size_t>(q->integer(0));
        defer_indexes_ = expected_rows >= 100'000 && expected_rows >= stored / 2;
    }

    void commit() override {
        if (write_) {
            settle_usage_rollups("min");
        }
        if (!rebuild_indexes_.empty()) {
            // The sorts that build the indexes take as much memory again as the
            // cache allows; a smaller cache keeps the peak down.
            connection_.execute("PRAGMA cache_size = -16384");
        }
        for (const std::string& index : rebuild_indexes_) {
            connection_.execute(index);
        }
        connection_.execute("COMMIT");
        open_ = false;
    }

private:
    void session_inserted() override {
        if (defer_indexes_ && rebuild_indexes_.empty()) {
            drop_session_indexes();
        }
    }

    /// Drops the session table's secondary indexes, to be made again at
    /// commit. Their definitions are read back from the schema, so the rebuilt
    /// ones are exactly the old ones; inside the transaction, a failure or a
    /// crash restores them, and other connections only ever see them in place.
    void drop_session_indexes() {
        std::vector<std::string> names;
        {
            const auto q = connection_.prepare("SELECT name, sql FROM sqlite_schema WHERE type = "
                                               "'index' AND tbl_name = 'session' AND sql IS NOT "
                                               "NULL");
            while (q->step()) {
                names.push_back(q->text(0));
                rebuild_indexes_.push_back(q->text(1));
            }
        }
        for (const std::string& name : names) {
            connection_.execute(fmt::format("DROP INDEX \"{}\"", name));
        }
    }

    SqliteConnection& connection_;
    bool write_ = false;
    bool open_ = false;
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
    refuse_newer_schema(location, header.version, latest_version());
}

} // namespace

SqliteStore::SqliteStore(std::unique_ptr<SqliteConnection> connection, int version)
    : connection_(std::move(connection))
    , version_(version) {}

SqliteStore::~SqliteStore() = default;

const std::string& SqliteStore::location() const {
    return connection_->location();
}

std::unique_ptr<ReadTransaction> SqliteStore::begin_read() {
    return std::make_unique<SqliteTransaction>(*connection_, false);
}

std::unique_ptr<WriteTransaction> SqliteStore::begin_write() {
    auto tx = std::make_unique<SqliteTransaction>(*connection_, true);
    // Under the write lock, so that what was checked is what the write finds.
    require_guards(tx->guards(), Engine::Sqlite, location());
    return tx;
}

namespace {

std::unique_ptr<SqliteConnection> connect(const std::string& path, int flags,
                                          const StoreOptions& options) {
    // One connection per process, used by one thread: SQLite's own mutexes are
    // not needed, nor its memory statistics (a global lock on every allocation).
    // That must be set before SQLite starts, hence here, before the first open.
    static const bool quiet_memory = [] {
        return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
    }();
    (void)quiet_memory;
    try {
        auto busy = std::make_unique<BusyWait>(options.busy_timeout);
        auto db = std::make_unique<SQLite::Database>(path, flags | SQLite::OPEN_NOMUTEX);
        sqlite3_busy_handler(db->getHandle(), &BusyWait::handler, busy.get());
        auto connection = std::make_unique<SqliteConnection>(path, std::move(busy), std::move(db),
                                                             options.busy_timeout);
        // The -wal file is kept, emptied, when the last connection closes,
        // not deleted: made again by whoever comes next, it would for a
        // moment carry that person's umask rather than the store's mode, and a
        // teammate opening it then could only read it.
        int persist = 1;
        sqlite3_file_control(connection->database().getHandle(), "main", SQLITE_FCNTL_PERSIST_WAL,
                             &persist);
        // Conclusions are permanent records: every commit reaches the disk
        // before it is acknowledged, and references are always checked. The
        // kept -wal is truncated after each checkpoint, so it takes no room.
        connection->execute(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA journal_size_limit = 0");
        return connection;
    } catch (const SQLite::Exception& e) {
        // No connection to ask: the errno of the failed open is the one left.
        throw translate(e, path, options.busy_timeout, errno);
    }
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
    auto connection = connect(path, SQLite::OPEN_READWRITE, options);
    const Header header = connection->guarded([&] { return read_header(connection->database()); });
    check_header(header, path);
    require_current_schema(path, header.application != 0, header.version, latest_version());
    return std::make_unique<SqliteStore>(std::move(connection), header.version);
}

namespace {

/// A new store file is made as other tools make files, 0666 less the umask,
/// not with SQLite's 0644: under umask 007 a team's group can then write it
/// (and its -wal and -shm, which SQLite gives the store file's mode). On a
/// shared host it is 0660 whatever the umask: the group is how every caller
/// writes it, and nobody else may read it.
void create_store_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd >= 0) {
        if (privilege::elevated()) {
            ::fchmod(fd, 0660);
        }
        ::close(fd);
    }
    // Otherwise the file is there already, or SQLite's own open says why not.
}

} // namespace

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
    create_store_file(path);
    auto connection = connect(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, options);
    SqliteConnection& db = *connection;
    const auto header = [&] {
        Header read = db.guarded([&] { return read_header(db.database()); });
        check_header(read, path);
        return read;
    };
    if (header().version < latest_version()) {
        // WAL lets readers (reports) run while a writer concludes; it is a
        // property of the file, so it is set once here, outside a transaction.
        db.execute("PRAGMA journal_mode = WAL");
    }
    InitReport report;
    report.version = latest_version();
    report.store = std::make_unique<SqliteStore>(std::move(connection), latest_version());
    // Migrations and the seed share one transaction: a store is either not
    // touched at all or fully set up.
    SqliteTransaction tx(db, true);
    report.previous_version = header().version; // another process may have initialised it meanwhile
    if (report.previous_version < latest_version()) {
        for (const Migration& migration : sqlite_migrations()) {
            if (migration.version > report.previous_version) {
                db.execute(migration.sql);
            }
        }
        db.execute(fmt::format("PRAGMA application_id = {}; PRAGMA user_version = {}",
                               application_id, latest_version()));
    }
    seed(tx, report.previous_version);
    require_guards(tx.guards(), Engine::Sqlite, path);
    tx.commit();
    return report;
}

} // namespace nimbus::store
