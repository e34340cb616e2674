#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nimbus/store/sql/connection.hpp>
#include <nimbus/store/store.hpp>

/// The store's tables and their columns, in one place: `store copy` reads and
/// writes every row by these lists, and the ledger hashes records by them, so
/// that a column added to a table is copied and chained alike.
namespace nimbus::store::sql {

enum class Kind { Integer, Text };

struct Column {
    std::string_view name;
    Kind kind;
};

/// A table: every column in order, and the key its rows are read in (on
/// integers and ASCII names, so both engines give one order).
struct Table {
    std::string_view name;
    std::vector<Column> columns;
    std::string_view key;
};

/// Every table but the static outcome table, referenced tables first. The
/// store copy test compares every table of the schema, all columns, after a
/// copy: a table or column missing here fails it.
const std::vector<Table>& stored_tables();

/// The table of that name; Internal when there is none.
const Table& stored_table(std::string_view name);

/// "\"a\", \"b\"": column names quoted, for "user" is reserved in PostgreSQL;
/// with a prefix ("t.") before each, and without the column `except`.
std::string column_list(const Table& table, std::string_view prefix = "",
                        std::string_view except = "");

/// The value of column `index` of the current row of `q`, of the column's kind.
StoredValue read_value(const Statement& q, int index, Kind kind);

} // namespace nimbus::store::sql
