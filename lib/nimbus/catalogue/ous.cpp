#include <nimbus/catalogue/ous.hpp>

#include <algorithm>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/audit/history.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>

namespace nimbus::ous {
namespace {

nlohmann::ordered_json snapshot(const Ou& ou) {
    return {{"id", ou.id}, {"path", ou.path}};
}

std::string target(const Ou& ou) {
    return fmt::format("ou {}", ou.path);
}

/// Refuses a new OU whose name looks like a sibling's: the same parent.
void refuse_lookalike(store::ReadTransaction& tx, const Ou& parent, std::string_view name) {
    for (const Ou& other : tx.ous()) {
        if (other.parent_id == parent.id && names::look_alike(name, other.name)) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("OU name \"{}\" looks like OU \"{}\"", name, other.path),
                        "no one could tell the two apart; choose a name that differs in more "
                        "than look-alike letters");
        }
    }
}

[[noreturn]] void throw_outside_root(std::string_view path, const Ou& tenant) {
    throw Error(
        ErrorKind::InvalidData,
        fmt::format("OU path \"{}\" does not start at the tenant root \"{}\"", path, tenant.path),
        fmt::format("write the full path from the root, e.g. {}/{}", tenant.path,
                    names::ou_leaf(path)));
}

/// Creates an OU below `parent` (none: the root), its audit record filed
/// under `filed_under` (the root's under itself).
Ou insert(store::WriteTransaction& tx, AuditTrail& audit, const Ou* parent, std::string path,
          const Ou* filed_under) {
    Ou ou;
    ou.parent_id = parent ? std::optional(parent->id) : std::nullopt;
    ou.name = std::string(names::ou_leaf(path));
    ou.path_key = names::name_key(path);
    ou.path = std::move(path);
    ou.created_at = audit.now();
    ou.id = tx.insert_ou(store::NewOu{ou.parent_id, ou.name, ou.path, ou.path_key, ou.created_at});
    audit.record("ou.create", target(ou), filed_under ? filed_under->id : ou.id, nullptr,
                 snapshot(ou));
    return ou;
}

} // namespace

Ou find(store::ReadTransaction& tx, std::string_view path) {
    const std::string clean = names::clean_ou_path(path);
    if (auto ou = tx.find_ou(names::name_key(clean))) {
        return *ou;
    }
    // Not there: say why when the path itself is wrong.
    const Ou tenant = root(tx);
    if (names::name_key(names::ou_components(clean).front()) != tenant.path_key) {
        throw_outside_root(clean, tenant);
    }
    if (names::has_dot_component(clean)) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("OU path \"{}\" has a component \".\" or \"..\"", clean),
                    "OU paths are written out from the tenant root, without . or ..");
    }
    throw Error(ErrorKind::NotFound, fmt::format("OU \"{}\" does not exist", clean),
                "list OUs with 'nimbus-codes ou list'");
}

Ou root(store::ReadTransaction& tx) {
    if (auto ou = tx.root_ou()) {
        return *ou;
    }
    throw Error(ErrorKind::Internal, "the store has no tenant root",
                "run 'nimbus-codes init --tenant NAME'");
}

Ou create_tenant(store::WriteTransaction& tx, AuditTrail& audit, std::string_view name) {
    return insert(tx, audit, nullptr, names::clean_new_name(name, "tenant name"), nullptr);
}

Creation create(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                std::string_view path, bool parents) {
    const std::string clean = names::clean_ou_path(path);
    const std::vector<std::string_view> parts = names::ou_components(clean);
    const Ou tenant = root(tx);
    if (names::name_key(parts.front()) != tenant.path_key) {
        throw_outside_root(clean, tenant);
    }

    // Walk down from the root, creating what is missing. Existing ancestors
    // keep their own spelling in the new paths.
    Creation result;
    Ou current = tenant;
    // New OUs are filed under the OU they were created in, the nearest that
    // existed, where those who may create them act: a record filed under an
    // OU keeps it from being deleted, and OUs made together go together.
    std::optional<Ou> existing_ancestor;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        std::string child_path = fmt::format("{}/{}", current.path, parts[i]);
        if (auto existing = tx.find_ou(names::name_key(child_path))) {
            current = *existing;
            continue;
        }
        // A name no OU may have is refused, --parents or not (and the caller's
        // transaction undoes any parent created before it).
        const std::string name = names::clean_new_name(parts[i], "OU name");
        if (i + 1 < parts.size() && !parents) {
            throw Error(ErrorKind::NotFound, fmt::format("OU \"{}\" does not exist", child_path),
                        "create it first, or pass --parents to create missing OUs");
        }
        policy::require(actor, policy::Action::CreateOu,
                        policy::Scope::ou(current.path, current.path_key));
        require_active(current);
        refuse_lookalike(tx, current, name);
        if (!existing_ancestor) {
            existing_ancestor = current;
        }
        current = insert(tx, audit, &current, std::move(child_path), &*existing_ancestor);
        result.created.push_back(current);
    }
    if (result.created.empty()) {
        // An existing OU: only those who could create it, or below it, learn that it exists.
        const auto parent = current.parent_id
                                ? tx.find_ou(names::name_key(names::ou_parent(current.path)))
                                : std::nullopt;
        if (!policy::permits(actor, policy::Action::CreateOu,
                             policy::Scope::ou(current.path, current.path_key))) {
            policy::require(actor, policy::Action::CreateOu,
                            parent ? policy::Scope::ou(parent->path, parent->path_key)
                                   : policy::Scope::tenant());
        }
    }
    result.ou = current;
    return result;
}

void require_active(const Ou& ou) {
    if (ou.retired()) {
        throw Error(ErrorKind::Conflict,
                    fmt::format("OU \"{}\" is retired: nothing new is made in it", ou.path),
                    fmt::format("restore it first: nimbus-codes ou restore \"{}\"", ou.path));
    }
}

namespace {

/// The OU at `path` and its parent, which the create-ou rule checks; the
/// root, which has none, is refused for `doing` ("retired", "deleted").
std::pair<Ou, Ou> with_parent(store::ReadTransaction& tx, const Actor& actor, std::string_view path,
                              std::string_view doing) {
    const Ou ou = find(tx, path);
    if (!ou.parent_id) {
        throw Error(ErrorKind::Usage,
                    fmt::format("OU \"{}\" is the tenant root, which is never {}", ou.path, doing));
    }
    const Ou parent = find(tx, names::ou_parent(ou.path));
    policy::require(actor, policy::Action::CreateOu,
                    policy::Scope::ou(parent.path, parent.path_key));
    return {ou, parent};
}

nlohmann::ordered_json retirement(const std::optional<Timestamp>& at) {
    return {{"retired_at", at ? nlohmann::ordered_json(timefmt::to_utc_string(*at))
                              : nlohmann::ordered_json(nullptr)}};
}

/// "a", "a and b", "a, b and 3 more": what names an OU, for messages.
std::string some_of(const std::vector<std::string>& items) {
    constexpr std::size_t named = 3;
    std::string text;
    const std::size_t shown = std::min(items.size(), named);
    for (std::size_t i = 0; i < shown; ++i) {
        text += i == 0 ? "" : (i + 1 == shown && items.size() <= named) ? " and " : ", ";
        text += items[i];
    }
    if (items.size() > named) {
        text += fmt::format(" and {} more", items.size() - named);
    }
    return text;
}

/// The OUs strictly below `ou`.
std::vector<Ou> below(store::ReadTransaction& tx, const Ou& ou) {
    std::vector<Ou> result;
    for (Ou& other : tx.ous()) {
        if (other.id != ou.id && names::ou_within(other.path_key, ou.path_key)) {
            result.push_back(std::move(other));
        }
    }
    return result;
}

} // namespace

Change retire(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              std::string_view path) {
    const auto [ou, parent] = with_parent(tx, actor, path, "retired");
    if (ou.retired()) {
        return Change{false, ou};
    }
    std::vector<std::string> active;
    for (const Ou& other : below(tx, ou)) {
        if (!other.retired()) {
            active.push_back(fmt::format("OU \"{}\"", other.path));
        }
    }
    for (const Service& service : tx.services()) {
        if (!service.retired() && names::ou_within(names::name_key(service.ou_path), ou.path_key)) {
            active.push_back(fmt::format("service \"{}\"", service.name));
        }
    }
    if (!active.empty()) {
        throw Error(ErrorKind::Conflict,
                    fmt::format("OU \"{}\" still has {} active: {}", ou.path,
                                active.size() == 1 ? "one thing" : "things", some_of(active)),
                    "retire what is under it first (service retire, ou retire)");
    }
    Ou after = ou;
    after.retired_at = audit.now();
    tx.set_ou_retired(ou.id, after.retired_at);
    audit.record("ou.retire", target(ou), parent.id, retirement(ou.retired_at),
                 retirement(after.retired_at));
    return Change{true, after};
}

Change restore(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
               std::string_view path) {
    const auto [ou, parent] = with_parent(tx, actor, path, "retired");
    if (!ou.retired()) {
        return Change{false, ou};
    }
    if (parent.retired()) {
        throw Error(
            ErrorKind::Conflict,
            fmt::format("OU \"{}\" is in OU \"{}\", which is retired", ou.path, parent.path),
            fmt::format("restore that first: nimbus-codes ou restore \"{}\"", parent.path));
    }
    Ou after = ou;
    after.retired_at.reset();
    tx.set_ou_retired(ou.id, std::nullopt);
    audit.record("ou.restore", target(ou), parent.id, retirement(ou.retired_at),
                 retirement(after.retired_at));
    return Change{true, after};
}

std::vector<Ou> remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                       const identity::Identity& identity, std::string_view path) {
    const auto [top, parent] = with_parent(tx, actor, path, "deleted");
    std::vector<Ou> subtree = below(tx, top);
    subtree.insert(subtree.begin(), top);
    const auto inside = [&](std::int64_t ou_id) {
        return std::any_of(subtree.begin(), subtree.end(),
                           [&](const Ou& ou) { return ou.id == ou_id; });
    };
    std::vector<std::string> uses;
    const auto note_if = [&](bool used, std::string what) {
        if (used) {
            uses.push_back(std::move(what));
        }
    };
    const std::vector<Service> all_services = tx.services();
    note_if(std::any_of(all_services.begin(), all_services.end(),
                        [&](const Service& s) { return inside(s.ou_id); }),
            "services");
    const std::vector<Code> all_codes = tx.codes(store::CodeFilter{std::nullopt, true});
    note_if(std::any_of(all_codes.begin(), all_codes.end(),
                        [&](const Code& c) { return inside(c.ou_id); }),
            "codes");
    const std::vector<Directory> directories = tx.directories();
    note_if(std::any_of(directories.begin(), directories.end(),
                        [&](const Directory& d) { return inside(d.ou_id); }),
            "a caller directory");
    const std::vector<ContextField> fields = tx.context_fields();
    note_if(std::any_of(fields.begin(), fields.end(),
                        [&](const ContextField& f) { return inside(f.ou_id); }),
            "context fields");
    for (const Ou& ou : subtree) {
        note_if(ou.retired(), fmt::format("the retirement of \"{}\"", ou.path));
        if (const auto since = audit::changed_since_creation(tx, target(ou), "ou.create")) {
            uses.push_back(fmt::format("history of \"{}\" ({})", ou.path, *since));
        }
        store::AuditFilter filed;
        filed.ou_id = ou.id;
        // Changes made in it (OUs created in it since, or, before schema 15,
        // its own creation) are filed under it for good.
        note_if(!tx.audit_entries(filed).empty(),
                fmt::format("audit records filed under \"{}\"", ou.path));
        // A new OU of its path would make them admin again.
        for (const std::string& login : identity.granted_ou(ou.path)) {
            uses.push_back(fmt::format("the grants of {} in {}", login, identity.source));
        }
    }
    if (!uses.empty()) {
        throw Error(ErrorKind::Conflict,
                    fmt::format("OU \"{}\" has been used ({}): it is never deleted", top.path,
                                some_of(uses)),
                    fmt::format("retire it instead: nimbus-codes ou retire \"{}\"", top.path));
    }
    // The deepest first: a parent goes after its children.
    std::sort(subtree.begin(), subtree.end(),
              [](const Ou& a, const Ou& b) { return a.path_key.size() > b.path_key.size(); });
    // Each row before its record: the store refuses to delete an OU with any
    // record since its creation.
    for (const Ou& ou : subtree) {
        tx.delete_ou(ou.id);
        audit.record("ou.delete", target(ou), parent.id, snapshot(ou), nullptr);
    }
    if (tx.find_ou(top.path_key)) {
        // Row level security hides a row from a DELETE it does not allow.
        throw Error(
            ErrorKind::PermissionDenied,
            fmt::format("the server did not let {} delete OU \"{}\"", actor.display(), top.path));
    }
    std::reverse(subtree.begin(), subtree.end());
    return subtree;
}

} // namespace nimbus::ous
