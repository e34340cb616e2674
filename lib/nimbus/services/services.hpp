#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/store/store.hpp>

/// Services and their settings. Code lists are in code_lists.hpp, My Sessions
/// extensions in extensions.hpp.
namespace nimbus::services {

/// The service named `name`, case-insensitively. Throws NotFound.
Service find(store::ReadTransaction& tx, std::string_view name);

/// A service with its ordered code lists and enabled features.
ServiceSettings settings(store::ReadTransaction& tx, const Service& service);

/// What the role table checks a service action against.
policy::Scope scope_of(const Service& service);

/// Fills in the OU of every service named in `grants`, so that owners may
/// change codes at their services' OUs. Services not in the store stay unlocated.
void locate_grants(Grants& grants, store::ReadTransaction& tx);

/// Which My Sessions features services have on, each service read once: the
/// commands that show sessions ask for several features of the same services.
class Features {
public:
    explicit Features(store::ReadTransaction& tx)
        : tx_(tx) {}

    bool enabled(std::int64_t service_id, std::string_view feature);

private:
    store::ReadTransaction& tx_;
    std::map<std::int64_t, std::vector<std::string>> enabled_; ///< by service id
};

/// The audit record's view of a service's settings.
nlohmann::ordered_json snapshot(const ServiceSettings& settings);

struct Draft {
    std::string name;
    std::string ou_path;
    License license = License::BasicRouting;
};

struct Edit {
    std::optional<std::string> name;
    std::optional<License> license;
    bool disable_unlicensed = false; ///< switch off features the new license does not allow
};

enum class Outcome { Created, Updated, Unchanged, Deleted };

/// What a service command did, and the service's settings afterwards.
struct Change {
    Outcome outcome = Outcome::Unchanged;
    ServiceSettings settings;
    std::vector<std::string> notes;    ///< side effects worth telling the user
    std::vector<std::string> warnings; ///< done, but likely not what the user wants
};

/// Creates a service. The same name with the same OU and license: Unchanged;
/// with another OU or license: Conflict. A name that looks like another
/// service's (names::look_alike): InvalidData.
Change create(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Draft& draft);

/// The shortest and longest after-call work deadlines (one minute, 366 days).
inline constexpr std::chrono::seconds min_wrap_up_deadline{60};
inline constexpr std::chrono::seconds max_wrap_up_deadline{366 * 86'400};

/// A change of a service's after-call work policy: what is given changes.
struct WrapUpEdit {
    std::optional<std::chrono::seconds> deadline;
    std::optional<std::string> default_primary;   ///< a code: a name, or id:N
    std::optional<std::string> default_secondary; ///< empty: none
    bool remove = false;                          ///< the policy goes
};

/// Sets, changes or removes a service's after-call work policy (the
/// configure-service rule). A new policy needs a deadline and a default
/// primary code (Usage), and starts now: calls that ended earlier are never
/// swept. The default codes must be on the service's lists (InvalidData).
Change set_wrap_up(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                   std::string_view name, const WrapUpEdit& edit);

/// Throws InvalidData when lists that are about to replace a service's would
/// lose a default code of its after-call work policy.
void require_defaults_listed(const ServiceSettings& settings, const std::vector<Code>& primary,
                             const std::vector<Code>& secondary);

/// Throws Conflict when a service is retired: its settings no longer change
/// until it is restored.
void require_active(const Service& service);

/// Retires a service (the change-service rule): it takes no new sessions, is
/// listed only on request, and its settings stay as they are until it is
/// restored. Its sessions stay in every report and can still be concluded.
Change retire(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              std::string_view name);

/// Restores a retired service. Its OU must not be retired (Conflict).
Change restore(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
               std::string_view name);

/// Deletes a service that was never used: no sessions, no settings, and no
/// history but its creation; otherwise Conflict, which says to retire it.
/// The change's settings are the service's before it went.
/// A service that `identity` grants roles on is not deleted either (Conflict):
/// a new service of its name would inherit them.
Change remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const identity::Identity& identity, std::string_view name);

/// Renames a service or changes its license. A license that does not allow an
/// enabled feature is refused (NotLicensed) unless `disable_unlicensed` is set.
Change edit(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
            std::string_view name, const Edit& edit);

} // namespace nimbus::services
