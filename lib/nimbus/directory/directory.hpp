#pragma once

#include <cstddef>
#include <istream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/audit/trail.hpp>
#include <nimbus/directory/model.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/model.hpp>
#include <nimbus/store/store.hpp>
#include <nimbus/util/records.hpp>

/// The caller directory: who is calling, from a customer database or CRM's
/// export. Each OU may hold one; a session's caller is looked up in the
/// directory of its service's OU, then in each OU above it, the nearest first.
namespace nimbus::directory {

/// The columns an import reads; any others are kept as attributes.
inline constexpr std::string_view columns_text = "number, name, company, email, notes";

struct ImportOptions {
    InputFormat format = InputFormat::Csv;
    std::string source;                 ///< the file name, for messages
    std::optional<std::string> ou;      ///< the directory's OU; the tenant root when none
    std::optional<std::string> country; ///< of national forms; else the directory's own
};

using Problem = RecordProblem;

/// What an import did, or would have done had no row been rejected.
struct ImportSummary {
    std::string ou_path;
    std::string country;
    std::size_t entries = 0; ///< in the file, and so in the directory afterwards
    std::size_t added = 0;
    std::size_t changed = 0;
    std::size_t removed = 0;
    std::size_t unchanged = 0;
    /// Rejected rows (the first max_reported_problems); when there are any, the caller
    /// must not commit.
    std::vector<Problem> problems;
    std::size_t invalid = 0;
};

/// Replaces an OU's directory with the callers in `in`, whole: entries not in
/// the file are removed. Numbers are read as E.164, national forms in the
/// country of the options or of the directory (InvalidData when a new
/// directory gets none, or it is unknown). A file without callers is refused
/// (InvalidData): emptying a directory is `remove`'s, never an export's that
/// went wrong. Throws PermissionDenied outside the actor's scope.
ImportSummary import(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                     std::istream& in, const ImportOptions& options);

/// The directories the actor may read, by OU path (`ou`: that OU's only).
std::vector<Directory> directories(store::ReadTransaction& tx, const Actor& actor,
                                   const std::optional<std::string>& ou);

/// The entries of the directories the actor may read (`ou`: that OU's only),
/// by OU path and number.
std::vector<DirectoryEntry> entries(store::ReadTransaction& tx, const Actor& actor,
                                    const std::optional<std::string>& ou);

/// The entries for `number`, however written, in the directories the actor
/// may read (`ou`: that OU's only). Throws NotFound when there are none, and
/// InvalidData when `number` is no phone number.
std::vector<DirectoryEntry> find(store::ReadTransaction& tx, const Actor& actor,
                                 std::string_view number, const std::optional<std::string>& ou);

/// What remove() did.
struct RemoveSummary {
    std::string ou_path;
    std::vector<std::string> removed; ///< numbers, E.164
    bool directory_removed = false;   ///< `all`: the directory itself is gone
};

/// Removes callers from an OU's directory (the tenant root's when `ou` is
/// none), or with `all` the directory itself. Every number must be in it
/// (NotFound otherwise, and nothing is removed).
RemoveSummary remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                     const std::optional<std::string>& ou, const std::vector<std::string>& numbers,
                     bool all);

/// Reads each of `callers` (as sessions keep them) as a phone number in each
/// of `countries`, and stores the readings the store lacks: the store matches
/// sessions to directory entries by them.
void store_caller_numbers(store::WriteTransaction& tx, std::vector<std::string> callers,
                          const std::vector<std::string>& countries);

/// Stores the readings in `country` of the callers of every session one may
/// read that has none there yet: for a directory imported after its sessions.
void store_missing_caller_numbers(store::WriteTransaction& tx, const std::string& country);

/// Who is calling, for sessions being shown: only where the session's
/// service has caller-information enabled.
class Callers {
public:
    /// Shows no caller.
    Callers() = default;
    /// Looks up the callers of `sessions` in one query.
    Callers(store::ReadTransaction& tx, services::Features& features,
            const std::vector<Session>& sessions);

    /// Whether caller-information is enabled for the session's service: when
    /// not, nothing from the directory may be shown for it.
    bool shown(const Session& session) const;
    /// The session's caller in the nearest directory that knows them; none
    /// when unknown or not shown.
    const DirectoryEntry* find(const Session& session) const;
    /// Whether a directory serves the session's service (its OU's, or one
    /// above it): when none does, an unknown caller is no news.
    bool served(const Session& session) const { return served_.contains(session.id); }

private:
    std::map<std::int64_t, bool> shown_; ///< by service id
    std::set<std::int64_t> served_;      ///< session ids
    /// Per session id, the entry found.
    std::map<std::int64_t, DirectoryEntry> found_;
};

} // namespace nimbus::directory
