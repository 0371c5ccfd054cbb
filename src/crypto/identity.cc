#include "strongroom/crypto/identity.h"

#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <chrono>
#include <cstdio>
#include <cstring>

namespace strongroom::crypto {
namespace {

constexpr std::string_view kBundleMagic = "SRPB";
constexpr std::string_view kSecretMagic = "SRSK";
constexpr std::uint8_t kBundleVersion = 1;
constexpr std::uint8_t kSecretVersion = 1;
constexpr std::string_view kBundleSignatureLabel = "strongroom-v1-public-bundle";
constexpr std::string_view kFingerprintLabel = "strongroom-v1-fingerprint";

template <std::size_t N>
std::span<const std::uint8_t, N> Fixed(std::span<const std::uint8_t> s) {
  return s.first<N>();
}

}  // namespace

bool IsValidUserId(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxUserIdSize) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// --- PublicBundle -------------------------------------------------------------------------

std::vector<std::uint8_t> PublicBundle::SignedPart() const {
  ByteWriter w;
  w.Raw(kBundleMagic);
  w.U8(kBundleVersion);
  w.U8(static_cast<std::uint8_t>(user_id_.size()));
  w.Raw(user_id_);
  w.U64(created_);
  w.Raw(encryption_key_);
  w.Raw(signing_key_);
  return w.Take();
}

void PublicBundle::ComputeFingerprint() {
  ByteWriter w;
  w.Raw(kFingerprintLabel);
  w.Raw(SignedPart());
  fingerprint_digest_ = Sha512(w.buffer());
  std::copy_n(fingerprint_digest_.begin(), kFingerprintSize, fingerprint_.begin());
}

std::vector<std::uint8_t> PublicBundle::Serialize() const {
  std::vector<std::uint8_t> out = SignedPart();
  out.insert(out.end(), signature_.begin(), signature_.end());
  return out;
}

std::string PublicBundle::ToText() const {
  return std::string(kPublicKeyTextPrefix) + Base64UrlEncode(Serialize());
}

std::string PublicBundle::DisplayFingerprint() const {
  // Like Signal's safety numbers: each 5-byte slice, read big-endian, reduced mod 100000.
  std::string out;
  for (int group = 0; group < 12; ++group) {
    std::uint64_t v = 0;
    for (int i = 0; i < 5; ++i) v = (v << 8) | fingerprint_digest_[group * 5 + i];
    char digits[6];
    std::snprintf(digits, sizeof digits, "%05u", static_cast<unsigned>(v % 100000));
    if (group > 0) out += ' ';
    out += digits;
  }
  return out;
}

bool PublicBundle::VerifySignature(std::span<const std::uint8_t> message,
                                   std::span<const std::uint8_t, 64> signature) const {
  return Ed25519Verify(signing_key_, message, signature);
}

result<PublicBundle> PublicBundle::Parse(std::span<const std::uint8_t> bytes) {
  if (auto r = Init(); !r) return r.error();
  if (bytes.size() > kMaxPublicBundleSize) return errc::malformed;
  ByteReader r(bytes);
  if (auto ec = ReadMagicAndVersion(r, kBundleMagic, kBundleVersion)) return ec;
  std::uint8_t id_len = 0;
  PublicBundle b;
  std::span<const std::uint8_t> id;
  if (!r.U8(id_len) || !r.View(id_len, id) || !r.U64(b.created_) || !r.Copy(b.encryption_key_) ||
      !r.Copy(b.signing_key_) || !r.Copy(b.signature_) || !r.done()) {
    return errc::malformed;
  }
  b.user_id_.assign(id.begin(), id.end());
  if (!IsValidUserId(b.user_id_)) return errc::malformed;
  ByteWriter msg;
  msg.Raw(kBundleSignatureLabel);
  msg.Raw(b.SignedPart());
  if (!Ed25519Verify(b.signing_key_, msg.buffer(), b.signature_)) return errc::bad_signature;
  b.ComputeFingerprint();
  return b;
}

result<PublicBundle> PublicBundle::FromText(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (!text.starts_with(kPublicKeyTextPrefix)) return errc::malformed;
  text.remove_prefix(kPublicKeyTextPrefix.size());
  if (text.size() > 2 * kMaxPublicBundleSize) return errc::malformed;
  auto bytes = Base64UrlDecode(text);
  if (!bytes) return errc::malformed;
  return Parse(*bytes);
}

// --- Identity -----------------------------------------------------------------------------

result<Identity> Identity::FromSecrets(std::string_view user_id, std::uint64_t created,
                                       std::span<const std::uint8_t, 32> x25519,
                                       std::span<const std::uint8_t, 32> seed) {
  if (!IsValidUserId(user_id)) return errc::invalid_argument;
  Identity id;
  std::copy(x25519.begin(), x25519.end(), id.x25519_secret_.data());
  std::copy(seed.begin(), seed.end(), id.ed25519_seed_.data());
  id.public_.user_id_ = std::string(user_id);
  id.public_.created_ = created;
  X25519PublicFromSecret(id.x25519_secret_.bytes(), id.public_.encryption_key_);
  Ed25519FromSeed(id.ed25519_seed_.bytes(), id.public_.signing_key_, id.ed25519_secret_.bytes());
  ByteWriter msg;
  msg.Raw(kBundleSignatureLabel);
  msg.Raw(id.public_.SignedPart());
  Ed25519Sign(id.ed25519_secret_.bytes(), msg.buffer(), id.public_.signature_);
  id.public_.ComputeFingerprint();
  return id;
}

result<Identity> Identity::Generate(std::string_view user_id) {
  if (auto r = Init(); !r) return r.error();
  if (!IsValidUserId(user_id)) return errc::invalid_argument;
  Secret<32> x25519;
  Secret<32> seed;
  RandomBytes(x25519.bytes());
  RandomBytes(seed.bytes());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return FromSecrets(user_id, static_cast<std::uint64_t>(now), x25519.bytes(), seed.bytes());
}

std::vector<std::uint8_t> Identity::ExportSecret() const {
  ByteWriter w;
  w.buffer().reserve(4 + 1 + 1 + kMaxUserIdSize + 8 + 64);
  w.Raw(kSecretMagic);
  w.U8(kSecretVersion);
  w.U8(static_cast<std::uint8_t>(user_id().size()));
  w.Raw(user_id());
  w.U64(public_.created());
  w.Raw(x25519_secret_.bytes());
  w.Raw(ed25519_seed_.bytes());
  return w.Take();
}

result<Identity> Identity::ImportSecret(std::span<const std::uint8_t> secret) {
  if (auto r = Init(); !r) return r.error();
  ByteReader r(secret);
  if (auto ec = ReadMagicAndVersion(r, kSecretMagic, kSecretVersion)) return ec;
  std::uint8_t id_len = 0;
  std::span<const std::uint8_t> id, x25519, seed;
  std::uint64_t created = 0;
  if (!r.U8(id_len) || !r.View(id_len, id) || !r.U64(created) || !r.View(32, x25519) ||
      !r.View(32, seed) || !r.done()) {
    return errc::malformed;
  }
  const std::string user_id(id.begin(), id.end());
  if (!IsValidUserId(user_id)) return errc::malformed;
  return FromSecrets(user_id, created, Fixed<32>(x25519), Fixed<32>(seed));
}

std::string Identity::ToText() const {
  std::vector<std::uint8_t> secret = ExportSecret();
  std::string out;
  out += "# strongroom identity: SECRET KEYS. Keep this file private; anyone who has it can\n";
  out += "# read every file shared with you and sign as you.\n";
  out += "# user: " + user_id() + "\n";
  out += "# created: " + std::to_string(public_.created()) + "\n";
  out += "# public key: " + public_.ToText() + "\n";
  out += "# fingerprint: " + public_.DisplayFingerprint() + "\n";
  out += std::string(kIdentityTextPrefix) + Base64UrlEncode(secret) + "\n";
  Wipe(secret);
  return out;
}

result<Identity> Identity::FromText(std::string_view text) {
  if (text.size() > 64 * 1024) return errc::malformed;
  std::optional<result<Identity>> found;
  while (!text.empty()) {
    const auto eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (!line.starts_with(kIdentityTextPrefix) || found) return errc::malformed;
    line.remove_prefix(kIdentityTextPrefix.size());
    auto secret = Base64UrlDecode(line);
    if (!secret) return errc::malformed;
    found = ImportSecret(*secret);
    Wipe(*secret);
  }
  if (!found) return errc::malformed;
  return std::move(*found);
}

result<void> Identity::Agree(std::span<const std::uint8_t, 32> peer_public,
                             std::span<std::uint8_t, 32> shared) const {
  return X25519(x25519_secret_.bytes(), peer_public, shared);
}

Signature Identity::Sign(std::span<const std::uint8_t> message) const {
  Signature s{};
  Ed25519Sign(ed25519_secret_.bytes(), message, s);
  return s;
}

}  // namespace strongroom::crypto
