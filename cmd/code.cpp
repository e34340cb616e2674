#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/lint.hpp>

#include "app.hpp"
#include "exit_codes.hpp"

namespace nimbus::cli {
namespace {

output::Rows code_rows(const std::vector<Code>& list) {
    output::Rows rows;
    rows.columns = {{"id", "ID"},
                    {"type", "TYPE"},
                    {"name", "NAME"},
                    {"ou", "OU"},
                    {"description", "DESCRIPTION"},
                    {"deleted", "DELETED", output::Audience::People},
                    {"created_at", "CREATED", output::Audience::Programs},
                    {"deleted_at", "DELETED AT", output::Audience::Programs}};
    for (const Code& code : list) {
        rows.add({code.id, std::string(to_string(code.type)), code.name, code.ou_path,
                  code.description, std::string(code.deleted() ? "deleted" : ""),
                  timefmt::to_utc_string(code.created_at),
                  code.deleted_at ? output::Cell(timefmt::to_utc_string(*code.deleted_at))
                                  : output::Cell()});
    }
    return rows;
}

std::string describe(const Code& code) {
    return fmt::format("{} code \"{}\" (id:{}) in OU \"{}\"", to_string(code.type), code.name,
                       code.id, code.ou_path);
}

Result change_result(const codes::Change& change) {
    Result result = Result::record(code_rows({change.code}));
    switch (change.outcome) {
    case codes::Outcome::Created: result.notes.push_back("created " + describe(change.code)); break;
    case codes::Outcome::Updated: result.notes.push_back("updated " + describe(change.code)); break;
    case codes::Outcome::Deleted:
        result.notes.push_back("deleted " + describe(change.code) +
                               "; it stays in history and reports");
        break;
    case codes::Outcome::Unchanged:
        result.notes.push_back("unchanged: " + describe(change.code));
        break;
    }
    return result;
}

/// The positional CODE argument with its optional --type and --ou narrowing.
struct ReferenceArgs {
    std::string code;
    std::string type;
    std::string ou;

    codes::Reference reference() const {
        return codes::Reference{code, parse_code_type(type),
                                ou.empty() ? std::nullopt : std::optional(ou)};
    }
};

void add_reference_options(CLI::App* command, ReferenceArgs& args) {
    command->add_option("code", args.code, "The code: its name, or id:N")
        ->required()
        ->type_name("CODE");
    command->add_option("--type", args.type, "Pick the code of this type when names clash")
        ->check(one_of({"primary", "secondary"}))
        ->type_name("primary|secondary");
    command->add_option("--ou", args.ou, "Pick the code defined at this OU when names clash")
        ->type_name("PATH");
}

struct CreateArgs {
    std::string type;
    std::string name;
    std::string description;
    std::string ou;
};

struct ListArgs {
    std::string type;
    std::string ou;
    bool include_deleted = false;
};

struct EditArgs {
    ReferenceArgs target;
    std::optional<std::string> name;
    std::optional<std::string> description;
};

struct LintArgs {
    std::string ou;
    std::string service;
    int unused_months = lint::Options{}.unused_months;
    int max_primary = lint::Options{}.max_primary;
    bool strict = false;
};

std::string objects_json(const std::vector<lint::Object>& objects) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const lint::Object& object : objects) {
        nlohmann::ordered_json item{
            {"kind", object.kind}, {"id", object.id}, {"name", object.name}};
        if (!object.type.empty()) {
            item["type"] = object.type;
        }
        item["ou"] = object.ou;
        list.push_back(std::move(item));
    }
    return list.dump();
}

Result lint_result(const lint::Report& report, bool strict) {
    Result result;
    output::Rows rows;
    rows.columns = {
        {"rule", "RULE"}, {"objects", "OBJECTS"}, {"message", "FINDING"}, {"fix", "FIX"}};
    std::string text;
    for (const lint::Finding& finding : report.findings) {
        rows.add({std::string(finding.rule), output::RawJson{objects_json(finding.objects)},
                  finding.message, finding.fix});
        text += fmt::format("{}: {}\n    fix: {}\n", finding.rule, finding.message, finding.fix);
    }
    result.rows = std::move(rows);
    result.text = std::move(text);
    result.notes = report.notes;
    const std::size_t found = report.findings.size();
    result.notes.push_back(found == 0 ? std::string("no findings")
                                      : fmt::format("{} finding{}", found, found == 1 ? "" : "s"));
    if (strict && found > 0) {
        result.exit_status = exit_failure;
    }
    return result;
}

} // namespace

void add_code_commands(CLI::App& app, Registry& registry) {
    CLI::App* code = add_noun(app, "code", "The code catalogue");

    auto create_args = std::make_shared<CreateArgs>();
    CLI::App* create = code->add_subcommand("create", "Define a code");
    create->add_option("--type", create_args->type, "Code type")
        ->required()
        ->check(one_of({"primary", "secondary"}))
        ->type_name("primary|secondary");
    create->add_option("--name", create_args->name, "Name, 1 to 64 characters")
        ->required()
        ->type_name("NAME");
    create->add_option("--description", create_args->description, "Up to 500 characters")
        ->type_name("TEXT");
    create->add_option("--ou", create_args->ou, "OU the code belongs to (default: tenant root)")
        ->type_name("PATH");
    registry.add(
        create,
        Command{policy::Action::ChangeCodes, WriteBody([create_args](const WriteContext& c) {
                    const CreateArgs& a = *create_args;
                    return change_result(codes::create(
                        c.tx, c.audit, c.actor,
                        codes::Draft{*parse_code_type(a.type), a.name, a.description,
                                     a.ou.empty() ? std::nullopt : std::optional(a.ou)}));
                })});

    auto list_args = std::make_shared<ListArgs>();
    CLI::App* list = code->add_subcommand("list", "List codes");
    list->add_option("--type", list_args->type, "Only codes of this type")
        ->check(one_of({"primary", "secondary"}))
        ->type_name("primary|secondary");
    list->add_option("--ou", list_args->ou,
                     "Only codes usable at this OU (defined there or above it)")
        ->type_name("PATH");
    list->add_flag("--include-deleted", list_args->include_deleted, "Also list deleted codes");
    registry.add(
        list, Command{policy::Action::ReadCodes, ReadBody([list_args](const ReadContext& c) {
                          const ListArgs& a = *list_args;
                          const auto found = codes::list(
                              c.tx,
                              codes::ListFilter{parse_code_type(a.type),
                                                a.ou.empty() ? std::nullopt : std::optional(a.ou),
                                                a.include_deleted});
                          return Result::list(code_rows(found));
                      })});

    auto show_args = std::make_shared<ReferenceArgs>();
    CLI::App* show = code->add_subcommand("show", "Show one code");
    add_reference_options(show, *show_args);
    registry.add(show,
                 Command{policy::Action::ReadCodes, ReadBody([show_args](const ReadContext& c) {
                             return Result::record(
                                 code_rows({codes::resolve(c.tx, show_args->reference())}));
                         })});

    auto edit_args = std::make_shared<EditArgs>();
    CLI::App* edit = code->add_subcommand("edit", "Rename a code or change its description");
    add_reference_options(edit, edit_args->target);
    edit->add_option("--name", edit_args->name, "New name")->type_name("NAME");
    edit->add_option("--description", edit_args->description, "New description")->type_name("TEXT");
    registry.add(edit,
                 Command{policy::Action::ChangeCodes, WriteBody([edit_args](const WriteContext& c) {
                             return change_result(
                                 codes::edit(c.tx, c.audit, c.actor, edit_args->target.reference(),
                                             codes::Edit{edit_args->name, edit_args->description}));
                         })});

    auto lint_args = std::make_shared<LintArgs>();
    CLI::App* lint_command = code->add_subcommand(
        "lint", "Find near-duplicate, unlisted, unused and undescribed codes and awkward lists");
    lint_command->add_option("--ou", lint_args->ou, "Only what is defined at this OU or below it")
        ->type_name("PATH");
    lint_command
        ->add_option("--service", lint_args->service,
                     "Only what this service offers and the codes it can see")
        ->type_name("NAME");
    lint_command
        ->add_option("--unused-months", lint_args->unused_months,
                     "A listed code unused this long is a finding (default 6)")
        ->type_name("N");
    lint_command
        ->add_option("--max-primary", lint_args->max_primary,
                     "A longer primary list is a finding (default 12)")
        ->type_name("N");
    lint_command->add_flag("--strict", lint_args->strict, "Exit 1 when anything is found");
    registry.add(lint_command,
                 Command{policy::Action::ReadCodes, ReadBody([lint_args](const ReadContext& c) {
                             const LintArgs& a = *lint_args;
                             const lint::Options options{
                                 a.ou.empty() ? std::nullopt : std::optional(a.ou),
                                 a.service.empty() ? std::nullopt : std::optional(a.service),
                                 a.unused_months, a.max_primary};
                             return lint_result(lint::run(c.tx, c.actor, options, c.now), a.strict);
                         })});

    auto delete_args = std::make_shared<ReferenceArgs>();
    CLI::App* remove = code->add_subcommand(
        "delete", "Retire a code: no longer offered, kept in history and reports");
    add_reference_options(remove, *delete_args);
    registry.add(remove, Command{policy::Action::ChangeCodes,
                                 WriteBody([delete_args](const WriteContext& c) {
                                     return change_result(codes::remove(c.tx, c.audit, c.actor,
                                                                        delete_args->reference()));
                                 })});
}

} // namespace nimbus::cli
