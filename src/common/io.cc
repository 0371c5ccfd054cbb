#include "strongroom/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace strongroom::io {

result<std::size_t> ReadFull(Source& in, std::span<std::uint8_t> out) {
  std::size_t got = 0;
  while (got < out.size()) {
    auto n = in.Read(out.subspan(got));
    if (!n) return n.error();
    if (*n == 0) break;
    got += *n;
  }
  return got;
}

FdSource::FdSource(int fd) : fd_(fd) {
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at >= 0) {
      size_ = static_cast<std::uint64_t>(st.st_size);
      position_ = static_cast<std::uint64_t>(at);
    }
  }
}

std::optional<std::uint64_t> FdSource::Tell() const {
  if (!size_) return std::nullopt;
  return position_;
}

result<std::size_t> FdSource::Read(std::span<std::uint8_t> out) {
  for (;;) {
    const ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) {
      position_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) return errc::io_error;
  }
}

result<std::size_t> FdSource::ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (!size_) return errc::invalid_argument;
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n =
        ::pread(fd_, out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errc::io_error;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

result<void> FdSink::Write(std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errc::io_error;
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

result<std::size_t> MemorySource::Read(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), data_.size() - pos_);
  if (n == 0) return n;  // memcpy's pointers must not be null, even for zero bytes.
  std::memcpy(out.data(), data_.data() + pos_, n);
  pos_ += n;
  return n;
}

result<std::size_t> MemorySource::ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) {
  if (offset >= data_.size()) return std::size_t{0};
  const std::size_t n = std::min<std::size_t>(out.size(), data_.size() - offset);
  if (n == 0) return n;
  std::memcpy(out.data(), data_.data() + offset, n);
  return n;
}

result<void> MemorySink::Write(std::span<const std::uint8_t> data) {
  if (data.empty()) return {};
  data_.insert(data_.end(), data.begin(), data.end());
  return {};
}

result<InputFile> InputFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? errc::not_found : errc::io_error;
  return InputFile(fd);
}

InputFile::InputFile(InputFile&& other) noexcept : fd_(other.fd_), source_(other.source_) {
  other.fd_ = -1;
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

result<AtomicFile> AtomicFile::Create(const std::string& path, unsigned mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string name = ".";  // Hidden, beside the target, so the rename stays on one filesystem.
  name += target.filename().string();
  name += ".tmp-XXXXXX";
  std::string temp = (dir / name).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? errc::not_found : errc::io_error;
  ::fchmod(fd, static_cast<mode_t>(mode));
  return AtomicFile(path, std::move(temp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)), temp_(std::move(other.temp_)), fd_(other.fd_) {
  other.fd_ = -1;
  other.temp_.clear();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

result<void> AtomicFile::Write(std::span<const std::uint8_t> data) {
  if (fd_ < 0) return errc::invalid_argument;
  return FdSink(fd_).Write(data);
}

result<void> AtomicFile::Commit(Replace replace) {
  if (fd_ < 0) return errc::invalid_argument;
  if (::fsync(fd_) != 0) return errc::io_error;
  if (::close(fd_) != 0) {
    fd_ = -1;
    return errc::io_error;
  }
  fd_ = -1;
  if (replace == Replace::yes) {
    if (::rename(temp_.c_str(), path_.c_str()) != 0) return errc::io_error;
    temp_.clear();
  } else {
    // link() refuses an existing target atomically, on every file system that has hard links
    // (renameat2's RENAME_NOREPLACE is missing on some, e.g. older NFS).
    if (::link(temp_.c_str(), path_.c_str()) != 0) {
      return errno == EEXIST ? errc::already_exists : errc::io_error;
    }
    ::unlink(temp_.c_str());
    temp_.clear();
  }
  const std::filesystem::path target(path_);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Pipe::Pipe(std::size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

void Pipe::CloseWriter(bool failed) {
  {
    std::lock_guard lock(mutex_);
    writer_closed_ = true;
    writer_failed_ = failed;
  }
  changed_.notify_all();
}

void Pipe::CloseReader() {
  {
    std::lock_guard lock(mutex_);
    reader_closed_ = true;
  }
  changed_.notify_all();
}

result<void> Pipe::Writer::Write(std::span<const std::uint8_t> data) {
  Pipe& p = *pipe;
  while (!data.empty()) {
    std::unique_lock lock(p.mutex_);
    p.changed_.wait(lock, [&p] { return p.reader_closed_ || p.used_ < p.ring_.size(); });
    if (p.reader_closed_) return errc::io_error;
    const std::size_t cap = p.ring_.size();
    const std::size_t tail = (p.head_ + p.used_) % cap;
    const std::size_t n = std::min({data.size(), cap - p.used_, cap - tail});
    std::memcpy(p.ring_.data() + tail, data.data(), n);
    p.used_ += n;
    data = data.subspan(n);
    lock.unlock();
    p.changed_.notify_all();
  }
  return {};
}

result<std::size_t> Pipe::Reader::Read(std::span<std::uint8_t> out) {
  Pipe& p = *pipe;
  if (out.empty()) return std::size_t{0};
  std::unique_lock lock(p.mutex_);
  p.changed_.wait(lock, [&p] { return p.used_ > 0 || p.writer_closed_; });
  if (p.used_ == 0) {
    if (p.writer_failed_) return errc::io_error;
    return std::size_t{0};
  }
  const std::size_t cap = p.ring_.size();
  const std::size_t n = std::min({out.size(), p.used_, cap - p.head_});
  std::memcpy(out.data(), p.ring_.data() + p.head_, n);
  p.head_ = (p.head_ + n) % cap;
  p.used_ -= n;
  lock.unlock();
  p.changed_.notify_all();
  return n;
}

}  // namespace strongroom::io
