#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/roster.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

struct PushArgs {
    std::string file;
    std::optional<identity::Identity> pushed; ///< read before the store is opened
};

Result push(const WriteContext& context, const PushArgs& args) {
    if (!context.tx.server_caller()) {
        throw Error(ErrorKind::Usage,
                    "a SQLite store keeps no roster: its identity file and the operating system "
                    "decide who may do what",
                    "'identity push' is for PostgreSQL stores (docs/postgresql.md)");
    }
    const bool first = context.tx.people().empty();
    const roster::PushSummary summary = roster::push(context.tx, context.audit, *args.pushed);
    output::Rows rows;
    rows.columns = {{"file", "FILE"},
                    {"users", "USERS"},
                    {"added", "ADDED"},
                    {"changed", "CHANGED"},
                    {"removed", "REMOVED"}};
    rows.add({args.pushed->source, static_cast<std::int64_t>(summary.users),
              static_cast<std::int64_t>(summary.added), static_cast<std::int64_t>(summary.changed),
              static_cast<std::int64_t>(summary.removed)});
    Result result = Result::record(std::move(rows));
    result.notes.push_back(fmt::format("stored {} users: {} added, {} changed, {} removed",
                                       summary.users, summary.added, summary.changed,
                                       summary.removed));
    if (first) {
        result.notes.push_back("the server now enforces the role table: each person connects as "
                               "their own database role (docs/postgresql.md)");
    }
    return result;
}

} // namespace

void add_identity_commands(CLI::App& app, Registry& registry) {
    CLI::App* noun = add_noun(app, "identity", "The roster a PostgreSQL store enforces");

    auto args = std::make_shared<PushArgs>();
    CLI::App* push_command = noun->add_subcommand(
        "push", "Store an identity file's users and grants in a PostgreSQL store, whose server "
                "then enforces the role table");
    push_command->add_option("file", args->file, "The identity file (TOML)")
        ->required()
        ->type_name("FILE");
    Command command{policy::Action::PushIdentity,
                    WriteBody([args](const WriteContext& c) { return push(c, *args); })};
    command.prepare = [args] {
        args->pushed = identity::load_identity_file(args->file);
    };
    command.inputs = [args] {
        return std::vector{args->file};
    };
    registry.add(push_command, std::move(command));
}

} // namespace nimbus::cli
