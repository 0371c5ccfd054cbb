#include "server/storage/local_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <span>
#include <utility>

namespace strongroom::storage {
namespace {

constexpr std::size_t kBufferSize = std::size_t{64} * 1024;
constexpr const char* kTmpDir = "tmp";
constexpr const char* kStagingDir = "staging";
constexpr const char* kLockFile = "LOCK";
constexpr const char* kShortIdFanOut = "_";

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool ok() const noexcept { return fd_ >= 0; }
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  // Closes now and reports the error: close() is where some filesystems (NFS) report a
  // failed write-back, so a writer must check it.
  [[nodiscard]] result<void> Close() noexcept {
    const int rc = ::close(std::exchange(fd_, -1));
    if (rc != 0 && errno != EINTR) return errc::io_error;  // EINTR: Linux closed it anyway.
    return {};
  }

 private:
  int fd_;
};

// The fan-out directory of `id`: its first two characters, or "_" for a one-character id.
std::string FanOut(const std::string& id) {
  return id.size() >= 2 ? id.substr(0, 2) : std::string(kShortIdFanOut);
}

bool IsFanOutName(std::string_view name) {
  return name == kShortIdFanOut || (name.size() == 2 && IsValidBlobId(name));
}

result<void> FsyncFd(int fd) {
  if (::fsync(fd) != 0) return errc::io_error;
  return {};
}

result<void> FsyncDirAt(int parent_fd, const char* name) {
  Fd dir(::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir.ok()) return errno == ENOENT ? errc::not_found : errc::io_error;
  return FsyncFd(dir.get());
}

struct DirEntry {
  std::string name;
  bool is_dir = false;
  bool is_regular = false;
};

// The entries of directory `name` (relative to `parent_fd`), without "." and "..".
result<std::vector<DirEntry>> ReadDirectory(int parent_fd, const char* name) {
  const int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? errc::not_found : errc::io_error;
  DIR* dir = ::fdopendir(fd);  // Owns fd from here on.
  if (dir == nullptr) {
    ::close(fd);
    return errc::io_error;
  }
  std::vector<DirEntry> entries;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    const std::string_view entry_name(e->d_name);
    if (entry_name == "." || entry_name == "..") continue;
    DirEntry entry{std::string(entry_name), e->d_type == DT_DIR, e->d_type == DT_REG};
    if (e->d_type == DT_UNKNOWN) {  // Some filesystems (XFS without ftype) do not say.
      struct stat st {};
      if (::fstatat(::dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        entry.is_dir = S_ISDIR(st.st_mode);
        entry.is_regular = S_ISREG(st.st_mode);
      }
    }
    entries.push_back(std::move(entry));
  }
  const int read_errno = errno;
  ::closedir(dir);
  if (read_errno != 0) return errc::io_error;
  return entries;
}

result<void> WriteAll(int fd, std::span<const std::uint8_t> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errc::io_error;
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

// Removes a temporary file by name when it goes out of scope, whether Put() failed or
// succeeded: after a successful linkat() the blob has its own name, and the temporary name
// is only a second link to the same inode.
class TempFileName {
 public:
  TempFileName(int dir_fd, std::string name) : dir_fd_(dir_fd), name_(std::move(name)) {}
  TempFileName(const TempFileName&) = delete;
  TempFileName& operator=(const TempFileName&) = delete;
  ~TempFileName() { ::unlinkat(dir_fd_, name_.c_str(), 0); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  int dir_fd_;
  std::string name_;
};

}  // namespace

std::string LocalBlobStore::RelativePath(const BlobId& id) {
  return FanOut(id.str()) + "/" + id.str();
}

result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::Open(std::string dir) {
  if (dir.empty()) return errc::invalid_argument;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();

  if (::mkdir(dir.c_str(), 0700) == 0) {
    // Make the new directory's own entry durable, or a crash could lose the whole store.
    std::filesystem::path parent = std::filesystem::path(dir).parent_path();
    if (parent.empty()) parent = ".";
    Fd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd.ok()) return errc::io_error;
    if (auto r = FsyncFd(parent_fd.get()); !r) return r.error();
  } else if (errno != EEXIST) {
    return errno == ENOENT ? errc::not_found : errc::io_error;
  }

  Fd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.ok()) return errno == ENOENT ? errc::not_found : errc::io_error;

  // The lock comes before touching tmp/: another store's in-flight temporary files there
  // are not stale.
  Fd lock(::openat(root.get(), kLockFile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!lock.ok()) return errc::io_error;
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return errc::io_error;

  if (::mkdirat(root.get(), kTmpDir, 0700) != 0 && errno != EEXIST) return errc::io_error;
  Fd tmp(::openat(root.get(), kTmpDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!tmp.ok()) return errc::io_error;

  // Anything in tmp/ is a Put() that a crash interrupted (never visible as a blob), or the
  // second name of a blob whose Put() crashed between linkat() and unlink() (the blob keeps
  // its own name). Either way it can go.
  auto stale = ReadDirectory(root.get(), kTmpDir);
  if (!stale) return stale.error();
  for (const DirEntry& e : *stale) {
    if (e.is_dir) continue;  // Not ours; Put() never makes directories here.
    if (::unlinkat(tmp.get(), e.name.c_str(), 0) != 0 && errno != ENOENT) {
      return errc::io_error;
    }
  }
  if (::mkdirat(root.get(), kStagingDir, 0700) != 0 && errno != EEXIST) return errc::io_error;
  Fd staging(::openat(root.get(), kStagingDir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!staging.ok()) return errc::io_error;

  // One fsync of dir/ makes LOCK, tmp/, staging/ and every fan-out directory that exists now durable,
  // so Put() need not fsync dir/ for them again.
  if (auto r = FsyncFd(root.get()); !r) return r.error();

  const int root_fd = root.release(), tmp_fd = tmp.release(), lock_fd = lock.release();
  const int staging_fd = staging.release();
  return std::unique_ptr<LocalBlobStore>(
      new LocalBlobStore(std::move(dir), root_fd, tmp_fd, staging_fd, lock_fd));
}

LocalBlobStore::~LocalBlobStore() {
  ::close(staging_fd_);
  ::close(tmp_fd_);
  ::close(root_fd_);
  ::close(lock_fd_);  // Releases the flock.
}

result<void> LocalBlobStore::EnsureFanOut(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(fan_out_mutex_);
    if (durable_fan_outs_.contains(name)) return {};
  }
  // Not under the mutex: fsync can be slow. Two threads may both get here for one fan-out;
  // both then fsync, which is harmless. What matters is that no Put() returns before the
  // fan-out's entry in dir/ is durable, even if it lost the mkdir race: otherwise a crash
  // could take the directory, and the blob the Put() reported as stored, with it.
  if (::mkdirat(root_fd_, name.c_str(), 0700) != 0 && errno != EEXIST) return errc::io_error;
  if (auto r = FsyncFd(root_fd_); !r) return r.error();
  std::lock_guard<std::mutex> lock(fan_out_mutex_);
  durable_fan_outs_.insert(name);
  return {};
}

result<void> LocalBlobStore::Put(const BlobId& id, io::Source& data, std::uint64_t max_size) {
  if (!IsValidBlobId(id.str())) return errc::invalid_argument;
  // Early refusals, before writing anything. Neither is relied on for correctness: the
  // byte count below enforces max_size and linkat() enforces no-replace.
  if (const auto size = data.Size(), at = data.Tell(); size && at && *at <= *size) {
    if (*size - *at > max_size) return errc::too_large;
  }
  auto exists = Exists(id);
  if (!exists) return exists.error();
  if (*exists) return errc::already_exists;

  // 1. A temporary file with a name no one else uses (O_EXCL), readable only by us. It is
  // in tmp/ on the same filesystem as the blobs, so linkat() works, and never in a fan-out
  // directory, so List() and Get() can never see a partial blob.
  // The counter alone makes names unique within this store, and the LOCK file makes this
  // store the only writer; O_EXCL is the backstop that turns any collision into a retry.
  int raw_fd = -1;
  std::string temp_name;
  for (int attempt = 0; attempt < 100 && raw_fd < 0; ++attempt) {
    temp_name = "put-" + std::to_string(temp_counter_.fetch_add(1));
    raw_fd = ::openat(tmp_fd_, temp_name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (raw_fd < 0 && errno != EEXIST) return errc::io_error;
  }
  if (raw_fd < 0) return errc::io_error;
  Fd file(raw_fd);
  const TempFileName temp(tmp_fd_, temp_name);  // Unlinked on every path out of here.

  // Stream in, bounded: counting what we write enforces max_size whatever the source
  // claims its size is.
  std::vector<std::uint8_t> buffer(kBufferSize);
  std::uint64_t total = 0;
  for (;;) {
    auto n = data.Read(buffer);
    if (!n) return n.error();
    if (*n == 0) break;
    if (*n > max_size - total) return errc::too_large;  // total <= max_size always holds.
    total += *n;
    if (auto w = WriteAll(file.get(), std::span(buffer).first(*n)); !w) return w.error();
  }

  // 2. The data must be on disk before the name that makes it visible can be: otherwise a
  // crash could leave a durable name pointing at a short or empty file.
  if (auto r = FsyncFd(file.get()); !r) return r.error();
  if (auto r = file.Close(); !r) return r.error();

  // 3. The fan-out directory and its entry in dir/.
  const std::string fan_out = FanOut(id.str());
  if (auto r = EnsureFanOut(fan_out); !r) return r.error();

  // 4. Publish without replacing. rename() would silently replace a blob that appeared
  // since the Exists() check above (two racing Put()s: last one wins, and a reader
  // streaming the first could see it vanish). linkat() fails with EEXIST if the name
  // exists, atomically in the kernel, and it is plain POSIX that every local filesystem
  // we support (ext4, XFS, btrfs, tmpfs) implements. renameat2(RENAME_NOREPLACE) would do
  // the same in one step, but it is Linux-only and some filesystems (older overlayfs, NFS,
  // many FUSE ones) reject it with EINVAL, which would need a second code path that the
  // tests would rarely run. The cost of linkat() is a second name to remove (step 6) and,
  // after a crash between 4 and 6, a stray link in tmp/ that Open() removes.
  const std::string path = fan_out + "/" + id.str();
  if (::linkat(tmp_fd_, temp.name().c_str(), root_fd_, path.c_str(), 0) != 0) {
    return errno == EEXIST ? errc::already_exists : errc::io_error;
  }

  // 5. Make the new name durable before reporting success.
  if (auto r = FsyncDirAt(root_fd_, fan_out.c_str()); !r) {
    // We cannot promise the blob is durable, so report failure, and keep the contract that
    // a failed Put() creates no blob. (A reader may have seen it in between; that is the
    // price of an fsync failure, after which the filesystem's state is uncertain anyway.)
    ::unlinkat(root_fd_, path.c_str(), 0);
    return errc::io_error;
  }
  // 6. `temp` removes the temporary name on return. Not fsynced: if that unlink is lost,
  // Open() removes the name.
  return {};
}

result<int> LocalBlobStore::OpenBlob(const BlobId& id) {
  if (!IsValidBlobId(id.str())) return errc::invalid_argument;
  const std::string path = RelativePath(id);
  const int fd = ::openat(root_fd_, path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? errc::not_found : errc::io_error;
  return fd;
}

result<void> LocalBlobStore::Get(const BlobId& id, io::Sink& out) {
  auto opened = OpenBlob(id);
  if (!opened) return opened.error();
  // An open descriptor keeps reading the same inode even if Delete() unlinks the name, and
  // blobs are never rewritten in place, so this reads exactly what Put() stored.
  const Fd fd(*opened);
  std::vector<std::uint8_t> buffer(kBufferSize);
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errc::io_error;
    if (n == 0) return {};
    if (auto w = out.Write(std::span(buffer).first(static_cast<std::size_t>(n))); !w) {
      return w.error();
    }
  }
}

result<void> LocalBlobStore::GetRange(const BlobId& id, std::uint64_t offset, std::uint64_t length,
                                      io::Sink& out) {
  auto opened = OpenBlob(id);
  if (!opened) return opened.error();
  const Fd fd(*opened);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::io_error;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset > size) return errc::invalid_argument;
  std::uint64_t remaining = std::min(length, size - offset);
  std::vector<std::uint8_t> buffer(
      static_cast<std::size_t>(std::min<std::uint64_t>(kBufferSize, remaining)));
  while (remaining > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), remaining));
    const ssize_t n = ::pread(fd.get(), buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    // Ending early means the file shrank under us: something outside the store changed it.
    if (n <= 0) return errc::io_error;
    const auto got = static_cast<std::size_t>(n);
    if (auto w = out.Write(std::span(buffer).first(got)); !w) return w.error();
    offset += got;
    remaining -= got;
  }
  return {};
}

result<std::uint64_t> LocalBlobStore::Size(const BlobId& id) {
  if (!IsValidBlobId(id.str())) return errc::invalid_argument;
  struct stat st {};
  if (::fstatat(root_fd_, RelativePath(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? errc::not_found : errc::io_error;
  }
  if (!S_ISREG(st.st_mode)) return errc::io_error;
  return static_cast<std::uint64_t>(st.st_size);
}

result<bool> LocalBlobStore::Exists(const BlobId& id) {
  if (!IsValidBlobId(id.str())) return errc::invalid_argument;
  struct stat st {};
  if (::fstatat(root_fd_, RelativePath(id).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return errc::io_error;
  }
  if (!S_ISREG(st.st_mode)) return errc::io_error;
  return true;
}

result<void> LocalBlobStore::Delete(const BlobId& id) {
  if (!IsValidBlobId(id.str())) return errc::invalid_argument;
  const std::string fan_out = FanOut(id.str());
  const std::string path = fan_out + "/" + id.str();
  if (::unlinkat(root_fd_, path.c_str(), 0) != 0 && errno != ENOENT) return errc::io_error;
  // fsync even when the blob was already missing: a concurrent Delete() may have unlinked
  // it and not yet made that durable, and "once Delete() returns, the blob stays gone"
  // must hold for this caller too.
  if (auto r = FsyncDirAt(root_fd_, fan_out.c_str()); !r && r.error() != errc::not_found) {
    return r.error();
  }
  return {};
}

result<std::vector<BlobId>> LocalBlobStore::List() {
  auto top = ReadDirectory(root_fd_, ".");
  if (!top) return top.error();
  std::vector<BlobId> ids;
  for (const DirEntry& dir : *top) {
    // Skips tmp/ and staging/ (not two characters), LOCK, and anything else not shaped like a fan-out.
    if (!dir.is_dir || !IsFanOutName(dir.name)) continue;
    auto files = ReadDirectory(root_fd_, dir.name.c_str());
    if (!files) {
      if (files.error() == errc::not_found) continue;
      return files.error();
    }
    for (const DirEntry& file : *files) {
      // Only blobs in their right place: a stray file is not a blob Get() could find.
      if (!file.is_regular || !IsValidBlobId(file.name) || FanOut(file.name) != dir.name) {
        continue;
      }
      auto id = BlobId::Make(file.name);
      if (id) ids.push_back(std::move(*id));
    }
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// --- streaming reads --------------------------------------------------------------------

namespace {

// A window of an open blob file. Holds the descriptor, so a Delete() meanwhile does not
// cut the stream short.
class BlobRangeSource final : public io::Source {
 public:
  BlobRangeSource(int fd, std::uint64_t offset, std::uint64_t length)
      : fd_(fd), begin_(offset), position_(offset), end_(offset + length) {}

  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), end_ - position_));
    if (want == 0) return std::size_t{0};
    for (;;) {
      const ssize_t n = ::pread(fd_.get(), out.data(), want, static_cast<off_t>(position_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errc::io_error;  // The file shrank: changed outside the store.
      position_ += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }
  std::optional<std::uint64_t> Size() const override { return end_ - begin_; }
  std::optional<std::uint64_t> Tell() const override { return position_ - begin_; }
  // Offsets are relative to the start of the window.
  result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset > end_ - begin_) return errc::invalid_argument;
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), end_ - begin_ - offset));
    std::size_t done = 0;
    while (done < want) {
      const ssize_t n = ::pread(fd_.get(), out.data() + done, want - done,
                                static_cast<off_t>(begin_ + offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return errc::io_error;
      done += static_cast<std::size_t>(n);
    }
    return done;
  }

 private:
  Fd fd_;
  std::uint64_t begin_;
  std::uint64_t position_;
  std::uint64_t end_;
};

}  // namespace

result<std::unique_ptr<io::Source>> LocalBlobStore::OpenRange(const BlobId& id,
                                                              std::uint64_t offset,
                                                              std::uint64_t length) {
  auto opened = OpenBlob(id);
  if (!opened) return opened.error();
  Fd fd(*opened);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::io_error;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (offset > size) return errc::invalid_argument;
  const std::uint64_t clamped = std::min(length, size - offset);
  return std::unique_ptr<io::Source>(new BlobRangeSource(fd.release(), offset, clamped));
}

// --- staged blobs -------------------------------------------------------------------------

bool LocalBlobStore::ClaimStaged(const std::string& name) {
  std::lock_guard<std::mutex> lock(staged_mutex_);
  return busy_staged_.insert(name).second;
}

void LocalBlobStore::ReleaseStaged(const std::string& name) {
  std::lock_guard<std::mutex> lock(staged_mutex_);
  busy_staged_.erase(name);
}

// Appends to a staged file opened O_APPEND; releases the claim when destroyed.
class LocalBlobStore::StagedAppender final : public io::Sink {
 public:
  StagedAppender(LocalBlobStore& store, std::string name, int fd)
      : store_(store), name_(std::move(name)), fd_(fd) {}
  StagedAppender(const StagedAppender&) = delete;
  StagedAppender& operator=(const StagedAppender&) = delete;
  ~StagedAppender() override {
    (void)fd_.Close();
    store_.ReleaseStaged(name_);
  }
  result<void> Write(std::span<const std::uint8_t> data) override {
    return WriteAll(fd_.get(), data);
  }

 private:
  LocalBlobStore& store_;
  std::string name_;
  Fd fd_;
};

result<void> LocalBlobStore::CreateStaged(const BlobId& staged) {
  if (!IsValidBlobId(staged.str())) return errc::invalid_argument;
  Fd fd(::openat(staging_fd_, staged.str().c_str(),
                 O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.ok()) return errno == EEXIST ? errc::already_exists : errc::io_error;
  return fd.Close();
}

result<std::uint64_t> LocalBlobStore::StagedSize(const BlobId& staged) {
  if (!IsValidBlobId(staged.str())) return errc::invalid_argument;
  struct stat st {};
  if (::fstatat(staging_fd_, staged.str().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? errc::not_found : errc::io_error;
  }
  if (!S_ISREG(st.st_mode)) return errc::io_error;
  return static_cast<std::uint64_t>(st.st_size);
}

result<std::unique_ptr<io::Sink>> LocalBlobStore::AppendStaged(const BlobId& staged,
                                                                std::uint64_t offset) {
  if (!IsValidBlobId(staged.str())) return errc::invalid_argument;
  if (!ClaimStaged(staged.str())) return errc::conflict;
  Fd fd(::openat(staging_fd_, staged.str().c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  result<void> failed = errc::io_error;
  if (!fd.ok()) {
    failed = errno == ENOENT ? errc::not_found : errc::io_error;
  } else if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode)) {
    // Claimed, so nobody appends between this check and our writes.
    if (static_cast<std::uint64_t>(st.st_size) == offset) {
      return std::unique_ptr<io::Sink>(new StagedAppender(*this, staged.str(), fd.release()));
    }
    failed = errc::conflict;
  }
  ReleaseStaged(staged.str());
  return failed.error();
}

result<void> LocalBlobStore::CommitStaged(const BlobId& staged, const BlobId& id) {
  if (!IsValidBlobId(staged.str()) || !IsValidBlobId(id.str())) return errc::invalid_argument;
  if (!ClaimStaged(staged.str())) return errc::conflict;
  struct Release {
    LocalBlobStore& store;
    const std::string& name;
    ~Release() { store.ReleaseStaged(name); }
  } release{*this, staged.str()};

  Fd fd(::openat(staging_fd_, staged.str().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.ok()) return errno == ENOENT ? errc::not_found : errc::io_error;
  // Same ordering as Put(): data durable, then a durable name that never replaces.
  if (auto r = FsyncFd(fd.get()); !r) return r.error();
  const std::string fan_out = FanOut(id.str());
  if (auto r = EnsureFanOut(fan_out); !r) return r.error();
  const std::string path = fan_out + "/" + id.str();
  if (::linkat(staging_fd_, staged.str().c_str(), root_fd_, path.c_str(), 0) != 0) {
    return errno == EEXIST ? errc::already_exists : errc::io_error;
  }
  if (auto r = FsyncDirAt(root_fd_, fan_out.c_str()); !r) {
    ::unlinkat(root_fd_, path.c_str(), 0);
    return errc::io_error;
  }
  // The staged name goes; if this unlink is lost in a crash, the caller's DeleteStaged()
  // of an abandoned upload removes it later (it is a second link to the blob's inode).
  ::unlinkat(staging_fd_, staged.str().c_str(), 0);
  return {};
}

result<void> LocalBlobStore::DeleteStaged(const BlobId& staged) {
  if (!IsValidBlobId(staged.str())) return errc::invalid_argument;
  if (::unlinkat(staging_fd_, staged.str().c_str(), 0) != 0 && errno != ENOENT) {
    return errc::io_error;
  }
  return {};
}

}  // namespace strongroom::storage
