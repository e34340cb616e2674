#include <nimbus/audit/trail.hpp>

#include <nlohmann/json.hpp>

namespace nimbus {

AuditTrail::AuditTrail(store::WriteTransaction& tx, std::string user,
                       std::optional<std::string> via, Timestamp now)
    : tx_(tx)
    , user_(std::move(user))
    , via_(std::move(via))
    , now_(now) {}

AuditTrail::AuditTrail(store::WriteTransaction& tx, const Actor& actor, Timestamp now)
    : AuditTrail(tx, actor.user->login, actor.via(), now) {}

void AuditTrail::record(std::string_view action, std::string target,
                        std::optional<std::int64_t> ou_id, const nlohmann::ordered_json& before,
                        const nlohmann::ordered_json& after) {
    store::NewAuditEntry entry;
    entry.at = now_;
    entry.user = user_;
    entry.via = via_;
    entry.ou_id = ou_id;
    entry.action = std::string(action);
    entry.target = std::move(target);
    entry.before = before.is_null() ? std::string{} : before.dump();
    entry.after = after.is_null() ? std::string{} : after.dump();
    tx_.append_audit(entry);
}

} // namespace nimbus
