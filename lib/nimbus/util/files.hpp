#pragma once

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace nimbus {

/// An errno value as people read it; a full disk is said plainly.
std::string system_error_text(int error);

/// An open file descriptor, closed with its owner.
class Descriptor {
public:
    Descriptor() = default;
    explicit Descriptor(int fd)
        : fd_(fd) {}
    ~Descriptor();
    Descriptor(Descriptor&& other) noexcept;
    Descriptor& operator=(Descriptor&& other) noexcept;
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    /// Gives up ownership: the caller closes it.
    int release();

private:
    int fd_ = -1;
};

/// Where a file is, so that two names of one file can be told apart from two
/// files: its folder's device and inode and its name there, and, when it
/// exists, its own device and inode (which hard links share).
struct FileKey {
    dev_t folder_device = 0;
    ino_t folder_inode = 0;
    std::string leaf;
    std::optional<std::pair<dev_t, ino_t>> file;

    /// True when both keys name the same entry or the same existing file.
    bool same_as(const FileKey& other) const;
};

/// The key of a file that the tool reads or keeps (a store, an identity file,
/// an input), following symbolic links as opening it would. Nothing when its
/// folder does not exist.
std::optional<FileKey> key_of_path(const std::string& path);

/// An output named on the command line, resolved before anything is written.
/// The rules (docs/nimbus-codes.md, "Output files"):
/// - "-" is standard output; "/dev/stdout", "/dev/stderr", "/dev/fd/N" and
///   "/proc/self/fd/N" are the process's own descriptors, written as they are;
/// - a character device or FIFO is written in place, and only when named
///   directly, never through a symbolic link; a block device, a folder or a
///   socket is refused;
/// - a regular file is replaced atomically, keeping its mode and, where the
///   caller may, its group; one that belongs to someone else in a shared
///   (sticky) folder is refused, as the kernel's protected_regular does;
/// - a symbolic link anywhere in the path is followed only when it belongs to
///   the caller or to root, so a link that someone else planted in a shared
///   folder is never followed; a link itself is never replaced, only the
///   regular file it leads to.
/// The caller's own rights decide (the real user and group, which a setgid
/// binary does not change): what the caller could not write is refused.
/// Refusals throw CannotWrite.
class OutputTarget {
public:
    enum class Kind {
        Descriptor, ///< an inherited descriptor (standard output, /dev/fd/N)
        Device,     ///< a character device or FIFO, written in place
        File,       ///< a regular file, new or replaced atomically
    };

    static OutputTarget resolve(const std::string& name);

    Kind kind() const { return kind_; }
    /// The name as given, for messages.
    const std::string& name() const { return name_; }
    /// The path with every symbolic link resolved ("" for a descriptor).
    std::string resolved_path() const;
    /// Where it is; for a descriptor, the file it is open on.
    const FileKey& key() const { return key_; }

private:
    friend class AtomicFile;

    Kind kind_ = Kind::File;
    std::string name_;
    int descriptor_ = -1;                ///< Descriptor: the inherited descriptor
    std::shared_ptr<Descriptor> folder_; ///< Device and File: the folder holding it
    std::string folder_path_;
    std::string leaf_;
    std::optional<struct stat> existing_; ///< what is there now (after links)
    FileKey key_;
};

/// An output file that readers see either as it was or complete, never half
/// written: the data goes to a temporary file in the same folder, which
/// commit() flushes to disk and renames over the target. Without commit()
/// (an error, an exception), the temporary file is removed and the target is
/// untouched. Descriptors and devices are written in place. Failures throw
/// CannotWrite, saying when the disk is full.
class AtomicFile {
public:
    explicit AtomicFile(OutputTarget target);
    /// Resolves `path` by the rules of OutputTarget.
    explicit AtomicFile(const std::filesystem::path& path);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ostream& stream() { return *stream_; }
    /// Writes everything and flushes it to disk, without putting it in place yet.
    void finish();
    /// finish(), then puts the file in place.
    void commit();

private:
    class Buffer;
    [[noreturn]] void fail(std::string_view what, int error) const;

    OutputTarget target_;
    std::string temporary_; ///< the temporary file's name in the target's folder
    Descriptor file_;
    std::unique_ptr<Buffer> buffer_;
    std::unique_ptr<std::ostream> stream_;
    bool finished_ = false;
    bool committed_ = false;
};

/// Whether an existing folder may be replaced: given a descriptor open on it
/// and its path, true when it holds only what the tool itself put there.
using ReplaceableFolder = std::function<bool(int folder, const std::string& path)>;

/// A folder filled under a temporary name beside the target, then put in place
/// at once. The target must be absent, an empty folder, or a folder that
/// `replaceable` accepts, which is then swapped out and removed; anything else
/// is refused (CannotWrite) and left untouched. Links are followed as
/// OutputTarget follows them. Without commit(), the temporary folder is
/// removed. Failures throw CannotWrite.
class AtomicDirectory {
public:
    AtomicDirectory(const std::string& target, const ReplaceableFolder& replaceable);
    ~AtomicDirectory();
    AtomicDirectory(const AtomicDirectory&) = delete;
    AtomicDirectory& operator=(const AtomicDirectory&) = delete;

    /// Checks `target` by the same rules without creating anything.
    static void check(const std::string& target, const ReplaceableFolder& replaceable);

    /// Where to write the files (each with AtomicFile or directly).
    const std::filesystem::path& path() const { return temporary_path_; }
    void commit();

private:
    ReplaceableFolder replaceable_;
    std::shared_ptr<Descriptor> parent_; ///< the folder that holds the target
    std::string parent_path_;
    std::string leaf_;
    std::optional<struct stat> existing_;
    std::string temporary_; ///< the temporary folder's name beside the target
    std::filesystem::path temporary_path_;
    bool committed_ = false;
};

/// The names in a folder open as `folder`, without "." and "..".
std::vector<std::string> folder_entries(int folder);

/// A file the caller names, open for reading with the caller's own rights
/// (privilege::CallerRights). Throws InputMissing when it cannot be read.
std::ifstream open_input_file(const std::string& path);

/// Hex SHA-256 of a file's content.
std::string sha256_of_file(const std::filesystem::path& path);

} // namespace nimbus
