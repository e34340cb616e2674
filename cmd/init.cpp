#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/store/open.hpp>

#include "app.hpp"
#include "environment.hpp"

namespace nimbus::cli {
namespace {

struct InitArgs {
    std::string tenant;
};

Result initialise(const InitContext& context, const InitArgs& args) {
    const store::Locator locator = store::parse_locator(
        context.globals.store.empty() ? environment::default_store_path() : context.globals.store);
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
    store::InitReport report = store::initialise_store(
        locator, store_options(context.globals), [&](store::WriteTransaction& tx) {
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
            AuditTrail audit(tx, context.os_login, std::nullopt, context.now);
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
    } else if (tenant_created) {
        result.notes.push_back(fmt::format("created tenant \"{}\" in store {}", root->path, where));
    } else {
        result.notes.push_back(
            fmt::format("unchanged: store {} is up to date (schema {})", where, report.version));
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
    registry.add(init, Command{std::nullopt, InitBody([args](const InitContext& context) {
                                   return initialise(context, *args);
                               })});
}

} // namespace nimbus::cli
