#include <nimbus/catalogue/lint.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <iterator>
#include <numeric>
#include <set>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::lint {
namespace {

constexpr std::string_view near_duplicate = "near-duplicate";
constexpr std::string_view unlisted_code = "unlisted-code";
constexpr std::string_view unused_code = "unused-code";
constexpr std::string_view long_list = "long-list";
constexpr std::string_view empty_list = "empty-list";
constexpr std::string_view no_description = "no-description";
constexpr std::string_view unlicensed_lists = "unlicensed-lists";

// clang-format off
constexpr Rule table[] = {
    {near_duplicate,   "codes of one type that one service can see, whose names differ only in case, accents, spacing or punctuation, or by one or two letters"},
    {unlisted_code,    "codes on no service's list"},
    {unused_code,      "codes on a service's list that none of its conclusions carried for N months (--unused-months, default 6)"},
    {long_list,        "services offering more than N primary codes (--max-primary, default 12)"},
    {empty_list,       "services with codes-and-tags on but an empty primary list"},
    {no_description,   "codes without a description"},
    {unlicensed_lists, "services whose license does not allow codes-and-tags but whose lists hold codes"},
};
// clang-format on

constexpr int max_unused_months = 120;
constexpr int max_list_limit = 1000;
constexpr std::size_t services_named = 3; ///< a near-duplicate names this many services

Object object_of(const Code& code) {
    return Object{"code", code.id, code.name, std::string(to_string(code.type)), code.ou_path};
}

Object object_of(const Service& service) {
    return Object{"service", service.id, service.name, {}, service.ou_path};
}

std::string describe(const Code& code) {
    return fmt::format("{} code \"{}\" (id:{})", to_string(code.type), code.name, code.id);
}

/// A name as a shell takes it in a fix hint.
std::string shell_quoted(std::string_view name) {
    std::string result = "\"";
    for (const char c : name) {
        if (c == '"' || c == '\\' || c == '$' || c == '`') {
            result += '\\';
        }
        result += c;
    }
    return result + "\"";
}

std::string ou_key_of(const std::string& ou_path) {
    return names::name_key(ou_path);
}

/// True when a service at `ou_key` may offer a code defined at `code_ou_key`.
bool usable_at(const std::string& code_ou_key, const std::string& ou_key) {
    return names::ou_within(ou_key, code_ou_key);
}

/// The start of the unused-code window: `months` calendar months before
/// `now` (UTC), on the month's last day when it is shorter.
Timestamp months_before(Timestamp now, int months) {
    using namespace std::chrono;
    const sys_days day = floor<days>(now);
    year_month_day date{day};
    date -= std::chrono::months{months};
    if (!date.ok()) {
        date = date.year() / date.month() / last;
    }
    return sys_days{date} + (now - day);
}

/// What the options select, read once.
class Selection {
public:
    Selection(store::ReadTransaction& tx, const Options& options) {
        if (options.ou) {
            const Ou ou = ous::find(tx, *options.ou);
            within_ = ou.path_key;
            within_path_ = ou.path;
        }
        if (options.service) {
            only_service_ = services::find(tx, *options.service);
            if (!in_ou(only_service_->ou_path)) {
                throw Error(ErrorKind::Usage, fmt::format("service \"{}\" is not in OU \"{}\"",
                                                          only_service_->name, within_path_));
            }
            if (only_service_->retired()) {
                throw Error(ErrorKind::Conflict,
                            fmt::format("service \"{}\" is retired: it offers nothing to lint",
                                        only_service_->name),
                            fmt::format("restore it first: nimbus-codes service restore \"{}\"",
                                        only_service_->name));
            }
        }
        // Retired OUs and services offer nothing: their codes and lists are
        // out of use until they are restored.
        std::set<std::int64_t> retired_ous;
        for (const Ou& ou : tx.ous()) {
            if (ou.retired()) {
                retired_ous.insert(ou.id);
            }
        }
        for (Code& code : tx.codes(store::CodeFilter{})) {
            if (!retired_ous.contains(code.ou_id)) {
                codes_.push_back(std::move(code));
            }
        }
        std::sort(codes_.begin(), codes_.end(), [](const Code& a, const Code& b) {
            return std::tuple(a.type, names::name_key(a.name), a.ou_path) <
                   std::tuple(b.type, names::name_key(b.name), b.ou_path);
        });
        for (const Service& service : tx.services()) {
            ServiceSettings settings = services::settings(tx, service);
            // A retired service's lists keep their codes for its restoring.
            for (const CodeType type : {CodeType::Primary, CodeType::Secondary}) {
                for (const Code& code : settings.list(type)) {
                    listed_.insert(code.id);
                }
            }
            if (!service.retired()) {
                all_services_.push_back(std::move(settings));
            }
        }
    }

    const std::vector<Code>& codes() const { return codes_; }
    const std::vector<ServiceSettings>& all_services() const { return all_services_; }
    bool listed(std::int64_t code_id) const { return listed_.contains(code_id); }
    bool one_service() const { return only_service_.has_value(); }

    bool selects(const Service& service) const {
        return only_service_ ? service.id == only_service_->id : in_ou(service.ou_path);
    }

    /// Whether the code's own findings (no list, no description) are wanted.
    bool selects(const Code& code) const {
        if (only_service_) {
            const ServiceSettings& settings = *find_settings(only_service_->id);
            const auto& list = settings.list(code.type);
            return std::any_of(list.begin(), list.end(),
                               [&](const Code& listed) { return listed.id == code.id; });
        }
        return in_ou(code.ou_path);
    }

    /// Whether a near-duplicate pair is wanted: one service in the selection
    /// could see both codes, or, without --service, one of them is in the OU.
    bool selects_pair(const Code& a, const Code& b) const {
        if (only_service_) {
            const std::string service_ou = ou_key_of(only_service_->ou_path);
            return usable_at(ou_key_of(a.ou_path), service_ou) &&
                   usable_at(ou_key_of(b.ou_path), service_ou);
        }
        return in_ou(a.ou_path) || in_ou(b.ou_path);
    }

    const ServiceSettings* find_settings(std::int64_t service_id) const {
        for (const ServiceSettings& settings : all_services_) {
            if (settings.service.id == service_id) {
                return &settings;
            }
        }
        return nullptr;
    }

private:
    bool in_ou(const std::string& ou_path) const {
        return within_.empty() || names::ou_within(ou_key_of(ou_path), within_);
    }

    std::string within_; ///< the --ou key; empty for the whole tenant
    std::string within_path_;
    std::optional<Service> only_service_;
    std::vector<Code> codes_; ///< live codes, by type and name
    std::vector<ServiceSettings> all_services_;
    std::set<std::int64_t> listed_; ///< codes on any service's list
};

/// A code's name as the near-duplicate rule compares it.
struct Keyed {
    const Code* code;
    std::string ou_key;
    std::u32string key;                     ///< text::loose_key()
    std::u32string digits;                  ///< its numbers: names that differ in them are a series
    std::array<std::uint8_t, 32> letters{}; ///< how often each letter occurs, hashed in 32

    Keyed(const Code& c, std::string ou)
        : code(&c)
        , ou_key(std::move(ou))
        , key(text::loose_key(c.name)) {
        for (const char32_t letter : key) {
            if (letter >= U'0' && letter <= U'9') {
                digits.push_back(letter);
            }
            ++letters[letter % letters.size()];
        }
    }
};

/// The most letters two names may differ by and still be near-duplicates:
/// short names differ by a letter from many others ("Bug", "Bag").
std::size_t letter_limit(std::size_t shorter) {
    return shorter >= 8 ? 2 : shorter >= 4 ? 1 : 0;
}

/// How two names differ, when they are near-duplicates; empty when not.
std::string near_difference(const Keyed& a, const Keyed& b) {
    if (a.key.empty() || b.key.empty()) {
        return {}; // names of punctuation alone: nothing to compare
    }
    if (a.key == b.key) {
        return "differ only in case, accents, spacing or punctuation";
    }
    const std::size_t limit = letter_limit(std::min(a.key.size(), b.key.size()));
    if (limit == 0 || a.digits != b.digits) {
        return {};
    }
    // Each edit changes the count of at most two letters by one: a cheap
    // bound before the edit distance.
    std::size_t counts_apart = 0;
    for (std::size_t i = 0; i < a.letters.size(); ++i) {
        counts_apart +=
            a.letters[i] > b.letters[i] ? a.letters[i] - b.letters[i] : b.letters[i] - a.letters[i];
    }
    if (counts_apart > 2 * limit) {
        return {};
    }
    const std::size_t distance = text::edit_distance(a.key, b.key, limit);
    if (distance > limit) {
        return {};
    }
    return distance == 1 ? "differ by one letter" : "differ by two letters";
}

/// The pairs of codes (by index, the smaller first) whose names are
/// near-duplicates, in order, with how they differ: only codes of one type
/// with keys at most two letters apart in length are compared.
std::vector<std::tuple<std::size_t, std::size_t, std::string>>
near_pairs(const std::vector<Keyed>& keyed) {
    std::vector<std::size_t> by_length(keyed.size());
    std::iota(by_length.begin(), by_length.end(), std::size_t{0});
    std::sort(by_length.begin(), by_length.end(), [&](std::size_t a, std::size_t b) {
        return std::tuple(keyed[a].code->type, keyed[a].key.size(), a) <
               std::tuple(keyed[b].code->type, keyed[b].key.size(), b);
    });
    std::vector<std::tuple<std::size_t, std::size_t, std::string>> pairs;
    for (std::size_t x = 0; x < by_length.size(); ++x) {
        const Keyed& a = keyed[by_length[x]];
        for (std::size_t y = x + 1; y < by_length.size(); ++y) {
            const Keyed& b = keyed[by_length[y]];
            if (b.code->type != a.code->type || b.key.size() > a.key.size() + 2) {
                break;
            }
            if (std::string difference = near_difference(a, b); !difference.empty()) {
                pairs.emplace_back(std::min(by_length[x], by_length[y]),
                                   std::max(by_length[x], by_length[y]), std::move(difference));
            }
        }
    }
    std::sort(pairs.begin(), pairs.end());
    return pairs;
}

void find_near_duplicates(const Selection& selection, std::vector<Finding>& findings) {
    std::vector<Keyed> keyed;
    keyed.reserve(selection.codes().size());
    for (const Code& code : selection.codes()) {
        keyed.emplace_back(code, ou_key_of(code.ou_path));
    }
    for (const auto& [i, j, difference] : near_pairs(keyed)) {
        const Keyed& a = keyed[i];
        const Keyed& b = keyed[j];
        const bool one_path = usable_at(a.ou_key, b.ou_key) || usable_at(b.ou_key, a.ou_key);
        if (!one_path || !selection.selects_pair(*a.code, *b.code)) {
            continue;
        }
        std::vector<std::string> seen_by;
        for (const ServiceSettings& settings : selection.all_services()) {
            const std::string service_ou = ou_key_of(settings.service.ou_path);
            if (selection.selects(settings.service) && usable_at(a.ou_key, service_ou) &&
                usable_at(b.ou_key, service_ou)) {
                seen_by.push_back(shell_quoted(settings.service.name));
            }
        }
        std::string message =
            fmt::format("{} codes \"{}\" (id:{}, OU \"{}\") and \"{}\" (id:{}, OU \"{}\") {}",
                        to_string(a.code->type), a.code->name, a.code->id, a.code->ou_path,
                        b.code->name, b.code->id, b.code->ou_path, difference);
        if (!seen_by.empty()) {
            const std::size_t more =
                seen_by.size() > services_named ? seen_by.size() - services_named : 0;
            seen_by.resize(std::min(seen_by.size(), services_named));
            message += fmt::format("; service{} {}{} can offer both",
                                   seen_by.size() + more == 1 ? "" : "s", fmt::join(seen_by, ", "),
                                   more == 0 ? "" : fmt::format(" and {} more", more));
        }
        // Suggest keeping the one a list offers, if only one is.
        const bool keep_b = selection.listed(b.code->id) && !selection.listed(a.code->id);
        const Code& kept = keep_b ? *b.code : *a.code;
        const Code& dropped = keep_b ? *a.code : *b.code;
        findings.push_back(Finding{
            near_duplicate,
            {object_of(*a.code), object_of(*b.code)},
            std::move(message),
            fmt::format("if they mean one thing, list id:{} instead of id:{} (service apply) "
                        "and delete id:{} (code delete); otherwise rename one (code edit) so "
                        "that agents tell them apart",
                        kept.id, dropped.id, dropped.id)});
    }
}

void find_unlisted_codes(const Selection& selection, std::vector<Finding>& findings) {
    if (selection.one_service()) {
        return; // a service's view says nothing of other services' lists
    }
    for (const Code& code : selection.codes()) {
        if (!selection.selects(code) || selection.listed(code.id)) {
            continue;
        }
        findings.push_back(Finding{
            unlisted_code,
            {object_of(code)},
            fmt::format("{} in OU \"{}\" is on no service's list", describe(code), code.ou_path),
            fmt::format("add it to a service's list (service apply SERVICE --add-{} id:{}), or "
                        "delete it (code delete id:{})",
                        to_string(code.type), code.id, code.id)});
    }
}

void find_unused_codes(store::ReadTransaction& tx, const Actor& actor, const Options& options,
                       Timestamp now, const Selection& selection, Report& report) {
    const Timestamp since = months_before(now, options.unused_months);
    const policy::Filter readable(actor, policy::Action::ReadReports);
    std::vector<const ServiceSettings*> checked;
    std::size_t unreadable = 0;
    for (const ServiceSettings& settings : selection.all_services()) {
        if (!selection.selects(settings.service)) {
            continue;
        }
        if (readable.permits(services::scope_of(settings.service))) {
            checked.push_back(&settings);
        } else {
            ++unreadable;
        }
    }
    if (unreadable > 0) {
        report.notes.push_back(
            fmt::format("rule {} skipped {} service{} whose reports {} may not read", unused_code,
                        unreadable, unreadable == 1 ? "" : "s", actor.display()));
    }
    store::UsageQuery query;
    for (const ServiceSettings* settings : checked) {
        query.service_ids.push_back(settings->service.id);
    }
    if (query.service_ids.empty()) {
        return;
    }
    query.from = since;
    query.to = timefmt::call_times_end;
    query.by_service = true;
    query.by_code = true;
    std::set<std::pair<std::int64_t, std::int64_t>> used; ///< service id, code id
    tx.each_usage_count(query, [&](const store::UsageCount& count) {
        used.emplace(count.service_id, count.code_id);
    });
    const std::string since_text = timefmt::to_utc_string(since).substr(0, 10);
    for (const ServiceSettings* settings : checked) {
        const Service& service = settings->service;
        if (service.created_at >= since) {
            continue; // too young to judge
        }
        for (const CodeType type : {CodeType::Primary, CodeType::Secondary}) {
            for (const Code& code : settings->list(type)) {
                if (code.created_at >= since || used.contains({service.id, code.id})) {
                    continue;
                }
                report.findings.push_back(
                    Finding{unused_code,
                            {object_of(code), object_of(service)},
                            fmt::format("{} on the list of service \"{}\" was not used there in {} "
                                        "month{} (since {})",
                                        describe(code), service.name, options.unused_months,
                                        options.unused_months == 1 ? "" : "s", since_text),
                            fmt::format("take it off the list (service apply {} --remove-{} id:{})",
                                        shell_quoted(service.name), to_string(type), code.id)});
            }
        }
    }
}

void find_list_problems(const Options& options, const Selection& selection,
                        std::vector<Finding>& findings) {
    const Feature& codes_and_tags = *find_feature("codes-and-tags");
    for (const ServiceSettings& settings : selection.all_services()) {
        const Service& service = settings.service;
        if (!selection.selects(service)) {
            continue;
        }
        const std::string name = shell_quoted(service.name);
        if (settings.primary.size() > static_cast<std::size_t>(options.max_primary)) {
            findings.push_back(Finding{
                long_list,
                {object_of(service)},
                fmt::format("service \"{}\" offers {} primary codes; agents scan at most {} "
                            "during a call",
                            service.name, settings.primary.size(), options.max_primary),
                fmt::format("shorten the list (service apply {} --remove-primary CODE); "
                            "report usage --service {} --by code shows the least used",
                            name, name)});
        }
        if (settings.is_enabled(codes_and_tags.name) && settings.primary.empty()) {
            findings.push_back(Finding{
                empty_list,
                {object_of(service)},
                fmt::format("service \"{}\" has codes-and-tags on but no primary codes: its "
                            "agents can conclude with tags only",
                            service.name),
                fmt::format("list codes (service apply {} --primary CODE,...), or turn the "
                            "feature off (extension disable {} codes-and-tags)",
                            name, name)});
        }
        if (!allows(service.license, codes_and_tags) &&
            (!settings.primary.empty() || !settings.secondary.empty())) {
            findings.push_back(Finding{
                unlicensed_lists,
                {object_of(service)},
                fmt::format("service \"{}\" lists codes, but its license {} does not allow "
                            "codes-and-tags: no agent is offered them",
                            service.name, to_string(service.license)),
                fmt::format("change the license to {} (service edit {} --license ...), or empty "
                            "the lists (service apply {} --primary \"\" --secondary \"\")",
                            licenses_allowing_text(codes_and_tags), name, name)});
        }
    }
}

void find_undescribed_codes(const Selection& selection, std::vector<Finding>& findings) {
    for (const Code& code : selection.codes()) {
        if (!selection.selects(code) || !code.description.empty()) {
            continue;
        }
        findings.push_back(Finding{
            no_description,
            {object_of(code)},
            fmt::format("{} in OU \"{}\" has no description", describe(code), code.ou_path),
            fmt::format("say when agents pick it (code edit id:{} --description TEXT)", code.id)});
    }
}

} // namespace

std::span<const Rule> rules() {
    return table;
}

Report run(store::ReadTransaction& tx, const Actor& actor, const Options& options, Timestamp now) {
    if (options.unused_months < 1 || options.unused_months > max_unused_months) {
        throw Error(ErrorKind::Usage, fmt::format("--unused-months {} is outside 1 to {}",
                                                  options.unused_months, max_unused_months));
    }
    if (options.max_primary < 1 || options.max_primary > max_list_limit) {
        throw Error(ErrorKind::Usage, fmt::format("--max-primary {} is outside 1 to {}",
                                                  options.max_primary, max_list_limit));
    }
    const Selection selection(tx, options);
    Report report;
    find_near_duplicates(selection, report.findings);
    find_unlisted_codes(selection, report.findings);
    find_unused_codes(tx, actor, options, now, selection, report);
    find_list_problems(options, selection, report.findings);
    find_undescribed_codes(selection, report.findings);
    // By rule, in the table's order; within a rule, as found.
    const auto rank = [](std::string_view rule) {
        return std::find_if(std::begin(table), std::end(table),
                            [&](const Rule& r) { return r.id == rule; }) -
               std::begin(table);
    };
    std::stable_sort(
        report.findings.begin(), report.findings.end(),
        [&](const Finding& a, const Finding& b) { return rank(a.rule) < rank(b.rule); });
    return report;
}

} // namespace nimbus::lint
