#include <nimbus/identity/actor.hpp>

#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>

namespace nimbus {
namespace {

std::vector<ServiceGrant> service_grants(const std::vector<std::string>& services) {
    std::vector<ServiceGrant> grants;
    grants.reserve(services.size());
    for (const std::string& service : services) {
        grants.push_back(ServiceGrant{service, names::name_key(service), {}});
    }
    return grants;
}

} // namespace

std::string Actor::display() const {
    return acting_as_other() ? fmt::format("{} via {}", user->login, login) : user->login;
}

std::optional<std::string> Actor::via() const {
    return acting_as_other() ? std::optional<std::string>(login) : std::nullopt;
}

Grants grants_of(const identity::User& user) {
    Grants grants;
    grants.tenant_admin = user.tenant_admin;
    for (const std::string& path : user.ou_admin) {
        grants.ou_admin_keys.push_back(names::name_key(path));
    }
    grants.owner = service_grants(user.owner);
    grants.supervisor = service_grants(user.supervisor);
    grants.member = service_grants(user.member);
    return grants;
}

Actor resolve_actor(const identity::Identity& identity, std::string_view os_login,
                    std::optional<std::string_view> act_as) {
    const identity::User* self = identity.find(os_login);
    if (self == nullptr && identity.stored) {
        throw Error(ErrorKind::PermissionDenied,
                    fmt::format("database role \"{}\" is not listed in the roster of store {}",
                                os_login, identity.source),
                    fmt::format("ask a tenant admin to add a [users.{}] table and push the "
                                "identity file with 'nimbus-codes identity push'",
                                os_login));
    }
    if (self == nullptr) {
        throw Error(ErrorKind::PermissionDenied,
                    fmt::format("OS account \"{}\" is not listed in identity file {}", os_login,
                                identity.source),
                    fmt::format("ask a tenant admin to add a [users.{}] table", os_login));
    }
    const identity::User* user = self;
    if (act_as) {
        policy::require_act_as(Actor{std::string(os_login), self, grants_of(*self)});
        user = identity.find(*act_as);
        if (user == nullptr) {
            throw Error(ErrorKind::NotFound,
                        fmt::format("user \"{}\" is not listed in {} {}", *act_as,
                                    identity.stored ? "the roster of store" : "identity file",
                                    identity.source));
        }
    }
    return Actor{std::string(os_login), user, grants_of(*user)};
}

} // namespace nimbus
