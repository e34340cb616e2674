#include <nimbus/context/context.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/util/text.hpp>

namespace nimbus::context {
namespace {

/// "12", "-3.5": a decimal number, as call flows pass them on.
bool is_number(std::string_view text) {
    std::size_t i = text.starts_with('-') ? 1 : 0;
    const std::size_t integer_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        ++i;
    }
    if (i == integer_start) {
        return false;
    }
    if (i < text.size() && text[i] == '.') {
        const std::size_t fraction_start = ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            ++i;
        }
        if (i == fraction_start) {
            return false;
        }
    }
    return i == text.size() && text.size() <= 40;
}

/// "2026-11-30": a calendar date.
bool is_date(std::string_view text) {
    if (text.size() != 10) {
        return false;
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash = i == 4 || i == 7;
        if (dash ? text[i] != '-' : (text[i] < '0' || text[i] > '9')) {
            return false;
        }
    }
    const auto part = [&](std::size_t at, std::size_t length, int& value) {
        const char* first = text.data() + at;
        const auto [end, error] = std::from_chars(first, first + length, value);
        return error == std::errc{} && end == first + length;
    };
    int year = 0;
    int month = 0;
    int day = 0;
    if (!part(0, 4, year) || !part(5, 2, month) || !part(8, 2, day)) {
        return false;
    }
    const std::chrono::year_month_day date{std::chrono::year{year},
                                           std::chrono::month{static_cast<unsigned>(month)},
                                           std::chrono::day{static_cast<unsigned>(day)}};
    return date.ok();
}

std::string choices_text(const ContextField& field) {
    std::string text;
    for (const std::string& choice : field.choices) {
        text += (text.empty() ? "" : ", ") + choice;
    }
    return text;
}

nlohmann::ordered_json snapshot(const ContextField& field) {
    return {{"name", field.name},
            {"ou", field.ou_path},
            {"type", to_string(field.type)},
            {"choices", field.choices},
            {"description", field.description}};
}

std::string target(const ContextField& field) {
    return fmt::format("context field \"{}\" in {}", field.name, field.ou_path);
}

/// The draft's choices, checked: only a choice field has them, at least one,
/// each a clean short text, none twice in any case.
std::vector<std::string> clean_choices(const Draft& draft) {
    if (draft.type != ContextType::Choice) {
        if (!draft.choices.empty()) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("context field \"{}\" is of type {}: only a choice field has "
                                    "values",
                                    draft.name, to_string(draft.type)));
        }
        return {};
    }
    if (draft.choices.empty()) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("choice field \"{}\" needs its values", draft.name),
                    "list them: values = [\"Billing\", \"Technical\"]");
    }
    std::vector<std::string> choices;
    std::set<std::string> keys;
    for (const std::string& raw : draft.choices) {
        std::string choice = names::clean_name(raw, "context value");
        if (text::code_points(choice) > max_choice_length) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("context value \"{}\" is longer than {} characters", choice,
                                    max_choice_length));
        }
        if (!keys.insert(names::name_key(choice)).second) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("choice field \"{}\" lists \"{}\" twice", draft.name, choice));
        }
        choices.push_back(std::move(choice));
    }
    return choices;
}

} // namespace

std::vector<ContextField> fields_for(const std::vector<ContextField>& all,
                                     std::string_view ou_path) {
    const std::string key = names::name_key(ou_path);
    std::vector<ContextField> fields;
    for (const ContextField& field : all) {
        if (names::ou_within(key, names::name_key(field.ou_path))) {
            fields.push_back(field);
        }
    }
    return fields;
}

const ContextField* find_field(const std::vector<ContextField>& fields, std::string_view name) {
    const auto clean = text::to_nfc(text::trim(name));
    if (!clean) {
        return nullptr;
    }
    const std::string key = names::name_key(*clean);
    for (const ContextField& field : fields) {
        if (field.name_key == key) {
            return &field;
        }
    }
    return nullptr;
}

CheckedValue check_value(const ContextField& field, std::string_view raw) {
    const auto problem = [&](std::string why) {
        return CheckedValue{{}, std::move(why)};
    };
    if (!text::is_valid_utf8(raw)) {
        return problem(
            fmt::format("context \"{}\" {}", field.name, text::describe_invalid_utf8(raw)));
    }
    const std::string value(text::trim(raw));
    if (const std::size_t length = text::code_points(value); length > max_value_length) {
        return problem(fmt::format("context \"{}\" is {} characters long; the limit is {}",
                                   field.name, length, max_value_length));
    }
    if (text::has_control_characters(value) || value.find_first_of("\r\n") != std::string::npos) {
        return problem(fmt::format("context \"{}\" contains a control character", field.name));
    }
    switch (field.type) {
    case ContextType::Text: return CheckedValue{value, {}};
    case ContextType::Number:
        if (!is_number(value)) {
            return problem(
                fmt::format("context \"{}\" is a number, not \"{}\"", field.name, value));
        }
        return CheckedValue{value, {}};
    case ContextType::Date:
        if (!is_date(value)) {
            return problem(fmt::format("context \"{}\" is a date (YYYY-MM-DD), not \"{}\"",
                                       field.name, value));
        }
        return CheckedValue{value, {}};
    case ContextType::Choice: {
        const auto nfc = text::to_nfc(value);
        const std::string key = names::name_key(nfc.value_or(value));
        for (const std::string& choice : field.choices) {
            if (names::name_key(choice) == key) {
                return CheckedValue{choice, {}};
            }
        }
        return problem(fmt::format("context \"{}\" is one of {}, not \"{}\"", field.name,
                                   choices_text(field), value));
    }
    }
    return problem("unknown context type");
}

std::vector<std::pair<std::string, std::string>>
named_values(const std::vector<ContextField>& fields, const std::vector<ContextValue>& values) {
    std::vector<std::pair<std::string, std::string>> named;
    for (const ContextField& field : fields) {
        for (const ContextValue& value : values) {
            if (value.field_id == field.id) {
                named.emplace_back(field.name, value.value);
            }
        }
    }
    return named;
}

Shown::Shown(store::ReadTransaction& tx, services::Features& features,
             const std::vector<Session>& sessions) {
    std::vector<std::int64_t> ids;
    for (const Session& session : sessions) {
        auto [known, added] = shown_services_.emplace(session.service_id, false);
        if (added) {
            known->second = features.enabled(session.service_id, "conversation-context");
        }
        if (known->second) {
            ids.push_back(session.id);
        }
    }
    if (ids.empty()) {
        return;
    }
    fields_ = tx.context_fields();
    for (store::SessionContextValue& value : tx.context_values(ids)) {
        values_[value.session_id].push_back(std::move(value.value));
    }
}

bool Shown::shown(const Session& session) const {
    const auto known = shown_services_.find(session.service_id);
    return known != shown_services_.end() && known->second;
}

std::vector<std::pair<std::string, std::string>> Shown::values(const Session& session) const {
    const auto found = values_.find(session.id);
    if (!shown(session) || found == values_.end()) {
        return {};
    }
    return named_values(fields_, found->second);
}

bool Shown::any_shown(const std::vector<Session>& sessions) const {
    return std::any_of(sessions.begin(), sessions.end(),
                       [&](const Session& session) { return shown(session); });
}

Change define(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
              const Draft& draft) {
    const std::string name = names::clean_new_name(draft.name, "context field name");
    if (name.find_first_of("=,") != std::string::npos) {
        throw Error(ErrorKind::InvalidData,
                    fmt::format("context field name \"{}\" contains \"=\" or \",\"", name),
                    "reports filter by NAME=VALUE and take fields in comma lists");
    }
    const std::string description = names::clean_description(draft.description);
    Draft cleaned = draft;
    cleaned.name = name;
    const std::vector<std::string> choices = clean_choices(cleaned);
    const Ou ou = ous::find(tx, draft.ou_path);
    policy::require(actor, policy::Action::DefineContext, policy::Scope::ou(ou.path, ou.path_key));

    const std::string key = names::name_key(name);
    std::optional<ContextField> existing;
    for (ContextField& field : tx.context_fields()) {
        if (field.name_key != key) {
            continue;
        }
        if (field.ou_id == ou.id) {
            existing = std::move(field);
            continue;
        }
        const std::string other = names::name_key(field.ou_path);
        if (names::ou_within(ou.path_key, other) || names::ou_within(other, ou.path_key)) {
            throw Error(ErrorKind::Conflict,
                        fmt::format("context field \"{}\" is already defined in {}; the services "
                                    "below both would carry two",
                                    field.name, field.ou_path),
                        "define it once, at the OU above all the services that carry it");
        }
    }
    if (!existing) {
        ous::require_active(ou); // nothing new is made in a retired OU
    }

    ContextField field;
    field.ou_id = ou.id;
    field.ou_path = ou.path;
    field.name = name;
    field.name_key = key;
    field.type = draft.type;
    field.choices = choices;
    field.description = description;
    if (!existing) {
        field.id = tx.insert_context_field(field);
        audit.record("context.define", target(field), ou.id, nullptr, snapshot(field));
        return Change{field, '+', {}};
    }
    field.id = existing->id;
    if (field == *existing) {
        return Change{field, ' ', {}};
    }
    if (field.type != existing->type || field.choices != existing->choices) {
        if (tx.context_field_used(field.id)) {
            if (field.type != existing->type) {
                throw Error(ErrorKind::Conflict,
                            fmt::format("context field \"{}\" is of type {} and sessions carry "
                                        "values of it; its type stays",
                                        existing->name, to_string(existing->type)),
                            "define a field with another name for the new type");
            }
            // Sessions keep a choice as it was spelt: it stays, so that reports
            // and filters still find them. New values may be added, and the
            // order changed.
            for (const std::string& kept : existing->choices) {
                if (std::find(field.choices.begin(), field.choices.end(), kept) ==
                    field.choices.end()) {
                    throw Error(ErrorKind::Conflict,
                                fmt::format("context field \"{}\" keeps its value \"{}\": "
                                            "sessions carry its values",
                                            existing->name, kept),
                                "add values, or reorder them; the ones in use stay as written");
                }
            }
        }
    }
    std::vector<std::string> changes;
    if (field.name != existing->name) {
        changes.push_back(fmt::format("name \"{}\" -> \"{}\"", existing->name, field.name));
    }
    if (field.type != existing->type) {
        changes.push_back(
            fmt::format("type {} -> {}", to_string(existing->type), to_string(field.type)));
    }
    if (field.choices != existing->choices) {
        changes.push_back(fmt::format(
            "values {} -> {}", existing->choices.empty() ? "(none)" : choices_text(*existing),
            field.choices.empty() ? "(none)" : choices_text(field)));
    }
    if (field.description != existing->description) {
        changes.push_back(
            fmt::format("description \"{}\" -> \"{}\"", existing->description, field.description));
    }
    tx.update_context_field(field);
    audit.record("context.change", target(field), ou.id, snapshot(*existing), snapshot(field));
    std::string detail;
    for (const std::string& change : changes) {
        detail += (detail.empty() ? "" : ", ") + change;
    }
    return Change{field, '~', detail};
}

void remove(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
            const ContextField& field) {
    const std::string ou_key = names::name_key(field.ou_path);
    policy::require(actor, policy::Action::DefineContext, policy::Scope::ou(field.ou_path, ou_key));
    if (tx.context_field_used(field.id)) {
        throw Error(ErrorKind::Conflict,
                    fmt::format("context field \"{}\" in {} is carried by sessions and stays with "
                                "them",
                                field.name, field.ou_path),
                    "keep it in the file");
    }
    tx.delete_context_field(field.id);
    audit.record("context.remove", target(field), field.ou_id, snapshot(field), nullptr);
}

} // namespace nimbus::context
