#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/sessions/model.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/time.hpp>

/// After-call work: the sessions left open past their service's wrap-up
/// deadline, and the sweep that concludes them with the service's default
/// codes (docs/sessions.md, "After-call work").
namespace nimbus::sessions {

/// Sessions' after-call work deadlines, each service's policy read once.
class Deadlines {
public:
    explicit Deadlines(store::ReadTransaction& tx)
        : tx_(tx) {}

    /// The policy of the session's service; none without one.
    const std::optional<WrapUp>& policy(const Session& session);
    /// The call's end plus its service's deadline; none while the call is
    /// active, or where the service has no policy.
    std::optional<Timestamp> deadline(const Session& session);

private:
    store::ReadTransaction& tx_;
    std::map<std::int64_t, std::optional<WrapUp>> policies_; ///< by service id
};

struct SweepOptions {
    std::optional<std::string> service; ///< only this service's sessions
    std::size_t limit = 1000;           ///< at most this many: a sweep's batch
    /// Only sessions whose store id is greater, in id order (the next batch
    /// of a sweep); else the longest overdue first.
    std::optional<std::int64_t> after_id;
};

/// The open sessions past their deadline at `now`, in the services whose
/// sessions the actor may sweep (the sweep-sessions rule; PermissionDenied
/// for a named service outside it), the longest overdue first: each call
/// that ended since its service's policy began, in a service with
/// codes-and-tags on, whose end plus the deadline is at or before `now`.
std::vector<Session> overdue(store::ReadTransaction& tx, const Actor& actor,
                             const SweepOptions& options, Timestamp now);

/// What sweep() would do at `now`: the overdue sessions, each with the
/// conclusion it would get. Nothing is written.
std::vector<Session> plan_sweep(store::ReadTransaction& tx, const Actor& actor,
                                const SweepOptions& options, Timestamp now);

/// Concludes what overdue() gives, at the audit trail's time: each session in
/// its agent's name, by the actor (named as via), with its service's default
/// codes and no tags, marked as concluded by default with the deadline that
/// had passed. One audit record per service. Sessions concluded meanwhile by
/// anyone are not among them: the store holds one conclusion per session.
/// Gives the sessions as concluded.
std::vector<Session> sweep(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                           const SweepOptions& options);

} // namespace nimbus::sessions
