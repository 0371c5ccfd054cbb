// Helpers shared by the crypto unit tests.
#pragma once

#include "strongroom/crypto/container.h"
#include "strongroom/crypto/identity.h"
#include "strongroom/io.h"

#include <gtest/gtest.h>

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

inline Buffer Seal(const Buffer& plain, const Identity& author,
                   const std::vector<PublicBundle>& recipients, std::uint32_t chunk = 4096,
                   unsigned threads = 1) {
  io::MemorySource in(plain);
  io::MemorySink out;
  EncryptOptions o;
  o.chunk_size = chunk;
  o.threads = threads;
  o.content_type = "application/vnd.test";
  auto r = EncryptContainer(in, out, author, recipients, o);
  EXPECT_TRUE(r) << r.error().message();
  return std::move(out.data());
}

inline result<Buffer> Open(const Buffer& container, const Identity& id, unsigned threads = 1) {
  io::MemorySource in(container);
  io::MemorySink out;
  auto r = DecryptContainer(in, out, id, threads);
  if (!r) return r.error();
  return std::move(out.data());
}

}  // namespace strongroom::crypto::testing
