#include "strongroom/crypto/verifier.h"

#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/secret.h"

#include <sodium.h>

#include <cstring>
#include <mutex>

namespace strongroom::crypto {

result<std::string> MakeVerifier(std::span<const std::uint8_t, kAuthKeySize> key) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, reinterpret_cast<const char*>(key.data()), key.size(),
                            kVerifierOpsLimit, kVerifierMemLimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return errc::internal;  // Out of memory.
  }
  return std::string(out);
}

bool CheckVerifier(std::string_view verifier,
                   std::span<const std::uint8_t, kAuthKeySize> key) noexcept {
  char stored[crypto_pwhash_STRBYTES] = {};
  if (verifier.empty() || verifier.size() >= sizeof stored) return false;
  std::memcpy(stored, verifier.data(), verifier.size());
  // Refuse verifiers with costs we did not choose (a tampered row must not make the server
  // spend gigabytes): only the exact parameters MakeVerifier uses are accepted.
  if (crypto_pwhash_str_needs_rehash(stored, kVerifierOpsLimit, kVerifierMemLimit) != 0) {
    return false;
  }
  return crypto_pwhash_str_verify(stored, reinterpret_cast<const char*>(key.data()),
                                  key.size()) == 0;
}

void CheckDummyVerifier(std::span<const std::uint8_t, kAuthKeySize> key) noexcept {
  static std::once_flag once;
  static std::string dummy;
  std::call_once(once, [] {
    std::array<std::uint8_t, kAuthKeySize> random{};
    FillRandom(random);
    auto v = MakeVerifier(random);
    dummy = v ? *v : std::string();
  });
  (void)CheckVerifier(dummy, key);
}

std::string NewToken() {
  std::array<std::uint8_t, kTokenBytes> bytes{};
  FillRandom(bytes);
  std::string token = Base64UrlEncode(bytes);
  Wipe(bytes);
  return token;
}

std::string TokenDigest(std::string_view token) {
  return HexEncode(Sha256(AsBytes(token)));
}

std::string RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> buffer(bytes);
  FillRandom(buffer);
  return HexEncode(buffer);
}

void FillRandom(std::span<std::uint8_t> out) noexcept {
  RandomBytes(out);
}

std::array<std::uint8_t, 16> FakeSalt(std::span<const std::uint8_t, 32> key,
                                      std::string_view email) noexcept {
  constexpr std::string_view kLabel = "strongroom-v1-prelogin-salt";
  std::string message(kLabel);
  message.push_back('\0');
  message.append(email);
  const Sha256Digest mac = HmacSha256(key, AsBytes(message));
  std::array<std::uint8_t, 16> salt{};
  std::memcpy(salt.data(), mac.data(), salt.size());
  return salt;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return ConstantTimeEqual(AsBytes(a), AsBytes(b));
}

}  // namespace strongroom::crypto
