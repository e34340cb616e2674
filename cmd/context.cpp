// context list, define and remove: conversation-context fields from the
// command line, as config apply's [[context]] entries define them.
#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/context/context.hpp>
#include <nimbus/error.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

output::Rows field_rows(const std::vector<ContextField>& fields) {
    output::Rows rows;
    rows.columns = {{"name", "NAME"},
                    {"ou", "OU"},
                    {"type", "TYPE"},
                    {"values", "VALUES"},
                    {"description", "DESCRIPTION"}};
    for (const ContextField& field : fields) {
        rows.add({field.name, field.ou_path, std::string(to_string(field.type)),
                  output::Strings(field.choices), field.description});
    }
    return rows;
}

struct ListArgs {
    std::string service;
};

Result list(const ReadContext& context, const ListArgs& args) {
    std::vector<ContextField> fields = context.tx.context_fields();
    if (!args.service.empty()) {
        const auto service = context.tx.find_service(
            names::name_key(names::clean_reference(args.service, "service")));
        if (!service) {
            throw Error(ErrorKind::NotFound,
                        fmt::format("service \"{}\" does not exist", args.service));
        }
        fields = context::fields_for(fields, service->ou_path);
    }
    return Result::list(field_rows(fields));
}

struct DefineArgs {
    context::Draft draft;
    std::string type;
};

Result define(const WriteContext& c, DefineArgs args) {
    args.draft.type = parse_context_type(args.type).value_or(ContextType::Text);
    if (args.draft.ou_path.empty()) {
        args.draft.ou_path = ous::root(c.tx).path;
    }
    const context::Change change = context::define(c.tx, c.audit, c.actor, args.draft);
    Result result = Result::record(field_rows({change.field}));
    const std::string what =
        fmt::format("context field \"{}\" in {}", change.field.name, change.field.ou_path);
    switch (change.sign) {
    case '+': result.notes.push_back("defined " + what); break;
    case '~': result.notes.push_back(fmt::format("changed {}: {}", what, change.detail)); break;
    default: result.notes.push_back("unchanged: " + what); break;
    }
    return result;
}

struct RemoveArgs {
    std::string name;
    std::string ou;
};

Result remove(const WriteContext& c, const RemoveArgs& args) {
    const Ou ou = args.ou.empty() ? ous::root(c.tx) : ous::find(c.tx, args.ou);
    const std::string key = names::name_key(names::clean_reference(args.name, "context field"));
    for (const ContextField& field : c.tx.context_fields()) {
        if (field.ou_id == ou.id && field.name_key == key) {
            context::remove(c.tx, c.audit, c.actor, field);
            Result result;
            result.notes.push_back(
                fmt::format("removed context field \"{}\" in {}", field.name, field.ou_path));
            return result;
        }
    }
    throw Error(ErrorKind::NotFound,
                fmt::format("no context field \"{}\" is defined in {}", args.name, ou.path),
                "see them with 'nimbus-codes context list'");
}

} // namespace

void add_context_commands(CLI::App& app, Registry& registry) {
    CLI::App* noun = add_noun(app, "context", "Conversation-context fields");

    auto list_args = std::make_shared<ListArgs>();
    CLI::App* list_command =
        noun->add_subcommand("list", "List the context fields, by OU and name");
    list_command->add_option("--service", list_args->service, "Only the fields it carries")
        ->type_name("SERVICE");
    registry.add(list_command,
                 Command{policy::Action::ReadCodes, ReadBody([list_args](const ReadContext& c) {
                             return list(c, *list_args);
                         })});

    auto define_args = std::make_shared<DefineArgs>();
    CLI::App* define_command = noun->add_subcommand(
        "define", "Define a context field at an OU, or change its type, values or description");
    define_command->add_option("name", define_args->draft.name, "The field's name")
        ->required()
        ->type_name("NAME");
    define_command->add_option("--type", define_args->type, "What it holds")
        ->required()
        ->check(one_of({"text", "number", "date", "choice"}))
        ->type_name("text|number|date|choice");
    define_command
        ->add_option("--ou", define_args->draft.ou_path,
                     "The OU whose services carry it (default: the tenant root)")
        ->type_name("PATH");
    define_command
        ->add_option("--values", define_args->draft.choices, "A choice's values, in order")
        ->delimiter(',')
        ->type_name("VALUE,...");
    define_command->add_option("--description", define_args->draft.description, "Description")
        ->type_name("TEXT");
    registry.add(define_command, Command{policy::Action::DefineContext,
                                         WriteBody([define_args](const WriteContext& c) {
                                             return define(c, *define_args);
                                         })});

    auto remove_args = std::make_shared<RemoveArgs>();
    CLI::App* remove_command =
        noun->add_subcommand("remove", "Remove a context field that no session carries");
    remove_command->add_option("name", remove_args->name, "The field's name")
        ->required()
        ->type_name("NAME");
    remove_command->add_option("--ou", remove_args->ou, "Its OU (default: the tenant root)")
        ->type_name("PATH");
    registry.add(remove_command, Command{policy::Action::DefineContext,
                                         WriteBody([remove_args](const WriteContext& c) {
                                             return remove(c, *remove_args);
                                         })});
}

} // namespace nimbus::cli
