#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/identity/actor.hpp>
#include <nimbus/sessions/sessions.hpp>
#include <nimbus/store/store.hpp>

/// Help while concluding: the codes this caller's earlier sessions were
/// concluded with and the service's most used codes this month, and the tags
/// the service's sessions carry. Counted only over the sessions the actor may
/// read, so that a suggestion reveals nothing the role table hides. A
/// suggestion is never applied without the agent's choice, and never changes
/// the order of a service's lists.
namespace nimbus::suggestions {

inline constexpr std::size_t codes_per_list = 3; ///< at most, per list
inline constexpr std::size_t tags_offered = 20;
inline constexpr int tag_days = 90; ///< tags used in the last 90 days

/// A code suggested for the session, and why.
struct CodeSuggestion {
    Code code;
    std::int64_t by_caller = 0;  ///< this caller's earlier sessions that carry it
    std::int64_t this_month = 0; ///< sessions of the sample this month that carry it
    std::string reason;          ///< "used for this caller in 2 of 3 earlier sessions"
};

/// A tag used in the service, in its most common spelling.
struct TagSuggestion {
    std::string tag;
    std::int64_t sessions = 0;
};

struct Suggestions {
    /// The suggested codes of each list, most telling first.
    std::vector<CodeSuggestion> primary;
    std::vector<CodeSuggestion> secondary;
    /// Tags of the last tag_days days, most used first.
    std::vector<TagSuggestion> tags;
    /// The counts cover every session of the service, or only the actor's own.
    bool whole_service = false;
};

/// Which suggestions to work out: completion asks for one kind at a time.
struct Wanted {
    bool codes = true;
    bool tags = true;
};

/// The suggestions for concluding `detail`'s session at `now`, counting the
/// sessions that started before it (this month is the calendar month in UTC).
Suggestions suggest(store::ReadTransaction& tx, const Actor& actor, const sessions::Detail& detail,
                    Timestamp now, Wanted wanted = {});

/// The used tag that `tag` differs from only by case, spacing or punctuation,
/// if any ("V.I.P." for "vip"); none for a tag used as it is.
std::optional<std::string> near_miss(const std::vector<TagSuggestion>& used, std::string_view tag);

} // namespace nimbus::suggestions
