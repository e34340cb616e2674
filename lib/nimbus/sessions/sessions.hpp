#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/model.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/records.hpp>

/// Call sessions: import, list, show and the once-only conclusion.
namespace nimbus::sessions {

/// One session as given: every field as text, empty or missing when not given.
struct RawSession {
    std::string id;
    std::string service;
    std::string user;
    std::string direction;
    std::string started_at;
    std::string ended_at;
    std::string outcome;
    std::string caller;
    std::string waiting_seconds;
    std::string talk_seconds;
    /// The context columns ("context.NAME") as (NAME, value), in the file's
    /// order; NAME is empty for a "context" that is not an object.
    std::vector<std::pair<std::string, std::string>> context;
};

using nimbus::format_for_path;
using nimbus::InputFormat;
using nimbus::parse_input_format;

struct ImportOptions {
    InputFormat format = InputFormat::Csv;
    std::string source; ///< the file name, or "<stdin>", for messages
    bool skip_invalid = false;
    std::size_t expected_rows = 0; ///< an estimate, 0 when unknown (stdin)
};

using RowProblem = RecordProblem;
using nimbus::max_reported_problems;

struct ImportReport {
    std::size_t rows = 0;             ///< data rows read
    std::size_t inserted = 0;         ///< new sessions
    std::size_t completed = 0;        ///< active calls whose end was filled in
    std::size_t unchanged = 0;        ///< rows already stored as they are
    std::size_t invalid = 0;          ///< rows rejected
    std::vector<RowProblem> problems; ///< the first max_reported_problems of them
    std::vector<std::string> ignored_columns;
};

struct Progress {
    std::size_t rows = 0;
    std::size_t bytes = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

/// Reads sessions (CSV with a header row, or JSON Lines) from `in`, streaming,
/// and stores them in the caller's transaction. Every row is checked; the
/// report counts and names the invalid ones (a row whose id is stored with
/// other call data is invalid too). When it says invalid > 0 and the import is
/// not skip_invalid, the caller must not commit. A row for a service outside
/// the actor's scope throws PermissionDenied, naming the line.
ImportReport import_sessions(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                             const identity::Identity& identity, std::istream& in,
                             const ImportOptions& options, const ProgressCallback& progress);

/// What storing one session did.
enum class Stored { Inserted, Completed, Unchanged };

struct Added {
    Session session;
    Stored outcome = Stored::Unchanged;
};

/// Adds (or completes) one session under the same rules. Throws InvalidData or
/// Conflict for a bad row.
Added add_session(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                  const identity::Identity& identity, const RawSession& raw);

/// Which sessions `list` shows.
struct ListFilter {
    bool mine = false;
    std::optional<bool> concluded; ///< --concluded (true) or --open (false)
    std::optional<std::string> service;
    std::optional<Timestamp> since;
    /// Only open sessions past their after-call work deadline at this time,
    /// the longest overdue first.
    std::optional<Timestamp> overdue_at;
    std::optional<std::int64_t> limit;
};

/// The sessions the actor may see, newest first: their own, those of the
/// services they own or supervise, and all in an admin's scope.
std::vector<Session> list(store::ReadTransaction& tx, const Actor& actor, const ListFilter& filter);

/// A session with what its service offers to conclude it with.
struct Detail {
    Session session;
    Service service;           ///< the session's
    std::string outcome_group; ///< empty while active
    std::vector<Code> offered_primary;
    std::vector<Code> offered_secondary;
    bool codes_and_tags_enabled = false;
};

/// The session that `reference` names, among those the actor may see (as
/// session list shows them): every command that names a session by id
/// resolves it here. A session id is unique in its service only, so the
/// reference is `ID` or `SERVICE/ID`:
/// - the one visible session whose id is the whole reference;
/// - several such sessions: Usage, listing them as SERVICE/ID;
/// - none, and the reference holds '/': at each '/', the part before it as a
///   service's name (compared as service names are) and the rest as the id;
///   one visible match is that session, several are Usage as above;
/// - none: NotFound, worded alike for a session that does not exist and one
///   the actor may not see, so that nothing outside their reach is told.
/// A reference that is not UTF-8 is InvalidData.
Session resolve(store::ReadTransaction& tx, const Actor& actor, std::string_view reference);

/// How the commands can name each of `sessions` (sessions the actor sees):
/// its plain id, or SERVICE/ID where the actor sees sessions with that id in
/// more than one service. In the order of `sessions`.
std::vector<std::string> references(store::ReadTransaction& tx, const Actor& actor,
                                    const std::vector<Session>& sessions);

/// One session, by reference (see resolve()). Throws NotFound, Usage or InvalidData.
Detail show(store::ReadTransaction& tx, const Actor& actor, std::string_view reference);

/// A session the actor may conclude now, by reference (see resolve()), with
/// what its service offers. Throws what conclude() throws before it looks at
/// codes and tags: NotFound (or Usage, InvalidData: see resolve()),
/// PermissionDenied, Conflict (already concluded) or NotLicensed.
Detail concludable(store::ReadTransaction& tx, const Actor& actor, std::string_view reference);

/// The actor's own sessions that can be concluded now (no conclusion yet, and
/// codes and tags enabled for their service), newest first, at most `limit`.
std::vector<Session> concludable_sessions(store::ReadTransaction& tx, const Actor& actor,
                                          std::int64_t limit);

/// Whether the actor sees a session's system fields (its direction, outcome
/// and outcome group): where its service has session-details on, and always
/// to those who may read the service's sessions (owners, supervisors,
/// admins). Otherwise its own agent sees what picks the session: its id,
/// service, start, end (or that it is active) and caller.
class CallFields {
public:
    CallFields(const Actor& actor, services::Features& features)
        : actor_(actor)
        , features_(features) {}

    bool shown(const Session& session);

private:
    const Actor& actor_;
    services::Features& features_;
    std::map<std::int64_t, bool> shown_; ///< by service id
};

/// What session-details adds to a session: its caller's history in its service.
struct CallHistory {
    /// Sessions with the same caller in the service, started before this one,
    /// among those the actor sees.
    std::int64_t earlier_sessions = 0;
    /// The latest of them that has a conclusion, with its codes and tags.
    std::optional<Session> previous;
};

/// The history of a session's caller (the caller as the call system gives
/// it), where its service has session-details on; nullopt where it does not.
std::optional<CallHistory> history(store::ReadTransaction& tx, const Actor& actor,
                                   services::Features& features, const Session& session);

struct ConcludeRequest {
    std::string session; ///< a reference: ID or SERVICE/ID (see resolve())
    std::vector<std::string> primary;
    std::vector<std::string> secondary;
    std::vector<std::string> tags;
};

/// Concludes a session, once and for all. In order: the session exists among
/// those the actor sees (NotFound; Usage when the reference names several);
/// the actor is its agent, an owner of its service or an admin in scope
/// (PermissionDenied); it has no conclusion yet (Conflict, naming who concluded
/// it and when); its service has codes-and-tags enabled (NotLicensed); at least
/// one code or tag is given (Usage); every code is on the service's list of its
/// type, once (InvalidData, listing the codes allowed); the tags follow the tag
/// rules (InvalidData).
Detail conclude(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                const ConcludeRequest& request);

} // namespace nimbus::sessions
