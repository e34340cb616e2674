#include <nimbus/store/sql/tables.hpp>

#include <fmt/format.h>

#include <nimbus/error.hpp>

namespace nimbus::store::sql {
namespace {

constexpr Kind I = Kind::Integer;
constexpr Kind T = Kind::Text;

} // namespace

// In an order in which rows can be inserted: referenced rows first, and a
// session's context and times before its conclusion, which makes them final.
const std::vector<Table>& stored_tables() {
    static const std::vector<Table> tables = {
        {"ou",
         {{"id", I},
          {"parent_id", I},
          {"name", T},
          {"path", T},
          {"path_key", T},
          {"created_at", T}},
         "id"},
        {"ou_retired", {{"ou_id", I}, {"retired_at", I}}, "ou_id"},
        {"code",
         {{"id", I},
          {"type", T},
          {"name", T},
          {"name_key", T},
          {"description", T},
          {"ou_id", I},
          {"created_at", T},
          {"deleted_at", T}},
         "id"},
        {"service",
         {{"id", I}, {"name", T}, {"name_key", T}, {"ou_id", I}, {"license", T}, {"created_at", T}},
         "id"},
        {"service_retired", {{"service_id", I}, {"retired_at", I}}, "service_id"},
        {"service_code",
         {{"service_id", I}, {"list", T}, {"position", I}, {"code_id", I}},
         "service_id, list, position"},
        {"service_extension", {{"service_id", I}, {"feature", T}}, "service_id, feature"},
        {"service_wrap_up",
         {{"service_id", I},
          {"deadline_seconds", I},
          {"default_primary", I},
          {"default_secondary", I},
          {"effective_from", I}},
         "service_id"},
        {"context_field",
         {{"id", I},
          {"ou_id", I},
          {"name", T},
          {"name_key", T},
          {"type", T},
          {"choices", T},
          {"description", T}},
         "id"},
        {"session",
         {{"id", I},
          {"external_id", T},
          {"service_id", I},
          {"user", T},
          {"direction", T},
          {"started_at", I},
          {"ended_at", I},
          {"outcome", T},
          {"caller", T}},
         "id"},
        {"session_context",
         {{"session_id", I}, {"field_id", I}, {"value", T}},
         "session_id, field_id"},
        {"session_times",
         {{"session_id", I}, {"waiting_seconds", I}, {"talk_seconds", I}},
         "session_id"},
        {"conclusion",
         {{"session_id", I},
          {"concluded_at", I},
          {"user", T},
          {"via", T},
          {"retroactive", I},
          {"code_count", I},
          {"tag_count", I}},
         "session_id"},
        {"conclusion_default", {{"session_id", I}, {"deadline_at", I}}, "session_id"},
        {"conclusion_code",
         {{"session_id", I}, {"position", I}, {"code_id", I}, {"type", T}, {"name", T}},
         "session_id, position"},
        {"conclusion_tag",
         {{"session_id", I}, {"position", I}, {"tag", T}, {"tag_key", T}},
         "session_id, position"},
        {"audit",
         {{"id", I},
          {"at", T},
          {"user", T},
          {"via", T},
          {"ou_id", I},
          {"action", T},
          {"target", T},
          {"before", T},
          {"after", T}},
         "id"},
        {"directory", {{"ou_id", I}, {"country", T}, {"imported_at", T}}, "ou_id"},
        {"directory_entry",
         {{"ou_id", I},
          {"number", T},
          {"name", T},
          {"company", T},
          {"email", T},
          {"notes", T},
          {"attributes", T}},
         "ou_id, number"},
        {"caller_number", {{"caller", T}, {"country", T}, {"number", T}}, "caller, country"},
        {"ledger",
         {{"position", I}, {"kind", T}, {"record_id", I}, {"record_hash", T}, {"chain_hash", T}},
         "position"},
    };
    return tables;
}

const Table& stored_table(std::string_view name) {
    for (const Table& table : stored_tables()) {
        if (table.name == name) {
            return table;
        }
    }
    throw Error(ErrorKind::Internal, fmt::format("no table \"{}\" in the store", name));
}

std::string column_list(const Table& table, std::string_view prefix, std::string_view except) {
    std::string list;
    for (const Column& column : table.columns) {
        if (column.name == except) {
            continue;
        }
        list += fmt::format("{}{}\"{}\"", list.empty() ? "" : ", ", prefix, column.name);
    }
    return list;
}

StoredValue read_value(const Statement& q, int index, Kind kind) {
    if (q.is_null(index)) {
        return nullptr;
    }
    if (kind == Kind::Integer) {
        return q.integer(index);
    }
    return q.text(index);
}

} // namespace nimbus::store::sql
