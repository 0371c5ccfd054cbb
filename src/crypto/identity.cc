#include "strongroom/crypto/identity.h"

#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <chrono>
#include <cstdio>
#include <cstring>

namespace strongroom::crypto {

extern const std::string_view kBundleSignatureLabel;  // public_bundle.cc

namespace {

constexpr std::string_view kSecretMagic = "SRSK";
constexpr std::uint8_t kSecretVersion = 1;

template <std::size_t N>
std::span<const std::uint8_t, N> Fixed(std::span<const std::uint8_t> s) {
  return s.first<N>();
}

}  // namespace
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
