#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/context/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/model.hpp>
#include <nimbus/store/store.hpp>

/// Conversation context: the fields an OU defines for the services of its
/// subtree, and the values a session carries (docs/sessions.md).
namespace nimbus::context {

inline constexpr std::size_t max_value_length = 500;  ///< code points, as the store checks
inline constexpr std::size_t max_choice_length = 100; ///< code points

/// The fields the sessions of a service in `ou_path` carry: those defined at
/// that OU or above it, in `all`'s order.
std::vector<ContextField> fields_for(const std::vector<ContextField>& all,
                                     std::string_view ou_path);

/// The field named `name` (any case) among `fields`, or none.
const ContextField* find_field(const std::vector<ContextField>& fields, std::string_view name);

/// A value as the store keeps it (trimmed; a choice in its defined spelling),
/// or why it does not fit its field.
struct CheckedValue {
    std::string value;
    std::string problem; ///< empty when the value fits
};
CheckedValue check_value(const ContextField& field, std::string_view raw);

/// A session's values with their fields' names, in the fields' order.
std::vector<std::pair<std::string, std::string>>
named_values(const std::vector<ContextField>& fields, const std::vector<ContextValue>& values);

/// The context that sessions show: their values, read once for them all,
/// for the sessions whose service has conversation-context enabled.
class Shown {
public:
    Shown() = default; ///< shows nothing
    Shown(store::ReadTransaction& tx, services::Features& features,
          const std::vector<Session>& sessions);

    /// True when the session's service shows its context.
    bool shown(const Session& session) const;
    /// The session's values with their fields' names; none where not shown.
    std::vector<std::pair<std::string, std::string>> values(const Session& session) const;
    /// True when any of `sessions` shows its context.
    bool any_shown(const std::vector<Session>& sessions) const;

private:
    std::vector<ContextField> fields_;
    std::map<std::int64_t, bool> shown_services_;              ///< by service id
    std::map<std::int64_t, std::vector<ContextValue>> values_; ///< by session id
};

/// A field as configuration defines it.
struct Draft {
    std::string name;
    std::string ou_path;
    ContextType type = ContextType::Text;
    std::vector<std::string> choices;
    std::string description;
};

/// What define() did: nothing, created the field, or changed it (`detail`
/// says how, for `config plan`).
struct Change {
    ContextField field;
    char sign = ' '; ///< ' ' unchanged, '+' created, '~' changed
    std::string detail;
};

/// Creates the field at its OU, or changes its spelling, type, choices or
/// description to the draft's, audited. A name that an OU above or below
/// already defines is refused (a service would see two), as is a new type
/// for a field that sessions carry values of. Needs define-context at the OU.
Change define(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Draft& draft);

/// Removes a field that no session carries a value of, audited.
void remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
            const ContextField& field);

} // namespace nimbus::context
