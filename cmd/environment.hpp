#pragma once

#include <array>
#include <string>

#include <nimbus/error.hpp>
#include <nimbus/util/time.hpp>

/// What nimbus-codes reads from the process environment (see docs/nimbus-codes.md),
/// and how that changes on a shared host (docs/guide.md, "Three ways to run").
namespace nimbus::cli::environment {

/// The variables nimbus-codes reads.
inline constexpr std::array<const char*, 4> variables = {
    "NIMBUS_CODES_STORE", "NIMBUS_CODES_IDENTITY", "NIMBUS_CODES_NOW", "NIMBUS_CODES_BUSY_TIMEOUT"};

/// True when nimbus-codes runs with rights its caller does not have (installed
/// setgid on a shared host): then the store and the identity file are the
/// system paths below, and nothing of the caller's environment steers it.
bool shared_host();

/// The paths fixed when nimbus-codes was built, used on a shared host.
std::string shared_store_path();
std::string shared_identity_path();

/// The refusal of `what` (an option or a variable) on a shared host, which
/// uses its own store and identity file whatever the caller names.
Error not_on_shared_host(const std::string& what, std::string hint);

/// On a shared host, refuses (PermissionDenied) the variables above and drops
/// every variable but those that only shape the output (TERM, NO_COLOR,
/// COLUMNS, LANG, LC_*), so that no library reads one later (SQLite's
/// SQLITE_TMPDIR, ICU's ICU_DATA, libpq's PG*). Elsewhere it does nothing.
void confine_to_shared_host();

/// The login name of the OS account running the command: the real user, which
/// a setgid binary does not change.
std::string os_login();

/// The store a command uses: on a shared host the shared store, whatever is
/// given; else `given` (--store or NIMBUS_CODES_STORE) when not empty, else
/// $XDG_DATA_HOME/nimbus-codes/store.db or ~/.local/share/nimbus-codes/store.db.
std::string store_location(const std::string& given);

/// The identity file a command uses: on a shared host the shared identity file,
/// once checked that only root can change it (Config otherwise), and with its
/// links resolved; else `given` when not empty, else
/// $XDG_CONFIG_HOME/nimbus-codes/identity.toml or ~/.config/nimbus-codes/identity.toml.
std::string identity_location(const std::string& given);

/// On a shared host, checks that nobody but root and the store's group can
/// change the store at `location` (Config otherwise), so that the group's
/// rights reach that store and nothing else: its folder and those on the way,
/// and, unless root is `creating` it, its file and its -wal and -shm, which
/// must be there and be root's (the set-up made them; SQLite keeps them; a
/// file that a caller made would be theirs to write). Elsewhere nothing.
void require_guarded_shared_store(const std::string& location, bool creating);

/// The current time, or NIMBUS_CODES_NOW (RFC 3339) when set, for reproducible runs.
Timestamp now();

} // namespace nimbus::cli::environment
