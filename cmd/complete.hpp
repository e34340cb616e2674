#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app.hpp"

namespace nimbus::cli {

/// Prints the candidates for the last of `words` (the word being completed,
/// possibly empty), one per line: subcommands, options, fixed option values,
/// and names from the store and identity file (services, codes, OUs, users,
/// the caller's open sessions). What a command accepts (its formats) comes from
/// its declaration in `registry`. Throws on problems; the caller prints nothing then.
void complete(const CLI::App& root, const Registry& registry, const std::vector<std::string>& words,
              std::ostream& out);

} // namespace nimbus::cli
