#include <nimbus/services/model.hpp>

#include <algorithm>

namespace nimbus {
namespace {

constexpr License licenses[] = {License::BasicRouting, License::AdvancedRouting,
                                License::EnterpriseRouting, License::ContactCenter};

constexpr std::string_view license_names[] = {"basic-routing", "advanced-routing",
                                              "enterprise-routing", "contact-center"};

// clang-format off
constexpr Feature feature_table[] = {
    {"codes-and-tags",       "Agents conclude their sessions with codes and tags", true},
    {"caller-information",   "Agents see who is calling",                          false},
    {"conversation-context", "Agents see the context the caller gave",             true},
    {"session-details",      "Agents see the details of each session",             false},
};
// clang-format on

} // namespace

std::string_view to_string(License license) {
    return license_names[static_cast<std::size_t>(license)];
}

std::optional<License> parse_license(std::string_view text) {
    for (const License license : licenses) {
        if (to_string(license) == text) {
            return license;
        }
    }
    return std::nullopt;
}

std::span<const License> all_licenses() {
    return licenses;
}

std::span<const Feature> features() {
    return feature_table;
}

const Feature* find_feature(std::string_view name) {
    for (const Feature& feature : feature_table) {
        if (feature.name == name) {
            return &feature;
        }
    }
    return nullptr;
}

bool allows(License license, const Feature& feature) {
    return !feature.needs_premium_license || license == License::EnterpriseRouting ||
           license == License::ContactCenter;
}

std::vector<License> licenses_allowing(const Feature& feature) {
    std::vector<License> allowed;
    for (const License license : licenses) {
        if (allows(license, feature)) {
            allowed.push_back(license);
        }
    }
    return allowed;
}

std::string licenses_allowing_text(const Feature& feature) {
    const std::vector<License> allowed = licenses_allowing(feature);
    std::string text;
    for (std::size_t i = 0; i < allowed.size(); ++i) {
        text += i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ";
        text += to_string(allowed[i]);
    }
    return text;
}

bool ServiceSettings::is_enabled(std::string_view feature) const {
    return std::find(enabled.begin(), enabled.end(), feature) != enabled.end();
}

} // namespace nimbus
