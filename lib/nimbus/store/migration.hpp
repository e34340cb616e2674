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

/// The SQLite migrations in order, version 1 first.
std::span<const Migration> sqlite_migrations();

} // namespace nimbus::store
