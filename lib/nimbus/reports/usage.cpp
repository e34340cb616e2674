#include <nimbus/reports/usage.hpp>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
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

constexpr std::pair<std::string_view, Dimension> dimension_names[] = {
    {"month", Dimension::Month},     {"day", Dimension::Day},
    {"service", Dimension::Service}, {"user", Dimension::User},
    {"type", Dimension::Type},       {"code", Dimension::Code},
    {"tag", Dimension::Tag},         {"concluded-by", Dimension::ConcludedBy}};

/// The values of Dimension::ConcludedBy, in their order.
const std::vector<std::string> concluded_by_values = {"agent", "default"};

bool has(const std::vector<Dimension>& dims, Dimension d) {
    return std::find(dims.begin(), dims.end(), d) != dims.end();
}

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

/// What a row is about: its place in each dimension (unused ones stay empty).
struct Key {
    std::int64_t period = 0; ///< the day number of the month's or day's start
    std::int64_t service_id = 0;
    std::string user;
    std::string context;      ///< the context field's value ("" for none)
    std::string concluded_by; ///< "agent" or "default" ("" when not grouped by it)
    CodeType type = CodeType::Primary;
    std::int64_t code_id = 0;
    std::string code_name;
    std::string tag;

    /// The part of the key that names a group of sessions (not of items): a
    /// share is of all the sessions concluded in it, whoever concluded them.
    using Sessions = std::tuple<std::int64_t, std::int64_t, std::string, std::string>;
    Sessions sessions() const { return {period, service_id, user, context}; }
    auto tied() const {
        return std::tie(period, service_id, user, context, concluded_by, type, code_id, code_name,
                        tag);
    }
    bool operator<(const Key& other) const { return tied() < other.tied(); }
};

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

} // namespace

std::vector<Dimension> parse_dimensions(std::string_view text, std::string* context_field) {
    std::vector<Dimension> dims;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view name = text::trim(text.substr(start, comma - start));
        if (name.starts_with("context.") && name.size() > std::string_view("context.").size()) {
            if (has(dims, Dimension::Context)) {
                throw Error(ErrorKind::Usage, "--by takes one context field");
            }
            dims.push_back(Dimension::Context);
            if (context_field != nullptr) {
                *context_field = std::string(name.substr(std::string_view("context.").size()));
            }
            start = comma + 1;
            continue;
        }
        const auto known = std::find_if(std::begin(dimension_names), std::end(dimension_names),
                                        [&](const auto& entry) { return entry.first == name; });
        if (known == std::end(dimension_names)) {
            throw Error(ErrorKind::Usage, fmt::format("unknown dimension \"{}\" in --by", name),
                        "dimensions are: month, day, service, user, type, code, tag, "
                        "concluded-by, context.NAME");
        }
        if (has(dims, known->second)) {
            throw Error(ErrorKind::Usage, fmt::format("dimension \"{}\" is given twice", name));
        }
        dims.push_back(known->second);
        start = comma + 1;
    }
    if (has(dims, Dimension::Month) && has(dims, Dimension::Day)) {
        throw Error(ErrorKind::Usage, "--by takes month or day, not both");
    }
    return dims;
}

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

UsageReport usage(store::ReadTransaction& tx, const Actor& actor,
                  const identity::Identity& identity, const UsageRequest& request, Timestamp now) {
    const std::vector<Dimension>& dims = request.by;
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

    const bool by_month = has(dims, Dimension::Month);
    const bool by_day = has(dims, Dimension::Day);
    store::UsageQuery query;
    for (const Service& service : services) {
        query.service_ids.push_back(service.id);
    }
    query.from = report.period.from;
    query.to = report.period.to;
    query.offsets = zone.offsets(query.from, query.to);
    query.by_day = by_month || by_day;
    query.by_service = has(dims, Dimension::Service);
    query.by_user = has(dims, Dimension::User);
    query.by_type = has(dims, Dimension::Type);
    query.by_code = has(dims, Dimension::Code);
    query.by_tag = has(dims, Dimension::Tag);
    query.current_names = request.current_names;
    query.user = request.user;
    query.type = request.type;
    std::optional<ContextField> context_field;
    if (has(dims, Dimension::Context) || !request.context.empty()) {
        const std::vector<ContextField> all_fields = tx.context_fields();
        for (const auto& [name, value] : request.context) {
            const ContextField field = report_field(all_fields, services, name);
            context::CheckedValue checked = context::check_value(field, value);
            if (!checked.problem.empty()) {
                throw Error(ErrorKind::Usage, "--context: " + checked.problem);
            }
            query.context.push_back(store::ContextMatch{field.id, std::move(checked.value)});
        }
        if (has(dims, Dimension::Context)) {
            context_field = report_field(all_fields, services, request.context_field);
            if (context_field->type != ContextType::Choice) {
                throw Error(ErrorKind::Usage,
                            fmt::format("context field \"{}\" is of type {}; reports group by a "
                                        "field with a fixed set of values (a choice)",
                                        context_field->name, to_string(context_field->type)));
            }
            query.by_context = context_field->id;
        }
    }
    // Every value of the context field is a row, as every code is.
    // (Only the filtered value, where the report filters the same field.)
    std::vector<std::string> context_keys{std::string{}};
    if (context_field) {
        context_keys = context_field->choices;
        for (const store::ContextMatch& match : query.context) {
            if (match.field_id == context_field->id) {
                context_keys = {match.value};
            }
        }
    }
    query.by_concluded_by = has(dims, Dimension::ConcludedBy);
    const std::vector<std::string> concluded_by_keys =
        query.by_concluded_by ? concluded_by_values : std::vector<std::string>{std::string{}};
    const std::set<std::int64_t> wanted_codes = resolve_codes(tx, request, services);
    query.code_ids.assign(wanted_codes.begin(), wanted_codes.end());
    for (const std::string& tag : tags::clean_tags(request.tags)) {
        query.tag_keys.push_back(tags::tag_key(tag));
    }

    const auto period_of = [&](std::int64_t day) -> std::int64_t {
        if (by_month) {
            const CivilDate date = CivilDate::from_day_number(day);
            return first_of_month(date.year, date.month).day_number();
        }
        return by_day ? day : 0;
    };

    // The rows known before any session is read: every period, service and
    // listed code (times every user, once the users are known). Counted first,
    // so that a report too large is refused before anything is built.
    struct Item {
        CodeType type;
        std::int64_t code_id;
        std::string name;
    };
    const auto items_of = [&](const std::vector<const Service*>& group) {
        std::vector<Item> items;
        if (query.by_code) {
            for (const Service* service : group) {
                for (const Code& code : listed_codes(tx, *service, request, wanted_codes)) {
                    if (std::none_of(items.begin(), items.end(),
                                     [&](const Item& item) { return item.code_id == code.id; })) {
                        items.push_back(Item{code.type, code.id, code.name});
                    }
                }
            }
        } else if (query.by_type) {
            for (const CodeType type : {CodeType::Primary, CodeType::Secondary}) {
                if (!request.type || *request.type == type) {
                    items.push_back(Item{type, 0, {}});
                }
            }
        } else {
            items.push_back(Item{CodeType::Primary, 0, {}});
        }
        return items;
    };
    std::vector<std::pair<std::int64_t, std::vector<Item>>> service_items;
    std::size_t period_count = 1;
    std::size_t item_count = 0;
    if (!query.by_tag) {
        if (query.by_service) {
            for (const Service& service : services) {
                service_items.emplace_back(service.id, items_of({&service}));
            }
        } else {
            std::vector<const Service*> all;
            for (const Service& service : services) {
                all.push_back(&service);
            }
            service_items.emplace_back(0, items_of(all));
        }
        for (const auto& [service_id, items] : service_items) {
            item_count += items.size() * context_keys.size() * concluded_by_keys.size();
        }
        const CivilDate& first = report.period.first;
        const CivilDate& last = report.period.last;
        if (by_month) {
            period_count = static_cast<std::size_t>((last.year - first.year) * 12 +
                                                    static_cast<int>(last.month) -
                                                    static_cast<int>(first.month) + 1);
        } else if (by_day) {
            period_count = static_cast<std::size_t>(last.day_number() - first.day_number() + 1);
        }
        if (item_count > 0 && period_count > request.max_rows / item_count) {
            throw too_many_rows(period_count == 1
                                    ? fmt::format("{} rows", item_count)
                                    : fmt::format("{} rows ({} {} times {} rows each)",
                                                  period_count * item_count, period_count,
                                                  by_month ? "months" : "days", item_count),
                                request.max_rows);
        }
    }

    // The denominators (concluded sessions per group) and the summary.
    std::map<Key::Sessions, std::int64_t> concluded;
    std::set<std::string> users;
    tx.each_session_count(query, [&](const store::SessionCount& count) {
        concluded[{period_of(count.day), count.service_id, count.user, count.context}] +=
            count.concluded;
        if (concluded.size() > request.max_rows) {
            throw too_many_rows(fmt::format("more than {} groups of sessions", request.max_rows),
                                request.max_rows);
        }
        report.summary.total += count.total;
        report.summary.concluded += count.concluded;
        report.summary.concluded_by_default += count.by_default;
        report.summary.retroactive += count.retroactive;
        users.insert(count.user);
    });
    report.summary.unconcluded = report.summary.total - report.summary.concluded;
    const std::size_t user_count = query.by_user ? users.size() : 1;
    if (user_count > 0 && period_count * item_count > request.max_rows / user_count) {
        throw too_many_rows(fmt::format("{} rows ({} users times {} rows each)",
                                        period_count * item_count * user_count, user_count,
                                        period_count * item_count),
                            request.max_rows);
    }

    std::map<Key, std::int64_t> groups;
    std::map<std::string, std::string> tag_spelling; // tag key -> its first spelling
    tx.each_usage_count(query, [&](const store::UsageCount& count) {
        Key key{period_of(count.day), count.service_id,   count.user,
                count.context,        count.concluded_by, count.type,
                count.code_id,        count.code_name,    count.tag_key};
        groups[std::move(key)] += count.sessions;
        if (groups.size() > request.max_rows) {
            throw too_many_rows(fmt::format("more than {} rows", request.max_rows),
                                request.max_rows);
        }
        auto [spelling, added] = tag_spelling.try_emplace(count.tag_key, count.tag);
        if (!added && count.tag < spelling->second) {
            spelling->second = count.tag;
        }
    });

    // Stable rows: every period, service and listed code appears, with 0 when
    // unused. A code that has rows in a group (under its names at the time)
    // gets no other: zero rows are per code, not per name.
    if (!query.by_tag) {
        std::vector<std::int64_t> periods{0};
        if (by_month) {
            periods.clear();
            for (CivilDate m = first_of_month(report.period.first.year, report.period.first.month);
                 m.day_number() <= report.period.last.day_number(); m = next_month(m)) {
                periods.push_back(m.day_number());
            }
        } else if (by_day) {
            periods.clear();
            for (std::int64_t d = report.period.first.day_number();
                 d <= report.period.last.day_number(); ++d) {
                periods.push_back(d);
            }
        }
        std::vector<std::string> user_keys{std::string{}};
        if (query.by_user) {
            user_keys.assign(users.begin(), users.end());
        }
        const auto has_rows = [&](const Key& key) {
            const auto found = groups.lower_bound(Key{key.period,
                                                      key.service_id,
                                                      key.user,
                                                      key.context,
                                                      key.concluded_by,
                                                      key.type,
                                                      key.code_id,
                                                      {},
                                                      {}});
            return found != groups.end() && found->first.period == key.period &&
                   found->first.service_id == key.service_id && found->first.user == key.user &&
                   found->first.context == key.context &&
                   found->first.concluded_by == key.concluded_by && found->first.type == key.type &&
                   found->first.code_id == key.code_id;
        };
        for (const std::int64_t period : periods) {
            for (const auto& [service_id, items] : service_items) {
                for (const std::string& user : user_keys) {
                    for (const std::string& value : context_keys) {
                        for (const std::string& by : concluded_by_keys) {
                            for (const Item& item : items) {
                                Key key{period,    service_id,   user,      value, by,
                                        item.type, item.code_id, item.name, {}};
                                if (!has_rows(key)) {
                                    groups.try_emplace(std::move(key), 0);
                                    if (groups.size() > request.max_rows) {
                                        throw too_many_rows(
                                            fmt::format("more than {} rows", request.max_rows),
                                            request.max_rows);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Rows, sorted by the dimensions in the order given.
    std::map<std::int64_t, const Service*> by_id;
    for (const Service& service : services) {
        by_id[service.id] = &service;
    }
    // Sorted as handles into the groups, each group freed once it is a row:
    // a report never holds its rows twice.
    std::vector<std::map<Key, std::int64_t>::iterator> rows;
    rows.reserve(groups.size());
    for (auto group = groups.begin(); group != groups.end(); ++group) {
        rows.push_back(group);
    }
    const auto rank = [&](const Key& key, Dimension d) {
        switch (d) {
        case Dimension::Month:
        case Dimension::Day: return std::make_tuple(std::string{}, std::string{}, key.period);
        case Dimension::Service:
            return std::make_tuple(std::string{}, names::name_key(by_id.at(key.service_id)->name),
                                   key.service_id);
        case Dimension::User: return std::make_tuple(std::string{}, key.user, std::int64_t{0});
        case Dimension::Type:
            return std::make_tuple(std::string(to_string(key.type)), std::string{},
                                   std::int64_t{0});
        case Dimension::Code:
            return std::make_tuple(std::string(to_string(key.type)), names::name_key(key.code_name),
                                   key.code_id);
        case Dimension::Tag: return std::make_tuple(std::string{}, key.tag, std::int64_t{0});
        case Dimension::Context: {
            // The field's values in their order, then none, then values it no longer has.
            const std::vector<std::string>& choices = context_field->choices;
            const auto at = std::find(choices.begin(), choices.end(), key.context);
            if (at != choices.end()) {
                return std::make_tuple(std::string{}, std::string{},
                                       static_cast<std::int64_t>(at - choices.begin()));
            }
            return std::make_tuple(std::string{}, key.context,
                                   static_cast<std::int64_t>(choices.size()));
        }
        case Dimension::ConcludedBy:
            return std::make_tuple(std::string{}, key.concluded_by, std::int64_t{0});
        }
        return std::make_tuple(std::string{}, std::string{}, std::int64_t{0});
    };
    std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
        for (const Dimension d : dims) {
            const auto ra = rank(a->first, d);
            const auto rb = rank(b->first, d);
            if (ra != rb) {
                return ra < rb;
            }
        }
        return a->first < b->first;
    });

    output::Rows& out = report.rows;
    for (const Dimension d : dims) {
        switch (d) {
        case Dimension::Month: out.columns.push_back({"month", "MONTH"}); break;
        case Dimension::Day: out.columns.push_back({"day", "DAY"}); break;
        case Dimension::Service: out.columns.push_back({"service", "SERVICE"}); break;
        case Dimension::User: out.columns.push_back({"user", "USER"}); break;
        case Dimension::Type: out.columns.push_back({"type", "TYPE"}); break;
        case Dimension::Code:
            if (!query.by_type) {
                out.columns.push_back({"type", "TYPE"});
            }
            out.columns.push_back({"code", "CODE"});
            out.columns.push_back({"code_id", "CODE ID", output::Audience::Programs});
            break;
        case Dimension::Tag: out.columns.push_back({"tag", "TAG"}); break;
        case Dimension::Context:
            out.columns.push_back({"context." + context_field->name, context_field->name});
            break;
        case Dimension::ConcludedBy: out.columns.push_back({"concluded_by", "CONCLUDED BY"}); break;
        }
    }
    out.columns.push_back({"sessions", "SESSIONS"});
    out.columns.push_back({"share", "SHARE"});
    out.rows.reserve(rows.size());
    for (const auto& row : rows) {
        const auto& [key, sessions] = *row;
        std::vector<output::Cell> cells;
        cells.reserve(out.columns.size());
        for (const Dimension d : dims) {
            switch (d) {
            case Dimension::Month:
                cells.emplace_back(CivilDate::from_day_number(key.period).month_text());
                break;
            case Dimension::Day:
                cells.emplace_back(CivilDate::from_day_number(key.period).text());
                break;
            case Dimension::Service: cells.emplace_back(by_id.at(key.service_id)->name); break;
            case Dimension::User: cells.emplace_back(key.user); break;
            case Dimension::Type: cells.emplace_back(std::string(to_string(key.type))); break;
            case Dimension::Code:
                if (!query.by_type) {
                    cells.emplace_back(std::string(to_string(key.type)));
                }
                cells.emplace_back(key.code_name);
                cells.emplace_back(key.code_id);
                break;
            case Dimension::Tag: cells.emplace_back(tag_spelling[key.tag]); break;
            case Dimension::Context:
                cells.push_back(key.context.empty() ? output::Cell() : output::Cell(key.context));
                break;
            case Dimension::ConcludedBy: cells.emplace_back(key.concluded_by); break;
            }
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
    return report;
}

} // namespace nimbus::reports
