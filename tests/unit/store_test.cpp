#include <fstream>
#include <sstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <nimbus/error.hpp>
#include <nimbus/store/guards.hpp>
#include <nimbus/store/migration.hpp>
#include <nimbus/store/open.hpp>
#include <nimbus/store/postgresql/conninfo.hpp>

#include "support.hpp"

using namespace nimbus;

namespace {

store::Locator locator(const std::string& path) {
    return store::Locator{store::Engine::Sqlite, path};
}

void no_seed(store::WriteTransaction&, int) {}

ErrorKind open_error(const std::string& path) {
    try {
        store::open_store(locator(path), {});
    } catch (const Error& e) {
        return e.kind();
    }
    return ErrorKind::Internal;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

} // namespace

TEST_CASE("store: initialise creates the schema, WAL and the application id") {
    test::TempStore temp;
    CHECK(temp.store->schema_version() == store::sqlite_migrations().back().version);
    SQLite::Database db(temp.path);
    CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
    CHECK(db.execAndGet("PRAGMA application_id").getInt() == 0x4E434453);
    CHECK(db.execAndGet("PRAGMA user_version").getInt() == temp.store->schema_version());
}

TEST_CASE("store: initialising a current store changes nothing") {
    test::TempStore temp;
    const store::InitReport again = store::initialise_store(locator(temp.path), {}, no_seed);
    CHECK(again.previous_version == again.version);
}

TEST_CASE("store: migrations are numbered from 1 without gaps, the same on both engines") {
    for (const auto& migrations : {store::sqlite_migrations(), store::postgresql_migrations()}) {
        int expected = 1;
        for (const store::Migration& migration : migrations) {
            CHECK(migration.version == expected++);
            CHECK_FALSE(migration.sql.empty());
        }
        CHECK(migrations.back().version == store::current_schema_version());
    }
}

TEST_CASE("store: a missing or uninitialised store is InputMissing") {
    test::TempDir dir;
    const std::string path = (dir.path() / "nothing.db").string();
    CHECK(open_error(path) == ErrorKind::InputMissing);
    std::ofstream{path}; // an empty file
    CHECK(open_error(path) == ErrorKind::InputMissing);
}

TEST_CASE("store: a newer schema is refused and left untouched") {
    test::TempStore temp;
    temp.store.reset();
    {
        SQLite::Database db(temp.path, SQLite::OPEN_READWRITE);
        db.exec("PRAGMA user_version = 999");
    }
    const std::string before = file_bytes(temp.path);
    CHECK(open_error(temp.path) == ErrorKind::Config);
    CHECK_THROWS_AS(store::initialise_store(locator(temp.path), {}, no_seed), Error);
    CHECK(file_bytes(temp.path) == before);
}

TEST_CASE("store: foreign databases and other files are refused") {
    test::TempDir dir;
    const std::string foreign = (dir.path() / "foreign.db").string();
    {
        SQLite::Database db(foreign, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE t (x); PRAGMA application_id = 42");
    }
    CHECK(open_error(foreign) == ErrorKind::Config);
    CHECK_THROWS_AS(store::initialise_store(locator(foreign), {}, no_seed), Error);

    const std::string plain = (dir.path() / "plain.db").string();
    std::ofstream(plain) << "this is not a database, just a long enough line of text to matter\n";
    CHECK(open_error(plain) == ErrorKind::Config);
}

TEST_CASE("store: an older schema must be upgraded with init") {
    test::TempStore temp;
    temp.store.reset();
    {
        SQLite::Database db(temp.path, SQLite::OPEN_READWRITE);
        db.exec("PRAGMA user_version = 0");
    }
    try {
        store::open_store(locator(temp.path), {});
        FAIL("expected an error");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Config);
        CHECK(e.hint().find("nimbus-codes init") != std::string::npos);
    }
}

TEST_CASE("store: a failing seed leaves a new store uninitialised") {
    test::TempDir dir;
    const std::string path = (dir.path() / "store.db").string();
    CHECK_THROWS_AS(store::initialise_store(locator(path), {},
                                            [](store::WriteTransaction&, int) {
                                                throw Error(ErrorKind::Usage, "no tenant");
                                            }),
                    Error);
    CHECK(open_error(path) == ErrorKind::InputMissing);
}

TEST_CASE("store: an uncommitted write transaction leaves nothing") {
    test::TempStore temp;
    {
        const auto tx = temp.store->begin_write();
        tx->insert_ou(store::NewOu{tx->root_ou()->id, "Sales", "Contoso/Sales", "contoso/sales",
                                   test::test_time()});
    }
    CHECK_FALSE(temp.store->begin_read()->find_ou("contoso/sales"));
}

TEST_CASE("store: the audit trail is append-only and codes are never erased, even in raw SQL") {
    test::TempStore temp;
    SQLite::Database db(temp.path, SQLite::OPEN_READWRITE);
    CHECK_THROWS_WITH_AS(db.exec("UPDATE audit SET user = 'mallory'"),
                         "audit records are append-only", SQLite::Exception);
    CHECK_THROWS_WITH_AS(db.exec("DELETE FROM audit"), "audit records are append-only",
                         SQLite::Exception);
    db.exec("INSERT INTO code (type, name, name_key, ou_id, created_at) "
            "VALUES ('primary', 'X', 'x', 1, '2026-01-01T00:00:00Z')");
    CHECK_THROWS_AS(db.exec("DELETE FROM code"), SQLite::Exception);
}

TEST_CASE("store: a writer waits for the lock, then reports Busy") {
    test::TempStore temp;
    SQLite::Database other(temp.path, SQLite::OPEN_READWRITE);
    other.exec("BEGIN IMMEDIATE");
    const auto impatient =
        store::open_store(locator(temp.path), store::StoreOptions{std::chrono::milliseconds(50)});
    try {
        impatient->begin_write();
        FAIL("expected Busy");
    } catch (const Error& e) {
        CHECK(e.kind() == ErrorKind::Busy);
    }
    // Readers are not blocked by the writer.
    CHECK(impatient->begin_read()->root_ou().has_value());
    other.exec("ROLLBACK");
    CHECK_NOTHROW(impatient->begin_write());
}

TEST_CASE("store: every spelling of a PostgreSQL store names PostgreSQL") {
    const store::Locator upper = store::parse_locator("PostgreSQL://nimbus@db.example/nimbus");
    CHECK(upper.engine == store::Engine::Postgresql);
    CHECK(upper.target == "postgresql://nimbus@db.example/nimbus");
    CHECK(store::parse_locator("POSTGRES://db.example").target == "postgres://db.example");
    const store::Locator pairs = store::parse_locator("host=db.example dbname=nimbus");
    CHECK(pairs.engine == store::Engine::Postgresql);
    CHECK(pairs.target == "host=db.example dbname=nimbus");
    CHECK(store::parse_locator(" dbname = nimbus").engine == store::Engine::Postgresql);
}

TEST_CASE("store: paths, sqlite: in any case, and what is refused") {
    CHECK(store::parse_locator("store.db").target == "store.db");
    CHECK(store::parse_locator("sqlite:a.db").target == "a.db");
    CHECK(store::parse_locator("SQLite:a.db").target == "a.db");
    CHECK(store::parse_locator("sqlite:///srv/a.db").target == "///srv/a.db");
    CHECK(store::parse_locator("sqlite:host=h").engine == store::Engine::Sqlite);
    CHECK(store::parse_locator("./a=b.db").engine == store::Engine::Sqlite);
    CHECK(store::parse_locator("backup:2026.db").engine == store::Engine::Sqlite);
    for (const char* refused : {"mysql://db.example/nimbus", "postgresql:nimbus.db", "a=b.db",
                                "host=db.example nonsense=1", "sqlite:"}) {
        CAPTURE(refused);
        try {
            store::parse_locator(refused);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::Usage);
        }
    }
}

TEST_CASE("store: a password in a connection string is refused and never repeated") {
    for (const char* text :
         {"postgresql://nimbus:s3cret@db.example/nimbus", "PostgreSQL://u:s3cret@[::1/nimbus",
          "postgres://nimbus@db.example/nimbus?sslmode=require&password=s3cret",
          "postgresql://nimbus@db.example/nimbus?pass%77ord=s3cret",
          "host=db.example password=s3cret", "password='s3cret' host=db.example",
          "mysql://root:s3cret@db.example"}) {
        CAPTURE(text);
        try {
            store::parse_locator(text);
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.kind() == ErrorKind::Usage);
            CHECK(std::string(e.what()).find("s3cret") == std::string::npos);
            CHECK(e.hint().find("s3cret") == std::string::npos);
        }
    }
}

TEST_CASE("store: connection strings redacted") {
    using store::conninfo::redact;
    CHECK(redact("postgresql://u:pw@h:5432/db?sslmode=require").text ==
          "postgresql://u:***@h:5432/db?sslmode=require");
    CHECK(redact("postgresql://u@h/db?password=pw&sslmode=require").text ==
          "postgresql://u@h/db?password=***&sslmode=require");
    CHECK(redact("host=h password = 'p w\\'x' dbname=d").text == "host=h password = *** dbname=d");
    CHECK(redact("host=h password=p\\ w").passwords == std::vector<std::string>{"p\\ w"});
    CHECK(redact("store.db").text == "store.db");
    CHECK(redact("postgresql://u:p%40ss@h").clean("bad URI \"p@ss\" and p%40ss") ==
          "bad URI \"***\" and ***");
    CHECK(store::conninfo::scheme("PostgreSQL://h") == "PostgreSQL");
    CHECK(store::conninfo::scheme("/tmp/a:b").empty());
    CHECK(store::conninfo::is_keyword_value("host=h"));
    CHECK_FALSE(store::conninfo::is_keyword_value("./a=b"));
    CHECK_FALSE(store::conninfo::is_keyword_value("1=2"));
}

TEST_CASE("store: a new store's guards are its schema's list, line for line") {
    const test::TempStore temp;
    const auto tx = temp.store->begin_read();
    const std::vector<store::Guard> guards = tx->guards();
    CHECK(store::guards_as_listed(guards, store::Engine::Sqlite));
    CHECK(store::guard_differences(store::expected_guards(store::Engine::Sqlite), guards).empty());
    std::vector<store::Guard> fewer(guards.begin() + 1, guards.end());
    CHECK_FALSE(store::guards_as_listed(fewer, store::Engine::Sqlite));
    CHECK(store::guard_differences(store::expected_guards(store::Engine::Sqlite), fewer).size() ==
          1);
}
