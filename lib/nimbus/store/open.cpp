#include <nimbus/store/open.hpp>

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/store/postgresql/postgresql_store.hpp>
#include <nimbus/store/sqlite/sqlite_store.hpp>

namespace nimbus::store {

Locator parse_locator(std::string_view text) {
    if (text.starts_with("postgresql://") || text.starts_with("postgres://")) {
        Locator locator{Engine::Postgresql, std::string(text)};
        check_postgresql_uri(locator.target);
        return locator;
    }
    std::string_view path = text;
    if (path.starts_with("sqlite:")) {
        path.remove_prefix(std::string_view("sqlite:").size());
    }
    if (path.empty()) {
        throw Error(ErrorKind::Usage, "the store path is empty");
    }
    return Locator{Engine::Sqlite, std::string(path)};
}

bool store_exists(const Locator& locator) {
    if (locator.engine == Engine::Postgresql) {
        return true;
    }
    std::error_code ec;
    return std::filesystem::exists(locator.target, ec);
}

std::unique_ptr<Store> open_store(const Locator& locator, const StoreOptions& options) {
    switch (locator.engine) {
    case Engine::Postgresql: return open_postgresql_store(locator.target, options);
    case Engine::Sqlite: break;
    }
    return open_sqlite_store(locator.target, options);
}

InitReport initialise_store(const Locator& locator, const StoreOptions& options, const Seed& seed) {
    switch (locator.engine) {
    case Engine::Postgresql: return initialise_postgresql_store(locator.target, options, seed);
    case Engine::Sqlite: break;
    }
    return initialise_sqlite_store(locator.target, options, seed);
}

} // namespace nimbus::store
