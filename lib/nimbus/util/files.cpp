#include <nimbus/util/files.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <stdio.h> // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>
#include <fmt/format.h>

#include <nimbus/error.hpp>

namespace nimbus {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view what) {
    throw Error(ErrorKind::CannotWrite,
                fmt::format("cannot write {}: {} ({})", path.string(), what, std::strerror(errno)));
}

/// Flushes a folder's entries (a rename) to disk.
void sync_folder(const std::filesystem::path& folder) {
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

/// `mode` as the process's umask would leave it for a newly created file.
mode_t with_umask(mode_t mode) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    return mode & ~mask;
}

std::filesystem::path folder_of(const std::filesystem::path& path) {
    return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

} // namespace

/// A stream buffer over a file descriptor that remembers the first write error.
class AtomicFile::Buffer : public std::streambuf {
public:
    explicit Buffer(int fd)
        : fd_(fd) {
        setp(data_.data(), data_.data() + data_.size());
    }

    int fd() const { return fd_; }
    bool failed() const { return error_ != 0; }
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

AtomicFile::AtomicFile(std::filesystem::path target)
    : target_(std::move(target)) {
    struct stat info {};
    if (::stat(target_.c_str(), &info) == 0 && !S_ISREG(info.st_mode)) {
        if (S_ISDIR(info.st_mode)) {
            errno = EISDIR;
            fail(target_, "it is a folder");
        }
        const int fd = ::open(target_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd < 0) {
            fail(target_, "cannot open it");
        }
        in_place_ = true;
        buffer_ = std::make_unique<Buffer>(fd);
        stream_ = std::make_unique<std::ostream>(buffer_.get());
        return;
    }
    std::string pattern =
        (folder_of(target_) / ("." + target_.filename().string() + ".XXXXXX")).string();
    const int fd = ::mkstemp(pattern.data());
    if (fd < 0) {
        fail(target_, "cannot create a temporary file beside it");
    }
    ::fchmod(fd, with_umask(0666)); // mkstemp makes it private
    temporary_ = pattern;
    buffer_ = std::make_unique<Buffer>(fd);
    stream_ = std::make_unique<std::ostream>(buffer_.get());
}

AtomicFile::~AtomicFile() {
    if (!committed_) {
        ::close(buffer_->fd());
        if (!in_place_) {
            ::unlink(temporary_.c_str());
        }
    }
}

void AtomicFile::commit() {
    stream_->flush();
    if (!buffer_->flush_all() || buffer_->failed()) {
        errno = buffer_->error();
        fail(target_, "writing failed");
    }
    if (in_place_) {
        committed_ = true;
        if (::close(buffer_->fd()) != 0) {
            fail(target_, "closing failed");
        }
        return;
    }
    if (::fsync(buffer_->fd()) != 0) {
        fail(target_, "flushing to disk failed");
    }
    if (::close(buffer_->fd()) != 0) {
        ::unlink(temporary_.c_str());
        committed_ = true;
        fail(target_, "closing failed");
    }
    committed_ = true;
    if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
        ::unlink(temporary_.c_str());
        fail(target_, "renaming into place failed");
    }
    sync_folder(folder_of(target_));
}

AtomicDirectory::AtomicDirectory(std::filesystem::path target)
    : target_(std::move(target)) {
    if (target_.filename().empty()) {
        target_ = target_.parent_path(); // "out/" names the folder "out"
    }
    std::string pattern =
        (folder_of(target_) / ("." + target_.filename().string() + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        fail(target_, "cannot create a temporary folder beside it");
    }
    ::chmod(pattern.c_str(), with_umask(0777));
    temporary_ = pattern;
}

AtomicDirectory::~AtomicDirectory() {
    std::error_code ec;
    if (!committed_) {
        std::filesystem::remove_all(temporary_, ec);
    }
}

void AtomicDirectory::commit() {
    sync_folder(temporary_);
    std::error_code ec;
    if (std::filesystem::exists(target_, ec)) {
        // Swap the new folder in at once; the old one then holds the old files.
        if (::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) !=
            0) {
            fail(target_, "replacing the existing folder failed");
        }
        committed_ = true;
        std::filesystem::remove_all(temporary_, ec);
    } else {
        if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
            fail(target_, "renaming into place failed");
        }
        committed_ = true;
    }
    sync_folder(folder_of(target_));
}

std::string sha256_of_file(const std::filesystem::path& path) {
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
