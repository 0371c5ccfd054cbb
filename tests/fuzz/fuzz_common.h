// Shared by the libFuzzer targets and fuzz_make_corpus: fixed, deterministic keys (so a
// corpus written once stays valid for every later run), a source that reads in odd-sized
// pieces, and the property check that turns a broken invariant into a crash.
//
// Nothing here is secret: the keys are built from constant bytes on purpose.
#pragma once

#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/collab/wire.h"
#include "strongroom/crypto/collab.h"
#include "strongroom/crypto/container.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/init.h"
#include "strongroom/crypto/password.h"
#include "strongroom/crypto/room.h"
#include "strongroom/error.h"
#include "strongroom/io.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::fuzz {

// A broken property is a bug: report where, then crash so libFuzzer saves the input.
[[noreturn]] inline void PropertyFailed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "\n==fuzz== property failed: %s\n==fuzz==   at %s:%d\n", what, file, line);
  std::fflush(stderr);
  __builtin_trap();
}

#define FUZZ_CHECK(cond)                                                        \
  do {                                                                          \
    if (!(cond)) ::strongroom::fuzz::PropertyFailed(#cond, __FILE__, __LINE__); \
  } while (0)

// Setup failures (not findings): abort loudly.
[[noreturn]] inline void SetupFailed(const char* what) {
  std::fprintf(stderr, "fuzz setup failed: %s\n", what);
  std::abort();
}

inline std::span<const std::uint8_t> Span(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}
inline std::string_view Text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}
inline std::span<const std::uint8_t> Span(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The canonical secret encoding (identity.cc, ExportSecret):
//   "SRSK" ‖ u8 version=1 ‖ u8 id_len ‖ user id ‖ u64 created (big-endian) ‖
//   32-byte X25519 secret ‖ 32-byte Ed25519 seed
// built by hand, with key bytes first, first+1, ... so the identity never changes.
inline std::vector<std::uint8_t> FixedSecretEncoding(std::string_view user_id,
                                                     std::uint64_t created,
                                                     std::uint8_t x25519_first,
                                                     std::uint8_t seed_first) {
  std::vector<std::uint8_t> out = {'S', 'R', 'S', 'K', 1};
  out.push_back(static_cast<std::uint8_t>(user_id.size()));
  out.insert(out.end(), user_id.begin(), user_id.end());
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(created >> (8 * i)));
  for (int i = 0; i < 32; ++i) out.push_back(static_cast<std::uint8_t>(x25519_first + i));
  for (int i = 0; i < 32; ++i) out.push_back(static_cast<std::uint8_t>(seed_first + i));
  return out;
}

inline crypto::Identity MakeIdentity(std::string_view user_id, std::uint64_t created,
                                     std::uint8_t x25519_first, std::uint8_t seed_first) {
  auto id = crypto::Identity::ImportSecret(
      FixedSecretEncoding(user_id, created, x25519_first, seed_first));
  if (!id) SetupFailed("Identity::ImportSecret of the fixed secret");
  return std::move(*id);
}

// The identity every decrypt input is tried with (and that fuzz_make_corpus encrypts to).
inline const crypto::Identity& FixedIdentity() {
  static const crypto::Identity id = MakeIdentity("fuzz@strongroom.test", 1700000000, 0x01, 0x41);
  return id;
}
// A second user, so the corpus has multi-recipient containers and foreign stanzas.
inline const crypto::Identity& OtherIdentity() {
  static const crypto::Identity id = MakeIdentity("other@strongroom.test", 1700000123, 0x81, 0xc1);
  return id;
}

// The recovery code of the 32 key bytes 0xa0, 0xa1, ...: base32(key ‖ first 2 bytes of
// SHA-256("strongroom-v1-recovery-code" ‖ key)), as RecoveryKey::ToCode makes it.
inline std::string FixedRecoveryCode() {
  std::vector<std::uint8_t> key(32);
  for (int i = 0; i < 32; ++i)
    key[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(0xa0 + i);
  std::string_view label = "strongroom-v1-recovery-code";
  std::vector<std::uint8_t> msg(label.begin(), label.end());
  msg.insert(msg.end(), key.begin(), key.end());
  const auto digest = crypto::Sha256(msg);
  key.push_back(digest[0]);
  key.push_back(digest[1]);
  return crypto::Base32Encode(key);
}

inline const crypto::RecoveryKey& FixedRecoveryKey() {
  static const crypto::RecoveryKey key = [] {
    auto k = crypto::RecoveryKey::FromCode(FixedRecoveryCode());
    if (!k) SetupFailed("RecoveryKey::FromCode of the fixed code");
    return std::move(*k);
  }();
  return key;
}

// Already-derived password keys: lets the fuzzers open password bundles without Argon2id.
inline const crypto::PasswordKeys& FixedPasswordKeys() {
  static const crypto::PasswordKeys keys = [] {
    crypto::PasswordKeys k;
    for (int i = 0; i < 32; ++i) {
      k.auth_key.data()[i] = static_cast<std::uint8_t>(0x10 + i);
      k.key_encryption_key.data()[i] = static_cast<std::uint8_t>(0x30 + i);
    }
    return k;
  }();
  return keys;
}

// The folder key and folder id room records are sealed and opened with (fuzz_room_records),
// and the file key of file records: bytes 0x50.., 0x90.., 0xd0...
inline const crypto::Secret<32>& FixedFolderKey() {
  static const crypto::Secret<32> key = [] {
    crypto::Secret<32> k;
    for (int i = 0; i < 32; ++i) k.data()[i] = static_cast<std::uint8_t>(0x50 + i);
    return k;
  }();
  return key;
}
inline crypto::FolderId FixedFolderId() {
  crypto::FolderId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0x90 + i);
  return id;
}
inline const crypto::Secret<32>& FixedFileKey() {
  static const crypto::Secret<32> key = [] {
    crypto::Secret<32> k;
    for (int i = 0; i < 32; ++i) k.data()[i] = static_cast<std::uint8_t>(0xd0 + i);
    return k;
  }();
  return key;
}

// The co-editing key frames are sealed and opened with (fuzz_collab_wire): the fixed file key
// for file id 0xb0, 0xb1, ... at epoch 5, and the session id 0xe0, 0xe1, ... of the seeds.
inline constexpr std::uint64_t kFixedCollabEpoch = 5;
inline collab::FileId FixedCollabFileId() {
  collab::FileId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xb0 + i);
  return id;
}
inline collab::SessionId FixedCollabSessionId() {
  collab::SessionId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xe0 + i);
  return id;
}
inline const crypto::CollabKey& FixedCollabKey() {
  static const crypto::CollabKey key = [] {
    auto k = crypto::CollabKey::Make(FixedFileKey(), FixedCollabFileId(), kFixedCollabEpoch);
    if (!k) SetupFailed("CollabKey::Make of the fixed key");
    return std::move(*k);
  }();
  return key;
}

inline crypto::KdfParams FixedKdfParams() {
  crypto::KdfParams p;
  for (std::size_t i = 0; i < p.salt.size(); ++i) p.salt[i] = static_cast<std::uint8_t>(0x70 + i);
  return p;
}

// Builds every fixed key once, before the first input (so no input pays for it and no
// allocation made here looks like a per-input leak).
inline void InitFixedKeys() {
  if (!crypto::Init()) SetupFailed("crypto::Init");
  (void)FixedIdentity();
  (void)OtherIdentity();
  (void)FixedRecoveryKey();
  (void)FixedPasswordKeys();
  (void)FixedFolderKey();
  (void)FixedFileKey();
  (void)FixedCollabKey();
}

// FNV-1a: derives deterministic "random" choices (offsets, failure points) from an input.
inline std::uint64_t Hash(std::span<const std::uint8_t> data) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::uint8_t b : data) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

// A stream (no Size(), no ReadAt) over memory that returns short reads of varying sizes,
// and optionally fails with io_error once `fail_at` bytes have been delivered.
class TrickleSource final : public io::Source {
 public:
  explicit TrickleSource(std::span<const std::uint8_t> data,
                         std::size_t fail_at = std::numeric_limits<std::size_t>::max())
      : data_(data), fail_at_(fail_at) {}

  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    static constexpr std::size_t kSteps[] = {1, 3, 64, 4111, 17, 65, 4096, 2, 8191, 100000};
    if (out.empty()) return std::size_t{0};
    if (pos_ >= fail_at_ && pos_ < data_.size()) return errc::io_error;
    std::size_t n = std::min({out.size(), data_.size() - pos_, kSteps[step_++ % 10]});
    if (fail_at_ > pos_) n = std::min(n, fail_at_ - pos_);
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t fail_at_;
  std::size_t pos_ = 0;
  std::size_t step_ = 0;
};

// A random-access source (Size, Tell, ReadAt) over memory whose every read that touches
// byte `fail_at` fails with io_error, as a file with a bad sector would.
class FlakyFileSource final : public io::Source {
 public:
  FlakyFileSource(std::span<const std::uint8_t> data, std::size_t fail_at)
      : data_(data), fail_at_(fail_at) {}

  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    auto n = ReadAt(pos_, out);
    if (n) pos_ += *n;
    return n;
  }
  std::optional<std::uint64_t> Size() const override { return data_.size(); }
  std::optional<std::uint64_t> Tell() const override { return pos_; }
  result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) override {
    if (offset >= data_.size()) return std::size_t{0};
    const std::size_t at = static_cast<std::size_t>(offset);
    const std::size_t n = std::min(out.size(), data_.size() - at);
    if (n > 0 && at <= fail_at_ && fail_at_ < at + n) return errc::io_error;
    std::memcpy(out.data(), data_.data() + at, n);
    return n;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t fail_at_;
  std::size_t pos_ = 0;
};

// Whether two identities hold the same secret keys (compared, then wiped).
inline bool SameSecrets(const crypto::Identity& a, const crypto::Identity& b) {
  std::vector<std::uint8_t> x = a.ExportSecret(), y = b.ExportSecret();
  const bool same = x == y;
  crypto::Wipe(x);
  crypto::Wipe(y);
  return same;
}

// Whether two container descriptions agree on everything the header says (not on
// plaintext_size and final_tag, which depend on how the container was read).
inline bool SameInfo(const crypto::ContainerInfo& a, const crypto::ContainerInfo& b) {
  if (a.recipients.size() != b.recipients.size()) return false;
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    if (a.recipients[i].user_id != b.recipients[i].user_id ||
        a.recipients[i].fingerprint != b.recipients[i].fingerprint) {
      return false;
    }
  }
  return a.version == b.version && a.file_id == b.file_id && a.chunk_size == b.chunk_size &&
         a.content_type == b.content_type && a.author == b.author &&
         a.header_size == b.header_size && a.header_mac == b.header_mac;
}

}  // namespace strongroom::fuzz
