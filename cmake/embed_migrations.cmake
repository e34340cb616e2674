# Turns the numbered SQL files of one engine, and the list of the guards they
# create (guards.txt), into a C++ source, so that the binary carries its own
# schema. Run at build time:
#   cmake -DENGINE=sqlite -DOUTPUT=out.cpp -DSOURCES="a.sql;b.sql" -DGUARDS=guards.txt \
#         -P embed_migrations.cmake
# File names must be NNNN_description.sql, numbered 1, 2, 3, ... without gaps.
list(SORT SOURCES)
set(entries "")
set(expected 1)
foreach(source IN LISTS SOURCES)
  get_filename_component(file_name "${source}" NAME)
  if(NOT file_name MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.sql$")
    message(FATAL_ERROR "migration ${file_name}: name must be NNNN_description.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  set(description "${CMAKE_MATCH_2}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "migration ${file_name}: expected number ${expected}")
  endif()
  math(EXPR expected "${expected} + 1")
  file(READ "${source}" sql)
  string(FIND "${sql}" ")nimbus_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "migration ${file_name} contains the embedding delimiter")
  endif()
  string(APPEND entries "    {${version}, \"${description}\", R\"nimbus_sql(${sql})nimbus_sql\"},\n")
endforeach()

set(guards "")
if(EXISTS "${GUARDS}")
  file(READ "${GUARDS}" guards)
  string(FIND "${guards}" ")nimbus_sql\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${GUARDS} contains the embedding delimiter")
  endif()
endif()

file(WRITE "${OUTPUT}.tmp" "// Generated from schema/${ENGINE}/ by cmake/embed_migrations.cmake; do not edit.
#include <nimbus/store/migration.hpp>

namespace nimbus::store {
namespace {
constexpr Migration migrations[] = {
${entries}};
} // namespace

std::span<const Migration> ${ENGINE}_migrations() { return migrations; }
std::string_view ${ENGINE}_guard_list() { return R\"nimbus_sql(${guards})nimbus_sql\"; }
} // namespace nimbus::store
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
