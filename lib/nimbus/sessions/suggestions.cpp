#include <nimbus/sessions/suggestions.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>

#include <fmt/format.h>

#include <nimbus/identity/policy.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::suggestions {
namespace {

Timestamp month_start(Timestamp now) {
    const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(now)};
    return Timestamp{std::chrono::sys_days{day.year() / day.month() / 1}};
}

/// What the counts cover, for the reasons: "40 concluded sessions of
/// Hotline" or "your 5 concluded sessions in Hotline".
struct Sample {
    bool whole_service = false;
    std::string service;

    /// "N concluded session(s) <rest>", or "your N ..." for the actor's own.
    std::string of(std::int64_t sessions, std::string_view rest) const {
        return fmt::format("{}{} concluded session{} {}", whole_service ? "" : "your ", sessions,
                           sessions == 1 ? "" : "s", rest);
    }
    std::string in_service() const { return (whole_service ? "of " : "in ") + service; }
};

/// The codes of one list that the counts suggest, most telling first: those
/// used for this caller (by how often), then those used this month; ties in
/// the list's order.
std::vector<CodeSuggestion> rank(const std::vector<Code>& offered,
                                 const std::map<std::int64_t, std::int64_t>& by_caller,
                                 std::int64_t caller_sessions,
                                 const std::map<std::int64_t, std::int64_t>& this_month,
                                 std::int64_t month_sessions, const Sample& sample) {
    std::vector<CodeSuggestion> ranked;
    for (const Code& code : offered) {
        CodeSuggestion suggestion{code, 0, 0, {}};
        if (const auto found = by_caller.find(code.id); found != by_caller.end()) {
            suggestion.by_caller = found->second;
        }
        if (const auto found = this_month.find(code.id); found != this_month.end()) {
            suggestion.this_month = found->second;
        }
        if (suggestion.by_caller > 0) {
            suggestion.reason = fmt::format("used in {} of {}", suggestion.by_caller,
                                            sample.of(caller_sessions, "with this caller"));
        } else if (suggestion.this_month > 0) {
            suggestion.reason = fmt::format("used in {} of {} this month", suggestion.this_month,
                                            sample.of(month_sessions, sample.in_service()));
        } else {
            continue;
        }
        ranked.push_back(std::move(suggestion));
    }
    // Stable: equal counts keep the list's order.
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        if ((a.by_caller > 0) != (b.by_caller > 0)) {
            return a.by_caller > 0;
        }
        // Ranked by the caller's counts, or else by this month's; never both.
        return a.by_caller > 0 ? a.by_caller > b.by_caller : a.this_month > b.this_month;
    });
    if (ranked.size() > codes_per_list) {
        ranked.resize(codes_per_list);
    }
    return ranked;
}

std::map<std::int64_t, std::int64_t> by_code(const std::vector<store::ItemCount>& counts) {
    std::map<std::int64_t, std::int64_t> map;
    for (const store::ItemCount& count : counts) {
        map[count.code_id] += count.sessions;
    }
    return map;
}

/// A tag without case, white space or punctuation: what near_miss compares.
std::string squashed(std::string_view tag) {
    std::string squashed;
    for (const char c : text::fold_case(tag)) {
        const auto byte = static_cast<unsigned char>(c);
        // Non-ASCII bytes are kept: letters of other scripts are never punctuation here.
        if (byte >= 0x80 || (std::isalnum(byte) != 0)) {
            squashed += c;
        }
    }
    return squashed;
}

} // namespace

Suggestions suggest(store::ReadTransaction& tx, const Actor& actor, const sessions::Detail& detail,
                    Timestamp now, Wanted wanted) {
    const Session& session = detail.session;
    Suggestions suggestions;
    store::UsageSample sample;
    sample.service_id = session.service_id;
    sample.except_session = session.id;
    sample.before = now;
    // The service's sessions where the actor may read them all; else their own.
    suggestions.whole_service = policy::permits(
        actor, policy::Action::ReadSessions,
        policy::Scope::session({}, services::scope_of(detail.service), std::string{}));
    if (!suggestions.whole_service) {
        sample.user = actor.user->login;
    }
    const Sample sample_name{suggestions.whole_service, detail.service.name};

    if (wanted.codes) {
        std::map<std::int64_t, std::int64_t> by_caller;
        std::int64_t caller_sessions = 0;
        if (const std::string_view caller = text::trim(session.caller); !caller.empty()) {
            store::UsageSample same_caller = sample;
            same_caller.caller = session.caller;
            caller_sessions = tx.concluded_sessions(same_caller);
            if (caller_sessions > 0) {
                by_caller = by_code(tx.code_counts(same_caller));
            }
        }
        store::UsageSample month = sample;
        month.since = month_start(now);
        const std::int64_t month_sessions = tx.concluded_sessions(month);
        std::map<std::int64_t, std::int64_t> this_month;
        if (month_sessions > 0) {
            this_month = by_code(tx.code_counts(month));
        }
        suggestions.primary = rank(detail.offered_primary, by_caller, caller_sessions, this_month,
                                   month_sessions, sample_name);
        suggestions.secondary = rank(detail.offered_secondary, by_caller, caller_sessions,
                                     this_month, month_sessions, sample_name);
    }
    if (!wanted.tags) {
        return suggestions;
    }
    store::UsageSample recent = sample;
    recent.since = now - std::chrono::days{tag_days};
    // Per tag (by key): its sessions, and its most common spelling.
    struct Tally {
        std::int64_t sessions = 0;
        std::string spelling;
        std::int64_t spelling_sessions = 0;
    };
    std::map<std::string, Tally> tallies;
    for (const store::ItemCount& count : tx.tag_counts(recent)) {
        Tally& tally = tallies[count.tag_key];
        tally.sessions += count.sessions;
        if (count.sessions > tally.spelling_sessions ||
            (count.sessions == tally.spelling_sessions && count.tag < tally.spelling)) {
            tally.spelling = count.tag;
            tally.spelling_sessions = count.sessions;
        }
    }
    for (const auto& [key, tally] : tallies) {
        suggestions.tags.push_back(TagSuggestion{tally.spelling, tally.sessions});
    }
    std::stable_sort(suggestions.tags.begin(), suggestions.tags.end(),
                     [](const auto& a, const auto& b) { return a.sessions > b.sessions; });
    if (suggestions.tags.size() > tags_offered) {
        suggestions.tags.resize(tags_offered);
    }
    return suggestions;
}

std::optional<std::string> near_miss(const std::vector<TagSuggestion>& used, std::string_view tag) {
    const std::string key = squashed(tag);
    if (key.empty()) {
        return std::nullopt;
    }
    for (const TagSuggestion& suggestion : used) {
        if (suggestion.tag == tag) {
            return std::nullopt; // used as it is
        }
    }
    for (const TagSuggestion& suggestion : used) {
        if (squashed(suggestion.tag) == key) {
            return suggestion.tag;
        }
    }
    return std::nullopt;
}

} // namespace nimbus::suggestions
