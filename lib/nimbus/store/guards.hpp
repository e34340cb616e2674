#pragma once

#include <string>
#include <vector>

#include <nimbus/store/open.hpp>
#include <nimbus/store/store.hpp>

/// The store's guards: the triggers, functions, constraints, indexes and table
/// definitions that make its records permanent. Each schema version defines
/// them exactly (schema/<engine>/guards.txt); a store whose guards differ may
/// have been tampered with, and nothing is written to it.
namespace nimbus::store {

/// The guards this binary's schema defines on `engine`, sorted.
std::vector<Guard> expected_guards(Engine engine);

/// "kind<TAB>table<TAB>name<TAB>definition", the form of guards.txt.
std::string guard_line(const Guard& guard);

/// What differs between the guards a store has and those its schema defines.
/// Objects on tables the schema does not know, and functions that are not
/// the schema's, are the database owner's business and not compared.
std::vector<GuardDifference> guard_differences(const std::vector<Guard>& expected,
                                               std::vector<Guard> actual);

/// True when the store's guards are exactly the list's, line for line: the
/// common case, decided without parsing the list (a write pays only this).
bool guards_as_listed(const std::vector<Guard>& actual, Engine engine);

/// Throws Config, naming the differences and what to do, unless the store's
/// guards are exactly those of its schema. An object added to the schema's
/// tables counts too: a trigger of someone else's could alter every record
/// the tool writes.
void require_guards(const std::vector<Guard>& actual, Engine engine, const std::string& location);

} // namespace nimbus::store
