// The primitives every Strongroom format is built from. Internal to strongroom_crypto.
//
// Each function is a thin, checked wrapper over OpenSSL (AES-256-GCM, HKDF-SHA256) or
// libsodium (X25519, Ed25519, SHA-2, HMAC-SHA256, Argon2id, randomness). Nothing here
// implements a primitive; it only fixes sizes and turns library failures into errc values.
#pragma once

#include "strongroom/crypto/secret.h"
#include "strongroom/error.h"

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace strongroom::crypto {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;
inline constexpr std::size_t kX25519KeySize = 32;
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519SecretKeySize = 64;
inline constexpr std::size_t kEd25519SignatureSize = 64;
inline constexpr std::size_t kSha256Size = 32;
inline constexpr std::size_t kSha512Size = 64;

using Sha256Digest = std::array<std::uint8_t, kSha256Size>;
using Sha512Digest = std::array<std::uint8_t, kSha512Size>;

inline Bytes AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// --- randomness ---------------------------------------------------------------------------
void RandomBytes(MutableBytes out) noexcept;

// --- hashing and MAC ----------------------------------------------------------------------
[[nodiscard]] Sha256Digest Sha256(Bytes data) noexcept;
[[nodiscard]] Sha512Digest Sha512(Bytes data) noexcept;
[[nodiscard]] Sha256Digest HmacSha256(std::span<const std::uint8_t, 32> key, Bytes data) noexcept;
// Constant-time check of an HMAC-SHA256 tag.
[[nodiscard]] bool HmacSha256Verify(std::span<const std::uint8_t, 32> key, Bytes data,
                                    std::span<const std::uint8_t, 32> tag) noexcept;
// Constant-time equality of two equal-length byte strings.
[[nodiscard]] bool ConstantTimeEqual(Bytes a, Bytes b) noexcept;

// HKDF-SHA256 (RFC 5869) into `out` (at most 255*32 bytes).
[[nodiscard]] result<void> HkdfSha256(Bytes ikm, Bytes salt, Bytes info, MutableBytes out) noexcept;

// --- AES-256-GCM --------------------------------------------------------------------------
// One-shot seal/open. `out` must be plaintext.size() + 16 (seal) or ciphertext.size() - 16
// (open). Open fails with errc::payload_tampered on authentication failure; callers map it
// to the error that fits their structure.
[[nodiscard]] result<void> AeadSeal(std::span<const std::uint8_t, 32> key,
                                    std::span<const std::uint8_t, 12> nonce, Bytes aad,
                                    Bytes plaintext, MutableBytes out) noexcept;
[[nodiscard]] result<void> AeadOpen(std::span<const std::uint8_t, 32> key,
                                    std::span<const std::uint8_t, 12> nonce, Bytes aad,
                                    Bytes ciphertext, MutableBytes out) noexcept;

// A reusable AES-256-GCM context bound to one key, for the payload's many chunks. The key
// schedule is computed once; each call sets a fresh nonce. Not thread-safe: one per thread.
class AeadContext {
 public:
  explicit AeadContext(std::span<const std::uint8_t, 32> key);
  ~AeadContext();
  AeadContext(const AeadContext&) = delete;
  AeadContext& operator=(const AeadContext&) = delete;

  // out.size() == plaintext.size() + 16; tag is appended.
  [[nodiscard]] result<void> Seal(std::span<const std::uint8_t, 12> nonce, Bytes plaintext,
                                  MutableBytes out) noexcept;
  // out.size() == ciphertext.size() - 16.
  [[nodiscard]] result<void> Open(std::span<const std::uint8_t, 12> nonce, Bytes ciphertext,
                                  MutableBytes out) noexcept;

 private:
  EVP_CIPHER_CTX* encrypt_;
  EVP_CIPHER_CTX* decrypt_;
};

// --- X25519 and Ed25519 -------------------------------------------------------------------
// Derives the public key of an X25519 secret key.
void X25519PublicFromSecret(std::span<const std::uint8_t, 32> secret,
                            std::span<std::uint8_t, 32> public_key) noexcept;
// Diffie-Hellman. Fails (errc::header_tampered is NOT implied) with errc::malformed when the
// peer key is a low-order point (all-zero shared secret).
[[nodiscard]] result<void> X25519(std::span<const std::uint8_t, 32> secret,
                                  std::span<const std::uint8_t, 32> peer_public,
                                  std::span<std::uint8_t, 32> shared) noexcept;

// Expands a 32-byte seed into an Ed25519 key pair.
void Ed25519FromSeed(std::span<const std::uint8_t, 32> seed, std::span<std::uint8_t, 32> public_key,
                     std::span<std::uint8_t, 64> secret_key) noexcept;
void Ed25519Sign(std::span<const std::uint8_t, 64> secret_key, Bytes message,
                 std::span<std::uint8_t, 64> signature) noexcept;
[[nodiscard]] bool Ed25519Verify(std::span<const std::uint8_t, 32> public_key, Bytes message,
                                 std::span<const std::uint8_t, 64> signature) noexcept;

// --- Argon2id -----------------------------------------------------------------------------
// crypto_pwhash with ALG_ARGON2ID13. Parameters are checked by the caller against policy.
[[nodiscard]] result<void> Argon2id(std::string_view password,
                                    std::span<const std::uint8_t, 16> salt, std::uint32_t opslimit,
                                    std::uint64_t memlimit_bytes,
                                    std::span<std::uint8_t, 32> out) noexcept;

}  // namespace strongroom::crypto
