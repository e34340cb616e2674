#include <nimbus/services/code_lists.hpp>

#include <algorithm>
#include <variant>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::services {
namespace {

bool usable_at(const Code& code, const Service& service) {
    return names::ou_within(names::name_key(service.ou_path), names::name_key(code.ou_path));
}

/// Why `code` cannot be on `service`'s `list`, or empty when it can.
std::string unfit(const Code& code, const Service& service, CodeType list) {
    if (code.type != list) {
        return fmt::format("is a {} code", to_string(code.type));
    }
    if (code.deleted()) {
        return "is deleted";
    }
    if (!usable_at(code, service)) {
        return fmt::format("is defined at OU \"{}\", not at \"{}\" or above it", code.ou_path,
                           service.ou_path);
    }
    return {};
}

/// The code `reference` names for `service`'s `list`, or the reason there is none.
/// A name is looked up among the codes the service can use, so that names
/// repeated in unrelated OUs or of the other type do not make it ambiguous.
std::variant<Code, std::string> resolve_for(store::ReadTransaction& tx, const Service& service,
                                            CodeType list, std::string_view reference) {
    if (codes::parse_id_reference(reference)) {
        try {
            Code code = codes::resolve(tx, codes::Reference{std::string(reference), {}, {}});
            std::string why = unfit(code, service, list);
            return why.empty() ? std::variant<Code, std::string>(std::move(code)) : why;
        } catch (const Error& e) {
            return std::string(e.what());
        }
    }
    if (!text::is_valid_utf8(reference)) {
        return text::describe_invalid_utf8(reference);
    }
    const std::string name = names::clean_reference(reference, "code name");
    if (name.empty()) {
        return std::string("is not a code name");
    }
    const std::vector<Code> candidates = tx.find_codes_by_name(names::name_key(name));
    std::vector<std::string> reasons;
    for (const Code& code : candidates) {
        std::string why = unfit(code, service, list);
        if (why.empty()) {
            return code; // names are unique per type along an OU path
        }
        reasons.push_back(std::move(why));
    }
    if (reasons.empty()) {
        return fmt::format("there is no code named \"{}\"", name);
    }
    return reasons.front();
}

std::vector<std::int64_t> ids(const std::vector<Code>& codes) {
    std::vector<std::int64_t> result;
    for (const Code& code : codes) {
        result.push_back(code.id);
    }
    return result;
}

/// Applies `update` to `current`, recording every problem in `problems`.
std::vector<Code> updated_list(store::ReadTransaction& tx, const Service& service, CodeType list,
                               const std::vector<Code>& current, const ListUpdate& update,
                               std::vector<std::string>& problems) {
    const auto problem = [&](std::string_view reference, std::string_view why) {
        // Text that is not UTF-8 is named by its fault, not repeated.
        problems.push_back(
            text::is_valid_utf8(reference)
                ? fmt::format("{} \"{}\": {}", to_string(list), text::trim(reference), why)
                : fmt::format("{} code name: {}", to_string(list), why));
    };
    const auto resolve = [&](const std::string& reference) -> std::optional<Code> {
        auto found = resolve_for(tx, service, list, reference);
        if (auto* why = std::get_if<std::string>(&found)) {
            problem(reference, *why);
            return std::nullopt;
        }
        return std::get<Code>(std::move(found));
    };
    const auto contains = [](const std::vector<Code>& codes, std::int64_t id) {
        return std::any_of(codes.begin(), codes.end(), [&](const Code& c) { return c.id == id; });
    };

    std::vector<Code> result = current;
    if (update.set) {
        result.clear();
        for (const std::string& reference : *update.set) {
            if (auto code = resolve(reference)) {
                if (contains(result, code->id)) {
                    problem(reference, "is named twice");
                } else {
                    result.push_back(std::move(*code));
                }
            }
        }
        if (update.keep_unnamed) {
            for (const Code& code : current) {
                if (!contains(result, code.id)) {
                    result.push_back(code);
                }
            }
        }
    }
    for (const std::string& reference : update.remove) {
        if (!text::is_valid_utf8(reference)) {
            problem(reference, text::describe_invalid_utf8(reference));
            continue;
        }
        const std::string wanted = names::clean_reference(reference, "code name");
        const auto id = codes::parse_id_reference(wanted);
        const auto on_list = std::find_if(result.begin(), result.end(), [&](const Code& code) {
            return id ? code.id == *id : names::name_key(code.name) == names::name_key(wanted);
        });
        if (on_list != result.end()) {
            result.erase(on_list);
            continue;
        }
        // Removing a code that is not on the list changes nothing, but a code
        // that does not exist at all is most likely a typo.
        try {
            codes::resolve(tx, codes::Reference{wanted, {}, {}});
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Usage) { // ambiguous names exist
                problem(reference, e.what());
            }
        }
    }
    for (const std::string& reference : update.add) {
        if (auto code = resolve(reference); code && !contains(result, code->id)) {
            result.push_back(std::move(*code));
        }
    }
    return result;
}

nlohmann::ordered_json list_snapshot(const ServiceSettings& settings) {
    nlohmann::ordered_json json = snapshot(settings);
    return {{"primary", json["primary"]}, {"secondary", json["secondary"]}};
}

} // namespace

std::pair<std::vector<Code>, std::vector<Code>> planned_lists(store::ReadTransaction& tx,
                                                              const ServiceSettings& current,
                                                              const ListUpdate& primary,
                                                              const ListUpdate& secondary) {
    const Service& service = current.service;
    std::vector<std::string> problems;
    std::vector<Code> new_primary =
        updated_list(tx, service, CodeType::Primary, current.primary, primary, problems);
    std::vector<Code> new_secondary =
        updated_list(tx, service, CodeType::Secondary, current.secondary, secondary, problems);
    if (!problems.empty()) {
        std::string message = fmt::format(
            "service \"{}\" cannot take these codes; nothing was changed:", service.name);
        for (const std::string& line : problems) {
            message += "\n  " + line;
        }
        throw Error(ErrorKind::InvalidData, message,
                    fmt::format("see the codes usable there: nimbus-codes code list --ou \"{}\"",
                                service.ou_path));
    }
    return {std::move(new_primary), std::move(new_secondary)};
}

Change apply_codes(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                   std::string_view name, const ListUpdate& primary, const ListUpdate& secondary) {
    if (primary.empty() && secondary.empty()) {
        throw Error(ErrorKind::Usage, "nothing to change",
                    "give --primary, --secondary, --add-primary, --remove-primary, "
                    "--add-secondary or --remove-secondary");
    }
    const Service service = find(tx, name);
    policy::require(actor, policy::Action::ConfigureService, scope_of(service));
    require_active(service);
    const ServiceSettings before = settings(tx, service);
    const auto [new_primary, new_secondary] = planned_lists(tx, before, primary, secondary);
    Change change{Outcome::Unchanged, before, {}, {}};
    if (ids(new_primary) != ids(before.primary) || ids(new_secondary) != ids(before.secondary)) {
        require_defaults_listed(before, new_primary, new_secondary);
        tx.replace_service_codes(service.id, CodeType::Primary, ids(new_primary));
        tx.replace_service_codes(service.id, CodeType::Secondary, ids(new_secondary));
        change = Change{Outcome::Updated, settings(tx, service), {}, {}};
        audit.record("service.codes", "service " + service.name, service.ou_id,
                     list_snapshot(before), list_snapshot(change.settings));
    }
    // Lists are kept whatever the license, ready for an upgrade, but offered
    // to no one until then (the lint rule unlicensed-lists).
    const Feature& codes_and_tags = *find_feature("codes-and-tags");
    if (!allows(service.license, codes_and_tags) &&
        (!change.settings.primary.empty() || !change.settings.secondary.empty())) {
        change.warnings.push_back(fmt::format(
            "service \"{}\" has the license {}, which does not allow codes-and-tags: its agents "
            "are offered none of these codes until the license is {}",
            service.name, to_string(service.license), licenses_allowing_text(codes_and_tags)));
    }
    return change;
}

void drop_code(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
               const Code& code) {
    const std::vector<Service> listing = tx.services_listing(code.id);
    for (const Service& service : listing) {
        if (!policy::permits(actor, policy::Action::ConfigureService, scope_of(service))) {
            throw Error(ErrorKind::PermissionDenied,
                        fmt::format("code \"{}\" is on the lists of service \"{}\", whose "
                                    "settings {} may not change",
                                    code.name, service.name, actor.display()),
                        fmt::format("ask whoever may change them ({}) to delete the code",
                                    policy::describe_roles(
                                        policy::rule_for(policy::Action::ConfigureService).roles)));
        }
    }
    for (const Service& service : listing) {
        const ServiceSettings before = settings(tx, service);
        std::vector<Code> kept = before.list(code.type);
        std::erase_if(kept, [&](const Code& listed) { return listed.id == code.id; });
        require_defaults_listed(before, code.type == CodeType::Primary ? kept : before.primary,
                                code.type == CodeType::Secondary ? kept : before.secondary);
        tx.replace_service_codes(service.id, code.type, ids(kept));
        audit.record("service.codes", "service " + service.name, service.ou_id,
                     list_snapshot(before), list_snapshot(settings(tx, service)));
    }
}

} // namespace nimbus::services
