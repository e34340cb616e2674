#pragma once

#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <CLI/CLI.hpp>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/store/open.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/records.hpp>
#include <nimbus/util/time.hpp>

namespace nimbus::cli {

/// Options every command accepts, before or after the subcommand.
struct Globals {
    std::string store;    ///< --store / NIMBUS_CODES_STORE; empty: the default path
    std::string identity; ///< --identity / NIMBUS_CODES_IDENTITY; empty: the default path
    std::string act_as;   ///< --as USER; empty: oneself
    std::string format = "table";
    bool quiet = false;
    bool no_color = false;
    int busy_timeout_ms = 5000;
};

/// What a command hands back. The dispatcher prints it once the command's
/// transaction has committed, so nothing claims success that was not kept.
struct Result {
    std::optional<output::Rows> rows; ///< data for stdout, in the chosen format
    output::Shape shape = output::Shape::List;
    std::vector<std::string> notes; ///< messages for stderr
    int exit_status = 0;
    /// Text for stdout that replaces the table rendering of `rows` (or is the
    /// whole output when there are no rows), e.g. a plan or a TOML file.
    std::optional<std::string> text;
    /// Roll the write transaction back instead of committing (plans, dry runs).
    bool rollback = false;
    /// Once this transaction has committed, run the command's body again in a
    /// new one: long work done a batch at a time (session sweep). The result
    /// printed is the last one's.
    bool again = false;
    /// Lines for stderr that --quiet does not silence (e.g. "FILE:LINE: reason").
    std::vector<std::string> problems;
    /// "nimbus-codes: warning: ..." lines for stderr; --quiet silences them.
    std::vector<std::string> warnings;
    /// An error to report after the problems, with exit_status (the command
    /// still returns a result, e.g. an import that skipped invalid rows).
    std::string error;
    /// Lines after a table (people only), e.g. a report's totals.
    std::string footer;
    /// A page for --format html (only commands that declare it).
    std::optional<std::string> html;
    /// A second record, written in the same format to the command's summary
    /// file (see OutputFile::Role::Summary).
    std::optional<output::Rows> summary;

    /// Rows shown as a listing.
    static Result list(output::Rows rows);
    /// One row shown as a record (show-like commands).
    static Result record(output::Rows rows);
};

/// `init` runs before there is a store or an identity to check.
struct InitContext {
    const Globals& globals;
    std::string os_login;
    Timestamp now;
};

/// Commands that need only the caller's identity.
struct IdentityContext {
    const Actor& actor;
    const identity::Identity& identity;
    const Globals& globals; ///< for commands that open stores themselves
    Timestamp now;
};

class Console;

/// Read-only commands get a read-only view of the store.
struct ReadContext {
    const Actor& actor;
    const identity::Identity& identity;
    store::ReadTransaction& tx;
    Console& console;   ///< for progress on long work
    int schema_version; ///< of the open store
    store::Engine engine;
    output::Format format;
    Timestamp now;
};

/// Mutating commands get a write transaction and the audit trail that goes
/// with it, and the console for progress on long work.
struct WriteContext {
    const Actor& actor;
    const identity::Identity& identity;
    store::WriteTransaction& tx;
    AuditTrail& audit;
    Console& console;
    /// How many of the command's transactions have committed before this one
    /// (see Result::again): a body run again with the same number is a retry
    /// of a transaction that did not commit.
    int committed_batches = 0;
};

using InitBody = std::function<Result(const InitContext&)>;
using IdentityBody = std::function<Result(const IdentityContext&)>;
using ReadBody = std::function<Result(const ReadContext&)>;
using WriteBody = std::function<Result(const WriteContext&)>;

/// A file or folder that a command writes, named by one of its options.
struct OutputFile {
    enum class Role {
        Data,    ///< the command's output, instead of standard output
        Summary, ///< Result::summary
        Folder,  ///< a folder the command's body fills itself
    };
    Role role = Role::Data;
    std::string option; ///< "--output", for messages
    std::string path;
};

/// The whole of FILE, or of stdin for "-" (InputMissing when unreadable,
/// InvalidData beyond `limit` bytes).
std::string read_input(const std::string& path,
                       std::size_t limit = std::numeric_limits<std::size_t>::max());

/// The formats a command that prints rows takes.
inline const std::vector<output::Format> row_formats = {output::Format::Table, output::Format::Json,
                                                        output::Format::Csv};

/// A command: the permission rule it falls under, and a body whose signature
/// says what it may touch. The dispatcher opens exactly that and nothing more.
/// What the command accepts is declared here too, so that the dispatcher
/// refuses anything else before a file is created or a transaction begins,
/// and completion offers only what is accepted.
struct Command {
    std::optional<policy::Action> action; ///< none only for init
    std::variant<InitBody, IdentityBody, ReadBody, WriteBody> body;
    /// The --format values it renders.
    std::vector<output::Format> formats = row_formats;
    /// Checks of its own options that need neither the store nor a file
    /// written, given the chosen format; they throw to refuse.
    std::function<void(output::Format)> check = {};
    /// The files it reads (not "-"), which no output may overwrite.
    std::function<std::vector<std::string>()> inputs = {};
    /// The files and folders it writes.
    std::function<std::vector<OutputFile>()> outputs = {};
    /// Work done before the store is opened, such as reading an input file, so
    /// that no lock is held while waiting for input.
    std::function<void()> prepare = {};
    /// Questions asked in a read-only transaction that ends before the write
    /// one begins (a person may take their time). A result stops the command
    /// there (e.g. the person cancelled); nothing then is written.
    std::function<std::optional<Result>(const ReadContext&)> prompt = {};
    /// Whether `prompt` has anything to ask, judged from the command line
    /// alone: when not, no read transaction is opened for it.
    std::function<bool()> wants_prompt = [] {
        return true;
    };
    /// False when the body cannot run a second time (it consumes standard
    /// input); otherwise a transaction that a concurrent one got in the way of
    /// runs again.
    std::function<bool()> repeatable = [] {
        return true;
    };
    /// On a shared host, only root may run it: it creates or names stores,
    /// whose files would belong to whoever ran it (init, store copy).
    bool root_only_on_shared_host = false;
    std::string name = {}; ///< "session conclude"; set by Registry::add
};

/// Which CLI11 subcommand runs which Command.
class Registry {
public:
    void add(const CLI::App* subcommand, Command command);
    const Command* find(const CLI::App* subcommand) const;
    /// Every command added, in the order added.
    const std::vector<std::pair<const CLI::App*, Command>>& commands() const { return commands_; }

private:
    std::vector<std::pair<const CLI::App*, Command>> commands_;
};

/// "session conclude" for the subcommand of that name.
std::string command_path(const CLI::App* subcommand);

// One function per noun registers its subcommands (cmd/<noun>.cpp).
void add_init_command(CLI::App& app, Registry& registry);
void add_whoami_command(CLI::App& app, Registry& registry);
void add_identity_commands(CLI::App& app, Registry& registry);
void add_context_commands(CLI::App& app, Registry& registry);
void add_directory_commands(CLI::App& app, Registry& registry);
void add_ou_commands(CLI::App& app, Registry& registry);
void add_code_commands(CLI::App& app, Registry& registry);
void add_service_commands(CLI::App& app, Registry& registry);
void add_extension_commands(CLI::App& app, Registry& registry);
void add_config_commands(CLI::App& app, Registry& registry);
void add_session_commands(CLI::App& app, Registry& registry);
void add_report_commands(CLI::App& app, Registry& registry);
void add_audit_commands(CLI::App& app, Registry& registry);
void add_store_commands(CLI::App& app, Registry& registry);
void add_verify_command(CLI::App& app, Registry& registry);

/// The options every command accepts (--store, --as, --format, ...).
void add_global_options(CLI::App& app, Globals& globals);
/// Every noun's commands, in the order help lists them.
void add_all_commands(CLI::App& app, Registry& registry);

/// The role table as the markdown table of docs/roles.md, which the hidden
/// `nimbus-codes __roles` prints (tests/e2e/test_roles.py compares the two).
std::string roles_markdown();

/// A noun such as `code`, which needs one of its verbs.
CLI::App* add_noun(CLI::App& app, const std::string& name, const std::string& description);

/// The busy timeout and other store options the global flags set.
store::StoreOptions store_options(const Globals& globals);

/// Checks that a value is one of `choices`; a refusal reads "--type: tertiary
/// is not one of primary, secondary".
CLI::Validator one_of(std::vector<std::string> choices);

/// Checks that a value is a whole number from `min` to `max`; a refusal reads
/// "--limit: 0 is not a whole number from 1 to 1000000000".
CLI::Validator whole_number(std::int64_t min, std::int64_t max);

/// "A,B,C" as its items, as written; a blank value has none. Lists of codes
/// take this form everywhere (a code whose name holds a comma is named id:N).
std::vector<std::string> split_list(const std::string& value);

/// The format of an input file: `format` when given ("csv" or "jsonl"), else
/// what the file's name says. Usage when neither tells.
InputFormat input_format(const std::string& file, const std::string& format);

/// The rejected rows of an import as "FILE:LINE: reason" lines of `result`,
/// and a count of those not named.
void add_row_problems(Result& result, const std::string& source,
                      const std::vector<RecordProblem>& problems, std::size_t invalid);

/// An option's value as an optional: empty when the option was not given.
std::optional<std::string> given(const std::string& value);

/// Parses the command line, runs the command and returns the exit status.
/// `console` is where its input, data and messages go.
int run(int argc, const char* const* argv, Console& console);

/// run() on the process's standard streams.
int run(int argc, const char* const* argv);

} // namespace nimbus::cli
