#include <nimbus/sessions/sweep.hpp>

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/services.hpp>

namespace nimbus::sessions {

const std::optional<WrapUp>& Deadlines::policy(const Session& session) {
    auto known = policies_.find(session.service_id);
    if (known == policies_.end()) {
        const Service service = services::find(tx_, session.service_name);
        known =
            policies_.emplace(session.service_id, services::settings(tx_, service).wrap_up).first;
    }
    return known->second;
}

std::optional<Timestamp> Deadlines::deadline(const Session& session) {
    const std::optional<WrapUp>& found = policy(session);
    if (!found || !session.ended_at) {
        return std::nullopt;
    }
    return *session.ended_at + found->deadline;
}

std::vector<Session> overdue(store::ReadTransaction& tx, const Actor& actor,
                             const SweepOptions& options, Timestamp now) {
    store::SessionQuery query;
    query.overdue_at = now;
    query.after_id = options.after_id;
    query.limit = static_cast<std::int64_t>(options.limit);
    if (options.service) {
        const Service service = services::find(tx, *options.service);
        policy::require(actor, policy::Action::SweepSessions, services::scope_of(service));
        query.everything = true;
        query.service_id = service.id;
        return tx.sessions(query);
    }
    const policy::Filter sweepable(actor, policy::Action::SweepSessions);
    query.everything = sweepable.everything();
    if (!query.everything) {
        for (const Service& service : tx.services()) {
            if (sweepable.permits(services::scope_of(service))) {
                query.service_ids.push_back(service.id);
            }
        }
        if (query.service_ids.empty()) {
            return {};
        }
    }
    return tx.sessions(query);
}

std::vector<Session> plan_sweep(store::ReadTransaction& tx, const Actor& actor,
                                const SweepOptions& options, Timestamp now) {
    std::vector<Session> due = overdue(tx, actor, options, now);
    Deadlines deadlines(tx);
    for (Session& session : due) {
        const std::optional<Timestamp> deadline = deadlines.deadline(session);
        if (!deadline) {
            throw Error(ErrorKind::Internal,
                        fmt::format("session {} of service \"{}\" is not overdue",
                                    session.external_id, session.service_name));
        }
        const WrapUp& policy = *deadlines.policy(session);
        Conclusion conclusion;
        conclusion.at = now;
        conclusion.user = session.user;
        conclusion.via = actor.via().value_or(actor.user->login);
        conclusion.retroactive = is_retroactive(conclusion.at, session.ended_at);
        conclusion.by_default = deadline;
        conclusion.codes.push_back(ConcludedCode{policy.default_primary.id, CodeType::Primary,
                                                 policy.default_primary.name});
        if (policy.default_secondary) {
            conclusion.codes.push_back(ConcludedCode{
                policy.default_secondary->id, CodeType::Secondary, policy.default_secondary->name});
        }
        session.conclusion = std::move(conclusion);
    }
    return due;
}

std::vector<Session> sweep(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                           const SweepOptions& options) {
    std::vector<Session> swept = plan_sweep(tx, actor, options, audit.now());
    // One audit record per service: its policy, and the sessions concluded.
    std::map<std::int64_t, std::pair<const Session*, nlohmann::ordered_json>> concluded;
    for (const Session& session : swept) {
        const Conclusion& conclusion = *session.conclusion;
        tx.insert_conclusion(store::NewConclusion{session.id, conclusion, {}});
        auto& [first, sessions] = concluded[session.service_id];
        if (first == nullptr) {
            first = &session;
            sessions = nlohmann::ordered_json::array();
        }
        sessions.push_back({{"id", session.external_id},
                            {"user", session.user},
                            {"deadline_at", timefmt::to_utc_string(*conclusion.by_default)}});
    }
    for (auto& [service_id, record] : concluded) {
        const Session& first = *record.first;
        nlohmann::ordered_json codes = nlohmann::ordered_json::array();
        for (const ConcludedCode& code : first.conclusion->codes) {
            codes.push_back({{"type", to_string(code.type)}, {"name", code.name}});
        }
        const Service service = services::find(tx, first.service_name);
        audit.record("session.sweep", "service " + service.name, service.ou_id, nullptr,
                     {{"codes", std::move(codes)}, {"sessions", std::move(record.second)}});
    }
    return swept;
}

} // namespace nimbus::sessions
