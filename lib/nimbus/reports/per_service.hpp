#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/output/rows.hpp>
#include <nimbus/reports/usage.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::reports {

/// The version of the per-service folder's manifest (its "format_version").
/// Raise it when a file or key changes meaning.
inline constexpr int per_service_format_version = 1;

/// One service's report in a per-service folder.
struct ServiceReportFile {
    std::string service;
    std::string name; ///< the file's name in the folder
    std::size_t rows = 0;
};

struct PerServiceResult {
    Period period;
    std::vector<ServiceReportFile> files;
};

/// The name of a service's report file: the service's name, where each
/// character that a file name on Linux, Windows or a share cannot hold (/, \,
/// :, *, ?, ", <, >, |, control characters), a leading dot (a hidden file, or
/// "." and "..") and a trailing dot or space becomes '_'; a name that Windows
/// takes for a device (CON, PRN, AUX, NUL, COM1-9, LPT1-9, before any dot, in
/// any case) gets a leading '_'; then ".csv" or ".json".
std::string report_file_name(std::string_view service, output::Format format);

/// Checks, without writing anything, that the reports may be written as
/// `format` (csv or json, else Usage) to `dir`: absent, an empty folder, or an
/// earlier per-service folder (see folders.hpp).
void check_per_service_folder(const std::string& dir, output::Format format);

/// Writes the report `request` asks for once for each service it covers, as
/// that report with `--service NAME` alone would be, in `format` (csv or json),
/// one file each (report_file_name), with a manifest.json naming each file's
/// service, rows and SHA-256, the period and the ledger's head. Everything is
/// written into a temporary folder beside `dir` and swapped into place at the
/// end. Two services whose files would share a name (in any case), or a name
/// too long for a file, are refused (Usage) before anything is written; so is
/// anything that one service's report refuses.
PerServiceResult usage_per_service(store::ReadTransaction& tx, const Actor& actor,
                                   const identity::Identity& identity, const UsageRequest& request,
                                   Timestamp now, const std::string& dir, output::Format format);

} // namespace nimbus::reports
