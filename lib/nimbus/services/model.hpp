#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/catalogue/model.hpp>
#include <nimbus/util/time.hpp>

namespace nimbus {

/// The routing licenses a service can have, cheapest first.
enum class License { BasicRouting, AdvancedRouting, EnterpriseRouting, ContactCenter };

std::string_view to_string(License license);
std::optional<License> parse_license(std::string_view text);
/// Every license, cheapest first.
std::span<const License> all_licenses();

/// A per-service My Sessions feature. The table of features is in model.cpp:
/// adding one is adding one line there.
struct Feature {
    std::string_view name;
    std::string_view description;
    bool needs_premium_license; ///< only with enterprise-routing or contact-center
};

std::span<const Feature> features();
const Feature* find_feature(std::string_view name);
bool allows(License license, const Feature& feature);
/// The licenses under which `feature` may be enabled.
std::vector<License> licenses_allowing(const Feature& feature);
/// The same as text: "enterprise-routing or contact-center".
std::string licenses_allowing_text(const Feature& feature);

/// A routing service (a hotline, a queue) in an OU.
struct Service {
    std::int64_t id = 0;
    std::string name;
    std::int64_t ou_id = 0;
    std::string ou_path;
    License license = License::BasicRouting;
    Timestamp created_at{};
    /// Set while retired: it takes no new sessions and offers nothing, but
    /// stays in reports (see services::retire).
    std::optional<Timestamp> retired_at;

    bool retired() const { return retired_at.has_value(); }
};

/// After-call work: a service's sessions are to be concluded within
/// `deadline` of the call's end; `session sweep` concludes those left open
/// with the default codes (docs/sessions.md, "After-call work").
struct WrapUp {
    std::chrono::seconds deadline{};
    Code default_primary;
    std::optional<Code> default_secondary;
    Timestamp effective_from{}; ///< calls that ended earlier are never swept
};

/// A service with its settings: the ordered code lists, the enabled features
/// and its after-call work policy.
struct ServiceSettings {
    Service service;
    std::vector<Code> primary;
    std::vector<Code> secondary;
    std::vector<std::string> enabled; ///< feature names, in the feature table's order
    std::optional<WrapUp> wrap_up;

    const std::vector<Code>& list(CodeType type) const {
        return type == CodeType::Primary ? primary : secondary;
    }
    bool is_enabled(std::string_view feature) const;
};

} // namespace nimbus
