#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/ledger/verify.hpp>
#include <nimbus/store/guards.hpp>
#include <nimbus/store/record_hash.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

struct VerifyArgs {
    std::string head;
    std::string head_file;
    std::string head_file_text; ///< read before the store is opened
};

/// The head a report summary, an export's manifest.json or a file of its own
/// holds: JSON's ledger_head or ledger.head, else the one 64-digit hex word.
std::string head_in_file(const std::string& path, const std::string& text) {
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_object()) {
        if (const auto head = json.find("ledger_head"); head != json.end() && head->is_string()) {
            return head->get<std::string>();
        }
        if (const auto ledger = json.find("ledger"); ledger != json.end() && ledger->is_object()) {
            if (const auto head = ledger->find("head");
                head != ledger->end() && head->is_string()) {
                return head->get<std::string>();
            }
        }
    }
    std::set<std::string> words;
    std::string word;
    for (const char c : text + '\n') {
        if (std::isxdigit(static_cast<unsigned char>(c)) != 0) {
            word += c;
            continue;
        }
        if (word.size() == 64) {
            words.insert(word);
        }
        word.clear();
    }
    if (words.size() != 1) {
        throw Error(
            ErrorKind::InvalidData,
            fmt::format("{} holds {} ledger head", path, words.empty() ? "no" : "more than one"),
            "give a report's summary file, an export's manifest.json, or a file that "
            "holds only the head");
    }
    return *words.begin();
}

/// The head to look for, in lower case; nullopt when none was given.
std::optional<std::string> known_head(const VerifyArgs& args) {
    std::string head =
        args.head_file.empty() ? args.head : head_in_file(args.head_file, args.head_file_text);
    if (head.empty()) {
        return std::nullopt;
    }
    if (!store::digest_from_hex(head)) {
        throw Error(ErrorKind::Usage, fmt::format("\"{}\" is not a ledger head", head),
                    "a head is 64 hexadecimal digits, as reports and 'nimbus-codes verify' print");
    }
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return head;
}

Result verify(const ReadContext& context, const VerifyArgs& args) {
    // On a server that enforces its roster, each person reads only the records
    // their roles cover: the chain of all of them is for whoever reads them all.
    if (context.identity.stored &&
        !policy::Filter(context.actor, policy::Action::ReadAudit).everything()) {
        throw Error(ErrorKind::PermissionDenied,
                    fmt::format("{} may not verify store {}: its server shows each person only "
                                "the records their roles cover, and the ledger chains all of them",
                                context.actor.display(), context.identity.source),
                    "a tenant admin verifies it");
    }
    const std::optional<std::string> head = known_head(args);
    const std::vector<store::Guard> expected = store::expected_guards(context.engine);
    const std::vector<store::GuardDifference> differences =
        store::guard_differences(expected, context.tx.guards());
    // A ledger whose table is gone or redefined cannot be read as one: said so,
    // rather than failing on the first query.
    const auto ledger_table = std::find_if(
        differences.begin(), differences.end(), [](const store::GuardDifference& difference) {
            return difference.guard.kind == "table" && difference.guard.name == "ledger" &&
                   difference.kind != store::GuardDifference::Kind::Added;
        });
    const ledger::Verification chain =
        ledger_table == differences.end()
            ? ledger::verify_chain(context.tx, head)
            : ledger::Verification{
                  {},
                  ledger::Break{
                      ledger::BreakKind::Missing, 0, "the ledger",
                      "its table " +
                          std::string(ledger_table->kind == store::GuardDifference::Kind::Missing
                                          ? "is gone"
                                          : "was redefined")},
                  std::nullopt};

    Result result;
    for (const store::GuardDifference& difference : differences) {
        result.problems.push_back("guards: " + difference.describe());
    }
    if (chain.broken) {
        const ledger::Break& b = *chain.broken;
        result.problems.push_back(
            fmt::format("ledger: {}: {} ({})", b.record, ledger::to_string(b.kind), b.detail));
    }
    const bool head_proven = !head || (!chain.broken && chain.known_head_position);
    if (!head_proven) {
        result.problems.push_back(fmt::format("head: {} is not part of this store's chain{}", *head,
                                              chain.broken ? " up to its first break" : ""));
    }

    output::Rows rows;
    rows.columns = {{"guards", "GUARDS"},
                    {"guard_differences", "GUARD DIFFERENCES"},
                    {"ledger", "LEDGER"},
                    {"records", "RECORDS"},
                    {"head", "HEAD"},
                    {"first_break", "FIRST BREAK"},
                    {"break_position", "BREAK POSITION"},
                    {"break_record", "BREAK RECORD"},
                    {"known_head", "KNOWN HEAD"},
                    {"known_head_position", "KNOWN HEAD POSITION"}};
    const auto optional_text = [](const std::optional<std::string>& text) -> output::Cell {
        return text ? output::Cell(*text) : output::Cell();
    };
    rows.add({std::string(differences.empty() ? "ok" : "broken"),
              static_cast<std::int64_t>(differences.size()),
              std::string(chain.broken ? "broken" : "ok"), chain.head.records, chain.head.hash,
              chain.broken ? output::Cell(std::string(ledger::to_string(chain.broken->kind)))
                           : output::Cell(),
              chain.broken ? output::Cell(chain.broken->position) : output::Cell(),
              chain.broken ? output::Cell(chain.broken->record) : output::Cell(),
              optional_text(head),
              chain.known_head_position && !chain.broken ? output::Cell(*chain.known_head_position)
                                                         : output::Cell()});
    result.rows = std::move(rows);
    result.shape = output::Shape::Record;
    if (const std::int64_t pending = context.tx.pending_ledger_entries(); pending > 0) {
        result.notes.push_back(fmt::format(
            "{} records are not chained yet: they were written while another transaction was "
            "chaining, and the next write chains them",
            pending));
    }
    if (!result.problems.empty()) {
        result.exit_status = 65;
        result.error = "the store does not verify: see above what differs from what was recorded";
    }
    return result;
}

} // namespace

void add_verify_command(CLI::App& app, Registry& registry) {
    auto args = std::make_shared<VerifyArgs>();
    CLI::App* command = app.add_subcommand(
        "verify", "Check the store's guards and recompute its ledger; prints the ledger's head");
    CLI::Option* head =
        command
            ->add_option("--head", args->head,
                         "A ledger head printed earlier, to prove it is part of the chain")
            ->type_name("HASH");
    command
        ->add_option("--head-file", args->head_file,
                     "A file that holds an earlier head: a report's summary, an export's "
                     "manifest.json, or the head alone")
        ->type_name("FILE")
        ->excludes(head);
    Command verify_command{policy::Action::Verify, ReadBody([args](const ReadContext& context) {
                               return verify(context, *args);
                           })};
    verify_command.prepare = [args] {
        if (!args->head_file.empty()) {
            // A summary or a manifest is a few kilobytes.
            args->head_file_text = read_input(args->head_file, 1 << 20);
        }
    };
    verify_command.inputs = [args] {
        return args->head_file.empty() || args->head_file == "-" ? std::vector<std::string>{}
                                                                 : std::vector{args->head_file};
    };
    registry.add(command, std::move(verify_command));
}

} // namespace nimbus::cli
