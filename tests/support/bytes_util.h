// Byte strings in integration tests: random bytes and ids, base64url as the API carries keys
// and sealed data, and bytes viewed as a std::string (an HTTP body, a file's content).
//
// The random bytes come from a per-thread generator seeded from std::random_device: they are
// unpredictable enough for ids that must not collide, never for keys (tests make keys with
// the crypto core).
#pragma once

#include "strongroom/crypto/encoding.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace strongroom::testing {

using Bytes = std::vector<std::uint8_t>;

// The same bytes as a std::string.
inline std::string AsString(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// `n` random bytes.
inline Bytes RandomBytes(std::size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// `bytes` random bytes in lower-case hex (2 * bytes digits): user ids ("u-" + 16 bytes), file
// and folder ids (16 bytes), name HMACs (32 bytes).
inline std::string RandomHexId(std::size_t bytes) {
  return crypto::HexEncode(RandomBytes(bytes));
}

// Base64url without padding, as the API encodes bytes.
inline std::string B64(std::span<const std::uint8_t> bytes) {
  return crypto::Base64UrlEncode(bytes);
}

// The bytes of base64url `text`; a test failure (and no bytes) when it is not base64url.
inline Bytes UnB64(const std::string& text) {
  auto decoded = crypto::Base64UrlDecode(text);
  EXPECT_TRUE(decoded.has_value()) << "not base64url: " << text;
  return decoded.value_or(Bytes{});
}

}  // namespace strongroom::testing
