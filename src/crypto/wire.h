// Byte-level encoding used by every Strongroom format: big-endian integers, length-prefixed
// fields, and text encodings (base64url, base32, hex). Internal to strongroom_crypto.
//
// ByteReader never reads past its input: every accessor returns false on underflow, so
// parsers read as `if (!r.U8(v) || !r.Bytes(x)) return errc::malformed;`.
#pragma once

#include "strongroom/error.h"
#include "strongroom/crypto/encoding.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::crypto {

class ByteWriter {
 public:
  // Every format structure is small; one reservation avoids regrowth (and a GCC 12 false
  // -Wstringop-overflow on the first insert into an empty vector).
  ByteWriter() { out_.reserve(512); }
  void U8(std::uint8_t v) { out_.push_back(v); }
  void U16(std::uint16_t v) { Int(v, 2); }
  void U32(std::uint32_t v) { Int(v, 4); }
  void U64(std::uint64_t v) { Int(v, 8); }
  void Raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void Raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  [[nodiscard]] std::size_t size() const { return out_.size(); }
  [[nodiscard]] std::vector<std::uint8_t>& buffer() { return out_; }
  [[nodiscard]] std::vector<std::uint8_t> Take() { return std::move(out_); }

 private:
  void Int(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
  [[nodiscard]] bool U8(std::uint8_t& v) { return Int(v, 1); }
  [[nodiscard]] bool U16(std::uint16_t& v) { return Int(v, 2); }
  [[nodiscard]] bool U32(std::uint32_t& v) { return Int(v, 4); }
  [[nodiscard]] bool U64(std::uint64_t& v) { return Int(v, 8); }
  // Copies exactly out.size() bytes.
  [[nodiscard]] bool Copy(std::span<std::uint8_t> out);
  // A view of the next n bytes.
  [[nodiscard]] bool View(std::size_t n, std::span<const std::uint8_t>& out);
  [[nodiscard]] std::size_t offset() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }
  [[nodiscard]] bool done() const { return pos_ == in_.size(); }

 private:
  template <class T>
  bool Int(T& v, int n) {
    if (remaining() < static_cast<std::size_t>(n)) return false;
    std::uint64_t x = 0;
    for (int i = 0; i < n; ++i) x = (x << 8) | in_[pos_++];
    v = static_cast<T>(x);
    return true;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// Reads a format's magic and version byte: errc::malformed for short input or another magic,
// errc::unsupported_version for another version; an empty code when both match.
[[nodiscard]] boost::system::error_code ReadMagicAndVersion(ByteReader& r, std::string_view magic,
                                                            std::uint8_t version);

void StoreBigEndian32(std::uint32_t v, std::uint8_t* out);

}  // namespace strongroom::crypto
