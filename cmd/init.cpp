#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <nimbus/audit/trail.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/directory/directory.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/roster.hpp>
#include <nimbus/store/guards.hpp>
#include <nimbus/store/migration.hpp>
#include <nimbus/store/open.hpp>

#include "app.hpp"
#include "environment.hpp"

namespace nimbus::cli {
namespace {

struct InitArgs {
    std::string tenant;
    bool restore_guards = false;
};

/// Whom init's audit records name: the OS account; on a store whose server
/// enforces a roster, the database role, as every other record there does.
std::string recorded_user(store::ReadTransaction& tx, const InitContext& context) {
    const std::optional<store::ServerCaller> server = tx.server_caller();
    return server && server->enforced ? server->login : context.os_login;
}

/// Puts back the guards that the store's schema defines and drops the objects
/// it does not on its tables, with an audit record of each difference.
/// Gives the differences it mended.
std::vector<std::string> restore_guards(store::WriteTransaction& tx, store::Engine engine,
                                        const InitContext& context) {
    const std::vector<store::GuardDifference> differences =
        store::guard_differences(store::expected_guards(engine), tx.guards());
    if (differences.empty()) {
        return {};
    }
    tx.restore_guards(differences);
    std::vector<std::string> mended;
    nlohmann::ordered_json before = nlohmann::ordered_json::array();
    for (const store::GuardDifference& difference : differences) {
        mended.push_back(difference.describe());
        before.push_back(difference.describe());
    }
    AuditTrail audit(tx, recorded_user(tx, context), std::nullopt, context.now);
    audit.record("store.guards", "guards", std::nullopt, {{"differences", before}},
                 {{"guards", "as the schema defines them"}});
    return mended;
}

/// A store from before the ledger: its conclusions and audit records are
/// chained in the order they were written, and the upgrade is itself an audit
/// record, the first that the ledger saw written. Gives the ledger's head.
store::LedgerHead chain_existing_records(store::WriteTransaction& tx, const InitContext& context) {
    const std::int64_t chained = tx.chain_unchained_records();
    const store::LedgerHead before = tx.ledger_head();
    AuditTrail audit(tx, recorded_user(tx, context), std::nullopt, context.now);
    audit.record("store.ledger", "ledger", std::nullopt, nullptr,
                 {{"chained_records", chained}, {"head", before.hash}});
    return tx.ledger_head();
}

Result initialise(const InitContext& context, const InitArgs& args) {
    const std::string location = environment::store_location(context.globals.store);
    environment::require_guarded_shared_store(location, true);
    const store::Locator locator = store::parse_locator(location);
    // Validate before anything is created.
    const std::optional<std::string> tenant =
        args.tenant.empty() ? std::nullopt
                            : std::optional(names::clean_new_name(args.tenant, "tenant name"));
    if (!tenant && !store::store_exists(locator)) {
        throw Error(ErrorKind::Usage, "a new store needs the name of its tenant root",
                    "run 'nimbus-codes init --tenant NAME', e.g. --tenant Contoso");
    }

    std::optional<Ou> root;
    bool tenant_created = false;
    std::vector<std::string> mended;
    std::optional<store::LedgerHead> chained;
    store::InitReport report = store::initialise_store(
        locator, store_options(context.globals),
        [&](store::WriteTransaction& tx, int previous_version) {
            if (args.restore_guards) {
                mended = restore_guards(tx, locator.engine, context);
            }
            // A server enforces this binary's role table (a SQLite store keeps none).
            if (const auto rules = roster::role_rules(); tx.role_rules() != rules) {
                tx.replace_role_rules(rules);
            }
            if (previous_version > 0 && previous_version < store::ledger_schema_version) {
                chained = chain_existing_records(tx, context);
            }
            if (previous_version > 0 && previous_version < store::caller_number_schema_version) {
                for (const std::string& country : tx.directory_countries()) {
                    directory::store_missing_caller_numbers(tx, country);
                }
            }
            root = tx.root_ou();
            if (root) {
                if (tenant && names::name_key(*tenant) != root->path_key) {
                    throw Error(ErrorKind::Conflict,
                                fmt::format("store {} already belongs to tenant \"{}\"",
                                            locator.target, root->path),
                                "omit --tenant, or choose another store with --store");
                }
                return;
            }
            if (!tenant) {
                throw Error(ErrorKind::Usage, "a new store needs the name of its tenant root",
                            "run 'nimbus-codes init --tenant NAME', e.g. --tenant Contoso");
            }
            AuditTrail audit(tx, recorded_user(tx, context), std::nullopt, context.now);
            root = ous::create_tenant(tx, audit, *tenant);
            tenant_created = true;
        });

    Result result;
    result.shape = output::Shape::Record;
    output::Rows rows;
    rows.columns = {{"store", "STORE"},
                    {"tenant", "TENANT"},
                    {"schema_version", "SCHEMA"},
                    {"previous_schema_version", "PREVIOUS SCHEMA"}};
    rows.add({report.store->location(), root->path, std::int64_t{report.version},
              std::int64_t{report.previous_version}});
    result.rows = std::move(rows);
    const std::string& where = report.store->location();
    if (report.previous_version == 0) {
        result.notes.push_back(fmt::format("created store {} (schema {}) for tenant \"{}\"", where,
                                           report.version, root->path));
    } else if (report.previous_version < report.version) {
        result.notes.push_back(fmt::format("migrated store {} from schema {} to {}", where,
                                           report.previous_version, report.version));
        if (chained) {
            result.notes.push_back(fmt::format("chained its permanent records into the ledger, "
                                               "with this upgrade's audit record: {} records, "
                                               "head {}",
                                               chained->records, chained->hash));
        }
    } else if (!mended.empty()) {
        result.notes.push_back(
            fmt::format("restored the guards of store {} (schema {})", where, report.version));
    } else if (tenant_created) {
        result.notes.push_back(fmt::format("created tenant \"{}\" in store {}", root->path, where));
    } else {
        result.notes.push_back(
            fmt::format("unchanged: store {} is up to date (schema {})", where, report.version));
    }
    for (const std::string& difference : mended) {
        result.notes.push_back("restored: " + difference);
    }
    return result;
}

} // namespace

void add_init_command(CLI::App& app, Registry& registry) {
    auto args = std::make_shared<InitArgs>();
    CLI::App* init = app.add_subcommand(
        "init", "Create the store, or upgrade an older one (no-op when up to date)");
    init->add_option("--tenant", args->tenant, "Name of the tenant root OU (new stores only)")
        ->type_name("NAME");
    init->add_flag("--restore-guards", args->restore_guards,
                   "Put back the triggers and other guards the store's schema defines, and "
                   "drop what it does not on its tables");
    Command command{std::nullopt, InitBody([args](const InitContext& context) {
                        return initialise(context, *args);
                    })};
    command.root_only_on_shared_host = true;
    registry.add(init, std::move(command));
}

} // namespace nimbus::cli
