#include "exit_codes.hpp"

#include <fmt/format.h>

namespace nimbus::cli {
namespace {

struct ExitCodeDoc {
    int code;
    const char* meaning;
};

constexpr ExitCodeDoc documented[] = {
    {exit_ok, "success"},
    {exit_failure, "unexpected failure"},
    {exit_not_found, "not found (code, service, session, OU, user)"},
    {exit_conflict, "conflict (exists with other fields, already concluded)"},
    {exit_usage, "usage error"},
    {exit_invalid_data, "invalid data"},
    {exit_no_input, "input file or store missing"},
    {exit_unavailable, "feature not enabled or not licensed for the service"},
    {exit_cannot_write, "cannot write output"},
    {exit_busy, "store busy past the timeout, or its server unreachable; retry"},
    {exit_permission, "permission denied"},
    {exit_config, "configuration error (identity file, store newer than the binary)"},
    {exit_cancelled, "cancelled at a prompt (Enter, end of input, Ctrl-C); nothing was written"},
};

} // namespace

int exit_code(ErrorKind kind) {
    switch (kind) {
    case ErrorKind::Internal: return exit_failure;
    case ErrorKind::NotFound: return exit_not_found;
    case ErrorKind::Conflict: return exit_conflict;
    case ErrorKind::Usage: return exit_usage;
    case ErrorKind::InvalidData: return exit_invalid_data;
    case ErrorKind::InputMissing: return exit_no_input;
    case ErrorKind::NotLicensed: return exit_unavailable;
    case ErrorKind::CannotWrite: return exit_cannot_write;
    case ErrorKind::Busy: return exit_busy;
    case ErrorKind::Retry: return exit_busy;
    case ErrorKind::PermissionDenied: return exit_permission;
    case ErrorKind::Config: return exit_config;
    }
    return exit_failure;
}

std::string exit_code_help() {
    std::string text = "Exit status:\n";
    for (const ExitCodeDoc& doc : documented) {
        text += fmt::format("  {:>3}  {}\n", doc.code, doc.meaning);
    }
    return text;
}

} // namespace nimbus::cli
