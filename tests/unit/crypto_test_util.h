// Helpers shared by the crypto unit tests.
#pragma once

#include "strongroom/crypto/container.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

namespace strongroom::crypto::testing {

using Buffer = std::vector<std::uint8_t>;

inline Identity NewIdentity(const std::string& user) {
  auto id = Identity::Generate(user);
  EXPECT_TRUE(id) << "Identity::Generate(" << user << ")";
  return std::move(*id);
}

inline Buffer RandomData(std::size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  Buffer b(n);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

// A source without random access (like a pipe): exercises the streaming code paths.
class StreamSource final : public io::Source {
 public:
  explicit StreamSource(std::span<const std::uint8_t> data, std::size_t step = 1000)
      : data_(data), step_(step) {}
  result<std::size_t> Read(std::span<std::uint8_t> out) override {
    // Short reads on purpose, as pipes give them.
    const std::size_t n = std::min({out.size(), data_.size() - pos_, step_});
    if (n > 0) std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t step_;
  std::size_t pos_ = 0;
};

enum class Mode { positional, streaming };

inline Buffer Seal(const Buffer& plain, const Identity& author,
                   const std::vector<PublicBundle>& recipients, std::uint32_t chunk = 4096,
                   unsigned threads = 1, Mode mode = Mode::positional) {
  io::MemorySource memory(plain);
  StreamSource stream(plain, 777);
  io::Source& in = mode == Mode::streaming ? static_cast<io::Source&>(stream) : memory;
  io::MemorySink out;
  EncryptOptions o;
  o.chunk_size = chunk;
  o.threads = threads;
  o.content_type = "application/vnd.test";
  auto r = EncryptContainer(in, out, author, recipients, o);
  EXPECT_TRUE(r) << r.error().message();
  return std::move(out.data());
}

inline result<Buffer> Open(const Buffer& container, const Identity& id, unsigned threads = 1,
                           Mode mode = Mode::positional) {
  io::MemorySource memory(container);
  StreamSource stream(container);
  io::Source& in = mode == Mode::streaming ? static_cast<io::Source&>(stream) : memory;
  io::MemorySink out;
  auto r = DecryptContainer(in, out, id, threads);
  if (!r) return r.error();
  return std::move(out.data());
}

}  // namespace strongroom::crypto::testing
