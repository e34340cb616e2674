#include <algorithm>

#include <fmt/format.h>

#include <nimbus/copy/store_copy.hpp>
#include <nimbus/store/guards.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

struct CopyArgs {
    std::string from;
    std::string to;
};

Result copy(const IdentityContext& context, const CopyArgs& args) {
    // Both locators are checked before either store is opened.
    const store::Locator from = store::parse_locator(args.from);
    const store::Locator to = store::parse_locator(args.to);
    const copy::CopyReport report =
        copy::copy_store(from, to, store_options(context.globals), context.actor, context.now);

    output::Rows rows;
    rows.columns = {{"table", "TABLE"}, {"rows", "ROWS"}};
    std::int64_t total = 0;
    for (const copy::TableCount& table : report.tables) {
        rows.add({table.table, table.rows});
        total += table.rows;
    }
    Result result = Result::list(std::move(rows));
    result.notes.push_back(fmt::format(
        "copied {} rows from {} to {} (schema {}); verified: every table's rows identical, "
        "{} usage report rows identical",
        total, report.from, report.to, report.schema_version, report.report_rows));
    return result;
}

} // namespace

void add_store_commands(CLI::App& app, Registry& registry) {
    CLI::App* store = add_noun(app, "store", "Move a team's store between engines");
    auto args = std::make_shared<CopyArgs>();
    CLI::App* copy_command = store->add_subcommand(
        "copy", "Copy a whole store, ids and all, into an empty one (e.g. SQLite to PostgreSQL)");
    copy_command
        ->add_option("--from", args->from,
                     "The store to copy: PATH, sqlite:PATH or "
                     "postgresql://USER@HOST:PORT/DB")
        ->type_name("STORE")
        ->required();
    copy_command
        ->add_option("--to", args->to, "The empty store to fill; created when it does not exist")
        ->type_name("STORE")
        ->required();
    // The store's guards as its engine describes them, one sorted line each in the
    // form of schema/<engine>/guards.txt, which the tests compare with it.
    CLI::App* guards = app.add_subcommand("__guards", "");
    guards->group("");
    // Who may verify the store may list what verify compares.
    Command list_guards{policy::Action::Verify, ReadBody([](const ReadContext& c) {
                            std::vector<std::string> lines;
                            for (const store::Guard& guard : c.tx.guards()) {
                                lines.push_back(store::guard_line(guard));
                            }
                            std::sort(lines.begin(), lines.end());
                            Result result;
                            result.text.emplace();
                            for (const std::string& line : lines) {
                                *result.text += line + "\n";
                            }
                            return result;
                        })};
    list_guards.formats = {output::Format::Table};
    registry.add(guards, std::move(list_guards));

    Command copy_store{
        policy::Action::CopyStore,
        IdentityBody([args](const IdentityContext& context) { return copy(context, *args); })};
    copy_store.root_only_on_shared_host = true;
    registry.add(copy_command, std::move(copy_store));
}

} // namespace nimbus::cli
