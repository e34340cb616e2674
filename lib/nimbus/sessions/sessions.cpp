// session list, show and conclude.
#include <nimbus/sessions/sessions.hpp>

#include <algorithm>
#include <iterator>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/tags.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::sessions {
namespace {

constexpr std::string_view codes_and_tags = "codes-and-tags";

/// The scope of a session, from what the session carries of its service.
policy::Scope scope_of(const Session& session) {
    return policy::Scope::session(session.external_id,
                                  policy::Scope::service(session.service_name,
                                                         names::name_key(session.service_name),
                                                         names::name_key(session.service_ou)),
                                  session.user);
}

/// The sessions the actor may see among those with these external ids.
std::vector<Session> visible_sessions(store::ReadTransaction& tx, const Actor& actor,
                                      std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<Session> sessions = tx.sessions_with_external_ids(ids);
    std::erase_if(sessions, [&](const Session& session) {
        return !policy::permits(actor, policy::Action::ReadSessions, scope_of(session));
    });
    return sessions;
}

std::string qualified(const Session& session) {
    return session.service_name + "/" + session.external_id;
}

/// The one session of `matches`, or nullopt when there is none; several are a
/// usage error that lists them, so that the caller can name one.
std::optional<Session> only(std::vector<Session> matches, std::string_view reference) {
    if (matches.empty()) {
        return std::nullopt;
    }
    if (matches.size() == 1) {
        return std::move(matches.front());
    }
    std::vector<std::string> names;
    for (const Session& session : matches) {
        names.push_back(qualified(session));
    }
    std::sort(names.begin(), names.end());
    std::string list;
    for (const std::string& name : names) {
        list += (list.empty() ? "" : ", ") + name;
    }
    throw Error(ErrorKind::Usage,
                fmt::format("session id \"{}\" names sessions of more than one service: {}",
                            reference, list),
                fmt::format("name one of them as SERVICE/ID, such as {}", names.front()));
}

/// A session with its service's settings; `service` is the session's.
Detail detail_of(store::ReadTransaction& tx, const Service& service, Session session) {
    Detail detail;
    detail.service = service;
    const ServiceSettings settings = services::settings(tx, service);
    detail.offered_primary = settings.primary;
    detail.offered_secondary = settings.secondary;
    detail.codes_and_tags_enabled = settings.is_enabled(codes_and_tags);
    if (session.outcome) {
        for (const OutcomeInfo& outcome : tx.outcomes()) {
            if (outcome.name == *session.outcome) {
                detail.outcome_group = outcome.group;
            }
        }
    }
    detail.session = std::move(session);
    return detail;
}

std::string names_of(const std::vector<Code>& codes) {
    std::string text;
    for (const Code& code : codes) {
        text += (text.empty() ? "" : ", ") + code.name;
    }
    return text.empty() ? "(none)" : text;
}

/// The codes of one type the request names, checked against the service's list.
std::vector<ConcludedCode> pick(const std::vector<std::string>& named,
                                const std::vector<Code>& offered, CodeType type,
                                const Session& session, std::vector<std::string>& problems) {
    std::vector<ConcludedCode> picked;
    for (const std::string& reference : named) {
        const std::string nfc = names::clean_reference(reference, "code name");
        // "id:12" (in any case) names a code by id, never by name.
        const auto id = codes::parse_id_reference(nfc);
        const auto match = std::find_if(offered.begin(), offered.end(), [&](const Code& code) {
            return id ? code.id == *id : names::name_key(code.name) == names::name_key(nfc);
        });
        if (match == offered.end()) {
            problems.push_back(fmt::format("code \"{}\" is not in the {} list of service \"{}\"",
                                           nfc, to_string(type), session.service_name));
            continue;
        }
        if (std::any_of(picked.begin(), picked.end(),
                        [&](const ConcludedCode& c) { return c.code_id == match->id; })) {
            problems.push_back(fmt::format("code \"{}\" is given twice", match->name));
            continue;
        }
        picked.push_back(ConcludedCode{match->id, type, match->name});
    }
    return picked;
}

} // namespace

namespace {

/// The sessions the actor may see, as a query to narrow down.
store::SessionQuery visible(store::ReadTransaction& tx, const Actor& actor) {
    store::SessionQuery query;
    query.own_user = actor.user->login;
    const policy::Filter readable(actor, policy::Action::ReadSessions);
    query.everything = readable.everything();
    if (!query.everything) {
        for (const Service& service : tx.services()) {
            const policy::Scope scope =
                policy::Scope::session({}, services::scope_of(service), std::string{});
            if (readable.permits(scope)) {
                query.service_ids.push_back(service.id);
            }
        }
    }
    return query;
}

} // namespace

std::vector<Session> list(store::ReadTransaction& tx, const Actor& actor,
                          const ListFilter& filter) {
    store::SessionQuery query = visible(tx, actor);
    query.only_own = filter.mine;
    query.concluded = filter.concluded;
    if (filter.service) {
        query.service_id = services::find(tx, *filter.service).id;
    }
    query.since = filter.since;
    query.overdue_at = filter.overdue_at;
    query.limit = filter.limit;
    return tx.sessions(query);
}

Session resolve(store::ReadTransaction& tx, const Actor& actor, std::string_view reference) {
    if (!text::is_valid_utf8(reference)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("session id {}", text::describe_invalid_utf8(reference)));
    }
    const std::string given(text::trim(reference));
    // The whole reference as an id, and the id after each '/': one query for all.
    std::vector<std::string> ids{given};
    for (std::size_t slash = given.find('/'); slash != std::string::npos;
         slash = given.find('/', slash + 1)) {
        ids.push_back(given.substr(slash + 1));
    }
    const std::vector<Session> visible = visible_sessions(tx, actor, ids);
    std::vector<Session> matches;
    std::copy_if(visible.begin(), visible.end(), std::back_inserter(matches),
                 [&](const Session& session) { return session.external_id == given; });
    if (auto session = only(std::move(matches), given)) {
        return *session;
    }
    // SERVICE/ID, split at any '/': service names and ids may hold one too.
    matches.clear();
    for (std::size_t slash = given.find('/'); slash != std::string::npos;
         slash = given.find('/', slash + 1)) {
        const std::string service =
            names::name_key(names::clean_reference(given.substr(0, slash), "service name"));
        const std::string_view id = std::string_view(given).substr(slash + 1);
        std::copy_if(visible.begin(), visible.end(), std::back_inserter(matches),
                     [&](const Session& session) {
                         return session.external_id == id &&
                                names::name_key(session.service_name) == service;
                     });
    }
    if (auto session = only(std::move(matches), given)) {
        return *session;
    }
    throw Error(ErrorKind::NotFound, fmt::format("session \"{}\" does not exist", given),
                "list your sessions with 'nimbus-codes session list'");
}

std::vector<std::string> references(store::ReadTransaction& tx, const Actor& actor,
                                    const std::vector<Session>& sessions) {
    std::vector<std::string> ids;
    for (const Session& session : sessions) {
        ids.push_back(session.external_id);
    }
    std::map<std::string, std::size_t, std::less<>> services_per_id;
    for (const Session& session : visible_sessions(tx, actor, ids)) {
        ++services_per_id[session.external_id];
    }
    std::vector<std::string> named;
    for (const Session& session : sessions) {
        const auto seen = services_per_id.find(session.external_id);
        named.push_back(seen != services_per_id.end() && seen->second > 1 ? qualified(session)
                                                                          : session.external_id);
    }
    return named;
}

Detail show(store::ReadTransaction& tx, const Actor& actor, std::string_view reference) {
    Session session = resolve(tx, actor, reference);
    const Service service = services::find(tx, session.service_name);
    return detail_of(tx, service, std::move(session));
}

Detail concludable(store::ReadTransaction& tx, const Actor& actor, std::string_view reference) {
    Session session = resolve(tx, actor, reference);
    policy::require(actor, policy::Action::ConcludeSession, scope_of(session));
    // Looked up once: every round trip counts on a server.
    const Service service = services::find(tx, session.service_name);
    if (session.conclusion) {
        const Conclusion& done = *session.conclusion;
        const std::string who =
            done.by_default
                ? fmt::format("by default (its after-call work deadline {} had passed; swept by "
                              "{})",
                              timefmt::to_utc_string(*done.by_default), done.via.value_or(""))
                : fmt::format("by {}{}", done.user, done.via ? " via " + *done.via : "");
        throw Error(
            ErrorKind::Conflict,
            fmt::format("session \"{}\" was concluded {} at {}; a conclusion is final",
                        session.external_id, who, timefmt::to_utc_string(done.at)),
            fmt::format("see it with 'nimbus-codes session show {}'", text::trim(reference)));
    }
    Detail detail = detail_of(tx, service, std::move(session));
    if (!detail.codes_and_tags_enabled) {
        throw Error(ErrorKind::NotLicensed,
                    fmt::format("codes and tags are not enabled for service \"{}\"",
                                detail.session.service_name),
                    fmt::format("a {} can enable them: nimbus-codes extension enable \"{}\" "
                                "codes-and-tags",
                                policy::describe_roles(
                                    policy::rule_for(policy::Action::ConfigureService).roles),
                                detail.session.service_name));
    }
    return detail;
}

std::vector<Session> concludable_sessions(store::ReadTransaction& tx, const Actor& actor,
                                          std::int64_t limit) {
    std::map<std::int64_t, bool> enabled; // service id -> codes and tags on
    for (const Service& service : tx.services()) {
        enabled[service.id] = services::settings(tx, service).is_enabled(codes_and_tags);
    }
    ListFilter filter;
    filter.mine = true;
    filter.concluded = false;
    std::vector<Session> sessions = list(tx, actor, filter);
    std::erase_if(sessions, [&](const Session& s) { return !enabled[s.service_id]; });
    if (sessions.size() > static_cast<std::size_t>(limit)) {
        sessions.resize(static_cast<std::size_t>(limit));
    }
    return sessions;
}

Detail conclude(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                const ConcludeRequest& request) {
    Detail detail = concludable(tx, actor, request.session);
    const Session& session = detail.session;
    if (request.primary.empty() && request.secondary.empty() && request.tags.empty()) {
        throw Error(ErrorKind::Usage, "a conclusion needs at least one code or tag",
                    fmt::format("primary codes of \"{}\": {}; secondary: {}", session.service_name,
                                names_of(detail.offered_primary),
                                names_of(detail.offered_secondary)));
    }
    std::vector<std::string> problems;
    Conclusion conclusion;
    conclusion.codes =
        pick(request.primary, detail.offered_primary, CodeType::Primary, session, problems);
    std::vector<ConcludedCode> secondary =
        pick(request.secondary, detail.offered_secondary, CodeType::Secondary, session, problems);
    if (!problems.empty()) {
        std::string message = problems.front();
        for (std::size_t i = 1; i < problems.size(); ++i) {
            message += "; " + problems[i];
        }
        throw Error(ErrorKind::InvalidData, message,
                    fmt::format("allowed primary codes: {}; secondary: {}",
                                names_of(detail.offered_primary),
                                names_of(detail.offered_secondary)));
    }
    conclusion.codes.insert(conclusion.codes.end(), secondary.begin(), secondary.end());
    conclusion.tags = tags::clean_tags(request.tags);
    conclusion.at = audit.now();
    conclusion.user = actor.user->login;
    conclusion.via = actor.via();
    conclusion.retroactive = is_retroactive(conclusion.at, session.ended_at);

    store::NewConclusion entry;
    entry.session_id = session.id;
    entry.conclusion = conclusion;
    for (const std::string& tag : conclusion.tags) {
        entry.tag_keys.push_back(tags::tag_key(tag));
    }
    tx.insert_conclusion(entry);

    nlohmann::ordered_json codes = nlohmann::ordered_json::array();
    for (const ConcludedCode& code : conclusion.codes) {
        codes.push_back(
            {{"id", code.code_id}, {"type", to_string(code.type)}, {"name", code.name}});
    }
    // The id names a session within its service only: the record names both.
    audit.record("session.conclude", "session " + session.external_id, detail.service.ou_id,
                 nullptr,
                 {{"service", detail.service.name},
                  {"codes", codes},
                  {"tags", conclusion.tags},
                  {"retroactive", conclusion.retroactive}});
    detail.session.conclusion = std::move(conclusion);
    return detail;
}

} // namespace nimbus::sessions

namespace nimbus::sessions {

bool CallFields::shown(const Session& session) {
    const auto known = shown_.find(session.service_id);
    if (known != shown_.end()) {
        return known->second;
    }
    // The service's sessions as a whole, not this one as its agent's.
    const policy::Scope service_wide = policy::Scope::session(
        {},
        policy::Scope::service(session.service_name, names::name_key(session.service_name),
                               names::name_key(session.service_ou)),
        std::string{});
    const bool shown = policy::permits(actor_, policy::Action::ReadSessions, service_wide) ||
                       features_.enabled(session.service_id, "session-details");
    shown_.emplace(session.service_id, shown);
    return shown;
}

std::optional<CallHistory> history(store::ReadTransaction& tx, const Actor& actor,
                                   services::Features& features, const Session& session) {
    if (!features.enabled(session.service_id, "session-details")) {
        return std::nullopt;
    }
    CallHistory history;
    if (text::trim(session.caller).empty()) {
        return history;
    }
    store::SessionQuery query = visible(tx, actor);
    query.service_id = session.service_id;
    query.caller = session.caller;
    query.before = session.started_at;
    const std::vector<Session> earlier = tx.sessions(query);
    history.earlier_sessions = static_cast<std::int64_t>(earlier.size());
    const auto concluded = std::find_if(earlier.begin(), earlier.end(),
                                        [](const Session& s) { return s.conclusion.has_value(); });
    if (concluded != earlier.end()) {
        // Again, with its codes and tags.
        for (Session& whole : tx.sessions_with_external_ids({concluded->external_id})) {
            if (whole.id == concluded->id) {
                history.previous = std::move(whole);
            }
        }
    }
    return history;
}

} // namespace nimbus::sessions
