#include <nimbus/config/config.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include <nimbus/catalogue/codes.hpp>
#include <nimbus/catalogue/names.hpp>
#include <nimbus/catalogue/ous.hpp>
#include <nimbus/context/context.hpp>
#include <nimbus/error.hpp>
#include <nimbus/identity/policy.hpp>
#include <nimbus/services/code_lists.hpp>
#include <nimbus/services/extensions.hpp>
#include <nimbus/services/services.hpp>
#include <nimbus/util/text.hpp>
#include <nimbus/util/time.hpp>
#include <nimbus/util/toml.hpp>

namespace nimbus::config {
namespace {

// ---------------------------------------------------------------- export

/// A TOML basic string with every character TOML requires escaped.
std::string toml_quoted(std::string_view value) {
    std::string out = "\"";
    for (const char c : value) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\t': out += "\\t"; break;
        case '\n': out += "\\n"; break;
        case '\f': out += "\\f"; break;
        case '\r': out += "\\r"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                out += fmt::format("\\u{:04X}", static_cast<unsigned>(c));
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

std::string quoted_list(const std::vector<Code>& codes) {
    std::string out = "[";
    for (std::size_t i = 0; i < codes.size(); ++i) {
        out += (i > 0 ? ", " : "") + toml_quoted(codes[i].name);
    }
    return out + "]";
}

bool within(std::string_view path, const Ou& scope) {
    return names::ou_within(names::name_key(path), scope.path_key);
}

// ---------------------------------------------------------------- the file

struct FileCode {
    CodeType type = CodeType::Primary;
    std::string name;
    std::string ou;
    std::string description;
    unsigned line = 0;
};

struct FileContext {
    context::Draft draft; ///< ou_path empty: the file's scope
    unsigned line = 0;
};

struct FileService {
    std::string name;
    std::string ou;
    License license = License::BasicRouting;
    std::optional<std::vector<std::string>> primary;
    std::optional<std::vector<std::string>> secondary;
    std::vector<std::pair<std::string, bool>> extensions;
    /// The after-call work policy: none when the file does not say.
    std::optional<services::WrapUpEdit> wrap_up;
    bool retired = false;
    unsigned line = 0;
};

struct File {
    std::string tenant;
    std::optional<std::string> scope;
    std::vector<std::pair<std::string, unsigned>> ous;
    std::vector<std::pair<std::string, unsigned>> retired_ous;
    std::vector<FileCode> codes;
    std::vector<FileContext> context;
    std::vector<FileService> services;
};

/// Reads the file's TOML into a File, refusing anything it does not know.
class Reader {
public:
    explicit Reader(std::string source)
        : source_(std::move(source)) {}

    File read(std::string_view text) {
        // Before TOML: every name and description in it must be UTF-8.
        if (const auto bad = text::first_invalid_utf8(text)) {
            const text::Position at = text::position_of(text, *bad);
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{}:{}:{}: not valid UTF-8 (byte 0x{:02X})", source_, at.line,
                                    at.column, static_cast<unsigned char>(text[*bad])),
                        "save the file as UTF-8");
        }
        const TomlDocument document = parse_toml(text);
        if (document.error) {
            const TomlSyntaxError& e = *document.error;
            throw Error(ErrorKind::InvalidData,
                        e.line == 0
                            ? fmt::format("{}: {}", source_, e.message)
                            : fmt::format("{}:{}:{}: {}", source_, e.line, e.column, e.message));
        }
        // Before any other key: a newer format may have keys of its own.
        read_file_format(document.table, source_,
                         FileFormat{"configuration file", file_format_version});
        File file;
        bool has_tenant = false;
        for (const auto& [key, value] : document.table) {
            const std::string_view k = key.str();
            if (k == "format") {
                continue;
            }
            if (k == "tenant") {
                file.tenant = string(value, k);
                has_tenant = true;
            } else if (k == "scope") {
                file.scope = string(value, k);
            } else if (k == "ous" || k == "retired_ous") {
                for (const toml::node& element : array(value, k)) {
                    (k == "ous" ? file.ous : file.retired_ous)
                        .emplace_back(string(element, k), line(element));
                }
            } else if (k == "codes") {
                for (const toml::node& element : array(value, k)) {
                    file.codes.push_back(code(element));
                }
            } else if (k == "services") {
                for (const toml::node& element : array(value, k)) {
                    file.services.push_back(service(element));
                }
            } else if (k == "context") {
                for (const toml::node& element : array(value, k)) {
                    file.context.push_back(context_field(element));
                }
            } else {
                fail(key.source(), fmt::format("unknown key \"{}\" (known: format, tenant, scope, "
                                               "ous, codes, context, services)",
                                               k));
            }
        }
        if (!has_tenant) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{}: the file does not name its \"tenant\"", source_));
        }
        return file;
    }

private:
    static unsigned line(const toml::node& node) {
        return static_cast<unsigned>(node.source().begin.line);
    }

    [[noreturn]] void fail(const toml::source_region& where, const std::string& message) const {
        throw Error(ErrorKind::InvalidData, fmt::format("{}:{}:{}: {}", source_, where.begin.line,
                                                        where.begin.column, message));
    }

    std::string string(const toml::node& node, std::string_view key) const {
        if (const auto* value = node.as_string()) {
            return value->get();
        }
        fail(node.source(), fmt::format("\"{}\" must be a string", key));
    }

    const toml::array& array(const toml::node& node, std::string_view key) const {
        if (const auto* value = node.as_array()) {
            return *value;
        }
        fail(node.source(), fmt::format("\"{}\" must be an array", key));
    }

    const toml::table& table(const toml::node& node, std::string_view what) const {
        if (const auto* value = node.as_table()) {
            return *value;
        }
        fail(node.source(), fmt::format("each of \"{}\" must be a table", what));
    }

    std::vector<std::string> strings(const toml::node& node, std::string_view key) const {
        std::vector<std::string> result;
        for (const toml::node& element : array(node, key)) {
            result.push_back(string(element, key));
        }
        return result;
    }

    FileCode code(const toml::node& node) const {
        const toml::table& fields = table(node, "codes");
        FileCode code;
        code.line = line(node);
        bool has_type = false;
        bool has_name = false;
        for (const auto& [key, value] : fields) {
            const std::string_view k = key.str();
            if (k == "type") {
                const auto type = parse_code_type(string(value, k));
                if (!type) {
                    fail(value.source(), "\"type\" must be \"primary\" or \"secondary\"");
                }
                code.type = *type;
                has_type = true;
            } else if (k == "name") {
                code.name = string(value, k);
                has_name = true;
            } else if (k == "ou") {
                code.ou = string(value, k);
            } else if (k == "description") {
                code.description = string(value, k);
            } else {
                fail(key.source(),
                     fmt::format("unknown key \"{}\" in a code (known: type, name, ou, "
                                 "description)",
                                 k));
            }
        }
        if (!has_type || !has_name) {
            fail(node.source(), "a code needs a \"type\" and a \"name\"");
        }
        return code;
    }

    FileContext context_field(const toml::node& node) const {
        const toml::table& fields = table(node, "context");
        FileContext entry;
        entry.line = line(node);
        bool has_type = false;
        bool has_name = false;
        for (const auto& [key, value] : fields) {
            const std::string_view k = key.str();
            if (k == "name") {
                entry.draft.name = string(value, k);
                has_name = true;
            } else if (k == "ou") {
                entry.draft.ou_path = string(value, k);
            } else if (k == "type") {
                const auto type = parse_context_type(string(value, k));
                if (!type) {
                    fail(value.source(), "\"type\" must be text, number, date or choice");
                }
                entry.draft.type = *type;
                has_type = true;
            } else if (k == "values") {
                entry.draft.choices = strings(value, k);
            } else if (k == "description") {
                entry.draft.description = string(value, k);
            } else {
                fail(key.source(),
                     fmt::format("unknown key \"{}\" in a context field (known: name, ou, type, "
                                 "values, description)",
                                 k));
            }
        }
        if (!has_type || !has_name) {
            fail(node.source(), "a context field needs a \"name\" and a \"type\"");
        }
        return entry;
    }

    FileService service(const toml::node& node) const {
        const toml::table& fields = table(node, "services");
        FileService service;
        service.line = line(node);
        bool has_license = false;
        for (const auto& [key, value] : fields) {
            const std::string_view k = key.str();
            if (k == "name") {
                service.name = string(value, k);
            } else if (k == "ou") {
                service.ou = string(value, k);
            } else if (k == "license") {
                const auto license = parse_license(string(value, k));
                if (!license) {
                    fail(value.source(), "\"license\" must be basic-routing, advanced-routing, "
                                         "enterprise-routing or contact-center");
                }
                service.license = *license;
                has_license = true;
            } else if (k == "primary") {
                service.primary = strings(value, k);
            } else if (k == "secondary") {
                service.secondary = strings(value, k);
            } else if (k == "extensions") {
                for (const auto& [feature, flag] : table(value, "extensions")) {
                    if (find_feature(feature.str()) == nullptr) {
                        fail(feature.source(),
                             fmt::format("unknown feature \"{}\"", feature.str()));
                    }
                    const auto* on = flag.as_boolean();
                    if (on == nullptr) {
                        fail(flag.source(), "an extension is true or false");
                    }
                    service.extensions.emplace_back(std::string(feature.str()), on->get());
                }
            } else if (k == "wrap_up") {
                service.wrap_up = wrap_up(value);
            } else if (k == "retired") {
                const auto* flag = value.as_boolean();
                if (flag == nullptr) {
                    fail(value.source(), "\"retired\" is true or false");
                }
                service.retired = flag->get();
            } else {
                fail(key.source(),
                     fmt::format("unknown key \"{}\" in a service (known: name, ou, license, "
                                 "primary, secondary, extensions, wrap_up, retired)",
                                 k));
            }
        }
        if (service.name.empty() || service.ou.empty() || !has_license) {
            fail(node.source(), "a service needs a \"name\", an \"ou\" and a \"license\"");
        }
        return service;
    }

    /// wrap_up = { deadline = "2h", default_primary = "...", default_secondary = "..." }
    services::WrapUpEdit wrap_up(const toml::node& node) const {
        services::WrapUpEdit edit;
        for (const auto& [key, value] : table(node, "wrap_up")) {
            const std::string_view k = key.str();
            if (k == "deadline") {
                const std::string text = string(value, k);
                edit.deadline = timefmt::parse_duration(text);
                if (!edit.deadline) {
                    fail(value.source(), fmt::format("\"deadline\" \"{}\" is not a length of "
                                                     "time such as \"2h\", \"90m\" or \"1d\"",
                                                     text));
                }
            } else if (k == "default_primary") {
                edit.default_primary = string(value, k);
            } else if (k == "default_secondary") {
                edit.default_secondary = string(value, k);
            } else {
                fail(key.source(), fmt::format("unknown key \"{}\" in wrap_up (known: deadline, "
                                               "default_primary, default_secondary)",
                                               k));
            }
        }
        if (!edit.deadline || !edit.default_primary) {
            fail(node.source(), "wrap_up needs a \"deadline\" and a \"default_primary\"");
        }
        // The file gives the whole policy: no secondary code is none.
        edit.default_secondary = edit.default_secondary.value_or("");
        return edit;
    }

    std::string source_;
};

// ---------------------------------------------------------------- apply

/// Runs one operation for a file entry; what it refuses becomes a file error at
/// that line (exit 65). Permission and store failures keep their kind.
template <class Operation>
auto at_line(const std::string& source, unsigned line, Operation&& operation) {
    try {
        return operation();
    } catch (const Error& e) {
        switch (e.kind()) {
        case ErrorKind::NotFound:
        case ErrorKind::Conflict:
        case ErrorKind::InvalidData:
        case ErrorKind::Usage:
            throw Error(ErrorKind::InvalidData, fmt::format("{}:{}: {}", source, line, e.what()),
                        e.hint());
        case ErrorKind::NotLicensed:
            throw Error(ErrorKind::InvalidData, fmt::format("{}:{}: {}", source, line, e.what()),
                        "change the license in the file, or set the feature to false in the "
                        "service's extensions");
        default: throw;
        }
    }
}

std::string names_text(const std::vector<Code>& codes) {
    if (codes.empty()) {
        return "(empty)";
    }
    std::string text;
    for (const Code& code : codes) {
        text += (text.empty() ? "" : ", ") + code.name;
    }
    return text;
}

std::string describe_code(CodeType type, std::string_view name, std::string_view ou) {
    return fmt::format("{} \"{}\" in {}", to_string(type), name, ou);
}

std::string list_change(CodeType type, const std::vector<Code>& before,
                        const std::vector<Code>& after) {
    std::vector<std::int64_t> a;
    std::vector<std::int64_t> b;
    for (const Code& code : before) {
        a.push_back(code.id);
    }
    for (const Code& code : after) {
        b.push_back(code.id);
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return fmt::format("{} list{}: {} -> {}", to_string(type), a == b ? " reordered" : "",
                       names_text(before), names_text(after));
}

class Applier {
public:
    Applier(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor, std::string source,
            const Options& options)
        : tx_(tx)
        , audit_(audit)
        , actor_(actor)
        , source_(std::move(source))
        , options_(options) {}

    std::vector<Step> run(const File& file) {
        const Ou root = ous::root(tx_);
        if (names::name_key(file.tenant) != root.path_key) {
            throw Error(ErrorKind::InvalidData,
                        fmt::format("{}: the file is for tenant \"{}\", the store's is \"{}\"",
                                    source_, file.tenant, root.path));
        }
        const Ou scope =
            at_line(source_, 1, [&] { return file.scope ? ous::find(tx_, *file.scope) : root; });
        scope_path_ = scope.path;
        check_scope(file, scope);
        check_duplicates(file);
        // OUs first, and back in use before anything is made in them; they
        // are retired last, once what is under them is.
        for (const auto& [path, line] : file.ous) {
            apply_ou(path, line, false);
        }
        for (const auto& [path, line] : file.retired_ous) {
            apply_ou(path, line, true);
        }
        for (const FileContext& entry : file.context) {
            apply_context(entry);
        }
        for (const FileCode& code : file.codes) {
            apply_code(code);
        }
        for (const FileService& service : file.services) {
            apply_service(service);
        }
        for (const FileService& service : file.services) {
            if (service.retired) {
                retire_service(service.name, service.line);
            }
        }
        if (options_.prune) {
            prune_context(scope);
            prune_codes(scope);
            prune_services(file, scope);
        }
        retire_ous(file, scope);
        return std::move(steps_);
    }

private:
    void check_scope(const File& file, const Ou& scope) const {
        const auto check = [&](std::string_view path, unsigned line, std::string_view what) {
            at_line(source_, line, [&] {
                const std::string clean = names::clean_ou_path(path);
                if (!within(clean, scope)) {
                    throw Error(ErrorKind::InvalidData,
                                fmt::format("{} OU \"{}\" is outside the file's scope \"{}\"", what,
                                            clean, scope.path));
                }
                return 0;
            });
        };
        for (const auto& [path, line] : file.ous) {
            check(path, line, "the");
        }
        for (const auto& [path, line] : file.retired_ous) {
            check(path, line, "the");
        }
        for (const FileCode& code : file.codes) {
            check(code.ou.empty() ? scope.path : code.ou, code.line, "the code's");
        }
        for (const FileContext& entry : file.context) {
            check(entry.draft.ou_path.empty() ? scope.path : entry.draft.ou_path, entry.line,
                  "the context field's");
        }
        for (const FileService& service : file.services) {
            check(service.ou, service.line, "the service's");
        }
    }

    /// A file that names a code or service twice would flip it on every run.
    void check_duplicates(const File& file) const {
        std::map<std::string, unsigned> codes;
        for (const FileCode& code : file.codes) {
            const std::string key = at_line(source_, code.line, [&] {
                return fmt::format(
                    "{}|{}|{}", to_string(code.type),
                    names::name_key(names::clean_ou_path(code.ou.empty() ? scope_path_ : code.ou)),
                    names::name_key(names::clean_name(code.name, "code name")));
            });
            if (const auto [it, added] = codes.emplace(key, code.line); !added) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: {} code \"{}\" is defined again (first at line {})",
                                        source_, code.line, to_string(code.type), code.name,
                                        it->second));
            }
        }
        std::map<std::string, unsigned> fields;
        for (const FileContext& entry : file.context) {
            const std::string key = at_line(source_, entry.line, [&] {
                const std::string& ou =
                    entry.draft.ou_path.empty() ? scope_path_ : entry.draft.ou_path;
                return fmt::format(
                    "{}|{}", names::name_key(names::clean_ou_path(ou)),
                    names::name_key(names::clean_name(entry.draft.name, "context field name")));
            });
            if (const auto [it, added] = fields.emplace(key, entry.line); !added) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: context field \"{}\" is defined again (first at "
                                        "line {})",
                                        source_, entry.line, entry.draft.name, it->second));
            }
        }
        std::map<std::string, unsigned> services;
        for (const FileService& service : file.services) {
            const std::string key = at_line(source_, service.line, [&] {
                return names::name_key(names::clean_name(service.name, "service name"));
            });
            if (const auto [it, added] = services.emplace(key, service.line); !added) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("{}:{}: service \"{}\" is defined again (first at line {})",
                                        source_, service.line, service.name, it->second));
            }
        }
    }

    /// Creates the OU if it is missing, and restores it when the file lists
    /// it as active (`retired` false); retire_ous() retires it later.
    void apply_ou(const std::string& path, unsigned line, bool retired) {
        const auto existing = tx_.find_ou(names::name_key(names::clean_ou_path(path)));
        if (!existing) {
            const ous::Creation creation = at_line(
                source_, line, [&] { return ous::create(tx_, audit_, actor_, path, true); });
            for (const Ou& ou : creation.created) {
                steps_.push_back(Step{'+', "ou", ou.path, {}});
            }
        } else if (existing->retired() && !retired) {
            at_line(source_, line, [&] { return ous::restore(tx_, audit_, actor_, path); });
            steps_.push_back(Step{'~', "ou", existing->path, "restore"});
        }
    }

    /// Runs `operation` for the entry at `line` of the file, or for --prune
    /// (line 0: what the file leaves out has no line).
    template <class Operation>
    void in_file(unsigned line, Operation&& operation) {
        if (line == 0) {
            operation();
        } else {
            at_line(source_, line, std::forward<Operation>(operation));
        }
    }

    /// Retires the OUs the file lists as retired and, with --prune, those of
    /// the scope it names nowhere: the deepest first.
    void retire_ous(const File& file, const Ou& scope) {
        std::map<std::string, unsigned> wanted; // path key -> line
        for (const auto& [path, line] : file.retired_ous) {
            wanted.emplace(names::name_key(names::clean_ou_path(path)), line);
        }
        if (options_.prune) {
            std::set<std::string> named; // OUs the file names, and their ancestors
            const auto name_with_ancestors = [&](std::string_view path) {
                std::string key = names::name_key(names::clean_ou_path(path));
                while (!key.empty()) {
                    named.insert(key);
                    key = std::string(names::ou_parent(key));
                }
            };
            for (const auto& [path, line] : file.ous) {
                name_with_ancestors(path);
            }
            for (const FileCode& code : file.codes) {
                name_with_ancestors(code.ou.empty() ? scope.path : code.ou);
            }
            for (const FileService& service : file.services) {
                name_with_ancestors(service.ou);
            }
            for (const Ou& ou : tx_.ous()) {
                if (ou.id != scope.id && within(ou.path, scope) && !named.contains(ou.path_key)) {
                    wanted.emplace(ou.path_key, 0);
                }
            }
        }
        for (auto it = wanted.rbegin(); it != wanted.rend(); ++it) {
            const auto ou = tx_.find_ou(it->first);
            if (ou && !ou->retired()) {
                in_file(it->second, [&] { return ous::retire(tx_, audit_, actor_, ou->path); });
                steps_.push_back(Step{'~', "ou", ou->path, "retire"});
            }
        }
    }

    void retire_service(const std::string& name, unsigned line) {
        const auto service = tx_.find_service(names::name_key(names::clean_name(name, "service "
                                                                                      "name")));
        if (service && !service->retired()) {
            in_file(line, [&] { return services::retire(tx_, audit_, actor_, service->name); });
            steps_.push_back(Step{'~', "service", fmt::format("\"{}\"", service->name), "retire"});
        }
    }

    /// With --prune, the services of the scope that the file does not name
    /// are retired, never deleted.
    void prune_services(const File& file, const Ou& scope) {
        std::set<std::string> named;
        for (const FileService& service : file.services) {
            named.insert(names::name_key(names::clean_name(service.name, "service name")));
        }
        for (const Service& service : tx_.services()) {
            if (within(service.ou_path, scope) && !named.contains(names::name_key(service.name))) {
                retire_service(service.name, 0);
            }
        }
    }

    void apply_context(const FileContext& entry) {
        at_line(source_, entry.line, [&] {
            context::Draft draft = entry.draft;
            if (draft.ou_path.empty()) {
                draft.ou_path = scope_path_;
            }
            const context::Change change = context::define(tx_, audit_, actor_, draft);
            named_fields_.insert(change.field.id);
            if (change.sign != ' ') {
                steps_.push_back(
                    Step{change.sign, "context",
                         fmt::format("\"{}\" in {} ({})", change.field.name, change.field.ou_path,
                                     to_string(change.field.type)),
                         change.detail});
            }
            return 0;
        });
    }

    /// Fields are removed only while no session carries them: a used field
    /// the file leaves out is an error, for the file to keep it.
    void prune_context(const Ou& scope) {
        for (const ContextField& field : tx_.context_fields()) {
            if (!within(field.ou_path, scope) || named_fields_.contains(field.id)) {
                continue;
            }
            try {
                context::remove(tx_, audit_, actor_, field);
            } catch (const Error& e) {
                if (e.kind() != ErrorKind::Conflict) {
                    throw;
                }
                // No line of the file names the field: the file as a whole leaves it out.
                throw Error(ErrorKind::InvalidData, fmt::format("{}: {}", source_, e.what()),
                            e.hint());
            }
            steps_.push_back(Step{
                '-',
                "context",
                fmt::format("\"{}\" in {} ({})", field.name, field.ou_path, to_string(field.type)),
                {}});
        }
    }

    void apply_code(const FileCode& entry) {
        at_line(source_, entry.line, [&] {
            const Ou ou = ous::find(tx_, entry.ou.empty() ? scope_path_ : entry.ou);
            const std::string name = names::clean_name(entry.name, "code name");
            const std::string description = names::clean_description(entry.description);
            std::optional<Code> existing;
            for (Code& code : tx_.find_codes_by_name(names::name_key(name))) {
                if (!code.deleted() && code.type == entry.type && code.ou_id == ou.id) {
                    existing = std::move(code);
                }
            }
            if (!existing) {
                const codes::Change change = codes::create(
                    tx_, audit_, actor_, codes::Draft{entry.type, name, description, ou.path});
                named_codes_.insert(change.code.id);
                steps_.push_back(Step{'+', "code", describe_code(entry.type, name, ou.path), {}});
                return 0;
            }
            named_codes_.insert(existing->id);
            if (existing->name == name && existing->description == description) {
                return 0;
            }
            codes::edit(tx_, audit_, actor_,
                        codes::Reference{fmt::format("id:{}", existing->id), {}, {}},
                        codes::Edit{name, description});
            std::string detail;
            if (existing->name != name) {
                detail = fmt::format("name \"{}\" -> \"{}\"", existing->name, name);
            }
            if (existing->description != description) {
                detail += fmt::format("{}description \"{}\" -> \"{}\"", detail.empty() ? "" : ", ",
                                      existing->description, description);
            }
            steps_.push_back(
                Step{'~', "code", describe_code(entry.type, existing->name, ou.path), detail});
            return 0;
        });
    }

    void apply_service(const FileService& entry) {
        at_line(source_, entry.line, [&] {
            const std::string name = names::clean_name(entry.name, "service name");
            const std::string ou_path = names::clean_ou_path(entry.ou);
            auto existing = tx_.find_service(names::name_key(name));
            if (!existing) {
                services::create(tx_, audit_, actor_,
                                 services::Draft{name, ou_path, entry.license});
                steps_.push_back(
                    Step{'+',
                         "service",
                         fmt::format("\"{}\" in {} ({})", name, ou_path, to_string(entry.license)),
                         {}});
                existing = tx_.find_service(names::name_key(name));
            } else if (names::name_key(existing->ou_path) != names::name_key(ou_path)) {
                throw Error(ErrorKind::InvalidData,
                            fmt::format("service \"{}\" is in OU \"{}\", not \"{}\"; services do "
                                        "not move between OUs",
                                        existing->name, existing->ou_path, ou_path));
            }
            if (existing->name != name) {
                services::edit(tx_, audit_, actor_, existing->name,
                               services::Edit{name, std::nullopt, false});
                steps_.push_back(Step{'~', "service", fmt::format("\"{}\"", existing->name),
                                      fmt::format("name \"{}\" -> \"{}\"", existing->name, name)});
                existing = tx_.find_service(names::name_key(name));
            }
            const std::string target = fmt::format("\"{}\"", existing->name);
            if (existing->retired()) {
                if (entry.retired) {
                    // A retired service's settings stay as they were: a file that
                    // changes them is refused, not ignored.
                    if (const std::string what = retired_change(entry, *existing); !what.empty()) {
                        throw Error(ErrorKind::InvalidData,
                                    fmt::format("service \"{}\" is retired, and the file changes "
                                                "its {}",
                                                existing->name, what),
                                    "a retired service's settings do not change: leave them as "
                                    "exported, or set retired = false");
                    }
                    return 0;
                }
                services::restore(tx_, audit_, actor_, existing->name);
                steps_.push_back(Step{'~', "service", target, "restore"});
                existing = tx_.find_service(names::name_key(name));
            }
            // Switch features off before a license change might need it, on after.
            toggle(entry, *existing, false);
            if (existing->license != entry.license) {
                services::edit(tx_, audit_, actor_, existing->name,
                               services::Edit{std::nullopt, entry.license, false});
                steps_.push_back(Step{'~', "service", target,
                                      fmt::format("license {} -> {}", to_string(existing->license),
                                                  to_string(entry.license))});
            }
            toggle(entry, *existing, true);
            // A default code must be on its list whenever a policy names it:
            // a policy whose codes are listed already goes first, so that the
            // lists may drop the old ones; otherwise the lists go first.
            if (defaults_listed(entry, *existing)) {
                apply_wrap_up(entry, *existing, target);
                apply_lists(entry, *existing, target);
            } else {
                apply_lists(entry, *existing, target);
                apply_wrap_up(entry, *existing, target);
            }
            return 0;
        });
    }

    /// What the file would change of a service's settings ("license", ...),
    /// or empty.
    std::string retired_change(const FileService& entry, const Service& service) {
        const ServiceSettings current = services::settings(tx_, service);
        if (entry.license != service.license) {
            return "license";
        }
        for (const auto& [feature, on] : entry.extensions) {
            if (current.is_enabled(feature) != on) {
                return "extensions";
            }
        }
        const auto same_list = [](const std::vector<std::string>& names,
                                  const std::vector<Code>& codes) {
            return names.size() == codes.size() &&
                   std::equal(names.begin(), names.end(), codes.begin(),
                              [](const std::string& name, const Code& code) {
                                  return names::name_key(name) == names::name_key(code.name);
                              });
        };
        if ((entry.primary && !same_list(*entry.primary, current.primary)) ||
            (entry.secondary && !same_list(*entry.secondary, current.secondary))) {
            return "code lists";
        }
        if (entry.wrap_up) {
            const services::WrapUpEdit& wanted = *entry.wrap_up;
            const std::optional<WrapUp>& policy = current.wrap_up;
            const auto same_code = [](const std::optional<std::string>& name, const Code* code) {
                return (!name || name->empty())
                           ? code == nullptr
                           : code != nullptr &&
                                 names::name_key(*name) == names::name_key(code->name);
            };
            if (!policy || wanted.deadline != policy->deadline ||
                !same_code(wanted.default_primary, &policy->default_primary) ||
                !same_code(wanted.default_secondary,
                           policy->default_secondary ? &*policy->default_secondary : nullptr)) {
                return "after-call work";
            }
        }
        return {};
    }

    void toggle(const FileService& entry, const Service& service, bool enable) {
        const ServiceSettings current = services::settings(tx_, service);
        std::vector<std::string> changing;
        for (const auto& [feature, on] : entry.extensions) {
            if (on == enable && current.is_enabled(feature) != enable) {
                changing.push_back(feature);
            }
        }
        if (changing.empty()) {
            return;
        }
        services::set_features(tx_, audit_, actor_, service.name, changing, enable);
        for (const std::string& feature : changing) {
            steps_.push_back(Step{'~', "service", fmt::format("\"{}\"", service.name),
                                  fmt::format("{} {}", enable ? "enable" : "disable", feature)});
        }
    }

    /// Whether the file's policy names only codes on the service's lists now.
    bool defaults_listed(const FileService& entry, const Service& service) {
        if (!entry.wrap_up) {
            return true;
        }
        const ServiceSettings current = services::settings(tx_, service);
        const auto listed = [&](const std::optional<std::string>& name, CodeType type) {
            if (!name || name->empty()) {
                return true;
            }
            const std::vector<Code>& list = current.list(type);
            return std::any_of(list.begin(), list.end(), [&](const Code& code) {
                return names::name_key(code.name) == names::name_key(*name);
            });
        };
        return listed(entry.wrap_up->default_primary, CodeType::Primary) &&
               listed(entry.wrap_up->default_secondary, CodeType::Secondary);
    }

    /// The file's policy; with --prune, a service without one loses its policy.
    void apply_wrap_up(const FileService& entry, const Service& service,
                       const std::string& target) {
        services::WrapUpEdit edit;
        if (entry.wrap_up) {
            edit = *entry.wrap_up;
        } else if (options_.prune) {
            edit.remove = true;
        } else {
            return;
        }
        const std::optional<WrapUp> before = services::settings(tx_, service).wrap_up;
        const auto same_code = [](const std::optional<std::string>& name, const Code* code) {
            return (code == nullptr) == (!name || name->empty()) &&
                   (code == nullptr || names::name_key(code->name) == names::name_key(*name));
        };
        // Nothing to change, so nothing to check, as with the lists.
        if (edit.remove ? !before
                        : before && before->deadline == *edit.deadline &&
                              same_code(edit.default_primary, &before->default_primary) &&
                              same_code(edit.default_secondary, before->default_secondary
                                                                    ? &*before->default_secondary
                                                                    : nullptr)) {
            return;
        }
        const services::Change change =
            services::set_wrap_up(tx_, audit_, actor_, service.name, edit);
        if (change.outcome == services::Outcome::Unchanged) {
            return;
        }
        const auto text = [](const std::optional<WrapUp>& policy) {
            if (!policy) {
                return std::string("(none)");
            }
            std::string described = timefmt::duration_text(policy->deadline) + ", else \"" +
                                    policy->default_primary.name + "\"";
            if (policy->default_secondary) {
                described += " + \"" + policy->default_secondary->name + "\"";
            }
            return described;
        };
        steps_.push_back(
            Step{'~', "service", target,
                 fmt::format("wrap-up {} -> {}", text(before), text(change.settings.wrap_up))});
    }

    void apply_lists(const FileService& entry, const Service& service, const std::string& target) {
        // Without --prune the file's codes come first and the others stay after
        // them; with it, the file's list is the whole list (a missing one is empty).
        const auto update_for = [&](const std::optional<std::vector<std::string>>& list) {
            services::ListUpdate update;
            if (list || options_.prune) {
                update.set = list.value_or(std::vector<std::string>{});
                update.keep_unnamed = !options_.prune;
            }
            return update;
        };
        const services::ListUpdate primary = update_for(entry.primary);
        const services::ListUpdate secondary = update_for(entry.secondary);
        if (primary.empty() && secondary.empty()) {
            return;
        }
        const ServiceSettings before = services::settings(tx_, service);
        const auto [new_primary, new_secondary] =
            services::planned_lists(tx_, before, primary, secondary);
        const auto same = [](const std::vector<Code>& a, const std::vector<Code>& b) {
            return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                              [](const Code& x, const Code& y) { return x.id == y.id; });
        };
        if (same(new_primary, before.primary) && same(new_secondary, before.secondary)) {
            // Nothing to change, so nothing to check: an owner may apply a whole
            // export that changes only their own services.
            for (const Code& code : new_primary) {
                named_codes_.insert(code.id);
            }
            for (const Code& code : new_secondary) {
                named_codes_.insert(code.id);
            }
            return;
        }
        const services::Change change =
            services::apply_codes(tx_, audit_, actor_, service.name, primary, secondary);
        // A code the file puts on a list is named by the file, wherever it is defined.
        for (const CodeType type : {CodeType::Primary, CodeType::Secondary}) {
            for (const Code& code : change.settings.list(type)) {
                named_codes_.insert(code.id);
            }
        }
        for (const CodeType type : {CodeType::Primary, CodeType::Secondary}) {
            if (before.list(type).size() != change.settings.list(type).size() ||
                !std::equal(before.list(type).begin(), before.list(type).end(),
                            change.settings.list(type).begin(),
                            [](const Code& a, const Code& b) { return a.id == b.id; })) {
                steps_.push_back(
                    Step{'~', "service", target,
                         list_change(type, before.list(type), change.settings.list(type))});
            }
        }
    }

    void prune_codes(const Ou& scope) {
        for (const Code& code : tx_.codes(store::CodeFilter{})) {
            if (!within(code.ou_path, scope) || named_codes_.contains(code.id)) {
                continue;
            }
            codes::remove(tx_, audit_, actor_,
                          codes::Reference{fmt::format("id:{}", code.id), {}, {}});
            steps_.push_back(
                Step{'-', "code", describe_code(code.type, code.name, code.ou_path), {}});
        }
    }

    store::WriteTransaction& tx_;
    AuditTrail& audit_;
    const Actor& actor_;
    std::string source_;
    Options options_;
    std::string scope_path_;
    std::set<std::int64_t> named_codes_;
    std::set<std::int64_t> named_fields_;
    std::vector<Step> steps_;
};

} // namespace

std::string Step::line() const {
    return fmt::format("{} {} {}{}", sign, kind, target, detail.empty() ? "" : ": " + detail);
}

std::string export_toml(store::ReadTransaction& tx, const Actor& actor,
                        const std::optional<std::string>& ou_path) {
    const Ou root = ous::root(tx);
    const Ou scope = ou_path ? ous::find(tx, *ou_path) : root;
    if (ou_path) {
        policy::require(actor, policy::Action::ExportConfig,
                        policy::Scope::ou(scope.path, scope.path_key));
    }
    // Each caller exports what they may apply: an admin of the scope all of
    // it; a service owner their services and the codes at those services' OUs.
    // (Whoever may apply a thing may export it: the export rule's roles hold
    // each command's.)
    const policy::Filter exportable(actor, policy::Action::ExportConfig);
    const auto may_apply = [&](policy::Action action, const policy::Scope& where) {
        return exportable.permits(where) && policy::permits(actor, action, where);
    };
    const auto may_change_at = [&](policy::Action action, const std::string& path) {
        return may_apply(action, policy::Scope::ou(path, names::name_key(path)));
    };

    std::string out = "# nimbus-codes configuration. Preview changes with 'nimbus-codes config "
                      "plan FILE',\n# apply them with 'nimbus-codes config apply FILE'.\n";
    out += fmt::format("format = {}\n", file_format_version);
    out += fmt::format("tenant = {}\n", toml_quoted(root.path));
    if (scope.id != root.id) {
        out += fmt::format("scope = {}\n", toml_quoted(scope.path));
    }
    std::string active;
    std::string retired;
    for (const Ou& ou : tx.ous()) {
        if (ou.id != scope.id && within(ou.path, scope) &&
            may_change_at(policy::Action::CreateOu, std::string(names::ou_parent(ou.path)))) {
            (ou.retired() ? retired : active) += fmt::format("  {},\n", toml_quoted(ou.path));
        }
    }
    out += "\nous = [\n" + active + "]\n";
    if (!retired.empty()) {
        out += "retired_ous = [\n" + retired + "]\n";
    }
    for (const Code& code : tx.codes(store::CodeFilter{})) {
        if (!within(code.ou_path, scope) ||
            !may_change_at(policy::Action::ChangeCodes, code.ou_path)) {
            continue;
        }
        out += fmt::format("\n[[codes]]\ntype = {}\nname = {}\nou = {}\n",
                           toml_quoted(to_string(code.type)), toml_quoted(code.name),
                           toml_quoted(code.ou_path));
        if (!code.description.empty()) {
            out += fmt::format("description = {}\n", toml_quoted(code.description));
        }
    }
    for (const ContextField& field : tx.context_fields()) {
        if (!within(field.ou_path, scope) ||
            !may_change_at(policy::Action::DefineContext, field.ou_path)) {
            continue;
        }
        out +=
            fmt::format("\n[[context]]\nname = {}\nou = {}\ntype = {}\n", toml_quoted(field.name),
                        toml_quoted(field.ou_path), toml_quoted(to_string(field.type)));
        if (!field.choices.empty()) {
            std::string values;
            for (const std::string& choice : field.choices) {
                values += (values.empty() ? "" : ", ") + toml_quoted(choice);
            }
            out += fmt::format("values = [{}]\n", values);
        }
        if (!field.description.empty()) {
            out += fmt::format("description = {}\n", toml_quoted(field.description));
        }
    }
    for (const Service& service : tx.services()) {
        if (!within(service.ou_path, scope) ||
            !may_apply(policy::Action::ConfigureService, services::scope_of(service))) {
            continue;
        }
        const ServiceSettings settings = services::settings(tx, service);
        out += fmt::format("\n[[services]]\nname = {}\nou = {}\nlicense = {}\nprimary = {}\n"
                           "secondary = {}\nextensions = {{ ",
                           toml_quoted(service.name), toml_quoted(service.ou_path),
                           toml_quoted(to_string(service.license)), quoted_list(settings.primary),
                           quoted_list(settings.secondary));
        bool first = true;
        for (const Feature& feature : features()) {
            out += fmt::format("{}{} = {}", first ? "" : ", ", feature.name,
                               settings.is_enabled(feature.name) ? "true" : "false");
            first = false;
        }
        out += " }\n";
        if (const auto& policy = settings.wrap_up) {
            out += fmt::format("wrap_up = {{ deadline = {}, default_primary = {}",
                               toml_quoted(timefmt::duration_text(policy->deadline)),
                               toml_quoted(policy->default_primary.name));
            if (policy->default_secondary) {
                out += fmt::format(", default_secondary = {}",
                                   toml_quoted(policy->default_secondary->name));
            }
            out += " }\n";
        }
        if (service.retired()) {
            out += "retired = true\n";
        }
    }
    return out;
}

void check_form(std::string_view text, const std::string& source) {
    Reader(source).read(text);
}

std::vector<Step> apply(store::WriteTransaction& tx, AuditTrail& audit, const Actor& actor,
                        std::string_view text, const std::string& source, const Options& options) {
    const File file = Reader(source).read(text);
    return Applier(tx, audit, actor, source, options).run(file);
}

} // namespace nimbus::config
