// The hidden `nimbus-codes __roles`: the role table of lib/nimbus/identity/policy.cpp
// as the markdown table of docs/roles.md, so that the page is the table's and
// tests/e2e/test_roles.py can tell when they differ.
#include <string_view>

#include <fmt/format.h>

#include <nimbus/identity/policy.hpp>

#include "app.hpp"

namespace nimbus::cli {

std::string roles_markdown() {
    std::string table = "| commands | allowed | scope |\n| --- | --- | --- |\n";
    for (const policy::Rule& rule : policy::rules()) {
        std::string commands;
        for (const std::string_view name : policy::command_names(rule)) {
            commands += fmt::format("{}`{}`", commands.empty() ? "" : ", ", name);
        }
        table += fmt::format("| {} | {} | {} |\n", commands, policy::describe_roles(rule.roles),
                             rule.scope_text);
    }
    // init runs before there are users to hold roles: no rule governs it.
    table += "| `init` | whoever may write the store's folder | — |\n";
    return table;
}

} // namespace nimbus::cli
