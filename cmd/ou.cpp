#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

output::Rows ou_rows(const std::vector<Ou>& list) {
    output::Rows rows;
    rows.columns = {{"id", "ID"},
                    {"path", "PATH"},
                    {"name", "NAME", output::Audience::Programs},
                    {"parent", "PARENT", output::Audience::Programs},
                    {"created_at", "CREATED", output::Audience::Programs},
                    {"retired_at", "RETIRED"}};
    for (const Ou& ou : list) {
        const std::string_view parent = names::ou_parent(ou.path);
        rows.add({ou.id, ou.path, ou.name,
                  parent.empty() ? output::Cell() : output::Cell(std::string(parent)),
                  timefmt::to_utc_string(ou.created_at),
                  ou.retired_at ? output::Cell(timefmt::to_utc_string(*ou.retired_at))
                                : output::Cell()});
    }
    return rows;
}

struct CreateArgs {
    std::string path;
    bool parents = false;
};

Result create(const WriteContext& context, const CreateArgs& args) {
    const ous::Creation creation =
        ous::create(context.tx, context.audit, context.actor, args.path, args.parents);
    Result result = Result::record(ou_rows({creation.ou}));
    if (creation.created.empty()) {
        result.notes.push_back(fmt::format("unchanged: OU \"{}\" exists", creation.ou.path));
    }
    for (const Ou& ou : creation.created) {
        result.notes.push_back(fmt::format("created OU \"{}\"", ou.path));
    }
    return result;
}

Result list(const ReadContext& context, bool include_retired) {
    std::vector<Ou> shown = context.tx.ous();
    if (!include_retired) {
        std::erase_if(shown, [](const Ou& ou) { return ou.retired(); });
    }
    return Result::list(ou_rows(shown));
}

Result changed(const ous::Change& change, std::string_view done) {
    Result result = Result::record(ou_rows({change.ou}));
    result.notes.push_back(change.changed ? fmt::format("{} OU \"{}\"", done, change.ou.path)
                                          : fmt::format("unchanged: OU \"{}\"", change.ou.path));
    return result;
}

} // namespace

void add_ou_commands(CLI::App& app, Registry& registry) {
    CLI::App* ou = add_noun(app, "ou", "Organization units");

    auto create_args = std::make_shared<CreateArgs>();
    CLI::App* create_command = ou->add_subcommand("create", "Create an OU below an existing one");
    create_command->add_option("path", create_args->path, "Full path, e.g. Contoso/Sales")
        ->required()
        ->type_name("PATH");
    create_command->add_flag("-p,--parents", create_args->parents,
                             "Also create missing parent OUs");
    registry.add(create_command,
                 Command{policy::Action::CreateOu, WriteBody([create_args](const WriteContext& c) {
                             return create(c, *create_args);
                         })});

    auto include_retired = std::make_shared<bool>(false);
    CLI::App* list_command = ou->add_subcommand("list", "List OUs");
    list_command->add_flag("--include-retired", *include_retired, "Also list retired OUs");
    registry.add(list_command,
                 Command{policy::Action::ReadOus, ReadBody([include_retired](const ReadContext& c) {
                             return list(c, *include_retired);
                         })});

    // Retire, restore and delete: one OU each, under the create-ou rule at its parent.
    const auto add_path_command = [&](const char* name, const char* help, auto run) {
        auto path = std::make_shared<std::string>();
        CLI::App* command = ou->add_subcommand(name, help);
        command->add_option("path", *path, "Full path, e.g. Contoso/Sales")
            ->required()
            ->type_name("PATH");
        registry.add(command, Command{policy::Action::CreateOu,
                                      WriteBody([path, run](const WriteContext& c) {
                                          return run(c, *path);
                                      })});
    };
    add_path_command("retire", "Retire an OU once nothing under it is active",
                     [](const WriteContext& c, const std::string& path) {
                         return changed(ous::retire(c.tx, c.audit, c.actor, path), "retired");
                     });
    add_path_command("restore", "Bring a retired OU back",
                     [](const WriteContext& c, const std::string& path) {
                         return changed(ous::restore(c.tx, c.audit, c.actor, path), "restored");
                     });
    add_path_command("delete", "Delete an OU that was never used, with the OUs below it",
                     [](const WriteContext& c, const std::string& path) {
                         const std::vector<Ou> gone =
                             ous::remove(c.tx, c.audit, c.actor, c.identity, path);
                         Result result = Result::list(ou_rows(gone));
                         for (const Ou& deleted : gone) {
                             result.notes.push_back(
                                 fmt::format("deleted OU \"{}\": it was never used", deleted.path));
                         }
                         return result;
                     });
}

} // namespace nimbus::cli
