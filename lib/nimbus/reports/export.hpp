#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nimbus/identity/actor.hpp>
#include <nimbus/identity/identity.hpp>
#include <nimbus/store/store.hpp>

namespace nimbus::reports {

/// The shape of the files: raised whenever a file or column is added, removed
/// or changes meaning. 2: session_tags.csv has tag_key, tags.csv is new, and
/// retroactive follows the times. 3: session_context.csv and
/// context_fields.csv are new. 4: sessions.csv has waiting_seconds,
/// talk_seconds and concluded_by_default.
inline constexpr int export_model_version = 4;

struct ExportRequest {
    std::filesystem::path dir;
    std::optional<std::string> from; ///< first day, YYYY-MM-DD (default: the first session)
    std::optional<std::string> to;   ///< last day, included (default: the last session)
    std::vector<std::string> services;
    std::string zone = "UTC"; ///< for the date keys
};

struct ExportedFile {
    std::string name;
    std::size_t rows = 0;
    std::string sha256;
};

struct ExportResult {
    std::vector<ExportedFile> files;
};

/// Reports progress as rows written so far.
using ExportProgress = std::function<void(std::size_t rows)>;

/// Checks, without writing anything, that `dir` may receive an export: it is
/// absent, an empty folder, or the folder of an earlier export (its
/// manifest.json written by nimbus-codes, and nothing in it that the manifest
/// does not list). Anything else throws CannotWrite.
void check_export_folder(const std::string& dir);

/// Writes the reporting model as CSV tables shaped as a star (a sessions fact,
/// session codes and tags, and dimensions for codes, services, users, OUs,
/// outcomes and dates), plus manifest.json with the schema version, the time,
/// the filters, each file's row count and SHA-256, and the ledger's head.
/// Everything is written
/// into a temporary folder beside `dir` and swapped into place at the end;
/// `dir` must pass check_export_folder.
ExportResult export_model(store::ReadTransaction& tx, const Actor& actor,
                          const identity::Identity& identity, const ExportRequest& request,
                          int schema_version, Timestamp now, const ExportProgress& progress);

} // namespace nimbus::reports
