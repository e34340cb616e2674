#include <nimbus/store/open.hpp>

#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/store/postgresql/conninfo.hpp>
#include <nimbus/store/postgresql/postgresql_store.hpp>
#include <nimbus/store/sqlite/sqlite_store.hpp>

namespace nimbus::store {

namespace {

std::string ascii_lower(std::string_view text) {
    std::string lower(text);
    for (char& c : lower) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return lower;
}

constexpr const char* locator_forms =
    "a store is a file path, sqlite:PATH, a postgresql:// URI or a libpq keyword/value string "
    "such as 'host=db.example dbname=nimbus'";

} // namespace

Locator parse_locator(std::string_view text) {
    const std::string_view scheme = conninfo::scheme(text);
    const std::string lower = ascii_lower(scheme);
    const bool has_authority = !scheme.empty() && text.substr(scheme.size()).starts_with("://");
    if (lower == "postgresql" || lower == "postgres") {
        if (!has_authority) {
            throw Error(
                ErrorKind::Usage,
                fmt::format("store \"{}\" is not a PostgreSQL URI", conninfo::redact(text).text),
                "write it as postgresql://USER@HOST:PORT/DATABASE");
        }
        // URI schemes are case-insensitive (RFC 3986); libpq knows them in lower case.
        Locator locator{Engine::Postgresql, lower + std::string(text.substr(scheme.size()))};
        check_postgresql_uri(locator.target);
        return locator;
    }
    if (lower == "sqlite") {
        // Whatever follows is a path, as written ("sqlite:///srv/store.db" too).
        const std::string_view path = text.substr(scheme.size() + 1);
        if (path.empty()) {
            throw Error(ErrorKind::Usage, "the store path is empty", locator_forms);
        }
        return Locator{Engine::Sqlite, std::string(path)};
    }
    if (has_authority) {
        throw Error(ErrorKind::Usage,
                    fmt::format("store \"{}\" is a {}:// URI, which nimbus-codes does not know",
                                conninfo::redact(text).text, scheme),
                    fmt::format("{}; a file whose name looks like a URI can be named ./NAME",
                                locator_forms));
    }
    // A keyword/value string is libpq's other spelling; never a file to create.
    if (conninfo::is_keyword_value(text)) {
        Locator locator{Engine::Postgresql, std::string(text)};
        check_postgresql_uri(locator.target);
        return locator;
    }
    if (text.empty()) {
        throw Error(ErrorKind::Usage, "the store path is empty", locator_forms);
    }
    return Locator{Engine::Sqlite, std::string(text)};
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
