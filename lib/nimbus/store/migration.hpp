#pragma once

#include <span>
#include <string>
#include <string_view>

namespace nimbus::store {

/// One numbered schema step, embedded from schema/<engine>/NNNN_name.sql at build time.
struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

/// The schema that brought the ledger (0007_ledger.sql): a store upgraded
/// from an older one gets its existing records chained by `init`.
constexpr int ledger_schema_version = 7;

/// The schema from which a PostgreSQL store may keep a roster whose roles
/// its server enforces (0009_server_roles.sql).
constexpr int roster_schema_version = 9;

/// The schema that keeps how sessions' callers read as phone numbers
/// (0013_caller_numbers.sql): `init` reads those of an older store's sessions.
constexpr int caller_number_schema_version = 13;

/// Each engine's migrations in order, version 1 first. Both engines have the
/// same versions, so a version number means the same schema on either.
std::span<const Migration> sqlite_migrations();
std::span<const Migration> postgresql_migrations();

/// The schema version this binary writes, the same on both engines.
int current_schema_version();

/// Each engine's schema/<engine>/guards.txt: the guards its migrations create.
std::string_view sqlite_guard_list();
std::string_view postgresql_guard_list();

/// A store written by a newer nimbus-codes is never touched (Config).
void refuse_newer_schema(const std::string& location, int version, int latest);

/// What every command but `init` needs of a store it opens, on either engine:
/// initialised (else InputMissing) at exactly `latest`, the binary's schema
/// version (an older one is Config, with the hint to upgrade it with init).
void require_current_schema(const std::string& location, bool initialised, int version, int latest);

} // namespace nimbus::store
