#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nimbus/store/open.hpp>
#include <nimbus/store/store.hpp>

namespace SQLite {
class Database;
}

namespace nimbus::store {

class BusyWait;

/// The embedded backend: one SQLite file in WAL mode.
class SqliteStore final : public Store {
public:
    SqliteStore(std::string path, std::unique_ptr<BusyWait> busy,
                std::unique_ptr<SQLite::Database> db, std::chrono::milliseconds busy_timeout,
                int version);
    ~SqliteStore() override;

    const std::string& location() const override { return location_; }
    int schema_version() const override { return version_; }
    std::chrono::milliseconds busy_timeout() const { return busy_timeout_; }

    std::unique_ptr<ReadTransaction> begin_read() override;
    std::unique_ptr<WriteTransaction> begin_write() override;

private:
    std::string location_;
    std::unique_ptr<BusyWait> busy_; ///< outlives the connection, which may call it on close
    std::unique_ptr<SQLite::Database> db_;
    std::chrono::milliseconds busy_timeout_;
    int version_;
};

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options);
InitReport initialise_sqlite_store(const std::string& path, const StoreOptions& options,
                                   const Seed& seed);

} // namespace nimbus::store
