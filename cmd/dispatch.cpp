#include "dispatch.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>
#include <unistd.h>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/identity/roster.hpp>
#include <nimbus/services/services.hpp>

#include "console.hpp"
#include "environment.hpp"

namespace nimbus::cli {
namespace {

/// "table, json or csv".
std::string format_names(const std::vector<output::Format>& formats) {
    std::string names;
    for (std::size_t i = 0; i < formats.size(); ++i) {
        names += i == 0 ? "" : i + 1 == formats.size() ? " or " : ", ";
        names += output::format_name(formats[i]);
    }
    return names;
}

void check_format(const Command& command, output::Format format) {
    if (std::find(command.formats.begin(), command.formats.end(), format) ==
        command.formats.end()) {
        throw Error(ErrorKind::Usage,
                    fmt::format("'{}' does not take --format {}", command.name,
                                output::format_name(format)),
                    command.formats == std::vector{output::Format::Table}
                        ? std::string("it prints one format of its own: leave out --format")
                        : fmt::format("it takes --format {}", format_names(command.formats)));
    }
}

/// A file that a command reads or keeps, which no output may overwrite.
struct KeptFile {
    std::string what; ///< "the store", for messages
    FileKey key;
};

std::vector<KeptFile> kept_files(const Command& command, const Globals& globals,
                                 const Runtime& runtime) {
    std::vector<KeptFile> kept;
    const auto keep = [&](std::string what, const std::string& path) {
        if (const std::optional<FileKey> key = key_of_path(path)) {
            kept.push_back(KeptFile{std::move(what), *key});
        }
    };
    const store::Locator store = runtime.store_locator(globals);
    if (store.engine == store::Engine::Sqlite) {
        keep(fmt::format("the store {}", store.target), store.target);
        // SQLite keeps its journals beside the file that the path leads to.
        std::error_code ec;
        const std::filesystem::path real = std::filesystem::canonical(store.target, ec);
        for (const std::string_view suffix : {"-wal", "-shm", "-journal"}) {
            for (const std::string& base : {store.target, ec ? store.target : real.string()}) {
                keep(fmt::format("the store's {} file", suffix), base + std::string(suffix));
            }
        }
    }
    if (!std::holds_alternative<InitBody>(command.body)) {
        const std::string identity = runtime.identity_path(globals);
        keep(fmt::format("the identity file {}", identity), identity);
    }
    if (command.inputs) {
        for (const std::string& input : command.inputs()) {
            keep(fmt::format("the input file {}", input), input);
        }
    }
    return kept;
}

/// Resolves each output before anything is written: it must be writable by
/// the rules of OutputTarget, and none may be a file the command reads or
/// keeps, or another of its outputs.
Delivery resolve_outputs(const Command& command, const Globals& globals, const Runtime& runtime) {
    Delivery delivery;
    if (!command.outputs) {
        return delivery;
    }
    const std::vector<OutputFile> outputs = command.outputs();
    if (outputs.empty()) {
        return delivery;
    }
    const std::vector<KeptFile> kept = kept_files(command, globals, runtime);
    std::vector<std::pair<const OutputFile*, FileKey>> seen;
    for (const OutputFile& output : outputs) {
        std::optional<OutputTarget> target;
        FileKey key;
        if (output.role == OutputFile::Role::Folder) {
            const std::optional<FileKey> folder = key_of_path(output.path);
            if (!folder) {
                continue; // its parent is missing: the folder's own check says so
            }
            key = *folder;
        } else {
            target = OutputTarget::resolve(output.path);
            key = target->key();
        }
        for (const KeptFile& file : kept) {
            if (key.same_as(file.key)) {
                throw Error(ErrorKind::Usage,
                            fmt::format("{} {} is {}; nimbus-codes never writes over it",
                                        output.option, output.path, file.what),
                            "choose another file");
            }
        }
        for (const auto& [other, other_key] : seen) {
            if (key.same_as(other_key)) {
                throw Error(ErrorKind::Usage,
                            fmt::format("{} and {} name the same file, {}", other->option,
                                        output.option, output.path),
                            fmt::format("give {} a file of its own", output.option));
            }
        }
        seen.emplace_back(&output, key);
        if (output.role == OutputFile::Role::Data) {
            delivery.data = std::move(target);
        } else if (output.role == OutputFile::Role::Summary) {
            delivery.summary = std::move(target);
        }
    }
    return delivery;
}

/// Everything the command line asks that can be refused without the store:
/// the format, the command's own options, and its outputs.
Delivery check_command_line(const Command& command, const Globals& globals, output::Format format,
                            const Runtime& runtime) {
    check_format(command, format);
    Delivery delivery = resolve_outputs(command, globals, runtime);
    if (command.check) {
        command.check(format);
    }
    return delivery;
}

/// Runs one of a command's bodies as `actor`, noting the role checks it makes
/// (policy::Checks), and refuses what it returns when its rule has a scope
/// that it never checked: a command that forgot its check fails here, before
/// its transaction commits.
template <class Body>
Result run_checked(const Command& command, const Actor& actor, const Body& body) {
    policy::Checks checks;
    Actor checked = actor;
    checked.checks = &checks;
    Result result = body(checked);
    checks.require_checked(*command.action, command.name);
    return result;
}

/// Who runs a command, and the roster that says what they may do: the
/// identity file and the OS account; or, on a PostgreSQL store whose
/// server enforces the role table, the store's roster and the database role
/// the server authenticated (the store is opened for it, and kept in `store`
/// for the command). The store's owner pushes a roster as a tenant admin.
/// `store copy` names its own stores, and is checked by the identity file
/// (a copy out of a store that enforces a roster is refused anyway).
roster::StoredCaller find_caller(const Command& command, const Globals& globals,
                                 const Runtime& runtime, std::unique_ptr<store::Store>& store) {
    const bool uses_store = !std::holds_alternative<IdentityBody>(command.body) ||
                            command.action == policy::Action::ReadIdentity;
    if (uses_store && runtime.store_locator(globals).engine == store::Engine::Postgresql) {
        try {
            store = runtime.open_store(globals);
        } catch (const Error& e) {
            // A store that is not there yet holds no roster; a command that
            // needs it says so once the caller's roles are checked.
            if (e.kind() != ErrorKind::InputMissing) {
                throw;
            }
        }
    }
    if (store) {
        const auto tx = store->begin_read();
        const std::optional<store::ServerCaller> server = tx->server_caller();
        if (server && server->owner && command.action == policy::Action::PushIdentity) {
            return {roster::owner_identity(server->login, store->location()), server->login};
        }
        if (auto stored = roster::stored_caller(*tx, store->location())) {
            return std::move(*stored);
        }
    }
    return {runtime.load_identity(globals), runtime.os_login()};
}

} // namespace

Timestamp Runtime::now() const {
    return environment::now();
}

std::string Runtime::os_login() const {
    return environment::os_login();
}

std::string Runtime::identity_path(const Globals& globals) const {
    return environment::identity_location(globals.identity);
}

identity::Identity Runtime::load_identity(const Globals& globals) const {
    return identity::load_identity_file(identity_path(globals));
}

store::Locator Runtime::store_locator(const Globals& globals) const {
    return store::parse_locator(environment::store_location(globals.store));
}

std::unique_ptr<store::Store> Runtime::open_store(const Globals& globals) const {
    environment::require_guarded_shared_store(environment::store_location(globals.store), false);
    return store::open_store(store_locator(globals), store_options(globals));
}

output::Format format_of(const Globals& globals) {
    return output::parse_format(globals.format).value_or(output::Format::Table);
}

Outcome dispatch(const Command& command, const Globals& globals, Console& console,
                 const Runtime& runtime) {
    if (command.root_only_on_shared_host && environment::shared_host() && ::getuid() != 0) {
        throw Error(ErrorKind::PermissionDenied,
                    fmt::format("on this shared host only root runs '{}'", command.name),
                    "the shared store is set up and upgraded by root (docs/guide.md)");
    }
    const Timestamp now = runtime.now();
    const output::Format format = format_of(globals);
    if (const auto* init = std::get_if<InitBody>(&command.body)) {
        if (!globals.act_as.empty()) {
            throw Error(ErrorKind::Usage, "'init' takes no --as: it acts before there are users",
                        "run it without --as");
        }
        Delivery delivery = check_command_line(command, globals, format, runtime);
        return Outcome{(*init)(InitContext{globals, runtime.os_login(), now}), std::move(delivery)};
    }

    std::unique_ptr<store::Store> store;
    const roster::StoredCaller caller = find_caller(command, globals, runtime, store);
    const identity::Identity& identity = caller.identity;
    const std::optional<std::string_view> act_as =
        globals.act_as.empty() ? std::nullopt : std::optional<std::string_view>(globals.act_as);
    Actor actor = resolve_actor(identity, caller.login, act_as);
    // Without the role anywhere, nothing more is looked at. Commands whose rule
    // has a scope check it again against what they act on, and run_checked
    // makes sure that they did.
    policy::require(actor, *command.action, policy::Scope::anywhere());
    Outcome outcome;
    outcome.delivery = check_command_line(command, globals, format, runtime);

    if (const auto* body = std::get_if<IdentityBody>(&command.body)) {
        outcome.result = run_checked(command, actor, [&](const Actor& checked) {
            return (*body)(IdentityContext{checked, identity, globals, now});
        });
        return outcome;
    }
    if (command.prepare) {
        command.prepare();
    }
    if (!store) {
        store = runtime.open_store(globals);
    }
    const store::Engine engine = runtime.store_locator(globals).engine;
    if (const auto* body = std::get_if<ReadBody>(&command.body)) {
        const auto tx = store->begin_read();
        services::locate_grants(actor.grants, *tx);
        outcome.result = run_checked(command, actor, [&](const Actor& checked) {
            return (*body)(ReadContext{checked, identity, *tx, console, store->schema_version(),
                                       engine, format, now});
        });
        return outcome;
    }
    if (command.prompt && command.wants_prompt()) {
        const auto read = store->begin_read();
        services::locate_grants(actor.grants, *read);
        if (auto stop = command.prompt(ReadContext{actor, identity, *read, console,
                                                   store->schema_version(), engine, format, now})) {
            outcome.result = std::move(*stop);
            return outcome;
        }
    }
    const auto& body = std::get<WriteBody>(command.body);
    // A server engine may fail a transaction that a concurrent one got in the
    // way of (a serialization failure, a deadlock); it then runs again, whole,
    // after a short random pause, as a writer waits for a lock: at least five
    // times, and for up to the busy timeout.
    constexpr int attempts = 5;
    const auto retry_window = std::chrono::milliseconds(globals.busy_timeout_ms);
    auto give_up_at = std::chrono::steady_clock::now() + retry_window;
    std::minstd_rand jitter(std::random_device{}());
    int batches = 0;
    for (int attempt = 1;; ++attempt) {
        try {
            const auto tx = store->begin_write();
            services::locate_grants(actor.grants, *tx);
            AuditTrail audit(*tx, actor, now);
            outcome.result = run_checked(command, actor, [&](const Actor& checked) {
                return body(WriteContext{checked, identity, *tx, audit, console, batches});
            });
            if (!outcome.result.rollback) {
                tx->commit();
                outcome.committed = true;
            }
            if (outcome.result.again && !outcome.result.rollback) {
                ++batches;
                attempt = 0; // each batch has its own retries
                give_up_at = std::chrono::steady_clock::now() + retry_window;
                continue;
            }
            return outcome;
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Retry || !command.repeatable() ||
                (attempt >= attempts && std::chrono::steady_clock::now() >= give_up_at)) {
                throw;
            }
        }
        const int longest_ms = 1 << std::min(attempt, 6); // 2, 4, ... 64 ms
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(1, longest_ms)(jitter)));
    }
}

void render(std::ostream& out, const Result& result, output::Format format,
            const output::Style& style) {
    if (format == output::Format::Html) {
        if (!result.html) {
            throw Error(ErrorKind::Internal, "the command made no HTML page");
        }
        out << *result.html;
        return;
    }
    if (result.rows && (format != output::Format::Table || !result.text)) {
        output::render(out, *result.rows, format, result.shape, style);
    } else if (result.text) {
        out << *result.text;
    }
    if (format == output::Format::Table) {
        out << result.footer;
    }
}

void deliver(Outcome& outcome, output::Format format, Console& console) {
    Result& result = outcome.result;
    // Every file is written in full before any is put in place: a failure
    // leaves all of them as they were.
    std::optional<AtomicFile> data;
    std::optional<AtomicFile> summary;
    if (outcome.delivery.data) {
        data.emplace(*outcome.delivery.data);
        render(data->stream(), result, format, output::Style{});
        data->finish();
    } else {
        render(console.out(), result, format, console.table_style());
    }
    if (result.summary && outcome.delivery.summary) {
        summary.emplace(*outcome.delivery.summary);
        output::render(summary->stream(), *result.summary, format, output::Shape::Record,
                       output::Style{});
        summary->finish();
    }
    for (auto* file : {&data, &summary}) {
        if (*file) {
            (*file)->commit();
        }
    }
    for (const auto& target : {outcome.delivery.data, outcome.delivery.summary}) {
        if (target && target->kind() != OutputTarget::Kind::Descriptor) {
            result.notes.push_back("wrote " + target->name());
        }
    }
    errno = 0;
    console.out().flush();
    if (!console.out()) {
        const std::string why = errno == 0 ? "" : ": " + system_error_text(errno);
        throw Error(ErrorKind::CannotWrite,
                    outcome.committed
                        ? fmt::format("cannot write to standard output{}; the change itself "
                                      "is committed",
                                      why)
                        : fmt::format("cannot write to standard output{}", why));
    }
    for (const std::string& problem : result.problems) {
        console.problem(problem);
    }
    for (const std::string& warning : result.warnings) {
        console.warning(warning);
    }
    if (!result.error.empty()) {
        console.error(result.error, "");
    }
    for (const std::string& note : result.notes) {
        console.note(note);
    }
}

} // namespace nimbus::cli
