#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include <nimbus/config/config.hpp>
#include <nimbus/error.hpp>
#include <nimbus/util/files.hpp>

#include "app.hpp"

namespace nimbus::cli {
/// The whole of FILE, or of stdin for "-".
std::string read_input(const std::string& path, std::size_t limit) {
    std::ifstream file;
    if (path != "-") {
        file = open_input_file(path);
    }
    std::istream& in = path == "-" ? std::cin : file;
    // Read in blocks, so that /dev/zero or an endless pipe ends at the limit.
    std::string content;
    std::array<char, 65536> block{};
    while (in.read(block.data(), block.size()) || in.gcount() > 0) {
        content.append(block.data(), static_cast<std::size_t>(in.gcount()));
        if (content.size() > limit) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{} is larger than {} bytes",
                                    path == "-" ? "standard input" : path, limit),
                        "name the file meant");
        }
    }
    return content;
}

namespace {

struct PlanArgs {
    std::string file;
    std::string text; ///< the file's content, read before the store is opened
    bool prune = false;
    bool detailed_exitcode = false;
    bool dry_run = false;
};

/// Runs the file against the store; `commit` says whether the result is kept.
Result run_file(const WriteContext& context, const PlanArgs& args, bool commit) {
    const std::vector<config::Step> steps =
        config::apply(context.tx, context.audit, context.actor, args.text,
                      args.file == "-" ? "<stdin>" : args.file, config::Options{args.prune});
    Result result;
    result.rollback = !commit;
    result.text.emplace();
    output::Rows rows;
    rows.columns = {
        {"change", "CHANGE"}, {"kind", "KIND"}, {"target", "TARGET"}, {"detail", "DETAIL"}};
    std::size_t added = 0;
    std::size_t changed = 0;
    std::size_t deleted = 0;
    for (const config::Step& step : steps) {
        rows.add({std::string(1, step.sign), step.kind, step.target, step.detail});
        *result.text += step.line() + "\n";
        added += step.sign == '+' ? 1 : 0;
        changed += step.sign == '~' ? 1 : 0;
        deleted += step.sign == '-' ? 1 : 0;
    }
    result.rows = std::move(rows);
    if (steps.empty()) {
        result.notes.push_back("no changes: the store matches the file");
    } else {
        result.notes.push_back(fmt::format("{}: {} to add, {} to change, {} to delete",
                                           commit ? "applied" : "plan", added, changed, deleted));
        if (!commit && args.dry_run) {
            result.notes.push_back("dry run: nothing was changed");
        }
    }
    if (!commit && args.detailed_exitcode && !steps.empty()) {
        result.exit_status = 2;
    }
    return result;
}

/// config plan and apply: the file is read before the store is opened.
Command file_command(const std::shared_ptr<PlanArgs>& args, WriteBody body) {
    Command command{policy::Action::ApplyConfig, std::move(body)};
    command.prepare = [args] {
        args->text = read_input(args->file);
    };
    command.inputs = [args] {
        return args->file == "-" ? std::vector<std::string>{} : std::vector{args->file};
    };
    return command;
}

} // namespace

void add_config_commands(CLI::App& app, Registry& registry) {
    CLI::App* config = add_noun(app, "config", "Configuration as code: export, plan, apply");

    auto export_ou = std::make_shared<std::string>();
    CLI::App* export_command =
        config->add_subcommand("export", "Print the configuration as TOML (always TOML)");
    export_command->add_option("--ou", *export_ou, "Only this OU and what is below it")
        ->type_name("PATH");
    Command export_config{policy::Action::ExportConfig, ReadBody([export_ou](const ReadContext& c) {
                              Result result;
                              result.text = config::export_toml(
                                  c.tx, c.actor,
                                  export_ou->empty() ? std::nullopt : std::optional(*export_ou));
                              return result;
                          })};
    export_config.formats = {output::Format::Table}; // TOML, whatever --format says
    registry.add(export_command, std::move(export_config));

    auto plan_args = std::make_shared<PlanArgs>();
    CLI::App* plan =
        config->add_subcommand("plan", "Show what 'config apply' would change, one line each");
    plan->add_option("file", plan_args->file, "Configuration file, or - for stdin")
        ->required()
        ->type_name("FILE");
    plan->add_flag("--prune", plan_args->prune,
                   "Also delete codes and list entries the file does not name");
    plan->add_flag("--detailed-exitcode", plan_args->detailed_exitcode,
                   "Exit 2 when there are changes");
    registry.add(plan, file_command(plan_args, [plan_args](const WriteContext& c) {
                     return run_file(c, *plan_args, false);
                 }));

    auto apply_args = std::make_shared<PlanArgs>();
    CLI::App* apply =
        config->add_subcommand("apply", "Make the store match the file, in one transaction");
    apply->add_option("file", apply_args->file, "Configuration file, or - for stdin")
        ->required()
        ->type_name("FILE");
    apply->add_flag("--prune", apply_args->prune,
                    "Also delete codes and list entries the file does not name");
    apply->add_flag("--dry-run", apply_args->dry_run, "Show the changes, keep nothing");
    registry.add(apply, file_command(apply_args, [apply_args](const WriteContext& c) {
                     return run_file(c, *apply_args, !apply_args->dry_run);
                 }));
}

} // namespace nimbus::cli
