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
                    {"created_at", "CREATED", output::Audience::Programs}};
    for (const Ou& ou : list) {
        const std::string_view parent = names::ou_parent(ou.path);
        rows.add({ou.id, ou.path, ou.name,
                  parent.empty() ? output::Cell() : output::Cell(std::string(parent)),
                  timefmt::to_utc_string(ou.created_at)});
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

Result list(const ReadContext& context) {
    return Result::list(ou_rows(context.tx.ous()));
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

    CLI::App* list_command = ou->add_subcommand("list", "List OUs");
    registry.add(list_command, Command{policy::Action::ReadOus, ReadBody(list)});
}

} // namespace nimbus::cli
