// LocalBlobStore: a BlobStore in a directory on a local (POSIX) filesystem.
//
// Layout of the directory (mode 0700; blob files mode 0600):
//
//   dir/
//     LOCK            held with flock() while a LocalBlobStore has the directory open
//     tmp/            Put() writes here first; emptied on Open() (leftovers of a crash)
//     staging/<name>  staged blobs (uploads in progress); kept across Open(), so an upload
//                     resumes after a restart; CommitStaged() links one into its fan-out
//     ab/abcdef...    blob "abcdef...": fanned out by the id's first two characters over
//     _/a             up to 38*38 directories, to keep each directory small; ids of one
//                     character go under "_/" (not two characters, so it cannot collide)
//
// Ids cannot spell "tmp" or "LOCK" as a fan-out directory (fan-outs are exactly two
// characters, or "_"), so blob names and bookkeeping never collide.
//
// Write ordering of Put() (see local_blob_store.cc for the reasons):
//   1. create tmp/<unique> with O_CREAT|O_EXCL, mode 0600; stream the data in, bounded;
//   2. fsync the temporary file;
//   3. make sure the fan-out directory exists and its entry in dir/ is durable;
//   4. linkat() tmp/<unique> to <fan-out>/<id>: fails with EEXIST, never replaces;
//   5. fsync the fan-out directory, so the new name is durable before Put() returns;
//   6. unlink tmp/<unique> (if a crash skips this, the next Open() removes it).
//
// Exclusivity: one LocalBlobStore per directory at a time, across threads and processes,
// enforced by the LOCK file: Open() of a directory that is already open fails with
// `io_error`. (Open() removes everything in tmp/, which is only safe if no other writer is
// using it.) Within the process, the one LocalBlobStore may be used from any number of
// threads.
#pragma once

#include "strongroom/storage/blob_store.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace strongroom::storage {

class LocalBlobStore final : public BlobStore {
 public:
  // Opens (creating it with mode 0700 if missing; its parent must exist) the store in `dir`,
  // takes the directory's lock, creates tmp/ and removes any stale files from it.
  // Errors: `invalid_argument` (empty path), `not_found` (parent missing), `io_error`
  // (not a directory, permissions, or the directory is open in another LocalBlobStore).
  [[nodiscard]] static result<std::unique_ptr<LocalBlobStore>> Open(std::string dir);

  LocalBlobStore(const LocalBlobStore&) = delete;
  LocalBlobStore& operator=(const LocalBlobStore&) = delete;
  ~LocalBlobStore() override;  // Releases the lock. No Put() may be in progress.

  [[nodiscard]] result<void> Put(const BlobId& id, io::Source& data,
                                 std::uint64_t max_size) override;
  [[nodiscard]] result<void> Get(const BlobId& id, io::Sink& out) override;
  [[nodiscard]] result<void> GetRange(const BlobId& id, std::uint64_t offset, std::uint64_t length,
                                      io::Sink& out) override;
  [[nodiscard]] result<std::unique_ptr<io::Source>> OpenRange(const BlobId& id,
                                                              std::uint64_t offset,
                                                              std::uint64_t length) override;
  [[nodiscard]] result<std::uint64_t> Size(const BlobId& id) override;
  [[nodiscard]] result<bool> Exists(const BlobId& id) override;
  [[nodiscard]] result<void> Delete(const BlobId& id) override;
  [[nodiscard]] result<std::vector<BlobId>> List() override;

  [[nodiscard]] result<void> CreateStaged(const BlobId& staged) override;
  [[nodiscard]] result<std::uint64_t> StagedSize(const BlobId& staged) override;
  [[nodiscard]] result<std::unique_ptr<io::Sink>> AppendStaged(const BlobId& staged,
                                                               std::uint64_t offset) override;
  [[nodiscard]] result<void> CommitStaged(const BlobId& staged, const BlobId& id) override;
  [[nodiscard]] result<void> DeleteStaged(const BlobId& staged) override;

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

  // Where blob `id` lives, relative to dir(): "ab/abcdef", or "_/a". Exposed for tests and
  // for operators reading the directory by hand.
  [[nodiscard]] static std::string RelativePath(const BlobId& id);

 private:
  class StagedAppender;

  LocalBlobStore(std::string dir, int root_fd, int tmp_fd, int staging_fd, int lock_fd)
      : dir_(std::move(dir)),
        root_fd_(root_fd),
        tmp_fd_(tmp_fd),
        staging_fd_(staging_fd),
        lock_fd_(lock_fd) {}

  // Claims `name` for one appender or committer (false if already claimed); Release frees it.
  [[nodiscard]] bool ClaimStaged(const std::string& name);
  void ReleaseStaged(const std::string& name);

  // Creates the fan-out directory `name` if needed and makes its entry durable.
  [[nodiscard]] result<void> EnsureFanOut(const std::string& name);
  // Opens the blob for reading; `not_found` if missing.
  [[nodiscard]] result<int> OpenBlob(const BlobId& id);

  const std::string dir_;
  // Every path is resolved relative to these descriptors (openat and friends), so the store
  // keeps working on the directory it opened even if `dir_` is renamed. Immutable after
  // construction; safe to share between threads.
  const int root_fd_;
  const int tmp_fd_;
  const int staging_fd_;
  const int lock_fd_;

  std::atomic<std::uint64_t> temp_counter_{0};  // Part of unique temporary file names.

  // Fan-out directories known to exist with a durable entry in dir/, so Put() fsyncs dir/
  // once per fan-out rather than once per blob.
  std::mutex fan_out_mutex_;
  std::set<std::string> durable_fan_outs_;  // Guarded by fan_out_mutex_.

  std::mutex staged_mutex_;
  std::set<std::string> busy_staged_;  // Staged blobs with an open appender or a commit.
};

}  // namespace strongroom::storage
