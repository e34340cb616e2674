#include <nimbus/identity/identity.hpp>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <sys/stat.h>

#include <fmt/format.h>

#include <nimbus/catalogue/names.hpp>
#include <nimbus/error.hpp>
#include <nimbus/util/text.hpp>
#include <nimbus/util/toml.hpp>

namespace nimbus::identity {
namespace {

/// "FILE:LINE:COLUMN" for a node, or just "FILE" when toml++ has no position.
std::string where(const std::string& source, const toml::source_region& region) {
    if (region.begin.line == 0) {
        return source;
    }
    return fmt::format("{}:{}:{}", source, region.begin.line, region.begin.column);
}

[[noreturn]] void fail(const std::string& source, const toml::source_region& region,
                       const std::string& message) {
    throw Error(ErrorKind::Config, fmt::format("{}: {}", where(source, region), message),
                "see 'man 5 nimbus-codes-identity' or docs/identity.md for the format");
}

const char* type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date or time";
    }
}

std::string read_string(const std::string& source, const toml::node& node, std::string_view key) {
    const auto* value = node.as_string();
    if (value == nullptr) {
        fail(source, node.source(),
             fmt::format("\"{}\" must be a string, not {}", key, type_name(node)));
    }
    return value->get();
}

/// Reads an array of names, cleaning each with `clean`.
template <class Clean>
std::vector<std::string> read_names(const std::string& source, const toml::node& node,
                                    std::string_view key, Clean&& clean) {
    const auto* array = node.as_array();
    if (array == nullptr) {
        fail(source, node.source(),
             fmt::format("\"{}\" must be an array of strings, not {}", key, type_name(node)));
    }
    std::vector<std::string> names;
    for (const toml::node& element : *array) {
        const std::string raw = read_string(source, element, key);
        try {
            names.push_back(clean(raw));
        } catch (const Error& e) {
            fail(source, element.source(), fmt::format("\"{}\": {}", key, e.what()));
        }
    }
    return names;
}

User read_user(const std::string& source, std::string_view login, const toml::node& node) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        fail(source, node.source(),
             fmt::format("users.{} must be a table, not {}", login, type_name(node)));
    }
    User user;
    user.login = std::string(login);
    bool has_name = false;
    const auto clean_service = [](std::string_view raw) {
        return names::clean_name(raw, "service name");
    };
    for (const auto& [key, value] : *table) {
        const std::string_view k = key.str();
        if (k == "name") {
            user.name = text::collapse_whitespace(read_string(source, value, k));
            has_name = true;
            if (user.name.empty()) {
                fail(source, value.source(), fmt::format("users.{}.name is empty", login));
            }
            if (text::has_control_characters(user.name)) {
                fail(source, value.source(),
                     fmt::format("users.{}.name contains a control character", login));
            }
        } else if (k == "email") {
            user.email = std::string(text::trim(read_string(source, value, k)));
        } else if (k == "tenant_admin") {
            const auto* flag = value.as_boolean();
            if (flag == nullptr) {
                fail(source, value.source(),
                     fmt::format("\"tenant_admin\" must be true or false, not {}",
                                 type_name(value)));
            }
            user.tenant_admin = flag->get();
        } else if (k == "ou_admin") {
            user.ou_admin = read_names(source, value, k, names::clean_ou_path);
        } else if (k == "owner") {
            user.owner = read_names(source, value, k, clean_service);
        } else if (k == "supervisor") {
            user.supervisor = read_names(source, value, k, clean_service);
        } else if (k == "member") {
            user.member = read_names(source, value, k, clean_service);
        } else {
            fail(source, key.source(),
                 fmt::format("unknown key \"{}\" in users.{} (known: name, email, tenant_admin, "
                             "ou_admin, owner, supervisor, member)",
                             k, login));
        }
    }
    if (!has_name) {
        fail(source, table->source(), fmt::format("users.{} has no \"name\"", login));
    }
    return user;
}

} // namespace

const User* Identity::find(std::string_view login) const {
    const auto it = users.find(login);
    return it == users.end() ? nullptr : &it->second;
}

namespace {

/// The logins with a grant in one of `lists` that names `name_key`.
std::vector<std::string> granted(const std::map<std::string, User, std::less<>>& users,
                                 std::string_view name_key,
                                 std::initializer_list<std::vector<std::string> User::*> lists) {
    std::vector<std::string> logins;
    for (const auto& entry : users) {
        const User& user = entry.second;
        const bool named = std::any_of(lists.begin(), lists.end(), [&](const auto list) {
            return std::any_of((user.*list).begin(), (user.*list).end(), [&](const auto& target) {
                return names::name_key(target) == name_key;
            });
        });
        if (named) {
            logins.push_back(entry.first);
        }
    }
    return logins;
}

} // namespace

std::vector<std::string> Identity::granted_service(std::string_view name) const {
    return granted(users, names::name_key(name), {&User::owner, &User::supervisor, &User::member});
}

std::vector<std::string> Identity::granted_ou(std::string_view path) const {
    return granted(users, names::name_key(path), {&User::ou_admin});
}

Identity parse_identity(std::string_view text, const std::string& source) {
    if (const auto bad = text::first_invalid_utf8(text)) {
        const text::Position at = text::position_of(text, *bad);
        throw Error(ErrorKind::Config,
                    fmt::format("{}:{}:{}: not valid UTF-8 (byte 0x{:02X})", source, at.line,
                                at.column, static_cast<unsigned char>(text[*bad])),
                    "save the identity file as UTF-8");
    }
    const TomlDocument document = parse_toml(text);
    if (document.error) {
        const auto& e = *document.error;
        const std::string position =
            e.line == 0 ? source : fmt::format("{}:{}:{}", source, e.line, e.column);
        throw Error(ErrorKind::Config, fmt::format("{}: {}", position, e.message),
                    "fix the TOML syntax of the identity file");
    }
    // Before any other key: a newer format may have keys of its own.
    read_file_format(document.table, source,
                     FileFormat{"identity file", file_format_version, ErrorKind::Config});
    Identity identity;
    identity.source = source;
    for (const auto& [key, value] : document.table) {
        if (key.str() == "format") {
            continue;
        }
        if (key.str() != "users") {
            fail(source, key.source(),
                 fmt::format("unknown key \"{}\" (the file holds format = {} and "
                             "[users.LOGIN] tables)",
                             key.str(), file_format_version));
        }
        const auto* users = value.as_table();
        if (users == nullptr) {
            fail(source, value.source(), "\"users\" must be a table of [users.LOGIN] tables");
        }
        for (const auto& [login, entry] : *users) {
            if (login.str().empty() || text::has_control_characters(login.str())) {
                fail(source, login.source(), "a user's login name must be a non-empty word");
            }
            identity.users.emplace(std::string(login.str()), read_user(source, login.str(), entry));
        }
    }
    return identity;
}

Identity load_identity_file(const std::filesystem::path& path) {
    const std::string source = path.string();
    struct stat info {};
    if (::stat(source.c_str(), &info) != 0) {
        throw Error(ErrorKind::Config, fmt::format("identity file {} does not exist", source),
                    "create it (see 'man 5 nimbus-codes-identity'), or point --identity or "
                    "NIMBUS_CODES_IDENTITY at it");
    }
    if (!S_ISREG(info.st_mode)) {
        throw Error(ErrorKind::Config, fmt::format("identity file {} is not a file", source));
    }
    if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        throw Error(ErrorKind::Config,
                    fmt::format("identity file {} is writable by group or others, so anyone "
                                "could grant themselves roles",
                                source),
                    fmt::format("run: chmod go-w {}", source));
    }
    if (static_cast<std::uintmax_t>(info.st_size) > max_identity_file_size) {
        throw Error(ErrorKind::Config, fmt::format("identity file {} is larger than {} bytes",
                                                   source, max_identity_file_size));
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in) {
        throw Error(ErrorKind::Config, fmt::format("cannot read identity file {}", source));
    }
    return parse_identity(content.str(), source);
}

} // namespace nimbus::identity
