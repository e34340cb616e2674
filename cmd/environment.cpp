#include "environment.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <pwd.h>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/util/privilege.hpp>

namespace nimbus::cli::environment {
namespace {

std::string_view variable(const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string_view{} : std::string_view(value);
}

/// The XDG base directory `xdg_variable`, else $HOME/`fallback`, per the XDG spec
/// (relative values are ignored).
std::string base_directory(const char* xdg_variable, std::string_view fallback) {
    const std::string_view xdg = variable(xdg_variable);
    if (xdg.starts_with('/')) {
        return std::string(xdg);
    }
    std::string_view home = variable("HOME");
    if (home.empty()) {
        if (const passwd* entry = ::getpwuid(::getuid())) {
            home = entry->pw_dir;
        }
    }
    if (home.empty()) {
        throw Error(
            ErrorKind::Config,
            fmt::format("cannot find a home folder (neither {} nor HOME is set)", xdg_variable));
    }
    return fmt::format("{}/{}", home, fallback);
}

/// Variables that change how the output looks and nothing else.
bool shapes_output_only(std::string_view name) {
    return name == "TERM" || name == "NO_COLOR" || name == "COLUMNS" || name == "LANG" ||
           name.starts_with("LC_");
}

} // namespace

bool shared_host() {
    return privilege::elevated();
}

std::string shared_store_path() {
    return NIMBUS_SHARED_STORE;
}

std::string shared_identity_path() {
    return NIMBUS_SHARED_IDENTITY;
}

Error not_on_shared_host(const std::string& what, std::string hint) {
    return Error(ErrorKind::PermissionDenied,
                 fmt::format("on this shared host nimbus-codes takes no {}: it uses the shared "
                             "store {} and identity file {}",
                             what, shared_store_path(), shared_identity_path()),
                 std::move(hint));
}

void confine_to_shared_host() {
    if (!shared_host()) {
        return;
    }
    std::vector<std::pair<std::string, std::string>> kept;
    std::string refused;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string_view assignment(*entry);
        const std::size_t equals = assignment.find('=');
        if (equals == std::string_view::npos) {
            continue; // not a variable: dropped with the rest
        }
        const std::string_view name = assignment.substr(0, equals);
        if (std::find(variables.begin(), variables.end(), name) != variables.end()) {
            refused += (refused.empty() ? "" : ", ") + std::string(name);
        } else if (shapes_output_only(name)) {
            kept.emplace_back(name, assignment.substr(equals + 1));
        }
    }
    if (!refused.empty()) {
        throw not_on_shared_host(refused, fmt::format("unset {}", refused));
    }
    ::clearenv();
    for (const auto& [name, value] : kept) {
        ::setenv(name.c_str(), value.c_str(), 1);
    }
}

std::string os_login() {
    if (const passwd* entry = ::getpwuid(::getuid())) {
        return entry->pw_name;
    }
    if (!shared_host()) {
        for (const char* name : {"LOGNAME", "USER"}) {
            if (const std::string_view value = variable(name); !value.empty()) {
                return std::string(value);
            }
        }
    }
    throw Error(ErrorKind::Config, "cannot tell which OS account runs nimbus-codes");
}

std::string store_location(const std::string& given) {
    if (shared_host()) {
        return shared_store_path();
    }
    return given.empty()
               ? base_directory("XDG_DATA_HOME", ".local/share") + "/nimbus-codes/store.db"
               : given;
}

std::string identity_location(const std::string& given) {
    if (shared_host()) {
        // Whoever can change the identity file chooses the roles.
        return privilege::require_root_owned_file(shared_identity_path(), "the identity file");
    }
    return given.empty()
               ? base_directory("XDG_CONFIG_HOME", ".config") + "/nimbus-codes/identity.toml"
               : given;
}

void require_guarded_shared_store(const std::string& location, bool creating) {
    if (!shared_host()) {
        return;
    }
    privilege::require_guarded_folder(std::filesystem::path(location).parent_path().string(),
                                      "the shared store's folder");
    if (!creating) {
        for (const char* suffix : {"", "-wal", "-shm"}) {
            privilege::require_root_file(location + suffix, "the shared store's file", S_IWOTH);
        }
    }
}

Timestamp now() {
    const std::string_view fixed = variable("NIMBUS_CODES_NOW");
    if (fixed.empty()) {
        return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    }
    if (const auto parsed = timefmt::parse_timestamp(fixed)) {
        return *parsed;
    }
    throw Error(ErrorKind::Config,
                fmt::format("NIMBUS_CODES_NOW=\"{}\" is not an RFC 3339 time", fixed),
                "use e.g. 2026-11-26T09:30:00Z, or unset it");
}

} // namespace nimbus::cli::environment
