#include <nimbus/catalogue/codes.hpp>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/code_lists.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::codes {
namespace {

constexpr std::string_view id_prefix = "id:";

std::string describe(const Code& code) {
    return fmt::format("id:{} ({}, {}{})", code.id, to_string(code.type), code.ou_path,
                       code.deleted() ? ", deleted" : "");
}

nlohmann::ordered_json snapshot(const Code& code) {
    nlohmann::ordered_json json = {{"id", code.id},
                                   {"type", to_string(code.type)},
                                   {"name", code.name},
                                   {"description", code.description},
                                   {"ou", code.ou_path}};
    if (code.deleted_at) {
        json["deleted_at"] = timefmt::to_utc_string(*code.deleted_at);
    }
    return json;
}

std::string target(const Code& code) {
    return fmt::format("code id:{}", code.id);
}

bool along_path(const Code& code, const Ou& ou) {
    const std::string key = names::name_key(code.ou_path);
    return names::ou_within(ou.path_key, key) || names::ou_within(key, ou.path_key);
}

/// A live code of the same type and name key on the same OU path as `ou`, if any.
std::optional<Code> find_clash(store::ReadTransaction& tx, CodeType type, std::string_view key,
                               const Ou& ou, std::optional<std::int64_t> except) {
    for (Code& other : tx.find_codes_by_name(key)) {
        if (other.deleted() || other.type != type || other.id == except) {
            continue;
        }
        if (along_path(other, ou)) {
            return std::move(other);
        }
    }
    return std::nullopt;
}

/// Refuses `name` when it looks like a live code of the same type on the same
/// OU path as `ou`: a service there could offer both, side by side.
void refuse_lookalike(store::ReadTransaction& tx, CodeType type, std::string_view name,
                      const Ou& ou, std::optional<std::int64_t> except) {
    for (const Code& other : tx.codes(store::CodeFilter{type, false})) {
        if (other.id != except && along_path(other, ou) && names::look_alike(name, other.name)) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("code name \"{}\" looks like {} code \"{}\" (id:{}) in OU "
                                    "\"{}\"",
                                    name, to_string(type), other.name, other.id, other.ou_path),
                        "agents could not tell the two apart; choose a name that differs in "
                        "more than look-alike letters, or use that code");
        }
    }
}

[[noreturn]] void throw_clash(const Code& clash) {
    throw Error(ErrorKind::Conflict,
                fmt::format("a {} code named \"{}\" already exists in OU \"{}\" (id:{})",
                            to_string(clash.type), clash.name, clash.ou_path, clash.id),
                "names are unique per type along an OU path; change that code with "
                "'nimbus-codes code edit id:" +
                    std::to_string(clash.id) + "'");
}

void require_change(const Actor& actor, store::ReadTransaction& tx, const Code& code) {
    const Ou ou = ous::find(tx, code.ou_path);
    policy::require(actor, policy::Action::ChangeCodes, policy::Scope::ou(ou.path, ou.path_key));
}

} // namespace

std::optional<std::int64_t> parse_id_reference(std::string_view text) {
    const std::string_view trimmed = text::trim(text);
    if (trimmed.size() <= id_prefix.size() || (trimmed[0] != 'i' && trimmed[0] != 'I') ||
        (trimmed[1] != 'd' && trimmed[1] != 'D') || trimmed[2] != ':') {
        return std::nullopt;
    }
    const std::string_view digits = trimmed.substr(id_prefix.size());
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc{} || end != digits.data() + digits.size() || id <= 0) {
        return std::nullopt;
    }
    return id;
}

Code resolve(store::ReadTransaction& tx, const Reference& ref) {
    if (const auto id = parse_id_reference(ref.text)) {
        if (auto code = tx.find_code(*id)) {
            return *code;
        }
        throw Error(ErrorKind::NotFound, fmt::format("there is no code with id {}", *id),
                    "list codes with 'nimbus-codes code list --include-deleted'");
    }
    const std::string name = names::clean_reference(ref.text, "code name");
    if (name.empty()) {
        throw Error(ErrorKind::InvalidData, "a code must be named by its name or as id:N");
    }
    const std::string ou_key =
        ref.ou_path ? names::name_key(names::clean_ou_path(*ref.ou_path)) : std::string{};
    std::vector<Code> candidates = tx.find_codes_by_name(names::name_key(name));
    std::erase_if(candidates, [&](const Code& code) {
        return (ref.type && code.type != *ref.type) ||
               (ref.ou_path && names::name_key(code.ou_path) != ou_key);
    });
    if (std::any_of(candidates.begin(), candidates.end(),
                    [](const Code& c) { return !c.deleted(); })) {
        std::erase_if(candidates, [](const Code& code) { return code.deleted(); });
    }
    if (candidates.empty()) {
        throw Error(ErrorKind::NotFound, fmt::format("there is no code named \"{}\"", name),
                    "list codes with 'nimbus-codes code list'");
    }
    if (candidates.size() > 1) {
        std::string list;
        for (const Code& code : candidates) {
            list += (list.empty() ? "" : ", ") + describe(code);
        }
        throw Error(
            ErrorKind::Usage, fmt::format("code name \"{}\" is ambiguous: {}", name, list),
            fmt::format("name the code by id (e.g. id:{}), or narrow it with --type or --ou",
                        candidates.front().id));
    }
    return candidates.front();
}

Change create(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Draft& draft) {
    const std::string name = names::clean_new_name(draft.name, "code name");
    const std::string description = names::clean_description(draft.description);
    const Ou ou = draft.ou_path ? ous::find(tx, *draft.ou_path) : ous::root(tx);
    policy::require(actor, policy::Action::ChangeCodes, policy::Scope::ou(ou.path, ou.path_key));

    const std::string key = names::name_key(name);
    if (auto clash = find_clash(tx, draft.type, key, ou, std::nullopt)) {
        if (clash->ou_id == ou.id && clash->name == name && clash->description == description) {
            return Change{Outcome::Unchanged, *clash};
        }
        throw_clash(*clash);
    }
    ous::require_active(ou);
    refuse_lookalike(tx, draft.type, name, ou, std::nullopt);

    Code code;
    code.type = draft.type;
    code.name = name;
    code.description = description;
    code.ou_id = ou.id;
    code.ou_path = ou.path;
    code.created_at = audit.now();
    code.id = tx.insert_code(
        store::NewCode{code.type, code.name, key, code.description, ou.id, code.created_at});
    audit.record("code.create", target(code), ou.id, nullptr, snapshot(code));
    return Change{Outcome::Created, code};
}

Change edit(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
            const Reference& ref, const Edit& edit) {
    if (!edit.name && !edit.description) {
        throw Error(ErrorKind::Usage, "nothing to change", "give --name or --description");
    }
    const Code before = resolve(tx, ref);
    require_change(actor, tx, before);
    if (before.deleted()) {
        throw Error(ErrorKind::Conflict,
                    fmt::format("code id:{} \"{}\" is deleted and cannot be edited", before.id,
                                before.name));
    }
    Code after = before;
    if (edit.name) {
        after.name = names::clean_new_name(*edit.name, "code name");
    }
    if (edit.description) {
        after.description = names::clean_description(*edit.description);
    }
    if (after.name == before.name && after.description == before.description) {
        return Change{Outcome::Unchanged, before};
    }
    const std::string key = names::name_key(after.name);
    const Ou ou = ous::find(tx, before.ou_path);
    if (auto clash = find_clash(tx, after.type, key, ou, after.id)) {
        throw_clash(*clash);
    }
    if (after.name != before.name) {
        refuse_lookalike(tx, after.type, after.name, ou, after.id);
    }
    tx.update_code(after.id, after.name, key, after.description);
    audit.record("code.edit", target(after), after.ou_id, snapshot(before), snapshot(after));
    return Change{Outcome::Updated, after};
}

Change remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Reference& ref) {
    const Code before = resolve(tx, ref);
    require_change(actor, tx, before);
    if (before.deleted()) {
        return Change{Outcome::Unchanged, before};
    }
    Code after = before;
    after.deleted_at = audit.now();
    tx.mark_code_deleted(after.id, *after.deleted_at);
    audit.record("code.delete", target(after), after.ou_id, snapshot(before), snapshot(after));
    services::drop_code(tx, audit, actor, after);
    return Change{Outcome::Deleted, after};
}

std::vector<Code> list(store::ReadTransaction& tx, const ListFilter& filter) {
    std::vector<Code> result = tx.codes(store::CodeFilter{filter.type, filter.include_deleted});
    if (filter.ou_path) {
        const Ou at = ous::find(tx, *filter.ou_path);
        std::erase_if(result, [&](const Code& code) {
            return !names::ou_within(at.path_key, names::name_key(code.ou_path));
        });
    }
    return result;
}

} // namespace nimbus::codes
