#include <nimbus/services/extensions.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>

namespace nimbus::services {
namespace {

std::string known_features() {
    std::string text;
    for (const Feature& feature : features()) {
        text += (text.empty() ? "" : ", ") + std::string(feature.name);
    }
    return text;
}

nlohmann::ordered_json extensions_snapshot(const ServiceSettings& settings) {
    return {{"extensions", settings.enabled}};
}

} // namespace

Change set_features(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                    std::string_view name, const std::vector<std::string>& wanted, bool enable) {
    if (wanted.empty()) {
        throw Error(ErrorKind::Usage, "no feature given", "name one of: " + known_features());
    }
    for (const std::string& feature : wanted) {
        if (find_feature(feature) == nullptr) {
            throw Error(ErrorKind::InvalidData, fmt::format("unknown feature \"{}\"", feature),
                        "features are: " + known_features());
        }
    }
    const Service service = find(tx, name);
    policy::require(actor, policy::Action::ConfigureService, scope_of(service));
    require_active(service);
    if (enable) {
        for (const std::string& feature : wanted) {
            const Feature& known = *find_feature(feature);
            if (!allows(service.license, known)) {
                throw Error(ErrorKind::NotLicensed,
                            fmt::format("feature \"{}\" needs an {} license; service \"{}\" has {}",
                                        feature, licenses_allowing_text(known), service.name,
                                        to_string(service.license)),
                            fmt::format("change the license first: nimbus-codes service edit "
                                        "\"{}\" --license contact-center",
                                        service.name));
            }
        }
    }
    const ServiceSettings before = settings(tx, service);
    bool changed = false;
    for (const std::string& feature : wanted) {
        if (before.is_enabled(feature) != enable) {
            tx.set_feature(service.id, feature, enable);
            changed = true;
        }
    }
    if (!changed) {
        return Change{Outcome::Unchanged, before, {}, {}};
    }
    Change change{Outcome::Updated, settings(tx, service), {}, {}};
    audit.record("service.extensions", "service " + service.name, service.ou_id,
                 extensions_snapshot(before), extensions_snapshot(change.settings));
    return change;
}

} // namespace nimbus::services
