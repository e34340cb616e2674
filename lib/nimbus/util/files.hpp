#pragma once

#include <filesystem>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

namespace nimbus {

/// An output file that readers see either as it was or complete, never half
/// written: the data goes to a temporary file in the same folder, which
/// commit() flushes to disk and renames over the target. Without commit()
/// (an error, an exception), the temporary file is removed and the target is
/// untouched. A target that exists but is not a regular file (a device such as
/// /dev/stdout, a FIFO) is written in place, never replaced. Failures throw
/// CannotWrite.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::ostream& stream() { return *stream_; }
    void commit();

private:
    class Buffer;
    std::filesystem::path target_;
    std::filesystem::path temporary_;
    std::unique_ptr<Buffer> buffer_;
    std::unique_ptr<std::ostream> stream_;
    bool in_place_ = false; ///< writing straight into a device or FIFO
    bool committed_ = false;
};

/// A folder filled under a temporary name beside the target, then put in
/// place at once (an existing target is swapped out and removed). Without
/// commit(), the temporary folder is removed. Failures throw CannotWrite.
class AtomicDirectory {
public:
    explicit AtomicDirectory(std::filesystem::path target);
    ~AtomicDirectory();
    AtomicDirectory(const AtomicDirectory&) = delete;
    AtomicDirectory& operator=(const AtomicDirectory&) = delete;

    /// Where to write the files (each with AtomicFile or directly).
    const std::filesystem::path& path() const { return temporary_; }
    void commit();

private:
    std::filesystem::path target_;
    std::filesystem::path temporary_;
    bool committed_ = false;
};

/// Hex SHA-256 of a file's content.
std::string sha256_of_file(const std::filesystem::path& path);

} // namespace nimbus
