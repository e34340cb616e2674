#pragma once

#include <memory>
#include <string>

#include <nimbus/store/open.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::store {

class SqliteConnection;

/// The embedded backend: one SQLite file in WAL mode.
class SqliteStore final : public Store {
public:
    SqliteStore(std::unique_ptr<SqliteConnection> connection, int version);
    ~SqliteStore() override;

    const std::string& location() const override;
    int schema_version() const override { return version_; }

    std::unique_ptr<ReadTransaction> begin_read() override;
    std::unique_ptr<WriteTransaction> begin_write() override;

private:
    std::unique_ptr<SqliteConnection> connection_;
    int version_;
};

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const StoreOptions& options);
InitReport initialise_sqlite_store(const std::string& path, const StoreOptions& options,
                                   const Seed& seed);

} // namespace nimbus::store
