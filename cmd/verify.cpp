#include <fmt/format.h>

#include <nimbus/store/guards.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

Result verify(const ReadContext& context) {
    const std::vector<store::Guard> expected = store::expected_guards(context.engine);
    const std::vector<store::GuardDifference> differences =
        store::guard_differences(expected, context.tx.guards());
    output::Rows rows;
    rows.columns = {{"check", "CHECK"}, {"result", "RESULT"}, {"detail", "DETAIL"}};
    rows.add({std::string("guards"), std::string(differences.empty() ? "ok" : "broken"),
              differences.empty()
                  ? fmt::format("{} objects, as schema {} defines them", expected.size(),
                                context.schema_version)
                  : fmt::format("{} difference{} from schema {}", differences.size(),
                                differences.size() == 1 ? "" : "s", context.schema_version)});
    Result result = Result::list(std::move(rows));
    for (const store::GuardDifference& difference : differences) {
        result.problems.push_back("guards: " + difference.describe());
    }
    if (!differences.empty()) {
        result.exit_status = 65;
        result.error = "the store's guards differ from those of its schema: nothing is written "
                       "to it until they are restored";
    }
    return result;
}

} // namespace

void add_verify_command(CLI::App& app, Registry& registry) {
    CLI::App* command =
        app.add_subcommand("verify", "Check that the store's guards are those its schema defines");
    registry.add(command, Command{policy::Action::Verify, ReadBody(verify)});
}

} // namespace nimbus::cli
