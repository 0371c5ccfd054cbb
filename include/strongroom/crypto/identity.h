// User identities: key pairs, public key bundles and fingerprints.
//
// An identity is an X25519 key pair (to receive wrapped file keys) and an Ed25519 key pair
// (to sign what the user writes), both made on the user's machine. Others know the user by
// the *public bundle*: user id, both public keys and creation time, self-signed with Ed25519.
// People compare bundles by *fingerprint*, read aloud as 12 groups of 5 digits.
//
// Byte layouts and labels: docs/format.md, sections "Public bundle" and "Identity file".
#pragma once

#include "strongroom/crypto/secret.h"
#include "strongroom/error.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::crypto {

inline constexpr std::size_t kMaxUserIdSize = 255;
inline constexpr std::size_t kFingerprintSize = 32;
inline constexpr std::size_t kMaxPublicBundleSize = 4 + 1 + 1 + kMaxUserIdSize + 8 + 32 + 32 + 64;
inline constexpr std::string_view kPublicKeyTextPrefix = "srpub1:";
inline constexpr std::string_view kIdentityTextPrefix = "SRSEC1:";

using Fingerprint = std::array<std::uint8_t, kFingerprintSize>;
using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

// True when `id` is a valid user id: 1..255 bytes of printable ASCII without spaces.
[[nodiscard]] bool IsValidUserId(std::string_view id) noexcept;

// A verified public key bundle. Every non-empty instance has a valid self-signature.
class PublicBundle {
 public:
  // An empty bundle (no user id, zero keys, zero fingerprint): only a placeholder to assign
  // a parsed bundle to. It verifies no signature.
  PublicBundle() = default;

  // Parses canonical bundle bytes and verifies the self-signature.
  // Errors: malformed, unsupported_version, bad_signature.
  [[nodiscard]] static result<PublicBundle> Parse(std::span<const std::uint8_t> bytes);
  // Parses the text form "srpub1:<base64url of the bundle bytes>".
  [[nodiscard]] static result<PublicBundle> FromText(std::string_view text);

  [[nodiscard]] std::vector<std::uint8_t> Serialize() const;
  [[nodiscard]] std::string ToText() const;

  [[nodiscard]] const std::string& user_id() const { return user_id_; }
  [[nodiscard]] std::uint64_t created() const { return created_; }  // Unix seconds.
  [[nodiscard]] const PublicKey& encryption_key() const { return encryption_key_; }
  [[nodiscard]] const PublicKey& signing_key() const { return signing_key_; }

  // Binary fingerprint: what containers name recipients by.
  [[nodiscard]] const Fingerprint& fingerprint() const { return fingerprint_; }
  // For people: "12345 67890 ..." (12 groups of 5 digits, ~199 bits).
  [[nodiscard]] std::string DisplayFingerprint() const;

  // Checks an Ed25519 signature by this bundle's signing key.
  [[nodiscard]] bool VerifySignature(std::span<const std::uint8_t> message,
                                     std::span<const std::uint8_t, 64> signature) const;

  friend bool operator==(const PublicBundle& a, const PublicBundle& b) {
    return a.fingerprint_ == b.fingerprint_;
  }

 private:
  friend class Identity;
  [[nodiscard]] std::vector<std::uint8_t> SignedPart() const;
  void ComputeFingerprint();

  std::string user_id_;
  std::uint64_t created_ = 0;
  PublicKey encryption_key_{};
  PublicKey signing_key_{};
  Signature signature_{};
  std::array<std::uint8_t, 64> fingerprint_digest_{};
  Fingerprint fingerprint_{};
};

// A user's secret keys. Move-only; secrets live in sodium_malloc memory wiped on destruction.
class Identity {
 public:
  // Makes a new identity with fresh random keys, created now.
  [[nodiscard]] static result<Identity> Generate(std::string_view user_id);
  // Restores an identity from its 64+ byte secret encoding (see ExportSecret).
  [[nodiscard]] static result<Identity> ImportSecret(std::span<const std::uint8_t> secret);
  // Parses an identity file (comment lines starting with '#', then "SRSEC1:...").
  [[nodiscard]] static result<Identity> FromText(std::string_view text);

  Identity(Identity&&) noexcept = default;
  Identity& operator=(Identity&&) noexcept = default;

  // The identity file: human-readable comments and the secret line. Contains secrets.
  [[nodiscard]] std::string ToText() const;
  // The canonical secret encoding (docs/format.md "Secret key encoding"). Contains secrets:
  // wipe the returned buffer when done (crypto::Wipe).
  [[nodiscard]] std::vector<std::uint8_t> ExportSecret() const;

  [[nodiscard]] const PublicBundle& public_bundle() const { return public_; }
  [[nodiscard]] const std::string& user_id() const { return public_.user_id(); }

  // X25519 with this identity's secret key. Fails with errc::malformed on a low-order point.
  [[nodiscard]] result<void> Agree(std::span<const std::uint8_t, 32> peer_public,
                                   std::span<std::uint8_t, 32> shared) const;
  // Ed25519 signature with this identity's signing key.
  [[nodiscard]] Signature Sign(std::span<const std::uint8_t> message) const;

 private:
  Identity() = default;
  [[nodiscard]] static result<Identity> FromSecrets(std::string_view user_id, std::uint64_t created,
                                                    std::span<const std::uint8_t, 32> x25519,
                                                    std::span<const std::uint8_t, 32> seed);

  PublicBundle public_;
  Secret<32> x25519_secret_;
  Secret<32> ed25519_seed_;
  Secret<64> ed25519_secret_;
};

}  // namespace strongroom::crypto
