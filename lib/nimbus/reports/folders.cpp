#include <nimbus/reports/folders.hpp>

#include <set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <nimbus/error.hpp>
#include <nimbus/util/files.hpp>

namespace nimbus::reports {

bool is_earlier_folder(int folder, const std::string& path, const FolderKind& kind) {
    const std::string manifest_file(manifest_name);
    const Descriptor file(
        ::openat(folder, manifest_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat info {};
    if (!file.valid() || ::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode) ||
        info.st_size > (1 << 20)) {
        return false;
    }
    std::string text(static_cast<std::size_t>(info.st_size), '\0');
    if (::read(file.get(), text.data(), text.size()) != info.st_size) {
        return false;
    }
    const nlohmann::json manifest = nlohmann::json::parse(text, nullptr, false);
    if (!manifest.is_object() || manifest.value("format", "") != kind.format ||
        !manifest.contains("files") || !manifest["files"].is_array()) {
        return false;
    }
    const std::string version_key(kind.version_key);
    const nlohmann::json version = manifest.value(version_key, nlohmann::json());
    if (version.is_number_integer() && version.get<std::int64_t>() > kind.current) {
        throw Error(ErrorKind::Config,
                    fmt::format("{} was written by a newer nimbus-codes ({} {} {}; this one "
                                "writes {})",
                                path, kind.format, version_key, version.get<std::int64_t>(),
                                kind.current),
                    "write into another folder, or upgrade nimbus-codes here");
    }
    std::set<std::string> listed{manifest_file};
    for (const nlohmann::json& entry : manifest["files"]) {
        if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
            listed.insert(entry["name"].get<std::string>());
        }
    }
    for (const std::string& name : folder_entries(folder)) {
        if (!listed.contains(name)) {
            return false;
        }
    }
    return true;
}

} // namespace nimbus::reports
