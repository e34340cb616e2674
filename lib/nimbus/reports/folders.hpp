#pragma once

#include <string>
#include <string_view>

/// Folders that nimbus-codes writes whole: the reporting model and the reports
/// of each service. Each holds a manifest.json that names its kind and version
/// and lists every other file in it, so that a later run may replace the folder
/// knowing it holds nothing but what an earlier run wrote.
namespace nimbus::reports {

struct FolderKind {
    std::string_view format;      ///< the manifest's "format", e.g. "nimbus-codes reporting model"
    std::string_view version_key; ///< the manifest's key for the version of that format
    int current = 1;              ///< the version this binary writes
};

inline constexpr std::string_view manifest_name = "manifest.json";

/// True when the folder open as `folder` (at `path`) holds a manifest.json of
/// `kind` and nothing that the manifest does not list: an earlier run's, which
/// may be replaced. Throws Config when that manifest's version is newer than
/// `kind.current`: a newer binary's folder is never replaced by an older one.
bool is_earlier_folder(int folder, const std::string& path, const FolderKind& kind);

} // namespace nimbus::reports
