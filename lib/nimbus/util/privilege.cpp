#include <nimbus/util/privilege.hpp>

#include <filesystem>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/util/files.hpp>

namespace nimbus::privilege {
namespace {

struct stat status_of(const std::string& path, const std::string& what) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        throw Error(ErrorKind::Config,
                    fmt::format("cannot check {} {}: {}", what, path, system_error_text(errno)),
                    "on a shared host, root sets these files up: nimbus-codes-setup-shared-host");
    }
    return info;
}

/// "/", "/etc", "/etc/nimbus-codes" for "/etc/nimbus-codes".
std::vector<std::string> folders_to(const std::filesystem::path& folder) {
    std::vector<std::string> folders;
    std::filesystem::path walked;
    for (const std::filesystem::path& part : folder) {
        walked /= part;
        folders.push_back(walked.string());
    }
    return folders;
}

void require_root_folder(const std::string& folder, const std::string& what,
                         const std::string& path, mode_t forbidden) {
    const struct stat info = status_of(folder, what);
    if (info.st_uid != 0 || (info.st_mode & forbidden) != 0) {
        throw Error(ErrorKind::Config,
                    fmt::format("{} {} is in folder {}, which someone other than root can change "
                                "(owner uid {}, mode {:04o})",
                                what, path, folder, info.st_uid, info.st_mode & 07777),
                    "make every folder on its way owned by root and writable by root alone");
    }
}

std::filesystem::path resolved(const std::string& path, const std::string& what) {
    std::error_code ec;
    std::filesystem::path real = std::filesystem::canonical(path, ec);
    if (ec) {
        throw Error(ErrorKind::Config,
                    fmt::format("cannot find {} {}: {}", what, path, ec.message()));
    }
    return real;
}

} // namespace

bool elevated() {
    return ::getauxval(AT_SECURE) != 0;
}

CallerRights::CallerRights() {
    if (!elevated()) {
        return;
    }
    saved_uid_ = ::geteuid();
    saved_gid_ = ::getegid();
    if (saved_uid_ == ::getuid() && saved_gid_ == ::getgid()) {
        return;
    }
    // The group first: once the user is dropped, it could not be changed back.
    if (::setegid(::getgid()) != 0 || ::seteuid(::getuid()) != 0) {
        const int error = errno;
        [[maybe_unused]] const int restored = ::setegid(saved_gid_); // the error says why
        throw Error(ErrorKind::Internal, fmt::format("cannot act with the caller's own rights: {}",
                                                     system_error_text(error)));
    }
    dropped_ = true;
}

CallerRights::~CallerRights() {
    if (dropped_) {
        // Should taking the rights back fail, the store cannot be opened and
        // says so: acting with fewer rights than installed is never unsafe.
        [[maybe_unused]] const int user = ::seteuid(saved_uid_);
        [[maybe_unused]] const int group = ::setegid(saved_gid_);
    }
}

std::string require_root_owned_file(const std::string& path, const std::string& what) {
    const std::filesystem::path real = resolved(path, what);
    for (const std::string& folder : folders_to(real.parent_path())) {
        require_root_folder(folder, what, path, S_IWGRP | S_IWOTH);
    }
    require_root_file(real.string(), what, S_IWGRP | S_IWOTH);
    return real.string();
}

void require_guarded_folder(const std::string& folder, const std::string& what) {
    const std::filesystem::path real = resolved(folder, what);
    const std::vector<std::string> folders = folders_to(real);
    for (std::size_t i = 0; i + 1 < folders.size(); ++i) {
        require_root_folder(folders[i], what, folder, S_IWGRP | S_IWOTH);
    }
    require_root_folder(folders.back(), what, folder, S_IWOTH);
}

void require_root_file(const std::string& path, const std::string& what, mode_t forbidden) {
    const struct stat info = status_of(path, what);
    if (!S_ISREG(info.st_mode)) {
        throw Error(ErrorKind::Config, fmt::format("{} {} is not a regular file", what, path));
    }
    if (info.st_uid != 0 || (info.st_mode & forbidden) != 0) {
        throw Error(ErrorKind::Config,
                    fmt::format("{} {} can be changed by someone it should not be "
                                "(owner uid {}, mode {:04o})",
                                what, path, info.st_uid, info.st_mode & 07777),
                    (forbidden & S_IWGRP) != 0
                        ? "make it owned by root and writable by root alone"
                        : "make it owned by root and writable by root and its group alone");
    }
}

} // namespace nimbus::privilege
