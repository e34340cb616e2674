// session list, show and conclude.
#include <nimbus/sessions/sessions.hpp>

#include <algorithm>
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

Session find(store::ReadTransaction& tx, std::string_view id) {
    if (!text::is_valid_utf8(id)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("session id {}", text::describe_invalid_utf8(id)));
    }
    const std::string_view trimmed = text::trim(id);
    if (auto session = tx.find_session(trimmed)) {
        return *session;
    }
    throw Error(ErrorKind::NotFound, fmt::format("session \"{}\" does not exist", trimmed),
                "list your sessions with 'nimbus-codes session list'");
}

policy::Scope scope_of(const Service& service, const Session& session) {
    return policy::Scope::session(session.external_id, services::scope_of(service), session.user);
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
std::vector<ConcludedCode> pick(const std::vector<std::string>& references,
                                const std::vector<Code>& offered, CodeType type,
                                const Session& session, std::vector<std::string>& problems) {
    std::vector<ConcludedCode> picked;
    for (const std::string& reference : references) {
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

std::vector<Session> list(store::ReadTransaction& tx, const Actor& actor,
                          const ListFilter& filter) {
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
    query.only_own = filter.mine;
    query.concluded = filter.concluded;
    if (filter.service) {
        query.service_id = services::find(tx, *filter.service).id;
    }
    query.since = filter.since;
    query.limit = filter.limit;
    return tx.sessions(query);
}

Detail show(store::ReadTransaction& tx, const Actor& actor, std::string_view id) {
    Session session = find(tx, id);
    const Service service = services::find(tx, session.service_name);
    policy::require(actor, policy::Action::ReadSessions, scope_of(service, session));
    return detail_of(tx, service, std::move(session));
}

Detail concludable(store::ReadTransaction& tx, const Actor& actor, std::string_view id) {
    Session session = find(tx, id);
    // Looked up once: every round trip counts on a server.
    const Service service = services::find(tx, session.service_name);
    policy::require(actor, policy::Action::ConcludeSession, scope_of(service, session));
    if (session.conclusion) {
        const Conclusion& done = *session.conclusion;
        throw Error(ErrorKind::Conflict,
                    fmt::format("session \"{}\" was concluded by {}{} at {}; a conclusion is final",
                                session.external_id, done.user,
                                done.via ? " via " + *done.via : std::string{},
                                timefmt::to_utc_string(done.at)),
                    fmt::format("see it with 'nimbus-codes session show {}'", session.external_id));
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
    audit.record(
        "session.conclude", "session " + session.external_id, detail.service.ou_id, nullptr,
        {{"codes", codes}, {"tags", conclusion.tags}, {"retroactive", conclusion.retroactive}});
    detail.session.conclusion = std::move(conclusion);
    return detail;
}

} // namespace nimbus::sessions
