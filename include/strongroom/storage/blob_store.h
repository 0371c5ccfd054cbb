// Blob storage: where the server keeps the bytes of encrypted containers.
//
// A blob store is a flat namespace of immutable byte strings ("blobs"), each named by a
// BlobId. The server stores only ciphertext here; the metadata database holds the rows that
// refer to blobs. Implementations: LocalBlobStore (a directory on a local filesystem,
// src/server/storage/local_blob_store.h); S3 will follow. Every implementation must pass the
// one conformance suite, tests/unit/blob_store_conformance.h, which is the executable form of
// the contract written below.
//
// The contract, in short:
//
//   * A blob is either wholly there or not there. Put() makes a blob visible only after all
//     of its bytes are stored (and, for durable stores, durable); a failed or interrupted
//     Put() leaves no blob and no partial data visible to any method.
//   * Blobs are never replaced. Put() of an id that exists fails with `already_exists`,
//     even when two Put()s of the same id race: exactly one of them wins, and the stored
//     bytes are the complete data of that one. To change a blob, write a new id and delete
//     the old one; the product never overwrites (a replaced ciphertext would be a silent
//     rollback the metadata could not detect).
//   * Delete() is idempotent and, once it returns, durable.
//   * Every method may be called concurrently from any number of threads, on the same or on
//     different ids.
//
// Errors (strongroom::errc): `invalid_argument` (a malformed id, or a range starting past
// the end), `not_found`, `already_exists`, `too_large`, `conflict`, `io_error` (the backing storage
// failed). Errors from the caller's Source or Sink are passed through unchanged. Error
// values never carry blob contents.
#pragma once

#include "strongroom/error.h"
#include "strongroom/io.h"

#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strongroom::storage {

// True if `s` is 1 to BlobId::kMaxLength characters, each of `a-z`, `0-9`, `_` or `-`.
// The alphabet keeps an id safe, unquoted and unambiguous as a file name (no `.`, `/`, no
// case-folding collisions on case-insensitive filesystems) and as an S3 key.
[[nodiscard]] bool IsValidBlobId(std::string_view s) noexcept;

// The name of a blob: a string for which IsValidBlobId() holds. Constructed only through
// Make(), so a BlobId in hand is valid; the one exception is a moved-from BlobId, which is
// empty (and so invalid): every store refuses it with `invalid_argument` rather than
// touching storage with it.
class BlobId {
 public:
  static constexpr std::size_t kMaxLength = 128;

  // `invalid_argument` unless IsValidBlobId(value).
  [[nodiscard]] static result<BlobId> Make(std::string value);

  BlobId(const BlobId&) = default;
  BlobId& operator=(const BlobId&) = default;
  // Moves leave the source empty (not merely "unspecified") so that use after move is
  // refused deterministically.
  BlobId(BlobId&& other) noexcept : value_(std::exchange(other.value_, std::string())) {}
  BlobId& operator=(BlobId&& other) noexcept {
    value_ = std::exchange(other.value_, std::string());
    return *this;
  }
  ~BlobId() = default;

  [[nodiscard]] const std::string& str() const noexcept { return value_; }

  friend bool operator==(const BlobId&, const BlobId&) = default;
  friend std::strong_ordering operator<=>(const BlobId& a, const BlobId& b) noexcept {
    return a.value_.compare(b.value_) <=> 0;
  }

 private:
  explicit BlobId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores the bytes of `data`, read to its end, as blob `id`.
  //
  // Atomicity: the blob becomes visible (to Get, Size, Exists, List) only once complete and,
  // for durable stores, durable: after Put() returns success the blob survives a crash or
  // power loss. If Put() fails, no blob named `id` was created by this call and no
  // temporary data is left behind.
  // No replacement: if `id` exists, or another Put() of `id` wins a race, fails with
  // `already_exists` and the existing blob is untouched. `data` may then be unread, partly
  // read or wholly read.
  // Bound: fails with `too_large` as soon as `data` yields more than `max_size` bytes (a
  // blob of exactly `max_size` bytes is accepted); this is how the server bounds uploads
  // it streams straight from the network.
  // Errors: `invalid_argument` (bad id), `already_exists`, `too_large`, `io_error`, or
  // whatever error `data.Read()` returned.
  [[nodiscard]] virtual result<void> Put(const BlobId& id, io::Source& data,
                                         std::uint64_t max_size) = 0;

  // Writes the whole blob to `out`, in order. Blobs are immutable, so the bytes written are
  // exactly those stored by the Put() that created it, even if the blob is deleted while
  // being read (the read either completes or fails).
  // Errors: `invalid_argument`, `not_found` (before anything is written to `out`),
  // `io_error`, or whatever error `out.Write()` returned. After a failure `out` may hold a
  // prefix of the blob; callers that must not expose a prefix write to an io::AtomicFile.
  [[nodiscard]] virtual result<void> Get(const BlobId& id, io::Sink& out) = 0;

  // Writes bytes [offset, offset + length) of the blob to `out`, with the end clamped to
  // the blob's size (as HTTP Range requests need). offset == size writes nothing and
  // succeeds; offset > size fails with `invalid_argument`. Errors otherwise as for Get().
  [[nodiscard]] virtual result<void> GetRange(const BlobId& id, std::uint64_t offset,
                                              std::uint64_t length, io::Sink& out) = 0;

  // Opens bytes [offset, offset + length) of the blob (end clamped as for GetRange) as a
  // Source, for a caller that streams a large blob out piece by piece (an HTTP download)
  // without holding it in memory or blocking on a sink. The source reads the blob as it was
  // when opened, even if it is deleted meanwhile; its Size() is the clamped length, and it
  // supports ReadAt() with offsets relative to the window (a container parser seeks).
  // Errors: as for GetRange(), reported here or by a later Read().
  [[nodiscard]] virtual result<std::unique_ptr<io::Source>> OpenRange(const BlobId& id,
                                                                      std::uint64_t offset,
                                                                      std::uint64_t length) = 0;

  // The blob's size in bytes. Errors: `invalid_argument`, `not_found`, `io_error`.
  [[nodiscard]] virtual result<std::uint64_t> Size(const BlobId& id) = 0;

  // Whether the blob exists (complete: a Put() in progress does not count).
  // Errors: `invalid_argument`, `io_error`.
  [[nodiscard]] virtual result<bool> Exists(const BlobId& id) = 0;

  // Removes the blob. Idempotent: deleting a missing blob succeeds. Durable: once Delete()
  // returns success the blob does not come back after a crash. A Get() already streaming
  // the blob may finish. Errors: `invalid_argument`, `io_error`.
  [[nodiscard]] virtual result<void> Delete(const BlobId& id) = 0;

  // --- staged blobs: a large upload arriving over several requests --------------------------
  //
  // A staged blob is a named, append-only scratch area, in a namespace of its own (same
  // alphabet as blob ids). It is never visible to Get, Size, Exists or List; it becomes a
  // blob only through CommitStaged, atomically and under the no-replace rule above. Bytes
  // appended survive a broken request, so an upload resumes from StagedSize() rather than
  // from zero; they need not be durable until CommitStaged (which makes them so).

  // Creates an empty staged blob. Errors: `invalid_argument`, `already_exists`, `io_error`.
  [[nodiscard]] virtual result<void> CreateStaged(const BlobId& staged) = 0;
  // How many bytes it holds. Errors: `invalid_argument`, `not_found`, `io_error`.
  [[nodiscard]] virtual result<std::uint64_t> StagedSize(const BlobId& staged) = 0;
  // A sink that appends to the staged blob, starting at `offset`, which must equal its size
  // (`conflict` otherwise, or while another appender for it is open: one writer at a time).
  // Every Write() that succeeded is kept, whatever happens next. Errors: `invalid_argument`,
  // `not_found`, `conflict`, `io_error`.
  [[nodiscard]] virtual result<std::unique_ptr<io::Sink>> AppendStaged(const BlobId& staged,
                                                                       std::uint64_t offset) = 0;
  // Makes the staged bytes the blob `id` (durably, as Put() does) and removes the staged
  // blob. `already_exists` if `id` exists (the staged blob is kept); `conflict` while an
  // appender is open; `not_found`; `invalid_argument`; `io_error`.
  [[nodiscard]] virtual result<void> CommitStaged(const BlobId& staged, const BlobId& id) = 0;
  // Removes a staged blob. Idempotent. Errors: `invalid_argument`, `io_error`.
  [[nodiscard]] virtual result<void> DeleteStaged(const BlobId& staged) = 0;

  // Every complete blob, sorted by id (for the integrity checker: blobs without rows, rows
  // without blobs). Blobs put or deleted while List() runs may or may not be included;
  // an incomplete blob never is. Errors: `io_error`.
  [[nodiscard]] virtual result<std::vector<BlobId>> List() = 0;
};

}  // namespace strongroom::storage
