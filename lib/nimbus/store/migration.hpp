#pragma once

#include <span>
#include <string_view>

namespace nimbus::store {

/// One numbered schema step, embedded from schema/<engine>/NNNN_name.sql at build time.
struct Migration {
    int version;
    std::string_view name;
    std::string_view sql;
};

/// Each engine's migrations in order, version 1 first. Both engines have the
/// same versions, so a version number means the same schema on either.
std::span<const Migration> sqlite_migrations();
std::span<const Migration> postgresql_migrations();

} // namespace nimbus::store
