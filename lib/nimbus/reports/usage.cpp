#include <nimbus/reports/usage.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <span>
#include <tuple>

#include <fmt/format.h>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/context/context.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/tags.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::reports {
namespace {

CivilDate first_of_month(int year, unsigned month) {
    return CivilDate{year, month, 1};
}

CivilDate next_month(const CivilDate& d) {
    return d.month == 12 ? first_of_month(d.year + 1, 1) : first_of_month(d.year, d.month + 1);
}

CivilDate previous_day(const CivilDate& d) {
    return CivilDate::from_day_number(d.day_number() - 1);
}

std::optional<CivilDate> parse_month(std::string_view text) {
    if (text.size() != 7 || text[4] != '-') {
        return std::nullopt;
    }
    return CivilDate::parse(std::string(text) + "-01");
}

/// The context field named `name` that the report's services carry. One name
/// may be defined on two branches of the tree: a report covering both is
/// asked to choose.
ContextField report_field(const std::vector<ContextField>& all,
                          const std::vector<Service>& services, std::string_view name) {
    std::optional<ContextField> found;
    for (const Service& service : services) {
        const std::vector<ContextField> fields = context::fields_for(all, service.ou_path);
        const ContextField* field = context::find_field(fields, name);
        if (field == nullptr || (found && found->id == field->id)) {
            continue;
        }
        if (found) {
            throw Error(ErrorKind::Usage,
                        fmt::format("context field \"{}\" is defined in {} and in {}", field->name,
                                    found->ou_path, field->ou_path),
                        "report on one of them with --ou or --service");
        }
        found = *field;
    }
    if (!found) {
        throw Error(ErrorKind::NotFound,
                    fmt::format("no context field \"{}\" for the services of this report", name),
                    "the fields are in the configuration: 'nimbus-codes config export'");
    }
    return *found;
}

/// The codes a report lists even when unused: those on the services' lists.
std::vector<Code> listed_codes(store::ReadTransaction& tx, const Service& service,
                               const UsageRequest& request, const std::set<std::int64_t>& wanted) {
    const ServiceSettings settings = services::settings(tx, service);
    std::vector<Code> codes;
    for (const auto* list : {&settings.primary, &settings.secondary}) {
        for (const Code& code : *list) {
            if ((!request.type || code.type == *request.type) &&
                (wanted.empty() || wanted.contains(code.id))) {
                codes.push_back(code);
            }
        }
    }
    return codes;
}

/// "primary \"Sale\" (id:5, Contoso/Sales, deleted)", for messages.
std::string describe(const Code& code, const std::set<std::string>& former_names) {
    std::string text =
        fmt::format("{} \"{}\" (id:{}, {}", to_string(code.type), code.name, code.id, code.ou_path);
    for (const std::string& name : former_names) {
        if (name != code.name) {
            text += fmt::format(", concluded as \"{}\"", name);
        }
    }
    return text + (code.deleted() ? ", deleted)" : ")");
}

std::string describe_all(const std::vector<Code>& codes,
                         const std::map<std::int64_t, std::set<std::string>>& former_names) {
    std::string text;
    for (const Code& code : codes) {
        const auto former = former_names.find(code.id);
        text +=
            (text.empty() ? "" : "; ") +
            describe(code, former == former_names.end() ? std::set<std::string>{} : former->second);
    }
    return text;
}

/// --code: each reference names exactly one code, by id:N or by name. A name
/// matches today's names of current (undeleted) codes first; only when no
/// current code has it, deleted codes of that name and codes that conclusions
/// recorded under it before a rename. Either way, only codes of --type that
/// the covered services can list (defined at a service's OU or above) count:
/// any other code was never used by these services. None left is NotFound;
/// several at one level is ambiguous (Usage), with the candidates.
std::set<std::int64_t> resolve_codes(store::ReadTransaction& tx, const UsageRequest& request,
                                     const std::vector<Service>& services) {
    std::set<std::int64_t> ids;
    std::optional<std::vector<ConcludedCode>> recorded; // read once, when first needed
    const auto usable = [&](const Code& code) {
        if (request.type && code.type != *request.type) {
            return false;
        }
        const std::string code_ou = names::name_key(code.ou_path);
        return services.empty() ||
               std::any_of(services.begin(), services.end(), [&](const Service& service) {
                   return names::ou_within(names::name_key(service.ou_path), code_ou);
               });
    };
    for (const std::string& reference : request.codes) {
        if (codes::parse_id_reference(reference)) {
            ids.insert(codes::resolve(tx, codes::Reference{reference, {}, {}}).id);
            continue;
        }
        const std::string nfc = names::clean_reference(reference, "--code");
        if (nfc.empty()) {
            throw Error(ErrorKind::Usage, "--code takes a code's name or id:N");
        }
        const std::string key = names::name_key(nfc);
        std::vector<Code> current;
        std::vector<Code> earlier;
        for (Code& code : tx.find_codes_by_name(key)) {
            (code.deleted() ? earlier : current).push_back(std::move(code));
        }
        std::vector<Code> candidates;
        std::copy_if(current.begin(), current.end(), std::back_inserter(candidates), usable);
        std::map<std::int64_t, std::set<std::string>> former_names;
        if (candidates.empty()) {
            if (!recorded) {
                recorded = tx.concluded_code_names();
            }
            for (const ConcludedCode& used : *recorded) {
                if (names::name_key(used.name) != key) {
                    continue;
                }
                former_names[used.code_id].insert(used.name);
                const auto known = [&](const Code& code) {
                    return code.id == used.code_id;
                };
                if (std::none_of(current.begin(), current.end(), known) &&
                    std::none_of(earlier.begin(), earlier.end(), known)) {
                    if (auto code = tx.find_code(used.code_id)) {
                        earlier.push_back(std::move(*code));
                    }
                }
            }
            std::copy_if(earlier.begin(), earlier.end(), std::back_inserter(candidates), usable);
        }
        if (candidates.empty()) {
            std::vector<Code> named = current;
            named.insert(named.end(), earlier.begin(), earlier.end());
            if (named.empty()) {
                throw Error(ErrorKind::NotFound, fmt::format("there is no code named \"{}\"", nfc),
                            "list codes with 'nimbus-codes code list --include-deleted'");
            }
            throw Error(ErrorKind::NotFound,
                        fmt::format("no code named \"{}\" {}: there is only {}", nfc,
                                    request.type ? fmt::format("is {} and can be on the lists "
                                                               "of the services reported on",
                                                               to_string(*request.type))
                                                 : std::string("can be on the lists of the "
                                                               "services reported on"),
                                    describe_all(named, former_names)),
                        "check --code, --type and the services (--service, --ou)");
        }
        if (candidates.size() > 1) {
            std::sort(candidates.begin(), candidates.end(), [](const Code& a, const Code& b) {
                return std::tuple(a.type, a.id) < std::tuple(b.type, b.id);
            });
            const bool both_types =
                std::any_of(candidates.begin(), candidates.end(),
                            [&](const Code& code) { return code.type != candidates.front().type; });
            throw Error(ErrorKind::Usage,
                        fmt::format("--code \"{}\" is ambiguous: {}", nfc,
                                    describe_all(candidates, former_names)),
                        fmt::format("name one code as --code id:N (e.g. --code id:{}){}",
                                    candidates.front().id,
                                    both_types ? ", or narrow with --type primary|secondary" : ""));
        }
        ids.insert(candidates.front().id);
    }
    return ids;
}

/// --user must name someone: a login the identity file lists, or one with a
/// session of the services reported on (only those: whether a login has
/// sessions elsewhere is not the caller's to learn). A typo in a cron line is
/// an error, not a report of zeros.
void require_known_user(store::ReadTransaction& tx, const identity::Identity& identity,
                        const std::vector<Service>& services, const std::string& user) {
    if (identity.find(user) != nullptr) {
        return;
    }
    store::SessionQuery query;
    query.everything = true;
    query.only_own = true;
    query.own_user = user;
    query.limit = 1;
    for (const Service& service : services) {
        query.service_id = service.id;
        if (!tx.sessions(query).empty()) {
            return;
        }
    }
    throw Error(ErrorKind::NotFound,
                fmt::format("there is no user \"{}\": no session of the services reported on is "
                            "theirs and the identity file {} does not list them",
                            user, identity.source),
                "check the login given to --user");
}

/// The refusal of a report too large for people, with what to do instead.
Error too_many_rows(const std::string& what, std::size_t max_rows) {
    return Error(ErrorKind::Usage,
                 fmt::format("the report would have {}; the limit is {} rows", what, max_rows),
                 "narrow the period (--month, or --from and --to closer together), group by "
                 "month instead of day, or filter with --service, --code, --type or --user; "
                 "'nimbus-codes report export' writes every session for Power BI");
}

/// The periods of a report grouped by month or day: each one's first day.
std::vector<std::int64_t> periods_of(const Period& period, bool by_month) {
    std::vector<std::int64_t> periods;
    if (by_month) {
        for (CivilDate m = first_of_month(period.first.year, period.first.month);
             m.day_number() <= period.last.day_number(); m = next_month(m)) {
            periods.push_back(m.day_number());
        }
    } else {
        for (std::int64_t d = period.first.day_number(); d <= period.last.day_number(); ++d) {
            periods.push_back(d);
        }
    }
    return periods;
}

/// The items a group of services lists, used or not: the listed codes (by
/// code), the code types (by type alone).
std::vector<Item> items_of(store::ReadTransaction& tx, const UsageRequest& request,
                           const ReportFacts& facts, const std::vector<const Service*>& group,
                           const std::set<std::int64_t>& wanted) {
    std::vector<Item> items;
    if (facts.has(Dimension::Code)) {
        for (const Service* service : group) {
            for (const Code& code : listed_codes(tx, *service, request, wanted)) {
                if (std::none_of(items.begin(), items.end(),
                                 [&](const Item& item) { return item.code_id == code.id; })) {
                    items.push_back(Item{code.type, code.id, code.name});
                }
            }
        }
    } else {
        for (const CodeType type : {CodeType::Primary, CodeType::Secondary}) {
            if (!request.type || *request.type == type) {
                items.push_back(Item{type, 0, {}});
            }
        }
    }
    return items;
}

/// The store's query for a report, and the facts its dimensions need but for
/// what only counting tells (users, tag spellings).
store::UsageQuery select(store::ReadTransaction& tx, const UsageRequest& request,
                         const Period& period, const Zone& zone,
                         const std::vector<Service>& services, ReportFacts& facts,
                         std::optional<ContextField>& context_field) {
    facts.by = request.by;
    for (const Service& service : services) {
        facts.services[service.id] = &service;
    }
    store::UsageQuery query;
    for (const Service& service : services) {
        query.service_ids.push_back(service.id);
    }
    query.from = period.from;
    query.to = period.to;
    query.offsets = zone.offsets(query.from, query.to);
    query.current_names = request.current_names;
    query.recount = request.recount;
    query.user = request.user;
    query.type = request.type;
    if (facts.has(Dimension::Context) || !request.context.empty()) {
        const std::vector<ContextField> all_fields = tx.context_fields();
        for (const auto& [name, value] : request.context) {
            const ContextField field = report_field(all_fields, services, name);
            context::CheckedValue checked = context::check_value(field, value);
            if (!checked.problem.empty()) {
                throw Error(ErrorKind::Usage, "--context: " + checked.problem);
            }
            query.context.push_back(store::ContextMatch{field.id, std::move(checked.value)});
        }
        if (facts.has(Dimension::Context)) {
            context_field = report_field(all_fields, services, request.context_field);
            if (context_field->type != ContextType::Choice) {
                throw Error(ErrorKind::Usage,
                            fmt::format("context field \"{}\" is of type {}; reports group by a "
                                        "field with a fixed set of values (a choice)",
                                        context_field->name, to_string(context_field->type)));
            }
            facts.context_field = &*context_field;
            // Every value of the field is a row, as every code is (only the
            // filtered value, where the report filters the same field).
            facts.context_values = context_field->choices;
            for (const store::ContextMatch& match : query.context) {
                if (match.field_id == context_field->id) {
                    facts.context_values = {match.value};
                }
            }
        }
    }
    const std::set<std::int64_t> wanted_codes = resolve_codes(tx, request, services);
    query.code_ids.assign(wanted_codes.begin(), wanted_codes.end());
    for (const std::string& tag : tags::clean_tags(request.tags)) {
        query.tag_keys.push_back(tags::tag_key(tag));
    }
    for (const Dimension d : facts.by) {
        info(d).group(query, facts);
    }
    if (facts.has(Dimension::Month) || facts.has(Dimension::Day)) {
        facts.periods = periods_of(period, facts.has(Dimension::Month));
    }
    if (facts.has(Dimension::Code) || facts.has(Dimension::Type)) {
        if (facts.has(Dimension::Service)) {
            for (const Service& service : services) {
                facts.items[service.id] = items_of(tx, request, facts, {&service}, wanted_codes);
            }
        } else {
            std::vector<const Service*> all;
            for (const Service& service : services) {
                all.push_back(&service);
            }
            facts.items[0] = items_of(tx, request, facts, all, wanted_codes);
        }
    }
    return query;
}

/// Calls `visit` with each key that `key` fills out to by the dimensions of
/// `rest` that the report has and `which` takes, one dimension at a time:
/// only one dimension's values are held at once, never all the keys.
template <class Which, class Visit>
void each_filled(const Key& key, std::span<const DimensionInfo> rest, const ReportFacts& facts,
                 const Which& which, const Visit& visit) {
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (facts.has(rest[i].id) && which(rest[i].id)) {
            std::vector<Key> filled;
            rest[i].fill(key, facts, filled);
            for (const Key& next : filled) {
                each_filled(next, rest.subspan(i + 1), facts, which, visit);
            }
            return;
        }
    }
    visit(key);
}

/// The rows a report lists whatever is counted, but for their periods and
/// users (those are counted in check_size()): all of them when they are at
/// most `limit`, else only how many there are.
struct Listed {
    std::vector<Key> keys;
    std::size_t count = 0;
};

Listed listed_rows(const ReportFacts& facts, std::size_t limit) {
    Listed listed;
    const auto but_periods_and_users = [](Dimension d) {
        return d != Dimension::Month && d != Dimension::Day && d != Dimension::User;
    };
    each_filled(Key{}, dimensions(), facts, but_periods_and_users, [&](const Key& key) {
        if (++listed.count <= limit) {
            listed.keys.push_back(key);
        }
    });
    return listed;
}

} // namespace

Period resolve_period(const PeriodSpec& spec, const Zone& zone, Timestamp now) {
    if (spec.month && (spec.from || spec.to)) {
        throw Error(ErrorKind::Usage, "give --month or --from and --to, not both");
    }
    if (spec.from.has_value() != spec.to.has_value()) {
        throw Error(ErrorKind::Usage, "--from and --to go together");
    }
    Period period;
    if (spec.from) {
        const auto from = CivilDate::parse(*spec.from);
        const auto to = CivilDate::parse(*spec.to);
        if (!from || !to) {
            throw Error(ErrorKind::Usage, fmt::format("--from {} --to {}: dates are YYYY-MM-DD",
                                                      *spec.from, *spec.to));
        }
        if (to->day_number() < from->day_number()) {
            throw Error(ErrorKind::Usage, "--to is before --from");
        }
        period.first = *from;
        period.last = *to;
    } else {
        CivilDate first;
        if (!spec.month) {
            const CivilDate today = zone.date_at(now);
            first = first_of_month(today.year, today.month);
        } else if (*spec.month == "last") {
            const CivilDate today = zone.date_at(now);
            first = today.month == 1 ? first_of_month(today.year - 1, 12)
                                     : first_of_month(today.year, today.month - 1);
        } else if (const auto month = parse_month(*spec.month)) {
            first = *month;
        } else {
            throw Error(ErrorKind::Usage,
                        fmt::format("--month \"{}\" is not YYYY-MM or last", *spec.month));
        }
        period.first = first;
        period.last = previous_day(next_month(first));
    }
    period.from = zone.start_of(period.first);
    period.to = zone.start_of(CivilDate::from_day_number(period.last.day_number() + 1));
    return period;
}

CivilDate first_report_day() {
    return CivilDate::from_day_number(timefmt::earliest_call_time.time_since_epoch().count() /
                                      86'400);
}

CivilDate last_report_day() {
    return CivilDate::from_day_number(timefmt::call_times_end.time_since_epoch().count() / 86'400 -
                                      1);
}

void require_plausible(const PeriodSpec& spec, const Period& period) {
    const CivilDate first = first_report_day();
    const CivilDate last = last_report_day();
    if (period.first.day_number() >= first.day_number() &&
        period.last.day_number() <= last.day_number()) {
        return;
    }
    std::string given;
    if (spec.month) {
        given = fmt::format("--month {} ({})", *spec.month, period.first.month_text());
    } else if (spec.from) {
        given = period.first.day_number() < first.day_number() ? "--from " + *spec.from
                                                               : "--to " + *spec.to;
    } else {
        given = fmt::format("the current month ({})", period.first.month_text());
    }
    throw Error(ErrorKind::Usage,
                fmt::format("{} is outside the times calls can have: reports cover {} to {}", given,
                            first.text(), last.text()),
                "check the year of the period");
}

std::vector<Service> services_in_scope(store::ReadTransaction& tx, const Actor& actor,
                                       const std::vector<std::string>& names,
                                       const std::optional<std::string>& ou) {
    std::optional<Ou> within;
    if (ou) {
        within = ous::find(tx, *ou);
        policy::require(actor, policy::Action::ReadReports,
                        policy::Scope::ou(within->path, within->path_key));
    }
    const auto in_ou = [&](const Service& service) {
        return !within || names::ou_within(names::name_key(service.ou_path), within->path_key);
    };
    const policy::Filter readable(actor, policy::Action::ReadReports);
    std::vector<Service> result;
    if (!names.empty()) {
        for (const std::string& name : names) {
            const Service service = services::find(tx, name);
            policy::require(actor, policy::Action::ReadReports, services::scope_of(service));
            if (!in_ou(service)) {
                throw Error(ErrorKind::Usage, fmt::format("service \"{}\" is not in OU \"{}\"",
                                                          service.name, within->path));
            }
            if (std::none_of(result.begin(), result.end(),
                             [&](const Service& s) { return s.id == service.id; })) {
                result.push_back(service);
            }
        }
        return result;
    }
    for (const Service& service : tx.services()) {
        if (in_ou(service) && readable.permits(services::scope_of(service))) {
            result.push_back(service);
        }
    }
    return result;
}

std::string Summary::concluded_text() const {
    if (concluded_by_default == 0) {
        return fmt::format("{} concluded ({} retroactively)", concluded, retroactive);
    }
    return fmt::format("{} concluded ({} by agents, {} by default; {} retroactively)", concluded,
                       concluded_by_agents(), concluded_by_default, retroactive);
}

output::Rows UsageReport::summary_rows() const {
    output::Rows summary_table;
    summary_table.columns = {{"from", "FROM"},
                             {"to", "TO"},
                             {"time_zone", "TIME ZONE"},
                             {"sessions", "SESSIONS"},
                             {"concluded", "CONCLUDED"},
                             {"concluded_by_agents", "BY AGENTS"},
                             {"concluded_by_default", "BY DEFAULT"},
                             {"unconcluded", "UNCONCLUDED"},
                             {"retroactive", "CONCLUDED RETROACTIVELY"},
                             {"ledger_records", "LEDGER RECORDS"},
                             {"ledger_head", "LEDGER HEAD"}};
    summary_table.add({period.first.text(), period.last.text(), zone, summary.total,
                       summary.concluded, summary.concluded_by_agents(),
                       summary.concluded_by_default, summary.unconcluded, summary.retroactive,
                       ledger.records, ledger.hash});
    return summary_table;
}

namespace {

/// The concluded sessions of each group of sessions: a row's share is over them.
using Denominators = std::map<Key::Sessions, std::int64_t>;
/// The count of each row.
using Groups = std::map<Key, std::int64_t>;

/// The first day of the key's period: its month's or its day's, or 0.
std::int64_t period_of(const ReportFacts& facts, std::int64_t day) {
    if (facts.has(Dimension::Month)) {
        const CivilDate date = CivilDate::from_day_number(day);
        return first_of_month(date.year, date.month).day_number();
    }
    return facts.has(Dimension::Day) ? day : 0;
}

/// Refuses a report whose rows, `each` in every period and for every user
/// (once they are known), would be more than `max_rows`: before anything
/// is read, and once the users are known, before anything is built.
void check_size(std::size_t each, const ReportFacts& facts, std::size_t max_rows,
                bool users_known) {
    const bool by_period = facts.has(Dimension::Month) || facts.has(Dimension::Day);
    const std::size_t periods = by_period ? facts.periods.size() : 1;
    if (each != 0 && periods > max_rows / each) {
        throw too_many_rows(
            periods == 1
                ? fmt::format("{} rows", each)
                : fmt::format("{} rows ({} {} times {} rows each)", periods * each, periods,
                              facts.has(Dimension::Month) ? "months" : "days", each),
            max_rows);
    }
    const std::size_t users = facts.has(Dimension::User) && users_known ? facts.users.size() : 1;
    const std::size_t rows_each = periods * each;
    if (users > 0 && rows_each > max_rows / users) {
        throw too_many_rows(fmt::format("{} rows ({} users times {} rows each)", rows_each * users,
                                        users, rows_each),
                            max_rows);
    }
}

/// Count, first: the sessions of each group, the summary, and the users.
Denominators count_sessions(store::ReadTransaction& tx, const store::UsageQuery& query,
                            ReportFacts& facts, std::size_t max_rows, Summary& summary) {
    Denominators concluded;
    std::set<std::string> users;
    tx.each_session_count(query, [&](const store::SessionCount& count) {
        concluded[{period_of(facts, count.day), count.service_id, count.user, count.context}] +=
            count.concluded;
        if (concluded.size() > max_rows) {
            throw too_many_rows(fmt::format("more than {} groups of sessions", max_rows), max_rows);
        }
        summary.total += count.total;
        summary.concluded += count.concluded;
        summary.concluded_by_default += count.by_default;
        summary.retroactive += count.retroactive;
        users.insert(count.user);
    });
    summary.unconcluded = summary.total - summary.concluded;
    facts.users.assign(users.begin(), users.end());
    return concluded;
}

/// Count, then: the sessions that carry each item, per row, and the tags' spellings.
Groups count_items(store::ReadTransaction& tx, const store::UsageQuery& query, ReportFacts& facts,
                   std::size_t max_rows) {
    Groups groups;
    tx.each_usage_count(query, [&](const store::UsageCount& count) {
        Key key{period_of(facts, count.day),
                count.service_id,
                count.user,
                count.context,
                count.concluded_by,
                count.type,
                count.code_id,
                count.code_name,
                count.tag_key};
        groups[std::move(key)] += count.sessions;
        if (groups.size() > max_rows) {
            throw too_many_rows(fmt::format("more than {} rows", max_rows), max_rows);
        }
        auto [spelling, added] = facts.tag_spelling.try_emplace(count.tag_key, count.tag);
        if (!added && count.tag < spelling->second) {
            spelling->second = count.tag;
        }
    });
    return groups;
}

/// Fill: `each` in every period and for every user, with 0 where nothing was
/// counted. A code that has rows in a group (under its names at the time)
/// gets no other: zero rows are per code, not per name.
void fill(Groups& groups, const std::vector<Key>& each, const ReportFacts& facts,
          std::size_t max_rows) {
    const auto periods_and_users = [](Dimension d) {
        return d == Dimension::Month || d == Dimension::Day || d == Dimension::User;
    };
    for (const Key& listed : each) {
        each_filled(listed, dimensions(), facts, periods_and_users, [&](const Key& key) {
            const auto found = groups.lower_bound(Key{key.period,
                                                      key.service_id,
                                                      key.user,
                                                      key.context,
                                                      key.concluded_by,
                                                      key.type,
                                                      key.code_id,
                                                      {},
                                                      {}});
            if (found == groups.end() || !found->first.same_item(key)) {
                groups.try_emplace(key, 0);
                if (groups.size() > max_rows) {
                    throw too_many_rows(fmt::format("more than {} rows", max_rows), max_rows);
                }
            }
        });
    }
}

/// Rank and render: the rows in the order of the dimensions as given, each
/// group freed once it is a row, so that a report never holds its rows twice.
output::Rows render(Groups& groups, const Denominators& concluded, const ReportFacts& facts) {
    std::vector<Groups::iterator> rows;
    rows.reserve(groups.size());
    for (auto group = groups.begin(); group != groups.end(); ++group) {
        rows.push_back(group);
    }
    std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
        for (const Dimension d : facts.by) {
            const Rank ra = info(d).rank(a->first, facts);
            const Rank rb = info(d).rank(b->first, facts);
            if (ra != rb) {
                return ra < rb;
            }
        }
        return a->first < b->first;
    });
    output::Rows out;
    for (const Dimension d : facts.by) {
        info(d).columns(facts, out.columns);
    }
    out.columns.push_back({"sessions", "SESSIONS"});
    out.columns.push_back({"share", "SHARE"});
    out.rows.reserve(rows.size());
    for (const auto& row : rows) {
        const auto& [key, sessions] = *row;
        std::vector<output::Cell> cells;
        cells.reserve(out.columns.size());
        for (const Dimension d : facts.by) {
            info(d).cells(key, facts, cells);
        }
        const auto denominator = concluded.find(key.sessions());
        cells.emplace_back(sessions);
        if (denominator != concluded.end() && denominator->second > 0) {
            cells.emplace_back(output::Fraction{static_cast<double>(sessions) /
                                                static_cast<double>(denominator->second)});
        } else {
            cells.emplace_back(std::monostate{});
        }
        out.add(std::move(cells));
        groups.erase(row);
    }
    return out;
}

} // namespace

UsageReport usage(store::ReadTransaction& tx, const Actor& actor,
                  const identity::Identity& identity, const UsageRequest& request, Timestamp now) {
    const Zone zone(request.zone);
    UsageReport report;
    report.ledger = tx.ledger_head();
    report.zone = zone.name();
    report.period = resolve_period(request.period, zone, now);
    if (request.plausible_period) {
        require_plausible(request.period, report.period);
    }
    const std::vector<Service> services =
        services_in_scope(tx, actor, request.services, request.ou);
    if (request.user) {
        require_known_user(tx, identity, services, *request.user);
    }
    // The pipeline: select, count, fill, rank and render, each dimension's
    // part of every stage in its entry of the dimension table.
    ReportFacts facts;
    std::optional<ContextField> context_field;
    const store::UsageQuery query =
        select(tx, request, report.period, zone, services, facts, context_field);
    // The rows listed whatever is counted, but for their periods and users.
    const Listed each = listed_rows(facts, request.max_rows);
    check_size(each.count, facts, request.max_rows, false);
    const Denominators concluded =
        count_sessions(tx, query, facts, request.max_rows, report.summary);
    check_size(each.count, facts, request.max_rows, true);
    Groups groups = count_items(tx, query, facts, request.max_rows);
    fill(groups, each.keys, facts, request.max_rows);
    report.rows = render(groups, concluded, facts);
    return report;
}

} // namespace nimbus::reports
