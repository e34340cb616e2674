#include <nimbus/services/services.hpp>

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/audit/history.hpp>
#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>

namespace nimbus::services {
namespace {

std::string target(const Service& service) {
    return "service " + service.name;
}

std::vector<std::string> code_names(const std::vector<Code>& codes) {
    std::vector<std::string> result;
    result.reserve(codes.size());
    for (const Code& code : codes) {
        result.push_back(code.name);
    }
    return result;
}

/// "a", "a and b", "a, b and c".
std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (std::size_t i = 0; i < items.size(); ++i) {
        text += i == 0 ? "" : i + 1 == items.size() ? " and " : ", ";
        text += items[i];
    }
    return text;
}

/// Refuses `name` when it looks like another service's: agents pick services
/// by name, in any OU.
void refuse_lookalike(store::ReadTransaction& tx, std::string_view name,
                      std::optional<std::int64_t> except) {
    for (const Service& other : tx.services()) {
        if (other.id != except && names::look_alike(name, other.name)) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("service name \"{}\" looks like service \"{}\" in OU \"{}\"",
                                    name, other.name, other.ou_path),
                        "agents could not tell the two apart; choose a name that differs in "
                        "more than look-alike letters");
        }
    }
}

} // namespace

Service find(store::ReadTransaction& tx, std::string_view name) {
    const auto nfc = names::clean_name(name, "service name");
    if (auto service = tx.find_service(names::name_key(nfc))) {
        return *service;
    }
    throw Error(ErrorKind::NotFound, fmt::format("service \"{}\" does not exist", nfc),
                "list services with 'nimbus-codes service list'");
}

ServiceSettings settings(store::ReadTransaction& tx, const Service& service) {
    ServiceSettings result;
    result.service = service;
    result.primary = tx.service_codes(service.id, CodeType::Primary);
    result.secondary = tx.service_codes(service.id, CodeType::Secondary);
    const std::vector<std::string> enabled = tx.enabled_features(service.id);
    for (const Feature& feature : features()) {
        if (std::find(enabled.begin(), enabled.end(), feature.name) != enabled.end()) {
            result.enabled.emplace_back(feature.name);
        }
    }
    if (const std::optional<store::StoredWrapUp> stored = tx.wrap_up(service.id)) {
        const auto code = [&](std::int64_t id) {
            std::optional<Code> found = tx.find_code(id);
            if (!found) {
                throw Error(ErrorKind::Internal, fmt::format("code {} is not in the store", id));
            }
            return *found;
        };
        result.wrap_up =
            WrapUp{std::chrono::seconds{stored->deadline_seconds}, code(stored->default_primary),
                   stored->default_secondary ? std::optional(code(*stored->default_secondary))
                                             : std::nullopt,
                   stored->effective_from};
    }
    return result;
}

policy::Scope scope_of(const Service& service) {
    return policy::Scope::service(service.name, names::name_key(service.name),
                                  names::name_key(service.ou_path));
}

void locate_grants(Grants& grants, store::ReadTransaction& tx) {
    for (auto* list : {&grants.owner, &grants.supervisor, &grants.member}) {
        for (ServiceGrant& grant : *list) {
            if (const auto service = tx.find_service(grant.key)) {
                grant.ou_key = names::name_key(service->ou_path);
            }
        }
    }
}

nlohmann::ordered_json wrap_up_snapshot(const std::optional<WrapUp>& policy) {
    if (!policy) {
        return nullptr;
    }
    return {{"deadline", timefmt::duration_text(policy->deadline)},
            {"default_primary", policy->default_primary.name},
            {"default_secondary", policy->default_secondary
                                      ? nlohmann::ordered_json(policy->default_secondary->name)
                                      : nlohmann::ordered_json(nullptr)},
            {"effective_from", timefmt::to_utc_string(policy->effective_from)}};
}

nlohmann::ordered_json snapshot(const ServiceSettings& settings) {
    nlohmann::ordered_json snapshot = {{"id", settings.service.id},
                                       {"name", settings.service.name},
                                       {"ou", settings.service.ou_path},
                                       {"license", to_string(settings.service.license)},
                                       {"primary", code_names(settings.primary)},
                                       {"secondary", code_names(settings.secondary)},
                                       {"extensions", settings.enabled}};
    // Records from before after-call work have no such field.
    if (settings.wrap_up) {
        snapshot["wrap_up"] = wrap_up_snapshot(settings.wrap_up);
    }
    return snapshot;
}

void require_defaults_listed(const ServiceSettings& settings, const std::vector<Code>& primary,
                             const std::vector<Code>& secondary) {
    if (!settings.wrap_up) {
        return;
    }
    const auto listed = [](const std::vector<Code>& list, const Code& code) {
        return std::any_of(list.begin(), list.end(),
                           [&](const Code& c) { return c.id == code.id; });
    };
    const WrapUp& policy = *settings.wrap_up;
    std::optional<std::pair<const Code*, CodeType>> missing;
    if (!listed(primary, policy.default_primary)) {
        missing.emplace(&policy.default_primary, CodeType::Primary);
    } else if (policy.default_secondary && !listed(secondary, *policy.default_secondary)) {
        missing.emplace(&*policy.default_secondary, CodeType::Secondary);
    }
    if (missing) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("code \"{}\" is the default {} code of service \"{}\"'s "
                                "after-call work: it stays on the {} list",
                                missing->first->name, to_string(missing->second),
                                settings.service.name, to_string(missing->second)),
                    fmt::format("name another default first ('nimbus-codes service wrap-up \"{0}\" "
                                "--default-{1} CODE'), or remove the policy ('nimbus-codes "
                                "service wrap-up \"{0}\" --off')",
                                settings.service.name, to_string(missing->second)));
    }
}

Change set_wrap_up(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                   std::string_view name, const WrapUpEdit& edit) {
    const Service service = find(tx, name);
    policy::require(actor, policy::Action::ConfigureService, scope_of(service));
    require_active(service);
    const ServiceSettings before = settings(tx, service);
    std::optional<WrapUp> after;
    if (!edit.remove) {
        if (!before.wrap_up && (!edit.deadline || !edit.default_primary)) {
            throw Error(
                ErrorKind::Usage,
                fmt::format("service \"{}\" has no after-call work policy yet", service.name),
                "give both --deadline and --default-primary");
        }
        WrapUp policy = before.wrap_up.value_or(WrapUp{});
        if (!before.wrap_up) {
            policy.effective_from = audit.now();
        }
        if (edit.deadline) {
            if (*edit.deadline < min_wrap_up_deadline || *edit.deadline > max_wrap_up_deadline) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("a wrap-up deadline of {} is outside {} to {}",
                                        timefmt::duration_text(*edit.deadline),
                                        timefmt::duration_text(min_wrap_up_deadline),
                                        timefmt::duration_text(max_wrap_up_deadline)));
            }
            policy.deadline = *edit.deadline;
        }
        const auto pick = [&](const std::string& reference, CodeType type) {
            const std::string nfc = names::clean_reference(reference, "code name");
            const auto id = codes::parse_id_reference(nfc);
            const std::vector<Code>& list = before.list(type);
            const auto match = std::find_if(list.begin(), list.end(), [&](const Code& code) {
                return id ? code.id == *id : names::name_key(code.name) == names::name_key(nfc);
            });
            if (match == list.end()) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("code \"{}\" is not on the {} list of service \"{}\"", nfc,
                                        to_string(type), service.name),
                            fmt::format("a default code is one the service offers; its {} "
                                        "codes: {}",
                                        to_string(type), join(code_names(list))));
            }
            return *match;
        };
        if (edit.default_primary) {
            policy.default_primary = pick(*edit.default_primary, CodeType::Primary);
        }
        if (edit.default_secondary) {
            policy.default_secondary =
                edit.default_secondary->empty()
                    ? std::nullopt
                    : std::optional(pick(*edit.default_secondary, CodeType::Secondary));
        }
        after = std::move(policy);
    }
    const auto same = [](const std::optional<WrapUp>& a, const std::optional<WrapUp>& b) {
        return wrap_up_snapshot(a) == wrap_up_snapshot(b);
    };
    if (same(before.wrap_up, after)) {
        return Change{Outcome::Unchanged, before, {}, {}};
    }
    tx.put_wrap_up(service.id,
                   after
                       ? std::optional(store::StoredWrapUp{
                             service.id, after->deadline.count(), after->default_primary.id,
                             after->default_secondary ? std::optional(after->default_secondary->id)
                                                      : std::nullopt,
                             after->effective_from})
                       : std::nullopt);
    Change change{Outcome::Updated, settings(tx, service), {}, {}};
    audit.record("service.wrap-up", target(service), service.ou_id,
                 wrap_up_snapshot(before.wrap_up), wrap_up_snapshot(change.settings.wrap_up));
    return change;
}

Change create(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Draft& draft) {
    const std::string name = names::clean_new_name(draft.name, "service name");
    const Ou ou = ous::find(tx, draft.ou_path);
    policy::require(actor, policy::Action::CreateService, policy::Scope::ou(ou.path, ou.path_key));
    ous::require_active(ou);
    const std::string key = names::name_key(name);
    if (const auto existing = tx.find_service(key)) {
        if (existing->name == name && existing->ou_id == ou.id &&
            existing->license == draft.license) {
            return Change{Outcome::Unchanged, settings(tx, *existing), {}, {}};
        }
        throw Error(ErrorKind::Conflict,
                    fmt::format("service \"{}\" already exists in OU \"{}\" with license {}",
                                existing->name, existing->ou_path, to_string(existing->license)),
                    "service names are unique; change it with 'nimbus-codes service edit'");
    }
    refuse_lookalike(tx, name, std::nullopt);
    Service service;
    service.name = name;
    service.ou_id = ou.id;
    service.ou_path = ou.path;
    service.license = draft.license;
    service.created_at = audit.now();
    service.id = tx.insert_service(
        store::NewService{service.name, key, ou.id, service.license, service.created_at});
    Change change{Outcome::Created, settings(tx, service), {}, {}};
    audit.record("service.create", target(service), ou.id, nullptr, snapshot(change.settings));
    return change;
}

Change edit(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
            std::string_view name, const Edit& edit) {
    if (!edit.name && !edit.license) {
        throw Error(ErrorKind::Usage, "nothing to change", "give --name or --license");
    }
    const Service service = find(tx, name);
    policy::require(actor, policy::Action::ChangeService, scope_of(service));
    require_active(service);
    const ServiceSettings before = settings(tx, service);

    Service renamed = service;
    if (edit.name) {
        renamed.name = names::clean_new_name(*edit.name, "service name");
        const auto clash = tx.find_service(names::name_key(renamed.name));
        if (clash && clash->id != service.id) {
            throw Error(ErrorKind::Conflict,
                        fmt::format("service \"{}\" already exists", clash->name));
        }
        if (renamed.name != service.name) {
            refuse_lookalike(tx, renamed.name, service.id);
        }
    }
    if (edit.license) {
        renamed.license = *edit.license;
    }
    std::vector<std::string> unlicensed;
    for (const std::string& feature : before.enabled) {
        const Feature* known = find_feature(feature);
        if (known != nullptr && !allows(renamed.license, *known)) {
            unlicensed.push_back(feature);
        }
    }
    if (!unlicensed.empty() && !edit.disable_unlicensed) {
        throw Error(ErrorKind::NotLicensed,
                    fmt::format("service \"{}\" has {} enabled, which license {} does not allow",
                                service.name, join(unlicensed), to_string(renamed.license)),
                    fmt::format("disable {} first, or pass --disable-unlicensed",
                                unlicensed.size() == 1 ? "it" : "them"));
    }
    if (renamed.name == service.name && renamed.license == service.license) {
        return Change{Outcome::Unchanged, before, {}, {}};
    }

    tx.update_service(service.id, renamed.name, names::name_key(renamed.name), renamed.license);
    for (const std::string& feature : unlicensed) {
        tx.set_feature(service.id, feature, false);
    }
    Change change{Outcome::Updated, settings(tx, renamed), {}, {}};
    audit.record("service.edit", target(renamed), service.ou_id, snapshot(before),
                 snapshot(change.settings));
    if (!unlicensed.empty()) {
        change.notes.push_back(fmt::format("disabled {}: not allowed by license {}",
                                           join(unlicensed), to_string(renamed.license)));
    }
    if (renamed.name != service.name) {
        change.notes.push_back(
            fmt::format("identity files that grant roles on \"{}\" must now name \"{}\"",
                        service.name, renamed.name));
    }
    return change;
}

bool Features::enabled(std::int64_t service_id, std::string_view feature) {
    auto known = enabled_.find(service_id);
    if (known == enabled_.end()) {
        known = enabled_.emplace(service_id, tx_.enabled_features(service_id)).first;
    }
    return std::find(known->second.begin(), known->second.end(), feature) != known->second.end();
}

void require_active(const Service& service) {
    if (service.retired()) {
        throw Error(
            ErrorKind::Conflict,
            fmt::format("service \"{}\" is retired: its settings no longer change", service.name),
            fmt::format("restore it first: nimbus-codes service restore \"{}\"", service.name));
    }
}

namespace {

nlohmann::ordered_json retirement(const Service& service) {
    return {{"retired_at", service.retired_at
                               ? nlohmann::ordered_json(timefmt::to_utc_string(*service.retired_at))
                               : nlohmann::ordered_json(nullptr)}};
}

/// Sets a service's retirement; `at` none restores it.
Change set_retired(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                   std::string_view name, std::optional<Timestamp> at) {
    const Service service = find(tx, name);
    policy::require(actor, policy::Action::ChangeService, scope_of(service));
    if (service.retired() == at.has_value()) {
        return Change{Outcome::Unchanged, settings(tx, service), {}, {}};
    }
    if (!at) {
        const Ou ou = ous::find(tx, service.ou_path);
        if (ou.retired()) {
            throw Error(
                ErrorKind::Conflict,
                fmt::format("service \"{}\" is in OU \"{}\", which is retired", service.name,
                            ou.path),
                fmt::format("restore the OU first: nimbus-codes ou restore \"{}\"", ou.path));
        }
    }
    tx.set_service_retired(service.id, at);
    Service after = service;
    after.retired_at = at;
    audit.record(at ? "service.retire" : "service.restore", target(service), service.ou_id,
                 retirement(service), retirement(after));
    return Change{Outcome::Updated, settings(tx, after), {}, {}};
}

/// Why a service is not "never used", or empty when it is.
std::vector<std::string> uses_of(store::ReadTransaction& tx, const ServiceSettings& current) {
    const Service& service = current.service;
    std::vector<std::string> uses;
    store::SessionQuery sessions;
    sessions.everything = true;
    sessions.service_id = service.id;
    sessions.limit = 1;
    if (!tx.sessions(sessions).empty()) {
        uses.emplace_back("sessions");
    }
    if (!current.primary.empty() || !current.secondary.empty()) {
        uses.emplace_back("codes on its lists");
    }
    if (!current.enabled.empty()) {
        uses.emplace_back("features enabled");
    }
    if (current.wrap_up) {
        uses.emplace_back("an after-call work policy");
    }
    if (service.retired()) {
        uses.emplace_back("its retirement");
    }
    if (const auto since = audit::changed_since_creation(tx, target(service), "service.create")) {
        uses.push_back("history (" + *since + ")");
    }
    return uses;
}

} // namespace

Change retire(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              std::string_view name) {
    return set_retired(tx, audit, actor, name, audit.now());
}

Change restore(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
               std::string_view name) {
    return set_retired(tx, audit, actor, name, std::nullopt);
}

Change remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const identity::Identity& identity, std::string_view name) {
    const Service service = find(tx, name);
    policy::require(actor, policy::Action::ChangeService, scope_of(service));
    const ServiceSettings before = settings(tx, service);
    if (const std::vector<std::string> uses = uses_of(tx, before); !uses.empty()) {
        throw Error(
            ErrorKind::Conflict,
            fmt::format("service \"{}\" has been used ({}): it is never deleted", service.name,
                        join(uses)),
            fmt::format("retire it instead: nimbus-codes service retire \"{}\"", service.name));
    }
    if (const std::vector<std::string> logins = identity.granted_service(service.name);
        !logins.empty()) {
        throw Error(ErrorKind::Conflict,
                    fmt::format("service \"{}\" is named by the grants of {} in {}", service.name,
                                join(logins), identity.source),
                    "take them out first: a new service of this name would inherit them");
    }
    // The row goes before its record: the store refuses to delete a service
    // with any record since its creation.
    tx.delete_service(service.id);
    if (tx.find_service(names::name_key(service.name))) {
        // Row level security hides a row from a DELETE it does not allow.
        throw Error(ErrorKind::PermissionDenied,
                    fmt::format("the server did not let {} delete service \"{}\"", actor.display(),
                                service.name));
    }
    audit.record("service.delete", target(service), service.ou_id, snapshot(before), nullptr);
    return Change{Outcome::Deleted, before, {}, {}};
}

} // namespace nimbus::services
