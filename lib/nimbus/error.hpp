#pragma once

#include <stdexcept>
#include <string>

namespace nimbus {

/// What kind of failure an operation hit. The command layer maps each kind to
/// one exit status (see cmd/exit_codes.cpp); the library never exits itself.
enum class ErrorKind {
    Internal,         ///< a bug or an unexpected system failure
    NotFound,         ///< a code, service, session, OU or user does not exist
    Conflict,         ///< exists already with other fields, already concluded, ...
    Usage,            ///< the command line is wrong or ambiguous
    InvalidData,      ///< input breaks a rule (names, lists, rows)
    InputMissing,     ///< an input file or the store does not exist
    NotLicensed,      ///< feature not enabled or not licensed for a service
    CannotWrite,      ///< an output file or the store cannot be written
    Busy,             ///< the store stayed locked past the busy timeout, or is unreachable
    Retry,            ///< a concurrent transaction got in the way: running again resolves it
    PermissionDenied, ///< the caller's roles do not allow the action
    Config,           ///< identity file or store configuration is unusable
};

/// The one exception type the library throws on purpose. `what()` is a complete
/// sentence fragment for "nimbus-codes: error: ..."; `hint()` says what to do.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, std::string hint = {})
        : std::runtime_error(message)
        , kind_(kind)
        , hint_(std::move(hint)) {}

    ErrorKind kind() const noexcept { return kind_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    ErrorKind kind_;
    std::string hint_;
};

} // namespace nimbus
