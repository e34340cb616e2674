#pragma once

#include <string>

#include <nimbus/util/time.hpp>

/// What nimbus-codes reads from the process environment (see docs/nimbus-codes.md).
namespace nimbus::cli::environment {

/// The login name of the OS account running the command.
std::string os_login();

/// $XDG_DATA_HOME/nimbus-codes/store.db, else ~/.local/share/nimbus-codes/store.db.
std::string default_store_path();

/// $XDG_CONFIG_HOME/nimbus-codes/identity.toml, else ~/.config/nimbus-codes/identity.toml.
std::string default_identity_path();

/// The current time, or NIMBUS_CODES_NOW (RFC 3339) when set, for reproducible runs.
Timestamp now();

} // namespace nimbus::cli::environment
