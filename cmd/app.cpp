#include "app.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <nimbus/config/config.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/reports/export.hpp>
#include <nimbus/reports/per_service.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/store/migration.hpp>
#include <nimbus/store/open.hpp>
#include <nimbus/util/files.hpp>
#include <nimbus/util/text.hpp>

#include "complete.hpp"
#include "console.hpp"
#include "dispatch.hpp"
#include "environment.hpp"
#include "exit_codes.hpp"

namespace nimbus::cli {

void add_global_options(CLI::App& app, Globals& globals) {
    const std::string group = "Global options (accepted before or after the command)";
    app.add_option("--store", globals.store,
                   "The store: a SQLite file path or sqlite:PATH, or PostgreSQL as "
                   "postgresql://USER@HOST:PORT/DB or a libpq key=value string "
                   "(default: $XDG_DATA_HOME/nimbus-codes/store.db)")
        ->envname("NIMBUS_CODES_STORE")
        ->type_name("PATH")
        ->group(group);
    app.add_option("--identity", globals.identity,
                   "The identity file (default: $XDG_CONFIG_HOME/nimbus-codes/identity.toml)")
        ->envname("NIMBUS_CODES_IDENTITY")
        ->type_name("PATH")
        ->group(group);
    // "(tenant admins only)": the one role of the ActAs rule.
    const std::string act_as =
        fmt::format("Act as another listed user ({}s only)",
                    policy::describe_roles(policy::rule_for(policy::Action::ActAs).roles));
    app.add_option("--as", globals.act_as, act_as)->type_name("USER")->group(group);
    app.add_option("--format", globals.format, "Output format")
        ->check(one_of({"table", "json", "csv", "html"}))
        ->type_name("table|json|csv|html")
        ->capture_default_str()
        ->group(group);
    app.add_flag("-q,--quiet", globals.quiet, "Print no messages on stderr, only errors")
        ->group(group);
    app.add_flag("--no-color", globals.no_color, "Never colour the output (as NO_COLOR does)")
        ->group(group);
    app.add_option("--busy-timeout", globals.busy_timeout_ms,
                   "Milliseconds to wait for another writer before giving up with exit 75")
        ->envname("NIMBUS_CODES_BUSY_TIMEOUT")
        ->check(whole_number(0, 3'600'000))
        ->type_name("MS")
        ->capture_default_str()
        ->group(group);
}

namespace {

/// The files nimbus-codes reads or writes beside the store, with the version
/// of their format that this binary reads and writes.
std::vector<std::pair<std::string, int>> file_formats() {
    return {{"configuration", config::file_format_version},
            {"identity", identity::file_format_version},
            {"export model", reports::export_model_version},
            {"usage reports", reports::per_service_format_version}};
}

/// What --version prints: the release, the store schema it writes, the
/// formats of its files and the engines it opens, as text or (--format json)
/// one JSON object.
std::string version_text(const std::string& format) {
    const std::vector<std::pair<std::string, int>> formats = file_formats();
    if (format == "json") {
        nlohmann::ordered_json formats_json = nlohmann::ordered_json::object();
        for (const auto& [file, version] : formats) {
            formats_json[file] = version;
        }
        return nlohmann::ordered_json{{"name", "nimbus-codes"},
                                      {"version", NIMBUS_VERSION},
                                      {"schema", store::current_schema_version()},
                                      {"formats", formats_json},
                                      {"engines", store::engine_names}}
            .dump();
    }
    std::string formats_text;
    for (const auto& [file, version] : formats) {
        formats_text += fmt::format("{}{} {}", formats_text.empty() ? "" : ", ", file, version);
    }
    return fmt::format("nimbus-codes {}\nstore schema: {}\nfile formats: {}\nengines: {}",
                       NIMBUS_VERSION, store::current_schema_version(), formats_text,
                       fmt::join(store::engine_names, ", "));
}

/// Edit distance between two ASCII words, for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

/// True when `name` is an option of `app` or of a parent (global options fall
/// through) that takes a value, so that the next word is not a command.
bool takes_value(const CLI::App* app, const std::string& name) {
    for (; app != nullptr; app = app->get_parent()) {
        if (const CLI::Option* option = app->get_option_no_throw(name)) {
            return option->get_type_size_max() > 0 && option->get_expected_max() > 0;
        }
    }
    return false;
}

/// The commands of each top-level word, in the order help lists them.
struct Noun {
    std::string_view name;
    void (*add)(CLI::App&, Registry&);
};
constexpr std::array nouns{
    Noun{"init", add_init_command},
    Noun{"whoami", add_whoami_command},
    Noun{"ou", add_ou_commands},
    Noun{"code", add_code_commands},
    Noun{"service", add_service_commands},
    Noun{"extension", add_extension_commands},
    Noun{"directory", add_directory_commands},
    Noun{"context", add_context_commands},
    Noun{"config", add_config_commands},
    Noun{"session", add_session_commands},
    Noun{"report", add_report_commands},
    Noun{"audit", add_audit_commands},
    Noun{"store", add_store_commands},
    Noun{"verify", add_verify_command},
    Noun{"identity", add_identity_commands},
};

/// The noun the command line names, when only its commands are needed: then
/// the rest of the tree is never built, which is most of the start-up time.
/// Help, version and completion requests before the noun see the whole tree.
const Noun* named_noun(const CLI::App& app, int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "-h" || word == "--help" || word == "--version" || word == "--") {
            return nullptr;
        }
        if (word.starts_with('-')) {
            i += takes_value(&app, word) ? 1 : 0;
            continue;
        }
        const auto* noun = std::find_if(nouns.begin(), nouns.end(), [&](const Noun& candidate) {
            return candidate.name == word;
        });
        return noun == nouns.end() ? nullptr : noun;
    }
    return nullptr;
}

/// Walks the words of the command line through the command tree and explains a
/// missing or unknown command better than the parser can.
std::optional<Error> explain_command_error(const CLI::App& app, int argc, const char* const* argv,
                                           bool subcommand_missing) {
    const CLI::App* current = &app;
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "--") {
            break;
        }
        if (word.starts_with("-")) {
            if (word.find('=') == std::string::npos && takes_value(current, word)) {
                ++i;
            }
            continue;
        }
        if (current->get_subcommands({}).empty()) {
            return std::nullopt; // a positional argument of a leaf command
        }
        const auto named = current->get_subcommands(
            [&](const CLI::App* candidate) { return candidate->check_name(word); });
        if (!named.empty()) {
            current = named.front();
            continue;
        }
        std::string best;
        std::size_t best_distance = 3;
        for (const CLI::App* candidate : current->get_subcommands({})) {
            const std::size_t distance = edit_distance(word, candidate->get_name());
            if (distance < best_distance) {
                best = candidate->get_name();
                best_distance = distance;
            }
        }
        const std::string where = current == &app ? "nimbus-codes" : current->get_name();
        return Error(ErrorKind::Usage, fmt::format("unknown command \"{}\" for {}", word, where),
                     best.empty() ? fmt::format("see 'nimbus-codes {}--help'",
                                                current == &app ? "" : where + " ")
                                  : fmt::format("did you mean '{}'?", best));
    }
    const auto verbs = current->get_subcommands({});
    if (verbs.empty() || !subcommand_missing) {
        return std::nullopt;
    }
    std::string names;
    for (const CLI::App* verb : verbs) {
        names += (names.empty() ? "" : ", ") + verb->get_name();
    }
    return Error(ErrorKind::Usage,
                 current == &app ? std::string("no command given")
                                 : fmt::format("'{}' needs a subcommand", current->get_name()),
                 fmt::format("one of: {}", names));
}

/// An argument or variable of nimbus-codes that is not UTF-8: text that cannot
/// be shown, stored or compared as given, so it is refused before parsing.
std::optional<Error> invalid_text(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        if (!text::is_valid_utf8(argv[i])) {
            return Error(ErrorKind::InvalidData,
                         fmt::format("argument {} (\"{}\") is not valid UTF-8", i, argv[i]),
                         "every argument, file names too, must be UTF-8");
        }
    }
    for (const char* name : environment::variables) {
        const char* value = std::getenv(name);
        if (value != nullptr && !text::is_valid_utf8(value)) {
            return Error(ErrorKind::InvalidData,
                         fmt::format("{}=\"{}\" is not valid UTF-8", name, value),
                         "every value, file names too, must be UTF-8");
        }
    }
    return std::nullopt;
}

/// The parser's message, reworded where it reads like a program's:
/// "--primary: 1 required CODE missing" becomes "--primary needs a value (CODE)".
std::string plain_message(const CLI::ParseError& e) {
    const std::string_view what = e.what();
    const std::size_t colon = what.find(": ");
    const std::size_t required = what.find(" required ");
    if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) != nullptr && colon != std::string::npos &&
        required != std::string::npos && what.ends_with(" missing")) {
        const std::string_view type = what.substr(
            required + 10, what.size() - std::string_view(" missing").size() - required - 10);
        return fmt::format("{} needs a value ({})", what.substr(0, colon), type);
    }
    return std::string(what);
}

const CLI::App* selected_leaf(const CLI::App& app) {
    const CLI::App* leaf = &app;
    for (auto subcommands = leaf->get_subcommands(); !subcommands.empty();
         subcommands = leaf->get_subcommands()) {
        leaf = subcommands.front();
    }
    return leaf;
}

} // namespace

void add_all_commands(CLI::App& app, Registry& registry) {
    for (const Noun& noun : nouns) {
        noun.add(app, registry);
    }
}

store::StoreOptions store_options(const Globals& globals) {
    return store::StoreOptions{std::chrono::milliseconds(globals.busy_timeout_ms)};
}

CLI::Validator one_of(std::vector<std::string> choices) {
    std::string names;
    for (const std::string& choice : choices) {
        names += (names.empty() ? "" : ", ") + choice;
    }
    return CLI::Validator(
        [choices, names](std::string& value) -> std::string {
            if (std::find(choices.begin(), choices.end(), value) != choices.end()) {
                return {};
            }
            return fmt::format("\"{}\" is not one of {}", value, names);
        },
        "", "one of");
}

CLI::Validator whole_number(std::int64_t min, std::int64_t max) {
    return CLI::Validator(
        [min, max](std::string& value) -> std::string {
            std::int64_t number = 0;
            const auto [end, error] =
                std::from_chars(value.data(), value.data() + value.size(), number);
            if (error == std::errc{} && end == value.data() + value.size() && number >= min &&
                number <= max) {
                return {};
            }
            return fmt::format("\"{}\" is not a whole number from {} to {}", value, min, max);
        },
        "", "whole number");
}

std::vector<std::string> split_list(const std::string& value) {
    std::vector<std::string> items;
    if (text::trim(value).empty()) {
        return items;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = value.find(',', start);
        items.push_back(value.substr(start, comma == std::string::npos ? comma : comma - start));
        if (comma == std::string::npos) {
            return items;
        }
        start = comma + 1;
    }
}

InputFormat input_format(const std::string& file, const std::string& format) {
    const auto known = format.empty() ? format_for_path(file) : parse_input_format(format);
    if (!known) {
        throw Error(ErrorKind::Usage,
                    fmt::format("cannot tell the format of {}", file == "-" ? "<stdin>" : file),
                    "name files .csv or .jsonl, or give --input-format csv|jsonl");
    }
    return *known;
}

void add_row_problems(Result& result, const std::string& source,
                      const std::vector<RecordProblem>& problems, std::size_t invalid) {
    for (const RecordProblem& problem : problems) {
        result.problems.push_back(fmt::format("{}:{}: {}", source, problem.line, problem.reason));
    }
    if (invalid > problems.size()) {
        result.problems.push_back(
            fmt::format("{}: ... and {} more invalid rows", source, invalid - problems.size()));
    }
}

std::optional<std::string> given(const std::string& value) {
    return value.empty() ? std::nullopt : std::optional<std::string>(value);
}

Result Result::list(output::Rows rows) {
    Result result;
    result.rows = std::move(rows);
    return result;
}

Result Result::record(output::Rows rows) {
    Result result = list(std::move(rows));
    result.shape = output::Shape::Record;
    return result;
}

void Registry::add(const CLI::App* subcommand, Command command) {
    command.name = command_path(subcommand);
    commands_.emplace_back(subcommand, std::move(command));
}

std::string command_path(const CLI::App* subcommand) {
    std::string path;
    for (; subcommand != nullptr && subcommand->get_parent() != nullptr;
         subcommand = subcommand->get_parent()) {
        path.insert(0, path.empty() ? subcommand->get_name() : subcommand->get_name() + " ");
    }
    return path;
}

const Command* Registry::find(const CLI::App* subcommand) const {
    for (const auto& [app, command] : commands_) {
        if (app == subcommand) {
            return &command;
        }
    }
    return nullptr;
}

CLI::App* add_noun(CLI::App& app, const std::string& name, const std::string& description) {
    CLI::App* noun = app.add_subcommand(name, description);
    noun->require_subcommand(1);
    return noun;
}

int run(int argc, const char* const* argv) {
    Console console(std::cin, std::cout, std::cerr, ::isatty(STDIN_FILENO) == 1,
                    ::isatty(STDOUT_FILENO) == 1, ::isatty(STDERR_FILENO) == 1);
    return run(argc, argv, console);
}

int run(int argc, const char* const* argv, Console& console) {
    CLI::App app("Conclusion codes and tags for contact-center service teams.", "nimbus-codes");
    app.footer(exit_code_help());
    app.require_subcommand(1);
    app.fallthrough(); // global options after the subcommand reach the top level

    Globals globals;
    add_global_options(app, globals);
    // After --format, whose value is stored before this flag's callback runs.
    app.set_version_flag("--version", [&globals] { return version_text(globals.format); });
    Registry registry;
    if (const Noun* noun = named_noun(app, argc, argv)) {
        noun->add(app, registry);
    } else {
        add_all_commands(app, registry);
    }

    // `help COMMAND...` prints what `COMMAND... --help` prints.
    std::vector<std::string> help_words;
    CLI::App* help =
        app.add_subcommand("help", "Show the help of a command: help session conclude");
    help->add_option("command", help_words, "A command, e.g. session conclude")
        ->type_name("COMMAND");

    // The shared host's paths, for its set-up script.
    if (argc == 2 && std::string_view(argv[1]) == "__shared-paths") {
        console.out() << "store=" << environment::shared_store_path() << '\n'
                      << "identity=" << environment::shared_identity_path() << '\n';
        return 0;
    }
    // The role table, for docs/roles.md.
    if (argc == 2 && std::string_view(argv[1]) == "__roles") {
        console.out() << roles_markdown();
        return 0;
    }
    // Shell completion: never an error in the user's shell, whatever happens.
    if (argc >= 2 && std::string_view(argv[1]) == "__complete") {
        try {
            environment::confine_to_shared_host();
        } catch (const Error&) {
            return 0; // the command itself says why
        }
        std::vector<std::string> words(argv + 2, argv + argc);
        if (!words.empty() && words.front() == "--") {
            words.erase(words.begin());
        }
        std::ostringstream candidates;
        try {
            complete(app, registry, words, candidates);
            console.out() << candidates.str();
        } catch (...) {
            // Nothing to offer.
        }
        return 0;
    }

    if (const auto bad = invalid_text(argc, argv)) {
        console.error(bad->what(), bad->hint());
        return exit_code(bad->kind());
    }
    try {
        environment::confine_to_shared_host();
    } catch (const Error& e) {
        console.error(e.what(), e.hint());
        return exit_code(e.kind());
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e, console.out(), console.err());
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e, console.out(), console.err());
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e, console.out(), console.err());
    } catch (const CLI::ParseError& e) {
        const bool subcommand_missing =
            dynamic_cast<const CLI::RequiredError*>(&e) != nullptr &&
            std::string_view(e.what()).find("subcommand") != std::string_view::npos;
        if (const auto unknown = explain_command_error(app, argc, argv, subcommand_missing)) {
            console.error(unknown->what(), unknown->hint());
        } else {
            console.error(plain_message(e),
                          "see 'nimbus-codes --help' or 'nimbus-codes COMMAND --help'");
        }
        return exit_usage;
    }
    console.configure(globals.quiet, globals.no_color);
    if (environment::shared_host() && (!globals.store.empty() || !globals.identity.empty())) {
        const Error refusal =
            environment::not_on_shared_host("--store or --identity", "leave them out");
        console.error(refusal.what(), refusal.hint());
        return exit_code(refusal.kind());
    }

    if (help->parsed()) {
        const CLI::App* target = &app;
        for (const std::string& word : help_words) {
            const auto named =
                target->get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); });
            if (named.empty()) {
                console.error(fmt::format("unknown command \"{}\"", word),
                              "see 'nimbus-codes --help'");
                return exit_usage;
            }
            target = named.front();
        }
        // CLI11 names a subcommand's usage after its parents, as --help does.
        std::string usage_name = target->get_name();
        for (const CLI::App* up = target->get_parent(); up != nullptr; up = up->get_parent()) {
            usage_name.insert(0, up->get_name() + " ");
        }
        // The formatter directly: App::help would describe `help` itself, the
        // subcommand selected on this command line.
        console.out() << target->get_formatter()->make_help(target, usage_name,
                                                            CLI::AppFormatMode::Normal);
        return exit_ok;
    }

    try {
        const Command* command = registry.find(selected_leaf(app));
        if (command == nullptr) {
            throw Error(ErrorKind::Usage, "no command given", "see 'nimbus-codes --help'");
        }
        Outcome outcome = dispatch(*command, globals, console, Runtime{});
        deliver(outcome, format_of(globals), console);
        if (console.interrupted()) {
            // Ctrl-C at a prompt: said so above; now end as an interrupted
            // program does, so that a calling shell stops too.
            std::signal(SIGINT, SIG_DFL);
            std::raise(SIGINT);
        }
        return outcome.result.exit_status;
    } catch (const Error& e) {
        console.error(e.what(), e.hint());
        return exit_code(e.kind());
    } catch (const std::exception& e) {
        console.error(fmt::format("unexpected failure: {}", e.what()), "");
        return exit_failure;
    }
}

} // namespace nimbus::cli
