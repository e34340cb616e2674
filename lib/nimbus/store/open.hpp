#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nimbus/store/store.hpp>

namespace nimbus::store {

enum class Engine { Sqlite, Postgresql };

/// The engines this binary opens, by the names a locator gives them.
constexpr std::array<std::string_view, 2> engine_names{"sqlite", "postgresql"};

/// Where a store lives: "PATH" or "sqlite:PATH" for SQLite,
/// "postgresql://USER@HOST:PORT/DATABASE?..." (or postgres://, the scheme in
/// any case) or a libpq keyword/value string ("host=H dbname=D") for PostgreSQL.
struct Locator {
    Engine engine = Engine::Sqlite;
    std::string target; ///< the file path for SQLite, the connection string for PostgreSQL
};

/// Parses a --store value. Throws Usage for a malformed one, for another
/// scheme://, and for a connection string with a password in it, never
/// repeating the password. Text that looks like a connection string is never
/// taken for a file path.
Locator parse_locator(std::string_view text);

struct StoreOptions {
    /// How long a writer waits for another writer's lock before giving up (exit 75).
    std::chrono::milliseconds busy_timeout{5000};
};

/// True when something exists at the locator (initialised or not). A server
/// is not asked: true, and `initialise_store` finds out.
bool store_exists(const Locator& locator);

/// Opens an existing, initialised store whose schema matches this binary.
/// Missing or uninitialised: InputMissing. Foreign, newer or older schema: Config.
std::unique_ptr<Store> open_store(const Locator& locator, const StoreOptions& options);

/// What `initialise_store` did.
struct InitReport {
    std::unique_ptr<Store> store;
    int previous_version = 0; ///< 0 when the store was created
    int version = 0;
};

/// Fills a newly set-up store (or checks an existing one) inside the set-up
/// transaction; `previous_version` is the schema the store had (0: new).
using Seed = std::function<void(WriteTransaction& tx, int previous_version)>;

/// Creates the store (and its folder) or migrates an older schema to the
/// current one, then runs `seed`, all in one transaction: if anything fails,
/// the store is as it was. A newer or foreign store is refused (Config) and
/// left untouched.
InitReport initialise_store(const Locator& locator, const StoreOptions& options, const Seed& seed);

} // namespace nimbus::store
