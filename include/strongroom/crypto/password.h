// Password-derived keys, the encrypted private bundle, and the recovery key.
//
//   password ──Argon2id(salt, opslimit, memlimit)──> master (32 bytes, never stored)
//   master ──HKDF "strongroom-v1-auth-key"──────────> auth key   (sent to the server at login)
//   master ──HKDF "strongroom-v1-key-encryption-key"> KEK        (never leaves the client)
//   KEK ──AES-256-GCM──> private bundle (the identity's secret keys)
//   recovery key (256 random bits, shown once as a code) ──HKDF──> recovery bundle
//
// The server stores the KDF parameters, the private bundle and the recovery bundle, and sees
// only the auth key. Since the server hands the parameters back to the client at login, the
// client refuses parameters below a floor (CheckKdfParams): a malicious server cannot make
// the client derive its keys with a cheap, guessable setting.
//
// Byte layouts and labels: docs/format.md, "Password-derived keys" and "Private bundle".
#pragma once

#include "strongroom/crypto/identity.h"
#include "strongroom/crypto/secret.h"
#include "strongroom/error.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::crypto {

// Floor and ceiling on Argon2id parameters the client accepts. The floor stops downgrades;
// the ceiling stops a server from exhausting the client's memory or time.
inline constexpr std::uint32_t kKdfMinOpsLimit = 3;
inline constexpr std::uint64_t kKdfMinMemLimit = 64ull << 20;  // 64 MiB
inline constexpr std::uint32_t kKdfMaxOpsLimit = 64;
inline constexpr std::uint64_t kKdfMaxMemLimit = 4ull << 30;  // 4 GiB
inline constexpr std::size_t kKdfSaltSize = 16;
inline constexpr std::uint8_t kKdfAlgArgon2id13 = 1;

struct KdfParams {
  std::uint8_t algorithm = kKdfAlgArgon2id13;
  std::uint32_t opslimit = kKdfMinOpsLimit;
  std::uint64_t memlimit = kKdfMinMemLimit;  // Bytes.
  std::array<std::uint8_t, kKdfSaltSize> salt{};

  // Default parameters with a fresh random salt.
  [[nodiscard]] static KdfParams Generate();
};

// errc::weak_parameters below the floor, errc::too_large above the ceiling,
// errc::unsupported_version for an unknown algorithm.
[[nodiscard]] result<void> CheckKdfParams(const KdfParams& params) noexcept;

struct PasswordKeys {
  Secret<32> auth_key;            // Proves knowledge of the password to the server.
  Secret<32> key_encryption_key;  // Opens the private bundle. Never leaves the client.
};

// Runs Argon2id then HKDF. Checks the parameters first (see CheckKdfParams).
[[nodiscard]] result<PasswordKeys> DerivePasswordKeys(std::string_view password,
                                                      const KdfParams& params);

// 256 random bits that open the recovery bundle. Shown to the user once as a code of
// 11 groups of 5 characters (base32 of key ‖ 16-bit checksum), e.g. "ABCDE-FGHIJ-...".
class RecoveryKey {
 public:
  [[nodiscard]] static RecoveryKey Generate();
  // Accepts any case, with or without dashes and spaces. errc::malformed on a typo
  // (the checksum catches it).
  [[nodiscard]] static result<RecoveryKey> FromCode(std::string_view code);
  [[nodiscard]] std::string ToCode() const;
  [[nodiscard]] std::span<const std::uint8_t, 32> bytes() const { return key_.bytes(); }

 private:
  RecoveryKey() = default;
  Secret<32> key_;
};

// Seals the identity's secret keys under the KEK, binding user id, version and the KDF
// parameters as associated data.
[[nodiscard]] result<std::vector<std::uint8_t>> SealPrivateBundle(const Identity& identity,
                                                                  const PasswordKeys& keys,
                                                                  const KdfParams& params);
// Seals the identity's secret keys under a key derived from the recovery key.
[[nodiscard]] result<std::vector<std::uint8_t>> SealRecoveryBundle(const Identity& identity,
                                                                   const RecoveryKey& key);

// Reads the KDF parameters stored in a private bundle (no secret needed).
[[nodiscard]] result<KdfParams> PrivateBundleParams(std::span<const std::uint8_t> bundle);

// Opens a private bundle with a password: reads and checks the parameters, derives the
// keys and decrypts. errc::wrong_password when the password (or bundle) does not match.
[[nodiscard]] result<Identity> OpenPrivateBundle(std::span<const std::uint8_t> bundle,
                                                 std::string_view password);
// Opens a private bundle with an already-derived KEK.
[[nodiscard]] result<Identity> OpenPrivateBundle(std::span<const std::uint8_t> bundle,
                                                 const PasswordKeys& keys);
// The key that proves possession of the recovery code to the server (HKDF of the recovery
// key, label "strongroom-v1-recovery-auth-key"); independent of the key that opens the
// recovery bundle, so the server, which stores only a slow hash of it, learns nothing that
// opens the bundle.
[[nodiscard]] Secret<32> RecoveryAuthKey(const RecoveryKey& key);

// Opens a recovery bundle. errc::wrong_password when the key does not match.
[[nodiscard]] result<Identity> OpenRecoveryBundle(std::span<const std::uint8_t> bundle,
                                                  const RecoveryKey& key);

}  // namespace strongroom::crypto
