#include "app.hpp"

#include <iostream>
#include <unistd.h>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/store/open.hpp>

#include "console.hpp"
#include "environment.hpp"
#include "exit_codes.hpp"

namespace nimbus::cli {
namespace {

void add_global_options(CLI::App& app, Globals& globals) {
    const std::string group = "Global options (accepted before or after the command)";
    app.add_option("--store", globals.store,
                   "The store: a SQLite file path or sqlite:PATH "
                   "(default: $XDG_DATA_HOME/nimbus-codes/store.db)")
        ->envname("NIMBUS_CODES_STORE")
        ->type_name("PATH")
        ->group(group);
    app.add_option("--identity", globals.identity,
                   "The identity file (default: $XDG_CONFIG_HOME/nimbus-codes/identity.toml)")
        ->envname("NIMBUS_CODES_IDENTITY")
        ->type_name("PATH")
        ->group(group);
    app.add_option("--as", globals.act_as, "Act as another listed user (tenant admins only)")
        ->type_name("USER")
        ->group(group);
    app.add_option("--format", globals.format, "Output format")
        ->check(CLI::IsMember({"table", "json", "csv"}))
        ->type_name("table|json|csv")
        ->capture_default_str()
        ->group(group);
    app.add_flag("-q,--quiet", globals.quiet, "Print no messages on stderr, only errors")
        ->group(group);
    app.add_flag("--no-color", globals.no_color, "Never colour the output (as NO_COLOR does)")
        ->group(group);
    app.add_option("--busy-timeout", globals.busy_timeout_ms,
                   "Milliseconds to wait for another writer before giving up with exit 75")
        ->envname("NIMBUS_CODES_BUSY_TIMEOUT")
        ->check(CLI::Range(0, 3'600'000))
        ->type_name("MS")
        ->capture_default_str()
        ->group(group);
}

const CLI::App* selected_leaf(const CLI::App& app) {
    const CLI::App* leaf = &app;
    for (auto subcommands = leaf->get_subcommands(); !subcommands.empty();
         subcommands = leaf->get_subcommands()) {
        leaf = subcommands.front();
    }
    return leaf;
}

store::Locator store_locator(const Globals& globals) {
    return store::parse_locator(globals.store.empty() ? environment::default_store_path()
                                                      : globals.store);
}

store::StoreOptions store_options(const Globals& globals) {
    return store::StoreOptions{std::chrono::milliseconds(globals.busy_timeout_ms)};
}

/// Runs a command: loads the identity, checks the role table, opens what the
/// body's signature asks for, runs it in one transaction and commits.
Result dispatch(const Command& command, const Globals& globals) {
    const Timestamp now = environment::now();
    if (const auto* init = std::get_if<InitBody>(&command.body)) {
        return (*init)(InitContext{globals, environment::os_login(), now});
    }

    const identity::Identity identity = identity::load_identity_file(
        globals.identity.empty() ? environment::default_identity_path() : globals.identity);
    const std::optional<std::string_view> act_as =
        globals.act_as.empty() ? std::nullopt : std::optional<std::string_view>(globals.act_as);
    const Actor actor = resolve_actor(identity, environment::os_login(), act_as);
    // Without the role anywhere, nothing more is looked at. Commands whose rule
    // has an OU scope check it again against the OU they act on.
    policy::require(actor, *command.action, policy::Scope::anywhere());

    if (const auto* body = std::get_if<IdentityBody>(&command.body)) {
        return (*body)(IdentityContext{actor, identity});
    }
    const auto store = store::open_store(store_locator(globals), store_options(globals));
    if (const auto* body = std::get_if<ReadBody>(&command.body)) {
        const auto tx = store->begin_read();
        return (*body)(ReadContext{actor, *tx});
    }
    const auto& body = std::get<WriteBody>(command.body);
    const auto tx = store->begin_write();
    AuditTrail audit(*tx, actor, now);
    Result result = body(WriteContext{actor, *tx, audit});
    tx->commit();
    return result;
}

void print(const Result& result, const Globals& globals, Console& console) {
    if (result.rows) {
        const auto format = output::parse_format(globals.format).value_or(output::Format::Table);
        output::render(console.out(), *result.rows, format, result.shape, console.table_style());
    }
    console.out().flush();
    if (!console.out()) {
        throw Error(ErrorKind::CannotWrite, "cannot write to standard output");
    }
    for (const std::string& note : result.notes) {
        console.note(note);
    }
}

} // namespace

void Registry::add(const CLI::App* subcommand, Command command) {
    commands_.emplace_back(subcommand, std::move(command));
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
    Console console(std::cout, std::cerr, ::isatty(STDOUT_FILENO) == 1,
                    ::isatty(STDERR_FILENO) == 1);
    CLI::App app("Conclusion codes and tags for contact-center service teams.", "nimbus-codes");
    app.set_version_flag("--version", "nimbus-codes " NIMBUS_VERSION);
    app.footer(exit_code_help());
    app.require_subcommand(1);
    app.fallthrough(); // global options after the subcommand reach the top level

    Globals globals;
    add_global_options(app, globals);
    Registry registry;
    add_init_command(app, registry);
    add_whoami_command(app, registry);
    add_ou_commands(app, registry);
    add_code_commands(app, registry);
    add_audit_commands(app, registry);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e, std::cout, std::cerr);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e, std::cout, std::cerr);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e, std::cout, std::cerr);
    } catch (const CLI::ParseError& e) {
        console.error(e.what(), "see 'nimbus-codes --help' or 'nimbus-codes COMMAND --help'");
        return exit_usage;
    }
    console.configure(globals.quiet, globals.no_color);

    try {
        const Command* command = registry.find(selected_leaf(app));
        if (command == nullptr) {
            throw Error(ErrorKind::Usage, "no command given", "see 'nimbus-codes --help'");
        }
        const Result result = dispatch(*command, globals);
        print(result, globals, console);
        return result.exit_status;
    } catch (const Error& e) {
        console.error(e.what(), e.hint());
        return exit_code(e.kind());
    } catch (const std::exception& e) {
        console.error(fmt::format("unexpected failure: {}", e.what()), "");
        return exit_failure;
    }
}

} // namespace nimbus::cli
