#include <nimbus/util/files.hpp>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h> // renameat2
#include <unistd.h>

#include <nettle/sha2.h>
#include <fmt/format.h>

#include <nimbus/error.hpp>
#include <nimbus/util/privilege.hpp>

namespace nimbus {
namespace {

std::string reason(int error) {
    return system_error_text(error);
}

[[noreturn]] void refuse(const std::string& name, const std::string& why, std::string hint = {}) {
    throw Error(ErrorKind::CannotWrite, fmt::format("cannot write {}: {}", name, why),
                std::move(hint));
}

std::string user_name(uid_t uid) {
    if (const passwd* entry = ::getpwuid(uid)) {
        return entry->pw_name;
    }
    return fmt::format("uid {}", uid);
}

std::string join(const std::string& folder, const std::string& leaf) {
    return folder == "/" ? "/" + leaf : folder + "/" + leaf;
}

std::string parent_of(const std::string& folder) {
    const std::size_t slash = folder.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : folder.substr(0, slash);
}

std::deque<std::string> components(std::string_view path) {
    std::deque<std::string> parts;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        if (slash > start) {
            parts.emplace_back(path.substr(start, slash - start));
        }
        start = slash + 1;
    }
    return parts;
}

/// A link is followed only when the caller or root made it: a link that
/// another user planted could lead anywhere the caller may write.
bool trusted_link(const struct stat& link) {
    return link.st_uid == 0 || link.st_uid == ::getuid();
}

std::string read_link(int folder, const std::string& leaf) {
    std::string target(256, '\0');
    while (true) {
        const ssize_t length = ::readlinkat(folder, leaf.c_str(), target.data(), target.size());
        if (length < 0) {
            return {};
        }
        if (static_cast<std::size_t>(length) < target.size()) {
            target.resize(static_cast<std::size_t>(length));
            return target;
        }
        target.resize(target.size() * 2);
    }
}

/// What a path names, found one component at a time, each symbolic link
/// checked before it is followed, so that what is written is what was checked.
struct Entry {
    std::shared_ptr<Descriptor> folder; ///< O_PATH descriptor of the folder holding it
    std::string folder_path;            ///< that folder, every link resolved
    std::string leaf;
    std::optional<struct stat> existing; ///< nothing when it does not exist yet
    bool through_link = false;           ///< the last component was a symbolic link
};

Entry find_entry(const std::string& name) {
    if (name.empty()) {
        refuse("\"\"", "the name is empty");
    }
    Entry entry;
    const auto open_folder = [&](int at, const char* path, const std::string& shown) {
        Descriptor next(::openat(at, path, O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!next.valid()) {
            refuse(name, fmt::format("{}: {}", shown, reason(errno)));
        }
        entry.folder = std::make_shared<Descriptor>(std::move(next));
    };
    if (name.front() == '/') {
        open_folder(AT_FDCWD, "/", "/");
        entry.folder_path = "/";
    } else {
        open_folder(AT_FDCWD, ".", "the current folder");
        std::error_code ec;
        entry.folder_path = std::filesystem::current_path(ec).string();
    }
    std::deque<std::string> parts = components(name);
    int links = 0;
    while (!parts.empty()) {
        const std::string part = std::move(parts.front());
        parts.pop_front();
        const bool last = parts.empty();
        if (part == "." || part == "..") {
            if (last) {
                break;
            }
            if (part == "..") {
                open_folder(entry.folder->get(), "..", parent_of(entry.folder_path));
                entry.folder_path = parent_of(entry.folder_path);
            }
            continue;
        }
        const std::string here = join(entry.folder_path, part);
        struct stat info {};
        if (::fstatat(entry.folder->get(), part.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) {
            const int error = errno;
            if (error == ENOENT && last) {
                entry.leaf = part;
                return entry;
            }
            refuse(name, error == ENOENT ? fmt::format("folder {} does not exist", here)
                                         : fmt::format("{}: {}", here, reason(error)));
        }
        if (S_ISLNK(info.st_mode)) {
            if (!trusted_link(info)) {
                refuse(name,
                       fmt::format("{} is a symbolic link that belongs to {}; nimbus-codes "
                                   "follows only links of the user running it or of root",
                                   here, user_name(info.st_uid)),
                       "name the file itself, or remove the link");
            }
            if (++links > 40) {
                refuse(name, "too many levels of symbolic links");
            }
            const std::string target = read_link(entry.folder->get(), part);
            if (target.empty()) {
                refuse(name, fmt::format("cannot read the symbolic link {}", here));
            }
            const std::deque<std::string> target_parts = components(target);
            parts.insert(parts.begin(), target_parts.begin(), target_parts.end());
            if (target.front() == '/') {
                open_folder(AT_FDCWD, "/", "/");
                entry.folder_path = "/";
            }
            entry.through_link = entry.through_link || last;
            continue;
        }
        if (last) {
            entry.leaf = part;
            entry.existing = info;
            return entry;
        }
        if (!S_ISDIR(info.st_mode)) {
            refuse(name, fmt::format("{} is not a folder", here));
        }
        Descriptor next(::openat(entry.folder->get(), part.c_str(),
                                 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next.valid()) {
            refuse(name, fmt::format("{}: {}", here, reason(errno)));
        }
        entry.folder = std::make_shared<Descriptor>(std::move(next));
        entry.folder_path = here;
    }
    refuse(name, "it names a folder by \"/\", \".\" or \"..\"",
           "name it by a path that ends in its own name");
}

/// The caller may create entries in `folder` (checked with the real user and group).
void require_writable_folder(const std::string& name, const std::string& folder) {
    if (::access(folder.c_str(), W_OK | X_OK) != 0) {
        refuse(name, fmt::format("you may not write in folder {} ({})", folder, reason(errno)));
    }
}

struct stat stat_of(int fd) {
    struct stat info {};
    ::fstat(fd, &info);
    return info;
}

/// The inherited descriptor a name stands for: "/dev/stdout", "/dev/fd/3", ...
std::optional<int> own_descriptor(std::string_view name) {
    if (name == "-" || name == "/dev/stdout") {
        return 1;
    }
    if (name == "/dev/stderr") {
        return 2;
    }
    if (name == "/dev/stdin") {
        return 0;
    }
    for (const std::string_view prefix : {"/dev/fd/", "/proc/self/fd/"}) {
        if (name.starts_with(prefix) && name.size() > prefix.size()) {
            const std::string_view digits = name.substr(prefix.size());
            int fd = -1;
            const auto [end, error] = std::from_chars(digits.begin(), digits.end(), fd);
            if (error == std::errc{} && end == digits.end()) {
                return fd;
            }
        }
    }
    return std::nullopt;
}

mode_t with_umask(mode_t mode) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return mode & ~mask;
}

std::string random_suffix() {
    static std::mt19937_64 random{std::random_device{}()};
    constexpr std::string_view letters =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string suffix;
    for (int i = 0; i < 8; ++i) {
        suffix.push_back(letters[random() % letters.size()]);
    }
    return suffix;
}

/// Flushes a folder's entries (a rename) to disk; best effort.
void sync_folder(int folder) {
    const Descriptor readable(::openat(folder, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (readable.valid()) {
        ::fsync(readable.get());
    }
}

/// A replaced file or folder keeps its mode and, where the caller may, its
/// group; a new one gets `fresh`. Never set-user-ID, and set-group-ID only on
/// a folder, where it makes new files inherit the group.
void keep_mode_and_group(int fd, const std::optional<struct stat>& existing, mode_t fresh) {
    if (!existing) {
        ::fchmod(fd, fresh);
        return;
    }
    if (existing->st_gid != stat_of(fd).st_gid) {
        // Allowed for root and for members of the group; otherwise the
        // caller's own group stays, as on any file they create.
        [[maybe_unused]] const int refused = ::fchown(fd, static_cast<uid_t>(-1), existing->st_gid);
    }
    const mode_t kept = S_ISDIR(existing->st_mode) ? ~mode_t{S_ISUID} : ~mode_t{S_ISUID | S_ISGID};
    ::fchmod(fd, existing->st_mode & 07777 & kept);
}

/// True when a folder holds nothing, or only what `replaceable` accepts.
bool removable(int parent, const std::string& leaf, const std::string& path,
               const ReplaceableFolder& replaceable) {
    const Descriptor folder(
        ::openat(parent, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!folder.valid()) {
        return false;
    }
    const std::vector<std::string> names = folder_entries(folder.get());
    return names.empty() || (replaceable && replaceable(folder.get(), path));
}

} // namespace

// A full disk is said plainly: it is the one failure a person can always act on.
std::string system_error_text(int error) {
    switch (error) {
    case ENOSPC: return "the disk is full (no space left on the device)";
    case EDQUOT: return "the disk quota is used up";
    default: return std::strerror(error);
    }
}

Descriptor::~Descriptor() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Descriptor::Descriptor(Descriptor&& other) noexcept
    : fd_(other.release()) {}

Descriptor& Descriptor::operator=(Descriptor&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.release();
    }
    return *this;
}

int Descriptor::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

std::vector<std::string> folder_entries(int folder) {
    std::vector<std::string> names;
    const int copy = ::fcntl(folder, F_DUPFD_CLOEXEC, 0);
    DIR* listing = copy < 0 ? nullptr : ::fdopendir(copy);
    if (listing == nullptr) {
        if (copy >= 0) {
            ::close(copy);
        }
        throw Error(ErrorKind::CannotWrite, fmt::format("cannot list a folder: {}", reason(errno)));
    }
    // The copy shares its position with `folder`: start from the beginning
    // whoever read it before.
    ::rewinddir(listing);
    while (const dirent* item = ::readdir(listing)) {
        const std::string_view name = item->d_name;
        if (name != "." && name != "..") {
            names.emplace_back(name);
        }
    }
    ::closedir(listing);
    return names;
}

bool FileKey::same_as(const FileKey& other) const {
    const bool same_entry = !leaf.empty() && leaf == other.leaf &&
                            folder_device == other.folder_device &&
                            folder_inode == other.folder_inode;
    return same_entry || (file && other.file && *file == *other.file);
}

std::optional<FileKey> key_of_path(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path resolved = fs::canonical(path, ec);
    if (ec) {
        // Not there (yet): its folder, resolved, and its name.
        const fs::path given(path);
        const fs::path folder = fs::canonical(fs::absolute(given, ec).parent_path(), ec);
        if (ec) {
            return std::nullopt;
        }
        resolved = folder / given.filename();
    }
    FileKey key;
    struct stat info {};
    if (::stat(resolved.parent_path().c_str(), &info) != 0) {
        return std::nullopt;
    }
    key.folder_device = info.st_dev;
    key.folder_inode = info.st_ino;
    key.leaf = resolved.filename().string();
    if (::stat(resolved.c_str(), &info) == 0) {
        key.file = std::pair(info.st_dev, info.st_ino);
    }
    return key;
}

OutputTarget OutputTarget::resolve(const std::string& name) {
    const privilege::CallerRights rights;
    OutputTarget target;
    target.name_ = name;
    if (const std::optional<int> fd = own_descriptor(name)) {
        const int flags = ::fcntl(*fd, F_GETFL);
        if (flags < 0) {
            refuse(name, fmt::format("descriptor {} is not open", *fd));
        }
        if ((flags & O_ACCMODE) == O_RDONLY) {
            refuse(name, fmt::format("descriptor {} is open for reading only", *fd));
        }
        target.kind_ = Kind::Descriptor;
        target.descriptor_ = *fd;
        const struct stat info = stat_of(*fd);
        target.key_.file = std::pair(info.st_dev, info.st_ino);
        return target;
    }
    Entry entry = find_entry(name);
    const struct stat folder = stat_of(entry.folder->get());
    target.key_.folder_device = folder.st_dev;
    target.key_.folder_inode = folder.st_ino;
    target.key_.leaf = entry.leaf;
    if (!entry.existing) {
        require_writable_folder(name, entry.folder_path);
    } else {
        const struct stat& info = *entry.existing;
        target.key_.file = std::pair(info.st_dev, info.st_ino);
        const std::string here = join(entry.folder_path, entry.leaf);
        if (S_ISREG(info.st_mode)) {
            if (::faccessat(entry.folder->get(), entry.leaf.c_str(), W_OK, 0) != 0) {
                // Refused even where the folder would let the file be
                // replaced: a read-only report is kept on purpose.
                refuse(name, fmt::format("{} is read-only for you", here),
                       info.st_uid == ::getuid()
                           ? "make it writable first (chmod u+w) to replace it, or name another "
                             "file"
                           : fmt::format("it belongs to {}: name a file of your own",
                                         user_name(info.st_uid)));
            }
            // As the kernel's protected_regular: someone else's file in a
            // shared sticky folder (such as /tmp) is theirs, not an output.
            const bool shared_sticky = (folder.st_mode & S_ISVTX) && (folder.st_mode & S_IWOTH);
            if (shared_sticky && info.st_uid != ::getuid() && info.st_uid != folder.st_uid) {
                refuse(name,
                       fmt::format("{} belongs to {} in the shared folder {}", here,
                                   user_name(info.st_uid), entry.folder_path),
                       "write to a folder of your own");
            }
            require_writable_folder(name, entry.folder_path);
        } else if (S_ISCHR(info.st_mode) || S_ISFIFO(info.st_mode)) {
            if (entry.through_link) {
                refuse(name,
                       fmt::format("it is a symbolic link to the {} {}",
                                   S_ISFIFO(info.st_mode) ? "FIFO" : "device", here),
                       "name the device or FIFO itself");
            }
            if (::faccessat(entry.folder->get(), entry.leaf.c_str(), W_OK, 0) != 0) {
                refuse(name, fmt::format("you may not write to {} ({})", here, reason(errno)));
            }
            target.kind_ = Kind::Device;
        } else if (S_ISBLK(info.st_mode)) {
            refuse(name,
                   fmt::format("{} is a block device; nimbus-codes never writes to one", here));
        } else if (S_ISDIR(info.st_mode)) {
            refuse(name, fmt::format("{} is a folder", here), "name a file in it");
        } else {
            refuse(name, fmt::format("{} is neither a file nor a device", here));
        }
    }
    target.folder_ = std::move(entry.folder);
    target.folder_path_ = std::move(entry.folder_path);
    target.leaf_ = std::move(entry.leaf);
    target.existing_ = entry.existing;
    return target;
}

std::string OutputTarget::resolved_path() const {
    return kind_ == Kind::Descriptor ? std::string{} : join(folder_path_, leaf_);
}

/// A stream buffer over a file descriptor that remembers the first write error.
class AtomicFile::Buffer : public std::streambuf {
public:
    explicit Buffer(int fd)
        : fd_(fd) {
        setp(data_.data(), data_.data() + data_.size());
    }

    int error() const { return error_; }
    bool flush_all() { return flush_buffer(); }

protected:
    int_type overflow(int_type c) override {
        if (!flush_buffer()) {
            return traits_type::eof();
        }
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            *pptr() = traits_type::to_char_type(c);
            pbump(1);
        }
        return traits_type::not_eof(c);
    }

    int sync() override { return flush_buffer() ? 0 : -1; }

private:
    bool flush_buffer() {
        const char* start = pbase();
        std::size_t left = static_cast<std::size_t>(pptr() - pbase());
        while (left > 0 && error_ == 0) {
            const ssize_t written = ::write(fd_, start, left);
            if (written < 0) {
                if (errno != EINTR) {
                    error_ = errno;
                }
                continue;
            }
            start += written;
            left -= static_cast<std::size_t>(written);
        }
        setp(data_.data(), data_.data() + data_.size());
        return error_ == 0;
    }

    int fd_;
    int error_ = 0;
    std::array<char, 1 << 16> data_{};
};

AtomicFile::AtomicFile(const std::filesystem::path& path)
    : AtomicFile(OutputTarget::resolve(path.string())) {}

AtomicFile::AtomicFile(OutputTarget target)
    : target_(std::move(target)) {
    const privilege::CallerRights rights;
    int fd = -1;
    switch (target_.kind_) {
    case OutputTarget::Kind::Descriptor:
        fd = ::fcntl(target_.descriptor_, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
            fail("cannot use its descriptor", errno);
        }
        break;
    case OutputTarget::Kind::Device: {
        fd = ::openat(target_.folder_->get(), target_.leaf_.c_str(),
                      O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            fail("cannot open it", errno);
        }
        const struct stat opened = stat_of(fd);
        if (opened.st_ino != target_.existing_->st_ino ||
            opened.st_dev != target_.existing_->st_dev) {
            ::close(fd);
            refuse(target_.name_, "it was replaced while it was being opened");
        }
        break;
    }
    case OutputTarget::Kind::File:
        for (int attempt = 0; fd < 0; ++attempt) {
            temporary_ = "." + target_.leaf_ + "." + random_suffix();
            fd = ::openat(target_.folder_->get(), temporary_.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (fd < 0 && (errno != EEXIST || attempt == 100)) {
                const int error = errno;
                temporary_.clear();
                fail("cannot create a temporary file beside it", error);
            }
        }
        keep_mode_and_group(fd, target_.existing_, with_umask(0666));
        break;
    }
    buffer_ = std::make_unique<Buffer>(fd);
    stream_ = std::make_unique<std::ostream>(buffer_.get());
    file_ = Descriptor(fd);
}

AtomicFile::~AtomicFile() {
    if (!committed_ && !temporary_.empty()) {
        try {
            const privilege::CallerRights rights;
            ::unlinkat(target_.folder_->get(), temporary_.c_str(), 0);
        } catch (const Error&) {
            // Left behind under its temporary name, never in place of the target.
        }
    }
}

void AtomicFile::fail(std::string_view what, int error) const {
    refuse(target_.name_, fmt::format("{}: {}", what, reason(error)));
}

void AtomicFile::finish() {
    if (finished_) {
        return;
    }
    stream_->flush();
    if (!buffer_->flush_all() || buffer_->error() != 0) {
        refuse(target_.name_, reason(buffer_->error()));
    }
    if (target_.kind_ == OutputTarget::Kind::File && ::fsync(file_.get()) != 0) {
        fail("flushing to disk failed", errno);
    }
    if (::close(file_.release()) != 0) {
        fail("closing failed", errno);
    }
    finished_ = true;
}

void AtomicFile::commit() {
    const privilege::CallerRights rights;
    finish();
    if (target_.kind_ == OutputTarget::Kind::File) {
        const int folder = target_.folder_->get();
        if (::renameat(folder, temporary_.c_str(), folder, target_.leaf_.c_str()) != 0) {
            fail("putting it in place failed", errno);
        }
        sync_folder(folder);
    }
    committed_ = true;
}

namespace {

/// Checks a folder target: absent, empty, or accepted by `replaceable`.
Entry checked_folder(const std::string& name, const ReplaceableFolder& replaceable) {
    Entry entry = find_entry(name);
    require_writable_folder(name, entry.folder_path);
    if (!entry.existing) {
        return entry;
    }
    const std::string here = join(entry.folder_path, entry.leaf);
    const auto hint = "name a new or empty folder, or the folder of an earlier export";
    if (!S_ISDIR(entry.existing->st_mode)) {
        refuse(name, fmt::format("{} is not a folder", here), hint);
    }
    if (!removable(entry.folder->get(), entry.leaf, here, replaceable)) {
        refuse(name, fmt::format("folder {} holds files that nimbus-codes did not write", here),
               hint);
    }
    require_writable_folder(name, here);
    return entry;
}

} // namespace

void AtomicDirectory::check(const std::string& target, const ReplaceableFolder& replaceable) {
    const privilege::CallerRights rights;
    checked_folder(target, replaceable);
}

AtomicDirectory::AtomicDirectory(const std::string& target, const ReplaceableFolder& replaceable)
    : replaceable_(replaceable) {
    const privilege::CallerRights rights;
    Entry entry = checked_folder(target, replaceable);
    parent_ = std::move(entry.folder);
    parent_path_ = std::move(entry.folder_path);
    leaf_ = std::move(entry.leaf);
    existing_ = entry.existing;
    for (int attempt = 0;; ++attempt) {
        temporary_ = "." + leaf_ + "." + random_suffix();
        if (::mkdirat(parent_->get(), temporary_.c_str(), 0700) == 0) {
            break;
        }
        if (errno != EEXIST || attempt == 100) {
            const int error = errno;
            temporary_.clear();
            refuse(target,
                   fmt::format("cannot create a temporary folder beside it: {}", reason(error)));
        }
    }
    temporary_path_ = join(parent_path_, temporary_);
    const Descriptor created(::openat(parent_->get(), temporary_.c_str(),
                                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (existing_ && created.valid()) {
        // Private while it fills (mode 0700 still), but already in the group of
        // the folder it replaces and, where that one had it, with its
        // set-group-ID bit, so that what is written in it takes that group.
        if (existing_->st_gid != stat_of(created.get()).st_gid) {
            [[maybe_unused]] const int refused =
                ::fchown(created.get(), static_cast<uid_t>(-1), existing_->st_gid);
        }
        if ((existing_->st_mode & S_ISGID) != 0 &&
            (stat_of(created.get()).st_mode & S_ISGID) == 0) {
            ::fchmod(created.get(), 0700 | S_ISGID);
        }
    }
}

AtomicDirectory::~AtomicDirectory() {
    std::error_code ec;
    if (!committed_ && !temporary_.empty()) {
        try {
            const privilege::CallerRights rights;
            std::filesystem::remove_all(temporary_path_, ec);
        } catch (const Error&) {
            // Left behind under its temporary name, never in place of the target.
        }
    }
}

void AtomicDirectory::commit() {
    const privilege::CallerRights rights;
    const int parent = parent_->get();
    {
        const Descriptor filled(
            ::openat(parent, temporary_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (filled.valid()) {
            // Its mode only now that it is full: private while it fills, and
            // what was written in it took the group it inherited from a
            // set-group-ID parent, which a chmod by someone outside that group
            // would have dropped.
            keep_mode_and_group(filled.get(), existing_, with_umask(0777));
            ::fsync(filled.get());
        }
    }
    const std::string name = join(parent_path_, leaf_);
    if (existing_) {
        // Swap the new folder in at once; the old one then holds the old files.
        if (::renameat2(parent, temporary_.c_str(), parent, leaf_.c_str(), RENAME_EXCHANGE) != 0) {
            refuse(name, fmt::format("replacing the existing folder failed: {}", reason(errno)));
        }
        committed_ = true;
        // The old folder was checked before it was replaced; anything that
        // appeared in it since then is left where it is, never removed.
        if (removable(parent, temporary_, temporary_path_, replaceable_)) {
            std::error_code ec;
            std::filesystem::remove_all(temporary_path_, ec);
        }
    } else {
        if (::renameat(parent, temporary_.c_str(), parent, leaf_.c_str()) != 0) {
            refuse(name, fmt::format("putting it in place failed: {}", reason(errno)));
        }
        committed_ = true;
    }
    sync_folder(parent);
}

std::ifstream open_input_file(const std::string& path) {
    const privilege::CallerRights rights;
    std::ifstream file(path, std::ios::binary);
    std::error_code ec;
    if (!file || std::filesystem::is_directory(path, ec)) {
        throw Error(ErrorKind::InputMissing, fmt::format("cannot read {}", path),
                    "check the file name, and that you may read it");
    }
    return file;
}

std::string sha256_of_file(const std::filesystem::path& path) {
    const privilege::CallerRights rights;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorKind::Internal, fmt::format("cannot read {} back", path.string()));
    }
    sha256_ctx context;
    sha256_init(&context);
    std::array<char, 1 << 16> chunk{};
    while (in.read(chunk.data(), chunk.size()) || in.gcount() > 0) {
        sha256_update(&context, static_cast<std::size_t>(in.gcount()),
                      reinterpret_cast<const std::uint8_t*>(chunk.data()));
    }
    std::array<std::uint8_t, SHA256_DIGEST_SIZE> digest{};
    sha256_digest(&context, digest.size(), digest.data());
    std::string hex;
    for (const std::uint8_t byte : digest) {
        hex += fmt::format("{:02x}", byte);
    }
    return hex;
}

} // namespace nimbus
