#include "environment.hpp"

#include <cstdlib>
#include <pwd.h>
#include <string_view>
#include <unistd.h>

#include <fmt/format.h>

#include <nimbus/error.hpp>

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
        if (const passwd* entry = ::getpwuid(::geteuid())) {
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

} // namespace

std::string os_login() {
    if (const passwd* entry = ::getpwuid(::geteuid())) {
        return entry->pw_name;
    }
    for (const char* name : {"LOGNAME", "USER"}) {
        if (const std::string_view value = variable(name); !value.empty()) {
            return std::string(value);
        }
    }
    throw Error(ErrorKind::Config, "cannot tell which OS account runs nimbus-codes");
}

std::string default_store_path() {
    return base_directory("XDG_DATA_HOME", ".local/share") + "/nimbus-codes/store.db";
}

std::string default_identity_path() {
    return base_directory("XDG_CONFIG_HOME", ".config") + "/nimbus-codes/identity.toml";
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
