#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/directory/directory.hpp>
#include <nimbus/error.hpp>

#include "app.hpp"
#include "directory_cells.hpp"

namespace nimbus::cli {
namespace {

/// A directory file is read whole before the store is opened; the largest
/// CRM exports of a contact center are far smaller.
constexpr std::size_t max_directory_file = 256U << 20U;

struct ImportArgs {
    std::string file;
    std::string input_format;
    std::string ou;
    std::string country;
    std::string content; ///< read before the store is opened
};

Result import_directory(const WriteContext& context, const ImportArgs& args) {
    directory::ImportOptions options;
    options.source = args.file == "-" ? "<stdin>" : args.file;
    options.format = input_format(args.file, args.input_format);
    options.ou = given(args.ou);
    options.country = given(args.country);
    std::istringstream in(args.content);
    const directory::ImportSummary summary =
        directory::import(context.tx, context.audit, context.actor, in, options);
    Result result;
    if (summary.invalid > 0) {
        add_row_problems(result, options.source, summary.problems, summary.invalid);
        result.exit_status = 65;
        result.rollback = true;
        result.error =
            fmt::format("{} {} invalid; the directory of {} is unchanged", summary.invalid,
                        summary.invalid == 1 ? "row is" : "rows are", summary.ou_path);
        return result;
    }
    output::Rows rows;
    rows.columns = {{"ou", "OU"},
                    {"country", "COUNTRY"},
                    {"entries", "ENTRIES"},
                    {"added", "ADDED"},
                    {"changed", "CHANGED"},
                    {"removed", "REMOVED"},
                    {"unchanged", "UNCHANGED"}};
    const auto count = [](std::size_t n) {
        return static_cast<std::int64_t>(n);
    };
    rows.add({summary.ou_path, summary.country, count(summary.entries), count(summary.added),
              count(summary.changed), count(summary.removed), count(summary.unchanged)});
    result = Result::record(std::move(rows));
    result.notes.push_back(
        fmt::format("directory of {}: {} callers; {} added, {} changed, {} removed, {} unchanged",
                    summary.ou_path, summary.entries, summary.added, summary.changed,
                    summary.removed, summary.unchanged));
    return result;
}

struct ListArgs {
    std::string ou;
};

output::Rows entry_rows(store::ReadTransaction& tx, const std::vector<DirectoryEntry>& entries) {
    std::map<std::int64_t, std::string> paths;
    for (const Ou& ou : tx.ous()) {
        paths.emplace(ou.id, ou.path);
    }
    output::Rows rows;
    rows.columns = {{"ou", "OU"},
                    {"number", "NUMBER"},
                    {"name", "NAME"},
                    {"company", "COMPANY"},
                    {"email", "EMAIL"},
                    {"notes", "NOTES", output::Audience::Programs},
                    {"attributes", "ATTRIBUTES", output::Audience::Programs}};
    for (const DirectoryEntry& entry : entries) {
        rows.add({paths.at(entry.ou_id), entry.number, entry.name, entry.company, entry.email,
                  entry.notes, attributes_cell(entry)});
    }
    return rows;
}

struct ShowArgs {
    std::string number;
    std::string ou;
};

struct RemoveArgs {
    std::vector<std::string> numbers;
    std::string ou;
    bool all = false;
};

Result remove(const WriteContext& context, const RemoveArgs& args) {
    const directory::RemoveSummary summary = directory::remove(
        context.tx, context.audit, context.actor, given(args.ou), args.numbers, args.all);
    Result result;
    if (summary.directory_removed) {
        result.notes.push_back(fmt::format("removed the directory of {}", summary.ou_path));
        return result;
    }
    output::Rows rows;
    rows.columns = {{"ou", "OU"}, {"number", "NUMBER"}};
    for (const std::string& number : summary.removed) {
        rows.add({summary.ou_path, number});
    }
    result = Result::list(std::move(rows));
    result.notes.push_back(fmt::format("removed {} callers from the directory of {}",
                                       summary.removed.size(), summary.ou_path));
    return result;
}

} // namespace

void add_directory_commands(CLI::App& app, Registry& registry) {
    CLI::App* noun =
        add_noun(app, "directory", "The caller directory: who calls, from a CRM's export");

    auto import_args = std::make_shared<ImportArgs>();
    CLI::App* import_command = noun->add_subcommand(
        "import", "Replace an OU's directory with the callers of a CSV or JSON Lines file");
    import_command->add_option("file", import_args->file, "The file, or - for standard input")
        ->required()
        ->type_name("FILE");
    import_command
        ->add_option("--ou", import_args->ou, "The directory's OU (default: the tenant root)")
        ->type_name("PATH");
    import_command
        ->add_option("--country", import_args->country,
                     "The country of national numbers, e.g. CH (default: the directory's)")
        ->type_name("CC");
    import_command
        ->add_option("--input-format", import_args->input_format,
                     "csv or jsonl (default: from the file name)")
        ->check(one_of({"csv", "jsonl"}));
    Command importing{policy::Action::ManageDirectory,
                      WriteBody([import_args](const WriteContext& c) {
                          return import_directory(c, *import_args);
                      })};
    importing.prepare = [import_args] {
        import_args->content = read_input(import_args->file, max_directory_file);
    };
    importing.inputs = [import_args] {
        return import_args->file == "-" ? std::vector<std::string>{}
                                        : std::vector{import_args->file};
    };
    registry.add(import_command, std::move(importing));

    auto list_args = std::make_shared<ListArgs>();
    CLI::App* list = noun->add_subcommand("list", "List the callers of the directories");
    list->add_option("--ou", list_args->ou, "Only this OU's directory")->type_name("PATH");
    registry.add(list,
                 Command{policy::Action::ReadDirectory, ReadBody([list_args](const ReadContext& c) {
                             return Result::list(entry_rows(
                                 c.tx, directory::entries(c.tx, c.actor, given(list_args->ou))));
                         })});

    auto show_args = std::make_shared<ShowArgs>();
    CLI::App* show = noun->add_subcommand("show", "Show a caller, by number as written anywhere");
    show->add_option("number", show_args->number, "The phone number")
        ->required()
        ->type_name("NUMBER");
    show->add_option("--ou", show_args->ou, "Only this OU's directory")->type_name("PATH");
    registry.add(show,
                 Command{policy::Action::ReadDirectory, ReadBody([show_args](const ReadContext& c) {
                             const auto found = directory::find(c.tx, c.actor, show_args->number,
                                                                given(show_args->ou));
                             output::Rows rows = entry_rows(c.tx, found);
                             return found.size() == 1 ? Result::record(std::move(rows))
                                                      : Result::list(std::move(rows));
                         })});

    auto remove_args = std::make_shared<RemoveArgs>();
    CLI::App* remove_command =
        noun->add_subcommand("remove", "Remove callers from an OU's directory, or the directory");
    remove_command->add_option("number", remove_args->numbers, "The callers' numbers")
        ->type_name("NUMBER");
    remove_command
        ->add_option("--ou", remove_args->ou, "The directory's OU (default: the tenant root)")
        ->type_name("PATH");
    remove_command->add_flag("--all", remove_args->all, "Remove the whole directory");
    registry.add(remove_command, Command{policy::Action::ManageDirectory,
                                         WriteBody([remove_args](const WriteContext& c) {
                                             return remove(c, *remove_args);
                                         })});
} // namespace nimbus::cli

} // namespace nimbus::cli
