#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/services/code_lists.hpp>
#include <nimbus/services/extensions.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/util/text.hpp>
#include <nimbus/util/time.hpp>

#include "app.hpp"

namespace nimbus::cli {
namespace {

std::vector<std::string> names_of(const std::vector<Code>& codes) {
    std::vector<std::string> names;
    for (const Code& code : codes) {
        names.push_back(code.name);
    }
    return names;
}

/// {"codes-and-tags": true, ...} for programs, every feature in table order.
output::RawJson extensions_json(const ServiceSettings& settings) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (const Feature& feature : features()) {
        object[std::string(feature.name)] = settings.is_enabled(feature.name);
    }
    return output::RawJson{object.dump()};
}

/// The after-call work policy in a few words: "2h, else Not concluded + Follow-up".
output::Cell wrap_up_text(const ServiceSettings& settings) {
    if (!settings.wrap_up) {
        return output::Cell();
    }
    const WrapUp& policy = *settings.wrap_up;
    std::string text =
        timefmt::duration_text(policy.deadline) + ", else " + policy.default_primary.name;
    if (policy.default_secondary) {
        text += " + " + policy.default_secondary->name;
    }
    return text;
}

/// The policy for programs: null without one.
output::RawJson wrap_up_json(const ServiceSettings& settings) {
    if (!settings.wrap_up) {
        return output::RawJson{"null"};
    }
    const WrapUp& policy = *settings.wrap_up;
    return output::RawJson{nlohmann::ordered_json{
        {"deadline", timefmt::duration_text(policy.deadline)},
        {"deadline_seconds", policy.deadline.count()},
        {"default_primary", policy.default_primary.name},
        {"default_secondary", policy.default_secondary
                                  ? nlohmann::ordered_json(policy.default_secondary->name)
                                  : nlohmann::ordered_json(nullptr)},
        {"effective_from", timefmt::to_utc_string(policy.effective_from)}}
                               .dump()};
}

output::Rows service_rows(const std::vector<ServiceSettings>& list) {
    output::Rows rows;
    rows.columns = {{"id", "ID"},
                    {"name", "NAME"},
                    {"ou", "OU"},
                    {"license", "LICENSE"},
                    {"primary", "PRIMARY"},
                    {"secondary", "SECONDARY"},
                    {"extensions", "EXTENSIONS", output::Audience::Programs},
                    {"enabled", "ENABLED", output::Audience::People},
                    {"wrap_up_summary", "WRAP-UP", output::Audience::People},
                    {"wrap_up", "WRAP-UP", output::Audience::Programs},
                    {"created_at", "CREATED", output::Audience::Programs},
                    {"retired_at", "RETIRED"}};
    for (const ServiceSettings& settings : list) {
        const Service& service = settings.service;
        rows.add({service.id, service.name, service.ou_path,
                  std::string(to_string(service.license)), names_of(settings.primary),
                  names_of(settings.secondary), extensions_json(settings), settings.enabled,
                  wrap_up_text(settings), wrap_up_json(settings),
                  timefmt::to_utc_string(service.created_at),
                  service.retired_at ? output::Cell(timefmt::to_utc_string(*service.retired_at))
                                     : output::Cell()});
    }
    return rows;
}

Result change_result(const services::Change& change) {
    Result result = Result::record(service_rows({change.settings}));
    const std::string what = fmt::format("service \"{}\"", change.settings.service.name);
    switch (change.outcome) {
    case services::Outcome::Created: result.notes.push_back("created " + what); break;
    case services::Outcome::Updated: result.notes.push_back("updated " + what); break;
    case services::Outcome::Unchanged: result.notes.push_back("unchanged: " + what); break;
    case services::Outcome::Deleted:
        result.notes.push_back("deleted " + what + ": it was never used");
        break;
    }
    result.notes.insert(result.notes.end(), change.notes.begin(), change.notes.end());
    result.warnings = change.warnings;
    return result;
}

struct CreateArgs {
    std::string name;
    std::string ou;
    std::string license;
};

struct WrapUpArgs {
    std::string service;
    std::string deadline;
    std::optional<std::string> default_primary;
    std::optional<std::string> default_secondary;
    bool no_default_secondary = false;
    bool off = false;

    services::WrapUpEdit edit() const {
        services::WrapUpEdit edit;
        if (!deadline.empty()) {
            edit.deadline = timefmt::parse_duration(deadline);
            if (!edit.deadline) {
                throw Error(ErrorKind::Usage,
                            fmt::format("--deadline \"{}\" is not a length of time",
                                        text::escape_controls(deadline)),
                            "give days, hours, minutes and seconds, largest first: 2h, 90m, "
                            "1h30m, 1d");
            }
        }
        edit.default_primary = default_primary;
        edit.default_secondary =
            no_default_secondary ? std::optional<std::string>("") : default_secondary;
        edit.remove = off;
        return edit;
    }
};

struct EditArgs {
    std::string service;
    std::optional<std::string> name;
    std::string license;
    bool disable_unlicensed = false;
};

/// One list's options of `service apply`.
struct ListArgs {
    CLI::Option* set_option = nullptr;
    std::string set;
    std::vector<std::string> add;
    std::vector<std::string> remove;

    services::ListUpdate update() const {
        services::ListUpdate update;
        if (set_option->count() > 0) {
            update.set = split_list(set);
        }
        update.add = add;
        update.remove = remove;
        return update;
    }
};

struct ApplyArgs {
    std::string service;
    ListArgs primary;
    ListArgs secondary;
};

void add_list_options(CLI::App* apply, ListArgs& args, const std::string& type) {
    args.set_option = apply
                          ->add_option("--" + type, args.set,
                                       "Set the " + type +
                                           " list exactly, in this order (empty: clear it); "
                                           "name codes with commas in them as id:N")
                          ->type_name("CODE,CODE...");
    apply->add_option("--add-" + type, args.add, "Append a code to the " + type + " list")
        ->type_name("CODE")
        ->excludes(args.set_option);
    apply->add_option("--remove-" + type, args.remove, "Take a code off the " + type + " list")
        ->type_name("CODE")
        ->excludes(args.set_option);
}

struct FeatureArgs {
    std::string service;
    std::vector<std::string> features;
};

Result feature_result(const services::Change& change) {
    Result result = change_result(change);
    result.shape = output::Shape::List;
    return result;
}

output::Rows extension_rows(const ServiceSettings& settings) {
    output::Rows rows;
    rows.columns = {{"feature", "FEATURE"},
                    {"enabled", "ENABLED"},
                    {"licensed", "LICENSED"},
                    {"licenses", "LICENSES", output::Audience::Programs},
                    {"description", "DESCRIPTION"}};
    for (const Feature& feature : features()) {
        std::vector<std::string> licenses;
        for (const License license : licenses_allowing(feature)) {
            licenses.emplace_back(to_string(license));
        }
        rows.add({std::string(feature.name), settings.is_enabled(feature.name),
                  allows(settings.service.license, feature), licenses,
                  std::string(feature.description)});
    }
    return rows;
}

std::vector<std::string> feature_names() {
    std::vector<std::string> names;
    for (const Feature& feature : features()) {
        names.emplace_back(feature.name);
    }
    return names;
}

std::vector<std::string> license_names() {
    std::vector<std::string> names;
    for (const License license : all_licenses()) {
        names.emplace_back(to_string(license));
    }
    return names;
}

} // namespace

void add_service_commands(CLI::App& app, Registry& registry) {
    CLI::App* service = add_noun(app, "service", "Services and their code lists");
    const std::string license_help = "basic-routing|advanced-routing|enterprise-routing|"
                                     "contact-center";

    auto create_args = std::make_shared<CreateArgs>();
    CLI::App* create = service->add_subcommand("create", "Create a service in an OU");
    create->add_option("name", create_args->name, "Service name")->required()->type_name("NAME");
    create->add_option("--ou", create_args->ou, "OU of the service")->required()->type_name("PATH");
    create->add_option("--license", create_args->license, "Routing license")
        ->required()
        ->check(one_of(license_names()))
        ->type_name(license_help);
    registry.add(create, Command{policy::Action::CreateService,
                                 WriteBody([create_args](const WriteContext& c) {
                                     return change_result(services::create(
                                         c.tx, c.audit, c.actor,
                                         services::Draft{create_args->name, create_args->ou,
                                                         *parse_license(create_args->license)}));
                                 })});

    auto include_retired = std::make_shared<bool>(false);
    CLI::App* list = service->add_subcommand("list", "List services");
    list->add_flag("--include-retired", *include_retired, "Also list retired services");
    registry.add(list, Command{policy::Action::ReadServices,
                               ReadBody([include_retired](const ReadContext& c) {
                                   std::vector<ServiceSettings> all;
                                   for (const Service& s : c.tx.services()) {
                                       if (*include_retired || !s.retired()) {
                                           all.push_back(services::settings(c.tx, s));
                                       }
                                   }
                                   return Result::list(service_rows(all));
                               })});

    // Retire, restore and delete: one service each, under the change-service rule.
    using Lifecycle =
        services::Change (*)(store::WriteTransaction&, AuditTrail&, const Actor&, std::string_view);
    const auto add_lifecycle = [&](const char* name, const char* help, Lifecycle run) {
        auto target = std::make_shared<std::string>();
        CLI::App* command = service->add_subcommand(name, help);
        command->add_option("service", *target, "Service name")->required()->type_name("SERVICE");
        registry.add(
            command,
            Command{policy::Action::ChangeService, WriteBody([target, run](const WriteContext& c) {
                        return change_result(run(c.tx, c.audit, c.actor, *target));
                    })});
    };
    add_lifecycle("retire", "Retire a service: no new sessions, nothing offered, kept in reports",
                  &services::retire);
    add_lifecycle("restore", "Bring a retired service back", &services::restore);
    auto delete_target = std::make_shared<std::string>();
    CLI::App* remove = service->add_subcommand("delete", "Delete a service that was never used");
    remove->add_option("service", *delete_target, "Service name")->required()->type_name("SERVICE");
    registry.add(remove, Command{policy::Action::ChangeService,
                                 WriteBody([delete_target](const WriteContext& c) {
                                     return change_result(services::remove(
                                         c.tx, c.audit, c.actor, c.identity, *delete_target));
                                 })});

    auto show_name = std::make_shared<std::string>();
    CLI::App* show = service->add_subcommand(
        "show", "Show a service: OU, license, code lists in order, extensions");
    show->add_option("service", *show_name, "Service name")->required()->type_name("SERVICE");
    registry.add(show,
                 Command{policy::Action::ReadServices, ReadBody([show_name](const ReadContext& c) {
                             const Service s = services::find(c.tx, *show_name);
                             return Result::record(service_rows({services::settings(c.tx, s)}));
                         })});

    auto edit_args = std::make_shared<EditArgs>();
    CLI::App* edit = service->add_subcommand("edit", "Rename a service or change its license");
    edit->add_option("service", edit_args->service, "Service name")
        ->required()
        ->type_name("SERVICE");
    edit->add_option("--name", edit_args->name, "New name")->type_name("NAME");
    edit->add_option("--license", edit_args->license, "New license")
        ->check(one_of(license_names()))
        ->type_name(license_help);
    edit->add_flag("--disable-unlicensed", edit_args->disable_unlicensed,
                   "Switch off enabled features the new license does not allow");
    registry.add(
        edit, Command{policy::Action::ChangeService, WriteBody([edit_args](const WriteContext& c) {
                          return change_result(services::edit(
                              c.tx, c.audit, c.actor, edit_args->service,
                              services::Edit{edit_args->name, parse_license(edit_args->license),
                                             edit_args->disable_unlicensed}));
                      })});

    auto wrap_up_args = std::make_shared<WrapUpArgs>();
    CLI::App* wrap_up = service->add_subcommand(
        "wrap-up", "Set the service's after-call work: a deadline to conclude each session "
                   "after its call, and the default codes a sweep concludes it with after that");
    wrap_up->add_option("service", wrap_up_args->service, "Service name")
        ->required()
        ->type_name("SERVICE");
    CLI::Option* off = wrap_up->add_flag("--off", wrap_up_args->off,
                                         "Remove the policy: no deadline, and nothing is swept");
    wrap_up
        ->add_option("--deadline", wrap_up_args->deadline,
                     "How long after the call's end a session may stay open (2h, 90m, 1d)")
        ->type_name("DURATION")
        ->excludes(off);
    wrap_up
        ->add_option("--default-primary", wrap_up_args->default_primary,
                     "The primary code a sweep concludes with (on the service's primary list)")
        ->type_name("CODE")
        ->excludes(off);
    CLI::Option* secondary =
        wrap_up
            ->add_option("--default-secondary", wrap_up_args->default_secondary,
                         "A secondary code a sweep adds (on the service's secondary list)")
            ->type_name("CODE")
            ->excludes(off);
    wrap_up
        ->add_flag("--no-default-secondary", wrap_up_args->no_default_secondary,
                   "A sweep adds no secondary code")
        ->excludes(off)
        ->excludes(secondary);
    registry.add(wrap_up, Command{policy::Action::ConfigureService,
                                  WriteBody([wrap_up_args](const WriteContext& c) {
                                      const services::WrapUpEdit change = wrap_up_args->edit();
                                      if (!change.remove && !change.deadline &&
                                          !change.default_primary && !change.default_secondary) {
                                          throw Error(ErrorKind::Usage, "nothing to change",
                                                      "give --deadline, --default-primary, "
                                                      "--default-secondary or --off");
                                      }
                                      return change_result(services::set_wrap_up(
                                          c.tx, c.audit, c.actor, wrap_up_args->service, change));
                                  })});

    auto apply_args = std::make_shared<ApplyArgs>();
    CLI::App* apply = service->add_subcommand(
        "apply", "Set the service's ordered primary and secondary code lists");
    apply->add_option("service", apply_args->service, "Service name")
        ->required()
        ->type_name("SERVICE");
    add_list_options(apply, apply_args->primary, "primary");
    add_list_options(apply, apply_args->secondary, "secondary");
    registry.add(
        apply,
        Command{policy::Action::ConfigureService, WriteBody([apply_args](const WriteContext& c) {
                    return change_result(services::apply_codes(
                        c.tx, c.audit, c.actor, apply_args->service, apply_args->primary.update(),
                        apply_args->secondary.update()));
                })});
}

void add_extension_commands(CLI::App& app, Registry& registry) {
    CLI::App* extension = add_noun(app, "extension", "My Sessions extensions of a service");

    auto list_name = std::make_shared<std::string>();
    CLI::App* extension_list =
        extension->add_subcommand("list", "List the features of a service and their state");
    extension_list->add_option("service", *list_name, "Service name")
        ->required()
        ->type_name("SERVICE");
    registry.add(extension_list,
                 Command{policy::Action::ReadServices, ReadBody([list_name](const ReadContext& c) {
                             const Service s = services::find(c.tx, *list_name);
                             return Result::list(extension_rows(services::settings(c.tx, s)));
                         })});

    for (const bool enable : {true, false}) {
        auto args = std::make_shared<FeatureArgs>();
        CLI::App* toggle = extension->add_subcommand(
            enable ? "enable" : "disable",
            enable ? "Switch features on for every team member of a service"
                   : "Switch features off");
        toggle->add_option("service", args->service, "Service name")
            ->required()
            ->type_name("SERVICE");
        toggle->add_option("feature", args->features, "Features")
            ->required()
            ->check(one_of(feature_names()))
            ->type_name("FEATURE");
        registry.add(toggle, Command{policy::Action::ConfigureService,
                                     WriteBody([args, enable](const WriteContext& c) {
                                         const services::Change change = services::set_features(
                                             c.tx, c.audit, c.actor, args->service, args->features,
                                             enable);
                                         Result result = feature_result(change);
                                         result.rows = extension_rows(change.settings);
                                         return result;
                                     })});
    }
}

} // namespace nimbus::cli
