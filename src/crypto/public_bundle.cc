// Public bundles and fingerprints: the part of identities that holds no secret. Kept apart
// from identity.cc so the server links the verification code without any private-key code
// (a build test checks strongroomd for Identity symbols).
#include "strongroom/crypto/identity.h"

#include "crypto/primitives.h"
#include "crypto/wire.h"
#include "strongroom/crypto/init.h"

#include <cstdio>
#include <cstring>

namespace strongroom::crypto {
namespace {

constexpr std::string_view kBundleMagic = "SRPB";
constexpr std::uint8_t kBundleVersion = 1;
constexpr std::string_view kFingerprintLabel = "strongroom-v1-fingerprint";

}  // namespace

// The label the bundle's self-signature is made under (shared with identity.cc).
extern const std::string_view kBundleSignatureLabel;
const std::string_view kBundleSignatureLabel = "strongroom-v1-public-bundle";

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

}  // namespace strongroom::crypto
