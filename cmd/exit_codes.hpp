#pragma once

#include <string>

#include <nimbus/error.hpp>

namespace nimbus::cli {

/// Exit statuses, following sysexits.h. Documented in README.md, docs/ and --help.
enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,
    exit_not_found = 3,
    exit_conflict = 4,
    exit_usage = 64,
    exit_invalid_data = 65,
    exit_no_input = 66,
    exit_unavailable = 69,
    exit_cannot_write = 73,
    exit_busy = 75,
    exit_permission = 77,
    exit_config = 78,
    exit_cancelled = 130, ///< as a shell reports a program ended by Ctrl-C
};

int exit_code(ErrorKind kind);

/// The table of exit statuses, as printed at the end of --help.
std::string exit_code_help();

} // namespace nimbus::cli
