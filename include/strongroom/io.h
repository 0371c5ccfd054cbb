// Byte streams: where formats read from and write to.
//
// Formats are written against `Source` and `Sink` so the same code serves files, pipes,
// memory and (later) network bodies. `AtomicFile` is the sink for outputs that must never be
// seen half-written: bytes go to a temporary file beside the target, which replaces the target
// only on Commit() (after fsync); if Commit() is never called the temporary file is removed.
#pragma once

#include "strongroom/error.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace strongroom::io {

class Source {
 public:
  virtual ~Source() = default;
  // Reads up to out.size() bytes. Returns 0 only at the end of the input.
  [[nodiscard]] virtual result<std::size_t> Read(std::span<std::uint8_t> out) = 0;
  // Total size when the source supports random access (regular files, memory).
  [[nodiscard]] virtual std::optional<std::uint64_t> Size() const { return std::nullopt; }
  // The offset the next Read() reads from, for random-access sources.
  [[nodiscard]] virtual std::optional<std::uint64_t> Tell() const { return std::nullopt; }
  // Positioned read for random-access sources; does not move the Read() position.
  [[nodiscard]] virtual result<std::size_t> ReadAt(std::uint64_t /*offset*/,
                                                   std::span<std::uint8_t> /*out*/) {
    return errc::invalid_argument;
  }
};

class Sink {
 public:
  virtual ~Sink() = default;
  // Writes all of `data` or fails.
  [[nodiscard]] virtual result<void> Write(std::span<const std::uint8_t> data) = 0;
};

// Reads exactly out.size() bytes unless the input ends first; returns the count read.
[[nodiscard]] result<std::size_t> ReadFull(Source& in, std::span<std::uint8_t> out);

// A file descriptor the caller owns (stdin, an opened file).
class FdSource final : public Source {
 public:
  explicit FdSource(int fd);
  [[nodiscard]] result<std::size_t> Read(std::span<std::uint8_t> out) override;
  [[nodiscard]] std::optional<std::uint64_t> Size() const override { return size_; }
  [[nodiscard]] std::optional<std::uint64_t> Tell() const override;
  [[nodiscard]] result<std::size_t> ReadAt(std::uint64_t offset,
                                           std::span<std::uint8_t> out) override;

 private:
  int fd_;
  std::optional<std::uint64_t> size_;  // Set for regular files.
  std::uint64_t position_ = 0;         // Meaningful for regular files.
};

class FdSink final : public Sink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  [[nodiscard]] result<void> Write(std::span<const std::uint8_t> data) override;

 private:
  int fd_;
};

class MemorySource final : public Source {
 public:
  // Reads `data` in place: it must outlive the source.
  explicit MemorySource(std::span<const std::uint8_t> data) : data_(data) {}
  // A temporary would be gone before the first read.
  explicit MemorySource(std::vector<std::uint8_t>&&) = delete;
  [[nodiscard]] result<std::size_t> Read(std::span<std::uint8_t> out) override;
  [[nodiscard]] std::optional<std::uint64_t> Size() const override { return data_.size(); }
  [[nodiscard]] std::optional<std::uint64_t> Tell() const override { return pos_; }
  [[nodiscard]] result<std::size_t> ReadAt(std::uint64_t offset,
                                           std::span<std::uint8_t> out) override;

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

class MemorySink final : public Sink {
 public:
  [[nodiscard]] result<void> Write(std::span<const std::uint8_t> data) override;
  [[nodiscard]] std::vector<std::uint8_t>& data() { return data_; }

 private:
  std::vector<std::uint8_t> data_;
};

// An input file opened read-only; closes on destruction.
class InputFile {
 public:
  [[nodiscard]] static result<InputFile> Open(const std::string& path);
  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile();
  [[nodiscard]] FdSource& source() { return source_; }

 private:
  explicit InputFile(int fd) : fd_(fd), source_(fd) {}
  int fd_;
  FdSource source_;
};

class AtomicFile final : public Sink {
 public:
  // Creates a temporary file (mode `mode`) in the directory of `path`.
  [[nodiscard]] static result<AtomicFile> Create(const std::string& path, unsigned mode = 0600);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  ~AtomicFile() override;  // Removes the temporary file unless committed.

  [[nodiscard]] result<void> Write(std::span<const std::uint8_t> data) override;
  enum class Replace { yes, no };
  // fsync, rename to `path`, fsync the directory. After success the object is inert. With
  // Replace::no an existing `path` is never overwritten: errc::already_exists, and the
  // temporary file stays until destruction (the check and the rename are one atomic step).
  [[nodiscard]] result<void> Commit(Replace replace = Replace::yes);

 private:
  AtomicFile(std::string path, std::string temp, int fd)
      : path_(std::move(path)), temp_(std::move(temp)), fd_(fd) {}
  std::string path_;
  std::string temp_;
  int fd_ = -1;
};

// A bounded in-memory pipe between two threads: one pushes bytes into writer(), the other
// pulls them from reader(). It lets a reader that pulls (a decryptor) consume a producer that
// pushes (an HTTP response body) while both run, in memory bounded by `capacity`.
//
// Either side may stop early: CloseWriter() ends the stream (with `failed`, the reader's next
// Read fails with errc::io_error once buffered bytes are consumed, instead of seeing a clean
// end), and CloseReader() makes every pending and later Write fail with errc::io_error, so a
// producer blocked on a full pipe wakes up and gives up. Both must be called, each by its own
// side, before the pipe is destroyed.
class Pipe {
 public:
  explicit Pipe(std::size_t capacity);
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  [[nodiscard]] Sink& writer() { return writer_; }
  [[nodiscard]] Source& reader() { return reader_; }
  void CloseWriter(bool failed = false);
  void CloseReader();

 private:
  struct Writer final : Sink {
    Pipe* pipe;
    explicit Writer(Pipe* p) : pipe(p) {}
    [[nodiscard]] result<void> Write(std::span<const std::uint8_t> data) override;
  };
  struct Reader final : Source {
    Pipe* pipe;
    explicit Reader(Pipe* p) : pipe(p) {}
    [[nodiscard]] result<std::size_t> Read(std::span<std::uint8_t> out) override;
  };

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::uint8_t> ring_;  // Circular buffer of ring_.size() == capacity bytes.
  std::size_t head_ = 0;            // Next byte to read.
  std::size_t used_ = 0;
  bool writer_closed_ = false;
  bool writer_failed_ = false;
  bool reader_closed_ = false;
  Writer writer_{this};
  Reader reader_{this};
};

}  // namespace strongroom::io
