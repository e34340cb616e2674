#include <nimbus/catalogue/ous.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>

namespace nimbus::ous {
namespace {

nlohmann::ordered_json snapshot(const Ou& ou) {
    return {{"id", ou.id}, {"path", ou.path}};
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

Ou insert(store::WriteTransaction& tx, AuditTrail& audit, const Ou* parent, std::string path) {
    Ou ou;
    ou.parent_id = parent ? std::optional(parent->id) : std::nullopt;
    ou.name = std::string(names::ou_leaf(path));
    ou.path_key = names::name_key(path);
    ou.path = std::move(path);
    ou.created_at = audit.now();
    ou.id = tx.insert_ou(store::NewOu{ou.parent_id, ou.name, ou.path, ou.path_key, ou.created_at});
    audit.record("ou.create", fmt::format("ou {}", ou.path), ou.id, nullptr, snapshot(ou));
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
    return insert(tx, audit, nullptr, names::clean_new_name(name, "tenant name"));
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
        refuse_lookalike(tx, current, name);
        current = insert(tx, audit, &current, std::move(child_path));
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

} // namespace nimbus::ous
