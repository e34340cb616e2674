// The hidden `nimbus-codes __complete -- WORD...` command behind the bash, zsh and
// fish completion scripts: it walks the words through the command tree and
// prints the candidates for the last one, one per line. It never fails loudly:
// a shell must not show errors while the user presses Tab.
#include "complete.hpp"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include <date/tz.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/identity/roster.hpp>
#include <nimbus/reports/dimensions.hpp>
#include <nimbus/services/model.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/sessions/sessions.hpp>
#include <nimbus/sessions/suggestions.hpp>
#include <nimbus/store/open.hpp>
#include <nimbus/util/text.hpp>

#include "environment.hpp"

namespace nimbus::cli {
namespace {

using Candidates = std::vector<std::string>;

/// What the completion needs from the store and the identity file, opened only
/// when a dynamic value is asked for. It offers only what the caller could see
/// through the command itself: the same role table decides, and someone not
/// in the identity file is offered nothing from the store.
class Lookup {
public:
    explicit Lookup(const std::map<std::string, std::string>& globals)
        : globals_(globals) {}

    /// Every service to those who may read the settings; to others, their own.
    Candidates services() {
        Candidates names;
        if (may(policy::Action::ReadServices)) {
            for (const Service& service : read().services()) {
                names.push_back(service.name);
            }
            return names;
        }
        for (const ServiceGrant* grant : own_services()) {
            names.push_back(grant->name);
        }
        return names;
    }

    /// "context.NAME" for each choice field, to those who may read reports:
    /// what `report usage --by` groups by.
    Candidates context_dimensions() {
        Candidates names;
        if (may(policy::Action::ReadReports)) {
            for (const ContextField& field : read().context_fields()) {
                if (field.type == ContextType::Choice &&
                    std::find(names.begin(), names.end(), "context." + field.name) == names.end()) {
                    names.push_back("context." + field.name);
                }
            }
        }
        return names;
    }

    Candidates ous() {
        Candidates paths;
        if (may(policy::Action::ReadOus)) {
            for (const Ou& ou : read().ous()) {
                paths.push_back(ou.path);
            }
        }
        return paths;
    }

    /// The catalogue to those who may read it; to others, the codes their
    /// services offer.
    Candidates codes(std::optional<CodeType> type) {
        Candidates names;
        std::set<std::string> seen;
        const auto add = [&](const Code& code) {
            if (seen.insert(names::name_key(code.name)).second) {
                names.push_back(code.name);
            }
        };
        if (may(policy::Action::ReadCodes)) {
            for (const Code& code : read().codes(store::CodeFilter{type, false})) {
                add(code);
            }
            return names;
        }
        for (const ServiceGrant* grant : own_services()) {
            const ServiceSettings settings =
                services::settings(read(), services::find(read(), grant->name));
            for (const CodeType list : {CodeType::Primary, CodeType::Secondary}) {
                if (!type || *type == list) {
                    for (const Code& code : settings.list(list)) {
                        add(code);
                    }
                }
            }
        }
        return names;
    }

    /// The codes a service offers on one list, in the service's order, to
    /// those who may read its settings or work in it.
    Candidates service_codes(const std::string& service, CodeType type) {
        const Service found = services::find(read(), service);
        const bool own = std::any_of(
            own_services().begin(), own_services().end(),
            [&](const ServiceGrant* grant) { return grant->key == names::name_key(found.name); });
        if (!own && !may(policy::Action::ReadServices, services::scope_of(found))) {
            return {};
        }
        const ServiceSettings settings = services::settings(read(), found);
        Candidates names;
        for (const Code& code : settings.list(type)) {
            names.push_back(code.name);
        }
        return names;
    }

    /// The codes a session's service offers on one list: exactly what
    /// concluding it would offer the caller, and nothing for a session the
    /// caller may not conclude; the suggested ones first (docs/sessions.md,
    /// "Suggestions"), then the rest in the list's order.
    Candidates session_codes(const std::string& session, CodeType type) {
        const sessions::Detail detail = sessions::concludable(read(), actor(), session);
        const suggestions::Suggestions suggested =
            suggestions::suggest(read(), actor(), detail, environment::now(), {true, false});
        Candidates names;
        for (const suggestions::CodeSuggestion& code :
             type == CodeType::Primary ? suggested.primary : suggested.secondary) {
            names.push_back(code.code.name);
        }
        for (const Code& code :
             type == CodeType::Primary ? detail.offered_primary : detail.offered_secondary) {
            if (std::find(names.begin(), names.end(), code.name) == names.end()) {
                names.push_back(code.name);
            }
        }
        return names;
    }

    /// The tags in use in a session's service, most used first, for a
    /// session the caller may conclude.
    Candidates session_tags(const std::string& session) {
        const sessions::Detail detail = sessions::concludable(read(), actor(), session);
        Candidates tags;
        for (const suggestions::TagSuggestion& tag :
             suggestions::suggest(read(), actor(), detail, environment::now(), {false, true})
                 .tags) {
            tags.push_back(tag.tag);
        }
        return tags;
    }

    /// The caller's own sessions (open ones only, or all they may see), newest
    /// first, named as the commands take them: the id, or SERVICE/ID where
    /// the caller sees the id in more than one service.
    Candidates sessions(bool open_only) {
        sessions::ListFilter filter;
        filter.mine = open_only;
        filter.concluded = open_only ? std::optional(false) : std::nullopt;
        filter.limit = 100;
        return sessions::references(read(), actor(), sessions::list(read(), actor(), filter));
    }

    /// The identity file's logins, to those whose command may name one: --as
    /// for tenant admins, --user and --actor for who may read reports or the
    /// audit trail.
    Candidates users(policy::Action action) {
        const bool allowed = may(action);
        Candidates logins;
        if (allowed) {
            for (const auto& [login, user] : identity().users) {
                logins.push_back(login);
            }
        }
        return logins;
    }

private:
    /// A variable's value, "" when unset.
    static std::string variable(const char* name) {
        const char* value = std::getenv(name);
        return value == nullptr ? std::string() : std::string(value);
    }

    std::string global(const std::string& name, const std::string& fallback) const {
        const auto it = globals_.find(name);
        return it == globals_.end() ? fallback : it->second;
    }

    /// The store's roster and the database role when the store's server
    /// enforces the role table; else the identity file and the OS account.
    const roster::StoredCaller& caller() {
        if (!caller_) {
            if (store::parse_locator(store_location()).engine == store::Engine::Postgresql) {
                store::ReadTransaction& tx = read(); // opens store_
                caller_ = roster::stored_caller(tx, store_->location());
            }
            if (!caller_) {
                caller_ = roster::StoredCaller{
                    identity::load_identity_file(environment::identity_location(
                        global("--identity", variable("NIMBUS_CODES_IDENTITY")))),
                    environment::os_login()};
            }
        }
        return *caller_;
    }

    const identity::Identity& identity() { return caller().identity; }

    std::string store_location() const {
        return environment::store_location(global("--store", variable("NIMBUS_CODES_STORE")));
    }

    const Actor& actor() {
        if (!actor_) {
            const auto as = globals_.find("--as");
            actor_ = resolve_actor(
                identity(), caller().login,
                as == globals_.end() ? std::nullopt : std::optional<std::string_view>(as->second));
            services::locate_grants(actor_->grants, read());
        }
        return *actor_;
    }

    store::ReadTransaction& read() {
        if (!tx_) {
            const std::string location = store_location();
            environment::require_guarded_shared_store(location, false);
            store_ = store::open_store(store::parse_locator(location),
                                       store::StoreOptions{std::chrono::milliseconds(200)});
            tx_ = store_->begin_read();
        }
        return *tx_;
    }

    /// Whether the caller holds one of the action's roles (within `scope`).
    bool may(policy::Action action, const policy::Scope& scope = policy::Scope::anywhere()) {
        return policy::permits(actor(), action, scope);
    }

    /// The services the caller works in: as a member, an owner or a supervisor.
    const std::vector<const ServiceGrant*>& own_services() {
        if (!own_services_) {
            own_services_ = policy::services_worked_in(actor());
        }
        return *own_services_;
    }

    std::map<std::string, std::string> globals_;
    std::optional<std::vector<const ServiceGrant*>> own_services_;
    std::optional<roster::StoredCaller> caller_;
    std::optional<Actor> actor_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<store::ReadTransaction> tx_;
};

std::string lower(std::string_view text) {
    return text::fold_case(text);
}

const CLI::Option* find_option(const CLI::App* app, const std::string& word) {
    for (; app != nullptr; app = app->get_parent()) {
        if (const CLI::Option* option = app->get_option_no_throw(word)) {
            return option;
        }
    }
    return nullptr;
}

bool takes_value(const CLI::Option* option) {
    return option != nullptr && option->get_type_size_max() > 0 && option->get_expected_max() > 0;
}

/// "a b" for the command path of an app ("session conclude").
std::string path_of(const CLI::App* app) {
    std::vector<std::string> names;
    for (; app != nullptr && app->get_parent() != nullptr; app = app->get_parent()) {
        names.insert(names.begin(), app->get_name());
    }
    std::string path;
    for (const std::string& name : names) {
        path += (path.empty() ? "" : " ") + name;
    }
    return path;
}

Candidates visible_subcommands(const CLI::App* app) {
    Candidates names;
    for (const CLI::App* sub : app->get_subcommands({})) {
        if (!sub->get_group().empty() && !sub->get_name().starts_with("__")) {
            names.push_back(sub->get_name());
        }
    }
    return names;
}

Candidates option_names(const CLI::App* app) {
    Candidates names;
    for (; app != nullptr; app = app->get_parent()) {
        for (const CLI::Option* option : app->get_options({})) {
            for (const std::string& name : option->get_lnames()) {
                names.push_back("--" + name);
            }
        }
    }
    return names;
}

Candidates zones() {
    Candidates names;
    for (const auto& zone : date::get_tzdb().zones) {
        names.emplace_back(zone.name());
    }
    return names;
}

/// Candidates for a comma list: the words so far, then each choice not yet taken.
Candidates comma_list(const std::string& current, const Candidates& choices) {
    const std::size_t comma = current.rfind(',');
    const std::string head = comma == std::string::npos ? "" : current.substr(0, comma + 1);
    Candidates result;
    for (const std::string& choice : choices) {
        if (("," + head).find("," + choice + ",") == std::string::npos) {
            result.push_back(head + choice);
        }
    }
    return result;
}

Candidates licenses() {
    Candidates names;
    for (const License license : all_licenses()) {
        names.emplace_back(to_string(license));
    }
    return names;
}

Candidates feature_names() {
    Candidates names;
    for (const Feature& feature : features()) {
        names.emplace_back(feature.name);
    }
    return names;
}

/// The --format values of a command, as it declares them; before a command is
/// named, every format.
Candidates formats(const Command* command) {
    const std::vector<output::Format> all = {output::Format::Table, output::Format::Json,
                                             output::Format::Csv, output::Format::Html};
    Candidates names;
    for (const output::Format format : command != nullptr ? command->formats : all) {
        names.emplace_back(output::format_name(format));
    }
    return names;
}

/// The values an option takes, for the command at `path`.
Candidates option_values(const std::string& path, const Command* command, const std::string& option,
                         const std::string& current, const std::vector<std::string>& positionals,
                         Lookup& lookup) {
    const auto first = positionals.empty() ? std::string{} : positionals.front();
    if (option == "--format") {
        return formats(command);
    }
    if (option == "--type") {
        return {"primary", "secondary"};
    }
    if (option == "--license") {
        return licenses();
    }
    if (option == "--names") {
        return {"at-time", "current"};
    }
    if (option == "--input-format") {
        return {"csv", "jsonl"};
    }
    if (option == "--direction") {
        return {"inbound", "outbound"};
    }
    if (option == "--outcome") {
        return {"accepted",
                "declined",
                "rona",
                "abandoned",
                "transferred",
                "outbound-accepted",
                "outbound-not-accepted",
                "error"};
    }
    if (option == "--by") {
        Candidates dimensions;
        for (std::string& name : reports::dimension_names()) {
            if (!name.starts_with("context.")) { // the fields themselves follow
                dimensions.push_back(std::move(name));
            }
        }
        for (std::string& field : lookup.context_dimensions()) {
            dimensions.push_back(std::move(field));
        }
        return comma_list(current, dimensions);
    }
    if (option == "--month") {
        return {"last"};
    }
    if (option == "--tz") {
        return zones();
    }
    if (option == "--service") {
        return lookup.services();
    }
    if (option == "--ou") {
        return lookup.ous();
    }
    if (option == "--as") {
        return lookup.users(policy::Action::ActAs);
    }
    if (option == "--user") {
        return lookup.users(policy::Action::ReadReports);
    }
    if (option == "--actor") {
        return lookup.users(policy::Action::ReadAudit);
    }
    if (option == "--code") {
        return lookup.codes(std::nullopt);
    }
    if (option == "--tag" && path == "session conclude") {
        return lookup.session_tags(first);
    }
    const bool primary = option.ends_with("-primary") || option == "--primary";
    const bool secondary = option.ends_with("-secondary") || option == "--secondary";
    if (primary || secondary) {
        const CodeType type = primary ? CodeType::Primary : CodeType::Secondary;
        if (path == "session conclude") {
            return comma_list(current, lookup.session_codes(first, type));
        }
        if ((path == "service apply" && option.starts_with("--remove-")) ||
            path == "service wrap-up") {
            return lookup.service_codes(first, type);
        }
        if (path == "service apply" && (option == "--primary" || option == "--secondary")) {
            return comma_list(current, lookup.codes(type));
        }
        return lookup.codes(type);
    }
    return {}; // files and free text: the shell's own completion
}

/// The values of a command's positional arguments.
Candidates positional_values(const std::string& path, const std::vector<std::string>& positionals,
                             const CLI::App& root, Lookup& lookup) {
    const std::size_t index = positionals.size();
    if (path == "session conclude") {
        return index == 0 ? lookup.sessions(true) : Candidates{};
    }
    if (path == "session show") {
        return index == 0 ? lookup.sessions(false) : Candidates{};
    }
    if (path == "service show" || path == "service edit" || path == "service apply" ||
        path == "service wrap-up" || path == "service retire" || path == "service restore" ||
        path == "service delete" || path == "extension list") {
        return index == 0 ? lookup.services() : Candidates{};
    }
    if (path == "extension enable" || path == "extension disable") {
        return index == 0 ? lookup.services() : feature_names();
    }
    if (path == "code show" || path == "code edit" || path == "code delete") {
        return index == 0 ? lookup.codes(std::nullopt) : Candidates{};
    }
    if (path == "ou retire" || path == "ou restore" || path == "ou delete") {
        return index == 0 ? lookup.ous() : Candidates{};
    }
    if (path == "ou create") {
        Candidates paths;
        for (const std::string& ou : lookup.ous()) {
            paths.push_back(ou + "/");
        }
        return paths;
    }
    if (path == "help") {
        const CLI::App* app = &root;
        for (const std::string& word : positionals) {
            const auto named =
                app->get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); });
            if (named.empty()) {
                return {};
            }
            app = named.front();
        }
        return visible_subcommands(app);
    }
    return {};
}

} // namespace

void complete(const CLI::App& root, const Registry& registry, const std::vector<std::string>& words,
              std::ostream& out) {
    if (words.empty()) {
        return;
    }
    const std::string& current = words.back();
    const CLI::App* app = &root;
    std::map<std::string, std::string> globals;
    std::vector<std::string> positionals;
    std::string pending_option; // an option whose value is the current word
    for (std::size_t i = 0; i + 1 < words.size(); ++i) {
        const std::string& word = words[i];
        if (word.starts_with("-")) {
            const std::string name = word.substr(0, word.find('='));
            const CLI::Option* option = find_option(app, name);
            if (takes_value(option) && word.find('=') == std::string::npos) {
                if (i + 2 == words.size()) {
                    pending_option = name;
                } else {
                    globals[name] = words[i + 1];
                    ++i;
                }
            }
            continue;
        }
        const auto named =
            app->get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); });
        if (!named.empty() && positionals.empty()) {
            app = named.front();
        } else {
            positionals.push_back(word);
        }
    }

    Lookup lookup(globals);
    Candidates candidates;
    const std::string path = path_of(app);
    if (!pending_option.empty()) {
        candidates =
            option_values(path, registry.find(app), pending_option, current, positionals, lookup);
    } else if (current.starts_with("-")) {
        candidates = option_names(app);
    } else if (!visible_subcommands(app).empty() && positionals.empty()) {
        candidates = visible_subcommands(app);
    } else {
        candidates = positional_values(path, positionals, root, lookup);
    }
    const std::string prefix = lower(current);
    std::set<std::string> printed;
    for (const std::string& candidate : candidates) {
        if (lower(candidate).starts_with(prefix) && printed.insert(candidate).second) {
            out << candidate << '\n';
        }
    }
}

} // namespace nimbus::cli
